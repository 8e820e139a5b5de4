#include "raft/node/proto_convert.h"

namespace strata::raft {

// The wire enum mirrors the core's one value for value.
#define STRATA_SAME_VALUE(core, wire) \
  static_assert(static_cast<int>(MessageType::core) == internal::wire, #core)
STRATA_SAME_VALUE(kAppend, RAFT_APPEND);
STRATA_SAME_VALUE(kAppendResponse, RAFT_APPEND_RESPONSE);
STRATA_SAME_VALUE(kVote, RAFT_VOTE);
STRATA_SAME_VALUE(kVoteResponse, RAFT_VOTE_RESPONSE);
STRATA_SAME_VALUE(kPreVote, RAFT_PRE_VOTE);
STRATA_SAME_VALUE(kPreVoteResponse, RAFT_PRE_VOTE_RESPONSE);
STRATA_SAME_VALUE(kHeartbeat, RAFT_HEARTBEAT);
STRATA_SAME_VALUE(kHeartbeatResponse, RAFT_HEARTBEAT_RESPONSE);
STRATA_SAME_VALUE(kSnapshot, RAFT_SNAPSHOT);
STRATA_SAME_VALUE(kSnapshotResponse, RAFT_SNAPSHOT_RESPONSE);
STRATA_SAME_VALUE(kTimeoutNow, RAFT_TIMEOUT_NOW);
#undef STRATA_SAME_VALUE

internal::RaftEntry ToProto(const Entry& e) {
  internal::RaftEntry p;
  p.set_term(e.term.value());
  p.set_index(e.index.value());
  p.set_data(e.data);
  return p;
}

Entry FromProto(const internal::RaftEntry& p) {
  return Entry{Term(p.term()), Index(p.index()), p.data()};
}

internal::RaftHardState ToProto(const HardState& hs) {
  internal::RaftHardState p;
  p.set_term(hs.term.value());
  p.set_vote(hs.vote.value());
  p.set_commit(hs.commit.value());
  return p;
}

HardState FromProto(const internal::RaftHardState& p) {
  return HardState{Term(p.term()), NodeId(p.vote()), Index(p.commit())};
}

internal::RaftConfState ToProto(const ConfState& cs) {
  internal::RaftConfState p;
  for (NodeId v : cs.voters) p.add_voters(v.value());
  for (NodeId l : cs.learners) p.add_learners(l.value());
  return p;
}

ConfState FromProto(const internal::RaftConfState& p) {
  ConfState cs;
  for (uint64_t v : p.voters()) cs.voters.push_back(NodeId(v));
  for (uint64_t l : p.learners()) cs.learners.push_back(NodeId(l));
  return cs;
}

internal::RaftSnapshotMetadata ToProto(const SnapshotMetadata& m) {
  internal::RaftSnapshotMetadata p;
  p.set_index(m.index.value());
  p.set_term(m.term.value());
  *p.mutable_conf_state() = ToProto(m.conf_state);
  return p;
}

SnapshotMetadata FromProto(const internal::RaftSnapshotMetadata& p) {
  return SnapshotMetadata{Index(p.index()), Term(p.term()), FromProto(p.conf_state())};
}

internal::RaftMessage ToProto(const Message& m) {
  internal::RaftMessage p;
  p.set_type(static_cast<internal::RaftMessageType>(m.type));
  p.set_from(m.from.value());
  p.set_to(m.to.value());
  p.set_term(m.term.value());
  p.set_log_term(m.log_term.value());
  p.set_index(m.index.value());
  for (const Entry& e : m.entries) *p.add_entries() = ToProto(e);
  p.set_commit(m.commit.value());
  p.set_reject(m.reject);
  p.set_reject_hint(m.reject_hint.value());
  p.set_transfer(m.transfer);
  *p.mutable_snapshot_metadata() = ToProto(m.snapshot_metadata);
  p.set_snapshot_offset(m.snapshot_offset);
  p.set_snapshot_chunk(m.snapshot_chunk);
  p.set_snapshot_done(m.snapshot_done);
  return p;
}

Message FromProto(const internal::RaftMessage& p) {
  Message m;
  m.type = static_cast<MessageType>(p.type());
  m.from = NodeId(p.from());
  m.to = NodeId(p.to());
  m.term = Term(p.term());
  m.log_term = Term(p.log_term());
  m.index = Index(p.index());
  for (const auto& e : p.entries()) m.entries.push_back(FromProto(e));
  m.commit = Index(p.commit());
  m.reject = p.reject();
  m.reject_hint = Index(p.reject_hint());
  m.transfer = p.transfer();
  m.snapshot_metadata = FromProto(p.snapshot_metadata());
  m.snapshot_offset = p.snapshot_offset();
  m.snapshot_chunk = p.snapshot_chunk();
  m.snapshot_done = p.snapshot_done();
  return m;
}

}  // namespace strata::raft
