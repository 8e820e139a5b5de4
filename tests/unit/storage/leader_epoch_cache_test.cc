#include "broker/storage/leader_epoch_cache.h"

#include "broker/storage/log.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

using testing::MakeBatch;

EpochEntry E(int32_t epoch, int64_t start) { return {Epoch(epoch), Offset(start)}; }

class LeaderEpochCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/p").ok()); }
  LeaderEpochCache Load() {
    auto c = LeaderEpochCache::Load(&fs_, "/p");
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  MemFileSystem fs_;
};

// defer_save keeps the file as it was until SaveIfDirty; a save that fails
// stays pending, so the next SaveIfDirty tries again instead of leaving the
// file behind for good.
TEST_F(LeaderEpochCacheTest, ADeferredOrFailedSaveStaysPendingUntilASaveSucceeds) {
  LeaderEpochCache c = Load();
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
  EXPECT_FALSE(c.dirty());
  ASSERT_TRUE(c.Assign(Epoch(2), Offset(10), /*defer_save=*/true).ok());
  EXPECT_TRUE(c.dirty());
  EXPECT_EQ(c.latest_epoch(), Epoch(2));
  EXPECT_EQ(Load().entries(), (std::vector<EpochEntry>{E(1, 0)}));
  ASSERT_TRUE(c.SaveIfDirty().ok());
  EXPECT_FALSE(c.dirty());
  EXPECT_EQ(Load().entries(), (std::vector<EpochEntry>{E(1, 0), E(2, 10)}));

  // An immediate save that fails (a short write) is pending too.
  fs_.InjectShortWrite(kLeaderEpochCheckpointFile + std::string(".tmp"), 3);
  EXPECT_FALSE(c.Assign(Epoch(3), Offset(20)).ok());
  EXPECT_TRUE(c.dirty());
  EXPECT_EQ(Load().entries(), (std::vector<EpochEntry>{E(1, 0), E(2, 10)}));
  ASSERT_TRUE(c.SaveIfDirty().ok());
  EXPECT_FALSE(c.dirty());
  EXPECT_EQ(Load().entries(), (std::vector<EpochEntry>{E(1, 0), E(2, 10), E(3, 20)}));
}

TEST_F(LeaderEpochCacheTest, AssignsPersistsAndAnswersEndOffsets) {
  {
    LeaderEpochCache c = Load();
    EXPECT_EQ(c.EndOffsetFor(Epoch(0), Offset(0)), EpochEndOffset{});
    ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
    ASSERT_TRUE(c.Assign(Epoch(1), Offset(5)).ok());  // same epoch: no change
    ASSERT_TRUE(c.Assign(Epoch(3), Offset(10)).ok());
    ASSERT_TRUE(c.Assign(Epoch(2), Offset(12)).ok());  // older epoch: ignored
    ASSERT_TRUE(c.Assign(Epoch(12), Offset(20)).ok());
    EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{E(1, 0), E(3, 10), E(12, 20)}));
  }
  LeaderEpochCache c = Load();  // numeric order even though "12" < "3" as text
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{E(1, 0), E(3, 10), E(12, 20)}));
  EXPECT_EQ(c.latest_epoch(), Epoch(12));
  // Latest epoch: the log end. Older: where the next one starts, with the
  // largest known epoch at or below the one asked for (KIP-279).
  EXPECT_EQ(c.EndOffsetFor(Epoch(12), Offset(27)), (EpochEndOffset{Epoch(12), Offset(27)}));
  EXPECT_EQ(c.EndOffsetFor(Epoch(3), Offset(27)), (EpochEndOffset{Epoch(3), Offset(20)}));
  EXPECT_EQ(c.EndOffsetFor(Epoch(2), Offset(27)), (EpochEndOffset{Epoch(1), Offset(10)}));
  EXPECT_EQ(c.EndOffsetFor(Epoch(0), Offset(27)), (EpochEndOffset{Epoch(0), Offset(0)}));
  EXPECT_EQ(c.EndOffsetFor(Epoch(13), Offset(27)), EpochEndOffset{});
}

TEST_F(LeaderEpochCacheTest, TruncationFromEitherEnd) {
  LeaderEpochCache c = Load();
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
  ASSERT_TRUE(c.Assign(Epoch(2), Offset(10)).ok());
  ASSERT_TRUE(c.Assign(Epoch(4), Offset(20)).ok());
  ASSERT_TRUE(c.TruncateFromEnd(Offset(20)).ok());
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{E(1, 0), E(2, 10)}));
  ASSERT_TRUE(c.TruncateFromStart(Offset(15)).ok());
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{E(2, 15)}));
  EXPECT_EQ(Load().entries(), (std::vector<EpochEntry>{E(2, 15)}));
  // A newer epoch starting below an old start replaces what it overlaps.
  ASSERT_TRUE(c.Assign(Epoch(5), Offset(12)).ok());
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{E(5, 12)}));
}

TEST_F(LeaderEpochCacheTest, CorruptCheckpointIsDataLoss) {
  ASSERT_TRUE(WriteCheckpoint(&fs_, "/p/leader-epoch-checkpoint", {{"1", 10}, {"2", 5}}).ok());
  EXPECT_TRUE(absl::IsDataLoss(LeaderEpochCache::Load(&fs_, "/p").status()));
  ASSERT_TRUE(WriteCheckpoint(&fs_, "/p/leader-epoch-checkpoint", {{"x", 10}}).ok());
  EXPECT_TRUE(absl::IsDataLoss(LeaderEpochCache::Load(&fs_, "/p").status()));
}

// The log keeps its epoch cache in step with appends, truncation and
// recovery; a lost checkpoint is rebuilt from the batches.
TEST(LogEpochsTest, FollowAppendsTruncationAndRebuild) {
  MemFileSystem fs;
  ManualClock clock;
  LogConfig config;
  config.segment_bytes = 400;
  auto log = Log::Open(&fs, &clock, "/d/t-0", config, false);
  ASSERT_TRUE(log.ok());
  auto append = [&](int id, Epoch epoch) {
    std::string b = MakeBatch(id, 2);
    ASSERT_TRUE((*log)->AppendAsLeader(&b, epoch).ok());
  };
  append(0, Epoch(1));   // 0-1
  append(2, Epoch(1));   // 2-3
  append(4, Epoch(3));   // 4-5
  append(6, Epoch(3));   // 6-7
  append(8, Epoch(4));   // 8-9
  EXPECT_EQ((*log)->latest_epoch(), Epoch(4));
  EXPECT_EQ((*log)->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(4)}));
  EXPECT_EQ((*log)->EndOffsetForEpoch(Epoch(2)), (EpochEndOffset{Epoch(1), Offset(4)}));
  EXPECT_EQ((*log)->EndOffsetForEpoch(Epoch(4)), (EpochEndOffset{Epoch(4), Offset(10)}));

  // A follower dropping its divergent suffix loses the epochs in it.
  ASSERT_TRUE((*log)->TruncateTo(Offset(6)).ok());
  EXPECT_EQ((*log)->latest_epoch(), Epoch(3));
  EXPECT_EQ((*log)->EndOffsetForEpoch(Epoch(3)), (EpochEndOffset{Epoch(3), Offset(6)}));

  // Without its checkpoint, a reopened log rebuilds the cache from batches.
  log->reset();
  ASSERT_TRUE(fs.DeleteFile("/d/t-0/leader-epoch-checkpoint").ok());
  log = Log::Open(&fs, &clock, "/d/t-0", config, true);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(4)}));
  EXPECT_EQ((*log)->latest_epoch(), Epoch(3));
}

}  // namespace
}  // namespace strata::storage
