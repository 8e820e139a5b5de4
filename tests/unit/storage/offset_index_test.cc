#include "broker/storage/offset_index.h"

#include "broker/storage/mem_file_system.h"
#include "broker/storage/time_index.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/p").ok()); }
  MemFileSystem fs_;
};

TEST_F(IndexTest, LookupFindsLastEntryAtOrBelowTarget) {
  auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(100), false);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(index->Append(Offset(110), 4000).ok());
  ASSERT_TRUE(index->Append(Offset(130), 9000).ok());
  EXPECT_EQ(index->Lookup(Offset(100)).position, 0u);  // before any entry: the start
  EXPECT_EQ(index->Lookup(Offset(109)).position, 0u);
  EXPECT_EQ(index->Lookup(Offset(110)).position, 4000u);
  EXPECT_EQ(index->Lookup(Offset(129)).position, 4000u);
  EXPECT_EQ(index->Lookup(Offset(500)).position, 9000u);

  // Entries are buffered until a sync, then stored big-endian, relative to
  // the base: (10, 4000), (30, 9000).
  EXPECT_EQ(fs_.Contents("/p/i.index")->size(), 0u);
  ASSERT_TRUE(index->Sync().ok());
  EXPECT_EQ(fs_.Contents("/p/i.index"),
            std::string("\0\0\0\x0a\0\0\x0f\xa0\0\0\0\x1e\0\0\x23\x28", 16));

  auto reopened = OffsetIndex::Open(&fs_, "/p/i.index", Offset(100), false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->entries().size(), 2u);
  EXPECT_EQ(reopened->Lookup(Offset(131)).offset, Offset(130));

  ASSERT_TRUE(reopened->TruncateTo(Offset(130)).ok());
  EXPECT_EQ(reopened->entries().size(), 1u);
  EXPECT_EQ(fs_.Contents("/p/i.index")->size(), 8u);
  ASSERT_TRUE(reopened->TruncateToPosition(4000).ok());
  EXPECT_TRUE(reopened->entries().empty());
}

TEST_F(IndexTest, TornOrDisorderedIndexIsDataLoss) {
  {
    auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
    ASSERT_TRUE(index->Append(Offset(5), 100).ok());
    ASSERT_TRUE(index->Append(Offset(9), 200).ok());
    ASSERT_TRUE(index->Sync().ok());
  }
  fs_.TruncateFile("/p/i.index", 12);
  EXPECT_TRUE(absl::IsDataLoss(OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false).status()));

  // Reset discards a bad file.
  {
    auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), true);
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE(index->Append(Offset(5), 100).ok());
    ASSERT_TRUE(index->Append(Offset(9), 200).ok());
    ASSERT_TRUE(index->Sync().ok());
  }
  fs_.CorruptByte("/p/i.index", 11, 0x0d);  // second entry's offset 9 becomes 4, below the first
  EXPECT_TRUE(absl::IsDataLoss(OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false).status()));
}

TEST_F(IndexTest, PositionsPastTheLogAreCaught) {
  auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
  ASSERT_TRUE(index->Append(Offset(5), 100).ok());
  EXPECT_TRUE(index->CheckPositionsBelow(101).ok());
  EXPECT_TRUE(absl::IsDataLoss(index->CheckPositionsBelow(100)));
}

TEST_F(IndexTest, TimeIndexRecordsOnlyNewMaxima) {
  auto index = TimeIndex::Open(&fs_, "/p/t.timeindex", Offset(50), false);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(index->MaybeAppend(1000, Offset(55)).ok());
  ASSERT_TRUE(index->MaybeAppend(900, Offset(60)).ok());  // older: skipped
  ASSERT_TRUE(index->MaybeAppend(2000, Offset(70)).ok());
  ASSERT_EQ(index->entries().size(), 2u);
  ASSERT_TRUE(index->Sync().ok());
  EXPECT_FALSE(index->Lookup(999).has_value());
  EXPECT_EQ(index->Lookup(1000)->offset, Offset(55));
  EXPECT_EQ(index->Lookup(1999)->offset, Offset(55));
  EXPECT_EQ(index->Lookup(5000)->offset, Offset(70));

  auto reopened = TimeIndex::Open(&fs_, "/p/t.timeindex", Offset(50), false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->entries().size(), 2u);
  ASSERT_TRUE(reopened->TruncateTo(Offset(70)).ok());
  EXPECT_EQ(reopened->entries().size(), 1u);
  EXPECT_EQ(fs_.Contents("/p/t.timeindex")->size(), 12u);
}

TEST_F(IndexTest, IndexesHoldNoDescriptor) {
  auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
  auto time_index = TimeIndex::Open(&fs_, "/p/t.timeindex", Offset(0), false);
  ASSERT_TRUE(index.ok() && time_index.ok());
  EXPECT_EQ(fs_.open_files(), 0);
  // Enough entries to write the 4 KiB buffer out several times.
  for (int i = 1; i <= 2000; ++i) {
    ASSERT_TRUE(index->Append(Offset(i), static_cast<uint32_t>(i * 100)).ok());
    ASSERT_TRUE(time_index->MaybeAppend(1000 + i, Offset(i)).ok());
    ASSERT_EQ(fs_.open_files(), 0);
  }
  EXPECT_GT(fs_.Contents("/p/i.index")->size(), 0u);
  ASSERT_TRUE(index->TruncateTo(Offset(1500)).ok());
  ASSERT_TRUE(index->Sync().ok());
  ASSERT_TRUE(time_index->Sync().ok());
  EXPECT_EQ(fs_.open_files(), 0);
  EXPECT_LE(fs_.peak_open_files(), 1);

  auto reopened = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->entries().size(), 1499u);
  EXPECT_EQ(fs_.open_files(), 0);
  // An unchanged index is not even opened to sync it.
  const int64_t syncs = fs_.sync_count();
  ASSERT_TRUE(reopened->Sync().ok());
  EXPECT_EQ(fs_.sync_count(), syncs);
}

TEST_F(IndexTest, EntriesWrittenBeforeACrashSurviveOnlyWhenSynced) {
  auto index = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
  ASSERT_TRUE(index->Append(Offset(5), 100).ok());
  ASSERT_TRUE(index->Sync().ok());
  ASSERT_TRUE(index->Append(Offset(9), 200).ok());
  fs_.SimulateCrash();
  auto reopened = OffsetIndex::Open(&fs_, "/p/i.index", Offset(0), false);
  ASSERT_TRUE(reopened.ok());
  ASSERT_EQ(reopened->entries().size(), 1u);
  EXPECT_EQ(reopened->entries()[0].offset, Offset(5));
}

}  // namespace
}  // namespace strata::storage
