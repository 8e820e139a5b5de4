#include "broker/purgatory/purgatory.h"

#include <algorithm>

#include "glog/logging.h"

namespace strata::purgatory {
namespace {

// The reaper's longest sleep: deadlines set while it sleeps are met within
// this (a fetch's max_wait_ms is rarely shorter).
constexpr int64_t kMaxReaperSleepMs = 50;

}  // namespace

bool DelayedOperation::RunLocked(bool expired) {
  if (completed()) return false;
  if (!try_complete_(expired)) {
    LOG_IF(DFATAL, expired) << "a delayed operation did not complete when it expired";
    return false;
  }
  completed_.store(true, std::memory_order_release);
  // Frees what the completion captured (the response, its reserved
  // memory) even while stale list entries still point at the operation.
  try_complete_ = nullptr;
  return true;
}

bool DelayedOperation::MaybeTryComplete() {
  bool done = false;
  bool retry = false;
  do {
    if (mu_.TryLock()) {
      try_pending_.store(false);
      done = RunLocked(false);
      mu_.Unlock();
      // Another try came while this one ran: it is this thread's to make.
      retry = try_pending_.load();
    } else {
      // Someone is trying. If the note was already there, that one is
      // bound to see it and try again; if this thread set it, the other may
      // have finished just before, so try once more here.
      retry = !try_pending_.exchange(true);
    }
  } while (!done && !completed() && retry);
  return done;
}

bool DelayedOperation::ForceComplete() {
  absl::MutexLock l(&mu_);
  return RunLocked(true);
}

Purgatory::Purgatory(Clock* clock, std::string name, Options options)
    : clock_(clock), name_(std::move(name)), options_(options) {
  if (options_.start_reaper) reaper_ = std::thread([this] { Reaper(); });
}

Purgatory::~Purgatory() { Shutdown(); }

bool Purgatory::TryCompleteElseWatch(const std::shared_ptr<DelayedOperation>& op,
                                     const std::vector<WatchKey>& keys) {
  // Kafka's order: try; watch; try again. The second try closes the gap in
  // which progress on a key came after the first try and before the
  // operation was listed under it.
  if (op->MaybeTryComplete()) return true;
  bool stopping = false;
  {
    absl::MutexLock l(&mu_);
    stopping = stopping_;
    if (!stopping) {
      for (const WatchKey& key : keys) watchers_[key].push_back(op);
      watched_ += static_cast<int>(keys.size());
      op->listed_ = static_cast<int>(keys.size());
      by_deadline_.emplace(op->deadline_ms(), op);
    }
  }
  // Shutting down (so not listed for Shutdown to expire): this is the
  // expiry. Otherwise the retry; a Shutdown from now on expires it.
  if (!(stopping ? op->ForceComplete() : op->MaybeTryComplete())) return false;
  absl::MutexLock l(&mu_);
  stale_since_purge_ += op->listed_;
  if (PurgeDueLocked()) PurgeCompletedLocked();
  return true;
}

int Purgatory::CheckAndComplete(const WatchKey& key) {
  std::vector<std::shared_ptr<DelayedOperation>> watching;
  {
    absl::MutexLock l(&mu_);
    auto it = watchers_.find(key);
    if (it == watchers_.end()) return 0;
    watching.assign(it->second.begin(), it->second.end());
  }
  int completed = 0;
  int stale = 0;  // their entries, this key's among them
  for (const std::shared_ptr<DelayedOperation>& op : watching) {
    if (op->MaybeTryComplete()) {
      ++completed;
      stale += op->listed_;
    }
  }
  absl::MutexLock l(&mu_);
  // Drops this key's completed entries (by others' keys too); the other
  // keys of operations completed here are swept by PurgeCompletedLocked.
  auto it = watchers_.find(key);
  if (it != watchers_.end()) {
    const size_t before = it->second.size();
    it->second.remove_if(
        [](const std::shared_ptr<DelayedOperation>& op) { return op->completed(); });
    watched_ -= static_cast<int>(before - it->second.size());
    if (it->second.empty()) watchers_.erase(it);
  }
  stale_since_purge_ += stale;
  if (PurgeDueLocked()) PurgeCompletedLocked();
  return completed;
}

void Purgatory::Watch(const std::shared_ptr<DelayedOperation>& op,
                      const std::vector<WatchKey>& keys) {
  {
    absl::MutexLock l(&mu_);
    if (!stopping_) {
      for (const WatchKey& key : keys) watchers_[key].push_back(op);
      watched_ += static_cast<int>(keys.size());
      op->listed_ = static_cast<int>(keys.size());
      return;
    }
  }
  op->ForceComplete();
}

bool Purgatory::Complete(const std::shared_ptr<DelayedOperation>& op) {
  if (!op->ForceComplete()) return false;
  absl::MutexLock l(&mu_);
  stale_since_purge_ += op->listed_;
  if (PurgeDueLocked()) PurgeCompletedLocked();
  return true;
}

bool Purgatory::PurgeDueLocked() const {
  // A sweep walks every list: wait until about half the entries may be
  // stale (each completion counts the entries it leaves), so its cost per
  // entry stays bounded however many operations are parked. (Counting
  // completions instead let the stale entries of fetches that expired
  // under keys nobody checks, idle partitions, outgrow the count for
  // good.)
  return stale_since_purge_ >= std::max(options_.purge_interval, watched_ / 2);
}

void Purgatory::PurgeCompletedLocked() {
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    const size_t before = it->second.size();
    it->second.remove_if(
        [](const std::shared_ptr<DelayedOperation>& op) { return op->completed(); });
    watched_ -= static_cast<int>(before - it->second.size());
    if (it->second.empty()) {
      watchers_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = by_deadline_.begin(); it != by_deadline_.end();) {
    it = it->second->completed() ? by_deadline_.erase(it) : std::next(it);
  }
  stale_since_purge_ = 0;
}

int Purgatory::ExpireDue() {
  std::vector<std::shared_ptr<DelayedOperation>> due;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = clock_->NowMs();
    auto end = by_deadline_.upper_bound(now);
    for (auto it = by_deadline_.begin(); it != end; ++it) due.push_back(it->second);
    by_deadline_.erase(by_deadline_.begin(), end);
  }
  int expired = 0;
  int stale = 0;
  for (const std::shared_ptr<DelayedOperation>& op : due) {
    if (op->ForceComplete()) {
      ++expired;
      stale += op->listed_;
    }
  }
  if (expired > 0) {
    absl::MutexLock l(&mu_);
    stale_since_purge_ += stale;
    if (PurgeDueLocked()) PurgeCompletedLocked();
  }
  return expired;
}

