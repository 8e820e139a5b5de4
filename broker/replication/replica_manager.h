// ReplicaManager: the partitions this broker holds a replica of, and the data
// path to them — produce to leaders, fetch from leaders (consumers and
// follower replicas), offset lookups, and the follower side of replication.
//
// It follows the metadata image: for each partition whose replicas include
// this broker it opens (or creates) the log and records whether this broker
// leads it and in which leader epoch; when a partition leaves the image
// (topic deleted, or the replica reassigned away) its log is deleted. Logs
// found on disk at start for partitions the image does not place here are
// left alone until the image has caught up (see
// ReplicaManagerOptions::incarnation_id); then they are strays (moved away
// while this broker was down) and are deleted.
//
// Each partition's replica state lives in a Partition (partition.h: the
// leader's view of its followers, the ISR and the high watermark, the
// follower's truncation); this class is the map from topic-partition to
// Partition and the routing of requests to it (replica_manager.cc), the
// application of metadata images and the leadership listeners
// (replica_metadata.cc), the replicas that storage failures took offline,
// their repair and the scrub (replica_repair.cc), and the notifications
// others wait on.
//
// Thread-safe. The manager's lock guards the map, the image and the offline
// replicas; it may be held while taking a Partition's state lock, never the
// reverse (see partition.h for the order of all three locks).
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
#include "broker/metadata/metadata_image.h"
#include "broker/replication/partition.h"
#include "broker/replication/replication_quota.h"
#include "broker/storage/log_manager.h"
#include "client/common/clock.h"
#include "client/common/error_code.h"
#include "client/common/ids.h"

