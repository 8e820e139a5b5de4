#include "broker/storage/caching_file_system.h"

#include "absl/strings/match.h"

namespace strata::storage {

absl::StatusOr<std::shared_ptr<const File>> CachingFileSystem::OpenForReading(
    const std::string& path) {
  uint64_t generation = 0;
  {
    absl::MutexLock l(&mu_);
    if (auto it = by_path_.find(path); it != by_path_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    generation = generation_;
  }
  if (capacity_ == 0) return base_->OpenForReading(path);
  // Opened unlocked: open() may block on the disk, and other logs' reads
  // should not wait behind it.
  absl::StatusOr<std::shared_ptr<const File>> file = base_->OpenForReading(path);
  if (!file.ok()) return file.status();
  std::shared_ptr<const File> evicted;  // dropped (closed) after unlocking
  absl::MutexLock l(&mu_);
  if (generation != generation_) return *file;  // a delete or rename ran meanwhile
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    // Another reader opened it meanwhile; share that one, close ours.
    evicted = std::move(*file);
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  lru_.emplace_front(path, *file);
  by_path_[path] = lru_.begin();
  if (lru_.size() > capacity_) {
    evicted = std::move(lru_.back().second);
    by_path_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return *file;
}

CachingFileSystem::Handles CachingFileSystem::EvictLocked(const std::string& raw) {
  std::string path = raw;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string dir_prefix = path + "/";
  ++generation_;
  Handles dropped;
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->first == path || absl::StartsWith(it->first, dir_prefix)) {
      dropped.push_back(std::move(it->second));
      by_path_.erase(it->first);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

absl::Status CachingFileSystem::DeleteFile(const std::string& path) {
  Handles dropped;
  {
    absl::MutexLock l(&mu_);
    dropped = EvictLocked(path);
  }
  absl::Status s = base_->DeleteFile(path);
  // Again after the fact: a reader may have cached it in between.
  absl::MutexLock l(&mu_);
  Handles again = EvictLocked(path);
  dropped.insert(dropped.end(), again.begin(), again.end());
  return s;
}

absl::Status CachingFileSystem::DeleteDirRecursively(const std::string& path) {
  Handles dropped;
  {
    absl::MutexLock l(&mu_);
    dropped = EvictLocked(path);
  }
  absl::Status s = base_->DeleteDirRecursively(path);
  absl::MutexLock l(&mu_);
  Handles again = EvictLocked(path);
  dropped.insert(dropped.end(), again.begin(), again.end());
  return s;
}

absl::Status CachingFileSystem::Rename(const std::string& from, const std::string& to) {
  Handles dropped;
  {
    absl::MutexLock l(&mu_);
    dropped = EvictLocked(from);
    Handles more = EvictLocked(to);
    dropped.insert(dropped.end(), more.begin(), more.end());
  }
  absl::Status s = base_->Rename(from, to);
  absl::MutexLock l(&mu_);
  Handles after = EvictLocked(from);
  Handles more = EvictLocked(to);
  dropped.insert(dropped.end(), after.begin(), after.end());
  dropped.insert(dropped.end(), more.begin(), more.end());
  return s;
}

size_t CachingFileSystem::cached() const {
  absl::MutexLock l(&mu_);
  return lru_.size();
}

}  // namespace strata::storage
