// The group coordinator's requests and responses, protocol-neutral: what the
// gRPC Group service and Kafka's binary protocol both decode into and encode
// from. Shaped after Kafka's JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and
// OffsetDelete messages, with offsets listed flat (topic, partition) — the
// transports nest them by topic. Member metadata and assignments are opaque
// bytes (Kafka's ConsumerProtocol for "consumer" groups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/common/error_code.h"

namespace strata::group {

// A member's client host as Kafka's tools print it ("/127.0.0.1"), from a
// transport's peer address: gRPC's "ipv4:127.0.0.1:50012" or
// "ipv6:[::1]:50012", or a socket's "127.0.0.1:50012". Both doors name
// their members alike, so `strata consumer-groups` prints them alike.
inline std::string ClientHost(std::string_view peer) {
  std::string_view address = peer;
  for (std::string_view scheme : {"ipv4:", "ipv6:", "unix:"}) {
    if (address.starts_with(scheme)) address.remove_prefix(scheme.size());
  }
  const size_t colon = address.rfind(':');
  if (colon != std::string_view::npos && !address.starts_with("/")) {
    address = address.substr(0, colon);
  }
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  return "/" + std::string(address);
}

// A (topic, partition) as the group APIs name it.
struct GroupTopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend auto operator<=>(const GroupTopicPartition&, const GroupTopicPartition&) = default;
};

// --- JoinGroup ---
struct JoinGroupRequest {
  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // -1: the session timeout (JoinGroup v0)
  std::string member_id;              // empty on the first join
  std::string group_instance_id;      // empty: a dynamic member
  std::string protocol_type;
  // (assignor name, subscription bytes), most preferred first.
  std::vector<std::pair<std::string, std::string>> protocols;
  std::string reason;
  // From the transport: the client's id and address.
  std::string client_id;
  std::string client_host;
  // KIP-394: a dynamic member joining without an id gets one with
  // MEMBER_ID_REQUIRED and joins again with it. Kafka's JoinGroup v4+ asks
  // for it; v0-v3 clients do not know the error.
  bool require_known_member_id = true;
};
struct JoinGroupMember {
  std::string member_id;
  std::string group_instance_id;
  std::string metadata;
};
struct JoinGroupResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t generation_id = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  std::vector<JoinGroupMember> members;  // the leader's only
};

// --- SyncGroup ---
struct SyncGroupRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::string group_instance_id;
  std::string protocol_type;  // empty: not checked (SyncGroup < v5)
  std::string protocol_name;  // empty: not checked
  // (member id, assignment bytes), from the leader.
  std::vector<std::pair<std::string, std::string>> assignments;
};
struct SyncGroupResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  std::string protocol_type;
  std::string protocol_name;
  std::string assignment;
};

// --- Heartbeat ---
struct HeartbeatRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::string group_instance_id;
};

// An error with the message naming it: Heartbeat's answer, and one entry of
// the per-group and per-member answers below.
struct GroupResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

// --- LeaveGroup ---
struct LeavingMember {
  std::string member_id;
  std::string group_instance_id;
  std::string reason;
};
struct LeaveGroupRequest {
  std::string group_id;
  std::vector<LeavingMember> members;
};
struct LeaveGroupResponse {
  GroupResult result;
  // One per member asked for, in order.
  std::vector<std::pair<LeavingMember, GroupResult>> members;
};

// --- OffsetCommit ---
struct CommittedOffset {
  GroupTopicPartition tp;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
};
struct OffsetCommitRequest {
  std::string group_id;
  // -1 with an empty member id: a commit from outside the group's
  // generations, accepted only while the group has no members.
  int32_t generation_id = -1;
  std::string member_id;
  std::string group_instance_id;
  std::vector<CommittedOffset> offsets;
};
struct PartitionResult {
  GroupTopicPartition tp;
  GroupResult result;
};
struct OffsetCommitResponse {
  std::vector<PartitionResult> partitions;  // in the request's order
};

// --- TxnOffsetCommit (KIP-98, KIP-447) ---
// Offsets committed inside a producer's transaction: written to the
// group's partition as that producer's transactional records, pending until
// the transaction's marker there makes them the committed offsets (COMMIT)
// or drops them (ABORT).
struct TxnOffsetCommitRequest {
  std::string transactional_id;
  std::string group_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  // KIP-447: the consumer's generation and member (-1 / empty: not checked,
  // as from clients before it).
  int32_t generation_id = -1;
  std::string member_id;
  std::string group_instance_id;
  std::vector<CommittedOffset> offsets;
};

// --- OffsetFetch ---
struct OffsetFetchRequest {
  std::string group_id;
  // nullopt: every partition the group has an offset for.
  std::optional<std::vector<GroupTopicPartition>> partitions;
  // KIP-447: a partition with a commit still pending (a transaction's not
  // yet completed, or a plain commit not yet acknowledged) answers
  // UNSTABLE_OFFSET_COMMIT instead of its offset.
  bool require_stable = false;
};
struct FetchedOffset {
  GroupTopicPartition tp;
  int64_t offset = -1;  // -1: nothing committed
  int32_t leader_epoch = -1;
  std::string metadata;
  ErrorCode error = ErrorCode::kNone;
  // Committed by a transaction (TxnOffsetCommit): the group reads
  // read_committed. Not on the wire; the lag metrics use it.
  bool transactional = false;
};
struct OffsetFetchResponse {
  GroupResult result;
  std::vector<FetchedOffset> offsets;  // sorted by topic, partition
};

// --- DescribeGroups / ListGroups ---
struct DescribedMember {
  std::string member_id;
  std::string group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // the chosen protocol's, only while Stable
  std::string assignment;  // only while Stable
};
struct GroupDescription {
  GroupResult result;
  std::string group_id;
  std::string state;  // Kafka's state names; "Dead" for an unknown group
  std::string protocol_type;
  std::string protocol_name;
  std::vector<DescribedMember> members;
};
struct ListedGroup {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};
struct ListGroupsResponse {
  GroupResult result;
  std::vector<ListedGroup> groups;  // sorted by id
};

// --- DeleteGroups / OffsetDelete ---
struct DeletedGroup {
  std::string group_id;
  GroupResult result;
};
struct OffsetDeleteRequest {
  std::string group_id;
  std::vector<GroupTopicPartition> partitions;
};
struct OffsetDeleteResponse {
  GroupResult result;
  std::vector<PartitionResult> partitions;
};

}  // namespace strata::group
