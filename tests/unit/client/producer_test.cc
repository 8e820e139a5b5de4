#include "client/producer.h"

#include <random>
#include <thread>

#include "absl/synchronization/notification.h"
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

// Each record's first character, in log order.
std::string Initials(const std::vector<record::Record>& records) {
  std::string out;
  for (const auto& r : records) out += r.value->front();
  return out;
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
  // Without idempotence a retry takes whatever is queued (an idempotent
  // producer re-sends the failed request's batches as they went: below).
  // Order across a retry needs one request in flight then (as in Kafka).
  ProducerConfig config = SmallBatchesSentOnFlush(cluster);
  config.enable_idempotence = false;
  config.max_in_flight = 1;
  auto producer = Producer::Create(config);
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
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "abcdefghij");
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

// --- compression.type ------------------------------------------------------

TEST(ProducerCompressionTest, EveryCodecRoundTripsThroughTheProducer) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    FakeCluster cluster(1);
    cluster.AddTopic("t", 2);
    std::vector<std::string> ignored;
    absl::StatusOr<ProducerConfig> config =
        ProducerConfig::FromProperties({{"bootstrap.servers", cluster.bootstrap()},
                                        {"compression.type", codec},
                                        {"batch.size", "2000"},
                                        {"linger.ms", "30000"}},
                                       &ignored);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_TRUE(ignored.empty());
    EXPECT_STREQ(record::CompressionName(config->compression_type), codec);
    auto producer = Producer::Create(*config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::vector<std::future<absl::StatusOr<RecordMetadata>>> acks;
    for (int i = 0; i < 300; ++i) {
      ProducerRecord r =
          Rec("t", "{\"n\": " + std::to_string(i) + ", \"pad\": \"" + std::string(40, 'p') + "\"}");
      r.partition = i % 2;
      r.key = "key-" + std::to_string(i);
      acks.push_back((*producer)->Send(std::move(r)));
    }
    (*producer)->Flush();
    for (int i = 0; i < 300; ++i) {
      absl::StatusOr<RecordMetadata> md = acks[static_cast<size_t>(i)].get();
      ASSERT_TRUE(md.ok()) << md.status();
      EXPECT_EQ(md->partition, i % 2);
      EXPECT_EQ(md->offset, i / 2);
    }
    for (int p = 0; p < 2; ++p) {
      std::vector<record::Record> stored = cluster.Records("t", p);
      ASSERT_EQ(stored.size(), 150u);
      for (size_t j = 0; j < stored.size(); ++j) {
        const int i = static_cast<int>(j) * 2 + p;
        EXPECT_EQ(*stored[j].key, "key-" + std::to_string(i));
        EXPECT_EQ(*stored[j].value,
                  "{\"n\": " + std::to_string(i) + ", \"pad\": \"" + std::string(40, 'p') + "\"}");
      }
    }
    // Several batches per partition (batch.size 2000 bytes against about
    // 10 KB of records per partition, less compressed).
    EXPECT_GT(cluster.BatchCount("t", 0), 1);
  }
}

