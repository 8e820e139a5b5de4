// TaskRunner: one thread that runs tasks in the order they fall due — what
// a coordinator hands its `schedule` callback (loads, retries after a
// backoff). A task may block briefly; the ones due after it wait.
//
//   TaskRunner runner("txn-coordinator", clock);
//   runner.Start();
//   runner.RunAfter(100, [] { ... });
//   runner.Stop();  // tasks not yet run are dropped
//
// Thread-safe. Due times are read from `clock`; waits are real time (a
// fake clock's tasks run once it has passed their due time and the runner
// next looks, at least every 50 ms).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"

namespace strata::server {

class TaskRunner {
 public:
  TaskRunner(std::string name, Clock* clock) : name_(std::move(name)), clock_(clock) {}
  // Calls Stop().
  ~TaskRunner();

  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  void Start();
  // Runs `task` once, `delay_ms` from now (<= 0: as soon as the thread is
  // free); tasks due at the same time run in the order they were given.
  // Ignored after Stop().
  void RunAfter(int64_t delay_ms, std::function<void()> task);
  // Waits for the running task, then drops the rest. Idempotent. Not from
  // a task (it would wait for itself).
  void Stop();

  // Tasks waiting to run.
  size_t pending() const;

 private:
  void Loop();

  const std::string name_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  // By (due time, arrival): the earliest first, ties in arrival order.
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // A task was added: the loop looks again at once.
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::server
