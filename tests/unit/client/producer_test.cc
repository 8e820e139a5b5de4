#include "client/producer.h"

#include "client/errors.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::client {
namespace {

using strata::testing::FakeCluster;

ProducerConfig Config(const FakeCluster& cluster) {
  ProducerConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.retry_backoff = absl::Milliseconds(10);
  c.max_block = absl::Seconds(5);
  return c;
}

// Batches of at most 1000 bytes that only Flush() sends.
ProducerConfig SmallBatchesSentOnFlush(const FakeCluster& cluster) {
  ProducerConfig c = Config(cluster);
  c.linger = absl::Seconds(30);
  c.batch_size = 1000;
  return c;
}

ProducerRecord Rec(std::string topic, std::string value) {
  ProducerRecord r;
  r.topic = std::move(topic);
  r.value = std::move(value);
  return r;
}

std::vector<std::string> Values(const std::vector<record::Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value.value_or("<null>"));
  return out;
}

TEST(ProducerTest, KeylessRecordsGoRoundRobin) {
  FakeCluster cluster(3);
  cluster.AddTopic("t", 3);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (char c = 'a'; c <= 'j'; ++c) (*producer)->Send(Rec("t", std::string(1, c)), [](auto&) {});
  (*producer)->Flush();
  EXPECT_EQ(Values(cluster.Records("t", 0)), (std::vector<std::string>{"a", "d", "g", "j"}));
  EXPECT_EQ(Values(cluster.Records("t", 1)), (std::vector<std::string>{"b", "e", "h"}));
  EXPECT_EQ(Values(cluster.Records("t", 2)), (std::vector<std::string>{"c", "f", "i"}));
}

TEST(ProducerTest, KeyedRecordsUseMurmur2AndCarryKeyHeadersTimestamp) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 4);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  ProducerRecord r = Rec("t", "v");
  r.key = "foobar";
  r.headers.push_back({"h", std::string("hv")});
  r.timestamp_ms = 12345;
  auto md = (*producer)->Send(r).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(md->partition, PartitionForKey("foobar", 4));
  EXPECT_EQ(md->offset, 0);
  EXPECT_EQ(md->timestamp_ms, 12345);
  auto stored = cluster.Records("t", md->partition);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(*stored[0].key, "foobar");
  EXPECT_EQ(stored[0].headers, r.headers);
  EXPECT_EQ(stored[0].timestamp, 12345);
}

TEST(ProducerTest, RecordsAccumulateIntoOneBatchWhileLingering) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.linger = absl::Seconds(30);  // only Flush sends
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back((*producer)->Send(Rec("t", std::to_string(i))));
  (*producer)->Flush();
  EXPECT_EQ(cluster.BatchCount("t", 0), 1);
  EXPECT_EQ(cluster.produce_requests(), 1);
  for (int i = 0; i < 20; ++i) {
    auto md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok());
    EXPECT_EQ(md->offset, i);
  }
}

TEST(ProducerTest, BatchSizeSplitsBatches) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 10; ++i) (*producer)->Send(Rec("t", std::string(300, 'a' + i)), [](auto&) {});
  (*producer)->Flush();
  EXPECT_GE(cluster.BatchCount("t", 0), 4);
  ASSERT_EQ(cluster.Records("t", 0).size(), 10u);
  EXPECT_EQ(cluster.Records("t", 0)[9].value->front(), 'j');  // in order
}

TEST(ProducerTest, QueuedFullBatchesOfAPartitionTravelInOneRequest) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok());
  // The first attempt fails: the batches go back in order and are retried.
  cluster.FailProduce("t", 0, v1::REQUEST_TIMED_OUT, 1);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 10; ++i)
    futures.push_back((*producer)->Send(Rec("t", std::string(300, 'a' + i))));
  (*producer)->Flush();
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[i].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i) << "each batch's records numbered from where the one before ended";
  }
  EXPECT_GE(cluster.BatchCount("t", 0), 4);
  EXPECT_EQ(cluster.produce_requests(), 2) << "one failed and one good request for all batches";
  std::string order;
  for (const auto& r : cluster.Records("t", 0)) order += r.value->front();
  EXPECT_EQ(order, "abcdefghij");
}

TEST(ProducerTest, ABatchLargerThanBatchSizeTravelsAlone) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok());
  // Were it refused (max.message.bytes), the small ones must not share its fate.
  (*producer)->Send(Rec("t", "small-1"), [](auto&) {});
  (*producer)->Send(Rec("t", std::string(5000, 'B')), [](auto&) {});
  (*producer)->Send(Rec("t", "small-2"), [](auto&) {});
  (*producer)->Flush();
  EXPECT_EQ(cluster.produce_requests(), 3);
  std::vector<std::string> values = Values(cluster.Records("t", 0));
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], "small-1");
  EXPECT_EQ(values[2], "small-2");
}

TEST(ProducerTest, LingerSendsWithoutFlush) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("t", "x")).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(cluster.last_acks(), -1);
}

