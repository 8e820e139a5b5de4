// Encoding and decoding of Kafka v2 record batches; see record_batch.h for the
// layout.
//
// Decoding treats every byte as hostile: the bytes come from the network or
// from a disk that may have been torn or corrupted, and a CRC only proves that
// whoever wrote them computed it, not that they are well formed. So every
// length and varint is checked against the bytes that remain before it is
// used, and nothing is allocated in proportion to a count read from the
// input until the count has been shown to fit in the input.

#include "client/record/record_batch.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/strings/str_format.h"
#include "client/common/varint.h"
#include "client/record/compression.h"
#include "client/record/crc32c.h"
#include "glog/logging.h"

namespace strata::record {
namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
// batchLength counts the header bytes after it, so no valid batch has less.
constexpr int32_t kMinBatchLength = static_cast<int32_t>(kBatchHeaderSize - kLogOverhead);
// Smallest encoded record: length, attributes, timestampDelta, offsetDelta,
// key length, value length and headers count, one byte each.
constexpr size_t kMinRecordSize = 7;
// Smallest encoded header: key length and value length, one byte each.
constexpr size_t kMinHeaderSize = 2;
// Kafka's RecordBatch.NO_TIMESTAMP, written by a batch without records.
constexpr int64_t kNoTimestamp = -1;

// ---------------------------------------------------------------------------
// Fixed-width big-endian fields.

template <typename T>
void PutBigEndian(char* out, T value) {
  static_assert(std::is_integral_v<T>);
  auto u = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = sizeof(T); i-- > 0;) {
    out[i] = static_cast<char>(u & 0xff);
    u = static_cast<decltype(u)>(u >> 8);
  }
}

template <typename T>
T GetBigEndian(const char* in) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    u = static_cast<U>((u << 8) | static_cast<unsigned char>(in[i]));
  }
  return static_cast<T>(u);
}

// ---------------------------------------------------------------------------
// Zig-zag varints (protobuf sint32/sint64): small magnitudes of either sign
// take few bytes. Arithmetic goes through unsigned types, where wrapping is
// defined.

uint32_t ZigZag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
uint64_t ZigZag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int32_t UnZigZag32(uint32_t u) { return static_cast<int32_t>((u >> 1) ^ (0u - (u & 1))); }
int64_t UnZigZag64(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (uint64_t{0} - (u & 1))); }

// Writes `u` as a varint into memory already sized for it (the record
// builder's hot path: no capacity check per byte); returns the byte after.
char* EncodeUnsignedVarint(char* p, uint64_t u) {
  while (u >= 0x80) {
    *p++ = static_cast<char>((u & 0x7f) | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(u);
  return p;
}
char* EncodeVarint(char* p, int32_t v) { return EncodeUnsignedVarint(p, ZigZag32(v)); }
char* EncodeVarlong(char* p, int64_t v) { return EncodeUnsignedVarint(p, ZigZag64(v)); }

size_t VarintSize(int32_t v) { return UnsignedVarintSize(ZigZag32(v)); }
size_t VarlongSize(int64_t v) { return UnsignedVarintSize(ZigZag64(v)); }

// a - b and a + b with two's-complement wrap-around. Timestamps are arbitrary
// int64s from the client, so the delta of two of them may not fit; wrapping
// on both sides still round-trips exactly, as it does in Kafka's Java code.
int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Record `i`'s timestamp into the summary's largest and smallest (the
// smallest ignores records without a timestamp).
void NoteTimestamp(int64_t timestamp, int32_t i, RecordsSummary* summary) {
  if (i == 0 || timestamp > summary->max_timestamp) {
    summary->max_timestamp = timestamp;
    summary->max_timestamp_index = i;
  }
  if (timestamp != kNoTimestamp &&
      (summary->min_timestamp_index < 0 || timestamp < summary->min_timestamp)) {
    summary->min_timestamp = timestamp;
    summary->min_timestamp_index = i;
  }
}

// ---------------------------------------------------------------------------
// Bounds-checked reading. Errors name the field being read; callers add
// which record it belongs to.

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size() - pos_; }

  absl::Status ReadInt8(const char* field, int8_t* out) {
    if (remaining() < 1) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: no bytes left", field));
    }
    *out = static_cast<int8_t>(bytes_[pos_++]);
    return absl::OkStatus();
  }

  absl::Status ReadVarint(const char* field, int32_t* out) {
    uint64_t u = 0;
    if (absl::Status s = ReadUnsignedVarint(field, 32, &u); !s.ok()) return s;
    *out = UnZigZag32(static_cast<uint32_t>(u));
    return absl::OkStatus();
  }

  absl::Status ReadVarlong(const char* field, int64_t* out) {
    uint64_t u = 0;
    if (absl::Status s = ReadUnsignedVarint(field, 64, &u); !s.ok()) return s;
    *out = UnZigZag64(u);
    return absl::OkStatus();
  }

  // The next n bytes; the caller has checked n <= remaining().
  std::string_view Take(size_t n) {
    DCHECK_LE(n, remaining());
    std::string_view v = bytes_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  // Unsigned LEB128 holding at most `bits` bits. Overlong encodings (extra
  // 0x80 bytes) are accepted, as Kafka accepts them; anything that would
  // overflow, or that runs past the end, is not.
  absl::Status ReadUnsignedVarint(const char* field, int bits, uint64_t* out) {
    const int max_bytes = (bits + 6) / 7;
    uint64_t value = 0;
    for (int i = 0;; ++i) {
      if (i == max_bytes) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: varint longer than %d bytes", field, max_bytes));
      }
      if (pos_ >= bytes_.size()) {
        return absl::InvalidArgumentError(absl::StrFormat("%s: varint runs past the end", field));
      }
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      const int shift = 7 * i;
      const uint64_t payload = byte & 0x7f;
      if (shift + 7 > bits && (payload >> (bits - shift)) != 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: varint overflows %d bits", field, bits));
      }
      value |= payload << shift;
      if ((byte & 0x80) == 0) break;
    }
    *out = value;
    return absl::OkStatus();
  }

  std::string_view bytes_;
  size_t pos_ = 0;
};

