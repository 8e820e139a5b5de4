// The topic, config, partition and cluster admin APIs between Kafka's
// structs and the request layer (adapter.h; the mapping: admin_adapter.h).
#include "broker/kafka/admin_adapter.h"

#include <climits>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/kafka/adapter.h"
#include "broker/kafka/wire.h"
#include "broker/request/handlers.h"

namespace strata::kafka {
namespace {

int16_t Code(ErrorCode error) { return static_cast<int16_t>(error); }

metadata::ConfigResourceType ResourceType(int8_t type) {
  switch (type) {
    case 2:
      return metadata::ConfigResourceType::kTopic;
    case 4:
      return metadata::ConfigResourceType::kBroker;
    default:
      // BROKER_LOGGER (8) and any number nobody knows: the layer refuses.
      return metadata::ConfigResourceType::kUnknown;
  }
}

metadata::AlterConfigOpType ConfigOperation(int8_t op) {
  switch (op) {
    case 0:
      return metadata::AlterConfigOpType::kSet;
    case 1:
      return metadata::AlterConfigOpType::kDelete;
    case 2:
      return metadata::AlterConfigOpType::kAppend;
    case 3:
      return metadata::AlterConfigOpType::kSubtract;
    default:
      return metadata::AlterConfigOpType::kUnknown;
  }
}

// The resource type number a result names: the one the client sent for
// resource `i`, else the layer's.
int8_t EchoedType(const auto& resources, size_t i, metadata::ConfigResourceType type) {
  return i < resources.size() ? resources[i].resource_type : static_cast<int8_t>(type);
}

// One result per requested resource for both AlterConfigs responses:
// Kafka's have no field for a whole-call error, so every resource gets it.
template <typename KafkaResponse, typename KafkaRequest>
KafkaResponse AlterConfigsResults(const KafkaRequest& request,
                                  const metadata::IncrementalAlterConfigsResponse& answer) {
  KafkaResponse out;
  out.throttle_time_ms = 0;
  if (answer.error != ErrorCode::kNone) {
    for (const auto& r : request.resources) {
      auto& o = out.responses.emplace_back();
      o.error_code = Code(answer.error);
      o.error_message = ErrorMessageField(answer.error, answer.error_message);
      o.resource_type = r.resource_type;
      o.resource_name = r.resource_name;
    }
    return out;
  }
  for (size_t i = 0; i < answer.results.size(); ++i) {
    const metadata::AlterConfigsResult& r = answer.results[i];
    auto& o = out.responses.emplace_back();
    o.error_code = Code(r.error);
    o.error_message = ErrorMessageField(r.error, r.error_message);
    o.resource_type = EchoedType(request.resources, i, r.type);
    o.resource_name = r.name;
  }
  return out;
}

// The element of `list` named `name`, appended when absent; `index` keeps
// the order of first appearance.
template <typename T>
T& ByName(std::vector<T>& list, std::map<std::string, size_t>& index, const std::string& name) {
  auto [it, fresh] = index.try_emplace(name, list.size());
  if (fresh) list.emplace_back().name = name;
  return list[it->second];
}

// --- The adapters: decode, call, reply once ---

absl::Status Missing(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat("no ", what, " for the admin APIs"));
}

absl::StatusOr<std::optional<Response>> AsReply(absl::StatusOr<ElectLeadersResponse> response) {
  if (!response.ok()) return response.status();
  return std::optional<Response>(Response(*std::move(response)));
}
template <typename KafkaResponse>
absl::StatusOr<std::optional<Response>> AsReply(KafkaResponse response) {
  return std::optional<Response>(Response(std::move(response)));
}

// The calls AdminOps routes to the controller (or another node): `op`
// answers on any thread; the Kafka request travels with the callback,
// since FromRequestLayer lays the answer out by it.
template <typename KafkaRequest, typename LayerRequest, typename LayerResponse>
void CallAdmin(const AdapterCall& call, Request request, Reply reply,
               void (request::AdminOps::*op)(LayerRequest, std::function<void(LayerResponse)>)) {
  if (call.deps.admin == nullptr) {
    reply(Missing("AdminOps"));
    return;
  }
  const int16_t version = call.version();
  KafkaRequest kafka = std::get<KafkaRequest>(std::move(request));
  LayerRequest layer = ToRequestLayer(kafka, version);
  // The session's checks in front of the admin operations (authorized.h).
  request::Authorized::Admin admin(call.deps.admin, call.authz());
  (admin.*op)(std::move(layer),
              [kafka = std::move(kafka), version, reply = std::move(reply)](LayerResponse answer) {
                reply(AsReply(FromRequestLayer(kafka, answer, version)));
              });
}

void CreateTopicsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<CreateTopicsRequest>(call, std::move(request), std::move(reply),
                                 &request::AdminOps::CreateTopics);
}

void DeleteTopicsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<DeleteTopicsRequest>(call, std::move(request), std::move(reply),
                                 &request::AdminOps::DeleteTopics);
}

void CreatePartitionsAdapter(const AdapterCall& call, Request request, Reply reply) {
  const CreatePartitionsRequest& kafka = std::get<CreatePartitionsRequest>(request);
  if (EveryTopicRefused(kafka)) {
    reply(AsReply(FromRequestLayer(kafka, metadata::CreatePartitionsResponse{}, call.version())));
    return;
  }
  CallAdmin<CreatePartitionsRequest>(call, std::move(request), std::move(reply),
                                     &request::AdminOps::CreatePartitions);
}

void DescribeConfigsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<DescribeConfigsRequest>(call, std::move(request), std::move(reply),
                                    &request::AdminOps::DescribeConfigs);
}

void AlterConfigsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<AlterConfigsRequest>(call, std::move(request), std::move(reply),
                                 &request::AdminOps::AlterConfigs);
}

void IncrementalAlterConfigsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<IncrementalAlterConfigsRequest>(call, std::move(request), std::move(reply),
                                            &request::AdminOps::IncrementalAlterConfigs);
}

void ElectLeadersAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<ElectLeadersRequest>(call, std::move(request), std::move(reply),
                                 &request::AdminOps::ElectLeaders);
}

void AlterPartitionReassignmentsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<AlterPartitionReassignmentsRequest>(call, std::move(request), std::move(reply),
                                                &request::AdminOps::AlterPartitionReassignments);
}

void ListPartitionReassignmentsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallAdmin<ListPartitionReassignmentsRequest>(call, std::move(request), std::move(reply),
                                               &request::AdminOps::ListPartitionReassignments);
}

// Waits in the purgatory (the handler's), answered on any thread.
void DeleteRecordsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(Missing("request layer"));
    return;
  }
  const int16_t version = call.version();
  DeleteRecordsRequest kafka = std::get<DeleteRecordsRequest>(std::move(request));
  request::DeleteRecordsRequest layer = ToRequestLayer(kafka, version);
  call.authz().DeleteRecords(*call.deps.handlers, std::move(layer),
                             [kafka = std::move(kafka), version,
                              reply = std::move(reply)](request::DeleteRecordsResponse answer) {
                               reply(AsReply(FromRequestLayer(kafka, answer, version)));
                             });
}

// From this node's image, at once.
void DescribeClusterAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(Missing("request layer"));
    return;
  }
  const int16_t version = call.version();
  const DescribeClusterRequest& kafka = std::get<DescribeClusterRequest>(request);
  if (std::optional<DescribeClusterResponse> refused = RefuseEndpointType(kafka, version)) {
    reply(AsReply(*std::move(refused)));
    return;
  }
  request::DescribeClusterResponse answer =
      call.deps.handlers->DescribeCluster({call.context.listener});
  reply(AsReply(FromRequestLayer(kafka, answer, version)));
}

// This broker's own log dirs, at once (never forwarded).
void DescribeLogDirsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(Missing("request layer"));
    return;
  }
  const int16_t version = call.version();
  const DescribeLogDirsRequest& kafka = std::get<DescribeLogDirsRequest>(request);
  request::DescribeLogDirsResponse answer =
      call.authz().DescribeLogDirs(*call.deps.handlers, ToRequestLayer(kafka, version));
  reply(AsReply(FromRequestLayer(kafka, answer, version)));
}