TEST(ProducerCompressionTest, UnknownCodecsAndLevelsAreRefusedWithKafkasMessage) {
  std::vector<std::string> ignored;
  absl::StatusOr<ProducerConfig> c =
      ProducerConfig::FromProperties({{"compression.type", "brotli"}}, &ignored);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "Invalid value brotli for configuration compression.type: String must be one of: "
            "none, gzip, snappy, lz4, zstd");
  // Case matters, as in Kafka.
  EXPECT_FALSE(ProducerConfig::FromProperties({{"compression.type", "GZIP"}}, &ignored).ok());
  // Kafka's ConfigException texts, word for word.
  const std::pair<std::pair<const char*, const char*>, const char*> refusals[] = {
      {{"compression.zstd.level", "23"},
       "Invalid value 23 for configuration compression.zstd.level: Value must be no more than 22"},
      {{"compression.zstd.level", "-131073"},
       "Invalid value -131073 for configuration compression.zstd.level: Value must be at least "
       "-131072"},
      {{"compression.lz4.level", "18"},
       "Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17"},
      {{"compression.lz4.level", "0"},
       "Invalid value 0 for configuration compression.lz4.level: Value must be at least 1"},
      {{"compression.lz4.level", "x"},
       "Invalid value x for configuration compression.lz4.level: Not a number of type INT"},
      {{"compression.gzip.level", "0"},
       "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 "
       "or equal to -1"},
      {{"compression.gzip.level", "10"},
       "Invalid value 10 for configuration compression.gzip.level: Value must be between 1 and 9 "
       "or equal to -1"},
      {{"compression.gzip.level", "1.5"},
       "Invalid value 1.5 for configuration compression.gzip.level: Not a number of type INT"},
      {{"compression.zstd.level", "3000000000"},
       "Invalid value 3000000000 for configuration compression.zstd.level: Not a number of type "
       "INT"},
  };
  for (const auto& [property, message] : refusals) {
    c = ProducerConfig::FromProperties({{property.first, property.second}}, &ignored);
    ASSERT_FALSE(c.ok()) << property.first << "=" << property.second;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().message(), message);
  }
  c = ProducerConfig::FromProperties({{"compression.gzip.level", "-1"},
                                      {"compression.lz4.level", "17"},
                                      {"compression.zstd.level", "-131072"}},
                                     &ignored);
  EXPECT_TRUE(c.ok()) << c.status();
  c = ProducerConfig::FromProperties({{"compression.type", "gzip"},
                                      {"compression.gzip.level", "9"},
                                      {"compression.zstd.level", "-5"}},
                                     &ignored);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->compression_options().level, 9);
  EXPECT_EQ(c->compression_gzip_level, 9);
  EXPECT_EQ(c->compression_zstd_level, -5);
  EXPECT_TRUE(ignored.empty());
  // The default is none.
  c = ProducerConfig::FromProperties({}, &ignored);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->compression_type, record::Compression::kNone);
}

// --- MESSAGE_TOO_LARGE: split and re-enqueue (Kafka's splitAndReenqueue) -----

// A JSON-ish value that compresses several times over.
std::string Json(int i) {
  return "{\"n\": " + std::to_string(i) + ", \"user\": \"user-" + std::to_string(i % 40) +
         "\", \"pad\": \"" + std::string(60, 'p') + "\"}";
}

