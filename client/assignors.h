// Kafka's partition assignors, run by a group's leader member to divide the
// partitions of the topics the members subscribe to: the same inputs give
// the same kind of assignment as a Java client's, so a group can mix Strata
// and Kafka clients.
//
//  - range (RangeAssignor, Kafka's default before 3.0): per topic, the
//    members subscribed to it in member id order each get a run of
//    consecutive partitions; the first `partitions % members` get one more.
//    Two members on t0 and t1 of 3 partitions each: C0 [t0p0 t0p1 t1p0
//    t1p1], C1 [t0p2 t1p2].
//  - roundrobin (RoundRobinAssignor): every partition of every subscribed
//    topic, ordered by topic then partition, dealt in turn to the members
//    in member id order, skipping a member not subscribed to its topic.
//    The same two members: C0 [t0p0 t0p2 t1p1], C1 [t0p1 t1p0 t1p2].
//  - sticky (StickyAssignor, eager) and cooperative-sticky
//    (CooperativeStickyAssignor): a balanced assignment that leaves as many
//    partitions as it can with the member that owns them now. See
//    StickyAssign below.
//
// A topic nobody subscribes to, or one whose partition count is unknown,
// is left out; every member appears in the result, possibly with nothing.
// Pure functions of their arguments; deterministic; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/common/ids.h"

namespace strata::client {

// Member id -> the topics it subscribes to.
using Subscriptions = std::map<std::string, std::set<std::string>>;
// Member id -> its partitions, ordered by topic then partition.
using Assignment = std::map<std::string, std::vector<TopicPartition>>;

Assignment RangeAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                       const Subscriptions& subscriptions);
Assignment RoundRobinAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                            const Subscriptions& subscriptions);

// What the sticky assignors know of a member: its subscription, the
// partitions it owns now and the generation it got them in. Where these
// come from differs (partition_assignor.h): eager "sticky" members report
// their previous assignment in their user data, cooperative ones in the
// subscription's owned_partitions.
struct StickyMember {
  std::set<std::string> topics;
  std::vector<TopicPartition> owned;
  // The generation `owned` was assigned in; -1 when unknown (older
  // clients), which loses to any known generation.
  int32_t generation = -1;
};
using StickyMembers = std::map<std::string, StickyMember>;

// Kafka's AbstractStickyAssignor, without rack awareness.
//
// Ownership first: a partition claimed by two members stays with the one
// of the higher generation; claimed by two of the same (highest)
// generation, it stays with neither and is assigned afresh. Claims on
// topics nobody subscribes to any more, or on partitions the topic does
// not have, are dropped; so are a member's claims on topics it no longer
// subscribes to.
//
// When every member subscribes to the same topics, each gets
// floor(P/N) or ceil(P/N) of the P partitions, and a member keeps its
// owned partitions up to that quota (those with the lowest partition
// numbers first). The rest go round-robin, in topic then partition order,
// to the members below quota in member id order.
//
// Otherwise (the general case) a member keeps every owned partition of a
// topic it still subscribes to; the rest go, topics with the fewest
// subscribers first, each to the least loaded member subscribed to it; then
// partitions move, one at a time, from a member that has at least two more
// than another member subscribed to their topic, until no such move is
// left (Kafka's definition of balanced), preferring partitions that had no
// owner. Kafka's preference for returning a partition to its owner of an
// earlier generation is not implemented.
Assignment StickyAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                        const StickyMembers& members);

// The sticky assignment, minus every partition it gives a member that does
// not own it while another member of the group still does, and every
// partition two members claimed in the same generation (Kafka's
// adjustAssignment): the owner is told to revoke it this round, and the
// rebalance that follows the revocation assigns it. So no partition is
// ever owned by two members at once.
Assignment CooperativeStickyAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                                   const StickyMembers& members);

}  // namespace strata::client
