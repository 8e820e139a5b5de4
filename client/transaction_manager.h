// TransactionManager: a transactional producer's state machine, as Kafka's
// Java producer has it (org.apache.kafka.clients.producer.internals.
// TransactionManager): which calls are allowed in which state, the
// partitions of the ongoing transaction, and what each error of the
// coordinator does to the producer.
//
//   UNINITIALIZED --InitTransactions--> INITIALIZING --id and epoch--> READY
//   READY --BeginTransaction--> IN_TRANSACTION
//   IN_TRANSACTION --CommitTransaction--> COMMITTING_TRANSACTION --EndTxn--> READY
//   IN_TRANSACTION, ABORTABLE_ERROR --AbortTransaction--> ABORTING_TRANSACTION
//                                                          --EndTxn--> READY
//   IN_TRANSACTION, COMMITTING_TRANSACTION --a record or call failed--> ABORTABLE_ERROR
//   any --fenced, not authorized, INVALID_TXN_STATE, ...--> FATAL_ERROR (for good)
//
// A call made in the wrong state fails with Kafka's message and changes
// nothing; in ABORTABLE_ERROR every call but AbortTransaction (and Close)
// fails with the error that caused it, in FATAL_ERROR every call does. A
// commit, an abort or an init that timed out leaves its state as it is and
// may be called again to finish (any other call fails until it has).
//
// Partitions: a record sent to a partition the transaction does not hold
// yet makes it "new"; the producer adds every new partition in one
// AddPartitionsToTxn (they are "pending" meanwhile) and sends a
// partition's batches only once it is in the transaction.
//
// No network, threads or clock: the Producer drives it under its mutex and
// makes the calls (producer.h). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "client/common/ids.h"
#include "strata/v1/common.pb.h"

namespace strata::client {

enum class TransactionState {
  kUninitialized,
  kInitializing,
  kReady,
  kInTransaction,
  kCommittingTransaction,
  kAbortingTransaction,
  kAbortableError,
  kFatalError,
};

// Kafka's names: "UNINITIALIZED", "IN_TRANSACTION", ...
std::string_view TransactionStateName(TransactionState state);

// The requests a transactional producer makes to its coordinators.
enum class TxnRequest {
  kFindCoordinator,  // either key type
  kInitProducerId,
  kAddPartitionsToTxn,
  kAddOffsetsToTxn,
  kEndTxn,
  kTxnOffsetCommit,
};

std::string_view TxnRequestName(TxnRequest request);

// What an answer's error code means for the producer, per request (Kafka's
// handlers in TransactionManager).
enum class TxnErrorAction {
  kNone,             // success
  kRetry,            // the same request again after a backoff
  kFindCoordinator,  // the coordinator moved or is down: look it up, then retry
  kAbortable,        // the transaction must be aborted; then a new one may begin
  kFatal,            // the producer can do nothing more but close
};

TxnErrorAction ClassifyTxnError(TxnRequest request, v1::ErrorCode code);

// Abortable answers after which the abort must bump the epoch (KIP-360):
// the coordinator lost or no longer knows the producer id.
bool TxnErrorNeedsEpochBump(v1::ErrorCode code);

// The error a producer records for a fatal or abortable `code` answered to
// `request`: INVALID_PRODUCER_EPOCH from a coordinator means fenced (Kafka
// turns it into ProducerFencedException), so it becomes PRODUCER_FENCED;
// UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION to TxnOffsetCommit say that the
// group metadata does not match (Kafka's CommitFailedException).
absl::Status TxnErrorStatus(TxnRequest request, v1::ErrorCode code, const std::string& message);

class TransactionManager {
 public:
  explicit TransactionManager(std::string transactional_id);

  const std::string& transactional_id() const { return transactional_id_; }
  TransactionState state() const { return state_; }
  // The producer id and epoch of the transactions (-1 before InitTransactions).
  int64_t producer_id() const { return producer_id_; }
  int16_t producer_epoch() const { return producer_epoch_; }

  // ---- the public calls, each asked first. OK: the call goes on and the
  // state has moved (or stays, for a call finishing one that timed out).

