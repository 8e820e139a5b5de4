// TimeIndex: a segment's sparse map from timestamp to offset (Kafka's
// .timeindex). One 12-byte entry — timestamp (int64) and offset relative to
// the segment's base (uint32) — is added alongside an offset-index entry when
// the segment's largest timestamp so far has grown since the last entry, so
// timestamps in the index only increase. Serves ListOffsets by time and
// time-based retention.
//
// Entries stay decoded in memory (16 bytes each) and the file is only
// written, so a TimeIndex holds no descriptor (index_file.h).
//
// Not thread-safe: the owning Segment serialises access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/storage/index_file.h"
#include "client/common/ids.h"

namespace strata::storage {

class TimeIndex {
 public:
  static constexpr size_t kEntrySize = 12;

  struct Entry {
    int64_t timestamp = 0;
    Offset offset;
  };

  // As OffsetIndex::Open.
  static absl::StatusOr<TimeIndex> Open(FileSystem* fs, const std::string& path, Offset base_offset,
                                        bool reset);

  // Adds an entry if `timestamp` is larger than the last entry's; otherwise
  // does nothing (the index only records new maxima).
  absl::Status MaybeAppend(int64_t timestamp, Offset offset);
  // The last entry with timestamp <= target: batches from its offset on may
  // hold the first record at or after `target`. nullopt when every entry is
  // later than `target` (then the answer is at the segment's start).
  std::optional<Entry> Lookup(int64_t target) const;
  // Drops entries with offset >= `offset`.
  absl::Status TruncateTo(Offset offset);
  absl::Status Sync() { return file_.Sync(); }

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  TimeIndex(IndexFile file, Offset base) : file_(std::move(file)), base_offset_(base) {}

  IndexFile file_;
  Offset base_offset_;
  std::vector<Entry> entries_;
};

}  // namespace strata::storage
