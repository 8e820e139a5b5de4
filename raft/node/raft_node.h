// RaftNode: runs one Raft core on a real node — the loop the core's contract
// describes, on a thread of its own:
//
//   every tick_ms: Tick()
//   messages from peers (gRPC, strata.internal.Raft/Send): Step()
//   proposals from this process: Propose()
//   Ready: persist (RocksDB, synced, one batch) -> send (gRPC, async,
//          fire-and-forget) -> restore snapshot / apply committed entries to
//          the StateMachine -> Advance()
//   every snapshot_entries applied: StateMachine::TakeSnapshot(), record it
//          and compact the log, keeping keep_entries for followers that lag
//          a little (further behind, they get the snapshot).
//   observers' fetches (strata.internal.Raft/Fetch, from broker-only nodes'
//          MetadataObserver): answered by the leader with committed entries,
//          or the latest snapshot when the log was compacted past the
//          observer; parked until something commits or their wait runs out.
//
// The core stays pure; this class owns threads, sockets and the disk, and
// reads time through the injected Clock. Thread-safe: every public method may be called from any
// thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"
#include "raft/message.h"
#include "raft/raft.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class Service;
}

namespace strata::raft {

class RocksDbLogStorage;
class PeerTransport;

// A channel to a peer that reconnects quickly: gRPC's default backoff grows
// to two minutes, far longer than an election timeout, so a restarted peer
// would stay unreachable long after it is back. Dials with the credentials
// SetPeerChannelCredentials gave (insecure until then).
std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address);
// The same channel settings with other credentials.
std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials);

// The credentials every PeerChannel dials with from now on (TLS with the
// node's certificate when peers listen with TLS). Process-wide: a process
// runs one node, and every peer channel it opens (Raft, observers, the
// broker's calls to the controller and to other brokers) is that node's.
// Channels made before keep theirs, so set it before the node starts.
void SetPeerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials);

// What the replicated log drives. Called on the node's thread only.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies one committed entry. Entries with empty data (a new leader's
  // no-op) are not passed.
  virtual void Apply(const Entry& entry) = 0;
  // The state as of the last applied entry.
  virtual std::string TakeSnapshot() = 0;
  // Replaces the state with a snapshot's.
  virtual absl::Status Restore(const std::string& data) = 0;
};

// Snapshots `state_machine` as of `applied` into `storage`, then compacts
// the log below applied - keep_entries (those who lag a little get entries
// rather than the snapshot). A storage error CHECK-fails: the node cannot
// go on without its log. RaftNode and MetadataObserver both call it every
// snapshot_entries applied.
void SnapshotAndCompact(LogStorage* storage, StateMachine* state_machine, Index applied,
                        uint64_t keep_entries);

struct RaftNodeOptions {
  NodeId id;
  // Every voter's and learner's CONTROLLER address ("host:port"), self included.
  std::map<NodeId, std::string> peers;
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  // RocksDB directory for the log, hard state and snapshots.
  std::string data_dir;
  int tick_ms = 100;
  // Election timeout = election_tick * tick_ms (randomised up to twice that).
  int election_tick = 10;
  int heartbeat_tick = 1;
  uint64_t snapshot_entries = 10000;
  uint64_t keep_entries = 1000;
  uint64_t seed = 0;  // 0: seeded from the node id and the time
  // Ticks, contact times and the default seed are read from it. Required;
  // must outlive the node.
  strata::Clock* clock = nullptr;
};

// What the leader knows of one observer (a broker-only node fetching the
// metadata log), from its fetches.
struct ObserverStatus {
  // The last index the observer had when it last fetched.
  Index fetched;
  // When it last fetched, and last had everything committed (ms since the
  // epoch; -1: never).
  int64_t last_fetch_ms = -1;
  int64_t last_caught_up_ms = -1;
  std::string address;
};

