#include "tools/consumer_groups.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Java's "%-Ns".
std::string P(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

// Kafka's ConsumerProtocol Assignment (version 1): topics with partitions,
// then null user data.
std::string Assignment(const std::vector<std::pair<std::string, std::vector<int32_t>>>& topics) {
  std::string out;
  auto i16 = [&](int16_t v) {
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
  };
  auto i32 = [&](int32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  };
  i16(1);
  i32(static_cast<int32_t>(topics.size()));
  for (const auto& [topic, partitions] : topics) {
    i16(static_cast<int16_t>(topic.size()));
    out += topic;
    i32(static_cast<int32_t>(partitions.size()));
    for (int32_t p : partitions) i32(p);
  }
  i32(-1);
  return out;
}

v1::DescribedGroupMember Member(const std::string& id, const std::string& host,
                                const std::string& client, const std::string& assignment,
                                const std::string& instance = "") {
  v1::DescribedGroupMember m;
  m.set_member_id(id);
  m.set_client_host(host);
  m.set_client_id(client);
  m.set_member_assignment(assignment);
  m.set_group_instance_id(instance);
  return m;
}

// Lines of one stream of a ToolOutput.
std::vector<std::string> Lines(const ToolOutput& out, bool err) {
  std::vector<std::string> lines;
  for (const auto& l : out.lines) {
    if (l.to_err == err) lines.push_back(l.text);
  }
  return lines;
}

ConsumerGroupOptions Base() {
  ConsumerGroupOptions o;
  o.bootstrap_server = "localhost:9092";
  return o;
}

std::string Invalid(const ConsumerGroupOptions& o) {
  std::vector<std::string> warnings;
  absl::Status s = ValidateConsumerGroupOptions(o, &warnings);
  return s.ok() ? "OK" : std::string(s.message());
}

TEST(ConsumerGroupOptionsTest, ChecksFlagsWithKafkasMessages) {
  ConsumerGroupOptions o = Base();
  EXPECT_EQ(Invalid(o),
            "Command must include exactly one action: --list, --describe, --delete, "
            "--reset-offsets, --delete-offsets");
  o.list = true;
  EXPECT_EQ(Invalid(o), "OK");
  o.describe = true;
  EXPECT_EQ(Invalid(o), "Option [describe] takes one of these options: [group], [all-groups]");
  o.list = false;
  o.groups = {"g"};
  EXPECT_EQ(Invalid(o), "OK");
  o.members = true;
  o.state = "";
  EXPECT_EQ(Invalid(o),
            "Option [describe] takes at most one of these options: [members], [offsets], [state]");
  o.members = false;
  o.state = "stable";
  EXPECT_EQ(Invalid(o), "Option [describe] does not take a value for [state]");
  o.state.reset();
  o.all_groups = true;
  EXPECT_EQ(Invalid(o), "Option \"[group]\" can't be used with option \"[all-groups]\"");
  o.all_groups = false;
  o.topics = {"t"};
  EXPECT_EQ(Invalid(o), "Option \"[topic]\" can't be used with option \"[describe]\"");

  o = Base();
  o.members = true;
  o.list = true;
  EXPECT_EQ(Invalid(o),
            "Option(s) [members] are unavailable given other options on the command line");
  o = Base();
  o.list = true;
  o.groups = {"g"};
  EXPECT_EQ(Invalid(o), "Option \"[group]\" can't be used with option \"[list]\"");

  o = Base();
  o.remove = true;
  EXPECT_EQ(Invalid(o), "Option [delete] takes one of these options: [group], [all-groups]");
  o.groups = {"g"};
  o.topics = {"t"};
  EXPECT_EQ(Invalid(o),
            "The consumer does not support topic-specific offset deletion from a consumer group.");

  o = Base();
  o.delete_offsets = true;
  o.groups = {"g"};
  EXPECT_EQ(Invalid(o), "Option [delete-offsets] takes the following options: [group], [topic]");
  o.topics = {"t:0"};
  EXPECT_EQ(Invalid(o), "OK");

  o = Base();
  o.bootstrap_server.clear();
  o.list = true;
  EXPECT_EQ(Invalid(o), "Missing required argument \"[bootstrap-server]\"");
}

TEST(ConsumerGroupOptionsTest, ResetOffsetsNeedsOneScenarioAScopeAndWarnsWithoutExecute) {
  ConsumerGroupOptions o = Base();
  o.reset_offsets = true;
  o.groups = {"g"};
  o.to_earliest = true;
  o.all_topics = true;
  std::vector<std::string> warnings;
  EXPECT_TRUE(ValidateConsumerGroupOptions(o, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("WARN: No action will be performed as the --execute option "
                                     "is missing.In a future major release"));
  o.execute = true;
  warnings.clear();
  EXPECT_TRUE(ValidateConsumerGroupOptions(o, &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  o.dry_run = true;
  EXPECT_EQ(Invalid(o), "Option [reset-offsets] only accepts one of [execute] and [dry-run]");
  o.dry_run = false;
  o.to_offset = 5;
  EXPECT_EQ(Invalid(o), "Option \"[to-offset]\" can't be used with option \"[to-earliest]\"");
  o.to_offset.reset();
  o.to_earliest = false;
  EXPECT_THAT(Invalid(o), HasSubstr("Option '[reset-offsets]' requires one of the following "
                                    "scenarios: [[to-offset], [shift-by]"));
  o.shift_by = -2;
  o.all_topics = false;
  EXPECT_EQ(Invalid(o), "One of the reset scopes should be defined: --all-topics, --topic.");
  o.shift_by.reset();
  o.from_file = "plan.csv";
  EXPECT_EQ(Invalid(o), "OK") << "--from-file needs no scope";
  o.groups.clear();
  EXPECT_EQ(Invalid(o), "Option [reset-offsets] takes one of these options: [group], [all-groups]");
}

TEST(ConsumerGroupParseTest, StatesAnyCaseOrKafkasError) {
  EXPECT_THAT(*ParseGroupStates("stable, EMPTY,Stable"), ElementsAre("Stable", "Empty"));
  EXPECT_EQ(ParseGroupStates("stable,nope").status().message(),
            "Invalid state list 'stable,nope'. Valid states are: PreparingRebalance, "
            "CompletingRebalance, Stable, Dead, Empty");
}

TEST(ConsumerGroupParseTest, TopicPartitions) {
  EXPECT_THAT(*ParseTopicPartitions("t:0,2"), ElementsAre(Tp("t", 0), Tp("t", 2)));
  EXPECT_EQ(ParseTopicPartitions("t:").status().message(),
            "Invalid topic arg 't:', expected topic name and partitions");
  EXPECT_EQ(ParseTopicPartitions("t:0,x").status().message(),
            "Invalid partition 'x' specified in topic arg 't:0,x''");
}

TEST(ConsumerGroupParseTest, DateTimeIsUtcUnlessAZoneIsGiven) {
  EXPECT_EQ(*ParseDateTime("2021-01-01T00:00:00.000"), 1609459200000);
  EXPECT_EQ(*ParseDateTime("2021-01-01T00:00:00.123Z"), 1609459200123);
  EXPECT_EQ(*ParseDateTime("2021-01-01T01:00:00.000+01:00"), 1609459200000);
  EXPECT_EQ(*ParseDateTime("2021-01-01T01:00:00.000+0100"), 1609459200000);
  EXPECT_EQ(*ParseDateTime("2020-12-31T23:00:00.000-01"), 1609459200000);
  EXPECT_EQ(ParseDateTime("2021-01-01").status().message(),
            "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format "
            "(2021-01-01).");
  EXPECT_EQ(ParseDateTime("2021-01-01T00:00:00").status().message(),
            "Unparseable date: \"2021-01-01T00:00:00Z\"");
  EXPECT_FALSE(ParseDateTime("2021-02-30T00:00:00.000").ok());
}

TEST(ConsumerGroupParseTest, DurationsAsJavaTimeParsesThem) {
  EXPECT_EQ(*ParseIsoDuration("PT15M"), absl::Minutes(15));
  EXPECT_EQ(*ParseIsoDuration("P1DT2H"), absl::Hours(26));
  EXPECT_EQ(*ParseIsoDuration("pt1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseIsoDuration("-PT1.5S"), absl::Milliseconds(-1500));
  EXPECT_EQ(*ParseIsoDuration("PT-1.5S"), absl::Milliseconds(-1500));
  EXPECT_EQ(*ParseIsoDuration("P2D"), absl::Hours(48));
  for (const char* bad : {"P", "PT", "15M", "P1H", "PT1D", ""}) {
    EXPECT_EQ(ParseIsoDuration(bad).status().message(), "Text cannot be parsed to a Duration")
        << bad;
  }
}

TEST(ConsumerGroupParseTest, ResetPlanCsvInBothFormats) {
  auto single = ParseResetPlanCsv("t,0,5\nt,1,7\n", {"g"});
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->at("g"), (std::map<TopicPartition, int64_t>{{Tp("t", 0), 5}, {Tp("t", 1), 7}}));
  auto multi = ParseResetPlanCsv("g1,t,0,5\r\ng2,u,3,9\n", {"g1", "g2"});
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(multi->at("g1").at(Tp("t", 0)), 5);
  EXPECT_EQ(multi->at("g2").at(Tp("u", 3)), 9);
  // One group, but the file names groups: the four-column format.
  auto named = ParseResetPlanCsv("g,t,0,5\n", {"g"});
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->at("g").at(Tp("t", 0)), 5);
  EXPECT_FALSE(ParseResetPlanCsv("t,zero,5\n", {"g1", "g2"}).ok());
}

TEST(ConsumerGroupFormatTest, ListPrintsConsumerGroupsAndOptionallyTheirStates) {
  v1::ListGroupsResponse r;
  auto add = [&](const std::string& id, const std::string& type, const std::string& state) {
    v1::ListedGroup* g = r.add_groups();
    g->set_group_id(id);
    g->set_protocol_type(type);
    g->set_group_state(state);
  };
  add("b-group", "consumer", "Stable");
  add("connect", "connect", "Stable");
  add("a", "", "Empty");
  EXPECT_THAT(FormatGroupList(r, false), ElementsAre("a", "b-group"));
  // GROUP padded to max(15, longest id) + 10, STATE to 20.
  EXPECT_THAT(FormatGroupList(r, true),
              ElementsAre("GROUP                     STATE               ",
                          "a                         Empty               ",
                          "b-group                   Stable              "));
}

v1::DescribedGroup StableGroup() {
  v1::DescribedGroup g;
  g.set_group_id("my-group");
  g.set_group_state("Stable");
  g.set_protocol_type("consumer");
  g.set_protocol_data("range");
  *g.add_members() = Member("consumer-1-aaa", "/10.0.0.1", "consumer-1", Assignment({{"t", {1}}}));
  *g.add_members() =
      Member("consumer-2-bbb", "/10.0.0.2", "consumer-2", Assignment({{"u", {0}}, {"t", {2, 0}}}));
  *g.add_members() = Member("consumer-3-ccc", "/10.0.0.3", "consumer-3", "");
  return g;
}

TEST(ConsumerGroupFormatTest, OffsetsTableAsKafkaPrintsIt) {
  const v1::DescribedGroup g = StableGroup();
  const std::map<TopicPartition, int64_t> committed = {
      {Tp("t", 0), 10}, {Tp("t", 1), 5}, {Tp("u", 0), 3}, {Tp("old", 0), 7}};
  EXPECT_THAT(PartitionsToDescribe(g, committed),
              ElementsAre(Tp("old", 0), Tp("t", 0), Tp("t", 1), Tp("t", 2), Tp("u", 0)));
  const std::map<TopicPartition, int64_t> log_end = {
      {Tp("t", 0), 12}, {Tp("t", 1), 5}, {Tp("t", 2), 4}, {Tp("old", 0), 9}};
  auto rows = CollectGroupOffsets(g, committed, log_end);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ToolOutput out;
  FormatOffsets("my-group", "Stable", *rows, &out);
  EXPECT_FALSE(out.failed);
  EXPECT_TRUE(Lines(out, true).empty());
  // The member with most partitions first, its partitions by topic; t-2
  // has no commit; u-0's log end is unknown; old-0 is held by no member.
  EXPECT_THAT(
      Lines(out, false),
      ElementsAre(
          "",
          "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG         "
          "    CONSUMER-ID     HOST            CLIENT-ID",
          "my-group        t               0          10              12              2           "
          "    consumer-2-bbb  /10.0.0.2       consumer-2",
          "my-group        t               2          -               4               -           "
          "    consumer-2-bbb  /10.0.0.2       consumer-2",
          "my-group        u               0          3               -               -           "
          "    consumer-2-bbb  /10.0.0.2       consumer-2",
          "my-group        t               1          5               5               0           "
          "    consumer-1-aaa  /10.0.0.1       consumer-1",
          "my-group        old             0          7               9               2           "
          "    -               -               -"));
}

TEST(ConsumerGroupFormatTest, GroupStatesGiveKafkasMessages) {
  v1::DescribedGroup g;
  g.set_group_id("g");
  g.set_group_state("Empty");
  std::map<TopicPartition, int64_t> committed = {{Tp("t", 0), 4}};
  auto rows = CollectGroupOffsets(g, committed, {{Tp("t", 0), 4}});
  ASSERT_TRUE(rows.ok());
  ToolOutput out;
  FormatOffsets("g", "Empty", *rows, &out);
  EXPECT_THAT(Lines(out, true), ElementsAre("", "Consumer group 'g' has no active members."));
  EXPECT_EQ(Lines(out, false).size(), 3u) << "the table follows";
  EXPECT_FALSE(out.failed);

  ToolOutput empty;
  FormatOffsets("g", "Empty", {}, &empty);
  EXPECT_THAT(Lines(empty, true), ElementsAre("", "Consumer group 'g' has no active members."));
  EXPECT_TRUE(Lines(empty, false).empty()) << "no rows, no table";

  ToolOutput dead;
  FormatOffsets("g", "Dead", {}, &dead);
  EXPECT_THAT(Lines(dead, true), ElementsAre("", "Error: Consumer group 'g' does not exist."));
  EXPECT_TRUE(dead.failed);

  ToolOutput rebalancing;
  FormatOffsets("g", "CompletingRebalance", *rows, &rebalancing);
  EXPECT_THAT(Lines(rebalancing, true),
              ElementsAre("", "Warning: Consumer group 'g' is rebalancing."));
  EXPECT_FALSE(rebalancing.failed);
}

TEST(ConsumerGroupFormatTest, MembersWithAndWithoutAssignments) {
  const v1::DescribedGroup g = StableGroup();
  ToolOutput out;
  ASSERT_TRUE(FormatMembers(g, false, &out).ok());
  EXPECT_THAT(Lines(out, false),
              ElementsAre("",
                          "GROUP           CONSUMER-ID     HOST            CLIENT-ID       "
                          "#PARTITIONS     ",
                          "my-group        consumer-1-aaa  /10.0.0.1       consumer-1      1      "
                          "         ",
                          "my-group        consumer-2-bbb  /10.0.0.2       consumer-2      3      "
                          "         ",
                          "my-group        consumer-3-ccc  /10.0.0.3       consumer-3      0      "
                          "         "));
  ToolOutput verbose;
  ASSERT_TRUE(FormatMembers(g, true, &verbose).ok());
  EXPECT_THAT(Lines(verbose, false),
              ElementsAre("",
                          "GROUP           CONSUMER-ID     HOST            CLIENT-ID       "
                          "#PARTITIONS     ASSIGNMENT",
                          "my-group        consumer-1-aaa  /10.0.0.1       consumer-1      1      "
                          "         t(1)",
                          "my-group        consumer-2-bbb  /10.0.0.2       consumer-2      3      "
                          "         t(0,2), u(0)",
                          "my-group        consumer-3-ccc  /10.0.0.3       consumer-3      0      "
                          "         -"));
}

TEST(ConsumerGroupFormatTest, MembersShowGroupInstanceIdsWhenAnyHasOne) {
  v1::DescribedGroup g;
  g.set_group_id("g");
  g.set_group_state("Stable");
  *g.add_members() = Member("m1", "/h", "c", Assignment({{"t", {0}}}), "instance-1");
  ToolOutput out;
  ASSERT_TRUE(FormatMembers(g, false, &out).ok());
  EXPECT_THAT(Lines(out, false),
              ElementsAre("",
                          "GROUP           CONSUMER-ID     GROUP-INSTANCE-ID HOST            "
                          "CLIENT-ID       #PARTITIONS     ",
                          "g               m1              instance-1        /h              c   "
                          "            1               "));
}

TEST(ConsumerGroupFormatTest, BadAssignmentBytesAreAnError) {
  v1::DescribedGroup g;
  g.set_group_id("g");
  g.set_group_state("Stable");
  g.set_protocol_type("consumer");
  *g.add_members() = Member("m1", "/h", "c", std::string("\x00\x01\x00", 3));
  ToolOutput out;
  EXPECT_FALSE(FormatMembers(g, false, &out).ok());
  EXPECT_FALSE(CollectGroupOffsets(g, {}, {}).ok());
}

TEST(ConsumerGroupFormatTest, StateAsKafkaPrintsIt) {
  v1::DescribedGroup g = StableGroup();
  v1::Coordinator c;
  c.set_node_id(2);
  c.set_host("broker-2.example.com");
  c.set_port(9092);
  ToolOutput out;
  FormatState(g, c, &out);
  // The coordinator is 29 wide, so GROUP is too; COORDINATOR (ID) stays 25.
  EXPECT_THAT(Lines(out, false), ElementsAre("",
                                             P("GROUP", 29) + " " + P("COORDINATOR (ID)", 25) +
                                                 " ASSIGNMENT-STRATEGY  STATE           #MEMBERS",
                                             P("my-group", 29) + " broker-2.example.com:9092 (2) " +
                                                 P("range", 20) + " " + P("Stable", 15) + " 3"));
  g.set_group_state("Dead");
  ToolOutput dead;
  FormatState(g, c, &dead);
  EXPECT_THAT(Lines(dead, true),
              ElementsAre("", "Error: Consumer group 'my-group' does not exist."));
  EXPECT_TRUE(Lines(dead, false).empty());
}

PartitionOffsets Offsets() {
  PartitionOffsets o;
  o.committed = {{Tp("t", 0), 5}, {Tp("t", 1), 8}};
  o.log_start = {{Tp("t", 0), 2}, {Tp("t", 1), 3}};
  o.log_end = {{Tp("t", 0), 10}, {Tp("t", 1), 9}};
  return o;
}

TEST(ConsumerGroupResetTest, EachScenarioAsKafkaPlansIt) {
  const std::vector<TopicPartition> tps = {Tp("t", 0), Tp("t", 1)};
  ConsumerGroupOptions o = Base();
  ToolOutput out;

  o.to_earliest = true;
  EXPECT_EQ(*PlanOffsetReset(o, tps, Offsets(), nullptr, &out),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 2}, {Tp("t", 1), 3}}));
  o.to_earliest = false;
  o.to_latest = true;
  EXPECT_EQ(*PlanOffsetReset(o, tps, Offsets(), nullptr, &out),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 10}, {Tp("t", 1), 9}}));
  o.to_latest = false;
  o.to_current = true;
  PartitionOffsets partly = Offsets();
  partly.committed.erase(Tp("t", 1));
  EXPECT_EQ(*PlanOffsetReset(o, tps, partly, nullptr, &out),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 5}, {Tp("t", 1), 9}}))
      << "no commit: the log end";
  o.to_current = false;
  EXPECT_TRUE(out.lines.empty());

  o.to_offset = 4;
  EXPECT_EQ(*PlanOffsetReset(o, tps, Offsets(), nullptr, &out),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 4}, {Tp("t", 1), 4}}));
  o.to_offset.reset();
  o.shift_by = -4;
  ToolOutput clamped;
  EXPECT_EQ(*PlanOffsetReset(o, tps, Offsets(), nullptr, &clamped),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 2}, {Tp("t", 1), 4}}));
  EXPECT_THAT(Lines(clamped, true),
              ElementsAre("WARN New offset (1) is lower than earliest offset for topic partition "
                          "t-0. Value will be set to 2"));
  o.shift_by = 3;
  ToolOutput high;
  EXPECT_EQ(*PlanOffsetReset(o, tps, Offsets(), nullptr, &high),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 8}, {Tp("t", 1), 9}}));
  EXPECT_THAT(Lines(high, true),
              ElementsAre("WARN New offset (11) is higher than latest offset for topic partition "
                          "t-1. Value will be set to 9"));
  EXPECT_EQ(PlanOffsetReset(o, tps, partly, nullptr, &out).status().message(),
            "Cannot shift offset for partition t-1 since there is no current committed offset");
  o.shift_by.reset();

  o.from_file = "plan.csv";
  const std::map<TopicPartition, int64_t> file = {{Tp("t", 1), 100}};
  ToolOutput from_file;
  EXPECT_EQ(*PlanOffsetReset(o, {}, Offsets(), &file, &from_file),
            (std::map<TopicPartition, int64_t>{{Tp("t", 1), 9}}));
  o.from_file.reset();
}

