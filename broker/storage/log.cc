#include "broker/storage/log.h"

#include <algorithm>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "broker/storage/kafka_error.h"
#include "client/common/numbers.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

constexpr std::string_view kLogSuffix = ".log";
constexpr size_t kStemDigits = 20;

// "00000000000000000042.log" -> 42.
std::optional<Offset> ParseSegmentFileName(std::string_view name) {
  if (!name.ends_with(kLogSuffix) || name.size() != kStemDigits + kLogSuffix.size()) {
    return std::nullopt;
  }
  std::optional<int64_t> base = ParseInteger<int64_t>(name.substr(0, kStemDigits));
  if (!base || *base < 0) return std::nullopt;
  return Offset(*base);
}

// The offset after the last whole batch of the segment file at `path`
// (`base` when it holds none), reading headers only.
absl::StatusOr<Offset> EndOfSegmentFile(FileSystem* fs, const std::string& path, Offset base) {
  absl::StatusOr<std::unique_ptr<File>> file = fs->Open(path, /*create=*/false);
  if (!file.ok()) return file.status();
  const uint64_t size = (*file)->Size();
  Offset next = base;
  uint64_t pos = 0;
  while (size - pos >= record::kBatchHeaderSize) {
    absl::StatusOr<std::string> head = (*file)->ReadExactly(pos, record::kBatchHeaderSize);
    if (!head.ok()) return head.status();
    absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(*head);
    if (!h.ok() || h->size_in_bytes() > size - pos) break;
    next = h->next_offset();
    pos += h->size_in_bytes();
  }
  return next;
}

// "<20 digits>.log" / ".index" / ".timeindex" / ".txnindex" -> the base
// offset.
std::optional<Offset> ParseAnySegmentFileName(std::string_view name) {
  for (std::string_view ext : kSegmentFileExtensions) {
    if (name.size() == kStemDigits + ext.size() && name.ends_with(ext)) {
      std::optional<int64_t> base = ParseInteger<int64_t>(name.substr(0, kStemDigits));
      if (base && *base >= 0) return Offset(*base);
    }
  }
  return std::nullopt;
}

// partition.checkpoint's entry for Log::may_have_gaps (present only when set).
constexpr char kOffsetGapsKey[] = "offset-gaps";
// The log dir checkpoint's sequence when this checkpoint was written
// (LogDirCheckpoint).
constexpr char kDirSequenceKey[] = "dir-checkpoint-sequence";

// "/data/orders-3" -> "orders-3".
std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Log::Log(FileSystem* fs, Clock* clock, std::string dir, const LogConfig& config)
    : fs_(fs),
      clock_(clock),
      dir_(std::move(dir)),
      config_(config),
      producer_state_(std::string(BaseName(dir_))) {}

Segment::Options Log::SegmentOptions() const {
  return Segment::Options{config_.index_interval_bytes, clock_->NowMs()};
}

absl::StatusOr<std::unique_ptr<Log>> Log::Open(FileSystem* fs, Clock* clock, const std::string& dir,
                                               const LogConfig& config, bool had_clean_shutdown,
                                               LogDirCheckpoint dir_checkpoint) {
  std::unique_ptr<Log> log(new Log(fs, clock, dir, config));
  log->dir_sequence_ = dir_checkpoint.sequence;
  absl::MutexLock l(&log->mu_);
  if (absl::Status s = log->Load(had_clean_shutdown, dir_checkpoint); !s.ok()) return s;
  return log;
}

