// Producer: sends records to partition leaders in Kafka v2 batches.
//
// Send() picks the partition (client/partitioner.h), appends the record to
// that partition's open batch and returns at once; a background sender
// thread sends batches when they are full (batch.size), have waited
// linger.ms, or Flush()/Close() asks. Batches for partitions led by the same
// broker share one Produce request.
//
// Ordering: one request per partition is in flight at a time (it carries
// the partition's first batch and the full batches queued behind it, up to
// max.request.size), and batches that fail with a retriable error go back
// to the head of their partition in order, so records of a partition are
// written in Send() order even across retries.
//
// Errors: retriable errors (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
// UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS[_AFTER_
// APPEND], an unreachable broker) refresh the metadata (a leader_hint in the
// response is used at once) and retry after retry.backoff.ms, until
// delivery.timeout.ms after the batch was created. MESSAGE_TOO_LARGE splits
// a batch of several records (Kafka's splitAndReenqueue): its pieces go back
// to the head of the partition in order, at once and without counting an
// attempt, each piece at most batch.size of records uncompressed and at
// most half the refused batch, so that refusals end; when the refused
// request carried several batches of the partition, those of one record are
// re-sent alone first. A one-record batch refused alone fails, as do
// batches on any other error. Every record's callback is called exactly once, on the sender
// thread (or, for errors found before the record is queued, on the caller's
// thread), in Send() order per partition; callbacks must not block.
//
// Compression (compression.type): each batch is compressed once, when the
// sender seals it, and retried batches are re-sent as sealed; see
// record_accumulator.h for how batch.size counts compressed batches. The
// sender compresses (and splits) without holding the producer's lock, with
// the batches taken out of the accumulator and their partitions muted, so
// Send() is never held up by a codec. A request holds the sealed batches
// that fit in max.request.size by their real size (the estimate chose
// them); the rest go back to the head of their partition.
//
// Idempotence (enable.idempotence, on by default with acks=all, as Kafka
// 3.x): before its first batch the producer asks any broker for a producer
// id (InitProducerId), and stamps each batch, when it first goes into a
// request, with that id, its epoch and the partition's next sequence
// number. The partition leader keeps each producer's last batches and
// answers a batch it already wrote with the original offsets, without
// writing it again, so a retry after a lost answer (a timeout, a broken
// connection, a leader that failed over after appending) never writes a
// record twice. A retried request's batches of a partition go again
// together and with nothing else (the broker then finds all of them
// written, or none), except that a request of several batches answered
// OUT_OF_ORDER_SEQUENCE_NUMBER (a new leader may hold its first batches
// only, and refuses the mix) is re-sent one batch per request, stamps kept.
// A batch refused on its first attempt (invalid, or too large and split)
// gives its sequences back. Whenever else a stamped batch fails for good
// (its delivery timeout, a refused retry, OUT_OF_ORDER_SEQUENCE_NUMBER
// for a batch sent alone), the broker's view of the partition's sequence
// is unknown, so the producer takes a new producer id before it stamps
// another batch: batches still waiting for a retry keep their stamps, new
// ones start at sequence 0 under the new id.
// One request per partition in flight carries the five-request window
// Kafka's producers use (it may hold many batches).
//
// Thread-safe: Send/Flush/Close may be called from any thread.
#pragma once

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/config.h"
#include "client/connection_pool.h"
#include "client/metadata_cache.h"
#include "client/partitioner.h"
#include "client/record_accumulator.h"
#include "client/records.h"

namespace strata::client {

class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(ProducerConfig config);
  // Close() with no time limit.
  ~Producer();

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues `record`; `callback` gets where it was written or why not. Blocks
  // up to max.block.ms only when the topic's metadata is not known yet.
  void Send(ProducerRecord record, SendCallback callback);
  std::future<absl::StatusOr<RecordMetadata>> Send(ProducerRecord record);

  // Sends every queued record now and waits until each has its answer.
  void Flush();

  // Sends what is queued and waits up to `timeout` for the answers; records
  // still unanswered then fail. Send() fails after Close(). Idempotent.
  void Close(absl::Duration timeout = absl::InfiniteDuration());

  // The topic's partition count, from metadata (waiting up to max.block.ms).
  absl::StatusOr<int32_t> PartitionCount(const std::string& topic);

