#include "raft/raft.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "glog/logging.h"

namespace strata::raft {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

namespace {

bool Contains(const std::vector<NodeId>& v, NodeId n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

MessageType ResponseType(MessageType t) {
  switch (t) {
    case MessageType::kVote:
      return MessageType::kVoteResponse;
    case MessageType::kPreVote:
      return MessageType::kPreVoteResponse;
    default:
      LOG(FATAL) << "no response type for " << MessageTypeName(t);
  }
}

}  // namespace

Raft::Raft(Config config, const LogStorage* storage)
    : id_(config.id),
      config_(std::move(config)),
      storage_(storage),
      log_(storage, storage->GetInitialState().hard_state.commit, config_.applied) {
  CHECK_NE(id_, kNoNode) << "node id 0 is reserved";
  CHECK(config_.random) << "Config::random is required";
  CHECK_GT(config_.heartbeat_tick, 0);
  CHECK_GT(config_.election_tick, config_.heartbeat_tick);
  CHECK_GT(config_.snapshot_chunk_bytes, 0u);
  const InitialState init = storage->GetInitialState();
  SetMembership(init.conf_state);
  CHECK(IsMember(id_)) << "node " << id_ << " is not in its own configuration";
  term_ = init.hard_state.term;
  vote_ = init.hard_state.vote;
  prev_hard_state_ = init.hard_state;
  BecomeFollower(term_, kNoNode);
}

void Raft::SetMembership(const ConfState& conf) {
  voters_ = conf.voters;
  learners_ = conf.learners;
  std::sort(voters_.begin(), voters_.end());
  std::sort(learners_.begin(), learners_.end());
  for (NodeId v : voters_) CHECK(!Contains(learners_, v)) << v << " both voter and learner";
  CHECK(!voters_.empty()) << "a cluster needs at least one voter";
  is_learner_ = Contains(learners_, id_);
}

bool Raft::IsVoter(NodeId n) const { return Contains(voters_, n); }
bool Raft::IsMember(NodeId n) const { return IsVoter(n) || Contains(learners_, n); }
bool Raft::Promotable() const { return IsVoter(id_); }

const Progress* Raft::progress(NodeId peer) const {
  if (role_ != Role::kLeader) return nullptr;
  auto it = progress_.find(peer);
  return it == progress_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------
// Role transitions

void Raft::Reset(Term term) {
  if (term_ != term) {
    // A vote is only ever for one term.
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  lead_transferee_ = kNoNode;
  votes_.clear();
  incoming_snapshot_.reset();
  progress_.clear();
  const Index last = log_.LastIndex();
  auto add = [&](NodeId n, bool learner) {
    Progress pr;
    pr.next = last + 1;
    pr.match = n == id_ ? last : Index();
    pr.is_learner = learner;
    pr.max_inflight = config_.max_inflight_msgs;
    progress_[n] = pr;
  };
  for (NodeId v : voters_) add(v, false);
  for (NodeId l : learners_) add(l, true);
}

void Raft::ResetRandomizedElectionTimeout() {
  // In [election_tick + 1, 2 * election_tick]: one tick past the leader
  // lease. Peers tick out of phase by up to one tick, so a timeout of exactly
  // election_tick can fire while the other followers' leases still hold;
  // they would refuse the (pre-)vote and the election would take a second
  // round.
  randomized_election_timeout_ =
      config_.election_tick + 1 + static_cast<int>(config_.random() % config_.election_tick);
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  CHECK(role_ != Role::kLeader) << "leader cannot become pre-candidate";
  // A pre-candidate neither raises its term nor changes its vote: if the
  // pre-election fails, nothing it did is visible to the cluster.
  votes_.clear();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  CHECK(role_ != Role::kLeader) << "leader cannot become candidate";
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  CHECK(role_ == Role::kCandidate) << "only a candidate can become leader";
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  Progress& self = progress_[id_];
  self.BecomeReplicate();
  self.recent_active = true;
  // A no-op entry of the new term. The leader may only count replicas for
  // entries of its own term (Figure 8); once this entry commits, every entry
  // before it is committed too, by log matching. It also makes a leader
  // learn its commit index promptly after an election.
  AppendEntries({Entry{term_, log_.LastIndex() + 1, ""}});
}

// ---------------------------------------------------------------------------
// Ticks

void Raft::Tick() {
  CHECK(!ready_outstanding_) << "Tick between GetReady and Advance";
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    ResetRandomizedElectionTimeout();
    StartCampaign(config_.pre_vote ? CampaignType::kPreElection : CampaignType::kElection);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_tick) {
    election_elapsed_ = 0;
    if (config_.check_quorum && !QuorumActive()) {
      // We cannot tell whether a majority still follows us; a newer leader
      // may already exist on the other side of a partition. Stop accepting
      // proposals that could never commit.
      BecomeFollower(term_, kNoNode);
      return;
    }
    // A transfer that did not finish within an election timeout has failed
    // (the target is down or slow); accept proposals again.
    lead_transferee_ = kNoNode;
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

bool Raft::QuorumActive() {
  size_t active = 0;
  for (auto& [n, pr] : progress_) {
    if (n == id_) {
      if (!is_learner_) ++active;
      continue;
    }
    if (!pr.is_learner && pr.recent_active) ++active;
    pr.recent_active = false;
  }
  return active >= Quorum();
}

// ---------------------------------------------------------------------------
// Elections

absl::Status Raft::Campaign() {
  CHECK(!ready_outstanding_) << "Campaign between GetReady and Advance";
  if (!Promotable()) return absl::FailedPreconditionError("a learner cannot campaign");
  if (role_ == Role::kLeader) return absl::OkStatus();
  StartCampaign(config_.pre_vote ? CampaignType::kPreElection : CampaignType::kElection);
  return absl::OkStatus();
}

void Raft::StartCampaign(CampaignType type) {
  if (!Promotable()) return;
  Term vote_term;
  MessageType vote_type;
  if (type == CampaignType::kPreElection) {
    BecomePreCandidate();
    // Ask for votes in the term we would enter, without entering it.
    vote_term = term_ + 1;
    vote_type = MessageType::kPreVote;
  } else {
    BecomeCandidate();
    vote_term = term_;
    vote_type = MessageType::kVote;
  }
  if (Poll(id_, true) == VoteResult::kWon) {
    // Single-voter cluster.
    if (type == CampaignType::kPreElection) {
      StartCampaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BcastAppend();
    }
    return;
  }
  for (NodeId v : voters_) {
    if (v == id_) continue;
    Message m;
    m.type = vote_type;
    m.to = v;
    m.term = vote_term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    m.transfer = type == CampaignType::kTransfer;
    Send(std::move(m));
  }
}

Raft::VoteResult Raft::Poll(NodeId from, bool granted) {
  votes_.emplace(from, granted);  // the first answer from a voter counts
  size_t yes = 0, no = 0;
  for (NodeId v : voters_) {
    auto it = votes_.find(v);
    if (it == votes_.end()) continue;
    (it->second ? yes : no)++;
  }
  if (yes >= Quorum()) return VoteResult::kWon;
  if (no > voters_.size() - Quorum()) return VoteResult::kLost;
  return VoteResult::kPending;
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // We can vote for m.from if we already did in this term (a retransmitted
  // request), or have voted for nobody and follow no leader in it; a
  // pre-vote is for a future term, in which we have not voted yet.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                        (pre && m.term > term_);
  // Election restriction (§5.4.1): if the candidate's log is less complete
  // than ours, it might lack a committed entry, and a leader must hold all
  // of them — so it cannot have our vote.
  if (!is_learner_ && can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    Message r = Reply(m, ResponseType(m.type));
    // Answer in the term asked about: a pre-candidate counts grants for
    // term_+1 without having entered it.
    r.term = m.term;
    Send(std::move(r));
    if (!pre) {
      // Granting a vote is as good as hearing from a leader: hold off our
      // own campaign so we do not disrupt the election we just joined.
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    Message r = Reply(m, ResponseType(m.type));
    r.reject = true;
    Send(std::move(r));
  }
}

// ---------------------------------------------------------------------------
// Step

absl::Status Raft::Step(const Message& m) {
  CHECK(!ready_outstanding_) << "Step between GetReady and Advance";
  if (m.to != id_) return absl::InvalidArgumentError("message addressed to another node");
  if (!IsMember(m.from)) return absl::InvalidArgumentError("message from a non-member");

  if (m.term > term_) {
    const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
    if (vote_request) {
      // Leader lease (with check-quorum): while we hear from a leader, a
      // higher-term vote request comes from a node that merely lost touch
      // with it; ignoring it keeps that node from deposing a healthy leader.
      // A transfer campaign was asked for by the leader, so it overrides.
      const bool in_lease = config_.check_quorum && lead_ != kNoNode &&
                            election_elapsed_ < config_.election_tick;
      if (!m.transfer && in_lease) return absl::OkStatus();
    }
    if (m.type == MessageType::kPreVote) {
      // Answering a pre-vote never changes our term.
    } else if (m.type == MessageType::kPreVoteResponse && !m.reject) {
      // A grant carries the term we would enter; we enter it when a quorum
      // grants (StepCandidate), not now.
    } else if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnapshot) {
      BecomeFollower(m.term, m.from);
    } else {
      BecomeFollower(m.term, kNoNode);
    }
  } else if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A stale leader is talking to us. With pre-vote or check-quorum our
      // higher term may come from an election it cannot see; tell it the
      // term so it steps down instead of sending forever.
      Message r = Reply(m, MessageType::kAppendResponse);
      Send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      // Reject explicitly with our term, so a pre-candidate that is behind
      // catches up on the term instead of waiting for a timeout.
      Message r = Reply(m, MessageType::kPreVoteResponse);
      r.reject = true;
      Send(std::move(r));
    }
    return absl::OkStatus();  // everything else from an old term is stale
  }

  switch (m.type) {
    case MessageType::kVote:
    case MessageType::kPreVote:
      HandleVoteRequest(m);
      return absl::OkStatus();
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
  return absl::OkStatus();
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppendResponse: {
      pr.recent_active = true;
      if (m.reject) {
        // Fast back-off: the follower told us the last index at or before
        // the rejected one where its term is <= the term we sent
        // (reject_hint, log_term). Any index after the first entry of our
        // own log with a term <= log_term cannot match, so we jump there,
        // skipping a whole term of mismatches per round trip instead of one
        // entry (thesis §5.3 / etcd).
        Index next_probe = m.reject_hint;
        if (m.log_term > Term()) {
          next_probe = log_.FindConflictByTerm(m.reject_hint, m.log_term).first;
        }
        if (pr.MaybeDecrTo(m.index, next_probe)) {
          if (pr.state == Progress::State::kReplicate) pr.BecomeProbe();
          SendAppend(m.from);
        }
        return;
      }
      const bool was_paused = pr.IsPaused();
      if (!pr.MaybeUpdate(m.index)) return;
      if (pr.state == Progress::State::kProbe) {
        pr.BecomeReplicate();
      } else if (pr.state == Progress::State::kSnapshot &&
                 (pr.match >= pr.pending_snapshot || pr.match + 1 >= log_.FirstIndex())) {
        // Installed (or no longer needed): resume normal replication.
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      if (MaybeCommit()) {
        BcastAppend();  // carry the new commit index
      } else if (was_paused) {
        SendAppend(m.from);
      }
      // Stream whatever the window allows.
      while (pr.next <= log_.LastIndex() && !pr.IsPaused()) {
        if (!SendAppend(m.from)) break;
      }
      if (m.from == lead_transferee_ && pr.match == log_.LastIndex()) {
        SendTimeoutNow(m.from);
      }
      return;
    }
    case MessageType::kHeartbeatResponse:
      pr.recent_active = true;
      pr.probe_sent = false;
      // If appends were lost the window may never drain by acks; the
      // follower is alive, so let one more through (it will reject on the
      // gap and we fall back to probing).
      if (pr.state == Progress::State::kReplicate && pr.IsPaused()) pr.inflight.pop_front();
      if (pr.state == Progress::State::kSnapshot) {
        SendSnapshotChunk(m.from);  // resend the chunk in case it was lost
      } else if (pr.match < log_.LastIndex()) {
        SendAppend(m.from);
      }
      return;
    case MessageType::kSnapshotResponse: {
      pr.recent_active = true;
      if (pr.state != Progress::State::kSnapshot || m.index != pr.pending_snapshot) return;
      // The follower is the authority on what it holds: continue from its
      // offset, or from 0 when it has no usable partial copy (it restarted,
      // changed term, or a late duplicate of chunk 0 restarted its copy).
      // An acknowledgement equal to what we already know is a duplicate;
      // a lost chunk is resent on the next heartbeat response instead.
      const uint64_t offset = m.reject ? 0 : m.snapshot_offset;
      if (offset != pr.snapshot_offset) {
        pr.snapshot_offset = offset;
        SendSnapshotChunk(m.from);
      }
      return;
    }
    default:
      return;  // votes answered after we won, stale transfers, ...
  }
}

void Raft::StepCandidate(const Message& m) {
  const MessageType my_response =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // A leader exists in our term (m.term == term_ here): it won.
      BecomeFollower(m.term, m.from);
      StepFollower(m);
      return;
    default:
      break;
  }
  if (m.type != my_response) return;
  switch (Poll(m.from, !m.reject)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartCampaign(CampaignType::kElection);
      } else {
        BecomeLeader();
        BcastAppend();
      }
      return;
    case VoteResult::kLost:
      // A rejection may carry a higher term; we already moved to it in Step.
      BecomeFollower(term_, kNoNode);
      return;
    case VoteResult::kPending:
      return;
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshotChunk(m);
      return;
    case MessageType::kTimeoutNow:
      // Our leader asks us to take over (leader transfer). Skip pre-vote:
      // the leader itself vouches that we are up to date, and the transfer
      // flag lets voters ignore their lease.
      if (Promotable()) StartCampaign(CampaignType::kTransfer);
      return;
    default:
      return;
  }
}

void Raft::HandleAppend(const Message& m) {
  if (m.index < log_.committed()) {
    // Everything up to our commit index is already settled; tell the leader
    // where we are instead of re-checking old entries.
    Message r = Reply(m, MessageType::kAppendResponse);
    r.index = log_.committed();
    Send(std::move(r));
    return;
  }
  if (auto last_new = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries)) {
    Message r = Reply(m, MessageType::kAppendResponse);
    r.index = *last_new;
    Send(std::move(r));
    return;
  }
  // Our log does not contain the leader's entry at m.index. Give the leader
  // a hint: the last index at or below it whose term is <= the leader's
  // term there. Entries in between cannot match.
  const Index hint = std::min(m.index, log_.LastIndex());
  auto [hint_index, hint_term] = log_.FindConflictByTerm(hint, m.log_term);
  Message r = Reply(m, MessageType::kAppendResponse);
  r.index = m.index;
  r.reject = true;
  r.reject_hint = hint_index;
  r.log_term = hint_term;
  Send(std::move(r));
}

void Raft::HandleHeartbeat(const Message& m) {
  // The leader never sends a commit index above what it knows we hold.
  log_.CommitTo(m.commit);
  Send(Reply(m, MessageType::kHeartbeatResponse));
}

void Raft::HandleSnapshotChunk(const Message& m) {
  const SnapshotMetadata& meta = m.snapshot_metadata;
  if (meta.index <= log_.committed()) {
    // We already have everything it covers; the leader can move on.
    incoming_snapshot_.reset();
    Message r = Reply(m, MessageType::kAppendResponse);
    r.index = log_.committed();
    Send(std::move(r));
    return;
  }
  auto ack = [&](bool reject) {
    Message r = Reply(m, MessageType::kSnapshotResponse);
    r.index = meta.index;
    r.reject = reject;
    r.snapshot_offset = incoming_snapshot_ ? incoming_snapshot_->data.size() : 0;
    Send(std::move(r));
  };
  const bool same = incoming_snapshot_ && incoming_snapshot_->metadata == meta;
  if (same && m.snapshot_offset != incoming_snapshot_->data.size()) {
    // A duplicated or reordered chunk: say how far we really are.
    ack(false);
    return;
  }
  if (!same) {
    if (m.snapshot_offset != 0) {
      // A chunk of a snapshot whose beginning we do not have (we restarted,
      // or a newer snapshot replaced it): ask for a restart.
      incoming_snapshot_.reset();
      ack(true);
      return;
    }
    incoming_snapshot_ = IncomingSnapshot{meta, ""};
  }
  incoming_snapshot_->data += m.snapshot_chunk;
  if (!m.snapshot_done) {
    ack(false);
    return;
  }
  Snapshot snap{incoming_snapshot_->metadata, std::move(incoming_snapshot_->data)};
  incoming_snapshot_.reset();
  Message r = Reply(m, MessageType::kAppendResponse);
  r.index = RestoreSnapshot(snap) ? log_.LastIndex() : log_.committed();
  Send(std::move(r));
}

bool Raft::RestoreSnapshot(const Snapshot& snapshot) {
  const SnapshotMetadata& meta = snapshot.metadata;
  if (meta.index <= log_.committed()) return false;
  if (log_.MatchTerm(meta.index, meta.term)) {
    // We hold the snapshot's last entry, hence (log matching) everything
    // before it: just learn that it is committed and keep our log.
    log_.CommitTo(meta.index);
    return false;
  }
  // Our log cannot be reconciled cheaply; replace it by the snapshot. The
  // suffix we drop was uncommitted (meta.index > committed).
  log_.Restore(snapshot);
  SetMembership(meta.conf_state);
  return true;
}

// ---------------------------------------------------------------------------
// Proposals and replication

absl::StatusOr<Index> Raft::Propose(std::string data) {
  CHECK(!ready_outstanding_) << "Propose between GetReady and Advance";
  if (role_ != Role::kLeader) {
    std::ostringstream os;
    os << "not the leader; leader is " << lead_;
    return absl::FailedPreconditionError(os.str());
  }
  if (lead_transferee_ != kNoNode) {
    return absl::UnavailableError("leadership transfer in progress");
  }
  const Index index = log_.LastIndex() + 1;
  AppendEntries({Entry{term_, index, std::move(data)}});
  BcastAppend();
  return index;
}

absl::Status Raft::TransferLeadership(NodeId target) {
  CHECK(!ready_outstanding_) << "TransferLeadership between GetReady and Advance";
  if (role_ != Role::kLeader) return absl::FailedPreconditionError("not the leader");
  if (!IsVoter(target)) return absl::InvalidArgumentError("transfer target is not a voter");
  if (target == id_ || target == lead_transferee_) return absl::OkStatus();
  lead_transferee_ = target;
  // The transfer must finish within an election timeout (TickHeartbeat).
  election_elapsed_ = 0;
  const Progress& pr = progress_[target];
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(target);
  } else {
    // Bring it up to date first; StepLeader sends TimeoutNow once it is.
    SendAppend(target);
  }
  return absl::OkStatus();
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  m.term = term_;
  Send(std::move(m));
}