absl::Status Log::Load(bool had_clean_shutdown, const LogDirCheckpoint& dir_checkpoint) {
  NewGeneration();
  if (absl::Status s = fs_->CreateDirs(dir_); !s.ok()) return s;
  last_flush_ms_ = clock_->NowMs();

  const std::string checkpoint_path = JoinPath(dir_, kPartitionCheckpointFile);
  absl::StatusOr<CheckpointEntries> checkpoint = ReadCheckpoint(fs_, checkpoint_path);
  if (checkpoint.ok()) {
    recovery_point_ = Offset((*checkpoint)["recovery-point"]);
    log_start_offset_ = Offset((*checkpoint)["log-start-offset"]);
    high_watermark_ = Offset((*checkpoint)["high-watermark"]);
    may_have_gaps_ = checkpoint->contains(kOffsetGapsKey) && checkpoint->at(kOffsetGapsKey) != 0;
    checkpointed_ = *checkpoint;
    checkpointed_.erase(kDirSequenceKey);
  } else if (!absl::IsNotFound(checkpoint.status())) {
    return checkpoint.status();
  }
  // The directory file's high watermark, when it was read after this
  // checkpoint was written (LogDirCheckpoint); a checkpoint from before
  // the directory file existed records no sequence. Without a checkpoint
  // the log is new (or was never checkpointed) and an entry of the same
  // name is about an older log.
  std::optional<Offset> hw_from_dir;
  if (checkpoint.ok()) {
    auto recorded = checkpoint->find(kDirSequenceKey);
    if (recorded == checkpoint->end()) {
      // Written by a version without the directory file (or by a tool that
      // opened the log without it): rewritten below with a sequence, and
      // until then it wins, since nothing tells which is newer.
      if (dir_sequence_ != nullptr) rewrite_checkpoint_ = true;
    } else {
      loaded_dir_sequence_ = recorded->second;
      if (dir_checkpoint.high_watermark && dir_checkpoint.file_sequence > recorded->second) {
        high_watermark_ = Offset(*dir_checkpoint.high_watermark);
        hw_from_dir = high_watermark_;
      }
    }
  }

  if (absl::Status s = CompleteInterruptedSwaps(); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<Offset> bases;
  for (const std::string& name : *names) {
    if (std::optional<Offset> base = ParseSegmentFileName(name)) bases.push_back(*base);
    if (name.ends_with(kDeletedFileSuffix)) {
      // Retention took it out before the last stop; its delay is over.
      if (absl::Status s = fs_->DeleteFile(JoinPath(dir_, name)); !s.ok() && !absl::IsNotFound(s)) {
        return s;
      }
    }
  }
  std::sort(bases.begin(), bases.end());

  // The epoch cache is rebuilt from the batches wherever it may lag them:
  // everything when its checkpoint is missing, else the recovered segments.
  const bool epochs_missing = !fs_->Exists(JoinPath(dir_, kLeaderEpochCheckpointFile));
  absl::StatusOr<LeaderEpochCache> epochs = LeaderEpochCache::Load(fs_, dir_);
  if (!epochs.ok()) return epochs.status();
  epochs_.emplace(std::move(*epochs));
  std::optional<Offset> rescan_from;
  if (epochs_missing && !bases.empty()) rescan_from = bases.front();

  bool recovered_any = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    const Offset base = bases[i];
    // A segment that ends at or below the recovery point was synced whole;
    // one that reaches past it may hold a torn tail after a crash.
    const bool synced_whole = i + 1 < bases.size() && bases[i + 1] <= recovery_point_;
    absl::StatusOr<std::unique_ptr<Segment>> seg;
    Segment::RecoveryResult result;
    if (had_clean_shutdown || synced_whole) {
      seg = Segment::Open(fs_, dir_, base, SegmentOptions());
    } else {
      seg = Segment::OpenAndRecover(fs_, dir_, base, SegmentOptions(), recovery_point_, &result);
      recovered_any = true;
      if (!rescan_from) rescan_from = base;
    }
    if (!seg.ok()) return seg.status();
    segments_.emplace(base, std::move(*seg));
    if (result.truncated_bytes > 0) {
      // What follows a cut is not contiguous with it any more.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        LOG(WARNING) << "Recovery deleted segment " << SegmentFileStem(bases[j]) << " of " << dir_
                     << ", which followed the truncated one";
        if (absl::Status s = DeleteSegmentFiles(fs_, dir_, bases[j]); !s.ok()) return s;
      }
      break;
    }
  }

  if (segments_.empty()) {
    if (recovery_point_ > log_start_offset_) {
      return absl::DataLossError(absl::StrCat(
          "log ", dir_, " has no segments, but its recovery point is ", recovery_point_.value()));
    }
    absl::StatusOr<std::unique_ptr<Segment>> seg =
        Segment::Create(fs_, dir_, log_start_offset_, SegmentOptions());
    if (!seg.ok()) return seg.status();
    segments_.emplace(log_start_offset_, std::move(*seg));
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
  if (log_end_locked() < log_start_offset_) {
    // The log start had moved (DeleteRecords, or a follower taking its
    // leader's) past records that a crash then took: nothing below the start
    // is wanted, so the log starts over there, as Kafka's LogLoader does.
    LOG(WARNING) << "Log " << dir_ << " ends at " << log_end_locked() << ", below its log start "
                 << log_start_offset_ << "; starting it over at " << log_start_offset_;
    for (auto& [base, seg] : segments_) {
      if (absl::Status s = seg->DeleteFiles(); !s.ok()) return s;
    }
    segments_.clear();
    absl::StatusOr<std::unique_ptr<Segment>> seg =
        Segment::Create(fs_, dir_, log_start_offset_, SegmentOptions());
    if (!seg.ok()) return seg.status();
    segments_.emplace(log_start_offset_, std::move(*seg));
    if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
    recovery_point_ = high_watermark_ = log_start_offset_;
    if (absl::Status s = epochs_->TruncateFromEnd(Offset(0)); !s.ok()) return s;
  }

  if (log_end_locked() < recovery_point_) {
    return absl::DataLossError(absl::StrCat("log ", dir_, " ends at offset ",
                                            log_end_locked().value(), " below its recovery point ",
                                            recovery_point_.value(), ": synced data is missing"));
  }
  if (absl::Status s = LoadEpochs(rescan_from.value_or(log_end_locked())); !s.ok()) return s;
  // A segment based past where the one before it ends (a follower's roll
  // to a compacted leader's far batch) is a gap too, whatever a crash did
  // to the checkpoint.
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    if (std::next(it)->first > it->second->next_offset()) may_have_gaps_ = true;
  }
  absl::StatusOr<std::optional<Offset>> snapshot = ReloadProducerStateLocked();
  if (!snapshot.ok()) return snapshot.status();
  // A high watermark from the directory file that loading lowered (past a
  // torn tail cut above, or a log started over; the write below clamps
  // it): the directory file still holds it, so the partition checkpoint
  // must record the lower one under the current sequence even if nothing
  // else in it changed.
  if (hw_from_dir &&
      std::clamp(high_watermark_, log_start_offset_, log_end_locked()) < *hw_from_dir) {
    rewrite_checkpoint_ = true;
  }
  // Everything left was read and checked; make it durable so the next start
  // need not scan it again.
  absl::Status s = recovered_any ? FlushLocked() : WriteCheckpointLocked();
  if (!s.ok()) return s;
  // So that the next start need not replay what this one did. Only now:
  // a snapshot describes synced records only (power loss).
  const Offset replayed_from = snapshot->value_or(segments_.begin()->first);
  if (replayed_from < log_end_locked()) return WriteProducerSnapshotLocked(log_end_locked());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Offset>> Log::ReloadProducerStateLocked() {
  absl::StatusOr<std::vector<Offset>> listed = ListProducerSnapshots(fs_, dir_);
  if (!listed.ok()) return listed.status();
  producer_snapshots_ = *std::move(listed);
  if (absl::Status s = DeleteProducerSnapshotsOutsideLocked(log_start_offset_, log_end_locked());
      !s.ok()) {
    return s;
  }
  producer_state_.Clear();
  std::optional<Offset> from;
  while (!from && !producer_snapshots_.empty()) {
    const Offset at = producer_snapshots_.back();
    const std::string path = JoinPath(dir_, ProducerSnapshotFileName(at));
    absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(path, /*create=*/false);
    absl::StatusOr<std::string> bytes = file.ok() ? (*file)->ReadAll() : file.status();
    if (!bytes.ok() && IsStorageFailure(bytes.status())) return bytes.status();
    absl::Status decoded = bytes.ok() ? producer_state_.DecodeSnapshot(*bytes) : bytes.status();
    if (decoded.ok()) {
      from = at;
      break;
    }
    // A torn or damaged snapshot is only a shortcut lost: an older one, or
    // the log itself, tells the same.
    LOG(WARNING) << "Deleting producer snapshot " << path << ": " << decoded;
    if (absl::Status s = DeleteProducerSnapshot(fs_, dir_, at); !s.ok()) return s;
    producer_snapshots_.pop_back();
  }
  const Offset replay_from = from.value_or(Offset(0));
  // The aborted transactions the replay meets are indexed again (those
  // below it were synced before the snapshot was written).
  for (auto& [base, segment] : segments_) {
    if (segment->next_offset() <= replay_from) continue;
    if (absl::Status s = segment->TruncateAbortedTxns(replay_from); !s.ok()) return s;
  }
  int64_t replayed = 0;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    auto next = std::next(it);
    if (next != segments_.end() && next->first <= replay_from) continue;  // wholly before
    // Nothing after the snapshot here (a clean start reads no headers).
    if (it->second->empty() || it->second->next_offset() <= replay_from) continue;
    // A marker's type and coordinator epoch are in its record: read the
    // bytes of control batches (rare; data batches need their header only).
    absl::Status read_error;
    Segment& segment = *it->second;
    absl::Status s = segment.ForEachBatchLocation(
        [&](const Segment::BatchLocation& at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          const record::BatchHeader& h = at.header;
          if (h.base_offset < replay_from || !read_error.ok()) return;
          std::string bytes;
          if (h.is_control() && h.producer_id >= 0) {
            absl::StatusOr<std::string> read = segment.ReadAt(at.position, h.size_in_bytes());
            if (!read.ok()) {
              read_error = absl::Status(
                  read.status().code(),
                  absl::StrCat("reading the transaction marker at offset ", h.base_offset.value(),
                               " of ", segment.log_path(), ": ", read.status().message()));
              return;
            }
            bytes = *std::move(read);
          }
          read_error = IndexIfAborted(segment, producer_state_.Apply(h, bytes));
          ++replayed;
        });
    if (!s.ok()) return s;
    if (!read_error.ok()) return read_error;
  }
  const int evicted = producer_state_.EvictBelow(log_start_offset_);
  producer_state_.OnHighWatermark(high_watermark_);
  VLOG(1) << "Producer state of " << dir_ << ": "
          << (from ? absl::StrCat("snapshot at ", from->value()) : std::string("no snapshot"))
          << ", " << replayed << " batch(es) replayed, " << evicted << " producer(s) below the "
          << "log start dropped, " << producer_state_.size() << " producer(s)";
  return from;
}

absl::Status Log::WriteProducerSnapshotLocked(Offset offset) {
  // The aborted transactions below `offset` must be durable before a
  // snapshot says a replay need not index them again. (A .txnindex made
  // since the last directory sync gets its name durable with the
  // snapshot's own directory sync.) Unchanged indexes do no I/O.
  for (auto& [base, segment] : segments_) {
    if (base >= offset) break;
    if (absl::Status s = segment->SyncTxnIndex(); !s.ok()) return s;
  }
  if (absl::Status s = WriteProducerSnapshot(fs_, dir_, offset, producer_state_); !s.ok()) {
    return s;
  }
  auto at = std::lower_bound(producer_snapshots_.begin(), producer_snapshots_.end(), offset);
  if (at == producer_snapshots_.end() || *at != offset) producer_snapshots_.insert(at, offset);
  while (producer_snapshots_.size() > static_cast<size_t>(kProducerSnapshotsKept)) {
    if (absl::Status s = DeleteProducerSnapshot(fs_, dir_, producer_snapshots_.front()); !s.ok()) {
      return s;
    }
    producer_snapshots_.erase(producer_snapshots_.begin());
  }
  return absl::OkStatus();
}

absl::Status Log::DeleteProducerSnapshotsOutsideLocked(Offset start, Offset end) {
  std::vector<Offset> kept;
  bool deleted = false;
  for (Offset at : producer_snapshots_) {
    if (at >= start && at <= end) {
      kept.push_back(at);
      continue;
    }
    if (absl::Status s = DeleteProducerSnapshot(fs_, dir_, at); !s.ok()) return s;
    deleted = true;
  }
  producer_snapshots_ = std::move(kept);
  // Durable before the log changes further: a snapshot above a truncation
  // that a crash brought back could otherwise be loaded once the log has
  // grown past it again with other records.
  if (deleted) return fs_->SyncDir(dir_);
  return absl::OkStatus();
}

