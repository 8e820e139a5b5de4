#include "raft/message.h"

namespace strata::raft {

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kAppend:
      return "App";
    case MessageType::kAppendResponse:
      return "AppResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResp";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResp";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResp";
    case MessageType::kSnapshot:
      return "Snap";
    case MessageType::kSnapshotResponse:
      return "SnapResp";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Message& m) {
  os << m.from << "->" << m.to << " " << MessageTypeName(m.type) << " term=" << m.term;
  switch (m.type) {
    case MessageType::kAppend:
      os << " prev=" << m.index << "/" << m.log_term << " commit=" << m.commit
         << " entries=" << m.entries.size();
      if (!m.entries.empty()) os << "[" << m.entries.front().index << ".." << m.entries.back().index << "]";
      break;
    case MessageType::kAppendResponse:
      os << " index=" << m.index;
      if (m.reject) os << " reject hint=" << m.reject_hint << "/" << m.log_term;
      break;
    case MessageType::kVote:
    case MessageType::kPreVote:
      os << " last=" << m.index << "/" << m.log_term << (m.transfer ? " transfer" : "");
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      os << (m.reject ? " reject" : " grant");
      break;
    case MessageType::kHeartbeat:
      os << " commit=" << m.commit;
      break;
    case MessageType::kSnapshot:
      os << " snap=" << m.snapshot_metadata.index << "/" << m.snapshot_metadata.term
         << " off=" << m.snapshot_offset << " len=" << m.snapshot_chunk.size()
         << (m.snapshot_done ? " done" : "");
      break;
    case MessageType::kSnapshotResponse:
      os << " snap=" << m.index << " off=" << m.snapshot_offset << (m.reject ? " reject" : "");
      break;
    default:
      break;
  }
  return os;
}

std::ostream& operator<<(std::ostream& os, const HardState& hs) {
  return os << "{term=" << hs.term << " vote=" << hs.vote << " commit=" << hs.commit << "}";
}

}  // namespace strata::raft
