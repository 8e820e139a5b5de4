// AdminService: strata.v1.Admin on the PLAINTEXT listener. Reads (list,
// describe) come from this node's metadata image; changes go to the
// controller — handled here when this node is it, forwarded over the
// CONTROLLER listener otherwise — and the answer waits until this node's own
// image shows the change, so a client that asks the same node next sees it.
//
// An adapter: it decodes the wire messages into the broker's own admin
// types (broker/metadata/admin_types.h), which the controller decides, and
// encodes the answers back; the rules live in metadata::Controller.
#pragma once

#include <map>
#include <memory>

#include "broker/request/handlers.h"
#include "broker/server/controller_channel.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/quorum_controller.h"
#include "broker/server/server_config.h"
#include "raft/node/raft_node.h"
#include "strata/internal/controller.grpc.pb.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::server {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // Has the controller create internal topics (__consumer_offsets) on this
  // broker's behalf, which CreateTopics refuses to clients.
  void CreateInternalTopics(metadata::CreateTopicsRequest request,
                            std::function<void(metadata::CreateTopicsResponse)> done);
  // Has the controller create topics on this broker's behalf as a client's
  // CreateTopics would (Metadata's auto-creation): decided here or
  // forwarded, answered once decided, without waiting for the image.
  void CreateTopics(metadata::CreateTopicsRequest request,
                    std::function<void(metadata::CreateTopicsResponse)> done);

  AdminService(const ServerConfig& config, MetadataStateMachine* metadata,
               QuorumController* controller, raft::RaftNode* raft,
               ControllerChannel* controller_channel, request::RequestHandlers* handlers);

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
  // From the controller's image (asked of it when it is another node).
  grpc::ServerUnaryReactor* ListPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::ListPartitionReassignmentsRequest* request,
      v1::ListPartitionReassignmentsResponse* response) override;
  grpc::ServerUnaryReactor* UnregisterBroker(grpc::CallbackServerContext* ctx,
                                             const v1::UnregisterBrokerRequest* request,
                                             v1::UnregisterBrokerResponse* response) override;
  grpc::ServerUnaryReactor* IncrementalAlterConfigs(
      grpc::CallbackServerContext* ctx, const v1::IncrementalAlterConfigsRequest* request,
      v1::IncrementalAlterConfigsResponse* response) override;
  // Topics and the cluster default from this node's image; a broker id
  // other than this node's is asked of that broker (its static settings are
  // its own), or answered with its dynamic configs only when it has no
  // endpoint here.
  grpc::ServerUnaryReactor* DescribeConfigs(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeConfigsRequest* request,
                                            v1::DescribeConfigsResponse* response) override;
  grpc::ServerUnaryReactor* AlterConfigs(grpc::CallbackServerContext* ctx,
                                         const v1::AlterConfigsRequest* request,
                                         v1::AlterConfigsResponse* response) override;

 private:
  // One DescribeConfigs resource (a topic, or a broker resource) from
  // `image` and this node's static settings.
  void DescribeConfigsHere(const metadata::MetadataImage& image,
                           const v1::DescribeConfigsResource& res, bool synonyms,
                           v1::DescribeConfigsResult* out);
  // CreateInternalTopics and CreateTopics (request.internal tells which).
  void CreateTopicsForBroker(metadata::CreateTopicsRequest request,
                             std::function<void(metadata::CreateTopicsResponse)> done);
  // The controller's stub when it is another node; nullptr when it is this
  // node or unknown (`*leader` tells which).
  internal::Controller::Stub* ControllerStub(int32_t* leader);
  // Sends `request` (decoded from `wire`) to the controller: `decide` when
  // this node is it; otherwise `forward` (an async Controller stub call)
  // sends `wire` as it came to the node that is, and the answer is decoded.
  // When neither can, or the forward fails, the call fails whole
  // (metadata::FailWhole). `finish` gets the answer.
  template <typename WireResponse, typename Request, typename Response, typename WireRequest,
            typename Forward>
  void Route(const WireRequest* wire, Request request,
             void (QuorumController::*decide)(Request, std::function<void(Response)>),
             Forward forward, std::function<void(Response)> finish);
  // Decodes an admin call, routes it to the controller, and encodes the
  // answer into `out` once this node's image shows what it changed
  // (metadata::ImageShows).
  template <typename Request, typename Response, typename WireRequest, typename WireResponse,
            typename Forward>
  grpc::ServerUnaryReactor* RouteToController(
      grpc::CallbackServerContext* ctx, const WireRequest* wire, WireResponse* out,
      void (QuorumController::*decide)(Request, std::function<void(Response)>), Forward forward);
  // A stub to `node`'s Admin service (its PLAINTEXT listener in `image`),
  // kept for later calls; nullptr when the image has no such endpoint.
  v1::Admin::Stub* AdminStubFor(int32_t node, const metadata::MetadataImage& image);
  // Waits (bounded) until this node's image satisfies `done`.
  void AwaitImage(const std::function<bool(const metadata::MetadataImage&)>& done);

  const ServerConfig& config_;
  MetadataStateMachine* const metadata_;
  QuorumController* const controller_;
  raft::RaftNode* const raft_;
  // Calls to the controller when this node is not it.
  ControllerChannel* const controller_channel_;
  // The admin reads (topics, cluster), answered below the transport.
  request::RequestHandlers* const handlers_;
  std::map<int32_t, std::unique_ptr<v1::Admin::Stub>> admin_stubs_;
  absl::Mutex stubs_mu_;
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

 private:
  QuorumController* const controller_;
};

}  // namespace strata::server
