#include "broker/server/admin_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/metadata/admin_types.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/server/wire_errors.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

constexpr absl::Duration kImageWait = absl::Seconds(3);
constexpr auto kForwardTimeout = std::chrono::seconds(30);

// --- The edge: strata.v1's admin messages <-> the broker's own types ---
// Field for field; nothing is dropped either way.

metadata::CreateTopicsRequest Decode(const v1::CreateTopicsRequest& in) {
  metadata::CreateTopicsRequest out;
  for (const v1::NewTopic& t : in.topics()) {
    metadata::NewTopic& nt = out.topics.emplace_back(metadata::NewTopic{
        .name = t.name(),
        .num_partitions = t.num_partitions(),
        .replication_factor = t.replication_factor(),
        .configs = {t.configs().begin(), t.configs().end()},
        .assignments = {},
    });
    for (const v1::ReplicaAssignment& a : t.assignments()) {
      // A partition listed twice: an empty list the controller refuses.
      auto [it, fresh] =
          nt.assignments.try_emplace(a.partition(), a.broker_ids().begin(), a.broker_ids().end());
      if (!fresh) it->second.clear();
    }
  }
  out.timeout_ms = in.timeout_ms();
  out.validate_only = in.validate_only();
  return out;
}

metadata::DeleteTopicsRequest Decode(const v1::DeleteTopicsRequest& in) {
  return metadata::DeleteTopicsRequest{
      .names = {in.names().begin(), in.names().end()},
      .timeout_ms = in.timeout_ms(),
  };
}

metadata::CreatePartitionsRequest Decode(const v1::CreatePartitionsRequest& in) {
  metadata::CreatePartitionsRequest out;
  for (const v1::PartitionCount& t : in.topics()) {
    out.topics.push_back(metadata::CreatePartitionsTopic{.name = t.name(), .count = t.count()});
  }
  out.timeout_ms = in.timeout_ms();
  out.validate_only = in.validate_only();
  return out;
}

metadata::ElectLeadersRequest Decode(const v1::ElectLeadersRequest& in) {
  metadata::ElectLeadersRequest out;
  // Any number, as it came: the controller refuses one it does not know.
  out.election_type = static_cast<metadata::ElectionType>(in.election_type());
  out.timeout_ms = in.timeout_ms();
  // On this API an empty list is every partition (proto3 cannot carry
  // Kafka's null apart from empty): nullopt.
  if (in.topic_partitions().empty()) return out;
  std::vector<metadata::ElectLeadersTopic>& topics = out.topic_partitions.emplace();
  for (const v1::ElectLeadersPartitions& tp : in.topic_partitions()) {
    topics.push_back(metadata::ElectLeadersTopic{
        .topic = tp.topic(),
        .partitions = {tp.partitions().begin(), tp.partitions().end()},
    });
  }
  return out;
}

// The topic-changing responses: one TopicResult per topic.
template <typename WireResponse>
std::vector<metadata::TopicResult> DecodeResults(const WireResponse& in) {
  std::vector<metadata::TopicResult> out;
  for (const v1::TopicResult& r : in.results()) {
    out.push_back(metadata::TopicResult{
        .name = r.name(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
        .topic_id = r.topic_id(),
        .num_partitions = r.num_partitions(),
        .replication_factor = r.replication_factor(),
    });
  }
  return out;
}

template <typename WireResponse>
void EncodeResults(const std::vector<metadata::TopicResult>& in, WireResponse* out) {
  for (const metadata::TopicResult& r : in) {
    v1::TopicResult* t = out->add_results();
    t->set_name(r.name);
    t->set_error(ToProto(r.error));
    t->set_error_message(r.error_message);
    t->set_topic_id(r.topic_id);
    t->set_num_partitions(r.num_partitions);
    t->set_replication_factor(r.replication_factor);
  }
}

metadata::CreateTopicsResponse Decode(const v1::CreateTopicsResponse& in) {
  return {.results = DecodeResults(in)};
}
metadata::DeleteTopicsResponse Decode(const v1::DeleteTopicsResponse& in) {
  return {.results = DecodeResults(in)};
}
metadata::CreatePartitionsResponse Decode(const v1::CreatePartitionsResponse& in) {
  return {.results = DecodeResults(in)};
}

void Encode(const metadata::CreateTopicsResponse& in, v1::CreateTopicsResponse* out) {
  EncodeResults(in.results, out);
}
void Encode(const metadata::DeleteTopicsResponse& in, v1::DeleteTopicsResponse* out) {
  EncodeResults(in.results, out);
}
void Encode(const metadata::CreatePartitionsResponse& in, v1::CreatePartitionsResponse* out) {
  EncodeResults(in.results, out);
}

metadata::ElectLeadersResponse Decode(const v1::ElectLeadersResponse& in) {
  metadata::ElectLeadersResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::PartitionElectionResult& r : in.results()) {
    out.results.push_back(metadata::PartitionElectionResult{
        .topic = r.topic(),
        .partition = r.partition(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
        .leader = r.leader(),
    });
  }
  return out;
}

void Encode(const metadata::ElectLeadersResponse& in, v1::ElectLeadersResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::PartitionElectionResult& r : in.results) {
    v1::PartitionElectionResult* e = out->add_results();
    e->set_topic(r.topic);
    e->set_partition(r.partition);
    e->set_error(ToProto(r.error));
    e->set_error_message(r.error_message);
    e->set_leader(r.leader);
  }
}

