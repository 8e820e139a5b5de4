// `strata end-to-end-latency`: Kafka's EndToEndLatency tool
// (org.apache.kafka.tools.EndToEndLatency, kafka-e2e-latency.sh) with the
// named flags of Kafka 4.1 (KIP-1147):
//
//   strata end-to-end-latency --bootstrap-server H:P --topic T --num-records N
//       --producer-acks 1 --record-size 100 [--command-config FILE]
//
// One record at a time: the producer sends a record of --record-size random
// uppercase letters, without a key or a partition (the default partitioner
// picks one), and waits for its acknowledgement (acks as given), then a
// consumer, assigned every partition of the topic and positioned at the end
// of each before the first send, polls until that record arrives. The
// latency of a record runs from just before the send to its receipt (steady
// clock, in microseconds). Every 1000th record (from the first) prints
// "<i>\t<latency ms>", and the run ends with
//
//   Avg latency: 0.4321 ms
//   Percentiles: 50th = 0.412, 99th = 0.987, 99.9th = 2.310
//
// The percentiles are Kafka's picks (the sorted latencies at index
// floor(n * p)) but in milliseconds with three decimals, where Kafka prints
// whole milliseconds (which hides everything below one): a deliberate
// difference.
//
// A topic that does not exist is created with one partition and
// replication factor 1, as Kafka's tool does (and says so on stdout); the
// run starts once every partition of the topic has a leader. Differences
// from Kafka, besides the percentiles: --producer-acks also takes 0 and -1
// (Kafka refuses anything but 1 and all); the consumer long-polls (Kafka
// sets fetch.max.wait.ms=0 and spins); it joins no group (Kafka's
// "test-group-<time>" only ever commits an unused offset); its partitions
// are those the admin client saw led (Kafka asks the consumer's metadata);
// the producer learns the topic's metadata before the first record's clock
// starts.
//
// --command-config's properties (security.protocol, ssl.*, sasl.*, ...)
// go to the admin client, the producer and the consumer, as Kafka passes
// its properties file to all three; the tool's own settings (acks,
// linger.ms=0, enable.auto.commit=false, auto.offset.reset=latest) win.
//
// Errors, each on stderr with exit code 1: invalid options, a topic that
// cannot be described or created or has a partition without a leader after
// 30 s, a send that fails, a record that does not arrive within 60 s
// ("poll() timed out ..."), a record other than the one sent, or more than
// one record at once.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/config.h"
#include "client/records.h"

namespace strata::tools {

// Kafka's POLL_TIMEOUT_MS: how long the consumer waits for each record.
inline constexpr int64_t kEndToEndPollTimeoutMs = 60000;

struct EndToEndLatencyOptions {
  std::string bootstrap_server;
  std::string topic;
  int32_t num_records = 0;    // a Java int in Kafka's tool
  std::string producer_acks;  // 0, 1, -1 or all
  int32_t record_size = 0;
  std::optional<std::string> command_config;
  // No flag (Kafka has none); tests shorten it.
  int64_t poll_timeout_ms = kEndToEndPollTimeoutMs;
};

// Checks the flags' values: Kafka 4.1's messages for --num-records and
// --record-size (here both must be positive), and --producer-acks among 0,
// 1, -1 and all. InvalidArgument naming the flag otherwise.
absl::Status ValidateEndToEndLatencyOptions(const EndToEndLatencyOptions& options);

// The producer's and the consumer's properties: `base` (--command-config's)
// with bootstrap.servers and the tool's own settings on top.
client::Properties EndToEndProducerProperties(const EndToEndLatencyOptions& options,
                                              const client::Properties& base);
client::Properties EndToEndConsumerProperties(const EndToEndLatencyOptions& options,
                                              const client::Properties& base);

// Kafka's validate(): what one poll brought back for the record whose
// value was `sent`. FailedPrecondition with Kafka's messages when nothing
// came, when the first record is not the one sent, or when more than one
// came; long values are shortened in the message.
absl::Status CheckReceived(const std::string& sent, const std::vector<client::ConsumerRecord>& got,
                           int64_t poll_timeout_ms);

// The record's index and latency, every 1000th record: "<i>\t<ms>" with
// three decimals.
std::string FormatProgressLine(int64_t index, int64_t latency_us);

// The two closing lines, "Avg latency: X ms\nPercentiles: 50th = ..., 99th
// = ..., 99.9th = ...\n", from every record's latency in microseconds (any
// order; at least one).
std::string FormatLatencySummary(std::vector<int64_t> latencies_us);

// Kafka's percentile pick: `sorted[floor(size * p)]`, clamped to the last.
// `sorted` must be ascending and not empty.
int64_t LatencyPercentile(const std::vector<int64_t>& sorted, double p);

// Runs the test; results to `out`, errors to `err`. Returns the exit code.
int RunEndToEndLatency(const EndToEndLatencyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace strata::tools
