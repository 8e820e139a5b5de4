// `strata consumer-groups` (Kafka's kafka-consumer-groups.sh, flag for flag
// and line for line; Kafka 3.7's ConsumerGroupCommand is the reference):
//
//   strata consumer-groups --bootstrap-server H:P
//       --list [--state [STATES]]
//     | --describe (--group G ... | --all-groups) [--offsets | --members [--verbose] | --state]
//     | --delete (--group G ... | --all-groups)
//     | --delete-offsets --group G --topic T[:P,...] ...
//     | --reset-offsets (--group G ... | --all-groups)
//         (--topic T[:P,...] ... | --all-topics)
//         (--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N
//          | --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --by-duration PnDTnHnMnS
//          | --from-file CSV)
//         [--dry-run | --execute] [--export]
//
// Kafka's texts are kept; one house rule differs: lines Kafka prints as
// "Error: ..." go to stderr (Kafka prints them to stdout), and any of them
// makes the exit code 1. stderr is tied to stdout, so the two interleave in
// the order they were written.
//
// Layout: Validate* checks flags as Kafka's checkArgs does; Collect*,
// Plan* and Format* are pure (they turn responses into rows and rows into
// lines); Run* talks to the cluster through client::Admin and returns the
// exit code.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/common/ids.h"
#include "strata/v1/group.pb.h"

namespace strata::tools {

struct ConsumerGroupOptions {
  std::string bootstrap_server;
  // Actions: exactly one.
  bool list = false;
  bool describe = false;
  bool remove = false;  // --delete
  bool reset_offsets = false;
  bool delete_offsets = false;

  std::vector<std::string> groups;  // --group, repeatable
  bool all_groups = false;
  std::vector<std::string> topics;  // --topic T or T:0,1, repeatable
  bool all_topics = false;

  // --describe views.
  bool offsets = false;
  bool members = false;
  bool verbose = false;
  // --state, with its optional value (a states filter for --list).
  std::optional<std::string> state;

  // --reset-offsets.
  bool dry_run = false;
  bool execute = false;
  bool export_csv = false;
  std::optional<int64_t> to_offset;
  std::optional<int64_t> shift_by;
  std::optional<std::string> to_datetime;
  std::optional<std::string> by_duration;
  std::optional<std::string> from_file;
  bool to_earliest = false;
  bool to_latest = false;
  bool to_current = false;

  int64_t timeout_ms = 5000;  // --timeout
  std::optional<std::string> command_config;
};

// Lines for stdout and stderr, in the order they are to be written.
struct ToolOutput {
  struct Line {
    bool to_err = false;
    std::string text;
  };
  std::vector<Line> lines;
  bool failed = false;  // an "Error: ..." line was written

