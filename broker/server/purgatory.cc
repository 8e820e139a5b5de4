#include "broker/server/purgatory.h"

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
  absl::MutexLock l(&mu_);
  if (stopping_) return false;
  parked_.push_back(Parked{deadline, std::move(try_complete)});
  ++parks_;
  return true;
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
    uint64_t parks = 0;
    {
      absl::MutexLock l(&mu_);
      stopping = stopping_;
      batch.swap(parked_);
      parks = parks_;
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
    bool parked_meanwhile = false;
    {
      absl::MutexLock l(&mu_);
      parked_.splice(parked_.begin(), batch);
      // An operation parked while this round ran may have missed the
      // change that completes it: give it a try before waiting.
      parked_meanwhile = parks_ != parks;
    }
    if (stopping) return;
    if (parked_meanwhile) continue;
    seen = replicas_->WaitForProgress(seen, absl::Now() + kPoll);
  }
}

}  // namespace strata::server