TEST(ProducerTest, RetriesNotLeaderUsingTheHintAndKeepsOrder) {
  FakeCluster cluster(2);
  cluster.AddTopic("t", 1, {1});
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "first")).get().ok());
  cluster.SetLeader("t", 0, 2);  // the producer's metadata still says 1
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back((*producer)->Send(Rec("t", std::to_string(i))));
  (*producer)->Flush();
  for (auto& f : futures) ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(Values(cluster.Records("t", 0)),
            (std::vector<std::string>{"first", "0", "1", "2", "3", "4"}));
}

TEST(ProducerTest, RetriesRetriableErrors) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailProduce("t", 0, v1::NOT_ENOUGH_REPLICAS, 3);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("t", "x")).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(cluster.produce_requests(), 4);
}

TEST(ProducerTest, NonRetriableErrorsFailTheRecord) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailProduce("t", 0, v1::INVALID_RECORD, 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("t", "x")).get();
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(ErrorCodeOf(md.status()), v1::INVALID_RECORD);
}

TEST(ProducerTest, DeliveryTimeoutBoundsRetries) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailProduce("t", 0, v1::NOT_ENOUGH_REPLICAS, 1000000);
  ProducerConfig config = Config(cluster);
  config.delivery_timeout = absl::Milliseconds(300);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("t", "x")).get();
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.status().message().find("Expiring 1 record(s) for t-0"), absl::string_view::npos)
      << md.status();
}

TEST(ProducerTest, APartitionThatDoesNotExistIsAnError) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  ProducerRecord r = Rec("t", "x");
  r.partition = 5;
  auto md = (*producer)->Send(r).get();
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().message(),
            "Invalid partition given with record: 5 is not in the range [0...2).");
}

TEST(ProducerTest, AnUnknownTopicFailsAfterMaxBlock) {
  FakeCluster cluster(1);
  ProducerConfig config = Config(cluster);
  config.max_block = absl::Milliseconds(200);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("nope", "x")).get();
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().message(), "Topic nope not present in metadata after 200 ms.");
}

TEST(ProducerTest, TooLargeRecordsAreRefusedBeforeSending) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.max_request_size = 100;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  auto md = (*producer)->Send(Rec("t", std::string(200, 'x'))).get();
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(ErrorCodeOf(md.status()), v1::MESSAGE_TOO_LARGE);
  EXPECT_EQ(cluster.produce_requests(), 0);
}

TEST(ProducerTest, CloseSendsWhatIsQueuedAndRefusesMore) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.linger = absl::Seconds(30);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  auto f = (*producer)->Send(Rec("t", "x"));
  (*producer)->Close();
  EXPECT_TRUE(f.get().ok());
  EXPECT_FALSE((*producer)->Send(Rec("t", "y")).get().ok());
}

TEST(ProducerTest, AnUnreachableBootstrapNodeIsSkipped) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.bootstrap_servers = "127.0.0.1:1," + cluster.bootstrap();
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  EXPECT_TRUE((*producer)->Send(Rec("t", "x")).get().ok());
}

}  // namespace
}  // namespace strata::client

namespace strata::client {
namespace {

TEST(ProducerBufferTest, BufferMemoryBoundsQueuedRecords) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.buffer_memory = 1;  // one record at a time: each Send waits for the one before
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> sent;
  for (int i = 0; i < 20; ++i) sent.push_back((*producer)->Send(Rec("t", std::to_string(i))));
  for (int i = 0; i < 20; ++i) {
    auto md = sent[i].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i);
  }
}

TEST(ProducerBufferTest, SendGivesUpAfterMaxBlockWhenTheBufferStaysFull) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  // Every produce fails retriably, so the first record holds the buffer.
  cluster.FailProduce("t", 0, v1::NOT_LEADER_OR_FOLLOWER, 1000000);
  ProducerConfig config = Config(cluster);
  config.buffer_memory = 1;
  config.max_block = absl::Milliseconds(300);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  auto first = (*producer)->Send(Rec("t", "holds the buffer"));
  auto second = (*producer)->Send(Rec("t", "waits"));
  auto md = second.get();
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.status().message().find("Failed to allocate memory within the configured max "
                                       "blocking time 300 ms."),
            absl::string_view::npos)
      << md.status();
  (*producer)->Close(absl::ZeroDuration());
}

TEST(ProducerBufferTest, CallbacksMaySendAndClose) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  Producer* p = producer->get();
  std::promise<absl::StatusOr<RecordMetadata>> chained;
  p->Send(Rec("t", "first"), [&](const absl::StatusOr<RecordMetadata>&) {
    // A callback that sends again must not deadlock on the producer's lock.
    p->Send(Rec("t", "from callback"),
            [&](const absl::StatusOr<RecordMetadata>& md) { chained.set_value(md); });
  });
  auto md = chained.get_future().get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(md->offset, 1);
}

}  // namespace
}  // namespace strata::client
