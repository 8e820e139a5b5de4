#include "broker/storage/log_manager.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/numbers.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

// A directory being deleted carries this suffix, so a crash half way through
// the deletion never brings the partition back.
constexpr std::string_view kDeletingSuffix = ".deleting";

}  // namespace

std::optional<TopicPartition> ParsePartitionDirName(std::string_view name) {
  size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::string_view digits = name.substr(dash + 1);
  if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) return std::nullopt;
  std::optional<int32_t> partition = ParseInteger<int32_t>(digits);
  if (!partition) return std::nullopt;
  return TopicPartition{std::string(name.substr(0, dash)), PartitionId(*partition)};
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(FileSystem* fs, Clock* clock,
                                                             Options options) {
  if (options.log_dirs.empty()) return absl::InvalidArgumentError("log.dirs is empty");
  std::unique_ptr<LogManager> manager(new LogManager(fs, clock, std::move(options)));
  absl::MutexLock l(&manager->mu_);
  if (absl::Status s = manager->Load(); !s.ok()) return s;
  return manager;
}

LogConfig LogManager::ConfigFor(const std::string& topic) const {
  return options_.config_for_topic ? options_.config_for_topic(topic) : options_.default_config;
}

absl::Status LogManager::Load() {
  for (size_t d = 0; d < options_.log_dirs.size(); ++d) {
    const std::string& dir = options_.log_dirs[d];
    if (absl::Status s = fs_->CreateDirs(dir); !s.ok()) return s;
    const std::string marker = JoinPath(dir, kCleanShutdownFile);
    const bool clean = fs_->Exists(marker);
    absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir);
    if (!names.ok()) return names.status();
    int loaded = 0;
    for (const std::string& name : *names) {
      const std::string path = JoinPath(dir, name);
      if (name.ends_with(kDeletingSuffix)) {
        if (absl::Status s = fs_->DeleteDirRecursively(path); !s.ok()) return s;
        continue;
      }
      std::optional<TopicPartition> tp = ParsePartitionDirName(name);
      if (!tp) continue;
      if (logs_.contains(*tp)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "partition ", name, " is in two log dirs: ", options_.log_dirs[logs_[*tp].dir_index],
            " and ", dir));
      }
      absl::StatusOr<std::unique_ptr<Log>> log =
          Log::Open(fs_, clock_, path, ConfigFor(tp->topic), clean);
      if (!log.ok()) {
        return absl::Status(log.status().code(),
                            absl::StrCat("loading partition ", name, ": ", log.status().message()));
      }
      logs_[*tp] = Entry{std::move(*log), d};
      ++loaded;
    }
    if (clean) {
      if (absl::Status s = fs_->DeleteFile(marker); !s.ok()) return s;
      if (absl::Status s = fs_->SyncDir(dir); !s.ok()) return s;
    }
    LOG(INFO) << "Loaded " << loaded << " logs from " << dir
              << (loaded == 0 ? "" : clean ? " after a clean shutdown" : " after an unclean shutdown");
  }
  return absl::OkStatus();
}

absl::StatusOr<Log*> LogManager::GetOrCreate(const TopicPartition& tp) {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::FailedPreconditionError("log manager is closed");
  if (auto it = logs_.find(tp); it != logs_.end()) return it->second.log.get();
  if (tp.topic.empty() || tp.partition.value() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid partition '", tp.ToString(), "'"));
  }
  std::vector<size_t> counts(options_.log_dirs.size(), 0);
  for (const auto& [_, e] : logs_) ++counts[e.dir_index];
  const size_t d =
      static_cast<size_t>(std::min_element(counts.begin(), counts.end()) - counts.begin());
  absl::StatusOr<std::unique_ptr<Log>> log =
      Log::Open(fs_, clock_, JoinPath(options_.log_dirs[d], tp.ToString()), ConfigFor(tp.topic),
                /*had_clean_shutdown=*/false);
  if (!log.ok()) return log.status();
  Log* raw = log->get();
  logs_[tp] = Entry{std::move(*log), d};
  return raw;
}

Log* LogManager::Get(const TopicPartition& tp) const {
  absl::MutexLock l(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.log.get();
}

absl::Status LogManager::Delete(const TopicPartition& tp) {
  absl::MutexLock l(&mu_);
  auto it = logs_.find(tp);
  if (it == logs_.end())
    return absl::NotFoundError(absl::StrCat("no log for partition ", tp.ToString()));
  const std::string dir = it->second.log->dir();
  const std::string doomed = dir + std::string(kDeletingSuffix);
  logs_.erase(it);
  if (absl::Status s = fs_->Rename(dir, doomed); !s.ok()) return s;
  if (absl::Status s = fs_->SyncDir(DirName(dir)); !s.ok()) return s;
  return fs_->DeleteDirRecursively(doomed);
}

std::vector<TopicPartition> LogManager::Partitions() const {
  absl::MutexLock l(&mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, _] : logs_) out.push_back(tp);
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status LogManager::MaybeFlushOnTime() {
  absl::MutexLock l(&mu_);
  absl::Status first_error;
  for (auto& [tp, e] : logs_) {
    if (absl::Status s = e.log->MaybeFlushOnTime(); !s.ok()) {
      LOG(ERROR) << "Periodic flush of " << tp.ToString() << " failed: " << s;
      first_error.Update(s);
    }
  }
  return first_error;
}

absl::Status LogManager::Close() {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  std::vector<bool> dir_clean(options_.log_dirs.size(), true);
  absl::Status first_error;
  for (auto& [tp, e] : logs_) {
    if (absl::Status s = e.log->Close(); !s.ok()) {
      LOG(ERROR) << "Closing " << tp.ToString() << " failed: " << s;
      dir_clean[e.dir_index] = false;
      first_error.Update(s);
    }
  }
  for (size_t d = 0; d < options_.log_dirs.size(); ++d) {
    if (!dir_clean[d]) continue;
    absl::Status s =
        fs_->WriteFileAtomically(JoinPath(options_.log_dirs[d], kCleanShutdownFile), "");
    first_error.Update(s);
  }
  return first_error;
}

}  // namespace strata::storage
