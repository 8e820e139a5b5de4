#include "client/errors.h"

#include <string_view>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace strata::client {
namespace {

// Status payload key for the Kafka error code.
constexpr char kErrorCodeUrl[] = "type.strata.io/strata.v1.ErrorCode";

absl::StatusCode CanonicalCode(v1::ErrorCode code) {
  switch (code) {
    case v1::NONE:
      return absl::StatusCode::kOk;
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::GROUP_ID_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case v1::TOPIC_ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case v1::OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case v1::LEADER_NOT_AVAILABLE:
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::BROKER_NOT_AVAILABLE:
    case v1::REPLICA_NOT_AVAILABLE:
    case v1::NETWORK_EXCEPTION:
    case v1::NOT_ENOUGH_REPLICAS:
    case v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case v1::NOT_CONTROLLER:
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
    case v1::COORDINATOR_NOT_AVAILABLE:
    case v1::NOT_COORDINATOR:
    case v1::OFFSET_NOT_AVAILABLE:
    case v1::ELIGIBLE_LEADERS_NOT_AVAILABLE:
      return absl::StatusCode::kUnavailable;
    case v1::REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::STALE_CONTROLLER_EPOCH:
    case v1::STALE_BROKER_EPOCH:
    case v1::ILLEGAL_GENERATION:
    case v1::REBALANCE_IN_PROGRESS:
    case v1::REASSIGNMENT_IN_PROGRESS:
    case v1::NON_EMPTY_GROUP:
    case v1::INVALID_PRODUCER_EPOCH:
    case v1::INVALID_TXN_STATE:
    case v1::INVALID_PRODUCER_ID_MAPPING:
    case v1::PRODUCER_FENCED:
      return absl::StatusCode::kFailedPrecondition;
    case v1::CONCURRENT_TRANSACTIONS:
      return absl::StatusCode::kUnavailable;
    case v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return absl::StatusCode::kPermissionDenied;
    case v1::CORRUPT_MESSAGE:
      return absl::StatusCode::kDataLoss;
    case v1::KAFKA_STORAGE_ERROR:
      return absl::StatusCode::kInternal;
    case v1::UNSUPPORTED_VERSION:
      return absl::StatusCode::kUnimplemented;
    case v1::UNKNOWN_SERVER_ERROR:
      return absl::StatusCode::kUnknown;
    default:
      // INVALID_*, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, ...: the request
      // itself is wrong and will fail again as it is.
      return absl::StatusCode::kInvalidArgument;
  }
}

}  // namespace

std::string ErrorName(v1::ErrorCode code) {
  const std::string& name = v1::ErrorCode_Name(code);
  return name.empty() ? fmt::format("ERROR_{}", static_cast<int>(code)) : name;
}

