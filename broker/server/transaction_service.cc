#include "broker/server/transaction_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "broker/server/wire_errors.h"

namespace strata::server {
namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// Partitions nested by topic, in the order topics first appear.
template <typename Topics>
void AddTopics(const std::vector<txn::TxnTopicPartition>& partitions, Topics* out) {
  std::map<std::string, int> index;
  for (const txn::TxnTopicPartition& tp : partitions) {
    auto [it, inserted] = index.try_emplace(tp.topic, out->size());
    if (inserted) out->Add()->set_name(tp.topic);
    (*out)[it->second].add_partitions(tp.partition);
  }
}

// An epoch from a proto's int32: out of int16's range is an epoch no
// producer has (-1 is "none" to the coordinator, which refuses it).
int16_t Epoch(int32_t epoch) {
  return epoch < INT16_MIN || epoch > INT16_MAX ? int16_t{-1} : static_cast<int16_t>(epoch);
}

// WriteTxnMarkers, for both services' messages (the same fields).
template <typename Request, typename Response>
grpc::ServerUnaryReactor* WriteMarkers(request::RequestHandlers* handlers,
                                       const request::Authorized& authz,
                                       grpc::CallbackServerContext* ctx, const Request* request,
                                       Response* response, bool from_admin) {
  request::WriteTxnMarkersRequest req;
  req.from_admin = from_admin;
  for (const auto& m : request->markers()) {
    request::TxnMarkerEntry& e = req.markers.emplace_back();
    e.producer_id = m.producer_id();
    e.producer_epoch = Epoch(m.producer_epoch());
    e.committed = m.committed();
    e.coordinator_epoch = m.coordinator_epoch();
    for (const auto& p : m.partitions()) e.partitions.push_back({p.topic(), p.partition()});
  }
  // Answer before the caller's deadline runs out, so it hears which
  // partitions are still waiting. (No deadline: the default; one nearly
  // passed: what is left of it.)
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        ctx->deadline() - std::chrono::system_clock::now())
                        .count();
  req.timeout_ms = left >= INT32_MAX ? 0 : static_cast<int32_t>(std::max<int64_t>(left - 1000, 1));
  std::vector<int64_t> ids;
  for (const request::TxnMarkerEntry& e : req.markers) ids.push_back(e.producer_id);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  authz.WriteTxnMarkers(
      *handlers, std::move(req),
      [reactor, response, ids = std::move(ids)](request::WriteTxnMarkersResponse r) {
        for (size_t i = 0; i < r.markers.size(); ++i) {
          auto* m = response->add_markers();
          m->set_producer_id(ids[i]);
          for (request::TxnMarkerResult& p : r.markers[i]) {
            auto* out = m->add_partitions();
            out->set_topic(std::move(p.topic));
            out->set_partition(p.partition);
            out->set_error(ToProto(p.error));
            out->set_error_message(std::move(p.message));
          }
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace

TransactionService::TransactionService(txn::TransactionCoordinator* coordinator,
                                       group::GroupCoordinator* groups,
                                       request::RequestHandlers* handlers, ServiceSecurity security)
    : coordinator_(coordinator),
      groups_(groups),
      handlers_(handlers),
      security_(std::move(security)) {}

grpc::ServerUnaryReactor* TransactionService::AddPartitionsToTxn(
    grpc::CallbackServerContext* ctx, const v1::AddPartitionsToTxnRequest* request,
    v1::AddPartitionsToTxnResponse* response) {
  txn::AddPartitionsToTxnRequest req;
  req.transactional_id = request->transactional_id();
  req.producer_id = request->producer_id();
  req.producer_epoch = Epoch(request->producer_epoch());
  for (const v1::TxnTopic& t : request->topics()) {
    for (int32_t p : t.partitions()) req.partitions.push_back({t.name(), p});
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).AddPartitionsToTxn(*coordinator_, std::move(req),
                                          [reactor, response](txn::AddPartitionsToTxnResponse r) {
                                            for (const auto& [tp, error] : r.results) {
                                              v1::TxnPartitionResult* out = response->add_results();
                                              out->set_topic(tp.topic);
                                              out->set_partition(tp.partition);
                                              out->set_error(ToProto(error));
                                            }
                                            response->set_error_message(std::move(r.message));
                                            reactor->Finish(grpc::Status::OK);
                                          });
  return reactor;
}

grpc::ServerUnaryReactor* TransactionService::AddOffsetsToTxn(
    grpc::CallbackServerContext* ctx, const v1::AddOffsetsToTxnRequest* request,
    v1::AddOffsetsToTxnResponse* response) {
  txn::AddOffsetsToTxnRequest req;
  req.transactional_id = request->transactional_id();
  req.producer_id = request->producer_id();
  req.producer_epoch = Epoch(request->producer_epoch());
  req.group_id = request->group_id();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).AddOffsetsToTxn(*coordinator_, std::move(req),
                                       [reactor, response](txn::TxnResult r) {
                                         response->set_error(ToProto(r.error));
                                         response->set_error_message(std::move(r.message));
                                         reactor->Finish(grpc::Status::OK);
                                       });
  return reactor;
}

grpc::ServerUnaryReactor* TransactionService::EndTxn(grpc::CallbackServerContext* ctx,
                                                     const v1::EndTxnRequest* request,
                                                     v1::EndTxnResponse* response) {
  txn::EndTxnRequest req;
  req.transactional_id = request->transactional_id();
  req.producer_id = request->producer_id();
  req.producer_epoch = Epoch(request->producer_epoch());
  req.committed = request->committed();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).EndTxn(*coordinator_, std::move(req), [reactor, response](txn::TxnResult r) {
    response->set_error(ToProto(r.error));
    response->set_error_message(std::move(r.message));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TransactionService::TxnOffsetCommit(
    grpc::CallbackServerContext* ctx, const v1::TxnOffsetCommitRequest* request,
    v1::TxnOffsetCommitResponse* response) {
  group::TxnOffsetCommitRequest req;
  req.transactional_id = request->transactional_id();
  req.group_id = request->group_id();
  req.producer_id = request->producer_id();
  req.producer_epoch = Epoch(request->producer_epoch());
  req.generation_id = request->generation_id();
  req.member_id = request->member_id();
  req.group_instance_id = request->group_instance_id();
  for (const v1::TxnOffsetCommitTopic& t : request->topics()) {
    for (const v1::TxnOffsetCommitPartition& p : t.partitions()) {
      group::CommittedOffset& o = req.offsets.emplace_back();
      o.tp = {t.name(), p.partition_index()};
      o.offset = p.committed_offset();
      o.leader_epoch = p.committed_leader_epoch();
      o.metadata = p.committed_metadata();
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).TxnOffsetCommit(
      *groups_, std::move(req), [reactor, response](group::OffsetCommitResponse r) {
        std::map<std::string, int> index;
        for (const group::PartitionResult& pr : r.partitions) {
          auto [it, inserted] = index.try_emplace(pr.tp.topic, response->topics_size());
          if (inserted) response->add_topics()->set_name(pr.tp.topic);
          v1::TxnOffsetCommitPartitionResponse* p =
              response->mutable_topics(it->second)->add_partitions();
          p->set_partition_index(pr.tp.partition);
          p->set_error(ToProto(pr.result.error));
          p->set_error_message(pr.result.message);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* TransactionService::DescribeTransactions(
    grpc::CallbackServerContext* ctx, const v1::DescribeTransactionsRequest* request,
    v1::DescribeTransactionsResponse* response) {
  const std::vector<std::string> ids(request->transactional_ids().begin(),
                                     request->transactional_ids().end());
  for (const txn::TransactionDescription& d :
       security_.Authz(ctx).DescribeTransactions(*coordinator_, ids)) {
    v1::TransactionState* out = response->add_transaction_states();
    out->set_transactional_id(d.transactional_id);
    out->set_error(ToProto(d.result.error));
    out->set_error_message(d.result.message);
    out->set_transaction_state(d.state);
    out->set_transaction_timeout_ms(d.transaction_timeout_ms);
    out->set_transaction_start_time_ms(d.transaction_start_time_ms);
    out->set_producer_id(d.producer_id);
    out->set_producer_epoch(d.producer_epoch);
    AddTopics(d.partitions, out->mutable_topics());
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* TransactionService::ListTransactions(
    grpc::CallbackServerContext* ctx, const v1::ListTransactionsRequest* request,
    v1::ListTransactionsResponse* response) {
  txn::ListTransactionsRequest req;
  req.state_filters.assign(request->state_filters().begin(), request->state_filters().end());
  req.producer_id_filters.assign(request->producer_id_filters().begin(),
                                 request->producer_id_filters().end());
  txn::ListTransactionsResponse r = security_.Authz(ctx).ListTransactions(*coordinator_, req);
  response->set_error(ToProto(r.result.error));
  response->set_error_message(r.result.message);
  for (const std::string& f : r.unknown_state_filters) response->add_unknown_state_filters(f);
  for (const txn::ListedTransaction& t : r.transactions) {
    v1::ListedTransaction* out = response->add_transaction_states();
    out->set_transactional_id(t.transactional_id);
    out->set_producer_id(t.producer_id);
    out->set_transaction_state(t.state);
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* TransactionService::DescribeProducers(
    grpc::CallbackServerContext* ctx, const v1::DescribeProducersRequest* request,
    v1::DescribeProducersResponse* response) {
  std::vector<std::pair<std::string, int32_t>> partitions;
  for (const v1::TxnTopic& t : request->topics()) {
    for (int32_t p : t.partitions()) partitions.emplace_back(t.name(), p);
  }
  std::vector<replication::ProducersResult> results =
      security_.Authz(ctx).DescribeProducers(*handlers_, partitions);
  for (size_t i = 0; i < partitions.size(); ++i) {
    const replication::ProducersResult& r = results[i];
    v1::DescribeProducersPartition* out = response->add_partitions();
    out->set_topic(partitions[i].first);
    out->set_partition(partitions[i].second);
    out->set_error(ToProto(r.error));
    out->set_error_message(r.message);
    for (const storage::ProducerStateView& v : r.producers) {
      v1::ProducerState* ps = out->add_active_producers();
      ps->set_producer_id(v.producer_id);
      ps->set_producer_epoch(v.epoch);
      ps->set_last_sequence(v.last_sequence);
      ps->set_last_timestamp(v.last_timestamp);
      ps->set_coordinator_epoch(v.coordinator_epoch);
      ps->set_current_txn_start_offset(v.current_txn_start_offset);
    }
  }
  return Done(ctx);
}

grpc::ServerUnaryReactor* TransactionService::WriteTxnMarkers(
    grpc::CallbackServerContext* ctx, const v1::WriteTxnMarkersRequest* request,
    v1::WriteTxnMarkersResponse* response) {
  return WriteMarkers(handlers_, security_.Authz(ctx), ctx, request, response,
                      /*from_admin=*/true);
}

grpc::ServerUnaryReactor* TxnMarkerService::WriteTxnMarkers(
    grpc::CallbackServerContext* ctx, const internal::WriteTxnMarkersRequest* request,
    internal::WriteTxnMarkersResponse* response) {
  // The coordinators' own markers, on the CONTROLLER listener: only the
  // nodes reach it.
  return WriteMarkers(handlers_, request::Authorized(nullptr, {}), ctx, request, response,
                      /*from_admin=*/false);
}

}  // namespace strata::server
