#include "broker/storage/log_manager.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/storage/checkpoint_file.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

using testing::MakeBatch;

TopicPartition Tp(const std::string& topic, int p) { return {topic, PartitionId(p)}; }

class LogManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogManager> OpenManager() {
    LogManager::Options options;
    options.log_dirs = {"/d1", "/d2"};
    options.config_for_topic = [](const std::string& topic) {
      LogConfig c;
      if (topic == "small") c.segment_bytes = 1024;
      return c;
    };
    auto m = LogManager::Open(&fs_, &clock_, options);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  void Produce(LogManager& m, const TopicPartition& tp, int records) {
    auto log = m.GetOrCreate(tp);
    ASSERT_TRUE(log.ok()) << log.status();
    std::string batch = MakeBatch(0, records, 1000, 100);
    ASSERT_TRUE((*log)->AppendAsLeader(&batch, Epoch(0)).ok());
  }

  MemFileSystem fs_;
  ManualClock clock_;
};

TEST(PartitionDirNameTest, ParsesTopicAndPartition) {
  EXPECT_EQ(ParsePartitionDirName("orders-3"), Tp("orders", 3));
  EXPECT_EQ(ParsePartitionDirName("my-topic-12"), Tp("my-topic", 12));
  EXPECT_EQ(ParsePartitionDirName("__consumer_offsets-49"), Tp("__consumer_offsets", 49));
  EXPECT_FALSE(ParsePartitionDirName("orders"));
  EXPECT_FALSE(ParsePartitionDirName("orders-"));
  EXPECT_FALSE(ParsePartitionDirName("-3"));
  EXPECT_FALSE(ParsePartitionDirName("orders-3a"));
  EXPECT_FALSE(ParsePartitionDirName("orders-+3"));
  EXPECT_FALSE(ParsePartitionDirName("orders-99999999999"));
}

TEST_F(LogManagerTest, CreatesSpreadsReloadsAndDeletes) {
  auto m = OpenManager();
  Produce(*m, Tp("orders", 0), 3);
  Produce(*m, Tp("orders", 1), 2);
  Produce(*m, Tp("small", 0), 1);
  EXPECT_TRUE(fs_.Exists("/d1/orders-0/00000000000000000000.log"));
  EXPECT_TRUE(fs_.Exists("/d2/orders-1/00000000000000000000.log"));  // fewest partitions
  EXPECT_EQ(m->Get(Tp("nope", 0)), nullptr);
  EXPECT_FALSE(m->GetOrCreate(Tp("", 0)).ok());
  ASSERT_TRUE(m->Close().ok());
  EXPECT_TRUE(fs_.Exists(std::string("/d1/") + kCleanShutdownFile));

  m = OpenManager();
  // The marker is consumed at start, so a crash from here on is unclean.
  EXPECT_FALSE(fs_.Exists(std::string("/d1/") + kCleanShutdownFile));
  EXPECT_EQ(m->Partitions(),
            (std::vector<TopicPartition>{Tp("orders", 0), Tp("orders", 1), Tp("small", 0)}));
  EXPECT_EQ(m->Get(Tp("orders", 0))->log_end_offset(), Offset(3));
  EXPECT_EQ(m->Get(Tp("orders", 1))->log_end_offset(), Offset(2));

  // Per-topic config applies: "small" rolls at 1 KiB.
  for (int i = 0; i < 10; ++i) Produce(*m, Tp("small", 0), 2);
  EXPECT_GT(m->Get(Tp("small", 0))->num_segments(), 1);

  ASSERT_TRUE(m->Delete(Tp("orders", 1)).ok());
  EXPECT_FALSE(fs_.Exists("/d2/orders-1"));
  EXPECT_FALSE(fs_.Exists("/d2/orders-1.deleting"));
  EXPECT_TRUE(absl::IsNotFound(m->Delete(Tp("orders", 1))));
  EXPECT_EQ(m->Partitions().size(), 2u);
}

// DescribeLogDirs' paths: absolute, as Kafka's brokers report them (a
// relative log.dirs entry against the working directory, as
// File.getAbsolutePath), each with the partitions it holds.
TEST_F(LogManagerTest, LogDirsAreReportedByAbsolutePath) {
  LogManager::Options options;
  options.log_dirs = {"/d1", "relative-logs", "./dot/logs"};
  auto m = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(m.ok()) << m.status();
  Produce(**m, Tp("orders", 0), 1);
  const std::vector<LogManager::LogDirInfo> dirs = (*m)->LogDirs();
  ASSERT_EQ(dirs.size(), 3u);
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(dirs[0].path, "/d1");
  EXPECT_EQ(dirs[1].path, cwd + "/relative-logs");
  EXPECT_EQ(dirs[2].path, cwd + "/./dot/logs") << "made absolute, not otherwise changed";
  EXPECT_EQ(dirs[0].partitions, (std::vector<TopicPartition>{Tp("orders", 0)}));
  EXPECT_TRUE(dirs[1].partitions.empty());
}

