// One transactional id's state as the transaction coordinator keeps it
// (Kafka's TransactionMetadata and TxnTransitMetadata). Pure: no I/O, no
// threads, no clock — the coordinator drives it and owns its lock.
//
// Every change goes prepare → write → complete: a Prepare* call checks the
// transition is allowed, marks it pending and returns the TxnTransit (the
// state the record to write describes); once the record is durable the
// coordinator calls CompleteTransitionTo(transit), and if the write failed,
// AbortPendingTransition(). While a transition is pending the coordinator
// answers CONCURRENT_TRANSACTIONS (or skips the id), so a second one never
// starts.
//
// The states and the only transitions into each (Kafka's
// validPreviousStates):
//   Empty             <- Empty, CompleteCommit, CompleteAbort
//   Ongoing           <- Ongoing, Empty, CompleteCommit, CompleteAbort
//   PrepareCommit     <- Ongoing
//   PrepareAbort      <- Ongoing, PrepareEpochFence
//   CompleteCommit    <- PrepareCommit
//   CompleteAbort     <- PrepareAbort
//   Dead              <- Empty, CompleteCommit, CompleteAbort
//   PrepareEpochFence <- Ongoing
// PrepareEpochFence is never written nor completed: it is a pending state
// only, immediately turned into a PrepareAbort with the bumped epoch
// (PrepareAbortAfterFence). Dead is never completed either: its tombstone
// removes the id.
//
// Errors: a Prepare* that Kafka's rules forbid (a transition not listed
// above, a transition already pending, a negative producer id or epoch) is
// FailedPrecondition and nothing changes; the coordinator checks the state
// before it prepares, so that is a coordinator bug. The protocol's answers
// (PRODUCER_FENCED and the like) are the coordinator's to give.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/txn/transaction_records.h"
#include "broker/txn/txn_api.h"

namespace strata::txn {

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;

// Kafka keeps Short.MaxValue for the coordinator to fence with, so a
// producer epoch at Short.MaxValue - 1 or above is used up: the next
// InitProducerId gets a new producer id.
bool IsEpochExhausted(int16_t epoch);

// Whether Kafka allows a transition from `from` to `to` (the table above).
bool IsValidTransition(TransactionState from, TransactionState to);

// The state a record about to be written describes.
struct TxnTransit {
  int64_t producer_id = kNoProducerId;
  int64_t last_producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int16_t last_producer_epoch = kNoProducerEpoch;
  int32_t timeout_ms = 0;
  TransactionState state = TransactionState::kEmpty;
  std::set<TxnTopicPartition> partitions;
  int64_t start_ms = -1;
  int64_t last_update_ms = -1;

  // The record value of this state.
  TransactionLogValue ToLogValue() const;
};

class TransactionMetadata {
 public:
  // A new transactional id: Empty, with no epoch yet (the first
  // InitProducerId bumps it to 0).
  TransactionMetadata(std::string transactional_id, int64_t producer_id, int32_t timeout_ms,
                      int64_t now_ms);
  // As read back from __transaction_state (the last epochs are not in the
  // record, as in Kafka: a retried InitProducerId across a failover is
  // fenced). A PrepareEpochFence value — Kafka never writes one — is read
  // as the PrepareAbort it was about to become.
  static TransactionMetadata FromLog(std::string transactional_id,
                                     const TransactionLogValue& value);

  const std::string& transactional_id() const { return transactional_id_; }
  int64_t producer_id() const { return producer_id_; }
  int64_t last_producer_id() const { return last_producer_id_; }
  int16_t producer_epoch() const { return producer_epoch_; }
  int16_t last_producer_epoch() const { return last_producer_epoch_; }
  int32_t timeout_ms() const { return timeout_ms_; }
  TransactionState state() const { return state_; }
  const std::set<TxnTopicPartition>& partitions() const { return partitions_; }
  int64_t start_ms() const { return start_ms_; }
  int64_t last_update_ms() const { return last_update_ms_; }
  std::optional<TransactionState> pending_state() const { return pending_; }
  bool PendingTransitionInProgress() const { return pending_.has_value(); }
  // A fence's PrepareAbort failed to be written: the epoch was bumped in
  // memory but maybe not on disk, and the next fence does not bump again.
  bool has_failed_epoch_fence() const { return has_failed_epoch_fence_; }
  void set_failed_epoch_fence() { has_failed_epoch_fence_ = true; }
  bool IsProducerEpochExhausted() const { return IsEpochExhausted(producer_epoch_); }