// A varint length followed by that many bytes; -1 means null. `out` may be
// null (validation only: the bytes are checked and skipped, not copied).
absl::Status ReadNullableBytes(ByteReader& in, const char* field, std::optional<std::string>* out) {
  int32_t length = 0;
  if (absl::Status s = in.ReadVarint(field, &length); !s.ok()) return s;
  if (length == -1) {
    if (out != nullptr) out->reset();
    return absl::OkStatus();
  }
  if (length < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s length %d is negative and not -1 (null)", field, length));
  }
  if (static_cast<size_t>(length) > in.remaining()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s length %d runs past the end of the record (%d bytes left)", field,
                        length, in.remaining()));
  }
  const std::string_view bytes = in.Take(static_cast<size_t>(length));
  if (out != nullptr) out->emplace(bytes);
  return absl::OkStatus();
}

// Header keys are strings in Kafka and cannot be null. `out` may be null.
absl::Status ReadHeaderKey(ByteReader& in, std::string* out) {
  int32_t length = 0;
  if (absl::Status s = in.ReadVarint("header key", &length); !s.ok()) return s;
  if (length < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("header key length %d is negative (header keys cannot be null)", length));
  }
  if (static_cast<size_t>(length) > in.remaining()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("header key length %d runs past the end of the record (%d bytes left)",
                        length, in.remaining()));
  }
  const std::string_view bytes = in.Take(static_cast<size_t>(length));
  if (out != nullptr) out->assign(bytes);
  return absl::OkStatus();
}

// What decoding one record needs to know about its batch.
struct RecordContext {
  Offset base_offset;
  int64_t base_timestamp;
  int32_t last_offset_delta;
  // Set for LogAppendTime batches, whose records all carry the time the
  // broker appended the batch (stored as maxTimestamp) instead of their own.
  std::optional<int64_t> log_append_time;
};

// Decodes one record body (everything after its length) that must use up
// `body` exactly. `prev_offset_delta` is the previous record's, or -1.
// `record` may be null: then every field is checked but nothing is copied.
absl::Status DecodeRecordBody(std::string_view body, const RecordContext& ctx,
                              int32_t prev_offset_delta, int32_t* offset_delta,
                              int64_t* timestamp_delta_out, Record* record) {
  ByteReader in(body);
  int8_t attributes = 0;  // defined by Kafka but unused: read past
  if (absl::Status s = in.ReadInt8("attributes", &attributes); !s.ok()) return s;
  int64_t timestamp_delta = 0;
  if (absl::Status s = in.ReadVarlong("timestamp delta", &timestamp_delta); !s.ok()) return s;
  if (absl::Status s = in.ReadVarint("offset delta", offset_delta); !s.ok()) return s;
  // Offsets within a batch only go up and stay within lastOffsetDelta, else
  // two records would claim one offset or one would lie outside the batch.
  if (*offset_delta <= prev_offset_delta) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "offset delta %d is not above the previous record's %d", *offset_delta, prev_offset_delta));
  }
  if (*offset_delta > ctx.last_offset_delta) {
    return absl::InvalidArgumentError(absl::StrFormat("offset delta %d exceeds lastOffsetDelta %d",
                                                      *offset_delta, ctx.last_offset_delta));
  }
  if (absl::Status s = ReadNullableBytes(in, "key", record ? &record->key : nullptr); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadNullableBytes(in, "value", record ? &record->value : nullptr); !s.ok()) {
    return s;
  }

  int32_t header_count = 0;
  if (absl::Status s = in.ReadVarint("headers count", &header_count); !s.ok()) return s;
  if (header_count < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("headers count %d is negative", header_count));
  }
  if (static_cast<size_t>(header_count) > in.remaining() / kMinHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("headers count %d cannot fit in the %d bytes left in the record",
                        header_count, in.remaining()));
  }
  if (record != nullptr) record->headers.resize(static_cast<size_t>(header_count));
  for (int32_t i = 0; i < header_count; ++i) {
    RecordHeader* header = record ? &record->headers[static_cast<size_t>(i)] : nullptr;
    if (absl::Status s = ReadHeaderKey(in, header ? &header->key : nullptr); !s.ok()) return s;
    if (absl::Status s = ReadNullableBytes(in, "header value", header ? &header->value : nullptr);
        !s.ok()) {
      return s;
    }
  }
  if (in.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d bytes left over after the record's fields (record length %d)",
                        in.remaining(), body.size()));
  }

  *timestamp_delta_out = timestamp_delta;
  if (record == nullptr) return absl::OkStatus();
  record->timestamp = ctx.log_append_time.has_value()
                          ? *ctx.log_append_time
                          : WrappingAdd(ctx.base_timestamp, timestamp_delta);
  record->offset = ctx.base_offset + int64_t{*offset_delta};
  return absl::OkStatus();
}

