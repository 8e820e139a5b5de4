#include "broker/server/strata_node.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <sys/resource.h>

#include <algorithm>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/clock.h"
#include "broker/common/numbers.h"
#include "broker/replication/replica_fetcher.h"
#include "broker/replication/replica_manager.h"
#include "broker/server/admin_service.h"
#include "broker/server/broker_service.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/purgatory.h"
#include "broker/server/quorum_controller.h"
#include "broker/server/replica_service.h"
#include "broker/server/topic_configs.h"
#include "broker/storage/log_manager.h"
#include "glog/logging.h"
#include "raft/node/raft_node.h"
#include "strata/internal/controller.grpc.pb.h"

namespace strata::server {

struct ControllerStubs : std::map<int32_t, std::unique_ptr<internal::Controller::Stub>> {};

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
  return std::max<int64_t>(1, (open_files - kDescriptorReserve) /
                                  storage::LogManager::kDescriptorsPerIdleReplica);
}

// A Controller stub per metadata quorum voter (any of them may be the
// controller), by node id.
ControllerStubs StubsForVoters(const ServerConfig& config) {
  ControllerStubs stubs;
  for (const QuorumVoter& v : config.quorum_voters) {
    stubs[v.id] =
        internal::Controller::NewStub(raft::PeerChannel(absl::StrCat(v.host, ":", v.port)));
  }
  return stubs;
}

}  // namespace

StrataNode::StrataNode(ServerConfig config)
    : config_(std::move(config)), incarnation_id_(NewIncarnationId()) {}

bool StrataNode::RegisteredIn(const metadata::MetadataImage& image) const {
  const metadata::BrokerRegistration* b = image.broker(config_.node_id);
  return b != nullptr && b->incarnation_id == incarnation_id_;
}

StrataNode::~StrataNode() { Stop(); }

