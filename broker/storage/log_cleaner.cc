#include "broker/storage/log_cleaner.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log_validator.h"
#include "broker/storage/segment.h"
#include "client/common/numbers.h"
#include "client/record/compression.h"
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

// Batches this cleaner does not touch yet: a transaction's data or marker
// (aborted records would count as data; issue 15 brings the rules).
bool IsTransactional(const record::BatchHeader& h) {
  return h.is_transactional() || h.is_control();
}

absl::Status TransactionalBatchError(const Log& log, const record::BatchHeader& h) {
  return absl::UnimplementedError(absl::StrCat("the batch at offset ", h.base_offset.value(),
                                               " of ", log.dir(), " is transactional (producer id ",
                                               h.producer_id,
                                               "); logs holding transactions are not cleaned yet"));
}

// `original` with only `kept` (some of its records, in order) left, as
// Kafka's cleaner rewrites a batch: the same base offset and
// lastOffsetDelta, each record at its own offset, the same leader epoch,
// timestamp type and codec, and an idempotent producer's id, epoch and base
// sequence (with lastOffsetDelta, its sequence range stays the original's,
// so producer state rebuilt from the log sees the same sequences).
absl::StatusOr<std::string> RebuildBatch(const record::BatchHeader& original,
                                         const std::vector<record::Record>& kept) {
  record::RecordBatchBuilder builder(original.base_offset);
  builder.set_partition_leader_epoch(original.partition_leader_epoch);
  if (original.producer_id >= 0) {
    builder.set_producer(original.producer_id, original.producer_epoch, original.base_sequence);
  }
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
  // records), never a segment with records younger than the minimum
  // compaction lag.
  Offset uncleanable = std::min(active.base_offset, view.high_watermark);
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
      if (p.time_ms + config.delete_retention_ms <= now && range.clean_bytes > 0) {
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
  int64_t horizon = -1;  // tombstones below it may go
  {
    absl::MutexLock l(&mu_);
    range = RangeLocked(target.tp, target.log_dir, *view);
    const DirState& dir = DirLocked(target.log_dir);
    if (auto it = dir.logs.find(target.tp); it != dir.logs.end()) {
      for (const Pass& p : it->second.passes) {
        if (p.time_ms + config.delete_retention_ms <= now) {
          horizon = std::max(horizon, std::min(p.end_offset, range.first_dirty_offset.value()));
        }
      }
    }
  }
  Stats stats;
  stats.first_dirty_offset = range.first_dirty_offset;
  stats.end_offset = range.first_dirty_offset;
  stats.dirty_ratio = range.dirty_ratio;
  const std::vector<Log::SegmentInfo>& segs = view->segments;
  const Offset first_dirty = range.first_dirty_offset;
  const Offset uncleanable = range.first_uncleanable_offset;

  // 1. The offset map over [first dirty, first uncleanable).
  map->Clear();
  Offset end = uncleanable;
  for (size_t i = 0; i + 1 < segs.size() && end == uncleanable; ++i) {
    const Log::SegmentInfo& s = segs[i];
    if (s.next_offset <= first_dirty) continue;
    if (s.base_offset >= uncleanable) break;
    SegmentReader reader(log, s, options_.read_chunk_bytes, throttle);
    record::BatchHeader h;
    std::string_view batch;
    while (end == uncleanable && reader.Next(&h, &batch)) {
      if (absl::Status r = CheckRunning(target.tp, log, generation); !r.ok()) return r;
      if (IsTransactional(h)) return TransactionalBatchError(log, h);
      if (h.records_count == 0 || h.next_offset() <= first_dirty) continue;
      if (h.base_offset >= uncleanable) break;
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) {
        return absl::DataLossError(absl::StrCat("cannot decode the batch at offset ",
                                                h.base_offset.value(), " of ", log.dir(), ": ",
                                                records.status().message()));
      }
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
  // Batches appended meanwhile only move a producer's last batch up, out
  // of what is cleaned.
  absl::flat_hash_map<int64_t, int64_t> last_offset_of_producer;
  for (const auto& [producer_id, entry] : log.ProducerEntries()) {
    if (const ProducerRun* run = entry.newest())
      last_offset_of_producer[producer_id] = run->last_offset;
  }

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
        if (IsTransactional(h)) return TransactionalBatchError(log, h);
        if (h.records_count == 0) {
          // Not written by this cleaner; kept as it is.
          if (absl::Status w = write(batch); !w.ok()) return w;
          continue;
        }
        bool producers_last = false;
        if (h.producer_id >= 0) {
          auto last = last_offset_of_producer.find(h.producer_id);
          producers_last =
              last != last_offset_of_producer.end() && last->second == h.last_offset().value();
        }
        absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
        if (!records.ok()) {
          return absl::DataLossError(absl::StrCat("cannot decode the batch at offset ",
                                                  h.base_offset.value(), " of ", log.dir(), ": ",
                                                  records.status().message()));
        }
        stats.records_read += static_cast<int64_t>(records->size());
        std::vector<record::Record> kept;
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
        stats.records_kept += static_cast<int64_t>(kept.size());
        if (kept.size() == records->size()) {
          if (absl::Status w = write(batch); !w.ok()) return w;
          continue;
        }
        changed = true;
        if (kept.empty() && !producers_last) continue;
        if (kept.empty()) ++stats.producer_batches_emptied;
        absl::StatusOr<std::string> rebuilt = RebuildBatch(h, kept);
        if (!rebuilt.ok()) return rebuilt.status();
        if (absl::Status w = write(*rebuilt); !w.ok()) return w;
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
    VLOG(1) << "Cleaned " << group.size() << " segment(s) of " << log.dir() << " from "
            << SegmentFileStem(base) << " into " << written << " bytes";
    if (on_deleted_) on_deleted_(*replaced);
  }

  // 4. The checkpoint: the dirty part now starts at `end`; tombstones kept
  //    below it may go once delete.retention.ms has passed from now. Not
  //    when the log changed meanwhile (a truncation has moved the
  //    checkpoint back already; a closed or deleted log has none to move),
  //    nor for an aborted cleaning; under the cleaner's lock, so a
  //    truncation's MaybeTruncateCheckpoint comes after it, never before.
  absl::MutexLock l(&mu_);
  if (log.generation() != generation || paused_.contains(target.tp)) {
    return absl::AbortedError(absl::StrCat("the log of ", target.tp.ToString(),
                                           " changed or was aborted before its checkpoint"));
  }
  LogState& state = DirLocked(target.log_dir).logs[target.tp];
  state.first_dirty_offset = end.value();
  std::vector<Pass> passes;
  for (const Pass& p : state.passes) {
    if (p.time_ms + config.delete_retention_ms > now) passes.push_back(p);
  }
  if (stats.tombstones_kept > 0) passes.push_back(Pass{end.value(), now});
  if (passes.size() > kMaxPasses) {
    // The oldest go: their tombstones wait for a later pass's time instead.
    passes.erase(passes.begin(), passes.end() - static_cast<std::ptrdiff_t>(kMaxPasses));
  }
  state.passes = std::move(passes);
  if (absl::Status s = WriteCheckpointLocked(target.log_dir); !s.ok()) return s;
  LOG(INFO) << "Cleaned " << target.tp.ToString() << ": offsets " << first_dirty.value() << " to "
            << end.value() << " dirty (ratio " << range.dirty_ratio << "), " << stats.segments_read
            << " segment(s) read, " << stats.segments_written << " swapped, " << stats.records_kept
            << " of " << stats.records_read << " records kept, " << stats.tombstones_removed
            << " tombstone(s) removed, " << stats.bytes_read << " -> " << stats.bytes_written
            << " bytes" << (stats.map_full ? " (offset map full)" : "");
  return stats;
}

}  // namespace strata::storage