std::string DefaultErrorMessage(v1::ErrorCode code) {
  // Kafka's texts (org.apache.kafka.common.protocol.Errors), so that a user
  // who searches for one finds Kafka's explanations.
  switch (code) {
    case v1::NONE:
      return "";
    case v1::UNKNOWN_SERVER_ERROR:
      return "The server experienced an unexpected error when processing the request.";
    case v1::OFFSET_OUT_OF_RANGE:
      return "The requested offset is not within the range of offsets maintained by the server.";
    case v1::CORRUPT_MESSAGE:
      return "This message has failed its CRC checksum, exceeds the valid size, has a null key "
             "for a compacted topic, or is otherwise corrupt.";
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
      return "This server does not host this topic-partition.";
    case v1::LEADER_NOT_AVAILABLE:
      return "There is no leader for this topic-partition as we are in the middle of a "
             "leadership election.";
    case v1::NOT_LEADER_OR_FOLLOWER:
      return "For requests intended only for the leader, this error indicates that the broker "
             "is not the current leader.";
    case v1::REQUEST_TIMED_OUT:
      return "The request timed out.";
    case v1::BROKER_NOT_AVAILABLE:
      return "The broker is not available.";
    case v1::MESSAGE_TOO_LARGE:
      return "The request included a message larger than the max message size the server "
             "will accept.";
    case v1::NETWORK_EXCEPTION:
      return "The server disconnected before a response was received.";
    case v1::INVALID_TOPIC_EXCEPTION:
      return "The request attempted to perform an operation on an invalid topic.";
    case v1::RECORD_LIST_TOO_LARGE:
      return "The request included message batch larger than the configured segment size on "
             "the server.";
    case v1::NOT_ENOUGH_REPLICAS:
      return "Messages are rejected since there are fewer in-sync replicas than required.";
    case v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return "Messages are written to the log, but to fewer in-sync replicas than required.";
    case v1::INVALID_REQUIRED_ACKS:
      return "Produce request specified an invalid value for required acks.";
    case v1::INVALID_TIMESTAMP:
      return "The timestamp of the message is out of acceptable range.";
    case v1::TOPIC_ALREADY_EXISTS:
      return "Topic with this name already exists.";
    case v1::INVALID_PARTITIONS:
      return "Number of partitions is below 1.";
    case v1::INVALID_REPLICATION_FACTOR:
      return "Replication factor is below 1 or larger than the number of available brokers.";
    case v1::INVALID_REPLICA_ASSIGNMENT:
      return "Replica assignment is invalid.";
    case v1::INVALID_CONFIG:
      return "Configuration is invalid.";
    case v1::NOT_CONTROLLER:
      return "This is not the correct controller for this cluster.";
    case v1::INVALID_REQUEST:
      return "This most likely occurs because of a request being malformed by the client "
             "library or the message was sent to an incompatible broker. See the broker logs "
             "for more details.";
    case v1::POLICY_VIOLATION:
      return "Request parameters do not satisfy the configured policy.";
    case v1::KAFKA_STORAGE_ERROR:
      return "Disk error when trying to access log file on the disk.";
    case v1::FENCED_LEADER_EPOCH:
      return "The leader epoch in the request is older than the epoch on the broker.";
    case v1::UNKNOWN_LEADER_EPOCH:
      return "The leader epoch in the request is newer than the epoch on the broker.";
    case v1::OFFSET_NOT_AVAILABLE:
      return "The leader high watermark has not caught up from a recent leader election so the "
             "offsets cannot be guaranteed to be monotonically increasing.";
    case v1::INVALID_RECORD:
      return "This record has failed the validation on broker and hence will be rejected.";
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
      return "The coordinator is loading and hence can't process requests.";
    case v1::COORDINATOR_NOT_AVAILABLE:
      return "The coordinator is not available.";
    case v1::NOT_COORDINATOR:
      return "This is not the correct coordinator.";
    case v1::ILLEGAL_GENERATION:
      return "Specified group generation id is not valid.";
    case v1::UNKNOWN_MEMBER_ID:
      return "The coordinator is not aware of this member.";
    case v1::OUT_OF_ORDER_SEQUENCE_NUMBER:
      return "The broker received an out of order sequence number.";
    case v1::DUPLICATE_SEQUENCE_NUMBER:
      return "The broker received a duplicate sequence number.";
    case v1::INVALID_PRODUCER_EPOCH:
      return "Producer attempted to produce with an old epoch.";
    case v1::INVALID_TXN_STATE:
      return "The producer attempted a transactional operation in an invalid state.";
    case v1::INVALID_PRODUCER_ID_MAPPING:
      return "The producer attempted to use a producer id which is not currently assigned to its "
             "transactional id.";
    case v1::INVALID_TRANSACTION_TIMEOUT:
      return "The transaction timeout is larger than the maximum value allowed by the broker (as "
             "configured by transaction.max.timeout.ms).";
    case v1::CONCURRENT_TRANSACTIONS:
      return "The producer attempted to update a transaction while another concurrent operation "
             "on the same transaction was ongoing.";
    case v1::TRANSACTION_COORDINATOR_FENCED:
      return "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer "
             "the current coordinator for a given producer.";
    case v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return "Transactional Id authorization failed.";
    case v1::OPERATION_NOT_ATTEMPTED:
      return "The broker did not attempt to execute this operation. This may happen for batched "
             "RPCs where some operations in the batch failed, causing the broker to respond "
             "without trying the rest.";
    case v1::UNKNOWN_PRODUCER_ID:
      return "This exception is raised by the broker if it could not locate the producer "
             "metadata associated with the producerId in question.";
    case v1::FENCED_INSTANCE_ID:
      return "The broker rejected this static consumer since another consumer with the same "
             "group.instance.id has registered with a different member.id.";
    case v1::UNSTABLE_OFFSET_COMMIT:
      return "There are unstable offsets that need to be cleared.";
    case v1::PRODUCER_FENCED:
      return "There is a newer producer with the same transactionalId which fences the current "
             "one.";
    case v1::TRANSACTIONAL_ID_NOT_FOUND:
      return "The transactionalId could not be found.";
    default:
      return fmt::format("The server returned error {} ({}).", ErrorName(code),
                         static_cast<int>(code));
  }
}

