#include "client/metadata_cache.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::client {
namespace {

using strata::testing::FakeCluster;
using Count = std::optional<std::pair<v1::ErrorCode, int32_t>>;

Count Partitions(int32_t n) { return std::make_pair(v1::NONE, n); }

// PartitionCount answers from what the last refresh brought, however often
// a thread asks: partitions added and seen by a refresh are counted at once.
TEST(MetadataCacheTest, PartitionCountFollowsEachRefresh) {
  FakeCluster cluster(1);
  cluster.AddTopic("a", 1);
  ConnectionPool pool;
  MetadataCache cache({cluster.bootstrap()}, &pool, absl::Seconds(2));
  EXPECT_EQ(cache.PartitionCount("a"), std::nullopt);  // not refreshed yet
  ASSERT_TRUE(cache.Refresh({"a"}).ok());
  EXPECT_EQ(cache.PartitionCount("a"), Partitions(1));
  EXPECT_EQ(cache.PartitionCount("a"), Partitions(1));
  cluster.AddTopic("a", 3);
  EXPECT_EQ(cache.PartitionCount("a"), Partitions(1));  // until the refresh
  ASSERT_TRUE(cache.Refresh({"a"}).ok());
  EXPECT_EQ(cache.PartitionCount("a"), Partitions(3));
  // A topic the cluster does not know is cached with its error.
  ASSERT_TRUE(cache.Refresh({"b"}).ok());
  EXPECT_EQ(cache.PartitionCount("b"), std::make_pair(v1::UNKNOWN_TOPIC_OR_PARTITION, 0));
  EXPECT_EQ(cache.PartitionCount("a"), Partitions(3));
}

// Two caches asked by one thread about topics of the same name, in turn and
// one after the other is gone (a new cache may take the old one's address):
// each answers from its own cluster.
TEST(MetadataCacheTest, CachesAskedByOneThreadEachAnswerForTheirCluster) {
  FakeCluster one(1);
  FakeCluster two(1);
  one.AddTopic("t", 2);
  two.AddTopic("t", 5);
  ConnectionPool pool;
  MetadataCache first({one.bootstrap()}, &pool, absl::Seconds(2));
  MetadataCache second({two.bootstrap()}, &pool, absl::Seconds(2));
  ASSERT_TRUE(first.Refresh({"t"}).ok());
  ASSERT_TRUE(second.Refresh({"t"}).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(first.PartitionCount("t"), Partitions(2));
    EXPECT_EQ(second.PartitionCount("t"), Partitions(5));
  }
  for (int i = 0; i < 3; ++i) {
    auto cache = std::make_unique<MetadataCache>(
        std::vector<std::string>{i % 2 == 0 ? one.bootstrap() : two.bootstrap()}, &pool,
        absl::Seconds(2));
    EXPECT_EQ(cache->PartitionCount("t"), std::nullopt);
    ASSERT_TRUE(cache->Refresh({"t"}).ok());
    EXPECT_EQ(cache->PartitionCount("t"), Partitions(i % 2 == 0 ? 2 : 5));
  }
}

}  // namespace
}  // namespace strata::client
