#include "broker/replication/partition.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/storage/kafka_error.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::replication {
namespace {

bool Contains(const std::vector<BrokerId>& v, BrokerId x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<BrokerId> Brokers(const std::vector<int32_t>& ids) {
  std::vector<BrokerId> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.emplace_back(id);
  return out;
}

std::vector<int32_t> Ints(const std::vector<BrokerId>& ids) {
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (BrokerId id : ids) out.push_back(id.value());
  return out;
}

std::string Join(const std::vector<BrokerId>& ids) {
  return absl::StrJoin(ids, ",", absl::StreamFormatter());
}

}  // namespace

ErrorCode ErrorCodeFor(const absl::Status& status) {
  // A Kafka code attached by storage (kafka_error.h) is more precise than
  // the status code, which has no equivalent for e.g. INVALID_TIMESTAMP.
  if (std::optional<int16_t> kafka = storage::KafkaErrorOf(status);
      kafka.has_value() && IsKnownErrorCode(*kafka)) {
    return static_cast<ErrorCode>(*kafka);
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return ErrorCode::kNone;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::kMessageTooLarge;
    case absl::StatusCode::kDataLoss:
      return ErrorCode::kCorruptMessage;
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidRecord;
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case absl::StatusCode::kUnimplemented:
      return ErrorCode::kUnsupportedVersion;
    default:
      return ErrorCode::kKafkaStorageError;
  }
}

Partition::Partition(TopicPartition tp, PartitionOptions options)
    : tp_(std::move(tp)), options_(std::move(options)), clock_(options_.clock) {
  CHECK(clock_ != nullptr) << "Partition " << tp_.ToString() << " needs a clock";
}

bool Partition::SameTerm(const std::string& topic_id, const metadata::PartitionInfo& p) const {
  absl::MutexLock l(&mu_);
  return SameTermLocked(topic_id, p);
}

bool Partition::SameTermLocked(const std::string& topic_id,
                               const metadata::PartitionInfo& p) const {
  return !detached_ && state_.topic_id == topic_id && state_.leader == BrokerId(p.leader) &&
         state_.leader_epoch == Epoch(p.leader_epoch);
}

Partition::RoleChange Partition::MakeLeaderOrFollower(std::shared_ptr<storage::Log> log,
                                                      const std::string& topic_id,
                                                      const metadata::PartitionInfo& p,
                                                      int32_t min_insync_replicas,
                                                      bool unclean_allowed) {
  absl::MutexLock l(&mu_);
  const int64_t now = clock_->NowMs();
  RoleChange change;
  change.was_leader = IsLeaderLocked();
  const bool same_term = SameTermLocked(topic_id, p);
  if (!same_term) state_ = State{};
  State& r = state_;
  r.log = std::move(log);
  r.topic_id = topic_id;
  r.leader = BrokerId(p.leader);
  r.leader_epoch = Epoch(p.leader_epoch);
  r.replicas = Brokers(p.replicas);
  if (same_term && r.leader == options_.local_broker) {
    // A reassignment adds replicas within a term (removing them moves the
    // leader epoch): each new follower gets a full replica.lag.time.max.ms
    // to show up, as at the start of a term.
    for (BrokerId id : r.replicas) {
      if (id != options_.local_broker && !r.followers.contains(id)) {
        r.followers[id] = FollowerProgress{Offset(-1), now, now, Offset(-1), Offset(-1)};
      }
    }
    std::erase_if(r.followers, [&](const auto& f) {
      return std::find(r.replicas.begin(), r.replicas.end(), f.first) == r.replicas.end();
    });
  }
  r.min_insync_replicas = min_insync_replicas;
  r.unclean_allowed = unclean_allowed;
  // A controller answer may have brought a newer ISR than this image.
  if (!same_term || p.partition_epoch >= r.partition_epoch) {
    // A new partition epoch settles any request made in the old one.
    if (r.pending_isr && p.partition_epoch != r.pending_partition_epoch) {
      r.pending_isr.reset();
    }
    change.changed |= r.partition_epoch != p.partition_epoch;
    r.partition_epoch = p.partition_epoch;
    r.isr = Brokers(p.isr);
  }
  if (!same_term) {
    LOG(INFO) << "Partition " << tp_.ToString() << ": "
              << (r.leader == options_.local_broker ? "leader" : "follower") << " in epoch "
              << p.leader_epoch << " (leader " << p.leader << ", ISR [" << absl::StrJoin(p.isr, ",")
              << "])";
    if (r.leader == options_.local_broker) {
      r.epoch_start_offset = r.log->log_end_offset();
      if (absl::Status s = r.log->AssignLeaderEpoch(r.leader_epoch); !s.ok()) {
        LOG(ERROR) << "Partition " << tp_.ToString() << ": cannot record leader epoch "
                   << p.leader_epoch << ": " << s;
      }
      // Every follower gets a full replica.lag.time.max.ms to show up.
      for (BrokerId id : r.replicas) {
        if (id != options_.local_broker) {
          r.followers[id] = FollowerProgress{Offset(-1), now, now, Offset(-1), Offset(-1)};
        }
      }
    } else {
      r.needs_truncation = p.leader >= 0;
    }
  }
  if (IsLeaderLocked()) change.changed |= MaybeAdvanceHighWatermarkLocked();
  change.new_term = !same_term;
  change.is_leader = IsLeaderLocked();
  change.leader_epoch = r.leader_epoch;
  change.changed |= change.new_term;
  return change;
}

std::optional<Epoch> Partition::Detach() {
  absl::MutexLock l(&mu_);
  std::optional<Epoch> led;
  if (IsLeaderLocked()) led = state_.leader_epoch;
  detached_ = true;
  return led;
}

Partition::Snapshot Partition::snapshot() const {
  absl::MutexLock l(&mu_);
  return Snapshot{state_.log,    state_.topic_id,     IsLeaderLocked(),
                  state_.leader, state_.leader_epoch, state_.leader_high_watermark};
}

bool Partition::IsLeader() const {
  absl::MutexLock l(&mu_);
  return IsLeaderLocked();
}

BrokerId Partition::leader() const {
  absl::MutexLock l(&mu_);
  return detached_ ? BrokerId(-1) : state_.leader;
}

std::shared_ptr<storage::Log> Partition::log() const {
  absl::MutexLock l(&mu_);
  return state_.log;
}

bool Partition::IsLeaderLocked() const {
  return !detached_ && state_.leader == options_.local_broker;
}

bool Partition::FollowingLocked(Epoch leader_epoch) const {
  return !detached_ && state_.leader != options_.local_broker && state_.leader.value() >= 0 &&
         state_.leader_epoch == leader_epoch;
}

void Partition::NoteFailure(const storage::Log& log, const absl::Status& status) const {
  if (options_.on_storage_failure) options_.on_storage_failure(log, status);
}

bool Partition::LeaderForAppend(int32_t acks, ProduceResult& result,
                                std::shared_ptr<storage::Log>& log, Epoch& leader_epoch) const {
  const std::string& topic = tp_.topic;
  const int32_t partition = tp_.partition.value();
  absl::MutexLock l(&mu_);
  result.leader_hint = state_.leader.value();
  if (!IsLeaderLocked()) {
    result.error = ErrorCode::kNotLeaderOrFollower;
    result.message =
        absl::StrCat("Broker ", options_.local_broker.value(), " is not the leader of ", topic, "-",
                     partition, "; the leader is broker ", state_.leader.value());
    return false;
  }
  if (acks == -1 && static_cast<int32_t>(state_.isr.size()) < state_.min_insync_replicas) {
    result.error = ErrorCode::kNotEnoughReplicas;
    result.message = absl::StrCat(
        "The number of in-sync replicas of ", topic, "-", partition, " (", state_.isr.size(), ": [",
        Join(state_.isr), "]) is below min.insync.replicas (", state_.min_insync_replicas, ")");
    return false;
  }
  log = state_.log;
  leader_epoch = state_.leader_epoch;
  return true;
}

bool Partition::StillLeaderIn(Epoch leader_epoch, ProduceResult& result) const {
  // Called with leader_isr_update_lock_ held: the role cannot change now.
  absl::MutexLock l(&mu_);
  if (IsLeaderLocked() && state_.leader_epoch == leader_epoch) return true;
  result.error = ErrorCode::kNotLeaderOrFollower;
  result.message = absl::StrCat("Broker ", options_.local_broker.value(), " stopped leading ",
                                tp_.ToString(), " in epoch ", leader_epoch.value());
  return false;
}

ProduceResult Partition::AppendRecordsToLeader(std::string batches, int32_t acks, bool* appended,
                                               storage::AppendOrigin origin) {
  *appended = false;
  ProduceResult result;
  const std::string& topic = tp_.topic;
  const int32_t partition = tp_.partition.value();
  std::shared_ptr<storage::Log> log;
  Epoch leader_epoch;
  if (!LeaderForAppend(acks, result, log, leader_epoch)) return result;
  // Where each batch lies in the buffer; a producer sends one per partition,
  // and then the buffer itself is the batch (no copy).
  std::vector<std::pair<size_t, size_t>> spans;
  record::BatchIterator it(batches);
  record::BatchHeader header;
  std::string_view batch;
  while (it.Next(&header, &batch)) spans.emplace_back(batch.data() - batches.data(), batch.size());
  if (spans.empty() || it.position() != batches.size()) {
    result.error = ErrorCode::kCorruptMessage;
    result.message = absl::StrCat("records of ", topic, "-", partition,
                                  " are not whole v2 record batches (", batches.size(), " bytes)");
    return result;
  }
  std::vector<std::string> parts;
  if (spans.size() == 1) {
    parts.push_back(std::move(batches));
  } else {
    for (const auto& [pos, size] : spans) parts.push_back(batches.substr(pos, size));
  }
  absl::Status failure;
  {
    absl::ReaderMutexLock term(&leader_isr_update_lock_);
    if (!StillLeaderIn(leader_epoch, result)) return result;
    // All batches are checked before any is appended: a bad one changes
    // nothing.
    absl::StatusOr<storage::LogAppendInfo> info = log->AppendAsLeader(&parts, leader_epoch, origin);
    if (info.ok() && info->duplicate) {
      // A retry of batches the log holds: their original offsets; acks=all
      // still waits until the originals are replicated (they may not be
      // yet: the answer the producer lost may have been a timeout).
      result.base_offset = info->first_offset.value();
      // And their append time, as the first answer said it (Kafka answers a
      // duplicate with the original batch's timestamp).
      if (log->config().message_timestamp_type == record::TimestampType::kLogAppendTime) {
        result.log_append_time_ms = info->max_timestamp;
      }
      result.log_start_offset = log->log_start_offset().value();
      result.required_offset = info->last_offset.value() + 1;
      result.leader_epoch = leader_epoch.value();
      return result;
    }
    if (info.ok()) {
      *appended = true;
      result.base_offset = info->first_offset.value();
      // The stored bytes say whether the log stamped its append time
      // (every batch of one append carries the same).
      if (absl::StatusOr<record::BatchHeader> stored = record::ReadBatchHeader(parts.front());
          stored.ok() && stored->timestamp_type() == record::TimestampType::kLogAppendTime) {
        result.log_append_time_ms = stored->max_timestamp;
      }
      result.log_start_offset = log->log_start_offset().value();
      result.required_offset = info->last_offset.value() + 1;
      result.leader_epoch = leader_epoch.value();
      absl::MutexLock l(&mu_);
      if (IsLeaderLocked()) MaybeAdvanceHighWatermarkLocked();
      return result;
    }
    failure = info.status();
  }
  result.error = ErrorCodeFor(failure);
  result.message = absl::StrCat(topic, "-", partition, ": ", std::string(failure.message()));
  NoteFailure(*log, failure);
  return result;
}

ProduceResult Partition::AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                         const record::EndTxnMarker& marker, bool* appended) {
  *appended = false;
  ProduceResult result;
  std::shared_ptr<storage::Log> log;
  Epoch leader_epoch;
  if (!LeaderForAppend(-1, result, log, leader_epoch)) return result;
  absl::Status failure;
  {
    absl::ReaderMutexLock term(&leader_isr_update_lock_);
    if (!StillLeaderIn(leader_epoch, result)) return result;
    absl::StatusOr<storage::LogAppendInfo> info =
        log->AppendTxnMarker(producer_id, producer_epoch, marker, leader_epoch);
    if (info.ok()) {
      *appended = true;
      result.base_offset = info->first_offset.value();
      result.log_start_offset = log->log_start_offset().value();
      result.required_offset = info->last_offset.value() + 1;
      result.leader_epoch = leader_epoch.value();
      absl::MutexLock l(&mu_);
      if (IsLeaderLocked()) MaybeAdvanceHighWatermarkLocked();
      return result;
    }
    failure = info.status();
  }
  result.error = ErrorCodeFor(failure);
  result.message = absl::StrCat(tp_.ToString(), ": ", std::string(failure.message()));
  // A refused marker (an old producer or coordinator epoch) is no fault of
  // the log.
  if (failure.code() != absl::StatusCode::kFailedPrecondition) NoteFailure(*log, failure);
  return result;
}

