#include "broker/server/grpc_request_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "google/protobuf/descriptor.h"
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

GrpcRequestMetrics::GrpcRequestMetrics(metrics::Metrics* metrics,
                                       const std::vector<std::string>& services)
    : unknown_(&metrics->Request("unknown", "grpc")) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    CHECK(service != nullptr) << "no service " << name << " in the generated protos";
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string& method = service->method(i)->name();
      by_method_[absl::StrCat("/", name, "/", method)] = &metrics->Request(method, "grpc");
    }
  }
}

grpc::experimental::Interceptor* GrpcRequestMetrics::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  if (method == nullptr) return new Timer(unknown_);
  auto it = by_method_.find(absl::string_view(method));
  return new Timer(it != by_method_.end() ? it->second : unknown_);
}

}  // namespace strata::server
