// LogManager: every partition log of a node, under its `log.dirs`, one
// directory per partition named `<topic>-<partition>` as Kafka names them.
//
// Open() loads every log found. A clean-shutdown marker per log dir, written
// by Close() after every log was flushed, lets the next start skip recovery
// scans; it is removed as soon as the logs are loaded, so a crash after that
// is never mistaken for a clean stop. New logs go to the log dir holding the
// fewest partitions.
//
// Each partition directory records the id of the topic it belongs to in
// `partition.metadata` (Kafka's file), so that a log left behind by a
// deleted topic is never taken for a new topic of the same name, and a
// delete meant for the old topic never removes the new one's data.
//
// Descriptors: every log goes through one CachingFileSystem, an LRU of at
// most `max_open_read_files` read handles shared by all logs, so a node
// holds about one descriptor per replica written since start (its active
// segment's .log) plus that LRU — idle replicas hold none (segment.h), also
// while loading at start.
//
// Logs handed out read and write through that cache, which the manager
// owns: they may outlive Close() but not the LogManager itself.
//
// Configs: each log gets its topic's LogConfig (Options::config_for_topic)
// when opened; RefreshConfigs() hands open logs their topic's current one.
//
// Periodic work runs on the manager's Scheduler (scheduler()): the flush
// check once StartScheduler() is called, and whatever other modules add.
// Close() stops it first. The log cleaner (log_cleaner.h), when enabled,
// runs on threads of its own, started by StartScheduler() too.
//
// Thread-safe. Logs are shared: one deleted while a request holds it stays
// valid for that holder, but refuses every operation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/storage/caching_file_system.h"
#include "broker/storage/file_system.h"
#include "broker/storage/log.h"
#include "broker/storage/log_cleaner.h"
#include "broker/storage/log_config.h"
#include "broker/storage/scheduler.h"
#include "client/common/clock.h"
#include "client/common/ids.h"

namespace strata::storage {

inline constexpr char kCleanShutdownFile[] = ".strata-clean-shutdown";
inline constexpr char kPartitionMetadataFile[] = "partition.metadata";
// In each log dir: the high watermark of every partition there, with the
// sequence it was written under (LogDirCheckpoint, log.h). Kafka keeps
// these in replication-offset-checkpoint; this one's layout differs (a
// sequence line, partition directory names), hence another name.
inline constexpr char kHighWatermarkCheckpointFile[] = "high-watermark-checkpoint";

class LogManager {
 public:
  // Open files a replica holds at most while nobody reads its old
  // segments: its active segment's .log, once written (the read cache
  // comes on top, once per node); brokers size their replica capacity by
  // it.
  static constexpr int64_t kDescriptorsPerIdleReplica = 1;
  // Threads that open logs at start, and close them at the end: thousands
  // of logs' recoveries and fsyncs go faster side by side.
  static constexpr size_t kLoadThreads = 8;

  struct Options {
    std::vector<std::string> log_dirs;
    // Config of a topic's logs; the default config when unset.
    std::function<LogConfig(const std::string& topic)> config_for_topic;
    LogConfig default_config;
    // Read handles of segments that are not being written, kept open in an
    // LRU shared by every log. Reads that miss it open and close a
    // descriptor (a few µs). 256: a node's concurrent readers of old
    // segments (lagging consumers and followers) are far fewer, and 10,000
    // replicas' active segments plus 256 leave half of a 20,000-descriptor
    // limit for sockets and the metadata store.
    size_t max_open_read_files = 256;
    // How often the scheduler's flush task checks every log's flush.ms
    // (Kafka's log.flush.scheduler.interval.ms, whose default leaves
    // flushing to the OS; a second is what Strata has always checked at).
    int64_t flush_scheduler_interval_ms = 1000;
    // How often each log dir's high-watermark file is rewritten when a high
    // watermark in it moved (Kafka's
    // replica.high.watermark.checkpoint.interval.ms): a stale one only
    // makes a restarted replica learn the high watermark again from its
    // leader (or, as leader, from its ISR).
    int64_t high_watermark_checkpoint_interval_ms = 5000;
    // How often retention looks at every log (log.retention.check.interval.ms).
    int64_t retention_check_interval_ms = 300'000;
    // Idempotent producers' state expires this long after a producer's
    // last batch's timestamp (producer.id.expiration.ms; Kafka 3.x's day),
    // checked every producer_id_expiration_check_interval_ms
    // (producer.id.expiration.check.interval.ms).
    int64_t producer_id_expiration_ms = 86'400'000;
    int64_t producer_id_expiration_check_interval_ms = 600'000;
    // The log cleaner (log.cleaner.enable), compacting the logs whose
    // cleanup.policy has `compact`; its threads start with StartScheduler().
    bool cleaner_enable = true;
    CleanerOptions cleaner;
  };

  static absl::StatusOr<std::unique_ptr<LogManager>> Open(FileSystem* fs, Clock* clock,
                                                          Options options);
  // Stops the scheduler.
  ~LogManager();

