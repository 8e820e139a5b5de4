// LogStorage: where a Raft node keeps what must survive a crash — log
// entries, the hard state {term, vote, commit}, and the latest snapshot
// (metadata and data) with the membership it carries.
//
// Contract:
//  * The core only reads (the const methods). The driver writes: after
//    Raft::GetReady() it persists the Ready's snapshot, entries and hard
//    state with ApplySnapshot/Append/SetHardState, and only then sends the
//    Ready's messages. Whatever a write returned OK for must survive a crash.
//  * The application compacts: CreateSnapshot(i, data) records the state
//    machine's state as of applied index i; Compact(i) then drops entries up
//    to i. Compact never passes the snapshot (entries must stay reachable
//    either as entries or inside the snapshot, or a lagging follower could
//    never be caught up).
//  * Layout: the log holds entries [FirstIndex(), LastIndex()]. The entry at
//    FirstIndex()-1 is the snapshot's last entry; its term stays readable via
//    TermAt so the next append can be checked against it. An empty log has
//    FirstIndex() == 1, LastIndex() == 0.
//  * Expected failures are values: reading below FirstIndex()-1 returns a
//    compacted error (IsCompacted), above LastIndex() an unavailable error
//    (IsIndexUnavailable). Any other error is an I/O failure; the core treats it
//    as fatal because it cannot make progress without its log.
//  * Not thread-safe; one node's core and driver use it from one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/message.h"

namespace strata::raft {

// The index lies before the first retained entry: the log was compacted.
absl::Status CompactedError();
bool IsCompacted(const absl::Status& s);
// The index lies after the last entry.
absl::Status IndexUnavailableError();
bool IsIndexUnavailable(const absl::Status& s);
// A snapshot or compaction request older than what the storage already has.
absl::Status SnapshotOutOfDateError();
bool IsSnapshotOutOfDate(const absl::Status& s);

// What a node boots from.
struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // --- read side (the core) ---
  virtual InitialState GetInitialState() const = 0;
  // Entries in [lo, hi), at least one if lo < hi, then up to max_bytes of
  // data in total.
  virtual absl::StatusOr<std::vector<Entry>> Entries(Index lo, Index hi,
                                                     uint64_t max_bytes) const = 0;
  // The term of the entry at i, for i in [FirstIndex()-1, LastIndex()].
  virtual absl::StatusOr<Term> TermAt(Index i) const = 0;
  virtual Index FirstIndex() const = 0;
  virtual Index LastIndex() const = 0;
  // The latest snapshot (empty() before the first one).
  virtual absl::StatusOr<Snapshot> GetSnapshot() const = 0;

  // --- write side (the driver) ---
  // Appends entries, first discarding any stored entries at or after
  // entries.front().index (a leader overwrote a divergent suffix).
  virtual absl::Status Append(const std::vector<Entry>& entries) = 0;
  virtual absl::Status SetHardState(const HardState& hs) = 0;
  // Replaces the whole log by a snapshot received from the leader.
  virtual absl::Status ApplySnapshot(const Snapshot& snapshot) = 0;
  // Records the state machine's state as of applied index i (<= LastIndex).
  virtual absl::Status CreateSnapshot(Index i, std::string data) = 0;
  // Drops entries up to and including i (<= the snapshot's index).
  virtual absl::Status Compact(Index i) = 0;
};

}  // namespace strata::raft
