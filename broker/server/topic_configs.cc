#include "broker/server/topic_configs.h"

#include "glog/logging.h"

namespace strata::server {

const std::map<std::string, std::string>& TopicConfigDefaults() {
  static const auto* defaults = new std::map<std::string, std::string>{
      {"cleanup.policy", "delete"},
      {"compression.type", "producer"},
      {"flush.messages", "9223372036854775807"},
      {"flush.ms", "9223372036854775807"},
      {"index.interval.bytes", "4096"},
      {"max.message.bytes", "1048588"},
      {"message.timestamp.type", "CreateTime"},
      {"min.insync.replicas", "1"},
      {"retention.bytes", "-1"},
      {"retention.ms", "604800000"},
      {"segment.bytes", "1073741824"},
      {"segment.ms", "604800000"},
      {"unclean.leader.election.enable", "false"},
  };
  return *defaults;
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

storage::LogConfig LogConfigFor(const std::map<std::string, std::string>& broker_overrides,
                                const std::map<std::string, std::string>& topic_overrides) {
  storage::LogConfig config;
  for (const auto& [key, e] : EffectiveTopicConfigs(broker_overrides, topic_overrides)) {
    if (e.is_default) continue;
    absl::Status s = config.Set(key, e.value);
    // Keys that are not storage settings come back NotFound; values were
    // validated when they were set.
    if (!s.ok() && !absl::IsNotFound(s)) LOG(WARNING) << "Topic config " << key << ": " << s;
  }
  return config;
}

}  // namespace strata::server
