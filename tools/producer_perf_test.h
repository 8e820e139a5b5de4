// `strata producer-perf-test`: Kafka's kafka-producer-perf-test.sh with the
// same flags and output lines — a report every 5 s of the window's
// throughput and latency, and a final line with the whole run's figures and
// latency percentiles:
//
//   50000 records sent, 9998.0 records/sec (0.95 MB/sec), 3.1 ms avg latency, 40.0 ms max latency.
//   100000 records sent, 10000.000000 records/sec (0.95 MB/sec), 2.81 ms avg latency,
//     40.00 ms max latency, 2 ms 50th, 6 ms 95th, 11 ms 99th, 35 ms 99.9th.
//
// Latency is from Send() to the record's acknowledgement.
//
// Values are --record-size random uppercase letters, as Kafka's tool sends,
// or, with --payload-file, payloads read from that file (split at
// --payload-delimiter, a newline by default), one picked at random (seeded)
// for each record; the tool then first prints "Reading payloads from: PATH"
// and "Number of messages read: N", and MB/sec counts the payloads' bytes.
// Giving both is refused with Kafka's "Either --record-size or
// --payload-file must be specified but not both."; giving neither (which
// Kafka refuses as well) sends records of 100 bytes.
// Compression is the producer's: --producer-props compression.type=zstd.
//
// Transactions, as Kafka's tool (3.5+): --transactional-id ID,
// --transaction-duration-ms N or a transactional.id in --producer-props
// makes the producer transactional (--transactional-id wins over the
// property; without either id it is "performance-producer-" and a random
// id). The tool calls InitTransactions, begins a transaction before the
// first record of each, and commits once a record is sent N ms or more
// after the transaction began (3000 ms when no duration is given), and at
// the end. --transaction-records N (Strata's, for benchmarks that compare
// transaction sizes) commits every N records instead (and as well, when a
// duration is given too). Latency stays Send() to acknowledgement, as in
// Kafka's tool; a failed commit ends the run with exit code 1.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::tools {

struct ProducerPerfOptions {
  std::string topic;
  int64_t num_records = 0;
  std::optional<int32_t> record_size;  // --record-size; 100 without --payload-file
  // Records per second to aim for; -1: as fast as possible.
  double throughput = -1;
  std::vector<std::string> producer_props;  // key=value, bootstrap.servers among them
  // --producer.config: a properties file; --producer-props win over it.
  std::optional<std::string> producer_config;
  std::optional<std::string> bootstrap_server;
  int64_t reporting_interval_ms = 5000;
  std::optional<std::string> payload_file;         // --payload-file
  std::string payload_delimiter = "\\n";           // --payload-delimiter; "\\n" is a newline
  std::optional<std::string> transactional_id;     // --transactional-id
  std::optional<int64_t> transaction_duration_ms;  // --transaction-duration-ms
  std::optional<int64_t> transaction_records;      // --transaction-records (Strata's)
};

// Kafka's defaults for a transactional run.
inline constexpr int64_t kDefaultTransactionDurationMs = 3000;
inline constexpr char kDefaultTransactionIdPrefix[] = "performance-producer-";

// How a run uses transactions, from the options and producer properties
// (Kafka's ConfigPostProcessor). Errors: Kafka's messages for a duration
// (or Strata's record count) that is not positive.
struct TransactionPlan {
  bool enabled = false;
  std::string transactional_id;
  std::optional<int64_t> duration_ms;  // commit once a transaction is this old
  std::optional<int64_t> records;      // commit every this many records
};
absl::StatusOr<TransactionPlan> PlanTransactions(const ProducerPerfOptions& options,
                                                 const std::map<std::string, std::string>& props);

// The payloads of --payload-file: the file's text split at `delimiter`
// (taken literally; "\\n" means a newline), trailing empty pieces dropped,
// as Kafka's tool splits it. Errors: the file cannot be read, or holds no
// payload.
absl::StatusOr<std::vector<std::string>> ReadPayloads(const std::string& path,
                                                      const std::string& delimiter);

// Latency statistics as Kafka's perf tool keeps them: every record counts
// toward totals and averages; a bounded sample feeds the percentiles.
class PerfStats {
 public:
  PerfStats(int64_t num_records, int64_t start_ms, int64_t reporting_interval_ms);

  // One acknowledged record of `bytes` that took `latency_ms`, at `now_ms`.
  // Returns a window report line when a reporting interval has passed.
  std::optional<std::string> Record(int64_t latency_ms, int64_t bytes, int64_t now_ms);
  // The final line.
  std::string Summary(int64_t now_ms) const;

  int64_t count() const { return count_; }

 private:
  std::string Window(int64_t now_ms) const;

  int64_t start_ms_;
  int64_t interval_ms_;
  int64_t sampling_;
  int64_t count_ = 0;
  int64_t bytes_ = 0;
  int64_t total_latency_ = 0;
  int64_t max_latency_ = 0;
  std::vector<int64_t> samples_;
  // The current reporting window.
  int64_t window_start_ms_;
  int64_t window_count_ = 0;
  int64_t window_bytes_ = 0;
  int64_t window_latency_ = 0;
  int64_t window_max_ = 0;
};

// Runs the test; output to `out`, errors to `err`. Returns the exit code.
int RunProducerPerfTest(const ProducerPerfOptions& options, std::ostream& out, std::ostream& err);

}  // namespace strata::tools
