// The randomized, deterministic Raft simulation (in the manner of
// FoundationDB's simulator and TigerBeetle's VOPR).
//
// RunSeed(seed) derives everything from the seed — cluster shape (3 or 5
// voters, with or without learners), protocol options, fault rates — and
// runs two phases:
//  1. safety: a simulated network with random delay (hence reordering),
//     loss, duplication, symmetric and one-way partitions; crashes that lose
//     everything not yet persisted (a node's Ready may sit unprocessed for a
//     while) and restarts from storage; leader transfers; snapshots and log
//     compaction; a client proposing to whoever claims to lead and recording
//     what was acknowledged (applied, with its term, on the node that took
//     it). Every safety property of SafetyChecker is checked after every
//     step.
//  2. liveness: faults stop (partitions heal, crashed nodes restart, no more
//     loss or duplication); within a bounded number of ticks a leader must
//     emerge, fresh proposals must be acknowledged, and every node must
//     apply the same log, including every proposal ever acknowledged.
// The same seed always replays the same run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace strata::raft::sim {

struct SimResult {
  bool ok = true;
  std::string violation;  // first failure; empty when ok
  std::string shape;      // e.g. "3v+1l prevote checkquorum"
  uint64_t steps = 0;
  uint64_t proposals = 0;
  uint64_t acked = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t leaders = 0;
  uint64_t snapshot_chunks = 0;
  uint64_t liveness_ticks = 0;  // ticks the cluster took to converge
};

// `trace`, when set, receives every event (for replaying one seed).
SimResult RunSeed(uint64_t seed, const std::function<void(const std::string&)>& trace = nullptr);

// The seed being run (printed by the fatal-error handler, so a CHECK failure
// inside the core still tells which seed to replay).
uint64_t CurrentSeed();

}  // namespace strata::raft::sim
