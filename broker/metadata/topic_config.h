// Topic configs: the names Strata knows with Kafka's default values, and
// their validation. One list serves the controller (which refuses unknown
// names and bad values), the server (which shows effective values) and the
// broker config parser (whose log.* keys default them).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace strata::metadata {

// Every topic config Strata knows, by name, with Kafka's default value.
const std::map<std::string, std::string>& TopicConfigDefaults();

// OK when `value` is valid for topic config `name`; otherwise
// InvalidArgument naming both (unknown names included).
absl::Status ValidateTopicConfig(std::string_view name, std::string_view value);

}  // namespace strata::metadata
