// The admin APIs between Kafka's structs and the request layer's
// (notes/issue14-design.md §2.2 "Admin", §3): CreateTopics 3-4,
// DeleteTopics 1-3, CreatePartitions 0-1, DescribeConfigs 1-2,
// AlterConfigs 0-1, IncrementalAlterConfigs 0-1, DeleteRecords 1,
// ElectLeaders 0-2, AlterPartitionReassignments 0,
// ListPartitionReassignments 0, DescribeCluster 0-1, DescribeLogDirs 0-4.
//
// Pure functions, one pair per API: ToRequestLayer(kafka request, version)
// gives what admin_adapter.cc hands request::AdminOps (or
// request::RequestHandlers for DeleteRecords, DescribeCluster and
// DescribeLogDirs), and
// FromRequestLayer(kafka request, answer, version) the Kafka response for
// the layer's answer — the request is there because some answers are laid
// out by it (a resource's type number as the client sent it, the
// partitions a whole-call error is copied to, the topics refused here). The
// rules are the request layer's, as for the gRPC door (admin_service.cc,
// broker_service.cc); the mapping decisions are:
//
//   CreateTopics      NumPartitions/ReplicationFactor -1 stay -1
//                     (metadata::kUseDefault). A config with a null value
//                     is no override (as KRaft's controller reads it). A
//                     partition assigned twice gets an empty replica list,
//                     which the controller refuses (as the gRPC door).
//   CreatePartitions  a topic with non-null Assignments is answered
//                     INVALID_REQUEST here ("manual assignments are not
//                     supported yet": no controller wire carries them) and
//                     never sent; the others are.
//   DescribeConfigs   ResourceType 2 TOPIC and 4 BROKER; any other number
//                     (8 BROKER_LOGGER included) goes as kUnknown, which
//                     AdminOps answers INVALID_REQUEST, and the result
//                     carries the number as it came. ConfigurationKeys null
//                     *or empty* = every key: Kafka 3.x's
//                     ConfigHelper.describeConfigs reads both as "all"
//                     (`configurationKeys == null || isEmpty`). ConfigSource
//                     numbers are Kafka's (= metadata::ConfigSource);
//                     IsSensitive false; synonyms only when asked for.
//   AlterConfigs      AdminOps::AlterConfigs (each resource's dynamic
//                     configs become exactly those given); a null value is
//                     left out, i.e. deleted, as Kafka's legacy AlterConfigs
//                     does.
//   IncrementalAlterConfigs  ConfigOperation 0-3 = SET, DELETE, APPEND,
//                     SUBTRACT; another number is kUnknown, which the
//                     controller refuses for its resource. A null value is
//                     "" (DELETE's is null).
//   both Alter*Configs  a whole-call error (NOT_CONTROLLER, ...) has no field
//                     of its own in Kafka's response: every resource gets it.
//   DeleteRecords     Offset -1 = the high watermark (the handler's rule).
//   ElectLeaders      v0 has no ElectionType: PREFERRED. TopicPartitions
//                     null = every partition, empty = none. The whole-call
//                     error goes in ErrorCode (v1+) and, when no partition
//                     was answered, on every partition asked for (as Kafka's
//                     getErrorResponse). A v0 whole-call error for a null
//                     TopicPartitions has no field to go in: an error status
//                     (the connection closes; the client retries).
//   Alter/ListPartitionReassignments  the top-level ErrorCode and
//                     ErrorMessage are the call's; Replicas null = cancel;
//                     Topics null = every reassignment under way.
//   DescribeCluster   EndpointType (v1) 1 = brokers; any other (2 =
//                     controllers, which are not reachable over this
//                     listener) UNSUPPORTED_ENDPOINT_TYPE (115) with a
//                     message. Brokers: the unfenced ones with an endpoint
//                     on the connection's listener (as Metadata); rack "" =
//                     null. ClusterAuthorizedOperations when asked for:
//                     every cluster operation (no authorizer, as Kafka
//                     without one), else INT32_MIN.
//   DescribeLogDirs   this broker's own log dirs (never forwarded).
//                     Topics null = every partition, empty = none. The
//                     call's error (CLUSTER_AUTHORIZATION_FAILED: Describe
//                     on the cluster refused) goes in ErrorCode from v3;
//                     before, the answer is only empty, as Kafka's. A log
//                     dir's error has no message field (Kafka's has none);
//                     TotalBytes/UsableBytes (v4) -1: unknown.
//
// Everywhere: throttle times 0; error codes are Kafka's numbers
// (strata::ErrorCode); ErrorMessage is null for NONE or an empty message,
// else the message cut to Kafka's 32767-byte STRING limit, so a response
// always encodes. Responses list results in the order the layer gives them
// (its contract: request order), nested by topic in order of first
// appearance where the layer's are flat.
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/kafka/messages.h"
#include "broker/metadata/admin_types.h"
#include "broker/request/admin_ops.h"
#include "broker/request/api.h"
#include "client/common/error_code.h"

