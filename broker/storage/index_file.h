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
  // Opens (creating if absent) the index at `path`. With `reset` the old
  // contents are discarded. Fails with DataLoss when the size is not a
  // multiple of `entry_size`.
  static absl::StatusOr<IndexFile> Open(FileSystem* fs, const std::string& path, size_t entry_size,
                                        bool reset);

  // All entries' bytes, for the owner to decode once at load.
  absl::StatusOr<std::string> ReadAll() const { return file_->ReadAll(); }
  absl::Status Append(std::string_view entry);
  absl::Status TruncateToEntries(size_t n);
  // Writes buffered entries and makes the file durable.
  absl::Status Sync();
  const std::string& path() const { return file_->path(); }

 private:
  IndexFile(std::unique_ptr<File> file, size_t entry_size)
      : file_(std::move(file)), entry_size_(entry_size) {}

  absl::Status WritePending();

  std::unique_ptr<File> file_;
  size_t entry_size_;
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
