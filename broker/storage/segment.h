// Segment: one piece of a partition log — `<base offset>.log` holding whole
// v2 record batches back to back, with its sparse `.index` (offset ->
// position) and `.timeindex` (timestamp -> offset) beside it, and, once a
// transaction's ABORT marker lands in it, `.txnindex` (txn_index.h). File
// names are the base offset in 20 digits, as Kafka names them.
//
// Batches arrive with their offsets already assigned and only ever go at the
// end. Reads find a batch through the index and scan forward at most one
// `index.interval.bytes` of headers.
//
// Descriptors: a segment holds at most one, and only while it is being
// written. The .log is opened for writing on the first append after the
// segment was created or opened and closed when it stops being the active
// segment (OnRoll, which Log::Close calls too); reads go through the write
// handle while there is one and otherwise through FileSystem::OpenForReading
// (LogManager's LRU of read handles — see caching_file_system.h), held only
// for the read. The indexes hold none (index_file.h). So an idle replica —
// rolled segments, and an active one nobody wrote to since start — holds no
// descriptor, and one being written holds one.
//
// Memory: the decoded index entries, 16 bytes each per offset- and
// time-index entry, one pair per `index.interval.bytes` (4 KiB) of log — 8
// KiB per MiB of log, 8 MiB per full 1 GiB segment — plus ~300 bytes per
// segment; no mmap.
//
// Not thread-safe: the owning Log serialises access.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"
#include "broker/storage/offset_index.h"
#include "broker/storage/time_index.h"
#include "broker/storage/txn_index.h"
#include "client/common/ids.h"
#include "client/record/record_batch.h"

namespace strata::storage {

// "00000000000000000042"
std::string SegmentFileStem(Offset base_offset);

// Deletes the files of the segment at `base_offset` in `dir`; files
// already gone (or never made: .txnindex) are not an error.
absl::Status DeleteSegmentFiles(FileSystem* fs, const std::string& dir, Offset base_offset);

// The suffix a segment's files take when retention removes the segment
// (Kafka's): they are deleted file.delete.delay.ms later, and any left at
// start are deleted then.
inline constexpr char kDeletedFileSuffix[] = ".deleted";

// Suffixes of a segment the log cleaner is writing (".cleaned") and of one
// it has finished and is swapping in (".swap"), as Kafka names them: a
// crash leaves ".cleaned" files to be deleted and ".swap" files to be
// completed when the log is next opened (Log::Load; see FORMAT.md).
inline constexpr char kCleanedFileSuffix[] = ".cleaned";
inline constexpr char kSwapFileSuffix[] = ".swap";

// The file extensions of a segment, .log last: a swap renames the indexes
// before the .log, so a ".log.swap" present means the segment's swap may be
// completed. A .txnindex exists only for a segment with aborts.
inline constexpr const char* kSegmentFileExtensions[] = {".index", ".timeindex", ".txnindex",
                                                         ".log"};

class Segment {
 public:
  struct Options {
    int32_t index_interval_bytes = 4096;
    // Time the segment came into being, for `segment.ms` when it holds no
    // batch yet (otherwise its first batch's timestamp counts).
    int64_t created_ms = 0;
  };

  // What a recovery scan found.
  struct RecoveryResult {
    // Bytes cut from the end of the .log (0 when it was intact).
    uint64_t truncated_bytes = 0;
    // Why, when something was cut.
    std::string reason;
  };

  // Creates a new, empty segment in `dir`; files that exist are emptied.
  static absl::StatusOr<std::unique_ptr<Segment>> Create(FileSystem* fs, const std::string& dir,
                                                         Offset base_offset,
                                                         const Options& options);
  // The same with `file_suffix` after each file name ("<base>.log.cleaned",
  // ...): the log cleaner writes a replacement segment under these names
  // and renames the files once it is complete.
  static absl::StatusOr<std::unique_ptr<Segment>> CreateWithSuffix(FileSystem* fs,
                                                                   const std::string& dir,
                                                                   Offset base_offset,
                                                                   const Options& options,
                                                                   const std::string& file_suffix);

