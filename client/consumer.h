// Consumer: reads records from partitions it is assigned by hand or, as a
// member of a consumer group, by the group (Kafka's KafkaConsumer).
//
// Assign() names the partitions; each has a position, the offset of the
// next record Poll() returns. A position comes from Seek(), from
// SeekToBeginning()/SeekToEnd() (ListOffsets with -2 / -1), from the
// group's committed offset (when group.id is set), or, when none was set,
// from auto.offset.reset. Poll() sends long-poll Fetch requests
// (fetch.max.wait.ms, fetch.min.bytes) to each partition's leader, one per
// leader at a time, keeps them running between polls, and returns at most
// max.poll.records records. A leader that answers NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION, or cannot be reached, makes the consumer
// refresh its metadata (using the answer's leader_hint at once) and fetch
// again after retry.backoff.ms.
//
// Subscribe() instead makes the consumer a member of group.id's group
// (consumer_coordinator.h has the protocol): Poll() joins the group, and
// rebalances when the group does, calling the ConsumerRebalanceListener on
// Poll()'s thread, as Kafka does. A heartbeat thread keeps the membership
// alive between polls; a consumer that does not call Poll() within
// max.poll.interval.ms leaves the group and joins again at its next Poll().
// With enable.auto.commit the consumed positions are committed every
// auto.commit.interval.ms from Poll(), before partitions are revoked, and on
// Close(). Close() (also run by the destructor) leaves the group unless the
// consumer is a static member (group.instance.id).
//
// Not thread-safe, like Kafka's KafkaConsumer: one thread uses it, except
// for Wakeup(), which any thread may call.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/common/ids.h"
#include "client/config.h"
#include "client/connection_pool.h"
#include "client/consumer_coordinator.h"
#include "client/group_rpc.h"
#include "client/metadata_cache.h"
#include "client/record/control_record.h"
#include "client/records.h"

namespace strata::client {

// Told of the partitions a group rebalance takes away or gives; called on
// the thread that calls Poll() (or Unsubscribe() / Close()), which may call
// the consumer back (CommitSync, Seek, Position, ...) but not Poll().
class ConsumerRebalanceListener {
 public:
  virtual ~ConsumerRebalanceListener() = default;
  // Before the partitions go: the place to commit what was processed. Not
  // called with an empty list.
  virtual void OnPartitionsRevoked(const std::vector<TopicPartition>& partitions) = 0;
  // After a rebalance, with the partitions added by it (with a cooperative
  // assignor, only the new ones; possibly none). Positions are not fetched
  // yet: a Seek() here wins over the committed offset.
  virtual void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) = 0;
  // The membership ended (session expired, fenced, poll timeout): the
  // partitions may belong to another member already, so committing is
  // pointless. Kafka's default: OnPartitionsRevoked.
  virtual void OnPartitionsLost(const std::vector<TopicPartition>& partitions) {
    OnPartitionsRevoked(partitions);
  }
};

