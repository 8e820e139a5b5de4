// `strata reassign-partitions`: options, the JSON files, --generate's
// proposal, the throttle lists and the printed lines, without a cluster.
#include "tools/reassign_partitions.h"

#include <limits>

#include "client/errors.h"
#include "gtest/gtest.h"

namespace strata::tools {
namespace {

TopicPartition TP(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

std::string ErrorOf(std::string_view json) {
  absl::StatusOr<std::vector<PartitionTarget>> parsed = ParseReassignmentJson(json);
  if (!parsed.ok()) return std::string(parsed.status().message());
  absl::StatusOr<Assignment> checked = CheckReassignmentTargets(*parsed);
  return checked.ok() ? "" : std::string(checked.status().message());
}

// ---- Options

ReassignOptions Verify() {
  ReassignOptions o;
  o.bootstrap_server = "localhost:9092";
  o.verify = true;
  o.reassignment_json_file = "f.json";
  return o;
}

TEST(ReassignOptionsTest, ExactlyOneActionWithItsArguments) {
  EXPECT_TRUE(ValidateReassignOptions(Verify()).ok());
  ReassignOptions two = Verify();
  two.execute = true;
  EXPECT_EQ(ValidateReassignOptions(two).message(),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, "
            "--list");
  ReassignOptions no_file = Verify();
  no_file.reassignment_json_file.reset();
  EXPECT_EQ(ValidateReassignOptions(no_file).message(),
            "Missing required argument \"[reassignment-json-file]\"");
  ReassignOptions generate;
  generate.bootstrap_server = "h:1";
  generate.generate = true;
  generate.topics_to_move_json_file = "t.json";
  EXPECT_EQ(ValidateReassignOptions(generate).message(),
            "Missing required argument \"[broker-list]\"");
  generate.broker_list = "1,2";
  EXPECT_TRUE(ValidateReassignOptions(generate).ok());
  ReassignOptions no_server = Verify();
  no_server.bootstrap_server.reset();
  EXPECT_EQ(ValidateReassignOptions(no_server).message(),
            "Missing required argument \"[bootstrap-server]\"");
}

TEST(ReassignOptionsTest, ArgumentsTheActionDoesNotTakeAreRefused) {
  ReassignOptions throttled = Verify();
  throttled.throttle = 1000;
  EXPECT_EQ(ValidateReassignOptions(throttled).message(),
            "Option \"[throttle]\" can't be used with action \"[verify]\"");
  ReassignOptions list;
  list.bootstrap_server = "h:1";
  list.list = true;
  EXPECT_TRUE(ValidateReassignOptions(list).ok());
  list.preserve_throttles = true;
  EXPECT_EQ(ValidateReassignOptions(list).message(),
            "Option \"[preserve-throttles]\" can't be used with action \"[list]\"");
  ReassignOptions execute = Verify();
  execute.verify = false;
  execute.execute = true;
  execute.throttle = 50000;
  execute.additional = true;
  EXPECT_TRUE(ValidateReassignOptions(execute).ok());
  execute.preserve_throttles = true;
  EXPECT_EQ(ValidateReassignOptions(execute).message(),
            "Option \"[preserve-throttles]\" can't be used with action \"[execute]\"");
}

TEST(ReassignOptionsTest, ZookeeperPointsAtBootstrapServer) {
  ReassignOptions zk = Verify();
  zk.zookeeper = "localhost:2181";
  const std::string message(ValidateReassignOptions(zk).message());
  EXPECT_NE(message.find("--zookeeper is not supported"), std::string::npos) << message;
  EXPECT_NE(message.find("--bootstrap-server"), std::string::npos) << message;
}

// ---- The reassignment JSON

TEST(ReassignmentJsonTest, ParsesKafkasFormat) {
  absl::StatusOr<std::vector<PartitionTarget>> parsed = ParseReassignmentJson(
      R"({"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[2,1],)"
      R"("log_dirs":["any","any"]},{"topic":"t","partition":0,"replicas":[1]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].partition, TP("t", 1));
  EXPECT_EQ((*parsed)[0].replicas, (std::vector<int32_t>{2, 1}));
  EXPECT_EQ((*parsed)[1].log_dirs, (std::vector<std::string>{"any"}));
  absl::StatusOr<Assignment> checked = CheckReassignmentTargets(*parsed);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(*checked, (Assignment{{TP("t", 0), {1}}, {TP("t", 1), {2, 1}}}));
  // The version defaults to 1, as in Kafka.
  EXPECT_EQ(ErrorOf(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1]}]})"), "");
}

