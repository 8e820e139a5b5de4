// ReplicaService: strata.internal.Replica on the CONTROLLER listener — what
// a partition leader answers its followers: Fetch (long-polling, from the
// log end rather than the high watermark, recording each follower's
// progress) and OffsetForLeaderEpoch.
#pragma once

#include "broker/replication/replica_manager.h"
#include "broker/server/purgatory.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::server {

class ReplicaService final : public internal::Replica::CallbackService {
 public:
  ReplicaService(replication::ReplicaManager* replicas, Purgatory* purgatory);

  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx,
                                  const internal::ReplicaFetchRequest* request,
                                  internal::ReplicaFetchResponse* response) override;
  grpc::ServerUnaryReactor* OffsetForLeaderEpoch(
      grpc::CallbackServerContext* ctx, const internal::OffsetForLeaderEpochRequest* request,
      internal::OffsetForLeaderEpochResponse* response) override;

 private:
  // Reads every partition into `response`; returns the bytes read and
  // whether any partition answered with an error.
  size_t ReadAll(const internal::ReplicaFetchRequest& request,
                 internal::ReplicaFetchResponse* response, bool* any_error);

  replication::ReplicaManager* const replicas_;
  Purgatory* const purgatory_;
};

}  // namespace strata::server
