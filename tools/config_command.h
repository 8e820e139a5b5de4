// `strata configs`: Kafka's kafka-configs.sh (3.x) for topics, brokers,
// users and clients, with its flags and its output lines:
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
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct ConfigCommandOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;  // taken as the bootstrap list
  std::optional<std::string> command_config;        // the admin client's (command_config.h)
  bool describe = false;
  bool alter = false;
  bool all = false;  // --describe: every config, not only those set on the entity
  std::vector<std::string> entity_types;  // --entity-type, repeatable
  std::vector<std::string> entity_names;  // --entity-name, repeatable
  bool entity_default = false;            // --entity-default
  // Where --entity-default came among the --entity-name values (how many
  // came before it), for `users` and `clients` together ("--entity-type
  // users --entity-name alice --entity-type clients --entity-default");
  // nullopt: after them all.
  std::optional<size_t> entity_default_position;
  // Kafka 3.x's shorthands: --topic T, --client C, --user U, --broker B,
  // --client-defaults, --user-defaults, --broker-defaults.
  std::optional<std::string> topic;
  std::optional<std::string> client;
  std::optional<std::string> user;
  std::optional<std::string> broker;
  bool client_defaults = false;
  bool user_defaults = false;
  bool broker_defaults = false;
  // Entity types named by Kafka's other entity flags (--ip,
  // --broker-logger, --group, --client-metrics, --ip-defaults), which
  // Strata does not have; they are refused as Kafka refuses an entity type
  // it does not know.
  std::vector<std::string> other_entity_types;
  std::optional<std::string> add_config;       // 'k1=v1,k2=[v1,v2]'
  std::optional<std::string> add_config_file;  // a properties file
  std::vector<std::string> delete_config;      // each 'k1,k2', repeatable
  bool force = false;
  // The command's arguments as given, for Kafka's "Error while executing
  // config command with args '...'".
  std::string args;
};

// Every entity type given: --entity-type values, then the shorthands' in
// Kafka's order (topic, client, user, broker, ..., then the defaults).
std::vector<std::string> EntityTypes(const ConfigCommandOptions& options);
// Every entity name given: --entity-name values ("" for --entity-default,
// in its place), then the shorthands' ("" for the -defaults flags).
std::vector<std::string> EntityNames(const ConfigCommandOptions& options);

// Kafka's ConfigCommandOptions.checkArgs for what Strata has (topics,
// clients, users and brokers). The error is the message to print.
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
// --- users and clients: client quotas and SCRAM credentials (issue 16) ---
//
//   --describe  "Quota configs for user-principal 'alice' are
//               producer_byte_rate=5242880.0" (values as Java prints a
//               double; "the default user-principal", "client-id 'app'"),
//               one line per entity the filter matches (Kafka's
//               containsOnly filter; no name: every entity of the type,
//               the default included), then for users (not with clients or
//               a default) "SCRAM credential configs for user-principal
//               'alice' are SCRAM-SHA-256=iterations=8192" per user with a
//               credential. Lines come in the order Kafka's admin client's
//               hash maps give them.
//   --alter     quota keys (producer_byte_rate, consumer_byte_rate,
//               request_percentage, controller_mutation_rate) through
//               AlterClientQuotas; for users, or SCRAM credentials:
//               --add-config 'SCRAM-SHA-256=[iterations=8192,password=pw]'
//               (salted here, as Kafka's admin client does: a random salt,
//               PBKDF2) and --delete-config SCRAM-SHA-512, through
//               AlterUserScramCredentials; Kafka's refusals ("Cannot alter
//               both quota and SCRAM credential configs simultaneously ...").

// Java's Double.toString: "5242880.0", "1.048576E7", "0.5", "1.0E-4".
std::string JavaDoubleString(double value);
// Java's String.hashCode of `s` (its UTF-8 bytes taken as chars; the keys
// and names here are ASCII).
int32_t JavaStringHash(std::string_view s);
// The order in which a java.util.HashMap created with capacity n =
// hashes.size() and filled with keys of these hashCodes, in this order,
// iterates them: indices into `hashes`.
std::vector<size_t> JavaHashMapOrder(const std::vector<int32_t>& hashes);
// The same for a HashMap or HashSet created with `initial_capacity`
// (`new HashMap<>()`, `new HashSet<>()`: 16).
std::vector<size_t> JavaHashMapOrder(const std::vector<int32_t>& hashes, size_t initial_capacity);
// "Quota configs for user-principal 'alice', client-id 'app' are
// producer_byte_rate=1024.0, request_percentage=50.0".
std::string QuotaConfigsLine(const v1::ClientQuotaEntry& entry);
// "SCRAM credential configs for user-principal 'alice' are
// SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096".
std::string ScramConfigsLine(const v1::DescribeUserScramCredentialsResult& result);
// A SCRAM --add-config value, "[iterations=N,]password=P" (Kafka's regex;
// no iterations or -1: 4096): the iterations and the password.
// InvalidArgument with Kafka's message otherwise, or for iterations below
// 4096.
absl::StatusOr<std::pair<int32_t, std::string>> ParseScramCredentialConfig(
    const std::string& mechanism, const std::string& value);
// PBKDF2-HMAC-SHA-256 / -512 of `password` (the SaltedPassword of RFC 5802):
// what an upsertion carries.
std::string SaltedPassword(v1::ScramMechanism mechanism, const std::string& password,
                           const std::string& salt, int32_t iterations);

// Runs a validated command; output to `out`, errors to `err`. Returns the
// process exit code.
int RunConfigCommand(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                     std::ostream& err);

}  // namespace strata::tools
