#include "client/assignors.h"

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

}  // namespace
}  // namespace strata::client
