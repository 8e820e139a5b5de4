// Produce, Fetch, ListOffsets and OffsetForLeaderEpoch through the
// dispatcher onto a real request layer: a ReplicaManager over in-memory
// logs, the purgatory and a manual clock, as tests/unit/request does. Each
// request is a Kafka frame; each answer is decoded back from its frame.
#include "broker/kafka/produce_fetch_adapter.h"

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "broker/request/handlers.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::kafka {
namespace {

namespace records = metadata::testing;

constexpr char kTopicId[] = "TTTTTTTTTTTTTTTTTTTTTT";
constexpr int32_t kCorrelationId = 77;

class ProduceFetchAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    purgatory::Purgatory::Options po;
    po.start_reaper = false;
    purgatory_ = std::make_unique<purgatory::Purgatory>(&clock_, "test", po);
    storage::LogManager::Options lo;
    lo.log_dirs = {"/logs"};
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
    replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), ro);
    // "t": two partitions led here alone.
    std::vector<internal::MetadataRecord> rs = {
        records::RegisterBroker(1, 1, false), records::Topic("t", kTopicId),
        records::Partition(kTopicId, 0, {1}, {1}, 1), records::Partition(kTopicId, 1, {1}, {1}, 1)};
    auto image = metadata::MetadataImage::Empty("cluster")->Apply(records::Batch(rs), 1);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;
    replicas_->OnMetadata(image_);
    request::HandlerOptions ho;
    ho.replicas = replicas_.get();
    ho.purgatory = purgatory_.get();
    ho.clock = &clock_;
    ho.image = [this] { return image_; };
    ho.controller_id = [] { return 1; };
    ho.consumer_fetch_memory = &consumer_memory_;
    ho.follower_fetch_memory = &follower_memory_;
    handlers_ = std::make_unique<request::RequestHandlers>(ho);
    dispatcher_ = std::make_unique<Dispatcher>(Dispatcher::Deps{.handlers = handlers_.get()});
  }

  void TearDown() override {
    purgatory_->Shutdown();
    handlers_.reset();
    replicas_.reset();
    if (logs_) {
      EXPECT_TRUE(logs_->Close().ok());
    }
  }

  // Dispatches `message` at `version`; the result once `done` has run (or
  // nullopt while the request is parked).
  template <typename M>
  std::shared_ptr<std::optional<DispatchResult>> Send(int16_t version, const M& message) {
    const std::string frame = testing::RequestFrame(version, kCorrelationId, message);
    auto out = std::make_shared<std::optional<DispatchResult>>();
    dispatcher_->Dispatch({.peer = "127.0.0.1:5", .listener = "KAFKA"}, frame,
                          [out](DispatchResult r) {
                            ASSERT_FALSE(out->has_value()) << "answered twice";
                            *out = std::move(r);
                          });
    return out;
  }

  // The response decoded from a result's frame.
  template <typename R>
  R Decoded(const DispatchResult& result, int16_t version) {
    EXPECT_FALSE(result.close) << result.reason;
    std::string_view frame(result.response);
    EXPECT_GE(frame.size(), 4u);
    Reader r(frame.substr(4));
    absl::StatusOr<int32_t> correlation =
        ReadResponseHeader(r, ResponseHeaderVersion(R::kApiKey, version));
    EXPECT_TRUE(correlation.ok());
    EXPECT_EQ(*correlation, kCorrelationId);
    absl::StatusOr<R> response = Decode<R>(version, frame.substr(4 + r.position()));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : R{};
  }

  int64_t HighWatermark(const std::string& topic, int32_t partition) {
    request::ListOffsetsRequest l;
    l.topics.push_back({.topic = topic, .partitions = {{.partition = partition, .timestamp = -1}}});
    const request::ListOffsetsPartitionResult r = handlers_->ListOffsets(l).topics[0].partitions[0];
    return r.error == ErrorCode::kNone ? r.offset : -1;
  }

  // The records of every batch in `batches`.
  static size_t CountRecords(std::string_view batches) {
    size_t n = 0;
    while (batches.size() >= 12) {
      const uint32_t length = (uint32_t{static_cast<uint8_t>(batches[8])} << 24) |
                              (uint32_t{static_cast<uint8_t>(batches[9])} << 16) |
                              (uint32_t{static_cast<uint8_t>(batches[10])} << 8) |
                              uint32_t{static_cast<uint8_t>(batches[11])};
      if (batches.size() < 12 + length) break;  // a partial batch at the end
      absl::StatusOr<std::vector<record::Record>> got =
          record::DecodeRecords(batches.substr(0, 12 + length));
      EXPECT_TRUE(got.ok()) << got.status();
      if (got.ok()) n += got->size();
      batches.remove_prefix(12 + length);
    }
    return n;
  }

  static ProduceRequest ProduceOf(const std::string& topic, int32_t partition, std::string batch,
                                  int16_t acks) {
    ProduceRequest p;
    p.acks = acks;
    p.timeout_ms = 1000;
    p.topic_data.push_back({.name = topic, .partition_data = {{partition, std::move(batch)}}});
    return p;
  }

  static FetchRequest FetchOf(const std::string& topic, int32_t partition, int64_t offset) {
    FetchRequest f;
    f.max_wait_ms = 5000;
    f.min_bytes = 1;
    f.max_bytes = 1 << 20;
    f.topics.push_back(
        {.topic = topic,
         .partitions = {
             {.partition = partition, .fetch_offset = offset, .partition_max_bytes = 1 << 20}}});
    return f;
  }

  storage::MemFileSystem fs_;
  ManualClock clock_;
  request::FetchMemory consumer_memory_{64 << 20};
  request::FetchMemory follower_memory_{64 << 20};
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  std::unique_ptr<request::RequestHandlers> handlers_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(ProduceFetchAdapterTest, ProducedBatchesAreFetchedBackAtEveryAdvertisedVersion) {
  int64_t next_offset = 0;
  for (int16_t pv = 3; pv <= 7; ++pv) {
    const std::string batch = storage::testing::MakeBatch(static_cast<int>(next_offset), 3);
    auto produced = Send(pv, ProduceOf("t", 1, batch, /*acks=*/1));
    ASSERT_TRUE(produced->has_value());
    ProduceResponse p = Decoded<ProduceResponse>(**produced, pv);
    ASSERT_EQ(p.responses.size(), 1u);
    ASSERT_EQ(p.responses[0].partition_responses.size(), 1u);
    EXPECT_EQ(p.responses[0].name, "t");
    EXPECT_EQ(p.responses[0].partition_responses[0].index, 1);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, 0);
    EXPECT_EQ(p.responses[0].partition_responses[0].base_offset, next_offset) << "v" << pv;
    next_offset += 3;
  }
  for (int16_t fv = 4; fv <= 11; ++fv) {
    auto fetched = Send(fv, FetchOf("t", 1, 3));
    ASSERT_TRUE(fetched->has_value()) << "data is there: no wait";
    FetchResponse f = Decoded<FetchResponse>(**fetched, fv);
    ASSERT_EQ(f.responses.size(), 1u);
    const FetchResponse::Partition& part = f.responses[0].partitions[0];
    EXPECT_EQ(part.error_code, 0);
    EXPECT_EQ(part.high_watermark, next_offset);
    EXPECT_EQ(part.last_stable_offset, next_offset) << "no transactions: LSO = HW";
    EXPECT_EQ(f.session_id, 0);
    ASSERT_TRUE(part.records.has_value());
    // The batches from offset 3 on, as appended.
    EXPECT_EQ(CountRecords(*part.records), static_cast<size_t>(next_offset - 3)) << "v" << fv;
  }
}

