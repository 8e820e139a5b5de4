// ReplicaManager: the partitions this broker holds a replica of, and the data
// path to them — produce to leaders, fetch from leaders (consumers and
// follower replicas), offset lookups, and the follower side of replication.
//
// It follows the metadata image: for each partition whose replicas include
// this broker it opens (or creates) the log and records whether this broker
// leads it and in which leader epoch; when a partition leaves the image
// (topic deleted) its log is deleted. Logs found on disk at start for
// partitions the image does not (yet) mention are left alone: the image may
// not have caught up.
//
// As leader (after Kafka's Partition):
//  * each follower's log end offset is its last fetch offset, and it is
//    caught up at a fetch that reaches the leader's log end (or the log end
//    the leader had at its previous fetch);
//  * the high watermark is the smallest log end offset in the ISR; it only
//    rises; consumers read below it; acks=all completes when it passes the
//    batch;
//  * a follower in the ISR that has not caught up for
//    replica.lag.time.max.ms is proposed for removal, and one outside it
//    that reached the high watermark (and the start of this leader epoch) is
//    proposed for addition — one AlterPartition at a time per partition,
//    carrying the partition epoch. Until a change commits, the high
//    watermark counts the larger of the old and new ISR (KIP-497's
//    "maximal ISR"), so a removal never advances it early.
// As follower: a new leader epoch means truncating first (the replica
// fetcher asks the leader where this log's last epoch ends — KIP-101 — and
// cuts the divergent suffix), then appending what the leader sends; the
// follower's high watermark is the leader's, capped at its own log end.
// A follower never truncates below its high watermark — those records were
// acknowledged — unless the topic allows unclean leader election: asked to,
// it stops replicating the partition for the rest of the leader epoch and
// logs an error naming it, keeping its copy for the operator.
//
// Thread-safe. Follower truncation and appends run under the manager's lock,
// so a role change never interleaves with them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/common/clock.h"
#include "broker/common/ids.h"
#include "broker/metadata/metadata_image.h"
#include "broker/storage/log_manager.h"
#include "strata/v1/common.pb.h"

namespace strata::replication {

struct ProduceResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_start_offset = -1;
  int32_t leader_hint = -1;
  // For acks=all: the offset the high watermark must reach, in this leader
  // epoch, before the produce is acknowledged.
  int64_t required_offset = -1;
  int32_t leader_epoch = -1;
};

struct FetchResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  std::string records;
  int32_t leader_hint = -1;
};

struct OffsetResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
  int32_t leader_hint = -1;
};

struct EpochEndResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
  int64_t log_end_offset = -1;
};

// An ISR change a leader wants; the server sends it to the controller.
struct IsrChange {
  TopicPartition tp;
  std::string topic_id;
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<int32_t> new_isr;
};

// What the controller answered to an IsrChange.
struct IsrChangeResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<int32_t> isr;
};

// A partition this broker follows, as the replica fetcher sees it.
struct FollowedPartition {
  TopicPartition tp;
  int32_t leader_epoch = -1;
  bool needs_truncation = false;
  int64_t log_end_offset = 0;
  // The latest epoch in the local log (-1: none), for OffsetForLeaderEpoch.
  int32_t latest_epoch = -1;
};

struct ReplicaManagerOptions {
  int32_t broker_id = -1;
  int64_t replica_lag_time_max_ms = 30000;
  // A topic's min.insync.replicas (its config, else the broker's).
  std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas;
  // A topic's unclean.leader.election.enable (its config, else the
  // broker's): only then may a follower truncate below its high watermark.
  std::function<bool(const metadata::TopicInfo&)> unclean_leader_election;
  // Sends an ISR change to the controller and later calls
  // OnIsrChangeResult. Called with the manager's lock held: it must only
  // queue the request.
  std::function<void(IsrChange)> alter_partition;
  // Called when a replica goes offline (its log directory failed, or its
  // log is damaged), so the server tells the controller at once. Called
  // without the manager's lock.
  std::function<void()> on_offline;
  Clock* clock = nullptr;  // the real clock when null
};

