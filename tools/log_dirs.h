// `strata log-dirs` (Kafka's kafka-log-dirs.sh, LogDirsCommand), flag for
// flag and line for line:
//
//   strata log-dirs --describe --bootstrap-server H:P [--broker-list "1,2"]
//       [--topic-list "a,b"] [--command-config F]
//
// Asks each broker (every running broker the cluster lists, or those of
// --broker-list) for its log directories (Admin::DescribeLogDirs) and
// prints:
//
//   Querying brokers for log directories information
//   Received log directory information from brokers 1,2,3
//   {"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"t-0",
//     "size":123,"offsetLag":0,"isFuture":false}],"error":null,
//     "logDir":"/data"}]}],"version":1}
//
// (the JSON on one line). --topic-list keeps only those topics' partitions
// (every log dir is still listed). A log dir that failed shows the Java
// exception's class as its error ("org.apache.kafka.common.errors.
// KafkaStorageException") and no partitions. The log dir is its absolute
// path, as Kafka's brokers report it.
//
// Brokers, log dirs and partitions come in the order Kafka's tool prints
// them: the iteration order of the java.util.HashMap / HashSet they pass
// through (ascending for broker ids below 16). So do each object's keys:
// the tool builds every object as a HashMap and Jackson writes it in
// iteration order, by bucket of the key's String.hashCode -- "brokers" (3)
// before "version" (13); "partitions" (0), "error" (12), "logDir" (14);
// "broker" and "logDirs" (both 12: as put); "partition", "size",
// "offsetLag", "isFuture" (3, 4, 13, 15).
//
// One departure, on purpose: a follower's offsetLag is how far its log end
// is behind the leader's high watermark as the follower last heard it (its
// last fetch answer), where Kafka's brokers report 0 for every replica but
// an AlterReplicaLogDirs copy (ReplicaManager.getLogEndOffsetLag takes the
// replica's own high watermark, never above its log end). A leader's is 0
// in both.
//
// Errors go to stderr with exit code 1, in Kafka's words: a missing
// required argument, a broker id that is not a number ("For input string:
// \"x\""), brokers the cluster does not have ("ERROR: The given brokers do
// not exist from --broker-list: 7. Current existent brokers: 1,2,3"), and a
// broker that could not be asked (after the first line, as Kafka's tool
// fails once every answer is in).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct LogDirsOptions {
  std::optional<std::string> bootstrap_server;
  bool describe = false;
  std::string topic_list;   // "a,b"; empty: every topic
  std::string broker_list;  // "1,2"; empty: every broker
  std::optional<std::string> command_config;
};

// Kafka's checkRequiredArgs: --bootstrap-server, then --describe
// ("Missing required argument \"[describe]\"").
absl::Status ValidateLogDirsOptions(const LogDirsOptions& options);

// --topic-list: the names between commas, empty ones dropped.
std::set<std::string> ParseTopicList(const std::string& list);
// --broker-list: the ids between commas, empty ones dropped, each named
// once, in the order given; a non-number is refused as Java's
// Integer.valueOf refuses it ("For input string: \"x\"").
absl::StatusOr<std::vector<int32_t>> ParseLogDirsBrokerList(const std::string& list);

// `ids` in the order a java.util.HashSet<Integer> made from them iterates
// (how Kafka's tool lists brokers).
std::vector<int32_t> InJavaSetOrder(const std::vector<int32_t>& ids);

// The JSON line for each broker's answer (in `brokers`' order), keeping
// only `topics`' partitions when it is not empty.
std::string FormatLogDirsJson(
    const std::vector<std::pair<int32_t, v1::DescribeLogDirsResponse>>& brokers,
    const std::set<std::string>& topics);

// Runs validated options. Output to `out`, errors to `err`; returns the
// process exit code.
int RunLogDirs(client::Admin& admin, const LogDirsOptions& options, std::ostream& out,
               std::ostream& err);

}  // namespace strata::tools
