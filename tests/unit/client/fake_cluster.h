// An in-process fake of a Strata cluster for client and CLI tests: N nodes,
// each a gRPC server on 127.0.0.1 with an OS-picked port, serving the public
// Broker, Admin and Group services from one shared in-memory state. Partition logs
// hold the v2 batches producers send, with offsets assigned as the broker
// does; a node that does not lead a partition answers NOT_LEADER_OR_FOLLOWER
// with a leader hint, as the contract says. Groups are plain records set by
// the test (no rebalance protocol): each has a coordinator node, and the
// other nodes answer NOT_COORDINATOR for it. Errors can be injected.
//
// Idempotent producers: InitProducerId hands out ids from 1000 on; batches
// with a producer id are checked as a leader does, per partition and
// producer: a batch whose sequences were written before (matched exactly)
// is answered with its original offset and not appended again; one that
// does not follow the last sequence written (or start at 0 under a new id)
// gets OUT_OF_ORDER_SEQUENCE_NUMBER.
//
// Transactions: one node (1 unless SetTxnCoordinator) coordinates every
// transactional id (FindCoordinator key type 1; the others answer
// NOT_COORDINATOR) and serves strata.v1.Transaction as a small model of
// Kafka's coordinator: InitProducerId with a transactional id gives the
// id's producer id (a new one the first time) with the next epoch,
// aborting an open transaction (or, with the current id and epoch, bumps
// it: KIP-360); AddPartitionsToTxn, AddOffsetsToTxn and EndTxn check the
// id and epoch (PRODUCER_FENCED for an older epoch); TxnOffsetCommit, at
// the group's coordinator, checks the epoch and the generation (KIP-447)
// and keeps the offsets until EndTxn commits them into the group. A
// transactional batch for a partition its transaction does not hold is
// refused with INVALID_TXN_STATE, one with an older epoch with
// INVALID_PRODUCER_EPOCH. Every call is recorded in TxnLog().
//
// Thread-safe. The destructor stops every server.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/record/record_batch.h"
#include "grpcpp/server.h"
#include "grpcpp/support/status.h"
#include "strata/v1/admin.pb.h"
#include "strata/v1/broker.pb.h"
#include "strata/v1/group.pb.h"
#include "strata/v1/transaction.pb.h"

namespace strata::testing {

// A consumer group as the fake coordinator keeps it.
struct FakeGroup {
  std::string state = "Empty";  // Kafka's names: Empty, Stable, PreparingRebalance, ...
  std::string protocol_type = "consumer";
  std::string protocol;  // the assignor, e.g. "range"
  int32_t coordinator = 1;
  // A new member moves it on; no real rebalance happens (JoinGroup answers
  // at once, the first member leads): enough for consumers alone in a
  // group.
  int32_t generation = 0;
  std::vector<v1::DescribedGroupMember> members;
  // (topic, partition) -> committed offset
  std::map<std::pair<std::string, int32_t>, int64_t> offsets;
};

class FakeCluster {
 public:
  explicit FakeCluster(int num_nodes = 1);
  ~FakeCluster();

  // "127.0.0.1:p1,127.0.0.1:p2,..."
  std::string bootstrap() const;
  std::string address(int node_id) const;
  // Node ids are 1..N.
  int num_nodes() const { return static_cast<int>(servers_.size()); }

  // Partition p is led by node (p % N) + 1 unless `leaders` says otherwise.
  void AddTopic(const std::string& name, int partitions, std::vector<int32_t> leaders = {});
  void SetLeader(const std::string& topic, int32_t partition, int32_t leader);
  // The next `times` produce answers for the partition carry `code` (with
  // `hint` as leader_hint).
  void FailProduce(const std::string& topic, int32_t partition, v1::ErrorCode code, int times,
                   int32_t hint = -1);
  // The next `times` produce requests for the partition are appended, and
  // then answered with `code` as if the answer were lost (REQUEST_TIMED_OUT
  // for an acks=all request whose replicas were slow, say).
  void FailProduceAfterAppend(const std::string& topic, int32_t partition, v1::ErrorCode code,
                              int times);
  // The next produce request for the partition has only its first
  // `batches` batches appended (as a new leader whose copy of the last
  // request was cut short holds them), and is answered with `code`.
  void AppendPrefixThenFail(const std::string& topic, int32_t partition, int batches,
                            v1::ErrorCode code);
  // The next `times` InitProducerId calls answer `code`.
  void FailInitProducerId(v1::ErrorCode code, int times);
  int init_producer_id_requests() const;
  // The stored batches of the partition, in offset order.
  std::vector<std::string> Batches(const std::string& topic, int32_t partition) const;
  // The partition's log starts at `start`, as after retention.
  void SetLogStart(const std::string& topic, int32_t partition, int64_t start);

