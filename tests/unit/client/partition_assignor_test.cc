#include "client/partition_assignor.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

using ::testing::HasSubstr;

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

std::unique_ptr<PartitionAssignor> Make(const std::string& name) {
  absl::StatusOr<std::unique_ptr<PartitionAssignor>> a = MakeAssignor(name);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

TEST(PartitionAssignorTest, KnowsKafkasNamesAndClassNames) {
  struct Case {
    std::string name;
    std::string class_name;
    RebalanceProtocol protocol;
  };
  const std::vector<Case> cases = {
      {"range", "RangeAssignor", RebalanceProtocol::kEager},
      {"roundrobin", "RoundRobinAssignor", RebalanceProtocol::kEager},
      {"sticky", "StickyAssignor", RebalanceProtocol::kEager},
      {"cooperative-sticky", "CooperativeStickyAssignor", RebalanceProtocol::kCooperative},
  };
  for (const Case& c : cases) {
    for (const std::string& spelling :
         {c.name, "org.apache.kafka.clients.consumer." + c.class_name}) {
      std::unique_ptr<PartitionAssignor> a = Make(spelling);
      ASSERT_NE(a, nullptr) << spelling;
      EXPECT_EQ(a->name(), c.name);
      EXPECT_EQ(a->protocol(), c.protocol) << spelling;
    }
  }
  for (const std::string bad : {"Range", "sticky ", "RangeAssignor", "uniform", ""}) {
    absl::StatusOr<std::unique_ptr<PartitionAssignor>> a = MakeAssignor(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(a.status().message(), HasSubstr("\"" + bad + "\""));
  }
}

std::vector<std::string> Names(const std::vector<std::unique_ptr<PartitionAssignor>>& list) {
  std::vector<std::string> out;
  for (const auto& a : list) out.push_back(a->name());
  return out;
}

TEST(PartitionAssignorTest, ParsesAStrategyList) {
  absl::StatusOr<std::vector<std::unique_ptr<PartitionAssignor>>> list =
      MakeAssignors(kDefaultAssignmentStrategy);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"range", "cooperative-sticky"}));

  list = MakeAssignors(" sticky , org.apache.kafka.clients.consumer.RoundRobinAssignor");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"sticky", "roundrobin"}));

  for (const auto& [bad, named] : std::vector<std::pair<std::string, std::string>>{
           {"", "empty"},
           {"range,,sticky", "empty"},
           {"range,", "empty"},
           {"range,fair", "\"fair\""},
           {"range,org.apache.kafka.clients.consumer.RangeAssignor", "range twice"}}) {
    absl::StatusOr<std::vector<std::unique_ptr<PartitionAssignor>>> l = MakeAssignors(bad);
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(l.status().message(), HasSubstr(named)) << bad;
  }
}

// A group of consumers, each with its own assignor of one kind, going
// through rebalances the way a consumer would: subscriptions cross the wire
// (encoded and decoded), the first member leads, every member hears its
// assignment.
class Group {
 public:
  Group(std::string strategy, std::map<std::string, int32_t> topics)
      : strategy_(std::move(strategy)), topics_(std::move(topics)) {}

  void Join(const std::string& member, std::set<std::string> topics) {
    members_[member] = Member{Make(strategy_), std::move(topics), {}};
  }
  void Leave(const std::string& member) { members_.erase(member); }

  // One rebalance; returns member -> assignment.
  std::map<std::string, std::vector<TopicPartition>> Rebalance() {
    ++generation_;
    std::map<std::string, ConsumerSubscription> subscriptions;
    for (auto& [id, m] : members_) {
      ConsumerSubscription s;
      s.topics.assign(m.topics.begin(), m.topics.end());
      s.user_data = m.assignor->SubscriptionUserData(m.topics);
      s.has_user_data = !s.user_data.empty();
      if (m.assignor->protocol() == RebalanceProtocol::kCooperative) {
        s.owned_partitions = m.owned;
        s.generation_id = m.generation;
      }
      absl::StatusOr<ConsumerSubscription> decoded = DecodeSubscription(EncodeSubscription(s));
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      subscriptions[id] = *decoded;
    }
    PartitionAssignor& leader = *members_.begin()->second.assignor;
    std::map<std::string, ConsumerAssignment> result = leader.Assign(topics_, subscriptions);
    std::map<std::string, std::vector<TopicPartition>> out;
    for (auto& [id, m] : members_) {
      EXPECT_TRUE(result.contains(id)) << id;
      absl::StatusOr<ConsumerAssignment> decoded = DecodeAssignment(EncodeAssignment(result[id]));
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      m.assignor->OnAssignment(*decoded, generation_);
      m.owned = decoded->partitions;
      m.generation = generation_;
      out[id] = decoded->partitions;
    }
    return out;
  }

 private:
  struct Member {
    std::unique_ptr<PartitionAssignor> assignor;
    std::set<std::string> topics;
    std::vector<TopicPartition> owned;
    int32_t generation = -1;
  };
  std::string strategy_;
  std::map<std::string, int32_t> topics_;
  std::map<std::string, Member> members_;
  int32_t generation_ = 0;
};

size_t Kept(const std::vector<TopicPartition>& before, const std::vector<TopicPartition>& after) {
  return std::count_if(before.begin(), before.end(), [&](const TopicPartition& tp) {
    return std::find(after.begin(), after.end(), tp) != after.end();
  });
}

size_t Total(const std::map<std::string, std::vector<TopicPartition>>& a) {
  size_t n = 0;
  for (const auto& [member, tps] : a) n += tps.size();
  return n;
}