class ReplicaManager {
 public:
  ReplicaManager(storage::LogManager* logs, ReplicaManagerOptions options);

  // Brings the local replicas in line with `image` (ignored when older than
  // the one applied).
  void OnMetadata(const std::shared_ptr<const metadata::MetadataImage>& image);
  // The metadata offset this node had committed when it started. Until the
  // image reaches it, the image is a replay of the past: a log on disk that
  // belongs to another topic id (a topic deleted and created again) is
  // neither adopted nor deleted, since the image will get to its topic.
  void SetCaughtUpOffset(int64_t offset);

  // --- Clients ---
  // Appends one or more v2 batches to a partition this broker leads. With
  // acks=-1, an ISR smaller than min.insync.replicas refuses the append
  // (NOT_ENOUGH_REPLICAS); otherwise the result carries what CheckAcked
  // needs.
  ProduceResult Append(const std::string& topic, int32_t partition, std::string batches,
                       int32_t acks);
  // Where an acks=all append stands: nullopt while the high watermark is
  // below `required_offset`; NONE once it passed (or
  // NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
  // min.insync.replicas meanwhile); NOT_LEADER_OR_FOLLOWER when this broker
  // no longer leads in `leader_epoch` (the client retries on the new leader).
  std::optional<ProduceResult> CheckAcked(const std::string& topic, int32_t partition,
                                          int64_t required_offset, int32_t leader_epoch);
  // Reads whole batches from `offset` up to the high watermark: at least
  // one batch when there is one, then up to `max_bytes`; with max_bytes 0,
  // only the watermarks.
  FetchResult Read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes);
  // timestamp -1: latest (the high watermark), -2: earliest, else the first
  // offset at or after it.
  OffsetResult ListOffset(const std::string& topic, int32_t partition, int64_t timestamp);
  // Whether a consumer read at `offset` would now return data (or an error).
  bool HasDataAt(const std::string& topic, int32_t partition, int64_t offset);

  // --- Followers fetching from this leader ---
  // Records that follower `replica_id` has everything below `fetch_offset`
  // (moving the high watermark and the ISR as that allows), then reads from
  // there up to the log end.
  FetchResult ReadForFollower(int32_t replica_id, const std::string& topic, int32_t partition,
                              int64_t fetch_offset, int32_t current_leader_epoch,
                              int32_t max_bytes);
  // Whether a follower read at `offset` would now return data (or an error).
  bool FollowerHasDataAt(const std::string& topic, int32_t partition, int64_t offset);
  // OffsetForLeaderEpoch: where `epoch` ends in this leader's log.
  EpochEndResult EndOffsetForEpoch(const std::string& topic, int32_t partition,
                                   int32_t current_leader_epoch, int32_t epoch);

  // --- The replica fetcher, on a follower ---
  // The leaders this broker follows partitions of.
  std::vector<int32_t> LeadersFollowed() const;
  std::vector<FollowedPartition> FollowedFrom(int32_t leader) const;
  // Applies the leader's answer to OffsetForLeaderEpoch(`asked_epoch`):
  // truncates the divergent suffix. Done (no more truncation needed) when
  // the leader knew the epoch asked for; otherwise the next round asks
  // about the epoch before. Ignored if the partition's leader epoch moved.
  // An error (the truncation failed) leaves truncation pending.
  absl::Status ApplyEpochEnd(const TopicPartition& tp, int32_t leader_epoch, int32_t asked_epoch,
                     const EpochEndResult& answer);
  // Appends what the leader sent for a fetch at `fetch_offset`. Ignored when
  // the partition moved on (new epoch, truncation pending, log end moved).
  absl::Status AppendFetched(const TopicPartition& tp, int32_t leader_epoch, int64_t fetch_offset,
                             std::string_view records, int64_t leader_high_watermark);
  // A fetch past the leader's log end (only after an unclean election):
  // truncate to the leader's log end.
  void TruncateToLeaderEnd(const TopicPartition& tp, int32_t leader_epoch, int64_t leader_end);

  // --- ISR upkeep ---
  // Proposes removing followers that have not caught up for
  // replica.lag.time.max.ms, and sends again an ISR request whose outcome
  // is unknown (a timeout: it may have committed). Called periodically.
  void MaybeShrinkIsr();
  void OnIsrChangeResult(const IsrChange& change, const IsrChangeResult& result);

  // Partitions this broker leads (for controlled shutdown).
  int LeaderCount() const;

  // --- Storage failures (a full or broken disk, a damaged log) ---
  // Replicas this broker cannot serve, as (topic id, partition), for the
  // controller: it moves their leadership away and takes this broker out of
  // their ISRs. A replica goes offline when its log directory fails (every
  // replica in it: clients get KAFKA_STORAGE_ERROR, followers stop
  // fetching), or when its log is damaged (a batch whose CRC fails on read
  // or scrub, or a log that cannot be opened).
  std::vector<std::pair<std::string, int32_t>> OfflineReplicas() const;
  // Repairs damaged replicas that another live in-sync replica can rebuild
  // once the controller has taken this broker out of their ISR: the log is
  // cut at its first bad batch (below the high watermark, since those
  // records are damaged here and whole elsewhere) and it follows again. A
  // damaged replica that is the last in-sync copy stays offline, untouched.
  // Also scrubs: re-checks the CRCs of flushed data, up to
  // `scrub_bytes` per call, round-robin over the logs; returns true when
  // that finished a pass over every log. Called periodically.
  bool MaybeRepairAndScrub(size_t scrub_bytes);

  // Blocks until something happened after `seen` (a value from progress()):
  // an append, a high watermark move, a role change; or `deadline` passes.
  // Returns the current count.
  uint64_t WaitForProgress(uint64_t seen, absl::Time deadline) const;
  uint64_t progress() const;
  // Counts as progress: wakes every waiter (a newly parked operation).
  void Nudge();

  // The image last applied (for endpoints of leaders).
  std::shared_ptr<const metadata::MetadataImage> image() const;

 private:
  struct FollowerProgress {
    int64_t log_end_offset = -1;  // unknown until its first fetch
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_ms = 0;
    int64_t leader_end_at_last_fetch = -1;
  };
  struct Replica {
    std::shared_ptr<storage::Log> log;
    std::string topic_id;
    int32_t leader = -1;
    int32_t leader_epoch = -1;
    int32_t partition_epoch = -1;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    int32_t min_insync_replicas = 1;
    // Leader state.
    std::map<int32_t, FollowerProgress> followers;
    int64_t epoch_start_offset = 0;
    // The ISR asked for and not known to be refused: until the image or an
    // answer settles it, the high watermark counts it too (so an expansion
    // whose fate is unknown never lets it pass the new member).
    std::optional<std::vector<int32_t>> pending_isr;
    int32_t pending_partition_epoch = -1;
    int64_t pending_sent_ms = 0;
    bool pending_awaiting_answer = false;
    // An earlier send's outcome is unknown (it may have committed): only a
    // refusal decided after the partition epoch check settles it now.
    bool pending_maybe_committed = false;
    // Follower state.
    bool needs_truncation = false;
    bool unclean_allowed = false;
    // Why this follower stopped replicating in this term (empty: it did
    // not): the leader's log lacks records this replica knows committed.
    std::string stopped;
    // Kafka's leaderIsrUpdateLock: leader appends hold it shared, role
    // changes exclusive, so no append of an old term lands after the
    // replica became a follower (and truncated). An absl::Mutex: a waiting
    // role change holds off new appends instead of starving behind them.
    std::shared_ptr<absl::Mutex> role_mu;
  };
  // Copies the replica's state, or fills `error` the way a client expects.
  bool Lookup(const std::string& topic, int32_t partition, bool need_leader, Replica* out,
              v1::ErrorCode* error, std::string* message, int32_t* leader_hint);
  // Raises the high watermark to what the ISR (with a pending addition) has.
  void MaybeAdvanceHighWatermarkLocked(Replica& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProposeIsrLocked(const TopicPartition& tp, Replica& r, std::vector<int32_t> new_isr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendPendingIsrLocked(const TopicPartition& tp, Replica& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The replica if this broker leads it in `current_leader_epoch` (what a
  // follower's request names); otherwise null and the error a follower
  // acts on (NOT_LEADER_OR_FOLLOWER, FENCED_ / UNKNOWN_LEADER_EPOCH).
  Replica* LeaderInEpochLocked(const TopicPartition& tp, int32_t current_leader_epoch,
                               v1::ErrorCode* error, std::string* message, int32_t* leader_hint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The follower's replica if it still follows in `leader_epoch`.
  Replica* FollowingLocked(const TopicPartition& tp, int32_t leader_epoch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `repair`: cutting a damaged replica, below its high watermark too.
  absl::Status TruncateFollowerLocked(const TopicPartition& tp, Replica& r, int64_t offset,
                                      bool repair = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads whole batches from `offset` below `max_offset` into `result`,
  // checking each batch's CRC: a damaged one ends the read there (and the
  // replica goes offline, see MarkDamaged).
  void ReadInto(const TopicPartition& tp, const std::shared_ptr<storage::Log>& log, int64_t offset,
                int32_t max_bytes, Offset max_offset, FetchResult* result);
  // Acts on a failed storage operation on `tp`'s log: a disk failure takes
  // the whole log directory offline (through the log manager). Damage is
  // found where the bytes are read (ReadInto) or the log opened.
  void NoteFailure(const TopicPartition& tp, const storage::Log& log, const absl::Status& status);
  // `tp`'s log is damaged from `offset` on (-1: it cannot be opened).
  void MarkDamaged(const TopicPartition& tp, int64_t offset, const std::string& why);
  // The log manager took `partitions` offline with their directory.
  void OnDirOffline(const std::vector<TopicPartition>& partitions, const std::string& why);

  // Applies `image` (OnMetadata and Reapply hold apply_mu_).
  void ApplyLocked(const std::shared_ptr<const metadata::MetadataImage>& image)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // Applies the current image again (a log came back after a repair).
  void Reapply();

  const int32_t broker_id_;
  storage::LogManager* const logs_;
  // Serialises image applications; taken before mu_.
  absl::Mutex apply_mu_;
  const ReplicaManagerOptions options_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const metadata::MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TopicPartition, Replica> replicas_ ABSL_GUARDED_BY(mu_);
  uint64_t progress_ ABSL_GUARDED_BY(mu_) = 0;
  // A replica this broker cannot serve (see OfflineReplicas).
  struct Offline {
    std::string why;
    // A damaged log: where the damage starts (-1: the log would not open).
    // None: its log directory failed.
    std::optional<int64_t> damaged_at;
    // Being rebuilt: followed again, and cut at damaged_at once the leader
    // answers its epoch query.
    bool repairing = false;
  };
  absl::flat_hash_map<TopicPartition, Offline> offline_ ABSL_GUARDED_BY(mu_);
  // The scrub's position: the partition it checks next, and from where.
  TopicPartition scrub_tp_ ABSL_GUARDED_BY(mu_);
  int64_t scrub_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t caught_up_offset_ ABSL_GUARDED_BY(mu_) = 0;
};

// Maps a storage error to the code a Kafka client expects.
v1::ErrorCode ErrorCodeFor(const absl::Status& status);

}  // namespace strata::replication
