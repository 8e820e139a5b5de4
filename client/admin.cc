#include "client/admin.h"

#include <chrono>

#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<Admin>> Admin::Create(AdminConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap =
      ParseBootstrapServers(config.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  return std::unique_ptr<Admin>(new Admin(std::move(config), *std::move(bootstrap)));
}

Admin::Admin(AdminConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)), bootstrap_(std::move(bootstrap)) {}

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
  absl::StatusOr<v1::CreateTopicsResponse> response = RawCreateTopics(request);
  if (!response.ok()) return response.status();
  absl::Status s = SingleResult(response->results(), name);
  if (!s.ok()) return s;
  for (const auto& r : response->results()) {
    if (r.name() == name) return r;
  }
  return v1::TopicResult();
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

}  // namespace strata::client
