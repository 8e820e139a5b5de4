// A consumer group as the classic group coordinator keeps it (Kafka's
// GroupMetadata and MemberMetadata): the state machine, the members, the
// generation, the protocol the members agree on, and which broker
// coordinates the group. Pure: no I/O, no threads, no clock — the
// coordinator drives it and owns its lock.
//
// States and the only transitions allowed into each (Kafka's
// validPreviousStates):
//   Empty               <- PreparingRebalance
//   PreparingRebalance  <- Empty, Stable, CompletingRebalance
//   CompletingRebalance <- PreparingRebalance
//   Stable              <- CompletingRebalance
//   Dead                <- any state
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace strata::group {

// Java's String.hashCode over the UTF-16 code units of `utf8` (each
// supplementary character counts as its surrogate pair, as in Java), so a
// group hashes here as it does in Kafka. Invalid UTF-8 bytes count as
// U+FFFD, as Java's decoder replaces them.
int32_t JavaStringHashCode(std::string_view utf8);

// The __consumer_offsets partition whose leader coordinates `group_id`:
// Kafka's Utils.abs(groupId.hashCode) % partitions (Utils.abs maps
// INT32_MIN to 0).
int32_t OffsetsPartitionFor(std::string_view group_id, int32_t offsets_topic_partitions);

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance",
// "Stable", "Dead" (what describe and the CLI print).
const char* GroupStateName(GroupState state);

struct MemberMetadata {
  std::string member_id;
  // group.instance.id of a static member; empty for a dynamic one.
  std::string group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;  // "consumer"
  // The protocols (assignors) it supports, most preferred first, each with
  // its subscription metadata.
  std::vector<std::pair<std::string, std::string>> protocols;
  // What the leader assigned it in the current generation.
  std::string assignment;

  // Its most preferred protocol among `candidates`.
  std::string Vote(const std::vector<std::string>& candidates) const;
  bool Supports(const std::string& protocol) const;
};

class GroupMetadata {
 public:
  explicit GroupMetadata(std::string group_id) : group_id_(std::move(group_id)) {}

  const std::string& group_id() const { return group_id_; }
  GroupState state() const { return state_; }
  int32_t generation_id() const { return generation_id_; }
  // Empty until a generation with members chose one.
  const std::string& protocol_type() const { return protocol_type_; }
  const std::string& protocol_name() const { return protocol_name_; }
  // The member that computes the assignment; empty without members.
  const std::string& leader_id() const { return leader_id_; }
  const std::map<std::string, MemberMetadata>& members() const { return members_; }

  bool Has(const std::string& member_id) const { return members_.contains(member_id); }
  const MemberMetadata* Get(const std::string& member_id) const;
  // For updating a member's protocols and timeouts on rejoin (its id and
  // instance id must not change); null when not a member.
  MemberMetadata* Mutable(const std::string& member_id);
  // The member id a static member's instance id maps to, if any.
  std::optional<std::string> StaticMemberId(const std::string& group_instance_id) const;

  // Moves to `target`; FailedPrecondition (naming both states) when Kafka
  // does not allow that transition, and the state does not change.
  absl::Status TransitionTo(GroupState target);

  // Adds a member. The first member of the group becomes its leader. A
  // member must share the group's protocol type and support at least one
  // protocol every current member supports (Kafka answers
  // INCONSISTENT_GROUP_PROTOCOL otherwise): InvalidArgument then, and
  // nothing changes.
  absl::Status Add(MemberMetadata member);
  // Removes a member; the next member (in member id order) leads if it
  // led. Returns false when it was not a member.
  bool Remove(const std::string& member_id);
  // A static member rejoined with a new member id (Kafka's
  // replaceStaticMember): it keeps its place, its assignment and, if it
  // led, the leadership. NotFound when `old_member_id` is not a member.
  absl::Status ReplaceStaticMember(const std::string& old_member_id,
                                   const std::string& new_member_id);

  // Makes a member the leader (one that rejoined, when the leader did not);
  // false when it is not a member.
  bool SetLeader(const std::string& member_id);
  // The leader's SyncGroup hands `member_id` its assignment; false when it
  // is not a member.
  bool SetAssignment(const std::string& member_id, std::string assignment);

  // The protocols every member supports, each once, in the order of the
  // first member's preference.
  std::vector<std::string> CandidateProtocols() const;
  // The protocol most members vote for (each votes its most preferred
  // candidate); ties go to the first in CandidateProtocols' order. Empty
  // without members.
  std::string SelectProtocol() const;
  // Whether a joining member could share the group's protocols.
  bool SupportsProtocols(const std::string& protocol_type,
                         const std::vector<std::string>& protocols) const;

  // A group as the coordinator reads it back from __consumer_offsets:
  // Stable with its members and their assignments, or Empty without.
  // Members are listed in `members`' order; `leader_id` must be one of them
  // (else the first leads).
  static GroupMetadata Restore(std::string group_id, int32_t generation_id,
                               std::string protocol_type, std::string protocol_name,
                               std::string leader_id, std::vector<MemberMetadata> members);

  // Kafka's initNextGeneration: the generation moves on by one; with
  // members it selects the protocol and goes to CompletingRebalance,
  // without it goes to Empty and forgets the protocol. Assignments of the
  // previous generation are cleared. Called in PreparingRebalance.
  absl::Status InitNextGeneration();

 private:
  const std::string group_id_;
  GroupState state_ = GroupState::kEmpty;
  int32_t generation_id_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_id_;
  std::map<std::string, MemberMetadata> members_;
  // group.instance.id -> member id, for static members.
  std::map<std::string, std::string> static_members_;
};

}  // namespace strata::group
