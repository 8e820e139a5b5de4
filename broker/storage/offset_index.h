// OffsetIndex: a segment's sparse map from offset to byte position in its
// .log file (Kafka's .index). One 8-byte entry — offset relative to the
// segment's base (uint32) and position (uint32) — is added every
// `index.interval.bytes` of log, pointing at the start of a batch. A lookup
// gives the last indexed batch at or before an offset; the caller scans
// forward from there, reading at most one interval of log.
//
// Entries stay decoded in memory (16 bytes each) and the file is only
// written, so an OffsetIndex holds no descriptor (index_file.h).
//
// Not thread-safe: the owning Segment serialises access.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/storage/index_file.h"
#include "client/common/ids.h"

namespace strata::storage {

class OffsetIndex {
 public:
  static constexpr size_t kEntrySize = 8;

  struct Entry {
    Offset offset;
    uint32_t position = 0;
  };

  // Opens the index of the segment starting at `base_offset`. With `reset`
  // the file starts empty. A file that is torn or out of order gives
  // DataLoss: the caller rebuilds it from the log.
  static absl::StatusOr<OffsetIndex> Open(FileSystem* fs, const std::string& path,
                                          Offset base_offset, bool reset);

  // Adds an entry; `offset` and `position` must exceed the last entry's.
  absl::Status Append(Offset offset, uint32_t position);
  // The last entry with offset <= target, or {base_offset, 0} when there is none.
  Entry Lookup(Offset target) const;
  // Drops entries with offset >= `offset`.
  absl::Status TruncateTo(Offset offset);
  // Drops entries whose position is >= `position` (after the log was cut).
  absl::Status TruncateToPosition(uint32_t position);
  // Fails with DataLoss when an entry points at or past `log_size`.
  absl::Status CheckPositionsBelow(uint64_t log_size) const;
  absl::Status Sync() { return file_.Sync(); }

  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& path() const { return file_.path(); }

 private:
  OffsetIndex(IndexFile file, Offset base) : file_(std::move(file)), base_offset_(base) {}
  absl::Status TruncateToCount(size_t n);

  IndexFile file_;
  Offset base_offset_;
  std::vector<Entry> entries_;
};

}  // namespace strata::storage
