// The producer's per-partition queues of batches: records are appended to
// the last open batch of their partition until it holds batch.size bytes;
// the sender takes a partition's first batch when it is full, has lingered
// linger.ms, or a flush asks for everything.
//
// Compression (compression.type): a batch is built uncompressed and
// compressed once, when it is sealed (Drain). While it is open its size is
// an estimate, as in Kafka's producer: the uncompressed records times the
// compression ratio its topic's earlier batches achieved (starting at 1.0,
// so the first batches are small), with a 5% margin. Each sealed batch moves
// the topic's estimate towards what it achieved: down a little at a time
// (0.005 per batch) when it did better, up at once by at least 0.05 when it
// did worse, so batches rarely overshoot batch.size by much. The estimate
// never goes below kMinRatioEstimate (1/32), so that a batch holds at most
// about 32 x batch.size of records however well its data compresses: a
// broker refuses a batch whose records decompress to more than 64 x its
// max.message.bytes as a decompression bomb (kMaxDecompressionRatio in
// broker/storage/log_validator.h), and CORRUPT_MESSAGE is not retried.
//
// Splitting: a batch that a broker refuses as too large (MESSAGE_TOO_LARGE:
// a topic whose compression.type stores it uncompressed or with a weaker
// codec, or a batch.size above max.message.bytes) is cut into smaller ones
// (SplitBatch) that the Producer puts back at the head of the partition,
// and the topic's estimate goes back to at least 1.0 (ResetRatio), as
// Kafka's Sender does (splitAndReenqueue).
//
// Sealing (ProducerBatch::Close, which compresses) needs no lock: the sender
// takes batches out (Take) under the Producer's mutex, seals them without
// it, and reports each to UpdateRatio under the mutex again.
//
// No network and no threads here, so batching is testable on its own. Not
// thread-safe: the Producer guards it with its mutex (ProducerBatch and
// SplitBatch touch nothing shared).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/record/compression.h"
#include "client/record/record_batch.h"
#include "client/records.h"

namespace strata::client {

// One batch for one partition, with the callback of each record in it.
struct ProducerBatch {
  TopicPartition tp;
  record::RecordBatchBuilder builder;
  // The codec Close() compresses with, and the compression ratio
  // (compressed / uncompressed records) expected when the batch was opened.
  record::Compression compression = record::Compression::kNone;
  record::CompressionOptions compression_options;
  double estimated_ratio = 1.0;
  std::vector<SendCallback> callbacks;
  std::vector<int64_t> timestamps;
  absl::Time created;
  // Set by Close(): the v2 batch bytes sent (and re-sent on retries).
  // While the batch is in a request, they are lent to it: `lent` holds
  // them, shared with the request's slices (produce_request.h), and
  // `payload` is empty until Reclaim().
  std::string payload;
  std::shared_ptr<std::string> lent;
  bool closed = false;
  int attempts = 0;
  absl::Time retry_at = absl::InfinitePast();
  absl::Status last_error;
  // Estimated bytes of its records, held against buffer.memory until the
  // batch completes.
  int64_t reserved_bytes = 0;

  // Set by Close(): the bytes of the records section before compression.
  size_t uncompressed_records_bytes = 0;
  // A piece of a split batch: takes no more records (which could regrow it
  // to the size that was refused) and is sent as soon as it is ready.
  bool full = false;
  // Refused as too large together with other batches of its partition, it
  // goes alone next time, so that the broker's answer is about it only.
  bool send_alone = false;
  // Idempotence (producer.h): the producer id, epoch and first sequence
  // stamped into the payload when the batch first went into a request
  // (-1: not stamped), and the id of that request: an idempotent producer
  // re-sends a retried request's batches of a partition together and with
  // no others, so that the broker finds them all written or none.
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int64_t send_group = -1;
  // A transactional producer's batch: the attributes' transactional bit is
  // set (and kept by the pieces of a split).
  bool transactional = false;

  int32_t record_count() const { return static_cast<int32_t>(callbacks.size()); }
  // The payload's size once closed; before that, the estimate (see the file
  // comment) for a compressed batch.
  size_t size_in_bytes() const;
  // Builds the payload, compressed with `compression` (should compression
  // fail, which only an internal error of a codec library can make it do,
  // the batch is sent uncompressed and a warning logged); no record can be
  // appended afterwards.
  void Close();
  // Lends the payload to a request, and takes it back: moved back once
  // nothing else holds it, copied while something still does (gRPC may
  // still read it: a request whose answer came before its own write had
  // finished, or whose stream was cancelled mid-write).
  std::shared_ptr<const std::string> Lend();
  void Reclaim();
};

// Bytes a record adds to a batch, roughly (Kafka estimates the same way):
// the varint-framed fields are bounded by their maximum sizes.
size_t EstimateRecordSize(const record::Record& record);

// The lowest compression ratio a topic's estimate may fall to; see the file
// comment.
inline constexpr double kMinRatioEstimate = 1.0 / 32;
// The margin on a compressed batch's estimated size.
inline constexpr double kEstimateMargin = 1.05;
// At most this many records' callbacks are reserved with a new batch.
inline constexpr size_t kMaxReservedRecords = 512;

// Cuts a sealed batch into open batches (their `full` set) of consecutive
// records whose records section holds at most `max_records_bytes` bytes
// uncompressed (at least one record each), in order, for the same
// partition and codec. Each keeps the original's creation time (its
// delivery timeout still counts from there), last error and, the refusal
// not counting as one, its attempts minus one; callbacks, timestamps and
// reserved bytes are divided among them (the reserved bytes add up to the
// original's). `estimated_ratio` is what their size is estimated with until
// they are sealed. Decodes the payload, so it runs without the Producer's
// lock. Errors: the payload does not decode (never for a batch this client
// built).
absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> SplitBatch(const ProducerBatch& batch,
                                                                       size_t max_records_bytes,
                                                                       double estimated_ratio);

class RecordAccumulator {
 public:
  // `transactional`: every batch carries the transactional bit.
  RecordAccumulator(int32_t batch_size, absl::Duration linger,
                    record::Compression compression = record::Compression::kNone,
                    record::CompressionOptions compression_options = {},
                    bool transactional = false);
  // last_queue_ points into queues_: a copy would point into the original.
  RecordAccumulator(const RecordAccumulator&) = delete;
  RecordAccumulator& operator=(const RecordAccumulator&) = delete;