  // The partition's log ends at `end` (its high watermark), as if records
  // up to it had been produced.
  void SetLogEnd(const std::string& topic, int32_t partition, int64_t end);
  // Flips a byte of the stored batch `index` of the partition, inside its
  // records (the CRC no longer matches), as a bad disk would.
  void CorruptBatch(const std::string& topic, int32_t partition, size_t index);

  void SetGroup(const std::string& id, FakeGroup group);
  // The group as it is now; Dead with no members if it does not exist.
  FakeGroup Group(const std::string& id) const;
  bool HasGroup(const std::string& id) const;
  std::vector<std::string> GroupIds() const;
  // The next `times` group calls for `id` at its coordinator (and
  // FindCoordinator answers for it) carry `code`.
  void FailGroup(const std::string& id, v1::ErrorCode code, int times);
  int find_coordinator_requests() const;

  // ---- Transactions (see the file comment)
  void SetTxnCoordinator(int32_t node);
  // The next `times` calls of `request` for a transactional id
  // ("FindCoordinator" with key type 1, "InitProducerId",
  // "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit")
  // answer `code`.
  void FailTxn(const std::string& request, v1::ErrorCode code, int times);
  // The next `times` calls of `request` (the names above but
  // "FindCoordinator") fail with the gRPC status `code`: before the
  // coordinator sees them (a lost request), or, with `after_handling`,
  // after it acted on them (a lost answer).
  void FailTxnTransport(const std::string& request, grpc::StatusCode code, int times,
                        bool after_handling);
  // The coordinator forgets the id (transactional.id.expiration.ms passed):
  // its calls answer INVALID_PRODUCER_ID_MAPPING, and InitProducerId with
  // the old id and epoch gets a new producer id, as Kafka's coordinator
  // does for an id it does not hold.
  void ExpireTransactionalId(const std::string& transactional_id);
  // While held, AddPartitionsToTxn calls wait (their arrival is counted).
  void HoldAddPartitions(bool hold);
  int add_partitions_requests() const;
  // What the coordinator answered, in order, e.g. "InitProducerId tx
  // 1000/0", "AddPartitionsToTxn tx t-0,t-1", "TxnOffsetCommit tx g t-0=5",
  // "EndTxn tx COMMIT"; a refused call ends with its error name, e.g.
  // "EndTxn tx COMMIT PRODUCER_FENCED".
  std::vector<std::string> TxnLog() const;
  // Another instance of `transactional_id` initialized: the epoch goes up
  // and the open transaction is aborted.
  void FenceTransactionalId(const std::string& transactional_id);
  // The committed (EndTxn COMMIT) and aborted transactions' batches: the
  // records of aborted ones stay in Records() as in a log; this tells them
  // apart. Base offsets of the batches a producer id wrote in transactions
  // that ended with an abort.
  std::vector<int64_t> AbortedBatchOffsets(const std::string& topic, int32_t partition) const;

  // Every record appended to the partition, in offset order.
  std::vector<record::Record> Records(const std::string& topic, int32_t partition) const;
  // Batches appended to the partition.
  int BatchCount(const std::string& topic, int32_t partition) const;
  // Whether ProduceStream is served (by default); else it answers
  // UNIMPLEMENTED, as a broker of an older version.
  void ServeProduceStream(bool serve);
  // While held, ProduceStream appends the requests it reads but sends no
  // answer (unary Produce calls are not held).
  void HoldProduceAnswers(bool hold);
  // A produce message whose records contain `marker` is refused as gRPC
  // refuses one over its size limit: the call (a whole ProduceStream, or a
  // unary Produce) ends with RESOURCE_EXHAUSTED.
  void RefuseMessagesWith(const std::string& marker);
  int produce_requests() const;
  // Of those, the ones read from a ProduceStream.
  int stream_produce_requests() const;
  // acks of the last Produce request.
  int32_t last_acks() const;

  v1::DescribeQuorumResponse quorum;    // what DescribeQuorum answers
  v1::DescribeClusterResponse cluster;  // brokers are filled in by the constructor
  // What DescribeLogDirs answers at each node (by node id; broker_id is
  // set to the node's), and the last request each node got. Guarded by the
  // cluster's lock once clients run: set them before.
  std::map<int32_t, v1::DescribeLogDirsResponse> log_dirs;
  std::map<int32_t, v1::DescribeLogDirsRequest> log_dirs_requests;

