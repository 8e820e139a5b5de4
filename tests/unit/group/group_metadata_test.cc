#include "broker/group/group_metadata.h"

#include "gtest/gtest.h"

namespace strata::group {
namespace {

MemberMetadata Member(const std::string& id, std::vector<std::string> protocols,
                      const std::string& instance = "", const std::string& type = "consumer") {
  MemberMetadata m;
  m.member_id = id;
  m.group_instance_id = instance;
  m.client_id = "client-" + id;
  m.protocol_type = type;
  for (std::string& p : protocols) m.protocols.emplace_back(std::move(p), "subscription");
  return m;
}

TEST(GroupCoordinatorPlacementTest, HashesAsJavaAndPlacesAsKafka) {
  // Values of Java's String.hashCode.
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("hello"), 99162322);
  EXPECT_EQ(JavaStringHashCode("Aa"), JavaStringHashCode("BB"));
  EXPECT_EQ(JavaStringHashCode("my-group"), -1906497762);
  EXPECT_EQ(JavaStringHashCode("\xC3\xA9"), 233);              // é, one UTF-16 unit
  EXPECT_EQ(JavaStringHashCode("\xF0\x9F\x98\x80"), 1772899);  // U+1F600: a surrogate pair
  EXPECT_EQ(JavaStringHashCode("\xFF"), 0xFFFD) << "invalid UTF-8 hashes as U+FFFD";
  // The famous INT32_MIN hash: Kafka's Utils.abs makes it 0, not negative.
  EXPECT_EQ(JavaStringHashCode("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(OffsetsPartitionFor("polygenelubricants", 50), 0);
  EXPECT_EQ(OffsetsPartitionFor("hello", 50), 22);
  EXPECT_EQ(OffsetsPartitionFor("my-group", 50), 12);
  EXPECT_EQ(OffsetsPartitionFor("console-consumer-12345", 50), 6);
}

TEST(GroupMetadataTest, OnlyKafkasTransitionsAreAllowed) {
  GroupMetadata g("g");
  EXPECT_EQ(g.state(), GroupState::kEmpty);
  EXPECT_FALSE(g.TransitionTo(GroupState::kStable).ok());
  EXPECT_FALSE(g.TransitionTo(GroupState::kCompletingRebalance).ok());
  absl::Status refused = g.TransitionTo(GroupState::kEmpty);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("cannot move from Empty to Empty"), std::string::npos);
  EXPECT_EQ(g.state(), GroupState::kEmpty) << "a refused transition changes nothing";
  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  EXPECT_FALSE(g.TransitionTo(GroupState::kStable).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kCompletingRebalance).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kStable).ok());
  EXPECT_FALSE(g.TransitionTo(GroupState::kEmpty).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kEmpty).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kDead).ok());
  EXPECT_TRUE(g.TransitionTo(GroupState::kDead).ok());
  EXPECT_FALSE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  EXPECT_STREQ(GroupStateName(GroupState::kCompletingRebalance), "CompletingRebalance");
}

TEST(GroupMetadataTest, TheFirstMemberLeadsAndTheNextTakesOverWhenItLeaves) {
  GroupMetadata g("g");
  ASSERT_TRUE(g.Add(Member("m-2", {"range"})).ok());
  ASSERT_TRUE(g.Add(Member("m-1", {"range"})).ok());
  ASSERT_TRUE(g.Add(Member("m-3", {"range"})).ok());
  EXPECT_EQ(g.leader_id(), "m-2");
  EXPECT_EQ(g.protocol_type(), "consumer");
  EXPECT_FALSE(g.Add(Member("m-1", {"range"})).ok()) << "a member id joins once";
  EXPECT_TRUE(g.Remove("m-2"));
  EXPECT_EQ(g.leader_id(), "m-1");
  EXPECT_FALSE(g.Remove("m-2"));
  EXPECT_TRUE(g.Remove("m-1"));
  EXPECT_TRUE(g.Remove("m-3"));
  EXPECT_EQ(g.leader_id(), "");
}