TEST_F(ProduceFetchAdapterTest, AcksAllIsAnsweredOnceTheInSyncReplicasHaveTheRecords) {
  auto produced = Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 2), /*acks=*/-1));
  ASSERT_TRUE(produced->has_value()) << "the ISR is the leader alone: at once";
  ProduceResponse p = Decoded<ProduceResponse>(**produced, 7);
  EXPECT_EQ(p.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(p.responses[0].partition_responses[0].base_offset, 0);
  EXPECT_EQ(HighWatermark("t", 0), 2);
  auto bad = Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), /*acks=*/2));
  ASSERT_TRUE(bad->has_value());
  EXPECT_EQ(Decoded<ProduceResponse>(**bad, 7).responses[0].partition_responses[0].error_code,
            static_cast<int16_t>(ErrorCode::kInvalidRequiredAcks));
}

TEST_F(ProduceFetchAdapterTest, LongPollFetchParksAndIsAnsweredByTheProduce) {
  auto fetched = Send(11, FetchOf("t", 0, 0));
  EXPECT_FALSE(fetched->has_value()) << "nothing to read: the fetch waits in the purgatory";
  auto produced = Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 2), 1));
  ASSERT_TRUE(produced->has_value());
  ASSERT_TRUE(fetched->has_value()) << "the append completed the parked fetch";
  FetchResponse f = Decoded<FetchResponse>(**fetched, 11);
  EXPECT_EQ(f.responses[0].partitions[0].high_watermark, 2);
  EXPECT_FALSE(f.responses[0].partitions[0].records->empty());
}

