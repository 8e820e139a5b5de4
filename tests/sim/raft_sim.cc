#include "raft_sim.h"

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "glog/logging.h"
#include "sim_cluster.h"

namespace strata::raft::sim {
namespace {

uint64_t g_current_seed = 0;

// Every random choice of a run comes from here (the nodes' election timers
// use their own generators, seeded from the same seed by the Cluster).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [lo, hi).
  uint64_t Uniform(uint64_t lo, uint64_t hi) { return lo + gen_() % (hi - lo); }
  bool Chance(double p) { return static_cast<double>(gen_() % 1000000) < p * 1000000.0; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, v.size())];
  }
  std::mt19937_64& gen() { return gen_; }

 private:
  std::mt19937_64 gen_;
};

constexpr int kMicroStepsPerTick = 10;
constexpr int kFaultSteps = 4000;           // 400 ticks of chaos
constexpr int kLivenessTickBound = 300;     // ticks allowed to converge
constexpr int kLivenessProposals = 3;

struct Proposal {
  NodeId node;
  int incarnation = 0;
  Index index;
  Term term;
  enum class Status { kPending, kAcked, kLost } status = Status::kPending;
};

class Simulation {
 public:
  Simulation(uint64_t seed, const std::function<void(const std::string&)>& trace)
      : seed_(seed), rng_(seed), trace_(trace) {
    ClusterOptions o;
    o.seed = seed;
    // The shape cycles with the seed so that every range of seeds covers
    // all four evenly; everything else is drawn.
    switch (seed % 4) {
      case 0: o.voters = 3; o.learners = 0; break;
      case 1: o.voters = 3; o.learners = 1; break;
      case 2: o.voters = 5; o.learners = 0; break;
      default: o.voters = 5; o.learners = 2; break;
    }
    o.election_tick = 10;
    o.heartbeat_tick = static_cast<int>(rng_.Uniform(1, 4));
    o.pre_vote = rng_.Chance(0.75);
    o.check_quorum = rng_.Chance(0.75);
    o.max_size_per_msg = rng_.Chance(0.5) ? (1 << 20) : rng_.Uniform(1, 40);
    o.snapshot_every = rng_.Chance(0.75) ? static_cast<int>(rng_.Uniform(3, 30)) : 0;
    o.snapshot_keep = static_cast<int>(rng_.Uniform(0, 4));
    o.snapshot_chunk_bytes = rng_.Uniform(32, 512);
    loss_ = static_cast<double>(rng_.Uniform(0, 20)) / 100;
    dup_ = static_cast<double>(rng_.Uniform(0, 10)) / 100;
    max_delay_ = rng_.Uniform(1, 3 * kMicroStepsPerTick);
    crash_rate_ = static_cast<double>(rng_.Uniform(0, 60)) / 10000;
    partition_rate_ = static_cast<double>(rng_.Uniform(0, 100)) / 10000;
    ready_rate_ = 0.3 + static_cast<double>(rng_.Uniform(0, 70)) / 100;
    propose_rate_ = 0.02 + static_cast<double>(rng_.Uniform(0, 8)) / 100;
    std::ostringstream shape;
    shape << o.voters << "v+" << o.learners << "l" << (o.pre_vote ? " prevote" : "")
          << (o.check_quorum ? " checkquorum" : "") << " hb=" << o.heartbeat_tick
          << " snap_every=" << o.snapshot_every << " loss=" << loss_ << " dup=" << dup_
          << " delay<=" << max_delay_ << " crash=" << crash_rate_
          << " partition=" << partition_rate_ << " ready=" << ready_rate_;
    result_.shape = shape.str();

    cluster_ = std::make_unique<Cluster>(o);
    if (trace_) cluster_->trace = [this](const std::string& s) { Trace(s); };
    cluster_->send_hook = [this](const Message& m) { Send(m); };
    cluster_->on_apply = [this](NodeId n, int inc, const Entry& e) { OnApply(n, inc, e); };
    cluster_->on_restore = [this](NodeId n, Index i) { OnRestore(n, i); };
    for (NodeId id : cluster_->ids()) phase_[id] = static_cast<int>(rng_.Uniform(0, kMicroStepsPerTick));
    cluster_->StartAll();
  }

