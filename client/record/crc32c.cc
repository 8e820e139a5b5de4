// CRC-32C in two implementations that must agree bit for bit:
//
//  - Portable: slicing-by-8. Eight 256-entry tables, built at compile time,
//    let one step fold eight input bytes into the CRC with eight independent
//    lookups instead of eight dependent ones.
//
//  - SSE4.2: the crc32 instruction folds eight bytes per instruction, but its
//    latency is about three times its reciprocal throughput, so one chain of
//    dependent crc32s runs at a third of what the unit can do. We therefore
//    split a block into three equal streams, run three independent chains
//    side by side, and join the three partial CRCs at the end of the block.
//
// Joining rests on the CRC being linear once the initial and final inversions
// are peeled off. Writing crc(s, M) for the raw register after feeding message
// M into register state s:
//
//     crc(s, A || B) = crc(s, A) * x^(8|B|)  xor  crc(0, B)      (mod P)
//
// i.e. the CRC of A, "shifted" over |B| zero bytes, plus the CRC of B alone.
// The stream lengths are fixed, so each shift is a multiplication by a
// constant polynomial, which is linear in the 32-bit CRC and therefore a
// 4 x 256-entry table lookup, again built at compile time.
//
// Polynomial arithmetic uses the reflected bit order of the CRC itself: bit 31
// holds the coefficient of x^0 and bit 0 that of x^31.

#include "client/record/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define STRATA_CRC32C_HAVE_X86_64 1
#include <nmmintrin.h>
#endif

namespace strata::record {
namespace {

// Castagnoli polynomial 0x1EDC6F41, bit-reversed.
constexpr uint32_t kPolynomial = 0x82F63B78;

using ByteTable = std::array<uint32_t, 256>;

// ---------------------------------------------------------------------------
// GF(2)[x] / P arithmetic, used only to build tables at compile time.

constexpr uint32_t kXPow0 = 0x80000000u;  // the polynomial 1
constexpr uint32_t kXPow1 = 0x40000000u;  // the polynomial x

// v * x mod P: in reflected order multiplying by x is a right shift, and an
// x^31 term (bit 0) that overflows into x^32 is replaced by P minus x^32.
constexpr uint32_t MulX(uint32_t v) { return (v >> 1) ^ ((v & 1) ? kPolynomial : 0); }

// a * b mod P, schoolbook: for each term x^i of a, add b * x^i.
constexpr uint32_t MulModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    if (a & (kXPow0 >> i)) product ^= b;
    b = MulX(b);
  }
  return product;
}

// x^n mod P by square-and-multiply.
constexpr uint32_t XPowModP(uint64_t n) {
  uint32_t result = kXPow0;
  uint32_t square = kXPow1;
  while (n != 0) {
    if (n & 1) result = MulModP(result, square);
    square = MulModP(square, square);
    n >>= 1;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Slicing-by-8 tables. kSlicing[k][b] is the raw CRC of byte b followed by k
// zero bytes, starting from a zero register. kSlicing[0] is the classic
// byte-at-a-time table.

constexpr std::array<ByteTable, 8> MakeSlicingTables() {
  std::array<ByteTable, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = MulX(crc);
    t[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) {
      // One more zero byte after the same input: advance the register by a
      // byte-at-a-time step with a zero input byte.
      const uint32_t prev = t[k - 1][b];
      t[k][b] = (prev >> 8) ^ t[0][prev & 0xff];
    }
  }
  return t;
}

constexpr std::array<ByteTable, 8> kSlicing = MakeSlicingTables();

inline uint32_t LoadLittleEndian32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

}  // namespace

uint32_t Crc32cExtendPortable(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    // The first four bytes meet the register; all eight then travel the
    // remaining distance to the end of the word through their own table.
    const uint32_t lo = LoadLittleEndian32(p) ^ c;
    const uint32_t hi = LoadLittleEndian32(p + 4);
    c = kSlicing[7][lo & 0xff] ^ kSlicing[6][(lo >> 8) & 0xff] ^ kSlicing[5][(lo >> 16) & 0xff] ^
        kSlicing[4][lo >> 24] ^ kSlicing[3][hi & 0xff] ^ kSlicing[2][(hi >> 8) & 0xff] ^
        kSlicing[1][(hi >> 16) & 0xff] ^ kSlicing[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ kSlicing[0][(c ^ *p) & 0xff];
    ++p;
    --n;
  }
  return ~c;
}

