#include "broker/server/server_config.h"

#include <cmath>

#include "broker/server/broker_lifecycle_manager.h"
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

TEST(ServerConfigTest, TheHighWatermarkCheckpointIntervalIsKafkasFiveSecondsUnlessSet) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->replica_high_watermark_checkpoint_interval_ms, 5000);
  c = ParseServerConfig(kGood, {"replica.high.watermark.checkpoint.interval.ms=250"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->replica_high_watermark_checkpoint_interval_ms, 250);
  auto bad = ParseServerConfig(kGood, {"replica.high.watermark.checkpoint.interval.ms=0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("replica.high.watermark.checkpoint.interval.ms"),
            std::string::npos)
      << bad.status();
}

TEST(ServerConfigTest, FetchSessionSlotsAreKafkasThousandUnlessSet) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_incremental_fetch_session_cache_slots, 1000);
  c = ParseServerConfig(kGood, {"max.incremental.fetch.session.cache.slots=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_incremental_fetch_session_cache_slots, 0) << "0: no sessions";
}

TEST(ServerConfigTest, AFollowersWaitAboveTheLagTimeIsRefused) {
  auto c =
      ParseServerConfig(kGood, {"replica.lag.time.max.ms=1000", "replica.fetch.wait.max.ms=1000"});
  ASSERT_TRUE(c.ok()) << c.status();
  auto bad =
      ParseServerConfig(kGood, {"replica.lag.time.max.ms=1000", "replica.fetch.wait.max.ms=1001"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("replica.fetch.wait.max.ms (1001) must not be above "
                                        "replica.lag.time.max.ms (1000)"),
            std::string::npos)
      << bad.status();
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

TEST(ServerConfigTest, ProducerIdExpirationHasKafkasDefaults) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->producer_id_expiration_ms, 86400000);
  EXPECT_EQ(c->producer_id_expiration_check_interval_ms, 600000);
  c = ParseServerConfig(kGood, {"producer.id.expiration.ms=3600000",
                                "producer.id.expiration.check.interval.ms=1000"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->producer_id_expiration_ms, 3600000);
  EXPECT_EQ(c->producer_id_expiration_check_interval_ms, 1000);
  EXPECT_EQ(c->unknown_keys, std::vector<std::string>{"some.unknown.key"});  // not ours
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
           {"producer.id.expiration.ms=0", "producer.id.expiration.ms"},
           {"max.incremental.fetch.session.cache.slots=-1",
            "max.incremental.fetch.session.cache.slots"},
           {"producer.id.expiration.check.interval.ms=-1",
            "producer.id.expiration.check.interval.ms"},
           {"producer.id.expiration.check.interval.ms=often",
            "producer.id.expiration.check.interval.ms"},
       }) {
    auto c = ParseServerConfig(kGood, {bad.override_line});
    ASSERT_FALSE(c.ok()) << bad.override_line;
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
    EXPECT_NE(c.status().message().find(bad.key), absl::string_view::npos) << c.status();
  }
}

TEST(ServerConfigTest, KafkaListenerKeysHaveKafkasDefaults) {
  auto c = ParseServerConfig(kGood, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->auto_create_topics_enable);
  EXPECT_EQ(c->socket_request_max_bytes, 104857600);
  EXPECT_EQ(c->num_network_threads, 3);
  EXPECT_EQ(c->num_io_threads, 8);
  EXPECT_EQ(c->queued_max_requests, 500);
  EXPECT_EQ(c->queued_max_request_bytes, 536870912);
  EXPECT_EQ(c->connections_max_idle_ms, 600000);
  // Not Kafka's 102400: the OS's autotuned buffers (server_config.h).
  EXPECT_EQ(c->socket_send_buffer_bytes, -1);
  EXPECT_EQ(c->socket_receive_buffer_bytes, -1);
  EXPECT_EQ(c->kafka_listener_names, std::vector<std::string>{"KAFKA"});
  EXPECT_EQ(c->kafka_max_inflight_requests_per_connection, 1);
  EXPECT_EQ(c->listener_security_protocols.at("KAFKA"), "PLAINTEXT");
  EXPECT_TRUE(c->IsKafkaListener("KAFKA"));
  EXPECT_FALSE(c->IsKafkaListener("PLAINTEXT"));
}

