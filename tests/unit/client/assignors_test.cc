#include "client/assignors.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace strata::client {
namespace {

std::vector<TopicPartition> Tps(std::vector<std::pair<std::string, int32_t>> tps) {
  std::vector<TopicPartition> out;
  for (auto& [t, p] : tps) out.push_back(TopicPartition{t, PartitionId(p)});
  return out;
}

// Every partition of every subscribed topic goes to exactly one member,
// and only to a member subscribed to its topic.
void ExpectACompleteAssignment(const std::map<std::string, int32_t>& topics,
                               const Subscriptions& subscriptions, const Assignment& a) {
  std::map<TopicPartition, int> owners;
  for (const auto& [member, tps] : a) {
    for (const TopicPartition& tp : tps) {
      ++owners[tp];
      EXPECT_TRUE(subscriptions.at(member).contains(tp.topic)) << member << " " << tp.ToString();
    }
  }
  for (const auto& [topic, count] : topics) {
    bool subscribed = false;
    for (const auto& [member, ts] : subscriptions) subscribed = subscribed || ts.contains(topic);
    for (int32_t p = 0; p < count; ++p) {
      const TopicPartition tp{topic, PartitionId(p)};
      EXPECT_EQ(owners[tp], subscribed ? 1 : 0) << tp.ToString();
    }
  }
  EXPECT_EQ(a.size(), subscriptions.size()) << "every member appears";
}

TEST(AssignorsTest, RangeAsKafkaDocumentsIt) {
  const std::map<std::string, int32_t> topics = {{"t0", 3}, {"t1", 3}};
  const Subscriptions subs = {{"C0", {"t0", "t1"}}, {"C1", {"t0", "t1"}}};
  Assignment a = RangeAssign(topics, subs);
  EXPECT_EQ(a["C0"], Tps({{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(a["C1"], Tps({{"t0", 2}, {"t1", 2}}));
  ExpectACompleteAssignment(topics, subs, a);
}

TEST(AssignorsTest, RoundRobinAsKafkaDocumentsIt) {
  const std::map<std::string, int32_t> topics = {{"t0", 3}, {"t1", 3}};
  const Subscriptions subs = {{"C0", {"t0", "t1"}}, {"C1", {"t0", "t1"}}};
  Assignment a = RoundRobinAssign(topics, subs);
  EXPECT_EQ(a["C0"], Tps({{"t0", 0}, {"t0", 2}, {"t1", 1}}));
  EXPECT_EQ(a["C1"], Tps({{"t0", 1}, {"t1", 0}, {"t1", 2}}));
  ExpectACompleteAssignment(topics, subs, a);
}

TEST(AssignorsTest, RoundRobinWithUnevenSubscriptionsAsKafkaDocumentsIt) {
  const std::map<std::string, int32_t> topics = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const Subscriptions subs = {{"C0", {"t0"}}, {"C1", {"t0", "t1"}}, {"C2", {"t0", "t1", "t2"}}};
  Assignment a = RoundRobinAssign(topics, subs);
  EXPECT_EQ(a["C0"], Tps({{"t0", 0}}));
  EXPECT_EQ(a["C1"], Tps({{"t1", 0}}));
  EXPECT_EQ(a["C2"], Tps({{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}));
  ExpectACompleteAssignment(topics, subs, a);
}

TEST(AssignorsTest, RangeGivesTheFirstMembersTheRemainder) {
  // 6 partitions over 4 members: 2, 2, 1, 1; a topic nobody wants is left out.
  const std::map<std::string, int32_t> topics = {{"orders", 6}, {"unwanted", 4}};
  const Subscriptions subs = {
      {"m-a", {"orders"}}, {"m-b", {"orders"}}, {"m-c", {"orders"}}, {"m-d", {"orders"}}};
  Assignment a = RangeAssign(topics, subs);
  EXPECT_EQ(a["m-a"], Tps({{"orders", 0}, {"orders", 1}}));
  EXPECT_EQ(a["m-b"], Tps({{"orders", 2}, {"orders", 3}}));
  EXPECT_EQ(a["m-c"], Tps({{"orders", 4}}));
  EXPECT_EQ(a["m-d"], Tps({{"orders", 5}}));
  ExpectACompleteAssignment(topics, subs, a);
}

TEST(AssignorsTest, MoreMembersThanPartitionsLeavesSomeIdleAndNoneShared) {
  const std::map<std::string, int32_t> topics = {{"t", 2}};
  const Subscriptions subs = {{"a", {"t"}}, {"b", {"t"}}, {"c", {"t"}}};
  for (const Assignment& a : {RangeAssign(topics, subs), RoundRobinAssign(topics, subs)}) {
    ExpectACompleteAssignment(topics, subs, a);
    EXPECT_TRUE(a.at("c").empty());
  }
  EXPECT_TRUE(RangeAssign(topics, {}).empty());
  EXPECT_TRUE(RoundRobinAssign(topics, {}).empty());
}

// ---- sticky and cooperative-sticky ----

Subscriptions TopicsOf(const StickyMembers& members) {
  Subscriptions out;
  for (const auto& [member, m] : members) out[member] = m.topics;
  return out;
}

// Members that own what `previous` gave them, in `generation`.
StickyMembers Owning(const Assignment& previous, const std::set<std::string>& topics,
                     int32_t generation) {
  StickyMembers out;
  for (const auto& [member, tps] : previous) out[member] = StickyMember{topics, tps, generation};
  return out;
}

bool AllEqual(const Subscriptions& subscriptions) {
  return std::all_of(subscriptions.begin(), subscriptions.end(),
                     [&](const auto& s) { return s.second == subscriptions.begin()->second; });
}

size_t Kept(const std::vector<TopicPartition>& before, const std::vector<TopicPartition>& after) {
  return std::count_if(before.begin(), before.end(), [&](const TopicPartition& tp) {
    return std::find(after.begin(), after.end(), tp) != after.end();
  });
}

std::pair<size_t, size_t> MinMaxLoad(const Assignment& a) {
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [member, tps] : a) {
    lo = std::min(lo, tps.size());
    hi = std::max(hi, tps.size());
  }
  return {lo, hi};
}

// Kafka's definition of balanced: no partition could move from its member
// to another member subscribed to its topic that has at least two fewer.
void ExpectKafkaBalanced(const Subscriptions& subscriptions, const Assignment& a) {
  for (const auto& [from, tps] : a) {
    for (const TopicPartition& tp : tps) {
      for (const auto& [to, topics] : subscriptions) {
        EXPECT_FALSE(topics.contains(tp.topic) && a.at(to).size() + 1 < tps.size())
            << tp.ToString() << " could move from " << from << " (" << tps.size() << ") to " << to
            << " (" << a.at(to).size() << ")";
      }
    }
  }
}

// Cooperative: no partition is given to two members, and none is given to a
// member that does not own it while another member does (it must be
// revoked first).
void ExpectNoDirectMoves(const StickyMembers& members, const Assignment& a) {
  std::map<TopicPartition, int> owners;
  for (const auto& [member, tps] : a) {
    for (const TopicPartition& tp : tps) {
      EXPECT_EQ(++owners[tp], 1) << tp.ToString() << " given twice";
      const auto& mine = members.at(member).owned;
      if (std::find(mine.begin(), mine.end(), tp) != mine.end()) continue;
      for (const auto& [other, m] : members) {
        EXPECT_TRUE(other == member ||
                    std::find(m.owned.begin(), m.owned.end(), tp) == m.owned.end())
            << tp.ToString() << " moves from " << other << " to " << member << " in one round";
      }
    }
  }
}

const std::map<std::string, int32_t> kFourTopicsOfTwo = {
    {"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}};
const std::set<std::string> kAllFour = {"t0", "t1", "t2", "t3"};

TEST(StickyAssignorTest, FreshAssignmentAsKafkaDocumentsIt) {
  // StickyAssignor's javadoc, example 1: three consumers on t0..t3.
  StickyMembers members;
  for (const char* c : {"C0", "C1", "C2"}) members[c] = StickyMember{kAllFour, {}, -1};
  Assignment a = StickyAssign(kFourTopicsOfTwo, members);
  EXPECT_EQ(a["C0"], Tps({{"t0", 0}, {"t1", 1}, {"t3", 0}}));
  EXPECT_EQ(a["C1"], Tps({{"t0", 1}, {"t2", 0}, {"t3", 1}}));
  EXPECT_EQ(a["C2"], Tps({{"t1", 0}, {"t2", 1}}));
  ExpectACompleteAssignment(kFourTopicsOfTwo, TopicsOf(members), a);
}

TEST(StickyAssignorTest, RemovingAConsumerKeepsEveryoneElsesPartitions) {
  // Example 1 continued: C1 leaves. Round robin would move C0's and C2's
  // partitions around; sticky keeps all five and splits C1's three.
  const Assignment before = {{"C0", Tps({{"t0", 0}, {"t1", 1}, {"t3", 0}})},
                             {"C1", Tps({{"t0", 1}, {"t2", 0}, {"t3", 1}})},
                             {"C2", Tps({{"t1", 0}, {"t2", 1}})}};
  StickyMembers members = Owning(before, kAllFour, 1);
  members.erase("C1");
  Assignment a = StickyAssign(kFourTopicsOfTwo, members);
  ExpectACompleteAssignment(kFourTopicsOfTwo, TopicsOf(members), a);
  EXPECT_EQ(Kept(before.at("C0"), a["C0"]), 3u);
  EXPECT_EQ(Kept(before.at("C2"), a["C2"]), 2u);
  EXPECT_EQ(a["C0"].size(), 4u);
  EXPECT_EQ(a["C2"].size(), 4u);
  // Round robin over the same two members keeps fewer of them in place.
  Assignment rr = RoundRobinAssign(kFourTopicsOfTwo, TopicsOf(members));
  EXPECT_LT(Kept(before.at("C0"), rr["C0"]) + Kept(before.at("C2"), rr["C2"]), 5u);
}

TEST(StickyAssignorTest, UnevenSubscriptionsAsKafkaDocumentsThem) {
  // Javadoc example 2: C0 on t0, C1 on t0 and t1, C2 on t0, t1 and t2.
  const std::map<std::string, int32_t> topics = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
  StickyMembers members = {{"C0", {{"t0"}, {}, -1}},
                           {"C1", {{"t0", "t1"}, {}, -1}},
                           {"C2", {{"t0", "t1", "t2"}, {}, -1}}};
  Assignment a = StickyAssign(topics, members);
  EXPECT_EQ(a["C0"], Tps({{"t0", 0}}));
  EXPECT_EQ(a["C1"], Tps({{"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(a["C2"], Tps({{"t2", 0}, {"t2", 1}, {"t2", 2}}));
  ExpectACompleteAssignment(topics, TopicsOf(members), a);

  // C0 leaves: sticky keeps all five others in place (round robin keeps 3).
  StickyMembers after = {{"C1", {{"t0", "t1"}, a["C1"], 1}},
                         {"C2", {{"t0", "t1", "t2"}, a["C2"], 1}}};
  Assignment b = StickyAssign(topics, after);
  EXPECT_EQ(b["C1"], Tps({{"t0", 0}, {"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(b["C2"], Tps({{"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST(StickyAssignorTest, TheHigherGenerationKeepsADoublyClaimedPartition) {
  const std::map<std::string, int32_t> topics = {{"t", 4}};
  // Both claim t-0; B's claim is from a later generation.
  StickyMembers members = {{"A", {{"t"}, Tps({{"t", 0}, {"t", 1}}), 3}},
                           {"B", {{"t"}, Tps({{"t", 0}, {"t", 2}}), 4}}};
  Assignment a = StickyAssign(topics, members);
  ExpectACompleteAssignment(topics, TopicsOf(members), a);
  EXPECT_EQ(Kept(Tps({{"t", 0}, {"t", 2}}), a["B"]), 2u);
  EXPECT_EQ(Kept(Tps({{"t", 1}}), a["A"]), 1u);
  // Swap the generations and A keeps it instead.
  members["A"].generation = 5;
  a = StickyAssign(topics, members);
  EXPECT_EQ(Kept(Tps({{"t", 0}, {"t", 1}}), a["A"]), 2u);
}

TEST(StickyAssignorTest, ASameGenerationClaimIsWithheldByCooperative) {
  const std::map<std::string, int32_t> topics = {{"t", 4}};
  StickyMembers members = {{"A", {{"t"}, Tps({{"t", 0}, {"t", 1}}), 4}},
                           {"B", {{"t"}, Tps({{"t", 0}, {"t", 2}}), 4}}};
  ExpectACompleteAssignment(topics, TopicsOf(members), StickyAssign(topics, members));
  Assignment c = CooperativeStickyAssign(topics, members);
  for (const auto& [member, tps] : c) {
    EXPECT_EQ(Kept(Tps({{"t", 0}}), tps), 0u) << member << " got the contested t-0";
  }
  EXPECT_EQ(Kept(Tps({{"t", 1}}), c["A"]), 1u);
  EXPECT_EQ(Kept(Tps({{"t", 2}}), c["B"]), 1u);
}

TEST(StickyAssignorTest, DropsTopicsNobodySubscribesToAndPartitionsThatDoNotExist) {
  const std::map<std::string, int32_t> topics = {{"t", 2}, {"gone", 3}};
  StickyMembers members = {
      {"A", {{"t"}, Tps({{"gone", 0}, {"t", 7}, {"t", -1}, {"deleted", 0}}), 2}},
      {"B", {{"t"}, Tps({{"gone", 1}}), 2}}};
  Assignment a = StickyAssign(topics, members);
  ExpectACompleteAssignment(topics, TopicsOf(members), a);
  EXPECT_EQ(a["A"].size(), 1u);
  EXPECT_EQ(a["B"].size(), 1u);
  EXPECT_TRUE(StickyAssign(topics, {}).empty());
}

TEST(CooperativeStickyAssignorTest, AddingAMemberRevokesFirstAndAssignsNextRound) {
  const std::map<std::string, int32_t> topics = {{"t", 6}};
  // A owns everything; B joins.
  StickyMembers round1 = {
      {"A", {{"t"}, Tps({{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}, {"t", 4}, {"t", 5}}), 1}},
      {"B", {{"t"}, {}, -1}}};
  Assignment first = CooperativeStickyAssign(topics, round1);
  ExpectNoDirectMoves(round1, first);
  EXPECT_EQ(first["A"].size(), 3u);  // A keeps its share and revokes the rest
  EXPECT_TRUE(first["B"].empty());   // which B gets only once A let them go
  // The sticky result would have given them to B right away.
  EXPECT_EQ(StickyAssign(topics, round1)["B"].size(), 3u);

  // A revoked, so it rejoins owning only what it was given.
  StickyMembers round2 = {{"A", {{"t"}, first["A"], 2}}, {"B", {{"t"}, first["B"], 2}}};
  Assignment second = CooperativeStickyAssign(topics, round2);
  ExpectACompleteAssignment(topics, TopicsOf(round2), second);
  EXPECT_EQ(second["A"], first["A"]);
  EXPECT_EQ(second["B"].size(), 3u);
}

TEST(CooperativeStickyAssignorTest, ADepartedMembersPartitionsMoveAtOnce) {
  const std::map<std::string, int32_t> topics = {{"t", 4}};
  // C owned t-2 and t-3 and left: nobody in the group owns them any more.
  StickyMembers members = {{"A", {{"t"}, Tps({{"t", 0}}), 3}}, {"B", {{"t"}, Tps({{"t", 1}}), 3}}};
  Assignment a = CooperativeStickyAssign(topics, members);
  ExpectACompleteAssignment(topics, TopicsOf(members), a);
}

// Random groups, evolved over several rebalances: members join, leave and
// change subscriptions; now and then a stale or bogus claim is injected.
struct Scenario {
  std::map<std::string, int32_t> topics;
  StickyMembers members;
  bool identical = false;
  bool bogus_claims = false;
};

Scenario RandomScenario(std::mt19937& rng) {
  Scenario s;
  const int topic_count = 1 + rng() % 4;
  std::vector<std::string> names;
  for (int t = 0; t < topic_count; ++t) {
    names.push_back("t" + std::to_string(t));
    s.topics[names.back()] = static_cast<int32_t>(1 + rng() % 8);
  }
  s.identical = rng() % 2 == 0;
  std::set<std::string> common;
  for (const std::string& t : names) {
    if (rng() % 3 != 0) common.insert(t);
  }
  if (common.empty()) common.insert(names[0]);
  const int member_count = 1 + rng() % 6;
  for (int m = 0; m < member_count; ++m) {
    std::set<std::string> topics = common;
    if (!s.identical) {
      topics.clear();
      for (const std::string& t : names) {
        if (rng() % 2 == 0) topics.insert(t);
      }
    }
    s.members["m" + std::to_string(m)] = StickyMember{topics, {}, -1};
  }
  return s;
}

// Members leave, join or resubscribe; survivors own their last assignment.
void Evolve(std::mt19937& rng, Scenario* s, const Assignment& last, int32_t generation,
            int* next_id) {
  StickyMembers next;
  size_t left = 0;
  for (auto& [member, m] : s->members) {
    if (rng() % 5 == 0 && ++left < s->members.size()) continue;  // leaves
    StickyMember kept = m;
    kept.owned = last.at(member);
    kept.generation = generation;
    if (!s->identical && rng() % 4 == 0) {
      const std::string t = "t" + std::to_string(rng() % s->topics.size());
      if (!kept.topics.erase(t)) kept.topics.insert(t);
    }
    next[member] = kept;
  }
  if (rng() % 3 == 0) {
    std::set<std::string> topics = next.begin()->second.topics;
    next["n" + std::to_string((*next_id)++)] = StickyMember{topics, {}, -1};
  }
  if (s->bogus_claims) {
    // Someone claims a random partition from an older or the same generation.
    auto it = std::next(next.begin(), rng() % next.size());
    auto topic = std::next(s->topics.begin(), rng() % s->topics.size());
    it->second.owned.push_back(
        TopicPartition{topic->first, PartitionId(static_cast<int32_t>(rng() % topic->second))});
    it->second.generation -= static_cast<int32_t>(rng() % 2);
  }
  if (s->identical) {
    for (auto& [member, m] : next) m.topics = next.begin()->second.topics;
  }
  s->members = std::move(next);
}

TEST(StickyAssignorPropertyTest, CompleteBalancedAndSticky) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    Scenario s = RandomScenario(rng);
    s.bogus_claims = seed % 4 == 0;
    int next_id = 0;
    for (int32_t generation = 1; generation <= 5; ++generation) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " generation " + std::to_string(generation));
      const Subscriptions subscriptions = TopicsOf(s.members);
      Assignment a = StickyAssign(s.topics, s.members);
      ExpectACompleteAssignment(s.topics, subscriptions, a);
      ExpectKafkaBalanced(subscriptions, a);
      if (AllEqual(subscriptions)) {
        auto [lo, hi] = MinMaxLoad(a);
        EXPECT_LE(hi, lo + 1);
        if (!s.bogus_claims) {
          // Everyone keeps its owned partitions of topics it still
          // subscribes to, up to its fair share.
          size_t total = 0;
          for (const auto& [topic, count] : s.topics) {
            if (subscriptions.begin()->second.contains(topic)) total += count;
          }
          const size_t fair = total / s.members.size();
          for (const auto& [member, m] : s.members) {
            std::vector<TopicPartition> still_subscribed;
            for (const TopicPartition& tp : m.owned) {
              if (m.topics.contains(tp.topic)) still_subscribed.push_back(tp);
            }
            EXPECT_GE(Kept(still_subscribed, a[member]), std::min(still_subscribed.size(), fair))
                << member;
          }
        }
      }
      if (!s.bogus_claims) {
        // Unchanged membership: a second run moves nothing.
        StickyMembers same = s.members;
        for (auto& [member, m] : same) {
          m.owned = a[member];
          m.generation = generation;
        }
        EXPECT_EQ(StickyAssign(s.topics, same), a);
      }
      Evolve(rng, &s, a, generation, &next_id);
    }
  }
}

TEST(CooperativeStickyAssignorPropertyTest, NoDirectMovesAndConvergence) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    Scenario s = RandomScenario(rng);
    s.bogus_claims = seed % 4 == 0;
    int next_id = 0;
    for (int32_t generation = 1; generation <= 5; ++generation) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " generation " + std::to_string(generation));
      const Subscriptions subscriptions = TopicsOf(s.members);
      Assignment a = CooperativeStickyAssign(s.topics, s.members);
      ExpectNoDirectMoves(s.members, a);
      EXPECT_EQ(a.size(), s.members.size());
      // What it gives is what sticky gives, less what must be revoked first.
      const Assignment sticky = StickyAssign(s.topics, s.members);
      for (const auto& [member, tps] : a) {
        EXPECT_EQ(Kept(tps, sticky.at(member)), tps.size()) << member;
      }
      // Every member revokes what it lost and rejoins at once: the follow-up
      // rebalance assigns everything.
      StickyMembers rejoin = s.members;
      for (auto& [member, m] : rejoin) {
        m.owned = a[member];
        m.generation = generation;
      }
      Assignment follow_up = CooperativeStickyAssign(s.topics, rejoin);
      ExpectACompleteAssignment(s.topics, subscriptions, follow_up);
      ExpectKafkaBalanced(subscriptions, follow_up);
      if (AllEqual(subscriptions)) {
        // Identical subscriptions: the follow-up takes nothing back.
        for (const auto& [member, tps] : a) {
          EXPECT_EQ(Kept(tps, follow_up[member]), tps.size()) << member;
        }
      }
      Evolve(rng, &s, follow_up, generation, &next_id);
    }
  }
}

}  // namespace
}  // namespace strata::client
