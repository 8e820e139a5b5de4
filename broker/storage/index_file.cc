#include "broker/storage/index_file.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::storage {
namespace {
constexpr size_t kPendingFlushBytes = 4096;
}  // namespace

absl::StatusOr<IndexFile> IndexFile::Open(FileSystem* fs, const std::string& path,
                                          size_t entry_size, bool reset, std::string* contents) {
  absl::StatusOr<std::unique_ptr<File>> file = fs->Open(path, /*create=*/true);
  if (!file.ok()) return file.status();
  contents->clear();
  if (reset) {
    if ((*file)->Size() > 0) {
      if (absl::Status s = (*file)->Truncate(0); !s.ok()) return s;
    }
    // The emptying must reach the disk before entries are relied on; the
    // next Sync does it.
    return IndexFile(fs, path, entry_size, 0, /*unsynced=*/true);
  }
  if ((*file)->Size() % entry_size != 0) {
    return absl::DataLossError(absl::StrCat("index ", path, " has ", (*file)->Size(),
                                            " bytes, not a multiple of its ", entry_size,
                                            "-byte entries"));
  }
  absl::StatusOr<std::string> bytes = (*file)->ReadAll();
  if (!bytes.ok()) return bytes.status();
  *contents = std::move(*bytes);
  return IndexFile(fs, path, entry_size, contents->size(), /*unsynced=*/false);
}

absl::Status IndexFile::Append(std::string_view entry) {
  pending_.append(entry);
  if (pending_.size() >= kPendingFlushBytes) return WritePending(nullptr);
  return absl::OkStatus();
}

absl::Status IndexFile::WritePending(File* file) {
  if (pending_.empty()) return absl::OkStatus();
  std::unique_ptr<File> own;
  if (file == nullptr) {
    absl::StatusOr<std::unique_ptr<File>> opened = fs_->Open(path_, /*create=*/true);
    if (!opened.ok()) return opened.status();
    own = std::move(*opened);
    file = own.get();
  }
  if (file->Size() != file_size_) {
    // Someone else changed the file; entries appended now would land at the
    // wrong place. Rebuilding the index from the log fixes it.
    return absl::DataLossError(
        absl::StrCat("index ", path_, " has ", file->Size(), " bytes, expected ", file_size_));
  }
  unsynced_ = true;
  if (absl::Status s = file->Append(pending_); !s.ok()) {
    // Drop whatever part was written; the entries stay buffered for a retry.
    (void)file->Truncate(file_size_);
    return s;
  }
  file_size_ += pending_.size();
  // Release the buffer, not just empty it: thousands of idle replicas would
  // otherwise each keep 4 KiB per index for nothing.
  std::string().swap(pending_);
  return absl::OkStatus();
}

absl::Status IndexFile::TruncateToEntries(size_t n) {
  const uint64_t keep = n * entry_size_;
  if (keep >= file_size_) {
    pending_.resize(std::min<uint64_t>(pending_.size(), keep - file_size_));
    return absl::OkStatus();
  }
  pending_.clear();
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(path_, /*create=*/true);
  if (!file.ok()) return file.status();
  unsynced_ = true;
  if (absl::Status s = (*file)->Truncate(keep); !s.ok()) return s;
  file_size_ = keep;
  return absl::OkStatus();
}

absl::Status IndexFile::Sync() {
  if (!unsynced_ && pending_.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(path_, /*create=*/true);
  if (!file.ok()) return file.status();
  if (absl::Status s = WritePending(file->get()); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  unsynced_ = false;
  return absl::OkStatus();
}

}  // namespace strata::storage
