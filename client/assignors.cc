#include "client/assignors.h"

#include <algorithm>

namespace strata::client {
namespace {

Assignment EveryMember(const Subscriptions& subscriptions) {
  Assignment out;
  for (const auto& [member, topics] : subscriptions) out[member];
  return out;
}

void SortEach(Assignment* assignment) {
  for (auto& [member, partitions] : *assignment) std::sort(partitions.begin(), partitions.end());
}

}  // namespace

Assignment RangeAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                       const Subscriptions& subscriptions) {
  Assignment out = EveryMember(subscriptions);
  for (const auto& [topic, count] : partitions_per_topic) {
    // Members subscribed to `topic`, in member id order (the map's).
    std::vector<const std::string*> members;
    for (const auto& [member, topics] : subscriptions) {
      if (topics.contains(topic)) members.push_back(&member);
    }
    if (members.empty() || count <= 0) continue;
    const int32_t n = static_cast<int32_t>(members.size());
    const int32_t per_member = count / n;
    const int32_t extra = count % n;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t start = per_member * i + std::min(i, extra);
      const int32_t length = per_member + (i < extra ? 1 : 0);
      for (int32_t p = start; p < start + length; ++p) {
        out[*members[i]].push_back(TopicPartition{topic, PartitionId(p)});
      }
    }
  }
  SortEach(&out);
  return out;
}

Assignment RoundRobinAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                            const Subscriptions& subscriptions) {
  Assignment out = EveryMember(subscriptions);
  if (subscriptions.empty()) return out;
  std::vector<const std::string*> members;
  for (const auto& [member, topics] : subscriptions) members.push_back(&member);
  size_t next = 0;  // the member the deal continues from, across topics
  for (const auto& [topic, count] : partitions_per_topic) {
    const bool anyone = std::any_of(subscriptions.begin(), subscriptions.end(),
                                    [&](const auto& s) { return s.second.contains(topic); });
    if (!anyone) continue;
    for (int32_t p = 0; p < count; ++p) {
      // The next member in the circle that subscribes to this topic.
      while (!subscriptions.at(*members[next]).contains(topic)) {
        next = (next + 1) % members.size();
      }
      out[*members[next]].push_back(TopicPartition{topic, PartitionId(p)});
      next = (next + 1) % members.size();
    }
  }
  SortEach(&out);
  return out;
}

}  // namespace strata::client
