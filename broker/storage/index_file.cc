#include "broker/storage/index_file.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::storage {

absl::StatusOr<IndexFile> IndexFile::Open(FileSystem* fs, const std::string& path,
                                          size_t entry_size, bool reset) {
  absl::StatusOr<std::unique_ptr<File>> file = fs->Open(path, /*create=*/true);
  if (!file.ok()) return file.status();
  if (reset) {
    if (absl::Status s = (*file)->Truncate(0); !s.ok()) return s;
  } else if ((*file)->Size() % entry_size != 0) {
    return absl::DataLossError(absl::StrCat("index ", path, " has ", (*file)->Size(),
                                            " bytes, not a multiple of its ", entry_size,
                                            "-byte entries"));
  }
  return IndexFile(std::move(*file), entry_size);
}

namespace {
constexpr size_t kPendingFlushBytes = 4096;
}  // namespace

absl::Status IndexFile::Append(std::string_view entry) {
  pending_.append(entry);
  if (pending_.size() >= kPendingFlushBytes) return WritePending();
  return absl::OkStatus();
}

absl::Status IndexFile::WritePending() {
  if (pending_.empty()) return absl::OkStatus();
  const uint64_t before = file_->Size();
  if (absl::Status s = file_->Append(pending_); !s.ok()) {
    // Drop whatever part was written; the entries stay buffered for a retry.
    (void)file_->Truncate(before);
    return s;
  }
  pending_.clear();
  return absl::OkStatus();
}

absl::Status IndexFile::TruncateToEntries(size_t n) {
  const uint64_t keep = n * entry_size_;
  const uint64_t on_disk = file_->Size();
  if (keep >= on_disk) {
    pending_.resize(std::min<uint64_t>(pending_.size(), keep - on_disk));
    return absl::OkStatus();
  }
  pending_.clear();
  return file_->Truncate(keep);
}

absl::Status IndexFile::Sync() {
  if (absl::Status s = WritePending(); !s.ok()) return s;
  return file_->Sync();
}

}  // namespace strata::storage