absl::Status Log::OnLogStartMovedLocked() {
  // Their batches are gone: such a producer starts over at any sequence
  // (KIP-360), as one that expired.
  if (int evicted = producer_state_.EvictBelow(log_start_offset_); evicted > 0) {
    VLOG(1) << "Dropped " << evicted << " producer(s) of " << dir_ << " below its log start "
            << log_start_offset_;
  }
  return DeleteProducerSnapshotsOutsideLocked(log_start_offset_,
                                              Offset(std::numeric_limits<int64_t>::max()));
}

absl::Status Log::CompleteInterruptedSwaps() {
  absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir_);
  if (!names.ok()) return names.status();
  const std::set<std::string> present(names->begin(), names->end());
  bool changed = false;
  std::vector<Offset> swaps;
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dir_, name);
    if (name.ends_with(kCleanedFileSuffix)) {
      // A cleaning that had not finished: the old segments are intact.
      LOG(INFO) << "Deleting " << path << ", left by an interrupted log cleaning";
      if (absl::Status s = fs_->DeleteFile(path); !s.ok() && !absl::IsNotFound(s)) return s;
      changed = true;
      continue;
    }
    if (!name.ends_with(kSwapFileSuffix)) continue;
    const std::string_view inner =
        std::string_view(name).substr(0, name.size() - std::string_view(kSwapFileSuffix).size());
    std::optional<Offset> base = ParseAnySegmentFileName(inner);
    if (!base) continue;
    if (inner.ends_with(kLogSuffix)) {
      swaps.push_back(*base);
    } else if (!present.contains(SegmentFileStem(*base) + ".log" + kSwapFileSuffix)) {
      // An index renamed before its .log was: the swap had not begun.
      if (absl::Status s = fs_->DeleteFile(path); !s.ok() && !absl::IsNotFound(s)) return s;
      changed = true;
    }
  }
  for (Offset base : swaps) {
    // The swap had begun: the cleaned segment is whole and synced. It
    // replaces the old segments within its offsets (at least the one at its
    // base, which it is named after); whatever of them is left goes.
    const std::string stem = JoinPath(dir_, SegmentFileStem(base));
    absl::StatusOr<Offset> end = EndOfSegmentFile(fs_, stem + ".log" + kSwapFileSuffix, base);
    if (!end.ok()) return end.status();
    const Offset limit = std::max(*end, base + 1);
    std::set<int64_t> replaced;
    for (const std::string& name : *names) {
      std::optional<Offset> old = ParseAnySegmentFileName(name);
      if (old && *old >= base && *old < limit) replaced.insert(old->value());
    }
    for (int64_t old : replaced) {
      if (old != base.value()) {
        if (absl::Status s = DeleteSegmentFiles(fs_, dir_, Offset(old)); !s.ok()) return s;
        continue;
      }
      // At the cleaned segment's own base, a file without its ".swap" is
      // already the cleaned one (renamed before the crash; the old ones
      // were set aside, durably, before any was): keep it. The .txnindex
      // cannot be rebuilt from the .log as the other indexes can.
      for (const char* ext : kSegmentFileExtensions) {
        if (!fs_->Exists(stem + ext + kSwapFileSuffix)) continue;
        absl::Status s = fs_->DeleteFile(stem + ext);
        if (!s.ok() && !absl::IsNotFound(s)) return s;
      }
    }
    // The deletions must be durable before the renames: a crash that kept
    // a rename but lost a deletion would leave an old segment beside the
    // cleaned one, its superseded records back in the log.
    if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
    for (const char* ext : kSegmentFileExtensions) {
      const std::string from = stem + ext + kSwapFileSuffix;
      if (!fs_->Exists(from)) continue;
      if (absl::Status s = fs_->Rename(from, stem + ext); !s.ok()) return s;
    }
    may_have_gaps_ = true;  // recorded by Load's closing checkpoint
    LOG(INFO) << "Completed the interrupted swap of cleaned segment " << SegmentFileStem(base)
              << " of " << dir_ << " (" << replaced.size() << " old segment(s) replaced)";
    changed = true;
  }
  if (changed) return fs_->SyncDir(dir_);
  return absl::OkStatus();
}

absl::StatusOr<Log::CleaningView> Log::ViewForCleaning() const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  CleaningView view;
  view.log_start_offset = log_start_offset_;
  view.high_watermark = high_watermark_;
  view.first_unstable_offset = producer_state_.FirstUnstableOffset();
  view.config = config_;
  view.generation = generation();
  for (const auto& [base, seg] : segments_) {
    view.segments.push_back(SegmentInfo{base, seg->next_offset(), seg->size(), seg->max_timestamp(),
                                        seg->first_batch_timestamp(), seg->created_ms()});
  }
  return view;
}

absl::StatusOr<std::string> Log::ReadSegmentForCleaning(Offset base_offset, uint64_t expected_size,
                                                        uint64_t position, size_t max_bytes) const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  auto it = segments_.find(base_offset);
  if (it == segments_.end() || it->second->size() != expected_size) {
    return absl::AbortedError(absl::StrCat("segment ", SegmentFileStem(base_offset), " of ", dir_,
                                           " changed while it was being cleaned"));
  }
  const Segment& seg = *it->second;
  if (position >= seg.size()) return std::string();
  absl::StatusOr<std::string> head = seg.ReadAt(position, record::kBatchHeaderSize);
  if (!head.ok()) return head.status();
  absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(*head);
  if (!h.ok()) {
    return absl::DataLossError(absl::StrCat("the batch at position ", position, " of ",
                                            seg.log_path(),
                                            " does not parse: ", h.status().message()));
  }
  absl::StatusOr<std::string> bytes = seg.ReadAt(position, std::max(max_bytes, h->size_in_bytes()));
  if (!bytes.ok()) return bytes.status();
  record::BatchIterator batches(*bytes);
  record::BatchHeader header;
  std::string_view batch;
  size_t keep = 0;
  while (batches.Next(&header, &batch)) keep = batches.position();
  if (keep == 0) {
    return absl::DataLossError(absl::StrCat("the batch at position ", position, " of ",
                                            seg.log_path(), " runs past the segment's end"));
  }
  bytes->resize(keep);
  return bytes;
}

