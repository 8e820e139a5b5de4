#include "client/admin.h"

#include "client/errors.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::client {
namespace {

using strata::testing::FakeCluster;

std::unique_ptr<Admin> MakeAdmin(const std::string& bootstrap) {
  AdminConfig c;
  c.bootstrap_servers = bootstrap;
  c.request_timeout = absl::Seconds(2);
  auto admin = Admin::Create(c);
  EXPECT_TRUE(admin.ok());
  return *std::move(admin);
}

TEST(AdminTest, CreatesListsDescribesAndDeletesTopics) {
  FakeCluster cluster(3);
  auto admin = MakeAdmin(cluster.bootstrap());
  auto created = admin->CreateTopic("b", 3, 3, {{"retention.ms", "1000"}});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(admin->CreateTopic("a", 1, 1, {}).ok());
  EXPECT_EQ(*admin->ListTopics(), (std::vector<std::string>{"a", "b"}));
  auto described = admin->DescribeTopics({"b"});
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->topics_size(), 1);
  EXPECT_EQ(described->topics(0).partitions_size(), 3);
  ASSERT_TRUE(admin->CreatePartitions("a", 2).ok());
  ASSERT_TRUE(admin->DeleteTopic("a").ok());
  EXPECT_EQ(*admin->ListTopics(), (std::vector<std::string>{"b"}));
}