// A compressing producer's batch holds records for batch.size compressed; a
// topic storing them uncompressed (or a weaker codec) refuses it as larger
// than max.message.bytes. The fake refuses the first request as a broker
// would: the batch is split, the pieces are sent at once and in order, and
// the refusal costs no retry.
TEST(ProducerSplitTest, ABatchRefusedAsTooLargeIsSplitAndEveryRecordAcknowledgedInOrder) {
  for (record::Compression codec : {record::Compression::kZstd, record::Compression::kNone}) {
    SCOPED_TRACE(record::CompressionName(codec));
    FakeCluster cluster(1);
    cluster.AddTopic("t", 1);
    ProducerConfig config = Config(cluster);
    config.compression_type = codec;
    config.batch_size = 1 << 20;
    config.linger = absl::Seconds(30);
    config.retries = 0;  // a split is no retry
    auto producer = Producer::Create(config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    cluster.FailProduce("t", 0, v1::MESSAGE_TOO_LARGE, 1);
    std::vector<std::future<absl::StatusOr<RecordMetadata>>> acks;
    for (int i = 0; i < 300; ++i) acks.push_back((*producer)->Send(Rec("t", Json(i))));
    (*producer)->Flush();
    for (int i = 0; i < 300; ++i) {
      absl::StatusOr<RecordMetadata> md = acks[static_cast<size_t>(i)].get();
      ASSERT_TRUE(md.ok()) << i << ": " << md.status();
      EXPECT_EQ(md->offset, i);
    }
    std::vector<std::string> expected;
    for (int i = 0; i < 300; ++i) expected.push_back(Json(i));
    EXPECT_EQ(Values(cluster.Records("t", 0)), expected);
    // One batch, cut in pieces of at most half its records (by their
    // estimated sizes, which run a little over the real ones).
    EXPECT_GE(cluster.BatchCount("t", 0), 2);
    EXPECT_LE(cluster.BatchCount("t", 0), 3);
    EXPECT_EQ(cluster.produce_requests(), 2) << "the refused one, then both pieces together";
  }
}

// Refused again and again, pieces keep halving until one-record batches,
// which are sent alone and then fail: the producer never loops, and every
// callback runs once, in order.
TEST(ProducerSplitTest, RefusalsEndWithEachRecordRefusedAlone) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.compression_type = record::Compression::kLz4;
  config.batch_size = 1 << 20;
  config.linger = absl::Seconds(30);
  config.retries = 0;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  cluster.FailProduce("t", 0, v1::MESSAGE_TOO_LARGE, 1000);
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<absl::Status> errors;
  for (int i = 0; i < 8; ++i) {
    (*producer)->Send(Rec("t", std::string(100, static_cast<char>('a' + i))),
                      [&, i](const absl::StatusOr<RecordMetadata>& md) {
                        absl::MutexLock l(&mu);
                        order.push_back(i);
                        errors.push_back(md.status());
                      });
  }
  (*producer)->Flush();
  absl::MutexLock l(&mu);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (const absl::Status& e : errors) EXPECT_EQ(ErrorCodeOf(e), v1::MESSAGE_TOO_LARGE) << e;
  EXPECT_TRUE(cluster.Records("t", 0).empty());
  // 8 records -> pieces of at most half -> one record each -> each alone.
  EXPECT_GE(cluster.produce_requests(), 8 + 2);
  EXPECT_LE(cluster.produce_requests(), 8 + 4);
}

// One batch of one record refused alone fails at once, as before.
TEST(ProducerSplitTest, AOneRecordBatchRefusedAloneFails) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  cluster.FailProduce("t", 0, v1::MESSAGE_TOO_LARGE, 1);
  auto md = (*producer)->Send(Rec("t", "x")).get();
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(ErrorCodeOf(md.status()), v1::MESSAGE_TOO_LARGE);
  EXPECT_EQ(cluster.produce_requests(), 1);
  EXPECT_TRUE((*producer)->Send(Rec("t", "y")).get().ok());
}

// The request's batches are chosen by their estimated sizes; once sealed,
// those that no longer fit in max.request.size wait for the next request.
TEST(ProducerCompressionTest, ARequestNeverExceedsMaxRequestSizeOnceCompressed) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.compression_type = record::Compression::kZstd;
  config.batch_size = 1000;
  config.max_request_size = 1000;
  config.linger = absl::Seconds(30);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  // Teach the topic's estimate a ratio of 0.45: 110 sealed batches that
  // compress far better, each lowering it by 0.005. The last one's callback
  // holds the sender thread while the batches below are queued, so that it
  // finds them all at once.
  for (int i = 0; i < 109; ++i) {
    (*producer)->Send(Rec("t", std::string(700, 'a')), [](auto&) {});
    (*producer)->Flush();
  }
  absl::Notification entered;
  absl::Notification release;
  (*producer)->Send(Rec("t", std::string(700, 'a')), [&](auto&) {
    entered.Notify();
    release.WaitForNotification();
  });
  std::thread flusher([&] { (*producer)->Flush(); });
  entered.WaitForNotification();
  const int before = cluster.produce_requests();
  ASSERT_EQ(before, 110);
  // Three records that do not compress: a batch each, estimated at about
  // 400 bytes (so the first two go in one request by the estimate), about
  // 790 bytes each once sealed.
  std::mt19937 rng(3);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> acks;
  for (int i = 0; i < 3; ++i) {
    std::string noise(700, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    acks.push_back((*producer)->Send(Rec("t", noise)));
  }
  release.Notify();
  flusher.join();
  (*producer)->Flush();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RecordMetadata> md = acks[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, 110 + i);
  }
  EXPECT_EQ(cluster.BatchCount("t", 0), 113);
  EXPECT_EQ(cluster.produce_requests() - before, 3) << "two batches would be over 1000 bytes";
}

