#include "raft/raft_log.h"

#include <algorithm>

#include "glog/logging.h"

namespace strata::raft {

RaftLog::RaftLog(const LogStorage* storage, Index committed, Index applied)
    : storage_(storage),
      unstable_offset_(storage->LastIndex() + 1),
      committed_(committed),
      applied_(applied) {
  // A snapshot only ever covers applied (hence committed) entries, and the
  // commit index is persisted before anything is applied.
  CHECK_GE(committed_.value(), storage->FirstIndex().value() - 1)
      << "persisted commit index is behind the snapshot";
  CHECK_LE(committed_.value(), storage->LastIndex().value())
      << "persisted commit index is beyond the persisted log";
  CHECK_LE(applied_.value(), committed_.value());
  CHECK_GE(applied_.value(), storage->FirstIndex().value() - 1)
      << "the state machine must at least be at the snapshot";
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->metadata.index + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_entries_.empty()) return unstable_offset_ + (unstable_entries_.size() - 1);
  if (unstable_snapshot_) return unstable_snapshot_->metadata.index;
  return storage_->LastIndex();
}

Term RaftLog::LastTerm() const {
  auto t = TermAt(LastIndex());
  CHECK(t.ok()) << "term of the last entry unreadable: " << t.status();
  return *t;
}

absl::StatusOr<Term> RaftLog::TermAt(Index i) const {
  if (i + 1 < FirstIndex()) return CompactedError();
  if (i > LastIndex()) return IndexUnavailableError();
  if (unstable_snapshot_ && i == unstable_snapshot_->metadata.index) {
    return unstable_snapshot_->metadata.term;
  }
  if (i >= unstable_offset_ && !unstable_entries_.empty()) {
    return unstable_entries_[i - unstable_offset_].term;
  }
  auto t = storage_->TermAt(i);
  CHECK(t.ok() || IsCompacted(t.status()) || IsIndexUnavailable(t.status()))
      << "log storage failed: " << t.status();
  return t;
}

Term RaftLog::ZeroTermOnError(Index i) const {
  auto t = TermAt(i);
  return t.ok() ? *t : Term();
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  auto ours = TermAt(i);
  return ours.ok() && *ours == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  const Term our_term = LastTerm();
  return last_term > our_term || (last_term == our_term && last_index >= LastIndex());
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term, Index leader_commit,
                                          const std::vector<Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + entries.size();
  // The first entry that is new or disagrees with ours. Entries before it
  // are already here (duplicated or reordered message); by log matching the
  // entries after a mismatch are ours to replace, and they cannot be
  // committed: the leader that sends them holds every committed entry.
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    CHECK_EQ(e.index.value(), prev_index.value() + k + 1) << "non-contiguous append";
    if (!MatchTerm(e.index, e.term)) {
      CHECK_GT(e.index.value(), committed_.value())
          << "leader asked to overwrite a committed entry at " << e.index;
      Append(std::vector<Entry>(entries.begin() + k, entries.end()));
      break;
    }
  }
  // Only what we know matches the leader may be committed: a stale suffix
  // past last_new could still diverge.
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

Index RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return LastIndex();
  const Index after = entries.front().index;
  CHECK_GT(after.value(), committed_.value()) << "truncating committed entries";
  CHECK_LE(after.value(), LastIndex().value() + 1) << "gap in the log";
  const Index end = unstable_offset_ + unstable_entries_.size();
  if (after == end) {
    // Plain extension of the unstable tail.
  } else if (after <= unstable_offset_) {
    // Replace the whole tail; storage's conflicting suffix is discarded when
    // the driver persists these entries (LogStorage::Append truncates).
    unstable_offset_ = after;
    unstable_entries_.clear();
  } else {
    unstable_entries_.resize(after - unstable_offset_);
  }
  unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  return LastIndex();
}

std::pair<Index, Term> RaftLog::FindConflictByTerm(Index index, Term term) const {
  for (; index > Index(); index = index - 1) {
    auto ours = TermAt(index);
    if (!ours.ok()) return {index, Term()};
    if (*ours <= term) return {index, *ours};
  }
  return {Index(), Term()};
}

absl::StatusOr<std::vector<Entry>> RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes) const {
  CHECK_LE(lo.value(), hi.value());
  CHECK_LE(hi.value(), LastIndex().value() + 1);
  if (lo < FirstIndex()) return CompactedError();
  std::vector<Entry> out;
  if (lo == hi) return out;
  uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    auto stored = storage_->Entries(lo, std::min(hi, unstable_offset_), max_bytes);
    if (!stored.ok()) {
      CHECK(IsCompacted(stored.status())) << "log storage failed: " << stored.status();
      return stored.status();
    }
    out = std::move(*stored);
    for (const Entry& e : out) bytes += e.data.size();
    if (out.back().index + 1 < std::min(hi, unstable_offset_)) return out;  // hit max_bytes
  }
  for (Index i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_entries_[i - unstable_offset_];
    bytes += e.data.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::CommitTo(Index i) {
  if (i <= committed_) return;  // the commit index never decreases
  CHECK_LE(i.value(), LastIndex().value()) << "commit beyond the log";
  committed_ = i;
}

void RaftLog::AppliedTo(Index i) {
  CHECK_LE(i.value(), committed_.value()) << "applying uncommitted entries";
  CHECK_GE(i.value(), applied_.value()) << "applied index going backwards";
  applied_ = i;
}

bool RaftLog::MaybeCommit(Index i, Term term) {
  if (i > committed_ && ZeroTermOnError(i) == term) {
    CommitTo(i);
    return true;
  }
  return false;
}

void RaftLog::Restore(const Snapshot& snapshot) {
  CHECK_GT(snapshot.metadata.index.value(), committed_.value());
  committed_ = snapshot.metadata.index;
  unstable_snapshot_ = snapshot;
  unstable_entries_.clear();
  unstable_offset_ = snapshot.metadata.index + 1;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  if (!HasNextCommittedEntries()) return {};
  auto ents = Slice(std::max(applied_ + 1, FirstIndex()), committed_ + 1, max_bytes);
  CHECK(ents.ok()) << "committed entries unreadable: " << ents.status();
  return std::move(*ents);
}

bool RaftLog::HasNextCommittedEntries() const {
  return committed_ + 1 > std::max(applied_ + 1, FirstIndex());
}

void RaftLog::StableTo(Index last_index, bool snapshot_persisted) {
  if (snapshot_persisted) unstable_snapshot_.reset();
  if (last_index >= unstable_offset_ && !unstable_entries_.empty()) {
    const size_t n = std::min<size_t>(last_index - unstable_offset_ + 1, unstable_entries_.size());
    unstable_entries_.erase(unstable_entries_.begin(), unstable_entries_.begin() + n);
    unstable_offset_ = unstable_offset_ + n;
  }
}

}  // namespace strata::raft
