// The transaction coordinator (transaction_coordinator.h) against Kafka
// 3.x's TransactionCoordinator semantics. Everything nondeterministic is a
// fake the test drives: __transaction_state is an in-memory log whose
// appends can fail or be held unacknowledged, the marker sender records
// each WriteTxnMarkers call until the test answers it, the scheduler runs
// its tasks only when told (loads, retries), and time is a ManualClock.
#include "broker/txn/transaction_coordinator.h"

#include <atomic>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/group/group_metadata.h"
#include "broker/txn/transaction_records.h"
#include "client/common/clock.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata {
// Error codes print by name in failure messages.
static void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorName(code); }
}  // namespace strata

namespace strata::txn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using State = TransactionState;

constexpr int32_t kPartitions = 4;
constexpr int64_t kTimeoutMs = 60000;

// __transaction_state in memory. Appends are stored and acknowledged at
// once, or fail (nothing stored) for the next `n` calls, or are stored and
// held until the test releases them. Reads can fail.
class FakeTxnLog {
 public:
  using Done = TransactionCoordinatorOptions::AppendDone;

  void Append(int32_t partition, std::string batch, Done done) {
    std::function<void()> hook;
    {
      absl::MutexLock l(&mu_);
      hook = std::move(before_next_append_);
      before_next_append_ = nullptr;
    }
    if (hook) hook();
    ErrorCode fail = ErrorCode::kNone;
    {
      absl::MutexLock l(&mu_);
      ++appends_;
      if (fail_count_ > 0) {
        --fail_count_;
        fail = fail_with_;
      } else {
        Store(partition, std::move(batch));
        if (hold_) {
          held_.push_back(std::move(done));
          return;
        }
      }
    }
    if (fail != ErrorCode::kNone) {
      done(fail, "injected append failure", -1);
    } else {
      done(ErrorCode::kNone, "", 0);
    }
  }

  replication::FetchResult Read(int32_t partition, int64_t offset) {
    absl::MutexLock l(&mu_);
    replication::FetchResult r;
    if (read_failures_ > 0) {
      --read_failures_;
      r.error = ErrorCode::kKafkaStorageError;
      return r;
    }
    Partition& p = partitions_[partition];
    r.log_start_offset = 0;
    r.log_end_offset = p.next;
    r.high_watermark = p.next;
    for (size_t i = 0; i < p.batches.size(); ++i) {
      if (p.ends[i] > offset) r.records += p.batches[i];
    }
    return r;
  }

  // Sets byte `pos` of the `index`th batch of `partition` to `value`;
  // answers the byte it replaced (to put back).
  char Corrupt(int32_t partition, size_t index, size_t pos, char value) {
    absl::MutexLock l(&mu_);
    std::string& batch = partitions_[partition].batches.at(index);
    CHECK_LT(pos, batch.size());
    const char old = batch[pos];
    batch[pos] = value;
    return old;
  }

  // The next `n` appends fail with `error`.
  void FailNext(int n, ErrorCode error) {
    absl::MutexLock l(&mu_);
    fail_count_ = n;
    fail_with_ = error;
  }
  // Runs `hook` at the start of the next append, before it is stored.
  void BeforeNextAppend(std::function<void()> hook) {
    absl::MutexLock l(&mu_);
    before_next_append_ = std::move(hook);
  }
  void FailReads(int n) {
    absl::MutexLock l(&mu_);
    read_failures_ = n;
  }
  void Hold(bool hold) {
    absl::MutexLock l(&mu_);
    hold_ = hold;
  }
  int Held() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(held_.size());
  }
  // Acknowledges the oldest held append with `error`.
  void ReleaseOne(ErrorCode error = ErrorCode::kNone) {
    Done done;
    {
      absl::MutexLock l(&mu_);
      CHECK(!held_.empty());
      done = std::move(held_.front());
      held_.pop_front();
    }
    done(error, error == ErrorCode::kNone ? "" : "injected", 0);
  }
  int Appends() {
    absl::MutexLock l(&mu_);
    return appends_;
  }

  // Writes a record as an earlier coordinator would have (value nullopt:
  // a tombstone).
  void Put(int32_t partition, const std::string& key, std::optional<std::string> value) {
    record::RecordBatchBuilder b;
    record::Record r;
    r.key = key;
    r.value = std::move(value);
    b.Append(r);
    absl::MutexLock l(&mu_);
    Store(partition, b.Build());
  }

  // Every record of `partition` in order: (key, value or tombstone).
  std::vector<std::pair<std::string, std::optional<std::string>>> Records(int32_t partition) {
    absl::MutexLock l(&mu_);
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    for (const std::string& batch : partitions_[partition].batches) {
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      CHECK(records.ok()) << records.status();
      for (record::Record& r : *records) out.emplace_back(r.key.value_or(""), r.value);
    }
    return out;
  }

 private:
  struct Partition {
    int64_t next = 0;
    std::vector<std::string> batches;
    std::vector<int64_t> ends;  // each batch's next offset
  };
  void Store(int32_t partition, std::string batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Partition& p = partitions_[partition];
    record::SetBaseOffset(batch.data(), Offset(p.next));
    absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(batch);
    CHECK(h.ok()) << h.status();
    p.next = h->next_offset().value();
    p.batches.push_back(std::move(batch));
    p.ends.push_back(p.next);
  }

  absl::Mutex mu_;
  std::map<int32_t, Partition> partitions_ ABSL_GUARDED_BY(mu_);
  int fail_count_ ABSL_GUARDED_BY(mu_) = 0;
  ErrorCode fail_with_ ABSL_GUARDED_BY(mu_) = ErrorCode::kNone;
  int read_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Done> held_ ABSL_GUARDED_BY(mu_);
  int appends_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> before_next_append_ ABSL_GUARDED_BY(mu_);
};

// The WriteTxnMarkers sender: records each call until the test answers it.
class FakeMarkers {
 public:
  struct Call {
    MarkerRequest request;
    std::function<void(MarkerResults)> done;
  };

  void Send(MarkerRequest request, std::function<void(MarkerResults)> done) {
    absl::MutexLock l(&mu_);
    calls_.push_back({std::move(request), std::move(done)});
  }
  int Calls() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(calls_.size());
  }
  MarkerRequest Request(int i) {
    absl::MutexLock l(&mu_);
    CHECK_LT(i, static_cast<int>(calls_.size()));
    return calls_[i].request;
  }
  // Answers call `i`: every partition with `error`, except those in
  // `overrides`.
  void Answer(int i, ErrorCode error = ErrorCode::kNone,
              const std::map<TxnTopicPartition, ErrorCode>& overrides = {}) {
    std::function<void(MarkerResults)> done;
    MarkerResults results;
    {
      absl::MutexLock l(&mu_);
      CHECK_LT(i, static_cast<int>(calls_.size()));
      CHECK(calls_[i].done) << "call " << i << " was answered already";
      done = std::move(calls_[i].done);
      calls_[i].done = nullptr;
      for (const TxnTopicPartition& tp : calls_[i].request.partitions) {
        auto it = overrides.find(tp);
        results.emplace_back(tp, it == overrides.end() ? error : it->second);
      }
    }
    done(std::move(results));
  }
  void AnswerWith(int i, MarkerResults results) {
    std::function<void(MarkerResults)> done;
    {
      absl::MutexLock l(&mu_);
      done = std::move(calls_[i].done);
      calls_[i].done = nullptr;
    }
    done(std::move(results));
  }

 private:
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

// Runs scheduled tasks only when told, ignoring their delays.
class FakeScheduler {
 public:
  void Schedule(int64_t delay_ms, std::function<void()> task) {
    absl::MutexLock l(&mu_);
    delays_.push_back(delay_ms);
    tasks_.push_back(std::move(task));
  }
  // Runs what is queued, and what that queues, up to `limit` tasks.
  int RunAll(int limit = 100) {
    int ran = 0;
    while (ran < limit) {
      std::function<void()> task;
      {
        absl::MutexLock l(&mu_);
        if (tasks_.empty()) break;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
      ++ran;
    }
    return ran;
  }
  int Pending() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(tasks_.size());
  }
  std::vector<int64_t> Delays() {
    absl::MutexLock l(&mu_);
    return delays_;
  }

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> delays_ ABSL_GUARDED_BY(mu_);
};

// A completion's answer, once it came.
// The answer may come on another thread, so it is kept under a mutex.
template <typename T>
class Reply {
 public:
  std::function<void(T)> Callback() {
    return [s = state_](T r) {
      absl::MutexLock l(&s->mu);
      CHECK(!s->value.has_value()) << "answered twice";
      s->value = std::move(r);
    };
  }
  bool ready() const {
    absl::MutexLock l(&state_->mu);
    return state_->value.has_value();
  }
  // Once answered the value never changes, so the reference stays valid.
  const T& get() const {
    absl::MutexLock l(&state_->mu);
    CHECK(state_->value.has_value()) << "no answer yet";
    return *state_->value;
  }

 private:
  struct State {
    absl::Mutex mu;
    std::optional<T> value ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct ProducerIdEpoch {
  int64_t id = -1;
  int16_t epoch = -1;
};

class TransactionCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override { coordinator_ = Make(); }

