#include "broker/storage/log_cleaner.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log_validator.h"
#include "broker/storage/segment.h"
#include "client/common/numbers.h"
#include "client/record/compression.h"
#include "client/record/control_record.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

// Checkpoint format version: "1", the entry count, then per log
// "<topic> <partition> <first dirty offset> <passes> [<end> <time ms>]...".
constexpr int kCheckpointVersion = 1;
// Passes remembered per log; older ones merge into the next (their
// tombstones then wait longer, never less).
constexpr size_t kMaxPasses = 64;

bool IsCompacted(const LogConfig& config) { return IsCompacted(config.cleanup_policy); }

// Batches of a segment group, in order, as the cleaner reads them.
class SegmentReader {
 public:
  // `on_read` is told the size of every chunk read (the I/O throttle).
  SegmentReader(const Log& log, const Log::SegmentInfo& seg, size_t chunk,
                std::function<void(size_t)> on_read)
      : log_(log), seg_(seg), chunk_(chunk), on_read_(std::move(on_read)) {}

  // The next whole batch; false at the end (or on error, in status()).
  bool Next(record::BatchHeader* header, std::string_view* batch) {
    while (true) {
      if (it_ && it_->Next(header, batch)) return true;
      if (!status_.ok() || position_ >= seg_.size) return false;
      absl::StatusOr<std::string> bytes =
          log_.ReadSegmentForCleaning(seg_.base_offset, seg_.size, position_, chunk_);
      if (!bytes.ok()) {
        status_ = bytes.status();
        return false;
      }
      if (bytes->empty()) return false;
      buffer_ = std::move(*bytes);
      position_ += buffer_.size();
      it_.emplace(buffer_);
      on_read_(buffer_.size());
    }
  }
  const absl::Status& status() const { return status_; }

 private:
  const Log& log_;
  const Log::SegmentInfo seg_;
  const size_t chunk_;
  const std::function<void(size_t)> on_read_;
  uint64_t position_ = 0;
  std::string buffer_;
  std::optional<record::BatchIterator> it_;
  absl::Status status_;
};

// Whether `retention_ms` has passed from `since_ms` to `now_ms`, without
// the overflow of since + retention for a huge delete.retention.ms.
bool RetentionPassed(int64_t since_ms, int64_t retention_ms, int64_t now_ms) {
  return now_ms >= since_ms && now_ms - since_ms >= retention_ms;
}

// What a pass over a log's batches, in offset order, knows of its
// transactions (Kafka's CleanedTransactionMetadata). Everything the cleaner
// reads lies below the log's first unstable offset, so every transaction
// there has ended: a transactional batch is aborted when its producer's
// aborted transaction (an entry of the .txnindex, given at construction)
// has begun at or before the batch's last offset and that producer's ABORT
// marker has not been read since (the rule read_committed consumers apply,
// record::AbortedTransactionFilter), and committed otherwise. Per
// transaction it also tracks whether the pass read a batch of it and kept
// one, which decides what becomes of its marker.
class TxnTracker {
 public:
  explicit TxnTracker(std::vector<AbortedTxn> aborted) : aborted_(std::move(aborted)) {
    std::stable_sort(
        aborted_.begin(), aborted_.end(),
        [](const AbortedTxn& a, const AbortedTxn& b) { return a.first_offset < b.first_offset; });
  }

  // A data batch read: true when it belongs to an aborted transaction.
  bool OnDataBatch(const record::BatchHeader& h) {
    BeginAbortedUpTo(h.last_offset());
    if (!h.is_transactional()) return false;
    Txn& txn = open_[h.producer_id];
    txn.data_read = true;
    return txn.aborted;
  }
  // The transactional batch `h`, just passed to OnDataBatch, is in the
  // cleaned segment (whole, rewritten or emptied).
  void OnDataKept(const record::BatchHeader& h) {
    if (!h.is_transactional()) return;
    if (auto it = open_.find(h.producer_id); it != open_.end()) it->second.data_kept = true;
  }

  struct Marker {
    // nullopt: a control batch that is no transaction marker (kept as it is).
    std::optional<record::ControlType> type;
    // This pass read a batch of its transaction; and kept one.
    bool data_read = false;
    bool data_kept = false;
  };
  // A control batch read: it ends its producer's transaction.
  Marker OnControlBatch(const record::BatchHeader& h, std::string_view batch) {
    BeginAbortedUpTo(h.last_offset());
    Marker out;
    absl::StatusOr<record::EndTxnMarker> marker = record::ReadEndTxnMarker(batch);
    if (!marker.ok()) return out;
    out.type = marker->type;
    if (auto it = open_.find(h.producer_id); it != open_.end()) {
      out.data_read = it->second.data_read;
      out.data_kept = it->second.data_kept;
      open_.erase(it);
    }
    return out;
  }

  // Some committed transaction lost every batch this pass read of it, and
  // its marker was not read yet.
  bool EmptiedBeforeItsMarker() const {
    for (const auto& [producer_id, txn] : open_) {
      if (!txn.aborted && txn.data_read && !txn.data_kept) return true;
    }
    return false;
  }

 private:
  struct Txn {
    bool aborted = false;
    bool data_read = false;
    bool data_kept = false;
  };
  // The aborted transactions begun at or before `offset` are under way.
  void BeginAbortedUpTo(Offset offset) {
    while (next_ < aborted_.size() && aborted_[next_].first_offset <= offset) {
      Txn& txn = open_[aborted_[next_++].producer_id];
      if (!txn.aborted) txn = Txn{.aborted = true};
    }
  }

