// `strata topics`: Kafka's kafka-topics.sh with the same flags and output.
//
// The command is three parts so that the formatting and the checks are
// testable without a cluster: ValidateTopicOptions (Kafka's argument
// checks and messages), the Format* functions (responses to output lines,
// pure), and RunTopicCommand (talks to the cluster through client::Admin).
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct TopicOptions {
  std::string bootstrap_server;
  bool create = false;
  bool list = false;
  bool describe = false;
  bool alter = false;
  bool remove = false;  // --delete
  std::optional<std::string> topic;
  std::optional<int32_t> partitions;
  std::optional<int32_t> replication_factor;
  std::vector<std::string> configs;  // --config k=v, repeated
  bool if_exists = false;
  bool if_not_exists = false;
  bool exclude_internal = false;
  // --describe filters, as in Kafka: only matching partition lines, no
  // topic header lines.
  bool unavailable_partitions = false;      // no leader, or a leader that is not live
  bool under_replicated_partitions = false;  // ISR smaller than the replica list
  bool under_min_isr_partitions = false;     // ISR smaller than min.insync.replicas
  bool at_min_isr_partitions = false;        // ISR exactly min.insync.replicas
  // Strata's addition: each partition line ends with its state and its
  // replicas' states ("\tState: Online\tReplicaStates: 3:Online,1:Offline").
  bool show_states = false;
  // --replica-assignment "1:2,2:3": partition i's replicas are the i-th
  // comma-separated group, colon-separated, the first the preferred leader.
  // Empty: none (an empty value counts as none in Kafka too).
  std::string replica_assignment;
};

// Kafka's TopicCommandOptions.checkArgs: exactly one action, the arguments
// each action needs, values in range. The error is the message to print.
absl::Status ValidateTopicOptions(const TopicOptions& options);

// "--config k=v" entries as a map; Kafka's message for a malformed one.
absl::StatusOr<std::map<std::string, std::string>> ParseTopicConfigs(
    const std::vector<std::string>& configs);

// Kafka's TopicCommand.parseReplicaAssignment: "1:2,2:3" -> {{1,2},{2,3}}.
// Refuses a broker id that is not a number, a broker twice in one
// partition ("Partition replica lists may not contain duplicate entries:
// 2") and partitions of different sizes ("Partition 1 has different
// replication factor: [1, 2, 3]").
absl::StatusOr<std::vector<std::vector<int32_t>>> ParseReplicaAssignment(const std::string& text);

// A partition's replication factor as Kafka's describe counts it: while a
// reassignment adds replicas, those are not counted.
int32_t ReplicationFactorOf(const v1::PartitionDescription& p);

// The header line of `--describe` for one topic:
// "Topic: T\tTopicId: id\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: k=v,..."
// (TopicId is left out when the id is empty; Configs lists only entries that
// are not defaults, in the order given.)
std::string FormatTopicHeader(const v1::TopicDescription& topic);
// One partition line: "\tTopic: T\tPartition: 0\tLeader: 3\tReplicas: 3,1,2\tIsr: 3,1,2"
// (Leader: none when there is no leader). While the partition is being
// reassigned, Kafka's "\tAdding Replicas: 1\tRemoving Replicas: 3" follow.
std::string FormatPartitionLine(const std::string& topic, const v1::PartitionDescription& p);
// Every line of `--describe` for the topics of `response` that have no
// error, topics sorted by name and partitions by id, with the options'
// filters and --show-states applied.
std::vector<std::string> FormatDescribeTopics(const v1::DescribeTopicsResponse& response,
                                              const TopicOptions& options = {});
// "Online", "Offline", "New", "NonExistent".
std::string PartitionStateName(v1::PartitionState state);
std::string ReplicaStateName(v1::ReplicaState state);

// The text after "Error while executing topic command : " for a failed
// topic operation: Kafka's wording where scripts may match it (an existing
// topic, a missing one), otherwise the server's message.
std::string TopicErrorMessage(v1::ErrorCode code, const std::string& server_message,
                              const std::string& topic);

// Runs a validated command; output to `out`, errors to `err`. Returns the
// process exit code.
int RunTopicCommand(client::Admin& admin, const TopicOptions& options, std::ostream& out,
                    std::ostream& err);

}  // namespace strata::tools
