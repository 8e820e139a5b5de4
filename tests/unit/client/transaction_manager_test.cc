// The transactional producer's state machine on its own: Kafka's
// transitions, its messages, the partitions of a transaction, and how
// each coordinator error is handled. No network.
#include "client/transaction_manager.h"

#include <string>
#include <vector>

#include "client/errors.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

using State = TransactionState;

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

// A manager initialized with producer id 7, epoch 3.
TransactionManager Ready() {
  TransactionManager m("tx");
  EXPECT_TRUE(m.BeginInit().ok());
  m.CompleteInit(7, 3);
  return m;
}

TEST(TransactionManagerTest, AFullCycleFollowsKafkasStates) {
  TransactionManager m("tx");
  EXPECT_EQ(m.state(), State::kUninitialized);
  ASSERT_TRUE(m.BeginInit().ok());
  EXPECT_EQ(m.state(), State::kInitializing);
  m.CompleteInit(7, 3);
  EXPECT_EQ(m.state(), State::kReady);
  EXPECT_EQ(m.producer_id(), 7);
  EXPECT_EQ(m.producer_epoch(), 3);
  ASSERT_TRUE(m.BeginTransaction().ok());
  EXPECT_EQ(m.state(), State::kInTransaction);
  EXPECT_TRUE(m.CheckSend().ok());
  ASSERT_TRUE(m.BeginCommit().ok());
  EXPECT_EQ(m.state(), State::kCommittingTransaction);
  m.CompleteTransaction();
  EXPECT_EQ(m.state(), State::kReady);
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginAbort().ok());
  EXPECT_EQ(m.state(), State::kAbortingTransaction);
  m.CompleteTransaction();
  EXPECT_EQ(m.state(), State::kReady);
}

TEST(TransactionManagerTest, StateNamesAreKafkas) {
  EXPECT_EQ(TransactionStateName(State::kUninitialized), "UNINITIALIZED");
  EXPECT_EQ(TransactionStateName(State::kInitializing), "INITIALIZING");
  EXPECT_EQ(TransactionStateName(State::kReady), "READY");
  EXPECT_EQ(TransactionStateName(State::kInTransaction), "IN_TRANSACTION");
  EXPECT_EQ(TransactionStateName(State::kCommittingTransaction), "COMMITTING_TRANSACTION");
  EXPECT_EQ(TransactionStateName(State::kAbortingTransaction), "ABORTING_TRANSACTION");
  EXPECT_EQ(TransactionStateName(State::kAbortableError), "ABORTABLE_ERROR");
  EXPECT_EQ(TransactionStateName(State::kFatalError), "FATAL_ERROR");
}

TEST(TransactionManagerTest, CallsInTheWrongStateFailWithKafkasMessagesAndChangeNothing) {
  TransactionManager m("tx");
  absl::Status s = m.BeginTransaction();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(s.message(),
            "TransactionalId tx: Invalid transition attempted from state UNINITIALIZED to state "
            "IN_TRANSACTION");
  EXPECT_EQ(m.state(), State::kUninitialized);
  EXPECT_EQ(m.CheckSend().message(),
            "Cannot perform a 'send' before completing a call to initTransactions when "
            "transactions are enabled.");
  EXPECT_EQ(m.BeginCommit().message(),
            "TransactionalId tx: Invalid transition attempted from state UNINITIALIZED to state "
            "COMMITTING_TRANSACTION");

  TransactionManager r = Ready();
  EXPECT_EQ(r.CheckSend().message(), "Cannot call send in state READY");
  EXPECT_EQ(r.CheckSendOffsets().message(),
            "Cannot send offsets if a transaction is not in progress (currentState= READY)");
  EXPECT_EQ(r.BeginAbort().message(),
            "TransactionalId tx: Invalid transition attempted from state READY to state "
            "ABORTING_TRANSACTION");
  EXPECT_EQ(r.BeginInit().message(),
            "TransactionalId tx: Invalid transition attempted from state READY to state "
            "INITIALIZING")
      << "InitTransactions once";
  EXPECT_EQ(r.state(), State::kReady);

  ASSERT_TRUE(r.BeginTransaction().ok());
  EXPECT_EQ(r.BeginTransaction().message(),
            "TransactionalId tx: Invalid transition attempted from state IN_TRANSACTION to state "
            "IN_TRANSACTION");
  EXPECT_EQ(r.state(), State::kInTransaction);
}

