#include "broker/replication/replica_manager.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::replication {

ReplicaManager::ReplicaManager(storage::LogManager* logs, ReplicaManagerOptions options)
    : broker_id_(options.broker_id),
      logs_(logs),
      options_(std::move(options)),
      clock_(options_.clock),
      partition_options_{
          BrokerId(broker_id_), options_.replica_lag_time_max_ms, options_.alter_partition,
          [this](const storage::Log& log, const absl::Status& status) { NoteFailure(log, status); },
          clock_} {
  CHECK(clock_ != nullptr) << "ReplicaManagerOptions::clock is required";
  logs_->SetDirFailureListener([this](const std::vector<TopicPartition>& partitions,
                                      const std::string& why) { OnDirOffline(partitions, why); });
  // Directories that failed while loading, before this manager existed (so
  // nothing waits on their partitions yet: only the controller is told).
  for (const auto& [partitions, why] : logs_->OfflineDirPartitions()) {
    if (TakeOffline(partitions, why) && options_.on_offline) options_.on_offline();
  }
}

void ReplicaManager::SetCaughtUpOffset(int64_t offset) {
  absl::MutexLock l(&mu_);
  caught_up_offset_ = offset;
}

std::shared_ptr<const metadata::MetadataImage> ReplicaManager::image() const {
  absl::MutexLock l(&mu_);
  return image_;
}

