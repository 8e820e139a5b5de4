// LeaderEpochCache: for one partition, the first offset written in each
// leader epoch (Kafka's LeaderEpochFileCache, KIP-101). A follower of a new
// leader asks it for the end offset of its own latest epoch and truncates
// there, instead of trusting its high watermark — which is what keeps an
// old leader's unreplicated suffix from surviving a failover.
//
// Entries are strictly increasing in both epoch and start offset. Kept in
// `leader-epoch-checkpoint` in the partition directory (Kafka's layout:
// version, count, `epoch offset` lines), replaced atomically (and synced)
// on a change. An epoch first seen in an appended batch may be saved later
// (Assign's defer_save, KAFKA-15046): a follower's first batch of each new
// epoch would otherwise wait for the file's fsync (a leader saves its epoch
// when it becomes leader, Log::AssignLeaderEpoch). The owning Log saves it before its
// recovery point passes that batch, and its recovery rebuilds the epochs of
// the batches past the recovery point, so a crash loses nothing.
//
// Not thread-safe: the owning Log serialises access.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"
#include "client/common/ids.h"

namespace strata::storage {

inline constexpr char kLeaderEpochCheckpointFile[] = "leader-epoch-checkpoint";

struct EpochEntry {
  Epoch epoch;
  Offset start_offset;

  friend bool operator==(const EpochEntry&, const EpochEntry&) = default;
};

// The answer to OffsetForLeaderEpoch: the largest epoch at or below the one
// asked for, and the offset where the next epoch starts (or the log end).
// epoch -1 / end_offset -1 when the cache cannot answer.
struct EpochEndOffset {
  Epoch epoch{-1};
  Offset end_offset{-1};

  friend bool operator==(const EpochEndOffset&, const EpochEndOffset&) = default;
};

class LeaderEpochCache {
 public:
  // Loads the checkpoint in `dir` (an absent file is an empty cache).
  // DataLoss when the file does not parse or is out of order.
  static absl::StatusOr<LeaderEpochCache> Load(FileSystem* fs, const std::string& dir);

  // Records that `epoch` starts at `start_offset`. An epoch no newer than
  // the latest is ignored (batches of the current epoch keep arriving);
  // a newer epoch starting below the latest start offset first drops the
  // entries it overlaps.
  // With defer_save the checkpoint is not written now: dirty() until
  // SaveIfDirty(). A failed save (here or in a truncation) is dirty() too.
  absl::Status Assign(Epoch epoch, Offset start_offset, bool defer_save = false);
  // Writes the checkpoint if an Assign deferred it.
  absl::Status SaveIfDirty();
  bool dirty() const { return dirty_; }

  // Kafka's endOffsetFor: for the latest epoch, the log end; for an older
  // one, where the next newer epoch starts; -1/-1 for an epoch newer than
  // any known, or when the cache is empty.
  EpochEndOffset EndOffsetFor(Epoch requested, Offset log_end_offset) const;

  // After truncating the log to `end_offset`: drops epochs starting at or
  // after it.
  absl::Status TruncateFromEnd(Offset end_offset);
  // After the log start moved to `start_offset`: drops epochs wholly below
  // it, and moves the start of the one holding it.
  absl::Status TruncateFromStart(Offset start_offset);

  std::optional<Epoch> latest_epoch() const;
  const std::vector<EpochEntry>& entries() const { return entries_; }

 private:
  LeaderEpochCache(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  absl::Status Save();

  FileSystem* fs_;
  std::string dir_;
  std::vector<EpochEntry> entries_;
  // An entry is not in the checkpoint yet (Assign's defer_save).
  bool dirty_ = false;
};

}  // namespace strata::storage
