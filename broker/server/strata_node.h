// StrataNode: the composition root — one node of a Strata cluster, wired
// from its ServerConfig:
//
//   LogManager (log.dirs) <- ReplicaManager <- metadata image <- Raft (metadata.log.dir)
//   ReplicaFetcherManager (follower replication), ISR changes to the controller
//   QuorumController (active on the Raft leader)
//   PLAINTEXT server: Broker, Admin, health, reflection
//   CONTROLLER server: Raft, Controller, Replica
//   broker lifecycle: register with the controller, heartbeat, re-register
//
// Start() returns once the servers listen; the node joins the quorum and
// registers in the background. Stop() first shuts down in a controlled way
// (controlled.shutdown.enable): it asks the controller to move leadership
// away and waits (bounded) until this broker leads nothing, hands over the
// metadata quorum's leadership if it has it, then stops everything in
// reverse order and closes the logs cleanly.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/server/server_config.h"

namespace grpc {
class Channel;
class Server;
}  // namespace grpc

namespace strata::storage {
class LogManager;
}
namespace strata::replication {
class ReplicaManager;
class ReplicaFetcherManager;
struct IsrChange;
}
namespace strata::raft {
class RaftNode;
}
namespace strata::metadata {
class MetadataImage;
}

namespace strata::server {

class MetadataStateMachine;
class QuorumController;
class BrokerService;
class AdminService;
class ControllerService;
class Purgatory;
// A Controller stub per metadata quorum voter, by node id.
struct ControllerStubs;
class FetchMemory;
class ReplicaService;

class StrataNode {
 public:
  explicit StrataNode(ServerConfig config);
  ~StrataNode();

  absl::Status Start();
  void Stop();

 private:
  void LifecycleLoop();
  // Sends queued ISR changes to the controller, one at a time.
  void IsrSenderLoop();
  void ControlledShutdown();
  std::shared_ptr<grpc::Channel> ChannelToBroker(int32_t broker_id);
  // Whether `image` holds this process's registration (its incarnation).
  bool RegisteredIn(const metadata::MetadataImage& image) const;

  const ServerConfig config_;
  // New on every start: the controller tells this process's registration
  // from an earlier one's.
  const std::string incarnation_id_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<MetadataStateMachine> metadata_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::unique_ptr<Purgatory> purgatory_;
  // Bytes of fetch responses in memory at once (strata.fetch.max.inflight.bytes).
  std::unique_ptr<FetchMemory> fetch_memory_;
  std::unique_ptr<FetchMemory> replica_fetch_memory_;
  std::unique_ptr<replication::ReplicaFetcherManager> fetchers_;
  std::unique_ptr<ReplicaService> replica_service_;
  std::unique_ptr<raft::RaftNode> raft_;
  std::unique_ptr<QuorumController> controller_;
  std::unique_ptr<BrokerService> broker_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<ControllerService> controller_service_;
  std::unique_ptr<grpc::Server> client_server_;
  std::unique_ptr<grpc::Server> controller_server_;
  // Every call to the controller goes through these (set before the
  // threads that use them start).
  std::unique_ptr<ControllerStubs> controller_stubs_;
  std::thread lifecycle_;
  std::thread isr_sender_;
  std::thread maintenance_;
  // Applies metadata images to the replica manager off the Raft thread
  // (opening and deleting logs does disk I/O); only the latest image is
  // kept, since each one holds the whole state.
  std::thread metadata_applier_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<const metadata::MetadataImage> pending_image_ ABSL_GUARDED_BY(mu_);
  int64_t broker_epoch_ ABSL_GUARDED_BY(mu_) = -1;
  // Controlled shutdown: asked for, and granted by the controller.
  bool want_shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_granted_ ABSL_GUARDED_BY(mu_) = false;
  // A replica went offline: tell the controller now, not at the next beat.
  bool heartbeat_now_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<replication::IsrChange> isr_changes_ ABSL_GUARDED_BY(mu_);

  absl::Mutex channels_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(channels_mu_);
};

}  // namespace strata::server