  SimResult Run() {
    Trace(result_.shape);
    for (int i = 0; i < kFaultSteps && ok(); ++i) Step(/*faults=*/true);
    if (ok()) Liveness();
    if (ok()) FinalChecks();
    result_.ok = ok();
    result_.violation = cluster_->checker().violation();
    result_.leaders = cluster_->checker().leaders_elected();
    return result_;
  }

 private:
  bool ok() const { return cluster_->checker().ok(); }
  void Fail(const std::string& s) { cluster_->checker().Fail(s); }
  void Trace(const std::string& s) {
    if (trace_) trace_("[" + std::to_string(now_) + "] " + s);
  }

  void Send(const Message& m) {
    ++result_.steps;
    if (m.type == MessageType::kSnapshot) ++result_.snapshot_chunks;
    if (!cluster_->LinkUp(m.from, m.to)) return;
    if (faults_ && rng_.Chance(loss_)) return;
    in_flight_[now_ + 1 + rng_.Uniform(0, max_delay_)].push_back(m);
    if (faults_ && rng_.Chance(dup_)) {
      in_flight_[now_ + 1 + rng_.Uniform(0, max_delay_)].push_back(m);
    }
  }

  std::vector<NodeId> UpNodes() const {
    std::vector<NodeId> up;
    for (NodeId id : cluster_->ids()) {
      if (cluster_->IsUp(id)) up.push_back(id);
    }
    return up;
  }
  std::vector<NodeId> DownNodes() const {
    std::vector<NodeId> down;
    for (NodeId id : cluster_->ids()) {
      if (!cluster_->IsUp(id)) down.push_back(id);
    }
    return down;
  }
  std::vector<NodeId> Leaders() const {
    std::vector<NodeId> out;
    for (NodeId id : UpNodes()) {
      if (cluster_->raft(id).role() == Role::kLeader) out.push_back(id);
    }
    return out;
  }

  void InjectFaults() {
    if (rng_.Chance(partition_rate_)) {
      ++result_.partitions;
      const auto& ids = cluster_->ids();
      if (rng_.Chance(0.4)) cluster_->Heal();
      switch (rng_.Uniform(0, 4)) {
        case 0:  // heal
          cluster_->Heal();
          Trace("partition: heal");
          break;
        case 1: {  // isolate one node, often the leader
          auto leaders = Leaders();
          NodeId n = !leaders.empty() && rng_.Chance(0.5) ? rng_.Pick(leaders) : rng_.Pick(ids);
          cluster_->Isolate(n);
          Trace("partition: isolate " + std::to_string(n.value()));
          break;
        }
        case 2: {  // split in two groups
          std::vector<NodeId> side;
          for (NodeId id : ids) {
            if (rng_.Chance(0.5)) side.push_back(id);
          }
          for (NodeId a : side) {
            for (NodeId b : ids) {
              if (std::find(side.begin(), side.end(), b) == side.end()) cluster_->Cut(a, b);
            }
          }
          Trace("partition: split");
          break;
        }
        default: {  // one-way links
          const int k = static_cast<int>(rng_.Uniform(1, 4));
          for (int i = 0; i < k; ++i) {
            NodeId a = rng_.Pick(ids), b = rng_.Pick(ids);
            if (a != b) cluster_->CutOneWay(a, b);
          }
          Trace("partition: one-way cuts");
          break;
        }
      }
    }
    if (rng_.Chance(crash_rate_)) {
      auto up = UpNodes();
      if (!up.empty()) {
        auto leaders = Leaders();
        NodeId n = !leaders.empty() && rng_.Chance(0.5) ? rng_.Pick(leaders) : rng_.Pick(up);
        Crash(n);
      }
    }
    for (NodeId n : DownNodes()) {
      if (rng_.Chance(0.004)) cluster_->Restart(n);
    }
    if (rng_.Chance(0.0008)) {
      auto leaders = Leaders();
      if (!leaders.empty()) {
        NodeId l = rng_.Pick(leaders);
        NodeId target(rng_.Uniform(1, cluster_->raft(l).voters().size() + 1));
        absl::Status s = cluster_->raft(l).TransferLeadership(target);
        Trace("transfer " + std::to_string(l.value()) + " -> " + std::to_string(target.value()) +
              ": " + s.ToString());
      }
    }
  }

