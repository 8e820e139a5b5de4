// The transaction APIs between Kafka's structs and the transaction
// coordinator (adapter.h, txn_adapter.h).
#include "broker/kafka/txn_adapter.h"

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "broker/kafka/adapter.h"
#include "broker/txn/transaction_coordinator.h"
#include "client/common/error_code.h"

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
  call.deps.txns->AddPartitionsToTxn(
      ToRequestLayer(std::get<AddPartitionsToTxnRequest>(request), version),
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
  call.deps.txns->AddOffsetsToTxn(
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
  call.deps.txns->EndTxn(ToRequestLayer(std::get<EndTxnRequest>(request), version),
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
  std::vector<txn::TransactionDescription> descriptions = call.deps.txns->DescribeTransactions(
      ToRequestLayer(std::get<DescribeTransactionsRequest>(request), version));
  reply(Response(FromRequestLayer(descriptions, version)));
}

void ListTransactionsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.txns == nullptr) {
    reply(NoCoordinator());
    return;
  }
  const int16_t version = call.version();
  txn::ListTransactionsResponse r = call.deps.txns->ListTransactions(
      ToRequestLayer(std::get<ListTransactionsRequest>(request), version));
  reply(Response(FromRequestLayer(r, version)));
}

constexpr AdapterRow kTxnAdapters[] = {
    {ApiKey::kAddPartitionsToTxn, &AddPartitionsToTxnAdapter},
    {ApiKey::kAddOffsetsToTxn, &AddOffsetsToTxnAdapter},
    {ApiKey::kEndTxn, &EndTxnAdapter},
    {ApiKey::kDescribeTransactions, &DescribeTransactionsAdapter},
    {ApiKey::kListTransactions, &ListTransactionsAdapter},
};

}  // namespace

absl::Span<const AdapterRow> TxnAdapters() { return kTxnAdapters; }

}  // namespace strata::kafka
