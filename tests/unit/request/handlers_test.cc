// The request layer's produce and fetch handlers with no transport: a
// ReplicaManager over in-memory logs, the keyed purgatory, a manual clock.
#include "broker/request/handlers.h"

#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::request {
namespace {

namespace records = metadata::testing;

constexpr char kManyId[] = "MMMMMMMMMMMMMMMMMMMMMM";
constexpr char kReplicatedId[] = "RRRRRRRRRRRRRRRRRRRRRR";
constexpr char kStampedId[] = "SSSSSSSSSSSSSSSSSSSSSS";
constexpr char kKafkaId[] = "KKKKKKKKKKKKKKKKKKKKKK";
constexpr int kManyPartitions = 1000;

std::string Batch(int n) { return storage::testing::MakeBatch(0, n); }

class RequestHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    purgatory::Purgatory::Options po;
    po.start_reaper = false;  // deadlines move with the manual clock: ExpireDue()
    purgatory_ = std::make_unique<purgatory::Purgatory>(&clock_, "test", po);

    storage::LogManager::Options lo;
    lo.log_dirs = {"/logs"};
    // "stamped" is a LogAppendTime topic.
    lo.config_for_topic = [](const std::string& topic) {
      storage::LogConfig c;
      if (topic == "stamped") c.message_timestamp_type = record::TimestampType::kLogAppendTime;
      return c;
    };
    auto logs = storage::LogManager::Open(&fs_, &clock_, lo);
    ASSERT_TRUE(logs.ok()) << logs.status();
    logs_ = std::move(*logs);

    replication::ReplicaManagerOptions ro;
    ro.broker_id = 1;
    ro.min_insync_replicas = [](const metadata::TopicInfo&) { return 1; };
    ro.clock = &clock_;
    ro.on_partition_change = [this](const TopicPartition& tp) {
      purgatory_->CheckAndComplete(purgatory::WatchKey::Partition(tp));
    };
    ro.alter_partition = [this](replication::IsrChange change) {
      isr_changes_.push_back(std::move(change));
    };
    replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), ro);

    // "many": 1,000 partitions led here alone; "replicated": led here,
    // followed by broker 2, both in the ISR.
    std::vector<internal::MetadataRecord> rs = {
        records::RegisterBroker(1, 1, false), records::RegisterBroker(2, 1, false),
        records::Topic("many", kManyId), records::Topic("replicated", kReplicatedId),
        records::Partition(kReplicatedId, 0, {1, 2}, {1, 2}, 1)};
    for (int p = 0; p < kManyPartitions; ++p) {
      rs.push_back(records::Partition(kManyId, p, {1}, {1}, 1));
    }
    // For the admin reads: an internal topic, and a topic config override.
    rs.push_back(records::Topic("__consumer_offsets", "IIIIIIIIIIIIIIIIIIIIII"));
    rs.push_back(records::Config("replicated", "retention.ms", "5"));
    // A LogAppendTime topic led here; broker 3 with a KAFKA listener, and
    // "kafka" led by broker 3 and broker 1 (which has none).
    rs.push_back(records::Topic("stamped", kStampedId));
    rs.push_back(records::Partition(kStampedId, 0, {1}, {1}, 1));
    rs.push_back(records::RegisterBroker(3, 1, false));
    rs.back().mutable_register_broker()->add_endpoints()->CopyFrom(
        records::ListenerEndpoint("KAFKA", "localhost", 29094));
    rs.push_back(records::Topic("kafka", kKafkaId));
    rs.push_back(records::Partition(kKafkaId, 0, {3, 1}, {3, 1}, 3));
    rs.push_back(records::Partition(kKafkaId, 1, {1, 3}, {1, 3}, 1));
    auto image = metadata::MetadataImage::Empty("cluster")->Apply(records::Batch(rs), 1);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;
    replicas_->OnMetadata(image_);

    HandlerOptions ho;
    ho.replicas = replicas_.get();
    ho.purgatory = purgatory_.get();
    ho.clock = &clock_;
    ho.image = [this] { return image_; };
    ho.controller_id = [] { return 3; };
    ho.broker_log_overrides = {{"segment.bytes", "2048"}};
    ho.consumer_fetch_memory = &consumer_memory_;
    ho.follower_fetch_memory = &follower_memory_;
    ho.auto_create_topics_enable = true;
    ho.num_partitions = 4;
    ho.default_replication_factor = 2;
    ho.create_topics = [this](metadata::CreateTopicsRequest r) { created_.push_back(r); };
    MakeHandlers(ho);
  }

  void MakeHandlers(HandlerOptions ho) { handlers_ = std::make_unique<RequestHandlers>(ho); }
  HandlerOptions Options() {
    HandlerOptions ho;
    ho.replicas = replicas_.get();
    ho.purgatory = purgatory_.get();
    ho.clock = &clock_;
    ho.image = [this] { return image_; };
    ho.controller_id = [] { return 3; };
    ho.consumer_fetch_memory = &consumer_memory_;
    ho.follower_fetch_memory = &follower_memory_;
    return ho;
  }

  MetadataResponse Metadata(std::optional<std::vector<std::string>> topics, bool allow,
                            const std::string& listener = "PLAINTEXT") {
    MetadataRequest req;
    req.topics = std::move(topics);
    req.allow_auto_topic_creation = allow;
    return handlers_->Metadata(req, listener);
  }

  void TearDown() override {
    purgatory_->Shutdown();
    handlers_.reset();
    replicas_.reset();
    if (logs_) {
      EXPECT_TRUE(logs_->Close().ok());
    }
  }

  // Produces `batches` to topic-partition; the response once it is done.
  std::shared_ptr<std::optional<ProduceResponse>> Produce(const std::string& topic, int32_t p,
                                                          std::string batches, int32_t acks,
                                                          int32_t timeout_ms = 1000) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = timeout_ms;
    req.topics.push_back(ProduceTopic{topic, {ProducePartition{p, std::move(batches), {}}}});
    auto out = std::make_shared<std::optional<ProduceResponse>>();
    handlers_->Produce(std::move(req), [out](ProduceResponse r) {
      ASSERT_FALSE(out->has_value()) << "completed twice";
      *out = std::move(r);
    });
    return out;
  }

  FetchRequest ConsumerFetch(const std::string& topic, int32_t p, int64_t offset) {
    FetchRequest req;
    req.max_wait_ms = 10000;
    req.min_bytes = 1;
    req.topics.push_back(FetchTopic{topic, {FetchPartition{p, offset, 0, -1, -1}}});
    return req;
  }

  std::shared_ptr<std::optional<FetchResponse>> Fetch(FetchRequest req) {
    auto out = std::make_shared<std::optional<FetchResponse>>();
    handlers_->Fetch(std::move(req), [out](FetchResponse r) {
      ASSERT_FALSE(out->has_value()) << "completed twice";
      *out = std::move(r);
    });
    return out;
  }

  storage::MemFileSystem fs_;
  ManualClock clock_;
  FetchMemory consumer_memory_{64 << 20};
  FetchMemory follower_memory_{64 << 20};
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  std::unique_ptr<RequestHandlers> handlers_;
  // What Metadata asked the controller to create.
  std::vector<metadata::CreateTopicsRequest> created_;
  // The ISR changes the partitions led here asked the controller for.
  std::vector<replication::IsrChange> isr_changes_;
};

