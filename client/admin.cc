#include "client/admin.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {
namespace {

template <typename Response>
bool AnyNotController(const Response& response) {
  for (const auto& r : response.results()) {
    if (r.error() == v1::NOT_CONTROLLER) return true;
  }
  return false;
}

absl::Status SingleResult(const google::protobuf::RepeatedPtrField<v1::TopicResult>& results,
                          const std::string& name) {
  for (const auto& r : results) {
    if (r.name() == name) return ErrorToStatus(r.error(), r.error_message());
  }
  return ErrorToStatus(v1::UNKNOWN_SERVER_ERROR,
                       fmt::format("The server sent no result for topic '{}'", name));
}

// For the calls whose response carries one error for the request as a whole.
template <typename Response>
bool RequestNotController(const Response& response) {
  return response.error() == v1::NOT_CONTROLLER;
}

// The response, or its request-level error as a Status.
template <typename Response>
absl::StatusOr<Response> RequestLevel(absl::StatusOr<Response> response) {
  if (!response.ok()) return response;
  if (response->error() != v1::NONE) {
    return ErrorToStatus(response->error(), response->error_message());
  }
  return response;
}

// The errors after which a group's call goes to a freshly looked-up
// coordinator (Kafka's CoordinatorKey handling in its admin client).
bool IsCoordinatorError(v1::ErrorCode code) {
  return code == v1::NOT_COORDINATOR || code == v1::COORDINATOR_LOAD_IN_PROGRESS ||
         code == v1::COORDINATOR_NOT_AVAILABLE;
}

// `status` with another message; its code and payloads (the wire code) kept.
absl::Status WithMessage(const absl::Status& status, const std::string& message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

void SetDeadline(grpc::ClientContext* ctx, absl::Time deadline) {
  absl::Duration left = std::max(deadline - absl::Now(), absl::Milliseconds(100));
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(left));
}

// Topic-grouped OffsetFetch/OffsetDelete partitions, in the order given.
google::protobuf::RepeatedPtrField<v1::OffsetFetchTopic> TopicsOf(
    const std::vector<TopicPartition>& partitions) {
  google::protobuf::RepeatedPtrField<v1::OffsetFetchTopic> topics;
  std::map<std::string, v1::OffsetFetchTopic*> by_name;
  for (const TopicPartition& tp : partitions) {
    v1::OffsetFetchTopic*& t = by_name[tp.topic];
    if (t == nullptr) {
      t = topics.Add();
      t->set_name(tp.topic);
    }
    t->add_partition_indexes(tp.partition.value());
  }
  return topics;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Admin>> Admin::Create(AdminConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap =
      ParseBootstrapServers(config.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  if (config.client_id.empty()) {
    static std::atomic<int> sequence{1};
    config.client_id = fmt::format("adminclient-{}", sequence.fetch_add(1));
  }
  auto admin = std::unique_ptr<Admin>(new Admin(std::move(config), *std::move(bootstrap)));
  if (absl::Status s = admin->pool_.status(); !s.ok()) return s;
  return admin;
}

Admin::Admin(AdminConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      bootstrap_(std::move(bootstrap)),
      pool_(config_.security, config_.client_id),
      metadata_(bootstrap_, &pool_, config_.request_timeout) {}

template <typename Request, typename Response>
absl::StatusOr<Response> Admin::Call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*,
                                                                             const Request&,
                                                                             Response*),
                                     const Request& request, bool (*retry_on)(const Response&)) {
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  Response response;
  while (true) {
    absl::Status status = CallAnyNode(bootstrap_, &preferred_, [&](const std::string& target) {
      auto stub = v1::Admin::NewStub(pool_.Get(target));
      grpc::ClientContext ctx;
      absl::Duration left = std::max(deadline - absl::Now(), absl::Milliseconds(100));
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(left));
      response.Clear();
      return FromGrpcStatus((stub.get()->*method)(&ctx, request, &response), target);
    });
    const bool retry = (IsNetworkError(status) && !absl::IsDeadlineExceeded(status)) ||
                       (status.ok() && retry_on != nullptr && retry_on(response));
    if (!retry) {
      if (!status.ok()) return status;
      return response;
    }
    if (absl::Now() + config_.retry_backoff >= deadline) {
      if (!status.ok()) {
        return absl::Status(status.code(),
                            fmt::format("Timed out waiting for a node to answer after {} ms: {}",
                                        absl::ToInt64Milliseconds(config_.request_timeout),
                                        std::string(status.message())));
      }
      return response;  // the NOT_CONTROLLER results speak for themselves
    }
    absl::SleepFor(config_.retry_backoff);
  }
}

absl::StatusOr<v1::CreateTopicsResponse> Admin::RawCreateTopics(
    const v1::CreateTopicsRequest& request) {
  return Call(&v1::Admin::Stub::CreateTopics, request, &AnyNotController<v1::CreateTopicsResponse>);
}

absl::StatusOr<v1::DeleteTopicsResponse> Admin::RawDeleteTopics(
    const v1::DeleteTopicsRequest& request) {
  return Call(&v1::Admin::Stub::DeleteTopics, request, &AnyNotController<v1::DeleteTopicsResponse>);
}

absl::StatusOr<v1::CreatePartitionsResponse> Admin::RawCreatePartitions(
    const v1::CreatePartitionsRequest& request) {
  return Call(&v1::Admin::Stub::CreatePartitions, request,
              &AnyNotController<v1::CreatePartitionsResponse>);
}

absl::StatusOr<v1::DescribeTopicsResponse> Admin::RawDescribeTopics(
    const v1::DescribeTopicsRequest& request) {
  return Call(&v1::Admin::Stub::DescribeTopics, request);
}

absl::StatusOr<v1::TopicResult> Admin::CreateOneTopic(const v1::CreateTopicsRequest& request) {
  const std::string& name = request.topics(0).name();
  absl::StatusOr<v1::CreateTopicsResponse> response = RawCreateTopics(request);
  if (!response.ok()) return response.status();
  absl::Status s = SingleResult(response->results(), name);
  if (!s.ok()) return s;
  for (const auto& r : response->results()) {
    if (r.name() == name) return r;
  }
  return v1::TopicResult();
}

absl::StatusOr<v1::TopicResult> Admin::CreateTopic(
    const std::string& name, int32_t partitions, int32_t replication_factor,
    const std::map<std::string, std::string>& configs) {
  v1::CreateTopicsRequest request;
  request.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  v1::NewTopic* t = request.add_topics();
  t->set_name(name);
  t->set_num_partitions(partitions);
  t->set_replication_factor(replication_factor);
  for (const auto& [k, v] : configs) (*t->mutable_configs())[k] = v;
  return CreateOneTopic(request);
}

absl::StatusOr<v1::TopicResult> Admin::CreateTopicWithAssignment(
    const std::string& name, const std::vector<std::vector<int32_t>>& assignment,
    const std::map<std::string, std::string>& configs) {
  v1::CreateTopicsRequest request;
  request.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  v1::NewTopic* t = request.add_topics();
  t->set_name(name);
  t->set_num_partitions(-1);
  t->set_replication_factor(-1);
  for (size_t i = 0; i < assignment.size(); ++i) {
    v1::ReplicaAssignment* a = t->add_assignments();
    a->set_partition(static_cast<int32_t>(i));
    for (int32_t b : assignment[i]) a->add_broker_ids(b);
  }
  for (const auto& [k, v] : configs) (*t->mutable_configs())[k] = v;
  return CreateOneTopic(request);
}

absl::Status Admin::DeleteTopic(const std::string& name) {
  v1::DeleteTopicsRequest request;
  request.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  request.add_names(name);
  absl::StatusOr<v1::DeleteTopicsResponse> response = RawDeleteTopics(request);
  if (!response.ok()) return response.status();
  return SingleResult(response->results(), name);
}

absl::Status Admin::CreatePartitions(const std::string& name, int32_t total) {
  v1::CreatePartitionsRequest request;
  request.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  v1::PartitionCount* p = request.add_topics();
  p->set_name(name);
  p->set_count(total);
  absl::StatusOr<v1::CreatePartitionsResponse> response = RawCreatePartitions(request);
  if (!response.ok()) return response.status();
  return SingleResult(response->results(), name);
}

absl::StatusOr<std::vector<std::string>> Admin::ListTopics(bool include_internal) {
  v1::ListTopicsRequest request;
  request.set_include_internal(include_internal);
  absl::StatusOr<v1::ListTopicsResponse> response = Call(&v1::Admin::Stub::ListTopics, request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names(response->names().begin(), response->names().end());
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<v1::DescribeTopicsResponse> Admin::DescribeTopics(
    const std::vector<std::string>& names, bool include_internal) {
  v1::DescribeTopicsRequest request;
  for (const auto& n : names) request.add_names(n);
  request.set_include_internal(include_internal);
  return RawDescribeTopics(request);
}

absl::StatusOr<v1::DescribeClusterResponse> Admin::DescribeCluster() {
  return Call(&v1::Admin::Stub::DescribeCluster, v1::DescribeClusterRequest());
}

absl::StatusOr<v1::DescribeQuorumResponse> Admin::DescribeQuorum() {
  return Call(&v1::Admin::Stub::DescribeQuorum, v1::DescribeQuorumRequest());
}

absl::StatusOr<v1::ElectLeadersResponse> Admin::ElectLeaders(
    const v1::ElectLeadersRequest& request) {
  return Call(&v1::Admin::Stub::ElectLeaders, request);
}

// ---- Reassignment, brokers and configs

absl::StatusOr<v1::AlterPartitionReassignmentsResponse> Admin::AlterPartitionReassignments(
    const v1::AlterPartitionReassignmentsRequest& request) {
  v1::AlterPartitionReassignmentsRequest timed = request;
  if (timed.timeout_ms() <= 0) {
    timed.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  }
  return RequestLevel(Call(&v1::Admin::Stub::AlterPartitionReassignments, timed,
                           &RequestNotController<v1::AlterPartitionReassignmentsResponse>));
}

absl::StatusOr<v1::ListPartitionReassignmentsResponse> Admin::ListPartitionReassignments(
    const std::vector<TopicPartition>& partitions) {
  v1::ListPartitionReassignmentsRequest request;
  request.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  std::map<std::string, v1::ListPartitionReassignmentsTopics*> by_topic;
  for (const TopicPartition& tp : partitions) {
    v1::ListPartitionReassignmentsTopics*& t = by_topic[tp.topic];
    if (t == nullptr) {
      t = request.add_topics();
      t->set_name(tp.topic);
    }
    t->add_partitions(tp.partition.value());
  }
  return RequestLevel(Call(&v1::Admin::Stub::ListPartitionReassignments, request,
                           &RequestNotController<v1::ListPartitionReassignmentsResponse>));
}

absl::Status Admin::UnregisterBroker(int32_t broker_id) {
  v1::UnregisterBrokerRequest request;
  request.set_broker_id(broker_id);
  return RequestLevel(Call(&v1::Admin::Stub::UnregisterBroker, request,
                           &RequestNotController<v1::UnregisterBrokerResponse>))
      .status();
}

namespace {

// NOT_CONTROLLER for the request or any resource: the whole call again.
template <typename Response>
bool ConfigsNotController(const Response& r) {
  if (r.error() == v1::NOT_CONTROLLER) return true;
  for (const auto& resource : r.responses()) {
    if (resource.error() == v1::NOT_CONTROLLER) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<v1::IncrementalAlterConfigsResponse> Admin::IncrementalAlterConfigs(
    const v1::IncrementalAlterConfigsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::IncrementalAlterConfigs, request,
                           &ConfigsNotController<v1::IncrementalAlterConfigsResponse>));
}

absl::StatusOr<v1::AlterConfigsResponse> Admin::AlterConfigs(
    const v1::AlterConfigsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::AlterConfigs, request,
                           &ConfigsNotController<v1::AlterConfigsResponse>));
}

absl::StatusOr<v1::DescribeConfigsResponse> Admin::DescribeConfigs(
    const v1::DescribeConfigsRequest& request) {
  return Call(&v1::Admin::Stub::DescribeConfigs, request);
}

// ---- ACLs, SCRAM credentials, client quotas

namespace {

// NOT_CONTROLLER for the request, or for any of its parts: the whole call
// again (nothing of a request the controller did not take was written).
template <typename Response, typename Parts>
bool AnyPartNotController(const Response& r, const Parts& parts) {
  if (r.error() == v1::NOT_CONTROLLER) return true;
  for (const auto& part : parts) {
    if (part.error() == v1::NOT_CONTROLLER) return true;
  }
  return false;
}

template <typename Response>
bool ResultsNotController(const Response& r) {
  return AnyPartNotController(r, r.results());
}
bool FilterResultsNotController(const v1::DeleteAclsResponse& r) {
  return AnyPartNotController(r, r.filter_results());
}
bool EntriesNotController(const v1::AlterClientQuotasResponse& r) {
  return AnyPartNotController(r, r.entries());
}

}  // namespace

absl::StatusOr<v1::CreateAclsResponse> Admin::CreateAcls(const v1::CreateAclsRequest& request) {
  return RequestLevel(
      Call(&v1::Admin::Stub::CreateAcls, request, &ResultsNotController<v1::CreateAclsResponse>));
}

absl::StatusOr<v1::DescribeAclsResponse> Admin::DescribeAcls(
    const v1::DescribeAclsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::DescribeAcls, request));
}

