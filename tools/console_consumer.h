// `strata console-consumer`: Kafka's kafka-console-consumer.sh. Reads the
// topic as a member of a consumer group — --group (or group.id in
// --consumer-property / --consumer.config), else a group of its own,
// console-consumer-NNNNN, with enable.auto.commit=false as Kafka's has — or
// one partition by hand (--partition, from --offset). Prints each record
// with Kafka's DefaultMessageFormatter, and stops after --max-messages
// records, after --timeout-ms without a record, or on SIGINT/SIGTERM, then
// leaves the group (committing with enable.auto.commit) and reports
// "Processed a total of N messages" on stderr.
#pragma once

#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/config.h"
#include "client/records.h"

namespace strata::tools {

// Kafka's DefaultMessageFormatter (--property): print.timestamp,
// print.partition, print.offset, print.headers, print.key (all false),
// print.value (true), key.separator ("\t"), line.separator ("\n"),
// headers.separator (","), headers.key.separator (":"), null.literal
// ("null").
class MessageFormatter {
 public:
  static absl::StatusOr<MessageFormatter> FromProperties(const client::Properties& props);

  // The record as the formatter prints it, line separator included.
  std::string Format(const client::ConsumerRecord& record) const;

 private:
  bool print_timestamp_ = false;
  bool print_partition_ = false;
  bool print_offset_ = false;
  bool print_headers_ = false;
  bool print_key_ = false;
  bool print_value_ = true;
  std::string key_separator_ = "\t";
  std::string line_separator_ = "\n";
  std::string headers_separator_ = ",";
  std::string headers_key_separator_ = ":";
  std::string null_literal_ = "null";
};

struct ConsoleConsumerOptions {
  std::string bootstrap_server;
  std::string topic;
  std::optional<int32_t> partition;
  std::optional<std::string> offset;  // earliest | latest | a non-negative offset
  bool from_beginning = false;
  std::optional<int64_t> max_messages;
  std::optional<int64_t> timeout_ms;
  std::optional<std::string> group;
  std::vector<std::string> properties;           // --property
  std::vector<std::string> consumer_properties;  // --consumer-property
  std::optional<std::string> consumer_config;    // --consumer.config
  // --isolation-level: when given, overrides isolation.level from the
  // consumer properties (Kafka's maybeMergeOptions).
  std::optional<std::string> isolation_level;
};

// Kafka's checks of the console consumer's arguments; the error is the
// message to print.
absl::Status ValidateConsoleConsumerOptions(const ConsoleConsumerOptions& options);

// The group id given by --group, --consumer-property group.id and
// --consumer.config's group.id ("" when none); Kafka's error when they
// differ.
absl::StatusOr<std::string> GroupFor(const ConsoleConsumerOptions& options,
                                     const std::optional<std::string>& property_group,
                                     const std::optional<std::string>& config_group);
// "console-consumer-NNNNN" (0 <= NNNNN < 100000), as Kafka's.
std::string GeneratedGroupId();
// auto.offset.reset: earliest with --from-beginning, else latest, unless
// set; Kafka's error when set to anything but earliest with
// --from-beginning.
absl::Status SetAutoOffsetReset(const ConsoleConsumerOptions& options, client::Properties* props);

// Where to start: -2 earliest, -1 latest, or an offset. --offset wins, then
// --from-beginning, then latest.
absl::StatusOr<int64_t> StartingOffset(const ConsoleConsumerOptions& options);

// Runs until a stop condition; `stop` is polled (set it from a signal
// handler). Returns the process exit code.
int RunConsoleConsumer(const ConsoleConsumerOptions& options, std::ostream& out, std::ostream& err,
                       const std::atomic<bool>& stop);

}  // namespace strata::tools
