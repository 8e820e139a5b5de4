#include "broker/replication/replica_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/storage/record_batch.h"
#include "glog/logging.h"

namespace strata::replication {

v1::ErrorCode ErrorCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return v1::NONE;
    case absl::StatusCode::kResourceExhausted:
      return v1::MESSAGE_TOO_LARGE;
    case absl::StatusCode::kDataLoss:
      return v1::CORRUPT_MESSAGE;
    case absl::StatusCode::kInvalidArgument:
      return v1::INVALID_RECORD;
    case absl::StatusCode::kOutOfRange:
      return v1::OFFSET_OUT_OF_RANGE;
    case absl::StatusCode::kUnimplemented:
      return v1::UNSUPPORTED_VERSION;
    default:
      return v1::KAFKA_STORAGE_ERROR;
  }
}

ReplicaManager::ReplicaManager(
    int32_t broker_id, storage::LogManager* logs,
    std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas)
    : broker_id_(broker_id), logs_(logs), min_insync_replicas_(std::move(min_insync_replicas)) {}

void ReplicaManager::SetCaughtUpOffset(int64_t offset) {
  absl::MutexLock l(&mu_);
  caught_up_offset_ = offset;
}

void ReplicaManager::OnMetadata(const std::shared_ptr<const metadata::MetadataImage>& image) {
  bool caught_up = false;
  {
    absl::MutexLock l(&mu_);
    caught_up = image->offset() >= caught_up_offset_;
  }
  absl::flat_hash_map<TopicPartition, Replica> next;
  for (const auto& [name, topic] : image->topics()) {
    for (const auto& [id, p] : topic.partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), broker_id_) == p.replicas.end()) continue;
      TopicPartition tp{name, PartitionId(id)};
      absl::StatusOr<std::shared_ptr<storage::Log>> log = logs_->GetOrCreate(tp, topic.topic_id);
      if (absl::IsFailedPrecondition(log.status())) {
        // The log on disk is another incarnation of this topic name.
        if (!caught_up) continue;  // the image is still replaying the past
        LOG(WARNING) << "Deleting the log of " << tp.ToString()
                     << " left by an earlier topic: " << log.status();
        if (absl::Status s = logs_->Delete(tp); !s.ok()) LOG(ERROR) << s;
        log = logs_->GetOrCreate(tp, topic.topic_id);
      }
      if (!log.ok()) {
        LOG(ERROR) << "Cannot open the log of " << tp.ToString() << ": " << log.status();
        continue;
      }
      next[tp] = Replica{std::move(*log), topic.topic_id, p.leader,
                         p.leader_epoch,  p.isr.size(),   min_insync_replicas_(topic)};
    }
  }
  std::vector<std::pair<TopicPartition, std::string>> gone;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [tp, r] : replicas_) {
      if (!next.contains(tp)) gone.emplace_back(tp, r.topic_id);
    }
    for (const auto& [tp, r] : next) {
      auto it = replicas_.find(tp);
      if (it == replicas_.end() || it->second.leader != r.leader) {
        LOG(INFO) << "Partition " << tp.ToString() << ": "
                  << (r.leader == broker_id_ ? "leader" : "follower") << " in epoch "
                  << r.leader_epoch << " (leader " << r.leader << ")";
      }
    }
    replicas_ = std::move(next);
    image_ = image;
  }
  for (const auto& [tp, topic_id] : gone) {
    LOG(INFO) << "Partition " << tp.ToString() << " left this broker; deleting its log";
    // Only the log of the topic that left: never another incarnation's.
    if (absl::Status s = logs_->Delete(tp, topic_id); !s.ok() && !absl::IsNotFound(s)) {
      LOG(WARNING) << "Not deleting the log of " << tp.ToString() << ": " << s;
    }
  }
}

bool ReplicaManager::Lookup(const std::string& topic, int32_t partition, bool need_leader,
                            Replica* out, v1::ErrorCode* error, std::string* message,
                            int32_t* leader_hint) {
  absl::MutexLock l(&mu_);
  const metadata::PartitionInfo* info = image_ ? image_->FindPartition(topic, partition) : nullptr;
  if (info == nullptr) {
    *error = v1::UNKNOWN_TOPIC_OR_PARTITION;
    *message = image_ && image_->FindTopic(topic)
                   ? absl::StrCat("Topic ", topic, " has no partition ", partition)
                   : absl::StrCat("Topic ", topic, " does not exist");
    return false;
  }
  *leader_hint = info->leader;
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || (need_leader && it->second.leader != broker_id_)) {
    *error = info->leader < 0 ? v1::LEADER_NOT_AVAILABLE : v1::NOT_LEADER_OR_FOLLOWER;
    *message = info->leader < 0
                   ? absl::StrCat("Partition ", topic, "-", partition, " has no leader")
                   : absl::StrCat("Broker ", broker_id_, " is not the leader of ", topic, "-",
                                  partition, "; the leader is broker ", info->leader);
    return false;
  }
  *out = it->second;
  return true;
}

