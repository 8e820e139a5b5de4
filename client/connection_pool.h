// Bootstrap lists and the gRPC channels to cluster nodes.
//
// A client knows the cluster first through its bootstrap list
// ("h1:p1,h2:p2": any node answers any metadata or admin request), then
// through the brokers that Metadata responses name. ConnectionPool keeps one
// channel per "host:port" for the life of the client; gRPC reconnects a
// channel by itself, so a channel is never replaced. Channels authenticate
// as the client's SecurityConfig says (channel_security.h: TLS, SASL) and
// carry its client id.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/channel_security.h"
#include "client/security_config.h"
#include "grpcpp/channel.h"

namespace strata::client {

// Splits "h1:p1, h2:p2" into {"h1:p1", "h2:p2"}. Every entry needs a host and
// a numeric port; the error names the bad entry, as Kafka's
// "Invalid url in bootstrap.servers: x" does.
absl::StatusOr<std::vector<std::string>> ParseBootstrapServers(const std::string& list);

// Calls `call(target)` on each of `targets` in turn, starting at *preferred,
// until one returns something other than a network error (IsNetworkError);
// that target becomes *preferred, so the next request goes to a node that
// answered. Returns the last status: OK, a server's answer, or, when no node
// answered, the last network error with every node named.
absl::Status CallAnyNode(const std::vector<std::string>& targets, std::atomic<size_t>* preferred,
                         const std::function<absl::Status(const std::string& target)>& call);

class ConnectionPool {
 public:
  // Reads `security`'s files (ChannelSecurity::Create). When they cannot
  // be used, status() says why and no channel reaches any node: the
  // client's Create returns that error. Every call names the client as
  // `client_id` (its client.id; empty: not at all), for the nodes' quotas.
  explicit ConnectionPool(const SecurityConfig& security = SecurityConfig(),
                          const std::string& client_id = "");
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  absl::Status status() const { return security_.status(); }

  // The channel to `target` ("host:port"), created on first use.
  std::shared_ptr<grpc::Channel> Get(const std::string& target);

 private:
  const absl::StatusOr<std::shared_ptr<const ChannelSecurity>> security_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::client
