// The transaction coordinator (Kafka's TransactionCoordinator,
// TransactionStateManager and the completion half of its
// TransactionMarkerChannelManager): exactly-once producers' transactions,
// whose state lives in the internal topic __transaction_state (KIP-98,
// with KIP-360's epoch bumps and KIP-588's PRODUCER_FENCED).
//
// Placement. A transactional id belongs to partition PartitionFor(id) of
// __transaction_state, and the broker leading that partition coordinates
// it; the partition's leader epoch is the coordinator epoch, which every
// transaction marker carries so partition leaders refuse a deposed
// coordinator's markers. OnBecameLeader loads the partition (on the
// `schedule` executor): until then its ids get COORDINATOR_LOAD_IN_PROGRESS.
// OnResigned unloads it; ids of partitions not led get NOT_COORDINATOR.
// A load that cannot read its partition (a read error, no progress short of
// the log end, a batch or a value that does not decode, a value no
// coordinator could have written) fails as a whole and starts over after
// retry_backoff_ms; records whose key version is unknown are skipped.
//
// Durability. Every state change is a record (transaction_records.h)
// appended with acks=all, and the change takes effect — and the client is
// answered — only once the record is durable (prepare → write → complete,
// transaction_metadata.h). While a record is in flight the id has a pending
// transition and other requests for it get CONCURRENT_TRANSACTIONS.
//
// A transaction: InitProducerId gives a producer id and epoch (a new id is
// written Empty at epoch 0; a known idle one has its epoch bumped, fencing
// older producers, and gets a new producer id once the epoch is used up);
// AddPartitionsToTxn / AddOffsetsToTxn make it Ongoing; EndTxn writes
// PrepareCommit or PrepareAbort, answers, then has `send_markers` write
// the COMMIT/ABORT markers to every partition and, once all are written,
// writes CompleteCommit / CompleteAbort. A marker that failed with a
// retriable error is sent again after retry_backoff_ms; a partition whose
// topic was deleted, or that answers UNSUPPORTED_VERSION or
// UNSUPPORTED_FOR_MESSAGE_FORMAT, is dropped. A failed Complete* write is
// tried again after the same pause unless the coordinator moved. An
// InitProducerId that finds a transaction Ongoing fences it: the epoch is
// bumped, the transaction aborted with the new epoch, and the caller told
// CONCURRENT_TRANSACTIONS (it retries and gets the epoch bumped once
// more). AbortTimedOutTransactions aborts (and
// so fences) transactions Ongoing longer than their timeout;
// RemoveExpiredTransactionalIds writes tombstones for idle ids. After a
// failover the new coordinator finishes every PrepareCommit/PrepareAbort
// it loads.
//
// Threading. Thread-safe. One mutex guards all state; no callback (append,
// read, send_markers, schedule, generate_producer_id, partition_exists,
// the partition-count functions) and no completion is ever called with it
// held. Completions run on the calling thread, on the thread acknowledging
// an append or answering markers, or on a `schedule` thread; they must
// not block. Records of one __transaction_state partition are appended in
// the order their changes were decided.
//
// Lifetime. The coordinator must outlive everything it handed a callback
// to: stop the marker sender, the scheduler and the log (or make sure
// their callbacks are not run) before destroying it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/replication/results.h"
#include "broker/txn/transaction_metadata.h"
#include "broker/txn/txn_api.h"
#include "client/common/clock.h"

namespace strata::txn {

// What a marker says (Kafka's TransactionResult).
enum class TransactionResult { kAbort, kCommit };

// One WriteTxnMarkers entry: the markers of one transaction.
struct MarkerRequest {
  std::string transactional_id;  // for logs
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  TransactionResult result = TransactionResult::kAbort;
  int32_t coordinator_epoch = -1;
  std::vector<TxnTopicPartition> partitions;
};
// Each partition's answer. A partition missing from it is sent again.
using MarkerResults = std::vector<std::pair<TxnTopicPartition, ErrorCode>>;

struct TransactionCoordinatorOptions {
  int32_t broker_id = -1;
  // transaction.state.log.num.partitions: used while
  // transaction_state_partition_count is unset or answers <= 0.
  int32_t transaction_state_partitions = 50;
  // offsets.topic.num.partitions, the same way for
  // offsets_topic_partition_count.
  int32_t offsets_topic_partitions = 50;
  int32_t transaction_max_timeout_ms = 900000;         // transaction.max.timeout.ms
  int64_t transactional_id_expiration_ms = 604800000;  // transactional.id.expiration.ms
  // How often the owner calls AbortTimedOutTransactions and
  // RemoveExpiredTransactionalIds (the coordinator schedules neither):
  // transaction.abort.timed.out.transaction.cleanup.interval.ms and
  // transaction.remove.expired.transaction.cleanup.interval.ms.
  int64_t abort_timed_out_transaction_cleanup_interval_ms = 10000;
  int64_t remove_expired_transaction_cleanup_interval_ms = 3600000;
  // The pause before a marker or a Complete* write is tried again, and
  // before a failed load starts over.
  int64_t retry_backoff_ms = 100;

