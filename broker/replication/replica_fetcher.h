// ReplicaFetcherManager: the follower side of replication. One fetcher
// thread per leader broker this broker follows partitions of (Kafka's
// ReplicaFetcherManager and its ReplicaFetcherThreads,
// num.replica.fetchers=1): each round it first settles partitions that need
// truncation — asking the leader where the local log's last epoch ends
// (OffsetForLeaderEpoch, KIP-101) and cutting the divergent suffix — then
// sends one long-polling Fetch for all the others from their log ends and
// appends what comes back. The replica manager decides what may be cut: it
// never truncates below the high watermark unless the topic allows unclean
// leader election.
//
// The manager follows ReplicaManager::LeadersFollowed: a leader that appears
// gets a thread and its own LeaderEndpoint; a leader this broker no longer
// follows any partition of has its thread stopped (its call in flight
// cancelled through LeaderEndpoint::Close) and joined.
//
// Replication throttles (KIP-73, replication_quota.h): a partition listed
// for this broker in its topic's follower.replication.throttled.replicas,
// whose replica here is not in the ISR, is left out of the fetch while
// follower.replication.throttled.rate is exceeded (one quota for all the
// threads); a round that leaves partitions out waits no longer than the
// quota does. A leader that holds a partition back for its own quota
// answers it with no records though it has some: a round where that is all
// that came back pauses briefly rather than asking again at once.
//
// Fetch sessions (KIP-227): the first fetch to a leader opens a session,
// and each later one names only the partitions added or changed since (a
// moved log end, a new leader epoch) and those dropped; the leader answers
// only partitions with something new. An idle round over many partitions
// is then an empty request and an empty answer. Any failed call, or a
// leader that no longer knows the session, makes the next fetch open a new
// one; a leader that opens none (session id 0) gets full fetches.
//
// Failures: a call that does not reach the leader makes the thread pause
// (at most replica.fetch.backoff.ms, 200 ms) and ask again from the log
// ends, so nothing is lost or applied twice; a partition the leader refuses
// sits out replica.fetch.backoff.ms while the others go on.
//
// Thread-safety: Start and Stop from one thread; FetcherLeaders from any.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/replication/leader_endpoint.h"
#include "broker/replication/replica_manager.h"
#include "broker/replication/replication_quota.h"
#include "client/common/clock.h"

namespace strata::replication {

struct ReplicaFetcherOptions {
  int32_t broker_id = -1;
  int32_t max_wait_ms = 500;                  // replica.fetch.wait.max.ms
  int32_t max_bytes = 10 * 1024 * 1024;       // replica.fetch.response.max.bytes
  int32_t partition_max_bytes = 1024 * 1024;  // replica.fetch.max.bytes
  int32_t backoff_ms = 1000;                  // replica.fetch.backoff.ms
  // A connection to a leader broker, made when its fetcher thread starts;
  // null when it cannot be made now (the manager tries again shortly).
  std::function<std::unique_ptr<LeaderEndpoint>(int32_t leader_id)> endpoint_for;
  // Required. Times backoffs.
  Clock* clock = nullptr;
};

class ReplicaFetcherManager {
 public:
  ReplicaFetcherManager(ReplicaManager* replicas, ReplicaFetcherOptions options);
  ~ReplicaFetcherManager();

  void Start();
  // Cancels calls in flight and joins every thread. Returns promptly, even
  // with a long poll in flight.
  void Stop();

  // The leaders that have a fetcher thread now, in order.
  std::vector<int32_t> FetcherLeaders() const;

 private:
  // One leader's fetcher thread (Kafka's ReplicaFetcherThread).
  struct Fetcher {
    int32_t leader = -1;
    std::unique_ptr<LeaderEndpoint> endpoint;
    std::thread thread;
    // Set under mu_ when the manager retires this thread.
    bool stopping = false;
  };
  // A fetcher thread's own round state.
  struct FetcherState {
    // Partitions that failed, by when (Clock ms) to try them again
    // (replica.fetch.backoff.ms).
    std::map<TopicPartition, int64_t> delayed;
    // Rotates where requests start, so that a full response budget does not
    // go to the same partitions every round.
    size_t round = 0;
    // Set by a round that returns false when the next should come sooner
    // than the usual pause: throttled partitions wait this long.
    std::optional<absl::Duration> pause;
    // The incremental fetch session with the leader (KIP-227,
    // broker/request/fetch_sessions.h): its id (0: none, the next fetch
    // opens one), the next fetch's epoch in it, and each partition as the
    // leader holds it — as last named — with the round that last wanted it
    // and its place in that round's list (every round fills it, a full
    // fetch too: the answer's partitions are found through it). Any failed
    // call drops the session; the next round's open refills the entries.
    struct SessionPartition {
      FetchPartition named;
      size_t round = 0;
      size_t index = 0;
    };
    int32_t session_id = 0;
    int32_t session_epoch = 0;
    absl::flat_hash_map<TopicPartition, SessionPartition> session;
    void DropSession() {
      session_id = 0;
      session_epoch = 0;
    }
  };

  void ManagerLoop();
  // Starts threads for leaders newly followed, and stops those of leaders no
  // longer followed.
  void SyncFetchers();
  void FetcherLoop(Fetcher* fetcher);
  // One round with `fetcher`'s leader; returns whether anything moved.
  bool RunOnce(Fetcher* fetcher, FetcherState* state);
  bool Stopping(const Fetcher* fetcher) const;
  // Sleeps up to `d`, returning early when `fetcher` (or the manager) stops.
  void Pause(const Fetcher* fetcher, absl::Duration d);

  ReplicaManager* const replicas_;
  const ReplicaFetcherOptions options_;
  Clock* const clock_;
  // The follower side's replication throttle, following the replica
  // manager's image.
  ReplicationQuota quota_;
  std::thread manager_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int32_t, std::unique_ptr<Fetcher>> fetchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::replication
