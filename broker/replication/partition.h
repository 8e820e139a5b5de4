// Partition: this broker's replica of one partition — its role (leader or
// follower) in a leader epoch and the replication state that goes with it,
// after Kafka's kafka.cluster.Partition. ReplicaManager holds one per
// partition placed on this broker and routes requests to it.
//
// As leader:
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
// Thread-safe, with two locks, always taken in this order (with
// ReplicaManager's own lock between them when both are needed):
//  * leader_isr_update_lock() (Kafka's leaderIsrUpdateLock): leader appends
//    hold it shared, a term change (MakeLeaderOrFollower into a new epoch)
//    exclusive, so no append of an old term lands after the replica became
//    a follower (and truncated). An absl::Mutex: a waiting role change holds
//    off new appends instead of starving behind them. The lock outlives
//    terms: one per Partition object, for good.
//  * the state lock. Follower truncation and appends run under it, so a
//    role change never interleaves with them.
// A Partition never calls into the ReplicaManager; what changed comes back
// in return values, so the caller can wake waiters with no lock held.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/metadata_image.h"
#include "broker/replication/results.h"
#include "broker/storage/log.h"
#include "client/common/clock.h"
#include "client/common/error_code.h"
#include "client/common/ids.h"

namespace strata::replication {

struct PartitionOptions {
  BrokerId local_broker{-1};
  int64_t replica_lag_time_max_ms = 30000;
  // Sends an ISR change to the controller and later calls
  // OnIsrChangeResult. Called with the partition's state lock held: it must
  // only queue the request.
  std::function<void(IsrChange)> alter_partition;
  // A storage operation on the log failed (the disk, or a refused batch:
  // the callee tells them apart). Called with no lock of this partition
  // held: a disk failure takes the directory offline, which calls back into
  // the ReplicaManager.
  std::function<void(const storage::Log&, const absl::Status&)> on_storage_failure;
  Clock* clock = nullptr;  // required
};

class Partition {
 public:
  Partition(TopicPartition tp, PartitionOptions options);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  const TopicPartition& topic_partition() const { return tp_; }

  // --- Metadata ---
  // Whether the image's `p` (of topic `topic_id`) continues the term this
  // replica is in: same topic incarnation, same leader, same leader epoch.
  bool SameTerm(const std::string& topic_id, const metadata::PartitionInfo& p) const;
  absl::Mutex& leader_isr_update_lock() ABSL_LOCK_RETURNED(leader_isr_update_lock_) {
    return leader_isr_update_lock_;
  }
  struct RoleChange {
    bool new_term = false;    // a new leader epoch or topic incarnation began
    bool was_leader = false;  // this broker led the term before
    bool is_leader = false;
    Epoch leader_epoch{-1};  // the term now
    // Something a parked operation may wait on moved: the term, the
    // partition epoch (the ISR) or the high watermark.
    bool changed = false;
  };
  // Takes the role the image gives: `p` of topic `topic_id`, stored in
  // `log`. A new term starts from scratch (no follower progress, no pending
  // ISR change); as leader it records the epoch in the log, as follower it
  // truncates before fetching. When SameTerm() is false the caller must
  // hold leader_isr_update_lock() exclusively (unless the Partition is new).
  RoleChange MakeLeaderOrFollower(std::shared_ptr<storage::Log> log, const std::string& topic_id,
                                  const metadata::PartitionInfo& p, int32_t min_insync_replicas,
                                  bool unclean_allowed);
  // The partition left the ReplicaManager's map (another topic took its
  // name, it moved away, or its log would not open): every later request
  // finds it neither leading nor following. Returns the epoch it led in, if
  // it led.
  std::optional<Epoch> Detach();

  // --- State, as the data path reads it ---
  struct Snapshot {
    std::shared_ptr<storage::Log> log;
    std::string topic_id;
    bool is_leader = false;
    BrokerId leader{-1};
    Epoch leader_epoch{-1};
    // As a follower: the high watermark the leader's last fetch answer in
    // this term carried (uncapped by this replica's log end, unlike its
    // own); -1 as leader or before the first answer.
    Offset leader_high_watermark{-1};
  };
  Snapshot snapshot() const;
  bool IsLeader() const;
  // -1 when the partition has no leader (or was detached).
  BrokerId leader() const;
  std::shared_ptr<storage::Log> log() const;

