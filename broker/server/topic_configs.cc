#include "broker/server/topic_configs.h"

namespace strata::server {

std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides) {
  std::map<std::string, EffectiveConfig> out;
  for (const auto& [key, value] : storage::TopicConfigDefaults()) out[key] = {value, true};
  for (const auto& [key, value] : broker_overrides) out[key] = {value, false};
  for (const auto& [key, value] : topic_overrides) out[key] = {value, false};
  return out;
}

}  // namespace strata::server