absl::StatusOr<v1::DeleteAclsResponse> Admin::DeleteAcls(const v1::DeleteAclsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::DeleteAcls, request, &FilterResultsNotController));
}

absl::StatusOr<v1::DescribeUserScramCredentialsResponse> Admin::DescribeUserScramCredentials(
    const v1::DescribeUserScramCredentialsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::DescribeUserScramCredentials, request));
}

absl::StatusOr<v1::AlterUserScramCredentialsResponse> Admin::AlterUserScramCredentials(
    const v1::AlterUserScramCredentialsRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::AlterUserScramCredentials, request,
                           &ResultsNotController<v1::AlterUserScramCredentialsResponse>));
}

absl::StatusOr<v1::DescribeClientQuotasResponse> Admin::DescribeClientQuotas(
    const v1::DescribeClientQuotasRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::DescribeClientQuotas, request));
}

absl::StatusOr<v1::AlterClientQuotasResponse> Admin::AlterClientQuotas(
    const v1::AlterClientQuotasRequest& request) {
  return RequestLevel(Call(&v1::Admin::Stub::AlterClientQuotas, request, &EntriesNotController));
}

// ---- ListOffsets

absl::StatusOr<std::map<TopicPartition, ListedOffset>> Admin::ListOffsets(
    const std::map<TopicPartition, int64_t>& timestamps) {
  if (timestamps.empty()) return std::map<TopicPartition, ListedOffset>();
  std::set<std::string> topics;
  for (const auto& [tp, ts] : timestamps) topics.insert(tp.topic);
  absl::Status refreshed = metadata_.Refresh({topics.begin(), topics.end()});
  if (!refreshed.ok()) return refreshed;
  return ListOffsetsAtLeaders(metadata_, pool_, timestamps, config_.request_timeout,
                              config_.retry_backoff);
}

