// BrokerService: strata.v1.Broker on the PLAINTEXT listener — a thin gRPC
// adapter over the request layer (broker/request/handlers.h): it decodes a
// call into the protocol-neutral request, calls the handler, and encodes the
// response when the handler completes it (at once, or from the purgatory:
// no thread blocks per call).
#pragma once

#include <memory>

#include "broker/metrics/metrics.h"
#include "broker/request/handlers.h"
#include "broker/server/service_security.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::server {

class BrokerService final : public v1::Broker::CallbackService {
 public:
  // `produce_metrics`, when given, counts each request of a ProduceStream
  // (the interceptor sees the stream as one call).
  explicit BrokerService(request::RequestHandlers* handlers, ServiceSecurity security = {},
                         metrics::RequestMetrics* produce_metrics = nullptr);

  grpc::ServerUnaryReactor* Metadata(grpc::CallbackServerContext* ctx,
                                     const v1::MetadataRequest* request,
                                     v1::MetadataResponse* response) override;
  grpc::ServerUnaryReactor* Produce(grpc::CallbackServerContext* ctx,
                                    const v1::ProduceRequest* request,
                                    v1::ProduceResponse* response) override;
  grpc::ServerBidiReactor<v1::ProduceRequest, v1::ProduceResponse>* ProduceStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx, const v1::FetchRequest* request,
                                  v1::FetchResponse* response) override;
  grpc::ServerUnaryReactor* ListOffsets(grpc::CallbackServerContext* ctx,
                                        const v1::ListOffsetsRequest* request,
                                        v1::ListOffsetsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRecords(grpc::CallbackServerContext* ctx,
                                          const v1::DeleteRecordsRequest* request,
                                          v1::DeleteRecordsResponse* response) override;
  grpc::ServerUnaryReactor* InitProducerId(grpc::CallbackServerContext* ctx,
                                           const v1::InitProducerIdRequest* request,
                                           v1::InitProducerIdResponse* response) override;

 private:
  class ProduceStreamReactor;

  request::RequestHandlers* const handlers_;
  const ServiceSecurity security_;
  metrics::RequestMetrics* const produce_metrics_;
};

// The reactor of one fetch call: keeps the response's share of the fetch
// memory until gRPC has sent it.
class FetchCallReactor final : public grpc::ServerUnaryReactor {
 public:
  void Finish(std::shared_ptr<request::FetchShare> memory) {
    memory_ = std::move(memory);
    ServerUnaryReactor::Finish(grpc::Status::OK);
  }
  void OnDone() override { delete this; }
  void OnCancel() override {}  // the purgatory answers the call at its deadline

 private:
  std::shared_ptr<request::FetchShare> memory_;
};

}  // namespace strata::server
