// How Kafka's tools show an error the admin client raised: the Java
// exception's class and message, "org.apache.kafka.common.errors.X: message"
// (the class Kafka's clients map the error code to; Kafka's default message
// when the broker sent none).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "strata/v1/common.pb.h"

namespace strata::tools {

std::string KafkaExceptionText(v1::ErrorCode code, const std::string& message);
// The exception's class alone, as getClass().getName() gives it:
// "org.apache.kafka.common.errors.KafkaStorageException" (the error's name
// for a code without a known class).
std::string KafkaExceptionClass(v1::ErrorCode code);
// For a client call's status; a transport failure (no error code) is shown
// as its message alone.
std::string KafkaExceptionText(const absl::Status& status);

}  // namespace strata::tools
