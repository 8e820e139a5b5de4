#include "tools/command_config.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/properties.h"

namespace strata::tools {

absl::StatusOr<client::AdminConfig> AdminConfigFromProperties(const std::string& bootstrap,
                                                              const client::Properties& props) {
  client::AdminConfig config;
  config.bootstrap_servers = bootstrap;
  if (auto it = props.find("client.id"); it != props.end()) config.client_id = it->second;
  for (const auto& [key, target] :
       {std::pair<const char*, absl::Duration*>{"request.timeout.ms", &config.request_timeout},
        {"retry.backoff.ms", &config.retry_backoff}}) {
    auto it = props.find(key);
    if (it == props.end()) continue;
    int64_t ms = 0;
    if (!absl::SimpleAtoi(it->second, &ms) || ms < 0 || ms > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid value ", it->second, " for configuration ", key));
    }
    *target = absl::Milliseconds(ms);
  }
  absl::StatusOr<client::SecurityConfig> security = client::SecurityConfig::FromProperties(props);
  if (!security.ok()) return security.status();
  config.security = *std::move(security);
  return config;
}

absl::StatusOr<client::AdminConfig> AdminConfigFor(
    const std::string& bootstrap, const std::optional<std::string>& command_config) {
  if (!command_config.has_value()) return AdminConfigFromProperties(bootstrap, {});
  absl::StatusOr<client::Properties> props = LoadPropertiesFile(*command_config);
  if (!props.ok()) return props.status();
  return AdminConfigFromProperties(bootstrap, *props);
}

}  // namespace strata::tools
