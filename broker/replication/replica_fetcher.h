// ReplicaFetcherManager: the follower side of replication. One fetcher
// thread per leader broker this broker follows partitions of (Kafka's
// replica fetcher threads, num.replica.fetchers=1): each round it first
// settles partitions that need truncation — asking the leader where the
// local log's last epoch ends (OffsetForLeaderEpoch, KIP-101) and cutting
// the divergent suffix — then sends one long-polling Fetch for all the
// others from their log ends and appends what comes back.
//
// Thread-safe: Start and Stop from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/replication/replica_manager.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace strata::replication {

struct ReplicaFetcherOptions {
  int32_t broker_id = -1;
  int32_t max_wait_ms = 500;                   // replica.fetch.wait.max.ms
  int32_t max_bytes = 10 * 1024 * 1024;        // replica.fetch.response.max.bytes
  int32_t partition_max_bytes = 1024 * 1024;   // replica.fetch.max.bytes
  int32_t backoff_ms = 1000;                   // replica.fetch.backoff.ms
  // The channel to a broker's CONTROLLER listener, or null when unknown.
  std::function<std::shared_ptr<grpc::Channel>(int32_t broker_id)> channel_for;
};

class ReplicaFetcherManager {
 public:
  ReplicaFetcherManager(ReplicaManager* replicas, ReplicaFetcherOptions options);
  ~ReplicaFetcherManager();

  void Start();
  // Cancels fetches in flight and joins every thread.
  void Stop();

 private:
  void ManagerLoop();
  // One fetcher thread's own state.
  struct FetcherState {
    // Partitions that failed, by when to try them again
    // (replica.fetch.backoff.ms).
    std::map<TopicPartition, absl::Time> delayed;
    // Rotates where requests start, so that a full response budget does not
    // go to the same partitions every round.
    size_t round = 0;
  };
  void FetcherLoop(int32_t leader);
  // One round for `leader`; returns whether anything moved.
  bool RunOnce(int32_t leader, FetcherState* state);
  bool Stopping() const;
  // Sleeps up to `d`, returning early on Stop.
  void Pause(absl::Duration d);
  // Runs an RPC with a cancellable context registered for Stop.
  template <typename Call>
  bool Track(grpc::ClientContext* ctx, Call call);

  ReplicaManager* const replicas_;
  const ReplicaFetcherOptions options_;
  std::thread manager_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int32_t, std::thread> fetchers_ ABSL_GUARDED_BY(mu_);
  std::map<grpc::ClientContext*, bool> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::replication
