#include "broker/server/admin_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "broker/server/topic_configs.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

constexpr absl::Duration kImageWait = absl::Seconds(3);
constexpr auto kForwardTimeout = std::chrono::seconds(30);

std::vector<std::string> NamesOf(const v1::CreateTopicsRequest& r) {
  std::vector<std::string> out;
  for (const auto& t : r.topics()) out.push_back(t.name());
  return out;
}
std::vector<std::string> NamesOf(const v1::DeleteTopicsRequest& r) {
  return {r.names().begin(), r.names().end()};
}
std::vector<std::string> NamesOf(const v1::CreatePartitionsRequest& r) {
  std::vector<std::string> out;
  for (const auto& t : r.topics()) out.push_back(t.name());
  return out;
}

template <typename Response>
void FailAll(const std::vector<std::string>& names, v1::ErrorCode code, const std::string& message,
             Response* response) {
  response->clear_results();
  for (const std::string& name : names) {
    v1::TopicResult* r = response->add_results();
    r->set_name(name);
    r->set_error(code);
    r->set_error_message(message);
  }
}

template <typename Response>
bool Succeeded(const Response& response, const std::string& name) {
  for (const auto& r : response.results()) {
    if (r.name() == name) return r.error() == v1::NONE;
  }
  return false;
}

}  // namespace

AdminService::AdminService(const ServerConfig& config, MetadataStateMachine* metadata,
                           QuorumController* controller, raft::RaftNode* raft)
    : config_(config), metadata_(metadata), controller_(controller), raft_(raft) {
  for (const QuorumVoter& v : config.quorum_voters) {
    if (v.id == config.node_id) continue;
    controller_stubs_[v.id] =
        internal::Controller::NewStub(raft::PeerChannel(absl::StrCat(v.host, ":", v.port)));
  }
}

internal::Controller::Stub* AdminService::ControllerStub(int32_t* leader) {
  *leader = controller_->leader_id();
  auto it = controller_stubs_.find(*leader);
  return it == controller_stubs_.end() ? nullptr : it->second.get();
}

void AdminService::AwaitImage(const std::function<bool(const metadata::MetadataImage&)>& done) {
  metadata_->WaitFor(done, kImageWait);
}

// Routes a topic change to the controller: locally when this node is it,
// forwarded otherwise; answers once this node's image shows the outcome.
#define STRATA_ROUTE_TO_CONTROLLER(Method, Request, Response, IsVisible)                          \
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();                                      \
  const std::vector<std::string> names = NamesOf(*request);                                       \
  auto finish = [=, this](const Response& result) {                                               \
    *response = result;                                                                           \
    if (!request_is_validate_only) {                                                              \
      AwaitImage([&](const metadata::MetadataImage& image) {                                      \
        for (const std::string& name : names) {                                                   \
          if (Succeeded(*response, name) && !(IsVisible)) return false;                           \
        }                                                                                         \
        return true;                                                                              \
      });                                                                                         \
    }                                                                                             \
    reactor->Finish(grpc::Status::OK);                                                            \
  };                                                                                              \
  int32_t leader = -1;                                                                            \
  internal::Controller::Stub* stub = ControllerStub(&leader);                                     \
  if (leader == config_.node_id) {                                                                \
    controller_->Method(*request, finish);                                                        \
  } else if (stub != nullptr) {                                                                   \
    struct Call {                                                                                 \
      grpc::ClientContext context;                                                                \
      Response response;                                                                          \
    };                                                                                            \
    auto* call = new Call;                                                                        \
    call->context.set_deadline(std::chrono::system_clock::now() + kForwardTimeout);               \
    stub->async()->Method(                                                                        \
        &call->context, request, &call->response, [call, finish, names, leader](grpc::Status s) { \
          if (!s.ok()) {                                                                          \
            /* A timeout may have committed: not retriable as-is. */                              \
            const bool timed_out = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||       \
                                   s.error_code() == grpc::StatusCode::CANCELLED;                 \
            FailAll(names, timed_out ? v1::REQUEST_TIMED_OUT : v1::NOT_CONTROLLER,                \
                    absl::StrCat("the controller (node ", leader,                                 \
                                 ") did not answer: ", s.error_message()),                        \
                    &call->response);                                                             \
          }                                                                                       \
          finish(call->response);                                                                 \
          delete call;                                                                            \
        });                                                                                       \
  } else {                                                                                        \
    Response failed;                                                                              \
    FailAll(names, v1::NOT_CONTROLLER, "no controller is elected yet; retry shortly", &failed);   \
    finish(failed);                                                                               \
  }                                                                                               \
  return reactor;

