// Idempotent producers in the log (issue 15 step 2): the leader's sequence
// and epoch checks, duplicates answered with the original offsets, runs,
// followers, snapshots across restarts and power loss, truncation,
// retention and expiry.
#include "broker/storage/producer_state.h"

#include <algorithm>
#include <limits>

#include "absl/strings/match.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log.h"
#include "broker/storage/log_manager.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/sequence.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

constexpr char kDir[] = "/data/orders-0";
constexpr int32_t kMaxSeq = std::numeric_limits<int32_t>::max();

// A batch of `count` records of producer `pid` from sequence `seq` on.
std::string ProducerBatch(int64_t pid, int16_t epoch, int32_t seq, int count, int64_t timestamp) {
  record::RecordBatchBuilder builder;
  builder.set_producer(pid, epoch, seq);
  for (int i = 0; i < count; ++i) {
    record::Record r;
    r.key = "k";
    r.value = "p" + std::to_string(pid) + "-" + std::to_string(record::IncrementSequence(seq, i));
    r.timestamp = timestamp + i;
    builder.Append(r);
  }
  return builder.Build();
}

// The header of a batch of `records` records of producer `pid` from
// sequence `seq` on, at `base_offset` (for ProducerStateManager alone: no
// batch behind it; 2^31 records make one header as a whole run would).
record::BatchHeader ProducerHeader(int64_t pid, int16_t epoch, int32_t seq, int64_t records,
                                   Offset base_offset) {
  record::BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.base_offset = base_offset;
  h.last_offset_delta = static_cast<int32_t>(records - 1);
  h.records_count = static_cast<int32_t>(std::min<int64_t>(records, kMaxSeq));
  return h;
}

std::optional<int16_t> CodeOf(const absl::Status& s) { return KafkaErrorOf(s); }

// A transactional batch of `count` records of producer `pid` at `offset`
// (as a follower receives it: clients may not send one yet).
std::string TxnBatch(int64_t pid, int16_t epoch, int32_t seq, int count, int64_t offset) {
  record::RecordBatchBuilder builder{Offset(offset)};
  builder.set_producer(pid, epoch, seq).set_transactional(true);
  for (int i = 0; i < count; ++i) {
    record::Record r;
    r.key = "k";
    r.value = "t" + std::to_string(i);
    r.timestamp = 1000 + i;
    builder.Append(r);
  }
  return builder.Build();
}

record::EndTxnMarker Commit(int32_t coordinator_epoch) {
  return {record::ControlType::kCommit, coordinator_epoch};
}
record::EndTxnMarker Abort(int32_t coordinator_epoch) {
  return {record::ControlType::kAbort, coordinator_epoch};
}

class ProducerStateTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> OpenLog(bool clean = false, const std::string& dir = kDir) {
    auto log = Log::Open(&fs_, &clock_, dir, config_, clean);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  absl::StatusOr<LogAppendInfo> Send(Log& log, int64_t pid, int16_t epoch, int32_t seq, int count,
                                     AppendOrigin origin = AppendOrigin::kClient) {
    std::string batch = ProducerBatch(pid, epoch, seq, count, clock_.NowMs());
    return log.AppendAsLeader(&batch, Epoch(1), origin);
  }

  // One request of several batches: (pid, epoch, seq, count) each.
  struct B {
    int64_t pid;
    int16_t epoch;
    int32_t seq;
    int count;
  };
  absl::StatusOr<LogAppendInfo> SendMany(Log& log, const std::vector<B>& batches) {
    std::vector<std::string> bytes;
    for (const B& b : batches) {
      bytes.push_back(ProducerBatch(b.pid, b.epoch, b.seq, b.count, clock_.NowMs()));
    }
    return log.AppendAsLeader(&bytes, Epoch(1));
  }

  // Everything in `log`, as a follower would fetch it.
  std::string ReadAll(const Log& log) {
    std::string out;
    Offset next = log.log_start_offset();
    while (next < log.log_end_offset()) {
      auto read = log.Read(next, 1 << 20, log.log_end_offset());
      EXPECT_TRUE(read.ok()) << read.status();
      if (!read.ok() || read->batches.empty()) break;
      record::BatchIterator it(read->batches);
      record::BatchHeader h;
      std::string_view b;
      while (it.Next(&h, &b)) next = h.next_offset();
      out += read->batches;
    }
    return out;
  }

  // The producer state a fresh log copying `log`'s batches ends up with.
  std::vector<std::pair<int64_t, ProducerStateEntry>> Replayed(const Log& log) {
    const std::string dir = "/data/replay-" + std::to_string(replays_++);
    auto copy = OpenLog(false, dir);
    if (log.log_start_offset() > Offset(0)) {
      EXPECT_TRUE(copy->TruncateFullyAndStartAt(log.log_start_offset()).ok());
    }
    const std::string all = ReadAll(log);
    if (!all.empty()) {
      auto appended = copy->AppendAsFollower(all);
      EXPECT_TRUE(appended.ok()) << appended.status();
    }
    return copy->ProducerEntries();
  }

  std::vector<Offset> Snapshots() {
    auto listed = ListProducerSnapshots(&fs_, kDir);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? *listed : std::vector<Offset>{};
  }

  // Writes the batches of `old` (consecutive segments of `log`) unchanged
  // into a ".cleaned" segment at the first one's base: a cleaning that kept
  // everything.
  void WriteCleanedCopy(const Log& log, const std::vector<Log::SegmentInfo>& old) {
    auto copy = Segment::CreateWithSuffix(&fs_, kDir, old.front().base_offset, Segment::Options{},
                                          kCleanedFileSuffix);
    ASSERT_TRUE(copy.ok()) << copy.status();
    const Offset end = old.back().next_offset;
    for (Offset next = old.front().base_offset; next < end;) {
      auto read = log.Read(next, 1 << 20, end);  // one segment at a time
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_FALSE(read->batches.empty()) << next.value();
      record::BatchIterator it(read->batches);
      record::BatchHeader h;
      std::string_view b;
      while (it.Next(&h, &b)) {
        ASSERT_TRUE((*copy)->Append(h, b).ok());
        next = h.next_offset();
      }
    }
    ASSERT_TRUE((*copy)->Flush().ok());
  }

  std::vector<std::string> TxnIndexFiles() {
    absl::StatusOr<std::vector<std::string>> names = fs_.ListDir(kDir);
    EXPECT_TRUE(names.ok()) << names.status();
    std::vector<std::string> out;
    for (const std::string& name : names.value_or(std::vector<std::string>{})) {
      if (absl::EndsWith(name, ".txnindex")) out.push_back(name);
    }
    return out;
  }

  MemFileSystem fs_;
  ManualClock clock_;
  LogConfig config_;
  int replays_ = 0;
};

