// The transaction APIs between Kafka's structs and the transaction
// coordinator: the version rules of txn_adapter.h (and InitProducerId's in
// produce_fetch_adapter.h), then whole requests through the Dispatcher onto
// a real TransactionCoordinator over an in-memory __transaction_state, a
// scripted marker sender and a manual scheduler, as
// tests/unit/txn/transaction_coordinator_test.cc builds it; TxnOffsetCommit
// onto a real GroupCoordinator over an in-memory __consumer_offsets (as
// group_adapter_test); DescribeProducers onto a real request layer over
// in-memory logs (as produce_fetch_adapter_test).
#include "broker/kafka/txn_adapter.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/produce_fetch_adapter.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "broker/purgatory/purgatory.h"
#include "broker/request/handlers.h"
#include "broker/storage/mem_file_system.h"
#include "broker/txn/transaction_coordinator.h"
#include "client/common/clock.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"
#include "tests/unit/metadata/records.h"

namespace strata::kafka {
namespace {

constexpr int16_t kNone = 0;
constexpr int16_t kInvalidProducerEpoch = static_cast<int16_t>(ErrorCode::kInvalidProducerEpoch);
constexpr int16_t kProducerFenced = static_cast<int16_t>(ErrorCode::kProducerFenced);
constexpr int16_t kConcurrentTransactions =
    static_cast<int16_t>(ErrorCode::kConcurrentTransactions);
constexpr int16_t kTransactionalIdNotFound =
    static_cast<int16_t>(ErrorCode::kTransactionalIdNotFound);
constexpr int16_t kCoordinatorLoadInProgress =
    static_cast<int16_t>(ErrorCode::kCoordinatorLoadInProgress);
constexpr int16_t kCoordinatorNotAvailable =
    static_cast<int16_t>(ErrorCode::kCoordinatorNotAvailable);
constexpr int16_t kIllegalGeneration = static_cast<int16_t>(ErrorCode::kIllegalGeneration);
constexpr int16_t kUnknownMemberId = static_cast<int16_t>(ErrorCode::kUnknownMemberId);
constexpr int16_t kUnknownTopicOrPartition =
    static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
constexpr int16_t kNotLeaderOrFollower = static_cast<int16_t>(ErrorCode::kNotLeaderOrFollower);

// Every response must encode at every version of its range: a field set in a
// version that cannot carry it would close the connection instead.
template <typename M>
void ExpectEncodes(const M& message, int16_t version) {
  std::string out;
  absl::Status s = Encode(version, message, &out);
  EXPECT_TRUE(s.ok()) << "v" << version << ": " << s;
}

// ---- The conversions ----

AddPartitionsToTxnRequest AddPartitions() {
  AddPartitionsToTxnRequest r;
  r.v3_and_below_transactional_id = "orders-tx";
  r.v3_and_below_producer_id = 4000;
  r.v3_and_below_producer_epoch = 3;
  r.v3_and_below_topics = {{"b", {1, 0}}, {"a", {2}}};
  return r;
}

TEST(TxnAdapterTest, AddPartitionsToTxnGoesFlatAndKnowsProducerFencedFromV2) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    txn::AddPartitionsToTxnRequest out = ToRequestLayer(AddPartitions(), v);
    EXPECT_EQ(out.transactional_id, "orders-tx");
    EXPECT_EQ(out.producer_id, 4000);
    EXPECT_EQ(out.producer_epoch, 3);
    EXPECT_EQ(out.partitions, (std::vector<txn::TxnTopicPartition>{{"b", 1}, {"b", 0}, {"a", 2}}));
    EXPECT_EQ(out.producer_fenced_supported, v >= 2);
  }
}

TEST(TxnAdapterTest, AddPartitionsToTxnAnswerIsNestedByTopic) {
  txn::AddPartitionsToTxnResponse r;
  r.results = {{{"a", 2}, ErrorCode::kNone},
               {{"b", 0}, ErrorCode::kUnknownTopicOrPartition},
               {{"b", 1}, ErrorCode::kOperationNotAttempted}};
  r.message = "1 of the partitions do not exist";
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    AddPartitionsToTxnResponse out = FromRequestLayer(r, v);
    EXPECT_EQ(out.throttle_time_ms, 0);
    ASSERT_EQ(out.results_by_topic_v3_and_below.size(), 2u);
    EXPECT_EQ(out.results_by_topic_v3_and_below[0].name, "a");
    EXPECT_EQ(out.results_by_topic_v3_and_below[0].results_by_partition,
              (std::vector<AddPartitionsToTxnResponse::PartitionResult>{{2, kNone}}));
    EXPECT_EQ(out.results_by_topic_v3_and_below[1].name, "b");
    EXPECT_EQ(out.results_by_topic_v3_and_below[1].results_by_partition,
              (std::vector<AddPartitionsToTxnResponse::PartitionResult>{{0, 3}, {1, 55}}));
    ExpectEncodes(out, v);
  }
  EXPECT_TRUE(
      FromRequestLayer(txn::AddPartitionsToTxnResponse{}, 3).results_by_topic_v3_and_below.empty());
}

TEST(TxnAdapterTest, AddOffsetsToTxnNamesTheGroupAndKnowsProducerFencedFromV2) {
  AddOffsetsToTxnRequest r;
  r.transactional_id = "orders-tx";
  r.producer_id = 4000;
  r.producer_epoch = 3;
  r.group_id = "orders-app";
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    txn::AddOffsetsToTxnRequest out = ToRequestLayer(r, v);
    EXPECT_EQ(out.transactional_id, "orders-tx");
    EXPECT_EQ(out.producer_id, 4000);
    EXPECT_EQ(out.producer_epoch, 3);
    EXPECT_EQ(out.group_id, "orders-app");
    EXPECT_EQ(out.producer_fenced_supported, v >= 2);

    AddOffsetsToTxnResponse answer = AddOffsetsToTxnFromRequestLayer(
        txn::TxnResult{ErrorCode::kConcurrentTransactions, "busy"}, v);
    EXPECT_EQ(answer.error_code, kConcurrentTransactions);
    EXPECT_EQ(answer.throttle_time_ms, 0);
    ExpectEncodes(answer, v);
  }
}

