// `strata transactions` (issue 15, step 6): arguments parsed and refused as
// Kafka 3.7's kafka-transactions.sh (argparse4j) does, Kafka's table
// layout, and the find-hanging filter. The commands against a cluster are
// in tests/integration/transactions_cli_test.cc.
#include "tools/transactions_command.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ParsedTransactionsArgs Parse(std::vector<std::string> args) {
  return ParseTransactionsArgs(args, "0.1.0");
}

// The "error:" line of a refused command line (its last line).
std::string ErrorOf(std::vector<std::string> args) {
  ParsedTransactionsArgs p = Parse(std::move(args));
  EXPECT_FALSE(p.options.has_value());
  EXPECT_EQ(p.exit_code, 1);
  // The error line may be wrapped and justified: whitespace runs read as
  // one space.
  std::string joined;
  bool space = false;
  for (char c : p.err) {
    if (c == '\n' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !joined.empty()) joined += ' ';
    space = false;
    joined += c;
  }
  const size_t at = joined.find("strata transactions: error: ");
  if (at == std::string::npos) return "no error line in: " + p.err;
  joined = joined.substr(at);
  return joined;
}

TEST(TransactionsArgsTest, EachCommandWithItsFlags) {
  ParsedTransactionsArgs p = Parse({"--bootstrap-server", "h:1", "list"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->bootstrap_server, "h:1");
  EXPECT_EQ(p.options->command, "list");

  p = Parse({"--bootstrap-server=h:1", "--command-config", "c.properties", "describe",
             "--transactional-id", "tx"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->command_config, "c.properties");
  EXPECT_EQ(p.options->transactional_id, "tx");

  p = Parse({"--bootstrap-server", "h:1", "describe-producers", "--topic", "t", "--partition", "2",
             "--broker-id", "3"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->command, "describe-producers");
  EXPECT_EQ(p.options->topic, "t");
  EXPECT_EQ(p.options->partition, 2);
  EXPECT_EQ(p.options->broker_id, 3);

  p = Parse({"--bootstrap-server", "h:1", "abort", "--topic", "t", "--partition", "0",
             "--producer-id", "999999", "--producer-epoch", "0", "--coordinator-epoch", "-1"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->producer_id, 999999);
  EXPECT_EQ(p.options->producer_epoch, 0);
  EXPECT_EQ(p.options->coordinator_epoch, -1);  // a negative number is a value
  EXPECT_FALSE(p.options->start_offset.has_value());

  p = Parse({"--bootstrap-server", "h:1", "find-hanging", "--topic", "t"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->max_transaction_timeout_minutes, 15);  // Kafka's default
  p = Parse({"--bootstrap-server", "h:1", "find-hanging", "--broker-id", "1",
             "--max-transaction-timeout", "0"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->max_transaction_timeout_minutes, 0);
}

TEST(TransactionsArgsTest, PrefixesOfFlagsAndCommandsAsArgparse4j) {
  ParsedTransactionsArgs p =
      Parse({"--bootstrap", "h:1", "describe-p", "--top", "t", "--part=1", "--topic", "u"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_EQ(p.options->command, "describe-producers");
  EXPECT_EQ(p.options->topic, "u");  // the last one given
  EXPECT_EQ(p.options->partition, 1);
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "d"}),
            "strata transactions: error: ambiguous command: d could match describe, "
            "describe-producers");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "abort", "--p", "1"}),
            "strata transactions: error: ambiguous option: --p could match --partition, "
            "--producer-epoch, --producer-id");
}

TEST(TransactionsArgsTest, RefusedWithArgparse4jsMessages) {
  EXPECT_EQ(ErrorOf({}), "strata transactions: error: too few arguments");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1"}),
            "strata transactions: error: too few arguments");
  EXPECT_EQ(ErrorOf({"list"}),
            "strata transactions: error: argument --bootstrap-server is required");
  // The main options come before the command.
  EXPECT_EQ(ErrorOf({"list", "--bootstrap-server", "h:1"}),
            "strata transactions: error: argument --bootstrap-server is required");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "lst"}),
            "strata transactions: error: invalid choice: 'lst' (choose from 'list', 'describe', "
            "'describe-producers', 'abort', 'find-hanging')");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "describe"}),
            "strata transactions: error: argument --transactional-id is required");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "abort", "--partition", "0"}),
            "strata transactions: error: argument --topic is required");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "find-hanging", "--foo"}),
            "strata transactions: error: unrecognized arguments: '--foo'");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "list", "a", "b"}),
            "strata transactions: error: unrecognized arguments: 'a b'");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "describe", "--transactional-id"}),
            "strata transactions: error: argument --transactional-id: expected one argument");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "describe-producers", "--topic", "t",
                     "--partition", "x"}),
            "strata transactions: error: argument --partition: could not convert 'x' to Integer "
            "(For input string: \"x\")");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "abort", "--topic", "t", "--partition", "0",
                     "--start-offset", "99999999999999999999"}),
            "strata transactions: error: argument --start-offset: could not convert "
            "'99999999999999999999' to Long (For input string: \"99999999999999999999\")");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "abort", "--topic", "t", "--partition", "0",
                     "--producer-epoch", "40000"}),
            "strata transactions: error: argument --producer-epoch: could not convert '40000' to "
            "Short (Value out of range. Value:\"40000\" Radix:10)");
  EXPECT_EQ(ErrorOf({"--bootstrap-server", "h:1", "find-hanging", "--partition", "2147483648"}),
            "strata transactions: error: argument --partition: could not convert '2147483648' to "
            "Integer (For input string: \"2147483648\")");
}