absl::Status StrataNode::Start() {
  metadata_ = std::make_unique<MetadataStateMachine>(config_.cluster_id);

  storage::LogManager::Options log_options;
  log_options.log_dirs = config_.log_dirs;
  log_options.config_for_topic = [this](const std::string& topic) {
    const metadata::TopicInfo* t = metadata_->current()->FindTopic(topic);
    return LogConfigFor(config_.log_overrides,
                        t ? t->configs : std::map<std::string, std::string>{});
  };
  absl::StatusOr<std::unique_ptr<storage::LogManager>> logs =
      storage::LogManager::Open(storage::FileSystem::Default(), Clock::Real(), log_options);
  if (!logs.ok()) return logs.status();
  logs_ = std::move(*logs);

  replication::ReplicaManagerOptions replica_options;
  replica_options.broker_id = config_.node_id;
  replica_options.replica_lag_time_max_ms = config_.replica_lag_time_max_ms;
  replica_options.min_insync_replicas = [this](const metadata::TopicInfo& topic) {
    const auto configs = EffectiveTopicConfigs(config_.log_overrides, topic.configs);
    return ParseInteger<int32_t>(configs.at("min.insync.replicas").value).value_or(1);
  };
  replica_options.unclean_leader_election = [this](const metadata::TopicInfo& topic) {
    const auto configs = EffectiveTopicConfigs(config_.log_overrides, topic.configs);
    return absl::EqualsIgnoreCase(configs.at("unclean.leader.election.enable").value, "true");
  };
  replica_options.on_offline = [this] {
    absl::MutexLock l(&mu_);
    heartbeat_now_ = true;
  };
  replica_options.alter_partition = [this](replication::IsrChange change) {
    absl::MutexLock l(&mu_);
    isr_changes_.push_back(std::move(change));
  };
  replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), replica_options);
  purgatory_ = std::make_unique<Purgatory>(replicas_.get());
  replication::ReplicaFetcherOptions fetcher_options;
  fetcher_options.broker_id = config_.node_id;
  fetcher_options.max_wait_ms = config_.replica_fetch_wait_max_ms;
  fetcher_options.max_bytes = config_.replica_fetch_response_max_bytes;
  fetcher_options.partition_max_bytes = config_.replica_fetch_max_bytes;
  fetcher_options.backoff_ms = config_.replica_fetch_backoff_ms;
  fetcher_options.channel_for = [this](int32_t id) { return ChannelToBroker(id); };
  fetchers_ = std::make_unique<replication::ReplicaFetcherManager>(replicas_.get(), fetcher_options);
  metadata_->Subscribe([this](const std::shared_ptr<const metadata::MetadataImage>& image) {
    absl::MutexLock l(&mu_);
    pending_image_ = image;
  });
  metadata_applier_ = std::thread([this] {
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
    }
  });

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
  absl::StatusOr<std::unique_ptr<raft::RaftNode>> raft =
      raft::RaftNode::Create(raft_options, metadata_.get());
  if (!raft.ok()) return raft.status();
  raft_ = std::move(*raft);
  replicas_->SetCaughtUpOffset(static_cast<int64_t>(raft_->initial_commit().value()));

  metadata::ControllerOptions controller_options;
  controller_options.default_num_partitions = config_.num_partitions;
  controller_options.default_replication_factor = config_.default_replication_factor;
  controller_options.broker_session_timeout_ms = config_.broker_session_timeout_ms;
  controller_options.unclean_leader_election_enable = config_.unclean_leader_election_enable;
  controller_options.auto_leader_rebalance_enable = config_.auto_leader_rebalance_enable;
  controller_options.leader_imbalance_check_interval_ms =
      config_.leader_imbalance_check_interval_seconds * 1000;
  controller_options.leader_imbalance_per_broker_percentage =
      config_.leader_imbalance_per_broker_percentage;
  controller_ = std::make_unique<QuorumController>(controller_options, raft_.get(), metadata_.get(),
                                                   Clock::Real());

  // Consumers and followers draw on pools of their own, so that consumers
  // reading much at once never starve replication (and the ISR).
  fetch_memory_ = std::make_unique<FetchMemory>(config_.fetch_max_inflight_bytes);
  replica_fetch_memory_ = std::make_unique<FetchMemory>(config_.fetch_max_inflight_bytes);
  const FetchLimits fetch_limits{static_cast<size_t>(config_.fetch_max_bytes), fetch_memory_.get()};
  const FetchLimits replica_fetch_limits{static_cast<size_t>(config_.fetch_max_bytes),
                                         replica_fetch_memory_.get()};
  broker_service_ = std::make_unique<BrokerService>(
      replicas_.get(), metadata_.get(), purgatory_.get(),
      [this] { return controller_->leader_id(); }, fetch_limits, Clock::Real());
  replica_service_ =
      std::make_unique<ReplicaService>(replicas_.get(), purgatory_.get(), replica_fetch_limits);
  admin_service_ =
      std::make_unique<AdminService>(config_, metadata_.get(), controller_.get(), raft_.get());
  controller_service_ = std::make_unique<ControllerService>(controller_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  {
    grpc::ServerBuilder builder;
    const Listener* l = config_.listener("CONTROLLER");
    builder.AddListeningPort(l->address(), grpc::InsecureServerCredentials());
    builder.RegisterService(raft_->service());
    builder.RegisterService(controller_service_.get());
    builder.RegisterService(replica_service_.get());
    builder.SetMaxReceiveMessageSize(64 << 20);
    controller_server_ = builder.BuildAndStart();
    if (!controller_server_) {
      return absl::UnavailableError(absl::StrCat("cannot listen on CONTROLLER ", l->address()));
    }
  }
  if (const Listener* l = config_.listener("PLAINTEXT")) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(l->address(), grpc::InsecureServerCredentials());
    builder.RegisterService(broker_service_.get());
    builder.RegisterService(admin_service_.get());
    builder.SetMaxReceiveMessageSize(std::max(64 << 20, config_.message_max_bytes * 2));
    client_server_ = builder.BuildAndStart();
    if (!client_server_) {
      return absl::UnavailableError(absl::StrCat("cannot listen on PLAINTEXT ", l->address()));
    }
  }
  raft_->Start();
  controller_->Start();
  // One stub per voter for every call to the controller (stubs are
  // thread-safe): registration, heartbeats, ISR changes.
  controller_stubs_ = std::make_unique<ControllerStubs>(StubsForVoters(config_));
  lifecycle_ = std::thread([this] { LifecycleLoop(); });
  isr_sender_ = std::thread([this] { IsrSenderLoop(); });
  fetchers_->Start();
  maintenance_ = std::thread([this] {
    absl::Time next_scrub = absl::Now();
    while (true) {
      {
        absl::MutexLock l(&mu_);
        auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(1))) return;
      }
      if (absl::Status s = logs_->MaybeFlushOnTime(); !s.ok()) LOG(ERROR) << s;
      replicas_->MaybeShrinkIsr();
      // The scrub reads at most kScrubBytesPerTick a second, and after a
      // whole pass waits log.scrub.interval.ms.
      constexpr size_t kScrubBytesPerTick = 8 << 20;
      const bool scrub = config_.log_scrub_interval_ms >= 0 && absl::Now() >= next_scrub;
      if (replicas_->MaybeRepairAndScrub(scrub ? kScrubBytesPerTick : 0) && scrub) {
        next_scrub = absl::Now() + absl::Milliseconds(config_.log_scrub_interval_ms);
      }
    }
  });
  LOG(INFO) << "Strata node " << config_.node_id << " started: clients on "
            << (config_.listener("PLAINTEXT") ? config_.listener("PLAINTEXT")->address() : "-")
            << ", peers on " << config_.listener("CONTROLLER")->address();
  return absl::OkStatus();
}