TEST(TxnAdapterTest, EndTxnCommitsOrAbortsAndKnowsProducerFencedFromV2) {
  EndTxnRequest r;
  r.transactional_id = "orders-tx";
  r.producer_id = 4000;
  r.producer_epoch = 3;
  for (bool committed : {true, false}) {
    r.committed = committed;
    for (int16_t v = 0; v <= 3; ++v) {
      SCOPED_TRACE(v);
      txn::EndTxnRequest out = ToRequestLayer(r, v);
      EXPECT_EQ(out.transactional_id, "orders-tx");
      EXPECT_EQ(out.producer_id, 4000);
      EXPECT_EQ(out.producer_epoch, 3);
      EXPECT_EQ(out.committed, committed);
      EXPECT_EQ(out.producer_fenced_supported, v >= 2);
    }
  }
  for (int16_t v = 0; v <= 3; ++v) {
    EndTxnResponse answer = EndTxnFromRequestLayer(txn::TxnResult{ErrorCode::kNone, ""}, v);
    EXPECT_EQ(answer.error_code, kNone);
    answer = EndTxnFromRequestLayer(txn::TxnResult{ErrorCode::kProducerFenced, "fenced"}, v);
    EXPECT_EQ(answer.error_code, kProducerFenced);
    ExpectEncodes(answer, v);
  }
}

TEST(TxnAdapterTest, InitProducerIdKnowsProducerFencedFromV4) {
  InitProducerIdRequest r;
  r.transactional_id = "orders-tx";
  r.transaction_timeout_ms = 60000;
  r.producer_id = 4000;
  r.producer_epoch = 3;
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE(v);
    request::InitProducerIdRequest out = ToRequestLayer(r, v);
    EXPECT_EQ(out.transactional_id, std::optional<std::string>("orders-tx"))
        << "a transactional id goes through";
    EXPECT_EQ(out.transaction_timeout_ms, 60000);
    EXPECT_EQ(out.producer_id, 4000);
    EXPECT_EQ(out.producer_epoch, 3);
    EXPECT_EQ(out.producer_fenced_supported, v >= 4);
  }
  EXPECT_FALSE(ToRequestLayer(InitProducerIdRequest{}, 4).transactional_id.has_value())
      << "null: an idempotent producer";
}

TEST(TxnAdapterTest, DescribeTransactionsKeepsTheOrderAndLeavesErrorsAtKafkasDefaults) {
  DescribeTransactionsRequest r;
  r.transactional_ids = {"b", "a", "b"};
  EXPECT_EQ(ToRequestLayer(r, 0), (std::vector<std::string>{"b", "a", "b"}));

  txn::TransactionDescription ongoing;
  ongoing.transactional_id = "b";
  ongoing.state = "Ongoing";
  ongoing.producer_id = 4000;
  ongoing.producer_epoch = 3;
  ongoing.transaction_timeout_ms = 60000;
  ongoing.transaction_start_time_ms = 1'700'000'000'000;
  ongoing.partitions = {{"t", 0}, {"t", 2}, {"u", 1}};
  txn::TransactionDescription unknown;
  unknown.transactional_id = "a";
  unknown.result = {ErrorCode::kTransactionalIdNotFound, "unknown"};
  unknown.producer_id = 99;  // must not leak into the answer
  txn::TransactionDescription empty;
  empty.transactional_id = "e";
  empty.state = "Empty";
  empty.producer_id = 4001;
  empty.producer_epoch = 0;
  empty.transaction_timeout_ms = 1000;

  DescribeTransactionsResponse out = FromRequestLayer({ongoing, unknown, empty}, 0);
  ASSERT_EQ(out.transaction_states.size(), 3u);
  const DescribeTransactionsResponse::TransactionState& b = out.transaction_states[0];
  EXPECT_EQ(b.error_code, kNone);
  EXPECT_EQ(b.transactional_id, "b");
  EXPECT_EQ(b.transaction_state, "Ongoing");
  EXPECT_EQ(b.transaction_timeout_ms, 60000);
  EXPECT_EQ(b.transaction_start_time_ms, 1'700'000'000'000);
  EXPECT_EQ(b.producer_id, 4000);
  EXPECT_EQ(b.producer_epoch, 3);
  EXPECT_EQ(b.topics,
            (std::vector<DescribeTransactionsResponse::TopicData>{{"t", {0, 2}}, {"u", {1}}}));
  DescribeTransactionsResponse::TransactionState expected_a;
  expected_a.error_code = kTransactionalIdNotFound;
  expected_a.transactional_id = "a";
  EXPECT_EQ(out.transaction_states[1], expected_a);
  const DescribeTransactionsResponse::TransactionState& e = out.transaction_states[2];
  EXPECT_EQ(e.transaction_state, "Empty");
  EXPECT_EQ(e.transaction_start_time_ms, -1) << "none under way: the coordinator's -1";
  EXPECT_TRUE(e.topics.empty());
  ExpectEncodes(out, 0);
}

TEST(TxnAdapterTest, ListTransactionsCarriesFiltersAndUnknownStates) {
  ListTransactionsRequest r;
  r.state_filters = {"Ongoing", "Nonsense"};
  r.producer_id_filters = {4000, 4001};
  txn::ListTransactionsRequest out = ToRequestLayer(r, 0);
  EXPECT_EQ(out.state_filters, (std::vector<std::string>{"Ongoing", "Nonsense"}));
  EXPECT_EQ(out.producer_id_filters, (std::vector<int64_t>{4000, 4001}));

  txn::ListTransactionsResponse answer;
  answer.unknown_state_filters = {"Nonsense"};
  answer.transactions = {{"a", 4000, "Ongoing"}, {"b", 4001, "Ongoing"}};
  ListTransactionsResponse listed = FromRequestLayer(answer, 0);
  EXPECT_EQ(listed.error_code, kNone);
  EXPECT_EQ(listed.unknown_state_filters, std::vector<std::string>{"Nonsense"});
  EXPECT_EQ(listed.transaction_states, (std::vector<ListTransactionsResponse::TransactionState>{
                                           {"a", 4000, "Ongoing"}, {"b", 4001, "Ongoing"}}));
  ExpectEncodes(listed, 0);

  txn::ListTransactionsResponse loading;
  loading.result = {ErrorCode::kCoordinatorLoadInProgress, "loading"};
  EXPECT_EQ(FromRequestLayer(loading, 0).error_code, kCoordinatorLoadInProgress);
}

TxnOffsetCommitRequest TxnCommit() {
  TxnOffsetCommitRequest r;
  r.transactional_id = "orders-tx";
  r.group_id = "orders-app";
  r.producer_id = 4000;
  r.producer_epoch = 3;
  r.generation_id = 5;
  r.member_id = "m-1";
  r.group_instance_id = "i-1";
  r.topics = {{"b", {{1, 100, 7, "meta"}, {0, 50, 7, std::nullopt}}}, {"a", {{2, 9, 7, ""}}}};
  return r;
}

