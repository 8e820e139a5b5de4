// Authorized: the request layer behind Kafka's authorization checks — one
// place, for both client listeners, that decides what a session may do
// before a handler, a coordinator or an admin operation runs (Kafka's
// KafkaApis authorize calls, API by API).
//
//   request::Authorized authz(access, session);   // per request; cheap
//   authz.Produce(handlers, std::move(request), done);
//
// Each method has the signature of the call it guards, with the callee
// first. A refused resource never reaches the callee: it is answered with
// Kafka's error (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED) in
// the place the callee's answer would have had it, so a transport encodes
// the answer as it always does. Per-resource APIs (Produce, Fetch,
// CreateTopics, ...) refuse resource by resource and pass the rest on;
// APIs on one resource (a group, a transactional id) refuse whole.
// Listings (Metadata of all topics, ListGroups, ListTransactions) leave
// out what the session may not describe, as Kafka does. A topic the
// session may not describe is answered TOPIC_AUTHORIZATION_FAILED whether
// or not it exists, so names cannot be probed.
//
// The operations checked, as Kafka 3.7 checks them:
//   Produce                 Write topic
//   Fetch (consumer)        Read topic
//   ListOffsets, OffsetForLeaderEpoch, Metadata, DescribeTopics
//                           Describe topic (Metadata auto-creation: Create
//                           on the cluster or the topic)
//   InitProducerId          Write transactional id; without one,
//                           IdempotentWrite cluster or Write on any topic
//   FindCoordinator         Describe group / transactional id
//   Join/Sync/Heartbeat/Leave, OffsetCommit
//                           Read group (OffsetCommit: and Read topic)
//   OffsetFetch             Describe group, Describe topic
//   DescribeGroups          Describe group;  ListGroups: Describe cluster,
//                           else only the groups it may describe
//   DeleteGroups            Delete group;  OffsetDelete: Delete group,
//                           Read topic
//   AddPartitionsToTxn      Write transactional id, Write topic
//   AddOffsetsToTxn         Write transactional id, Read group
//   EndTxn                  Write transactional id
//   TxnOffsetCommit         Write transactional id, Read group, Read topic
//   DescribeTransactions    Describe transactional id;  ListTransactions:
//                           only the ids it may describe
//   DescribeProducers       Read topic
//   WriteTxnMarkers         ClusterAction cluster
//   DeleteRecords           Delete topic
//   CreateTopics            Create cluster or Create topic
//   DeleteTopics            Delete topic;  CreatePartitions: Alter topic
//   DescribeConfigs         DescribeConfigs topic / cluster (brokers)
//   AlterConfigs, IncrementalAlterConfigs
//                           AlterConfigs topic / cluster (brokers)
//   ElectLeaders, AlterPartitionReassignments, UnregisterBroker
//                           Alter cluster
//   ListPartitionReassignments, DescribeCluster's quorum, DescribeLogDirs
//                           Describe cluster (DescribeLogDirs refused whole:
//                           the call's error, no log dirs)
//
// Without an authorizer (access null or disabled) every call passes
// straight through. Completion is the callee's: `done` runs once, on
// whichever thread the callee runs it — or at once for a request refused
// whole.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "broker/group/group_api.h"
#include "broker/group/group_coordinator.h"
#include "broker/request/access_control.h"
#include "broker/request/admin_ops.h"
#include "broker/request/api.h"
#include "broker/request/handlers.h"
#include "broker/security/principal.h"
#include "broker/txn/transaction_coordinator.h"
#include "broker/txn/txn_api.h"

namespace strata::request {

class Authorized {
 public:
  Authorized(const AccessControl* access, security::Session session)
      : access_(access != nullptr && access->enabled() ? access : nullptr),
        session_(std::move(session)) {}

  bool enabled() const { return access_ != nullptr; }
  const security::Session& session() const { return session_; }

