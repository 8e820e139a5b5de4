#include "tools/kafka_exception.h"

#include <map>

#include "client/errors.h"
#include "fmt/format.h"

namespace strata::tools {
namespace {

struct Known {
  const char* exception;
  const char* message;  // Kafka's default message ("" : the client's)
};

const std::map<v1::ErrorCode, Known>& KnownExceptions() {
  static const auto* known = new std::map<v1::ErrorCode, Known>{
      {v1::OFFSET_OUT_OF_RANGE,
       {"OffsetOutOfRangeException",
        "The requested offset is not within the range of offsets maintained by the server."}},
      {v1::UNKNOWN_TOPIC_OR_PARTITION,
       {"UnknownTopicOrPartitionException", "This server does not host this topic-partition."}},
      {v1::LEADER_NOT_AVAILABLE,
       {"LeaderNotAvailableException",
        "There is no leader for this topic-partition as we are in the middle of a leadership "
        "election."}},
      {v1::NOT_LEADER_OR_FOLLOWER,
       {"NotLeaderOrFollowerException",
        "For requests intended only for the leader, this error indicates that the broker is not "
        "the current leader."}},
      {v1::REQUEST_TIMED_OUT, {"TimeoutException", "The request timed out."}},
      {v1::KAFKA_STORAGE_ERROR,
       {"KafkaStorageException", "Disk error when trying to access log file on the disk."}},
      {v1::POLICY_VIOLATION,
       {"PolicyViolationException", "Request parameters do not satisfy the configured policy."}},
      {v1::INVALID_REQUEST, {"InvalidRequestException", ""}},
      {v1::TOPIC_AUTHORIZATION_FAILED, {"TopicAuthorizationException", ""}},
      {v1::GROUP_AUTHORIZATION_FAILED, {"GroupAuthorizationException", ""}},
      {v1::CLUSTER_AUTHORIZATION_FAILED,
       {"ClusterAuthorizationException", "Cluster authorization failed."}},
      {v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
       {"TransactionalIdAuthorizationException", "Transactional Id authorization failed."}},
      {v1::SASL_AUTHENTICATION_FAILED, {"SaslAuthenticationException", ""}},
      {v1::UNSUPPORTED_SASL_MECHANISM, {"UnsupportedSaslMechanismException", ""}},
      {v1::ILLEGAL_SASL_STATE, {"IllegalSaslStateException", ""}},
      {v1::SECURITY_DISABLED, {"SecurityDisabledException", ""}},
      {v1::UNACCEPTABLE_CREDENTIAL, {"UnacceptableCredentialException", ""}},
      {v1::RESOURCE_NOT_FOUND, {"ResourceNotFoundException", ""}},
      {v1::DUPLICATE_RESOURCE, {"DuplicateResourceException", ""}},
      {v1::INVALID_TOPIC_EXCEPTION, {"InvalidTopicException", ""}},
      {v1::INVALID_CONFIG, {"InvalidConfigurationException", ""}},
      {v1::NOT_CONTROLLER, {"NotControllerException", ""}},
      {v1::BROKER_NOT_AVAILABLE, {"BrokerNotAvailableException", ""}},
      {v1::UNSUPPORTED_VERSION, {"UnsupportedVersionException", ""}},
      {v1::UNKNOWN_SERVER_ERROR, {"UnknownServerException", ""}},
      {v1::NON_EMPTY_GROUP, {"GroupNotEmptyException", "The group is not empty."}},
      {v1::GROUP_ID_NOT_FOUND, {"GroupIdNotFoundException", "The group id does not exist."}},
      {v1::INVALID_GROUP_ID, {"InvalidGroupIdException", "The configured groupId is invalid."}},
      {v1::GROUP_SUBSCRIBED_TO_TOPIC,
       {"GroupSubscribedToTopicException",
        "The consumer group is actively subscribed to the topic"}},
      {v1::COORDINATOR_NOT_AVAILABLE,
       {"CoordinatorNotAvailableException", "The coordinator is not available."}},
      {v1::NOT_COORDINATOR, {"NotCoordinatorException", "This is not the correct coordinator."}},
      {v1::COORDINATOR_LOAD_IN_PROGRESS,
       {"CoordinatorLoadInProgressException",
        "The coordinator is loading and hence can't process requests."}},
      {v1::UNKNOWN_MEMBER_ID,
       {"UnknownMemberIdException", "The coordinator is not aware of this member."}},
      {v1::ILLEGAL_GENERATION,
       {"IllegalGenerationException", "Specified group generation id is not valid."}},
      {v1::REBALANCE_IN_PROGRESS,
       {"RebalanceInProgressException", "The group is rebalancing, so a rejoin is needed."}},
      // Idempotence and transactions (what `strata transactions` and the
      // transactional producer report).
      {v1::OUT_OF_ORDER_SEQUENCE_NUMBER,
       {"OutOfOrderSequenceException", "The broker received an out of order sequence number."}},
      {v1::INVALID_PRODUCER_EPOCH,
       {"InvalidProducerEpochException", "Producer attempted to produce with an old epoch."}},
      {v1::INVALID_TXN_STATE,
       {"InvalidTxnStateException",
        "The producer attempted a transactional operation in an invalid state."}},
      {v1::INVALID_PRODUCER_ID_MAPPING,
       {"InvalidPidMappingException",
        "The producer attempted to use a producer id which is not currently assigned to its "
        "transactional id."}},
      {v1::INVALID_TRANSACTION_TIMEOUT,
       {"InvalidTxnTimeoutException",
        "The transaction timeout is larger than the maximum value allowed by the broker (as "
        "configured by transaction.max.timeout.ms)."}},
      {v1::CONCURRENT_TRANSACTIONS,
       {"ConcurrentTransactionsException",
        "The producer attempted to update a transaction while another concurrent operation on "
        "the same transaction was ongoing."}},
      {v1::TRANSACTION_COORDINATOR_FENCED,
       {"TransactionCoordinatorFencedException",
        "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the "
        "current coordinator for a given producer."}},
      {v1::UNKNOWN_PRODUCER_ID, {"UnknownProducerIdException", ""}},
      {v1::PRODUCER_FENCED,
       {"ProducerFencedException",
        "There is a newer producer with the same transactionalId which fences the current "
        "one."}},
      {v1::TRANSACTIONAL_ID_NOT_FOUND,
       {"TransactionalIdNotFoundException", "The transactionalId could not be found"}},
  };
  return *known;
}

}  // namespace

std::string KafkaExceptionText(v1::ErrorCode code, const std::string& message) {
  auto it = KnownExceptions().find(code);
  if (it == KnownExceptions().end()) {
    return fmt::format("{}: {}", client::ErrorName(code),
                       message.empty() ? client::DefaultErrorMessage(code) : message);
  }
  const std::string fallback =
      *it->second.message ? it->second.message : client::DefaultErrorMessage(code);
  return fmt::format("org.apache.kafka.common.errors.{}: {}", it->second.exception,
                     message.empty() ? fallback : message);
}

std::string KafkaExceptionClass(v1::ErrorCode code) {
  auto it = KnownExceptions().find(code);
  if (it == KnownExceptions().end()) return client::ErrorName(code);
  return fmt::format("org.apache.kafka.common.errors.{}", it->second.exception);
}

std::string KafkaExceptionText(const absl::Status& status) {
  const v1::ErrorCode code = client::ErrorCodeOf(status);
  if (code == v1::UNKNOWN_SERVER_ERROR) return std::string(status.message());  // transport
  return KafkaExceptionText(code, std::string(status.message()));
}

}  // namespace strata::tools