TEST(ConsumerGroupResetTest, ByTimeFallsBackToTheLogEndForEmptyPartitions) {
  ConsumerGroupOptions o = Base();
  o.to_datetime = "2021-01-01T00:00:00.000";
  PartitionOffsets offsets = Offsets();
  offsets.by_timestamp = {{Tp("t", 0), 6}, {Tp("t", 1), -1}};
  ToolOutput out;
  EXPECT_EQ(*PlanOffsetReset(o, {Tp("t", 0), Tp("t", 1)}, offsets, nullptr, &out),
            (std::map<TopicPartition, int64_t>{{Tp("t", 0), 6}, {Tp("t", 1), 9}}));
  EXPECT_THAT(Lines(out, false),
              ElementsAre("",
                          "Warn: Partition 1 from topic t is empty. Falling back to latest "
                          "known offset."));
  offsets.by_timestamp.erase(Tp("t", 0));
  EXPECT_EQ(PlanOffsetReset(o, {Tp("t", 0)}, offsets, nullptr, &out).status().message(),
            "Error getting offset by timestamp of topic partition: t-0");
  o.to_datetime.reset();
  o.to_earliest = true;
  offsets.log_start.clear();
  EXPECT_EQ(PlanOffsetReset(o, {Tp("t", 0)}, offsets, nullptr, &out).status().message(),
            "Error getting starting offset of topic partition: t-0");
}

