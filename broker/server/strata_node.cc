#include "broker/server/strata_node.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/kafka_listener.h"
#include "broker/metrics/metrics.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/replication/replica_fetcher.h"
#include "broker/replication/replica_manager.h"
#include "broker/request/handlers.h"
#include "broker/server/admin_service.h"
#include "broker/server/broker_lifecycle_manager.h"
#include "broker/server/broker_service.h"
#include "broker/server/console_api.h"
#include "broker/server/controller_channel.h"
#include "broker/server/group_service.h"
#include "broker/server/grpc_connection_limit.h"
#include "broker/server/grpc_leader_endpoint.h"
#include "broker/server/grpc_request_metrics.h"
#include "broker/server/grpc_security.h"
#include "broker/server/http_listener.h"
#include "broker/server/isr_change_sender.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/node_metrics.h"
#include "broker/server/quorum_controller.h"
#include "broker/server/replica_service.h"
#include "broker/server/sasl_service.h"
#include "broker/server/sasl_sessions.h"
#include "broker/server/task_runner.h"
#include "broker/server/transaction_service.h"
#include "broker/server/txn_marker_sender.h"
#include "broker/storage/log_config.h"
#include "broker/storage/log_manager.h"
#include "broker/txn/producer_id_manager.h"
#include "broker/txn/transaction_coordinator.h"
#include "glog/logging.h"
#include "raft/node/metadata_observer.h"
#include "raft/node/raft_node.h"
#include "strata/internal/controller.grpc.pb.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::server {

namespace {

std::string NewIncarnationId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ absl::GetCurrentTimeNanos());
  return absl::StrCat(absl::Hex(rng(), absl::kZeroPad16), absl::Hex(rng(), absl::kZeroPad16));
}

// Descriptors kept for what is not a replica: client and peer connections,
// the metadata log's RocksDB files, segments open for reads.
constexpr int64_t kDescriptorReserve = 3000;

// How many partition replicas this broker can hold: the configured cap, or
// what its open-file limit leaves after the reserve. The soft limit is first
// raised to the hard one, as servers do.
int64_t ReplicaCapacity(const ServerConfig& config) {
  if (config.max_replicas_per_broker > 0) return config.max_replicas_per_broker;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return 0;
  const int64_t open_files = static_cast<int64_t>(limit.rlim_cur);
  return std::max<int64_t>(
      1, (open_files - kDescriptorReserve) / storage::LogManager::kDescriptorsPerIdleReplica);
}

// Kafka's offsets.commit.timeout.ms: how long a write to __consumer_offsets
// waits for the in-sync replicas; and offsets.load.buffer.size, how much a
// new coordinator reads at a time while loading.
constexpr int32_t kOffsetsCommitTimeoutMs = 5000;
constexpr int32_t kOffsetsLoadBytes = 5 << 20;

// strata.internal.Controller on a broker-only node, which is never the
// controller: every call is answered NOT_CONTROLLER with the controller it
// knows, as a voter that does not lead answers. Brokers address only the
// voters, so only a misdirected call lands here; RPCs added to the service
// later answer UNIMPLEMENTED, which callers take as NOT_CONTROLLER too.
class NotControllerService final : public internal::Controller::CallbackService {
 public:
  NotControllerService(int32_t node_id, std::function<int32_t()> controller_id)
      : node_id_(node_id), controller_id_(std::move(controller_id)) {}

  grpc::ServerUnaryReactor* RegisterBroker(grpc::CallbackServerContext* ctx,
                                           const internal::BrokerRegistrationRequest*,
                                           internal::BrokerRegistrationResponse* r) override {
    return Refuse(ctx, r);
  }
  grpc::ServerUnaryReactor* BrokerHeartbeat(grpc::CallbackServerContext* ctx,
                                            const internal::BrokerHeartbeatRequest*,
                                            internal::BrokerHeartbeatResponse* r) override {
    return Refuse(ctx, r);
  }
  grpc::ServerUnaryReactor* AlterPartition(grpc::CallbackServerContext* ctx,
                                           const internal::AlterPartitionBatchRequest* request,
                                           internal::AlterPartitionBatchResponse* r) override {
    for (int i = 0; i < request->partitions_size(); ++i) Fill(r->add_partitions());
    return Finish(ctx);
  }
  grpc::ServerUnaryReactor* AllocateProducerIds(grpc::CallbackServerContext* ctx,
                                                const internal::AllocateProducerIdsRequest*,
                                                internal::AllocateProducerIdsResponse* r) override {
    return Refuse(ctx, r);
  }
  grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTopicsRequest* request,
                                         v1::CreateTopicsResponse* r) override {
    for (const v1::NewTopic& t : request->topics()) FillTopic(t.name(), r->add_results());
    return Finish(ctx);
  }
  grpc::ServerUnaryReactor* CreateInternalTopics(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateTopicsRequest* request,
                                                 v1::CreateTopicsResponse* r) override {
    return CreateTopics(ctx, request, r);
  }
  grpc::ServerUnaryReactor* DeleteTopics(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteTopicsRequest* request,
                                         v1::DeleteTopicsResponse* r) override {
    for (const std::string& name : request->names()) FillTopic(name, r->add_results());
    return Finish(ctx);
  }
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* ctx,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* r) override {
    for (const v1::PartitionCount& t : request->topics()) FillTopic(t.name(), r->add_results());
    return Finish(ctx);
  }
  grpc::ServerUnaryReactor* ElectLeaders(grpc::CallbackServerContext* ctx,
                                         const v1::ElectLeadersRequest*,
                                         v1::ElectLeadersResponse* r) override {
    r->set_error(v1::NOT_CONTROLLER);
    r->set_error_message(Why());
    return Finish(ctx);
  }

 private:
  std::string Why() const {
    const int32_t controller = controller_id_();
    return absl::StrCat("node ", node_id_, " is a broker-only node, never the controller; ",
                        controller < 0 ? std::string("no controller is elected yet")
                                       : absl::StrCat("node ", controller, " is"));
  }
  // The broker-facing answers carry the controller as a hint.
  template <typename Response>
  void Fill(Response* r) const {
    r->set_error(v1::NOT_CONTROLLER);
    r->set_error_message(Why());
    r->set_controller_hint(controller_id_());
  }
  void FillTopic(const std::string& name, v1::TopicResult* r) const {
    r->set_name(name);
    r->set_error(v1::NOT_CONTROLLER);
    r->set_error_message(Why());
  }
  template <typename Response>
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, Response* r) const {
    Fill(r);
    return Finish(ctx);
  }
  static grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  const int32_t node_id_;
  const std::function<int32_t()> controller_id_;
};

}  // namespace

StrataNode::StrataNode(ServerConfig config, Clock* clock)
    : config_(std::move(config)), clock_(clock), incarnation_id_(NewIncarnationId()) {}

StrataNode::~StrataNode() { Stop(); }

