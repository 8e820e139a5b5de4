// The transactional producer against the fake cluster's coordinator
// (fake_cluster.h): the calls it makes and in which order, what its
// records' callbacks get, and how errors move it (transaction_manager.h).
#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::client {
namespace {

using strata::testing::FakeCluster;
using strata::testing::FakeGroup;

ProducerConfig TxnConfig(const FakeCluster& cluster, const std::string& id = "tx") {
  ProducerConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.retry_backoff = absl::Milliseconds(10);
  c.max_block = absl::Seconds(5);
  c.transactional_id = id;
  return c;
}

std::unique_ptr<Producer> MustCreate(const ProducerConfig& config) {
  absl::StatusOr<std::unique_ptr<Producer>> p = Producer::Create(config);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

OffsetAndMetadata At(int64_t offset) {
  OffsetAndMetadata o;
  o.offset = offset;
  return o;
}

ProducerRecord Rec(int32_t partition, std::string value) {
  ProducerRecord r;
  r.topic = "t";
  r.partition = partition;
  r.value = std::move(value);
  return r;
}

// Collects each record's outcome.
class Outcomes {
 public:
  SendCallback Callback(const std::string& name) {
    return [this, name](const absl::StatusOr<RecordMetadata>& md) {
      absl::MutexLock lock(&mu_);
      results_[name] = md.status();
    };
  }
  std::map<std::string, absl::Status> Get() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  bool WaitFor(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return results_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, absl::Status> results_ ABSL_GUARDED_BY(mu_);
};

struct BatchStamp {
  int64_t producer_id;
  int16_t epoch;
  int32_t base_sequence;
  int32_t records;
  bool transactional;
};

std::vector<BatchStamp> Stamps(const FakeCluster& cluster, int32_t partition) {
  std::vector<BatchStamp> out;
  for (const std::string& batch : cluster.Batches("t", partition)) {
    absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch);
    EXPECT_TRUE(h.ok()) << h.status();
    if (!h.ok()) continue;
    out.push_back({h->producer_id, h->producer_epoch, h->base_sequence, h->records_count,
                   h->is_transactional()});
  }
  return out;
}

// The log's entries that start with `prefix`.
std::vector<std::string> Entries(const FakeCluster& cluster, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& e : cluster.TxnLog()) {
    if (e.starts_with(prefix)) out.push_back(e);
  }
  return out;
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(ProducerTransactionTest, ProducersWithoutATransactionalIdRefuseTheCalls) {
  FakeCluster cluster(1);
  ProducerConfig config = TxnConfig(cluster);
  config.transactional_id.reset();
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  const std::string kMessage =
      "Cannot use transactional methods without enabling transactions by setting the "
      "transactional.id configuration property";
  for (const absl::Status& s :
       {producer->InitTransactions(), producer->BeginTransaction(), producer->CommitTransaction(),
        producer->AbortTransaction(),
        producer->SendOffsetsToTransaction({{TopicPartition{"t", PartitionId(0)}, At(5)}},
                                           {"g", -1, "", std::nullopt})}) {
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), kMessage);
  }
  EXPECT_EQ(producer->transaction_state(), TransactionState::kUninitialized);
}

TEST(ProducerTransactionTest, CreateRefusesATransactionalIdWithoutIdempotence) {
  FakeCluster cluster(1);
  ProducerConfig config = TxnConfig(cluster);
  config.enable_idempotence = false;
  absl::StatusOr<std::unique_ptr<Producer>> p = Producer::Create(config);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "Cannot set a transactional.id without also enabling idempotence.");
}

TEST(ProducerTransactionTest, RecordsAreRefusedOutsideATransaction) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<RecordMetadata> before = producer->Send(Rec(0, "x")).get();
  EXPECT_TRUE(absl::IsFailedPrecondition(before.status())) << before.status();
  EXPECT_EQ(before.status().message(),
            "Cannot perform a 'send' before completing a call to initTransactions when "
            "transactions are enabled.");
  ASSERT_TRUE(producer->InitTransactions().ok());
  absl::StatusOr<RecordMetadata> ready = producer->Send(Rec(0, "x")).get();
  EXPECT_EQ(ready.status().message(), "Cannot call send in state READY");
  EXPECT_EQ(cluster.BatchCount("t", 0), 0);
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady)
      << "refused before the transaction: nothing to abort";
}