TEST(TxnAdapterTest, TxnOffsetCommitNamesTheConsumerFromV3AndTheLeaderEpochFromV2) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    group::TxnOffsetCommitRequest out = ToRequestLayer(TxnCommit(), v);
    EXPECT_EQ(out.transactional_id, "orders-tx");
    EXPECT_EQ(out.group_id, "orders-app");
    EXPECT_EQ(out.producer_id, 4000);
    EXPECT_EQ(out.producer_epoch, 3);
    // Before v3 there is no consumer: nothing to check.
    EXPECT_EQ(out.generation_id, v >= 3 ? 5 : -1);
    EXPECT_EQ(out.member_id, v >= 3 ? "m-1" : "");
    EXPECT_EQ(out.group_instance_id, v >= 3 ? "i-1" : "");
    ASSERT_EQ(out.offsets.size(), 3u);
    const int32_t epoch = v >= 2 ? 7 : -1;
    EXPECT_EQ(out.offsets[0].tp, (group::GroupTopicPartition{"b", 1}));
    EXPECT_EQ(out.offsets[0].offset, 100);
    EXPECT_EQ(out.offsets[0].leader_epoch, epoch);
    EXPECT_EQ(out.offsets[0].metadata, "meta");
    EXPECT_EQ(out.offsets[1].tp, (group::GroupTopicPartition{"b", 0}));
    EXPECT_EQ(out.offsets[1].offset, 50);
    EXPECT_EQ(out.offsets[1].metadata, "") << "null metadata is empty";
    EXPECT_EQ(out.offsets[2].tp, (group::GroupTopicPartition{"a", 2}));
    EXPECT_EQ(out.offsets[2].leader_epoch, epoch);
  }
  TxnOffsetCommitRequest dynamic = TxnCommit();
  dynamic.group_instance_id = std::nullopt;
  EXPECT_EQ(ToRequestLayer(dynamic, 3).group_instance_id, "") << "null: a dynamic member";
}

TEST(TxnAdapterTest, TxnOffsetCommitAnswerIsNestedByTopicAndLoadingIsNotAvailableBeforeV2) {
  group::OffsetCommitResponse r;
  r.partitions = {{{"b", 1}, {ErrorCode::kNone, ""}},
                  {{"a", 2}, {ErrorCode::kCoordinatorLoadInProgress, "loading"}},
                  {{"b", 0}, {ErrorCode::kInvalidProducerEpoch, "stale"}}};
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    TxnOffsetCommitResponse out = TxnOffsetCommitFromRequestLayer(r, v);
    EXPECT_EQ(out.throttle_time_ms, 0);
    ASSERT_EQ(out.topics.size(), 2u);
    EXPECT_EQ(out.topics[0].name, "b");
    EXPECT_EQ(out.topics[0].partitions, (std::vector<TxnOffsetCommitResponse::Partition>{
                                            {1, kNone}, {0, kInvalidProducerEpoch}}))
        << "INVALID_PRODUCER_EPOCH at every version";
    EXPECT_EQ(out.topics[1].name, "a");
    ASSERT_EQ(out.topics[1].partitions.size(), 1u);
    EXPECT_EQ(out.topics[1].partitions[0].partition_index, 2);
    EXPECT_EQ(out.topics[1].partitions[0].error_code,
              v >= 2 ? kCoordinatorLoadInProgress : kCoordinatorNotAvailable);
    ExpectEncodes(out, v);
  }
  // The KIP-447 errors pass through (only a v3 request can cause them).
  group::OffsetCommitResponse fenced;
  fenced.partitions = {{{"t", 0}, {ErrorCode::kIllegalGeneration, ""}},
                       {{"t", 1}, {ErrorCode::kUnknownMemberId, ""}},
                       {{"t", 2}, {ErrorCode::kFencedInstanceId, ""}}};
  TxnOffsetCommitResponse out = TxnOffsetCommitFromRequestLayer(fenced, 3);
  ASSERT_EQ(out.topics.size(), 1u);
  EXPECT_EQ(out.topics[0].partitions,
            (std::vector<TxnOffsetCommitResponse::Partition>{
                {0, kIllegalGeneration},
                {1, kUnknownMemberId},
                {2, static_cast<int16_t>(ErrorCode::kFencedInstanceId)}}));
  EXPECT_TRUE(TxnOffsetCommitFromRequestLayer(group::OffsetCommitResponse{}, 0).topics.empty());
}

TEST(TxnAdapterTest, DescribeProducersGoesFlatAndComesBackInTheRequestsShape) {
  DescribeProducersRequest r;
  r.topics = {{"t", {1, 0}}, {"nope", {0}}, {"t", {1}}};
  EXPECT_EQ(ToRequestLayer(r, 0), (std::vector<TopicPartition>{{"t", PartitionId(1)},
                                                               {"t", PartitionId(0)},
                                                               {"nope", PartitionId(0)},
                                                               {"t", PartitionId(1)}}));

  replication::ProducersResult one;
  one.producers = {{.producer_id = 7000,
                    .epoch = 2,
                    .last_sequence = 9,
                    .last_timestamp = 1000,
                    .coordinator_epoch = 4,
                    .current_txn_start_offset = 50},
                   {.producer_id = 7001, .epoch = 0}};
  replication::ProducersResult none;
  replication::ProducersResult unknown;
  unknown.error = ErrorCode::kUnknownTopicOrPartition;
  unknown.message = "Topic nope does not exist";
  unknown.producers = {{.producer_id = 1}};  // must not leak into the answer
  replication::ProducersResult elsewhere;
  elsewhere.error = ErrorCode::kNotLeaderOrFollower;

  DescribeProducersResponse out = FromRequestLayer(r, {one, none, unknown, elsewhere}, 0);
  EXPECT_EQ(out.throttle_time_ms, 0);
  ASSERT_EQ(out.topics.size(), 3u) << "a topic asked twice is answered twice, as Kafka";
  EXPECT_EQ(out.topics[0].name, "t");
  ASSERT_EQ(out.topics[0].partitions.size(), 2u);
  const DescribeProducersResponse::Partition& p1 = out.topics[0].partitions[0];
  EXPECT_EQ(p1.partition_index, 1);
  EXPECT_EQ(p1.error_code, kNone);
  EXPECT_EQ(p1.error_message, std::nullopt);
  EXPECT_EQ(p1.active_producers, (std::vector<DescribeProducersResponse::ProducerState>{
                                     {.producer_id = 7000,
                                      .producer_epoch = 2,
                                      .last_sequence = 9,
                                      .last_timestamp = 1000,
                                      .coordinator_epoch = 4,
                                      .current_txn_start_offset = 50},
                                     {.producer_id = 7001,
                                      .producer_epoch = 0,
                                      .last_sequence = -1,
                                      .last_timestamp = -1,
                                      .coordinator_epoch = -1,
                                      .current_txn_start_offset = -1}}));
  DescribeProducersResponse::Partition p0;
  p0.partition_index = 0;
  EXPECT_EQ(out.topics[0].partitions[1], p0) << "no producers, no error";
  EXPECT_EQ(out.topics[1].name, "nope");
  EXPECT_EQ(out.topics[1].partitions, (std::vector<DescribeProducersResponse::Partition>{
                                          {.partition_index = 0,
                                           .error_code = kUnknownTopicOrPartition,
                                           .error_message = "Topic nope does not exist",
                                           .active_producers = {}}}));
  EXPECT_EQ(out.topics[2].name, "t");
  EXPECT_EQ(out.topics[2].partitions,
            (std::vector<DescribeProducersResponse::Partition>{{.partition_index = 1,
                                                                .error_code = kNotLeaderOrFollower,
                                                                .error_message = std::nullopt,
                                                                .active_producers = {}}}))
      << "no message: null";
  ExpectEncodes(out, 0);

  DescribeProducersResponse empty = FromRequestLayer(DescribeProducersRequest{}, {}, 0);
  EXPECT_TRUE(empty.topics.empty());
}