// The header fields of the batch at p, which holds at least a whole header.
BatchHeader DecodeHeaderFields(const char* p) {
  BatchHeader h;
  h.base_offset = Offset(GetBigEndian<int64_t>(p + kBaseOffsetPos));
  h.batch_length = GetBigEndian<int32_t>(p + kBatchLengthPos);
  h.partition_leader_epoch = Epoch(GetBigEndian<int32_t>(p + kPartitionLeaderEpochPos));
  h.magic = static_cast<int8_t>(p[kMagicPos]);
  h.crc = GetBigEndian<uint32_t>(p + kCrcPos);
  h.attributes = GetBigEndian<int16_t>(p + kAttributesPos);
  h.last_offset_delta = GetBigEndian<int32_t>(p + kLastOffsetDeltaPos);
  h.base_timestamp = GetBigEndian<int64_t>(p + kBaseTimestampPos);
  h.max_timestamp = GetBigEndian<int64_t>(p + kMaxTimestampPos);
  h.producer_id = GetBigEndian<int64_t>(p + kProducerIdPos);
  h.producer_epoch = GetBigEndian<int16_t>(p + kProducerEpochPos);
  h.base_sequence = GetBigEndian<int32_t>(p + kBaseSequencePos);
  h.records_count = GetBigEndian<int32_t>(p + kRecordsCountPos);
  return h;
}

absl::Status CheckHeaderPresent(std::string_view bytes) {
  if (bytes.size() < kBatchHeaderSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch of %d bytes is shorter than the %d-byte header", bytes.size(), kBatchHeaderSize));
  }
  return absl::OkStatus();
}

absl::Status CheckMagic(const BatchHeader& h) {
  if (h.magic != kMagicV2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("magic is %d, expected %d", h.magic, kMagicV2));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchHeader> ReadBatchHeader(std::string_view bytes) {
  if (absl::Status s = CheckHeaderPresent(bytes); !s.ok()) return s;
  BatchHeader h = DecodeHeaderFields(bytes.data());
  if (absl::Status s = CheckMagic(h); !s.ok()) return s;
  // Not a check of the batch against the buffer, which may hold more or less
  // than the batch, but of the header against itself: a batchLength shorter
  // than the header is garbage, and callers sizing the batch with
  // size_in_bytes() must not see it (a negative one would wrap around).
  if (h.batch_length < kMinBatchLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("batch length %d is less than the %d header bytes it covers",
                        h.batch_length, kMinBatchLength));
  }
  return h;
}

namespace {

// What every whole batch must be, producer's or stored: its header, magic
// 2, a length that matches the buffer, and the CRC. Shape first, so the CRC
// is computed over the right bytes; then the CRC, so that a flipped bit in a
// CRC-covered field is reported as the data loss it is rather than as an
// odd field value. The fields are for the callers to check.
absl::StatusOr<BatchHeader> CheckShapeAndCrc(std::string_view batch, bool check_crc = true) {
  if (absl::Status s = CheckHeaderPresent(batch); !s.ok()) return s;
  const BatchHeader h = DecodeHeaderFields(batch.data());
  if (absl::Status s = CheckMagic(h); !s.ok()) return s;
  const int64_t expected_length = static_cast<int64_t>(batch.size()) - int64_t{kLogOverhead};
  if (h.batch_length != expected_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("batch length %d does not match buffer of %d bytes (expected %d)",
                        h.batch_length, batch.size(), expected_length));
  }
  if (!check_crc) return h;
  const uint32_t computed = Crc32c(batch.substr(kAttributesPos));
  if (computed != h.crc) {
    return absl::DataLossError(
        absl::StrFormat("CRC mismatch: stored 0x%08x, computed 0x%08x", h.crc, computed));
  }
  return h;
}

}  // namespace

