// Every broker config that is dynamically the default of a topic config
// (dynamic_config.h) is read from server.properties as that topic config's
// static default too, so DescribeConfigs' STATIC_BROKER_CONFIG level and
// the running logs see it.
#include "broker/metadata/dynamic_config.h"
#include "broker/server/server_config.h"
#include "broker/storage/log_config.h"
#include "gtest/gtest.h"

namespace strata::server {
namespace {

TEST(StaticLogConfigTest, EveryDynamicBrokerLogNameIsReadFromServerProperties) {
  const std::string base =
      "node.id=1\n"
      "process.roles=broker,controller\n"
      "listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092\n"
      "controller.quorum.voters=1@localhost:19092\n"
      "log.dirs=/tmp/a\n";
  for (const metadata::BrokerLogConfig& c : metadata::BrokerLogConfigs()) {
    if (!c.dynamic) continue;
    const std::string name(c.name);
    const std::string topic_config(c.topic_config);
    // The topic config's default, a valid value in its unit.
    const std::string value = storage::TopicConfigDefaults().at(topic_config);
    absl::StatusOr<ServerConfig> parsed = ParseServerConfig(base + name + "=" + value + "\n", {});
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
    EXPECT_TRUE(parsed->unknown_keys.empty()) << name << " is not read";
    auto it = parsed->log_overrides.find(topic_config);
    ASSERT_NE(it, parsed->log_overrides.end()) << name << " does not default " << topic_config;
    EXPECT_EQ(it->second, value) << name;
  }
}

}  // namespace
}  // namespace strata::server