TEST(TxnAdapterTest, ALongDescribeProducersMessageIsCutToAKafkaString) {
  DescribeProducersRequest r;
  r.topics = {{"t", {0}}};
  replication::ProducersResult failed;
  failed.error = ErrorCode::kUnknownServerError;
  failed.message = std::string(40000, 'x');
  DescribeProducersResponse out = FromRequestLayer(r, {failed}, 0);
  ASSERT_TRUE(out.topics[0].partitions[0].error_message.has_value());
  EXPECT_EQ(out.topics[0].partitions[0].error_message->size(), kMaxKafkaStringBytes);
  ExpectEncodes(out, 0);
}

// ---- Through the dispatcher onto a real coordinator ----

constexpr int32_t kCorrelationId = 91;

// __transaction_state in memory: every append is stored and acknowledged at
// once, or held until the test releases it.
class FakeTxnLog {
 public:
  using Done = txn::TransactionCoordinatorOptions::AppendDone;

  void Append(int32_t partition, std::string batch, Done done) {
    {
      absl::MutexLock l(&mu_);
      Partition& p = partitions_[partition];
      record::SetBaseOffset(batch.data(), Offset(p.next));
      absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(batch);
      CHECK(h.ok()) << h.status();
      p.next = h->next_offset().value();
      p.records += batch;
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
    }
    done(ErrorCode::kNone, "", 0);
  }

  replication::FetchResult Read(int32_t partition, int64_t /*offset*/) {
    absl::MutexLock l(&mu_);
    replication::FetchResult r;
    const Partition& p = partitions_[partition];
    r.log_start_offset = 0;
    r.log_end_offset = p.next;
    r.high_watermark = p.next;
    r.records = p.records;
    return r;
  }

  void Hold(bool hold) {
    absl::MutexLock l(&mu_);
    hold_ = hold;
  }
  int Held() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(held_.size());
  }
  // Acknowledges the oldest held append.
  void ReleaseOne() {
    Done done;
    {
      absl::MutexLock l(&mu_);
      CHECK(!held_.empty());
      done = std::move(held_.front());
      held_.pop_front();
    }
    done(ErrorCode::kNone, "", 0);
  }

 private:
  struct Partition {
    int64_t next = 0;
    std::string records;
  };
  absl::Mutex mu_;
  std::map<int32_t, Partition> partitions_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Done> held_ ABSL_GUARDED_BY(mu_);
};

// The WriteTxnMarkers sender: records each call until the test answers it.
class FakeMarkers {
 public:
  void Send(txn::MarkerRequest request, std::function<void(txn::MarkerResults)> done) {
    absl::MutexLock l(&mu_);
    calls_.push_back({std::move(request), std::move(done)});
  }
  int Calls() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(calls_.size());
  }
  txn::MarkerRequest Request(int i) {
    absl::MutexLock l(&mu_);
    return calls_.at(i).request;
  }
  // Answers call `i`: every partition written.
  void Answer(int i) {
    std::function<void(txn::MarkerResults)> done;
    txn::MarkerResults results;
    {
      absl::MutexLock l(&mu_);
      done = std::move(calls_.at(i).done);
      for (const txn::TxnTopicPartition& tp : calls_.at(i).request.partitions) {
        results.emplace_back(tp, ErrorCode::kNone);
      }
    }
    done(std::move(results));
  }

 private:
  struct Call {
    txn::MarkerRequest request;
    std::function<void(txn::MarkerResults)> done;
  };
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