  std::vector<AbortedTxn> aborted_;  // by first offset; [next_, end) not begun
  size_t next_ = 0;
  // Producer id -> its transaction read so far, until its marker.
  absl::flat_hash_map<int64_t, Txn> open_;
};

// `original` with only `kept` (some of its records, in order) left, as
// Kafka's cleaner rewrites a batch: the same base offset and
// lastOffsetDelta, each record at its own offset, the same leader epoch,
// timestamp type and codec, an idempotent producer's id, epoch and base
// sequence, and the transactional bit (with lastOffsetDelta, its sequence range stays the
// original's, so producer state rebuilt from the log sees the same sequences).
absl::StatusOr<std::string> RebuildBatch(const record::BatchHeader& original,
                                         const std::vector<record::Record>& kept) {
  record::RecordBatchBuilder builder(original.base_offset);
  builder.set_partition_leader_epoch(original.partition_leader_epoch);
  if (original.producer_id >= 0) {
    builder.set_producer(original.producer_id, original.producer_epoch, original.base_sequence);
  }
  // A committed transaction's batch stays one: producer state rebuilt from
  // the log opens and closes the transaction as before.
  builder.set_transactional(original.is_transactional());
  for (const record::Record& r : kept) builder.AppendWithOffset(r);
  builder.set_last_offset_delta(original.last_offset_delta);
  // An emptied producer batch keeps its max timestamp (Kafka's
  // writeEmptyHeader): producer state rebuilt from it takes the producer's
  // last timestamp, hence its expiry, from there.
  builder.set_empty_batch_timestamp(original.max_timestamp);
  const std::string raw = builder.Build();
  // An emptied batch is written uncompressed, header only, as Kafka writes
  // one (a codec's frame around no records is bytes for nothing).
  absl::StatusOr<std::string> encoded =
      original.compression() == record::Compression::kNone || kept.empty()
          ? absl::StatusOr<std::string>(raw)
          : record::EncodeBatch(std::string_view(raw).substr(0, record::kBatchHeaderSize),
                                std::string_view(raw).substr(record::kBatchHeaderSize),
                                original.compression());
  if (!encoded.ok()) return encoded.status();
  if (original.timestamp_type() == record::TimestampType::kLogAppendTime) {
    // The broker's append time, kept (and the CRC with it).
    StampLogAppendTime(encoded->data(), encoded->size(), original.max_timestamp);
  }
  return encoded;
}

// Deletes the files of a cleaned segment unless Release()d: every way out
// of writing one that is not a swap leaves nothing behind.
class CleanedFilesGuard {
 public:
  explicit CleanedFilesGuard(Segment* segment) : segment_(segment) {}
  ~CleanedFilesGuard() {
    if (segment_ == nullptr) return;
    if (absl::Status s = segment_->DeleteFiles(); !s.ok()) {
      LOG(WARNING) << "Cannot delete a cleaned segment's files: " << s;
    }
  }
  void Release() { segment_ = nullptr; }

 private:
  Segment* segment_;
};

}  // namespace

// ---------------------------------------------------------------------------
// OffsetMap

OffsetMap::OffsetMap(int64_t memory_bytes, double load_factor) {
  slots_count_ =
      std::max<size_t>(1, static_cast<size_t>(std::max<int64_t>(memory_bytes, 0)) / kBytesPerEntry);
  max_entries_ = std::min(slots_count_ - (slots_count_ > 1 ? 1 : 0),
                          static_cast<size_t>(static_cast<double>(slots_count_) * load_factor));
}

OffsetMap::Hash OffsetMap::HashKey(std::string_view key) {
  // Fetched once: an implicit fetch per key costs more than the hash.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CHECK(sha256 != nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  CHECK_EQ(EVP_Digest(key.data(), key.size(), digest, &length, sha256, nullptr), 1);
  Hash h;
  std::memcpy(h.data(), digest, sizeof(h));
  return h;
}

size_t OffsetMap::Find(const Hash& hash) const {
  size_t i = hash[0] % slots_count_;
  while (true) {
    const Slot& s = slots_[i];
    if (s.offset < 0 || (s.hash_high == hash[0] && s.hash_low == hash[1])) return i;
    i = i + 1 == slots_count_ ? 0 : i + 1;
  }
}

bool OffsetMap::Put(std::string_view key, Offset offset) {
  if (slots_.empty()) slots_.resize(slots_count_);
  const Hash hash = HashKey(key);
  Slot& slot = slots_[Find(hash)];
  if (slot.offset < 0) {
    if (size_ >= max_entries_) return false;
    slot.hash_high = hash[0];
    slot.hash_low = hash[1];
    ++size_;
  }
  slot.offset = std::max(slot.offset, offset.value());
  return true;
}

std::optional<Offset> OffsetMap::Get(std::string_view key) const {
  if (slots_.empty()) return std::nullopt;
  const Slot& slot = slots_[Find(HashKey(key))];
  if (slot.offset < 0) return std::nullopt;
  return Offset(slot.offset);
}

void OffsetMap::Clear() {
  if (size_ > 0) std::fill(slots_.begin(), slots_.end(), Slot{});
  size_ = 0;
}

// ---------------------------------------------------------------------------
// LogCleaner