void StrataNode::LifecycleLoop() {
  const ControllerStubs& stubs = *controller_stubs_;
  internal::BrokerRegistrationRequest registration;
  registration.set_broker_id(config_.node_id);
  registration.set_incarnation_id(incarnation_id_);
  registration.set_replica_capacity(ReplicaCapacity(config_));
  LOG(INFO) << "Broker " << config_.node_id << " can hold " << registration.replica_capacity()
            << " partition replicas";
  for (const char* name : {"PLAINTEXT", "CONTROLLER"}) {
    if (const Listener* l = config_.advertised(name)) {
      internal::BrokerEndpoint* ep = registration.add_endpoints();
      ep->set_name(name);
      ep->set_host(l->host.empty() || l->host == "0.0.0.0" ? "localhost" : l->host);
      ep->set_port(l->port);
    }
  }
  int64_t epoch = -1;
  bool fenced = true;
  auto stopping = [this] {
    absl::MutexLock l(&mu_);
    return stopping_;
  };
  // Sleeps unless the node is stopping or shutting down in a controlled
  // way (then it returns at once).
  auto pause = [this](absl::Duration d) {
    absl::MutexLock l(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || want_shutdown_ || heartbeat_now_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&stop), d);
    heartbeat_now_ = false;
  };
  while (!stopping()) {
    const int32_t controller = controller_->leader_id();
    auto stub = stubs.find(controller);
    if (stub == stubs.end()) {
      pause(absl::Milliseconds(100));
      continue;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (epoch < 0) {
      internal::BrokerRegistrationResponse resp;
      grpc::Status s = stub->second->RegisterBroker(&ctx, registration, &resp);
      if (s.ok() && resp.error() == v1::NONE) {
        epoch = resp.broker_epoch();
        {
          absl::MutexLock l(&mu_);
          broker_epoch_ = epoch;
        }
        LOG(INFO) << "Registered with controller " << controller << " in broker epoch " << epoch;
        continue;
      }
      VLOG(1) << "Registration: " << (s.ok() ? resp.error_message() : s.error_message());
      pause(absl::Milliseconds(200));
      continue;
    }
    internal::BrokerHeartbeatRequest hb;
    hb.set_broker_id(config_.node_id);
    hb.set_broker_epoch(epoch);
    hb.set_current_metadata_offset(metadata_->current()->offset());
    for (const auto& [topic_id, partition] : replicas_->OfflineReplicas()) {
      internal::OfflineReplica* o = hb.add_offline_replicas();
      o->set_topic_id(topic_id);
      o->set_partition(partition);
    }
    bool want_shutdown = false;
    {
      absl::MutexLock l(&mu_);
      want_shutdown = want_shutdown_;
    }
    hb.set_want_shutdown(want_shutdown);
    internal::BrokerHeartbeatResponse resp;
    grpc::Status s = stub->second->BrokerHeartbeat(&ctx, hb, &resp);
    if (want_shutdown && s.ok() && resp.error() == v1::NONE && resp.should_shutdown()) {
      LOG(INFO) << "The controller moved leadership away for a controlled shutdown";
      absl::MutexLock l(&mu_);
      shutdown_granted_ = true;
      return;
    }
    if (s.ok() && resp.error() == v1::STALE_BROKER_EPOCH) {
      LOG(WARNING) << "Controller does not know broker epoch " << epoch << "; registering again";
      epoch = -1;
      continue;
    }
    if (s.ok() && resp.error() == v1::NONE && fenced != resp.is_fenced()) {
      fenced = resp.is_fenced();
      LOG(INFO) << "Broker " << config_.node_id << (fenced ? " fenced" : " unfenced");
    }
    // Heartbeat faster while fenced, so unfencing follows catching up closely.
    if (want_shutdown) {
      pause(absl::Milliseconds(100));
      continue;
    }
    pause(absl::Milliseconds(fenced ? std::min<int64_t>(200, config_.broker_heartbeat_interval_ms)
                                    : config_.broker_heartbeat_interval_ms));
  }
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

void StrataNode::IsrSenderLoop() {
  // Enough for a full restart of thousands of partitions in a few round
  // trips, small enough for one request.
  constexpr size_t kMaxChangesPerRequest = 2000;
  const ControllerStubs& stubs = *controller_stubs_;
  while (true) {
    std::vector<replication::IsrChange> changes;
    int64_t epoch = -1;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !isr_changes_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      while (!isr_changes_.empty() && changes.size() < kMaxChangesPerRequest) {
        changes.push_back(std::move(isr_changes_.front()));
        isr_changes_.pop_front();
      }
      epoch = broker_epoch_;
    }
    internal::AlterPartitionBatchRequest request;
    for (const replication::IsrChange& change : changes) {
      internal::AlterPartitionRequest* r = request.add_partitions();
      r->set_broker_id(config_.node_id);
      r->set_broker_epoch(epoch);
      r->set_topic_id(change.topic_id);
      r->set_partition(change.tp.partition.value());
      r->set_leader_epoch(change.leader_epoch);
      r->set_partition_epoch(change.partition_epoch);
      for (int32_t id : change.new_isr) r->add_new_isr(id);
    }
    std::vector<replication::IsrChangeResult> results(changes.size());
    auto fail_all = [&results](v1::ErrorCode code, const std::string& why) {
      for (replication::IsrChangeResult& result : results) {
        result.error = code;
        result.message = why;
      }
    };
    auto stub = stubs.find(controller_->leader_id());
    if (stub == stubs.end()) {
      fail_all(v1::NOT_CONTROLLER, "no controller is known");
    } else {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      internal::AlterPartitionBatchResponse resp;
      grpc::Status s = stub->second->AlterPartition(&ctx, request, &resp);
      if (!s.ok()) {
        fail_all(v1::NETWORK_EXCEPTION, s.error_message());
      } else if (resp.partitions_size() != static_cast<int>(changes.size())) {
        fail_all(v1::UNKNOWN_SERVER_ERROR,
                 absl::StrCat("the controller answered ", resp.partitions_size(), " of ",
                              changes.size(), " ISR changes"));
      } else {
        for (size_t i = 0; i < changes.size(); ++i) {
          const internal::AlterPartitionResponse& one = resp.partitions(static_cast<int>(i));
          replication::IsrChangeResult& result = results[i];
          result.error = one.error();
          result.message = one.error_message();
          result.leader_epoch = one.leader_epoch();
          result.partition_epoch = one.partition_epoch();
          result.isr.assign(one.isr().begin(), one.isr().end());
        }
      }
    }
    for (size_t i = 0; i < changes.size(); ++i) replicas_->OnIsrChangeResult(changes[i], results[i]);
  }
}

