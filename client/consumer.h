// Consumer: reads records from partitions it is assigned by hand.
//
// Assign() names the partitions; each has a position, the offset of the
// next record Poll() returns. A position comes from Seek(), from
// SeekToBeginning()/SeekToEnd() (ListOffsets with -2 / -1), or, when none
// was set, from auto.offset.reset. Poll() sends long-poll Fetch requests
// (fetch.max.wait.ms, fetch.min.bytes) to each partition's leader, one per
// leader at a time, keeps them running between polls, and returns at most
// max.poll.records records. A leader that answers NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION, or cannot be reached, makes the consumer
// refresh its metadata (using the answer's leader_hint at once) and fetch
// again after retry.backoff.ms. Group membership and committed offsets come
// with the consumer-group work.
//
// Not thread-safe, like Kafka's KafkaConsumer: one thread uses it, except
// for Wakeup(), which any thread may call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/common/ids.h"
#include "client/config.h"
#include "client/connection_pool.h"
#include "client/metadata_cache.h"
#include "client/records.h"

namespace strata::client {

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerConfig config);
  // Cancels fetches in flight and waits for them to end.
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Positions of partitions that stay are kept.
  void Assign(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> Assignment() const;

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
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // Makes the current or next Poll() return Cancelled at once.
  void Wakeup();

 private:
  struct PartitionState {
    std::optional<int64_t> position;  // next record to return
    int64_t fetch_offset = 0;         // next record to fetch (after `buffered`)
    std::vector<ConsumerRecord> buffered;
    size_t buffered_pos = 0;
    // A fresh value from next_seek_epoch_ at every seek and (re)assignment:
    // answers to fetches sent under another value are dropped.
    uint64_t seek_epoch = 0;
    bool fetching = false;
    absl::Time backoff_until = absl::InfinitePast();
    int32_t max_bytes = 0;
  };
  struct FetchCall;

  explicit Consumer(ConsumerConfig config, std::vector<std::string> bootstrap);

  absl::Status ResetPositions();
  absl::Status HandleFetchAnswer(FetchCall& call);
  void SendFetches(absl::Time now);
  void SetPosition(PartitionState& state, int64_t offset);
  void MaybeRefreshMetadata(absl::Time now);
  std::vector<std::string> AssignedTopics() const;

  const ConsumerConfig config_;
  ConnectionPool pool_;
  MetadataCache metadata_;

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
};

}  // namespace strata::client
