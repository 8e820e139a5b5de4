// What every client gRPC service needs for authorization and quotas: the
// node's AccessControl and Throttler, and the listener the service is
// served on. A service builds the caller's session from the call
// (GrpcSession) and calls the request layer through request::Authorized,
// as the Kafka listener's adapters do, so both doors check the same way.
// Default-constructed: no authorizer, no quotas (tests, and nodes without
// security).
#pragma once

#include <string>

#include "broker/request/access_control.h"
#include "broker/request/authorized.h"
#include "broker/request/throttler.h"
#include "broker/server/grpc_security.h"

namespace strata::server {

struct ServiceSecurity {
  const request::AccessControl* access = nullptr;
  request::Throttler* throttler = nullptr;
  std::string listener = "PLAINTEXT";

  security::Session Session(const grpc::ServerContextBase* ctx) const {
    return GrpcSession(ctx, listener);
  }
  request::Authorized Authz(const grpc::ServerContextBase* ctx) const {
    // Without an authorizer the session is not needed: skip building it.
    if (access == nullptr || !access->enabled()) return request::Authorized(nullptr, {});
    return request::Authorized(access, Session(ctx));
  }
  // The session when a quota may apply to it (the throttler needs it),
  // else an empty one: no quota, no session built on the hot path.
  security::Session QuotaSession(const grpc::ServerContextBase* ctx) const {
    return throttler == nullptr || !throttler->active() ? security::Session{} : Session(ctx);
  }
};

}  // namespace strata::server
