// Kafka error codes (strata.v1.ErrorCode) as absl::Status values.
//
// Every error the client returns is an absl::Status whose message is the
// server's error_message (or, when the server sent none, Kafka's description
// of the code). The wire code itself travels as a payload, so callers that
// need to tell TOPIC_ALREADY_EXISTS from INVALID_REPLICATION_FACTOR can ask
// ErrorCodeOf() instead of parsing messages.
//
// Thread-safe: all functions are pure.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "strata/v1/common.pb.h"

namespace strata::client {

// The Kafka name of a code, e.g. "NOT_LEADER_OR_FOLLOWER".
std::string ErrorName(v1::ErrorCode code);

// Kafka's one-line description of a code, used when the server sent no
// message ("This server does not host this topic-partition.").
std::string DefaultErrorMessage(v1::ErrorCode code);

// NONE -> OkStatus. Otherwise a Status with a code that fits (NotFound for
// UNKNOWN_TOPIC_OR_PARTITION, AlreadyExists for TOPIC_ALREADY_EXISTS,
// Unavailable for leadership errors, ...), `message` or the default message,
// and the wire code attached.
absl::Status ErrorToStatus(v1::ErrorCode code, const std::string& message);

// The wire code attached by ErrorToStatus; NONE for OK, UNKNOWN_SERVER_ERROR
// for a status that carries none (a transport failure: see IsNetworkError).
v1::ErrorCode ErrorCodeOf(const absl::Status& status);

// Errors after which the same request may succeed once metadata is
// refreshed: Kafka's RetriableException subclasses that a producer meets.
bool IsRetriable(v1::ErrorCode code);

// The authorization failures (TOPIC_, GROUP_, CLUSTER_,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED): no retry succeeds until an ACL
// changes, so clients give up at once, as Kafka's do.
bool IsAuthorizationFailure(v1::ErrorCode code);

// Errors that mean the partition's leader moved or is unknown: the client
// refreshes its metadata before trying again.
bool InvalidatesMetadata(v1::ErrorCode code);

// A gRPC failure of the whole call, as an absl::Status. UNAVAILABLE (no
// connection) and DEADLINE_EXCEEDED keep their codes so that IsNetworkError
// recognises them.
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& target);

// True for transport failures after which another node, or the same one a
// little later, may answer.
bool IsNetworkError(const absl::Status& status);

// Whether `status` carries a wire error code (ErrorToStatus): the peer's
// answer, not a failure of the call.
bool HasErrorCode(const absl::Status& status);

// A call that failed without an answer (no wire code) in a way another try
// may get past: the network (IsNetworkError), or a server overloaded,
// restarting or failing inside (INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED,
// ABORTED). Kafka retries a broken connection likewise.
bool IsRetriableRpcFailure(const absl::Status& status);

// A call that failed without an answer and will fail the same way again:
// UNIMPLEMENTED (the node does not serve it), PERMISSION_DENIED,
// UNAUTHENTICATED, INVALID_ARGUMENT, ...
bool IsDeterministicRpcFailure(const absl::Status& status);

}  // namespace strata::client