namespace strata::replication {

// This broker became the leader of a partition, or stopped leading it
// (Kafka's onLeadershipChange: a group or transaction coordinator loads or
// unloads what it keeps in the partition).
struct LeadershipChange {
  enum class Kind { kBecameLeader, kResigned };
  Kind kind = Kind::kBecameLeader;
  TopicPartition tp;
  // kBecameLeader: the epoch it leads in (a leader re-elected in a new
  // epoch is told again, with no resignation between). kResigned: the
  // partition's new leader epoch, or the last epoch led when the partition
  // left this broker — never below an epoch announced to the listener as
  // led, so a coordinator unloads only what it loaded earlier.
  Epoch leader_epoch{-1};
};

struct ReplicaManagerOptions {
  int32_t broker_id = -1;
  // This process's registration. Logs on disk that no image places here
  // are deleted (as strays) only once an image caught up with the metadata
  // log shows this registration unfenced — proof that the controller saw
  // it apply the log up to its registration. Empty: never.
  std::string incarnation_id;
  int64_t replica_lag_time_max_ms = 30000;
  // A topic's min.insync.replicas (its config, else the broker's).
  std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas;
  // A topic's unclean.leader.election.enable (its config, else the
  // broker's): only then may a follower truncate below its high watermark.
  std::function<bool(const metadata::TopicInfo&)> unclean_leader_election;
  // Sends an ISR change to the controller and later calls
  // OnIsrChangeResult. Called with a partition's lock held: it must only
  // queue the request.
  std::function<void(IsrChange)> alter_partition;
  // Called when a replica goes offline (its log directory failed, or its
  // log is damaged), so the server tells the controller at once. Called
  // without the manager's lock.
  std::function<void()> on_offline;
  // Called with no replica-manager or partition lock held, after anything
  // that may complete an operation parked on `tp`: an append as leader (its
  // followers wait for the log end), a high watermark move (consumers and
  // acks=all produces wait for it), an append as follower, a truncation, a
  // change of role, leader epoch or partition epoch, the replica going
  // offline, or the partition leaving this broker. May be called more than
  // once for one change, and from any thread — including from inside a
  // call into this manager that made the change (ReadForFollower moving the
  // high watermark, Read finding a damaged batch, Append): a purgatory whose
  // operations call in here while holding an operation's lock must not
  // block on that lock when checking the operations watching `tp` (Kafka's
  // DelayedOperation takes it with tryLock for this reason).
  std::function<void(const TopicPartition& tp)> on_partition_change;
  // An ISR change this broker asked for as a leader was committed: the new
  // ISR's size minus the old one's (Kafka's IsrShrinksPerSec and
  // IsrExpandsPerSec count these). Unset: nothing told.
  std::function<void(int isr_size_change)> on_isr_changed;
  Clock* clock = nullptr;  // required
};

// A replica this broker holds, for the metrics and DescribeLogDirs.
struct LocalReplicaStats {
  std::string topic;
  int32_t partition = 0;
  bool is_leader = false;
  int64_t size_bytes = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  // As a follower: the leader's high watermark as its last fetch answer
  // gave it (Partition::Snapshot); -1 as leader or before any answer.
  int64_t leader_high_watermark = -1;
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
  // needs. `origin` as Partition::AppendRecordsToLeader.
  ProduceResult Append(const std::string& topic, int32_t partition, std::string batches,
                       int32_t acks, storage::AppendOrigin origin = storage::AppendOrigin::kClient);
  // Appends the COMMIT / ABORT marker of producer `producer_id`'s
  // transaction to a partition this broker leads (WriteTxnMarkers, from a
  // transaction coordinator), with acks=all's checks; wait for it with
  // CheckAcked. See Partition::AppendTxnMarker.
  ProduceResult AppendTxnMarker(const std::string& topic, int32_t partition, int64_t producer_id,
                                int16_t producer_epoch, const record::EndTxnMarker& marker);
  // The active producers of a partition this broker leads (Kafka's
  // DescribeProducers: NOT_LEADER_OR_FOLLOWER elsewhere).
  ProducersResult DescribeProducers(const std::string& topic, int32_t partition);
  // Where an acks=all append stands: nullopt while the high watermark is
  // below `required_offset`; NONE once it passed (or
  // NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
  // min.insync.replicas meanwhile); NOT_LEADER_OR_FOLLOWER when this broker
  // no longer leads in `leader_epoch` (the client retries on the new leader).
  std::optional<ProduceResult> CheckAcked(const std::string& topic, int32_t partition,
                                          int64_t required_offset, int32_t leader_epoch);
  // How far a read may go (Kafka's FetchIsolation): consumers read up to
  // the high watermark; the group coordinator loading its partition as a
  // new leader reads to the log end, since everything there was written
  // with acks=all by an earlier leader and will be committed by this one;
  // a read_committed consumer reads up to the last stable offset and gets
  // the aborted transactions overlapping what it may read.
  enum class ReadLimit { kHighWatermark, kLastStableOffset, kLogEnd };
  // Reads whole batches from `offset` up to the limit: at least one batch
  // when there is one, then up to `max_bytes`; with max_bytes 0, only the
  // watermarks.
  // A consumer naming the leader epoch it knows (current_leader_epoch >= 0)
  // is fenced as Kafka fences it: FENCED_LEADER_EPOCH for an older epoch,
  // UNKNOWN_LEADER_EPOCH for a newer one; -1 checks nothing.
  FetchResult Read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes,
                   ReadLimit limit = ReadLimit::kHighWatermark, int32_t current_leader_epoch = -1);
  // timestamp -1: latest (the high watermark), -2: earliest, else the first
  // offset at or after it.
  // `committed`: read_committed (Partition::FetchOffsetForTimestamp).
  OffsetResult ListOffset(const std::string& topic, int32_t partition, int64_t timestamp,
                          bool committed = false);
  // Whether a consumer read at `offset` would now return data (or an error).
  bool HasDataAt(const std::string& topic, int32_t partition, int64_t offset,
                 ReadLimit limit = ReadLimit::kHighWatermark);

  // --- Followers fetching from this leader ---
  // Records that follower `replica_id` has everything below `fetch_offset`
  // (moving the high watermark and the ISR as that allows), then reads from
  // there up to the log end — unless the replication throttle holds the
  // partition back (replication_quota.h: listed in the topic's
  // leader.replication.throttled.replicas for this broker, the follower not
  // in the ISR, leader.replication.throttled.rate exceeded): then the
  // result has the watermarks and no records, and the follower asks again.
  // `follower_log_start_offset` is the follower's log start (-1: unknown),
  // kept for the low watermark.
  FetchResult ReadForFollower(int32_t replica_id, const std::string& topic, int32_t partition,
                              int64_t fetch_offset, int32_t current_leader_epoch, int32_t max_bytes,
                              int64_t follower_log_start_offset = -1);
  // Whether a follower read at `offset` would now return data (or an error).
  bool FollowerHasDataAt(int32_t replica_id, const std::string& topic, int32_t partition,
                         int64_t offset);
  // OffsetForLeaderEpoch: where `epoch` ends in this leader's log.
  EpochEndResult EndOffsetForEpoch(const std::string& topic, int32_t partition,
                                   int32_t current_leader_epoch, int32_t epoch);

