// ProducerIdManager against a fake controller: ids unique and increasing
// over many blocks, the prefetch at 90 %, Unavailable until the first block,
// the backoff after a failed fetch, and no id repeated by a restarted broker.
#include "broker/txn/producer_id_manager.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"
#include "gtest/gtest.h"

namespace strata::txn {
namespace {

constexpr int32_t kBroker = 4;
constexpr int64_t kBackoffMs = 100;

// Polls `done` until it holds or ten seconds (real time) pass.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Long enough for the manager's thread to have acted on anything queued:
// for checks that something did NOT happen. (That it took an answer in is
// waited for with fetches_taken(), not by sleeping: a loaded machine can
// hold its thread back longer than this.)
void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

// The controller's side: blocks of `count` ids from one counter, as the
// metadata log's ProducerIdsRecords grant them. Fetches can be held (to
// look at the manager while one is in flight) and scripted to fail.
class FakeController {
 public:
  explicit FakeController(int32_t count = 1000) : count_(count) {}

  absl::StatusOr<ProducerIdBlock> Fetch(int32_t broker_id, int64_t broker_epoch) {
    absl::MutexLock l(&mu_);
    ++calls_;
    epochs_.push_back(broker_epoch);
    EXPECT_EQ(broker_id, kBroker);
    auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !held_; };
    mu_.Await(absl::Condition(&released));
    ++returned_;
    if (!answers_.empty()) {
      absl::StatusOr<ProducerIdBlock> answer = answers_.front();
      answers_.erase(answers_.begin());
      return answer;
    }
    ProducerIdBlock block{.first_id = next_, .count = count_};
    next_ += count_;
    return block;
  }

  std::function<absl::StatusOr<ProducerIdBlock>(int32_t, int64_t)> fn() {
    return [this](int32_t broker_id, int64_t epoch) { return Fetch(broker_id, epoch); };
  }

  void Hold(bool held) {
    absl::MutexLock l(&mu_);
    held_ = held;
  }
  // Answers the next fetches with these instead of a new block.
  void Script(std::vector<absl::StatusOr<ProducerIdBlock>> answers) {
    absl::MutexLock l(&mu_);
    answers_ = std::move(answers);
  }
  int calls() const {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  int returned() const {
    absl::MutexLock l(&mu_);
    return returned_;
  }
  std::vector<int64_t> epochs() const {
    absl::MutexLock l(&mu_);
    return epochs_;
  }

 private:
  const int32_t count_;
  mutable absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int returned_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> epochs_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusOr<ProducerIdBlock>> answers_ ABSL_GUARDED_BY(mu_);
};

class ProducerIdManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ProducerIdManager> NewManager(FakeController* controller) {
    ProducerIdManagerOptions options;
    options.broker_id = kBroker;
    options.broker_epoch = [this] { return epoch_.load(); };
    options.fetch_block = controller->fn();
    options.clock = &clock_;
    options.retry_backoff_ms = kBackoffMs;
    options.max_retry_backoff_ms = 4 * kBackoffMs;
    return std::make_unique<ProducerIdManager>(std::move(options));
  }

  // The next id, waiting (bounded) through Unavailable answers while a
  // block is fetched.
  int64_t NextId(ProducerIdManager& m) {
    absl::StatusOr<int64_t> id;
    EXPECT_TRUE(Eventually([&] {
      id = m.GenerateProducerId();
      return id.ok();
    })) << id.status();
    return id.ok() ? *id : -1;
  }

  ManualClock clock_;
  std::atomic<int64_t> epoch_{17};
};

TEST_F(ProducerIdManagerTest, PrefetchGetsTheFirstBlockBeforeAnyoneAsks) {
  FakeController controller;
  auto m = NewManager(&controller);
  m->Prefetch();
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 1; }));
  Settle();
  absl::StatusOr<int64_t> id = m->GenerateProducerId();
  ASSERT_TRUE(id.ok()) << "the first InitProducerId finds ids: " << id.status();
  EXPECT_EQ(*id, 0);
  m->Prefetch();  // a block is held: nothing more is fetched
  Settle();
  EXPECT_EQ(controller.calls(), 1);
}

TEST_F(ProducerIdManagerTest, UnavailableBeforeTheFirstBlockThenIds) {
  FakeController controller;
  controller.Hold(true);
  auto m = NewManager(&controller);
  // Nothing is fetched before the first call.
  Settle();
  EXPECT_EQ(controller.calls(), 0);

  absl::StatusOr<int64_t> id = m->GenerateProducerId();
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable) << id.status();
  ASSERT_TRUE(Eventually([&] { return controller.calls() == 1; }));
  // More calls while the fetch is under way start no other.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(m->GenerateProducerId().status().code(), absl::StatusCode::kUnavailable);
  }
  Settle();
  EXPECT_EQ(controller.calls(), 1);
  EXPECT_EQ(controller.epochs(), std::vector<int64_t>{17}) << "asked in the broker's epoch";

  controller.Hold(false);
  EXPECT_EQ(NextId(*m), 0);
  for (int64_t want = 1; want < 10; ++want) {
    absl::StatusOr<int64_t> next = m->GenerateProducerId();
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(*next, want);
  }
}

