#include "broker/storage/log_manager.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/storage/kafka_error.h"
#include "client/common/numbers.h"
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

// The sequence in kHighWatermarkCheckpointFile; not a partition dir name,
// which ends in "-<partition>".
constexpr char kHighWatermarkSequenceKey[] = "sequence";

// `dir`'s kHighWatermarkCheckpointFile; empty when there is none. A disk
// failure reading it is returned (its directory goes offline); one that
// cannot be parsed is deleted, so that it never comes back later with a
// sequence above the one the directory resumes at (LogDirCheckpoint): the
// partitions start from the older, lower high watermarks in their own
// checkpoints, which is safe. An error only when it cannot be deleted.
absl::StatusOr<CheckpointEntries> ReadHighWatermarks(FileSystem* fs, const std::string& dir) {
  const std::string path = JoinPath(dir, kHighWatermarkCheckpointFile);
  absl::StatusOr<CheckpointEntries> entries = ReadCheckpoint(fs, path);
  if (entries.ok()) return *std::move(entries);
  if (absl::IsNotFound(entries.status())) return CheckpointEntries{};
  if (IsStorageFailure(entries.status())) return entries.status();
  LOG(WARNING) << "Deleting " << path << ", which cannot be read: " << entries.status()
               << ". Its partitions start from the high watermarks in their own checkpoints.";
  absl::Status s = fs->DeleteFile(path);
  if (s.ok() || absl::IsNotFound(s)) s = fs->SyncDir(dir);
  if (!s.ok()) return s;
  return CheckpointEntries{};
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
  // The cleaner first (its threads start with StartScheduler): each log
  // loaded reports its truncations to it.
  if (manager->options_.cleaner_enable) {
    LogManager* m = manager.get();
    manager->cleaner_ = std::make_unique<LogCleaner>(
        m->fs_, m->clock_, m->options_.cleaner, [m] { return m->CleanableLogs(); },
        [m](const Log::DeletedSegments& deleted) { m->ScheduleDeletion(deleted); },
        [m](const LogCleaner::CleanableLog& log, const absl::Status& status) {
          m->ReportFailure(*log.log, status);
        });
  }
  absl::MutexLock l(&manager->mu_);
  if (absl::Status s = manager->Load(); !s.ok()) return s;
  return manager;
}

LogManager::~LogManager() {
  scheduler_.Stop();
  if (cleaner_) cleaner_->Stop();
}

void LogManager::WatchTruncations(const TopicPartition& tp, size_t dir_index, Log& log) {
  if (!cleaner_) return;
  LogCleaner* cleaner = cleaner_.get();
  log.SetTruncationListener([cleaner, tp, dir = options_.log_dirs[dir_index]](Offset log_end) {
    return cleaner->MaybeTruncateCheckpoint(tp, dir, log_end);
  });
}

std::vector<LogCleaner::CleanableLog> LogManager::CleanableLogs() const {
  absl::MutexLock l(&mu_);
  std::vector<LogCleaner::CleanableLog> out;
  if (closed_) return out;
  for (const auto& [tp, e] : logs_) {
    if (offline_dirs_.contains(e.dir_index)) continue;
    out.push_back(LogCleaner::CleanableLog{tp, e.log, options_.log_dirs[e.dir_index]});
  }
  return out;
}

void LogManager::ScheduleDeletion(const Log::DeletedSegments& deleted) {
  const int64_t due = clock_->NowMs() + deleted.delete_after_ms;
  absl::MutexLock l(&deletions_mu_);
  for (const std::string& file : deleted.files) due_deletions_.emplace(due, file);
}

LogConfig LogManager::ConfigFor(const std::string& topic) const {
  return options_.config_for_topic ? options_.config_for_topic(topic) : options_.default_config;
}

