#include "client/record/control_record.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/record/record_batch.h"

namespace strata::record {
namespace {

constexpr int16_t kControlKeyVersion = 0;
constexpr int16_t kEndTxnMarkerVersion = 0;

void PutInt(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetInt(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

}  // namespace

std::string_view ControlTypeName(ControlType type) {
  return type == ControlType::kCommit ? "COMMIT" : "ABORT";
}

std::string EncodeControlKey(ControlType type) {
  std::string out;
  PutInt(&out, static_cast<uint16_t>(kControlKeyVersion), 2);
  PutInt(&out, static_cast<uint16_t>(type), 2);
  return out;
}

std::string EncodeEndTxnMarkerValue(int32_t coordinator_epoch) {
  std::string out;
  PutInt(&out, static_cast<uint16_t>(kEndTxnMarkerVersion), 2);
  PutInt(&out, static_cast<uint32_t>(coordinator_epoch), 4);
  return out;
}

absl::StatusOr<ControlType> DecodeControlKey(std::string_view key) {
  if (key.size() < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("a control record key has 4 bytes or more (version, type), not ", key.size()));
  }
  const auto version = static_cast<int16_t>(GetInt(key, 0, 2));
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("control record key version ", version, " is negative"));
  }
  const auto type = static_cast<int16_t>(GetInt(key, 2, 2));
  if (type != static_cast<int16_t>(ControlType::kAbort) &&
      type != static_cast<int16_t>(ControlType::kCommit)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "control record type ", type, " is not a transaction marker's (0 ABORT, 1 COMMIT)"));
  }
  return static_cast<ControlType>(type);
}

absl::StatusOr<int32_t> DecodeEndTxnMarkerValue(std::string_view value) {
  if (value.size() < 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a transaction marker's value has 6 bytes or more (version, coordinator epoch), not ",
        value.size()));
  }
  const auto version = static_cast<int16_t>(GetInt(value, 0, 2));
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction marker version ", version, " is negative"));
  }
  return static_cast<int32_t>(GetInt(value, 2, 4));
}

std::string BuildEndTxnMarkerBatch(int64_t producer_id, int16_t producer_epoch, EndTxnMarker marker,
                                   int64_t timestamp_ms, Offset base_offset) {
  RecordBatchBuilder builder(base_offset);
  builder.set_producer(producer_id, producer_epoch, -1);
  builder.set_transactional(true).set_control(true);
  Record r;
  r.key = EncodeControlKey(marker.type);
  r.value = EncodeEndTxnMarkerValue(marker.coordinator_epoch);
  r.timestamp = timestamp_ms;
  builder.Append(r);
  return builder.Build();
}

absl::StatusOr<EndTxnMarker> ReadEndTxnMarker(std::string_view batch) {
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(batch);
  if (!h.ok()) return h.status();
  if (!h->is_control()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch at offset ", h->base_offset.value(), " is not a control batch"));
  }
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(batch);
  if (!records.ok()) return records.status();
  if (records->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("the control batch at offset ",
                                                   h->base_offset.value(), " holds ",
                                                   records->size(), " records, not one marker"));
  }
  const Record& r = records->front();
  if (!r.key || !r.value) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the control record at offset ", r.offset.value(), " has no ", r.key ? "value" : "key"));
  }
  absl::StatusOr<ControlType> type = DecodeControlKey(*r.key);
  if (!type.ok()) return type.status();
  absl::StatusOr<int32_t> epoch = DecodeEndTxnMarkerValue(*r.value);
  if (!epoch.ok()) return epoch.status();
  return EndTxnMarker{*type, *epoch};
}

AbortedTransactionFilter::AbortedTransactionFilter(std::vector<AbortedTransaction> aborted)
    : aborted_(std::move(aborted)) {
  std::stable_sort(aborted_.begin(), aborted_.end(),
                   [](const AbortedTransaction& a, const AbortedTransaction& b) {
                     return a.first_offset < b.first_offset;
                   });
}

bool AbortedTransactionFilter::Drop(const BatchHeader& header, std::string_view batch) {
  if (header.producer_id >= 0) {
    const int64_t last = header.last_offset().value();
    while (next_ < aborted_.size() && aborted_[next_].first_offset <= last) {
      aborting_.insert(aborted_[next_++].producer_id);
    }
  }
  if (header.is_control()) {
    // The producer's ABORT marker ends what it aborted.
    absl::StatusOr<EndTxnMarker> marker = ReadEndTxnMarker(batch);
    if (marker.ok() && marker->type == ControlType::kAbort) aborting_.erase(header.producer_id);
    return true;
  }
  return header.is_transactional() && aborting_.contains(header.producer_id);
}

}  // namespace strata::record
