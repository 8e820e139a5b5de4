// Log: one partition's log — an ordered run of Segments named by base
// offset, the last of which (the active segment) takes appends.
//
// Offsets: the log holds [log_start_offset, log_end_offset). A leader append
// gives a whole batch its offsets by rewriting the batch's base offset, never
// decoding its records. Reads return whole batches, at least one (even when
// it is larger than the byte limit, so a consumer always makes progress) and
// never more than one segment's worth.
//
// Durability: appends go to the page cache; the flush policy (flush.messages,
// flush.ms; default: leave it to the OS, as Kafka does) decides when to
// fsync, and a roll or a clean Close() always does. The recovery point — the
// offset below which everything is known to be synced — is checkpointed in
// the partition directory. Opening after an unclean stop scans the segments
// from the recovery point on and cuts a torn or corrupt tail at the last good
// batch; corruption below the recovery point is an error, never cut away.
//
// Config: a LogConfig (log_config.h), replaceable while the log is open
// (UpdateConfig); each append, roll and flush decision reads the config in
// force when it is made.
//
// Compaction: the log cleaner (log_cleaner.h) reads rolled segments through
// ReadSegmentForCleaning and swaps cleaned ones in with ReplaceSegments;
// Load completes or rolls back a swap a crash interrupted. Offsets never
// move: a cleaned segment keeps its records' offsets, with gaps where
// records went (between batches and inside them). A follower copying such
// a log rolls to a segment at the incoming batch's base offset when the
// offset would not fit the segment's 32-bit relative index. Whatever may
// remove records under the cleaner (truncation, retention, emptying, Load,
// Close, Delete), and a change of cleanup.policy, bumps generation(), which
// a swap and the cleaner's checkpoint check against the one its cleaning
// started from.
//
// A failure part way through a swap leaves the disk in a state only Load
// can finish: the log then refuses everything with a storage error
// (kKafkaStorageError), so its directory goes offline and nothing changes
// it before the restart completes the swap.
//
// Thread-safe: one mutex serialises appends, reads, maintenance and config
// changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/storage/checkpoint_file.h"
#include "broker/storage/file_system.h"
#include "broker/storage/leader_epoch_cache.h"
#include "broker/storage/log_config.h"
#include "broker/storage/log_validator.h"
#include "broker/storage/producer_state.h"
#include "broker/storage/segment.h"
#include "client/common/clock.h"
#include "client/common/ids.h"

namespace strata::storage {

struct LogAppendInfo {
  Offset first_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
  int32_t records = 0;
  size_t bytes = 0;
  // The append was a producer's retry (ProducerStateManager::CheckAppend):
  // nothing was appended, first_offset and last_offset are the original
  // batches', max_timestamp theirs, records and bytes 0.
  bool duplicate = false;
};

struct LogReadResult {
  // Whole batches, back to back; empty at the log end.
  std::string batches;
  Offset log_start_offset;
  Offset log_end_offset;
};

// The high watermarks of a log dir's partitions live in one file there
// (LogManager's kHighWatermarkCheckpointFile), rewritten every few seconds
// when one moved, one file sync for all of them; each partition's own
// checkpoint also records its high watermark whenever it is written (flush,
// roll, truncation, close). Which of the two is newer is told by a sequence
// number: the directory file carries the one it was written under, bumped
// before the file's high watermarks are read; a partition checkpoint records
// the one current when it is written. The directory file's value wins only
// when its sequence is higher: its high watermarks were read after the
// sequence moved past the one the partition checkpoint recorded. (A
// restart resumes the sequence at the highest of the file's and every
// recorded one; a damaged file is deleted, never left to come back.) A
// truncation that lowers the high watermark always rewrites the partition
// checkpoint, so a directory file read before it, with the higher high
// watermark the truncation took away, never wins over it. A partition
// checkpoint without a sequence (an older version's) wins, and is
// rewritten with one at load.
struct LogDirCheckpoint {
  // The directory's current sequence (owned by the LogManager, which
  // outlives its logs); nullptr: no directory file (tests, tools).
  const std::atomic<int64_t>* sequence = nullptr;
  // What the directory file held for this log at load, and its sequence.
  std::optional<int64_t> high_watermark;
  int64_t file_sequence = 0;
};

class Log {
 public:
  // Opens (creating when absent) the log in `dir`. `had_clean_shutdown`
  // says the last Close() completed, so no segment needs a recovery scan.
  static absl::StatusOr<std::unique_ptr<Log>> Open(FileSystem* fs, Clock* clock,
                                                   const std::string& dir, const LogConfig& config,
                                                   bool had_clean_shutdown,
                                                   LogDirCheckpoint dir_checkpoint = {});
  ~Log() = default;

