// One plain struct per Kafka request and response this broker speaks: the
// superset of the fields over the versions in api_versions.cc, named as in
// Kafka's message schemas (snake_case). Nested types are the schemas'
// nested structs (array elements).
//
// Member initializers are Kafka's defaults: what a field decodes to in a
// version that does not carry it. Nullable fields are std::optional; a
// field is nullable in only some versions when the table says so
// (messages.cc). Records are opaque bytes: record batches are parsed by
// client/record, not here.
//
// The field tables binding these structs to the wire are in messages.cc;
// the functions that decode and encode them are in codec.h.
#pragma once

#include <bit>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/kafka/api_versions.h"

namespace strata::kafka {

#define STRATA_KAFKA_MESSAGE(key, is_request)    \
  static constexpr ApiKey kApiKey = ApiKey::key; \
  static constexpr bool kIsRequest = is_request;

// ---- ApiVersions (18) ----
struct ApiVersionsRequest {
  STRATA_KAFKA_MESSAGE(kApiVersions, true)
  std::string client_software_name;
  std::string client_software_version;
  bool operator==(const ApiVersionsRequest&) const = default;
};

struct ApiVersionsResponse {
  STRATA_KAFKA_MESSAGE(kApiVersions, false)
  struct ApiVersion {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
    bool operator==(const ApiVersion&) const = default;
  };
  struct SupportedFeatureKey {
    std::string name;
    int16_t min_version = 0;
    int16_t max_version = 0;
    bool operator==(const SupportedFeatureKey&) const = default;
  };
  struct FinalizedFeatureKey {
    std::string name;
    int16_t max_version_level = 0;
    int16_t min_version_level = 0;
    bool operator==(const FinalizedFeatureKey&) const = default;
  };
  int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  int32_t throttle_time_ms = 0;
  std::vector<SupportedFeatureKey> supported_features;  // tagged 0
  int64_t finalized_features_epoch = -1;                // tagged 1
  std::vector<FinalizedFeatureKey> finalized_features;  // tagged 2
  bool zk_migration_ready = false;                      // tagged 3
  bool operator==(const ApiVersionsResponse&) const = default;
};

// ---- Metadata (3) ----
struct MetadataRequest {
  STRATA_KAFKA_MESSAGE(kMetadata, true)
  struct Topic {
    std::string name;
    bool operator==(const Topic&) const = default;
  };
  // v0: empty = all topics. v1+: null = all topics, empty = none.
  std::optional<std::vector<Topic>> topics = std::vector<Topic>{};
  bool allow_auto_topic_creation = true;
  bool operator==(const MetadataRequest&) const = default;
};

struct MetadataResponse {
  STRATA_KAFKA_MESSAGE(kMetadata, false)
  struct Broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    bool operator==(const Broker&) const = default;
  };
  struct Partition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::vector<int32_t> offline_replicas;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    int16_t error_code = 0;
    std::string name;
    bool is_internal = false;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;
  int32_t controller_id = -1;
  std::vector<Topic> topics;
  bool operator==(const MetadataResponse&) const = default;
};

// ---- Produce (0) ----
struct ProduceRequest {
  STRATA_KAFKA_MESSAGE(kProduce, true)
  struct PartitionData {
    int32_t index = 0;
    std::optional<std::string> records;
    bool operator==(const PartitionData&) const = default;
  };
  struct TopicData {
    std::string name;
    std::vector<PartitionData> partition_data;
    bool operator==(const TopicData&) const = default;
  };
  std::optional<std::string> transactional_id;
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  std::vector<TopicData> topic_data;
  bool operator==(const ProduceRequest&) const = default;
};

struct ProduceResponse {
  STRATA_KAFKA_MESSAGE(kProduce, false)
  struct PartitionResponse {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = 0;
    int64_t log_append_time_ms = -1;
    int64_t log_start_offset = -1;
    bool operator==(const PartitionResponse&) const = default;
  };
  struct TopicResponse {
    std::string name;
    std::vector<PartitionResponse> partition_responses;
    bool operator==(const TopicResponse&) const = default;
  };
  std::vector<TopicResponse> responses;
  int32_t throttle_time_ms = 0;
  bool operator==(const ProduceResponse&) const = default;
};

// ---- Fetch (1) ----
struct FetchRequest {
  STRATA_KAFKA_MESSAGE(kFetch, true)
  struct Partition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1;
    int32_t partition_max_bytes = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  struct ForgottenTopic {
    std::string topic;
    std::vector<int32_t> partitions;
    bool operator==(const ForgottenTopic&) const = default;
  };
  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;
  int8_t isolation_level = 0;
  int32_t session_id = 0;
  int32_t session_epoch = -1;
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;
  std::string rack_id;
  bool operator==(const FetchRequest&) const = default;
};