TEST_F(ProduceFetchAdapterTest, AcksZeroSendsNothingBackAndClosesOnlyOnFailure) {
  auto ok = Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), /*acks=*/0));
  ASSERT_TRUE(ok->has_value());
  EXPECT_FALSE((*ok)->close);
  EXPECT_TRUE((*ok)->response.empty()) << "acks=0: no response frame";
  EXPECT_EQ(HighWatermark("t", 0), 1) << "but the record is stored";

  auto failed = Send(7, ProduceOf("nope", 0, storage::testing::MakeBatch(0, 1), /*acks=*/0));
  ASSERT_TRUE(failed->has_value());
  EXPECT_TRUE((*failed)->close) << "acks=0 to an unknown topic: the connection is closed";
  EXPECT_NE((*failed)->reason.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos)
      << (*failed)->reason;
}

TEST_F(ProduceFetchAdapterTest, ProduceErrorsAreKafkasPerPartition) {
  auto unknown = Send(7, ProduceOf("nope", 0, storage::testing::MakeBatch(0, 1), 1));
  ASSERT_TRUE(unknown->has_value());
  EXPECT_EQ(Decoded<ProduceResponse>(**unknown, 7).responses[0].partition_responses[0].error_code,
            static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));

  auto garbage = Send(7, ProduceOf("t", 0, "not a record batch at all", 1));
  ASSERT_TRUE(garbage->has_value());
  EXPECT_NE(Decoded<ProduceResponse>(**garbage, 7).responses[0].partition_responses[0].error_code,
            0);
  EXPECT_EQ(HighWatermark("t", 0), 0) << "nothing was appended";
}

// The adapter does not look at TransactionalId: a transactional producer's
// batches reach the request layer like any others, and the partition log
// decides about them.
TEST_F(ProduceFetchAdapterTest, ATransactionalProduceReachesTheRequestLayer) {
  ProduceRequest plain = ProduceOf("t", 0, storage::testing::MakeBatch(0, 2), 1);
  plain.transactional_id = "tx";
  auto appended = Send(7, plain);
  ASSERT_TRUE(appended->has_value());
  const auto a = Decoded<ProduceResponse>(**appended, 7).responses[0].partition_responses[0];
  EXPECT_EQ(a.error_code, 0);
  EXPECT_EQ(a.base_offset, 0);
  EXPECT_EQ(HighWatermark("t", 0), 2);

  record::RecordBatchBuilder b;
  b.set_producer(7000, 0, 0).set_transactional(true);
  b.Append(record::Record{});
  ProduceRequest txn = ProduceOf("t", 1, b.Build(), 1);
  txn.transactional_id = "tx";
  auto answered = Send(7, txn);
  ASSERT_TRUE(answered->has_value());
  EXPECT_NE(Decoded<ProduceResponse>(**answered, 7).responses[0].partition_responses[0].error_code,
            static_cast<int16_t>(ErrorCode::kInvalidRequest))
      << "not the adapter's old refusal: the log's answer, whatever it is";

  // acks=0 is no longer closed for being transactional.
  ProduceRequest quiet = ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), 0);
  quiet.transactional_id = "tx";
  auto none = Send(7, quiet);
  ASSERT_TRUE(none->has_value());
  EXPECT_FALSE((*none)->close) << (*none)->reason;
  EXPECT_TRUE((*none)->response.empty());
  EXPECT_EQ(HighWatermark("t", 0), 3);
}

