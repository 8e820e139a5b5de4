// GrpcConnectionLimit on a real gRPC server over loopback: connections
// over max.connections are closed at accept, the slots of closed ones come
// back (to gRPC and to the Kafka listeners sharing the limits), the
// listener keeps accepting, and gRPC sees each admitted peer's address.
#include "broker/server/grpc_connection_limit.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/kafka/connection_limits.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/common/loopback.h"

namespace strata::server {
namespace {

using namespace std::chrono_literals;

int Connect(int port) { return testing::ConnectLoopback(port); }

// Whether the server closed `fd` within `wait`.
bool ClosedByServer(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

bool CallOk(int port) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 3s);
  grpc::ByteBuffer request, response;
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, "/strata.test.Ok/Call", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  const bool got = cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return got && status.ok();
}

// Answers every call OK at once; remembers the last caller's peer.
class OkService : public grpc::CallbackGenericService {
 public:
  std::string last_peer() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_peer_;
  }

 private:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_peer_ = ctx->peer();
    }
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }
    };
    return new Reactor;
  }

  std::mutex mu_;
  std::string last_peer_;
};

class GrpcConnectionLimitTest : public ::testing::Test {
 protected:
  void Start(int32_t max_connections, int32_t max_per_ip = INT32_MAX) {
    auto limits = kafka::ConnectionLimits::Create(
        {.max_connections = max_connections,
         .max_connections_per_ip = max_per_ip,
         .max_connections_per_ip_overrides = {}});
    ASSERT_TRUE(limits.ok());
    limits_ = *limits;
    limit_ = std::make_unique<GrpcConnectionLimit>(limits_);
    grpc::ServerBuilder builder;
    ASSERT_TRUE(
        limit_->Listen(builder, "PLAINTEXT", "127.0.0.1", 0, grpc::InsecureServerCredentials())
            .ok());
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    limit_->Start();
    port_ = limit_->port();
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    if (limit_) limit_->Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 2s);
  }

  // Opens n connections; returns how many the server closed at once.
  int OpenAndCountClosed(int n) {
    std::vector<int> opened;
    for (int i = 0; i < n; ++i) {
      const int fd = Connect(port_);
      if (fd >= 0) opened.push_back(fd);
    }
    int closed = 0;
    for (int fd : opened) {
      if (ClosedByServer(fd, 300ms)) {
        ::close(fd);
        ++closed;
      } else {
        fds_.push_back(fd);
      }
    }
    return closed;
  }

  std::shared_ptr<kafka::ConnectionLimits> limits_;
  std::unique_ptr<GrpcConnectionLimit> limit_;
  OkService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::vector<int> fds_;  // held open
};

TEST_F(GrpcConnectionLimitTest, ConnectionsOverTheLimitAreClosedAtAccept) {
  Start(/*max_connections=*/5);
  EXPECT_EQ(OpenAndCountClosed(20), 15);
  EXPECT_EQ(fds_.size(), 5u);
  EXPECT_EQ(limit_->refused(), 15);
  EXPECT_EQ(limits_->open(), 5);
  // Full: a gRPC client cannot get in either.
  EXPECT_FALSE(CallOk(port_));
}

TEST_F(GrpcConnectionLimitTest, ClosedConnectionsGiveTheirSlotsBack) {
  Start(/*max_connections=*/5);
  ASSERT_EQ(OpenAndCountClosed(5), 0);
  // Two leave: gRPC closes its ends; the next accept finds the limit full,
  // looks, and frees their slots.
  for (int i = 0; i < 2; ++i) {
    ::close(fds_.back());
    fds_.pop_back();
  }
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    served = CallOk(port_);
    if (!served) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(served) << "a freed slot was never given back";
  // All leave: the Kafka listeners sharing the limits get every slot
  // (Admit reclaims what gRPC closed).
  for (int fd : fds_) ::close(fd);
  fds_.clear();
  int admitted = 0;
  for (int attempt = 0; attempt < 100 && admitted < 5; ++attempt) {
    if (!limits_->Admit("127.0.0.1")) {
      ++admitted;
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_EQ(admitted, 5);
  EXPECT_TRUE(limits_->Admit("127.0.0.1").has_value()) << "more slots than max.connections";
}

TEST_F(GrpcConnectionLimitTest, PerIpLimit) {
  Start(/*max_connections=*/100, /*max_per_ip=*/3);
  EXPECT_EQ(OpenAndCountClosed(8), 5);
  EXPECT_EQ(limits_->open(), 3);
}

TEST_F(GrpcConnectionLimitTest, APortAnotherSocketHoldsIsRefused) {
  Start(INT32_MAX);
  GrpcConnectionLimit second(limits_);
  grpc::ServerBuilder builder;
  const absl::Status s =
      second.Listen(builder, "PLAINTEXT", "127.0.0.1", port_, grpc::InsecureServerCredentials());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find(std::to_string(port_)), std::string::npos) << s;
  EXPECT_TRUE(CallOk(port_)) << "the first listener lost its port";
}

TEST_F(GrpcConnectionLimitTest, GrpcSeesThePeerAddress) {
  Start(INT32_MAX);
  EXPECT_TRUE(CallOk(port_));
  EXPECT_EQ(service_.last_peer().rfind("ipv4:127.0.0.1:", 0), 0u) << service_.last_peer();
}

TEST_F(GrpcConnectionLimitTest, WithoutALimitNothingIsRefused) {
  Start(INT32_MAX);
  EXPECT_EQ(OpenAndCountClosed(50), 0);
  EXPECT_TRUE(CallOk(port_));
  EXPECT_EQ(limit_->refused(), 0);
}

}  // namespace
}  // namespace strata::server
