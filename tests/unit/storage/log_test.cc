#include "broker/storage/log.h"

#include <random>

#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

using testing::MakeBatch;
using testing::Values;

constexpr char kDir[] = "/data/orders-0";

std::vector<std::string> Ids(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("v" + std::to_string(i));
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> OpenLog(bool clean = false) {
    auto log = Log::Open(&fs_, &clock_, kDir, config_, clean);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Appends `batches` batches of `per_batch` records with ids continuing
  // from next_id_.
  void Append(Log& log, int batches, int per_batch, size_t padding = 0) {
    for (int b = 0; b < batches; ++b) {
      std::string batch = MakeBatch(next_id_, per_batch, clock_.NowMs(), padding);
      auto info = log.AppendAsLeader(&batch, Epoch(1));
      ASSERT_TRUE(info.ok()) << info.status();
      ASSERT_EQ(info->first_offset, Offset(next_id_));
      ASSERT_EQ(info->last_offset, Offset(next_id_ + per_batch - 1));
      next_id_ += per_batch;
    }
  }

  std::vector<std::string> ReadAll(const Log& log) {
    std::vector<std::string> out;
    Offset next = log.log_start_offset();
    for (int guard = 0; guard < 100000 && next < log.log_end_offset(); ++guard) {
      auto read = log.Read(next, 64 * 1024, log.log_end_offset());
      EXPECT_TRUE(read.ok()) << read.status();
      if (!read.ok() || read->batches.empty()) break;
      for (auto& v : Values(read->batches)) out.push_back(v);
      record::BatchIterator it(read->batches);
      record::BatchHeader h;
      std::string_view b;
      while (it.Next(&h, &b)) next = h.next_offset();
    }
    return out;
  }

  std::string SegmentPath(Offset base, const char* ext = ".log") {
    return std::string(kDir) + "/" + SegmentFileStem(base) + ext;
  }

  MemFileSystem fs_;
  ManualClock clock_;
  LogConfig config_;
  int next_id_ = 0;
};

TEST_F(LogTest, AppendAssignsOffsetsAndReadReturnsWholeBatches) {
  auto log = OpenLog();
  Append(*log, 3, 4);
  EXPECT_EQ(log->log_start_offset(), Offset(0));
  EXPECT_EQ(log->log_end_offset(), Offset(12));
  EXPECT_EQ(ReadAll(*log), Ids(0, 12));

  // Reading from the middle of a batch returns that whole batch.
  auto read = log->Read(Offset(5), 1, log->log_end_offset());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(Values(read->batches), Ids(4, 4));  // at least one batch, even past max_bytes

  // The high watermark hides batches that are not wholly below it.
  read = log->Read(Offset(0), 1 << 20, Offset(10));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(Values(read->batches), Ids(0, 8));
  read = log->Read(Offset(8), 1 << 20, Offset(10));
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->batches.empty());

  // At the log end: nothing, not an error. Past it or below the start: out of range.
  read = log->Read(Offset(12), 100, Offset(12));
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->batches.empty());
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(Offset(13), 100, Offset(13)).status()));
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(Offset(-1), 100, Offset(13)).status()));
}

TEST_F(LogTest, AppendStampsLeaderEpochAndKeepsBatchValid) {
  auto log = OpenLog();
  std::string batch = MakeBatch(0, 2);
  ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(7)).ok());
  auto read = log->Read(Offset(0), 1000, Offset(2));
  ASSERT_TRUE(read.ok());
  auto header = record::ValidateBatch(read->batches);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->partition_leader_epoch, Epoch(7));
  EXPECT_EQ(header->base_offset, Offset(0));
}

TEST_F(LogTest, AnEpochLedWithoutWritingGivesWayToTheLeadersRecords) {
  auto log = OpenLog();
  Append(*log, 2, 5);  // epoch 1, offsets 0..9
  ASSERT_TRUE(log->AssignLeaderEpoch(Epoch(4)).ok());
  EXPECT_EQ(log->latest_epoch(), Epoch(4));
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(10)}));
  // It becomes a follower: truncation at its log end cuts no record, only
  // the empty epoch, and the leader's epoch-3 records count as epoch 3.
  ASSERT_TRUE(log->TruncateTo(Offset(10)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  EXPECT_EQ(log->latest_epoch(), Epoch(1));
  std::string batch = MakeBatch(10, 3);
  ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(3)).ok());
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(10)}));
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(3)), (EpochEndOffset{Epoch(3), Offset(13)}));
}

// A new epoch's first batch does not wait for the epoch checkpoint's
// fsync (KAFKA-15046): the checkpoint catches up at the next flush, before
// the recovery point passes the batch, and a crash in between finds the
// epoch in the recovered batch.
TEST_F(LogTest, ANewEpochFirstSeenInABatchIsSavedByTheFlushAndSurvivesACrashBeforeIt) {
  const std::string checkpoint = std::string(kDir) + "/" + kLeaderEpochCheckpointFile;
  auto log = OpenLog();
  Append(*log, 2, 5);  // epoch 1, offsets 0..9
  ASSERT_TRUE(log->Flush().ok());
  const std::optional<std::string> saved = fs_.Contents(checkpoint);
  ASSERT_TRUE(saved.has_value());

  std::string batch = MakeBatch(10, 3);
  ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(2)).ok());
  EXPECT_EQ(log->latest_epoch(), Epoch(2));
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(10)}));
  EXPECT_EQ(fs_.Contents(checkpoint), saved) << "the append wrote the epoch checkpoint";

  // The machine dies after the OS wrote the batch back, before any flush:
  // the checkpoint knows only epoch 1, the recovered batch tells epoch 2.
  fs_.WriteBackAll();
  fs_.SimulateCrash();
  log.reset();
  log = OpenLog(/*clean=*/false);
  EXPECT_EQ(log->log_end_offset(), Offset(13));
  EXPECT_EQ(log->latest_epoch(), Epoch(2));
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(10)}));

  // Epoch 3 on the next append, then a flush: the recovery point passes
  // the batch only with its epoch in the checkpoint.
  batch = MakeBatch(13, 2);
  ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(3)).ok());
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(log->recovery_point(), Offset(15));
  fs_.SimulateCrash();
  log.reset();
  // Clean: nothing past the recovery point is reread, so the epoch must
  // come from the file.
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->latest_epoch(), Epoch(3));
  EXPECT_EQ(log->EndOffsetForEpoch(Epoch(2)), (EpochEndOffset{Epoch(2), Offset(13)}));
}