TEST_F(ProduceFetchAdapterTest, AnIdempotentProducersRetryIsAnsweredWithTheOriginalOffset) {
  record::RecordBatchBuilder b;
  b.set_producer(7000, 0, 0);
  for (int i = 0; i < 3; ++i) {
    record::Record r;
    r.value = "idem-" + std::to_string(i);
    r.timestamp = 1000;
    b.Append(r);
  }
  const std::string batch = b.Build();
  auto first = Send(7, ProduceOf("t", 0, batch, 1));
  ASSERT_TRUE(first->has_value());
  const auto a = Decoded<ProduceResponse>(**first, 7).responses[0].partition_responses[0];
  ASSERT_EQ(a.error_code, 0);
  auto retry = Send(7, ProduceOf("t", 0, batch, 1));
  ASSERT_TRUE(retry->has_value());
  const auto r = Decoded<ProduceResponse>(**retry, 7).responses[0].partition_responses[0];
  EXPECT_EQ(r.error_code, 0) << "a duplicate is a success (librdkafka counts on it)";
  EXPECT_EQ(r.base_offset, a.base_offset);
  EXPECT_EQ(HighWatermark("t", 0), 3) << "written once";

  // InitProducerId is served (v0-4); this fixture's broker has no id
  // manager, so the answer is an error, not a refused version.
  for (int16_t version : {0, 4}) {
    auto init = Send(version, InitProducerIdRequest{});
    ASSERT_TRUE(init->has_value()) << "v" << version;
    EXPECT_EQ(Decoded<InitProducerIdResponse>(**init, version).error_code,
              static_cast<int16_t>(ErrorCode::kCoordinatorNotAvailable));
  }
}

TEST_F(ProduceFetchAdapterTest, FetchSessionsAreRefusedAsKafkaDoesWhenItHasNone) {
  FetchRequest incremental = FetchOf("t", 0, 0);
  incremental.session_id = 1234;
  incremental.session_epoch = 1;
  auto a = Send(11, incremental);
  ASSERT_TRUE(a->has_value());
  FetchResponse fa = Decoded<FetchResponse>(**a, 11);
  EXPECT_EQ(fa.error_code, static_cast<int16_t>(ErrorCode::kFetchSessionIdNotFound));
  EXPECT_TRUE(fa.responses.empty());

  FetchRequest no_id = FetchOf("t", 0, 0);
  no_id.session_epoch = 3;
  auto b = Send(11, no_id);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ(Decoded<FetchResponse>(**b, 11).error_code,
            static_cast<int16_t>(ErrorCode::kFetchSessionIdNotFound));

  // Asking for a new session (epoch 0) gets a full answer and no session.
  Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), 1));
  FetchRequest initial = FetchOf("t", 0, 0);
  initial.session_epoch = 0;
  auto c = Send(11, initial);
  ASSERT_TRUE(c->has_value());
  FetchResponse fc = Decoded<FetchResponse>(**c, 11);
  EXPECT_EQ(fc.error_code, 0);
  EXPECT_EQ(fc.session_id, 0);
  ASSERT_EQ(fc.responses.size(), 1u);

  // Closing a session (epoch -1) with an id: a full, sessionless fetch.
  FetchRequest closing = FetchOf("t", 0, 0);
  closing.session_id = 1234;
  closing.session_epoch = -1;
  auto d = Send(11, closing);
  ASSERT_TRUE(d->has_value());
  FetchResponse fd = Decoded<FetchResponse>(**d, 11);
  EXPECT_EQ(fd.error_code, 0);
  EXPECT_EQ(fd.session_id, 0);
  EXPECT_EQ(fd.responses.size(), 1u);
}

