#include "client/fetch_decoder.h"

#include <algorithm>
#include <optional>

#include "client/record/record_batch.h"
#include "fmt/format.h"

namespace strata::client {

FetchExtent ScanFetchedBatches(std::string_view bytes, int64_t fetch_offset) {
  FetchExtent extent{fetch_offset, false};
  record::BatchIterator it(bytes);
  record::BatchHeader header;
  std::string_view batch;
  bool any = false;
  while (it.Next(&header, &batch)) {
    any = true;
    extent.next_offset = std::max(extent.next_offset, header.next_offset().value());
  }
  extent.truncated = !any && !bytes.empty();
  return extent;
}

absl::Status DecodeFetchedRecords(std::string_view bytes, const std::string& topic,
                                  int32_t partition, int64_t fetch_offset, bool check_crcs,
                                  DecodedFetch* out,
                                  const std::vector<record::AbortedTransaction>* aborted,
                                  size_t run_records) {
  run_records = std::max<size_t>(run_records, 1);
  out->next_offset = fetch_offset;
  out->truncated = false;
  std::optional<record::AbortedTransactionFilter> filter;
  if (aborted != nullptr) filter.emplace(*aborted);
  record::BatchHeader header;
  std::string_view batch;
  // Room for every record up front, run by run. recordsCount is the
  // writer's word: a hint, bounded by the bytes (a record takes at least 7
  // of them; compressed batches may hold more, and a run grows for those).
  size_t expected = 0;
  {
    record::BatchIterator count(bytes);
    while (count.Next(&header, &batch)) {
      if (header.next_offset().value() <= fetch_offset) continue;
      expected += std::min(static_cast<size_t>(std::max(header.records_count, 0)),
                           batch.size() / 7);
    }
  }
  auto next_record = [&]() -> ConsumerRecord& {
    if (out->runs.empty() || out->runs.back().size() >= run_records) {
      out->runs.emplace_back().reserve(std::min(std::max<size_t>(expected, 1), run_records));
    }
    if (expected > 0) --expected;
    return out->runs.back().emplace_back();
  };
  record::BatchIterator it(bytes);
  bool any = false;
  while (it.Next(&header, &batch)) {
    any = true;
    const int64_t next = header.next_offset().value();
    if (next <= fetch_offset) continue;  // wholly consumed already
    if (check_crcs) {
      // A compacted partition's batches may have gaps (ValidateStoredBatch).
      absl::StatusOr<record::BatchHeader> valid = record::ValidateStoredBatch(batch);
      if (!valid.ok()) {
        return absl::DataLossError(fmt::format(
            "Record batch for partition {}-{} at offset {} is invalid, cause: {}", topic, partition,
            header.base_offset.value(), std::string(valid.status().message())));
      }
    }
    // Every batch goes through the filter, in order, wholly consumed ones
    // aside: a marker ends its producer's aborted transaction.
    const bool drop = filter ? filter->Drop(header, batch) : header.is_control();
    if (!drop) {
      const bool log_append = header.timestamp_type() == record::TimestampType::kLogAppendTime;
      // The CRC was checked above when asked for (check.crcs); the decode
      // makes every other check, so any bytes are safe to decode.
      absl::Status s = record::VisitRecords(
          batch, /*check_crc=*/false, record::kMaxDecompressedBatchBytes,
          [&](const record::RecordView& r) {
            if (r.offset.value() < fetch_offset) return;
            ConsumerRecord& cr = next_record();
            cr.topic = topic;
            cr.partition = partition;
            cr.offset = r.offset.value();
            cr.timestamp_ms = r.timestamp;
            cr.timestamp_kind =
                log_append ? TimestampKind::kLogAppendTime : TimestampKind::kCreateTime;
            if (r.key) cr.key.emplace(*r.key);
            if (r.value) cr.value.emplace(*r.value);
            if (r.header_count > 0) record::DecodeHeaders(r, &cr.headers);
          });
      if (!s.ok()) {
        return absl::Status(s.code(), fmt::format("Cannot decode the batch at offset {} of {}-{}: {}",
                                                  header.base_offset.value(), topic, partition,
                                                  std::string(s.message())));
      }
    }
    out->next_offset = std::max(out->next_offset, next);
  }
  out->truncated = !any && !bytes.empty();
  return absl::OkStatus();
}

}  // namespace strata::client
