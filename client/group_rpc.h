// GroupRpc: the strata.v1.Group calls a group member makes, behind an
// interface so that the consumer's group logic (consumer_coordinator.h) can
// be driven by a scripted fake in tests and by gRPC in production.
//
// Every call completes exactly once by running `done` with the response or
// with a transport error (FromGrpcStatus: Unavailable / DeadlineExceeded for
// a node that did not answer, Cancelled after CancelAll()). `done` may run
// on the calling thread or on any other; it must not block. FindCoordinator
// goes to any node (the bootstrap list in turn); the others go to `target`,
// the coordinator's "host:port".
//
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/connection_pool.h"
#include "strata/v1/group.pb.h"

namespace strata::client {

template <typename Response>
using RpcDone = std::function<void(absl::StatusOr<Response>)>;

class GroupRpc {
 public:
  virtual ~GroupRpc() = default;

  virtual void FindCoordinator(const v1::FindCoordinatorRequest& request, absl::Duration timeout,
                               RpcDone<v1::FindCoordinatorResponse> done) = 0;
  virtual void JoinGroup(const std::string& target, const v1::JoinGroupRequest& request,
                         absl::Duration timeout, RpcDone<v1::JoinGroupResponse> done) = 0;
  virtual void SyncGroup(const std::string& target, const v1::SyncGroupRequest& request,
                         absl::Duration timeout, RpcDone<v1::SyncGroupResponse> done) = 0;
  virtual void Heartbeat(const std::string& target, const v1::HeartbeatRequest& request,
                         absl::Duration timeout, RpcDone<v1::HeartbeatResponse> done) = 0;
  virtual void LeaveGroup(const std::string& target, const v1::LeaveGroupRequest& request,
                          absl::Duration timeout, RpcDone<v1::LeaveGroupResponse> done) = 0;
  virtual void OffsetCommit(const std::string& target, const v1::OffsetCommitRequest& request,
                            absl::Duration timeout, RpcDone<v1::OffsetCommitResponse> done) = 0;
  virtual void OffsetFetch(const std::string& target, const v1::OffsetFetchRequest& request,
                           absl::Duration timeout, RpcDone<v1::OffsetFetchResponse> done) = 0;

  // Cancels every call in flight and returns once all their `done`s have
  // run. Calls made afterwards still work.
  virtual void CancelAll() = 0;
};

// Over gRPC callback stubs on `pool`'s channels. `bootstrap`: the nodes
// FindCoordinator may ask.
std::unique_ptr<GroupRpc> MakeGrpcGroupRpc(ConnectionPool* pool,
                                           std::vector<std::string> bootstrap);

// Runs `start` (one GroupRpc call given its completion) and waits for the
// answer.
template <typename Response>
absl::StatusOr<Response> CallAndWait(const std::function<void(RpcDone<Response>)>& start);

template <typename Response>
absl::StatusOr<Response> CallAndWait(const std::function<void(RpcDone<Response>)>& start) {
  struct Slot {
    absl::Notification done;
    absl::StatusOr<Response> result = absl::UnknownError("no answer");
  };
  auto slot = std::make_shared<Slot>();
  start([slot](absl::StatusOr<Response> r) {
    slot->result = std::move(r);
    slot->done.Notify();
  });
  slot->done.WaitForNotification();
  return std::move(slot->result);
}

}  // namespace strata::client
