#include "broker/kafka/wire.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace strata::kafka {

std::string CutToKafkaString(std::string_view s) {
  if (s.size() <= kMaxKafkaStringBytes) return std::string(s);
  size_t end = kMaxKafkaStringBytes;
  // Back off to the start of the character the cut would split (a UTF-8
  // continuation byte is 10xxxxxx).
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return std::string(s.substr(0, end));
}
namespace {

// Kafka refuses strings longer than an int16 can count, in compact versions
// too (the generated readers check `length > 0x7fff`).
constexpr int64_t kMaxStringLength = 0x7fff;

template <typename T>
T LoadBigEndian(const char* p) {
  std::make_unsigned_t<T> v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<std::make_unsigned_t<T>>((v << 8) | static_cast<uint8_t>(p[i]));
  }
  return static_cast<T>(v);
}

template <typename T>
void StoreBigEndian(std::string* out, T value) {
  const auto v = static_cast<std::make_unsigned_t<T>>(value);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[i] = static_cast<char>(v >> (8 * (sizeof(T) - 1 - i)));
  }
  out->append(bytes, sizeof(T));
}

}  // namespace

absl::Status Reader::Need(size_t n, const char* what) const {
  if (n > remaining()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " needs ", n, " bytes, ", remaining(), " left at offset ", pos_));
  }
  return absl::OkStatus();
}