  std::unique_ptr<TransactionCoordinator> Make() {
    TransactionCoordinatorOptions o;
    o.broker_id = 1;
    o.transaction_state_partitions = kPartitions;
    o.offsets_topic_partitions = 50;
    o.clock = &clock_;
    o.append = [this](int32_t p, std::string batch, FakeTxnLog::Done done) {
      log_.Append(p, std::move(batch), std::move(done));
    };
    o.read = [this](int32_t p, int64_t offset) { return log_.Read(p, offset); };
    o.generate_producer_id = [this]() -> absl::StatusOr<int64_t> {
      if (producer_ids_unavailable_) return absl::UnavailableError("no block yet");
      return next_producer_id_++;
    };
    o.send_markers = [this](MarkerRequest r, std::function<void(MarkerResults)> done) {
      markers_.Send(std::move(r), std::move(done));
    };
    o.transaction_state_partition_count = [this] { return txn_partition_count_.load(); };
    if (with_partition_exists_) {
      o.partition_exists = [this](const std::string& topic, int32_t) {
        absl::MutexLock l(&topics_mu_);
        return !deleted_topics_.contains(topic);
      };
    }
    o.schedule = [this](int64_t delay, std::function<void()> task) {
      scheduler_.Schedule(delay, std::move(task));
    };
    return std::make_unique<TransactionCoordinator>(std::move(o));
  }

  // Leads (and loads) every partition in `epoch`.
  void LeadAll(int32_t epoch = 1) {
    for (int32_t p = 0; p < kPartitions; ++p) coordinator_->OnBecameLeader(p, epoch);
    scheduler_.RunAll();
    ASSERT_FALSE(coordinator_->Loading());
  }

  void DeleteTopic(const std::string& topic) {
    absl::MutexLock l(&topics_mu_);
    deleted_topics_.insert(topic);
  }

  InitProducerIdResponse Init(const std::string& id, int64_t pid = -1, int16_t epoch = -1,
                              int32_t timeout_ms = kTimeoutMs) {
    Reply<InitProducerIdResponse> r = InitAsync(id, pid, epoch, timeout_ms);
    EXPECT_TRUE(r.ready()) << "InitProducerId did not answer";
    return r.ready() ? r.get() : InitProducerIdResponse{};
  }
  Reply<InitProducerIdResponse> InitAsync(const std::string& id, int64_t pid = -1,
                                          int16_t epoch = -1, int32_t timeout_ms = kTimeoutMs) {
    InitProducerIdRequest req;
    req.transactional_id = id;
    req.transaction_timeout_ms = timeout_ms;
    req.producer_id = pid;
    req.producer_epoch = epoch;
    Reply<InitProducerIdResponse> r;
    coordinator_->InitProducerId(req, r.Callback());
    return r;
  }
  ProducerIdEpoch InitOk(const std::string& id) {
    InitProducerIdResponse r = Init(id);
    EXPECT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
    return {r.producer_id, r.producer_epoch};
  }

  Reply<AddPartitionsToTxnResponse> AddAsync(const std::string& id, ProducerIdEpoch p,
                                             std::vector<TxnTopicPartition> tps) {
    AddPartitionsToTxnRequest req;
    req.transactional_id = id;
    req.producer_id = p.id;
    req.producer_epoch = p.epoch;
    req.partitions = std::move(tps);
    Reply<AddPartitionsToTxnResponse> r;
    coordinator_->AddPartitionsToTxn(req, r.Callback());
    return r;
  }
  // The one error every partition got.
  ErrorCode Add(const std::string& id, ProducerIdEpoch p, std::vector<TxnTopicPartition> tps) {
    Reply<AddPartitionsToTxnResponse> r = AddAsync(id, p, tps);
    EXPECT_TRUE(r.ready());
    if (!r.ready()) return ErrorCode::kUnknownServerError;
    std::set<ErrorCode> errors;
    for (const auto& [tp, e] : r.get().results) errors.insert(e);
    EXPECT_EQ(errors.size(), 1u) << r.get().message;
    return errors.empty() ? ErrorCode::kNone : *errors.begin();
  }

  Reply<TxnResult> EndAsync(const std::string& id, ProducerIdEpoch p, bool commit) {
    EndTxnRequest req;
    req.transactional_id = id;
    req.producer_id = p.id;
    req.producer_epoch = p.epoch;
    req.committed = commit;
    Reply<TxnResult> r;
    coordinator_->EndTxn(req, r.Callback());
    return r;
  }
  ErrorCode End(const std::string& id, ProducerIdEpoch p, bool commit) {
    Reply<TxnResult> r = EndAsync(id, p, commit);
    EXPECT_TRUE(r.ready());
    return r.ready() ? r.get().error : ErrorCode::kUnknownServerError;
  }

  TransactionDescription Describe(const std::string& id) {
    std::vector<TransactionDescription> d = coordinator_->DescribeTransactions({id});
    CHECK_EQ(d.size(), 1u);
    return d[0];
  }
  std::string StateOf(const std::string& id) { return Describe(id).state; }

  // The last value written for `id`: nullopt if none; a nullopt value for
  // a tombstone.
  std::optional<std::optional<TransactionLogValue>> Last(const std::string& id) {
    std::optional<std::optional<TransactionLogValue>> out;
    for (auto& [key, value] : log_.Records(coordinator_->PartitionFor(id))) {
      absl::StatusOr<std::string> k = DecodeKey(key);
      if (!k.ok() || *k != id) continue;
      if (!value) {
        out = std::optional<TransactionLogValue>();
        continue;
      }
      absl::StatusOr<TransactionLogValue> v = DecodeValue(*value);
      CHECK(v.ok()) << v.status();
      out = *v;
    }
    return out;
  }
  bool IsTombstone(const std::string& id) {
    auto v = Last(id);
    return v.has_value() && !v->has_value();
  }
  State LastState(const std::string& id) {
    auto v = Last(id);
    CHECK(v.has_value() && v->has_value()) << "no value for " << id;
    return (*v)->state;
  }
  // A transaction Ongoing with `tps`.
  ProducerIdEpoch Begin(const std::string& id, std::vector<TxnTopicPartition> tps) {
    ProducerIdEpoch p = InitOk(id);
    EXPECT_EQ(Add(id, p, std::move(tps)), ErrorCode::kNone);
    return p;
  }

  ManualClock clock_;
  FakeTxnLog log_;
  FakeMarkers markers_;
  FakeScheduler scheduler_;
  std::atomic<int64_t> next_producer_id_{1000};
  // What transaction_state_partition_count answers (<= 0: kPartitions).
  std::atomic<int32_t> txn_partition_count_{0};
  bool with_partition_exists_ = true;
  bool producer_ids_unavailable_ = false;
  absl::Mutex topics_mu_;
  std::set<std::string> deleted_topics_ ABSL_GUARDED_BY(topics_mu_);
  std::unique_ptr<TransactionCoordinator> coordinator_;
};

const TxnTopicPartition kOrders0{"orders", 0};
const TxnTopicPartition kOrders1{"orders", 1};
const TxnTopicPartition kPayments0{"payments", 0};

// --- Placement and loading ---

TEST_F(TransactionCoordinatorTest, PartitionForIsKafkasAbsHashModCount) {
  for (const std::string id : {"app", "payments-app", "transactional-id-17", ""}) {
    const int32_t hash = group::JavaStringHashCode(id);
    const int32_t expected = (hash < 0 ? -hash : hash) % kPartitions;
    EXPECT_EQ(coordinator_->PartitionFor(id), expected) << id;
  }
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE; Utils.abs maps
  // it to 0.
  ASSERT_EQ(group::JavaStringHashCode("polygenelubricants"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(coordinator_->PartitionFor("polygenelubricants"), 0);
}

TEST_F(TransactionCoordinatorTest, NotCoordinatorUntilLedAndLoadInProgressUntilLoaded) {
  EXPECT_EQ(Init("app").result.error, ErrorCode::kNotCoordinator);
  const int32_t p = coordinator_->PartitionFor("app");
  coordinator_->OnBecameLeader(p, 1);
  EXPECT_TRUE(coordinator_->Loading());
  EXPECT_FALSE(coordinator_->IsCoordinatorFor("app"));
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorLoadInProgress);
  EXPECT_EQ(Describe("app").result.error, ErrorCode::kCoordinatorLoadInProgress);
  EXPECT_EQ(coordinator_->ListTransactions({}).result.error, ErrorCode::kCoordinatorLoadInProgress);
  scheduler_.RunAll();
  EXPECT_TRUE(coordinator_->IsCoordinatorFor("app"));
  EXPECT_EQ(Init("app").result.error, ErrorCode::kNone);
  // An id of another partition is still not ours.
  std::string other;
  for (int i = 0; other.empty() || coordinator_->PartitionFor(other) == p; ++i) {
    other = "id-" + std::to_string(i);
  }
  EXPECT_EQ(Init(other).result.error, ErrorCode::kNotCoordinator);
}

TEST_F(TransactionCoordinatorTest, AFailedReadRetriesTheLoadAfterABackoff) {
  log_.FailReads(1);
  coordinator_->OnBecameLeader(0, 1);
  EXPECT_EQ(scheduler_.RunAll(1), 1);
  EXPECT_TRUE(coordinator_->Loading());
  scheduler_.RunAll();
  EXPECT_FALSE(coordinator_->Loading());
  EXPECT_THAT(scheduler_.Delays(), ElementsAre(0, 100));
}

// --- InitProducerId ---

TEST_F(TransactionCoordinatorTest, NewIdGetsAFreshProducerIdAtEpochZeroOnceWritten) {
  LeadAll();
  log_.Hold(true);
  Reply<InitProducerIdResponse> r = InitAsync("app");
  EXPECT_FALSE(r.ready());  // not before the Empty record is durable
  EXPECT_EQ(log_.Held(), 1);
  log_.ReleaseOne();
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.get().result.error, ErrorCode::kNone);
  EXPECT_EQ(r.get().producer_id, 1000);
  EXPECT_EQ(r.get().producer_epoch, 0);
  auto v = Last("app");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->state, State::kEmpty);
  EXPECT_EQ((*v)->producer_id, 1000);
  EXPECT_EQ((*v)->producer_epoch, 0);
  EXPECT_EQ((*v)->transaction_timeout_ms, kTimeoutMs);
  EXPECT_EQ((*v)->start_timestamp_ms, -1);
  EXPECT_EQ((*v)->last_update_timestamp_ms, clock_.NowMs());
  EXPECT_EQ(StateOf("app"), "Empty");
}

