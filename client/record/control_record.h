// Control records: the transaction markers (Kafka's EndTransactionMarker)
// a transaction coordinator has every partition leader of a transaction
// append when it commits or aborts (WriteTxnMarkers).
//
// A marker is a control batch (attributes: control and transactional bits)
// of the transaction's producer id and epoch, base sequence -1, holding one
// record whose
//   key   = int16 version (0), int16 type (0 ABORT, 1 COMMIT)
//   value = int16 version (0), int32 coordinator epoch
// all big-endian, as Kafka's ControlRecordType and EndTransactionMarker
// write them. Readers take a key or value of a newer version by its known
// leading fields, as Kafka does; shorter ones are refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "client/common/ids.h"

namespace strata::record {

enum class ControlType : int16_t { kAbort = 0, kCommit = 1 };

struct EndTxnMarker {
  ControlType type = ControlType::kAbort;
  int32_t coordinator_epoch = 0;

  friend bool operator==(const EndTxnMarker&, const EndTxnMarker&) = default;
};

// "COMMIT" or "ABORT".
std::string_view ControlTypeName(ControlType type);

// A control record's key and an end-transaction marker's value.
std::string EncodeControlKey(ControlType type);
std::string EncodeEndTxnMarkerValue(int32_t coordinator_epoch);
// The type of a control record's key; InvalidArgument for a key too short,
// or of a type that is not a transaction marker's (Kafka knows others, e.g.
// the leader-change records of its own metadata log).
absl::StatusOr<ControlType> DecodeControlKey(std::string_view key);
// The coordinator epoch of a marker's value; InvalidArgument when short.
absl::StatusOr<int32_t> DecodeEndTxnMarkerValue(std::string_view value);

// The control batch carrying `marker` for the producer, at `base_offset`
// (the log assigns the real one), its record stamped `timestamp_ms`.
std::string BuildEndTxnMarkerBatch(int64_t producer_id, int16_t producer_epoch, EndTxnMarker marker,
                                   int64_t timestamp_ms, Offset base_offset = Offset(0));

// The marker a control batch holds. InvalidArgument when `batch` is not
// one whole, valid control batch of exactly one marker record.
absl::StatusOr<EndTxnMarker> ReadEndTxnMarker(std::string_view batch);

// An aborted transaction as a read_committed fetch reports it: the
// producer and the offset its aborted transaction began at.
struct AbortedTransaction {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  friend bool operator==(const AbortedTransaction&, const AbortedTransaction&) = default;
};

struct BatchHeader;

// What a read_committed consumer keeps of the batches of one fetched
// partition, in order (Kafka's consumer): a transactional batch of a
// producer whose aborted transaction has begun at or before the batch's
// last offset is dropped, until that producer's ABORT marker; control
// batches are never handed to applications. One filter per partition and
// fetch response, fed its batches in offset order.
class AbortedTransactionFilter {
 public:
  explicit AbortedTransactionFilter(std::vector<AbortedTransaction> aborted);
  // Whether to drop the batch `batch` (with its parsed `header`).
  bool Drop(const BatchHeader& header, std::string_view batch);

 private:
  // Sorted by first offset; [next_, end) not yet begun.
  std::vector<AbortedTransaction> aborted_;
  size_t next_ = 0;
  absl::flat_hash_set<int64_t> aborting_;
};

}  // namespace strata::record
