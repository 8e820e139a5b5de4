#include "broker/storage/scheduler.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

using ::testing::ElementsAre;

TEST(SchedulerTest, RunsEachTaskEveryPeriodByTheInjectedClock) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  std::vector<std::string> ran;
  ASSERT_TRUE(scheduler.Schedule("fast", 100, [&] { ran.push_back("fast"); }).ok());
  ASSERT_TRUE(scheduler.Schedule("slow", 250, [&] { ran.push_back("slow"); }).ok());

  EXPECT_EQ(scheduler.RunDue(), 0);  // nothing is due before its first period
  clock.AdvanceMs(99);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.AdvanceMs(1);  // t=100
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(scheduler.RunDue(), 0);  // not twice for one due time
  clock.AdvanceMs(100);              // t=200
  EXPECT_EQ(scheduler.RunDue(), 1);
  clock.AdvanceMs(100);  // t=300: both, the one due first first
  EXPECT_EQ(scheduler.RunDue(), 2);
  EXPECT_THAT(ran, ElementsAre("fast", "fast", "slow", "fast"));
}

TEST(SchedulerTest, MissedRunsAreNotMadeUp) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  int runs = 0;
  ASSERT_TRUE(scheduler.Schedule("t", 100, [&] { ++runs; }).ok());
  clock.AdvanceMs(1000);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.AdvanceMs(99);
  EXPECT_EQ(scheduler.RunDue(), 0);  // a period after the run, not after the due time
  clock.AdvanceMs(1);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(runs, 2);
}

TEST(SchedulerTest, TheNextRunIsAPeriodAfterARunEnds) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  ASSERT_TRUE(scheduler.Schedule("slow", 100, [&] { clock.AdvanceMs(30); }).ok());
  clock.AdvanceMs(100);
  EXPECT_EQ(scheduler.RunDue(), 1);  // ends at t=130
  clock.AdvanceMs(99);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.AdvanceMs(1);
  EXPECT_EQ(scheduler.RunDue(), 1);
}

TEST(SchedulerTest, AClockThatGoesBackDelaysATaskByAtMostAPeriod) {
  ManualClock clock(1'000'000);
  Scheduler scheduler(&clock);
  int runs = 0;
  ASSERT_TRUE(scheduler.Schedule("t", 100, [&] { ++runs; }).ok());
  clock.SetMs(1'000'000 - 3'600'000);  // an hour back
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.AdvanceMs(100);
  EXPECT_EQ(scheduler.RunDue(), 1);
}

TEST(SchedulerTest, RefusesBadPeriodsAndDuplicateNames) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  absl::Status s = scheduler.Schedule("t", 0, [] {});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("'t'"), absl::string_view::npos) << s;
  ASSERT_TRUE(scheduler.Schedule("t", 10, [] {}).ok());
  s = scheduler.Schedule("t", 20, [] {});
  EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
  EXPECT_THAT(scheduler.TaskNames(), ElementsAre("t"));
}

TEST(SchedulerTest, AnEndlessPeriodNeverFallsDue) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  ASSERT_TRUE(scheduler.Schedule("never", INT64_MAX, [] { FAIL() << "ran"; }).ok());
  clock.AdvanceMs(int64_t{1} << 40);
  EXPECT_EQ(scheduler.RunDue(), 0);
}

TEST(SchedulerTest, ATaskMayScheduleAnother) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  int second = 0;
  ASSERT_TRUE(
      scheduler
          .Schedule("first", 10, [&] { (void)scheduler.Schedule("second", 10, [&] { ++second; }); })
          .ok());
  clock.AdvanceMs(10);
  EXPECT_EQ(scheduler.RunDue(), 1);
  clock.AdvanceMs(10);
  EXPECT_EQ(scheduler.RunDue(), 2);
  EXPECT_EQ(second, 1);
}

// The thread, with a ManualClock: it notices the clock moving, runs the due
// task, and stops (idempotently) with no run after Stop returns.
TEST(SchedulerTest, TheThreadRunsDueTasksUntilStopped) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  std::atomic<int> runs{0};
  absl::Notification first;
  ASSERT_TRUE(scheduler
                  .Schedule("t", 1000,
                            [&] {
                              if (++runs == 1) first.Notify();
                            })
                  .ok());
  scheduler.Start();
  scheduler.Start();  // no-op
  clock.AdvanceMs(1000);
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(30)));
  scheduler.Stop();
  const int after_stop = runs.load();
  clock.AdvanceMs(10'000);
  absl::SleepFor(absl::Milliseconds(3 * Scheduler::kMaxSleepMs));
  EXPECT_EQ(runs.load(), after_stop);
  scheduler.Stop();                  // idempotent
  EXPECT_EQ(scheduler.RunDue(), 1);  // stopped: the test hook works again
}

TEST(SchedulerTest, StopWaitsForARunningTask) {
  ManualClock clock;
  Scheduler scheduler(&clock);
  absl::Notification started;
  std::atomic<bool> finished{false};
  ASSERT_TRUE(scheduler
                  .Schedule("slow", 1,
                            [&] {
                              if (started.HasBeenNotified()) return;
                              started.Notify();
                              absl::SleepFor(absl::Milliseconds(200));
                              finished = true;
                            })
                  .ok());
  scheduler.Start();
  clock.AdvanceMs(1);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  scheduler.Stop();
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace strata::storage