TEST(GroupMetadataTest, ANewMemberMustShareTheProtocolTypeAndAProtocol) {
  GroupMetadata g("g");
  EXPECT_FALSE(g.Add(Member("m-0", {}, "")).ok()) << "no protocols at all";
  ASSERT_TRUE(g.Add(Member("m-1", {"range", "roundrobin"})).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  absl::Status other_type = g.Add(Member("m-2", {"range"}, "", "connect"));
  EXPECT_TRUE(absl::IsInvalidArgument(other_type)) << other_type;
  EXPECT_FALSE(g.Add(Member("m-3", {"sticky"})).ok());
  EXPECT_TRUE(g.Add(Member("m-4", {"sticky", "roundrobin"})).ok());
  EXPECT_EQ(g.members().size(), 2u);
  EXPECT_EQ(g.CandidateProtocols(), std::vector<std::string>{"roundrobin"});
}

TEST(GroupMetadataTest, TheProtocolMostMembersPreferWins) {
  GroupMetadata g("g");
  ASSERT_TRUE(g.Add(Member("a", {"range", "cooperative-sticky"})).ok());
  ASSERT_TRUE(g.Add(Member("b", {"cooperative-sticky", "range"})).ok());
  ASSERT_TRUE(g.Add(Member("c", {"cooperative-sticky", "range", "roundrobin"})).ok());
  EXPECT_EQ(g.CandidateProtocols(), (std::vector<std::string>{"range", "cooperative-sticky"}));
  EXPECT_EQ(g.SelectProtocol(), "cooperative-sticky");
  EXPECT_TRUE(g.Remove("c"));
  // One vote each: the tie goes to the leader's preference.
  EXPECT_EQ(g.SelectProtocol(), "range");
}

TEST(GroupMetadataTest, EachGenerationSelectsAProtocolOrEmptiesTheGroup) {
  GroupMetadata g("g");
  EXPECT_FALSE(g.InitNextGeneration().ok()) << "only while preparing a rebalance";
  ASSERT_TRUE(g.Add(Member("a", {"range"})).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  ASSERT_TRUE(g.InitNextGeneration().ok());
  EXPECT_EQ(g.generation_id(), 1);
  EXPECT_EQ(g.state(), GroupState::kCompletingRebalance);
  EXPECT_EQ(g.protocol_name(), "range");
  ASSERT_TRUE(g.TransitionTo(GroupState::kStable).ok());

  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  EXPECT_TRUE(g.Remove("a"));
  ASSERT_TRUE(g.InitNextGeneration().ok());
  EXPECT_EQ(g.generation_id(), 2);
  EXPECT_EQ(g.state(), GroupState::kEmpty);
  EXPECT_EQ(g.protocol_name(), "");
  // An empty group takes a member of another protocol type.
  EXPECT_TRUE(g.Add(Member("c", {"x"}, "", "connect")).ok());
  EXPECT_EQ(g.protocol_type(), "connect");
}

TEST(GroupMetadataTest, AStaticMemberRejoiningKeepsItsPlaceAssignmentAndLeadership) {
  GroupMetadata g("g");
  ASSERT_TRUE(g.Add(Member("old", {"range"}, "instance-1")).ok());
  ASSERT_TRUE(g.Add(Member("other", {"range"})).ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance).ok());
  ASSERT_TRUE(g.InitNextGeneration().ok());
  ASSERT_TRUE(g.TransitionTo(GroupState::kStable).ok());
  // The leader's SyncGroup handed out assignments.
  ASSERT_TRUE(g.SetAssignment("old", "partitions 0-2"));
  EXPECT_FALSE(g.SetAssignment("nobody", "x"));

  EXPECT_EQ(g.StaticMemberId("instance-1"), "old");
  ASSERT_TRUE(g.ReplaceStaticMember("old", "new").ok());
  EXPECT_FALSE(g.Has("old"));
  ASSERT_TRUE(g.Has("new"));
  EXPECT_EQ(g.Get("new")->assignment, "partitions 0-2");
  EXPECT_EQ(g.StaticMemberId("instance-1"), "new");
  EXPECT_EQ(g.leader_id(), "new");
  EXPECT_EQ(g.generation_id(), 1) << "no rebalance";
  EXPECT_EQ(g.state(), GroupState::kStable);
  EXPECT_TRUE(absl::IsNotFound(g.ReplaceStaticMember("old", "newer")));
  // Leaving forgets the instance.
  EXPECT_TRUE(g.Remove("new"));
  EXPECT_FALSE(g.StaticMemberId("instance-1").has_value());
}

}  // namespace
}  // namespace strata::group