absl::Status LogManager::Load() {
  for (size_t d = 0; d < options_.log_dirs.size(); ++d) {
    const std::string& dir = options_.log_dirs[d];
    std::vector<TopicPartition> found;
    // A disk failure takes only this directory offline; the node starts.
    auto fail_dir = [&](const absl::Status& s) -> absl::Status {
      if (!IsStorageFailure(s)) return s;
      LOG(ERROR) << "Log dir " << dir << " is offline: " << s
                 << ". Its partitions are served by other replicas until a restart finds it "
                    "healthy.";
      for (const TopicPartition& tp : found) {
        if (logs_.contains(tp) && logs_[tp].dir_index == d) logs_.erase(tp);
      }
      unloaded_[d] = found;
      offline_dirs_[d] = std::string(s.message());
      return absl::OkStatus();
    };
    if (absl::Status s = fs_->CreateDirs(dir); !s.ok()) {
      if (absl::Status f = fail_dir(s); !f.ok()) return f;
      continue;
    }
    const std::string marker = JoinPath(dir, kCleanShutdownFile);
    const bool clean = fs_->Exists(marker);
    absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir);
    if (!names.ok()) {
      if (absl::Status f = fail_dir(names.status()); !f.ok()) return f;
      continue;
    }
    for (const std::string& name : *names) {
      if (std::optional<TopicPartition> tp = ParsePartitionDirName(name)) found.push_back(*tp);
    }
    absl::StatusOr<CheckpointEntries> read_high_watermarks = ReadHighWatermarks(fs_, dir);
    if (!read_high_watermarks.ok()) {
      if (absl::Status f = fail_dir(read_high_watermarks.status()); !f.ok()) return f;
      continue;
    }
    const CheckpointEntries& high_watermarks = *read_high_watermarks;
    int64_t file_sequence = 0;
    if (auto it = high_watermarks.find(kHighWatermarkSequenceKey); it != high_watermarks.end()) {
      file_sequence = it->second;
    }
    dir_sequences_[d].store(file_sequence, std::memory_order_release);
    int loaded = 0;
    absl::Status dir_status;
    struct ToOpen {
      TopicPartition tp;
      std::string name;
      std::string path;
      absl::StatusOr<std::unique_ptr<Log>> log = absl::UnknownError("not opened");
    };
    std::vector<ToOpen> to_open;
    for (const std::string& name : *names) {
      const std::string path = JoinPath(dir, name);
      if (name.ends_with(kDeletingSuffix)) {
        dir_status = fs_->DeleteDirRecursively(path);
        if (!dir_status.ok()) break;
        continue;
      }
      std::optional<TopicPartition> tp = ParsePartitionDirName(name);
      if (!tp) continue;
      if (logs_.contains(*tp)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "partition ", name, " is in two log dirs: ", options_.log_dirs[logs_[*tp].dir_index],
            " and ", dir));
      }
      to_open.push_back(ToOpen{*tp, name, path});
    }
    // Thousands of logs open (and, after a crash, recover) side by side.
    if (dir_status.ok()) {
      std::vector<std::thread> threads;
      for (size_t t = 0; t < std::min(kLoadThreads, to_open.size()); ++t) {
        threads.emplace_back([&, t] {
          for (size_t i = t; i < to_open.size(); i += kLoadThreads) {
            LogDirCheckpoint dir_checkpoint{&dir_sequences_[d], std::nullopt, file_sequence};
            if (auto it = high_watermarks.find(to_open[i].name); it != high_watermarks.end()) {
              dir_checkpoint.high_watermark = it->second;
            }
            to_open[i].log = Log::Open(fs_, clock_, to_open[i].path,
                                       ConfigFor(to_open[i].tp.topic), clean, dir_checkpoint);
          }
        });
      }
      for (std::thread& t : threads) t.join();
    }
    for (ToOpen& o : to_open) {
      if (!dir_status.ok()) break;
      const std::optional<TopicPartition> tp = o.tp;
      const std::string& name = o.name;
      const std::string& path = o.path;
      absl::StatusOr<std::unique_ptr<Log>>& log = o.log;
      if (!log.ok() && IsStorageFailure(log.status())) {
        dir_status = log.status();
        break;
      }
      if (!log.ok()) {
        // Damage below the recovery point (or worse): only this log is
        // unavailable; the others load and serve.
        absl::Status damaged(log.status().code(), absl::StrCat("loading partition ", name, ": ",
                                                               log.status().message()));
        LOG(ERROR) << damaged << ". The replica stays offline until it is rebuilt from another "
                   << "in-sync replica.";
        damaged_[*tp] = Damaged{d, std::move(damaged)};
        continue;
      }
      if (cleaner_) {
        // The cleaner's checkpoint may be older than a truncation a crash
        // followed: nothing in it may claim offsets past the log's end.
        dir_status = cleaner_->MaybeTruncateCheckpoint(*tp, dir, (*log)->log_end_offset());
        if (!dir_status.ok()) break;
      }
      WatchTruncations(*tp, d, **log);
      // The directory's sequence resumes above every one its partitions
      // recorded: passes that wrote no file moved it past the file's.
      if ((*log)->loaded_dir_sequence() > dir_sequences_[d].load(std::memory_order_acquire)) {
        dir_sequences_[d].store((*log)->loaded_dir_sequence(), std::memory_order_release);
      }
      logs_[*tp] = Entry{std::move(*log), d, ReadTopicId(fs_, path)};
      ++loaded;
    }
    if (dir_status.ok() && clean) {
      dir_status = fs_->DeleteFile(marker);
      if (dir_status.ok()) dir_status = fs_->SyncDir(dir);
    }
    if (!dir_status.ok()) {
      if (absl::Status f = fail_dir(dir_status); !f.ok()) return f;
      continue;
    }
    LOG(INFO) << "Loaded " << loaded << " logs from " << dir
              << (loaded == 0 ? ""
                  : clean     ? " after a clean shutdown"
                              : " after an unclean shutdown");
  }
  return absl::OkStatus();
}