absl::StatusOr<BatchHeader> ValidateBatch(std::string_view batch) {
  absl::StatusOr<BatchHeader> checked = CheckShapeAndCrc(batch);
  if (!checked.ok()) return checked;
  const BatchHeader& h = *checked;
  if (h.records_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("recordsCount %d is less than 1", h.records_count));
  }
  if (int64_t{h.last_offset_delta} != int64_t{h.records_count} - 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("lastOffsetDelta %d does not match recordsCount %d (expected %d)",
                        h.last_offset_delta, h.records_count, int64_t{h.records_count} - 1));
  }
  // A LogAppendTime batch's maxTimestamp is the broker's append time, which
  // may be earlier than a producer's (skewed) baseTimestamp.
  if (h.timestamp_type() == TimestampType::kCreateTime && h.max_timestamp < h.base_timestamp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "maxTimestamp %d is less than baseTimestamp %d", h.max_timestamp, h.base_timestamp));
  }
  return h;
}

absl::StatusOr<BatchHeader> ValidateStoredBatch(std::string_view batch) {
  return ValidateStoredBatch(batch, /*check_crc=*/true);
}

absl::StatusOr<BatchHeader> ValidateStoredBatch(std::string_view batch, bool check_crc) {
  absl::StatusOr<BatchHeader> checked = CheckShapeAndCrc(batch, check_crc);
  if (!checked.ok()) return checked;
  const BatchHeader& h = *checked;
  if (h.records_count < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("recordsCount %d is negative", h.records_count));
  }
  if (h.last_offset_delta < 0 || int64_t{h.last_offset_delta} < int64_t{h.records_count} - 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "lastOffsetDelta %d cannot cover recordsCount %d", h.last_offset_delta, h.records_count));
  }
  if (h.records_count > 0 && h.timestamp_type() == TimestampType::kCreateTime &&
      h.max_timestamp < h.base_timestamp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "maxTimestamp %d is less than baseTimestamp %d", h.max_timestamp, h.base_timestamp));
  }
  return h;
}

void SetBaseOffset(char* batch, Offset base_offset) {
  PutBigEndian<int64_t>(batch + kBaseOffsetPos, base_offset.value());
}

void SetPartitionLeaderEpoch(char* batch, Epoch epoch) {
  PutBigEndian<int32_t>(batch + kPartitionLeaderEpochPos, epoch.value());
}

void SetProducer(std::string* batch, int64_t producer_id, int16_t producer_epoch,
                 int32_t base_sequence) {
  CHECK_GE(batch->size(), kBatchHeaderSize);
  char* b = batch->data();
  PutBigEndian<int64_t>(b + kProducerIdPos, producer_id);
  PutBigEndian<int16_t>(b + kProducerEpochPos, producer_epoch);
  PutBigEndian<int32_t>(b + kBaseSequencePos, base_sequence);
  PutBigEndian<uint32_t>(
      b + kCrcPos, Crc32c(std::string_view(b + kAttributesPos, batch->size() - kAttributesPos)));
}

// ---------------------------------------------------------------------------
// RecordBatchBuilder

RecordBatchBuilder::RecordBatchBuilder(Offset base_offset)
    : base_offset_(base_offset), records_(kBatchHeaderSize, '\0') {}

void RecordBatchBuilder::Reserve(size_t bytes) { records_.reserve(bytes); }

RecordBatchBuilder& RecordBatchBuilder::set_partition_leader_epoch(Epoch e) {
  partition_leader_epoch_ = e;
  return *this;
}

RecordBatchBuilder& RecordBatchBuilder::set_producer(int64_t producer_id, int16_t producer_epoch,
                                                     int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  base_sequence_ = base_sequence;
  return *this;
}

void RecordBatchBuilder::Append(const Record& record) { AppendAt(record, count_); }

void RecordBatchBuilder::AppendWithOffset(const Record& record) {
  const int64_t delta = record.offset.value() - base_offset_.value();
  CHECK(delta > last_offset_delta_ && delta <= std::numeric_limits<int32_t>::max())
      << "offset " << record.offset.value() << " is not above the last record's in a batch at "
      << base_offset_.value();
  AppendAt(record, static_cast<int32_t>(delta));
}

void RecordBatchBuilder::set_last_offset_delta(int32_t delta) {
  last_offset_delta_override_ = delta;
}