// Runs scheduled tasks (loads, retries) only when told.
class FakeScheduler {
 public:
  void Schedule(std::function<void()> task) {
    absl::MutexLock l(&mu_);
    tasks_.push_back(std::move(task));
  }
  void RunAll() {
    for (int i = 0; i < 100; ++i) {
      std::function<void()> task;
      {
        absl::MutexLock l(&mu_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
};

// A dispatch's result, which may come on another thread.
class Outcome {
 public:
  std::function<void(DispatchResult)> Callback() {
    return [s = state_](DispatchResult r) {
      absl::MutexLock l(&s->mu);
      CHECK(!s->result.has_value()) << "answered twice";
      s->result = std::move(r);
    };
  }
  bool ready() const {
    absl::MutexLock l(&state_->mu);
    return state_->result.has_value();
  }
  DispatchResult get() const {
    absl::MutexLock l(&state_->mu);
    CHECK(state_->result.has_value()) << "no answer yet";
    return *state_->result;
  }
  // Waits up to 10 s for the answer.
  bool Await() const {
    absl::MutexLock l(&state_->mu);
    return state_->mu.AwaitWithTimeout(
        absl::Condition(
            +[](std::optional<DispatchResult>* r) { return r->has_value(); }, &state_->result),
        absl::Seconds(10));
  }

 private:
  struct State {
    absl::Mutex mu;
    std::optional<DispatchResult> result ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

class TxnAdapterDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    txn::TransactionCoordinatorOptions o;
    o.broker_id = 1;
    o.transaction_state_partitions = 1;  // every id on partition 0
    o.offsets_topic_partitions = 50;
    o.clock = &clock_;
    o.append = [this](int32_t p, std::string batch, FakeTxnLog::Done done) {
      log_.Append(p, std::move(batch), std::move(done));
    };
    o.read = [this](int32_t p, int64_t offset) { return log_.Read(p, offset); };
    o.generate_producer_id = [this]() -> absl::StatusOr<int64_t> { return next_producer_id_++; };
    o.send_markers = [this](txn::MarkerRequest r, std::function<void(txn::MarkerResults)> done) {
      markers_.Send(std::move(r), std::move(done));
    };
    o.schedule = [this](int64_t /*delay_ms*/, std::function<void()> task) {
      scheduler_.Schedule(std::move(task));
    };
    coordinator_ = std::make_unique<txn::TransactionCoordinator>(std::move(o));
    coordinator_->OnBecameLeader(0, 1);
    scheduler_.RunAll();
    ASSERT_TRUE(coordinator_->IsCoordinatorFor("orders-tx"));
    dispatcher_ = std::make_unique<Dispatcher>(Dispatcher::Deps{.txns = coordinator_.get()});
  }

  void TearDown() override { coordinator_->Shutdown(); }

  template <typename M>
  Outcome Send(int16_t version, const M& message) {
    Outcome out;
    dispatcher_->Dispatch({.peer = "127.0.0.1:9", .listener = "KAFKA"},
                          testing::RequestFrame(version, kCorrelationId, message), out.Callback());
    return out;
  }

  // The response decoded from a result's frame.
  template <typename R>
  R Decoded(const Outcome& outcome, int16_t version) {
    EXPECT_TRUE(outcome.ready()) << "no answer";
    if (!outcome.ready()) return R{};
    const DispatchResult result = outcome.get();
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

  struct Producer {
    int64_t id = -1;
    int16_t epoch = -1;
  };
  // InitProducerId with a transactional id, straight to the coordinator
  // (the Kafka door reaches it through RequestHandlers).
  Producer Init(const std::string& transactional_id) {
    txn::InitProducerIdRequest r;
    r.transactional_id = transactional_id;
    r.transaction_timeout_ms = 60000;
    std::optional<txn::InitProducerIdResponse> answer;
    coordinator_->InitProducerId(r, [&](txn::InitProducerIdResponse a) { answer = a; });
    EXPECT_TRUE(answer.has_value());
    EXPECT_EQ(answer->result.error, ErrorCode::kNone) << answer->result.message;
    return {answer->producer_id, answer->producer_epoch};
  }

  static AddPartitionsToTxnRequest AddOf(const std::string& id, Producer p,
                                         std::vector<AddPartitionsToTxnRequest::Topic> topics) {
    AddPartitionsToTxnRequest r;
    r.v3_and_below_transactional_id = id;
    r.v3_and_below_producer_id = p.id;
    r.v3_and_below_producer_epoch = p.epoch;
    r.v3_and_below_topics = std::move(topics);
    return r;
  }

  static EndTxnRequest EndOf(const std::string& id, Producer p, bool committed) {
    EndTxnRequest r;
    r.transactional_id = id;
    r.producer_id = p.id;
    r.producer_epoch = p.epoch;
    r.committed = committed;
    return r;
  }

  DescribeTransactionsResponse::TransactionState Describe(const std::string& id) {
    DescribeTransactionsRequest r;
    r.transactional_ids = {id};
    DescribeTransactionsResponse d = Decoded<DescribeTransactionsResponse>(Send(0, r), 0);
    EXPECT_EQ(d.transaction_states.size(), 1u);
    return d.transaction_states.empty() ? DescribeTransactionsResponse::TransactionState{}
                                        : d.transaction_states[0];
  }

  ManualClock clock_;
  FakeTxnLog log_;
  FakeMarkers markers_;
  FakeScheduler scheduler_;
  int64_t next_producer_id_ = 7000;
  std::unique_ptr<txn::TransactionCoordinator> coordinator_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(TxnAdapterDispatchTest, ATransactionCommitsAtEveryVersion) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    const std::string id = "orders-tx-" + std::to_string(v);
    const Producer p = Init(id);

    Outcome added = Send(v, AddOf(id, p, {{"t", {1, 0}}, {"a", {0}}}));
    AddPartitionsToTxnResponse a = Decoded<AddPartitionsToTxnResponse>(added, v);
    ASSERT_EQ(a.results_by_topic_v3_and_below.size(), 2u);
    EXPECT_EQ(a.results_by_topic_v3_and_below[0].name, "a");
    EXPECT_EQ(a.results_by_topic_v3_and_below[1].name, "t");
    EXPECT_EQ(a.results_by_topic_v3_and_below[1].results_by_partition,
              (std::vector<AddPartitionsToTxnResponse::PartitionResult>{{0, kNone}, {1, kNone}}));

    AddOffsetsToTxnRequest offsets;
    offsets.transactional_id = id;
    offsets.producer_id = p.id;
    offsets.producer_epoch = p.epoch;
    offsets.group_id = "orders-app";
    EXPECT_EQ(Decoded<AddOffsetsToTxnResponse>(Send(v, offsets), v).error_code, kNone);

    DescribeTransactionsResponse::TransactionState ongoing = Describe(id);
    EXPECT_EQ(ongoing.error_code, kNone);
    EXPECT_EQ(ongoing.transaction_state, "Ongoing");
    EXPECT_EQ(ongoing.producer_id, p.id);
    EXPECT_EQ(ongoing.producer_epoch, p.epoch);
    EXPECT_EQ(ongoing.transaction_timeout_ms, 60000);
    EXPECT_EQ(ongoing.transaction_start_time_ms, clock_.NowMs());
    ASSERT_EQ(ongoing.topics.size(), 3u);
    EXPECT_EQ(ongoing.topics[0].topic, "__consumer_offsets") << "AddOffsetsToTxn's partition";
    EXPECT_EQ(ongoing.topics[1], (DescribeTransactionsResponse::TopicData{"a", {0}}));
    EXPECT_EQ(ongoing.topics[2], (DescribeTransactionsResponse::TopicData{"t", {0, 1}}));

    // EndTxn is answered once PrepareCommit is durable, from the thread
    // that acknowledges the append.
    log_.Hold(true);
    Outcome ended = Send(v, EndOf(id, p, /*committed=*/true));
    EXPECT_FALSE(ended.ready()) << "PrepareCommit is not durable yet";
    ASSERT_EQ(log_.Held(), 1);
    log_.Hold(false);
    std::thread acknowledger([this] { log_.ReleaseOne(); });
    ASSERT_TRUE(ended.Await());
    acknowledger.join();
    EXPECT_EQ(Decoded<EndTxnResponse>(ended, v).error_code, kNone);
    EXPECT_EQ(Describe(id).transaction_state, "PrepareCommit");

    // The markers go to every partition of the transaction.
    const int call = markers_.Calls() - 1;
    ASSERT_GE(call, 0);
    txn::MarkerRequest markers = markers_.Request(call);
    EXPECT_EQ(markers.result, txn::TransactionResult::kCommit);
    EXPECT_EQ(markers.producer_id, p.id);
    EXPECT_EQ(markers.partitions.size(), 4u);
    markers_.Answer(call);
    EXPECT_EQ(Describe(id).transaction_state, "CompleteCommit");
  }

  ListTransactionsRequest all;
  ListTransactionsResponse listed = Decoded<ListTransactionsResponse>(Send(0, all), 0);
  EXPECT_EQ(listed.error_code, kNone);
  ASSERT_EQ(listed.transaction_states.size(), 4u);
  EXPECT_EQ(listed.transaction_states[0].transactional_id, "orders-tx-0");
  EXPECT_EQ(listed.transaction_states[0].transaction_state, "CompleteCommit");

  ListTransactionsRequest filtered;
  filtered.state_filters = {"ongoing", "Nonsense"};
  listed = Decoded<ListTransactionsResponse>(Send(0, filtered), 0);
  EXPECT_TRUE(listed.transaction_states.empty());
  EXPECT_EQ(listed.unknown_state_filters, std::vector<std::string>{"Nonsense"});
}

TEST_F(TxnAdapterDispatchTest, AFencedProducerIsToldInvalidProducerEpochBeforeV2) {
  const Producer old = Init("orders-tx");
  const Producer current = Init("orders-tx");  // bumps the epoch: `old` is fenced
  ASSERT_GT(current.epoch, old.epoch);
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    const int16_t fenced = v >= 2 ? kProducerFenced : kInvalidProducerEpoch;
    AddPartitionsToTxnResponse a =
        Decoded<AddPartitionsToTxnResponse>(Send(v, AddOf("orders-tx", old, {{"t", {0}}})), v);
    ASSERT_EQ(a.results_by_topic_v3_and_below.size(), 1u);
    EXPECT_EQ(a.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
              fenced);

    AddOffsetsToTxnRequest offsets;
    offsets.transactional_id = "orders-tx";
    offsets.producer_id = old.id;
    offsets.producer_epoch = old.epoch;
    offsets.group_id = "g";
    EXPECT_EQ(Decoded<AddOffsetsToTxnResponse>(Send(v, offsets), v).error_code, fenced);
  }
  // EndTxn with nothing under way and a stale epoch: fenced too.
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    EXPECT_EQ(Decoded<EndTxnResponse>(Send(v, EndOf("orders-tx", old, true)), v).error_code,
              v >= 2 ? kProducerFenced : kInvalidProducerEpoch);
  }
}

TEST_F(TxnAdapterDispatchTest, AnAbortIsAnAbortAndAnUnknownIdIsNotFound) {
  const Producer p = Init("orders-tx");
  EXPECT_EQ(Decoded<AddPartitionsToTxnResponse>(Send(3, AddOf("orders-tx", p, {{"t", {0}}})), 3)
                .results_by_topic_v3_and_below[0]
                .results_by_partition[0]
                .partition_error_code,
            kNone);
  EXPECT_EQ(Decoded<EndTxnResponse>(Send(3, EndOf("orders-tx", p, false)), 3).error_code, kNone);
  EXPECT_EQ(Describe("orders-tx").transaction_state, "PrepareAbort");
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).result, txn::TransactionResult::kAbort);
  markers_.Answer(0);
  EXPECT_EQ(Describe("orders-tx").transaction_state, "CompleteAbort");

