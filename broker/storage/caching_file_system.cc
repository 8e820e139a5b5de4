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

void CachingFileSystem::EvictLocked(const std::string& raw, Handles* dropped) {
  std::string path = raw;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string dir_prefix = path + "/";
  ++generation_;
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->first == path || absl::StartsWith(it->first, dir_prefix)) {
      dropped->push_back(std::move(it->second));
      by_path_.erase(it->first);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status CachingFileSystem::EvictAround(const std::vector<std::string>& paths,
                                            const std::function<absl::Status()>& op) {
  Handles dropped;  // closed after the lock is released
  {
    absl::MutexLock l(&mu_);
    for (const std::string& path : paths) EvictLocked(path, &dropped);
  }
  absl::Status s = op();
  // Again after the fact: a reader may have cached a handle in between.
  absl::MutexLock l(&mu_);
  for (const std::string& path : paths) EvictLocked(path, &dropped);
  return s;
}

absl::Status CachingFileSystem::DeleteFile(const std::string& path) {
  return EvictAround({path}, [&] { return base_->DeleteFile(path); });
}

absl::Status CachingFileSystem::DeleteDirRecursively(const std::string& path) {
  return EvictAround({path}, [&] { return base_->DeleteDirRecursively(path); });
}

absl::Status CachingFileSystem::Rename(const std::string& from, const std::string& to) {
  return EvictAround({from, to}, [&] { return base_->Rename(from, to); });
}

size_t CachingFileSystem::cached() const {
  absl::MutexLock l(&mu_);
  return lru_.size();
}

}  // namespace strata::storage