TEST_F(LogTest, TheHighWatermarkRisesToTheLogEndAndSurvivesAReopen) {
  auto log = OpenLog();
  Append(*log, 2, 5);
  EXPECT_EQ(log->high_watermark(), Offset(0));
  EXPECT_TRUE(log->MaybeIncrementHighWatermark(Offset(7)));
  EXPECT_FALSE(log->MaybeIncrementHighWatermark(Offset(3))) << "never down";
  EXPECT_TRUE(log->MaybeIncrementHighWatermark(Offset(99)));
  EXPECT_EQ(log->high_watermark(), Offset(10)) << "capped at the log end";
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->high_watermark(), Offset(10));
  ASSERT_TRUE(log->TruncateTo(Offset(5)).ok());
  EXPECT_EQ(log->high_watermark(), Offset(5)) << "truncation takes it down with the log";
}

TEST_F(LogTest, IndexLookupsAgreeWithLinearScanAcrossRolledSegments) {
  config_.segment_bytes = 64 * 1024;
  config_.index_interval_bytes = 4096;
  auto log = OpenLog();
  std::mt19937 rng(20261124);
  struct Span {
    int64_t first, last;
  };
  std::vector<Span> spans;
  for (int b = 0; b < 1500; ++b) {
    int count = 1 + static_cast<int>(rng() % 20);
    size_t padding = rng() % 300;
    spans.push_back({next_id_, next_id_ + count - 1});
    Append(*log, 1, count, padding);
  }
  ASSERT_GE(log->num_segments(), 5);
  const int64_t end = log->log_end_offset().value();
  for (int i = 0; i < 5000; ++i) {
    const int64_t target = static_cast<int64_t>(rng() % end);
    // Linear scan: the batch holding the target.
    const Span* expected = nullptr;
    for (const Span& s : spans) {
      if (s.first <= target && target <= s.last) {
        expected = &s;
        break;
      }
    }
    ASSERT_NE(expected, nullptr);
    auto read = log->Read(Offset(target), 1, Offset(end));
    ASSERT_TRUE(read.ok()) << read.status();
    auto header = record::ReadBatchHeader(read->batches);
    ASSERT_TRUE(header.ok()) << "offset " << target;
    EXPECT_EQ(header->base_offset.value(), expected->first) << "offset " << target;
    EXPECT_EQ(header->last_offset().value(), expected->last) << "offset " << target;
  }
}

TEST_F(LogTest, SegmentsRollAtSegmentBytesAndAreNamedByBaseOffset) {
  config_.segment_bytes = 1024;
  auto log = OpenLog();
  Append(*log, 12, 2, 100);  // ~300-byte batches: three per segment
  std::vector<Offset> bases = log->segment_base_offsets();
  ASSERT_GE(bases.size(), 4u);
  for (Offset base : bases) {
    EXPECT_TRUE(fs_.Exists(SegmentPath(base))) << base;
    EXPECT_TRUE(fs_.Exists(SegmentPath(base, ".index"))) << base;
    EXPECT_TRUE(fs_.Exists(SegmentPath(base, ".timeindex"))) << base;
    auto size = fs_.Contents(SegmentPath(base))->size();
    EXPECT_LE(size, 1024u);
  }
  EXPECT_TRUE(fs_.Exists(std::string(kDir) + "/00000000000000000000.log"));
  // Rolled segments were synced, so the recovery point is at the active one.
  EXPECT_EQ(log->recovery_point(), bases.back());
  EXPECT_EQ(ReadAll(*log), Ids(0, 24));
}

TEST_F(LogTest, SegmentMsRollsByRecordTimestamps) {
  config_.segment_ms = 1000;
  auto log = OpenLog();
  // Records far older than the wall clock do not roll a segment per append.
  for (int i = 0; i < 5; ++i) {
    std::string batch = MakeBatch(i, 1, /*timestamp=*/5000 + i);
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(0)).ok());
  }
  EXPECT_EQ(log->num_segments(), 1);
  // A batch more than segment.ms after the segment's first one rolls it.
  std::string late = MakeBatch(5, 1, 5000 + 1001);
  ASSERT_TRUE(log->AppendAsLeader(&late, Epoch(0)).ok());
  EXPECT_EQ(log->num_segments(), 2);
  EXPECT_EQ(log->segment_base_offsets().back(), Offset(5));
  EXPECT_EQ(ReadAll(*log), Ids(0, 6));
}

TEST_F(LogTest, ReopenAfterCleanCloseReturnsEveryRecord) {
  config_.segment_bytes = 2048;
  {
    auto log = OpenLog();
    Append(*log, 40, 3, 50);
    ASSERT_TRUE(log->Close().ok());
    std::string late = MakeBatch(0, 1);
    EXPECT_FALSE(log->AppendAsLeader(&late, Epoch(1)).ok());
  }
  auto log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->log_end_offset(), Offset(120));
  EXPECT_EQ(log->recovery_point(), Offset(120));
  EXPECT_EQ(ReadAll(*log), Ids(0, 120));
  Append(*log, 1, 1);
  EXPECT_EQ(log->log_end_offset(), Offset(121));
}

