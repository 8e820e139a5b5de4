// Raft: one node of the Raft consensus protocol (Ongaro & Ousterhout, "In
// Search of an Understandable Consensus Algorithm", extended version) as a
// pure, deterministic, single-threaded state machine — the shape of
// etcd-io/raft's RawNode.
//
// Contract:
//  * Inputs: Tick() (one unit of logical time), Step(message from a peer),
//    Propose(bytes), TransferLeadership(id), Campaign(). Nothing inside reads
//    a clock, sleeps, touches a socket or a disk, or starts a thread; the
//    only randomness comes from Config::random.
//  * Output: a Ready batch. The driver loop is
//        if (raft.HasReady()) {
//          Ready rd = raft.GetReady();
//          1. persist rd.snapshot (ApplySnapshot), rd.entries (Append) and
//             rd.hard_state (SetHardState) to the LogStorage, atomically if
//             it can — a restart must never see the hard state's commit
//             beyond the log;
//          2. only then send rd.messages (they may promise what step 1 wrote:
//             a vote, an acknowledged entry);
//          3. restore rd.snapshot into the state machine, then apply
//             rd.committed_entries in order;
//          4. raft.Advance(rd);
//        }
//    No other call may come between GetReady() and Advance() (CHECKed).
//  * Errors: an input the protocol expects to refuse (a proposal to a
//    follower, a message from a non-member) returns a non-OK Status and
//    changes nothing. A broken invariant (a committed entry about to be
//    overwritten, a storage read failure) CHECK-fails: continuing would
//    risk safety.
//  * Membership is static: voters and learners come from the storage's
//    ConfState (or a received snapshot's). Learners replicate the log but
//    never campaign, vote, or count toward a quorum.
//  * Not thread-safe. The storage must outlive the Raft object.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/log_storage.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/types.h"

namespace strata::raft {

struct Config {
  NodeId id;
  // A follower that hears nothing from a leader for a random number of ticks
  // in [election_tick, 2 * election_tick) campaigns. Randomisation keeps
  // candidates from splitting the vote forever (§5.2).
  int election_tick = 10;
  // A leader sends heartbeats every heartbeat_tick ticks; must be well below
  // election_tick.
  int heartbeat_tick = 1;
  // Pre-vote (Raft thesis §9.6): before raising its term, a candidate asks
  // whether it could win. A node that was partitioned away cannot win (its
  // log is behind or peers still hear a leader), so on rejoining it does not
  // force the working leader to step down.
  bool pre_vote = true;
  // Check-quorum (thesis §6.2): a leader that has not heard from a majority
  // for election_tick ticks steps down; followers that hear a leader ignore
  // vote requests for that long (leader lease), so a healthy leader is not
  // deposed by a disruptive node.
  bool check_quorum = true;
  // Upper bounds on entry bytes per append message and per Ready's committed
  // entries (each always carries at least one entry).
  uint64_t max_size_per_msg = 1 << 20;
  uint64_t max_committed_size_per_ready = std::numeric_limits<uint64_t>::max();
  // A leader streams at most this many unacknowledged appends to a follower.
  size_t max_inflight_msgs = 64;
  // Snapshots go to followers in chunks of this many bytes.
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // The last index the state machine has already applied (at least the
  // storage snapshot's index). Committed entries after it come out in Ready.
  Index applied;
  // Source of randomness (election timeouts). Required; seed it for
  // reproducible runs.
  std::function<uint64_t()> random;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role r);

struct Ready {
  // Set when term, vote or commit changed since the last Ready.
  std::optional<HardState> hard_state;
  // Entries to append to storage (may replace a stored suffix).
  std::vector<Entry> entries;
  // A snapshot received from the leader, to persist and restore.
  std::optional<Snapshot> snapshot;
  // To send after persisting.
  std::vector<Message> messages;
  // Newly committed entries, to apply in order after persisting.
  std::vector<Entry> committed_entries;
};

class Raft {
 public:
  Raft(Config config, const LogStorage* storage);
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // --- inputs ---
  void Tick();
  absl::Status Step(const Message& m);
  // Appends data to the log if this node is the leader. Returns the index
  // the entry will have if it commits; it may still be lost if leadership
  // changes first (watch for it among committed entries with this term).
  absl::StatusOr<Index> Propose(std::string data);
  // Leader only: hand leadership to a voter. Proposals are refused until the
  // transfer completes or times out (one election timeout).
  absl::Status TransferLeadership(NodeId target);
  // Start an election now (pre-vote first if enabled), as if the election
  // timeout had fired.
  absl::Status Campaign();

  // --- output ---
  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& rd);

  // --- observation (tests, metrics, the driver) ---
  NodeId id() const { return id_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  bool is_learner() const { return is_learner_; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  const RaftLog& log() const { return log_; }
  // The leader's view of a peer; nullptr when not leader or unknown peer.
  const Progress* progress(NodeId peer) const;
  const std::vector<NodeId>& voters() const { return voters_; }
  const std::vector<NodeId>& learners() const { return learners_; }

 private:
  enum class CampaignType : uint8_t { kPreElection, kElection, kTransfer };
  enum class VoteResult : uint8_t { kPending, kWon, kLost };

  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(Term term);
  void ResetRandomizedElectionTimeout();
  void SetMembership(const ConfState& conf);
  bool Promotable() const;
  bool IsMember(NodeId n) const;
  bool IsVoter(NodeId n) const;
  size_t Quorum() const { return voters_.size() / 2 + 1; }

  void TickElection();
  void TickHeartbeat();
  void StartCampaign(CampaignType type);
  VoteResult Poll(NodeId from, bool granted);

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshotChunk(const Message& m);
  bool RestoreSnapshot(const Snapshot& snapshot);

  void AppendEntries(std::vector<Entry> entries);
  bool MaybeCommit();
  bool QuorumActive();
  void BcastAppend();
  void BcastHeartbeat();
  bool SendAppend(NodeId to);
  void SendSnapshotChunk(NodeId to);
  void SendTimeoutNow(NodeId to);
  void Send(Message m);
  Message Reply(const Message& m, MessageType type) const;

  const NodeId id_;
  const Config config_;
  const LogStorage* const storage_;
  RaftLog log_;

  Term term_;
  NodeId vote_;
  NodeId lead_;
  Role role_ = Role::kFollower;
  bool is_learner_ = false;
  std::vector<NodeId> voters_;
  std::vector<NodeId> learners_;
  std::map<NodeId, Progress> progress_;  // leader only; includes self
  std::map<NodeId, bool> votes_;          // (pre-)candidate only
  NodeId lead_transferee_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;

  // A snapshot being received chunk by chunk from the leader. Volatile: a
  // crash loses it and the leader starts over from offset 0.
  struct IncomingSnapshot {
    SnapshotMetadata metadata;
    std::string data;
  };
  std::optional<IncomingSnapshot> incoming_snapshot_;

  std::vector<Message> msgs_;
  HardState prev_hard_state_;
  bool ready_outstanding_ = false;
};

}  // namespace strata::raft