TEST_F(RequestHandlersTest, OneAppendCompletesOnlyTheFetchWaitingOnItsPartition) {
  std::vector<std::shared_ptr<std::optional<FetchResponse>>> fetches;
  for (int p = 0; p < kManyPartitions; ++p) fetches.push_back(Fetch(ConsumerFetch("many", p, 0)));
  for (const auto& f : fetches) ASSERT_FALSE(f->has_value()) << "nothing to read yet";
  ASSERT_EQ(purgatory_->Pending(), kManyPartitions);

  auto produced = Produce("many", 617, Batch(3), /*acks=*/1);
  ASSERT_TRUE(produced->has_value());
  ASSERT_EQ((*produced)->topics[0].partitions[0].error, ErrorCode::kNone);

  int completed = 0;
  for (const auto& f : fetches) completed += f->has_value() ? 1 : 0;
  EXPECT_EQ(completed, 1);
  ASSERT_TRUE(fetches[617]->has_value());
  const FetchPartitionResult& got = (*fetches[617])->topics[0].partitions[0];
  EXPECT_EQ(got.error, ErrorCode::kNone) << got.message;
  EXPECT_EQ(got.high_watermark, 3);
  EXPECT_FALSE(got.records.empty());
  EXPECT_EQ(purgatory_->Pending(), kManyPartitions - 1);

  // The others answer empty at their deadline.
  clock_.AdvanceMs(10000);
  EXPECT_EQ(purgatory_->ExpireDue(), kManyPartitions - 1);
  for (int p = 0; p < kManyPartitions; ++p) {
    ASSERT_TRUE(fetches[p]->has_value()) << p;
    if (p != 617) {
      EXPECT_TRUE((*fetches[p])->topics[0].partitions[0].records.empty()) << p;
    }
  }
}

TEST_F(RequestHandlersTest, AcksAllWaitsUntilTheFollowerHasTheRecords) {
  auto produced = Produce("replicated", 0, Batch(4), /*acks=*/-1);
  ASSERT_FALSE(produced->has_value()) << "acknowledged before the follower had the records";

  // The follower fetches from 0: it gets the records, but the leader does
  // not know yet that the follower has them.
  FetchRequest follower;
  follower.from_follower = true;
  follower.replica_id = 2;
  follower.max_wait_ms = 10000;
  follower.min_bytes = 1;
  follower.topics.push_back(FetchTopic{"replicated", {FetchPartition{0, 0, 0, 0, 0}}});
  auto first = Fetch(follower);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->topics[0].partitions[0].log_end_offset, 4);
  EXPECT_FALSE((*first)->topics[0].partitions[0].records.empty());
  EXPECT_FALSE(produced->has_value());

  // Its next fetch, from 4, says it has everything: the high watermark
  // reaches 4 and the produce completes.
  follower.topics[0].partitions[0].fetch_offset = 4;
  auto second = Fetch(follower);
  ASSERT_TRUE(produced->has_value());
  const ProducePartitionResult& r = (*produced)->topics[0].partitions[0];
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.message;
  EXPECT_EQ(r.base_offset, 0);
  // The follower's own fetch at the log end waits for more, and the next
  // append completes it.
  EXPECT_FALSE(second->has_value());
  ASSERT_TRUE(Produce("replicated", 0, Batch(1), /*acks=*/1)->has_value());
  ASSERT_TRUE(second->has_value());
  EXPECT_FALSE((*second)->topics[0].partitions[0].records.empty());
}

TEST_F(RequestHandlersTest, AcksAllTimesOutWhenTheFollowerNeverFetches) {
  auto produced = Produce("replicated", 0, Batch(2), /*acks=*/-1, /*timeout_ms=*/500);
  clock_.AdvanceMs(499);
  purgatory_->ExpireDue();
  ASSERT_FALSE(produced->has_value());
  clock_.AdvanceMs(1);
  purgatory_->ExpireDue();
  ASSERT_TRUE(produced->has_value());
  EXPECT_EQ((*produced)->topics[0].partitions[0].error, ErrorCode::kRequestTimedOut);
  EXPECT_NE((*produced)->topics[0].partitions[0].message.find("replicated-0"), std::string::npos);
}

