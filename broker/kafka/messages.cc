// The field tables: one per message struct of messages.h, transcribed from
// the field tables of notes/issue14-design.md Appendix A (themselves read
// from Kafka 3.7.1's message schemas). A row is a field in wire order:
// its builder names the wire type and the member, then Kafka's version
// range (Since(n) = "n+", Between(a, b) = "a-b"; none = every version),
// nullability, tag and ignorability. Defaults are the structs' member
// initializers.
//
// Adding a version: raise the range in api_versions.cc, add the new fields
// here (and to the struct) with Since(new version), and narrow the fields it
// drops with Between(...). schema_test checks the tables; the round-trip
// test covers every version in the range with no further edits.
//
// Each element struct's table comes before the table that holds it (an
// explicit specialization must precede its first use).
#include "broker/kafka/messages.h"

#include <utility>
#include <variant>

#include "broker/kafka/codec.h"
#include "broker/kafka/message_specs.h"
#include "broker/kafka/schema.h"

namespace strata::kafka {

// The tables are laid out by hand, one row per field.
// clang-format off

// ---- ApiVersions v0-3 ----

template <>
const StructSpec& SpecOf<ApiVersionsRequest>() {
  using S = ApiVersionsRequest;
  static const StructSpec spec{"ApiVersionsRequest", {
      Str<&S::client_software_name>("ClientSoftwareName").Since(3).Ignorable(),
      Str<&S::client_software_version>("ClientSoftwareVersion").Since(3).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ApiVersionsResponse::ApiVersion>() {
  using S = ApiVersionsResponse::ApiVersion;
  static const StructSpec spec{"ApiVersion", {
      Int16<&S::api_key>("ApiKey"),
      Int16<&S::min_version>("MinVersion"),
      Int16<&S::max_version>("MaxVersion"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ApiVersionsResponse::SupportedFeatureKey>() {
  using S = ApiVersionsResponse::SupportedFeatureKey;
  static const StructSpec spec{"SupportedFeatureKey", {
      Str<&S::name>("Name").Since(3),
      Int16<&S::min_version>("MinVersion").Since(3),
      Int16<&S::max_version>("MaxVersion").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ApiVersionsResponse::FinalizedFeatureKey>() {
  using S = ApiVersionsResponse::FinalizedFeatureKey;
  static const StructSpec spec{"FinalizedFeatureKey", {
      Str<&S::name>("Name").Since(3),
      Int16<&S::max_version_level>("MaxVersionLevel").Since(3),
      Int16<&S::min_version_level>("MinVersionLevel").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ApiVersionsResponse>() {
  using S = ApiVersionsResponse;
  static const StructSpec spec{"ApiVersionsResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Array<&S::api_keys>("ApiKeys"),
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Array<&S::supported_features>("SupportedFeatures").Since(3).Tag(0).Ignorable(),
      Int64<&S::finalized_features_epoch>("FinalizedFeaturesEpoch").Since(3).Tag(1).Ignorable(),
      Array<&S::finalized_features>("FinalizedFeatures").Since(3).Tag(2).Ignorable(),
      Bool<&S::zk_migration_ready>("ZkMigrationReady").Since(3).Tag(3).Ignorable(),
  }};
  return spec;
}

// ---- Metadata v0-6 ----

template <>
const StructSpec& SpecOf<MetadataRequest::Topic>() {
  using S = MetadataRequest::Topic;
  static const StructSpec spec{"MetadataRequestTopic", {
      Str<&S::name>("Name"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<MetadataRequest>() {
  using S = MetadataRequest;
  static const StructSpec spec{"MetadataRequest", {
      Array<&S::topics>("Topics").NullableSince(1),
      Bool<&S::allow_auto_topic_creation>("AllowAutoTopicCreation").Since(4),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<MetadataResponse::Broker>() {
  using S = MetadataResponse::Broker;
  static const StructSpec spec{"MetadataResponseBroker", {
      Int32<&S::node_id>("NodeId"),
      Str<&S::host>("Host"),
      Int32<&S::port>("Port"),
      Str<&S::rack>("Rack").Since(1).Nullable().Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<MetadataResponse::Partition>() {
  using S = MetadataResponse::Partition;
  static const StructSpec spec{"MetadataResponsePartition", {
      Int16<&S::error_code>("ErrorCode"),
      Int32<&S::partition_index>("PartitionIndex"),
      Int32<&S::leader_id>("LeaderId"),
      Array<&S::replica_nodes>("ReplicaNodes"),
      Array<&S::isr_nodes>("IsrNodes"),
      Array<&S::offline_replicas>("OfflineReplicas").Since(5).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<MetadataResponse::Topic>() {
  using S = MetadataResponse::Topic;
  static const StructSpec spec{"MetadataResponseTopic", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::name>("Name"),
      Bool<&S::is_internal>("IsInternal").Since(1).Ignorable(),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<MetadataResponse>() {
  using S = MetadataResponse;
  static const StructSpec spec{"MetadataResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(3).Ignorable(),
      Array<&S::brokers>("Brokers"),
      Str<&S::cluster_id>("ClusterId").Since(2).Nullable().Ignorable(),
      Int32<&S::controller_id>("ControllerId").Since(1).Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- Produce v3-7 ----

template <>
const StructSpec& SpecOf<ProduceRequest::PartitionData>() {
  using S = ProduceRequest::PartitionData;
  static const StructSpec spec{"PartitionProduceData", {
      Int32<&S::index>("Index"),
      Records<&S::records>("Records").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ProduceRequest::TopicData>() {
  using S = ProduceRequest::TopicData;
  static const StructSpec spec{"TopicProduceData", {
      Str<&S::name>("Name"),
      Array<&S::partition_data>("PartitionData"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ProduceRequest>() {
  using S = ProduceRequest;
  static const StructSpec spec{"ProduceRequest", {
      Str<&S::transactional_id>("TransactionalId").Nullable(),
      Int16<&S::acks>("Acks"),
      Int32<&S::timeout_ms>("TimeoutMs"),
      Array<&S::topic_data>("TopicData"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ProduceResponse::PartitionResponse>() {
  using S = ProduceResponse::PartitionResponse;
  static const StructSpec spec{"PartitionProduceResponse", {
      Int32<&S::index>("Index"),
      Int16<&S::error_code>("ErrorCode"),
      Int64<&S::base_offset>("BaseOffset"),
      Int64<&S::log_append_time_ms>("LogAppendTimeMs").Ignorable(),
      Int64<&S::log_start_offset>("LogStartOffset").Since(5).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ProduceResponse::TopicResponse>() {
  using S = ProduceResponse::TopicResponse;
  static const StructSpec spec{"TopicProduceResponse", {
      Str<&S::name>("Name"),
      Array<&S::partition_responses>("PartitionResponses"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ProduceResponse>() {
  using S = ProduceResponse;
  static const StructSpec spec{"ProduceResponse", {
      Array<&S::responses>("Responses"),
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
  }};
  return spec;
}

// ---- Fetch v4-11 ----

template <>
const StructSpec& SpecOf<FetchRequest::Partition>() {
  using S = FetchRequest::Partition;
  static const StructSpec spec{"FetchPartition", {
      Int32<&S::partition>("Partition"),
      Int32<&S::current_leader_epoch>("CurrentLeaderEpoch").Since(9).Ignorable(),
      Int64<&S::fetch_offset>("FetchOffset"),
      Int64<&S::log_start_offset>("LogStartOffset").Since(5).Ignorable(),
      Int32<&S::partition_max_bytes>("PartitionMaxBytes"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchRequest::Topic>() {
  using S = FetchRequest::Topic;
  static const StructSpec spec{"FetchTopic", {
      Str<&S::topic>("Topic").Ignorable(),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchRequest::ForgottenTopic>() {
  using S = FetchRequest::ForgottenTopic;
  static const StructSpec spec{"ForgottenTopic", {
      Str<&S::topic>("Topic").Since(7).Ignorable(),
      Array<&S::partitions>("Partitions").Since(7),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchRequest>() {
  using S = FetchRequest;
  static const StructSpec spec{"FetchRequest", {
      Int32<&S::replica_id>("ReplicaId"),
      Int32<&S::max_wait_ms>("MaxWaitMs"),
      Int32<&S::min_bytes>("MinBytes"),
      Int32<&S::max_bytes>("MaxBytes").Ignorable(),
      Int8<&S::isolation_level>("IsolationLevel").Ignorable(),
      Int32<&S::session_id>("SessionId").Since(7).Ignorable(),
      Int32<&S::session_epoch>("SessionEpoch").Since(7).Ignorable(),
      Array<&S::topics>("Topics"),
      Array<&S::forgotten_topics_data>("ForgottenTopicsData").Since(7),
      Str<&S::rack_id>("RackId").Since(11).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchResponse::AbortedTransaction>() {
  using S = FetchResponse::AbortedTransaction;
  static const StructSpec spec{"AbortedTransaction", {
      Int64<&S::producer_id>("ProducerId"),
      Int64<&S::first_offset>("FirstOffset"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchResponse::Partition>() {
  using S = FetchResponse::Partition;
  static const StructSpec spec{"PartitionData", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
      Int64<&S::high_watermark>("HighWatermark"),
      Int64<&S::last_stable_offset>("LastStableOffset").Ignorable(),
      Int64<&S::log_start_offset>("LogStartOffset").Since(5).Ignorable(),
      Array<&S::aborted_transactions>("AbortedTransactions").Nullable().Ignorable(),
      Int32<&S::preferred_read_replica>("PreferredReadReplica").Since(11),
      Records<&S::records>("Records").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchResponse::Topic>() {
  using S = FetchResponse::Topic;
  static const StructSpec spec{"FetchableTopicResponse", {
      Str<&S::topic>("Topic").Ignorable(),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FetchResponse>() {
  using S = FetchResponse;
  static const StructSpec spec{"FetchResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Int16<&S::error_code>("ErrorCode").Since(7).Ignorable(),
      Int32<&S::session_id>("SessionId").Since(7),
      Array<&S::responses>("Responses"),
  }};
  return spec;
}

// ---- ListOffsets v1-3 ----

template <>
const StructSpec& SpecOf<ListOffsetsRequest::Partition>() {
  using S = ListOffsetsRequest::Partition;
  static const StructSpec spec{"ListOffsetsPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::timestamp>("Timestamp"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListOffsetsRequest::Topic>() {
  using S = ListOffsetsRequest::Topic;
  static const StructSpec spec{"ListOffsetsTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListOffsetsRequest>() {
  using S = ListOffsetsRequest;
  static const StructSpec spec{"ListOffsetsRequest", {
      Int32<&S::replica_id>("ReplicaId"),
      Int8<&S::isolation_level>("IsolationLevel").Since(2),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListOffsetsResponse::Partition>() {
  using S = ListOffsetsResponse::Partition;
  static const StructSpec spec{"ListOffsetsPartitionResponse", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
      Int64<&S::timestamp>("Timestamp"),
      Int64<&S::offset>("Offset"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListOffsetsResponse::Topic>() {
  using S = ListOffsetsResponse::Topic;
  static const StructSpec spec{"ListOffsetsTopicResponse", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListOffsetsResponse>() {
  using S = ListOffsetsResponse;
  static const StructSpec spec{"ListOffsetsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(2).Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- OffsetForLeaderEpoch v2-4 ----

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochRequest::Partition>() {
  using S = OffsetForLeaderEpochRequest::Partition;
  static const StructSpec spec{"OffsetForLeaderPartition", {
      Int32<&S::partition>("Partition"),
      Int32<&S::current_leader_epoch>("CurrentLeaderEpoch").Ignorable(),
      Int32<&S::leader_epoch>("LeaderEpoch"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochRequest::Topic>() {
  using S = OffsetForLeaderEpochRequest::Topic;
  static const StructSpec spec{"OffsetForLeaderTopic", {
      Str<&S::topic>("Topic"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochRequest>() {
  using S = OffsetForLeaderEpochRequest;
  static const StructSpec spec{"OffsetForLeaderEpochRequest", {
      Int32<&S::replica_id>("ReplicaId").Since(3).Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochResponse::EpochEndOffset>() {
  using S = OffsetForLeaderEpochResponse::EpochEndOffset;
  static const StructSpec spec{"EpochEndOffset", {
      Int16<&S::error_code>("ErrorCode"),
      Int32<&S::partition>("Partition"),
      Int32<&S::leader_epoch>("LeaderEpoch").Ignorable(),
      Int64<&S::end_offset>("EndOffset"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochResponse::Topic>() {
  using S = OffsetForLeaderEpochResponse::Topic;
  static const StructSpec spec{"OffsetForLeaderTopicResult", {
      Str<&S::topic>("Topic"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetForLeaderEpochResponse>() {
  using S = OffsetForLeaderEpochResponse;
  static const StructSpec spec{"OffsetForLeaderEpochResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- FindCoordinator v0-2 ----

template <>
const StructSpec& SpecOf<FindCoordinatorRequest>() {
  using S = FindCoordinatorRequest;
  static const StructSpec spec{"FindCoordinatorRequest", {
      Str<&S::key>("Key"),
      Int8<&S::key_type>("KeyType").Since(1),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<FindCoordinatorResponse>() {
  using S = FindCoordinatorResponse;
  static const StructSpec spec{"FindCoordinatorResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Since(1).Nullable().Ignorable(),
      Int32<&S::node_id>("NodeId"),
      Str<&S::host>("Host"),
      Int32<&S::port>("Port"),
  }};
  return spec;
}

// ---- JoinGroup v0-5 ----

template <>
const StructSpec& SpecOf<JoinGroupRequest::Protocol>() {
  using S = JoinGroupRequest::Protocol;
  static const StructSpec spec{"JoinGroupRequestProtocol", {
      Str<&S::name>("Name"),
      Bytes<&S::metadata>("Metadata"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<JoinGroupRequest>() {
  using S = JoinGroupRequest;
  static const StructSpec spec{"JoinGroupRequest", {
      Str<&S::group_id>("GroupId"),
      Int32<&S::session_timeout_ms>("SessionTimeoutMs"),
      Int32<&S::rebalance_timeout_ms>("RebalanceTimeoutMs").Since(1).Ignorable(),
      Str<&S::member_id>("MemberId"),
      Str<&S::group_instance_id>("GroupInstanceId").Since(5).Nullable(),
      Str<&S::protocol_type>("ProtocolType"),
      Array<&S::protocols>("Protocols"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<JoinGroupResponse::Member>() {
  using S = JoinGroupResponse::Member;
  static const StructSpec spec{"JoinGroupResponseMember", {
      Str<&S::member_id>("MemberId"),
      Str<&S::group_instance_id>("GroupInstanceId").Since(5).Nullable().Ignorable(),
      Bytes<&S::metadata>("Metadata"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<JoinGroupResponse>() {
  using S = JoinGroupResponse;
  static const StructSpec spec{"JoinGroupResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(2).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Int32<&S::generation_id>("GenerationId"),
      Str<&S::protocol_name>("ProtocolName"),
      Str<&S::leader>("Leader"),
      Str<&S::member_id>("MemberId"),
      Array<&S::members>("Members"),
  }};
  return spec;
}

// ---- SyncGroup v0-3 ----

template <>
const StructSpec& SpecOf<SyncGroupRequest::Assignment>() {
  using S = SyncGroupRequest::Assignment;
  static const StructSpec spec{"SyncGroupRequestAssignment", {
      Str<&S::member_id>("MemberId"),
      Bytes<&S::assignment>("Assignment"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<SyncGroupRequest>() {
  using S = SyncGroupRequest;
  static const StructSpec spec{"SyncGroupRequest", {
      Str<&S::group_id>("GroupId"),
      Int32<&S::generation_id>("GenerationId"),
      Str<&S::member_id>("MemberId"),
      Str<&S::group_instance_id>("GroupInstanceId").Since(3).Nullable(),
      Array<&S::assignments>("Assignments"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<SyncGroupResponse>() {
  using S = SyncGroupResponse;
  static const StructSpec spec{"SyncGroupResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Bytes<&S::assignment>("Assignment"),
  }};
  return spec;
}

// ---- Heartbeat v0-3 ----

template <>
const StructSpec& SpecOf<HeartbeatRequest>() {
  using S = HeartbeatRequest;
  static const StructSpec spec{"HeartbeatRequest", {
      Str<&S::group_id>("GroupId"),
      Int32<&S::generation_id>("GenerationId"),
      Str<&S::member_id>("MemberId"),
      Str<&S::group_instance_id>("GroupInstanceId").Since(3).Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<HeartbeatResponse>() {
  using S = HeartbeatResponse;
  static const StructSpec spec{"HeartbeatResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

// ---- LeaveGroup v0-3 ----

template <>
const StructSpec& SpecOf<LeaveGroupRequest::Member>() {
  using S = LeaveGroupRequest::Member;
  static const StructSpec spec{"MemberIdentity", {
      Str<&S::member_id>("MemberId").Since(3),
      Str<&S::group_instance_id>("GroupInstanceId").Since(3).Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<LeaveGroupRequest>() {
  using S = LeaveGroupRequest;
  static const StructSpec spec{"LeaveGroupRequest", {
      Str<&S::group_id>("GroupId"),
      Str<&S::member_id>("MemberId").Between(0, 2),
      Array<&S::members>("Members").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<LeaveGroupResponse::Member>() {
  using S = LeaveGroupResponse::Member;
  static const StructSpec spec{"MemberResponse", {
      Str<&S::member_id>("MemberId").Since(3),
      Str<&S::group_instance_id>("GroupInstanceId").Since(3).Nullable(),
      Int16<&S::error_code>("ErrorCode").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<LeaveGroupResponse>() {
  using S = LeaveGroupResponse;
  static const StructSpec spec{"LeaveGroupResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Array<&S::members>("Members").Since(3),
  }};
  return spec;
}

// ---- OffsetCommit v2-7 ----

template <>
const StructSpec& SpecOf<OffsetCommitRequest::Partition>() {
  using S = OffsetCommitRequest::Partition;
  static const StructSpec spec{"OffsetCommitRequestPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::committed_offset>("CommittedOffset"),
      Int32<&S::committed_leader_epoch>("CommittedLeaderEpoch").Since(6).Ignorable(),
      Str<&S::committed_metadata>("CommittedMetadata").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetCommitRequest::Topic>() {
  using S = OffsetCommitRequest::Topic;
  static const StructSpec spec{"OffsetCommitRequestTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetCommitRequest>() {
  using S = OffsetCommitRequest;
  static const StructSpec spec{"OffsetCommitRequest", {
      Str<&S::group_id>("GroupId"),
      Int32<&S::generation_id_or_member_epoch>("GenerationIdOrMemberEpoch").Ignorable(),
      Str<&S::member_id>("MemberId").Ignorable(),
      Str<&S::group_instance_id>("GroupInstanceId").Since(7).Nullable(),
      Int64<&S::retention_time_ms>("RetentionTimeMs").Between(2, 4).Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetCommitResponse::Partition>() {
  using S = OffsetCommitResponse::Partition;
  static const StructSpec spec{"OffsetCommitResponsePartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetCommitResponse::Topic>() {
  using S = OffsetCommitResponse::Topic;
  static const StructSpec spec{"OffsetCommitResponseTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetCommitResponse>() {
  using S = OffsetCommitResponse;
  static const StructSpec spec{"OffsetCommitResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(3).Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- OffsetFetch v1-7 ----

template <>
const StructSpec& SpecOf<OffsetFetchRequest::Topic>() {
  using S = OffsetFetchRequest::Topic;
  static const StructSpec spec{"OffsetFetchRequestTopic", {
      Str<&S::name>("Name"),
      Array<&S::partition_indexes>("PartitionIndexes"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetFetchRequest>() {
  using S = OffsetFetchRequest;
  static const StructSpec spec{"OffsetFetchRequest", {
      Str<&S::group_id>("GroupId"),
      Array<&S::topics>("Topics").NullableSince(2),
      Bool<&S::require_stable>("RequireStable").Since(7),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetFetchResponse::Partition>() {
  using S = OffsetFetchResponse::Partition;
  static const StructSpec spec{"OffsetFetchResponsePartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::committed_offset>("CommittedOffset"),
      Int32<&S::committed_leader_epoch>("CommittedLeaderEpoch").Since(5).Ignorable(),
      Str<&S::metadata>("Metadata").Nullable(),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetFetchResponse::Topic>() {
  using S = OffsetFetchResponse::Topic;
  static const StructSpec spec{"OffsetFetchResponseTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetFetchResponse>() {
  using S = OffsetFetchResponse;
  static const StructSpec spec{"OffsetFetchResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(3).Ignorable(),
      Array<&S::topics>("Topics"),
      Int16<&S::error_code>("ErrorCode").Since(2).Ignorable(),
  }};
  return spec;
}

// ---- DescribeGroups v0-4 ----

template <>
const StructSpec& SpecOf<DescribeGroupsRequest>() {
  using S = DescribeGroupsRequest;
  static const StructSpec spec{"DescribeGroupsRequest", {
      Array<&S::groups>("Groups"),
      Bool<&S::include_authorized_operations>("IncludeAuthorizedOperations").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeGroupsResponse::Member>() {
  using S = DescribeGroupsResponse::Member;
  static const StructSpec spec{"DescribedGroupMember", {
      Str<&S::member_id>("MemberId"),
      Str<&S::group_instance_id>("GroupInstanceId").Since(4).Nullable().Ignorable(),
      Str<&S::client_id>("ClientId"),
      Str<&S::client_host>("ClientHost"),
      Bytes<&S::member_metadata>("MemberMetadata"),
      Bytes<&S::member_assignment>("MemberAssignment"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeGroupsResponse::Group>() {
  using S = DescribeGroupsResponse::Group;
  static const StructSpec spec{"DescribedGroup", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::group_id>("GroupId"),
      Str<&S::group_state>("GroupState"),
      Str<&S::protocol_type>("ProtocolType"),
      Str<&S::protocol_data>("ProtocolData"),
      Array<&S::members>("Members"),
      Int32<&S::authorized_operations>("AuthorizedOperations").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeGroupsResponse>() {
  using S = DescribeGroupsResponse;
  static const StructSpec spec{"DescribeGroupsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Array<&S::groups>("Groups"),
  }};
  return spec;
}

// ---- ListGroups v0-4 ----

template <>
const StructSpec& SpecOf<ListGroupsRequest>() {
  using S = ListGroupsRequest;
  static const StructSpec spec{"ListGroupsRequest", {
      Array<&S::states_filter>("StatesFilter").Since(4),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListGroupsResponse::Group>() {
  using S = ListGroupsResponse::Group;
  static const StructSpec spec{"ListedGroup", {
      Str<&S::group_id>("GroupId"),
      Str<&S::protocol_type>("ProtocolType"),
      Str<&S::group_state>("GroupState").Since(4).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListGroupsResponse>() {
  using S = ListGroupsResponse;
  static const StructSpec spec{"ListGroupsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Since(1).Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Array<&S::groups>("Groups"),
  }};
  return spec;
}

// ---- DeleteGroups v1-1 ----

template <>
const StructSpec& SpecOf<DeleteGroupsRequest>() {
  using S = DeleteGroupsRequest;
  static const StructSpec spec{"DeleteGroupsRequest", {
      Array<&S::groups_names>("GroupsNames"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteGroupsResponse::Result>() {
  using S = DeleteGroupsResponse::Result;
  static const StructSpec spec{"DeletableGroupResult", {
      Str<&S::group_id>("GroupId"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteGroupsResponse>() {
  using S = DeleteGroupsResponse;
  static const StructSpec spec{"DeleteGroupsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- OffsetDelete v0-0 ----

template <>
const StructSpec& SpecOf<OffsetDeleteRequest::Partition>() {
  using S = OffsetDeleteRequest::Partition;
  static const StructSpec spec{"OffsetDeleteRequestPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetDeleteRequest::Topic>() {
  using S = OffsetDeleteRequest::Topic;
  static const StructSpec spec{"OffsetDeleteRequestTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetDeleteRequest>() {
  using S = OffsetDeleteRequest;
  static const StructSpec spec{"OffsetDeleteRequest", {
      Str<&S::group_id>("GroupId"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetDeleteResponse::Partition>() {
  using S = OffsetDeleteResponse::Partition;
  static const StructSpec spec{"OffsetDeleteResponsePartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetDeleteResponse::Topic>() {
  using S = OffsetDeleteResponse::Topic;
  static const StructSpec spec{"OffsetDeleteResponseTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<OffsetDeleteResponse>() {
  using S = OffsetDeleteResponse;
  static const StructSpec spec{"OffsetDeleteResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- CreateTopics v3-4 ----

template <>
const StructSpec& SpecOf<CreateTopicsRequest::Assignment>() {
  using S = CreateTopicsRequest::Assignment;
  static const StructSpec spec{"CreatableReplicaAssignment", {
      Int32<&S::partition_index>("PartitionIndex"),
      Array<&S::broker_ids>("BrokerIds"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateTopicsRequest::Config>() {
  using S = CreateTopicsRequest::Config;
  static const StructSpec spec{"CreateableTopicConfig", {
      Str<&S::name>("Name"),
      Str<&S::value>("Value").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateTopicsRequest::Topic>() {
  using S = CreateTopicsRequest::Topic;
  static const StructSpec spec{"CreatableTopic", {
      Str<&S::name>("Name"),
      Int32<&S::num_partitions>("NumPartitions"),
      Int16<&S::replication_factor>("ReplicationFactor"),
      Array<&S::assignments>("Assignments"),
      Array<&S::configs>("Configs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateTopicsRequest>() {
  using S = CreateTopicsRequest;
  static const StructSpec spec{"CreateTopicsRequest", {
      Array<&S::topics>("Topics"),
      Int32<&S::timeout_ms>("timeoutMs"),
      Bool<&S::validate_only>("validateOnly"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateTopicsResponse::Result>() {
  using S = CreateTopicsResponse::Result;
  static const StructSpec spec{"CreatableTopicResult", {
      Str<&S::name>("Name"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable().Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateTopicsResponse>() {
  using S = CreateTopicsResponse;
  static const StructSpec spec{"CreateTopicsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- DeleteTopics v1-3 ----

template <>
const StructSpec& SpecOf<DeleteTopicsRequest>() {
  using S = DeleteTopicsRequest;
  static const StructSpec spec{"DeleteTopicsRequest", {
      Array<&S::topic_names>("TopicNames").Ignorable(),
      Int32<&S::timeout_ms>("TimeoutMs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteTopicsResponse::Result>() {
  using S = DeleteTopicsResponse::Result;
  static const StructSpec spec{"DeletableTopicResult", {
      Str<&S::name>("Name"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteTopicsResponse>() {
  using S = DeleteTopicsResponse;
  static const StructSpec spec{"DeleteTopicsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Array<&S::responses>("Responses"),
  }};
  return spec;
}

// ---- CreatePartitions v0-1 ----

template <>
const StructSpec& SpecOf<CreatePartitionsRequest::Assignment>() {
  using S = CreatePartitionsRequest::Assignment;
  static const StructSpec spec{"CreatePartitionsAssignment", {
      Array<&S::broker_ids>("BrokerIds"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreatePartitionsRequest::Topic>() {
  using S = CreatePartitionsRequest::Topic;
  static const StructSpec spec{"CreatePartitionsTopic", {
      Str<&S::name>("Name"),
      Int32<&S::count>("Count"),
      Array<&S::assignments>("Assignments").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreatePartitionsRequest>() {
  using S = CreatePartitionsRequest;
  static const StructSpec spec{"CreatePartitionsRequest", {
      Array<&S::topics>("Topics"),
      Int32<&S::timeout_ms>("TimeoutMs"),
      Bool<&S::validate_only>("ValidateOnly"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreatePartitionsResponse::Result>() {
  using S = CreatePartitionsResponse::Result;
  static const StructSpec spec{"CreatePartitionsTopicResult", {
      Str<&S::name>("Name"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreatePartitionsResponse>() {
  using S = CreatePartitionsResponse;
  static const StructSpec spec{"CreatePartitionsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- DescribeConfigs v1-2 ----

template <>
const StructSpec& SpecOf<DescribeConfigsRequest::Resource>() {
  using S = DescribeConfigsRequest::Resource;
  static const StructSpec spec{"DescribeConfigsResource", {
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Array<&S::configuration_keys>("ConfigurationKeys").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeConfigsRequest>() {
  using S = DescribeConfigsRequest;
  static const StructSpec spec{"DescribeConfigsRequest", {
      Array<&S::resources>("Resources"),
      Bool<&S::include_synonyms>("IncludeSynonyms"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeConfigsResponse::Synonym>() {
  using S = DescribeConfigsResponse::Synonym;
  static const StructSpec spec{"DescribeConfigsSynonym", {
      Str<&S::name>("Name"),
      Str<&S::value>("Value").Nullable(),
      Int8<&S::source>("Source"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeConfigsResponse::Config>() {
  using S = DescribeConfigsResponse::Config;
  static const StructSpec spec{"DescribeConfigsResourceResult", {
      Str<&S::name>("Name"),
      Str<&S::value>("Value").Nullable(),
      Bool<&S::read_only>("ReadOnly"),
      Int8<&S::config_source>("ConfigSource").Ignorable(),
      Bool<&S::is_sensitive>("IsSensitive"),
      Array<&S::synonyms>("Synonyms").Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeConfigsResponse::Result>() {
  using S = DescribeConfigsResponse::Result;
  static const StructSpec spec{"DescribeConfigsResult", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Array<&S::configs>("Configs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeConfigsResponse>() {
  using S = DescribeConfigsResponse;
  static const StructSpec spec{"DescribeConfigsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- AlterConfigs v0-1 ----

template <>
const StructSpec& SpecOf<AlterConfigsRequest::Config>() {
  using S = AlterConfigsRequest::Config;
  static const StructSpec spec{"AlterableConfig", {
      Str<&S::name>("Name"),
      Str<&S::value>("Value").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterConfigsRequest::Resource>() {
  using S = AlterConfigsRequest::Resource;
  static const StructSpec spec{"AlterConfigsResource", {
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Array<&S::configs>("Configs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterConfigsRequest>() {
  using S = AlterConfigsRequest;
  static const StructSpec spec{"AlterConfigsRequest", {
      Array<&S::resources>("Resources"),
      Bool<&S::validate_only>("ValidateOnly"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterConfigsResponse::Response>() {
  using S = AlterConfigsResponse::Response;
  static const StructSpec spec{"AlterConfigsResourceResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterConfigsResponse>() {
  using S = AlterConfigsResponse;
  static const StructSpec spec{"AlterConfigsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::responses>("Responses"),
  }};
  return spec;
}

// ---- DescribeLogDirs v0-4 (v1 is v0's layout; v2 flexible, v3 adds the
// top-level ErrorCode, v4 TotalBytes and UsableBytes) ----

template <>
const StructSpec& SpecOf<DescribeLogDirsRequest::Topic>() {
  using S = DescribeLogDirsRequest::Topic;
  static const StructSpec spec{"DescribableLogDirTopic", {
      Str<&S::topic>("Topic"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeLogDirsRequest>() {
  using S = DescribeLogDirsRequest;
  static const StructSpec spec{"DescribeLogDirsRequest", {
      Array<&S::topics>("Topics").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeLogDirsResponse::Partition>() {
  using S = DescribeLogDirsResponse::Partition;
  static const StructSpec spec{"DescribeLogDirsPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::partition_size>("PartitionSize"),
      Int64<&S::offset_lag>("OffsetLag"),
      Bool<&S::is_future_key>("IsFutureKey"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeLogDirsResponse::Topic>() {
  using S = DescribeLogDirsResponse::Topic;
  static const StructSpec spec{"DescribeLogDirsTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeLogDirsResponse::Result>() {
  using S = DescribeLogDirsResponse::Result;
  static const StructSpec spec{"DescribeLogDirsResult", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::log_dir>("LogDir"),
      Array<&S::topics>("Topics"),
      Int64<&S::total_bytes>("TotalBytes").Since(4).Ignorable(),
      Int64<&S::usable_bytes>("UsableBytes").Since(4).Ignorable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeLogDirsResponse>() {
  using S = DescribeLogDirsResponse;
  static const StructSpec spec{"DescribeLogDirsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode").Since(3).Ignorable(),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- IncrementalAlterConfigs v0-1 ----

template <>
const StructSpec& SpecOf<IncrementalAlterConfigsRequest::Config>() {
  using S = IncrementalAlterConfigsRequest::Config;
  static const StructSpec spec{"AlterableConfig", {
      Str<&S::name>("Name"),
      Int8<&S::config_operation>("ConfigOperation"),
      Str<&S::value>("Value").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<IncrementalAlterConfigsRequest::Resource>() {
  using S = IncrementalAlterConfigsRequest::Resource;
  static const StructSpec spec{"AlterConfigsResource", {
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Array<&S::configs>("Configs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<IncrementalAlterConfigsRequest>() {
  using S = IncrementalAlterConfigsRequest;
  static const StructSpec spec{"IncrementalAlterConfigsRequest", {
      Array<&S::resources>("Resources"),
      Bool<&S::validate_only>("ValidateOnly"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<IncrementalAlterConfigsResponse::Response>() {
  using S = IncrementalAlterConfigsResponse::Response;
  static const StructSpec spec{"AlterConfigsResourceResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<IncrementalAlterConfigsResponse>() {
  using S = IncrementalAlterConfigsResponse;
  static const StructSpec spec{"IncrementalAlterConfigsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::responses>("Responses"),
  }};
  return spec;
}

// ---- DeleteRecords v1-1 ----

template <>
const StructSpec& SpecOf<DeleteRecordsRequest::Partition>() {
  using S = DeleteRecordsRequest::Partition;
  static const StructSpec spec{"DeleteRecordsPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::offset>("Offset"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteRecordsRequest::Topic>() {
  using S = DeleteRecordsRequest::Topic;
  static const StructSpec spec{"DeleteRecordsTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteRecordsRequest>() {
  using S = DeleteRecordsRequest;
  static const StructSpec spec{"DeleteRecordsRequest", {
      Array<&S::topics>("Topics"),
      Int32<&S::timeout_ms>("TimeoutMs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteRecordsResponse::Partition>() {
  using S = DeleteRecordsResponse::Partition;
  static const StructSpec spec{"DeleteRecordsPartitionResult", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::low_watermark>("LowWatermark"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteRecordsResponse::Topic>() {
  using S = DeleteRecordsResponse::Topic;
  static const StructSpec spec{"DeleteRecordsTopicResult", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteRecordsResponse>() {
  using S = DeleteRecordsResponse;
  static const StructSpec spec{"DeleteRecordsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- InitProducerId v0-4 ----

template <>
const StructSpec& SpecOf<InitProducerIdRequest>() {
  using S = InitProducerIdRequest;
  static const StructSpec spec{"InitProducerIdRequest", {
      Str<&S::transactional_id>("TransactionalId").Nullable(),
      Int32<&S::transaction_timeout_ms>("TransactionTimeoutMs"),
      Int64<&S::producer_id>("ProducerId").Since(3),
      Int16<&S::producer_epoch>("ProducerEpoch").Since(3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<InitProducerIdResponse>() {
  using S = InitProducerIdResponse;
  static const StructSpec spec{"InitProducerIdResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs").Ignorable(),
      Int16<&S::error_code>("ErrorCode"),
      Int64<&S::producer_id>("ProducerId"),
      Int16<&S::producer_epoch>("ProducerEpoch"),
  }};
  return spec;
}

// ---- AddPartitionsToTxn v0-3 ----
// Kafka 3.7.1 has v0-4; v4 (Transactions, a broker's batch) is for brokers
// and not served, so only the V3AndBelow fields are here.

template <>
const StructSpec& SpecOf<AddPartitionsToTxnRequest::Topic>() {
  using S = AddPartitionsToTxnRequest::Topic;
  static const StructSpec spec{"AddPartitionsToTxnTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AddPartitionsToTxnRequest>() {
  using S = AddPartitionsToTxnRequest;
  static const StructSpec spec{"AddPartitionsToTxnRequest", {
      Str<&S::v3_and_below_transactional_id>("V3AndBelowTransactionalId").Between(0, 3),
      Int64<&S::v3_and_below_producer_id>("V3AndBelowProducerId").Between(0, 3),
      Int16<&S::v3_and_below_producer_epoch>("V3AndBelowProducerEpoch").Between(0, 3),
      Array<&S::v3_and_below_topics>("V3AndBelowTopics").Between(0, 3),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AddPartitionsToTxnResponse::PartitionResult>() {
  using S = AddPartitionsToTxnResponse::PartitionResult;
  static const StructSpec spec{"AddPartitionsToTxnPartitionResult", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::partition_error_code>("PartitionErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AddPartitionsToTxnResponse::TopicResult>() {
  using S = AddPartitionsToTxnResponse::TopicResult;
  static const StructSpec spec{"AddPartitionsToTxnTopicResult", {
      Str<&S::name>("Name"),
      Array<&S::results_by_partition>("ResultsByPartition"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AddPartitionsToTxnResponse>() {
  using S = AddPartitionsToTxnResponse;
  static const StructSpec spec{"AddPartitionsToTxnResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results_by_topic_v3_and_below>("ResultsByTopicV3AndBelow").Between(0, 3),
  }};
  return spec;
}

// ---- AddOffsetsToTxn v0-3 ----

template <>
const StructSpec& SpecOf<AddOffsetsToTxnRequest>() {
  using S = AddOffsetsToTxnRequest;
  static const StructSpec spec{"AddOffsetsToTxnRequest", {
      Str<&S::transactional_id>("TransactionalId"),
      Int64<&S::producer_id>("ProducerId"),
      Int16<&S::producer_epoch>("ProducerEpoch"),
      Str<&S::group_id>("GroupId"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AddOffsetsToTxnResponse>() {
  using S = AddOffsetsToTxnResponse;
  static const StructSpec spec{"AddOffsetsToTxnResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

// ---- EndTxn v0-3 ----

template <>
const StructSpec& SpecOf<EndTxnRequest>() {
  using S = EndTxnRequest;
  static const StructSpec spec{"EndTxnRequest", {
      Str<&S::transactional_id>("TransactionalId"),
      Int64<&S::producer_id>("ProducerId"),
      Int16<&S::producer_epoch>("ProducerEpoch"),
      Bool<&S::committed>("Committed"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<EndTxnResponse>() {
  using S = EndTxnResponse;
  static const StructSpec spec{"EndTxnResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

// ---- TxnOffsetCommit v0-3 ----
// v1 is v0 (the response is sent before throttling); v2 adds
// CommittedLeaderEpoch; v3 the consumer's generation and member (KIP-447),
// flexible.

template <>
const StructSpec& SpecOf<TxnOffsetCommitRequest::Partition>() {
  using S = TxnOffsetCommitRequest::Partition;
  static const StructSpec spec{"TxnOffsetCommitRequestPartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int64<&S::committed_offset>("CommittedOffset"),
      Int32<&S::committed_leader_epoch>("CommittedLeaderEpoch").Since(2).Ignorable(),
      Str<&S::committed_metadata>("CommittedMetadata").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<TxnOffsetCommitRequest::Topic>() {
  using S = TxnOffsetCommitRequest::Topic;
  static const StructSpec spec{"TxnOffsetCommitRequestTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<TxnOffsetCommitRequest>() {
  using S = TxnOffsetCommitRequest;
  static const StructSpec spec{"TxnOffsetCommitRequest", {
      Str<&S::transactional_id>("TransactionalId"),
      Str<&S::group_id>("GroupId"),
      Int64<&S::producer_id>("ProducerId"),
      Int16<&S::producer_epoch>("ProducerEpoch"),
      Int32<&S::generation_id>("GenerationId").Since(3),
      Str<&S::member_id>("MemberId").Since(3),
      Str<&S::group_instance_id>("GroupInstanceId").Since(3).Nullable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<TxnOffsetCommitResponse::Partition>() {
  using S = TxnOffsetCommitResponse::Partition;
  static const StructSpec spec{"TxnOffsetCommitResponsePartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<TxnOffsetCommitResponse::Topic>() {
  using S = TxnOffsetCommitResponse::Topic;
  static const StructSpec spec{"TxnOffsetCommitResponseTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<TxnOffsetCommitResponse>() {
  using S = TxnOffsetCommitResponse;
  static const StructSpec spec{"TxnOffsetCommitResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- DescribeCluster v0-1 ----

template <>
const StructSpec& SpecOf<DescribeClusterRequest>() {
  using S = DescribeClusterRequest;
  static const StructSpec spec{"DescribeClusterRequest", {
      Bool<&S::include_cluster_authorized_operations>("IncludeClusterAuthorizedOperations"),
      Int8<&S::endpoint_type>("EndpointType").Since(1),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClusterResponse::Broker>() {
  using S = DescribeClusterResponse::Broker;
  static const StructSpec spec{"DescribeClusterBroker", {
      Int32<&S::broker_id>("BrokerId"),
      Str<&S::host>("Host"),
      Int32<&S::port>("Port"),
      Str<&S::rack>("Rack").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClusterResponse>() {
  using S = DescribeClusterResponse;
  static const StructSpec spec{"DescribeClusterResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Int8<&S::endpoint_type>("EndpointType").Since(1),
      Str<&S::cluster_id>("ClusterId"),
      Int32<&S::controller_id>("ControllerId"),
      Array<&S::brokers>("Brokers"),
      Int32<&S::cluster_authorized_operations>("ClusterAuthorizedOperations"),
  }};
  return spec;
}

// ---- ElectLeaders v0-2 ----

template <>
const StructSpec& SpecOf<ElectLeadersRequest::TopicPartitions>() {
  using S = ElectLeadersRequest::TopicPartitions;
  static const StructSpec spec{"TopicPartitions", {
      Str<&S::topic>("Topic"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ElectLeadersRequest>() {
  using S = ElectLeadersRequest;
  static const StructSpec spec{"ElectLeadersRequest", {
      Int8<&S::election_type>("ElectionType").Since(1),
      Array<&S::topic_partitions>("TopicPartitions").Nullable(),
      Int32<&S::timeout_ms>("TimeoutMs"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ElectLeadersResponse::PartitionResult>() {
  using S = ElectLeadersResponse::PartitionResult;
  static const StructSpec spec{"PartitionResult", {
      Int32<&S::partition_id>("PartitionId"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ElectLeadersResponse::ReplicaElectionResult>() {
  using S = ElectLeadersResponse::ReplicaElectionResult;
  static const StructSpec spec{"ReplicaElectionResult", {
      Str<&S::topic>("Topic"),
      Array<&S::partition_result>("PartitionResult"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ElectLeadersResponse>() {
  using S = ElectLeadersResponse;
  static const StructSpec spec{"ElectLeadersResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode").Since(1),
      Array<&S::replica_election_results>("ReplicaElectionResults"),
  }};
  return spec;
}

// ---- AlterPartitionReassignments v0-0 ----

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsRequest::Partition>() {
  using S = AlterPartitionReassignmentsRequest::Partition;
  static const StructSpec spec{"ReassignablePartition", {
      Int32<&S::partition_index>("PartitionIndex"),
      Array<&S::replicas>("Replicas").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsRequest::Topic>() {
  using S = AlterPartitionReassignmentsRequest::Topic;
  static const StructSpec spec{"ReassignableTopic", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsRequest>() {
  using S = AlterPartitionReassignmentsRequest;
  static const StructSpec spec{"AlterPartitionReassignmentsRequest", {
      Int32<&S::timeout_ms>("TimeoutMs"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsResponse::Partition>() {
  using S = AlterPartitionReassignmentsResponse::Partition;
  static const StructSpec spec{"ReassignablePartitionResponse", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsResponse::Topic>() {
  using S = AlterPartitionReassignmentsResponse::Topic;
  static const StructSpec spec{"ReassignableTopicResponse", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterPartitionReassignmentsResponse>() {
  using S = AlterPartitionReassignmentsResponse;
  static const StructSpec spec{"AlterPartitionReassignmentsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::responses>("Responses"),
  }};
  return spec;
}

// ---- ListPartitionReassignments v0-0 ----

template <>
const StructSpec& SpecOf<ListPartitionReassignmentsRequest::Topic>() {
  using S = ListPartitionReassignmentsRequest::Topic;
  static const StructSpec spec{"ListPartitionReassignmentsTopics", {
      Str<&S::name>("Name"),
      Array<&S::partition_indexes>("PartitionIndexes"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListPartitionReassignmentsRequest>() {
  using S = ListPartitionReassignmentsRequest;
  static const StructSpec spec{"ListPartitionReassignmentsRequest", {
      Int32<&S::timeout_ms>("TimeoutMs"),
      Array<&S::topics>("Topics").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListPartitionReassignmentsResponse::Partition>() {
  using S = ListPartitionReassignmentsResponse::Partition;
  static const StructSpec spec{"OngoingPartitionReassignment", {
      Int32<&S::partition_index>("PartitionIndex"),
      Array<&S::replicas>("Replicas"),
      Array<&S::adding_replicas>("AddingReplicas"),
      Array<&S::removing_replicas>("RemovingReplicas"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListPartitionReassignmentsResponse::Topic>() {
  using S = ListPartitionReassignmentsResponse::Topic;
  static const StructSpec spec{"OngoingTopicReassignment", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListPartitionReassignmentsResponse>() {
  using S = ListPartitionReassignmentsResponse;
  static const StructSpec spec{"ListPartitionReassignmentsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- DescribeProducers v0 ----

template <>
const StructSpec& SpecOf<DescribeProducersRequest::Topic>() {
  using S = DescribeProducersRequest::Topic;
  static const StructSpec spec{"DescribeProducersTopicRequest", {
      Str<&S::name>("Name"),
      Array<&S::partition_indexes>("PartitionIndexes"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeProducersRequest>() {
  using S = DescribeProducersRequest;
  static const StructSpec spec{"DescribeProducersRequest", {
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeProducersResponse::ProducerState>() {
  using S = DescribeProducersResponse::ProducerState;
  static const StructSpec spec{"DescribeProducersProducerState", {
      Int64<&S::producer_id>("ProducerId"),
      Int32<&S::producer_epoch>("ProducerEpoch"),
      Int32<&S::last_sequence>("LastSequence"),
      Int64<&S::last_timestamp>("LastTimestamp"),
      Int32<&S::coordinator_epoch>("CoordinatorEpoch"),
      Int64<&S::current_txn_start_offset>("CurrentTxnStartOffset"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeProducersResponse::Partition>() {
  using S = DescribeProducersResponse::Partition;
  static const StructSpec spec{"DescribeProducersPartitionResponse", {
      Int32<&S::partition_index>("PartitionIndex"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::active_producers>("ActiveProducers"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeProducersResponse::Topic>() {
  using S = DescribeProducersResponse::Topic;
  static const StructSpec spec{"DescribeProducersTopicResponse", {
      Str<&S::name>("Name"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeProducersResponse>() {
  using S = DescribeProducersResponse;
  static const StructSpec spec{"DescribeProducersResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

// ---- DescribeTransactions v0 ----

template <>
const StructSpec& SpecOf<DescribeTransactionsRequest>() {
  using S = DescribeTransactionsRequest;
  static const StructSpec spec{"DescribeTransactionsRequest", {
      Array<&S::transactional_ids>("TransactionalIds"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeTransactionsResponse::TopicData>() {
  using S = DescribeTransactionsResponse::TopicData;
  static const StructSpec spec{"TopicData", {
      Str<&S::topic>("Topic"),
      Array<&S::partitions>("Partitions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeTransactionsResponse::TransactionState>() {
  using S = DescribeTransactionsResponse::TransactionState;
  static const StructSpec spec{"DescribeTransactionsState", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::transactional_id>("TransactionalId"),
      Str<&S::transaction_state>("TransactionState"),
      Int32<&S::transaction_timeout_ms>("TransactionTimeoutMs"),
      Int64<&S::transaction_start_time_ms>("TransactionStartTimeMs"),
      Int64<&S::producer_id>("ProducerId"),
      Int16<&S::producer_epoch>("ProducerEpoch"),
      Array<&S::topics>("Topics"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeTransactionsResponse>() {
  using S = DescribeTransactionsResponse;
  static const StructSpec spec{"DescribeTransactionsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::transaction_states>("TransactionStates"),
  }};
  return spec;
}

// ---- ListTransactions v0 ----

template <>
const StructSpec& SpecOf<ListTransactionsRequest>() {
  using S = ListTransactionsRequest;
  static const StructSpec spec{"ListTransactionsRequest", {
      Array<&S::state_filters>("StateFilters"),
      Array<&S::producer_id_filters>("ProducerIdFilters"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListTransactionsResponse::TransactionState>() {
  using S = ListTransactionsResponse::TransactionState;
  static const StructSpec spec{"ListTransactionsState", {
      Str<&S::transactional_id>("TransactionalId"),
      Int64<&S::producer_id>("ProducerId"),
      Str<&S::transaction_state>("TransactionState"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<ListTransactionsResponse>() {
  using S = ListTransactionsResponse;
  static const StructSpec spec{"ListTransactionsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Array<&S::unknown_state_filters>("UnknownStateFilters"),
      Array<&S::transaction_states>("TransactionStates"),
  }};
  return spec;
}

// ---- SaslHandshake v0-1 (never flexible) ----

template <>
const StructSpec& SpecOf<SaslHandshakeRequest>() {
  using S = SaslHandshakeRequest;
  static const StructSpec spec{"SaslHandshakeRequest", {
      Str<&S::mechanism>("Mechanism"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<SaslHandshakeResponse>() {
  using S = SaslHandshakeResponse;
  static const StructSpec spec{"SaslHandshakeResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Array<&S::mechanisms>("Mechanisms"),
  }};
  return spec;
}

// ---- SaslAuthenticate v0-2 ----

template <>
const StructSpec& SpecOf<SaslAuthenticateRequest>() {
  using S = SaslAuthenticateRequest;
  static const StructSpec spec{"SaslAuthenticateRequest", {
      Bytes<&S::auth_bytes>("AuthBytes"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<SaslAuthenticateResponse>() {
  using S = SaslAuthenticateResponse;
  static const StructSpec spec{"SaslAuthenticateResponse", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Bytes<&S::auth_bytes>("AuthBytes"),
      Int64<&S::session_lifetime_ms>("SessionLifetimeMs").Since(1).Ignorable(),
  }};
  return spec;
}

// ---- DescribeAcls v0-3 ----

template <>
const StructSpec& SpecOf<DescribeAclsRequest>() {
  using S = DescribeAclsRequest;
  static const StructSpec spec{"DescribeAclsRequest", {
      Int8<&S::resource_type_filter>("ResourceTypeFilter"),
      Str<&S::resource_name_filter>("ResourceNameFilter").Nullable(),
      Int8<&S::pattern_type_filter>("PatternTypeFilter").Since(1),
      Str<&S::principal_filter>("PrincipalFilter").Nullable(),
      Str<&S::host_filter>("HostFilter").Nullable(),
      Int8<&S::operation>("Operation"),
      Int8<&S::permission_type>("PermissionType"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeAclsResponse::AclDescription>() {
  using S = DescribeAclsResponse::AclDescription;
  static const StructSpec spec{"AclDescription", {
      Str<&S::principal>("Principal"),
      Str<&S::host>("Host"),
      Int8<&S::operation>("Operation"),
      Int8<&S::permission_type>("PermissionType"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeAclsResponse::Resource>() {
  using S = DescribeAclsResponse::Resource;
  static const StructSpec spec{"DescribeAclsResource", {
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Int8<&S::pattern_type>("PatternType").Since(1),
      Array<&S::acls>("Acls"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeAclsResponse>() {
  using S = DescribeAclsResponse;
  static const StructSpec spec{"DescribeAclsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::resources>("Resources"),
  }};
  return spec;
}

// ---- CreateAcls v0-3 ----

template <>
const StructSpec& SpecOf<CreateAclsRequest::Creation>() {
  using S = CreateAclsRequest::Creation;
  static const StructSpec spec{"AclCreation", {
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Int8<&S::resource_pattern_type>("ResourcePatternType").Since(1),
      Str<&S::principal>("Principal"),
      Str<&S::host>("Host"),
      Int8<&S::operation>("Operation"),
      Int8<&S::permission_type>("PermissionType"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateAclsRequest>() {
  using S = CreateAclsRequest;
  static const StructSpec spec{"CreateAclsRequest", {
      Array<&S::creations>("Creations"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateAclsResponse::Result>() {
  using S = CreateAclsResponse::Result;
  static const StructSpec spec{"AclCreationResult", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<CreateAclsResponse>() {
  using S = CreateAclsResponse;
  static const StructSpec spec{"CreateAclsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- DeleteAcls v0-3 ----

template <>
const StructSpec& SpecOf<DeleteAclsRequest::Filter>() {
  using S = DeleteAclsRequest::Filter;
  static const StructSpec spec{"DeleteAclsFilter", {
      Int8<&S::resource_type_filter>("ResourceTypeFilter"),
      Str<&S::resource_name_filter>("ResourceNameFilter").Nullable(),
      Int8<&S::pattern_type_filter>("PatternTypeFilter").Since(1),
      Str<&S::principal_filter>("PrincipalFilter").Nullable(),
      Str<&S::host_filter>("HostFilter").Nullable(),
      Int8<&S::operation>("Operation"),
      Int8<&S::permission_type>("PermissionType"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteAclsRequest>() {
  using S = DeleteAclsRequest;
  static const StructSpec spec{"DeleteAclsRequest", {
      Array<&S::filters>("Filters"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteAclsResponse::MatchingAcl>() {
  using S = DeleteAclsResponse::MatchingAcl;
  static const StructSpec spec{"DeleteAclsMatchingAcl", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Int8<&S::resource_type>("ResourceType"),
      Str<&S::resource_name>("ResourceName"),
      Int8<&S::pattern_type>("PatternType").Since(1),
      Str<&S::principal>("Principal"),
      Str<&S::host>("Host"),
      Int8<&S::operation>("Operation"),
      Int8<&S::permission_type>("PermissionType"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteAclsResponse::FilterResult>() {
  using S = DeleteAclsResponse::FilterResult;
  static const StructSpec spec{"DeleteAclsFilterResult", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::matching_acls>("MatchingAcls"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DeleteAclsResponse>() {
  using S = DeleteAclsResponse;
  static const StructSpec spec{"DeleteAclsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::filter_results>("FilterResults"),
  }};
  return spec;
}

// ---- DescribeClientQuotas v0-1 ----

template <>
const StructSpec& SpecOf<DescribeClientQuotasRequest::Component>() {
  using S = DescribeClientQuotasRequest::Component;
  static const StructSpec spec{"ComponentData", {
      Str<&S::entity_type>("EntityType"),
      Int8<&S::match_type>("MatchType"),
      Str<&S::match>("Match").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClientQuotasRequest>() {
  using S = DescribeClientQuotasRequest;
  static const StructSpec spec{"DescribeClientQuotasRequest", {
      Array<&S::components>("Components"),
      Bool<&S::strict>("Strict"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClientQuotasResponse::Entity>() {
  using S = DescribeClientQuotasResponse::Entity;
  static const StructSpec spec{"EntityData", {
      Str<&S::entity_type>("EntityType"),
      Str<&S::entity_name>("EntityName").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClientQuotasResponse::Value>() {
  using S = DescribeClientQuotasResponse::Value;
  static const StructSpec spec{"ValueData", {
      Str<&S::key>("Key"),
      Float64<&S::value>("Value"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClientQuotasResponse::Entry>() {
  using S = DescribeClientQuotasResponse::Entry;
  static const StructSpec spec{"EntryData", {
      Array<&S::entity>("Entity"),
      Array<&S::values>("Values"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeClientQuotasResponse>() {
  using S = DescribeClientQuotasResponse;
  static const StructSpec spec{"DescribeClientQuotasResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::entries>("Entries").Nullable(),
  }};
  return spec;
}

// ---- AlterClientQuotas v0-1 ----

template <>
const StructSpec& SpecOf<AlterClientQuotasRequest::Entity>() {
  using S = AlterClientQuotasRequest::Entity;
  static const StructSpec spec{"EntityData", {
      Str<&S::entity_type>("EntityType"),
      Str<&S::entity_name>("EntityName").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasRequest::Op>() {
  using S = AlterClientQuotasRequest::Op;
  static const StructSpec spec{"OpData", {
      Str<&S::key>("Key"),
      Float64<&S::value>("Value"),
      Bool<&S::remove>("Remove"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasRequest::Entry>() {
  using S = AlterClientQuotasRequest::Entry;
  static const StructSpec spec{"EntryData", {
      Array<&S::entity>("Entity"),
      Array<&S::ops>("Ops"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasRequest>() {
  using S = AlterClientQuotasRequest;
  static const StructSpec spec{"AlterClientQuotasRequest", {
      Array<&S::entries>("Entries"),
      Bool<&S::validate_only>("ValidateOnly"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasResponse::Entity>() {
  using S = AlterClientQuotasResponse::Entity;
  static const StructSpec spec{"EntityData", {
      Str<&S::entity_type>("EntityType"),
      Str<&S::entity_name>("EntityName").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasResponse::Entry>() {
  using S = AlterClientQuotasResponse::Entry;
  static const StructSpec spec{"EntryData", {
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::entity>("Entity"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterClientQuotasResponse>() {
  using S = AlterClientQuotasResponse;
  static const StructSpec spec{"AlterClientQuotasResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::entries>("Entries"),
  }};
  return spec;
}

// ---- DescribeUserScramCredentials v0 ----

template <>
const StructSpec& SpecOf<DescribeUserScramCredentialsRequest::User>() {
  using S = DescribeUserScramCredentialsRequest::User;
  static const StructSpec spec{"UserName", {
      Str<&S::name>("Name"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeUserScramCredentialsRequest>() {
  using S = DescribeUserScramCredentialsRequest;
  static const StructSpec spec{"DescribeUserScramCredentialsRequest", {
      Array<&S::users>("Users").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeUserScramCredentialsResponse::CredentialInfo>() {
  using S = DescribeUserScramCredentialsResponse::CredentialInfo;
  static const StructSpec spec{"CredentialInfo", {
      Int8<&S::mechanism>("Mechanism"),
      Int32<&S::iterations>("Iterations"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeUserScramCredentialsResponse::Result>() {
  using S = DescribeUserScramCredentialsResponse::Result;
  static const StructSpec spec{"DescribeUserScramCredentialsResult", {
      Str<&S::user>("User"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::credential_infos>("CredentialInfos"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<DescribeUserScramCredentialsResponse>() {
  using S = DescribeUserScramCredentialsResponse;
  static const StructSpec spec{"DescribeUserScramCredentialsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// ---- AlterUserScramCredentials v0 ----

template <>
const StructSpec& SpecOf<AlterUserScramCredentialsRequest::Deletion>() {
  using S = AlterUserScramCredentialsRequest::Deletion;
  static const StructSpec spec{"ScramCredentialDeletion", {
      Str<&S::name>("Name"),
      Int8<&S::mechanism>("Mechanism"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterUserScramCredentialsRequest::Upsertion>() {
  using S = AlterUserScramCredentialsRequest::Upsertion;
  static const StructSpec spec{"ScramCredentialUpsertion", {
      Str<&S::name>("Name"),
      Int8<&S::mechanism>("Mechanism"),
      Int32<&S::iterations>("Iterations"),
      Bytes<&S::salt>("Salt"),
      Bytes<&S::salted_password>("SaltedPassword"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterUserScramCredentialsRequest>() {
  using S = AlterUserScramCredentialsRequest;
  static const StructSpec spec{"AlterUserScramCredentialsRequest", {
      Array<&S::deletions>("Deletions"),
      Array<&S::upsertions>("Upsertions"),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterUserScramCredentialsResponse::Result>() {
  using S = AlterUserScramCredentialsResponse::Result;
  static const StructSpec spec{"AlterUserScramCredentialsResult", {
      Str<&S::user>("User"),
      Int16<&S::error_code>("ErrorCode"),
      Str<&S::error_message>("ErrorMessage").Nullable(),
  }};
  return spec;
}

template <>
const StructSpec& SpecOf<AlterUserScramCredentialsResponse>() {
  using S = AlterUserScramCredentialsResponse;
  static const StructSpec spec{"AlterUserScramCredentialsResponse", {
      Int32<&S::throttle_time_ms>("ThrottleTimeMs"),
      Array<&S::results>("Results"),
  }};
  return spec;
}

// clang-format on

// ---- Lookup by key, over the types codec.h lists ----
namespace {

template <typename Variant, size_t... I>
const StructSpec* FindSpec(ApiKey key, std::index_sequence<I...>) {
  const StructSpec* found = nullptr;
  auto match = [&](ApiKey candidate, const StructSpec& (*spec)()) {
    if (candidate == key) found = &spec();
  };
  (match(std::variant_alternative_t<I, Variant>::kApiKey,
         &SpecOf<std::variant_alternative_t<I, Variant>>),
   ...);
  return found;
}

}  // namespace

const StructSpec* RequestSpec(ApiKey key) {
  return FindSpec<Request>(key, std::make_index_sequence<std::variant_size_v<Request>>());
}

const StructSpec* ResponseSpec(ApiKey key) {
  return FindSpec<Response>(key, std::make_index_sequence<std::variant_size_v<Response>>());
}

}  // namespace strata::kafka