TEST_F(LogManagerTest, UncleanRestartRecoversAndFinishesInterruptedDeletes) {
  auto m = OpenManager();
  Produce(*m, Tp("orders", 0), 4);
  ASSERT_TRUE(m->Get(Tp("orders", 0))->Flush().ok());
  Produce(*m, Tp("orders", 0), 4);  // unsynced
  // A delete that crashed after its rename.
  ASSERT_TRUE(fs_.CreateDirs("/d2/gone-0.deleting").ok());
  ASSERT_TRUE(fs_.Open("/d2/gone-0.deleting/00000000000000000000.log", true).ok());
  fs_.SimulateCrash();
  m.reset();

  m = OpenManager();
  EXPECT_EQ(m->Get(Tp("orders", 0))->log_end_offset(), Offset(4));
  EXPECT_FALSE(fs_.Exists("/d2/gone-0.deleting"));
}

TEST_F(LogManagerTest, TopicIdsGuardAgainstAnotherIncarnationOfTheName) {
  auto m = OpenManager();
  auto log = m->GetOrCreate(Tp("orders", 0), "id-one");
  ASSERT_TRUE(log.ok());
  Produce(*m, Tp("orders", 0), 3);
  EXPECT_EQ(*fs_.Contents("/d1/orders-0/partition.metadata"), "version: 0\ntopic_id: id-one\n");
  ASSERT_TRUE(m->Close().ok());

  m = OpenManager();
  EXPECT_EQ(m->TopicIdOf(Tp("orders", 0)), "id-one");
  // Another topic of the same name neither adopts nor deletes this log.
  EXPECT_TRUE(absl::IsFailedPrecondition(m->GetOrCreate(Tp("orders", 0), "id-two").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(m->Delete(Tp("orders", 0), "id-two")));
  EXPECT_EQ(m->Get(Tp("orders", 0))->log_end_offset(), Offset(3));

  // A log deleted while someone holds it refuses every call.
  std::shared_ptr<Log> held = m->Get(Tp("orders", 0));
  ASSERT_TRUE(m->Delete(Tp("orders", 0), "id-one").ok());
  EXPECT_FALSE(fs_.Exists("/d1/orders-0"));
  std::string batch = MakeBatch(0, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(held->AppendAsLeader(&batch, Epoch(0)).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(held->Read(Offset(0), 100, Offset(3)).status()));
}

TEST_F(LogManagerTest, APartitionInTwoDirsIsAnError) {
  ASSERT_TRUE(fs_.CreateDirs("/d1/orders-0").ok());
  ASSERT_TRUE(fs_.CreateDirs("/d2/orders-0").ok());
  LogManager::Options options;
  options.log_dirs = {"/d1", "/d2"};
  auto m = LogManager::Open(&fs_, &clock_, options);
  EXPECT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("orders-0"), absl::string_view::npos);
}

// The descriptor budget (a node hosts ~10,000 replicas within ~20,000
// descriptors): a replica being written holds one (its active segment's
// .log), an idle one none, and reads of rolled segments share the manager's
// LRU of read handles — also while loading logs at start.
TEST_F(LogManagerTest, ManyLogsStayWithinOneDescriptorPerLogPlusTheReadCache) {
  constexpr int kLogs = 1000;
  constexpr size_t kCache = 16;
  auto open = [&] {
    LogManager::Options options;
    options.log_dirs = {"/d1", "/d2"};
    options.default_config.segment_bytes = 1024;
    options.default_config.index_interval_bytes = 256;
    options.max_open_read_files = kCache;
    auto m = LogManager::Open(&fs_, &clock_, options);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  };
  auto read_all = [&](LogManager& m) {
    for (int p = 0; p < kLogs; ++p) {
      std::shared_ptr<Log> log = m.Get(Tp("t", p));
      ASSERT_NE(log, nullptr);
      Offset next = log->log_start_offset();
      int64_t records = 0;
      while (next < log->log_end_offset()) {
        auto read = log->Read(next, 700, log->log_end_offset());
        ASSERT_TRUE(read.ok()) << read.status();
        record::BatchIterator it(read->batches);
        record::BatchHeader h;
        std::string_view b;
        while (it.Next(&h, &b)) {
          next = h.next_offset();
          records += h.records_count;
        }
      }
      ASSERT_EQ(records, log->log_end_offset().value());
    }
  };
  const int64_t budget = kLogs + static_cast<int64_t>(kCache);
  // Held at any moment: the budget, plus one file being written and closed
  // again (a checkpoint, an index's buffered entries) or a read handle
  // replacing the LRU's last one.
  const int64_t peak_budget = budget + 1;

  auto m = open();
  for (int p = 0; p < kLogs; ++p) {
    for (int i = 0; i < 12; ++i) Produce(*m, Tp("t", p), 2);  // ~4 segments
  }
  EXPECT_GE(m->Get(Tp("t", 0))->num_segments(), 3);
  EXPECT_LE(fs_.peak_open_files(), peak_budget);
  read_all(*m);
  EXPECT_LE(fs_.open_files(), budget);
  EXPECT_LE(fs_.peak_open_files(), peak_budget);
  // Looking up by time walks the old segments too.
  for (int p = 0; p < kLogs; p += 7) {
    ASSERT_TRUE(m->Get(Tp("t", p))->OffsetForTimestamp(1000).ok());
  }
  EXPECT_LE(fs_.peak_open_files(), peak_budget);
  ASSERT_TRUE(m->Close().ok());
  m.reset();
  EXPECT_EQ(fs_.open_files(), 0);

  // Clean restart: loading holds no more than the read cache and a couple
  // of short-lived files per loading thread, nor does reading every log;
  // appending takes one per log again.
  const int64_t load_budget = static_cast<int64_t>(kCache + 2 * LogManager::kLoadThreads);
  fs_.ResetPeakOpenFiles();
  m = open();
  EXPECT_LE(fs_.peak_open_files(), load_budget);
  read_all(*m);
  EXPECT_LE(fs_.open_files(), static_cast<int64_t>(kCache));
  for (int p = 0; p < kLogs; ++p) Produce(*m, Tp("t", p), 2);
  EXPECT_LE(fs_.open_files(), budget);
  EXPECT_LE(fs_.peak_open_files(), peak_budget);

  // Unclean restart: recovery scans the unflushed segments of every log.
  fs_.WriteBackAll();
  fs_.SimulateCrash();
  m.reset();
  EXPECT_EQ(fs_.open_files(), 0);
  fs_.ResetPeakOpenFiles();
  m = open();
  EXPECT_LE(fs_.peak_open_files(), load_budget);
  EXPECT_EQ(m->Get(Tp("t", 3))->log_end_offset(), Offset(26));
  read_all(*m);
  for (int p = 0; p < kLogs; ++p) Produce(*m, Tp("t", p), 2);
  EXPECT_LE(fs_.open_files(), budget);
  EXPECT_LE(fs_.peak_open_files(), peak_budget);
}

}  // namespace
}  // namespace strata::storage