// DeleteRecords answers once every in-sync replica moved its log start
// (reported in its fetches), or with REQUEST_TIMED_OUT at the deadline;
// bad offsets, unknown and repeated partitions are refused at once.
TEST_F(RequestHandlersTest, DeleteRecordsWaitsForTheInSyncFollowersLogStart) {
  ASSERT_TRUE(Produce("many", 0, Batch(5), /*acks=*/1)->has_value());
  FetchRequest follower;
  follower.from_follower = true;
  follower.replica_id = 2;
  follower.max_wait_ms = 0;
  follower.topics.push_back(FetchTopic{"replicated", {FetchPartition{0, 0, 0, 0, 0}}});
  auto produced = Produce("replicated", 0, Batch(6), /*acks=*/-1);
  follower.topics[0].partitions[0].fetch_offset = 6;
  Fetch(follower);
  ASSERT_TRUE(produced->has_value());

  auto Delete = [&](std::vector<DeleteRecordsTopic> topics, int32_t timeout_ms = 1000) {
    auto out = std::make_shared<std::optional<DeleteRecordsResponse>>();
    handlers_->DeleteRecords(DeleteRecordsRequest{std::move(topics), timeout_ms},
                             [out](DeleteRecordsResponse r) {
                               ASSERT_FALSE(out->has_value()) << "completed twice";
                               *out = std::move(r);
                             });
    return out;
  };
  // Led here alone: at once. Refusals too, each named.
  auto done = Delete(
      {DeleteRecordsTopic{"many", {{0, 3}, {1, 9}, {0, 4}}}, DeleteRecordsTopic{"nope", {{0, 1}}}});
  ASSERT_TRUE(done->has_value());
  const auto& many = (*done)->topics[0].partitions;
  EXPECT_EQ(many[0].error, ErrorCode::kNone) << many[0].message;
  EXPECT_EQ(many[0].low_watermark, 3);
  EXPECT_EQ(many[1].error, ErrorCode::kOffsetOutOfRange) << "partition 1 is empty";
  EXPECT_EQ(many[2].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ((*done)->topics[1].partitions[0].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(logs_->Get(TopicPartition{"many", PartitionId(0)})->log_start_offset(), Offset(3));
  EXPECT_NE(many[1].message.find("larger than the high watermark 0"), std::string::npos)
      << many[1].message;

  // Internal topics, and logs that only compact, are not trimmed (Kafka's
  // INVALID_TOPIC_EXCEPTION and POLICY_VIOLATION).
  done = Delete({DeleteRecordsTopic{"__consumer_offsets", {{0, 1}}}});
  ASSERT_TRUE(done->has_value());
  EXPECT_EQ((*done)->topics[0].partitions[0].error, ErrorCode::kInvalidTopicException);
  auto compacted = logs_->Get(TopicPartition{"many", PartitionId(0)});
  storage::LogConfig config = compacted->config();
  config.cleanup_policy = storage::CleanupPolicy::kCompact;
  compacted->UpdateConfig(config);
  done = Delete({DeleteRecordsTopic{"many", {{0, 4}}}});
  ASSERT_TRUE(done->has_value());
  EXPECT_EQ((*done)->topics[0].partitions[0].error, ErrorCode::kPolicyViolation);
  EXPECT_EQ(compacted->log_start_offset(), Offset(3));

  // With a follower in the ISR: parked until its fetch says it moved too.
  auto waiting = Delete({DeleteRecordsTopic{"replicated", {{0, -1}}}});
  EXPECT_FALSE(waiting->has_value());
  Fetch(follower);  // still reports log start 0
  EXPECT_FALSE(waiting->has_value());
  follower.topics[0].partitions[0].log_start_offset = 6;
  Fetch(follower);
  ASSERT_TRUE(waiting->has_value());
  EXPECT_EQ((*waiting)->topics[0].partitions[0].error, ErrorCode::kNone);
  EXPECT_EQ((*waiting)->topics[0].partitions[0].low_watermark, 6);

  // A follower that never follows: timed out at the deadline.
  ASSERT_TRUE(Produce("replicated", 0, Batch(2), /*acks=*/1)->has_value());
  follower.topics[0].partitions[0].fetch_offset = 8;
  Fetch(follower);
  auto stuck = Delete({DeleteRecordsTopic{"replicated", {{0, 8}}}}, 500);
  clock_.AdvanceMs(499);
  purgatory_->ExpireDue();
  EXPECT_FALSE(stuck->has_value());
  clock_.AdvanceMs(1);
  purgatory_->ExpireDue();
  ASSERT_TRUE(stuck->has_value());
  EXPECT_EQ((*stuck)->topics[0].partitions[0].error, ErrorCode::kRequestTimedOut);
  EXPECT_EQ((*stuck)->topics[0].partitions[0].low_watermark, 6);
}

// A parked follower fetch answers at its deadline with its first read
// when nothing changed; when a partition changed with nothing to send
// (here the leader's log start moved), it reads again, and the follower
// learns the new log start from this answer rather than the next one's.
TEST_F(RequestHandlersTest, AParkedFetchWhosePartitionChangedReadsAgainAtItsDeadline) {
  ASSERT_TRUE(Produce("replicated", 0, Batch(6), /*acks=*/1)->has_value());
  FetchRequest follower;
  follower.from_follower = true;
  follower.replica_id = 2;
  follower.max_wait_ms = 0;
  follower.topics.push_back(FetchTopic{"replicated", {FetchPartition{0, 6, 0, 0, 0}}});
  ASSERT_TRUE(Fetch(follower)->has_value());  // caught up: the high watermark is 6

  follower.max_wait_ms = 500;
  auto quiet = Fetch(follower);
  ASSERT_FALSE(quiet->has_value());
  clock_.AdvanceMs(500);
  purgatory_->ExpireDue();
  ASSERT_TRUE(quiet->has_value());
  EXPECT_TRUE((*quiet)->topics[0].partitions[0].records.empty());
  EXPECT_EQ((*quiet)->topics[0].partitions[0].high_watermark, 6);
  EXPECT_EQ((*quiet)->topics[0].partitions[0].log_start_offset, 0);

  auto parked = Fetch(follower);
  ASSERT_FALSE(parked->has_value());
  handlers_->DeleteRecords(DeleteRecordsRequest{{DeleteRecordsTopic{"replicated", {{0, 3}}}}, 1000},
                           [](DeleteRecordsResponse) {});
  EXPECT_FALSE(parked->has_value()) << "no records to send: still parked";
  clock_.AdvanceMs(500);
  purgatory_->ExpireDue();
  ASSERT_TRUE(parked->has_value());
  EXPECT_EQ((*parked)->topics[0].partitions[0].error, ErrorCode::kNone);
  EXPECT_EQ((*parked)->topics[0].partitions[0].log_start_offset, 3)
      << "the log start that moved while the fetch was parked";
}

// --- Follower fetch sessions (fetch_sessions.h) ---

constexpr char kPairId[] = "PPPPPPPPPPPPPPPPPPPPPP";
constexpr char kDuoId[] = "DDDDDDDDDDDDDDDDDDDDDD";

// "pair": two partitions led here and followed by broker 2; "duo": one
// more, so that a session spans two topics.
class FetchSessionTest : public RequestHandlersTest {
 protected:
  void SetUp() override {
    RequestHandlersTest::SetUp();
    auto image = image_->Apply(
        records::Batch(
            {records::Topic("pair", kPairId), records::Partition(kPairId, 0, {1, 2}, {1, 2}, 1),
             records::Partition(kPairId, 1, {1, 2}, {1, 2}, 1), records::Topic("duo", kDuoId),
             records::Partition(kDuoId, 0, {1, 2}, {1, 2}, 1)}),
        image_->offset() + 2);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;
    replicas_->OnMetadata(image_);
  }

  // Broker 2's fetch of "pair" in session `id` (0: one that opens a session)
  // naming `named` (partition, fetch offset).
  static FetchRequest SessionFetch(int32_t id, int32_t epoch,
                                   std::vector<std::pair<int32_t, int64_t>> named,
                                   int32_t max_wait_ms, std::vector<int32_t> forgotten = {}) {
    FetchRequest r;
    r.from_follower = true;
    r.replica_id = 2;
    r.max_wait_ms = max_wait_ms;
    r.min_bytes = 1;
    r.session.open = id == 0;
    r.session.id = id;
    r.session.epoch = epoch;
    for (int32_t p : forgotten) r.session.forgotten.push_back(ForgottenPartition{"pair", p});
    if (!named.empty()) r.topics.push_back(FetchTopic{"pair", {}});
    for (auto [p, offset] : named) {
      r.topics[0].partitions.push_back(FetchPartition{p, offset, 0, 0, 0});
    }
    return r;
  }

  // The partitions of "pair" an answer carries, by number.
  static std::map<int32_t, FetchPartitionResult> Answered(const FetchResponse& r) {
    std::map<int32_t, FetchPartitionResult> out;
    for (const FetchTopicResult& t : r.topics) {
      EXPECT_EQ(t.topic, "pair");
      for (const FetchPartitionResult& p : t.partitions) out[p.partition] = p;
    }
    return out;
  }
};

TEST_F(FetchSessionTest, ASessionAnswersWhatIsNewAndWaitsOnEveryPartition) {
  ASSERT_TRUE(Produce("pair", 0, Batch(4), /*acks=*/1)->has_value());
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_NE(id, 0) << "a session was opened";
  std::map<int32_t, FetchPartitionResult> answered = Answered(**open);
  ASSERT_EQ(answered.size(), 2u) << "the open is a full fetch";
  EXPECT_FALSE(answered[0].records.empty());
  EXPECT_TRUE(answered[1].records.empty());

  // The follower has pair-0 to 4 and names it alone; the high watermark
  // moves, and pair-1 (nothing new) is left out.
  auto one = Fetch(SessionFetch(id, 1, {{0, 4}}, 0));
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->session_id, id);
  answered = Answered(**one);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].high_watermark, 4);
  EXPECT_TRUE(answered[0].records.empty());

  // Nothing named, nothing new: it waits, and its deadline answers nothing.
  auto idle = Fetch(SessionFetch(id, 2, {}, 500));
  EXPECT_FALSE(idle->has_value());
  clock_.AdvanceMs(500);
  purgatory_->ExpireDue();
  ASSERT_TRUE(idle->has_value());
  EXPECT_EQ((*idle)->error, ErrorCode::kNone) << (*idle)->message;
  EXPECT_TRUE((*idle)->topics.empty()) << "an idle session fetch answers no partition";

  // It waits on pair-1 too, unnamed since the open: records there complete
  // it, from the offset the session holds.
  auto waiting = Fetch(SessionFetch(id, 3, {}, 10000));
  EXPECT_FALSE(waiting->has_value());
  auto produced = Produce("pair", 1, Batch(2), /*acks=*/-1);
  ASSERT_TRUE(waiting->has_value());
  answered = Answered(**waiting);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_FALSE(answered[1].records.empty());
  EXPECT_FALSE(produced->has_value()) << "the follower has not said it has them";

  // Its next fetch names pair-1 at 2: acks=all completes; pair-0's position
  // is still the one it named at epoch 1.
  auto four = Fetch(SessionFetch(id, 4, {{1, 2}}, 0));
  ASSERT_TRUE(produced->has_value());
  EXPECT_EQ((*produced)->topics[0].partitions[0].error, ErrorCode::kNone);
  ASSERT_TRUE(four->has_value());
  answered = Answered(**four);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[1].high_watermark, 2);

  // Records on pair-0 come from offset 4, where the session has the
  // follower.
  ASSERT_TRUE(Produce("pair", 0, Batch(1), /*acks=*/1)->has_value());
  auto five = Fetch(SessionFetch(id, 5, {}, 0));
  ASSERT_TRUE(five->has_value());
  answered = Answered(**five);
  ASSERT_EQ(answered.size(), 1u);
  ASSERT_FALSE(answered[0].records.empty());
  absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(answered[0].records);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->base_offset, Offset(4));

  // A partition named is answered, even with nothing new (pair-1): a
  // follower that dropped an answer hears it again by asking. (pair-0, at
  // its end now, has a new high watermark.)
  auto six = Fetch(SessionFetch(id, 6, {{0, 5}, {1, 2}}, 0));
  ASSERT_TRUE(six->has_value());
  answered = Answered(**six);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0].high_watermark, 5);
  EXPECT_EQ(answered[1].high_watermark, 2);
  EXPECT_TRUE(answered[1].records.empty());
}

