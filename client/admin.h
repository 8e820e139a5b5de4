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
// Consumer-group calls (strata.v1.Group) go to each group's coordinator: the
// admin asks any node FindCoordinator, remembers the answer, and sends the
// call to that host:port. A coordinator that answers NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE, or cannot be
// reached, is forgotten and looked up again after retry.backoff.ms, until
// request.timeout.ms; then the last answer is returned as it is. ListGroups
// asks every live broker, as Kafka's admin client does, since each node
// knows only the groups it coordinates. ListOffsets asks each partition's
// leader, found through Broker.Metadata.
//
// Transaction calls (strata.v1.Transaction, Kafka's KIP-664 admin calls)
// follow the same two routes: DescribeTransactions goes to each
// transactional id's coordinator (FindCoordinator with key type 1, cached
// and retried as for groups), ListTransactions to every live broker;
// DescribeProducers and AbortTransaction (an ABORT marker through
// WriteTxnMarkers) to each partition's leader, the only replica that
// answers them in Strata.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/connection_pool.h"
#include "client/leader_requests.h"
#include "client/metadata_cache.h"
#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/group.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"

namespace strata::client {

struct AdminConfig {
  std::string bootstrap_servers;
  // client.id, which every call carries (the nodes' quotas key on it);
  // empty: Kafka's "adminclient-<n>", n counting the admin clients this
  // process created.
  std::string client_id;
  absl::Duration request_timeout = absl::Milliseconds(30000);  // request.timeout.ms
  absl::Duration retry_backoff = absl::Milliseconds(100);      // retry.backoff.ms
  SecurityConfig security;  // security.protocol, ssl.*, sasl.* (security_config.h)
};

// What FindCoordinator is asked about: its key_type.
enum class CoordinatorType : int32_t { kGroup = 0, kTransaction = 1 };

// One transactional id's DescribeTransactions answer and the node that gave
// it (Kafka's TransactionDescription.coordinatorId). `state.error()` is the
// id's error (TRANSACTIONAL_ID_NOT_FOUND, ...); the other fields mean
// nothing unless it is NONE. `coordinator_id` is -1 when no coordinator
// answered.
struct TransactionDescription {
  int32_t coordinator_id = -1;
  v1::TransactionState state;
};

// One partition's DescribeProducers answer: its active producers, or why
// there is none to show (`status`).
struct PartitionProducers {
  absl::Status status;
  std::vector<v1::ProducerState> producers;
};

// The transaction to abort on one partition (Kafka's AbortTransactionSpec):
// the producer and the coordinator epoch its marker carries.
struct AbortTransactionSpec {
  TopicPartition partition;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t coordinator_epoch = 0;
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

  // Kafka's manual assignment: partition i gets `assignment[i]` (the first
  // replica its preferred leader); the partition count and replication
  // factor follow from it. Errors as CreateTopic.
  absl::StatusOr<v1::TopicResult> CreateTopicWithAssignment(
      const std::string& name, const std::vector<std::vector<int32_t>>& assignment,
      const std::map<std::string, std::string>& configs);

  // ---- Reassignment, brokers and configs (KIP-455, KIP-631, KIP-339)
  //
  // Each goes to any node (which forwards to the controller) and is retried
  // while the answer is NOT_CONTROLLER, until request.timeout.ms. An error
  // of the request as a whole comes back as the Status; per-partition and
  // per-resource errors are inside the response.