absl::StatusOr<std::map<TopicPartition, DeletedRecords>> Admin::DeleteRecords(
    const std::map<TopicPartition, int64_t>& offsets) {
  if (offsets.empty()) return std::map<TopicPartition, DeletedRecords>();
  std::set<std::string> topics;
  for (const auto& [tp, offset] : offsets) topics.insert(tp.topic);
  absl::Status refreshed = metadata_.Refresh({topics.begin(), topics.end()});
  if (!refreshed.ok()) return refreshed;
  return DeleteRecordsAtLeaders(metadata_, pool_, offsets, config_.request_timeout,
                                config_.retry_backoff);
}

// ---- Consumer groups

void Admin::ForgetCoordinator(CoordinatorType type, const std::string& group) {
  absl::MutexLock lock(&mu_);
  coordinators_.erase(CoordinatorKey(type, group));
}

int32_t Admin::CachedCoordinatorId(CoordinatorType type, const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = coordinators_.find(CoordinatorKey(type, key));
  return it == coordinators_.end() ? -1 : it->second.node_id();
}

absl::Status Admin::LookUpCoordinators(CoordinatorType type, const std::vector<std::string>& groups,
                                       absl::Time deadline,
                                       std::map<std::string, std::string>* targets,
                                       std::map<std::string, v1::Coordinator>* failed) {
  v1::FindCoordinatorRequest request;
  request.set_key_type(static_cast<int32_t>(type));
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& g : groups) {
      auto it = coordinators_.find(CoordinatorKey(type, g));
      if (it != coordinators_.end()) {
        (*targets)[g] = fmt::format("{}:{}", it->second.host(), it->second.port());
      } else {
        request.add_keys(g);
      }
    }
  }
  if (request.keys().empty()) return absl::OkStatus();
  v1::FindCoordinatorResponse response;
  absl::Status status = CallAnyNode(bootstrap_, &preferred_, [&](const std::string& target) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    response.Clear();
    return FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->FindCoordinator(&ctx, request, &response), target);
  });
  if (!status.ok()) return status;
  absl::MutexLock lock(&mu_);
  for (const v1::Coordinator& c : response.coordinators()) {
    if (c.error() == v1::NONE && c.node_id() >= 0) {
      coordinators_[CoordinatorKey(type, c.key())] = c;
      (*targets)[c.key()] = fmt::format("{}:{}", c.host(), c.port());
    } else if (!IsCoordinatorError(c.error()) && c.error() != v1::NONE) {
      (*failed)[c.key()] = c;
    }
  }
  return absl::OkStatus();
}

