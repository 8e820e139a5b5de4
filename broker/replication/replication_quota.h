// Replication throttles (Kafka's KIP-73 quotas, what `reassign-partitions
// --throttle` sets): a bound on the bytes per second that moving replicas
// copy, so that a reassignment does not starve producers and consumers.
//
// Four dynamic configs, read from the metadata image:
//  * broker `leader.replication.throttled.rate` and
//    `follower.replication.throttled.rate` (bytes/s; the broker's own value,
//    else the cluster default; absent: unbounded) bound this broker's
//    throttled replication traffic as a leader serving followers and as a
//    follower fetching from leaders;
//  * topic `leader.replication.throttled.replicas` and
//    `follower.replication.throttled.replicas` ("P:B,P:B,..." — partition P's
//    replica on broker B — or "*" for every replica of the topic) say which
//    replicas are throttled. A leader on broker L throttles partition P when
//    the leader list names P:L; a follower on broker F when the follower list
//    names P:F. A list that does not parse is ignored (with a warning): it
//    throttles nothing.
//
// The decision (Kafka's ReplicaManager.shouldLeaderThrottle and
// ReplicaFetcherThread.shouldFollowerThrottle): a throttled partition whose
// replica is not in the ISR is left out of the fetch (follower) or of the
// fetch response (leader) while the quota is exceeded — asked again later,
// never failed. In-sync replicas are never held back, so ordinary
// replication is not slowed; their bytes still count towards the rate, as
// Kafka counts every throttled partition's bytes.
//
// The rate is measured like Kafka's SimpleRate: the bytes recorded in the
// last `samples` samples of `sample_ms` each (11 x 1 s, Kafka's
// replication.quota.window.num and .window.size.seconds) over the time since
// the oldest of them began — at least one sample's span, so a first burst
// gets one sample's worth of credit and no more.
//
// Thread-safety: RateMeter and ThrottledReplicaList are plain values (not
// thread-safe); ReplicationQuota is thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/metadata_image.h"
#include "broker/storage/log_config.h"
#include "client/common/clock.h"
#include "client/common/ids.h"

namespace strata::replication {

using storage::kFollowerThrottledRate;
using storage::kFollowerThrottledReplicas;
using storage::kLeaderThrottledRate;
using storage::kLeaderThrottledReplicas;

// A byte rate over a sliding window of samples.
class RateMeter {
 public:
  struct Options {
    int samples = 11;
    int64_t sample_ms = 1000;
  };
  RateMeter() : RateMeter(Options{}) {}
  explicit RateMeter(Options options);

  void Record(int64_t bytes, int64_t now_ms);
  // Bytes per second at `now_ms`; 0 with nothing recorded in the window.
  double Rate(int64_t now_ms) const;
  // How long from `now_ms` until Rate() is at most `bound` bytes/s with
  // nothing more recorded (0: it is already); at most the window's span.
  int64_t MsUntilRateAtMost(double bound, int64_t now_ms) const;

 private:
  struct Sample {
    int64_t start_ms = 0;
    int64_t bytes = 0;
  };
  // Samples begun within the window as of `now_ms`, and their total.
  std::pair<const Sample*, int64_t> Window(int64_t now_ms) const;

  const Options options_;
  // Oldest first; at most options_.samples.
  std::deque<Sample> samples_;
};

// One topic's throttled-replicas list, parsed.
class ThrottledReplicaList {
 public:
  // "" (none), "*" (all), or comma-separated "partition:broker" entries,
  // spaces around each entry allowed (Kafka's
  // ThrottledReplicaListValidator). Anything else: INVALID_ARGUMENT.
  static absl::StatusOr<ThrottledReplicaList> Parse(std::string_view value);

  // Whether the list names `partition`'s replica on `broker`.
  bool Contains(int32_t partition, int32_t broker) const;
  bool all() const { return all_; }
  bool empty() const { return !all_ && replicas_.empty(); }

 private:
  bool all_ = false;
  std::set<std::pair<int32_t, int32_t>> replicas_;  // (partition, broker)
};

// Which side of replication a quota bounds.
enum class ReplicationSide { kLeader, kFollower };

// One side's throttle settings on one broker: what the image's configs say,
// parsed. Built from an image, or directly by tests.
struct ReplicationThrottle {
  // Bytes per second; none: unbounded.
  std::optional<int64_t> rate;
  // Per topic, the list from its `<side>.replication.throttled.replicas`
  // (topics without one are not throttled).
  std::map<std::string, ThrottledReplicaList, std::less<>> topics;

  // The settings `image` holds for `side` on broker `broker_id`. A value
  // that does not parse is left out, with a warning — once per value when
  // `warned` keeps the ones warned about.
  static ReplicationThrottle FromImage(const metadata::MetadataImage& image, ReplicationSide side,
                                       int32_t broker_id, std::set<std::string>* warned = nullptr);
};

// Kafka's ReplicationQuotaManager: one per side per broker.
class ReplicationQuota {
 public:
  // `clock` is required and outlives the quota.
  ReplicationQuota(ReplicationSide side, int32_t broker_id, Clock* clock,
                   RateMeter::Options window = {});

  // Takes the settings in `image` (null: none). Cheap when `image` is the
  // one taken last, so callers may pass the current image on every use.
  void Update(const std::shared_ptr<const metadata::MetadataImage>& image);
  // Takes `throttle` as the settings, until Update brings an image other
  // than the one it took last.
  void Configure(ReplicationThrottle throttle);

  // Whether `tp`'s replica on this broker is in this side's throttled list.
  bool IsThrottled(const TopicPartition& tp) const;
  // Whether that list names any topic (when not, no partition is).
  bool AnyThrottled() const;
  // Whether the measured rate is above the configured one.
  bool IsQuotaExceeded() const;
  // The decision: throttled, not in sync, and the quota exceeded.
  bool ShouldThrottle(const TopicPartition& tp, bool in_sync) const;
  // Counts `bytes` of throttled-partition traffic (even over the quota).
  void Record(int64_t bytes);
  // How long until the quota stops being exceeded (0: it is not now).
  int64_t ThrottleTimeMs() const;
  // The measured rate in bytes/s, for logs and tests.
  double Rate() const;

  ReplicationSide side() const { return side_; }

 private:
  bool IsQuotaExceededLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const ReplicationSide side_;
  const int32_t broker_id_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  // The image the settings came from (kept, so that its address is not
  // reused by another while it is compared against).
  std::shared_ptr<const metadata::MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  ReplicationThrottle throttle_ ABSL_GUARDED_BY(mu_);
  RateMeter meter_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> warned_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::replication
