#include "client/config.h"

#include "client/connection_pool.h"
#include "client/errors.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

TEST(ConfigTest, ProducerDefaultsAreKafkas) {
  auto c = ProducerConfig::FromProperties({}, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->acks, -1);
  EXPECT_EQ(c->batch_size, 16384);
  EXPECT_EQ(c->retry_backoff, absl::Milliseconds(100));
  EXPECT_EQ(c->delivery_timeout, absl::Milliseconds(120000));
  EXPECT_EQ(c->keyless, KeylessPartitioning::kRoundRobin);
}

TEST(ConfigTest, ProducerPropertiesAreRead) {
  std::vector<std::string> ignored;
  auto c = ProducerConfig::FromProperties({{"acks", "all"},
                                           {"linger.ms", "20"},
                                           {"batch.size", "100"},
                                           {"partitioner.class", "sticky"},
                                           {"client.id", "x"}},
                                          &ignored);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->acks, -1);
  EXPECT_EQ(c->linger, absl::Milliseconds(20));
  EXPECT_EQ(c->batch_size, 100);
  EXPECT_EQ(c->keyless, KeylessPartitioning::kSticky);
  EXPECT_EQ(ignored, std::vector<std::string>{"client.id"});
  EXPECT_EQ(ProducerConfig::FromProperties({{"acks", "1"}}, nullptr)->acks, 1);
  EXPECT_EQ(ProducerConfig::FromProperties({{"acks", "0"}}, nullptr)->acks, 0);
}

TEST(ConfigTest, BadValuesNameTheKey) {
  auto c = ProducerConfig::FromProperties({{"linger.ms", "soon"}}, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "Invalid value soon for configuration linger.ms: Not a number");
  auto a = ProducerConfig::FromProperties({{"acks", "2"}}, nullptr);
  EXPECT_EQ(a.status().message(),
            "Invalid value 2 for configuration acks: String must be one of: all, -1, 0, 1");
  auto r = ConsumerConfig::FromProperties({{"auto.offset.reset", "smallest"}}, nullptr);
  EXPECT_FALSE(r.ok());
}

TEST(ConfigTest, ConsumerDefaultsAreKafkas) {
  auto c = ConsumerConfig::FromProperties({}, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_poll_records, 500);
  EXPECT_EQ(c->fetch_max_wait_ms, 500);
  EXPECT_EQ(c->fetch_min_bytes, 1);
  EXPECT_EQ(c->auto_offset_reset, OffsetReset::kLatest);
}

TEST(BootstrapTest, ParsesACommaList) {
  auto list = ParseBootstrapServers("h1:9092, h2:9093,,");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"h1:9092", "h2:9093"}));
  EXPECT_FALSE(ParseBootstrapServers("h1").ok());
  EXPECT_FALSE(ParseBootstrapServers("h1:x").ok());
  EXPECT_FALSE(ParseBootstrapServers("").ok());
}

TEST(ErrorsTest, ErrorCodesTravelInTheStatus) {
  absl::Status s = ErrorToStatus(v1::TOPIC_ALREADY_EXISTS, "Topic 'x' already exists.");
  EXPECT_TRUE(absl::IsAlreadyExists(s));
  EXPECT_EQ(s.message(), "Topic 'x' already exists.");
  EXPECT_EQ(ErrorCodeOf(s), v1::TOPIC_ALREADY_EXISTS);
  EXPECT_FALSE(IsNetworkError(s));
  EXPECT_EQ(ErrorToStatus(v1::UNKNOWN_TOPIC_OR_PARTITION, "").message(),
            "This server does not host this topic-partition.");
  EXPECT_TRUE(ErrorToStatus(v1::NONE, "").ok());
  EXPECT_TRUE(IsNetworkError(absl::UnavailableError("down")));
}

TEST(ErrorsTest, RetriableErrorsAreKafkas) {
  for (auto code :
       {v1::NOT_LEADER_OR_FOLLOWER, v1::LEADER_NOT_AVAILABLE, v1::UNKNOWN_TOPIC_OR_PARTITION,
        v1::REQUEST_TIMED_OUT, v1::NOT_ENOUGH_REPLICAS, v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND}) {
    EXPECT_TRUE(IsRetriable(code)) << ErrorName(code);
  }
  for (auto code : {v1::MESSAGE_TOO_LARGE, v1::INVALID_RECORD, v1::TOPIC_ALREADY_EXISTS,
                    v1::INVALID_REQUIRED_ACKS}) {
    EXPECT_FALSE(IsRetriable(code)) << ErrorName(code);
  }
}

TEST(ConfigTest, IsolationLevelIsReadUncommittedUnlessSet) {
  EXPECT_FALSE(ConsumerConfig::FromProperties({}, nullptr)->read_committed);
  EXPECT_TRUE(ConsumerConfig::FromProperties({{"isolation.level", "read_committed"}}, nullptr)
                  ->read_committed);
  EXPECT_FALSE(ConsumerConfig::FromProperties({{"isolation.level", "read_uncommitted"}}, nullptr)
                   ->read_committed);
  auto bad = ConsumerConfig::FromProperties({{"isolation.level", "READ_COMMITTED"}}, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "Invalid value READ_COMMITTED for configuration isolation.level: String must be one "
            "of: read_committed, read_uncommitted");
}

}  // namespace
}  // namespace strata::client
