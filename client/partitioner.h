// Kafka's partitioning, so that a key lands in the partition a Java client
// would pick for it and existing data keeps its per-key order when a
// workload moves to Strata.
//
//  - Keyed records: toPositive(murmur2(key)) % numPartitions, with Kafka's
//    murmur2 (seed 0x9747b28c) and toPositive(x) = x & 0x7fffffff.
//  - Keyless records, round-robin (the default): per topic, partitions 0, 1,
//    2, ... in turn, so a..j on three partitions give P0 a d g j, P1 b e h,
//    P2 c f i (Kafka's RoundRobinPartitioner order).
//  - Keyless records, sticky: one partition per topic until batch.size bytes
//    went to it, then another one picked at random (Kafka 3.3's built-in
//    partitioner without the broker-load adaptivity).
//
// Not thread-safe: the producer calls it under its own lock, the one each
// Send takes anyway (a second lock per record showed in its profile).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"

namespace strata::client {

// Kafka's Utils.murmur2: MurmurHash2, 32 bits, seed 0x9747b28c, over the
// bytes of `data`, as a signed int.
int32_t Murmur2(std::string_view data);
// Kafka's Utils.toPositive: clears the sign bit (not abs()).
inline int32_t ToPositive(int32_t x) { return x & 0x7fffffff; }
// The partition Kafka's default partitioner gives a keyed record.
int32_t PartitionForKey(std::string_view key, int32_t num_partitions);

enum class KeylessPartitioning { kRoundRobin, kSticky };

class Partitioner {
 public:
  // `sticky_batch_bytes`: bytes after which a sticky partition changes
  // (batch.size). `seed`: for the sticky choice, so tests are repeatable.
  explicit Partitioner(KeylessPartitioning keyless, int32_t sticky_batch_bytes = 16384,
                       uint64_t seed = std::random_device{}());

  // The partition for a record of `record_bytes` to `topic`, which has
  // `num_partitions` (>= 1) partitions.
  int32_t Partition(const std::string& topic, const std::optional<std::string>& key,
                    int32_t num_partitions, size_t record_bytes = 0);

  // last_sticky_ points into sticky_: a copy would point into the original.
  Partitioner(const Partitioner&) = delete;
  Partitioner& operator=(const Partitioner&) = delete;

 private:
  struct Sticky {
    int32_t partition = -1;
    int64_t bytes = 0;
  };

  Sticky& StickyFor(const std::string& topic);

  const KeylessPartitioning keyless_;
  const int32_t sticky_batch_bytes_;
  std::mt19937_64 rng_;
  absl::flat_hash_map<std::string, uint32_t> round_robin_;
  // Nodes, so that last_sticky_ stays valid as topics are added.
  absl::node_hash_map<std::string, Sticky> sticky_;
  // The topic of the last keyless record and its entry: a producer mostly
  // writes one topic after another record of it, and comparing the name is
  // cheaper than hashing it for every record.
  std::pair<const std::string, Sticky>* last_sticky_ = nullptr;
};

}  // namespace strata::client
