#include "broker/storage/log_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/common/numbers.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

// This abseil's string_view is its own type, not std::string_view.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Kafka's ConfigException wording, which operators and tools know.
absl::Status InvalidValue(std::string_view name, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("Invalid value ", AbslView(value),
                                                 " for configuration ", AbslView(name), ": ",
                                                 AbslView(why)));
}

// A number of Kafka's type `T` (INT: int32_t, LONG: int64_t) of at least
// `min`, stored in `field` (which may be wider).
template <typename T>
absl::Status SetAtLeast(std::string_view name, std::string_view value, T min, auto* field,
                        std::string_view note = "") {
  constexpr const char* kType = sizeof(T) == 4 ? "INT" : "LONG";
  std::optional<T> v = ParseInteger<T>(value);
  if (!v) return InvalidValue(name, value, absl::StrCat("Not a number of type ", kType));
  if (*v < min)
    return InvalidValue(name, value, absl::StrCat("Value must be at least ", min, AbslView(note)));
  *field = *v;
  return absl::OkStatus();
}

absl::Status SetInt(std::string_view name, std::string_view value, int32_t min, auto* field) {
  return SetAtLeast<int32_t>(name, value, min, field);
}
absl::Status SetLong(std::string_view name, std::string_view value, int64_t min, auto* field,
                     std::string_view note = "") {
  return SetAtLeast<int64_t>(name, value, min, field, note);
}

// One of a fixed set of strings, case-sensitive as in Kafka.
template <typename E, size_t N>
absl::Status SetChoice(std::string_view name, std::string_view value,
                       const std::array<std::pair<std::string_view, E>, N>& choices, E* field) {
  for (const auto& [text, e] : choices) {
    if (value == text) {
      *field = e;
      return absl::OkStatus();
    }
  }
  std::vector<std::string> allowed;
  for (const auto& [text, e] : choices) allowed.emplace_back(text);
  return InvalidValue(name, value,
                      absl::StrCat("String must be one of: ", absl::StrJoin(allowed, ", ")));
}

// cleanup.policy is a list, as in Kafka: "delete", "compact", or both.
absl::Status SetCleanupPolicy(std::string_view name, std::string_view value, CleanupPolicy* field) {
  bool del = false;
  bool compact = false;
  for (absl::string_view item : absl::StrSplit(AbslView(value), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item == "delete") {
      del = true;
    } else if (item == "compact") {
      compact = true;
    } else {
      // Kafka's ValidList names the item it refuses.
      return InvalidValue(name, std::string_view(item.data(), item.size()),
                          "String must be one of: compact, delete");
    }
  }
  *field = del && compact ? CleanupPolicy::kCompactAndDelete
           : compact      ? CleanupPolicy::kCompact
                          : CleanupPolicy::kDelete;
  return absl::OkStatus();
}

absl::Status SetBoolean(std::string_view name, std::string_view value, bool* field) {
  if (absl::EqualsIgnoreCase(AbslView(value), "true")) {
    *field = true;
  } else if (absl::EqualsIgnoreCase(AbslView(value), "false")) {
    *field = false;
  } else {
    return InvalidValue(name, value, "Expected value to be either true or false");
  }
  return absl::OkStatus();
}

absl::Status SetRatio(std::string_view name, std::string_view value, double* field) {
  double v = 0;
  if (!absl::SimpleAtod(AbslView(value), &v) || !std::isfinite(v)) {
    return InvalidValue(name, value, "Not a number of type DOUBLE");
  }
  if (v < 0 || v > 1) return InvalidValue(name, value, "Value must be between 0 and 1");
  *field = v;
  return absl::OkStatus();
}

constexpr std::array<std::pair<std::string_view, record::TimestampType>, 2> kTimestampTypes = {{
    {"CreateTime", record::TimestampType::kCreateTime},
    {"LogAppendTime", record::TimestampType::kLogAppendTime},
}};

