// LogCleaner: compaction of logs whose cleanup.policy has `compact` (Kafka's
// LogCleaner). It keeps the latest record of every key, preserving offsets.
//
// What a cleaning does, for one log:
//   - The log is split at the "first dirty offset", from the cleaner
//     checkpoint (a file per log dir, `cleaner-offset-checkpoint`): below it
//     the log was cleaned before, from it on it was not. The cleanable part
//     ends at the first uncleanable offset: the active segment's base, the
//     base of the segment holding the high watermark, the base of the
//     segment holding the first unstable offset (the first offset of the
//     earliest open transaction, or of a completed one whose marker is not
//     below the high watermark yet), and the first segment holding a record
//     younger than min.compaction.lag.ms, whichever comes first (Kafka's
//     firstUncleanableOffset): a segment with records a truncation may
//     still take, or an abort may still discard, is neither mapped nor
//     rewritten.
//   - A log is chosen when its dirty ratio (bytes of the dirty segments /
//     bytes of all cleanable segments) reaches min.cleanable.dirty.ratio, or
//     its oldest dirty record is older than max.compaction.lag.ms, or
//     tombstones it kept are now due for removal; the dirtiest goes first.
//   - An offset map (OffsetMap: a 128-bit hash of the key -> the key's
//     latest offset, 24 bytes per entry, bounded by
//     log.cleaner.dedupe.buffer.size) is built over the dirty part. When it
//     fills, the cleaning covers the log only up to where the map got
//     (which may be inside a segment: the part past it stays dirty).
//   - Every rolled segment from the log start up to there is rewritten in
//     groups that fit one segment (segment.bytes; offsets within 32 bits of
//     the group's base): a record stays when it is the latest of its key
//     (its offset is at least the map's), or lies past the mapped part. A
//     record without a key goes, as in Kafka. A tombstone (null value)
//     stays until delete.retention.ms has passed since a cleaning first
//     found it in the cleaned part; the checkpoint remembers when each
//     cleaning ended where.
//   - A batch whose records all stay is copied byte for byte; one whose
//     records all go is dropped. Otherwise the records that stay are
//     written as one batch in its place, as Kafka's cleaner writes it: the
//     same base offset and lastOffsetDelta, each record at its own offset
//     (gaps inside the batch; record::ValidateStoredBatch), the same
//     leader epoch and timestamp type, compressed again with the batch's
//     codec. So a cleaned segment is never larger than the segments it
//     replaces (but for a codec compressing fewer records worse).
//   - An idempotent producer's batches are cleaned like any, keeping its id,
//     epoch and base sequence (and lastOffsetDelta, so the sequence range),
//     and a batch left with no record goes, except each producer's last
//     batch in the log (from the log's producer state when the cleaning
//     starts), which is then kept as an empty batch, as Kafka keeps it:
//     producer state rebuilt from the log still finds the sequences a retry
//     may repeat.
//   - Transactions (Kafka's rules; everything cleaned lies below the first
//     unstable offset, so every transaction there has ended). A
//     transactional batch belongs to an aborted transaction when its
//     producer's aborted transaction in the .txnindex has begun at or
//     before the batch's last offset and the producer's ABORT marker has
//     not been read since (read_committed consumers' rule): its records
//     are never put in the offset map (an aborted record never hides a
//     committed older value) and are all removed by the rewrite (the batch
//     goes, or stays empty as its producer's last batch). A committed
//     transaction's batches are cleaned like any, keeping the
//     transactional bit and producer fields. Markers are never rewritten,
//     only kept or dropped whole, and never mapped:
//       * a COMMIT marker stays while the cleaning reads a batch of its
//         transaction. Once none is left it goes when delete.retention.ms
//         has passed both since a cleaning covered it (the passes, as for
//         tombstones; one that keeps such a marker records a pass) and
//         since its segment was written (SegmentInfo::created_ms: a roll,
//         a swap, or the log's load); the cleaning that removes a
//         transaction's last batches rewrites the marker's segment, so
//         the wait starts no earlier than the removal (Kafka stores a
//         delete horizon in the batch instead, KIP-534; our batches have
//         no room for it). A marker after its producer's last data batch
//         stays: it carries the epochs rebuilt producer state fences with.
//       * an ABORT marker always stays, as long as its segment: Log::
//         ReplaceSegments keeps every .txnindex entry of the replaced
//         segments, and a read_committed consumer handed an aborted
//         transaction drops its producer's transactional batches until
//         that producer's ABORT marker, so removing the marker would hide
//         a later committed transaction of the producer. (Kafka drops the
//         entry with the data, then the marker after delete.retention.ms.)
//       * a control batch that is no transaction marker stays as it is.
//   - Each group is written to "<base>.log.cleaned" (+ indexes), synced, and
//     swapped in by Log::ReplaceSegments (crash-safe; see log.h and
//     FORMAT.md). The old segments' files are handed to `on_deleted` to be
//     deleted after file.delete.delay.ms.
//
// Data safety: a cleaning never removes the latest record of a key that is
// not a due tombstone, never changes an offset, and a crash at any point
// leaves the log readable with the same latest values. A log whose
// generation changed while it was being cleaned (truncation, retention,
// close, delete; Log::generation) makes the cleaning stop without swapping
// (Aborted), and without moving the checkpoint; it is tried again later.
// A truncation moves the checkpoint back below the new log end at once
// (MaybeTruncateCheckpoint, called from the log's TruncationListener).
//
// Lock order: a log's lock before the cleaner's (the truncation listener
// runs under the log's lock); the cleaner never calls a log holding its
// own.
//
// Threads: `threads` workers, each with its own offset map, each taking
// the dirtiest log no other worker is cleaning, sleeping backoff_ms when
// none qualifies. CleanLog runs one cleaning on the caller's thread.
//
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/storage/file_system.h"
#include "broker/storage/log.h"
#include "client/common/clock.h"
#include "client/common/ids.h"

