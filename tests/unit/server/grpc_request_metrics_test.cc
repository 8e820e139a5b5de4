// GrpcRequestMetrics on a real gRPC server over loopback: a call to a
// registered service's method is counted under its short name, a path no
// service has under api="unknown" however many a client invents, and a
// failed call as an error.
#include "broker/server/grpc_request_metrics.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker/metrics/metrics.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "strata/v1/broker.pb.h"

namespace strata::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// Answers every call: OK, or INVALID_ARGUMENT for a method ending in "Fail".
class Answers : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(bool fail) {
        Finish(fail ? grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no") : grpc::Status::OK);
      }
      void OnDone() override { delete this; }
    };
    const std::string& m = ctx->method();
    return new Reactor(m.size() >= 4 && m.compare(m.size() - 4, 4, "Fail") == 0);
  }
};

grpc::Status Call(int port, const std::string& method) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::ByteBuffer request, response;
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST(GrpcRequestMetricsTest, KnownMethodsByNameAndEveryOtherPathAsUnknown) {
  // Links strata.v1.Broker's descriptor into this binary.
  ASSERT_NE(v1::ProduceRequest::descriptor(), nullptr);
  metrics::Metrics metrics;
  Answers service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<GrpcRequestMetrics>(&metrics,
                                                   std::vector<std::string>{"strata.v1.Broker"}));
  builder.experimental().SetInterceptorCreators(std::move(f));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  EXPECT_TRUE(Call(port, "/strata.v1.Broker/Produce").ok());
  EXPECT_TRUE(Call(port, "/strata.v1.Broker/Produce").ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Call(port, "/made.up/Method" + std::to_string(i)).ok());
  }
  EXPECT_FALSE(Call(port, "/made.up/Fail").ok());
  server->Shutdown(std::chrono::system_clock::now() + 2s);

  const std::string text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_count{api=\"Produce\",listener=\"grpc\"} 2"));
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_count{api=\"unknown\",listener=\"grpc\"} 6"));
  EXPECT_THAT(text, HasSubstr("strata_request_errors_total{api=\"unknown\",listener=\"grpc\"} 1"));
  EXPECT_THAT(text, HasSubstr("strata_request_errors_total{api=\"Produce\",listener=\"grpc\"} 0"));
  EXPECT_THAT(text, Not(HasSubstr("Method0")));
  EXPECT_THAT(text, Not(HasSubstr("made.up")));
  // Every method of the service has its series from the start.
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_count{api=\"Fetch\",listener=\"grpc\"} 0"));
}

}  // namespace
}  // namespace strata::server
