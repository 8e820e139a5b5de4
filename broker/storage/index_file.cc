#include "broker/storage/index_file.h"

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

}  // namespace strata::storage
