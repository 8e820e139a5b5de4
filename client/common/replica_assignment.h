// Kafka's rack-unaware replica assignment (AdminUtils.assignReplicasToBrokers
// without racks), shared by the controller (topic creation, new partitions)
// and the CLI (`reassign-partitions --generate`), so both spread replicas the
// way Kafka's users know.
//
// Pure and header-only, standard library only. The two random numbers Kafka
// draws (the start index and the replica shift) are parameters, so callers
// choose the randomness and tests are deterministic.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace strata {

// Why an assignment cannot be made, in Kafka's words, or "" when it can:
// partitions and the replication factor must be positive, and there must be
// at least as many brokers as replicas per partition.
inline std::string ReplicaAssignmentError(size_t brokers, int32_t partitions,
                                          int32_t replication_factor) {
  if (partitions <= 0) return "Number of partitions must be larger than 0.";
  if (replication_factor <= 0) return "Replication factor must be larger than 0.";
  if (static_cast<size_t>(replication_factor) > brokers) {
    return "Replication factor: " + std::to_string(replication_factor) +
           " larger than available brokers: " + std::to_string(brokers) + ".";
  }
  return "";
}

// The replicas of `partitions` partitions, from partition `first_partition`
// on, over `brokers` (ids in the order to walk them; callers pass them
// sorted), the first replica of each the preferred leader.
//
// Kafka's AdminUtils.assignReplicasToBrokersRackUnaware step for step: the
// first replicas walk the brokers from `start_index`, and each follower sits
// a distance from the first replica that starts at `replica_shift` and grows
// by one every full round of brokers, so that replicas of consecutive rounds
// do not line up on the same broker pairs. Kafka draws both numbers at
// random in [0, brokers.size()) for a new topic, and uses the index of the
// first replica of partition 0 for both when adding partitions.
//
// Returns an empty assignment when ReplicaAssignmentError() names a problem
// (callers check first).
inline std::vector<std::vector<int32_t>> AssignReplicasRackUnaware(
    const std::vector<int32_t>& brokers, int32_t partitions, int32_t replication_factor,
    int32_t first_partition, int32_t start_index, int32_t replica_shift) {
  std::vector<std::vector<int32_t>> out;
  if (!ReplicaAssignmentError(brokers.size(), partitions, replication_factor).empty()) return out;
  const int64_t n = static_cast<int64_t>(brokers.size());
  out.reserve(static_cast<size_t>(partitions));
  int64_t next_replica_shift = std::max(replica_shift, 0);
  int64_t current = std::max(first_partition, 0);
  const int64_t start = std::max(start_index, 0);
  for (int32_t i = 0; i < partitions; ++i, ++current) {
    if (current > 0 && current % n == 0) ++next_replica_shift;
    const int64_t first_replica_index = (current + start) % n;
    std::vector<int32_t> replicas = {brokers[static_cast<size_t>(first_replica_index)]};
    for (int64_t j = 0; j < replication_factor - 1; ++j) {
      const int64_t shift = 1 + (next_replica_shift + j) % (n - 1);
      replicas.push_back(brokers[static_cast<size_t>((first_replica_index + shift) % n)]);
    }
    out.push_back(std::move(replicas));
  }
  return out;
}

}  // namespace strata