  // Whether the session may do `op` on the resource (true without an
  // authorizer).
  bool Allowed(security::AclOperation op, security::ResourceType type, std::string_view name) const;
  bool AllowedCluster(security::AclOperation op) const;

  // ---- RequestHandlers ----
  void Produce(RequestHandlers& h, ProduceRequest request,
               std::function<void(ProduceResponse)> done) const;
  void Fetch(RequestHandlers& h, FetchRequest request,
             std::function<void(FetchResponse)> done) const;
  ListOffsetsResponse ListOffsets(RequestHandlers& h, ListOffsetsRequest request) const;
  std::vector<EpochEndResult> OffsetForLeaderEpoch(
      RequestHandlers& h, std::vector<EpochRequestPartition> partitions) const;
  MetadataResponse Metadata(RequestHandlers& h, MetadataRequest request,
                            const std::string& listener) const;
  std::vector<CoordinatorResult> FindCoordinator(RequestHandlers& h,
                                                 const FindCoordinatorRequest& request,
                                                 const std::string& listener) const;
  void InitProducerId(RequestHandlers& h, const InitProducerIdRequest& request,
                      std::function<void(InitProducerIdResponse)> done) const;
  void WriteTxnMarkers(RequestHandlers& h, WriteTxnMarkersRequest request,
                       std::function<void(WriteTxnMarkersResponse)> done) const;
  std::vector<replication::ProducersResult> DescribeProducers(
      RequestHandlers& h, const std::vector<std::pair<std::string, int32_t>>& partitions) const;
  void DeleteRecords(RequestHandlers& h, DeleteRecordsRequest request,
                     std::function<void(DeleteRecordsResponse)> done) const;
  std::vector<std::string> ListTopics(RequestHandlers& h, bool include_internal) const;
  std::vector<TopicDescription> DescribeTopics(RequestHandlers& h,
                                               DescribeTopicsRequest request) const;
  DescribeLogDirsResponse DescribeLogDirs(RequestHandlers& h,
                                          const DescribeLogDirsRequest& request) const;

  // ---- the group coordinator ----
  void JoinGroup(group::GroupCoordinator& g, group::JoinGroupRequest request,
                 std::function<void(group::JoinGroupResponse)> done) const;
  void SyncGroup(group::GroupCoordinator& g, group::SyncGroupRequest request,
                 std::function<void(group::SyncGroupResponse)> done) const;
  group::GroupResult Heartbeat(group::GroupCoordinator& g,
                               const group::HeartbeatRequest& request) const;
  void LeaveGroup(group::GroupCoordinator& g, group::LeaveGroupRequest request,
                  std::function<void(group::LeaveGroupResponse)> done) const;
  void OffsetCommit(group::GroupCoordinator& g, group::OffsetCommitRequest request,
                    std::function<void(group::OffsetCommitResponse)> done) const;
  void TxnOffsetCommit(group::GroupCoordinator& g, group::TxnOffsetCommitRequest request,
                       std::function<void(group::OffsetCommitResponse)> done) const;
  group::OffsetFetchResponse OffsetFetch(group::GroupCoordinator& g,
                                         group::OffsetFetchRequest request) const;
  std::vector<group::GroupDescription> DescribeGroups(
      group::GroupCoordinator& g, const std::vector<std::string>& group_ids) const;
  group::ListGroupsResponse ListGroups(group::GroupCoordinator& g,
                                       const std::vector<std::string>& states) const;
  void DeleteGroups(group::GroupCoordinator& g, std::vector<std::string> group_ids,
                    std::function<void(std::vector<group::DeletedGroup>)> done) const;
  void OffsetDelete(group::GroupCoordinator& g, group::OffsetDeleteRequest request,
                    std::function<void(group::OffsetDeleteResponse)> done) const;

