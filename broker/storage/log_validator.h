// Record-level validation of a producer's batch before a partition leader
// appends it (Kafka's LogValidator). The batch header and CRC say only that
// the writer computed a checksum; this looks at every record, so that
// nothing half-valid reaches the log and, from there, every follower and
// consumer.
//
// Contract
//   ValidateProducerBatch(batch, config, now_ms) reads `batch` (one whole v2
//   batch, as a producer sent it) and changes nothing. It accepts the batch
//   only when all of these hold:
//   - header: ValidateBatch (length, magic 2, CRC-32C, recordsCount >= 1,
//     lastOffsetDelta == recordsCount - 1);
//   - attributes: codec 0-4 (5-7 are unknown); the timestamp-type bit clear
//     (only the broker sets LogAppendTime); transactional and control bits
//     clear unless config allows them (no transactions yet: a client may
//     write neither); no other bit set (bit 6 belongs to the log cleaner);
//   - producer: id -1 (not idempotent; epoch and sequence then mean nothing
//     and are not checked, as in Kafka), or, when config allows idempotence,
//     id >= 0 with epoch >= 0 and base sequence >= 0. Sequence numbers are a
//     producer-state check that does not exist yet;
//   - records (decompressed first for codecs 1-4, up to
//     config.max_decompressed_bytes): exactly recordsCount records, every
//     length and varint in range and inside its record, offset deltas
//     0..n-1 in order, no trailing bytes (ScanRecords in record_batch.h);
//   - keys, compacted topics (config.require_keys): every record has one;
//   - timestamps, CreateTime topics: header maxTimestamp equal to the largest
//     record timestamp, and every record timestamp other than -1 within
//     [now - before.max.ms, now + after.max.ms]. LogAppendTime topics ignore
//     the producer's timestamps, as Kafka does.
//   It does not assign offsets or leader epochs (the log does).
//
//   Compression: with config.stored_compression unset (the topic's
//   compression.type=producer), or equal to the batch's codec, the
//   producer's bytes are stored as they came; so is a control batch that
//   came uncompressed (Kafka never compresses control records). Otherwise
//   (a topic whose compression.type differs, `uncompressed` included) the
//   batch is re-encoded with the topic's codec once every check above has
//   passed:
//   the records section, already decompressed for the checks, is compressed
//   again (snappy in the xerial framing, levels at their defaults), and
//   only the codec bits, batchLength and the CRC change: the records'
//   bytes, offsets, timestamps and the producer fields are kept. The result
//   is ValidatedBatch::reencoded, which the caller stores instead; its size
//   is what max.message.bytes applies to. For a topic that stores batches
//   uncompressed, config.max_message_bytes (when set) also bounds the
//   decompression: records past max.message.bytes - 61 bytes could not be
//   stored, so decompressing stops there and the batch is refused as too
//   large (ResourceExhausted), not as corrupt.
//
//   StampLogAppendTime(batch, now_ms) is the one change a leader makes to a
//   producer's records: for a LogAppendTime topic it sets maxTimestamp to
//   the append time and the timestamp-type bit, and recomputes the CRC.
//
// Errors (the message names the record index, field and value):
//   DataLoss         -> CORRUPT_MESSAGE: CRC mismatch; a compressed section
//                       that does not decompress, or decompresses to more
//                       than max_decompressed_bytes.
//   ResourceExhausted -> MESSAGE_TOO_LARGE: for a topic storing batches
//                       uncompressed, records that decompress past what
//                       max.message.bytes lets it store (a producer splits
//                       such a batch and sends it again).
//   InvalidArgument  -> INVALID_RECORD: any other malformed header, attribute,
//                       producer field or record, including a maxTimestamp
//                       that disagrees with the records.
//   InvalidArgument with the INVALID_TIMESTAMP payload (kafka_error.h): a
//                       record timestamp outside the configured bounds.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/record/compression.h"
#include "client/record/record_batch.h"