constexpr std::array<std::pair<std::string_view, BrokerCompressionType>, 6> kCompressionTypes = {{
    {"uncompressed", BrokerCompressionType::kUncompressed},
    {"zstd", BrokerCompressionType::kZstd},
    {"lz4", BrokerCompressionType::kLz4},
    {"snappy", BrokerCompressionType::kSnappy},
    {"gzip", BrokerCompressionType::kGzip},
    {"producer", BrokerCompressionType::kProducer},
}};

// One topic config: its name, Kafka's default, and how a value is checked
// and stored.
struct TopicConfigDef {
  std::string_view name;
  std::string_view kafka_default;
  absl::Status (*set)(std::string_view name, std::string_view value, LogConfig& c);
};

// Every topic config Strata knows, by name. Ranges are Kafka's, except
// where Strata's own format bounds them (said so).
absl::Status CheckThrottledReplicas(std::string_view name, std::string_view value) {
  bool all = false;
  std::vector<std::pair<int32_t, int32_t>> replicas;
  if (absl::Status s = ParseThrottledReplicas(value, &all, &replicas); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("Invalid value ", AbslView(value),
                                                   " for configuration ", AbslView(name), ": ",
                                                   s.message()));
  }
  return absl::OkStatus();
}

constexpr TopicConfigDef kTopicConfigs[] = {
    {"cleanup.policy", "delete",
     [](auto n, auto v, LogConfig& c) { return SetCleanupPolicy(n, v, &c.cleanup_policy); }},
    {"compression.type", "producer",
     [](auto n, auto v, LogConfig& c) {
       return SetChoice(n, v, kCompressionTypes, &c.compression_type);
     }},
    {"delete.retention.ms", "86400000",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 0, &c.delete_retention_ms); }},
    {"file.delete.delay.ms", "60000",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 0, &c.file_delete_delay_ms); }},
    {"flush.messages", "9223372036854775807",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 1, &c.flush_messages); }},
    {"flush.ms", "9223372036854775807",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 0, &c.flush_ms); }},
    {kFollowerThrottledReplicas, "",
     [](auto n, auto v, LogConfig&) { return CheckThrottledReplicas(n, v); }},
    {"index.interval.bytes", "4096",
     [](auto n, auto v, LogConfig& c) { return SetInt(n, v, 0, &c.index_interval_bytes); }},
    {kLeaderThrottledReplicas, "",
     [](auto n, auto v, LogConfig&) { return CheckThrottledReplicas(n, v); }},
    {"max.compaction.lag.ms", "9223372036854775807",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 1, &c.max_compaction_lag_ms); }},
    {"max.message.bytes", "1048588",
     [](auto n, auto v, LogConfig& c) { return SetInt(n, v, 0, &c.max_message_bytes); }},
    {"message.timestamp.after.max.ms", "3600000",
     [](auto n, auto v, LogConfig& c) {
       return SetLong(n, v, 0, &c.message_timestamp_after_max_ms);
     }},
    {"message.timestamp.before.max.ms", "9223372036854775807",
     [](auto n, auto v, LogConfig& c) {
       return SetLong(n, v, 0, &c.message_timestamp_before_max_ms);
     }},
    {"message.timestamp.type", "CreateTime",
     [](auto n, auto v, LogConfig& c) {
       return SetChoice(n, v, kTimestampTypes, &c.message_timestamp_type);
     }},
    {"min.cleanable.dirty.ratio", "0.5",
     [](auto n, auto v, LogConfig& c) { return SetRatio(n, v, &c.min_cleanable_dirty_ratio); }},
    {"min.compaction.lag.ms", "0",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 0, &c.min_compaction_lag_ms); }},
    {"min.insync.replicas", "1",
     [](auto n, auto v, LogConfig& c) { return SetInt(n, v, 1, &c.min_insync_replicas); }},
    // Any LONG, as in Kafka: a negative size means no limit.
    {"retention.bytes", "-1",
     [](auto n, auto v, LogConfig& c) {
       return SetLong(n, v, std::numeric_limits<int64_t>::min(), &c.retention_bytes);
     }},
    {"retention.ms", "604800000",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, -1, &c.retention_ms); }},
    // An INT, as in Kafka, which also keeps positions in a segment's index
    // (32-bit) in range.
    {"segment.bytes", "1073741824",
     [](auto n, auto v, LogConfig& c) { return SetInt(n, v, 14, &c.segment_bytes); }},
    {"segment.jitter.ms", "0",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 0, &c.segment_jitter_ms); }},
    {"segment.ms", "604800000",
     [](auto n, auto v, LogConfig& c) { return SetLong(n, v, 1, &c.segment_ms); }},
    {"unclean.leader.election.enable", "false",
     [](auto n, auto v, LogConfig& c) {
       return SetBoolean(n, v, &c.unclean_leader_election_enable);
     }},
};