absl::Status ErrorToStatus(v1::ErrorCode code, const std::string& message) {
  if (code == v1::NONE) return absl::OkStatus();
  absl::Status status(CanonicalCode(code), message.empty() ? DefaultErrorMessage(code) : message);
  status.SetPayload(kErrorCodeUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

v1::ErrorCode ErrorCodeOf(const absl::Status& status) {
  if (status.ok()) return v1::NONE;
  auto payload = status.GetPayload(kErrorCodeUrl);
  if (!payload) return v1::UNKNOWN_SERVER_ERROR;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value) || !v1::ErrorCode_IsValid(value)) {
    return v1::UNKNOWN_SERVER_ERROR;
  }
  return static_cast<v1::ErrorCode>(value);
}

bool IsAuthorizationFailure(v1::ErrorCode code) {
  return code == v1::TOPIC_AUTHORIZATION_FAILED || code == v1::GROUP_AUTHORIZATION_FAILED ||
         code == v1::CLUSTER_AUTHORIZATION_FAILED ||
         code == v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

bool IsRetriable(v1::ErrorCode code) {
  switch (code) {
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::LEADER_NOT_AVAILABLE:
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::REQUEST_TIMED_OUT:
    case v1::NOT_ENOUGH_REPLICAS:
    case v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case v1::NETWORK_EXCEPTION:
    case v1::BROKER_NOT_AVAILABLE:
    case v1::REPLICA_NOT_AVAILABLE:
    case v1::NOT_CONTROLLER:
    case v1::KAFKA_STORAGE_ERROR:
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::OFFSET_NOT_AVAILABLE:
    case v1::CORRUPT_MESSAGE:
      return true;
    default:
      return false;
  }
}

bool InvalidatesMetadata(v1::ErrorCode code) {
  switch (code) {
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::LEADER_NOT_AVAILABLE:
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::BROKER_NOT_AVAILABLE:
    case v1::REPLICA_NOT_AVAILABLE:
    case v1::KAFKA_STORAGE_ERROR:
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::NOT_CONTROLLER:
      return true;
    default:
      return false;
  }
}

absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& target) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string detail = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(
        fmt::format("Connection to node {} could not be established. "
                    "Node may not be available. ({})",
                    target, detail));
  }
  return absl::Status(code, fmt::format("{} (from {})", detail, target));
}

bool HasErrorCode(const absl::Status& status) {
  return status.GetPayload(kErrorCodeUrl).has_value();
}

bool IsNetworkError(const absl::Status& status) {
  if (status.GetPayload(kErrorCodeUrl).has_value()) return false;
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status);
}

bool IsRetriableRpcFailure(const absl::Status& status) {
  if (status.ok() || HasErrorCode(status)) return false;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

bool IsDeterministicRpcFailure(const absl::Status& status) {
  return !status.ok() && !HasErrorCode(status) && !IsRetriableRpcFailure(status);
}

}  // namespace strata::client
