// The record types of the client's public API.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/record/record_batch.h"

namespace strata::client {

// A record header: a key and an optional (nullable) value, as Kafka has them.
using Header = record::RecordHeader;

struct ProducerRecord {
  std::string topic;
  // Unset: the partitioner picks one (murmur2 of the key, or round-robin /
  // sticky for keyless records).
  std::optional<int32_t> partition;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  // Milliseconds since the epoch; unset: the time of Send().
  std::optional<int64_t> timestamp_ms;
};

// Where a record was written. offset is -1 with acks=0, which waits for no
// acknowledgement of the append.
struct RecordMetadata {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
};

using SendCallback = std::function<void(const absl::StatusOr<RecordMetadata>&)>;

enum class TimestampKind { kCreateTime, kLogAppendTime };

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  TimestampKind timestamp_kind = TimestampKind::kCreateTime;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
};

}  // namespace strata::client