TEST(ProducerCompressionTest, CreateRefusesLevelsOutOfRange) {
  FakeCluster cluster(1);
  ProducerConfig config = Config(cluster);
  config.compression_type = record::Compression::kLz4;
  config.compression_lz4_level = 40;
  auto producer = Producer::Create(config);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(producer.status().message().find("out of range"), std::string::npos)
      << producer.status();
}

// --- Idempotence (enable.idempotence, on by default with acks=all) ---

struct StoredStamp {
  int64_t producer_id;
  int16_t epoch;
  int32_t base_sequence;
  int32_t records;
};

std::vector<StoredStamp> Stamps(const FakeCluster& cluster, const std::string& topic,
                                int32_t partition) {
  std::vector<StoredStamp> out;
  for (const std::string& batch : cluster.Batches(topic, partition)) {
    absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch);
    EXPECT_TRUE(h.ok()) << h.status() << ": the stamp must keep the CRC right";
    if (!h.ok()) continue;
    out.push_back({h->producer_id, h->producer_epoch, h->base_sequence, h->records_count});
  }
  return out;
}

TEST(ProducerIdempotenceTest, BatchesCarryTheProducerIdAndConsecutiveSequences) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (int i = 0; i < 20; ++i) {
    ProducerRecord r = Rec("t", std::string(300, 'a' + i % 26));
    r.partition = i % 2;
    (*producer)->Send(std::move(r), [](auto&) {});
  }
  (*producer)->Flush();
  EXPECT_EQ(cluster.init_producer_id_requests(), 1);
  for (int32_t p = 0; p < 2; ++p) {
    std::vector<StoredStamp> stamps = Stamps(cluster, "t", p);
    ASSERT_GE(stamps.size(), 3u) << "batch.size 1000 holds three 300-byte records at most";
    int32_t next = 0;
    for (const StoredStamp& s : stamps) {
      EXPECT_EQ(s.producer_id, 1000);
      EXPECT_EQ(s.epoch, 0);
      EXPECT_EQ(s.base_sequence, next) << "partition " << p << ": each partition counts alone";
      next += s.records;
    }
    EXPECT_EQ(next, 10);
  }
}

TEST(ProducerIdempotenceTest, ARetryAfterALostAnswerIsWrittenOnce) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok());
  // Appended, then answered as if the replicas were too slow: the retry
  // must be recognised, not written again.
  cluster.FailProduceAfterAppend("t", 0, v1::REQUEST_TIMED_OUT, 2);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 12; ++i) {
    futures.push_back((*producer)->Send(Rec("t", std::string(300, 'a' + i))));
  }
  (*producer)->Flush();
  for (int i = 0; i < 12; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i) << "the duplicate's answer carries the original offsets";
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "abcdefghijkl") << "each record once, in order";
  EXPECT_GE(cluster.produce_requests(), 3) << "the lost answers were retried";
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "a duplicate answer needs no new id";
}

TEST(ProducerIdempotenceTest, WithoutIdempotenceTheSameRetryWritesTwice) {
  // The fault the sequence numbers exist for, shown on the same fake.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.enable_idempotence = false;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  cluster.FailProduceAfterAppend("t", 0, v1::REQUEST_TIMED_OUT, 1);
  ASSERT_TRUE((*producer)->Send(Rec("t", "once")).get().ok());
  EXPECT_EQ(Values(cluster.Records("t", 0)), (std::vector<std::string>{"once", "once"}));
  EXPECT_EQ(cluster.init_producer_id_requests(), 0);
  for (const StoredStamp& s : Stamps(cluster, "t", 0)) EXPECT_EQ(s.producer_id, -1);
}

