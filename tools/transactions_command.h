// `strata transactions` (Kafka's kafka-transactions.sh, flag for flag and
// line for line; Kafka 3.7's TransactionsCommand is the reference):
//
//   strata transactions [-h] [-v] [--command-config FILE]
//       --bootstrap-server host:port COMMAND ...
//     list
//     describe --transactional-id ID
//     describe-producers --topic T --partition P [--broker-id B]
//     find-hanging (--broker-id B | --topic T [--partition P])
//         [--max-transaction-timeout MINUTES]          (default 15)
//     abort --topic T --partition P
//         (--start-offset O | --producer-id I --producer-epoch E
//          --coordinator-epoch C)
//
// Kafka's tool parses with argparse4j, and so do its errors read: the
// arguments are parsed here the same way (long flags, `--flag=value`,
// unambiguous prefixes of flags and commands, the main options before the
// command) and a bad one prints argparse4j's usage and "error:" lines to
// stderr with exit code 1 (which -h also exits with, as in Kafka). Tables
// are Kafka's ToolsUtils.prettyPrintTable: every cell padded to its
// column's width and followed by a tab. A failure prints Kafka's
// "<what failed>: <cause>. Enable debug logging for additional detail." to
// stderr and exits 1.
//
// Layout: ParseTransactionsArgs is pure; Format*/Collect*/Find* turn
// answers into rows and rows into lines; RunTransactions talks to the
// cluster through client::Admin and returns the exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/admin.h"
#include "client/common/ids.h"
#include "strata/v1/transaction.pb.h"

namespace strata::tools {

struct TransactionsOptions {
  // Main options.
  std::string bootstrap_server;
  std::optional<std::string> command_config;
  // "list", "describe", "describe-producers", "abort" or "find-hanging".
  std::string command;

  std::optional<std::string> transactional_id;  // describe
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  std::optional<int32_t> broker_id;  // describe-producers, find-hanging
  // abort: the transaction by its first offset (brokers >= 3.0), or by its
  // producer (older brokers; Strata takes both).
  std::optional<int64_t> start_offset;
  std::optional<int64_t> producer_id;
  std::optional<int16_t> producer_epoch;
  std::optional<int32_t> coordinator_epoch;
  int32_t max_transaction_timeout_minutes = 15;  // find-hanging
};

// What the arguments ask for: options to run, or text to print (help,
// version, a usage error) and the exit code to leave with.
struct ParsedTransactionsArgs {
  std::optional<TransactionsOptions> options;
  std::string out;
  std::string err;
  int exit_code = 0;
};

// `args` are those after "transactions". `version` is what -v prints.
ParsedTransactionsArgs ParseTransactionsArgs(const std::vector<std::string>& args,
                                             const std::string& version);

// Kafka's ToolsUtils.prettyPrintTable: the header line, then one line per
// row (without '\n').
std::vector<std::string> PrettyPrintTable(const std::vector<std::string>& headers,
                                          const std::vector<std::vector<std::string>>& rows);

// ---- list

// TransactionalId, Coordinator, ProducerId, TransactionState; by broker id,
// each broker's transactions in its order.
std::vector<std::string> FormatTransactionList(
    const std::map<int32_t, v1::ListTransactionsResponse>& by_broker);

// ---- describe

// The one row of `describe` (an error-free description). `now_ms` gives
// TransactionDurationMs; TopicPartitions are "t-0,t-1", sorted.
std::vector<std::string> FormatTransactionDescription(const client::TransactionDescription& d,
                                                      int64_t now_ms);

// ---- describe-producers

std::vector<std::string> FormatProducers(const std::vector<v1::ProducerState>& producers);

// ---- find-hanging

// An open transaction of a partition.
struct OpenTransaction {
  TopicPartition partition;
  v1::ProducerState producer;
};

// The producers of `by_partition` with an open transaction whose last write
// is more than `max_timeout_ms` before `now_ms` (Kafka's candidates).
std::vector<OpenTransaction> CollectCandidateOpenTransactions(
    const std::map<TopicPartition, std::vector<v1::ProducerState>>& by_partition,
    int64_t max_timeout_ms, int64_t now_ms);

// Kafka's filter: a candidate hangs when its producer id has no
// transactional id at any coordinator (`transactional_ids`, by producer
// id), when that id is not described (`descriptions` lacks it: the
// coordinator no longer knows it), or when its coordinator's transaction
// does not name the partition (a coordinator still writing markers names
// it). In the order of `candidates`.
std::vector<OpenTransaction> FindHangingTransactions(
    const std::vector<OpenTransaction>& candidates,
    const std::map<int64_t, std::string>& transactional_ids,
    const std::map<std::string, v1::TransactionState>& descriptions);

// Topic, Partition, ProducerId, ProducerEpoch, CoordinatorEpoch,
// StartOffset, LastTimestamp, Duration(min).
std::vector<std::string> FormatHangingTransactions(const std::vector<OpenTransaction>& hanging,
                                                   int64_t now_ms);

// ---- abort

// Kafka's AbortTransactionSpec.toString(), as its messages quote it.
std::string AbortSpecText(const client::AbortTransactionSpec& spec);

// ---- Running it

// `now_ms` reads the wall clock (a test's fake clock).
int RunTransactions(client::Admin& admin, const TransactionsOptions& options, std::ostream& out,
                    std::ostream& err, const std::function<int64_t()>& now_ms = {});

// The whole tool: parses `args` (those after "transactions"), reads
// --command-config (request.timeout.ms, retry.backoff.ms and the security
// keys are used, other keys ignored), connects and runs. The exit code.
int RunTransactionsCommand(const std::vector<std::string>& args, const std::string& version,
                           std::ostream& out, std::ostream& err);

}  // namespace strata::tools
