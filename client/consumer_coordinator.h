// ConsumerCoordinator: a consumer's membership in its group and its
// committed offsets (Kafka's ConsumerCoordinator over AbstractCoordinator).
//
// Membership follows Kafka's classic protocol over GroupRpc:
//  - find the group's coordinator (FindCoordinator, any node);
//  - JoinGroup with protocol type "consumer" and one protocol per assignor
//    (partition.assignment.strategy order), each carrying
//    EncodeSubscription() of the sorted subscribed topics, the owned
//    partitions, the generation they came from and the assignor's user
//    data. A first join without a member id gets MEMBER_ID_REQUIRED and the
//    id to join with (KIP-394); the join is repeated with it at once.
//  - The leader (unless told skip_assignment, KIP-814) runs the chosen
//    assignor over every member's decoded subscription with partition
//    counts from metadata and sends the result in SyncGroup; followers send
//    none. Everyone gets its own assignment back.
//  - Eager assignors: before each join every owned partition is revoked
//    (committed first with enable.auto.commit, then
//    OnPartitionsRevoked). Cooperative (KIP-429): owned partitions are kept
//    through the rebalance; after SyncGroup only those no longer assigned
//    are revoked, and if any were, the member joins again at once (the
//    follow-up rebalance assigns them elsewhere). Only newly added
//    partitions are reported as assigned.
//  - A heartbeat thread sends Heartbeat every heartbeat.interval.ms while
//    the member belongs to a generation. REBALANCE_IN_PROGRESS asks for a
//    rejoin (the next Poll does it); UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION
//    and FENCED_INSTANCE_ID end the membership, and the next Poll reports
//    the owned partitions as lost (OnPartitionsLost, not revoked: another
//    member may own them already); NOT_COORDINATOR,
//    COORDINATOR_NOT_AVAILABLE and transport errors make it find the
//    coordinator again. If Poll() was not called for max.poll.interval.ms
//    the heartbeat thread leaves the group (LeaveGroup, for dynamic
//    members) and the next Poll joins again, as Kafka does.
//
// Commits carry the generation and member id when the consumer subscribes,
// and generation -1 with no member id when it assigns by hand. A commit
// rejected with ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or
// REBALANCE_IN_PROGRESS fails with Kafka's CommitFailedException text.
// Retriable coordinator errors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS, transport errors) are retried after
// retry.backoff.ms with the coordinator found again, up to the caller's
// deadline.
//
// Threading: one "poll thread" (the consumer's user) calls everything but
// Wakeup(); every RebalanceHost method except Nudge() is called on it, from
// inside Poll(), CommitSync(), Unsubscribe() or Close(), never with a lock
// held (a listener may call the consumer back). The heartbeat thread and
// GroupRpc completions share the membership state under a mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/group_rpc.h"
#include "client/partition_assignor.h"

namespace strata::client {

// What the coordinator needs from its consumer.
class RebalanceHost {
 public:
  virtual ~RebalanceHost() = default;
  // Partition counts of `topics` from fresh metadata; topics the cluster
  // does not have are left out.
  virtual std::map<std::string, int32_t> PartitionCounts(const std::set<std::string>& topics) = 0;
  // The position of every assigned partition that has one: what
  // auto-commit commits.
  virtual std::map<TopicPartition, int64_t> ConsumedPositions() = 0;
  // The listener's calls, with the consumer's assignment changed
  // accordingly (revoked and lost partitions are dropped after the
  // listener ran, assigned ones are added before it runs).
  virtual void PartitionsRevoked(const std::vector<TopicPartition>& partitions) = 0;
  virtual void PartitionsAssigned(const std::vector<TopicPartition>& partitions) = 0;
  virtual void PartitionsLost(const std::vector<TopicPartition>& partitions) = 0;
  // A Poll waiting for fetches should call the coordinator's Poll again
  // (a rejoin is needed, an answer came). Any thread, no lock held.
  virtual void Nudge() = 0;
};

struct GroupOptions {
  std::string group_id;
  std::string group_instance_id;  // empty: a dynamic member
  std::string client_id = "consumer";
  absl::Duration session_timeout = absl::Seconds(45);
  absl::Duration heartbeat_interval = absl::Seconds(3);
  absl::Duration rebalance_timeout = absl::Minutes(5);  // max.poll.interval.ms
  absl::Duration retry_backoff = absl::Milliseconds(100);
  absl::Duration request_timeout = absl::Seconds(30);
  bool auto_commit = true;
  absl::Duration auto_commit_interval = absl::Seconds(5);
};

// Kafka's membership states (AbstractCoordinator.MemberState).
enum class MemberState { kUnjoined, kPreparingRebalance, kCompletingRebalance, kStable };

using CommitCallback =
    std::function<void(const absl::Status&, const std::map<TopicPartition, int64_t>&)>;

class ConsumerCoordinator {
 public:
  // `assignors` non-empty, the preferred first. `rpc` and `host` must
  // outlive the coordinator. Starts the heartbeat thread.
  ConsumerCoordinator(GroupOptions options,
                      std::vector<std::unique_ptr<PartitionAssignor>> assignors, GroupRpc* rpc,
                      RebalanceHost* host);
  // Stops the heartbeat thread and cancels calls in flight; does not leave
  // the group (Close() does).
  ~ConsumerCoordinator();

