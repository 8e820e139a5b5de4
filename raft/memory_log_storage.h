// MemoryLogStorage: LogStorage kept in memory. Used by tests and the
// deterministic simulation, where a "crash" keeps the object (what was
// written) and throws away the Raft core (what was not).
//
// Contract: as LogStorage. Not thread-safe.
#pragma once

#include <vector>

#include "raft/log_storage.h"

namespace strata::raft {

class MemoryLogStorage final : public LogStorage {
 public:
  // A fresh node of a cluster with membership `conf`.
  explicit MemoryLogStorage(ConfState conf);

  InitialState GetInitialState() const override;
  absl::StatusOr<std::vector<Entry>> Entries(Index lo, Index hi,
                                             uint64_t max_bytes) const override;
  absl::StatusOr<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  absl::StatusOr<Snapshot> GetSnapshot() const override;

  absl::Status Append(const std::vector<Entry>& entries) override;
  absl::Status SetHardState(const HardState& hs) override;
  absl::Status ApplySnapshot(const Snapshot& snapshot) override;
  absl::Status CreateSnapshot(Index i, std::string data) override;
  absl::Status Compact(Index i) override;

  const HardState& hard_state() const { return hard_state_; }

 private:
  // entries_[0] is a sentinel standing for the last compacted entry (the
  // snapshot's); entries_[k] has index entries_[0].index + k.
  std::vector<Entry> entries_;
  HardState hard_state_;
  Snapshot snapshot_;
};

}  // namespace strata::raft