TEST_F(LogTest, CrashTearingTheLastBatchTruncatesExactlyThatBatch) {
  auto log = OpenLog();
  Append(*log, 10, 5);
  ASSERT_TRUE(log->Flush().ok());
  Append(*log, 3, 5);
  const std::string path = SegmentPath(Offset(0));
  const size_t last_batch = MakeBatch(60, 5).size();
  const size_t full = fs_.Contents(path)->size();
  // The machine died while the last batch was being written: the OS had
  // written back everything before it, and only part of it.
  fs_.WriteBackAll();
  fs_.TruncateFile(path, full - last_batch / 2);
  fs_.SimulateCrash();
  log.reset();

  log = OpenLog(/*clean=*/false);
  EXPECT_EQ(log->log_end_offset(), Offset(60));
  EXPECT_EQ(fs_.Contents(path)->size(), full - last_batch);
  EXPECT_EQ(ReadAll(*log), Ids(0, 60));
  next_id_ = 60;
  Append(*log, 1, 5);  // the next append lands where the torn batch was
  EXPECT_EQ(ReadAll(*log), Ids(0, 65));
}

TEST_F(LogTest, CrashLosesOnlyUnflushedBatchesAndRecoveryCutsCorruptTail) {
  auto log = OpenLog();
  Append(*log, 4, 5);
  ASSERT_TRUE(log->Flush().ok());
  Append(*log, 4, 5);  // never synced
  fs_.SimulateCrash();
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(20));
  EXPECT_EQ(ReadAll(*log), Ids(0, 20));

  // A bit flip in the last, unflushed batch: the CRC catches it and only that
  // batch goes.
  next_id_ = 20;
  Append(*log, 2, 5);
  const std::string path = SegmentPath(Offset(0));
  const size_t size = fs_.Contents(path)->size();
  fs_.CorruptByte(path, size - 3);
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(25));
  EXPECT_EQ(ReadAll(*log), Ids(0, 25));
}

TEST_F(LogTest, CorruptionBelowTheRecoveryPointIsAnErrorAndChangesNothing) {
  {
    auto log = OpenLog();
    Append(*log, 10, 5);
    ASSERT_TRUE(log->Flush().ok());
    Append(*log, 2, 5);
  }
  const std::string path = SegmentPath(Offset(0));
  fs_.CorruptByte(path, 300);  // inside an early, flushed batch
  const std::string before = *fs_.Contents(path);
  auto log = Log::Open(&fs_, &clock_, kDir, config_, /*had_clean_shutdown=*/false);
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_NE(log.status().message().find("recovery point"), absl::string_view::npos) << log.status();
  EXPECT_NE(log.status().message().find(path), absl::string_view::npos) << log.status();
  EXPECT_EQ(*fs_.Contents(path), before);
}

TEST_F(LogTest, MissingOrTornIndexIsRebuiltFromTheLog) {
  config_.segment_bytes = 16 * 1024;
  config_.index_interval_bytes = 256;
  std::vector<Offset> bases;
  {
    auto log = OpenLog();
    Append(*log, 200, 2, 40);
    bases = log->segment_base_offsets();
    ASSERT_TRUE(log->Close().ok());
  }
  ASSERT_GE(bases.size(), 2u);
  const Offset first(0);
  const std::string index = *fs_.Contents(SegmentPath(first, ".index"));
  ASSERT_GT(index.size(), 8u);
  ASSERT_TRUE(fs_.DeleteFile(SegmentPath(first, ".index")).ok());
  fs_.TruncateFile(SegmentPath(bases[1], ".index"), 5);
  auto log = OpenLog(/*clean=*/true);
  EXPECT_EQ(*fs_.Contents(SegmentPath(first, ".index")), index);
  EXPECT_EQ(ReadAll(*log), Ids(0, 400));
}

TEST_F(LogTest, TruncateToDropsWholeBatchesAndKeepsOffsetsConsistent) {
  config_.segment_bytes = 600;
  auto log = OpenLog();
  Append(*log, 10, 5, 20);  // offsets 0..49, several segments
  ASSERT_GE(log->num_segments(), 3);
  const std::vector<Offset> bases = log->segment_base_offsets();

  // 23 is inside batch [20, 24]: that batch and everything after it go.
  ASSERT_TRUE(log->TruncateTo(Offset(23)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(20));
  EXPECT_LE(log->recovery_point(), Offset(20));
  EXPECT_EQ(ReadAll(*log), Ids(0, 20));
  const std::vector<Offset> kept = log->segment_base_offsets();
  for (Offset base : bases) {
    const bool is_kept = std::find(kept.begin(), kept.end(), base) != kept.end();
    EXPECT_EQ(is_kept, base < Offset(23)) << base;
    EXPECT_EQ(fs_.Exists(SegmentPath(base)), is_kept) << base;
  }
  // Truncating at or past the end changes nothing.
  ASSERT_TRUE(log->TruncateTo(Offset(20)).ok());
  ASSERT_TRUE(log->TruncateTo(Offset(99)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(20));

  // New appends continue at the new end, and a reopen agrees.
  next_id_ = 20;
  Append(*log, 2, 5, 20);
  EXPECT_EQ(ReadAll(*log), Ids(0, 30));
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(30));
  EXPECT_EQ(ReadAll(*log), Ids(0, 30));

  // Below the log start the log restarts empty at the offset.
  log->MaybeIncrementHighWatermark(Offset(30));
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(10), true).ok());
  ASSERT_TRUE(log->DeleteOldSegments().ok());
  const Offset start = log->log_start_offset();
  ASSERT_GT(start, Offset(0));
  ASSERT_TRUE(log->TruncateTo(start - 1).ok());
  EXPECT_EQ(log->log_start_offset(), start - 1);
  EXPECT_EQ(log->log_end_offset(), start - 1);
  EXPECT_EQ(log->num_segments(), 1);
}