std::optional<ProduceResult> Partition::CheckAcked(Offset required_offset,
                                                   Epoch leader_epoch) const {
  ProduceResult result;
  absl::MutexLock l(&mu_);
  if (!IsLeaderLocked() || state_.leader_epoch != leader_epoch) {
    result.error = ErrorCode::kNotLeaderOrFollower;
    result.message = absl::StrCat("Broker ", options_.local_broker.value(), " stopped leading ",
                                  tp_.ToString(), " in epoch ", leader_epoch.value(),
                                  " before the in-sync replicas had the records; retry");
    return result;
  }
  if (state_.log->high_watermark() < required_offset) return std::nullopt;
  if (static_cast<int32_t>(state_.isr.size()) < state_.min_insync_replicas) {
    result.error = ErrorCode::kNotEnoughReplicasAfterAppend;
    result.message =
        absl::StrCat("The records were written to ", tp_.ToString(), ", but its in-sync replicas [",
                     Join(state_.isr), "] fell below min.insync.replicas (",
                     state_.min_insync_replicas, ") meanwhile");
  }
  return result;
}

OffsetResult Partition::FetchOffsetForTimestamp(const Snapshot& replica, int64_t timestamp,
                                                bool committed) {
  OffsetResult result;
  result.leader_epoch = replica.leader_epoch.value();
  // What the consumer may read: below the high watermark, or below the
  // last stable offset for read_committed.
  const int64_t hw =
      committed ? replica.log->last_stable_offset().value() : replica.log->high_watermark().value();
  // Kafka's special timestamps: -1 LATEST (the high watermark), -2
  // EARLIEST, -3 MAX_TIMESTAMP (the record with the largest timestamp,
  // KIP-734), -4 EARLIEST_LOCAL (KIP-405; every record is local here).
  absl::StatusOr<std::optional<storage::Log::TimestampAndOffset>> found;
  switch (timestamp) {
    case -1:
      result.offset = hw;
      return result;
    case -2:
    case -4:
      result.offset = replica.log->log_start_offset().value();
      return result;
    case -3:
      found = replica.log->MaxTimestampRecord();
      break;
    default:
      if (timestamp < 0) {
        result.error = ErrorCode::kInvalidRequest;
        result.message =
            absl::StrCat("Timestamp ", timestamp,
                         " is not a time: use -1 (latest), -2 (earliest), -3 (the "
                         "record with the largest timestamp), -4 (earliest local) or a time in ms");
        return result;
      }
      found = replica.log->OffsetForTimestamp(timestamp);
  }
  if (!found.ok()) {
    result.error = ErrorCodeFor(found.status());
    result.message = std::string(found.status().message());
  } else if (found->has_value() && (*found)->offset.value() < hw) {
    // Only records consumers can see.
    result.offset = (*found)->offset.value();
    result.timestamp = (*found)->timestamp;
  }
  return result;
}

