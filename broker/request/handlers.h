// The request layer: produce, fetch, list-offsets, offset-for-leader-epoch
// and metadata as protocol-neutral handlers (Kafka's KafkaApis, without the
// wire). A transport decodes its request into api.h's structs, calls the
// handler, and encodes what the completion callback hands back; the gRPC
// services (broker/server/) do that today, and Kafka's binary protocol
// listener reuses the same handlers.
//
// Requests that cannot be answered at once park in the purgatory keyed by
// the partitions they wait on: an acks=all produce until the high watermark
// passes its records, a long-poll fetch until data arrives. The completion
// callback runs exactly once, on the calling thread or on whichever thread
// made the progress that completed it (or the purgatory's reaper at the
// deadline); it must not block.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/admin_types.h"
#include "broker/metadata/metadata_image.h"
#include "broker/purgatory/purgatory.h"
#include "broker/replication/replica_manager.h"
#include "broker/request/api.h"
#include "broker/request/fetch_memory.h"
#include "broker/request/fetch_sessions.h"
#include "broker/txn/producer_id_manager.h"
#include "broker/txn/transaction_coordinator.h"
#include "client/common/clock.h"

namespace strata::metrics {
class Metrics;
}

namespace strata::request {

struct HandlerOptions {
  replication::ReplicaManager* replicas = nullptr;
  purgatory::Purgatory* purgatory = nullptr;
  Clock* clock = nullptr;
  // The cluster as this broker knows it, and the controller's id.
  std::function<std::shared_ptr<const metadata::MetadataImage>()> image;
  std::function<int32_t()> controller_id;
  // This broker's id (whose dynamic broker configs apply here).
  int32_t node_id = -1;
  // fetch.max.bytes: no response is larger, whatever the client asks.
  size_t fetch_max_bytes = 57671680;
  // The broker's log.* settings, under topic config names: what a topic
  // without its own override gets (describe-configs shows them).
  std::map<std::string, std::string> broker_log_overrides;
  // The in-flight byte pools of consumer and follower fetches, apart so
  // consumers cannot starve replication (strata.fetch.max.inflight.bytes).
  FetchMemory* consumer_fetch_memory = nullptr;
  FetchMemory* follower_fetch_memory = nullptr;
  // __consumer_offsets: its replication factor
  // (offsets.topic.replication.factor: FindCoordinator waits for that many
  // live brokers), and how to have the controller create it when a
  // FindCoordinator first needs it (called at most once per second while it
  // is missing; must not block). Groups are placed by the partition count
  // the topic has.
  int32_t offsets_topic_replication_factor = 3;
  std::function<void()> create_offsets_topic;
  // Metadata's auto-creation (auto.create.topics.enable): whether this
  // broker creates unknown topics a Metadata request names and allows to be
  // created, with num.partitions and default.replication.factor; and how
  // (through the controller, as a client's CreateTopics; must not block —
  // the client learns the outcome from its next Metadata request). Asked
  // at most once a second per topic.
  bool auto_create_topics_enable = false;
  int32_t num_partitions = 1;
  int32_t default_replication_factor = 1;
  std::function<void(metadata::CreateTopicsRequest)> create_topics;
  // This broker's producer ids (InitProducerId); owned by the node, outlives
  // the handlers. Null: none are handed out.
  txn::ProducerIdManager* producer_id_manager = nullptr;
  // The transaction coordinator: InitProducerId with a transactional id
  // goes to it. Null: transactional ids are refused (INVALID_REQUEST).
  txn::TransactionCoordinator* transactions = nullptr;
  // __transaction_state, as __consumer_offsets above
  // (transaction.state.log.replication.factor; created on the first
  // FindCoordinator of a transactional id).
  int32_t transaction_state_replication_factor = 3;
  std::function<void()> create_transaction_state_topic;
  // A marker was written to a partition, and the in-sync replicas have it
  // (the group coordinator makes a transaction's offsets visible or drops
  // them on its __consumer_offsets marker). Must not block. Unset: none.
  std::function<void(const TxnMarkerEntry& marker, const TxnMarkerPartition& partition)>
      on_txn_marker_written;
  // Bytes and records in (clients' produces) and out (consumers' fetches)
  // per topic. Null: not counted.
  metrics::Metrics* metrics = nullptr;
  // Followers' incremental fetch sessions this leader keeps at most
  // (fetch_sessions.h; Kafka's max.incremental.fetch.session.cache.slots).
  // 0: none, every follower fetch is full.
  size_t max_fetch_sessions = 1000;
  // replica.lag.time.max.ms: an idle session's full reads are at most a
  // quarter of it apart (and at most 5 s), so that its caught-up followers
  // stay in the ISR (fetch_sessions.h).
  int64_t replica_lag_time_max_ms = 30000;
};

class RequestHandlers {
 public:
  // Kafka's defaults for what a request leaves unset.
  static constexpr int32_t kDefaultProduceTimeoutMs = 30000;         // request.timeout.ms
  static constexpr size_t kDefaultConsumerFetchMaxBytes = 52428800;  // fetch.max.bytes
  static constexpr size_t kDefaultFollowerFetchMaxBytes =
      10485760;  // replica.fetch.response.max.bytes
  // The longest a fetch may wait, whatever it asks.
  static constexpr int32_t kMaxFetchWaitMs = 60000;

