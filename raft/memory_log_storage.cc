#include "raft/memory_log_storage.h"

#include <string>
#include <utility>

#include "glog/logging.h"

namespace strata::raft {
MemoryLogStorage::MemoryLogStorage(ConfState conf) {
  entries_.push_back(Entry{});
  snapshot_.metadata.conf_state = std::move(conf);
}

InitialState MemoryLogStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.metadata.conf_state};
}

Index MemoryLogStorage::FirstIndex() const { return entries_[0].index + 1; }
Index MemoryLogStorage::LastIndex() const { return entries_[0].index + (entries_.size() - 1); }

absl::StatusOr<Term> MemoryLogStorage::TermAt(Index i) const {
  const Index offset = entries_[0].index;
  if (i < offset) return CompactedError();
  if (i > LastIndex()) return IndexUnavailableError();
  return entries_[i - offset].term;
}

absl::StatusOr<std::vector<Entry>> MemoryLogStorage::Entries(Index lo, Index hi,
                                                             uint64_t max_bytes) const {
  const Index offset = entries_[0].index;
  if (lo <= offset) return CompactedError();
  if (hi > LastIndex() + 1) return IndexUnavailableError();
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    bytes += e.data.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<Snapshot> MemoryLogStorage::GetSnapshot() const { return snapshot_; }

absl::Status MemoryLogStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const Index first = FirstIndex();
  if (entries.back().index < first) return absl::OkStatus();  // all compacted already
  if (entries.front().index > LastIndex() + 1) {
    return absl::FailedPreconditionError("raft: append would leave a gap in the log");
  }
  size_t skip = entries.front().index < first ? first - entries.front().index : 0;
  const Index start = entries[skip].index;
  // Truncate the stored suffix that the new entries replace.
  entries_.resize(start - entries_[0].index);
  for (size_t k = skip; k < entries.size(); ++k) {
    CHECK_EQ(entries[k].index.value(), entries_[0].index.value() + entries_.size())
        << "append of non-contiguous entries";
    entries_.push_back(entries[k]);
  }
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::SetHardState(const HardState& hs) {
  hard_state_ = hs;
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::ApplySnapshot(const Snapshot& snapshot) {
  if (snapshot.metadata.index <= snapshot_.metadata.index) return SnapshotOutOfDateError();
  snapshot_ = snapshot;
  entries_.clear();
  entries_.push_back(Entry{snapshot.metadata.term, snapshot.metadata.index, ""});
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::CreateSnapshot(Index i, std::string data) {
  if (i <= snapshot_.metadata.index) return SnapshotOutOfDateError();
  if (i > LastIndex()) return IndexUnavailableError();
  if (i < entries_[0].index) return CompactedError();
  snapshot_.metadata.index = i;
  snapshot_.metadata.term = entries_[i - entries_[0].index].term;
  snapshot_.data = std::move(data);
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::Compact(Index i) {
  const Index offset = entries_[0].index;
  if (i <= offset) return SnapshotOutOfDateError();
  if (i > snapshot_.metadata.index) {
    return absl::FailedPreconditionError("raft: compaction past the snapshot");
  }
  std::vector<Entry> kept;
  kept.reserve(LastIndex() - i + 1);
  kept.push_back(Entry{entries_[i - offset].term, i, ""});
  kept.insert(kept.end(), entries_.begin() + (i - offset) + 1, entries_.end());
  entries_ = std::move(kept);
  return absl::OkStatus();
}

}  // namespace strata::raft