TEST(TransactionsArgsTest, UsageAsArgparse4jPrintsIt) {
  ParsedTransactionsArgs p = Parse({"--bootstrap-server", "h:1", "abort", "--topic", "t"});
  EXPECT_EQ(p.err,
            "usage: strata transactions --bootstrap-server host:port abort [-h]\n"
            "                           --topic TOPIC --partition PARTITION\n"
            "                           [--start-offset START_OFFSET]\n"
            "                           [--producer-id PRODUCER_ID]\n"
            "                           [--producer-epoch PRODUCER_EPOCH]\n"
            "                           [--coordinator-epoch COORDINATOR_EPOCH]\n"
            "strata transactions: error: argument --partition is required\n");
  p = Parse({"--bootstrap-server", "h:1", "xyz"});
  // A long error line is wrapped at 75 columns and justified.
  EXPECT_EQ(p.err,
            "usage: strata transactions [-h] [-v] [--command-config FILE]\n"
            "                           --bootstrap-server host:port COMMAND ...\n"
            "strata transactions: error:  invalid  choice:  'xyz'  (choose  from 'list',\n"
            "'describe', 'describe-producers', 'abort', 'find-hanging')\n");
}

TEST(TransactionsArgsTest, HelpExitsOneAndVersionZeroAsKafkasTool) {
  ParsedTransactionsArgs p = Parse({"-h"});
  EXPECT_FALSE(p.options.has_value());
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_THAT(p.out, HasSubstr("usage: strata transactions [-h] [-v]"));
  EXPECT_THAT(p.out, HasSubstr("    find-hanging         find hanging transactions\n"));
  p = Parse({"--bootstrap-server", "h:1", "find-hanging", "--help"});
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_THAT(p.out, HasSubstr("  --max-transaction-timeout MAX_TRANSACTION_TIMEOUT\n"));
  p = Parse({"--version"});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(p.out, "0.1.0\n");
}

TEST(TransactionsFormatTest, TablesPadEveryCellAndEndItWithATab) {
  EXPECT_THAT(PrettyPrintTable({"A", "Bee"}, {{"long", "1"}, {"x", "22222"}}),
              ElementsAre("A   \tBee  \t", "long\t1    \t", "x   \t22222\t"));
  EXPECT_THAT(PrettyPrintTable({"A", "B"}, {}), ElementsAre("A\tB\t"));
}

