#include "broker/txn/transaction_metadata.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace strata::txn {
namespace {

using State = TransactionState;

}  // namespace

bool IsValidTransition(State from, State target) {
  switch (target) {
    case State::kEmpty:
      return from == State::kEmpty || from == State::kCompleteCommit ||
             from == State::kCompleteAbort;
    case State::kOngoing:
      return from == State::kOngoing || from == State::kEmpty || from == State::kCompleteCommit ||
             from == State::kCompleteAbort;
    case State::kPrepareCommit:
      return from == State::kOngoing;
    case State::kPrepareAbort:
      return from == State::kOngoing || from == State::kPrepareEpochFence;
    case State::kCompleteCommit:
      return from == State::kPrepareCommit;
    case State::kCompleteAbort:
      return from == State::kPrepareAbort;
    case State::kDead:
      return from == State::kEmpty || from == State::kCompleteCommit ||
             from == State::kCompleteAbort;
    case State::kPrepareEpochFence:
      return from == State::kOngoing;
  }
  return false;
}

bool IsEpochExhausted(int16_t epoch) { return epoch >= std::numeric_limits<int16_t>::max() - 1; }

TransactionLogValue TxnTransit::ToLogValue() const {
  TransactionLogValue v;
  v.producer_id = producer_id;
  v.producer_epoch = producer_epoch;
  v.transaction_timeout_ms = timeout_ms;
  v.state = state;
  v.partitions = partitions;
  v.last_update_timestamp_ms = last_update_ms;
  v.start_timestamp_ms = start_ms;
  return v;
}

TransactionMetadata::TransactionMetadata(std::string transactional_id, int64_t producer_id,
                                         int32_t timeout_ms, int64_t now_ms)
    : transactional_id_(std::move(transactional_id)),
      producer_id_(producer_id),
      timeout_ms_(timeout_ms),
      last_update_ms_(now_ms) {}

TransactionMetadata TransactionMetadata::FromLog(std::string transactional_id,
                                                 const TransactionLogValue& value) {
  TransactionMetadata m(std::move(transactional_id));
  m.producer_id_ = value.producer_id;
  m.producer_epoch_ = value.producer_epoch;
  m.timeout_ms_ = value.transaction_timeout_ms;
  m.state_ = value.state == State::kPrepareEpochFence ? State::kPrepareAbort : value.state;
  if (m.state_ != State::kEmpty) m.partitions_ = value.partitions;
  m.start_ms_ = value.start_timestamp_ms;
  m.last_update_ms_ = value.last_update_timestamp_ms;
  return m;
}

