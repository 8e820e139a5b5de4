// The edge between the broker's ErrorCode (client/common/error_code.h) and
// the gRPC protos' strata.v1.ErrorCode. Both use Kafka's numbers, so the
// mapping is by value; a code the proto does not list goes out as
// UNKNOWN_SERVER_ERROR rather than as a number a client cannot name.
#pragma once

#include "client/common/error_code.h"
#include "strata/v1/common.pb.h"

namespace strata::server {

inline v1::ErrorCode ToProto(ErrorCode code) {
  const int value = static_cast<int>(code);
  return v1::ErrorCode_IsValid(value) ? static_cast<v1::ErrorCode>(value)
                                      : v1::UNKNOWN_SERVER_ERROR;
}

inline ErrorCode FromProto(v1::ErrorCode code) {
  const int value = static_cast<int>(code);
  return IsKnownErrorCode(value) ? static_cast<ErrorCode>(value) : ErrorCode::kUnknownServerError;
}

}  // namespace strata::server
