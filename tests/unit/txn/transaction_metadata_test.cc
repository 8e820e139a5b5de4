// The per-transactional-id state machine (transaction_metadata.h): Kafka's
// transition table, the pending-transition rule, KIP-360's epoch choice,
// the epoch fence and the checks on completing a transition.
#include "broker/txn/transaction_metadata.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace strata::txn {
namespace {

using State = TransactionState;

constexpr int64_t kNow = 1'000'000;

std::optional<std::pair<int16_t, int16_t>> Epochs(int epoch, int last) {
  return std::make_pair(static_cast<int16_t>(epoch), static_cast<int16_t>(last));
}

// An id that went Empty at `epoch` (InitProducerId written).
TransactionMetadata Initialized(int16_t epoch = 0) {
  TransactionMetadata m("app", 42, 60000, kNow);
  for (int16_t e = 0; e <= epoch; ++e) {
    auto t = m.PrepareInitEpoch(e, -1, 60000, kNow);
    EXPECT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(m.CompleteTransitionTo(*t).ok());
  }
  return m;
}

TransactionMetadata OngoingWith(std::set<TxnTopicPartition> tps) {
  TransactionMetadata m = Initialized();
  auto t = m.PrepareAddPartitions(tps, kNow + 5);
  EXPECT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(m.CompleteTransitionTo(*t).ok());
  return m;
}

TEST(TransactionMetadataTest, TransitionTableIsKafkas) {
  const std::vector<State> all = {State::kEmpty,          State::kOngoing,
                                  State::kPrepareCommit,  State::kPrepareAbort,
                                  State::kCompleteCommit, State::kCompleteAbort,
                                  State::kDead,           State::kPrepareEpochFence};
  const std::set<std::pair<State, State>> allowed = {
      {State::kEmpty, State::kEmpty},
      {State::kCompleteCommit, State::kEmpty},
      {State::kCompleteAbort, State::kEmpty},
      {State::kOngoing, State::kOngoing},
      {State::kEmpty, State::kOngoing},
      {State::kCompleteCommit, State::kOngoing},
      {State::kCompleteAbort, State::kOngoing},
      {State::kOngoing, State::kPrepareCommit},
      {State::kOngoing, State::kPrepareAbort},
      {State::kPrepareEpochFence, State::kPrepareAbort},
      {State::kPrepareCommit, State::kCompleteCommit},
      {State::kPrepareAbort, State::kCompleteAbort},
      {State::kEmpty, State::kDead},
      {State::kCompleteCommit, State::kDead},
      {State::kCompleteAbort, State::kDead},
      {State::kOngoing, State::kPrepareEpochFence}};
  for (State from : all) {
    for (State to : all) {
      EXPECT_EQ(IsValidTransition(from, to), allowed.contains({from, to}))
          << TransactionStateName(from) << " -> " << TransactionStateName(to);
    }
  }
}

TEST(TransactionMetadataTest, APendingTransitionBlocksAnotherUntilCompletedOrAborted) {
  TransactionMetadata m = Initialized();
  auto add = m.PrepareAddPartitions({{"t", 0}}, kNow + 1);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(m.pending_state(), State::kOngoing);
  EXPECT_EQ(m.state(), State::kEmpty);  // not before the record is durable
  auto again = m.PrepareAddPartitions({{"t", 1}}, kNow + 2);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  m.AbortPendingTransition();
  EXPECT_FALSE(m.PendingTransitionInProgress());
  EXPECT_EQ(m.state(), State::kEmpty);
  add = m.PrepareAddPartitions({{"t", 0}}, kNow + 3);
  ASSERT_TRUE(add.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*add).ok());
  EXPECT_EQ(m.state(), State::kOngoing);
  EXPECT_EQ(m.start_ms(), kNow + 3);
  EXPECT_EQ(m.partitions(), (std::set<TxnTopicPartition>{{"t", 0}}));
}