TEST_F(LogTest, TheLogStartMovesUpToTheHighWatermarkAndRetentionDeletesWhatLiesBelow) {
  config_.segment_bytes = 600;
  config_.retention_ms = -1;
  auto log = OpenLog();
  Append(*log, 12, 5, 20);
  const std::vector<Offset> bases = log->segment_base_offsets();
  ASSERT_GE(bases.size(), 4u);

  // Not past the high watermark (DeleteRecords on a leader).
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(50)));
  EXPECT_TRUE(absl::IsOutOfRange(log->MaybeIncrementLogStartOffset(Offset(51), true).status()));
  EXPECT_EQ(log->log_start_offset(), Offset(0));

  // Inside a segment: reads below it are out of range at once; the
  // segments wholly below it go at the next retention pass, not before.
  const Offset start = bases[2] + 1;
  auto moved = log->MaybeIncrementLogStartOffset(start, true);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, start);
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(start - 1, 100, log->log_end_offset()).status()));
  EXPECT_TRUE(log->Read(start, 100, log->log_end_offset()).ok());
  EXPECT_EQ(log->num_segments(), static_cast<int>(bases.size()));
  // Never backwards.
  EXPECT_EQ(*log->MaybeIncrementLogStartOffset(Offset(1), true), start);

  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->count, 2);
  EXPECT_EQ(deleted->files.size(), 6u);  // .log, .index, .timeindex of each
  EXPECT_EQ(deleted->delete_after_ms, config_.file_delete_delay_ms);
  EXPECT_EQ(log->log_start_offset(), start);
  for (Offset base : {bases[0], bases[1]}) {
    EXPECT_FALSE(fs_.Exists(SegmentPath(base))) << base;
    EXPECT_TRUE(fs_.Exists(SegmentPath(base) + ".deleted")) << base;
  }
  EXPECT_TRUE(fs_.Exists(SegmentPath(bases[2])));
  // Nothing more to do.
  EXPECT_EQ(log->DeleteOldSegments()->count, 0);

  // The start survives a reopen, which also removes what was set aside.
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_start_offset(), start);
  EXPECT_EQ(log->log_end_offset(), Offset(60));
  EXPECT_FALSE(fs_.Exists(SegmentPath(bases[0]) + ".deleted"));
  EXPECT_EQ(ReadAll(*log).front(), "v" + std::to_string(bases[2].value()));  // whole batches

  // Up to the log end: the active segment rolls so the end is kept.
  log->MaybeIncrementHighWatermark(Offset(60));
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(60), true).ok());
  ASSERT_TRUE(log->DeleteOldSegments().ok());
  EXPECT_EQ(log->log_start_offset(), Offset(60));
  EXPECT_EQ(log->log_end_offset(), Offset(60));
  EXPECT_EQ(log->num_segments(), 1);
  next_id_ = 60;
  Append(*log, 1, 1);
  EXPECT_EQ(ReadAll(*log), Ids(60, 1));
}