TEST_F(ProducerStateTest, ARetryIsADuplicateAnsweredWithTheOriginalOffsets) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 4000, 0, 0, 5).ok());
  ASSERT_TRUE(Send(*log, 4000, 0, 5, 5).ok());
  ASSERT_EQ(log->log_end_offset(), Offset(10));

  for (auto [seq, count, first] :
       std::vector<std::tuple<int, int, int>>{{0, 5, 0}, {5, 5, 5}, {2, 2, 2}, {0, 10, 0}}) {
    auto again = Send(*log, 4000, 0, seq, count);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate) << seq;
    EXPECT_EQ(again->first_offset, Offset(first)) << seq;
    EXPECT_EQ(again->last_offset, Offset(first + count - 1)) << seq;
    EXPECT_EQ(again->records, 0);
  }
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  // The next sequence goes on.
  auto next = Send(*log, 4000, 0, 10, 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->duplicate);
  EXPECT_EQ(next->first_offset, Offset(10));
}

TEST_F(ProducerStateTest, AGapIsOutOfOrderAndNamesProducerEpochAndSequences) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 4000, 0, 0, 10).ok());
  auto gap = Send(*log, 4000, 0, 12, 1);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(CodeOf(gap.status()), kKafkaOutOfOrderSequenceNumber);
  EXPECT_EQ(gap.status().message(),
            "Out of order sequence number for producer 4000 at epoch 0 in orders-0: 12 "
            "(incoming batch first sequence), 9 (last sequence written)");
  // A batch overlapping the run only in part is no duplicate either.
  auto overlap = Send(*log, 4000, 0, 8, 4);
  ASSERT_FALSE(overlap.ok());
  EXPECT_EQ(CodeOf(overlap.status()), kKafkaOutOfOrderSequenceNumber);
  EXPECT_NE(overlap.status().message().find("only in part"), absl::string_view::npos)
      << overlap.status();
  EXPECT_EQ(log->log_end_offset(), Offset(10));
}

TEST_F(ProducerStateTest, AnOlderEpochIsFencedAndANewOneStartsAtZero) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 7, 3, 0, 4).ok());
  auto old = Send(*log, 7, 2, 4, 1);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(CodeOf(old.status()), kKafkaInvalidProducerEpoch);
  EXPECT_NE(old.status().message().find("producer 7"), absl::string_view::npos);
  EXPECT_NE(old.status().message().find("smaller than the last seen epoch 3"),
            absl::string_view::npos)
      << old.status();

  auto bump = Send(*log, 7, 4, 4, 1);
  ASSERT_FALSE(bump.ok());
  EXPECT_EQ(CodeOf(bump.status()), kKafkaOutOfOrderSequenceNumber);
  EXPECT_NE(bump.status().message().find("new epoch"), absl::string_view::npos);

  auto fresh = Send(*log, 7, 4, 0, 2);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->first_offset, Offset(4));
  // The new epoch has its own runs: epoch 3's batch is gone, and a retry
  // of it is fenced.
  auto retry_old = Send(*log, 7, 3, 0, 4);
  EXPECT_EQ(CodeOf(retry_old.status()), kKafkaInvalidProducerEpoch);
  auto dup = Send(*log, 7, 4, 0, 2);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, Offset(4));
  ASSERT_EQ(log->ActiveProducers().size(), 1u);
  EXPECT_EQ(log->ActiveProducers()[0].epoch, 4);
  EXPECT_EQ(log->ActiveProducers()[0].last_sequence, 1);
}

TEST_F(ProducerStateTest, AnUnknownProducerMayStartAtAnySequence) {
  auto log = OpenLog();
  auto first = Send(*log, 99, 5, 1234, 3);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(Send(*log, 99, 5, 1237, 1).ok());
  EXPECT_FALSE(Send(*log, 99, 5, 1239, 1).ok());
}

TEST_F(ProducerStateTest, NegativeSequenceWithAProducerIdIsRefused) {
  auto log = OpenLog();
  auto bad = Send(*log, 99, 0, -1, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("baseSequence -1"), absl::string_view::npos);
}

TEST_F(ProducerStateTest, SequencesWrapFromIntMaxToZero) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 1, 0, kMaxSeq - 2, 3).ok());  // ends at INT32_MAX
  auto wrapped = Send(*log, 1, 0, 0, 2);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(wrapped->first_offset, Offset(3));
  // Both are duplicates, each at its offsets: the run did not wrap.
  auto dup1 = Send(*log, 1, 0, kMaxSeq - 2, 3);
  ASSERT_TRUE(dup1.ok());
  EXPECT_TRUE(dup1->duplicate);
  EXPECT_EQ(dup1->first_offset, Offset(0));
  auto dup2 = Send(*log, 1, 0, 0, 2);
  ASSERT_TRUE(dup2.ok());
  EXPECT_TRUE(dup2->duplicate);
  EXPECT_EQ(dup2->first_offset, Offset(3));
  EXPECT_EQ(log->ProducerEntries()[0].second.num_runs, 2);

  // A batch wrapping inside itself: a run matched only whole.
  ASSERT_TRUE(Send(*log, 2, 0, kMaxSeq - 1, 4).ok());  // MAX-1, MAX, 0, 1 at 5..8
  auto dup3 = Send(*log, 2, 0, kMaxSeq - 1, 4);
  ASSERT_TRUE(dup3.ok());
  EXPECT_TRUE(dup3->duplicate);
  EXPECT_EQ(dup3->first_offset, Offset(5));
  auto next = Send(*log, 2, 0, 2, 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_offset, Offset(9));
  EXPECT_FALSE(Send(*log, 2, 0, 0, 1).ok());
}

