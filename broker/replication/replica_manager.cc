#include "broker/replication/replica_manager.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/record_batch.h"
#include "glog/logging.h"

namespace strata::replication {

v1::ErrorCode ErrorCodeFor(const absl::Status& status) {
  // A Kafka code attached by storage (kafka_error.h) is more precise than
  // the status code, which has no equivalent for e.g. INVALID_TIMESTAMP.
  if (std::optional<int16_t> kafka = storage::KafkaErrorOf(status);
      kafka.has_value() && v1::ErrorCode_IsValid(*kafka)) {
    return static_cast<v1::ErrorCode>(*kafka);
  }
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

namespace {

bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string Name(const TopicPartition& tp) { return tp.ToString(); }

// Whether the image's `p` (of topic `topic_id`) continues the term `r` is in:
// same topic incarnation, same leader, same leader epoch.
template <typename Replica>
bool SameTerm(const Replica& r, const std::string& topic_id, const metadata::PartitionInfo& p) {
  return r.topic_id == topic_id && r.leader == p.leader && r.leader_epoch == p.leader_epoch;
}

}  // namespace

ReplicaManager::ReplicaManager(storage::LogManager* logs, ReplicaManagerOptions options)
    : broker_id_(options.broker_id),
      logs_(logs),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : Clock::Real()) {
  logs_->SetDirFailureListener(
      [this](const std::vector<TopicPartition>& partitions, const std::string& why) {
        OnDirOffline(partitions, why);
      });
  // Directories that failed while loading, before this manager existed.
  for (const auto& [partitions, why] : logs_->OfflineDirPartitions()) OnDirOffline(partitions, why);
}

void ReplicaManager::ReadInto(const TopicPartition& tp, const std::shared_ptr<storage::Log>& log,
                              int64_t offset, int32_t max_bytes, Offset max_offset,
                              FetchResult* result) {
  absl::StatusOr<storage::LogReadResult> read =
      log->Read(Offset(offset), static_cast<size_t>(max_bytes), max_offset);
  if (!read.ok()) {
    result->error = ErrorCodeFor(read.status());
    result->message = std::string(read.status().message());
    if (absl::IsDataLoss(read.status())) {
      MarkDamaged(tp, offset, std::string(read.status().message()));
      result->error = v1::KAFKA_STORAGE_ERROR;
    } else {
      NoteFailure(tp, *log, read.status());
    }
    return;
  }
  // Every batch served is checked: a flipped bit on this disk must not
  // reach a consumer or a follower while whole copies exist elsewhere. The
  // CRC covers neither the base offset nor the leader epoch, so the offsets
  // must also run on from one batch to the next (from the one holding
  // `offset`), and epochs never go down.
  std::string_view bytes = read->batches;
  size_t good = 0;
  int64_t expected = -1;  // the next batch's base offset
  int32_t epoch = -1;
  while (good < bytes.size()) {
    absl::StatusOr<storage::BatchHeader> header = storage::ReadBatchHeader(bytes.substr(good));
    size_t size = header.ok() ? header->size_in_bytes() : 0;
    absl::Status bad = header.status();
    if (bad.ok() && size > bytes.size() - good) {
      bad = absl::DataLossError("the batch runs past what was read");
    }
    if (bad.ok()) bad = storage::ValidateBatch(bytes.substr(good, size)).status();
    if (bad.ok()) {
      const int64_t base = header->base_offset.value();
      if (expected < 0 && (base > offset || header->last_offset().value() < offset)) {
        bad = absl::DataLossError(absl::StrCat("the batch read for offset ", offset,
                                               " holds offsets ", base, "..",
                                               header->last_offset().value()));
      } else if (expected >= 0 && base != expected) {
        bad = absl::DataLossError(
            absl::StrCat("a batch at offset ", base, " follows one that ends before ", expected));
      } else if (header->partition_leader_epoch.value() < epoch) {
        bad = absl::DataLossError(absl::StrCat("leader epoch ",
                                               header->partition_leader_epoch.value(),
                                               " follows epoch ", epoch));
      }
    }
    if (!bad.ok()) {
      // Where the damage starts, from what is known good: a damaged header
      // may name any offset.
      const int64_t at = expected >= 0 ? expected : offset;
      MarkDamaged(tp, at,
                  absl::StrCat("the batch at offset ", at, " of ", tp.ToString(), " in ",
                               log->dir(), " fails its check: ", bad.message()));
      if (good == 0) {
        result->error = v1::KAFKA_STORAGE_ERROR;
        result->message = absl::StrCat("Partition ", tp.ToString(), " is damaged on broker ",
                                       broker_id_, " at offset ", at, "; retry on another replica");
      }
      break;
    }
    good += size;
    expected = header->next_offset().value();
    epoch = header->partition_leader_epoch.value();
  }
  read->batches.resize(good);
  result->records = std::move(read->batches);
}

void ReplicaManager::NoteFailure(const TopicPartition& tp, const storage::Log& log,
                                 const absl::Status& status) {
  // Only the disk's failures: a batch refused on append (a producer's or a
  // leader's bytes) says nothing about this log.
  (void)tp;
  if (storage::IsStorageFailure(status)) logs_->ReportFailure(log, status);
}

void ReplicaManager::MarkDamaged(const TopicPartition& tp, int64_t offset,
                                 const std::string& why) {
  {
    absl::MutexLock l(&mu_);
    Offline& o = offline_[tp];
    if (o.damaged_at.has_value()) {
      // Known damage: keep the earliest known place.
      if (offset >= 0 && (*o.damaged_at < 0 || offset < *o.damaged_at)) o.damaged_at = offset;
      return;
    }
    o.why = absl::StrCat("damaged: ", why);
    o.damaged_at = offset;
    ++progress_;
  }
  LOG(ERROR) << "Replica " << tp.ToString() << " is damaged and goes offline until it is "
             << "rebuilt from another in-sync replica: " << why;
  if (options_.on_offline) options_.on_offline();
}

void ReplicaManager::OnDirOffline(const std::vector<TopicPartition>& partitions,
                                  const std::string& why) {
  bool added = false;
  {
    absl::MutexLock l(&mu_);
    for (const TopicPartition& tp : partitions) {
      added |= offline_.try_emplace(tp, Offline{why, std::nullopt}).second;
    }
    ++progress_;
  }
  if (added && options_.on_offline) options_.on_offline();
}

std::vector<std::pair<std::string, int32_t>> ReplicaManager::OfflineReplicas() const {
  absl::MutexLock l(&mu_);
  std::vector<std::pair<std::string, int32_t>> out;
  for (const auto& [tp, o] : offline_) {
    const metadata::TopicInfo* t = image_ ? image_->FindTopic(tp.topic) : nullptr;
    if (t != nullptr) out.emplace_back(t->topic_id, tp.partition.value());
  }
  return out;
}

bool ReplicaManager::MaybeRepairAndScrub(size_t scrub_bytes) {
  // Repairs: damaged replicas that another live replica leads, with this
  // broker out of the ISR (so the in-sync copies hold every acknowledged
  // record).
  std::vector<TopicPartition> reopen;
  {
    absl::MutexLock l(&mu_);
    for (auto& [tp, o] : offline_) {
      if (!o.damaged_at.has_value()) continue;
      const int64_t at = *o.damaged_at;
      const metadata::PartitionInfo* p =
          image_ ? image_->FindPartition(tp.topic, tp.partition.value()) : nullptr;
      if (p == nullptr || p->leader < 0 || p->leader == broker_id_ ||
          Contains(p->isr, broker_id_) || !image_->IsBrokerLive(p->leader)) {
        continue;  // still counted in sync, or no whole copy to rebuild from
      }
      if (at < 0) {
        reopen.push_back(tp);
        continue;
      }
      // Cut only once the leader has answered for its log (an epoch query
      // that succeeds): a leader whose own copy is offline never does, and
      // then this copy stays as it is. See ApplyEpochEnd.
      auto r = replicas_.find(tp);
      if (r != replicas_.end() && !o.repairing) {
        o.repairing = true;
        r->second.needs_truncation = true;
        ++progress_;
      }
    }
  }
  for (const TopicPartition& tp : reopen) {
    // The log would not even open: it is set aside whole (for the operator)
    // and starts over empty, fetching everything from the leader.
    if (absl::Status s = logs_->Delete(tp); !s.ok() && !absl::IsNotFound(s)) {
      LOG(ERROR) << "Repairing " << tp.ToString() << ": " << s;
      continue;
    }
    LOG(WARNING) << "Replica " << tp.ToString() << " set aside; it starts over and fetches "
                 << "everything from the leader";
    absl::MutexLock l(&mu_);
    offline_.erase(tp);
    ++progress_;
  }
  if (!reopen.empty()) Reapply();

  // Scrub: the flushed part of one log after another, in partition order
  // (stable while partitions come and go).
  if (scrub_bytes == 0) return false;
  TopicPartition tp;
  std::shared_ptr<storage::Log> log;
  int64_t from = 0;
  bool last = false;
  {
    absl::MutexLock l(&mu_);
    std::vector<TopicPartition> order;
    order.reserve(replicas_.size());
    for (const auto& [p, r] : replicas_) {
      if (!offline_.contains(p)) order.push_back(p);
    }
    if (order.empty()) return true;
    std::sort(order.begin(), order.end());
    auto it = std::lower_bound(order.begin(), order.end(), scrub_tp_);
    if (it == order.end() || *it != scrub_tp_) scrub_offset_ = 0;
    if (it == order.end()) it = order.begin();
    tp = *it;
    log = replicas_.at(tp).log;
    from = std::max(scrub_offset_, log->log_start_offset().value());
    // Next time: the next partition, unless this one has more to check.
    auto next = std::next(it);
    last = next == order.end();
    scrub_tp_ = last ? TopicPartition{} : *next;
    scrub_offset_ = 0;
  }
  const Offset upto = log->recovery_point();
  if (from >= upto.value()) return last;
  FetchResult checked;
  ReadInto(tp, log, from, static_cast<int32_t>(std::min<size_t>(scrub_bytes, INT32_MAX)), upto,
           &checked);
  if (checked.error != v1::NONE || checked.records.empty()) return last;
  // Where the checked batches end: continue there next time.
  storage::BatchIterator batches(checked.records);
  storage::BatchHeader header;
  std::string_view batch;
  int64_t end = from;
  while (batches.Next(&header, &batch)) end = header.next_offset().value();
  if (end < upto.value()) {
    absl::MutexLock l(&mu_);
    scrub_tp_ = tp;
    scrub_offset_ = end;
    return false;
  }
  return last;
}

void ReplicaManager::SetCaughtUpOffset(int64_t offset) {
  absl::MutexLock l(&mu_);
  caught_up_offset_ = offset;
}

std::shared_ptr<const metadata::MetadataImage> ReplicaManager::image() const {
  absl::MutexLock l(&mu_);
  return image_;
}

void ReplicaManager::OnMetadata(const std::shared_ptr<const metadata::MetadataImage>& image) {
  absl::MutexLock apply(&apply_mu_);
  {
    absl::MutexLock l(&mu_);
    // Images come from the applier in order; one older than what is applied
    // (a late caller) would take roles back in time.
    if (image_ != nullptr && image->offset() < image_->offset()) return;
  }
  ApplyLocked(image);
}

void ReplicaManager::Reapply() {
  absl::MutexLock apply(&apply_mu_);
  std::shared_ptr<const metadata::MetadataImage> image;
  {
    absl::MutexLock l(&mu_);
    image = image_;
  }
  if (image != nullptr) ApplyLocked(image);
}

void ReplicaManager::ApplyLocked(const std::shared_ptr<const metadata::MetadataImage>& image) {
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
        LOG(WARNING) << "Deleting the log of " << Name(tp)
                     << " left by an earlier topic: " << log.status();
        if (absl::Status s = logs_->Delete(tp); !s.ok()) LOG(ERROR) << s;
        log = logs_->GetOrCreate(tp, topic.topic_id);
      }
      if (!log.ok()) {
        {
          absl::MutexLock l(&mu_);
          if (!offline_.contains(tp)) {
            LOG(ERROR) << "Cannot open the log of " << Name(tp) << ": " << log.status();
          }
        }
        if (absl::IsDataLoss(log.status())) {
          MarkDamaged(tp, -1, std::string(log.status().message()));
        } else if (storage::IsStorageFailure(log.status())) {
          absl::MutexLock l(&mu_);
          if (offline_.try_emplace(tp, Offline{std::string(log.status().message()), std::nullopt}).second) {
            offline_changed = true;
          }
        }
        continue;
      }
      opened[tp] = Opened{std::move(*log), &topic, &p};
    }
  }
  // Replicas whose term ends wait for leader appends of the old term; their
  // locks are taken in partition order, always the same.
  std::map<TopicPartition, std::shared_ptr<absl::Mutex>> ending;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [tp, r] : replicas_) {
      const metadata::TopicInfo* t = image->FindTopic(tp.topic);
      auto p = t ? t->partitions.find(tp.partition.value()) : decltype(t->partitions.end()){};
      if (t == nullptr || p == t->partitions.end() || !SameTerm(r, t->topic_id, p->second)) {
        ending.emplace(tp, r.role_mu);
      }
    }
  }
  for (auto& [tp, m] : ending) m->Lock();
  std::vector<std::pair<TopicPartition, std::string>> gone;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = clock_->NowMs();
    absl::flat_hash_map<TopicPartition, Replica> next;
    for (auto& [tp, o] : opened) {
      const metadata::PartitionInfo& p = *o.partition;
      Replica r;
      auto old = replicas_.find(tp);
      const bool same_term =
          old != replicas_.end() && SameTerm(old->second, o.topic->topic_id, p);
      // The role lock outlives terms: one per partition for good.
      std::shared_ptr<absl::Mutex> role_mu =
          old != replicas_.end() ? old->second.role_mu : std::make_shared<absl::Mutex>();
      if (same_term) r = std::move(old->second);
      r.role_mu = std::move(role_mu);
      r.log = std::move(o.log);
      r.topic_id = o.topic->topic_id;
      r.leader = p.leader;
      r.leader_epoch = p.leader_epoch;
      r.replicas = p.replicas;
      r.min_insync_replicas = options_.min_insync_replicas(*o.topic);
      r.unclean_allowed =
          options_.unclean_leader_election && options_.unclean_leader_election(*o.topic);
      // A controller answer may have brought a newer ISR than this image.
      if (!same_term || p.partition_epoch >= r.partition_epoch) {
        // A new partition epoch settles any request made in the old one.
        if (r.pending_isr && p.partition_epoch != r.pending_partition_epoch) {
          r.pending_isr.reset();
        }
        r.partition_epoch = p.partition_epoch;
        r.isr = p.isr;
      }
      if (!same_term) {
        LOG(INFO) << "Partition " << Name(tp) << ": "
                  << (p.leader == broker_id_ ? "leader" : "follower") << " in epoch "
                  << p.leader_epoch << " (leader " << p.leader << ", ISR ["
                  << absl::StrJoin(p.isr, ",") << "])";
        if (p.leader == broker_id_) {
          r.epoch_start_offset = r.log->log_end_offset().value();
          if (absl::Status s = r.log->AssignLeaderEpoch(Epoch(p.leader_epoch)); !s.ok()) {
            LOG(ERROR) << "Partition " << Name(tp) << ": cannot record leader epoch "
                       << p.leader_epoch << ": " << s;
          }
          // Every follower gets a full replica.lag.time.max.ms to show up.
          for (int32_t id : p.replicas) {
            if (id != broker_id_) r.followers[id] = FollowerProgress{-1, now, now, -1};
          }
        } else {
          r.needs_truncation = p.leader >= 0;
        }
      }
      if (r.leader == broker_id_) MaybeAdvanceHighWatermarkLocked(r);
      next[tp] = std::move(r);
    }
    for (const auto& [tp, r] : replicas_) {
      if (next.contains(tp)) continue;
      // Only a partition the image no longer places here (or of another
      // topic id) leaves; one whose log failed to open stays, offline, with
      // its data.
      const metadata::TopicInfo* t = image->FindTopic(tp.topic);
      auto p = t ? t->partitions.find(tp.partition.value()) : decltype(t->partitions.end()){};
      if (t != nullptr && t->topic_id == r.topic_id && p != t->partitions.end() &&
          Contains(p->second.replicas, broker_id_)) {
        continue;
      }
      gone.emplace_back(tp, r.topic_id);
    }
    // Offline replicas of partitions that left this broker are no concern.
    absl::erase_if(offline_, [&](const auto& entry) {
      const metadata::PartitionInfo* p =
          image->FindPartition(entry.first.topic, entry.first.partition.value());
      return p == nullptr || !Contains(p->replicas, broker_id_);
    });
    replicas_ = std::move(next);
    image_ = image;
    ++progress_;
  }
  for (auto it = ending.rbegin(); it != ending.rend(); ++it) it->second->Unlock();
  if (offline_changed && options_.on_offline) options_.on_offline();
  for (const auto& [tp, topic_id] : gone) {
    LOG(INFO) << "Partition " << Name(tp) << " left this broker; deleting its log";
    // Only the log of the topic that left: never another incarnation's.
    if (absl::Status s = logs_->Delete(tp, topic_id); !s.ok() && !absl::IsNotFound(s)) {
      LOG(WARNING) << "Not deleting the log of " << Name(tp) << ": " << s;
    }
  }
}

