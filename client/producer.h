// Producer: sends records to partition leaders in Kafka v2 batches.
//
// Send() picks the partition (client/partitioner.h), appends the record to
// that partition's open batch and returns at once; a background sender
// thread sends batches when they are full (batch.size), have waited
// linger.ms, or Flush()/Close() asks. Batches for partitions led by the same
// broker share one Produce request.
//
// Requests in flight (max.in.flight.requests.per.connection, default 5, as
// Kafka's): a partition's first request carries its first batch and the full
// batches queued behind it, up to max.request.size. While it is in flight,
// further requests of the partition may follow, up to the window, each once a
// quarter of max.request.size of batches is queued, or (acks=all) a full batch
// once the oldest request has waited a millisecond (less waits for an answer,
// and then goes together: a request per small batch, answered within a
// millisecond, costs more than the overlap gains). They go on the broker's
// ProduceStream (broker.proto), which appends requests in the order they were
// sent and answers them in that order; a broker that does not serve it (an
// older version) gets unary calls, one request per partition at a time, as does
// every broker with a window of 1. With acks 0 or 1, whose answers follow the
// leader's append at once, a request goes on the stream only beside requests of
// its partition already there or when a quarter of max.request.size is queued;
// otherwise as a unary call, which costs less. Retries, and batches to be
// answered for alone, go with no other request of their partition in flight,
// retries as unary calls (a request that broke its stream, one over the
// broker's message limit say, then fails alone). Batches stamped under a new
// producer id or epoch wait for those in flight under the old one, and an
// idempotent producer keeps one request of a partition in flight until its
// leader acknowledged a batch under the current id since its last failure (a
// leader with no sequence for a producer takes any, as Kafka's does). The
// pieces of a batch split after a refusal take its sequences again; batches
// sent beside it keep theirs, and new ones are stamped after them. A request
// unanswered after request.timeout.ms (plus a second) ends its stream, as Kafka
// closes the connection: every request on it fails and is retried. Close()
// closes the streams for writing and waits up to request.timeout.ms for the
// brokers to finish them, then cancels them.
//
// Ordering: batches that fail with a retriable error go back to the head
// of their partition in order. A partition's failures are handled once none
// of its requests is in flight any more (those behind a failed one are
// answered first), all together, in the order they were sent; meanwhile
// the partition sends nothing. So with idempotence (below), or with a
// window of 1, the records of a partition are written in Send() order even
// across retries. Without idempotence and with a window above 1, a request
// behind a failed one may be written before its retry, as in Kafka.
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
// thread), in Send() order per partition, except that a retried record
// completes after records sent behind it whose request succeeded meanwhile
// (with a window above 1); callbacks must not block.
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
// Requests behind a failed one in the window find a gap in the sequence
// (OUT_OF_ORDER_SEQUENCE_NUMBER): handled with the failure, as one
// request's batches, each goes again alone with its stamp.
//
// Transactions (transactional.id set; Kafka's KafkaProducer semantics): the
// producer's records are written in transactions that a read_committed
// consumer sees whole or not at all.
//
//   InitTransactions();                      // once: fences older instances
//   BeginTransaction();
//   Send(...); ...                           // only inside a transaction
//   SendOffsetsToTransaction(offsets, group);  // consume-transform-produce
//   CommitTransaction();                     // or AbortTransaction()
//
// InitTransactions finds the id's transaction coordinator (FindCoordinator
// key type 1) and asks it for the producer id and epoch (InitProducerId
// with the id and transaction.timeout.ms); that id and epoch stamp every
// batch, which also carries the transactional bit, and change only through
// InitTransactions or the epoch bump after an abort (below), never inside a
// transaction. Before a partition's first batch of a transaction is sent
// the sender adds the partition at the coordinator (AddPartitionsToTxn):
// the partitions first used while no such call is in flight go together in
// the next one, and their batches wait for it. CommitTransaction sends
// every record, waits for their answers (and callbacks), then asks the
// coordinator to commit (EndTxn); AbortTransaction fails the records not
// sent yet (their callbacks get Aborted, "Failing batch since transaction
// was aborted"), waits for those in flight, then EndTxn(abort). A
// transaction to which nothing was added ends without a request.
// SendOffsetsToTransaction adds the group to the transaction
// (AddOffsetsToTxn), then commits the offsets at the group's coordinator
// (TxnOffsetCommit, with the consumer's generation and member id: KIP-447);
// they become the group's committed offsets when the transaction commits.
//
// States and errors: transaction_manager.h (Kafka's state machine). A record
// that fails inside a transaction (refused by Send, by its leader, or
// expired) makes the transaction abortable: the records not sent yet fail
// with that error, commit fails with it, AbortTransaction works and a new
// transaction may begin. Fenced (PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH
// from the coordinator), not authorized, or INVALID_TXN_STATE is fatal:
// every later call fails with that error. The coordinators' retriable
// answers (not available, loading, moved) are retried every
// retry.backoff.ms within the call's timeout; CONCURRENT_TRANSACTIONS (the
// previous transaction's markers are going out) after 2 ms, doubling up to
// Kafka's 20 ms. Transport failures other than UNIMPLEMENTED (a node that
// does not serve the call at all, which is fatal) are retried like network
// errors. A timeout leaves the state as it was and the same call again
// finishes the work, except SendOffsetsToTransaction: offsets that may not
// all have reached the group's coordinator make the transaction abortable.
// KIP-360: when a batch whose sequence may or may not be in the log was
// given up (its delivery timeout, an out-of-order answer), when a
// SendOffsetsToTransaction got no answer, or when the coordinator answers
// UNKNOWN_PRODUCER_ID or INVALID_PRODUCER_ID_MAPPING (then without EndTxn,
// which it would refuse too), the abort ends by bumping the epoch
// (InitProducerId with the current id and epoch), so that the next
// transaction's sequences start afresh and late writes of the old epoch are
// refused. An AddPartitionsToTxn or AddOffsetsToTxn whose answer was lost
// may have opened the transaction at the coordinator: its abort sends
// EndTxn even if no partition is known added (INVALID_TXN_STATE then means
// nothing was open). A record refused by Send after a commit began never
// joined the transaction and leaves the commit alone. Close() waits for
// another thread's transactional call, then finishes a commit under way
// (aborting if it fails) and aborts a transaction left open (within
// max.block.ms), as Kafka's sender does at shutdown.
//
// Thread-safe: Send/Flush/Close may be called from any thread. The
// transactional calls block and run one at a time (a second thread's call
// waits for the first's); never from a callback, which would wait for
// itself.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
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
#include "client/transaction_manager.h"
#include "grpcpp/support/status.h"
#include "strata/v1/broker.pb.h"

