#include "broker/server/purgatory.h"

#include <algorithm>

namespace strata::server {
namespace {

// How often parked operations are re-checked when nothing changes (for
// deadlines).
constexpr absl::Duration kPoll = absl::Milliseconds(50);

}  // namespace

Purgatory::Purgatory(replication::ReplicaManager* replicas) : replicas_(replicas) {
  thread_ = std::thread([this] { Loop(); });
}

Purgatory::~Purgatory() { Shutdown(); }

bool Purgatory::Park(absl::Time deadline, TryComplete try_complete) {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return false;
    parked_.push_back(Parked{deadline, std::move(try_complete)});
  }
  // The change that completes it may have come between the caller's try
  // and now, already seen by the loop: wake the loop for one more round.
  replicas_->Nudge();
  return true;
}

void Purgatory::CompleteFetch(grpc::ServerUnaryReactor* reactor, size_t bytes, bool any_error,
                              int32_t min_bytes, int32_t max_wait_ms,
                              std::function<bool()> has_data, std::function<void()> reread) {
  if (bytes >= static_cast<size_t>(std::max(min_bytes, 1)) || any_error || max_wait_ms <= 0) {
    reactor->Finish(grpc::Status::OK);
    return;
  }
  auto try_complete = [reactor, has_data = std::move(has_data),
                       reread = std::move(reread)](bool expired) {
    if (!expired && !has_data()) return false;
    reread();
    reactor->Finish(grpc::Status::OK);
    return true;
  };
  if (!Park(absl::Now() + absl::Milliseconds(std::min(max_wait_ms, 60000)), try_complete)) {
    try_complete(true);
  }
}

void Purgatory::Shutdown() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  thread_.join();
}

void Purgatory::Loop() {
  uint64_t seen = replicas_->progress();
  while (true) {
    std::list<Parked> batch;
    bool stopping = false;
    {
      absl::MutexLock l(&mu_);
      stopping = stopping_;
      batch.swap(parked_);
    }
    const absl::Time now = absl::Now();
    for (auto it = batch.begin(); it != batch.end();) {
      const bool expired = stopping || now >= it->deadline;
      if (it->try_complete(expired)) {
        it = batch.erase(it);
      } else {
        ++it;
      }
    }
    {
      absl::MutexLock l(&mu_);
      parked_.splice(parked_.begin(), batch);
    }
    if (stopping) return;
    // Park() nudges the replica manager, so an operation parked while this
    // round ran gets another round at once.
    seen = replicas_->WaitForProgress(seen, absl::Now() + kPoll);
  }
}

}  // namespace strata::server