TEST_F(ProducerStateTest, ARequestOfManyBatchesIsAllDuplicatesOrNone) {
  auto log = OpenLog();
  auto first = SendMany(*log, {{5, 0, 0, 3}, {5, 0, 3, 3}, {6, 0, 0, 2}, {5, 0, 6, 3}});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->first_offset, Offset(0));
  EXPECT_EQ(first->last_offset, Offset(10));

  auto retry = SendMany(*log, {{5, 0, 0, 3}, {5, 0, 3, 3}, {6, 0, 0, 2}, {5, 0, 6, 3}});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, Offset(0));
  EXPECT_EQ(retry->last_offset, Offset(10));

  auto mixed = SendMany(*log, {{5, 0, 6, 3}, {5, 0, 9, 3}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(CodeOf(mixed.status()), kKafkaOutOfOrderSequenceNumber);
  EXPECT_NE(mixed.status().message().find("mixes re-sent and new batches of producer 5"),
            absl::string_view::npos)
      << mixed.status();
  auto mixed_other_way = SendMany(*log, {{6, 0, 2, 1}, {5, 0, 6, 3}});
  EXPECT_EQ(CodeOf(mixed_other_way.status()), kKafkaOutOfOrderSequenceNumber);
  // Duplicates whose originals were not written together.
  auto apart = SendMany(*log, {{5, 0, 0, 3}, {5, 0, 6, 3}});
  EXPECT_EQ(CodeOf(apart.status()), kKafkaOutOfOrderSequenceNumber);
  // Later batches see earlier ones: a gap inside the request is refused and
  // names the batch.
  auto gap = SendMany(*log, {{5, 0, 9, 3}, {5, 0, 13, 1}});
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(CodeOf(gap.status()), kKafkaOutOfOrderSequenceNumber);
  EXPECT_TRUE(absl::StartsWith(gap.status().message(), "batch 1: ")) << gap.status();
  // And a repeated batch inside one request is a mix.
  EXPECT_FALSE(SendMany(*log, {{5, 0, 9, 3}, {5, 0, 9, 3}}).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(11));
}

TEST_F(ProducerStateTest, ARetriedGroupOfTenBatchesIsFoundWhileInTheLastFiveRuns) {
  auto log = OpenLog();
  std::vector<B> group;
  for (int i = 0; i < 10; ++i) group.push_back({1, 0, i * 4, 4});
  ASSERT_TRUE(SendMany(*log, group).ok());
  // Appends of one producer contiguous with its last extend the run; a
  // batch of another producer in between starts a new one.
  int32_t seq = 40;
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(Send(*log, 2, 0, r, 1).ok());
    ASSERT_TRUE(Send(*log, 1, 0, seq, 2).ok());
    ASSERT_TRUE(Send(*log, 1, 0, seq + 2, 2).ok());  // same run
    seq += 4;
  }
  EXPECT_EQ(log->ProducerEntries()[0].second.num_runs, 5);
  EXPECT_EQ(log->ProducerEntries()[1].second.num_runs, 4);
  auto retry = SendMany(*log, group);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, Offset(0));
  EXPECT_EQ(retry->last_offset, Offset(39));
  // A sixth run pushes the group out: its retry is out of order now.
  ASSERT_TRUE(Send(*log, 2, 0, 4, 1).ok());
  ASSERT_TRUE(Send(*log, 1, 0, seq, 1).ok());
  EXPECT_EQ(CodeOf(SendMany(*log, group).status()), kKafkaOutOfOrderSequenceNumber);
}

TEST_F(ProducerStateTest, BatchesWithoutAProducerIdAreNeverChecked) {
  auto log = OpenLog();
  for (int i = 0; i < 3; ++i) {
    std::string batch = testing::MakeBatch(0, 2, clock_.NowMs());
    auto info = log->AppendAsLeader(&batch, Epoch(1));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_FALSE(info->duplicate);
  }
  EXPECT_TRUE(log->ActiveProducers().empty());
  // Mixed into a retried request they would be lost or doubled: refused.
  ASSERT_TRUE(Send(*log, 8, 0, 0, 1).ok());
  std::vector<std::string> request = {ProducerBatch(8, 0, 0, 1, clock_.NowMs()),
                                      testing::MakeBatch(0, 1, clock_.NowMs())};
  EXPECT_EQ(CodeOf(log->AppendAsLeader(&request, Epoch(1)).status()),
            kKafkaOutOfOrderSequenceNumber);
}

TEST_F(ProducerStateTest, TheCoordinatorOriginChecksTheEpochOnly) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 3, 2, 0, 1, AppendOrigin::kCoordinator).ok());
  auto gap = Send(*log, 3, 2, 50, 1, AppendOrigin::kCoordinator);
  ASSERT_TRUE(gap.ok()) << gap.status();
  EXPECT_FALSE(gap->duplicate);
  EXPECT_EQ(CodeOf(Send(*log, 3, 1, 51, 1, AppendOrigin::kCoordinator).status()),
            kKafkaInvalidProducerEpoch);
}

TEST_F(ProducerStateTest, AFollowersStateEqualsItsLeaders) {
  config_.segment_bytes = 600;
  auto leader = OpenLog();
  int32_t seq[4] = {0, 0, 0, 0};
  int16_t epoch[4] = {0, 0, 0, 0};
  for (int i = 0; i < 40; ++i) {
    const int pid = i % 3 == 0 ? 0 : (i % 4 == 0 ? 1 : 2 + (i % 2));
    const int count = 1 + i % 3;
    if (i == 20) {
      epoch[1] = 1;  // a bump drops the old epoch's runs
      seq[1] = 0;
    }
    if (i % 5 == 0) {
      ASSERT_TRUE(SendMany(*leader, {{pid, epoch[pid], seq[pid], count},
                                     {pid, epoch[pid], seq[pid] + count, 1}})
                      .ok());
      seq[pid] += count + 1;
    } else {
      ASSERT_TRUE(Send(*leader, pid, epoch[pid], seq[pid], count).ok());
      seq[pid] += count;
    }
  }
  ASSERT_GT(leader->num_segments(), 2);
  // All at once, and batch by batch (a follower cannot see append
  // boundaries): the same state.
  EXPECT_EQ(Replayed(*leader), leader->ProducerEntries());
  auto follower = OpenLog(false, "/data/follower-0");
  const std::string all = ReadAll(*leader);
  record::BatchIterator it(all);
  record::BatchHeader h;
  std::string_view b;
  while (it.Next(&h, &b)) ASSERT_TRUE(follower->AppendAsFollower(b).ok());
  EXPECT_EQ(follower->ProducerEntries(), leader->ProducerEntries());
  EXPECT_EQ(follower->ActiveProducers(), leader->ActiveProducers());
}

TEST_F(ProducerStateTest, ACleanRestartLoadsTheSnapshotAtTheLogEnd) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 1, 0, 0, 3).ok());
  ASSERT_TRUE(Send(*log, 2, 0, 0, 2).ok());
  const auto before = log->ProducerEntries();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Snapshots(), std::vector<Offset>{Offset(5)});
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->ProducerEntries(), before);
  auto dup = Send(*log, 1, 0, 0, 3);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  // Closing again at the same end writes nothing new.
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Snapshots(), std::vector<Offset>{Offset(5)});
}

TEST_F(ProducerStateTest, WithoutASnapshotTheLogIsReplayed) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 1, 0, 0, 3).ok());
  ASSERT_TRUE(Send(*log, 2, 0, 0, 2).ok());
  ASSERT_TRUE(Send(*log, 1, 0, 3, 3).ok());
  const auto before = log->ProducerEntries();
  ASSERT_TRUE(log->Flush().ok());
  log.reset();  // no Close: no snapshot
  EXPECT_TRUE(Snapshots().empty());
  log = OpenLog();
  EXPECT_EQ(log->ProducerEntries(), before);
  // Load wrote one at the log end, so the next start need not replay.
  EXPECT_EQ(Snapshots(), std::vector<Offset>{Offset(8)});
  auto dup = Send(*log, 1, 0, 3, 3);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, Offset(5));
}