void Raft::AppendEntries(std::vector<Entry> entries) {
  const Index last = log_.Append(entries);
  progress_[id_].MaybeUpdate(last);
  MaybeCommit();  // a single-voter cluster commits immediately
}

bool Raft::MaybeCommit() {
  // The highest index a quorum of voters holds.
  std::vector<Index> matches;
  matches.reserve(voters_.size());
  for (NodeId v : voters_) matches.push_back(progress_[v].match);
  std::sort(matches.begin(), matches.end(), std::greater<Index>());
  return log_.MaybeCommit(matches[Quorum() - 1], term_);
}

void Raft::BcastAppend() {
  for (auto& [n, pr] : progress_) {
    if (n != id_) SendAppend(n);
  }
}

void Raft::BcastHeartbeat() {
  for (auto& [n, pr] : progress_) {
    if (n == id_) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = n;
    m.term = term_;
    // A follower may be behind; telling it a commit index beyond what it
    // holds would make it commit entries it has not got (or, worse, stale
    // ones at those indexes).
    m.commit = std::min(pr.match, log_.committed());
    Send(std::move(m));
  }
}

bool Raft::SendAppend(NodeId to) {
  Progress& pr = progress_[to];
  if (pr.IsPaused()) return false;
  const Index prev = pr.next - 1;
  auto prev_term = log_.TermAt(prev);
  absl::StatusOr<std::vector<Entry>> entries =
      prev_term.ok() ? log_.Slice(pr.next, log_.LastIndex() + 1, config_.max_size_per_msg)
                     : absl::StatusOr<std::vector<Entry>>(prev_term.status());
  if (!entries.ok()) {
    // The entries it needs are compacted away: only the snapshot can help.
    // Not to a peer we have not heard from lately: it may be down, and a
    // snapshot is expensive.
    if (!pr.recent_active) return false;
    pr.BecomeSnapshot(Index());
    SendSnapshotChunk(to);
    return true;
  }
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.term = term_;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  m.entries = std::move(*entries);
  if (!m.entries.empty()) {
    pr.SentEntries(m.entries.back().index);
  } else if (pr.state == Progress::State::kProbe) {
    pr.probe_sent = true;
  }
  Send(std::move(m));
  return true;
}