  ConsumerCoordinator(const ConsumerCoordinator&) = delete;
  ConsumerCoordinator& operator=(const ConsumerCoordinator&) = delete;

  // The topics to subscribe to; a change asks for a rejoin. Empty with
  // `subscribed` false: manual assignment (commits only).
  void SetSubscription(std::set<std::string> topics);
  bool subscribed() const { return subscribed_; }
  const std::set<std::string>& subscription() const { return subscription_; }
  // Subscribed topics, plus, for the leader, every topic the group
  // subscribes to: the topics whose partition counts matter.
  std::set<std::string> TopicsOfInterest() const;
  // Fresh partition counts for TopicsOfInterest(): the leader asks for a
  // rebalance when they differ from those its assignment used.
  void CheckPartitionCounts(const std::map<std::string, int32_t>& counts);

  // Called at the start of every Consumer::Poll: notes the poll (for
  // max.poll.interval.ms), runs finished CommitAsync callbacks, reports
  // lost partitions, (re)joins the group when needed, and auto-commits
  // when due. Waits for a rebalance to finish until `deadline` only with
  // `wait_for_join`; otherwise a rebalance in progress goes on in the
  // background and a later Poll completes it. Errors are fatal to the
  // membership: FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL,
  // INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED, INVALID_GROUP_ID, ...
  absl::Status Poll(absl::Time deadline, bool wait_for_join);

  // Commits `offsets` (positions: the next record to read), retrying
  // retriable errors until `deadline`.
  absl::Status CommitSync(const std::map<TopicPartition, int64_t>& offsets, absl::Time deadline);
  // One attempt; `callback` (may be empty) runs on the poll thread, from a
  // later Poll(), CommitSync() or Close().
  void CommitAsync(const std::map<TopicPartition, int64_t>& offsets, CommitCallback callback);
  // Committed offsets of `partitions`; those without one are left out.
  absl::StatusOr<std::map<TopicPartition, int64_t>> FetchCommitted(
      const std::set<TopicPartition>& partitions, absl::Time deadline);

  // Revokes every owned partition (committing them first with auto-commit)
  // and leaves the group (dynamic members only); the consumer is then
  // unsubscribed.
  void Unsubscribe(absl::Time deadline);
  // Auto-commits, revokes (or, out of its generation, loses) the owned
  // partitions, leaves the group unless static, and stops the heartbeat
  // thread. Later calls do nothing.
  void Close(absl::Time deadline);

  // Makes a Poll waiting for a rebalance return (any thread).
  void Wakeup();

  // For tests and the consumer's introspection.
  MemberState state() const;
  int32_t generation() const;
  std::string member_id() const;
  bool RejoinNeeded() const;
  bool coordinator_known() const;
  const std::set<TopicPartition>& owned() const { return owned_; }

 private:
  enum class Phase { kIdle, kJoining, kSyncing };
  struct Membership {
    std::string member_id;
    int32_t generation = -1;
  };