bool Partition::HasDataAt(Offset offset, bool committed) const {
  absl::MutexLock l(&mu_);
  if (!IsLeaderLocked()) return true;  // answer with the error
  return (committed ? state_.log->last_stable_offset() : state_.log->high_watermark()) > offset;
}

bool Partition::FollowerHasDataAt(Offset offset) const {
  absl::MutexLock l(&mu_);
  if (!IsLeaderLocked()) return true;
  return state_.log->log_end_offset() > offset;
}

bool Partition::LeaderInEpochLocked(Epoch current_leader_epoch, const std::string* offline_why,
                                    ErrorCode* error, std::string* message) const {
  const int32_t broker_id = options_.local_broker.value();
  if (!IsLeaderLocked()) {
    *error = ErrorCode::kNotLeaderOrFollower;
    *message = absl::StrCat("Broker ", broker_id, " is not the leader of ", tp_.ToString());
    return false;
  }
  if (offline_why != nullptr) {
    *error = ErrorCode::kKafkaStorageError;
    *message = absl::StrCat("The leader's replica of ", tp_.ToString(), " on broker ", broker_id,
                            " is offline: ", *offline_why);
    return false;
  }
  // -1: the sender does not know the epoch (a client whose metadata has
  // none); Kafka checks nothing then.
  if (current_leader_epoch.value() >= 0 && current_leader_epoch != state_.leader_epoch) {
    *error = current_leader_epoch < state_.leader_epoch ? ErrorCode::kFencedLeaderEpoch
                                                        : ErrorCode::kUnknownLeaderEpoch;
    *message = absl::StrCat("Leader epoch ", current_leader_epoch.value(), " of ", tp_.ToString(),
                            " is not the leader's ", state_.leader_epoch.value());
    return false;
  }
  return true;
}

