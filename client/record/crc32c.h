// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of
// Kafka's v2 record batches. Uses the SSE4.2 crc32 instruction, three streams
// interleaved, when the CPU has it (checked once at start), and a
// slicing-by-8 table otherwise. Thread-safe; no allocation.
//
//   Crc32c("123456789") == 0xE3069283   (the standard check value)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata::record {

// Continues a CRC: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);

inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

// The portable table implementation, exposed so tests and benchmarks can
// compare it with the hardware path.
uint32_t Crc32cExtendPortable(uint32_t crc, const char* data, size_t n);

// True when Crc32cExtend uses the SSE4.2 instruction.
bool Crc32cIsHardwareAccelerated();

}  // namespace strata::record
