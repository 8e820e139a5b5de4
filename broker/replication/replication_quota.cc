#include "broker/replication/replication_quota.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/storage/log_config.h"
#include "glog/logging.h"

namespace strata::replication {

namespace {

const char* SideName(ReplicationSide side) {
  return side == ReplicationSide::kLeader ? "leader" : "follower";
}

}  // namespace

// --- RateMeter ---

RateMeter::RateMeter(Options options) : options_(options) {
  CHECK_GT(options_.samples, 0);
  CHECK_GT(options_.sample_ms, 0);
}

void RateMeter::Record(int64_t bytes, int64_t now_ms) {
  const int64_t span = options_.samples * options_.sample_ms;
  while (!samples_.empty() && now_ms - samples_.front().start_ms >= span) samples_.pop_front();
  // A sample covers sample_ms from its first record (Kafka's SampledStat):
  // the next record after that begins a new one.
  if (samples_.empty() || now_ms - samples_.back().start_ms >= options_.sample_ms) {
    samples_.push_back(Sample{now_ms, 0});
    if (samples_.size() > static_cast<size_t>(options_.samples)) samples_.pop_front();
  }
  samples_.back().bytes += bytes;
}

std::pair<const RateMeter::Sample*, int64_t> RateMeter::Window(int64_t now_ms) const {
  const int64_t span = options_.samples * options_.sample_ms;
  const Sample* oldest = nullptr;
  int64_t total = 0;
  for (const Sample& s : samples_) {
    if (now_ms - s.start_ms >= span) continue;  // expired: as if purged
    if (oldest == nullptr) oldest = &s;
    total += s.bytes;
  }
  return {oldest, total};
}

double RateMeter::Rate(int64_t now_ms) const {
  auto [oldest, total] = Window(now_ms);
  if (oldest == nullptr || total <= 0) return 0;
  const int64_t elapsed = std::max(now_ms - oldest->start_ms, options_.sample_ms);
  return static_cast<double>(total) * 1000.0 / static_cast<double>(elapsed);
}

int64_t RateMeter::MsUntilRateAtMost(double bound, int64_t now_ms) const {
  if (Rate(now_ms) <= bound) return 0;
  auto [oldest, total] = Window(now_ms);
  const int64_t span = options_.samples * options_.sample_ms;
  // Every sample there now has expired by then, whatever the bound.
  const int64_t all_expired = samples_.back().start_ms + span - now_ms;
  if (bound <= 0) return std::max<int64_t>(all_expired, 1);
  // total / (elapsed + d) <= bound, ignoring samples that expire meanwhile
  // (which only shortens the wait).
  const double needed_ms = std::ceil(static_cast<double>(total) * 1000.0 / bound);
  const int64_t elapsed = now_ms - oldest->start_ms;
  const double wait = needed_ms - static_cast<double>(elapsed);
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(wait, static_cast<double>(span))), 1,
                             std::max<int64_t>(all_expired, 1));
}

// --- ThrottledReplicaList ---

absl::StatusOr<ThrottledReplicaList> ThrottledReplicaList::Parse(std::string_view value) {
  ThrottledReplicaList list;
  std::vector<std::pair<int32_t, int32_t>> replicas;
  if (absl::Status s = storage::ParseThrottledReplicas(value, &list.all_, &replicas); !s.ok()) {
    return s;
  }
  list.replicas_.insert(replicas.begin(), replicas.end());
  return list;
}

bool ThrottledReplicaList::Contains(int32_t partition, int32_t broker) const {
  return all_ || replicas_.contains({partition, broker});
}

// --- ReplicationThrottle ---