void RecordBatchBuilder::AppendAt(const Record& record, int32_t offset_delta) {
  CHECK_LT(count_, std::numeric_limits<int32_t>::max()) << "too many records for one batch";
  if (count_ == 0) {
    base_timestamp_ = record.timestamp;
    max_timestamp_ = record.timestamp;
  } else {
    max_timestamp_ = std::max(max_timestamp_, record.timestamp);
  }
  const int64_t timestamp_delta = WrappingSub(record.timestamp, base_timestamp_);

  // Lengths are varints in the output, so each must fit in an int32.
  auto checked_length = [](size_t n) {
    CHECK_LE(n, static_cast<size_t>(kMaxInt32)) << "field too long for a record";
    return static_cast<int32_t>(n);
  };
  auto nullable_size = [&](const std::optional<std::string>& bytes) -> size_t {
    if (!bytes.has_value()) return VarintSize(-1);
    return VarintSize(checked_length(bytes->size())) + bytes->size();
  };
  // Size the body first: its length comes before it.
  size_t body_size = 1 /* attributes */ + VarlongSize(timestamp_delta) + VarintSize(offset_delta) +
                     nullable_size(record.key) + nullable_size(record.value) +
                     VarintSize(checked_length(record.headers.size()));
  for (const RecordHeader& header : record.headers) {
    body_size += VarintSize(checked_length(header.key.size())) + header.key.size() +
                 nullable_size(header.value);
  }
  const int32_t body_length = checked_length(body_size);

  // Then write it into room made for it at once.
  const size_t start = records_.size();
  records_.resize(start + VarintSize(body_length) + body_size);
  char* p = records_.data() + start;
  auto put_bytes = [&p](std::string_view bytes) {
    if (bytes.empty()) return;  // p may be the end of the buffer
    std::memcpy(p, bytes.data(), bytes.size());
    p += bytes.size();
  };
  auto put_nullable = [&](const std::optional<std::string>& bytes) {
    if (!bytes.has_value()) {
      p = EncodeVarint(p, -1);
      return;
    }
    p = EncodeVarint(p, static_cast<int32_t>(bytes->size()));
    put_bytes(*bytes);
  };
  p = EncodeVarint(p, body_length);
  *p++ = 0;  // attributes: none defined for records
  p = EncodeVarlong(p, timestamp_delta);
  p = EncodeVarint(p, offset_delta);
  put_nullable(record.key);
  put_nullable(record.value);
  p = EncodeVarint(p, static_cast<int32_t>(record.headers.size()));
  for (const RecordHeader& header : record.headers) {
    p = EncodeVarint(p, static_cast<int32_t>(header.key.size()));
    put_bytes(header.key);
    put_nullable(header.value);
  }
  CHECK(p == records_.data() + records_.size()) << "record size computed wrong";
  ++count_;
  last_offset_delta_ = offset_delta;
}

int32_t RecordBatchBuilder::count() const { return count_; }

void RecordBatchBuilder::set_empty_batch_timestamp(int64_t timestamp_ms) {
  empty_batch_timestamp_ = timestamp_ms;
}

RecordBatchBuilder& RecordBatchBuilder::set_transactional(bool transactional) {
  transactional_ = transactional;
  return *this;
}

RecordBatchBuilder& RecordBatchBuilder::set_control(bool control) {
  control_ = control;
  return *this;
}

size_t RecordBatchBuilder::size_in_bytes() const { return records_.size(); }

std::string RecordBatchBuilder::Build() {
  CHECK_LE(records_.size() - kBatchHeaderSize, static_cast<size_t>(kMaxInt32 - kMinBatchLength))
      << "batch too large for its int32 batchLength";
  // The header's room was kept at the front of the records: written in
  // place, the records are not copied.
  std::string batch = std::move(records_);
  records_.assign(kBatchHeaderSize, '\0');

  // A batch without records is written as Kafka writes one (NO_TIMESTAMP,
  // lastOffsetDelta -1); ValidateBatch refuses it, as it refuses any batch
  // that is not what a producer sends.
  const bool empty = count_ == 0;
  char* p = batch.data();
  PutBigEndian<int64_t>(p + kBaseOffsetPos, base_offset_.value());
  PutBigEndian<int32_t>(p + kBatchLengthPos, static_cast<int32_t>(batch.size() - kLogOverhead));
  PutBigEndian<int32_t>(p + kPartitionLeaderEpochPos, partition_leader_epoch_.value());
  p[kMagicPos] = static_cast<char>(kMagicV2);
  // attributes: no compression, CreateTime; transactional and control as set.
  PutBigEndian<int16_t>(p + kAttributesPos,
                        static_cast<int16_t>((transactional_ ? kTransactionalAttribute : 0) |
                                             (control_ ? kControlAttribute : 0)));
  const int32_t last_offset_delta =
      std::max(last_offset_delta_override_.value_or(last_offset_delta_), last_offset_delta_);
  PutBigEndian<int32_t>(p + kLastOffsetDeltaPos, last_offset_delta);
  const int64_t empty_timestamp = empty_batch_timestamp_.value_or(kNoTimestamp);
  PutBigEndian<int64_t>(p + kBaseTimestampPos, empty ? empty_timestamp : base_timestamp_);
  PutBigEndian<int64_t>(p + kMaxTimestampPos, empty ? empty_timestamp : max_timestamp_);
  PutBigEndian<int64_t>(p + kProducerIdPos, producer_id_);
  PutBigEndian<int16_t>(p + kProducerEpochPos, producer_epoch_);
  PutBigEndian<int32_t>(p + kBaseSequencePos, base_sequence_);
  PutBigEndian<int32_t>(p + kRecordsCountPos, count_);
  // Last, once every byte it covers is final.
  PutBigEndian<uint32_t>(p + kCrcPos, Crc32c(std::string_view(batch).substr(kAttributesPos)));

  // Empty again for reuse. The base offset, epoch and producer stay as set.
  count_ = 0;
  last_offset_delta_ = -1;
  last_offset_delta_override_.reset();
  empty_batch_timestamp_.reset();
  base_timestamp_ = 0;
  max_timestamp_ = 0;
  return batch;
}