std::optional<std::vector<TopicPartition>> LogManager::MarkOfflineLocked(size_t d,
                                                                         const std::string& why) {
  if (!offline_dirs_.emplace(d, why).second) return std::nullopt;
  std::vector<TopicPartition> partitions;
  for (const auto& [tp, e] : logs_) {
    if (e.dir_index == d) partitions.push_back(tp);
  }
  std::sort(partitions.begin(), partitions.end());
  LOG(ERROR) << "Log dir " << options_.log_dirs[d] << " goes offline (" << why << "): its "
             << partitions.size() << " partitions are served by other replicas until a restart "
             << "finds it healthy";
  return partitions;
}

void LogManager::NotifyOffline(std::optional<std::vector<TopicPartition>> partitions,
                               const std::string& why) {
  if (!partitions) return;
  DirFailureListener listener;
  {
    absl::MutexLock l(&mu_);
    listener = dir_failure_listener_;
  }
  if (listener) listener(*partitions, why);
}

void LogManager::SetDirFailureListener(DirFailureListener listener) {
  absl::MutexLock l(&mu_);
  dir_failure_listener_ = std::move(listener);
}

void LogManager::ReportFailure(const Log& log, const absl::Status& status) {
  if (!IsStorageFailure(status)) return;
  std::optional<size_t> d;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [tp, e] : logs_) {
      if (e.log.get() == &log) {
        d = e.dir_index;
        break;
      }
    }
  }
  if (d) ReportDirFailure(*d, status);
}

void LogManager::ReportDirFailure(size_t d, const absl::Status& status) {
  if (!IsStorageFailure(status)) return;
  std::optional<std::vector<TopicPartition>> partitions;
  {
    absl::MutexLock l(&mu_);
    partitions = MarkOfflineLocked(d, std::string(status.message()));
  }
  NotifyOffline(std::move(partitions), std::string(status.message()));
}

std::vector<std::pair<std::vector<TopicPartition>, std::string>> LogManager::OfflineDirPartitions()
    const {
  absl::MutexLock l(&mu_);
  std::vector<std::pair<std::vector<TopicPartition>, std::string>> out;
  for (const auto& [d, why] : offline_dirs_) {
    std::vector<TopicPartition> partitions;
    for (const auto& [tp, e] : logs_) {
      if (e.dir_index == d) partitions.push_back(tp);
    }
    if (auto it = unloaded_.find(d); it != unloaded_.end()) {
      partitions.insert(partitions.end(), it->second.begin(), it->second.end());
    }
    out.emplace_back(std::move(partitions), why);
  }
  return out;
}

