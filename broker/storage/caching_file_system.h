// CachingFileSystem: a FileSystem that forwards every call to another one and
// keeps an LRU of at most `capacity` open read handles for OpenForReading.
//
// Why an LRU: a node hosts ~10,000 replicas within ~20,000 descriptors, and a
// replica's rolled segments are read only now and then (a consumer catching
// up, a lagging follower, a lookup by time, recovery at start). One
// descriptor per segment would need tens of thousands; opening one per read
// costs an open() and a close() (a few µs) per read, which matters only when
// one old segment is read in many small fetches. A bounded LRU keeps those
// hot old segments open and bounds the total: the set of old segments read
// at the same time on a node is small (lagging readers), and past it a miss
// costs just that open(). LogManager owns one, shared by all its logs.
//
// A cached handle is evicted when its file — or a directory above it — is
// deleted or renamed through this file system, so no descriptor keeps a
// deleted segment's disk space. A reader may still hold a handle while it is
// evicted; it closes when the reader drops it, so at most `capacity` plus
// the reads in flight are open.
//
// Thread-safe. `base` must outlive it.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/storage/file_system.h"

namespace strata::storage {

class CachingFileSystem final : public FileSystem {
 public:
  CachingFileSystem(FileSystem* base, size_t capacity) : base_(base), capacity_(capacity) {}

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    return base_->Open(path, create);
  }
  absl::StatusOr<std::shared_ptr<const File>> OpenForReading(const std::string& path) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  absl::Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDirRecursively(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }

  size_t capacity() const { return capacity_; }
  // Handles held by the cache now.
  size_t cached() const;

 private:
  using Handles = std::vector<std::shared_ptr<const File>>;
  // Removes the entries of `path` and of every file below it (when it is a
  // directory), moving their handles to `dropped` for the caller to close
  // unlocked.
  void EvictLocked(const std::string& path, Handles* dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `op` (a delete or rename of `paths`) with their handles evicted
  // before and after it.
  absl::Status EvictAround(const std::vector<std::string>& paths,
                           const std::function<absl::Status()>& op);

  FileSystem* const base_;
  const size_t capacity_;

  mutable absl::Mutex mu_;
  // Most recently used first.
  std::list<std::pair<std::string, std::shared_ptr<const File>>> lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, decltype(lru_)::iterator> by_path_ ABSL_GUARDED_BY(mu_);
  // Counts deletes and renames: a handle opened while one ran may be to a
  // file that is gone (or replaced), so it serves its read but is not kept.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace strata::storage
