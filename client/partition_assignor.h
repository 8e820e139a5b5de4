// PartitionAssignor: what a consumer asks of its partition.assignment.strategy
// (Kafka's ConsumerPartitionAssignor), over the algorithms of assignors.h
// and the wire formats of consumer_protocol.h.
//
// The consumer's side of a rebalance:
//  1. JoinGroup: one protocol per assignor, named name(), whose metadata is
//     EncodeSubscription() of the member's topics, SubscriptionUserData(),
//     and for kCooperative its owned partitions and generation_id.
//  2. The leader (the coordinator picks the first assignor every member
//     lists) decodes every member's metadata and calls Assign(); each
//     result goes back in SyncGroup as EncodeAssignment().
//  3. Every member, leader or not, passes what it got to OnAssignment()
//     with the generation it joined, so a sticky assignor can report it in
//     its next subscription.
// With kEager the consumer revokes all its partitions before joining; with
// kCooperative it keeps them, revokes only those missing from its new
// assignment, and rejoins at once when it revoked any (the partitions
// withheld this round are assigned in that follow-up rebalance).
//
// Not thread-safe: an assignor belongs to one consumer and is called from
// its rebalance code only. No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/consumer_protocol.h"

namespace strata::client {

enum class RebalanceProtocol { kEager, kCooperative };

class PartitionAssignor {
 public:
  virtual ~PartitionAssignor() = default;

  // "range", "roundrobin", "sticky" or "cooperative-sticky": the protocol
  // name in JoinGroup, the same as a Java client's.
  virtual std::string name() const = 0;
  // cooperative-sticky: kCooperative; the others kEager.
  virtual RebalanceProtocol protocol() const = 0;

  // The user data for this member's subscription; empty means none (write
  // it as null). sticky: its previous assignment and generation
  // (StickyUserData), empty before its first assignment. cooperative-sticky:
  // its generation (EncodeCooperativeUserData), -1 before its first.
  virtual std::string SubscriptionUserData(const std::set<std::string>& /*topics*/) const {
    return {};
  }

  // Run by the group leader. `partitions_per_topic`: partition counts from
  // metadata; a topic missing there is not assigned. `subscriptions`:
  // member id -> its decoded subscription. Every member gets an entry, its
  // partitions ordered by topic then partition.
  virtual std::map<std::string, ConsumerAssignment> Assign(
      const std::map<std::string, int32_t>& partitions_per_topic,
      const std::map<std::string, ConsumerSubscription>& subscriptions) = 0;

  // Run by every member after SyncGroup with its assignment and the
  // generation it joined.
  virtual void OnAssignment(const ConsumerAssignment& /*assignment*/, int32_t /*generation_id*/) {}
};

// "range", "roundrobin", "sticky", "cooperative-sticky", or Kafka's class
// names (org.apache.kafka.clients.consumer.RangeAssignor, RoundRobinAssignor,
// StickyAssignor, CooperativeStickyAssignor). InvalidArgument naming the
// value otherwise.
absl::StatusOr<std::unique_ptr<PartitionAssignor>> MakeAssignor(const std::string& name);

// partition.assignment.strategy: a comma-separated list (spaces around
// names ignored) -> its assignors in order, the preferred first. Kafka 3.x's
// default is kDefaultAssignmentStrategy. InvalidArgument for an unknown,
// empty or repeated name, or an empty list.
inline constexpr char kDefaultAssignmentStrategy[] = "range,cooperative-sticky";
absl::StatusOr<std::vector<std::unique_ptr<PartitionAssignor>>> MakeAssignors(
    const std::string& list);

}  // namespace strata::client