  DescribeTransactionsResponse::TransactionState unknown = Describe("nobody");
  EXPECT_EQ(unknown.error_code, kTransactionalIdNotFound);
  EXPECT_EQ(unknown.transactional_id, "nobody");
  EXPECT_EQ(unknown.producer_id, 0) << "Kafka's default";
}

TEST(TxnAdapterDispatchNoCoordinatorTest, EveryTransactionApiClosesWithoutACoordinator) {
  Dispatcher d({});
  auto closes = [&](std::string frame) {
    std::optional<DispatchResult> result;
    d.Dispatch({.peer = "127.0.0.1:1", .listener = "KAFKA"}, frame,
               [&](DispatchResult r) { result = std::move(r); });
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->close);
    EXPECT_NE(result->reason.find("no transaction coordinator"), std::string::npos)
        << result->reason;
  };
  closes(testing::RequestFrame(3, 1, AddPartitionsToTxnRequest{}));
  closes(testing::RequestFrame(3, 1, AddOffsetsToTxnRequest{}));
  closes(testing::RequestFrame(3, 1, EndTxnRequest{}));
  closes(testing::RequestFrame(0, 1, DescribeTransactionsRequest{}));
  closes(testing::RequestFrame(0, 1, ListTransactionsRequest{}));
  for (ApiKey key : {ApiKey::kAddPartitionsToTxn, ApiKey::kAddOffsetsToTxn, ApiKey::kEndTxn,
                     ApiKey::kTxnOffsetCommit, ApiKey::kDescribeProducers,
                     ApiKey::kDescribeTransactions, ApiKey::kListTransactions}) {
    EXPECT_TRUE(Dispatcher::Handles(key)) << static_cast<int>(key);
  }
}

