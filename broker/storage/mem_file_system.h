// MemFileSystem: an in-memory FileSystem for tests, with fault injection.
//
// It remembers, per file, how many bytes were synced. SimulateCrash() cuts
// every file back to its synced length, as a power loss would, and turns all
// handles opened before it into dead ones (any use fails), so code that
// survives the "crash" cannot write through a stale handle. Directory
// operations (create, rename, delete) are durable at once, as on a journaled
// file system that orders metadata before data, unless
// SetDirectoryOpsNeedSync(true): then a crash also undoes every file
// creation, rename and deletion in a directory since its last SyncDir, as
// POSIX allows.
//
// It also counts open handles, as a process's descriptors, so tests can
// check that the store stays within its descriptor budget.
//
// Thread-safe. Handles may outlive the MemFileSystem only if unused.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/storage/file_system.h"

namespace strata::storage {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem() = default;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  bool Exists(const std::string& path) override;
  absl::Status CreateDirs(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDirRecursively(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override;

  // --- Fault injection and inspection ---

  // Every file loses the bytes appended since its last Sync(); every open
  // handle stops working.
  void SimulateCrash();
  // While on, SimulateCrash also undoes the directory operations not yet
  // made durable by a SyncDir of their directory (a file's name is durable
  // where its directory was last synced; DeleteDirRecursively stays
  // durable at once). Turning it on makes everything there now durable.
  void SetDirectoryOpsNeedSync(bool on);
  // The next Append to a file whose path ends with `path_suffix` writes only
  // its first `bytes_written` bytes and then fails with an I/O error.
  void InjectShortWrite(const std::string& path_suffix, size_t bytes_written);
  // While set, every append to a file under `dir` (and every new file there)
  // fails as a full disk does (ENOSPC: a storage failure, kafka_error.h);
  // an empty `dir` clears it.
  void SetFull(const std::string& dir);
  // The OS writes dirty pages back on its own: every byte becomes durable
  // without the program having asked (its recovery point does not move).
  void WriteBackAll();
  // Flips the bits of one byte (XOR with `mask`).
  void CorruptByte(const std::string& path, uint64_t offset, uint8_t mask = 0xFF);
  // Cuts a file without regard to sync state, e.g. to fake a torn write.
  void TruncateFile(const std::string& path, uint64_t size);
  // Contents of a file, or nullopt when it does not exist.
  std::optional<std::string> Contents(const std::string& path);
  // Total Sync() calls so far, to check a flush policy.
  int64_t sync_count();
  // Handles open now (each would be a descriptor), and the most open at
  // once since construction or the last ResetPeakOpenFiles().
  int64_t open_files() const { return open_->now.load(); }
  int64_t peak_open_files() const { return open_->peak.load(); }
  void ResetPeakOpenFiles() { open_->peak.store(open_->now.load()); }

 private:
  class MemFile;
  struct Node {
    std::string data;
    uint64_t synced = 0;
  };
  struct ShortWrite {
    std::string suffix;
    size_t bytes;
  };

  // Shared with the handles, so that one destroyed after the file system
  // still has a counter to decrement.
  struct OpenCount {
    std::atomic<int64_t> now{0};
    std::atomic<int64_t> peak{0};
  };

  const std::shared_ptr<OpenCount> open_ = std::make_shared<OpenCount>();
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
  // Bumped by SimulateCrash; handles remember the generation they were opened in.
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<ShortWrite> short_write_ ABSL_GUARDED_BY(mu_);
  std::string full_dir_ ABSL_GUARDED_BY(mu_);
  // Whether `path` lies under full_dir_.
  bool FullAt(const std::string& path) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t sync_count_ ABSL_GUARDED_BY(mu_) = 0;
  // With SetDirectoryOpsNeedSync: the files a crash leaves, by path.
  std::optional<std::map<std::string, std::shared_ptr<Node>>> durable_files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::storage