// --- Reassignment, unregistration, configs ---

metadata::AlterPartitionReassignmentsRequest Decode(
    const v1::AlterPartitionReassignmentsRequest& in) {
  metadata::AlterPartitionReassignmentsRequest out;
  out.timeout_ms = in.timeout_ms();
  for (const v1::ReassignableTopic& t : in.topics()) {
    for (const v1::ReassignablePartition& p : t.partitions()) {
      metadata::ReassignPartition& r = out.partitions.emplace_back();
      r.topic = t.name();
      r.partition = p.partition();
      if (!p.cancel()) r.replicas.emplace(p.replicas().begin(), p.replicas().end());
    }
  }
  return out;
}

metadata::AlterPartitionReassignmentsResponse Decode(
    const v1::AlterPartitionReassignmentsResponse& in) {
  metadata::AlterPartitionReassignmentsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::ReassignableTopicResponse& t : in.responses()) {
    for (const v1::ReassignablePartitionResponse& p : t.partitions()) {
      out.results.push_back(metadata::ReassignPartitionResult{
          .topic = t.name(),
          .partition = p.partition(),
          .error = FromProto(p.error()),
          .error_message = p.error_message(),
      });
    }
  }
  return out;
}

void Encode(const metadata::AlterPartitionReassignmentsResponse& in,
            v1::AlterPartitionReassignmentsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  // Kafka's shape: results grouped by topic, in the order topics first appear.
  std::map<std::string, v1::ReassignableTopicResponse*> topics;
  for (const metadata::ReassignPartitionResult& r : in.results) {
    v1::ReassignableTopicResponse*& t = topics[r.topic];
    if (t == nullptr) {
      t = out->add_responses();
      t->set_name(r.topic);
    }
    v1::ReassignablePartitionResponse* p = t->add_partitions();
    p->set_partition(r.partition);
    p->set_error(ToProto(r.error));
    p->set_error_message(r.error_message);
  }
}

metadata::UnregisterBrokerRequest Decode(const v1::UnregisterBrokerRequest& in) {
  return {.broker_id = in.broker_id()};
}
metadata::UnregisterBrokerResponse Decode(const v1::UnregisterBrokerResponse& in) {
  return {.error = FromProto(in.error()), .error_message = in.error_message()};
}
void Encode(const metadata::UnregisterBrokerResponse& in, v1::UnregisterBrokerResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
}

metadata::ConfigResourceType Decode(v1::ConfigResourceType type) {
  switch (type) {
    case v1::CONFIG_RESOURCE_TOPIC:
      return metadata::ConfigResourceType::kTopic;
    case v1::CONFIG_RESOURCE_BROKER:
      return metadata::ConfigResourceType::kBroker;
    default:
      return metadata::ConfigResourceType::kUnknown;
  }
}
v1::ConfigResourceType Encode(metadata::ConfigResourceType type) {
  switch (type) {
    case metadata::ConfigResourceType::kTopic:
      return v1::CONFIG_RESOURCE_TOPIC;
    case metadata::ConfigResourceType::kBroker:
      return v1::CONFIG_RESOURCE_BROKER;
    default:
      return v1::CONFIG_RESOURCE_UNKNOWN;
  }
}

metadata::AlterConfigOpType DecodeOp(int op) {
  switch (op) {
    case v1::CONFIG_SET:
      return metadata::AlterConfigOpType::kSet;
    case v1::CONFIG_DELETE:
      return metadata::AlterConfigOpType::kDelete;
    case v1::CONFIG_APPEND:
      return metadata::AlterConfigOpType::kAppend;
    case v1::CONFIG_SUBTRACT:
      return metadata::AlterConfigOpType::kSubtract;
    default:
      // The controller refuses it.
      return metadata::AlterConfigOpType::kUnknown;
  }
}

metadata::IncrementalAlterConfigsRequest Decode(const v1::IncrementalAlterConfigsRequest& in) {
  metadata::IncrementalAlterConfigsRequest out;
  out.validate_only = in.validate_only();
  out.replace_all = in.replace_all();
  for (const v1::AlterConfigsResource& r : in.resources()) {
    metadata::AlterConfigsResource& res = out.resources.emplace_back();
    res.type = Decode(r.resource_type());
    res.name = r.resource_name();
    for (const v1::AlterableConfig& c : r.configs()) {
      res.ops.push_back({.name = c.name(), .op = DecodeOp(c.op()), .value = c.value()});
    }
  }
  return out;
}

