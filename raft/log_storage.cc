#include "raft/log_storage.h"

namespace strata::raft {

namespace {
constexpr char kCompacted[] = "raft: requested index is compacted";
constexpr char kUnavailable[] = "raft: requested index is unavailable";
constexpr char kOutOfDate[] = "raft: snapshot or compaction is out of date";
}  // namespace

absl::Status CompactedError() { return absl::OutOfRangeError(kCompacted); }
bool IsCompacted(const absl::Status& s) {
  return s.code() == absl::StatusCode::kOutOfRange && s.message() == kCompacted;
}
absl::Status IndexUnavailableError() { return absl::OutOfRangeError(kUnavailable); }
bool IsIndexUnavailable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kOutOfRange && s.message() == kUnavailable;
}
absl::Status SnapshotOutOfDateError() { return absl::FailedPreconditionError(kOutOfDate); }
bool IsSnapshotOutOfDate(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition && s.message() == kOutOfDate;
}

}  // namespace strata::raft
