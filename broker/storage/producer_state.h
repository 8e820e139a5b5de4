// ProducerStateManager: one partition's idempotent-producer state (Kafka's
// ProducerStateManager), what lets a partition leader answer a producer's
// retry as a duplicate and refuse a batch out of sequence.
//
// Per producer id it keeps the epoch, the last kProducerRunsToRetain runs of
// the producer's batches, the coordinator epoch of its last transaction
// marker and the first offset of its open transaction. Across producers it
// keeps the open transactions by first offset: the earliest is where the
// partition's last stable offset stops (FirstUnstableOffset).
//
// Transactions: a transactional data batch opens the producer's
// transaction (if none is open) at its base offset; a marker (a control
// batch, client/record/control_record.h) closes it and yields the
// CompletedTxn, which the log records when it was aborted. Markers come
// only from the transaction coordinator (Log::AppendTxnMarker, checked by
// CheckMarker); a client cannot send a control batch.
//
// Runs, not batches. Strata's own client sends requests that may carry many
// batches of a producer, appended atomically, up to five per partition in
// flight on an ordered stream; Kafka's clients send one batch per request
// with up to five in flight. A
// run is a maximal sequence of a producer's batches, in one epoch, that is
// contiguous in both sequence and offset: a batch extends the newest run iff
// its epoch is the run's, its first sequence is the run's last + 1 (a run
// never wraps: a run ending at INT32_MAX, or a batch that wraps inside
// itself, is never extended) and its base offset is the run's last + 1.
// Inside a run offset - sequence is constant, so any batch a run covers is
// found, with its original offsets, by arithmetic. The rule is a pure
// function of the log's content: a follower, and a log reloaded from disk,
// compute exactly the leader's runs (append boundaries, which a follower
// cannot see, play no part). For a Kafka client interleaved with other
// producers a run is one batch: Kafka's "last five batches".
//
// The checks (CheckAppend, under Log's lock, before offsets are assigned):
// see the function. Apply changes the state, and is called for every batch
// the log took (leader, follower and replay alike) once it is in the
// segment, so a failed write changes no state.
//
// Snapshots (`<20-digit offset>.snapshot` in the partition directory; format
// in FORMAT.md): EncodeSnapshot / DecodeSnapshot and the file helpers below.
// The Log decides when to write and which to load.
//
// Not thread-safe: the owning Log guards it with its mutex.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"
#include "client/common/ids.h"
#include "client/record/control_record.h"
#include "client/record/record_batch.h"

namespace strata::storage {

// Who writes a batch through Log::AppendAsLeader (Kafka's AppendOrigin).
// kClient: a producer; every sequence rule applies. kCoordinator: the group
// and transaction coordinators' own writes (and, later, transaction
// markers); only the epoch is checked. Replication (AppendAsFollower) is not
// an origin here: it is never checked.
enum class AppendOrigin { kClient, kCoordinator };

// What DescribeProducers shows of one producer: a copy of its state.
struct ProducerStateView {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t last_sequence = -1;  // -1: no batch in this epoch
  int64_t last_timestamp = -1;
  int32_t coordinator_epoch = -1;
  int64_t current_txn_start_offset = -1;  // -1: no open transaction
  bool operator==(const ProducerStateView&) const = default;
};

inline constexpr int kProducerRunsToRetain = 5;

// Sequences of one run: [first_seq, last_seq] sit at [first_offset,
// last_offset]. A run of one batch that wraps INT32_MAX -> 0 has first_seq >
// last_seq; it is matched only whole.
struct ProducerRun {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = -1;
  bool operator==(const ProducerRun&) const = default;
};

struct ProducerStateEntry {
  int16_t epoch = -1;
  int32_t coordinator_epoch = -1;
  int64_t current_txn_first_offset = -1;
  // The max timestamp of the producer's last batch (expiry): a batch
  // property, so leader and followers agree.
  int64_t last_timestamp = -1;
  // runs[0, num_runs), oldest first. A fixed array: no allocation per batch.
  int num_runs = 0;
  std::array<ProducerRun, kProducerRunsToRetain> runs{};

  const ProducerRun* newest() const { return num_runs == 0 ? nullptr : &runs[num_runs - 1]; }
  bool operator==(const ProducerStateEntry& o) const;
};

// A transaction a marker ended in this partition: the producer's batches
// from `first_offset` (the marker's own offset when the producer wrote
// nothing here) to the marker at `last_offset`.
struct CompletedTxn {
  int64_t producer_id = -1;
  Offset first_offset;
  Offset last_offset;
  bool aborted = false;
  bool operator==(const CompletedTxn&) const = default;
};

class ProducerStateManager {
 public:
  // `partition` names the log in messages ("orders-3").
  explicit ProducerStateManager(std::string partition) : partition_(std::move(partition)) {}

  // A leader append that is all retries: nothing is to be appended, and the
  // original batches sit at [first_offset, last_offset].
  struct Duplicate {
    Offset first_offset;
    Offset last_offset;
    int64_t max_timestamp = -1;
  };

