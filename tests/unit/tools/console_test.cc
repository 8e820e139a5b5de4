#include <regex>
#include <sstream>

#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"
#include "tools/console_consumer.h"
#include "tools/console_producer.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

TEST(PropertiesTest, ParsesKeyValueArgs) {
  auto p = ParseKeyValueArgs({"parse.key=true", " key.separator =:", "a=b=c", "empty="});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at("parse.key"), "true");
  EXPECT_EQ(p->at("key.separator"), ":");
  EXPECT_EQ(p->at("a"), "b=c");
  EXPECT_EQ(p->at("empty"), "");
  EXPECT_FALSE(ParseKeyValueArgs({"novalue"}).ok());
  EXPECT_EQ(ParseKeyValueArgs({"k="}, false).status().message(), "Missing value for key k");
}

TEST(LineReaderTest, ParsesKeysWithTheSeparator) {
  auto o = LineReaderOptions::FromProperties({{"parse.key", "true"}, {"key.separator", ":"}});
  ASSERT_TRUE(o.ok());
  auto r = ParseLine(*o, "t", "user1:hello:world", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->key, "user1");
  EXPECT_EQ(*r->value, "hello:world");
  EXPECT_EQ(r->topic, "t");
  auto bad = ParseLine(*o, "t", "nokey", 7);
  EXPECT_EQ(bad.status().message(), "No key separator found on line number 7: 'nokey'");
}

TEST(LineReaderTest, DefaultsAreValueOnlyWithTabSeparator) {
  auto o = LineReaderOptions::FromProperties({});
  ASSERT_TRUE(o.ok());
  auto r = ParseLine(*o, "t", "a\tb", 1);
  EXPECT_FALSE(r->key.has_value());
  EXPECT_EQ(*r->value, "a\tb");
  auto keyed = LineReaderOptions::FromProperties({{"parse.key", "true"}});
  EXPECT_EQ(*ParseLine(*keyed, "t", "a\tb", 1)->key, "a");
  auto ignoring = LineReaderOptions::FromProperties(
      {{"parse.key", "true"}, {"ignore.error", "true"}, {"null.marker", "NULL"}});
  auto r2 = ParseLine(*ignoring, "t", "plain", 1);
  EXPECT_FALSE(r2->key.has_value());
  EXPECT_EQ(*r2->value, "plain");
  auto r3 = ParseLine(*ignoring, "t", "k\tNULL", 1);
  EXPECT_FALSE(r3->value.has_value());
}

TEST(ConsoleProducerTest, FlagsOverrideProducerPropertiesWhichOverrideDefaults) {
  ConsoleProducerOptions o;
  o.bootstrap_server = "h:1";
  o.producer_properties = {"acks=1", "linger.ms=7"};
  o.linger_ms = 3;
  auto props = ConsoleProducerProperties(o);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props->at("acks"), "1");
  EXPECT_EQ(props->at("linger.ms"), "3");
  EXPECT_EQ(props->at("batch.size"), "16384");
  EXPECT_EQ(props->at("bootstrap.servers"), "h:1");
  ConsoleProducerOptions d;
  EXPECT_EQ(ConsoleProducerProperties(d)->at("acks"), "-1");
  EXPECT_EQ(ConsoleProducerProperties(d)->at("linger.ms"), "1000");
}

client::ConsumerRecord Record() {
  client::ConsumerRecord r;
  r.topic = "t";
  r.partition = 2;
  r.offset = 42;
  r.timestamp_ms = 1700000000000;
  r.key = "k";
  r.value = "v";
  return r;
}

TEST(MessageFormatterTest, PrintsValuesByDefault) {
  auto f = MessageFormatter::FromProperties({});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->Format(Record()), "v\n");
  client::ConsumerRecord null_value = Record();
  null_value.value.reset();
  EXPECT_EQ(f->Format(null_value), "null\n");
}

TEST(MessageFormatterTest, PrintsKeysWithTheSeparator) {
  auto f = MessageFormatter::FromProperties({{"print.key", "true"}, {"key.separator", ":"}});
  EXPECT_EQ(f->Format(Record()), "k:v\n");
  auto tab = MessageFormatter::FromProperties({{"print.key", "true"}});
  EXPECT_EQ(tab->Format(Record()), "k\tv\n");
}