std::vector<LogManager::LogDirInfo> LogManager::LogDirs() const {
  absl::MutexLock l(&mu_);
  std::vector<LogDirInfo> out(options_.log_dirs.size());
  for (size_t d = 0; d < out.size(); ++d) {
    // Absolute, as Kafka's File.getAbsolutePath: a relative entry is
    // taken from the working directory, not otherwise normalized.
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(options_.log_dirs[d], ec);
    out[d].path = ec ? options_.log_dirs[d] : absolute.string();
    if (auto it = offline_dirs_.find(d); it != offline_dirs_.end()) out[d].offline_why = it->second;
  }
  for (const auto& [tp, e] : logs_) {
    if (!out[e.dir_index].offline_why.has_value()) out[e.dir_index].partitions.push_back(tp);
  }
  for (LogDirInfo& dir : out) std::sort(dir.partitions.begin(), dir.partitions.end());
  return out;
}

absl::StatusOr<std::shared_ptr<Log>> LogManager::GetOrCreate(const TopicPartition& tp,
                                                             const std::string& topic_id) {
  absl::MutexLock l(&mu_);
  // A Delete of the same partition finishes first (its cleaning aborts at
  // the next batch; the directory is renamed, then removed).
  auto not_deleting = [this, &tp]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !deleting_.contains(tp); };
  mu_.Await(absl::Condition(&not_deleting));
  if (closed_) return absl::FailedPreconditionError("log manager is closed");
  if (auto it = damaged_.find(tp); it != damaged_.end()) return it->second.status;
  for (const auto& [d, why] : offline_dirs_) {
    auto it = logs_.find(tp);
    const auto& unloaded = unloaded_[d];
    if ((it != logs_.end() && it->second.dir_index == d) ||
        std::find(unloaded.begin(), unloaded.end(), tp) != unloaded.end()) {
      return WithKafkaError(
          absl::UnavailableError(absl::StrCat("log dir ", options_.log_dirs[d], " of partition ",
                                              tp.ToString(), " is offline: ", why)),
          kKafkaStorageError);
    }
  }
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
  // The online directory with the fewest logs.
  std::vector<size_t> counts(options_.log_dirs.size(), 0);
  for (const auto& [_, e] : logs_) ++counts[e.dir_index];
  size_t d = options_.log_dirs.size();
  for (size_t i = 0; i < counts.size(); ++i) {
    if (!offline_dirs_.contains(i) && (d == options_.log_dirs.size() || counts[i] < counts[d]))
      d = i;
  }
  if (d == options_.log_dirs.size()) {
    return WithKafkaError(absl::UnavailableError(absl::StrCat(
                              "every log dir is offline; cannot create the log of ", tp.ToString(),
                              " (", offline_dirs_.begin()->second, ")")),
                          kKafkaStorageError);
  }
  const std::string dir = JoinPath(options_.log_dirs[d], tp.ToString());
  absl::StatusOr<std::unique_ptr<Log>> log =
      Log::Open(fs_, clock_, dir, ConfigFor(tp.topic), /*had_clean_shutdown=*/false,
                LogDirCheckpoint{&dir_sequences_[d], std::nullopt, 0});
  absl::Status status = log.status();
  if (status.ok() && !topic_id.empty()) status = WriteTopicId(fs_, dir, topic_id);
  if (!status.ok()) {
    if (IsStorageFailure(status)) {
      std::optional<std::vector<TopicPartition>> partitions =
          MarkOfflineLocked(d, std::string(status.message()));
      // The listener must run without the manager's lock (it calls back
      // into the replica manager, which may call in here).
      mu_.Unlock();
      NotifyOffline(std::move(partitions), std::string(status.message()));
      mu_.Lock();
    }
    return status;
  }
  std::shared_ptr<Log> shared = std::move(*log);
  if (cleaner_) {
    // A new log: whatever the checkpoint says of an earlier one (deleted
    // while set aside as damaged, or before a crash) is not about it.
    // Rare, so its fsync under the lock costs nothing in practice.
    cleaner_->RemoveLog(tp, options_.log_dirs[d]);
    WatchTruncations(tp, d, *shared);
  }
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
  std::string log_dir;
  {
    absl::MutexLock l(&mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) {
      if (auto damaged = damaged_.find(tp); damaged != damaged_.end()) {
        // A log that would not open is set aside whole, as
        // "<topic>-<partition>.damaged" (replacing an older one), for the
        // operator; the partition starts over.
        const std::string path =
            JoinPath(options_.log_dirs[damaged->second.dir_index], tp.ToString());
        const std::string aside = path + ".damaged";
        if (fs_->Exists(aside)) {
          if (absl::Status s = fs_->DeleteDirRecursively(aside); !s.ok()) return s;
        }
        absl::Status s = fs_->Rename(path, aside);
        if (s.ok()) {
          LOG(WARNING) << "The damaged log of " << tp.ToString() << " is kept as " << aside;
          damaged_.erase(damaged);
        }
        return s;
      }
      return absl::NotFoundError(absl::StrCat("no log for partition ", tp.ToString()));
    }
    if (!topic_id.empty() && !it->second.topic_id.empty() && it->second.topic_id != topic_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("the log of ", tp.ToString(), " belongs to topic id ", it->second.topic_id,
                       ", not ", topic_id, "; not deleted"));
    }
    log = std::move(it->second.log);
    log_dir = options_.log_dirs[it->second.dir_index];
    logs_.erase(it);
    deleting_.insert(tp);
  }
  // Outside the manager's lock: a running cleaning of the log ends first
  // (it may be reporting a failure, which takes the lock), and deleting a
  // large log takes a while.
  if (cleaner_) cleaner_->AbortAndPauseCleaning(tp);
  absl::Status deleted = log->Delete();
  // Forgets the log's checkpoint entry and failures, and unpauses `tp`
  // for a log created for it later.
  if (cleaner_) cleaner_->RemoveLog(tp, log_dir);
  absl::MutexLock l(&mu_);
  deleting_.erase(tp);
  return deleted;
}