#define STRATA_KAFKA_READ_FIXED(Name, T)                         \
  absl::StatusOr<T> Reader::Name() {                             \
    if (absl::Status s = Need(sizeof(T), #T); !s.ok()) return s; \
    const T v = LoadBigEndian<T>(data_.data() + pos_);           \
    pos_ += sizeof(T);                                           \
    return v;                                                    \
  }
STRATA_KAFKA_READ_FIXED(ReadInt8, int8_t)
STRATA_KAFKA_READ_FIXED(ReadInt16, int16_t)
STRATA_KAFKA_READ_FIXED(ReadInt32, int32_t)
STRATA_KAFKA_READ_FIXED(ReadInt64, int64_t)
STRATA_KAFKA_READ_FIXED(ReadUint16, uint16_t)
STRATA_KAFKA_READ_FIXED(ReadUint32, uint32_t)
#undef STRATA_KAFKA_READ_FIXED

absl::StatusOr<bool> Reader::ReadBool() {
  absl::StatusOr<int8_t> v = ReadInt8();
  if (!v.ok()) return v.status();
  return *v != 0;
}

absl::StatusOr<double> Reader::ReadFloat64() {
  absl::StatusOr<int64_t> bits = ReadInt64();
  if (!bits.ok()) return bits.status();
  return std::bit_cast<double>(*bits);
}

absl::StatusOr<Uuid> Reader::ReadUuid() {
  if (absl::Status s = Need(16, "uuid"); !s.ok()) return s;
  Uuid u;
  std::memcpy(u.data(), data_.data() + pos_, 16);
  pos_ += 16;
  return u;
}

absl::StatusOr<uint32_t> Reader::ReadUnsignedVarint() {
  uint32_t value = 0;
  for (int i = 0; i < 5; ++i) {
    if (absl::Status s = Need(1, "unsigned varint"); !s.ok()) return s;
    const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    if (i == 4 && b > 0x0f) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsigned varint overflows 32 bits at offset ", pos_ - 1));
    }
    value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  return absl::InvalidArgumentError("unreachable");  // the 5th byte returned above
}

absl::StatusOr<uint64_t> Reader::ReadUnsignedVarlong() {
  uint64_t value = 0;
  for (int i = 0; i < 10; ++i) {
    if (absl::Status s = Need(1, "unsigned varlong"); !s.ok()) return s;
    const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    if (i == 9 && b > 0x01) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsigned varlong overflows 64 bits at offset ", pos_ - 1));
    }
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  return absl::InvalidArgumentError("unreachable");
}

absl::StatusOr<std::string_view> Reader::ReadRaw(size_t n) {
  if (absl::Status s = Need(n, "raw bytes"); !s.ok()) return s;
  std::string_view v = data_.substr(pos_, n);
  pos_ += n;
  return v;
}

absl::StatusOr<int64_t> Reader::ReadLength(Compact compact, bool wide, const char* what) {
  int64_t length;
  if (compact == Compact::kYes) {
    absl::StatusOr<uint32_t> v = ReadUnsignedVarint();
    if (!v.ok()) return v.status();
    length = static_cast<int64_t>(*v) - 1;
  } else if (wide) {
    absl::StatusOr<int32_t> v = ReadInt32();
    if (!v.ok()) return v.status();
    length = *v;
  } else {
    absl::StatusOr<int16_t> v = ReadInt16();
    if (!v.ok()) return v.status();
    length = *v;
  }
  if (length < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has negative length ", length, " at offset ", pos_));
  }
  return length;
}

absl::StatusOr<std::optional<std::string_view>> Reader::ReadNullableString(Compact compact) {
  absl::StatusOr<int64_t> length = ReadLength(compact, /*wide=*/false, "string");
  if (!length.ok()) return length.status();
  if (*length == -1) return std::optional<std::string_view>();
  if (*length > kMaxStringLength) {
    return absl::InvalidArgumentError(absl::StrCat("string length ", *length, " exceeds ",
                                                   kMaxStringLength, " at offset ", pos_));
  }
  if (absl::Status s = Need(static_cast<size_t>(*length), "string"); !s.ok()) return s;
  std::string_view v = data_.substr(pos_, static_cast<size_t>(*length));
  pos_ += v.size();
  return std::optional<std::string_view>(v);
}

absl::StatusOr<std::string_view> Reader::ReadString(Compact compact) {
  absl::StatusOr<std::optional<std::string_view>> v = ReadNullableString(compact);
  if (!v.ok()) return v.status();
  if (!v->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("null for a non-nullable string at offset ", pos_));
  }
  return **v;
}

absl::StatusOr<std::optional<std::string_view>> Reader::ReadNullableBytes(Compact compact) {
  absl::StatusOr<int64_t> length = ReadLength(compact, /*wide=*/true, "bytes");
  if (!length.ok()) return length.status();
  if (*length == -1) return std::optional<std::string_view>();
  if (absl::Status s = Need(static_cast<size_t>(*length), "bytes"); !s.ok()) return s;
  std::string_view v = data_.substr(pos_, static_cast<size_t>(*length));
  pos_ += v.size();
  return std::optional<std::string_view>(v);
}

absl::StatusOr<std::string_view> Reader::ReadBytes(Compact compact) {
  absl::StatusOr<std::optional<std::string_view>> v = ReadNullableBytes(compact);
  if (!v.ok()) return v.status();
  if (!v->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("null for non-nullable bytes at offset ", pos_));
  }
  return **v;
}

absl::StatusOr<int32_t> Reader::ReadArrayLength(Compact compact, bool nullable,
                                                size_t min_element_size) {
  absl::StatusOr<int64_t> length = ReadLength(compact, /*wide=*/true, "array");
  if (!length.ok()) return length.status();
  if (*length == -1) {
    if (!nullable) {
      return absl::InvalidArgumentError(
          absl::StrCat("null for a non-nullable array at offset ", pos_));
    }
    return -1;
  }
  // Checked in 64 bits: count <= 2^32, element size small, no overflow.
  const uint64_t needed = static_cast<uint64_t>(*length) * std::max<uint64_t>(min_element_size, 1);
  if (needed > remaining() || *length > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("array of ", *length,
                                                   " elements needs at least ", needed, " bytes, ",
                                                   remaining(), " left at offset ", pos_));
  }
  return static_cast<int32_t>(*length);
}

absl::Status Reader::Charge(uint64_t bytes) {
  if (bytes > budget_) {
    return absl::InvalidArgumentError(absl::StrCat("decoding needs more than ", budget_,
                                                   " more bytes of memory for a ", data_.size(),
                                                   "-byte input (at offset ", pos_, ")"));
  }
  budget_ -= bytes;
  return absl::OkStatus();
}