TEST(MessageFormatterTest, PrintsEveryFieldInKafkasOrder) {
  auto f = MessageFormatter::FromProperties({{"print.timestamp", "true"},
                                             {"print.partition", "true"},
                                             {"print.offset", "true"},
                                             {"print.headers", "true"},
                                             {"print.key", "true"}});
  client::ConsumerRecord r = Record();
  EXPECT_EQ(f->Format(r), "CreateTime:1700000000000\tPartition:2\tOffset:42\tNO_HEADERS\tk\tv\n");
  r.headers = {{"h1", std::string("a")}, {"h2", std::nullopt}};
  EXPECT_EQ(f->Format(r), "CreateTime:1700000000000\tPartition:2\tOffset:42\th1:a,h2:null\tk\tv\n");
  auto key_only =
      MessageFormatter::FromProperties({{"print.key", "true"}, {"print.value", "false"}});
  EXPECT_EQ(key_only->Format(r), "k\n");
}

TEST(ConsoleConsumerOptionsTest, KafkasChecks) {
  ConsoleConsumerOptions o;
  o.bootstrap_server = "h:1";
  o.topic = "t";
  EXPECT_TRUE(ValidateConsoleConsumerOptions(o).ok());
  EXPECT_EQ(*StartingOffset(o), -1);
  o.from_beginning = true;
  EXPECT_EQ(*StartingOffset(o), -2);
  o.offset = "5";
  EXPECT_EQ(ValidateConsoleConsumerOptions(o).message(),
            "The partition is required when offset is specified.");
  o.partition = 0;
  EXPECT_EQ(ValidateConsoleConsumerOptions(o).message(),
            "Options from-beginning and offset cannot be specified together.");
  o.from_beginning = false;
  EXPECT_EQ(*StartingOffset(o), 5);
  o.offset = "latest";
  EXPECT_EQ(*StartingOffset(o), -1);
  o.offset = "-3";
  EXPECT_FALSE(ValidateConsoleConsumerOptions(o).ok());
}

TEST(ConsoleRoundTripTest, LinesTypedComeBackInOrder) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("myTopic", 1);
  ConsoleProducerOptions p;
  p.bootstrap_server = cluster.bootstrap();
  p.topic = "myTopic";
  std::istringstream in("This is my first event\nThis is my second event\nThird\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunConsoleProducer(p, in, out, err, /*prompt=*/false), 0);
  EXPECT_EQ(err.str(), "");

  ConsoleConsumerOptions c;
  c.bootstrap_server = cluster.bootstrap();
  c.topic = "myTopic";
  c.from_beginning = true;
  c.max_messages = 3;
  std::ostringstream cout, cerr;
  std::atomic<bool> stop{false};
  EXPECT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 0);
  EXPECT_EQ(cout.str(), "This is my first event\nThis is my second event\nThird\n");
  EXPECT_EQ(cerr.str(), "Processed a total of 3 messages\n");
}

TEST(ConsoleRoundTripTest, KeysAndAPartitionOffsetAndTheTimeout) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ConsoleProducerOptions p;
  p.bootstrap_server = cluster.bootstrap();
  p.topic = "t";
  p.properties = {"parse.key=true", "key.separator=:"};
  std::istringstream in("a:1\nb:2\nc:3\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunConsoleProducer(p, in, out, err, false), 0);

  ConsoleConsumerOptions c;
  c.bootstrap_server = cluster.bootstrap();
  c.topic = "t";
  c.partition = 0;
  c.offset = "1";
  c.timeout_ms = 300;
  c.properties = {"print.key=true", "key.separator=="};
  std::ostringstream cout, cerr;
  std::atomic<bool> stop{false};
  EXPECT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 0);
  EXPECT_EQ(cout.str(), "b=2\nc=3\n");
  EXPECT_NE(cerr.str().find("Processed a total of 2 messages\n"), std::string::npos);
}

TEST(ConsoleRoundTripTest, AMissingKeySeparatorStopsWithAnError) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ConsoleProducerOptions p;
  p.bootstrap_server = cluster.bootstrap();
  p.topic = "t";
  p.properties = {"parse.key=true"};
  std::istringstream in("nokey\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunConsoleProducer(p, in, out, err, false), 1);
  EXPECT_EQ(err.str(), "ERROR No key separator found on line number 1: 'nokey'\n");
}

