// The transaction APIs — AddPartitionsToTxn (24, v0-3), AddOffsetsToTxn
// (25, v0-3), EndTxn (26, v0-3), TxnOffsetCommit (28, v0-3),
// DescribeProducers (61, v0), DescribeTransactions (65, v0) and
// ListTransactions (66, v0) — between Kafka's structs and the layer each
// goes to: the transaction coordinator's (broker/txn/txn_api.h) for most;
// the group coordinator's (broker/group/group_api.h) for TxnOffsetCommit,
// which a producer sends to its consumer group's coordinator, as in Kafka;
// the request layer's (request::RequestHandlers::DescribeProducers, the
// partition leader's producer state) for DescribeProducers. Pure functions;
// the adapters in txn_adapter.cc call those layers between them, as the
// gRPC door does: one coordinator, two doors. InitProducerId, which also
// reaches the coordinator for a transactional id, goes through the request
// layer (produce_fetch_adapter.h).
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
//   TxnOffsetCommit  v0 and v1 are one layout; v2 adds CommittedLeaderEpoch
//             (-1 before); v3 adds GenerationId, MemberId and GroupInstanceId
//             (KIP-447), which the group coordinator checks (ILLEGAL_GENERATION,
//             UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), and is flexible. Before
//             v3 the request carries no consumer: -1, "" and "", which the
//             coordinator does not check. A null GroupInstanceId or
//             CommittedMetadata is "". The answer is one per partition asked
//             for, nested by topic in the order topics first appear. Before
//             v2, COORDINATOR_LOAD_IN_PROGRESS is answered
//             COORDINATOR_NOT_AVAILABLE: producers before Kafka 2.0 treat the
//             former as fatal (KAFKA-7296; Kafka's KafkaApis maps it so).
//             PRODUCER_FENCED needs no mapping: a stale epoch is refused by
//             the __consumer_offsets log with INVALID_PRODUCER_EPOCH, as
//             Kafka's.
//   DescribeProducers  one call per partition asked for, answered in the
//             request's shape (topics and partitions in its order, repeats
//             repeated, as Kafka); a partition's error carries the request
//             layer's message (null when none) and no producers.
//   DescribeTransactions  one answer per id asked for, in order; an id with
//             an error carries only its id and error code, the other fields
//             at Kafka's defaults (0, ""), as Kafka answers.
// Partitions are nested by topic in the order topics first appear in the
// coordinator's answer, which is (topic, partition) order.
//   ListTransactions  the transactions this broker coordinates (tools ask
//             every broker and merge); COORDINATOR_LOAD_IN_PROGRESS with none
//             while a partition of __transaction_state loads.
// None of these responses but DescribeProducers' has an ErrorMessage: the
// coordinators' messages are dropped. Error codes are Kafka's numbers
// (ErrorCode's values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/group/group_api.h"
#include "broker/kafka/messages.h"
#include "broker/replication/results.h"
#include "broker/txn/txn_api.h"
#include "client/common/ids.h"

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

// TxnOffsetCommit's answer is a group::OffsetCommitResponse, as
// OffsetCommit's (group_adapter.h), so it is named rather than overloaded.
group::TxnOffsetCommitRequest ToRequestLayer(const TxnOffsetCommitRequest& request,
                                             int16_t version);
TxnOffsetCommitResponse TxnOffsetCommitFromRequestLayer(const group::OffsetCommitResponse& response,
                                                        int16_t version);

// The partitions to describe, flat in the request's order; `results[i]`
// answers the i-th of them.
std::vector<TopicPartition> ToRequestLayer(const DescribeProducersRequest& request,
                                           int16_t version);
DescribeProducersResponse FromRequestLayer(const DescribeProducersRequest& request,
                                           const std::vector<replication::ProducersResult>& results,
                                           int16_t version);

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