  void Crash(NodeId n) {
    ++result_.crashes;
    cluster_->Crash(n);
    for (auto& [data, p] : proposals_) {
      if (p.node == n && p.status == Proposal::Status::kPending) p.status = Proposal::Status::kLost;
    }
  }

  void Propose(const std::string& data) {
    auto leaders = Leaders();
    if (leaders.empty()) return;
    NodeId l = rng_.Pick(leaders);  // possibly a stale leader
    Raft& r = cluster_->raft(l);
    absl::StatusOr<Index> idx = r.Propose(data);
    if (!idx.ok()) return;  // e.g. a transfer in progress: the client retries
    ++result_.proposals;
    proposals_[data] = Proposal{l, cluster_->incarnation(l), *idx, r.term()};
    Trace("propose '" + data + "' at " + std::to_string(l.value()) + " index " +
          std::to_string(idx->value()));
  }

  void OnApply(NodeId n, int incarnation, const Entry& e) {
    for (auto& [data, p] : proposals_) {
      if (p.status != Proposal::Status::kPending || p.node != n || p.incarnation != incarnation ||
          p.index != e.index) {
        continue;
      }
      if (e.term == p.term && e.data == data) {
        p.status = Proposal::Status::kAcked;
        ++result_.acked;
        acked_[e.index.value()] = data;
        cluster_->checker().OnAck(e.index, e.term, data);
      } else {
        p.status = Proposal::Status::kLost;  // overwritten by a newer leader
      }
    }
  }

  void OnRestore(NodeId n, Index index) {
    for (auto& [data, p] : proposals_) {
      if (p.status == Proposal::Status::kPending && p.node == n && p.index <= index) {
        p.status = Proposal::Status::kLost;  // outcome unknown to this client
      }
    }
  }

  void Step(bool faults) {
    faults_ = faults;
    ++now_;
    if (faults) {
      InjectFaults();
      if (rng_.Chance(propose_rate_)) Propose("p" + std::to_string(next_proposal_++));
    }
    for (NodeId id : cluster_->ids()) {
      if (cluster_->IsUp(id) && (now_ + phase_[id]) % kMicroStepsPerTick == 0) {
        cluster_->raft(id).Tick();
        cluster_->CheckStep();
      }
    }
    auto due = in_flight_.begin();
    if (due != in_flight_.end() && due->first <= now_) {
      std::vector<Message> msgs = std::move(due->second);
      in_flight_.erase(due);
      std::shuffle(msgs.begin(), msgs.end(), rng_.gen());
      for (const Message& m : msgs) {
        cluster_->Deliver(m);
        cluster_->CheckStep();
        if (!ok()) return;
      }
    }
    // Persisting (and so sending) may lag: a crash in between loses the
    // unpersisted state and the unsent messages together.
    for (NodeId id : cluster_->ids()) {
      if (!faults || rng_.Chance(ready_rate_)) {
        if (cluster_->HandleReady(id)) cluster_->CheckStep();
      }
    }
  }