template <typename Result>
absl::StatusOr<std::vector<Result>> Admin::CallCoordinators(
    CoordinatorType type, const std::vector<std::string>& groups,
    const std::function<absl::StatusOr<std::vector<Result>>(
        const std::string&, const std::vector<std::string>&, absl::Time)>& call,
    const std::function<v1::ErrorCode(const Result&)>& error_of,
    const std::function<Result(const std::string&, v1::ErrorCode, const std::string&)>&
        error_result) {
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  std::map<std::string, Result> done;
  // The latest answer of a group still being retried, or why none came.
  std::map<std::string, Result> pending;
  absl::Status transport;
  std::vector<std::string> remaining;
  for (const std::string& g : groups) {
    if (std::find(remaining.begin(), remaining.end(), g) == remaining.end()) remaining.push_back(g);
  }
  while (!remaining.empty()) {
    std::map<std::string, std::string> targets;
    std::map<std::string, v1::Coordinator> failed;
    absl::Status looked_up = LookUpCoordinators(type, remaining, deadline, &targets, &failed);
    if (!looked_up.ok() && !IsNetworkError(looked_up)) return looked_up;
    if (!looked_up.ok()) transport = looked_up;
    for (const auto& [g, c] : failed) {
      done.emplace(g, error_result(g, c.error(), c.error_message()));
      pending.erase(g);
    }
    std::map<std::string, std::vector<std::string>> by_target;
    for (const std::string& g : remaining) {
      auto it = targets.find(g);
      if (it != targets.end()) by_target[it->second].push_back(g);
    }
    for (const auto& [target, these] : by_target) {
      absl::StatusOr<std::vector<Result>> results = call(target, these, deadline);
      if (!results.ok()) {
        if (!IsNetworkError(results.status())) return results.status();
        transport = results.status();
        for (const std::string& g : these) ForgetCoordinator(type, g);
        continue;
      }
      for (size_t i = 0; i < these.size() && i < results->size(); ++i) {
        const std::string& g = these[i];
        Result& r = (*results)[i];
        if (IsCoordinatorError(error_of(r))) {
          ForgetCoordinator(type, g);
          pending[g] = std::move(r);
        } else {
          done.emplace(g, std::move(r));
          pending.erase(g);
        }
      }
    }
    std::vector<std::string> next;
    for (const std::string& g : remaining) {
      if (!done.contains(g)) next.push_back(g);
    }
    remaining = std::move(next);
    if (remaining.empty()) break;
    if (absl::Now() + config_.retry_backoff >= deadline) {
      for (const std::string& g : remaining) {
        auto it = pending.find(g);
        if (it != pending.end()) {
          done.emplace(g, std::move(it->second));
        } else if (!transport.ok()) {
          return absl::Status(
              transport.code(),
              fmt::format("Timed out waiting for the coordinator of {} '{}' after {} ms: {}",
                          type == CoordinatorType::kGroup ? "group" : "transactional id", g,
                          absl::ToInt64Milliseconds(config_.request_timeout),
                          std::string(transport.message())));
        } else {
          done.emplace(g, error_result(g, v1::COORDINATOR_NOT_AVAILABLE,
                                       DefaultErrorMessage(v1::COORDINATOR_NOT_AVAILABLE)));
        }
      }
      break;
    }
    absl::SleepFor(config_.retry_backoff);
  }
  std::vector<Result> out;
  for (const std::string& g : groups) out.push_back(done.at(g));
  return out;
}

absl::StatusOr<v1::Coordinator> Admin::FindCoordinator(CoordinatorType type,
                                                       const std::string& key) {
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  while (true) {
    std::map<std::string, std::string> targets;
    std::map<std::string, v1::Coordinator> failed;
    absl::Status s = LookUpCoordinators(type, {key}, deadline, &targets, &failed);
    if (!s.ok() && !IsNetworkError(s)) return s;
    if (failed.contains(key)) {
      return ErrorToStatus(failed[key].error(), failed[key].error_message());
    }
    if (targets.contains(key)) {
      absl::MutexLock lock(&mu_);
      auto it = coordinators_.find(CoordinatorKey(type, key));
      if (it != coordinators_.end()) return it->second;
    }
    if (absl::Now() + config_.retry_backoff >= deadline) {
      if (!s.ok()) return s;
      return ErrorToStatus(
          v1::COORDINATOR_NOT_AVAILABLE,
          fmt::format("Timed out after {} ms finding the coordinator of {} '{}'",
                      absl::ToInt64Milliseconds(config_.request_timeout),
                      type == CoordinatorType::kGroup ? "group" : "transactional id", key));
    }
    absl::SleepFor(config_.retry_backoff);
  }
}

absl::StatusOr<v1::Coordinator> Admin::FindGroupCoordinator(const std::string& group) {
  return FindCoordinator(CoordinatorType::kGroup, group);
}

absl::StatusOr<v1::ListGroupsResponse> Admin::ListGroups(const std::vector<std::string>& states) {
  absl::StatusOr<v1::DescribeClusterResponse> cluster = DescribeCluster();
  if (!cluster.ok()) return cluster.status();
  v1::ListGroupsRequest request;
  for (const std::string& s : states) request.add_states_filter(s);
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  std::map<std::string, v1::ListedGroup> merged;
  for (const v1::BrokerDescription& b : cluster->brokers()) {
    if (b.fenced() || b.endpoints().empty()) continue;
    const std::string target = fmt::format("{}:{}", b.endpoints(0).host(), b.endpoints(0).port());
    while (true) {
      v1::ListGroupsResponse response;
      grpc::ClientContext ctx;
      SetDeadline(&ctx, deadline);
      absl::Status s = FromGrpcStatus(
          v1::Group::NewStub(pool_.Get(target))->ListGroups(&ctx, request, &response), target);
      bool retry = IsNetworkError(s) && !absl::IsDeadlineExceeded(s);
      if (s.ok() && response.error() != v1::NONE) {
        s = ErrorToStatus(response.error(), response.error_message());
        retry = response.error() == v1::COORDINATOR_LOAD_IN_PROGRESS ||
                response.error() == v1::COORDINATOR_NOT_AVAILABLE;
      }
      if (s.ok()) {
        for (const v1::ListedGroup& g : response.groups()) merged.emplace(g.group_id(), g);
        break;
      }
      if (!retry || absl::Now() + config_.retry_backoff >= deadline) {
        return absl::Status(s.code(), fmt::format("Failed to list the groups of broker {}: {}",
                                                  b.id(), std::string(s.message())));
      }
      absl::SleepFor(config_.retry_backoff);
    }
  }
  v1::ListGroupsResponse out;
  for (auto& [id, g] : merged) *out.add_groups() = std::move(g);
  return out;
}