absl::StatusOr<Log::DeletedSegments> Log::ReplaceSegments(const std::vector<SegmentInfo>& old,
                                                          Offset cleaned_end, uint64_t generation) {
  CHECK(!old.empty());
  const Offset base = old.front().base_offset;
  const std::string stem = JoinPath(dir_, SegmentFileStem(base));
  absl::MutexLock l(&mu_);
  absl::Status check = CheckOpen();
  if (check.ok() && this->generation() != generation) {
    check = absl::AbortedError(absl::StrCat(
        "log ", dir_, " was truncated or lost segments while it was being cleaned; the cleaned ",
        "copy is dropped"));
  }
  // The segments must be those the cleaner read, consecutive, none active.
  auto it = segments_.find(base);
  for (const SegmentInfo& info : old) {
    if (!check.ok()) break;
    if (it == segments_.end() || it->first != info.base_offset || it->second->size() != info.size ||
        it->second->next_offset() != info.next_offset || it->second.get() == active()) {
      check = absl::AbortedError(
          absl::StrCat("segment ", SegmentFileStem(info.base_offset), " of ", dir_,
                       " changed while it was being cleaned; the cleaned copy is dropped"));
      break;
    }
    ++it;
  }
  // The offset-gaps flag is durable before the swap begins: a crash at any
  // later point leaves a log that skips offsets, and a reopened log must
  // know it (replica repair's checks, Log::may_have_gaps).
  if (check.ok() && !may_have_gaps_) {
    may_have_gaps_ = true;
    check = WriteCheckpointLocked();
    if (!check.ok()) {
      may_have_gaps_ = false;
      check = absl::AbortedError(
          absl::StrCat("cannot record that ", dir_,
                       " will skip offsets; the cleaned copy is dropped: ", check.message()));
    }
  }
  // The old segments' aborted transactions stay with their records: the
  // cleaned segment's .txnindex, synced before the swap begins, holds them.
  if (check.ok()) {
    std::vector<AbortedTxn> aborted;
    for (const SegmentInfo& info : old) {
      const std::vector<AbortedTxn>& e = segments_.at(info.base_offset)->txn_index().entries();
      aborted.insert(aborted.end(), e.begin(), e.end());
    }
    if (!aborted.empty()) check = WriteCleanedTxnIndex(stem, aborted);
  }
  if (!check.ok()) {
    for (const char* ext : kSegmentFileExtensions) {
      absl::Status s = fs_->DeleteFile(stem + ext + kCleanedFileSuffix);
      if (!s.ok() && !absl::IsNotFound(s)) LOG(WARNING) << "Cannot delete cleaned file: " << s;
    }
    return check;
  }
  // Load replaces the old segments based below `limit`: all of `old` that
  // kept a record (every one based below the last kept record). Those
  // based at or past it lost every record; a crash may leave them, which
  // changes no latest value.
  const Offset limit = std::max(cleaned_end, base + 1);

  // 1. ".cleaned" -> ".swap", the .log last: from its rename on, a crash
  //    leaves a swap that Load completes, so no failure from here on may
  //    leave the log running (it could change under the pending swap).
  for (const char* ext : kSegmentFileExtensions) {
    const std::string from = stem + ext + kCleanedFileSuffix;
    if (!fs_->Exists(from)) continue;
    if (absl::Status s = fs_->Rename(from, stem + ext + kSwapFileSuffix); !s.ok()) {
      return FailLocked(s);
    }
  }
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return FailLocked(s);
  // 2. The old segments' files -> ".deleted"; segments_ is not touched yet.
  DeletedSegments out;
  out.delete_after_ms = config_.file_delete_delay_ms;
  for (const SegmentInfo& info : old) {
    absl::StatusOr<std::vector<std::string>> files =
        segments_.at(info.base_offset)->RenameForDeletion();
    if (!files.ok()) return FailLocked(files.status());
    out.files.insert(out.files.end(), files->begin(), files->end());
    ++out.count;
  }
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return FailLocked(s);
  // 3. ".swap" -> the final names, the .log last.
  for (const char* ext : kSegmentFileExtensions) {
    const std::string from = stem + ext + kSwapFileSuffix;
    if (!fs_->Exists(from)) continue;
    if (absl::Status s = fs_->Rename(from, stem + ext); !s.ok()) return FailLocked(s);
  }
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return FailLocked(s);
  // 4. The new segment, open before segments_ changes.
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Open(fs_, dir_, base, SegmentOptions());
  if (!seg.ok()) return FailLocked(seg.status());
  // 5. Nothing can fail from here on.
  for (const SegmentInfo& info : old) segments_.erase(info.base_offset);
  VLOG(1) << "Swapped cleaned segment " << SegmentFileStem(base) << " into " << dir_ << " for "
          << old.size() << " segment(s) (" << (limit < old.back().next_offset ? "the last " : "")
          << "offsets " << base << " to " << old.back().next_offset - 1 << "): " << (*seg)->size()
          << " bytes";
  segments_.emplace(base, std::move(*seg));
  return out;
}

absl::Status Log::WriteCleanedTxnIndex(const std::string& stem,
                                       const std::vector<AbortedTxn>& aborted) {
  absl::StatusOr<TxnIndex> index =
      TxnIndex::Open(fs_, stem + ".txnindex" + std::string(kCleanedFileSuffix));
  if (!index.ok()) return index.status();
  if (!index->entries().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the cleaned copy's ", index->path(), " already holds ",
                     index->entries().size(), " aborted transactions; the copy is dropped"));
  }
  for (const AbortedTxn& txn : aborted) {
    if (absl::Status s = index->Append(txn); !s.ok()) return s;
  }
  return index->Sync();
}

absl::Status Log::FailLocked(absl::Status status, std::string_view doing) {
  if (!IsStorageFailure(status)) status = WithKafkaError(std::move(status), kKafkaStorageError);
  LOG(ERROR) << "Log " << dir_ << " " << doing << "; it serves nothing until a restart "
             << "reloads it: " << status;
  failed_ = status;
  closed_ = true;
  NewGeneration();
  return status;
}

void Log::SetTruncationListener(TruncationListener listener) {
  absl::MutexLock l(&mu_);
  truncation_listener_ = std::move(listener);
}

bool Log::may_have_gaps() const {
  absl::MutexLock l(&mu_);
  return may_have_gaps_;
}

bool Log::MaySkipOffsets() const {
  absl::MutexLock l(&mu_);
  return may_have_gaps_ || IsCompacted(config_.cleanup_policy);
}

absl::Status Log::LoadEpochs(Offset from) {
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    auto next = std::next(it);
    if (next != segments_.end() && next->first <= from) continue;  // wholly before `from`
    absl::Status assign_status;
    Offset expected = it->first;  // where the next batch starts without a gap
    absl::Status s = it->second->ForEachBatchHeader([&](const record::BatchHeader& h) {
      if (h.base_offset >= from && assign_status.ok()) {
        assign_status = epochs_->Assign(h.partition_leader_epoch, h.base_offset);
        // Recovered batches a crash kept ahead of the checkpoint: a copy of
        // a compacted leader's skips offsets inside a batch or between two.
        if (h.last_offset_delta + 1 > h.records_count || h.base_offset > expected) {
          may_have_gaps_ = true;
        }
      }
      expected = h.next_offset();
    });
    if (!s.ok()) return s;
    if (!assign_status.ok()) return assign_status;
  }
  if (absl::Status s = epochs_->TruncateFromEnd(log_end_locked()); !s.ok()) return s;
  return epochs_->TruncateFromStart(log_start_offset_);
}

absl::Status Log::WriteCheckpointLocked() {
  // The epochs of the appended batches first: once the recovery point
  // passes a batch, recovery no longer rereads it, so its epoch must be in
  // the epoch checkpoint by then.
  if (absl::Status s = epochs_->SaveIfDirty(); !s.ok()) return s;
  high_watermark_ = std::clamp(high_watermark_, log_start_offset_, log_end_locked());
  CheckpointEntries entries = {{"recovery-point", recovery_point_.value()},
                               {"log-start-offset", log_start_offset_.value()},
                               {"high-watermark", high_watermark_.value()}};
  if (may_have_gaps_) entries[kOffsetGapsKey] = 1;
  // An idle log's checkpoint does not change: rewriting it (a file, an
  // fsync, a rename) for each of thousands of logs made a clean stop slow.
  // A newer directory sequence alone is no reason either: what the file
  // says still holds, unless rewrite_checkpoint_ says otherwise.
  if (entries == checkpointed_ && !rewrite_checkpoint_) return absl::OkStatus();
  return WritePartitionCheckpointLocked(entries);
}

absl::Status Log::WritePartitionCheckpointLocked(const CheckpointEntries& entries) {
  CheckpointEntries file = entries;
  if (dir_sequence_) file[kDirSequenceKey] = dir_sequence_->load(std::memory_order_acquire);
  absl::Status s = WriteCheckpoint(fs_, JoinPath(dir_, kPartitionCheckpointFile), file);
  if (s.ok()) {
    checkpointed_ = entries;
    rewrite_checkpoint_ = false;
  }
  return s;
}

Offset Log::high_watermark() const {
  absl::MutexLock l(&mu_);
  return high_watermark_;
}

Offset Log::last_stable_offset() const {
  absl::MutexLock l(&mu_);
  const std::optional<Offset> unstable = producer_state_.FirstUnstableOffset();
  if (!unstable.has_value()) return high_watermark_;
  // A transaction left open below the log start (retention and
  // DeleteRecords do not wait for it) holds nothing there is to read.
  return std::min(std::max(*unstable, log_start_offset_), high_watermark_);
}

bool Log::MaybeIncrementHighWatermark(Offset offset) {
  absl::MutexLock l(&mu_);
  offset = std::min(offset, log_end_locked());
  if (offset <= high_watermark_) return false;
  high_watermark_ = offset;
  producer_state_.OnHighWatermark(high_watermark_);
  return true;
}

absl::Status Log::FlushLocked() {
  // Rolled segments were synced when they rolled; only the ones at or past
  // the recovery point can hold unsynced bytes.
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (absl::Status s = it->second->Flush(); !s.ok()) return s;
    if (it->first <= recovery_point_) break;
  }
  recovery_point_ = log_end_locked();
  unflushed_messages_ = 0;
  last_flush_ms_ = clock_->NowMs();
  return WriteCheckpointLocked();
}

