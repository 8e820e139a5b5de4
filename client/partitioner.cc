#include "client/partitioner.h"

namespace strata::client {

int32_t Murmur2(std::string_view data) {
  // MurmurHash2 with Kafka's seed and the same little-endian word reads and
  // tail handling, in unsigned arithmetic (Java's int wraps the same way).
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t length = data.size();

  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t words = length / 4;
  for (size_t i = 0; i < words; ++i) {
    const unsigned char* p = bytes + i * 4;
    uint32_t k =
        uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const unsigned char* tail = bytes + words * 4;
  switch (length % 4) {
    case 3:
      h ^= uint32_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t{tail[0]};
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionForKey(std::string_view key, int32_t num_partitions) {
  return ToPositive(Murmur2(key)) % num_partitions;
}

Partitioner::Partitioner(KeylessPartitioning keyless, int32_t sticky_batch_bytes, uint64_t seed)
    : keyless_(keyless), sticky_batch_bytes_(sticky_batch_bytes), rng_(seed) {}

int32_t Partitioner::Partition(const std::string& topic, const std::optional<std::string>& key,
                               int32_t num_partitions, size_t record_bytes) {
  if (key.has_value()) return PartitionForKey(*key, num_partitions);
  if (keyless_ == KeylessPartitioning::kRoundRobin) {
    uint32_t n = round_robin_[topic]++;
    return static_cast<int32_t>(n % static_cast<uint32_t>(num_partitions));
  }
  Sticky& s = StickyFor(topic);
  if (s.partition < 0 || s.partition >= num_partitions || s.bytes >= sticky_batch_bytes_) {
    int32_t next = static_cast<int32_t>(rng_() % static_cast<uint64_t>(num_partitions));
    // Move on to a different partition when there is one, as Kafka does.
    if (num_partitions > 1 && next == s.partition) next = (next + 1) % num_partitions;
    s.partition = next;
    s.bytes = 0;
  }
  s.bytes += static_cast<int64_t>(record_bytes);
  return s.partition;
}

Partitioner::Sticky& Partitioner::StickyFor(const std::string& topic) {
  if (last_sticky_ == nullptr || last_sticky_->first != topic) {
    last_sticky_ = &*sticky_.try_emplace(topic).first;
  }
  return last_sticky_->second;
}

}  // namespace strata::client
