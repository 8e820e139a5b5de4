// The transaction services, thin gRPC adapters over the transaction
// coordinator (broker/txn/transaction_coordinator.h), the group coordinator
// (TxnOffsetCommit) and the request layer:
//  - TransactionService, strata.v1.Transaction on the PLAINTEXT listener
//    (a transactional producer's calls, and what `strata transactions`
//    reads);
//  - TxnMarkerService, strata.internal.TxnMarker on the CONTROLLER listener
//    (coordinators having partition leaders write markers).
// Calls waiting on the coordinator or on replication hold no thread.
#pragma once

#include "broker/group/group_coordinator.h"
#include "broker/request/handlers.h"
#include "broker/server/service_security.h"
#include "broker/txn/transaction_coordinator.h"
#include "strata/internal/txn_marker.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"

namespace strata::server {

class TransactionService final : public v1::Transaction::CallbackService {
 public:
  TransactionService(txn::TransactionCoordinator* coordinator, group::GroupCoordinator* groups,
                     request::RequestHandlers* handlers, ServiceSecurity security = {});

  grpc::ServerUnaryReactor* AddPartitionsToTxn(grpc::CallbackServerContext* ctx,
                                               const v1::AddPartitionsToTxnRequest* request,
                                               v1::AddPartitionsToTxnResponse* response) override;
  grpc::ServerUnaryReactor* AddOffsetsToTxn(grpc::CallbackServerContext* ctx,
                                            const v1::AddOffsetsToTxnRequest* request,
                                            v1::AddOffsetsToTxnResponse* response) override;
  grpc::ServerUnaryReactor* EndTxn(grpc::CallbackServerContext* ctx,
                                   const v1::EndTxnRequest* request,
                                   v1::EndTxnResponse* response) override;
  grpc::ServerUnaryReactor* TxnOffsetCommit(grpc::CallbackServerContext* ctx,
                                            const v1::TxnOffsetCommitRequest* request,
                                            v1::TxnOffsetCommitResponse* response) override;
  grpc::ServerUnaryReactor* DescribeTransactions(
      grpc::CallbackServerContext* ctx, const v1::DescribeTransactionsRequest* request,
      v1::DescribeTransactionsResponse* response) override;
  grpc::ServerUnaryReactor* ListTransactions(grpc::CallbackServerContext* ctx,
                                             const v1::ListTransactionsRequest* request,
                                             v1::ListTransactionsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeProducers(grpc::CallbackServerContext* ctx,
                                              const v1::DescribeProducersRequest* request,
                                              v1::DescribeProducersResponse* response) override;
  grpc::ServerUnaryReactor* WriteTxnMarkers(grpc::CallbackServerContext* ctx,
                                            const v1::WriteTxnMarkersRequest* request,
                                            v1::WriteTxnMarkersResponse* response) override;

 private:
  txn::TransactionCoordinator* const coordinator_;
  group::GroupCoordinator* const groups_;
  request::RequestHandlers* const handlers_;
  const ServiceSecurity security_;
};

class TxnMarkerService final : public internal::TxnMarker::CallbackService {
 public:
  explicit TxnMarkerService(request::RequestHandlers* handlers) : handlers_(handlers) {}

  grpc::ServerUnaryReactor* WriteTxnMarkers(grpc::CallbackServerContext* ctx,
                                            const internal::WriteTxnMarkersRequest* request,
                                            internal::WriteTxnMarkersResponse* response) override;

 private:
  request::RequestHandlers* const handlers_;
};

}  // namespace strata::server