TEST(ProducerIdempotenceTest, AcksOneTurnsItOffUnlessAskedForExplicitly) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.acks = 1;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << "Kafka 3.2+: idempotence silently off";
  ASSERT_TRUE((*producer)->Send(Rec("t", "v")).get().ok());
  EXPECT_EQ(cluster.init_producer_id_requests(), 0);
  EXPECT_EQ(Stamps(cluster, "t", 0).at(0).producer_id, -1);

  config.enable_idempotence = true;
  auto refused = Producer::Create(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "Must set acks to all in order to use the idempotent producer. Otherwise we cannot "
            "guarantee idempotence.");
  config.acks = -1;
  config.retries = 0;
  EXPECT_FALSE(Producer::Create(config).ok());
  config.retries = 3;
  config.max_in_flight = 6;
  EXPECT_FALSE(Producer::Create(config).ok());
  config.enable_idempotence.reset();
  auto off = Producer::Create(config);
  ASSERT_TRUE(off.ok()) << "max.in.flight 6 without enable.idempotence: off, not refused";
}

TEST(ProducerIdempotenceTest, InitProducerIdIsRetriedWhileTheBrokerHasNoIds) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailInitProducerId(v1::COORDINATOR_LOAD_IN_PROGRESS, 3);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  absl::StatusOr<RecordMetadata> md = (*producer)->Send(Rec("t", "v")).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(cluster.init_producer_id_requests(), 4);
  EXPECT_EQ(Stamps(cluster, "t", 0).at(0).producer_id, 1000) << "refusals handed out no id";
}

TEST(ProducerIdempotenceTest, ABrokerThatGivesNoIdsFailsTheRecordsAtOnce) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailInitProducerId(v1::INVALID_REQUEST, 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<RecordMetadata> md = (*producer)->Send(Rec("t", "v")).get();
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.status().message().find("Cannot get a producer id"), std::string::npos)
      << md.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "not at the delivery timeout";
  EXPECT_TRUE(cluster.Records("t", 0).empty());
  // The next record tries again, and gets through.
  EXPECT_TRUE((*producer)->Send(Rec("t", "w")).get().ok());
}

TEST(ProducerIdempotenceTest, OutOfOrderSequenceStartsOverUnderANewProducerId) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "first")).get().ok());
  cluster.FailProduce("t", 0, v1::OUT_OF_ORDER_SEQUENCE_NUMBER, 1);
  absl::StatusOr<RecordMetadata> md = (*producer)->Send(Rec("t", "second")).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(md->offset, 1);
  EXPECT_EQ(cluster.init_producer_id_requests(), 2);
  std::vector<StoredStamp> stamps = Stamps(cluster, "t", 0);
  ASSERT_EQ(stamps.size(), 2u);
  EXPECT_EQ(stamps[0].producer_id, 1000);
  EXPECT_EQ(stamps[1].producer_id, 1001);
  EXPECT_EQ(stamps[1].base_sequence, 0);
  EXPECT_EQ(Values(cluster.Records("t", 0)), (std::vector<std::string>{"first", "second"}));
}

TEST(ProducerIdempotenceTest, ABatchThatTimedOutLeavesTheNextOnANewProducerId) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.delivery_timeout = absl::Milliseconds(300);
  config.request_timeout = absl::Milliseconds(100);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "a")).get().ok());
  // Written, but every answer lost until the batch expires: whether the
  // broker has it is unknown to the producer, so its sequence is too.
  cluster.FailProduceAfterAppend("t", 0, v1::REQUEST_TIMED_OUT, 1000);
  absl::StatusOr<RecordMetadata> lost = (*producer)->Send(Rec("t", "b")).get();
  ASSERT_FALSE(lost.ok());
  cluster.FailProduceAfterAppend("t", 0, v1::NONE, 0);
  absl::StatusOr<RecordMetadata> md = (*producer)->Send(Rec("t", "c")).get();
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(Values(cluster.Records("t", 0)), (std::vector<std::string>{"a", "b", "c"}))
      << "b written once however often it was re-sent";
  std::vector<StoredStamp> stamps = Stamps(cluster, "t", 0);
  ASSERT_EQ(stamps.size(), 3u);
  EXPECT_EQ(stamps[2].producer_id, 1001) << "c under a new id";
  EXPECT_EQ(stamps[2].base_sequence, 0);
}