TEST_F(TransactionCoordinatorTest, ConcurrentInitWhileTheRecordIsInFlight) {
  LeadAll();
  log_.Hold(true);
  Reply<InitProducerIdResponse> first = InitAsync("app");
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
  log_.ReleaseOne();
  EXPECT_EQ(first.get().producer_epoch, 0);
}

TEST_F(TransactionCoordinatorTest, InitAgainBumpsTheEpochOfTheSameProducerId) {
  LeadAll();
  ProducerIdEpoch a = InitOk("app");
  ProducerIdEpoch b = InitOk("app");
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.epoch, 1);
  // The old producer is fenced.
  EXPECT_EQ(Add("app", a, {kOrders0}), ErrorCode::kProducerFenced);
  // After a completed transaction too.
  ASSERT_EQ(Add("app", b, {kOrders0}), ErrorCode::kNone);
  ASSERT_EQ(End("app", b, /*commit=*/true), ErrorCode::kNone);
  markers_.Answer(0);
  EXPECT_EQ(StateOf("app"), "CompleteCommit");
  ProducerIdEpoch c = InitOk("app");
  EXPECT_EQ(c.id, a.id);
  EXPECT_EQ(c.epoch, 2);
}

TEST_F(TransactionCoordinatorTest, Kip360BumpWithTheCurrentEpochAndRetries) {
  LeadAll();
  ProducerIdEpoch a = InitOk("app");  // epoch 0
  // The producer hit an abortable error and asks for a bump.
  InitProducerIdResponse r = Init("app", a.id, a.epoch);
  ASSERT_EQ(r.result.error, ErrorCode::kNone);
  EXPECT_EQ(r.producer_id, a.id);
  EXPECT_EQ(r.producer_epoch, 1);
  // Its retry (the answer was lost) gets the same epoch back.
  r = Init("app", a.id, a.epoch);
  ASSERT_EQ(r.result.error, ErrorCode::kNone);
  EXPECT_EQ(r.producer_epoch, 1);
  // A new producer (no expected epoch) bumps and forgets the last epoch,
  // so the old one's retry is now fenced.
  EXPECT_EQ(InitOk("app").epoch, 2);
  EXPECT_EQ(Init("app", a.id, a.epoch).result.error, ErrorCode::kProducerFenced);
  // Someone else's producer id is fenced too.
  EXPECT_EQ(Init("app", a.id + 50, 2).result.error, ErrorCode::kProducerFenced);
  // Before KIP-588 (InitProducerId < v4) that is INVALID_PRODUCER_EPOCH.
  InitProducerIdRequest old;
  old.transactional_id = "app";
  old.transaction_timeout_ms = kTimeoutMs;
  old.producer_id = a.id;
  old.producer_epoch = 0;
  old.producer_fenced_supported = false;
  Reply<InitProducerIdResponse> reply;
  coordinator_->InitProducerId(old, reply.Callback());
  EXPECT_EQ(reply.get().result.error, ErrorCode::kInvalidProducerEpoch);
}

TEST_F(TransactionCoordinatorTest, InvalidInitRequests) {
  LeadAll();
  EXPECT_EQ(Init("app", -1, -1, 900001).result.error, ErrorCode::kInvalidTransactionTimeout);
  EXPECT_EQ(Init("app", -1, -1, 0).result.error, ErrorCode::kInvalidTransactionTimeout);
  EXPECT_EQ(Init("app", -1, -1, 900000).result.error, ErrorCode::kNone);
  EXPECT_EQ(Init("app", 5, -1).result.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(Init("app", -1, 3).result.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(Init("").result.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(Init(std::string(kMaxRecordStringBytes + 1, 'a')).result.error,
            ErrorCode::kInvalidRequest);
}

TEST_F(TransactionCoordinatorTest, IdempotentProducerGetsAnIdAndNothingIsWritten) {
  InitProducerIdRequest req;  // no transactional id; no partition led even
  Reply<InitProducerIdResponse> r;
  coordinator_->InitProducerId(req, r.Callback());
  EXPECT_EQ(r.get().result.error, ErrorCode::kNone);
  EXPECT_EQ(r.get().producer_id, 1000);
  EXPECT_EQ(r.get().producer_epoch, 0);
  EXPECT_EQ(log_.Appends(), 0);
  producer_ids_unavailable_ = true;
  Reply<InitProducerIdResponse> r2;
  coordinator_->InitProducerId(req, r2.Callback());
  EXPECT_EQ(r2.get().result.error, ErrorCode::kCoordinatorLoadInProgress);
}

TEST_F(TransactionCoordinatorTest, NoProducerIdAtHandIsLoadInProgressAndNothingIsKept) {
  LeadAll();
  producer_ids_unavailable_ = true;
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorLoadInProgress);
  EXPECT_EQ(Describe("app").result.error, ErrorCode::kTransactionalIdNotFound);
  producer_ids_unavailable_ = false;
  EXPECT_EQ(InitOk("app").id, 1000);
}

TEST_F(TransactionCoordinatorTest, ExhaustedEpochRotatesToANewProducerId) {
  // A log where "app" is idle at epoch Short.MaxValue - 1.
  TransactionLogValue v;
  v.producer_id = 555;
  v.producer_epoch = 32766;
  v.transaction_timeout_ms = kTimeoutMs;
  v.state = State::kCompleteCommit;
  v.start_timestamp_ms = 1;
  v.last_update_timestamp_ms = 2;
  log_.Put(coordinator_->PartitionFor("app"), EncodeKey("app"), EncodeValue(v));
  LeadAll();
  // KIP-360 producer at the exhausted epoch: a new id, epoch 0.
  InitProducerIdResponse r = Init("app", 555, 32766);
  ASSERT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(LastState("app"), State::kEmpty);
  EXPECT_EQ((*Last("app"))->producer_id, 1000);
  // Its retry (answer lost) names the old id: the same answer.
  r = Init("app", 555, 32766);
  ASSERT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(next_producer_id_, 1001);
}

TEST_F(TransactionCoordinatorTest, ExhaustedEpochWithoutExpectationRotatesToo) {
  TransactionLogValue v;
  v.producer_id = 555;
  v.producer_epoch = 32767;  // after a fence
  v.transaction_timeout_ms = kTimeoutMs;
  v.state = State::kCompleteAbort;
  v.start_timestamp_ms = 1;
  v.last_update_timestamp_ms = 2;
  log_.Put(coordinator_->PartitionFor("app"), EncodeKey("app"), EncodeValue(v));
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  EXPECT_EQ(p.id, 1000);
  EXPECT_EQ(p.epoch, 0);
}

TEST_F(TransactionCoordinatorTest, AppendErrorsAreMappedAndLeaveTheIdUsable) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  const std::vector<std::pair<ErrorCode, ErrorCode>> cases = {
      {ErrorCode::kNotEnoughReplicas, ErrorCode::kCoordinatorNotAvailable},
      {ErrorCode::kRequestTimedOut, ErrorCode::kCoordinatorNotAvailable},
      {ErrorCode::kNotLeaderOrFollower, ErrorCode::kNotCoordinator},
      {ErrorCode::kKafkaStorageError, ErrorCode::kNotCoordinator},
      {ErrorCode::kMessageTooLarge, ErrorCode::kUnknownServerError}};
  for (const auto& [append, client] : cases) {
    log_.FailNext(1, append);
    EXPECT_EQ(Add("app", p, {kOrders0}), client) << ErrorName(append);
    EXPECT_EQ(StateOf("app"), "Empty");  // nothing took effect
  }
  EXPECT_EQ(Add("app", p, {kOrders0}), ErrorCode::kNone);
  EXPECT_EQ(StateOf("app"), "Ongoing");
}

TEST_F(TransactionCoordinatorTest, ANewIdWhoseFirstWriteFailedStartsAgainFromNoEpoch) {
  LeadAll();
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorNotAvailable);
  ProducerIdEpoch p = InitOk("app");
  EXPECT_EQ(p.id, 1000);  // kept in memory, as Kafka does
  EXPECT_EQ(p.epoch, 0);
}