  void Liveness() {
    Trace("--- liveness phase ---");
    cluster_->Heal();
    for (NodeId n : DownNodes()) cluster_->Restart(n);
    const int64_t start = now_;
    std::vector<std::string> live;
    for (int i = 0; i < kLivenessProposals; ++i) live.push_back("live" + std::to_string(i));
    int retry = 0;
    while (now_ - start < kLivenessTickBound * kMicroStepsPerTick) {
      Step(/*faults=*/false);
      if (!ok()) return;
      // The client (re)submits each live proposal until it is acknowledged.
      bool all_acked = true;
      for (size_t i = 0; i < live.size(); ++i) {
        auto it = proposals_.find(live[i]);
        if (it != proposals_.end() && it->second.status == Proposal::Status::kAcked) continue;
        all_acked = false;
        if (it != proposals_.end() && it->second.status == Proposal::Status::kPending) {
          // The node that took it no longer leads that term: the client
          // times out (the entry may still commit; it just is not acked).
          const Proposal& p = it->second;
          if (!cluster_->IsUp(p.node) || cluster_->raft(p.node).term() != p.term ||
              cluster_->raft(p.node).role() != Role::kLeader) {
            it->second.status = Proposal::Status::kLost;
          }
        }
        if (it == proposals_.end() || it->second.status == Proposal::Status::kLost) {
          // A lost attempt is retried under a new name (the old one may
          // still commit; that is allowed).
          if (it != proposals_.end()) live[i] += "r" + std::to_string(retry++);
          Propose(live[i]);
        }
      }
      if (all_acked && Converged()) {
        result_.liveness_ticks = (now_ - start) / kMicroStepsPerTick;
        return;
      }
    }
    std::ostringstream os;
    os << "liveness: no convergence within " << kLivenessTickBound << " ticks after faults stopped";
    for (NodeId id : cluster_->ids()) {
      const Raft& r = cluster_->raft(id);
      os << "; node " << id << " " << RoleName(r.role()) << " term " << r.term() << " commit "
         << r.log().committed() << " last " << r.log().LastIndex();
    }
    Fail(os.str());
  }

  bool Converged() {
    NodeId l = cluster_->Leader();
    if (l == kNoNode) return false;
    const Raft& leader = cluster_->raft(l);
    if (leader.log().committed() != leader.log().LastIndex()) return false;
    for (NodeId id : cluster_->ids()) {
      const Raft& r = cluster_->raft(id);
      if (r.log().committed() != leader.log().committed()) return false;
      if (cluster_->state(id).size() != leader.log().committed().value()) return false;
    }
    return true;
  }

  void FinalChecks() {
    // Every acknowledged proposal is in every node's state machine.
    for (const auto& [index, data] : acked_) {
      for (NodeId id : cluster_->ids()) {
        const auto& st = cluster_->state(id);
        if (st.size() < index || st[index - 1] != data) {
          Fail("acknowledged proposal '" + data + "' at index " + std::to_string(index) +
               " missing on node " + std::to_string(id.value()));
          return;
        }
      }
    }
  }

  uint64_t seed_;
  Rng rng_;
  std::function<void(const std::string&)> trace_;
  std::unique_ptr<Cluster> cluster_;
  std::map<NodeId, int> phase_;
  std::map<int64_t, std::vector<Message>> in_flight_;
  int64_t now_ = 0;
  bool faults_ = true;
  double loss_, dup_, crash_rate_, partition_rate_, ready_rate_, propose_rate_;
  uint64_t max_delay_;
  uint64_t next_proposal_ = 0;
  std::map<std::string, Proposal> proposals_;
  std::map<uint64_t, std::string> acked_;
  SimResult result_;
};

}  // namespace

uint64_t CurrentSeed() { return g_current_seed; }

SimResult RunSeed(uint64_t seed, const std::function<void(const std::string&)>& trace) {
  g_current_seed = seed;
  Simulation sim(seed, trace);
  return sim.Run();
}

}  // namespace strata::raft::sim