absl::Status StrataNode::Start() {
  metrics_ = std::make_unique<metrics::Metrics>();
  if (absl::Status s = SecureGrpcListeners(); !s.ok()) return s;
  metadata_ = std::make_unique<MetadataStateMachine>(config_.cluster_id);
  if (absl::Status s = OpenLogs(); !s.ok()) return s;
  CreateReplicaManagement();
  if (absl::Status s = CreateQuorum(); !s.ok()) return s;
  CreateServices();
  if (absl::Status s = Listen(); !s.ok()) return s;
  if (absl::Status s = ListenHttp(); !s.ok()) return s;
  if (raft_) raft_->Start();
  if (observer_) observer_->Start();
  if (controller_) controller_->Start();
  lifecycle_->Start();
  isr_sender_->Start();
  fetchers_->Start();
  StartPeriodicWork();
  LOG(INFO) << "Strata node " << config_.node_id
            << (config_.is_controller ? "" : " (broker only, observing the metadata quorum)")
            << " started: clients on "
            << (config_.listener("PLAINTEXT") ? config_.listener("PLAINTEXT")->address() : "-")
            << ", peers on " << config_.listener("CONTROLLER")->address();
  return absl::OkStatus();
}

absl::Status StrataNode::SecureGrpcListeners() {
  auto security_of = [this](const std::string& name) {
    auto it = config_.listener_security.find(name);
    return it != config_.listener_security.end() ? it->second : security::ListenerSecurity{};
  };
  // The nodes' principals: who may call the CONTROLLER listener, and whose
  // certificates stand in for a SASL session on a SASL_SSL client listener.
  const std::vector<std::string>& nodes = config_.controller_allowed_principals.empty()
                                              ? config_.super_users
                                              : config_.controller_allowed_principals;
  const std::set<std::string> node_principals(nodes.begin(), nodes.end());
  // A decrypted copy of an encrypted key (ssl.key.password) lives here.
  const std::string work_dir = config_.metadata_log_dir + "/__strata_tls";

  GrpcListenerOptions controller;
  controller.name = "CONTROLLER";
  controller.security = security_of("CONTROLLER");
  controller.work_dir = work_dir;
  if (security::UsesSasl(controller.security.protocol)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listener.security.protocol.map: CONTROLLER:",
        security::ProtocolName(controller.security.protocol),
        " is not supported: nodes authenticate to each other with their certificates; use SSL"));
  }
  // With PLAINTEXT there is no identity to check: the listener stays open.
  if (security::UsesTls(controller.security.protocol)) {
    controller.allowed_principals = node_principals;
  }
  absl::StatusOr<std::unique_ptr<GrpcListenerSecurity>> controller_security =
      GrpcListenerSecurity::Create(std::move(controller));
  if (!controller_security.ok()) return controller_security.status();
  controller_security_ = *std::move(controller_security);
  raft::SetPeerChannelCredentials(controller_security_->peer_channel_credentials());

  if (config_.listener("PLAINTEXT") == nullptr) return absl::OkStatus();
  GrpcListenerOptions client;
  client.name = "PLAINTEXT";
  client.security = security_of("PLAINTEXT");
  client.work_dir = work_dir;
  if (security::UsesSasl(client.security.protocol)) {
    SaslSessionsOptions sasl;
    sasl.enabled_mechanisms = client.security.sasl.enabled_mechanisms;
    sasl.plain_users = client.security.sasl.plain_users;
    sasl.scram_credentials = [this](security::ScramMechanism m, const std::string& user) {
      return scram_credentials_ ? scram_credentials_(m, user) : std::nullopt;
    };
    if (client.security.sasl.connections_max_reauth_ms > 0) {
      sasl.session_lifetime_ms = client.security.sasl.connections_max_reauth_ms;
    }
    sasl.clock = clock_;
    sasl_sessions_ = std::make_unique<SaslSessions>(std::move(sasl));
    sasl_service_ = std::make_unique<SaslService>(sasl_sessions_.get());
    client.resolve_token = [sessions = sasl_sessions_.get()](std::string_view token) {
      return sessions->PrincipalOf(token);
    };
    client.node_principals = node_principals;
  }
  absl::StatusOr<std::unique_ptr<GrpcListenerSecurity>> client_security =
      GrpcListenerSecurity::Create(std::move(client));
  if (!client_security.ok()) return client_security.status();
  client_security_ = *std::move(client_security);
  // Admin requests this node forwards to the controller's client listener.
  SetClientListenerChannelCredentials(client_security_->peer_channel_credentials());
  return absl::OkStatus();
}

absl::Status StrataNode::OpenLogs() {
  storage::LogManager::Options log_options;
  log_options.log_dirs = config_.log_dirs;
  log_options.retention_check_interval_ms = config_.log_retention_check_interval_ms;
  log_options.high_watermark_checkpoint_interval_ms =
      config_.replica_high_watermark_checkpoint_interval_ms;
  log_options.producer_id_expiration_ms = config_.producer_id_expiration_ms;
  log_options.producer_id_expiration_check_interval_ms =
      config_.producer_id_expiration_check_interval_ms;
  log_options.cleaner_enable = config_.log_cleaner_enable && config_.log_cleaner_threads > 0;
  log_options.cleaner.threads = config_.log_cleaner_threads;
  log_options.cleaner.dedupe_buffer_size = config_.log_cleaner_dedupe_buffer_size;
  log_options.cleaner.backoff_ms = config_.log_cleaner_backoff_ms;
  log_options.cleaner.io_max_bytes_per_second = config_.log_cleaner_io_max_bytes_per_second;
  // The topic's own configs over this broker's defaults: its dynamic ones,
  // the cluster-wide dynamic defaults, then server.properties. The defaults
  // are worked out once per image, not per partition.
  auto broker_defaults =
      std::make_shared<metadata::BrokerLogDefaultsCache>(config_.log_overrides, config_.node_id);
  log_options.config_for_topic = [this, broker_defaults](const std::string& topic) {
    std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
    const metadata::TopicInfo* t = image->FindTopic(topic);
    std::shared_ptr<const std::map<std::string, std::string>> defaults =
        broker_defaults->For(*image);
    return t != nullptr ? metadata::TopicLogConfig(*defaults, *t)
                        : storage::LogConfigFor(*defaults, {});
  };
  absl::StatusOr<std::unique_ptr<storage::LogManager>> logs =
      storage::LogManager::Open(storage::FileSystem::Default(), clock_, log_options);
  if (!logs.ok()) return logs.status();
  logs_ = std::move(*logs);
  return absl::OkStatus();
}