TEST(TransactionsFormatTest, ListByCoordinator) {
  std::map<int32_t, v1::ListTransactionsResponse> by_broker;
  v1::ListedTransaction* t = by_broker[2].add_transaction_states();
  t->set_transactional_id("payments");
  t->set_producer_id(3000);
  t->set_transaction_state("Ongoing");
  t = by_broker[1].add_transaction_states();
  t->set_transactional_id("a");
  t->set_producer_id(7);
  t->set_transaction_state("CompleteCommit");
  by_broker[3];  // a broker coordinating none
  EXPECT_THAT(FormatTransactionList(by_broker),
              ElementsAre("TransactionalId\tCoordinator\tProducerId\tTransactionState\t",
                          "a              \t1          \t7         \tCompleteCommit  \t",
                          "payments       \t2          \t3000      \tOngoing         \t"));
}

TEST(TransactionsFormatTest, DescribeWithAndWithoutAnOpenTransaction) {
  client::TransactionDescription d;
  d.coordinator_id = 2;
  d.state.set_transactional_id("tx");
  d.state.set_producer_id(5);
  d.state.set_producer_epoch(1);
  d.state.set_transaction_state("Ongoing");
  d.state.set_transaction_timeout_ms(60000);
  d.state.set_transaction_start_time_ms(1000);
  v1::TxnTopic* topic = d.state.add_topics();
  topic->set_name("t");
  topic->add_partitions(1);
  topic->add_partitions(0);
  std::vector<std::string> lines = FormatTransactionDescription(d, 1500);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "CoordinatorId\tTransactionalId\tProducerId\tProducerEpoch\tTransactionState\t"
            "TransactionTimeoutMs\tCurrentTransactionStartTimeMs\tTransactionDurationMs\t"
            "TopicPartitions\t");
  EXPECT_EQ(lines[1],
            "2            \ttx             \t5         \t1            \tOngoing         \t"
            "60000               \t1000                         \t500                  \t"
            "t-0,t-1        \t");
  d.state.set_transaction_state("Empty");
  d.state.set_transaction_start_time_ms(-1);
  d.state.clear_topics();
  lines = FormatTransactionDescription(d, 1500);
  EXPECT_THAT(lines[1], HasSubstr("\tEmpty           \t60000               \tNone"
                                  "                         \tNone                 \t"));
}

v1::ProducerState Producer(int64_t id, int32_t epoch, int32_t coordinator_epoch, int64_t last_ts,
                           int64_t txn_start) {
  v1::ProducerState p;
  p.set_producer_id(id);
  p.set_producer_epoch(epoch);
  p.set_last_sequence(9);
  p.set_last_timestamp(last_ts);
  p.set_coordinator_epoch(coordinator_epoch);
  p.set_current_txn_start_offset(txn_start);
  return p;
}

TEST(TransactionsFormatTest, ProducersShowNoneWithoutAnOpenTransaction) {
  EXPECT_THAT(FormatProducers({Producer(7, 0, -1, 1700000000000, -1),
                               Producer(999999, 3, 4, 1700000000001, 12)}),
              ElementsAre("ProducerId\tProducerEpoch\tLatestCoordinatorEpoch\tLastSequence\t"
                          "LastTimestamp\tCurrentTransactionStartOffset\t",
                          "7         \t0            \t-1                    \t9           \t"
                          "1700000000000\tNone                         \t",
                          "999999    \t3            \t4                     \t9           \t"
                          "1700000000001\t12                           \t"));
}

TEST(TransactionsFindHangingTest, CandidatesAreOpenAndOlderThanTheTimeout) {
  const TopicPartition t0{"t", PartitionId(0)}, t1{"t", PartitionId(1)};
  std::map<TopicPartition, std::vector<v1::ProducerState>> by_partition;
  by_partition[t0] = {Producer(1, 0, 0, 1000, 5), Producer(2, 0, 0, 1000, -1)};
  by_partition[t1] = {Producer(3, 0, 0, 59000, 0)};
  std::vector<OpenTransaction> c = CollectCandidateOpenTransactions(by_partition, 0, 60000);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].producer.producer_id(), 1);
  EXPECT_EQ(c[1].producer.producer_id(), 3);
  // Idle for longer than the timeout, strictly.
  c = CollectCandidateOpenTransactions(by_partition, 58999, 60000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].producer.producer_id(), 1);
}