  // --- Leader ---
  // Appends v2 batches as leader of the current epoch. With acks=-1, an ISR
  // smaller than min.insync.replicas refuses the append
  // (NOT_ENOUGH_REPLICAS); otherwise the result carries what CheckAcked
  // needs. Sets `*appended` when the log end moved. `origin`: how the log
  // checks producer ids and sequences (storage::AppendOrigin). A batch of
  // an idempotent producer that the log already holds is not appended
  // again: the result carries the original's offsets (and, for acks=-1,
  // waits for the original to be replicated).
  ProduceResult AppendRecordsToLeader(
      std::string batches, int32_t acks, bool* appended,
      storage::AppendOrigin origin = storage::AppendOrigin::kClient);
  // Appends the marker ending producer `producer_id`'s transaction here
  // (storage::Log::AppendTxnMarker), as leader of the current epoch and
  // with acks=all's checks: NOT_ENOUGH_REPLICAS below min.insync.replicas;
  // the result carries what CheckAcked needs. INVALID_PRODUCER_EPOCH (47) /
  // TRANSACTION_COORDINATOR_FENCED (52) for a marker the producer state
  // refuses. Sets `*appended` when the log end moved.
  ProduceResult AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                const record::EndTxnMarker& marker, bool* appended);
  // See ReplicaManager::CheckAcked; leader_hint is left to the caller.
  std::optional<ProduceResult> CheckAcked(Offset required_offset, Epoch leader_epoch) const;
  // ListOffsets in the leader's log as looked up: timestamp -1 (latest: the
  // high watermark), -2 (earliest), -3 (the record with the largest
  // timestamp), -4 (earliest local), else the first offset at or after it
  // that consumers can see. Reads the log only, no replica state.
  // `committed` (isolation_level=read_committed): LATEST is the last stable
  // offset, and lookups find only records below it.
  static OffsetResult FetchOffsetForTimestamp(const Snapshot& replica, int64_t timestamp,
                                              bool committed = false);
  // Whether a consumer (resp. follower) read at `offset` would now return
  // data, or an error.
  // Whether a consumer fetching at `offset` would get records: below the
  // high watermark, or the last stable offset when `committed`.
  bool HasDataAt(Offset offset, bool committed = false) const;
  bool FollowerHasDataAt(Offset offset) const;
  // Records that follower `replica` has everything below `fetch_offset`
  // (moving the high watermark and proposing ISR changes as that allows).
  // `offline_why`: why this replica is offline, null when it is not. The
  // result carries the watermarks, or the error a follower acts on
  // (NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR, FENCED_ /
  // UNKNOWN_LEADER_EPOCH, OFFSET_OUT_OF_RANGE); `log` is what to read the
  // records from (null after an error).
  struct FollowerFetch {
    FetchResult result;
    std::shared_ptr<storage::Log> log;
    bool high_watermark_moved = false;
    // The follower reported a new log start (DeleteRecords may wait on it).
    bool low_watermark_moved = false;
  };
  FollowerFetch UpdateFollowerFetchState(BrokerId replica, Offset fetch_offset,
                                         Epoch current_leader_epoch, const std::string* offline_why,
                                         Offset follower_log_start_offset);
  // DeleteRecords: see ReplicaManager::DeleteRecords.
  DeleteRecordsResult DeleteRecords(Offset offset);
  // The least log start offset of this leader and its in-sync followers (a
  // follower that has not said yet counts as -1).
  DeleteRecordsResult LowWatermark() const;
  // OffsetForLeaderEpoch: where `epoch` ends in this leader's log.
  EpochEndResult EndOffsetForEpoch(Epoch current_leader_epoch, Epoch epoch,
                                   const std::string* offline_why) const;
  // Proposes removing followers that have not caught up for
  // replica.lag.time.max.ms, and sends again an ISR request whose outcome
  // is unknown (a timeout: it may have committed).
  void MaybeShrinkIsr();
  // Returns true when the change committed (the ISR and perhaps the high
  // watermark moved).
  // `isr_size_change`, when given, gets the committed ISR's size minus the
  // one it replaced (0 unless true is returned).
  bool OnIsrChangeResult(const IsrChange& change, const IsrChangeResult& result,
                         int* isr_size_change = nullptr);