  class Node;

 private:
  friend class Node;
  struct Partition {
    int32_t leader = 1;
    int64_t log_start = 0;
    int64_t next_offset = 0;
    std::vector<std::pair<int64_t, std::string>> batches;  // base offset, bytes
    int fail_times = 0;
    v1::ErrorCode fail_code = v1::NONE;
    int32_t fail_hint = -1;
    int fail_after_append_times = 0;
    int prefix_batches = -1;  // AppendPrefixThenFail: batches of the next request kept
    v1::ErrorCode fail_after_append_code = v1::NONE;
    // Per producer id: the sequences written (first, last, base offset).
    struct Written {
      int16_t epoch = 0;
      std::vector<std::tuple<int32_t, int32_t, int64_t>> batches;
    };
    std::map<int64_t, Written> producers;
  };
  struct Topic {
    std::string id;
    std::vector<Partition> partitions;
    std::map<std::string, std::string> configs;
  };

  mutable absl::Mutex mu_;
  absl::CondVar appended_;
  bool stopping_ = false;
  std::map<std::string, Topic> topics_;
  int produce_requests_ = 0;
  std::atomic<int> stream_produce_requests_ = 0;
  std::atomic<bool> produce_stream_served_{true};
  std::atomic<bool> hold_produce_answers_{false};
  std::string oversized_marker_ ABSL_GUARDED_BY(mu_);
  bool Oversized(const v1::ProduceRequest& req) const ABSL_LOCKS_EXCLUDED(mu_);
  std::map<std::string, FakeGroup> groups_;
  struct Txn {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    // The epoch a KIP-360 bump moved from (-1: none), accepted once more.
    int16_t last_epoch = -1;
    bool ongoing = false;
    // How the last transaction ended, while no new one is open: an EndTxn
    // retried after a lost answer is answered NONE, as the real coordinator
    // does (CompleteCommit / CompleteAbort); any other EndTxn then is
    // INVALID_TXN_STATE.
    enum class Ended { kNone, kCommit, kAbort } ended = Ended::kNone;
    std::set<std::pair<std::string, int32_t>> partitions;
    // group -> (topic, partition) -> offset, until EndTxn.
    std::map<std::string, std::map<std::pair<std::string, int32_t>, int64_t>> offsets;
    // (topic, partition, base offset) of the open transaction's batches.
    std::vector<std::tuple<std::string, int32_t, int64_t>> batches;
  };
  std::map<std::string, Txn> txns_;
  std::set<std::tuple<std::string, int32_t, int64_t>> aborted_batches_;
  int32_t txn_coordinator_ = 1;
  std::map<std::string, std::pair<v1::ErrorCode, int>> txn_failures_;
  struct TransportFailure {
    grpc::StatusCode code = grpc::StatusCode::OK;
    int times = 0;
    bool after_handling = false;
  };
  std::map<std::string, TransportFailure> txn_transport_failures_;
  // A gRPC failure to give `request` now (before or after handling it), or
  // OK.
  grpc::Status TakeTransportFailure(const std::string& request, bool after_handling)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> txn_log_;
  bool hold_add_partitions_ = false;
  int add_partitions_requests_ = 0;
  class TxnNode;
  std::vector<std::unique_ptr<TxnNode>> txn_nodes_;
  Partition* Find(const std::string& topic, int32_t partition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Txn* TxnOf(int64_t producer_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string TxnIdOf(int64_t producer_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::ErrorCode TakeTxnFailure(const std::string& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Log(std::string entry, v1::ErrorCode error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits or aborts the id's open transaction.
  void EndTransaction(const std::string& id, bool commit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void InitTransactionalId(int32_t node, const v1::InitProducerIdRequest& req,
                           v1::InitProducerIdResponse* resp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::map<std::string, std::pair<v1::ErrorCode, int>> group_failures_;
  int find_coordinator_requests_ = 0;
  int64_t next_producer_id_ = 1000;
  int init_producer_id_requests_ = 0;
  int init_producer_id_fail_times_ = 0;
  v1::ErrorCode init_producer_id_fail_code_ = v1::NONE;
  int member_ids_ = 0;
  int32_t last_acks_ = 0;
  int next_topic_id_ = 1;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::vector<int> ports_;
};

}  // namespace strata::testing