constexpr AdapterRow kAdminAdapters[] = {
    {ApiKey::kCreateTopics, &CreateTopicsAdapter},
    {ApiKey::kDeleteTopics, &DeleteTopicsAdapter},
    {ApiKey::kDeleteRecords, &DeleteRecordsAdapter},
    {ApiKey::kDescribeConfigs, &DescribeConfigsAdapter},
    {ApiKey::kAlterConfigs, &AlterConfigsAdapter},
    {ApiKey::kDescribeLogDirs, &DescribeLogDirsAdapter},
    {ApiKey::kCreatePartitions, &CreatePartitionsAdapter},
    {ApiKey::kElectLeaders, &ElectLeadersAdapter},
    {ApiKey::kIncrementalAlterConfigs, &IncrementalAlterConfigsAdapter},
    {ApiKey::kAlterPartitionReassignments, &AlterPartitionReassignmentsAdapter},
    {ApiKey::kListPartitionReassignments, &ListPartitionReassignmentsAdapter},
    {ApiKey::kDescribeCluster, &DescribeClusterAdapter},
};

}  // namespace

std::optional<std::string> ErrorMessageField(ErrorCode error, absl::string_view message) {
  if (error == ErrorCode::kNone || message.empty()) return std::nullopt;
  return CutToKafkaString(std::string_view(message.data(), message.size()));
}

// --- CreateTopics ---

metadata::CreateTopicsRequest ToRequestLayer(const CreateTopicsRequest& request,
                                             int16_t /*version*/) {
  metadata::CreateTopicsRequest out;
  for (const CreateTopicsRequest::Topic& t : request.topics) {
    metadata::NewTopic& topic = out.topics.emplace_back();
    topic.name = t.name;
    topic.num_partitions = t.num_partitions;          // -1 = kUseDefault
    topic.replication_factor = t.replication_factor;  // -1 = kUseDefault
    for (const CreateTopicsRequest::Config& c : t.configs) {
      if (c.value.has_value()) topic.configs[c.name] = *c.value;
    }
    for (const CreateTopicsRequest::Assignment& a : t.assignments) {
      // A partition listed twice: an empty list the controller refuses.
      auto [it, fresh] = topic.assignments.try_emplace(a.partition_index, a.broker_ids);
      if (!fresh) it->second.clear();
    }
  }
  out.timeout_ms = request.timeout_ms;
  out.validate_only = request.validate_only;
  return out;
}

CreateTopicsResponse FromRequestLayer(const CreateTopicsRequest& /*request*/,
                                      const metadata::CreateTopicsResponse& answer,
                                      int16_t /*version*/) {
  CreateTopicsResponse out;
  out.throttle_time_ms = 0;
  for (const metadata::TopicResult& r : answer.results) {
    out.topics.push_back({.name = r.name,
                          .error_code = Code(r.error),
                          .error_message = ErrorMessageField(r.error, r.error_message)});
  }
  return out;
}

// --- DeleteTopics ---

metadata::DeleteTopicsRequest ToRequestLayer(const DeleteTopicsRequest& request,
                                             int16_t /*version*/) {
  return {.names = request.topic_names, .timeout_ms = request.timeout_ms};
}

DeleteTopicsResponse FromRequestLayer(const DeleteTopicsRequest& /*request*/,
                                      const metadata::DeleteTopicsResponse& answer,
                                      int16_t /*version*/) {
  DeleteTopicsResponse out;
  out.throttle_time_ms = 0;
  for (const metadata::TopicResult& r : answer.results) {
    out.responses.push_back({.name = r.name, .error_code = Code(r.error)});
  }
  return out;
}

// --- CreatePartitions ---

metadata::CreatePartitionsRequest ToRequestLayer(const CreatePartitionsRequest& request,
                                                 int16_t /*version*/) {
  metadata::CreatePartitionsRequest out;
  for (const CreatePartitionsRequest::Topic& t : request.topics) {
    if (t.assignments.has_value()) continue;  // refused in FromRequestLayer
    out.topics.push_back({.name = t.name, .count = t.count});
  }
  out.timeout_ms = request.timeout_ms;
  out.validate_only = request.validate_only;
  return out;
}