#ifdef STRATA_CRC32C_HAVE_X86_64
namespace {

// Shifting a raw CRC over a fixed number of zero bytes: multiplication by the
// constant x^(8 * bytes) mod P. Linear in the CRC, so the product is the xor
// of the products of its four bytes, each looked up in its own table.
using ShiftTable = std::array<ByteTable, 4>;

constexpr ShiftTable MakeShiftTable(uint64_t zero_bytes) {
  const uint32_t factor = XPowModP(8 * zero_bytes);
  ShiftTable t{};
  for (uint32_t j = 0; j < 4; ++j) {
    for (uint32_t b = 0; b < 256; ++b) t[j][b] = MulModP(b << (8 * j), factor);
  }
  return t;
}

inline uint32_t Shift(const ShiftTable& t, uint32_t crc) {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

// Bytes per stream. Long blocks (3 x 2 KiB) carry large buffers; short ones
// (3 x 256 B) keep a 16 KiB batch, Kafka's default batch.size, on three
// streams for all but its last few hundred bytes. The joining cost is two
// table shifts per block, a few percent of a long block's crc32 work.
constexpr size_t kLongStream = 2048;
constexpr size_t kShortStream = 256;

// Shifts over one and two streams, so the three partial CRCs of a block join
// with independent lookups: crc = shift2(a) ^ shift1(b) ^ c.
constexpr ShiftTable kShiftLong1 = MakeShiftTable(kLongStream);
constexpr ShiftTable kShiftLong2 = MakeShiftTable(2 * kLongStream);
constexpr ShiftTable kShiftShort1 = MakeShiftTable(kShortStream);
constexpr ShiftTable kShiftShort2 = MakeShiftTable(2 * kShortStream);

inline uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Raw CRC (no inversions) of the 3 * kStream bytes at p, continuing from crc.
template <size_t kStream>
__attribute__((target("sse4.2"), always_inline)) inline uint32_t ThreeStreams(
    uint32_t crc, const unsigned char* p, const ShiftTable& shift1, const ShiftTable& shift2) {
  static_assert(kStream % 8 == 0);
  uint64_t a = crc;
  uint64_t b = 0;
  uint64_t c = 0;
  const unsigned char* pa = p;
  const unsigned char* pb = p + kStream;
  const unsigned char* pc = p + 2 * kStream;
  for (size_t i = 0; i < kStream; i += 8) {
    a = _mm_crc32_u64(a, Load64(pa + i));
    b = _mm_crc32_u64(b, Load64(pb + i));
    c = _mm_crc32_u64(c, Load64(pc + i));
  }
  return Shift(shift2, static_cast<uint32_t>(a)) ^ Shift(shift1, static_cast<uint32_t>(b)) ^
         static_cast<uint32_t>(c);
}

__attribute__((target("sse4.2"))) uint32_t Crc32cExtendSse42(uint32_t crc, const char* data,
                                                             size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  // Align to 8 bytes so no 8-byte load straddles a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p);
    ++p;
    --n;
  }
  while (n >= 3 * kLongStream) {
    c = ThreeStreams<kLongStream>(c, p, kShiftLong1, kShiftLong2);
    p += 3 * kLongStream;
    n -= 3 * kLongStream;
  }
  while (n >= 3 * kShortStream) {
    c = ThreeStreams<kShortStream>(c, p, kShiftShort1, kShiftShort2);
    p += 3 * kShortStream;
    n -= 3 * kShortStream;
  }
  uint64_t c64 = c;
  while (n >= 8) {
    c64 = _mm_crc32_u64(c64, Load64(p));
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n > 0) {
    c = _mm_crc32_u8(c, *p);
    ++p;
    --n;
  }
  return ~c;
}

bool DetectSse42() {
  // Required when called before the runtime's own constructors have run,
  // which a dynamic initializer may be.
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

// Decided once, during static initialization. A CRC computed by another
// translation unit's static initializer before this one runs sees the
// zero-initialized false and takes the portable path: slower, same result.
const bool kUseSse42 = DetectSse42();

}  // namespace
#endif  // STRATA_CRC32C_HAVE_X86_64

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
#ifdef STRATA_CRC32C_HAVE_X86_64
  if (kUseSse42) return Crc32cExtendSse42(crc, data, n);
#endif
  return Crc32cExtendPortable(crc, data, n);
}

bool Crc32cIsHardwareAccelerated() {
#ifdef STRATA_CRC32C_HAVE_X86_64
  return kUseSse42;
#else
  return false;
#endif
}

}  // namespace strata::record
