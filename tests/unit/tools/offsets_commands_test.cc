// `strata delete-records` and `strata get-offsets`: the offset file, the
// topic-partition filters and --time, as Kafka's tools parse them.
#include "tools/offsets_commands.h"

#include "gtest/gtest.h"

namespace strata::tools {
namespace {

TopicPartition Tp(const std::string& topic, int32_t p) { return {topic, PartitionId(p)}; }

TEST(DeleteRecordsJsonTest, ReadsThePartitionsInFileOrder) {
  auto parsed = ParseDeleteRecordsJson(
      R"({"partitions": [{"topic": "b", "partition": 1, "offset": 10},
                         {"topic": "a", "partition": 0, "offset": -1}], "version": 1})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], std::make_pair(Tp("b", 1), int64_t{10}));
  EXPECT_EQ((*parsed)[1], std::make_pair(Tp("a", 0), int64_t{-1}));
  // The version may be left out (1).
  EXPECT_TRUE(ParseDeleteRecordsJson(R"({"partitions": [{"topic": "a", "partition": 0,
                                         "offset": 3}]})")
                  .ok());
}

TEST(DeleteRecordsJsonTest, RefusesWhatKafkaRefusesWithItsWords) {
  auto message = [](const std::string& text) {
    auto parsed = ParseDeleteRecordsJson(text);
    EXPECT_FALSE(parsed.ok()) << text;
    return parsed.ok() ? std::string() : std::string(parsed.status().message());
  };
  EXPECT_TRUE(message("{").starts_with("The input string is not a valid JSON"));
  EXPECT_EQ(message(R"({"version": 1})"), "Missing partitions field");
  EXPECT_EQ(message(R"({"version": 2, "partitions": []})"), "Not supported version field value 2");
  EXPECT_EQ(message(R"({"partitions": [{"topic": "a", "partition": 0, "offset": 1},
                                       {"topic": "a", "partition": 0, "offset": 2}]})"),
            "Offset json file contains duplicate topic partitions: a-0");
  EXPECT_NE(message(R"({"partitions": [{"topic": "a", "offset": 1}]})").find("partition"),
            std::string::npos);
  EXPECT_NE(message(R"({"partitions": [{"topic": "a", "partition": 0, "offset": -2}]})")
                .find("offset"),
            std::string::npos);
  EXPECT_NE(message(R"({"partitions": [{"topic": "a", "partition": 0, "offset": "1"}]})")
                .find("offset"),
            std::string::npos);
  EXPECT_NE(message(R"({"partitions": [{"topic": "", "partition": 0, "offset": 1}]})")
                .find("topic"),
            std::string::npos);
  EXPECT_FALSE(message(R"({"partitions": []})").empty());
}

TEST(GetOffsetsTest, TimeTakesNamesNumbersAndRefusesTheRest) {
  EXPECT_EQ(*ParseOffsetsTime("latest"), -1);
  EXPECT_EQ(*ParseOffsetsTime("earliest"), -2);
  EXPECT_EQ(*ParseOffsetsTime("max-timestamp"), -3);
  EXPECT_EQ(*ParseOffsetsTime("-2"), -2);
  EXPECT_EQ(*ParseOffsetsTime("1700000000000"), 1700000000000);
  auto bad = ParseOffsetsTime("yesterday");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "Malformed time argument yesterday, please use -1 or latest / -2 or earliest / -3 or "
            "max-timestamp, or a specified long format timestamp");
  EXPECT_FALSE(ParseOffsetsTime("-4").ok());
}

TEST(GetOffsetsTest, TopicRegexAndPartitionIds) {
  GetOffsetsOptions o;
  o.topic = "or.*";
  o.partitions = "0,2";
  auto f = ParseOffsetsFilter(o);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->topic("orders"));
  EXPECT_FALSE(f->topic("payments"));
  EXPECT_FALSE(f->topic("xorders")) << "the whole name must match";
  EXPECT_TRUE(f->partition("orders", 2));
  EXPECT_FALSE(f->partition("orders", 1));

  o.partitions = "0,x";
  auto bad = ParseOffsetsFilter(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--partitions expects a comma separated list of numeric partition ids, but received: "
            "0,x");
  o.partitions.reset();
  o.topic = "(";
  EXPECT_FALSE(ParseOffsetsFilter(o).ok());
}

TEST(GetOffsetsTest, TopicPartitionPatternsAsGetOffsetShellHasThem) {
  GetOffsetsOptions o;
  o.topic_partitions = "a:1,b:2-4,c:5-,d:-2,e,:7";
  auto f = ParseOffsetsFilter(o);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->partition("a", 1));
  EXPECT_FALSE(f->partition("a", 0));
  EXPECT_TRUE(f->partition("b", 2));
  EXPECT_TRUE(f->partition("b", 3));
  EXPECT_FALSE(f->partition("b", 4)) << "upper bound exclusive";
  EXPECT_FALSE(f->partition("c", 4));
  EXPECT_TRUE(f->partition("c", 500));
  EXPECT_TRUE(f->partition("d", 1));
  EXPECT_FALSE(f->partition("d", 2));
  EXPECT_TRUE(f->partition("e", 99));
  EXPECT_TRUE(f->partition("anything", 7));
  EXPECT_FALSE(f->partition("anything", 6));
  EXPECT_TRUE(f->topic("anything"));

  o.topic = "a";
  auto both = ParseOffsetsFilter(o);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(),
            "--topic-partitions cannot be used with --topic or --partitions");
  o.topic.reset();
  o.topic_partitions = "a:x";
  auto bad = ParseOffsetsFilter(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Invalid rule specification: a:x");
}

}  // namespace
}  // namespace strata::tools
