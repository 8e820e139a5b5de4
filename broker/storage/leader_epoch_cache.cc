#include "broker/storage/leader_epoch_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/storage/checkpoint_file.h"
#include "client/common/numbers.h"
#include "glog/logging.h"

namespace strata::storage {

absl::StatusOr<LeaderEpochCache> LeaderEpochCache::Load(FileSystem* fs, const std::string& dir) {
  LeaderEpochCache cache(fs, dir);
  const std::string path = JoinPath(dir, kLeaderEpochCheckpointFile);
  absl::StatusOr<CheckpointEntries> entries = ReadCheckpoint(fs, path);
  if (absl::IsNotFound(entries.status())) return cache;
  if (!entries.ok()) return entries.status();
  for (const auto& [key, offset] : *entries) {
    std::optional<int32_t> epoch = ParseInteger<int32_t>(key);
    if (!epoch || *epoch < 0 || offset < 0) {
      return absl::DataLossError(absl::StrCat(path, ": bad entry '", key, " ", offset, "'"));
    }
    cache.entries_.push_back({Epoch(*epoch), Offset(offset)});
  }
  // The checkpoint's keys are text; order them as numbers.
  std::sort(cache.entries_.begin(), cache.entries_.end(),
            [](const EpochEntry& a, const EpochEntry& b) { return a.epoch < b.epoch; });
  for (size_t i = 1; i < cache.entries_.size(); ++i) {
    if (cache.entries_[i].start_offset <= cache.entries_[i - 1].start_offset) {
      return absl::DataLossError(absl::StrCat(path, ": epoch ", cache.entries_[i].epoch.value(),
                                              " does not start after epoch ",
                                              cache.entries_[i - 1].epoch.value()));
    }
  }
  return cache;
}

absl::Status LeaderEpochCache::Save() {
  CheckpointEntries entries;
  for (const EpochEntry& e : entries_)
    entries[std::to_string(e.epoch.value())] = e.start_offset.value();
  absl::Status s = WriteCheckpoint(fs_, JoinPath(dir_, kLeaderEpochCheckpointFile), entries);
  // A failed save, deferred or not, leaves the file behind the entries:
  // the next SaveIfDirty tries again (and the Log's checkpoint fails with
  // it, so its recovery point does not pass an epoch the file lacks).
  dirty_ = !s.ok();
  return s;
}

absl::Status LeaderEpochCache::SaveIfDirty() { return dirty_ ? Save() : absl::OkStatus(); }

absl::Status LeaderEpochCache::Assign(Epoch epoch, Offset start_offset, bool defer_save) {
  if (epoch.value() < 0) return absl::OkStatus();
  if (!entries_.empty() && epoch <= entries_.back().epoch) return absl::OkStatus();
  // A newer epoch cannot start before an older one: whatever it overlaps was
  // truncated away (or is about to be).
  while (!entries_.empty() && entries_.back().start_offset >= start_offset) {
    LOG(WARNING) << dir_ << ": epoch " << epoch << " at " << start_offset << " replaces epoch "
                 << entries_.back().epoch << " at " << entries_.back().start_offset;
    entries_.pop_back();
  }
  entries_.push_back({epoch, start_offset});
  if (defer_save) {
    dirty_ = true;
    return absl::OkStatus();
  }
  return Save();
}

EpochEndOffset LeaderEpochCache::EndOffsetFor(Epoch requested, Offset log_end_offset) const {
  if (entries_.empty() || requested.value() < 0) return {};
  if (requested == entries_.back().epoch) return {requested, log_end_offset};
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested,
                                 [](Epoch e, const EpochEntry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return {};  // newer than anything we know
  if (higher == entries_.begin()) return {requested, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

absl::Status LeaderEpochCache::TruncateFromEnd(Offset end_offset) {
  const size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  return entries_.size() == before ? absl::OkStatus() : Save();
}

absl::Status LeaderEpochCache::TruncateFromStart(Offset start_offset) {
  // The last epoch starting at or below the new start keeps going from it.
  auto holder = std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                                 [](Offset o, const EpochEntry& x) { return o < x.start_offset; });
  if (holder == entries_.begin()) return absl::OkStatus();
  --holder;
  if (holder == entries_.begin() && holder->start_offset == start_offset) return absl::OkStatus();
  holder->start_offset = start_offset;
  entries_.erase(entries_.begin(), holder);
  return Save();
}

std::optional<Epoch> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

}  // namespace strata::storage