namespace strata::client {

// An offset to commit and its metadata (Kafka's OffsetAndMetadata).
struct OffsetAndMetadata {
  int64_t offset = -1;
  std::optional<int32_t> leader_epoch;
  std::string metadata;
};

// The consumer's group as SendOffsetsToTransaction needs it (Kafka's
// ConsumerGroupMetadata): the group coordinator refuses offsets of a
// member that left or a generation that ended (KIP-447). generation_id -1
// and an empty member id skip that check.
struct ConsumerGroupMetadata {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

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

  // ---- Transactions (see the file comment). Each fails with
  // FailedPrecondition on a producer without transactional.id, after
  // Close(), or in a state that does not allow it (Kafka's messages); in an
  // error state with that error. Timeouts are DeadlineExceeded ("Timeout
  // expired after N ms while awaiting ..."); the call may then be repeated.
  // The overloads without a timeout wait up to max.block.ms.

  // Gets the producer id and epoch of transactional.id, fencing any older
  // producer with the same id (its ongoing transaction is aborted). Once.
  absl::Status InitTransactions();
  absl::Status InitTransactions(absl::Duration timeout);
  // Starts a transaction (no request).
  absl::Status BeginTransaction();
  // Commits `offsets` for `group` inside the transaction. No-op when empty.
  // InvalidArgument for an empty group id, or a generation above 0 without
  // a member id (Kafka's check).
  absl::Status SendOffsetsToTransaction(const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                                        const ConsumerGroupMetadata& group);
  // Sends every record, then commits. A record that failed fails the
  // commit (the error is abortable: AbortTransaction next).
  absl::Status CommitTransaction();
  absl::Status CommitTransaction(absl::Duration timeout);
  // Drops the records not sent, waits for those in flight, then aborts.
  absl::Status AbortTransaction();
  absl::Status AbortTransaction(absl::Duration timeout);
  // Where the state machine is (kUninitialized for a producer without
  // transactional.id).
  TransactionState transaction_state();

