// The transaction APIs between Kafka's structs and the transaction
// coordinator, the group coordinator (TxnOffsetCommit) and the request
// layer (DescribeProducers) (adapter.h, txn_adapter.h).
#include "broker/kafka/txn_adapter.h"

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/adapter.h"
#include "broker/kafka/admin_adapter.h"
#include "broker/request/handlers.h"
#include "broker/txn/transaction_coordinator.h"
#include "client/common/error_code.h"
#include "glog/logging.h"

namespace strata::kafka {

namespace {

int16_t Code(ErrorCode error) { return static_cast<int16_t>(error); }

// PRODUCER_FENCED (KIP-588) is known to clients from v2 of AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn.
bool ProducerFencedSupported(int16_t version) { return version >= 2; }

// The element of `topics` named `topic`, appended the first time it is
// asked for: flat (topic, partition) answers nested by topic in the order
// topics first appear.
template <typename Topic>
class ByTopic {
 public:
  ByTopic(std::vector<Topic>* topics, std::string Topic::*name) : topics_(topics), name_(name) {}

  Topic& Get(const std::string& topic) {
    auto [it, inserted] = index_.try_emplace(topic, topics_->size());
    if (inserted) topics_->emplace_back().*name_ = topic;
    return (*topics_)[it->second];
  }

