// Shared by the fuzz targets: how a fuzz input becomes a batch.
//
// The first byte is a control byte, the rest the batch. Bit 0 set: rewrite
// batchLength and the CRC to match the bytes, so that mutations get past the
// CRC check and reach the record parser and the decompressors (with random
// bytes almost nothing would). The other bits are the target's to use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/record/crc32c.h"
#include "client/record/record_batch.h"

namespace strata::fuzz {

inline std::string BatchFromInput(const uint8_t* data, size_t size, uint8_t* control) {
  *control = size > 0 ? data[0] : 0;
  std::string batch(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0),
                    size > 0 ? size - 1 : 0);
  if ((*control & 1) && batch.size() >= record::kBatchHeaderSize) {
    const uint32_t length = static_cast<uint32_t>(batch.size() - record::kLogOverhead);
    for (int i = 0; i < 4; ++i) {
      batch[record::kBatchLengthPos + static_cast<size_t>(i)] =
          static_cast<char>(length >> (24 - 8 * i));
    }
    const uint32_t crc = record::Crc32c(std::string_view(batch).substr(record::kAttributesPos));
    for (int i = 0; i < 4; ++i) {
      batch[record::kCrcPos + static_cast<size_t>(i)] = static_cast<char>(crc >> (24 - 8 * i));
    }
  }
  return batch;
}

// The fuzzers' decompression limit: small, so that the limit itself is
// exercised and no input costs much memory.
inline constexpr size_t kFuzzMaxDecompressedBytes = 1 << 20;

}  // namespace strata::fuzz
