// Partition reassignment through the `strata` CLI on real processes
// (issue 12): the seed's session (acceptance 1) -- a topic created with
// --replica-assignment, --generate, --execute, --verify until complete, then
// a replication-factor change under a throttle, with every record still
// readable; bad input refused with a clear error and nothing changed
// (acceptance 5); --cancel of a move that cannot finish; and retiring a
// broker with `cluster unregister`.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

class ReassignPartitionsCliTest : public ::testing::Test {
 protected:
  ReassignPartitionsCliTest() : ReassignPartitionsCliTest({}) {}
  // With `extra` server properties after the fixture's own.
  explicit ReassignPartitionsCliTest(const std::vector<std::string>& extra)
      : cluster_(3, [&] {
          std::vector<std::string> props = {"group.initial.rebalance.delay.ms=0"};
          props.insert(props.end(), extra.begin(), extra.end());
          return props;
        }()) {}

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

  CliResult Reassign(std::vector<std::string> args) {
    args.insert(args.begin(), {"reassign-partitions", "--bootstrap-server", cluster_.bootstrap(1)});
    return cluster_.Cli(args);
  }
  CliResult Topics(std::vector<std::string> args) {
    args.insert(args.begin(), {"topics", "--bootstrap-server", cluster_.bootstrap(1)});
    return cluster_.Cli(args);
  }
  // `topics --describe --topic T`'s whole output.
  std::string DescribeText(const std::string& topic) {
    CliResult r = Topics({"--describe", "--topic", topic});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = cluster_.dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // A config as node 1 describes it ("" when not set; topic configs at
  // their default are "" too for the throttled-replica lists).
  std::string Config(v1::ConfigResourceType type, const std::string& name, const std::string& key) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::DescribeConfigsRequest req;
    v1::DescribeConfigsResource* r = req.add_resources();
    r->set_resource_type(type);
    r->set_resource_name(name);
    v1::DescribeConfigsResponse resp;
    if (!cluster_.admin(1)->DescribeConfigs(&ctx, req, &resp).ok() || resp.results_size() != 1) {
      return "<no answer>";
    }
    for (const v1::ConfigEntry& c : resp.results(0).configs()) {
      if (c.name() == key) return c.value();
    }
    return "";
  }

  // The size `strata log-dirs` reports for `partition` ("t-0") on
  // `broker`, in the one log dir each node has (-1: not listed, or the
  // command failed).
  int64_t LogDirSize(int broker, const std::string& partition) {
    CliResult r = cluster_.Cli({"log-dirs", "--bootstrap-server", cluster_.bootstrap(1),
                                "--describe", "--broker-list", std::to_string(broker)});
    const std::regex size("\\{\"partition\":\"" + partition + "\",\"size\":([0-9]+),");
    std::smatch m;
    if (r.exit_code != 0 || !std::regex_search(r.out, m, size)) return -1;
    return std::stoll(m[1]);
  }

  // Bytes of the partition's segment files on `node`'s disk.
  int64_t BytesOnDisk(int node, const std::string& topic, int partition) {
    std::error_code ec;
    int64_t total = 0;
    for (const auto& f :
         std::filesystem::directory_iterator(cluster_.partition_dir(node, topic, partition), ec)) {
      if (f.path().extension() == ".log") total += static_cast<int64_t>(f.file_size(ec));
    }
    return total;
  }

  // Runs --verify until no partition is in progress (bounded).
  CliResult VerifyUntilComplete(const std::string& file) {
    CliResult last;
    Eventually(
        [&] {
          last = Reassign({"--verify", "--reassignment-json-file", file});
          return last.exit_code == 0 && last.out.find("in progress") == std::string::npos;
        },
        60000);
    return last;
  }

  StrataCluster cluster_;
};

std::string Json(const std::vector<std::pair<int, std::vector<int>>>& partitions,
                 const std::string& topic) {
  std::string out = "{\"version\":1,\"partitions\":[";
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& [p, replicas] = partitions[i];
    std::string r, d;
    for (size_t j = 0; j < replicas.size(); ++j) {
      r += (j ? "," : "") + std::to_string(replicas[j]);
      d += j ? ",\"any\"" : "\"any\"";
    }
    out += (i ? "," : "") + ("{\"topic\":\"" + topic + "\",\"partition\":" + std::to_string(p) +
                             ",\"replicas\":[" + r + "],\"log_dirs\":[" + d + "]}");
  }
  return out + "]}";
}