TEST(ServerConfigTest, ParsesTheKafkaListenerAndItsKeys) {
  auto c = ParseServerConfig(
      kGood,
      {"listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,KAFKA://0.0.0.0:29092",
       "advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,"
       "KAFKA://broker1.example:29092",
       "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:plaintext",
       "auto.create.topics.enable=false", "socket.request.max.bytes=1048576",
       "num.network.threads=2", "num.io.threads=4", "queued.max.requests=50",
       "queued.max.request.bytes=-1", "connections.max.idle.ms=30000",
       "socket.send.buffer.bytes=131072", "socket.receive.buffer.bytes=65536",
       "strata.kafka.max.inflight.requests.per.connection=8"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_NE(c->listener("KAFKA"), nullptr);
  EXPECT_EQ(c->listener("KAFKA")->port, 29092);
  EXPECT_EQ(c->advertised("KAFKA")->host, "broker1.example");
  EXPECT_FALSE(c->auto_create_topics_enable);
  EXPECT_EQ(c->socket_request_max_bytes, 1048576);
  EXPECT_EQ(c->num_network_threads, 2);
  EXPECT_EQ(c->num_io_threads, 4);
  EXPECT_EQ(c->queued_max_requests, 50);
  EXPECT_EQ(c->queued_max_request_bytes, -1) << "unbounded";
  EXPECT_EQ(c->connections_max_idle_ms, 30000);
  EXPECT_EQ(c->socket_send_buffer_bytes, 131072);
  EXPECT_EQ(c->socket_receive_buffer_bytes, 65536);
  EXPECT_EQ(c->kafka_max_inflight_requests_per_connection, 8);
  EXPECT_EQ(c->listener_security_protocols.at("KAFKA"), "PLAINTEXT");
  EXPECT_TRUE(c->unknown_keys.size() == 1) << "only some.unknown.key";

  // Another name for the Kafka listener.
  c = ParseServerConfig(kGood,
                        {"listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,"
                         "EXTERNAL://localhost:29092",
                         "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                         "EXTERNAL:PLAINTEXT",
                         "strata.kafka.listener.names=EXTERNAL"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->IsKafkaListener("EXTERNAL"));
  // Kafka's own example map names protocols no configured listener uses:
  // accepted, as Kafka accepts it.
  c = ParseServerConfig(kGood, {"listener.security.protocol.map=CONTROLLER:PLAINTEXT,"
                                "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,"
                                "SASL_SSL:SASL_SSL"});
  ASSERT_TRUE(c.ok()) << c.status();
}

TEST(ServerConfigTest, BadKafkaListenerSettingsNameTheKey) {
  struct Case {
    std::vector<std::string> overrides;
    const char* key;
  };
  const std::string kafka =
      "listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,KAFKA://localhost:29092";
  for (const Case& bad : std::vector<Case>{
           {{"auto.create.topics.enable=yes"}, "auto.create.topics.enable"},
           {{"socket.request.max.bytes=0"}, "socket.request.max.bytes"},
           {{"socket.request.max.bytes=3000000000"}, "socket.request.max.bytes"},
           {{"num.network.threads=0"}, "num.network.threads"},
           {{"num.io.threads=many"}, "num.io.threads"},
           {{"queued.max.requests=0"}, "queued.max.requests"},
           {{"queued.max.request.bytes=0"}, "queued.max.request.bytes"},
           {{"queued.max.request.bytes=-2"}, "queued.max.request.bytes"},
           {{"connections.max.idle.ms=0"}, "connections.max.idle.ms"},
           {{"socket.send.buffer.bytes=-5"}, "socket.send.buffer.bytes"},
           {{"socket.receive.buffer.bytes=big"}, "socket.receive.buffer.bytes"},
           {{"strata.kafka.max.inflight.requests.per.connection=0"},
            "strata.kafka.max.inflight.requests.per.connection"},
           {{"strata.kafka.listener.names=PLAINTEXT"}, "strata.kafka.listener.names"},
           {{"strata.kafka.listener.names=K/1"}, "strata.kafka.listener.names"},
           {{kafka,
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SSL"},
            "ssl.keystore.location"},
           {{kafka,
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,"
             "KAFKA:PLAINTEXT"},
            "listener.security.protocol.map"},
           {{"listener.security.protocol.map=KAFKA:CARRIER_PIGEON"},
            "listener.security.protocol.map"},
           {{"listener.security.protocol.map=KAFKA"}, "listener.security.protocol.map"},
           {{kafka, "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"},
            "listener.security.protocol.map"},
           {{"listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,"
             "OTHER://localhost:1"},
            "listener.security.protocol.map"},
           {{"listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,"
             "OTHER://localhost:1",
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
             "OTHER:PLAINTEXT"},
            "strata.kafka.listener.names"},
           {{kafka, "advertised.listeners=KAFKA://localhost:29092,WHAT://localhost:1"},
            "advertised.listeners"},
           {{"listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,"
             "KAFKA://localhost:9092"},
            "listeners"},
       }) {
    auto c = ParseServerConfig(kGood, bad.overrides);
    ASSERT_FALSE(c.ok()) << bad.overrides.back();
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

TEST(ServerConfigTest, ABrokerRegistersEveryAdvertisedListener) {
  auto c = ParseServerConfig(
      kGood,
      {"listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:19092,KAFKA://0.0.0.0:29092",
       "advertised.listeners=KAFKA://kafka.example:39092"});
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<internal::BrokerEndpoint> endpoints = AdvertisedEndpoints(*c);
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].name(), "PLAINTEXT");
  EXPECT_EQ(endpoints[0].host(), "localhost") << "0.0.0.0 is no address to dial";
  EXPECT_EQ(endpoints[1].name(), "CONTROLLER");
  EXPECT_EQ(endpoints[1].port(), 19092);
  EXPECT_EQ(endpoints[2].name(), "KAFKA");
  EXPECT_EQ(endpoints[2].host(), "kafka.example") << "advertised, not bound";
  EXPECT_EQ(endpoints[2].port(), 39092);
  for (const internal::BrokerEndpoint& e : endpoints) {
    EXPECT_EQ(e.security_protocol(), "PLAINTEXT") << e.name();
  }
}

}  // namespace
}  // namespace strata::server