  Clock* clock = nullptr;  // required
  // Appends `batch` (one v2 batch) to __transaction_state `partition` with
  // acks=all; `done` runs once, when the in-sync replicas have it or it
  // failed, on any thread (also inside the call). Required.
  using AppendDone = std::function<void(ErrorCode, std::string message, int64_t base_offset)>;
  std::function<void(int32_t partition, std::string batch, AppendDone done)> append;
  // Reads whole batches of `partition` from `offset` up to its log end (at
  // least one batch when there is one). Required.
  std::function<replication::FetchResult(int32_t partition, int64_t offset)> read;
  // The partition counts of __transaction_state and __consumer_offsets as
  // they exist (unset or <= 0: the defaults above).
  std::function<int32_t()> transaction_state_partition_count;
  std::function<int32_t()> offsets_topic_partition_count;
  // A new producer id (ProducerIdManager::GenerateProducerId); an error
  // (no block at hand yet) is answered COORDINATOR_LOAD_IN_PROGRESS, which
  // clients retry. Required.
  std::function<absl::StatusOr<int64_t>()> generate_producer_id;
  // Writes the markers of `request` (WriteTxnMarkers to each partition's
  // leader) and calls `done` once with each partition's error, on any
  // thread. Required.
  std::function<void(MarkerRequest request, std::function<void(MarkerResults)> done)> send_markers;
  // Whether a partition exists: AddPartitionsToTxn refuses unknown ones,
  // and markers to a deleted topic are dropped (unset: all exist).
  std::function<bool(const std::string& topic, int32_t partition)> partition_exists;
  // Runs `task` on another thread after `delay_ms` (0: soon): loads and
  // retries. Tasks may block briefly (a load reads its partition).
  // Required.
  std::function<void(int64_t delay_ms, std::function<void()> task)> schedule;
};

class TransactionCoordinator {
 public:
  explicit TransactionCoordinator(TransactionCoordinatorOptions options);
  // Calls Shutdown().
  ~TransactionCoordinator();

  TransactionCoordinator(const TransactionCoordinator&) = delete;
  TransactionCoordinator& operator=(const TransactionCoordinator&) = delete;

  // Unloads every partition; later requests get NOT_COORDINATOR.
  void Shutdown();

  // This broker leads __transaction_state `partition` in
  // `coordinator_epoch` (its leader epoch): whatever an older epoch had
  // loaded is dropped, and the partition is loaded anew on the `schedule`
  // executor — the last value of each transactional id wins, a tombstone
  // (or a Dead value) removes it — after which every PrepareCommit / PrepareAbort found is
  // completed (markers, then Complete*). A stale or repeated epoch is
  // ignored.
  void OnBecameLeader(int32_t partition, int32_t coordinator_epoch);
  // It stopped leading it (`coordinator_epoch`: the new epoch, or the one
  // it led): the partition's ids are forgotten unless a later epoch was
  // loaded meanwhile. The highest epoch seen is remembered, so a later
  // OnBecameLeader with it or an older one is ignored. Work in flight for them is dropped; their
  // requests waiting on an append get NOT_COORDINATOR.
  void OnResigned(int32_t partition, int32_t coordinator_epoch);

  // Kafka's Utils.abs(transactionalId.hashCode) % partition count.
  int32_t PartitionFor(std::string_view transactional_id) const;
  // Whether this broker coordinates `transactional_id` now (loaded).
  bool IsCoordinatorFor(std::string_view transactional_id) const;
  // Whether some partition is still loading.
  bool Loading() const;

  void InitProducerId(InitProducerIdRequest request,
                      std::function<void(InitProducerIdResponse)> done);
  void AddPartitionsToTxn(AddPartitionsToTxnRequest request,
                          std::function<void(AddPartitionsToTxnResponse)> done);
  void AddOffsetsToTxn(AddOffsetsToTxnRequest request, std::function<void(TxnResult)> done);
  void EndTxn(EndTxnRequest request, std::function<void(TxnResult)> done);

  // One description per id asked for, in order.
  std::vector<TransactionDescription> DescribeTransactions(
      const std::vector<std::string>& transactional_ids);
  // The ids coordinated here, by id; none, with COORDINATOR_LOAD_IN_PROGRESS,
  // while some partition is loading.
  ListTransactionsResponse ListTransactions(const ListTransactionsRequest& request);

  // Aborts, with an epoch bump that fences their producer, transactions
  // Ongoing for longer than their timeout (start + timeout < now) and
  // with no transition pending. Called every
  // abort_timed_out_transaction_cleanup_interval_ms.
  void AbortTimedOutTransactions();
  // Writes tombstones for ids idle (Empty, CompleteCommit, CompleteAbort,
  // nothing pending) since transactional.id.expiration.ms, and forgets them
  // once written. Called every
  // remove_expired_transaction_cleanup_interval_ms.
  void RemoveExpiredTransactionalIds();

