// LogConfig: every topic-level setting of a partition's log, under Kafka's
// topic config names (Kafka's LogConfig), and the one table that knows them.
//
// The table (log_config.cc) gives each name Kafka's default and the parser
// that validates a value and stores it in a LogConfig. Everything that deals
// in topic configs goes through it: the controller refuses unknown names and
// bad values with ValidateTopicConfig, the broker's log.* settings are
// validated as the topic config they default, describe-configs lists
// TopicConfigDefaults, and a topic's logs are built by LogConfigFor. A name
// added to the table is thereby known, validated, shown and applied.
//
// A Log takes a new LogConfig while it is open (Log::UpdateConfig); the
// LogManager re-reads every topic's config after a metadata change
// (LogManager::RefreshConfigs).
//
// Some settings are held for what comes next and read by nothing yet:
// retention and cleaning (retention.*, cleanup.policy, *.compaction.lag.ms,
// delete.retention.ms, min.cleanable.dirty.ratio, file.delete.delay.ms),
// segment.jitter.ms and compression.type (the producer's bytes are stored
// as they came). min.insync.replicas and unclean.leader.election.enable are
// not the log's but the replica manager's; Kafka keeps them in its LogConfig
// too, so that one table serves every topic config.
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/storage/log_validator.h"
#include "client/record/record_batch.h"

namespace strata::storage {

// cleanup.policy: what becomes of a log's old segments.
enum class CleanupPolicy {
  kDelete,            // "delete": retention.ms and retention.bytes remove them
  kCompact,           // "compact": the cleaner keeps the latest record of each key
  kCompactAndDelete,  // "compact,delete" (in either order): both
};
// Whether the cleaner compacts such a log.
inline bool IsCompacted(CleanupPolicy p) {
  return p == CleanupPolicy::kCompact || p == CleanupPolicy::kCompactAndDelete;
}
// Whether retention (retention.ms, retention.bytes) deletes its old segments.
inline bool IsDeletedByRetention(CleanupPolicy p) {
  return p == CleanupPolicy::kDelete || p == CleanupPolicy::kCompactAndDelete;
}

// compression.type: the codec the broker stores a topic's batches with;
// kProducer keeps the producer's (Kafka's BrokerCompressionType).
enum class BrokerCompressionType { kProducer, kUncompressed, kGzip, kSnappy, kLz4, kZstd };

// Field defaults are Kafka's; they equal the table's default values (the
// unit tests check that a LogConfig built from TopicConfigDefaults() is
// LogConfig{}).
struct LogConfig {
  // --- Segments ---
  int64_t segment_bytes = 1024 * 1024 * 1024;   // segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;  // segment.ms
  int64_t segment_jitter_ms = 0;                // segment.jitter.ms
  // A segment keeps the interval it was created with; a change applies
  // from the next roll on.
  int32_t index_interval_bytes = 4096;  // index.interval.bytes

  // --- Durability ---
  int64_t flush_messages = std::numeric_limits<int64_t>::max();  // flush.messages
  int64_t flush_ms = std::numeric_limits<int64_t>::max();        // flush.ms

  // --- Appends (LogValidator) ---
  int32_t max_message_bytes = 1048588;  // max.message.bytes
  record::TimestampType message_timestamp_type =
      record::TimestampType::kCreateTime;  // message.timestamp.type
  int64_t message_timestamp_before_max_ms =
      kDefaultTimestampBeforeMaxMs;  // message.timestamp.before.max.ms
  int64_t message_timestamp_after_max_ms =
      kDefaultTimestampAfterMaxMs;  // message.timestamp.after.max.ms
  BrokerCompressionType compression_type = BrokerCompressionType::kProducer;  // compression.type

  // --- Retention and cleaning ---
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;          // retention.ms; -1: no limit
  int64_t retention_bytes = -1;                           // retention.bytes; -1: no limit
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;  // cleanup.policy
  int64_t min_compaction_lag_ms = 0;                      // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // max.compaction.lag.ms
  int64_t delete_retention_ms = 24LL * 3600 * 1000;                     // delete.retention.ms
  double min_cleanable_dirty_ratio = 0.5;                               // min.cleanable.dirty.ratio
  int64_t file_delete_delay_ms = 60'000;                                // file.delete.delay.ms

  // --- Replication (the replica manager's, not the log's) ---
  int32_t min_insync_replicas = 1;              // min.insync.replicas
  bool unclean_leader_election_enable = false;  // unclean.leader.election.enable

  bool operator==(const LogConfig&) const = default;

  // Applies one topic config. InvalidArgument, with this unchanged, for a
  // name the table does not know (naming it and every known name) or a
  // value it refuses (Kafka's wording: "Invalid value <v> for configuration
  // <name>: <what is allowed>").
  absl::Status Set(std::string_view name, std::string_view value);
};

// Every topic config name, with Kafka's default value as text.
const std::map<std::string, std::string>& TopicConfigDefaults();

// OK when `value` is valid for topic config `name`; otherwise the error
// LogConfig::Set gives.
absl::Status ValidateTopicConfig(std::string_view name, std::string_view value);

// The replication throttles of reassignment (KIP-73): two dynamic broker
// configs and two topic configs.
inline constexpr char kLeaderThrottledRate[] = "leader.replication.throttled.rate";
inline constexpr char kFollowerThrottledRate[] = "follower.replication.throttled.rate";
inline constexpr char kLeaderThrottledReplicas[] = "leader.replication.throttled.replicas";
inline constexpr char kFollowerThrottledReplicas[] = "follower.replication.throttled.replicas";

// A throttle rate: bytes per second, a whole number >= 0 (spaces around it
// allowed). The config check and the replication quota both read it here.
absl::StatusOr<int64_t> ParseThrottledRate(std::string_view value);

// A reassignment's throttled-replica list (`leader.replication.throttled.
// replicas`, `follower.replication.throttled.replicas`), as Kafka's
// ThrottledReplicaListValidator reads it: "" (none), "*" (every replica,
// `*all` set), or comma-separated partitionId:brokerId entries, spaces
// allowed around each entry. The topic config check and the replication quota
// both read lists through it.
absl::Status ParseThrottledReplicas(std::string_view value, bool* all,
                                    std::vector<std::pair<int32_t, int32_t>>* replicas);

// The config of a topic's logs: each setting from the topic's override,
// else the broker's (its log.* keys, under the topic config names), else
// Kafka's default. Overrides were validated when they were set; one that
// does not apply is logged and skipped.
LogConfig LogConfigFor(const std::map<std::string, std::string>& broker_overrides,
                       const std::map<std::string, std::string>& topic_overrides);

// A topic config as describe-configs shows it.
struct EffectiveConfig {
  std::string value;
  bool is_default = true;  // neither the topic nor the broker set it
};

// Every topic config by name, as text: the same layering as LogConfigFor
// (topic override, else the broker's log.* setting, else Kafka's default).
std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides);

}  // namespace strata::storage