metadata::IncrementalAlterConfigsResponse Decode(const v1::IncrementalAlterConfigsResponse& in) {
  metadata::IncrementalAlterConfigsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::AlterConfigsResourceResponse& r : in.responses()) {
    out.results.push_back(metadata::AlterConfigsResult{
        .type = Decode(r.resource_type()),
        .name = r.resource_name(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
    });
  }
  return out;
}

void Encode(const metadata::IncrementalAlterConfigsResponse& in,
            v1::IncrementalAlterConfigsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::AlterConfigsResult& r : in.results) {
    v1::AlterConfigsResourceResponse* o = out->add_responses();
    o->set_resource_type(Encode(r.type));
    o->set_resource_name(r.name);
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
  }
}

// Legacy AlterConfigs as the IncrementalAlterConfigs that does the same:
// SETs with replace_all, which the controller decides.
v1::IncrementalAlterConfigsRequest AsIncremental(const v1::AlterConfigsRequest& in) {
  v1::IncrementalAlterConfigsRequest out;
  out.set_validate_only(in.validate_only());
  out.set_replace_all(true);
  for (const v1::AlterConfigsRequestResource& r : in.resources()) {
    v1::AlterConfigsResource* res = out.add_resources();
    res->set_resource_type(r.resource_type());
    res->set_resource_name(r.resource_name());
    for (const v1::AlterConfigsValue& c : r.configs()) {
      v1::AlterableConfig* op = res->add_configs();
      op->set_name(c.name());
      op->set_op(v1::CONFIG_SET);
      op->set_value(c.value());
    }
  }
  return out;
}

void Encode(const metadata::IncrementalAlterConfigsResponse& in, v1::AlterConfigsResponse* out) {
  v1::IncrementalAlterConfigsResponse incremental;
  Encode(in, &incremental);
  out->set_error(incremental.error());
  out->set_error_message(incremental.error_message());
  out->mutable_responses()->Swap(incremental.mutable_responses());
}

v1::ConfigSource Encode(metadata::ConfigSource source) {
  switch (source) {
    case metadata::ConfigSource::kDynamicTopic:
      return v1::DYNAMIC_TOPIC_CONFIG;
    case metadata::ConfigSource::kDynamicBroker:
      return v1::DYNAMIC_BROKER_CONFIG;
    case metadata::ConfigSource::kDynamicDefaultBroker:
      return v1::DYNAMIC_DEFAULT_BROKER_CONFIG;
    case metadata::ConfigSource::kStaticBroker:
      return v1::STATIC_BROKER_CONFIG;
    case metadata::ConfigSource::kDefault:
      return v1::DEFAULT_CONFIG;
    case metadata::ConfigSource::kUnknown:
      break;
  }
  return v1::CONFIG_SOURCE_UNKNOWN;
}

// The described configs the request asks for (`keys` empty: all).
void Encode(const std::vector<metadata::DescribedConfig>& configs,
            const google::protobuf::RepeatedPtrField<std::string>& keys, bool synonyms,
            v1::DescribeConfigsResult* out) {
  for (const metadata::DescribedConfig& c : configs) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), c.name) == keys.end()) continue;
    v1::ConfigEntry* e = out->add_configs();
    e->set_name(c.name);
    e->set_value(c.value);
    e->set_is_default(c.source == metadata::ConfigSource::kDefault);
    e->set_source(Encode(c.source));
    e->set_is_sensitive(false);
    e->set_read_only(c.read_only);
    if (!synonyms) continue;
    for (const metadata::ConfigSynonym& syn : c.synonyms) {
      v1::ConfigSynonym* o = e->add_synonyms();
      o->set_name(syn.name);
      o->set_value(syn.value);
      o->set_source(Encode(syn.source));
    }
  }
}

// gRPC metadata on a DescribeConfigs one node forwards to another: the
// receiver answers itself, never forwards again (an image that is behind
// could otherwise send it round).
constexpr char kForwardedHeader[] = "strata-forwarded";

v1::PartitionState Encode(metadata::PartitionState state) {
  switch (state) {
    case metadata::PartitionState::kNonExistent:
      return v1::PARTITION_NON_EXISTENT;
    case metadata::PartitionState::kNew:
      return v1::PARTITION_NEW;
    case metadata::PartitionState::kOnline:
      return v1::PARTITION_ONLINE;
    case metadata::PartitionState::kOffline:
      return v1::PARTITION_OFFLINE;
  }
  LOG(FATAL) << "unknown partition state " << static_cast<int>(state);
}

v1::ReplicaState Encode(metadata::ReplicaState state) {
  switch (state) {
    case metadata::ReplicaState::kNonExistent:
      return v1::REPLICA_NON_EXISTENT;
    case metadata::ReplicaState::kNew:
      return v1::REPLICA_NEW;
    case metadata::ReplicaState::kOnline:
      return v1::REPLICA_ONLINE;
    case metadata::ReplicaState::kOffline:
      return v1::REPLICA_OFFLINE;
  }
  LOG(FATAL) << "unknown replica state " << static_cast<int>(state);
}

}  // namespace

