// GrpcLeaderEndpoint: the replica fetcher's LeaderEndpoint over gRPC — the
// strata.internal.Replica service on a leader's CONTROLLER listener
// (broker/server/replica_service.h answers it). A thin adapter: it converts
// requests and answers to and from the internal protos, maps error codes at
// this edge (wire_errors.h), and turns a failed call into a non-OK status.
//
// Deadlines: OffsetForLeaderEpoch 5 s; Fetch the long poll's max_wait_ms
// plus 5 s, so a leader that holds the poll to its end still answers in
// time.
//
// Thread-safe as LeaderEndpoint requires: one caller at a time, Close from
// any thread (it cancels the call in flight).
#pragma once

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/replication/leader_endpoint.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace strata::server {

class GrpcLeaderEndpoint final : public replication::LeaderEndpoint {
 public:
  // `channel` is asked at every call (null: the leader's address is not
  // known yet), so a leader that re-registered elsewhere is found there.
  explicit GrpcLeaderEndpoint(std::function<std::shared_ptr<grpc::Channel>()> channel);

  absl::StatusOr<replication::FetchResponse> Fetch(
      const replication::FetchRequest& request) override;
  absl::StatusOr<replication::OffsetForLeaderEpochResponse> OffsetForLeaderEpoch(
      const replication::OffsetForLeaderEpochRequest& request) override;
  void Close() override;

 private:
  // Runs `call` with `ctx` registered, so that Close can cancel it.
  template <typename Call>
  absl::Status Track(grpc::ClientContext* ctx, Call call);

  const std::function<std::shared_ptr<grpc::Channel>()> channel_;
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* in_flight_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace strata::server