TEST_F(FetchSessionTest, AnIdleSessionIsReadInFullOftenEnoughToKeepItsFollowerInTheIsr) {
  ASSERT_TRUE(Produce("pair", 0, Batch(3), /*acks=*/1)->has_value());
  auto open = Fetch(SessionFetch(0, 0, {{0, 3}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_NE(id, 0);
  // The open moved the high watermark (a change); this read finds the
  // follower at the end of both, with nothing to tell after it.
  ASSERT_TRUE(Fetch(SessionFetch(id, 1, {}, 0))->has_value());

  // 90 s of a caught-up follower's fetches, 500 ms each, on the default
  // replica.lag.time.max.ms (30 s): an idle fetch is parked under the
  // session's one key, a read one under each of its partitions.
  int idle = 0;
  int32_t epoch = 2;
  for (int i = 0; i < 180; ++i) {
    const int watched = purgatory_->Watched();
    auto fetch = Fetch(SessionFetch(id, epoch++, {}, 500));
    ASSERT_FALSE(fetch->has_value()) << "fetch " << i;
    const int listed = purgatory_->Watched() - watched;
    ASSERT_TRUE(listed == 1 || listed == 2) << listed;
    if (listed == 1) ++idle;
    clock_.AdvanceMs(500);
    purgatory_->ExpireDue();
    ASSERT_TRUE(fetch->has_value());
    EXPECT_TRUE((*fetch)->topics.empty()) << "fetch " << i;
    replicas_->MaybeShrinkIsr();
  }
  // (The other topics' followers never fetch: they are shrunk.)
  for (const replication::IsrChange& change : isr_changes_) {
    EXPECT_NE(change.tp.topic, "pair")
        << "a caught-up follower fell out of the ISR: " << change.tp.ToString();
  }
  // Read in full once its last read is about a quarter of the lag time
  // old (5 s): every ninth fetch, counting the 500 ms it may wait.
  EXPECT_GE(idle, 155);
  EXPECT_LE(idle, 165);
}

TEST_F(FetchSessionTest, AnyChangeToItsPartitionsWakesAnIdleFetch) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  // The open told the leader the follower's log starts (a change): this
  // read finds nothing more to tell.
  ASSERT_TRUE(Fetch(SessionFetch(id, 1, {}, 0))->has_value());
  auto idle_fetch = [&](int32_t epoch) {
    const int watched = purgatory_->Watched();
    auto fetch = Fetch(SessionFetch(id, epoch, {}, 4000));
    EXPECT_EQ(purgatory_->Watched() - watched, 1) << "epoch " << epoch << " is not idle";
    EXPECT_FALSE(fetch->has_value());
    return fetch;
  };

  // Records on pair-1 wake it; it is read as a full fetch.
  auto first = idle_fetch(2);
  ASSERT_TRUE(Produce("pair", 1, Batch(2), /*acks=*/1)->has_value());
  ASSERT_TRUE(first->has_value());
  std::map<int32_t, FetchPartitionResult> answered = Answered(**first);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_FALSE(answered[1].records.empty());

  // The follower has them; its high watermark moves; the next read finds
  // nothing to tell.
  ASSERT_TRUE(Fetch(SessionFetch(id, 3, {{1, 2}}, 0))->has_value());
  ASSERT_TRUE(Fetch(SessionFetch(id, 4, {}, 0))->has_value());

  // A log start moved on pair-1 (no records to send): it waits out its
  // time, then tells it.
  auto second = idle_fetch(5);
  ASSERT_EQ(replicas_->DeleteRecords("pair", 1, 1).error, ErrorCode::kNone);
  EXPECT_FALSE(second->has_value());
  clock_.AdvanceMs(4000);
  purgatory_->ExpireDue();
  ASSERT_TRUE(second->has_value());
  answered = Answered(**second);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[1].log_start_offset, 1);

  // Forgotten, pair-1 no longer wakes it; pair-0 still does.
  ASSERT_TRUE(Fetch(SessionFetch(id, 6, {}, 0, /*forgotten=*/{1}))->has_value());
  auto third = idle_fetch(7);
  ASSERT_TRUE(Produce("pair", 1, Batch(1), /*acks=*/1)->has_value());
  EXPECT_FALSE(third->has_value()) << "pair-1 left the session";
  ASSERT_TRUE(Produce("pair", 0, Batch(1), /*acks=*/1)->has_value());
  ASSERT_TRUE(third->has_value());
  answered = Answered(**third);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_FALSE(answered[0].records.empty());
}

TEST_F(FetchSessionTest, AFetchIsIdleOnlyAfterARecentQuietReadWithNothingNamedOrChangedSince) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_TRUE(Fetch(SessionFetch(id, 1, {}, 0))->has_value());
  // Parked under the session's key alone (idle) or under both partitions.
  auto parks_idle = [&](FetchRequest request) {
    const int32_t wait_ms = request.max_wait_ms;
    const int watched = purgatory_->Watched();
    auto fetch = Fetch(std::move(request));
    EXPECT_FALSE(fetch->has_value());
    const bool idle = purgatory_->Watched() - watched == 1;
    clock_.AdvanceMs(wait_ms);
    purgatory_->ExpireDue();
    EXPECT_TRUE(fetch->has_value());
    return idle;
  };
  EXPECT_TRUE(parks_idle(SessionFetch(id, 2, {}, 1000)));

  // Records that came with no fetch in flight: the next one answers them
  // at once.
  ASSERT_TRUE(Produce("pair", 1, Batch(2), /*acks=*/1)->has_value());
  auto after_records = Fetch(SessionFetch(id, 3, {}, 4000));
  ASSERT_TRUE(after_records->has_value()) << "read, not idle";
  EXPECT_FALSE(Answered(**after_records)[1].records.empty());
  // A follower that did not take them names nothing: it is sent them again.
  auto again = Fetch(SessionFetch(id, 4, {}, 4000));
  ASSERT_TRUE(again->has_value()) << "read, not idle";
  EXPECT_FALSE(Answered(**again)[1].records.empty());

  // Named (the follower has them) with time to wait: read, and the high
  // watermark it moves is a change, so the fetch after it reads too.
  EXPECT_FALSE(parks_idle(SessionFetch(id, 5, {{1, 2}}, 1000)));
  EXPECT_FALSE(parks_idle(SessionFetch(id, 6, {}, 1000)));
  EXPECT_TRUE(parks_idle(SessionFetch(id, 7, {}, 1000)));

  // The last read was at epoch 6, 2 s ago. A fetch that would end 2.5 s,
  // then 4.5 s, after it is idle; the next, 4.5 s after it with a 1 s
  // wait, would end past the 5 s refresh: it is read.
  EXPECT_TRUE(parks_idle(SessionFetch(id, 8, {}, 500)));
  EXPECT_TRUE(parks_idle(SessionFetch(id, 9, {}, 2000)));
  EXPECT_FALSE(parks_idle(SessionFetch(id, 10, {}, 1000)));
  EXPECT_TRUE(parks_idle(SessionFetch(id, 11, {}, 1000)));

  // A partition named, even where the session has it already, is read
  // and answered.
  auto named = Fetch(SessionFetch(id, 12, {{0, 0}}, 1000));
  clock_.AdvanceMs(1000);
  purgatory_->ExpireDue();
  ASSERT_TRUE(named->has_value());
  EXPECT_EQ(Answered(**named).size(), 1u);
}

TEST_F(FetchSessionTest, APartitionAddedToASessionWakesItsIdleFetches) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_TRUE(Fetch(SessionFetch(id, 1, {{1, 0}}, 0))->has_value());
  ASSERT_TRUE(Fetch(SessionFetch(id, 2, {}, 0))->has_value());
  const int watched = purgatory_->Watched();
  auto idle = Fetch(SessionFetch(id, 3, {}, 4000));
  ASSERT_EQ(purgatory_->Watched() - watched, 1) << "not idle";
  ASSERT_TRUE(Produce("pair", 1, Batch(1), /*acks=*/1)->has_value());
  ASSERT_TRUE(idle->has_value()) << "pair-1 joined the session after it opened";
  std::map<int32_t, FetchPartitionResult> answered = Answered(**idle);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_FALSE(answered[1].records.empty());
}