LogCleaner::LogCleaner(FileSystem* fs, Clock* clock, CleanerOptions options, LogsFn logs,
                       DeletedFn on_deleted, FailureFn on_failure)
    : fs_(fs),
      clock_(clock),
      options_(std::move(options)),
      logs_(std::move(logs)),
      on_deleted_(std::move(on_deleted)),
      on_failure_(std::move(on_failure)) {}

LogCleaner::~LogCleaner() { Stop(); }

void LogCleaner::Start() {
  absl::MutexLock l(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Run(); });
  }
  LOG(INFO) << "Log cleaner started: " << threads_.size() << " thread(s), "
            << options_.dedupe_buffer_size << " bytes of offset map";
}

void LogCleaner::Stop() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void LogCleaner::Run() {
  OffsetMap map(options_.dedupe_buffer_size / std::max(1, options_.threads),
                options_.io_buffer_load_factor);
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::optional<Stats>> cleaned = CleanDirtiestLog(&map);
    // More may be due at once; but a cleaning that got nowhere waits.
    if (cleaned.ok() && cleaned->has_value() &&
        ((*cleaned)->end_offset > (*cleaned)->first_dirty_offset ||
         (*cleaned)->segments_written > 0)) {
      continue;
    }
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(options_.backoff_ms));
  }
}

LogCleaner::DirState& LogCleaner::DirLocked(const std::string& log_dir) {
  DirState& dir = dirs_[log_dir];
  if (dir.loaded) return dir;
  dir.loaded = true;
  const std::string path = JoinPath(log_dir, kCleanerCheckpointFile);
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(path, /*create=*/false);
  if (!file.ok()) return dir;  // never written: every log is dirty from its start
  absl::StatusOr<std::string> text = (*file)->ReadAll();
  if (!text.ok()) {
    LOG(WARNING) << "Cannot read " << path << ": " << text.status()
                 << "; every log of the dir counts as dirty";
    return dir;
  }
  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  if (lines.size() < 2 || lines[0] != std::to_string(kCheckpointVersion)) {
    LOG(WARNING) << path << " is not a cleaner checkpoint this version reads; ignored";
    return dir;
  }
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    std::optional<int32_t> partition = f.size() >= 4 ? ParseInteger<int32_t>(f[1]) : std::nullopt;
    std::optional<int64_t> dirty = f.size() >= 4 ? ParseInteger<int64_t>(f[2]) : std::nullopt;
    std::optional<int64_t> passes = f.size() >= 4 ? ParseInteger<int64_t>(f[3]) : std::nullopt;
    if (!partition || !dirty || !passes || *passes < 0 ||
        f.size() != 4 + 2 * static_cast<size_t>(*passes)) {
      LOG(WARNING) << "Skipping malformed line " << i << " of " << path;
      continue;
    }
    LogState state;
    state.first_dirty_offset = *dirty;
    bool ok = true;
    for (int64_t p = 0; p < *passes; ++p) {
      std::optional<int64_t> end = ParseInteger<int64_t>(f[4 + 2 * p]);
      std::optional<int64_t> time = ParseInteger<int64_t>(f[5 + 2 * p]);
      if (!end || !time) ok = false;
      if (ok) state.passes.push_back(Pass{*end, *time});
    }
    if (ok) dir.logs[TopicPartition{f[0], PartitionId(*partition)}] = std::move(state);
  }
  return dir;
}

absl::Status LogCleaner::WriteCheckpointLocked(const std::string& log_dir) {
  const DirState& dir = DirLocked(log_dir);
  std::string out = absl::StrCat(kCheckpointVersion, "\n", dir.logs.size(), "\n");
  for (const auto& [tp, state] : dir.logs) {
    absl::StrAppend(&out, tp.topic, " ", tp.partition.value(), " ", state.first_dirty_offset, " ",
                    state.passes.size());
    for (const Pass& p : state.passes) absl::StrAppend(&out, " ", p.end_offset, " ", p.time_ms);
    out += "\n";
  }
  return fs_->WriteFileAtomically(JoinPath(log_dir, kCleanerCheckpointFile), out);
}

std::optional<Offset> LogCleaner::FirstDirtyOffset(const TopicPartition& tp,
                                                   const std::string& log_dir) {
  absl::MutexLock l(&mu_);
  const DirState& dir = DirLocked(log_dir);
  auto it = dir.logs.find(tp);
  if (it == dir.logs.end()) return std::nullopt;
  return Offset(it->second.first_dirty_offset);
}

void LogCleaner::RemoveLog(const TopicPartition& tp, const std::string& log_dir) {
  absl::MutexLock l(&mu_);
  uncleanable_.erase(tp);
  paused_.erase(tp);
  marker_fences_.erase(tp);
  if (DirLocked(log_dir).logs.erase(tp) == 0) return;
  if (absl::Status s = WriteCheckpointLocked(log_dir); !s.ok()) {
    LOG(WARNING) << "Cannot write the cleaner checkpoint of " << log_dir << ": " << s;
  }
}

void LogCleaner::AbortAndPauseCleaning(const TopicPartition& tp) {
  absl::MutexLock l(&mu_);
  paused_.insert(tp);
  auto done = [this, &tp]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !in_progress_.contains(tp); };
  mu_.Await(absl::Condition(&done));
}

void LogCleaner::ResumeCleaning(const TopicPartition& tp) {
  absl::MutexLock l(&mu_);
  paused_.erase(tp);
}