// The replica manager and what talks to the controller and to other brokers
// on its behalf. The controller is asked for lazily (controller_ exists
// before any of them calls), so they can be wired before the quorum.
void StrataNode::CreateReplicaManagement() {
  controller_channel_ = std::make_unique<ControllerChannel>(
      ControllerChannel::ChannelsToVoters(config_.quorum_voters),
      [this] { return QuorumLeaderId(); });

  BrokerLifecycleOptions lifecycle_options;
  lifecycle_options.broker_id = config_.node_id;
  lifecycle_options.incarnation_id = incarnation_id_;
  lifecycle_options.endpoints = AdvertisedEndpoints(config_);
  lifecycle_options.replica_capacity = ReplicaCapacity(config_);
  lifecycle_options.heartbeat_interval_ms = config_.broker_heartbeat_interval_ms;
  lifecycle_options.metadata_offset = [this] { return metadata_->current()->offset(); };
  lifecycle_options.offline_replicas = [this] { return replicas_->OfflineReplicas(); };
  lifecycle_options.await_no_leaderships = [this](absl::Duration timeout) {
    const uint64_t seen = replicas_->role_progress();
    if (replicas_->LeaderCount() == 0) return true;
    replicas_->WaitForRoleChange(seen, timeout);
    return replicas_->LeaderCount() == 0;
  };
  lifecycle_ = std::make_unique<BrokerLifecycleManager>(std::move(lifecycle_options),
                                                        controller_channel_.get(), clock_);

  IsrChangeSenderOptions isr_options;
  isr_options.broker_id = config_.node_id;
  isr_options.broker_epoch = [this] { return lifecycle_->broker_epoch(); };
  isr_options.on_result = [this](const replication::IsrChange& change,
                                 const replication::IsrChangeResult& result) {
    replicas_->OnIsrChangeResult(change, result);
  };
  isr_sender_ =
      std::make_unique<IsrChangeSender>(std::move(isr_options), controller_channel_.get());

  // Producer ids for InitProducerId, in blocks from the controller; the
  // first block is asked for once this broker has registered.
  txn::ProducerIdManagerOptions producer_id_options;
  producer_id_options.broker_id = config_.node_id;
  producer_id_options.broker_epoch = [this] { return lifecycle_->broker_epoch(); };
  producer_id_options.fetch_block = [this](int32_t broker_id, int64_t broker_epoch) {
    return controller_channel_->AllocateProducerIds(broker_id, broker_epoch);
  };
  producer_id_options.clock = clock_;
  producer_ids_ = std::make_unique<txn::ProducerIdManager>(std::move(producer_id_options));

  // Parked fetches and acks=all produces, completed by progress on the
  // partitions they wait on.
  purgatory_ = std::make_unique<purgatory::Purgatory>(clock_, "delayed-requests");
  replication::ReplicaManagerOptions replica_options;
  replica_options.broker_id = config_.node_id;
  replica_options.incarnation_id = incarnation_id_;
  replica_options.clock = clock_;
  replica_options.replica_lag_time_max_ms = config_.replica_lag_time_max_ms;
  // A topic's min.insync.replicas here: its own over this broker's
  // dynamic, the cluster-wide dynamic and the static defaults. Asked for
  // every partition while an image is applied, so the defaults are worked
  // out once per image. They come from the newest image, which is never
  // older than the one being applied and is applied next, so a config
  // change is never missed.
  auto broker_defaults =
      std::make_shared<metadata::BrokerLogDefaultsCache>(config_.log_overrides, config_.node_id);
  replica_options.min_insync_replicas = [this, broker_defaults](const metadata::TopicInfo& topic) {
    return metadata::TopicLogConfig(*broker_defaults->For(*metadata_->current()), topic)
        .min_insync_replicas;
  };
  // Truncating below the high watermark: allowed whenever the controller
  // (any voter) would have allowed the unclean election that calls for it.
  std::vector<int32_t> controller_ids;
  for (const QuorumVoter& v : config_.quorum_voters) controller_ids.push_back(v.id);
  replica_options.unclean_leader_election = [this,
                                             controller_ids](const metadata::TopicInfo& topic) {
    return metadata::UncleanTruncationAllowed(*metadata_->current(), topic, controller_ids,
                                              config_.unclean_leader_election_enable);
  };
  replica_options.on_offline = [this] { lifecycle_->HeartbeatNow(); };
  replica_options.on_partition_change = [this](const TopicPartition& tp) {
    purgatory_->CheckAndComplete(purgatory::WatchKey::Partition(tp));
  };
  replica_options.alter_partition = [this](replication::IsrChange change) {
    isr_sender_->Enqueue(std::move(change));
  };
  // Kafka's IsrShrinksPerSec / IsrExpandsPerSec: ISR changes committed.
  replica_options.on_isr_changed = [this](int size_change) {
    (size_change < 0 ? metrics_->isr_shrinks() : metrics_->isr_expands()).Increment();
  };
  replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), replica_options);

  replication::ReplicaFetcherOptions fetcher_options;
  fetcher_options.broker_id = config_.node_id;
  fetcher_options.max_wait_ms = config_.replica_fetch_wait_max_ms;
  fetcher_options.max_bytes = config_.replica_fetch_response_max_bytes;
  fetcher_options.partition_max_bytes = config_.replica_fetch_max_bytes;
  fetcher_options.backoff_ms = config_.replica_fetch_backoff_ms;
  fetcher_options.endpoint_for =
      [this](int32_t leader_id) -> std::unique_ptr<replication::LeaderEndpoint> {
    return std::make_unique<GrpcLeaderEndpoint>(
        [this, leader_id] { return ChannelToBroker(leader_id); });
  };
  fetcher_options.clock = clock_;
  fetchers_ =
      std::make_unique<replication::ReplicaFetcherManager>(replicas_.get(), fetcher_options);

  CreateGroupCoordinator();
  CreateTransactionCoordinator();

  metadata_->Subscribe([this](const std::shared_ptr<const metadata::MetadataImage>& image) {
    absl::MutexLock l(&mu_);
    pending_image_ = image;
  });
  metadata_applier_ = std::thread([this] { ApplyMetadataLoop(); });
}

// The group coordinator writes to and loads from __consumer_offsets through
// the request layer (acks=all) and the replica manager; it serves the
// partitions this broker leads. Wired before the first image is applied, so
// it hears of every leadership (handlers_ exists before any: images are
// applied only once this broker has registered, after Start()).
void StrataNode::CreateGroupCoordinator() {
  group::CoordinatorOptions options;
  options.broker_id = config_.node_id;
  options.offsets_topic_partitions = config_.offsets_topic_num_partitions;
  options.min_session_timeout_ms = config_.group_min_session_timeout_ms;
  options.max_session_timeout_ms = config_.group_max_session_timeout_ms;
  options.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  options.max_group_size = config_.group_max_size;
  options.offsets_retention_ms = config_.offsets_retention_minutes * 60000;
  options.offset_metadata_max_bytes = config_.offset_metadata_max_bytes;
  options.clock = clock_;
  options.purgatory = purgatory_.get();
  options.append = [this](int32_t partition, std::string batch,
                          group::CoordinatorOptions::AppendDone done) {
    request::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = kOffsetsCommitTimeoutMs;
    req.internal_topics_allowed = true;
    request::ProduceTopic& topic = req.topics.emplace_back();
    topic.topic = group::kOffsetsTopic;
    topic.partitions.emplace_back().partition = partition;
    topic.partitions.back().records = std::move(batch);
    handlers_->Produce(std::move(req), [done = std::move(done)](request::ProduceResponse r) {
      request::ProducePartitionResult& p = r.topics.at(0).partitions.at(0);
      done(p.error, std::move(p.message), p.base_offset);
    });
  };
  options.read = [this](int32_t partition, int64_t offset) {
    return replicas_->Read(group::kOffsetsTopic, partition, offset, kOffsetsLoadBytes,
                           replication::ReplicaManager::ReadLimit::kLogEnd);
  };
  options.offsets_topic_partition_count = [this] {
    const metadata::TopicInfo* t = metadata_->current()->FindTopic(group::kOffsetsTopic);
    return t == nullptr ? -1 : static_cast<int32_t>(t->partitions.size());
  };
  options.partition_exists = [this](const std::string& topic, int32_t partition) {
    const metadata::TopicInfo* t = metadata_->current()->FindTopic(topic);
    return t != nullptr && t->partitions.contains(partition);
  };
  coordinator_ = std::make_unique<group::GroupCoordinator>(std::move(options));
  replicas_->AddLeadershipListener([this](const replication::LeadershipChange& change) {
    if (change.tp.topic != group::kOffsetsTopic) return;
    if (change.kind == replication::LeadershipChange::Kind::kBecameLeader) {
      coordinator_->OnBecameLeader(change.tp.partition.value(), change.leader_epoch.value());
    } else {
      coordinator_->OnResigned(change.tp.partition.value(), change.leader_epoch.value());
    }
  });
}

