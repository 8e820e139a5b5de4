#include "broker/server/broker_lifecycle_manager.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>

#include "broker/server/controller_channel.h"
#include "broker/server/server_config.h"
#include "glog/logging.h"
#include "strata/internal/controller.grpc.pb.h"

namespace strata::server {
namespace {

// gRPC deadlines are on its own (system) clock.
void SetCallDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace

std::vector<internal::BrokerEndpoint> AdvertisedEndpoints(const ServerConfig& config) {
  std::vector<internal::BrokerEndpoint> endpoints;
  for (const Listener& listener : config.listeners) {
    const Listener* l = config.advertised(listener.name);
    internal::BrokerEndpoint& ep = endpoints.emplace_back();
    ep.set_name(l->name);
    ep.set_host(l->host.empty() || l->host == "0.0.0.0" ? "localhost" : l->host);
    ep.set_port(l->port);
    auto protocol = config.listener_security_protocols.find(l->name);
    ep.set_security_protocol(
        protocol == config.listener_security_protocols.end() ? "PLAINTEXT" : protocol->second);
  }
  return endpoints;
}

BrokerLifecycleManager::BrokerLifecycleManager(BrokerLifecycleOptions options,
                                               ControllerChannel* controller, Clock* clock)
    : options_(std::move(options)), controller_(controller), clock_(clock) {}

BrokerLifecycleManager::~BrokerLifecycleManager() { Stop(); }

void BrokerLifecycleManager::Start() {
  LOG(INFO) << "Broker " << options_.broker_id << " can hold " << options_.replica_capacity
            << " partition replicas";
  thread_ = std::thread([this] { Loop(); });
}

void BrokerLifecycleManager::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t BrokerLifecycleManager::broker_epoch() const {
  absl::MutexLock l(&mu_);
  return broker_epoch_;
}

bool BrokerLifecycleManager::fenced() const {
  absl::MutexLock l(&mu_);
  return fenced_;
}

void BrokerLifecycleManager::HeartbeatNow() {
  absl::MutexLock l(&mu_);
  heartbeat_now_ = true;
}

void BrokerLifecycleManager::Pause(int64_t ms) {
  absl::MutexLock l(&mu_);
  auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || want_shutdown_ || heartbeat_now_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(ms));
  heartbeat_now_ = false;
}

internal::BrokerRegistrationRequest BrokerLifecycleManager::RegistrationRequest() const {
  internal::BrokerRegistrationRequest registration;
  registration.set_broker_id(options_.broker_id);
  registration.set_incarnation_id(options_.incarnation_id);
  registration.set_replica_capacity(options_.replica_capacity);
  for (const internal::BrokerEndpoint& ep : options_.endpoints) *registration.add_endpoints() = ep;
  return registration;
}

void BrokerLifecycleManager::Loop() {
  const internal::BrokerRegistrationRequest registration = RegistrationRequest();
  // The epoch this loop heartbeats with; -1: register (again) first.
  int64_t epoch = -1;
  while (true) {
    bool want_shutdown = false;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      want_shutdown = want_shutdown_;
    }
    int32_t controller_id = -1;
    internal::Controller::Stub* stub = controller_->controller(&controller_id);
    if (stub == nullptr) {
      Pause(100);
      continue;
    }
    grpc::ClientContext ctx;
    SetCallDeadline(&ctx);
    if (epoch < 0) {
      internal::BrokerRegistrationResponse resp;
      grpc::Status s = stub->RegisterBroker(&ctx, registration, &resp);
      if (s.ok() && resp.error() == v1::NONE) {
        epoch = resp.broker_epoch();
        {
          absl::MutexLock l(&mu_);
          broker_epoch_ = epoch;
        }
        LOG(INFO) << "Registered with controller " << controller_id << " in broker epoch " << epoch;
        continue;
      }
      VLOG(1) << "Registration: " << (s.ok() ? resp.error_message() : s.error_message());
      Pause(200);
      continue;
    }
    internal::BrokerHeartbeatRequest hb;
    hb.set_broker_id(options_.broker_id);
    hb.set_broker_epoch(epoch);
    if (options_.metadata_offset) hb.set_current_metadata_offset(options_.metadata_offset());
    if (options_.offline_replicas) {
      for (const auto& [topic_id, partition] : options_.offline_replicas()) {
        internal::OfflineReplica* o = hb.add_offline_replicas();
        o->set_topic_id(topic_id);
        o->set_partition(partition);
      }
    }
    hb.set_want_shutdown(want_shutdown);
    internal::BrokerHeartbeatResponse resp;
    grpc::Status s = stub->BrokerHeartbeat(&ctx, hb, &resp);
    const bool answered = s.ok() && resp.error() == v1::NONE;
    if (want_shutdown && answered && resp.should_shutdown()) {
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
    bool fenced = true;
    {
      absl::MutexLock l(&mu_);
      if (answered && fenced_ != resp.is_fenced()) {
        fenced_ = resp.is_fenced();
        LOG(INFO) << "Broker " << options_.broker_id << (fenced_ ? " fenced" : " unfenced");
      }
      fenced = fenced_;
    }
    if (want_shutdown) {
      Pause(100);
      continue;
    }
    // Heartbeat faster while fenced, so unfencing follows catching up closely.
    Pause(fenced ? std::min<int64_t>(200, options_.heartbeat_interval_ms)
                 : options_.heartbeat_interval_ms);
  }
}

bool BrokerLifecycleManager::ControlledShutdown() {
  {
    absl::MutexLock l(&mu_);
    if (broker_epoch_ < 0 || !thread_.joinable()) return false;
    want_shutdown_ = true;
  }
  LOG(INFO) << "Controlled shutdown: asking the controller to move leadership away";
  const int64_t give_up_ms = clock_->NowMs() + kShutdownGrantTimeoutMs;
  int64_t leaderless_since_ms = -1;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto granted = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutdown_granted_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&granted), absl::Milliseconds(100))) break;
    }
    const int64_t now_ms = clock_->NowMs();
    if (controller_->controller_id() < 0) {
      if (leaderless_since_ms < 0) leaderless_since_ms = now_ms;
    } else {
      leaderless_since_ms = -1;
    }
    if (now_ms >= give_up_ms || (leaderless_since_ms >= 0 &&
                                 now_ms - leaderless_since_ms >= kShutdownLeaderlessTimeoutMs)) {
      LOG(WARNING) << "Controlled shutdown: the controller did not grant it; stopping anyway";
      return false;
    }
  }
  if (options_.await_no_leaderships) {
    const int64_t deadline_ms = clock_->NowMs() + kShutdownApplyTimeoutMs;
    for (int64_t now_ms = clock_->NowMs(); now_ms < deadline_ms; now_ms = clock_->NowMs()) {
      if (options_.await_no_leaderships(
              absl::Milliseconds(std::min<int64_t>(100, deadline_ms - now_ms)))) {
        break;
      }
    }
  }
  return true;
}

}  // namespace strata::server