absl::Status LogCleaner::MaybeTruncateCheckpoint(const TopicPartition& tp,
                                                 const std::string& log_dir, Offset log_end) {
  absl::MutexLock l(&mu_);
  DirState& dir = DirLocked(log_dir);
  auto it = dir.logs.find(tp);
  if (it == dir.logs.end()) return absl::OkStatus();
  LogState& state = it->second;
  bool changed = false;
  if (state.first_dirty_offset > log_end.value()) {
    LOG(INFO) << "The log of " << tp.ToString() << " was truncated to " << log_end
              << ": its dirty part now starts there, not at " << state.first_dirty_offset;
    state.first_dirty_offset = log_end.value();
    changed = true;
  }
  for (Pass& p : state.passes) {
    if (p.end_offset > log_end.value()) {
      p.end_offset = log_end.value();
      changed = true;
    }
  }
  if (!changed) return absl::OkStatus();
  absl::Status s = WriteCheckpointLocked(log_dir);
  if (!s.ok() && !IsStorageFailure(s)) {
    // A stale file would, after a restart, count tombstones written past
    // the truncation as seen by an older pass and drop them early; the
    // directory goes offline rather than risk that (LogManager checks each
    // log against the file again when it loads).
    s = WithKafkaError(std::move(s), kKafkaStorageError);
  }
  return s;
}

LogCleaner::CleanableRange LogCleaner::RangeOf(const TopicPartition& tp, const std::string& log_dir,
                                               const Log::CleaningView& view) {
  absl::MutexLock l(&mu_);
  return RangeLocked(tp, log_dir, view);
}

LogCleaner::CleanableRange LogCleaner::RangeLocked(const TopicPartition& tp,
                                                   const std::string& log_dir,
                                                   const Log::CleaningView& view) {
  CleanableRange range;
  const std::vector<Log::SegmentInfo>& segs = view.segments;
  const Log::SegmentInfo& active = segs.back();
  const Offset log_end = active.next_offset;
  const LogConfig& config = view.config;
  const int64_t now = clock_->NowMs();

  const DirState& dir = DirLocked(log_dir);
  auto it = dir.logs.find(tp);
  Offset first_dirty = view.log_start_offset;
  if (it != dir.logs.end()) {
    const Offset checkpointed(it->second.first_dirty_offset);
    if (checkpointed > log_end) {
      // The log was truncated below what was cleaned: start over.
      LOG(WARNING) << "The cleaner checkpoint of " << tp.ToString() << " (" << checkpointed
                   << ") is past its log end " << log_end << "; cleaning from its start";
    } else {
      first_dirty = std::max(checkpointed, view.log_start_offset);
    }
  }
  range.first_dirty_offset = first_dirty;

  // The first uncleanable offset: never the active segment, never the
  // segment holding the high watermark (a truncation may still take its
  // records) or the first unstable offset (an open transaction's records
  // may still be aborted; Kafka cleans below the last stable offset only),
  // never a segment with records younger than the minimum compaction lag.
  Offset uncleanable = std::min(active.base_offset, view.high_watermark);
  if (view.first_unstable_offset.has_value()) {
    // One left open below the log start holds nothing there is to clean.
    uncleanable =
        std::min(uncleanable, std::max(*view.first_unstable_offset, view.log_start_offset));
  }
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (segs[i].next_offset > uncleanable) {
      uncleanable = std::min(uncleanable, segs[i].base_offset);
      break;
    }
  }
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const Log::SegmentInfo& s = segs[i];
    if (s.next_offset <= first_dirty) continue;
    if (config.min_compaction_lag_ms > 0 && s.max_timestamp >= 0 &&
        s.max_timestamp > now - config.min_compaction_lag_ms) {
      uncleanable = std::min(uncleanable, s.base_offset);
      break;
    }
  }
  range.first_uncleanable_offset = std::max(uncleanable, first_dirty);

  bool oldest_dirty_seen = false;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const Log::SegmentInfo& s = segs[i];
    if (s.next_offset <= first_dirty) {
      range.clean_bytes += static_cast<int64_t>(s.size);
    } else if (s.base_offset < range.first_uncleanable_offset &&
               first_dirty < range.first_uncleanable_offset) {
      range.dirty_bytes += static_cast<int64_t>(s.size);
      // max.compaction.lag.ms: the oldest dirty record waited long enough.
      const int64_t first_ts =
          s.first_batch_timestamp >= 0 ? s.first_batch_timestamp : s.max_timestamp;
      if (!oldest_dirty_seen && first_ts >= 0 &&
          config.max_compaction_lag_ms < std::numeric_limits<int64_t>::max() &&
          now - first_ts > config.max_compaction_lag_ms) {
        range.must_clean = true;
      }
      oldest_dirty_seen = true;
    }
  }
  const int64_t total = range.clean_bytes + range.dirty_bytes;
  range.dirty_ratio = total > 0 ? static_cast<double>(range.dirty_bytes) / total : 0;
  // Tombstones a cleaning kept whose delete.retention.ms has passed.
  if (it != dir.logs.end()) {
    for (const Pass& p : it->second.passes) {
      if (RetentionPassed(p.time_ms, config.delete_retention_ms, now) && range.clean_bytes > 0) {
        range.must_clean = true;
      }
    }
  }
  return range;
}