bool EveryTopicRefused(const CreatePartitionsRequest& request) {
  if (request.topics.empty()) return false;
  for (const CreatePartitionsRequest::Topic& t : request.topics) {
    if (!t.assignments.has_value()) return false;
  }
  return true;
}

CreatePartitionsResponse FromRequestLayer(const CreatePartitionsRequest& request,
                                          const metadata::CreatePartitionsResponse& answer,
                                          int16_t /*version*/) {
  CreatePartitionsResponse out;
  out.throttle_time_ms = 0;
  size_t next = 0;
  for (const CreatePartitionsRequest::Topic& t : request.topics) {
    CreatePartitionsResponse::Result& result = out.results.emplace_back();
    result.name = t.name;
    if (t.assignments.has_value()) {
      result.error_code = Code(ErrorCode::kInvalidRequest);
      result.error_message = "manual assignments are not supported yet";
      continue;
    }
    if (next >= answer.results.size()) {
      // The layer answers every topic sent; never leave one out.
      result.error_code = Code(ErrorCode::kUnknownServerError);
      result.error_message = "no answer for this topic";
      continue;
    }
    const metadata::TopicResult& r = answer.results[next++];
    result.error_code = Code(r.error);
    result.error_message = ErrorMessageField(r.error, r.error_message);
  }
  return out;
}

// --- DescribeConfigs ---

request::DescribeConfigsRequest ToRequestLayer(const DescribeConfigsRequest& request,
                                               int16_t /*version*/) {
  request::DescribeConfigsRequest out;
  out.include_synonyms = request.include_synonyms;
  for (const DescribeConfigsRequest::Resource& r : request.resources) {
    request::DescribeConfigsResource& res = out.resources.emplace_back();
    res.type = ResourceType(r.resource_type);
    res.name = r.resource_name;
    // Null and empty are both "every key" to Kafka (ConfigHelper).
    if (r.configuration_keys.has_value() && !r.configuration_keys->empty()) {
      res.keys = *r.configuration_keys;
    }
  }
  return out;
}

DescribeConfigsResponse FromRequestLayer(const DescribeConfigsRequest& request,
                                         const request::DescribeConfigsResponse& answer,
                                         int16_t /*version*/) {
  DescribeConfigsResponse out;
  out.throttle_time_ms = 0;
  for (size_t i = 0; i < answer.results.size(); ++i) {
    const request::DescribeConfigsResult& r = answer.results[i];
    DescribeConfigsResponse::Result& result = out.results.emplace_back();
    result.error_code = Code(r.error);
    result.error_message = ErrorMessageField(r.error, r.message);
    result.resource_type = EchoedType(request.resources, i, r.type);
    result.resource_name = r.name;
    for (const metadata::DescribedConfig& c : r.configs) {
      DescribeConfigsResponse::Config& config = result.configs.emplace_back();
      config.name = c.name;
      config.value = c.value;
      config.read_only = c.read_only;
      config.config_source = static_cast<int8_t>(c.source);
      config.is_sensitive = false;
      if (!request.include_synonyms) continue;
      for (const metadata::ConfigSynonym& s : c.synonyms) {
        config.synonyms.push_back(
            {.name = s.name, .value = s.value, .source = static_cast<int8_t>(s.source)});
      }
    }
  }
  return out;
}

// --- AlterConfigs ---

metadata::IncrementalAlterConfigsRequest ToRequestLayer(const AlterConfigsRequest& request,
                                                        int16_t /*version*/) {
  metadata::IncrementalAlterConfigsRequest out;
  out.validate_only = request.validate_only;
  out.replace_all = true;  // AdminOps::AlterConfigs sets it too
  for (const AlterConfigsRequest::Resource& r : request.resources) {
    metadata::AlterConfigsResource& res = out.resources.emplace_back();
    res.type = ResourceType(r.resource_type);
    res.name = r.resource_name;
    for (const AlterConfigsRequest::Config& c : r.configs) {
      // Null: not among the configs the resource keeps, i.e. deleted.
      if (!c.value.has_value()) continue;
      res.ops.push_back(
          {.name = c.name, .op = metadata::AlterConfigOpType::kSet, .value = *c.value});
    }
  }
  return out;
}