// The transaction coordinator writes to and loads from __transaction_state
// as the group coordinator does __consumer_offsets, and is wired the same
// way, before the first image. Its markers go out through the marker sender
// (made with the request layer, in CreateServices), its loads and retries
// run on a thread of its own.
void StrataNode::CreateTransactionCoordinator() {
  txn_tasks_ = std::make_unique<TaskRunner>("txn-coordinator", clock_);
  txn::TransactionCoordinatorOptions options;
  options.broker_id = config_.node_id;
  options.transaction_state_partitions = config_.transaction_state_log_num_partitions;
  options.offsets_topic_partitions = config_.offsets_topic_num_partitions;
  options.transaction_max_timeout_ms = config_.transaction_max_timeout_ms;
  options.transactional_id_expiration_ms = config_.transactional_id_expiration_ms;
  options.abort_timed_out_transaction_cleanup_interval_ms =
      config_.transaction_abort_timed_out_transaction_cleanup_interval_ms;
  options.remove_expired_transaction_cleanup_interval_ms =
      config_.transaction_remove_expired_transaction_cleanup_interval_ms;
  options.clock = clock_;
  options.append = [this](int32_t partition, std::string batch,
                          txn::TransactionCoordinatorOptions::AppendDone done) {
    request::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = request::RequestHandlers::kDefaultProduceTimeoutMs;
    req.internal_topics_allowed = true;
    request::ProduceTopic& topic = req.topics.emplace_back();
    topic.topic = txn::kTransactionStateTopic;
    topic.partitions.emplace_back().partition = partition;
    topic.partitions.back().records = std::move(batch);
    handlers_->Produce(std::move(req), [done = std::move(done)](request::ProduceResponse r) {
      request::ProducePartitionResult& p = r.topics.at(0).partitions.at(0);
      done(p.error, std::move(p.message), p.base_offset);
    });
  };
  options.read = [this](int32_t partition, int64_t offset) {
    return replicas_->Read(txn::kTransactionStateTopic, partition, offset, kOffsetsLoadBytes,
                           replication::ReplicaManager::ReadLimit::kLogEnd);
  };
  auto partition_count = [this](const char* topic) {
    const metadata::TopicInfo* t = metadata_->current()->FindTopic(topic);
    return t == nullptr ? -1 : static_cast<int32_t>(t->partitions.size());
  };
  options.transaction_state_partition_count = [partition_count] {
    return partition_count(txn::kTransactionStateTopic);
  };
  options.offsets_topic_partition_count = [partition_count] {
    return partition_count(group::kOffsetsTopic);
  };
  options.generate_producer_id = [this] { return producer_ids_->GenerateProducerId(); };
  options.send_markers = [this](txn::MarkerRequest request,
                                std::function<void(txn::MarkerResults)> done) {
    marker_sender_->Send(std::move(request), std::move(done));
  };
  options.partition_exists = [this](const std::string& topic, int32_t partition) {
    const metadata::TopicInfo* t = metadata_->current()->FindTopic(topic);
    return t != nullptr && t->partitions.contains(partition);
  };
  options.schedule = [this](int64_t delay_ms, std::function<void()> task) {
    txn_tasks_->RunAfter(delay_ms, std::move(task));
  };
  txn_coordinator_ = std::make_unique<txn::TransactionCoordinator>(std::move(options));
  txn_tasks_->Start();
  replicas_->AddLeadershipListener([this](const replication::LeadershipChange& change) {
    if (change.tp.topic != txn::kTransactionStateTopic) return;
    if (change.kind == replication::LeadershipChange::Kind::kBecameLeader) {
      txn_coordinator_->OnBecameLeader(change.tp.partition.value(), change.leader_epoch.value());
    } else {
      txn_coordinator_->OnResigned(change.tp.partition.value(), change.leader_epoch.value());
    }
  });
}

void StrataNode::CreateInternalTopic(const char* name, int32_t partitions,
                                     int32_t replication_factor,
                                     std::map<std::string, std::string> configs) {
  metadata::CreateTopicsRequest request;
  metadata::NewTopic& topic = request.topics.emplace_back();
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  topic.configs = std::move(configs);
  admin_service_->ops()->CreateInternalTopics(
      std::move(request), [](metadata::CreateTopicsResponse response) {
        for (const metadata::TopicResult& r : response.results) {
          if (r.error != ErrorCode::kNone && r.error != ErrorCode::kTopicAlreadyExists) {
            LOG(WARNING) << "Creating " << r.name << ": " << ErrorName(r.error) << " "
                         << r.error_message;
          }
        }
      });
}

void StrataNode::ApplyMetadataLoop() {
  std::shared_ptr<const metadata::MetadataImage> previous;
  while (true) {
    std::shared_ptr<const metadata::MetadataImage> image;
    {
      absl::MutexLock l(&mu_);
      // Nothing is applied before the image holds this process's own
      // registration. Until then it replays the past: this broker may
      // appear there as the leader of partitions whose records it lost in
      // a crash, and acting on that would have the followers truncate
      // acknowledged records to its shorter log. The registration batch
      // also moves this broker's leaderships to the other in-sync
      // replicas (and takes it out of their ISRs), as KRaft does.
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (pending_image_ != nullptr && RegisteredIn(*pending_image_));
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      image.swap(pending_image_);
    }
    replicas_->OnMetadata(image);
    // Registered: the first producer id block can be had.
    if (previous == nullptr && producer_ids_) producer_ids_->Prefetch();
    // A topic's configs may have changed with this image.
    logs_->RefreshConfigs();
    // Committed offsets of deleted topics go (a topic deleted and created
    // again has a new id: its old offsets go too).
    if (previous != nullptr) {
      std::vector<std::string> deleted;
      for (const auto& [name, t] : previous->topics()) {
        const metadata::TopicInfo* now = image->FindTopic(name);
        if (now == nullptr || now->topic_id != t.topic_id) deleted.push_back(name);
      }
      if (!deleted.empty()) coordinator_->OnTopicsDeleted(deleted);
    }
    previous = image;
  }
}

