#include "broker/server/admin_service.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/metadata/admin_types.h"
#include "broker/server/admin_codec.h"
#include "broker/server/wire_errors.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

v1::PartitionState EncodeState(metadata::PartitionState state) {
  switch (state) {
    case metadata::PartitionState::kNonExistent:
      return v1::PARTITION_NON_EXISTENT;
    case metadata::PartitionState::kNew:
      return v1::PARTITION_NEW;
    case metadata::PartitionState::kOnline:
      return v1::PARTITION_ONLINE;
    case metadata::PartitionState::kOffline:
      return v1::PARTITION_OFFLINE;
  }
  LOG(FATAL) << "unknown partition state " << static_cast<int>(state);
}

v1::ReplicaState EncodeState(metadata::ReplicaState state) {
  switch (state) {
    case metadata::ReplicaState::kNonExistent:
      return v1::REPLICA_NON_EXISTENT;
    case metadata::ReplicaState::kNew:
      return v1::REPLICA_NEW;
    case metadata::ReplicaState::kOnline:
      return v1::REPLICA_ONLINE;
    case metadata::ReplicaState::kOffline:
      return v1::REPLICA_OFFLINE;
  }
  LOG(FATAL) << "unknown replica state " << static_cast<int>(state);
}

// Encodes what AdminOps answers into `out` and finishes the call. Runs on
// whichever thread brought the answer; only encodes and hands off.
template <typename Response, typename WireResponse>
std::function<void(Response)> Reply(grpc::ServerUnaryReactor* reactor, WireResponse* out) {
  return [reactor, out](Response result) {
    Encode(result, out);
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace

AdminService::AdminService(const ServerConfig& config, MetadataStateMachine* metadata,
                           raft::RaftNode* raft, ControllerChannel* controller_channel,
                           request::RequestHandlers* handlers, std::unique_ptr<AdminRouter> router,
                           ServiceSecurity security)
    : config_(config),
      metadata_(metadata),
      raft_(raft),
      controller_channel_(controller_channel),
      handlers_(handlers),
      router_(std::move(router)),
      security_(std::move(security)) {}

grpc::ServerUnaryReactor* AdminService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateTopicsRequest* request,
                                                     v1::CreateTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).CreateTopics(Decode(*request),
                            Reply<metadata::CreateTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteTopicsRequest* request,
                                                     v1::DeleteTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).DeleteTopics(Decode(*request),
                            Reply<metadata::DeleteTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).CreatePartitions(Decode(*request),
                                Reply<metadata::CreatePartitionsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                     const v1::ElectLeadersRequest* request,
                                                     v1::ElectLeadersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).ElectLeaders(Decode(*request),
                            Reply<metadata::ElectLeadersResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AlterPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
    v1::AlterPartitionReassignmentsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).AlterPartitionReassignments(
      Decode(*request), Reply<metadata::AlterPartitionReassignmentsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::ListPartitionReassignmentsRequest* request,
    v1::ListPartitionReassignmentsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).ListPartitionReassignments(
      Decode(*request), [reactor, response](request::ListPartitionReassignmentsResponse result) {
        // The controller could not be asked: a failed call the client
        // retries, not this node's older image.
        if (result.error != ErrorCode::kNone) {
          reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, result.message));
          return;
        }
        Encode(result, response);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeLogDirs(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeLogDirsRequest* request,
                                                        v1::DescribeLogDirsResponse* response) {
  Encode(security_.Authz(ctx).DescribeLogDirs(*handlers_, Decode(*request)), response);
  response->set_broker_id(config_.node_id);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::UnregisterBroker(grpc::CallbackServerContext* ctx,
                                                         const v1::UnregisterBrokerRequest* request,
                                                         v1::UnregisterBrokerResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).UnregisterBroker(Decode(*request),
                                Reply<metadata::UnregisterBrokerResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::IncrementalAlterConfigs(
    grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
    v1::IncrementalAlterConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Kafka's four operations; any other number this wire carried is
  // refused here, naming it (decoded, it is only kUnknown). A request that
  // sets replace_all is the router's to refuse first.
  if (!request->replace_all()) {
    for (const v1::AlterConfigsResource& r : request->resources()) {
      for (const v1::AlterableConfig& c : r.configs()) {
        if (DecodeOp(c.op()) != metadata::AlterConfigOpType::kUnknown) continue;
        response->set_error(ToProto(ErrorCode::kInvalidRequest));
        response->set_error_message(
            absl::StrCat("Unknown config operation ", c.op(), " for ", c.name(),
                         "; use SET (0), DELETE (1), APPEND (2) or SUBTRACT (3)."));
        reactor->Finish(grpc::Status::OK);
        return reactor;
      }
    }
  }
  Checked(ctx).IncrementalAlterConfigs(
      Decode(*request), Reply<metadata::IncrementalAlterConfigsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AlterConfigs(grpc::CallbackServerContext* ctx,
                                                     const v1::AlterConfigsRequest* request,
                                                     v1::AlterConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).AlterConfigs(Decode(*request),
                            Reply<metadata::IncrementalAlterConfigsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeConfigs(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeConfigsRequest* request,
                                                        v1::DescribeConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool forwarded = ctx->client_metadata().count(kForwardedHeader) > 0;
  Checked(ctx).DescribeConfigs(
      Decode(*request, forwarded),
      [reactor, request, response](request::DescribeConfigsResponse result) {
        Encode(result, response);
        // Each result names its resource's type as it came, a number this
        // node does not know included.
        for (int i = 0; i < response->results_size() && i < request->resources_size(); ++i) {
          response->mutable_results(i)->set_resource_type(request->resources(i).resource_type());
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreateAcls(grpc::CallbackServerContext* ctx,
                                                   const v1::CreateAclsRequest* request,
                                                   v1::CreateAclsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).CreateAcls(Decode(*request), Reply<metadata::CreateAclsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DeleteAcls(grpc::CallbackServerContext* ctx,
                                                   const v1::DeleteAclsRequest* request,
                                                   v1::DeleteAclsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).DeleteAcls(Decode(*request), Reply<metadata::DeleteAclsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AlterUserScramCredentials(
    grpc::CallbackServerContext* ctx, const v1::AlterUserScramCredentialsRequest* request,
    v1::AlterUserScramCredentialsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).AlterUserScramCredentials(
      Decode(*request), Reply<metadata::AlterUserScramCredentialsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AlterClientQuotas(
    grpc::CallbackServerContext* ctx, const v1::AlterClientQuotasRequest* request,
    v1::AlterClientQuotasResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Checked(ctx).AlterClientQuotas(Decode(*request),
                                 Reply<metadata::AlterClientQuotasResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeAcls(grpc::CallbackServerContext* ctx,
                                                     const v1::DescribeAclsRequest* request,
                                                     v1::DescribeAclsResponse* response) {
  Encode(Checked(ctx).DescribeAcls(Decode(*request)), response);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeUserScramCredentials(
    grpc::CallbackServerContext* ctx, const v1::DescribeUserScramCredentialsRequest* request,
    v1::DescribeUserScramCredentialsResponse* response) {
  Encode(Checked(ctx).DescribeUserScramCredentials(Decode(*request)), response);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeClientQuotas(
    grpc::CallbackServerContext* ctx, const v1::DescribeClientQuotasRequest* request,
    v1::DescribeClientQuotasResponse* response) {
  Encode(Checked(ctx).DescribeClientQuotas(Decode(*request)), response);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* ctx,
                                                   const v1::ListTopicsRequest* request,
                                                   v1::ListTopicsResponse* response) {
  for (std::string& name :
       security_.Authz(ctx).ListTopics(*handlers_, request->include_internal())) {
    response->add_names(std::move(name));
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeTopics(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeTopicsRequest* request,
                                                       v1::DescribeTopicsResponse* response) {
  request::DescribeTopicsRequest req;
  req.names.assign(request->names().begin(), request->names().end());
  req.include_internal = request->include_internal();
  for (const request::TopicDescription& t : security_.Authz(ctx).DescribeTopics(*handlers_, req)) {
    v1::TopicDescription* d = response->add_topics();
    d->set_name(t.name);
    if (t.error != ErrorCode::kNone) {
      d->set_error(ToProto(t.error));
      d->set_error_message(t.message);
      continue;
    }
    d->set_topic_id(t.topic_id);
    d->set_internal(t.internal);
    for (const request::PartitionDescription& p : t.partitions) {
      v1::PartitionDescription* pd = d->add_partitions();
      pd->set_partition(p.partition);
      pd->set_leader(p.leader);
      pd->set_leader_epoch(p.leader_epoch);
      for (int32_t r : p.replicas) pd->add_replicas(r);
      for (const request::ReplicaDescription& r : p.replica_states) {
        v1::ReplicaDescription* rd = pd->add_replica_states();
        rd->set_broker_id(r.broker_id);
        rd->set_state(EncodeState(r.state));
      }
      for (int32_t r : p.isr) pd->add_isr(r);
      pd->set_state(EncodeState(p.state));
      for (int32_t r : p.adding_replicas) pd->add_adding_replicas(r);
      for (int32_t r : p.removing_replicas) pd->add_removing_replicas(r);
    }
    for (const request::ConfigEntry& c : t.configs) {
      v1::ConfigEntry* ce = d->add_configs();
      ce->set_name(c.name);
      ce->set_value(c.value);
      ce->set_is_default(c.is_default);
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeCluster(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeClusterRequest*,
                                                        v1::DescribeClusterResponse* response) {
  // The client listener first.
  request::DescribeClusterResponse r = handlers_->DescribeCluster({"PLAINTEXT", "CONTROLLER"});
  response->set_cluster_id(r.cluster_id);
  response->set_controller_id(r.controller_id);
  for (const request::BrokerDescription& b : r.brokers) {
    v1::BrokerDescription* d = response->add_brokers();
    d->set_id(b.id);
    d->set_rack(b.rack);
    d->set_fenced(b.fenced);
    d->set_broker_epoch(b.broker_epoch);
    d->set_incarnation_id(b.incarnation_id);
    for (const auto& [host, port] : b.endpoints) {
      v1::Endpoint* e = d->add_endpoints();
      e->set_host(host);
      e->set_port(port);
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
  // A broker-only node has no Raft node (raft_ is null): it knows the leader
  // from its observer, through the controller channel, and always asks it.
  raft::RaftNodeStatus st = raft_ != nullptr ? raft_->status() : raft::RaftNodeStatus{};
  const int32_t leader =
      raft_ == nullptr
          ? controller_channel_->controller_id()
          : (st.leader == raft::kNoNode ? -1 : static_cast<int32_t>(st.leader.value()));
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  if (st.role != raft::Role::kLeader && leader >= 0) {
    // Only the leader knows every voter's and observer's progress: ask it.
    if (v1::Admin::Stub* stub = router_->AdminStubFor(leader, *image); stub != nullptr) {
      auto* call = new grpc::ClientContext;
      call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      stub->async()->DescribeQuorum(call, request, response, [call, reactor](grpc::Status s) {
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
  // Broker-only nodes fetching the log from this leader (Kafka's observers).
  for (const auto& [id, o] : st.observers) {
    v1::QuorumReplica* r = response->add_observers();
    r->set_replica_id(static_cast<int32_t>(id.value()));
    r->set_log_end_offset(static_cast<int64_t>(o.fetched.value()));
    r->set_last_fetch_timestamp(o.last_fetch_ms);
    r->set_last_caught_up_timestamp(o.last_caught_up_ms);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// --- ControllerService ---

// Encodes the controller's answer into the wire response and finishes the
// call.
template <typename Response, typename WireResponse>
std::function<void(Response)> EncodeAndFinish(grpc::ServerUnaryReactor* reactor,
                                              WireResponse* response) {
  return [reactor, response](Response result) {
    Encode(result, response);
    reactor->Finish(grpc::Status::OK);
  };
}

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
  controller_->CreateTopics(Decode(*request),
                            EncodeAndFinish<metadata::CreateTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreateInternalTopics(
    grpc::CallbackServerContext* ctx, const v1::CreateTopicsRequest* request,
    v1::CreateTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  metadata::CreateTopicsRequest decoded = Decode(*request);
  decoded.internal = true;
  controller_->CreateTopics(std::move(decoded),
                            EncodeAndFinish<metadata::CreateTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteTopicsRequest* request,
                                                          v1::DeleteTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->DeleteTopics(Decode(*request),
                            EncodeAndFinish<metadata::DeleteTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreatePartitions(
    grpc::CallbackServerContext* ctx, const v1::CreatePartitionsRequest* request,
    v1::CreatePartitionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->CreatePartitions(
      Decode(*request), EncodeAndFinish<metadata::CreatePartitionsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                          const v1::ElectLeadersRequest* request,
                                                          v1::ElectLeadersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->ElectLeaders(Decode(*request),
                            EncodeAndFinish<metadata::ElectLeadersResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
    v1::AlterPartitionReassignmentsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterPartitionReassignments(
      Decode(*request),
      EncodeAndFinish<metadata::AlterPartitionReassignmentsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::UnregisterBroker(
    grpc::CallbackServerContext* ctx, const v1::UnregisterBrokerRequest* request,
    v1::UnregisterBrokerResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->UnregisterBroker(
      Decode(*request), EncodeAndFinish<metadata::UnregisterBrokerResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::IncrementalAlterConfigs(
    grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
    v1::IncrementalAlterConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->IncrementalAlterConfigs(
      Decode(*request),
      EncodeAndFinish<metadata::IncrementalAlterConfigsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterSecurity(
    grpc::CallbackServerContext* ctx, const internal::AlterSecurityRequest* request,
    internal::AlterSecurityResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterSecurity(Decode(*request),
                             EncodeAndFinish<metadata::AlterSecurityResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterPartition(
    grpc::CallbackServerContext* ctx, const internal::AlterPartitionBatchRequest* request,
    internal::AlterPartitionBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterPartition(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AllocateProducerIds(
    grpc::CallbackServerContext* ctx, const internal::AllocateProducerIdsRequest* request,
    internal::AllocateProducerIdsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AllocateProducerIds(*request, FinishWith(reactor, response));
  return reactor;
}

}  // namespace strata::server