TEST(TransactionMetadataTest, ForbiddenTransitionsChangeNothing) {
  TransactionMetadata m = Initialized();
  EXPECT_FALSE(m.PrepareAbortOrCommit(State::kPrepareCommit, kNow).ok());
  EXPECT_FALSE(m.PrepareComplete(kNow).ok());
  EXPECT_FALSE(m.PrepareFenceProducerEpoch().ok());
  EXPECT_FALSE(m.PendingTransitionInProgress());
  TransactionMetadata ongoing = OngoingWith({{"t", 0}});
  EXPECT_FALSE(ongoing.PrepareDead().ok());
  EXPECT_FALSE(ongoing.PrepareInitEpoch(2, -1, 1000, kNow).ok());
  EXPECT_FALSE(ongoing.PendingTransitionInProgress());
}

TEST(TransactionMetadataTest, Kip360EpochChoice) {
  TransactionMetadata fresh("app", 42, 60000, kNow);
  // No epoch yet: 0, whatever the producer expects.
  EXPECT_EQ(fresh.NextInitEpochs(std::nullopt), Epochs(0, -1));
  EXPECT_EQ(fresh.NextInitEpochs(int16_t{5}), Epochs(0, -1));

  TransactionMetadata m = Initialized(3);  // epoch 3, last -1
  EXPECT_EQ(m.NextInitEpochs(std::nullopt), Epochs(4, -1));
  EXPECT_EQ(m.NextInitEpochs(int16_t{3}), Epochs(4, 3));
  EXPECT_EQ(m.NextInitEpochs(int16_t{2}), std::nullopt);  // fenced
  auto t = m.PrepareInitEpoch(4, 3, 60000, kNow);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*t).ok());
  // A retry of the call that succeeded gets the same epoch back.
  EXPECT_EQ(m.NextInitEpochs(int16_t{3}), Epochs(4, 3));
}

TEST(TransactionMetadataTest, RotationGivesEpochZeroOfANewId) {
  TransactionMetadata m = Initialized();
  auto t = m.PrepareProducerIdRotation(77, 60000, kNow + 1, /*record_last_epoch=*/true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->producer_id, 77);
  EXPECT_EQ(t->producer_epoch, 0);
  EXPECT_EQ(t->last_producer_epoch, 0);
  ASSERT_TRUE(m.CompleteTransitionTo(*t).ok());
  EXPECT_EQ(m.producer_id(), 77);
  EXPECT_EQ(m.last_producer_id(), 42);
  EXPECT_TRUE(IsEpochExhausted(std::numeric_limits<int16_t>::max() - 1));
  EXPECT_FALSE(IsEpochExhausted(std::numeric_limits<int16_t>::max() - 2));
}

TEST(TransactionMetadataTest, FenceBumpsOnceThenAbortsWithTheBumpedEpoch) {
  TransactionMetadata m = OngoingWith({{"t", 0}});
  auto fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok());
  EXPECT_EQ(fence->producer_epoch, 1);
  EXPECT_EQ(m.pending_state(), State::kPrepareEpochFence);
  auto abort = m.PrepareAbortAfterFence(*fence, kNow + 9);
  ASSERT_TRUE(abort.ok()) << abort.status();
  EXPECT_EQ(abort->state, State::kPrepareAbort);
  EXPECT_EQ(abort->producer_epoch, 1);
  EXPECT_EQ(m.producer_epoch(), 1);  // fenced in memory already
  // The write failed: the next fence does not bump again.
  m.AbortPendingTransition();
  m.set_failed_epoch_fence();
  fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok());
  EXPECT_EQ(fence->producer_epoch, 1);
  abort = m.PrepareAbortAfterFence(*fence, kNow + 10);
  ASSERT_TRUE(abort.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*abort).ok());
  auto complete = m.PrepareComplete(kNow + 11);
  ASSERT_TRUE(complete.ok());
  EXPECT_FALSE(m.has_failed_epoch_fence());
  EXPECT_EQ(complete->state, State::kCompleteAbort);
  EXPECT_TRUE(complete->partitions.empty());
  // Markers written: partitions leave one by one, then Complete.
  EXPECT_TRUE(m.RemovePartition({"t", 0}));
  EXPECT_FALSE(m.RemovePartition({"t", 0}));
  ASSERT_TRUE(m.CompleteTransitionTo(*complete).ok());
  EXPECT_EQ(m.state(), State::kCompleteAbort);
  EXPECT_TRUE(m.partitions().empty());
  EXPECT_FALSE(m.RemovePartition({"t", 0}));  // not in Prepare*
}