TEST(ProducerTransactionTest, ACommittedTransactionAddsItsPartitionsBeforeItsBatches) {
  FakeCluster cluster(2);
  cluster.AddTopic("t", 2);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  EXPECT_EQ(cluster.TxnLog(), (std::vector<std::string>{"InitProducerId tx 1000/0"}));
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(producer->BeginTransaction().ok());
    Outcomes outcomes;
    for (int i = 0; i < 10; ++i) {
      producer->Send(Rec(i % 2, "r" + std::to_string(round) + "-" + std::to_string(i)),
                     outcomes.Callback(std::to_string(i)));
    }
    ASSERT_TRUE(producer->CommitTransaction().ok());
    // The commit waited for every record (the fake refuses a batch of a
    // partition not in the transaction with INVALID_TXN_STATE).
    std::map<std::string, absl::Status> got = outcomes.Get();
    ASSERT_EQ(got.size(), 10u);
    for (const auto& [name, status] : got) EXPECT_TRUE(status.ok()) << name << ": " << status;
  }
  std::vector<std::string> log = cluster.TxnLog();
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(log.back(), "EndTxn tx COMMIT");
  EXPECT_EQ(Entries(cluster, "EndTxn").size(), 2u);
  // Each transaction added both partitions (in one call or two).
  std::multiset<std::string> added;
  for (const std::string& e : Entries(cluster, "AddPartitionsToTxn tx ")) {
    std::string parts = e.substr(std::string("AddPartitionsToTxn tx ").size());
    for (size_t pos = 0; pos <= parts.size();) {
      size_t comma = parts.find(',', pos);
      if (comma == std::string::npos) comma = parts.size();
      added.insert(parts.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  EXPECT_EQ(added, (std::multiset<std::string>{"t-0", "t-0", "t-1", "t-1"}));
  // Every batch: the transactional bit, the coordinator's id and epoch,
  // sequences running on across the transactions.
  for (int32_t p = 0; p < 2; ++p) {
    int32_t next = 0;
    for (const BatchStamp& s : Stamps(cluster, p)) {
      EXPECT_TRUE(s.transactional);
      EXPECT_EQ(s.producer_id, 1000);
      EXPECT_EQ(s.epoch, 0);
      EXPECT_EQ(s.base_sequence, next);
      next += s.records;
    }
    EXPECT_EQ(cluster.Records("t", p).size(), 10u);
  }
  EXPECT_EQ(cluster.init_producer_id_requests(), 1) << "no idempotent id on the side";
}

TEST(ProducerTransactionTest, PartitionsFirstUsedDuringAnAddGoTogetherInTheNext) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 4);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.HoldAddPartitions(true);
  Outcomes outcomes;
  producer->Send(Rec(0, "a"), outcomes.Callback("a"));
  ASSERT_TRUE(WaitUntil([&] { return cluster.add_partitions_requests() == 1; }));
  producer->Send(Rec(3, "b"), outcomes.Callback("b"));
  producer->Send(Rec(1, "c"), outcomes.Callback("c"));
  producer->Send(Rec(0, "d"), outcomes.Callback("d"));
  producer->Send(Rec(3, "e"), outcomes.Callback("e"));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(cluster.BatchCount("t", 0), 0) << "batches wait for their partition's add";
  EXPECT_EQ(cluster.add_partitions_requests(), 1) << "one AddPartitionsToTxn at a time";
  cluster.HoldAddPartitions(false);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(
      Entries(cluster, "AddPartitionsToTxn"),
      (std::vector<std::string>{"AddPartitionsToTxn tx t-0", "AddPartitionsToTxn tx t-1,t-3"}));
  for (const auto& [name, status] : outcomes.Get()) EXPECT_TRUE(status.ok()) << name;
}

TEST(ProducerTransactionTest, AnEmptyTransactionEndsWithoutARequest) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_EQ(cluster.TxnLog(), (std::vector<std::string>{"InitProducerId tx 1000/0"}));
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady);
}

