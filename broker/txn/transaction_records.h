// The records of the internal topic __transaction_state, byte for byte as
// Kafka writes them, so the transaction coordinator persists each
// transactional id's state in a form Kafka's tools (and a later migration)
// read as their own. Pure functions: no I/O, no state, thread-safe.
//
// Kafka's schemas: TransactionLogKey.json and TransactionLogValue.json
// (transaction-coordinator/src/main/resources/common/message); its reader
// and writer: TransactionLog.scala (keyToBytes, valueToBytes,
// readTxnRecordKey, readTxnRecordValue).
//
// Format. Big-endian integers. Not flexible: a string is an int16 length
// and that many bytes, an array an int32 count (-1 = null). Flexible (value
// v1): compact forms, an unsigned varint of length+1 (0 = null) for strings
// and arrays, and every struct ends with tagged fields (an unsigned varint
// count, then each as varint tag, varint size, bytes).
//
// Key: int16 version 0 (in Kafka 4's coordinator-record numbering, the
// record type TRANSACTION_LOG), then transactional_id string. Another
// version is not ours: DecodeKey answers Unimplemented for it (see
// IsUnknownKeyVersion) and the loader skips it, as Kafka's readTxnRecordKey
// does.
//
// Value (TransactionLogValue): int16 version, then
//   producer_id int64, producer_epoch int16, transaction_timeout_ms int32,
//   transaction_status int8 (TransactionState's ids below),
//   transaction_partitions nullable array of { topic string,
//     partition_ids array of int32 [v1: tagged fields] },
//   transaction_last_update_timestamp_ms int64,
//   transaction_start_timestamp_ms int64,
//   [v1: tagged fields: 0 previous_producer_id int64 (default -1),
//        1 next_producer_id int64 (-1), 2 client_transaction_version int16
//        (0) — KIP-890's, carried through, unused here].
// v1 is v0, flexible. Kafka 3.x writes v0 (v1 only once transaction.version
// >= 1 enables KIP-890), so EncodeValue writes v0 unless a KIP-890 field
// differs from its default.
//
// Partitions: Kafka writes null for an Empty transaction and an array (one
// entry per topic) otherwise, an empty one when no partition is left (the
// Complete* states). Null and empty decode alike, as no partitions. Kafka
// ignores the partitions of an Empty value when it loads; so do we.
//
// A tombstone (a record with a null value) deletes its transactional id
// (it expired); that is the coordinator's business, and DecodeValue only
// sees non-null values.
//
// Errors. A decoder never trusts a length or count: anything truncated,
// a length or count beyond the bytes that remain, a negative length that
// is not the null marker, a null where null is not allowed, an over-long
// varint, an unknown value version or status id, a KIP-890 tagged field
// of the wrong size, or bytes left over after the last field is
// InvalidArgument with a message naming the field and the problem.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/txn/txn_api.h"

namespace strata::txn {

// The longest string the format holds (its int16 length).
inline constexpr size_t kMaxRecordStringBytes = 0x7fff;

inline constexpr int16_t kTxnKeyVersion = 0;

// Kafka's TransactionState ids, as transaction_status stores them.
enum class TransactionState : int8_t {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
  kDead = 6,
  kPrepareEpochFence = 7,
};

// Kafka's names ("Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
// "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"): what
// DescribeTransactions and ListTransactions answer and the tool prints.
const char* TransactionStateName(TransactionState state);
// The state a status id names; nullopt for an id Kafka does not define.
std::optional<TransactionState> TransactionStateFromId(int8_t id);

struct TransactionLogValue {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t transaction_timeout_ms = 0;
  TransactionState state = TransactionState::kEmpty;
  std::set<TxnTopicPartition> partitions;
  int64_t last_update_timestamp_ms = -1;
  int64_t start_timestamp_ms = -1;
  // KIP-890 (v1 tagged fields); defaults make EncodeValue write v0.
  int64_t previous_producer_id = -1;
  int64_t next_producer_id = -1;
  int16_t client_transaction_version = 0;

  friend bool operator==(const TransactionLogValue&, const TransactionLogValue&) = default;
};

// Encoders. Preconditions, CHECKed (the coordinator refuses longer ids and
// topics before it gets here): every string is at most
// kMaxRecordStringBytes long.
std::string EncodeKey(std::string_view transactional_id);
std::string EncodeValue(const TransactionLogValue& value);

// Decoders; errors as described at the top. DecodeKey answers the
// transactional id.
absl::StatusOr<std::string> DecodeKey(std::string_view bytes);
absl::StatusOr<TransactionLogValue> DecodeValue(std::string_view bytes);

// Whether `status` is DecodeKey's answer for a key version that is not a
// transaction record (skipped, not corruption).
bool IsUnknownKeyVersion(const absl::Status& status);

}  // namespace strata::txn