  // DeleteRecords on the leader: moves the log start offset up to `offset`
  // (-1: the high watermark). OFFSET_OUT_OF_RANGE past the high watermark or
  // below -1; the result's low watermark is LowWatermark's after the move.
  DeleteRecordsResult DeleteRecords(const std::string& topic, int32_t partition, int64_t offset);
  // The least log start offset of the leader and its in-sync followers (as
  // their fetches last reported it); errors as Lookup's.
  DeleteRecordsResult LowWatermark(const std::string& topic, int32_t partition);

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
  // Appends what the leader sent for a fetch at `fetch_offset`, takes its
  // high watermark and moves the log start up to the leader's (capped at the
  // log end; -1: unknown). Ignored when the partition moved on (new epoch,
  // truncation pending, log end moved).
  absl::Status AppendFetched(const TopicPartition& tp, int32_t leader_epoch, int64_t fetch_offset,
                             std::string_view records, int64_t leader_high_watermark,
                             int64_t leader_log_start_offset = -1);
  // A fetch below the leader's log start, which is past this replica's log
  // end (retention or DeleteRecords removed what it lacks): empties the log
  // and restarts it at the leader's log start (Kafka's
  // truncateFullyAndStartAt).
  // Returns whether the log was restarted (false: the partition moved on, or
  // the restart failed).
  bool StartAtLeaderLogStart(const TopicPartition& tp, int32_t leader_epoch,
                             int64_t leader_log_start_offset);
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

  // The replicas this broker holds, as the metrics show them (online ones).
  std::vector<LocalReplicaStats> LocalReplicas() const;
  // The log directories (storage::LogManager::LogDirs): which holds which
  // partition's log, and which are offline.
  std::vector<storage::LogManager::LogDirInfo> LogDirs() const { return logs_->LogDirs(); }
  // Producer ids with state in the partitions this broker leads.
  int64_t ActiveProducerIds() const;

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
  // an append, a high watermark move, a role change; or `timeout` (real
  // time: a bound on the wait, not a reading of the Clock) passes.
  // Returns the current count.
  uint64_t WaitForProgress(uint64_t seen, absl::Duration timeout) const;
  uint64_t progress() const;
  // The same for role changes only: partitions this broker leads, follows
  // or holds offline, taken up or given up (every metadata image applied
  // counts as one, whether it moved a role here or not; images are few and
  // come merged). Waiters that only look at roles
  // (the fetcher threads, a shutdown waiting for its leaderships to move)
  // wait here, not woken by every append and high watermark move, as each
  // of their looks goes over every partition.
  uint64_t WaitForRoleChange(uint64_t seen, absl::Duration timeout) const;
  uint64_t role_progress() const;
  // Counts as progress of both kinds: wakes every waiter (a newly parked
  // operation, a fetcher thread retired).
  void Nudge();

  // The image last applied (for endpoints of leaders).
  std::shared_ptr<const metadata::MetadataImage> image() const;

  // Registers `listener` for the partitions this broker starts or stops
  // leading from now on (register before the first OnMetadata to hear of
  // every one). Changes reach listeners in the order images were applied,
  // with no lock held, on the thread applying metadata (or on one applying
  // an image concurrently); a listener must not block for long.
  void AddLeadershipListener(std::function<void(const LeadershipChange&)> listener);

