#include "tools/properties.h"

#include <fstream>
#include <string_view>

#include "fmt/format.h"

namespace strata::tools {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

absl::StatusOr<client::Properties> ParseKeyValueArgs(const std::vector<std::string>& args,
                                                     bool accept_missing_value) {
  client::Properties props;
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid command line properties: '{}' (expected key=value)", arg));
    }
    std::string key = Trim(std::string_view(arg).substr(0, eq));
    std::string value = arg.substr(eq + 1);
    if (key.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid command line properties: '{}' has no key", arg));
    }
    if (value.empty() && !accept_missing_value) {
      return absl::InvalidArgumentError(fmt::format("Missing value for key {}", key));
    }
    props[key] = value;
  }
  return props;
}

absl::StatusOr<client::Properties> LoadPropertiesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("Properties file {} does not exist or cannot be read", path));
  }
  client::Properties props;
  std::string line;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == '!') continue;
    size_t sep = t.find_first_of("=:");
    if (sep == std::string::npos) {
      props[t] = "";
      continue;
    }
    props[Trim(std::string_view(t).substr(0, sep))] = Trim(std::string_view(t).substr(sep + 1));
  }
  return props;
}

}  // namespace strata::tools