// ---------------------------------------------------------------------------
// Decoding

namespace {

// Walks the (uncompressed) records section of the batch with header `h`:
// exactly recordsCount records, each inside the section and using up its
// length, no trailing bytes. Offset deltas must rise and stay within
// lastOffsetDelta; with ValidateBatch's lastOffsetDelta == recordsCount - 1
// that leaves exactly 0, 1, ..., n-1. Fills `out` (when not null, with
// offsets and timestamps made absolute) and `summary`.
absl::Status ParseRecords(std::string_view records_bytes, const BatchHeader& h,
                          const absl::FunctionRef<void(Record&&)>* emit, RecordsSummary* summary) {
  RecordContext ctx{h.base_offset, h.base_timestamp, h.last_offset_delta, std::nullopt};
  if (h.timestamp_type() == TimestampType::kLogAppendTime) ctx.log_append_time = h.max_timestamp;

  ByteReader in(records_bytes);
  // recordsCount is CRC-protected but still the writer's word; check that it
  // can fit before reserving room for it or walking towards it.
  if (h.records_count < 0 ||
      static_cast<size_t>(h.records_count) > in.remaining() / kMinRecordSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("recordsCount %d cannot fit in the batch's %d bytes of records",
                        h.records_count, in.remaining()));
  }
  // One record decoded at a time and moved out: its fields are reassigned
  // for the next one (ReadNullableBytes and the headers' resize set them).
  Record scratch;
  *summary = RecordsSummary{};
  int32_t prev_offset_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    if (in.remaining() == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("batch ends after %d of its %d records", i, h.records_count));
    }
    int32_t length = 0;
    if (absl::Status s = in.ReadVarint("length", &length); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("record %d: %s", i, s.message()));
    }
    if (length < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("record %d: length %d is negative", i, length));
    }
    if (static_cast<size_t>(length) > in.remaining()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("record %d: length %d runs past the end of the batch (%d bytes left)", i,
                          length, in.remaining()));
    }
    int32_t offset_delta = 0;
    int64_t timestamp_delta = 0;
    if (absl::Status s =
            DecodeRecordBody(in.Take(static_cast<size_t>(length)), ctx, prev_offset_delta,
                             &offset_delta, &timestamp_delta, emit != nullptr ? &scratch : nullptr);
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("record %d: %s", i, s.message()));
    }
    if (emit != nullptr) {
      (*emit)(std::move(scratch));
      scratch.headers.clear();
    }
    prev_offset_delta = offset_delta;
    NoteTimestamp(WrappingAdd(h.base_timestamp, timestamp_delta), i, summary);
  }
  if (in.remaining() != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d trailing bytes after the last of %d records", in.remaining(), h.records_count));
  }
  return absl::OkStatus();
}

// The hot path of ScanRecords: the same checks as ParseRecords with
// out == nullptr, as straight-line code over raw pointers, answering only
// yes or no. A producer's batch is almost always good, so the leader pays for
// this walk on every append; only a bad batch is walked again by
// ParseRecords, to say exactly what is wrong. The two must agree on every
// input (the decode fuzzer checks that they do).
class FastReader {
 public:
  FastReader(const char* p, const char* end) : p_(p), end_(end) {}
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const char* pos() const { return p_; }

