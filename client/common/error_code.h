// ErrorCode: the broker's and the client's result codes, in Kafka's own
// numbering (org.apache.kafka.common.protocol.Errors), so every wire
// protocol maps them by value at its edge: strata.v1.ErrorCode has the same
// numbers, and so does Kafka's binary protocol. The request layer, the
// replica manager and the coordinators speak this type; no module below the
// transports names a wire enum.
#pragma once

#include <cstdint>
#include <string_view>

namespace strata {

// The one list: X(enumerator, Kafka's name, Kafka's number). The enum and
// the names are both made from it, so they cannot drift apart; a test
// (ErrorCodeTest) checks it against strata.v1.ErrorCode.
#define STRATA_ERROR_CODES(X)                                                       \
  X(kNone, NONE, 0)                                                                 \
  X(kUnknownServerError, UNKNOWN_SERVER_ERROR, -1)                                  \
  X(kOffsetOutOfRange, OFFSET_OUT_OF_RANGE, 1)                                      \
  X(kCorruptMessage, CORRUPT_MESSAGE, 2)                                            \
  X(kUnknownTopicOrPartition, UNKNOWN_TOPIC_OR_PARTITION, 3)                        \
  X(kInvalidFetchSize, INVALID_FETCH_SIZE, 4)                                       \
  X(kLeaderNotAvailable, LEADER_NOT_AVAILABLE, 5)                                   \
  X(kNotLeaderOrFollower, NOT_LEADER_OR_FOLLOWER, 6)                                \
  X(kRequestTimedOut, REQUEST_TIMED_OUT, 7)                                         \
  X(kBrokerNotAvailable, BROKER_NOT_AVAILABLE, 8)                                   \
  X(kReplicaNotAvailable, REPLICA_NOT_AVAILABLE, 9)                                 \
  X(kMessageTooLarge, MESSAGE_TOO_LARGE, 10)                                        \
  X(kStaleControllerEpoch, STALE_CONTROLLER_EPOCH, 11)                              \
  X(kOffsetMetadataTooLarge, OFFSET_METADATA_TOO_LARGE, 12)                         \
  X(kNetworkException, NETWORK_EXCEPTION, 13)                                       \
  X(kCoordinatorLoadInProgress, COORDINATOR_LOAD_IN_PROGRESS, 14)                   \
  X(kCoordinatorNotAvailable, COORDINATOR_NOT_AVAILABLE, 15)                        \
  X(kNotCoordinator, NOT_COORDINATOR, 16)                                           \
  X(kInvalidTopicException, INVALID_TOPIC_EXCEPTION, 17)                            \
  X(kRecordListTooLarge, RECORD_LIST_TOO_LARGE, 18)                                 \
  X(kNotEnoughReplicas, NOT_ENOUGH_REPLICAS, 19)                                    \
  X(kNotEnoughReplicasAfterAppend, NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)            \
  X(kInvalidRequiredAcks, INVALID_REQUIRED_ACKS, 21)                                \
  X(kIllegalGeneration, ILLEGAL_GENERATION, 22)                                     \
  X(kInconsistentGroupProtocol, INCONSISTENT_GROUP_PROTOCOL, 23)                    \
  X(kInvalidGroupId, INVALID_GROUP_ID, 24)                                          \
  X(kUnknownMemberId, UNKNOWN_MEMBER_ID, 25)                                        \
  X(kInvalidSessionTimeout, INVALID_SESSION_TIMEOUT, 26)                            \
  X(kRebalanceInProgress, REBALANCE_IN_PROGRESS, 27)                                \
  X(kInvalidCommitOffsetSize, INVALID_COMMIT_OFFSET_SIZE, 28)                       \
  X(kTopicAuthorizationFailed, TOPIC_AUTHORIZATION_FAILED, 29)                       \
  X(kGroupAuthorizationFailed, GROUP_AUTHORIZATION_FAILED, 30)                       \
  X(kClusterAuthorizationFailed, CLUSTER_AUTHORIZATION_FAILED, 31)                   \
  X(kInvalidTimestamp, INVALID_TIMESTAMP, 32)                                       \
  X(kUnsupportedSaslMechanism, UNSUPPORTED_SASL_MECHANISM, 33)                     \
  X(kIllegalSaslState, ILLEGAL_SASL_STATE, 34)                                     \
  X(kUnsupportedVersion, UNSUPPORTED_VERSION, 35)                                   \
  X(kTopicAlreadyExists, TOPIC_ALREADY_EXISTS, 36)                                  \
  X(kInvalidPartitions, INVALID_PARTITIONS, 37)                                     \
  X(kInvalidReplicationFactor, INVALID_REPLICATION_FACTOR, 38)                      \
  X(kInvalidReplicaAssignment, INVALID_REPLICA_ASSIGNMENT, 39)                      \
  X(kInvalidConfig, INVALID_CONFIG, 40)                                             \
  X(kNotController, NOT_CONTROLLER, 41)                                             \
  X(kInvalidRequest, INVALID_REQUEST, 42)                                           \
  X(kPolicyViolation, POLICY_VIOLATION, 44)                                         \
  X(kOutOfOrderSequenceNumber, OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                    \
  X(kDuplicateSequenceNumber, DUPLICATE_SEQUENCE_NUMBER, 46)                        \
  X(kInvalidProducerEpoch, INVALID_PRODUCER_EPOCH, 47)                              \
  X(kInvalidTxnState, INVALID_TXN_STATE, 48)                                        \
  X(kInvalidProducerIdMapping, INVALID_PRODUCER_ID_MAPPING, 49)                     \
  X(kInvalidTransactionTimeout, INVALID_TRANSACTION_TIMEOUT, 50)                    \
  X(kConcurrentTransactions, CONCURRENT_TRANSACTIONS, 51)                           \
  X(kTransactionCoordinatorFenced, TRANSACTION_COORDINATOR_FENCED, 52)              \
  X(kTransactionalIdAuthorizationFailed, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53) \
  X(kSecurityDisabled, SECURITY_DISABLED, 54)                                      \
  X(kOperationNotAttempted, OPERATION_NOT_ATTEMPTED, 55)                            \
  X(kKafkaStorageError, KAFKA_STORAGE_ERROR, 56)                                    \
  X(kSaslAuthenticationFailed, SASL_AUTHENTICATION_FAILED, 58)                     \
  X(kUnknownProducerId, UNKNOWN_PRODUCER_ID, 59)                                    \
  X(kReassignmentInProgress, REASSIGNMENT_IN_PROGRESS, 60)                          \
  X(kNonEmptyGroup, NON_EMPTY_GROUP, 68)                                            \
  X(kGroupIdNotFound, GROUP_ID_NOT_FOUND, 69)                                       \
  X(kFetchSessionIdNotFound, FETCH_SESSION_ID_NOT_FOUND, 70)                        \
  X(kInvalidFetchSessionEpoch, INVALID_FETCH_SESSION_EPOCH, 71)                     \
  X(kListenerNotFound, LISTENER_NOT_FOUND, 72)                                      \
  X(kFencedLeaderEpoch, FENCED_LEADER_EPOCH, 74)                                    \
  X(kUnknownLeaderEpoch, UNKNOWN_LEADER_EPOCH, 75)                                  \
  X(kStaleBrokerEpoch, STALE_BROKER_EPOCH, 77)                                      \
  X(kOffsetNotAvailable, OFFSET_NOT_AVAILABLE, 78)                                  \
  X(kMemberIdRequired, MEMBER_ID_REQUIRED, 79)                                      \
  X(kPreferredLeaderNotAvailable, PREFERRED_LEADER_NOT_AVAILABLE, 80)               \
  X(kGroupMaxSizeReached, GROUP_MAX_SIZE_REACHED, 81)                               \
  X(kFencedInstanceId, FENCED_INSTANCE_ID, 82)                                      \
  X(kEligibleLeadersNotAvailable, ELIGIBLE_LEADERS_NOT_AVAILABLE, 83)               \
  X(kElectionNotNeeded, ELECTION_NOT_NEEDED, 84)                                    \
  X(kNoReassignmentInProgress, NO_REASSIGNMENT_IN_PROGRESS, 85)                     \
  X(kGroupSubscribedToTopic, GROUP_SUBSCRIBED_TO_TOPIC, 86)                         \
  X(kInvalidRecord, INVALID_RECORD, 87)                                             \
  X(kUnstableOffsetCommit, UNSTABLE_OFFSET_COMMIT, 88)                              \
  X(kProducerFenced, PRODUCER_FENCED, 90)                                           \
  X(kResourceNotFound, RESOURCE_NOT_FOUND, 91)                                     \
  X(kDuplicateResource, DUPLICATE_RESOURCE, 92)                                    \
  X(kUnacceptableCredential, UNACCEPTABLE_CREDENTIAL, 93)                          \
  X(kInvalidUpdateVersion, INVALID_UPDATE_VERSION, 95)                              \
  X(kDuplicateBrokerRegistration, DUPLICATE_BROKER_REGISTRATION, 101)               \
  X(kBrokerIdNotRegistered, BROKER_ID_NOT_REGISTERED, 102)                          \
  X(kTransactionalIdNotFound, TRANSACTIONAL_ID_NOT_FOUND, 105)                      \
  X(kIneligibleReplica, INELIGIBLE_REPLICA, 107)                                    \
  X(kNewLeaderElected, NEW_LEADER_ELECTED, 108)                                     \
  X(kUnsupportedEndpointType, UNSUPPORTED_ENDPOINT_TYPE, 115)

enum class ErrorCode : int16_t {
#define STRATA_ERROR_CODE_ENUMERATOR(enumerator, name, number) enumerator = number,
  STRATA_ERROR_CODES(STRATA_ERROR_CODE_ENUMERATOR)
#undef STRATA_ERROR_CODE_ENUMERATOR
};

// Kafka's name for `code` ("NOT_LEADER_OR_FOLLOWER"), "UNKNOWN" for a number
// this build does not know.
constexpr std::string_view ErrorName(ErrorCode code) {
  switch (code) {
#define STRATA_ERROR_CODE_NAME(enumerator, name, number) \
  case ErrorCode::enumerator:                            \
    return #name;
    STRATA_ERROR_CODES(STRATA_ERROR_CODE_NAME)
#undef STRATA_ERROR_CODE_NAME
  }
  return "UNKNOWN";
}

// Whether `code` is one of the codes above (a number read off a wire or a
// status payload may be anything).
constexpr bool IsKnownErrorCode(int32_t code) {
  return code >= INT16_MIN && code <= INT16_MAX &&
         ErrorName(static_cast<ErrorCode>(code)) != "UNKNOWN";
}

}  // namespace strata
