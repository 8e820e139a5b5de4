// The seed's consumer-group session through the `strata` CLI on real
// processes (issue 11, acceptance 1): a console consumer without --group
// shows up as console-consumer-NNNNN with its member; with --group its
// commits follow and LAG is the high watermark minus them; and
// consumer-groups answers bad requests as Kafka's tool does.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/integration/child_process.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

std::vector<std::string> Fields(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ConsumerGroupsCliTest : public ::testing::Test {
 protected:
  ConsumerGroupsCliTest()
      : cluster_(3, {"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=5"}) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    consumer_.Kill(SIGKILL);
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  CliResult Groups(std::vector<std::string> args) {
    args.insert(args.begin(), {"consumer-groups", "--bootstrap-server", cluster_.bootstrap(1)});
    return cluster_.Cli(args);
  }

  void Produce(const std::string& lines) {
    CliResult r = cluster_.Cli(
        {"console-producer", "--bootstrap-server", cluster_.bootstrap(2), "--topic", "myTopic"},
        lines);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Starts `strata console-consumer` on myTopic (with `extra` flags) in the
  // background.
  void StartConsumer(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        STRATA_CLI, "console-consumer", "--bootstrap-server", cluster_.bootstrap(1),
        "--topic",  "myTopic"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    consumer_log_ = cluster_.dir() + "/console-consumer-" + std::to_string(++consumers_) + ".log";
    ASSERT_TRUE(consumer_.Start(argv, consumer_log_));
  }

  // The rows of `--describe --group G` (header first), once `done` holds
  // for them (bounded).
  std::vector<std::vector<std::string>> DescribeUntil(
      const std::string& group,
      const std::function<bool(const std::vector<std::vector<std::string>>&)>& done,
      CliResult* last) {
    std::vector<std::vector<std::string>> rows;
    Eventually(
        [&] {
          *last = Groups({"--describe", "--group", group});
          rows.clear();
          for (const std::string& line : NonEmptyLines(last->out)) rows.push_back(Fields(line));
          return last->exit_code == 0 && done(rows);
        },
        30000);
    return rows;
  }

  StrataCluster cluster_;
  ChildProcess consumer_;
  std::string consumer_log_;
  int consumers_ = 0;
};

const std::vector<std::string> kHeader = {"GROUP",          "TOPIC",          "PARTITION",
                                          "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                          "CONSUMER-ID",    "HOST",           "CLIENT-ID"};

TEST_F(ConsumerGroupsCliTest, TheSeedSessionWithAndWithoutAGroup) {
  CliResult created =
      cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                    "myTopic", "--partitions", "1", "--replication-factor", "3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  Produce("This is my first event\nThis is my second event\nThird\n");

  // Without --group: a group of its own, listed, with the member and no
  // commits (auto-commit off).
  StartConsumer({"--from-beginning"});
  std::string generated;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const std::string& line : NonEmptyLines(Groups({"--list"}).out)) {
          if (std::regex_match(line, std::regex("console-consumer-[0-9]{1,5}"))) generated = line;
        }
        return !generated.empty();
      },
      30000))
      << "no console-consumer-NNNNN group listed";
  CliResult last;
  std::vector<std::vector<std::string>> rows = DescribeUntil(
      generated, [](const auto& r) { return r.size() == 2 && r[1].size() == 9; }, &last);
  ASSERT_EQ(rows.size(), 2u) << last.out << last.err;
  EXPECT_EQ(rows[0], kHeader);
  const std::vector<std::string>& row = rows[1];
  EXPECT_EQ(std::vector<std::string>(row.begin(), row.begin() + 6),
            (std::vector<std::string>{generated, "myTopic", "0", "-", "3", "-"}));
  const std::string client_id = "consumer-" + generated + "-1";
  EXPECT_TRUE(row[6].starts_with(client_id + "-")) << row[6];
  EXPECT_EQ(row[7], "/127.0.0.1");
  EXPECT_EQ(row[8], client_id);
  consumer_.Kill(SIGTERM);
  EXPECT_NE(ReadFile(consumer_log_).find("Processed a total of 3 messages"), std::string::npos)
      << ReadFile(consumer_log_);

  // With --group: the committed offset, and no lag.
  StartConsumer({"--group", "myConsumerGroup", "--from-beginning"});
  rows = DescribeUntil(
      "myConsumerGroup",
      [](const auto& r) { return r.size() == 2 && r[1].size() == 9 && r[1][3] == "3"; }, &last);
  ASSERT_EQ(rows.size(), 2u) << last.out << last.err;
  EXPECT_EQ(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 6),
            (std::vector<std::string>{"myConsumerGroup", "myTopic", "0", "3", "3", "0"}));
  EXPECT_EQ(rows[1][8], "consumer-myConsumerGroup-1");

  {  // The group is active: its offsets cannot be reset.
    CliResult reset = Groups({"--reset-offsets", "--group", "myConsumerGroup", "--topic", "myTopic",
                              "--to-earliest", "--execute"});
    EXPECT_NE(reset.err.find("Error: Assignments can only be reset if the group "
                             "'myConsumerGroup' is inactive, but the current state is Stable."),
              std::string::npos)
        << reset.out << reset.err;
  }

  // Stopped, it leaves (committing); records produced afterwards raise LAG.
  consumer_.Kill(SIGTERM);
  Produce("fourth\nfifth\n");
  rows = DescribeUntil(
      "myConsumerGroup", [](const auto& r) { return r.size() == 2 && r[1][4] == "5"; }, &last);
  ASSERT_EQ(rows.size(), 2u) << last.out << last.err;
  EXPECT_EQ(rows[1], (std::vector<std::string>{"myConsumerGroup", "myTopic", "0", "3", "5", "2",
                                               "-", "-", "-"}));
  EXPECT_NE(last.err.find("Consumer group 'myConsumerGroup' has no active members."),
            std::string::npos)
      << last.err;

  // Inactive now: a reset is planned (dry run), then executed.
  CliResult plan = Groups(
      {"--reset-offsets", "--group", "myConsumerGroup", "--topic", "myTopic", "--to-offset", "1"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  ASSERT_EQ(NonEmptyLines(plan.out).size(), 2u) << plan.out;
  EXPECT_EQ(Fields(NonEmptyLines(plan.out)[1]),
            (std::vector<std::string>{"myConsumerGroup", "myTopic", "0", "1"}));
  rows = DescribeUntil(
      "myConsumerGroup", [](const auto&) { return true; }, &last);
  EXPECT_EQ(rows[1][3], "3") << "a dry run changed the offset";
  CliResult executed = Groups({"--reset-offsets", "--group", "myConsumerGroup", "--topic",
                               "myTopic", "--shift-by", "-2", "--execute"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;
  rows = DescribeUntil(
      "myConsumerGroup", [](const auto&) { return true; }, &last);
  EXPECT_EQ(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 6),
            (std::vector<std::string>{"myConsumerGroup", "myTopic", "0", "1", "5", "4"}));

  // Kafka's answers for a group that does not exist, and its deletion.
  CliResult unknown = Groups({"--describe", "--group", "nosuch"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("Error: Consumer group 'nosuch' does not exist."), std::string::npos)
      << unknown.err;
  CliResult deleted = Groups({"--delete", "--group", "myConsumerGroup"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_NE(
      deleted.out.find("Deletion of requested consumer groups ('myConsumerGroup') was successful."),
      std::string::npos)
      << deleted.out;
  for (const std::string& line : NonEmptyLines(Groups({"--list"}).out))
    EXPECT_NE(line, "myConsumerGroup");
}

}  // namespace
}  // namespace strata::testing
