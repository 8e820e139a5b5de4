// The transaction APIs — AddPartitionsToTxn (24, v0-3), AddOffsetsToTxn
// (25, v0-3), EndTxn (26, v0-3), DescribeTransactions (65, v0) and
// ListTransactions (66, v0) — between Kafka's structs and the transaction
// coordinator's (broker/txn/txn_api.h). Pure functions; the adapters in
// txn_adapter.cc call txn::TransactionCoordinator between them, as the gRPC
// door does: one coordinator, two doors. InitProducerId, which also reaches
// the coordinator for a transactional id, goes through the request layer
// (produce_fetch_adapter.h).
//
// What the versions change (fields a version lacks are the codec's
// defaults; the rules below are the ones a default does not express):
//   AddPartitionsToTxn, AddOffsetsToTxn, EndTxn  PRODUCER_FENCED (KIP-588)
//             is new in v2: producer_fenced_supported = version >= 2, and
//             the coordinator answers older clients INVALID_PRODUCER_EPOCH
//             instead (as Kafka's KafkaApis). v3 is the flexible encoding,
//             nothing more. AddPartitionsToTxn v4+ (a broker's batch of
//             transactions, KIP-890) is not served.
//   AddPartitionsToTxn  the partitions go to the coordinator flat; its
//             answer, one per distinct partition (Kafka's is a map: a
//             partition asked twice is answered once), comes back nested by
//             topic.
//   DescribeTransactions  one answer per id asked for, in order; an id with
//             an error carries only its id and error code, the other fields
//             at Kafka's defaults (0, ""), as Kafka answers.
// Partitions are nested by topic in the order topics first appear in the
// coordinator's answer, which is (topic, partition) order.
//   ListTransactions  the transactions this broker coordinates (tools ask
//             every broker and merge); COORDINATOR_LOAD_IN_PROGRESS with none
//             while a partition of __transaction_state loads.
// None of these responses has an ErrorMessage: the coordinator's messages
// are dropped. Error codes are Kafka's numbers (ErrorCode's values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/kafka/messages.h"
#include "broker/txn/txn_api.h"

namespace strata::kafka {

txn::AddPartitionsToTxnRequest ToRequestLayer(const AddPartitionsToTxnRequest& request,
                                              int16_t version);
AddPartitionsToTxnResponse FromRequestLayer(const txn::AddPartitionsToTxnResponse& response,
                                            int16_t version);

// AddOffsetsToTxn and EndTxn are both answered with a txn::TxnResult, so
// their answers are named rather than overloaded.
txn::AddOffsetsToTxnRequest ToRequestLayer(const AddOffsetsToTxnRequest& request, int16_t version);
AddOffsetsToTxnResponse AddOffsetsToTxnFromRequestLayer(const txn::TxnResult& result,
                                                        int16_t version);

txn::EndTxnRequest ToRequestLayer(const EndTxnRequest& request, int16_t version);
EndTxnResponse EndTxnFromRequestLayer(const txn::TxnResult& result, int16_t version);

// The transactional ids to describe.
std::vector<std::string> ToRequestLayer(const DescribeTransactionsRequest& request,
                                        int16_t version);
DescribeTransactionsResponse FromRequestLayer(
    const std::vector<txn::TransactionDescription>& descriptions, int16_t version);

txn::ListTransactionsRequest ToRequestLayer(const ListTransactionsRequest& request,
                                            int16_t version);
ListTransactionsResponse FromRequestLayer(const txn::ListTransactionsResponse& response,
                                          int16_t version);

}  // namespace strata::kafka