int Purgatory::Pending() const {
  absl::MutexLock l(&mu_);
  return static_cast<int>(std::count_if(by_deadline_.begin(), by_deadline_.end(),
                                        [](const auto& e) { return !e.second->completed(); }));
}

int Purgatory::Watched() const {
  absl::MutexLock l(&mu_);
  return watched_;
}

void Purgatory::Shutdown() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (reaper_.joinable()) reaper_.join();
  std::multimap<int64_t, std::shared_ptr<DelayedOperation>> parked;
  {
    absl::MutexLock l(&mu_);
    parked.swap(by_deadline_);
    watchers_.clear();
    watched_ = 0;
  }
  for (auto& [deadline, op] : parked) op->ForceComplete();
  VLOG(1) << "Purgatory " << name_ << " shut down; " << parked.size() << " operations expired";
}

void Purgatory::Reaper() {
  while (true) {
    {
      absl::MutexLock l(&mu_);
      int64_t sleep_ms = kMaxReaperSleepMs;
      if (!by_deadline_.empty()) {
        sleep_ms = std::clamp<int64_t>(by_deadline_.begin()->first - clock_->NowMs(), 1,
                                       kMaxReaperSleepMs);
      }
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Milliseconds(sleep_ms))) return;
    }
    ExpireDue();
  }
}

}  // namespace strata::purgatory