std::optional<std::pair<int16_t, int16_t>> TransactionMetadata::NextInitEpochs(
    std::optional<int16_t> expected_epoch) const {
  const auto bumped = static_cast<int16_t>(producer_epoch_ + 1);
  if (!expected_epoch) return std::make_pair(bumped, kNoProducerEpoch);
  if (producer_epoch_ == kNoProducerEpoch || *expected_epoch == producer_epoch_) {
    return std::make_pair(bumped, producer_epoch_);
  }
  if (*expected_epoch == last_producer_epoch_) {
    return std::make_pair(producer_epoch_, last_producer_epoch_);
  }
  return std::nullopt;
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareTransitionTo(
    State state, int64_t producer_id, int16_t epoch, int16_t last_epoch, int32_t timeout_ms,
    std::set<TxnTopicPartition> partitions, int64_t start_ms, int64_t now_ms) {
  if (pending_) {
    return absl::FailedPreconditionError(
        absl::StrCat("transactional id '", transactional_id_, "': preparing a transition to ",
                     TransactionStateName(state), " while one to ", TransactionStateName(*pending_),
                     " is pending"));
  }
  if (producer_id < 0) {
    return absl::FailedPreconditionError(absl::StrCat("transactional id '", transactional_id_,
                                                      "': illegal producer id ", producer_id));
  }
  if (state != State::kDead && epoch < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("transactional id '", transactional_id_, "': illegal producer epoch ", epoch));
  }
  if (!IsValidTransition(state_, state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("transactional id '", transactional_id_, "': no transition from ",
                     TransactionStateName(state_), " to ", TransactionStateName(state)));
  }
  TxnTransit t;
  t.producer_id = producer_id;
  t.last_producer_id = producer_id_;
  t.producer_epoch = epoch;
  t.last_producer_epoch = last_epoch;
  t.timeout_ms = timeout_ms;
  t.state = state;
  t.partitions = std::move(partitions);
  t.start_ms = start_ms;
  t.last_update_ms = now_ms;
  pending_ = state;
  return t;
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareInitEpoch(int16_t epoch, int16_t last_epoch,
                                                                 int32_t timeout_ms,
                                                                 int64_t now_ms) {
  return PrepareTransitionTo(State::kEmpty, producer_id_, epoch, last_epoch, timeout_ms, {}, -1,
                             now_ms);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareProducerIdRotation(int64_t new_producer_id,
                                                                          int32_t timeout_ms,
                                                                          int64_t now_ms,
                                                                          bool record_last_epoch) {
  return PrepareTransitionTo(State::kEmpty, new_producer_id, 0,
                             record_last_epoch ? producer_epoch_ : kNoProducerEpoch, timeout_ms, {},
                             -1, now_ms);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareAddPartitions(
    const std::set<TxnTopicPartition>& added, int64_t now_ms) {
  const bool starts = state_ == State::kEmpty || state_ == State::kCompleteCommit ||
                      state_ == State::kCompleteAbort;
  std::set<TxnTopicPartition> all = partitions_;
  all.insert(added.begin(), added.end());
  return PrepareTransitionTo(State::kOngoing, producer_id_, producer_epoch_, last_producer_epoch_,
                             timeout_ms_, std::move(all), starts ? now_ms : start_ms_, now_ms);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareAbortOrCommit(State prepare,
                                                                     int64_t now_ms) {
  if (prepare != State::kPrepareCommit && prepare != State::kPrepareAbort) {
    return absl::FailedPreconditionError(
        absl::StrCat("PrepareAbortOrCommit needs PrepareCommit or PrepareAbort, not ",
                     TransactionStateName(prepare)));
  }
  return PrepareTransitionTo(prepare, producer_id_, producer_epoch_, last_producer_epoch_,
                             timeout_ms_, partitions_, start_ms_, now_ms);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareFenceProducerEpoch() {
  // A fence that failed before already bumped the epoch in memory: this
  // one reuses it, so it proceeds even at Short.MaxValue (checked first, or
  // a failed fence at Short.MaxValue - 1 could never be retried).
  if (!has_failed_epoch_fence_ && producer_epoch_ == std::numeric_limits<int16_t>::max()) {
    return absl::FailedPreconditionError(
        absl::StrCat("transactional id '", transactional_id_,
                     "': cannot fence a producer at epoch Short.MaxValue"));
  }
  const int16_t bumped =
      has_failed_epoch_fence_ ? producer_epoch_ : static_cast<int16_t>(producer_epoch_ + 1);
  return PrepareTransitionTo(State::kPrepareEpochFence, producer_id_, bumped, kNoProducerEpoch,
                             timeout_ms_, partitions_, start_ms_, last_update_ms_);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareAbortAfterFence(const TxnTransit& fence,
                                                                       int64_t now_ms) {
  if (pending_ != State::kPrepareEpochFence || state_ != State::kOngoing ||
      fence.state != State::kPrepareEpochFence || fence.producer_id != producer_id_) {
    return absl::FailedPreconditionError(absl::StrCat("transactional id '", transactional_id_,
                                                      "': no epoch fence pending in state ",
                                                      TransactionStateName(state_)));
  }
  // The fence's epoch becomes the current one before the PrepareAbort is
  // written: the fenced producer's requests are refused from now on, even
  // if the write fails (then has_failed_epoch_fence keeps the next fence
  // from bumping twice).
  pending_.reset();
  producer_epoch_ = fence.producer_epoch;
  last_producer_epoch_ = kNoProducerEpoch;
  return PrepareTransitionTo(State::kPrepareAbort, producer_id_, producer_epoch_,
                             last_producer_epoch_, timeout_ms_, partitions_, start_ms_, now_ms);
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareComplete(int64_t now_ms) {
  State target;
  if (state_ == State::kPrepareCommit) {
    target = State::kCompleteCommit;
  } else if (state_ == State::kPrepareAbort) {
    target = State::kCompleteAbort;
  } else {
    return absl::FailedPreconditionError(absl::StrCat("transactional id '", transactional_id_,
                                                      "': nothing to complete in state ",
                                                      TransactionStateName(state_)));
  }
  absl::StatusOr<TxnTransit> t =
      PrepareTransitionTo(target, producer_id_, producer_epoch_, last_producer_epoch_, timeout_ms_,
                          {}, start_ms_, now_ms);
  // The Prepare* record is durable, so the fence (if any) is on disk.
  if (t.ok()) has_failed_epoch_fence_ = false;
  return t;
}

absl::StatusOr<TxnTransit> TransactionMetadata::PrepareDead() {
  return PrepareTransitionTo(State::kDead, producer_id_, producer_epoch_, last_producer_epoch_,
                             timeout_ms_, {}, start_ms_, last_update_ms_);
}

absl::Status TransactionMetadata::CompleteTransitionTo(const TxnTransit& t) {
  auto fail = [&](std::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("transactional id '", transactional_id_, "': cannot complete the transition ",
                     "from ", TransactionStateName(state_), " to ", TransactionStateName(t.state),
                     ": ", std::string(why)));
  };
  if (!pending_) return fail("no transition is pending");
  if (*pending_ != t.state) {
    return fail(absl::StrCat("the pending one is to ", TransactionStateName(*pending_)));
  }
  const bool same_producer = t.producer_id == producer_id_ && t.producer_epoch == producer_epoch_;
  switch (t.state) {
    case State::kEmpty: {
      const bool bump = t.producer_epoch == producer_epoch_ + 1 ||
                        (t.producer_epoch == 0 && t.producer_id != producer_id_);
      if ((t.producer_epoch != producer_epoch_ && !bump) || !t.partitions.empty() ||
          t.start_ms != -1) {
        return fail("not an epoch bump of an idle id");
      }
      timeout_ms_ = t.timeout_ms;
      producer_epoch_ = t.producer_epoch;
      last_producer_epoch_ = t.last_producer_epoch;
      producer_id_ = t.producer_id;
      last_producer_id_ = t.last_producer_id;
      break;
    }
    case State::kOngoing:
      if (!same_producer || t.timeout_ms != timeout_ms_ ||
          !std::includes(t.partitions.begin(), t.partitions.end(), partitions_.begin(),
                         partitions_.end())) {
        return fail("producer, timeout or partitions differ");
      }
      start_ms_ = t.start_ms;
      partitions_ = t.partitions;
      break;
    case State::kPrepareCommit:
    case State::kPrepareAbort:
      if (!same_producer || t.partitions != partitions_ || t.timeout_ms != timeout_ms_ ||
          t.start_ms != start_ms_) {
        return fail("producer, partitions, timeout or start time differ");
      }
      break;
    case State::kCompleteCommit:
    case State::kCompleteAbort:
      if (!same_producer || t.timeout_ms != timeout_ms_ || t.start_ms == -1) {
        return fail("producer or timeout differ, or no start time");
      }
      start_ms_ = t.start_ms;
      partitions_.clear();
      break;
    case State::kPrepareEpochFence:
      return fail("an epoch fence is never completed, only turned into PrepareAbort");
    case State::kDead:
      return fail("an expired id is removed, not completed");
  }
  last_update_ms_ = t.last_update_ms;
  pending_.reset();
  state_ = t.state;
  return absl::OkStatus();
}

bool TransactionMetadata::RemovePartition(const TxnTopicPartition& tp) {
  if (state_ != State::kPrepareCommit && state_ != State::kPrepareAbort) return false;
  return partitions_.erase(tp) > 0;
}

}  // namespace strata::txn
