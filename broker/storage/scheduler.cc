#include "broker/storage/scheduler.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

// Periods may be "never" (Kafka's Long.MAX_VALUE intervals); due times
// saturate rather than wrap.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

Scheduler::~Scheduler() { Stop(); }

absl::Status Scheduler::Schedule(std::string name, int64_t period_ms, std::function<void()> task) {
  if (period_ms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("task '", name, "' has period ", period_ms, " ms; it must be at least 1 ms"));
  }
  absl::MutexLock l(&mu_);
  for (const Task& t : tasks_) {
    if (t.name == name) {
      return absl::AlreadyExistsError(absl::StrCat("a task named '", name, "' is scheduled"));
    }
  }
  const int64_t due = SaturatingAdd(clock_->NowMs(), period_ms);
  tasks_.push_back(Task{std::move(name), period_ms, std::move(task), due});
  wake_ = true;
  return absl::OkStatus();
}

void Scheduler::Start() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock l(&mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock l(&mu_);
    if (!started_) return;
    stopping_ = true;
    wake_ = true;
  }
  thread_.join();
  absl::MutexLock l(&mu_);
  started_ = false;
  stopping_ = false;
}

int Scheduler::RunDue() {
  {
    absl::MutexLock l(&mu_);
    CHECK(!started_) << "Scheduler::RunDue is for tests that drive time themselves; this "
                        "scheduler's thread is running";
  }
  return RunDueTasks();
}

std::vector<std::string> Scheduler::TaskNames() const {
  absl::MutexLock l(&mu_);
  std::vector<std::string> names;
  for (const Task& t : tasks_) names.push_back(t.name);
  return names;
}

void Scheduler::Loop() {
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      const int64_t now = clock_->NowMs();
      KeepToPeriodLocked(now);
      int64_t sleep_ms = kMaxSleepMs;
      for (const Task& t : tasks_) {
        sleep_ms = std::min(sleep_ms, std::max<int64_t>(0, t.next_due_ms - now));
      }
      if (sleep_ms > 0) {
        wake_ = false;
        // A relative wait, so that no clock but clock_ is read for a deadline.
        mu_.AwaitWithTimeout(absl::Condition(&wake_), absl::Milliseconds(sleep_ms));
        continue;  // look at the clock (and stopping_) again
      }
    }
    RunDueTasks();
  }
}

void Scheduler::KeepToPeriodLocked(int64_t now) {
  // The clock went back: keep to the period rather than wait out the jump.
  for (Task& t : tasks_) {
    if (t.next_due_ms - now > t.period_ms) t.next_due_ms = SaturatingAdd(now, t.period_ms);
  }
}

int Scheduler::RunDueTasks() {
  // The due tasks, earliest first, by index: tasks are only ever appended.
  std::vector<std::pair<int64_t, size_t>> due;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = clock_->NowMs();
    KeepToPeriodLocked(now);
    for (size_t i = 0; i < tasks_.size(); ++i) {
      if (tasks_[i].next_due_ms <= now) due.emplace_back(tasks_[i].next_due_ms, i);
    }
  }
  std::sort(due.begin(), due.end());
  int ran = 0;
  for (const auto& [_, i] : due) {
    std::function<void()> fn;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
      fn = tasks_[i].fn;
    }
    fn();
    ++ran;
    absl::MutexLock l(&mu_);
    tasks_[i].next_due_ms = SaturatingAdd(clock_->NowMs(), tasks_[i].period_ms);
  }
  return ran;
}

}  // namespace strata::storage