namespace strata::kafka {

// Kafka's STRING fields hold at most this many bytes.

// Kafka's cluster operations (AclOperation codes: CREATE 5, ALTER 7,
// DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
// IDEMPOTENT_WRITE 12) as the bitfield a broker without an authorizer
// reports: all of them.
inline constexpr int32_t kClusterAuthorizedOperations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

// The ErrorMessage field for `error` and `message`: null for kNone or an
// empty message; otherwise the message, cut at a UTF-8 character boundary
// to at most kMaxKafkaStringBytes.
std::optional<std::string> ErrorMessageField(ErrorCode error, absl::string_view message);

// --- CreateTopics (19) ---
metadata::CreateTopicsRequest ToRequestLayer(const CreateTopicsRequest& request, int16_t version);
CreateTopicsResponse FromRequestLayer(const CreateTopicsRequest& request,
                                      const metadata::CreateTopicsResponse& answer,
                                      int16_t version);

// --- DeleteTopics (20) ---
metadata::DeleteTopicsRequest ToRequestLayer(const DeleteTopicsRequest& request, int16_t version);
DeleteTopicsResponse FromRequestLayer(const DeleteTopicsRequest& request,
                                      const metadata::DeleteTopicsResponse& answer,
                                      int16_t version);

// --- CreatePartitions (37) ---
// The topics without manual assignments, in request order.
metadata::CreatePartitionsRequest ToRequestLayer(const CreatePartitionsRequest& request,
                                                 int16_t version);
// Whether every topic is refused here (nothing to send; answer at once
// with FromRequestLayer and an empty answer).
bool EveryTopicRefused(const CreatePartitionsRequest& request);
// One result per requested topic, in request order: the refusal for a
// topic with assignments, else the answer's next result.
CreatePartitionsResponse FromRequestLayer(const CreatePartitionsRequest& request,
                                          const metadata::CreatePartitionsResponse& answer,
                                          int16_t version);

// --- DescribeConfigs (32) ---
request::DescribeConfigsRequest ToRequestLayer(const DescribeConfigsRequest& request,
                                               int16_t version);
DescribeConfigsResponse FromRequestLayer(const DescribeConfigsRequest& request,
                                         const request::DescribeConfigsResponse& answer,
                                         int16_t version);

// --- AlterConfigs (33), for AdminOps::AlterConfigs ---
metadata::IncrementalAlterConfigsRequest ToRequestLayer(const AlterConfigsRequest& request,
                                                        int16_t version);
AlterConfigsResponse FromRequestLayer(const AlterConfigsRequest& request,
                                      const metadata::IncrementalAlterConfigsResponse& answer,
                                      int16_t version);

// --- IncrementalAlterConfigs (44) ---
metadata::IncrementalAlterConfigsRequest ToRequestLayer(
    const IncrementalAlterConfigsRequest& request, int16_t version);
IncrementalAlterConfigsResponse FromRequestLayer(
    const IncrementalAlterConfigsRequest& request,
    const metadata::IncrementalAlterConfigsResponse& answer, int16_t version);

// --- DeleteRecords (21), for RequestHandlers::DeleteRecords ---
request::DeleteRecordsRequest ToRequestLayer(const DeleteRecordsRequest& request, int16_t version);
DeleteRecordsResponse FromRequestLayer(const DeleteRecordsRequest& request,
                                       const request::DeleteRecordsResponse& answer,
                                       int16_t version);

// --- ElectLeaders (43) ---
metadata::ElectLeadersRequest ToRequestLayer(const ElectLeadersRequest& request, int16_t version);
// An error status when the answer cannot be carried (see above).
absl::StatusOr<ElectLeadersResponse> FromRequestLayer(const ElectLeadersRequest& request,
                                                      const metadata::ElectLeadersResponse& answer,
                                                      int16_t version);

// --- AlterPartitionReassignments (45) ---
metadata::AlterPartitionReassignmentsRequest ToRequestLayer(
    const AlterPartitionReassignmentsRequest& request, int16_t version);
AlterPartitionReassignmentsResponse FromRequestLayer(
    const AlterPartitionReassignmentsRequest& request,
    const metadata::AlterPartitionReassignmentsResponse& answer, int16_t version);

// --- ListPartitionReassignments (46) ---
request::ListPartitionReassignmentsRequest ToRequestLayer(
    const ListPartitionReassignmentsRequest& request, int16_t version);
ListPartitionReassignmentsResponse FromRequestLayer(
    const ListPartitionReassignmentsRequest& request,
    const request::ListPartitionReassignmentsResponse& answer, int16_t version);

// --- DescribeCluster (60), for RequestHandlers::DescribeCluster({listener}) ---
// The refusal of an EndpointType other than brokers; nullopt: ask the layer.
std::optional<DescribeClusterResponse> RefuseEndpointType(const DescribeClusterRequest& request,
                                                          int16_t version);
DescribeClusterResponse FromRequestLayer(const DescribeClusterRequest& request,
                                         const request::DescribeClusterResponse& answer,
                                         int16_t version);

// --- DescribeLogDirs (35), for RequestHandlers::DescribeLogDirs ---
request::DescribeLogDirsRequest ToRequestLayer(const DescribeLogDirsRequest& request,
                                               int16_t version);
DescribeLogDirsResponse FromRequestLayer(const DescribeLogDirsRequest& request,
                                         const request::DescribeLogDirsResponse& answer,
                                         int16_t version);

}  // namespace strata::kafka
