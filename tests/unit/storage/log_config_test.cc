#include "broker/storage/log_config.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

using ::testing::HasSubstr;

TEST(LogConfigTest, EveryDefaultIsValid) {
  for (const auto& [name, value] : TopicConfigDefaults()) {
    absl::Status s = ValidateTopicConfig(name, value);
    EXPECT_TRUE(s.ok()) << name << "=" << value << ": " << s;
  }
}

TEST(LogConfigTest, TheTableDefaultsAreTheStructDefaults) {
  LogConfig from_table;
  for (const auto& [name, value] : TopicConfigDefaults()) {
    ASSERT_TRUE(from_table.Set(name, value).ok()) << name;
  }
  EXPECT_TRUE(from_table == LogConfig{});
  EXPECT_TRUE(LogConfigFor({}, {}) == LogConfig{});
}

TEST(LogConfigTest, KnowsEveryTopicConfigStrataReads) {
  for (const char* name : {"cleanup.policy",
                           "compression.type",
                           "delete.retention.ms",
                           "file.delete.delay.ms",
                           "flush.messages",
                           "flush.ms",
                           "follower.replication.throttled.replicas",
                           "index.interval.bytes",
                           "leader.replication.throttled.replicas",
                           "max.compaction.lag.ms",
                           "max.message.bytes",
                           "message.timestamp.after.max.ms",
                           "message.timestamp.before.max.ms",
                           "message.timestamp.type",
                           "min.cleanable.dirty.ratio",
                           "min.compaction.lag.ms",
                           "min.insync.replicas",
                           "retention.bytes",
                           "retention.ms",
                           "segment.bytes",
                           "segment.jitter.ms",
                           "segment.ms",
                           "unclean.leader.election.enable"}) {
    EXPECT_TRUE(TopicConfigDefaults().contains(name)) << name;
  }
  EXPECT_EQ(TopicConfigDefaults().size(), 23u);
  EXPECT_EQ(TopicConfigDefaults().at("retention.ms"), "604800000");
  EXPECT_EQ(TopicConfigDefaults().at("delete.retention.ms"), "86400000");
  EXPECT_EQ(TopicConfigDefaults().at("min.cleanable.dirty.ratio"), "0.5");
}

TEST(LogConfigTest, AcceptsKafkaValues) {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"retention.ms", "-1"},
           {"retention.ms", "604800000"},
           {"retention.bytes", "-1"},
           {"retention.bytes", "1073741824"},
           {"retention.bytes", "-7"},  // any LONG, as Kafka (negative: no limit)
           {"cleanup.policy", "delete"},
           {"cleanup.policy", "compact"},
           {"cleanup.policy", "compact,delete"},
           {"cleanup.policy", "delete, compact"},
           {"min.insync.replicas", "2"},
           {"unclean.leader.election.enable", "true"},
           {"unclean.leader.election.enable", "FALSE"},
           {"message.timestamp.type", "LogAppendTime"},
           {"compression.type", "zstd"},
           {"compression.type", "producer"},
           {"segment.bytes", "1073741824"},
           {"segment.bytes", "14"},
           {"segment.ms", "3600000"},
           {"segment.jitter.ms", "60000"},
           {"max.message.bytes", "2097152"},
           {"index.interval.bytes", "4096"},
           {"flush.messages", "1"},
           {"flush.ms", "1000"},
           {"min.compaction.lag.ms", "0"},
           {"max.compaction.lag.ms", "1"},
           {"delete.retention.ms", "0"},
           {"min.cleanable.dirty.ratio", "0"},
           {"min.cleanable.dirty.ratio", "1"},
           {"file.delete.delay.ms", "0"},
       }) {
    absl::Status s = ValidateTopicConfig(k, v);
    EXPECT_TRUE(s.ok()) << k << "=" << v << ": " << s;
  }
}

TEST(LogConfigTest, RefusesBadValuesNamingKeyValueAndWhatIsAllowed) {
  struct Case {
    std::string key, value, allowed;
    // The value the message names, when not the whole value (a list's
    // refused item).
    std::optional<std::string> named = std::nullopt;
  };
  for (const Case& c : std::vector<Case>{
           {"segment.bytes", "lots", "Not a number of type INT"},
           {"segment.bytes", "13", "Value must be at least 14"},
           {"segment.bytes", "4294967296", "Not a number of type INT"},  // index positions: 32-bit
           {"segment.ms", "0", "Value must be at least 1"},
           {"flush.ms", "-1", "Value must be at least 0"},
           {"flush.messages", "0", "Value must be at least 1"},
           {"retention.ms", "-2", "Value must be at least -1"},
           {"retention.bytes", "1e9", "Not a number of type LONG"},
           {"cleanup.policy", "forever", "String must be one of: compact, delete"},
           {"cleanup.policy", "", "compact, delete"},
           {"cleanup.policy", "compact,", "compact, delete", ""},
           {"cleanup.policy", "compact,bogus", "String must be one of: compact, delete", "bogus"},
           {"compression.type", "brotli", "uncompressed, zstd, lz4, snappy, gzip, producer"},
           {"compression.type", "GZIP", "gzip"},  // case-sensitive, as in Kafka
           {"message.timestamp.type", "Now", "CreateTime, LogAppendTime"},
           {"min.insync.replicas", "0", "Value must be at least 1"},
           {"unclean.leader.election.enable", "yes", "either true or false"},
           {"min.cleanable.dirty.ratio", "1.5", "between 0 and 1"},
           {"min.cleanable.dirty.ratio", "half", "Not a number of type DOUBLE"},
           {"min.cleanable.dirty.ratio", "nan", "Not a number of type DOUBLE"},
           {"max.compaction.lag.ms", "0", "Value must be at least 1"},
           {"delete.retention.ms", "-1", "Value must be at least 0"},
           {"file.delete.delay.ms", "-5", "Value must be at least 0"},
           {"segment.jitter.ms", "-1", "Value must be at least 0"},
           {"max.message.bytes", "big", "Not a number of type INT"},
       }) {
    absl::Status s = ValidateTopicConfig(c.key, c.value);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.key << "=" << c.value << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr("Invalid value " + c.named.value_or(c.value) +
                                       " for configuration " + c.key))
        << s;
    EXPECT_THAT(s.message(), HasSubstr(c.allowed)) << s;
  }
}