TEST(ProducerTransactionTest, AbortDropsUnsentRecordsWaitsForTheAddThenEndsTheTransaction) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.HoldAddPartitions(true);
  Outcomes outcomes;
  producer->Send(Rec(0, "a"), outcomes.Callback("a"));
  producer->Send(Rec(1, "b"), outcomes.Callback("b"));
  ASSERT_TRUE(WaitUntil([&] { return cluster.add_partitions_requests() == 1; }));
  absl::Status aborted = absl::UnknownError("not yet");
  std::thread abort([&] { aborted = producer->AbortTransaction(); });
  // The records fail at once; the abort waits for the add in flight.
  ASSERT_TRUE(outcomes.WaitFor(2));
  for (const auto& [name, status] : outcomes.Get()) {
    EXPECT_TRUE(absl::IsAborted(status)) << name << ": " << status;
    EXPECT_EQ(status.message(), "Failing batch since transaction was aborted");
  }
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(Entries(cluster, "EndTxn").empty()) << "EndTxn must not overtake the add";
  cluster.HoldAddPartitions(false);
  abort.join();
  ASSERT_TRUE(aborted.ok()) << aborted;
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx ABORT");
  EXPECT_EQ(cluster.BatchCount("t", 0) + cluster.BatchCount("t", 1), 0);
  // A new transaction goes on as usual.
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "c")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx COMMIT");
}

TEST(ProducerTransactionTest, AFailedRecordMakesTheTransactionAbortableThenANewOneWorks) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailProduce("t", 0, v1::INVALID_RECORD, 1);
  absl::StatusOr<RecordMetadata> failed = producer->Send(Rec(0, "bad")).get();
  ASSERT_EQ(ErrorCodeOf(failed.status()), v1::INVALID_RECORD);
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);

  absl::Status commit = producer->CommitTransaction();
  EXPECT_EQ(ErrorCodeOf(commit), v1::INVALID_RECORD) << commit;
  EXPECT_TRUE(absl::StartsWith(
      commit.message(), "Cannot execute transactional method because we are in an error state"))
      << commit;
  absl::StatusOr<RecordMetadata> more = producer->Send(Rec(0, "more")).get();
  EXPECT_EQ(ErrorCodeOf(more.status()), v1::INVALID_RECORD);
  EXPECT_TRUE(absl::StartsWith(more.status().message(), "Cannot perform send because"));
  EXPECT_EQ(ErrorCodeOf(producer->BeginTransaction()), v1::INVALID_RECORD);

  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx ABORT");
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "good")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  // Refused on its first attempt, the bad batch gave its sequence back: no
  // epoch bump was needed.
  EXPECT_EQ(Entries(cluster, "InitProducerId").size(), 1u);
  const std::vector<BatchStamp> stamps = Stamps(cluster, 0);
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_EQ(stamps[0].base_sequence, 0);
}

TEST(ProducerTransactionTest, ARecordRefusedBeforeItIsQueuedMakesTheTransactionAbortable) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = TxnConfig(cluster);
  config.max_request_size = 1000;
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  absl::StatusOr<RecordMetadata> big = producer->Send(Rec(0, std::string(2000, 'x'))).get();
  ASSERT_EQ(ErrorCodeOf(big.status()), v1::MESSAGE_TOO_LARGE);
  EXPECT_EQ(ErrorCodeOf(producer->CommitTransaction()), v1::MESSAGE_TOO_LARGE)
      << "as Kafka's doSend: a record lost to the transaction dooms it";
  EXPECT_TRUE(producer->AbortTransaction().ok());
}

TEST(ProducerTransactionTest, ABatchWhoseFateIsUnknownBumpsTheEpochAfterTheAbort) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = TxnConfig(cluster);
  config.delivery_timeout = absl::Milliseconds(300);
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "first")).get().ok());
  // Appended, but every answer lost until the batch expires: it may or may
  // not be in the log.
  cluster.FailProduceAfterAppend("t", 0, v1::REQUEST_TIMED_OUT, 1000);
  absl::StatusOr<RecordMetadata> lost = producer->Send(Rec(0, "lost")).get();
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);
  EXPECT_FALSE(producer->CommitTransaction().ok());
  cluster.FailProduceAfterAppend("t", 0, v1::NONE, 0);
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_EQ(Entries(cluster, "InitProducerId"),
            (std::vector<std::string>{"InitProducerId tx 1000/0", "InitProducerId tx 1000/1"}))
      << "KIP-360: the same id, the next epoch";
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "after")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  const std::vector<BatchStamp> stamps = Stamps(cluster, 0);
  ASSERT_FALSE(stamps.empty());
  EXPECT_EQ(stamps.back().epoch, 1);
  EXPECT_EQ(stamps.back().base_sequence, 0) << "sequences start afresh under the new epoch";
}

