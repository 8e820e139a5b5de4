// `strata end-to-end-latency`: argument checks, Kafka's validate() with its
// messages, the percentile picks and output lines, and whole runs against
// the in-process fake cluster, of one partition and of several.
#include "tools/end_to_end_latency.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::tools {
namespace {

using Clock = std::chrono::steady_clock;

EndToEndLatencyOptions Valid() {
  EndToEndLatencyOptions o;
  o.bootstrap_server = "127.0.0.1:1";
  o.topic = "latency";
  o.num_records = 10;
  o.producer_acks = "1";
  o.record_size = 100;
  return o;
}

// Exit code and stderr of a run that must stop before reaching a cluster.
std::pair<int, std::string> Refused(const EndToEndLatencyOptions& o) {
  std::ostringstream out, err;
  const int code = RunEndToEndLatency(o, out, err);
  EXPECT_EQ(out.str(), "");
  return {code, err.str()};
}

TEST(EndToEndLatencyOptionsTest, RefusesBadValuesWithTheFlagsName) {
  EXPECT_TRUE(ValidateEndToEndLatencyOptions(Valid()).ok());
  for (const char* acks : {"0", "1", "-1", "all"}) {
    EndToEndLatencyOptions o = Valid();
    o.producer_acks = acks;
    EXPECT_TRUE(ValidateEndToEndLatencyOptions(o).ok()) << acks;
  }

  EndToEndLatencyOptions o = Valid();
  o.num_records = 0;
  EXPECT_EQ(
      Refused(o),
      std::make_pair(1, std::string("Value for --num-records must be a positive integer.\n")));
  o.num_records = -5;
  EXPECT_EQ(Refused(o).first, 1);

  o = Valid();
  o.record_size = 0;
  EXPECT_EQ(
      Refused(o),
      std::make_pair(1, std::string("Value for --record-size must be a positive integer.\n")));
  o.record_size = -1;
  EXPECT_EQ(Refused(o).first, 1);

  for (const char* acks : {"2", "ALL", "", "-2", "1 "}) {
    o = Valid();
    o.producer_acks = acks;
    auto [code, err] = Refused(o);
    EXPECT_EQ(code, 1) << acks;
    EXPECT_NE(err.find("for --producer-acks. Please use 0, 1, -1 or all."), std::string::npos)
        << err;
  }

  o = Valid();
  o.bootstrap_server.clear();
  EXPECT_EQ(Refused(o).first, 1);
  o = Valid();
  o.topic.clear();
  EXPECT_EQ(Refused(o).first, 1);
}

TEST(EndToEndLatencyOptionsTest, AnUnreadableCommandConfigIsAnError) {
  EndToEndLatencyOptions o = Valid();
  o.command_config = "/nonexistent/e2e.properties";
  auto [code, err] = Refused(o);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("/nonexistent/e2e.properties"), std::string::npos) << err;
}

TEST(EndToEndLatencyOptionsTest, TheToolsSettingsWinOverTheCommandConfig) {
  EndToEndLatencyOptions o = Valid();
  o.producer_acks = "all";
  const client::Properties base = {
      {"security.protocol", "SSL"},         {"acks", "0"},     {"linger.ms", "50"},
      {"bootstrap.servers", "elsewhere:1"}, {"group.id", "g"}, {"enable.auto.commit", "true"},
      {"auto.offset.reset", "earliest"}};
  client::Properties p = EndToEndProducerProperties(o, base);
  EXPECT_EQ(p["security.protocol"], "SSL");
  EXPECT_EQ(p["acks"], "all");
  EXPECT_EQ(p["linger.ms"], "0");
  EXPECT_EQ(p["bootstrap.servers"], "127.0.0.1:1");
  client::Properties c = EndToEndConsumerProperties(o, base);
  EXPECT_EQ(c["security.protocol"], "SSL");
  EXPECT_EQ(c["bootstrap.servers"], "127.0.0.1:1");
  EXPECT_EQ(c["enable.auto.commit"], "false");
  EXPECT_EQ(c["auto.offset.reset"], "latest");
  EXPECT_FALSE(c.contains("group.id"));
}

client::ConsumerRecord Rec(std::optional<std::string> value, int64_t offset = 7) {
  client::ConsumerRecord r;
  r.topic = "latency";
  r.partition = 0;
  r.offset = offset;
  r.value = std::move(value);
  return r;
}