  // --- Follower ---
  // What the replica fetcher needs, if this replica follows `leader` (and
  // did not stop following in this term).
  std::optional<FollowedPartition> FollowedFrom(BrokerId leader) const;
  // Applies the leader's answer to OffsetForLeaderEpoch(`asked_epoch`); see
  // ReplicaManager::ApplyEpochEnd. `repair_at`: a damaged replica being
  // rebuilt, cut there too (below the high watermark: those records are
  // damaged here and whole on the leader). Returns whether it applied
  // (false: the partition moved on, or needs no truncation).
  absl::StatusOr<bool> ApplyEpochEnd(Epoch leader_epoch, Epoch asked_epoch,
                                     const EpochEndResult& answer, std::optional<Offset> repair_at);
  // Appends what the leader sent for a fetch at `fetch_offset`; see
  // ReplicaManager::AppendFetched. Returns whether the log or its high
  // watermark moved.
  absl::StatusOr<bool> AppendFetched(Epoch leader_epoch, Offset fetch_offset,
                                     std::string_view records, Offset leader_high_watermark,
                                     Offset leader_log_start_offset = Offset(-1));
  // See ReplicaManager::StartAtLeaderLogStart. Returns whether the log was
  // restarted.
  bool StartAtLeaderLogStart(Epoch leader_epoch, Offset leader_log_start_offset);
  // Returns whether the log was truncated.
  bool TruncateToLeaderEnd(Epoch leader_epoch, Offset leader_end);
  // A damaged replica is to be cut once its leader answers an epoch query.
  void RequestTruncation();

 private:
  struct FollowerProgress {
    Offset log_end_offset{-1};  // unknown until its first fetch
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_ms = 0;
    Offset leader_end_at_last_fetch{-1};
    Offset log_start_offset{-1};  // as its last fetch said
  };
  // Everything a term owns: a new term starts from a fresh State.
  struct State {
    std::shared_ptr<storage::Log> log;
    std::string topic_id;
    BrokerId leader{-1};
    Epoch leader_epoch{-1};
    int32_t partition_epoch = -1;
    std::vector<BrokerId> replicas;
    std::vector<BrokerId> isr;
    int32_t min_insync_replicas = 1;
    // Leader state.
    std::map<BrokerId, FollowerProgress> followers;
    Offset epoch_start_offset{0};
    // The ISR asked for and not known to be refused: until the image or an
    // answer settles it, the high watermark counts it too (so an expansion
    // whose fate is unknown never lets it pass the new member).
    std::optional<std::vector<BrokerId>> pending_isr;
    int32_t pending_partition_epoch = -1;
    int64_t pending_sent_ms = 0;
    bool pending_awaiting_answer = false;
    // An earlier send's outcome is unknown (it may have committed): only a
    // refusal decided after the partition epoch check settles it now.
    bool pending_maybe_committed = false;
    // Follower state.
    bool needs_truncation = false;
    // The leader's high watermark as its last fetch answer gave it.
    Offset leader_high_watermark{-1};
    bool unclean_allowed = false;
    // Why this follower stopped replicating in this term (empty: it did
    // not): the leader's log lacks records this replica knows committed.
    std::string stopped;
  };

  bool SameTermLocked(const std::string& topic_id, const metadata::PartitionInfo& p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool IsLeaderLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The log and epoch an append as leader goes to; false with the error in
  // `result` when this broker does not lead (or, for acks=-1, the ISR is
  // below min.insync.replicas).
  bool LeaderForAppend(int32_t acks, ProduceResult& result, std::shared_ptr<storage::Log>& log,
                       Epoch& leader_epoch) const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether this broker still leads in `leader_epoch` (with
  // leader_isr_update_lock_ held, so the role cannot change); the error in
  // `result` if not.
  bool StillLeaderIn(Epoch leader_epoch, ProduceResult& result) const ABSL_LOCKS_EXCLUDED(mu_);

  // Whether this replica follows in `leader_epoch`.
  bool FollowingLocked(Epoch leader_epoch) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  DeleteRecordsResult LowWatermarkLocked(Offset offset) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether this broker leads in `current_leader_epoch` (what a follower's
  // request names); otherwise fills the error a follower acts on.
  bool LeaderInEpochLocked(Epoch current_leader_epoch, const std::string* offline_why,
                           ErrorCode* error, std::string* message) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Raises the high watermark to what the ISR (with a pending addition)
  // has; returns whether it moved.
  bool MaybeAdvanceHighWatermarkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProposeIsrLocked(std::vector<BrokerId> new_isr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendPendingIsrLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `repair`: cutting a damaged replica, below its high watermark too.
  absl::Status TruncateLocked(Offset offset, bool repair) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteFailure(const storage::Log& log, const absl::Status& status) const;

  const TopicPartition tp_;
  const PartitionOptions options_;
  Clock* const clock_;

  absl::Mutex leader_isr_update_lock_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::replication
