// TxnIndex: a segment's aborted transactions (Kafka's .txnindex). One entry
// per transaction whose ABORT marker is in the segment: the producer id, the
// transaction's first offset, the marker's offset and the partition's last
// stable offset once the abort was applied. A read_committed fetch gets the
// aborted transactions overlapping what it reads from here
// (Log::CollectAbortedTxns) and its consumer drops their records.
//
// The file is Kafka's: 34-byte big-endian entries, version (int16, 0),
// producer id, first offset, last offset, last stable offset (int64 each).
// It is created on the first entry: a segment without aborts has none.
//
// Entries stay decoded in memory and the file is only written, through an
// IndexFile (buffered, synced with the segment), so a TxnIndex holds no
// descriptor. Unlike the offset and time indexes it is not derived from
// the segment alone (a transaction's first offset may lie in an earlier
// segment): the Log rebuilds the entries its producer-state replay covers
// and trusts the rest, which were synced before the producer snapshot the
// replay starts from.
//
// Not thread-safe: the owning Segment serialises access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"
#include "broker/storage/index_file.h"
#include "client/common/ids.h"

namespace strata::storage {

struct AbortedTxn {
  int64_t producer_id = -1;
  Offset first_offset;
  Offset last_offset;
  Offset last_stable_offset;
  bool operator==(const AbortedTxn&) const = default;
};

class TxnIndex {
 public:
  static constexpr size_t kEntrySize = 34;

  // Loads the index at `path`; a missing file is an empty index. A torn
  // last entry (a crash during its unsynced write) is cut off. DataLoss,
  // naming the file and the entry, for an entry that is not one (unknown
  // version, negative producer id, first offset after last).
  static absl::StatusOr<TxnIndex> Open(FileSystem* fs, std::string path);

  // Adds an entry (creating the file on the first); written with the next
  // Sync or once a few KiB are buffered.
  absl::Status Append(const AbortedTxn& txn);
  // Drops the entries whose marker is at or above `offset`.
  absl::Status TruncateTo(Offset offset);
  absl::Status Sync();
  // Deletes the file (absent is fine) and every entry.
  absl::Status Delete();

  // Appends to `out` the entries overlapping [from, upper_bound): last
  // offset >= from and first offset < upper_bound. Returns true once an
  // entry's last stable offset reaches `upper_bound`: every transaction
  // starting below it had ended by then, so no later entry (here or in a
  // later segment) overlaps the range (Kafka's isComplete).
  bool Collect(Offset from, Offset upper_bound, std::vector<AbortedTxn>* out) const;
  const std::vector<AbortedTxn>& entries() const { return entries_; }
  const std::string& path() const { return path_; }

 private:
  TxnIndex(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  absl::Status EnsureFile();

  FileSystem* fs_;
  std::string path_;
  // Open once the file exists.
  std::optional<IndexFile> file_;
  std::vector<AbortedTxn> entries_;
};

}  // namespace strata::storage
