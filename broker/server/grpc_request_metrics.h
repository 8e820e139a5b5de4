// GrpcRequestMetrics: a gRPC server interceptor that records every call in
// metrics::Metrics::Request(<method>, "grpc"): the time from the call's
// arrival to its status (time parked in the purgatory and quota holds
// included), and whether the status was an error. The API label is the
// method's short name ("/strata.v1.Broker/Produce" -> "Produce"), which for
// the client services is Kafka's API name.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<GrpcRequestMetrics>(&metrics));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Thread-safe; `metrics` must outlive the server.
#pragma once

#include "broker/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace strata::server {

class GrpcRequestMetrics final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcRequestMetrics(metrics::Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::Metrics* const metrics_;
};

}  // namespace strata::server