  // Starts (replicas set) or cancels (`cancel`) reassignments.
  absl::StatusOr<v1::AlterPartitionReassignmentsResponse> AlterPartitionReassignments(
      const v1::AlterPartitionReassignmentsRequest& request);
  // The reassignments under way: of `partitions`, or all when empty.
  absl::StatusOr<v1::ListPartitionReassignmentsResponse> ListPartitionReassignments(
      const std::vector<TopicPartition>& partitions = {});
  // Forgets a stopped broker (BROKER_ID_NOT_REGISTERED when it is not
  // registered; refused while it still holds replicas).
  absl::Status UnregisterBroker(int32_t broker_id);
  // Sets (SET) or removes (DELETE) configs of topics, brokers and the
  // cluster-wide broker default (BROKER ""); each resource changes whole or
  // not at all (INVALID_CONFIG names the refused config, in Kafka's words).
  absl::StatusOr<v1::IncrementalAlterConfigsResponse> IncrementalAlterConfigs(
      const v1::IncrementalAlterConfigsRequest& request);
  // Kafka's legacy AlterConfigs: each resource's dynamic configs become
  // exactly those given.
  absl::StatusOr<v1::AlterConfigsResponse> AlterConfigs(const v1::AlterConfigsRequest& request);
  // Every config of each resource with its value, source and (when asked)
  // synonyms; a broker resource is answered by that broker. Per-resource
  // errors are inside.
  absl::StatusOr<v1::DescribeConfigsResponse> DescribeConfigs(
      const v1::DescribeConfigsRequest& request);

  // ---- Log directories (Kafka's DescribeLogDirs, answered by each broker)

  // What each of `broker_ids` answers DescribeLogDirs about its own log
  // directories (Kafka's Admin.describeLogDirs): every partition it holds,
  // or, with `partitions`, only those (the ones it does not hold are left
  // out; an empty list asks for none). Each broker is asked directly, at
  // its client endpoint as DescribeCluster gives it, all of them at once;
  // a transport failure is retried there until request.timeout.ms (or
  // `timeout`, when given and shorter: for a caller that would rather
  // say a broker could not be asked than wait for one that died but is
  // not fenced yet), except for a fenced broker (most likely stopped),
  // which is tried once. Every broker asked for is in the answer: its
  // response, or why there is none — NotFound for an id the cluster does
  // not know, the transport's error, or the call's own error
  // (CLUSTER_AUTHORIZATION_FAILED, as ErrorToStatus). Fails as a whole
  // only when DescribeCluster does (which `timeout` does not bound).
  absl::StatusOr<std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>> DescribeLogDirs(
      const std::vector<int32_t>& broker_ids,
      const std::optional<std::vector<TopicPartition>>& partitions = std::nullopt,
      std::optional<absl::Duration> timeout = std::nullopt);

  // ---- ACLs, SCRAM credentials, client quotas (issue 16)
  //
  // As the calls above: any node, writes forwarded to the controller and
  // retried while NOT_CONTROLLER, until request.timeout.ms; an error of the
  // request as a whole is the Status; per-creation / filter / user / entity
  // errors are inside the response. The reads come from the node asked.

  absl::StatusOr<v1::CreateAclsResponse> CreateAcls(const v1::CreateAclsRequest& request);
  absl::StatusOr<v1::DescribeAclsResponse> DescribeAcls(const v1::DescribeAclsRequest& request);
  // Each filter's result lists the bindings it removed.
  absl::StatusOr<v1::DeleteAclsResponse> DeleteAcls(const v1::DeleteAclsRequest& request);
  // Users empty: every user with a credential; a user without one comes
  // back with RESOURCE_NOT_FOUND inside.
  absl::StatusOr<v1::DescribeUserScramCredentialsResponse> DescribeUserScramCredentials(
      const v1::DescribeUserScramCredentialsRequest& request);
  // Upsertions carry the salt and the salted password (the caller salts, as
  // Kafka's admin client does); the server keeps the derived keys.
  absl::StatusOr<v1::AlterUserScramCredentialsResponse> AlterUserScramCredentials(
      const v1::AlterUserScramCredentialsRequest& request);
  absl::StatusOr<v1::DescribeClientQuotasResponse> DescribeClientQuotas(
      const v1::DescribeClientQuotasRequest& request);
  absl::StatusOr<v1::AlterClientQuotasResponse> AlterClientQuotas(
      const v1::AlterClientQuotasRequest& request);

  // ---- Offsets of partitions (Broker.ListOffsets at each leader)

  // ListOffsets timestamps, as in Kafka's OffsetSpec.
  static constexpr int64_t kLatestTimestamp = -1;    // the high watermark
  static constexpr int64_t kEarliestTimestamp = -2;  // the log start offset

