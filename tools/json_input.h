// JSON files the tools read (reassignment plans, delete-records offsets),
// parsed with nlohmann::json and a nesting limit.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace strata::tools {

// InvalidArgument "The input string is not a valid JSON: ..." (Kafka's
// wording) for text that does not parse or nests deeper than 16 levels
// (printing such a value recurses).
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text);

}  // namespace strata::tools
