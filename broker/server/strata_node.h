// StrataNode: the composition root — one node of a Strata cluster, wired
// from its ServerConfig:
//
//   LogManager (log.dirs) <- ReplicaManager <- metadata image <- Raft (metadata.log.dir)
//   ReplicaFetcherManager (follower replication), ISR changes to the controller
//   QuorumController (active on the Raft leader)
//   PLAINTEXT server: Broker, Admin, health, reflection
//   CONTROLLER server: Raft, Controller, Replica
//
// A broker-only node (process.roles=broker) has no Raft node and no
// QuorumController: a MetadataObserver fetches the metadata log from the
// quorum leader into the same state machine, and its CONTROLLER server
// serves Replica and a Controller service that answers NOT_CONTROLLER with
// the controller it knows. Everything else is the same.
//   BrokerLifecycleManager: register with the controller, heartbeat,
//     re-register, controlled shutdown
//   IsrChangeSender: ISR changes to the controller, batched
//   ProducerIdManager: producer id blocks from the controller (KIP-730)
//   ControllerChannel: the stubs both reach the controller through
//
// It constructs, connects and starts these; the behaviour lives in them.
//
// Start() returns once the servers listen; the node joins the quorum and
// registers in the background. Stop() first shuts down in a controlled way
// (controlled.shutdown.enable): it asks the controller to move leadership
// away and waits (bounded) until this broker leads nothing, hands over the
// metadata quorum's leadership if it has it, then stops everything in
// reverse order and closes the logs cleanly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/request/access_control.h"
#include "broker/request/throttler.h"
#include "broker/server/server_config.h"
#include "client/common/clock.h"
#include "client/security/scram.h"

namespace grpc {
class Channel;
class Server;
class Service;
}  // namespace grpc

namespace strata::storage {
class LogManager;
}
namespace strata::replication {
class ReplicaManager;
class ReplicaFetcherManager;
}  // namespace strata::replication
namespace strata::purgatory {
class Purgatory;
}
namespace strata::group {
class GroupCoordinator;
}
namespace strata::txn {
class ProducerIdManager;
class TransactionCoordinator;
}  // namespace strata::txn
namespace strata::request {
class FetchMemory;
class RequestHandlers;
}  // namespace strata::request
namespace strata::raft {
class RaftNode;
class MetadataObserver;
}  // namespace strata::raft
namespace strata::kafka {
class KafkaListener;
}
namespace strata::metadata {
class MetadataImage;
}
namespace strata::metrics {
class Metrics;
}

namespace strata::server {

class MetadataStateMachine;
class QuorumController;
class BrokerService;
class AdminService;
class ControllerService;
class GroupService;
class ReplicaService;
class ControllerChannel;
class BrokerLifecycleManager;
class IsrChangeSender;
class TaskRunner;
class TransactionService;
class TxnMarkerSender;
class TxnMarkerService;
class GrpcListenerSecurity;
class GrpcConnectionLimit;
class HttpListener;
class SaslSessions;
class SaslService;

class StrataNode {
 public:
  // `clock` must outlive the node; every component below reads time
  // through it.
  explicit StrataNode(ServerConfig config, Clock* clock = Clock::Real());
  ~StrataNode();

  absl::Status Start();
  void Stop();

 private:
  // The steps of Start(), in order.
  // TLS and the gates of the gRPC listeners, and the credentials every
  // channel to another node dials with (grpc_security.h): before any
  // channel is made.
  absl::Status SecureGrpcListeners();
  absl::Status OpenLogs();
  void CreateReplicaManagement();
  absl::Status CreateQuorum();
  void CreateServices();
  absl::Status Listen();
  // The HTTP listener and the metrics' scrape-time collectors.
  absl::Status ListenHttp();
  void StartPeriodicWork();

  void ApplyMetadataLoop();
  void CreateGroupCoordinator();
  void CreateTransactionCoordinator();
  // Has the controller create an internal topic (the coordinators'); logs
  // failures other than "already exists".
  void CreateInternalTopic(const char* name, int32_t partitions, int32_t replication_factor,
                           std::map<std::string, std::string> configs);
  // One pass of repair and (rate-limited) scrub.
  void RepairAndScrub();
  void ControlledShutdown();
  // Hands the metadata quorum's leadership to another voter (bounded).
  void HandOverQuorumLeadership();
  // The metadata quorum's leader as this node knows it (-1: none), from its
  // Raft node or, on a broker-only node, its observer: the controller.
  int32_t QuorumLeaderId() const;
  // A channel to a broker's CONTROLLER listener, for the replica fetchers.
  std::shared_ptr<grpc::Channel> ChannelToBroker(int32_t broker_id);
  // Whether `image` holds this process's registration (its incarnation).
  bool RegisteredIn(const metadata::MetadataImage& image) const;