TEST(EndToEndLatencyCheckTest, KafkasValidateMessages) {
  EXPECT_TRUE(CheckReceived("ABC", {Rec("ABC")}, 60000).ok());

  absl::Status none = CheckReceived("ABC", {}, 60000);
  EXPECT_EQ(none.message(), "poll() timed out before finding a result (timeout:[60000])");

  absl::Status other = CheckReceived("ABC", {Rec("XYZ")}, 60000);
  EXPECT_EQ(other.message(),
            "The message read [XYZ] did not match the message sent [ABC] (read at offset 7 of "
            "latency-0)");
  EXPECT_NE(CheckReceived("ABC", {Rec(std::nullopt)}, 60000).message().find("read [null]"),
            absl::string_view::npos);

  // The first record decides the match; then the count.
  absl::Status two = CheckReceived("ABC", {Rec("ABC"), Rec("ABC", 8)}, 60000);
  EXPECT_EQ(two.message(), "Only one result was expected during this test. We found [2]");
  EXPECT_FALSE(CheckReceived("ABC", {Rec("XYZ"), Rec("ABC", 8)}, 60000).ok());

  // Long values are shortened.
  const std::string sent(1000, 'A');
  absl::Status long_other = CheckReceived(sent, {Rec(std::string(1000, 'B'))}, 60000);
  EXPECT_NE(long_other.message().find("[" + std::string(64, 'B') + "... (1000 bytes)]"),
            absl::string_view::npos)
      << long_other.message();
  EXPECT_LT(long_other.message().size(), 300u);
}

TEST(EndToEndLatencySummaryTest, KafkasPicksInMillisecondsWithMicroseconds) {
  // 1..1000 us, shuffled: index 500 -> 501 us, 990 -> 991 us, 999 -> 1000 us.
  std::vector<int64_t> us;
  for (int64_t i = 1000; i >= 1; --i) us.push_back(i);
  std::swap(us[3], us[700]);
  EXPECT_EQ(FormatLatencySummary(us),
            "Avg latency: 0.5005 ms\nPercentiles: 50th = 0.501, 99th = 0.991, 99.9th = 1.000\n");

  EXPECT_EQ(FormatLatencySummary({412}),
            "Avg latency: 0.4120 ms\nPercentiles: 50th = 0.412, 99th = 0.412, 99.9th = 0.412\n");
  // Ten records: 99th and 99.9th are both the largest (index 9).
  EXPECT_EQ(FormatLatencySummary({100, 200, 300, 400, 500, 600, 700, 800, 900, 2310}),
            "Avg latency: 0.6810 ms\nPercentiles: 50th = 0.600, 99th = 2.310, 99.9th = 2.310\n");

  const std::vector<int64_t> sorted = {1, 2, 3, 4};
  EXPECT_EQ(LatencyPercentile(sorted, 0.0), 1);
  EXPECT_EQ(LatencyPercentile(sorted, 0.5), 3);
  EXPECT_EQ(LatencyPercentile(sorted, 0.999), 4);
  EXPECT_EQ(LatencyPercentile(sorted, 1.0), 4);

  EXPECT_EQ(FormatProgressLine(0, 412), "0\t0.412");
  EXPECT_EQ(FormatProgressLine(1000, 12345678), "1000\t12345.678");
}

// The lines of a finished run: optional creation line, progress lines for
// records 0, 1000, ..., then the two closing lines.
void ExpectRunOutput(const std::string& out, int num_records, bool created) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  size_t i = 0;
  if (created) {
    ASSERT_GT(lines.size(), i);
    EXPECT_EQ(lines[i++],
              "Topic \"latency\" does not exist. Will create topic with 1 partition(s) and "
              "replication factor = 1");
  }
  for (int r = 0; r < num_records; r += 1000) {
    ASSERT_GT(lines.size(), i) << out;
    EXPECT_TRUE(std::regex_match(lines[i++], std::regex(std::to_string(r) + "\t[0-9]+\\.[0-9]{3}")))
        << lines[i - 1];
  }
  ASSERT_EQ(lines.size(), i + 2) << out;
  EXPECT_TRUE(std::regex_match(lines[i], std::regex("Avg latency: [0-9]+\\.[0-9]{4} ms")))
      << lines[i];
  EXPECT_TRUE(
      std::regex_match(lines[i + 1], std::regex("Percentiles: 50th = [0-9]+\\.[0-9]{3}, 99th = "
                                                "[0-9]+\\.[0-9]{3}, 99\\.9th = [0-9]+\\.[0-9]{3}")))
      << lines[i + 1];
}