TEST(ReassignmentJsonTest, BadInputIsNamed) {
  EXPECT_EQ(ErrorOf(R"({"version":2,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]})"),
            "Not supported version field value 2");
  EXPECT_EQ(ErrorOf(R"({"version":"1","partitions":[]})"),
            "The \"version\" field must be an integer, not \"1\"");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[]})"),
            "Partition reassignment list cannot be empty");
  EXPECT_EQ(ErrorOf(R"({"version":1})"), "Partition reassignment list cannot be empty");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[]}]})"),
            "Partition replica list cannot be empty: t-0");
  EXPECT_EQ(
      ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,1]},)"
              R"({"topic":"t","partition":1,"replicas":[3,3]}]})"),
      "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries "
      "for 1. t-1 contains multiple entries for 3");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]},)"
                    R"({"topic":"t","partition":0,"replicas":[2]}]})"),
            "Partition reassignment contains duplicate topic partitions: t-0");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","replicas":[1]}]})"),
            "Entry 0 of \"partitions\" has no \"partition\" field");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":"1"}]})"),
            "Partition t-0: \"replicas\" must be a list of broker ids, not \"1\"");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0.5,"replicas":[1]}]})"),
            "Entry 0 of \"partitions\": \"partition\" must be an integer, not 0.5");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],)"
                    R"("log_dirs":["any"]}]})"),
            "Size of replicas list [1, 2] is different from size of log dirs list [any] for "
            "partition t-0");
  EXPECT_EQ(ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1],)"
                    R"("log_dirs":["/data/a"]}]})"),
            "Partition t-0 names log dir \"/data/a\" for broker 1: Strata does not move replicas "
            "between log directories, so every log dir must be \"any\"");
  EXPECT_EQ(ErrorOf("[1,2]"),
            "The reassignment JSON must be an object like {\"version\":1,\"partitions\":[...]}, "
            "not [1,2]");
  const std::string invalid = ErrorOf(R"({"version":1,"partitions":[)");
  EXPECT_TRUE(invalid.starts_with("The input string is not a valid JSON: parse error at line 1"))
      << invalid;
  // A number too large for a double, and nesting deep enough to overflow a
  // recursive printer: errors, not crashes.
  const std::string huge =
      ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":1e999,"replicas":[1]}]})");
  EXPECT_TRUE(huge.starts_with("The input string is not a valid JSON: ")) << huge;
  EXPECT_NE(huge.find("1e999"), std::string::npos) << huge;
  const std::string deep = ErrorOf(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(deep, "The input string is not a valid JSON: JSON nested deeper than 16 levels");
  EXPECT_EQ(
      ErrorOf(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[[[1]]]}]})"),
      "Partition t-0: \"replicas\" must be a list of broker ids, not [[[1]]]");
}

TEST(TopicsToMoveJsonTest, ParsesAndRefusesDuplicates) {
  EXPECT_EQ(*ParseTopicsToMoveJson(R"({"topics":[{"topic":"a"},{"topic":"b"}],"version":1})"),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ParseTopicsToMoveJson(R"({"topics":[{"topic":"a"},{"topic":"a"}],"version":1})")
                .status()
                .message(),
            "List of topics to reassign contains duplicate entries: [a]");
  EXPECT_EQ(ParseTopicsToMoveJson(R"({"topics":[{"topic":"a"}],"version":3})").status().message(),
            "Not supported version field value 3");
  EXPECT_EQ(ParseTopicsToMoveJson(R"({"topics":["a"],"version":1})").status().message(),
            "Entry 0 of \"topics\" must be an object with a \"topic\" string, not \"a\"");
  EXPECT_FALSE(ParseTopicsToMoveJson("{topics}").ok());
}