 private:
  std::vector<Topic>* topics_;
  std::string Topic::*name_;
  std::map<std::string, size_t> index_;
};

}  // namespace

// ---- AddPartitionsToTxn ----

txn::AddPartitionsToTxnRequest ToRequestLayer(const AddPartitionsToTxnRequest& request,
                                              int16_t version) {
  txn::AddPartitionsToTxnRequest out;
  out.transactional_id = request.v3_and_below_transactional_id;
  out.producer_id = request.v3_and_below_producer_id;
  out.producer_epoch = request.v3_and_below_producer_epoch;
  for (const AddPartitionsToTxnRequest::Topic& t : request.v3_and_below_topics) {
    for (int32_t p : t.partitions) out.partitions.push_back({t.name, p});
  }
  out.producer_fenced_supported = ProducerFencedSupported(version);
  return out;
}

AddPartitionsToTxnResponse FromRequestLayer(const txn::AddPartitionsToTxnResponse& response,
                                            int16_t /*version*/) {
  AddPartitionsToTxnResponse out;
  ByTopic<AddPartitionsToTxnResponse::TopicResult> topics(
      &out.results_by_topic_v3_and_below, &AddPartitionsToTxnResponse::TopicResult::name);
  for (const auto& [tp, error] : response.results) {
    topics.Get(tp.topic).results_by_partition.push_back(
        {.partition_index = tp.partition, .partition_error_code = Code(error)});
  }
  return out;
}

// ---- AddOffsetsToTxn ----

txn::AddOffsetsToTxnRequest ToRequestLayer(const AddOffsetsToTxnRequest& request, int16_t version) {
  txn::AddOffsetsToTxnRequest out;
  out.transactional_id = request.transactional_id;
  out.producer_id = request.producer_id;
  out.producer_epoch = request.producer_epoch;
  out.group_id = request.group_id;
  out.producer_fenced_supported = ProducerFencedSupported(version);
  return out;
}

AddOffsetsToTxnResponse AddOffsetsToTxnFromRequestLayer(const txn::TxnResult& result,
                                                        int16_t /*version*/) {
  AddOffsetsToTxnResponse out;
  out.error_code = Code(result.error);
  return out;
}

// ---- EndTxn ----

txn::EndTxnRequest ToRequestLayer(const EndTxnRequest& request, int16_t version) {
  txn::EndTxnRequest out;
  out.transactional_id = request.transactional_id;
  out.producer_id = request.producer_id;
  out.producer_epoch = request.producer_epoch;
  out.committed = request.committed;
  out.producer_fenced_supported = ProducerFencedSupported(version);
  return out;
}

EndTxnResponse EndTxnFromRequestLayer(const txn::TxnResult& result, int16_t /*version*/) {
  EndTxnResponse out;
  out.error_code = Code(result.error);
  return out;
}

// ---- TxnOffsetCommit ----

group::TxnOffsetCommitRequest ToRequestLayer(const TxnOffsetCommitRequest& request,
                                             int16_t version) {
  group::TxnOffsetCommitRequest out;
  out.transactional_id = request.transactional_id;
  out.group_id = request.group_id;
  out.producer_id = request.producer_id;
  out.producer_epoch = request.producer_epoch;
  // KIP-447's consumer, v3+; older clients name none, which is not checked.
  if (version >= 3) {
    out.generation_id = request.generation_id;
    out.member_id = request.member_id;
    out.group_instance_id = request.group_instance_id.value_or("");
  }
  for (const TxnOffsetCommitRequest::Topic& t : request.topics) {
    for (const TxnOffsetCommitRequest::Partition& p : t.partitions) {
      out.offsets.push_back(group::CommittedOffset{
          .tp = {t.name, p.partition_index},
          .offset = p.committed_offset,
          .leader_epoch = version >= 2 ? p.committed_leader_epoch : -1,
          .metadata = p.committed_metadata.value_or(""),
      });
    }
  }
  return out;
}

TxnOffsetCommitResponse TxnOffsetCommitFromRequestLayer(const group::OffsetCommitResponse& response,
                                                        int16_t version) {
  TxnOffsetCommitResponse out;
  ByTopic<TxnOffsetCommitResponse::Topic> topics(&out.topics,
                                                 &TxnOffsetCommitResponse::Topic::name);
  for (const group::PartitionResult& r : response.partitions) {
    ErrorCode error = r.result.error;
    // Producers before Kafka 2.0 (v0-1) take a loading coordinator for a
    // fatal error (KAFKA-7296): they are told it is not available instead,
    // which they retry.
    if (version < 2 && error == ErrorCode::kCoordinatorLoadInProgress) {
      error = ErrorCode::kCoordinatorNotAvailable;
    }
    topics.Get(r.tp.topic)
        .partitions.push_back({.partition_index = r.tp.partition, .error_code = Code(error)});
  }
  return out;
}

// ---- DescribeProducers ----

std::vector<TopicPartition> ToRequestLayer(const DescribeProducersRequest& request,
                                           int16_t /*version*/) {
  std::vector<TopicPartition> out;
  for (const DescribeProducersRequest::Topic& t : request.topics) {
    for (int32_t p : t.partition_indexes) out.push_back({t.name, PartitionId(p)});
  }
  return out;
}

DescribeProducersResponse FromRequestLayer(const DescribeProducersRequest& request,
                                           const std::vector<replication::ProducersResult>& results,
                                           int16_t /*version*/) {
  DescribeProducersResponse out;
  size_t next = 0;
  out.topics.reserve(request.topics.size());
  for (const DescribeProducersRequest::Topic& t : request.topics) {
    DescribeProducersResponse::Topic& topic = out.topics.emplace_back();
    topic.name = t.name;
    topic.partitions.reserve(t.partition_indexes.size());
    for (int32_t p : t.partition_indexes) {
      CHECK_LT(next, results.size()) << "one result per partition asked for";
      const replication::ProducersResult& r = results[next++];
      DescribeProducersResponse::Partition& partition = topic.partitions.emplace_back();
      partition.partition_index = p;
      partition.error_code = Code(r.error);
      partition.error_message = ErrorMessageField(r.error, r.message);
      if (r.error != ErrorCode::kNone) continue;
      partition.active_producers.reserve(r.producers.size());
      for (const storage::ProducerStateView& v : r.producers) {
        partition.active_producers.push_back({
            .producer_id = v.producer_id,
            .producer_epoch = v.epoch,
            .last_sequence = v.last_sequence,
            .last_timestamp = v.last_timestamp,
            .coordinator_epoch = v.coordinator_epoch,
            .current_txn_start_offset = v.current_txn_start_offset,
        });
      }
    }
  }
  CHECK_EQ(next, results.size()) << "one result per partition asked for";
  return out;
}

// ---- DescribeTransactions ----

std::vector<std::string> ToRequestLayer(const DescribeTransactionsRequest& request,
                                        int16_t /*version*/) {
  return request.transactional_ids;
}

DescribeTransactionsResponse FromRequestLayer(
    const std::vector<txn::TransactionDescription>& descriptions, int16_t /*version*/) {
  DescribeTransactionsResponse out;
  out.transaction_states.reserve(descriptions.size());
  for (const txn::TransactionDescription& d : descriptions) {
    DescribeTransactionsResponse::TransactionState& s = out.transaction_states.emplace_back();
    s.error_code = Code(d.result.error);
    s.transactional_id = d.transactional_id;
    if (d.result.error != ErrorCode::kNone) continue;  // the rest at Kafka's defaults
    s.transaction_state = d.state;
    s.transaction_timeout_ms = d.transaction_timeout_ms;
    s.transaction_start_time_ms = d.transaction_start_time_ms;
    s.producer_id = d.producer_id;
    s.producer_epoch = d.producer_epoch;
    ByTopic<DescribeTransactionsResponse::TopicData> topics(
        &s.topics, &DescribeTransactionsResponse::TopicData::topic);
    for (const txn::TxnTopicPartition& tp : d.partitions) {
      topics.Get(tp.topic).partitions.push_back(tp.partition);
    }
  }
  return out;
}

// ---- ListTransactions ----

txn::ListTransactionsRequest ToRequestLayer(const ListTransactionsRequest& request,
                                            int16_t /*version*/) {
  txn::ListTransactionsRequest out;
  out.state_filters = request.state_filters;
  out.producer_id_filters = request.producer_id_filters;
  return out;
}

ListTransactionsResponse FromRequestLayer(const txn::ListTransactionsResponse& response,
                                          int16_t /*version*/) {
  ListTransactionsResponse out;
  out.error_code = Code(response.result.error);
  out.unknown_state_filters = response.unknown_state_filters;
  out.transaction_states.reserve(response.transactions.size());
  for (const txn::ListedTransaction& t : response.transactions) {
    out.transaction_states.push_back({.transactional_id = t.transactional_id,
                                      .producer_id = t.producer_id,
                                      .transaction_state = t.state});
  }
  return out;
}

// ---- The adapters ----

namespace {

absl::Status NoCoordinator() { return absl::FailedPreconditionError("no transaction coordinator"); }

void AddPartitionsToTxnAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().AddPartitionsToTxn(
      *call.deps.txns, ToRequestLayer(std::get<AddPartitionsToTxnRequest>(request), version),
      [reply = std::move(reply), version](txn::AddPartitionsToTxnResponse r) {
        reply(Response(FromRequestLayer(r, version)));
      });
}

void AddOffsetsToTxnAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().AddOffsetsToTxn(*call.deps.txns,
                               ToRequestLayer(std::get<AddOffsetsToTxnRequest>(request), version),
                               [reply = std::move(reply), version](txn::TxnResult r) {
                                 reply(Response(AddOffsetsToTxnFromRequestLayer(r, version)));
                               });
}

void EndTxnAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  call.authz().EndTxn(*call.deps.txns, ToRequestLayer(std::get<EndTxnRequest>(request), version),
                      [reply = std::move(reply), version](txn::TxnResult r) {
                        reply(Response(EndTxnFromRequestLayer(r, version)));
                      });
}

void DescribeTransactionsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  std::vector<txn::TransactionDescription> descriptions = call.authz().DescribeTransactions(
      *call.deps.txns, ToRequestLayer(std::get<DescribeTransactionsRequest>(request), version));
  reply(Response(FromRequestLayer(descriptions, version)));
}

void ListTransactionsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  txn::ListTransactionsResponse r = call.authz().ListTransactions(
      *call.deps.txns, ToRequestLayer(std::get<ListTransactionsRequest>(request), version));
  reply(Response(FromRequestLayer(r, version)));
}

void TxnOffsetCommitAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.groups == nullptr) {
    reply(absl::FailedPreconditionError("no group coordinator"));
    return;
  }
  const int16_t version = call.version();
  call.authz().TxnOffsetCommit(*call.deps.groups,
                               ToRequestLayer(std::get<TxnOffsetCommitRequest>(request), version),
                               [reply = std::move(reply), version](group::OffsetCommitResponse r) {
                                 reply(Response(TxnOffsetCommitFromRequestLayer(r, version)));
                               });
}

void DescribeProducersAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(absl::FailedPreconditionError("no request layer"));
    return;
  }
  const int16_t version = call.version();
  const DescribeProducersRequest& describe = std::get<DescribeProducersRequest>(request);
  std::vector<std::pair<std::string, int32_t>> partitions;
  for (const TopicPartition& tp : ToRequestLayer(describe, version)) {
    partitions.emplace_back(tp.topic, tp.partition.value());
  }
  std::vector<replication::ProducersResult> results =
      call.authz().DescribeProducers(*call.deps.handlers, partitions);
  reply(Response(FromRequestLayer(describe, results, version)));
}

constexpr AdapterRow kTxnAdapters[] = {
    {ApiKey::kAddPartitionsToTxn, &AddPartitionsToTxnAdapter},
    {ApiKey::kAddOffsetsToTxn, &AddOffsetsToTxnAdapter},
    {ApiKey::kEndTxn, &EndTxnAdapter},
    {ApiKey::kTxnOffsetCommit, &TxnOffsetCommitAdapter},
    {ApiKey::kDescribeProducers, &DescribeProducersAdapter},
    {ApiKey::kDescribeTransactions, &DescribeTransactionsAdapter},
    {ApiKey::kListTransactions, &ListTransactionsAdapter},
};

}  // namespace

absl::Span<const AdapterRow> TxnAdapters() { return kTxnAdapters; }

}  // namespace strata::kafka
