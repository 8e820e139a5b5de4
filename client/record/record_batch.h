// Kafka's v2 RecordBatch (magic 2), byte for byte. The same bytes arrive in a
// Produce request, are written to a segment and are returned by Fetch.
//
// Layout (big-endian; see Kafka's "Record Batch" protocol documentation):
//
//   off  size  field
//     0     8  baseOffset
//     8     4  batchLength            bytes that follow this field
//    12     4  partitionLeaderEpoch
//    16     1  magic                  = 2
//    17     4  crc                    CRC-32C of bytes [21, end)
//    21     2  attributes             bits 0-2 compression, 3 timestamp type,
//                                     4 transactional, 5 control
//    23     4  lastOffsetDelta
//    27     8  baseTimestamp
//    35     8  maxTimestamp
//    43     8  producerId
//    51     2  producerEpoch
//    53     4  baseSequence
//    57     4  recordsCount
//    61        records...
//
//   record: length varint, attributes int8, timestampDelta varlong,
//           offsetDelta varint, key (varint length, -1 = null, bytes),
//           value (same), headers count varint, then per header:
//           key (varint length, bytes), value (varint length, -1 = null).
//   Varints are zig-zag encoded, as in protobuf's sint32/sint64.
//
// Neither baseOffset nor partitionLeaderEpoch is covered by the CRC, which is
// what lets a broker assign offsets to a whole batch by rewriting its first
// eight bytes, without touching the records.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/common/ids.h"

namespace strata::record {

inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = 8;
inline constexpr size_t kPartitionLeaderEpochPos = 12;
inline constexpr size_t kMagicPos = 16;
inline constexpr size_t kCrcPos = 17;
inline constexpr size_t kAttributesPos = 21;
inline constexpr size_t kLastOffsetDeltaPos = 23;
inline constexpr size_t kBaseTimestampPos = 27;
inline constexpr size_t kMaxTimestampPos = 35;
inline constexpr size_t kProducerIdPos = 43;
inline constexpr size_t kProducerEpochPos = 51;
inline constexpr size_t kBaseSequencePos = 53;
inline constexpr size_t kRecordsCountPos = 57;
inline constexpr size_t kBatchHeaderSize = 61;
// baseOffset + batchLength: the part of the header outside batchLength.
inline constexpr size_t kLogOverhead = 12;
inline constexpr int8_t kMagicV2 = 2;
// The attributes' transactional (bit 4) and control (bit 5) bits.
inline constexpr int16_t kTransactionalAttribute = 0x10;
inline constexpr int16_t kControlAttribute = 0x20;

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

struct RecordHeader {
  std::string key;
  std::optional<std::string> value;

  friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<RecordHeader> headers;
  int64_t timestamp = 0;  // ms since the epoch
  Offset offset{0};       // absolute; set by DecodeRecords, ignored by the builder

