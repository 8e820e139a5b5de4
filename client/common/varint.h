#pragma once

// Unsigned base-128 varints, as protobuf and Kafka's record format write
// them: seven bits a byte, low bits first, the high bit set on every byte
// but the last.

#include <cstddef>
#include <cstdint>
#include <string>

namespace strata {

inline size_t UnsignedVarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void PutUnsignedVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace strata
