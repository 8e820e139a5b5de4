#include "broker/storage/segment.h"

#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

using testing::MakeBatch;

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/s").ok()); }

  // Appends a batch of `count` records at `base`; returns its size.
  size_t AppendAt(Segment& seg, int64_t base, int count, int64_t ts = 1000) {
    std::string batch = MakeBatch(static_cast<int>(base), count, ts);
    record::SetBaseOffset(batch.data(), Offset(base));
    auto header = record::ValidateBatch(batch);
    EXPECT_TRUE(header.ok());
    EXPECT_TRUE(seg.Append(*header, batch).ok());
    return batch.size();
  }

  MemFileSystem fs_;
};

TEST_F(SegmentTest, FileNamesAreTheBaseOffsetInTwentyDigits) {
  EXPECT_EQ(SegmentFileStem(Offset(0)), "00000000000000000000");
  EXPECT_EQ(SegmentFileStem(Offset(368769)), "00000000000000368769");
  auto seg = Segment::Create(&fs_, "/s", Offset(42), {});
  ASSERT_TRUE(seg.ok());
  EXPECT_TRUE(fs_.Exists("/s/00000000000000000042.log"));
  EXPECT_TRUE(fs_.Exists("/s/00000000000000000042.index"));
  EXPECT_TRUE(fs_.Exists("/s/00000000000000000042.timeindex"));
  EXPECT_EQ((*seg)->next_offset(), Offset(42));
  ASSERT_TRUE((*seg)->DeleteFiles().ok());
  EXPECT_FALSE(fs_.Exists("/s/00000000000000000042.log"));
}

TEST_F(SegmentTest, FindBatchHandlesGapsAndTheEnd) {
  auto seg = Segment::Create(&fs_, "/s", Offset(100), {.index_interval_bytes = 1});
  ASSERT_TRUE(seg.ok());
  AppendAt(**seg, 100, 5);  // 100..104
  AppendAt(**seg, 110, 5);  // 110..114: a gap, as compaction leaves
  AppendAt(**seg, 115, 1);
  EXPECT_EQ((*seg)->next_offset(), Offset(116));
  EXPECT_EQ((*seg)->offset_index().entries().size(),
            2u);  // interval 1: every batch after the first

  auto loc = (*seg)->FindBatch(Offset(107));
  ASSERT_TRUE(loc.ok() && loc->has_value());
  EXPECT_EQ((*loc)->header.base_offset, Offset(110));
  loc = (*seg)->FindBatch(Offset(104));
  EXPECT_EQ((*loc)->header.base_offset, Offset(100));
  EXPECT_EQ((*loc)->position, 0u);
  loc = (*seg)->FindBatch(Offset(115));
  EXPECT_EQ((*loc)->header.base_offset, Offset(115));
  loc = (*seg)->FindBatch(Offset(116));
  ASSERT_TRUE(loc.ok());
  EXPECT_FALSE(loc->has_value());
}

TEST_F(SegmentTest, ReopenReadsTheTailToFindTheNextOffset) {
  {
    auto seg = Segment::Create(&fs_, "/s", Offset(0), {.index_interval_bytes = 100});
    for (int i = 0; i < 20; ++i) AppendAt(**seg, i * 3, 3, 5000 + i);
    ASSERT_TRUE((*seg)->OnRoll().ok());
  }
  auto seg = Segment::Open(&fs_, "/s", Offset(0), {});
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ((*seg)->next_offset(), Offset(60));
  EXPECT_EQ((*seg)->max_timestamp(), 5019 + 2);
  // segment.ms counts from the first batch's max timestamp (5002).
  EXPECT_EQ((*seg)->TimeWaitedForRoll(/*now_ms=*/1, /*incoming_max_timestamp=*/6002), 1000);
}

TEST_F(SegmentTest, RecoveryCutsAtTheFirstBadBatchOnlyAboveTheIntactPoint) {
  std::vector<size_t> ends;  // end position of each batch
  {
    auto seg = Segment::Create(&fs_, "/s", Offset(0), {});
    for (int i = 0; i < 6; ++i)
      ends.push_back((ends.empty() ? 0 : ends.back()) + AppendAt(**seg, i * 2, 2));
  }
  const std::string path = "/s/00000000000000000000.log";
  fs_.CorruptByte(path, ends[2] + 30);  // inside the fourth batch (offsets 6, 7)

  Segment::RecoveryResult result;
  auto strict = Segment::OpenAndRecover(&fs_, "/s", Offset(0), {}, Offset(8), &result);
  EXPECT_TRUE(absl::IsDataLoss(strict.status())) << strict.status();
  EXPECT_EQ(fs_.Contents(path)->size(), ends[5]);

  auto seg = Segment::OpenAndRecover(&fs_, "/s", Offset(0), {}, Offset(6), &result);
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ(result.truncated_bytes, ends[5] - ends[2]);
  EXPECT_NE(result.reason.find("CRC"), std::string::npos) << result.reason;
  EXPECT_EQ((*seg)->next_offset(), Offset(6));
  EXPECT_EQ(fs_.Contents(path)->size(), ends[2]);
}