TEST(ConsumerGroupResetTest, PlanTableAndCsvExport) {
  const std::map<std::string, std::map<TopicPartition, int64_t>> plans = {
      {"g", {{Tp("t", 0), 5}, {Tp("t", 1), 7}}}};
  EXPECT_THAT(FormatResetPlan(plans),
              ElementsAre("",
                          "GROUP                          TOPIC                          PARTITION "
                          " NEW-OFFSET     ",
                          "g                              t                              0         "
                          " 5              ",
                          "g                              t                              1         "
                          " 7              "));
  EXPECT_TRUE(FormatResetPlan({}).empty());
  EXPECT_EQ(ExportResetPlanCsv(plans, true), "t,0,5\nt,1,7\n");
  EXPECT_EQ(ExportResetPlanCsv({{"a,b", {{Tp("t", 0), 1}}}}, false), "\"a,b\",t,0,1\n");
}

TEST(ConsumerGroupFormatTest, DeleteGroupsResults) {
  v1::DeleteGroupsResponse ok;
  ok.add_results()->set_group_id("g1");
  ok.add_results()->set_group_id("g2");
  ToolOutput out;
  FormatDeleteGroups(ok, &out);
  EXPECT_THAT(Lines(out, false),
              ElementsAre("Deletion of requested consumer groups ('g1', 'g2') was successful."));

  v1::DeleteGroupsResponse mixed = ok;
  mixed.mutable_results(1)->set_error(v1::NON_EMPTY_GROUP);
  ToolOutput failed;
  FormatDeleteGroups(mixed, &failed);
  EXPECT_TRUE(failed.failed);
  EXPECT_THAT(Lines(failed, true),
              ElementsAre("", "Error: Deletion of some consumer groups failed:",
                          "* Group 'g2' could not be deleted due to: "
                          "java.util.concurrent.ExecutionException: "
                          "org.apache.kafka.common.errors.GroupNotEmptyException: The group is "
                          "not empty."));
  EXPECT_THAT(Lines(failed, false),
              ElementsAre("", "These consumer groups were deleted successfully: 'g1'"));
}