 private:
  // What applying an image changed, to tell on_partition_change once no
  // lock is held (leadership changes are queued in order meanwhile).
  struct Applied {
    std::vector<TopicPartition> changed;
  };
  // Partition `tp` if this manager holds it, else null; and why it is
  // offline (nullopt: it is not).
  std::shared_ptr<Partition> Find(const TopicPartition& tp,
                                  std::optional<std::string>* offline_why = nullptr) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The partitions held: all, the online ones, or those a fetcher may
  // follow (online, or damaged and being rebuilt).
  enum class Which { kAll, kOnline, kFollowable };
  std::vector<std::shared_ptr<Partition>> Partitions(Which which) const ABSL_LOCKS_EXCLUDED(mu_);
  // The leader's replica for a client request, or null with `error` filled
  // the way a client expects.
  std::shared_ptr<Partition> Lookup(const std::string& topic, int32_t partition,
                                    Partition::Snapshot* out, ErrorCode* error,
                                    std::string* message, int32_t* leader_hint);
  // Counts as progress, and tells on_partition_change about `tp`.
  void Changed(const TopicPartition& tp) ABSL_LOCKS_EXCLUDED(mu_);
  // Counts as a role change (and so as progress).
  void RolesChangedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++progress_;
    ++role_progress_;
  }
  void Notify(const std::vector<TopicPartition>& tps) const ABSL_LOCKS_EXCLUDED(mu_);
  // Delivers queued leadership changes unless another thread already is.
  void DeliverLeadershipChanges() ABSL_LOCKS_EXCLUDED(listeners_mu_);
  // Reads whole batches from `offset` below `max_offset` into `result`,
  // checking each batch's CRC: a damaged one ends the read there (and the
  // replica goes offline, see MarkDamaged).
  void ReadInto(const TopicPartition& tp, const std::shared_ptr<storage::Log>& log, int64_t offset,
                int32_t max_bytes, Offset max_offset, FetchResult* result);
  // Acts on a failed storage operation on a log: a disk failure takes the
  // whole log directory offline (through the log manager). Damage is found
  // where the bytes are read (ReadInto) or the log opened.
  void NoteFailure(const storage::Log& log, const absl::Status& status);
  // `tp`'s log is damaged from `offset` on (-1: it cannot be opened).
  // Returns whether that was news (the replica just went offline).
  bool MarkDamaged(const TopicPartition& tp, int64_t offset, const std::string& why);
  // Records `partitions` as offline with their directory; returns whether
  // any was not already.
  bool TakeOffline(const std::vector<TopicPartition>& partitions, const std::string& why)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The log manager took `partitions` offline with their directory.
  void OnDirOffline(const std::vector<TopicPartition>& partitions, const std::string& why);

  // Applies `image` (OnMetadata and Reapply hold apply_mu_), queueing the
  // leadership changes in order.
  Applied ApplyLocked(const std::shared_ptr<const metadata::MetadataImage>& image)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // Applies the current image again (a log came back after a repair).
  void Reapply();

  const int32_t broker_id_;
  storage::LogManager* const logs_;
  // Serialises image applications; taken before mu_.
  absl::Mutex apply_mu_;
  const ReplicaManagerOptions options_;
  Clock* const clock_;
  // What each Partition is made with.
  const PartitionOptions partition_options_;
  // The leader side's replication throttle (ReadForFollower), following the
  // image applied.
  ReplicationQuota leader_quota_{ReplicationSide::kLeader, broker_id_, clock_};

  mutable absl::Mutex mu_;
  std::shared_ptr<const metadata::MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TopicPartition, std::shared_ptr<Partition>> partitions_ ABSL_GUARDED_BY(mu_);
  uint64_t progress_ ABSL_GUARDED_BY(mu_) = 0;
  // Moved by RolesChangedLocked only; progress_ moves with it.
  uint64_t role_progress_ ABSL_GUARDED_BY(mu_) = 0;
  // FollowedFrom's candidates: the followable partitions by leader as of
  // role_progress_ == followed_progress_ (each is checked again when
  // asked). Leaders move only with the image, which counts as a role
  // change, so a fetcher's round visits the partitions of its leader, not
  // every partition this broker holds. Weak: a partition that left (its
  // topic deleted) is not kept, with its open log, until the next regroup.
  mutable uint64_t followed_progress_ ABSL_GUARDED_BY(mu_) = ~uint64_t{0};
  mutable absl::flat_hash_map<int32_t, std::vector<std::weak_ptr<Partition>>> followed_
      ABSL_GUARDED_BY(mu_);
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
  // Whether the logs on disk that no caught-up image places here (replicas
  // moved away while this broker was down) have been deleted.
  bool strays_swept_ ABSL_GUARDED_BY(apply_mu_) = false;

  // Taken after apply_mu_ and never with mu_ or a partition's lock.
  absl::Mutex listeners_mu_;
  std::vector<std::function<void(const LeadershipChange&)>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  std::vector<LeadershipChange> undelivered_ ABSL_GUARDED_BY(listeners_mu_);
  bool delivering_ ABSL_GUARDED_BY(listeners_mu_) = false;
};

}  // namespace strata::replication
