// Purgatory: requests that cannot be answered yet — a long-poll fetch waiting
// for data, an acks=all produce waiting for the high watermark, a JoinGroup
// waiting for its group, a member's session waiting for its next heartbeat —
// parked without a thread each, after
// Kafka's DelayedOperationPurgatory.
//
// An operation watches keys: the partitions (or groups, members) whose progress may
// complete it. Whoever makes progress on a key (the replica manager after an
// append, a high-watermark move, a role change) calls CheckAndComplete(key),
// which retries only the operations watching that key, on the caller's
// thread. An operation that nothing completes expires at its deadline, on
// the purgatory's own reaper thread; at Shutdown every parked operation is
// completed as expired.
//
// An operation completes exactly once: its TryComplete is never run by two
// threads at a time, and after it returned true (or after it expired) it is
// never run again.
//
// Transport-neutral: it knows no wire protocol. Time comes through the
// Clock seam; a test with a ManualClock calls ExpireDue() instead of running
// the reaper.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"
#include "client/common/ids.h"

namespace strata::purgatory {

// What an operation waits on. Kafka's TopicPartitionOperationKey,
// GroupJoinKey/GroupSyncKey (one group key here) and MemberKey; and a
// follower's fetch session (request/fetch_sessions.h), woken when any of
// its partitions changes.
struct WatchKey {
  enum class Kind : uint8_t { kPartition, kGroup, kMember, kFetchSession };
  Kind kind = Kind::kPartition;
  std::string name;       // topic or group id
  int32_t partition = 0;  // for kPartition; the session id for kFetchSession
  std::string member;     // for kMember: the member id within group `name`

  static WatchKey Partition(const TopicPartition& tp) {
    return WatchKey{Kind::kPartition, tp.topic, tp.partition.value(), {}};
  }
  static WatchKey Partition(const std::string& topic, int32_t partition) {
    return WatchKey{Kind::kPartition, topic, partition, {}};
  }
  static WatchKey Group(const std::string& group_id) {
    return WatchKey{Kind::kGroup, group_id, 0, {}};
  }
  static WatchKey Member(const std::string& group_id, const std::string& member_id) {
    return WatchKey{Kind::kMember, group_id, 0, member_id};
  }
  static WatchKey FetchSession(int32_t session_id) {
    return WatchKey{Kind::kFetchSession, {}, session_id, {}};
  }

  friend bool operator==(const WatchKey&, const WatchKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const WatchKey& k) {
    return H::combine(std::move(h), k.kind, k.name, k.partition, k.member);
  }
};

// One parked request.
class DelayedOperation {
 public:
  // `try_complete(expired)` answers the request and returns true when it
  // can; with expired = true it must answer (and return true).
  using TryComplete = std::function<bool(bool expired)>;

  DelayedOperation(int64_t deadline_ms, TryComplete try_complete)
      : deadline_ms_(deadline_ms), try_complete_(std::move(try_complete)) {}

  int64_t deadline_ms() const { return deadline_ms_; }
  bool completed() const { return completed_.load(std::memory_order_acquire); }

 private:
  friend class Purgatory;
  // Runs try_complete unless already completed; true when this call
  // completed it. Never waits for another thread's try (Kafka's
  // maybeTryComplete): a try that finds one running leaves a note, and the
  // running one tries again when it is done. That also makes a try
  // re-entered from inside try_complete safe (a follower fetch whose read
  // moves the high watermark, which checks the purgatory again).
  bool MaybeTryComplete();
  // The deadline passed (or the purgatory stops): runs try_complete with
  // expired = true, waiting for a try in progress on another thread.
  bool ForceComplete();
  // With mu_ held.
  bool RunLocked(bool expired) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t deadline_ms_;
  // Held while try_complete runs: one thread at a time.
  absl::Mutex mu_;
  TryComplete try_complete_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> completed_{false};
  // A try came while another ran (see MaybeTryComplete).
  std::atomic<bool> try_pending_{false};
  // The list entries it was given (the keys it watches): once it
  // completes, as many stale entries for the sweep to count.
  std::atomic<int> listed_{0};
};

class Purgatory {
 public:
  struct Options {
    // Run the reaper thread that expires operations at their deadlines.
    // Tests with a ManualClock turn it off and call ExpireDue().
    bool start_reaper = true;
    // Entries of completed operations still listed under keys nobody
    // checked (a fetch of 100 partitions completed by one of them, or
    // expired) are swept out once this many, and half of all entries,
    // may be stale.
    int purge_interval = 1000;
  };

  Purgatory(Clock* clock, std::string name, Options options);
  Purgatory(Clock* clock, std::string name) : Purgatory(clock, std::move(name), Options()) {}
  ~Purgatory();

  Purgatory(const Purgatory&) = delete;
  Purgatory& operator=(const Purgatory&) = delete;

  // Tries `op` at once; if it cannot complete, parks it under `keys` until
  // a CheckAndComplete on one of them completes it, or its deadline passes.
  // Returns true when it completed here. When shutting down it is
  // completed as expired at once (and true is returned). False means only
  // that this call did not complete it: another thread may have meanwhile.
  bool TryCompleteElseWatch(const std::shared_ptr<DelayedOperation>& op,
                            const std::vector<WatchKey>& keys);
  // Retries the operations watching `key`; returns how many completed.
  int CheckAndComplete(const WatchKey& key);

  // Lists `op` under `keys` with no deadline and no try now: a standing
  // watcher, tried (as any operation) by every CheckAndComplete of its
  // keys until it completes, by returning true from a try or by Complete.
  // When shutting down it is completed as expired at once.
  void Watch(const std::shared_ptr<DelayedOperation>& op, const std::vector<WatchKey>& keys);
  // Completes `op` as expired now (waiting for a try in progress on
  // another thread), unless it already completed; true when this call
  // completed it. Its list entries go at a later sweep.
  bool Complete(const std::shared_ptr<DelayedOperation>& op);

  // Completes, as expired, every parked operation whose deadline passed;
  // returns how many. The reaper calls it; tests may too.
  int ExpireDue();
  // Operations parked and not completed yet.
  int Pending() const;
  // (Key, operation) entries listed, completed ones not yet swept included.
  int Watched() const;

  // Completes every parked operation as expired and stops the reaper;
  // standing watchers are dropped without a try. Later operations
  // (standing watchers too) are completed at once.
  void Shutdown();

 private:
  void Reaper();
  // Drops completed operations from every list.
  void PurgeCompletedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PurgeDueLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const std::string name_;
  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<WatchKey, std::list<std::shared_ptr<DelayedOperation>>> watchers_
      ABSL_GUARDED_BY(mu_);
  // By deadline, for the reaper; entries leave when the operation expires
  // or completes.
  std::multimap<int64_t, std::shared_ptr<DelayedOperation>> by_deadline_ ABSL_GUARDED_BY(mu_);
  int watched_ ABSL_GUARDED_BY(mu_) = 0;
  int stale_since_purge_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace strata::purgatory