const TopicConfigDef* FindTopicConfig(std::string_view name) {
  for (const TopicConfigDef& def : kTopicConfigs) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

}  // namespace

absl::Status LogConfig::Set(std::string_view name, std::string_view value) {
  const TopicConfigDef* def = FindTopicConfig(name);
  if (def == nullptr) {
    std::vector<std::string> known;
    for (const TopicConfigDef& d : kTopicConfigs) known.emplace_back(d.name);
    return absl::InvalidArgumentError(absl::StrCat("Unknown topic config name: ", AbslView(name),
                                                   " (known: ", absl::StrJoin(known, ", "), ")"));
  }
  return def->set(name, value, *this);
}

const std::map<std::string, std::string>& TopicConfigDefaults() {
  static const auto* defaults = [] {
    auto* m = new std::map<std::string, std::string>;
    for (const TopicConfigDef& def : kTopicConfigs) {
      m->emplace(std::string(def.name), std::string(def.kafka_default));
    }
    return m;
  }();
  return *defaults;
}

absl::StatusOr<int64_t> ParseThrottledRate(std::string_view value) {
  int64_t rate = -1;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(AbslView(value)), &rate) || rate < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", AbslView(value), "' is not a rate in bytes/s (a whole number >= 0)"));
  }
  return rate;
}

absl::Status ParseThrottledReplicas(std::string_view value, bool* all,
                                    std::vector<std::pair<int32_t, int32_t>>* replicas) {
  *all = false;
  replicas->clear();
  const absl::string_view trimmed = absl::StripAsciiWhitespace(AbslView(value));
  if (trimmed == "*") {
    *all = true;
    return absl::OkStatus();
  }
  auto digits = [](absl::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
  };
  for (absl::string_view entry : absl::StrSplit(trimmed, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    int32_t partition = -1;
    int32_t broker = -1;
    if (parts.size() != 2 || !digits(parts[0]) || !digits(parts[1]) ||
        !absl::SimpleAtoi(parts[0], &partition) || !absl::SimpleAtoi(parts[1], &broker)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry,
                       "' is not partitionId:brokerId; a throttled replicas list is '*' or "
                       "comma-separated partitionId:brokerId entries, as in '0:101,0:102,1:101'"));
    }
    replicas->emplace_back(partition, broker);
  }
  return absl::OkStatus();
}

absl::Status ValidateTopicConfig(std::string_view name, std::string_view value) {
  LogConfig scratch;
  return scratch.Set(name, value);
}

LogConfig LogConfigFor(const std::map<std::string, std::string>& broker_overrides,
                       const std::map<std::string, std::string>& topic_overrides) {
  LogConfig config;
  // The topic's own setting goes last, so it wins.
  for (const auto* overrides : {&broker_overrides, &topic_overrides}) {
    for (const auto& [name, value] : *overrides) {
      if (absl::Status s = config.Set(name, value); !s.ok()) {
        LOG(WARNING) << "Topic config " << name << " not applied: " << s;
      }
    }
  }
  return config;
}

std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides) {
  std::map<std::string, EffectiveConfig> out;
  for (const auto& [key, value] : TopicConfigDefaults()) out[key] = {value, true};
  for (const auto& [key, value] : broker_overrides) out[key] = {value, false};
  for (const auto& [key, value] : topic_overrides) out[key] = {value, false};
  return out;
}

}  // namespace strata::storage