absl::Status StrataNode::CreateQuorum() {
  if (!config_.is_controller) {
    // A broker-only node follows the quorum as an observer, from the
    // CONTROLLER listeners of the voters.
    raft::MetadataObserverOptions options;
    options.id = raft::NodeId(static_cast<uint64_t>(config_.node_id));
    if (const Listener* l = config_.advertised("CONTROLLER")) {
      options.address = absl::StrCat(l->host, ":", l->port);
    }
    for (const QuorumVoter& v : config_.quorum_voters) {
      options.voters[raft::NodeId(static_cast<uint64_t>(v.id))] = absl::StrCat(v.host, ":", v.port);
    }
    options.data_dir = config_.metadata_log_dir + "/__cluster_metadata";
    options.snapshot_entries = static_cast<uint64_t>(config_.raft_snapshot_entries);
    options.keep_entries = static_cast<uint64_t>(config_.raft_snapshot_keep_entries);
    options.clock = clock_;
    absl::StatusOr<std::unique_ptr<raft::MetadataObserver>> observer =
        raft::MetadataObserver::Create(std::move(options), metadata_.get());
    if (!observer.ok()) return observer.status();
    observer_ = std::move(*observer);
    replicas_->SetCaughtUpOffset(static_cast<int64_t>(observer_->initial_commit().value()));
    return absl::OkStatus();
  }
  raft::RaftNodeOptions raft_options;
  raft_options.id = raft::NodeId(static_cast<uint64_t>(config_.node_id));
  for (const QuorumVoter& v : config_.quorum_voters) {
    raft::NodeId id(static_cast<uint64_t>(v.id));
    raft_options.peers[id] = absl::StrCat(v.host, ":", v.port);
    raft_options.voters.push_back(id);
  }
  raft_options.data_dir = config_.metadata_log_dir + "/__cluster_metadata";
  raft_options.tick_ms = config_.raft_tick_ms;
  raft_options.election_tick = config_.raft_election_ticks;
  raft_options.snapshot_entries = static_cast<uint64_t>(config_.raft_snapshot_entries);
  raft_options.keep_entries = static_cast<uint64_t>(config_.raft_snapshot_keep_entries);
  raft_options.clock = clock_;
  absl::StatusOr<std::unique_ptr<raft::RaftNode>> raft =
      raft::RaftNode::Create(raft_options, metadata_.get());
  if (!raft.ok()) return raft.status();
  raft_ = std::move(*raft);
  replicas_->SetCaughtUpOffset(static_cast<int64_t>(raft_->initial_commit().value()));

  metadata::ControllerOptions controller_options;
  controller_options.default_num_partitions = config_.num_partitions;
  controller_options.default_replication_factor = config_.default_replication_factor;
  controller_options.broker_session_timeout_ms = config_.broker_session_timeout_ms;
  controller_options.node_id = config_.node_id;
  controller_options.unclean_leader_election_enable = config_.unclean_leader_election_enable;
  controller_options.auto_leader_rebalance_enable = config_.auto_leader_rebalance_enable;
  controller_options.leader_imbalance_check_interval_ms =
      config_.leader_imbalance_check_interval_seconds * 1000;
  controller_options.leader_imbalance_per_broker_percentage =
      config_.leader_imbalance_per_broker_percentage;
  controller_ =
      std::make_unique<QuorumController>(controller_options, raft_.get(), metadata_.get(), clock_);
  controller_->ObserveCommits(&metrics_->raft_commit_seconds());
  return absl::OkStatus();
}