  explicit RequestHandlers(HandlerOptions options);

  void Produce(ProduceRequest request, std::function<void(ProduceResponse)> done);
  // A producer id for an idempotent producer: a new id at epoch 0 from this
  // broker's block (txn::ProducerIdManager), also for a producer that asks
  // again with its old id (Kafka does the same without a transactional
  // id). COORDINATOR_LOAD_IN_PROGRESS, which clients retry, while the
  // broker holds no block yet. With a transactional id: the transaction
  // coordinator's answer (this broker must coordinate the id).
  void InitProducerId(const InitProducerIdRequest& request,
                      std::function<void(InitProducerIdResponse)> done);
  // Appends each marker to each of its partitions (this broker must lead
  // them) and answers once the in-sync replicas have them all, or the
  // request's timeout passed (REQUEST_TIMED_OUT for those still waiting).
  // Kafka's WriteTxnMarkers: transaction coordinators call it. A request
  // `from_admin` may only ABORT a transaction open in the partition, with
  // its producer's current epoch, never raising the coordinator epoch: a
  // COMMIT, or lying epochs, would commit another producer's open
  // transaction or make its coordinator's marker look old so that it never
  // ends. Refused partitions get INVALID_REQUEST, INVALID_PRODUCER_EPOCH or
  // INVALID_TXN_STATE; the others are written.
  void WriteTxnMarkers(WriteTxnMarkersRequest request,
                       std::function<void(WriteTxnMarkersResponse)> done);
  // The active producers of each (topic, partition) this broker leads
  // (DescribeProducers; NOT_LEADER_OR_FOLLOWER elsewhere), one result per
  // entry. A partition named again is answered INVALID_REQUEST, not
  // described again (each description copies its producers under the log's
  // lock).
  std::vector<replication::ProducersResult> DescribeProducers(
      const std::vector<std::pair<std::string, int32_t>>& partitions);
  void Fetch(FetchRequest request, std::function<void(FetchResponse)> done);
  ListOffsetsResponse ListOffsets(const ListOffsetsRequest& request);
  // Moves each partition's log start up to the offset asked for (this broker
  // must lead it; -1: the high watermark), then waits, up to the request's
  // timeout, until every in-sync replica has moved its own (Kafka's
  // DelayedDeleteRecords): the answer's low watermark. REQUEST_TIMED_OUT for
  // a partition whose replicas did not all follow in time.
  void DeleteRecords(DeleteRecordsRequest request, std::function<void(DeleteRecordsResponse)> done);
  // Where each epoch ends in this leader's logs, for followers (KIP-101).
  std::vector<EpochEndResult> OffsetForLeaderEpoch(
      const std::vector<EpochRequestPartition>& partitions);
  // The brokers as reachable on `listener` (a broker without an endpoint
  // there is left out; fenced ones are listed, marked fenced), and the
  // topics asked for (every topic for nullopt, none for an empty list).
  // A partition whose leader has no endpoint on `listener` answers
  // LEADER_NOT_AVAILABLE with leader -1 (PartitionMetadata).
  //
  // A name the image does not know answers, as Kafka 3.7's KafkaApis:
  //  - when the request allows auto-creation: INVALID_TOPIC_EXCEPTION for
  //    a name Kafka refuses (Controller::ValidateTopicName); for a valid
  //    name of a non-internal topic, when this broker creates topics
  //    (auto_create_topics_enable), the topic is created and the answer is
  //    LEADER_NOT_AVAILABLE, which clients retry until it has leaders;
  //  - otherwise (and for internal names, which FindCoordinator creates):
  //    UNKNOWN_TOPIC_OR_PARTITION.
  MetadataResponse Metadata(const MetadataRequest& request, const std::string& listener);

