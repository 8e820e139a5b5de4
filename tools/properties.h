// key=value arguments, as Kafka's tools take them (--property, --config,
// --producer-property, --consumer-property).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/config.h"

namespace strata::tools {

// Splits each "key=value" at its first '=' (so a value may itself hold '=');
// whitespace around the key is dropped. An entry without '=' or with an empty
// key is an error naming it. With `accept_missing_value`, "key=" gives an
// empty value; otherwise it is an error ("Missing value for key k"), as in
// Kafka's CommandLineUtils.parseKeyValueArgs. Later entries win.
absl::StatusOr<client::Properties> ParseKeyValueArgs(const std::vector<std::string>& args,
                                                     bool accept_missing_value = true);

// Reads a Kafka properties file (key=value or key:value lines, # and !
// comments), for --producer.config / --consumer.config.
absl::StatusOr<client::Properties> LoadPropertiesFile(const std::string& path);

}  // namespace strata::tools
