// `strata consumer-perf-test`: Kafka's kafka-consumer-perf-test.sh with its
// flags and output: one header line and one line of figures,
//
//   start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
//     rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
//
// Reads every partition of the topic from the beginning (consumer groups
// come later, so rebalance.time.ms is 0) until --messages records or
// --timeout ms without a record.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace strata::tools {

struct ConsumerPerfOptions {
  std::string bootstrap_server;
  std::string topic;
  int64_t messages = 0;
  int64_t timeout_ms = 10000;
  int32_t fetch_size = 1048576;
  std::vector<std::string> consumer_props;
};

// The figures line, given times in ms since the epoch.
std::string FormatConsumerPerfLine(int64_t start_ms, int64_t end_ms, int64_t bytes,
                                   int64_t records);

int RunConsumerPerfTest(const ConsumerPerfOptions& options, std::ostream& out, std::ostream& err);

}  // namespace strata::tools