 private:
  struct InFlight;
  struct SenderWork;
  struct AddPartitionsCall;
  class ProduceStream;
  // A batch's failed answer (or its request's failure), kept until its
  // partition's other requests in flight are answered too.
  struct BatchFailure {
    std::unique_ptr<ProducerBatch> batch;
    absl::Status call_error;  // not OK: the request failed as a whole
    v1::ErrorCode error = v1::NONE;
    std::string message;
    int32_t leader_hint = -1;
    int32_t node = -1;  // the broker that answered
    int request_batches = 1;  // the partition's batches in its request
    int64_t call_id = 0;      // its request's (ids go up in send order)
    bool resend = false;  // not answered, not an attempt: goes again at once
  };
  // A batch going back to the head of its partition (at once: without
  // retry.backoff.ms, when it was never sent).
  struct Retry {
    std::unique_ptr<ProducerBatch> batch;
    absl::Status error;
    bool at_once = false;
  };
  // A partition's requests in flight (see the file comment).
  struct Window {
    // When each was sent, by request id (its size is how many are in
    // flight).
    std::map<int64_t, absl::Time> sent;
    // One of them allows none beside it: a retry, or a unary call.
    bool exclusive = false;
    std::string target;  // where they went
    // The producer id and epoch of the last one's batches (idempotence).
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    std::vector<BatchFailure> failed;
  };
  // A request in flight this long lets a full batch of its partition go
  // beside it (see the file comment).
  static constexpr absl::Duration kPipelineAfter = absl::Milliseconds(1);
  // A coordinator's answer: its error code and message.
  struct TxnAnswer {
    v1::ErrorCode error = v1::NONE;
    std::string message;
  };
  using CoordinatorRpc =
      std::function<absl::StatusOr<TxnAnswer>(const std::string& target, absl::Time deadline)>;

  // A batch's records completed under mu_, whose callbacks run once it is
  // released (callbacks may call Send). One entry per batch, not per
  // record: each record's RecordMetadata is filled in as its callback runs.
  struct Completed {
    TopicPartition tp;
    std::vector<SendCallback> callbacks;
    std::vector<int64_t> timestamps;  // each record's, when acknowledged
    int64_t base_offset = -1;         // the first record's; -1 with acks=0
    int64_t log_append_time_ms = -1;  // > 0: LogAppendTime, for every record
    absl::Status error;               // not OK: every record failed with it
  };
  using Completions = std::vector<Completed>;
  // Runs the callbacks; returns how many records they completed.
  static int64_t RunCompletions(Completions& done);

  explicit Producer(ProducerConfig config, std::vector<std::string> bootstrap);