struct RaftNodeStatus {
  NodeId id;
  NodeId leader;
  Term term;
  Role role = Role::kFollower;
  Index commit;
  Index applied;
  Index first_index;
  Index last_index;
  Index snapshot_index;
  // Snapshots restored into the state machine from a leader.
  int snapshots_restored = 0;
  // Per peer, the last log index the leader knows it has (leader only).
  std::map<NodeId, Index> match;
  // Per peer, when this node last heard from it (ms since the epoch), and
  // when the peer was last known to hold the whole log (leader only).
  std::map<NodeId, int64_t> last_heard_ms;
  std::map<NodeId, int64_t> last_caught_up_ms;
  // Observers that fetched in the last kObserverSessionMs (leader only).
  std::map<NodeId, ObserverStatus> observers;
};

class RaftNode {
 public:
  using ProposeCallback = std::function<void(absl::StatusOr<Index>)>;

  // An observer silent this long is forgotten (Kafka's observer session).
  static constexpr int64_t kObserverSessionMs = 5 * 60 * 1000;
  // The longest an observer's fetch is held waiting for a commit, whatever
  // it asks: short enough that a stopping server is never held up by one.
  static constexpr int64_t kMaxFetchWaitMs = 1000;

  static absl::StatusOr<std::unique_ptr<RaftNode>> Create(RaftNodeOptions options,
                                                          StateMachine* state_machine);
  ~RaftNode();

  // The Raft gRPC service, to register on this node's CONTROLLER server
  // before Start().
  grpc::Service* service();
  // Starts the loop thread (restores the latest snapshot first).
  void Start();
  // Stops the loop thread; pending proposals fail with Unavailable.
  void Stop();

  // Proposes `data`. `done` runs on the node thread once the entry is
  // committed and applied (with its index), or with FailedPrecondition when
  // this node is not the leader (the message names the leader it knows), or
  // Aborted when leadership changed and the entry was lost.
  void Propose(std::string data, ProposeCallback done);
  // Asks the core to hand leadership to `target` (controlled shutdown).
  void TransferLeadership(NodeId target);

  RaftNodeStatus status() const;
  // The commit index persisted when this node started.
  Index initial_commit() const { return initial_commit_; }

 private:
  class Service;
  struct Fetch;
  struct Proposal {
    std::string data;
    ProposeCallback done;
  };
  struct Pending {
    Term term;
    ProposeCallback done;
  };

  RaftNode(RaftNodeOptions options, StateMachine* state_machine);
  void Loop();
  void Deliver(std::vector<Message> messages);
  // Queues an observer's fetch for the loop thread, which owns the storage.
  void QueueFetch(std::unique_ptr<Fetch> fetch);
  // Answers the parked fetches that can be answered now: not the leader,
  // something committed for them, or their wait ran out. Returns when the
  // next parked one's wait runs out (INT64_MAX: none parked).
  int64_t AnswerFetches(int64_t now_ms);
  // Records an observer's fetch (leader only).
  void NoteObserver(const Fetch& fetch, int64_t now_ms);
  void HandleReady(Ready rd);
  void MaybeSnapshot();
  void PublishStatus();

  const RaftNodeOptions options_;
  strata::Clock* const clock_;
  StateMachine* const state_machine_;
  std::unique_ptr<RocksDbLogStorage> storage_;
  std::unique_ptr<Raft> raft_;  // the loop thread's only
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<Service> service_;
  std::thread thread_;

  Index initial_commit_;
  // Applied state, the loop thread's only.
  Index applied_;
  Index last_snapshot_;
  int snapshots_restored_ = 0;
  std::map<NodeId, int64_t> last_heard_ms_;
  std::map<NodeId, int64_t> last_caught_up_ms_;
  std::map<Index, Pending> pending_;
  // Fetches waiting for a commit, and what the leader knows of observers.
  std::vector<std::unique_ptr<Fetch>> parked_fetches_;
  std::map<NodeId, ObserverStatus> observers_;

  mutable absl::Mutex mu_;
  std::vector<Message> inbox_ ABSL_GUARDED_BY(mu_);
  std::vector<Proposal> proposals_ ABSL_GUARDED_BY(mu_);
  std::vector<NodeId> transfers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Fetch>> fetches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  RaftNodeStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::raft