TEST(TransactionManagerTest, ACallThatTimedOutMustBeRepeatedBeforeAnyOther) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginCommit().ok());
  // The commit timed out: the same call may go on, no other.
  EXPECT_TRUE(m.BeginCommit().ok());
  EXPECT_EQ(m.state(), State::kCommittingTransaction);
  EXPECT_EQ(m.BeginAbort().message(),
            "Cannot attempt operation `abortTransaction` because the previous call to "
            "`commitTransaction` timed out and must be retried");
  EXPECT_EQ(m.BeginTransaction().message(),
            "Cannot attempt operation `beginTransaction` because the previous call to "
            "`commitTransaction` timed out and must be retried");
  EXPECT_EQ(m.CheckSend().message(), "Cannot call send in state COMMITTING_TRANSACTION");
  m.CompleteTransaction();

  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginAbort().ok());
  EXPECT_TRUE(m.BeginAbort().ok());
  EXPECT_EQ(m.BeginCommit().message(),
            "Cannot attempt operation `commitTransaction` because the previous call to "
            "`abortTransaction` timed out and must be retried");

  TransactionManager init("tx");
  ASSERT_TRUE(init.BeginInit().ok());
  EXPECT_TRUE(init.BeginInit().ok()) << "InitTransactions again after a timeout";
  EXPECT_EQ(init.state(), State::kInitializing);
}

TEST(TransactionManagerTest, NewPartitionsAreAddedTogetherAndOnlyThenSendable) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.MaybeAddPartition(Tp("b", 1));
  m.MaybeAddPartition(Tp("a", 0));
  m.MaybeAddPartition(Tp("b", 1));
  EXPECT_FALSE(m.IsSendAllowed(Tp("a", 0)));
  EXPECT_FALSE(m.transaction_started());
  ASSERT_TRUE(m.HasPartitionsToAdd());
  EXPECT_EQ(m.TakePartitionsToAdd(), (std::vector<TopicPartition>{Tp("a", 0), Tp("b", 1)}));
  EXPECT_FALSE(m.HasPartitionsToAdd());
  EXPECT_TRUE(m.HasPendingPartitions());
  // Used again while the call is in flight: not new.
  m.MaybeAddPartition(Tp("a", 0));
  // A partition first used meanwhile waits for the next call.
  m.MaybeAddPartition(Tp("c", 2));
  EXPECT_EQ(m.TakePartitionsToAdd(), (std::vector<TopicPartition>{Tp("c", 2)}));
  m.RetryPartitions();  // both calls' partitions are new again
  EXPECT_EQ(m.TakePartitionsToAdd(),
            (std::vector<TopicPartition>{Tp("a", 0), Tp("b", 1), Tp("c", 2)}));
  m.PartitionsAdded();
  EXPECT_TRUE(m.IsSendAllowed(Tp("a", 0)));
  EXPECT_TRUE(m.IsSendAllowed(Tp("c", 2)));
  EXPECT_TRUE(m.transaction_started());
  m.MaybeAddPartition(Tp("a", 0));
  EXPECT_FALSE(m.HasPartitionsToAdd()) << "already in the transaction";

  ASSERT_TRUE(m.BeginCommit().ok());
  m.EndTxnDone();
  m.CompleteTransaction();
  EXPECT_FALSE(m.IsSendAllowed(Tp("a", 0))) << "the next transaction adds it again";
  EXPECT_FALSE(m.transaction_started());
}

TEST(TransactionManagerTest, OffsetsStartTheTransactionToo) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.CheckSendOffsets().ok());
  m.OffsetsAdded();
  EXPECT_TRUE(m.transaction_started());
}

