// The producer's per-partition queues of batches: records are appended to
// the last open batch of their partition until it holds batch.size bytes;
// the sender takes a partition's first batch when it is full, has lingered
// linger.ms, or a flush asks for everything.
//
// No network and no threads here, so batching is testable on its own. Not
// thread-safe: the Producer guards it with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/record/record_batch.h"
#include "client/records.h"

namespace strata::client {

// One batch for one partition, with the callback of each record in it.
struct ProducerBatch {
  TopicPartition tp;
  record::RecordBatchBuilder builder;
  std::vector<SendCallback> callbacks;
  std::vector<int64_t> timestamps;
  absl::Time created;
  // Set by Close(): the v2 batch bytes sent (and re-sent on retries).
  std::string payload;
  bool closed = false;
  int attempts = 0;
  absl::Time retry_at = absl::InfinitePast();
  absl::Status last_error;
  // Estimated bytes of its records, held against buffer.memory until the
  // batch completes.
  int64_t reserved_bytes = 0;

  int32_t record_count() const { return static_cast<int32_t>(callbacks.size()); }
  size_t size_in_bytes() const { return closed ? payload.size() : builder.size_in_bytes(); }
  // Builds the payload; no record can be appended afterwards.
  void Close();
};

// Bytes a record adds to a batch, roughly (Kafka estimates the same way):
// the varint-framed fields are bounded by their maximum sizes.
size_t EstimateRecordSize(const record::Record& record);

class RecordAccumulator {
 public:
  RecordAccumulator(int32_t batch_size, absl::Duration linger);

  // Appends to the partition's open batch, or starts a new one when the
  // record would take it past batch.size (a record larger than batch.size
  // gets a batch of its own).
  void Append(const TopicPartition& tp, const record::Record& record, SendCallback callback,
              absl::Time now);

  // Partitions whose first batch may be sent now: full, lingered, retry
  // backoff over (for a retried batch), or `flush`; muted partitions (a
  // request in flight) are skipped. *next_check is lowered to when the
  // earliest not-yet-ready batch will be ready.
  std::vector<TopicPartition> Ready(absl::Time now, bool flush, absl::Time* next_check) const;

  // Removes and closes the partition's first batch.
  std::unique_ptr<ProducerBatch> Drain(const TopicPartition& tp);
  // Puts a batch that failed with a retriable error back at the head of its
  // partition, so it goes before everything appended after it.
  void Reenqueue(std::unique_ptr<ProducerBatch> batch);

  // Removes batches (not in flight) older than `delivery_timeout`.
  std::vector<std::unique_ptr<ProducerBatch>> Expire(absl::Time now,
                                                     absl::Duration delivery_timeout);
  // Removes every batch.
  std::vector<std::unique_ptr<ProducerBatch>> DrainAll();

  void Mute(const TopicPartition& tp) { muted_.insert(tp); }
  void Unmute(const TopicPartition& tp) { muted_.erase(tp); }
  bool IsMuted(const TopicPartition& tp) const { return muted_.contains(tp); }

  bool empty() const { return queues_.empty(); }
  // Batches queued for `tp` (open or closed).
  size_t BatchCount(const TopicPartition& tp) const;
  // The size of the partition's first batch (0 when none).
  size_t FrontBytes(const TopicPartition& tp) const;
  // Topics with queued batches.
  std::vector<std::string> Topics() const;

 private:
  const int32_t batch_size_;
  const absl::Duration linger_;
  // Ordered so that the sender visits partitions in a stable order.
  absl::btree_map<TopicPartition, std::deque<std::unique_ptr<ProducerBatch>>> queues_;
  absl::flat_hash_set<TopicPartition> muted_;
};

}  // namespace strata::client
