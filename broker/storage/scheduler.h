// Scheduler: named periodic tasks run one at a time on one thread (Kafka's
// KafkaScheduler). The log manager owns one for periodic log work (the
// flush check today, retention and cleaning next); other modules add their
// own periodic tasks to it.
//
// Time: read only through the injected Clock. A task is due `period_ms`
// after it was scheduled, then `period_ms` after each of its runs ended
// (fixed delay, so a slow run never makes the next ones bunch up). The
// thread sleeps until the earliest due time, waking at least every
// kMaxSleepMs to look at the clock again: a ManualClock moved by a test, or
// a wall clock stepped by NTP, is noticed within that. A due time more than
// a period ahead of the clock (the clock went back) is pulled in to one
// period from now.
//
// Tests drive a scheduler that was never started with RunDue() and a
// ManualClock: each call runs, on the caller's thread, the tasks due at the
// clock's current time.
//
// Tasks run without the scheduler's lock held, so a task may Schedule.
// A task must not call Stop() (it would wait for itself).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"

namespace strata::storage {

class Scheduler {
 public:
  // The longest the thread sleeps without looking at the clock.
  static constexpr int64_t kMaxSleepMs = 100;

  // `clock` must outlive the scheduler.
  explicit Scheduler(Clock* clock) : clock_(clock) {}
  // Stops.
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `task` every `period_ms`, first `period_ms` from now. Before or
  // after Start(). InvalidArgument when period_ms < 1; AlreadyExists when
  // a task of that name is scheduled.
  absl::Status Schedule(std::string name, int64_t period_ms, std::function<void()> task);

  // Starts the thread; no-op when it runs. Start after Stop runs the
  // scheduled tasks again.
  void Start();
  // Waits for a running task to end and stops the thread; no task runs
  // after it returns. Idempotent.
  void Stop();

  // Test hook: runs, on the caller's thread, every task due at the clock's
  // current time, in the order they fall due. Returns how many ran. Only on
  // a scheduler that is not started (CHECKed), so that no task ever runs
  // twice at once.
  int RunDue();

  // Names of the scheduled tasks, in the order they were scheduled.
  std::vector<std::string> TaskNames() const;

 private:
  struct Task {
    std::string name;
    int64_t period_ms;
    std::function<void()> fn;
    int64_t next_due_ms;
  };

  void Loop();
  // Runs every task due now; returns how many ran. Called by one thread at
  // a time (the scheduler's, or RunDue's caller).
  int RunDueTasks() ABSL_LOCKS_EXCLUDED(mu_);
  // Pulls in due times more than a period ahead of `now`.
  void KeepToPeriodLocked(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;

  mutable absl::Mutex mu_;
  std::vector<Task> tasks_ ABSL_GUARDED_BY(mu_);
  // Something for the thread to look at: a new task, or Stop().
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // Serialises Start and Stop, which touch thread_.
  absl::Mutex lifecycle_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);
};

}  // namespace strata::storage
