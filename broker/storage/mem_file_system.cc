#include "broker/storage/mem_file_system.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/storage/kafka_error.h"

namespace strata::storage {
namespace {

std::string Normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && absl::StartsWith(path, dir) && path[dir.size()] == '/';
}

}  // namespace

class MemFileSystem::MemFile final : public File {
 public:
  MemFile(MemFileSystem* fs, std::string path, std::shared_ptr<Node> node, int64_t generation)
      : fs_(fs),
        open_(fs->open_),
        path_(std::move(path)),
        node_(std::move(node)),
        generation_(generation) {
    const int64_t now = ++open_->now;
    int64_t peak = open_->peak.load();
    while (now > peak && !open_->peak.compare_exchange_weak(peak, now)) {
    }
  }
  ~MemFile() override { --open_->now; }

  absl::Status Append(std::string_view data) override {
    absl::MutexLock l(&fs_->mu_);
    if (absl::Status s = CheckAlive(); !s.ok()) return s;
    if (fs_->short_write_ && absl::EndsWith(path_, fs_->short_write_->suffix)) {
      size_t n = std::min(fs_->short_write_->bytes, data.size());
      fs_->short_write_.reset();
      node_->data.append(data.substr(0, n));
      return WithKafkaError(absl::InternalError(absl::StrCat("injected short write to ", path_,
                                                             " after ", n, " of ", data.size(),
                                                             " bytes")),
                            kKafkaStorageError);
    }
    if (fs_->FullAt(path_)) {
      return WithKafkaError(
          absl::ResourceExhaustedError(absl::StrCat("write ", path_, ": No space left on device")),
          kKafkaStorageError);
    }
    node_->data.append(data);
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* dst) const override {
    absl::MutexLock l(&fs_->mu_);
    if (absl::Status s = CheckAlive(); !s.ok()) return s;
    if (offset >= node_->data.size()) return size_t{0};
    size_t got = std::min<size_t>(n, node_->data.size() - offset);
    node_->data.copy(dst, got, offset);
    return got;
  }

  absl::Status Truncate(uint64_t size) override {
    absl::MutexLock l(&fs_->mu_);
    if (absl::Status s = CheckAlive(); !s.ok()) return s;
    if (size > node_->data.size()) {
      return absl::InvalidArgumentError(absl::StrCat("truncate ", path_, " would grow it"));
    }
    node_->data.resize(size);
    // A truncation is a metadata change; the file system makes it durable
    // with the next sync, but it can never make the durable length longer
    // than the file.
    node_->synced = std::min<uint64_t>(node_->synced, size);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    absl::MutexLock l(&fs_->mu_);
    if (absl::Status s = CheckAlive(); !s.ok()) return s;
    node_->synced = node_->data.size();
    ++fs_->sync_count_;
    return absl::OkStatus();
  }

  uint64_t Size() const override {
    absl::MutexLock l(&fs_->mu_);
    return node_->data.size();
  }

  const std::string& path() const override { return path_; }

 private:
  absl::Status CheckAlive() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->mu_) {
    if (generation_ != fs_->generation_) {
      return absl::FailedPreconditionError(
          absl::StrCat("handle of ", path_, " was opened before a simulated crash"));
    }
    return absl::OkStatus();
  }

  MemFileSystem* fs_;
  std::shared_ptr<OpenCount> open_;
  std::string path_;
  std::shared_ptr<Node> node_;
  int64_t generation_;
};

absl::StatusOr<std::unique_ptr<File>> MemFileSystem::Open(const std::string& raw, bool create) {
  std::string path = Normalize(raw);
  absl::MutexLock l(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!create) return absl::NotFoundError(absl::StrCat("open ", path, ": no such file"));
    if (!dirs_.contains(DirName(path))) {
      return absl::NotFoundError(absl::StrCat("open ", path, ": no such directory"));
    }
    if (FullAt(path)) {
      return WithKafkaError(
          absl::ResourceExhaustedError(absl::StrCat("open ", path, ": No space left on device")),
          kKafkaStorageError);
    }
    it = files_.emplace(path, std::make_shared<Node>()).first;
  }
  return std::make_unique<MemFile>(this, path, it->second, generation_);
}

void MemFileSystem::SetFull(const std::string& dir) {
  absl::MutexLock l(&mu_);
  full_dir_ = dir.empty() ? "" : Normalize(dir);
}

bool MemFileSystem::FullAt(const std::string& path) const {
  return !full_dir_.empty() && (path == full_dir_ || absl::StartsWith(path, full_dir_ + "/"));
}

absl::StatusOr<uint64_t> MemFileSystem::FileSize(const std::string& raw) {
  std::string path = Normalize(raw);
  absl::MutexLock l(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("stat ", path, ": no such file"));
  return static_cast<uint64_t>(it->second->data.size());
}

bool MemFileSystem::Exists(const std::string& raw) {
  std::string path = Normalize(raw);
  absl::MutexLock l(&mu_);
  return files_.contains(path) || dirs_.contains(path);
}

