// The effective config of a topic: topic override, else the broker's log.*
// setting, else Kafka's default (metadata/topic_config.h).
#pragma once

#include <map>
#include <string>

#include "broker/storage/log.h"

namespace strata::server {

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
