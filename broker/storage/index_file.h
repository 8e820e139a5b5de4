// IndexFile: the file under a segment's sparse indexes — a sequence of
// fixed-size, big-endian entries. It only stores bytes; OffsetIndex and
// TimeIndex give the entries their meaning and keep them decoded in memory.
//
// Indexes are derived data: a segment can always rebuild them from its .log,
// so they are synced on roll and clean close only, and a torn index is
// detected on load (size not a multiple of the entry size, or entries out of
// order) and rebuilt rather than trusted. For the same reason new entries are
// buffered and written a few KiB at a time (and on Sync), which keeps two
// small writes per batch off the append path.
//
// An IndexFile holds no descriptor. Its entries live decoded in memory, so
// the file is only ever written: it is opened to write the buffered entries
// (once per 4 KiB of entries — every 2 MiB of log at the default interval),
// to truncate or to sync, and closed again. That keeps an idle replica's
// indexes at zero descriptors (a node hosts ~10,000 replicas); the cost is
// an open() and close() per flush of the buffer, which is noise next to the
// megabytes of log written in between.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"

namespace strata::storage {

class IndexFile {
 public:
  // Opens (creating if absent) the index at `path` and stores its bytes in
  // `*contents` for the owner to decode; no descriptor stays open. With
  // `reset` the old contents are discarded. Fails with DataLoss when the
  // size is not a multiple of `entry_size`.
  static absl::StatusOr<IndexFile> Open(FileSystem* fs, const std::string& path, size_t entry_size,
                                        bool reset, std::string* contents);

  absl::Status Append(std::string_view entry);
  absl::Status TruncateToEntries(size_t n);
  // Writes buffered entries and makes the file durable. Does nothing (opens
  // nothing) when the file is unchanged since the last Sync.
  absl::Status Sync();
  const std::string& path() const { return path_; }

 private:
  IndexFile(FileSystem* fs, std::string path, size_t entry_size, uint64_t size, bool unsynced)
      : fs_(fs),
        path_(std::move(path)),
        entry_size_(entry_size),
        file_size_(size),
        unsynced_(unsynced) {}

  // Writes the buffered entries through `file`, or through a handle of its
  // own when `file` is null.
  absl::Status WritePending(File* file);

  FileSystem* fs_;
  std::string path_;
  size_t entry_size_;
  // Bytes in the file (written entries; pending ones excluded).
  uint64_t file_size_;
  // Whether the file changed since it was last synced.
  bool unsynced_;
  // Entries appended but not yet written to the file.
  std::string pending_;
};

// Big-endian fixed-width integers, as Kafka writes its index files.
inline void PutBigEndian32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xFF);
}
inline void PutBigEndian64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xFF);
}
inline uint32_t GetBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace strata::storage
