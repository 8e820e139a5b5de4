#include "client/consumer.h"

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "client/group_rpc.h"
#include "client/producer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::client {
namespace {

using strata::testing::FakeCluster;

void Produce(const FakeCluster& cluster, const std::string& topic, int32_t partition,
             const std::vector<std::string>& values) {
  ProducerConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.linger = absl::Seconds(10);
  auto producer = Producer::Create(c);
  ASSERT_TRUE(producer.ok());
  for (const auto& v : values) {
    ProducerRecord r;
    r.topic = topic;
    r.partition = partition;
    r.value = v;
    (*producer)->Send(r, [](auto&) {});
  }
  (*producer)->Flush();
}

std::unique_ptr<Consumer> MakeConsumer(const FakeCluster& cluster, int max_poll_records = 500,
                                       OffsetReset reset = OffsetReset::kLatest) {
  ConsumerConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.max_poll_records = max_poll_records;
  c.auto_offset_reset = reset;
  c.fetch_max_wait_ms = 100;
  c.retry_backoff = absl::Milliseconds(10);
  auto consumer = Consumer::Create(c);
  EXPECT_TRUE(consumer.ok());
  return *std::move(consumer);
}

std::vector<ConsumerRecord> PollFor(Consumer& c, size_t n,
                                    absl::Duration timeout = absl::Seconds(5)) {
  std::vector<ConsumerRecord> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < n && absl::Now() < deadline) {
    auto records = c.Poll(absl::Milliseconds(100));
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) break;
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> Values(const std::vector<ConsumerRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value.value_or("<null>"));
  return out;
}

const TopicPartition kTp0{"t", PartitionId(0)};

TEST(ConsumerTest, ReadsFromTheBeginning) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  Produce(cluster, "t", 0, {"a", "b", "c"});
  Produce(cluster, "t", 0, {"d", "e"});
  auto c = MakeConsumer(cluster);
  c->Assign({kTp0});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  auto records = PollFor(*c, 5);
  EXPECT_EQ(Values(records), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(records[4].offset, 4);
  EXPECT_EQ(records[4].topic, "t");
  EXPECT_EQ(*c->Position(kTp0), 5);
}