  void SenderLoop();
  // One pass of the sender under mu_: handles answers, expires old batches,
  // and takes out (muting their partitions) the batches to send and those
  // to split. Callbacks to run are appended to `done`.
  void SendReady(absl::Time now, SenderWork* work, Completions* done,
                 absl::Time* next_check) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Without mu_: seals (compresses) the batches to send and splits the
  // refused ones. Touches only `work`.
  void Prepare(SenderWork* work) ABSL_LOCKS_EXCLUDED(mu_);
  // Under mu_ again: puts split batches back, learns the compression ratios,
  // and builds the requests (batches that do not fit go back).
  void Dispatch(SenderWork* work, std::vector<InFlight*>* to_send,
                Completions* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the batch's callbacks with `error` and releases its buffer.
  void FailBatch(const ProducerBatch& batch, const absl::Status& error,
                 Completions* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Batches refused as too large are added to `work` to be split.
  void HandleAnswer(InFlight& call, absl::Time now, Completions* done,
                    SenderWork* work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Retries `batch` after a retriable error, or fails it if its delivery
  // timeout or retries are used up.
  void RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error, absl::Time now,
                   Completions* done, bool at_once = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartCall(InFlight* call);
  // A request's answer (or failure), from the transport's threads.
  void Answered(InFlight* call, grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // The ProduceStream to `target` ended; its `unanswered` requests failed
  // with `status`.
  void StreamEnded(const ProduceStream* stream, const std::string& target,
                   const std::deque<InFlight*>& unanswered, const grpc::Status& status)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A partition's failed batches, with no request of it in flight any more:
  // handled in the order they were sent, as if one request had carried
  // them. Retries are added to `retry`, refusals as too large to `work`.
  void HandleFailures(std::vector<BatchFailure>& failed, Completions* done, SenderWork* work,
                      std::vector<Retry>* retry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the window has room for another request of the partition.
  bool WindowOpen(const Window& w) const;
  // Whether a quarter of max.request.size is queued for the partition: the
  // producer is ahead of the leader's appends, and a request more in flight
  // pays.
  bool AheadOfLeader(const TopicPartition& tp) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the partition's ready batches go now beside the requests in
  // flight to `target` (else *next_check may be lowered to when they do).
  bool MayPipeline(const TopicPartition& tp, const Window& w, const std::string& target,
                   absl::Time now, absl::Time* next_check) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Idempotence: asks any broker for a producer id (without mu_; blocks up
  // to request.timeout.ms), then installs it or schedules the next try.
  // Records of batches it fails (no id to be had) are queued in `done`.
  void RenewProducerId(Completions* done) ABSL_LOCKS_EXCLUDED(mu_);
  // A stamped batch failed for good (with `error`): its records may or may
  // not be in the log, so the next batches need a new producer id; a
  // transactional producer's transaction becomes abortable, and the abort
  // bumps the epoch (KIP-360).
  void ForgetSequence(const ProducerBatch& batch, const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A batch the broker refused (with `error`) and that goes no further as
  // it is (failed, or split): its sequences are given back when that is
  // safe, else ForgetSequence; its stamp is cleared.
  void ReleaseSequence(ProducerBatch& batch, const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Clears a batch's stamp so that it is stamped again when next sent.
  static void Unstamp(ProducerBatch& batch);

  // ---- Transactions
  absl::Status CheckTransactional() const;
  // The sender's part, under mu_: the AddPartitionsToTxn answer, records
  // failed by an abort or an error state.
  void TxnSenderStep(absl::Time now, Completions* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleAddPartitionsAnswer(AddPartitionsCall& call, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Under mu_: whether the sender should look the transaction coordinator
  // up (*find) or start the AddPartitionsToTxn it returns.
  AddPartitionsCall* PrepareAddPartitions(absl::Time now, bool* find, absl::Time* next_check)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartAddPartitions(AddPartitionsCall* call) ABSL_LOCKS_EXCLUDED(mu_);
  // The sender's one attempt to find the transaction coordinator.
  void FindTxnCoordinator(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // FindCoordinator for `key` (key type 0: group, 1: transactional id) at
  // any node, one attempt: the coordinator's "host:port", or the answer's
  // error (its code attached), or the network's.
  absl::StatusOr<std::string> LookupCoordinator(int32_t key_type, const std::string& key,
                                                absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `rpc` at the coordinator of `key` until it answers NONE, an error
  // that is not retried (recorded in the state machine as abortable or
  // fatal, and returned), or `deadline` (DeadlineExceeded, "while awaiting
  // `awaiting`"). Looks the coordinator up again when it moved or did not
  // answer.
  absl::Status CallCoordinator(TxnRequest request, int32_t key_type, const std::string& key,
                               absl::Time deadline, const std::string& awaiting,
                               const CoordinatorRpc& rpc) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits (sending everything at once) until every record has its answer
  // and no AddPartitionsToTxn is in flight, or `stop` holds, or `deadline`.
  // False on the deadline.
  bool AwaitTransactionRecords(absl::Time deadline, bool (*stop)(const TransactionManager&))
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EndTxn until it succeeds or fails for good. `maybe_nothing_open`: an
  // abort of a transaction that may never have opened at the coordinator,
  // where INVALID_TXN_STATE means just that.
  absl::Status EndTransaction(bool commit, absl::Time deadline, bool maybe_nothing_open = false)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The work of CommitTransaction and AbortTransaction (and of Close),
  // under txn_call_mu_.
  absl::Status CommitTransactionUntil(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(txn_call_mu_);
  absl::Status AbortTransactionUntil(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(txn_call_mu_);
  // AddOffsetsToTxn, then TxnOffsetCommit at the group's coordinator.
  absl::Status AddOffsetsToTransaction(const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                                       const ConsumerGroupMetadata& group, int64_t producer_id,
                                       int16_t producer_epoch) ABSL_LOCKS_EXCLUDED(mu_);
  // InitProducerId with transactional.id (and, for a KIP-360 bump, the
  // current id and epoch); the new id and epoch.
  absl::StatusOr<std::pair<int64_t, int16_t>> TransactionalProducerId(absl::Time deadline,
                                                                      int64_t producer_id,
                                                                      int16_t producer_epoch)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Installs the id and epoch batches are stamped with from now on.
  void InstallProducerId(int64_t producer_id, int16_t producer_epoch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration RpcTimeout(absl::Time deadline) const;

  const ProducerConfig config_;
  ConnectionPool pool_;
  MetadataCache metadata_;
  Partitioner partitioner_ ABSL_GUARDED_BY(mu_);  // not thread-safe itself

  // Serialises the transactional calls (and Close's ending of a
  // transaction): one at a time, whatever threads make them. Taken before
  // mu_, never under it.
  absl::Mutex txn_call_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  absl::CondVar wake_sender_;  // new work, an answer, flush or close
  RecordAccumulator accumulator_ ABSL_GUARDED_BY(mu_);
  int64_t next_call_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, std::unique_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
  // The partitions with requests in flight.
  absl::flat_hash_map<TopicPartition, Window> windows_ ABSL_GUARDED_BY(mu_);
  // Each broker's ProduceStream, opened by the sender on first use; the
  // brokers that do not serve it (older versions) get unary calls.
  absl::flat_hash_map<std::string, std::shared_ptr<ProduceStream>> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> unary_targets_ ABSL_GUARDED_BY(mu_);
  // Streams created whose OnDone has not run yet.
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> answered_ ABSL_GUARDED_BY(mu_);
  int flushing_ ABSL_GUARDED_BY(mu_) = 0;
  // Records queued whose callback has not returned yet; Flush waits for 0.
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  // Estimated bytes of the records counted in unfinished_ (buffer.memory).
  int64_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool need_metadata_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_metadata_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // closing_, readable without mu_: Send refuses at once after Close.
  std::atomic<bool> closed_{false};
  bool force_close_ ABSL_GUARDED_BY(mu_) = false;
  bool sender_done_ ABSL_GUARDED_BY(mu_) = false;

  // Idempotence (see the file comment).
  const bool idempotent_;
  int64_t producer_id_ ABSL_GUARDED_BY(mu_) = -1;
  int16_t producer_epoch_ ABSL_GUARDED_BY(mu_) = -1;
  // The next sequence number of each partition under producer_id_.
  absl::flat_hash_map<TopicPartition, int32_t> next_sequence_ ABSL_GUARDED_BY(mu_);
  // The partitions whose leader acknowledged a batch under producer_id_ and
  // producer_epoch_: only they have more than one request in flight.
  absl::flat_hash_set<TopicPartition> sequence_acknowledged_ ABSL_GUARDED_BY(mu_);
  // Transactions (see the file comment). The state machine's producer id
  // and epoch are producer_id_ and producer_epoch_ (installed together).
  const bool transactional_;
  TransactionManager txn_ ABSL_GUARDED_BY(mu_);
  // The transaction coordinator's "host:port"; empty: to be looked up.
  std::string txn_coordinator_ ABSL_GUARDED_BY(mu_);
  // The AddPartitionsToTxn in flight, and whether it has its answer.
  std::unique_ptr<AddPartitionsCall> add_partitions_ ABSL_GUARDED_BY(mu_);
  bool add_partitions_answered_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_add_partitions_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // CONCURRENT_TRANSACTIONS (the previous transaction's markers are still
  // going out, for a few ms) is retried after 2 ms, doubling up to Kafka's
  // 20 ms (its ADD_PARTITIONS_RETRY_BACKOFF_MS, which alone made back-to-
  // back transactions of 1,000 records wait ~15 ms each for nothing).
  static constexpr absl::Duration kConcurrentTxnFirstBackoff = absl::Milliseconds(2);
  static constexpr absl::Duration kConcurrentTxnMaxBackoff = absl::Milliseconds(20);
  absl::Duration add_partitions_backoff_ ABSL_GUARDED_BY(mu_) = kConcurrentTxnFirstBackoff;
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