  // Validates one batch from a producer record by record (size, then
  // ValidateProducerBatch in log_validator.h: CRC, attributes, every record,
  // timestamps), gives it the next offsets and `leader_epoch` (and, for a
  // LogAppendTime topic, the append time), and appends it. The producer's
  // bytes are stored as they came only when the topic's compression.type
  // is `producer` or the batch's own codec (or it is an uncompressed
  // control batch); otherwise the validator re-encodes it with the topic's
  // codec and that is what is stored. On success `*batch` holds the bytes
  // as stored (offsets, leader epoch, append time, codec); when validation
  // refuses it, it is unchanged. Errors: ResourceExhausted
  // (MESSAGE_TOO_LARGE) when larger than max.message.bytes as sent or as
  // stored (for a topic storing batches uncompressed, found while
  // decompressing, which stops at max.message.bytes - 61); otherwise those
  // of ValidateProducerBatch (InvalidArgument, DataLoss, INVALID_TIMESTAMP
  // payload); the log is unchanged.
  //
  // Idempotent producers (producer id >= 0): under the log's lock, before
  // offsets are assigned, the batch is checked against the producer's state
  // (ProducerStateManager::CheckAppend, producer_state.h; `origin` says which
  // rules apply): a retry of a batch still in the producer's last runs
  // appends nothing and answers with the original's offsets
  // (LogAppendInfo::duplicate); one out of sequence is
  // OUT_OF_ORDER_SEQUENCE_NUMBER (45), one from an older producer epoch
  // INVALID_PRODUCER_EPOCH (47), both FailedPrecondition with the Kafka code
  // attached (kafka_error.h). Those refusals, and a duplicate, come after
  // validation, so `*batch` may then already hold the bytes as they would
  // have been stored. Batches with producer id -1 are never checked.
  absl::StatusOr<LogAppendInfo> AppendAsLeader(std::string* batch, Epoch leader_epoch,
                                               AppendOrigin origin = AppendOrigin::kClient);
  // The same for several batches of one request: all are validated before
  // any is appended, so a bad one changes nothing, the caller's batches
  // included (and its error names it). The producer checks see the earlier
  // batches of the request; either every producer batch is a duplicate (a
  // retried request: nothing is appended, the answer spans the originals,
  // which must be contiguous) or none is (a mix is 45).
  absl::StatusOr<LogAppendInfo> AppendAsLeader(std::vector<std::string>* batches,
                                               Epoch leader_epoch,
                                               AppendOrigin origin = AppendOrigin::kClient);

  // Appends batches that already carry offsets (a follower copying its
  // leader). Each is validated; the first must start at or after the log
  // end. A partial trailing batch is ignored, as a Fetch response may end
  // with one. Nothing is appended when any batch is bad. Producer state is
  // updated as the leader's was (no sequence checks), so a follower's equals
  // its leader's for the same log end.
  absl::StatusOr<LogAppendInfo> AppendAsFollower(std::string_view batches);

  // Appends the marker that ends producer `producer_id`'s transaction in
  // this partition (WriteTxnMarkers: only the transaction coordinator, on
  // the partition leader, calls it): a control batch of the producer's id
  // and `producer_epoch` holding `marker`, stamped now and `leader_epoch`.
  // Under the log's lock, with the append, the producer's state is checked
  // (ProducerStateManager::CheckMarker): an older producer epoch is
  // INVALID_PRODUCER_EPOCH (47), an older coordinator epoch than the last
  // marker's TRANSACTION_COORDINATOR_FENCED (52), both FailedPrecondition
  // with the Kafka code attached; nothing is written then.
  absl::StatusOr<LogAppendInfo> AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                                record::EndTxnMarker marker, Epoch leader_epoch);
  // The first offset of the earliest transaction still open in this log,
  // or nullopt: the partition's last stable offset is the smaller of it and
  // the high watermark.
  std::optional<Offset> FirstUnstableOffset() const;
  // The aborted transactions overlapping [from, upper_bound) (Kafka's
  // collectAbortedTransactions): what a read_committed fetch of that range
  // returns so its consumer can drop their records. In marker order.
  absl::StatusOr<std::vector<AbortedTxn>> CollectAbortedTxns(Offset from, Offset upper_bound) const;