TEST(ConsumerTest, HonoursMaxPollRecords) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  Produce(cluster, "t", 0, {"a", "b", "c", "d", "e"});
  auto c = MakeConsumer(cluster, /*max_poll_records=*/2);
  c->Assign({kTp0});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  std::vector<size_t> sizes;
  std::vector<ConsumerRecord> all;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (all.size() < 5 && absl::Now() < deadline) {
    auto r = c->Poll(absl::Milliseconds(200));
    ASSERT_TRUE(r.ok());
    if (r->empty()) continue;
    sizes.push_back(r->size());
    for (auto& x : *r) all.push_back(x);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(Values(all), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

// Answers are handed out in runs of max.poll.records; across partitions
// and answers a poll takes whole runs, never more than the bound, and every
// record comes exactly once, in order within its partition.
TEST(ConsumerTest, RunsFromSeveralPartitionsAndAnswersKeepTheBoundAndTheOrder) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  Produce(cluster, "t", 0, {"a0", "a1", "a2", "a3", "a4"});
  Produce(cluster, "t", 1, {"b0", "b1", "b2", "b3"});
  Produce(cluster, "t", 0, {"a5", "a6"});
  auto c = MakeConsumer(cluster, /*max_poll_records=*/3);
  const TopicPartition tp1{"t", PartitionId(1)};
  c->Assign({kTp0, tp1});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  std::map<int32_t, std::vector<std::string>> by_partition;
  size_t total = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (total < 11 && absl::Now() < deadline) {
    auto r = c->Poll(absl::Milliseconds(200));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_LE(r->size(), 3u);
    for (auto& x : *r) by_partition[x.partition].push_back(*x.value);
    total += r->size();
  }
  EXPECT_EQ(by_partition[0],
            (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4", "a5", "a6"}));
  EXPECT_EQ(by_partition[1], (std::vector<std::string>{"b0", "b1", "b2", "b3"}));
  EXPECT_EQ(*c->Position(kTp0), 7);
  EXPECT_EQ(*c->Position(tp1), 4);
}

TEST(ConsumerTest, SeekSkipsRecordsBelowTheOffsetInsideABatch) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  Produce(cluster, "t", 0, {"a", "b", "c", "d", "e"});  // one batch
  auto c = MakeConsumer(cluster);
  c->Assign({kTp0});
  c->Seek(kTp0, 3);
  auto records = PollFor(*c, 2);
  EXPECT_EQ(Values(records), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(records[0].offset, 3);
}

// Answers are decoded as they are handed out, and the next fetch goes out
// before; a corrupt batch must still stop the consumer at its position, every
// Poll, and never be stepped over by the fetch that already went past it.
TEST(ConsumerTest, ACorruptBatchFailsEveryPollAtItsPositionUntilASeekPastIt) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  Produce(cluster, "t", 0, {"a", "b"});
  Produce(cluster, "t", 0, {"c"});
  Produce(cluster, "t", 0, {"d", "e"});
  cluster.CorruptBatch("t", 0, 1);  // "c", offset 2
  ConsumerConfig config;
  config.bootstrap_servers = cluster.bootstrap();
  config.max_poll_records = 1;  // "a" and "b" are handed out over two polls
  config.fetch_max_wait_ms = 100;
  config.retry_backoff = absl::Milliseconds(10);
  auto c = *Consumer::Create(config);
  c->Assign({kTp0});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  std::vector<std::string> seen;
  int errors = 0;
  for (int i = 0; i < 40 && errors < 3; ++i) {
    absl::StatusOr<std::vector<ConsumerRecord>> records = c->Poll(absl::Milliseconds(100));
    if (!records.ok()) {
      EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss) << records.status();
      EXPECT_THAT(std::string(records.status().message()), ::testing::HasSubstr("t-0 at offset 2"));
      ++errors;
      continue;
    }
    for (const auto& r : *records) seen.push_back(*r.value);
  }
  EXPECT_EQ(errors, 3);
  // One answer holds all three batches and fails whole (Kafka's consumer
  // would hand out "a" and "b" first; ours does not yet).
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(*c->Position(kTp0), 0);
  c->Seek(kTp0, 3);
  EXPECT_EQ(Values(PollFor(*c, 2)), (std::vector<std::string>{"d", "e"}));
}

// A corrupt answer on one partition never costs another partition's
// records taken in the same poll: they go out, the error comes after. The
// first poll only sends the fetches (and moves the round-robin start to
// partition 1); once both answers are in, the next poll takes partition
// 1's records before it reaches partition 0's corrupt batch.
TEST(ConsumerTest, AnotherPartitionsCorruptBatchLosesNoRecordAlreadyTaken) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  Produce(cluster, "t", 0, {"x"});
  Produce(cluster, "t", 1, {"a", "b"});
  cluster.CorruptBatch("t", 0, 0);
  auto c = MakeConsumer(cluster);
  const TopicPartition tp1{"t", PartitionId(1)};
  c->Assign({kTp0, tp1});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  absl::StatusOr<std::vector<ConsumerRecord>> first = c->Poll(absl::ZeroDuration());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->empty());
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<std::string> seen;
  int errors = 0;
  for (int i = 0; i < 40 && (errors < 2 || seen.size() < 2); ++i) {
    absl::StatusOr<std::vector<ConsumerRecord>> records = c->Poll(absl::Milliseconds(100));
    if (!records.ok()) {
      EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss) << records.status();
      ++errors;
      continue;
    }
    for (const auto& r : *records) seen.push_back(*r.value);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*c->Position(tp1), 2);
  EXPECT_EQ(*c->Position(kTp0), 0);
  EXPECT_GE(errors, 2);
}

TEST(ConsumerTest, SeekToEndReadsOnlyNewRecords) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  Produce(cluster, "t", 0, {"old"});
  auto c = MakeConsumer(cluster);
  c->Assign({kTp0});
  ASSERT_TRUE(c->SeekToEnd().ok());
  EXPECT_EQ(*c->Position(kTp0), 1);
  EXPECT_TRUE(PollFor(*c, 1, absl::Milliseconds(300)).empty());
  Produce(cluster, "t", 0, {"new"});
  EXPECT_EQ(Values(PollFor(*c, 1)), (std::vector<std::string>{"new"}));
}