  // InitProducerId's epoch rule (KIP-360) for an Empty or Complete* id:
  // the (epoch, last epoch) to move to, or nullopt when the producer that
  // sent `expected_epoch` is fenced. Without an expected epoch the epoch
  // is bumped and the last one forgotten; with the current one (or on an
  // id without an epoch yet) it is bumped and the current one remembered;
  // with the last one it is a retry of a call that succeeded, answered
  // with the current epoch unchanged.
  std::optional<std::pair<int16_t, int16_t>> NextInitEpochs(
      std::optional<int16_t> expected_epoch) const;

  // --- Prepare steps (Kafka's prepare* helpers) ---
  // Empty with `epoch` and `last_epoch` (InitProducerId's bump).
  absl::StatusOr<TxnTransit> PrepareInitEpoch(int16_t epoch, int16_t last_epoch, int32_t timeout_ms,
                                              int64_t now_ms);
  // Empty with a new producer id at epoch 0 (the epoch was exhausted); the
  // last epoch is remembered when the producer asked with one (KIP-360),
  // so its retry is recognised.
  absl::StatusOr<TxnTransit> PrepareProducerIdRotation(int64_t new_producer_id, int32_t timeout_ms,
                                                       int64_t now_ms, bool record_last_epoch);
  // Ongoing with `added` partitions too; a transaction starts (its start
  // time is now) when it was not Ongoing.
  absl::StatusOr<TxnTransit> PrepareAddPartitions(const std::set<TxnTopicPartition>& added,
                                                  int64_t now_ms);
  // PrepareCommit or PrepareAbort (EndTxn).
  absl::StatusOr<TxnTransit> PrepareAbortOrCommit(TransactionState prepare, int64_t now_ms);
  // Pending PrepareEpochFence with the epoch bumped (unless a fence failed
  // before), for an Ongoing transaction whose producer is being fenced.
  absl::StatusOr<TxnTransit> PrepareFenceProducerEpoch();
  // After PrepareFenceProducerEpoch: takes the fenced epoch as the current
  // one and prepares the PrepareAbort written with it.
  absl::StatusOr<TxnTransit> PrepareAbortAfterFence(const TxnTransit& fence, int64_t now_ms);
  // CompleteCommit or CompleteAbort, from PrepareCommit or PrepareAbort,
  // once every marker is written; no partitions.
  absl::StatusOr<TxnTransit> PrepareComplete(int64_t now_ms);
  // Dead: the id expired and its tombstone is being written.
  absl::StatusOr<TxnTransit> PrepareDead();

  // The pending transition's record is durable: the metadata takes its
  // state. FailedPrecondition (and nothing changes) when `transit` is not
  // the pending transition or breaks Kafka's checks (epochs, partitions,
  // timestamps) — a coordinator bug.
  absl::Status CompleteTransitionTo(const TxnTransit& transit);
  // The pending transition's write failed: back to no pending state.
  void AbortPendingTransition() { pending_.reset(); }
  // A marker for `tp` is written (Prepare* only); false when not in
  // Prepare* or not a partition of the transaction.
  bool RemovePartition(const TxnTopicPartition& tp);

 private:
  explicit TransactionMetadata(std::string transactional_id)
      : transactional_id_(std::move(transactional_id)) {}

  absl::StatusOr<TxnTransit> PrepareTransitionTo(TransactionState state, int64_t producer_id,
                                                 int16_t epoch, int16_t last_epoch,
                                                 int32_t timeout_ms,
                                                 std::set<TxnTopicPartition> partitions,
                                                 int64_t start_ms, int64_t now_ms);

  const std::string transactional_id_;
  int64_t producer_id_ = kNoProducerId;
  int64_t last_producer_id_ = kNoProducerId;
  int16_t producer_epoch_ = kNoProducerEpoch;
  int16_t last_producer_epoch_ = kNoProducerEpoch;
  int32_t timeout_ms_ = 0;
  TransactionState state_ = TransactionState::kEmpty;
  std::set<TxnTopicPartition> partitions_;
  int64_t start_ms_ = -1;
  int64_t last_update_ms_ = -1;
  std::optional<TransactionState> pending_;
  bool has_failed_epoch_fence_ = false;
};

}  // namespace strata::txn