TEST(ProducerIdempotenceTest, ANewLeaderHoldingPartOfARequestGetsEachBatchOnce) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(SmallBatchesSentOnFlush(cluster));
  ASSERT_TRUE(producer.ok());
  // The leader keeps only the first batch of the next request (a follower's
  // copy cut short before it took over) and answers NOT_LEADER: the retry
  // of the whole request mixes a duplicate with new batches.
  cluster.AppendPrefixThenFail("t", 0, 1, v1::NOT_LEADER_OR_FOLLOWER);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 9; ++i)
    futures.push_back((*producer)->Send(Rec("t", std::string(300, 'a' + i))));
  (*producer)->Flush();
  for (int i = 0; i < 9; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i);
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "abcdefghi") << "each record once";
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "no sequence was lost";
}

TEST(ProducerIdempotenceTest, ARecordRefusedOnItsFirstAttemptGivesItsSequenceBack) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(Config(cluster));
  ASSERT_TRUE(producer.ok());
  cluster.FailProduce("t", 0, v1::INVALID_RECORD, 5);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE((*producer)->Send(Rec("t", "bad")).get().ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "good")).get().ok());
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "no new id per refused record";
  std::vector<StoredStamp> stamps = Stamps(cluster, "t", 0);
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_EQ(stamps[0].base_sequence, 0) << "the refused records' sequences were given back";
}

}  // namespace
}  // namespace strata::client

namespace strata::client {
namespace {

// Waits (up to 5 s) until the cluster has handled `n` produce requests.
bool AwaitProduceRequests(const FakeCluster& cluster, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (cluster.produce_requests() < n) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// One record per batch (a 300-byte record fills a 200-byte batch), sent at
// once (linger 0): each Send makes a full batch of its own, which is more
// than a quarter of max.request.size, so it may go beside those in flight.
ProducerConfig OneRecordBatches(const FakeCluster& cluster, int max_in_flight) {
  ProducerConfig c = Config(cluster);
  c.linger = absl::ZeroDuration();
  c.batch_size = 200;
  c.max_request_size = 1000;
  c.max_in_flight = max_in_flight;
  return c;
}

TEST(ProducerPipelineTest, UpToMaxInFlightRequestsOfAPartitionGoBeforeTheFirstIsAnswered) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(OneRecordBatches(cluster, 3));
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "warm-up")).get().ok());  // the producer id, the stream
  cluster.HoldProduceAnswers(true);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 5; ++i) {
    futures.push_back((*producer)->Send(Rec("t", std::string(300, static_cast<char>('a' + i)))));
    if (i < 3) {
      ASSERT_TRUE(AwaitProduceRequests(cluster, 2 + i)) << "request " << i;
    }
  }
  // Three are appended and unanswered; the fourth waits for room.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(cluster.produce_requests(), 4);
  cluster.HoldProduceAnswers(false);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i + 1);
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "wabcde");
}