namespace strata::storage {
namespace {

class LogDirFailureTest : public LogManagerTest {};

TEST_F(LogDirFailureTest, AFullDiskTakesItsDirOfflineAndNewLogsGoElsewhere) {
  auto m = OpenManager();
  Produce(*m, Tp("a", 0), 2);  // /d1
  Produce(*m, Tp("a", 1), 2);  // /d2
  Produce(*m, Tp("a", 2), 2);  // /d1
  std::vector<TopicPartition> reported;
  std::string why;
  int calls = 0;
  m->SetDirFailureListener([&](const std::vector<TopicPartition>& tps, const std::string& w) {
    reported = tps;
    why = w;
    ++calls;
  });
  fs_.SetFull("/d1");
  std::shared_ptr<Log> log = m->Get(Tp("a", 0));
  std::string batch = MakeBatch(0, 1);
  absl::StatusOr<LogAppendInfo> appended = log->AppendAsLeader(&batch, Epoch(0));
  ASSERT_FALSE(appended.ok());
  EXPECT_TRUE(IsStorageFailure(appended.status())) << appended.status();
  m->ReportFailure(*log, appended.status());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reported, (std::vector<TopicPartition>{Tp("a", 0), Tp("a", 2)}));
  EXPECT_NE(why.find("No space left on device"), std::string::npos) << why;
  m->ReportFailure(*log, appended.status());
  EXPECT_EQ(calls, 1) << "once per directory";
  // Its logs answer with the failure; the other directory's serve; new logs
  // go to the healthy one.
  absl::StatusOr<std::shared_ptr<Log>> offline = m->GetOrCreate(Tp("a", 2));
  EXPECT_TRUE(IsStorageFailure(offline.status())) << offline.status();
  EXPECT_TRUE(m->GetOrCreate(Tp("a", 1)).ok());
  Produce(*m, Tp("b", 0), 1);
  EXPECT_TRUE(fs_.Exists("/d2/b-0/00000000000000000000.log"));
  // A refused request is no disk failure.
  absl::Status refused = absl::InvalidArgumentError("bad batch");
  m->ReportFailure(*m->Get(Tp("a", 1)), refused);
  EXPECT_EQ(calls, 1);
  // Close skips it and marks only the healthy directory clean.
  EXPECT_TRUE(m->Close().ok());
  EXPECT_FALSE(fs_.Exists("/d1/.strata-clean-shutdown"));
  EXPECT_TRUE(fs_.Exists("/d2/.strata-clean-shutdown"));
}

// The periodic tasks run outside the manager's lock; a checkpoint that
// fails on a full disk still takes its directory offline, once, and the
// other directory's logs are checkpointed.
TEST_F(LogDirFailureTest, APeriodicCheckpointOnAFullDiskTakesItsDirOffline) {
  auto m = OpenManager();
  for (int p = 0; p < 4; ++p) {
    Produce(*m, Tp("a", p), 2);  // even: /d1, odd: /d2
    ASSERT_TRUE(m->Get(Tp("a", p))->MaybeIncrementHighWatermark(Offset(2)));
  }
  std::vector<TopicPartition> reported;
  int calls = 0;
  m->SetDirFailureListener([&](const std::vector<TopicPartition>& tps, const std::string&) {
    reported = tps;
    ++calls;
  });
  fs_.SetFull("/d1");
  absl::Status s = m->CheckpointHighWatermarks();
  EXPECT_TRUE(IsStorageFailure(s)) << s;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reported, (std::vector<TopicPartition>{Tp("a", 0), Tp("a", 2)}));
  absl::StatusOr<CheckpointEntries> e =
      ReadCheckpoint(&fs_, std::string("/d2/") + kHighWatermarkCheckpointFile);
  ASSERT_TRUE(e.ok()) << e.status();
  for (int p : {1, 3}) EXPECT_EQ(e->at("a-" + std::to_string(p)), 2) << "a-" << p;
  // The offline directory is skipped from now on.
  EXPECT_TRUE(m->CheckpointHighWatermarks().ok());
  EXPECT_TRUE(m->MaybeFlushOnTime().ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(LogDirFailureTest, ADirThatFailsWhileLoadingIsOfflineAndTheManagerStillOpens) {
  {
    auto m = OpenManager();
    Produce(*m, Tp("a", 0), 2);  // /d1
    Produce(*m, Tp("a", 1), 2);  // /d2
  }
  // A crash (the OS had written the pages back), and /d1 is full at the
  // next start: recovering it means writing (indexes, checkpoints).
  fs_.WriteBackAll();
  fs_.SimulateCrash();
  fs_.SetFull("/d1");
  auto m = OpenManager();
  ASSERT_NE(m, nullptr) << "a full disk never stops a node";
  auto offline = m->OfflineDirPartitions();
  ASSERT_EQ(offline.size(), 1u);
  EXPECT_EQ(offline[0].first, (std::vector<TopicPartition>{Tp("a", 0)}));
  EXPECT_TRUE(IsStorageFailure(m->GetOrCreate(Tp("a", 0)).status()));
  EXPECT_TRUE(m->GetOrCreate(Tp("a", 1)).ok());
  // The disk is freed: the next start loads it again.
  EXPECT_TRUE(m->Close().ok());
  m.reset();
  fs_.SetFull("");
  m = OpenManager();
  EXPECT_TRUE(m->OfflineDirPartitions().empty());
  ASSERT_NE(m->Get(Tp("a", 0)), nullptr);
  EXPECT_EQ(m->Get(Tp("a", 0))->log_end_offset(), Offset(2));
}

TEST_F(LogDirFailureTest, ALogThatCannotOpenIsDamagedAloneUntilDeleted) {
  {
    auto m = OpenManager();
    Produce(*m, Tp("a", 0), 5);
    Produce(*m, Tp("a", 1), 5);
    ASSERT_TRUE(m->Get(Tp("a", 0))->Flush().ok());  // recovery point = log end
    ASSERT_TRUE(m->Get(Tp("a", 1))->Flush().ok());
  }
  // A crash, and a flipped byte below a-0's recovery point.
  fs_.SimulateCrash();
  fs_.CorruptByte("/d1/a-0/00000000000000000000.log", 70);
  auto m = OpenManager();
  ASSERT_NE(m, nullptr) << "one damaged log does not stop the others";
  absl::StatusOr<std::shared_ptr<Log>> damaged = m->GetOrCreate(Tp("a", 0));
  EXPECT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_NE(damaged.status().message().find("a-0"), std::string::npos) << damaged.status();
  EXPECT_TRUE(m->OfflineDirPartitions().empty()) << "the directory itself is fine";
  ASSERT_NE(m->Get(Tp("a", 1)), nullptr);
  EXPECT_EQ(m->Get(Tp("a", 1))->log_end_offset(), Offset(5));
  // Deleting it (the repair, once another replica has the records) lets it
  // start over empty.
  ASSERT_TRUE(m->Delete(Tp("a", 0)).ok());
  EXPECT_TRUE(fs_.Exists("/d1/a-0.damaged/00000000000000000000.log")) << "kept for the operator";
  absl::StatusOr<std::shared_ptr<Log>> fresh = m->GetOrCreate(Tp("a", 0));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)->log_end_offset(), Offset(0));
  // The next start leaves the set-aside copy alone.
  ASSERT_TRUE(m->Close().ok());
  m = OpenManager();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Partitions().size(), 2u);
  EXPECT_TRUE(fs_.Exists("/d1/a-0.damaged/00000000000000000000.log"));
}