TEST_F(LogTest, RetentionByTimeTakesExpiredSegmentsBelowTheHighWatermarkActiveOneIncluded) {
  config_.segment_bytes = 600;
  config_.retention_ms = 10'000;
  auto log = OpenLog();
  Append(*log, 8, 5, 20);  // timestamps: now
  const int64_t old_end = log->log_end_offset().value();
  const int old_segments = log->num_segments();
  ASSERT_GE(old_segments, 3);
  clock_.AdvanceMs(6'000);
  Append(*log, 4, 5, 20);  // 6 s younger

  // Not expired yet.
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(log->DeleteOldSegments()->count, 0);

  // The old records expire; a segment holding any young record stays, and
  // so does everything after it.
  clock_.AdvanceMs(5'000);
  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GT(deleted->count, 0);
  EXPECT_LE(log->log_start_offset().value(), old_end);
  for (Offset base : log->segment_base_offsets()) {
    EXPECT_GE(base, log->log_start_offset());
  }
  const Offset first_kept = log->segment_base_offsets().front();
  EXPECT_EQ(log->log_start_offset(), first_kept);

  // Everything expires, but only what lies below the high watermark goes:
  // an old-stamped batch above it keeps its (active) segment.
  const Offset hw = log->log_end_offset();
  std::string late = MakeBatch(static_cast<int>(hw.value()), 5, clock_.NowMs() - 100'000);
  ASSERT_TRUE(log->AppendAsLeader(&late, Epoch(1)).ok());
  clock_.AdvanceMs(60'000);
  deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(log->segment_base_offsets().size(), 1u);
  EXPECT_LE(log->log_start_offset(), hw);
  EXPECT_EQ(log->log_end_offset(), hw + 5);
  EXPECT_EQ(ReadAll(*log).back(), "v" + std::to_string(hw.value() + 4));

  // With the high watermark at the end, the expired active segment rolls
  // and goes too; appends go on at the end.
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->count, 1);
  EXPECT_EQ(log->log_start_offset(), hw + 5);
  EXPECT_EQ(log->log_end_offset(), hw + 5);
  EXPECT_EQ(log->num_segments(), 1);
  next_id_ = static_cast<int>(hw.value()) + 5;
  Append(*log, 1, 2);
  EXPECT_EQ(ReadAll(*log), Ids(next_id_ - 2, 2));
}

TEST_F(LogTest, RetentionBySizeKeepsTheLogBetweenTheLimitAndTheLimitPlusOneSegment) {
  config_.segment_bytes = 600;
  config_.retention_ms = -1;
  config_.retention_bytes = 2000;
  auto log = OpenLog();
  Append(*log, 40, 5, 20);
  ASSERT_GT(log->size_bytes(), 5 * config_.retention_bytes);
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GT(deleted->count, 0);
  EXPECT_GE(log->size_bytes(), config_.retention_bytes);
  EXPECT_LT(log->size_bytes(), config_.retention_bytes + config_.segment_bytes);
  EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
  EXPECT_EQ(log->log_end_offset(), Offset(200));
  // What is left reads back in order from the new start.
  const std::vector<std::string> left = ReadAll(*log);
  EXPECT_EQ(left, Ids(static_cast<int>(log->log_start_offset().value()),
                      200 - static_cast<int>(log->log_start_offset().value())));
}

TEST_F(LogTest, ACompactedLogIgnoresTimeAndSizeButNotItsLogStart) {
  config_.segment_bytes = 600;
  config_.retention_ms = 1;
  config_.retention_bytes = 1;
  config_.cleanup_policy = CleanupPolicy::kCompact;
  auto log = OpenLog();
  Append(*log, 12, 5, 20);
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  clock_.AdvanceMs(100'000);
  EXPECT_EQ(log->DeleteOldSegments()->count, 0);
  const Offset second = log->segment_base_offsets()[1];
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(second, true).ok());
  EXPECT_EQ(log->DeleteOldSegments()->count, 1);
  EXPECT_EQ(log->log_start_offset(), second);
}

// A log start moved above the recovery point (DeleteRecords up to the high
// watermark, unflushed) and a power cut that takes the unsynced tail: the
// log comes back starting over at its checkpointed start, not ending below
// it (a leader would otherwise hand out offsets nobody can read).
TEST_F(LogTest, APowerCutBelowTheLogStartStartsTheLogOverThere) {
  auto log = OpenLog();
  Append(*log, 4, 5);
  ASSERT_TRUE(log->Flush().ok());  // 0..19 durable
  Append(*log, 4, 5);              // 20..39 in the page cache only
  log->MaybeIncrementHighWatermark(Offset(40));
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(30), true).ok());  // checkpointed
  log.reset();
  fs_.SimulateCrash();

  log = OpenLog();
  EXPECT_EQ(log->log_start_offset(), Offset(30));
  EXPECT_EQ(log->log_end_offset(), Offset(30));
  EXPECT_EQ(log->high_watermark(), Offset(30));
  EXPECT_EQ(log->num_segments(), 1);
  EXPECT_FALSE(fs_.Exists(SegmentPath(Offset(0))));
  // New records land at the start, readable, and a reopen agrees.
  next_id_ = 30;
  Append(*log, 1, 2);
  EXPECT_EQ(ReadAll(*log), Ids(30, 2));
  log.reset();
  log = OpenLog();
  EXPECT_EQ(ReadAll(*log), Ids(30, 2));
}

// A follower's restart at its leader's log start survives a power cut right
// after it (the checkpoint is written before the old segments go).
TEST_F(LogTest, ARestartAtTheLeadersLogStartSurvivesAPowerCut) {
  auto log = OpenLog();
  Append(*log, 4, 5);
  ASSERT_TRUE(log->Flush().ok());
  ASSERT_TRUE(log->TruncateFullyAndStartAt(Offset(100)).ok());
  log.reset();
  fs_.SimulateCrash();
  log = OpenLog();
  EXPECT_EQ(log->log_start_offset(), Offset(100));
  EXPECT_EQ(log->log_end_offset(), Offset(100));
  EXPECT_EQ(log->recovery_point(), Offset(100));
}

// Records without timestamps (-1) age from their segment's creation, as
// Kafka's fall back to the file's modification time; before, such a
// segment never expired and held back every segment after it.
TEST_F(LogTest, SegmentsWithoutTimestampsAgeFromTheirCreation) {
  config_.segment_bytes = 600;
  config_.retention_ms = 10'000;
  auto log = OpenLog();
  for (int b = 0; b < 8; ++b) {
    record::RecordBatchBuilder builder;
    for (int i = 0; i < 5; ++i) {
      record::Record r;
      r.value = "v" + std::to_string(next_id_ + i) + std::string(60, 'x');
      r.timestamp = -1;
      builder.Append(r);
    }
    std::string batch = builder.Build();
    auto appended = log->AppendAsLeader(&batch, Epoch(1));
    ASSERT_TRUE(appended.ok()) << appended.status();
    ASSERT_EQ(appended->max_timestamp, -1);
    next_id_ += 5;
  }
  ASSERT_GE(log->num_segments(), 3);
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(log->DeleteOldSegments()->count, 0);
  clock_.AdvanceMs(10'001);
  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GE(deleted->count, 2);
  EXPECT_EQ(log->log_start_offset(), Offset(40));
}

// ListOffsets by time once the log start lies inside a segment: batches
// wholly below the start are passed over, not taken for the answer nor
// cutting the search short.
TEST_F(LogTest, AnOffsetForATimestampIsNeverBelowTheLogStart) {
  auto log = OpenLog();
  for (int b = 0; b < 4; ++b) {  // batches of 5 at timestamps 1000, 2000, 3000, 4000
    std::string batch = MakeBatch(next_id_, 5, 1000 * (b + 1));
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
    next_id_ += 5;
  }
  log->MaybeIncrementHighWatermark(Offset(20));
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(12), true).ok());
  auto found = log->OffsetForTimestamp(500);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->offset, Offset(12));
  found = log->OffsetForTimestamp(1500);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, Offset(12));
  found = log->OffsetForTimestamp(3500);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, Offset(15));
  found = log->OffsetForTimestamp(4005);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(LogTest, AFollowerBehindItsLeadersLogStartRestartsItsLogThere) {
  config_.segment_bytes = 600;
  auto log = OpenLog();
  Append(*log, 6, 5, 20);
  log->MaybeIncrementHighWatermark(Offset(20));
  ASSERT_TRUE(log->TruncateFullyAndStartAt(Offset(500)).ok());
  EXPECT_EQ(log->log_start_offset(), Offset(500));
  EXPECT_EQ(log->log_end_offset(), Offset(500));
  EXPECT_EQ(log->high_watermark(), Offset(500));
  EXPECT_EQ(log->num_segments(), 1);
  EXPECT_FALSE(fs_.Exists(SegmentPath(Offset(0))));
  EXPECT_FALSE(log->latest_epoch().has_value());
  // The leader's batches go on from there, and a reopen agrees.
  next_id_ = 500;
  Append(*log, 1, 3);
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_start_offset(), Offset(500));
  EXPECT_EQ(log->log_end_offset(), Offset(503));
  EXPECT_EQ(ReadAll(*log), Ids(500, 3));
}

