// FakeController: strata.internal.Controller served in-process, for testing
// what talks to the controller without a cluster (the lifecycle manager,
// the ISR change sender, admin forwarding). Each RPC is recorded and
// answered by a handler the test sets; without one it answers NONE with
// an otherwise empty response.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "strata/internal/controller.grpc.pb.h"

namespace strata::server {

class FakeController final : public internal::Controller::Service {
 public:
  using RegisterFn = std::function<grpc::Status(const internal::BrokerRegistrationRequest&,
                                                internal::BrokerRegistrationResponse*)>;
  using HeartbeatFn = std::function<grpc::Status(const internal::BrokerHeartbeatRequest&,
                                                 internal::BrokerHeartbeatResponse*)>;
  using AlterFn = std::function<grpc::Status(const internal::AlterPartitionBatchRequest&,
                                             internal::AlterPartitionBatchResponse*)>;
  // CreateTopics and CreateInternalTopics (`internal` tells which).
  using CreateTopicsFn = std::function<grpc::Status(bool internal, const v1::CreateTopicsRequest&,
                                                    v1::CreateTopicsResponse*)>;
  using DeleteTopicsFn =
      std::function<grpc::Status(const v1::DeleteTopicsRequest&, v1::DeleteTopicsResponse*)>;
  using AlterConfigsFn = std::function<grpc::Status(const v1::IncrementalAlterConfigsRequest&,
                                                    v1::IncrementalAlterConfigsResponse*)>;
  using AlterSecurityFn = std::function<grpc::Status(const internal::AlterSecurityRequest&,
                                                     internal::AlterSecurityResponse*)>;
  using AllocateProducerIdsFn = std::function<grpc::Status(
      const internal::AllocateProducerIdsRequest&, internal::AllocateProducerIdsResponse*)>;