TEST(AdminTest, TopicErrorsCarryTheServersMessageAndCode) {
  FakeCluster cluster(1);
  auto admin = MakeAdmin(cluster.bootstrap());
  ASSERT_TRUE(admin->CreateTopic("a", 1, 1, {}).ok());
  auto again = admin->CreateTopic("a", 1, 1, {});
  EXPECT_EQ(ErrorCodeOf(again.status()), v1::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(again.status().message(), "Topic 'a' already exists.");
  auto rf = admin->CreateTopic("b", 1, 4, {});
  EXPECT_EQ(ErrorCodeOf(rf.status()), v1::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(ErrorCodeOf(admin->DeleteTopic("nope")), v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(ErrorCodeOf(admin->CreatePartitions("a", 1)), v1::INVALID_PARTITIONS);
}

TEST(AdminTest, TriesEachBootstrapNodeUntilOneAnswers) {
  FakeCluster cluster(1);
  auto admin = MakeAdmin("127.0.0.1:1," + cluster.bootstrap());
  auto cluster_info = admin->DescribeCluster();
  ASSERT_TRUE(cluster_info.ok()) << cluster_info.status();
  EXPECT_EQ(cluster_info->cluster_id(), "fake-cluster");
}

TEST(AdminTest, NoNodeAnsweringIsAnErrorAfterTheTimeout) {
  auto admin = MakeAdmin("127.0.0.1:1");
  auto r = admin->ListTopics();
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

// ---- Log directories

v1::DescribeLogDirsResponse LogDirs(const std::string& dir, const std::string& topic,
                                    int32_t partition, int64_t size) {
  v1::DescribeLogDirsResponse r;
  v1::LogDirDescription* d = r.add_log_dirs();
  d->set_log_dir(dir);
  v1::LogDirTopic* t = d->add_topics();
  t->set_name(topic);
  v1::LogDirPartition* p = t->add_partitions();
  p->set_partition(partition);
  p->set_size(size);
  return r;
}

TEST(AdminLogDirsTest, AsksEachBrokerItselfAndSaysWhichCouldNotAnswer) {
  FakeCluster cluster(3);
  cluster.log_dirs[1] = LogDirs("/one", "t", 0, 100);
  cluster.log_dirs[3] = LogDirs("/three", "t", 0, 40);
  cluster.log_dirs[2].set_error(v1::CLUSTER_AUTHORIZATION_FAILED);
  cluster.log_dirs[2].set_error_message("Cluster authorization failed.");
  auto admin = MakeAdmin(cluster.bootstrap());
  auto answers = admin->DescribeLogDirs({3, 1, 2, 9});
  ASSERT_TRUE(answers.ok()) << answers.status();
  ASSERT_EQ(answers->size(), 4u);
  ASSERT_TRUE(answers->at(1).ok()) << answers->at(1).status();
  EXPECT_EQ(answers->at(1)->broker_id(), 1);
  EXPECT_EQ(answers->at(1)->log_dirs(0).log_dir(), "/one");
  EXPECT_EQ(answers->at(1)->log_dirs(0).topics(0).partitions(0).size(), 100);
  ASSERT_TRUE(answers->at(3).ok()) << answers->at(3).status();
  EXPECT_EQ(answers->at(3)->log_dirs(0).log_dir(), "/three");
  EXPECT_EQ(ErrorCodeOf(answers->at(2).status()), v1::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_TRUE(absl::IsNotFound(answers->at(9).status())) << answers->at(9).status();
  // No filter: every partition (the message left unset).
  EXPECT_FALSE(cluster.log_dirs_requests[1].has_partitions());
}

TEST(AdminLogDirsTest, AFilterAsksForThosePartitionsOnly) {
  FakeCluster cluster(2);
  auto admin = MakeAdmin(cluster.bootstrap());
  auto answers =
      admin->DescribeLogDirs({2}, std::vector<TopicPartition>{TopicPartition{"a", PartitionId(0)},
                                                              TopicPartition{"b", PartitionId(3)},
                                                              TopicPartition{"a", PartitionId(1)}});
  ASSERT_TRUE(answers.ok()) << answers.status();
  ASSERT_TRUE(answers->at(2).ok());
  const v1::DescribeLogDirsRequest& asked = cluster.log_dirs_requests[2];
  ASSERT_TRUE(asked.has_partitions());
  ASSERT_EQ(asked.partitions().topics_size(), 2);
  EXPECT_EQ(asked.partitions().topics(0).topic(), "a");
  EXPECT_EQ(asked.partitions().topics(0).partitions_size(), 2);
  EXPECT_EQ(asked.partitions().topics(1).topic(), "b");
  EXPECT_FALSE(cluster.log_dirs_requests.contains(1)) << "only the broker asked for";

  auto none = admin->DescribeLogDirs({1}, std::vector<TopicPartition>{});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(cluster.log_dirs_requests[1].has_partitions()) << "an empty list is not null";
  EXPECT_EQ(cluster.log_dirs_requests[1].partitions().topics_size(), 0);
}

TEST(AdminLogDirsTest, AStoppedFencedBrokerIsTriedOnce) {
  FakeCluster cluster(1);
  // Broker 7: fenced, at an address nobody listens on.
  v1::BrokerDescription* gone = cluster.cluster.add_brokers();
  gone->set_id(7);
  gone->set_fenced(true);
  v1::Endpoint* e = gone->add_endpoints();
  e->set_host("127.0.0.1");
  e->set_port(1);
  auto admin = MakeAdmin(cluster.bootstrap());
  const absl::Time start = absl::Now();
  auto answers = admin->DescribeLogDirs({7, 1});
  ASSERT_TRUE(answers.ok()) << answers.status();
  EXPECT_FALSE(answers->at(7).ok());
  EXPECT_NE(answers->at(7).status().message().find("broker 7"), std::string::npos)
      << answers->at(7).status();
  EXPECT_TRUE(answers->at(1).ok());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500)) << "not retried to the timeout";
}

// A broker that died but is not fenced yet is retried, but only until the
// call's own timeout when it is shorter than request.timeout.ms (how
// `reassign-partitions --verify` keeps from waiting 30 s for one).
TEST(AdminLogDirsTest, ACallsOwnTimeoutBoundsTheRetriesOfAnUnfencedBroker) {
  FakeCluster cluster(1);
  // Broker 7: unfenced, at an address nobody listens on.
  v1::BrokerDescription* gone = cluster.cluster.add_brokers();
  gone->set_id(7);
  gone->set_fenced(false);
  v1::Endpoint* e = gone->add_endpoints();
  e->set_host("127.0.0.1");
  e->set_port(1);
  AdminConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.request_timeout = absl::Seconds(30);
  auto admin = *Admin::Create(c);
  const absl::Time start = absl::Now();
  auto answers = admin->DescribeLogDirs({7, 1}, std::nullopt, absl::Milliseconds(700));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(answers.ok()) << answers.status();
  EXPECT_FALSE(answers->at(7).ok());
  EXPECT_NE(answers->at(7).status().message().find("broker 7"), std::string::npos)
      << answers->at(7).status();
  EXPECT_TRUE(answers->at(1).ok()) << answers->at(1).status();
  EXPECT_GE(took, absl::Milliseconds(500)) << "retried, not tried once: it is not fenced";
  EXPECT_LT(took, absl::Seconds(3)) << "bounded by the call's 700 ms, not the 30 s";

  // A timeout longer than request.timeout.ms does not lengthen it.
  c.request_timeout = absl::Milliseconds(500);
  auto short_admin = *Admin::Create(c);
  const absl::Time again = absl::Now();
  auto bounded = short_admin->DescribeLogDirs({7}, std::nullopt, absl::Seconds(30));
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  EXPECT_FALSE(bounded->at(7).ok());
  EXPECT_LT(absl::Now() - again, absl::Seconds(3));
}

// ---- Consumer groups and ListOffsets

strata::testing::FakeGroup GroupAt(int32_t coordinator, const std::string& state = "Empty") {
  strata::testing::FakeGroup g;
  g.coordinator = coordinator;
  g.state = state;
  g.protocol = "range";
  return g;
}

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

TEST(AdminGroupsTest, ListGroupsAsksEveryBrokerAndMerges) {
  FakeCluster cluster(3);
  cluster.SetGroup("c", GroupAt(3, "Stable"));
  cluster.SetGroup("a", GroupAt(1));
  cluster.SetGroup("b", GroupAt(2));
  auto admin = MakeAdmin(cluster.bootstrap());
  auto all = admin->ListGroups();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->groups_size(), 3);
  EXPECT_EQ(all->groups(0).group_id(), "a");
  EXPECT_EQ(all->groups(2).group_id(), "c");
  EXPECT_EQ(all->groups(2).group_state(), "Stable");
  auto stable = admin->ListGroups({"Stable"});
  ASSERT_TRUE(stable.ok());
  ASSERT_EQ(stable->groups_size(), 1);
  EXPECT_EQ(stable->groups(0).group_id(), "c");
}

TEST(AdminGroupsTest, DescribeGoesToEachGroupsCoordinator) {
  FakeCluster cluster(3);
  cluster.SetGroup("a", GroupAt(2, "Stable"));
  cluster.SetGroup("b", GroupAt(3));
  auto admin = MakeAdmin(cluster.bootstrap());
  auto described = admin->DescribeGroups({"b", "a", "unknown"});
  ASSERT_TRUE(described.ok()) << described.status();
  ASSERT_EQ(described->groups_size(), 3);
  EXPECT_EQ(described->groups(0).group_id(), "b");
  EXPECT_EQ(described->groups(0).error(), v1::NONE);
  EXPECT_EQ(described->groups(0).coordinator_id(), 3);
  EXPECT_EQ(described->groups(1).group_state(), "Stable");
  EXPECT_EQ(described->groups(1).coordinator_id(), 2);
  EXPECT_EQ(described->groups(2).group_state(), "Dead");
  auto coordinator = admin->FindGroupCoordinator("a");
  ASSERT_TRUE(coordinator.ok());
  EXPECT_EQ(coordinator->node_id(), 2);
  EXPECT_EQ(coordinator->host() + ":" + std::to_string(coordinator->port()), cluster.address(2));
}

TEST(AdminGroupsTest, FindsTheCoordinatorAgainWhenItMoves) {
  FakeCluster cluster(3);
  cluster.SetGroup("g", GroupAt(2));
  auto admin = MakeAdmin(cluster.bootstrap());
  ASSERT_TRUE(admin->DescribeGroups({"g"}).ok());
  const int lookups = cluster.find_coordinator_requests();
  ASSERT_TRUE(admin->DescribeGroups({"g"}).ok());
  EXPECT_EQ(cluster.find_coordinator_requests(), lookups) << "the coordinator is remembered";

  cluster.SetGroup("g", GroupAt(3, "Stable"));  // node 2 now answers NOT_COORDINATOR
  auto moved = admin->DescribeGroups({"g"});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->groups(0).error(), v1::NONE);
  EXPECT_EQ(moved->groups(0).coordinator_id(), 3);
  EXPECT_GT(cluster.find_coordinator_requests(), lookups);
}

TEST(AdminGroupsTest, RetriesCoordinatorErrorsUntilTheTimeout) {
  FakeCluster cluster(1);
  cluster.SetGroup("g", GroupAt(1));
  auto admin = MakeAdmin(cluster.bootstrap());
  cluster.FailGroup("g", v1::COORDINATOR_LOAD_IN_PROGRESS, 3);
  auto loaded = admin->DescribeGroups({"g"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->groups(0).error(), v1::NONE);

  cluster.FailGroup("g", v1::COORDINATOR_NOT_AVAILABLE, 1000);
  const absl::Time start = absl::Now();
  auto unavailable = admin->DescribeGroups({"g"});
  ASSERT_TRUE(unavailable.ok()) << unavailable.status();
  EXPECT_EQ(unavailable->groups(0).error(), v1::COORDINATOR_NOT_AVAILABLE);
  EXPECT_GE(absl::Now() - start, absl::Seconds(1)) << "retried, not given up at once";

  cluster.FailGroup("g", v1::INVALID_GROUP_ID, 1);
  auto offsets = admin->ListGroupOffsets("g");
  EXPECT_EQ(ErrorCodeOf(offsets.status()), v1::INVALID_GROUP_ID) << "not retried";
}

TEST(AdminGroupsTest, CommitsFetchesAndDeletesOffsets) {
  FakeCluster cluster(2);
  cluster.SetGroup("g", GroupAt(2));
  auto admin = MakeAdmin(cluster.bootstrap());
  auto committed =
      admin->AlterGroupOffsets("g", {{Tp("t", 0), 5}, {Tp("t", 1), 7}, {Tp("u", 0), 1}});
  ASSERT_TRUE(committed.ok()) << committed.status();
  for (const auto& t : committed->topics()) {
    for (const auto& p : t.partitions()) EXPECT_EQ(p.error(), v1::NONE);
  }
  auto all = admin->ListGroupOffsets("g");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all,
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 5}, {Tp("t", 1), 7}, {Tp("u", 0), 1}}));
  auto some = admin->ListGroupOffsets("g", {Tp("t", 1), Tp("t", 9)});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, (std::map<TopicPartition, int64_t>{{Tp("t", 1), 7}})) << "t-9 has no commit";

  auto deleted = admin->DeleteGroupOffsets("g", {Tp("t", 0)});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->error(), v1::NONE);
  EXPECT_FALSE(cluster.Group("g").offsets.contains({"t", 0}));
}