Partition::FollowerFetch Partition::UpdateFollowerFetchState(BrokerId replica, Offset fetch_offset,
                                                             Epoch current_leader_epoch,
                                                             const std::string* offline_why,
                                                             Offset follower_log_start_offset) {
  FollowerFetch out;
  FetchResult& result = out.result;
  absl::MutexLock l(&mu_);
  State& r = state_;
  result.leader_hint = r.leader.value();
  if (!LeaderInEpochLocked(current_leader_epoch, offline_why, &result.error, &result.message)) {
    return out;
  }
  auto f = r.followers.find(replica);
  if (f == r.followers.end()) {
    result.error = ErrorCode::kNotLeaderOrFollower;
    result.message =
        absl::StrCat("Broker ", replica.value(), " is not a replica of ", tp_.ToString());
    return out;
  }
  if (follower_log_start_offset != f->second.log_start_offset) {
    f->second.log_start_offset = follower_log_start_offset;
    out.low_watermark_moved = true;
  }
  const Offset leo = r.log->log_end_offset();
  result.log_end_offset = leo.value();
  result.log_start_offset = r.log->log_start_offset().value();
  if (fetch_offset > leo || fetch_offset.value() < result.log_start_offset) {
    result.error = ErrorCode::kOffsetOutOfRange;
    result.message = absl::StrCat("Fetch offset ", fetch_offset.value(), " of ", tp_.ToString(),
                                  " is outside the leader's log [", result.log_start_offset, ", ",
                                  leo.value(), ")");
    result.high_watermark = r.log->high_watermark().value();
    return out;
  }
  const int64_t now = clock_->NowMs();
  FollowerProgress& p = f->second;
  if (fetch_offset >= leo) {
    p.last_caught_up_ms = now;
  } else if (fetch_offset >= p.leader_end_at_last_fetch) {
    p.last_caught_up_ms = std::max(p.last_caught_up_ms, p.last_fetch_ms);
  }
  p.leader_end_at_last_fetch = leo;
  p.last_fetch_ms = now;
  p.log_end_offset = fetch_offset;
  out.high_watermark_moved = MaybeAdvanceHighWatermarkLocked();
  const Offset hw = r.log->high_watermark();
  if (!Contains(r.isr, replica) && !r.pending_isr && fetch_offset >= hw &&
      fetch_offset >= r.epoch_start_offset) {
    std::vector<BrokerId> isr = r.isr;
    isr.push_back(replica);
    LOG(INFO) << "Partition " << tp_.ToString() << ": broker " << replica << " caught up (offset "
              << fetch_offset << "); asking to expand the ISR to [" << Join(isr) << "]";
    ProposeIsrLocked(std::move(isr));
  }
  result.high_watermark = hw.value();
  out.log = r.log;
  return out;
}

