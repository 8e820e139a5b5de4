// Producer-batch validation; see log_validator.h for the contract.
//
// Order of checks: header and CRC first (a flipped bit is data loss, not an
// odd field value), then the attributes and producer fields (cheap, and they
// decide how to read the records), then the records themselves, then the
// timestamps, which need the records' summary. The records are walked once,
// without copying; the only allocation is the buffer a compressed batch
// decompresses into.

#include "broker/storage/log_validator.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/str_format.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log_config.h"
#include "client/record/compression.h"
#include "client/record/crc32c.h"

namespace strata::storage {
namespace {

constexpr uint16_t kCodecMask = 0x07;
constexpr uint16_t kTimestampTypeBit = 0x08;
constexpr uint16_t kTransactionalBit = 0x10;
constexpr uint16_t kControlBit = 0x20;
// Everything above the control bit: bit 6 is the delete-horizon flag only
// the log cleaner sets (KIP-534); bits 7-15 are unassigned.
constexpr uint16_t kUnknownBits = static_cast<uint16_t>(~0x3fu);
constexpr int64_t kNoProducerId = -1;
constexpr int64_t kNoTimestamp = -1;

absl::Status InvalidRecord(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

absl::Status CheckAttributes(const record::BatchHeader& h, const ValidationConfig& config) {
  const auto attributes = static_cast<uint16_t>(h.attributes);
  const int codec = attributes & kCodecMask;
  if (codec > static_cast<int>(record::Compression::kZstd)) {
    return InvalidRecord(absl::StrFormat(
        "attributes 0x%04x: unknown compression codec %d (known: 0 none, 1 gzip, 2 snappy, "
        "3 lz4, 4 zstd)",
        attributes, codec));
  }
  if (attributes & kTimestampTypeBit) {
    return InvalidRecord(absl::StrFormat(
        "attributes 0x%04x: the LogAppendTime bit is set; only the broker sets it", attributes));
  }
  if ((attributes & kTransactionalBit) && !config.allow_transactional) {
    return InvalidRecord(absl::StrFormat(
        "attributes 0x%04x: the transactional bit is set, but this broker has no transactions",
        attributes));
  }
  if ((attributes & kControlBit) && !config.allow_control) {
    return InvalidRecord(absl::StrFormat(
        "attributes 0x%04x: the control bit is set; clients may not write control batches",
        attributes));
  }
  if (attributes & kUnknownBits) {
    return InvalidRecord(
        absl::StrFormat("attributes 0x%04x: bits 0x%04x are set, which a producer never sets",
                        attributes, attributes & kUnknownBits));
  }
  return absl::OkStatus();
}

absl::Status CheckProducer(const record::BatchHeader& h, const ValidationConfig& config) {
  if (h.producer_id == kNoProducerId) {
    // Without a producer id the epoch and sequence mean nothing; Kafka
    // ignores them, and some clients (Sarama) write sequence 0 there.
    if (h.is_transactional()) {
      return InvalidRecord("a transactional batch must carry a producer id (it has -1)");
    }
    return absl::OkStatus();
  }
  if (h.producer_id < 0) {
    return InvalidRecord(
        absl::StrFormat("producerId %d is negative and not -1 (none)", h.producer_id));
  }
  if (!config.allow_idempotent) {
    return InvalidRecord(absl::StrFormat(
        "producerId %d: idempotent producers are not supported yet; send producerId -1 "
        "(enable.idempotence=false)",
        h.producer_id));
  }
  if (h.producer_epoch < 0) {
    return InvalidRecord(absl::StrFormat("producerEpoch %d is negative for producerId %d",
                                         h.producer_epoch, h.producer_id));
  }
  if (h.base_sequence < 0) {
    return InvalidRecord(absl::StrFormat("baseSequence %d is negative for producerId %d",
                                         h.base_sequence, h.producer_id));
  }
  return absl::OkStatus();
}

// now - bound and now + bound, saturating at the int64 range.
int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
  return r;
}
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

absl::Status CheckCreateTimes(const record::BatchHeader& h, const record::RecordsSummary& records,
                              const ValidationConfig& config, int64_t now_ms) {
  // Kafka overwrites a wrong maxTimestamp; we refuse it instead. Fixing it
  // means rewriting the producer's bytes and their CRC, every known producer
  // writes it right, and a wrong one would mislead the time index and
  // retention; a writer that gets it wrong should hear so.
  if (h.max_timestamp != records.max_timestamp) {
    return InvalidRecord(absl::StrFormat(
        "maxTimestamp %d in the batch header is not the largest record timestamp %d (record %d)",
        h.max_timestamp, records.max_timestamp, records.max_timestamp_index));
  }
  // Long.MAX_VALUE, the default for before.max.ms, means no bound at all
  // (Kafka's arithmetic wraps rather than refusing the oldest timestamps).
  constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();
  const int64_t earliest = config.timestamp_before_max_ms == kUnbounded
                               ? std::numeric_limits<int64_t>::min()
                               : SaturatingSub(now_ms, config.timestamp_before_max_ms);
  const int64_t latest = config.timestamp_after_max_ms == kUnbounded
                             ? kUnbounded
                             : SaturatingAdd(now_ms, config.timestamp_after_max_ms);
  auto out_of_range = [&](int32_t index, int64_t timestamp) {
    return WithKafkaError(
        absl::InvalidArgumentError(absl::StrFormat(
            "record %d: timestamp %d is out of range: it must be within [%d, %d] (broker time %d, "
            "message.timestamp.before.max.ms %d, message.timestamp.after.max.ms %d)",
            index, timestamp, earliest, latest, now_ms, config.timestamp_before_max_ms,
            config.timestamp_after_max_ms)),
        kKafkaInvalidTimestamp);
  };
  if (records.min_timestamp_index >= 0 && records.min_timestamp < earliest) {
    return out_of_range(records.min_timestamp_index, records.min_timestamp);
  }
  // -1 (NO_TIMESTAMP) is exempt from the bounds, as in Kafka.
  if (records.max_timestamp != kNoTimestamp && records.max_timestamp > latest) {
    return out_of_range(records.max_timestamp_index, records.max_timestamp);
  }
  return absl::OkStatus();
}

void PutBigEndian64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// Reads a zig-zag varint at `*pos` of `bytes`; false when it does not fit.
bool ReadVarlong(std::string_view bytes, size_t* pos, int64_t* out) {
  uint64_t raw = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= bytes.size()) return false;
    const auto b = static_cast<uint8_t>(bytes[(*pos)++]);
    raw |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

// A compacted topic's rule: every record has a key. `records` passed
// ScanRecords, so each record's fields are in range.
absl::Status CheckKeys(std::string_view records, const ValidationConfig& config) {
  size_t pos = 0;
  for (int index = 0; pos < records.size(); ++index) {
    int64_t length = 0;
    int64_t ignored = 0;
    int64_t key_length = 0;
    if (!ReadVarlong(records, &pos, &length) || length < 0 ||
        static_cast<uint64_t>(length) > records.size() - pos) {
      return InvalidRecord(absl::StrFormat("record %d: bad length", index));
    }
    const size_t next = pos + static_cast<size_t>(length);
    size_t at = pos + 1;  // attributes
    if (!ReadVarlong(records, &at, &ignored) || !ReadVarlong(records, &at, &ignored) ||
        !ReadVarlong(records, &at, &key_length) || at > next) {
      return InvalidRecord(absl::StrFormat("record %d: bad fields", index));
    }
    if (key_length < 0) {
      return InvalidRecord(
          absl::StrFormat("Compacted topic cannot accept message without key in topic partition "
                          "%s.",
                          config.topic_partition));
    }
    pos = next;
  }
  return absl::OkStatus();
}

}  // namespace

size_t MaxDecompressedBytes(int64_t max_message_bytes) {
  const auto base = static_cast<size_t>(std::max<int64_t>(max_message_bytes, 0));
  return std::min(base * kMaxDecompressionRatio, record::kMaxDecompressedBatchBytes);
}

std::optional<record::Compression> StoredCompression(BrokerCompressionType type) {
  switch (type) {
    case BrokerCompressionType::kProducer:
      return std::nullopt;
    case BrokerCompressionType::kUncompressed:
      return record::Compression::kNone;
    case BrokerCompressionType::kGzip:
      return record::Compression::kGzip;
    case BrokerCompressionType::kSnappy:
      return record::Compression::kSnappy;
    case BrokerCompressionType::kLz4:
      return record::Compression::kLz4;
    case BrokerCompressionType::kZstd:
      return record::Compression::kZstd;
  }
  return std::nullopt;
}

absl::StatusOr<ValidatedBatch> ValidateProducerBatch(std::string_view batch,
                                                     const ValidationConfig& config,
                                                     int64_t now_ms) {
  absl::StatusOr<record::BatchHeader> header = record::ValidateBatch(batch);
  if (!header.ok()) return header.status();
  const record::BatchHeader& h = *header;
  if (absl::Status s = CheckAttributes(h, config); !s.ok()) return s;
  if (absl::Status s = CheckProducer(h, config); !s.ok()) return s;

  std::string_view records = batch.substr(record::kBatchHeaderSize);
  std::string decompressed;
  if (h.compression() != record::Compression::kNone) {
    // A topic storing batches uncompressed can hold no more records than
    // max.message.bytes minus a header: past that, stop and say too large.
    size_t limit = config.max_decompressed_bytes;
    bool limit_is_stored_size = false;
    if (config.stored_compression == record::Compression::kNone &&
        config.max_message_bytes.has_value()) {
      const auto stored_limit = static_cast<size_t>(std::max<int64_t>(
          *config.max_message_bytes - static_cast<int64_t>(record::kBatchHeaderSize), 0));
      if (stored_limit < limit) {
        limit = stored_limit;
        limit_is_stored_size = true;
      }
    }
    if (absl::Status s = record::Decompress(h.compression(), records, limit, &decompressed);
        !s.ok()) {
      if (limit_is_stored_size && record::IsDecompressionLimitExceeded(s)) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "record batch as stored (none, the topic's compression.type) would be larger than "
            "max.message.bytes (%d): its %s records decompress to more than %d bytes",
            *config.max_message_bytes, record::CompressionName(h.compression()), limit));
      }
      return s;
    }
    records = decompressed;
  }
  absl::StatusOr<record::RecordsSummary> summary = record::ScanRecords(records, h);
  if (!summary.ok()) return summary.status();
  if (config.require_keys) {
    if (absl::Status s = CheckKeys(records, config); !s.ok()) return s;
  }

  ValidatedBatch out;
  out.header = h;
  if (config.timestamp_type == record::TimestampType::kLogAppendTime) {
    out.stamp_log_append_time = true;
    out.max_timestamp = now_ms;
  } else {
    if (absl::Status s = CheckCreateTimes(h, *summary, config, now_ms); !s.ok()) return s;
    out.max_timestamp = h.max_timestamp;
  }
  // Valid through and through; now, and only now, re-encoded for a topic
  // that stores another codec.
  // A control batch that came uncompressed stays so: Kafka never
  // compresses control records, and readers may expect them plain.
  const bool plain_control = h.is_control() && h.compression() == record::Compression::kNone;
  if (config.stored_compression.has_value() && *config.stored_compression != h.compression() &&
      !plain_control) {
    absl::StatusOr<std::string> reencoded =
        record::EncodeBatch(batch.substr(0, record::kBatchHeaderSize), records,
                            *config.stored_compression, record::CompressionOptions());
    if (!reencoded.ok()) {
      return absl::InternalError(absl::StrFormat(
          "cannot re-encode the batch with %s (the topic's compression.type): %s",
          record::CompressionName(*config.stored_compression), reencoded.status().message()));
    }
    absl::StatusOr<record::BatchHeader> stored = record::ReadBatchHeader(*reencoded);
    if (!stored.ok()) return stored.status();
    out.header = *stored;
    out.reencoded = *std::move(reencoded);
  }
  return out;
}

void StampLogAppendTime(char* batch, size_t size, int64_t now_ms) {
  PutBigEndian64(batch + record::kMaxTimestampPos, static_cast<uint64_t>(now_ms));
  batch[record::kAttributesPos + 1] =
      static_cast<char>(batch[record::kAttributesPos + 1] | kTimestampTypeBit);
  const uint32_t crc = record::Crc32c(
      std::string_view(batch + record::kAttributesPos, size - record::kAttributesPos));
  for (int i = 0; i < 4; ++i) {
    batch[record::kCrcPos + static_cast<size_t>(i)] = static_cast<char>(crc >> (24 - 8 * i));
  }
}

}  // namespace strata::storage