TEST(ConsumerGroupFormatTest, DeleteOffsetsTable) {
  v1::OffsetDeleteResponse r;
  v1::OffsetDeleteTopicResponse* t = r.add_topics();
  t->set_name("t");
  for (int p : {0, 10, 2}) t->add_partitions()->set_partition_index(p);
  ToolOutput out;
  FormatDeleteOffsets("g", {"t", "gone"}, {Tp("t", 0), Tp("t", 10), Tp("t", 2)}, r,
                      {{"gone",
                        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
                        "This server does not host this topic-partition."}},
                      &out);
  EXPECT_THAT(
      Lines(out, false),
      ElementsAre("Request succeed for deleting offsets with topic t, gone group g", "",
                  "TOPIC                          PARTITION       STATUS         ",
                  "gone                           Not Provided    Error: "
                  "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server "
                  "does not host this topic-partition.",
                  // Kafka sorts "t0" < "t10" < "t2".
                  "t                              0               Successful     ",
                  "t                              10              Successful     ",
                  "t                              2               Successful     "));

  r.mutable_topics(0)->mutable_partitions(1)->set_error(v1::GROUP_SUBSCRIBED_TO_TOPIC);
  ToolOutput subscribed;
  FormatDeleteOffsets("g", {"t"}, {Tp("t", 0), Tp("t", 10), Tp("t", 2)}, r, {}, &subscribed);
  EXPECT_THAT(Lines(subscribed, true),
              ElementsAre("",
                          "Error: Encounter some partition level error, see the follow-up "
                          "details:"));
  EXPECT_THAT(Lines(subscribed, false)[3],
              "t                              10              Error: "
              "org.apache.kafka.common.errors.GroupSubscribedToTopicException: The consumer "
              "group is actively subscribed to the topic");
}

