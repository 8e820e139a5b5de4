#include "broker/server/server_config.h"

#include <cmath>

#include "broker/storage/log_config.h"
#include "gtest/gtest.h"

namespace strata::server {
namespace {

const char kGood[] = R"(# node 1
node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092
controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094
log.dirs=/tmp/a, /tmp/b
num.partitions = 3
log.segment.bytes=1073741824
log.retention.hours=168
num.network.threads=3
some.unknown.key=1
)";

TEST(ServerConfigTest, ParsesKafkaKeys) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, 1);
  EXPECT_TRUE(c->is_broker && c->is_controller);
  ASSERT_NE(c->listener("PLAINTEXT"), nullptr);
  EXPECT_EQ(c->listener("PLAINTEXT")->port, 9092);
  EXPECT_EQ(c->listener("CONTROLLER")->address(), "localhost:19092");
  EXPECT_EQ(c->advertised("PLAINTEXT")->host, "localhost");  // defaults to listeners
  ASSERT_EQ(c->quorum_voters.size(), 3u);
  EXPECT_EQ(c->quorum_voters[2].id, 3);
  EXPECT_EQ(c->quorum_voters[2].port, 19094);
  EXPECT_EQ(c->log_dirs, (std::vector<std::string>{"/tmp/a", "/tmp/b"}));
  EXPECT_EQ(c->metadata_log_dir, "/tmp/a");
  EXPECT_EQ(c->num_partitions, 3);
  EXPECT_EQ(c->log_overrides.at("segment.bytes"), "1073741824");
  EXPECT_EQ(c->log_overrides.at("retention.ms"), "604800000");
  // Kafka keys Strata ignores are quiet; truly unknown ones are reported.
  EXPECT_EQ(c->unknown_keys, std::vector<std::string>{"some.unknown.key"});
}

TEST(ServerConfigTest, TheCleanersIoRateIsUnboundedUnlessSet) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(std::isinf(c->log_cleaner_io_max_bytes_per_second));
  c = ParseServerConfig(kGood, {"log.cleaner.io.max.bytes.per.second=1048576.5"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_cleaner_io_max_bytes_per_second, 1048576.5);
  // Kafka's default, written out, is a number too.
  c = ParseServerConfig(kGood, {"log.cleaner.io.max.bytes.per.second=1.7976931348623157E308"});
  ASSERT_TRUE(c.ok()) << c.status();
}

TEST(ServerConfigTest, OverridesWinAndBrokerIdIsAnAlias) {
  auto c = ParseServerConfig(kGood, {"broker.id=2", "num.partitions=7"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, 2);
  EXPECT_EQ(c->num_partitions, 7);
}

TEST(ServerConfigTest, BadValuesNameTheKey) {
  struct Case {
    const char* override_line;
    const char* key;
  };
  for (const Case& bad : std::vector<Case>{
           {"num.partitions=zero", "num.partitions"},
           {"num.partitions=0", "num.partitions"},
           {"listeners=PLAINTEXT:9092", "listeners"},
           {"controller.quorum.voters=1@localhost", "controller.quorum.voters"},
           {"process.roles=leader", "process.roles"},
           {"log.segment.bytes=12", "log.segment.bytes"},
           {"broker.session.timeout.ms=-5", "broker.session.timeout.ms"},
           {"unclean.leader.election.enable=maybe", "unclean.leader.election.enable"},
           {"log.retention.hours=soon", "log.retention.hours"},
           {"log.cleaner.io.max.bytes.per.second=0", "log.cleaner.io.max.bytes.per.second"},
           {"log.cleaner.io.max.bytes.per.second=fast", "log.cleaner.io.max.bytes.per.second"},
       }) {
    auto c = ParseServerConfig(kGood, {bad.override_line});
    ASSERT_FALSE(c.ok()) << bad.override_line;
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
    EXPECT_NE(c.status().message().find(bad.key), absl::string_view::npos) << c.status();
  }
}

TEST(ServerConfigTest, MissingOrInconsistentSettingsAreErrors) {
  EXPECT_FALSE(ParseServerConfig("listeners=CONTROLLER://h:1\n", {}).ok());
  auto c = ParseServerConfig(kGood, {"node.id=9"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("controller.quorum.voters"), absl::string_view::npos);
  c = ParseServerConfig(kGood, {"broker.heartbeat.interval.ms=20000"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("broker.session.timeout.ms"), absl::string_view::npos);
  EXPECT_FALSE(ParseServerConfig("node.id=1\nthis line has no equals\n", {}).ok());
}

}  // namespace
}  // namespace strata::server