absl::Status Log::RollLocked(std::optional<Offset> at) {
  Segment* old = active();
  const Offset base = std::max(at.value_or(old->next_offset()), old->next_offset());
  const bool replace = old->empty();
  if (replace && old->base_offset() == base) return absl::OkStatus();
  if (!replace) {
    if (absl::Status s = old->OnRoll(); !s.ok()) return s;
  }
  if (base > old->next_offset()) may_have_gaps_ = true;
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Create(fs_, dir_, base, SegmentOptions());
  if (!seg.ok()) return seg.status();
  // The new segment exists before the empty one it replaces goes: a crash
  // between leaves both, which Load takes as they are.
  segments_.emplace(base, std::move(*seg));
  if (replace) {
    const Offset empty_base = old->base_offset();
    if (absl::Status s = old->DeleteFiles(); !s.ok()) return s;
    segments_.erase(empty_base);
  }
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
  VLOG(1) << "Rolled " << dir_ << " to a new segment at " << base;
  // The old segment was synced whole by OnRoll.
  recovery_point_ = std::max(recovery_point_, base);
  if (absl::Status s = WriteCheckpointLocked(); !s.ok()) return s;
  // The producer state as of the new segment's base: everything below it is
  // synced, so no crash can leave the snapshot describing lost records.
  if (!replace) return WriteProducerSnapshotLocked(base);
  return absl::OkStatus();
}

absl::Status Log::MaybeRollForAppend(const record::BatchHeader& header) {
  Segment* seg = active();
  // Offsets in a segment's index are 32 bits relative to its base. A
  // compacted leader's batch may lie that far past this log's end (the
  // offsets between were cleaned away): the new segment starts at the
  // batch, and an empty active segment gives way to it.
  if (header.last_offset() - seg->base_offset() > int64_t{UINT32_MAX}) {
    return RollLocked(header.base_offset);
  }
  if (seg->empty()) return absl::OkStatus();
  const bool full =
      seg->size() + header.size_in_bytes() > static_cast<uint64_t>(config_.segment_bytes);
  // A compacted log's active segment is never cleaned: it rolls by
  // max.compaction.lag.ms too, so its records get cleaned in time (Kafka's
  // LogConfig.maxSegmentMs).
  int64_t roll_ms = config_.segment_ms;
  if (IsCompacted(config_.cleanup_policy)) {
    roll_ms = std::min(roll_ms, config_.max_compaction_lag_ms);
  }
  const bool old = seg->TimeWaitedForRoll(clock_->NowMs(), header.max_timestamp) > roll_ms;
  if (full || old) return RollLocked();
  return absl::OkStatus();
}

absl::Status Log::AppendLocked(const record::BatchHeader& header, std::string_view batch) {
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  // Before a roll, which may start the new segment at the batch.
  const bool skips = header.base_offset > log_end_locked() ||
                     int64_t{header.last_offset_delta} + 1 > int64_t{header.records_count};
  if (absl::Status s = MaybeRollForAppend(header); !s.ok()) return s;
  if (!may_have_gaps_ && skips) {
    // A copy of a compacted leader's batches; durable before the batch is,
    // so a restart cannot forget it (a rare, one-time write).
    may_have_gaps_ = true;
    if (absl::Status s = WriteCheckpointLocked(); !s.ok()) {
      may_have_gaps_ = false;
      return s;
    }
  }
  if (absl::Status s = active()->Append(header, batch); !s.ok()) return s;
  // In the log now: the producer state follows (not before: a failed write
  // changes no state).
  if (absl::Status s = IndexIfAborted(*active(), producer_state_.Apply(header, batch)); !s.ok()) {
    // The marker is in the log but its abort is not indexed: a
    // read_committed consumer would see the aborted records. Nothing more
    // goes into this log until it is reloaded (which indexes it again).
    return FailLocked(s, "could not index the aborted transaction of a marker it holds");
  }
  // Saved at the next checkpoint (WriteCheckpointLocked), not here: the
  // batch is not synced either, and a crash's recovery reads its epoch back
  // from it (Load's rescan past the recovery point).
  if (absl::Status s = epochs_->Assign(header.partition_leader_epoch, header.base_offset,
                                       /*defer_save=*/true);
      !s.ok()) {
    return s;
  }
  unflushed_messages_ += header.records_count;
  if (unflushed_messages_ >= config_.flush_messages) return FlushLocked();
  return absl::OkStatus();
}

absl::StatusOr<LogAppendInfo> Log::AppendAsLeader(std::string* batch, Epoch leader_epoch,
                                                  AppendOrigin origin) {
  std::vector<std::string> one;
  one.push_back(std::move(*batch));
  absl::StatusOr<LogAppendInfo> info = AppendAsLeader(&one, leader_epoch, origin);
  *batch = std::move(one.front());
  return info;
}

absl::StatusOr<LogAppendInfo> Log::AppendAsLeader(std::vector<std::string>* batches,
                                                  Epoch leader_epoch, AppendOrigin origin) {
  // Every batch is validated, record by record, before the lock is taken and
  // anything is written: a bad batch anywhere in the request changes nothing.
  // It is validated under the config in force now (a copy: UpdateConfig may
  // replace the log's meanwhile).
  const LogConfig config = this->config();
  ValidationConfig validation;
  validation.timestamp_type = config.message_timestamp_type;
  validation.timestamp_before_max_ms = config.message_timestamp_before_max_ms;
  validation.timestamp_after_max_ms = config.message_timestamp_after_max_ms;
  validation.max_decompressed_bytes = MaxDecompressedBytes(config.max_message_bytes);
  // compression.type: batches the validator re-encoded with the topic's
  // codec replace the producer's once every batch has passed.
  validation.stored_compression = StoredCompression(config.compression_type);
  // A topic that stores batches uncompressed: decompress no further than
  // such a batch may hold (max.message.bytes - 61), and call more too large.
  validation.max_message_bytes = config.max_message_bytes;
  validation.require_keys = IsCompacted(config.cleanup_policy);
  validation.topic_partition = std::string(BaseName(dir_));
  // Producer ids are checked against the producer state under the lock;
  // transactional batches open (or continue) their producer's transaction
  // there. Control batches come only through AppendTxnMarker.
  validation.allow_idempotent = true;
  validation.allow_transactional = true;
  std::vector<std::pair<size_t, std::string>> reencoded;
  const int64_t now_ms = clock_->NowMs();
  std::vector<record::BatchHeader> headers;
  headers.reserve(batches->size());
  bool has_producer_ids = false;
  for (size_t i = 0; i < batches->size(); ++i) {
    const std::string& batch = (*batches)[i];
    if (batch.size() > static_cast<size_t>(config.max_message_bytes)) {
      return absl::ResourceExhaustedError(absl::StrCat("record batch of ", batch.size(),
                                                       " bytes is larger than max.message.bytes (",
                                                       config.max_message_bytes, ")"));
    }
    absl::StatusOr<ValidatedBatch> valid = ValidateProducerBatch(batch, validation, now_ms);
    if (!valid.ok()) {
      if (batches->size() == 1) return valid.status();
      // Name the batch; keep the code and any Kafka error payload.
      absl::Status named(valid.status().code(),
                         absl::StrCat("batch ", i, ": ", valid.status().message()));
      valid.status().ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
        named.SetPayload(url, payload);
      });
      return named;
    }
    if (valid->reencoded.has_value()) {
      // max.message.bytes applies to the batch as stored.
      if (valid->reencoded->size() > static_cast<size_t>(config.max_message_bytes)) {
        return absl::ResourceExhaustedError(
            absl::StrCat(batches->size() == 1 ? "" : absl::StrCat("batch ", i, ": "),
                         "record batch of ", valid->reencoded->size(), " bytes as stored (",
                         record::CompressionName(valid->header.compression()),
                         ", the topic's compression.type) is larger than max.message.bytes (",
                         config.max_message_bytes, ")"));
      }
      reencoded.emplace_back(i, *std::move(valid->reencoded));
    }
    headers.push_back(valid->header);
    headers.back().max_timestamp = valid->max_timestamp;
    has_producer_ids |= valid->header.producer_id >= 0;
    if (valid->stamp_log_append_time) {
      headers.back().attributes = static_cast<int16_t>(headers.back().attributes | 0x08);
    }
  }
  if (headers.empty()) return absl::InvalidArgumentError("no record batch to append");
  for (auto& [i, stored] : reencoded) (*batches)[i] = std::move(stored);
  if (validation.timestamp_type == record::TimestampType::kLogAppendTime) {
    for (std::string& batch : *batches) StampLogAppendTime(batch.data(), batch.size(), now_ms);
  }

  absl::MutexLock l(&mu_);
  LogAppendInfo info;
  info.first_offset = log_end_locked();
  if (has_producer_ids) {
    // Against the log end the offsets are assigned from, under the same lock.
    absl::StatusOr<std::optional<ProducerStateManager::Duplicate>> dup =
        producer_state_.CheckAppend(headers, log_end_locked(), origin);
    if (!dup.ok()) return dup.status();
    if (dup->has_value()) {
      info.duplicate = true;
      info.first_offset = (*dup)->first_offset;
      info.last_offset = (*dup)->last_offset;
      info.max_timestamp = (*dup)->max_timestamp;
      return info;
    }
  }
  for (size_t i = 0; i < batches->size(); ++i) {
    std::string& batch = (*batches)[i];
    record::BatchHeader& header = headers[i];
    header.base_offset = log_end_locked();
    header.partition_leader_epoch = leader_epoch;
    record::SetBaseOffset(batch.data(), header.base_offset);
    record::SetPartitionLeaderEpoch(batch.data(), leader_epoch);
    if (absl::Status s = AppendLocked(header, batch); !s.ok()) return s;
    info.last_offset = header.last_offset();
    info.max_timestamp = std::max(info.max_timestamp, header.max_timestamp);
    info.records += header.records_count;
    info.bytes += batch.size();
  }
  return info;
}