EpochEndResult Partition::EndOffsetForEpoch(Epoch current_leader_epoch, Epoch epoch,
                                            const std::string* offline_why) const {
  EpochEndResult result;
  absl::MutexLock l(&mu_);
  if (!LeaderInEpochLocked(current_leader_epoch, offline_why, &result.error, &result.message)) {
    return result;
  }
  storage::EpochEndOffset end = state_.log->EndOffsetForEpoch(epoch);
  result.leader_epoch = end.epoch.value();
  result.end_offset = end.end_offset.value();
  result.log_end_offset = state_.log->log_end_offset().value();
  return result;
}

bool Partition::MaybeAdvanceHighWatermarkLocked() {
  State& r = state_;
  Offset hw = r.log->log_end_offset();
  auto count = [&](BrokerId id) {
    if (id == options_.local_broker) return true;
    auto f = r.followers.find(id);
    if (f == r.followers.end() || f->second.log_end_offset.value() < 0) return false;
    hw = std::min(hw, f->second.log_end_offset);
    return true;
  };
  for (BrokerId id : r.isr) {
    if (!count(id)) return false;  // an ISR member not heard from yet holds it
  }
  if (r.pending_isr) {
    for (BrokerId id : *r.pending_isr) {
      if (!count(id)) return false;
    }
  }
  return r.log->MaybeIncrementHighWatermark(hw);
}

void Partition::ProposeIsrLocked(std::vector<BrokerId> new_isr) {
  state_.pending_isr = std::move(new_isr);
  state_.pending_partition_epoch = state_.partition_epoch;
  state_.pending_maybe_committed = false;
  SendPendingIsrLocked();
}

void Partition::SendPendingIsrLocked() {
  State& r = state_;
  r.pending_sent_ms = clock_->NowMs();
  r.pending_awaiting_answer = true;
  if (options_.alter_partition) {
    options_.alter_partition(IsrChange{tp_, r.topic_id, r.leader_epoch.value(),
                                       r.pending_partition_epoch, Ints(*r.pending_isr)});
  }
}

void Partition::MaybeShrinkIsr() {
  absl::MutexLock l(&mu_);
  State& r = state_;
  if (!IsLeaderLocked()) return;
  const int64_t now = clock_->NowMs();
  if (r.pending_isr) {
    // The outcome is unknown (a timeout): ask again, the same request.
    // If the first one committed, this one is refused and the image
    // settles it.
    if (!r.pending_awaiting_answer && now - r.pending_sent_ms >= 1000) SendPendingIsrLocked();
    return;
  }
  std::vector<BrokerId> keep;
  std::vector<BrokerId> lagging;
  for (BrokerId id : r.isr) {
    auto f = r.followers.find(id);
    const bool lags = id != options_.local_broker && f != r.followers.end() &&
                      now - f->second.last_caught_up_ms > options_.replica_lag_time_max_ms;
    (lags ? lagging : keep).push_back(id);
  }
  if (lagging.empty()) return;
  LOG(INFO) << "Partition " << tp_.ToString() << ": broker(s) " << Join(lagging)
            << " not caught up for over " << options_.replica_lag_time_max_ms
            << " ms; asking to shrink the ISR from [" << Join(r.isr) << "] to [" << Join(keep)
            << "]";
  ProposeIsrLocked(std::move(keep));
}