  // UNINITIALIZED -> INITIALIZING (or INITIALIZING again after a timeout).
  absl::Status BeginInit();
  // INITIALIZING -> READY with the coordinator's id and epoch.
  void CompleteInit(int64_t producer_id, int16_t producer_epoch);
  // READY -> IN_TRANSACTION.
  absl::Status BeginTransaction();
  // Whether a record may be sent now (IN_TRANSACTION): Kafka's
  // failIfNotReadyForSend messages otherwise.
  absl::Status CheckSend() const;
  // IN_TRANSACTION (SendOffsetsToTransaction changes no state).
  absl::Status CheckSendOffsets() const;
  // IN_TRANSACTION -> COMMITTING_TRANSACTION (or COMMITTING again).
  absl::Status BeginCommit();
  // IN_TRANSACTION or ABORTABLE_ERROR -> ABORTING_TRANSACTION (or ABORTING
  // again).
  absl::Status BeginAbort();
  // Whether EndTxn must be sent: a partition or a group's offsets were added
  // to the transaction (an empty one ends without a request, as Kafka's).
  bool transaction_started() const { return transaction_started_; }
  // EndTxn succeeded; an abort that needs a new epoch still waits for it.
  void EndTxnDone() { transaction_started_ = false; }
  // The coordinator answered INVALID_PRODUCER_ID_MAPPING: it would refuse
  // an EndTxn as well, so the abort skips it and bumps the epoch.
  bool end_txn_refused() const { return end_txn_refused_; }
  // KIP-360: a batch whose fate is unknown (its sequence may or may not be
  // in the log) was given up; after the abort the producer bumps its epoch
  // with InitProducerId before the next transaction.
  bool epoch_bump_required() const { return epoch_bump_required_; }
  void EpochBumped(int64_t producer_id, int16_t producer_epoch);
  // COMMITTING or ABORTING -> READY: the transaction is over (EndTxn done,
  // or none needed; and no epoch bump pending). False, changing nothing, in
  // any other state (another call completed it, or an error ended it).
  bool CompleteTransaction();

  // ---- partitions

  // A record for `tp` was accepted in this transaction.
  void MaybeAddPartition(const TopicPartition& tp);
  // Batches of `tp` may be sent (it is in the transaction).
  bool IsSendAllowed(const TopicPartition& tp) const;
  bool HasPartitionsToAdd() const { return !new_partitions_.empty(); }
  bool HasPendingPartitions() const { return !pending_partitions_.empty(); }
  // The new partitions, for one AddPartitionsToTxn: they become pending.
  std::vector<TopicPartition> TakePartitionsToAdd();
  // The pending partitions are in the transaction now.
  void PartitionsAdded();
  // The AddPartitionsToTxn failed retriably: its partitions are new again.
  // `outcome_unknown`: its answer was lost, so the coordinator may have
  // added them (maybe_started).
  void RetryPartitions(bool outcome_unknown = false);
  // An AddPartitionsToTxn or AddOffsetsToTxn whose answer was lost may have
  // opened the transaction at the coordinator while transaction_started()
  // is false. Ending it then needs an EndTxn that, if nothing was opened,
  // meets no transaction (INVALID_TXN_STATE, which then means "nothing to
  // end"): skipping it could leave one open; an epoch bump instead would
  // fence the producer (the coordinator's fence of an open transaction
  // moves the epoch past the one the producer names).
  bool maybe_started() const { return maybe_started_; }
  void AddOutcomeUnknown() { maybe_started_ = true; }
  // A group's offsets were added (AddOffsetsToTxn).
  void OffsetsAdded() { transaction_started_ = true; }

  // ---- errors

  // IN_TRANSACTION or COMMITTING -> ABORTABLE_ERROR with `error` (the first
  // error stays: it is the cause). While aborting, only `bump_epoch` counts.
  // Ignored in FATAL_ERROR and outside a transaction.
  void AbortableError(const absl::Status& error, bool bump_epoch);
  // Any state -> FATAL_ERROR with `error` (the first fatal error stays).
  void FatalError(const absl::Status& error);
  bool has_error() const {
    return state_ == TransactionState::kAbortableError || state_ == TransactionState::kFatalError;
  }
  // The error that put the producer in ABORTABLE_ERROR or FATAL_ERROR.
  const absl::Status& last_error() const { return last_error_; }
  // What a call made in an error state returns (Kafka's maybeFailWithError):
  // PRODUCER_FENCED and INVALID_PRODUCER_EPOCH with Kafka's texts, others as
  // "Cannot execute transactional method because we are in an error state"
  // with the cause; the cause's error code is kept (ErrorCodeOf).
  absl::Status StateError() const;
  // The error for records dropped by an abort (Kafka's
  // TransactionAbortedException): Aborted, no wire code.
  static absl::Status AbortedRecordError();

 private:
  absl::Status InvalidTransition(TransactionState to) const;
  // The call that timed out in COMMITTING / ABORTING / INITIALIZING must be
  // called again before `operation`.
  absl::Status PendingError(std::string_view operation) const;
  void ClearTransaction();

  const std::string transactional_id_;
  TransactionState state_ = TransactionState::kUninitialized;
  absl::Status last_error_;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  // Ordered: AddPartitionsToTxn lists them in a stable order.
  absl::btree_set<TopicPartition> in_transaction_;
  absl::btree_set<TopicPartition> new_partitions_;
  absl::btree_set<TopicPartition> pending_partitions_;
  bool transaction_started_ = false;
  bool epoch_bump_required_ = false;
  bool maybe_started_ = false;
  bool end_txn_refused_ = false;
};

}  // namespace strata::client