// A topic config changed in the metadata reaches that topic's open logs,
// and only theirs.
TEST_F(LogManagerTest, RefreshConfigsPicksUpAChangedTopicConfig) {
  absl::Mutex mu;
  std::map<std::string, LogConfig> configs;  // what the metadata says
  LogManager::Options options;
  options.log_dirs = {"/d1"};
  options.config_for_topic = [&](const std::string& topic) {
    absl::MutexLock l(&mu);
    auto it = configs.find(topic);
    return it == configs.end() ? LogConfig{} : it->second;
  };
  auto m = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(m.ok()) << m.status();
  Produce(**m, Tp("orders", 0), 1);
  Produce(**m, Tp("orders", 1), 1);
  Produce(**m, Tp("other", 0), 1);
  EXPECT_EQ((*m)->RefreshConfigs(), 0);  // nothing changed

  LogConfig small;
  small.segment_bytes = 1024;
  {
    absl::MutexLock l(&mu);
    configs["orders"] = small;
  }
  EXPECT_EQ((*m)->RefreshConfigs(), 2);
  EXPECT_TRUE((*m)->Get(Tp("orders", 0))->config() == small);
  EXPECT_TRUE((*m)->Get(Tp("orders", 1))->config() == small);
  EXPECT_TRUE((*m)->Get(Tp("other", 0))->config() == LogConfig{});
  EXPECT_EQ((*m)->RefreshConfigs(), 0);  // already in force

  // The new threshold governs the open log's next roll.
  auto log = (*m)->Get(Tp("orders", 0));
  for (int i = 0; i < 10; ++i) {
    std::string batch = MakeBatch(i, 1, 1000, 300);
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(0)).ok());
  }
  EXPECT_GT(log->num_segments(), 1);
  EXPECT_EQ((*m)->Get(Tp("other", 0))->num_segments(), 1);
}