TEST_F(LogTest, BadBatchesAreRefusedAndLeaveTheLogUnchanged) {
  config_.max_message_bytes = 1000;
  auto log = OpenLog();
  Append(*log, 2, 2);
  const std::string before = *fs_.Contents(SegmentPath(Offset(0)));

  std::string big = MakeBatch(0, 1, 0, 2000);
  auto too_large = log->AppendAsLeader(&big, Epoch(1));
  EXPECT_TRUE(absl::IsResourceExhausted(too_large.status())) << too_large.status();
  EXPECT_NE(too_large.status().message().find("max.message.bytes"), absl::string_view::npos);

  std::string corrupt = MakeBatch(0, 2);
  corrupt[corrupt.size() - 1] ^= 0x40;
  EXPECT_FALSE(log->AppendAsLeader(&corrupt, Epoch(1)).ok());
  std::string truncated = MakeBatch(0, 2).substr(0, 40);
  EXPECT_FALSE(log->AppendAsLeader(&truncated, Epoch(1)).ok());
  std::string empty;
  EXPECT_FALSE(log->AppendAsLeader(&empty, Epoch(1)).ok());

  EXPECT_EQ(*fs_.Contents(SegmentPath(Offset(0))), before);
  EXPECT_EQ(log->log_end_offset(), Offset(4));
}

TEST_F(LogTest, ShortWriteFailsTheAppendWithoutLeavingPartialBytes) {
  auto log = OpenLog();
  Append(*log, 2, 2);
  const std::string before = *fs_.Contents(SegmentPath(Offset(0)));
  fs_.InjectShortWrite(".log", 17);
  std::string batch = MakeBatch(4, 2);
  EXPECT_FALSE(log->AppendAsLeader(&batch, Epoch(1)).ok());
  EXPECT_EQ(*fs_.Contents(SegmentPath(Offset(0))), before);
  EXPECT_EQ(log->log_end_offset(), Offset(4));
  Append(*log, 1, 2);  // ids 4, 5 land at offsets 4, 5
  EXPECT_EQ(ReadAll(*log), Ids(0, 6));
}

TEST_F(LogTest, FlushPolicyDefaultsToThePageCache) {
  auto log = OpenLog();
  Append(*log, 1, 2);  // a new leader epoch is checkpointed once (rare: one per leader change)
  const int64_t syncs = fs_.sync_count();
  Append(*log, 49, 2);
  EXPECT_EQ(fs_.sync_count(), syncs);
  fs_.SimulateCrash();
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(0));  // nothing was synced
}

TEST_F(LogTest, FlushMessagesSyncsEveryNRecords) {
  config_.flush_messages = 6;
  auto log = OpenLog();
  Append(*log, 2, 2);  // 4 records: not yet
  EXPECT_EQ(log->recovery_point(), Offset(0));
  Append(*log, 1, 2);  // 6 records: flushed
  EXPECT_EQ(log->recovery_point(), Offset(6));
  Append(*log, 1, 2);
  fs_.SimulateCrash();
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(6));
  EXPECT_EQ(ReadAll(*log), Ids(0, 6));
}

TEST_F(LogTest, FlushMsSyncsOnThePeriodicCheck) {
  config_.flush_ms = 500;
  auto log = OpenLog();
  Append(*log, 1, 3);
  ASSERT_TRUE(log->MaybeFlushOnTime().ok());
  EXPECT_EQ(log->recovery_point(), Offset(0));
  clock_.AdvanceMs(500);
  ASSERT_TRUE(log->MaybeFlushOnTime().ok());
  EXPECT_EQ(log->recovery_point(), Offset(3));
}

