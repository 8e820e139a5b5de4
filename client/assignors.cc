#include "client/assignors.h"

#include <algorithm>
#include <deque>
#include <tuple>

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

// The topics at least one member subscribes to and whose partition count is
// known, with that count.
std::map<std::string, int32_t> SubscribedTopics(
    const std::map<std::string, int32_t>& partitions_per_topic, const StickyMembers& members) {
  std::map<std::string, int32_t> out;
  for (const auto& [member, m] : members) {
    for (const std::string& topic : m.topics) {
      auto it = partitions_per_topic.find(topic);
      if (it != partitions_per_topic.end() && it->second > 0) out.insert(*it);
    }
  }
  return out;
}

bool Exists(const std::map<std::string, int32_t>& topics, const TopicPartition& tp) {
  auto it = topics.find(tp.topic);
  return it != topics.end() && tp.partition.value() >= 0 && tp.partition.value() < it->second;
}

// Each member's claims that survive: on an existing partition of a
// subscribed topic, and either unopposed or of a strictly higher generation
// than every other claim. Every member appears. Partitions claimed by two
// members of the same highest generation go to `contested`.
Assignment ResolveClaims(const std::map<std::string, int32_t>& topics, const StickyMembers& members,
                         std::set<TopicPartition>* contested) {
  // Partition -> the members claiming it, with their generations.
  std::map<TopicPartition, std::vector<std::pair<int32_t, const std::string*>>> claims;
  for (const auto& [member, m] : members) {
    std::set<TopicPartition> seen;  // a member repeating a partition claims it once
    for (const TopicPartition& tp : m.owned) {
      if (Exists(topics, tp) && seen.insert(tp).second) {
        claims[tp].emplace_back(m.generation, &member);
      }
    }
  }
  Assignment kept;
  for (const auto& [member, m] : members) kept[member];
  for (auto& [tp, claimants] : claims) {
    std::sort(claimants.begin(), claimants.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    if (claimants.size() > 1 && claimants[0].first == claimants[1].first) {
      contested->insert(tp);
    } else {
      kept[*claimants[0].second].push_back(tp);
    }
  }
  return kept;
}

bool AllSubscriptionsEqual(const StickyMembers& members) {
  return std::all_of(members.begin(), members.end(), [&](const auto& entry) {
    return entry.second.topics == members.begin()->second.topics;
  });
}

// Every partition of `topics`, in topic then partition order.
std::vector<TopicPartition> AllPartitions(const std::map<std::string, int32_t>& topics) {
  std::vector<TopicPartition> out;
  for (const auto& [topic, count] : topics) {
    for (int32_t p = 0; p < count; ++p) out.push_back(TopicPartition{topic, PartitionId(p)});
  }
  return out;
}

// All members subscribe to `topics`: quotas of floor and ceil(P/N), owned
// partitions kept up to them, the rest dealt round-robin.
Assignment ConstrainedAssign(const std::map<std::string, int32_t>& topics, Assignment owned) {
  const std::vector<TopicPartition> all = AllPartitions(topics);
  const size_t members = owned.size();
  const size_t min_quota = all.size() / members;
  const size_t max_quota = min_quota + (all.size() % members == 0 ? 0 : 1);
  // How many members get max_quota, and how many have it so far.
  const size_t expected_over = all.size() % members;
  size_t over = 0;

  Assignment out;
  std::set<TopicPartition> assigned;
  std::vector<std::string> under_min;   // below min_quota, in member id order
  std::deque<std::string> exactly_min;  // at min_quota and may take one more
  for (auto& [member, partitions] : owned) {
    // Kafka keeps the lowest partition numbers first.
    std::sort(partitions.begin(), partitions.end(), [](const auto& a, const auto& b) {
      return std::tie(a.partition, a.topic) < std::tie(b.partition, b.topic);
    });
    size_t keep;
    if (partitions.size() < min_quota) {
      keep = partitions.size();
      under_min.push_back(member);
    } else if (partitions.size() >= max_quota && over < expected_over) {
      keep = max_quota;
      if (++over == expected_over) exactly_min.clear();
    } else {
      keep = min_quota;
      if (over < expected_over) exactly_min.push_back(member);
    }
    std::vector<TopicPartition>& mine = out[member];
    for (size_t i = 0; i < keep; ++i) {
      mine.push_back(partitions[i]);
      assigned.insert(partitions[i]);
    }
  }

  size_t next = 0;  // the position in under_min the deal continues from
  for (const TopicPartition& tp : all) {
    if (assigned.contains(tp)) continue;
    std::string member;
    bool from_under_min = false;
    if (!under_min.empty()) {
      if (next >= under_min.size()) next = 0;
      member = under_min[next];
      from_under_min = true;
    } else if (!exactly_min.empty()) {
      member = exactly_min.front();
      exactly_min.pop_front();
    } else {
      // The quotas add up to every partition, so this is unreachable; if it
      // is ever reached, a partition still must not be left unassigned.
      member = std::min_element(out.begin(), out.end(), [](const auto& a, const auto& b) {
                 return a.second.size() < b.second.size();
               })->first;
    }
    std::vector<TopicPartition>& mine = out[member];
    mine.push_back(tp);
    if (from_under_min) {
      if (mine.size() == min_quota) {
        under_min.erase(under_min.begin() + static_cast<ptrdiff_t>(next));
        exactly_min.push_back(member);
      } else {
        ++next;
      }
    } else if (mine.size() == max_quota) {
      ++over;
    }
  }
  return out;
}

// Members subscribe to different topics: keep owned partitions, place the
// rest on the least loaded, then move partitions until none can go from a
// member to one with at least two fewer that subscribes to its topic.
Assignment GeneralAssign(const std::map<std::string, int32_t>& topics, const StickyMembers& members,
                         Assignment owned) {
  std::map<std::string, std::vector<const std::string*>> subscribers;  // topic -> members
  for (const auto& [member, m] : members) {
    for (const std::string& topic : m.topics) {
      if (topics.contains(topic)) subscribers[topic].push_back(&member);
    }
  }

  Assignment out;
  std::map<TopicPartition, std::string> owner;
  for (auto& [member, partitions] : owned) {
    std::vector<TopicPartition>& mine = out[member];
    for (const TopicPartition& tp : partitions) {
      if (!members.at(member).topics.contains(tp.topic)) continue;  // revoked: unsubscribed
      mine.push_back(tp);
      owner[tp] = member;
    }
  }
  // Who owned what before any partition was placed or moved: moving those
  // costs stickiness, moving the others does not.
  const std::map<TopicPartition, std::string> kept = owner;

  // Partitions of the topics with the fewest subscribers first: they have
  // the least choice.
  std::vector<TopicPartition> unassigned;
  for (const TopicPartition& tp : AllPartitions(topics)) {
    if (!owner.contains(tp)) unassigned.push_back(tp);
  }
  std::stable_sort(unassigned.begin(), unassigned.end(), [&](const auto& a, const auto& b) {
    return subscribers[a.topic].size() < subscribers[b.topic].size();
  });
  for (const TopicPartition& tp : unassigned) {
    const std::string* least = nullptr;
    for (const std::string* member : subscribers[tp.topic]) {
      if (least == nullptr || out[*member].size() < out[*least].size()) least = member;
    }
    out[*least].push_back(tp);
    owner[tp] = *least;
  }

  // Each move takes a partition from a member with c partitions to one with
  // at most c - 2, so the sum of squared counts drops and the loop ends.
  for (;;) {
    std::vector<const std::string*> by_load;
    for (const auto& [member, partitions] : out) by_load.push_back(&member);
    std::stable_sort(by_load.begin(), by_load.end(),
                     [&](const auto* a, const auto* b) { return out[*a].size() < out[*b].size(); });
    bool moved = false;
    for (const std::string* to : by_load) {
      const size_t load = out[*to].size();
      // The best partition to take: one that had no owner, then one from
      // the most loaded member.
      const TopicPartition* best = nullptr;
      std::pair<bool, size_t> best_key{false, 0};
      for (const std::string& topic : members.at(*to).topics) {
        auto count = topics.find(topic);
        if (count == topics.end()) continue;
        for (int32_t p = 0; p < count->second; ++p) {
          auto it = owner.find(TopicPartition{topic, PartitionId(p)});
          const std::string& from = it->second;
          if (from == *to || out[from].size() <= load + 1) continue;
          auto k = kept.find(it->first);
          const std::pair<bool, size_t> key{k == kept.end() || k->second != from, out[from].size()};
          if (best == nullptr || key > best_key) {
            best = &it->first;
            best_key = key;
          }
        }
      }
      if (best == nullptr) continue;
      std::vector<TopicPartition>& from = out[owner[*best]];
      from.erase(std::find(from.begin(), from.end(), *best));
      out[*to].push_back(*best);
      owner[*best] = *to;
      moved = true;
      break;
    }
    if (!moved) break;
  }
  return out;
}

// StickyAssign, also telling which partitions were contested.
Assignment StickyAssignTracked(const std::map<std::string, int32_t>& partitions_per_topic,
                               const StickyMembers& members, std::set<TopicPartition>* contested) {
  if (members.empty()) return {};
  const std::map<std::string, int32_t> topics = SubscribedTopics(partitions_per_topic, members);
  Assignment owned = ResolveClaims(topics, members, contested);
  Assignment out = AllSubscriptionsEqual(members)
                       ? ConstrainedAssign(topics, std::move(owned))
                       : GeneralAssign(topics, members, std::move(owned));
  SortEach(&out);
  return out;
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

Assignment StickyAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                        const StickyMembers& members) {
  std::set<TopicPartition> contested;
  return StickyAssignTracked(partitions_per_topic, members, &contested);
}

Assignment CooperativeStickyAssign(const std::map<std::string, int32_t>& partitions_per_topic,
                                   const StickyMembers& members) {
  std::set<TopicPartition> contested;
  Assignment out = StickyAssignTracked(partitions_per_topic, members, &contested);
  std::map<TopicPartition, std::set<std::string>> claimed_by;
  for (const auto& [member, m] : members) {
    for (const TopicPartition& tp : m.owned) claimed_by[tp].insert(member);
  }
  for (auto& [member, partitions] : out) {
    std::erase_if(partitions, [&](const TopicPartition& tp) {
      // Claimed by two members of one generation: neither may be trusted to
      // have stopped consuming it, so whoever gets it waits a round.
      if (contested.contains(tp)) return true;
      // New to `member` while another member still owns it: that one
      // revokes it first.
      auto it = claimed_by.find(tp);
      return it != claimed_by.end() && !it->second.contains(member);
    });
  }
  return out;
}

}  // namespace strata::client
