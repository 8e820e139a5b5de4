#include "broker/metadata/dynamic_config.h"

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

// This abseil's string_view is its own type, not std::string_view.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A stored config that is not applied, logged the first time it is met
// (each image asks again; the log says it once).
void WarnInvalidOnce(const std::string& resource, std::string_view name, std::string_view value,
                     const absl::Status& why) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* warned = new std::set<std::string>;
  std::string key = absl::StrCat(resource, "\n", AbslView(name), "\n", AbslView(value));
  {
    absl::MutexLock l(&mu);
    if (!warned->insert(std::move(key)).second) return;
  }
  LOG(WARNING) << "Stored config " << name << "=" << value << " of " << resource
               << " is not applied (the level below it is): " << why.message();
}

std::optional<std::string> Find(const std::map<std::string, std::string>& m, std::string_view key) {
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::nullopt;
  return it->second;
}

const std::map<std::string, std::string>& Resource(const MetadataImage& image,
                                                   const std::string& name) {
  static const auto* kNone = new std::map<std::string, std::string>;
  auto it = image.broker_configs().find(name);
  return it == image.broker_configs().end() ? *kNone : it->second;
}

std::string BrokerResourceName(const std::string& resource) {
  return resource.empty() ? "the cluster-wide broker default" : absl::StrCat("broker ", resource);
}

// The broker-level synonyms of topic config `topic_config`, by source then
// broker name, cut before the first one named `first` (Kafka's
// dropWhile). `per_broker`: the broker's own dynamic configs count.
std::vector<ConfigSynonym> BrokerSynonyms(
    std::string_view topic_config, std::string_view first,
    const std::map<std::string, std::string>* per_broker,
    const std::map<std::string, std::string>& cluster_default,
    const std::map<std::string, std::string>& static_log_overrides) {
  std::vector<const BrokerLogConfig*> names;
  for (const BrokerLogConfig& c : BrokerLogConfigs()) {
    if (c.topic_config == topic_config) names.push_back(&c);
  }
  std::vector<ConfigSynonym> all;
  auto dynamic_level = [&](const std::map<std::string, std::string>& level, ConfigSource source) {
    for (const BrokerLogConfig* c : names) {
      if (auto v = Find(level, c->name)) all.push_back({std::string(c->name), *v, source});
    }
  };
  if (per_broker != nullptr) dynamic_level(*per_broker, ConfigSource::kDynamicBroker);
  dynamic_level(cluster_default, ConfigSource::kDynamicDefaultBroker);
  if (auto v = Find(static_log_overrides, topic_config)) {
    // Under its dynamic broker name; a topic config without one under its own.
    std::string_view name = DynamicBrokerNameOf(topic_config);
    all.push_back(
        {std::string(name.empty() ? topic_config : name), *v, ConfigSource::kStaticBroker});
  }
  for (const BrokerLogConfig* c : names) {
    if (!c->kafka_default.empty()) {
      all.push_back({std::string(c->name), std::string(c->kafka_default), ConfigSource::kDefault});
    }
  }
  auto it = all.begin();
  while (it != all.end() && it->name != first) ++it;
  return std::vector<ConfigSynonym>(it, all.end());
}

// unclean.leader.election.enable at one level: nullopt when unset there or
// not a boolean (then skipped).
std::optional<bool> UncleanAt(const std::map<std::string, std::string>& level,
                              const std::string& resource) {
  constexpr char kKey[] = "unclean.leader.election.enable";
  auto it = level.find(kKey);
  if (it == level.end()) return std::nullopt;
  if (absl::EqualsIgnoreCase(it->second, "true")) return true;
  if (absl::EqualsIgnoreCase(it->second, "false")) return false;
  WarnInvalidOnce(resource, kKey, it->second,
                  absl::InvalidArgumentError("Expected value to be either true or false"));
  return std::nullopt;
}

}  // namespace

const std::vector<BrokerLogConfig>& BrokerLogConfigs() {
  static const auto* configs = new std::vector<BrokerLogConfig>{
      {"log.cleanup.policy", "cleanup.policy", true, "delete"},
      {"compression.type", "compression.type", true, "producer"},
      {"log.cleaner.delete.retention.ms", "delete.retention.ms", true, "86400000"},
      {"log.segment.delete.delay.ms", "file.delete.delay.ms", true, "60000"},
      {"log.flush.interval.messages", "flush.messages", true, "9223372036854775807"},
      {"log.flush.interval.ms", "flush.ms", true, ""},
      {"log.flush.scheduler.interval.ms", "flush.ms", false, "9223372036854775807"},
      {"log.index.interval.bytes", "index.interval.bytes", true, "4096"},
      {"log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms", true, "9223372036854775807"},
      {"message.max.bytes", "max.message.bytes", true, "1048588"},
      {"log.message.timestamp.after.max.ms", "message.timestamp.after.max.ms", true, "3600000"},
      {"log.message.timestamp.before.max.ms", "message.timestamp.before.max.ms", true,
       "9223372036854775807"},
      {"log.message.timestamp.type", "message.timestamp.type", true, "CreateTime"},
      {"log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio", true, "0.5"},
      {"log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms", true, "0"},
      {"min.insync.replicas", "min.insync.replicas", true, "1"},
      {"log.retention.bytes", "retention.bytes", true, "-1"},
      {"log.retention.ms", "retention.ms", true, ""},
      {"log.retention.minutes", "retention.ms", false, ""},
      {"log.retention.hours", "retention.ms", false, "168"},
      {"log.segment.bytes", "segment.bytes", true, "1073741824"},
      {"log.roll.jitter.ms", "segment.jitter.ms", true, ""},
      {"log.roll.jitter.hours", "segment.jitter.ms", false, "0"},
      {"log.roll.ms", "segment.ms", true, ""},
      {"log.roll.hours", "segment.ms", false, "168"},
      {"unclean.leader.election.enable", "unclean.leader.election.enable", true, "false"},
  };
  return *configs;
}