  friend bool operator==(const Record&, const Record&) = default;
};

// The fixed 61-byte header, decoded.
struct BatchHeader {
  Offset base_offset{0};
  int32_t batch_length = 0;
  Epoch partition_leader_epoch{-1};
  int8_t magic = kMagicV2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  Offset last_offset() const { return base_offset + last_offset_delta; }
  Offset next_offset() const { return base_offset + (int64_t{last_offset_delta} + 1); }
  // The whole batch on disk, header included.
  size_t size_in_bytes() const { return kLogOverhead + static_cast<size_t>(batch_length); }
  Compression compression() const { return static_cast<Compression>(attributes & 0x07); }
  TimestampType timestamp_type() const {
    return (attributes & 0x08) ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return attributes & kTransactionalAttribute; }
  bool is_control() const { return attributes & kControlAttribute; }
};

// Decodes the 61-byte header at the start of `bytes`. Checks only that the
// header is all there and that magic is 2; the CRC is not checked.
absl::StatusOr<BatchHeader> ReadBatchHeader(std::string_view bytes);

// Checks that `batch` is exactly one well-formed batch: batchLength matches
// the buffer, magic is 2, the CRC-32C matches, recordsCount >= 1 and
// lastOffsetDelta == recordsCount - 1 (what every v2 producer writes), and
// (for CreateTime batches) maxTimestamp is not below baseTimestamp. Records
// are not decoded. Returns the header on success; the error (InvalidArgument /
// DataLoss) names the field.
absl::StatusOr<BatchHeader> ValidateBatch(std::string_view batch);

// Checks `batch` as a log may store it and a consumer must read it (Kafka's
// DefaultRecordBatch.ensureValid): as ValidateBatch, except that the
// records may be fewer than the batch's offsets. The log cleaner removes
// records from a batch and keeps the rest at their offsets, so the batch
// keeps its base offset and lastOffsetDelta with gaps inside it
// (recordsCount <= lastOffsetDelta + 1), or keeps none of them
// (recordsCount 0). lastOffsetDelta is never negative, so every batch
// moves a reader on.
absl::StatusOr<BatchHeader> ValidateStoredBatch(std::string_view batch);
// The same, the CRC left out when `check_crc` is false (a consumer with
// check.crcs=false, or a caller that checked it already).
absl::StatusOr<BatchHeader> ValidateStoredBatch(std::string_view batch, bool check_crc);

// Rewrite fields outside the CRC in place. `batch` must hold a whole header.
void SetBaseOffset(char* batch, Offset base_offset);
void SetPartitionLeaderEpoch(char* batch, Epoch epoch);
// Sets the producer id, epoch and base sequence of a whole batch in place
// and recomputes the CRC, which covers them: how an idempotent producer
// stamps a batch sealed (compressed) before its sequence was known.
// `batch` must hold exactly one whole batch.
void SetProducer(std::string* batch, int64_t producer_id, int16_t producer_epoch,
                 int32_t base_sequence);

// Builds one uncompressed batch. Offsets in the batch start at `base_offset`;
// timestamps are stored as deltas from the first record's timestamp.
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(Offset base_offset = Offset(0));

  RecordBatchBuilder& set_partition_leader_epoch(Epoch e);
  RecordBatchBuilder& set_producer(int64_t producer_id, int16_t producer_epoch,
                                   int32_t base_sequence);

  void Append(const Record& record);
  // Appends `record` at its own offset (`record.offset`, above the last
  // appended one and at or above the base offset), as the log cleaner
  // writes a batch it removed records from: the records left keep their
  // offsets (Kafka's appendWithOffset).
  void AppendWithOffset(const Record& record);
  // The batch's lastOffsetDelta, when it must cover more offsets than its
  // last record's (a cleaned batch keeps its original one). Otherwise it is
  // the last record's offset delta.
  void set_last_offset_delta(int32_t delta);
  // The base and max timestamps of a batch built without records (else
  // NO_TIMESTAMP): the log cleaner keeps an emptied batch's max timestamp,
  // as Kafka's does, since producer state takes a producer's last
  // timestamp from it.
  void set_empty_batch_timestamp(int64_t timestamp_ms);
  // The attributes' transactional and control bits (a transaction's data;
  // a transaction marker).
  RecordBatchBuilder& set_transactional(bool transactional);
  RecordBatchBuilder& set_control(bool control);
  // Records appended so far.
  int32_t count() const;
  // Bytes Build() would return now.
  size_t size_in_bytes() const;
  // Room for a batch of `bytes` (header included), so that appending up to
  // that size does not reallocate.
  void Reserve(size_t bytes);
  // The finished batch: header with CRC, then the records. The builder is
  // left empty and can be reused.
  std::string Build();

 private:
  Offset base_offset_;
  Epoch partition_leader_epoch_{-1};
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  int64_t base_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  int32_t count_ = 0;
  int32_t last_offset_delta_ = -1;  // of the last record appended
  std::optional<int32_t> last_offset_delta_override_;
  std::optional<int64_t> empty_batch_timestamp_;
  bool transactional_ = false;
  bool control_ = false;
  // Room for the header (written by Build()), then the encoded records.
  std::string records_;

