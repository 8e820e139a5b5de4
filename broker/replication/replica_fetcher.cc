#include "broker/replication/replica_fetcher.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "glog/logging.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::replication {

ReplicaFetcherManager::ReplicaFetcherManager(ReplicaManager* replicas,
                                             ReplicaFetcherOptions options)
    : replicas_(replicas), options_(std::move(options)) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { Stop(); }

void ReplicaFetcherManager::Start() {
  manager_ = std::thread([this] { ManagerLoop(); });
}

void ReplicaFetcherManager::Stop() {
  std::map<int32_t, std::thread> fetchers;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [ctx, unused] : in_flight_) ctx->TryCancel();
  }
  if (manager_.joinable()) manager_.join();
  {
    absl::MutexLock l(&mu_);
    fetchers.swap(fetchers_);
  }
  for (auto& [leader, t] : fetchers) t.join();
}

bool ReplicaFetcherManager::Stopping() const {
  absl::MutexLock l(&mu_);
  return stopping_;
}

void ReplicaFetcherManager::Pause(absl::Duration d) {
  absl::MutexLock l(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

template <typename Call>
bool ReplicaFetcherManager::Track(grpc::ClientContext* ctx, Call call) {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return false;
    in_flight_[ctx] = true;
  }
  grpc::Status s = call();
  {
    absl::MutexLock l(&mu_);
    in_flight_.erase(ctx);
  }
  if (!s.ok()) VLOG(1) << "Replica RPC failed: " << s.error_message();
  return s.ok();
}

void ReplicaFetcherManager::ManagerLoop() {
  uint64_t seen = replicas_->progress();
  while (!Stopping()) {
    for (int32_t leader : replicas_->LeadersFollowed()) {
      absl::MutexLock l(&mu_);
      if (stopping_ || fetchers_.contains(leader)) continue;
      fetchers_[leader] = std::thread([this, leader] { FetcherLoop(leader); });
    }
    seen = replicas_->WaitForProgress(seen, absl::Now() + absl::Milliseconds(200));
  }
}

void ReplicaFetcherManager::FetcherLoop(int32_t leader) {
  uint64_t seen = replicas_->progress();
  FetcherState state;
  while (!Stopping()) {
    if (replicas_->FollowedFrom(leader).empty()) {
      seen = replicas_->WaitForProgress(seen, absl::Now() + absl::Milliseconds(500));
      continue;
    }
    if (!RunOnce(leader, &state)) Pause(absl::Milliseconds(std::min(options_.backoff_ms, 200)));
  }
}

bool ReplicaFetcherManager::RunOnce(int32_t leader, FetcherState* state) {
  std::map<TopicPartition, absl::Time>* delayed = &state->delayed;
  const absl::Time now = absl::Now();
  for (auto it = delayed->begin(); it != delayed->end();) {
    it = it->second <= now ? delayed->erase(it) : std::next(it);
  }
  auto delay = [&](const TopicPartition& tp) {
    (*delayed)[tp] = now + absl::Milliseconds(options_.backoff_ms);
  };
  auto followed = [&] {
    std::vector<FollowedPartition> parts = replicas_->FollowedFrom(leader);
    std::erase_if(parts, [&](const FollowedPartition& p) { return delayed->contains(p.tp); });
    if (!parts.empty()) {
      std::rotate(parts.begin(), parts.begin() + static_cast<ptrdiff_t>(state->round % parts.size()),
                  parts.end());
    }
    return parts;
  };
  ++state->round;
  std::vector<FollowedPartition> parts = followed();
  if (parts.empty()) return false;
  std::shared_ptr<grpc::Channel> channel = options_.channel_for(leader);
  if (!channel) return false;
  auto stub = internal::Replica::NewStub(channel);
  bool moved = false;

  // Truncation first: partitions of a new leader epoch.
  internal::OffsetForLeaderEpochRequest epochs;
  epochs.set_replica_id(options_.broker_id);
  std::map<std::pair<std::string, int32_t>, const FollowedPartition*> asked;
  for (const FollowedPartition& p : parts) {
    if (!p.needs_truncation) continue;
    if (p.latest_epoch < 0) {
      // No epochs: an empty log, nothing to cut.
      EpochEndResult none;
      none.log_end_offset = p.log_end_offset;
      if (!replicas_->ApplyEpochEnd(p.tp, p.leader_epoch, -1, none).ok()) delay(p.tp);
      continue;
    }
    internal::EpochRequestPartition* e = epochs.add_partitions();
    e->set_topic(p.tp.topic);
    e->set_partition(p.tp.partition.value());
    e->set_current_leader_epoch(p.leader_epoch);
    e->set_leader_epoch(p.latest_epoch);
    asked[{p.tp.topic, p.tp.partition.value()}] = &p;
  }
  if (epochs.partitions_size() > 0) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    internal::OffsetForLeaderEpochResponse resp;
    if (!Track(&ctx, [&] { return stub->OffsetForLeaderEpoch(&ctx, epochs, &resp); })) {
      return false;
    }
    for (const internal::EpochEndOffset& e : resp.partitions()) {
      auto it = asked.find({e.topic(), e.partition()});
      if (it == asked.end()) continue;
      if (e.error() != v1::NONE) {
        VLOG(1) << "OffsetForLeaderEpoch " << e.topic() << "-" << e.partition() << ": "
                << e.error_message();
        delay(it->second->tp);
        continue;
      }
      EpochEndResult answer;
      answer.leader_epoch = e.leader_epoch();
      answer.end_offset = e.end_offset();
      answer.log_end_offset = e.log_end_offset();
      if (absl::Status st = replicas_->ApplyEpochEnd(it->second->tp, it->second->leader_epoch,
                                                     it->second->latest_epoch, answer);
          !st.ok()) {
        delay(it->second->tp);
        continue;
      }
      moved = true;
    }
    // Truncation moved log ends: fetch from where they are now.
    parts = followed();
  }

  internal::ReplicaFetchRequest request;
  request.set_replica_id(options_.broker_id);
  request.set_max_wait_ms(options_.max_wait_ms);
  request.set_min_bytes(1);
  request.set_max_bytes(options_.max_bytes);
  std::map<std::pair<std::string, int32_t>, const FollowedPartition*> fetched;
  for (const FollowedPartition& p : parts) {
    if (p.needs_truncation) continue;
    internal::ReplicaFetchPartition* f = request.add_partitions();
    f->set_topic(p.tp.topic);
    f->set_partition(p.tp.partition.value());
    f->set_fetch_offset(p.log_end_offset);
    f->set_current_leader_epoch(p.leader_epoch);
    f->set_partition_max_bytes(options_.partition_max_bytes);
    fetched[{p.tp.topic, p.tp.partition.value()}] = &p;
  }
  if (request.partitions_size() == 0) return moved;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(options_.max_wait_ms + 5000));
  internal::ReplicaFetchResponse resp;
  if (!Track(&ctx, [&] { return stub->Fetch(&ctx, request, &resp); })) return false;
  int errors = 0;
  for (const internal::ReplicaFetchPartitionResponse& r : resp.partitions()) {
    auto it = fetched.find({r.topic(), r.partition()});
    if (it == fetched.end()) continue;
    const FollowedPartition& p = *it->second;
    switch (r.error()) {
      case v1::NONE: {
        absl::Status s = replicas_->AppendFetched(p.tp, p.leader_epoch, p.log_end_offset,
                                                  r.records(), r.high_watermark());
        if (!s.ok()) {
          LOG(ERROR) << "Partition " << p.tp.ToString() << ": cannot append what leader "
                     << leader << " sent at offset " << p.log_end_offset << ": " << s;
          ++errors;
          delay(p.tp);
        } else {
          moved = moved || !r.records().empty();
        }
        break;
      }
      case v1::OFFSET_OUT_OF_RANGE:
        if (r.log_end_offset() >= 0 && p.log_end_offset > r.log_end_offset()) {
          replicas_->TruncateToLeaderEnd(p.tp, p.leader_epoch, r.log_end_offset());
          moved = true;
        } else {
          LOG(ERROR) << "Partition " << p.tp.ToString() << ": " << r.error_message();
          ++errors;
          delay(p.tp);
        }
        break;
      default:
        ++errors;
        delay(p.tp);
        VLOG(1) << "Fetch " << p.tp.ToString() << " from " << leader << ": "
                << r.error_message();
        break;
    }
  }
  // A long poll that came back empty is no reason to back off; partitions
  // that failed sit out replica.fetch.backoff.ms while the others go on.
  return moved || errors == 0;
}

}  // namespace strata::replication
