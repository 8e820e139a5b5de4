// The admin calls that change topics and leaders — CreateTopics,
// DeleteTopics, CreatePartitions, ElectLeaders — as the broker's own,
// protocol-neutral requests and responses. metadata::Controller decides
// them; each transport (the gRPC Admin service today, Kafka's binary
// protocol later) decodes its wire message into these and encodes the
// answer back, so no module below broker/server names a wire type.
//
// The shapes follow Kafka's messages (CreateTopicsRequest,
// CreatePartitionsRequest, ElectLeadersRequest, ...) and carry exactly what
// strata.v1's admin messages carry. Errors are strata::ErrorCode, in Kafka's
// numbering, mapped to a wire only at its edge. Plain values: copyable,
// no invariants beyond the comments.
//
// Also here: AlterPartitionReassignments (KIP-455), UnregisterBroker and
// IncrementalAlterConfigs (legacy AlterConfigs travels as one, with
// replace_all). The security calls (ACLs, SCRAM credentials, client
// quotas) have theirs in security_admin.h. Not here (yet): manual replica assignments on
// CreatePartitions, which no transport of ours carries.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "broker/metadata/metadata_image.h"
#include "client/common/error_code.h"

namespace strata::metadata {

// A num_partitions or replication_factor that asks for the broker's
// default (num.partitions, default.replication.factor), as in Kafka.
inline constexpr int32_t kUseDefault = -1;

// One topic's outcome, for every topic-changing call.
struct TopicResult {
  std::string name;
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  // Set when known: the new topic's id (not for validate_only), the
  // existing topic's id otherwise.
  std::string topic_id;
  // The topic's partition count and replication factor after the call; 0
  // when the call failed before they were decided.
  int32_t num_partitions = 0;
  int32_t replication_factor = 0;
};

// --- CreateTopics ---

struct NewTopic {
  std::string name;
  int32_t num_partitions = kUseDefault;
  int32_t replication_factor = kUseDefault;
  // Topic-level config overrides. Sorted, so the records the controller
  // writes for them come out in the same order on every run.
  std::map<std::string, std::string> configs;
  // Kafka's manual assignment: partition id -> replicas (the first the
  // preferred leader). When given, num_partitions and replication_factor
  // must be kUseDefault: they follow from it.
  std::map<int32_t, std::vector<int32_t>> assignments;
};

struct CreateTopicsRequest {
  std::vector<NewTopic> topics;
  int32_t timeout_ms = 0;  // carried from the wire; the server bounds its own waits
  bool validate_only = false;
  // From a broker creating an internal topic (__consumer_offsets) on first
  // need; clients may not create internal topics.
  bool internal = false;
};

struct CreateTopicsResponse {
  std::vector<TopicResult> results;  // one per topic asked for, in order
};

// --- DeleteTopics ---

struct DeleteTopicsRequest {
  std::vector<std::string> names;
  int32_t timeout_ms = 0;
};

struct DeleteTopicsResponse {
  std::vector<TopicResult> results;
};

// --- CreatePartitions ---

struct CreatePartitionsTopic {
  std::string name;
  int32_t count = 0;  // the new total; partitions can only be increased
};

struct CreatePartitionsRequest {
  std::vector<CreatePartitionsTopic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
};

struct CreatePartitionsResponse {
  std::vector<TopicResult> results;
};

// --- ElectLeaders (KIP-460) ---

// PREFERRED moves leadership to the first replica when it is live and in
// sync; UNCLEAN elects a live replica outside the ISR for a partition that
// has no leader. Kafka's numbers. A value read off a wire may be neither:
// the controller refuses it with INVALID_REQUEST, so keep the number.
enum class ElectionType : int32_t {
  kPreferred = 0,
  kUnclean = 1,
};

struct ElectLeadersTopic {
  std::string topic;
  std::vector<int32_t> partitions;
};

struct ElectLeadersRequest {
  ElectionType election_type = ElectionType::kPreferred;
  // nullopt: every partition of every topic; empty: none (Kafka's null and
  // empty TopicPartitions).
  std::optional<std::vector<ElectLeadersTopic>> topic_partitions;
  int32_t timeout_ms = 0;
};

struct PartitionElectionResult {
  std::string topic;
  int32_t partition = 0;
  // kNone: elected; kElectionNotNeeded: already led by the right replica.
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  int32_t leader = -1;  // the leader after the call
};

struct ElectLeadersResponse {
  ErrorCode error = ErrorCode::kNone;  // for the request as a whole (NOT_CONTROLLER, ...)
  std::string error_message;
  std::vector<PartitionElectionResult> results;
};

// --- AlterPartitionReassignments (KIP-455) ---

struct ReassignPartition {
  std::string topic;
  int32_t partition = 0;
  // The target replicas, the first the preferred leader; nullopt cancels
  // the reassignment under way (Kafka's null replicas).
  std::optional<std::vector<int32_t>> replicas;
};

struct AlterPartitionReassignmentsRequest {
  std::vector<ReassignPartition> partitions;
  int32_t timeout_ms = 0;
};

struct ReassignPartitionResult {
  std::string topic;
  int32_t partition = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
};

struct AlterPartitionReassignmentsResponse {
  ErrorCode error = ErrorCode::kNone;  // for the request as a whole (NOT_CONTROLLER, ...)
  std::string error_message;
  std::vector<ReassignPartitionResult> results;  // one per partition asked for, in order
};

// --- UnregisterBroker (KIP-631) ---

struct UnregisterBrokerRequest {
  int32_t broker_id = -1;
};

struct UnregisterBrokerResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
};