bool ReplicaManager::Lookup(const std::string& topic, int32_t partition, bool need_leader,
                            Replica* out, v1::ErrorCode* error, std::string* message,
                            int32_t* leader_hint) {
  absl::MutexLock l(&mu_);
  if (image_ == nullptr) {
    // Not yet registered and caught up with the metadata log: this broker
    // knows no roles yet (retriable, so clients look elsewhere).
    *error = v1::NOT_LEADER_OR_FOLLOWER;
    *message = absl::StrCat("Broker ", broker_id_, " is starting and serves no partition yet");
    return false;
  }
  const metadata::PartitionInfo* info = image_->FindPartition(topic, partition);
  if (info == nullptr) {
    *error = v1::UNKNOWN_TOPIC_OR_PARTITION;
    *message = image_ && image_->FindTopic(topic)
                   ? absl::StrCat("Topic ", topic, " has no partition ", partition)
                   : absl::StrCat("Topic ", topic, " does not exist");
    return false;
  }
  *leader_hint = info->leader;
  if (auto off = offline_.find(TopicPartition{topic, PartitionId(partition)});
      off != offline_.end() && (!need_leader || info->leader == broker_id_)) {
    *error = v1::KAFKA_STORAGE_ERROR;
    *message = absl::StrCat("The replica of ", topic, "-", partition, " on broker ", broker_id_,
                            " is offline (", off->second.why, "); retry on another replica");
    return false;
  }
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || (need_leader && it->second.leader != broker_id_)) {
    *error = info->leader < 0 ? v1::LEADER_NOT_AVAILABLE : v1::NOT_LEADER_OR_FOLLOWER;
    *message = info->leader < 0
                   ? absl::StrCat("Partition ", topic, "-", partition, " has no leader")
                   : absl::StrCat("Broker ", broker_id_, " is not the leader of ", topic, "-",
                                  partition, "; the leader is broker ", info->leader);
    return false;
  }
  const Replica& r = it->second;
  // The data path needs no follower bookkeeping: copy only what it reads.
  out->log = r.log;
  out->topic_id = r.topic_id;
  out->leader = r.leader;
  out->leader_epoch = r.leader_epoch;
  out->isr = r.isr;
  out->min_insync_replicas = r.min_insync_replicas;
  out->role_mu = r.role_mu;
  return true;
}