// ---- Against the fake cluster

class ConsumerGroupsRunTest : public ::testing::Test {
 protected:
  ConsumerGroupsRunTest() : cluster_(3) {
    cluster_.AddTopic("t", 2);
    cluster_.SetLogEnd("t", 0, 20);
    cluster_.SetLogEnd("t", 1, 30);
    cluster_.SetLogStart("t", 1, 10);
    testing::FakeGroup active;
    active.state = "Stable";
    active.protocol = "range";
    active.coordinator = 2;
    active.members = {Member("m1", "/127.0.0.1", "c1", Assignment({{"t", {0, 1}}}))};
    active.offsets = {{{"t", 0}, 15}};
    cluster_.SetGroup("active", active);
    testing::FakeGroup idle;
    idle.coordinator = 3;
    idle.offsets = {{{"t", 0}, 5}, {{"t", 1}, 12}};
    cluster_.SetGroup("idle", idle);
    client::AdminConfig config;
    config.bootstrap_servers = cluster_.bootstrap();
    config.request_timeout = absl::Seconds(2);
    admin_ = *client::Admin::Create(config);
  }

  int Run(ConsumerGroupOptions o) {
    out_.str("");
    err_.str("");
    o.bootstrap_server = cluster_.bootstrap();
    std::vector<std::string> warnings;
    absl::Status valid = ValidateConsumerGroupOptions(o, &warnings);
    EXPECT_TRUE(valid.ok()) << valid;
    return RunConsumerGroups(*admin_, o, out_, err_);
  }

