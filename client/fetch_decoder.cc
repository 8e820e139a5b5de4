#include "client/fetch_decoder.h"

#include <algorithm>
#include <optional>

#include "client/record/record_batch.h"
#include "fmt/format.h"

namespace strata::client {

absl::Status DecodeFetchedRecords(std::string_view bytes, const std::string& topic,
                                  int32_t partition, int64_t fetch_offset, bool check_crcs,
                                  DecodedFetch* out,
                                  const std::vector<record::AbortedTransaction>* aborted) {
  out->next_offset = fetch_offset;
  out->truncated = false;
  std::optional<record::AbortedTransactionFilter> filter;
  if (aborted != nullptr) filter.emplace(*aborted);
  record::BatchIterator it(bytes);
  record::BatchHeader header;
  std::string_view batch;
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
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) {
        return absl::Status(records.status().code(),
                            fmt::format("Cannot decode the batch at offset {} of {}-{}: {}",
                                        header.base_offset.value(), topic, partition,
                                        std::string(records.status().message())));
      }
      const bool log_append = header.timestamp_type() == record::TimestampType::kLogAppendTime;
      for (record::Record& r : *records) {
        if (r.offset.value() < fetch_offset) continue;
        ConsumerRecord cr;
        cr.topic = topic;
        cr.partition = partition;
        cr.offset = r.offset.value();
        cr.timestamp_ms = log_append ? header.max_timestamp : r.timestamp;
        cr.timestamp_kind = log_append ? TimestampKind::kLogAppendTime : TimestampKind::kCreateTime;
        cr.key = std::move(r.key);
        cr.value = std::move(r.value);
        cr.headers = std::move(r.headers);
        out->records.push_back(std::move(cr));
      }
    }
    out->next_offset = std::max(out->next_offset, next);
  }
  out->truncated = !any && !bytes.empty();
  return absl::OkStatus();
}

}  // namespace strata::client
