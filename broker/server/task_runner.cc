#include "broker/server/task_runner.h"

#include <algorithm>

#include "absl/time/time.h"
#include "glog/logging.h"

namespace strata::server {

TaskRunner::~TaskRunner() { Stop(); }

void TaskRunner::Start() {
  absl::MutexLock l(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void TaskRunner::RunAfter(int64_t delay_ms, std::function<void()> task) {
  const int64_t due = clock_->NowMs() + std::max<int64_t>(delay_ms, 0);
  absl::MutexLock l(&mu_);
  if (stopping_) return;
  tasks_.emplace(std::make_pair(due, next_seq_++), std::move(task));
  wake_ = true;
}

void TaskRunner::Stop() {
  std::thread thread;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    thread.swap(thread_);
  }
  if (thread.joinable()) thread.join();
  // Dropped outside the lock: a task's captures may take locks of their own
  // when destroyed.
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> dropped;
  {
    absl::MutexLock l(&mu_);
    dropped.swap(tasks_);
  }
}

size_t TaskRunner::pending() const {
  absl::MutexLock l(&mu_);
  return tasks_.size();
}

void TaskRunner::Loop() {
  // The longest wait between looks at the clock, so a fake clock's time
  // moving on is noticed.
  constexpr int64_t kMaxWaitMs = 50;
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock l(&mu_);
      while (!stopping_) {
        const int64_t now = clock_->NowMs();
        if (!tasks_.empty() && tasks_.begin()->first.first <= now) break;
        const int64_t wait =
            tasks_.empty() ? kMaxWaitMs
                           : std::clamp<int64_t>(tasks_.begin()->first.first - now, 1, kMaxWaitMs);
        const auto woken = [this]()
                               ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
        mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(wait));
        wake_ = false;
      }
      if (stopping_) return;
      auto first = tasks_.begin();
      task = std::move(first->second);
      tasks_.erase(first);
    }
    task();
  }
}

}  // namespace strata::server