AdminService::AdminService(const ServerConfig& config, MetadataStateMachine* metadata,
                           QuorumController* controller, raft::RaftNode* raft,
                           ControllerChannel* controller_channel,
                           request::RequestHandlers* handlers)
    : config_(config),
      metadata_(metadata),
      controller_(controller),
      raft_(raft),
      controller_channel_(controller_channel),
      handlers_(handlers) {}

internal::Controller::Stub* AdminService::ControllerStub(int32_t* leader) {
  internal::Controller::Stub* stub = controller_channel_->controller(leader);
  // This node is the controller: the request is decided here, not forwarded.
  return *leader == config_.node_id ? nullptr : stub;
}

void AdminService::AwaitImage(const std::function<bool(const metadata::MetadataImage&)>& done) {
  metadata_->WaitFor(done, kImageWait);
}

template <typename WireResponse, typename Request, typename Response, typename WireRequest,
          typename Forward>
void AdminService::Route(const WireRequest* wire, Request request,
                         void (QuorumController::*decide)(Request, std::function<void(Response)>),
                         Forward forward, std::function<void(Response)> finish) {
  int32_t leader = -1;
  internal::Controller::Stub* stub = ControllerStub(&leader);
  if (leader == config_.node_id) {
    (controller_->*decide)(std::move(request), std::move(finish));
  } else if (stub != nullptr) {
    struct Call {
      grpc::ClientContext context;
      WireResponse response;
    };
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + kForwardTimeout);
    forward(
        stub, &call->context, wire, &call->response,
        [call, request = std::move(request), finish = std::move(finish), leader](grpc::Status s) {
          Response response = Decode(call->response);
          if (!s.ok()) {
            // A timeout may have committed: not retriable as it stands.
            const bool timed_out = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                                   s.error_code() == grpc::StatusCode::CANCELLED;
            metadata::FailWhole(request,
                                timed_out ? ErrorCode::kRequestTimedOut : ErrorCode::kNotController,
                                absl::StrCat("the controller (node ", leader,
                                             ") did not answer: ", s.error_message()),
                                &response);
          }
          finish(std::move(response));
          delete call;
        });
  } else {
    Response failed;
    metadata::FailWhole(request, ErrorCode::kNotController,
                        "no controller is elected yet; retry shortly", &failed);
    finish(std::move(failed));
  }
}

template <typename Request, typename Response, typename WireRequest, typename WireResponse,
          typename Forward>
grpc::ServerUnaryReactor* AdminService::RouteToController(
    grpc::CallbackServerContext* ctx, const WireRequest* wire, WireResponse* out,
    void (QuorumController::*decide)(Request, std::function<void(Response)>), Forward forward) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Request request = Decode(*wire);
  // Answers once this node's image shows every change that succeeded, so a
  // client asking this node next sees it.
  auto finish = [this, reactor, out, request](Response result) {
    AwaitImage([&](const metadata::MetadataImage& image) {
      return metadata::ImageShows(image, request, result);
    });
    Encode(result, out);
    reactor->Finish(grpc::Status::OK);
  };
  Route<WireResponse>(wire, std::move(request), decide, std::move(forward),
                      std::function<void(Response)>(std::move(finish)));
  return reactor;
}

void AdminService::CreateInternalTopics(metadata::CreateTopicsRequest request,
                                        std::function<void(metadata::CreateTopicsResponse)> done) {
  request.internal = true;
  CreateTopicsForBroker(std::move(request), std::move(done));
}

void AdminService::CreateTopics(metadata::CreateTopicsRequest request,
                                std::function<void(metadata::CreateTopicsResponse)> done) {
  request.internal = false;
  CreateTopicsForBroker(std::move(request), std::move(done));
}

void AdminService::CreateTopicsForBroker(metadata::CreateTopicsRequest request,
                                         std::function<void(metadata::CreateTopicsResponse)> done) {
  auto wire = std::make_shared<v1::CreateTopicsRequest>();
  for (const metadata::NewTopic& t : request.topics) {
    v1::NewTopic* nt = wire->add_topics();
    nt->set_name(t.name);
    nt->set_num_partitions(t.num_partitions);
    nt->set_replication_factor(t.replication_factor);
    for (const auto& [k, v] : t.configs) (*nt->mutable_configs())[k] = v;
  }
  const bool internal = request.internal;
  Route<v1::CreateTopicsResponse>(
      wire.get(), std::move(request), &QuorumController::CreateTopics,
      [internal](auto* stub, auto* context, auto* req, auto* resp, auto finish) {
        if (internal) {
          stub->async()->CreateInternalTopics(context, req, resp, std::move(finish));
        } else {
          stub->async()->CreateTopics(context, req, resp, std::move(finish));
        }
      },
      std::function<void(metadata::CreateTopicsResponse)>(
          [wire, done = std::move(done)](metadata::CreateTopicsResponse r) {
            done(std::move(r));
          }));
}

