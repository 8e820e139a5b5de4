// ReplicaService: strata.internal.Replica on the CONTROLLER listener — what
// a partition leader answers its followers: Fetch (long-polling, from the
// log end rather than the high watermark, recording each follower's
// progress), OffsetForLeaderEpoch, and ListOffsets for other nodes (consumer
// lag metrics). A thin gRPC adapter over the request layer, as BrokerService
// is.
#pragma once

#include "broker/request/handlers.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::server {

// Fetch is served raw: its answer is written as slices over the records
// read (replica_fetch_wire.h), which protobuf would copy.
class ReplicaService final
    : public internal::Replica::WithRawCallbackMethod_Fetch<internal::Replica::CallbackService> {
 public:
  explicit ReplicaService(request::RequestHandlers* handlers);

  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListOffsets(grpc::CallbackServerContext* ctx,
                                        const v1::ListOffsetsRequest* request,
                                        v1::ListOffsetsResponse* response) override;
  grpc::ServerUnaryReactor* OffsetForLeaderEpoch(
      grpc::CallbackServerContext* ctx, const internal::OffsetForLeaderEpochRequest* request,
      internal::OffsetForLeaderEpochResponse* response) override;

 private:
  request::RequestHandlers* const handlers_;
};

}  // namespace strata::server
