#include "broker/purgatory/purgatory.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace strata::purgatory {
namespace {

// An operation that completes once `ready` is set (or it expires), and
// counts how it ended.
struct Probe {
  std::atomic<bool> ready{false};
  std::atomic<int> completions{0};
  std::atomic<int> expirations{0};
  std::atomic<int> tries{0};

  std::shared_ptr<DelayedOperation> Op(int64_t deadline_ms) {
    return std::make_shared<DelayedOperation>(deadline_ms, [this](bool expired) {
      ++tries;
      if (!expired && !ready) return false;
      ++completions;
      if (expired) ++expirations;
      return true;
    });
  }
};

Purgatory::Options NoReaper() {
  Purgatory::Options o;
  o.start_reaper = false;
  return o;
}

TEST(PurgatoryTest, ProgressOnOnePartitionCompletesOnlyWhatWatchesIt) {
  constexpr int kPartitions = 1000;
  // Before the purgatory: what it holds at its end points at them.
  std::vector<Probe> probes(kPartitions);
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_FALSE(purgatory.TryCompleteElseWatch(probes[p].Op(clock.NowMs() + 30000),
                                                {WatchKey::Partition("t", p)}));
  }
  ASSERT_EQ(purgatory.Pending(), kPartitions);

  // Data arrives on partition 617 only.
  probes[617].ready = true;
  for (Probe& probe : probes) probe.tries = 0;
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("t", 617)), 1);

  int completed = 0;
  int tried = 0;
  for (int p = 0; p < kPartitions; ++p) {
    completed += probes[p].completions;
    tried += probes[p].tries;
  }
  EXPECT_EQ(completed, 1);
  EXPECT_EQ(probes[617].completions, 1);
  // Nothing else was even retried: keyed, not "everything on any progress".
  EXPECT_EQ(tried, 1);
  EXPECT_EQ(purgatory.Pending(), kPartitions - 1);
  // Another topic's partition 617 is another key.
  probes[618].ready = true;
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("u", 618)), 0);
  EXPECT_EQ(probes[618].completions, 0);
}

TEST(PurgatoryTest, AnOperationOnManyKeysCompletesOnceAndLeavesEveryList) {
  Probe probe;
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  std::vector<WatchKey> keys;
  for (int p = 0; p < 10; ++p) keys.push_back(WatchKey::Partition("t", p));
  EXPECT_FALSE(purgatory.TryCompleteElseWatch(probe.Op(clock.NowMs() + 1000), keys));
  EXPECT_EQ(purgatory.Watched(), 10);
  probe.ready = true;
  EXPECT_EQ(purgatory.CheckAndComplete(keys[3]), 1);
  EXPECT_EQ(purgatory.Pending(), 0);
  // Checking the other keys finds it done: it is not run again, and each
  // check drops its stale entry.
  for (const WatchKey& key : keys) EXPECT_EQ(purgatory.CheckAndComplete(key), 0);
  EXPECT_EQ(probe.completions, 1);
  EXPECT_EQ(purgatory.Watched(), 0);
  // Its deadline passing later does not complete it again.
  clock.AdvanceMs(5000);
  EXPECT_EQ(purgatory.ExpireDue(), 0);
  EXPECT_EQ(probe.completions, 1);
}

TEST(PurgatoryTest, StaleEntriesUnderKeysNobodyChecksAreSwept) {
  // Fetches of two partitions each, completed through the first: the
  // second partition never sees progress, so only the sweep clears it.
  constexpr int kOps = 1000;
  std::vector<Probe> probes(kOps);
  ManualClock clock;
  Purgatory::Options options = NoReaper();
  options.purge_interval = 10;
  Purgatory purgatory(&clock, "test", options);
  const WatchKey idle = WatchKey::Partition("idle", 0);
  int most_watched = 0;
  for (int i = 0; i < kOps; ++i) {
    purgatory.TryCompleteElseWatch(probes[i].Op(clock.NowMs() + 100000),
                                   {WatchKey::Partition("t", i), idle});
    probes[i].ready = true;
    ASSERT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("t", i)), 1);
    most_watched = std::max(most_watched, purgatory.Watched());
  }
  // Without the sweep the idle list would hold all 1,000.
  EXPECT_LT(most_watched, 50);
  EXPECT_EQ(purgatory.Pending(), 0);
}

