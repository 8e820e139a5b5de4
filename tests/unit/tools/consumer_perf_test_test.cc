#include "tools/consumer_perf_test.h"

#include <regex>

#include "gtest/gtest.h"

namespace strata::tools {
namespace {

const std::string kTime = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d:";

TopicPartition Tp(int p) { return {"t", PartitionId(p)}; }

TEST(ConsumerPerfTest, FiguresLineHasKafkasFieldsAndArithmetic) {
  // 200 MiB and 2,000,000 records in 4 s, none of it rebalancing.
  const std::string line = FormatConsumerPerfLine(1'700'000'000'000, 1'700'000'004'000,
                                                  200LL * 1024 * 1024, 2'000'000, 0);
  EXPECT_TRUE(std::regex_match(line, std::regex(kTime + "000, " + kTime +
                                                "000, 200.0000, 50.0000, 2000000, 500000.0000, 0, "
                                                "4000, 50.0000, 500000.0000")))
      << line;
}

TEST(ConsumerPerfTest, FetchRatesLeaveTheRebalanceTimeOut) {
  // 5 s in all, 1 s of it joining: fetch.time.ms 4000 and the fetch rates
  // over those 4 s, the overall rates over 5 s.
  const std::string line = FormatConsumerPerfLine(1'700'000'000'000, 1'700'000'005'000,
                                                  200LL * 1024 * 1024, 2'000'000, 1000);
  EXPECT_TRUE(std::regex_match(line, std::regex(kTime + "000, " + kTime +
                                                "000, 200.0000, 40.0000, 2000000, 400000.0000, "
                                                "1000, 4000, 50.0000, 500000.0000")))
      << line;
}

TEST(ConsumerPerfTest, EmptySpansGiveZeroRatesNotInfinity) {
  const std::string line = FormatConsumerPerfLine(1'700'000'000'000, 1'700'000'000'500, 0, 0, 500);
  EXPECT_TRUE(
      std::regex_match(line, std::regex(kTime + "000, " + kTime +
                                        "500, 0.0000, 0.0000, 0, 0.0000, 500, 0, 0.0000, 0.0000")))
      << line;
}

TEST(ConsumerPerfTest, HeadersAreKafkas) {
  EXPECT_EQ(ConsumerPerfHeader(false),
            "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
            "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
  EXPECT_EQ(ConsumerPerfHeader(true),
            "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
            "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
}

TEST(ConsumerPerfTest, ProgressLineIsPerInterval) {
  // Totals 30 MiB / 300,000 records; the 2 s interval added 10 MiB and
  // 100,000 records, 400 ms of it rebalancing.
  const std::string line =
      FormatConsumerProgressLine(0, 30LL * 1024 * 1024, 20LL * 1024 * 1024, 300'000, 200'000,
                                 1'700'000'000'000, 1'700'000'002'000, 400);
  EXPECT_TRUE(
      std::regex_match(line, std::regex(kTime + "000, 0, 30.0000, 5.0000, 300000, "
                                                "50000.0000, 400, 1600, 6.2500, 62500.0000")))
      << line;
}

TEST(ConsumerPerfTest, DefaultGroupIsKafkasPerfConsumerName) {
  EXPECT_EQ(DefaultPerfGroup(42), "perf-consumer-42");
  EXPECT_EQ(DefaultPerfGroup(1'234'567), "perf-consumer-34567");
  EXPECT_EQ(DefaultPerfGroup(UINT32_MAX), "perf-consumer-67295");
}

TEST(ConsumerPerfTest, RebalanceTimeRunsFromTheStartToTheFirstAssignment) {
  RebalanceTimer timer(1000);
  EXPECT_FALSE(timer.ever_assigned());
  timer.Assigned({Tp(0), Tp(1)}, 1250);
  EXPECT_EQ(timer.total_ms(), 250);
  EXPECT_TRUE(timer.ever_assigned());
}

TEST(ConsumerPerfTest, EagerRebalanceAddsTheTimeWithoutPartitions) {
  RebalanceTimer timer(0);
  timer.Assigned({Tp(0), Tp(1), Tp(2)}, 100);
  // Eager: everything is revoked, then the new share comes.
  timer.Revoked({Tp(0), Tp(1), Tp(2)}, 5000);
  timer.Assigned({Tp(0)}, 5300);
  EXPECT_EQ(timer.total_ms(), 400);
  // A member that is given nothing in a generation waits on: only its next
  // non-empty assignment after an empty one ends the wait.
  timer.Revoked({Tp(0)}, 9000);
  timer.Assigned({}, 9100);
  timer.Assigned({Tp(2)}, 9500);
  EXPECT_EQ(timer.total_ms(), 400 + 100 + 400);
}

TEST(ConsumerPerfTest, CooperativeRebalanceThatKeepsPartitionsCostsNothing) {
  RebalanceTimer timer(0);
  timer.Assigned({Tp(0), Tp(1)}, 50);
  timer.Revoked({Tp(1)}, 4000);  // only what moves is revoked
  timer.Assigned({}, 4010);
  timer.Assigned({Tp(3)}, 4500);
  EXPECT_EQ(timer.total_ms(), 50);
}

TEST(ConsumerPerfTest, IntervalRebalanceTimeIsTakenOnce) {
  RebalanceTimer timer(0);
  timer.Assigned({Tp(0)}, 300);
  EXPECT_EQ(timer.TakeIntervalMs(), 300);
  EXPECT_EQ(timer.TakeIntervalMs(), 0);
  timer.Revoked({Tp(0)}, 1000);
  timer.Assigned({Tp(0)}, 1200);
  EXPECT_EQ(timer.TakeIntervalMs(), 200);
  EXPECT_EQ(timer.total_ms(), 500);
}

TEST(ConsumerPerfTest, FlagsOverrideThePropertiesAsKafkasDo) {
  ConsumerPerfOptions o;
  o.bootstrap_server = "h:1";
  o.fetch_size = 4096;
  o.consumer_props = {"heartbeat.interval.ms=500", "group.id=from-props", "client.id=mine"};
  client::Properties file = {{"auto.offset.reset", "none"}, {"max.poll.records", "10"}};
  absl::StatusOr<client::Properties> props = ConsumerPerfProperties(o, file, "g");
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_EQ(props->at("bootstrap.servers"), "h:1");
  EXPECT_EQ(props->at("group.id"), "g");
  EXPECT_EQ(props->at("max.partition.fetch.bytes"), "4096");
  EXPECT_EQ(props->at("auto.offset.reset"), "earliest");
  EXPECT_EQ(props->at("check.crcs"), "false");
  EXPECT_EQ(props->at("client.id"), "mine");
  EXPECT_EQ(props->at("heartbeat.interval.ms"), "500");
  EXPECT_EQ(props->at("max.poll.records"), "10");

  o.from_latest = true;
  o.consumer_props = {};
  props = ConsumerPerfProperties(o, {}, "g");
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props->at("auto.offset.reset"), "latest");
  EXPECT_EQ(props->at("client.id"), "perf-consumer-client");

  o.consumer_props = {"novalue"};
  EXPECT_FALSE(ConsumerPerfProperties(o, {}, "g").ok());
}

}  // namespace
}  // namespace strata::tools