void StrataNode::CreateServices() {
  // Consumers and followers draw on pools of their own, so that consumers
  // reading much at once never starve replication (and the ISR).
  fetch_memory_ = std::make_unique<request::FetchMemory>(config_.fetch_max_inflight_bytes);
  replica_fetch_memory_ = std::make_unique<request::FetchMemory>(config_.fetch_max_inflight_bytes);
  request::HandlerOptions handler_options;
  handler_options.replicas = replicas_.get();
  handler_options.purgatory = purgatory_.get();
  handler_options.clock = clock_;
  handler_options.image = [this] { return metadata_->current(); };
  handler_options.controller_id = [this] { return QuorumLeaderId(); };
  handler_options.fetch_max_bytes = static_cast<size_t>(config_.fetch_max_bytes);
  handler_options.max_fetch_sessions =
      static_cast<size_t>(config_.max_incremental_fetch_session_cache_slots);
  handler_options.replica_lag_time_max_ms = config_.replica_lag_time_max_ms;
  handler_options.node_id = config_.node_id;
  handler_options.metrics = config_.metrics_enabled ? metrics_.get() : nullptr;
  handler_options.broker_log_overrides = config_.log_overrides;
  handler_options.consumer_fetch_memory = fetch_memory_.get();
  handler_options.follower_fetch_memory = replica_fetch_memory_.get();
  handler_options.offsets_topic_replication_factor = config_.offsets_topic_replication_factor;
  handler_options.create_offsets_topic = [this] {
    // Kafka's: compacted, and small segments so compaction can run.
    CreateInternalTopic(group::kOffsetsTopic, config_.offsets_topic_num_partitions,
                        config_.offsets_topic_replication_factor,
                        {{"cleanup.policy", "compact"},
                         {"compression.type", "producer"},
                         {"segment.bytes", "104857600"}});
  };
  handler_options.transactions = txn_coordinator_.get();
  // A transaction's marker on __consumer_offsets completes its offsets.
  handler_options.on_txn_marker_written = [this](const request::TxnMarkerEntry& marker,
                                                 const request::TxnMarkerPartition& partition) {
    if (partition.topic != group::kOffsetsTopic) return;
    coordinator_->OnTxnCompleted(partition.partition, marker.producer_id, marker.committed);
  };
  handler_options.transaction_state_replication_factor =
      config_.transaction_state_log_replication_factor;
  handler_options.create_transaction_state_topic = [this] {
    const int32_t rf = config_.transaction_state_log_replication_factor;
    CreateInternalTopic(
        txn::kTransactionStateTopic, config_.transaction_state_log_num_partitions, rf,
        {{"cleanup.policy", "compact"},
         {"compression.type", "producer"},
         {"unclean.leader.election.enable", "false"},
         {"min.insync.replicas",
          std::to_string(std::min(config_.transaction_state_log_min_isr, rf))},
         {"segment.bytes", std::to_string(config_.transaction_state_log_segment_bytes)}});
  };
  handler_options.auto_create_topics_enable = config_.auto_create_topics_enable;
  handler_options.num_partitions = config_.num_partitions;
  handler_options.default_replication_factor = config_.default_replication_factor;
  handler_options.producer_id_manager = producer_ids_.get();
  handler_options.create_topics = [this](metadata::CreateTopicsRequest request) {
    admin_service_->ops()->AutoCreateTopics(
        std::move(request), [](metadata::CreateTopicsResponse response) {
          for (const metadata::TopicResult& r : response.results) {
            if (r.error != ErrorCode::kNone && r.error != ErrorCode::kTopicAlreadyExists) {
              LOG(WARNING) << "Creating " << r.name
                           << " (auto.create.topics.enable): " << ErrorName(r.error) << " "
                           << r.error_message;
            }
          }
        });
  };
  handlers_ = std::make_unique<request::RequestHandlers>(std::move(handler_options));
  request::AccessControl::Options access_options;
  access_options.enabled = config_.authorizer_enabled;
  access_options.authorizer.super_users = config_.super_users;
  access_options.authorizer.allow_everyone_if_no_acl_found = config_.allow_everyone_if_no_acl_found;
  access_options.acls = [this]() -> std::shared_ptr<const security::AclSnapshot> {
    std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
    return image ? image->acls() : nullptr;
  };
  access_ = std::make_unique<request::AccessControl>(std::move(access_options));
  // SCRAM users (both client listeners) are the metadata log's credentials.
  scram_credentials_ = [this](security::ScramMechanism m,
                              const std::string& user) -> std::optional<security::ScramCredential> {
    std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
    if (image == nullptr) return std::nullopt;
    return image->ScramCredential(user, m);
  };
  throttler_ = std::make_unique<request::Throttler>(
      security::ClientQuotaManager::Options{
          .num_windows = config_.quota_window_num,
          .window_ms = int64_t{config_.quota_window_size_seconds} * 1000},
      clock_);
  // The quotas follow the metadata log (set only when they changed).
  metadata_->Subscribe([this, last = std::shared_ptr<const metadata::ClientQuotas>()](
                           const std::shared_ptr<const metadata::MetadataImage>& image) mutable {
    if (image == nullptr || image->client_quotas() == last) return;
    last = image->client_quotas();
    throttler_->SetQuotas(*last);
  });
  const ServiceSecurity service_security{
      .access = access_.get(), .throttler = throttler_.get(), .listener = "PLAINTEXT"};
  TxnMarkerSenderOptions marker_options;
  marker_options.broker_id = config_.node_id;
  marker_options.image = [this] { return metadata_->current(); };
  marker_options.channel = [this](int32_t broker_id) { return ChannelToBroker(broker_id); };
  marker_options.local = handlers_.get();
  marker_sender_ = std::make_unique<TxnMarkerSender>(std::move(marker_options));
  transaction_service_ = std::make_unique<TransactionService>(
      txn_coordinator_.get(), coordinator_.get(), handlers_.get(), service_security);
  txn_marker_service_ = std::make_unique<TxnMarkerService>(handlers_.get());
  broker_service_ = std::make_unique<BrokerService>(
      handlers_.get(), service_security,
      metrics_ ? &metrics_->Request("Produce", "grpc") : nullptr);
  group_service_ =
      std::make_unique<GroupService>(coordinator_.get(), handlers_.get(), service_security);
  replica_service_ = std::make_unique<ReplicaService>(handlers_.get());
  // On a broker-only node controller_ and raft_ are null: it is never the
  // controller, so the admin service forwards every change, and asks the
  // leader for the quorum's state.
  AdminRouter::Options admin_options;
  admin_options.node_id = config_.node_id;
  admin_options.log_overrides = config_.log_overrides;
  admin_service_ = std::make_unique<AdminService>(
      config_, metadata_.get(), raft_.get(), controller_channel_.get(), handlers_.get(),
      std::make_unique<AdminRouter>(std::move(admin_options), metadata_.get(),
                                    AdminRouter::LocalControllerOf(controller_.get()),
                                    controller_channel_.get(), purgatory_.get(), clock_),
      service_security);
  if (controller_) {
    controller_service_ = std::make_unique<ControllerService>(controller_.get());
  } else {
    controller_service_ = std::make_unique<NotControllerService>(
        config_.node_id, [this] { return QuorumLeaderId(); });
  }
}

