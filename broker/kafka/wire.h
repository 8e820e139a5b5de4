// Kafka's wire primitives: a bounds-checked Reader over a request's bytes and
// a Writer that appends to a std::string.
//
// Contract
//   Reader never reads past the view it was given, never throws and never
//   CHECKs on input: every malformed input (too few bytes, a varint longer
//   than 5/10 bytes, a length below -1, a null where none is allowed, a
//   length or element count the remaining bytes cannot hold) is an
//   InvalidArgument status whose message names what was wrong. Lengths and
//   counts are checked against the bytes left BEFORE anything is allocated:
//   a string of n bytes needs n bytes left; an array of n elements needs
//   n * (the smallest encoding of one element) bytes left, so a count of
//   2^31-1 with three bytes left allocates nothing. What a decoder builds
//   from the bytes can still be far larger than they are (an empty compact
//   string is one byte on the wire and a std::string of 32 in memory), so
//   decoders charge the memory of the elements they create against the
//   Reader's budget (Charge), 1 MiB plus 8 times the input: a frame of
//   socket.request.max.bytes can never become gigabytes of objects.
//   Writer appends big-endian integers and Kafka's length-prefixed forms. It
//   fails (InvalidArgument) only for values the encoding cannot carry: a
//   string over 32767 bytes in a non-compact (int16-length) version.
//   Neither is thread-safe; each is used by one thread at a time.
//
// Encodings (KIP-482): non-compact strings have an int16 length, bytes and
// arrays an int32 length, -1 meaning null. Compact forms (flexible versions)
// carry length+1 as an unsigned varint, 0 meaning null. A tagged-field
// section is an unsigned varint count, then per field an unsigned varint
// tag, an unsigned varint size and that many bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::kafka {

using Uuid = std::array<uint8_t, 16>;

// Whether a length prefix is compact (flexible versions) or classic.
enum class Compact : bool { kNo = false, kYes = true };

// The most bytes a Kafka STRING holds (its int16 length).
inline constexpr size_t kMaxKafkaStringBytes = 32767;

// `s` cut to kMaxKafkaStringBytes at a UTF-8 character boundary, so a long
// message (an error's) never makes a response unencodable.
std::string CutToKafkaString(std::string_view s);

class Reader {
 public:
  explicit Reader(std::string_view data)
      : data_(data), budget_(kBaseBudget + kBudgetPerInputByte * data.size()) {}

  // Counts `bytes` of memory a decoder is about to allocate for what it
  // read; InvalidArgument (nothing charged) once the budget is spent.
  absl::Status Charge(uint64_t bytes);

  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return remaining() == 0; }
  size_t position() const { return pos_; }

  absl::StatusOr<int8_t> ReadInt8();
  absl::StatusOr<int16_t> ReadInt16();
  absl::StatusOr<int32_t> ReadInt32();
  absl::StatusOr<int64_t> ReadInt64();
  absl::StatusOr<uint16_t> ReadUint16();
  absl::StatusOr<uint32_t> ReadUint32();
  // Any non-zero byte is true, as in Kafka.
  absl::StatusOr<bool> ReadBool();
  absl::StatusOr<double> ReadFloat64();
  absl::StatusOr<Uuid> ReadUuid();
  // At most 5 bytes; a fifth byte with more than 4 payload bits is an error.
  absl::StatusOr<uint32_t> ReadUnsignedVarint();
  // At most 10 bytes; a tenth byte with more than 1 payload bit is an error.
  absl::StatusOr<uint64_t> ReadUnsignedVarlong();

  // The next n raw bytes, as a view into the input.
  absl::StatusOr<std::string_view> ReadRaw(size_t n);

  // A string (int16 or compact length). Non-nullable: null is an error.
  absl::StatusOr<std::string_view> ReadString(Compact compact);
  absl::StatusOr<std::optional<std::string_view>> ReadNullableString(Compact compact);
  // Bytes (int32 or compact length); also Kafka's `records`.
  absl::StatusOr<std::string_view> ReadBytes(Compact compact);
  absl::StatusOr<std::optional<std::string_view>> ReadNullableBytes(Compact compact);

  // An array's element count, -1 for null (only when `nullable`). Refused
  // unless count * min_element_size <= remaining(); min_element_size 0 is
  // taken as 1, so a count can never exceed the bytes left.
  absl::StatusOr<int32_t> ReadArrayLength(Compact compact, bool nullable, size_t min_element_size);

  // Reads a tagged-field section and skips every field in it (their sizes
  // checked against the bytes left). For structs with no known tags.
  absl::Status SkipTaggedFields();

 private:
  absl::Status Need(size_t n, const char* what) const;
  // A length prefix: int16/int32 or compact; -1 for null.
  absl::StatusOr<int64_t> ReadLength(Compact compact, bool wide, const char* what);

  static constexpr uint64_t kBaseBudget = uint64_t{1} << 20;
  static constexpr uint64_t kBudgetPerInputByte = 8;

  std::string_view data_;
  size_t pos_ = 0;
  uint64_t budget_;
};

class Writer {
 public:
  // Appends to *out, which must outlive the Writer.
  explicit Writer(std::string* out) : out_(out) {}

  std::string* out() { return out_; }

  void WriteInt8(int8_t v);
  void WriteInt16(int16_t v);
  void WriteInt32(int32_t v);
  void WriteInt64(int64_t v);
  void WriteUint16(uint16_t v);
  void WriteUint32(uint32_t v);
  void WriteBool(bool v);
  void WriteFloat64(double v);
  void WriteUuid(const Uuid& v);
  void WriteUnsignedVarint(uint32_t v);
  void WriteUnsignedVarlong(uint64_t v);
  void WriteRaw(std::string_view bytes);

  absl::Status WriteString(std::string_view s, Compact compact);
  absl::Status WriteNullableString(const std::optional<std::string_view>& s, Compact compact);
  absl::Status WriteBytes(std::string_view b, Compact compact);
  absl::Status WriteNullableBytes(const std::optional<std::string_view>& b, Compact compact);
  // count -1 writes null (the caller checks the version allows it).
  absl::Status WriteArrayLength(int64_t count, Compact compact);
  // An empty tagged-field section: one 0x00.
  void WriteEmptyTaggedFields() { WriteUnsignedVarint(0); }

 private:
  std::string* out_;
};

}  // namespace strata::kafka
