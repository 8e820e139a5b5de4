#include "client/config.h"

#include "absl/strings/numbers.h"
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
  EXPECT_EQ(c->client_id, "x");
  EXPECT_TRUE(ignored.empty()) << ignored.front();
  EXPECT_EQ(ProducerConfig::FromProperties({{"acks", "1"}}, nullptr)->acks, 1);
  EXPECT_EQ(ProducerConfig::FromProperties({{"acks", "0"}}, nullptr)->acks, 0);
}

TEST(ConfigTest, ProducerClientIdDefaultsAsKafkas) {
  // "producer-<n>", n counting in this process: each config its own.
  auto a = ProducerConfig::FromProperties({}, nullptr);
  auto b = ProducerConfig::FromProperties({{"client.id", ""}}, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->client_id.starts_with("producer-")) << a->client_id;
  EXPECT_TRUE(b->client_id.starts_with("producer-")) << b->client_id;
  int na = 0, nb = 0;
  ASSERT_TRUE(absl::SimpleAtoi(a->client_id.substr(9), &na)) << a->client_id;
  ASSERT_TRUE(absl::SimpleAtoi(b->client_id.substr(9), &nb)) << b->client_id;
  EXPECT_GE(na, 1);
  EXPECT_GT(nb, na);
  // A transactional producer is named after its transactional.id.
  auto t = ProducerConfig::FromProperties({{"transactional.id", "copier"}}, nullptr);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->client_id, "producer-copier");
  EXPECT_EQ(DefaultProducerClientId(std::nullopt), "producer-" + std::to_string(nb + 1));
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

TEST(ErrorsTest, FailedCallsAreRetriedUnlessTheyWouldFailTheSameWayAgain) {
  for (const absl::Status& s :
       {absl::UnavailableError("down"), absl::DeadlineExceededError("slow"),
        absl::InternalError("oops"), absl::UnknownError("?"), absl::ResourceExhaustedError("busy"),
        absl::AbortedError("restart")}) {
    EXPECT_TRUE(IsRetriableRpcFailure(s)) << s;
    EXPECT_FALSE(IsDeterministicRpcFailure(s)) << s;
  }
  for (const absl::Status& s :
       {absl::UnimplementedError("no such method"), absl::PermissionDeniedError("no"),
        absl::UnauthenticatedError("who"), absl::InvalidArgumentError("bad")}) {
    EXPECT_FALSE(IsRetriableRpcFailure(s)) << s;
    EXPECT_TRUE(IsDeterministicRpcFailure(s)) << s;
  }
  // A peer's answer is neither: its code decides.
  const absl::Status answered = ErrorToStatus(v1::NOT_COORDINATOR, "moved");
  EXPECT_TRUE(HasErrorCode(answered));
  EXPECT_FALSE(IsRetriableRpcFailure(answered));
  EXPECT_FALSE(IsDeterministicRpcFailure(answered));
  EXPECT_FALSE(IsRetriableRpcFailure(absl::OkStatus()));
  EXPECT_FALSE(IsDeterministicRpcFailure(absl::OkStatus()));
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

TEST(ConfigTest, TransactionalIdAndTimeoutAreRead) {
  auto none = ProducerConfig::FromProperties({}, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->transactional_id.has_value());
  EXPECT_EQ(none->transaction_timeout, absl::Milliseconds(60000)) << "Kafka's default";
  std::vector<std::string> ignored;
  auto c = ProducerConfig::FromProperties(
      {{"transactional.id", "copier-1"}, {"transaction.timeout.ms", "15000"}}, &ignored);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->transactional_id, "copier-1");
  EXPECT_EQ(c->transaction_timeout, absl::Milliseconds(15000));
  EXPECT_TRUE(ignored.empty());
  EXPECT_TRUE(c->ValidateIdempotence().ok()) << "idempotence is on by default";

  auto empty = ProducerConfig::FromProperties({{"transactional.id", ""}}, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "Invalid value  for configuration transactional.id: String may not be empty");
  auto bad = ProducerConfig::FromProperties({{"transaction.timeout.ms", "1m"}}, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "Invalid value 1m for configuration transaction.timeout.ms: Not a number of type INT");
}

TEST(ConfigTest, ATransactionalIdNeedsIdempotenceWithKafkasMessage) {
  const std::string kMessage = "Cannot set a transactional.id without also enabling idempotence.";
  // Turned off explicitly.
  auto off = ProducerConfig::FromProperties(
      {{"transactional.id", "t"}, {"enable.idempotence", "false"}}, nullptr);
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(off->ValidateIdempotence()));
  EXPECT_EQ(off->ValidateIdempotence().message(), kMessage);
  // Turned off silently by acks=1 (Kafka 3.2+), then refused for the id.
  auto acks = ProducerConfig::FromProperties({{"transactional.id", "t"}, {"acks", "1"}}, nullptr);
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ(acks->ValidateIdempotence().message(), kMessage);
  // Asked for explicitly with acks=1: the idempotence message comes first.
  auto both = ProducerConfig::FromProperties(
      {{"transactional.id", "t"}, {"acks", "1"}, {"enable.idempotence", "true"}}, nullptr);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->ValidateIdempotence().message(),
            "Must set acks to all in order to use the idempotent producer. Otherwise we cannot "
            "guarantee idempotence.");
  // Set in code to an empty id.
  ProducerConfig code;
  code.transactional_id = "";
  EXPECT_EQ(code.ValidateIdempotence().message(),
            "Invalid value  for configuration transactional.id: String may not be empty");
}

}  // namespace
}  // namespace strata::client