TEST_F(FetchSessionTest, AFetchOutOfStepWithItsSessionIsRefusedAndReadsNothing) {
  ASSERT_TRUE(Produce("pair", 0, Batch(2), /*acks=*/1)->has_value());
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_NE(id, 0);

  auto wrong_epoch = Fetch(SessionFetch(id, 5, {{0, 2}}, 0));
  ASSERT_TRUE(wrong_epoch->has_value());
  EXPECT_EQ((*wrong_epoch)->error, ErrorCode::kInvalidFetchSessionEpoch);
  EXPECT_NE((*wrong_epoch)->message.find("expects epoch 1"), std::string::npos)
      << (*wrong_epoch)->message;
  EXPECT_TRUE((*wrong_epoch)->topics.empty());

  const int32_t other = id == std::numeric_limits<int32_t>::max() ? 1 : id + 1;
  auto unknown = Fetch(SessionFetch(other, 1, {}, 0));
  ASSERT_TRUE(unknown->has_value());
  EXPECT_EQ((*unknown)->error, ErrorCode::kFetchSessionIdNotFound) << (*unknown)->message;

  FetchRequest stolen = SessionFetch(id, 1, {{0, 2}}, 0);
  stolen.replica_id = 3;
  auto not_its_own = Fetch(stolen);
  ASSERT_TRUE(not_its_own->has_value());
  EXPECT_EQ((*not_its_own)->error, ErrorCode::kFetchSessionIdNotFound);

  // None of them recorded broker 2 at offset 2: the high watermark is 0.
  FetchRequest consumer = ConsumerFetch("pair", 0, 0);
  consumer.max_wait_ms = 0;
  auto read = Fetch(consumer);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->topics[0].partitions[0].high_watermark, 0);

  // The session is still there, at the epoch it expects.
  auto right = Fetch(SessionFetch(id, 1, {{0, 2}}, 0));
  ASSERT_TRUE(right->has_value());
  EXPECT_EQ((*right)->error, ErrorCode::kNone) << (*right)->message;
  EXPECT_EQ(Answered(**right)[0].high_watermark, 2);
}

TEST_F(FetchSessionTest, AForgottenPartitionNoLongerWakesTheSession) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  auto parked = Fetch(SessionFetch(id, 1, {}, 10000, /*forgotten=*/{1}));
  EXPECT_FALSE(parked->has_value());
  ASSERT_TRUE(Produce("pair", 1, Batch(2), /*acks=*/1)->has_value());
  EXPECT_FALSE(parked->has_value()) << "pair-1 left the session";
  ASSERT_TRUE(Produce("pair", 0, Batch(1), /*acks=*/1)->has_value());
  ASSERT_TRUE(parked->has_value());
  std::map<int32_t, FetchPartitionResult> answered = Answered(**parked);
  EXPECT_EQ(answered.size(), 1u);
  EXPECT_TRUE(answered.contains(0));
}

TEST_F(FetchSessionTest, SessionsAreEvictedPerReplicaAndWhenIdle) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i <= FetchSessions::kPerReplica; ++i) {
    auto open = Fetch(SessionFetch(0, 0, {{0, 0}}, 0));
    ASSERT_TRUE(open->has_value());
    ids.push_back((*open)->session_id);
    clock_.AdvanceMs(1);
  }
  auto first = Fetch(SessionFetch(ids[0], 1, {}, 0));
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->error, ErrorCode::kFetchSessionIdNotFound)
      << "a replica's least recently used session makes room for its new one";
  auto last = Fetch(SessionFetch(ids.back(), 1, {}, 0));
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->error, ErrorCode::kNone) << (*last)->message;

  clock_.AdvanceMs(FetchSessions::kIdleMs);
  FetchRequest other = SessionFetch(0, 0, {{0, 0}}, 0);
  other.replica_id = 3;
  ASSERT_TRUE(Fetch(other)->has_value());
  auto idle = Fetch(SessionFetch(ids.back(), 2, {}, 0));
  ASSERT_TRUE(idle->has_value());
  EXPECT_EQ((*idle)->error, ErrorCode::kFetchSessionIdNotFound)
      << "unused for " << FetchSessions::kIdleMs << " ms: dropped at the next open";
}

// The session's partitions are read from a place that moves each fetch
// (here starting inside "pair", so that it comes in two runs around
// "duo"): each partition's answer is still its own.
TEST_F(FetchSessionTest, EachPartitionGetsItsOwnAnswerWhereverTheReadStarts) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  FetchRequest add_duo = SessionFetch(id, 1, {}, 0);
  add_duo.topics.push_back(FetchTopic{"duo", {FetchPartition{0, 0, 0, 0, 0}}});
  ASSERT_TRUE(Fetch(add_duo)->has_value());
  ASSERT_TRUE(Produce("pair", 0, Batch(3), /*acks=*/1)->has_value());
  ASSERT_TRUE(Produce("pair", 1, Batch(5), /*acks=*/1)->has_value());
  ASSERT_TRUE(Produce("duo", 0, Batch(7), /*acks=*/1)->has_value());
  for (int32_t epoch = 2; epoch <= 4; ++epoch) {
    auto read = Fetch(SessionFetch(id, epoch, {}, 0));
    ASSERT_TRUE(read->has_value());
    std::map<std::pair<std::string, int32_t>, int> counts;
    for (const FetchTopicResult& t : (*read)->topics) {
      for (const FetchPartitionResult& p : t.partitions) {
        const int records = static_cast<int>(storage::testing::Values(p.records).size());
        EXPECT_TRUE(counts.emplace(std::make_pair(t.topic, p.partition), records).second)
            << t.topic << "-" << p.partition << " answered twice";
      }
    }
    const std::map<std::pair<std::string, int32_t>, int> want = {
        {{"pair", 0}, 3}, {{"pair", 1}, 5}, {{"duo", 0}, 7}};
    EXPECT_EQ(counts, want) << "epoch " << epoch;
  }
}

// A parked fetch that completes after its follower began the next one (it
// gave up on it) leaves the session as the newer fetch left it: what it
// says went to no one.
TEST_F(FetchSessionTest, AnAnswerOvertakenByTheNextFetchChangesNothing) {
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  const int32_t id = (*open)->session_id;
  ASSERT_TRUE(Produce("pair", 0, Batch(3), /*acks=*/1)->has_value());
  ASSERT_TRUE(Fetch(SessionFetch(id, 1, {{0, 3}}, 0))->has_value());  // the HW is 3

  auto abandoned = Fetch(SessionFetch(id, 2, {}, 500));
  ASSERT_FALSE(abandoned->has_value());
  auto next = Fetch(SessionFetch(id, 3, {}, 0));
  ASSERT_TRUE(next->has_value());
  EXPECT_TRUE((*next)->topics.empty());
  // The log start moves; the abandoned fetch, woken, reads again at its
  // deadline and answers it.
  handlers_->DeleteRecords(DeleteRecordsRequest{{DeleteRecordsTopic{"pair", {{0, 2}}}}, 1000},
                           [](DeleteRecordsResponse) {});
  clock_.AdvanceMs(500);
  purgatory_->ExpireDue();
  ASSERT_TRUE(abandoned->has_value());
  EXPECT_EQ(Answered(**abandoned)[0].log_start_offset, 2);

  auto after = Fetch(SessionFetch(id, 4, {}, 0));
  ASSERT_TRUE(after->has_value());
  std::map<int32_t, FetchPartitionResult> answered = Answered(**after);
  ASSERT_TRUE(answered.contains(0)) << "the follower never saw the new log start";
  EXPECT_EQ(answered[0].log_start_offset, 2);
}

// A full cache evicts no other replica's session for an open: that fetch
// is answered whole, with no session; a replica opening again gives up its
// own.
TEST_F(FetchSessionTest, AFullCacheAnswersAnOpenWithoutASession) {
  HandlerOptions ho = Options();
  ho.max_fetch_sessions = 2;
  MakeHandlers(ho);
  auto first = Fetch(SessionFetch(0, 0, {{0, 0}}, 0));
  FetchRequest second_open = SessionFetch(0, 0, {{0, 0}}, 0);
  second_open.replica_id = 3;
  auto second = Fetch(second_open);
  FetchRequest third_open = SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0);
  third_open.replica_id = 4;
  auto third = Fetch(third_open);
  ASSERT_TRUE(first->has_value() && second->has_value() && third->has_value());
  EXPECT_NE((*first)->session_id, 0);
  EXPECT_NE((*second)->session_id, 0);
  EXPECT_EQ((*third)->session_id, 0) << "no room";
  EXPECT_EQ((*third)->topics[0].partitions.size(), 2u) << "answered whole";
  auto still = Fetch(SessionFetch((*first)->session_id, 1, {}, 0));
  ASSERT_TRUE(still->has_value());
  EXPECT_EQ((*still)->error, ErrorCode::kNone) << (*still)->message;

  // Broker 2 opens again (it gave up on its session): its own old one makes
  // room, and broker 3's stays.
  auto again = Fetch(SessionFetch(0, 0, {{0, 0}}, 0));
  ASSERT_TRUE(again->has_value());
  EXPECT_NE((*again)->session_id, 0);
  auto old_one = Fetch(SessionFetch((*first)->session_id, 2, {}, 0));
  ASSERT_TRUE(old_one->has_value());
  EXPECT_EQ((*old_one)->error, ErrorCode::kFetchSessionIdNotFound);
  FetchRequest third_replicas = SessionFetch((*second)->session_id, 1, {}, 0);
  third_replicas.replica_id = 3;
  auto kept = Fetch(third_replicas);
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->error, ErrorCode::kNone) << (*kept)->message;
}

