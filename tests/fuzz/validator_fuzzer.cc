// libFuzzer target: ValidateProducerBatch (log_validator.h) on any bytes.
// Besides "no crash, no sanitizer report", it checks that the validator and
// the consumer-side decoder agree: a batch the leader accepts must decode,
// to recordsCount records, and a LogAppendTime stamp must leave a batch
// whose header and CRC still check out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "broker/storage/log_validator.h"
#include "client/record/record_batch.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

[[noreturn]] void Fail() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  using namespace strata::storage;
  uint8_t control = 0;
  std::string batch = strata::fuzz::BatchFromInput(data, size, &control);
  ValidationConfig config;
  config.max_decompressed_bytes = strata::fuzz::kFuzzMaxDecompressedBytes;
  if (control & 2) config.timestamp_type = record::TimestampType::kLogAppendTime;
  if (control & 4) {
    config.timestamp_before_max_ms = 60'000;
    config.timestamp_after_max_ms = 60'000;
  }
  if (control & 8) {
    config.allow_idempotent = true;
    config.allow_transactional = true;
    config.allow_control = true;
  }
  absl::StatusOr<ValidatedBatch> valid = ValidateProducerBatch(batch, config, kNow);
  if (!valid.ok()) return 0;

  // The log gives an accepted batch its offsets (baseOffset is the
  // producer's word and outside the CRC), as Log::AppendAsLeader does.
  record::SetBaseOffset(batch.data(), strata::Offset(0));
  absl::StatusOr<std::vector<record::Record>> records =
      record::DecodeRecords(batch, strata::fuzz::kFuzzMaxDecompressedBytes);
  if (!records.ok()) Fail();
  if (records->size() != static_cast<size_t>(valid->header.records_count)) Fail();
  if (valid->stamp_log_append_time) {
    StampLogAppendTime(batch.data(), batch.size(), kNow);
    absl::StatusOr<record::BatchHeader> stamped = record::ValidateBatch(batch);
    if (!stamped.ok() || stamped->max_timestamp != kNow) Fail();
  }
  return 0;
}
