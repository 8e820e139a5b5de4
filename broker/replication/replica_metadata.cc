// ReplicaManager following the metadata image: each image gives this
// broker's partitions their roles (Partition::MakeLeaderOrFollower), opens
// the logs of partitions placed here and deletes those of partitions that
// left, and tells the leadership listeners what this broker now leads.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "broker/metadata/partition_change.h"
#include "broker/replication/replica_manager.h"
#include "broker/storage/kafka_error.h"
#include "glog/logging.h"

namespace strata::replication {
namespace {

using metadata::Contains;

// The image's partition `tp`, or null.
const metadata::PartitionInfo* Placed(const metadata::MetadataImage& image,
                                      const TopicPartition& tp, std::string* topic_id) {
  const metadata::TopicInfo* t = image.FindTopic(tp.topic);
  if (t == nullptr) return nullptr;
  auto p = t->partitions.find(tp.partition.value());
  if (p == t->partitions.end()) return nullptr;
  *topic_id = t->topic_id;
  return &p->second;
}

}  // namespace

void ReplicaManager::OnMetadata(const std::shared_ptr<const metadata::MetadataImage>& image) {
  Applied applied;
  {
    absl::MutexLock apply(&apply_mu_);
    {
      absl::MutexLock l(&mu_);
      // Images come from the applier in order; one older than what is
      // applied (a late caller) would take roles back in time.
      if (image_ != nullptr && image->offset() < image_->offset()) return;
    }
    applied = ApplyLocked(image);
  }
  Notify(applied.changed);
  DeliverLeadershipChanges();
}

void ReplicaManager::Reapply() {
  Applied applied;
  {
    absl::MutexLock apply(&apply_mu_);
    std::shared_ptr<const metadata::MetadataImage> image;
    {
      absl::MutexLock l(&mu_);
      image = image_;
    }
    if (image == nullptr) return;
    applied = ApplyLocked(image);
  }
  Notify(applied.changed);
  DeliverLeadershipChanges();
}

ReplicaManager::Applied ReplicaManager::ApplyLocked(
    const std::shared_ptr<const metadata::MetadataImage>& image) {
  Applied applied;
  bool caught_up = false;
  {
    absl::MutexLock l(&mu_);
    caught_up = image->offset() >= caught_up_offset_;
  }
  // Open the logs first, without the lock (disk I/O).
  struct Opened {
    std::shared_ptr<storage::Log> log;
    const metadata::TopicInfo* topic;
    const metadata::PartitionInfo* partition;
  };
  absl::flat_hash_map<TopicPartition, Opened> opened;
  bool offline_changed = false;
  for (const auto& [name, topic] : image->topics()) {
    for (const auto& [id, p] : topic.partitions) {
      if (!Contains(p.replicas, broker_id_)) continue;
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
        {
          absl::MutexLock l(&mu_);
          if (!offline_.contains(tp)) {
            LOG(ERROR) << "Cannot open the log of " << tp.ToString() << ": " << log.status();
          }
        }
        if (absl::IsDataLoss(log.status())) {
          if (MarkDamaged(tp, -1, std::string(log.status().message()))) {
            applied.changed.push_back(tp);
          }
        } else if (storage::IsStorageFailure(log.status())) {
          absl::MutexLock l(&mu_);
          if (offline_.try_emplace(tp, Offline{std::string(log.status().message()), std::nullopt})
                  .second) {
            offline_changed = true;
            applied.changed.push_back(tp);
          }
        }
        continue;
      }
      opened[tp] = Opened{std::move(*log), &topic, &p};
    }
  }
  // Once caught up, logs no image places here any more are strays: their
  // replicas were moved away (or the topic deleted) while this broker was
  // down, so no Partition ever opened them to see them leave.
  std::vector<std::pair<TopicPartition, std::string>> strays;
  const metadata::BrokerRegistration* me = image->broker(broker_id_);
  const bool registered = !options_.incarnation_id.empty() && me != nullptr && !me->fenced &&
                          me->incarnation_id == options_.incarnation_id;
  if (caught_up && registered && !strays_swept_) {
    strays_swept_ = true;
    for (const TopicPartition& tp : logs_->Partitions()) {
      if (opened.contains(tp)) continue;
      std::string placed_id;
      const metadata::PartitionInfo* p = Placed(*image, tp, &placed_id);
      if (p != nullptr && Contains(p->replicas, broker_id_)) continue;
      strays.emplace_back(tp, logs_->TopicIdOf(tp));
    }
  }
  // Partitions whose term ends wait for leader appends of the old term;
  // their locks are taken in partition order, always the same.
  std::map<TopicPartition, std::shared_ptr<Partition>> ending;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [tp, part] : partitions_) {
      std::string topic_id;
      const metadata::PartitionInfo* p = Placed(*image, tp, &topic_id);
      if (p == nullptr || !part->SameTerm(topic_id, *p)) ending.emplace(tp, part);
    }
  }
  for (auto& [tp, part] : ending) part->leader_isr_update_lock().Lock();
  std::vector<LeadershipChange> leadership;
  std::vector<std::pair<TopicPartition, std::string>> gone;
  {
    absl::MutexLock l(&mu_);
    absl::flat_hash_map<TopicPartition, std::shared_ptr<Partition>> next;
    for (auto& [tp, o] : opened) {
      auto old = partitions_.find(tp);
      // The Partition, and with it its leaderIsrUpdateLock, outlives terms.
      std::shared_ptr<Partition> part = old != partitions_.end()
                                            ? old->second
                                            : std::make_shared<Partition>(tp, partition_options_);
      Partition::RoleChange c = part->MakeLeaderOrFollower(
          std::move(o.log), o.topic->topic_id, *o.partition, options_.min_insync_replicas(*o.topic),
          options_.unclean_leader_election && options_.unclean_leader_election(*o.topic));
      if (c.new_term && c.is_leader) {
        leadership.push_back({LeadershipChange::Kind::kBecameLeader, tp, c.leader_epoch});
      } else if (c.new_term && c.was_leader) {
        leadership.push_back({LeadershipChange::Kind::kResigned, tp, c.leader_epoch});
      }
      if (c.changed) applied.changed.push_back(tp);
      next[tp] = std::move(part);
    }
    for (const auto& [tp, part] : partitions_) {
      if (next.contains(tp)) continue;
      const std::string topic_id = part->snapshot().topic_id;
      if (std::optional<Epoch> led = part->Detach()) {
        leadership.push_back({LeadershipChange::Kind::kResigned, tp, *led});
      }
      applied.changed.push_back(tp);
      // Only a partition the image no longer places here (or of another
      // topic id) leaves; one whose log failed to open stays, offline, with
      // its data.
      std::string placed_id;
      const metadata::PartitionInfo* p = Placed(*image, tp, &placed_id);
      if (p != nullptr && placed_id == topic_id && Contains(p->replicas, broker_id_)) continue;
      gone.emplace_back(tp, topic_id);
    }
    // Offline replicas of partitions that left this broker are no concern.
    absl::erase_if(offline_, [&](const auto& entry) {
      const metadata::PartitionInfo* p =
          image->FindPartition(entry.first.topic, entry.first.partition.value());
      return p == nullptr || !Contains(p->replicas, broker_id_);
    });
    partitions_ = std::move(next);
    image_ = image;
    // The leader's replication throttle follows the image's configs.
    leader_quota_.Update(image);
    RolesChangedLocked();
  }
  for (auto it = ending.rbegin(); it != ending.rend(); ++it) {
    it->second->leader_isr_update_lock().Unlock();
  }
  {
    // Queued under apply_mu_, so listeners hear of images in their order.
    absl::MutexLock l(&listeners_mu_);
    undelivered_.insert(undelivered_.end(), leadership.begin(), leadership.end());
  }
  if (offline_changed && options_.on_offline) options_.on_offline();
  for (const auto& [tp, topic_id] : strays) {
    LOG(INFO) << "Partition " << tp.ToString()
              << " is not placed on this broker any more; deleting its stray log";
    if (absl::Status s = logs_->Delete(tp, topic_id); !s.ok() && !absl::IsNotFound(s)) {
      LOG(WARNING) << "Not deleting the stray log of " << tp.ToString() << ": " << s;
    }
  }
  for (const auto& [tp, topic_id] : gone) {
    LOG(INFO) << "Partition " << tp.ToString() << " left this broker; deleting its log";
    // Only the log of the topic that left: never another incarnation's.
    if (absl::Status s = logs_->Delete(tp, topic_id); !s.ok() && !absl::IsNotFound(s)) {
      LOG(WARNING) << "Not deleting the log of " << tp.ToString() << ": " << s;
    }
  }
  return applied;
}

void ReplicaManager::AddLeadershipListener(std::function<void(const LeadershipChange&)> listener) {
  absl::MutexLock l(&listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void ReplicaManager::DeliverLeadershipChanges() {
  {
    absl::MutexLock l(&listeners_mu_);
    // One thread delivers at a time, so that listeners hear every change
    // in order; another finds its changes delivered by that one.
    if (delivering_) return;
    delivering_ = true;
  }
  for (;;) {
    std::vector<LeadershipChange> changes;
    std::vector<std::function<void(const LeadershipChange&)>> listeners;
    {
      absl::MutexLock l(&listeners_mu_);
      if (undelivered_.empty()) {
        delivering_ = false;
        return;
      }
      changes.swap(undelivered_);
      listeners = listeners_;
    }
    for (const LeadershipChange& change : changes) {
      for (const auto& listener : listeners) listener(change);
    }
  }
}

}  // namespace strata::replication
