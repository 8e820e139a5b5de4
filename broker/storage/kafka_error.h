// A Kafka error code carried on an absl::Status, for the few refusals whose
// Kafka code no absl::StatusCode stands for (INVALID_TIMESTAMP): storage
// cannot name the wire enum (protos live above it), so it attaches the code
// as a payload and the edge that maps statuses to wire codes
// (replication::ErrorCodeFor) looks for the payload first.
//
// The payload sits under the type URL kKafkaErrorTypeUrl and holds the
// code in decimal ("32"). Statuses without it map by their StatusCode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace strata::storage {

inline constexpr char kKafkaErrorTypeUrl[] = "strata/kafka-error";

// Kafka's numbering, for the codes storage attaches.
inline constexpr int16_t kKafkaInvalidTimestamp = 32;
// Idempotent and transactional producers (producer_state.h): a batch out of
// sequence, from a fenced (older) producer epoch, or against the producer's
// transaction state.
inline constexpr int16_t kKafkaOutOfOrderSequenceNumber = 45;
inline constexpr int16_t kKafkaInvalidProducerEpoch = 47;
inline constexpr int16_t kKafkaInvalidTxnState = 48;
// A transaction marker from a coordinator epoch older than the producer's
// last marker's: a deposed transaction coordinator.
inline constexpr int16_t kKafkaTransactionCoordinatorFenced = 52;
// The disk failed a read, write, sync or truncate (ENOSPC, EIO, EROFS, ...):
// the log directory goes offline (FileSystem's errors carry it).
inline constexpr int16_t kKafkaStorageError = 56;

// `status` with `code` attached. An OK status is returned unchanged (absl
// drops payloads on OK statuses).
inline absl::Status WithKafkaError(absl::Status status, int16_t code) {
  status.SetPayload(kKafkaErrorTypeUrl, absl::Cord(std::to_string(code)));
  return status;
}

// The attached code, if any.
inline std::optional<int16_t> KafkaErrorOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kKafkaErrorTypeUrl);  // absl::optional
  if (!payload.has_value()) return std::nullopt;
  int32_t code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code) || code < INT16_MIN || code > INT16_MAX) {
    return std::nullopt;
  }
  return static_cast<int16_t>(code);
}

// Whether the disk itself failed (see kKafkaStorageError), as opposed to a
// refused request or a missing file.
inline bool IsStorageFailure(const absl::Status& status) {
  return KafkaErrorOf(status) == kKafkaStorageError;
}

}  // namespace strata::storage