TEST_F(ProduceFetchAdapterTest, ReadCommittedGetsAnEmptyAbortedListAndUncommittedNull) {
  Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), 1));
  FetchRequest f = FetchOf("t", 0, 0);
  f.isolation_level = 1;
  auto committed = Send(11, f);
  ASSERT_TRUE(committed->has_value());
  const FetchResponse::Partition pc =
      Decoded<FetchResponse>(**committed, 11).responses[0].partitions[0];
  ASSERT_TRUE(pc.aborted_transactions.has_value());
  EXPECT_TRUE(pc.aborted_transactions->empty());
  f.isolation_level = 0;
  auto uncommitted = Send(11, f);
  ASSERT_TRUE(uncommitted->has_value());
  EXPECT_FALSE(
      Decoded<FetchResponse>(**uncommitted, 11).responses[0].partitions[0].aborted_transactions);
}

TEST_F(ProduceFetchAdapterTest, ReadCommittedStopsAtTheLastStableOffsetAndListsAborts) {
  Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), 1));  // 0
  std::shared_ptr<storage::Log> log = logs_->Get(TopicPartition{"t", PartitionId(0)});
  ASSERT_NE(log, nullptr);
  auto txn = [&](int64_t pid, int64_t offset) {
    record::RecordBatchBuilder b{Offset(offset)};
    b.set_partition_leader_epoch(Epoch(0)).set_producer(pid, 0, 0).set_transactional(true);
    b.Append(record::Record{});
    ASSERT_TRUE(log->AppendAsFollower(b.Build()).ok());
  };
  txn(5, 1);
  ASSERT_TRUE(log->AppendTxnMarker(5, 0, {record::ControlType::kAbort, 3}, Epoch(0)).ok());  // 2
  txn(6, 3);                                                                                 // open
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  FetchRequest f = FetchOf("t", 0, 0);
  f.isolation_level = 1;
  auto r = Send(11, f);
  ASSERT_TRUE(r->has_value());
  const FetchResponse::Partition p = Decoded<FetchResponse>(**r, 11).responses[0].partitions[0];
  EXPECT_EQ(p.high_watermark, 4);
  EXPECT_EQ(p.last_stable_offset, 3);
  ASSERT_TRUE(p.aborted_transactions.has_value());
  EXPECT_EQ(*p.aborted_transactions, (std::vector<FetchResponse::AbortedTransaction>{{5, 1}}));
  ListOffsetsRequest lo;
  lo.replica_id = -1;
  lo.isolation_level = 1;
  lo.topics.emplace_back();
  lo.topics[0].name = "t";
  lo.topics[0].partitions.emplace_back();
  lo.topics[0].partitions[0].partition_index = 0;
  lo.topics[0].partitions[0].timestamp = -1;
  auto offsets = Send(2, lo);
  ASSERT_TRUE(offsets->has_value());
  EXPECT_EQ(Decoded<ListOffsetsResponse>(**offsets, 2).topics[0].partitions[0].offset, 3);
}

TEST_F(ProduceFetchAdapterTest, AConsumerNamingALeaderEpochIsFencedAsKafkaFencesIt) {
  Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 1), 1));
  auto epoch_of = [&](int32_t epoch) {
    FetchRequest f = FetchOf("t", 0, 0);
    f.topics[0].partitions[0].current_leader_epoch = epoch;
    auto r = Send(11, f);
    EXPECT_TRUE(r->has_value());
    return r->has_value() ? Decoded<FetchResponse>(**r, 11).responses[0].partitions[0].error_code
                          : int16_t{-99};
  };
  EXPECT_EQ(epoch_of(0), 0) << "the leader's epoch";
  EXPECT_EQ(epoch_of(-1), 0) << "unknown: not checked";
  EXPECT_EQ(epoch_of(5), static_cast<int16_t>(ErrorCode::kUnknownLeaderEpoch));
}