TEST(ProducerTransactionTest, AFencedProducerFailsEveryCallWithProducerFenced) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "before")).get().ok());
  cluster.FenceTransactionalId("tx");
  // A partition new to the transaction: its add is refused.
  absl::StatusOr<RecordMetadata> late = producer->Send(Rec(1, "late")).get();
  EXPECT_EQ(ErrorCodeOf(late.status()), v1::PRODUCER_FENCED) << late.status();
  EXPECT_EQ(producer->transaction_state(), TransactionState::kFatalError);
  const std::string kFenced =
      "Producer with transactionalId 'tx' and ProducerIdAndEpoch(producerId=1000, epoch=0) has "
      "been fenced by another producer with the same transactionalId";
  for (const absl::Status& s :
       {producer->CommitTransaction(), producer->AbortTransaction(), producer->BeginTransaction(),
        producer->InitTransactions(),
        producer->SendOffsetsToTransaction({{TopicPartition{"t", PartitionId(0)}, At(5)}},
                                           {"g", -1, "", std::nullopt})}) {
    EXPECT_EQ(ErrorCodeOf(s), v1::PRODUCER_FENCED) << s;
    EXPECT_EQ(s.message(), kFenced);
  }
  EXPECT_EQ(ErrorCodeOf(producer->Send(Rec(0, "x")).get().status()), v1::PRODUCER_FENCED);
  EXPECT_TRUE(Entries(cluster, "EndTxn").empty());
  EXPECT_EQ(cluster.AbortedBatchOffsets("t", 0), (std::vector<int64_t>{0}))
      << "the fence aborted what it wrote";
}

TEST(ProducerTransactionTest, AZombieWritingToAnAddedPartitionIsFencedAtItsAbort) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "before")).get().ok());
  cluster.FenceTransactionalId("tx");
  // The partition is in the (zombie's view of the) transaction: the batch
  // goes to the leader, which refuses the old epoch. Abortable, as Kafka's
  // InvalidProducerEpochException...
  absl::StatusOr<RecordMetadata> late = producer->Send(Rec(0, "late")).get();
  EXPECT_EQ(ErrorCodeOf(late.status()), v1::INVALID_PRODUCER_EPOCH) << late.status();
  absl::Status commit = producer->CommitTransaction();
  EXPECT_EQ(ErrorCodeOf(commit), v1::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(commit.message(),
            "Producer with transactionalId 'tx' and ProducerIdAndEpoch(producerId=1000, epoch=0) "
            "attempted to produce with an old epoch");
  // ...until the abort's EndTxn is answered PRODUCER_FENCED: fatal.
  EXPECT_EQ(ErrorCodeOf(producer->AbortTransaction()), v1::PRODUCER_FENCED);
  EXPECT_EQ(producer->transaction_state(), TransactionState::kFatalError);
  EXPECT_EQ(ErrorCodeOf(producer->BeginTransaction()), v1::PRODUCER_FENCED);
  EXPECT_EQ(cluster.Records("t", 0).size(), 1u) << "only what it wrote before the fence";
}

TEST(ProducerTransactionTest, RetriableCoordinatorErrorsAreRetried) {
  FakeCluster cluster(2);
  cluster.AddTopic("t", 2);
  cluster.FailTxn("FindCoordinator", v1::COORDINATOR_NOT_AVAILABLE, 2);
  cluster.FailTxn("InitProducerId", v1::COORDINATOR_LOAD_IN_PROGRESS, 2);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  // The coordinator moves: node 1 answers NOT_COORDINATOR, the producer
  // finds node 2.
  cluster.SetTxnCoordinator(2);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailTxn("AddPartitionsToTxn", v1::CONCURRENT_TRANSACTIONS, 2);
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  cluster.FailTxn("EndTxn", v1::CONCURRENT_TRANSACTIONS, 2);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(1, "b")).get().ok());
  cluster.FailTxn("EndTxn", v1::COORDINATOR_LOAD_IN_PROGRESS, 2);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  std::vector<std::string> log = cluster.TxnLog();
  EXPECT_EQ(std::count(log.begin(), log.end(), "EndTxn tx COMMIT"), 2);
  EXPECT_EQ(std::count(log.begin(), log.end(), "AddPartitionsToTxn tx t-0 NOT_COORDINATOR"), 1);
}

