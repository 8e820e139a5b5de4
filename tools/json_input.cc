#include "tools/json_input.h"

#include <stdexcept>
#include <string>

namespace strata::tools {

using nlohmann::json;

absl::StatusOr<json> ParseJson(std::string_view text) {
  constexpr int kMaxDepth = 16;
  auto depth_limit = [](int depth, json::parse_event_t event, json&) {
    if (depth > kMaxDepth &&
        (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start)) {
      throw std::invalid_argument("JSON nested deeper than 16 levels");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), depth_limit);
  } catch (const json::exception& e) {
    // Syntax errors and numbers out of range alike:
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string what = e.what();
    if (size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return absl::InvalidArgumentError("The input string is not a valid JSON: " + what);
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(std::string("The input string is not a valid JSON: ") +
                                      e.what());
  }
}

}  // namespace strata::tools