TEST(BrokerListTest, ParsesAndRefusesDuplicatesAndJunk) {
  EXPECT_EQ(*ParseBrokerList("1,2"), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(ParseBrokerList("1,2,1").status().message(),
            "Broker list contains duplicate entries: [1]");
  EXPECT_EQ(ParseBrokerList("1,x").status().message(),
            "Invalid --broker-list \"1,x\": \"x\" is not a broker id");
}

TEST(ReassignmentJsonTest, PrintsCompactJsonSortedByPartition) {
  Assignment a = {{TP("t", 1), {2}}, {TP("t", 0), {1, 2}}, {TP("a", 0), {3}}};
  EXPECT_EQ(FormatReassignmentJson(a),
            R"({"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[3],)"
            R"("log_dirs":["any"]},{"topic":"t","partition":0,"replicas":[1,2],)"
            R"("log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2],)"
            R"("log_dirs":["any"]}]})");
  EXPECT_EQ(FormatReassignmentJson({}), R"({"version":1,"partitions":[]})");
  // What it prints, it reads back.
  EXPECT_EQ(*CheckReassignmentTargets(*ParseReassignmentJson(FormatReassignmentJson(a))), a);
}

// ---- Against the cluster

v1::DescribeTopicsResponse OneTopic(const std::string& name, const Assignment& partitions) {
  v1::DescribeTopicsResponse r;
  v1::TopicDescription* t = r.add_topics();
  t->set_name(name);
  for (const auto& [tp, replicas] : partitions) {
    v1::PartitionDescription* p = t->add_partitions();
    p->set_partition(tp.partition.value());
    for (int32_t b : replicas) p->add_replicas(b);
  }
  return r;
}

v1::DescribeClusterResponse Brokers(std::vector<int32_t> ids) {
  v1::DescribeClusterResponse c;
  for (int32_t id : ids) c.add_brokers()->set_id(id);
  return c;
}

TEST(CheckAgainstClusterTest, MissingBrokersTopicsAndPartitionsAreRefused) {
  const Assignment now = {{TP("t", 0), {2}}, {TP("t", 1), {3}}};
  const v1::DescribeTopicsResponse topics = OneTopic("t", now);
  const v1::DescribeClusterResponse cluster = Brokers({1, 2, 3});
  EXPECT_EQ(*CheckAgainstCluster({{TP("t", 0), {1}}, {TP("t", 1), {2}}}, topics, cluster), now);
  EXPECT_EQ(CheckAgainstCluster({{TP("t", 0), {1, 9}}}, topics, cluster).status().message(),
            "Unknown broker id 9");
  EXPECT_EQ(CheckAgainstCluster({{TP("u", 0), {1}}}, topics, cluster).status().message(),
            "Topic u not found.");
  EXPECT_EQ(CheckAgainstCluster({{TP("t", 5), {1}}, {TP("t", 7), {1}}}, topics, cluster)
                .status()
                .message(),
            "Unable to find partition: t-5, t-7");
  v1::DescribeTopicsResponse unknown;
  unknown.add_topics()->set_name("u");
  unknown.mutable_topics(0)->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(CheckAgainstCluster({{TP("u", 0), {1}}}, unknown, cluster).status().message(),
            "Topic u not found.");
}

// ---- --generate

TEST(ProposeAssignmentTest, SpreadsEachTopicAsKafkasAssignmentDoes) {
  // test-topic created with --replica-assignment 2,3; --broker-list "1,2".
  const Assignment current = {{TP("test-topic", 0), {2}}, {TP("test-topic", 1), {3}}};
  std::vector<int32_t> draws;
  auto fixed = [&](int32_t n) {
    draws.push_back(n);
    return 0;
  };
  absl::StatusOr<Assignment> proposed = ProposeAssignment(current, {1, 2}, fixed);
  ASSERT_TRUE(proposed.ok()) << proposed.status();
  EXPECT_EQ(*proposed, (Assignment{{TP("test-topic", 0), {1}}, {TP("test-topic", 1), {2}}}));
  EXPECT_EQ(draws, (std::vector<int32_t>{2, 2}));  // start index, then shift, below 2

  // RF 2 over three brokers, start index 1, shift 0.
  const Assignment three = {{TP("a", 0), {1, 2}}, {TP("a", 1), {2, 3}}, {TP("a", 2), {3, 1}}};
  std::vector<int32_t> script = {1, 0};
  size_t next = 0;
  absl::StatusOr<Assignment> a =
      ProposeAssignment(three, {1, 2, 3}, [&](int32_t) { return script[next++]; });
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (Assignment{{TP("a", 0), {2, 3}}, {TP("a", 1), {3, 1}}, {TP("a", 2), {1, 2}}}));
}