  // Reads from the batch holding `start`, up to `max_bytes` (but at least one
  // whole batch), stopping before any batch whose last offset is >=
  // `max_offset` (the high watermark for consumers; log_end_offset() for
  // followers). OutOfRange when `start` is outside [log start, log end].
  absl::StatusOr<LogReadResult> Read(Offset start, size_t max_bytes, Offset max_offset) const;

  // The first record whose timestamp is >= `timestamp` (its offset and its
  // own timestamp), or nullopt when every record is older (ListOffsets by
  // time).
  struct TimestampAndOffset {
    int64_t timestamp = -1;
    Offset offset{-1};
  };
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetForTimestamp(int64_t timestamp) const;
  // The first record with the largest timestamp in the log (ListOffsets
  // MAX_TIMESTAMP, KIP-734), or nullopt for an empty log.
  absl::StatusOr<std::optional<TimestampAndOffset>> MaxTimestampRecord() const;

  // Removes every record at or after `offset` (a follower dropping a
  // divergent suffix). A batch holding `offset` goes whole. Below the log
  // start, the log is emptied and restarts at `offset`. At or past the log
  // end no record goes, but epochs starting at the log end (assigned, never
  // written) are dropped. Producer state is reloaded for the new end: the
  // snapshots above it are deleted, the latest at or below it is loaded and
  // the batches after it replayed (Kafka's truncateAndReload).
  absl::Status TruncateTo(Offset offset);

  // --- Retention (Kafka's deleteOldSegments) ---
  // Segments that retention took out of the log: their files, renamed to
  // "<name>.deleted", are the caller's to delete once `delete_after_ms`
  // (the topic's file.delete.delay.ms) has passed.
  struct DeletedSegments {
    int count = 0;
    std::vector<std::string> files;
    int64_t delete_after_ms = 0;
  };
  // Takes out the oldest segments, in order, while each is wholly below the
  // high watermark (its last offset, or for the active segment the log end,
  // below it) and either lies wholly below the log start offset, or (with
  // cleanup.policy delete) has a largest timestamp older than retention.ms,
  // or leaves the log at or above retention.bytes without it. The active
  // segment goes too when it qualifies and holds records: the log rolls
  // first, so the log end stays. The log start moves to the first segment
  // left, when that is above it.
  absl::StatusOr<DeletedSegments> DeleteOldSegments();

  // Moves the log start offset up to `offset` (DeleteRecords on a leader; a
  // follower taking its leader's log start). Records below it are no longer
  // read; the segments wholly below it go at the next DeleteOldSegments.
  // Never moves it back. With `bounded_by_high_watermark` (a leader), an
  // offset above the high watermark is OutOfRange; otherwise it is capped at
  // the log end. Returns the log start offset after the call.
  absl::StatusOr<Offset> MaybeIncrementLogStartOffset(Offset offset,
                                                      bool bounded_by_high_watermark);

  // Empties the log and restarts it at `offset`, which becomes its start,
  // end, high watermark and recovery point: a follower whose leader's log
  // starts past this log's end has nothing to keep (Kafka's
  // truncateFullyAndStartAt). The epoch cache is cleared.
  absl::Status TruncateFullyAndStartAt(Offset offset);

  // --- Log cleaning (log_cleaner.h; Kafka's LogCleaner) ---
  // One segment as the cleaner sees it.
  struct SegmentInfo {
    Offset base_offset;
    Offset next_offset;
    uint64_t size = 0;
    int64_t max_timestamp = -1;
    int64_t first_batch_timestamp = -1;
    // When the segment was created (a roll, a cleaner's swap) or opened at
    // the log's load (Segment::created_ms). The cleaner times emptied
    // transaction markers from it.
    int64_t created_ms = -1;