  // The partition's log, created empty when absent. With a `topic_id`, a log
  // that records another topic's id is refused (FailedPrecondition), and a
  // log with none is stamped with it.
  absl::StatusOr<std::shared_ptr<Log>> GetOrCreate(const TopicPartition& tp,
                                                   const std::string& topic_id = "");
  // The partition's log, or nullptr.
  std::shared_ptr<Log> Get(const TopicPartition& tp) const;
  // The topic id recorded for the partition's log ("" when none).
  std::string TopicIdOf(const TopicPartition& tp) const;
  // Removes the partition's log and its files. NotFound when absent; with a
  // `topic_id`, FailedPrecondition when the log belongs to another topic.
  // A cleaning of it is aborted and waited for first.
  absl::Status Delete(const TopicPartition& tp, const std::string& topic_id = "");
  std::vector<TopicPartition> Partitions() const;

  // Time-based flush for every log (flush.ms). The scheduler's
  // "log-flusher" task calls it once StartScheduler() runs.
  absl::Status MaybeFlushOnTime();
  // Rewrites each online log dir's kHighWatermarkCheckpointFile when a
  // high watermark there moved since it was last written: one file written
  // and synced (with its directory) per log dir, however many partitions
  // (a file per partition cost a burst into 1,000 partitions over a second
  // of fsyncs). The "high-watermark-checkpoint" task.
  absl::Status CheckpointHighWatermarks();

  // Retention for every log (Log::DeleteOldSegments); the files of the
  // segments it takes out are deleted after their topic's
  // file.delete.delay.ms (DeleteDueFiles). Returns the segments taken out.
  // The scheduler's "log-retention" task calls it every
  // retention_check_interval_ms once StartScheduler() runs.
  int DeleteOldSegments();
  // Deletes the files retention set aside whose delay has passed; returns
  // how many. The scheduler's "delete-files" task calls it every second.
  int DeleteDueFiles();
  // Forgets the expired producers of every log
  // (Log::RemoveExpiredProducers, producer_id_expiration_ms); returns how
  // many. The scheduler's "producer-expiry" task calls it every
  // producer_id_expiration_check_interval_ms.
  int RemoveExpiredProducers();

  // Gives every open log its topic's config as config_for_topic now has it,
  // where that differs from the log's (Log::UpdateConfig). Returns how many
  // logs changed. Called after each metadata change; calls are serialised,
  // so the latest one wins.
  int RefreshConfigs();

  // The log cleaner, or nullptr when log.cleaner.enable is false.
  LogCleaner* cleaner() { return cleaner_.get(); }
  // Every open, online log with its log dir, for the cleaner.
  std::vector<LogCleaner::CleanableLog> CleanableLogs() const;

  // Periodic log work, on one thread; other modules may add tasks to it.
  Scheduler& scheduler() { return scheduler_; }
  // Schedules the manager's own periodic work ("log-flusher": the flush.ms
  // check, every flush_scheduler_interval_ms; "high-watermark-checkpoint";
  // "log-retention",
  // "delete-files" and "producer-expiry", above) and starts the scheduler.
  // Opt-in, so that a caller still running the flush check itself never
  // runs it twice. Idempotent.
  absl::Status StartScheduler();

  // Stops the scheduler and the cleaner (waiting for a running task or
  // cleaning), then closes every log
  // and marks each log dir as cleanly shut down.
  absl::Status Close();

  // --- Failing disks and damaged logs ---
  // A log directory whose disk fails (IsStorageFailure: full, read-only,
  // I/O errors) goes offline, as Kafka's log-dir failure handling has it:
  // its logs serve nothing more (GetOrCreate answers with the failure) and
  // new logs go to other directories, until a restart finds it healthy. A
  // directory that fails while loading is offline from the start, so a
  // full disk never stops the node. A log that cannot be opened (DataLoss:
  // damage below its recovery point) is damaged: only it is unavailable
  // (GetOrCreate answers DataLoss naming file and offset) until Delete,
  // which sets its directory aside as "<topic>-<partition>.damaged".
  using DirFailureListener =
      std::function<void(const std::vector<TopicPartition>& partitions, const std::string& why)>;
  // Called, without the manager's lock, with the partitions of each
  // directory that goes offline from now on.
  void SetDirFailureListener(DirFailureListener listener);
  // Takes `log`'s directory offline if `status` is a disk failure.
  void ReportFailure(const Log& log, const absl::Status& status);
  // The same for the log dir with index `d`.
  void ReportDirFailure(size_t d, const absl::Status& status);
  // The partitions of every offline directory, with why.
  std::vector<std::pair<std::vector<TopicPartition>, std::string>> OfflineDirPartitions() const;