TEST_F(ProducerStateTest, ACorruptSnapshotIsDeletedAndAnOlderOneOrTheLogUsed) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Send(*log, 1 + i % 2, 0, i / 2 * 2, 2).ok());
  const auto before = log->ProducerEntries();
  ASSERT_TRUE(log->Close().ok());
  std::vector<Offset> snaps = Snapshots();
  ASSERT_GE(snaps.size(), 2u);
  const std::string newest = std::string(kDir) + "/" + ProducerSnapshotFileName(snaps.back());
  fs_.CorruptByte(newest, 20);
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->ProducerEntries(), before);
  // The bad one went; Load replayed from the older one and wrote a new one.
  EXPECT_EQ(Snapshots().back(), snaps.back());
  auto content = fs_.Contents(newest);
  ASSERT_TRUE(content.has_value());
  ProducerStateManager check("x");
  EXPECT_TRUE(check.DecodeSnapshot(*content).ok());
  // A snapshot cut short is no better.
  ASSERT_TRUE(log->Close().ok());
  fs_.TruncateFile(newest, 15);
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->ProducerEntries(), before);
}

TEST_F(ProducerStateTest, PowerLossLeavesNoSnapshotAboveTheLogEndAndDedupHolds) {
  config_.segment_bytes = 400;
  fs_.SetDirectoryOpsNeedSync(true);
  auto log = OpenLog();
  struct Sent {
    int32_t seq;
    int count;
  };
  std::vector<Sent> sent;
  int32_t seq = 0;
  for (int i = 0; i < 30; ++i) {
    const int count = 1 + i % 3;
    ASSERT_TRUE(Send(*log, 42, 0, seq, count).ok());
    ASSERT_TRUE(Send(*log, 43, 0, seq, count).ok());  // makes runs of one batch
    sent.push_back({seq, count});
    seq += count;
  }
  ASSERT_GT(log->num_segments(), 3);
  const Offset end_before = log->log_end_offset();
  // A stray snapshot above where the log will end after the crash, as a
  // badly ordered write would leave (durable: written atomically).
  ASSERT_TRUE(WriteProducerSnapshot(&fs_, kDir, end_before + 100, ProducerStateManager("x")).ok());
  log.reset();
  fs_.SimulateCrash();

  log = OpenLog();
  const Offset end = log->log_end_offset();
  EXPECT_LT(end, end_before);  // the active segment's tail was unsynced
  for (Offset at : Snapshots()) EXPECT_LE(at, end);
  EXPECT_EQ(log->ProducerEntries(), Replayed(*log));
  // The producer retries everything it sent, oldest first, as after a
  // leader failover: what survived is a duplicate (while still in the last
  // five runs), the first lost batch goes on from there.
  const auto views = log->ActiveProducers();
  ASSERT_EQ(views.size(), 2u);
  const int32_t last_kept = views[0].last_sequence;
  size_t kept = 0;
  while (kept < sent.size() && sent[kept].seq + sent[kept].count - 1 <= last_kept) ++kept;
  ASSERT_GE(kept, 6u);
  ASSERT_LT(kept, sent.size());
  // The oldest kept batch is out of the last five runs.
  EXPECT_EQ(CodeOf(Send(*log, 42, 0, sent[kept - 6].seq, sent[kept - 6].count).status()),
            kKafkaOutOfOrderSequenceNumber);
  for (size_t i = kept - 5; i < sent.size(); ++i) {
    auto info = Send(*log, 42, 0, sent[i].seq, sent[i].count);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->duplicate, i < kept) << i;
  }
}

TEST_F(ProducerStateTest, TruncationBelowASnapshotReloadsFromAnOlderOne) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(Send(*log, 1 + i % 2, 0, i / 2 * 2, 2).ok());
  std::vector<Offset> snaps = Snapshots();
  ASSERT_GE(snaps.size(), 2u);
  const Offset cut = snaps.back() - 1;  // inside the segment before the active one
  ASSERT_TRUE(log->TruncateTo(cut).ok());
  for (Offset at : Snapshots()) EXPECT_LE(at, log->log_end_offset());
  EXPECT_EQ(log->ProducerEntries(), Replayed(*log));
  // A retry of a truncated batch is new again; one that stayed is not.
  const auto views = log->ActiveProducers();
  for (const ProducerStateView& v : views) {
    auto again = Send(*log, v.producer_id, 0, v.last_sequence - 1, 2);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate);
    auto next = Send(*log, v.producer_id, 0, v.last_sequence + 1, 2);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_FALSE(next->duplicate);
  }
  // Below the log start: emptied.
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(4), false).ok());
  ASSERT_TRUE(log->TruncateTo(Offset(2)).ok());
  EXPECT_TRUE(log->ActiveProducers().empty());
  EXPECT_TRUE(Snapshots().empty());
}

TEST_F(ProducerStateTest, TruncateFullyForgetsEveryProducer) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Send(*log, 1, 0, i * 2, 2).ok());
  ASSERT_FALSE(Snapshots().empty());
  ASSERT_TRUE(log->TruncateFullyAndStartAt(Offset(500)).ok());
  EXPECT_TRUE(log->ActiveProducers().empty());
  EXPECT_TRUE(Snapshots().empty());
  EXPECT_TRUE(Send(*log, 1, 0, 77, 1).ok());  // unknown again: any sequence
}

TEST_F(ProducerStateTest, RetentionEvictsProducersWhoseBatchesAreGone) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Send(*log, 1, 0, i * 2, 2).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Send(*log, 2, 0, i * 2, 2).ok());
  ASSERT_TRUE(Send(*log, 3, 0, 0, 2).ok());
  const Offset producer1_end(12);
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  // DeleteRecords up to producer 1's last batch: it stays.
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(producer1_end - 1, true).ok());
  EXPECT_EQ(log->ActiveProducers().size(), 3u);
  // Past it: producer 1 goes, and may start anywhere.
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(producer1_end, true).ok());
  ASSERT_EQ(log->ActiveProducers().size(), 2u);
  EXPECT_EQ(log->ActiveProducers()[0].producer_id, 2);
  for (Offset at : Snapshots()) EXPECT_GE(at, log->log_start_offset());
  // Retention of the segments below the start, then a restart: still gone.
  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GT(deleted->count, 0);
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(true);
  ASSERT_EQ(log->ActiveProducers().size(), 2u);
  EXPECT_TRUE(Send(*log, 1, 0, 1000, 1).ok());
  EXPECT_FALSE(Send(*log, 2, 0, 1000, 1).ok());
}

