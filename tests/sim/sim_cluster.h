// Cluster: a set of simulated Raft nodes for tests — each node a Raft core,
// a MemoryLogStorage that survives crashes, and a toy state machine (the
// list of applied entry data). The cluster runs the Ready loop exactly as a
// real driver must (persist, then send, then apply, then Advance) and feeds
// every step to a SafetyChecker.
//
// Messages leave a node through `send_hook` (the randomized simulation
// schedules them with delay, loss and duplication) or, by default, into a
// FIFO queue that scripted tests drain with Stabilize(). Links can be cut
// (both ways or one way) for partitions.
//
// A crash drops the Raft object and the state machine — everything not
// written to storage — and Restart() rebuilds both from storage, as a real
// process would.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_log_storage.h"
#include "raft/raft.h"
#include "safety_checker.h"

namespace strata::raft::sim {

struct ClusterOptions {
  int voters = 3;
  int learners = 0;  // ids voters+1 .. voters+learners
  int election_tick = 10;
  int heartbeat_tick = 2;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_size_per_msg = 1 << 20;
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // Take a snapshot when this many entries were applied since the last one
  // (0: never), then compact the log, keeping `snapshot_keep` entries.
  int snapshot_every = 0;
  int snapshot_keep = 0;
  uint64_t seed = 1;
};

// The toy state machine's snapshot format: length-prefixed strings.
std::string EncodeState(const std::vector<std::string>& state);
std::vector<std::string> DecodeState(const std::string& data);

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);

  // Nodes are created down so tests can shape their storage first.
  void StartAll();
  void Start(NodeId id);
  void Crash(NodeId id);
  void Restart(NodeId id) { Start(id); }
  bool IsUp(NodeId id) const { return node(id).raft != nullptr; }

  const std::vector<NodeId>& ids() const { return ids_; }
  Raft& raft(NodeId id);
  MemoryLogStorage& storage(NodeId id) { return *node(id).storage; }
  const std::vector<std::string>& state(NodeId id) const { return node(id).state; }
  int incarnation(NodeId id) const { return node(id).incarnation; }
  // The up leader with the highest term, or kNoNode.
  NodeId Leader() const;

  // Runs one Ready cycle on the node if it has one. Returns whether it did.
  bool HandleReady(NodeId id);
  // Hands a message to its destination if that node is up.
  void Deliver(const Message& m);

  // Links.
  bool LinkUp(NodeId from, NodeId to) const { return !cut_.contains({from, to}); }
  void CutOneWay(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void Cut(NodeId a, NodeId b) {
    CutOneWay(a, b);
    CutOneWay(b, a);
  }
  void Isolate(NodeId id);
  void Heal() { cut_.clear(); }

  // Scripted driving: deliver queued messages in order and run Ready loops
  // until nothing moves. `drop` lets a test discard chosen messages (or
  // rewrite them in ways the protocol allows, e.g. carry fewer entries).
  void Stabilize();
  std::function<bool(Message&)> drop;
  void Tick(NodeId id, int n = 1);
  void TickAll(int n = 1);
  // Every message ever sent (scripted tests assert on the traffic).
  std::vector<Message> sent;

  // Where sent messages go. Default: the FIFO queue (after the link check).
  std::function<void(const Message&)> send_hook;
  std::deque<Message> queue;

  // Called when the node it was proposed on applies an entry (client acks).
  std::function<void(NodeId, int incarnation, const Entry&)> on_apply;
  std::function<void(NodeId, Index snapshot_index)> on_restore;

  SafetyChecker& checker() { return checker_; }
  void CheckStep();
  // Optional trace of every event, for replaying a seed.
  std::function<void(const std::string&)> trace;

 private:
  struct Node {
    NodeId id;
    std::unique_ptr<MemoryLogStorage> storage;
    std::unique_ptr<Raft> raft;
    std::vector<std::string> state;
    std::mt19937_64 rng;
    int incarnation = 0;
  };
  Node& node(NodeId id) { return *nodes_.at(id); }
  const Node& node(NodeId id) const { return *nodes_.at(id); }
  void MaybeSnapshot(Node& n);

  ClusterOptions options_;
  std::vector<NodeId> ids_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  SafetyChecker checker_;
};

}  // namespace strata::raft::sim