// The scheduler's flush task does what MaybeFlushOnTime does, and only once
// StartScheduler asks for it.
TEST_F(LogManagerTest, TheSchedulerFlushesOnTimeOnceStarted) {
  LogManager::Options options;
  options.log_dirs = {"/d1"};
  options.config_for_topic = [](const std::string&) {
    LogConfig c;
    c.flush_ms = 500;
    return c;
  };
  options.flush_scheduler_interval_ms = 1000;
  options.retention_check_interval_ms = 5000;
  auto m = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(m.ok()) << m.status();
  Produce(**m, Tp("orders", 0), 3);
  auto log = (*m)->Get(Tp("orders", 0));
  EXPECT_EQ(log->recovery_point(), Offset(0));

  // Opt-in: nothing is scheduled until the composition root asks.
  EXPECT_TRUE((*m)->scheduler().TaskNames().empty());
  clock_.AdvanceMs(1000);
  EXPECT_EQ((*m)->scheduler().RunDue(), 0);

  // Scheduled by StartScheduler, driven here by the test hook: the
  // scheduler's thread is stopped again first, so RunDue may drive it.
  ASSERT_TRUE((*m)->StartScheduler().ok());
  ASSERT_TRUE((*m)->StartScheduler().ok());  // idempotent
  (*m)->scheduler().Stop();
  EXPECT_EQ((*m)->scheduler().TaskNames(),
            (std::vector<std::string>{"log-flusher", "high-watermark-checkpoint",
                                      "log-retention", "delete-files", "producer-expiry"}));
  clock_.AdvanceMs(999);
  EXPECT_EQ((*m)->scheduler().RunDue(), 0);
  EXPECT_EQ(log->recovery_point(), Offset(0));
  clock_.AdvanceMs(1);
  EXPECT_EQ((*m)->scheduler().RunDue(), 2);  // the flusher and delete-files
  EXPECT_EQ(log->recovery_point(), Offset(3));
  ASSERT_TRUE((*m)->Close().ok());
}

