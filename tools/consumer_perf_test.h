// `strata consumer-perf-test`: Kafka's kafka-consumer-perf-test.sh (3.x,
// org.apache.kafka.tools.ConsumerPerformance) with its flags and output: a
// header line, then one line of figures,
//
//   start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
//     rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
//
// or, with --show-detailed-stats, one line per --reporting-interval instead
// (time, threadId, ... for that interval; no final line), as Kafka prints.
//
// As in Kafka 3.x the consumer always belongs to a group and Subscribe()s to
// the topic: --group, or "perf-consumer-<0..99999>" (a group of its own)
// when none is given. There is no hand assignment: several processes given
// the same --group share the topic's partitions, each counting its own
// records, and each ends at --messages records or after --timeout ms
// without one (the time of joining counts toward that timeout, as in
// Kafka). Positions come from the group's committed offsets, else from
// the earliest offset (latest with --from-latest).
//
// rebalance.time.ms is Kafka's ConsumerPerfRebListener sum: from the start
// until the first OnPartitionsAssigned, plus, each time a rebalance revoked
// every partition, from that revocation until partitions were assigned
// again (an eager rebalance). fetch.time.ms is the elapsed time minus that,
// and fetch.MB.sec / fetch.nMsg.sec are computed over it.
//
// Consumer settings: --consumer.config (a properties file), then
// --consumer-props key=value (Strata's, later wins), then the flags, which
// override both as Kafka's do (group.id, max.partition.fetch.bytes,
// auto.offset.reset, check.crcs=false); client.id defaults to
// "perf-consumer-client".
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/common/ids.h"
#include "client/config.h"

namespace strata::tools {

struct ConsumerPerfOptions {
  std::string bootstrap_server;
  std::string topic;
  int64_t messages = 0;
  int64_t timeout_ms = 10000;
  int32_t fetch_size = 1048576;
  // --group; empty: DefaultPerfGroup() of a random number.
  std::string group;
  bool from_latest = false;
  bool show_detailed_stats = false;
  int64_t reporting_interval_ms = 5000;
  bool hide_header = false;
  std::string consumer_config;  // --consumer.config; empty: none
  std::vector<std::string> consumer_props;
};

// Kafka's default group: "perf-consumer-" + (random % 100000).
std::string DefaultPerfGroup(uint32_t random);

// The consumer's properties from the options (see the header comment for
// the order); `file_props` are those read from --consumer.config.
absl::StatusOr<client::Properties> ConsumerPerfProperties(const ConsumerPerfOptions& options,
                                                          const client::Properties& file_props,
                                                          const std::string& group);

// Kafka's ConsumerPerfRebListener bookkeeping, with time passed in: how
// long the consumer spent without partitions because of group joins.
// Called on the poll thread only.
class RebalanceTimer {
 public:
  explicit RebalanceTimer(int64_t start_ms) : join_start_ms_(start_ms) {}

  void Revoked(const std::vector<TopicPartition>& partitions, int64_t now_ms);
  void Assigned(const std::vector<TopicPartition>& partitions, int64_t now_ms);

  // The whole run's rebalance time.
  int64_t total_ms() const { return total_ms_; }
  // The rebalance time since the last call (for --show-detailed-stats).
  int64_t TakeIntervalMs();
  // Whether some partition was ever assigned.
  bool ever_assigned() const { return ever_assigned_; }

 private:
  std::set<TopicPartition> assigned_;
  int64_t join_start_ms_;
  int64_t total_ms_ = 0;
  int64_t interval_ms_ = 0;
  bool ever_assigned_ = false;
};

std::string ConsumerPerfHeader(bool detailed);

// The figures line, given times in ms since the epoch.
std::string FormatConsumerPerfLine(int64_t start_ms, int64_t end_ms, int64_t bytes, int64_t records,
                                   int64_t rebalance_ms);

// A --show-detailed-stats line for the interval [start_ms, end_ms]: totals
// so far, rates over the interval, and the interval's rebalance time.
std::string FormatConsumerProgressLine(int thread_id, int64_t bytes, int64_t last_bytes,
                                       int64_t records, int64_t last_records, int64_t start_ms,
                                       int64_t end_ms, int64_t rebalance_ms);

int RunConsumerPerfTest(const ConsumerPerfOptions& options, std::ostream& out, std::ostream& err);

}  // namespace strata::tools