std::shared_ptr<Partition> ReplicaManager::Find(const TopicPartition& tp,
                                                std::optional<std::string>* offline_why) const {
  absl::MutexLock l(&mu_);
  if (offline_why != nullptr) {
    auto off = offline_.find(tp);
    *offline_why = off == offline_.end() ? std::nullopt : std::optional(off->second.why);
  }
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Partition>> ReplicaManager::Partitions(Which which) const {
  absl::MutexLock l(&mu_);
  std::vector<std::shared_ptr<Partition>> out;
  out.reserve(partitions_.size());
  for (const auto& [tp, part] : partitions_) {
    auto off = which == Which::kAll ? offline_.end() : offline_.find(tp);
    if (off == offline_.end() || (which == Which::kFollowable && off->second.repairing)) {
      out.push_back(part);
    }
  }
  return out;
}

std::shared_ptr<Partition> ReplicaManager::Lookup(const std::string& topic, int32_t partition,
                                                  Partition::Snapshot* out, ErrorCode* error,
                                                  std::string* message, int32_t* leader_hint) {
  const TopicPartition tp{topic, PartitionId(partition)};
  std::shared_ptr<Partition> part;
  int32_t leader = -1;
  {
    absl::MutexLock l(&mu_);
    if (image_ == nullptr) {
      // Not yet registered and caught up with the metadata log: this broker
      // knows no roles yet (retriable, so clients look elsewhere).
      *error = ErrorCode::kNotLeaderOrFollower;
      *message = absl::StrCat("Broker ", broker_id_, " is starting and serves no partition yet");
      return nullptr;
    }
    const metadata::PartitionInfo* info = image_->FindPartition(topic, partition);
    if (info == nullptr) {
      *error = ErrorCode::kUnknownTopicOrPartition;
      *message = image_->FindTopic(topic)
                     ? absl::StrCat("Topic ", topic, " has no partition ", partition)
                     : absl::StrCat("Topic ", topic, " does not exist");
      return nullptr;
    }
    *leader_hint = leader = info->leader;
    if (auto off = offline_.find(tp); off != offline_.end() && info->leader == broker_id_) {
      *error = ErrorCode::kKafkaStorageError;
      *message = absl::StrCat("The replica of ", topic, "-", partition, " on broker ", broker_id_,
                              " is offline (", off->second.why, "); retry on another replica");
      return nullptr;
    }
    if (auto it = partitions_.find(tp); it != partitions_.end()) part = it->second;
  }
  if (part != nullptr) {
    *out = part->snapshot();
    if (out->is_leader) return part;
  }
  *error = leader < 0 ? ErrorCode::kLeaderNotAvailable : ErrorCode::kNotLeaderOrFollower;
  *message = leader < 0 ? absl::StrCat("Partition ", topic, "-", partition, " has no leader")
                        : absl::StrCat("Broker ", broker_id_, " is not the leader of ", topic, "-",
                                       partition, "; the leader is broker ", leader);
  return nullptr;
}

ProduceResult ReplicaManager::Append(const std::string& topic, int32_t partition,
                                     std::string batches, int32_t acks,
                                     storage::AppendOrigin origin) {
  ProduceResult result;
  if (acks != 0 && acks != 1 && acks != -1) {
    result.error = ErrorCode::kInvalidRequiredAcks;
    result.message = absl::StrCat("acks must be 0, 1 or -1 (all), not ", acks);
    return result;
  }
  Partition::Snapshot looked_up;
  std::shared_ptr<Partition> part =
      Lookup(topic, partition, &looked_up, &result.error, &result.message, &result.leader_hint);
  if (part == nullptr) return result;
  const int32_t leader_hint = result.leader_hint;
  bool appended = false;
  result = part->AppendRecordsToLeader(std::move(batches), acks, &appended, origin);
  result.leader_hint = leader_hint;
  if (appended) Changed(part->topic_partition());
  return result;
}

ProduceResult ReplicaManager::AppendTxnMarker(const std::string& topic, int32_t partition,
                                              int64_t producer_id, int16_t producer_epoch,
                                              const record::EndTxnMarker& marker) {
  ProduceResult result;
  Partition::Snapshot looked_up;
  std::shared_ptr<Partition> part =
      Lookup(topic, partition, &looked_up, &result.error, &result.message, &result.leader_hint);
  if (part == nullptr) return result;
  const int32_t leader_hint = result.leader_hint;
  bool appended = false;
  result = part->AppendTxnMarker(producer_id, producer_epoch, marker, &appended);
  result.leader_hint = leader_hint;
  if (appended) Changed(part->topic_partition());
  return result;
}

ProducersResult ReplicaManager::DescribeProducers(const std::string& topic, int32_t partition) {
  ProducersResult result;
  Partition::Snapshot looked_up;
  int32_t leader_hint = -1;
  if (Lookup(topic, partition, &looked_up, &result.error, &result.message, &leader_hint) ==
      nullptr) {
    return result;
  }
  result.producers = looked_up.log->ActiveProducers();
  return result;
}

std::optional<ProduceResult> ReplicaManager::CheckAcked(const std::string& topic, int32_t partition,
                                                        int64_t required_offset,
                                                        int32_t leader_epoch) {
  std::shared_ptr<Partition> part = Find(TopicPartition{topic, PartitionId(partition)});
  std::optional<ProduceResult> result;
  if (part != nullptr) {
    result = part->CheckAcked(Offset(required_offset), Epoch(leader_epoch));
  } else {
    result.emplace();
    result->error = ErrorCode::kNotLeaderOrFollower;
    result->message = absl::StrCat("Broker ", broker_id_, " stopped leading ", topic, "-",
                                   partition, " in epoch ", leader_epoch,
                                   " before the in-sync replicas had the records; retry");
  }
  if (result.has_value() && result->error == ErrorCode::kNotLeaderOrFollower) {
    absl::MutexLock l(&mu_);
    const metadata::PartitionInfo* info =
        image_ ? image_->FindPartition(topic, partition) : nullptr;
    result->leader_hint = info ? info->leader : -1;
  }
  return result;
}

FetchResult ReplicaManager::Read(const std::string& topic, int32_t partition, int64_t offset,
                                 int32_t max_bytes, ReadLimit limit, int32_t current_leader_epoch) {
  FetchResult result;
  Partition::Snapshot replica;
  if (!Lookup(topic, partition, &replica, &result.error, &result.message, &result.leader_hint)) {
    return result;
  }
  if (current_leader_epoch >= 0 && current_leader_epoch != replica.leader_epoch.value()) {
    result.error = current_leader_epoch < replica.leader_epoch.value()
                       ? ErrorCode::kFencedLeaderEpoch
                       : ErrorCode::kUnknownLeaderEpoch;
    result.message = absl::StrCat("Leader epoch ", current_leader_epoch, " of ", topic, "-",
                                  partition, " is not the leader's ", replica.leader_epoch.value());
    return result;
  }
  const Offset hw = replica.log->high_watermark();
  // Read after the high watermark, which may have moved since: not past it.
  const Offset lso = std::min(replica.log->last_stable_offset(), hw);
  result.high_watermark = hw.value();
  result.last_stable_offset = lso.value();
  result.log_start_offset = replica.log->log_start_offset().value();
  result.log_end_offset = replica.log->log_end_offset().value();
  if (max_bytes <= 0) return result;
  const Offset max_offset = limit == ReadLimit::kLogEnd             ? replica.log->log_end_offset()
                            : limit == ReadLimit::kLastStableOffset ? lso
                                                                    : hw;
  if (offset > max_offset.value() && offset <= result.log_end_offset)
    return result;  // not committed
  ReadInto(TopicPartition{topic, PartitionId(partition)}, replica.log, offset, max_bytes,
           max_offset, &result);
  if (limit == ReadLimit::kLastStableOffset && result.error == ErrorCode::kNone &&
      !result.records.empty()) {
    // The transactions overlapping what was read, not all up to the last
    // stable offset: a consumer far behind gets a bounded list.
    int64_t read_end = offset;
    record::BatchIterator batches(result.records);
    record::BatchHeader header;
    std::string_view bytes;
    while (batches.Next(&header, &bytes)) read_end = header.next_offset().value();
    absl::StatusOr<std::vector<storage::AbortedTxn>> aborted =
        replica.log->CollectAbortedTxns(Offset(offset), std::min(Offset(read_end), lso));
    if (!aborted.ok()) {
      result.records.clear();
      result.error = ErrorCode::kKafkaStorageError;
      result.message = absl::StrCat("Cannot read the aborted transactions of ", topic, "-",
                                    partition, ": ", aborted.status().message());
      return result;
    }
    result.aborted_transactions.reserve(aborted->size());
    for (const storage::AbortedTxn& txn : *aborted) {
      result.aborted_transactions.push_back({txn.producer_id, txn.first_offset.value()});
    }
  }
  return result;
}

OffsetResult ReplicaManager::ListOffset(const std::string& topic, int32_t partition,
                                        int64_t timestamp, bool committed) {
  OffsetResult result;
  Partition::Snapshot replica;
  if (!Lookup(topic, partition, &replica, &result.error, &result.message, &result.leader_hint)) {
    return result;
  }
  const int32_t leader_hint = result.leader_hint;
  result = Partition::FetchOffsetForTimestamp(replica, timestamp, committed);
  result.leader_hint = leader_hint;
  return result;
}

bool ReplicaManager::HasDataAt(const std::string& topic, int32_t partition, int64_t offset,
                               ReadLimit limit) {
  std::shared_ptr<Partition> part = Find(TopicPartition{topic, PartitionId(partition)});
  // none: answer with the error
  return part == nullptr || part->HasDataAt(Offset(offset), limit == ReadLimit::kLastStableOffset);
}

FetchResult ReplicaManager::ReadForFollower(int32_t replica_id, const std::string& topic,
                                            int32_t partition, int64_t fetch_offset,
                                            int32_t current_leader_epoch, int32_t max_bytes,
                                            int64_t follower_log_start_offset) {
  const TopicPartition tp{topic, PartitionId(partition)};
  std::optional<std::string> offline_why;
  std::shared_ptr<Partition> part = Find(tp, &offline_why);
  if (part == nullptr) {
    FetchResult result;
    result.error = ErrorCode::kUnknownTopicOrPartition;
    result.message = absl::StrCat("Broker ", broker_id_, " has no replica of ", tp.ToString());
    return result;
  }
  Partition::FollowerFetch fetch = part->UpdateFollowerFetchState(
      BrokerId(replica_id), Offset(fetch_offset), Epoch(current_leader_epoch),
      offline_why ? &*offline_why : nullptr, Offset(follower_log_start_offset));
  if (fetch.high_watermark_moved || fetch.low_watermark_moved) Changed(tp);
  FetchResult& result = fetch.result;
  if (fetch.log == nullptr || max_bytes <= 0 || fetch_offset >= result.log_end_offset) {
    return std::move(result);
  }
  // KIP-73: a throttled replica outside the ISR waits while the leader's
  // replication quota is exceeded. The ISR is the image's (the one the
  // controller committed); the quota took the image's settings when it was
  // applied.
  const bool throttled = leader_quota_.IsThrottled(tp);
  if (throttled) {
    std::shared_ptr<const metadata::MetadataImage> image = this->image();
    const metadata::PartitionInfo* info = image ? image->FindPartition(topic, partition) : nullptr;
    const bool in_sync = info != nullptr && std::find(info->isr.begin(), info->isr.end(),
                                                      replica_id) != info->isr.end();
    if (leader_quota_.ShouldThrottle(tp, in_sync)) return std::move(result);
  }
  ReadInto(tp, fetch.log, fetch_offset, max_bytes, fetch.log->log_end_offset(), &result);
  // Every throttled partition's bytes count, in sync or not (as Kafka's
  // leader counts its throttled partitions' share of each response).
  if (throttled) leader_quota_.Record(static_cast<int64_t>(result.records.size()));
  return std::move(result);
}

bool ReplicaManager::FollowerHasDataAt(int32_t replica_id, const std::string& topic,
                                       int32_t partition, int64_t offset) {
  const TopicPartition tp{topic, PartitionId(partition)};
  std::shared_ptr<Partition> part = Find(tp);
  if (part == nullptr) return true;  // none: answer with the error
  if (!part->FollowerHasDataAt(Offset(offset))) return false;
  // Data the quota would hold back is no reason to answer a parked fetch
  // early: the in-sync partitions sharing it would lose their long poll.
  if (!leader_quota_.IsThrottled(tp)) return true;
  std::shared_ptr<const metadata::MetadataImage> image = this->image();
  const metadata::PartitionInfo* info = image ? image->FindPartition(topic, partition) : nullptr;
  const bool in_sync = info != nullptr &&
                       std::find(info->isr.begin(), info->isr.end(), replica_id) != info->isr.end();
  return !leader_quota_.ShouldThrottle(tp, in_sync);
}

EpochEndResult ReplicaManager::EndOffsetForEpoch(const std::string& topic, int32_t partition,
                                                 int32_t current_leader_epoch, int32_t epoch) {
  const TopicPartition tp{topic, PartitionId(partition)};
  std::optional<std::string> offline_why;
  std::shared_ptr<Partition> part = Find(tp, &offline_why);
  if (part == nullptr) {
    EpochEndResult result;
    result.error = ErrorCode::kUnknownTopicOrPartition;
    result.message = absl::StrCat("Broker ", broker_id_, " has no replica of ", tp.ToString());
    return result;
  }
  return part->EndOffsetForEpoch(Epoch(current_leader_epoch), Epoch(epoch),
                                 offline_why ? &*offline_why : nullptr);
}

std::vector<int32_t> ReplicaManager::LeadersFollowed() const {
  std::set<int32_t> leaders;
  for (const auto& part : Partitions(Which::kAll)) {
    const BrokerId leader = part->leader();
    if (leader.value() >= 0 && leader != BrokerId(broker_id_)) leaders.insert(leader.value());
  }
  return {leaders.begin(), leaders.end()};
}

std::vector<FollowedPartition> ReplicaManager::FollowedFrom(int32_t leader) const {
  std::vector<std::shared_ptr<Partition>> candidates;
  bool stale = false;
  uint64_t progress = 0;
  {
    absl::MutexLock l(&mu_);
    stale = followed_progress_ != role_progress_;
    progress = role_progress_;
    if (!stale) {
      auto it = followed_.find(leader);
      if (it != followed_.end()) {
        candidates.reserve(it->second.size());
        for (const std::weak_ptr<Partition>& weak : it->second) {
          if (std::shared_ptr<Partition> part = weak.lock()) candidates.push_back(std::move(part));
        }
      }
    }
  }
  if (stale) {
    // Offline replicas fetch nothing, except damaged ones being rebuilt.
    // Grouped outside mu_: a partition's leader is read under its own lock.
    absl::flat_hash_map<int32_t, std::vector<std::weak_ptr<Partition>>> by_leader;
    for (std::shared_ptr<Partition>& part : Partitions(Which::kFollowable)) {
      const BrokerId of = part->leader();
      if (of.value() < 0 || of == BrokerId(broker_id_)) continue;
      by_leader[of.value()].push_back(part);
      if (of == BrokerId(leader)) candidates.push_back(std::move(part));
    }
    absl::MutexLock l(&mu_);
    // Kept only if no role change came meanwhile (the next call regroups).
    if (role_progress_ == progress) {
      followed_.swap(by_leader);
      followed_progress_ = progress;
    }
  }
  std::vector<FollowedPartition> out;
  out.reserve(candidates.size());
  for (const std::shared_ptr<Partition>& part : candidates) {
    if (std::optional<FollowedPartition> f = part->FollowedFrom(BrokerId(leader))) {
      out.push_back(std::move(*f));
    }
  }
  return out;
}

absl::Status ReplicaManager::ApplyEpochEnd(const TopicPartition& tp, int32_t leader_epoch,
                                           int32_t asked_epoch, const EpochEndResult& answer) {
  {
    // Held throughout, with the offline replicas: a repair (MaybeRepairAndScrub
    // asking for a cut) and its completion here never interleave.
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) return absl::OkStatus();
    auto off = offline_.find(tp);
    const bool repairing = off != offline_.end() && off->second.repairing;
    absl::StatusOr<bool> applied = it->second->ApplyEpochEnd(
        Epoch(leader_epoch), Epoch(asked_epoch), answer,
        repairing ? std::optional<Offset>(Offset(*off->second.damaged_at)) : std::nullopt);
    if (!applied.ok()) return applied.status();
    if (!*applied) return absl::OkStatus();
    if (repairing) {
      offline_.erase(off);  // followable and online again
      RolesChangedLocked();
    } else {
      ++progress_;
    }
  }
  Notify({tp});
  return absl::OkStatus();
}