namespace strata::storage {

enum class BrokerCompressionType;  // log_config.h

// Kafka's defaults (KIP-937, Kafka 3.6; after.max.ms became one hour in
// Kafka 4.0, where 3.6-3.9 had Long.MAX_VALUE): old timestamps are allowed
// (replays, mirroring), future ones only up to an hour of clock skew, since a
// timestamp years ahead (nanoseconds sent as milliseconds) pins retention.
inline constexpr int64_t kDefaultTimestampBeforeMaxMs = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kDefaultTimestampAfterMaxMs = 3'600'000;

// How much a compressed batch may inflate, relative to max.message.bytes.
// Real record data compresses 2-20x (repetitive JSON or logs approach 50x);
// a deflate or zstd bomb reaches 1000x and more. 64x admits real data and
// bounds what one batch can make the leader allocate; the absolute ceiling is
// kMaxDecompressedBatchBytes (record_batch.h), which clients decode with.
// Strata's producer stays within it by construction: its estimate of a
// topic's compression ratio never drops below 1/32 (kMinRatioEstimate in
// client/record_accumulator.h), so a batch holds at most about 32 x
// batch.size of records, within 64 x max.message.bytes while batch.size is
// at most twice max.message.bytes (the defaults: 16 KiB and 1 MiB). A batch
// over the limit is CORRUPT_MESSAGE, which no producer retries.
inline constexpr size_t kMaxDecompressionRatio = 64;

// The decompression limit for a topic's max.message.bytes.
size_t MaxDecompressedBytes(int64_t max_message_bytes);

// The codec a topic's compression.type stores batches with; nullopt for
// `producer` (keep the producer's).
std::optional<record::Compression> StoredCompression(BrokerCompressionType type);

struct ValidationConfig {
  record::TimestampType timestamp_type =
      record::TimestampType::kCreateTime;  // message.timestamp.type
  int64_t timestamp_before_max_ms =
      kDefaultTimestampBeforeMaxMs;                              // message.timestamp.before.max.ms
  int64_t timestamp_after_max_ms = kDefaultTimestampAfterMaxMs;  // message.timestamp.after.max.ms
  size_t max_decompressed_bytes = MaxDecompressedBytes(1048588);
  // compression.type (StoredCompression): nullopt keeps the producer's codec.
  std::optional<record::Compression> stored_compression;
  // max.message.bytes, when the caller wants it to bound the decompression
  // of batches a topic stores uncompressed (see the file comment).
  std::optional<int64_t> max_message_bytes;
  // What the caller accepts: all off unless it says so.
  bool allow_transactional = false;  // a transactional producer's batches
  bool allow_control = false;        // control batches, written only by a coordinator
  bool allow_idempotent = false;     // producer ids >= 0 (needs producer state)
  // cleanup.policy has `compact`: every record must have a key (a null key
  // is INVALID_RECORD, Kafka's "Compacted topic cannot accept message
  // without key in topic partition <topic_partition>.").
  bool require_keys = false;
  std::string topic_partition;
};

struct ValidatedBatch {
  // The header of the batch to store: the producer's, or reencoded's.
  record::BatchHeader header;
  // The batch's max timestamp as the log should index it: the records'
  // largest (CreateTime) or the append time (LogAppendTime, after stamping).
  int64_t max_timestamp = -1;
  // LogAppendTime topic: the caller must StampLogAppendTime before storing.
  bool stamp_log_append_time = false;
  // Set when the topic stores another codec than the producer sent: the
  // batch to store instead (see the file comment).
  std::optional<std::string> reencoded;
};

absl::StatusOr<ValidatedBatch> ValidateProducerBatch(std::string_view batch,
                                                     const ValidationConfig& config,
                                                     int64_t now_ms);

// Sets maxTimestamp to `now_ms` and the LogAppendTime bit and recomputes
// the CRC. `batch` must be a whole batch that ValidateProducerBatch accepted.
void StampLogAppendTime(char* batch, size_t size, int64_t now_ms);

}  // namespace strata::storage