struct FetchResponse {
  STRATA_KAFKA_MESSAGE(kFetch, false)
  struct AbortedTransaction {
    int64_t producer_id = 0;
    int64_t first_offset = 0;
    bool operator==(const AbortedTransaction&) const = default;
  };
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = 0;
    int64_t last_stable_offset = -1;
    int64_t log_start_offset = -1;
    std::optional<std::vector<AbortedTransaction>> aborted_transactions;
    int32_t preferred_read_replica = -1;
    std::optional<std::string> records;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int32_t session_id = 0;
  std::vector<Topic> responses;
  bool operator==(const FetchResponse&) const = default;
};

// ---- ListOffsets (2) ----
struct ListOffsetsRequest {
  STRATA_KAFKA_MESSAGE(kListOffsets, true)
  struct Partition {
    int32_t partition_index = 0;
    int64_t timestamp = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t replica_id = 0;
  int8_t isolation_level = 0;
  std::vector<Topic> topics;
  bool operator==(const ListOffsetsRequest&) const = default;
};

struct ListOffsetsResponse {
  STRATA_KAFKA_MESSAGE(kListOffsets, false)
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;
    int64_t offset = -1;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const ListOffsetsResponse&) const = default;
};

// ---- OffsetForLeaderEpoch (23) ----
struct OffsetForLeaderEpochRequest {
  STRATA_KAFKA_MESSAGE(kOffsetForLeaderEpoch, true)
  struct Partition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;
    int32_t leader_epoch = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t replica_id = -2;
  std::vector<Topic> topics;
  bool operator==(const OffsetForLeaderEpochRequest&) const = default;
};

struct OffsetForLeaderEpochResponse {
  STRATA_KAFKA_MESSAGE(kOffsetForLeaderEpoch, false)
  struct EpochEndOffset {
    int16_t error_code = 0;
    int32_t partition = 0;
    int32_t leader_epoch = -1;
    int64_t end_offset = -1;
    bool operator==(const EpochEndOffset&) const = default;
  };
  struct Topic {
    std::string topic;
    std::vector<EpochEndOffset> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const OffsetForLeaderEpochResponse&) const = default;
};

// ---- FindCoordinator (10) ----
struct FindCoordinatorRequest {
  STRATA_KAFKA_MESSAGE(kFindCoordinator, true)
  std::string key;
  int8_t key_type = 0;
  bool operator==(const FindCoordinatorRequest&) const = default;
};

struct FindCoordinatorResponse {
  STRATA_KAFKA_MESSAGE(kFindCoordinator, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  bool operator==(const FindCoordinatorResponse&) const = default;
};

// ---- JoinGroup (11) ----
struct JoinGroupRequest {
  STRATA_KAFKA_MESSAGE(kJoinGroup, true)
  struct Protocol {
    std::string name;
    std::string metadata;
    bool operator==(const Protocol&) const = default;
  };
  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  bool operator==(const JoinGroupRequest&) const = default;
};

struct JoinGroupResponse {
  STRATA_KAFKA_MESSAGE(kJoinGroup, false)
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string metadata;
    bool operator==(const Member&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<Member> members;
  bool operator==(const JoinGroupResponse&) const = default;
};

// ---- SyncGroup (14) ----
struct SyncGroupRequest {
  STRATA_KAFKA_MESSAGE(kSyncGroup, true)
  struct Assignment {
    std::string member_id;
    std::string assignment;
    bool operator==(const Assignment&) const = default;
  };
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<Assignment> assignments;
  bool operator==(const SyncGroupRequest&) const = default;
};

struct SyncGroupResponse {
  STRATA_KAFKA_MESSAGE(kSyncGroup, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::string assignment;
  bool operator==(const SyncGroupResponse&) const = default;
};

// ---- Heartbeat (12) ----
struct HeartbeatRequest {
  STRATA_KAFKA_MESSAGE(kHeartbeat, true)
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bool operator==(const HeartbeatRequest&) const = default;
};

struct HeartbeatResponse {
  STRATA_KAFKA_MESSAGE(kHeartbeat, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  bool operator==(const HeartbeatResponse&) const = default;
};

// ---- LeaveGroup (13) ----
struct LeaveGroupRequest {
  STRATA_KAFKA_MESSAGE(kLeaveGroup, true)
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    bool operator==(const Member&) const = default;
  };
  std::string group_id;
  std::string member_id;        // v0-2
  std::vector<Member> members;  // v3+
  bool operator==(const LeaveGroupRequest&) const = default;
};

struct LeaveGroupResponse {
  STRATA_KAFKA_MESSAGE(kLeaveGroup, false)
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int16_t error_code = 0;
    bool operator==(const Member&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::vector<Member> members;
  bool operator==(const LeaveGroupResponse&) const = default;
};

// ---- OffsetCommit (8) ----
struct OffsetCommitRequest {
  STRATA_KAFKA_MESSAGE(kOffsetCommit, true)
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;
    std::optional<std::string> committed_metadata;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::string group_id;
  int32_t generation_id_or_member_epoch = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int64_t retention_time_ms = -1;
  std::vector<Topic> topics;
  bool operator==(const OffsetCommitRequest&) const = default;
};

struct OffsetCommitResponse {
  STRATA_KAFKA_MESSAGE(kOffsetCommit, false)
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const OffsetCommitResponse&) const = default;
};

// ---- OffsetFetch (9) ----
struct OffsetFetchRequest {
  STRATA_KAFKA_MESSAGE(kOffsetFetch, true)
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    bool operator==(const Topic&) const = default;
  };
  std::string group_id;
  // v2+: null = every partition with a committed offset.
  std::optional<std::vector<Topic>> topics = std::vector<Topic>{};
  bool require_stable = false;
  bool operator==(const OffsetFetchRequest&) const = default;
};

struct OffsetFetchResponse {
  STRATA_KAFKA_MESSAGE(kOffsetFetch, false)
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;
    std::optional<std::string> metadata;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  int16_t error_code = 0;
  bool operator==(const OffsetFetchResponse&) const = default;
};

// ---- DescribeGroups (15) ----
struct DescribeGroupsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeGroups, true)
  std::vector<std::string> groups;
  bool include_authorized_operations = false;
  bool operator==(const DescribeGroupsRequest&) const = default;
};