std::vector<TopicPartition> LogManager::Partitions() const {
  absl::MutexLock l(&mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, _] : logs_) out.push_back(tp);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<LogManager::OnlineLog> LogManager::OnlineLogs() const {
  std::vector<OnlineLog> open;
  absl::MutexLock l(&mu_);
  if (closed_) return open;
  open.reserve(logs_.size());
  for (const auto& [tp, e] : logs_) {
    if (!offline_dirs_.contains(e.dir_index)) open.push_back({tp, e.log, e.dir_index});
  }
  return open;
}

absl::Status LogManager::ForEachOnlineLog(std::string_view what,
                                          absl::Status (Log::*task)()) {
  // Without the manager's lock: each log's task may fsync (a millisecond
  // or more, times thousands of logs), and produce and fetch look their
  // logs up under that lock. A log deleted or closed meanwhile does
  // nothing.
  absl::Status first_error;
  auto offline = [this](size_t d) {
    absl::MutexLock l(&mu_);
    return offline_dirs_.contains(d);
  };
  for (const OnlineLog& o : OnlineLogs()) {
    // A directory that failed meanwhile, in this pass or on another
    // thread, is not touched again.
    if (offline(o.dir_index)) continue;
    absl::Status s = ((*o.log).*task)();
    if (s.ok()) continue;
    LOG(ERROR) << what << " of " << o.tp.ToString() << " failed: " << s;
    first_error.Update(s);
    ReportFailure(*o.log, s);
  }
  return first_error;
}

absl::Status LogManager::MaybeFlushOnTime() {
  return ForEachOnlineLog("Periodic flush", &Log::MaybeFlushOnTime);
}