TEST(ProducerTransactionTest, ATimedOutCallLeavesItsStateAndMayBeRepeated) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  cluster.FailTxn("InitProducerId", v1::COORDINATOR_LOAD_IN_PROGRESS, 1000000);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  absl::Status init = producer->InitTransactions(absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(init)) << init;
  EXPECT_TRUE(absl::StartsWith(init.message(), "Timeout expired after ")) << init;
  EXPECT_NE(init.message().find("ms while awaiting InitProducerId"), std::string::npos) << init;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kInitializing);
  EXPECT_EQ(producer->BeginTransaction().message(),
            "Cannot attempt operation `beginTransaction` because the previous call to "
            "`initTransactions` timed out and must be retried");
  cluster.FailTxn("InitProducerId", v1::NONE, 0);
  ASSERT_TRUE(producer->InitTransactions().ok());

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  cluster.FailTxn("EndTxn", v1::COORDINATOR_LOAD_IN_PROGRESS, 1000000);
  absl::Status commit = producer->CommitTransaction(absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(commit)) << commit;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kCommittingTransaction);
  EXPECT_TRUE(absl::IsFailedPrecondition(producer->AbortTransaction()));
  cluster.FailTxn("EndTxn", v1::NONE, 0);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady);
}

TEST(ProducerTransactionTest, OffsetsSentToTheTransactionCountOnlyOnCommit) {
  FakeCluster cluster(2);
  cluster.AddTopic("t", 2);
  FakeGroup group;
  group.coordinator = 2;
  group.generation = 5;
  cluster.SetGroup("g", group);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "out")).get().ok());
  const std::map<TopicPartition, OffsetAndMetadata> offsets = {
      {TopicPartition{"in", PartitionId(0)}, At(42)},
      {TopicPartition{"in", PartitionId(1)}, {7, 3, "meta"}}};
  ASSERT_TRUE(producer->SendOffsetsToTransaction(offsets, {"g", 5, "member-1", std::nullopt}).ok());
  EXPECT_EQ(Entries(cluster, "AddOffsetsToTxn"),
            (std::vector<std::string>{"AddOffsetsToTxn tx g"}));
  EXPECT_EQ(Entries(cluster, "TxnOffsetCommit"),
            (std::vector<std::string>{
                "TxnOffsetCommit tx g in-0=42,in-1=7 generation 5 member member-1"}));
  EXPECT_TRUE(cluster.Group("g").offsets.empty()) << "pending until the commit";
  ASSERT_TRUE(producer->CommitTransaction().ok());
  const auto committed = cluster.Group("g").offsets;
  EXPECT_EQ(committed.at({"in", 0}), 42);
  EXPECT_EQ(committed.at({"in", 1}), 7);

  // Offsets alone make a transaction that needs its EndTxn.
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer
                  ->SendOffsetsToTransaction({{TopicPartition{"in", PartitionId(0)}, At(50)}},
                                             {"g", 5, "member-1", std::nullopt})
                  .ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx ABORT");
  EXPECT_EQ(cluster.Group("g").offsets.at({"in", 0}), 42) << "aborted offsets never count";
}

TEST(ProducerTransactionTest, OffsetsOfAnEndedGenerationMakeTheTransactionAbortable) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  FakeGroup group;
  group.generation = 6;
  cluster.SetGroup("g", group);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  absl::Status s = producer->SendOffsetsToTransaction(
      {{TopicPartition{"in", PartitionId(0)}, At(42)}}, {"g", 5, "member-1", std::nullopt});
  EXPECT_EQ(ErrorCodeOf(s), v1::ILLEGAL_GENERATION) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(),
                               "Transaction offset Commit failed due to consumer group metadata "
                               "mismatch"))
      << s;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);
  EXPECT_FALSE(producer->CommitTransaction().ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_TRUE(cluster.Group("g").offsets.empty());
}

