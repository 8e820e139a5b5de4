#include "broker/replication/replica_fetcher.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "glog/logging.h"

namespace strata::replication {

namespace {

// How long a round waits when all the leader sent was partitions it held
// back for its replication quota: a fraction of the quota's one-second
// sample, so the rate it allows is reached.
constexpr int64_t kWithheldPauseMs = 50;

// Whether `broker_id` is in `tp`'s ISR in `image` (Kafka's follower asks
// whether its replica is in sync before throttling it).
bool InSync(const metadata::MetadataImage* image, const TopicPartition& tp, int32_t broker_id) {
  const metadata::PartitionInfo* info =
      image != nullptr ? image->FindPartition(tp.topic, tp.partition.value()) : nullptr;
  return info != nullptr &&
         std::find(info->isr.begin(), info->isr.end(), broker_id) != info->isr.end();
}

}  // namespace

ReplicaFetcherManager::ReplicaFetcherManager(ReplicaManager* replicas,
                                             ReplicaFetcherOptions options)
    : replicas_(replicas),
      options_(std::move(options)),
      clock_(options_.clock),
      quota_(ReplicationSide::kFollower, options_.broker_id, options_.clock) {
  CHECK(clock_ != nullptr) << "ReplicaFetcherOptions.clock is required";
  CHECK(options_.endpoint_for) << "ReplicaFetcherOptions.endpoint_for is required";
}

ReplicaFetcherManager::~ReplicaFetcherManager() { Stop(); }

void ReplicaFetcherManager::Start() {
  manager_ = std::thread([this] { ManagerLoop(); });
}

void ReplicaFetcherManager::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [leader, fetcher] : fetchers_) fetcher->endpoint->Close();
  }
  // Threads idling in WaitForRoleChange see stopping_ now, not at their
  // deadline.
  replicas_->Nudge();
  if (manager_.joinable()) manager_.join();
  std::map<int32_t, std::unique_ptr<Fetcher>> fetchers;
  {
    absl::MutexLock l(&mu_);
    fetchers.swap(fetchers_);
  }
  for (auto& [leader, fetcher] : fetchers) fetcher->thread.join();
}

std::vector<int32_t> ReplicaFetcherManager::FetcherLeaders() const {
  absl::MutexLock l(&mu_);
  std::vector<int32_t> leaders;
  for (const auto& [leader, fetcher] : fetchers_) leaders.push_back(leader);
  return leaders;
}

bool ReplicaFetcherManager::Stopping(const Fetcher* fetcher) const {
  absl::MutexLock l(&mu_);
  return stopping_ || (fetcher != nullptr && fetcher->stopping);
}

void ReplicaFetcherManager::Pause(const Fetcher* fetcher, absl::Duration d) {
  absl::MutexLock l(&mu_);
  auto stop = [this, fetcher]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || fetcher->stopping; };
  mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

void ReplicaFetcherManager::ManagerLoop() {
  uint64_t seen = replicas_->role_progress();
  while (!Stopping(nullptr)) {
    SyncFetchers();
    // Woken by leadership moves only (each look goes over every partition);
    // the deadline is a safety net.
    seen = replicas_->WaitForRoleChange(seen, absl::Milliseconds(200));
  }
}

void ReplicaFetcherManager::SyncFetchers() {
  const std::vector<int32_t> leaders = replicas_->LeadersFollowed();
  std::vector<std::unique_ptr<Fetcher>> retired;
  std::vector<int32_t> missing;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    for (auto it = fetchers_.begin(); it != fetchers_.end();) {
      if (std::find(leaders.begin(), leaders.end(), it->first) != leaders.end()) {
        ++it;
        continue;
      }
      // Kafka shuts idle fetcher threads down too: a thread per leader ever
      // followed would grow without bound as leadership moves around.
      it->second->stopping = true;
      it->second->endpoint->Close();
      retired.push_back(std::move(it->second));
      it = fetchers_.erase(it);
    }
    for (int32_t leader : leaders) {
      if (!fetchers_.contains(leader)) missing.push_back(leader);
    }
  }
  if (!retired.empty()) {
    replicas_->Nudge();  // a retired thread may idle in WaitForRoleChange
    for (const std::unique_ptr<Fetcher>& fetcher : retired) {
      fetcher->thread.join();
      VLOG(1) << "Stopped the fetcher for leader " << fetcher->leader;
    }
  }
  for (int32_t leader : missing) {
    // Outside the lock: making a connection may take the caller's locks.
    std::unique_ptr<LeaderEndpoint> endpoint = options_.endpoint_for(leader);
    if (endpoint == nullptr) {
      VLOG(1) << "No endpoint for leader " << leader << " yet";
      continue;
    }
    auto fetcher = std::make_unique<Fetcher>();
    fetcher->leader = leader;
    fetcher->endpoint = std::move(endpoint);
    Fetcher* raw = fetcher.get();
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    raw->thread = std::thread([this, raw] { FetcherLoop(raw); });
    fetchers_[leader] = std::move(fetcher);
  }
}