grpc::ServerUnaryReactor* AdminService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateTopicsRequest* request,
                                                     v1::CreateTopicsResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::CreateTopics,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->CreateTopics(context, req, resp, std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteTopicsRequest* request,
                                                     v1::DeleteTopicsResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::DeleteTopics,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->DeleteTopics(context, req, resp, std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                     const v1::ElectLeadersRequest* request,
                                                     v1::ElectLeadersResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::ElectLeaders,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->ElectLeaders(context, req, resp, std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::AlterPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
    v1::AlterPartitionReassignmentsResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::AlterPartitionReassignments,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->AlterPartitionReassignments(context, req, resp,
                                                                        std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::UnregisterBroker(grpc::CallbackServerContext* ctx,
                                                         const v1::UnregisterBrokerRequest* request,
                                                         v1::UnregisterBrokerResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::UnregisterBroker,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->UnregisterBroker(context, req, resp, std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::IncrementalAlterConfigs(
    grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
    v1::IncrementalAlterConfigsResponse* response) {
  auto refuse = [&](std::string message) {
    response->set_error(ToProto(ErrorCode::kInvalidRequest));
    response->set_error_message(std::move(message));
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  };
  // replace_all is the forwarded form of legacy AlterConfigs, for nodes to
  // send the controller; a client would wipe every config it leaves out.
  if (request->replace_all()) {
    return refuse(
        "replace_all is set only by a node forwarding AlterConfigs; use AlterConfigs to "
        "replace a resource's configs.");
  }
  // Kafka's four operations; any other number changes nothing.
  for (const v1::AlterConfigsResource& r : request->resources()) {
    for (const v1::AlterableConfig& c : r.configs()) {
      if (DecodeOp(c.op()) != metadata::AlterConfigOpType::kUnknown) continue;
      return refuse(absl::StrCat("Unknown config operation ", c.op(), " for ", c.name(),
                                 "; use SET (0), DELETE (1), APPEND (2) or SUBTRACT (3)."));
    }
  }
  return RouteToController(ctx, request, response, &QuorumController::IncrementalAlterConfigs,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->IncrementalAlterConfigs(context, req, resp,
                                                                    std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::AlterConfigs(grpc::CallbackServerContext* ctx,
                                                     const v1::AlterConfigsRequest* request,
                                                     v1::AlterConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Forwarded (when this node is not the controller) as the
  // IncrementalAlterConfigs it amounts to; `wire` lives until the answer.
  auto wire = std::make_shared<v1::IncrementalAlterConfigsRequest>(AsIncremental(*request));
  metadata::IncrementalAlterConfigsRequest decoded = Decode(*wire);
  auto finish = [this, reactor, response, decoded,
                 wire](metadata::IncrementalAlterConfigsResponse result) {
    AwaitImage([&](const metadata::MetadataImage& image) {
      return metadata::ImageShows(image, decoded, result);
    });
    Encode(result, response);
    reactor->Finish(grpc::Status::OK);
  };
  Route<v1::IncrementalAlterConfigsResponse>(
      wire.get(), std::move(decoded), &QuorumController::IncrementalAlterConfigs,
      [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
        stub->async()->IncrementalAlterConfigs(context, req, resp, std::move(done));
      },
      std::function<void(metadata::IncrementalAlterConfigsResponse)>(std::move(finish)));
  return reactor;
}

v1::Admin::Stub* AdminService::AdminStubFor(int32_t node, const metadata::MetadataImage& image) {
  const metadata::BrokerRegistration* b = image.broker(node);
  const metadata::Endpoint* ep = b ? b->endpoint("PLAINTEXT") : nullptr;
  if (ep == nullptr) return nullptr;
  absl::MutexLock l(&stubs_mu_);
  std::unique_ptr<v1::Admin::Stub>& stub = admin_stubs_[node];
  if (!stub) stub = v1::Admin::NewStub(raft::PeerChannel(absl::StrCat(ep->host, ":", ep->port)));
  return stub.get();
}

namespace {

// The reassignments under way in `image`, as asked.
void ListReassignments(const metadata::MetadataImage& image,
                       const v1::ListPartitionReassignmentsRequest& request,
                       v1::ListPartitionReassignmentsResponse* response) {
  response->Clear();
  auto add = [response](const metadata::TopicInfo& t, const metadata::PartitionInfo& p,
                        v1::OngoingTopicReassignment** topic) {
    if (!p.reassigning()) return;
    if (*topic == nullptr) {
      *topic = response->add_topics();
      (*topic)->set_name(t.name);
    }
    v1::OngoingPartitionReassignment* o = (*topic)->add_partitions();
    o->set_partition(p.partition);
    for (int32_t r : p.replicas) o->add_replicas(r);
    for (int32_t r : p.adding_replicas) o->add_adding_replicas(r);
    for (int32_t r : p.removing_replicas) o->add_removing_replicas(r);
  };
  if (request.topics().empty()) {
    for (const auto& [name, t] : image.topics()) {
      v1::OngoingTopicReassignment* topic = nullptr;
      for (const auto& [pid, p] : t.partitions) add(t, p, &topic);
    }
    return;
  }
  // As Kafka: partitions that do not exist, or are not moving, are left out.
  for (const v1::ListPartitionReassignmentsTopics& want : request.topics()) {
    const metadata::TopicInfo* t = image.FindTopic(want.name());
    if (t == nullptr) continue;
    v1::OngoingTopicReassignment* topic = nullptr;
    for (int32_t pid : want.partitions()) {
      auto it = t->partitions.find(pid);
      if (it != t->partitions.end()) add(*t, it->second, &topic);
    }
  }
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::ListPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::ListPartitionReassignmentsRequest* request,
    v1::ListPartitionReassignmentsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  // The controller's image is the newest: a lagging node would call a move
  // just started "not under way" (and `--verify` would clear the throttles
  // of a move still running). Asked of another node, it asks the
  // controller; when that fails, the call fails (UNAVAILABLE) and the
  // client asks again.
  const int32_t controller = controller_channel_->controller_id();
  if (controller >= 0 && controller != config_.node_id) {
    if (v1::Admin::Stub* stub = AdminStubFor(controller, *image); stub != nullptr) {
      auto* call = new grpc::ClientContext;
      call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      stub->async()->ListPartitionReassignments(
          call, request, response, [call, reactor, controller](grpc::Status s) {
            // Not this node's older image instead: the caller retries.
            reactor->Finish(
                s.ok() ? s
                       : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      absl::StrCat("the controller (node ", controller,
                                                   ") did not answer: ", s.error_message())));
            delete call;
          });
      return reactor;
    }
  }
  ListReassignments(*image, *request, response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void AdminService::DescribeConfigsHere(const metadata::MetadataImage& image,
                                       const v1::DescribeConfigsResource& res, bool synonyms,
                                       v1::DescribeConfigsResult* out) {
  if (res.resource_type() == v1::CONFIG_RESOURCE_TOPIC) {
    const metadata::TopicInfo* topic = image.FindTopic(res.resource_name());
    if (topic == nullptr) {
      out->set_error(ToProto(ErrorCode::kUnknownTopicOrPartition));
      out->set_error_message(absl::StrCat("Topic '", res.resource_name(), "' does not exist."));
      return;
    }
    Encode(metadata::DescribeTopicConfigs(*topic, image, config_.node_id, config_.log_overrides),
           res.configuration_keys(), synonyms, out);
    return;
  }
  // A broker: this one (its static settings known), or another that could
  // not be asked (its dynamic configs only).
  const bool self = res.resource_name() == absl::StrCat(config_.node_id);
  static const std::map<std::string, std::string> kUnknownStatic;
  Encode(metadata::DescribeBrokerConfigs(res.resource_name(), image,
                                         self ? config_.log_overrides : kUnknownStatic),
         res.configuration_keys(), synonyms, out);
}

grpc::ServerUnaryReactor* AdminService::DescribeConfigs(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeConfigsRequest* request,
                                                        v1::DescribeConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  const bool forwarded = ctx->client_metadata().count(kForwardedHeader) > 0;
  // Another broker describes itself: its server.properties are its own.
  struct Forward {
    int index = 0;
    int32_t broker = -1;
    v1::Admin::Stub* stub = nullptr;
    grpc::ClientContext context;
    v1::DescribeConfigsRequest request;
    v1::DescribeConfigsResponse response;
  };
  std::vector<std::unique_ptr<Forward>> forwards;
  for (const v1::DescribeConfigsResource& res : request->resources()) {
    v1::DescribeConfigsResult* out = response->add_results();
    out->set_resource_type(res.resource_type());
    out->set_resource_name(res.resource_name());
    if (res.resource_type() == v1::CONFIG_RESOURCE_BROKER && !res.resource_name().empty()) {
      int32_t id = -1;
      if (!absl::SimpleAtoi(res.resource_name(), &id) || id < 0) {
        out->set_error(ToProto(ErrorCode::kInvalidRequest));
        out->set_error_message(absl::StrCat("Broker resource name '", res.resource_name(),
                                            "' is not a broker id; use an id, or empty for the "
                                            "cluster default."));
        continue;
      }
      v1::Admin::Stub* stub = nullptr;
      if (id != config_.node_id && !forwarded) stub = AdminStubFor(id, *image);
      if (stub != nullptr) {
        auto f = std::make_unique<Forward>();
        f->index = response->results_size() - 1;
        f->broker = id;
        f->stub = stub;
        *f->request.add_resources() = res;
        f->request.set_include_synonyms(request->include_synonyms());
        forwards.push_back(std::move(f));
        continue;
      }
    } else if (res.resource_type() != v1::CONFIG_RESOURCE_TOPIC &&
               res.resource_type() != v1::CONFIG_RESOURCE_BROKER) {
      out->set_error(ToProto(ErrorCode::kInvalidRequest));
      out->set_error_message("Unsupported config resource type; use TOPIC (2) or BROKER (4).");
      continue;
    }
    DescribeConfigsHere(*image, res, request->include_synonyms(), out);
  }
  if (forwards.empty()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // Every result slot exists before the first answer fills one.
  auto left = std::make_shared<std::atomic<size_t>>(forwards.size());
  for (std::unique_ptr<Forward>& owned : forwards) {
    Forward* f = owned.release();
    f->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    f->context.AddMetadata(kForwardedHeader, "1");
    f->stub->async()->DescribeConfigs(
        &f->context, &f->request, &f->response, [f, left, reactor, response](grpc::Status s) {
          v1::DescribeConfigsResult* out = response->mutable_results(f->index);
          if (s.ok() && f->response.results_size() == 1) {
            *out = f->response.results(0);
          } else {
            out->set_error(ToProto(ErrorCode::kBrokerNotAvailable));
            out->set_error_message(absl::StrCat("Broker ", f->broker, " did not answer: ",
                                                s.ok() ? "no result" : s.error_message()));
          }
          delete f;
          if (left->fetch_sub(1) == 1) reactor->Finish(grpc::Status::OK);
        });
  }
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  return RouteToController(ctx, request, response, &QuorumController::CreatePartitions,
                           [](auto* stub, auto* context, auto* req, auto* resp, auto done) {
                             stub->async()->CreatePartitions(context, req, resp, std::move(done));
                           });
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* ctx,
                                                   const v1::ListTopicsRequest* request,
                                                   v1::ListTopicsResponse* response) {
  for (std::string& name : handlers_->ListTopics(request->include_internal())) {
    response->add_names(std::move(name));
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeTopics(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeTopicsRequest* request,
                                                       v1::DescribeTopicsResponse* response) {
  request::DescribeTopicsRequest req;
  req.names.assign(request->names().begin(), request->names().end());
  req.include_internal = request->include_internal();
  for (const request::TopicDescription& t : handlers_->DescribeTopics(req)) {
    v1::TopicDescription* d = response->add_topics();
    d->set_name(t.name);
    if (t.error != ErrorCode::kNone) {
      d->set_error(ToProto(t.error));
      d->set_error_message(t.message);
      continue;
    }
    d->set_topic_id(t.topic_id);
    d->set_internal(t.internal);
    for (const request::PartitionDescription& p : t.partitions) {
      v1::PartitionDescription* pd = d->add_partitions();
      pd->set_partition(p.partition);
      pd->set_leader(p.leader);
      pd->set_leader_epoch(p.leader_epoch);
      for (int32_t r : p.replicas) pd->add_replicas(r);
      for (const request::ReplicaDescription& r : p.replica_states) {
        v1::ReplicaDescription* rd = pd->add_replica_states();
        rd->set_broker_id(r.broker_id);
        rd->set_state(Encode(r.state));
      }
      for (int32_t r : p.isr) pd->add_isr(r);
      pd->set_state(Encode(p.state));
      for (int32_t r : p.adding_replicas) pd->add_adding_replicas(r);
      for (int32_t r : p.removing_replicas) pd->add_removing_replicas(r);
    }
    for (const request::ConfigEntry& c : t.configs) {
      v1::ConfigEntry* ce = d->add_configs();
      ce->set_name(c.name);
      ce->set_value(c.value);
      ce->set_is_default(c.is_default);
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeCluster(grpc::CallbackServerContext* ctx,
                                                        const v1::DescribeClusterRequest*,
                                                        v1::DescribeClusterResponse* response) {
  // The client listener first.
  request::DescribeClusterResponse r = handlers_->DescribeCluster({"PLAINTEXT", "CONTROLLER"});
  response->set_cluster_id(r.cluster_id);
  response->set_controller_id(r.controller_id);
  for (const request::BrokerDescription& b : r.brokers) {
    v1::BrokerDescription* d = response->add_brokers();
    d->set_id(b.id);
    d->set_rack(b.rack);
    d->set_fenced(b.fenced);
    d->set_broker_epoch(b.broker_epoch);
    d->set_incarnation_id(b.incarnation_id);
    for (const auto& [host, port] : b.endpoints) {
      v1::Endpoint* e = d->add_endpoints();
      e->set_host(host);
      e->set_port(port);
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DescribeQuorum(grpc::CallbackServerContext* ctx,
                                                       const v1::DescribeQuorumRequest* request,
                                                       v1::DescribeQuorumResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // A broker-only node has no Raft node (raft_ is null): it knows the leader
  // from its observer, through the controller channel, and always asks it.
  raft::RaftNodeStatus st = raft_ != nullptr ? raft_->status() : raft::RaftNodeStatus{};
  const int32_t leader =
      raft_ == nullptr
          ? controller_channel_->controller_id()
          : (st.leader == raft::kNoNode ? -1 : static_cast<int32_t>(st.leader.value()));
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  if (st.role != raft::Role::kLeader && leader >= 0) {
    // Only the leader knows every voter's and observer's progress: ask it.
    if (v1::Admin::Stub* stub = AdminStubFor(leader, *image); stub != nullptr) {
      auto* call = new grpc::ClientContext;
      call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      stub->async()->DescribeQuorum(call, request, response, [call, reactor](grpc::Status s) {
        reactor->Finish(s);
        delete call;
      });
      return reactor;
    }
  }
  response->set_cluster_id(image->cluster_id());
  response->set_leader_id(leader);
  response->set_leader_epoch(static_cast<int64_t>(st.term.value()));
  response->set_high_watermark(static_cast<int64_t>(st.commit.value()));
  for (const QuorumVoter& v : config_.quorum_voters) {
    v1::QuorumReplica* r = response->add_voters();
    const raft::NodeId id(static_cast<uint64_t>(v.id));
    r->set_replica_id(v.id);
    auto match = st.match.find(id);
    r->set_log_end_offset(match == st.match.end() ? -1
                                                  : static_cast<int64_t>(match->second.value()));
    auto heard = st.last_heard_ms.find(id);
    r->set_last_fetch_timestamp(heard == st.last_heard_ms.end() ? -1 : heard->second);
    auto caught = st.last_caught_up_ms.find(id);
    r->set_last_caught_up_timestamp(caught == st.last_caught_up_ms.end() ? -1 : caught->second);
  }
  // Broker-only nodes fetching the log from this leader (Kafka's observers).
  for (const auto& [id, o] : st.observers) {
    v1::QuorumReplica* r = response->add_observers();
    r->set_replica_id(static_cast<int32_t>(id.value()));
    r->set_log_end_offset(static_cast<int64_t>(o.fetched.value()));
    r->set_last_fetch_timestamp(o.last_fetch_ms);
    r->set_last_caught_up_timestamp(o.last_caught_up_ms);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// --- ControllerService ---

// Encodes the controller's answer into the wire response and finishes the
// call.
template <typename Response, typename WireResponse>
std::function<void(Response)> EncodeAndFinish(grpc::ServerUnaryReactor* reactor,
                                              WireResponse* response) {
  return [reactor, response](Response result) {
    Encode(result, response);
    reactor->Finish(grpc::Status::OK);
  };
}

// Copies the controller's answer into the response and finishes the call.
template <typename Response>
std::function<void(Response)> FinishWith(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](Response result) {
    *response = std::move(result);
    reactor->Finish(grpc::Status::OK);
  };
}

grpc::ServerUnaryReactor* ControllerService::RegisterBroker(
    grpc::CallbackServerContext* ctx, const internal::BrokerRegistrationRequest* request,
    internal::BrokerRegistrationResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->RegisterBroker(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::BrokerHeartbeat(
    grpc::CallbackServerContext* ctx, const internal::BrokerHeartbeatRequest* request,
    internal::BrokerHeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->BrokerHeartbeat(*request, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreateTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::CreateTopicsRequest* request,
                                                          v1::CreateTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->CreateTopics(Decode(*request),
                            EncodeAndFinish<metadata::CreateTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreateInternalTopics(
    grpc::CallbackServerContext* ctx, const v1::CreateTopicsRequest* request,
    v1::CreateTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  metadata::CreateTopicsRequest decoded = Decode(*request);
  decoded.internal = true;
  controller_->CreateTopics(std::move(decoded),
                            EncodeAndFinish<metadata::CreateTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteTopicsRequest* request,
                                                          v1::DeleteTopicsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->DeleteTopics(Decode(*request),
                            EncodeAndFinish<metadata::DeleteTopicsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CreatePartitions(
    grpc::CallbackServerContext* ctx, const v1::CreatePartitionsRequest* request,
    v1::CreatePartitionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->CreatePartitions(
      Decode(*request), EncodeAndFinish<metadata::CreatePartitionsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::ElectLeaders(grpc::CallbackServerContext* ctx,
                                                          const v1::ElectLeadersRequest* request,
                                                          v1::ElectLeadersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->ElectLeaders(Decode(*request),
                            EncodeAndFinish<metadata::ElectLeadersResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterPartitionReassignments(
    grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
    v1::AlterPartitionReassignmentsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterPartitionReassignments(
      Decode(*request),
      EncodeAndFinish<metadata::AlterPartitionReassignmentsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::UnregisterBroker(
    grpc::CallbackServerContext* ctx, const v1::UnregisterBrokerRequest* request,
    v1::UnregisterBrokerResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->UnregisterBroker(
      Decode(*request), EncodeAndFinish<metadata::UnregisterBrokerResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::IncrementalAlterConfigs(
    grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
    v1::IncrementalAlterConfigsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->IncrementalAlterConfigs(
      Decode(*request),
      EncodeAndFinish<metadata::IncrementalAlterConfigsResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AlterPartition(
    grpc::CallbackServerContext* ctx, const internal::AlterPartitionBatchRequest* request,
    internal::AlterPartitionBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->AlterPartition(*request, FinishWith(reactor, response));
  return reactor;
}

}  // namespace strata::server