  void AppendAt(const Record& record, int32_t offset_delta);
};

// The most a compressed batch may decompress to when the reader sets no
// limit of its own. A broker accepts at most 64 x max.message.bytes and
// never more than this (see log_validator.h), so a client reading with this
// default decodes everything a broker stored, while a hostile batch still
// cannot make it allocate more.
inline constexpr size_t kMaxDecompressedBatchBytes = size_t{1} << 30;

// Decodes every record of one batch, with absolute offsets and timestamps.
// The batch is checked first (ValidateStoredBatch, CRC included: a batch
// the log cleaner left gaps in decodes, its records at their offsets), so
// any bytes are safe to pass. Compressed batches (gzip, snappy, lz4, zstd) are decompressed,
// up to `max_decompressed_bytes`. Errors: InvalidArgument for a malformed
// batch or record (the message names the record index and field) or an
// unknown codec; DataLoss for a CRC mismatch or a compressed section that
// does not decompress within the limit.
absl::StatusOr<std::vector<Record>> DecodeRecords(
    std::string_view batch, size_t max_decompressed_bytes = kMaxDecompressedBatchBytes);

// One record of a batch as it lies in the batch's bytes (a consumer's hot
// path copies each key and value once, straight into its own record).
struct RecordView {
  Offset offset{0};       // absolute
  int64_t timestamp = 0;  // absolute; the batch's for LogAppendTime
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  int32_t header_count = 0;
  std::string_view headers;  // the encoded headers, checked; DecodeHeaders
};

// Appends the headers of `view` to `out`.
void DecodeHeaders(const RecordView& view, std::vector<RecordHeader>* out);

// Makes every check DecodeRecords makes (the CRC only with `check_crc`) and
// hands each record to `visit` as a view, in offset order; a view's bytes
// live until `visit` returns. On an error the records before the bad one
// have been visited already.
absl::Status VisitRecords(std::string_view batch, bool check_crc, size_t max_decompressed_bytes,
                          absl::FunctionRef<void(const RecordView&)> visit);

// What checking a batch's records found out, without copying any of them.
struct RecordsSummary {
  // The largest record timestamp (baseTimestamp + timestampDelta) and the
  // index of the first record that has it.
  int64_t max_timestamp = -1;
  int32_t max_timestamp_index = -1;
  // The smallest record timestamp other than -1 (Kafka's NO_TIMESTAMP,
  // which timestamp bounds do not apply to); index -1 when there is none.
  int64_t min_timestamp = -1;
  int32_t min_timestamp_index = -1;
};

// Checks the records section `records` (already decompressed) of a batch
// whose header is `header`, the way DecodeRecords does, but copies nothing:
// exactly recordsCount records, every length and varint in range and inside
// its record, offset deltas 0..recordsCount-1 in order, header keys not
// null, no bytes left over. `header` is one ValidateBatch accepted (its
// lastOffsetDelta == recordsCount - 1 is what makes the deltas contiguous).
// Errors: InvalidArgument naming the record index, the field and the value.
absl::StatusOr<RecordsSummary> ScanRecords(std::string_view records, const BatchHeader& header);

// Walks a buffer of concatenated batches, as a segment holds them or Fetch
// returns them. Stops at the end of the buffer or at the first batch that is
// not entirely inside it (a partial trailing batch is normal in a Fetch
// response, so that is not an error); the header of each batch is decoded,
// the CRC is not checked.
class BatchIterator {
 public:
  explicit BatchIterator(std::string_view buffer) : buffer_(buffer) {}

  // False at the end. On true, `header` and `batch` (the whole batch's bytes)
  // describe the next batch.
  bool Next(BatchHeader* header, std::string_view* batch);
  // Bytes consumed by the batches returned so far.
  size_t position() const { return pos_; }

 private:
  std::string_view buffer_;
  size_t pos_ = 0;
};

}  // namespace strata::record
