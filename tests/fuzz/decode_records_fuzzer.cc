// libFuzzer target: the consumer-side decoder, DecodeRecords and
// BatchIterator (record_batch.h), on any bytes, as a client meets them in a
// Fetch response. Checks that what decodes is self-consistent (one record
// per recordsCount, offsets rising within base..last) and that the validator's
// fast record scan (ScanRecords) agrees with the full parser on every batch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "client/record/compression.h"
#include "client/record/record_batch.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  uint8_t control = 0;
  const std::string batch = strata::fuzz::BatchFromInput(data, size, &control);
  absl::StatusOr<std::vector<record::Record>> records =
      record::DecodeRecords(batch, strata::fuzz::kFuzzMaxDecompressedBytes);
  if (records.ok()) {
    // A stored batch may have gaps (compaction): offsets rise within
    // base..last, and are exactly base.. when the batch is a producer's.
    absl::StatusOr<record::BatchHeader> h = record::ValidateStoredBatch(batch);
    if (!h.ok() || records->size() != static_cast<size_t>(h->records_count)) std::abort();
    const bool contiguous = record::ValidateBatch(batch).ok();
    for (size_t i = 0; i < records->size(); ++i) {
      const Offset offset = (*records)[i].offset;
      if (contiguous && offset != h->base_offset + static_cast<int64_t>(i)) std::abort();
      if (offset < h->base_offset || offset > h->last_offset()) std::abort();
      if (i > 0 && offset <= (*records)[i - 1].offset) std::abort();
    }
  }
  // ScanRecords (the leader's fast path) and DecodeRecords (the full parser)
  // must accept exactly the same records sections.
  if (absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch);
      h.ok() && record::CompressionName(h->compression()) != nullptr) {
    int64_t last = 0;
    const bool overflows =
        __builtin_add_overflow(h->base_offset.value(), int64_t{h->last_offset_delta}, &last);
    std::string_view section = std::string_view(batch).substr(record::kBatchHeaderSize);
    std::string decompressed;
    bool readable = true;
    if (h->compression() != record::Compression::kNone) {
      readable = record::Decompress(h->compression(), section,
                                    strata::fuzz::kFuzzMaxDecompressedBytes, &decompressed)
                     .ok();
      section = decompressed;
    }
    if (!overflows && readable) {
      absl::StatusOr<record::RecordsSummary> scan = record::ScanRecords(section, *h);
      if (scan.status().code() == absl::StatusCode::kInternal) std::abort();
      if (scan.ok() != records.ok()) std::abort();
    }
  }
  // The same bytes as a Fetch response's run of batches.
  record::BatchIterator it(batch);
  record::BatchHeader header;
  std::string_view one;
  while (it.Next(&header, &one)) {
    if (one.size() != header.size_in_bytes()) std::abort();
  }
  return 0;
}