  // Opens an existing segment without scanning its whole .log: indexes are
  // loaded (and rebuilt from the log when torn or inconsistent) and the tail
  // after the last index entry is read to learn the next offset. A tail that
  // does not parse is DataLoss: the caller runs Recover() when the segment
  // may hold unflushed data, and reports an error otherwise.
  static absl::StatusOr<std::unique_ptr<Segment>> Open(FileSystem* fs, const std::string& dir,
                                                       Offset base_offset, const Options& options);

  // Like Open, but for a segment that may hold a torn or corrupt tail after a
  // crash: every batch is read and CRC-checked and the indexes rebuilt. The
  // log is cut at the first bad batch — unless that batch starts below
  // `intact_below` (the recovery point: data that was synced), which is
  // corruption and reported as DataLoss without changing anything.
  static absl::StatusOr<std::unique_ptr<Segment>> OpenAndRecover(
      FileSystem* fs, const std::string& dir, Offset base_offset, const Options& options,
      Offset intact_below, RecoveryResult* result);

  // Appends one batch whose offsets were assigned and which was validated.
  // Its base offset must be >= next_offset().
  absl::Status Append(const record::BatchHeader& header, std::string_view batch);

  // Where the first batch with last offset >= `target` starts. nullopt when
  // every batch of the segment ends before `target`.
  struct BatchLocation {
    uint32_t position = 0;
    record::BatchHeader header;
  };
  absl::StatusOr<std::optional<BatchLocation>> FindBatch(Offset target) const;

  // First batch whose max timestamp is >= `timestamp`, or nullopt.
  absl::StatusOr<std::optional<BatchLocation>> FindBatchByTimestamp(int64_t timestamp) const;

  // Calls `fn` with the header of every batch, in order. DataLoss if a
  // header does not parse.
  absl::Status ForEachBatchHeader(const std::function<void(const record::BatchHeader&)>& fn) const;
  // The same with each batch's position in the .log.
  absl::Status ForEachBatchLocation(const std::function<void(const BatchLocation&)>& fn) const;

  // Up to `max_bytes` of the .log starting at `position` (fewer at the end).
  absl::StatusOr<std::string> ReadAt(uint64_t position, size_t max_bytes) const;

  // Removes every batch whose last offset is >= `offset` (a batch is never
  // split). Returns the bytes removed.
  absl::StatusOr<uint64_t> TruncateTo(Offset offset);

  // Makes the log and both indexes durable. Opens nothing for files that
  // have not changed since they were last synced.
  absl::Status Flush();
  // Called when the segment stops being the active one (and on close):
  // records the true max timestamp in the time index (so retention sees
  // it), flushes, and closes the write handle. A later append reopens it.
  absl::Status OnRoll();
  // Deletes the segment's files. The segment must not be used afterwards.
  absl::Status DeleteFiles();
  // Renames the segment's files to "<name>.deleted", closing its write
  // handle, and returns the new paths (files that do not exist are left
  // out). The segment must not be used afterwards.
  absl::StatusOr<std::vector<std::string>> RenameForDeletion();

  Offset base_offset() const { return base_offset_; }
  // One past the last offset held; base_offset() when empty.
  Offset next_offset() const { return next_offset_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size() == 0; }
  // Largest batch max timestamp held (-1 when empty).
  int64_t max_timestamp() const { return max_timestamp_; }
  // When the segment was created, or opened at start (Options::created_ms).
  int64_t created_ms() const { return options_.created_ms; }
  // The first batch's max timestamp (-1 when empty or unknown), which
  // max.compaction.lag.ms measures a dirty segment's age by.
  int64_t first_batch_timestamp() const { return first_batch_timestamp_.value_or(-1); }
  // How long the segment has been filling, for `segment.ms`, as Kafka
  // measures it: the incoming batch's timestamp minus the first batch's, so
  // that records with old timestamps do not roll a segment per append; the
  // wall-clock time since creation when the segment has no batch yet.
  int64_t TimeWaitedForRoll(int64_t now_ms, int64_t incoming_max_timestamp) const;
  const OffsetIndex& offset_index() const { return *offset_index_; }
  const TimeIndex& time_index() const { return *time_index_; }
  // The aborted transactions whose markers are in this segment.
  const TxnIndex& txn_index() const { return *txn_index_; }
  absl::Status AppendAbortedTxn(const AbortedTxn& txn) { return txn_index_->Append(txn); }
  // Drops the aborted transactions whose markers are at or above `offset`.
  absl::Status TruncateAbortedTxns(Offset offset) { return txn_index_->TruncateTo(offset); }
  absl::Status SyncTxnIndex() { return txn_index_->Sync(); }
  const std::string& log_path() const { return log_path_; }
  // Whether the segment holds a descriptor of its .log now (for tests).
  bool holds_write_handle() const { return writer_ != nullptr; }

