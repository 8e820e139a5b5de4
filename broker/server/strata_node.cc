#include "broker/server/strata_node.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/clock.h"
#include "broker/common/numbers.h"
#include "broker/replication/replica_manager.h"
#include "broker/server/admin_service.h"
#include "broker/server/broker_service.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/quorum_controller.h"
#include "broker/server/topic_configs.h"
#include "broker/storage/log_manager.h"
#include "glog/logging.h"
#include "raft/node/raft_node.h"
#include "strata/internal/controller.grpc.pb.h"

namespace strata::server {
namespace {

std::string NewIncarnationId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ absl::GetCurrentTimeNanos());
  return absl::StrCat(absl::Hex(rng(), absl::kZeroPad16), absl::Hex(rng(), absl::kZeroPad16));
}

}  // namespace

StrataNode::StrataNode(ServerConfig config) : config_(std::move(config)) {}

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

  replicas_ = std::make_unique<replication::ReplicaManager>(
      config_.node_id, logs_.get(), [this](const metadata::TopicInfo& topic) {
        const auto configs = EffectiveTopicConfigs(config_.log_overrides, topic.configs);
        return ParseInteger<int32_t>(configs.at("min.insync.replicas").value).value_or(1);
      });
  metadata_->Subscribe([this](const std::shared_ptr<const metadata::MetadataImage>& image) {
    absl::MutexLock l(&mu_);
    pending_image_ = image;
  });
  metadata_applier_ = std::thread([this] {
    while (true) {
      std::shared_ptr<const metadata::MetadataImage> image;
      {
        absl::MutexLock l(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || pending_image_ != nullptr;
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
  controller_ = std::make_unique<QuorumController>(controller_options, raft_.get(), metadata_.get(),
                                                   Clock::Real());

  broker_service_ = std::make_unique<BrokerService>(replicas_.get(), metadata_.get(),
                                                    [this] { return controller_->leader_id(); });
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
  lifecycle_ = std::thread([this] { LifecycleLoop(); });
  maintenance_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock l(&mu_);
        auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(1))) return;
      }
      if (absl::Status s = logs_->MaybeFlushOnTime(); !s.ok()) LOG(ERROR) << s;
    }
  });
  LOG(INFO) << "Strata node " << config_.node_id << " started: clients on "
            << (config_.listener("PLAINTEXT") ? config_.listener("PLAINTEXT")->address() : "-")
            << ", peers on " << config_.listener("CONTROLLER")->address();
  return absl::OkStatus();
}

void StrataNode::LifecycleLoop() {
  std::map<int32_t, std::unique_ptr<internal::Controller::Stub>> stubs;
  for (const QuorumVoter& v : config_.quorum_voters) {
    stubs[v.id] =
        internal::Controller::NewStub(raft::PeerChannel(absl::StrCat(v.host, ":", v.port)));
  }
  internal::BrokerRegistrationRequest registration;
  registration.set_broker_id(config_.node_id);
  registration.set_incarnation_id(NewIncarnationId());
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
  // Sleeps unless the node is stopping (then it returns at once).
  auto pause = [this](absl::Duration d) {
    absl::MutexLock l(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stop), d);
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
    internal::BrokerHeartbeatResponse resp;
    grpc::Status s = stub->second->BrokerHeartbeat(&ctx, hb, &resp);
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
    pause(absl::Milliseconds(fenced ? std::min<int64_t>(200, config_.broker_heartbeat_interval_ms)
                                    : config_.broker_heartbeat_interval_ms));
  }
}

void StrataNode::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (lifecycle_.joinable()) lifecycle_.join();
  if (maintenance_.joinable()) maintenance_.join();
  if (metadata_applier_.joinable()) metadata_applier_.join();
  if (broker_service_) broker_service_->Shutdown();
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