TEST(ConsumerTest, AutoOffsetResetEarliestStartsAtTheLogStart) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.SetLogStart("t", 0, 10);
  Produce(cluster, "t", 0, {"x"});
  auto c = MakeConsumer(cluster, 500, OffsetReset::kEarliest);
  c->Assign({kTp0});
  auto records = PollFor(*c, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].offset, 10);
}

TEST(ConsumerTest, ReadsEveryPartitionFromTheirLeaders) {
  FakeCluster cluster(3);
  cluster.AddTopic("t", 3);  // leaders 1, 2, 3
  for (int p = 0; p < 3; ++p) Produce(cluster, "t", p, {"p" + std::to_string(p)});
  auto c = MakeConsumer(cluster);
  auto parts = c->PartitionsFor("t");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  std::vector<TopicPartition> tps;
  for (int32_t p : *parts) tps.push_back({"t", PartitionId(p)});
  c->Assign(tps);
  ASSERT_TRUE(c->SeekToBeginning().ok());
  auto values = Values(PollFor(*c, 3));
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"p0", "p1", "p2"}));
}

TEST(ConsumerTest, FollowsALeaderThatMoved) {
  FakeCluster cluster(2);
  cluster.AddTopic("t", 1, {1});
  Produce(cluster, "t", 0, {"a"});
  auto c = MakeConsumer(cluster);
  c->Assign({kTp0});
  ASSERT_TRUE(c->SeekToBeginning().ok());
  EXPECT_EQ(Values(PollFor(*c, 1)), (std::vector<std::string>{"a"}));
  cluster.SetLeader("t", 0, 2);
  Produce(cluster, "t", 0, {"b"});
  EXPECT_EQ(Values(PollFor(*c, 1)), (std::vector<std::string>{"b"}));
}

TEST(ConsumerTest, UnknownTopicIsNotFound) {
  FakeCluster cluster(1);
  auto c = MakeConsumer(cluster);
  auto parts = c->PartitionsFor("nope");
  EXPECT_TRUE(absl::IsNotFound(parts.status())) << parts.status();
}

TEST(ConsumerTest, WakeupInterruptsPoll) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto c = MakeConsumer(cluster);
  c->Assign({kTp0});
  c->Wakeup();
  EXPECT_TRUE(absl::IsCancelled(c->Poll(absl::Seconds(5)).status()));
}

TEST(ConsumerTest, GroupApisNeedAGroupId) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto c = MakeConsumer(cluster);
  absl::Status s = c->Subscribe(std::vector<std::string>{"t"});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("group.id"));
  EXPECT_TRUE(absl::IsInvalidArgument(c->CommitSync()));
  EXPECT_TRUE(absl::IsInvalidArgument(c->Committed({kTp0}).status()));
  EXPECT_EQ(c->MemberId(), "");
  EXPECT_EQ(c->Generation(), -1);
}

TEST(ConsumerTest, SubscribeAndAssignAreExclusive) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ConsumerConfig config;
  config.bootstrap_servers = cluster.bootstrap();
  config.group_id = "g";
  config.enable_auto_commit = false;
  auto c = Consumer::Create(config);
  ASSERT_TRUE(c.ok()) << c.status();
  (*c)->Assign({kTp0});
  EXPECT_TRUE(absl::IsFailedPrecondition((*c)->Subscribe(std::vector<std::string>{"t"})));
  (*c)->Assign({});
  EXPECT_TRUE((*c)->Subscribe(std::vector<std::string>{"t"}).ok());
  EXPECT_EQ((*c)->Subscription(), (std::set<std::string>{"t"}));
  // Assign() ends the subscription.
  (*c)->Assign({kTp0});
  EXPECT_TRUE((*c)->Subscription().empty());
  (*c)->Close(absl::Seconds(1));
  EXPECT_TRUE(absl::IsFailedPrecondition((*c)->Poll(absl::Milliseconds(1)).status()));
}

TEST(ConsumerTest, PatternSubscriptionMatchesWholeNamesOfNonInternalTopics) {
  FakeCluster cluster(1);
  cluster.AddTopic("orders-eu", 1);
  cluster.AddTopic("orders-us", 2);
  cluster.AddTopic("orders", 1);
  cluster.AddTopic("old-orders-x", 1);
  ConsumerConfig config;
  config.bootstrap_servers = cluster.bootstrap();
  config.group_id = "g";
  config.enable_auto_commit = false;
  auto c = Consumer::Create(config);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Subscribe(std::regex("orders-.*")).ok());
  EXPECT_EQ((*c)->Subscription(), (std::set<std::string>{"orders-eu", "orders-us"}));
  (*c)->Close(absl::Seconds(1));
}

