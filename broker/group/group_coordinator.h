// The classic group coordinator (Kafka's GroupCoordinator and
// GroupMetadataManager): consumer groups whose state and committed offsets
// live in the internal topic __consumer_offsets.
//
// A group belongs to partition OffsetsPartitionFor(group) of that topic, and
// the broker leading that partition coordinates it. When this broker becomes
// leader of an offsets partition (OnBecameLeader), it reads the partition
// to its log end on its loader thread and rebuilds the groups and offsets
// there; until then their requests get COORDINATOR_LOAD_IN_PROGRESS. When
// it stops leading (OnResigned) it forgets them and answers NOT_COORDINATOR;
// requests parked meanwhile get that answer too. Requests for a partition
// it does not lead get NOT_COORDINATOR, and clients find the coordinator
// again.
//
// Every change that must survive a failover is written to the group's
// partition with acks=all before it is answered: committed offsets, and the
// group's metadata (generation, protocol, leader, members and their
// assignments) when a generation's assignment is handed out, when the
// group empties, when a static member is replaced, and tombstones when
// groups and offsets are deleted or expire. Records use Kafka's formats
// (group_records.h).
//
// Rebalances follow Kafka's classic protocol: members join (a dynamic member
// first gets its id with MEMBER_ID_REQUIRED, KIP-394), JoinGroup calls park
// until every member rejoined or the rebalance timeout passed (members that
// did not rejoin are removed), the first joiner leads and gets the members'
// subscriptions, SyncGroup hands everyone the leader's assignment. An empty
// group waits group.initial.rebalance.delay.ms for more members before its
// first generation. A member that sends nothing for its session timeout is
// removed (a rebalance follows). Static members (group.instance.id,
// KIP-345) that rejoin a Stable group replace their old id and keep their
// assignment without a rebalance; the old id is fenced (FENCED_INSTANCE_ID).
//
// Timers are operations in the purgatory: a group's rebalance waits on the
// group's key (the rebalance timeout), each member's session on its member
// key (its session timeout). Completion callbacks run with no lock held,
// on the calling thread, the purgatory's reaper, or the thread on which an
// append was acknowledged; they must not block.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/group/group_api.h"
#include "broker/group/group_metadata.h"
#include "broker/group/group_records.h"
#include "broker/purgatory/purgatory.h"
#include "broker/replication/results.h"
#include "client/common/clock.h"

namespace strata::group {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

struct CoordinatorOptions {
  int32_t broker_id = -1;
  int32_t offsets_topic_partitions = 50;      // offsets.topic.num.partitions
  int32_t min_session_timeout_ms = 6000;      // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;   // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
  int32_t max_group_size = 2147483647;        // group.max.size
  int64_t offsets_retention_ms = 604800000;   // offsets.retention.minutes (7 days)
  int32_t offset_metadata_max_bytes = 4096;   // offset.metadata.max.bytes