  FakeController() {
    grpc::ServerBuilder builder;
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeController() override { server_->Shutdown(); }

  std::shared_ptr<grpc::Channel> channel() {
    return server_->InProcessChannel(grpc::ChannelArguments());
  }

  void OnRegister(RegisterFn fn) {
    absl::MutexLock l(&mu_);
    on_register_ = std::move(fn);
  }
  void OnHeartbeat(HeartbeatFn fn) {
    absl::MutexLock l(&mu_);
    on_heartbeat_ = std::move(fn);
  }
  void OnAlterPartition(AlterFn fn) {
    absl::MutexLock l(&mu_);
    on_alter_ = std::move(fn);
  }

  void OnAllocateProducerIds(AllocateProducerIdsFn fn) {
    absl::MutexLock l(&mu_);
    on_allocate_producer_ids_ = std::move(fn);
  }

  void OnCreateTopics(CreateTopicsFn fn) {
    absl::MutexLock l(&mu_);
    on_create_topics_ = std::move(fn);
  }
  void OnDeleteTopics(DeleteTopicsFn fn) {
    absl::MutexLock l(&mu_);
    on_delete_topics_ = std::move(fn);
  }
  void OnIncrementalAlterConfigs(AlterConfigsFn fn) {
    absl::MutexLock l(&mu_);
    on_alter_configs_ = std::move(fn);
  }
  void OnAlterSecurity(AlterSecurityFn fn) {
    absl::MutexLock l(&mu_);
    on_alter_security_ = std::move(fn);
  }
  std::vector<internal::AlterSecurityRequest> alter_security() const {
    absl::MutexLock l(&mu_);
    return alter_security_;
  }

  // Every admin call that reached the controller, by RPC name, in order.
  std::vector<std::string> admin_calls() const {
    absl::MutexLock l(&mu_);
    return admin_calls_;
  }
  std::vector<v1::CreateTopicsRequest> create_topics() const {
    absl::MutexLock l(&mu_);
    return create_topics_;
  }
  std::vector<v1::IncrementalAlterConfigsRequest> alter_configs() const {
    absl::MutexLock l(&mu_);
    return alter_configs_;
  }

  std::vector<internal::BrokerRegistrationRequest> registrations() const {
    absl::MutexLock l(&mu_);
    return registrations_;
  }
  std::vector<internal::BrokerHeartbeatRequest> heartbeats() const {
    absl::MutexLock l(&mu_);
    return heartbeats_;
  }
  std::vector<internal::AlterPartitionBatchRequest> alters() const {
    absl::MutexLock l(&mu_);
    return alters_;
  }
  std::vector<internal::AllocateProducerIdsRequest> producer_id_allocations() const {
    absl::MutexLock l(&mu_);
    return producer_id_allocations_;
  }

  grpc::Status RegisterBroker(grpc::ServerContext*, const internal::BrokerRegistrationRequest* req,
                              internal::BrokerRegistrationResponse* resp) override {
    RegisterFn fn;
    {
      absl::MutexLock l(&mu_);
      registrations_.push_back(*req);
      fn = on_register_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }
  grpc::Status BrokerHeartbeat(grpc::ServerContext*, const internal::BrokerHeartbeatRequest* req,
                               internal::BrokerHeartbeatResponse* resp) override {
    HeartbeatFn fn;
    {
      absl::MutexLock l(&mu_);
      heartbeats_.push_back(*req);
      fn = on_heartbeat_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }
  grpc::Status AlterPartition(grpc::ServerContext*, const internal::AlterPartitionBatchRequest* req,
                              internal::AlterPartitionBatchResponse* resp) override {
    AlterFn fn;
    {
      absl::MutexLock l(&mu_);
      alters_.push_back(*req);
      fn = on_alter_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }
  grpc::Status AllocateProducerIds(grpc::ServerContext*,
                                   const internal::AllocateProducerIdsRequest* req,
                                   internal::AllocateProducerIdsResponse* resp) override {
    AllocateProducerIdsFn fn;
    {
      absl::MutexLock l(&mu_);
      producer_id_allocations_.push_back(*req);
      fn = on_allocate_producer_ids_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }
  grpc::Status CreateTopics(grpc::ServerContext*, const v1::CreateTopicsRequest* req,
                            v1::CreateTopicsResponse* resp) override {
    return CreateTopicsCall(false, *req, resp);
  }
  grpc::Status CreateInternalTopics(grpc::ServerContext*, const v1::CreateTopicsRequest* req,
                                    v1::CreateTopicsResponse* resp) override {
    return CreateTopicsCall(true, *req, resp);
  }
  grpc::Status DeleteTopics(grpc::ServerContext*, const v1::DeleteTopicsRequest* req,
                            v1::DeleteTopicsResponse* resp) override {
    DeleteTopicsFn fn;
    {
      absl::MutexLock l(&mu_);
      admin_calls_.push_back("DeleteTopics");
      fn = on_delete_topics_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }
  grpc::Status IncrementalAlterConfigs(grpc::ServerContext*,
                                       const v1::IncrementalAlterConfigsRequest* req,
                                       v1::IncrementalAlterConfigsResponse* resp) override {
    AlterConfigsFn fn;
    {
      absl::MutexLock l(&mu_);
      admin_calls_.push_back("IncrementalAlterConfigs");
      alter_configs_.push_back(*req);
      fn = on_alter_configs_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }

  grpc::Status AlterSecurity(grpc::ServerContext*, const internal::AlterSecurityRequest* req,
                             internal::AlterSecurityResponse* resp) override {
    AlterSecurityFn fn;
    {
      absl::MutexLock l(&mu_);
      admin_calls_.push_back("AlterSecurity");
      alter_security_.push_back(*req);
      fn = on_alter_security_;
    }
    return fn ? fn(*req, resp) : grpc::Status::OK;
  }

 private:
  grpc::Status CreateTopicsCall(bool internal, const v1::CreateTopicsRequest& req,
                                v1::CreateTopicsResponse* resp) {
    CreateTopicsFn fn;
    {
      absl::MutexLock l(&mu_);
      admin_calls_.push_back(internal ? "CreateInternalTopics" : "CreateTopics");
      create_topics_.push_back(req);
      fn = on_create_topics_;
    }
    return fn ? fn(internal, req, resp) : grpc::Status::OK;
  }

  std::unique_ptr<grpc::Server> server_;
  mutable absl::Mutex mu_;
  RegisterFn on_register_ ABSL_GUARDED_BY(mu_);
  HeartbeatFn on_heartbeat_ ABSL_GUARDED_BY(mu_);
  AlterFn on_alter_ ABSL_GUARDED_BY(mu_);
  CreateTopicsFn on_create_topics_ ABSL_GUARDED_BY(mu_);
  DeleteTopicsFn on_delete_topics_ ABSL_GUARDED_BY(mu_);
  AlterConfigsFn on_alter_configs_ ABSL_GUARDED_BY(mu_);
  AllocateProducerIdsFn on_allocate_producer_ids_ ABSL_GUARDED_BY(mu_);
  AlterSecurityFn on_alter_security_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::AlterSecurityRequest> alter_security_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> admin_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::CreateTopicsRequest> create_topics_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::IncrementalAlterConfigsRequest> alter_configs_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::BrokerRegistrationRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::BrokerHeartbeatRequest> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::AlterPartitionBatchRequest> alters_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::AllocateProducerIdsRequest> producer_id_allocations_ ABSL_GUARDED_BY(mu_);
};

// Polls `done` until it holds or `timeout` (real time) passes: every wait
// in these tests is bounded.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace strata::server