TEST(TransactionsFindHangingTest, HangingUnlessItsCoordinatorStillNamesThePartition) {
  const TopicPartition t0{"t", PartitionId(0)}, t1{"t", PartitionId(1)};
  std::vector<OpenTransaction> candidates = {
      {t0, Producer(1, 0, 0, 0, 5)},  // no transactional id anywhere
      {t0, Producer(2, 0, 0, 0, 6)},  // its id is no longer known
      {t0, Producer(3, 0, 0, 0, 7)},  // ongoing on t-0: not hanging
      {t1, Producer(3, 0, 0, 0, 8)},  // the same transaction does not name t-1
  };
  std::map<int64_t, std::string> ids = {{2, "gone"}, {3, "live"}};
  v1::TransactionState live;
  live.set_transactional_id("live");
  live.set_transaction_state("Ongoing");
  v1::TxnTopic* topic = live.add_topics();
  topic->set_name("t");
  topic->add_partitions(0);
  std::vector<OpenTransaction> hanging = FindHangingTransactions(candidates, ids, {{"live", live}});
  ASSERT_EQ(hanging.size(), 3u);
  EXPECT_EQ(hanging[0].producer.producer_id(), 1);
  EXPECT_EQ(hanging[1].producer.producer_id(), 2);
  EXPECT_EQ(hanging[2].partition, t1);

  EXPECT_THAT(
      FormatHangingTransactions({hanging[2]}, 0 + 31 * 60000 + 59999),
      ElementsAre("Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\t"
                  "LastTimestamp\tDuration(min)\t",
                  "t    \t1        \t3         \t0            \t0               \t8          \t"
                  "0            \t31           \t"));
  EXPECT_THAT(FormatHangingTransactions({}, 0),
              ElementsAre("Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\t"
                          "StartOffset\tLastTimestamp\tDuration(min)\t"));
}

TEST(TransactionsRunTest, KafkasChecksBeforeAnyCall) {
  // Nothing listens there: each of these must fail before calling.
  client::AdminConfig config;
  config.bootstrap_servers = "127.0.0.1:1";
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = client::Admin::Create(config);
  ASSERT_TRUE(admin.ok());
  auto run = [&](TransactionsOptions o, std::string* err_text) {
    std::ostringstream out, err;
    const int code = RunTransactions(**admin, o, out, err, [] { return int64_t{0}; });
    *err_text = err.str();
    EXPECT_EQ(out.str(), "");
    return code;
  };
  std::string err;
  TransactionsOptions o;
  o.command = "abort";
  o.topic = "t";
  o.partition = 0;
  EXPECT_EQ(run(o, &err), 1);
  EXPECT_EQ(err,
            "The transaction to abort must be identified either with --start-offset (for brokers "
            "on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch "
            "(for older brokers)\n");
  o.producer_id = 5;
  EXPECT_EQ(run(o, &err), 1);
  EXPECT_EQ(err, "Missing required argument --producer-epoch\n");
  o.producer_epoch = 0;
  EXPECT_EQ(run(o, &err), 1);
  EXPECT_EQ(err, "Missing required argument --coordinator-epoch\n");

  o = TransactionsOptions{};
  o.command = "find-hanging";
  EXPECT_EQ(run(o, &err), 1);
  EXPECT_EQ(err,
            "The `find-hanging` command requires either --topic or --broker-id to limit the scope "
            "of the search\n");
  o.broker_id = 1;
  o.partition = 0;
  EXPECT_EQ(run(o, &err), 1);
  EXPECT_EQ(err, "The --partition argument requires --topic to be provided\n");
}

TEST(TransactionsFormatTest, AbortSpecAsKafkaQuotesIt) {
  client::AbortTransactionSpec spec{TopicPartition{"t", PartitionId(3)}, 999999, 0, 0};
  EXPECT_EQ(AbortSpecText(spec),
            "AbortTransactionSpec(topicPartition=t-3, producerId=999999, producerEpoch=0, "
            "coordinatorEpoch=0)");
}

}  // namespace
}  // namespace strata::tools
