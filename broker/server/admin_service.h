// AdminService: strata.v1.Admin on the PLAINTEXT listener. Reads (list,
// describe) come from this node's metadata image (request::RequestHandlers);
// changes, DescribeConfigs and ListPartitionReassignments go through
// request::AdminOps (AdminRouter: decided here when this node is the
// controller, forwarded over the CONTROLLER listener otherwise, answered
// once this node's own image shows the change, so a client that asks the
// same node next sees it).
//
// An adapter: it decodes the wire messages into the broker's own admin
// types (admin_codec.h), calls, and encodes the answers back; the rules
// live in metadata::Controller and the routing in AdminRouter.
#pragma once

#include <map>
#include <memory>

#include "broker/request/admin_ops.h"
#include "broker/request/handlers.h"
#include "broker/server/admin_router.h"
#include "broker/server/controller_channel.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/quorum_controller.h"
#include "broker/server/server_config.h"
#include "broker/server/service_security.h"
#include "raft/node/raft_node.h"
#include "strata/internal/controller.grpc.pb.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::server {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `router` answers every call that changes metadata or may need another
  // node; this service only converts (admin_codec.h). On a broker-only node
  // `raft` is null.
  AdminService(const ServerConfig& config, MetadataStateMachine* metadata, raft::RaftNode* raft,
               ControllerChannel* controller_channel, request::RequestHandlers* handlers,
               std::unique_ptr<AdminRouter> router, ServiceSecurity security = {});

  // The admin operations, for the node's own needs (internal and
  // auto-created topics) and its other transports.
  request::AdminOps* ops() { return router_.get(); }

  grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTopicsRequest* request,
                                         v1::CreateTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopics(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteTopicsRequest* request,
                                         v1::DeleteTopicsResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* ctx,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* response) override;
  grpc::ServerUnaryReactor* ListTopics(grpc::CallbackServerContext* ctx,
                                       const v1::ListTopicsRequest* request,
                                       v1::ListTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeTopics(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeTopicsRequest* request,
                                           v1::DescribeTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeCluster(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeClusterRequest* request,
                                            v1::DescribeClusterResponse* response) override;
  grpc::ServerUnaryReactor* DescribeQuorum(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeQuorumRequest* request,
                                           v1::DescribeQuorumResponse* response) override;
  grpc::ServerUnaryReactor* ElectLeaders(grpc::CallbackServerContext* ctx,
                                         const v1::ElectLeadersRequest* request,
                                         v1::ElectLeadersResponse* response) override;
  grpc::ServerUnaryReactor* AlterPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
      v1::AlterPartitionReassignmentsResponse* response) override;
  // From the controller's image (asked of it when it is another node); a
  // controller that did not answer fails the call (UNAVAILABLE).
  grpc::ServerUnaryReactor* ListPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::ListPartitionReassignmentsRequest* request,
      v1::ListPartitionReassignmentsResponse* response) override;
  // This node's own log directories (request::RequestHandlers), never
  // forwarded: a client asks each broker it wants to know about.
  grpc::ServerUnaryReactor* DescribeLogDirs(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeLogDirsRequest* request,
                                            v1::DescribeLogDirsResponse* response) override;
  grpc::ServerUnaryReactor* UnregisterBroker(grpc::CallbackServerContext* ctx,
                                             const v1::UnregisterBrokerRequest* request,
                                             v1::UnregisterBrokerResponse* response) override;
  grpc::ServerUnaryReactor* IncrementalAlterConfigs(
      grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
      v1::IncrementalAlterConfigsResponse* response) override;
  // A call carrying kForwardedHeader came from another node: answered here.
  grpc::ServerUnaryReactor* DescribeConfigs(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeConfigsRequest* request,
                                            v1::DescribeConfigsResponse* response) override;
  grpc::ServerUnaryReactor* AlterConfigs(grpc::CallbackServerContext* ctx,
                                         const v1::AlterConfigsRequest* request,
                                         v1::AlterConfigsResponse* response) override;

  // Security (issue 16): the writes through the router, the reads from
  // this node's image (AdminOps).
  grpc::ServerUnaryReactor* CreateAcls(grpc::CallbackServerContext* ctx,
                                       const v1::CreateAclsRequest* request,
                                       v1::CreateAclsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeAcls(grpc::CallbackServerContext* ctx,
                                         const v1::DescribeAclsRequest* request,
                                         v1::DescribeAclsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteAcls(grpc::CallbackServerContext* ctx,
                                       const v1::DeleteAclsRequest* request,
                                       v1::DeleteAclsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeUserScramCredentials(
      grpc::CallbackServerContext* ctx, const v1::DescribeUserScramCredentialsRequest* request,
      v1::DescribeUserScramCredentialsResponse* response) override;
  grpc::ServerUnaryReactor* AlterUserScramCredentials(
      grpc::CallbackServerContext* ctx, const v1::AlterUserScramCredentialsRequest* request,
      v1::AlterUserScramCredentialsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeClientQuotas(
      grpc::CallbackServerContext* ctx, const v1::DescribeClientQuotasRequest* request,
      v1::DescribeClientQuotasResponse* response) override;
  grpc::ServerUnaryReactor* AlterClientQuotas(grpc::CallbackServerContext* ctx,
                                              const v1::AlterClientQuotasRequest* request,
                                              v1::AlterClientQuotasResponse* response) override;

 private:
  const ServerConfig& config_;
  MetadataStateMachine* const metadata_;
  raft::RaftNode* const raft_;
  // Who the controller is, on a broker-only node (DescribeQuorum).
  ControllerChannel* const controller_channel_;
  // The admin reads (topics, cluster), answered below the transport.
  request::RequestHandlers* const handlers_;
  const std::unique_ptr<AdminRouter> router_;
  // Authorization: every client call goes through the session's checks
  // (request::Authorized), as on the Kafka listener.
  const ServiceSecurity security_;
  request::Authorized::Admin Checked(const grpc::ServerContextBase* ctx) const {
    return request::Authorized::Admin(router_.get(), security_.Authz(ctx));
  }
};

// strata.internal.Controller on the CONTROLLER listener: a thin adapter over
// QuorumController.
class ControllerService final : public internal::Controller::CallbackService {
 public:
  explicit ControllerService(QuorumController* controller) : controller_(controller) {}

  grpc::ServerUnaryReactor* RegisterBroker(grpc::CallbackServerContext* ctx,
                                           const internal::BrokerRegistrationRequest* request,
                                           internal::BrokerRegistrationResponse* response) override;
  grpc::ServerUnaryReactor* BrokerHeartbeat(grpc::CallbackServerContext* ctx,
                                            const internal::BrokerHeartbeatRequest* request,
                                            internal::BrokerHeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTopicsRequest* request,
                                         v1::CreateTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopics(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteTopicsRequest* request,
                                         v1::DeleteTopicsResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* ctx,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* response) override;
  grpc::ServerUnaryReactor* AlterPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
      v1::AlterPartitionReassignmentsResponse* response) override;
  grpc::ServerUnaryReactor* UnregisterBroker(grpc::CallbackServerContext* ctx,
                                             const v1::UnregisterBrokerRequest* request,
                                             v1::UnregisterBrokerResponse* response) override;
  grpc::ServerUnaryReactor* IncrementalAlterConfigs(
      grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
      v1::IncrementalAlterConfigsResponse* response) override;
  grpc::ServerUnaryReactor* ElectLeaders(grpc::CallbackServerContext* ctx,
                                         const v1::ElectLeadersRequest* request,
                                         v1::ElectLeadersResponse* response) override;
  grpc::ServerUnaryReactor* CreateInternalTopics(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateTopicsRequest* request,
                                                 v1::CreateTopicsResponse* response) override;
  grpc::ServerUnaryReactor* AlterPartition(
      grpc::CallbackServerContext* ctx, const internal::AlterPartitionBatchRequest* request,
      internal::AlterPartitionBatchResponse* response) override;
  grpc::ServerUnaryReactor* AllocateProducerIds(
      grpc::CallbackServerContext* ctx, const internal::AllocateProducerIdsRequest* request,
      internal::AllocateProducerIdsResponse* response) override;
  grpc::ServerUnaryReactor* AlterSecurity(grpc::CallbackServerContext* ctx,
                                          const internal::AlterSecurityRequest* request,
                                          internal::AlterSecurityResponse* response) override;

 private:
  QuorumController* const controller_;
};

}  // namespace strata::server
