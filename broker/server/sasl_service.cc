#include "broker/server/sasl_service.h"

namespace strata::server {

grpc::ServerUnaryReactor* SaslService::Authenticate(grpc::CallbackServerContext* ctx,
                                                    const v1::SaslAuthenticateRequest* request,
                                                    v1::SaslAuthenticateResponse* response) {
  SaslStep step =
      sessions_->Authenticate(request->mechanism(), request->auth_bytes(), request->session_id());
  response->set_error_code(static_cast<v1::ErrorCode>(step.error));
  response->set_error_message(std::move(step.error_message));
  response->set_auth_bytes(std::move(step.auth_bytes));
  response->set_session_id(std::move(step.session_id));
  response->set_token(std::move(step.token));
  response->set_session_lifetime_ms(step.lifetime_ms);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace strata::server