TEST_F(FetchSessionTest, ALeaderWithNoSessionSlotsAnswersAnOpenAsAFullFetch) {
  HandlerOptions ho = Options();
  ho.max_fetch_sessions = 0;
  MakeHandlers(ho);
  auto open = Fetch(SessionFetch(0, 0, {{0, 0}, {1, 0}}, 0));
  ASSERT_TRUE(open->has_value());
  EXPECT_EQ((*open)->session_id, 0);
  EXPECT_EQ(Answered(**open).size(), 2u);
}

TEST_F(RequestHandlersTest, ErrorsAnswerAtOnce) {
  // An unknown topic.
  auto unknown = Fetch(ConsumerFetch("nope", 0, 0));
  ASSERT_TRUE(unknown->has_value());
  EXPECT_EQ((*unknown)->topics[0].partitions[0].error, ErrorCode::kUnknownTopicOrPartition);
  // A partition named twice.
  FetchRequest twice = ConsumerFetch("many", 1, 0);
  twice.topics[0].partitions.push_back(FetchPartition{1, 0, 0, -1, -1});
  auto dup = Fetch(twice);
  ASSERT_TRUE(dup->has_value());
  EXPECT_EQ((*dup)->topics[0].partitions[1].error, ErrorCode::kInvalidRequest);
  // A produce with no records.
  auto empty = Produce("many", 0, "", 1);
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ((*empty)->topics[0].partitions[0].error, ErrorCode::kInvalidRecord);
  // acks=all to a partition this broker does not have is refused, not parked.
  auto nowhere = Produce("nope", 0, Batch(1), -1);
  ASSERT_TRUE(nowhere->has_value());
  EXPECT_EQ((*nowhere)->topics[0].partitions[0].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(purgatory_->Pending(), 0);
}

TEST_F(RequestHandlersTest, PlainRecordsAreStampedAndDecodedRecordsComeBack) {
  ProduceRequest req;
  req.acks = 1;
  ProducePartition part;
  part.partition = 5;
  for (int i = 0; i < 3; ++i) {
    record::Record r;
    r.key = "k" + std::to_string(i);
    r.value = "v" + std::to_string(i);
    r.headers.push_back({"h", std::string("x")});
    r.timestamp = i == 1 ? 42 : 0;  // 0: the broker stamps it
    part.plain_records.push_back(r);
  }
  req.topics.push_back(ProduceTopic{"many", {part}});
  std::optional<ProduceResponse> produced;
  handlers_->Produce(std::move(req), [&](ProduceResponse r) { produced = std::move(r); });
  ASSERT_TRUE(produced.has_value());
  ASSERT_EQ(produced->topics[0].partitions[0].error, ErrorCode::kNone);

  FetchRequest fetch = ConsumerFetch("many", 5, 1);
  fetch.decode_records = true;
  auto got = Fetch(fetch);
  ASSERT_TRUE(got->has_value());
  const std::vector<record::Record>& decoded = (*got)->topics[0].partitions[0].decoded_records;
  ASSERT_EQ(decoded.size(), 2u) << "records before the fetch offset are left out";
  EXPECT_EQ(decoded[0].offset.value(), 1);
  EXPECT_EQ(decoded[0].key, "k1");
  EXPECT_EQ(decoded[0].timestamp, 42);
  EXPECT_EQ(decoded[1].value, "v2");
  EXPECT_EQ(decoded[1].timestamp, clock_.NowMs());
  ASSERT_EQ(decoded[1].headers.size(), 1u);
  EXPECT_EQ(decoded[1].headers[0].value, "x");
}

TEST_F(RequestHandlersTest, AResponseHoldsItsFetchMemoryUntilDropped) {
  ASSERT_TRUE(Produce("many", 9, Batch(100), 1)->has_value());
  auto got = Fetch(ConsumerFetch("many", 9, 0));
  ASSERT_TRUE(got->has_value());
  const size_t bytes = (*got)->topics[0].partitions[0].records.size();
  ASSERT_GT(bytes, 0u);
  EXPECT_EQ(consumer_memory_.used(), bytes);
  EXPECT_EQ(follower_memory_.used(), 0u);
  got->reset();
  EXPECT_EQ(consumer_memory_.used(), 0u);
}

TEST_F(RequestHandlersTest, MetadataListsBrokersOnTheListenerAndNamesUnknownTopics) {
  MetadataRequest req;
  req.topics = {{"replicated", "nope"}};
  MetadataResponse r = handlers_->Metadata(req, "PLAINTEXT");
  EXPECT_EQ(r.cluster_id, "cluster");
  EXPECT_EQ(r.controller_id, 3);
  ASSERT_EQ(r.brokers.size(), 3u);
  EXPECT_EQ(r.brokers[0].port, 9092);
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].partitions[0].replicas, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(r.topics[1].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_TRUE(handlers_->Metadata(req, "NOWHERE").brokers.empty());
  EXPECT_TRUE(created_.empty()) << "not allowed by the request";
}

TEST_F(RequestHandlersTest, MetadataTellsEveryTopicFromNone) {
  // nullopt: every topic, internal ones too.
  MetadataResponse all = Metadata(std::nullopt, /*allow=*/true);
  EXPECT_EQ(all.topics.size(), 5u);
  EXPECT_EQ(all.brokers.size(), 3u);
  // Empty: no topic, but the brokers and the cluster.
  MetadataResponse none = Metadata(std::vector<std::string>{}, /*allow=*/true);
  EXPECT_TRUE(none.topics.empty());
  EXPECT_EQ(none.brokers.size(), 3u);
  EXPECT_EQ(none.cluster_id, "cluster");
  EXPECT_TRUE(created_.empty());
}

TEST_F(RequestHandlersTest, MetadataCreatesAnUnknownTopicWhenBothSidesAllowIt) {
  MetadataResponse r = Metadata(std::vector<std::string>{"fresh", "replicated", "fresh"}, true);
  ASSERT_EQ(r.topics.size(), 2u) << "a name named twice is answered once";
  EXPECT_EQ(r.topics[0].name, "fresh");
  EXPECT_EQ(r.topics[0].error, ErrorCode::kLeaderNotAvailable) << "clients retry until led";
  EXPECT_EQ(r.topics[1].error, ErrorCode::kNone);
  ASSERT_EQ(created_.size(), 1u);
  ASSERT_EQ(created_[0].topics.size(), 1u) << "once, however often it is named";
  EXPECT_EQ(created_[0].topics[0].name, "fresh");
  EXPECT_EQ(created_[0].topics[0].num_partitions, 4) << "num.partitions";
  EXPECT_EQ(created_[0].topics[0].replication_factor, 2) << "default.replication.factor";
  EXPECT_FALSE(created_[0].internal);
  EXPECT_FALSE(created_[0].validate_only);

  // Asked again within a second: not sent again, still being created.
  clock_.AdvanceMs(500);
  EXPECT_EQ(Metadata(std::vector<std::string>{"fresh"}, true).topics[0].error,
            ErrorCode::kLeaderNotAvailable);
  EXPECT_EQ(created_.size(), 1u);
  // After a second it is asked for again (the first ask may have failed).
  clock_.AdvanceMs(600);
  Metadata(std::vector<std::string>{"fresh", "other"}, true);
  ASSERT_EQ(created_.size(), 2u);
  EXPECT_EQ(created_[1].topics.size(), 2u);
}

TEST_F(RequestHandlersTest, MetadataRefusesInvalidAndInternalNamesAndCreatesOnlyWhenAllowed) {
  MetadataResponse r = Metadata(
      std::vector<std::string>{"bad name!", "..", std::string(250, 'x'), "__transaction_state"},
      true);
  ASSERT_EQ(r.topics.size(), 4u);
  EXPECT_EQ(r.topics[0].error, ErrorCode::kInvalidTopicException);
  EXPECT_NE(r.topics[0].message.find("illegal"), std::string::npos) << r.topics[0].message;
  EXPECT_EQ(r.topics[1].error, ErrorCode::kInvalidTopicException);
  EXPECT_EQ(r.topics[2].error, ErrorCode::kInvalidTopicException);
  // Internal topics are created by whoever needs them (FindCoordinator).
  EXPECT_EQ(r.topics[3].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_TRUE(r.topics[3].internal);
  EXPECT_TRUE(created_.empty());
  // Two underscores alone do not make a topic internal (Kafka's rule): a
  // user's "__heartbeat" is created as any other.
  r = Metadata(std::vector<std::string>{"__heartbeat"}, true);
  EXPECT_EQ(r.topics[0].error, ErrorCode::kLeaderNotAvailable);
  EXPECT_FALSE(r.topics[0].internal);
  ASSERT_EQ(created_.size(), 1u);
  created_.clear();

  // The request does not allow it (gRPC's default, Kafka's v4+ flag).
  EXPECT_EQ(Metadata(std::vector<std::string>{"fresh"}, false).topics[0].error,
            ErrorCode::kUnknownTopicOrPartition);
  EXPECT_TRUE(created_.empty());

  // The broker does not (auto.create.topics.enable=false).
  HandlerOptions ho = Options();
  ho.auto_create_topics_enable = false;
  ho.create_topics = [this](metadata::CreateTopicsRequest r) { created_.push_back(r); };
  MakeHandlers(ho);
  EXPECT_EQ(Metadata(std::vector<std::string>{"fresh"}, true).topics[0].error,
            ErrorCode::kUnknownTopicOrPartition);
  EXPECT_TRUE(created_.empty());
}

TEST_F(RequestHandlersTest, MetadataAnswersARepeatedNameOnce) {
  // 1,000 partitions named 1,000 times would be a million partition
  // entries: Kafka answers each topic once, in the order first named.
  std::vector<std::string> names(1000, "many");
  names.push_back("kafka");
  names.push_back("many");
  MetadataResponse r = Metadata(names, false);
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].name, "many");
  EXPECT_EQ(r.topics[0].partitions.size(), static_cast<size_t>(kManyPartitions));
  EXPECT_EQ(r.topics[1].name, "kafka");
}