TEST(EndToEndLatencyRunTest, CreatesAMissingTopicAndReadsEveryRecordBack) {
  strata::testing::FakeCluster cluster(1);
  EndToEndLatencyOptions o = Valid();
  o.bootstrap_server = cluster.bootstrap();
  o.num_records = 1001;
  o.record_size = 37;
  o.producer_acks = "all";
  std::ostringstream out, err;
  ASSERT_EQ(RunEndToEndLatency(o, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  ExpectRunOutput(out.str(), 1001, /*created=*/true);
  EXPECT_EQ(cluster.last_acks(), -1);

  const std::vector<record::Record> records = cluster.Records("latency", 0);
  ASSERT_EQ(records.size(), 1001u);
  for (const record::Record& r : records) {
    ASSERT_TRUE(r.value.has_value());
    ASSERT_EQ(r.value->size(), 37u);
    for (char c : *r.value) ASSERT_TRUE(c >= 'A' && c <= 'Z') << *r.value;
  }
  EXPECT_NE(records[0].value, records[1].value);
}

TEST(EndToEndLatencyRunTest, StartsAtTheEndOfAnExistingTopicWithEachAcks) {
  strata::testing::FakeCluster cluster(2);
  // Led by node 2; records already there are not read.
  cluster.AddTopic("latency", 1, {2});
  cluster.SetLogEnd("latency", 0, 5);
  for (const char* acks : {"0", "1", "-1"}) {
    EndToEndLatencyOptions o = Valid();
    o.bootstrap_server = cluster.address(1);
    o.producer_acks = acks;
    std::ostringstream out, err;
    ASSERT_EQ(RunEndToEndLatency(o, out, err), 0) << acks << ": " << err.str();
    ExpectRunOutput(out.str(), 10, /*created=*/false);
    EXPECT_EQ(cluster.last_acks(), std::stoi(acks));
  }
  EXPECT_EQ(cluster.Records("latency", 0).size(), 30u);
}

// The records of a run, partition by partition, all checked for size and
// letters; their number per partition.
std::vector<size_t> RecordsPerPartition(const strata::testing::FakeCluster& cluster,
                                        int32_t partitions) {
  std::vector<size_t> counts;
  for (int32_t p = 0; p < partitions; ++p) {
    const std::vector<record::Record> records = cluster.Records("latency", p);
    for (const record::Record& r : records) {
      EXPECT_TRUE(r.value.has_value() && r.value->size() == 100u) << "partition " << p;
    }
    counts.push_back(records.size());
  }
  return counts;
}

TEST(EndToEndLatencyRunTest, ReadsEveryRecordOfATopicOfSeveralPartitions) {
  strata::testing::FakeCluster cluster(2);
  // Led by nodes 1, 2 and 1; records already in partition 1 are not read.
  cluster.AddTopic("latency", 3);
  cluster.SetLogEnd("latency", 1, 4);
  EndToEndLatencyOptions o = Valid();
  o.bootstrap_server = cluster.bootstrap();
  o.num_records = 30;
  std::ostringstream out, err;
  ASSERT_EQ(RunEndToEndLatency(o, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  ExpectRunOutput(out.str(), 30, /*created=*/false);

  // The partitioner spread the keyless records; each came back once.
  const std::vector<size_t> counts = RecordsPerPartition(cluster, 3);
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 30u);
  for (size_t n : counts) EXPECT_GT(n, 0u);
}

// A partition without a leader at the start (a topic just created) holds
// the run back until it has one, instead of failing it. (The tool waits for
// it before making its clients; the consumer would retry as well, so this
// does not tell the two apart.)
TEST(EndToEndLatencyRunTest, APartitionWithoutALeaderYetDelaysTheRun) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("latency", 3);
  cluster.SetLeader("latency", 2, -1);
  std::thread elect([&cluster] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cluster.SetLeader("latency", 2, 1);
  });
  EndToEndLatencyOptions o = Valid();
  o.bootstrap_server = cluster.bootstrap();
  o.num_records = 9;
  std::ostringstream out, err;
  const Clock::time_point begin = Clock::now();
  const int code = RunEndToEndLatency(o, out, err);
  const Clock::duration took = Clock::now() - begin;
  elect.join();
  ASSERT_EQ(code, 0) << err.str();
  ExpectRunOutput(out.str(), 9, /*created=*/false);
  EXPECT_GE(took, std::chrono::milliseconds(400));
  const std::vector<size_t> counts = RecordsPerPartition(cluster, 3);
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 9u);
  EXPECT_GT(counts[2], 0u);
}

TEST(EndToEndLatencyRunTest, TheCommandConfigReachesTheClients) {
  strata::testing::FakeCluster cluster(1);
  const std::string path = ::testing::TempDir() + "/e2e_command_config.properties";
  {
    std::ofstream f(path);
    f << "client.id=e2e-test\nrequest.timeout.ms=notanumber\n";
  }
  EndToEndLatencyOptions o = Valid();
  o.bootstrap_server = cluster.bootstrap();
  o.command_config = path;
  std::ostringstream out, err;
  EXPECT_EQ(RunEndToEndLatency(o, out, err), 1);
  EXPECT_NE(err.str().find("request.timeout.ms"), std::string::npos) << err.str();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace strata::tools
