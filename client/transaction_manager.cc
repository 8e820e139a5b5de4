#include "client/transaction_manager.h"

#include <utility>

#include "client/errors.h"
#include "fmt/format.h"
#include "glog/logging.h"

namespace strata::client {

std::string_view TransactionStateName(TransactionState state) {
  switch (state) {
    case TransactionState::kUninitialized:
      return "UNINITIALIZED";
    case TransactionState::kInitializing:
      return "INITIALIZING";
    case TransactionState::kReady:
      return "READY";
    case TransactionState::kInTransaction:
      return "IN_TRANSACTION";
    case TransactionState::kCommittingTransaction:
      return "COMMITTING_TRANSACTION";
    case TransactionState::kAbortingTransaction:
      return "ABORTING_TRANSACTION";
    case TransactionState::kAbortableError:
      return "ABORTABLE_ERROR";
    case TransactionState::kFatalError:
      return "FATAL_ERROR";
  }
  return "UNKNOWN";
}

std::string_view TxnRequestName(TxnRequest request) {
  switch (request) {
    case TxnRequest::kFindCoordinator:
      return "FindCoordinator";
    case TxnRequest::kInitProducerId:
      return "InitProducerId";
    case TxnRequest::kAddPartitionsToTxn:
      return "AddPartitionsToTxn";
    case TxnRequest::kAddOffsetsToTxn:
      return "AddOffsetsToTxn";
    case TxnRequest::kEndTxn:
      return "EndTxn";
    case TxnRequest::kTxnOffsetCommit:
      return "TxnOffsetCommit";
  }
  return "Unknown";
}

TxnErrorAction ClassifyTxnError(TxnRequest request, v1::ErrorCode code) {
  if (code == v1::NONE) return TxnErrorAction::kNone;
  // The handlers of Kafka's TransactionManager, request by request; an
  // error a handler does not expect is fatal there too.
  switch (request) {
    case TxnRequest::kFindCoordinator:
      switch (code) {
        // NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS: a node whose
        // view of __transaction_state is moving; asked again, it settles.
        case v1::COORDINATOR_NOT_AVAILABLE:
        case v1::NOT_COORDINATOR:
        case v1::COORDINATOR_LOAD_IN_PROGRESS:
          return TxnErrorAction::kRetry;
        default:
          return TxnErrorAction::kFatal;
      }
    case TxnRequest::kInitProducerId:
      switch (code) {
        case v1::NOT_COORDINATOR:
        case v1::COORDINATOR_NOT_AVAILABLE:
          return TxnErrorAction::kFindCoordinator;
        case v1::COORDINATOR_LOAD_IN_PROGRESS:
        // A transaction of the id's earlier producer is being aborted.
        case v1::CONCURRENT_TRANSACTIONS:
          return TxnErrorAction::kRetry;
        default:
          return TxnErrorAction::kFatal;
      }
    case TxnRequest::kAddPartitionsToTxn:
      switch (code) {
        case v1::NOT_COORDINATOR:
        case v1::COORDINATOR_NOT_AVAILABLE:
          return TxnErrorAction::kFindCoordinator;
        // CONCURRENT_TRANSACTIONS: the previous transaction's markers are
        // still going out.
        case v1::CONCURRENT_TRANSACTIONS:
        case v1::COORDINATOR_LOAD_IN_PROGRESS:
        case v1::UNKNOWN_TOPIC_OR_PARTITION:
          return TxnErrorAction::kRetry;
        case v1::OPERATION_NOT_ATTEMPTED:
        case v1::UNKNOWN_PRODUCER_ID:
        case v1::INVALID_PRODUCER_ID_MAPPING:
          return TxnErrorAction::kAbortable;
        default:
          return TxnErrorAction::kFatal;
      }
    case TxnRequest::kAddOffsetsToTxn:
    case TxnRequest::kEndTxn:
      switch (code) {
        case v1::NOT_COORDINATOR:
        case v1::COORDINATOR_NOT_AVAILABLE:
          return TxnErrorAction::kFindCoordinator;
        case v1::CONCURRENT_TRANSACTIONS:
        case v1::COORDINATOR_LOAD_IN_PROGRESS:
          return TxnErrorAction::kRetry;
        case v1::UNKNOWN_PRODUCER_ID:
        case v1::INVALID_PRODUCER_ID_MAPPING:
          return TxnErrorAction::kAbortable;
        default:
          return TxnErrorAction::kFatal;
      }
    case TxnRequest::kTxnOffsetCommit:
      switch (code) {
        case v1::NOT_COORDINATOR:
        case v1::COORDINATOR_NOT_AVAILABLE:
        case v1::REQUEST_TIMED_OUT:
          return TxnErrorAction::kFindCoordinator;
        case v1::COORDINATOR_LOAD_IN_PROGRESS:
        case v1::UNKNOWN_TOPIC_OR_PARTITION:
        case v1::CONCURRENT_TRANSACTIONS:
          return TxnErrorAction::kRetry;
        case v1::UNKNOWN_MEMBER_ID:
        case v1::ILLEGAL_GENERATION:
        case v1::FENCED_INSTANCE_ID:
        case v1::UNKNOWN_PRODUCER_ID:
        case v1::INVALID_PRODUCER_ID_MAPPING:
          return TxnErrorAction::kAbortable;
        default:
          return TxnErrorAction::kFatal;
      }
  }
  return TxnErrorAction::kFatal;
}

bool TxnErrorNeedsEpochBump(v1::ErrorCode code) {
  return code == v1::UNKNOWN_PRODUCER_ID || code == v1::INVALID_PRODUCER_ID_MAPPING;
}

absl::Status TxnErrorStatus(TxnRequest request, v1::ErrorCode code, const std::string& message) {
  const std::string& text = message.empty() ? DefaultErrorMessage(code) : message;
  if (request != TxnRequest::kFindCoordinator &&
      (code == v1::INVALID_PRODUCER_EPOCH || code == v1::PRODUCER_FENCED)) {
    return ErrorToStatus(v1::PRODUCER_FENCED, code == v1::PRODUCER_FENCED
                                                  ? text
                                                  : DefaultErrorMessage(v1::PRODUCER_FENCED));
  }
  if (request == TxnRequest::kTxnOffsetCommit &&
      (code == v1::UNKNOWN_MEMBER_ID || code == v1::ILLEGAL_GENERATION)) {
    return ErrorToStatus(
        code, fmt::format("Transaction offset Commit failed due to consumer group metadata "
                          "mismatch: {}",
                          text));
  }
  if (ClassifyTxnError(request, code) == TxnErrorAction::kFatal &&
      code != v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED && code != v1::INVALID_TXN_STATE &&
      code != v1::PRODUCER_FENCED) {
    return ErrorToStatus(
        code, fmt::format("Unexpected error in {}Response: {}", TxnRequestName(request), text));
  }
  return ErrorToStatus(code, text);
}

namespace {

// `message` with the code of `cause`: its wire code when it has one, else
// its own status code (a client-side cause: a timeout, a closed producer).
absl::Status WithCause(const absl::Status& cause, const std::string& message) {
  const v1::ErrorCode code = ErrorCodeOf(cause);
  if (code == v1::UNKNOWN_SERVER_ERROR && !cause.ok()) return absl::Status(cause.code(), message);
  return ErrorToStatus(code, message);
}

}  // namespace

TransactionManager::TransactionManager(std::string transactional_id)
    : transactional_id_(std::move(transactional_id)) {}

absl::Status TransactionManager::InvalidTransition(TransactionState to) const {
  if (state_ == TransactionState::kAbortableError || state_ == TransactionState::kFatalError) {
    return StateError();
  }
  return absl::FailedPreconditionError(
      fmt::format("TransactionalId {}: Invalid transition attempted from state {} to state {}",
                  transactional_id_, TransactionStateName(state_), TransactionStateName(to)));
}

absl::Status TransactionManager::PendingError(std::string_view operation) const {
  std::string_view pending = "initTransactions";
  if (state_ == TransactionState::kCommittingTransaction) pending = "commitTransaction";
  if (state_ == TransactionState::kAbortingTransaction) pending = "abortTransaction";
  return absl::FailedPreconditionError(
      fmt::format("Cannot attempt operation `{}` because the previous call to `{}` timed out and "
                  "must be retried",
                  operation, pending));
}

absl::Status TransactionManager::BeginInit() {
  if (state_ == TransactionState::kInitializing) return absl::OkStatus();
  if (state_ != TransactionState::kUninitialized) {
    return InvalidTransition(TransactionState::kInitializing);
  }
  state_ = TransactionState::kInitializing;
  return absl::OkStatus();
}

void TransactionManager::CompleteInit(int64_t producer_id, int16_t producer_epoch) {
  CHECK(state_ == TransactionState::kInitializing) << TransactionStateName(state_);
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  state_ = TransactionState::kReady;
}

absl::Status TransactionManager::BeginTransaction() {
  switch (state_) {
    case TransactionState::kReady:
      state_ = TransactionState::kInTransaction;
      return absl::OkStatus();
    case TransactionState::kInitializing:
    case TransactionState::kCommittingTransaction:
    case TransactionState::kAbortingTransaction:
      return PendingError("beginTransaction");
    default:
      return InvalidTransition(TransactionState::kInTransaction);
  }
}

absl::Status TransactionManager::CheckSend() const {
  // Kafka's failIfNotReadyForSend.
  if (has_error()) {
    return WithCause(last_error_,
                     fmt::format("Cannot perform send because at least one previous "
                                 "transactional or idempotent request has failed with errors: {}",
                                 std::string(last_error_.message())));
  }
  if (producer_id_ < 0) {
    return absl::FailedPreconditionError(
        "Cannot perform a 'send' before completing a call to initTransactions when "
        "transactions are enabled.");
  }
  if (state_ != TransactionState::kInTransaction) {
    return absl::FailedPreconditionError(
        fmt::format("Cannot call send in state {}", TransactionStateName(state_)));
  }
  return absl::OkStatus();
}

absl::Status TransactionManager::CheckSendOffsets() const {
  if (has_error()) return StateError();
  if (state_ != TransactionState::kInTransaction) {
    return absl::FailedPreconditionError(
        fmt::format("Cannot send offsets if a transaction is not in progress (currentState= {})",
                    TransactionStateName(state_)));
  }
  return absl::OkStatus();
}

absl::Status TransactionManager::BeginCommit() {
  switch (state_) {
    case TransactionState::kInTransaction:
      state_ = TransactionState::kCommittingTransaction;
      return absl::OkStatus();
    case TransactionState::kCommittingTransaction:
      return absl::OkStatus();  // the previous call timed out: finish it
    case TransactionState::kInitializing:
    case TransactionState::kAbortingTransaction:
      return PendingError("commitTransaction");
    default:
      return InvalidTransition(TransactionState::kCommittingTransaction);
  }
}

absl::Status TransactionManager::BeginAbort() {
  switch (state_) {
    case TransactionState::kInTransaction:
    case TransactionState::kAbortableError:
      state_ = TransactionState::kAbortingTransaction;
      // Partitions not added yet never will be: their records are dropped.
      new_partitions_.clear();
      return absl::OkStatus();
    case TransactionState::kAbortingTransaction:
      return absl::OkStatus();  // the previous call timed out: finish it
    case TransactionState::kInitializing:
    case TransactionState::kCommittingTransaction:
      return PendingError("abortTransaction");
    default:
      return InvalidTransition(TransactionState::kAbortingTransaction);
  }
}

void TransactionManager::EpochBumped(int64_t producer_id, int16_t producer_epoch) {
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  epoch_bump_required_ = false;
}

bool TransactionManager::CompleteTransaction() {
  // Another thread's call may have completed it, or an error ended it.
  if (state_ != TransactionState::kCommittingTransaction &&
      state_ != TransactionState::kAbortingTransaction) {
    return false;
  }
  CHECK(!transaction_started_ && !epoch_bump_required_);
  ClearTransaction();
  last_error_ = absl::OkStatus();
  state_ = TransactionState::kReady;
  return true;
}

void TransactionManager::ClearTransaction() {
  in_transaction_.clear();
  new_partitions_.clear();
  pending_partitions_.clear();
  maybe_started_ = false;
  end_txn_refused_ = false;
}

void TransactionManager::MaybeAddPartition(const TopicPartition& tp) {
  if (in_transaction_.contains(tp) || pending_partitions_.contains(tp)) return;
  new_partitions_.insert(tp);
}

bool TransactionManager::IsSendAllowed(const TopicPartition& tp) const {
  return state_ != TransactionState::kFatalError && in_transaction_.contains(tp);
}

std::vector<TopicPartition> TransactionManager::TakePartitionsToAdd() {
  std::vector<TopicPartition> out(new_partitions_.begin(), new_partitions_.end());
  pending_partitions_.insert(new_partitions_.begin(), new_partitions_.end());
  new_partitions_.clear();
  return out;
}

void TransactionManager::PartitionsAdded() {
  if (pending_partitions_.empty()) return;
  in_transaction_.insert(pending_partitions_.begin(), pending_partitions_.end());
  pending_partitions_.clear();
  transaction_started_ = true;
}

void TransactionManager::RetryPartitions(bool outcome_unknown) {
  if (outcome_unknown && !pending_partitions_.empty()) maybe_started_ = true;
  new_partitions_.insert(pending_partitions_.begin(), pending_partitions_.end());
  pending_partitions_.clear();
}

void TransactionManager::AbortableError(const absl::Status& error, bool bump_epoch) {
  switch (state_) {
    case TransactionState::kInTransaction:
    case TransactionState::kCommittingTransaction:
      state_ = TransactionState::kAbortableError;
      last_error_ = error;
      // Nothing more is added to a transaction that will be aborted.
      new_partitions_.clear();
      break;
    case TransactionState::kAbortableError:
    case TransactionState::kAbortingTransaction:
      break;
    default:
      return;
  }
  if (bump_epoch) epoch_bump_required_ = true;
  // The coordinator no longer knows the producer id: it would refuse the
  // EndTxn too, so the abort goes straight to the epoch bump (Kafka's
  // InvalidPidMappingException).
  if (ErrorCodeOf(error) == v1::INVALID_PRODUCER_ID_MAPPING) end_txn_refused_ = true;
}

void TransactionManager::FatalError(const absl::Status& error) {
  if (state_ == TransactionState::kFatalError) return;
  state_ = TransactionState::kFatalError;
  last_error_ = error;
  new_partitions_.clear();
}

absl::Status TransactionManager::StateError() const {
  const v1::ErrorCode code = ErrorCodeOf(last_error_);
  const std::string producer = fmt::format(
      "Producer with transactionalId '{}' and ProducerIdAndEpoch(producerId={}, "
      "epoch={})",
      transactional_id_, producer_id_, producer_epoch_);
  if (code == v1::PRODUCER_FENCED) {
    return ErrorToStatus(code, producer +
                                   " has been fenced by another producer with the same "
                                   "transactionalId");
  }
  if (code == v1::INVALID_PRODUCER_EPOCH) {
    return ErrorToStatus(code, producer + " attempted to produce with an old epoch");
  }
  return WithCause(
      last_error_,
      fmt::format("Cannot execute transactional method because we are in an error state: {}",
                  std::string(last_error_.message())));
}

absl::Status TransactionManager::AbortedRecordError() {
  // Kafka's TransactionAbortedException.
  return absl::AbortedError("Failing batch since transaction was aborted");
}

}  // namespace strata::client