TEST(ProducerTransactionTest, GroupMetadataIsCheckedAsKafkaDoes) {
  FakeCluster cluster(1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  const std::map<TopicPartition, OffsetAndMetadata> offsets = {
      {TopicPartition{"in", PartitionId(0)}, At(1)}};
  EXPECT_TRUE(absl::IsInvalidArgument(
      producer->SendOffsetsToTransaction(offsets, {"", -1, "", std::nullopt})));
  absl::Status s = producer->SendOffsetsToTransaction(offsets, {"g", 3, "", std::nullopt});
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("has generationId > 0 but member.id"), std::string::npos) << s;
  // No offsets: nothing to do, in any state.
  EXPECT_TRUE(producer->SendOffsetsToTransaction({}, {"g", -1, "", std::nullopt}).ok());
  // Outside a transaction.
  ASSERT_TRUE(producer->InitTransactions().ok());
  EXPECT_EQ(producer->SendOffsetsToTransaction(offsets, {"g", -1, "", std::nullopt}).message(),
            "Cannot send offsets if a transaction is not in progress (currentState= READY)");
}

TEST(ProducerTransactionTest, CloseAbortsAnOpenTransaction) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "open")).get().ok());
  producer->Close();
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx ABORT");
  EXPECT_EQ(cluster.AbortedBatchOffsets("t", 0), (std::vector<int64_t>{0}));
  EXPECT_TRUE(absl::IsFailedPrecondition(producer->BeginTransaction()));
}

TEST(ProducerTransactionTest, ASendOffsetsThatTimedOutMakesTheTransactionAbortable) {
  // Offsets that may or may not have reached the group's coordinator must
  // not be left out of a commit (that would lose exactly-once).
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  FakeGroup group;
  group.generation = 5;
  cluster.SetGroup("g", group);
  ProducerConfig config = TxnConfig(cluster);
  config.max_block = absl::Milliseconds(300);
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions(absl::Seconds(5)).ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "out")).get().ok());
  cluster.FailTxn("TxnOffsetCommit", v1::COORDINATOR_LOAD_IN_PROGRESS, 1000000);
  absl::Status s = producer->SendOffsetsToTransaction(
      {{TopicPartition{"in", PartitionId(0)}, At(42)}}, {"g", 5, "member-1", std::nullopt});
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);
  cluster.FailTxn("TxnOffsetCommit", v1::NONE, 0);
  absl::Status commit = producer->CommitTransaction(absl::Seconds(5));
  EXPECT_FALSE(commit.ok());
  EXPECT_NE(commit.message().find("awaiting TxnOffsetCommit"), std::string::npos) << commit;
  EXPECT_TRUE(Entries(cluster, "EndTxn tx COMMIT").empty());
  ASSERT_TRUE(producer->AbortTransaction(absl::Seconds(5)).ok());
  EXPECT_EQ(Entries(cluster, "EndTxn"), (std::vector<std::string>{"EndTxn tx ABORT"}));
  // No answer: a late TxnOffsetCommit of the old epoch must be refusable.
  EXPECT_EQ(cluster.TxnLog().back(), "InitProducerId tx 1000/1");
  EXPECT_TRUE(cluster.Group("g").offsets.empty());
  EXPECT_EQ(cluster.AbortedBatchOffsets("t", 0), (std::vector<int64_t>{0}));
}

TEST(ProducerTransactionTest, AnIdTheCoordinatorForgotIsAbortedByABumpWithoutEndTxn) {
  // Partition 0 is in the transaction (an abort would send EndTxn) when the
  // coordinator forgets the id; partition 1's add then learns it.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 2);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "added")).get().ok());
  cluster.ExpireTransactionalId("tx");
  absl::StatusOr<RecordMetadata> lost = producer->Send(Rec(1, "a")).get();
  EXPECT_EQ(ErrorCodeOf(lost.status()), v1::INVALID_PRODUCER_ID_MAPPING) << lost.status();
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);
  EXPECT_FALSE(producer->CommitTransaction().ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_TRUE(Entries(cluster, "EndTxn").empty()) << "the coordinator would refuse it";
  // The bump named the old id and epoch; the coordinator gave a new id.
  EXPECT_EQ(Entries(cluster, "InitProducerId").back(), "InitProducerId tx 1001/0");
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady);

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(1, "b")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  const std::vector<BatchStamp> stamps = Stamps(cluster, 1);
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_EQ(stamps[0].producer_id, 1001);
  EXPECT_EQ(stamps[0].base_sequence, 0);
}