  // Where each key's coordinator is, reachable on `listener`: the leader of
  // the key's partition of __consumer_offsets (key type 0, a group) or
  // __transaction_state (1, a transactional id), placed as Kafka places
  // them. The topic is created on first need once enough brokers are
  // registered for its replication factor (KIP-115); until it has a leader
  // the answer is COORDINATOR_NOT_AVAILABLE, which clients retry.
  std::vector<CoordinatorResult> FindCoordinator(const FindCoordinatorRequest& request,
                                                 const std::string& listener);

  // Admin reads, answered from this node's metadata image.
  std::vector<std::string> ListTopics(bool include_internal);
  std::vector<TopicDescription> DescribeTopics(const DescribeTopicsRequest& request);
  // Each broker's endpoints on `listeners`, in that order.
  DescribeClusterResponse DescribeCluster(const std::vector<std::string>& listeners);
  // This broker's log directories and the partitions whose logs each holds
  // (Kafka's DescribeLogDirs, answered from ReplicaManager::LocalReplicas:
  // the online replicas this broker serves), filtered as the request says.
  DescribeLogDirsResponse DescribeLogDirs(const DescribeLogDirsRequest& request);

 private:
  struct FetchState;
  // Reads every requested partition into `state`'s response; returns the
  // bytes read and whether any partition answered with an error.
  size_t ReadAll(FetchState& state, bool* any_error);
  // Answers `state`'s fetch (counting what a consumer's carries out).
  void FinishFetch(FetchState& state);
  // Whether a read of `state`'s request would now return data (or an error).
  bool HasData(const FetchState& state);

  // Has the controller create `names` (valid, unknown, non-internal), each
  // at most once a second.
  void AutoCreateTopics(const std::vector<std::string>& names);

  // A partition an acks=all answer waits on, and where its outcome goes.
  struct AckWait {
    std::string topic;
    int32_t partition = 0;
    int64_t required_offset = 0;
    int32_t leader_epoch = -1;
    ErrorCode* error = nullptr;
    std::string* message = nullptr;
    int32_t* leader_hint = nullptr;  // may be null
  };
  // Parks until every wait is settled — its records replicated to the ISR
  // (error left as is), refused (CheckAcked's error), or timed out
  // (REQUEST_TIMED_OUT at `deadline_ms`, on the clock) — then runs `done`,
  // once. The pointers must stay valid until then.
  void AwaitAcks(std::vector<AckWait> waits, int64_t deadline_ms, std::function<void()> done);

  // Has the node create `topic` (an internal topic FindCoordinator needs)
  // at most once a second.
  void CreateInternalTopic(const char* topic, int32_t replication_factor,
                           const std::function<void()>& create, std::atomic<int64_t>& last_ms,
                           const metadata::MetadataImage& image, CoordinatorResult& r);

  const HandlerOptions options_;
  FetchSessions fetch_sessions_;
  std::atomic<int64_t> last_offsets_topic_request_ms_{0};
  std::atomic<int64_t> last_transaction_state_request_ms_{0};
  absl::Mutex auto_create_mu_;
  // When each topic's creation was last asked for.
  std::map<std::string, int64_t> auto_create_requested_ms_ ABSL_GUARDED_BY(auto_create_mu_);
};

// Builds one uncompressed v2 batch from plain records (timestamp 0 ->
// `now_ms`), consuming them.
std::string BatchFromPlainRecords(std::vector<record::Record> records, int64_t now_ms);

}  // namespace strata::request