// Kafka's console consumer: --group commits what it read (auto-commit is
// on by default); without a group it joins one of its own,
// console-consumer-NNNNN, and commits nothing.
TEST(ConsoleRoundTripTest, AGroupCommitsWhatItReadAndAGeneratedGroupDoesNot) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("myTopic", 1);
  ConsoleProducerOptions p;
  p.bootstrap_server = cluster.bootstrap();
  p.topic = "myTopic";
  std::istringstream in("one\ntwo\nthree\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunConsoleProducer(p, in, out, err, false), 0);

  ConsoleConsumerOptions c;
  c.bootstrap_server = cluster.bootstrap();
  c.topic = "myTopic";
  c.from_beginning = true;
  c.max_messages = 3;
  c.group = "myConsumerGroup";
  std::atomic<bool> stop{false};
  {
    std::ostringstream cout, cerr;
    ASSERT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 0) << cerr.str();
    EXPECT_EQ(cout.str(), "one\ntwo\nthree\n");
  }
  strata::testing::FakeGroup g = cluster.Group("myConsumerGroup");
  EXPECT_EQ((g.offsets[{"myTopic", 0}]), 3);
  EXPECT_TRUE(g.members.empty()) << "the consumer leaves the group when it stops";

  c.group.reset();
  {
    std::ostringstream cout, cerr;
    ASSERT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 0) << cerr.str();
    EXPECT_EQ(cout.str(), "one\ntwo\nthree\n");
  }
  int generated = 0;
  for (const std::string& id : cluster.GroupIds()) {
    if (id == "myConsumerGroup") continue;
    EXPECT_TRUE(std::regex_match(id, std::regex("console-consumer-[0-9]{1,5}"))) << id;
    EXPECT_TRUE(cluster.Group(id).offsets.empty()) << "auto-commit is off for " << id;
    ++generated;
  }
  EXPECT_EQ(generated, 1);
}

TEST(ConsoleConsumerOptionsTest, GroupIdsGivenTwiceMustMatch) {
  ConsoleConsumerOptions o;
  o.group = "a";
  EXPECT_EQ(*GroupFor(o, std::nullopt, "a"), "a");
  absl::StatusOr<std::string> mismatch = GroupFor(o, "b", std::nullopt);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().message(),
            "The group ids provided in different places (directly using '--group', via "
            "'--consumer-property', or via '--consumer.config') do not match. Detected group "
            "ids: 'a', 'b'");
  o.group.reset();
  EXPECT_EQ(*GroupFor(o, std::nullopt, std::nullopt), "");
  o.from_beginning = true;
  client::Properties props = {{"auto.offset.reset", "latest"}};
  EXPECT_EQ(SetAutoOffsetReset(o, &props).message(),
            "Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest', to "
            "start from the beginning set 'auto.offset.reset=earliest'");
  props.clear();
  ASSERT_TRUE(SetAutoOffsetReset(o, &props).ok());
  EXPECT_EQ(props["auto.offset.reset"], "earliest");
}

TEST(ConsoleRoundTripTest, AnUnknownTopicIsReported) {
  strata::testing::FakeCluster cluster(1);
  ConsoleConsumerOptions c;
  c.bootstrap_server = cluster.bootstrap();
  c.topic = "nope";
  std::ostringstream cout, cerr;
  std::atomic<bool> stop{false};
  EXPECT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 1);
  EXPECT_NE(cerr.str().find("Topic 'nope' does not exist"), std::string::npos) << cerr.str();
}

TEST(ConsoleRoundTripTest, ABadIsolationLevelIsKafkasError) {
  strata::testing::FakeCluster cluster(1);
  cluster.AddTopic("t", 1);
  ConsoleConsumerOptions c;
  c.bootstrap_server = cluster.bootstrap();
  c.topic = "t";
  c.isolation_level = "committed";
  std::ostringstream cout, cerr;
  std::atomic<bool> stop{false};
  EXPECT_EQ(RunConsoleConsumer(c, cout, cerr, stop), 1);
  EXPECT_NE(cerr.str().find("Invalid value committed for configuration isolation.level: String "
                            "must be one of: read_committed, read_uncommitted"),
            std::string::npos)
      << cerr.str();
}

}  // namespace
}  // namespace strata::tools