absl::StatusOr<v1::DescribeGroupsResponse> Admin::DescribeGroups(
    const std::vector<std::string>& groups) {
  std::function<absl::StatusOr<std::vector<v1::DescribedGroup>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [this](const std::string& target, const std::vector<std::string>& these,
                    absl::Time deadline) -> absl::StatusOr<std::vector<v1::DescribedGroup>> {
    v1::DescribeGroupsRequest request;
    for (const std::string& g : these) request.add_groups(g);
    v1::DescribeGroupsResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->DescribeGroups(&ctx, request, &response), target);
    if (!s.ok()) return s;
    std::vector<v1::DescribedGroup> out;
    for (const std::string& g : these) {
      auto it = std::find_if(response.groups().begin(), response.groups().end(),
                             [&](const v1::DescribedGroup& d) { return d.group_id() == g; });
      if (it != response.groups().end()) {
        out.push_back(*it);
      } else {
        v1::DescribedGroup missing;
        missing.set_group_id(g);
        missing.set_error(v1::UNKNOWN_SERVER_ERROR);
        missing.set_error_message(fmt::format("The coordinator sent no result for group '{}'", g));
        out.push_back(std::move(missing));
      }
    }
    return out;
  };
  absl::StatusOr<std::vector<v1::DescribedGroup>> described = CallCoordinators<v1::DescribedGroup>(
      CoordinatorType::kGroup, groups, call, [](const v1::DescribedGroup& d) { return d.error(); },
      [](const std::string& g, v1::ErrorCode e, const std::string& m) {
        v1::DescribedGroup d;
        d.set_group_id(g);
        d.set_error(e);
        d.set_error_message(m);
        return d;
      });
  if (!described.ok()) return described.status();
  v1::DescribeGroupsResponse out;
  for (auto& d : *described) *out.add_groups() = std::move(d);
  return out;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Admin::ListGroupOffsets(
    const std::string& group, const std::vector<TopicPartition>& partitions) {
  v1::OffsetFetchRequest request;
  request.set_group_id(group);
  *request.mutable_topics() = TopicsOf(partitions);
  std::function<absl::StatusOr<std::vector<v1::OffsetFetchResponse>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [&](const std::string& target, const std::vector<std::string>&,
                 absl::Time deadline) -> absl::StatusOr<std::vector<v1::OffsetFetchResponse>> {
    v1::OffsetFetchResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->OffsetFetch(&ctx, request, &response), target);
    if (!s.ok()) return s;
    return std::vector<v1::OffsetFetchResponse>{std::move(response)};
  };
  absl::StatusOr<std::vector<v1::OffsetFetchResponse>> fetched =
      CallCoordinators<v1::OffsetFetchResponse>(
          CoordinatorType::kGroup, {group}, call,
          [](const v1::OffsetFetchResponse& r) { return r.error(); },
          [](const std::string&, v1::ErrorCode e, const std::string& m) {
            v1::OffsetFetchResponse r;
            r.set_error(e);
            r.set_error_message(m);
            return r;
          });
  if (!fetched.ok()) return fetched.status();
  const v1::OffsetFetchResponse& response = fetched->front();
  if (response.error() != v1::NONE) {
    return ErrorToStatus(response.error(), response.error_message());
  }
  std::map<TopicPartition, int64_t> offsets;
  for (const auto& t : response.topics()) {
    for (const auto& p : t.partitions()) {
      if (p.error() == v1::UNKNOWN_TOPIC_OR_PARTITION) continue;  // as Kafka's admin: skipped
      if (p.error() != v1::NONE) {
        absl::Status err = ErrorToStatus(p.error(), "");
        return absl::Status(err.code(),
                            fmt::format("Cannot fetch the offset of {}-{}: {}", t.name(),
                                        p.partition_index(), std::string(err.message())));
      }
      if (p.committed_offset() < 0) continue;
      offsets[TopicPartition{t.name(), PartitionId(p.partition_index())}] = p.committed_offset();
    }
  }
  return offsets;
}

absl::StatusOr<v1::OffsetCommitResponse> Admin::AlterGroupOffsets(
    const std::string& group, const std::map<TopicPartition, int64_t>& offsets) {
  v1::OffsetCommitRequest request;
  request.set_group_id(group);
  request.set_generation_id(-1);
  std::map<std::string, v1::OffsetCommitTopic*> by_topic;
  for (const auto& [tp, offset] : offsets) {
    v1::OffsetCommitTopic*& t = by_topic[tp.topic];
    if (t == nullptr) {
      t = request.add_topics();
      t->set_name(tp.topic);
    }
    v1::OffsetCommitPartition* p = t->add_partitions();
    p->set_partition_index(tp.partition.value());
    p->set_committed_offset(offset);
    p->set_committed_leader_epoch(-1);
  }
  std::function<absl::StatusOr<std::vector<v1::OffsetCommitResponse>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [&](const std::string& target, const std::vector<std::string>&,
                 absl::Time deadline) -> absl::StatusOr<std::vector<v1::OffsetCommitResponse>> {
    v1::OffsetCommitResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->OffsetCommit(&ctx, request, &response), target);
    if (!s.ok()) return s;
    return std::vector<v1::OffsetCommitResponse>{std::move(response)};
  };
  // OffsetCommit has no group-level error: a coordinator error comes in
  // every partition.
  auto error_of = [](const v1::OffsetCommitResponse& r) {
    for (const auto& t : r.topics()) {
      for (const auto& p : t.partitions()) {
        if (IsCoordinatorError(p.error())) return p.error();
      }
    }
    return v1::NONE;
  };
  auto error_result = [&request](const std::string&, v1::ErrorCode e, const std::string& m) {
    v1::OffsetCommitResponse r;
    for (const auto& t : request.topics()) {
      v1::OffsetCommitTopicResponse* tr = r.add_topics();
      tr->set_name(t.name());
      for (const auto& p : t.partitions()) {
        v1::OffsetCommitPartitionResponse* pr = tr->add_partitions();
        pr->set_partition_index(p.partition_index());
        pr->set_error(e);
        pr->set_error_message(m);
      }
    }
    return r;
  };
  absl::StatusOr<std::vector<v1::OffsetCommitResponse>> committed =
      CallCoordinators<v1::OffsetCommitResponse>(CoordinatorType::kGroup, {group}, call, error_of,
                                                 error_result);
  if (!committed.ok()) return committed.status();
  return committed->front();
}