TEST_F(ProducerIdManagerTest, IdsStrictlyIncreaseAndAreUniqueOverManyBlocks) {
  FakeController controller;
  auto m = NewManager(&controller);
  std::set<int64_t> seen;
  int64_t last = -1;
  for (int i = 0; i < 4500; ++i) {
    const int64_t id = NextId(*m);
    ASSERT_GT(id, last);
    ASSERT_TRUE(seen.insert(id).second) << id;
    last = id;
  }
  // Four blocks used, a fifth perhaps fetched ahead: never more.
  EXPECT_GE(controller.calls(), 5);
  EXPECT_LE(controller.calls(), 6);
  // Blocks arrive consecutively here, and the manager skips nothing it
  // holds: exactly 0..4499.
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 4499);
}

TEST_F(ProducerIdManagerTest, PrefetchesOnceWhenNinetyPercentIsUsed) {
  FakeController controller;
  auto m = NewManager(&controller);
  EXPECT_EQ(NextId(*m), 0);
  ASSERT_EQ(controller.returned(), 1);
  controller.Hold(true);
  // 899 ids handed out: below 90 %, no fetch.
  for (int64_t want = 1; want < 899; ++want) ASSERT_EQ(*m->GenerateProducerId(), want);
  Settle();
  EXPECT_EQ(controller.calls(), 1);
  // The 900th id (900 of 1000 used) asks for the next block...
  ASSERT_EQ(*m->GenerateProducerId(), 899);
  ASSERT_TRUE(Eventually([&] { return controller.calls() == 2; }));
  // ...and the rest of the block comes out while it is fetched, without
  // asking again.
  for (int64_t want = 900; want < 1000; ++want) {
    absl::StatusOr<int64_t> id = m->GenerateProducerId();
    ASSERT_TRUE(id.ok()) << want << ": " << id.status();
    ASSERT_EQ(*id, want);
  }
  // The block is used up and the next not here yet: Unavailable, still one
  // fetch.
  EXPECT_EQ(m->GenerateProducerId().status().code(), absl::StatusCode::kUnavailable);
  Settle();
  EXPECT_EQ(controller.calls(), 2);

  controller.Hold(false);
  EXPECT_EQ(NextId(*m), 1000);
  // The prefetched block is used without a wait once it is in.
  for (int64_t want = 1001; want < 1800; ++want) ASSERT_EQ(*m->GenerateProducerId(), want);
  Settle();
  EXPECT_EQ(controller.calls(), 2);
}

TEST_F(ProducerIdManagerTest, SteadyStateNeverWaitsOnTheController) {
  FakeController controller;
  auto m = NewManager(&controller);
  EXPECT_EQ(NextId(*m), 0);
  // Each block's prefetch is answered while the last 100 ids are handed
  // out (slowly enough here), so no call after the first answers
  // Unavailable.
  for (int64_t want = 1; want < 5000; ++want) {
    absl::StatusOr<int64_t> id = m->GenerateProducerId();
    ASSERT_TRUE(id.ok()) << want << ": " << id.status();
    ASSERT_EQ(*id, want);
    if (want % 1000 == 900) {
      ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 1 + want / 1000 + 1; }));
      Settle();
    }
  }
}

TEST_F(ProducerIdManagerTest, AFailedFetchIsRetriedOnlyAfterTheBackoff) {
  FakeController controller;
  controller.Script({absl::UnavailableError("no controller"), absl::DeadlineExceededError("slow")});
  auto m = NewManager(&controller);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 1; }));
  Settle();
  // Within the backoff: no new fetch, however often it is asked.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(m->GenerateProducerId().status().code(), absl::StatusCode::kUnavailable);
  }
  clock_.AdvanceMs(kBackoffMs - 1);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  Settle();
  EXPECT_EQ(controller.calls(), 1);

  // Past it: the retry starts, which fails again; the backoff doubles.
  clock_.AdvanceMs(1);
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 2; }));
  Settle();
  clock_.AdvanceMs(kBackoffMs);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  Settle();
  EXPECT_EQ(controller.calls(), 2) << "the second backoff is twice the first";
  clock_.AdvanceMs(kBackoffMs);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  ASSERT_TRUE(Eventually([&] { return controller.calls() == 3; }));

  // The third try succeeds.
  EXPECT_EQ(NextId(*m), 0);
}