const BrokerLogConfig* FindBrokerLogConfig(std::string_view name) {
  for (const BrokerLogConfig& c : BrokerLogConfigs()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string_view DynamicBrokerNameOf(std::string_view topic_config) {
  for (const BrokerLogConfig& c : BrokerLogConfigs()) {
    if (c.topic_config == topic_config && c.dynamic) return c.name;
  }
  return {};
}

bool IsListTopicConfig(std::string_view name) {
  return name == "cleanup.policy" || name == storage::kLeaderThrottledReplicas ||
         name == storage::kFollowerThrottledReplicas;
}

bool IsListBrokerConfig(std::string_view name) {
  const BrokerLogConfig* c = FindBrokerLogConfig(name);
  return c != nullptr && IsListTopicConfig(c->topic_config);
}

absl::Status ValidateDynamicBrokerConfigName(const std::string& name) {
  if (name == storage::kLeaderThrottledRate || name == storage::kFollowerThrottledRate) {
    return absl::OkStatus();
  }
  const BrokerLogConfig* c = FindBrokerLogConfig(name);
  if (c != nullptr && c->dynamic) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("Cannot update these configs dynamically: Set(", name, ")"));
}

absl::Status ValidateDynamicBrokerConfig(const std::string& name, const std::string& value) {
  if (name == storage::kLeaderThrottledRate || name == storage::kFollowerThrottledRate) {
    absl::StatusOr<int64_t> rate = storage::ParseThrottledRate(value);
    if (!rate.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("Invalid value ", value, " for configuration ",
                                                     name, ": ", rate.status().message()));
    }
    return absl::OkStatus();
  }
  if (absl::Status s = ValidateDynamicBrokerConfigName(name); !s.ok()) return s;
  const BrokerLogConfig* c = FindBrokerLogConfig(name);
  absl::Status s = storage::ValidateTopicConfig(c->topic_config, value);
  if (s.ok()) return s;
  // The topic config's checks, under the broker name.
  std::string message(s.message());
  const std::string as_topic = absl::StrCat(" for configuration ", AbslView(c->topic_config), ":");
  if (size_t at = message.find(as_topic); at != std::string::npos) {
    message.replace(at, as_topic.size(), absl::StrCat(" for configuration ", name, ":"));
  }
  return absl::InvalidArgumentError(message);
}

