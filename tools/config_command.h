// `strata configs`: Kafka's kafka-configs.sh (3.x) for topics and brokers,
// with its flags and its output lines:
//
//   --describe  "Dynamic configs for topic T are:" (with --all, "All configs
//               for ..."; for --entity-default, "Default configs for brokers
//               in the cluster are:"), then one line per config, sorted by
//               name: "  k=v sensitive=false synonyms={SOURCE:name=value, ...}".
//               Without --all only the configs set on the entity itself.
//               A broker's --all lists only its log settings (the broker
//               names of topic configs: log.retention.ms, message.max.bytes,
//               ...) and the replication throttle rates when set, not
//               every broker setting Kafka lists.
//               Without a name: every topic, or every live broker and then
//               the cluster default.
//   --alter     --add-config 'k1=v1,k2=[a,b]' (brackets group a value that
//               holds commas), --add-config-file F, --delete-config k1,k2;
//               "Completed updating config for topic T." or "Completed
//               updating default config for brokers in the cluster."
//
// Argument errors are Kafka's messages, alone on stderr; a failed call is
// Kafka's "Error while executing config command with args '...'" followed
// by the exception line ("java.util.concurrent.ExecutionException:
// org.apache.kafka.common.errors.InvalidConfigurationException: Invalid
// value abc for configuration retention.ms: Not a number of type LONG").
// Either way the exit code is 1 and nothing changed.
//
// Three parts, as the other commands: ValidateConfigCommandOptions
// (Kafka's ConfigCommandOptions.checkArgs), pure parsing and formatting,
// and RunConfigCommand, which talks to the cluster through client::Admin.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct ConfigCommandOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;  // taken as the bootstrap list
  std::optional<std::string> command_config;        // accepted; nothing in it applies yet
  bool describe = false;
  bool alter = false;
  bool all = false;  // --describe: every config, not only those set on the entity
  std::vector<std::string> entity_types;  // --entity-type, repeatable
  std::vector<std::string> entity_names;  // --entity-name, repeatable
  bool entity_default = false;            // --entity-default
  // Kafka 3.x's shorthands: --topic T, --broker B, --broker-defaults.
  std::optional<std::string> topic;
  std::optional<std::string> broker;
  bool broker_defaults = false;
  // Entity types named by Kafka's other entity flags (--user, --client,
  // --ip, --broker-logger, --group, --client-metrics and their -defaults),
  // which Strata does not have; they are refused as Kafka refuses an entity
  // type it does not know.
  std::vector<std::string> other_entity_types;
  std::optional<std::string> add_config;       // 'k1=v1,k2=[v1,v2]'
  std::optional<std::string> add_config_file;  // a properties file
  std::vector<std::string> delete_config;      // each 'k1,k2', repeatable
  bool force = false;
  // The command's arguments as given, for Kafka's "Error while executing
  // config command with args '...'".
  std::string args;
};

// Every entity type given: --entity-type values, then the shorthands'.
std::vector<std::string> EntityTypes(const ConfigCommandOptions& options);
// Every entity name given: --entity-name values ("" for --entity-default),
// then the shorthands' ("" for --broker-defaults).
std::vector<std::string> EntityNames(const ConfigCommandOptions& options);

// Kafka's ConfigCommandOptions.checkArgs for what Strata has (topics and
// brokers). The error is the message to print.
absl::Status ValidateConfigCommandOptions(const ConfigCommandOptions& options);

// Kafka's parsing of --add-config: entries split at commas outside [...],
// each "key=value" (spaces around '=' dropped; a value may be empty), the
// brackets removed from values, keys of letters, digits, '.', '_' and '-'
// only. Later entries win. A malformed entry is Kafka 3.x's failed
// require(): "requirement failed: Invalid entity config: ...".
absl::StatusOr<std::map<std::string, std::string>> ParseConfigsToAdd(std::string_view text);
// --delete-config values, split at commas and trimmed.
std::vector<std::string> ParseConfigsToDelete(const std::vector<std::string>& values);

// "  name=value sensitive=false synonyms={SOURCE:name=value, ...}".
std::string FormatConfigEntry(const v1::ConfigEntry& entry);
// The line before an entity's configs.
std::string DescribeHeader(const std::string& entity_type, const std::string& entity_name,
                           bool all);
// The source of the configs set on the entity itself: DYNAMIC_TOPIC_CONFIG,
// DYNAMIC_BROKER_CONFIG, or DYNAMIC_DEFAULT_BROKER_CONFIG for "".
v1::ConfigSource DynamicSourceOf(const std::string& entity_type, const std::string& entity_name);
// The entries to print: those from `source` (every one when nullopt),
// sorted by name.
std::vector<v1::ConfigEntry> SelectConfigs(const v1::DescribeConfigsResult& result,
                                           std::optional<v1::ConfigSource> source);
// Runs a validated command; output to `out`, errors to `err`. Returns the
// process exit code.
int RunConfigCommand(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                     std::ostream& err);

}  // namespace strata::tools