    bool operator==(const SegmentInfo&) const = default;
  };
  struct CleaningView {
    // Oldest first; the last is the active segment.
    std::vector<SegmentInfo> segments;
    Offset log_start_offset;
    Offset high_watermark;
    // FirstUnstableOffset() when the view was taken: the cleaner cleans
    // nothing at or above it.
    std::optional<Offset> first_unstable_offset;
    LogConfig config;
    // generation() when the view was taken.
    uint64_t generation = 0;
  };
  // The segments, their offsets and the config, as they are now.
  absl::StatusOr<CleaningView> ViewForCleaning() const;
  // Bumped by whatever may take records out of the log other than a swap:
  // TruncateTo (when it removes anything), TruncateFullyAndStartAt,
  // DeleteOldSegments (when it takes a segment out), Load, Close, Delete
  // and a failed swap. Readable without the log's lock.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Called, under the log's lock, by TruncateTo and TruncateFullyAndStartAt
  // with the offset the log now ends at, before any append can follow: the
  // log cleaner moves its checkpoint back below it (Kafka's
  // maybeTruncateCheckpoint), or records written after the truncation
  // would count as cleaned. Its error is the truncation's.
  using TruncationListener = std::function<absl::Status(Offset log_end)>;
  void SetTruncationListener(TruncationListener listener);
  // Whether the log may skip offsets: the cleaner swapped a segment in, or
  // a follower append or a roll skipped offsets (a compacted leader's
  // copy). Kept in partition.checkpoint, so a topic whose cleanup.policy
  // changed from compact keeps it. Checked reads relax their offset
  // contiguity check for such a log (replica_repair.cc).
  bool may_have_gaps() const;
  // may_have_gaps() or compacted now (its cleaner may make gaps at any
  // time): what a checked read must allow, under one lock.
  bool MaySkipOffsets() const;
  // Whole batches of the segment at `base_offset` from byte `position` on:
  // at least one, otherwise at most about `max_bytes`; empty at the end.
  // Aborted when that segment is no longer in the log or no longer
  // `expected_size` bytes long (retention, truncation or another swap
  // got there first).
  absl::StatusOr<std::string> ReadSegmentForCleaning(Offset base_offset, uint64_t expected_size,
                                                     uint64_t position, size_t max_bytes) const;
  // Swaps the segment the cleaner wrote ("<base>.log.cleaned" and its
  // indexes, synced; `base` is old.front()'s) in for the consecutive
  // segments `old`, crash-safely, as Kafka does: the cleaned files are
  // renamed to ".swap" (the .log last: from then on the swap has begun),
  // the old segments' files to ".deleted", then the ".swap" files to their
  // final names, syncing the directory after each step; Load completes a
  // swap that a crash interrupted, replacing the old segments based below
  // the cleaned segment's end. Old segments based at or past that end (all
  // their records went) are only taken out: one a crash leaves behind
  // holds superseded records, which the next cleaning removes again.
  // Under the log's lock, so no read sees a half-swapped log; segments_
  // changes only once every rename is done and the new segment is open.
  // Aborted, with the cleaned files deleted and the log unchanged, when
  // the log's generation is no longer `generation` or `old` no longer
  // matches the log (a segment gone, resized, or now the active one). A
  // failure once the swap has begun is a storage failure
  // (kKafkaStorageError) that leaves the log refusing everything until a
  // restart completes the swap. Returns the ".deleted" files, the caller's
  // to delete after file.delete.delay.ms.
  // `cleaned_end` is the offset after the cleaned segment's last batch
  // (its base when it holds none), as the cleaner wrote it: no scan of the
  // file under the log's lock. Before the swap begins, the log records in
  // its checkpoint that it may skip offsets (refused as Aborted when that
  // write fails).
  absl::StatusOr<DeletedSegments> ReplaceSegments(const std::vector<SegmentInfo>& old,
                                                  Offset cleaned_end, uint64_t generation);

  // Rolls to a new, empty active segment (Kafka's Log.roll), unless the
  // active one is empty: what was written becomes cleanable.
  absl::Status Roll();