  // The offset for each partition's timestamp (kLatestTimestamp,
  // kEarliestTimestamp, or ms since the epoch: the first record at or
  // after it). Every requested partition is in the answer, with its own
  // status (an unknown topic or partition is NotFound at once; leadership
  // errors are retried until request.timeout.ms). Fails as a whole only
  // when no node answers Metadata.
  absl::StatusOr<std::map<TopicPartition, ListedOffset>> ListOffsets(
      const std::map<TopicPartition, int64_t>& timestamps);

  // Deletes the records below each partition's offset (-1: its high
  // watermark) at its leader, which answers once every in-sync replica has
  // moved its log start there: the answer's low watermark. Every requested
  // partition is in the answer, with its own status (OFFSET_OUT_OF_RANGE
  // past the high watermark; otherwise as ListOffsets). Fails as a whole
  // only when no node answers Metadata.
  absl::StatusOr<std::map<TopicPartition, DeletedRecords>> DeleteRecords(
      const std::map<TopicPartition, int64_t>& offsets);

  // ---- Consumer groups (strata.v1.Group, at each group's coordinator)

  // The coordinator of `group` (FindCoordinator at any node, retried while
  // COORDINATOR_NOT_AVAILABLE). Other errors come back as a Status.
  absl::StatusOr<v1::Coordinator> FindGroupCoordinator(const std::string& group);

  // The groups of every live broker (DescribeCluster), merged: each group
  // once, sorted by id. `states` filters by state ("Stable", "Empty", ...;
  // empty: all). Fails if a broker cannot be listed by request.timeout.ms
  // (COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE are retried).
  absl::StatusOr<v1::ListGroupsResponse> ListGroups(const std::vector<std::string>& states = {});

  // One DescribedGroup per id, in the order asked, each from its own
  // coordinator; coordinator_id is the node that answered. A group the
  // coordinator does not know is "Dead". Per-group errors are inside.
  absl::StatusOr<v1::DescribeGroupsResponse> DescribeGroups(const std::vector<std::string>& groups);

  // The group's committed offsets (OffsetFetch): for `partitions`, or every
  // partition with a commit when empty. Partitions without a commit are
  // left out. A group error (GROUP_ID_NOT_FOUND, ...) or a partition error
  // other than UNKNOWN_TOPIC_OR_PARTITION is returned as a Status.
  absl::StatusOr<std::map<TopicPartition, int64_t>> ListGroupOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions = {});

  // Commits `offsets` for the group from outside its generations
  // (generation -1, no member id): the coordinator takes it only while the
  // group has no members, and answers UNKNOWN_MEMBER_ID (or another group
  // error) per partition otherwise. The response as it came.
  absl::StatusOr<v1::OffsetCommitResponse> AlterGroupOffsets(
      const std::string& group, const std::map<TopicPartition, int64_t>& offsets);

  // Deletes groups (with their offsets); only groups without members can
  // go (NON_EMPTY_GROUP otherwise). One result per id, in the order asked.
  absl::StatusOr<v1::DeleteGroupsResponse> DeleteGroups(const std::vector<std::string>& groups);