// --- IncrementalAlterConfigs ---

enum class ConfigResourceType { kUnknown = 0, kTopic = 2, kBroker = 4 };

// Kafka's AlterConfigOp.OpType, in its numbering.
enum class AlterConfigOpType {
  kSet = 0,       // to `value`
  kDelete = 1,    // back to the level below
  kAppend = 2,    // a list config: `value`'s comma-separated items not in it yet
  kSubtract = 3,  // a list config: without `value`'s comma-separated items
  kUnknown = -1,  // any other number a client sent; refused
};

struct AlterConfigOp {
  std::string name;
  AlterConfigOpType op = AlterConfigOpType::kSet;
  std::string value;
};

struct AlterConfigsResource {
  ConfigResourceType type = ConfigResourceType::kUnknown;
  // A topic name; a broker id, or "" for the cluster-wide broker default.
  std::string name;
  std::vector<AlterConfigOp> ops;
};

struct IncrementalAlterConfigsRequest {
  std::vector<AlterConfigsResource> resources;
  bool validate_only = false;
  // Kafka's legacy AlterConfigs: every op is a SET, and each resource's
  // dynamic configs that no op names are deleted.
  bool replace_all = false;
};

struct AlterConfigsResult {
  ConfigResourceType type = ConfigResourceType::kUnknown;
  std::string name;
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
};

struct IncrementalAlterConfigsResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::vector<AlterConfigsResult> results;  // one per resource, in order
};

// Which broker configs are dynamic, and their checks: dynamic_config.h.

// --- Helpers for whoever routes these calls (each transport) ---

inline std::vector<std::string> TopicNamesOf(const CreateTopicsRequest& r) {
  std::vector<std::string> out;
  for (const NewTopic& t : r.topics) out.push_back(t.name);
  return out;
}
inline std::vector<std::string> TopicNamesOf(const DeleteTopicsRequest& r) { return r.names; }
inline std::vector<std::string> TopicNamesOf(const CreatePartitionsRequest& r) {
  std::vector<std::string> out;
  for (const CreatePartitionsTopic& t : r.topics) out.push_back(t.name);
  return out;
}

// Replaces `results` with `code` and `message` for every topic named: the
// answer when a call cannot be decided or committed at all.
inline void FailEveryTopic(const std::vector<std::string>& names, ErrorCode code,
                           const std::string& message, std::vector<TopicResult>* results) {
  results->clear();
  for (const std::string& name : names) {
    TopicResult& r = results->emplace_back();
    r.name = name;
    r.error = code;
    r.error_message = message;
  }
}

// Whether the result for topic `name` is a success (false when absent).
inline bool TopicSucceeded(const std::vector<TopicResult>& results, const std::string& name) {
  for (const TopicResult& r : results) {
    if (r.name == name) return r.error == ErrorCode::kNone;
  }
  return false;
}

// Fills `response` for a call that could not be decided or committed at
// all (no controller, a lost forward, a commit timeout): `code` and
// `message` for every topic named, or for an election request as a whole.
template <typename Request, typename Response>
void FailWhole(const Request& request, ErrorCode code, const std::string& message,
               Response* response) {
  FailEveryTopic(TopicNamesOf(request), code, message, &response->results);
}
// Calls answered as a whole rather than per topic: the error goes on the
// response itself.
template <typename Response>
void FailResponse(Response* response, ErrorCode code, const std::string& message) {
  response->error = code;
  response->error_message = message;
}
template <typename Request, typename Response>
requires requires(Response r) { r.error_message; }
void FailWhole(const Request&, ErrorCode code, const std::string& message, Response* response) {
  FailResponse(response, code, message);
}