namespace {

// gRPC binds with SO_REUSEPORT unless told otherwise, so a second server
// configured with the same port would start and silently take half of the
// first one's connections. A listener owns its port, as Kafka's do.
void RefuseSharedPort(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

// Caps what a server's connections may hold at once. gRPC (1.51) checks a
// message's size against the maximum only once all of it has arrived, and
// opens the HTTP/2 window for whatever size the message's prefix declares:
// without a cap, one call declaring 2 GiB makes the server buffer 2 GiB
// before it answers RESOURCE_EXHAUSTED. Over the quota, gRPC cancels a
// stream of a connection holding memory (ENHANCE_YOUR_CALM, which clients
// see as RESOURCE_EXHAUSTED).
void BoundMemory(grpc::ServerBuilder& builder, const std::string& name, int64_t bytes) {
  grpc::ResourceQuota quota("strata-" + name);
  quota.Resize(static_cast<size_t>(bytes));
  builder.SetResourceQuota(quota);  // the builder holds a reference
}

}  // namespace

absl::Status StrataNode::Listen() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  {
    grpc::ServerBuilder builder;
    const Listener* l = config_.listener("CONTROLLER");
    builder.AddListeningPort(l->address(), controller_security_->server_credentials());
    RefuseSharedPort(builder);
    if (raft_) builder.RegisterService(raft_->service());
    builder.RegisterService(controller_service_.get());
    builder.RegisterService(replica_service_.get());
    builder.RegisterService(txn_marker_service_.get());
    // Peers send Raft entries and snapshots, ISR changes, markers: a
    // generous bound, never below what a client may send.
    const int32_t max_message = std::max(64 << 20, config_.socket_request_max_bytes);
    builder.SetMaxReceiveMessageSize(max_message);
    // Room for two of the largest messages, and never below 256 MiB: Raft
    // and replication traffic comes in bulk, from known peers.
    BoundMemory(builder, "controller", std::max(int64_t{256} << 20, int64_t{2} * max_message));
    controller_server_ = builder.BuildAndStart();
    if (!controller_server_) {
      return absl::UnavailableError(absl::StrCat("cannot listen on CONTROLLER ", l->address()));
    }
  }
  // max.connections and max.connections.per.ip[.overrides] count the
  // client listeners' connections together (the KAFKA ones and the gRPC
  // PLAINTEXT one), as Kafka's do; the CONTROLLER listener is not limited,
  // as Kafka exempts its inter-broker listener.
  absl::StatusOr<std::shared_ptr<kafka::ConnectionLimits>> connection_limits =
      kafka::ConnectionLimits::Create(
          {.max_connections = config_.max_connections,
           .max_connections_per_ip = config_.max_connections_per_ip,
           .max_connections_per_ip_overrides = config_.max_connections_per_ip_overrides});
  if (!connection_limits.ok()) return connection_limits.status();
  if (const Listener* l = config_.listener("PLAINTEXT")) {
    grpc::ServerBuilder builder;
    // Our own accept loop: connections over max.connections are closed
    // before gRPC allocates anything for them.
    client_connection_limit_ = std::make_unique<GrpcConnectionLimit>(*connection_limits);
    if (absl::Status s = client_connection_limit_->Listen(builder, "PLAINTEXT", l->host, l->port,
                                                          client_security_->server_credentials());
        !s.ok()) {
      return s;
    }
    builder.RegisterService(broker_service_.get());
    builder.RegisterService(admin_service_.get());
    if (config_.metrics_enabled) {
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> timers;
      timers.push_back(std::make_unique<GrpcRequestMetrics>(
          metrics_.get(), std::vector<std::string>{"strata.v1.Broker", "strata.v1.Admin",
                                                   "strata.v1.Group", "strata.v1.Transaction",
                                                   "strata.v1.Sasl"}));
      builder.experimental().SetInterceptorCreators(std::move(timers));
    }
    builder.RegisterService(group_service_.get());
    builder.RegisterService(transaction_service_.get());
    if (sasl_service_) builder.RegisterService(sasl_service_.get());
    // Kafka's socket.request.max.bytes: the largest request a client may send.
    builder.SetMaxReceiveMessageSize(config_.socket_request_max_bytes);
    // Room for one of the largest requests and 32 MiB more, never below
    // 64 MiB: what a client declaring a huge message can make the node hold
    // before its call is cancelled.
    BoundMemory(builder, "client",
                std::max(int64_t{64} << 20, int64_t{config_.socket_request_max_bytes} + (32 << 20)));
    client_server_ = builder.BuildAndStart();
    if (!client_server_) {
      return absl::UnavailableError(absl::StrCat("cannot listen on PLAINTEXT ", l->address()));
    }
    client_connection_limit_->Start();
  }
  for (const std::string& name : config_.kafka_listener_names) {
    const Listener* l = config_.listener(name);
    if (l == nullptr) continue;
    kafka::KafkaListener::Options o;
    o.name = name;
    o.host = l->host;
    o.port = l->port;
    o.socket_request_max_bytes = config_.socket_request_max_bytes;
    o.num_network_threads = config_.num_network_threads;
    o.num_io_threads = config_.num_io_threads;
    o.connections_max_idle_ms = config_.connections_max_idle_ms;
    o.socket_send_buffer_bytes = config_.socket_send_buffer_bytes;
    o.socket_receive_buffer_bytes = config_.socket_receive_buffer_bytes;
    o.max_inflight_requests_per_connection = config_.kafka_max_inflight_requests_per_connection;
    o.queued_max_requests = config_.queued_max_requests;
    o.queued_max_request_bytes = config_.queued_max_request_bytes;
    // TLS and SASL as listener.security.protocol.map and the ssl.* / sasl.*
    // keys say; fail closed rather than serve a listener in plaintext.
    auto security = config_.listener_security.find(name);
    if (security == config_.listener_security.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener ", name, " has no security settings (listener_security)"));
    }
    o.security = security->second;
    o.connection_limits = *connection_limits;
    o.scram_credentials = scram_credentials_;
    absl::StatusOr<std::unique_ptr<kafka::KafkaListener>> listener =
        kafka::KafkaListener::Start(std::move(o), {.handlers = handlers_.get(),
                                                   .groups = coordinator_.get(),
                                                   .admin = admin_service_->ops(),
                                                   .txns = txn_coordinator_.get(),
                                                   .access = access_.get(),
                                                   .throttler = throttler_.get(),
                                                   .metrics = config_.metrics_enabled
                                                                  ? metrics_.get()
                                                                  : nullptr});
    if (!listener.ok()) return listener.status();
    kafka_listeners_.push_back(*std::move(listener));
  }
  return absl::OkStatus();
}

// Periodic work runs on the log manager's scheduler, one task at a time:
// its own flush.ms check ("log-flusher"), ISR shrinking and repair/scrub,
// each every second.
void StrataNode::StartPeriodicWork() {
  constexpr int64_t kPeriodMs = 1000;
  next_scrub_ms_ = clock_->NowMs();
  storage::Scheduler& scheduler = logs_->scheduler();
  for (absl::Status s :
       {scheduler.Schedule("isr-expiration", kPeriodMs, [this] { replicas_->MaybeShrinkIsr(); }),
        scheduler.Schedule("replica-repair-and-scrub", kPeriodMs, [this] { RepairAndScrub(); }),
        scheduler.Schedule("group-offsets-expiration", config_.offsets_retention_check_interval_ms,
                           [this] { coordinator_->ExpireOffsets(); }),
        scheduler.Schedule("transaction-abort-timed-out",
                           config_.transaction_abort_timed_out_transaction_cleanup_interval_ms,
                           [this] { txn_coordinator_->AbortTimedOutTransactions(); }),
        scheduler.Schedule("transactional-id-expiration",
                           config_.transaction_remove_expired_transaction_cleanup_interval_ms,
                           [this] { txn_coordinator_->RemoveExpiredTransactionalIds(); }),
        logs_->StartScheduler()}) {
    CHECK(s.ok()) << "Scheduling periodic work: " << s;
  }
}

void StrataNode::RepairAndScrub() {
  // The scrub reads at most kScrubBytesPerTick a run (a run a second), and
  // after a whole pass waits log.scrub.interval.ms.
  constexpr size_t kScrubBytesPerTick = 8 << 20;
  const bool scrub = config_.log_scrub_interval_ms >= 0 && clock_->NowMs() >= next_scrub_ms_;
  if (replicas_->MaybeRepairAndScrub(scrub ? kScrubBytesPerTick : 0) && scrub) {
    next_scrub_ms_ = clock_->NowMs() + config_.log_scrub_interval_ms;
  }
}