  void Out(std::string text) { lines.push_back({false, std::move(text)}); }
  void Err(std::string text) { lines.push_back({true, std::move(text)}); }
  // Kafka's printError: a blank line, then "Error: <msg>".
  void Error(const std::string& message);
  void WriteTo(std::ostream& out, std::ostream& err) const;
};

// ---- Flags

// Kafka's checks, in its order, with its messages ("Option [describe]
// takes one of these options: [group], [all-groups]", ...). Warnings that
// do not stop the command (the --dry-run reminder) go to `warnings`.
absl::Status ValidateConsumerGroupOptions(const ConsumerGroupOptions& options,
                                          std::vector<std::string>* warnings);

// "stable,Empty" -> {"Stable", "Empty"} (any case); Kafka's error names the
// valid states otherwise.
absl::StatusOr<std::vector<std::string>> ParseGroupStates(const std::string& input);

// "t:0,1" -> t-0, t-1; Kafka's errors for a missing or bad partition list.
absl::StatusOr<std::vector<TopicPartition>> ParseTopicPartitions(const std::string& arg);

// --to-datetime: "YYYY-MM-DDTHH:mm:SS.sss" with an optional zone (Z,
// +hh:mm, +hhmm, +hh); UTC when none, as Kafka's Utils.getDateTime.
// Milliseconds since the epoch.
absl::StatusOr<int64_t> ParseDateTime(const std::string& text);

// --by-duration: an ISO-8601 duration as java.time.Duration.parse takes it
// ("PT15M", "P1DT2H", "-PT1.5S").
absl::StatusOr<absl::Duration> ParseIsoDuration(const std::string& text);

// --from-file: "topic,partition,offset" lines when exactly one group is
// given and the first line has that form, else "group,topic,partition,offset".
absl::StatusOr<std::map<std::string, std::map<TopicPartition, int64_t>>> ParseResetPlanCsv(
    const std::string& csv, const std::vector<std::string>& groups);

// ---- --list

// Consumer groups only (protocol type "consumer" or empty). Without
// `with_state`: one id per line. With it: Kafka's GROUP / STATE columns.
std::vector<std::string> FormatGroupList(const v1::ListGroupsResponse& groups, bool with_state);

// ---- --describe

// One row of the offsets view; nullopt prints as "-".
struct PartitionAssignmentState {
  std::string group;
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  std::optional<int64_t> offset;
  std::optional<int64_t> lag;
  std::optional<std::string> consumer_id;
  std::optional<std::string> host;
  std::optional<std::string> client_id;
  std::optional<int64_t> log_end_offset;
};

// The partitions whose log end offsets the offsets view needs: those
// assigned to members and those with a commit.
std::vector<TopicPartition> PartitionsToDescribe(
    const v1::DescribedGroup& group, const std::map<TopicPartition, int64_t>& committed);

// Kafka's rows: members with partitions (most partitions first), each
// member's partitions by topic and partition, then committed partitions no
// member holds (consumer "-"). `log_end` lacks a partition whose end is
// unknown. Errors: a member assignment that does not decode.
absl::StatusOr<std::vector<PartitionAssignmentState>> CollectGroupOffsets(
    const v1::DescribedGroup& group, const std::map<TopicPartition, int64_t>& committed,
    const std::map<TopicPartition, int64_t>& log_end);

// The group's state message ("Consumer group 'G' has no active members.",
// "Warning: ... is rebalancing.", "Error: ... does not exist.") and, when
// there are rows, the table.
void FormatOffsets(const std::string& group, const std::string& state,
                   const std::vector<PartitionAssignmentState>& rows, ToolOutput* out);
// --members [--verbose].
absl::Status FormatMembers(const v1::DescribedGroup& group, bool verbose, ToolOutput* out);
// --state; `coordinator` is the node that answered for the group.
void FormatState(const v1::DescribedGroup& group, const v1::Coordinator& coordinator,
                 ToolOutput* out);

// ---- --reset-offsets

// What the plan needs to know of each partition; a partition missing from
// a map is unknown there.
struct PartitionOffsets {
  std::map<TopicPartition, int64_t> committed;
  std::map<TopicPartition, int64_t> log_start;
  std::map<TopicPartition, int64_t> log_end;
  // --to-datetime / --by-duration: the first offset at or after the
  // timestamp, -1 when the partition has no record that recent.
  std::map<TopicPartition, int64_t> by_timestamp;
};

// The new offset of each partition, as Kafka's prepareOffsetsToReset:
// --to-offset, --shift-by and --from-file are clamped to [log start, log
// end] with Kafka's warning; by time falls back to the log end (with
// Kafka's "Warn: Partition ... is empty" line) where no record is that
// recent. `file_plan` is this group's part of --from-file. Errors are
// Kafka's usage errors ("Error getting starting offset of topic partition:
// t-0", "Cannot shift offset for partition t-0 since ...").
absl::StatusOr<std::map<TopicPartition, int64_t>> PlanOffsetReset(
    const ConsumerGroupOptions& options, const std::vector<TopicPartition>& partitions,
    const PartitionOffsets& offsets, const std::map<TopicPartition, int64_t>* file_plan,
    ToolOutput* out);

// The dry-run / execute table: GROUP TOPIC PARTITION NEW-OFFSET, after a
// blank line; nothing when there is no group.
std::vector<std::string> FormatResetPlan(
    const std::map<std::string, std::map<TopicPartition, int64_t>>& plans);
// --export: "topic,partition,offset" lines for a single --group, else
// "group,topic,partition,offset"; each line ends with '\n'.
std::string ExportResetPlanCsv(
    const std::map<std::string, std::map<TopicPartition, int64_t>>& plans, bool single_group);

// ---- --delete, --delete-offsets

void FormatDeleteGroups(const v1::DeleteGroupsResponse& response, ToolOutput* out);

// `topic_errors`: topics given without partitions that could not be
// described (shown with partition "Not Provided").
void FormatDeleteOffsets(const std::string& group, const std::vector<std::string>& topic_args,
                         const std::vector<TopicPartition>& partitions,
                         const v1::OffsetDeleteResponse& response,
                         const std::map<std::string, std::string>& topic_errors, ToolOutput* out);

// ---- Running it

int RunConsumerGroups(client::Admin& admin, const ConsumerGroupOptions& options, std::ostream& out,
                      std::ostream& err);

}  // namespace strata::tools