absl::Status MemFileSystem::CreateDirs(const std::string& raw) {
  std::string path = Normalize(raw);
  absl::MutexLock l(&mu_);
  while (!path.empty() && path != "." && path != "/") {
    dirs_.insert(path);
    path = DirName(path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemFileSystem::ListDir(const std::string& raw) {
  std::string dir = Normalize(raw);
  absl::MutexLock l(&mu_);
  if (!dirs_.contains(dir))
    return absl::NotFoundError(absl::StrCat("list ", dir, ": no such directory"));
  std::set<std::string> names;
  auto child = [&](const std::string& p) {
    if (DirName(p) == dir) names.insert(p.substr(dir.size() + 1));
  };
  // Paths are sorted, so the entries below `dir` are one run of each map.
  const std::string prefix = dir == "/" ? dir : dir + "/";
  for (auto it = files_.lower_bound(prefix);
       it != files_.end() && absl::StartsWith(it->first, prefix); ++it) {
    child(it->first);
  }
  for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && absl::StartsWith(*it, prefix);
       ++it) {
    child(*it);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

absl::Status MemFileSystem::DeleteFile(const std::string& raw) {
  std::string path = Normalize(raw);
  absl::MutexLock l(&mu_);
  if (files_.erase(path) == 0)
    return absl::NotFoundError(absl::StrCat("delete ", path, ": no such file"));
  return absl::OkStatus();
}

absl::Status MemFileSystem::DeleteDirRecursively(const std::string& raw) {
  std::string dir = Normalize(raw);
  absl::MutexLock l(&mu_);
  std::erase_if(files_, [&](const auto& kv) { return IsUnder(kv.first, dir); });
  if (durable_files_) {
    std::erase_if(*durable_files_, [&](const auto& kv) { return IsUnder(kv.first, dir); });
  }
  std::erase_if(dirs_, [&](const std::string& d) { return d == dir || IsUnder(d, dir); });
  return absl::OkStatus();
}

absl::Status MemFileSystem::Rename(const std::string& raw_from, const std::string& raw_to) {
  std::string from = Normalize(raw_from), to = Normalize(raw_to);
  absl::MutexLock l(&mu_);
  if (auto it = files_.find(from); it != files_.end()) {
    files_[to] = it->second;
    files_.erase(from);
    return absl::OkStatus();
  }
  if (dirs_.contains(from)) {
    // Move the directory and everything below it.
    std::map<std::string, std::shared_ptr<Node>> moved;
    for (auto it = files_.begin(); it != files_.end();) {
      if (IsUnder(it->first, from)) {
        moved[to + it->first.substr(from.size())] = it->second;
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
    files_.merge(moved);
    std::set<std::string> dirs;
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      if (*it == from || IsUnder(*it, from)) {
        dirs.insert(to + it->substr(from.size()));
        it = dirs_.erase(it);
      } else {
        ++it;
      }
    }
    dirs_.merge(dirs);
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("rename ", from, ": no such file or directory"));
}

void MemFileSystem::SimulateCrash() {
  absl::MutexLock l(&mu_);
  if (durable_files_) files_ = *durable_files_;
  for (auto& [_, node] : files_) node->data.resize(node->synced);
  ++generation_;
}

void MemFileSystem::SetDirectoryOpsNeedSync(bool on) {
  absl::MutexLock l(&mu_);
  if (on) {
    durable_files_ = files_;
  } else {
    durable_files_.reset();
  }
}

absl::Status MemFileSystem::SyncDir(const std::string& raw) {
  const std::string dir = Normalize(raw);
  absl::MutexLock l(&mu_);
  if (!durable_files_) return absl::OkStatus();
  std::erase_if(*durable_files_, [&](const auto& kv) { return DirName(kv.first) == dir; });
  for (const auto& [path, node] : files_) {
    if (DirName(path) == dir) (*durable_files_)[path] = node;
  }
  return absl::OkStatus();
}

void MemFileSystem::WriteBackAll() {
  absl::MutexLock l(&mu_);
  for (auto& [_, node] : files_) node->synced = node->data.size();
}

void MemFileSystem::InjectShortWrite(const std::string& path_suffix, size_t bytes_written) {
  absl::MutexLock l(&mu_);
  short_write_ = ShortWrite{path_suffix, bytes_written};
}

void MemFileSystem::CorruptByte(const std::string& path, uint64_t offset, uint8_t mask) {
  absl::MutexLock l(&mu_);
  std::string& data = files_.at(Normalize(path))->data;
  data.at(offset) = static_cast<char>(static_cast<uint8_t>(data.at(offset)) ^ mask);
}

void MemFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  absl::MutexLock l(&mu_);
  Node& node = *files_.at(Normalize(path));
  node.data.resize(std::min<uint64_t>(size, node.data.size()));
  node.synced = std::min<uint64_t>(node.synced, node.data.size());
}

std::optional<std::string> MemFileSystem::Contents(const std::string& path) {
  absl::MutexLock l(&mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return std::nullopt;
  return it->second->data;
}

int64_t MemFileSystem::sync_count() {
  absl::MutexLock l(&mu_);
  return sync_count_;
}

}  // namespace strata::storage
