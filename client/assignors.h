// Kafka's eager partition assignors, run by a group's leader member to
// divide the partitions of the topics the members subscribe to: the same
// inputs give the same assignment as a Java client's, so a group can mix
// Strata and Kafka clients.
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
//
// A topic nobody subscribes to, or one whose partition count is unknown,
// is left out; every member appears in the result, possibly with nothing.
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

}  // namespace strata::client
