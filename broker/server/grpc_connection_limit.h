// GrpcConnectionLimit: the gRPC client listener's own accept loop, which
// enforces max.connections and max.connections.per.ip before gRPC sees a
// connection. The limits are counted together with the Kafka listeners'
// connections (one kafka::ConnectionLimits per node), as Kafka's
// ConnectionQuotas counts every client listener's connections.
//
//   GrpcConnectionLimit limit(connection_limits);
//   RETURN_IF_ERROR(limit.Listen(builder, "PLAINTEXT", host, port, creds));  // not AddListeningPort
//   server = builder.BuildAndStart();
//   limit.Start();
//   ...
//   limit.Stop();  // before server->Shutdown
//
// The listening sockets are ours; gRPC gets the admitted connections through
// its external-connection acceptor, with the listener's credentials (TLS
// handshakes and all). A connection over a limit is closed at accept, and
// gRPC never allocates anything for it: a storm of connection attempts
// against a full limit costs a file descriptor for a moment each.
//
// gRPC does not say when a connection closes, so a slot is freed when its
// socket is found closed: each admitted socket is remembered by descriptor
// and inode, and the remembered ones are checked whenever a limit is full
// (at most every 10 ms, so a flood against a full limit does not rescan
// them at every attempt) and every 256 admissions. A socket gRPC closed
// may therefore hold its slot until an admission finds the limit full at
// least 10 ms after the last look. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "broker/kafka/connection_limits.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace strata::server {

class GrpcConnectionLimit {
 public:
  explicit GrpcConnectionLimit(std::shared_ptr<kafka::ConnectionLimits> limits);
  ~GrpcConnectionLimit();  // Stop()s
  GrpcConnectionLimit(const GrpcConnectionLimit&) = delete;
  GrpcConnectionLimit& operator=(const GrpcConnectionLimit&) = delete;

  // Binds host:port (every address `host` resolves to; all of them when
  // empty or 0.0.0.0) and registers the listener with `builder`, whose
  // connections use `credentials`. A port another socket holds is refused
  // (no SO_REUSEPORT). Port 0 picks one: see port(). Once, before
  // BuildAndStart.
  absl::Status Listen(grpc::ServerBuilder& builder, const std::string& name,
                      const std::string& host, int32_t port,
                      std::shared_ptr<grpc::ServerCredentials> credentials);

  // Starts accepting. After the server is built and started.
  void Start();
  // Stops accepting and closes the listening sockets; connections gRPC
  // holds stay until the server shuts down. Before the server's Shutdown.
  void Stop();

  // The bound port.
  int32_t port() const { return port_; }
  // Connections closed at accept so far.
  int64_t refused() const;

  struct State;

 private:
  void Run();

  std::shared_ptr<State> state_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::vector<int> listen_fds_;
  int wake_fd_ = -1;  // eventfd: Stop()
  int32_t port_ = 0;
  std::string name_;
  std::thread thread_;
};

}  // namespace strata::server