AlterConfigsResponse FromRequestLayer(const AlterConfigsRequest& request,
                                      const metadata::IncrementalAlterConfigsResponse& answer,
                                      int16_t /*version*/) {
  return AlterConfigsResults<AlterConfigsResponse>(request, answer);
}

// --- IncrementalAlterConfigs ---

metadata::IncrementalAlterConfigsRequest ToRequestLayer(
    const IncrementalAlterConfigsRequest& request, int16_t /*version*/) {
  metadata::IncrementalAlterConfigsRequest out;
  out.validate_only = request.validate_only;
  out.replace_all = false;
  for (const IncrementalAlterConfigsRequest::Resource& r : request.resources) {
    metadata::AlterConfigsResource& res = out.resources.emplace_back();
    res.type = ResourceType(r.resource_type);
    res.name = r.resource_name;
    for (const IncrementalAlterConfigsRequest::Config& c : r.configs) {
      res.ops.push_back({.name = c.name,
                         .op = ConfigOperation(c.config_operation),
                         .value = c.value.value_or("")});
    }
  }
  return out;
}

IncrementalAlterConfigsResponse FromRequestLayer(
    const IncrementalAlterConfigsRequest& request,
    const metadata::IncrementalAlterConfigsResponse& answer, int16_t /*version*/) {
  return AlterConfigsResults<IncrementalAlterConfigsResponse>(request, answer);
}

// --- DeleteRecords ---

request::DeleteRecordsRequest ToRequestLayer(const DeleteRecordsRequest& request,
                                             int16_t /*version*/) {
  request::DeleteRecordsRequest out;
  out.timeout_ms = request.timeout_ms;
  for (const DeleteRecordsRequest::Topic& t : request.topics) {
    request::DeleteRecordsTopic& topic = out.topics.emplace_back();
    topic.topic = t.name;
    for (const DeleteRecordsRequest::Partition& p : t.partitions) {
      // -1 (the high watermark) is the handler's to read.
      topic.partitions.push_back({.partition = p.partition_index, .offset = p.offset});
    }
  }
  return out;
}

DeleteRecordsResponse FromRequestLayer(const DeleteRecordsRequest& /*request*/,
                                       const request::DeleteRecordsResponse& answer,
                                       int16_t /*version*/) {
  DeleteRecordsResponse out;
  out.throttle_time_ms = 0;
  for (const request::DeleteRecordsTopicResult& t : answer.topics) {
    DeleteRecordsResponse::Topic& topic = out.topics.emplace_back();
    topic.name = t.topic;
    for (const request::DeleteRecordsPartitionResult& p : t.partitions) {
      topic.partitions.push_back({.partition_index = p.partition,
                                  .low_watermark = p.low_watermark,
                                  .error_code = Code(p.error)});
    }
  }
  return out;
}

// --- ElectLeaders ---

metadata::ElectLeadersRequest ToRequestLayer(const ElectLeadersRequest& request, int16_t version) {
  metadata::ElectLeadersRequest out;
  // v0 has no ElectionType: PREFERRED. Any other number goes as it came:
  // the controller refuses one it does not know.
  out.election_type = version == 0 ? metadata::ElectionType::kPreferred
                                   : static_cast<metadata::ElectionType>(request.election_type);
  out.timeout_ms = request.timeout_ms;
  if (request.topic_partitions.has_value()) {
    std::vector<metadata::ElectLeadersTopic>& topics = out.topic_partitions.emplace();
    for (const ElectLeadersRequest::TopicPartitions& tp : *request.topic_partitions) {
      topics.push_back({.topic = tp.topic, .partitions = tp.partitions});
    }
  }
  return out;
}