  // Deletes the group's offsets of `partitions` (OffsetDelete); refused per
  // partition (GROUP_SUBSCRIBED_TO_TOPIC) while members subscribe to it.
  absl::StatusOr<v1::OffsetDeleteResponse> DeleteGroupOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions);

  // ---- Transactions (strata.v1.Transaction)

  // The coordinator of a transactional id, as FindGroupCoordinator.
  absl::StatusOr<v1::Coordinator> FindTransactionCoordinator(const std::string& transactional_id);

  // Every live broker's ListTransactions answer (the transactions it
  // coordinates), by broker id, as Kafka's listTransactions().allByBrokerId().
  // `states` ("Ongoing", ...) and `producer_ids` filter; empty: all. Fails
  // when a broker cannot be listed: COORDINATOR_LOAD_IN_PROGRESS and
  // COORDINATOR_NOT_AVAILABLE are retried until request.timeout.ms, other
  // errors at once.
  absl::StatusOr<std::map<int32_t, v1::ListTransactionsResponse>> ListTransactions(
      const std::vector<std::string>& states = {}, const std::vector<int64_t>& producer_ids = {});

  // One description per id, in the order asked, each from its coordinator
  // (NOT_COORDINATOR and loading coordinators are retried until
  // request.timeout.ms). Per-id errors are inside; the Status fails only
  // when a coordinator could not be reached in that time, or a
  // FindCoordinator call failed outright.
  absl::StatusOr<std::vector<TransactionDescription>> DescribeTransactions(
      const std::vector<std::string>& transactional_ids);

  // The active producers of each partition (DescribeProducers), asked of
  // its leader, or of `broker_id` when given (Kafka's
  // DescribeProducersOptions.brokerId: no retry elsewhere, and a broker
  // that does not lead the partition answers NOT_LEADER_OR_FOLLOWER, an
  // error of that partition). Every partition asked for is in the answer,
  // with its own status (as ListOffsets'). Fails as a whole only when no
  // node answers Metadata, or `broker_id` is not a known broker.
  absl::StatusOr<std::map<TopicPartition, PartitionProducers>> DescribeProducers(
      const std::vector<TopicPartition>& partitions, std::optional<int32_t> broker_id = {});

  // Aborts a hanging transaction (Kafka's Admin.abortTransaction): an ABORT
  // marker for the producer, written by the partition's leader
  // (WriteTxnMarkers; leadership errors are retried until
  // request.timeout.ms). The partition's error otherwise, with its wire
  // code (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, ...).
  absl::Status AbortTransaction(const AbortTransactionSpec& spec);

 private:
  using CoordinatorKey = std::pair<CoordinatorType, std::string>;

  // CreateTopics for the one topic in `request`: its result, or its error.
  absl::StatusOr<v1::TopicResult> CreateOneTopic(const v1::CreateTopicsRequest& request);
  Admin(AdminConfig config, std::vector<std::string> bootstrap);

  // Calls `method` on any node, retrying while no node answers or the
  // answer is NOT_CONTROLLER (`retry_on` says so), until request.timeout.ms.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                                const Request& request,
                                bool (*retry_on)(const Response&) = nullptr);

  // Runs `call` for `groups` (group or transactional ids, as `type` says)
  // at their coordinators, one call per coordinator with its groups, and
  // again for the groups whose result `error_of` says is a coordinator error
  // or whose coordinator could not be reached, until request.timeout.ms.
  // `call` gets the target "host:port", the groups for it and the deadline,
  // and returns one result per group. Groups whose coordinator cannot be
  // found get `error_result`. Results come in the order of `groups`.
  template <typename Result>
  absl::StatusOr<std::vector<Result>> CallCoordinators(
      CoordinatorType type, const std::vector<std::string>& groups,
      const std::function<absl::StatusOr<std::vector<Result>>(
          const std::string& target, const std::vector<std::string>& groups, absl::Time deadline)>&
          call,
      const std::function<v1::ErrorCode(const Result&)>& error_of,
      const std::function<Result(const std::string& group, v1::ErrorCode error,
                                 const std::string& message)>& error_result);

  // FindCoordinator for the groups not cached yet; fills `targets` with
  // "host:port" and `failed` with the groups whose lookup gave a
  // non-retriable error. Retriable errors leave a group out of both.
  absl::Status LookUpCoordinators(CoordinatorType type, const std::vector<std::string>& groups,
                                  absl::Time deadline, std::map<std::string, std::string>* targets,
                                  std::map<std::string, v1::Coordinator>* failed);
  void ForgetCoordinator(CoordinatorType type, const std::string& group);
  // The node id of the cached coordinator of `key`; -1 if none is cached.
  int32_t CachedCoordinatorId(CoordinatorType type, const std::string& key);
  absl::StatusOr<v1::Coordinator> FindCoordinator(CoordinatorType type, const std::string& key);

  const AdminConfig config_;
  const std::vector<std::string> bootstrap_;
  ConnectionPool pool_;
  std::atomic<size_t> preferred_{0};
  MetadataCache metadata_;

  absl::Mutex mu_;
  absl::flat_hash_map<CoordinatorKey, v1::Coordinator> coordinators_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::client
