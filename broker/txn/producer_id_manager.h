// ProducerIdManager: hands out this broker's producer ids (Kafka's
// RPCProducerIdManager, KIP-730). The controller allocates ids in blocks
// (of 1000, Kafka's PRODUCER_ID_BLOCK_SIZE) through the metadata log, one
// ProducerIdsRecord per block, so ids are unique across brokers, restarts
// and controller failovers; this class hands out one block's ids in turn.
//
// Contract:
//  * Ids come out strictly increasing and never twice from one manager; a
//    block is used by one manager only (the controller never grants a block
//    twice), so a restarted broker — a new manager — asks for a new block and
//    never repeats an id of its previous life. Ids left in a block when the
//    broker stops are skipped, never reused.
//  * When 90 % of the current block is handed out the next block is fetched
//    in the background, so in steady state GenerateProducerId never waits on
//    the controller (or Raft). At most one fetch is outstanding.
//  * With no id at hand (before the first block, or a controller slow to
//    answer a prefetch) GenerateProducerId answers Unavailable at once and a
//    fetch is under way (or starts once a failed one's backoff has passed);
//    the caller answers COORDINATOR_LOAD_IN_PROGRESS, which every client
//    retries.
//  * A failed fetch (no controller, not registered yet, STALE_BROKER_EPOCH,
//    a timeout) is tried again by the manager's thread once a backoff has
//    passed (doubling from retry_backoff_ms up to max_retry_backoff_ms), so
//    the first block after a start comes without waiting for a producer to
//    ask, and a dead controller costs no tight loop. Within the backoff no
//    fetch starts, however often ids are asked for.
//
// Thread-safe. The fetch runs on the manager's own thread, started by the
// constructor and joined by Stop() (or the destructor), which waits for a
// fetch in progress — bounded by the fetch function's own deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"

namespace strata::txn {

// The ids [first_id, first_id + count - 1]; the controller's blocks hold
// metadata::Controller::kProducerIdBlockSize (1000) ids.
struct ProducerIdBlock {
  int64_t first_id = 0;
  int32_t count = 0;

  int64_t last_id() const { return first_id + count - 1; }
  friend bool operator==(const ProducerIdBlock&, const ProducerIdBlock&) = default;
};

struct ProducerIdManagerOptions {
  int32_t broker_id = -1;
  // This broker's current broker epoch; -1 before it has registered (no
  // block can be asked for then).
  std::function<int64_t()> broker_epoch;
  // Asks the controller for the next block (the node: ControllerChannel::
  // AllocateProducerIds). Called on the manager's thread, one call at a
  // time; may block, but must return within its own deadline.
  std::function<absl::StatusOr<ProducerIdBlock>(int32_t broker_id, int64_t broker_epoch)>
      fetch_block;
  // The backoff's clock; Clock::Real() when null.
  Clock* clock = nullptr;
  // After a failed fetch, no new one starts for this long; each further
  // failure doubles it, up to the max; a success resets it.
  int64_t retry_backoff_ms = 100;
  int64_t max_retry_backoff_ms = 10000;
};

class ProducerIdManager {
 public:
  explicit ProducerIdManager(ProducerIdManagerOptions options);
  ~ProducerIdManager();

  ProducerIdManager(const ProducerIdManager&) = delete;
  ProducerIdManager& operator=(const ProducerIdManager&) = delete;

  // The next unused producer id, or Unavailable when no block is held yet
  // (a fetch is then under way; the caller answers
  // COORDINATOR_LOAD_IN_PROGRESS, which clients retry).
  absl::StatusOr<int64_t> GenerateProducerId();
  // Asks for the first block now (no id is handed out) unless one is held
  // or on its way: the node calls it once the broker has registered, so
  // that the first InitProducerId after a start finds ids.
  void Prefetch();

  // Waits for a fetch in progress, then stops the manager's thread; every
  // later GenerateProducerId answers Unavailable. Idempotent.
  void Stop();

  // Fetches whose answer (a block or a failure) the manager has taken in:
  // a block held, or the backoff started.
  int64_t fetches_taken() const;

 private:
  enum class FetchState { kIdle, kQueued, kRunning };

  void Loop();
  // Queues a fetch unless one is queued or running, or the backoff after a
  // failed one has not passed.
  void MaybeRequestBlockLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The fetch's outcome: a block becomes the next one, a failure starts the
  // backoff (with a warning unless `expected`).
  void OnFetched(absl::StatusOr<ProducerIdBlock> block, bool expected)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ProducerIdManagerOptions options_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t fetches_taken_ ABSL_GUARDED_BY(mu_) = 0;
  // The block ids are handed out from, and the next id of it (past its
  // last id: used up).
  std::optional<ProducerIdBlock> current_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Fetched ahead, used once current_ runs out.
  std::optional<ProducerIdBlock> next_block_ ABSL_GUARDED_BY(mu_);
  // The highest id of any block this manager has held: a block at or below
  // it is refused, so no id comes out twice.
  int64_t highest_granted_ ABSL_GUARDED_BY(mu_) = -1;
  FetchState fetch_ ABSL_GUARDED_BY(mu_) = FetchState::kIdle;
  // No fetch starts before this (a backoff after a failure).
  int64_t retry_at_ms_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t backoff_ms_ ABSL_GUARDED_BY(mu_) = 0;
  // A fetch failed and no other has started since: the thread starts one
  // at retry_at_ms_.
  bool retry_pending_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace strata::txn