absl::StatusOr<ElectLeadersResponse> FromRequestLayer(const ElectLeadersRequest& request,
                                                      const metadata::ElectLeadersResponse& answer,
                                                      int16_t version) {
  ElectLeadersResponse out;
  out.throttle_time_ms = 0;
  if (version >= 1) out.error_code = Code(answer.error);
  std::vector<ElectLeadersResponse::ReplicaElectionResult>& topics = out.replica_election_results;
  if (answer.error != ErrorCode::kNone && answer.results.empty()) {
    // The call failed as a whole: every partition asked for says so.
    if (!request.topic_partitions.has_value()) {
      if (version >= 1) return out;
      return absl::UnavailableError(absl::StrCat("ElectLeaders v0 cannot carry ",
                                                 std::string(ErrorName(answer.error)),
                                                 " for every partition: ", answer.error_message));
    }
    const std::optional<std::string> message =
        ErrorMessageField(answer.error, answer.error_message);
    for (const ElectLeadersRequest::TopicPartitions& tp : *request.topic_partitions) {
      ElectLeadersResponse::ReplicaElectionResult& topic = topics.emplace_back();
      topic.topic = tp.topic;
      for (int32_t p : tp.partitions) {
        topic.partition_result.push_back(
            {.partition_id = p, .error_code = Code(answer.error), .error_message = message});
      }
    }
    return out;
  }
  std::map<std::string, size_t> index;
  for (const metadata::PartitionElectionResult& r : answer.results) {
    auto [it, fresh] = index.try_emplace(r.topic, topics.size());
    if (fresh) topics.emplace_back().topic = r.topic;
    topics[it->second].partition_result.push_back(
        {.partition_id = r.partition,
         .error_code = Code(r.error),
         .error_message = ErrorMessageField(r.error, r.error_message)});
  }
  return out;
}

// --- AlterPartitionReassignments ---

metadata::AlterPartitionReassignmentsRequest ToRequestLayer(
    const AlterPartitionReassignmentsRequest& request, int16_t /*version*/) {
  metadata::AlterPartitionReassignmentsRequest out;
  out.timeout_ms = request.timeout_ms;
  for (const AlterPartitionReassignmentsRequest::Topic& t : request.topics) {
    for (const AlterPartitionReassignmentsRequest::Partition& p : t.partitions) {
      // Null replicas cancel the reassignment under way.
      out.partitions.push_back(
          {.topic = t.name, .partition = p.partition_index, .replicas = p.replicas});
    }
  }
  return out;
}

AlterPartitionReassignmentsResponse FromRequestLayer(
    const AlterPartitionReassignmentsRequest& request,
    const metadata::AlterPartitionReassignmentsResponse& answer, int16_t /*version*/) {
  AlterPartitionReassignmentsResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  out.error_message = ErrorMessageField(answer.error, answer.error_message);
  std::map<std::string, size_t> index;
  if (answer.error != ErrorCode::kNone && answer.results.empty()) {
    // The call failed as a whole: every partition asked for says so too.
    for (const AlterPartitionReassignmentsRequest::Topic& t : request.topics) {
      AlterPartitionReassignmentsResponse::Topic& topic = ByName(out.responses, index, t.name);
      for (const AlterPartitionReassignmentsRequest::Partition& p : t.partitions) {
        topic.partitions.push_back({.partition_index = p.partition_index,
                                    .error_code = out.error_code,
                                    .error_message = out.error_message});
      }
    }
    return out;
  }
  for (const metadata::ReassignPartitionResult& r : answer.results) {
    ByName(out.responses, index, r.topic)
        .partitions.push_back({.partition_index = r.partition,
                               .error_code = Code(r.error),
                               .error_message = ErrorMessageField(r.error, r.error_message)});
  }
  return out;
}

// --- ListPartitionReassignments ---

request::ListPartitionReassignmentsRequest ToRequestLayer(
    const ListPartitionReassignmentsRequest& request, int16_t /*version*/) {
  request::ListPartitionReassignmentsRequest out;
  if (request.topics.has_value()) {
    std::vector<request::ListReassignmentsTopic>& topics = out.topics.emplace();
    for (const ListPartitionReassignmentsRequest::Topic& t : *request.topics) {
      topics.push_back({.name = t.name, .partitions = t.partition_indexes});
    }
  }
  return out;
}

