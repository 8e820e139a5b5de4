// --command-config FILE, as every Kafka tool that talks to the cluster takes
// it: the admin client's properties, of which Strata's tools use
// client.id, request.timeout.ms, retry.backoff.ms and the security keys
// (security.protocol, ssl.*, sasl.*: client/security_config.h). Other keys
// are accepted and ignored, as Kafka's AdminClient warns and ignores
// unknown ones.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/admin.h"
#include "client/config.h"

namespace strata::tools {

// The admin client's settings from `props`. A bad value is an error naming
// the key.
absl::StatusOr<client::AdminConfig> AdminConfigFromProperties(const std::string& bootstrap,
                                                              const client::Properties& props);

// The same from --command-config's file (none: the defaults); an unreadable
// file is an error naming it.
absl::StatusOr<client::AdminConfig> AdminConfigFor(
    const std::string& bootstrap, const std::optional<std::string>& command_config);

}  // namespace strata::tools