TEST(ProposeAssignmentTest, TooFewBrokersForTheReplicationFactor) {
  const Assignment current = {{TP("t", 0), {1, 2, 3}}};
  EXPECT_EQ(ProposeAssignment(current, {1, 2}, [](int32_t) { return 0; }).status().message(),
            "Replication factor: 3 larger than available brokers: 2.");
}

// ---- Throttles

TEST(ThrottleTest, LeadersAreSourcesAndFollowersTheAddedReplicas) {
  const Assignment current = {{TP("t", 0), {2}}, {TP("t", 1), {3}}};
  const Assignment proposed = {{TP("t", 0), {1, 2}}, {TP("t", 1), {2, 3}}};
  const MoveMap moves =
      CalculateProposedMoves(v1::ListPartitionReassignmentsResponse(), proposed, current);
  EXPECT_EQ(CalculateLeaderThrottles(moves),
            (std::map<std::string, std::string>{{"t", "0:2,1:3"}}));
  EXPECT_EQ(CalculateFollowerThrottles(moves),
            (std::map<std::string, std::string>{{"t", "0:1,1:2"}}));
  EXPECT_EQ(CalculateReassigningBrokers(moves), (std::set<int32_t>{1, 2, 3}));
}

TEST(ThrottleTest, AMoveUnderWayKeepsItsSourcesAndOthersStayThrottled) {
  v1::ListPartitionReassignmentsResponse ongoing;
  v1::OngoingTopicReassignment* t = ongoing.add_topics();
  t->set_name("u");
  v1::OngoingPartitionReassignment* p = t->add_partitions();
  p->set_partition(10);
  for (int32_t r : {4, 5, 6}) p->add_replicas(r);
  p->add_adding_replicas(6);
  p->add_removing_replicas(4);
  const Assignment current = {{TP("u", 10), {4, 5, 6}}, {TP("v", 0), {1}}};
  const Assignment proposed = {{TP("u", 10), {5, 7}}, {TP("v", 0), {2}}};
  const MoveMap moves = CalculateProposedMoves(ongoing, proposed, current);
  // Kafka sorts the entries as text: "10:4" before "10:5".
  EXPECT_EQ(CalculateLeaderThrottles(moves),
            (std::map<std::string, std::string>{{"u", "10:4,10:5"}, {"v", "0:1"}}));
  EXPECT_EQ(CalculateFollowerThrottles(moves),
            (std::map<std::string, std::string>{{"u", "10:7"}, {"v", "0:2"}}));
  EXPECT_EQ(CalculateReassigningBrokers(moves), (std::set<int32_t>{1, 2, 4, 5, 7}));
}

// ---- Reports

TEST(ReassignReportTest, VerifyLines) {
  std::map<TopicPartition, PartitionReassignmentState> states;
  states[TP("t", 1)] = {{2, 3, 1}, {1}, false, std::nullopt};
  states[TP("t", 0)] = {{1}, {1}, true, std::nullopt};
  states[TP("t", 2)] = {{3}, {1}, true, std::nullopt};
  EXPECT_EQ(FormatReassignmentStates(states),
            (std::vector<std::string>{
                "Status of partition reassignment:",
                "Reassignment of partition t-0 is complete.",
                "Reassignment of partition t-1 is still in progress.",
                "There is no active reassignment of partition t-2, but replica set is 3 rather "
                "than 1.",
            }));
}

// --verify's progress line (Strata's, after Kafka's in-progress line): the
// leader's size times the brokers being added, against what they hold.
ReassignmentProgress Progress(int32_t leader, std::vector<int32_t> adding,
                              std::map<int32_t, int64_t> sizes) {
  ReassignmentProgress p;
  p.leader = leader;
  p.adding = std::move(adding);
  p.sizes = std::move(sizes);
  return p;
}