bool Partition::OnIsrChangeResult(const IsrChange& change, const IsrChangeResult& result,
                                  int* isr_size_change) {
  if (isr_size_change != nullptr) *isr_size_change = 0;
  absl::MutexLock l(&mu_);
  State& r = state_;
  if (!IsLeaderLocked() || r.leader_epoch != Epoch(change.leader_epoch)) return false;
  if (!r.pending_isr || Ints(*r.pending_isr) != change.new_isr ||
      r.pending_partition_epoch != change.partition_epoch) {
    return false;  // an answer to a request already settled
  }
  r.pending_awaiting_answer = false;
  if (result.error != ErrorCode::kNone) {
    LOG(INFO) << "Partition " << tp_.ToString() << ": ISR change to ["
              << absl::StrJoin(change.new_isr, ",") << "] not made: " << result.message;
    switch (result.error) {
      // Refused after the partition epoch check: no send of this request
      // ever committed (one that had would have moved the epoch).
      case ErrorCode::kInvalidRequest:
      case ErrorCode::kIneligibleReplica:
        r.pending_isr.reset();
        break;
      // Refused before the epoch was looked at: proof enough, unless an
      // earlier send may have committed — then wait for the image (a new
      // term, or the partition epoch moving, settles it) or the resend.
      case ErrorCode::kNotController:
      case ErrorCode::kNotLeaderOrFollower:
      case ErrorCode::kFencedLeaderEpoch:
      case ErrorCode::kStaleBrokerEpoch:
      case ErrorCode::kUnknownTopicOrPartition:
        if (!r.pending_maybe_committed) r.pending_isr.reset();
        break;
      // INVALID_UPDATE_VERSION: the partition changed (perhaps by this very
      // request, sent twice); the image will say how. A timeout or a lost
      // answer: unknown, so MaybeShrinkIsr asks again.
      case ErrorCode::kInvalidUpdateVersion:
        break;
      default:
        r.pending_maybe_committed = true;
        break;
    }
    return false;
  }
  // Committed: take it now rather than when the image gets here.
  if (Epoch(result.leader_epoch) == r.leader_epoch && result.partition_epoch > r.partition_epoch) {
    if (isr_size_change != nullptr) {
      *isr_size_change = static_cast<int>(result.isr.size()) - static_cast<int>(r.isr.size());
    }
    r.isr = Brokers(result.isr);
    r.partition_epoch = result.partition_epoch;
    r.pending_isr.reset();
    MaybeAdvanceHighWatermarkLocked();
    return true;
  }
  return false;
}

std::optional<FollowedPartition> Partition::FollowedFrom(BrokerId leader) const {
  absl::MutexLock l(&mu_);
  const State& r = state_;
  if (detached_ || r.leader != leader || leader == options_.local_broker || !r.stopped.empty()) {
    return std::nullopt;
  }
  std::optional<Epoch> latest = r.log->latest_epoch();
  return FollowedPartition{tp_,
                           r.leader_epoch.value(),
                           r.needs_truncation,
                           r.log->log_end_offset().value(),
                           latest ? latest->value() : -1,
                           r.log->log_start_offset().value()};
}

absl::Status Partition::TruncateLocked(Offset offset, bool repair) {
  State& r = state_;
  const Offset hw = r.log->high_watermark();
  if (offset < hw && !r.unclean_allowed && !repair) {
    r.stopped = absl::StrCat(
        "Partition ", tp_.ToString(), ": the leader (broker ", r.leader.value(), ", epoch ",
        r.leader_epoch.value(), ") would have this replica truncate to ", offset.value(),
        ", below its high watermark ", hw.value(), ": records ", offset.value(), "..",
        hw.value() - 1,
        " were acknowledged and exist only here. Not truncating; this replica stops "
        "following until the leader changes (or set unclean.leader.election.enable=true "
        "on the topic to accept the loss)");
    LOG(ERROR) << r.stopped;
    return absl::FailedPreconditionError(r.stopped);
  }
  if (offset < hw && !repair) {
    LOG(WARNING) << "Partition " << tp_.ToString() << ": truncating below the high watermark " << hw
                 << " to " << offset << " (unclean.leader.election.enable=true)";
  }
  if (offset < r.log->log_end_offset()) {
    LOG(INFO) << "Partition " << tp_.ToString() << ": truncating the divergent suffix from "
              << r.log->log_end_offset() << " to " << offset << " (leader " << r.leader
              << ", epoch " << r.leader_epoch << ")";
  }
  // Also at the log end: it drops an epoch this replica led without writing.
  absl::Status s = r.log->TruncateTo(offset);
  if (!s.ok()) LOG(ERROR) << "Partition " << tp_.ToString() << ": truncation failed: " << s;
  return s;
}

