// GrpcRequestMetrics: a gRPC server interceptor that records every call in
// metrics::Metrics::Request(<method>, "grpc"): the time from the call's
// arrival to its status (time parked in the purgatory and quota holds
// included), and whether the status was an error. The API label is the
// method's short name ("/strata.v1.Broker/Produce" -> "Produce"), which for
// the client services is Kafka's API name; the methods are those of the
// services named at construction, and any other path a client sends (gRPC
// lets a client name any) counts as api="unknown", so that no client can
// add series.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<GrpcRequestMetrics>(&metrics, {"strata.v1.Broker", ...}));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Thread-safe; `metrics` must outlive the server.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace strata::server {

class GrpcRequestMetrics final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `services`: full protobuf service names ("strata.v1.Broker").
  GrpcRequestMetrics(metrics::Metrics* metrics, const std::vector<std::string>& services);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  // By full method path ("/strata.v1.Broker/Produce"); fixed after
  // construction.
  absl::flat_hash_map<std::string, metrics::RequestMetrics*> by_method_;
  metrics::RequestMetrics* unknown_;
};

}  // namespace strata::server