  // Checks the batches of one leader append, in order, as if they were
  // appended back to back from `first_offset` on (each against the state
  // the batches before it leave). Batches with producer id -1 are not
  // checked. For AppendOrigin::kClient, per batch with a producer id (Kafka's
  // ProducerAppendInfo): an epoch below the producer's is refused with
  // INVALID_PRODUCER_EPOCH (47); a higher epoch must start at sequence 0
  // (else OUT_OF_ORDER_SEQUENCE_NUMBER, 45); in the same epoch a batch
  // behind the expected sequence (by at most half the sequence space, so
  // that a run written before the sequences wrapped does not hold new ones)
  // and wholly inside a kept run is a duplicate, and otherwise its first
  // sequence must follow the newest run's last (0 when the epoch has no run
  // yet), else 45; a producer without state (new, expired, or its batches
  // all below the log start) may start at any sequence (KIP-360); a
  // non-transactional batch from a producer with an open transaction is
  // refused with INVALID_TXN_STATE (48). For kCoordinator only the epoch is
  // checked.
  //
  // Returns nullopt to append; a Duplicate when every producer batch is a
  // duplicate and their originals are contiguous (a retried request); an
  // error (a Kafka code attached, kafka_error.h) otherwise, including a mix
  // of duplicates and new batches (45). Changes nothing.
  absl::StatusOr<std::optional<Duplicate>> CheckAppend(std::span<const record::BatchHeader> headers,
                                                       Offset first_offset,
                                                       AppendOrigin origin) const;

  // Checks a transaction marker for `producer_id` before it is appended
  // (Kafka's appendEndTxnMarker checks): an epoch below the producer's is
  // refused with INVALID_PRODUCER_EPOCH (47), a coordinator epoch below the
  // one of the producer's last marker with TRANSACTION_COORDINATOR_FENCED
  // (52). A producer without state takes any marker. Changes nothing.
  absl::Status CheckMarker(int64_t producer_id, int16_t producer_epoch,
                           int32_t coordinator_epoch) const;

  // Records a batch now in the log at its offsets (any batch; those without
  // a producer id are ignored). `batch` is the batch's bytes: a control
  // batch's marker (type, coordinator epoch) is in its record. Unchecked: a
  // follower's and a replay's batches go through here as the leader's do.
  // A change of epoch drops the producer's runs. Returns the transaction a
  // marker ended. A control batch the cleaner emptied, or one that is not a
  // transaction marker, changes nothing.
  std::optional<CompletedTxn> Apply(const record::BatchHeader& header, std::string_view batch);

  // The first offset of the earliest transaction that is open or whose
  // marker is not below the high watermark yet (Kafka's unreplicated
  // transactions: the last stable offset must not pass a transaction whose
  // marker a new leader may not have), or nullopt: the last stable offset
  // is min(high watermark, this).
  std::optional<Offset> FirstUnstableOffset() const;
  // The first offset of the earliest open transaction only: the last
  // stable offset an aborted transaction's index entry records (a function
  // of the log alone, so a replay writes the same).
  std::optional<Offset> FirstOpenOffset() const;
  // The high watermark reached `hw`: completed transactions whose marker
  // is below it stop holding the last stable offset back.
  void OnHighWatermark(Offset hw);
  // The open transactions, first offset -> producer id.
  const absl::btree_map<int64_t, int64_t>& OngoingTransactions() const { return ongoing_; }

  // Removes every producer.
  void Clear() {
    producers_.clear();
    ongoing_.clear();
    unreplicated_.clear();
  }
  // Drops the runs that end below `log_start`, and the producers left with
  // none (their batches are gone: KIP-360's unknown producer; one with no
  // run at all goes too, as in Kafka), except those with an open
  // transaction or a marker's coordinator epoch: forgetting the first would
  // lose the transaction's start (and its abort), the second the fencing of
  // a deposed coordinator. Expiry removes them. Returns how many producers
  // went.
  // Trimming runs, not only producers, keeps the state a function of the
  // log above its start: a reload replaying the segments below it ends the
  // same, and a producer that started over after its eviction is never
  // matched against its old, deleted sequences.
  int EvictBelow(Offset log_start);
  // Removes the producers with no open transaction whose last timestamp is
  // `expiration_ms` or more before `now_ms`. Returns how many went.
  int RemoveExpired(int64_t now_ms, int64_t expiration_ms);

  std::vector<ProducerStateView> Views() const;
  // Every producer's entry, by producer id (tests, comparisons).
  std::vector<std::pair<int64_t, ProducerStateEntry>> Entries() const;
  const ProducerStateEntry* Find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }

  // The snapshot file's bytes (FORMAT.md "Producer snapshots"), producers
  // in id order so equal states encode equally.
  std::string EncodeSnapshot() const;
  // Replaces the state with a snapshot's. DataLoss (nothing changed) when
  // `bytes` is not a whole, valid snapshot.
  absl::Status DecodeSnapshot(std::string_view bytes);

 private:
  std::string partition_;
  absl::flat_hash_map<int64_t, ProducerStateEntry> producers_;
  // Derived from producers_: each open transaction's first offset -> its
  // producer id.
  absl::btree_map<int64_t, int64_t> ongoing_;
  // Completed transactions whose marker the high watermark has not passed:
  // first offset -> the marker's offset. Not in snapshots: a reload
  // replays the markers after the snapshot and the log then prunes them
  // with its high watermark.
  absl::btree_map<int64_t, int64_t> unreplicated_;
};

// --- Snapshot files ---

// "00000000000000000042.snapshot".
std::string ProducerSnapshotFileName(Offset offset);
// The offset of a snapshot file's name, or nullopt for other names.
std::optional<Offset> ParseProducerSnapshotFileName(std::string_view name);
// The offsets of the snapshots in `dir`, ascending.
absl::StatusOr<std::vector<Offset>> ListProducerSnapshots(FileSystem* fs, const std::string& dir);
// Writes `state` as the snapshot at `offset`, atomically (temp file, sync,
// rename, directory sync).
absl::Status WriteProducerSnapshot(FileSystem* fs, const std::string& dir, Offset offset,
                                   const ProducerStateManager& state);
// Deletes the snapshot at `offset` (absent is fine).
absl::Status DeleteProducerSnapshot(FileSystem* fs, const std::string& dir, Offset offset);

}  // namespace strata::storage
