#include "safety_checker.h"

#include <sstream>

namespace strata::raft::sim {

void SafetyChecker::Fail(const std::string& what) {
  if (violation_.empty()) violation_ = what;
}

void SafetyChecker::OnPersist(NodeId node, const Ready& rd, const MemoryLogStorage& storage,
                              const HardState& prev) {
  if (rd.hard_state) {
    const HardState& hs = *rd.hard_state;
    std::ostringstream os;
    if (hs.term < prev.term) {
      os << "node " << node << " persisted term " << hs.term << " after " << prev.term;
    } else if (hs.term == prev.term && prev.vote != kNoNode && hs.vote != prev.vote) {
      os << "node " << node << " changed its vote in term " << hs.term << " from " << prev.vote
         << " to " << hs.vote;
    } else if (hs.commit < prev.commit) {
      os << "node " << node << " persisted commit " << hs.commit << " below " << prev.commit;
    }
    if (!os.str().empty()) Fail(os.str());
  }
  if (rd.snapshot) {
    const auto& meta = rd.snapshot->metadata;
    auto it = committed_.find(meta.index.value());
    if (it != committed_.end() && it->second.term != meta.term) {
      std::ostringstream os;
      os << "node " << node << " installed snapshot " << meta.index << "/" << meta.term
         << " but that index was committed with term " << it->second.term;
      Fail(os.str());
    }
  }
  for (const Entry& e : rd.entries) {
    if (e.index < storage.FirstIndex()) continue;
    auto prev_term = storage.TermAt(e.index - 1);
    if (!prev_term.ok()) {
      Fail("persisted entry without a readable predecessor");
      continue;
    }
    auto key = std::make_pair(e.index.value(), e.term.value());
    auto [it, inserted] = entries_.emplace(key, std::make_pair(e.data, *prev_term));
    if (!inserted && (it->second.first != e.data || it->second.second != *prev_term)) {
      std::ostringstream os;
      os << "log matching: node " << node << " persisted " << e.index << "/" << e.term
         << " with data '" << e.data << "' prev term " << *prev_term << ", another log has data '"
         << it->second.first << "' prev term " << it->second.second;
      Fail(os.str());
    }
  }
}

void SafetyChecker::OnApply(NodeId node, const Entry& e) {
  auto [it, inserted] = applied_.emplace(e.index.value(), e.data);
  if (!inserted && it->second != e.data) {
    std::ostringstream os;
    os << "state machine safety: node " << node << " applied '" << e.data << "' at " << e.index
       << ", another node applied '" << it->second << "'";
    Fail(os.str());
  }
}

void SafetyChecker::OnRestore(NodeId node, Index index, const std::vector<std::string>& state) {
  if (state.size() != index.value()) {
    Fail("snapshot state size does not match its index");
    return;
  }
  for (uint64_t i = 1; i <= state.size(); ++i) {
    auto it = applied_.find(i);
    if (it == applied_.end()) {
      std::ostringstream os;
      os << "node " << node << " restored a snapshot holding index " << i << " never applied";
      Fail(os.str());
      return;
    }
    if (it->second != state[i - 1]) {
      std::ostringstream os;
      os << "state machine safety: node " << node << " restored '" << state[i - 1] << "' at "
         << i << ", applied elsewhere: '" << it->second << "'";
      Fail(os.str());
      return;
    }
  }
}

void SafetyChecker::OnStart(NodeId node, const Raft& raft, const MemoryLogStorage& storage) {
  NodeTrack& t = nodes_[node];
  t.started = true;
  t.last_commit = raft.log().committed();
  if (raft.log().committed() != storage.hard_state().commit) {
    Fail("restarted node does not resume from its durable commit index");
  }
}

void SafetyChecker::OnCrash(NodeId node) { nodes_[node].started = false; }

void SafetyChecker::OnAck(Index index, Term term, const std::string& data) {
  auto c = committed_.find(index.value());
  auto a = applied_.find(index.value());
  if (c == committed_.end() || c->second.term != term || a == applied_.end() ||
      a->second != data) {
    std::ostringstream os;
    os << "acknowledged proposal '" << data << "' at " << index << "/" << term
       << " is not what was committed there";
    Fail(os.str());
  }
}

void SafetyChecker::CheckLeaderHolds(const Raft& leader, uint64_t index, const Committed& c) {
  if (c.commit_term >= leader.term()) return;  // committed later than this leader's election
  auto t = leader.log().TermAt(Index(index));
  if (t.ok() && *t == c.term) return;
  if (!t.ok() && IsCompacted(t.status())) return;  // inside its snapshot (checked on apply)
  std::ostringstream os;
  os << "leader completeness: leader " << leader.id() << " of term " << leader.term()
     << " lacks entry " << index << "/" << c.term << " committed in term " << c.commit_term;
  Fail(os.str());
}

void SafetyChecker::AfterStep(
    const std::vector<std::pair<const Raft*, const MemoryLogStorage*>>& up) {
  for (const auto& [raft, storage] : up) {
    NodeTrack& t = nodes_[raft->id()];
    const Index commit = raft->log().committed();
    if (commit < t.last_commit) {
      std::ostringstream os;
      os << "node " << raft->id() << " commit index went from " << t.last_commit << " to "
         << commit;
      Fail(os.str());
    }
    if (commit < storage->hard_state().commit) {
      Fail("commit index below the durable commit index");
    }
    if (raft->role() == Role::kLeader) {
      auto [it, inserted] = leaders_.emplace(raft->term(), raft->id());
      if (!inserted && it->second != raft->id()) {
        std::ostringstream os;
        os << "election safety: nodes " << it->second << " and " << raft->id()
           << " are both leader of term " << raft->term();
        Fail(os.str());
      }
      if (inserted) {
        for (const auto& [index, c] : committed_) CheckLeaderHolds(*raft, index, c);
      }
    }
    // Record what this node newly sees committed.
    for (Index i = std::max(t.last_commit + 1, raft->log().FirstIndex()); i <= commit; ++i) {
      auto term = raft->log().TermAt(i);
      if (!term.ok()) continue;
      auto [it, inserted] = committed_.emplace(i.value(), Committed{*term, raft->term()});
      if (!inserted) {
        if (it->second.term != *term) {
          std::ostringstream os;
          os << "index " << i << " committed with term " << it->second.term << " and, on node "
             << raft->id() << ", with term " << *term;
          Fail(os.str());
        }
        it->second.commit_term = std::min(it->second.commit_term, raft->term());
        continue;
      }
      for (const auto& [other, other_storage] : up) {
        if (other->role() == Role::kLeader) CheckLeaderHolds(*other, i.value(), it->second);
      }
    }
    t.last_commit = commit;
  }
}

}  // namespace strata::raft::sim