void Raft::SendSnapshotChunk(NodeId to) {
  Progress& pr = progress_[to];
  auto snap = storage_->GetSnapshot();
  CHECK(snap.ok()) << "log storage failed: " << snap.status();
  CHECK(!snap->empty()) << "log compacted without a snapshot";
  if (snap->metadata.index != pr.pending_snapshot) {
    // A newer snapshot replaced the one being sent: send that instead.
    pr.BecomeSnapshot(snap->metadata.index);
  }
  const uint64_t size = snap->data.size();
  const uint64_t offset = pr.snapshot_offset;
  if (offset > size || (offset == size && size != 0)) return;  // all sent
  const uint64_t len = std::min(config_.snapshot_chunk_bytes, size - offset);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.term = term_;
  m.snapshot_metadata = snap->metadata;
  m.snapshot_offset = offset;
  m.snapshot_chunk = snap->data.substr(offset, len);
  m.snapshot_done = offset + len == size;
  Send(std::move(m));
}

Message Raft::Reply(const Message& m, MessageType type) const {
  Message r;
  r.type = type;
  r.to = m.from;
  r.term = term_;
  return r;
}

void Raft::Send(Message m) {
  m.from = id_;
  CHECK_NE(m.to, id_) << "message to self";
  CHECK_NE(m.term, Term()) << "message without a term";
  msgs_.push_back(std::move(m));
}