ReplicationThrottle ReplicationThrottle::FromImage(const metadata::MetadataImage& image,
                                                   ReplicationSide side, int32_t broker_id,
                                                   std::set<std::string>* warned) {
  auto warn_once = [warned](const std::string& what) {
    if (warned == nullptr || warned->insert(what).second) {
      LOG(WARNING) << what << "; ignored: it throttles nothing";
    }
  };
  ReplicationThrottle throttle;
  const char* rate_key =
      side == ReplicationSide::kLeader ? kLeaderThrottledRate : kFollowerThrottledRate;
  if (std::optional<std::string> rate = image.BrokerConfig(broker_id, rate_key)) {
    absl::StatusOr<int64_t> bytes = storage::ParseThrottledRate(*rate);
    if (bytes.ok()) {
      throttle.rate = *bytes;
    } else {
      warn_once(absl::StrCat("Broker ", broker_id, ": ", rate_key, ": ", bytes.status().message()));
    }
  }
  const char* list_key =
      side == ReplicationSide::kLeader ? kLeaderThrottledReplicas : kFollowerThrottledReplicas;
  for (const auto& [name, topic] : image.topics()) {
    auto it = topic.configs.find(list_key);
    if (it == topic.configs.end()) continue;
    absl::StatusOr<ThrottledReplicaList> list = ThrottledReplicaList::Parse(it->second);
    if (!list.ok()) {
      warn_once(absl::StrCat("Topic ", name, ": ", list_key, "='", it->second,
                             "' does not parse: ", list.status().message()));
      continue;
    }
    if (!list->empty()) throttle.topics.emplace(name, *std::move(list));
  }
  return throttle;
}

// --- ReplicationQuota ---

ReplicationQuota::ReplicationQuota(ReplicationSide side, int32_t broker_id, Clock* clock,
                                   RateMeter::Options window)
    : side_(side), broker_id_(broker_id), clock_(clock), meter_(window) {
  CHECK(clock_ != nullptr) << "ReplicationQuota needs a clock";
}

void ReplicationQuota::Update(const std::shared_ptr<const metadata::MetadataImage>& image) {
  absl::MutexLock l(&mu_);
  if (configured_ && image == image_) return;
  image_ = image;
  configured_ = true;
  throttle_ = image == nullptr
                  ? ReplicationThrottle{}
                  : ReplicationThrottle::FromImage(*image, side_, broker_id_, &warned_);
  VLOG(1) << SideName(side_) << " replication quota on broker " << broker_id_ << ": "
          << (throttle_.rate ? absl::StrCat(*throttle_.rate, " bytes/s") : "unbounded") << ", "
          << throttle_.topics.size() << " topic(s) throttled";
}

void ReplicationQuota::Configure(ReplicationThrottle throttle) {
  absl::MutexLock l(&mu_);
  configured_ = true;  // until Update brings another image
  throttle_ = std::move(throttle);
}

bool ReplicationQuota::IsThrottled(const TopicPartition& tp) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = throttle_.topics.find(tp.topic);
  return it != throttle_.topics.end() && it->second.Contains(tp.partition.value(), broker_id_);
}

bool ReplicationQuota::AnyThrottled() const {
  absl::ReaderMutexLock l(&mu_);
  return !throttle_.topics.empty();
}

bool ReplicationQuota::IsQuotaExceededLocked() const {
  return throttle_.rate.has_value() &&
         meter_.Rate(clock_->NowMs()) > static_cast<double>(*throttle_.rate);
}

bool ReplicationQuota::IsQuotaExceeded() const {
  absl::ReaderMutexLock l(&mu_);
  return IsQuotaExceededLocked();
}

bool ReplicationQuota::ShouldThrottle(const TopicPartition& tp, bool in_sync) const {
  // In-sync replicas are never held back: throttling one would push it out
  // of the ISR and back in (Kafka's "ISR thrashing").
  return !in_sync && IsThrottled(tp) && IsQuotaExceeded();
}

void ReplicationQuota::Record(int64_t bytes) {
  if (bytes <= 0) return;
  absl::MutexLock l(&mu_);
  meter_.Record(bytes, clock_->NowMs());
}

int64_t ReplicationQuota::ThrottleTimeMs() const {
  absl::ReaderMutexLock l(&mu_);
  if (!throttle_.rate.has_value()) return 0;
  return meter_.MsUntilRateAtMost(static_cast<double>(*throttle_.rate), clock_->NowMs());
}

double ReplicationQuota::Rate() const {
  absl::ReaderMutexLock l(&mu_);
  return meter_.Rate(clock_->NowMs());
}

}  // namespace strata::replication