absl::StatusOr<v1::DeleteGroupsResponse> Admin::DeleteGroups(
    const std::vector<std::string>& groups) {
  std::function<absl::StatusOr<std::vector<v1::DeletableGroupResult>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [this](const std::string& target, const std::vector<std::string>& these,
                    absl::Time deadline) -> absl::StatusOr<std::vector<v1::DeletableGroupResult>> {
    v1::DeleteGroupsRequest request;
    for (const std::string& g : these) request.add_group_ids(g);
    v1::DeleteGroupsResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->DeleteGroups(&ctx, request, &response), target);
    if (!s.ok()) return s;
    std::vector<v1::DeletableGroupResult> out;
    for (const std::string& g : these) {
      auto it = std::find_if(response.results().begin(), response.results().end(),
                             [&](const v1::DeletableGroupResult& r) { return r.group_id() == g; });
      if (it != response.results().end()) {
        out.push_back(*it);
      } else {
        v1::DeletableGroupResult missing;
        missing.set_group_id(g);
        missing.set_error(v1::UNKNOWN_SERVER_ERROR);
        missing.set_error_message(fmt::format("The coordinator sent no result for group '{}'", g));
        out.push_back(std::move(missing));
      }
    }
    return out;
  };
  absl::StatusOr<std::vector<v1::DeletableGroupResult>> deleted =
      CallCoordinators<v1::DeletableGroupResult>(
          CoordinatorType::kGroup, groups, call,
          [](const v1::DeletableGroupResult& r) { return r.error(); },
          [](const std::string& g, v1::ErrorCode e, const std::string& m) {
            v1::DeletableGroupResult r;
            r.set_group_id(g);
            r.set_error(e);
            r.set_error_message(m);
            return r;
          });
  if (!deleted.ok()) return deleted.status();
  v1::DeleteGroupsResponse out;
  for (auto& r : *deleted) *out.add_results() = std::move(r);
  return out;
}

absl::StatusOr<v1::OffsetDeleteResponse> Admin::DeleteGroupOffsets(
    const std::string& group, const std::vector<TopicPartition>& partitions) {
  v1::OffsetDeleteRequest request;
  request.set_group_id(group);
  *request.mutable_topics() = TopicsOf(partitions);
  std::function<absl::StatusOr<std::vector<v1::OffsetDeleteResponse>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [&](const std::string& target, const std::vector<std::string>&,
                 absl::Time deadline) -> absl::StatusOr<std::vector<v1::OffsetDeleteResponse>> {
    v1::OffsetDeleteResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Group::NewStub(pool_.Get(target))->OffsetDelete(&ctx, request, &response), target);
    if (!s.ok()) return s;
    return std::vector<v1::OffsetDeleteResponse>{std::move(response)};
  };
  absl::StatusOr<std::vector<v1::OffsetDeleteResponse>> deleted =
      CallCoordinators<v1::OffsetDeleteResponse>(
          CoordinatorType::kGroup, {group}, call,
          [](const v1::OffsetDeleteResponse& r) { return r.error(); },
          [](const std::string&, v1::ErrorCode e, const std::string& m) {
            v1::OffsetDeleteResponse r;
            r.set_error(e);
            r.set_error_message(m);
            return r;
          });
  if (!deleted.ok()) return deleted.status();
  return deleted->front();
}

// ---- Log directories