// --- AddPartitionsToTxn / AddOffsetsToTxn ---

TEST_F(TransactionCoordinatorTest, AddPartitionsStartsTheTransaction) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  const int64_t start = clock_.NowMs() + 10;
  clock_.SetMs(start);
  EXPECT_EQ(Add("app", p, {kOrders1, kOrders0}), ErrorCode::kNone);
  auto v = Last("app");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->state, State::kOngoing);
  EXPECT_EQ((*v)->partitions, (std::set<TxnTopicPartition>{kOrders0, kOrders1}));
  EXPECT_EQ((*v)->start_timestamp_ms, start);
  // More partitions keep the start time.
  clock_.AdvanceMs(5);
  EXPECT_EQ(Add("app", p, {kPayments0}), ErrorCode::kNone);
  EXPECT_EQ((*Last("app"))->start_timestamp_ms, start);
  EXPECT_EQ((*Last("app"))->last_update_timestamp_ms, start + 5);
  // Partitions already in it are answered at once, with no record.
  const int appends = log_.Appends();
  EXPECT_EQ(Add("app", p, {kOrders0, kPayments0}), ErrorCode::kNone);
  EXPECT_EQ(log_.Appends(), appends);
  TransactionDescription d = Describe("app");
  EXPECT_EQ(d.state, "Ongoing");
  EXPECT_EQ(d.transaction_start_time_ms, start);
  EXPECT_THAT(d.partitions, ElementsAre(kOrders0, kOrders1, kPayments0));
}

TEST_F(TransactionCoordinatorTest, AddPartitionsErrors) {
  LeadAll();
  EXPECT_EQ(Add("unknown", {1000, 0}, {kOrders0}), ErrorCode::kInvalidProducerIdMapping);
  ProducerIdEpoch p = InitOk("app");
  EXPECT_EQ(Add("app", {p.id + 1, p.epoch}, {kOrders0}), ErrorCode::kInvalidProducerIdMapping);
  EXPECT_EQ(Add("app", {p.id, static_cast<int16_t>(p.epoch + 1)}, {kOrders0}),
            ErrorCode::kProducerFenced);
  EXPECT_EQ(Add("", p, {kOrders0}), ErrorCode::kInvalidRequest);
  // In flight: CONCURRENT_TRANSACTIONS.
  log_.Hold(true);
  Reply<AddPartitionsToTxnResponse> first = AddAsync("app", p, {kOrders0});
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kConcurrentTransactions);
  log_.ReleaseOne();
  EXPECT_THAT(first.get().results, ElementsAre(std::make_pair(kOrders0, ErrorCode::kNone)));
  log_.Hold(false);
  // Preparing: CONCURRENT_TRANSACTIONS.
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kConcurrentTransactions);
}

TEST_F(TransactionCoordinatorTest, UnknownPartitionsFailTheRequestAndTheRestAreNotAttempted) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  DeleteTopic("payments");
  Reply<AddPartitionsToTxnResponse> r = AddAsync("app", p, {kPayments0, kOrders0});
  EXPECT_THAT(r.get().results,
              ElementsAre(std::make_pair(kOrders0, ErrorCode::kOperationNotAttempted),
                          std::make_pair(kPayments0, ErrorCode::kUnknownTopicOrPartition)));
  EXPECT_EQ(StateOf("app"), "Empty");
}

TEST_F(TransactionCoordinatorTest, AddOffsetsAddsTheGroupsOffsetsPartition) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  AddOffsetsToTxnRequest req;
  req.transactional_id = "app";
  req.producer_id = p.id;
  req.producer_epoch = p.epoch;
  req.group_id = "orders-app";
  Reply<TxnResult> r;
  coordinator_->AddOffsetsToTxn(req, r.Callback());
  EXPECT_EQ(r.get().error, ErrorCode::kNone);
  const TxnTopicPartition offsets{"__consumer_offsets",
                                  group::OffsetsPartitionFor("orders-app", 50)};
  EXPECT_EQ((*Last("app"))->partitions, (std::set<TxnTopicPartition>{offsets}));
  // Fenced, in both dialects.
  req.producer_epoch = static_cast<int16_t>(p.epoch + 1);
  Reply<TxnResult> fenced;
  coordinator_->AddOffsetsToTxn(req, fenced.Callback());
  EXPECT_EQ(fenced.get().error, ErrorCode::kProducerFenced);
  req.producer_fenced_supported = false;
  Reply<TxnResult> old;
  coordinator_->AddOffsetsToTxn(req, old.Callback());
  EXPECT_EQ(old.get().error, ErrorCode::kInvalidProducerEpoch);
}

// --- EndTxn ---

TEST_F(TransactionCoordinatorTest, CommitWritesPrepareAnswersThenMarkersThenComplete) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0, kPayments0});
  log_.Hold(true);
  Reply<TxnResult> end = EndAsync("app", p, /*commit=*/true);
  EXPECT_FALSE(end.ready());  // not before PrepareCommit is durable
  EXPECT_EQ(markers_.Calls(), 0);
  log_.ReleaseOne();
  log_.Hold(false);
  ASSERT_TRUE(end.ready());
  EXPECT_EQ(end.get().error, ErrorCode::kNone);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
  EXPECT_EQ((*Last("app"))->partitions, (std::set<TxnTopicPartition>{kOrders0, kPayments0}));
  ASSERT_EQ(markers_.Calls(), 1);
  MarkerRequest m = markers_.Request(0);
  EXPECT_EQ(m.producer_id, p.id);
  EXPECT_EQ(m.producer_epoch, p.epoch);
  EXPECT_EQ(m.result, TransactionResult::kCommit);
  EXPECT_EQ(m.coordinator_epoch, 1);
  EXPECT_THAT(m.partitions, ElementsAre(kOrders0, kPayments0));
  // While the markers are out, the id is busy.
  EXPECT_EQ(StateOf("app"), "PrepareCommit");
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(End("app", p, true), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(End("app", p, false), ErrorCode::kConcurrentTransactions);  // pending Complete
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  EXPECT_TRUE((*Last("app"))->partitions.empty());
  EXPECT_EQ(StateOf("app"), "CompleteCommit");
  // A retried EndTxn of the same outcome is fine; the other is not.
  EXPECT_EQ(End("app", p, true), ErrorCode::kNone);
  EXPECT_EQ(End("app", p, false), ErrorCode::kInvalidTxnState);
  // The next transaction starts from CompleteCommit.
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kNone);
  EXPECT_EQ(StateOf("app"), "Ongoing");
}

TEST_F(TransactionCoordinatorTest, AbortIsTheSameWithAbortMarkers) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, /*commit=*/false), ErrorCode::kNone);
  EXPECT_EQ(LastState("app"), State::kPrepareAbort);
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).result, TransactionResult::kAbort);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteAbort);
  EXPECT_EQ(End("app", p, false), ErrorCode::kNone);
  EXPECT_EQ(End("app", p, true), ErrorCode::kInvalidTxnState);
}

TEST_F(TransactionCoordinatorTest, PrepareWithNothingPendingAnswersByOutcome) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  // The Complete write fails because the coordinator moved: PrepareCommit
  // stays, nothing pending.
  log_.FailNext(1, ErrorCode::kNotLeaderOrFollower);
  markers_.Answer(0);
  EXPECT_EQ(scheduler_.Pending(), 0);
  EXPECT_EQ(StateOf("app"), "PrepareCommit");
  EXPECT_EQ(End("app", p, true), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(End("app", p, false), ErrorCode::kInvalidTxnState);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kConcurrentTransactions);
}

TEST_F(TransactionCoordinatorTest, EndTxnErrors) {
  LeadAll();
  EXPECT_EQ(End("unknown", {1, 0}, true), ErrorCode::kInvalidProducerIdMapping);
  ProducerIdEpoch p = InitOk("app");
  EXPECT_EQ(End("app", p, true), ErrorCode::kInvalidTxnState);  // Empty
  EXPECT_EQ(End("app", p, false), ErrorCode::kInvalidTxnState);
  ASSERT_EQ(Add("app", p, {kOrders0}), ErrorCode::kNone);
  EXPECT_EQ(End("app", {p.id + 1, p.epoch}, true), ErrorCode::kInvalidProducerIdMapping);
  EXPECT_EQ(End("app", {p.id, static_cast<int16_t>(p.epoch + 1)}, true),
            ErrorCode::kProducerFenced);
  EndTxnRequest old;
  old.transactional_id = "app";
  old.producer_id = p.id;
  old.producer_epoch = static_cast<int16_t>(p.epoch + 1);
  old.committed = true;
  old.producer_fenced_supported = false;
  Reply<TxnResult> r;
  coordinator_->EndTxn(old, r.Callback());
  EXPECT_EQ(r.get().error, ErrorCode::kInvalidProducerEpoch);
  EXPECT_EQ(StateOf("app"), "Ongoing");
}

TEST_F(TransactionCoordinatorTest, ATransactionWithNoPartitionsCompletesWithoutMarkers) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  Reply<AddPartitionsToTxnResponse> added = AddAsync("app", p, {});
  ASSERT_TRUE(added.ready());
  EXPECT_THAT(added.get().results, IsEmpty());
  EXPECT_EQ(StateOf("app"), "Ongoing");
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  EXPECT_EQ(markers_.Calls(), 0);
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  EXPECT_EQ(StateOf("app"), "CompleteCommit");
}

