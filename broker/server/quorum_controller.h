// QuorumController: runs the controller on whichever node leads the metadata
// quorum. Requests queue up and are handled one at a time on the
// controller's thread: decide against the current image (metadata::
// Controller), propose the records through Raft, and answer once they commit
// — so no decision is ever made on an image that misses an earlier one. A
// node that is not the Raft leader answers NOT_CONTROLLER with the leader it
// knows. Every controller_tick it also lets the controller fence expired
// brokers and re-elect leaders.
//
// A new term means a new controller: the volatile heartbeat state starts
// fresh, and before the first decision a barrier entry is committed so the
// image holds every entry of earlier terms.
//
// Time (the tick, broker contact times) is read only through the injected
// Clock. Thread-safe; callbacks run on the controller's thread.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/controller.h"
#include "broker/server/metadata_state_machine.h"
#include "client/common/clock.h"
#include "prometheus/histogram.h"
#include "raft/node/raft_node.h"

namespace strata::server {

class QuorumController {
 public:
  QuorumController(metadata::ControllerOptions options, raft::RaftNode* raft,
                   MetadataStateMachine* metadata, Clock* clock, int64_t tick_ms = 250);
  ~QuorumController();

  void Start();
  void Stop();

  // Each commit's time from its proposal to the quorum's commit goes into
  // `histogram` (strata_raft_commit_latency_seconds). Before Start.
  void ObserveCommits(prometheus::Histogram* histogram) { commit_seconds_ = histogram; }

  // The admin calls, in the broker's own types (broker/metadata/
  // admin_types.h); the transports convert.
  void CreateTopics(metadata::CreateTopicsRequest request,
                    std::function<void(metadata::CreateTopicsResponse)> done);
  void DeleteTopics(metadata::DeleteTopicsRequest request,
                    std::function<void(metadata::DeleteTopicsResponse)> done);
  void CreatePartitions(metadata::CreatePartitionsRequest request,
                        std::function<void(metadata::CreatePartitionsResponse)> done);
  void RegisterBroker(internal::BrokerRegistrationRequest request,
                      std::function<void(internal::BrokerRegistrationResponse)> done);
  void BrokerHeartbeat(internal::BrokerHeartbeatRequest request,
                       std::function<void(internal::BrokerHeartbeatResponse)> done);
  void AlterPartition(internal::AlterPartitionBatchRequest request,
                      std::function<void(internal::AlterPartitionBatchResponse)> done);
  // The next block of producer ids for a broker (KIP-730), answered once
  // its ProducerIdsRecord is in the image.
  void AllocateProducerIds(internal::AllocateProducerIdsRequest request,
                           std::function<void(internal::AllocateProducerIdsResponse)> done);
  void ElectLeaders(metadata::ElectLeadersRequest request,
                    std::function<void(metadata::ElectLeadersResponse)> done);
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest request,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done);
  void UnregisterBroker(metadata::UnregisterBrokerRequest request,
                        std::function<void(metadata::UnregisterBrokerResponse)> done);
  void IncrementalAlterConfigs(metadata::IncrementalAlterConfigsRequest request,
                               std::function<void(metadata::IncrementalAlterConfigsResponse)> done);
  // CreateAcls, DeleteAcls, AlterUserScramCredentials or AlterClientQuotas
  // (metadata/security_admin.h), answered in the request's case.
  void AlterSecurity(metadata::AlterSecurityRequest request,
                     std::function<void(metadata::AlterSecurityResponse)> done);

  // The metadata quorum leader as this node sees it (-1: none known).
  int32_t leader_id() const;

  // Fills a response with an error when an operation cannot be decided or
  // committed.
  template <typename Response>
  using FailFn = std::function<void(Response*, ErrorCode, const std::string&)>;

 private:
  // An operation returns the outcome: OK once its records committed (or
  // there were none), or why not.
  using Op = std::function<void()>;
  void Enqueue(Op op);
  bool stopping() const;
  void Loop();
  // Queues one controller operation: when this node is the controller,
  // `decide` runs against the current image, its records are committed and
  // `done` gets the decision's response; otherwise `fail` fills it.
  template <typename Response>
  void Submit(std::function<metadata::Decision<Response>()> decide, FailFn<Response> fail,
              std::function<void(Response)> done);
  template <typename Response>
  FailFn<Response> FailBroker();
  // Ensures this node leads and its controller is fresh; false if not leader.
  bool BecomeActive();
  // Proposes a batch and waits for it to commit.
  absl::Status Commit(const internal::MetadataRecordBatch& batch);
  std::string NotControllerMessage() const;

  const metadata::ControllerOptions options_;
  raft::RaftNode* const raft_;
  prometheus::Histogram* commit_seconds_ = nullptr;
  MetadataStateMachine* const metadata_;
  Clock* const clock_;
  const int64_t tick_ms_;

  // The controller thread's own.
  std::unique_ptr<metadata::Controller> controller_;
  uint64_t controller_term_ = 0;
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::server