// TxnOffsetCommit needs the group coordinator, DescribeProducers the request
// layer: without them the connection closes.
TEST(TxnAdapterDispatchNoCoordinatorTest,
     TxnOffsetCommitAndDescribeProducersCloseWithoutTheirLayer) {
  Dispatcher d({});
  auto reason = [&](std::string frame) {
    std::optional<DispatchResult> result;
    d.Dispatch({.peer = "127.0.0.1:1", .listener = "KAFKA"}, frame,
               [&](DispatchResult r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value());
    if (!result.has_value()) return std::string();
    EXPECT_TRUE(result->close);
    return result->reason;
  };
  for (int16_t v = 0; v <= 3; ++v) {
    const std::string why = reason(testing::RequestFrame(v, 1, TxnOffsetCommitRequest{}));
    EXPECT_NE(why.find("no group coordinator"), std::string::npos) << why;
  }
  const std::string why = reason(testing::RequestFrame(0, 1, DescribeProducersRequest{}));
  EXPECT_NE(why.find("no request layer"), std::string::npos) << why;
}

// ---- TxnOffsetCommit through the dispatcher onto a real group coordinator ----

// __consumer_offsets that acknowledges every append at once and reads empty,
// as group_adapter_test's.
class TxnOffsetCommitDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    purgatory::Purgatory::Options po;
    po.start_reaper = false;
    purgatory_ = std::make_unique<purgatory::Purgatory>(&clock_, "group", po);
    group::CoordinatorOptions o;
    o.broker_id = 1;
    o.offsets_topic_partitions = 1;
    o.min_session_timeout_ms = 1000;
    o.max_session_timeout_ms = 60000;
    o.initial_rebalance_delay_ms = 0;
    o.clock = &clock_;
    o.purgatory = purgatory_.get();
    o.append = [this](int32_t, std::string batch, group::CoordinatorOptions::AppendDone done) {
      int64_t base;
      {
        absl::MutexLock l(&mu_);
        base = next_offset_++;
        batches_.push_back(std::move(batch));
      }
      done(ErrorCode::kNone, "", base);
    };
    o.read = [](int32_t, int64_t) {
      replication::FetchResult r;
      r.log_start_offset = 0;
      r.log_end_offset = 0;
      r.high_watermark = 0;
      return r;
    };
    coordinator_ = std::make_unique<group::GroupCoordinator>(o);
    coordinator_->OnBecameLeader(0, 1);
    for (int i = 0; i < 2000 && coordinator_->Loading(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_FALSE(coordinator_->Loading());
    dispatcher_ = std::make_unique<Dispatcher>(Dispatcher::Deps{.groups = coordinator_.get()});
  }

  void TearDown() override {
    coordinator_->Shutdown();
    purgatory_->Shutdown();
  }

  // Sends `request` at `version` and decodes the answer; ticks the purgatory
  // (a rebalance's timer) until it comes.
  template <typename Resp, typename Req>
  Resp Call(int16_t version, const Req& request) {
    Outcome outcome;
    dispatcher_->Dispatch({.peer = "127.0.0.1:9", .listener = "KAFKA"},
                          testing::RequestFrame(version, kGroupCorrelationId, request, -1, "c"),
                          outcome.Callback());
    for (int i = 0; i < 100 && !outcome.ready(); ++i) {
      clock_.AdvanceMs(100);
      purgatory_->ExpireDue();
    }
    if (!outcome.ready()) {
      ADD_FAILURE() << "no answer";
      return Resp{};
    }
    const DispatchResult result = outcome.get();
    EXPECT_FALSE(result.close) << result.reason;
    std::string_view frame(result.response);
    if (frame.size() < 8) {
      ADD_FAILURE() << "short response";
      return Resp{};
    }
    Reader r(frame.substr(4));
    absl::StatusOr<int32_t> correlation =
        ReadResponseHeader(r, ResponseHeaderVersion(Req::kApiKey, version));
    EXPECT_TRUE(correlation.ok() && *correlation == kGroupCorrelationId);
    absl::StatusOr<Resp> decoded = Decode<Resp>(version, frame.substr(4 + r.position()));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    return decoded.ok() ? *std::move(decoded) : Resp{};
  }

  // A consumer in generation 1 of "orders-app", its member id.
  std::string JoinAndSync() {
    JoinGroupRequest join;
    join.group_id = "orders-app";
    join.session_timeout_ms = 10000;
    join.protocol_type = "consumer";
    join.protocols = {{"range", "subscription"}};
    JoinGroupResponse joined = Call<JoinGroupResponse>(0, join);
    EXPECT_EQ(joined.error_code, kNone);
    EXPECT_EQ(joined.generation_id, 1);
    SyncGroupRequest sync;
    sync.group_id = "orders-app";
    sync.generation_id = joined.generation_id;
    sync.member_id = joined.member_id;
    sync.assignments = {{joined.member_id, "assignment"}};
    EXPECT_EQ(Call<SyncGroupResponse>(0, sync).error_code, kNone);
    return joined.member_id;
  }

  static TxnOffsetCommitRequest CommitOf(int32_t partition, int64_t offset) {
    TxnOffsetCommitRequest r;
    r.transactional_id = "orders-tx";
    r.group_id = "orders-app";
    r.producer_id = 7000;
    r.producer_epoch = 2;
    r.topics = {{"orders", {{partition, offset, -1, "m"}}}};
    return r;
  }

  // The one partition's error of a TxnOffsetCommit answer.
  static int16_t ErrorOf(const TxnOffsetCommitResponse& r) {
    EXPECT_EQ(r.topics.size(), 1u);
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) return -1;
    EXPECT_EQ(r.topics[0].name, "orders");
    return r.topics[0].partitions[0].error_code;
  }

  // The committed offset of orders-`partition` (-1: none).
  int64_t Committed(int32_t partition) {
    OffsetFetchRequest fetch;
    fetch.group_id = "orders-app";
    fetch.topics = std::vector<OffsetFetchRequest::Topic>{{"orders", {partition}}};
    OffsetFetchResponse fetched = Call<OffsetFetchResponse>(1, fetch);
    if (fetched.topics.size() != 1 || fetched.topics[0].partitions.size() != 1) {
      ADD_FAILURE() << "no answer for orders-" << partition;
      return -1;
    }
    return fetched.topics[0].partitions[0].committed_offset;
  }

  static constexpr int32_t kGroupCorrelationId = 4243;

  ManualClock clock_;
  absl::Mutex mu_;
  int64_t next_offset_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> batches_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(TxnOffsetCommitDispatchTest, V3ChecksTheConsumerAndV0ToV2DoNot) {
  const std::string member = JoinAndSync();

  // v3, KIP-447: the consumer's generation and member are the group's.
  TxnOffsetCommitRequest commit = CommitOf(0, 100);
  commit.generation_id = 1;
  commit.member_id = member;
  EXPECT_EQ(ErrorOf(Call<TxnOffsetCommitResponse>(3, commit)), kNone);

  TxnOffsetCommitRequest stale = CommitOf(0, 101);
  stale.generation_id = 99;
  stale.member_id = member;
  EXPECT_EQ(ErrorOf(Call<TxnOffsetCommitResponse>(3, stale)), kIllegalGeneration);

  TxnOffsetCommitRequest stranger = CommitOf(0, 102);
  stranger.generation_id = 1;
  stranger.member_id = "nobody";
  EXPECT_EQ(ErrorOf(Call<TxnOffsetCommitResponse>(3, stranger)), kUnknownMemberId);

  TxnOffsetCommitRequest unknown_instance = CommitOf(0, 103);
  unknown_instance.generation_id = 1;
  unknown_instance.member_id = member;
  unknown_instance.group_instance_id = "no-such-instance";
  EXPECT_EQ(ErrorOf(Call<TxnOffsetCommitResponse>(3, unknown_instance)), kUnknownMemberId)
      << "the instance id reaches the coordinator";

  // v0-2 carry no consumer: the same group, a member in generation 1, and
  // the commit is not checked against it.
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE(v);
    EXPECT_EQ(ErrorOf(Call<TxnOffsetCommitResponse>(v, CommitOf(1 + v, 200 + v))), kNone);
  }

  // Each accepted offset was written as the producer's transactional
  // record, and stays pending until the transaction's marker.
  {
    absl::MutexLock l(&mu_);
    int transactional = 0;
    for (const std::string& batch : batches_) {
      absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(batch);
      ASSERT_TRUE(h.ok()) << h.status();
      if (h->is_transactional()) {
        ++transactional;
        EXPECT_EQ(h->producer_id, 7000);
        EXPECT_EQ(h->producer_epoch, 2);
      }
    }
    EXPECT_EQ(transactional, 4) << "one v3 commit and three older ones";
  }
  for (int32_t p = 0; p <= 3; ++p) EXPECT_EQ(Committed(p), -1) << "orders-" << p;

  coordinator_->OnTxnCompleted(0, 7000, /*committed=*/true);
  EXPECT_EQ(Committed(0), 100);
  EXPECT_EQ(Committed(1), 200);
  EXPECT_EQ(Committed(2), 201);
  EXPECT_EQ(Committed(3), 202);
}