  testing::FakeCluster cluster_;
  std::unique_ptr<client::Admin> admin_;
  std::ostringstream out_, err_;
};

TEST_F(ConsumerGroupsRunTest, ListsEveryBrokersGroups) {
  ConsumerGroupOptions o;
  o.list = true;
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(out_.str(), "active\nidle\n");
  o.state = "empty";
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(out_.str(),
            "GROUP                     STATE               \n"
            "idle                      Empty               \n");
}

TEST_F(ConsumerGroupsRunTest, DescribesOffsetsAtEachGroupsCoordinator) {
  ConsumerGroupOptions o;
  o.describe = true;
  o.all_groups = true;
  EXPECT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "\n"
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG        "
            "     CONSUMER-ID     HOST            CLIENT-ID\n"
            "active          t               0          15              20              5          "
            "     m1              /127.0.0.1      c1\n"
            "active          t               1          -               30              -          "
            "     m1              /127.0.0.1      c1\n"
            "\n"
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG        "
            "     CONSUMER-ID     HOST            CLIENT-ID\n"
            "idle            t               0          5               20              15         "
            "     -               -               -\n"
            "idle            t               1          12              30              18         "
            "     -               -               -\n");
  EXPECT_EQ(err_.str(), "\nConsumer group 'idle' has no active members.\n");

  o.all_groups = false;
  o.groups = {"nope"};
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(err_.str(), "\nError: Consumer group 'nope' does not exist.\n");

  o.groups = {"active"};
  o.state = "";
  EXPECT_EQ(Run(o), 0);
  EXPECT_THAT(out_.str(), HasSubstr(P("active", 25) + " " + P(cluster_.address(2) + " (2)", 25) +
                                    " " + P("range", 20) + " " + P("Stable", 15) + " 1\n"));
}