TEST(ProducerTransactionTest, TransportFailuresAreRetriedButAnUnservedCallIsFatal) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  cluster.FailTxnTransport("InitProducerId", grpc::StatusCode::INTERNAL, 2, false);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailTxnTransport("AddPartitionsToTxn", grpc::StatusCode::RESOURCE_EXHAUSTED, 2, false);
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  cluster.FailTxnTransport("EndTxn", grpc::StatusCode::UNKNOWN, 2, false);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(
      Entries(cluster, "EndTxn"),
      (std::vector<std::string>{"EndTxn lost request", "EndTxn lost request", "EndTxn tx COMMIT"}));

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "b")).get().ok());
  cluster.FailTxnTransport("EndTxn", grpc::StatusCode::UNIMPLEMENTED, 1, false);
  absl::Status commit = producer->CommitTransaction();
  EXPECT_TRUE(absl::IsUnimplemented(commit)) << commit;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kFatalError);
}

TEST(ProducerTransactionTest, ALostEndTxnAnswerIsRetriedAndTheRetryAnswersNone) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  cluster.FailTxnTransport("EndTxn", grpc::StatusCode::UNAVAILABLE, 1, /*after_handling=*/true);
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(
      Entries(cluster, "EndTxn"),
      (std::vector<std::string>{"EndTxn tx COMMIT", "EndTxn lost answer", "EndTxn tx COMMIT"}));
  EXPECT_TRUE(cluster.AbortedBatchOffsets("t", 0).empty());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "b")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
}

TEST(ProducerTransactionTest, AnAbortAfterLostAddPartitionsAnswersStillSendsEndTxn) {
  // The coordinator added the partition but the producer never heard it:
  // skipping EndTxn would leave the transaction open.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailTxnTransport("AddPartitionsToTxn", grpc::StatusCode::UNAVAILABLE, 1000000,
                           /*after_handling=*/true);
  std::future<absl::StatusOr<RecordMetadata>> sent = producer->Send(Rec(0, "a"));
  ASSERT_TRUE(WaitUntil([&] { return cluster.add_partitions_requests() >= 2; }));
  ASSERT_TRUE(producer->AbortTransaction().ok());
  absl::StatusOr<RecordMetadata> a = sent.get();
  EXPECT_TRUE(absl::IsAborted(a.status())) << a.status();
  EXPECT_EQ(Entries(cluster, "EndTxn"), (std::vector<std::string>{"EndTxn tx ABORT"}));
  EXPECT_EQ(Entries(cluster, "InitProducerId").size(), 1u) << "no epoch bump";

  cluster.FailTxnTransport("AddPartitionsToTxn", grpc::StatusCode::UNAVAILABLE, 0, true);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "b")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx COMMIT");
  const std::vector<BatchStamp> stamps = Stamps(cluster, 0);
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_EQ(stamps[0].epoch, 0);
}

TEST(ProducerTransactionTest, AnAbortAfterLostAddPartitionsRequestsFindsNothingOpen) {
  // Lost before the coordinator saw them: the abort's EndTxn meets no
  // transaction (INVALID_TXN_STATE), which is then no error.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailTxnTransport("AddPartitionsToTxn", grpc::StatusCode::UNAVAILABLE, 1000000,
                           /*after_handling=*/false);
  std::future<absl::StatusOr<RecordMetadata>> sent = producer->Send(Rec(0, "a"));
  ASSERT_TRUE(WaitUntil([&] { return Entries(cluster, "AddPartitionsToTxn lost").size() >= 2; }));
  ASSERT_TRUE(producer->AbortTransaction().ok());
  EXPECT_TRUE(absl::IsAborted(sent.get().status()));
  EXPECT_EQ(Entries(cluster, "EndTxn"),
            (std::vector<std::string>{"EndTxn tx ABORT INVALID_TXN_STATE"}));
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady);
  cluster.FailTxnTransport("AddPartitionsToTxn", grpc::StatusCode::UNAVAILABLE, 0, false);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "b")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction().ok());
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx COMMIT");
}

