#include "broker/storage/segment.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

// How much of the .log one read brings in while walking batch headers.
constexpr size_t kWalkChunkBytes = 64 * 1024;

}  // namespace

std::string SegmentFileStem(Offset base_offset) {
  return absl::StrFormat("%020d", base_offset.value());
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(FileSystem* fs, const std::string& dir,
                                                         Offset base_offset,
                                                         const Options& options) {
  return CreateWithSuffix(fs, dir, base_offset, options, "");
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::CreateWithSuffix(FileSystem* fs,
                                                                   const std::string& dir,
                                                                   Offset base_offset,
                                                                   const Options& options,
                                                                   const std::string& file_suffix) {
  std::unique_ptr<Segment> seg(new Segment(fs, dir, base_offset, options, file_suffix));
  {
    absl::StatusOr<std::unique_ptr<File>> log = fs->Open(seg->log_path_, /*create=*/true);
    if (!log.ok()) return log.status();
    if ((*log)->Size() > 0) {
      if (absl::Status s = (*log)->Truncate(0); !s.ok()) return s;
      seg->log_unsynced_ = true;
    }
    // Closed here: a new replica that never gets a record holds no
    // descriptor; the first append opens it.
  }
  if (absl::Status s = seg->LoadIndexes(/*reset=*/true); !s.ok()) return s;
  if (absl::Status s = seg->LoadTxnIndex(/*fresh=*/true); !s.ok()) return s;
  return seg;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Open(FileSystem* fs, const std::string& dir,
                                                       Offset base_offset, const Options& options) {
  std::unique_ptr<Segment> seg(new Segment(fs, dir, base_offset, options));
  const std::string stem = JoinPath(dir, SegmentFileStem(base_offset));
  const bool indexes_present = fs->Exists(stem + ".index") && fs->Exists(stem + ".timeindex");
  absl::Status s = seg->StatLog();
  if (!s.ok()) return s;
  s = seg->LoadIndexes(/*reset=*/false);
  if (s.ok() && !indexes_present) s = absl::DataLossError("index files are missing");
  if (s.ok()) s = seg->offset_index_->CheckPositionsBelow(seg->size());
  if (absl::IsDataLoss(s)) {
    // Indexes are derived data: rebuild them from the log. The log itself
    // must be intact here, so any bad batch is an error.
    LOG(WARNING) << "Rebuilding indexes of " << seg->log_path() << ": " << s.message();
    if (s = seg->LoadIndexes(/*reset=*/true); !s.ok()) return s;
    RecoveryResult ignored;
    s = seg->Rebuild(Offset(INT64_MAX), /*truncate_bad_tail=*/false, &ignored);
    if (s.ok()) s = seg->offset_index_->Sync();
    if (s.ok()) s = seg->time_index_->Sync();
  } else if (s.ok()) {
    s = seg->LoadTail();
  }
  if (s.ok()) s = seg->LoadTxnIndex(/*fresh=*/false);
  if (!s.ok()) return s;
  return seg;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::OpenAndRecover(
    FileSystem* fs, const std::string& dir, Offset base_offset, const Options& options,
    Offset intact_below, RecoveryResult* result) {
  std::unique_ptr<Segment> seg(new Segment(fs, dir, base_offset, options));
  if (absl::Status s = seg->StatLog(); !s.ok()) return s;
  // What the scan accepts may still be only in the page cache (the process
  // died, not the machine): the next Flush syncs it.
  seg->log_unsynced_ = true;
  if (absl::Status s = seg->LoadIndexes(/*reset=*/true); !s.ok()) return s;
  if (absl::Status s = seg->Rebuild(intact_below, /*truncate_bad_tail=*/true, result); !s.ok()) {
    return s;
  }
  // Not rebuilt here: the Log's producer-state replay rewrites the entries
  // from its snapshot on, which covers everything this scan may have cut.
  if (absl::Status s = seg->LoadTxnIndex(/*fresh=*/false); !s.ok()) return s;
  return seg;
}

absl::Status Segment::StatLog() {
  absl::StatusOr<uint64_t> size = fs_->FileSize(log_path_);
  if (absl::IsNotFound(size.status())) {
    absl::StatusOr<std::unique_ptr<File>> created = fs_->Open(log_path_, /*create=*/true);
    if (!created.ok()) return created.status();
    size = (*created)->Size();
  }
  if (!size.ok()) return size.status();
  size_ = *size;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const File>> Segment::Reader() const {
  if (writer_) return std::shared_ptr<const File>(writer_);
  return fs_->OpenForReading(log_path_);
}

absl::Status Segment::EnsureWriter() {
  if (writer_) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(log_path_, /*create=*/false);
  if (!file.ok()) return file.status();
  if ((*file)->Size() != size_) {
    // Appends go at the file's end, and the index must point at them.
    return absl::DataLossError(
        absl::StrCat(log_path_, " has ", (*file)->Size(), " bytes, but the segment holds ", size_));
  }
  writer_ = std::move(*file);
  return absl::OkStatus();
}

absl::Status Segment::TruncateLog(uint64_t size) {
  std::unique_ptr<File> temporary;
  File* file = writer_.get();
  if (file == nullptr) {
    absl::StatusOr<std::unique_ptr<File>> opened = fs_->Open(log_path_, /*create=*/false);
    if (!opened.ok()) return opened.status();
    temporary = std::move(*opened);
    file = temporary.get();
  }
  log_unsynced_ = true;
  if (absl::Status s = file->Truncate(size); !s.ok()) return s;
  size_ = size;
  return absl::OkStatus();
}

absl::Status Segment::LoadIndexes(bool reset) {
  const std::string stem = JoinPath(dir_, SegmentFileStem(base_offset_));
  offset_index_.reset();
  time_index_.reset();
  absl::StatusOr<OffsetIndex> index =
      OffsetIndex::Open(fs_, stem + ".index" + file_suffix_, base_offset_, reset);
  if (!index.ok()) return index.status();
  offset_index_.emplace(std::move(*index));
  absl::StatusOr<TimeIndex> time_index =
      TimeIndex::Open(fs_, stem + ".timeindex" + file_suffix_, base_offset_, reset);
  if (!time_index.ok()) return time_index.status();
  time_index_.emplace(std::move(*time_index));
  return absl::OkStatus();
}

absl::Status Segment::LoadTxnIndex(bool fresh) {
  const std::string path =
      JoinPath(dir_, SegmentFileStem(base_offset_) + ".txnindex" + file_suffix_);
  if (fresh) {
    absl::Status s = fs_->DeleteFile(path);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  absl::StatusOr<TxnIndex> index = TxnIndex::Open(fs_, path);
  if (!index.ok()) return index.status();
  txn_index_.emplace(std::move(*index));
  return absl::OkStatus();
}

absl::Status Segment::WalkBatches(uint64_t position, bool with_bytes, const BatchFn& fn,
                                  std::string* problem, uint64_t* problem_pos) const {
  const uint64_t size = size_;
  if (position >= size) return absl::OkStatus();
  // One handle for the whole walk: at most one open() per walk.
  absl::StatusOr<std::shared_ptr<const File>> log = Reader();
  if (!log.ok()) return log.status();
  std::string chunk;
  uint64_t chunk_pos = 0;
  // A view of [at, at + n) of the log, reading a new chunk when needed.
  auto view = [&](uint64_t at, size_t n) -> absl::StatusOr<std::string_view> {
    if (at < chunk_pos || at + n > chunk_pos + chunk.size()) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(std::max(n, kWalkChunkBytes), size - at));
      absl::StatusOr<std::string> bytes = (*log)->ReadExactly(at, want);
      if (!bytes.ok()) return bytes.status();
      chunk = std::move(*bytes);
      chunk_pos = at;
    }
    return std::string_view(chunk).substr(at - chunk_pos, n);
  };
  auto stop = [&](uint64_t at, std::string why) {
    *problem = std::move(why);
    *problem_pos = at;
    return absl::OkStatus();
  };

  uint64_t pos = position;
  while (pos < size) {
    if (size - pos < record::kBatchHeaderSize) {
      return stop(pos, absl::StrCat("torn batch header: ", size - pos, " bytes left"));
    }
    absl::StatusOr<std::string_view> head = view(pos, record::kBatchHeaderSize);
    if (!head.ok()) return head.status();
    absl::StatusOr<record::BatchHeader> header = record::ReadBatchHeader(*head);
    if (!header.ok()) return stop(pos, std::string(header.status().message()));
    if (header->batch_length <
        static_cast<int32_t>(record::kBatchHeaderSize - record::kLogOverhead)) {
      return stop(pos,
                  absl::StrCat("batch length ", header->batch_length, " is below the minimum"));
    }
    if (header->size_in_bytes() > size - pos) {
      return stop(pos, absl::StrCat("batch of ", header->size_in_bytes(),
                                    " bytes runs past the end (", size - pos, " bytes left)"));
    }
    std::string_view bytes;
    if (with_bytes) {
      absl::StatusOr<std::string_view> all = view(pos, header->size_in_bytes());
      if (!all.ok()) return all.status();
      bytes = *all;
    }
    if (fn(pos, *header, bytes) == Walk::kStop) return absl::OkStatus();
    pos += header->size_in_bytes();
  }
  return absl::OkStatus();
}

void Segment::Track(uint64_t position, const record::BatchHeader& header) {
  if (position == 0) first_batch_timestamp_ = header.max_timestamp;
  next_offset_ = header.next_offset();
  if (header.max_timestamp > max_timestamp_) {
    max_timestamp_ = header.max_timestamp;
    offset_of_max_timestamp_ = header.last_offset();
  }
}

absl::Status Segment::MaybeIndex(uint64_t position, const record::BatchHeader& header) {
  // As Kafka does: once more than an interval of bytes went by without an
  // entry, the batch now written gets one.
  if (bytes_since_index_entry_ > static_cast<uint64_t>(options_.index_interval_bytes)) {
    if (absl::Status s =
            offset_index_->Append(header.last_offset(), static_cast<uint32_t>(position));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = time_index_->MaybeAppend(max_timestamp_, offset_of_max_timestamp_);
        !s.ok()) {
      return s;
    }
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += header.size_in_bytes();
  return absl::OkStatus();
}

absl::Status Segment::Rebuild(Offset intact_below, bool truncate_bad_tail, RecoveryResult* result) {
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = Offset(-1);
  first_batch_timestamp_.reset();
  bytes_since_index_entry_ = 0;

  std::string problem;
  uint64_t problem_pos = 0;
  absl::Status index_status;
  absl::Status s = WalkBatches(
      0, /*with_bytes=*/true,
      [&](uint64_t pos, const record::BatchHeader& header, std::string_view bytes) {
        // As stored: a cleaned batch may have gaps (record_batch.h).
        if (absl::StatusOr<record::BatchHeader> valid = record::ValidateStoredBatch(bytes);
            !valid.ok()) {
          problem = std::string(valid.status().message());
        } else if (header.base_offset < next_offset_) {
          problem = absl::StrCat("batch base offset ", header.base_offset.value(),
                                 " is below the previous batch's end ", next_offset_.value());
        } else if (header.last_offset() - base_offset_ > int64_t{UINT32_MAX}) {
          problem = absl::StrCat("batch last offset ", header.last_offset().value(),
                                 " is too far from the segment base");
        }
        if (!problem.empty()) {
          problem_pos = pos;
          return Walk::kStop;
        }
        Track(pos, header);
        index_status = MaybeIndex(pos, header);
        return index_status.ok() ? Walk::kContinue : Walk::kStop;
      },
      &problem, &problem_pos);
  if (!s.ok()) return s;
  if (!index_status.ok()) return index_status;
  if (problem.empty()) return absl::OkStatus();

  const std::string where = absl::StrCat(log_path(), " at position ", problem_pos,
                                         " (after offset ", next_offset_.value() - 1, ")");
  if (next_offset_ < intact_below || !truncate_bad_tail) {
    return absl::DataLossError(absl::StrCat(
        "corrupt log segment ", where, ": ", problem,
        next_offset_ < intact_below ? absl::StrCat("; the recovery point is ", intact_below.value(),
                                                   ", so this data had been flushed")
                                    : ""));
  }
  const uint64_t cut = size_ - problem_pos;
  if (s = TruncateLog(problem_pos); !s.ok()) return s;
  result->truncated_bytes = cut;
  result->reason = problem;
  LOG(WARNING) << "Recovery truncated " << cut << " bytes of " << where << ": " << problem;
  return absl::OkStatus();
}

absl::Status Segment::LoadTail() {
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = Offset(-1);
  first_batch_timestamp_.reset();
  if (!time_index_->entries().empty()) {
    max_timestamp_ = time_index_->entries().back().timestamp;
    offset_of_max_timestamp_ = time_index_->entries().back().offset;
  }
  if (size() >= record::kBatchHeaderSize) {
    absl::StatusOr<std::shared_ptr<const File>> log = Reader();
    if (!log.ok()) return log.status();
    absl::StatusOr<std::string> head = (*log)->ReadExactly(0, record::kBatchHeaderSize);
    if (!head.ok()) return head.status();
    if (absl::StatusOr<record::BatchHeader> first = record::ReadBatchHeader(*head); first.ok()) {
      first_batch_timestamp_ = first->max_timestamp;
    }
  }
  const auto& entries = offset_index_->entries();
  const uint64_t start = entries.empty() ? 0 : entries.back().position;
  absl::Status s = WalkHeaders(start, [&](uint64_t pos, const record::BatchHeader& header) {
    Track(pos, header);
    return Walk::kContinue;
  });
  if (!s.ok()) return s;
  bytes_since_index_entry_ = size() - start;
  return absl::OkStatus();
}

absl::Status Segment::Append(const record::BatchHeader& header, std::string_view batch) {
  CHECK_GE(header.base_offset, next_offset_) << "append out of order to " << log_path();
  CHECK_EQ(batch.size(), header.size_in_bytes());
  const uint64_t position = size();
  CHECK_LE(position + batch.size(), uint64_t{UINT32_MAX}) << log_path() << " would outgrow 4 GiB";
  if (absl::Status s = EnsureWriter(); !s.ok()) return s;
  log_unsynced_ = true;
  if (absl::Status s = writer_->Append(batch); !s.ok()) {
    // Leave no partial batch behind: the next append would land after it.
    if (absl::Status t = writer_->Truncate(position); !t.ok()) {
      LOG(ERROR) << "Could not cut partial write from " << log_path() << ": " << t;
      // The file's end is unknown now; the next append reopens and checks.
      writer_.reset();
    }
    return s;
  }
  size_ += batch.size();
  Track(position, header);
  return MaybeIndex(position, header);
}

absl::StatusOr<std::optional<Segment::BatchLocation>> Segment::FindFirstBatch(
    uint64_t start, const std::function<bool(const record::BatchHeader&)>& wanted) const {
  std::optional<BatchLocation> found;
  absl::Status s = WalkHeaders(start, [&](uint64_t pos, const record::BatchHeader& header) {
    if (!wanted(header)) return Walk::kContinue;
    found = BatchLocation{static_cast<uint32_t>(pos), header};
    return Walk::kStop;
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<std::optional<Segment::BatchLocation>> Segment::FindBatch(Offset target) const {
  if (target >= next_offset_) return std::nullopt;
  return FindFirstBatch(offset_index_->Lookup(target).position,
                        [&](const record::BatchHeader& h) { return h.last_offset() >= target; });
}

absl::StatusOr<std::optional<Segment::BatchLocation>> Segment::FindBatchByTimestamp(
    int64_t timestamp) const {
  if (max_timestamp_ < timestamp) return std::nullopt;
  uint64_t start = 0;
  if (std::optional<TimeIndex::Entry> e = time_index_->Lookup(timestamp)) {
    start = offset_index_->Lookup(e->offset).position;
  }
  return FindFirstBatch(start,
                        [&](const record::BatchHeader& h) { return h.max_timestamp >= timestamp; });
}

absl::Status Segment::ForEachBatchHeader(
    const std::function<void(const record::BatchHeader&)>& fn) const {
  return ForEachBatchLocation([&](const BatchLocation& at) { fn(at.header); });
}

absl::Status Segment::ForEachBatchLocation(
    const std::function<void(const BatchLocation&)>& fn) const {
  return WalkHeaders(0, [&](uint64_t pos, const record::BatchHeader& header) {
    fn(BatchLocation{static_cast<uint32_t>(pos), header});
    return Walk::kContinue;
  });
}

absl::Status Segment::WalkHeaders(
    uint64_t position,
    const std::function<Walk(uint64_t position, const record::BatchHeader&)>& fn) const {
  std::string problem;
  uint64_t problem_pos = 0;
  absl::Status s = WalkBatches(
      position, /*with_bytes=*/false,
      [&](uint64_t pos, const record::BatchHeader& header, std::string_view) {
        return fn(pos, header);
      },
      &problem, &problem_pos);
  if (!s.ok()) return s;
  if (!problem.empty()) {
    return absl::DataLossError(absl::StrCat("corrupt log segment ", log_path(), " at position ",
                                            problem_pos, ": ", problem));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Segment::ReadAt(uint64_t position, size_t max_bytes) const {
  if (position >= size()) return std::string();
  absl::StatusOr<std::shared_ptr<const File>> log = Reader();
  if (!log.ok()) return log.status();
  return (*log)->ReadExactly(position,
                             static_cast<size_t>(std::min<uint64_t>(max_bytes, size() - position)));
}

absl::StatusOr<uint64_t> Segment::TruncateTo(Offset offset) {
  absl::StatusOr<std::optional<BatchLocation>> loc = FindBatch(offset);
  if (!loc.ok()) return loc.status();
  if (!loc->has_value()) return uint64_t{0};
  const uint32_t cut = (*loc)->position;
  const uint64_t removed = size() - cut;
  if (absl::Status s = TruncateLog(cut); !s.ok()) return s;
  if (absl::Status s = offset_index_->TruncateToPosition(cut); !s.ok()) return s;
  if (absl::Status s = time_index_->TruncateTo((*loc)->header.base_offset); !s.ok()) return s;
  if (absl::Status s = txn_index_->TruncateTo((*loc)->header.base_offset); !s.ok()) return s;
  // Re-derive what the dropped batches may have contributed.
  if (absl::Status s = LoadTail(); !s.ok()) return s;
  return removed;
}

absl::Status Segment::Flush() {
  if (log_unsynced_) {
    // Without a write handle (the bytes came from before a restart, or a
    // truncation), a fresh descriptor syncs them: fsync is per file.
    std::shared_ptr<File> file = writer_;
    if (!file) {
      absl::StatusOr<std::unique_ptr<File>> opened = fs_->Open(log_path_, /*create=*/false);
      if (!opened.ok()) return opened.status();
      file = std::move(*opened);
    }
    if (absl::Status s = file->Sync(); !s.ok()) return s;
    log_unsynced_ = false;
  }
  if (absl::Status s = offset_index_->Sync(); !s.ok()) return s;
  if (absl::Status s = txn_index_->Sync(); !s.ok()) return s;
  return time_index_->Sync();
}

absl::Status Segment::OnRoll() {
  if (max_timestamp_ >= 0) {
    if (absl::Status s = time_index_->MaybeAppend(max_timestamp_, offset_of_max_timestamp_);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Flush(); !s.ok()) return s;
  // No longer written: reads go through the shared read handles.
  writer_.reset();
  return absl::OkStatus();
}

absl::Status Segment::DeleteFiles() {
  writer_.reset();
  if (file_suffix_.empty()) return DeleteSegmentFiles(fs_, dir_, base_offset_);
  const std::string stem = JoinPath(dir_, SegmentFileStem(base_offset_));
  for (const char* ext : kSegmentFileExtensions) {
    absl::Status s = fs_->DeleteFile(stem + ext + file_suffix_);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Segment::RenameForDeletion() {
  writer_.reset();
  std::vector<std::string> renamed;
  const std::string stem = JoinPath(dir_, SegmentFileStem(base_offset_));
  // The .log last: a crash part way leaves a whole segment (its indexes are
  // rebuilt) rather than index files that nothing would ever remove.
  for (const char* ext : kSegmentFileExtensions) {
    const std::string from = stem + ext;
    const std::string to = from + kDeletedFileSuffix;
    absl::Status s = fs_->Rename(from, to);
    if (absl::IsNotFound(s)) continue;
    if (!s.ok()) return s;
    renamed.push_back(to);
  }
  return renamed;
}

absl::Status DeleteSegmentFiles(FileSystem* fs, const std::string& dir, Offset base_offset) {
  const std::string stem = JoinPath(dir, SegmentFileStem(base_offset));
  for (const char* ext : kSegmentFileExtensions) {
    if (absl::Status s = fs->DeleteFile(stem + ext); !s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

int64_t Segment::TimeWaitedForRoll(int64_t now_ms, int64_t incoming_max_timestamp) const {
  if (first_batch_timestamp_ && *first_batch_timestamp_ >= 0) {
    return incoming_max_timestamp - *first_batch_timestamp_;
  }
  return now_ms - options_.created_ms;
}

}  // namespace strata::storage