absl::StatusOr<bool> Partition::ApplyEpochEnd(Epoch leader_epoch, Epoch asked_epoch,
                                              const EpochEndResult& answer,
                                              std::optional<Offset> repair_at) {
  absl::MutexLock l(&mu_);
  State& r = state_;
  if (!FollowingLocked(leader_epoch) || !r.needs_truncation) return false;
  const Offset leo = r.log->log_end_offset();
  Offset target = leo;
  bool done = true;
  if (answer.leader_epoch < 0) {
    // The leader cannot say (it knows no epoch at or below ours): keep only
    // what is committed, as Kafka does, and no more than the leader has.
    target = std::min({leo, r.log->high_watermark(), Offset(answer.log_end_offset)});
    if (asked_epoch.value() < 0) target = leo;  // an empty log: nothing to compare
  } else if (Epoch(answer.leader_epoch) == asked_epoch) {
    target = std::min(leo, Offset(answer.end_offset));
  } else {
    // The leader never had our last epoch: cut back to where its largest
    // earlier epoch ends (in both logs), then ask again about what is left.
    target = std::min(leo, Offset(answer.end_offset));
    storage::EpochEndOffset own = r.log->EndOffsetForEpoch(Epoch(answer.leader_epoch));
    if (own.end_offset.value() >= 0) target = std::min(target, own.end_offset);
    done = target == leo;
  }
  // A damaged replica being rebuilt: the leader answered, so its copy is
  // online; cut at the damage too (below the high watermark: those records
  // are damaged here and whole there).
  if (repair_at.has_value()) target = std::min(target, *repair_at);
  if (absl::Status s = TruncateLocked(target, repair_at.has_value()); !s.ok()) return s;
  r.needs_truncation = !done;
  if (repair_at.has_value()) {
    LOG(WARNING) << "Replica " << tp_.ToString() << " repaired: cut at " << target
                 << "; it fetches the rest from leader " << r.leader;
  }
  return true;
}

absl::StatusOr<bool> Partition::AppendFetched(Epoch leader_epoch, Offset fetch_offset,
                                              std::string_view records,
                                              Offset leader_high_watermark,
                                              Offset leader_log_start_offset) {
  std::shared_ptr<storage::Log> log;
  absl::Status status;
  {
    absl::MutexLock l(&mu_);
    State& r = state_;
    if (!FollowingLocked(leader_epoch) || r.needs_truncation ||
        r.log->log_end_offset() != fetch_offset) {
      return false;  // the partition moved on; the next fetch sees it
    }
    r.leader_high_watermark = leader_high_watermark;
    if (!records.empty()) {
      absl::StatusOr<record::BatchHeader> first = record::ReadBatchHeader(records);
      if (first.ok() && r.log->log_end_offset() == r.log->log_start_offset() &&
          first->base_offset < fetch_offset && first->last_offset() >= fetch_offset) {
        // An empty log starting inside the leader's first batch (the leader's
        // log start, after a DeleteRecords, may fall inside a batch): the log
        // starts over at that batch (as Kafka's follower does), and the
        // leader's log start comes back with this answer.
        status = r.log->TruncateFullyAndStartAt(first->base_offset);
      }
      if (status.ok()) {
        absl::StatusOr<storage::LogAppendInfo> info = r.log->AppendAsFollower(records);
        status = info.status();
      }
    }
    if (status.ok()) {
      const Offset hw = std::min(leader_high_watermark, r.log->log_end_offset());
      const bool hw_moved = r.log->MaybeIncrementHighWatermark(hw);
      bool start_moved = false;
      if (leader_log_start_offset > r.log->log_start_offset()) {
        // The leader's retention or a DeleteRecords moved its log start.
        const Offset before = r.log->log_start_offset();
        absl::StatusOr<Offset> start =
            r.log->MaybeIncrementLogStartOffset(leader_log_start_offset, false);
        status = start.status();
        start_moved = start.ok() && *start != before;
      }
      if (status.ok()) return hw_moved || start_moved || r.log->log_end_offset() != fetch_offset;
    }
    log = r.log;
  }
  // Outside the lock: a disk failure takes the directory offline, which
  // calls back into the ReplicaManager.
  NoteFailure(*log, status);
  return status;
}