absl::StatusOr<LogAppendInfo> Log::AppendAsFollower(std::string_view batches) {
  // Check everything before writing anything.
  std::vector<std::pair<record::BatchHeader, std::string_view>> checked;
  record::BatchIterator it(batches);
  record::BatchHeader header;
  std::string_view batch;
  while (it.Next(&header, &batch)) {
    // A compacted leader's batches may have gaps (ValidateStoredBatch).
    absl::StatusOr<record::BatchHeader> valid = record::ValidateStoredBatch(batch);
    if (!valid.ok()) return valid.status();
    if (!checked.empty() && header.base_offset < checked.back().first.next_offset()) {
      return absl::InvalidArgumentError(absl::StrCat("batch at offset ", header.base_offset.value(),
                                                     " overlaps the one before it"));
    }
    checked.emplace_back(header, batch);
  }
  // The iterator stops at a partial trailing batch (fine: a fetch response
  // may end with one) and at garbage (not fine): tell them apart.
  if (std::string_view rest = batches.substr(it.position()); !rest.empty()) {
    absl::StatusOr<record::BatchHeader> next = record::ReadBatchHeader(rest);
    const bool partial = rest.size() < record::kBatchHeaderSize ||
                         (next.ok() && next->size_in_bytes() > rest.size());
    if (!partial) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed data after ", checked.size(), " batches at byte ", it.position(), ": ",
          next.ok() ? "batch header does not parse" : std::string(next.status().message())));
    }
  }
  LogAppendInfo info;
  if (checked.empty()) return info;

  absl::MutexLock l(&mu_);
  if (checked.front().first.base_offset < log_end_locked()) {
    return absl::InvalidArgumentError(
        absl::StrCat("follower append at offset ", checked.front().first.base_offset.value(),
                     " is below the log end offset ", log_end_locked().value()));
  }
  info.first_offset = checked.front().first.base_offset;
  for (const auto& [h, bytes] : checked) {
    if (absl::Status s = AppendLocked(h, bytes); !s.ok()) return s;
    info.last_offset = h.last_offset();
    info.max_timestamp = std::max(info.max_timestamp, h.max_timestamp);
    info.records += h.records_count;
    info.bytes += bytes.size();
  }
  return info;
}

absl::StatusOr<LogAppendInfo> Log::AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                                   record::EndTxnMarker marker,
                                                   Epoch leader_epoch) {
  if (producer_id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction marker without a producer id (", producer_id, ")"));
  }
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (absl::Status s =
          producer_state_.CheckMarker(producer_id, producer_epoch, marker.coordinator_epoch);
      !s.ok()) {
    return s;
  }
  const Offset at = log_end_locked();
  std::string batch =
      record::BuildEndTxnMarkerBatch(producer_id, producer_epoch, marker, clock_->NowMs(), at);
  record::SetPartitionLeaderEpoch(batch.data(), leader_epoch);
  absl::StatusOr<record::BatchHeader> header = record::ReadBatchHeader(batch);
  if (!header.ok()) return header.status();
  if (absl::Status s = AppendLocked(*header, batch); !s.ok()) return s;
  LogAppendInfo info;
  info.first_offset = at;
  info.last_offset = header->last_offset();
  info.max_timestamp = header->max_timestamp;
  info.records = header->records_count;
  info.bytes = batch.size();
  return info;
}

std::optional<Offset> Log::FirstUnstableOffset() const {
  absl::MutexLock l(&mu_);
  return producer_state_.FirstUnstableOffset();
}

absl::Status Log::IndexIfAborted(Segment& segment, const std::optional<CompletedTxn>& done) {
  if (!done.has_value() || !done->aborted) return absl::OkStatus();
  const Offset lso = producer_state_.FirstOpenOffset().value_or(done->last_offset + 1);
  return segment.AppendAbortedTxn(
      AbortedTxn{done->producer_id, done->first_offset, done->last_offset, lso});
}

absl::StatusOr<std::vector<AbortedTxn>> Log::CollectAbortedTxns(Offset from,
                                                                Offset upper_bound) const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  std::vector<AbortedTxn> out;
  // From the segment holding `from` on, past `upper_bound` too: a
  // transaction's marker may lie in a later segment than its data.
  auto it = segments_.upper_bound(from);
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    if (it->second->txn_index().Collect(from, upper_bound, &out)) break;
  }
  return out;
}

absl::StatusOr<LogReadResult> Log::Read(Offset start, size_t max_bytes, Offset max_offset) const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  LogReadResult result{std::string(), log_start_offset_, log_end_locked()};
  if (start < log_start_offset_ || start > log_end_locked()) {
    return absl::OutOfRangeError(absl::StrCat("offset ", start.value(), " is out of range for ",
                                              dir_, ": the log holds [", log_start_offset_.value(),
                                              ", ", log_end_locked().value(), ")"));
  }
  // The segment holding `start`, or the next one with data when `start`
  // falls in a gap at a segment's end (or below the first segment: a
  // follower's first segment may start at its compacted leader's first
  // batch).
  auto it = segments_.upper_bound(start);
  if (it != segments_.begin()) it = std::prev(it);
  std::optional<Segment::BatchLocation> loc;
  for (; it != segments_.end(); ++it) {
    absl::StatusOr<std::optional<Segment::BatchLocation>> found = it->second->FindBatch(start);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      loc = **found;
      break;
    }
  }
  if (!loc || loc->header.last_offset() >= max_offset) return result;

  const Segment& seg = *it->second;
  // A batch longer than any producer could send is a damaged length field:
  // reading "it" would pull in the rest of the segment.
  const size_t longest =
      std::max<size_t>(64 << 20, 2 * static_cast<size_t>(config_.max_message_bytes));
  if (loc->header.size_in_bytes() > longest) {
    return absl::DataLossError(absl::StrCat("the batch at offset ", loc->header.base_offset.value(),
                                            " of ", dir_, " claims ", loc->header.size_in_bytes(),
                                            " bytes"));
  }
  const size_t want = std::max(max_bytes, loc->header.size_in_bytes());
  absl::StatusOr<std::string> bytes = seg.ReadAt(loc->position, want);
  if (!bytes.ok()) return bytes.status();
  // Keep whole batches below max_offset only.
  record::BatchIterator batches(*bytes);
  record::BatchHeader header;
  std::string_view batch;
  size_t keep = 0;
  while (batches.Next(&header, &batch) && header.last_offset() < max_offset)
    keep = batches.position();
  if (keep == 0 && !bytes->empty()) {
    // The first batch is below max_offset yet does not parse: damage.
    return absl::DataLossError(absl::StrCat("the batch at offset ", loc->header.base_offset.value(),
                                            " (position ", loc->position, ") of ", dir_,
                                            " does not parse"));
  }
  bytes->resize(keep);
  result.batches = std::move(*bytes);
  return result;
}

