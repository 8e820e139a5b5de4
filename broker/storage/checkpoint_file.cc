#include "broker/storage/checkpoint_file.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/common/numbers.h"

namespace strata::storage {
namespace {
constexpr int kVersion = 0;
}  // namespace

absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const CheckpointEntries& entries) {
  std::string text = absl::StrCat(kVersion, "\n", entries.size(), "\n");
  for (const auto& [key, value] : entries) absl::StrAppend(&text, key, " ", value, "\n");
  return fs->WriteFileAtomically(path, text);
}

absl::StatusOr<CheckpointEntries> ReadCheckpoint(FileSystem* fs, const std::string& path) {
  absl::StatusOr<std::unique_ptr<File>> file = fs->Open(path, /*create=*/false);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> text = (*file)->ReadAll();
  if (!text.ok()) return text.status();

  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  auto bad = [&](size_t line, const std::string& why) {
    return absl::DataLossError(absl::StrCat("checkpoint ", path, " line ", line + 1, ": ", why));
  };
  if (lines.size() < 2) return bad(lines.size(), "missing version or count");
  if (ParseInteger<int>(lines[0]) != kVersion) {
    return bad(0, absl::StrCat("unsupported version '", lines[0], "'"));
  }
  if (ParseInteger<size_t>(lines[1]) != lines.size() - 2) {
    return bad(
        1, absl::StrCat("count '", lines[1], "' does not match ", lines.size() - 2, " entries"));
  }
  CheckpointEntries entries;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<std::string> parts = absl::StrSplit(lines[i], ' ');
    std::optional<int64_t> value =
        parts.size() == 2 ? ParseInteger<int64_t>(parts[1]) : std::nullopt;
    if (!value) return bad(i, absl::StrCat("expected 'key value', got '", lines[i], "'"));
    entries[parts[0]] = *value;
  }
  return entries;
}

}  // namespace strata::storage