  // Zig-zag varint of at most `kBits` bits, as ByteReader reads it.
  template <int kBits>
  bool Varint(uint64_t* out) {
    constexpr int kMaxBytes = (kBits + 6) / 7;
    uint64_t value = 0;
    for (int i = 0; i < kMaxBytes; ++i) {
      if (p_ == end_) return false;
      const auto byte = static_cast<unsigned char>(*p_++);
      const int shift = 7 * i;
      const uint64_t payload = byte & 0x7f;
      if (shift + 7 > kBits && (payload >> (kBits - shift)) != 0) return false;
      value |= payload << shift;
      if ((byte & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }
  bool Int32(int32_t* out) {
    uint64_t u = 0;
    if (!Varint<32>(&u)) return false;
    *out = UnZigZag32(static_cast<uint32_t>(u));
    return true;
  }
  bool Int64(int64_t* out) {
    uint64_t u = 0;
    if (!Varint<64>(&u)) return false;
    *out = UnZigZag64(u);
    return true;
  }
  bool Skip(size_t n) {
    if (n > remaining()) return false;
    p_ += n;
    return true;
  }
  // A nullable length-prefixed field, its bytes in `out` (nullopt: null).
  bool BytesView(std::optional<std::string_view>* out) {
    int32_t length = 0;
    if (!Int32(&length)) return false;
    if (length < 0) {
      out->reset();
      return length == -1;
    }
    if (static_cast<size_t>(length) > remaining()) return false;
    out->emplace(p_, static_cast<size_t>(length));
    p_ += length;
    return true;
  }
  // A length-prefixed field; -1 (null) allowed when `nullable`.
  bool Bytes(bool nullable) {
    int32_t length = 0;
    if (!Int32(&length)) return false;
    if (length < 0) return nullable && length == -1;
    return Skip(static_cast<size_t>(length));
  }

 private:
  const char* p_;
  const char* end_;
};

bool FastScanRecords(std::string_view records, const BatchHeader& h, RecordsSummary* summary) {
  FastReader in(records.data(), records.data() + records.size());
  if (h.records_count < 0 ||
      static_cast<size_t>(h.records_count) > in.remaining() / kMinRecordSize) {
    return false;
  }
  *summary = RecordsSummary{};
  for (int32_t i = 0; i < h.records_count; ++i) {
    int32_t length = 0;
    if (!in.Int32(&length) || length < 0 || static_cast<size_t>(length) > in.remaining()) {
      return false;
    }
    FastReader body(in.pos(), in.pos() + length);
    in.Skip(static_cast<size_t>(length));
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    int32_t header_count = 0;
    // Rising deltas within lastOffsetDelta == recordsCount - 1 are exactly
    // 0..n-1, so "equal to the index" is the same rule.
    if (!body.Skip(1) || !body.Int64(&timestamp_delta) || !body.Int32(&offset_delta) ||
        offset_delta != i || offset_delta > h.last_offset_delta || !body.Bytes(true) ||
        !body.Bytes(true) || !body.Int32(&header_count) || header_count < 0 ||
        static_cast<size_t>(header_count) > body.remaining() / kMinHeaderSize) {
      return false;
    }
    for (int32_t j = 0; j < header_count; ++j) {
      if (!body.Bytes(false) || !body.Bytes(true)) return false;
    }
    if (body.remaining() != 0) return false;
    NoteTimestamp(WrappingAdd(h.base_timestamp, timestamp_delta), i, summary);
  }
  return in.remaining() == 0;
}

// FastScanRecords' walk, handing each record to `visit` as a view. False
// at the first thing wrong (records before it were visited).
bool FastVisitRecords(std::string_view records, const BatchHeader& h,
                      absl::FunctionRef<void(const RecordView&)> visit) {
  FastReader in(records.data(), records.data() + records.size());
  if (h.records_count < 0 ||
      static_cast<size_t>(h.records_count) > in.remaining() / kMinRecordSize) {
    return false;
  }
  const bool log_append = h.timestamp_type() == TimestampType::kLogAppendTime;
  RecordView view;
  int32_t prev_offset_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    int32_t length = 0;
    if (!in.Int32(&length) || length < 0 || static_cast<size_t>(length) > in.remaining()) {
      return false;
    }
    FastReader body(in.pos(), in.pos() + length);
    in.Skip(static_cast<size_t>(length));
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    // Rising deltas within lastOffsetDelta, as ParseRecords has them: a
    // stored batch the cleaner compacted keeps its records' offsets.
    if (!body.Skip(1) || !body.Int64(&timestamp_delta) || !body.Int32(&offset_delta) ||
        offset_delta <= prev_offset_delta || offset_delta > h.last_offset_delta ||
        !body.BytesView(&view.key) || !body.BytesView(&view.value) ||
        !body.Int32(&view.header_count) || view.header_count < 0 ||
        static_cast<size_t>(view.header_count) > body.remaining() / kMinHeaderSize) {
      return false;
    }
    const char* headers = body.pos();
    for (int32_t j = 0; j < view.header_count; ++j) {
      if (!body.Bytes(false) || !body.Bytes(true)) return false;
    }
    if (body.remaining() != 0) return false;
    view.headers = std::string_view(headers, static_cast<size_t>(body.pos() - headers));
    prev_offset_delta = offset_delta;
    view.offset = h.base_offset + int64_t{offset_delta};
    view.timestamp = log_append ? h.max_timestamp : WrappingAdd(h.base_timestamp, timestamp_delta);
    visit(view);
  }
  return in.remaining() == 0;
}

}  // namespace

void DecodeHeaders(const RecordView& view, std::vector<RecordHeader>* out) {
  FastReader in(view.headers.data(), view.headers.data() + view.headers.size());
  out->reserve(out->size() + static_cast<size_t>(view.header_count));
  for (int32_t j = 0; j < view.header_count; ++j) {
    std::optional<std::string_view> key;
    std::optional<std::string_view> value;
    // Checked when the view was made: keys are not null.
    CHECK(in.BytesView(&key) && key.has_value() && in.BytesView(&value));
    RecordHeader& header = out->emplace_back();
    header.key.assign(*key);
    if (value) header.value.emplace(*value);
  }
}

absl::Status VisitRecords(std::string_view batch, bool check_crc, size_t max_decompressed_bytes,
                          absl::FunctionRef<void(const RecordView&)> visit) {
  absl::StatusOr<BatchHeader> validated = ValidateStoredBatch(batch, check_crc);
  if (!validated.ok()) return validated.status();
  const BatchHeader& h = *validated;
  const Compression compression = h.compression();
  if (CompressionName(compression) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown compression codec %d in attributes 0x%04x",
                        static_cast<int>(compression), static_cast<uint16_t>(h.attributes)));
  }
  int64_t last_offset = 0;
  if (__builtin_add_overflow(h.base_offset.value(), int64_t{h.last_offset_delta}, &last_offset)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("baseOffset %d plus lastOffsetDelta %d overflows", h.base_offset.value(),
                        h.last_offset_delta));
  }
  std::string_view records_bytes = batch.substr(kBatchHeaderSize);
  std::string decompressed;
  if (compression != Compression::kNone) {
    if (absl::Status s =
            Decompress(compression, records_bytes, max_decompressed_bytes, &decompressed);
        !s.ok()) {
      return s;
    }
    records_bytes = decompressed;
  }
  if (FastVisitRecords(records_bytes, h, visit)) return absl::OkStatus();
  // Something is wrong: the full parser says what.
  RecordsSummary summary;
  if (absl::Status s = ParseRecords(records_bytes, h, nullptr, &summary); !s.ok()) return s;
  return absl::InvalidArgumentError("record decoding paths disagree on this batch");
}

