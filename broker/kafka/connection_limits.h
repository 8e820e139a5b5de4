// ConnectionLimits: Kafka's broker-wide connection quotas (max.connections,
// max.connections.per.ip, max.connections.per.ip.overrides), shared by every
// client listener of a node (the Kafka-protocol ones, and the gRPC one
// through server::GrpcConnectionLimit), as Kafka's ConnectionQuotas counts
// connections across its listeners.
//
//   auto limits = ConnectionLimits::Create({.max_connections = 1000, ...});
//   if (std::optional<std::string> full = (*limits)->Admit("10.0.0.7")) ...close: *full names the
//   limit...
//   ...
//   (*limits)->Release("10.0.0.7");  // once per admitted connection, when it closes
//
// Overrides name an IP address or a host name; a host name is resolved at
// Create (each of its IPv4 addresses gets the limit), as Kafka resolves
// them when the configuration is read. Create fails (InvalidArgument) on a
// name that does not resolve. Thread-safe.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace strata::kafka {

class ConnectionLimits {
 public:
  struct Options {
    int32_t max_connections = INT32_MAX;
    int32_t max_connections_per_ip = INT32_MAX;
    std::map<std::string, int32_t> max_connections_per_ip_overrides;  // host -> limit
  };

  static absl::StatusOr<std::shared_ptr<ConnectionLimits>> Create(const Options& options);

  // Takes a slot for a connection from `ip`; nullopt when admitted, else
  // the limit that is full ("max.connections (50)").
  std::optional<std::string> Admit(const std::string& ip);
  // Frees the slot an admitted connection from `ip` held.
  void Release(const std::string& ip);

  // `reclaim` is called (without this object's lock held) when a limit is
  // full, before Admit gives up: a listener that learns of closed
  // connections only by looking (GrpcConnectionLimit) frees their slots
  // there, and Admit tries once more.
  void AddReclaimer(std::function<void()> reclaim);

  // Connections admitted and not yet released.
  int32_t open() const;

 private:
  ConnectionLimits(const Options& options, std::unordered_map<std::string, int32_t> overrides)
      : max_connections_(options.max_connections),
        max_per_ip_(options.max_connections_per_ip),
        overrides_(std::move(overrides)) {}

  const int32_t max_connections_;
  const int32_t max_per_ip_;
  const std::unordered_map<std::string, int32_t> overrides_;  // by IP address
  std::optional<std::string> TryAdmit(const std::string& ip);

  mutable absl::Mutex mu_;
  std::vector<std::function<void()>> reclaimers_ ABSL_GUARDED_BY(mu_);
  int32_t open_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, int32_t> open_per_ip_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::kafka