TEST_F(ConsumerGroupsRunTest, ResetsOffsetsOfAnInactiveGroupOnlyWithExecute) {
  ConsumerGroupOptions o;
  o.reset_offsets = true;
  o.groups = {"idle"};
  o.topics = {"t"};
  o.to_earliest = true;
  EXPECT_EQ(Run(o), 0) << err_.str();
  EXPECT_THAT(out_.str(),
              HasSubstr(P("idle", 30) + " " + P("t", 30) + " " + P("1", 10) + " " + P("10", 15)));
  EXPECT_EQ(cluster_.Group("idle").offsets.at({"t", 1}), 12) << "a dry run commits nothing";

  o.execute = true;
  o.topics = {"t:1"};
  o.to_earliest = false;
  o.shift_by = -100;
  EXPECT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(cluster_.Group("idle").offsets.at({"t", 1}), 10) << "clamped to the log start";
  EXPECT_EQ(cluster_.Group("idle").offsets.at({"t", 0}), 5) << "not in scope";
  EXPECT_THAT(err_.str(), HasSubstr("WARN New offset (-88) is lower than earliest offset"));

  o.shift_by.reset();
  o.execute = false;
  o.export_csv = true;
  o.all_topics = true;
  o.topics.clear();
  o.to_latest = true;
  EXPECT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(), "t,0,20\nt,1,30\n\n");
}

