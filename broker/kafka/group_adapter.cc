// FindCoordinator and the group APIs between Kafka's structs and the request
// layer (adapter.h, group_adapter.h).
#include "broker/kafka/group_adapter.h"

#include <climits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/adapter.h"
#include "broker/kafka/wire.h"
#include "broker/request/handlers.h"
#include "client/common/error_code.h"

namespace strata::kafka {

namespace {

int16_t Code(ErrorCode error) { return static_cast<int16_t>(error); }

// Empty = null, for Kafka's nullable GroupInstanceId.
std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// Appends flat per-partition answers to a Kafka response's topics, nested by
// topic in the order topics first appear (group_service.cc does the same).
template <typename Topic>
class ByTopic {
 public:
  using Partition = typename decltype(Topic::partitions)::value_type;

  explicit ByTopic(std::vector<Topic>* topics) : topics_(topics) {}

  Partition& Add(const std::string& topic) {
    auto [it, inserted] = index_.try_emplace(topic, topics_->size());
    if (inserted) topics_->emplace_back().name = topic;
    return (*topics_)[it->second].partitions.emplace_back();
  }

 private:
  std::vector<Topic>* topics_;
  std::map<std::string, size_t> index_;
};

}  // namespace

// ---- FindCoordinator ----

request::FindCoordinatorRequest ToRequestLayer(const FindCoordinatorRequest& request,
                                               int16_t version) {
  request::FindCoordinatorRequest out;
  out.key_type = version >= 1 ? request.key_type : 0;
  out.keys.push_back(request.key);
  return out;
}

FindCoordinatorResponse FromRequestLayer(const std::vector<request::CoordinatorResult>& results,
                                         int16_t version) {
  FindCoordinatorResponse out;
  if (results.empty()) {
    // The handler answers every key; an answer without one is its bug.
    out.error_code = Code(ErrorCode::kUnknownServerError);
    out.node_id = -1;
    out.port = -1;
    return out;
  }
  const request::CoordinatorResult& r = results.front();
  out.error_code = Code(r.error);
  if (version >= 1 && !r.message.empty()) out.error_message = CutToKafkaString(r.message);
  out.node_id = r.node_id;
  out.host = r.host;
  out.port = r.port;
  return out;
}

// ---- JoinGroup ----

group::JoinGroupRequest ToRequestLayer(const JoinGroupRequest& request, int16_t version,
                                       std::string client_id, std::string client_host) {
  group::JoinGroupRequest out;
  out.group_id = request.group_id;
  out.session_timeout_ms = request.session_timeout_ms;
  out.rebalance_timeout_ms = version >= 1 ? request.rebalance_timeout_ms : -1;
  out.member_id = request.member_id;
  if (version >= 5) out.group_instance_id = request.group_instance_id.value_or("");
  out.protocol_type = request.protocol_type;
  out.protocols.reserve(request.protocols.size());
  for (const JoinGroupRequest::Protocol& p : request.protocols) {
    out.protocols.emplace_back(p.name, p.metadata);
  }
  out.client_id = std::move(client_id);
  out.client_host = std::move(client_host);
  out.require_known_member_id = version >= 4;
  return out;
}

JoinGroupResponse FromRequestLayer(const group::JoinGroupResponse& response, int16_t version) {
  JoinGroupResponse out;
  out.error_code = Code(response.error);
  out.generation_id = response.generation_id;
  out.protocol_name = response.protocol_name;
  out.leader = response.leader;
  out.member_id = response.member_id;
  out.members.reserve(response.members.size());
  for (const group::JoinGroupMember& m : response.members) {
    JoinGroupResponse::Member& member = out.members.emplace_back();
    member.member_id = m.member_id;
    if (version >= 5) member.group_instance_id = NullIfEmpty(m.group_instance_id);
    member.metadata = m.metadata;
  }
  return out;
}

// ---- SyncGroup ----

group::SyncGroupRequest ToRequestLayer(const SyncGroupRequest& request, int16_t version) {
  group::SyncGroupRequest out;
  out.group_id = request.group_id;
  out.generation_id = request.generation_id;
  out.member_id = request.member_id;
  if (version >= 3) out.group_instance_id = request.group_instance_id.value_or("");
  out.assignments.reserve(request.assignments.size());
  for (const SyncGroupRequest::Assignment& a : request.assignments) {
    out.assignments.emplace_back(a.member_id, a.assignment);
  }
  return out;
}

SyncGroupResponse FromRequestLayer(const group::SyncGroupResponse& response, int16_t /*version*/) {
  SyncGroupResponse out;
  out.error_code = Code(response.error);
  out.assignment = response.assignment;
  return out;
}

// ---- Heartbeat ----

group::HeartbeatRequest ToRequestLayer(const HeartbeatRequest& request, int16_t version) {
  group::HeartbeatRequest out;
  out.group_id = request.group_id;
  out.generation_id = request.generation_id;
  out.member_id = request.member_id;
  if (version >= 3) out.group_instance_id = request.group_instance_id.value_or("");
  return out;
}

HeartbeatResponse FromRequestLayer(const group::GroupResult& result, int16_t /*version*/) {
  HeartbeatResponse out;
  out.error_code = Code(result.error);
  return out;
}

// ---- LeaveGroup ----

group::LeaveGroupRequest ToRequestLayer(const LeaveGroupRequest& request, int16_t version) {
  group::LeaveGroupRequest out;
  out.group_id = request.group_id;
  if (version <= 2) {
    out.members.push_back({request.member_id, "", ""});
    return out;
  }
  out.members.reserve(request.members.size());
  for (const LeaveGroupRequest::Member& m : request.members) {
    out.members.push_back({m.member_id, m.group_instance_id.value_or(""), ""});
  }
  return out;
}

LeaveGroupResponse FromRequestLayer(const group::LeaveGroupResponse& response, int16_t version) {
  LeaveGroupResponse out;
  out.error_code = Code(response.result.error);
  if (version <= 2) {
    // No per-member results on the wire: the group's error, else the
    // first member's (Kafka's LeaveGroupResponse.getError).
    if (response.result.error == ErrorCode::kNone) {
      for (const auto& [member, result] : response.members) {
        if (result.error != ErrorCode::kNone) {
          out.error_code = Code(result.error);
          break;
        }
      }
    }
    return out;
  }
  out.members.reserve(response.members.size());
  for (const auto& [member, result] : response.members) {
    LeaveGroupResponse::Member& m = out.members.emplace_back();
    m.member_id = member.member_id;
    m.group_instance_id = NullIfEmpty(member.group_instance_id);
    m.error_code = Code(result.error);
  }
  return out;
}

// ---- OffsetCommit ----

group::OffsetCommitRequest ToRequestLayer(const OffsetCommitRequest& request, int16_t version) {
  group::OffsetCommitRequest out;
  out.group_id = request.group_id;
  out.generation_id = request.generation_id_or_member_epoch;
  out.member_id = request.member_id;
  if (version >= 7) out.group_instance_id = request.group_instance_id.value_or("");
  for (const OffsetCommitRequest::Topic& t : request.topics) {
    for (const OffsetCommitRequest::Partition& p : t.partitions) {
      out.offsets.push_back(group::CommittedOffset{
          .tp = {t.name, p.partition_index},
          .offset = p.committed_offset,
          .leader_epoch = version >= 6 ? p.committed_leader_epoch : -1,
          .metadata = p.committed_metadata.value_or(""),
      });
    }
  }
  return out;
}

OffsetCommitResponse FromRequestLayer(const group::OffsetCommitResponse& response,
                                      int16_t /*version*/) {
  OffsetCommitResponse out;
  ByTopic<OffsetCommitResponse::Topic> topics(&out.topics);
  for (const group::PartitionResult& r : response.partitions) {
    OffsetCommitResponse::Partition& p = topics.Add(r.tp.topic);
    p.partition_index = r.tp.partition;
    p.error_code = Code(r.result.error);
  }
  return out;
}

// ---- OffsetFetch ----

group::OffsetFetchRequest ToRequestLayer(const OffsetFetchRequest& request, int16_t /*version*/) {
  group::OffsetFetchRequest out;
  out.group_id = request.group_id;
  out.require_stable = request.require_stable;  // v7+ (KIP-447)
  // Null (v2+; the codec refuses it in v1): every partition with an offset.
  if (!request.topics.has_value()) return out;
  std::vector<group::GroupTopicPartition> partitions;
  for (const OffsetFetchRequest::Topic& t : *request.topics) {
    for (int32_t p : t.partition_indexes) partitions.push_back({t.name, p});
  }
  out.partitions = std::move(partitions);
  return out;
}

OffsetFetchResponse FromRequestLayer(const OffsetFetchRequest& request,
                                     const group::OffsetFetchResponse& response, int16_t version) {
  OffsetFetchResponse out;
  ByTopic<OffsetFetchResponse::Topic> topics(&out.topics);
  const ErrorCode group_error = response.result.error;
  if (version < 2 && group_error != ErrorCode::kNone) {
    // No top-level ErrorCode in v1: every partition asked for carries it.
    if (request.topics.has_value()) {
      for (const OffsetFetchRequest::Topic& t : *request.topics) {
        for (int32_t index : t.partition_indexes) {
          OffsetFetchResponse::Partition& p = topics.Add(t.name);
          p.partition_index = index;
          p.committed_offset = -1;
          p.committed_leader_epoch = -1;
          p.metadata = "";
          p.error_code = Code(group_error);
        }
      }
    }
    return out;
  }
  out.error_code = Code(group_error);
  for (const group::FetchedOffset& o : response.offsets) {
    OffsetFetchResponse::Partition& p = topics.Add(o.tp.topic);
    p.partition_index = o.tp.partition;
    p.committed_offset = o.offset;
    p.committed_leader_epoch = o.leader_epoch;
    p.metadata = o.metadata;
    p.error_code = Code(o.error);
  }
  return out;
}

// ---- DescribeGroups ----

std::vector<std::string> ToRequestLayer(const DescribeGroupsRequest& request, int16_t /*version*/) {
  return request.groups;
}

DescribeGroupsResponse FromRequestLayer(const std::vector<group::GroupDescription>& groups,
                                        bool include_authorized_operations, int16_t version) {
  DescribeGroupsResponse out;
  out.groups.reserve(groups.size());
  for (const group::GroupDescription& d : groups) {
    DescribeGroupsResponse::Group& g = out.groups.emplace_back();
    g.error_code = Code(d.result.error);
    g.group_id = d.group_id;
    g.group_state = d.state;
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol_name;
    g.members.reserve(d.members.size());
    for (const group::DescribedMember& m : d.members) {
      DescribeGroupsResponse::Member& member = g.members.emplace_back();
      member.member_id = m.member_id;
      if (version >= 4) member.group_instance_id = NullIfEmpty(m.group_instance_id);
      member.client_id = m.client_id;
      member.client_host = m.client_host;
      member.member_metadata = m.metadata;
      member.member_assignment = m.assignment;
    }
    g.authorized_operations =
        version >= 3 && include_authorized_operations ? kGroupAuthorizedOperations : INT32_MIN;
  }
  return out;
}

// ---- ListGroups ----

std::vector<std::string> ToRequestLayer(const ListGroupsRequest& request, int16_t version) {
  if (version < 4) return {};
  return request.states_filter;
}

ListGroupsResponse FromRequestLayer(const group::ListGroupsResponse& response,
                                    int16_t /*version*/) {
  ListGroupsResponse out;
  out.error_code = Code(response.result.error);
  out.groups.reserve(response.groups.size());
  for (const group::ListedGroup& g : response.groups) {
    out.groups.push_back(
        {.group_id = g.group_id, .protocol_type = g.protocol_type, .group_state = g.state});
  }
  return out;
}

// ---- DeleteGroups ----

std::vector<std::string> ToRequestLayer(const DeleteGroupsRequest& request, int16_t /*version*/) {
  return request.groups_names;
}

DeleteGroupsResponse FromRequestLayer(const std::vector<group::DeletedGroup>& results,
                                      int16_t /*version*/) {
  DeleteGroupsResponse out;
  out.results.reserve(results.size());
  for (const group::DeletedGroup& d : results) {
    out.results.push_back({.group_id = d.group_id, .error_code = Code(d.result.error)});
  }
  return out;
}

// ---- OffsetDelete ----

group::OffsetDeleteRequest ToRequestLayer(const OffsetDeleteRequest& request, int16_t /*version*/) {
  group::OffsetDeleteRequest out;
  out.group_id = request.group_id;
  for (const OffsetDeleteRequest::Topic& t : request.topics) {
    for (const OffsetDeleteRequest::Partition& p : t.partitions) {
      out.partitions.push_back({t.name, p.partition_index});
    }
  }
  return out;
}

OffsetDeleteResponse FromRequestLayer(const group::OffsetDeleteResponse& response,
                                      int16_t /*version*/) {
  OffsetDeleteResponse out;
  out.error_code = Code(response.result.error);
  ByTopic<OffsetDeleteResponse::Topic> topics(&out.topics);
  for (const group::PartitionResult& r : response.partitions) {
    OffsetDeleteResponse::Partition& p = topics.Add(r.tp.topic);
    p.partition_index = r.tp.partition;
    p.error_code = Code(r.result.error);
  }
  return out;
}

// ---- The adapters ----

namespace {

absl::Status NoCoordinator() { return absl::FailedPreconditionError("no group coordinator"); }

void FindCoordinatorAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(absl::FailedPreconditionError("no request layer"));
    return;
  }
  const int16_t version = call.version();
  std::vector<request::CoordinatorResult> results = call.authz().FindCoordinator(
      *call.deps.handlers, ToRequestLayer(std::get<FindCoordinatorRequest>(request), version),
      call.context.listener);
  reply(Response(FromRequestLayer(results, version)));
}

void JoinGroupAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().JoinGroup(
      *call.deps.groups,
      ToRequestLayer(std::get<JoinGroupRequest>(request), version,
                     call.header.client_id.value_or(""), group::ClientHost(call.context.peer)),
      [reply = std::move(reply), version](group::JoinGroupResponse r) {
        reply(Response(FromRequestLayer(r, version)));
      });
}

void SyncGroupAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().SyncGroup(*call.deps.groups,
                         ToRequestLayer(std::get<SyncGroupRequest>(request), version),
                         [reply = std::move(reply), version](group::SyncGroupResponse r) {
                           reply(Response(FromRequestLayer(r, version)));
                         });
}

void HeartbeatAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  group::GroupResult r = call.authz().Heartbeat(
      *call.deps.groups, ToRequestLayer(std::get<HeartbeatRequest>(request), version));
  reply(Response(FromRequestLayer(r, version)));
}

void LeaveGroupAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().LeaveGroup(*call.deps.groups,
                          ToRequestLayer(std::get<LeaveGroupRequest>(request), version),
                          [reply = std::move(reply), version](group::LeaveGroupResponse r) {
                            reply(Response(FromRequestLayer(r, version)));
                          });
}

void OffsetCommitAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().OffsetCommit(*call.deps.groups,
                            ToRequestLayer(std::get<OffsetCommitRequest>(request), version),
                            [reply = std::move(reply), version](group::OffsetCommitResponse r) {
                              reply(Response(FromRequestLayer(r, version)));
                            });
}

void OffsetFetchAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  const OffsetFetchRequest& fetch = std::get<OffsetFetchRequest>(request);
  group::OffsetFetchResponse r =
      call.authz().OffsetFetch(*call.deps.groups, ToRequestLayer(fetch, version));
  reply(Response(FromRequestLayer(fetch, r, version)));
}

void DescribeGroupsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  const DescribeGroupsRequest& describe = std::get<DescribeGroupsRequest>(request);
  std::vector<group::GroupDescription> groups =
      call.authz().DescribeGroups(*call.deps.groups, ToRequestLayer(describe, version));
  reply(Response(FromRequestLayer(groups, describe.include_authorized_operations, version)));
}

void ListGroupsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  group::ListGroupsResponse r = call.authz().ListGroups(
      *call.deps.groups, ToRequestLayer(std::get<ListGroupsRequest>(request), version));
  reply(Response(FromRequestLayer(r, version)));
}

void DeleteGroupsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().DeleteGroups(
      *call.deps.groups, ToRequestLayer(std::get<DeleteGroupsRequest>(request), version),
      [reply = std::move(reply), version](std::vector<group::DeletedGroup> results) {
        reply(Response(FromRequestLayer(results, version)));
      });
}

void OffsetDeleteAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().OffsetDelete(*call.deps.groups,
                            ToRequestLayer(std::get<OffsetDeleteRequest>(request), version),
                            [reply = std::move(reply), version](group::OffsetDeleteResponse r) {
                              reply(Response(FromRequestLayer(r, version)));
                            });
}

constexpr AdapterRow kGroupAdapters[] = {
    {ApiKey::kOffsetCommit, &OffsetCommitAdapter},
    {ApiKey::kOffsetFetch, &OffsetFetchAdapter},
    {ApiKey::kFindCoordinator, &FindCoordinatorAdapter},
    {ApiKey::kJoinGroup, &JoinGroupAdapter},
    {ApiKey::kHeartbeat, &HeartbeatAdapter},
    {ApiKey::kLeaveGroup, &LeaveGroupAdapter},
    {ApiKey::kSyncGroup, &SyncGroupAdapter},
    {ApiKey::kDescribeGroups, &DescribeGroupsAdapter},
    {ApiKey::kListGroups, &ListGroupsAdapter},
    {ApiKey::kDeleteGroups, &DeleteGroupsAdapter},
    {ApiKey::kOffsetDelete, &OffsetDeleteAdapter},
};

}  // namespace

absl::Span<const AdapterRow> GroupAdapters() { return kGroupAdapters; }

}  // namespace strata::kafka