ListPartitionReassignmentsResponse FromRequestLayer(
    const ListPartitionReassignmentsRequest& /*request*/,
    const request::ListPartitionReassignmentsResponse& answer, int16_t /*version*/) {
  ListPartitionReassignmentsResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  out.error_message = ErrorMessageField(answer.error, answer.message);
  for (const request::OngoingTopicReassignment& t : answer.topics) {
    ListPartitionReassignmentsResponse::Topic& topic = out.topics.emplace_back();
    topic.name = t.name;
    for (const request::OngoingPartitionReassignment& p : t.partitions) {
      topic.partitions.push_back({.partition_index = p.partition,
                                  .replicas = p.replicas,
                                  .adding_replicas = p.adding_replicas,
                                  .removing_replicas = p.removing_replicas});
    }
  }
  return out;
}

// --- DescribeCluster ---

std::optional<DescribeClusterResponse> RefuseEndpointType(const DescribeClusterRequest& request,
                                                          int16_t /*version*/) {
  if (request.endpoint_type == 1) return std::nullopt;
  DescribeClusterResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(ErrorCode::kUnsupportedEndpointType);
  out.error_message =
      request.endpoint_type == 2
          ? "Controllers are not reachable on this listener; ask for brokers (EndpointType 1)."
          : absl::StrCat("Unsupported endpoint type ", request.endpoint_type,
                         "; ask for brokers (EndpointType 1).");
  return out;
}

DescribeClusterResponse FromRequestLayer(const DescribeClusterRequest& request,
                                         const request::DescribeClusterResponse& answer,
                                         int16_t /*version*/) {
  DescribeClusterResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(ErrorCode::kNone);
  out.endpoint_type = 1;
  out.cluster_id = answer.cluster_id;
  out.controller_id = answer.controller_id;
  for (const request::BrokerDescription& b : answer.brokers) {
    // Clients reach the unfenced brokers with an endpoint on this listener
    // (the one asked for), as Metadata lists them.
    if (b.fenced || b.endpoints.empty()) continue;
    DescribeClusterResponse::Broker& broker = out.brokers.emplace_back();
    broker.broker_id = b.id;
    broker.host = b.endpoints.front().first;
    broker.port = b.endpoints.front().second;
    if (!b.rack.empty()) broker.rack = b.rack;
  }
  out.cluster_authorized_operations =
      request.include_cluster_authorized_operations ? kClusterAuthorizedOperations : INT32_MIN;
  return out;
}

// --- DescribeLogDirs ---

request::DescribeLogDirsRequest ToRequestLayer(const DescribeLogDirsRequest& request,
                                               int16_t /*version*/) {
  request::DescribeLogDirsRequest out;
  if (!request.topics.has_value()) return out;
  std::vector<request::DescribeLogDirsTopic>& topics = out.topics.emplace();
  for (const DescribeLogDirsRequest::Topic& t : *request.topics) {
    topics.push_back({.topic = t.topic, .partitions = t.partitions});
  }
  return out;
}

DescribeLogDirsResponse FromRequestLayer(const DescribeLogDirsRequest& /*request*/,
                                         const request::DescribeLogDirsResponse& answer,
                                         int16_t /*version*/) {
  DescribeLogDirsResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  for (const request::LogDirDescription& d : answer.results) {
    DescribeLogDirsResponse::Result& result = out.results.emplace_back();
    result.error_code = Code(d.error);
    result.log_dir = d.log_dir;
    result.total_bytes = d.total_bytes;
    result.usable_bytes = d.usable_bytes;
    for (const request::LogDirTopic& t : d.topics) {
      DescribeLogDirsResponse::Topic& topic = result.topics.emplace_back();
      topic.name = t.topic;
      for (const request::LogDirPartition& p : t.partitions) {
        topic.partitions.push_back({.partition_index = p.partition,
                                    .partition_size = p.size_bytes,
                                    .offset_lag = p.offset_lag,
                                    .is_future_key = p.is_future});
      }
    }
  }
  return out;
}

absl::Span<const AdapterRow> AdminAdapters() { return kAdminAdapters; }

}  // namespace strata::kafka