TEST_F(ProduceFetchAdapterTest, FetchOfAnUnknownTopicAnswersPerPartition) {
  auto r = Send(11, FetchOf("nope", 0, 0));
  ASSERT_TRUE(r->has_value());
  FetchResponse f = Decoded<FetchResponse>(**r, 11);
  ASSERT_EQ(f.responses.size(), 1u);
  EXPECT_EQ(f.responses[0].partitions[0].error_code,
            static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
}

TEST_F(ProduceFetchAdapterTest, ListOffsetsEarliestLatestAndByTime) {
  Send(7, ProduceOf("t", 0, storage::testing::MakeBatch(0, 4, /*timestamp=*/5000), 1));
  for (int16_t v = 1; v <= 3; ++v) {
    ListOffsetsRequest l;
    l.replica_id = -1;
    l.topics.push_back({.name = "t",
                        .partitions = {{.partition_index = 0, .timestamp = -1},
                                       {.partition_index = 0, .timestamp = -2}}});
    l.topics.push_back({.name = "nope", .partitions = {{.partition_index = 0, .timestamp = -1}}});
    auto r = Send(v, l);
    ASSERT_TRUE(r->has_value());
    ListOffsetsResponse got = Decoded<ListOffsetsResponse>(**r, v);
    ASSERT_EQ(got.topics.size(), 2u);
    ASSERT_EQ(got.topics[0].partitions.size(), 2u);
    EXPECT_EQ(got.topics[0].partitions[0].offset, 4) << "latest = the high watermark";
    EXPECT_EQ(got.topics[0].partitions[1].offset, 0) << "earliest";
    EXPECT_EQ(got.topics[1].partitions[0].error_code,
              static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
  }
}

TEST_F(ProduceFetchAdapterTest, OffsetForLeaderEpochNestsAnswersByTopicInRequestOrder) {
  Send(7, ProduceOf("t", 1, storage::testing::MakeBatch(0, 5), 1));
  OffsetForLeaderEpochRequest o;
  o.replica_id = -1;
  o.topics.push_back(
      {.topic = "t",
       .partitions = {{.partition = 1, .current_leader_epoch = 0, .leader_epoch = 0},
                      {.partition = 0, .current_leader_epoch = -1, .leader_epoch = 0}}});
  o.topics.push_back({.topic = "nope", .partitions = {{.partition = 0, .leader_epoch = 0}}});
  for (int16_t v = 2; v <= 4; ++v) {
    auto r = Send(v, o);
    ASSERT_TRUE(r->has_value());
    OffsetForLeaderEpochResponse got = Decoded<OffsetForLeaderEpochResponse>(**r, v);
    ASSERT_EQ(got.topics.size(), 2u);
    EXPECT_EQ(got.topics[0].topic, "t");
    ASSERT_EQ(got.topics[0].partitions.size(), 2u);
    EXPECT_EQ(got.topics[0].partitions[0].partition, 1);
    EXPECT_EQ(got.topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(got.topics[0].partitions[0].end_offset, 5) << "epoch 0 is the current one";
    EXPECT_EQ(got.topics[0].partitions[1].partition, 0);
    EXPECT_EQ(got.topics[0].partitions[1].error_code, 0) << "-1: the client knows no epoch";
    EXPECT_EQ(got.topics[1].topic, "nope");
    EXPECT_EQ(got.topics[1].partitions[0].error_code,
              static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
  }
}

TEST(ProduceFetchMapping, FirstErrorFindsAFailureAnywhere) {
  ProduceResponse r;
  r.responses.push_back({.name = "a", .partition_responses = {{.index = 0}}});
  EXPECT_FALSE(FirstError(r).has_value());
  r.responses.push_back(
      {.name = "b", .partition_responses = {{.index = 0}, {.index = 1, .error_code = 6}}});
  ASSERT_TRUE(FirstError(r).has_value());
  EXPECT_EQ(*FirstError(r), ErrorCode::kNotLeaderOrFollower);
}

TEST(ProduceFetchMapping, FetchClaimingToBeAReplicaIsStillAConsumer) {
  FetchRequest f;
  f.replica_id = 2;
  EXPECT_FALSE(ToRequestLayer(f).from_follower);
}

}  // namespace
}  // namespace strata::kafka