absl::StatusOr<std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>>
Admin::DescribeLogDirs(const std::vector<int32_t>& broker_ids,
                       const std::optional<std::vector<TopicPartition>>& partitions,
                       std::optional<absl::Duration> timeout) {
  std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>> out;
  if (broker_ids.empty()) return out;
  absl::StatusOr<v1::DescribeClusterResponse> cluster = DescribeCluster();
  if (!cluster.ok()) return cluster.status();
  v1::DescribeLogDirsRequest request;
  if (partitions.has_value()) {
    v1::DescribeLogDirsPartitions* wanted = request.mutable_partitions();
    std::map<std::string, v1::DescribeLogDirsTopic*> by_topic;
    for (const TopicPartition& tp : *partitions) {
      v1::DescribeLogDirsTopic*& t = by_topic[tp.topic];
      if (t == nullptr) {
        t = wanted->add_topics();
        t->set_topic(tp.topic);
      }
      t->add_partitions(tp.partition.value());
    }
  }

  // One broker's answer: retried at that broker only (Kafka's
  // StaticBrokerStrategy), on transport failures, until the call's own
  // timeout when it is the shorter.
  const absl::Time deadline =
      absl::Now() + std::min(config_.request_timeout, timeout.value_or(config_.request_timeout));
  auto ask = [&](int32_t id, const std::string& target,
                 bool once) -> absl::StatusOr<v1::DescribeLogDirsResponse> {
    while (true) {
      v1::DescribeLogDirsResponse response;
      grpc::ClientContext ctx;
      SetDeadline(&ctx, deadline);
      absl::Status s = FromGrpcStatus(
          v1::Admin::NewStub(pool_.Get(target))->DescribeLogDirs(&ctx, request, &response), target);
      if (s.ok()) {
        if (response.error() != v1::NONE) {
          return ErrorToStatus(response.error(), response.error_message());
        }
        return response;
      }
      if (once || !IsNetworkError(s) || absl::IsDeadlineExceeded(s) ||
          absl::Now() + config_.retry_backoff >= deadline) {
        return WithMessage(s, fmt::format("Failed to describe the log directories of broker {}: {}",
                                          id, std::string(s.message())));
      }
      absl::SleepFor(config_.retry_backoff);
    }
  };

  // Every answer's slot first, then one thread per broker asked, each
  // writing only its own slot.
  struct Target {
    absl::StatusOr<v1::DescribeLogDirsResponse>* slot;
    int32_t id;
    std::string address;
    bool once;
  };
  std::vector<Target> targets;
  for (int32_t id : broker_ids) {
    if (out.contains(id)) continue;
    auto b = std::find_if(cluster->brokers().begin(), cluster->brokers().end(),
                          [id](const v1::BrokerDescription& d) { return d.id() == id; });
    if (b == cluster->brokers().end() || b->endpoints().empty()) {
      out.emplace(id, absl::NotFoundError(fmt::format(
                          "Broker {} is not in the cluster (or has no client endpoint)", id)));
      continue;
    }
    auto slot = out.emplace(id, absl::UnknownError("not asked")).first;
    targets.push_back(Target{&slot->second, id,
                             fmt::format("{}:{}", b->endpoints(0).host(), b->endpoints(0).port()),
                             b->fenced()});
  }
  std::vector<std::thread> calls;
  for (const Target& t : targets) {
    calls.emplace_back([&ask, &t] { *t.slot = ask(t.id, t.address, t.once); });
  }
  for (std::thread& call : calls) call.join();
  return out;
}

// ---- Transactions

absl::StatusOr<v1::Coordinator> Admin::FindTransactionCoordinator(
    const std::string& transactional_id) {
  return FindCoordinator(CoordinatorType::kTransaction, transactional_id);
}

absl::StatusOr<std::map<int32_t, v1::ListTransactionsResponse>> Admin::ListTransactions(
    const std::vector<std::string>& states, const std::vector<int64_t>& producer_ids) {
  absl::StatusOr<v1::DescribeClusterResponse> cluster = DescribeCluster();
  if (!cluster.ok()) return cluster.status();
  v1::ListTransactionsRequest request;
  for (const std::string& s : states) request.add_state_filters(s);
  for (int64_t id : producer_ids) request.add_producer_id_filters(id);
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  std::map<int32_t, v1::ListTransactionsResponse> out;
  for (const v1::BrokerDescription& b : cluster->brokers()) {
    if (b.fenced() || b.endpoints().empty()) continue;
    const std::string target = fmt::format("{}:{}", b.endpoints(0).host(), b.endpoints(0).port());
    while (true) {
      v1::ListTransactionsResponse response;
      grpc::ClientContext ctx;
      SetDeadline(&ctx, deadline);
      absl::Status s = FromGrpcStatus(
          v1::Transaction::NewStub(pool_.Get(target))->ListTransactions(&ctx, request, &response),
          target);
      bool retry = IsNetworkError(s) && !absl::IsDeadlineExceeded(s);
      if (s.ok() && response.error() != v1::NONE) {
        s = ErrorToStatus(response.error(), response.error_message());
        retry = response.error() == v1::COORDINATOR_LOAD_IN_PROGRESS ||
                response.error() == v1::COORDINATOR_NOT_AVAILABLE;
      }
      if (s.ok()) {
        out[b.id()] = std::move(response);
        break;
      }
      if (!retry || absl::Now() + config_.retry_backoff >= deadline) {
        return WithMessage(s, fmt::format("Failed to list the transactions of broker {}: {}",
                                          b.id(), std::string(s.message())));
      }
      absl::SleepFor(config_.retry_backoff);
    }
  }
  return out;
}

absl::StatusOr<std::vector<TransactionDescription>> Admin::DescribeTransactions(
    const std::vector<std::string>& transactional_ids) {
  std::function<absl::StatusOr<std::vector<TransactionDescription>>(
      const std::string&, const std::vector<std::string>&, absl::Time)>
      call = [this](const std::string& target, const std::vector<std::string>& these,
                    absl::Time deadline) -> absl::StatusOr<std::vector<TransactionDescription>> {
    v1::DescribeTransactionsRequest request;
    for (const std::string& id : these) request.add_transactional_ids(id);
    v1::DescribeTransactionsResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Transaction::NewStub(pool_.Get(target))->DescribeTransactions(&ctx, request, &response),
        target);
    if (!s.ok()) return s;
    std::vector<TransactionDescription> out;
    for (const std::string& id : these) {
      TransactionDescription& d = out.emplace_back();
      d.coordinator_id = CachedCoordinatorId(CoordinatorType::kTransaction, id);
      auto it =
          std::find_if(response.transaction_states().begin(), response.transaction_states().end(),
                       [&](const v1::TransactionState& t) { return t.transactional_id() == id; });
      if (it != response.transaction_states().end()) {
        d.state = *it;
      } else {
        d.state.set_transactional_id(id);
        d.state.set_error(v1::UNKNOWN_SERVER_ERROR);
        d.state.set_error_message(
            fmt::format("The coordinator sent no result for transactional id '{}'", id));
      }
    }
    return out;
  };
  return CallCoordinators<TransactionDescription>(
      CoordinatorType::kTransaction, transactional_ids, call,
      [](const TransactionDescription& d) { return d.state.error(); },
      [](const std::string& id, v1::ErrorCode e, const std::string& m) {
        TransactionDescription d;
        d.state.set_transactional_id(id);
        d.state.set_error(e);
        d.state.set_error_message(m);
        return d;
      });
}