TEST(TransactionManagerTest, AnAbortableErrorFailsEverythingButAbortThenANewTransactionBegins) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.MaybeAddPartition(Tp("t", 0));
  const absl::Status cause = ErrorToStatus(v1::NOT_ENOUGH_REPLICAS, "2 of 3 in sync");
  m.AbortableError(cause, /*bump_epoch=*/false);
  EXPECT_EQ(m.state(), State::kAbortableError);
  EXPECT_FALSE(m.HasPartitionsToAdd()) << "nothing more joins a transaction to be aborted";
  // The first error is the cause and stays.
  m.AbortableError(ErrorToStatus(v1::REQUEST_TIMED_OUT, "later"), false);
  EXPECT_EQ(m.last_error(), cause);

  absl::Status commit = m.BeginCommit();
  EXPECT_EQ(ErrorCodeOf(commit), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(commit.message(),
            "Cannot execute transactional method because we are in an error state: 2 of 3 in "
            "sync");
  EXPECT_EQ(ErrorCodeOf(m.CheckSend()), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(m.CheckSend().message(),
            "Cannot perform send because at least one previous transactional or idempotent "
            "request has failed with errors: 2 of 3 in sync");
  EXPECT_EQ(ErrorCodeOf(m.BeginTransaction()), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(ErrorCodeOf(m.CheckSendOffsets()), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(m.state(), State::kAbortableError);

  ASSERT_TRUE(m.BeginAbort().ok());
  EXPECT_EQ(m.state(), State::kAbortingTransaction);
  m.CompleteTransaction();
  EXPECT_EQ(m.state(), State::kReady);
  EXPECT_TRUE(m.last_error().ok());
  EXPECT_TRUE(m.BeginTransaction().ok());
}

TEST(TransactionManagerTest, AnErrorDuringTheCommitMakesItAbortable) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginCommit().ok());
  m.AbortableError(ErrorToStatus(v1::MESSAGE_TOO_LARGE, "too large"), false);
  EXPECT_EQ(m.state(), State::kAbortableError);
  EXPECT_EQ(ErrorCodeOf(m.BeginCommit()), v1::MESSAGE_TOO_LARGE);
  EXPECT_TRUE(m.BeginAbort().ok());
}

TEST(TransactionManagerTest, ErrorsWhileAbortingOnlyAskForTheEpochBump) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginAbort().ok());
  m.AbortableError(ErrorToStatus(v1::REQUEST_TIMED_OUT, "expired"), /*bump_epoch=*/true);
  EXPECT_EQ(m.state(), State::kAbortingTransaction);
  EXPECT_TRUE(m.epoch_bump_required());
  m.EpochBumped(7, 4);
  EXPECT_FALSE(m.epoch_bump_required());
  EXPECT_EQ(m.producer_epoch(), 4);
  m.CompleteTransaction();
  EXPECT_EQ(m.state(), State::kReady);
}

TEST(TransactionManagerTest, CompletingATransactionAnotherCallCompletedChangesNothing) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  ASSERT_TRUE(m.BeginAbort().ok());
  EXPECT_TRUE(m.CompleteTransaction());
  EXPECT_EQ(m.state(), State::kReady);
  EXPECT_FALSE(m.CompleteTransaction());
  EXPECT_EQ(m.state(), State::kReady);
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.FatalError(ErrorToStatus(v1::PRODUCER_FENCED, "fenced"));
  EXPECT_FALSE(m.CompleteTransaction());
  EXPECT_EQ(m.state(), State::kFatalError);
}

TEST(TransactionManagerTest, ALostAddAnswerMayHaveStartedTheTransaction) {
  // Only that partition, answer lost: the coordinator may hold an open
  // transaction the producer does not know of.
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.MaybeAddPartition(Tp("t", 0));
  ASSERT_EQ(m.TakePartitionsToAdd().size(), 1u);
  m.RetryPartitions(/*outcome_unknown=*/true);
  ASSERT_TRUE(m.BeginAbort().ok());
  EXPECT_FALSE(m.transaction_started());
  EXPECT_TRUE(m.maybe_started());
  EXPECT_FALSE(m.epoch_bump_required());
  EXPECT_TRUE(m.CompleteTransaction());
  EXPECT_FALSE(m.maybe_started()) << "per transaction";

  // Lost, then added on the retry: the EndTxn covers it, no bump.
  TransactionManager n = Ready();
  ASSERT_TRUE(n.BeginTransaction().ok());
  n.MaybeAddPartition(Tp("t", 0));
  ASSERT_EQ(n.TakePartitionsToAdd().size(), 1u);
  n.RetryPartitions(/*outcome_unknown=*/true);
  ASSERT_EQ(n.TakePartitionsToAdd().size(), 1u);
  n.PartitionsAdded();
  ASSERT_TRUE(n.BeginAbort().ok());
  EXPECT_TRUE(n.transaction_started());

  // Refused (an answer, not a loss): nothing was added.
  TransactionManager o = Ready();
  ASSERT_TRUE(o.BeginTransaction().ok());
  o.MaybeAddPartition(Tp("t", 0));
  ASSERT_EQ(o.TakePartitionsToAdd().size(), 1u);
  o.RetryPartitions();
  ASSERT_TRUE(o.BeginAbort().ok());
  EXPECT_FALSE(o.maybe_started());
}