  // Appends to the partition's open batch, or starts a new one when the
  // record would take it past batch.size (a record larger than batch.size
  // gets a batch of its own) or the last batch takes no more records.
  // Returns whether the sender should look again: a batch was started (its
  // linger begins) or has become full. Records that only add to a batch
  // already known need no wake-up.
  // `record_size` is EstimateRecordSize(record), which the caller has
  // already computed (max.request.size, the sticky partitioner).
  bool Append(const TopicPartition& tp, const record::Record& record, size_t record_size,
              SendCallback callback, absl::Time now);
  bool Append(const TopicPartition& tp, const record::Record& record, SendCallback callback,
              absl::Time now) {
    return Append(tp, record, EstimateRecordSize(record), std::move(callback), now);
  }

  // Partitions whose first batch may be sent now: full, lingered, retry
  // backoff over (for a retried batch), or `flush`; muted partitions (a
  // request in flight) are skipped. *next_check is lowered to when the
  // earliest not-yet-ready batch will be ready.
  std::vector<TopicPartition> Ready(absl::Time now, bool flush, absl::Time* next_check) const;

  // Removes the partition's first batch as it is: open (to be sealed by the
  // caller, who then reports it to UpdateRatio) or sealed before (a retry).
  std::unique_ptr<ProducerBatch> Take(const TopicPartition& tp);
  // Moves the topic's ratio estimate towards what `batch`, just sealed,
  // achieved (see the file comment); nothing for a batch without compression.
  void UpdateRatio(const ProducerBatch& batch);
  // Take, Close and UpdateRatio in one: for callers that may compress under
  // their lock (tests).
  std::unique_ptr<ProducerBatch> Drain(const TopicPartition& tp);
  // Puts a batch that failed with a retriable error (or a piece of a split
  // one) back at the head of its partition, so it goes before everything
  // appended after it.
  void Reenqueue(std::unique_ptr<ProducerBatch> batch);
  // After a batch of `topic` was refused as too large: the estimate becomes
  // max(1.0, observed), the ratio the refused batch achieved, as in Kafka.
  void ResetRatio(const std::string& topic, double observed);

  // Removes batches (not in flight) older than `delivery_timeout`.
  std::vector<std::unique_ptr<ProducerBatch>> Expire(absl::Time now,
                                                     absl::Duration delivery_timeout);
  // Removes every batch.
  std::vector<std::unique_ptr<ProducerBatch>> DrainAll();
  // Removes the batches (not in flight) for which `remove` is true, in
  // partition order and each partition's order.
  std::vector<std::unique_ptr<ProducerBatch>> RemoveIf(
      const std::function<bool(const ProducerBatch&)>& remove);

  void Mute(const TopicPartition& tp) { muted_.insert(tp); }
  void Unmute(const TopicPartition& tp) { muted_.erase(tp); }
  bool IsMuted(const TopicPartition& tp) const { return muted_.contains(tp); }

  bool empty() const { return queues_.empty(); }
  // Batches queued for `tp` (open or closed).
  size_t BatchCount(const TopicPartition& tp) const;
  // The size of the partition's first batch (0 when none).
  size_t FrontBytes(const TopicPartition& tp) const;
  // Whether the partition's first batch is ready to go without lingering:
  // another is queued behind it, or it is sealed, a piece of a split, or
  // batch.size.
  bool HasFullBatch(const TopicPartition& tp) const;
  // The size of all the partition's batches (estimates for open ones).
  size_t QueuedBytes(const TopicPartition& tp) const;
  // The partition's first batch; nullptr when none.
  const ProducerBatch* Front(const TopicPartition& tp) const;
  // Topics with queued batches.
  std::vector<std::string> Topics() const;
  // The compression ratio expected of the topic's next batch (1.0 without
  // compression or before its first batch).
  double EstimatedRatio(const std::string& topic) const;

 private:
  const int32_t batch_size_;
  const absl::Duration linger_;
  const record::Compression compression_;
  const record::CompressionOptions compression_options_;
  const bool transactional_;
  absl::flat_hash_map<std::string, double> ratio_by_topic_;
  // Ordered so that the sender visits partitions in a stable order.
  absl::btree_map<TopicPartition, std::deque<std::unique_ptr<ProducerBatch>>> queues_;
  // HasFullBatch for a non-empty queue.
  bool IsFull(const std::deque<std::unique_ptr<ProducerBatch>>& queue) const;
  // queues_[tp], remembered: most records go to the partition of the record
  // before, and comparing it is cheaper than looking it up for each.
  std::deque<std::unique_ptr<ProducerBatch>>& QueueFor(const TopicPartition& tp);
  // What QueueFor remembers; last_queue_ is reset by everything that adds a
  // queue to queues_ or removes one (a btree moves its values on either).
  TopicPartition last_tp_;
  std::deque<std::unique_ptr<ProducerBatch>>* last_queue_ = nullptr;
  absl::flat_hash_set<TopicPartition> muted_;
};

}  // namespace strata::client
