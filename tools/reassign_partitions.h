// `strata reassign-partitions` (Kafka's kafka-reassign-partitions.sh,
// ReassignPartitionsCommand), flag for flag and line for line:
//
//   --generate --topics-to-move-json-file F --broker-list "1,2" [--disable-rack-aware]
//   --execute  --reassignment-json-file F [--throttle B/s] [--additional]
//              [--replica-alter-log-dirs-throttle B/s] [--timeout MS]
//   --verify   --reassignment-json-file F [--preserve-throttles]
//   --cancel   --reassignment-json-file F [--preserve-throttles] [--timeout MS]
//   --list
//
// each with --bootstrap-server H:P [--command-config F]. Three departures,
// all on purpose: --verify says "Reassignment of partition t-0 is complete."
// (the seed's wording, Kafka 2.6's) where Kafka 3.x says "is completed.";
// after each "Reassignment of partition t-0 is still in progress." it adds
// a line of its own with the bytes copied so far ("  t-0: 12582912 of
// 41943040 bytes copied (30.0%) to broker(s) 4", from DescribeLogDirs of
// the partition's leader and of the brokers being added; a broker that
// cannot be asked, or does not answer within 2.5 s, is named on that line
// and the command goes on); and
// --zookeeper is refused with a message pointing at --bootstrap-server.
//
// Bad input changes nothing: the JSON is parsed and checked whole (its
// shape, version 1, a non-empty partition list, non-empty replica lists
// without duplicates, no partition twice, log_dirs "any"), and for --execute
// every topic, partition and broker is looked up in the cluster before any
// throttle is set or any reassignment sent. Errors go to stderr (Kafka's
// wording, "Error: " before the ones its tool prints so) with exit code 1.
//
// The Parse*/Format*/Propose*/Calculate* functions are pure, for tests;
// RunReassignPartitions talks to the cluster through client::Admin.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "client/common/ids.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct ReassignOptions {
  std::optional<std::string> bootstrap_server;
  // Actions: exactly one.
  bool generate = false;
  bool execute = false;
  bool verify = false;
  bool cancel = false;
  bool list = false;
  std::optional<std::string> reassignment_json_file;
  std::optional<std::string> topics_to_move_json_file;
  std::optional<std::string> broker_list;  // "1,2,3"
  std::optional<std::string> command_config;
  bool disable_rack_aware = false;
  std::optional<int64_t> throttle;                         // inter-broker, B/s
  std::optional<int64_t> replica_alter_log_dirs_throttle;  // B/s
  std::optional<int64_t> timeout_ms;
  bool additional = false;
  bool preserve_throttles = false;
  std::optional<std::string> zookeeper;  // refused
};

// Kafka's validateAndParseArgs: --zookeeper refused, exactly one action,
// --bootstrap-server, the arguments the action needs, and no argument the
// action does not take. The error is the message to print.
absl::Status ValidateReassignOptions(const ReassignOptions& options);

// Partition -> replicas, ordered as Kafka sorts partitions (topic, then
// partition number).
using Assignment = std::map<TopicPartition, std::vector<int32_t>>;

// One entry of a reassignment JSON file, in file order.
struct PartitionTarget {
  TopicPartition partition;
  std::vector<int32_t> replicas;
  std::vector<std::string> log_dirs;  // as many as replicas; "any" when absent
};

// Parses {"version":1,"partitions":[{"topic":"t","partition":0,
// "replicas":[1,2],"log_dirs":["any","any"]}]} (version defaults to 1;
// log_dirs is optional). The error names what is wrong and where.
absl::StatusOr<std::vector<PartitionTarget>> ParseReassignmentJson(std::string_view json);

// Kafka's parseExecuteAssignmentArgs checks on parsed targets: a non-empty
// list, no empty replica list, no partition twice, no broker twice in a
// replica list; and Strata's: every log dir "any" (replicas do not move
// between log directories here).
absl::StatusOr<Assignment> CheckReassignmentTargets(const std::vector<PartitionTarget>& targets);

// Parses {"topics":[{"topic":"t"}],"version":1}; refuses a topic named twice.
absl::StatusOr<std::vector<std::string>> ParseTopicsToMoveJson(std::string_view json);

// "1,2,3" -> {1,2,3}; refuses a non-number and a broker named twice.
absl::StatusOr<std::vector<int32_t>> ParseBrokerList(const std::string& list);

// Kafka's compact JSON: {"version":1,"partitions":[{"topic":"t",
// "partition":0,"replicas":[1,2],"log_dirs":["any","any"]},...]}.
std::string FormatReassignmentJson(const Assignment& assignment);

// Each described topic's partitions -> replicas (topics with an error are
// left out).
Assignment AssignmentOf(const v1::DescribeTopicsResponse& topics);

// The current replicas of `partitions`, checked against the cluster as
// Kafka's --execute does before changing anything: every broker in the
// targets registered ("Unknown broker id 7"), every topic there ("Topic t
// not found."), every partition there ("Unable to find partition: t-5").
absl::StatusOr<Assignment> CheckAgainstCluster(const Assignment& targets,
                                               const v1::DescribeTopicsResponse& topics,
                                               const v1::DescribeClusterResponse& cluster);