struct DescribeGroupsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeGroups, false)
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::string member_metadata;
    std::string member_assignment;
    bool operator==(const Member&) const = default;
  };
  struct Group {
    int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;
    std::vector<Member> members;
    int32_t authorized_operations = INT32_MIN;
    bool operator==(const Group&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Group> groups;
  bool operator==(const DescribeGroupsResponse&) const = default;
};

// ---- ListGroups (16) ----
struct ListGroupsRequest {
  STRATA_KAFKA_MESSAGE(kListGroups, true)
  std::vector<std::string> states_filter;
  bool operator==(const ListGroupsRequest&) const = default;
};

struct ListGroupsResponse {
  STRATA_KAFKA_MESSAGE(kListGroups, false)
  struct Group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;
    bool operator==(const Group&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::vector<Group> groups;
  bool operator==(const ListGroupsResponse&) const = default;
};

// ---- DeleteGroups (42) ----
struct DeleteGroupsRequest {
  STRATA_KAFKA_MESSAGE(kDeleteGroups, true)
  std::vector<std::string> groups_names;
  bool operator==(const DeleteGroupsRequest&) const = default;
};

struct DeleteGroupsResponse {
  STRATA_KAFKA_MESSAGE(kDeleteGroups, false)
  struct Result {
    std::string group_id;
    int16_t error_code = 0;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  bool operator==(const DeleteGroupsResponse&) const = default;
};

// ---- OffsetDelete (47) ----
struct OffsetDeleteRequest {
  STRATA_KAFKA_MESSAGE(kOffsetDelete, true)
  struct Partition {
    int32_t partition_index = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::string group_id;
  std::vector<Topic> topics;
  bool operator==(const OffsetDeleteRequest&) const = default;
};

struct OffsetDeleteResponse {
  STRATA_KAFKA_MESSAGE(kOffsetDelete, false)
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int16_t error_code = 0;
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const OffsetDeleteResponse&) const = default;
};

// ---- CreateTopics (19) ----
struct CreateTopicsRequest {
  STRATA_KAFKA_MESSAGE(kCreateTopics, true)
  struct Assignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
    bool operator==(const Assignment&) const = default;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool operator==(const Config&) const = default;
  };
  struct Topic {
    std::string name;
    int32_t num_partitions = 0;      // -1: the broker's num.partitions
    int16_t replication_factor = 0;  // -1: default.replication.factor
    std::vector<Assignment> assignments;
    std::vector<Config> configs;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;
  bool operator==(const CreateTopicsRequest&) const = default;
};

struct CreateTopicsResponse {
  STRATA_KAFKA_MESSAGE(kCreateTopics, false)
  struct Result {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> topics;
  bool operator==(const CreateTopicsResponse&) const = default;
};

// ---- DeleteTopics (20) ----
struct DeleteTopicsRequest {
  STRATA_KAFKA_MESSAGE(kDeleteTopics, true)
  std::vector<std::string> topic_names;
  int32_t timeout_ms = 0;
  bool operator==(const DeleteTopicsRequest&) const = default;
};

struct DeleteTopicsResponse {
  STRATA_KAFKA_MESSAGE(kDeleteTopics, false)
  struct Result {
    std::string name;
    int16_t error_code = 0;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> responses;
  bool operator==(const DeleteTopicsResponse&) const = default;
};

// ---- CreatePartitions (37) ----
struct CreatePartitionsRequest {
  STRATA_KAFKA_MESSAGE(kCreatePartitions, true)
  struct Assignment {
    std::vector<int32_t> broker_ids;
    bool operator==(const Assignment&) const = default;
  };
  struct Topic {
    std::string name;
    int32_t count = 0;
    std::optional<std::vector<Assignment>> assignments;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
  bool operator==(const CreatePartitionsRequest&) const = default;
};

struct CreatePartitionsResponse {
  STRATA_KAFKA_MESSAGE(kCreatePartitions, false)
  struct Result {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  bool operator==(const CreatePartitionsResponse&) const = default;
};

// ---- DescribeConfigs (32) ----
struct DescribeConfigsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeConfigs, true)
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null: all
    bool operator==(const Resource&) const = default;
  };
  std::vector<Resource> resources;
  bool include_synonyms = false;
  bool operator==(const DescribeConfigsRequest&) const = default;
};

struct DescribeConfigsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeConfigs, false)
  struct Synonym {
    std::string name;
    std::optional<std::string> value;
    int8_t source = 0;
    bool operator==(const Synonym&) const = default;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    int8_t config_source = -1;
    bool is_sensitive = false;
    std::vector<Synonym> synonyms;
    bool operator==(const Config&) const = default;
  };
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  bool operator==(const DescribeConfigsResponse&) const = default;
};

// ---- AlterConfigs (33) ----
struct AlterConfigsRequest {
  STRATA_KAFKA_MESSAGE(kAlterConfigs, true)
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool operator==(const Config&) const = default;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    bool operator==(const Resource&) const = default;
  };
  std::vector<Resource> resources;
  bool validate_only = false;
  bool operator==(const AlterConfigsRequest&) const = default;
};

struct AlterConfigsResponse {
  STRATA_KAFKA_MESSAGE(kAlterConfigs, false)
  struct Response {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    bool operator==(const Response&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Response> responses;
  bool operator==(const AlterConfigsResponse&) const = default;
};

// ---- DescribeLogDirs (35) ----
struct DescribeLogDirsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeLogDirs, true)
  struct Topic {
    std::string topic;
    std::vector<int32_t> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::optional<std::vector<Topic>> topics;  // null: every partition
  bool operator==(const DescribeLogDirsRequest&) const = default;
};

struct DescribeLogDirsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeLogDirs, false)
  struct Partition {
    int32_t partition_index = 0;
    int64_t partition_size = 0;
    int64_t offset_lag = 0;
    bool is_future_key = false;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  struct Result {
    int16_t error_code = 0;
    std::string log_dir;
    std::vector<Topic> topics;
    int64_t total_bytes = -1;   // v4+
    int64_t usable_bytes = -1;  // v4+
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v3+
  std::vector<Result> results;
  bool operator==(const DescribeLogDirsResponse&) const = default;
};

// ---- IncrementalAlterConfigs (44) ----
struct IncrementalAlterConfigsRequest {
  STRATA_KAFKA_MESSAGE(kIncrementalAlterConfigs, true)
  struct Config {
    std::string name;
    int8_t config_operation = 0;  // 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
    std::optional<std::string> value;
    bool operator==(const Config&) const = default;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    bool operator==(const Resource&) const = default;
  };
  std::vector<Resource> resources;
  bool validate_only = false;
  bool operator==(const IncrementalAlterConfigsRequest&) const = default;
};

struct IncrementalAlterConfigsResponse {
  STRATA_KAFKA_MESSAGE(kIncrementalAlterConfigs, false)
  struct Response {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    bool operator==(const Response&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Response> responses;
  bool operator==(const IncrementalAlterConfigsResponse&) const = default;
};

// ---- DeleteRecords (21) ----
struct DeleteRecordsRequest {
  STRATA_KAFKA_MESSAGE(kDeleteRecords, true)
  struct Partition {
    int32_t partition_index = 0;
    int64_t offset = 0;  // -1: the high watermark
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool operator==(const DeleteRecordsRequest&) const = default;
};

struct DeleteRecordsResponse {
  STRATA_KAFKA_MESSAGE(kDeleteRecords, false)
  struct Partition {
    int32_t partition_index = 0;
    int64_t low_watermark = 0;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const DeleteRecordsResponse&) const = default;
};

// ---- InitProducerId (22) ----
struct InitProducerIdRequest {
  STRATA_KAFKA_MESSAGE(kInitProducerId, true)
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool operator==(const InitProducerIdRequest&) const = default;
};

struct InitProducerIdResponse {
  STRATA_KAFKA_MESSAGE(kInitProducerId, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
  bool operator==(const InitProducerIdResponse&) const = default;
};

// ---- AddPartitionsToTxn (24) ----
// v0-3 carry one transaction; v4+ (a broker's batch of transactions,
// KIP-890) is not served, so only the V3AndBelow fields are here.
struct AddPartitionsToTxnRequest {
  STRATA_KAFKA_MESSAGE(kAddPartitionsToTxn, true)
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::string v3_and_below_transactional_id;
  int64_t v3_and_below_producer_id = 0;
  int16_t v3_and_below_producer_epoch = 0;
  std::vector<Topic> v3_and_below_topics;
  bool operator==(const AddPartitionsToTxnRequest&) const = default;
};

struct AddPartitionsToTxnResponse {
  STRATA_KAFKA_MESSAGE(kAddPartitionsToTxn, false)
  struct PartitionResult {
    int32_t partition_index = 0;
    int16_t partition_error_code = 0;
    bool operator==(const PartitionResult&) const = default;
  };
  struct TopicResult {
    std::string name;
    std::vector<PartitionResult> results_by_partition;
    bool operator==(const TopicResult&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<TopicResult> results_by_topic_v3_and_below;
  bool operator==(const AddPartitionsToTxnResponse&) const = default;
};

// ---- AddOffsetsToTxn (25) ----
struct AddOffsetsToTxnRequest {
  STRATA_KAFKA_MESSAGE(kAddOffsetsToTxn, true)
  std::string transactional_id;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  std::string group_id;
  bool operator==(const AddOffsetsToTxnRequest&) const = default;
};

struct AddOffsetsToTxnResponse {
  STRATA_KAFKA_MESSAGE(kAddOffsetsToTxn, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  bool operator==(const AddOffsetsToTxnResponse&) const = default;
};

// ---- EndTxn (26) ----
struct EndTxnRequest {
  STRATA_KAFKA_MESSAGE(kEndTxn, true)
  std::string transactional_id;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  bool committed = false;  // false: abort
  bool operator==(const EndTxnRequest&) const = default;
};

struct EndTxnResponse {
  STRATA_KAFKA_MESSAGE(kEndTxn, false)
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  bool operator==(const EndTxnResponse&) const = default;
};

// ---- TxnOffsetCommit (28) ----
struct TxnOffsetCommitRequest {
  STRATA_KAFKA_MESSAGE(kTxnOffsetCommit, true)
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v2+
    std::optional<std::string> committed_metadata;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::string transactional_id;
  std::string group_id;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  // v3+ (KIP-447): the consumer whose offsets these are.
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<Topic> topics;
  bool operator==(const TxnOffsetCommitRequest&) const = default;
};

struct TxnOffsetCommitResponse {
  STRATA_KAFKA_MESSAGE(kTxnOffsetCommit, false)
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const TxnOffsetCommitResponse&) const = default;
};

// ---- DescribeCluster (60) ----
struct DescribeClusterRequest {
  STRATA_KAFKA_MESSAGE(kDescribeCluster, true)
  bool include_cluster_authorized_operations = false;
  int8_t endpoint_type = 1;  // 1 brokers, 2 controllers
  bool operator==(const DescribeClusterRequest&) const = default;
};

struct DescribeClusterResponse {
  STRATA_KAFKA_MESSAGE(kDescribeCluster, false)
  struct Broker {
    int32_t broker_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    bool operator==(const Broker&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t endpoint_type = 1;
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<Broker> brokers;
  int32_t cluster_authorized_operations = INT32_MIN;
  bool operator==(const DescribeClusterResponse&) const = default;
};

// ---- ElectLeaders (43) ----
struct ElectLeadersRequest {
  STRATA_KAFKA_MESSAGE(kElectLeaders, true)
  struct TopicPartitions {
    std::string topic;
    std::vector<int32_t> partitions;
    bool operator==(const TopicPartitions&) const = default;
  };
  int8_t election_type = 0;                                      // 0 preferred, 1 unclean
  std::optional<std::vector<TopicPartitions>> topic_partitions;  // null: all partitions
  int32_t timeout_ms = 60000;
  bool operator==(const ElectLeadersRequest&) const = default;
};

struct ElectLeadersResponse {
  STRATA_KAFKA_MESSAGE(kElectLeaders, false)
  struct PartitionResult {
    int32_t partition_id = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const PartitionResult&) const = default;
  };
  struct ReplicaElectionResult {
    std::string topic;
    std::vector<PartitionResult> partition_result;
    bool operator==(const ReplicaElectionResult&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::vector<ReplicaElectionResult> replica_election_results;
  bool operator==(const ElectLeadersResponse&) const = default;
};

// ---- AlterPartitionReassignments (45) ----
struct AlterPartitionReassignmentsRequest {
  STRATA_KAFKA_MESSAGE(kAlterPartitionReassignments, true)
  struct Partition {
    int32_t partition_index = 0;
    std::optional<std::vector<int32_t>> replicas;  // null: cancel
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t timeout_ms = 60000;
  std::vector<Topic> topics;
  bool operator==(const AlterPartitionReassignmentsRequest&) const = default;
};

struct AlterPartitionReassignmentsResponse {
  STRATA_KAFKA_MESSAGE(kAlterPartitionReassignments, false)
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Topic> responses;
  bool operator==(const AlterPartitionReassignmentsResponse&) const = default;
};

// ---- ListPartitionReassignments (46) ----
struct ListPartitionReassignmentsRequest {
  STRATA_KAFKA_MESSAGE(kListPartitionReassignments, true)
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    bool operator==(const Topic&) const = default;
  };
  int32_t timeout_ms = 60000;
  std::optional<std::vector<Topic>> topics;  // null: every reassignment
  bool operator==(const ListPartitionReassignmentsRequest&) const = default;
};

struct ListPartitionReassignmentsResponse {
  STRATA_KAFKA_MESSAGE(kListPartitionReassignments, false)
  struct Partition {
    int32_t partition_index = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> adding_replicas;
    std::vector<int32_t> removing_replicas;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Topic> topics;
  bool operator==(const ListPartitionReassignmentsResponse&) const = default;
};

// ---- DescribeProducers (61) ----
struct DescribeProducersRequest {
  STRATA_KAFKA_MESSAGE(kDescribeProducers, true)
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;
  bool operator==(const DescribeProducersRequest&) const = default;
};

struct DescribeProducersResponse {
  STRATA_KAFKA_MESSAGE(kDescribeProducers, false)
  struct ProducerState {
    int64_t producer_id = 0;
    int32_t producer_epoch = 0;  // an int32 on the wire, unlike elsewhere
    int32_t last_sequence = -1;
    int64_t last_timestamp = -1;
    int32_t coordinator_epoch = 0;
    int64_t current_txn_start_offset = -1;
    bool operator==(const ProducerState&) const = default;
  };
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<ProducerState> active_producers;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  bool operator==(const DescribeProducersResponse&) const = default;
};

// ---- DescribeTransactions (65) ----
struct DescribeTransactionsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeTransactions, true)
  std::vector<std::string> transactional_ids;
  bool operator==(const DescribeTransactionsRequest&) const = default;
};

struct DescribeTransactionsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeTransactions, false)
  struct TopicData {
    std::string topic;
    std::vector<int32_t> partitions;
    bool operator==(const TopicData&) const = default;
  };
  struct TransactionState {
    int16_t error_code = 0;
    std::string transactional_id;
    std::string transaction_state;  // Kafka's name: "Ongoing", "CompleteCommit", ...
    int32_t transaction_timeout_ms = 0;
    int64_t transaction_start_time_ms = 0;
    int64_t producer_id = 0;
    int16_t producer_epoch = 0;
    std::vector<TopicData> topics;
    bool operator==(const TransactionState&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<TransactionState> transaction_states;
  bool operator==(const DescribeTransactionsResponse&) const = default;
};

// ---- ListTransactions (66) ----
struct ListTransactionsRequest {
  STRATA_KAFKA_MESSAGE(kListTransactions, true)
  std::vector<std::string> state_filters;    // empty: every state
  std::vector<int64_t> producer_id_filters;  // empty: every producer
  bool operator==(const ListTransactionsRequest&) const = default;
};

struct ListTransactionsResponse {
  STRATA_KAFKA_MESSAGE(kListTransactions, false)
  struct TransactionState {
    std::string transactional_id;
    int64_t producer_id = 0;
    std::string transaction_state;
    bool operator==(const TransactionState&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::vector<std::string> unknown_state_filters;
  std::vector<TransactionState> transaction_states;
  bool operator==(const ListTransactionsResponse&) const = default;
};

// ---- SaslHandshake (17) ----
struct SaslHandshakeRequest {
  STRATA_KAFKA_MESSAGE(kSaslHandshake, true)
  std::string mechanism;  // e.g. "PLAIN", "SCRAM-SHA-256"
  bool operator==(const SaslHandshakeRequest&) const = default;
};

struct SaslHandshakeResponse {
  STRATA_KAFKA_MESSAGE(kSaslHandshake, false)
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;  // the mechanisms enabled on the listener
  bool operator==(const SaslHandshakeResponse&) const = default;
};

// ---- SaslAuthenticate (36) ----
struct SaslAuthenticateRequest {
  STRATA_KAFKA_MESSAGE(kSaslAuthenticate, true)
  std::string auth_bytes;  // bytes
  bool operator==(const SaslAuthenticateRequest&) const = default;
};

struct SaslAuthenticateResponse {
  STRATA_KAFKA_MESSAGE(kSaslAuthenticate, false)
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::string auth_bytes;           // bytes
  int64_t session_lifetime_ms = 0;  // v1+, ignorable
  bool operator==(const SaslAuthenticateResponse&) const = default;
};

// ---- DescribeAcls (29) ----
// Resource types, operations, permission and pattern types are Kafka's
// int8 codes (AclOperation, ResourceType, ...); pattern type 3 is LITERAL.
struct DescribeAclsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeAcls, true)
  int8_t resource_type_filter = 0;
  std::optional<std::string> resource_name_filter;  // null: any
  int8_t pattern_type_filter = 3;                   // v1+, not ignorable
  std::optional<std::string> principal_filter;      // null: any
  std::optional<std::string> host_filter;           // null: any
  int8_t operation = 0;
  int8_t permission_type = 0;
  bool operator==(const DescribeAclsRequest&) const = default;
};

struct DescribeAclsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeAcls, false)
  struct AclDescription {
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    bool operator==(const AclDescription&) const = default;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = 3;  // v1+, not ignorable
    std::vector<AclDescription> acls;
    bool operator==(const Resource&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Resource> resources;
  bool operator==(const DescribeAclsResponse&) const = default;
};

// ---- CreateAcls (30) ----
struct CreateAclsRequest {
  STRATA_KAFKA_MESSAGE(kCreateAcls, true)
  struct Creation {
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t resource_pattern_type = 3;  // v1+, not ignorable
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    bool operator==(const Creation&) const = default;
  };
  std::vector<Creation> creations;
  bool operator==(const CreateAclsRequest&) const = default;
};

struct CreateAclsResponse {
  STRATA_KAFKA_MESSAGE(kCreateAcls, false)
  struct Result {  // one per creation, in order
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  bool operator==(const CreateAclsResponse&) const = default;
};

// ---- DeleteAcls (31) ----
struct DeleteAclsRequest {
  STRATA_KAFKA_MESSAGE(kDeleteAcls, true)
  struct Filter {
    int8_t resource_type_filter = 0;
    std::optional<std::string> resource_name_filter;  // null: any
    int8_t pattern_type_filter = 3;                   // v1+, not ignorable
    std::optional<std::string> principal_filter;      // null: any
    std::optional<std::string> host_filter;           // null: any
    int8_t operation = 0;
    int8_t permission_type = 0;
    bool operator==(const Filter&) const = default;
  };
  std::vector<Filter> filters;
  bool operator==(const DeleteAclsRequest&) const = default;
};

struct DeleteAclsResponse {
  STRATA_KAFKA_MESSAGE(kDeleteAcls, false)
  struct MatchingAcl {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = 3;  // v1+, not ignorable
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    bool operator==(const MatchingAcl&) const = default;
  };
  struct FilterResult {  // one per filter, in order
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<MatchingAcl> matching_acls;
    bool operator==(const FilterResult&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<FilterResult> filter_results;
  bool operator==(const DeleteAclsResponse&) const = default;
};

// ---- DescribeClientQuotas (48) ----
struct DescribeClientQuotasRequest {
  STRATA_KAFKA_MESSAGE(kDescribeClientQuotas, true)
  struct Component {
    std::string entity_type;           // "user", "client-id", "ip"
    int8_t match_type = 0;             // 0 exact name, 1 default name, 2 any specified name
    std::optional<std::string> match;  // null: unused for the match type
    bool operator==(const Component&) const = default;
  };
  std::vector<Component> components;
  bool strict = false;
  bool operator==(const DescribeClientQuotasRequest&) const = default;
};

struct DescribeClientQuotasResponse {
  STRATA_KAFKA_MESSAGE(kDescribeClientQuotas, false)
  struct Entity {
    std::string entity_type;
    std::optional<std::string> entity_name;  // null: the default entity
    bool operator==(const Entity&) const = default;
  };
  struct Value {
    std::string key;
    double value = 0;
    // Equal as carried on the wire, bit for bit: a NaN the codec
    // round-trips equals itself (the fuzzer's decode(encode(m)) == m).
    bool operator==(const Value& o) const {
      return key == o.key && std::bit_cast<uint64_t>(value) == std::bit_cast<uint64_t>(o.value);
    }
  };
  struct Entry {
    std::vector<Entity> entity;
    std::vector<Value> values;
    bool operator==(const Entry&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::optional<std::vector<Entry>> entries = std::vector<Entry>{};  // null on error
  bool operator==(const DescribeClientQuotasResponse&) const = default;
};

// ---- AlterClientQuotas (49) ----
struct AlterClientQuotasRequest {
  STRATA_KAFKA_MESSAGE(kAlterClientQuotas, true)
  struct Entity {
    std::string entity_type;
    std::optional<std::string> entity_name;  // null: the default entity
    bool operator==(const Entity&) const = default;
  };
  struct Op {
    std::string key;
    double value = 0;     // ignored when remove
    bool remove = false;  // else set
    // Bit for bit, as DescribeClientQuotasResponse::Value.
    bool operator==(const Op& o) const {
      return key == o.key && std::bit_cast<uint64_t>(value) == std::bit_cast<uint64_t>(o.value) &&
             remove == o.remove;
    }
  };
  struct Entry {
    std::vector<Entity> entity;
    std::vector<Op> ops;
    bool operator==(const Entry&) const = default;
  };
  std::vector<Entry> entries;
  bool validate_only = false;
  bool operator==(const AlterClientQuotasRequest&) const = default;
};

struct AlterClientQuotasResponse {
  STRATA_KAFKA_MESSAGE(kAlterClientQuotas, false)
  struct Entity {
    std::string entity_type;
    std::optional<std::string> entity_name;
    bool operator==(const Entity&) const = default;
  };
  struct Entry {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<Entity> entity;
    bool operator==(const Entry&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Entry> entries;
  bool operator==(const AlterClientQuotasResponse&) const = default;
};

// ---- DescribeUserScramCredentials (50) ----
// Mechanisms are Kafka's ScramMechanism codes: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
struct DescribeUserScramCredentialsRequest {
  STRATA_KAFKA_MESSAGE(kDescribeUserScramCredentials, true)
  struct User {
    std::string name;
    bool operator==(const User&) const = default;
  };
  std::optional<std::vector<User>> users = std::vector<User>{};  // null or empty: every user
  bool operator==(const DescribeUserScramCredentialsRequest&) const = default;
};

struct DescribeUserScramCredentialsResponse {
  STRATA_KAFKA_MESSAGE(kDescribeUserScramCredentials, false)
  struct CredentialInfo {
    int8_t mechanism = 0;
    int32_t iterations = 0;
    bool operator==(const CredentialInfo&) const = default;
  };
  struct Result {  // one per user
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<CredentialInfo> credential_infos;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // message-level
  std::optional<std::string> error_message;
  std::vector<Result> results;
  bool operator==(const DescribeUserScramCredentialsResponse&) const = default;
};

// ---- AlterUserScramCredentials (51) ----
struct AlterUserScramCredentialsRequest {
  STRATA_KAFKA_MESSAGE(kAlterUserScramCredentials, true)
  struct Deletion {
    std::string name;
    int8_t mechanism = 0;
    bool operator==(const Deletion&) const = default;
  };
  struct Upsertion {
    std::string name;
    int8_t mechanism = 0;
    int32_t iterations = 0;
    std::string salt;             // bytes
    std::string salted_password;  // bytes
    bool operator==(const Upsertion&) const = default;
  };
  std::vector<Deletion> deletions;
  std::vector<Upsertion> upsertions;
  bool operator==(const AlterUserScramCredentialsRequest&) const = default;
};

struct AlterUserScramCredentialsResponse {
  STRATA_KAFKA_MESSAGE(kAlterUserScramCredentials, false)
  struct Result {  // one per affected user
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  bool operator==(const AlterUserScramCredentialsResponse&) const = default;
};

#undef STRATA_KAFKA_MESSAGE

}  // namespace strata::kafka