  const ServerConfig config_;
  Clock* const clock_;
  // New on every start: the controller tells this process's registration
  // from an earlier one's.
  const std::string incarnation_id_;
  // What the hot paths record and /metrics shows, from Start on. First:
  // everything below may hold a pointer into it.
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<MetadataStateMachine> metadata_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  // Bytes of fetch responses in memory at once (strata.fetch.max.inflight.bytes).
  std::unique_ptr<request::FetchMemory> fetch_memory_;
  std::unique_ptr<request::FetchMemory> replica_fetch_memory_;
  // The protocol-neutral request layer both gRPC services adapt.
  std::unique_ptr<request::RequestHandlers> handlers_;
  // Authorization (authorizer.class.name; the image's ACLs) and client
  // quotas (the image's), for both client listeners.
  std::unique_ptr<request::AccessControl> access_;
  std::unique_ptr<request::Throttler> throttler_;
  // Consumer groups whose __consumer_offsets partitions this broker leads.
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  std::unique_ptr<GroupService> group_service_;
  // Transactions whose __transaction_state partitions this broker leads;
  // its loads and retries run on txn_tasks_, its markers go out through
  // marker_sender_.
  std::unique_ptr<TaskRunner> txn_tasks_;
  std::unique_ptr<TxnMarkerSender> marker_sender_;
  std::unique_ptr<txn::TransactionCoordinator> txn_coordinator_;
  std::unique_ptr<TransactionService> transaction_service_;
  std::unique_ptr<TxnMarkerService> txn_marker_service_;
  std::unique_ptr<replication::ReplicaFetcherManager> fetchers_;
  std::unique_ptr<ReplicaService> replica_service_;
  // A voter's (process.roles has controller); null on a broker-only node.
  std::unique_ptr<raft::RaftNode> raft_;
  std::unique_ptr<QuorumController> controller_;
  // A broker-only node's; null on a voter.
  std::unique_ptr<raft::MetadataObserver> observer_;
  // Every call to the controller goes through it.
  std::unique_ptr<ControllerChannel> controller_channel_;
  std::unique_ptr<BrokerLifecycleManager> lifecycle_;
  std::unique_ptr<IsrChangeSender> isr_sender_;
  // This broker's producer ids; the request layer hands them out.
  std::unique_ptr<txn::ProducerIdManager> producer_ids_;
  std::unique_ptr<BrokerService> broker_service_;
  std::unique_ptr<AdminService> admin_service_;
  // ControllerService on a voter; on a broker-only node, one that answers
  // NOT_CONTROLLER.
  std::unique_ptr<grpc::Service> controller_service_;
  // max.connections on the gRPC client listener (before client_server_:
  // destroyed after it).
  std::unique_ptr<GrpcConnectionLimit> client_connection_limit_;
  std::unique_ptr<grpc::Server> client_server_;
  // Kafka's binary protocol, one per listener in strata.kafka.listener.names.
  std::vector<std::unique_ptr<kafka::KafkaListener>> kafka_listeners_;
  std::unique_ptr<grpc::Server> controller_server_;
  // The HTTP listener (/metrics, the console); null without one.
  std::unique_ptr<HttpListener> http_listener_;
  // The gRPC listeners' security (TLS files, gates), CONTROLLER's and the
  // client listener's (null without one).
  std::unique_ptr<GrpcListenerSecurity> controller_security_;
  std::unique_ptr<GrpcListenerSecurity> client_security_;
  // SASL on the client listener (SASL_PLAINTEXT / SASL_SSL): the sessions
  // its gate checks tokens against, and strata.v1.Sasl that issues them.
  std::unique_ptr<SaslSessions> sasl_sessions_;
  std::unique_ptr<SaslService> sasl_service_;
  // Where the client listener's SCRAM exchanges find a user's credential:
  // the metadata log's SCRAM credentials. Until set, no SCRAM user exists.
  std::function<std::optional<security::ScramCredential>(security::ScramMechanism,
                                                         const std::string&)>
      scram_credentials_;
  // Applies metadata images to the replica manager off the Raft thread
  // (opening and deleting logs does disk I/O); only the latest image is
  // kept, since each one holds the whole state.
  std::thread metadata_applier_;
  // The scheduler's scrub task's own: when the next scrub pass may start.
  int64_t next_scrub_ms_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<const metadata::MetadataImage> pending_image_ ABSL_GUARDED_BY(mu_);

  absl::Mutex channels_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(channels_mu_);
};

}  // namespace strata::server