TEST_F(LogTest, OffsetForTimestampFindsTheFirstRecordAtOrAfterIt) {
  config_.segment_bytes = 400;
  auto log = OpenLog();
  for (int b = 0; b < 10; ++b) {
    std::string batch = MakeBatch(b * 3, 3, 10'000 + b * 100);  // ts 10000+100b .. +2
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(0)).ok());
  }
  ASSERT_GT(log->num_segments(), 2);
  // The record found, with its own timestamp (not the one asked for).
  auto at = [&](int64_t ts) {
    absl::StatusOr<std::optional<Log::TimestampAndOffset>> found = log->OffsetForTimestamp(ts);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value()
               ? std::make_pair((*found)->offset.value(), (*found)->timestamp)
               : std::make_pair(int64_t{-1}, int64_t{-1});
  };
  EXPECT_EQ(at(0), std::make_pair(int64_t{0}, int64_t{10'000}));
  EXPECT_EQ(at(10'001), std::make_pair(int64_t{1}, int64_t{10'001}));
  EXPECT_EQ(at(10'003), std::make_pair(int64_t{3}, int64_t{10'100}));
  EXPECT_EQ(at(10'502), std::make_pair(int64_t{17}, int64_t{10'502}));
  EXPECT_EQ(at(10'902), std::make_pair(int64_t{29}, int64_t{10'902}));
  EXPECT_EQ(at(10'903), std::make_pair(int64_t{-1}, int64_t{-1}));
}

TEST_F(LogTest, MaxTimestampRecordIsTheFirstRecordWithTheLargestTimestamp) {
  config_.segment_bytes = 400;
  auto log = OpenLog();
  EXPECT_FALSE(log->MaxTimestampRecord()->has_value()) << "an empty log has none";
  // Timestamps go up, then one batch in the middle of the log holds the
  // largest (twice), and later batches are older again.
  const int64_t timestamps[] = {5'000, 6'000, 9'000, 7'000, 8'000, 1'000};
  for (int b = 0; b < 6; ++b) {
    std::string batch = MakeBatch(b * 3, 3, timestamps[b]);  // ts t, t+1, t+2
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(0)).ok());
  }
  ASSERT_GT(log->num_segments(), 1);
  auto max = log->MaxTimestampRecord();
  ASSERT_TRUE(max.ok()) << max.status();
  ASSERT_TRUE(max->has_value());
  EXPECT_EQ((*max)->offset, Offset(8));
  EXPECT_EQ((*max)->timestamp, 9'002);
}

TEST_F(LogTest, FollowerAppendKeepsLeaderOffsets) {
  auto leader = OpenLog();
  Append(*leader, 4, 3);
  auto all = leader->Read(Offset(0), 1 << 20, leader->log_end_offset());
  ASSERT_TRUE(all.ok());

  MemFileSystem fs2;
  auto follower = Log::Open(&fs2, &clock_, "/f/orders-0", config_, false);
  ASSERT_TRUE(follower.ok());
  // A fetch response may end in a partial batch; it is ignored.
  std::string with_partial = all->batches + all->batches.substr(0, 30);
  auto info = (*follower)->AppendAsFollower(with_partial);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->first_offset, Offset(0));
  EXPECT_EQ(info->last_offset, Offset(11));
  EXPECT_EQ((*follower)->log_end_offset(), Offset(12));
  auto copy = (*follower)->Read(Offset(0), 1 << 20, Offset(12));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->batches, all->batches);  // byte for byte

  // Garbage after whole batches is refused, not silently dropped.
  std::string garbage = MakeBatch(100, 2);
  garbage[16] = 9;  // magic
  EXPECT_FALSE((*follower)->AppendAsFollower(garbage).ok());
  // Batches below the follower's end are refused.
  EXPECT_FALSE((*follower)->AppendAsFollower(all->batches).ok());
  EXPECT_EQ((*follower)->log_end_offset(), Offset(12));
}

// A batch at `base` for a follower append, as a compacted leader serves it.
std::string BatchAt(int64_t base, int first_id, int count, int64_t timestamp = 1000) {
  std::string batch = MakeBatch(first_id, count, timestamp);
  record::SetBaseOffset(batch.data(), Offset(base));
  return batch;
}

// A compacted leader's next batch may lie more than 2^32 offsets past the
// follower's segment base (the offsets between were cleaned away): the
// follower rolls to a segment at that batch (Kafka's roll(Some(offset))),
// replacing an empty active segment, instead of overflowing the 32-bit
// relative offset index.
TEST_F(LogTest, AFollowerRollsToTheBatchWhenItsOffsetsWouldOverflowTheIndex) {
  constexpr int64_t kFar = 5'000'000'000;
  {
    // An empty log: its only segment gives way to one at the batch.
    auto log = OpenLog();
    ASSERT_TRUE(log->AppendAsFollower(BatchAt(kFar, 0, 2)).ok());
    EXPECT_EQ(log->segment_base_offsets(), std::vector<Offset>{Offset(kFar)});
    EXPECT_EQ(log->log_start_offset(), Offset(0));
    EXPECT_EQ(log->log_end_offset(), Offset(kFar + 2));
    EXPECT_TRUE(log->may_have_gaps());
    // A read from the log start finds the batch.
    auto read = log->Read(Offset(0), 1 << 20, log->log_end_offset());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(Values(read->batches), Ids(0, 2));
    ASSERT_TRUE(log->Close().ok());
    auto reopened = OpenLog(/*clean=*/false);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->log_end_offset(), Offset(kFar + 2));
    EXPECT_EQ(ReadAll(*reopened), Ids(0, 2));
    EXPECT_TRUE(reopened->may_have_gaps());
    // Truncating below the first segment restarts it there.
    ASSERT_TRUE(reopened->TruncateTo(Offset(kFar - 10)).ok());
    EXPECT_EQ(reopened->log_end_offset(), Offset(kFar - 10));
    ASSERT_TRUE(reopened->Close().ok());
  }
  fs_.DeleteDirRecursively("/data").IgnoreError();
  {
    // A non-empty active segment rolls at the batch's base, not its end.
    auto log = OpenLog();
    ASSERT_TRUE(log->AppendAsFollower(BatchAt(0, 0, 3)).ok());
    ASSERT_TRUE(log->AppendAsFollower(BatchAt(kFar, 3, 2)).ok());
    EXPECT_EQ(log->segment_base_offsets(), (std::vector<Offset>{Offset(0), Offset(kFar)}));
    EXPECT_EQ(ReadAll(*log), Ids(0, 5));
    // A read inside the gap moves on to the next batch.
    auto read = log->Read(Offset(7), 1 << 20, log->log_end_offset());
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(Values(read->batches), Ids(3, 2));
  }
}