grpc::ServerUnaryReactor* AdminService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateTopicsRequest* request,
                                                     v1::CreateTopicsResponse* response) {
  const bool request_is_validate_only = request->validate_only();
  STRATA_ROUTE_TO_CONTROLLER(CreateTopics, v1::CreateTopicsRequest, v1::CreateTopicsResponse,
                             image.FindTopic(name) != nullptr)
}

grpc::ServerUnaryReactor* AdminService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteTopicsRequest* request,
                                                     v1::DeleteTopicsResponse* response) {
  const bool request_is_validate_only = false;
  STRATA_ROUTE_TO_CONTROLLER(DeleteTopics, v1::DeleteTopicsRequest, v1::DeleteTopicsResponse,
                             image.FindTopic(name) == nullptr)
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  const bool request_is_validate_only = request->validate_only();
  std::map<std::string, int32_t> wanted;
  for (const auto& t : request->topics()) wanted[t.name()] = t.count();
  STRATA_ROUTE_TO_CONTROLLER(
      CreatePartitions, v1::CreatePartitionsRequest, v1::CreatePartitionsResponse,
      image.FindTopic(name) != nullptr &&
          static_cast<int32_t>(image.FindTopic(name)->partitions.size()) >= wanted.at(name))
}

#undef STRATA_ROUTE_TO_CONTROLLER

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* ctx,
                                                   const v1::ListTopicsRequest* request,
                                                   v1::ListTopicsResponse* response) {
  for (const auto& [name, t] : metadata_->current()->topics()) {
    if (request->include_internal() || !name.starts_with("__")) response->add_names(name);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeTopics(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeTopicsRequest* request,
                                                       v1::DescribeTopicsResponse* response) {
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  auto describe = [&](const metadata::TopicInfo& t) {
    v1::TopicDescription* d = response->add_topics();
    d->set_name(t.name);
    d->set_topic_id(t.topic_id);
    d->set_internal(t.name.starts_with("__"));
    for (const auto& [pid, p] : t.partitions) {
      v1::PartitionDescription* pd = d->add_partitions();
      pd->set_partition(pid);
      pd->set_leader(p.leader);
      pd->set_leader_epoch(p.leader_epoch);
      for (int32_t r : p.replicas) {
        pd->add_replicas(r);
        v1::ReplicaDescription* rd = pd->add_replica_states();
        rd->set_broker_id(r);
        rd->set_state(image->StateOfReplica(p, r));
      }
      for (int32_t r : p.isr) pd->add_isr(r);
      pd->set_state(image->StateOf(p));
    }
    for (const auto& [key, e] : EffectiveTopicConfigs(config_.log_overrides, t.configs)) {
      v1::ConfigEntry* c = d->add_configs();
      c->set_name(key);
      c->set_value(e.value);
      c->set_is_default(e.is_default);
    }
  };
  if (request->names().empty()) {
    for (const auto& [name, t] : image->topics()) {
      if (request->include_internal() || !name.starts_with("__")) describe(t);
    }
  } else {
    for (const std::string& name : request->names()) {
      if (const metadata::TopicInfo* t = image->FindTopic(name)) {
        describe(*t);
      } else {
        v1::TopicDescription* d = response->add_topics();
        d->set_name(name);
        d->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        d->set_error_message(absl::StrCat("Topic '", name, "' does not exist"));
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeCluster(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeClusterRequest*,
                                                        v1::DescribeClusterResponse* response) {
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  response->set_cluster_id(image->cluster_id());
  response->set_controller_id(controller_->leader_id());
  for (const auto& [id, b] : image->brokers()) {
    v1::BrokerDescription* d = response->add_brokers();
    d->set_id(id);
    d->set_rack(b.rack);
    d->set_fenced(b.fenced);
    d->set_broker_epoch(b.epoch);
    d->set_incarnation_id(b.incarnation_id);
    // The client listener first.
    for (const char* listener : {"PLAINTEXT", "CONTROLLER"}) {
      if (const metadata::Endpoint* ep = b.endpoint(listener)) {
        v1::Endpoint* e = d->add_endpoints();
        e->set_host(ep->host);
        e->set_port(ep->port);
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeQuorum(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeQuorumRequest* request,
                                                       v1::DescribeQuorumResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  raft::RaftNodeStatus st = raft_->status();
  const int32_t leader = st.leader == raft::kNoNode ? -1 : static_cast<int32_t>(st.leader.value());
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  if (st.role != raft::Role::kLeader && leader >= 0) {
    // Only the leader knows every voter's progress: ask it.
    const metadata::BrokerRegistration* b = image->broker(leader);
    const metadata::Endpoint* ep = b ? b->endpoint("PLAINTEXT") : nullptr;
    if (ep != nullptr) {
      std::unique_ptr<v1::Admin::Stub>* stub;
      {
        absl::MutexLock l(&stubs_mu_);
        stub = &admin_stubs_[leader];
        if (!*stub) {
          *stub = v1::Admin::NewStub(raft::PeerChannel(absl::StrCat(ep->host, ":", ep->port)));
        }
      }
      auto* call = new grpc::ClientContext;
      call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      (*stub)->async()->DescribeQuorum(call, request, response, [call, reactor](grpc::Status s) {
        reactor->Finish(s);
        delete call;
      });
      return reactor;
    }
  }
  response->set_cluster_id(image->cluster_id());
  response->set_leader_id(leader);
  response->set_leader_epoch(static_cast<int64_t>(st.term.value()));
  response->set_high_watermark(static_cast<int64_t>(st.commit.value()));
  for (const QuorumVoter& v : config_.quorum_voters) {
    v1::QuorumReplica* r = response->add_voters();
    const raft::NodeId id(static_cast<uint64_t>(v.id));
    r->set_replica_id(v.id);
    auto match = st.match.find(id);
    r->set_log_end_offset(match == st.match.end() ? -1
                                                  : static_cast<int64_t>(match->second.value()));
    auto heard = st.last_heard_ms.find(id);
    r->set_last_fetch_timestamp(heard == st.last_heard_ms.end() ? -1 : heard->second);
    auto caught = st.last_caught_up_ms.find(id);
    r->set_last_caught_up_timestamp(caught == st.last_caught_up_ms.end() ? -1 : caught->second);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// --- ControllerService ---

#define STRATA_CONTROLLER_CALL(Method)                             \
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();       \
  controller_->Method(*request, [reactor, response](auto result) { \
    *response = std::move(result);                                 \
    reactor->Finish(grpc::Status::OK);                             \
  });                                                              \
  return reactor;

grpc::ServerUnaryReactor* ControllerService::RegisterBroker(
    grpc::CallbackServerContext* ctx, const internal::BrokerRegistrationRequest* request,
    internal::BrokerRegistrationResponse* response){STRATA_CONTROLLER_CALL(RegisterBroker)}

grpc::ServerUnaryReactor* ControllerService::BrokerHeartbeat(
    grpc::CallbackServerContext* ctx, const internal::BrokerHeartbeatRequest* request,
    internal::BrokerHeartbeatResponse* response){STRATA_CONTROLLER_CALL(BrokerHeartbeat)}

grpc::ServerUnaryReactor* ControllerService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::CreateTopicsRequest* request,
                                                          v1::CreateTopicsResponse* response){
    STRATA_CONTROLLER_CALL(CreateTopics)}

grpc::ServerUnaryReactor* ControllerService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteTopicsRequest* request,
                                                          v1::DeleteTopicsResponse* response){
    STRATA_CONTROLLER_CALL(DeleteTopics)}

grpc::ServerUnaryReactor* ControllerService::CreatePartitions(
    grpc::CallbackServerContext* ctx, const v1::CreatePartitionsRequest* request,
    v1::CreatePartitionsResponse* response) {
  STRATA_CONTROLLER_CALL(CreatePartitions)
}

#undef STRATA_CONTROLLER_CALL

}  // namespace strata::server
