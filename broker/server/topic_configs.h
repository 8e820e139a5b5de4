// Topic configs: Kafka's defaults, and the effective config of a topic —
// topic override, else the broker's log.* setting, else the default.
#pragma once

#include <map>
#include <string>

#include "broker/storage/log.h"

namespace strata::server {

// Every topic config Strata knows, with Kafka's default value.
const std::map<std::string, std::string>& TopicConfigDefaults();

struct EffectiveConfig {
  std::string value;
  bool is_default = true;  // neither the topic nor the broker set it
};

std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides);

// The storage settings of a topic's logs.
storage::LogConfig LogConfigFor(const std::map<std::string, std::string>& broker_overrides,
                                const std::map<std::string, std::string>& topic_overrides);

}  // namespace strata::server