// ---------------------------------------------------------------------------
// Ready / Advance

bool Raft::HasReady() const {
  return hard_state() != prev_hard_state_ || !log_.unstable_entries().empty() ||
         log_.unstable_snapshot().has_value() || !msgs_.empty() ||
         log_.HasNextCommittedEntries();
}

Ready Raft::GetReady() {
  CHECK(!ready_outstanding_) << "GetReady twice without Advance";
  Ready rd;
  const HardState hs = hard_state();
  if (hs != prev_hard_state_) rd.hard_state = hs;
  rd.entries = log_.unstable_entries();
  rd.snapshot = log_.unstable_snapshot();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.committed_entries = log_.NextCommittedEntries(config_.max_committed_size_per_ready);
  ready_outstanding_ = true;
  return rd;
}

void Raft::Advance(const Ready& rd) {
  CHECK(ready_outstanding_) << "Advance without GetReady";
  ready_outstanding_ = false;
  if (rd.hard_state) prev_hard_state_ = *rd.hard_state;
  if (!rd.entries.empty() || rd.snapshot) {
    log_.StableTo(rd.entries.empty() ? Index() : rd.entries.back().index, rd.snapshot.has_value());
  }
  if (rd.snapshot) log_.AppliedTo(rd.snapshot->metadata.index);
  if (!rd.committed_entries.empty()) log_.AppliedTo(rd.committed_entries.back().index);
}

}  // namespace strata::raft