absl::Status ValidateTopicConfigSet(const std::map<std::string, std::string>& configs) {
  storage::LogConfig c;
  for (const auto& [name, value] : configs) {
    // Each was checked alone; one that is not valid is not applied either.
    c.Set(name, value).IgnoreError();
  }
  if (c.min_compaction_lag_ms > c.max_compaction_lag_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conflict topic config setting min.compaction.lag.ms (", c.min_compaction_lag_ms,
        ") > max.compaction.lag.ms (", c.max_compaction_lag_ms, ")"));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> BrokerLogDefaults(
    const std::map<std::string, std::string>& static_log_overrides, const MetadataImage& image,
    int32_t broker_id) {
  std::map<std::string, std::string> out = static_log_overrides;
  for (const std::string& resource : {std::string(), absl::StrCat(broker_id)}) {
    for (const auto& [name, value] : Resource(image, resource)) {
      const BrokerLogConfig* c = FindBrokerLogConfig(name);
      if (c == nullptr || !c->dynamic) continue;
      if (absl::Status s = storage::ValidateTopicConfig(c->topic_config, value); !s.ok()) {
        WarnInvalidOnce(BrokerResourceName(resource), name, value, s);
        continue;
      }
      out[std::string(c->topic_config)] = value;
    }
  }
  return out;
}

storage::LogConfig TopicLogConfig(const std::map<std::string, std::string>& broker_defaults,
                                  const TopicInfo& topic) {
  std::map<std::string, std::string> own;
  for (const auto& [name, value] : topic.configs) {
    if (absl::Status s = storage::ValidateTopicConfig(name, value); !s.ok()) {
      WarnInvalidOnce(absl::StrCat("topic ", topic.name), name, value, s);
      continue;
    }
    own.emplace(name, value);
  }
  return storage::LogConfigFor(broker_defaults, own);
}

BrokerLogDefaultsCache::BrokerLogDefaultsCache(
    std::map<std::string, std::string> static_log_overrides, int32_t broker_id)
    : static_log_overrides_(std::move(static_log_overrides)), broker_id_(broker_id) {}

std::shared_ptr<const std::map<std::string, std::string>> BrokerLogDefaultsCache::For(
    const MetadataImage& image) {
  absl::MutexLock l(&mu_);
  if (!cached_ || offset_ != image.offset()) {
    defaults_ = std::make_shared<const std::map<std::string, std::string>>(
        BrokerLogDefaults(static_log_overrides_, image, broker_id_));
    offset_ = image.offset();
    cached_ = true;
  }
  return defaults_;
}

bool UncleanLeaderElectionEnabled(const MetadataImage& image, const TopicInfo& topic,
                                  int32_t controller_id, bool static_enable) {
  if (auto v = UncleanAt(topic.configs, absl::StrCat("topic ", topic.name))) return *v;
  const std::string node = absl::StrCat(controller_id);
  if (auto v = UncleanAt(Resource(image, node), BrokerResourceName(node))) return *v;
  if (auto v = UncleanAt(Resource(image, ""), BrokerResourceName(""))) return *v;
  return static_enable;
}

bool UncleanTruncationAllowed(const MetadataImage& image, const TopicInfo& topic,
                              const std::vector<int32_t>& controller_ids, bool static_enable) {
  if (controller_ids.empty()) return UncleanLeaderElectionEnabled(image, topic, -1, static_enable);
  for (int32_t id : controller_ids) {
    if (UncleanLeaderElectionEnabled(image, topic, id, static_enable)) return true;
  }
  return false;
}

std::vector<DescribedConfig> DescribeTopicConfigs(
    const TopicInfo& topic, const MetadataImage& image, int32_t broker_id,
    const std::map<std::string, std::string>& static_log_overrides) {
  const auto& per_broker = Resource(image, absl::StrCat(broker_id));
  const auto& cluster_default = Resource(image, "");
  std::vector<DescribedConfig> out;
  for (const auto& [name, kafka_default] : storage::TopicConfigDefaults()) {
    DescribedConfig d;
    d.name = name;
    std::string_view broker_name = DynamicBrokerNameOf(name);
    if (auto v = Find(topic.configs, name)) {
      d.synonyms.push_back({name, *v, ConfigSource::kDynamicTopic});
    }
    std::vector<ConfigSynonym> broker =
        BrokerSynonyms(name, broker_name.empty() ? std::string_view(name) : broker_name,
                       &per_broker, cluster_default, static_log_overrides);
    d.synonyms.insert(d.synonyms.end(), broker.begin(), broker.end());
    if (d.synonyms.empty()) {
      d.value = kafka_default;
      d.source = ConfigSource::kDefault;
    } else {
      d.value = d.synonyms.front().value;
      d.source = d.synonyms.front().source;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<DescribedConfig> DescribeBrokerConfigs(
    const std::string& resource, const MetadataImage& image,
    const std::map<std::string, std::string>& static_log_overrides) {
  const bool cluster = resource.empty();
  const auto& per_broker = Resource(image, resource);
  const auto& cluster_default = Resource(image, "");
  std::vector<DescribedConfig> out;
  auto add = [&](const std::string& name, std::vector<ConfigSynonym> synonyms, bool read_only) {
    if (synonyms.empty()) return;
    DescribedConfig d;
    d.name = name;
    d.value = synonyms.front().value;
    d.source = synonyms.front().source;
    d.read_only = read_only;
    // The cluster default keeps only the synonyms set there.
    if (cluster) {
      std::erase_if(synonyms, [](const ConfigSynonym& s) {
        return s.source != ConfigSource::kDynamicDefaultBroker;
      });
    }
    d.synonyms = std::move(synonyms);
    out.push_back(std::move(d));
  };
  for (const BrokerLogConfig& c : BrokerLogConfigs()) {
    if (cluster && !cluster_default.contains(std::string(c.name))) continue;
    add(std::string(c.name),
        BrokerSynonyms(c.topic_config, c.name, cluster ? nullptr : &per_broker, cluster_default,
                       static_log_overrides),
        !c.dynamic);
  }
  // Dynamic configs that stand for no topic config (the throttle rates).
  std::map<std::string, std::vector<ConfigSynonym>> others;
  if (!cluster) {
    for (const auto& [name, value] : per_broker) {
      if (FindBrokerLogConfig(name) == nullptr) {
        others[name].push_back({name, value, ConfigSource::kDynamicBroker});
      }
    }
  }
  for (const auto& [name, value] : cluster_default) {
    if (FindBrokerLogConfig(name) == nullptr) {
      others[name].push_back({name, value, ConfigSource::kDynamicDefaultBroker});
    }
  }
  for (auto& [name, synonyms] : others) add(name, std::move(synonyms), false);
  return out;
}

}  // namespace strata::metadata