void ReplicaFetcherManager::FetcherLoop(Fetcher* fetcher) {
  uint64_t seen = replicas_->role_progress();
  FetcherState state;
  while (!Stopping(fetcher)) {
    if (replicas_->FollowedFrom(fetcher->leader).empty()) {
      seen = replicas_->WaitForRoleChange(seen, absl::Milliseconds(500));
      continue;
    }
    if (!RunOnce(fetcher, &state)) {
      absl::Duration pause = absl::Milliseconds(std::min(options_.backoff_ms, 200));
      if (state.pause.has_value()) pause = std::min(pause, *state.pause);
      state.pause.reset();
      Pause(fetcher, pause);
    }
  }
}

bool ReplicaFetcherManager::RunOnce(Fetcher* fetcher, FetcherState* state) {
  const int32_t leader = fetcher->leader;
  LeaderEndpoint& endpoint = *fetcher->endpoint;
  std::map<TopicPartition, int64_t>& delayed = state->delayed;
  const int64_t now = clock_->NowMs();
  std::erase_if(delayed, [now](const auto& d) { return d.second <= now; });
  auto delay = [&](const TopicPartition& tp) { delayed[tp] = now + options_.backoff_ms; };
  auto followed = [&] {
    std::vector<FollowedPartition> parts = replicas_->FollowedFrom(leader);
    std::erase_if(parts, [&](const FollowedPartition& p) { return delayed.contains(p.tp); });
    if (!parts.empty()) {
      std::rotate(parts.begin(),
                  parts.begin() + static_cast<ptrdiff_t>(state->round % parts.size()), parts.end());
    }
    return parts;
  };
  ++state->round;
  state->pause.reset();
  std::vector<FollowedPartition> parts = followed();
  if (parts.empty()) return false;
  bool moved = false;

  // Truncation first: partitions of a new leader epoch.
  OffsetForLeaderEpochRequest epochs;
  epochs.replica_id = options_.broker_id;
  std::map<TopicPartition, const FollowedPartition*> asked;
  for (const FollowedPartition& p : parts) {
    if (!p.needs_truncation) continue;
    if (p.latest_epoch < 0) {
      // No epochs: an empty log, nothing to cut.
      EpochEndResult none;
      none.log_end_offset = p.log_end_offset;
      if (!replicas_->ApplyEpochEnd(p.tp, p.leader_epoch, -1, none).ok()) delay(p.tp);
      continue;
    }
    epochs.partitions.push_back(OffsetForLeaderPartition{p.tp, p.leader_epoch, p.latest_epoch});
    asked[p.tp] = &p;
  }
  if (!epochs.partitions.empty()) {
    absl::StatusOr<OffsetForLeaderEpochResponse> resp = endpoint.OffsetForLeaderEpoch(epochs);
    if (!resp.ok()) {
      VLOG(1) << "OffsetForLeaderEpoch to leader " << leader << " failed: " << resp.status();
      return false;
    }
    for (const EpochEndOffset& e : resp->partitions) {
      auto it = asked.find(e.tp);
      if (it == asked.end()) continue;
      const FollowedPartition& p = *it->second;
      if (e.result.error != ErrorCode::kNone) {
        VLOG(1) << "OffsetForLeaderEpoch " << p.tp.ToString() << " from " << leader << ": "
                << ErrorName(e.result.error) << " " << e.result.message;
        delay(p.tp);
        continue;
      }
      if (!replicas_->ApplyEpochEnd(p.tp, p.leader_epoch, p.latest_epoch, e.result).ok()) {
        delay(p.tp);
        continue;
      }
      moved = true;
    }
    // Truncation moved log ends: fetch from where they are now.
    parts = followed();
  }

  FetchRequest request;
  request.replica_id = options_.broker_id;
  request.max_wait_ms = options_.max_wait_ms;
  request.min_bytes = 1;
  request.max_bytes = options_.max_bytes;
  // The partitions asked for, in the request's order, which the answer
  // keeps (Find below looks the others up).
  std::vector<const FollowedPartition*> fetched;
  const std::shared_ptr<const metadata::MetadataImage> image = replicas_->image();
  quota_.Update(image);
  // Per-partition quota checks only when some topic is throttled: an idle
  // round over many partitions costs what each of them costs.
  const bool any_throttled = quota_.AnyThrottled();
  bool held_back = false;
  for (const FollowedPartition& p : parts) {
    if (p.needs_truncation) continue;
    if (any_throttled && quota_.IsThrottled(p.tp) &&
        quota_.ShouldThrottle(p.tp, InSync(image.get(), p.tp, options_.broker_id))) {
      held_back = true;
      continue;
    }
    request.partitions.push_back(FetchPartition{p.tp, p.log_end_offset, p.leader_epoch,
                                                options_.partition_max_bytes, p.log_start_offset});
    fetched.push_back(&p);
  }
  if (held_back) {
    // The throttled partitions may go again once the quota allows: neither
    // the long poll nor the pause between rounds may hold them longer.
    const int64_t wait_ms = std::max<int64_t>(quota_.ThrottleTimeMs(), 1);
    request.max_wait_ms = static_cast<int32_t>(std::min<int64_t>(request.max_wait_ms, wait_ms));
    state->pause = absl::Milliseconds(wait_ms);
  }
  if (request.partitions.empty()) return moved;
  const size_t round = state->round;
  const bool incremental = state->session_id != 0;
  if (incremental) {
    // Only what the leader's session does not hold already.
    std::vector<FetchPartition> named;
    for (size_t i = 0; i < request.partitions.size(); ++i) {
      FetchPartition& p = request.partitions[i];
      auto [it, added] = state->session.try_emplace(p.tp);
      FetcherState::SessionPartition& s = it->second;
      s.round = round;
      s.index = i;
      if (added || s.named.fetch_offset != p.fetch_offset ||
          s.named.current_leader_epoch != p.current_leader_epoch ||
          s.named.log_start_offset != p.log_start_offset ||
          s.named.partition_max_bytes != p.partition_max_bytes) {
        s.named = p;
        named.push_back(p);
      }
    }
    if (state->session.size() > request.partitions.size()) {
      // Partitions left out this round (moved away, backing off, held back
      // for the quota): the leader drops them until they are named again.
      for (auto it = state->session.begin(); it != state->session.end();) {
        if (it->second.round == round) {
          ++it;
          continue;
        }
        request.session.forgotten.push_back(it->first);
        state->session.erase(it++);
      }
    }
    request.partitions = std::move(named);
    request.session.id = state->session_id;
    request.session.epoch = state->session_epoch;
  } else {
    request.session.open = true;
    state->session.clear();
    for (size_t i = 0; i < request.partitions.size(); ++i) {
      state->session[request.partitions[i].tp] =
          FetcherState::SessionPartition{request.partitions[i], round, i};
    }
  }
  absl::StatusOr<FetchResponse> resp = endpoint.Fetch(request);
  if (!resp.ok()) {
    // The leader may or may not have taken the fetch into the session.
    state->DropSession();
    VLOG(1) << "Fetch from leader " << leader << " failed: " << resp.status();
    return false;
  }
  if (resp->error != ErrorCode::kNone) {
    VLOG(1) << "Fetch session " << state->session_id << " with leader " << leader << ": "
            << ErrorName(resp->error) << " " << resp->message;
    state->DropSession();
    // The session is gone or out of step: the next round opens a new one,
    // at once (nothing was read). Any other refusal of the whole fetch
    // backs off.
    return resp->error == ErrorCode::kFetchSessionIdNotFound ||
           resp->error == ErrorCode::kInvalidFetchSessionEpoch;
  }
  if (!incremental) {
    state->session_id = resp->session_id;
    state->session_epoch = 1;
    if (resp->session_id == 0) state->DropSession();  // the leader opened none
  } else if (resp->session_id != state->session_id) {
    state->DropSession();  // not the session asked for: start over
  } else {
    state->session_epoch =
        state->session_epoch == std::numeric_limits<int32_t>::max() ? 1 : state->session_epoch + 1;
  }
  // The answer's partitions: in the request's order when it kept it, else
  // found through the session entries, which hold every partition of this
  // round with its place in `fetched`.
  auto find_fetched = [&](size_t i, const TopicPartition& tp) -> const FollowedPartition* {
    if (i < fetched.size() && fetched[i]->tp == tp) return fetched[i];
    auto it = state->session.find(tp);
    return it != state->session.end() && it->second.round == round ? fetched[it->second.index]
                                                                   : nullptr;
  };
  int errors = 0;
  // Partitions the leader had records for and sent none of: its own
  // replication quota held them back (or the response's budget ran out,
  // and then others moved).
  int withheld = 0;
  for (size_t i = 0; i < resp->partitions.size(); ++i) {
    const FetchPartitionData& data = resp->partitions[i];
    const FollowedPartition* asked_for = find_fetched(i, data.tp);
    const FetchResult& r = data.result;
    if (asked_for == nullptr) continue;
    const FollowedPartition& p = *asked_for;
    switch (r.error) {
      case ErrorCode::kNone: {
        absl::Status s = replicas_->AppendFetched(p.tp, p.leader_epoch, p.log_end_offset, r.records,
                                                  r.high_watermark, r.log_start_offset);
        if (!s.ok()) {
          LOG(ERROR) << "Partition " << p.tp.ToString() << ": cannot append what leader " << leader
                     << " sent at offset " << p.log_end_offset << ": " << s;
          ++errors;
          delay(p.tp);
        } else {
          moved = moved || !r.records.empty();
          if (r.records.empty() && r.log_end_offset > p.log_end_offset) ++withheld;
          // Kafka counts every throttled partition's bytes, in sync or not.
          if (!r.records.empty() && quota_.IsThrottled(p.tp)) {
            quota_.Record(static_cast<int64_t>(r.records.size()));
          }
        }
        break;
      }
      case ErrorCode::kOffsetOutOfRange:
        if (r.log_end_offset >= 0 && p.log_end_offset > r.log_end_offset) {
          // The replica manager refuses to cut below the high watermark
          // unless the topic allows unclean leader election.
          replicas_->TruncateToLeaderEnd(p.tp, p.leader_epoch, r.log_end_offset);
          moved = true;
        } else if (r.log_start_offset > p.log_end_offset) {
          // Retention or DeleteRecords removed, on the leader, everything
          // this replica lacks: it starts over at the leader's log start.
          if (replicas_->StartAtLeaderLogStart(p.tp, p.leader_epoch, r.log_start_offset)) {
            moved = true;
          } else {
            ++errors;
            delay(p.tp);
          }
        } else {
          LOG(ERROR) << "Partition " << p.tp.ToString() << ": " << r.message;
          ++errors;
          delay(p.tp);
        }
        break;
      default:
        ++errors;
        delay(p.tp);
        VLOG(1) << "Fetch " << p.tp.ToString() << " from " << leader << ": " << ErrorName(r.error)
                << " " << r.message;
        break;
    }
  }
  // A long poll that came back empty is no reason to back off; partitions
  // that failed sit out replica.fetch.backoff.ms while the others go on.
  // Partitions the leader held back: it answered at once, so asking again
  // at once would only spin; pause a little.
  if (!moved && withheld > 0) {
    const absl::Duration brief = absl::Milliseconds(kWithheldPauseMs);
    state->pause = state->pause ? std::min(*state->pause, brief) : brief;
    return false;
  }
  return moved || errors == 0;
}

}  // namespace strata::replication