absl::StatusOr<std::map<TopicPartition, PartitionProducers>> Admin::DescribeProducers(
    const std::vector<TopicPartition>& partitions, std::optional<int32_t> broker_id) {
  std::map<TopicPartition, PartitionProducers> result;
  if (partitions.empty()) return result;
  std::set<std::string> topics;
  for (const TopicPartition& tp : partitions) topics.insert(tp.topic);
  absl::Status refreshed = metadata_.Refresh({topics.begin(), topics.end()});
  if (!refreshed.ok()) return refreshed;

  // One DescribeProducers call to `target`; keeps the producers of the
  // partitions answered NONE.
  LeaderRequest send = [&](const std::string& target, const std::vector<TopicPartition>& tps,
                           absl::Time deadline) -> absl::StatusOr<std::vector<PartitionAnswer>> {
    v1::DescribeProducersRequest request;
    std::map<std::string, v1::TxnTopic*> by_topic;
    for (const TopicPartition& tp : tps) {
      v1::TxnTopic*& t = by_topic[tp.topic];
      if (t == nullptr) {
        t = request.add_topics();
        t->set_name(tp.topic);
      }
      t->add_partitions(tp.partition.value());
    }
    v1::DescribeProducersResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Transaction::NewStub(pool_.Get(target))->DescribeProducers(&ctx, request, &response),
        target);
    if (!s.ok()) return s;
    std::vector<PartitionAnswer> answers;
    for (const v1::DescribeProducersPartition& p : response.partitions()) {
      TopicPartition tp{p.topic(), PartitionId(p.partition())};
      if (p.error() == v1::NONE) {
        result[tp].producers.assign(p.active_producers().begin(), p.active_producers().end());
      }
      answers.push_back(PartitionAnswer{tp, p.error(), p.error_message(), -1});
    }
    return answers;
  };

  if (!broker_id.has_value()) {
    const std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
    for (auto& [tp, status] :
         RequestAtLeaders(metadata_, wanted, config_.request_timeout, config_.retry_backoff,
                          "describing the producers of", send)) {
      result[tp].status = std::move(status);
    }
    return result;
  }

  // At one broker, as Kafka's StaticBrokerStrategy: only a transport
  // failure is retried there.
  std::optional<std::string> target = metadata_.BrokerAddress(*broker_id);
  if (!target.has_value()) {
    return absl::NotFoundError(
        fmt::format("Broker {} is not in the cluster's metadata", *broker_id));
  }
  const absl::Time deadline = absl::Now() + config_.request_timeout;
  absl::StatusOr<std::vector<PartitionAnswer>> answers;
  while (true) {
    answers = send(*target, partitions, deadline);
    if (answers.ok() || !IsNetworkError(answers.status()) ||
        absl::IsDeadlineExceeded(answers.status()) ||
        absl::Now() + config_.retry_backoff >= deadline) {
      break;
    }
    absl::SleepFor(config_.retry_backoff);
  }
  for (const TopicPartition& tp : partitions) {
    PartitionProducers& out = result[tp];
    if (!answers.ok()) {
      out.producers.clear();
      out.status = answers.status();
      continue;
    }
    auto it = std::find_if(answers->begin(), answers->end(),
                           [&](const PartitionAnswer& a) { return a.tp == tp; });
    if (it == answers->end()) {
      out.status = ErrorToStatus(
          v1::UNKNOWN_SERVER_ERROR,
          fmt::format("Broker {} sent no result for partition {}", *broker_id, tp.ToString()));
    } else if (it->error == v1::NOT_LEADER_OR_FOLLOWER) {
      // Kafka's words: the broker asked for is not one to ask.
      out.status =
          ErrorToStatus(it->error, fmt::format("Failed to describe active producers for partition "
                                               "{} on brokerId {}",
                                               tp.ToString(), *broker_id));
    } else {
      out.status = ErrorToStatus(it->error, it->message);
    }
  }
  return result;
}

absl::Status Admin::AbortTransaction(const AbortTransactionSpec& spec) {
  absl::Status refreshed = metadata_.Refresh({spec.partition.topic});
  if (!refreshed.ok()) return refreshed;
  LeaderRequest send = [&](const std::string& target, const std::vector<TopicPartition>& tps,
                           absl::Time deadline) -> absl::StatusOr<std::vector<PartitionAnswer>> {
    v1::WriteTxnMarkersRequest request;
    v1::WritableTxnMarker* m = request.add_markers();
    m->set_producer_id(spec.producer_id);
    m->set_producer_epoch(spec.producer_epoch);
    m->set_committed(false);
    m->set_coordinator_epoch(spec.coordinator_epoch);
    for (const TopicPartition& tp : tps) {
      v1::TxnMarkerPartition* p = m->add_partitions();
      p->set_topic(tp.topic);
      p->set_partition(tp.partition.value());
    }
    v1::WriteTxnMarkersResponse response;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Transaction::NewStub(pool_.Get(target))->WriteTxnMarkers(&ctx, request, &response),
        target);
    if (!s.ok()) return s;
    std::vector<PartitionAnswer> answers;
    for (const v1::WritableTxnMarkerResult& r : response.markers()) {
      if (r.producer_id() != spec.producer_id) continue;
      for (const v1::TxnMarkerPartitionResult& p : r.partitions()) {
        answers.push_back(PartitionAnswer{TopicPartition{p.topic(), PartitionId(p.partition())},
                                          p.error(), p.error_message(), -1});
      }
    }
    return answers;
  };
  std::map<TopicPartition, absl::Status> results =
      RequestAtLeaders(metadata_, {spec.partition}, config_.request_timeout, config_.retry_backoff,
                       "aborting the transaction on", send);
  auto it = results.find(spec.partition);
  if (it == results.end()) {
    return ErrorToStatus(v1::UNKNOWN_SERVER_ERROR,
                         fmt::format("No answer for partition {}", spec.partition.ToString()));
  }
  return it->second;
}

}  // namespace strata::client
