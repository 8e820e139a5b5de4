#include "broker/server/admin_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "broker/server/topic_configs.h"
#include "broker/server/topic_results.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

constexpr absl::Duration kImageWait = absl::Seconds(3);
constexpr auto kForwardTimeout = std::chrono::seconds(30);

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

template <typename Request, typename Response, typename Forward>
void AdminService::Route(const Request* request,
                         void (QuorumController::*decide)(Request, std::function<void(Response)>),
                         Forward forward, QuorumController::FailFn<Response> fail,
                         std::function<void(const Response&)> finish) {
  int32_t leader = -1;
  internal::Controller::Stub* stub = ControllerStub(&leader);
  if (leader == config_.node_id) {
    (controller_->*decide)(*request, std::move(finish));
  } else if (stub != nullptr) {
    struct Call {
      grpc::ClientContext context;
      Response response;
    };
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + kForwardTimeout);
    forward(stub, &call->context, request, &call->response,
            [call, finish = std::move(finish), fail = std::move(fail), leader](grpc::Status s) {
              if (!s.ok()) {
                // A timeout may have committed: not retriable as it stands.
                const bool timed_out = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                                       s.error_code() == grpc::StatusCode::CANCELLED;
                fail(&call->response, timed_out ? v1::REQUEST_TIMED_OUT : v1::NOT_CONTROLLER,
                     absl::StrCat("the controller (node ", leader,
                                  ") did not answer: ", s.error_message()));
              }
              finish(call->response);
              delete call;
            });
  } else {
    Response failed;
    fail(&failed, v1::NOT_CONTROLLER, "no controller is elected yet; retry shortly");
    finish(failed);
  }
}

template <typename Request, typename Response, typename Forward>
grpc::ServerUnaryReactor* AdminService::RouteToController(
    grpc::CallbackServerContext* ctx, const Request* request, Response* response,
    bool validate_only, void (QuorumController::*decide)(Request, std::function<void(Response)>),
    Forward forward,
    std::function<bool(const metadata::MetadataImage&, const std::string&)> shows) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const std::vector<std::string> names = TopicNamesOf(*request);
  // Answers once this node's image shows every change that succeeded, so a
  // client asking this node next sees it.
  auto finish = [this, reactor, response, names, validate_only, shows](const Response& result) {
    *response = result;
    if (!validate_only) {
      AwaitImage([&](const metadata::MetadataImage& image) {
        for (const std::string& name : names) {
          if (TopicSucceeded(*response, name) && !shows(image, name)) return false;
        }
        return true;
      });
    }
    reactor->Finish(grpc::Status::OK);
  };
  Route<Request, Response>(
      request, decide, forward,
      [names](Response* r, v1::ErrorCode code, const std::string& why) {
        FailEveryTopic(names, code, why, r);
      },
      finish);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateTopicsRequest* request,
                                                     v1::CreateTopicsResponse* response) {
  return RouteToController(
      ctx, request, response, request->validate_only(), &QuorumController::CreateTopics,
      [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
        stub->async()->CreateTopics(context, req, resp, std::move(done));
      },
      [](const metadata::MetadataImage& image, const std::string& name) {
        return image.FindTopic(name) != nullptr;
      });
}

grpc::ServerUnaryReactor* AdminService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteTopicsRequest* request,
                                                     v1::DeleteTopicsResponse* response) {
  return RouteToController(
      ctx, request, response, /*validate_only=*/false, &QuorumController::DeleteTopics,
      [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
        stub->async()->DeleteTopics(context, req, resp, std::move(done));
      },
      [](const metadata::MetadataImage& image, const std::string& name) {
        return image.FindTopic(name) == nullptr;
      });
}

grpc::ServerUnaryReactor* AdminService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                     const v1::ElectLeadersRequest* request,
                                                     v1::ElectLeadersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Answers once this node's image shows every elected leader.
  auto finish = [this, reactor, response](const v1::ElectLeadersResponse& result) {
    *response = result;
    AwaitImage([&](const metadata::MetadataImage& image) {
      for (const v1::PartitionElectionResult& r : response->results()) {
        if (r.error() != v1::NONE) continue;
        const metadata::PartitionInfo* p = image.FindPartition(r.topic(), r.partition());
        if (p != nullptr && p->leader != r.leader()) return false;
      }
      return true;
    });
    reactor->Finish(grpc::Status::OK);
  };
  Route<v1::ElectLeadersRequest, v1::ElectLeadersResponse>(
      request, &QuorumController::ElectLeaders,
      [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
        stub->async()->ElectLeaders(context, req, resp, std::move(done));
      },
      [](v1::ElectLeadersResponse* r, v1::ErrorCode code, const std::string& why) {
        r->set_error(code);
        r->set_error_message(why);
      },
      finish);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  std::map<std::string, int32_t> wanted;
  for (const auto& t : request->topics()) wanted[t.name()] = t.count();
  return RouteToController(
      ctx, request, response, request->validate_only(), &QuorumController::CreatePartitions,
      [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
        stub->async()->CreatePartitions(context, req, resp, std::move(done));
      },
      [wanted](const metadata::MetadataImage& image, const std::string& name) {
        const metadata::TopicInfo* t = image.FindTopic(name);
        return t != nullptr && static_cast<int32_t>(t->partitions.size()) >= wanted.at(name);
      });
}

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

// Copies the controller's answer into the response and finishes the call.
template <typename Response>
std::function<void(Response)> FinishWith(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](Response result) {
    *response = std::move(result);
    reactor->Finish(grpc::Status::OK);
  };
}

grpc::ServerUnaryReactor* ControllerService::RegisterBroker(
    grpc::CallbackServerContext* ctx, const internal::BrokerRegistrationRequest* request,
    internal::BrokerRegistrationResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->RegisterBroker(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::BrokerHeartbeat(
    grpc::CallbackServerContext* ctx, const internal::BrokerHeartbeatRequest* request,
    internal::BrokerHeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->BrokerHeartbeat(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::CreateTopicsRequest* request,
                                                          v1::CreateTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->CreateTopics(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteTopicsRequest* request,
                                                          v1::DeleteTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->DeleteTopics(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreatePartitions(
    grpc::CallbackServerContext* ctx, const v1::CreatePartitionsRequest* request,
    v1::CreatePartitionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->CreatePartitions(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                          const v1::ElectLeadersRequest* request,
                                                          v1::ElectLeadersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->ElectLeaders(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterPartition(
    grpc::CallbackServerContext* ctx, const internal::AlterPartitionBatchRequest* request,
    internal::AlterPartitionBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterPartition(*request, FinishWith(reactor, response));
  return reactor;
}

}  // namespace strata::server
