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
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/common/clock.h"
#include "broker/common/ids.h"
#include "broker/storage/caching_file_system.h"
#include "broker/storage/file_system.h"
#include "broker/storage/log.h"

namespace strata::storage {

inline constexpr char kCleanShutdownFile[] = ".strata-clean-shutdown";
inline constexpr char kPartitionMetadataFile[] = "partition.metadata";

class LogManager {
 public:
  // Open files a replica holds at most while nobody reads its old
  // segments: its active segment's .log, once written (the read cache
  // comes on top, once per node); brokers size their replica capacity by
  // it.
  static constexpr int64_t kDescriptorsPerIdleReplica = 1;

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
  };

  static absl::StatusOr<std::unique_ptr<LogManager>> Open(FileSystem* fs, Clock* clock,
                                                          Options options);

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
  absl::Status Delete(const TopicPartition& tp, const std::string& topic_id = "");
  std::vector<TopicPartition> Partitions() const;

  // Time-based flush for every log (flush.ms).
  absl::Status MaybeFlushOnTime();

  // Closes every log and marks each log dir as cleanly shut down.
  absl::Status Close();

 private:
  LogManager(FileSystem* fs, Clock* clock, Options options)
      : read_cache_(std::make_unique<CachingFileSystem>(fs, options.max_open_read_files)),
        fs_(read_cache_.get()),
        clock_(clock),
        options_(std::move(options)) {}
  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  LogConfig ConfigFor(const std::string& topic) const;

  // Wraps the file system passed to Open; everything goes through it.
  const std::unique_ptr<CachingFileSystem> read_cache_;
  FileSystem* const fs_;
  Clock* const clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  struct Entry {
    std::shared_ptr<Log> log;
    size_t dir_index;
    std::string topic_id;
  };
  absl::flat_hash_map<TopicPartition, Entry> logs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// "orders-3" -> {"orders", 3}; nullopt when the name is not a partition dir.
std::optional<TopicPartition> ParsePartitionDirName(std::string_view name);

}  // namespace strata::storage