 private:
  struct Txn;
  struct Effects;
  // One leadership of a partition. `generation` is unique to it (never
  // reused, even for an equal epoch), so work begun for it never touches a
  // later one.
  struct PartitionState {
    int32_t epoch = -1;
    uint64_t generation = 0;
    bool loaded = false;
  };
  using TxnKey = std::pair<int32_t, std::string>;  // (partition, transactional id)
  using Records = std::vector<std::pair<std::string, std::optional<std::string>>>;
  struct PendingWrite {
    uint64_t generation = 0;
    Records records;
    TransactionCoordinatorOptions::AppendDone done;
  };
  struct WriteQueue {
    std::deque<PendingWrite> items;
    bool draining = false;
  };
  // What a write's continuation gets: the error (append errors mapped to
  // coordinator ones) and the id's state — null when the partition moved
  // on meanwhile. Runs with mu_ held.
  using Then = std::function<void(ErrorCode, Txn*, Effects&)>;
  using Respond = std::function<void(ErrorCode, std::string)>;

  // The id's state when partition `partition` is loaded here; otherwise
  // NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. NONE with null: unknown.
  ErrorCode Locate(const std::string& id, int32_t partition, Txn** out, std::string* message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The id's state if it is loaded in the partition leadership
  // `generation`.
  Txn* Find(const std::string& id, uint64_t generation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // InitProducerId with the lock held. Returns true, having done nothing,
  // when it needs a new producer id and `spare_id` has none.
  bool InitLocked(const InitProducerIdRequest& request, int32_t partition,
                  std::optional<int64_t>& spare_id,
                  std::function<void(InitProducerIdResponse)>& done, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddPartitionsLocked(const std::string& id, int32_t partition, int64_t producer_id,
                           int16_t producer_epoch, const std::set<TxnTopicPartition>& partitions,
                           Respond respond, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Kafka's endTransaction. `fence`: the epoch fence this abort carries out
  // (InitProducerId on an Ongoing transaction, a timeout), null for a
  // client's EndTxn. `respond` runs once the PrepareX record is durable
  // (or at once with an error).
  void EndTxnLocked(Txn& t, int64_t producer_id, int16_t producer_epoch, TransactionResult result,
                    const TxnTransit* fence, Respond respond, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Aborts `t` with its epoch bumped (fencing its producer).
  void FenceAndAbort(Txn& t, Respond respond, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Markers: the Prepare* record is durable; `t` has its Complete* pending.
  void StartMarkers(Txn& t, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkerRound(const std::string& id, uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  void OnMarkersDone(const std::string& id, uint64_t generation, const MarkerResults& results)
      ABSL_LOCKS_EXCLUDED(mu_);
  void WriteComplete(Txn& t, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes `transit` for `t`; once durable the transition completes (or,
  // failed, is dropped — kept pending for a retry when `retry` and the
  // coordinator did not move), then `then` runs. A transit the metadata
  // refuses to complete is answered UNKNOWN_SERVER_ERROR and dropped.
  void WriteTransit(Txn& t, const TxnTransit& transit, bool retry, Then then, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ErrorCode OnTransitWritten(const std::string& id, uint64_t generation, const TxnTransit& transit,
                             ErrorCode error, const std::string& message, bool retry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues records for `partition`, decided in its leadership
  // `generation`; `fx` appends them in queue order once the lock is
  // released. A write whose leadership is over by then is answered
  // NOT_COORDINATOR unwritten.
  void Enqueue(int32_t partition, uint64_t generation, Records records,
               TransactionCoordinatorOptions::AppendDone done, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainWrites(int32_t partition) ABSL_LOCKS_EXCLUDED(mu_);

  void Load(int32_t partition, uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `generation` of `partition` is still waiting for its load.
  bool StillLoading(int32_t partition, uint64_t generation) const ABSL_LOCKS_EXCLUDED(mu_);
  // The load of `generation` failed: try again after retry_backoff_ms.
  void RetryLoad(int32_t partition, uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets the ids of `partition`.
  void DropTxnsOf(int32_t partition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int32_t OffsetsPartitionCount() const;

  const TransactionCoordinatorOptions options_;

  mutable absl::Mutex mu_;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int32_t, PartitionState> partitions_ ABSL_GUARDED_BY(mu_);
  // The highest coordinator epoch seen per partition, kept across
  // resignations so a late OnBecameLeader of an older epoch is refused.
  std::map<int32_t, int32_t> highest_epoch_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // By partition too: after the partition count changed, an id may be in
  // two partitions' logs; each partition keeps its own (as Kafka does).
  std::map<TxnKey, std::unique_ptr<Txn>> txns_ ABSL_GUARDED_BY(mu_);
  // Per partition; never erased, so a draining thread's reference stays.
  std::map<int32_t, WriteQueue> write_queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::txn