absl::Status ReplicaManager::AppendFetched(const TopicPartition& tp, int32_t leader_epoch,
                                           int64_t fetch_offset, std::string_view records,
                                           int64_t leader_high_watermark,
                                           int64_t leader_log_start_offset) {
  std::optional<std::string> offline_why;
  std::shared_ptr<Partition> part = Find(tp, &offline_why);
  if (part == nullptr || offline_why.has_value()) {
    return absl::OkStatus();  // the partition moved on; the next fetch sees it
  }
  absl::StatusOr<bool> changed =
      part->AppendFetched(Epoch(leader_epoch), Offset(fetch_offset), records,
                          Offset(leader_high_watermark), Offset(leader_log_start_offset));
  if (!changed.ok()) return changed.status();
  if (*changed) Notify({tp});
  return absl::OkStatus();
}

void ReplicaManager::TruncateToLeaderEnd(const TopicPartition& tp, int32_t leader_epoch,
                                         int64_t leader_end) {
  std::shared_ptr<Partition> part = Find(tp);
  if (part != nullptr && part->TruncateToLeaderEnd(Epoch(leader_epoch), Offset(leader_end))) {
    Notify({tp});
  }
}

bool ReplicaManager::StartAtLeaderLogStart(const TopicPartition& tp, int32_t leader_epoch,
                                           int64_t leader_log_start_offset) {
  std::shared_ptr<Partition> part = Find(tp);
  if (part == nullptr ||
      !part->StartAtLeaderLogStart(Epoch(leader_epoch), Offset(leader_log_start_offset))) {
    return false;
  }
  Notify({tp});
  return true;
}

