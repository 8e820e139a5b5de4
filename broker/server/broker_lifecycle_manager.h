// BrokerLifecycleManager: this broker's standing with the controller, as
// Kafka's BrokerLifecycleManager keeps it.
//
//   register (broker id, incarnation id, endpoints, replica capacity)
//     -> broker epoch; the controller fences the broker until it catches up
//   heartbeat every broker.heartbeat.interval.ms (faster while fenced):
//     metadata offset applied, offline replicas, want-shutdown
//   STALE_BROKER_EPOCH (the controller forgot or fenced this registration,
//     e.g. after a session timeout): register again
//   controlled shutdown: heartbeat with want_shutdown until the controller
//     answers should_shutdown (it has moved every leadership away), then
//     wait until this broker has applied that, so the produce requests it
//     holds learn it no longer leads and clients retry elsewhere.
//
// Calls go to whichever node the ControllerChannel names the controller.
// Time is read only through the injected Clock (the give-up deadlines);
// the pauses between calls are real waits.
//
// Thread-safe. Start() runs the loop on a thread of its own; Stop() ends it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/common/clock.h"
#include "strata/internal/controller.pb.h"

namespace strata::server {

class ControllerChannel;
struct ServerConfig;

// Where clients and peers reach this broker, as it registers and the
// controller publishes it: every listener (PLAINTEXT, CONTROLLER, KAFKA,
// ...) at its advertised address, with its security protocol; an empty or
// 0.0.0.0 host becomes localhost.
std::vector<internal::BrokerEndpoint> AdvertisedEndpoints(const ServerConfig& config);

struct BrokerLifecycleOptions {
  int32_t broker_id = -1;
  // New on every start: the controller tells this process's registration
  // from an earlier one's.
  std::string incarnation_id;
  std::vector<internal::BrokerEndpoint> endpoints;
  // How many partition replicas this broker can hold (0: no limit known).
  int64_t replica_capacity = 0;
  int64_t heartbeat_interval_ms = 2000;
  // How far this broker has applied the metadata log.
  std::function<int64_t()> metadata_offset;
  // Replicas this broker cannot serve, as (topic id, partition).
  std::function<std::vector<std::pair<std::string, int32_t>>()> offline_replicas;
  // Controlled shutdown, once granted: blocks at most `timeout` for the
  // replica state to change, and says whether this broker now leads
  // nothing. Null: nothing to wait for.
  std::function<bool(absl::Duration timeout)> await_no_leaderships;
};

class BrokerLifecycleManager {
 public:
  // How long a controlled shutdown waits for the controller's grant, or for
  // any controller at all (the last nodes of a cluster going down have no
  // quorum to ask), and then for this broker to apply it.
  static constexpr int64_t kShutdownGrantTimeoutMs = 10000;
  static constexpr int64_t kShutdownLeaderlessTimeoutMs = 1000;
  static constexpr int64_t kShutdownApplyTimeoutMs = 5000;

  // `controller` and `clock` must outlive this manager.
  BrokerLifecycleManager(BrokerLifecycleOptions options, ControllerChannel* controller,
                         Clock* clock);
  ~BrokerLifecycleManager();

  void Start();
  // Ends the loop (waiting for a call in flight, bounded by its deadline).
  void Stop();

  // The epoch of the current registration; -1 before the first one.
  int64_t broker_epoch() const;
  bool fenced() const;
  // A replica went offline: tell the controller now, not at the next beat.
  void HeartbeatNow();
  // Runs the controlled shutdown handshake (see above), bounded by the
  // timeouts above on the Clock. Returns whether the controller granted it;
  // false at once when this broker never registered.
  bool ControlledShutdown();

 private:
  void Loop();
  // Waits `ms`, returning early when the loop has something to do now.
  void Pause(int64_t ms);
  internal::BrokerRegistrationRequest RegistrationRequest() const;

  const BrokerLifecycleOptions options_;
  ControllerChannel* const controller_;
  Clock* const clock_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t broker_epoch_ ABSL_GUARDED_BY(mu_) = -1;
  bool fenced_ ABSL_GUARDED_BY(mu_) = true;
  bool heartbeat_now_ ABSL_GUARDED_BY(mu_) = false;
  // Controlled shutdown: asked for, and granted by the controller.
  bool want_shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_granted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::server