void ReplicaManager::MaybeAdvanceHighWatermarkLocked(Replica& r) {
  int64_t hw = r.log->log_end_offset().value();
  auto count = [&](int32_t id) {
    if (id == broker_id_) return true;
    auto f = r.followers.find(id);
    if (f == r.followers.end() || f->second.log_end_offset < 0) return false;
    hw = std::min(hw, f->second.log_end_offset);
    return true;
  };
  for (int32_t id : r.isr) {
    if (!count(id)) return;  // an ISR member not heard from yet holds it
  }
  if (r.pending_isr) {
    for (int32_t id : *r.pending_isr) {
      if (!count(id)) return;
    }
  }
  if (r.log->MaybeIncrementHighWatermark(Offset(hw))) ++progress_;
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
  if (acks == -1 && static_cast<int32_t>(replica.isr.size()) < replica.min_insync_replicas) {
    result.error = v1::NOT_ENOUGH_REPLICAS;
    result.message = absl::StrCat("The number of in-sync replicas of ", topic, "-", partition,
                                  " (", replica.isr.size(), ": [", absl::StrJoin(replica.isr, ","),
                                  "]) is below min.insync.replicas (",
                                  replica.min_insync_replicas, ")");
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
  const TopicPartition tp{topic, PartitionId(partition)};
  absl::ReaderMutexLock term(replica.role_mu.get());
  {
    // Still the leader in the epoch looked up: the role cannot change now.
    absl::MutexLock l(&mu_);
    auto r = replicas_.find(tp);
    if (r == replicas_.end() || r->second.leader != broker_id_ ||
        r->second.leader_epoch != replica.leader_epoch) {
      result.error = v1::NOT_LEADER_OR_FOLLOWER;
      result.message = absl::StrCat("Broker ", broker_id_, " stopped leading ", topic, "-",
                                    partition, " in epoch ", replica.leader_epoch);
      return result;
    }
  }
  // All batches are checked before any is appended: a bad one changes nothing.
  absl::StatusOr<storage::LogAppendInfo> info =
      replica.log->AppendAsLeader(&parts, Epoch(replica.leader_epoch));
  if (!info.ok()) {
    result.error = ErrorCodeFor(info.status());
    result.message =
        absl::StrCat(topic, "-", partition, ": ", std::string(info.status().message()));
    NoteFailure(tp, *replica.log, info.status());
    return result;
  }
  result.base_offset = info->first_offset.value();
  result.log_start_offset = replica.log->log_start_offset().value();
  result.required_offset = info->last_offset.value() + 1;
  result.leader_epoch = replica.leader_epoch;
  absl::MutexLock l(&mu_);
  auto r = replicas_.find(tp);
  if (r != replicas_.end() && r->second.leader == broker_id_) {
    MaybeAdvanceHighWatermarkLocked(r->second);
  }
  ++progress_;
  return result;
}

std::optional<ProduceResult> ReplicaManager::CheckAcked(const std::string& topic,
                                                        int32_t partition,
                                                        int64_t required_offset,
                                                        int32_t leader_epoch) {
  ProduceResult result;
  absl::MutexLock l(&mu_);
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || it->second.leader != broker_id_ ||
      it->second.leader_epoch != leader_epoch) {
    const metadata::PartitionInfo* info =
        image_ ? image_->FindPartition(topic, partition) : nullptr;
    result.error = v1::NOT_LEADER_OR_FOLLOWER;
    result.leader_hint = info ? info->leader : -1;
    result.message = absl::StrCat("Broker ", broker_id_, " stopped leading ", topic, "-",
                                  partition, " in epoch ", leader_epoch,
                                  " before the in-sync replicas had the records; retry");
    return result;
  }
  const Replica& r = it->second;
  if (r.log->high_watermark().value() < required_offset) return std::nullopt;
  if (static_cast<int32_t>(r.isr.size()) < r.min_insync_replicas) {
    result.error = v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    result.message = absl::StrCat("The records were written to ", topic, "-", partition,
                                  ", but its in-sync replicas [", absl::StrJoin(r.isr, ","),
                                  "] fell below min.insync.replicas (", r.min_insync_replicas,
                                  ") meanwhile");
  }
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
  const Offset hw = replica.log->high_watermark();
  result.high_watermark = hw.value();
  result.log_start_offset = replica.log->log_start_offset().value();
  result.log_end_offset = replica.log->log_end_offset().value();
  if (max_bytes <= 0) return result;
  if (offset > hw.value() && offset <= result.log_end_offset) return result;  // not committed yet
  ReadInto(TopicPartition{topic, PartitionId(partition)}, replica.log, offset, max_bytes, hw,
           &result);
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
  const int64_t hw = replica.log->high_watermark().value();
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
        result.error = v1::INVALID_REQUEST;
        result.message = absl::StrCat(
            "Timestamp ", timestamp, " is not a time: use -1 (latest), -2 (earliest), -3 (the "
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

bool ReplicaManager::HasDataAt(const std::string& topic, int32_t partition, int64_t offset) {
  absl::MutexLock l(&mu_);
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || it->second.leader != broker_id_)
    return true;  // answer with the error
  return it->second.log->high_watermark().value() > offset;
}

FetchResult ReplicaManager::ReadForFollower(int32_t replica_id, const std::string& topic,
                                            int32_t partition, int64_t fetch_offset,
                                            int32_t current_leader_epoch, int32_t max_bytes) {
  FetchResult result;
  const TopicPartition tp{topic, PartitionId(partition)};
  std::shared_ptr<storage::Log> log;
  {
    absl::MutexLock l(&mu_);
    Replica* leading = LeaderInEpochLocked(tp, current_leader_epoch, &result.error,
                                           &result.message, &result.leader_hint);
    if (leading == nullptr) return result;
    Replica& r = *leading;
    auto f = r.followers.find(replica_id);
    if (f == r.followers.end()) {
      result.error = v1::NOT_LEADER_OR_FOLLOWER;
      result.message = absl::StrCat("Broker ", replica_id, " is not a replica of ", Name(tp));
      return result;
    }
    const int64_t leo = r.log->log_end_offset().value();
    result.log_end_offset = leo;
    result.log_start_offset = r.log->log_start_offset().value();
    if (fetch_offset > leo || fetch_offset < result.log_start_offset) {
      result.error = v1::OFFSET_OUT_OF_RANGE;
      result.message = absl::StrCat("Fetch offset ", fetch_offset, " of ", Name(tp),
                                    " is outside the leader's log [", result.log_start_offset,
                                    ", ", leo, ")");
      result.high_watermark = r.log->high_watermark().value();
      return result;
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
    MaybeAdvanceHighWatermarkLocked(r);
    const int64_t hw = r.log->high_watermark().value();
    if (!Contains(r.isr, replica_id) && !r.pending_isr && fetch_offset >= hw &&
        fetch_offset >= r.epoch_start_offset) {
      std::vector<int32_t> isr = r.isr;
      isr.push_back(replica_id);
      LOG(INFO) << "Partition " << Name(tp) << ": broker " << replica_id
                << " caught up (offset " << fetch_offset << "); asking to expand the ISR to ["
                << absl::StrJoin(isr, ",") << "]";
      ProposeIsrLocked(tp, r, std::move(isr));
    }
    result.high_watermark = hw;
    log = r.log;
  }
  if (max_bytes <= 0 || fetch_offset >= result.log_end_offset) return result;
  ReadInto(tp, log, fetch_offset, max_bytes, log->log_end_offset(), &result);
  return result;
}

bool ReplicaManager::FollowerHasDataAt(const std::string& topic, int32_t partition,
                                       int64_t offset) {
  absl::MutexLock l(&mu_);
  auto it = replicas_.find(TopicPartition{topic, PartitionId(partition)});
  if (it == replicas_.end() || it->second.leader != broker_id_) return true;
  return it->second.log->log_end_offset().value() > offset;
}

EpochEndResult ReplicaManager::EndOffsetForEpoch(const std::string& topic, int32_t partition,
                                                 int32_t current_leader_epoch, int32_t epoch) {
  EpochEndResult result;
  const TopicPartition tp{topic, PartitionId(partition)};
  absl::MutexLock l(&mu_);
  int32_t leader_hint = -1;
  const Replica* leading =
      LeaderInEpochLocked(tp, current_leader_epoch, &result.error, &result.message, &leader_hint);
  if (leading == nullptr) return result;
  const Replica& r = *leading;
  storage::EpochEndOffset end = r.log->EndOffsetForEpoch(Epoch(epoch));
  result.leader_epoch = end.epoch.value();
  result.end_offset = end.end_offset.value();
  result.log_end_offset = r.log->log_end_offset().value();
  return result;
}

std::vector<int32_t> ReplicaManager::LeadersFollowed() const {
  absl::MutexLock l(&mu_);
  std::set<int32_t> leaders;
  for (const auto& [tp, r] : replicas_) {
    if (r.leader >= 0 && r.leader != broker_id_) leaders.insert(r.leader);
  }
  return {leaders.begin(), leaders.end()};
}

std::vector<FollowedPartition> ReplicaManager::FollowedFrom(int32_t leader) const {
  absl::MutexLock l(&mu_);
  std::vector<FollowedPartition> out;
  for (const auto& [tp, r] : replicas_) {
    if (r.leader != leader || leader == broker_id_ || !r.stopped.empty()) continue;
    // Offline replicas fetch nothing, except damaged ones being rebuilt.
    if (auto off = offline_.find(tp); off != offline_.end() && !off->second.repairing) continue;
    std::optional<Epoch> latest = r.log->latest_epoch();
    out.push_back(FollowedPartition{tp, r.leader_epoch, r.needs_truncation,
                                    r.log->log_end_offset().value(),
                                    latest ? latest->value() : -1});
  }
  return out;
}

ReplicaManager::Replica* ReplicaManager::LeaderInEpochLocked(const TopicPartition& tp,
                                                             int32_t current_leader_epoch,
                                                             v1::ErrorCode* error,
                                                             std::string* message,
                                                             int32_t* leader_hint) {
  auto it = replicas_.find(tp);
  if (it == replicas_.end()) {
    *error = v1::UNKNOWN_TOPIC_OR_PARTITION;
    *message = absl::StrCat("Broker ", broker_id_, " has no replica of ", Name(tp));
    return nullptr;
  }
  Replica& r = it->second;
  *leader_hint = r.leader;
  if (r.leader != broker_id_) {
    *error = v1::NOT_LEADER_OR_FOLLOWER;
    *message = absl::StrCat("Broker ", broker_id_, " is not the leader of ", Name(tp));
    return nullptr;
  }
  if (auto off = offline_.find(tp); off != offline_.end()) {
    *error = v1::KAFKA_STORAGE_ERROR;
    *message = absl::StrCat("The leader's replica of ", Name(tp), " on broker ", broker_id_,
                            " is offline: ", off->second.why);
    return nullptr;
  }
  if (current_leader_epoch != r.leader_epoch) {
    *error = current_leader_epoch < r.leader_epoch ? v1::FENCED_LEADER_EPOCH
                                                   : v1::UNKNOWN_LEADER_EPOCH;
    *message = absl::StrCat("Leader epoch ", current_leader_epoch, " of ", Name(tp),
                            " is not the leader's ", r.leader_epoch);
    return nullptr;
  }
  return &r;
}

ReplicaManager::Replica* ReplicaManager::FollowingLocked(const TopicPartition& tp,
                                                         int32_t leader_epoch) {
  auto it = replicas_.find(tp);
  if (it == replicas_.end() || it->second.leader == broker_id_ || it->second.leader < 0 ||
      it->second.leader_epoch != leader_epoch) {
    return nullptr;
  }
  return &it->second;
}

absl::Status ReplicaManager::TruncateFollowerLocked(const TopicPartition& tp, Replica& r,
                                                    int64_t offset, bool repair) {
  const int64_t hw = r.log->high_watermark().value();
  if (offset < hw && !r.unclean_allowed && !repair) {
    r.stopped = absl::StrCat(
        "Partition ", Name(tp), ": the leader (broker ", r.leader, ", epoch ", r.leader_epoch,
        ") would have this replica truncate to ", offset, ", below its high watermark ", hw,
        ": records ", offset, "..", hw - 1,
        " were acknowledged and exist only here. Not truncating; this replica stops "
        "following until the leader changes (or set unclean.leader.election.enable=true "
        "on the topic to accept the loss)");
    LOG(ERROR) << r.stopped;
    return absl::FailedPreconditionError(r.stopped);
  }
  if (offset < hw && !repair) {
    LOG(WARNING) << "Partition " << Name(tp) << ": truncating below the high watermark " << hw
                 << " to " << offset << " (unclean.leader.election.enable=true)";
  }
  if (offset < r.log->log_end_offset().value()) {
    LOG(INFO) << "Partition " << Name(tp) << ": truncating the divergent suffix from "
              << r.log->log_end_offset().value() << " to " << offset << " (leader " << r.leader
              << ", epoch " << r.leader_epoch << ")";
  }
  // Also at the log end: it drops an epoch this replica led without writing.
  absl::Status s = r.log->TruncateTo(Offset(offset));
  if (!s.ok()) LOG(ERROR) << "Partition " << Name(tp) << ": truncation failed: " << s;
  return s;
}

absl::Status ReplicaManager::ApplyEpochEnd(const TopicPartition& tp, int32_t leader_epoch,
                                           int32_t asked_epoch, const EpochEndResult& answer) {
  absl::MutexLock l(&mu_);
  Replica* r = FollowingLocked(tp, leader_epoch);
  if (r == nullptr || !r->needs_truncation) return absl::OkStatus();
  const int64_t leo = r->log->log_end_offset().value();
  int64_t target = leo;
  bool done = true;
  if (answer.leader_epoch < 0) {
    // The leader cannot say (it knows no epoch at or below ours): keep only
    // what is committed, as Kafka does, and no more than the leader has.
    target = std::min({leo, r->log->high_watermark().value(), answer.log_end_offset});
    if (asked_epoch < 0) target = leo;  // an empty log: nothing to compare
  } else if (answer.leader_epoch == asked_epoch) {
    target = std::min(leo, answer.end_offset);
  } else {
    // The leader never had our last epoch: cut back to where its largest
    // earlier epoch ends (in both logs), then ask again about what is left.
    target = std::min(leo, answer.end_offset);
    storage::EpochEndOffset own = r->log->EndOffsetForEpoch(Epoch(answer.leader_epoch));
    if (own.end_offset.value() >= 0) target = std::min(target, own.end_offset.value());
    done = target == leo;
  }
  // A damaged replica being rebuilt: the leader answered, so its copy is
  // online; cut at the damage too (below the high watermark: those records
  // are damaged here and whole there).
  auto off = offline_.find(tp);
  const bool repairing = off != offline_.end() && off->second.repairing;
  if (repairing) target = std::min(target, *off->second.damaged_at);
  if (absl::Status s = TruncateFollowerLocked(tp, *r, target, repairing); !s.ok()) return s;
  r->needs_truncation = !done;
  if (repairing) {
    LOG(WARNING) << "Replica " << Name(tp) << " repaired: cut at " << target
                 << "; it fetches the rest from leader " << r->leader;
    offline_.erase(off);
  }
  ++progress_;
  return absl::OkStatus();
}

absl::Status ReplicaManager::AppendFetched(const TopicPartition& tp, int32_t leader_epoch,
                                           int64_t fetch_offset, std::string_view records,
                                           int64_t leader_high_watermark) {
  std::shared_ptr<storage::Log> log;
  absl::Status status;
  {
    absl::MutexLock l(&mu_);
    Replica* r = FollowingLocked(tp, leader_epoch);
    if (r == nullptr || r->needs_truncation || offline_.contains(tp) ||
        r->log->log_end_offset().value() != fetch_offset) {
      return absl::OkStatus();  // the partition moved on; the next fetch sees it
    }
    if (!records.empty()) {
      absl::StatusOr<storage::LogAppendInfo> info = r->log->AppendAsFollower(records);
      status = info.status();
    }
    if (status.ok()) {
      const int64_t hw = std::min(leader_high_watermark, r->log->log_end_offset().value());
      r->log->MaybeIncrementHighWatermark(Offset(hw));
      return absl::OkStatus();
    }
    log = r->log;
  }
  // Outside the lock: a disk failure takes the directory offline, which
  // calls back into this manager.
  NoteFailure(tp, *log, status);
  return status;
}

void ReplicaManager::TruncateToLeaderEnd(const TopicPartition& tp, int32_t leader_epoch,
                                         int64_t leader_end) {
  absl::MutexLock l(&mu_);
  Replica* r = FollowingLocked(tp, leader_epoch);
  if (r == nullptr) return;
  LOG(WARNING) << "Partition " << Name(tp) << ": the leader's log ends at " << leader_end
               << ", below this replica's " << r->log->log_end_offset().value()
               << " (an unclean election?)";
  TruncateFollowerLocked(tp, *r, leader_end).IgnoreError();  // logged; the next fetch retries
}

void ReplicaManager::ProposeIsrLocked(const TopicPartition& tp, Replica& r,
                                      std::vector<int32_t> new_isr) {
  r.pending_isr = std::move(new_isr);
  r.pending_partition_epoch = r.partition_epoch;
  r.pending_maybe_committed = false;
  SendPendingIsrLocked(tp, r);
}

void ReplicaManager::SendPendingIsrLocked(const TopicPartition& tp, Replica& r) {
  r.pending_sent_ms = clock_->NowMs();
  r.pending_awaiting_answer = true;
  if (options_.alter_partition) {
    options_.alter_partition(
        IsrChange{tp, r.topic_id, r.leader_epoch, r.pending_partition_epoch, *r.pending_isr});
  }
}

void ReplicaManager::MaybeShrinkIsr() {
  absl::MutexLock l(&mu_);
  const int64_t now = clock_->NowMs();
  for (auto& [tp, r] : replicas_) {
    // An offline leader's followers cannot fetch: no reason to drop them.
    if (r.leader != broker_id_ || offline_.contains(tp)) continue;
    if (r.pending_isr) {
      // The outcome is unknown (a timeout): ask again, the same request.
      // If the first one committed, this one is refused and the image
      // settles it.
      if (!r.pending_awaiting_answer && now - r.pending_sent_ms >= 1000) {
        SendPendingIsrLocked(tp, r);
      }
      continue;
    }
    std::vector<int32_t> keep;
    std::vector<int32_t> lagging;
    for (int32_t id : r.isr) {
      auto f = r.followers.find(id);
      const bool lags = id != broker_id_ && f != r.followers.end() &&
                        now - f->second.last_caught_up_ms > options_.replica_lag_time_max_ms;
      (lags ? lagging : keep).push_back(id);
    }
    if (lagging.empty()) continue;
    LOG(INFO) << "Partition " << Name(tp) << ": broker(s) " << absl::StrJoin(lagging, ",")
              << " not caught up for over " << options_.replica_lag_time_max_ms
              << " ms; asking to shrink the ISR from [" << absl::StrJoin(r.isr, ",") << "] to ["
              << absl::StrJoin(keep, ",") << "]";
    ProposeIsrLocked(tp, r, std::move(keep));
  }
}

void ReplicaManager::OnIsrChangeResult(const IsrChange& change, const IsrChangeResult& result) {
  absl::MutexLock l(&mu_);
  auto it = replicas_.find(change.tp);
  if (it == replicas_.end()) return;
  Replica& r = it->second;
  if (r.leader != broker_id_ || r.leader_epoch != change.leader_epoch) return;
  if (!r.pending_isr || *r.pending_isr != change.new_isr ||
      r.pending_partition_epoch != change.partition_epoch) {
    return;  // an answer to a request already settled
  }
  r.pending_awaiting_answer = false;
  if (result.error != v1::NONE) {
    LOG(INFO) << "Partition " << Name(change.tp) << ": ISR change to ["
              << absl::StrJoin(change.new_isr, ",") << "] not made: " << result.message;
    switch (result.error) {
      // Refused after the partition epoch check: no send of this request
      // ever committed (one that had would have moved the epoch).
      case v1::INVALID_REQUEST:
      case v1::INELIGIBLE_REPLICA:
        r.pending_isr.reset();
        break;
      // Refused before the epoch was looked at: proof enough, unless an
      // earlier send may have committed — then wait for the image (a new
      // term, or the partition epoch moving, settles it) or the resend.
      case v1::NOT_CONTROLLER:
      case v1::NOT_LEADER_OR_FOLLOWER:
      case v1::FENCED_LEADER_EPOCH:
      case v1::STALE_BROKER_EPOCH:
      case v1::UNKNOWN_TOPIC_OR_PARTITION:
        if (!r.pending_maybe_committed) r.pending_isr.reset();
        break;
      // INVALID_UPDATE_VERSION: the partition changed (perhaps by this very
      // request, sent twice); the image will say how. A timeout or a lost
      // answer: unknown, so MaybeShrinkIsr asks again.
      case v1::INVALID_UPDATE_VERSION:
        break;
      default:
        r.pending_maybe_committed = true;
        break;
    }
    return;
  }
  // Committed: take it now rather than when the image gets here.
  if (result.leader_epoch == r.leader_epoch && result.partition_epoch > r.partition_epoch) {
    r.isr = result.isr;
    r.partition_epoch = result.partition_epoch;
    r.pending_isr.reset();
    MaybeAdvanceHighWatermarkLocked(r);
    ++progress_;
  }
}

int ReplicaManager::LeaderCount() const {
  absl::MutexLock l(&mu_);
  int n = 0;
  for (const auto& [tp, r] : replicas_) n += r.leader == broker_id_ ? 1 : 0;
  return n;
}

uint64_t ReplicaManager::WaitForProgress(uint64_t seen, absl::Time deadline) const {
  absl::MutexLock l(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return progress_ != seen; };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  return progress_;
}

void ReplicaManager::Nudge() {
  absl::MutexLock l(&mu_);
  ++progress_;
}

uint64_t ReplicaManager::progress() const {
  absl::MutexLock l(&mu_);
  return progress_;
}


}  // namespace strata::replication