TEST_F(TransactionCoordinatorTest, AFailedPrepareWriteLeavesTheTransactionOngoing) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  EXPECT_EQ(End("app", p, true), ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(StateOf("app"), "Ongoing");
  EXPECT_EQ(markers_.Calls(), 0);
  EXPECT_EQ(End("app", p, true), ErrorCode::kNone);
}

// --- Markers ---

TEST_F(TransactionCoordinatorTest, RetriableMarkerErrorsAreRetriedForThosePartitionsOnly) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0, kPayments0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  markers_.Answer(0, ErrorCode::kNone, {{kPayments0, ErrorCode::kNotLeaderOrFollower}});
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);  // not complete yet
  EXPECT_THAT(Describe("app").partitions, ElementsAre(kPayments0));
  EXPECT_EQ(markers_.Calls(), 1);
  ASSERT_EQ(scheduler_.Pending(), 1);
  EXPECT_EQ(scheduler_.Delays().back(), 100);
  scheduler_.RunAll();
  ASSERT_EQ(markers_.Calls(), 2);
  EXPECT_THAT(markers_.Request(1).partitions, ElementsAre(kPayments0));
  // A request timeout and an unanswered partition: again.
  markers_.AnswerWith(1, {});
  scheduler_.RunAll();
  ASSERT_EQ(markers_.Calls(), 3);
  markers_.Answer(2, ErrorCode::kRequestTimedOut);
  scheduler_.RunAll();
  ASSERT_EQ(markers_.Calls(), 4);
  markers_.Answer(3);
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  EXPECT_EQ(scheduler_.Pending(), 0);
}

TEST_F(TransactionCoordinatorTest, MarkersForADeletedTopicAreDropped) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0, kPayments0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  markers_.Answer(0, ErrorCode::kNone, {{kPayments0, ErrorCode::kUnknownTopicOrPartition}});
  DeleteTopic("payments");
  scheduler_.RunAll();
  EXPECT_EQ(markers_.Calls(), 1);  // nothing left to send
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
}

TEST_F(TransactionCoordinatorTest, AllPartitionsDeletedBeforeTheFirstRoundCompletesAtOnce) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kPayments0});
  DeleteTopic("payments");
  ASSERT_EQ(End("app", p, false), ErrorCode::kNone);
  EXPECT_EQ(markers_.Calls(), 0);
  EXPECT_EQ(LastState("app"), State::kCompleteAbort);
}

TEST_F(TransactionCoordinatorTest, AFencedCoordinatorStopsSendingMarkers) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  markers_.Answer(0, ErrorCode::kTransactionCoordinatorFenced);
  EXPECT_EQ(scheduler_.Pending(), 0);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
  // The id stays busy until the partition moves on.
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
}

TEST_F(TransactionCoordinatorTest, AFailedCompleteWriteIsRetriedWhenRetriable) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);  // still pending
  ASSERT_EQ(scheduler_.Pending(), 1);
  scheduler_.RunAll();
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  EXPECT_EQ(StateOf("app"), "CompleteCommit");
}

TEST_F(TransactionCoordinatorTest, CallbacksRunWithoutTheLockHeld) {
  // Every fake answers inside the call: a coordinator that called out with
  // its lock held would deadlock here.
  TransactionCoordinatorOptions o;
  o.transaction_state_partitions = 1;
  o.clock = &clock_;
  o.append = [this](int32_t p, std::string batch, FakeTxnLog::Done done) {
    log_.Append(p, std::move(batch), std::move(done));
  };
  o.read = [this](int32_t p, int64_t offset) { return log_.Read(p, offset); };
  o.generate_producer_id = []() -> absl::StatusOr<int64_t> { return 7; };
  TransactionCoordinator* self = nullptr;
  o.send_markers = [&self](MarkerRequest r, std::function<void(MarkerResults)> done) {
    EXPECT_TRUE(self->IsCoordinatorFor("app"));  // takes the lock
    MarkerResults results;
    for (const TxnTopicPartition& tp : r.partitions) results.emplace_back(tp, ErrorCode::kNone);
    done(results);
  };
  o.partition_exists = [&self](const std::string&, int32_t) {
    return self->IsCoordinatorFor("app");
  };
  o.schedule = [](int64_t, std::function<void()> task) { task(); };
  TransactionCoordinator c(std::move(o));
  self = &c;
  c.OnBecameLeader(0, 1);
  InitProducerIdRequest init;
  init.transactional_id = "app";
  Reply<InitProducerIdResponse> pid;
  c.InitProducerId(init, pid.Callback());
  ASSERT_EQ(pid.get().result.error, ErrorCode::kNone);
  AddPartitionsToTxnRequest add;
  add.transactional_id = "app";
  add.producer_id = pid.get().producer_id;
  add.producer_epoch = pid.get().producer_epoch;
  add.partitions = {kOrders0};
  Reply<AddPartitionsToTxnResponse> added;
  c.AddPartitionsToTxn(add, added.Callback());
  ASSERT_TRUE(added.ready());
  EndTxnRequest end;
  end.transactional_id = "app";
  end.producer_id = add.producer_id;
  end.producer_epoch = add.producer_epoch;
  end.committed = true;
  Reply<TxnResult> ended;
  c.EndTxn(end, ended.Callback());
  EXPECT_EQ(ended.get().error, ErrorCode::kNone);
  EXPECT_EQ(c.DescribeTransactions({"app"})[0].state, "CompleteCommit");
}

// --- Fencing ---

TEST_F(TransactionCoordinatorTest, InitOnAnOngoingTransactionFencesAndAbortsIt) {
  LeadAll();
  ProducerIdEpoch old = Begin("app", {kOrders0});
  InitProducerIdResponse r = Init("app");
  EXPECT_EQ(r.result.error, ErrorCode::kConcurrentTransactions);
  // Aborted with the bumped epoch, which the old producer does not have.
  auto v = Last("app");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->state, State::kPrepareAbort);
  EXPECT_EQ((*v)->producer_epoch, old.epoch + 1);
  EXPECT_EQ(Add("app", old, {kOrders1}), ErrorCode::kProducerFenced);
  EXPECT_EQ(End("app", old, true), ErrorCode::kProducerFenced);
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).result, TransactionResult::kAbort);
  EXPECT_EQ(markers_.Request(0).producer_epoch, old.epoch + 1);
  // Still aborting: the retry is told to wait.
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteAbort);
  ProducerIdEpoch next = InitOk("app");
  EXPECT_EQ(next.id, old.id);
  EXPECT_EQ(next.epoch, old.epoch + 2);
}

TEST_F(TransactionCoordinatorTest, AFenceWhoseWriteFailedDoesNotBumpTwice) {
  LeadAll();
  ProducerIdEpoch old = Begin("app", {kOrders0});
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorNotAvailable);
  // The old producer is fenced in memory anyway.
  EXPECT_EQ(Add("app", old, {kOrders1}), ErrorCode::kProducerFenced);
  EXPECT_EQ(StateOf("app"), "Ongoing");
  EXPECT_EQ(Init("app").result.error, ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(LastState("app"), State::kPrepareAbort);
  EXPECT_EQ((*Last("app"))->producer_epoch, old.epoch + 1);
}

// --- Timeouts ---

TEST_F(TransactionCoordinatorTest, TimedOutTransactionsAreAbortedWithAnEpochBump) {
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  const int64_t start = clock_.NowMs();
  ASSERT_EQ(Add("app", p, {kOrders0}), ErrorCode::kNone);
  ProducerIdEpoch idle = InitOk("idle");
  clock_.SetMs(start + kTimeoutMs);
  coordinator_->AbortTimedOutTransactions();
  EXPECT_EQ(StateOf("app"), "Ongoing");  // start + timeout < now is needed
  clock_.AdvanceMs(1);
  coordinator_->AbortTimedOutTransactions();
  EXPECT_EQ(LastState("app"), State::kPrepareAbort);
  EXPECT_EQ((*Last("app"))->producer_epoch, p.epoch + 1);
  EXPECT_EQ(LastState("idle"), State::kEmpty);  // not Ongoing: untouched
  EXPECT_EQ(Describe("idle").producer_epoch, idle.epoch);
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).result, TransactionResult::kAbort);
  // Running again while the markers are out does nothing more.
  coordinator_->AbortTimedOutTransactions();
  EXPECT_EQ(markers_.Calls(), 1);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteAbort);
  // The producer is fenced; its EndTxn too.
  EXPECT_EQ(Add("app", p, {kOrders1}), ErrorCode::kProducerFenced);
  EXPECT_EQ(End("app", p, true), ErrorCode::kProducerFenced);
}

TEST_F(TransactionCoordinatorTest, TransactionsWithATransitionInFlightAreNotTimedOut) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  log_.Hold(true);
  Reply<TxnResult> end = EndAsync("app", p, true);
  clock_.AdvanceMs(kTimeoutMs + 1);
  coordinator_->AbortTimedOutTransactions();
  EXPECT_EQ(log_.Held(), 1);  // no abort written
  log_.ReleaseOne();
  log_.Hold(false);
  EXPECT_EQ(end.get().error, ErrorCode::kNone);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
}