absl::Status Reader::SkipTaggedFields() {
  absl::StatusOr<uint32_t> count = ReadUnsignedVarint();
  if (!count.ok()) return count.status();
  // Each field takes at least two bytes (tag, size).
  if (static_cast<uint64_t>(*count) * 2 > remaining()) {
    return absl::InvalidArgumentError(absl::StrCat("tagged-field section of ", *count,
                                                   " fields with ", remaining(), " bytes left"));
  }
  for (uint32_t i = 0; i < *count; ++i) {
    absl::StatusOr<uint32_t> tag = ReadUnsignedVarint();
    if (!tag.ok()) return tag.status();
    absl::StatusOr<uint32_t> size = ReadUnsignedVarint();
    if (!size.ok()) return size.status();
    absl::StatusOr<std::string_view> skipped = ReadRaw(*size);
    if (!skipped.ok()) return skipped.status();
  }
  return absl::OkStatus();
}

void Writer::WriteInt8(int8_t v) { out_->push_back(static_cast<char>(v)); }
void Writer::WriteInt16(int16_t v) { StoreBigEndian(out_, v); }
void Writer::WriteInt32(int32_t v) { StoreBigEndian(out_, v); }
void Writer::WriteInt64(int64_t v) { StoreBigEndian(out_, v); }
void Writer::WriteUint16(uint16_t v) { StoreBigEndian(out_, v); }
void Writer::WriteUint32(uint32_t v) { StoreBigEndian(out_, v); }
void Writer::WriteBool(bool v) { out_->push_back(v ? 1 : 0); }
void Writer::WriteFloat64(double v) { StoreBigEndian(out_, std::bit_cast<int64_t>(v)); }
void Writer::WriteUuid(const Uuid& v) {
  out_->append(reinterpret_cast<const char*>(v.data()), v.size());
}

void Writer::WriteUnsignedVarint(uint32_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void Writer::WriteUnsignedVarlong(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void Writer::WriteRaw(std::string_view bytes) { out_->append(bytes); }

absl::Status Writer::WriteNullableString(const std::optional<std::string_view>& s,
                                         Compact compact) {
  if (!s.has_value()) {
    if (compact == Compact::kYes) {
      WriteUnsignedVarint(0);
    } else {
      WriteInt16(-1);
    }
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(s->size()) > kMaxStringLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("string of ", s->size(), " bytes exceeds ", kMaxStringLength));
  }
  if (compact == Compact::kYes) {
    WriteUnsignedVarint(static_cast<uint32_t>(s->size() + 1));
  } else {
    WriteInt16(static_cast<int16_t>(s->size()));
  }
  WriteRaw(*s);
  return absl::OkStatus();
}

absl::Status Writer::WriteString(std::string_view s, Compact compact) {
  return WriteNullableString(std::optional<std::string_view>(s), compact);
}

absl::Status Writer::WriteNullableBytes(const std::optional<std::string_view>& b, Compact compact) {
  if (!b.has_value()) return WriteArrayLength(-1, compact);
  if (absl::Status s = WriteArrayLength(static_cast<int64_t>(b->size()), compact); !s.ok()) {
    return s;
  }
  WriteRaw(*b);
  return absl::OkStatus();
}

absl::Status Writer::WriteBytes(std::string_view b, Compact compact) {
  return WriteNullableBytes(std::optional<std::string_view>(b), compact);
}

absl::Status Writer::WriteArrayLength(int64_t count, Compact compact) {
  if (count < -1 || count > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("length ", count, " cannot be encoded"));
  }
  if (compact == Compact::kYes) {
    WriteUnsignedVarint(static_cast<uint32_t>(count + 1));
  } else {
    WriteInt32(static_cast<int32_t>(count));
  }
  return absl::OkStatus();
}

}  // namespace strata::kafka