TEST_F(ConsumerGroupsRunTest, RefusesToResetAnActiveGroup) {
  ConsumerGroupOptions o;
  o.reset_offsets = true;
  o.groups = {"active"};
  o.all_topics = true;
  o.to_earliest = true;
  o.execute = true;
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(err_.str(),
            "\nError: Assignments can only be reset if the group 'active' is inactive, but the "
            "current state is Stable.\n");
  EXPECT_EQ(cluster_.Group("active").offsets.at({"t", 0}), 15);
}

TEST_F(ConsumerGroupsRunTest, DeletesGroupsAndOffsets) {
  ConsumerGroupOptions o;
  o.delete_offsets = true;
  o.groups = {"idle"};
  o.topics = {"t:1"};
  EXPECT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Request succeed for deleting offsets with topic t:1 group idle\n\n"
            "TOPIC                          PARTITION       STATUS         \n"
            "t                              1               Successful     \n");
  EXPECT_FALSE(cluster_.Group("idle").offsets.contains({"t", 1}));

  o = ConsumerGroupOptions();
  o.remove = true;
  o.groups = {"idle", "active"};
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(out_.str(), "\nThese consumer groups were deleted successfully: 'idle'\n");
  EXPECT_THAT(err_.str(), HasSubstr("* Group 'active' could not be deleted due to: "));
  EXPECT_FALSE(cluster_.HasGroup("idle"));
  EXPECT_TRUE(cluster_.HasGroup("active"));
}

}  // namespace
}  // namespace strata::tools