// --- Expiry ---

TEST_F(TransactionCoordinatorTest, IdleIdsExpireWithATombstone) {
  LeadAll();
  InitOk("empty");
  ProducerIdEpoch c = Begin("committed", {kOrders0});
  ASSERT_EQ(End("committed", c, true), ErrorCode::kNone);
  markers_.Answer(0);
  Begin("ongoing", {kOrders0});
  clock_.AdvanceMs(604800000 - 1);
  InitOk("fresh");
  coordinator_->RemoveExpiredTransactionalIds();
  EXPECT_EQ(Last("empty")->has_value(), true);  // not idle long enough yet
  clock_.AdvanceMs(1);
  coordinator_->RemoveExpiredTransactionalIds();
  EXPECT_TRUE(IsTombstone("empty"));
  EXPECT_TRUE(IsTombstone("committed"));
  EXPECT_EQ(LastState("ongoing"), State::kOngoing);  // never expires while Ongoing
  EXPECT_EQ(LastState("fresh"), State::kEmpty);
  EXPECT_EQ(Describe("empty").result.error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(Add("committed", c, {kOrders0}), ErrorCode::kInvalidProducerIdMapping);
  // A new producer starts over with a new producer id.
  EXPECT_EQ(InitOk("empty").epoch, 0);
  EXPECT_FALSE(IsTombstone("empty"));
  // A reload does not bring the tombstoned ids back.
  coordinator_ = Make();
  LeadAll(2);
  EXPECT_EQ(Describe("committed").result.error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(Describe("ongoing").state, "Ongoing");
}

TEST_F(TransactionCoordinatorTest, AFailedTombstoneKeepsTheId) {
  LeadAll();
  InitOk("app");
  clock_.AdvanceMs(604800000);
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  coordinator_->RemoveExpiredTransactionalIds();
  EXPECT_EQ(StateOf("app"), "Empty");
  EXPECT_EQ(InitOk("app").epoch, 1);  // usable: nothing pending
}

// --- Failover ---

TEST_F(TransactionCoordinatorTest, ANewCoordinatorFinishesWhatItFindsPrepared) {
  LeadAll();
  ProducerIdEpoch commit = Begin("committer", {kOrders0, kPayments0});
  ProducerIdEpoch abort = Begin("aborter", {kOrders1});
  Begin("ongoing", {kOrders0});
  ASSERT_EQ(End("committer", commit, true), ErrorCode::kNone);
  ASSERT_EQ(End("aborter", abort, false), ErrorCode::kNone);
  ASSERT_EQ(markers_.Calls(), 2);  // never answered: the broker died
  // A fence that an older coordinator wrote as such (Kafka never does;
  // it is read as the abort it was about to become).
  TransactionLogValue fence;
  fence.producer_id = 3000;
  fence.producer_epoch = 4;
  fence.transaction_timeout_ms = kTimeoutMs;
  fence.state = State::kPrepareEpochFence;
  fence.partitions = {kPayments0};
  fence.start_timestamp_ms = 1;
  fence.last_update_timestamp_ms = 2;
  log_.Put(coordinator_->PartitionFor("fenced"), EncodeKey("fenced"), EncodeValue(fence));

  std::unique_ptr<TransactionCoordinator> old = std::move(coordinator_);
  coordinator_ = Make();
  LeadAll(/*epoch=*/2);
  ASSERT_EQ(markers_.Calls(), 5);
  std::map<int64_t, MarkerRequest> by_producer;
  for (int i = 2; i < 5; ++i) by_producer[markers_.Request(i).producer_id] = markers_.Request(i);
  ASSERT_TRUE(by_producer.contains(commit.id) && by_producer.contains(abort.id) &&
              by_producer.contains(3000));
  EXPECT_EQ(by_producer[commit.id].result, TransactionResult::kCommit);
  EXPECT_EQ(by_producer[commit.id].coordinator_epoch, 2);
  EXPECT_THAT(by_producer[commit.id].partitions, ElementsAre(kOrders0, kPayments0));
  EXPECT_EQ(by_producer[abort.id].result, TransactionResult::kAbort);
  EXPECT_EQ(by_producer[3000].result, TransactionResult::kAbort);
  EXPECT_EQ(by_producer[3000].producer_epoch, 4);
  for (int i = 2; i < 5; ++i) markers_.Answer(i);
  EXPECT_EQ(LastState("committer"), State::kCompleteCommit);
  EXPECT_EQ(LastState("aborter"), State::kCompleteAbort);
  EXPECT_EQ(LastState("fenced"), State::kCompleteAbort);
  EXPECT_EQ(StateOf("ongoing"), "Ongoing");  // left for its timeout
  // The old coordinator, deposed, gets its markers answered late: it
  // writes nothing.
  for (int32_t p = 0; p < kPartitions; ++p) old->OnResigned(p, 2);
  const int appends = log_.Appends();
  markers_.Answer(0);
  markers_.Answer(1);
  EXPECT_EQ(log_.Appends(), appends);
  EXPECT_EQ(StateOf("committer"), "CompleteCommit");
}

TEST_F(TransactionCoordinatorTest, LoadKeepsTheLastValueAndSkipsForeignRecords) {
  const int32_t p = coordinator_->PartitionFor("app");
  TransactionLogValue v;
  v.producer_id = 77;
  v.producer_epoch = 1;
  v.transaction_timeout_ms = 5000;
  v.state = State::kEmpty;
  v.last_update_timestamp_ms = 5;
  log_.Put(p, EncodeKey("app"), EncodeValue(v));
  v.producer_epoch = 2;
  log_.Put(p, EncodeKey("app"), EncodeValue(v));
  log_.Put(p, std::string("\x00\x05zz", 4), EncodeValue(v));  // not ours: skipped
  log_.Put(p, EncodeKey("gone"), EncodeValue(v));
  log_.Put(p, EncodeKey("gone"), std::nullopt);
  LeadAll();
  TransactionDescription d = Describe("app");
  EXPECT_EQ(d.result.error, ErrorCode::kNone);
  EXPECT_EQ(d.producer_id, 77);
  EXPECT_EQ(d.producer_epoch, 2);
  EXPECT_EQ(d.transaction_timeout_ms, 5000);
  EXPECT_EQ(Describe("gone").result.error, ErrorCode::kTransactionalIdNotFound);
  // The loaded id carries on: epoch 3.
  EXPECT_EQ(InitOk("app").epoch, 3);
}

TEST_F(TransactionCoordinatorTest, ResignationDropsInFlightWorkAndAnswersNotCoordinator) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  const int32_t partition = coordinator_->PartitionFor("app");
  log_.Hold(true);
  Reply<TxnResult> end = EndAsync("app", p, true);
  coordinator_->OnResigned(partition, 2);
  log_.ReleaseOne();  // the append landed, but we no longer lead
  log_.Hold(false);
  EXPECT_EQ(end.get().error, ErrorCode::kNotCoordinator);
  EXPECT_EQ(markers_.Calls(), 0);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kNotCoordinator);
  EXPECT_FALSE(coordinator_->IsCoordinatorFor("app"));
  // Led again: the PrepareCommit that landed is finished.
  coordinator_->OnBecameLeader(partition, 3);
  scheduler_.RunAll();
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).coordinator_epoch, 3);
}

TEST_F(TransactionCoordinatorTest, MarkersOfAnOldEpochAreDroppedAfterReelection) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  const int32_t partition = coordinator_->PartitionFor("app");
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  // Re-elected in a newer epoch without a resignation between: reloaded.
  coordinator_->OnBecameLeader(partition, 5);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorLoadInProgress);
  scheduler_.RunAll();
  ASSERT_EQ(markers_.Calls(), 2);
  EXPECT_EQ(markers_.Request(1).coordinator_epoch, 5);
  const int appends = log_.Appends();
  markers_.Answer(0);  // epoch 1's answer: dropped
  EXPECT_EQ(log_.Appends(), appends);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
  markers_.Answer(1);
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  // A stale leadership or resignation is ignored.
  coordinator_->OnBecameLeader(partition, 4);
  coordinator_->OnResigned(partition, 4);
  EXPECT_TRUE(coordinator_->IsCoordinatorFor("app"));
  EXPECT_EQ(scheduler_.Pending(), 0);
}

TEST_F(TransactionCoordinatorTest, WritesQueuedForAnOldEpochAreNeverAppended) {
  LeadAll();
  const int32_t partition = coordinator_->PartitionFor("app");
  std::string other;
  for (int i = 0; other.empty() || coordinator_->PartitionFor(other) != partition; ++i) {
    other = "id-" + std::to_string(i);
  }
  ProducerIdEpoch p = InitOk("app");
  ProducerIdEpoch q = InitOk(other);
  Reply<AddPartitionsToTxnResponse> second;
  log_.BeforeNextAppend([&] {
    // While the first append is being made, a second write queues behind
    // it, then the partition moves away.
    second = AddAsync(other, q, {kOrders1});
    coordinator_->OnResigned(partition, 2);
  });
  const int appends = log_.Appends();
  Reply<AddPartitionsToTxnResponse> first = AddAsync("app", p, {kOrders0});
  ASSERT_TRUE(first.ready());
  ASSERT_TRUE(second.ready());
  // The first was appended but acknowledged after the resignation.
  EXPECT_EQ(first.get().results[0].second, ErrorCode::kNotCoordinator);
  EXPECT_EQ(second.get().results[0].second, ErrorCode::kNotCoordinator);
  EXPECT_EQ(log_.Appends(), appends + 1);  // the queued one never reached the log
}