  // --- Poll-thread steps ---
  absl::Status EnsureActiveGroup(absl::Time deadline, bool wait);
  absl::Status EnsureCoordinator(absl::Time deadline);
  void PrepareJoin();
  void SendJoin();
  absl::Status HandleJoin(absl::StatusOr<v1::JoinGroupResponse> answer);
  absl::Status HandleSync(absl::StatusOr<v1::SyncGroupResponse> answer);
  absl::Status ComputeAssignment(const v1::JoinGroupResponse& response, PartitionAssignor* assignor,
                                 std::vector<v1::SyncGroupAssignment>* out);
  void ReportLostIfReset();
  void RevokeAndCommit(const std::vector<TopicPartition>& partitions);
  void MaybeAutoCommit(absl::Time now);
  void RunCompletedCommits();
  // The generation and member id a commit carries, or the error it fails
  // with.
  absl::StatusOr<Membership> CommitGeneration() const;
  PartitionAssignor* Preferred() const { return assignors_.front().get(); }
  PartitionAssignor* AssignorNamed(const std::string& name) const;
  bool Cooperative() const;
  // Sends LeaveGroup (dynamic members only) and ends the membership; the
  // owned partitions are reported lost at the next Poll iff `report_lost`.
  void LeaveGroupNow(const std::string& reason, absl::Time deadline, bool report_lost);
  v1::OffsetCommitRequest BuildCommit(const std::map<TopicPartition, int64_t>& offsets,
                                      const Membership& membership) const;
  // Applies an OffsetCommit answer: partitions that succeeded leave
  // `remaining`; membership effects as in the header comment. Returns the
  // first non-retriable error. Any thread.
  absl::Status HandleCommitResponse(const v1::OffsetCommitResponse& response,
                                    const Membership& membership, bool subscribed,
                                    std::map<TopicPartition, int64_t>* remaining);

  // --- Shared helpers (any thread) ---
  absl::Status LookupCoordinator(absl::Duration timeout);
  // Back to unjoined: the next Poll joins again after retry.backoff.ms.
  // Returns `status`, what the caller is told.
  absl::Status JoinAgainLater(absl::Status status);
  void MarkCoordinatorUnknown(const std::string& why);
  void ResetMembership(const std::string& reason, bool keep_member_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequestRejoin(const std::string& reason);
  void HeartbeatLoop();
  void HeartbeatOnce();

  const GroupOptions options_;
  const std::vector<std::unique_ptr<PartitionAssignor>> assignors_;
  GroupRpc* const rpc_;
  RebalanceHost* const host_;

  // Poll thread only.
  bool subscribed_ = false;
  bool closed_ = false;
  std::set<std::string> subscription_;
  std::set<std::string> joined_subscription_;  // what the last JoinGroup sent
  std::set<TopicPartition> owned_;
  int32_t owned_generation_ = -1;
  bool join_prepared_ = false;
  Phase phase_ = Phase::kIdle;
  Membership syncing_;  // the generation SyncGroup was sent for
  std::string joined_protocol_;
  bool leader_ = false;
  std::set<std::string> group_topics_;              // the leader's: all members' topics
  std::map<std::string, int32_t> assigned_counts_;  // the leader's: counts it assigned with
  absl::Time next_auto_commit_ = absl::InfinitePast();
  absl::Time backoff_until_ = absl::InfinitePast();

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::optional<std::string> coordinator_ ABSL_GUARDED_BY(mu_);
  Membership membership_ ABSL_GUARDED_BY(mu_);
  MemberState state_ ABSL_GUARDED_BY(mu_) = MemberState::kUnjoined;
  bool rejoin_needed_ ABSL_GUARDED_BY(mu_) = true;
  // Set when the membership ended under the owned partitions; the poll
  // thread reports them lost.
  bool membership_lost_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  absl::Time last_poll_ ABSL_GUARDED_BY(mu_) = absl::Now();
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool interrupt_ ABSL_GUARDED_BY(mu_) = false;
  // Identifies the JoinGroup / SyncGroup in flight; answers to older ones
  // are dropped.
  uint64_t call_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  // Answers of the JoinGroup / SyncGroup in flight.
  std::optional<absl::StatusOr<v1::JoinGroupResponse>> join_answer_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::StatusOr<v1::SyncGroupResponse>> sync_answer_ ABSL_GUARDED_BY(mu_);
  // Finished CommitAsync calls, to be handled on the poll thread.
  std::vector<std::function<void()>> completed_commits_ ABSL_GUARDED_BY(mu_);
  int async_commits_in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread heartbeat_thread_;
};

// Kafka's CommitFailedException, as a status carrying `code`.
absl::Status CommitFailedError(v1::ErrorCode code, const std::string& detail);

}  // namespace strata::client
