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

// partition.metadata, as Kafka writes it: "version: 0\ntopic_id: <id>\n".
std::string ReadTopicId(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<File>> f = fs->Open(JoinPath(dir, kPartitionMetadataFile), false);
  if (!f.ok()) return "";
  absl::StatusOr<std::string> text = (*f)->ReadAll();
  if (!text.ok()) return "";
  const std::string key = "topic_id: ";
  size_t at = text->find(key);
  if (at == std::string::npos) return "";
  size_t end = text->find('\n', at);
  return text->substr(at + key.size(),
                      end == std::string::npos ? std::string::npos : end - at - key.size());
}

absl::Status WriteTopicId(FileSystem* fs, const std::string& dir, const std::string& topic_id) {
  return fs->WriteFileAtomically(JoinPath(dir, kPartitionMetadataFile),
                                 absl::StrCat("version: 0\ntopic_id: ", topic_id, "\n"));
}

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
      logs_[*tp] = Entry{std::move(*log), d, ReadTopicId(fs_, path)};
      ++loaded;
    }
    if (clean) {
      if (absl::Status s = fs_->DeleteFile(marker); !s.ok()) return s;
      if (absl::Status s = fs_->SyncDir(dir); !s.ok()) return s;
    }
    LOG(INFO) << "Loaded " << loaded << " logs from " << dir
              << (loaded == 0 ? ""
                  : clean     ? " after a clean shutdown"
                              : " after an unclean shutdown");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Log>> LogManager::GetOrCreate(const TopicPartition& tp,
                                                             const std::string& topic_id) {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::FailedPreconditionError("log manager is closed");
  if (auto it = logs_.find(tp); it != logs_.end()) {
    Entry& e = it->second;
    if (!topic_id.empty() && !e.topic_id.empty() && e.topic_id != topic_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the log of ", tp.ToString(), " belongs to topic id ", e.topic_id, ", not ", topic_id));
    }
    if (!topic_id.empty() && e.topic_id.empty()) {
      if (absl::Status s = WriteTopicId(fs_, e.log->dir(), topic_id); !s.ok()) return s;
      e.topic_id = topic_id;
    }
    return e.log;
  }
  if (tp.topic.empty() || tp.partition.value() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid partition '", tp.ToString(), "'"));
  }
  std::vector<size_t> counts(options_.log_dirs.size(), 0);
  for (const auto& [_, e] : logs_) ++counts[e.dir_index];
  const size_t d =
      static_cast<size_t>(std::min_element(counts.begin(), counts.end()) - counts.begin());
  const std::string dir = JoinPath(options_.log_dirs[d], tp.ToString());
  absl::StatusOr<std::unique_ptr<Log>> log =
      Log::Open(fs_, clock_, dir, ConfigFor(tp.topic), /*had_clean_shutdown=*/false);
  if (!log.ok()) return log.status();
  if (!topic_id.empty()) {
    if (absl::Status s = WriteTopicId(fs_, dir, topic_id); !s.ok()) return s;
  }
  std::shared_ptr<Log> shared = std::move(*log);
  logs_[tp] = Entry{shared, d, topic_id};
  return shared;
}

std::shared_ptr<Log> LogManager::Get(const TopicPartition& tp) const {
  absl::MutexLock l(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.log;
}

std::string LogManager::TopicIdOf(const TopicPartition& tp) const {
  absl::MutexLock l(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? "" : it->second.topic_id;
}

absl::Status LogManager::Delete(const TopicPartition& tp, const std::string& topic_id) {
  std::shared_ptr<Log> log;
  {
    absl::MutexLock l(&mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end())
      return absl::NotFoundError(absl::StrCat("no log for partition ", tp.ToString()));
    if (!topic_id.empty() && !it->second.topic_id.empty() && it->second.topic_id != topic_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("the log of ", tp.ToString(), " belongs to topic id ", it->second.topic_id,
                       ", not ", topic_id, "; not deleted"));
    }
    log = std::move(it->second.log);
    logs_.erase(it);
  }
  // Outside the manager's lock: deleting a large log takes a while.
  return log->Delete();
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
