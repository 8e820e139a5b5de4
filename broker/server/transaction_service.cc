#include "broker/server/transaction_service.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
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
// `before_finish`, if given, runs on the filled response before the call
// finishes.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* WriteMarkers(request::RequestHandlers* handlers,
                                       grpc::CallbackServerContext* ctx, const Request* request,
                                       Response* response,
                                       std::function<void()> before_finish = nullptr) {
  request::WriteTxnMarkersRequest req;
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
  handlers->WriteTxnMarkers(std::move(req), [reactor, response, ids = std::move(ids),
                                             before_finish = std::move(before_finish)](
                                                request::WriteTxnMarkersResponse r) {
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
    if (before_finish) before_finish();
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace

TransactionService::TransactionService(txn::TransactionCoordinator* coordinator,
                                       group::GroupCoordinator* groups,
                                       request::RequestHandlers* handlers)
    : coordinator_(coordinator), groups_(groups), handlers_(handlers) {}

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
  coordinator_->AddPartitionsToTxn(std::move(req),
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
  coordinator_->AddOffsetsToTxn(std::move(req), [reactor, response](txn::TxnResult r) {
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
  coordinator_->EndTxn(std::move(req), [reactor, response](txn::TxnResult r) {
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
  groups_->TxnOffsetCommit(std::move(req), [reactor, response](group::OffsetCommitResponse r) {
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
  for (const txn::TransactionDescription& d : coordinator_->DescribeTransactions(ids)) {
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
  txn::ListTransactionsResponse r = coordinator_->ListTransactions(req);
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
  // A partition asked for again is answered INVALID_REQUEST, not described
  // again (each description copies its producers under the log's lock).
  std::set<std::pair<std::string, int32_t>> seen;
  for (const v1::TxnTopic& t : request->topics()) {
    for (int32_t p : t.partitions()) {
      replication::ProducersResult r;
      if (seen.insert({t.name(), p}).second) {
        r = handlers_->DescribeProducers(t.name(), p);
      } else {
        r.error = ErrorCode::kInvalidRequest;
        r.message = absl::StrCat("Partition ", t.name(), "-", p, " is asked for more than once");
      }
      v1::DescribeProducersPartition* out = response->add_partitions();
      out->set_topic(t.name());
      out->set_partition(p);
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
  }
  return Done(ctx);
}

std::optional<std::pair<ErrorCode, std::string>> TransactionService::CheckAdminAbort(
    const v1::WritableTxnMarker& marker, const std::string& topic, int32_t partition) {
  const std::string tp = absl::StrCat(topic, "-", partition);
  if (marker.committed()) {
    return std::make_pair(
        ErrorCode::kInvalidRequest,
        absl::StrCat("A transaction can only be aborted this way, not committed (", tp,
                     ", producer ", marker.producer_id(), ")"));
  }
  replication::ProducersResult r = handlers_->DescribeProducers(topic, partition);
  if (r.error != ErrorCode::kNone) return std::make_pair(r.error, r.message);
  for (const storage::ProducerStateView& v : r.producers) {
    if (v.producer_id != marker.producer_id()) continue;
    if (v.current_txn_start_offset < 0) break;
    if (marker.producer_epoch() != v.epoch) {
      return std::make_pair(ErrorCode::kInvalidProducerEpoch,
                            absl::StrCat("Producer ", v.producer_id, " is at epoch ", v.epoch,
                                         " in ", tp, ", not ", marker.producer_epoch()));
    }
    if (marker.coordinator_epoch() > std::max(v.coordinator_epoch, 0)) {
      return std::make_pair(
          ErrorCode::kInvalidRequest,
          absl::StrCat("Coordinator epoch ", marker.coordinator_epoch(), " is above the last one (",
                       v.coordinator_epoch, ") of producer ", v.producer_id, " in ", tp));
    }
    return std::nullopt;
  }
  return std::make_pair(
      ErrorCode::kInvalidTxnState,
      absl::StrCat("Producer ", marker.producer_id(), " has no transaction open in ", tp));
}

grpc::ServerUnaryReactor* TransactionService::WriteTxnMarkers(
    grpc::CallbackServerContext* ctx, const v1::WriteTxnMarkersRequest* request,
    v1::WriteTxnMarkersResponse* response) {
  // For administrators (`strata transactions abort`, Kafka's
  // Admin.abortTransaction), unlike the coordinators' internal service: only
  // an ABORT of a transaction open in the partition, with its producer's
  // current epoch, never raising the coordinator epoch (checked just before
  // the write). A COMMIT, or lying epochs, would commit another producer's
  // open transaction, or make its coordinator's marker look old so that it
  // never ends. Refused partitions are answered with their error; the rest
  // are written.
  v1::WriteTxnMarkersRequest allowed;
  // Per marker, per partition: the refusal, or nullopt (written).
  auto refusals = std::make_shared<
      std::vector<std::vector<std::optional<std::pair<ErrorCode, std::string>>>>>();
  for (const v1::WritableTxnMarker& m : request->markers()) {
    auto& refused = refusals->emplace_back();
    v1::WritableTxnMarker* keep = allowed.add_markers();
    *keep = m;
    keep->clear_partitions();
    for (const v1::TxnMarkerPartition& p : m.partitions()) {
      refused.push_back(CheckAdminAbort(m, p.topic(), p.partition()));
      if (!refused.back().has_value()) *keep->add_partitions() = p;
    }
  }
  auto written = std::make_shared<v1::WriteTxnMarkersResponse>();
  return WriteMarkers(
      handlers_, ctx, &allowed, written.get(), [request, response, refusals, written] {
        for (int i = 0; i < request->markers_size(); ++i) {
          const v1::WritableTxnMarker& m = request->markers(i);
          v1::WritableTxnMarkerResult* out = response->add_markers();
          out->set_producer_id(m.producer_id());
          int next_written = 0;
          for (int j = 0; j < m.partitions_size(); ++j) {
            const auto& refusal = (*refusals)[static_cast<size_t>(i)][static_cast<size_t>(j)];
            if (refusal.has_value()) {
              v1::TxnMarkerPartitionResult* p = out->add_partitions();
              p->set_topic(m.partitions(j).topic());
              p->set_partition(m.partitions(j).partition());
              p->set_error(ToProto(refusal->first));
              p->set_error_message(refusal->second);
            } else if (i < written->markers_size() &&
                       next_written < written->markers(i).partitions_size()) {
              *out->add_partitions() = written->markers(i).partitions(next_written++);
            }
          }
        }
      });
}

grpc::ServerUnaryReactor* TxnMarkerService::WriteTxnMarkers(
    grpc::CallbackServerContext* ctx, const internal::WriteTxnMarkersRequest* request,
    internal::WriteTxnMarkersResponse* response) {
  return WriteMarkers(handlers_, ctx, request, response);
}

}  // namespace strata::server
