// What describe-configs shows of a topic: every topic config with its
// effective value and whether it is Kafka's default. The names, defaults
// and validation live in one table, storage/log_config.h.
#pragma once

#include <map>
#include <string>

#include "broker/storage/log_config.h"

namespace strata::server {

struct EffectiveConfig {
  std::string value;
  bool is_default = true;  // neither the topic nor the broker set it
};

// Topic override, else the broker's log.* setting, else Kafka's default.
std::map<std::string, EffectiveConfig> EffectiveTopicConfigs(
    const std::map<std::string, std::string>& broker_overrides,
    const std::map<std::string, std::string>& topic_overrides);

}  // namespace strata::server