TEST(TransactionManagerTest, AnUnknownProducerIdMappingSkipsTheEndTxnForTheBump) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.MaybeAddPartition(Tp("t", 0));
  (void)m.TakePartitionsToAdd();
  m.PartitionsAdded();
  m.AbortableError(ErrorToStatus(v1::INVALID_PRODUCER_ID_MAPPING, "unknown"), /*bump_epoch=*/true);
  EXPECT_TRUE(m.end_txn_refused());
  EXPECT_TRUE(m.epoch_bump_required());
  ASSERT_TRUE(m.BeginAbort().ok());
  m.EndTxnDone();
  m.EpochBumped(8, 0);
  EXPECT_TRUE(m.CompleteTransaction());
  EXPECT_FALSE(m.end_txn_refused()) << "per transaction";
  EXPECT_EQ(m.producer_id(), 8);
  // Outside a transaction the answer changes nothing.
  m.AbortableError(ErrorToStatus(v1::INVALID_PRODUCER_ID_MAPPING, "unknown"), /*bump_epoch=*/true);
  EXPECT_FALSE(m.end_txn_refused());
  EXPECT_FALSE(m.epoch_bump_required());
}

TEST(TransactionManagerTest, ErrorsOutsideATransactionChangeNothing) {
  TransactionManager m = Ready();
  m.AbortableError(ErrorToStatus(v1::REQUEST_TIMED_OUT, "x"), true);
  EXPECT_EQ(m.state(), State::kReady);
  EXPECT_FALSE(m.epoch_bump_required());
}

TEST(TransactionManagerTest, AFatalErrorIsForGood) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.MaybeAddPartition(Tp("t", 0));
  m.TakePartitionsToAdd();
  m.PartitionsAdded();
  m.FatalError(TxnErrorStatus(TxnRequest::kAddPartitionsToTxn, v1::PRODUCER_FENCED, ""));
  EXPECT_EQ(m.state(), State::kFatalError);
  EXPECT_FALSE(m.IsSendAllowed(Tp("t", 0)));
  const std::string fenced =
      "Producer with transactionalId 'tx' and ProducerIdAndEpoch(producerId=7, epoch=3) has "
      "been fenced by another producer with the same transactionalId";
  for (const absl::Status& s : {m.BeginCommit(), m.BeginAbort(), m.BeginTransaction(),
                                m.BeginInit(), m.CheckSendOffsets()}) {
    EXPECT_EQ(ErrorCodeOf(s), v1::PRODUCER_FENCED) << s;
    EXPECT_EQ(s.message(), fenced);
  }
  EXPECT_EQ(ErrorCodeOf(m.CheckSend()), v1::PRODUCER_FENCED);
  // Later errors neither replace it nor move the state.
  m.AbortableError(ErrorToStatus(v1::REQUEST_TIMED_OUT, "x"), true);
  m.FatalError(ErrorToStatus(v1::INVALID_TXN_STATE, "y"));
  EXPECT_EQ(m.state(), State::kFatalError);
  EXPECT_EQ(ErrorCodeOf(m.last_error()), v1::PRODUCER_FENCED);
}

TEST(TransactionManagerTest, AnOldEpochFromAProduceIsReportedInKafkasWords) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.AbortableError(ErrorToStatus(v1::INVALID_PRODUCER_EPOCH, "old"), false);
  EXPECT_EQ(m.BeginCommit().message(),
            "Producer with transactionalId 'tx' and ProducerIdAndEpoch(producerId=7, epoch=3) "
            "attempted to produce with an old epoch");
}

TEST(TransactionManagerTest, AClientSideCauseKeepsItsOwnCode) {
  TransactionManager m = Ready();
  ASSERT_TRUE(m.BeginTransaction().ok());
  m.AbortableError(absl::UnavailableError("no connection"), false);
  EXPECT_TRUE(absl::IsUnavailable(m.BeginCommit()));
}

TEST(TransactionManagerTest, AbortedRecordsGetKafkasTransactionAbortedMessage) {
  const absl::Status s = TransactionManager::AbortedRecordError();
  EXPECT_TRUE(absl::IsAborted(s));
  EXPECT_EQ(s.message(), "Failing batch since transaction was aborted");
}

