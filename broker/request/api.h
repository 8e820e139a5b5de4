// The broker's requests and responses, protocol-neutral: what the gRPC
// services and Kafka's binary protocol both decode into and encode from.
// Shaped after Kafka's own messages (topics holding partitions), with the
// broker's ErrorCode (Kafka's numbering) for every result. The transports
// map fields one to one; every decision is the handlers' (handlers.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/metadata/metadata_image.h"
#include "client/common/error_code.h"
#include "client/record/control_record.h"
#include "client/record/record_batch.h"

namespace strata::request {

class FetchShare;

// --- Produce ---
struct ProducePartition {
  int32_t partition = 0;
  // v2 batches, as Kafka clients send them.
  std::string records;
  // Or plain records, for clients that do not build batches (the gRPC API
  // allows it): the handler builds one uncompressed batch, stamping
  // timestamp 0 with the broker's time.
  std::vector<record::Record> plain_records;
};
struct ProduceTopic {
  std::string topic;
  std::vector<ProducePartition> partitions;
};
struct ProduceRequest {
  int32_t acks = 1;        // 0, 1 or -1 (all); anything else is refused
  int32_t timeout_ms = 0;  // <= 0: Kafka's request.timeout.ms default
  std::vector<ProduceTopic> topics;
  // Only the broker itself (the group coordinator) appends to internal
  // topics; clients get INVALID_TOPIC_EXCEPTION, as in Kafka. Its appends
  // are checked as Kafka's coordinator-origin appends (producer epochs
  // only, no sequences: storage::AppendOrigin::kCoordinator).
  bool internal_topics_allowed = false;
};
struct ProducePartitionResult {
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t base_offset = -1;
  // The time the broker stamped on the records of a LogAppendTime topic;
  // -1 for a CreateTime topic (Kafka's ProduceResponse field).
  int64_t log_append_time_ms = -1;
  int64_t log_start_offset = -1;
  int32_t leader_hint = -1;
};
struct ProduceTopicResult {
  std::string topic;
  std::vector<ProducePartitionResult> partitions;
};
struct ProduceResponse {
  std::vector<ProduceTopicResult> topics;
  // How long the answer was held back for the client's quota (throttler.h).
  int32_t throttle_time_ms = 0;
};

// --- InitProducerId ---
struct InitProducerIdRequest {
  // nullopt (or empty) for an idempotent producer.
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;
  // The producer's current id and epoch when it asks again (Kafka v3+,
  // KIP-360); -1 for a new producer.
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  // PRODUCER_FENCED is new in InitProducerId v4 (KIP-588): older clients
  // are told INVALID_PRODUCER_EPOCH instead.
  bool producer_fenced_supported = true;
};
struct InitProducerIdResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// --- WriteTxnMarkers (transaction coordinators to partition leaders) ---
struct TxnMarkerPartition {
  std::string topic;
  int32_t partition = 0;
};
struct TxnMarkerEntry {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool committed = false;  // COMMIT; otherwise ABORT
  int32_t coordinator_epoch = -1;
  std::vector<TxnMarkerPartition> partitions;
};
struct WriteTxnMarkersRequest {
  std::vector<TxnMarkerEntry> markers;
  int32_t timeout_ms = 0;  // <= 0: request.timeout.ms's default
  // From an administrator (`strata transactions abort`, Kafka's
  // Admin.abortTransaction), not a coordinator: see
  // RequestHandlers::WriteTxnMarkers.
  bool from_admin = false;
};
struct TxnMarkerResult {
  std::string topic;
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};
struct WriteTxnMarkersResponse {
  // One list per marker, in the request's order, one entry per partition.
  std::vector<std::vector<TxnMarkerResult>> markers;
};

// --- Fetch (consumers and follower replicas) ---
struct FetchPartition {
  int32_t partition = 0;
  int64_t fetch_offset = 0;
  int32_t partition_max_bytes = 0;  // <= 0: 1 MiB
  // Checked when >= 0 (followers always send it; a consumer whose metadata
  // has epochs): FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, as Kafka.
  int32_t current_leader_epoch = -1;
  // A follower's log start offset (-1 from consumers): the leader's low
  // watermark, which DeleteRecords waits for, is the least of its replicas'.
  int64_t log_start_offset = -1;
};
struct FetchTopic {
  std::string topic;
  std::vector<FetchPartition> partitions;
};
// A follower's incremental fetch session (KIP-227; fetch_sessions.h). None
// set: a full, sessionless fetch.
struct ForgottenPartition {
  std::string topic;
  int32_t partition = 0;
};
struct FetchSessionRequest {
  // A full fetch that opens a session; the answer's session_id names it.
  bool open = false;
  // An incremental fetch in session `id`, its `epoch`-th since the open:
  // the request's partitions are those added or changed since the fetch
  // before, `forgotten` those dropped.
  int32_t id = 0;
  int32_t epoch = 0;
  std::vector<ForgottenPartition> forgotten;
  bool any() const { return open || id != 0; }
};
struct FetchRequest {
  // A follower replica's fetch: reads go to the log end and record the
  // progress of `replica_id`. Otherwise a consumer's: reads stop at the
  // high watermark. The transport decides (Kafka: a replica id >= 0 from a
  // peer allowed to replicate), never the request alone.
  bool from_follower = false;
  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0;  // <= 0: the default for the kind of fetch
  // isolation_level=read_committed (a consumer's only): reads stop at the
  // last stable offset, and each partition's aborted transactions come
  // with its records.
  bool read_committed = false;
  std::vector<FetchTopic> topics;
  // Also decode the batches into plain records, for clients that do not
  // parse batches (the gRPC API allows it).
  bool decode_records = false;
  // Followers only.
  FetchSessionRequest session;
};
struct FetchPartitionResult {
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;  // followers only
  // read_committed: the aborted transactions overlapping `records`.
  std::vector<record::AbortedTransaction> aborted_transactions;
  int32_t leader_hint = -1;
  std::string records;
  std::vector<record::Record> decoded_records;
};
struct FetchTopicResult {
  std::string topic;
  std::vector<FetchPartitionResult> partitions;
};
struct FetchResponse {
  std::vector<FetchTopicResult> topics;
  // A follower's session fetch: the session (0: none was opened), and a
  // session error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH),
  // with which no partition was read.
  int32_t session_id = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  // How long the answer was held back for the client's quota (throttler.h).
  int32_t throttle_time_ms = 0;
  // The response's share of the broker's fetch memory: the transport holds
  // it until the response is on the wire, then drops it.
  std::shared_ptr<FetchShare> memory;
};

// --- ListOffsets ---
struct ListOffsetsPartition {
  int32_t partition = 0;
  // -1: latest, -2: earliest, -3: the largest timestamp, -4: the last
  // tiered offset (local log start here); else the first offset at or
  // after this timestamp.
  int64_t timestamp = -1;
};
struct ListOffsetsTopic {
  std::string topic;
  std::vector<ListOffsetsPartition> partitions;
};
struct ListOffsetsRequest {
  // isolation_level=read_committed: latest is the last stable offset.
  bool read_committed = false;
  std::vector<ListOffsetsTopic> topics;
};
struct ListOffsetsPartitionResult {
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t timestamp = -1;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  int32_t leader_hint = -1;
};
struct ListOffsetsTopicResult {
  std::string topic;
  std::vector<ListOffsetsPartitionResult> partitions;
};
struct ListOffsetsResponse {
  std::vector<ListOffsetsTopicResult> topics;
};

// --- DeleteRecords (to partition leaders) ---
struct DeleteRecordsPartition {
  int32_t partition = 0;
  // Records below it are deleted; -1: the high watermark.
  int64_t offset = 0;
};
struct DeleteRecordsTopic {
  std::string topic;
  std::vector<DeleteRecordsPartition> partitions;
};
struct DeleteRecordsRequest {
  std::vector<DeleteRecordsTopic> topics;
  // How long to wait for every replica to move its log start too.
  int32_t timeout_ms = 30000;
};
struct DeleteRecordsPartitionResult {
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  // The least log start offset of the partition's in-sync replicas.
  int64_t low_watermark = -1;
  int32_t leader_hint = -1;
};
struct DeleteRecordsTopicResult {
  std::string topic;
  std::vector<DeleteRecordsPartitionResult> partitions;
};
struct DeleteRecordsResponse {
  std::vector<DeleteRecordsTopicResult> topics;
};

// --- OffsetForLeaderEpoch (followers) ---
struct EpochRequestPartition {
  std::string topic;
  int32_t partition = 0;
  int32_t current_leader_epoch = -1;
  int32_t leader_epoch = -1;
};
struct EpochEndResult {
  std::string topic;
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
  int64_t log_end_offset = -1;
};

// --- Metadata ---
struct MetadataRequest {
  // nullopt: every topic; empty: none (only the brokers and the cluster),
  // as Kafka's Metadata v1+ (librdkafka refreshes brokers with an empty
  // list). A name named twice is answered once, as Kafka.
  std::optional<std::vector<std::string>> topics;
  // Kafka's AllowAutoTopicCreation (v4+; implied by v0-3): an unknown topic
  // named here is created when the broker allows it too
  // (auto.create.topics.enable) — see RequestHandlers::Metadata.
  bool allow_auto_topic_creation = false;
};
struct BrokerMetadata {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::string rack;
  bool fenced = false;
};
struct PartitionMetadata {
  int32_t partition = 0;
  // LEADER_NOT_AVAILABLE when the partition has no leader, or when its
  // leader has no endpoint on the listener asked for (then `leader` is -1
  // and `leader_listener_missing` is set: Kafka's Metadata v6+ answers
  // LISTENER_NOT_FOUND instead, which the Kafka adapter decides by version).
  ErrorCode error = ErrorCode::kNone;
  bool leader_listener_missing = false;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline_replicas;
};
struct TopicMetadata {
  std::string name;
  std::string topic_id;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  bool internal = false;
  std::vector<PartitionMetadata> partitions;
};
struct MetadataResponse {
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<BrokerMetadata> brokers;
  std::vector<TopicMetadata> topics;
};

// --- FindCoordinator ---
struct FindCoordinatorRequest {
  int8_t key_type = 0;  // 0: group (1: transaction, with exactly-once)
  std::vector<std::string> keys;
};
struct CoordinatorResult {
  std::string key;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

// --- Admin reads: ListTopics, DescribeTopics, DescribeCluster ---
// (The admin writes — CreateTopics, DeleteTopics, CreatePartitions,
// ElectLeaders — are decided by the controller on
// broker/metadata/admin_types.h.)
struct DescribeTopicsRequest {
  // Empty: every topic (internal ones only when asked for).
  std::vector<std::string> names;
  bool include_internal = false;
};
struct ReplicaDescription {
  int32_t broker_id = -1;
  metadata::ReplicaState state = metadata::ReplicaState::kNonExistent;
};
struct PartitionDescription {
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  metadata::PartitionState state = metadata::PartitionState::kNonExistent;
  std::vector<ReplicaDescription> replica_states;
  // A reassignment under way (KIP-455).
  std::vector<int32_t> adding_replicas;
  std::vector<int32_t> removing_replicas;
};
struct ConfigEntry {
  std::string name;
  std::string value;
  bool is_default = true;
};
struct TopicDescription {
  std::string name;
  std::string topic_id;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  bool internal = false;
  std::vector<PartitionDescription> partitions;
  // Every topic config, effective value (describe-configs).
  std::vector<ConfigEntry> configs;
};
struct BrokerDescription {
  int32_t id = -1;
  std::string rack;
  bool fenced = false;
  int64_t broker_epoch = -1;
  std::string incarnation_id;
  // host:port on each listener asked for, in the order asked.
  std::vector<std::pair<std::string, int32_t>> endpoints;
};
struct DescribeClusterResponse {
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<BrokerDescription> brokers;
};

// --- DescribeLogDirs (Kafka's KIP-113 read, answered by the broker asked) ---
struct DescribeLogDirsTopic {
  std::string topic;
  std::vector<int32_t> partitions;
};
struct DescribeLogDirsRequest {
  // nullopt: every partition this broker holds (Kafka's null); otherwise
  // only those listed (an empty list: none). A partition named that this
  // broker does not hold is left out of the answer, as Kafka does.
  std::optional<std::vector<DescribeLogDirsTopic>> topics;
};
struct LogDirPartition {
  int32_t partition = 0;
  // Bytes of the log's segments (Kafka's PartitionSize).
  int64_t size_bytes = 0;
  // Kafka's OffsetLag, never below 0: 0 for a leader; for a follower the
  // leader's high watermark from its last fetch answer minus its log end
  // (our departure: Kafka reports 0 for any replica but a future one).
  int64_t offset_lag = 0;
  // A future replica of AlterReplicaLogDirs (not in Strata: always false).
  bool is_future = false;
};
struct LogDirTopic {
  std::string topic;
  std::vector<LogDirPartition> partitions;
};
struct LogDirDescription {
  // KAFKA_STORAGE_ERROR for an offline directory (then no topics).
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  // The directory's absolute path (a log.dirs entry made absolute, as
  // Kafka's File.getAbsolutePath).
  std::string log_dir;
  std::vector<LogDirTopic> topics;  // sorted by topic, then partition
  // The volume's total and usable bytes (Kafka's v4 fields): -1, unknown.
  int64_t total_bytes = -1;
  int64_t usable_bytes = -1;
};
struct DescribeLogDirsResponse {
  // For the call as a whole (CLUSTER_AUTHORIZATION_FAILED: no results).
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  std::vector<LogDirDescription> results;  // one per log dir, in log.dirs order
};

}  // namespace strata::request