TEST(TransactionMetadataTest, AFailedFenceAtTheLastEpochCanBeRetried) {
  TransactionLogValue v;
  v.producer_id = 9;
  v.producer_epoch = std::numeric_limits<int16_t>::max() - 1;
  v.transaction_timeout_ms = 1000;
  v.state = State::kOngoing;
  v.partitions = {{"t", 0}};
  v.start_timestamp_ms = 10;
  v.last_update_timestamp_ms = 20;
  TransactionMetadata m = TransactionMetadata::FromLog("x", v);
  auto fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok()) << fence.status();
  auto abort = m.PrepareAbortAfterFence(*fence, kNow);
  ASSERT_TRUE(abort.ok()) << abort.status();
  EXPECT_EQ(m.producer_epoch(), std::numeric_limits<int16_t>::max());
  // The PrepareAbort write failed: the retried fence reuses Short.MaxValue.
  m.AbortPendingTransition();
  m.set_failed_epoch_fence();
  fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok()) << fence.status();
  EXPECT_EQ(fence->producer_epoch, std::numeric_limits<int16_t>::max());
  abort = m.PrepareAbortAfterFence(*fence, kNow + 1);
  ASSERT_TRUE(abort.ok()) << abort.status();
  ASSERT_TRUE(m.CompleteTransitionTo(*abort).ok());
  EXPECT_EQ(m.state(), State::kPrepareAbort);
}

TEST(TransactionMetadataTest, CompletingSomethingElseThanPendingIsRefused) {
  TransactionMetadata m = OngoingWith({{"t", 0}});
  auto commit = m.PrepareAbortOrCommit(State::kPrepareCommit, kNow + 1);
  ASSERT_TRUE(commit.ok());
  TxnTransit wrong = *commit;
  wrong.state = State::kPrepareAbort;
  EXPECT_FALSE(m.CompleteTransitionTo(wrong).ok());
  wrong = *commit;
  wrong.producer_epoch = 5;
  EXPECT_FALSE(m.CompleteTransitionTo(wrong).ok());
  wrong = *commit;
  wrong.partitions.insert({"u", 1});
  EXPECT_FALSE(m.CompleteTransitionTo(wrong).ok());
  EXPECT_EQ(m.state(), State::kOngoing);
  ASSERT_TRUE(m.CompleteTransitionTo(*commit).ok());
  EXPECT_EQ(m.state(), State::kPrepareCommit);
  EXPECT_FALSE(m.CompleteTransitionTo(*commit).ok());  // nothing pending
  // Dead is never completed, only removed.
  TransactionMetadata idle = Initialized();
  auto dead = idle.PrepareDead();
  ASSERT_TRUE(dead.ok());
  EXPECT_FALSE(idle.CompleteTransitionTo(*dead).ok());
}

TEST(TransactionMetadataTest, FromLogReadsAnEpochFenceAsTheAbortItBecomes) {
  TransactionLogValue v;
  v.producer_id = 9;
  v.producer_epoch = 4;
  v.transaction_timeout_ms = 1000;
  v.state = State::kPrepareEpochFence;
  v.partitions = {{"t", 2}};
  v.start_timestamp_ms = 10;
  v.last_update_timestamp_ms = 20;
  TransactionMetadata m = TransactionMetadata::FromLog("x", v);
  EXPECT_EQ(m.state(), State::kPrepareAbort);
  EXPECT_EQ(m.producer_epoch(), 4);
  EXPECT_EQ(m.last_producer_epoch(), -1);
  EXPECT_EQ(m.partitions(), v.partitions);
  EXPECT_EQ(m.last_update_ms(), 20);
}

}  // namespace
}  // namespace strata::txn
