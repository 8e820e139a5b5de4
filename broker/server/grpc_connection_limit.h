// GrpcConnectionLimit: max.connections and max.connections.per.ip on a gRPC
// listener, counted together with the Kafka listeners' connections (one
// kafka::ConnectionLimits per node), as Kafka's ConnectionQuotas counts
// every client listener's connections.
//
//   GrpcConnectionLimit limit(connection_limits);
//   limit.Apply(builder);  // before BuildAndStart
//
// gRPC (1.51) has no hook for accepted connections but its socket mutator,
// which sees every accepted socket before gRPC reads from it (and before a
// TLS handshake). A connection over a limit is shut down there
// (shutdown(2): gRPC reads end-of-stream at once and drops it, holding no
// more than the transport it had just set up); the others take a slot. gRPC
// does not say when a connection closes, so a slot is freed when its
// socket is found closed: each admitted socket is remembered by
// descriptor and inode, and the remembered ones are checked whenever a
// limit is full (at most every 10 ms, so a flood against a full limit
// does not rescan them at every attempt) and every 256 admissions. A
// socket closed by gRPC may therefore hold its slot until an admission
// finds the limit full at least 10 ms after the last look.
//
// Why not returning false from the mutator: gRPC 1.51's TCP server stops
// accepting on the port when a mutator fails.
//
// The mutator's struct is gRPC's internal grpc_socket_mutator (not in
// Debian's headers); grpc_connection_limit.cc declares it as gRPC 1.51
// defines it, and tests/integration/grpc_connection_limit_test.cc proves
// it on a real server. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "broker/kafka/connection_limits.h"
#include "grpcpp/server_builder.h"

namespace strata::server {

class GrpcConnectionLimit {
 public:
  explicit GrpcConnectionLimit(std::shared_ptr<kafka::ConnectionLimits> limits);
  ~GrpcConnectionLimit();
  GrpcConnectionLimit(const GrpcConnectionLimit&) = delete;
  GrpcConnectionLimit& operator=(const GrpcConnectionLimit&) = delete;

  // Puts the limit on the listener `builder` builds. Once.
  void Apply(grpc::ServerBuilder& builder);

  // Connections shut down at accept so far.
  int64_t refused() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace strata::server
