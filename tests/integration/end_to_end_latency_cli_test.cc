// `strata end-to-end-latency` (Kafka's EndToEndLatency) on real processes:
// a missing topic is created with one partition and every record comes
// back, an RF 3 topic works with each acks, a topic of three partitions
// gets its records spread by the partitioner and every one comes back, bad
// flags are refused. No assertion on the figures themselves: only their
// format.
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

class EndToEndLatencyCliTest : public ::testing::Test {
 protected:
  EndToEndLatencyCliTest() : cluster_(3) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  CliResult Latency(const std::string& topic, int records, const std::string& acks, int node = 1) {
    return cluster_.Cli({"end-to-end-latency", "--bootstrap-server", cluster_.bootstrap(node),
                         "--topic", topic, "--num-records", std::to_string(records),
                         "--producer-acks", acks, "--record-size", "100"});
  }

  StrataCluster cluster_;
};

// The progress lines (records 0, 1000, ...) and the two closing lines,
// after `first` lines of anything else.
void ExpectLatencyLines(const CliResult& r, int records, size_t first) {
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::vector<std::string> lines = NonEmptyLines(r.out);
  const size_t progress = static_cast<size_t>((records + 999) / 1000);
  ASSERT_EQ(lines.size(), first + progress + 2) << r.out;
  for (size_t i = 0; i < progress; ++i) {
    EXPECT_TRUE(std::regex_match(lines[first + i],
                                 std::regex(std::to_string(i * 1000) + "\t[0-9]+\\.[0-9]{3}")))
        << lines[first + i];
  }
  EXPECT_TRUE(
      std::regex_match(lines[first + progress], std::regex("Avg latency: [0-9]+\\.[0-9]{4} ms")))
      << r.out;
  EXPECT_TRUE(std::regex_match(lines[first + progress + 1],
                               std::regex("Percentiles: 50th = [0-9]+\\.[0-9]{3}, 99th = "
                                          "[0-9]+\\.[0-9]{3}, 99\\.9th = [0-9]+\\.[0-9]{3}")))
      << r.out;
}

TEST_F(EndToEndLatencyCliTest, CreatesAMissingTopicWithOnePartition) {
  CliResult r = Latency("latency", 1500, "all");
  ASSERT_FALSE(NonEmptyLines(r.out).empty()) << r.err;
  EXPECT_EQ(NonEmptyLines(r.out)[0],
            "Topic \"latency\" does not exist. Will create topic with 1 partition(s) and "
            "replication factor = 1");
  ExpectLatencyLines(r, 1500, 1);
  std::map<int, PartitionLine> described = cluster_.Describe("latency", 1);
  ASSERT_EQ(described.size(), 1u);
  EXPECT_EQ(described[0].isr.size(), 1u);

  // Every record is in the log: the offsets run to 1500.
  CliResult offsets = cluster_.Cli(
      {"get-offsets", "--bootstrap-server", cluster_.bootstrap(2), "--topic", "latency"});
  EXPECT_EQ(offsets.out, "latency:0:1500\n") << offsets.err;

  // A second run starts at the end: it reads its own records only.
  ExpectLatencyLines(Latency("latency", 20, "1", 3), 20, 0);
}

TEST_F(EndToEndLatencyCliTest, AReplicatedTopicWithEachAcks) {
  CliResult created =
      cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                    "replicated", "--partitions", "1", "--replication-factor", "3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  for (const char* acks : {"all", "-1", "1", "0"}) {
    SCOPED_TRACE(acks);
    ExpectLatencyLines(Latency("replicated", 200, acks, 2), 200, 0);
  }
}

TEST_F(EndToEndLatencyCliTest, ReadsEveryPartitionAndRefusesBadFlags) {
  CliResult created =
      cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                    "three", "--partitions", "3", "--replication-factor", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ExpectLatencyLines(Latency("three", 300, "1"), 300, 0);

  // Every record is in the log, wherever the partitioner put it: the three
  // partitions' end offsets ("three:<p>:<end>") add up to 300.
  CliResult offsets = cluster_.Cli(
      {"get-offsets", "--bootstrap-server", cluster_.bootstrap(2), "--topic", "three"});
  ASSERT_EQ(offsets.exit_code, 0) << offsets.err;
  const std::vector<std::string> ends = NonEmptyLines(offsets.out);
  ASSERT_EQ(ends.size(), 3u) << offsets.out;
  int64_t total = 0;
  for (const std::string& line : ends) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, std::regex("three:[0-2]:([0-9]+)"))) << line;
    total += std::stoll(m[1].str());
  }
  EXPECT_EQ(total, 300) << offsets.out;

  CliResult acks = Latency("three", 10, "2");
  EXPECT_EQ(acks.exit_code, 1);
  EXPECT_NE(acks.err.find("--producer-acks"), std::string::npos) << acks.err;
  CliResult none = Latency("three", 0, "1");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "Value for --num-records must be a positive integer.\n");

  // Nothing was created by the runs with bad flags.
  CliResult list = cluster_.Cli(
      {"topics", "--bootstrap-server", cluster_.bootstrap(1), "--list", "--exclude-internal"});
  EXPECT_EQ(list.out, "three\n") << list.err;
}

}  // namespace
}  // namespace strata::testing