absl::Status StrataNode::ListenHttp() {
  NodeMetricsSources sources;
  sources.node_id = config_.node_id;
  sources.image = [this] { return metadata_->current(); };
  sources.controller_id = [this] { return QuorumLeaderId(); };
  auto broker_defaults =
      std::make_shared<metadata::BrokerLogDefaultsCache>(config_.log_overrides, config_.node_id);
  sources.min_insync_replicas = [this, broker_defaults](const metadata::TopicInfo& topic) {
    return metadata::TopicLogConfig(*broker_defaults->For(*metadata_->current()), topic)
        .min_insync_replicas;
  };
  sources.replicas = replicas_.get();
  sources.raft = raft_.get();
  sources.groups = coordinator_.get();
  sources.transactions = txn_coordinator_.get();
  // The high watermarks of partitions led elsewhere, from their leaders
  // (Replica.ListOffsets on the CONTROLLER listener), for consumer lag.
  sources.end_offsets = [this](int32_t leader, const NodeMetricsSources::Partitions& partitions,
                               bool read_committed) {
    std::map<std::pair<std::string, int32_t>, int64_t> out;
    std::shared_ptr<grpc::Channel> channel = ChannelToBroker(leader);
    if (channel == nullptr) return out;
    v1::ListOffsetsRequest request;
    request.set_isolation_level(read_committed ? v1::READ_COMMITTED : v1::READ_UNCOMMITTED);
    std::map<std::string, v1::ListOffsetsTopic*> topics;
    for (const auto& [topic, partition] : partitions) {
      v1::ListOffsetsTopic*& t = topics[topic];
      if (t == nullptr) {
        t = request.add_topics();
        t->set_topic(topic);
      }
      v1::ListOffsetsPartition* p = t->add_partitions();
      p->set_partition(partition);
      p->set_timestamp(-1);  // latest: the high watermark, or the last stable offset
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    v1::ListOffsetsResponse response;
    if (!internal::Replica::NewStub(channel)->ListOffsets(&ctx, request, &response).ok()) {
      return out;
    }
    for (const v1::ListOffsetsTopicResponse& t : response.topics()) {
      for (const v1::ListOffsetsPartitionResponse& p : t.partitions()) {
        if (p.error() == v1::NONE && p.offset() >= 0) out[{t.topic(), p.partition()}] = p.offset();
      }
    }
    return out;
  };
  auto console_sources = std::make_shared<const NodeMetricsSources>(sources);
  RegisterNodeCollectors(*metrics_, std::move(sources));

  const Listener* l = config_.listener("HTTP");
  if (l == nullptr) return absl::OkStatus();
  HttpListener::Options o;
  o.host = l->host;
  o.port = l->port;
  auto security = config_.listener_security.find("HTTP");
  if (security != config_.listener_security.end() &&
      security::UsesTls(security->second.protocol)) {
    absl::StatusOr<std::unique_ptr<security::TlsContext>> tls =
        security::TlsContext::Create(security->second.tls);
    if (!tls.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("listener HTTP: ", tls.status().message()));
    }
    o.tls = std::shared_ptr<security::TlsContext>(*std::move(tls));
    absl::StatusOr<security::SslPrincipalMapper> mapper =
        security::SslPrincipalMapper::Parse(security->second.tls.principal_mapping_rules);
    if (!mapper.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener HTTP: ssl.principal.mapping.rules: ", mapper.status().message()));
    }
    o.mapping = std::make_shared<security::SslPrincipalMapper>(*std::move(mapper));
  }
  // With an authorizer, the HTTP listener shows the cluster to those who
  // may describe it (Describe on the cluster, or a super user).
  if (access_ != nullptr && access_->enabled()) {
    o.authorize = [this](const security::Session& session) {
      return access_->AllowedCluster(session, security::AclOperation::kDescribe);
    };
  }
  std::map<std::string, HttpHandler> routes;
  routes["/metrics"] = [this](const HttpRequest&) {
    HttpResponse r = HttpResponse::Text(200, metrics_->Scrape());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  AddConsoleRoutes(std::move(console_sources), metrics_.get(),
                   o.tls != nullptr ? "https" : "http", routes);
  absl::StatusOr<std::unique_ptr<HttpListener>> http =
      HttpListener::Start(std::move(o), std::move(routes));
  if (!http.ok()) return http.status();
  http_listener_ = *std::move(http);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> StrataNode::ChannelToBroker(int32_t broker_id) {
  std::shared_ptr<const metadata::MetadataImage> image = replicas_->image();
  const metadata::BrokerRegistration* b = image ? image->broker(broker_id) : nullptr;
  const metadata::Endpoint* ep = b ? b->endpoint("CONTROLLER") : nullptr;
  if (ep == nullptr) return nullptr;
  const std::string address = absl::StrCat(ep->host, ":", ep->port);
  absl::MutexLock l(&channels_mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[address];
  if (!channel) channel = raft::PeerChannel(address);
  return channel;
}

bool StrataNode::RegisteredIn(const metadata::MetadataImage& image) const {
  const metadata::BrokerRegistration* b = image.broker(config_.node_id);
  return b != nullptr && b->incarnation_id == incarnation_id_;
}

void StrataNode::ControlledShutdown() {
  if (!lifecycle_ || !lifecycle_->ControlledShutdown()) return;
  HandOverQuorumLeadership();
  LOG(INFO) << "Controlled shutdown: this broker leads " << replicas_->LeaderCount()
            << " partitions; stopping";
}

int32_t StrataNode::QuorumLeaderId() const {
  raft::NodeId leader;
  if (raft_) {
    leader = raft_->status().leader;
  } else if (observer_) {
    leader = observer_->status().leader;
  }
  return leader == raft::kNoNode ? -1 : static_cast<int32_t>(leader.value());
}

void StrataNode::HandOverQuorumLeadership() {
  // Rather than leave it to an election after this node is gone. A
  // broker-only node has no leadership to hand over.
  if (!raft_) return;
  if (raft_->status().role != raft::Role::kLeader || config_.quorum_voters.size() <= 1) return;
  for (const QuorumVoter& v : config_.quorum_voters) {
    if (v.id == config_.node_id) continue;
    raft_->TransferLeadership(raft::NodeId(static_cast<uint64_t>(v.id)));
    break;
  }
  const int64_t until_ms = clock_->NowMs() + 3000;
  while (raft_->status().role == raft::Role::kLeader && clock_->NowMs() < until_ms) {
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void StrataNode::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
  }
  if (config_.controlled_shutdown_enable && replicas_) ControlledShutdown();
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  // No scrape reads the node while it takes itself apart.
  if (http_listener_) http_listener_->Stop();
  // Answers held back for quotas go out now, while the listeners are up;
  // from here on nothing is held.
  if (throttler_) throttler_->Stop();
  // Kafka clients are served through the controlled shutdown, as gRPC ones.
  for (auto& l : kafka_listeners_) l->Stop();
  if (lifecycle_) lifecycle_->Stop();
  if (isr_sender_) isr_sender_->Stop();
  if (producer_ids_) producer_ids_->Stop();
  if (fetchers_) fetchers_->Stop();
  // Before the servers and the quorum go, so no ISR shrink or repair runs
  // against a node taking itself apart.
  if (logs_) logs_->scheduler().Stop();
  if (metadata_applier_.joinable()) metadata_applier_.join();
  // Parked group calls are answered NOT_COORDINATOR before the purgatory
  // expires what is left.
  if (coordinator_) coordinator_->Shutdown();
  // The transaction coordinator first (its requests waiting on appends get
  // NOT_COORDINATOR), then what it hands work to.
  if (txn_coordinator_) txn_coordinator_->Shutdown();
  if (txn_tasks_) txn_tasks_->Stop();
  if (marker_sender_) marker_sender_->Stop();
  if (purgatory_) purgatory_->Shutdown();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (client_connection_limit_) client_connection_limit_->Stop();
  if (client_server_) client_server_->Shutdown(deadline);
  if (controller_) controller_->Stop();
  if (controller_server_) controller_server_->Shutdown(deadline);
  if (raft_) raft_->Stop();
  if (observer_) observer_->Stop();
  if (logs_) {
    if (absl::Status s = logs_->Close(); !s.ok()) LOG(ERROR) << "Closing logs: " << s;
  }
  LOG(INFO) << "Strata node " << config_.node_id << " stopped";
}

}  // namespace strata::server
