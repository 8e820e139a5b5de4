// ReplicaManager and storage failures: the checked read that finds damaged
// batches, the replicas a failed directory or a damaged log takes offline,
// their repair from another in-sync replica, and the background scrub.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/replication/replica_manager.h"
#include "broker/storage/kafka_error.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::replication {

void ReplicaManager::ReadInto(const TopicPartition& tp, const std::shared_ptr<storage::Log>& log,
                              int64_t offset, int32_t max_bytes, Offset max_offset,
                              FetchResult* result) {
  absl::StatusOr<storage::LogReadResult> read =
      log->Read(Offset(offset), static_cast<size_t>(max_bytes), max_offset);
  if (!read.ok()) {
    result->error = ErrorCodeFor(read.status());
    result->message = std::string(read.status().message());
    if (absl::IsDataLoss(read.status())) {
      if (MarkDamaged(tp, offset, std::string(read.status().message()))) Notify({tp});
      result->error = ErrorCode::kKafkaStorageError;
    } else {
      NoteFailure(*log, read.status());
    }
    return;
  }
  // Every batch served is checked: a flipped bit on this disk must not
  // reach a consumer or a follower while whole copies exist elsewhere. The
  // CRC covers neither the base offset nor the leader epoch, so the offsets
  // must also run on from one batch to the next (from the one holding
  // `offset`), and epochs never go down.
  //
  // A log that may skip offsets has gaps the cleaner left (between batches,
  // and inside them, which the CRC covers): a batch may start past where
  // the one before ended (or, first, past `offset`), but never go back nor
  // reach the log end. That is a compacted topic's log, and any log that
  // was compacted or copied from a compacted leader (Log::may_have_gaps,
  // kept across restarts): a topic switched from compact to delete keeps
  // its gaps, and a strict check would take every replica of it offline
  // as damaged. A log that never skipped offsets keeps the strict check.
  const bool gaps_allowed = log->MaySkipOffsets();
  const int64_t log_end = read->log_end_offset.value();
  std::string_view bytes = read->batches;
  size_t good = 0;
  int64_t expected = -1;  // the next batch's base offset
  int32_t epoch = -1;
  while (good < bytes.size()) {
    absl::StatusOr<record::BatchHeader> header = record::ReadBatchHeader(bytes.substr(good));
    size_t size = header.ok() ? header->size_in_bytes() : 0;
    absl::Status bad = header.status();
    if (bad.ok() && size > bytes.size() - good) {
      bad = absl::DataLossError("the batch runs past what was read");
    }
    if (bad.ok()) bad = record::ValidateStoredBatch(bytes.substr(good, size)).status();
    if (bad.ok()) {
      const int64_t base = header->base_offset.value();
      const int64_t last = header->last_offset().value();
      if (expected < 0 && (last < offset || (gaps_allowed ? base >= log_end : base > offset))) {
        bad = absl::DataLossError(absl::StrCat("the batch read for offset ", offset,
                                               " holds offsets ", base, "..", last));
      } else if (expected >= 0 &&
                 (gaps_allowed ? base < expected || base >= log_end : base != expected)) {
        bad = absl::DataLossError(
            absl::StrCat("a batch at offset ", base, " follows one that ends before ", expected));
      } else if (last >= log_end) {
        bad = absl::DataLossError(absl::StrCat("a batch at offset ", base, " reaches offset ", last,
                                               ", past the log end ", log_end));
      } else if (header->partition_leader_epoch.value() < epoch) {
        bad = absl::DataLossError(absl::StrCat(
            "leader epoch ", header->partition_leader_epoch.value(), " follows epoch ", epoch));
      }
    }
    if (!bad.ok()) {
      // Where the damage starts, from what is known good: a damaged header
      // may name any offset.
      const int64_t at = expected >= 0 ? expected : offset;
      if (MarkDamaged(tp, at,
                      absl::StrCat("the batch at offset ", at, " of ", tp.ToString(), " in ",
                                   log->dir(), " fails its check: ", bad.message()))) {
        Notify({tp});
      }
      if (good == 0) {
        result->error = ErrorCode::kKafkaStorageError;
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

void ReplicaManager::NoteFailure(const storage::Log& log, const absl::Status& status) {
  // Only the disk's failures: a batch refused on append (a producer's or a
  // leader's bytes) says nothing about this log.
  if (storage::IsStorageFailure(status)) logs_->ReportFailure(log, status);
}

bool ReplicaManager::MarkDamaged(const TopicPartition& tp, int64_t offset, const std::string& why) {
  {
    absl::MutexLock l(&mu_);
    Offline& o = offline_[tp];
    if (o.damaged_at.has_value()) {
      // Known damage: keep the earliest known place.
      if (offset >= 0 && (*o.damaged_at < 0 || offset < *o.damaged_at)) o.damaged_at = offset;
      return false;
    }
    o.why = absl::StrCat("damaged: ", why);
    o.damaged_at = offset;
    RolesChangedLocked();
  }
  LOG(ERROR) << "Replica " << tp.ToString() << " is damaged and goes offline until it is "
             << "rebuilt from another in-sync replica: " << why;
  if (options_.on_offline) options_.on_offline();
  return true;
}

bool ReplicaManager::TakeOffline(const std::vector<TopicPartition>& partitions,
                                 const std::string& why) {
  bool added = false;
  absl::MutexLock l(&mu_);
  for (const TopicPartition& tp : partitions) {
    added |= offline_.try_emplace(tp, Offline{why, std::nullopt}).second;
  }
  RolesChangedLocked();
  return added;
}

void ReplicaManager::OnDirOffline(const std::vector<TopicPartition>& partitions,
                                  const std::string& why) {
  if (TakeOffline(partitions, why) && options_.on_offline) options_.on_offline();
  Notify(partitions);
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
          std::find(p->isr.begin(), p->isr.end(), broker_id_) != p->isr.end() ||
          !image_->IsBrokerLive(p->leader)) {
        continue;  // still counted in sync, or no whole copy to rebuild from
      }
      if (at < 0) {
        reopen.push_back(tp);
        continue;
      }
      // Cut only once the leader has answered for its log (an epoch query
      // that succeeds): a leader whose own copy is offline never does, and
      // then this copy stays as it is. See ApplyEpochEnd.
      auto r = partitions_.find(tp);
      if (r != partitions_.end() && !o.repairing) {
        o.repairing = true;
        r->second->RequestTruncation();
        RolesChangedLocked();
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
    RolesChangedLocked();
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
    order.reserve(partitions_.size());
    for (const auto& [p, part] : partitions_) {
      if (!offline_.contains(p)) order.push_back(p);
    }
    if (order.empty()) return true;
    std::sort(order.begin(), order.end());
    auto it = std::lower_bound(order.begin(), order.end(), scrub_tp_);
    if (it == order.end() || *it != scrub_tp_) scrub_offset_ = 0;
    if (it == order.end()) it = order.begin();
    tp = *it;
    log = partitions_.at(tp)->log();
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
  if (checked.error != ErrorCode::kNone || checked.records.empty()) return last;
  // Where the checked batches end: continue there next time.
  record::BatchIterator batches(checked.records);
  record::BatchHeader header;
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

}  // namespace strata::replication
