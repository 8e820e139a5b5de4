// RocksDbLogStorage: a node's durable Raft state in a RocksDB database —
// log entries, hard state, the latest snapshot and the bootstrap membership.
//
// Every write is synced (WriteOptions::sync) before it returns, so what the
// driver persisted before sending a message survives a crash. Save() writes
// a Ready's snapshot, entries and hard state in one atomic batch, so a
// restart never sees a commit index beyond the log.
//
// Key layout (one column family):
//   "conf"            RaftConfState the node was bootstrapped with
//   "hs"              RaftHardState
//   "snap/meta"       RaftSnapshotMetadata of the latest snapshot
//   "snap/data"       its bytes
//   "base"            RaftEntry {index, term} of the entry just before the
//                     first stored one (the compaction point)
//   "e/<8-byte BE index>"  RaftEntry {term, data}
//
// Terms of all stored entries are cached in memory; entry data is read from
// RocksDB on demand. Not thread-safe (one driver thread uses it).
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "raft/log_storage.h"

namespace rocksdb {
class DB;
}

namespace strata::raft {

class RocksDbLogStorage final : public LogStorage {
 public:
  // Opens (creating when absent) the database in `dir`. A new database is
  // bootstrapped with `bootstrap_conf`; an existing one keeps its own.
  static absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> Open(const std::string& dir,
                                                                 const ConfState& bootstrap_conf);
  ~RocksDbLogStorage() override;

  InitialState GetInitialState() const override;
  absl::StatusOr<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  absl::StatusOr<Term> TermAt(Index i) const override;
  Index FirstIndex() const override { return base_index_ + 1; }
  Index LastIndex() const override { return base_index_ + terms_.size(); }
  absl::StatusOr<Snapshot> GetSnapshot() const override;

  absl::Status Append(const std::vector<Entry>& entries) override;
  absl::Status SetHardState(const HardState& hs) override;
  absl::Status ApplySnapshot(const Snapshot& snapshot) override;
  absl::Status CreateSnapshot(Index i, std::string data) override;
  absl::Status Compact(Index i) override;

  // Persists a Ready's parts in one synced batch.
  absl::Status Save(const std::optional<Snapshot>& snapshot, const std::vector<Entry>& entries,
                    const std::optional<HardState>& hard_state);

 private:
  RocksDbLogStorage() = default;
  absl::Status Load();

  std::unique_ptr<rocksdb::DB> db_;
  HardState hard_state_;
  ConfState conf_;
  SnapshotMetadata snapshot_meta_;
  Index base_index_;
  Term base_term_;
  std::deque<Term> terms_;  // terms_[k] is the term of entry base_index_ + 1 + k
};

}  // namespace strata::raft