TEST(ReassignProgressTest, CopiedIsWhatTheNewReplicasHoldOfTheLeadersSize) {
  absl::StatusOr<CopiedBytes> one =
      CalculateCopiedBytes(Progress(1, {4}, {{1, 41943040}, {4, 12582912}}));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->copied, 12582912);
  EXPECT_EQ(one->total, 41943040);
  EXPECT_EQ(
      FormatReassignmentProgress(TP("t", 0), Progress(1, {4}, {{1, 41943040}, {4, 12582912}})),
      "  t-0: 12582912 of 41943040 bytes copied (30.0%) to broker(s) 4");

  // Two copies: the total counts the leader's bytes twice; a copy holding
  // more than the leader (an older leader's tail, compacted otherwise)
  // counts as whole, no more.
  absl::StatusOr<CopiedBytes> two =
      CalculateCopiedBytes(Progress(1, {4, 5}, {{1, 20}, {4, 10}, {5, 35}}));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->copied, 30);
  EXPECT_EQ(two->total, 40);
  EXPECT_EQ(
      FormatReassignmentProgress(TP("t", 3), Progress(1, {4, 5}, {{1, 20}, {4, 10}, {5, 35}})),
      "  t-3: 30 of 40 bytes copied (75.0%) to broker(s) 4,5");
}

TEST(ReassignProgressTest, ThePercentageIsRoundedDown) {
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 3}, {2, 2}})),
            "  t-0: 2 of 3 bytes copied (66.6%) to broker(s) 2");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 1000000}, {2, 999999}})),
            "  t-0: 999999 of 1000000 bytes copied (99.9%) to broker(s) 2");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 7}, {2, 0}})),
            "  t-0: 0 of 7 bytes copied (0.0%) to broker(s) 2");
  // An empty leader has nothing to copy (not "0 of 0 bytes copied").
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 0}, {2, 0}})),
            "  t-0: nothing to copy to broker(s) 2");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2, 3}, {{1, 0}, {2, 0}, {3, 5}})),
            "  t-0: nothing to copy to broker(s) 2,3");
  // Terabytes stay exact.
  const int64_t tb = int64_t{1} << 40;
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 4 * tb}, {2, tb}})),
            "  t-0: 1099511627776 of 4398046511104 bytes copied (25.0%) to broker(s) 2");
}

// copied * 1000 passes 2^63 from about 9.2 PB: the percentage is still
// right, and a total past 64 bits is said, not wrapped.
TEST(ReassignProgressTest, HugeSizesDoNotOverflow) {
  const int64_t eb = int64_t{1} << 60;  // 1 EiB
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, 4 * eb}, {2, 3 * eb}})),
            "  t-0: 3458764513820540928 of 4611686018427387904 bytes copied (75.0%) to "
            "broker(s) 2");
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2}, {{1, max}, {2, max - 1}})),
            "  t-0: 9223372036854775806 of 9223372036854775807 bytes copied (99.9%) to "
            "broker(s) 2");
  absl::StatusOr<CopiedBytes> past =
      CalculateCopiedBytes(Progress(1, {2, 3}, {{1, max}, {2, 1}, {3, 1}}));
  EXPECT_FALSE(past.ok());
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {2, 3}, {{1, max}, {2, 1}, {3, 1}})),
            "  t-0: bytes copied unknown (broker 1's size, 9223372036854775807 bytes, times 2 "
            "does not fit 64 bits)");
}

v1::DescribeLogDirsResponse Holding(const std::string& topic, int32_t partition, int64_t size) {
  v1::DescribeLogDirsResponse r;
  v1::LogDirDescription* d = r.add_log_dirs();
  d->set_log_dir("/data");
  v1::LogDirTopic* t = d->add_topics();
  t->set_name(topic);
  v1::LogDirPartition* p = t->add_partitions();
  p->set_partition(partition);
  p->set_size(size);
  return r;
}