 private:
  struct InFlight;
  struct SenderWork;

  explicit Producer(ProducerConfig config, std::vector<std::string> bootstrap);

  void SenderLoop();
  // One pass of the sender under mu_: handles answers, expires old batches,
  // and takes out (muting their partitions) the batches to send and those
  // to split. Callbacks to run are appended to `done`.
  void SendReady(absl::Time now, SenderWork* work, std::vector<std::function<void()>>* done,
                 absl::Time* next_check) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Without mu_: seals (compresses) the batches to send and splits the
  // refused ones. Touches only `work`.
  void Prepare(SenderWork* work) ABSL_LOCKS_EXCLUDED(mu_);
  // Under mu_ again: puts split batches back, learns the compression ratios,
  // and builds the requests (batches that do not fit go back).
  void Dispatch(SenderWork* work, std::vector<InFlight*>* to_send,
                std::vector<std::function<void()>>* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the batch's callbacks with `error` and releases its buffer.
  void FailBatch(const ProducerBatch& batch, const absl::Status& error,
                 std::vector<std::function<void()>>* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Batches refused as too large are added to `work` to be split.
  void HandleAnswer(InFlight& call, absl::Time now, std::vector<std::function<void()>>* done,
                    SenderWork* work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Retries `batch` after a retriable error, or fails it if its delivery
  // timeout or retries are used up.
  void RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error, absl::Time now,
                   std::vector<std::function<void()>>* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartCall(InFlight* call);
  // Idempotence: asks any broker for a producer id (without mu_; blocks up
  // to request.timeout.ms), then installs it or schedules the next try.
  // Records of batches it fails (no id to be had) are queued in `done`.
  void RenewProducerId(std::vector<std::function<void()>>* done) ABSL_LOCKS_EXCLUDED(mu_);
  // A stamped batch failed for good: its records may or may not be in the
  // log, so the next batches need a new producer id.
  void ForgetSequence(const ProducerBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A batch the broker refused and that goes no further as it is (failed,
  // or split): its sequences are given back when that is safe, else the
  // next batches get a new id (ForgetSequence); its stamp is cleared.
  void ReleaseSequence(ProducerBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Clears a batch's stamp so that it is stamped again when next sent.
  static void Unstamp(ProducerBatch& batch);

  const ProducerConfig config_;
  ConnectionPool pool_;
  MetadataCache metadata_;
  Partitioner partitioner_;

  absl::Mutex mu_;
  absl::CondVar wake_sender_;  // new work, an answer, flush or close
  RecordAccumulator accumulator_ ABSL_GUARDED_BY(mu_);
  int64_t next_call_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, std::unique_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> answered_ ABSL_GUARDED_BY(mu_);
  int flushing_ ABSL_GUARDED_BY(mu_) = 0;
  // Records queued whose callback has not returned yet; Flush waits for 0.
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  // Estimated bytes of the records counted in unfinished_ (buffer.memory).
  int64_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool need_metadata_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_metadata_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool force_close_ ABSL_GUARDED_BY(mu_) = false;
  bool sender_done_ ABSL_GUARDED_BY(mu_) = false;

  // Idempotence (see the file comment).
  const bool idempotent_;
  int64_t producer_id_ ABSL_GUARDED_BY(mu_) = -1;
  int16_t producer_epoch_ ABSL_GUARDED_BY(mu_) = -1;
  // The next sequence number of each partition under producer_id_.
  absl::flat_hash_map<TopicPartition, int32_t> next_sequence_ ABSL_GUARDED_BY(mu_);
  // No batch is stamped until a (new) producer id is installed.
  bool need_producer_id_ ABSL_GUARDED_BY(mu_) = false;
  // Partitions whose sequences ReleaseSequence gave back while handling
  // the current answer.
  absl::flat_hash_set<TopicPartition> released_ ABSL_GUARDED_BY(mu_);
  absl::Time next_producer_id_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The first retriable failure of the InitProducerIds since the last id
  // (InfiniteFuture: none); a warning is logged once it is this old.
  absl::Time producer_id_wanted_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  static constexpr absl::Duration kProducerIdPatience = absl::Seconds(10);
  std::thread sender_;
};

}  // namespace strata::client