  // Fsyncs when flush.ms has passed since the last flush. Called
  // periodically. (segment.ms is checked on append, as in Kafka.)
  absl::Status MaybeFlushOnTime();
  // A replica becoming leader in `epoch` records that the epoch starts at
  // its log end, before any batch of it exists (Kafka's makeLeader), so
  // that OffsetForLeaderEpoch for any older epoch a follower holds finds
  // where that epoch ended here.
  absl::Status AssignLeaderEpoch(Epoch epoch);
  // OffsetForLeaderEpoch (KIP-101): where `epoch` ended in this log.
  EpochEndOffset EndOffsetForEpoch(Epoch epoch) const;
  std::optional<Epoch> latest_epoch() const;

  // Replaces the log's config. It applies from the next decision on: the
  // next append's validation and roll check, the next flush check (an
  // append validated just before the change still goes in). A segment keeps
  // its index.interval.bytes; segments created later take the new one.
  void UpdateConfig(const LogConfig& config);
  LogConfig config() const;

  // Makes everything appended durable and advances the recovery point.
  absl::Status Flush();

  // --- Idempotent producers (producer_state.h) ---
  // A copy of every producer's state (DescribeProducers), by producer id.
  std::vector<ProducerStateView> ActiveProducers() const;
  // Every producer's full state (runs included), by producer id: tests
  // compare a follower's with its leader's.
  std::vector<std::pair<int64_t, ProducerStateEntry>> ProducerEntries() const;
  // Forgets the producers with no open transaction whose last batch's max
  // timestamp is `expiration_ms` (producer.id.expiration.ms) or more before
  // `now_ms`; their next batch may start at any sequence. Returns how many.
  // A reload from a snapshot may bring them back until the next call.
  int RemoveExpiredProducers(int64_t now_ms, int64_t expiration_ms);

  // Flushes and checkpoints; after it, reopening needs no recovery.
  absl::Status Close();
  // Closes and deletes the log's directory. Holders of the Log may still
  // call it: every operation then fails with FailedPrecondition.
  absl::Status Delete();

  // The high watermark: every record below it is on every in-sync replica,
  // so consumers may see it. Kept with the recovery point in the partition
  // checkpoint (written on flush, roll, truncation and close) and in the
  // log dir's file (LogDirCheckpoint), so a restarted replica starts from
  // where it was rather than from 0.
  Offset high_watermark() const;
  // Raises the high watermark to `offset`, capped at the log end; never
  // lowers it (only truncation does). Returns whether it moved.
  bool MaybeIncrementHighWatermark(Offset offset);
  // The last stable offset: the high watermark, or the first offset of the
  // earliest transaction still open when that is lower. A read_committed
  // consumer reads below it only.
  Offset last_stable_offset() const;

  Offset log_start_offset() const;
  Offset log_end_offset() const;
  Offset recovery_point() const;
  // The log dir sequence its partition checkpoint recorded when the log
  // was opened (LogDirCheckpoint; 0 when none): the directory's sequence
  // resumes at the highest of these.
  int64_t loaded_dir_sequence() const { return loaded_dir_sequence_; }
  int num_segments() const;
  int64_t size_bytes() const;
  const std::string& dir() const { return dir_; }
  // Base offsets of the segments, oldest first.
  std::vector<Offset> segment_base_offsets() const;

 private:
  Log(FileSystem* fs, Clock* clock, std::string dir, const LogConfig& config);