absl::StatusOr<std::optional<LogCleaner::Stats>> LogCleaner::CleanDirtiestLog(OffsetMap* map) {
  // Views first, without the cleaner's lock: a log's lock comes first.
  std::vector<std::pair<CleanableLog, Log::CleaningView>> candidates;
  for (CleanableLog& c : logs_()) {
    if (!IsCompacted(c.log->config())) continue;
    absl::StatusOr<Log::CleaningView> view = c.log->ViewForCleaning();
    if (view.ok()) candidates.emplace_back(std::move(c), std::move(*view));
  }
  std::optional<CleanableLog> chosen;
  {
    absl::MutexLock l(&mu_);
    double best = -1;
    for (const auto& [c, view] : candidates) {
      if (in_progress_.contains(c.tp) || uncleanable_.contains(c.tp) || paused_.contains(c.tp)) {
        continue;
      }
      const CleanableRange range = RangeLocked(c.tp, c.log_dir, view);
      const bool due =
          range.must_clean ||
          (range.dirty_bytes > 0 && range.dirty_ratio >= view.config.min_cleanable_dirty_ratio);
      if (!due) continue;
      // Forced cleanings first, then the dirtiest.
      const double score = range.dirty_ratio + (range.must_clean ? 2 : 0);
      if (score > best) {
        best = score;
        chosen = c;
      }
    }
    if (!chosen) return std::nullopt;
    in_progress_.insert(chosen->tp);
  }
  absl::StatusOr<Stats> stats = Clean(*chosen, map);
  bool report = false;
  {
    absl::MutexLock l(&mu_);
    in_progress_.erase(chosen->tp);
    if (stats.ok()) return std::optional<Stats>(*stats);
    if (absl::IsAborted(stats.status()) || absl::IsFailedPrecondition(stats.status())) {
      LOG(INFO) << "Cleaning of " << chosen->tp.ToString() << " stopped: " << stats.status();
    } else if (absl::IsUnimplemented(stats.status())) {
      // Once per log and process: it is skipped from now on.
      LOG(WARNING) << "Not cleaning " << chosen->tp.ToString() << ": " << stats.status().message();
      uncleanable_.insert(chosen->tp);
    } else {
      LOG(ERROR) << "Cleaning of " << chosen->tp.ToString() << " failed: " << stats.status()
                 << "; the log is not cleaned again until a restart";
      uncleanable_.insert(chosen->tp);
      report = true;
    }
  }
  if (report && on_failure_) on_failure_(*chosen, stats.status());
  return stats.status();
}

absl::StatusOr<LogCleaner::Stats> LogCleaner::CleanLog(const CleanableLog& log) {
  {
    absl::MutexLock l(&mu_);
    if (in_progress_.contains(log.tp) || paused_.contains(log.tp)) {
      return absl::AbortedError(absl::StrCat(log.tp.ToString(), " is being cleaned or is paused"));
    }
    in_progress_.insert(log.tp);
  }
  OffsetMap map(options_.dedupe_buffer_size / std::max(1, options_.threads),
                options_.io_buffer_load_factor);
  absl::StatusOr<Stats> stats = Clean(log, &map);
  absl::MutexLock l(&mu_);
  in_progress_.erase(log.tp);
  return stats;
}

void LogCleaner::ThrottleIo(const TopicPartition& tp, size_t bytes) {
  const double rate = options_.io_max_bytes_per_second;
  if (!(rate > 0) || std::isinf(rate)) return;
  absl::Duration wait;
  {
    absl::MutexLock l(&throttle_mu_);
    const absl::Time now = absl::Now();
    if (now - throttle_start_ > absl::Seconds(1) &&
        throttle_bytes_ <= rate * absl::ToDoubleSeconds(now - throttle_start_)) {
      // Under the rate over a second or more: a new period, so idle time
      // banks no credit for a burst.
      throttle_start_ = now;
      throttle_bytes_ = 0;
    }
    throttle_bytes_ += static_cast<double>(bytes);
    // How long the period's bytes take at the rate, against how long it
    // has run (Kafka's Throttler; shared by every cleaner thread).
    wait = absl::Seconds(throttle_bytes_ / rate) - (now - throttle_start_);
  }
  if (wait <= absl::ZeroDuration()) return;
  // Woken at once by an abort or a stop.
  absl::MutexLock l(&mu_);
  auto woken = [this, &tp]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || paused_.contains(tp); };
  mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
}

