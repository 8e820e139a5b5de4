#include "broker/storage/time_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::storage {

absl::StatusOr<TimeIndex> TimeIndex::Open(FileSystem* fs, const std::string& path,
                                          Offset base_offset, bool reset) {
  std::string contents;
  absl::StatusOr<IndexFile> file = IndexFile::Open(fs, path, kEntrySize, reset, &contents);
  if (!file.ok()) return file.status();
  const std::string* bytes = &contents;

  TimeIndex index(std::move(*file), base_offset);
  for (size_t pos = 0; pos < bytes->size(); pos += kEntrySize) {
    Entry e{static_cast<int64_t>(GetBigEndian64(bytes->data() + pos)),
            base_offset + GetBigEndian32(bytes->data() + pos + 8)};
    if (!index.entries_.empty() && (e.timestamp <= index.entries_.back().timestamp ||
                                    e.offset <= index.entries_.back().offset)) {
      return absl::DataLossError(
          absl::StrCat("time index ", path, " entry ", pos / kEntrySize, " is out of order"));
    }
    index.entries_.push_back(e);
  }
  return index;
}

absl::Status TimeIndex::MaybeAppend(int64_t timestamp, Offset offset) {
  if (!entries_.empty() &&
      (timestamp <= entries_.back().timestamp || offset <= entries_.back().offset)) {
    return absl::OkStatus();
  }
  CHECK(offset >= base_offset_ && offset - base_offset_ <= UINT32_MAX);
  char buf[kEntrySize];
  PutBigEndian64(buf, static_cast<uint64_t>(timestamp));
  PutBigEndian32(buf + 8, static_cast<uint32_t>(offset - base_offset_));
  if (absl::Status s = file_.Append(std::string_view(buf, kEntrySize)); !s.ok()) return s;
  entries_.push_back({timestamp, offset});
  return absl::OkStatus();
}

std::optional<TimeIndex::Entry> TimeIndex::Lookup(int64_t target) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](int64_t t, const Entry& e) { return t < e.timestamp; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

absl::Status TimeIndex::TruncateTo(Offset offset) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                             [](const Entry& e, Offset t) { return e.offset < t; });
  size_t n = static_cast<size_t>(it - entries_.begin());
  if (n >= entries_.size()) return absl::OkStatus();
  if (absl::Status s = file_.TruncateToEntries(n); !s.ok()) return s;
  entries_.resize(n);
  return absl::OkStatus();
}

}  // namespace strata::storage
