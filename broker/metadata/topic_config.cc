#include "broker/metadata/topic_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/numbers.h"
#include "broker/storage/log.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

absl::Status InvalidValue(std::string_view name, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("Invalid value ", std::string(value),
                                                 " for configuration ", std::string(name), ": ",
                                                 std::string(why)));
}

template <typename T>
bool Contains(const T& container, std::string_view x) {
  return std::find(container.begin(), container.end(), x) != container.end();
}

}  // namespace

const std::map<std::string, std::string>& TopicConfigDefaults() {
  static const auto* defaults = new std::map<std::string, std::string>{
      {"cleanup.policy", "delete"},
      {"compression.type", "producer"},
      {"flush.messages", "9223372036854775807"},
      {"flush.ms", "9223372036854775807"},
      {"index.interval.bytes", "4096"},
      {"max.message.bytes", "1048588"},
      {"message.timestamp.after.max.ms", "3600000"},
      {"message.timestamp.before.max.ms", "9223372036854775807"},
      {"message.timestamp.type", "CreateTime"},
      {"min.insync.replicas", "1"},
      {"retention.bytes", "-1"},
      {"retention.ms", "604800000"},
      {"segment.bytes", "1073741824"},
      {"segment.ms", "604800000"},
      {"unclean.leader.election.enable", "false"},
  };
  return *defaults;
}

absl::Status ValidateTopicConfig(std::string_view name, std::string_view value) {
  const auto& defaults = TopicConfigDefaults();
  if (!defaults.contains(std::string(name))) {
    std::vector<std::string> known;
    for (const auto& [key, _] : defaults) known.push_back(key);
    return absl::InvalidArgumentError(absl::StrCat("Unknown topic config name: ", std::string(name),
                                                   " (known: ", absl::StrJoin(known, ", "), ")"));
  }
  // Storage settings: the log's own parser is the authority.
  storage::LogConfig scratch;
  if (absl::Status s = scratch.Set(name, value); !absl::IsNotFound(s)) return s;
  if (name == "retention.ms" || name == "retention.bytes") {
    std::optional<int64_t> v = ParseInteger<int64_t>(value);
    if (!v) return InvalidValue(name, value, "Not a number of type LONG");
    if (*v < -1) return InvalidValue(name, value, "Value must be at least -1 (-1: no limit)");
    return absl::OkStatus();
  }
  if (name == "min.insync.replicas") {
    std::optional<int32_t> v = ParseInteger<int32_t>(value);
    if (!v) return InvalidValue(name, value, "Not a number of type INT");
    if (*v < 1) return InvalidValue(name, value, "Value must be at least 1");
    return absl::OkStatus();
  }
  if (name == "cleanup.policy") {
    // A list, as in Kafka: "delete", "compact" or "compact,delete".
    std::string_view rest = value;
    if (rest.empty())
      return InvalidValue(name, value, "String must be one of: compact, delete, or a list of them");
    while (true) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item != "delete" && item != "compact") {
        return InvalidValue(name, value,
                            "String must be one of: compact, delete, or a list of them");
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return absl::OkStatus();
  }
  if (name == "unclean.leader.election.enable") {
    std::string lower(value);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower != "true" && lower != "false")
      return InvalidValue(name, value, "Expected value to be either true or false");
    return absl::OkStatus();
  }
  if (name == "compression.type") {
    constexpr std::array<std::string_view, 6> kCodecs = {"uncompressed", "zstd", "lz4",
                                                         "snappy",       "gzip", "producer"};
    if (!Contains(kCodecs, value)) {
      return InvalidValue(name, value,
                          "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
    }
    return absl::OkStatus();
  }
  LOG(FATAL) << "topic config " << name << " is listed as known but has no validation";
  return absl::OkStatus();
}

}  // namespace strata::metadata