bool Partition::TruncateToLeaderEnd(Epoch leader_epoch, Offset leader_end) {
  absl::MutexLock l(&mu_);
  if (!FollowingLocked(leader_epoch)) return false;
  LOG(WARNING) << "Partition " << tp_.ToString() << ": the leader's log ends at " << leader_end
               << ", below this replica's " << state_.log->log_end_offset()
               << " (an unclean election?)";
  // Logged; the next fetch retries.
  return TruncateLocked(leader_end, /*repair=*/false).ok();
}

bool Partition::StartAtLeaderLogStart(Epoch leader_epoch, Offset leader_log_start_offset) {
  std::shared_ptr<storage::Log> log;
  absl::Status s;
  {
    absl::MutexLock l(&mu_);
    if (!FollowingLocked(leader_epoch) || leader_log_start_offset <= state_.log->log_end_offset()) {
      return false;
    }
    LOG(INFO) << "Partition " << tp_.ToString() << ": the leader's log starts at "
              << leader_log_start_offset << ", past this replica's end "
              << state_.log->log_end_offset() << "; restarting the log there";
    s = state_.log->TruncateFullyAndStartAt(leader_log_start_offset);
    if (s.ok()) return true;
    log = state_.log;
  }
  LOG(ERROR) << "Partition " << tp_.ToString() << ": cannot restart the log at "
             << leader_log_start_offset << ": " << s;
  // Outside the lock: a disk failure takes the directory offline.
  NoteFailure(*log, s);
  return false;
}

DeleteRecordsResult Partition::DeleteRecords(Offset offset) {
  DeleteRecordsResult result;
  std::shared_ptr<storage::Log> log;
  absl::Status status;
  {
    absl::MutexLock l(&mu_);
    State& r = state_;
    if (r.leader != options_.local_broker) {
      result.error = ErrorCode::kNotLeaderOrFollower;
      result.message = absl::StrCat("Broker ", options_.local_broker.value(),
                                    " is not the leader of ", tp_.ToString());
      return result;
    }
    if (r.log->config().cleanup_policy == storage::CleanupPolicy::kCompact) {
      // Kafka's Partition.deleteRecordsOnLeader: only logs that delete.
      result.error = ErrorCode::kPolicyViolation;
      result.message = absl::StrCat("Records of partition ", tp_.ToString(),
                                    " can not be deleted due to the configured policy");
      return result;
    }
    const Offset hw = r.log->high_watermark();
    if (offset == Offset(-1)) offset = hw;
    result.offset = offset.value();
    if (offset < Offset(0)) {
      result.error = ErrorCode::kOffsetOutOfRange;
      result.message = absl::StrCat("The offset ", offset.value(), " for partition ",
                                    tp_.ToString(), " is not valid");
      return result;
    }
    if (offset > hw) {
      result.error = ErrorCode::kOffsetOutOfRange;
      result.message = absl::StrCat("Cannot increment the log start offset to ", offset.value(),
                                    " of partition ", tp_.ToString(),
                                    " since it is larger than the high watermark ", hw.value());
      return result;
    }
    absl::StatusOr<Offset> start = r.log->MaybeIncrementLogStartOffset(offset, true);
    status = start.status();
    if (status.ok()) return LowWatermarkLocked(offset);
    log = r.log;
  }
  NoteFailure(*log, status);
  result.error = ErrorCodeFor(status);
  result.message = std::string(status.message());
  return result;
}

DeleteRecordsResult Partition::LowWatermark() const {
  absl::MutexLock l(&mu_);
  if (state_.leader != options_.local_broker) {
    DeleteRecordsResult result;
    result.error = ErrorCode::kNotLeaderOrFollower;
    result.message = absl::StrCat("Broker ", options_.local_broker.value(),
                                  " is not the leader of ", tp_.ToString());
    return result;
  }
  return LowWatermarkLocked(Offset(-1));
}

DeleteRecordsResult Partition::LowWatermarkLocked(Offset offset) const {
  const State& r = state_;
  DeleteRecordsResult result;
  result.offset = offset.value();
  Offset low = r.log->log_start_offset();
  for (BrokerId b : r.isr) {
    if (b == options_.local_broker) continue;
    auto f = r.followers.find(b);
    low = std::min(low, f == r.followers.end() ? Offset(-1) : f->second.log_start_offset);
  }
  result.low_watermark = low.value();
  return result;
}

void Partition::RequestTruncation() {
  absl::MutexLock l(&mu_);
  state_.needs_truncation = true;
}

}  // namespace strata::replication