// Whether a node's `image` shows every change `response` reports as made
// for `request` — the point at which the node answers, so that a client
// asking it next reads its own write. True at once for validate_only.
inline bool ImageShows(const MetadataImage& image, const CreateTopicsRequest& request,
                       const CreateTopicsResponse& response) {
  if (request.validate_only) return true;
  for (const std::string& name : TopicNamesOf(request)) {
    if (TopicSucceeded(response.results, name) && image.FindTopic(name) == nullptr) return false;
  }
  return true;
}
inline bool ImageShows(const MetadataImage& image, const DeleteTopicsRequest& request,
                       const DeleteTopicsResponse& response) {
  for (const std::string& name : request.names) {
    if (TopicSucceeded(response.results, name) && image.FindTopic(name) != nullptr) return false;
  }
  return true;
}
inline bool ImageShows(const MetadataImage& image, const CreatePartitionsRequest& request,
                       const CreatePartitionsResponse& response) {
  if (request.validate_only) return true;
  std::map<std::string, int32_t> wanted;
  for (const CreatePartitionsTopic& t : request.topics) wanted[t.name] = t.count;
  for (const auto& [name, count] : wanted) {
    if (!TopicSucceeded(response.results, name)) continue;
    const TopicInfo* t = image.FindTopic(name);
    if (t == nullptr || static_cast<int32_t>(t->partitions.size()) < count) return false;
  }
  return true;
}
inline bool ImageShows(const MetadataImage& image, const ElectLeadersRequest& /*request*/,
                       const ElectLeadersResponse& response) {
  for (const PartitionElectionResult& r : response.results) {
    if (r.error != ErrorCode::kNone) continue;
    const PartitionInfo* p = image.FindPartition(r.topic, r.partition);
    if (p != nullptr && p->leader != r.leader) return false;
  }
  return true;
}

inline bool ImageShows(const MetadataImage& image,
                       const AlterPartitionReassignmentsRequest& request,
                       const AlterPartitionReassignmentsResponse& response) {
  for (size_t i = 0; i < request.partitions.size() && i < response.results.size(); ++i) {
    if (response.results[i].error != ErrorCode::kNone) continue;
    const ReassignPartition& r = request.partitions[i];
    const PartitionInfo* p = image.FindPartition(r.topic, r.partition);
    if (p == nullptr) continue;
    if (!r.replicas.has_value()) {
      if (p->reassigning()) return false;
    } else if (p->target_replicas() != *r.replicas) {
      return false;
    }
  }
  return true;
}
inline bool ImageShows(const MetadataImage& image, const UnregisterBrokerRequest& request,
                       const UnregisterBrokerResponse& response) {
  return response.error != ErrorCode::kNone || image.broker(request.broker_id) == nullptr;
}
inline bool ImageShows(const MetadataImage& image, const IncrementalAlterConfigsRequest& request,
                       const IncrementalAlterConfigsResponse& response) {
  if (request.validate_only) return true;
  for (size_t i = 0; i < request.resources.size() && i < response.results.size(); ++i) {
    if (response.results[i].error != ErrorCode::kNone) continue;
    const AlterConfigsResource& r = request.resources[i];
    const std::map<std::string, std::string>* configs = nullptr;
    if (r.type == ConfigResourceType::kTopic) {
      const TopicInfo* t = image.FindTopic(r.name);
      if (t == nullptr) continue;
      configs = &t->configs;
    } else {
      auto it = image.broker_configs().find(r.name);
      static const std::map<std::string, std::string> kNone;
      configs = it == image.broker_configs().end() ? &kNone : &it->second;
    }
    for (const AlterConfigOp& op : r.ops) {
      auto it = configs->find(op.name);
      const bool set = it != configs->end();
      switch (op.op) {
        case AlterConfigOpType::kSet:
          if (!set || it->second != op.value) return false;
          break;
        case AlterConfigOpType::kDelete:
          if (set) return false;
          break;
        case AlterConfigOpType::kAppend:
        case AlterConfigOpType::kSubtract: {
          // Each item is in the list (APPEND) or not (SUBTRACT).
          std::vector<absl::string_view> items;
          if (set) items = absl::StrSplit(it->second, ',');
          for (absl::string_view item : absl::StrSplit(op.value, ',', absl::SkipEmpty())) {
            const bool in = std::find(items.begin(), items.end(), item) != items.end();
            if (in != (op.op == AlterConfigOpType::kAppend)) return false;
          }
          break;
        }
        case AlterConfigOpType::kUnknown:
          break;
      }
    }
    // Replaced: nothing else is left.
    if (request.replace_all) {
      for (const auto& [name, value] : *configs) {
        if (std::none_of(r.ops.begin(), r.ops.end(),
                         [&](const AlterConfigOp& op) { return op.name == name; })) {
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace strata::metadata