TEST(TxnErrorTest, EachRequestHandlesItsErrorsAsKafkas) {
  using A = TxnErrorAction;
  struct Case {
    TxnRequest request;
    v1::ErrorCode code;
    A action;
  };
  const std::vector<Case> cases = {
      {TxnRequest::kFindCoordinator, v1::NONE, A::kNone},
      {TxnRequest::kFindCoordinator, v1::COORDINATOR_NOT_AVAILABLE, A::kRetry},
      {TxnRequest::kFindCoordinator, v1::NOT_COORDINATOR, A::kRetry},
      {TxnRequest::kFindCoordinator, v1::COORDINATOR_LOAD_IN_PROGRESS, A::kRetry},
      {TxnRequest::kFindCoordinator, v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, A::kFatal},
      {TxnRequest::kFindCoordinator, v1::INVALID_REQUEST, A::kFatal},

      {TxnRequest::kInitProducerId, v1::NOT_COORDINATOR, A::kFindCoordinator},
      {TxnRequest::kInitProducerId, v1::COORDINATOR_NOT_AVAILABLE, A::kFindCoordinator},
      {TxnRequest::kInitProducerId, v1::COORDINATOR_LOAD_IN_PROGRESS, A::kRetry},
      {TxnRequest::kInitProducerId, v1::CONCURRENT_TRANSACTIONS, A::kRetry},
      {TxnRequest::kInitProducerId, v1::PRODUCER_FENCED, A::kFatal},
      {TxnRequest::kInitProducerId, v1::INVALID_PRODUCER_EPOCH, A::kFatal},
      {TxnRequest::kInitProducerId, v1::INVALID_TRANSACTION_TIMEOUT, A::kFatal},
      {TxnRequest::kInitProducerId, v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, A::kFatal},

      {TxnRequest::kAddPartitionsToTxn, v1::NOT_COORDINATOR, A::kFindCoordinator},
      {TxnRequest::kAddPartitionsToTxn, v1::CONCURRENT_TRANSACTIONS, A::kRetry},
      {TxnRequest::kAddPartitionsToTxn, v1::COORDINATOR_LOAD_IN_PROGRESS, A::kRetry},
      {TxnRequest::kAddPartitionsToTxn, v1::UNKNOWN_TOPIC_OR_PARTITION, A::kRetry},
      {TxnRequest::kAddPartitionsToTxn, v1::UNKNOWN_PRODUCER_ID, A::kAbortable},
      {TxnRequest::kAddPartitionsToTxn, v1::INVALID_PRODUCER_ID_MAPPING, A::kAbortable},
      {TxnRequest::kAddPartitionsToTxn, v1::PRODUCER_FENCED, A::kFatal},
      {TxnRequest::kAddPartitionsToTxn, v1::INVALID_PRODUCER_EPOCH, A::kFatal},
      {TxnRequest::kAddPartitionsToTxn, v1::INVALID_TXN_STATE, A::kFatal},
      {TxnRequest::kAddPartitionsToTxn, v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, A::kFatal},
      {TxnRequest::kAddPartitionsToTxn, v1::UNKNOWN_SERVER_ERROR, A::kFatal},

      {TxnRequest::kAddOffsetsToTxn, v1::COORDINATOR_NOT_AVAILABLE, A::kFindCoordinator},
      {TxnRequest::kAddOffsetsToTxn, v1::CONCURRENT_TRANSACTIONS, A::kRetry},
      {TxnRequest::kAddOffsetsToTxn, v1::UNKNOWN_PRODUCER_ID, A::kAbortable},
      {TxnRequest::kAddOffsetsToTxn, v1::PRODUCER_FENCED, A::kFatal},

      {TxnRequest::kEndTxn, v1::NOT_COORDINATOR, A::kFindCoordinator},
      {TxnRequest::kEndTxn, v1::COORDINATOR_LOAD_IN_PROGRESS, A::kRetry},
      {TxnRequest::kEndTxn, v1::CONCURRENT_TRANSACTIONS, A::kRetry},
      {TxnRequest::kEndTxn, v1::INVALID_PRODUCER_ID_MAPPING, A::kAbortable},
      {TxnRequest::kEndTxn, v1::PRODUCER_FENCED, A::kFatal},
      {TxnRequest::kEndTxn, v1::INVALID_PRODUCER_EPOCH, A::kFatal},
      {TxnRequest::kEndTxn, v1::INVALID_TXN_STATE, A::kFatal},
      {TxnRequest::kEndTxn, v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, A::kFatal},

      {TxnRequest::kTxnOffsetCommit, v1::NOT_COORDINATOR, A::kFindCoordinator},
      {TxnRequest::kTxnOffsetCommit, v1::REQUEST_TIMED_OUT, A::kFindCoordinator},
      {TxnRequest::kTxnOffsetCommit, v1::COORDINATOR_LOAD_IN_PROGRESS, A::kRetry},
      {TxnRequest::kTxnOffsetCommit, v1::UNKNOWN_TOPIC_OR_PARTITION, A::kRetry},
      {TxnRequest::kTxnOffsetCommit, v1::ILLEGAL_GENERATION, A::kAbortable},
      {TxnRequest::kTxnOffsetCommit, v1::UNKNOWN_MEMBER_ID, A::kAbortable},
      {TxnRequest::kTxnOffsetCommit, v1::FENCED_INSTANCE_ID, A::kAbortable},
      {TxnRequest::kTxnOffsetCommit, v1::UNKNOWN_PRODUCER_ID, A::kAbortable},
      {TxnRequest::kTxnOffsetCommit, v1::INVALID_PRODUCER_ID_MAPPING, A::kAbortable},
      {TxnRequest::kTxnOffsetCommit, v1::PRODUCER_FENCED, A::kFatal},
      {TxnRequest::kTxnOffsetCommit, v1::INVALID_PRODUCER_EPOCH, A::kFatal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyTxnError(c.request, c.code), c.action)
        << TxnRequestName(c.request) << " " << ErrorName(c.code);
  }
}