// The brokers' answers onto a partition's progress: sizes, and a broker
// that could not answer named first on the line whatever its error says.
TEST(ReassignProgressTest, AnswersGiveTheSizesAndAFailedBrokerIsNamed) {
  using Answers = std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>;
  ReassignmentProgress p = Progress(1, {4}, {});
  AddLogDirSizes(TP("t", 0), Answers{{1, Holding("t", 0, 400)}, {4, Holding("u", 0, 9)}}, &p);
  EXPECT_EQ(p.unknown, "");
  EXPECT_EQ(p.sizes, (std::map<int32_t, int64_t>{{1, 400}, {4, 0}}))
      << "an added broker without the replica yet holds 0 of it";

  ReassignmentProgress denied = Progress(1, {4}, {});
  AddLogDirSizes(TP("t", 0),
                 Answers{{1, Holding("t", 0, 400)},
                         {4, client::ErrorToStatus(v1::CLUSTER_AUTHORIZATION_FAILED,
                                                   "Cluster authorization failed.")}},
                 &denied);
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), denied),
            "  t-0: bytes copied unknown (broker 4: org.apache.kafka.common.errors."
            "ClusterAuthorizationException: Cluster authorization failed.)");
  ReassignmentProgress unreachable = Progress(1, {4}, {});
  AddLogDirSizes(
      TP("t", 0),
      Answers{{1, absl::UnavailableError("connection refused")}, {4, Holding("t", 0, 1)}},
      &unreachable);
  EXPECT_EQ(unreachable.unknown, "broker 1: connection refused");

  ReassignmentProgress missing = Progress(1, {4}, {});
  AddLogDirSizes(TP("t", 0), Answers{{4, Holding("t", 0, 1)}}, &missing);
  EXPECT_EQ(missing.unknown, "broker 1 was not asked");
  ReassignmentProgress unlisted = Progress(1, {4}, {});
  AddLogDirSizes(TP("t", 0), Answers{{1, Holding("u", 0, 1)}, {4, Holding("t", 0, 1)}}, &unlisted);
  EXPECT_EQ(unlisted.unknown, "its leader, broker 1, does not list it");
  ReassignmentProgress leaderless = Progress(-1, {4}, {});
  AddLogDirSizes(TP("t", 0), Answers{{4, Holding("t", 0, 1)}}, &leaderless);
  EXPECT_EQ(leaderless.unknown, "the partition has no leader");
}

TEST(ReassignProgressTest, WhatIsNotKnownIsSaidOnTheLine) {
  ReassignmentProgress unreachable = Progress(1, {4}, {{1, 100}});
  unreachable.unknown = "Failed to describe the log directories of broker 4: connection refused";
  EXPECT_FALSE(CalculateCopiedBytes(unreachable).ok());
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), unreachable),
            "  t-0: bytes copied unknown (Failed to describe the log directories of broker 4: "
            "connection refused)");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(-1, {4}, {{4, 1}})),
            "  t-0: bytes copied unknown (the partition has no leader)");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {4}, {{1, 5}})),
            "  t-0: bytes copied unknown (broker 4 did not answer)");
  EXPECT_EQ(FormatReassignmentProgress(TP("t", 0), Progress(1, {}, {{1, 5}})), "")
      << "a move that only removes replicas copies nothing";
}

TEST(ReassignReportTest, VerifyLinesWithProgressAfterKafkasInProgressLine) {
  std::map<TopicPartition, PartitionReassignmentState> states;
  states[TP("t", 0)] = {{1, 4}, {4}, false, Progress(1, {4}, {{1, 400}, {4, 100}})};
  states[TP("t", 1)] = {{2}, {2}, true, std::nullopt};
  states[TP("t", 2)] = {{2, 3}, {3}, false, std::nullopt};
  EXPECT_EQ(FormatReassignmentStates(states),
            (std::vector<std::string>{
                "Status of partition reassignment:",
                "Reassignment of partition t-0 is still in progress.",
                "  t-0: 100 of 400 bytes copied (25.0%) to broker(s) 4",
                "Reassignment of partition t-1 is complete.",
                "Reassignment of partition t-2 is still in progress.",
            }));
}

TEST(ReassignReportTest, ListLines) {
  EXPECT_EQ(FormatCurrentReassignments({}),
            (std::vector<std::string>{"No partition reassignments found."}));
  v1::ListPartitionReassignmentsResponse ongoing;
  v1::OngoingTopicReassignment* t = ongoing.add_topics();
  t->set_name("t");
  v1::OngoingPartitionReassignment* p = t->add_partitions();
  p->set_partition(0);
  for (int32_t r : {1, 2, 3}) p->add_replicas(r);
  p->add_adding_replicas(1);
  p->add_removing_replicas(3);
  v1::OngoingPartitionReassignment* q = t->add_partitions();
  q->set_partition(1);
  for (int32_t r : {2, 3}) q->add_replicas(r);
  q->add_adding_replicas(3);
  EXPECT_EQ(FormatCurrentReassignments(ongoing),
            (std::vector<std::string>{
                "Current partition reassignments:", "t-0: replicas: 1,2,3. adding: 1. removing: 3.",
                "t-1: replicas: 2,3. adding: 3."}));
}

}  // namespace
}  // namespace strata::tools
