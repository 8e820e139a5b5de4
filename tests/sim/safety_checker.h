// SafetyChecker: Raft's safety properties, checked incrementally after every
// simulation step (LogCabin's RaftConsensusInvariants, made global: it sees
// every node at once, which no real node can).
//
// Checked:
//  * election safety: at most one leader per term;
//  * log matching: two persisted logs holding an entry with the same index
//    and term hold the same data there and the same term just before it
//    (by induction, identical prefixes);
//  * leader completeness: a leader of term T holds every entry that was
//    committed in a term before T;
//  * state-machine safety: no two nodes apply different data at one index
//    (including state restored from snapshots);
//  * commit index: never decreases within an incarnation, never goes below
//    the node's durable commit, and no index is ever committed with two
//    different terms;
//  * durable hard state: term never decreases, a vote once persisted for a
//    term never changes;
//  * acknowledged proposals are committed with the term they were proposed
//    in.
// The first violation is kept (with the step it happened at) and later ones
// are ignored: the first is the one to debug.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raft/memory_log_storage.h"
#include "raft/raft.h"

namespace strata::raft::sim {

class SafetyChecker {
 public:
  bool ok() const { return violation_.empty(); }
  const std::string& violation() const { return violation_; }
  void Fail(const std::string& what);

  // A node's Ready was just written to its storage.
  void OnPersist(NodeId node, const Ready& rd, const MemoryLogStorage& storage,
                 const HardState& previous_durable);
  // A node applied a committed entry / restored a snapshot's state.
  void OnApply(NodeId node, const Entry& e);
  void OnRestore(NodeId node, Index index, const std::vector<std::string>& state);
  // A node (re)started from its storage.
  void OnStart(NodeId node, const Raft& raft, const MemoryLogStorage& storage);
  void OnCrash(NodeId node);
  // The client saw its proposal applied on the node it proposed to.
  void OnAck(Index index, Term term, const std::string& data);
  // After every step: the cheap global checks over all running nodes.
  void AfterStep(const std::vector<std::pair<const Raft*, const MemoryLogStorage*>>& up);

  const std::map<uint64_t, std::string>& applied() const { return applied_; }
  uint64_t max_committed() const { return committed_.empty() ? 0 : committed_.rbegin()->first; }
  size_t leaders_elected() const { return leaders_.size(); }

 private:
  struct Committed {
    Term term;         // term of the entry
    Term commit_term;  // smallest term of a node that saw it committed
  };
  struct NodeTrack {
    Index last_commit;  // this incarnation
    bool started = false;
  };
  void CheckLeaderHolds(const Raft& leader, uint64_t index, const Committed& c);

  std::string violation_;
  std::map<Term, NodeId> leaders_;
  // (index, term) -> (data, term of the entry before it)
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, Term>> entries_;
  std::map<uint64_t, Committed> committed_;
  std::map<uint64_t, std::string> applied_;
  std::map<NodeId, NodeTrack> nodes_;
};

}  // namespace strata::raft::sim