DeleteRecordsResult ReplicaManager::DeleteRecords(const std::string& topic, int32_t partition,
                                                  int64_t offset) {
  DeleteRecordsResult result;
  Partition::Snapshot replica;
  std::shared_ptr<Partition> part =
      Lookup(topic, partition, &replica, &result.error, &result.message, &result.leader_hint);
  if (part == nullptr) return result;
  const int32_t leader_hint = result.leader_hint;
  result = part->DeleteRecords(Offset(offset));
  result.leader_hint = leader_hint;
  if (result.error == ErrorCode::kNone) Changed(part->topic_partition());
  return result;
}

DeleteRecordsResult ReplicaManager::LowWatermark(const std::string& topic, int32_t partition) {
  DeleteRecordsResult result;
  Partition::Snapshot replica;
  std::shared_ptr<Partition> part =
      Lookup(topic, partition, &replica, &result.error, &result.message, &result.leader_hint);
  if (part == nullptr) return result;
  const int32_t leader_hint = result.leader_hint;
  result = part->LowWatermark();
  result.leader_hint = leader_hint;
  return result;
}

void ReplicaManager::MaybeShrinkIsr() {
  // An offline leader's followers cannot fetch: no reason to drop them.
  for (const auto& part : Partitions(Which::kOnline)) part->MaybeShrinkIsr();
}