namespace strata::storage {

// Name of the cleaner checkpoint file in each log dir (Kafka's).
inline constexpr char kCleanerCheckpointFile[] = "cleaner-offset-checkpoint";

// Key -> latest offset, over a 128-bit hash of the key (the first 16 bytes
// of its SHA-256), in a fixed table of `memory_bytes / 24` slots filled to
// at most `load_factor` (Kafka's SkimpyOffsetMap). The table is allocated
// on first use. Two keys with the same hash would count as one; with 128
// bits that is not a practical concern. Not thread-safe.
class OffsetMap {
 public:
  static constexpr size_t kBytesPerEntry = 24;
  explicit OffsetMap(int64_t memory_bytes, double load_factor = 0.9);

  // Records `offset` as the latest of `key`. False (the map unchanged) when
  // the key is new and the map is full.
  bool Put(std::string_view key, Offset offset);
  std::optional<Offset> Get(std::string_view key) const;
  void Clear();
  size_t size() const { return size_; }
  // How many keys it takes at most.
  size_t capacity() const { return max_entries_; }

 private:
  struct Slot {
    uint64_t hash_high = 0;
    uint64_t hash_low = 0;
    int64_t offset = -1;  // -1: empty
  };
  using Hash = std::array<uint64_t, 2>;
  static Hash HashKey(std::string_view key);
  // The slot of `hash`, or the empty slot where it would go.
  size_t Find(const Hash& hash) const;

  size_t slots_count_;
  size_t max_entries_;
  size_t size_ = 0;
  std::vector<Slot> slots_;
};

struct CleanerOptions {
  int threads = 1;                                   // log.cleaner.threads
  int64_t dedupe_buffer_size = 128LL * 1024 * 1024;  // log.cleaner.dedupe.buffer.size, all threads
  double io_buffer_load_factor = 0.9;                // log.cleaner.io.buffer.load.factor
  int64_t backoff_ms = 15'000;                       // log.cleaner.backoff.ms
  // log.cleaner.io.max.bytes.per.second: the bytes all cleaner threads
  // together read and write per second (infinity: unbounded, Kafka's
  // default).
  double io_max_bytes_per_second = std::numeric_limits<double>::infinity();
  // How much of a segment one read brings in.
  size_t read_chunk_bytes = 1 << 20;
};

class LogCleaner {
 public:
  struct CleanableLog {
    TopicPartition tp;
    std::shared_ptr<Log> log;
    // The log dir holding it (where its checkpoint entry lives).
    std::string log_dir;
  };
  using LogsFn = std::function<std::vector<CleanableLog>()>;
  // Files of replaced segments, renamed "*.deleted", to delete later.
  using DeletedFn = std::function<void(const Log::DeletedSegments&)>;
  // A cleaning failed with an error other than Aborted.
  using FailureFn = std::function<void(const CleanableLog&, const absl::Status&)>;

  // What one cleaning did.
  struct Stats {
    Offset first_dirty_offset;
    // Where the cleaned part now ends: the next first dirty offset.
    Offset end_offset;
    double dirty_ratio = 0;
    int segments_read = 0;
    int segments_written = 0;
    int64_t bytes_read = 0;
    int64_t bytes_written = 0;
    int64_t records_read = 0;
    int64_t records_kept = 0;
    int64_t tombstones_removed = 0;
    int64_t tombstones_kept = 0;
    // Idempotent producers' last batches that lost every record, kept as
    // empty batches (their producer fields and offset range stay).
    int64_t producer_batches_emptied = 0;
    // Empty batches removed: no longer their producer's last.
    int64_t empty_batches_removed = 0;
    // Records of aborted transactions removed.
    int64_t aborted_records_removed = 0;
    // COMMIT markers removed: their transaction had no batch left and
    // delete.retention.ms had passed.
    int64_t txn_markers_removed = 0;
    // COMMIT markers whose transaction has no batch left, kept until
    // delete.retention.ms has passed.
    int64_t txn_markers_kept_empty = 0;
    // The offset map filled before the cleanable part's end.
    bool map_full = false;
  };

  // The cleanable part of a log, as a cleaning would see it now.
  struct CleanableRange {
    Offset first_dirty_offset;
    Offset first_uncleanable_offset;
    int64_t clean_bytes = 0;
    int64_t dirty_bytes = 0;
    double dirty_ratio = 0;
    // max.compaction.lag.ms (or due tombstones) force a cleaning.
    bool must_clean = false;
  };

