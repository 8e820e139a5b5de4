// SaslService: strata.v1.Sasl on a SASL_PLAINTEXT / SASL_SSL client
// listener — a thin gRPC adapter over SaslSessions (sasl_sessions.h), which
// holds the exchanges and the session tokens the listener's gate checks.
#pragma once

#include "broker/server/sasl_sessions.h"
#include "strata/v1/security.grpc.pb.h"

namespace strata::server {

class SaslService final : public v1::Sasl::CallbackService {
 public:
  // `sessions` must outlive the service.
  explicit SaslService(SaslSessions* sessions) : sessions_(sessions) {}

  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* ctx,
                                         const v1::SaslAuthenticateRequest* request,
                                         v1::SaslAuthenticateResponse* response) override;

 private:
  SaslSessions* const sessions_;
};

}  // namespace strata::server
