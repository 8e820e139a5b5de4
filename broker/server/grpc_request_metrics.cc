#include "broker/server/grpc_request_metrics.h"

#include <chrono>
#include <cstring>

#include "grpcpp/support/interceptor.h"

namespace strata::server {
namespace {

class Timer final : public grpc::experimental::Interceptor {
 public:
  explicit Timer(metrics::RequestMetrics* request)
      : request_(request), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
      request_->Observe(took.count(), !methods->GetSendStatus().ok());
    }
    methods->Proceed();
  }

 private:
  metrics::RequestMetrics* const request_;
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace

grpc::experimental::Interceptor* GrpcRequestMetrics::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  if (method == nullptr) return nullptr;  // gRPC's own (unregistered) calls
  const char* slash = std::strrchr(method, '/');
  return new Timer(&metrics_->Request(slash != nullptr ? slash + 1 : method, "grpc"));
}

}  // namespace strata::server