// Truncating into a gap (the offsets below the target held no records)
// keeps the log end at the target: offsets handed out never come back.
TEST_F(LogTest, TruncatingIntoAGapKeepsTheLogEndAtTheTarget) {
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(BatchAt(0, 0, 3)).ok());
  ASSERT_TRUE(log->AppendAsFollower(BatchAt(10, 3, 2)).ok());
  ASSERT_TRUE(log->AppendAsFollower(BatchAt(20, 5, 2)).ok());
  EXPECT_TRUE(log->may_have_gaps());
  ASSERT_TRUE(log->TruncateTo(Offset(15)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(15));
  EXPECT_EQ(ReadAll(*log), Ids(0, 5));
  // A batch holding the target still goes whole.
  ASSERT_TRUE(log->TruncateTo(Offset(11)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  EXPECT_EQ(ReadAll(*log), Ids(0, 3));
  // Inside the empty stretch before a later segment's first batch: that
  // segment keeps nothing, and an empty one at the target keeps the end.
  ASSERT_TRUE(log->AppendAsFollower(BatchAt(12, 3, 2)).ok());
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_TRUE(log->AppendAsFollower(BatchAt(30, 5, 2)).ok());
  ASSERT_EQ(log->segment_base_offsets().back(), Offset(14));
  ASSERT_TRUE(log->TruncateTo(Offset(20)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(20));
  ASSERT_TRUE(log->Close().ok());
  auto reopened = OpenLog(/*clean=*/false);
  EXPECT_EQ(reopened->log_end_offset(), Offset(20));
  EXPECT_EQ(ReadAll(*reopened), Ids(0, 5));
}

// max.compaction.lag.ms rolls a compacted log's active segment (the
// cleaner never cleans it), as segment.ms does (Kafka's maxSegmentMs).
TEST_F(LogTest, MaxCompactionLagRollsACompactedLogsActiveSegment) {
  for (CleanupPolicy policy : {CleanupPolicy::kDelete, CleanupPolicy::kCompact}) {
    fs_.DeleteDirRecursively("/data").IgnoreError();
    config_.cleanup_policy = policy;
    config_.max_compaction_lag_ms = 60'000;
    auto log = OpenLog();
    std::string batch = MakeBatch(0, 1, clock_.NowMs());
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
    clock_.AdvanceMs(60'001);
    batch = MakeBatch(1, 1, clock_.NowMs());
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
    EXPECT_EQ(log->num_segments(), policy == CleanupPolicy::kCompact ? 2 : 1);
  }
}

TEST(LogConfigTest, SetValidatesNamingTheKey) {
  LogConfig config;
  EXPECT_TRUE(config.Set("segment.bytes", "1048576").ok());
  EXPECT_EQ(config.segment_bytes, 1048576);
  EXPECT_TRUE(config.Set("flush.messages", "1").ok());
  EXPECT_EQ(config.flush_messages, 1);
  auto bad = config.Set("segment.bytes", "lots");
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_NE(bad.message().find("segment.bytes"), absl::string_view::npos);
  EXPECT_FALSE(config.Set("segment.bytes", "10").ok());          // below the minimum
  EXPECT_FALSE(config.Set("segment.bytes", "4294967296").ok());  // positions are 32-bit
  EXPECT_FALSE(config.Set("flush.ms", "-1").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(config.Set("segment.byte", "1")));
  EXPECT_EQ(config.segment_bytes, 1048576);
}

TEST_F(LogTest, UpdateConfigChangesTheRollThresholdOfAnOpenLog) {
  auto log = OpenLog();  // segment.bytes: 1 GiB
  Append(*log, 10, 1, 200);
  EXPECT_EQ(log->num_segments(), 1);

  LogConfig small = log->config();
  small.segment_bytes = 1024;
  log->UpdateConfig(small);
  EXPECT_TRUE(log->config() == small);
  // The active segment already holds more than 1 KiB: the next append rolls,
  // and from then on a segment holds about 1 KiB.
  Append(*log, 1, 1, 200);
  EXPECT_EQ(log->num_segments(), 2);
  Append(*log, 8, 1, 200);
  EXPECT_GE(log->num_segments(), 4);

  // Back to a large threshold: no more rolls.
  const int segments = log->num_segments();
  log->UpdateConfig(LogConfig{});
  Append(*log, 10, 1, 200);
  EXPECT_EQ(log->num_segments(), segments);
  EXPECT_EQ(ReadAll(*log), Ids(0, 29));
}

TEST_F(LogTest, UpdateConfigChangesFlushAndAppendLimitsOfAnOpenLog) {
  auto log = OpenLog();  // flush.ms: never
  Append(*log, 1, 3);
  clock_.AdvanceMs(1'000'000);
  ASSERT_TRUE(log->MaybeFlushOnTime().ok());
  EXPECT_EQ(log->recovery_point(), Offset(0));

  LogConfig c = log->config();
  c.flush_ms = 500;
  c.max_message_bytes = 100;
  log->UpdateConfig(c);
  ASSERT_TRUE(log->MaybeFlushOnTime().ok());
  EXPECT_EQ(log->recovery_point(), Offset(3));

  std::string batch = MakeBatch(3, 1, clock_.NowMs(), 200);
  auto refused = log->AppendAsLeader(&batch, Epoch(1));
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("max.message.bytes (100)"), absl::string_view::npos)
      << refused.status();
  EXPECT_EQ(log->log_end_offset(), Offset(3));
}

}  // namespace
}  // namespace strata::storage
