// FindCoordinator (10, v0-2) and the group APIs — JoinGroup (11, v0-5),
// SyncGroup (14, v0-3), Heartbeat (12, v0-3), LeaveGroup (13, v0-3),
// OffsetCommit (8, v2-7), OffsetFetch (9, v1-7), DescribeGroups (15, v0-4),
// ListGroups (16, v0-4), DeleteGroups (42, v1) and OffsetDelete (47, v0) —
// between Kafka's structs and the request layer (notes/issue14-design.md
// §2.2). Pure functions; the adapters in group_adapter.cc call
// RequestHandlers::FindCoordinator and the group coordinator between them,
// exactly as the gRPC door does (broker/server/group_service.cc): one
// broker, two doors, the same groups and offsets.
//
// What the versions change (fields a version lacks are the codec's
// defaults; the rules below are the ones a default does not express):
//   FindCoordinator  one key; KeyType (v1+: 0 a group, 1 a transactional
//             id) goes to the handler unchanged, which decides. v0 has no
//             ErrorMessage; v1+ carries the handler's, null when empty.
//   JoinGroup  v0 has no RebalanceTimeoutMs: -1 (the coordinator uses the
//             session timeout). require_known_member_id from v4 (KIP-394:
//             older clients do not know MEMBER_ID_REQUIRED).
//             GroupInstanceId from v5. client_id is the request header's,
//             client_host the peer's (group::ClientHost), as gRPC.
//   SyncGroup, Heartbeat  GroupInstanceId from v3. SyncGroup < v5 sends no
//             protocol type or name: empty, not checked.
//   LeaveGroup  v0-2 name one MemberId; their answer has no per-member
//             results, so its ErrorCode is the group's, or when that is
//             NONE the first member error (Kafka's LeaveGroupResponse).
//   OffsetCommit  GenerationIdOrMemberEpoch -1 with an empty MemberId is a
//             commit from outside the group's generations (the coordinator
//             decides). RetentionTimeMs (v2-4) is ignored, as Kafka since
//             2.1. A null CommittedMetadata is "".
//   OffsetFetch  Topics null (v2+) = every partition with an offset; empty
//             = none. v1 has no top-level ErrorCode: a group error answers
//             every partition asked for with that error (offset -1), as
//             Kafka's OffsetFetchRequest.getErrorResponse.
//   DescribeGroups  AuthorizedOperations (v3+) INT32_MIN unless asked; when
//             asked, every group operation (no authorizer, as Kafka
//             without one): READ, DELETE, DESCRIBE.
//   ListGroups  the groups this broker coordinates (clients ask every
//             broker and merge); StatesFilter from v4.
// Answers about partitions are nested by topic in the order topics first
// appear in the coordinator's answer, which keeps the request's order.
// Error codes are Kafka's numbers (ErrorCode's values). Messages put in a
// Kafka STRING are cut to its 32767 bytes, so a long one cannot make the
// response unencodable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/group/group_api.h"
#include "broker/kafka/messages.h"
#include "broker/request/api.h"

namespace strata::kafka {

// DescribeGroups' AuthorizedOperations when asked: READ (3), DELETE (6),
// DESCRIBE (8), Kafka's AclOperation codes for a group.
inline constexpr int32_t kGroupAuthorizedOperations = (1 << 3) | (1 << 6) | (1 << 8);

request::FindCoordinatorRequest ToRequestLayer(const FindCoordinatorRequest& request,
                                               int16_t version);
// `results` answer the one key asked for.
FindCoordinatorResponse FromRequestLayer(const std::vector<request::CoordinatorResult>& results,
                                         int16_t version);

// `client_id` is the request header's, `client_host` group::ClientHost of
// the peer.
group::JoinGroupRequest ToRequestLayer(const JoinGroupRequest& request, int16_t version,
                                       std::string client_id, std::string client_host);
JoinGroupResponse FromRequestLayer(const group::JoinGroupResponse& response, int16_t version);

group::SyncGroupRequest ToRequestLayer(const SyncGroupRequest& request, int16_t version);
SyncGroupResponse FromRequestLayer(const group::SyncGroupResponse& response, int16_t version);

group::HeartbeatRequest ToRequestLayer(const HeartbeatRequest& request, int16_t version);
HeartbeatResponse FromRequestLayer(const group::GroupResult& result, int16_t version);

group::LeaveGroupRequest ToRequestLayer(const LeaveGroupRequest& request, int16_t version);
LeaveGroupResponse FromRequestLayer(const group::LeaveGroupResponse& response, int16_t version);

group::OffsetCommitRequest ToRequestLayer(const OffsetCommitRequest& request, int16_t version);
OffsetCommitResponse FromRequestLayer(const group::OffsetCommitResponse& response, int16_t version);

group::OffsetFetchRequest ToRequestLayer(const OffsetFetchRequest& request, int16_t version);
// `request` names the partitions a v1 group error is copied into.
OffsetFetchResponse FromRequestLayer(const OffsetFetchRequest& request,
                                     const group::OffsetFetchResponse& response, int16_t version);

// The group ids asked for.
std::vector<std::string> ToRequestLayer(const DescribeGroupsRequest& request, int16_t version);
DescribeGroupsResponse FromRequestLayer(const std::vector<group::GroupDescription>& groups,
                                        bool include_authorized_operations, int16_t version);

// The states to list (empty: all).
std::vector<std::string> ToRequestLayer(const ListGroupsRequest& request, int16_t version);
ListGroupsResponse FromRequestLayer(const group::ListGroupsResponse& response, int16_t version);

// The group ids to delete.
std::vector<std::string> ToRequestLayer(const DeleteGroupsRequest& request, int16_t version);
DeleteGroupsResponse FromRequestLayer(const std::vector<group::DeletedGroup>& results,
                                      int16_t version);

group::OffsetDeleteRequest ToRequestLayer(const OffsetDeleteRequest& request, int16_t version);
OffsetDeleteResponse FromRequestLayer(const group::OffsetDeleteResponse& response, int16_t version);

}  // namespace strata::kafka