// A high watermark that moved is written to its log dir's file by its own
// task, every high_watermark_checkpoint_interval_ms (Kafka's 5 s), not by
// the flusher's every second.
TEST_F(LogManagerTest, AMovedHighWatermarkIsCheckpointedOnItsOwnInterval) {
  LogManager::Options options;
  options.log_dirs = {"/d1"};
  options.flush_scheduler_interval_ms = 1000;
  options.high_watermark_checkpoint_interval_ms = 5000;
  auto m = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(m.ok()) << m.status();
  Produce(**m, Tp("orders", 0), 3);
  Produce(**m, Tp("idle", 0), 1);
  auto log = (*m)->Get(Tp("orders", 0));
  auto checkpointed_hw = [&]() -> int64_t {
    absl::StatusOr<CheckpointEntries> e =
        ReadCheckpoint(&fs_, std::string("/d1/") + kHighWatermarkCheckpointFile);
    if (!e.ok()) return -1;
    auto it = e->find("orders-0");
    return it == e->end() ? -1 : it->second;
  };
  ASSERT_EQ(checkpointed_hw(), -1);
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(2)));
  ASSERT_TRUE((*m)->StartScheduler().ok());
  (*m)->scheduler().Stop();
  const int64_t syncs = fs_.sync_count();
  for (int s = 1; s <= 4; ++s) {
    clock_.AdvanceMs(1000);
    (*m)->scheduler().RunDue();
    EXPECT_EQ(checkpointed_hw(), -1) << "after " << s << " s";
  }
  EXPECT_EQ(fs_.sync_count(), syncs) << "nothing fsynced by the flusher's passes";
  clock_.AdvanceMs(1000);
  (*m)->scheduler().RunDue();
  EXPECT_EQ(checkpointed_hw(), 2);
  EXPECT_GT(fs_.sync_count(), syncs);
  // Direct calls do the same; a pass with no high watermark moved writes
  // nothing.
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(3)));
  ASSERT_TRUE((*m)->CheckpointHighWatermarks().ok());
  EXPECT_EQ(checkpointed_hw(), 3);
  const int64_t after = fs_.sync_count();
  ASSERT_TRUE((*m)->CheckpointHighWatermarks().ok());
  EXPECT_EQ(fs_.sync_count(), after);
  ASSERT_TRUE((*m)->Close().ok());
}

// Tests of the log dirs' high-watermark files (LogDirCheckpoint).
class HighWatermarkFileTest : public LogManagerTest {
 protected:
  // Appends `batches` batches of two records each to `tp`'s log, made
  // durable by the OS (not by a flush: the partition checkpoint stays as
  // it was).
  void Append(LogManager& m, const TopicPartition& tp, int batches) {
    for (int b = 0; b < batches; ++b) Produce(m, tp, 2);
    fs_.WriteBackAll();
  }
  int64_t PartitionCheckpointHw(const std::string& dir, const TopicPartition& tp) {
    absl::StatusOr<CheckpointEntries> e =
        ReadCheckpoint(&fs_, dir + "/" + tp.ToString() + "/" + kPartitionCheckpointFile);
    if (!e.ok() || !e->contains("high-watermark")) return -1;
    return e->at("high-watermark");
  }
  // A crash and a restart.
  void Crash(std::unique_ptr<LogManager>& m) {
    fs_.SimulateCrash();
    m.reset();
    m = OpenManager();
    ASSERT_NE(m, nullptr);
  }
};

// One file and one fsync per directory, however many partitions moved; a
// crash before any partition checkpoint held the new high watermarks loses
// none of them.
TEST_F(HighWatermarkFileTest, OneFilePerDirRestoresEveryHighWatermarkAfterACrash) {
  auto m = OpenManager();
  for (int p = 0; p < 10; ++p) {
    Append(*m, Tp("t", p), 3);
    ASSERT_TRUE(m->Get(Tp("t", p))->MaybeIncrementHighWatermark(Offset(1 + p % 6)));
  }
  const int64_t syncs = fs_.sync_count();
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  EXPECT_EQ(fs_.sync_count() - syncs, 2) << "one per log dir";
  for (int p = 0; p < 10; ++p) {
    EXPECT_EQ(PartitionCheckpointHw(p % 2 == 0 ? "/d1" : "/d2", Tp("t", p)), 0) << p;
  }
  Crash(m);
  for (int p = 0; p < 10; ++p) {
    EXPECT_EQ(m->Get(Tp("t", p))->high_watermark(), Offset(1 + p % 6)) << "t-" << p;
    EXPECT_EQ(m->Get(Tp("t", p))->log_end_offset(), Offset(6)) << "t-" << p;
  }
  // Again, from the high watermarks the restart loaded.
  Crash(m);
  for (int p = 0; p < 10; ++p) EXPECT_EQ(m->Get(Tp("t", p))->high_watermark(), Offset(1 + p % 6));
}