TEST_F(RequestHandlersTest, ControllerIdIsAlwaysABrokerTheAnswerLists) {
  // The Raft leader (1) has no KAFKA endpoint: clients of that listener
  // are told of the lowest broker they can reach (3), which forwards.
  HandlerOptions ho = Options();
  ho.controller_id = [] { return 1; };
  MakeHandlers(ho);
  EXPECT_EQ(Metadata(std::vector<std::string>{}, false, "KAFKA").controller_id, 3);
  EXPECT_EQ(handlers_->DescribeCluster({"KAFKA"}).controller_id, 3);
  EXPECT_EQ(Metadata(std::vector<std::string>{}, false).controller_id, 1) << "reachable there";
  // No leader (an election): still a broker, never -1 while one is up.
  ho.controller_id = [] { return -1; };
  MakeHandlers(ho);
  EXPECT_EQ(Metadata(std::vector<std::string>{}, false).controller_id, 1);
  EXPECT_EQ(Metadata(std::vector<std::string>{}, false, "NOWHERE").controller_id, -1)
      << "no broker on the listener: none";
}

TEST_F(RequestHandlersTest, MetadataOnTheKafkaListenerGivesItsEndpointsAndLeadersWithout) {
  MetadataResponse r = Metadata(std::vector<std::string>{"kafka"}, false, "KAFKA");
  ASSERT_EQ(r.brokers.size(), 1u) << "only broker 3 has a KAFKA endpoint";
  EXPECT_EQ(r.brokers[0].id, 3);
  EXPECT_EQ(r.brokers[0].port, 29094);
  ASSERT_EQ(r.topics.size(), 1u);
  ASSERT_EQ(r.topics[0].partitions.size(), 2u);
  const PartitionMetadata& reachable = r.topics[0].partitions[0];
  EXPECT_EQ(reachable.error, ErrorCode::kNone);
  EXPECT_EQ(reachable.leader, 3);
  EXPECT_FALSE(reachable.leader_listener_missing);
  // Led by broker 1, which clients of this listener cannot reach.
  const PartitionMetadata& unreachable = r.topics[0].partitions[1];
  EXPECT_EQ(unreachable.error, ErrorCode::kLeaderNotAvailable);
  EXPECT_TRUE(unreachable.leader_listener_missing);
  EXPECT_EQ(unreachable.leader, -1);
  EXPECT_EQ(unreachable.replicas, (std::vector<int32_t>{1, 3}));

  // On PLAINTEXT every broker and leader is reachable.
  r = Metadata(std::vector<std::string>{"kafka"}, false);
  EXPECT_EQ(r.brokers.size(), 3u);
  EXPECT_EQ(r.topics[0].partitions[1].leader, 1);
  EXPECT_EQ(r.topics[0].partitions[1].error, ErrorCode::kNone);

  // FindCoordinator and DescribeCluster take the listener the same way.
  DescribeClusterResponse cluster = handlers_->DescribeCluster({"KAFKA"});
  ASSERT_EQ(cluster.brokers.size(), 3u);
  EXPECT_TRUE(cluster.brokers[0].endpoints.empty());
  ASSERT_EQ(cluster.brokers[2].endpoints.size(), 1u);
  EXPECT_EQ(cluster.brokers[2].endpoints[0], (std::pair<std::string, int32_t>{"localhost", 29094}));
}

TEST_F(RequestHandlersTest, ProduceGivesTheAppendTimeOfALogAppendTimeTopic) {
  clock_.AdvanceMs(1234);
  const int64_t now = clock_.NowMs();
  auto stamped = Produce("stamped", 0, Batch(3), /*acks=*/1);
  ASSERT_TRUE(stamped->has_value());
  const ProducePartitionResult& s = (*stamped)->topics[0].partitions[0];
  ASSERT_EQ(s.error, ErrorCode::kNone) << s.message;
  EXPECT_EQ(s.log_append_time_ms, now);
  auto created = Produce("many", 0, Batch(3), /*acks=*/1);
  ASSERT_TRUE(created->has_value());
  ASSERT_EQ((*created)->topics[0].partitions[0].error, ErrorCode::kNone);
  EXPECT_EQ((*created)->topics[0].partitions[0].log_append_time_ms, -1) << "CreateTime";
}