  absl::Status Load(bool had_clean_shutdown, const LogDirCheckpoint& dir_checkpoint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes what a cleaning left half written (".cleaned") and completes
  // the swaps a crash interrupted (".swap"); see ReplaceSegments.
  absl::Status CompleteInterruptedSwaps() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rolls to a new active segment based at the log end, or at `at` when
  // that is past it (Kafka's roll(Some(firstOffset))). An empty active
  // segment is replaced rather than kept (at the same base: no roll).
  absl::Status RollLocked(std::optional<Offset> at = std::nullopt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts the log in the failed state (see the header comment) and returns
  // `status` as a storage failure; `doing` says what failed, for the log.
  absl::Status FailLocked(
      absl::Status status,
      std::string_view doing = "failed part way through swapping in a cleaned segment")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bumps generation_.
  void NewGeneration() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  absl::Status MaybeRollForAppend(const record::BatchHeader& header)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendLocked(const record::BatchHeader& header, std::string_view batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the partition checkpoint when what it says of the log changed
  // (or rewrite_checkpoint_).
  absl::Status WriteCheckpointLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `entries` as the partition checkpoint, with the log dir's
  // current sequence (LogDirCheckpoint).
  absl::Status WritePartitionCheckpointLocked(const CheckpointEntries& entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // In `seg`, the first record at or after `timestamp` (and the log start).
  absl::StatusOr<std::optional<TimestampAndOffset>> FirstRecordAtOrAfterLocked(
      const Segment& seg, int64_t timestamp) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Segment* active() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return segments_.rbegin()->second.get();
  }
  Offset log_end_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return active()->next_offset();
  }
  Segment::Options SegmentOptions() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the producer state for the log as it is: deletes the
  // snapshots outside [log start, log end], loads the latest valid one (a
  // corrupt one is deleted and the next older tried), replays the batch
  // headers after it and evicts the producers below the log start. Returns
  // the offset of the snapshot it started from, if any.
  absl::StatusOr<std::optional<Offset>> ReloadProducerStateLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the producer state as the snapshot at `offset` (everything below
  // it must be synced) and deletes the oldest beyond kProducerSnapshotsKept.
  absl::Status WriteProducerSnapshotLocked(Offset offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds `done` to `segment`'s aborted transactions when it was an abort,
  // with the last stable offset the abort leaves.
  absl::Status IndexIfAborted(Segment& segment, const std::optional<CompletedTxn>& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes and syncs the .txnindex of the cleaned segment at `stem`.
  absl::Status WriteCleanedTxnIndex(const std::string& stem, const std::vector<AbortedTxn>& aborted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the snapshots above `end`, or below `start`.
  absl::Status DeleteProducerSnapshotsOutsideLocked(Offset start, Offset end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The log start moved: producers wholly below it and snapshots below it go.
  absl::Status OnLogStartMovedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings the epoch cache in line with the segments after loading:
  // assigns epochs from the batches of `from` on, then trims to the log.
  absl::Status LoadEpochs(Offset from) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FileSystem* const fs_;
  Clock* const clock_;
  const std::string dir_;

  mutable absl::Mutex mu_;
  LogConfig config_ ABSL_GUARDED_BY(mu_);
  // By base offset; never empty once open.
  std::map<Offset, std::unique_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);
  Offset log_start_offset_ ABSL_GUARDED_BY(mu_){0};
  Offset recovery_point_ ABSL_GUARDED_BY(mu_){0};
  Offset high_watermark_ ABSL_GUARDED_BY(mu_){0};
  // What partition.checkpoint holds, as last written (or read) here, but
  // its dir-checkpoint-sequence.
  CheckpointEntries checkpointed_ ABSL_GUARDED_BY(mu_);
  // The next WriteCheckpointLocked writes even if checkpointed_ still
  // holds: the sequence the file records must become the current one (the
  // high watermark went below what a directory file may hold, or the file
  // has no sequence).
  bool rewrite_checkpoint_ ABSL_GUARDED_BY(mu_) = false;
  // The log dir's checkpoint sequence (LogDirCheckpoint::sequence); set by
  // Open.
  const std::atomic<int64_t>* dir_sequence_ = nullptr;
  // The sequence the partition checkpoint recorded when loaded (0: none).
  int64_t loaded_dir_sequence_ = 0;
  std::optional<LeaderEpochCache> epochs_ ABSL_GUARDED_BY(mu_);
  int64_t unflushed_messages_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_flush_ms_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // Set by a failed swap; CheckOpen returns it.
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  bool may_have_gaps_ ABSL_GUARDED_BY(mu_) = false;
  TruncationListener truncation_listener_ ABSL_GUARDED_BY(mu_);
  // Idempotent producers' state, as of the log end (applied in AppendLocked
  // once a batch is in its segment).
  ProducerStateManager producer_state_ ABSL_GUARDED_BY(mu_);
  // Offsets of the producer snapshots on disk, ascending.
  std::vector<Offset> producer_snapshots_ ABSL_GUARDED_BY(mu_);
};

// Producer snapshots a log keeps (besides deleting those below its log
// start): enough for a follower's truncation, which rarely reaches back
// more than a segment, to reload from one; a deeper one replays from the
// log start.
inline constexpr int kProducerSnapshotsKept = 3;

// Name of the checkpoint file in each partition directory.
inline constexpr char kPartitionCheckpointFile[] = "partition.checkpoint";

}  // namespace strata::storage