  // ---- the transaction coordinator ----
  void AddPartitionsToTxn(txn::TransactionCoordinator& t, txn::AddPartitionsToTxnRequest request,
                          std::function<void(txn::AddPartitionsToTxnResponse)> done) const;
  void AddOffsetsToTxn(txn::TransactionCoordinator& t, txn::AddOffsetsToTxnRequest request,
                       std::function<void(txn::TxnResult)> done) const;
  void EndTxn(txn::TransactionCoordinator& t, txn::EndTxnRequest request,
              std::function<void(txn::TxnResult)> done) const;
  std::vector<txn::TransactionDescription> DescribeTransactions(
      txn::TransactionCoordinator& t, const std::vector<std::string>& transactional_ids) const;
  txn::ListTransactionsResponse ListTransactions(txn::TransactionCoordinator& t,
                                                 const txn::ListTransactionsRequest& request) const;

  // ---- admin: an AdminOps that checks, then calls `inner` ----
  class Admin;

 private:
  const AccessControl* access_;
  security::Session session_;
};

// The admin operations behind the checks above; construct per request
// (holds a copy of the session), call like any AdminOps.
class Authorized::Admin final : public AdminOps {
 public:
  Admin(AdminOps* inner, Authorized authz) : inner_(inner), authz_(std::move(authz)) {}

  void CreateTopics(metadata::CreateTopicsRequest request,
                    std::function<void(metadata::CreateTopicsResponse)> done) override;
  void AutoCreateTopics(metadata::CreateTopicsRequest request,
                        std::function<void(metadata::CreateTopicsResponse)> done) override;
  void CreateInternalTopics(metadata::CreateTopicsRequest request,
                            std::function<void(metadata::CreateTopicsResponse)> done) override;
  void DeleteTopics(metadata::DeleteTopicsRequest request,
                    std::function<void(metadata::DeleteTopicsResponse)> done) override;
  void CreatePartitions(metadata::CreatePartitionsRequest request,
                        std::function<void(metadata::CreatePartitionsResponse)> done) override;
  void ElectLeaders(metadata::ElectLeadersRequest request,
                    std::function<void(metadata::ElectLeadersResponse)> done) override;
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest request,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) override;
  void ListPartitionReassignments(
      ListPartitionReassignmentsRequest request,
      std::function<void(ListPartitionReassignmentsResponse)> done) override;
  void UnregisterBroker(metadata::UnregisterBrokerRequest request,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override;
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest request,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override;
  void AlterConfigs(metadata::IncrementalAlterConfigsRequest request,
                    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override;
  void DescribeConfigs(DescribeConfigsRequest request,
                       std::function<void(DescribeConfigsResponse)> done) override;
  // ACLs and SCRAM credentials: Alter (writes) or Describe (reads) on the
  // cluster; client quotas: AlterConfigs / DescribeConfigs on the cluster.
  // Refused whole with CLUSTER_AUTHORIZATION_FAILED.
  void CreateAcls(metadata::CreateAclsRequest request,
                  std::function<void(metadata::CreateAclsResponse)> done) override;
  void DeleteAcls(metadata::DeleteAclsRequest request,
                  std::function<void(metadata::DeleteAclsResponse)> done) override;
  void AlterUserScramCredentials(
      metadata::AlterUserScramCredentialsRequest request,
      std::function<void(metadata::AlterUserScramCredentialsResponse)> done) override;
  void AlterClientQuotas(metadata::AlterClientQuotasRequest request,
                         std::function<void(metadata::AlterClientQuotasResponse)> done) override;
  metadata::DescribeAclsResponse DescribeAcls(
      const metadata::DescribeAclsRequest& request) override;
  metadata::DescribeUserScramCredentialsResponse DescribeUserScramCredentials(
      const metadata::DescribeUserScramCredentialsRequest& request) override;
  metadata::DescribeClientQuotasResponse DescribeClientQuotas(
      const metadata::DescribeClientQuotasRequest& request) override;

 private:
  AdminOps* const inner_;
  const Authorized authz_;
};

}  // namespace strata::request