ProduceResult ReplicaManager::Append(const std::string& topic, int32_t partition,
                                     std::string batches, int32_t acks) {
  ProduceResult result;
  if (acks != 0 && acks != 1 && acks != -1) {
    result.error = v1::INVALID_REQUIRED_ACKS;
    result.message = absl::StrCat("acks must be 0, 1 or -1 (all), not ", acks);
    return result;
  }
  Replica replica;
  if (!Lookup(topic, partition, /*need_leader=*/true, &replica, &result.error, &result.message,
              &result.leader_hint)) {
    return result;
  }
  if (acks == -1 && static_cast<int32_t>(replica.isr_size) < replica.min_insync_replicas) {
    result.error = v1::NOT_ENOUGH_REPLICAS;
    result.message = absl::StrCat("The number of in-sync replicas (", replica.isr_size, ") of ",
                                  topic, "-", partition, " is below min.insync.replicas (",
                                  replica.min_insync_replicas, ")");
    return result;
  }
  if (acks == -1 && replica.isr_size > 1) {
    // Only reachable once followers join the ISR, which needs replication.
    result.error = v1::NOT_ENOUGH_REPLICAS;
    result.message = absl::StrCat(topic, "-", partition,
                                  ": acks=all with followers in the ISR "
                                  "needs follower replication, which this broker does not do yet");
    return result;
  }
  // Where each batch lies in the buffer; a producer sends one per partition,
  // and then the buffer itself is the batch (no copy).
  std::vector<std::pair<size_t, size_t>> spans;
  storage::BatchIterator it(batches);
  storage::BatchHeader header;
  std::string_view batch;
  while (it.Next(&header, &batch)) spans.emplace_back(batch.data() - batches.data(), batch.size());
  if (spans.empty() || it.position() != batches.size()) {
    result.error = v1::CORRUPT_MESSAGE;
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
  // All batches are checked before any is appended: a bad one changes nothing.
  absl::StatusOr<storage::LogAppendInfo> info =
      replica.log->AppendAsLeader(&parts, Epoch(replica.leader_epoch));
  if (!info.ok()) {
    result.error = ErrorCodeFor(info.status());
    result.message =
        absl::StrCat(topic, "-", partition, ": ", std::string(info.status().message()));
    return result;
  }
  result.base_offset = info->first_offset.value();
  result.log_start_offset = replica.log->log_start_offset().value();
  absl::MutexLock l(&mu_);
  ++appends_;
  return result;
}

FetchResult ReplicaManager::Read(const std::string& topic, int32_t partition, int64_t offset,
                                 int32_t max_bytes) {
  FetchResult result;
  Replica replica;
  if (!Lookup(topic, partition, /*need_leader=*/true, &replica, &result.error, &result.message,
              &result.leader_hint)) {
    return result;
  }
  // No follower replication yet: everything the leader has is committed.
  const Offset hw = replica.log->log_end_offset();
  result.high_watermark = hw.value();
  result.log_start_offset = replica.log->log_start_offset().value();
  if (max_bytes <= 0) return result;
  absl::StatusOr<storage::LogReadResult> read =
      replica.log->Read(Offset(offset), static_cast<size_t>(max_bytes), hw);
  if (!read.ok()) {
    result.error = ErrorCodeFor(read.status());
    result.message = std::string(read.status().message());
    return result;
  }
  result.records = std::move(read->batches);
  return result;
}

OffsetResult ReplicaManager::ListOffset(const std::string& topic, int32_t partition,
                                        int64_t timestamp) {
  OffsetResult result;
  Replica replica;
  if (!Lookup(topic, partition, /*need_leader=*/true, &replica, &result.error, &result.message,
              &result.leader_hint)) {
    return result;
  }
  result.leader_epoch = replica.leader_epoch;
  if (timestamp == -1) {
    result.offset = replica.log->log_end_offset().value();
  } else if (timestamp == -2) {
    result.offset = replica.log->log_start_offset().value();
  } else {
    absl::StatusOr<std::optional<Offset>> found = replica.log->OffsetForTimestamp(timestamp);
    if (!found.ok()) {
      result.error = ErrorCodeFor(found.status());
      result.message = std::string(found.status().message());
    } else if (found->has_value()) {
      result.offset = (*found)->value();
      result.timestamp = timestamp;
    }
  }
  return result;
}

bool ReplicaManager::HasDataAt(const std::string& topic, int32_t partition, int64_t offset) {
  absl::MutexLock l(&mu_);
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || it->second.leader != broker_id_)
    return true;  // answer with the error
  return it->second.log->log_end_offset().value() > offset;
}

uint64_t ReplicaManager::WaitForAppend(uint64_t seen, absl::Time deadline) const {
  absl::MutexLock l(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return appends_ != seen; };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  return appends_;
}

uint64_t ReplicaManager::append_count() const {
  absl::MutexLock l(&mu_);
  return appends_;
}

}  // namespace strata::replication
