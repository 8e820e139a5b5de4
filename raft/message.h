// Plain data the Raft core consumes and produces: log entries, the hard
// state, snapshots and the messages peers exchange.
//
// Contract: these are value types with no behaviour beyond formatting. The
// core never serialises them; a transport maps Message to and from its wire
// format (a protobuf at the gRPC edge) and must carry every field.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "raft/types.h"

namespace strata::raft {

// One slot of the replicated log. `data` is opaque to Raft; an entry with
// empty data is the no-op a new leader appends to commit its predecessors'
// entries (Figure 8 rule, see Raft::BecomeLeader).
struct Entry {
  Term term;
  Index index;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// What must be durable before any message that depends on it leaves the
// node: the current term, the vote cast in it, and the commit index (kept so
// a restarted node never reports a smaller commit than it once had).
struct HardState {
  Term term;
  NodeId vote;
  Index commit;

  bool operator==(const HardState&) const = default;
};

// Cluster membership. Voters elect and form quorums; learners only receive
// the log. Membership is fixed at bootstrap (no reconfiguration yet) and is
// carried in every snapshot so a node restored from one knows its peers.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool operator==(const ConfState&) const = default;
};

// A snapshot covers the log up to and including `index`, whose entry had
// `term` (needed to check the log-matching property of the next entry).
struct SnapshotMetadata {
  Index index;
  Term term;
  ConfState conf_state;

  bool operator==(const SnapshotMetadata&) const = default;
};

struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;  // the state machine's serialised state, opaque to Raft

  bool empty() const { return metadata.index == Index(); }
  bool operator==(const Snapshot&) const = default;
};

enum class MessageType : uint8_t {
  kAppend,           // leader -> follower: entries after (index, log_term)
  kAppendResponse,   // follower -> leader: accepted up to index, or reject
  kVote,             // candidate -> voter: vote for me in `term`
  kVoteResponse,
  kPreVote,          // would you vote for me in `term` (not yet entered)?
  kPreVoteResponse,
  kHeartbeat,        // leader -> follower: I am alive; commit what you match
  kHeartbeatResponse,
  kSnapshot,         // leader -> follower: one chunk of a snapshot
  kSnapshotResponse, // follower -> leader: bytes of the snapshot received
  kTimeoutNow,       // leader -> transfer target: campaign now
};

const char* MessageTypeName(MessageType t);

// One message. Which fields matter depends on `type`:
//   kAppend:            index/log_term = the entry before `entries`; commit.
//   kAppendResponse:    index = last index known to match (accept), or the
//                       rejected prev index with reject_hint/log_term = the
//                       follower's hint for fast back-off (reject).
//   kVote/kPreVote:     index/log_term = candidate's last entry; transfer
//                       marks a campaign started by kTimeoutNow.
//   k*VoteResponse:     reject.
//   kHeartbeat:         commit (never above what the follower matches).
//   kSnapshot:          snapshot_metadata, snapshot_offset, snapshot_chunk,
//                       snapshot_done (last chunk).
//   kSnapshotResponse:  index = snapshot index; snapshot_offset = bytes the
//                       follower holds; reject = "restart from offset 0".
struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from;
  NodeId to;
  Term term;
  Term log_term;
  Index index;
  std::vector<Entry> entries;
  Index commit;
  bool reject = false;
  Index reject_hint;
  bool transfer = false;
  SnapshotMetadata snapshot_metadata;
  uint64_t snapshot_offset = 0;
  std::string snapshot_chunk;
  bool snapshot_done = false;
};

std::ostream& operator<<(std::ostream& os, const Message& m);
std::ostream& operator<<(std::ostream& os, const HardState& hs);

}  // namespace strata::raft
