// The transaction coordinator's requests and responses, protocol-neutral:
// what the gRPC services and Kafka's binary protocol will both decode into
// and encode from. Shaped after Kafka's InitProducerId, AddPartitionsToTxn
// (v0-v3: one transactional id per request), AddOffsetsToTxn, EndTxn,
// DescribeTransactions and ListTransactions messages, with partitions
// listed flat (topic, partition) — the transports nest them by topic.
//
// PRODUCER_FENCED (KIP-588) is new in InitProducerId v4, AddPartitionsToTxn
// v2, AddOffsetsToTxn v2 and EndTxn v2; older clients know only
// INVALID_PRODUCER_EPOCH. A transport sets `producer_fenced_supported`
// from the request's version and the coordinator answers
// INVALID_PRODUCER_EPOCH instead, as Kafka's KafkaApis does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/common/error_code.h"

namespace strata::txn {

inline constexpr char kTransactionStateTopic[] = "__transaction_state";

// A (topic, partition) as the transaction APIs name it.
struct TxnTopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend auto operator<=>(const TxnTopicPartition&, const TxnTopicPartition&) = default;
};

// An error with the message explaining it.
struct TxnResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

// --- InitProducerId ---
struct InitProducerIdRequest {
  // nullopt: an idempotent producer without transactions (Kafka's null),
  // which just gets a fresh producer id. Empty is INVALID_REQUEST.
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 60000;
  // KIP-360 (InitProducerId v3+): the producer id and epoch the producer
  // has now, to bump its epoch after an abortable error without being
  // fenced; -1/-1 when it has none. One set without the other is
  // INVALID_REQUEST.
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool producer_fenced_supported = true;  // false before InitProducerId v4
};
struct InitProducerIdResponse {
  TxnResult result;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// --- AddPartitionsToTxn ---
struct AddPartitionsToTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::vector<TxnTopicPartition> partitions;
  bool producer_fenced_supported = true;  // false before v2
};
struct AddPartitionsToTxnResponse {
  // One per distinct partition asked for, in (topic, partition) order. As
  // in Kafka, one error answers them all, except that when some partitions
  // do not exist those get UNKNOWN_TOPIC_OR_PARTITION and the rest
  // OPERATION_NOT_ATTEMPTED, and nothing is added.
  std::vector<std::pair<TxnTopicPartition, ErrorCode>> results;
  std::string message;
};

// --- AddOffsetsToTxn ---
// Adds the __consumer_offsets partition of `group_id` to the transaction,
// so TxnOffsetCommit can write offsets there.
struct AddOffsetsToTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string group_id;
  bool producer_fenced_supported = true;  // false before v2
};

// --- EndTxn ---
struct EndTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool committed = false;                 // true: commit; false: abort
  bool producer_fenced_supported = true;  // false before v2
};

// --- DescribeTransactions / ListTransactions (the `strata transactions`
// tool) ---
struct TransactionDescription {
  std::string transactional_id;
  // NONE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or
  // TRANSACTIONAL_ID_NOT_FOUND; the fields below only with NONE.
  TxnResult result;
  std::string state;  // Kafka's name: "Ongoing", "CompleteCommit", ...
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t transaction_timeout_ms = 0;
  int64_t transaction_start_time_ms = -1;  // -1 when none is under way
  std::vector<TxnTopicPartition> partitions;
};

struct ListTransactionsRequest {
  // Kafka's state names, case-insensitive; empty: every state.
  std::vector<std::string> state_filters;
  // Empty: every producer id.
  std::vector<int64_t> producer_id_filters;
};
struct ListedTransaction {
  std::string transactional_id;
  int64_t producer_id = -1;
  std::string state;
};
struct ListTransactionsResponse {
  // COORDINATOR_LOAD_IN_PROGRESS while a partition is loading (what is
  // listed is then incomplete), as Kafka answers; NONE otherwise.
  TxnResult result;
  // State filters naming no state Kafka knows (Kafka answers them so).
  std::vector<std::string> unknown_state_filters;
  std::vector<ListedTransaction> transactions;  // by transactional id
};

}  // namespace strata::txn