void ReplicaManager::OnIsrChangeResult(const IsrChange& change, const IsrChangeResult& result) {
  std::shared_ptr<Partition> part = Find(change.tp);
  int size_change = 0;
  if (part != nullptr && part->OnIsrChangeResult(change, result, &size_change)) {
    if (options_.on_isr_changed && size_change != 0) options_.on_isr_changed(size_change);
    Changed(change.tp);
  }
}

int ReplicaManager::LeaderCount() const {
  int n = 0;
  for (const auto& part : Partitions(Which::kAll)) n += part->IsLeader() ? 1 : 0;
  return n;
}

std::vector<LocalReplicaStats> ReplicaManager::LocalReplicas() const {
  std::vector<LocalReplicaStats> out;
  for (const auto& part : Partitions(Which::kOnline)) {
    const Partition::Snapshot snap = part->snapshot();
    if (snap.log == nullptr) continue;
    const TopicPartition& tp = part->topic_partition();
    out.push_back(LocalReplicaStats{
        .topic = tp.topic,
        .partition = tp.partition.value(),
        .is_leader = snap.is_leader,
        .size_bytes = snap.log->size_bytes(),
        .log_start_offset = snap.log->log_start_offset().value(),
        .log_end_offset = snap.log->log_end_offset().value(),
        .high_watermark = snap.log->high_watermark().value(),
        .leader_high_watermark = snap.leader_high_watermark.value(),
    });
  }
  return out;
}