 private:
  Segment(FileSystem* fs, std::string dir, Offset base_offset, const Options& options,
          std::string file_suffix = "")
      : fs_(fs),
        dir_(std::move(dir)),
        base_offset_(base_offset),
        options_(options),
        file_suffix_(std::move(file_suffix)),
        log_path_(JoinPath(dir_, SegmentFileStem(base_offset) + ".log" + file_suffix_)),
        next_offset_(base_offset) {}

  enum class Walk { kContinue, kStop };
  using BatchFn =
      std::function<Walk(uint64_t position, const record::BatchHeader&, std::string_view)>;
  // Calls `fn` for each batch from `position` on, with the batch's bytes when
  // `with_bytes` (else an empty view). Ends at the end of the file, when `fn`
  // says stop, or at a batch whose header is malformed or which runs past
  // the end of the file; then `*problem` describes it and `*problem_pos` is
  // its position. Only I/O errors are returned as errors.
  absl::Status WalkBatches(uint64_t position, bool with_bytes, const BatchFn& fn,
                           std::string* problem, uint64_t* problem_pos) const;
  // WalkBatches over headers only, a malformed batch being DataLoss naming
  // the segment and position.
  absl::Status WalkHeaders(
      uint64_t position,
      const std::function<Walk(uint64_t position, const record::BatchHeader&)>& fn) const;

  // The first batch from `start` on for which `wanted` is true.
  absl::StatusOr<std::optional<BatchLocation>> FindFirstBatch(
      uint64_t start, const std::function<bool(const record::BatchHeader&)>& wanted) const;
  // Loads both indexes (emptying them with `reset`).
  absl::Status LoadIndexes(bool reset);
  // Loads the .txnindex; `fresh` deletes an old one first (a new segment).
  absl::Status LoadTxnIndex(bool fresh);
  // Learns the .log's size, creating an empty .log when there is none.
  absl::Status StatLog();
  // A handle to read the .log through: the write handle when open, else a
  // (possibly shared, cached) read handle. Drop it after the read.
  absl::StatusOr<std::shared_ptr<const File>> Reader() const;
  // Opens the write handle unless it is open.
  absl::Status EnsureWriter();
  // Cuts the .log to `size` bytes, through the write handle when open.
  absl::Status TruncateLog(uint64_t size);
  // Reads every batch, rebuilding both indexes; stops at the first bad one.
  absl::Status Rebuild(Offset intact_below, bool truncate_bad_tail, RecoveryResult* result);
  // Reads the tail after the last index entry to learn next_offset_.
  absl::Status LoadTail();
  void Track(uint64_t position, const record::BatchHeader& header);
  absl::Status MaybeIndex(uint64_t position, const record::BatchHeader& header);

  FileSystem* fs_;
  std::string dir_;
  Offset base_offset_;
  Options options_;
  // After every file name; empty but for a segment the cleaner is writing.
  const std::string file_suffix_;

  const std::string log_path_;
  // Open only while the segment is being written (see the header comment).
  std::shared_ptr<File> writer_;
  // The .log's length, tracked here so that no descriptor is needed for it.
  uint64_t size_ = 0;
  // Whether the .log may hold bytes not yet synced.
  bool log_unsynced_ = false;
  std::optional<OffsetIndex> offset_index_;
  std::optional<TimeIndex> time_index_;
  std::optional<TxnIndex> txn_index_;

  Offset next_offset_;
  int64_t max_timestamp_ = -1;
  Offset offset_of_max_timestamp_{-1};
  std::optional<int64_t> first_batch_timestamp_;
  // Log bytes appended since the last index entry.
  uint64_t bytes_since_index_entry_ = 0;
};

}  // namespace strata::storage