absl::Status LogCleaner::CheckRunning(const TopicPartition& tp, const Log& log,
                                      uint64_t generation) {
  if (log.generation() != generation) {
    return absl::AbortedError(
        absl::StrCat("the log of ", tp.ToString(),
                     " was truncated, lost segments, closed or stopped being compacted meanwhile"));
  }
  absl::MutexLock l(&mu_);
  if (stopping_) return absl::AbortedError("the cleaner is stopping");
  if (paused_.contains(tp)) {
    return absl::AbortedError(absl::StrCat("the cleaning of ", tp.ToString(), " was aborted"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LogCleaner::Stats> LogCleaner::Clean(const CleanableLog& target, OffsetMap* map) {
  Log& log = *target.log;
  absl::StatusOr<Log::CleaningView> view = log.ViewForCleaning();
  if (!view.ok()) return view.status();
  const LogConfig& config = view->config;
  if (!IsCompacted(config)) {
    return absl::FailedPreconditionError(
        absl::StrCat(target.tp.ToString(), " is not compacted (cleanup.policy)"));
  }
  const uint64_t generation = view->generation;
  const int64_t now = clock_->NowMs();
  auto throttle = [this, &target](size_t bytes) { ThrottleIo(target.tp, bytes); };
  CleanableRange range;
  int64_t horizon = -1;  // tombstones and emptied markers below it may go
  // Emptied markers at or above it stay (see MarkerFence).
  int64_t fenced_from = std::numeric_limits<int64_t>::max();
  {
    absl::MutexLock l(&mu_);
    range = RangeLocked(target.tp, target.log_dir, *view);
    const DirState& dir = DirLocked(target.log_dir);
    if (auto it = dir.logs.find(target.tp); it != dir.logs.end()) {
      for (const Pass& p : it->second.passes) {
        if (RetentionPassed(p.time_ms, config.delete_retention_ms, now)) {
          horizon = std::max(horizon, std::min(p.end_offset, range.first_dirty_offset.value()));
        }
      }
    }
    if (auto it = marker_fences_.find(target.tp); it != marker_fences_.end()) {
      std::erase_if(it->second, [&](const MarkerFence& f) {
        return RetentionPassed(f.time_ms, config.delete_retention_ms, now);
      });
      for (const MarkerFence& f : it->second) fenced_from = std::min(fenced_from, f.from_offset);
      if (it->second.empty()) marker_fences_.erase(it);
    }
  }
  Stats stats;
  stats.first_dirty_offset = range.first_dirty_offset;
  stats.end_offset = range.first_dirty_offset;
  stats.dirty_ratio = range.dirty_ratio;
  const std::vector<Log::SegmentInfo>& segs = view->segments;
  const Offset first_dirty = range.first_dirty_offset;
  const Offset uncleanable = range.first_uncleanable_offset;
  auto decode_error = [&log](const record::BatchHeader& h, const absl::Status& s) {
    return absl::DataLossError(absl::StrCat("cannot decode the batch at offset ",
                                            h.base_offset.value(), " of ", log.dir(), ": ",
                                            s.message()));
  };

  // 1. The offset map over [first dirty, first uncleanable). Records of
  //    aborted transactions and markers are not mapped: an aborted record
  //    is no key's latest value, so it never hides a committed older one.
  map->Clear();
  Offset end = uncleanable;
  std::vector<AbortedTxn> aborted_in_map;
  if (uncleanable > first_dirty) {
    absl::StatusOr<std::vector<AbortedTxn>> aborted =
        log.CollectAbortedTxns(first_dirty, uncleanable);
    if (!aborted.ok()) return aborted.status();
    aborted_in_map = std::move(*aborted);
  }
  TxnTracker map_txns(std::move(aborted_in_map));
  for (size_t i = 0; i + 1 < segs.size() && end == uncleanable; ++i) {
    const Log::SegmentInfo& s = segs[i];
    if (s.next_offset <= first_dirty) continue;
    if (s.base_offset >= uncleanable) break;
    SegmentReader reader(log, s, options_.read_chunk_bytes, throttle);
    record::BatchHeader h;
    std::string_view batch;
    while (end == uncleanable && reader.Next(&h, &batch)) {
      if (absl::Status r = CheckRunning(target.tp, log, generation); !r.ok()) return r;
      if (h.base_offset >= uncleanable) break;
      if (h.is_control()) {
        map_txns.OnControlBatch(h, batch);
        continue;
      }
      if (map_txns.OnDataBatch(h)) continue;  // aborted
      if (h.records_count == 0 || h.next_offset() <= first_dirty) continue;
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) return decode_error(h, records.status());
      for (const record::Record& r : *records) {
        if (r.offset < first_dirty || r.offset >= uncleanable || !r.key) continue;
        if (!map->Put(*r.key, r.offset)) {
          end = r.offset;
          stats.map_full = true;
          break;
        }
      }
    }
    if (!reader.status().ok()) return reader.status();
  }
  if (end <= first_dirty && uncleanable > first_dirty) {
    return absl::ResourceExhaustedError(absl::StrCat("the offset map (", map->capacity(),
                                                     " keys) holds no key of ", log.dir(),
                                                     "; raise log.cleaner.dedupe.buffer.size"));
  }
  stats.end_offset = end;

  // 2. Segments to rewrite: the rolled ones from the start up to `end`,
  //    grouped so each group fits one segment. A cleaned batch is never
  //    larger than its source (one batch per source batch), so the group's
  //    size bounds the output's.
  std::vector<std::vector<Log::SegmentInfo>> groups;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const Log::SegmentInfo& s = segs[i];
    if (s.base_offset >= end) break;
    if (!groups.empty()) {
      std::vector<Log::SegmentInfo>& g = groups.back();
      uint64_t bytes = 0;
      for (const Log::SegmentInfo& x : g) bytes += x.size;
      const bool fits =
          bytes + s.size <= static_cast<uint64_t>(config.segment_bytes) &&
          s.next_offset - g.front().base_offset - 1 <= int64_t{std::numeric_limits<int32_t>::max()};
      if (fits) {
        g.push_back(s);
        continue;
      }
    }
    groups.push_back({s});
  }

  // Each idempotent producer's last batch stays, as Kafka's cleaner keeps
  // it (BatchRetention.RETAIN_EMPTY): its records are cleaned like any, and
  // when none is left it is kept as an empty batch with its producer id,
  // epoch, base sequence and lastOffsetDelta, so that producer state
  // rebuilt from the log still finds the sequences a retry may repeat.
  // A transaction marker after a producer's last data batch (of its
  // current epoch) stays too: it carries the producer's epoch and its
  // coordinator's, which fence zombies once producer state is rebuilt.
  // Batches appended meanwhile only move a producer's last batch up, out
  // of what is cleaned.
  struct ProducerLast {
    int64_t data_offset = -1;  // its last data batch's last offset; -1 none
    int16_t epoch = -1;
  };
  absl::flat_hash_map<int64_t, ProducerLast> producers;
  for (const auto& [producer_id, entry] : log.ProducerEntries()) {
    const ProducerRun* run = entry.newest();
    producers[producer_id] = ProducerLast{run != nullptr ? run->last_offset : -1, entry.epoch};
  }

  // The aborted transactions over the rewritten segments, whose records go.
  std::vector<AbortedTxn> aborted_in_groups;
  if (!groups.empty()) {
    absl::StatusOr<std::vector<AbortedTxn>> aborted = log.CollectAbortedTxns(
        groups.front().front().base_offset, groups.back().back().next_offset);
    if (!aborted.ok()) return aborted.status();
    aborted_in_groups = std::move(*aborted);
  }
  TxnTracker txns(std::move(aborted_in_groups));
  // Set once a swapped group removed the last batches this cleaning read of
  // a committed transaction whose marker is in a later group: should the
  // cleaning stop before that group is swapped too, the marker's segment
  // keeps an old write time, so markers from there on are fenced for
  // delete.retention.ms (in memory: a restart renews every segment's time).
  std::optional<int64_t> fence_from;
  int64_t fence_time = now;  // when that group was swapped in
  bool completed = false;
  absl::Cleanup fence = [&] {
    if (completed || !fence_from.has_value()) return;
    absl::MutexLock l(&mu_);
    marker_fences_[target.tp].push_back(MarkerFence{*fence_from, fence_time});
  };

  // 3. Each group: filter into "<base>.log.cleaned", then swap it in.
  for (const std::vector<Log::SegmentInfo>& group : groups) {
    if (absl::Status r = CheckRunning(target.tp, log, generation); !r.ok()) return r;
    const Offset base = group.front().base_offset;
    Segment::Options seg_options{config.index_interval_bytes, now};
    absl::StatusOr<std::unique_ptr<Segment>> cleaned =
        Segment::CreateWithSuffix(fs_, log.dir(), base, seg_options, kCleanedFileSuffix);
    if (!cleaned.ok()) return cleaned.status();
    CleanedFilesGuard guard(cleaned->get());
    bool changed = group.size() > 1;
    auto write = [&](std::string_view bytes) -> absl::Status {
      absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(bytes);
      if (!h.ok()) return h.status();
      stats.bytes_written += static_cast<int64_t>(bytes.size());
      absl::Status appended = (*cleaned)->Append(*h, bytes);
      throttle(bytes.size());
      return appended;
    };
    for (const Log::SegmentInfo& s : group) {
      ++stats.segments_read;
      stats.bytes_read += static_cast<int64_t>(s.size);
      SegmentReader reader(log, s, options_.read_chunk_bytes, throttle);
      record::BatchHeader h;
      std::string_view batch;
      while (reader.Next(&h, &batch)) {
        if (absl::Status r = CheckRunning(target.tp, log, generation); !r.ok()) return r;
        if (h.is_control()) {
          // A marker is kept or dropped whole, never rewritten.
          const TxnTracker::Marker marker = txns.OnControlBatch(h, batch);
          bool keep = true;
          if (marker.type == record::ControlType::kCommit && !marker.data_read) {
            // No batch of its transaction is left. It goes once
            // delete.retention.ms has passed both since a cleaning covered
            // it (the passes, as for tombstones) and since its segment was
            // written: a cleaning that removes a transaction's last batches
            // rewrites its marker's segment (below), so a reader that saw
            // the data has delete.retention.ms to reach the marker.
            auto last = producers.find(h.producer_id);
            const bool producers_last = last != producers.end() &&
                                        h.base_offset.value() > last->second.data_offset &&
                                        h.producer_epoch == last->second.epoch;
            const bool due = h.base_offset.value() < horizon &&
                             RetentionPassed(s.created_ms, config.delete_retention_ms, now) &&
                             h.base_offset.value() < fenced_from;
            if (producers_last) {
              // Kept, as its producer's last entry.
            } else if (due) {
              keep = false;
              ++stats.txn_markers_removed;
            } else {
              ++stats.txn_markers_kept_empty;
            }
          } else if (marker.type == record::ControlType::kCommit && !marker.data_kept) {
            // This cleaning removed its transaction's last batches: the
            // segment is written again, so its time starts now.
            changed = true;
          }
          // An ABORT marker always stays: its .txnindex entry stays with
          // the segments (Log::ReplaceSegments keeps every entry), and a
          // read_committed consumer given that entry drops the producer's
          // transactional batches until it reads the producer's ABORT
          // marker, so without it a later committed transaction of the
          // producer would be lost to it. A control batch that is no
          // transaction marker is kept as Kafka keeps it.
          if (!keep) {
            changed = true;
            continue;
          }
          if (absl::Status w = write(batch); !w.ok()) return w;
          continue;
        }
        const bool aborted = txns.OnDataBatch(h);
        if (h.records_count == 0) {
          // Emptied by an earlier cleaning as its producer's last batch: it
          // stays while it still is (its sequences), and goes once the
          // producer wrote a later one (Kafka's DELETE_EMPTY).
          auto last = producers.find(h.producer_id);
          const bool still_last = h.producer_id >= 0 && last != producers.end() &&
                                  last->second.data_offset == h.last_offset().value();
          if (!still_last) {
            changed = true;
            ++stats.empty_batches_removed;
            continue;
          }
          if (absl::Status w = write(batch); !w.ok()) return w;
          txns.OnDataKept(h);
          continue;
        }
        bool producers_last = false;
        if (h.producer_id >= 0) {
          auto last = producers.find(h.producer_id);
          producers_last =
              last != producers.end() && last->second.data_offset == h.last_offset().value();
        }
        absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
        if (!records.ok()) return decode_error(h, records.status());
        stats.records_read += static_cast<int64_t>(records->size());
        std::vector<record::Record> kept;
        if (aborted) {
          // Never visible to read_committed consumers; read_uncommitted
          // ones lose them as in Kafka.
          stats.aborted_records_removed += static_cast<int64_t>(records->size());
        } else {
          for (record::Record& r : *records) {
            bool keep;
            if (r.offset >= end) {
              keep = true;  // past what the map covers: dirty, untouched
            } else if (!r.key) {
              keep = false;  // a compacted log keeps no keyless record (Kafka)
            } else {
              std::optional<Offset> latest = map->Get(*r.key);
              keep = !latest || r.offset >= *latest;
              if (keep && !r.value) {
                if (r.offset.value() < horizon) {
                  keep = false;
                  ++stats.tombstones_removed;
                } else {
                  ++stats.tombstones_kept;
                }
              }
            }
            if (keep) kept.push_back(std::move(r));
          }
        }
        stats.records_kept += static_cast<int64_t>(kept.size());
        if (kept.size() == records->size()) {
          if (absl::Status w = write(batch); !w.ok()) return w;
          txns.OnDataKept(h);
          continue;
        }
        changed = true;
        if (kept.empty() && !producers_last) continue;
        if (kept.empty()) ++stats.producer_batches_emptied;
        absl::StatusOr<std::string> rebuilt = RebuildBatch(h, kept);
        if (!rebuilt.ok()) return rebuilt.status();
        if (absl::Status w = write(*rebuilt); !w.ok()) return w;
        txns.OnDataKept(h);
      }
      if (!reader.status().ok()) return reader.status();
    }
    // Syncs the log and both indexes.
    if (absl::Status s = (*cleaned)->OnRoll(); !s.ok()) return s;
    if (!changed) continue;  // nothing went: the guard deletes the copy
    const uint64_t written = (*cleaned)->size();
    const Offset cleaned_end = (*cleaned)->next_offset();
    guard.Release();
    cleaned->reset();
    // ReplaceSegments deletes the cleaned files itself when it refuses.
    absl::StatusOr<Log::DeletedSegments> replaced =
        log.ReplaceSegments(group, cleaned_end, generation);
    if (!replaced.ok()) return replaced.status();
    ++stats.segments_written;
    if (!fence_from.has_value() && txns.EmptiedBeforeItsMarker()) {
      fence_from = group.back().next_offset.value();
      fence_time = clock_->NowMs();
    }
    VLOG(1) << "Cleaned " << group.size() << " segment(s) of " << log.dir() << " from "
            << SegmentFileStem(base) << " into " << written << " bytes";
    if (on_deleted_) on_deleted_(*replaced);
  }

  // 4. The checkpoint: the dirty part now starts at `end`; tombstones and
  //    emptied markers kept below it may go once delete.retention.ms has
  //    passed from now. Not when the log changed meanwhile (a truncation
  //    has moved the checkpoint back already; a closed or deleted log has
  //    none to move), nor for an aborted cleaning; under the cleaner's
  //    lock, so a truncation's MaybeTruncateCheckpoint comes after it,
  //    never before.
  absl::MutexLock l(&mu_);
  if (log.generation() != generation || paused_.contains(target.tp)) {
    return absl::AbortedError(absl::StrCat("the log of ", target.tp.ToString(),
                                           " changed or was aborted before its checkpoint"));
  }
  LogState& state = DirLocked(target.log_dir).logs[target.tp];
  state.first_dirty_offset = end.value();
  std::vector<Pass> passes;
  for (const Pass& p : state.passes) {
    if (!RetentionPassed(p.time_ms, config.delete_retention_ms, now)) passes.push_back(p);
  }
  if (stats.tombstones_kept > 0 || stats.txn_markers_kept_empty > 0) {
    passes.push_back(Pass{end.value(), now});
  }
  while (passes.size() > kMaxPasses) {
    // The second oldest goes (its tombstones and markers wait for a later
    // pass's time instead): the oldest stays, so that with more cleanings
    // than kMaxPasses within delete.retention.ms one pass still ages out
    // and removal never starves.
    passes.erase(passes.begin() + 1);
  }
  state.passes = std::move(passes);
  if (absl::Status s = WriteCheckpointLocked(target.log_dir); !s.ok()) return s;
  // Every group that emptied a transaction reached its marker (or the
  // marker lies past the cleaned part, where only a later pass covers it).
  completed = true;
  LOG(INFO) << "Cleaned " << target.tp.ToString() << ": offsets " << first_dirty.value() << " to "
            << end.value() << " dirty (ratio " << range.dirty_ratio << "), " << stats.segments_read
            << " segment(s) read, " << stats.segments_written << " swapped, " << stats.records_kept
            << " of " << stats.records_read << " records kept, " << stats.tombstones_removed
            << " tombstone(s) removed, " << stats.aborted_records_removed
            << " aborted record(s) removed, " << stats.txn_markers_removed
            << " transaction marker(s) removed, " << stats.bytes_read << " -> "
            << stats.bytes_written << " bytes" << (stats.map_full ? " (offset map full)" : "");
  return stats;
}

}  // namespace strata::storage
