#include "client/partitioner.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::client {
namespace {

// Expected values from Kafka's UtilsTest.testMurmur2 (the Java client's
// org.apache.kafka.common.utils.Utils.murmur2), and from Akka's Murmur2Spec,
// which checks its port against the same Java function.
TEST(Murmur2Test, MatchesKafkaUtilsTestVectors) {
  const std::map<std::string, int32_t> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, hash] : cases) EXPECT_EQ(Murmur2(key), hash) << key;
}

TEST(Murmur2Test, MatchesShortKeysOfEveryTailLength) {
  EXPECT_EQ(Murmur2("1"), -1993445489);
  EXPECT_EQ(Murmur2("12"), 126087238);
  EXPECT_EQ(Murmur2("123"), -267702483);
  EXPECT_EQ(Murmur2("1234"), -1614185708);
  EXPECT_EQ(Murmur2("12345"), -1188365604);
}

TEST(Murmur2Test, ToPositiveClearsTheSignBitLikeKafka) {
  EXPECT_EQ(ToPositive(-1), 0x7fffffff);
  EXPECT_EQ(ToPositive(std::numeric_limits<int32_t>::min()), 0);
  EXPECT_EQ(ToPositive(5), 5);
}

TEST(PartitionerTest, KeyedRecordsUseMurmur2ModuloPartitions) {
  // "foobar" hashes to -790332482 (Kafka UtilsTest).
  const int32_t expected = (-790332482 & 0x7fffffff) % 3;
  Partitioner rr(KeylessPartitioning::kRoundRobin);
  Partitioner sticky(KeylessPartitioning::kSticky, 16384, 7);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rr.Partition("t", std::string("foobar"), 3), expected);
    EXPECT_EQ(sticky.Partition("t", std::string("foobar"), 3), expected);
  }
  EXPECT_EQ(PartitionForKey("abc", 10), 479470107 % 10);
}

TEST(PartitionerTest, KeylessRoundRobinMatchesTheSeedExample) {
  Partitioner p(KeylessPartitioning::kRoundRobin);
  std::map<int32_t, std::string> by_partition;
  for (char c = 'a'; c <= 'j'; ++c) {
    by_partition[p.Partition("topic", std::nullopt, 3)] += c;
  }
  EXPECT_EQ(by_partition[0], "adgj");
  EXPECT_EQ(by_partition[1], "beh");
  EXPECT_EQ(by_partition[2], "cfi");
}

TEST(PartitionerTest, RoundRobinCountsPerTopic) {
  Partitioner p(KeylessPartitioning::kRoundRobin);
  EXPECT_EQ(p.Partition("a", std::nullopt, 3), 0);
  EXPECT_EQ(p.Partition("b", std::nullopt, 3), 0);
  EXPECT_EQ(p.Partition("a", std::nullopt, 3), 1);
}

TEST(PartitionerTest, StickyKeepsOnePartitionUntilABatchIsFull) {
  Partitioner p(KeylessPartitioning::kSticky, /*sticky_batch_bytes=*/100, /*seed=*/42);
  const int32_t first = p.Partition("t", std::nullopt, 4, 30);
  EXPECT_EQ(p.Partition("t", std::nullopt, 4, 30), first);
  EXPECT_EQ(p.Partition("t", std::nullopt, 4, 30), first);
  EXPECT_EQ(p.Partition("t", std::nullopt, 4, 30), first);  // 120 bytes now
  EXPECT_NE(p.Partition("t", std::nullopt, 4, 30), first);
}

// Each topic keeps its own sticky partition and byte count, however the
// records of several topics interleave (and however many topics there are).
TEST(PartitionerTest, StickyStateIsPerTopicWhenTopicsInterleave) {
  Partitioner p(KeylessPartitioning::kSticky, /*sticky_batch_bytes=*/100, /*seed=*/42);
  const int32_t a = p.Partition("a", std::nullopt, 1000, 60);
  for (int i = 0; i < 50; ++i) p.Partition("t" + std::to_string(i), std::nullopt, 1000, 60);
  const int32_t b = p.Partition("b", std::nullopt, 1000, 60);
  // "a" has 60 of its 100 bytes: its next record stays; "b" likewise.
  EXPECT_EQ(p.Partition("a", std::nullopt, 1000, 30), a);
  EXPECT_EQ(p.Partition("b", std::nullopt, 1000, 30), b);
  // Now both are at 90 bytes; one more record each fills them (120) ...
  EXPECT_EQ(p.Partition("a", std::nullopt, 1000, 30), a);
  EXPECT_EQ(p.Partition("b", std::nullopt, 1000, 30), b);
  // ... and the next moves each to another partition.
  EXPECT_NE(p.Partition("a", std::nullopt, 1000, 30), a);
  EXPECT_NE(p.Partition("b", std::nullopt, 1000, 30), b);
}

}  // namespace
}  // namespace strata::client