void StrataNode::ControlledShutdown() {
  {
    absl::MutexLock l(&mu_);
    if (broker_epoch_ < 0 || !lifecycle_.joinable()) return;
    want_shutdown_ = true;
  }
  LOG(INFO) << "Controlled shutdown: asking the controller to move leadership away";
  // Bounded: 10 s, or 1 s without any known controller (the last nodes of
  // a cluster going down have no quorum to ask).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  absl::Time leaderless_since = absl::InfiniteFuture();
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto granted = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutdown_granted_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&granted), absl::Milliseconds(100))) break;
    }
    const absl::Time now = absl::Now();
    if (controller_->leader_id() < 0) {
      leaderless_since = std::min(leaderless_since, now);
    } else {
      leaderless_since = absl::InfiniteFuture();
    }
    if (now >= give_up || now - leaderless_since >= absl::Seconds(1)) {
      LOG(WARNING) << "Controlled shutdown: the controller did not grant it; stopping anyway";
      return;
    }
  }
  // Wait until this broker has applied the change, so that produce requests
  // it holds learn that it no longer leads and the clients retry elsewhere.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  uint64_t seen = replicas_->progress();
  while (replicas_->LeaderCount() > 0 && absl::Now() < deadline) {
    seen = replicas_->WaitForProgress(seen, deadline);
  }
  // Hand over the metadata quorum too, rather than leave it to an election.
  raft::RaftNodeStatus st = raft_->status();
  if (st.role == raft::Role::kLeader && config_.quorum_voters.size() > 1) {
    for (const QuorumVoter& v : config_.quorum_voters) {
      if (v.id == config_.node_id) continue;
      raft_->TransferLeadership(raft::NodeId(static_cast<uint64_t>(v.id)));
      break;
    }
    const absl::Time until = absl::Now() + absl::Seconds(3);
    while (raft_->status().role == raft::Role::kLeader && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  LOG(INFO) << "Controlled shutdown: this broker leads " << replicas_->LeaderCount()
            << " partitions; stopping";
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
  if (lifecycle_.joinable()) lifecycle_.join();
  if (isr_sender_.joinable()) isr_sender_.join();
  if (fetchers_) fetchers_->Stop();
  if (maintenance_.joinable()) maintenance_.join();
  if (metadata_applier_.joinable()) metadata_applier_.join();
  if (purgatory_) purgatory_->Shutdown();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (client_server_) client_server_->Shutdown(deadline);
  if (controller_) controller_->Stop();
  if (controller_server_) controller_server_->Shutdown(deadline);
  if (raft_) raft_->Stop();
  if (logs_) {
    if (absl::Status s = logs_->Close(); !s.ok()) LOG(ERROR) << "Closing logs: " << s;
  }
  LOG(INFO) << "Strata node " << config_.node_id << " stopped";
}

}  // namespace strata::server