TEST(ConsumerTest, GroupKeysHaveKafkasNamesAndDefaults) {
  auto d = ConsumerConfig::FromProperties({}, nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->group_id, "");
  EXPECT_EQ(d->session_timeout, absl::Milliseconds(45000));
  EXPECT_EQ(d->heartbeat_interval, absl::Milliseconds(3000));
  EXPECT_EQ(d->max_poll_interval, absl::Milliseconds(300000));
  EXPECT_TRUE(d->enable_auto_commit);
  EXPECT_EQ(d->auto_commit_interval, absl::Milliseconds(5000));
  EXPECT_EQ(d->partition_assignment_strategy, "range,cooperative-sticky");

  std::vector<std::string> ignored;
  auto c = ConsumerConfig::FromProperties({{"group.id", "g"},
                                           {"group.instance.id", "i-1"},
                                           {"client.id", "me"},
                                           {"session.timeout.ms", "10000"},
                                           {"heartbeat.interval.ms", "1000"},
                                           {"max.poll.interval.ms", "60000"},
                                           {"enable.auto.commit", "false"},
                                           {"auto.commit.interval.ms", "100"},
                                           {"partition.assignment.strategy", "cooperative-sticky"},
                                           {"allow.auto.create.topics", "false"},
                                           {"key.deserializer", "x"}},
                                          &ignored);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->group_id, "g");
  EXPECT_EQ(c->group_instance_id, "i-1");
  EXPECT_EQ(c->client_id, "me");
  EXPECT_EQ(c->session_timeout, absl::Seconds(10));
  EXPECT_EQ(c->heartbeat_interval, absl::Seconds(1));
  EXPECT_EQ(c->max_poll_interval, absl::Minutes(1));
  EXPECT_FALSE(c->enable_auto_commit);
  EXPECT_EQ(c->auto_commit_interval, absl::Milliseconds(100));
  EXPECT_EQ(c->partition_assignment_strategy, "cooperative-sticky");
  EXPECT_EQ(ignored, std::vector<std::string>{"key.deserializer"});

  EXPECT_FALSE(ConsumerConfig::FromProperties({{"enable.auto.commit", "yes"}}, nullptr).ok());
  EXPECT_FALSE(ConsumerConfig::FromProperties(
                   {{"heartbeat.interval.ms", "5000"}, {"session.timeout.ms", "5000"}}, nullptr)
                   .ok());
  // A bad strategy is caught when the consumer is made.
  ConsumerConfig bad;
  bad.bootstrap_servers = "127.0.0.1:1";
  bad.group_id = "g";
  bad.partition_assignment_strategy = "range,nope";
  auto consumer = Consumer::Create(bad);
  EXPECT_TRUE(absl::IsInvalidArgument(consumer.status())) << consumer.status();
  EXPECT_THAT(std::string(consumer.status().message()),
              ::testing::HasSubstr("partition.assignment.strategy"));
}

// gRPC runs a group call's callback on its own thread and destroys it
// there. If it held the last reference to a channel, gRPC 1.51 could free
// its shared callback queue under the thread polling it and abort the
// process (a console consumer test did, about once in 200 runs under load).
// So once a call is done, it holds no channel: the pool's reference and
// ours are the only ones left.
TEST(GroupRpcTest, AFinishedCallHoldsNoReferenceToItsChannel) {
  FakeCluster cluster(1);
  ConnectionPool pool;
  const std::string target = cluster.address(1);
  std::unique_ptr<GroupRpc> rpc = MakeGrpcGroupRpc(&pool, {cluster.bootstrap()});
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    v1::HeartbeatRequest request;
    request.set_group_id("g");
    request.set_member_id("nobody");
    rpc->Heartbeat(target, request, absl::Seconds(10),
                   [&](absl::StatusOr<v1::HeartbeatResponse>) { done.Notify(); });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    rpc->CancelAll();  // returns once no call is in flight
    EXPECT_EQ(pool.Get(target).use_count(), 2) << "round " << i;
  }
}

}  // namespace
}  // namespace strata::client