// ---- DescribeProducers through the dispatcher onto a real request layer ----

// A ReplicaManager over in-memory logs leading "t" (two partitions) alone,
// as produce_fetch_adapter_test's.
class DescribeProducersDispatchTest : public ::testing::Test {
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
    namespace records = metadata::testing;
    const std::string topic_id = "TTTTTTTTTTTTTTTTTTTTTT";
    std::vector<internal::MetadataRecord> rs = {
        records::RegisterBroker(1, 1, false), records::Topic("t", topic_id),
        records::Partition(topic_id, 0, {1}, {1}, 1), records::Partition(topic_id, 1, {1}, {1}, 1)};
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

  // Dispatches `message` at `version`; the decoded answer (answered at once).
  template <typename Resp, typename Req>
  Resp Call(int16_t version, const Req& message) {
    Outcome outcome;
    dispatcher_->Dispatch({.peer = "127.0.0.1:5", .listener = "KAFKA"},
                          testing::RequestFrame(version, kCorrelationId, message),
                          outcome.Callback());
    if (!outcome.ready()) {
      ADD_FAILURE() << "no answer";
      return Resp{};
    }
    const DispatchResult result = outcome.get();
    EXPECT_FALSE(result.close) << result.reason;
    std::string_view frame(result.response);
    if (frame.size() < 8) {
      ADD_FAILURE() << "short response";
      return Resp{};
    }
    Reader r(frame.substr(4));
    absl::StatusOr<int32_t> correlation =
        ReadResponseHeader(r, ResponseHeaderVersion(Req::kApiKey, version));
    EXPECT_TRUE(correlation.ok() && *correlation == kCorrelationId);
    absl::StatusOr<Resp> decoded = Decode<Resp>(version, frame.substr(4 + r.position()));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    return decoded.ok() ? *std::move(decoded) : Resp{};
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

TEST_F(DescribeProducersDispatchTest, AnIdempotentProducerIsDescribedByItsPartitionsLeader) {
  // Producer 7000, epoch 0: sequences 0-2 on t-0, acknowledged (acks=1).
  record::RecordBatchBuilder b;
  b.set_producer(7000, 0, 0);
  for (int i = 0; i < 3; ++i) {
    record::Record r;
    r.value = "idem-" + std::to_string(i);
    r.timestamp = 1000 + i;
    b.Append(r);
  }
  ProduceRequest produce;
  produce.acks = 1;
  produce.timeout_ms = 1000;
  produce.topic_data.push_back({.name = "t", .partition_data = {{0, b.Build()}}});
  ProduceResponse produced = Call<ProduceResponse>(7, produce);
  ASSERT_EQ(produced.responses.size(), 1u);
  ASSERT_EQ(produced.responses[0].partition_responses[0].error_code, kNone);

  DescribeProducersRequest describe;
  describe.topics = {{"t", {0, 1}}, {"nope", {0}}};
  DescribeProducersResponse d = Call<DescribeProducersResponse>(0, describe);
  ASSERT_EQ(d.topics.size(), 2u);
  EXPECT_EQ(d.topics[0].name, "t");
  ASSERT_EQ(d.topics[0].partitions.size(), 2u);
  const DescribeProducersResponse::Partition& led = d.topics[0].partitions[0];
  EXPECT_EQ(led.partition_index, 0);
  EXPECT_EQ(led.error_code, kNone);
  EXPECT_EQ(led.error_message, std::nullopt);
  ASSERT_EQ(led.active_producers.size(), 1u);
  const DescribeProducersResponse::ProducerState& p = led.active_producers[0];
  EXPECT_EQ(p.producer_id, 7000);
  EXPECT_EQ(p.producer_epoch, 0);
  EXPECT_EQ(p.last_sequence, 2);
  EXPECT_EQ(p.last_timestamp, 1002) << "the batch's max timestamp";
  EXPECT_EQ(p.current_txn_start_offset, -1) << "not transactional";

  const DescribeProducersResponse::Partition& quiet = d.topics[0].partitions[1];
  EXPECT_EQ(quiet.partition_index, 1);
  EXPECT_EQ(quiet.error_code, kNone);
  EXPECT_TRUE(quiet.active_producers.empty());

  EXPECT_EQ(d.topics[1].name, "nope");
  ASSERT_EQ(d.topics[1].partitions.size(), 1u);
  EXPECT_EQ(d.topics[1].partitions[0].error_code, kUnknownTopicOrPartition);
  EXPECT_TRUE(d.topics[1].partitions[0].active_producers.empty());
}

}  // namespace
}  // namespace strata::kafka