TEST_F(ProducerIdManagerTest, AFailedFirstFetchIsRetriedWithoutAnyoneAsking) {
  // The prefetch at registration fails (the controller has not caught up
  // yet): the manager tries again by itself, so the first InitProducerId
  // finds ids rather than a broker that waits to be asked.
  FakeController controller;
  controller.Script({absl::UnavailableError("no controller")});
  auto m = NewManager(&controller);
  m->Prefetch();
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 1; }));
  Settle();
  EXPECT_EQ(controller.calls(), 1) << "not within the backoff";
  clock_.AdvanceMs(kBackoffMs);
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 2; }));
  EXPECT_EQ(NextId(*m), 0) << "the retried fetch's block";
  Settle();
  clock_.AdvanceMs(10 * kBackoffMs);
  Settle();
  EXPECT_EQ(controller.calls(), 2) << "a success ends the retries";
}

TEST_F(ProducerIdManagerTest, AFailedPrefetchIsRetriedAfterTheBackoffWhileIdsLast) {
  FakeController controller(10);
  auto m = NewManager(&controller);
  EXPECT_EQ(NextId(*m), 0);
  controller.Script({absl::UnavailableError("no controller")});
  // 9 of 10 used: the prefetch, which fails.
  for (int64_t want = 1; want < 9; ++want) ASSERT_EQ(*m->GenerateProducerId(), want);
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 2; }));
  Settle();
  ASSERT_EQ(*m->GenerateProducerId(), 9);
  Settle();
  EXPECT_EQ(controller.calls(), 2) << "within the backoff";
  clock_.AdvanceMs(kBackoffMs);
  EXPECT_EQ(NextId(*m), 10);
  EXPECT_EQ(controller.calls(), 3);
}

TEST_F(ProducerIdManagerTest, NoFetchBeforeTheBrokerHasRegistered) {
  FakeController controller;
  epoch_ = -1;
  auto m = NewManager(&controller);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  // The try without an epoch taken in (its backoff started on the clock
  // that the test moves next).
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 1; }));
  EXPECT_EQ(controller.calls(), 0);
  epoch_ = 23;
  clock_.AdvanceMs(kBackoffMs);
  EXPECT_EQ(NextId(*m), 0);
  EXPECT_EQ(controller.epochs(), std::vector<int64_t>{23});
}

TEST_F(ProducerIdManagerTest, ARestartedBrokerNeverRepeatsAnId) {
  FakeController controller;
  std::set<int64_t> before;
  {
    auto m = NewManager(&controller);
    // Into the second block, with the third perhaps prefetched: ids of both
    // are lost with the manager.
    for (int i = 0; i < 1950; ++i) before.insert(NextId(*m));
  }
  const int64_t highest_before = *before.rbegin();
  auto restarted = NewManager(&controller);
  for (int i = 0; i < 2500; ++i) {
    const int64_t id = NextId(*restarted);
    ASSERT_FALSE(before.contains(id)) << id;
    ASSERT_GT(id, highest_before);
  }
}

TEST_F(ProducerIdManagerTest, ABlockOverlappingOneHeldIsRefused) {
  FakeController controller(10);
  auto m = NewManager(&controller);
  ASSERT_EQ(NextId(*m), 0);
  // The prefetch (at 9 of 10 used) is answered with ids already held: a
  // controller whose counter went back. Refused, and retried after the
  // backoff.
  controller.Script({ProducerIdBlock{.first_id = 5, .count = 10}});
  for (int64_t want = 1; want < 10; ++want) ASSERT_EQ(NextId(*m), want);
  ASSERT_TRUE(Eventually([&] { return m->fetches_taken() == 2; }));
  Settle();
  EXPECT_EQ(m->GenerateProducerId().status().code(), absl::StatusCode::kUnavailable);
  clock_.AdvanceMs(kBackoffMs);
  EXPECT_EQ(NextId(*m), 10);
}

TEST_F(ProducerIdManagerTest, ConcurrentCallersGetDistinctIds) {
  FakeController controller(100);
  auto m = NewManager(&controller);
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t last = -1;
      while (static_cast<int>(ids[t].size()) < kEach) {
        absl::StatusOr<int64_t> id = m->GenerateProducerId();
        if (!id.ok()) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          continue;
        }
        // Each caller sees its own ids increase.
        EXPECT_GT(*id, last);
        last = *id;
        ids[t].push_back(*id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(ProducerIdManagerTest, StopWaitsForTheFetchInFlightAndThenAnswersUnavailable) {
  FakeController controller;
  controller.Hold(true);
  auto m = NewManager(&controller);
  EXPECT_FALSE(m->GenerateProducerId().ok());
  ASSERT_TRUE(Eventually([&] { return controller.calls() == 1; }));
  std::thread release([&] {
    Settle();
    controller.Hold(false);
  });
  m->Stop();
  EXPECT_EQ(controller.returned(), 1);
  release.join();
  absl::StatusOr<int64_t> id = m->GenerateProducerId();
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable) << id.status();
  m->Stop();  // idempotent
  m.reset();
  EXPECT_EQ(controller.calls(), 1);
}

}  // namespace
}  // namespace strata::txn
