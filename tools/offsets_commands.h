// `strata delete-records` (Kafka's kafka-delete-records.sh,
// DeleteRecordsCommand) and `strata get-offsets` (Kafka 3.x's
// kafka-get-offsets.sh, GetOffsetShell), flag for flag and line for line.
//
//   delete-records --bootstrap-server H:P --offset-json-file F [--command-config F]
//     F: {"partitions": [{"topic": "t", "partition": 0, "offset": 10}], "version": 1}
//     (offset -1: the high watermark). Prints "Executing records delete
//     operation", "Records delete operation completed:", then per partition
//     "partition: t-0\tlow_watermark: 10" or "partition: t-0\terror: <the
//     Java exception>". The file is checked whole before anything is sent.
//
//   get-offsets --bootstrap-server H:P [--topic REGEX] [--partitions 0,1]
//               [--topic-partitions 't1:1,t2:0-3,t3:5-,:-3'] [--time -1|-2|-3|MS|
//               latest|earliest|max-timestamp] [--exclude-internal-topics]
//     prints "topic:partition:offset" sorted by topic and partition; a
//     partition without an offset (no record that recent) is left out; one
//     that fails is reported on stderr ("Skip getting offsets for
//     topic-partition t:0 due to error: ...") and left out.
//
// Usage errors and bad files go to stderr with exit code 1, as does a
// cluster that cannot be reached.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/admin.h"
#include "client/common/ids.h"

namespace strata::tools {

// --- delete-records ---

// The offsets of an --offset-json-file, in file order. InvalidArgument with
// Kafka's message for bad JSON, a missing field, an unknown version or a
// partition named twice.
absl::StatusOr<std::vector<std::pair<TopicPartition, int64_t>>> ParseDeleteRecordsJson(
    const std::string& text);

int RunDeleteRecords(client::Admin& admin, const std::string& offset_json_file, std::ostream& out,
                     std::ostream& err);

// --- get-offsets ---

struct GetOffsetsOptions {
  std::string bootstrap_server;
  std::optional<std::string> topic;             // a regular expression
  std::optional<std::string> partitions;        // "0,1"
  std::optional<std::string> topic_partitions;  // GetOffsetShell's pattern list
  std::string time = "latest";
  bool exclude_internal_topics = false;
};

// Which partitions of the cluster's topics the options ask for.
using PartitionFilter = std::function<bool(const std::string& topic, int32_t partition)>;
using TopicFilter = std::function<bool(const std::string& topic)>;
struct OffsetsFilter {
  TopicFilter topic;
  PartitionFilter partition;
};
// InvalidArgument with Kafka's message for --topic-partitions with --topic
// or --partitions, a bad rule, a bad regex or bad partition ids.
absl::StatusOr<OffsetsFilter> ParseOffsetsFilter(const GetOffsetsOptions& options);
// --time as a ListOffsets timestamp (-1, -2, -3 or ms); InvalidArgument
// "Malformed time argument X, ..." otherwise.
absl::StatusOr<int64_t> ParseOffsetsTime(const std::string& time);

int RunGetOffsets(client::Admin& admin, const GetOffsetsOptions& options, std::ostream& out,
                  std::ostream& err);

}  // namespace strata::tools
