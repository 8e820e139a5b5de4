// Admin: topic and cluster administration through any node.
//
// Every call goes to a node of the bootstrap list ("h1:p1,h2:p2"); a node
// that cannot be reached is skipped and the next one tried, and the node
// that answered is asked first next time. Nodes forward changes to the
// controller, so any node will do.
//
// Two layers: the Raw* methods return the service's response as it came
// (per-topic errors inside), for callers such as the CLI that report every
// topic; the others turn a single topic's error into an absl::Status (see
// client/errors.h; ErrorCodeOf() gives the Kafka code). Requests that the
// controller could not take because it is changing (NOT_CONTROLLER, or no
// node reachable) are retried until request.timeout.ms.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/connection_pool.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::client {

struct AdminConfig {
  std::string bootstrap_servers;
  absl::Duration request_timeout = absl::Milliseconds(30000);  // request.timeout.ms
  absl::Duration retry_backoff = absl::Milliseconds(100);      // retry.backoff.ms
};

class Admin {
 public:
  static absl::StatusOr<std::unique_ptr<Admin>> Create(AdminConfig config);

  absl::StatusOr<v1::CreateTopicsResponse> RawCreateTopics(const v1::CreateTopicsRequest& request);
  absl::StatusOr<v1::DeleteTopicsResponse> RawDeleteTopics(const v1::DeleteTopicsRequest& request);
  absl::StatusOr<v1::CreatePartitionsResponse> RawCreatePartitions(
      const v1::CreatePartitionsRequest& request);
  absl::StatusOr<v1::DescribeTopicsResponse> RawDescribeTopics(
      const v1::DescribeTopicsRequest& request);

  // partitions / replication_factor -1: the broker's defaults.
  absl::StatusOr<v1::TopicResult> CreateTopic(const std::string& name, int32_t partitions,
                                              int32_t replication_factor,
                                              const std::map<std::string, std::string>& configs);
  absl::Status DeleteTopic(const std::string& name);
  // Raises the partition count to `total`.
  absl::Status CreatePartitions(const std::string& name, int32_t total);
  // Sorted names.
  absl::StatusOr<std::vector<std::string>> ListTopics(bool include_internal = false);
  // `names` empty: every topic. A topic that does not exist comes back with
  // its error inside the response.
  absl::StatusOr<v1::DescribeTopicsResponse> DescribeTopics(const std::vector<std::string>& names,
                                                            bool include_internal = false);
  absl::StatusOr<v1::DescribeClusterResponse> DescribeCluster();
  absl::StatusOr<v1::DescribeQuorumResponse> DescribeQuorum();
  // Preferred or unclean leader election (KIP-460).
  absl::StatusOr<v1::ElectLeadersResponse> ElectLeaders(const v1::ElectLeadersRequest& request);

 private:
  Admin(AdminConfig config, std::vector<std::string> bootstrap);

  // Calls `method` on any node, retrying while no node answers or the
  // answer is NOT_CONTROLLER (`retry_on` says so), until request.timeout.ms.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                                const Request& request,
                                bool (*retry_on)(const Response&) = nullptr);

  const AdminConfig config_;
  const std::vector<std::string> bootstrap_;
  ConnectionPool pool_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace strata::client