TEST_F(ProducerStateTest, ProducersExpireAfterTheirLastBatchsTimestamp) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 1, 0, 0, 1).ok());
  clock_.AdvanceMs(5000);
  ASSERT_TRUE(Send(*log, 2, 0, 0, 1).ok());
  EXPECT_EQ(log->RemoveExpiredProducers(clock_.NowMs(), 5001), 0);
  EXPECT_EQ(log->RemoveExpiredProducers(clock_.NowMs(), 5000), 1);
  ASSERT_EQ(log->ActiveProducers().size(), 1u);
  EXPECT_EQ(log->ActiveProducers()[0].producer_id, 2);
  EXPECT_TRUE(Send(*log, 1, 0, 50, 1).ok());  // forgotten: any sequence
}

TEST_F(ProducerStateTest, TheLogManagersTaskExpiresProducers) {
  LogManager::Options options;
  options.log_dirs = {"/data"};
  options.producer_id_expiration_ms = 1000;
  options.producer_id_expiration_check_interval_ms = 100;
  options.cleaner_enable = false;
  auto manager = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto log = (*manager)->GetOrCreate(TopicPartition{"t", PartitionId(0)});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(Send(**log, 1, 0, 0, 1).ok());
  EXPECT_EQ((*manager)->RemoveExpiredProducers(), 0);
  clock_.AdvanceMs(1000);
  EXPECT_EQ((*manager)->RemoveExpiredProducers(), 1);
  ASSERT_TRUE((*manager)->Close().ok());
}

TEST_F(ProducerStateTest, AnEmptyLogWritesNoSnapshot) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(Snapshots().empty());
}

TEST(ProducerStateManagerTest, SnapshotsRoundTripAndRefuseDamage) {
  ProducerStateManager state("t-0");
  record::BatchHeader h = ProducerHeader(9, 2, 0, 3, Offset(0));
  h.max_timestamp = 123;
  for (int i = 0; i < 7; ++i) {
    h.base_offset = Offset(i * 10);  // not contiguous: a run each, five kept
    state.Apply(h, {});
    h.base_sequence += 3;
  }
  h.producer_id = 10;
  h.attributes = 0x10;  // transactional: opens a transaction
  state.Apply(h, {});
  const std::string bytes = state.EncodeSnapshot();
  ProducerStateManager copy("t-0");
  ASSERT_TRUE(copy.DecodeSnapshot(bytes).ok());
  EXPECT_EQ(copy.Entries(), state.Entries());
  EXPECT_EQ(copy.Entries()[0].second.num_runs, kProducerRunsToRetain);
  EXPECT_EQ(copy.Entries()[1].second.current_txn_first_offset, 60);
  EXPECT_EQ(bytes.size(), 10u + 2 * 31 + 6 * 32);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x40;
    EXPECT_FALSE(copy.DecodeSnapshot(bad).ok()) << i;
  }
  EXPECT_FALSE(copy.DecodeSnapshot(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_EQ(copy.Entries(), state.Entries());  // a refused snapshot changes nothing
}

// --- Transactions (issue 15 step 5: transactions in the partition log) ---

TEST_F(ProducerStateTest, ATransactionHoldsTheFirstUnstableOffsetUntilItsMarker) {
  auto log = OpenLog();
  ASSERT_TRUE(Send(*log, 1, 0, 0, 2).ok());  // offsets 0-1, not transactional
  EXPECT_EQ(log->FirstUnstableOffset(), std::nullopt);
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 0, 0, 3, 2)).ok());  // 2-4
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(6, 0, 0, 1, 5)).ok());  // 5
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 0, 3, 1, 6)).ok());  // 6, same transaction
  EXPECT_EQ(log->FirstUnstableOffset(), Offset(2));

  auto marker = log->AppendTxnMarker(5, 0, Commit(7), Epoch(1));
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(marker->first_offset, Offset(7));
  EXPECT_EQ(marker->last_offset, Offset(7));
  EXPECT_EQ(log->log_end_offset(), Offset(8));
  // Until the high watermark passes its marker, the transaction still
  // holds the last stable offset: a new leader may not have the marker.
  log->MaybeIncrementHighWatermark(Offset(7));
  EXPECT_EQ(log->FirstUnstableOffset(), Offset(2));
  EXPECT_EQ(log->last_stable_offset(), Offset(2));
  log->MaybeIncrementHighWatermark(Offset(8));
  EXPECT_EQ(log->FirstUnstableOffset(), Offset(5)) << "producer 6's transaction is still open";
  EXPECT_EQ(log->last_stable_offset(), Offset(5));
  ASSERT_TRUE(log->AppendTxnMarker(6, 0, Abort(7), Epoch(1)).ok());
  EXPECT_EQ(log->last_stable_offset(), Offset(5));
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(log->FirstUnstableOffset(), std::nullopt);
  EXPECT_EQ(log->last_stable_offset(), log->log_end_offset());

  // The marker is a control batch of the producer, stored like any batch.
  const std::string all = ReadAll(*log);
  record::BatchIterator it(all);
  record::BatchHeader h;
  std::string_view b;
  std::vector<std::pair<int64_t, record::EndTxnMarker>> markers;
  while (it.Next(&h, &b)) {
    if (!h.is_control()) continue;
    EXPECT_TRUE(h.is_transactional());
    EXPECT_EQ(h.partition_leader_epoch, Epoch(1));
    auto m = record::ReadEndTxnMarker(b);
    ASSERT_TRUE(m.ok()) << m.status();
    markers.emplace_back(h.producer_id, *m);
  }
  EXPECT_EQ(markers,
            (std::vector<std::pair<int64_t, record::EndTxnMarker>>{{5, Commit(7)}, {6, Abort(7)}}));
  for (const ProducerStateView& p : log->ActiveProducers()) {
    if (p.producer_id == 1) continue;
    EXPECT_EQ(p.coordinator_epoch, 7) << p.producer_id;
    EXPECT_EQ(p.current_txn_start_offset, -1) << p.producer_id;
  }
}

TEST_F(ProducerStateTest, AMarkerFromAnOlderCoordinatorOrProducerEpochIsFenced) {
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 2, 0, 1, 0)).ok());
  ASSERT_TRUE(log->AppendTxnMarker(5, 2, Abort(4), Epoch(1)).ok());
  const Offset end = log->log_end_offset();

  auto zombie = log->AppendTxnMarker(5, 2, Commit(3), Epoch(1));
  ASSERT_FALSE(zombie.ok());
  EXPECT_EQ(CodeOf(zombie.status()), kKafkaTransactionCoordinatorFenced);
  EXPECT_NE(zombie.status().message().find("coordinator epoch 3, older than the epoch 4"),
            absl::string_view::npos)
      << zombie.status();
  auto old_producer = log->AppendTxnMarker(5, 1, Commit(4), Epoch(1));
  ASSERT_FALSE(old_producer.ok());
  EXPECT_EQ(CodeOf(old_producer.status()), kKafkaInvalidProducerEpoch);
  EXPECT_EQ(log->log_end_offset(), end) << "a refused marker writes nothing";

  // The same coordinator epoch again (a retried marker), a newer one, and
  // a newer producer epoch (the coordinator's abort after a timeout bumps
  // it) all pass; a producer never seen here takes any marker.
  EXPECT_TRUE(log->AppendTxnMarker(5, 2, Abort(4), Epoch(1)).ok());
  EXPECT_TRUE(log->AppendTxnMarker(5, 3, Abort(5), Epoch(1)).ok());
  EXPECT_TRUE(log->AppendTxnMarker(77, 0, Commit(0), Epoch(1)).ok());
  EXPECT_FALSE(log->AppendTxnMarker(-1, 0, Commit(0), Epoch(1)).ok());
}

