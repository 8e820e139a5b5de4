// ReplicaService: strata.internal.Replica on the CONTROLLER listener — what
// a partition leader answers its followers: Fetch (long-polling, from the
// log end rather than the high watermark, recording each follower's
// progress) and OffsetForLeaderEpoch.
#pragma once

#include "broker/replication/replica_manager.h"
#include "broker/server/fetch_budget.h"
#include "broker/server/purgatory.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::server {

class ReplicaService final : public internal::Replica::CallbackService {
 public:
  ReplicaService(replication::ReplicaManager* replicas, Purgatory* purgatory, FetchLimits fetch);

  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx,
                                  const internal::ReplicaFetchRequest* request,
                                  internal::ReplicaFetchResponse* response) override;
  grpc::ServerUnaryReactor* OffsetForLeaderEpoch(
      grpc::CallbackServerContext* ctx, const internal::OffsetForLeaderEpochRequest* request,
      internal::OffsetForLeaderEpochResponse* response) override;

 private:
  // Reads every partition into `response`; returns the bytes read and
  // whether any partition answered with an error.
  // A partition named twice is answered INVALID_REQUEST the second time.
  size_t ReadAll(const internal::ReplicaFetchRequest& request,
                 internal::ReplicaFetchResponse* response, FetchReactor* reactor,
                 bool* any_error);

  replication::ReplicaManager* const replicas_;
  Purgatory* const purgatory_;
  const FetchLimits fetch_;
};

}  // namespace strata::server