TEST_F(TransactionCoordinatorTest, ShutdownAnswersNotCoordinator) {
  LeadAll();
  InitOk("app");
  coordinator_->Shutdown();
  EXPECT_EQ(Init("app").result.error, ErrorCode::kNotCoordinator);
  EXPECT_FALSE(coordinator_->IsCoordinatorFor("app"));
}

// --- Describe / List ---

TEST_F(TransactionCoordinatorTest, DescribeAndListForTheTool) {
  LeadAll();
  ProducerIdEpoch a = Begin("alpha", {kOrders0});
  ProducerIdEpoch b = InitOk("beta");
  std::vector<TransactionDescription> d = coordinator_->DescribeTransactions({"alpha", "nope"});
  ASSERT_THAT(d, SizeIs(2));
  EXPECT_EQ(d[0].transactional_id, "alpha");
  EXPECT_EQ(d[0].state, "Ongoing");
  EXPECT_EQ(d[0].producer_id, a.id);
  EXPECT_EQ(d[0].producer_epoch, a.epoch);
  EXPECT_EQ(d[0].transaction_timeout_ms, kTimeoutMs);
  EXPECT_EQ(d[0].transaction_start_time_ms, clock_.NowMs());
  EXPECT_THAT(d[0].partitions, ElementsAre(kOrders0));
  EXPECT_EQ(d[1].result.error, ErrorCode::kTransactionalIdNotFound);
  // An id asked for again is refused, not described again.
  d = coordinator_->DescribeTransactions({"alpha", "alpha", "nope", "nope"});
  ASSERT_THAT(d, SizeIs(4));
  EXPECT_EQ(d[0].result.error, ErrorCode::kNone);
  EXPECT_EQ(d[1].result.error, ErrorCode::kInvalidRequest);
  EXPECT_TRUE(d[1].partitions.empty());
  EXPECT_EQ(d[2].result.error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(d[3].result.error, ErrorCode::kInvalidRequest);

  ListTransactionsResponse all = coordinator_->ListTransactions({});
  EXPECT_EQ(all.result.error, ErrorCode::kNone);
  ASSERT_THAT(all.transactions, SizeIs(2));
  EXPECT_EQ(all.transactions[0].transactional_id, "alpha");
  EXPECT_EQ(all.transactions[1].transactional_id, "beta");
  EXPECT_EQ(all.transactions[1].state, "Empty");

  ListTransactionsRequest req;
  req.state_filters = {"ongoing", "Bogus"};
  ListTransactionsResponse ongoing = coordinator_->ListTransactions(req);
  ASSERT_THAT(ongoing.transactions, SizeIs(1));
  EXPECT_EQ(ongoing.transactions[0].transactional_id, "alpha");
  EXPECT_THAT(ongoing.unknown_state_filters, ElementsAre("Bogus"));
  req.state_filters.clear();
  req.producer_id_filters = {b.id};
  ListTransactionsResponse by_producer = coordinator_->ListTransactions(req);
  ASSERT_THAT(by_producer.transactions, SizeIs(1));
  EXPECT_EQ(by_producer.transactions[0].transactional_id, "beta");
  req.producer_id_filters = {424242};
  EXPECT_THAT(coordinator_->ListTransactions(req).transactions, IsEmpty());
}

// --- Threads ---

TEST_F(TransactionCoordinatorTest, ConcurrentProducersOnManyIdsAllComplete) {
  LeadAll();
  // Markers answered from another thread while producers run.
  std::atomic<bool> stop{false};
  std::thread answerer([&] {
    int next = 0;
    while (!stop.load()) {
      if (next < markers_.Calls()) {
        markers_.Answer(next++);
      } else {
        std::this_thread::yield();
      }
    }
    while (next < markers_.Calls()) markers_.Answer(next++);
  });
  std::vector<std::thread> producers;
  for (int i = 0; i < 8; ++i) {
    producers.emplace_back([&, i] {
      // Another thread may be appending to the same partition, and then
      // appends this thread's write too: answers can come from there.
      auto wait = [](const auto& reply) {
        for (int spins = 0; !reply.ready() && spins < 5'000'000; ++spins) {
          std::this_thread::yield();
        }
        return reply.ready();
      };
      const std::string id = "producer-" + std::to_string(i);
      for (int round = 0; round < 20; ++round) {
        InitProducerIdResponse r;
        do {
          Reply<InitProducerIdResponse> reply = InitAsync(id);
          ASSERT_TRUE(wait(reply));
          r = reply.get();
        } while (r.result.error == ErrorCode::kConcurrentTransactions);
        ASSERT_EQ(r.result.error, ErrorCode::kNone);
        ProducerIdEpoch p{r.producer_id, r.producer_epoch};
        Reply<AddPartitionsToTxnResponse> added = AddAsync(id, p, {{"t", i}});
        ASSERT_TRUE(wait(added));
        ASSERT_EQ(added.get().results[0].second, ErrorCode::kNone);
        Reply<TxnResult> ended = EndAsync(id, p, round % 2 == 0);
        ASSERT_TRUE(wait(ended));
        ASSERT_EQ(ended.get().error, ErrorCode::kNone);
      }
    });
  }
  for (std::thread& t : producers) t.join();
  stop = true;
  answerer.join();
  for (int i = 0; i < 8; ++i) {
    const std::string id = "producer-" + std::to_string(i);
    // The last round (19) aborted, and its markers were answered.
    EXPECT_EQ(StateOf(id), "CompleteAbort") << id;
  }
}

// --- Review fixes: bad state on disk, load failures, leadership ---

TransactionLogValue LogValue(State state, int64_t producer_id, int16_t epoch,
                             std::set<TxnTopicPartition> partitions = {}, int64_t start_ms = 1) {
  TransactionLogValue v;
  v.producer_id = producer_id;
  v.producer_epoch = epoch;
  v.transaction_timeout_ms = kTimeoutMs;
  v.state = state;
  v.partitions = std::move(partitions);
  v.start_timestamp_ms = start_ms;
  v.last_update_timestamp_ms = 2;
  return v;
}

TEST_F(TransactionCoordinatorTest, ADeadValueLoadsAsTheIdDeleted) {
  const int32_t p = coordinator_->PartitionFor("app");
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kOngoing, 77, 1, {kOrders0})));
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kDead, 77, 1)));
  LeadAll();
  EXPECT_EQ(Describe("app").result.error, ErrorCode::kTransactionalIdNotFound);
  InitProducerIdResponse r = Init("app");
  EXPECT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
  EXPECT_NE(r.producer_id, 77);
  EXPECT_EQ(r.producer_epoch, 0);
}

TEST_F(TransactionCoordinatorTest, AnImpossibleValueFailsTheLoadWhichIsRetried) {
  // One per partition: values no coordinator writes, which the state
  // machine would refuse (or crash on) later.
  const std::vector<TransactionLogValue> bad = {
      LogValue(State::kEmpty, -1, 3, {}, -1),                  // producer id < 0
      LogValue(State::kOngoing, 77, -2, {kOrders0}),           // epoch < -1
      LogValue(State::kPrepareCommit, 77, 1, {kOrders0}, -1),  // no start time
      LogValue(State::kCompleteAbort, 77, 1, {}, -1),          // no start time
  };
  ASSERT_EQ(bad.size(), static_cast<size_t>(kPartitions));
  for (int32_t p = 0; p < kPartitions; ++p) {
    log_.Put(p, EncodeKey("id-" + std::to_string(p)), EncodeValue(bad[p]));
    coordinator_->OnBecameLeader(p, 1);
  }
  EXPECT_EQ(scheduler_.RunAll(kPartitions), kPartitions);
  EXPECT_TRUE(coordinator_->Loading());
  for (int32_t p = 0; p < kPartitions; ++p) {
    std::string id;
    for (int i = 0; id.empty() || coordinator_->PartitionFor(id) != p; ++i) {
      id = "x-" + std::to_string(i);
    }
    EXPECT_FALSE(coordinator_->IsCoordinatorFor(id)) << "partition " << p;
    EXPECT_EQ(Init(id).result.error, ErrorCode::kCoordinatorLoadInProgress);
  }
  EXPECT_EQ(markers_.Calls(), 0);
  // Each load is tried again after the backoff.
  EXPECT_EQ(scheduler_.Pending(), kPartitions);
  EXPECT_THAT(scheduler_.Delays(), ElementsAre(0, 0, 0, 0, 100, 100, 100, 100));
}