TEST(TxnErrorTest, OnlyALostProducerIdAsksForAnEpochBump) {
  EXPECT_TRUE(TxnErrorNeedsEpochBump(v1::UNKNOWN_PRODUCER_ID));
  EXPECT_TRUE(TxnErrorNeedsEpochBump(v1::INVALID_PRODUCER_ID_MAPPING));
  EXPECT_FALSE(TxnErrorNeedsEpochBump(v1::OPERATION_NOT_ATTEMPTED));
  EXPECT_FALSE(TxnErrorNeedsEpochBump(v1::ILLEGAL_GENERATION));
  EXPECT_FALSE(TxnErrorNeedsEpochBump(v1::PRODUCER_FENCED));
}

TEST(TxnErrorTest, AnOldEpochAtTheCoordinatorMeansFenced) {
  for (TxnRequest r :
       {TxnRequest::kInitProducerId, TxnRequest::kAddPartitionsToTxn, TxnRequest::kAddOffsetsToTxn,
        TxnRequest::kEndTxn, TxnRequest::kTxnOffsetCommit}) {
    const absl::Status s = TxnErrorStatus(r, v1::INVALID_PRODUCER_EPOCH, "epoch 3 < 4");
    EXPECT_EQ(ErrorCodeOf(s), v1::PRODUCER_FENCED) << TxnRequestName(r);
    EXPECT_EQ(s.message(),
              "There is a newer producer with the same transactionalId which fences the current "
              "one.");
  }
  EXPECT_EQ(TxnErrorStatus(TxnRequest::kEndTxn, v1::PRODUCER_FENCED, "").message(),
            "There is a newer producer with the same transactionalId which fences the current "
            "one.");
}

TEST(TxnErrorTest, MessagesNameTheCause) {
  const absl::Status mismatch =
      TxnErrorStatus(TxnRequest::kTxnOffsetCommit, v1::ILLEGAL_GENERATION, "generation 3 ended");
  EXPECT_EQ(ErrorCodeOf(mismatch), v1::ILLEGAL_GENERATION);
  EXPECT_EQ(mismatch.message(),
            "Transaction offset Commit failed due to consumer group metadata mismatch: generation "
            "3 ended");
  const absl::Status unexpected = TxnErrorStatus(TxnRequest::kEndTxn, v1::INVALID_REQUEST, "bad");
  EXPECT_EQ(ErrorCodeOf(unexpected), v1::INVALID_REQUEST);
  EXPECT_EQ(unexpected.message(), "Unexpected error in EndTxnResponse: bad");
  EXPECT_EQ(TxnErrorStatus(TxnRequest::kEndTxn, v1::INVALID_TXN_STATE, "").message(),
            "The producer attempted a transactional operation in an invalid state.");
}

}  // namespace
}  // namespace strata::client