TEST(PurgatoryTest, EntriesOfOperationsExpiredUnderKeysNobodyChecksAreSwept) {
  // A follower's fetch of 100 idle partitions, every 500 ms, each expiring:
  // their entries are all stale, and nothing checks those keys.
  constexpr int kOps = 500;
  constexpr int kKeys = 100;
  std::vector<Probe> probes(kOps);
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  std::vector<WatchKey> keys;
  for (int p = 0; p < kKeys; ++p) keys.push_back(WatchKey::Partition("idle", p));
  int most_watched = 0;
  for (int i = 0; i < kOps; ++i) {
    EXPECT_FALSE(purgatory.TryCompleteElseWatch(probes[i].Op(clock.NowMs() + 500), keys));
    most_watched = std::max(most_watched, purgatory.Watched());
    clock.AdvanceMs(500);
    EXPECT_EQ(purgatory.ExpireDue(), 1);
  }
  // Without the sweep all 50,000; it comes once about half may be stale.
  EXPECT_LE(most_watched, 2 * 1000 + 2 * kKeys);
  EXPECT_EQ(purgatory.Pending(), 0);
}

TEST(PurgatoryTest, ExpiresAtTheDeadlineAndNotBefore) {
  Probe early, late;
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  purgatory.TryCompleteElseWatch(early.Op(clock.NowMs() + 100), {WatchKey::Partition("t", 0)});
  purgatory.TryCompleteElseWatch(late.Op(clock.NowMs() + 200), {WatchKey::Partition("t", 0)});
  clock.AdvanceMs(99);
  EXPECT_EQ(purgatory.ExpireDue(), 0);
  clock.AdvanceMs(1);
  EXPECT_EQ(purgatory.ExpireDue(), 1);
  EXPECT_EQ(early.expirations, 1);
  EXPECT_EQ(late.completions, 0);
  EXPECT_EQ(purgatory.Pending(), 1);
  clock.AdvanceMs(100);
  EXPECT_EQ(purgatory.ExpireDue(), 1);
  EXPECT_EQ(late.expirations, 1);
}

TEST(PurgatoryTest, CompletesAtOnceWhenItCan) {
  Probe probe;
  probe.ready = true;
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  EXPECT_TRUE(
      purgatory.TryCompleteElseWatch(probe.Op(clock.NowMs() + 100), {WatchKey::Partition("t", 0)}));
  EXPECT_EQ(probe.completions, 1);
  EXPECT_EQ(purgatory.Watched(), 0);
}

TEST(PurgatoryTest, ProgressBetweenTheFirstTryAndTheWatchIsNotMissed) {
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  // The data arrives right after the first try (its CheckAndComplete came
  // before the operation was listed, so it found nobody).
  int tries = 0;
  bool completed = false;
  auto op = std::make_shared<DelayedOperation>(clock.NowMs() + 1000, [&](bool) {
    if (++tries == 1) return false;
    completed = true;
    return true;
  });
  EXPECT_TRUE(purgatory.TryCompleteElseWatch(op, {WatchKey::Partition("t", 0)}));
  EXPECT_TRUE(completed);
  EXPECT_EQ(tries, 2);
}

TEST(PurgatoryTest, AnOperationCheckedAgainFromInsideItsOwnTryIsRetriedNotDeadlocked) {
  // A parked follower fetch whose re-read moves a high watermark: the
  // replica manager tells the purgatory about that partition while the
  // fetch's own try is still running on this thread.
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  const WatchKey key = WatchKey::Partition("t", 0);
  bool armed = false;
  int tries = 0;
  int inner_completions = -1;
  auto op = std::make_shared<DelayedOperation>(clock.NowMs() + 1000, [&](bool expired) {
    if (expired) return true;
    if (!armed) return false;
    if (++tries == 1) {
      // The progress this try made comes back to the same operation.
      inner_completions = purgatory.CheckAndComplete(key);
      return false;  // not enough yet; the note left by the inner check says look again
    }
    return true;
  });
  EXPECT_FALSE(purgatory.TryCompleteElseWatch(op, {key}));
  armed = true;
  EXPECT_EQ(purgatory.CheckAndComplete(key), 1);
  EXPECT_EQ(inner_completions, 0) << "the inner check must not run the operation it is inside";
  EXPECT_EQ(tries, 2) << "the running try must try again for the check that came meanwhile";
  EXPECT_TRUE(op->completed());
}

TEST(PurgatoryTest, AStandingWatcherIsTriedOnEveryCheckUntilCompleted) {
  Probe probe;
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  std::vector<WatchKey> keys;
  for (int p = 0; p < 3; ++p) keys.push_back(WatchKey::Partition("t", p));
  // Listed without a try and without a deadline.
  purgatory.Watch(probe.Op(0), keys);
  EXPECT_EQ(probe.tries, 0);
  EXPECT_EQ(purgatory.Pending(), 0);
  EXPECT_EQ(purgatory.Watched(), 3);
  clock.AdvanceMs(100000);
  EXPECT_EQ(purgatory.ExpireDue(), 0);
  // Every check of any of its keys tries it; it stays listed.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(purgatory.CheckAndComplete(keys[static_cast<size_t>(i % 3)]), 0);
  }
  EXPECT_EQ(probe.tries, 5);
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("t", 3)), 0);
  EXPECT_EQ(probe.tries, 5);
  EXPECT_EQ(purgatory.Watched(), 3);
}