class Consumer : private RebalanceHost {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerConfig config);
  // Close()s the consumer (with its default timeout) if that was not done,
  // cancels fetches in flight and waits for them to end.
  ~Consumer() override;

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Positions of partitions that stay are kept.
  // Ends a subscription first (Unsubscribe()): the two are exclusive.
  void Assign(const std::vector<TopicPartition>& partitions);
  // The partitions assigned now, by hand or by the group.
  std::vector<TopicPartition> Assignment() const;

  // Joins group.id's group subscribed to `topics` (replacing an earlier
  // subscription; empty: Unsubscribe()). `listener` (may be null) must
  // outlive the subscription. InvalidArgument without a group.id;
  // FailedPrecondition while partitions are assigned by hand.
  absl::Status Subscribe(const std::vector<std::string>& topics,
                         ConsumerRebalanceListener* listener = nullptr);
  // The same for every non-internal topic whose whole name matches
  // `pattern`, as found at each metadata refresh (metadata.max.age.ms); a
  // topic that starts or stops matching makes the consumer rejoin.
  absl::Status Subscribe(const std::regex& pattern, ConsumerRebalanceListener* listener = nullptr);
  // Revokes the assigned partitions (committing them first with
  // enable.auto.commit) and leaves the group.
  void Unsubscribe();
  // The subscribed topics (for a pattern: those matching now).
  std::set<std::string> Subscription() const;

  // Commits the position of every assigned partition / `offsets` (the next
  // offset to read) for group.id, retrying retriable errors for up to
  // request.timeout.ms. Errors: InvalidArgument without a group.id;
  // FailedPrecondition with Kafka's CommitFailedException text when the
  // group rebalanced meanwhile (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
  // REBALANCE_IN_PROGRESS; ErrorCodeOf() tells which); DeadlineExceeded.
  absl::Status CommitSync();
  absl::Status CommitSync(const std::map<TopicPartition, int64_t>& offsets);
  // One attempt, not retried; `callback` (may be empty) runs on the poll
  // thread during a later Poll(), CommitSync() or Close().
  void CommitAsync(CommitCallback callback = nullptr);
  void CommitAsync(const std::map<TopicPartition, int64_t>& offsets, CommitCallback callback);
  // The group's committed offsets of `partitions`; partitions with none
  // are left out.
  absl::StatusOr<std::map<TopicPartition, int64_t>> Committed(
      const std::set<TopicPartition>& partitions);

  // Commits (enable.auto.commit), revokes the partitions, leaves the group
  // (dynamic members) and stops the heartbeat thread, within `timeout`.
  // Later calls do nothing; Poll() fails after it.
  void Close(absl::Duration timeout = absl::Seconds(30));

  // The group membership now: member id ("" when none) and generation (-1).
  std::string MemberId() const;
  int32_t Generation() const;

  // The next Poll() returns records from `offset` on.
  void Seek(const TopicPartition& tp, int64_t offset);
  // To the log start / the high watermark of each partition (all assigned
  // ones when `partitions` is empty), asking the leaders now.
  absl::Status SeekToBeginning(const std::vector<TopicPartition>& partitions = {});
  absl::Status SeekToEnd(const std::vector<TopicPartition>& partitions = {});
  // The offset of the next record Poll() would return for `tp`, resolving
  // auto.offset.reset if no position is set.
  absl::StatusOr<int64_t> Position(const TopicPartition& tp);

  // Earliest (-2), latest (-1) or by-timestamp offsets, from the leaders.
  absl::StatusOr<std::map<TopicPartition, int64_t>> ListOffsets(
      const std::vector<TopicPartition>& partitions, int64_t timestamp);

  // The partition ids of `topic`. NotFound (UNKNOWN_TOPIC_OR_PARTITION)
  // when the cluster has no such topic.
  absl::StatusOr<std::vector<int32_t>> PartitionsFor(const std::string& topic);

  // Records fetched since the last call, waiting up to `timeout` for some;
  // empty when none came. Errors: OFFSET_OUT_OF_RANGE with
  // auto.offset.reset=none, a corrupt batch, a non-retriable fetch error, or
  // Cancelled after Wakeup().
  // With a subscription Poll() also joins and rebalances; it waits for a
  // rebalance only while no partition is assigned. More errors then:
  // FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, ... from the group;
  // FailedPrecondition after Close().
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // Makes the current or next Poll() return Cancelled at once.
  void Wakeup();

 private:
  struct PartitionState {
    std::optional<int64_t> position;  // next record to return
    int64_t fetch_offset = 0;         // next record to fetch (after `buffered`)
    // A fetch answer not yet wholly handed out. Its records are decoded
    // when the first of them is handed out, not when it arrives: the next
    // fetch goes out first, so the broker's read and the transfer overlap
    // the decoding (Kafka's consumer decodes as lazily; librdkafka
    // prefetches as well).
    struct Fetched {
      int64_t fetch_offset = 0;  // the fetch's offset: records below it are skipped
      // Where the fetch after this one started: past its last whole batch,
      // which may end beyond its last record (compaction, markers).
      int64_t next_offset = 0;
      bool decoded = false;
      std::string bytes;  // until decoded
      std::vector<record::AbortedTransaction> aborted;  // read_committed, until decoded
      // Decoded, in runs of at most max.poll.records (DecodedFetch::runs),
      // each handed out whole.
      std::deque<std::vector<ConsumerRecord>> runs;
    };
    // The answer being handed out and at most one more, fetched meanwhile
    // (kMaxBufferedAnswers): two answers bound what is held.
    std::deque<Fetched> buffered;
    // A fresh value from next_seek_epoch_ at every seek and (re)assignment:
    // answers to fetches sent under another value are dropped.
    uint64_t seek_epoch = 0;
    bool fetching = false;
    // With a group.id: the position is to come from the committed offset
    // (OffsetFetch) before auto.offset.reset applies.
    bool awaiting_committed = false;
    absl::Time committed_backoff_until = absl::InfinitePast();
    absl::Time backoff_until = absl::InfinitePast();
    int32_t max_bytes = 0;
  };
  struct FetchCall;

  // Decodes a buffered answer's records.
  absl::Status DecodeBuffered(const TopicPartition& tp, PartitionState::Fetched& fetched);

  explicit Consumer(ConsumerConfig config, std::vector<std::string> bootstrap);

  // RebalanceHost.
  std::map<std::string, int32_t> PartitionCounts(const std::set<std::string>& topics) override;
  std::map<TopicPartition, int64_t> ConsumedPositions() override;
  void PartitionsRevoked(const std::vector<TopicPartition>& partitions) override;
  void PartitionsAssigned(const std::vector<TopicPartition>& partitions) override;
  void PartitionsLost(const std::vector<TopicPartition>& partitions) override;
  void Nudge() override;

  absl::Status RequireGroup() const;
  void AddPartition(const TopicPartition& tp);
  // Positions from the committed offsets of partitions awaiting them.
  void FetchCommittedPositions(absl::Time deadline);
  // Pattern matching and partition-count checks, every metadata.max.age.ms
  // (every second while a subscribed topic is missing).
  void MaybeRefreshSubscription(absl::Time now);
  absl::StatusOr<std::vector<std::string>> ListTopics();
  absl::Status ResetPositions();
  absl::Status HandleFetchAnswer(FetchCall& call);
  void SendFetches(absl::Time now);
  void SetPosition(PartitionState& state, int64_t offset);
  void MaybeRefreshMetadata(absl::Time now);
  std::vector<std::string> AssignedTopics() const;

  const ConsumerConfig config_;
  const std::vector<std::string> bootstrap_;
  ConnectionPool pool_;
  MetadataCache metadata_;
  std::atomic<size_t> preferred_node_{0};

  // With a group.id. The destructor resets them first: their callbacks use
  // the members below.
  std::unique_ptr<GroupRpc> group_rpc_;
  std::unique_ptr<ConsumerCoordinator> coordinator_;
  ConsumerRebalanceListener* listener_ = nullptr;
  std::optional<std::regex> pattern_;
  absl::Time next_subscription_refresh_ = absl::InfinitePast();
  bool closed_ = false;

  absl::btree_map<TopicPartition, PartitionState> partitions_;

  // Source of seek epochs, consumer-wide so a partition assigned again never

  // reuses an epoch an in-flight fetch still carries.

  uint64_t next_seek_epoch_ = 0;
  bool need_metadata_ = false;
  absl::Time last_metadata_refresh_ = absl::InfinitePast();
  size_t next_partition_ = 0;  // round-robin start for Poll's collection
  int64_t next_call_id_ = 0;

  // Shared with gRPC's callback threads.
  absl::Mutex mu_;
  absl::CondVar answered_cv_;
  std::map<int64_t, std::unique_ptr<FetchCall>> in_flight_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> answered_ ABSL_GUARDED_BY(mu_);
  bool wakeup_ ABSL_GUARDED_BY(mu_) = false;
  // The coordinator has something for Poll() to do.
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::client