absl::StatusOr<RecordsSummary> ScanRecords(std::string_view records, const BatchHeader& header) {
  RecordsSummary summary;
  if (FastScanRecords(records, header, &summary)) return summary;
  if (absl::Status s = ParseRecords(records, header, nullptr, &summary); !s.ok()) return s;
  // The fast path refused what the full parser accepts: a bug in one of
  // them. Refuse rather than store a batch the two disagree on.
  // Not the producer's fault as far as anyone can tell, but not retriable
  // either: the same bytes would be refused again.
  return absl::InvalidArgumentError("record validation paths disagree on this batch");
}

namespace {

absl::Status DecodeRecordsTo(std::string_view batch, bool check_crc, size_t max_decompressed_bytes,
                             absl::FunctionRef<void(Record&&)> emit) {
  // Validating here makes DecodeRecords safe on any input; the CRC costs
  // little next to copying every key and value out.
  absl::StatusOr<BatchHeader> validated = ValidateStoredBatch(batch, check_crc);
  if (!validated.ok()) return validated.status();
  const BatchHeader& h = *validated;

  const Compression compression = h.compression();
  if (CompressionName(compression) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown compression codec %d in attributes 0x%04x",
                        static_cast<int>(compression), static_cast<uint16_t>(h.attributes)));
  }
  // baseOffset is outside the CRC, so it may be anything; the last offset
  // must still be representable.
  int64_t last_offset = 0;
  if (__builtin_add_overflow(h.base_offset.value(), int64_t{h.last_offset_delta}, &last_offset)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("baseOffset %d plus lastOffsetDelta %d overflows", h.base_offset.value(),
                        h.last_offset_delta));
  }

  std::string_view records_bytes = batch.substr(kBatchHeaderSize);
  std::string decompressed;
  if (compression != Compression::kNone) {
    if (absl::Status s =
            Decompress(compression, records_bytes, max_decompressed_bytes, &decompressed);
        !s.ok()) {
      return s;
    }
    records_bytes = decompressed;
  }
  RecordsSummary summary;
  return ParseRecords(records_bytes, h, &emit, &summary);
}

}  // namespace

absl::StatusOr<std::vector<Record>> DecodeRecords(std::string_view batch,
                                                  size_t max_decompressed_bytes) {
  std::vector<Record> records;
  absl::Status s = DecodeRecordsTo(batch, /*check_crc=*/true, max_decompressed_bytes,
                                   [&](Record&& r) { records.push_back(std::move(r)); });
  if (!s.ok()) return s;
  return records;
}

// ---------------------------------------------------------------------------
// BatchIterator

bool BatchIterator::Next(BatchHeader* header, std::string_view* batch) {
  if (pos_ >= buffer_.size()) return false;
  const std::string_view rest = buffer_.substr(pos_);
  // A header cut short, or a batch longer than what is left, is the partial
  // trailing batch of a Fetch response; a header that does not decode cannot
  // be stepped over. Either way iteration ends here, and position() tells the
  // caller how far the good batches went.
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(rest);
  if (!h.ok()) return false;
  const size_t size = h->size_in_bytes();
  if (size > rest.size()) return false;
  *header = *h;
  *batch = rest.substr(0, size);
  pos_ += size;
  return true;
}

}  // namespace strata::record