TEST_F(ProducerStateTest, ABatchOutsideAnOpenTransactionIsInvalidTxnState) {
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 0, 0, 2, 0)).ok());
  auto outside = Send(*log, 5, 0, 2, 1);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(CodeOf(outside.status()), kKafkaInvalidTxnState);
  EXPECT_NE(outside.status().message().find("transaction open in orders-0 since offset 0"),
            absl::string_view::npos)
      << outside.status();
  ASSERT_TRUE(log->AppendTxnMarker(5, 0, Commit(0), Epoch(1)).ok());
  EXPECT_TRUE(Send(*log, 5, 0, 2, 1).ok()) << "after the marker the producer writes freely";
}

TEST_F(ProducerStateTest, ANewerEpochWhileATransactionIsOpenIsRefused) {
  // A forged batch at a higher epoch must not move the producer on while
  // its transaction is open: the coordinator's marker at the real epoch
  // would then look old and the transaction never end.
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 2, 0, 2, 0)).ok());
  for (AppendOrigin origin : {AppendOrigin::kClient, AppendOrigin::kCoordinator}) {
    std::string forged = TxnBatch(5, 32767, 0, 1, 0);
    auto r = log->AppendAsLeader(&forged, Epoch(1), origin);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(CodeOf(r.status()), kKafkaInvalidProducerEpoch) << r.status();
    EXPECT_EQ(CodeOf(Send(*log, 5, 3, 0, 1, origin).status()), kKafkaInvalidProducerEpoch);
  }
  // The coordinator's marker at the real epoch still ends it; its fence
  // (a marker at the bumped epoch) would too.
  ASSERT_TRUE(log->AppendTxnMarker(5, 2, Commit(0), Epoch(1)).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_FALSE(log->FirstUnstableOffset().has_value());
  std::string next = TxnBatch(5, 3, 0, 1, 0);
  EXPECT_TRUE(log->AppendAsLeader(&next, Epoch(1)).ok()) << "a new epoch once it has ended";
  ASSERT_TRUE(log->AppendTxnMarker(5, 4, Abort(1), Epoch(1)).ok()) << "a fence's marker";
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_FALSE(log->FirstUnstableOffset().has_value());
}

TEST_F(ProducerStateTest, TransactionsSurviveRestartReplayAndFollowers) {
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 0, 0, 2, 0)).ok());
  ASSERT_TRUE(log->AppendTxnMarker(5, 0, Abort(3), Epoch(1)).ok());
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(6, 1, 0, 2, 3)).ok());  // left open
  const auto entries = log->ProducerEntries();
  EXPECT_EQ(Replayed(*log), entries) << "a follower copying the log";

  // An unclean restart without snapshots replays the segments, markers
  // read from their records.
  log.reset();
  for (Offset at : Snapshots()) ASSERT_TRUE(DeleteProducerSnapshot(&fs_, kDir, at).ok());
  log = OpenLog(/*clean=*/false);
  EXPECT_EQ(log->ProducerEntries(), entries);
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(log->FirstUnstableOffset(), Offset(3));
  auto fenced = log->AppendTxnMarker(5, 0, Commit(2), Epoch(1));
  EXPECT_EQ(CodeOf(fenced.status()), kKafkaTransactionCoordinatorFenced);

  // And from the snapshot a clean close leaves.
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(log->ProducerEntries(), entries);
  EXPECT_EQ(log->FirstUnstableOffset(), Offset(3)) << "the high watermark was checkpointed";
}

TEST_F(ProducerStateTest, TheLastStableOffsetNeverFallsBelowTheLogStart) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  ASSERT_TRUE(log->AppendAsFollower(TxnBatch(5, 0, 0, 2, 0)).ok());  // left open
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Send(*log, 1, 0, i * 2, 2).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(log->last_stable_offset(), Offset(0));
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(Offset(8), true).ok());
  EXPECT_EQ(log->last_stable_offset(), Offset(8)) << "not below the earliest offset";
}

// A log of transactions across several segments: producer 5 aborts twice,
// producer 6 commits, producer 7 aborts without having written here.
// Returns the aborted transactions it made, in marker order.
std::vector<AbortedTxn> WriteTransactions(Log& log) {
  std::vector<AbortedTxn> aborted;
  int64_t next = log.log_end_offset().value();
  auto data = [&](int64_t pid, int32_t seq, int count) {
    EXPECT_TRUE(log.AppendAsFollower(TxnBatch(pid, 0, seq, count, next)).ok());
    next += count;
  };
  auto marker = [&](int64_t pid, record::EndTxnMarker m) {
    auto done = log.AppendTxnMarker(pid, 0, m, Epoch(1));
    EXPECT_TRUE(done.ok()) << done.status();
    next = log.log_end_offset().value();
    return done.ok() ? done->first_offset.value() : -1;
  };
  const int64_t first5 = next;
  data(5, 0, 2);
  data(6, 0, 3);
  data(5, 2, 2);
  int64_t at = marker(5, Abort(1));  // producer 6 still open: the LSO is its first offset
  aborted.push_back(AbortedTxn{5, Offset(first5), Offset(at), Offset(first5 + 2)});
  marker(6, Commit(1));
  const int64_t second5 = next;
  data(5, 4, 3);
  at = marker(5, Abort(1));
  aborted.push_back(AbortedTxn{5, Offset(second5), Offset(at), Offset(at + 1)});
  at = marker(7, Abort(1));
  aborted.push_back(AbortedTxn{7, Offset(at), Offset(at), Offset(at + 1)});
  return aborted;
}

