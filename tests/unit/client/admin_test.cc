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

}  // namespace
}  // namespace strata::client
