// process.roles=broker: a broker-only node observes the metadata quorum, so
// it must not be a voter, as a combined node must be; and the snapshot
// keys that bound how far behind an observer may fall before it needs one.
#include "broker/server/server_config.h"
#include "gtest/gtest.h"

namespace strata::server {
namespace {

const char kBrokerOnly[] = R"(node.id=4
process.roles=broker
listeners=PLAINTEXT://localhost:9095,CONTROLLER://localhost:19095
controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094
log.dirs=/tmp/node4
)";

TEST(BrokerOnlyConfigTest, ABrokerOnlyNodeOutsideTheVotersIsAccepted) {
  auto c = ParseServerConfig(kBrokerOnly, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->is_broker);
  EXPECT_FALSE(c->is_controller);
  EXPECT_EQ(c->node_id, 4);
  EXPECT_EQ(c->quorum_voters.size(), 3u);
  EXPECT_EQ(c->metadata_log_dir, "/tmp/node4");
}

TEST(BrokerOnlyConfigTest, ABrokerOnlyNodeAmongTheVotersIsAnError) {
  auto c = ParseServerConfig(kBrokerOnly, {"node.id=2"});
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
  EXPECT_NE(c.status().message().find("process.roles=broker"), absl::string_view::npos)
      << c.status();
  EXPECT_NE(c.status().message().find("controller.quorum.voters"), absl::string_view::npos)
      << c.status();
}

TEST(BrokerOnlyConfigTest, ACombinedNodeOutsideTheVotersIsAnError) {
  auto c = ParseServerConfig(kBrokerOnly, {"process.roles=broker,controller"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("controller.quorum.voters"), absl::string_view::npos)
      << c.status();
}

TEST(BrokerOnlyConfigTest, SnapshotIntervalKeys) {
  auto c = ParseServerConfig(kBrokerOnly, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->raft_snapshot_entries, 10000);
  EXPECT_EQ(c->raft_snapshot_keep_entries, 1000);
  c = ParseServerConfig(kBrokerOnly,
                        {"strata.raft.snapshot.entries=20", "strata.raft.snapshot.keep.entries=5"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->raft_snapshot_entries, 20);
  EXPECT_EQ(c->raft_snapshot_keep_entries, 5);
  EXPECT_TRUE(c->unknown_keys.empty());
  c = ParseServerConfig(kBrokerOnly, {"strata.raft.snapshot.entries=0"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("strata.raft.snapshot.entries"), absl::string_view::npos);
}

}  // namespace
}  // namespace strata::server