TEST(PurgatoryTest, ACompletedStandingWatcherIsNoLongerTriedAndLeavesTheLists) {
  Probe probe;
  ManualClock clock;
  Purgatory::Options options = NoReaper();
  options.purge_interval = 1;
  Purgatory purgatory(&clock, "test", options);
  std::shared_ptr<DelayedOperation> op = probe.Op(0);
  purgatory.Watch(op, {WatchKey::Partition("t", 0), WatchKey::FetchSession(7)});
  EXPECT_TRUE(purgatory.Complete(op));
  EXPECT_EQ(probe.expirations, 1);
  EXPECT_FALSE(purgatory.Complete(op)) << "completes once";
  EXPECT_EQ(purgatory.Watched(), 0) << "swept";
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("t", 0)), 0);
  EXPECT_EQ(probe.tries, 1) << "only the completion";
  // A session key is its own: not the partition with the same number.
  Probe other;
  purgatory.Watch(other.Op(0), {WatchKey::FetchSession(7)});
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::Partition("", 7)), 0);
  EXPECT_EQ(other.tries, 0);
  other.ready = true;
  EXPECT_EQ(purgatory.CheckAndComplete(WatchKey::FetchSession(7)), 1);
  // After Shutdown a standing watcher completes at once.
  purgatory.Shutdown();
  Probe late;
  purgatory.Watch(late.Op(0), {WatchKey::Group("g")});
  EXPECT_EQ(late.expirations, 1);
}

TEST(PurgatoryTest, ShutdownExpiresEverythingAndLaterOperationsAtOnce) {
  Probe a, b;
  ManualClock clock;
  Purgatory purgatory(&clock, "test", NoReaper());
  purgatory.TryCompleteElseWatch(a.Op(clock.NowMs() + 100000), {WatchKey::Group("g")});
  purgatory.Shutdown();
  EXPECT_EQ(a.expirations, 1);
  EXPECT_TRUE(purgatory.TryCompleteElseWatch(b.Op(clock.NowMs() + 100000), {WatchKey::Group("g")}));
  EXPECT_EQ(b.expirations, 1);
  EXPECT_EQ(purgatory.Pending(), 0);
}

TEST(PurgatoryTest, TheReaperExpiresOnTheRealClock) {
  Probe probe;
  Purgatory purgatory(Clock::Real(), "test");
  purgatory.TryCompleteElseWatch(probe.Op(Clock::Real()->NowMs() + 20),
                                 {WatchKey::Partition("t", 0)});
  for (int i = 0; i < 500 && probe.completions == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(probe.expirations, 1);
}

TEST(PurgatoryTest, EachOperationCompletesExactlyOnceUnderConcurrentProgress) {
  constexpr int kOps = 2000;
  constexpr int kKeys = 8;
  std::vector<Probe> probes(kOps);
  std::vector<std::atomic<int>> seen(kOps);
  ManualClock clock;
  Purgatory::Options options = NoReaper();
  options.purge_interval = 50;
  Purgatory purgatory(&clock, "test", options);
  for (Probe& p : probes) p.ready = true;  // completable; only the racing matters
  std::atomic<bool> parking_done{false};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 4; ++t) {
    checkers.emplace_back([&, t] {
      for (int round = 0; round < 100000 && !(parking_done && purgatory.Pending() == 0); ++round) {
        purgatory.CheckAndComplete(WatchKey::Partition("t", (round + t) % kKeys));
      }
    });
  }
  for (int i = 0; i < kOps; ++i) {
    // Not ready at the first two tries for half of them, so they park.
    Probe& probe = probes[i];
    auto op = std::make_shared<DelayedOperation>(clock.NowMs() + 100000,
                                                 [&probe, &seen, i](bool expired) {
                                                   if (!expired && i % 2 == 0 && ++seen[i] <= 2)
                                                     return false;
                                                   ++probe.completions;
                                                   return true;
                                                 });
    purgatory.TryCompleteElseWatch(
        op, {WatchKey::Partition("t", i % kKeys), WatchKey::Partition("t", (i + 3) % kKeys)});
  }
  parking_done = true;
  for (std::thread& t : checkers) t.join();
  // Whatever the threads left, the deadline takes.
  clock.AdvanceMs(200000);
  purgatory.ExpireDue();
  for (int i = 0; i < kOps; ++i) ASSERT_EQ(probes[i].completions, 1) << "operation " << i;
  EXPECT_EQ(purgatory.Pending(), 0);
}

}  // namespace
}  // namespace strata::purgatory