// The file was written with a high watermark a truncation then took away,
// and the log grew again past it before a crash: the restart must not hand
// out the old high watermark over records that were never committed.
TEST_F(HighWatermarkFileTest, ATruncationAfterTheFileWinsOverItsHigherHighWatermark) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 2);
  auto log = m->Get(tp);
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(4)));
  ASSERT_TRUE(log->Flush().ok());  // the partition checkpoint: recovery point 4, high watermark 4
  Append(*m, tp, 3);
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(10)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());  // the file: 10
  // Back to 4: what the partition checkpoint already says, but the file
  // says otherwise.
  ASSERT_TRUE(log->TruncateTo(Offset(4)).ok());
  ASSERT_EQ(log->high_watermark(), Offset(4));
  Append(*m, tp, 4);  // to 12, never committed
  log.reset();
  Crash(m);
  EXPECT_EQ(m->Get(tp)->log_end_offset(), Offset(12));
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(4));
  // Once the file is written again, it holds the current one.
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(8)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(8));
}

// A torn tail cut at load takes the high watermark the file gave down with
// it, and a second crash does not bring it back. (The partition checkpoint
// already said 8, with the recovery point: only the clamp makes it
// rewritten under the file's sequence.)
TEST_F(HighWatermarkFileTest, AHighWatermarkPastATornTailIsCutAndStaysCut) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 4);
  auto log = m->Get(tp);
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(8)));
  ASSERT_TRUE(log->Flush().ok());  // recovery point 8, high watermark 8
  Produce(*m, tp, 2);  // 8..9, never synced
  ASSERT_TRUE(log->MaybeIncrementHighWatermark(Offset(10)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());  // the file: 10
  log.reset();
  Crash(m);  // the unsynced batch is gone
  ASSERT_EQ(m->Get(tp)->log_end_offset(), Offset(8));
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(8));
  Append(*m, tp, 2);  // to 12, never committed
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(8));
}

// A topic deleted and created again under the same name: the file's entry
// for the old log is not about the new one.
TEST_F(HighWatermarkFileTest, AnEntryOfADeletedLogIsNotTakenForItsSuccessor) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 5);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(10)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  ASSERT_TRUE(m->Delete(tp).ok());
  Append(*m, tp, 6);  // the new log, to 12
  Crash(m);
  EXPECT_EQ(m->Get(tp)->log_end_offset(), Offset(12));
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(0));
}

// A damaged file is deleted with a warning: the partition checkpoints'
// older high watermarks are safe to start from, and the file must not come
// back later with a sequence above the one the directory resumes at.
TEST_F(HighWatermarkFileTest, ADamagedFileIsDeleted) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 2);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(2)));
  ASSERT_TRUE(m->Get(tp)->Flush().ok());
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(4)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  const std::string path = std::string("/d1/") + kHighWatermarkCheckpointFile;
  ASSERT_TRUE(fs_.WriteFileAtomically(path, "0\n7\nt-0 x\n").ok());
  fs_.SetDirectoryOpsNeedSync(true);
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(2));
  EXPECT_EQ(m->Get(tp)->log_end_offset(), Offset(4));
  EXPECT_FALSE(fs_.Exists(path));
  Crash(m);  // the deletion was made durable
  EXPECT_FALSE(fs_.Exists(path));
}

// A partition checkpoint without a sequence (as a version before the
// directory file wrote it, one that may have truncated after the file was
// written) wins over the file, and is rewritten with a sequence at load.
TEST_F(HighWatermarkFileTest, APartitionCheckpointWithoutASequenceWins) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 5);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(10)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());  // the file: 10
  ASSERT_TRUE(m->Close().ok());
  m.reset();
  // An older version truncated to 4 (high watermark 4), grew the log back
  // to 10 and stopped cleanly: its checkpoint differs from what the load
  // finds only in having no sequence.
  const std::string checkpoint = "/d1/t-0/" + std::string(kPartitionCheckpointFile);
  ASSERT_TRUE(WriteCheckpoint(&fs_, checkpoint,
                              {{"recovery-point", 10}, {"log-start-offset", 0}, {"high-watermark", 4}})
                  .ok());
  ASSERT_TRUE(fs_.Exists(std::string("/d1/") + kCleanShutdownFile));
  m = OpenManager();
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(4));
  absl::StatusOr<CheckpointEntries> e = ReadCheckpoint(&fs_, checkpoint);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->contains("dir-checkpoint-sequence"));
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(4));
}

