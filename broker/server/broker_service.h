// BrokerService: strata.v1.Broker on the PLAINTEXT listener — a thin adapter
// over ReplicaManager and the metadata image. Fetches that cannot be answered
// yet (fewer than min_bytes below the high watermark) and acks=all produces
// whose records the ISR does not have yet wait in the purgatory; no thread
// blocks per call.
#pragma once

#include <memory>

#include "broker/common/clock.h"
#include "broker/replication/replica_manager.h"
#include "broker/server/fetch_budget.h"
#include "broker/server/metadata_state_machine.h"
#include "broker/server/purgatory.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::server {

class BrokerService final : public v1::Broker::CallbackService {
 public:
  BrokerService(replication::ReplicaManager* replicas, MetadataStateMachine* metadata,
                Purgatory* purgatory, std::function<int32_t()> controller_id,
                FetchLimits fetch, Clock* clock);

  grpc::ServerUnaryReactor* Metadata(grpc::CallbackServerContext* ctx,
                                     const v1::MetadataRequest* request,
                                     v1::MetadataResponse* response) override;
  grpc::ServerUnaryReactor* Produce(grpc::CallbackServerContext* ctx,
                                    const v1::ProduceRequest* request,
                                    v1::ProduceResponse* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx, const v1::FetchRequest* request,
                                  v1::FetchResponse* response) override;
  grpc::ServerUnaryReactor* ListOffsets(grpc::CallbackServerContext* ctx,
                                        const v1::ListOffsetsRequest* request,
                                        v1::ListOffsetsResponse* response) override;

 private:
  // Reads every requested partition into `response`; returns the bytes read
  // and whether any partition answered with an error.
  // A partition named twice is answered INVALID_REQUEST the second time.
  size_t ReadAll(const v1::FetchRequest& request, v1::FetchResponse* response,
                 FetchReactor* reactor, bool* any_error);

  replication::ReplicaManager* const replicas_;
  MetadataStateMachine* const metadata_;
  Purgatory* const purgatory_;
  const std::function<int32_t()> controller_id_;
  const FetchLimits fetch_;
  // Stamps records produced without a timestamp.
  Clock* const clock_;
};

// Builds one uncompressed v2 batch from plain records (timestamp 0 -> now).
std::string BatchFromPlainRecords(const google::protobuf::RepeatedPtrField<v1::Record>& records,
                                  int64_t now_ms);

}  // namespace strata::server
