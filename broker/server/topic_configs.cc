#include "broker/server/topic_configs.h"

#include "broker/metadata/topic_config.h"
#include "glog/logging.h"

namespace strata::server {

std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides) {
  std::map<std::string, EffectiveConfig> out;
  for (const auto& [key, value] : metadata::TopicConfigDefaults()) out[key] = {value, true};
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