  // One log directory as Kafka's DescribeLogDirs reports it: its path as
  // configured in log.dirs made absolute (against the process's working
  // directory, as Kafka's File.getAbsolutePath), why it is offline
  // (nullopt: online), and the partitions whose open logs it holds (none
  // when offline), sorted.
  struct LogDirInfo {
    std::string path;
    std::optional<std::string> offline_why;
    std::vector<TopicPartition> partitions;
  };
  // Every configured log directory, in log.dirs order.
  std::vector<LogDirInfo> LogDirs() const;

 private:
  LogManager(FileSystem* fs, Clock* clock, Options options)
      : read_cache_(std::make_unique<CachingFileSystem>(fs, options.max_open_read_files)),
        fs_(read_cache_.get()),
        clock_(clock),
        options_(std::move(options)),
        dir_sequences_(new std::atomic<int64_t>[options_.log_dirs.size()]()),
        high_watermarks_written_(options_.log_dirs.size()),
        scheduler_(clock) {}
  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  LogConfig ConfigFor(const std::string& topic) const;

  // Wraps the file system passed to Open; everything goes through it.
  const std::unique_ptr<CachingFileSystem> read_cache_;
  FileSystem* const fs_;
  Clock* const clock_;
  const Options options_;
  // By log dir index: the high-watermark file's sequence
  // (LogDirCheckpoint::sequence), which the dir's logs read.
  const std::unique_ptr<std::atomic<int64_t>[]> dir_sequences_;
  // Serialises CheckpointHighWatermarks; by log dir index, the high
  // watermarks its file holds as last written.
  absl::Mutex high_watermarks_mu_;
  std::vector<CheckpointEntries> high_watermarks_written_ ABSL_GUARDED_BY(high_watermarks_mu_);

  mutable absl::Mutex mu_;
  struct Entry {
    std::shared_ptr<Log> log;
    size_t dir_index;
    std::string topic_id;
  };
  absl::flat_hash_map<TopicPartition, Entry> logs_ ABSL_GUARDED_BY(mu_);
  // Offline directories (by index) and why.
  std::map<size_t, std::string> offline_dirs_ ABSL_GUARDED_BY(mu_);
  // Partitions found in a directory that failed before they were loaded.
  std::map<size_t, std::vector<TopicPartition>> unloaded_ ABSL_GUARDED_BY(mu_);
  // Logs that would not open, and why.
  struct Damaged {
    size_t dir_index;
    absl::Status status;
  };
  absl::flat_hash_map<TopicPartition, Damaged> damaged_ ABSL_GUARDED_BY(mu_);
  // Logs Delete has taken out of logs_ and not yet removed from disk (and
  // from the cleaner): GetOrCreate waits for them, so a new log never opens
  // the old one's directory or has its cleaner state wiped by the old one.
  absl::flat_hash_set<TopicPartition> deleting_ ABSL_GUARDED_BY(mu_);
  DirFailureListener dir_failure_listener_ ABSL_GUARDED_BY(mu_);
  // Marks directory `d` offline; returns its partitions if it was online.
  std::optional<std::vector<TopicPartition>> MarkOfflineLocked(size_t d, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls the listener for a directory that just went offline.
  void NotifyOffline(std::optional<std::vector<TopicPartition>> partitions, const std::string& why);
  // The open logs of online directories, with their directory (none once
  // closed).
  struct OnlineLog {
    TopicPartition tp;
    std::shared_ptr<Log> log;
    size_t dir_index;
  };
  std::vector<OnlineLog> OnlineLogs() const;
  // Runs `task` on every online log, outside the manager's lock; a storage
  // failure takes its directory offline (ReportFailure; its other logs are
  // then skipped).
  // Returns the first error, each one logged with `what`.
  absl::Status ForEachOnlineLog(std::string_view what, absl::Status (Log::*task)());
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  // Serialises RefreshConfigs, so an older refresh never lands last.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Files retention set aside, by when they may go.
  absl::Mutex deletions_mu_;
  std::multimap<int64_t, std::string> due_deletions_ ABSL_GUARDED_BY(deletions_mu_);

  absl::Mutex scheduler_mu_;
  bool flush_task_scheduled_ ABSL_GUARDED_BY(scheduler_mu_) = false;
  // Hands replaced segments' files to due_deletions_.
  void ScheduleDeletion(const Log::DeletedSegments& deleted);
  // Has `log` move the cleaner's checkpoint of `tp` back when truncated.
  void WatchTruncations(const TopicPartition& tp, size_t dir_index, Log& log);
  // Set once by Open, before any log loads. ~LogManager and Close() stop
  // it explicitly; as a member it is destroyed after the scheduler and
  // before the logs.
  std::unique_ptr<LogCleaner> cleaner_;
  // Last: destroyed first, so no task runs on a half-destroyed manager.
  Scheduler scheduler_;
};

// "orders-3" -> {"orders", 3}; nullopt when the name is not a partition dir.
std::optional<TopicPartition> ParsePartitionDirName(std::string_view name);

}  // namespace strata::storage