TEST_F(ProducerStateTest, AbortsAreIndexedInTheMarkersSegmentAndCollectedByRange) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  const std::vector<AbortedTxn> aborted = WriteTransactions(*log);
  ASSERT_GT(log->num_segments(), 2);
  const Offset end = log->log_end_offset();
  auto all = log->CollectAbortedTxns(Offset(0), end);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, aborted);
  // Only what overlaps the range.
  auto tail = log->CollectAbortedTxns(aborted[0].last_offset + 1, end);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, (std::vector<AbortedTxn>{aborted[1], aborted[2]}));
  auto head = log->CollectAbortedTxns(Offset(0), aborted[1].first_offset);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, std::vector<AbortedTxn>{aborted[0]});
  // A transaction whose data starts in an earlier segment than its marker
  // is found from a fetch inside its data.
  auto inside = log->CollectAbortedTxns(Offset(1), Offset(2));
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(*inside, std::vector<AbortedTxn>{aborted[0]});

  // Each entry sits in the .txnindex of its marker's segment, on disk.
  ASSERT_TRUE(log->Flush().ok());
  auto view = log->ViewForCleaning();
  ASSERT_TRUE(view.ok());
  size_t placed = 0;
  for (const Log::SegmentInfo& info : view->segments) {
    std::vector<AbortedTxn> expected;
    for (const AbortedTxn& t : aborted) {
      if (t.last_offset >= info.base_offset && t.last_offset < info.next_offset) {
        expected.push_back(t);
      }
    }
    auto index = TxnIndex::Open(
        &fs_, std::string(kDir) + "/" + SegmentFileStem(info.base_offset) + ".txnindex");
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(index->entries(), expected) << SegmentFileStem(info.base_offset);
    placed += index->entries().size();
  }
  EXPECT_EQ(placed, aborted.size());
  EXPECT_GE(TxnIndexFiles().size(), 2u) << "the aborts span segments in this layout";
}

TEST_F(ProducerStateTest, AbortedTransactionsSurviveRestartsAndPowerLoss) {
  config_.segment_bytes = 300;
  fs_.SetDirectoryOpsNeedSync(true);
  auto log = OpenLog();
  const std::vector<AbortedTxn> aborted = WriteTransactions(*log);
  auto collect = [](const Log& l) {
    auto all = l.CollectAbortedTxns(Offset(0), l.log_end_offset());
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<AbortedTxn>{};
  };
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(collect(*log), aborted);

  // Unclean, without snapshots: rebuilt by the replay, none twice.
  log.reset();
  for (Offset at : Snapshots()) ASSERT_TRUE(DeleteProducerSnapshot(&fs_, kDir, at).ok());
  log = OpenLog();
  EXPECT_EQ(collect(*log), aborted);

  // Power loss after more transactions than were synced: what the log kept
  // has exactly the aborts a follower copying it would index.
  const std::vector<AbortedTxn> more = WriteTransactions(*log);
  log.reset();
  fs_.SimulateCrash();
  log = OpenLog();
  const std::string dir = "/data/replay-copy";
  auto copy = OpenLog(false, dir);
  ASSERT_TRUE(copy->AppendAsFollower(ReadAll(*log)).ok());
  EXPECT_EQ(collect(*log), collect(*copy));
  EXPECT_GE(collect(*log).size(), aborted.size());
}

TEST_F(ProducerStateTest, TruncationAndRetentionTakeTheirAbortsAlong) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  const std::vector<AbortedTxn> aborted = WriteTransactions(*log);
  // Truncating below the last marker drops its entry.
  ASSERT_TRUE(log->TruncateTo(aborted[2].last_offset).ok());
  auto left = log->CollectAbortedTxns(Offset(0), log->log_end_offset());
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, (std::vector<AbortedTxn>{aborted[0], aborted[1]}));

  // Retention: segments below the start go with their .txnindex files.
  const std::string first_marker_file =
      SegmentFileStem(Offset(aborted[0].last_offset)) + ".txnindex";
  ASSERT_EQ(TxnIndexFiles().front(), first_marker_file)
      << "the first marker starts a segment in this layout";
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  // To the second marker, which starts the last segment in this layout.
  ASSERT_TRUE(log->MaybeIncrementLogStartOffset(aborted[1].last_offset, true).ok());
  auto deleted = log->DeleteOldSegments();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_GT(deleted->count, 0);
  for (const std::string& name : TxnIndexFiles()) EXPECT_NE(name, first_marker_file);
  auto later = log->CollectAbortedTxns(log->log_start_offset(), log->log_end_offset());
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, std::vector<AbortedTxn>{aborted[1]});
}

// The cleaner replaces segments with one cleaned copy: the aborted
// transactions of the segments it replaces move into the copy's .txnindex.
// (The cleaner itself still refuses logs with transactions; this swaps in
// an unchanged copy of two segments, as a cleaning that kept everything.)
TEST_F(ProducerStateTest, ASwappedInCleanedSegmentKeepsTheAbortsOfThoseItReplaces) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  const std::vector<AbortedTxn> aborted = WriteTransactions(*log);
  ASSERT_TRUE(log->Roll().ok());
  auto view = log->ViewForCleaning();
  ASSERT_TRUE(view.ok());
  ASSERT_GE(view->segments.size(), 3u);
  const std::vector<Log::SegmentInfo> old = {view->segments[0], view->segments[1]};
  WriteCleanedCopy(*log, old);
  const std::string before = ReadAll(*log);
  auto replaced = log->ReplaceSegments(old, old[1].next_offset, view->generation);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(ReadAll(*log), before);
  auto all = log->CollectAbortedTxns(Offset(0), log->log_end_offset());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, aborted);
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(/*clean=*/true);
  all = log->CollectAbortedTxns(Offset(0), log->log_end_offset());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, aborted);
}

// A crash during a swap's last renames, after the cleaned .txnindex took
// its final name but before the .log did: the reload completes the swap
// and keeps that .txnindex (it cannot be rebuilt from the .log).
TEST_F(ProducerStateTest, ACrashMidSwapKeepsTheCleanedTxnIndex) {
  config_.segment_bytes = 300;
  auto log = OpenLog();
  const std::vector<AbortedTxn> aborted = WriteTransactions(*log);
  ASSERT_TRUE(log->Roll().ok());
  auto view = log->ViewForCleaning();
  ASSERT_TRUE(view.ok());
  const std::vector<Log::SegmentInfo> old = {view->segments[0], view->segments[1]};
  const std::string stem = std::string(kDir) + "/" + SegmentFileStem(old[0].base_offset);
  WriteCleanedCopy(*log, old);
  const std::string before = ReadAll(*log);
  {
    auto index = TxnIndex::Open(&fs_, stem + ".txnindex" + kCleanedFileSuffix);
    ASSERT_TRUE(index.ok());
    for (const Log::SegmentInfo& info : old) {
      auto all = log->CollectAbortedTxns(info.base_offset, info.next_offset);
      ASSERT_TRUE(all.ok());
      for (const AbortedTxn& t : *all) {
        if (t.last_offset >= info.base_offset && t.last_offset < info.next_offset) {
          ASSERT_TRUE(index->Append(t).ok());
        }
      }
    }
    ASSERT_FALSE(index->entries().empty()) << "the layout puts an abort in the old segments";
    ASSERT_TRUE(index->Sync().ok());
  }
  ASSERT_TRUE(log->Close().ok());
  // The swap as ReplaceSegments does it, stopped before the .log's rename:
  // the cleaned files become ".swap", the old ones ".deleted", then the
  // indexes take their final names.
  for (const char* ext : kSegmentFileExtensions) {
    if (fs_.Exists(stem + ext + kCleanedFileSuffix)) {
      ASSERT_TRUE(fs_.Rename(stem + ext + kCleanedFileSuffix, stem + ext + kSwapFileSuffix).ok());
    }
  }
  for (const Log::SegmentInfo& info : old) {
    const std::string old_stem = std::string(kDir) + "/" + SegmentFileStem(info.base_offset);
    for (const char* ext : kSegmentFileExtensions) {
      if (fs_.Exists(old_stem + ext)) {
        ASSERT_TRUE(fs_.Rename(old_stem + ext, old_stem + ext + kDeletedFileSuffix).ok());
      }
    }
  }
  for (const char* ext : {".index", ".timeindex", ".txnindex"}) {
    ASSERT_TRUE(fs_.Rename(stem + ext + kSwapFileSuffix, stem + ext).ok());
  }
  ASSERT_TRUE(fs_.Exists(stem + ".log" + kSwapFileSuffix));

  log = OpenLog(/*clean=*/true);
  EXPECT_EQ(ReadAll(*log), before);
  auto all = log->CollectAbortedTxns(Offset(0), log->log_end_offset());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, aborted);
}

