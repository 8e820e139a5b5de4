// The replication throttle's parts (KIP-73): the windowed rate, the
// throttled-replica lists, the settings an image holds, and the decision —
// all on a ManualClock, no replica in sight.
#include "broker/replication/replication_quota.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"

namespace strata::replication {
namespace {

namespace records = metadata::testing;

constexpr char kTopicId[] = "AAAAAAAAAAAAAAAAAAAAAA";
constexpr char kOtherId[] = "BBBBBBBBBBBBBBBBBBBBBB";

std::shared_ptr<const metadata::MetadataImage> ImageOf(
    const std::vector<internal::MetadataRecord>& rs,
    std::shared_ptr<const metadata::MetadataImage> base = metadata::MetadataImage::Empty("c")) {
  auto next = base->Apply(records::Batch(rs), base->offset() + 2);
  EXPECT_TRUE(next.ok()) << next.status();
  return next.ok() ? *next : base;
}

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

// --- RateMeter ---

TEST(RateMeterTest, NothingRecordedIsRateZero) {
  RateMeter meter;
  EXPECT_EQ(meter.Rate(5000), 0);
  EXPECT_EQ(meter.MsUntilRateAtMost(0, 5000), 0);
}

TEST(RateMeterTest, AFirstBurstIsSpreadOverOneSampleAtLeast) {
  RateMeter meter;
  meter.Record(1000, 10'000);
  EXPECT_DOUBLE_EQ(meter.Rate(10'000), 1000) << "1000 bytes over the 1 s floor";
  EXPECT_DOUBLE_EQ(meter.Rate(10'500), 1000);
  EXPECT_DOUBLE_EQ(meter.Rate(12'000), 500) << "2 s since the sample began";
  EXPECT_DOUBLE_EQ(meter.Rate(14'000), 250);
}

TEST(RateMeterTest, ASteadyRateReadsAsItselfOnceTheWindowIsFull) {
  RateMeter meter;
  // 100 bytes every 100 ms for 30 s: 1000 bytes/s.
  for (int64_t t = 0; t < 30'000; t += 100) meter.Record(100, t);
  EXPECT_NEAR(meter.Rate(29'950), 1000, 40);
}

TEST(RateMeterTest, SamplesOlderThanTheWindowAreForgotten) {
  RateMeter meter;  // 11 samples of 1 s
  meter.Record(11'000, 0);
  EXPECT_DOUBLE_EQ(meter.Rate(10'000), 1100);
  EXPECT_NEAR(meter.Rate(10'999), 1000.1, 0.1);
  EXPECT_EQ(meter.Rate(11'000), 0) << "its sample is 11 s old: out of the window";
  // Newer samples stay, and only they count.
  meter.Record(500, 11'000);
  EXPECT_DOUBLE_EQ(meter.Rate(11'000), 500);
}

TEST(RateMeterTest, AtMostTheConfiguredNumberOfSamplesAreKept) {
  RateMeter meter(RateMeter::Options{.samples = 3, .sample_ms = 100});
  meter.Record(100, 0);    // sample 1, expires when sample 4 begins
  meter.Record(100, 100);  // 2
  meter.Record(100, 200);  // 3
  EXPECT_DOUBLE_EQ(meter.Rate(250), 300.0 * 1000 / 250);
  meter.Record(100, 299);  // still sample 3
  meter.Record(100, 300);  // sample 4: sample 1 drops out
  EXPECT_DOUBLE_EQ(meter.Rate(300), 400.0 * 1000 / 200);
}

TEST(RateMeterTest, TheWaitUntilTheRateIsBackUnderABound) {
  RateMeter meter;
  meter.Record(3000, 0);
  ASSERT_DOUBLE_EQ(meter.Rate(0), 3000);
  EXPECT_EQ(meter.MsUntilRateAtMost(3000, 0), 0);
  const int64_t wait = meter.MsUntilRateAtMost(1000, 0);
  EXPECT_EQ(wait, 3000) << "3000 bytes reach 1000 bytes/s over 3 s";
  EXPECT_GT(meter.Rate(wait - 1), 1000);
  EXPECT_LE(meter.Rate(wait), 1000);
  // A bound of 0 waits for every sample to leave the window.
  EXPECT_EQ(meter.MsUntilRateAtMost(0, 0), 11'000);
}

// --- ThrottledReplicaList ---

TEST(ThrottledReplicaListTest, ParsesPairsAndStar) {
  auto list = ThrottledReplicaList::Parse("0:1,1:2, 3:101 ");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->Contains(0, 1));
  EXPECT_TRUE(list->Contains(1, 2));
  EXPECT_TRUE(list->Contains(3, 101));
  EXPECT_FALSE(list->Contains(0, 2)) << "partition 0's replica on broker 2 is not listed";
  EXPECT_FALSE(list->Contains(1, 1));
  EXPECT_FALSE(list->all());

  auto all = ThrottledReplicaList::Parse(" * ");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->all());
  EXPECT_TRUE(all->Contains(0, 1));
  EXPECT_TRUE(all->Contains(99, 42));

  for (const char* empty : {"", "  ", ",", "0:1,,"}) {
    auto l = ThrottledReplicaList::Parse(empty);
    ASSERT_TRUE(l.ok()) << "'" << empty << "': " << l.status();
    EXPECT_FALSE(l->Contains(5, 5)) << "'" << empty << "'";
  }
  EXPECT_TRUE(ThrottledReplicaList::Parse("")->empty());
}

TEST(ThrottledReplicaListTest, RefusesAnythingElse) {
  for (const char* bad : {"0", "a:b", "0:1:2", "0-1", "-1:2", "0:-2", "*,0:1", "**", "0 : 1",
                          "99999999999:1", "0:1;1:2", "all"}) {
    auto list = ThrottledReplicaList::Parse(bad);
    EXPECT_FALSE(list.ok()) << "'" << bad << "' parsed";
    if (!list.ok()) {
      EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// --- ReplicationThrottle::FromImage ---

TEST(ReplicationThrottleFromImageTest, ReadsTheBrokersRateAndTheTopicsLists) {
  auto image = ImageOf({
      records::RegisterBroker(1, 1, false),
      records::RegisterBroker(2, 1, false),
      records::Topic("T", kTopicId),
      records::Partition(kTopicId, 0, {1, 2}, {1}, 1),
      records::Topic("U", kOtherId),
      records::Partition(kOtherId, 0, {1}, {1}, 1),
      records::BrokerConfig("", kLeaderThrottledRate, "5000"),
      records::BrokerConfig("1", kLeaderThrottledRate, "10000000"),
      records::BrokerConfig("2", kFollowerThrottledRate, "7"),
      records::Config("T", kLeaderThrottledReplicas, "0:1"),
      records::Config("T", kFollowerThrottledReplicas, "0:2"),
      records::Config("U", kFollowerThrottledReplicas, "*"),
  });
  ReplicationThrottle leader1 = ReplicationThrottle::FromImage(*image, ReplicationSide::kLeader, 1);
  EXPECT_EQ(leader1.rate, 10'000'000) << "broker 1's own value";
  ASSERT_EQ(leader1.topics.size(), 1u);
  EXPECT_TRUE(leader1.topics.at("T").Contains(0, 1));

  ReplicationThrottle leader2 = ReplicationThrottle::FromImage(*image, ReplicationSide::kLeader, 2);
  EXPECT_EQ(leader2.rate, 5000) << "the cluster default";

  ReplicationThrottle follower2 =
      ReplicationThrottle::FromImage(*image, ReplicationSide::kFollower, 2);
  EXPECT_EQ(follower2.rate, 7);
  ASSERT_EQ(follower2.topics.size(), 2u);
  EXPECT_TRUE(follower2.topics.at("T").Contains(0, 2));
  EXPECT_TRUE(follower2.topics.at("U").all());

  ReplicationThrottle follower1 =
      ReplicationThrottle::FromImage(*image, ReplicationSide::kFollower, 1);
  EXPECT_FALSE(follower1.rate.has_value()) << "no follower rate for broker 1: unbounded";
}

TEST(ReplicationThrottleFromImageTest, ValuesThatDoNotParseAreIgnored) {
  auto image = ImageOf({
      records::Topic("T", kTopicId),
      records::Partition(kTopicId, 0, {1}, {1}, 1),
      records::BrokerConfig("1", kLeaderThrottledRate, "ten megabytes"),
      records::BrokerConfig("", kFollowerThrottledRate, "-5"),
      records::Config("T", kLeaderThrottledReplicas, "0:1,oops"),
  });
  std::set<std::string> warned;
  ReplicationThrottle leader =
      ReplicationThrottle::FromImage(*image, ReplicationSide::kLeader, 1, &warned);
  EXPECT_FALSE(leader.rate.has_value());
  EXPECT_TRUE(leader.topics.empty()) << "a bad list throttles nothing, not even its good part";
  ReplicationThrottle follower =
      ReplicationThrottle::FromImage(*image, ReplicationSide::kFollower, 1, &warned);
  EXPECT_FALSE(follower.rate.has_value());
  EXPECT_EQ(warned.size(), 3u) << "each bad value warned about";
  ReplicationThrottle::FromImage(*image, ReplicationSide::kLeader, 1, &warned);
  EXPECT_EQ(warned.size(), 3u) << "once";
}

// --- ReplicationQuota ---

class ReplicationQuotaTest : public ::testing::Test {
 protected:
  ReplicationThrottle Throttle(std::optional<int64_t> rate, const std::string& topic,
                               const std::string& list) {
    ReplicationThrottle t;
    t.rate = rate;
    auto parsed = ThrottledReplicaList::Parse(list);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    t.topics.emplace(topic, *parsed);
    return t;
  }

  ManualClock clock_{1'000'000};
  ReplicationQuota quota_{ReplicationSide::kFollower, 2, &clock_};
};

TEST_F(ReplicationQuotaTest, ThrottlesListedReplicasOutOfSyncOnlyWhileTheQuotaIsExceeded) {
  quota_.Configure(Throttle(1000, "T", "0:2,1:3"));
  const TopicPartition t0 = Tp("T", 0);
  EXPECT_TRUE(quota_.IsThrottled(t0));
  EXPECT_FALSE(quota_.IsThrottled(Tp("T", 1))) << "partition 1's listed replica is broker 3's";
  EXPECT_FALSE(quota_.IsThrottled(Tp("U", 0))) << "a topic with no list";

  EXPECT_FALSE(quota_.IsQuotaExceeded());
  EXPECT_FALSE(quota_.ShouldThrottle(t0, /*in_sync=*/false)) << "under the quota: fetch";
  quota_.Record(1000);
  EXPECT_FALSE(quota_.IsQuotaExceeded()) << "1000 bytes/s is the bound, not above it";
  quota_.Record(1);
  EXPECT_TRUE(quota_.IsQuotaExceeded());
  EXPECT_TRUE(quota_.ShouldThrottle(t0, /*in_sync=*/false));
  EXPECT_FALSE(quota_.ShouldThrottle(t0, /*in_sync=*/true)) << "in-sync replicas never wait";
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("T", 1), false)) << "not listed for this broker";
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("U", 0), false)) << "not listed at all";

  const int64_t wait = quota_.ThrottleTimeMs();
  EXPECT_EQ(wait, 1001);
  clock_.AdvanceMs(wait - 1);
  EXPECT_TRUE(quota_.ShouldThrottle(t0, false));
  clock_.AdvanceMs(1);
  EXPECT_FALSE(quota_.ShouldThrottle(t0, false)) << "the rate fell back to the bound";
  EXPECT_EQ(quota_.ThrottleTimeMs(), 0);
}

TEST_F(ReplicationQuotaTest, StarThrottlesEveryPartitionOfItsTopic) {
  quota_.Configure(Throttle(10, "T", "*"));
  quota_.Record(100);
  for (int32_t p : {0, 1, 7}) EXPECT_TRUE(quota_.ShouldThrottle(Tp("T", p), false)) << p;
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("T", 0), true));
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("U", 0), false));
}

TEST_F(ReplicationQuotaTest, NoRateMeansNeverExceeded) {
  quota_.Configure(Throttle(std::nullopt, "T", "*"));
  quota_.Record(int64_t{1} << 40);
  EXPECT_TRUE(quota_.IsThrottled(Tp("T", 0)));
  EXPECT_FALSE(quota_.IsQuotaExceeded());
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("T", 0), false));
  EXPECT_EQ(quota_.ThrottleTimeMs(), 0);
}

TEST_F(ReplicationQuotaTest, FollowsTheImageItIsGiven) {
  auto image = ImageOf({
      records::Topic("T", kTopicId),
      records::Partition(kTopicId, 0, {1, 2}, {1}, 1),
      records::BrokerConfig("2", kFollowerThrottledRate, "1000"),
      records::Config("T", kFollowerThrottledReplicas, "0:2"),
  });
  quota_.Update(image);
  quota_.Record(5000);
  EXPECT_TRUE(quota_.ShouldThrottle(Tp("T", 0), false));
  quota_.Update(image);  // the same image: nothing changes
  EXPECT_TRUE(quota_.ShouldThrottle(Tp("T", 0), false));
  quota_.Update(nullptr);  // no image: no settings, no throttle
  EXPECT_FALSE(quota_.ShouldThrottle(Tp("T", 0), false));
  quota_.Update(image);
  EXPECT_TRUE(quota_.ShouldThrottle(Tp("T", 0), false));

  // The reassignment finished: --verify removes the throttle.
  auto cleared = ImageOf({records::BrokerConfig("2", kFollowerThrottledRate, std::nullopt),
                          records::Config("T", kFollowerThrottledReplicas, std::nullopt)},
                         image);
  quota_.Update(cleared);
  EXPECT_FALSE(quota_.IsThrottled(Tp("T", 0)));
  EXPECT_FALSE(quota_.IsQuotaExceeded());
}

TEST_F(ReplicationQuotaTest, TheLeaderSideReadsItsOwnKeys) {
  ReplicationQuota leader(ReplicationSide::kLeader, 1, &clock_);
  auto image = ImageOf({
      records::Topic("T", kTopicId),
      records::Partition(kTopicId, 0, {1, 2}, {1}, 1),
      records::BrokerConfig("1", kLeaderThrottledRate, "1000"),
      records::BrokerConfig("1", kFollowerThrottledRate, "1"),
      records::Config("T", kLeaderThrottledReplicas, "0:1"),
      records::Config("T", kFollowerThrottledReplicas, "0:2"),
  });
  leader.Update(image);
  EXPECT_TRUE(leader.IsThrottled(Tp("T", 0)));
  leader.Record(1000);
  EXPECT_FALSE(leader.IsQuotaExceeded()) << "the leader's bound is 1000, not the follower's 1";
  leader.Record(1);
  EXPECT_TRUE(leader.IsQuotaExceeded());
}

}  // namespace
}  // namespace strata::replication
