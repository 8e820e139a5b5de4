#include "sim_cluster.h"

#include <cstring>
#include <sstream>

#include "glog/logging.h"

namespace strata::raft::sim {

std::string EncodeState(const std::vector<std::string>& state) {
  std::string out;
  for (const std::string& s : state) {
    const uint32_t n = s.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += s;
  }
  return out;
}

std::vector<std::string> DecodeState(const std::string& data) {
  std::vector<std::string> state;
  size_t pos = 0;
  while (pos < data.size()) {
    uint32_t n;
    CHECK_LE(pos + sizeof n, data.size()) << "corrupt snapshot";
    std::memcpy(&n, data.data() + pos, sizeof n);
    pos += sizeof n;
    CHECK_LE(pos + n, data.size()) << "corrupt snapshot";
    state.push_back(data.substr(pos, n));
    pos += n;
  }
  return state;
}

Cluster::Cluster(ClusterOptions options) : options_(options) {
  ConfState conf;
  for (int i = 1; i <= options_.voters; ++i) conf.voters.push_back(NodeId(i));
  for (int i = 1; i <= options_.learners; ++i) conf.learners.push_back(NodeId(options_.voters + i));
  for (NodeId id : conf.voters) ids_.push_back(id);
  for (NodeId id : conf.learners) ids_.push_back(id);
  for (NodeId id : ids_) {
    auto n = std::make_unique<Node>();
    n->id = id;
    n->storage = std::make_unique<MemoryLogStorage>(conf);
    n->rng.seed(options_.seed * 1000003 + id.value());
    nodes_[id] = std::move(n);
  }
}

void Cluster::StartAll() {
  for (NodeId id : ids_) Start(id);
}

void Cluster::Start(NodeId id) {
  Node& n = node(id);
  CHECK(!n.raft) << "node " << id << " is already up";
  auto snap = n.storage->GetSnapshot();
  CHECK(snap.ok());
  n.state = DecodeState(snap->data);
  Config c;
  c.id = id;
  c.election_tick = options_.election_tick;
  c.heartbeat_tick = options_.heartbeat_tick;
  c.pre_vote = options_.pre_vote;
  c.check_quorum = options_.check_quorum;
  c.max_size_per_msg = options_.max_size_per_msg;
  c.snapshot_chunk_bytes = options_.snapshot_chunk_bytes;
  c.applied = snap->metadata.index;
  c.random = [rng = &n.rng] { return (*rng)(); };
  n.raft = std::make_unique<Raft>(std::move(c), n.storage.get());
  ++n.incarnation;
  checker_.OnStart(id, *n.raft, *n.storage);
  if (trace) trace("start " + std::to_string(id.value()));
}

void Cluster::Crash(NodeId id) {
  Node& n = node(id);
  n.raft.reset();
  n.state.clear();
  checker_.OnCrash(id);
  if (trace) trace("crash " + std::to_string(id.value()));
}

Raft& Cluster::raft(NodeId id) {
  Node& n = node(id);
  CHECK(n.raft) << "node " << id << " is down";
  return *n.raft;
}

NodeId Cluster::Leader() const {
  NodeId best;
  Term best_term;
  for (const auto& [id, n] : nodes_) {
    if (n->raft && n->raft->role() == Role::kLeader && n->raft->term() >= best_term) {
      best = id;
      best_term = n->raft->term();
    }
  }
  return best;
}

void Cluster::Isolate(NodeId id) {
  for (NodeId other : ids_) {
    if (other != id) Cut(id, other);
  }
}

bool Cluster::HandleReady(NodeId id) {
  Node& n = node(id);
  if (!n.raft || !n.raft->HasReady()) return false;
  Ready rd = n.raft->GetReady();
  // 1. Persist: snapshot, entries, hard state (MemoryLogStorage writes are
  //    atomic with respect to crashes: a crash happens between steps).
  const HardState durable = n.storage->hard_state();
  if (rd.snapshot) CHECK(n.storage->ApplySnapshot(*rd.snapshot).ok());
  CHECK(n.storage->Append(rd.entries).ok());
  if (rd.hard_state) CHECK(n.storage->SetHardState(*rd.hard_state).ok());
  checker_.OnPersist(id, rd, *n.storage, durable);
  // 2. Send.
  for (const Message& m : rd.messages) {
    if (trace) {
      std::ostringstream os;
      os << "send " << m;
      trace(os.str());
    }
    sent.push_back(m);
    if (send_hook) {
      send_hook(m);
    } else if (LinkUp(m.from, m.to)) {
      queue.push_back(m);
    }
  }
  // 3. Apply.
  if (rd.snapshot) {
    n.state = DecodeState(rd.snapshot->data);
    checker_.OnRestore(id, rd.snapshot->metadata.index, n.state);
    if (on_restore) on_restore(id, rd.snapshot->metadata.index);
  }
  for (const Entry& e : rd.committed_entries) {
    if (e.index.value() != n.state.size() + 1) {
      std::ostringstream os;
      os << "node " << id << " asked to apply " << e.index << " after " << n.state.size();
      checker_.Fail(os.str());
      break;
    }
    n.state.push_back(e.data);
    checker_.OnApply(id, e);
    if (on_apply) on_apply(id, n.incarnation, e);
  }
  // 4. Advance.
  n.raft->Advance(rd);
  MaybeSnapshot(n);
  return true;
}

void Cluster::MaybeSnapshot(Node& n) {
  if (options_.snapshot_every <= 0) return;
  auto snap = n.storage->GetSnapshot();
  CHECK(snap.ok());
  const Index applied(n.state.size());
  if (applied - snap->metadata.index < static_cast<uint64_t>(options_.snapshot_every)) return;
  CHECK(n.storage->CreateSnapshot(applied, EncodeState(n.state)).ok());
  if (applied.value() > static_cast<uint64_t>(options_.snapshot_keep)) {
    const Index compact_to = applied - options_.snapshot_keep;
    if (compact_to >= n.storage->FirstIndex()) CHECK(n.storage->Compact(compact_to).ok());
  }
  if (trace) trace("snapshot " + std::to_string(n.id.value()) + " at " +
                   std::to_string(applied.value()));
}

void Cluster::Deliver(const Message& m) {
  Node& n = node(m.to);
  if (!n.raft) return;
  if (trace) {
    std::ostringstream os;
    os << "recv " << m;
    trace(os.str());
  }
  absl::Status s = n.raft->Step(m);
  CHECK(s.ok()) << s;
}

void Cluster::CheckStep() {
  std::vector<std::pair<const Raft*, const MemoryLogStorage*>> up;
  for (const auto& [id, n] : nodes_) {
    if (n->raft) up.emplace_back(n->raft.get(), n->storage.get());
  }
  checker_.AfterStep(up);
}

void Cluster::Stabilize() {
  for (int round = 0; round < 100000; ++round) {
    bool moved = false;
    for (NodeId id : ids_) {
      if (HandleReady(id)) {
        moved = true;
        CheckStep();
      }
    }
    while (!queue.empty()) {
      Message m = std::move(queue.front());
      queue.pop_front();
      moved = true;
      if (drop && drop(m)) continue;
      if (!LinkUp(m.from, m.to)) continue;
      Deliver(m);
      CheckStep();
      HandleReady(m.to);
      CheckStep();
    }
    if (!moved) return;
  }
  LOG(FATAL) << "Stabilize did not converge";
}

void Cluster::Tick(NodeId id, int n) {
  for (int i = 0; i < n; ++i) {
    if (!IsUp(id)) return;
    raft(id).Tick();
    CheckStep();
  }
}

void Cluster::TickAll(int n) {
  for (int i = 0; i < n; ++i) {
    for (NodeId id : ids_) {
      if (IsUp(id)) {
        raft(id).Tick();
        CheckStep();
      }
    }
  }
}

}  // namespace strata::raft::sim
