// AdminRouter: request::AdminOps for this node — where an admin call goes.
// A change is decided here when this node is the controller
// (QuorumController), otherwise forwarded to the controller over the
// CONTROLLER listener (strata.internal.Controller, through the
// ControllerChannel); no controller known, or a forward that fails, fails
// the call whole (NOT_CONTROLLER; REQUEST_TIMED_OUT when the forward timed
// out, since it may have committed). DescribeConfigs of another broker asks
// that broker's Admin service; ListPartitionReassignments asks the
// controller's. The security writes (CreateAcls, DeleteAcls,
// AlterUserScramCredentials, AlterClientQuotas) travel to the controller as
// one call, AlterSecurity; their reads answer from this node's image.
//
// The answer to a client's change waits until this node's metadata image
// shows it (metadata::ImageShows), bounded by Options::image_wait, without
// holding a thread: the answer is parked in `purgatory` under one key,
// "the metadata image moved" (kImageKey), which a MetadataStateMachine
// subscriber checks after every image; the purgatory's reaper answers at
// the bound. So `done` runs on the calling thread, the controller's
// thread, a gRPC completion thread, the Raft (or observer) thread that
// published the image, or the purgatory's reaper — never while the router
// holds a lock.
//
// Thread-safe. `metadata`, `channel` and `purgatory` must outlive the
// router; answers parked in `purgatory` hold none of the router's state,
// so the router may go first (the purgatory's Shutdown answers them).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/metadata/admin_types.h"
#include "broker/purgatory/purgatory.h"
#include "broker/request/admin_ops.h"
#include "broker/server/controller_channel.h"
#include "broker/server/metadata_state_machine.h"
#include "client/common/clock.h"
#include "strata/internal/controller.grpc.pb.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::server {

class QuorumController;

class AdminRouter final : public request::AdminOps {
 public:
  // What this node decides when it is the controller: QuorumController's
  // admin calls (LocalControllerOf adapts one). A seam, so tests decide
  // without a Raft quorum. `done` as in QuorumController.
  class LocalController {
   public:
    virtual ~LocalController() = default;
    virtual void CreateTopics(metadata::CreateTopicsRequest request,
                              std::function<void(metadata::CreateTopicsResponse)> done) = 0;
    virtual void DeleteTopics(metadata::DeleteTopicsRequest request,
                              std::function<void(metadata::DeleteTopicsResponse)> done) = 0;
    virtual void CreatePartitions(metadata::CreatePartitionsRequest request,
                                  std::function<void(metadata::CreatePartitionsResponse)> done) = 0;
    virtual void ElectLeaders(metadata::ElectLeadersRequest request,
                              std::function<void(metadata::ElectLeadersResponse)> done) = 0;
    virtual void AlterPartitionReassignments(
        metadata::AlterPartitionReassignmentsRequest request,
        std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) = 0;
    virtual void UnregisterBroker(metadata::UnregisterBrokerRequest request,
                                  std::function<void(metadata::UnregisterBrokerResponse)> done) = 0;
    virtual void IncrementalAlterConfigs(
        metadata::IncrementalAlterConfigsRequest request,
        std::function<void(metadata::IncrementalAlterConfigsResponse)> done) = 0;
    virtual void AlterSecurity(metadata::AlterSecurityRequest request,
                               std::function<void(metadata::AlterSecurityResponse)> done) = 0;
  };
  // nullptr for nullptr (a broker-only node, never the controller).
  static std::unique_ptr<LocalController> LocalControllerOf(QuorumController* controller);

  struct Options {
    int32_t node_id = -1;
    // This broker's static log settings (server.properties), for
    // DescribeConfigs of its topics and of itself.
    std::map<std::string, std::string> log_overrides;
    // How long a change's answer waits for this node's image to show it;
    // after that it is answered as the controller answered.
    absl::Duration image_wait = absl::Seconds(3);
    // A forward to the controller; a timeout may have committed.
    std::chrono::milliseconds forward_timeout = std::chrono::seconds(30);
  };

  // The purgatory key of "this node's metadata image moved".
  static purgatory::WatchKey ImageKey();

  // Subscribes to `metadata`: construct before the Raft node (or observer)
  // starts. `local` null: this node never decides (broker-only).
  AdminRouter(Options options, MetadataStateMachine* metadata,
              std::unique_ptr<LocalController> local, ControllerChannel* channel,
              purgatory::Purgatory* purgatory, Clock* clock);

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
      request::ListPartitionReassignmentsRequest request,
      std::function<void(request::ListPartitionReassignmentsResponse)> done) override;
  void UnregisterBroker(metadata::UnregisterBrokerRequest request,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override;
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest request,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override;
  void AlterConfigs(metadata::IncrementalAlterConfigsRequest request,
                    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override;
  void DescribeConfigs(request::DescribeConfigsRequest request,
                       std::function<void(request::DescribeConfigsResponse)> done) override;

  // The security writes travel to the controller as one call
  // (LocalController::AlterSecurity, Controller.AlterSecurity when
  // forwarded); the reads are answered from this node's image.
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

  // A stub to `node`'s Admin service (its PLAINTEXT listener in `image`),
  // kept for later calls; nullptr when the image has no such endpoint.
  // AdminService asks the quorum's leader through it too.
  v1::Admin::Stub* AdminStubFor(int32_t node, const metadata::MetadataImage& image);

 private:
  // How the answer to a routed call is given.
  enum class Answer { kWhenImageShows, kWhenDecided };

  // Sends `request` to the controller: decided by `local_` when this node
  // is it; otherwise `forward` (an async Controller stub call) sends it,
  // encoded, to the node that is, and the answer is decoded. When neither
  // can, or the forward fails, the call fails whole (metadata::FailWhole).
  template <typename Request, typename Response, typename Forward>
  void Route(Request request,
             void (LocalController::*decide)(Request, std::function<void(Response)>),
             Forward forward, Answer answer, std::function<void(Response)> done);
  // Calls `done(response)` once this node's image shows what `response`
  // reports as changed for `request`, or after options_.image_wait.
  template <typename Request, typename Response>
  void AnswerWhenImageShows(Request request, Response response, std::function<void(Response)> done);
  // One security write, routed as AlterSecurity; `done` gets the answer of
  // the request's case.
  template <typename Response, typename Request>
  void RouteSecurity(Request request, std::string_view call, std::function<void(Response)> done);
  // One resource of a DescribeConfigs, from `image` and this node's
  // static settings.
  request::DescribeConfigsResult DescribeHere(const metadata::MetadataImage& image,
                                              const request::DescribeConfigsResource& res,
                                              bool synonyms) const;

  const Options options_;
  MetadataStateMachine* const metadata_;
  const std::unique_ptr<LocalController> local_;
  ControllerChannel* const channel_;
  purgatory::Purgatory* const purgatory_;
  Clock* const clock_;
  absl::Mutex stubs_mu_;
  std::map<int32_t, std::unique_ptr<v1::Admin::Stub>> admin_stubs_ ABSL_GUARDED_BY(stubs_mu_);
};

}  // namespace strata::server