absl::StatusOr<std::optional<Log::TimestampAndOffset>> Log::OffsetForTimestamp(
    int64_t timestamp) const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  for (const auto& [base, seg] : segments_) {
    if (seg->max_timestamp() < timestamp) continue;
    absl::StatusOr<std::optional<TimestampAndOffset>> found =
        FirstRecordAtOrAfterLocked(*seg, timestamp);
    if (!found.ok() || found->has_value()) return found;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<Log::TimestampAndOffset>> Log::MaxTimestampRecord() const {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  const Segment* latest = nullptr;
  for (const auto& [base, seg] : segments_) {
    if (seg->max_timestamp() >= 0 &&
        (latest == nullptr || seg->max_timestamp() > latest->max_timestamp())) {
      latest = seg.get();
    }
  }
  if (latest == nullptr) return std::nullopt;
  return FirstRecordAtOrAfterLocked(*latest, latest->max_timestamp());
}

absl::StatusOr<std::optional<Log::TimestampAndOffset>> Log::FirstRecordAtOrAfterLocked(
    const Segment& seg, int64_t timestamp) const {
  absl::StatusOr<std::optional<Segment::BatchLocation>> loc = seg.FindBatchByTimestamp(timestamp);
  if (!loc.ok()) return loc.status();
  if (!loc->has_value()) return std::nullopt;
  // The first batch whose max timestamp is late enough, and those after it
  // in the segment: the first record late enough and not below the log
  // start (which may lie inside the segment) is the answer.
  uint64_t position = (*loc)->position;
  record::BatchHeader header = (*loc)->header;
  while (true) {
    if (header.max_timestamp >= timestamp && header.last_offset() >= log_start_offset_) {
      absl::StatusOr<std::string> bytes = seg.ReadAt(position, header.size_in_bytes());
      if (!bytes.ok()) return bytes.status();
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(*bytes);
      if (!records.ok()) return records.status();
      for (const record::Record& r : *records) {
        if (r.timestamp >= timestamp && r.offset >= log_start_offset_) {
          return TimestampAndOffset{r.timestamp, r.offset};
        }
      }
    }
    position += header.size_in_bytes();
    if (position >= seg.size()) return std::nullopt;
    absl::StatusOr<std::string> next = seg.ReadAt(position, record::kBatchHeaderSize);
    if (!next.ok()) return next.status();
    absl::StatusOr<record::BatchHeader> parsed = record::ReadBatchHeader(*next);
    if (!parsed.ok()) return parsed.status();
    header = *parsed;
  }
}

absl::Status Log::TruncateTo(Offset offset) {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (offset >= log_end_locked()) {
    // No records go, but an epoch this replica was assigned as leader and
    // never wrote must: as a follower it takes the leader's epochs.
    return epochs_->TruncateFromEnd(log_end_locked());
  }
  LOG(INFO) << "Truncating " << dir_ << " from " << log_end_locked() << " to " << offset;
  NewGeneration();
  // Where the log is to end: at `offset`, or at the base of a batch that
  // holds it (which goes whole). The segments left may end below that, at
  // a gap the cleaner left; an empty segment there keeps the log end (and
  // so every offset the log handed out) from moving back.
  Offset target = offset;
  if (offset >= log_start_offset_) {
    auto holder = segments_.upper_bound(offset);
    if (holder != segments_.begin()) holder = std::prev(holder);
    absl::StatusOr<std::optional<Segment::BatchLocation>> loc = holder->second->FindBatch(offset);
    if (!loc.ok()) return loc.status();
    if (loc->has_value()) target = std::min(target, (*loc)->header.base_offset);
  }
  // Snapshots describing records about to go go first (a crash part way
  // must not leave one to be loaded against the shorter log).
  if (absl::Status s = DeleteProducerSnapshotsOutsideLocked(
          offset < log_start_offset_ ? Offset(std::numeric_limits<int64_t>::max()) : Offset(0),
          target);
      !s.ok()) {
    return s;
  }
  if (offset < log_start_offset_) {
    producer_state_.Clear();
    for (auto& [base, seg] : segments_) {
      if (absl::Status s = seg->DeleteFiles(); !s.ok()) return s;
    }
    segments_.clear();
    absl::StatusOr<std::unique_ptr<Segment>> seg =
        Segment::Create(fs_, dir_, offset, SegmentOptions());
    if (!seg.ok()) return seg.status();
    segments_.emplace(offset, std::move(*seg));
    log_start_offset_ = offset;
  } else {
    // Whole segments at or past `offset` go; the first segment always stays.
    while (segments_.size() > 1 && segments_.rbegin()->first >= offset) {
      if (absl::Status s = active()->DeleteFiles(); !s.ok()) return s;
      segments_.erase(std::prev(segments_.end()));
    }
    absl::StatusOr<uint64_t> removed = active()->TruncateTo(offset);
    if (!removed.ok()) return removed.status();
    if (active()->base_offset() > target) {
      // The only segment started past `offset` (a copy of a compacted
      // leader starts at its first batch) and is now empty: it restarts
      // at `target`.
      CHECK(active()->empty() && segments_.size() == 1);
      absl::StatusOr<std::unique_ptr<Segment>> seg =
          Segment::Create(fs_, dir_, target, SegmentOptions());
      if (!seg.ok()) return seg.status();
      if (absl::Status s = active()->DeleteFiles(); !s.ok()) return s;
      segments_.clear();
      segments_.emplace(target, std::move(*seg));
      if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
    }
    // Before a roll to `target`, which snapshots the state.
    if (absl::StatusOr<std::optional<Offset>> s = ReloadProducerStateLocked(); !s.ok()) {
      return s.status();
    }
    if (log_end_locked() < target) {
      if (absl::Status s = RollLocked(target); !s.ok()) return s;
    }
    // The batch holding `offset` went whole; it may have held the start.
    log_start_offset_ = std::min(log_start_offset_, log_end_locked());
  }
  recovery_point_ = std::min(recovery_point_, log_end_locked());
  if (absl::Status s = epochs_->TruncateFromEnd(log_end_locked()); !s.ok()) return s;
  if (absl::Status s = epochs_->TruncateFromStart(log_start_offset_); !s.ok()) return s;
  // A truncation below the high watermark lowers it (the write below
  // clamps it): written whatever else the checkpoint holds, since a
  // directory file read before now holds the higher one
  // (LogDirCheckpoint) and must lose to this checkpoint from now on.
  if (high_watermark_ > log_end_locked()) rewrite_checkpoint_ = true;
  if (absl::Status s = WriteCheckpointLocked(); !s.ok()) return s;
  if (truncation_listener_) return truncation_listener_(log_end_locked());
  return absl::OkStatus();
}

absl::StatusOr<Log::DeletedSegments> Log::DeleteOldSegments() {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  const int64_t now = clock_->NowMs();
  const bool by_retention = IsDeletedByRetention(config_.cleanup_policy);
  int64_t excess_bytes = -1;  // what retention.bytes wants gone
  if (by_retention && config_.retention_bytes >= 0) {
    int64_t size = 0;
    for (const auto& [_, seg] : segments_) size += static_cast<int64_t>(seg->size());
    excess_bytes = size - config_.retention_bytes;
  }
  // The oldest segments, in order, while each qualifies.
  std::vector<Offset> doomed;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    const Segment& seg = *it->second;
    const auto next = std::next(it);
    const bool is_active = next == segments_.end();
    if (is_active && seg.empty()) break;
    const Offset upper = is_active ? seg.next_offset() : next->first;
    if (upper > high_watermark_) break;
    const bool below_start = !is_active && next->first <= log_start_offset_;
    // A segment whose records carry no timestamp ages from its creation
    // (Kafka falls back to the file's modification time).
    const int64_t largest = seg.max_timestamp() >= 0 ? seg.max_timestamp() : seg.created_ms();
    const bool expired =
        by_retention && config_.retention_ms >= 0 && now - largest > config_.retention_ms;
    const bool over_size = excess_bytes >= static_cast<int64_t>(seg.size());
    if (!below_start && !expired && !over_size) break;
    if (excess_bytes >= 0) excess_bytes -= static_cast<int64_t>(seg.size());
    doomed.push_back(it->first);
  }
  DeletedSegments out;
  out.delete_after_ms = config_.file_delete_delay_ms;
  if (doomed.empty()) return out;
  NewGeneration();
  const Offset before_start = log_start_offset_;
  if (doomed.back() == active()->base_offset()) {
    // Deleting every segment: roll first so that the log end stays.
    if (absl::Status s = RollLocked(); !s.ok()) return s;
  }
  // The log start moves (and is checkpointed) first, so that a failure or a
  // crash part way leaves segments below the start, which the next pass
  // (or Load) deals with, and never a start below the first segment.
  log_start_offset_ = std::max(log_start_offset_, std::next(segments_.find(doomed.back()))->first);
  if (absl::Status s = epochs_->TruncateFromStart(log_start_offset_); !s.ok()) return s;
  if (absl::Status s = WriteCheckpointLocked(); !s.ok()) return s;
  if (absl::Status s = OnLogStartMovedLocked(); !s.ok()) return s;
  for (Offset base : doomed) {
    auto it = segments_.find(base);
    const Segment& seg = *it->second;
    const char* why = std::next(it)->first <= before_start
                          ? "it lies wholly below the log start offset"
                          : "retention.ms or retention.bytes was breached";
    LOG(INFO) << "Deleting segment " << SegmentFileStem(base) << " of " << dir_ << " (offsets "
              << base << " to " << seg.next_offset() - 1 << ", largest timestamp "
              << seg.max_timestamp() << "): " << why;
    absl::StatusOr<std::vector<std::string>> files = it->second->RenameForDeletion();
    if (!files.ok()) return files.status();
    out.files.insert(out.files.end(), files->begin(), files->end());
    segments_.erase(it);
    ++out.count;
  }
  return out;
}