TEST_F(ReassignPartitionsCliTest, TheSeedSession) {
  CliResult created = Topics({"--create", "--topic", "test-topic", "--replica-assignment", "2,3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "Created topic test-topic.\n");
  std::map<int, PartitionLine> parts = cluster_.Describe("test-topic", 1);
  ASSERT_EQ(parts.size(), 2u) << DescribeText("test-topic");
  EXPECT_EQ(parts[0].replicas, "2");
  EXPECT_EQ(parts[1].replicas, "3");

  // Keyed records, so that both partitions hold some.
  std::string input;
  std::vector<std::string> values;
  for (int i = 0; i < 200; ++i) {
    input += "key-" + std::to_string(i) + ":value-" + std::to_string(i) + "\n";
    values.push_back("value-" + std::to_string(i));
  }
  CliResult produced =
      cluster_.Cli({"console-producer", "--bootstrap-server", cluster_.bootstrap(2), "--topic",
                    "test-topic", "--property", "parse.key=true", "--property", "key.separator=:"},
                   input);
  ASSERT_EQ(produced.exit_code, 0) << produced.err;

  // --generate for brokers 1,2: the current assignment, then Kafka's spread.
  const std::string topics_file =
      WriteFile("topics-to-move.json", "{\"topics\":[{\"topic\":\"test-topic\"}],\"version\":1}");
  CliResult generated =
      Reassign({"--topics-to-move-json-file", topics_file, "--broker-list", "1,2", "--generate"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  const std::string current_json = Json({{0, {2}}, {1, {3}}}, "test-topic");
  static const std::regex kGenerated(
      "Current partition replica assignment\n(.*)\n\nProposed partition reassignment "
      "configuration\n(.*)\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(generated.out, m, kGenerated)) << generated.out;
  EXPECT_EQ(m[1], current_json);
  const std::string proposal = m[2];
  EXPECT_TRUE(proposal == Json({{0, {1}}, {1, {2}}}, "test-topic") ||
              proposal == Json({{0, {2}}, {1, {1}}}, "test-topic"))
      << proposal;

  // --execute the suggested change.
  const std::string change =
      WriteFile("suggested_change.json", Json({{0, {1}}, {1, {2}}}, "test-topic"));
  CliResult executed = Reassign({"--reassignment-json-file", change, "--execute"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;
  EXPECT_EQ(executed.out,
            "Current partition replica assignment\n\n" + current_json +
                "\n\nSave this to use as the --reassignment-json-file option during rollback\n"
                "Successfully started partition reassignments for test-topic-0,test-topic-1\n");

  CliResult verified = VerifyUntilComplete(change);
  EXPECT_EQ(verified.out,
            "Status of partition reassignment:\n"
            "Reassignment of partition test-topic-0 is complete.\n"
            "Reassignment of partition test-topic-1 is complete.\n"
            "\n"
            "Clearing broker-level throttles on brokers 1,2,3\n"
            "Clearing topic-level throttles on topic test-topic\n")
      << verified.err;
  ASSERT_TRUE(Eventually(
      [&] {
        parts = cluster_.Describe("test-topic", 1);
        return parts.size() == 2 && parts[0].replicas == "1" && parts[1].replicas == "2" &&
               parts[0].isr == std::vector<int>{1} && parts[1].isr == std::vector<int>{2};
      },
      30000))
      << DescribeText("test-topic");

  // Then to replication factor 2, throttled.
  const std::string grow = WriteFile("grow.json", Json({{0, {1, 2}}, {1, {2, 3}}}, "test-topic"));
  CliResult grown =
      Reassign({"--reassignment-json-file", grow, "--execute", "--throttle", "50000000"});
  ASSERT_EQ(grown.exit_code, 0) << grown.err;
  EXPECT_EQ(grown.out,
            "Current partition replica assignment\n\n" + Json({{0, {1}}, {1, {2}}}, "test-topic") +
                "\n\nSave this to use as the --reassignment-json-file option during rollback\n"
                "Warning: You must run --verify periodically, until the reassignment completes, "
                "to ensure the throttle is removed.\n"
                "The inter-broker throttle limit was set to 50000000 B/s\n"
                "Successfully started partition reassignments for test-topic-0,test-topic-1\n");
  // What --throttle set: the rate on every broker of the moves, the
  // existing replicas as leader-throttled, the added ones as follower-.
  EXPECT_EQ(Config(v1::CONFIG_RESOURCE_BROKER, "2", "leader.replication.throttled.rate"),
            "50000000");
  EXPECT_EQ(Config(v1::CONFIG_RESOURCE_BROKER, "3", "follower.replication.throttled.rate"),
            "50000000");
  EXPECT_EQ(
      Config(v1::CONFIG_RESOURCE_TOPIC, "test-topic", "leader.replication.throttled.replicas"),
      "0:1,1:2");
  EXPECT_EQ(
      Config(v1::CONFIG_RESOURCE_TOPIC, "test-topic", "follower.replication.throttled.replicas"),
      "0:2,1:3");
  verified = VerifyUntilComplete(grow);
  EXPECT_EQ(verified.out,
            "Status of partition reassignment:\n"
            "Reassignment of partition test-topic-0 is complete.\n"
            "Reassignment of partition test-topic-1 is complete.\n"
            "\n"
            "Clearing broker-level throttles on brokers 1,2,3\n"
            "Clearing topic-level throttles on topic test-topic\n")
      << verified.err;
  // ...and --verify cleared them all.
  EXPECT_EQ(Config(v1::CONFIG_RESOURCE_BROKER, "2", "leader.replication.throttled.rate"), "");
  EXPECT_EQ(Config(v1::CONFIG_RESOURCE_BROKER, "3", "follower.replication.throttled.rate"), "");
  EXPECT_EQ(
      Config(v1::CONFIG_RESOURCE_TOPIC, "test-topic", "leader.replication.throttled.replicas"), "");
  EXPECT_EQ(
      Config(v1::CONFIG_RESOURCE_TOPIC, "test-topic", "follower.replication.throttled.replicas"),
      "");
  ASSERT_TRUE(Eventually(
      [&] {
        parts = cluster_.Describe("test-topic", 1);
        auto full = [](const PartitionLine& p, std::vector<int> want) {
          std::vector<int> isr = p.isr;
          std::sort(isr.begin(), isr.end());
          return isr == want;
        };
        return parts.size() == 2 && parts[0].replicas == "1,2" && parts[1].replicas == "2,3" &&
               full(parts[0], {1, 2}) && full(parts[1], {2, 3});
      },
      30000))
      << DescribeText("test-topic");
  const std::string described = DescribeText("test-topic");
  EXPECT_NE(described.find("\tPartitionCount: 2\tReplicationFactor: 2\t"), std::string::npos)
      << described;
  EXPECT_EQ(described.find("Adding Replicas"), std::string::npos) << described;

  CliResult listed = Reassign({"--list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "No partition reassignments found.\n");

  // Every record produced before the moves is still there.
  CliResult consumed = cluster_.Cli(
      {"console-consumer", "--bootstrap-server", cluster_.bootstrap(3), "--topic", "test-topic",
       "--from-beginning", "--max-messages", "200", "--timeout-ms", "30000"});
  std::vector<std::string> got = NonEmptyLines(consumed.out);
  std::sort(got.begin(), got.end());
  std::sort(values.begin(), values.end());
  EXPECT_EQ(got, values) << consumed.err;
}

TEST_F(ReassignPartitionsCliTest, BadInputIsRefusedAndChangesNothing) {
  CliResult created = Topics({"--create", "--topic", "t", "--replica-assignment", "1:2,2:3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string before;
  ASSERT_TRUE(Eventually(
      [&] {
        before = DescribeText("t");
        return before.find("\tReplicationFactor: 2\t") != std::string::npos &&
               cluster_.Describe("t", 1).size() == 2;
      },
      30000))
      << before;

  struct Case {
    std::string name;
    std::string json;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"missing broker", Json({{0, {1, 9}}}, "t"), "Error: Unknown broker id 9"},
      {"missing topic", Json({{0, {1}}}, "nope"), "Error: Topic nope not found."},
      {"missing partition", Json({{5, {1}}}, "t"), "Error: Unable to find partition: t-5"},
      {"duplicate replicas", Json({{0, {1, 2, 1}}}, "t"),
       "Error: Partition replica lists may not contain duplicate entries: t-0 contains multiple "
       "entries for 1"},
      {"duplicate partition", Json({{0, {1}}, {0, {2}}}, "t"),
       "Error: Partition reassignment contains duplicate topic partitions: t-0"},
      {"empty replicas", Json({{0, {}}}, "t"),
       "Error: Partition replica list cannot be empty: t-0"},
      {"empty list", "{\"version\":1,\"partitions\":[]}",
       "Error: Partition reassignment list cannot be empty"},
      {"version 2",
       "{\"version\":2,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[3]}]}",
       "Error: Not supported version field value 2"},
      {"invalid JSON", "{\"version\":1,\"partitions\":[{\"topic\":\"t\",",
       "Error: The input string is not a valid JSON: parse error at line 1, column "},
  };
  for (const Case& c : cases) {
    const std::string file = WriteFile("bad.json", c.json);
    for (const char* action : {"--execute", "--verify", "--cancel"}) {
      if (c.error.starts_with("Error: Unknown") || c.error.starts_with("Error: Topic nope") ||
          c.error.starts_with("Error: Unable")) {
        if (std::string(action) != "--execute") continue;  // cluster checks are --execute's
      }
      std::vector<std::string> args = {"--reassignment-json-file", file, action};
      if (std::string(action) == "--execute") args.insert(args.end(), {"--throttle", "1000"});
      CliResult r = Reassign(args);
      EXPECT_EQ(r.exit_code, 1) << c.name << " " << action;
      EXPECT_TRUE(r.err.starts_with(c.error)) << c.name << " " << action << ": " << r.err;
      EXPECT_EQ(r.out, "") << c.name << " " << action;
    }
  }
  CliResult missing_file = Reassign({"--reassignment-json-file", "/nonexistent.json", "--execute"});
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_NE(missing_file.err.find("/nonexistent.json"), std::string::npos) << missing_file.err;
  CliResult zk = cluster_.Cli({"reassign-partitions", "--zookeeper", "localhost:2181",
                               "--reassignment-json-file", "x.json", "--execute"});
  EXPECT_EQ(zk.exit_code, 1);
  EXPECT_NE(zk.err.find("--bootstrap-server"), std::string::npos) << zk.err;

  EXPECT_EQ(DescribeText("t"), before);
  CliResult listed = Reassign({"--list"});
  EXPECT_EQ(listed.out, "No partition reassignments found.\n") << listed.err;

  // --replica-assignment's own bad input.
  CliResult twice = Topics({"--create", "--topic", "u", "--replica-assignment", "1:1"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_EQ(twice.err,
            "Error while executing topic command : Partition replica lists may not contain "
            "duplicate entries: 1\n");
  CliResult with_partitions =
      Topics({"--create", "--topic", "u", "--replica-assignment", "1", "--partitions", "1"});
  EXPECT_EQ(with_partitions.exit_code, 1);
  EXPECT_EQ(with_partitions.err,
            "Option \"[replica-assignment]\" can't be used with option \"[partitions]\"\n");
  CliResult list_topics = Topics({"--list"});
  EXPECT_EQ(list_topics.out.find("u\n"), std::string::npos) << list_topics.out;
}

TEST_F(ReassignPartitionsCliTest, CancelStopsAMoveThatCannotFinish) {
  CliResult created = Topics({"--create", "--topic", "c", "--replica-assignment", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CliResult produced = cluster_.Cli(
      {"console-producer", "--bootstrap-server", cluster_.bootstrap(1), "--topic", "c"},
      "one\ntwo\nthree\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  // Broker 3 stops: a move onto it stays under way.
  cluster_.Terminate(3);
  const std::string file = WriteFile("c.json", Json({{0, {1, 3}}}, "c"));
  CliResult executed = Reassign({"--reassignment-json-file", file, "--execute"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;
  EXPECT_NE(executed.out.find("Successfully started partition reassignment for c-0\n"),
            std::string::npos)
      << executed.out;

  CliResult listed = Reassign({"--list"});
  EXPECT_EQ(listed.out, "Current partition reassignments:\nc-0: replicas: 1,3. adding: 3.\n")
      << listed.err;
  CliResult verified = Reassign({"--verify", "--reassignment-json-file", file});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // Kafka's line, then Strata's: broker 3 (stopped) cannot say how much it
  // holds, which the line says instead of failing the command.
  EXPECT_TRUE(
      verified.out.starts_with("Status of partition reassignment:\n"
                               "Reassignment of partition c-0 is still in progress.\n"
                               "  c-0: bytes copied unknown ("))
      << verified.out << verified.err;
  EXPECT_NE(verified.out.find("broker 3"), std::string::npos) << verified.out;
  EXPECT_TRUE(verified.out.ends_with(")\n\n")) << verified.out;
  const std::string moving = DescribeText("c");
  EXPECT_NE(moving.find("\tReplicas: 1,3\tIsr: 1\tAdding Replicas: 3\tRemoving Replicas: \n"),
            std::string::npos)
      << moving;
  EXPECT_NE(moving.find("\tReplicationFactor: 1\t"), std::string::npos) << moving;

  // Another --execute needs --additional.
  CliResult again = Reassign({"--reassignment-json-file", file, "--execute"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err,
            "Cannot execute because there is an existing partition assignment.  Use --additional "
            "to override this and create a new partition assignment in addition to the existing "
            "one. The --additional flag can also be used to change the throttle by resubmitting "
            "the current reassignment.\n");

  CliResult cancelled = Reassign({"--reassignment-json-file", file, "--cancel"});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(cancelled.out,
            "Successfully cancelled partition reassignment for: c-0\n"
            "None of the specified partition moves are active.\n"
            "Clearing broker-level throttles on brokers 1,2,3\n"
            "Clearing topic-level throttles on topic c\n");
  std::map<int, PartitionLine> parts;
  EXPECT_TRUE(Eventually(
      [&] {
        parts = cluster_.Describe("c", 1);
        return parts.size() == 1 && parts[0].replicas == "1";
      },
      30000))
      << DescribeText("c");
  listed = Reassign({"--list"});
  EXPECT_EQ(listed.out, "No partition reassignments found.\n") << listed.err;
  cancelled = Reassign({"--reassignment-json-file", file, "--cancel", "--preserve-throttles"});
  EXPECT_EQ(cancelled.out,
            "None of the specified partition reassignments are active.\n"
            "None of the specified partition moves are active.\n");
}

// A throttled move's progress in bytes (Strata's line after Kafka's
// in-progress line in --verify), from the log sizes the brokers report
// (DescribeLogDirs); then `log-dirs` shows every replica the same size.
TEST_F(ReassignPartitionsCliTest, VerifyShowsTheBytesAThrottledMoveHasCopied) {
  CliResult created = Topics({"--create", "--topic", "big", "--replica-assignment", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // About 8 MB on broker 1.
  CliResult perf = cluster_.Cli({"producer-perf-test", "--topic", "big", "--num-records", "8000",
                                 "--throughput", "-1", "--record-size", "1000", "--producer-props",
                                 "bootstrap.servers=" + cluster_.bootstrap(1), "acks=all"});
  ASSERT_EQ(perf.exit_code, 0) << perf.out << perf.err;
  const int64_t leader_size = LogDirSize(1, "big-0");
  ASSERT_GE(leader_size, 8'000'000);
  EXPECT_EQ(leader_size, BytesOnDisk(1, "big", 0)) << "log-dirs reports the segments' bytes";

  // Onto brokers 2 and 3 too, at 1 MB/s: broker 1's leader throttle holds
  // both copies, 16 MB, for about 16 s.
  const std::string file = WriteFile("big.json", Json({{0, {1, 2, 3}}}, "big"));
  CliResult executed =
      Reassign({"--reassignment-json-file", file, "--execute", "--throttle", "1000000"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;

  static const std::regex kProgress(
      "Reassignment of partition big-0 is still in progress\\.\n"
      "  big-0: ([0-9]+) of ([0-9]+) bytes copied \\(([0-9]+)\\.([0-9])%\\) to broker\\(s\\) "
      "2,3\n");
  int in_progress = 0;
  int64_t last_copied = -1;
  std::string first, midway, latest;  // progress lines; midway: some but not all copied
  int64_t midway_lag = -1;            // broker 2's offsetLag then
  CliResult last;
  const bool completed = Eventually(
      [&] {
        last = Reassign({"--verify", "--reassignment-json-file", file});
        if (last.exit_code != 0) return false;
        if (last.out.find("Reassignment of partition big-0 is complete.") != std::string::npos) {
          return true;
        }
        std::smatch m;
        if (!std::regex_search(last.out, m, kProgress)) {
          ADD_FAILURE() << "no progress line:\n" << last.out << last.err;
          return false;
        }
        ++in_progress;
        const int64_t copied = std::stoll(m[1]);
        const int64_t total = std::stoll(m[2]);
        EXPECT_EQ(total, 2 * leader_size) << "the leader's size times the two replicas added";
        EXPECT_GE(copied, 0);
        EXPECT_LE(copied, total);
        EXPECT_GE(copied, last_copied) << "copies only grow";
        EXPECT_EQ(std::stoll(m[3]) * 10 + std::stoll(m[4]), copied * 1000 / total)
            << "tenths of a percent, rounded down";
        if (first.empty()) first = m[0];
        latest = m[0];
        if (copied > 0 && copied < total && midway.empty()) midway = m[0];
        if (copied > 0 && copied < total && midway_lag < 0) {
          // A copy partly done: log-dirs shows how many offsets it lags
          // the leader's high watermark (8000 records in all).
          CliResult dirs = cluster_.Cli({"log-dirs", "--bootstrap-server", cluster_.bootstrap(1),
                                         "--describe", "--broker-list", "2"});
          static const std::regex kCopy(
              "\"partition\":\"big-0\",\"size\":([0-9]+),\"offsetLag\":([0-9]+)");
          std::smatch c;
          if (std::regex_search(dirs.out, c, kCopy) && std::stoll(c[1]) > 0 &&
              std::stoll(c[1]) < leader_size) {
            midway_lag = std::stoll(c[2]);
          }
        }
        last_copied = copied;
        return false;
      },
      120'000);
  ASSERT_TRUE(completed) << "the move did not finish in 120 s; last --verify:\n"
                         << last.out << last.err;
  std::printf(
      "--verify saw the move in progress %d times; first, midway, last:\n%s%s%s"
      "broker 2's offsetLag midway: %lld\n",
      in_progress, first.c_str(), midway.c_str(), latest.c_str(),
      static_cast<long long>(midway_lag));
  EXPECT_GE(in_progress, 2) << "the throttle did not hold the move back";
  EXPECT_FALSE(midway.empty()) << "never saw a copy partly done";
  EXPECT_GT(midway_lag, 0) << "a copy behind shows its lag";
  EXPECT_LE(midway_lag, 8000);
  EXPECT_EQ(last.out,
            "Status of partition reassignment:\n"
            "Reassignment of partition big-0 is complete.\n"
            "\n"
            "Clearing broker-level throttles on brokers 1,2,3\n"
            "Clearing topic-level throttles on topic big\n");

  // Every replica the leader's size, as `log-dirs` reports them.
  ASSERT_TRUE(Eventually(
      [&] {
        return LogDirSize(2, "big-0") == leader_size && LogDirSize(3, "big-0") == leader_size;
      },
      30'000))
      << "sizes: " << LogDirSize(1, "big-0") << " " << LogDirSize(2, "big-0") << " "
      << LogDirSize(3, "big-0");
  EXPECT_EQ(LogDirSize(1, "big-0"), leader_size);
  CliResult described = cluster_.Cli({"log-dirs", "--bootstrap-server", cluster_.bootstrap(2),
                                      "--describe", "--topic-list", "big"});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  // Each object's keys in the order of the java.util.HashMap Kafka's tool
  // builds it as (their String.hashCode buckets).
  std::string expected_json = "{\"brokers\":[";
  for (int b = 1; b <= 3; ++b) {
    expected_json +=
        (b > 1 ? "," : "") + ("{\"broker\":" + std::to_string(b) +
                              ",\"logDirs\":[{\"partitions\":[{\"partition\":\"big-0\",\"size\":" +
                              std::to_string(leader_size) +
                              ",\"offsetLag\":0,\"isFuture\":false}],\"error\":null,\"logDir\":\"" +
                              cluster_.dir() + "/node" + std::to_string(b) + "/logs\"}]}");
  }
  EXPECT_EQ(described.out,
            "Querying brokers for log directories information\n"
            "Received log directory information from brokers 1,2,3\n" +
                expected_json + "],\"version\":1}\n");
  std::printf("%s", described.out.c_str());
  CliResult unknown = cluster_.Cli({"log-dirs", "--bootstrap-server", cluster_.bootstrap(1),
                                    "--describe", "--broker-list", "1,9"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "ERROR: The given brokers do not exist from --broker-list: 9. Current existent "
            "brokers: 1,2,3\n");
}

// Brokers stay unfenced for a minute after they stop heartbeating: a
// broker killed mid-move is, for a while, one the cluster still lists as
// running.
class ReassignPartitionsSlowFencingTest : public ReassignPartitionsCliTest {
 protected:
  ReassignPartitionsSlowFencingTest()
      : ReassignPartitionsCliTest({"broker.session.timeout.ms=60000"}) {}

  // Whether node 1 lists broker `id` as fenced (nullopt: no answer, or no
  // such broker).
  std::optional<bool> Fenced(int id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::DescribeClusterRequest req;
    v1::DescribeClusterResponse resp;
    if (!cluster_.admin(1)->DescribeCluster(&ctx, req, &resp).ok()) return std::nullopt;
    for (const v1::BrokerDescription& b : resp.brokers()) {
      if (b.id() == id) return b.fenced();
    }
    return std::nullopt;
  }
};

// An adding broker SIGKILLed during a throttled move, before it is fenced:
// --verify does not wait request.timeout.ms (30 s) for it, but says on the
// partition's line that it could not be asked, within a few seconds.
TEST_F(ReassignPartitionsSlowFencingTest, VerifyDoesNotWaitForAKilledAddingBroker) {
  CliResult created = Topics({"--create", "--topic", "big", "--replica-assignment", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // About 3 MB on broker 1.
  CliResult perf = cluster_.Cli({"producer-perf-test", "--topic", "big", "--num-records", "3000",
                                 "--throughput", "-1", "--record-size", "1000", "--producer-props",
                                 "bootstrap.servers=" + cluster_.bootstrap(1), "acks=all"});
  ASSERT_EQ(perf.exit_code, 0) << perf.out << perf.err;

  // Onto brokers 2 and 3 at 200 kB/s: about 30 s for both copies.
  const std::string file = WriteFile("big.json", Json({{0, {1, 2, 3}}}, "big"));
  CliResult executed =
      Reassign({"--reassignment-json-file", file, "--execute", "--throttle", "200000"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;
  // Broker 3 has begun its copy (bounded), then dies.
  ASSERT_TRUE(Eventually([&] { return LogDirSize(3, "big-0") > 0; }, 30'000))
      << "broker 3 never began copying";
  cluster_.Kill(3);
  ASSERT_EQ(Fenced(3), std::optional<bool>(false)) << "fenced already: nothing to show";

  const auto start = std::chrono::steady_clock::now();
  CliResult verified = Reassign({"--verify", "--reassignment-json-file", file});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_LT(took, std::chrono::seconds(10))
      << "--verify took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms";
  EXPECT_TRUE(
      verified.out.starts_with("Status of partition reassignment:\n"
                               "Reassignment of partition big-0 is still in progress.\n"
                               "  big-0: bytes copied unknown (broker 3: "))
      << verified.out << verified.err;
  EXPECT_TRUE(verified.out.ends_with(")\n\n")) << verified.out;
  std::printf(
      "--verify with broker 3 killed, in %lld ms:\n%s",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      verified.out.c_str());
  // Still unfenced afterwards: the answer did not come from the fenced
  // broker's single try.
  EXPECT_EQ(Fenced(3), std::optional<bool>(false));
}

TEST_F(ReassignPartitionsCliTest, UnregisterRetiresOnlyABrokerWithoutReplicas) {
  CliResult created = Topics({"--create", "--topic", "r", "--replica-assignment", "1:2,2:3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  cluster_.Terminate(3);
  auto unregister = [&](int id) {
    return cluster_.Cli({"cluster", "unregister", "--bootstrap-server", cluster_.bootstrap(1),
                         "--id", std::to_string(id)});
  };
  // Broker 3 still holds a replica of r-1: refused, naming it.
  CliResult refused = unregister(3);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(refused.err.starts_with("Error: ")) << refused.err;
  EXPECT_NE(refused.err.find("r-1"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out, "");

  // Moved off it, it can go.
  const std::string file = WriteFile("r.json", Json({{1, {2, 1}}}, "r"));
  CliResult executed = Reassign({"--reassignment-json-file", file, "--execute"});
  ASSERT_EQ(executed.exit_code, 0) << executed.err;
  CliResult verified = VerifyUntilComplete(file);
  ASSERT_NE(verified.out.find("Reassignment of partition r-1 is complete."), std::string::npos)
      << verified.out << verified.err;
  CliResult done = unregister(3);
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(done.out, "Broker 3 is no longer registered.\n");
  CliResult twice = unregister(3);
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_TRUE(twice.err.starts_with("Error: ")) << twice.err;
}

}  // namespace
}  // namespace strata::testing
