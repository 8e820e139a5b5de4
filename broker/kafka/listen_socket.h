// BindListening: a bound, listening, non-blocking IPv4 socket for a
// listener (the Kafka listeners, the HTTP listener).
//
//   absl::StatusOr<int> fd = BindListening("KAFKA", "localhost", 29092);
//
// Port 0 picks one (getsockname tells which). Without SO_REUSEPORT: a port
// another socket holds is refused, as gRPC's are (strata_node.cc's
// RefuseSharedPort). Errors (Unavailable) name the listener and the address.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace strata::kafka {

absl::StatusOr<int> BindListening(const std::string& name, const std::string& host, int32_t port);

}  // namespace strata::kafka
