// RaftLog: the core's view of its log — the durable part in LogStorage plus
// an "unstable" tail (entries and possibly a snapshot) that the core has
// accepted but the driver has not yet persisted.
//
// Contract: internal to the core (single-threaded, owned by Raft). Reads go
// to the unstable tail first, then to storage. The unstable tail is handed
// out in a Ready and dropped by Raft::Advance once the driver has persisted
// it. Invariants (CHECKed): applied <= committed <= LastIndex(); a committed
// entry is never truncated.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/log_storage.h"
#include "raft/message.h"

namespace strata::raft {

class RaftLog {
 public:
  RaftLog(const LogStorage* storage, Index committed, Index applied);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term at i; compacted/unavailable errors as LogStorage::TermAt.
  absl::StatusOr<Term> TermAt(Index i) const;
  // Term at i, or Term() (0) if i is compacted or beyond the log. Only for
  // comparisons where "unknown" may safely read as "does not match".
  Term ZeroTermOnError(Index i) const;
  bool MatchTerm(Index i, Term t) const;

  // Raft §5.4.1: a log is at least as up to date as ours if its last term is
  // higher, or equal with a last index at least ours.
  bool IsUpToDate(Index last_index, Term last_term) const;

  // Follower side of AppendEntries: if our entry at prev_index has
  // prev_term, adopt `entries` (truncating a conflicting suffix), advance
  // commit to min(leader_commit, last new index) and return that last new
  // index; otherwise nullopt (the log does not match).
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term, Index leader_commit,
                                   const std::vector<Entry>& entries);
  // Leader side: append new entries at the end. Returns the new last index.
  Index Append(const std::vector<Entry>& entries);

  // Fast back-off (etcd): the largest index <= index whose term is <= term,
  // with that term. A follower uses it to tell the leader where its log may
  // match; the leader uses it to skip a whole term of mismatches at once.
  std::pair<Index, Term> FindConflictByTerm(Index index, Term term) const;

  // Entries [lo, hi) up to max_bytes (at least one). Errors if compacted.
  absl::StatusOr<std::vector<Entry>> Slice(Index lo, Index hi, uint64_t max_bytes) const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  void CommitTo(Index i);
  void AppliedTo(Index i);
  // Commits up to i if the entry at i was written in `term`. This is where
  // the Figure 8 rule lives: a leader only counts replicas for entries of its
  // own term; earlier entries become committed indirectly, by the log
  // matching property, once an entry of the current term above them is.
  bool MaybeCommit(Index i, Term term);

  // Replace the log by a snapshot (follower, after receiving it in full).
  void Restore(const Snapshot& snapshot);

  // --- the unstable tail, for Ready/Advance ---
  const std::vector<Entry>& unstable_entries() const { return unstable_entries_; }
  const std::optional<Snapshot>& unstable_snapshot() const { return unstable_snapshot_; }
  // Committed entries not yet applied (up to max_bytes, at least one).
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  bool HasNextCommittedEntries() const;
  // The driver persisted everything handed out: the tail is now in storage.
  void StableTo(Index last_index, bool snapshot_persisted);

 private:
  Index UnstableOffset() const { return unstable_offset_; }

  const LogStorage* storage_;
  std::optional<Snapshot> unstable_snapshot_;
  // unstable_entries_[k] has index unstable_offset_ + k.
  std::vector<Entry> unstable_entries_;
  Index unstable_offset_;
  Index committed_;
  Index applied_;
};

}  // namespace strata::raft
