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
  // Only entries written after the file's last sync can be torn, and the
  // Log's replay writes those again: a partial last entry, or whole entries
  // of zeros where a power loss left the file longer than what reached the
  // disk, are cut.
  std::string contents;
  {
    absl::StatusOr<std::unique_ptr<File>> file = fs->Open(index.path_, /*create=*/false);
    if (!file.ok()) return file.status();
    absl::StatusOr<std::string> bytes = (*file)->ReadAll();
    if (!bytes.ok()) return bytes.status();
    contents = *std::move(bytes);
    size_t keep = contents.size() - contents.size() % kEntrySize;
    for (size_t pos = 0; pos < keep; pos += kEntrySize) {
      if (contents.find_first_not_of('\0', pos) >= pos + kEntrySize) {
        keep = pos;
        break;
      }
    }
    if (keep != contents.size()) {
      LOG(WARNING) << "Cutting the torn last " << contents.size() - keep << " bytes of "
                   << index.path_;
      if (absl::Status s = (*file)->Truncate(keep); !s.ok()) return s;
      if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
    }
  }
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
  // Markers are appended in offset order: everything from the first entry
  // at or above `offset` goes.
  size_t keep = 0;
  while (keep < entries_.size() && entries_[keep].last_offset < offset) ++keep;
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