absl::Status LogManager::CheckpointHighWatermarks() {
  absl::MutexLock hw(&high_watermarks_mu_);
  const size_t dirs = options_.log_dirs.size();
  auto read = [&] {
    std::vector<CheckpointEntries> by_dir(dirs);
    for (const OnlineLog& o : OnlineLogs()) {
      by_dir[o.dir_index][o.tp.ToString()] = o.log->high_watermark().value();
    }
    return by_dir;
  };
  auto online = [&](size_t d) {
    absl::MutexLock l(&mu_);
    return !closed_ && !offline_dirs_.contains(d);
  };
  // A first look finds the directories where a high watermark moved; only
  // their sequences move (a restart resumes above what partition
  // checkpoints recorded, and a sequence far past the file's would keep
  // the next files from counting).
  std::vector<int64_t> sequences(dirs, -1);
  {
    const std::vector<CheckpointEntries> first = read();
    for (size_t d = 0; d < dirs; ++d) {
      if (first[d] == high_watermarks_written_[d] || !online(d)) continue;
      sequences[d] = dir_sequences_[d].fetch_add(1, std::memory_order_acq_rel) + 1;
    }
  }
  if (std::all_of(sequences.begin(), sequences.end(), [](int64_t s) { return s < 0; })) {
    return absl::OkStatus();
  }
  // What is written is read only now, after the sequences moved, logs
  // included: a partition checkpoint written from now on (a truncation, a
  // log that replaced a deleted one) records this sequence or a later
  // one, so the file never wins over it (LogDirCheckpoint).
  std::vector<CheckpointEntries> by_dir = read();
  absl::Status first_error;
  for (size_t d = 0; d < dirs; ++d) {
    if (sequences[d] < 0 || !online(d)) continue;
    CheckpointEntries& entries = by_dir[d];
    CheckpointEntries file = entries;
    file[kHighWatermarkSequenceKey] = sequences[d];
    const std::string path = JoinPath(options_.log_dirs[d], kHighWatermarkCheckpointFile);
    if (absl::Status s = WriteCheckpoint(fs_, path, file); !s.ok()) {
      LOG(ERROR) << "High watermark checkpoint " << path << " failed: " << s;
      first_error.Update(s);
      ReportDirFailure(d, s);
      continue;
    }
    high_watermarks_written_[d] = std::move(entries);
  }
  return first_error;
}

int LogManager::DeleteOldSegments() {
  int total = 0;
  const int64_t now = clock_->NowMs();
  for (const auto& [tp, log, dir_index] : OnlineLogs()) {
    absl::StatusOr<Log::DeletedSegments> deleted = log->DeleteOldSegments();
    if (!deleted.ok()) {
      // A log deleted meanwhile refuses: nothing to report.
      if (absl::IsFailedPrecondition(deleted.status())) continue;
      LOG(ERROR) << "Retention of " << tp.ToString() << " failed: " << deleted.status();
      ReportFailure(*log, deleted.status());
      continue;
    }
    total += deleted->count;
    if (deleted->files.empty()) continue;
    absl::MutexLock l(&deletions_mu_);
    for (std::string& file : deleted->files) {
      due_deletions_.emplace(now + deleted->delete_after_ms, std::move(file));
    }
  }
  return total;
}

int LogManager::RemoveExpiredProducers() {
  const int64_t now = clock_->NowMs();
  int total = 0;
  for (const OnlineLog& o : OnlineLogs()) {
    total += o.log->RemoveExpiredProducers(now, options_.producer_id_expiration_ms);
  }
  return total;
}

int LogManager::DeleteDueFiles() {
  std::vector<std::string> due;
  {
    absl::MutexLock l(&deletions_mu_);
    const auto end = due_deletions_.upper_bound(clock_->NowMs());
    for (auto it = due_deletions_.begin(); it != end; ++it) due.push_back(std::move(it->second));
    due_deletions_.erase(due_deletions_.begin(), end);
  }
  int deleted = 0;
  for (const std::string& file : due) {
    absl::Status s = fs_->DeleteFile(file);
    // Gone already: its log was deleted, or a restart cleared it.
    if (s.ok() || absl::IsNotFound(s)) {
      deleted += s.ok() ? 1 : 0;
    } else {
      LOG(WARNING) << "Cannot delete " << file << ": " << s;
    }
  }
  return deleted;
}

