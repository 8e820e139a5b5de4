// MetadataObserver: follows the metadata log on a broker-only node
// (process.roles=broker), as a KRaft observer does. It never votes and is
// not in the quorum's configuration: it fetches committed entries from the
// quorum leader (strata.internal.Raft/Fetch) and applies them to the same
// StateMachine the voters drive, so the rest of the node cannot tell it
// from a voter's.
//
//   loop, on a thread of its own:
//     Fetch(next_index = last stored + 1) from the leader it knows, or from
//       the voters in turn until one answers as the leader or names it
//     entries:  persist (RocksDB, synced, with commit = the last one) ->
//               StateMachine::Apply
//     snapshot: (the leader compacted past next_index) persist it in place
//               of the whole log -> StateMachine::Restore
//     every snapshot_entries applied: take a snapshot and compact its own
//       log (it serves nobody, so it keeps only keep_entries)
//
// Everything it stores is committed, so it never truncates; on a restart it
// restores its own snapshot, replays its own entries and fetches from where
// it stopped — the leader sends a snapshot only when it has compacted past
// that point. The leader holds a fetch up to max_wait_ms until something
// commits, so new metadata arrives within a round trip of its commit.
//
// Time (status timestamps) is read through the injected Clock. Thread-safe:
// every public method may be called from any thread; the StateMachine is
// called on the observer's thread only.
#pragma once

#include <grpcpp/support/status.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"
#include "raft/node/raft_node.h"
#include "strata/internal/raft.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace strata::raft {

class RocksDbLogStorage;

struct MetadataObserverOptions {
  // This node's id; must not be a voter.
  NodeId id;
  // Where this node is reachable (its CONTROLLER listener), shown by the
  // leader; informative only.
  std::string address;
  // Every voter's CONTROLLER address ("host:port").
  std::map<NodeId, std::string> voters;
  // RocksDB directory for the fetched log and snapshots.
  std::string data_dir;
  // Per fetch: entries beyond the first up to this many bytes, and how long
  // the leader may hold it waiting for a commit.
  uint64_t max_bytes = 1 << 20;
  int max_wait_ms = 500;
  // Pause after a fetch failed or found no leader, before the next try.
  int retry_backoff_ms = 100;
  uint64_t snapshot_entries = 10000;
  uint64_t keep_entries = 1000;
  // Status timestamps are read from it. Required; must outlive the observer.
  strata::Clock* clock = nullptr;
  // Sends one fetch to a voter and waits for the answer; `context` carries
  // the deadline and is cancelled by Stop(). Null: gRPC to the voter's
  // address. Tests script the quorum through it.
  std::function<grpc::Status(NodeId voter, grpc::ClientContext* context,
                             const internal::RaftFetchRequest& request,
                             internal::RaftFetchResponse* response)>
      fetch;
};

struct MetadataObserverStatus {
  NodeId id;
  // The quorum leader as last learned (kNoNode: none known), its term and
  // commit index as of its last answer.
  NodeId leader;
  Term term;
  Index leader_commit;
  // What this node holds and has applied (everything it holds).
  Index applied;
  Index first_index;
  Index last_index;
  Index snapshot_index;
  // Snapshots fetched from the leader (it had compacted past this node).
  int snapshots_restored = 0;
  // When a fetch last succeeded (ms since the epoch; -1: never).
  int64_t last_fetch_ms = -1;
};

class MetadataObserver {
 public:
  static absl::StatusOr<std::unique_ptr<MetadataObserver>> Create(MetadataObserverOptions options,
                                                                  StateMachine* state_machine);
  ~MetadataObserver();

  // Starts the fetch loop (restoring and replaying what is stored first).
  void Start();
  // Stops the loop, cancelling a fetch in flight.
  void Stop();

  MetadataObserverStatus status() const;
  // The last index stored when this node started (all of it committed).
  Index initial_commit() const { return initial_commit_; }

 private:
  MetadataObserver(MetadataObserverOptions options, StateMachine* state_machine);
  void Loop();
  enum class FetchResult {
    kDone,        // the leader answered
    kRedirected,  // `voter` named another leader: ask it at once
    kFailed,      // no answer, no leader known, or a bad answer: pause
  };
  FetchResult FetchOnce(NodeId voter);
  // Restores the stored snapshot and replays the stored entries.
  void Recover();
  absl::Status InstallSnapshot(const internal::RaftFetchResponse& response);
  absl::Status AppendAndApply(const internal::RaftFetchResponse& response);
  void MaybeSnapshot();
  void SetLeader(NodeId leader);
  // Waits `ms` unless stopped first; false when stopping.
  bool Pause(int64_t ms);
  bool stopping() const;
  void PublishStatus();

  const MetadataObserverOptions options_;
  strata::Clock* const clock_;
  StateMachine* const state_machine_;
  std::unique_ptr<RocksDbLogStorage> storage_;
  std::map<NodeId, std::shared_ptr<grpc::Channel>> channels_;
  std::thread thread_;
  Index initial_commit_;

  // The loop thread's own. Everything stored is committed: the hard
  // state's commit is the last stored index.
  HardState hard_state_;
  NodeId leader_;
  Term term_;
  Index leader_commit_;
  Index applied_;
  Index last_snapshot_;
  int snapshots_restored_ = 0;
  int64_t last_fetch_ms_ = -1;
  size_t next_voter_ = 0;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The fetch in flight, for Stop() to cancel.
  grpc::ClientContext* in_flight_ ABSL_GUARDED_BY(mu_) = nullptr;
  MetadataObserverStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::raft