TEST(ProducerTransactionTest, ALostAddOffsetsAnswerIsEndedAndTheEpochBumped) {
  // Offsets only, no records: nothing is known added, yet the coordinator
  // opened the transaction. The abort ends it, then bumps the epoch so a
  // late TxnOffsetCommit of the old epoch would be refused.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  FakeGroup group;
  group.generation = 5;
  cluster.SetGroup("g", group);
  ProducerConfig config = TxnConfig(cluster);
  config.max_block = absl::Milliseconds(300);
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions(absl::Seconds(5)).ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  cluster.FailTxnTransport("AddOffsetsToTxn", grpc::StatusCode::UNAVAILABLE, 1000000,
                           /*after_handling=*/true);
  absl::Status s = producer->SendOffsetsToTransaction(
      {{TopicPartition{"in", PartitionId(0)}, At(42)}}, {"g", 5, "member-1", std::nullopt});
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kAbortableError);
  cluster.FailTxnTransport("AddOffsetsToTxn", grpc::StatusCode::UNAVAILABLE, 0, true);
  ASSERT_TRUE(producer->AbortTransaction(absl::Seconds(5)).ok());
  EXPECT_EQ(Entries(cluster, "EndTxn"), (std::vector<std::string>{"EndTxn tx ABORT"}));
  EXPECT_EQ(Entries(cluster, "InitProducerId").back(), "InitProducerId tx 1000/1");
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "b")).get().ok());
  ASSERT_TRUE(producer->CommitTransaction(absl::Seconds(5)).ok());
  EXPECT_TRUE(cluster.Group("g").offsets.empty());
}

TEST(ProducerTransactionTest, ARecordRefusedAfterTheCommitBeganLeavesTheCommitAlone) {
  // The record passed Send's check while the transaction was open, then
  // failed (no such topic, after max.block.ms) while the commit was at the
  // coordinator: it never joined the transaction, and the commit stands.
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ProducerConfig config = TxnConfig(cluster);
  config.max_block = absl::Milliseconds(300);
  auto producer = MustCreate(config);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions(absl::Seconds(5)).ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  ProducerRecord missing = Rec(0, "x");
  missing.topic = "missing";
  // Send waits for the topic's metadata (max.block.ms) on its caller's
  // thread; EndTxn answers "loading" for ~1 s: the refusal comes meanwhile.
  absl::StatusOr<RecordMetadata> refused;
  std::thread sender([&] { refused = producer->Send(missing).get(); });
  absl::SleepFor(absl::Milliseconds(50));
  cluster.FailTxn("EndTxn", v1::COORDINATOR_LOAD_IN_PROGRESS, 100);
  absl::Status commit = producer->CommitTransaction(absl::Seconds(10));
  sender.join();
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(commit.ok()) << commit;
  EXPECT_EQ(producer->transaction_state(), TransactionState::kReady);
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx COMMIT");
  EXPECT_TRUE(cluster.AbortedBatchOffsets("t", 0).empty());
}

TEST(ProducerTransactionTest, CloseFinishesACommitThatTimedOut) {
  FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  auto producer = MustCreate(TxnConfig(cluster));
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
  cluster.FailTxn("EndTxn", v1::COORDINATOR_LOAD_IN_PROGRESS, 1000000);
  ASSERT_TRUE(absl::IsDeadlineExceeded(producer->CommitTransaction(absl::Milliseconds(200))));
  cluster.FailTxn("EndTxn", v1::NONE, 0);
  producer->Close();
  EXPECT_EQ(cluster.TxnLog().back(), "EndTxn tx COMMIT");
  EXPECT_TRUE(cluster.AbortedBatchOffsets("t", 0).empty());
}

TEST(ProducerTransactionTest, CloseRacingAnAbortOnAnotherThreadEndsTheTransactionOnce) {
  for (int round = 0; round < 10; ++round) {
    FakeCluster cluster(1);
    cluster.AddTopic("t", 1);
    auto producer = MustCreate(TxnConfig(cluster));
    ASSERT_NE(producer, nullptr);
    ASSERT_TRUE(producer->InitTransactions().ok());
    ASSERT_TRUE(producer->BeginTransaction().ok());
    ASSERT_TRUE(producer->Send(Rec(0, "a")).get().ok());
    absl::Status abort;
    std::thread other([&] { abort = producer->AbortTransaction(); });
    producer->Close();
    other.join();
    // Either the abort ran (and Close found nothing to end) or Close did
    // (and the abort found the producer closed).
    EXPECT_TRUE(abort.ok() || absl::IsFailedPrecondition(abort)) << abort;
    EXPECT_EQ(Entries(cluster, "EndTxn"), (std::vector<std::string>{"EndTxn tx ABORT"}))
        << "round " << round;
  }
}

}  // namespace
}  // namespace strata::client