TEST(PartitionAssignorTest, StickyRemembersItsAssignmentThroughUserData) {
  Group group("sticky", {{"t", 9}});
  for (const char* m : {"a", "b", "c"}) group.Join(m, {"t"});
  auto first = group.Rebalance();
  EXPECT_EQ(Total(first), 9u);
  group.Leave("b");
  group.Join("d", {"t"});
  auto second = group.Rebalance();
  EXPECT_EQ(Total(second), 9u);
  // Eager: everyone revoked everything, yet a and c got theirs back.
  EXPECT_EQ(Kept(first["a"], second["a"]), 3u);
  EXPECT_EQ(Kept(first["c"], second["c"]), 3u);
  EXPECT_EQ(second["d"].size(), 3u);
}

TEST(PartitionAssignorTest, RangeAndRoundRobinIgnorePreviousAssignments) {
  for (const char* strategy : {"range", "roundrobin"}) {
    Group group(strategy, {{"t", 4}, {"u", 2}});
    group.Join("a", {"t", "u"});
    group.Join("b", {"t"});
    auto a = group.Rebalance();
    EXPECT_EQ(Total(a), 6u) << strategy;
    EXPECT_EQ(group.Rebalance(), a) << strategy;  // deterministic
  }
}

TEST(PartitionAssignorTest, CooperativeStickyRevokesBeforeItReassigns) {
  Group group("cooperative-sticky", {{"t", 4}});
  group.Join("a", {"t"});
  EXPECT_EQ(group.Rebalance()["a"].size(), 4u);
  group.Join("b", {"t"});
  auto revoking = group.Rebalance();
  EXPECT_EQ(revoking["a"].size(), 2u);
  EXPECT_TRUE(revoking["b"].empty());
  auto settled = group.Rebalance();  // the follow-up after a revoked
  EXPECT_EQ(settled["a"], revoking["a"]);
  EXPECT_EQ(settled["b"].size(), 2u);
}

TEST(PartitionAssignorTest, UserDataAsKafkaWritesIt) {
  std::unique_ptr<PartitionAssignor> sticky = Make("sticky");
  EXPECT_EQ(sticky->SubscriptionUserData({"t"}), "");  // nothing to report yet
  sticky->OnAssignment({{Tp("t", 1)}, ""}, 6);
  absl::StatusOr<StickyUserData> data = DecodeStickyUserData(sticky->SubscriptionUserData({"t"}));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, (StickyUserData{{Tp("t", 1)}, 6}));

  std::unique_ptr<PartitionAssignor> cooperative = Make("cooperative-sticky");
  EXPECT_EQ(cooperative->SubscriptionUserData({"t"}), EncodeCooperativeUserData(-1));
  cooperative->OnAssignment({{Tp("t", 1)}, ""}, 6);
  EXPECT_EQ(cooperative->SubscriptionUserData({"t"}), EncodeCooperativeUserData(6));

  EXPECT_EQ(Make("range")->SubscriptionUserData({"t"}), "");
}

TEST(PartitionAssignorTest, StickyLeaderReadsAJavaMembersUserData) {
  // A Java StickyAssignor member that had t-2 and t-3 in generation 4.
  ConsumerSubscription java;
  java.topics = {"t"};
  java.user_data = EncodeStickyUserData({{Tp("t", 2), Tp("t", 3)}, 4});
  java.has_user_data = true;
  ConsumerSubscription fresh;
  fresh.topics = {"t"};
  ConsumerSubscription garbled = fresh;
  garbled.user_data = "\x01";
  garbled.has_user_data = true;
  auto result =
      Make("sticky")->Assign({{"t", 6}}, {{"java", java}, {"new", fresh}, {"odd", garbled}});
  EXPECT_EQ(result["java"].partitions, (std::vector<TopicPartition>{Tp("t", 2), Tp("t", 3)}));
  EXPECT_EQ(result["new"].partitions.size() + result["odd"].partitions.size(), 4u);
}

TEST(PartitionAssignorTest, CooperativeTakesTheGenerationFromTheFieldOrTheUserData) {
  // Both claim t-0. "old" is a 2.x client: no generation_id, the generation
  // in its user data.
  ConsumerSubscription old_client;
  old_client.topics = {"t"};
  old_client.owned_partitions = {Tp("t", 0)};
  old_client.user_data = EncodeCooperativeUserData(9);
  old_client.has_user_data = true;
  ConsumerSubscription new_client;
  new_client.topics = {"t"};
  new_client.owned_partitions = {Tp("t", 0), Tp("t", 1)};
  new_client.generation_id = 8;
  new_client.user_data = EncodeCooperativeUserData(8);
  new_client.has_user_data = true;
  // new_client's claim is older (8 < 9): old_client keeps t-0 and new_client
  // is not given it.
  auto result =
      Make("cooperative-sticky")->Assign({{"t", 2}}, {{"old", old_client}, {"new", new_client}});
  EXPECT_EQ(result["old"].partitions, std::vector<TopicPartition>{Tp("t", 0)});
  EXPECT_EQ(result["new"].partitions, std::vector<TopicPartition>{Tp("t", 1)});

  // generation_id wins over the user data when set.
  new_client.generation_id = 10;
  result =
      Make("cooperative-sticky")->Assign({{"t", 2}}, {{"old", old_client}, {"new", new_client}});
  EXPECT_EQ(Kept({Tp("t", 0)}, result["new"].partitions), 1u);
  EXPECT_TRUE(result["old"].partitions.empty());
}

}  // namespace
}  // namespace strata::client