// A restart resumes the sequence at the highest a partition checkpoint
// recorded, not at the file's (a pass whose write failed moved it on), so
// the first file written after the restart counts.
TEST_F(HighWatermarkFileTest, ARestartResumesTheSequenceAtTheHighestRecorded) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 3);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(2)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());  // the file: 2, sequence 1
  fs_.InjectShortWrite(std::string("/d1/") + kHighWatermarkCheckpointFile + ".tmp", 0);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(4)));
  EXPECT_FALSE(m->CheckpointHighWatermarks().ok());  // sequence 2, no file
  ASSERT_TRUE(m->Get(tp)->Flush().ok());             // records 4 under sequence 2
  Crash(m);
  ASSERT_EQ(m->Get(tp)->high_watermark(), Offset(4));
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(6)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(6));
}

// Passes that find nothing moved write nothing and leave the sequence, so
// after a clean stop and a restart the first file written counts.
TEST_F(HighWatermarkFileTest, TheFirstFileAfterARestartCounts) {
  auto m = OpenManager();
  const TopicPartition tp = Tp("t", 0);
  Append(*m, tp, 3);
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(2)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  const int64_t syncs = fs_.sync_count();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  EXPECT_EQ(fs_.sync_count(), syncs);
  ASSERT_TRUE(m->Close().ok());  // the partition checkpoint: 2
  m.reset();
  m = OpenManager();
  ASSERT_EQ(m->Get(tp)->high_watermark(), Offset(2));
  ASSERT_TRUE(m->Get(tp)->MaybeIncrementHighWatermark(Offset(6)));
  ASSERT_TRUE(m->CheckpointHighWatermarks().ok());
  Crash(m);
  EXPECT_EQ(m->Get(tp)->high_watermark(), Offset(6));
}

// Retention runs every log.retention.check.interval.ms; the files of the
// segments it takes out go file.delete.delay.ms later.
TEST_F(LogManagerTest, RetentionRunsOnTheSchedulerAndSetAsideFilesGoAfterTheirDelay) {
  LogManager::Options options;
  options.log_dirs = {"/d1"};
  options.config_for_topic = [](const std::string& topic) {
    LogConfig c;
    c.segment_bytes = 1024;
    c.retention_bytes = topic == "bounded" ? 2048 : -1;
    c.retention_ms = -1;  // the test batches' timestamps are from 1970
    c.file_delete_delay_ms = 3000;
    return c;
  };
  options.retention_check_interval_ms = 2000;
  auto opened = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  LogManager& m = **opened;
  for (const char* topic : {"bounded", "unbounded"}) {
    for (int i = 0; i < 30; ++i) Produce(m, Tp(topic, 0), 3);
    auto log = m.Get(Tp(topic, 0));
    log->MaybeIncrementHighWatermark(log->log_end_offset());
  }
  auto bounded = m.Get(Tp("bounded", 0));
  auto unbounded = m.Get(Tp("unbounded", 0));
  const int unbounded_segments = unbounded->num_segments();
  ASSERT_GT(bounded->size_bytes(), 5 * 2048);
  const Offset first = bounded->segment_base_offsets().front();
  ASSERT_TRUE(m.StartScheduler().ok());
  m.scheduler().Stop();

  clock_.AdvanceMs(1000);
  m.scheduler().RunDue();
  EXPECT_EQ(bounded->log_start_offset(), Offset(0));  // not yet checked
  clock_.AdvanceMs(1000);
  m.scheduler().RunDue();
  EXPECT_GT(bounded->log_start_offset(), Offset(0));
  EXPECT_LT(bounded->size_bytes(), 2048 + 1024);
  EXPECT_EQ(unbounded->num_segments(), unbounded_segments);
  const std::string set_aside = "/d1/bounded-0/" + SegmentFileStem(first) + ".log.deleted";
  EXPECT_TRUE(fs_.Exists(set_aside));

  clock_.AdvanceMs(2000);  // 2 s after: still there
  m.scheduler().RunDue();
  EXPECT_TRUE(fs_.Exists(set_aside));
  clock_.AdvanceMs(1000);  // 3 s after: gone
  m.scheduler().RunDue();
  EXPECT_FALSE(fs_.Exists(set_aside));
  EXPECT_EQ(m.DeleteDueFiles(), 0);
  ASSERT_TRUE(m.Close().ok());
}

// Other modules' tasks share the manager's scheduler; Close stops it.
TEST_F(LogManagerTest, CloseStopsTheScheduler) {
  auto m = OpenManager();
  std::atomic<int> runs{0};
  ASSERT_TRUE(m->scheduler().Schedule("isr-expiration", 1, [&] { ++runs; }).ok());
  ASSERT_TRUE(m->StartScheduler().ok());
  ASSERT_TRUE(m->Close().ok());
  const int after_close = runs.load();
  clock_.AdvanceMs(100);
  absl::SleepFor(absl::Milliseconds(3 * Scheduler::kMaxSleepMs));
  EXPECT_EQ(runs.load(), after_close);
}

}  // namespace
}  // namespace strata::storage