absl::StatusOr<Offset> Log::MaybeIncrementLogStartOffset(Offset offset,
                                                         bool bounded_by_high_watermark) {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (bounded_by_high_watermark && offset > high_watermark_) {
    return absl::OutOfRangeError(
        absl::StrCat("Cannot increment the log start offset to ", offset.value(), " of ", dir_,
                     " since it is larger than the high watermark ", high_watermark_.value()));
  }
  offset = std::min(offset, log_end_locked());
  if (offset <= log_start_offset_) return log_start_offset_;
  VLOG(1) << "Log start of " << dir_ << " moves from " << log_start_offset_ << " to " << offset;
  log_start_offset_ = offset;
  if (absl::Status s = epochs_->TruncateFromStart(log_start_offset_); !s.ok()) return s;
  if (absl::Status s = WriteCheckpointLocked(); !s.ok()) return s;
  if (absl::Status s = OnLogStartMovedLocked(); !s.ok()) return s;
  return log_start_offset_;
}

absl::Status Log::TruncateFullyAndStartAt(Offset offset) {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  LOG(INFO) << "Emptying " << dir_ << " (offsets " << log_start_offset_ << " to "
            << log_end_locked() << ") to restart it at " << offset;
  NewGeneration();
  // The checkpoint first: a crash from here on leaves segments that end
  // below the checkpointed start, or none, and Load starts the log over at
  // `offset` either way.
  if (absl::Status s = WritePartitionCheckpointLocked({{"recovery-point", offset.value()},
                                                       {"log-start-offset", offset.value()},
                                                       {"high-watermark", offset.value()}});
      !s.ok()) {
    return s;
  }
  producer_state_.Clear();
  if (absl::Status s = DeleteProducerSnapshotsOutsideLocked(
          Offset(std::numeric_limits<int64_t>::max()), Offset(0));
      !s.ok()) {
    return s;
  }
  while (!segments_.empty()) {
    if (absl::Status s = segments_.begin()->second->DeleteFiles(); !s.ok()) return s;
    segments_.erase(segments_.begin());
  }
  absl::StatusOr<std::unique_ptr<Segment>> seg =
      Segment::Create(fs_, dir_, offset, SegmentOptions());
  if (!seg.ok()) return seg.status();
  segments_.emplace(offset, std::move(*seg));
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
  log_start_offset_ = recovery_point_ = high_watermark_ = offset;
  may_have_gaps_ = false;  // the checkpoint above has no entry for it
  // Every epoch known started below `offset`: none describes the new log.
  if (absl::Status s = epochs_->TruncateFromEnd(Offset(0)); !s.ok()) return s;
  if (truncation_listener_) return truncation_listener_(offset);
  return absl::OkStatus();
}

absl::Status Log::Roll() {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (active()->empty()) return absl::OkStatus();
  return RollLocked();
}

absl::Status Log::MaybeFlushOnTime() {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::OkStatus();
  if (unflushed_messages_ > 0 && clock_->NowMs() - last_flush_ms_ >= config_.flush_ms) {
    return FlushLocked();
  }
  return absl::OkStatus();
}

void Log::UpdateConfig(const LogConfig& config) {
  absl::MutexLock l(&mu_);
  // A cleaning runs on the policy it started with; a change of policy
  // (compact -> delete) aborts it before its next swap.
  if (config.cleanup_policy != config_.cleanup_policy) NewGeneration();
  config_ = config;
}

LogConfig Log::config() const {
  absl::MutexLock l(&mu_);
  return config_;
}

absl::Status Log::Flush() {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  return FlushLocked();
}

absl::Status Log::Close() {
  absl::MutexLock l(&mu_);
  // A failed log is not closed cleanly: its pending swap needs Load.
  if (closed_) return failed_;
  NewGeneration();
  // Record the active segment's true max timestamp, as a roll would.
  if (absl::Status s = active()->OnRoll(); !s.ok()) return s;
  if (absl::Status s = FlushLocked(); !s.ok()) return s;
  // The producer state at the log end, now synced, so the next start
  // replays nothing (an empty log, or one already snapshotted there, needs
  // no file).
  const Offset end = log_end_locked();
  const bool have = !producer_snapshots_.empty() && producer_snapshots_.back() == end;
  const bool empty = end == log_start_offset_ && producer_state_.size() == 0;
  if (!have && !empty) {
    if (absl::Status s = WriteProducerSnapshotLocked(end); !s.ok()) return s;
  }
  closed_ = true;
  return absl::OkStatus();
}

std::vector<ProducerStateView> Log::ActiveProducers() const {
  absl::MutexLock l(&mu_);
  return producer_state_.Views();
}

std::vector<std::pair<int64_t, ProducerStateEntry>> Log::ProducerEntries() const {
  absl::MutexLock l(&mu_);
  return producer_state_.Entries();
}

int Log::RemoveExpiredProducers(int64_t now_ms, int64_t expiration_ms) {
  absl::MutexLock l(&mu_);
  if (closed_) return 0;
  const int removed = producer_state_.RemoveExpired(now_ms, expiration_ms);
  if (removed > 0) {
    VLOG(1) << "Expired " << removed << " producer(s) of " << dir_ << " (producer.id.expiration.ms "
            << expiration_ms << ")";
  }
  return removed;
}

absl::Status Log::Delete() {
  absl::MutexLock l(&mu_);
  // Segments stay open (their files unlinked) for anyone still holding the
  // Log; closed_ makes every call refuse.
  closed_ = true;
  NewGeneration();
  const std::string doomed = dir_ + ".deleting";
  if (absl::Status s = fs_->Rename(dir_, doomed); !s.ok()) return s;
  if (absl::Status s = fs_->SyncDir(DirName(dir_)); !s.ok()) return s;
  return fs_->DeleteDirRecursively(doomed);
}

absl::Status Log::CheckOpen() const {
  if (!failed_.ok()) return failed_;
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  return absl::OkStatus();
}

absl::Status Log::AssignLeaderEpoch(Epoch epoch) {
  absl::MutexLock l(&mu_);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  return epochs_->Assign(epoch, log_end_locked());
}

EpochEndOffset Log::EndOffsetForEpoch(Epoch epoch) const {
  absl::MutexLock l(&mu_);
  return epochs_->EndOffsetFor(epoch, log_end_locked());
}

std::optional<Epoch> Log::latest_epoch() const {
  absl::MutexLock l(&mu_);
  return epochs_->latest_epoch();
}

Offset Log::log_start_offset() const {
  absl::MutexLock l(&mu_);
  return log_start_offset_;
}
Offset Log::log_end_offset() const {
  absl::MutexLock l(&mu_);
  return log_end_locked();
}
Offset Log::recovery_point() const {
  absl::MutexLock l(&mu_);
  return recovery_point_;
}
int Log::num_segments() const {
  absl::MutexLock l(&mu_);
  return static_cast<int>(segments_.size());
}
int64_t Log::size_bytes() const {
  absl::MutexLock l(&mu_);
  int64_t total = 0;
  for (const auto& [_, seg] : segments_) total += static_cast<int64_t>(seg->size());
  return total;
}
std::vector<Offset> Log::segment_base_offsets() const {
  absl::MutexLock l(&mu_);
  std::vector<Offset> bases;
  for (const auto& [base, _] : segments_) bases.push_back(base);
  return bases;
}

}  // namespace strata::storage