  LogCleaner(FileSystem* fs, Clock* clock, CleanerOptions options, LogsFn logs,
             DeletedFn on_deleted = nullptr, FailureFn on_failure = nullptr);
  // Stops the threads.
  ~LogCleaner();

  // Starts the worker threads (once).
  void Start();
  // Stops them, waiting for a running cleaning to end. Idempotent.
  void Stop();

  // One worker step: cleans the dirtiest log that qualifies, using `map`.
  // nullopt when none does.
  absl::StatusOr<std::optional<Stats>> CleanDirtiestLog(OffsetMap* map);
  // Cleans `log` now, whatever its dirty ratio (the other bounds hold),
  // with an offset map of `options.dedupe_buffer_size / threads`. Aborted
  // when it is being cleaned or paused.
  absl::StatusOr<Stats> CleanLog(const CleanableLog& log);

  // Stops a cleaning of `tp` at its next batch (Aborted, nothing swapped
  // past it, no checkpoint written) and waits for it to end; `tp` is not
  // cleaned again until RemoveLog or ResumeCleaning (Kafka's
  // abortAndPauseCleaning). For deleting a log.
  void AbortAndPauseCleaning(const TopicPartition& tp);
  void ResumeCleaning(const TopicPartition& tp);
  // The log of `tp` now ends at `log_end` (a truncation): the dirty part
  // starts no later than there, and tombstones from there on were seen by
  // no cleaning (Kafka's maybeTruncateCheckpoint). Writes the checkpoint
  // when that changed it.
  absl::Status MaybeTruncateCheckpoint(const TopicPartition& tp, const std::string& log_dir,
                                       Offset log_end);

  // Where `tp`'s dirty part starts by the checkpoint (nullopt: never
  // cleaned).
  std::optional<Offset> FirstDirtyOffset(const TopicPartition& tp, const std::string& log_dir);
  // What a cleaning of `view` would cover now.
  CleanableRange RangeOf(const TopicPartition& tp, const std::string& log_dir,
                         const Log::CleaningView& view);
  // Forgets `tp` (its log was deleted, or is new): its checkpoint entry,
  // its failures, its pause.
  void RemoveLog(const TopicPartition& tp, const std::string& log_dir);

 private:
  // A cleaning that ended at `end_offset` at `time_ms` and kept tombstones
  // below it: they may go once delete.retention.ms has passed since.
  struct Pass {
    int64_t end_offset = 0;
    int64_t time_ms = 0;
  };
  struct LogState {
    int64_t first_dirty_offset = 0;
    std::vector<Pass> passes;
  };
  struct DirState {
    bool loaded = false;
    std::map<TopicPartition, LogState> logs;
  };
  // A cleaning that stopped after swapping in a group that removed the
  // last batches of a committed transaction, before it rewrote the group
  // holding the transaction's marker: emptied markers at or above
  // `from_offset` stay until delete.retention.ms has passed from `time_ms`.
  struct MarkerFence {
    int64_t from_offset = 0;
    int64_t time_ms = 0;
  };

  void Run();
  absl::StatusOr<Stats> Clean(const CleanableLog& log, OffsetMap* map);
  // Aborted when the cleaner stops, `tp`'s cleaning is aborted, or the
  // log's generation is no longer `generation`.
  absl::Status CheckRunning(const TopicPartition& tp, const Log& log, uint64_t generation);
  DirState& DirLocked(const std::string& log_dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CleanableRange RangeLocked(const TopicPartition& tp, const std::string& log_dir,
                             const Log::CleaningView& view) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteCheckpointLocked(const std::string& log_dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FileSystem* const fs_;
  Clock* const clock_;
  const CleanerOptions options_;
  const LogsFn logs_;
  const DeletedFn on_deleted_;
  const FailureFn on_failure_;

  // Sleeps as long as `bytes` more of cleaner I/O takes at
  // io_max_bytes_per_second, cut short when `tp`'s cleaning is aborted or
  // the cleaner stops.
  void ThrottleIo(const TopicPartition& tp, size_t bytes);
  absl::Mutex throttle_mu_;
  absl::Time throttle_start_ ABSL_GUARDED_BY(throttle_mu_) = absl::InfinitePast();
  double throttle_bytes_ ABSL_GUARDED_BY(throttle_mu_) = 0;

  absl::Mutex mu_;
  std::map<std::string, DirState> dirs_ ABSL_GUARDED_BY(mu_);
  std::set<TopicPartition> in_progress_ ABSL_GUARDED_BY(mu_);
  // Not to be cleaned (AbortAndPauseCleaning); a running cleaning stops.
  std::set<TopicPartition> paused_ ABSL_GUARDED_BY(mu_);
  // Logs whose cleaning failed other than by Aborted: skipped until a
  // restart, as Kafka marks them uncleanable.
  std::set<TopicPartition> uncleanable_ ABSL_GUARDED_BY(mu_);
  // In memory only: a restart renews every segment's write time, which
  // holds the markers back as long.
  std::map<TopicPartition, std::vector<MarkerFence>> marker_fences_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::storage