TEST(LogConfigTest, RefusesUnknownNamesNamingThem) {
  absl::Status s = ValidateTopicConfig("retention.mss", "1");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("Unknown topic config name: retention.mss"));
  EXPECT_THAT(s.message(), HasSubstr("retention.ms"));  // the known names follow
}

TEST(LogConfigTest, SetStoresParsedValuesAndLeavesTheConfigAloneOnError) {
  LogConfig c;
  ASSERT_TRUE(c.Set("segment.bytes", "1048576").ok());
  ASSERT_TRUE(c.Set("cleanup.policy", "compact,delete").ok());
  ASSERT_TRUE(c.Set("compression.type", "lz4").ok());
  ASSERT_TRUE(c.Set("min.cleanable.dirty.ratio", "0.25").ok());
  ASSERT_TRUE(c.Set("unclean.leader.election.enable", "True").ok());
  ASSERT_TRUE(c.Set("message.timestamp.type", "LogAppendTime").ok());
  EXPECT_EQ(c.segment_bytes, 1048576);
  EXPECT_EQ(c.cleanup_policy, CleanupPolicy::kCompactAndDelete);
  EXPECT_EQ(c.compression_type, BrokerCompressionType::kLz4);
  EXPECT_EQ(c.min_cleanable_dirty_ratio, 0.25);
  EXPECT_TRUE(c.unclean_leader_election_enable);
  EXPECT_EQ(c.message_timestamp_type, record::TimestampType::kLogAppendTime);
  ASSERT_TRUE(c.Set("cleanup.policy", "compact").ok());
  EXPECT_EQ(c.cleanup_policy, CleanupPolicy::kCompact);

  const LogConfig before = c;
  EXPECT_FALSE(c.Set("segment.bytes", "10").ok());
  EXPECT_FALSE(c.Set("cleanup.policy", "compact,forever").ok());
  EXPECT_FALSE(c.Set("segment.byte", "1").ok());
  EXPECT_TRUE(c == before);
}

TEST(LogConfigTest, LogConfigForLayersTopicOverBrokerOverDefault) {
  LogConfig c = LogConfigFor({{"segment.bytes", "2048"}, {"retention.ms", "1000"}},
                             {{"retention.ms", "5"}, {"min.insync.replicas", "2"}});
  EXPECT_EQ(c.segment_bytes, 2048);  // the broker's
  EXPECT_EQ(c.retention_ms, 5);      // the topic's wins
  EXPECT_EQ(c.min_insync_replicas, 2);
  EXPECT_EQ(c.flush_ms, LogConfig{}.flush_ms);  // Kafka's default
  // An override that does not apply is skipped; the rest still apply.
  c = LogConfigFor({{"segment.bytes", "1"}}, {{"no.such.config", "x"}, {"segment.ms", "10"}});
  EXPECT_EQ(c.segment_bytes, LogConfig{}.segment_bytes);
  EXPECT_EQ(c.segment_ms, 10);
}

TEST(LogConfigTest, EffectiveValuesLayerTopicOverBrokerOverDefault) {
  auto configs = EffectiveTopicConfigs({{"segment.bytes", "1073741824"}, {"retention.ms", "1000"}},
                                       {{"retention.ms", "5"}});
  EXPECT_EQ(configs.at("segment.bytes").value, "1073741824");
  // Set on the broker: shown as not default, as Kafka shows it.
  EXPECT_FALSE(configs.at("segment.bytes").is_default);
  EXPECT_EQ(configs.at("retention.ms").value, "5");
  EXPECT_TRUE(configs.at("cleanup.policy").is_default);
  EXPECT_EQ(configs.size(), TopicConfigDefaults().size());
  LogConfig log = LogConfigFor({{"segment.bytes", "2048"}}, {{"max.message.bytes", "100"}});
  EXPECT_EQ(log.segment_bytes, 2048);
  EXPECT_EQ(log.max_message_bytes, 100);
}

}  // namespace
}  // namespace strata::storage