TEST(AdminGroupsTest, AGroupWithMembersRefusesOutsideCommitsAndDeletion) {
  FakeCluster cluster(1);
  strata::testing::FakeGroup g = GroupAt(1, "Stable");
  g.members.emplace_back().set_member_id("m1");
  cluster.SetGroup("busy", g);
  cluster.SetGroup("idle", GroupAt(1));
  auto admin = MakeAdmin(cluster.bootstrap());
  auto committed = admin->AlterGroupOffsets("busy", {{Tp("t", 0), 5}});
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->topics(0).partitions(0).error(), v1::UNKNOWN_MEMBER_ID);

  auto deleted = admin->DeleteGroups({"busy", "idle", "none"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(deleted->results_size(), 3);
  EXPECT_EQ(deleted->results(0).error(), v1::NON_EMPTY_GROUP);
  EXPECT_EQ(deleted->results(1).error(), v1::NONE);
  EXPECT_EQ(deleted->results(2).error(), v1::GROUP_ID_NOT_FOUND);
  EXPECT_FALSE(cluster.HasGroup("idle"));
}

TEST(AdminGroupsTest, ListOffsetsAsksEachLeader) {
  FakeCluster cluster(3);
  cluster.AddTopic("t", 3);  // leaders 1, 2, 3
  cluster.SetLogEnd("t", 0, 10);
  cluster.SetLogEnd("t", 2, 30);
  cluster.SetLogStart("t", 2, 4);
  auto admin = MakeAdmin(cluster.bootstrap());
  auto listed = admin->ListOffsets({{Tp("t", 0), Admin::kLatestTimestamp},
                                    {Tp("t", 2), Admin::kEarliestTimestamp},
                                    {Tp("t", 7), Admin::kLatestTimestamp},
                                    {Tp("nope", 0), Admin::kLatestTimestamp}});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_TRUE(listed->at(Tp("t", 0)).status.ok());
  EXPECT_EQ(listed->at(Tp("t", 0)).offset, 10);
  EXPECT_EQ(listed->at(Tp("t", 2)).offset, 4);
  EXPECT_EQ(ErrorCodeOf(listed->at(Tp("t", 7)).status), v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(ErrorCodeOf(listed->at(Tp("nope", 0)).status), v1::UNKNOWN_TOPIC_OR_PARTITION);
}

}  // namespace
}  // namespace strata::client