TEST_F(RequestHandlersTest, InitProducerIdHandsOutIdsFromTheBrokersBlock) {
  auto init = [this](std::optional<std::string> transactional_id) {
    InitProducerIdRequest request;
    request.transactional_id = std::move(transactional_id);
    std::optional<InitProducerIdResponse> answer;
    handlers_->InitProducerId(request, [&](InitProducerIdResponse r) { answer = std::move(r); });
    EXPECT_TRUE(answer.has_value()) << "answered at once";
    return answer.value_or(InitProducerIdResponse{});
  };
  EXPECT_EQ(init(std::nullopt).error, ErrorCode::kCoordinatorNotAvailable)
      << "a broker without a producer id manager hands out nothing";

  absl::Notification fetched;
  txn::ProducerIdManagerOptions mo;
  mo.broker_id = 1;
  mo.broker_epoch = [] { return int64_t{7}; };
  mo.fetch_block = [&](int32_t, int64_t) -> absl::StatusOr<txn::ProducerIdBlock> {
    if (!fetched.HasBeenNotified()) fetched.Notify();
    return txn::ProducerIdBlock{5000, 1000};
  };
  txn::ProducerIdManager ids(mo);
  HandlerOptions ho = Options();
  ho.producer_id_manager = &ids;
  MakeHandlers(ho);
  InitProducerIdResponse first = init(std::nullopt);
  EXPECT_EQ(first.error, ErrorCode::kCoordinatorLoadInProgress) << "no block yet: clients retry";
  ASSERT_TRUE(fetched.WaitForNotificationWithTimeout(absl::Seconds(10)));
  InitProducerIdResponse got;
  for (int i = 0; i < 100 && (got = init(std::nullopt)).error != ErrorCode::kNone; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(got.error, ErrorCode::kNone) << got.message;
  EXPECT_EQ(got.producer_id, 5000);
  EXPECT_EQ(got.producer_epoch, 0);
  // Kafka's: a null transactional id is an idempotent producer, an empty
  // one a mistake.
  InitProducerIdResponse empty = init(std::string());
  EXPECT_EQ(empty.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(empty.producer_id, -1);
  EXPECT_EQ(init(std::nullopt).producer_id, 5001);
  // Without a transaction coordinator a transactional id is refused, named.
  InitProducerIdResponse transactional = init(std::string("tx-1"));
  EXPECT_EQ(transactional.error, ErrorCode::kInvalidRequest);
  EXPECT_NE(transactional.message.find("tx-1"), std::string::npos) << transactional.message;
  ids.Stop();
}

TEST_F(RequestHandlersTest, ListOffsetsAndEpochEnds) {
  ASSERT_TRUE(Produce("many", 2, Batch(5), 1)->has_value());
  ListOffsetsRequest req;
  req.topics.push_back(ListOffsetsTopic{"many", {{2, -1}, {2, -2}}});
  ListOffsetsResponse r = handlers_->ListOffsets(req);
  EXPECT_EQ(r.topics[0].partitions[0].offset, 5);
  EXPECT_EQ(r.topics[0].partitions[1].offset, 0);
  std::vector<EpochEndResult> ends = handlers_->OffsetForLeaderEpoch({{"many", 2, 0, 0}});
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].error, ErrorCode::kNone) << ends[0].message;
  EXPECT_EQ(ends[0].end_offset, 5);
}

TEST_F(RequestHandlersTest, AdminReadsComeFromTheImage) {
  EXPECT_EQ(handlers_->ListTopics(false),
            (std::vector<std::string>{"kafka", "many", "replicated", "stamped"}));
  EXPECT_EQ(handlers_->ListTopics(true).size(), 5u);

  DescribeTopicsRequest req;
  req.names = {"replicated", "nope"};
  std::vector<TopicDescription> d = handlers_->DescribeTopics(req);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].error, ErrorCode::kNone);
  ASSERT_EQ(d[0].partitions.size(), 1u);
  EXPECT_EQ(d[0].partitions[0].isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(d[0].partitions[0].state, metadata::PartitionState::kOnline);
  ASSERT_EQ(d[0].partitions[0].replica_states.size(), 2u);
  std::map<std::string, ConfigEntry> configs;
  for (const ConfigEntry& c : d[0].configs) configs[c.name] = c;
  EXPECT_EQ(configs.at("retention.ms").value, "5");  // the topic's own
  EXPECT_FALSE(configs.at("retention.ms").is_default);
  EXPECT_EQ(configs.at("segment.bytes").value, "2048");  // the broker's
  EXPECT_FALSE(configs.at("segment.bytes").is_default);
  EXPECT_TRUE(configs.at("cleanup.policy").is_default);
  EXPECT_EQ(d[1].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_NE(d[1].message.find("nope"), std::string::npos);
  EXPECT_EQ(handlers_->DescribeTopics({}).size(), 4u) << "internal topics only when asked for";

  DescribeClusterResponse cluster = handlers_->DescribeCluster({"CONTROLLER", "PLAINTEXT"});
  EXPECT_EQ(cluster.controller_id, 3);
  ASSERT_EQ(cluster.brokers.size(), 3u);
  ASSERT_EQ(cluster.brokers[0].endpoints.size(), 2u);
  EXPECT_EQ(cluster.brokers[0].endpoints[0].second, 19092) << "in the order asked";
  EXPECT_EQ(cluster.brokers[0].endpoints[1].second, 9092);
}

// DescribeLogDirs: the one log dir, each replica's log size from the
// replica manager, the follower's lag behind the leader's high watermark
// its last fetch answer gave, and Kafka's filter (null: all, listed: those).
TEST_F(RequestHandlersTest, DescribeLogDirsGivesEachReplicasSizeAndAFollowersLag) {
  auto produced = Produce("replicated", 0, Batch(5), 1);
  ASSERT_TRUE(produced->has_value());
  ASSERT_EQ((*produced)->topics[0].partitions[0].error, ErrorCode::kNone);
  // "kafka"-0 follows broker 3: it truncates (an empty log), then takes 3
  // records from a leader whose high watermark is 10.
  const TopicPartition followed{"kafka", PartitionId(0)};
  replication::EpochEndResult none;
  none.log_end_offset = 0;
  ASSERT_TRUE(replicas_->ApplyEpochEnd(followed, 0, -1, none).ok());
  ASSERT_TRUE(replicas_->AppendFetched(followed, 0, 0, Batch(3), 10).ok());

  DescribeLogDirsResponse all = handlers_->DescribeLogDirs({});
  EXPECT_EQ(all.error, ErrorCode::kNone);
  ASSERT_EQ(all.results.size(), 1u);
  const LogDirDescription& dir = all.results[0];
  EXPECT_EQ(dir.log_dir, "/logs");
  EXPECT_EQ(dir.error, ErrorCode::kNone);
  EXPECT_EQ(dir.total_bytes, -1);
  std::map<std::string, std::vector<LogDirPartition>> by_topic;
  std::vector<std::string> order;
  for (const LogDirTopic& t : dir.topics) {
    order.push_back(t.topic);
    by_topic[t.topic] = t.partitions;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"kafka", "many", "replicated", "stamped"}))
      << "by topic";
  ASSERT_EQ(by_topic["many"].size(), static_cast<size_t>(kManyPartitions));
  EXPECT_EQ(by_topic["many"][1].partition, 1) << "by partition";
  EXPECT_EQ(by_topic["many"][0].size_bytes, 0);
  const std::shared_ptr<storage::Log> leader_log =
      logs_->Get(TopicPartition{"replicated", PartitionId(0)});
  ASSERT_EQ(by_topic["replicated"].size(), 1u);
  EXPECT_GT(by_topic["replicated"][0].size_bytes, 0);
  EXPECT_EQ(by_topic["replicated"][0].size_bytes, leader_log->size_bytes());
  EXPECT_EQ(by_topic["replicated"][0].offset_lag, 0) << "a leader lags nothing";
  ASSERT_EQ(by_topic["kafka"].size(), 2u);
  EXPECT_EQ(by_topic["kafka"][0].size_bytes, logs_->Get(followed)->size_bytes());
  EXPECT_GT(by_topic["kafka"][0].size_bytes, 0);
  EXPECT_EQ(by_topic["kafka"][0].offset_lag, 7) << "the leader's HW 10 minus its log end 3";
  EXPECT_FALSE(by_topic["kafka"][0].is_future);

  DescribeLogDirsRequest some;
  some.topics = std::vector<DescribeLogDirsTopic>{{"kafka", {0}}, {"replicated", {0, 7}}};
  DescribeLogDirsResponse filtered = handlers_->DescribeLogDirs(some);
  ASSERT_EQ(filtered.results.size(), 1u);
  ASSERT_EQ(filtered.results[0].topics.size(), 2u);
  EXPECT_EQ(filtered.results[0].topics[0].topic, "kafka");
  EXPECT_EQ(filtered.results[0].topics[0].partitions.size(), 1u);
  EXPECT_EQ(filtered.results[0].topics[1].topic, "replicated");
  EXPECT_EQ(filtered.results[0].topics[1].partitions.size(), 1u) << "no partition 7 here";

  some.topics->clear();
  DescribeLogDirsResponse nothing = handlers_->DescribeLogDirs(some);
  ASSERT_EQ(nothing.results.size(), 1u) << "the dir, with none of its partitions";
  EXPECT_TRUE(nothing.results[0].topics.empty());
}

}  // namespace
}  // namespace strata::request