  Clock* clock = nullptr;                     // required
  purgatory::Purgatory* purgatory = nullptr;  // required
  // Appends `batch` (one v2 batch) to __consumer_offsets `partition` with
  // acks=all; `done` runs once, when the in-sync replicas have it (with the
  // batch's base offset) or it failed, on any thread.
  using AppendDone = std::function<void(ErrorCode, std::string message, int64_t base_offset)>;
  std::function<void(int32_t partition, std::string batch, AppendDone done)> append;
  // Reads whole batches of __consumer_offsets `partition` from `offset` up
  // to its log end (at least one batch when there is one).
  std::function<replication::FetchResult(int32_t partition, int64_t offset)> read;
  // The partition count of __consumer_offsets as it exists (unset, or -1
  // while it does not: offsets_topic_partitions), which places groups.
  std::function<int32_t()> offsets_topic_partition_count;
  // Whether a partition exists, for OffsetCommit's UNKNOWN_TOPIC_OR_PARTITION
  // (unset: not checked).
  std::function<bool(const std::string& topic, int32_t partition)> partition_exists;
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(CoordinatorOptions options);
  // Calls Shutdown().
  ~GroupCoordinator();

  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Answers every parked request with NOT_COORDINATOR (the clients go to
  // the next coordinator) and stops the loader. Later requests get
  // NOT_COORDINATOR.
  void Shutdown();

  // This broker leads __consumer_offsets `partition` in `leader_epoch`:
  // loads its groups (asynchronously).
  void OnBecameLeader(int32_t partition, int32_t leader_epoch);
  // It stopped leading it (the new epoch is `leader_epoch`): unloads its
  // groups unless a later epoch was loaded meanwhile.
  void OnResigned(int32_t partition, int32_t leader_epoch);
  // Topics were deleted: their committed offsets are removed (tombstones
  // written) from every group this broker coordinates.
  void OnTopicsDeleted(const std::vector<std::string>& topics);
  // Expires committed offsets past offsets.retention: those of groups that
  // have been empty that long, and of groups that never had members
  // (offsets committed from outside a generation). A group left without
  // offsets and members is deleted. Called periodically
  // (offsets.retention.check.interval.ms).
  void ExpireOffsets();

  int32_t PartitionFor(const std::string& group_id) const;
  // Whether this broker coordinates `group_id` now (its partition loaded).
  bool IsCoordinatorFor(const std::string& group_id) const;
  // Whether loading of some partition is still under way (tests, waits).
  bool Loading() const;

  void JoinGroup(JoinGroupRequest request, std::function<void(JoinGroupResponse)> done);
  void SyncGroup(SyncGroupRequest request, std::function<void(SyncGroupResponse)> done);
  GroupResult Heartbeat(const HeartbeatRequest& request);
  void LeaveGroup(LeaveGroupRequest request, std::function<void(LeaveGroupResponse)> done);
  void OffsetCommit(OffsetCommitRequest request, std::function<void(OffsetCommitResponse)> done);
  // Kafka's TxnOffsetCommit: checks the member as KIP-447 says (a group
  // it names must know it: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
  // FENCED_INSTANCE_ID; a group not known yet is created Empty), writes the
  // offsets as the producer's transactional records and keeps them pending
  // until OnTxnCompleted.
  void TxnOffsetCommit(TxnOffsetCommitRequest request,
                       std::function<void(OffsetCommitResponse)> done);
  // The marker of producer `producer_id`'s transaction was written to
  // __consumer_offsets `partition`, and the in-sync replicas have it: its
  // pending offsets there become the committed ones (`committed`) or are
  // dropped. While the partition loads, the load sees the marker itself.
  void OnTxnCompleted(int32_t partition, int64_t producer_id, bool committed);
  OffsetFetchResponse OffsetFetch(const OffsetFetchRequest& request);
  std::vector<GroupDescription> DescribeGroups(const std::vector<std::string>& group_ids);
  // The groups coordinated here; `states` filters by Kafka's state names
  // (case-insensitive), empty: all.
  ListGroupsResponse ListGroups(const std::vector<std::string>& states);
  void DeleteGroups(std::vector<std::string> group_ids,
                    std::function<void(std::vector<DeletedGroup>)> done);
  void OffsetDelete(OffsetDeleteRequest request, std::function<void(OffsetDeleteResponse)> done);

 private:
  struct Group;
  struct Effects;
  // Where a partition stands on this broker.
  struct PartitionState {
    bool loaded = false;
    int32_t epoch = -1;
  };
  using Assignments = std::map<std::string, std::string>;

  // The group if this broker coordinates it; otherwise null with `result`
  // saying why (INVALID_GROUP_ID, NOT_COORDINATOR,
  // COORDINATOR_LOAD_IN_PROGRESS), or null with no error when there is no
  // such group and `create` is false. With `create`, a missing group is
  // created Empty.
  std::shared_ptr<Group> Lookup(const std::string& group_id, bool create, bool allow_empty_id,
                                GroupResult* result);
  std::shared_ptr<Group> MakeGroup(GroupMetadata meta, int32_t partition);
  std::string NewMemberId(const std::string& client_id);

  // --- Rebalance steps, with the group's lock held; what must happen after
  // the lock is released goes into `fx`. ---
  // UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID / NOT_COORDINATOR /
  // COORDINATOR_NOT_AVAILABLE, or NONE for a current member.
  GroupResult ValidateMember(const Group& g, const std::string& member_id,
                             const std::string& group_instance_id) const;
  JoinGroupResponse CurrentGeneration(const Group& g, const std::string& member_id) const;
  void AddMemberAndRebalance(Group& g, const JoinGroupRequest& request,
                             const std::string& member_id,
                             std::function<void(JoinGroupResponse)> done, Effects& fx);
  void UpdateMemberAndRebalance(Group& g, const JoinGroupRequest& request,
                                std::function<void(JoinGroupResponse)> done, Effects& fx);
  void StaticMemberRejoin(const std::shared_ptr<Group>& g, const JoinGroupRequest& request,
                          const std::string& old_id, const std::string& new_id,
                          std::function<void(JoinGroupResponse)> done, Effects& fx);
  void MaybePrepareRebalance(Group& g, const std::string& reason, Effects& fx);
  void PrepareRebalance(Group& g, const std::string& reason, Effects& fx);
  // Completes the join if every member rejoined (or `force`: the timeout).
  bool TryCompleteJoin(Group& g, bool force, Effects& fx);
  void CompleteJoin(Group& g, Effects& fx);
  void RemoveMemberAndUpdateGroup(Group& g, const std::string& member_id, const std::string& reason,
                                  Effects& fx);
  void ResetAndPropagateSyncError(Group& g, ErrorCode error, Effects& fx);
  // The largest rebalance timeout among the members.
  int32_t MaxRebalanceTimeout(const Group& g) const;
  // Writes the group's metadata (with `assignment` instead of the members'
  // current ones, when given); `then(error)` runs with the group's lock
  // held once the write is acknowledged or failed (not at all if the group
  // was unloaded meanwhile).
  void StoreGroup(const std::shared_ptr<Group>& g, const std::optional<Assignments>& assignment,
                  std::function<void(Group&, ErrorCode, Effects&)> then, Effects& fx);
  GroupValue GroupRecord(const Group& g, const std::optional<Assignments>& assignment) const;

  // Timers: a member's session, and the group's rebalance (or sync) wait.
  void ScheduleHeartbeat(Group& g, const std::string& member_id, Effects& fx);
  void ScheduleJoinTimer(Group& g, int64_t deadline_ms, Effects& fx);
  void RetireJoinTimer(Group& g, Effects& fx);
  void OnJoinTimer(const std::shared_ptr<Group>& g, uint64_t join_epoch);
  void OnSessionTimeout(const std::shared_ptr<Group>& g, const std::string& member_id,
                        uint64_t heartbeat_epoch);

  // Loading.
  void LoaderLoop();
  bool LoaderHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(loader_mu_);
  void Load(int32_t partition, int32_t epoch);
  void Unload(int32_t partition, int32_t epoch);
  // Appends records (key, value or tombstone) to `partition`; `done` after.
  using WriteDone = CoordinatorOptions::AppendDone;
  using Records = std::vector<std::pair<std::string, std::optional<std::string>>>;
  // Queues records (key, value or tombstone) for `partition` in the order
  // of the calls — made with the deciding group's lock held — and has `fx`
  // append them, in that order, once the lock is released; `done` after.
  // A transactional producer whose records these are (TxnOffsetCommit).
  struct TxnProducer {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
  };
  void WriteRecords(int32_t partition, Records records, WriteDone done, Effects& fx,
                    std::optional<TxnProducer> producer = std::nullopt);
  void DrainWrites(int32_t partition);
  struct PendingWrite {
    Records records;
    WriteDone done;
    std::optional<TxnProducer> producer;
  };
  struct WriteQueue {
    absl::Mutex mu;  // a leaf: held only to queue and dequeue
    std::deque<PendingWrite> items ABSL_GUARDED_BY(mu);
    bool draining ABSL_GUARDED_BY(mu) = false;
  };
  WriteQueue& QueueFor(int32_t partition);
  void RemoveGroupIfDead(const std::shared_ptr<Group>& g);
  // One committed offset checked (offset.metadata.max.bytes, the partition
  // exists) and, when good, its record added to `records`: its value, or
  // nullopt with the refusal in `result`.
  std::optional<OffsetValue> OffsetRecord(const std::string& group_id, const CommittedOffset& o,
                                          PartitionResult& result, Records& records) const;

  // Transactions completed on a partition while it was loading, applied
  // when the load ends (by producer id: committed?).
  std::map<int32_t, std::vector<std::pair<int64_t, bool>>> completed_while_loading_
      ABSL_GUARDED_BY(mu_);

  const CoordinatorOptions options_;

  mutable absl::Mutex mu_;
  std::map<int32_t, PartitionState> partitions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;

  // The loader: partitions to load, in order.
  absl::Mutex loader_mu_;
  std::deque<std::function<void()>> loader_queue_ ABSL_GUARDED_BY(loader_mu_);
  bool loader_stop_ ABSL_GUARDED_BY(loader_mu_) = false;
  std::thread loader_;

  absl::Mutex queues_mu_;
  std::map<int32_t, std::unique_ptr<WriteQueue>> write_queues_ ABSL_GUARDED_BY(queues_mu_);

  absl::Mutex id_mu_;
  std::mt19937_64 id_rng_ ABSL_GUARDED_BY(id_mu_);
};

}  // namespace strata::group
