#include "broker/server/group_service.h"

#include <map>
#include <memory>
#include <utility>

#include "broker/server/wire_errors.h"

namespace strata::server {
namespace {

template <typename Partitions>
void AddPartitionResults(const std::vector<group::PartitionResult>& results, Partitions* out) {
  // Nested by topic, in the order topics first appear.
  std::map<std::string, int> index;
  for (const group::PartitionResult& r : results) {
    auto [it, inserted] = index.try_emplace(r.tp.topic, out->size());
    if (inserted) out->Add()->set_name(r.tp.topic);
    auto* p = (*out)[it->second].add_partitions();
    p->set_partition_index(r.tp.partition);
    p->set_error(ToProto(r.result.error));
    p->set_error_message(r.result.message);
  }
}

template <typename Topics>
std::vector<group::GroupTopicPartition> Flatten(const Topics& topics) {
  std::vector<group::GroupTopicPartition> out;
  for (const auto& t : topics) {
    for (int32_t p : t.partition_indexes()) out.push_back({t.name(), p});
  }
  return out;
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace

GroupService::GroupService(group::GroupCoordinator* coordinator, request::RequestHandlers* handlers,
                           ServiceSecurity security)
    : coordinator_(coordinator), handlers_(handlers), security_(std::move(security)) {}

grpc::ServerUnaryReactor* GroupService::FindCoordinator(grpc::CallbackServerContext* ctx,
                                                        const v1::FindCoordinatorRequest* request,
                                                        v1::FindCoordinatorResponse* response) {
  request::FindCoordinatorRequest req;
  req.key_type = static_cast<int8_t>(request->key_type());
  req.keys.assign(request->keys().begin(), request->keys().end());
  for (const request::CoordinatorResult& r :
       security_.Authz(ctx).FindCoordinator(*handlers_, req, security_.listener)) {
    v1::Coordinator* c = response->add_coordinators();
    c->set_key(r.key);
    c->set_node_id(r.node_id);
    c->set_host(r.host);
    c->set_port(r.port);
    c->set_error(ToProto(r.error));
    c->set_error_message(r.message);
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* GroupService::JoinGroup(grpc::CallbackServerContext* ctx,
                                                  const v1::JoinGroupRequest* request,
                                                  v1::JoinGroupResponse* response) {
  group::JoinGroupRequest req;
  req.group_id = request->group_id();
  req.session_timeout_ms = request->session_timeout_ms();
  req.rebalance_timeout_ms = request->rebalance_timeout_ms();
  req.member_id = request->member_id();
  req.group_instance_id = request->group_instance_id();
  req.protocol_type = request->protocol_type();
  for (const v1::JoinGroupProtocol& p : request->protocols()) {
    req.protocols.emplace_back(p.name(), p.metadata());
  }
  req.reason = request->reason();
  req.client_id = request->client_id();
  req.client_host = group::ClientHost(ctx->peer());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).JoinGroup(*coordinator_, std::move(req),
                                 [reactor, response](group::JoinGroupResponse r) {
                                   response->set_error(ToProto(r.error));
                                   response->set_error_message(r.message);
                                   response->set_generation_id(r.generation_id);
                                   response->set_protocol_type(r.protocol_type);
                                   response->set_protocol_name(r.protocol_name);
                                   response->set_leader(r.leader);
                                   response->set_skip_assignment(r.skip_assignment);
                                   response->set_member_id(r.member_id);
                                   for (group::JoinGroupMember& m : r.members) {
                                     v1::JoinGroupResponseMember* pm = response->add_members();
                                     pm->set_member_id(std::move(m.member_id));
                                     pm->set_group_instance_id(std::move(m.group_instance_id));
                                     pm->set_metadata(std::move(m.metadata));
                                   }
                                   reactor->Finish(grpc::Status::OK);
                                 });
  return reactor;
}

grpc::ServerUnaryReactor* GroupService::SyncGroup(grpc::CallbackServerContext* ctx,
                                                  const v1::SyncGroupRequest* request,
                                                  v1::SyncGroupResponse* response) {
  group::SyncGroupRequest req;
  req.group_id = request->group_id();
  req.generation_id = request->generation_id();
  req.member_id = request->member_id();
  req.group_instance_id = request->group_instance_id();
  req.protocol_type = request->protocol_type();
  req.protocol_name = request->protocol_name();
  for (const v1::SyncGroupAssignment& a : request->assignments()) {
    req.assignments.emplace_back(a.member_id(), a.assignment());
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).SyncGroup(*coordinator_, std::move(req),
                                 [reactor, response](group::SyncGroupResponse r) {
                                   response->set_error(ToProto(r.error));
                                   response->set_error_message(r.message);
                                   response->set_protocol_type(r.protocol_type);
                                   response->set_protocol_name(r.protocol_name);
                                   response->set_assignment(std::move(r.assignment));
                                   reactor->Finish(grpc::Status::OK);
                                 });
  return reactor;
}

grpc::ServerUnaryReactor* GroupService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                  const v1::HeartbeatRequest* request,
                                                  v1::HeartbeatResponse* response) {
  group::GroupResult r = security_.Authz(ctx).Heartbeat(
      *coordinator_, group::HeartbeatRequest{request->group_id(), request->generation_id(),
                                             request->member_id(), request->group_instance_id()});
  response->set_error(ToProto(r.error));
  response->set_error_message(r.message);
  return Done(ctx);
}

grpc::ServerUnaryReactor* GroupService::LeaveGroup(grpc::CallbackServerContext* ctx,
                                                   const v1::LeaveGroupRequest* request,
                                                   v1::LeaveGroupResponse* response) {
  group::LeaveGroupRequest req;
  req.group_id = request->group_id();
  for (const v1::MemberIdentity& m : request->members()) {
    req.members.push_back({m.member_id(), m.group_instance_id(), m.reason()});
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).LeaveGroup(*coordinator_, std::move(req),
                                  [reactor, response](group::LeaveGroupResponse r) {
                                    response->set_error(ToProto(r.result.error));
                                    response->set_error_message(r.result.message);
                                    for (const auto& [member, result] : r.members) {
                                      v1::LeaveGroupMemberResponse* m = response->add_members();
                                      m->set_member_id(member.member_id);
                                      m->set_group_instance_id(member.group_instance_id);
                                      m->set_error(ToProto(result.error));
                                      m->set_error_message(result.message);
                                    }
                                    reactor->Finish(grpc::Status::OK);
                                  });
  return reactor;
}

grpc::ServerUnaryReactor* GroupService::OffsetCommit(grpc::CallbackServerContext* ctx,
                                                     const v1::OffsetCommitRequest* request,
                                                     v1::OffsetCommitResponse* response) {
  group::OffsetCommitRequest req;
  req.group_id = request->group_id();
  req.generation_id = request->generation_id();
  req.member_id = request->member_id();
  req.group_instance_id = request->group_instance_id();
  for (const v1::OffsetCommitTopic& t : request->topics()) {
    for (const v1::OffsetCommitPartition& p : t.partitions()) {
      req.offsets.push_back(group::CommittedOffset{{t.name(), p.partition_index()},
                                                   p.committed_offset(),
                                                   p.committed_leader_epoch(),
                                                   p.committed_metadata()});
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).OffsetCommit(*coordinator_, std::move(req),
                                    [reactor, response](group::OffsetCommitResponse r) {
                                      AddPartitionResults(r.partitions, response->mutable_topics());
                                      reactor->Finish(grpc::Status::OK);
                                    });
  return reactor;
}

grpc::ServerUnaryReactor* GroupService::OffsetFetch(grpc::CallbackServerContext* ctx,
                                                    const v1::OffsetFetchRequest* request,
                                                    v1::OffsetFetchResponse* response) {
  group::OffsetFetchRequest req;
  req.group_id = request->group_id();
  if (request->topics_size() > 0) req.partitions = Flatten(request->topics());
  req.require_stable = request->require_stable();
  group::OffsetFetchResponse r = security_.Authz(ctx).OffsetFetch(*coordinator_, req);
  response->set_error(ToProto(r.result.error));
  response->set_error_message(r.result.message);
  std::map<std::string, int> index;
  for (const group::FetchedOffset& o : r.offsets) {
    auto [it, inserted] = index.try_emplace(o.tp.topic, response->topics_size());
    if (inserted) response->add_topics()->set_name(o.tp.topic);
    v1::OffsetFetchPartitionResponse* p = response->mutable_topics(it->second)->add_partitions();
    p->set_partition_index(o.tp.partition);
    p->set_committed_offset(o.offset);
    p->set_committed_leader_epoch(o.leader_epoch);
    p->set_metadata(o.metadata);
    p->set_error(ToProto(o.error));
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* GroupService::DescribeGroups(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeGroupsRequest* request,
                                                       v1::DescribeGroupsResponse* response) {
  std::vector<std::string> ids(request->groups().begin(), request->groups().end());
  for (group::GroupDescription& d : security_.Authz(ctx).DescribeGroups(*coordinator_, ids)) {
    v1::DescribedGroup* g = response->add_groups();
    g->set_error(ToProto(d.result.error));
    g->set_error_message(d.result.message);
    g->set_group_id(d.group_id);
    g->set_group_state(d.state);
    g->set_protocol_type(d.protocol_type);
    g->set_protocol_data(d.protocol_name);
    for (group::DescribedMember& m : d.members) {
      v1::DescribedGroupMember* pm = g->add_members();
      pm->set_member_id(std::move(m.member_id));
      pm->set_group_instance_id(std::move(m.group_instance_id));
      pm->set_client_id(std::move(m.client_id));
      pm->set_client_host(std::move(m.client_host));
      pm->set_member_metadata(std::move(m.metadata));
      pm->set_member_assignment(std::move(m.assignment));
    }
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* GroupService::ListGroups(grpc::CallbackServerContext* ctx,
                                                   const v1::ListGroupsRequest* request,
                                                   v1::ListGroupsResponse* response) {
  std::vector<std::string> states(request->states_filter().begin(), request->states_filter().end());
  group::ListGroupsResponse r = security_.Authz(ctx).ListGroups(*coordinator_, states);
  response->set_error(ToProto(r.result.error));
  response->set_error_message(r.result.message);
  for (const group::ListedGroup& g : r.groups) {
    v1::ListedGroup* pg = response->add_groups();
    pg->set_group_id(g.group_id);
    pg->set_protocol_type(g.protocol_type);
    pg->set_group_state(g.state);
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* GroupService::DeleteGroups(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteGroupsRequest* request,
                                                     v1::DeleteGroupsResponse* response) {
  std::vector<std::string> ids(request->group_ids().begin(), request->group_ids().end());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).DeleteGroups(*coordinator_, std::move(ids),
                                    [reactor, response](std::vector<group::DeletedGroup> results) {
                                      for (const group::DeletedGroup& d : results) {
                                        v1::DeletableGroupResult* r = response->add_results();
                                        r->set_group_id(d.group_id);
                                        r->set_error(ToProto(d.result.error));
                                        r->set_error_message(d.result.message);
                                      }
                                      reactor->Finish(grpc::Status::OK);
                                    });
  return reactor;
}

grpc::ServerUnaryReactor* GroupService::OffsetDelete(grpc::CallbackServerContext* ctx,
                                                     const v1::OffsetDeleteRequest* request,
                                                     v1::OffsetDeleteResponse* response) {
  group::OffsetDeleteRequest req;
  req.group_id = request->group_id();
  req.partitions = Flatten(request->topics());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).OffsetDelete(*coordinator_, std::move(req),
                                    [reactor, response](group::OffsetDeleteResponse r) {
                                      response->set_error(ToProto(r.result.error));
                                      response->set_error_message(r.result.message);
                                      AddPartitionResults(r.partitions, response->mutable_topics());
                                      reactor->Finish(grpc::Status::OK);
                                    });
  return reactor;
}

}  // namespace strata::server