// With acks=1 the answer follows the leader's append: a request goes as a
// unary call (cheaper) unless a quarter of max.request.size is queued, or
// requests of its partition are on the stream already; then further ones
// follow on the stream before the first is answered.
TEST(ProducerPipelineTest, WithAcks1OnlyAProducerAQuarterAheadUsesTheStream) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = OneRecordBatches(cluster, 5);  // a quarter: 250 bytes
  config.acks = 1;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "w")).get().ok());
  EXPECT_EQ(cluster.produce_requests(), 1);
  EXPECT_EQ(cluster.stream_produce_requests(), 0) << "a small request goes as a unary call";
  cluster.HoldProduceAnswers(true);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 3; ++i) {
    futures.push_back((*producer)->Send(Rec("t", std::string(300, static_cast<char>('a' + i)))));
    ASSERT_TRUE(AwaitProduceRequests(cluster, 2 + i)) << "request " << i;
  }
  EXPECT_EQ(cluster.stream_produce_requests(), 3) << "three requests in flight on the stream";
  cluster.HoldProduceAnswers(false);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i + 1) << "record " << i;
  }
  // A small request that a flush sends beside one on the stream follows it
  // there.
  cluster.HoldProduceAnswers(true);
  std::future<absl::StatusOr<RecordMetadata>> d = (*producer)->Send(Rec("t", std::string(300, 'd')));
  ASSERT_TRUE(AwaitProduceRequests(cluster, 5));
  std::future<absl::StatusOr<RecordMetadata>> e = (*producer)->Send(Rec("t", "e"));
  std::thread flusher([&] { (*producer)->Flush(); });
  const bool beside = AwaitProduceRequests(cluster, 6);
  const int on_stream = cluster.stream_produce_requests();
  cluster.HoldProduceAnswers(false);
  flusher.join();
  ASSERT_TRUE(beside);
  EXPECT_EQ(on_stream, 5);
  ASSERT_TRUE(d.get().ok());
  ASSERT_TRUE(e.get().ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "x")).get().ok());
  EXPECT_EQ(cluster.stream_produce_requests(), 5) << "with nothing in flight, unary again";
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "wabcdex");
  EXPECT_EQ(cluster.last_acks(), 1);
}

TEST(ProducerPipelineTest, AFailureAmongPipelinedRequestsKeepsOrderAndWritesEachRecordOnce) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = Producer::Create(OneRecordBatches(cluster, 5));
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "w")).get().ok());
  cluster.HoldProduceAnswers(true);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  futures.push_back((*producer)->Send(Rec("t", std::string(300, 'a'))));
  ASSERT_TRUE(AwaitProduceRequests(cluster, 2));
  // The next request is refused as from a follower; the two behind it find
  // a gap in the sequence (OUT_OF_ORDER_SEQUENCE_NUMBER).
  cluster.FailProduce("t", 0, v1::NOT_LEADER_OR_FOLLOWER, 1, /*hint=*/1);
  for (int i = 1; i < 4; ++i) {
    futures.push_back((*producer)->Send(Rec("t", std::string(300, static_cast<char>('a' + i)))));
    ASSERT_TRUE(AwaitProduceRequests(cluster, 2 + i));
  }
  cluster.HoldProduceAnswers(false);
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i + 1) << "record " << i;
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "wabcd") << "in Send order, each once";
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "the sequences were kept";
}

// A batch refused as too large while the requests behind it were in flight
// is split; its pieces take its sequences again, the batches behind it
// (refused for the gap) go again with theirs, and a batch made afterwards
// must be stamped after all of them. (It once took the sequences of the
// first batch behind the split one: with as many records, the broker took
// it for that batch sent again and acknowledged it without writing it.)
TEST(ProducerPipelineTest, ABatchMadeAfterASplitIsStampedAfterTheBatchesThatKeptTheirs) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = Config(cluster);
  config.linger = absl::Seconds(30);  // only Flush sends
  config.batch_size = 200;            // two 30-byte records a batch
  config.max_request_size = 250;      // one batch a request
  config.max_in_flight = 5;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  futures.push_back((*producer)->Send(Rec("t", "w")));
  (*producer)->Flush();
  cluster.HoldProduceAnswers(true);
  cluster.FailProduce("t", 0, v1::MESSAGE_TOO_LARGE, 1);
  for (char c : std::string("abcdef")) {
    futures.push_back((*producer)->Send(Rec("t", std::string(30, c))));
  }
  std::thread flusher([&] { (*producer)->Flush(); });
  // "ab" refused as too large; "cd" and "ef", in flight beside it, find a
  // gap in the sequence.
  const bool pipelined = AwaitProduceRequests(cluster, 4);
  cluster.HoldProduceAnswers(false);
  flusher.join();
  ASSERT_TRUE(pipelined) << cluster.produce_requests() << " produce requests";
  // A batch of as many records as "cd".
  for (char c : std::string("gh")) {
    futures.push_back((*producer)->Send(Rec("t", std::string(30, c))));
  }
  (*producer)->Flush();
  for (size_t i = 0; i < futures.size(); ++i) {
    absl::StatusOr<RecordMetadata> md = futures[i].get();
    ASSERT_TRUE(md.ok()) << "record " << i << ": " << md.status();
    EXPECT_EQ(md->offset, static_cast<int64_t>(i)) << "record " << i;
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "wabcdefgh") << "in Send order, each once";
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "the sequences were kept";
}