int64_t ReplicaManager::ActiveProducerIds() const {
  int64_t n = 0;
  for (const auto& part : Partitions(Which::kOnline)) {
    const Partition::Snapshot snap = part->snapshot();
    if (snap.is_leader && snap.log != nullptr) {
      n += static_cast<int64_t>(snap.log->ActiveProducers().size());
    }
  }
  return n;
}

void ReplicaManager::Changed(const TopicPartition& tp) {
  {
    absl::MutexLock l(&mu_);
    ++progress_;
  }
  Notify({tp});
}

void ReplicaManager::Notify(const std::vector<TopicPartition>& tps) const {
  if (!options_.on_partition_change) return;
  for (const TopicPartition& tp : tps) options_.on_partition_change(tp);
}

uint64_t ReplicaManager::WaitForProgress(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return progress_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return progress_;
}

void ReplicaManager::Nudge() {
  absl::MutexLock l(&mu_);
  RolesChangedLocked();
}

uint64_t ReplicaManager::progress() const {
  absl::MutexLock l(&mu_);
  return progress_;
}

uint64_t ReplicaManager::WaitForRoleChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto changed = [this, seen]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return role_progress_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return role_progress_;
}

uint64_t ReplicaManager::role_progress() const {
  absl::MutexLock l(&mu_);
  return role_progress_;
}

}  // namespace strata::replication
