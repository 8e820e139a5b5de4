#include "broker/storage/txn_index.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

constexpr int16_t kVersion = 0;

std::string Encode(const AbortedTxn& txn) {
  std::string out(TxnIndex::kEntrySize, '\0');
  out[0] = static_cast<char>((kVersion >> 8) & 0xFF);
  out[1] = static_cast<char>(kVersion & 0xFF);
  PutBigEndian64(out.data() + 2, static_cast<uint64_t>(txn.producer_id));
  PutBigEndian64(out.data() + 10, static_cast<uint64_t>(txn.first_offset.value()));
  PutBigEndian64(out.data() + 18, static_cast<uint64_t>(txn.last_offset.value()));
  PutBigEndian64(out.data() + 26, static_cast<uint64_t>(txn.last_stable_offset.value()));
  return out;
}

}  // namespace

absl::StatusOr<TxnIndex> TxnIndex::Open(FileSystem* fs, std::string path) {
  TxnIndex index(fs, std::move(path));
  if (!fs->Exists(index.path_)) return index;
  absl::StatusOr<uint64_t> size = fs->FileSize(index.path_);
  if (!size.ok()) return size.status();
  if (const uint64_t torn = *size % kEntrySize; torn != 0) {
    // Only an entry written after the last sync can be torn; the Log's
    // replay writes it again.
    LOG(WARNING) << "Cutting the torn last " << torn << " bytes of " << index.path_;
    absl::StatusOr<std::unique_ptr<File>> file = fs->Open(index.path_, /*create=*/false);
    if (!file.ok()) return file.status();
    if (absl::Status s = (*file)->Truncate(*size - torn); !s.ok()) return s;
    if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  }
  std::string contents;
  absl::StatusOr<IndexFile> file =
      IndexFile::Open(fs, index.path_, kEntrySize, /*reset=*/false, &contents);
  if (!file.ok()) return file.status();
  index.file_.emplace(std::move(*file));
  for (size_t pos = 0, n = 0; pos + kEntrySize <= contents.size(); pos += kEntrySize, ++n) {
    const char* p = contents.data() + pos;
    const int16_t version =
        static_cast<int16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
    AbortedTxn txn{static_cast<int64_t>(GetBigEndian64(p + 2)),
                   Offset(static_cast<int64_t>(GetBigEndian64(p + 10))),
                   Offset(static_cast<int64_t>(GetBigEndian64(p + 18))),
                   Offset(static_cast<int64_t>(GetBigEndian64(p + 26)))};
    if (version != kVersion || txn.producer_id < 0 || txn.first_offset.value() < 0 ||
        txn.first_offset > txn.last_offset) {
      return absl::DataLossError(absl::StrCat(
          "corrupt transaction index ", index.path_, ": entry ", n, " (version ", version,
          ", producer id ", txn.producer_id, ", offsets ", txn.first_offset.value(), " to ",
          txn.last_offset.value(), ") is not an aborted transaction"));
    }
    index.entries_.push_back(txn);
  }
  return index;
}

absl::Status TxnIndex::EnsureFile() {
  if (file_.has_value()) return absl::OkStatus();
  std::string ignored;
  absl::StatusOr<IndexFile> file =
      IndexFile::Open(fs_, path_, kEntrySize, /*reset=*/true, &ignored);
  if (!file.ok()) return file.status();
  file_.emplace(std::move(*file));
  return absl::OkStatus();
}

absl::Status TxnIndex::Append(const AbortedTxn& txn) {
  if (absl::Status s = EnsureFile(); !s.ok()) return s;
  if (absl::Status s = file_->Append(Encode(txn)); !s.ok()) return s;
  entries_.push_back(txn);
  return absl::OkStatus();
}

absl::Status TxnIndex::TruncateTo(Offset offset) {
  size_t keep = entries_.size();
  while (keep > 0 && entries_[keep - 1].last_offset >= offset) --keep;
  // Markers are appended in offset order, so the ones to drop are a suffix;
  // a replay never appends out of order either.
  if (keep == entries_.size()) return absl::OkStatus();
  if (absl::Status s = file_->TruncateToEntries(keep); !s.ok()) return s;
  entries_.resize(keep);
  return absl::OkStatus();
}

absl::Status TxnIndex::Sync() { return file_.has_value() ? file_->Sync() : absl::OkStatus(); }

absl::Status TxnIndex::Delete() {
  file_.reset();
  entries_.clear();
  absl::Status s = fs_->DeleteFile(path_);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

bool TxnIndex::Collect(Offset from, Offset upper_bound, std::vector<AbortedTxn>* out) const {
  for (const AbortedTxn& txn : entries_) {
    if (txn.last_offset >= from && txn.first_offset < upper_bound) out->push_back(txn);
    if (txn.last_stable_offset >= upper_bound) return true;
  }
  return false;
}

}  // namespace strata::storage