// --generate's proposal: each topic of `current` reassigned over `brokers`
// (sorted) by Kafka's rack-unaware assignment, keeping its partition count
// and the replication factor of its first partition. `random_below(n)`
// draws a number in [0, n) for each topic's start index and then its
// replica shift, as Kafka draws them.
absl::StatusOr<Assignment> ProposeAssignment(const Assignment& current,
                                             const std::vector<int32_t>& brokers,
                                             const std::function<int32_t(int32_t)>& random_below);

// A partition's move: the replicas it has (sources) and those it gains
// (destinations), for the throttles.
struct PartitionMove {
  std::set<int32_t> sources;
  std::set<int32_t> destinations;
};
using MoveMap = std::map<std::string, std::map<int32_t, PartitionMove>>;

// Kafka's calculateProposedMoveMap: the moves under way (`ongoing`) plus
// those proposed, a proposed partition already moving keeping its sources.
MoveMap CalculateProposedMoves(const v1::ListPartitionReassignmentsResponse& ongoing,
                               const Assignment& proposed, const Assignment& current);
// Per topic, leader.replication.throttled.replicas ("0:1,0:2,1:2": every
// source) and follower.replication.throttled.replicas (every destination
// that is not a source), each "partition:broker" sorted as text as Kafka
// sorts them.
std::map<std::string, std::string> CalculateLeaderThrottles(const MoveMap& moves);
std::map<std::string, std::string> CalculateFollowerThrottles(const MoveMap& moves);
// Every broker a move reads from or writes to.
std::set<int32_t> CalculateReassigningBrokers(const MoveMap& moves);

// How far a move under way has copied its partition (Strata's addition to
// --verify, not Kafka's): the partition's log size on its leader and on
// each broker it is being added to, as DescribeLogDirs reports them.
struct ReassignmentProgress {
  // The brokers receiving a copy (ListPartitionReassignments' adding
  // replicas), in its order.
  std::vector<int32_t> adding;
  int32_t leader = -1;  // -1: none known
  // Log sizes by broker, of those that answered (a broker that answered
  // without the partition holds 0 bytes of it).
  std::map<int32_t, int64_t> sizes;
  // Why the numbers are not known (empty: they are): the leader, a broker
  // that could not be asked, ...
  std::string unknown;
};
struct CopiedBytes {
  int64_t copied = 0;
  int64_t total = 0;
};
// Fills `progress` (its leader and adding brokers set; leader -1 for
// none) from the brokers' DescribeLogDirs answers: each involved broker's
// size of `tp`, or, in `unknown`, why the numbers cannot be known -- the
// first broker without an answer, named first ("broker 4: <its error>"),
// or a leader that does not list the partition.
void AddLogDirSizes(const TopicPartition& tp,
                    const std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>& answers,
                    ReassignmentProgress* progress);
// total = the leader's size x the number of adding brokers; copied = the
// adding brokers' sizes summed, each capped at the leader's (a copy ahead
// of an old leader's count, or compacted differently, never shows more
// than all). An error saying why when a size is missing (or the total
// does not fit 64 bits).
absl::StatusOr<CopiedBytes> CalculateCopiedBytes(const ReassignmentProgress& progress);
// "  t-0: 12582912 of 41943040 bytes copied (30.0%) to broker(s) 4,5"
// (the percentage rounded down, so 100.0% only when all is there),
// "  t-0: nothing to copy to broker(s) 4" when the leader's log is empty,
// or "  t-0: bytes copied unknown (<why>)". Empty when nothing is being
// added (a move that only removes replicas copies nothing).
std::string FormatReassignmentProgress(const TopicPartition& tp,
                                       const ReassignmentProgress& progress);

// What --verify found for one partition.
struct PartitionReassignmentState {
  std::vector<int32_t> current;
  std::vector<int32_t> target;
  bool done = false;
  // For a move still in progress: its copy's progress.
  std::optional<ReassignmentProgress> progress;
};
// "Status of partition reassignment:" then one line per partition, Kafka's;
// after each "... is still in progress." line with a `progress`, the
// progress line (FormatReassignmentProgress).
std::vector<std::string> FormatReassignmentStates(
    const std::map<TopicPartition, PartitionReassignmentState>& states);

// --list: "Current partition reassignments:" then "t-0: replicas: 1,2,3.
// adding: 3. removing: 1." per partition, or "No partition reassignments
// found."
std::vector<std::string> FormatCurrentReassignments(
    const v1::ListPartitionReassignmentsResponse& ongoing);

// Runs validated options. `random_below` picks --generate's random numbers
// (nullptr: a random device). Output to `out`, errors to `err`; returns
// the process exit code.
int RunReassignPartitions(client::Admin& admin, const ReassignOptions& options, std::ostream& out,
                          std::ostream& err,
                          const std::function<int32_t(int32_t)>& random_below = nullptr);

}  // namespace strata::tools