TEST(ProducerPipelineTest, AStreamUnansweredPastTheRequestTimeoutIsRetriedOnANewOne) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = OneRecordBatches(cluster, 5);
  config.request_timeout = absl::Milliseconds(300);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Send(Rec("t", "w")).get().ok());
  cluster.HoldProduceAnswers(true);
  std::future<absl::StatusOr<RecordMetadata>> a = (*producer)->Send(Rec("t", std::string(300, 'a')));
  std::future<absl::StatusOr<RecordMetadata>> b = (*producer)->Send(Rec("t", std::string(300, 'b')));
  ASSERT_TRUE(AwaitProduceRequests(cluster, 3));
  // Past request.timeout.ms and its second the stream is cancelled and
  // both go again (the broker finds them written: duplicates).
  ASSERT_TRUE(AwaitProduceRequests(cluster, 4));
  cluster.HoldProduceAnswers(false);
  absl::StatusOr<RecordMetadata> ma = a.get();
  absl::StatusOr<RecordMetadata> mb = b.get();
  ASSERT_TRUE(ma.ok()) << ma.status();
  ASSERT_TRUE(mb.ok()) << mb.status();
  EXPECT_EQ(ma->offset, 1);
  EXPECT_EQ(mb->offset, 2);
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "wab") << "each once";
}

TEST(ProducerPipelineTest, ARequestThatBreaksItsStreamFailsAloneTheOthersAreRetried) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = Producer::Create(OneRecordBatches(cluster, 5));
  ASSERT_TRUE(producer.ok());
  ProducerRecord warm = Rec("t", "w");
  warm.partition = 1;
  ASSERT_TRUE((*producer)->Send(warm).get().ok());
  cluster.RefuseMessagesWith("HUGE");
  cluster.HoldProduceAnswers(true);
  ProducerRecord good = Rec("t", std::string(300, 'g'));
  good.partition = 1;
  std::future<absl::StatusOr<RecordMetadata>> g = (*producer)->Send(good);
  ASSERT_TRUE(AwaitProduceRequests(cluster, 2));
  // Over the broker's limit: gRPC ends the whole stream, the request in
  // flight for another partition with it.
  ProducerRecord huge = Rec("t", "HUGE" + std::string(300, 'h'));
  huge.partition = 0;
  std::future<absl::StatusOr<RecordMetadata>> h = (*producer)->Send(huge);
  cluster.HoldProduceAnswers(false);
  absl::StatusOr<RecordMetadata> mg = g.get();
  ASSERT_TRUE(mg.ok()) << mg.status();
  EXPECT_EQ(mg->offset, 1);
  absl::StatusOr<RecordMetadata> mh = h.get();
  ASSERT_FALSE(mh.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(mh.status())) << mh.status();
  EXPECT_EQ(cluster.Records("t", 1).size(), 2u) << "the retried request written once";
  EXPECT_TRUE(cluster.Records("t", 0).empty());
}

TEST(ProducerPipelineTest, ABrokerWithoutProduceStreamGetsUnaryCalls) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.ServeProduceStream(false);
  ProducerConfig config = OneRecordBatches(cluster, 5);
  config.retries = 0;  // the refused stream is not an attempt
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 4; ++i) futures.push_back((*producer)->Send(Rec("t", std::string(300, 'a' + i))));
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<RecordMetadata> md = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << md.status();
    EXPECT_EQ(md->offset, i);
  }
  EXPECT_EQ(Initials(cluster.Records("t", 0)), "abcd");
}

}  // namespace
}  // namespace strata::client
