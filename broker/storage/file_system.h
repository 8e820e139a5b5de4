// FileSystem: the one seam through which the segment store touches the disk.
// PosixFileSystem is the real one; MemFileSystem (mem_file_system.h) is an
// in-memory one that tests use to lose unsynced bytes in a simulated crash or
// to fail a write half way.
//
// A File is an append-only byte sequence with positional reads, as a segment
// or an index needs: appends go to the end, reads may go anywhere. Bytes are
// durable only after Sync() returns OK. A File is not thread-safe; callers
// serialise access (a Log holds its own lock) — except ReadAt, which may run
// concurrently with other reads (handles from OpenForReading are shared).
//
// Descriptors are the scarce resource here: a node hosts ~10,000 replicas
// within ~20,000 open files, so every File holds one descriptor (MemFileSystem
// counts them) and callers keep a File only while they use it. Sync() makes
// durable every byte of the file, whichever handle wrote it (fsync is per
// inode on Linux), so a file may be written through one handle, closed, and
// synced through another.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::storage {

class File {
 public:
  virtual ~File() = default;

  // Appends `data` at the end of the file. On error some prefix of `data` may
  // have been written; Size() tells how much.
  virtual absl::Status Append(std::string_view data) = 0;
  // Reads up to `n` bytes at `offset` into `dst`; returns how many were read
  // (fewer only at the end of the file).
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* dst) const = 0;
  // Cuts the file to `size` bytes (never grows it).
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Makes every byte appended so far durable.
  virtual absl::Status Sync() = 0;
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;

  // Reads exactly [offset, offset + n), failing with DataLoss when the file
  // ends before that.
  absl::StatusOr<std::string> ReadExactly(uint64_t offset, size_t n) const;
  // Reads the whole file.
  absl::StatusOr<std::string> ReadAll() const;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens `path` for append and positional reads, creating it if
  // `create` is true (and failing with NotFound otherwise when it is absent).
  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  // A handle for positional reads of the existing file `path`; NotFound when
  // absent. The handle may be shared with other readers and cached
  // (CachingFileSystem), so callers never write through it, drop it as soon
  // as they are done (holding it pins a descriptor), and do not trust its
  // Size(): a cached handle may predate appends made through another handle.
  // This implementation opens a new handle per call (open, read, close).
  virtual absl::StatusOr<std::shared_ptr<const File>> OpenForReading(const std::string& path);
  // The size of the file `path`, without opening it; NotFound when absent.
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Creates the directory and any missing parents.
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  // Deletes a directory and everything below it.
  virtual absl::Status DeleteDirRecursively(const std::string& path) = 0;
  // Atomically replaces `to` with `from`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes a directory's entries (creations, renames, deletions) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;

  // Writes `contents` to `path` so that a crash leaves either the old file or
  // the whole new one: write a temporary, sync it, rename, sync the directory.
  absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

  // The process-wide POSIX file system.
  static FileSystem* Default();
};

std::string JoinPath(std::string_view dir, std::string_view name);
// Directory part of a path ("a/b/c" -> "a/b"; "c" -> ".").
std::string DirName(std::string_view path);

}  // namespace strata::storage
