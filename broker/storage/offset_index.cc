#include "broker/storage/offset_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::storage {

absl::StatusOr<OffsetIndex> OffsetIndex::Open(FileSystem* fs, const std::string& path,
                                              Offset base_offset, bool reset) {
  std::string contents;
  absl::StatusOr<IndexFile> file = IndexFile::Open(fs, path, kEntrySize, reset, &contents);
  if (!file.ok()) return file.status();
  const std::string* bytes = &contents;

  OffsetIndex index(std::move(*file), base_offset);
  index.entries_.reserve(bytes->size() / kEntrySize);
  for (size_t pos = 0; pos < bytes->size(); pos += kEntrySize) {
    Entry e{base_offset + GetBigEndian32(bytes->data() + pos),
            GetBigEndian32(bytes->data() + pos + 4)};
    if (!index.entries_.empty() && (e.offset <= index.entries_.back().offset ||
                                    e.position <= index.entries_.back().position)) {
      return absl::DataLossError(absl::StrCat("index ", path, " entry ", pos / kEntrySize,
                                              " (offset ", e.offset.value(), ", position ",
                                              e.position, ") is out of order"));
    }
    index.entries_.push_back(e);
  }
  return index;
}

absl::Status OffsetIndex::Append(Offset offset, uint32_t position) {
  CHECK(offset >= base_offset_ && offset - base_offset_ <= UINT32_MAX)
      << "offset " << offset << " does not fit a segment based at " << base_offset_;
  if (!entries_.empty()) {
    CHECK(offset > entries_.back().offset && position > entries_.back().position)
        << "index " << path() << ": entry (" << offset << ", " << position << ") after ("
        << entries_.back().offset << ", " << entries_.back().position << ")";
  }
  char buf[kEntrySize];
  PutBigEndian32(buf, static_cast<uint32_t>(offset - base_offset_));
  PutBigEndian32(buf + 4, position);
  if (absl::Status s = file_.Append(std::string_view(buf, kEntrySize)); !s.ok()) return s;
  entries_.push_back({offset, position});
  return absl::OkStatus();
}

OffsetIndex::Entry OffsetIndex::Lookup(Offset target) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](Offset t, const Entry& e) { return t < e.offset; });
  if (it == entries_.begin()) return {base_offset_, 0};
  return *std::prev(it);
}

absl::Status OffsetIndex::TruncateToCount(size_t n) {
  if (n >= entries_.size()) return absl::OkStatus();
  if (absl::Status s = file_.TruncateToEntries(n); !s.ok()) return s;
  entries_.resize(n);
  return absl::OkStatus();
}

absl::Status OffsetIndex::TruncateTo(Offset offset) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                             [](const Entry& e, Offset t) { return e.offset < t; });
  return TruncateToCount(static_cast<size_t>(it - entries_.begin()));
}

absl::Status OffsetIndex::TruncateToPosition(uint32_t position) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), position,
                             [](const Entry& e, uint32_t p) { return e.position < p; });
  return TruncateToCount(static_cast<size_t>(it - entries_.begin()));
}

absl::Status OffsetIndex::CheckPositionsBelow(uint64_t log_size) const {
  if (!entries_.empty() && entries_.back().position >= log_size) {
    return absl::DataLossError(absl::StrCat("index ", path(), " points at position ",
                                            entries_.back().position, " of a ", log_size,
                                            "-byte log"));
  }
  return absl::OkStatus();
}

}  // namespace strata::storage