int LogManager::RefreshConfigs() {
  absl::MutexLock refresh(&refresh_mu_);
  std::vector<std::pair<TopicPartition, std::shared_ptr<Log>>> open;
  {
    absl::MutexLock l(&mu_);
    if (closed_) return 0;
    for (const auto& [tp, e] : logs_) open.emplace_back(tp, e.log);
  }
  // config_for_topic runs outside the manager's lock (it reads the caller's
  // metadata), once per topic however many partitions it has here.
  std::map<std::string, LogConfig> by_topic;
  std::map<std::string, int> changed;
  int total = 0;
  for (const auto& [tp, log] : open) {
    auto it = by_topic.find(tp.topic);
    if (it == by_topic.end()) it = by_topic.emplace(tp.topic, ConfigFor(tp.topic)).first;
    if (log->config() == it->second) continue;
    log->UpdateConfig(it->second);
    ++changed[tp.topic];
    ++total;
  }
  for (const auto& [topic, n] : changed) {
    LOG(INFO) << "Updated the log config of " << n << " partition(s) of topic " << topic;
  }
  return total;
}

absl::Status LogManager::StartScheduler() {
  absl::MutexLock l(&scheduler_mu_);
  if (!flush_task_scheduled_) {
    absl::Status s = scheduler_.Schedule("log-flusher", options_.flush_scheduler_interval_ms,
                                         [this] { (void)MaybeFlushOnTime(); });
    if (!s.ok()) return s;
    s = scheduler_.Schedule("high-watermark-checkpoint",
                            options_.high_watermark_checkpoint_interval_ms,
                            [this] { (void)CheckpointHighWatermarks(); });
    if (!s.ok()) return s;
    s = scheduler_.Schedule("log-retention", options_.retention_check_interval_ms,
                            [this] { DeleteOldSegments(); });
    if (!s.ok()) return s;
    s = scheduler_.Schedule("delete-files", 1000, [this] { DeleteDueFiles(); });
    if (!s.ok()) return s;
    s = scheduler_.Schedule("producer-expiry", options_.producer_id_expiration_check_interval_ms,
                            [this] { RemoveExpiredProducers(); });
    if (!s.ok()) return s;
    flush_task_scheduled_ = true;
  }
  scheduler_.Start();
  if (cleaner_) cleaner_->Start();
  return absl::OkStatus();
}

absl::Status LogManager::Close() {
  // Before the lock: a running task or cleaning may be waiting for it.
  scheduler_.Stop();
  if (cleaner_) cleaner_->Stop();
  absl::MutexLock l(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  std::vector<bool> dir_clean(options_.log_dirs.size(), true);
  absl::Status first_error;
  for (const auto& [d, why] : offline_dirs_) dir_clean[d] = false;
  for (const auto& [tp, damaged] : damaged_) dir_clean[damaged.dir_index] = false;
  // Closing syncs what each log wrote since its last flush; thousands of
  // logs' fsyncs go faster side by side.
  std::vector<std::pair<TopicPartition, Entry*>> open;
  for (auto& [tp, e] : logs_) {
    if (!offline_dirs_.contains(e.dir_index)) open.emplace_back(tp, &e);
  }
  constexpr size_t kCloseThreads = kLoadThreads;
  absl::Mutex results_mu;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::min(kCloseThreads, open.size()); ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < open.size(); i += kCloseThreads) {
        absl::Status s = open[i].second->log->Close();
        if (s.ok()) continue;
        LOG(ERROR) << "Closing " << open[i].first.ToString() << " failed: " << s;
        absl::MutexLock l(&results_mu);
        dir_clean[open[i].second->dir_index] = false;
        first_error.Update(s);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t d = 0; d < options_.log_dirs.size(); ++d) {
    if (!dir_clean[d]) continue;
    absl::Status s =
        fs_->WriteFileAtomically(JoinPath(options_.log_dirs[d], kCleanShutdownFile), "");
    first_error.Update(s);
  }
  return first_error;
}

}  // namespace strata::storage