TEST_F(SegmentTest, TruncateToRederivesTheEnd) {
  auto seg = Segment::Create(&fs_, "/s", Offset(0), {.index_interval_bytes = 1});
  size_t kept = 0;
  for (int i = 0; i < 10; ++i) {
    size_t size = AppendAt(**seg, i * 4, 4, 100 * i);
    if (i < 5) kept += size;
  }
  const size_t total = (*seg)->size();
  auto removed = (*seg)->TruncateTo(Offset(21));  // inside [20, 23]
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, total - kept);
  EXPECT_EQ((*seg)->size(), kept);
  EXPECT_EQ((*seg)->next_offset(), Offset(20));
  EXPECT_EQ((*seg)->max_timestamp(), 400 + 3);
  for (const auto& e : (*seg)->offset_index().entries()) EXPECT_LT(e.offset, Offset(20));
  for (const auto& e : (*seg)->time_index().entries()) EXPECT_LT(e.offset, Offset(20));
}

TEST_F(SegmentTest, HoldsADescriptorOnlyWhileBeingWritten) {
  auto seg = Segment::Create(&fs_, "/s", Offset(0), {.index_interval_bytes = 1});
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(fs_.open_files(), 0);  // a new, empty segment holds nothing
  for (int i = 0; i < 10; ++i) AppendAt(**seg, i * 2, 2);
  EXPECT_TRUE((*seg)->holds_write_handle());
  EXPECT_EQ(fs_.open_files(), 1);  // the .log; the indexes hold none
  auto loc = (*seg)->FindBatch(Offset(7));
  ASSERT_TRUE(loc.ok() && loc->has_value());
  EXPECT_EQ(fs_.open_files(), 1);  // reads share the write handle

  ASSERT_TRUE((*seg)->OnRoll().ok());
  EXPECT_FALSE((*seg)->holds_write_handle());
  EXPECT_EQ(fs_.open_files(), 0);
  // A rolled segment opens its .log for a read and closes it after.
  auto bytes = (*seg)->ReadAt((*loc)->position, 100);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 100u);
  loc = (*seg)->FindBatch(Offset(15));
  ASSERT_TRUE(loc.ok() && loc->has_value());
  EXPECT_EQ((*loc)->header.base_offset, Offset(14));
  EXPECT_EQ(fs_.open_files(), 0);
  // The .log, and for a moment an index being written.
  EXPECT_LE(fs_.peak_open_files(), 2);

  // Reopened, it holds nothing until written to.
  seg->reset();
  seg = Segment::Open(&fs_, "/s", Offset(0), {.index_interval_bytes = 1});
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ((*seg)->next_offset(), Offset(20));
  EXPECT_EQ(fs_.open_files(), 0);
  AppendAt(**seg, 20, 2);
  EXPECT_EQ(fs_.open_files(), 1);
  auto removed = (*seg)->TruncateTo(Offset(10));
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ((*seg)->next_offset(), Offset(10));
  ASSERT_TRUE((*seg)->OnRoll().ok());
  EXPECT_EQ(fs_.open_files(), 0);
}

TEST_F(SegmentTest, RecoveredBytesAreSyncedWithoutAWriteHandle) {
  {
    auto seg = Segment::Create(&fs_, "/s", Offset(0), {});
    for (int i = 0; i < 5; ++i) AppendAt(**seg, i * 2, 2);
    // The process dies here: the bytes are in the page cache, unsynced.
  }
  Segment::RecoveryResult result;
  auto seg = Segment::OpenAndRecover(&fs_, "/s", Offset(0), {}, Offset(0), &result);
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ(fs_.open_files(), 0);
  ASSERT_TRUE((*seg)->Flush().ok());
  fs_.SimulateCrash();  // now the machine loses its page cache
  seg = Segment::Open(&fs_, "/s", Offset(0), {});
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ((*seg)->next_offset(), Offset(10));
}

}  // namespace
}  // namespace strata::storage