// A producer that wrote 2^31 records in one run, [0, INT32_MAX], goes on
// from sequence 0: its new batches are new, not retries of the run's first
// ones. Nor, once it has written again from 0, are batches that reach
// into the old run's range. (They were once answered as duplicates of
// records written 2^31 sequences before, and never written.)
TEST(ProducerStateManagerTest, SequencesAfterTheWrapAreNotTakenForTheOldRunsDuplicates) {
  ProducerStateManager state("t-0");
  const Offset end(int64_t{kMaxSeq} + 1);
  state.Apply(ProducerHeader(1, 0, 0, end.value(), Offset(0)), {});  // one run of 2^31
  const record::BatchHeader next = ProducerHeader(1, 0, 0, 10, end);
  auto verdict = state.CheckAppend({&next, 1}, end, AppendOrigin::kClient);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_FALSE(verdict->has_value())
      << "taken for a duplicate at offset " << (*verdict)->first_offset.value();
  state.Apply(next, {});
  // Sequences 10-19 follow: new too.
  const record::BatchHeader after = ProducerHeader(1, 0, 10, 10, end + 10);
  verdict = state.CheckAppend({&after, 1}, end + 10, AppendOrigin::kClient);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_FALSE(verdict->has_value());
  // A retry of 0-9 is a duplicate, at its new offsets; one of the old
  // run's last sequences (just behind the wrap) is a duplicate at its old.
  verdict = state.CheckAppend({&next, 1}, end + 10, AppendOrigin::kClient);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  ASSERT_TRUE(verdict->has_value());
  EXPECT_EQ((*verdict)->first_offset, end);
  const record::BatchHeader old_tail = ProducerHeader(1, 0, kMaxSeq - 1, 2, end + 10);
  verdict = state.CheckAppend({&old_tail, 1}, end + 10, AppendOrigin::kClient);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  ASSERT_TRUE(verdict->has_value());
  EXPECT_EQ((*verdict)->first_offset, Offset(int64_t{kMaxSeq} - 1));
  // A batch ahead of the expected sequence is out of order, wherever the
  // old run reaches.
  const record::BatchHeader ahead = ProducerHeader(1, 0, 1000, 10, end + 10);
  verdict = state.CheckAppend({&ahead, 1}, end + 10, AppendOrigin::kClient);
  EXPECT_FALSE(verdict.ok());
}

TEST(ProducerStateManagerTest, MarkersYieldTheCompletedTransaction) {
  ProducerStateManager state("t-0");
  auto header_of = [](const std::string& batch) { return *record::ReadBatchHeader(batch); };
  const std::string data = TxnBatch(5, 0, 0, 3, 10);
  EXPECT_EQ(state.Apply(header_of(data), data), std::nullopt);
  const std::string abort = record::BuildEndTxnMarkerBatch(5, 0, Abort(2), 1000, Offset(20));
  EXPECT_EQ(state.Apply(header_of(abort), abort),
            (CompletedTxn{5, Offset(10), Offset(20), /*aborted=*/true}));
  // A marker for a producer that wrote nothing here spans only itself.
  const std::string commit = record::BuildEndTxnMarkerBatch(8, 0, Commit(2), 1000, Offset(21));
  EXPECT_EQ(state.Apply(header_of(commit), commit),
            (CompletedTxn{8, Offset(21), Offset(21), /*aborted=*/false}));
  EXPECT_TRUE(state.OngoingTransactions().empty());

  // A control batch the cleaner emptied changes nothing.
  record::RecordBatchBuilder empty{Offset(22)};
  empty.set_producer(9, 0, -1).set_transactional(true).set_control(true);
  empty.set_empty_batch_timestamp(1000);
  const std::string emptied = empty.Build();
  EXPECT_EQ(state.Apply(header_of(emptied), emptied), std::nullopt);
  EXPECT_EQ(state.Find(9), nullptr);
}

TEST(ProducerStateManagerTest, EvictionKeepsOpenTransactionsAndCoordinatorEpochs) {
  ProducerStateManager state("t-0");
  auto apply = [&](const std::string& batch) {
    state.Apply(*record::ReadBatchHeader(batch), batch);
  };
  apply(TxnBatch(5, 0, 0, 2, 0));  // open, below the new log start
  apply(TxnBatch(6, 0, 0, 2, 2));
  apply(record::BuildEndTxnMarkerBatch(6, 0, Commit(9), 1000, Offset(4)));
  apply(ProducerBatch(7, 0, 0, 2, 1000));  // plain idempotent, at offset 0
  EXPECT_EQ(state.EvictBelow(Offset(100)), 1);
  ASSERT_NE(state.Find(5), nullptr);
  EXPECT_EQ(state.Find(5)->num_runs, 0);
  EXPECT_EQ(state.Find(5)->current_txn_first_offset, 0);
  ASSERT_NE(state.Find(6), nullptr);
  EXPECT_EQ(state.Find(6)->coordinator_epoch, 9);
  EXPECT_EQ(state.Find(7), nullptr);
  EXPECT_EQ(state.FirstUnstableOffset(), Offset(0));

  // The snapshot rebuilds the open transactions.
  ProducerStateManager copy("t-0");
  ASSERT_TRUE(copy.DecodeSnapshot(state.EncodeSnapshot()).ok());
  EXPECT_EQ(copy.OngoingTransactions(), state.OngoingTransactions());
  // Expiry spares the open transaction only.
  EXPECT_EQ(state.RemoveExpired(1'000'000, 10), 1);
  EXPECT_NE(state.Find(5), nullptr);
}

}  // namespace
}  // namespace strata::storage