TEST_F(TransactionCoordinatorTest, ACorruptBatchFailsTheLoadUntilItReadsBack) {
  // [Ongoing(app)] [corrupt batch] [PrepareCommit(app)]: the load must not
  // stop (or skip) at the corrupt batch and keep app Ongoing.
  const int32_t p = coordinator_->PartitionFor("app");
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kOngoing, 77, 1, {kOrders0})));
  log_.Put(p, EncodeKey("other"), EncodeValue(LogValue(State::kEmpty, 78, 1, {}, -1)));
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kPrepareCommit, 77, 1, {kOrders0})));
  const size_t batch_size = log_.Read(p, 1).records.size() - log_.Read(p, 2).records.size();
  // The magic byte (the header does not decode), then the last byte (the
  // CRC does not match).
  int32_t epoch = 1;
  for (const size_t pos : {size_t{16}, batch_size - 1}) {
    SCOPED_TRACE(pos);
    const char good = log_.Corrupt(p, 1, pos, 99);
    coordinator_->OnBecameLeader(p, epoch);
    EXPECT_EQ(scheduler_.RunAll(3), 3);  // the load and two retries
    EXPECT_TRUE(coordinator_->Loading());
    EXPECT_EQ(Describe("app").result.error, ErrorCode::kCoordinatorLoadInProgress);
    EXPECT_EQ(markers_.Calls(), epoch - 1);
    EXPECT_EQ(scheduler_.Delays().back(), 100);
    // Read back intact (say, refetched from a replica): loaded as decided.
    log_.Corrupt(p, 1, pos, good);
    EXPECT_EQ(scheduler_.RunAll(), 1);
    EXPECT_FALSE(coordinator_->Loading());
    EXPECT_EQ(StateOf("app"), "PrepareCommit");
    EXPECT_EQ(markers_.Calls(), epoch);
    coordinator_->OnResigned(p, epoch);
    ++epoch;
  }
}

TEST_F(TransactionCoordinatorTest, AReadShortOfTheLogEndIsRetried) {
  const int32_t p = coordinator_->PartitionFor("app");
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kOngoing, 77, 1, {kOrders0})));
  // The header of the only batch does not decode: no progress before the
  // log end is a read error, not the end of the log.
  const char good = log_.Corrupt(p, 0, 16, 99);
  coordinator_->OnBecameLeader(p, 1);
  EXPECT_EQ(scheduler_.RunAll(2), 2);
  EXPECT_TRUE(coordinator_->Loading());
  log_.Corrupt(p, 0, 16, good);
  scheduler_.RunAll();
  EXPECT_FALSE(coordinator_->Loading());
  EXPECT_EQ(StateOf("app"), "Ongoing");
}

TEST_F(TransactionCoordinatorTest, AFailedFenceAtTheLastEpochIsRetriedAndAborts) {
  const int32_t p = coordinator_->PartitionFor("app");
  constexpr int16_t kLast = std::numeric_limits<int16_t>::max() - 1;
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kOngoing, 77, kLast, {kOrders0})));
  LeadAll();
  log_.FailNext(1, ErrorCode::kNotEnoughReplicas);
  EXPECT_EQ(Init("app").result.error, ErrorCode::kCoordinatorNotAvailable);
  // The retried fence reuses the epoch bumped in memory (Short.MaxValue).
  InitProducerIdResponse r = Init("app");
  EXPECT_EQ(r.result.error, ErrorCode::kConcurrentTransactions) << r.result.message;
  EXPECT_EQ(StateOf("app"), "PrepareAbort");
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).producer_epoch, std::numeric_limits<int16_t>::max());
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kCompleteAbort);
  // The epoch is used up: the producer gets a new producer id.
  r = Init("app");
  EXPECT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
  EXPECT_NE(r.producer_id, 77);
  EXPECT_EQ(r.producer_epoch, 0);
}

TEST_F(TransactionCoordinatorTest, AStaleLeadershipAfterAResignationIsIgnored) {
  const int32_t p = coordinator_->PartitionFor("app");
  coordinator_->OnBecameLeader(p, 5);
  scheduler_.RunAll();
  coordinator_->OnResigned(p, 6);      // another broker leads in 6
  coordinator_->OnBecameLeader(p, 5);  // a late duplicate
  coordinator_->OnBecameLeader(p, 6);  // 6 is not ours either
  EXPECT_EQ(scheduler_.RunAll(), 0);
  EXPECT_FALSE(coordinator_->IsCoordinatorFor("app"));
  EXPECT_EQ(Init("app").result.error, ErrorCode::kNotCoordinator);
  coordinator_->OnBecameLeader(p, 7);
  scheduler_.RunAll();
  EXPECT_TRUE(coordinator_->IsCoordinatorFor("app"));
}

TEST_F(TransactionCoordinatorTest, AnOldLoadNeverTouchesALaterLeadership) {
  const int32_t p = coordinator_->PartitionFor("app");
  log_.Put(p, EncodeKey("app"), EncodeValue(LogValue(State::kPrepareCommit, 77, 1, {kOrders0})));
  coordinator_->OnBecameLeader(p, 1);  // its load is queued, not run
  coordinator_->OnResigned(p, 1);
  coordinator_->OnBecameLeader(p, 2);
  EXPECT_EQ(scheduler_.RunAll(), 2);
  // Loaded once, by epoch 2's load.
  ASSERT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(markers_.Request(0).coordinator_epoch, 2);
}

TEST_F(TransactionCoordinatorTest, UnsupportedMarkerAnswersDropThePartition) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0, kOrders1, kPayments0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  markers_.Answer(0, ErrorCode::kNone,
                  {{kOrders1, ErrorCode::kUnsupportedVersion},
                   {kPayments0, static_cast<ErrorCode>(43)}});  // UNSUPPORTED_FOR_MESSAGE_FORMAT
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  EXPECT_EQ(markers_.Calls(), 1);
  EXPECT_EQ(scheduler_.Pending(), 0);
}

TEST_F(TransactionCoordinatorTest, AFailedCompleteWriteIsRetriedUnlessTheCoordinatorMoved) {
  LeadAll();
  ProducerIdEpoch p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  // Every marker is written: any error but a move is tried again.
  log_.FailNext(1, ErrorCode::kMessageTooLarge);
  markers_.Answer(0);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
  ASSERT_EQ(scheduler_.Pending(), 1);
  scheduler_.RunAll();
  EXPECT_EQ(LastState("app"), State::kCompleteCommit);
  // The coordinator moved: not retried (the next one completes it).
  p = Begin("app", {kOrders0});
  ASSERT_EQ(End("app", p, true), ErrorCode::kNone);
  log_.FailNext(1, ErrorCode::kNotLeaderOrFollower);
  markers_.Answer(1);
  EXPECT_EQ(scheduler_.Pending(), 0);
  EXPECT_EQ(LastState("app"), State::kPrepareCommit);
}

TEST_F(TransactionCoordinatorTest, ListWhileAPartitionLoadsIsEmpty) {
  LeadAll();
  InitOk("app");
  const int32_t other = (coordinator_->PartitionFor("app") + 1) % kPartitions;
  coordinator_->OnBecameLeader(other, 2);
  ListTransactionsResponse r = coordinator_->ListTransactions({});
  EXPECT_EQ(r.result.error, ErrorCode::kCoordinatorLoadInProgress);
  EXPECT_THAT(r.transactions, IsEmpty());
  scheduler_.RunAll();
  EXPECT_THAT(coordinator_->ListTransactions({}).transactions, SizeIs(1));
}

TEST_F(TransactionCoordinatorTest, AnIdInTwoPartitionsKeepsBoth) {
  // After the partition count changed, an id's old partition still has its
  // transaction, which must be finished there, while the new partition
  // coordinates the id.
  std::string id;
  for (int i = 0; id.empty() || coordinator_->PartitionFor(id) == 0; ++i) {
    id = "id-" + std::to_string(i);
  }
  const int32_t old_partition = coordinator_->PartitionFor(id);
  LeadAll();
  ProducerIdEpoch p = Begin(id, {kOrders0});
  ASSERT_EQ(End(id, p, true), ErrorCode::kNone);
  txn_partition_count_ = 1;  // every id now belongs to partition 0
  ASSERT_EQ(coordinator_->PartitionFor(id), 0);
  InitProducerIdResponse r = Init(id);
  EXPECT_EQ(r.result.error, ErrorCode::kNone) << r.result.message;
  // The old partition's transaction completes in the old partition.
  markers_.Answer(0);
  std::optional<State> last;
  for (auto& [key, value] : log_.Records(old_partition)) {
    if (DecodeKey(key).value_or("") == id && value) last = DecodeValue(*value)->state;
  }
  EXPECT_EQ(last, State::kCompleteCommit);
  EXPECT_EQ(StateOf(id), "Empty");
}

TEST_F(TransactionCoordinatorTest, AddPartitionsRefusesNegativePartitionsAndEmptyTopics) {
  with_partition_exists_ = false;
  coordinator_ = Make();
  LeadAll();
  ProducerIdEpoch p = InitOk("app");
  const TxnTopicPartition negative{"orders", -1};
  const TxnTopicPartition no_topic{"", 0};
  Reply<AddPartitionsToTxnResponse> r = AddAsync("app", p, {negative, no_topic, kOrders0});
  ASSERT_TRUE(r.ready());
  EXPECT_THAT(r.get().results,
              ElementsAre(std::make_pair(no_topic, ErrorCode::kUnknownTopicOrPartition),
                          std::make_pair(negative, ErrorCode::kUnknownTopicOrPartition),
                          std::make_pair(kOrders0, ErrorCode::kOperationNotAttempted)));
  EXPECT_EQ(StateOf("app"), "Empty");
}

}  // namespace
}  // namespace strata::txn
