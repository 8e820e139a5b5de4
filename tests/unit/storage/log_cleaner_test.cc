// The log cleaner (compaction): random streams of keys, values and
// tombstones cleaned and read back; the dirty ratio and the compaction lags;
// the bounded offset map; compressed batches; a producer's last batch;
// transactions (committed, aborted, open; their markers; the read_committed
// view); and a crash at every step of a cleaning, after which the log reopens readable
// with the same latest values.
#include "broker/storage/log_cleaner.h"

#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log_manager.h"
#include "broker/storage/mem_file_system.h"
#include "broker/storage/producer_state.h"
#include "broker/storage/segment.h"
#include "client/record/compression.h"
#include "client/record/control_record.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

constexpr char kLogDir[] = "/data";
constexpr char kDir[] = "/data/state-0";
const TopicPartition kTp{"state", PartitionId(0)};

struct Rec {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

std::string KeyedBatch(const std::vector<Rec>& recs, int64_t timestamp,
                       record::Compression codec = record::Compression::kNone) {
  record::RecordBatchBuilder builder;
  for (const Rec& r : recs) {
    record::Record rec;
    rec.key = r.key;
    rec.value = r.value;
    rec.timestamp = timestamp;
    builder.Append(rec);
  }
  std::string raw = builder.Build();
  if (codec == record::Compression::kNone) return raw;
  absl::StatusOr<std::string> compressed = record::CompressBatch(raw, codec);
  CHECK(compressed.ok()) << compressed.status();
  return *compressed;
}

struct Read {
  Offset offset;
  std::string key;
  std::optional<std::string> value;
};

// Every record from the log start, as a consumer reads it: markers left
// out; with `read_committed`, only below the last stable offset and less
// the records of aborted transactions (each fetch's aborted transactions,
// as Fetch hands them out, through the consumer's filter). `headers`, if
// given, gets every batch's header.
std::vector<Read> ReadAll(const Log& log, std::vector<record::BatchHeader>* headers = nullptr,
                          bool read_committed = false) {
  std::vector<Read> out;
  const Offset end = read_committed ? log.last_stable_offset() : log.log_end_offset();
  Offset next = log.log_start_offset();
  for (int guard = 0; guard < 100000 && next < end; ++guard) {
    auto read = log.Read(next, 4096, end);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || read->batches.empty()) break;
    std::vector<record::AbortedTransaction> fetched;
    if (read_committed) {
      auto aborted = log.CollectAbortedTxns(next, end);
      EXPECT_TRUE(aborted.ok()) << aborted.status();
      for (const AbortedTxn& a : aborted.value_or(std::vector<AbortedTxn>{})) {
        fetched.push_back({a.producer_id, a.first_offset.value()});
      }
    }
    record::AbortedTransactionFilter filter(std::move(fetched));
    record::BatchIterator it(read->batches);
    record::BatchHeader h;
    std::string_view batch;
    while (it.Next(&h, &batch)) {
      if (headers) headers->push_back(h);
      next = h.next_offset();
      if (filter.Drop(h, batch) || h.records_count == 0) continue;
      auto records = record::DecodeRecords(batch);
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) continue;
      for (record::Record& r : *records) {
        out.push_back(Read{r.offset, r.key.value_or("<none>"), std::move(r.value)});
      }
    }
  }
  return out;
}

// Key -> latest value (tombstoned keys absent), as a reader of `records`
// from the start ends up with.
std::map<std::string, std::string> Latest(const std::vector<Read>& records) {
  std::map<std::string, std::string> out;
  for (const Read& r : records) {
    if (r.value) {
      out[r.key] = *r.value;
    } else {
      out.erase(r.key);
    }
  }
  return out;
}

// A file system that "dies" at its `budget`-th directory change (create,
// rename, delete): that change and every later one fails, as in a process
// killed there.
class DyingFileSystem final : public FileSystem {
 public:
  explicit DyingFileSystem(MemFileSystem* base) : base_(base) {}
  // From now on, `budget` more directory changes succeed.
  void Arm(int budget) {
    armed_ = true;
    budget_ = budget;
  }
  // Only the change after `budget` more fails; later ones succeed (a
  // failing disk, not a dead process).
  void FailOnce(int budget) {
    Arm(budget);
    once_ = true;
  }
  // Called when a file whose name ends with `suffix` is created.
  void OnCreate(std::string suffix, std::function<void()> hook) {
    hook_suffix_ = std::move(suffix);
    hook_ = std::move(hook);
  }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    if (create && !base_->Exists(path)) {
      if (!Spend(path)) return Dead();
      if (hook_ && path.ends_with(hook_suffix_)) std::exchange(hook_, nullptr)();
    }
    return base_->Open(path, create);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  absl::Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  absl::Status DeleteFile(const std::string& path) override {
    if (!Spend(path)) return Dead();
    return base_->DeleteFile(path);
  }
  absl::Status DeleteDirRecursively(const std::string& path) override {
    if (!Spend(path)) return Dead();
    return base_->DeleteDirRecursively(path);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (!Spend(from)) return Dead();
    return base_->Rename(from, to);
  }
  absl::Status SyncDir(const std::string& path) override {
    if (died_ && !once_) return Dead();
    return base_->SyncDir(path);
  }
  bool died() const { return died_; }
  const std::string& failed_path() const { return failed_path_; }

 private:
  bool Spend(const std::string& path) {
    if (!armed_) return true;
    if (once_) {
      if (--budget_ == -1) {
        died_ = true;
        failed_path_ = path;
        return false;
      }
      return true;
    }
    if (died_ || --budget_ < 0) {
      if (!died_) failed_path_ = path;
      died_ = true;
      return false;
    }
    return true;
  }
  static absl::Status Dead() {
    return WithKafkaError(absl::UnavailableError("the process was killed"), kKafkaStorageError);
  }

  MemFileSystem* base_;
  bool armed_ = false;
  bool once_ = false;
  int budget_ = 0;
  bool died_ = false;
  std::string failed_path_;
  std::string hook_suffix_;
  std::function<void()> hook_;
};

class LogCleanerTest : public ::testing::Test {
 protected:
  LogCleanerTest() {
    config_.cleanup_policy = CleanupPolicy::kCompact;
    config_.segment_bytes = 2048;
    config_.delete_retention_ms = 10'000;
    config_.min_cleanable_dirty_ratio = 0.5;
    config_.file_delete_delay_ms = 0;
    clock_.SetMs(1'000'000);
  }

  std::shared_ptr<Log> OpenLog(FileSystem* fs = nullptr, bool clean = true) {
    auto log = Log::Open(fs ? fs : &fs_, &clock_, kDir, config_, clean);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::shared_ptr<Log>(std::move(*log)) : nullptr;
  }

  std::unique_ptr<LogCleaner> MakeCleaner(
      FileSystem* fs = nullptr, int64_t buffer = 1 << 20,
      double io_max_bytes_per_second = std::numeric_limits<double>::infinity()) {
    CleanerOptions options;
    options.dedupe_buffer_size = buffer;
    options.io_max_bytes_per_second = io_max_bytes_per_second;
    options.read_chunk_bytes = 1024;
    return std::make_unique<LogCleaner>(fs ? fs : &fs_, &clock_, options, [this] { return logs_; });
  }

  void Append(Log& log, const std::vector<Rec>& recs,
              record::Compression codec = record::Compression::kNone) {
    std::string batch = KeyedBatch(recs, clock_.NowMs(), codec);
    auto info = log.AppendAsLeader(&batch, Epoch(1));
    ASSERT_TRUE(info.ok()) << info.status();
    for (int64_t i = 0; i < static_cast<int64_t>(recs.size()); ++i) {
      const Rec& r = recs[static_cast<size_t>(i)];
      expected_[r.key] = r.value;
      expected_offset_[r.key] = info->first_offset + i;
    }
    log.MaybeIncrementHighWatermark(log.log_end_offset());
  }

  // Appends `n` random records over `keys` keys in batches of 1-8, about a
  // fifth of them tombstones, some batches compressed.
  void AppendRandom(Log& log, std::mt19937& rng, int n, int keys) {
    const record::Compression codecs[] = {record::Compression::kNone, record::Compression::kGzip,
                                          record::Compression::kLz4, record::Compression::kZstd,
                                          record::Compression::kSnappy};
    int written = 0;
    while (written < n) {
      const int count = std::min<int>(n - written, 1 + static_cast<int>(rng() % 8));
      std::vector<Rec> recs;
      for (int i = 0; i < count; ++i) {
        Rec r;
        r.key = "key" + std::to_string(rng() % keys);
        if (rng() % 5 != 0) {
          r.value = "value-" + std::to_string(written + i) + std::string(rng() % 40, 'x');
        }
        recs.push_back(std::move(r));
      }
      const record::Compression codec = rng() % 3 == 0 ? codecs[rng() % 5] : codecs[0];
      Append(log, recs, codec);
      written += count;
    }
  }

  std::map<std::string, std::string> ExpectedLatest() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : expected_) {
      if (v) out[k] = *v;
    }
    return out;
  }

  // What a consumer from the beginning must see after a full cleaning:
  // each key at most once, offsets ascending, the latest value of every
  // live key at the offset it was written at; tombstones only when
  // `tombstones_allowed`.
  void CheckCompacted(const Log& log, bool tombstones_allowed) {
    std::vector<Read> read = ReadAll(log);
    std::map<std::string, int> seen;
    Offset previous(-1);
    for (const Read& r : read) {
      EXPECT_GT(r.offset, previous);
      previous = r.offset;
      EXPECT_EQ(++seen[r.key], 1) << "key " << r.key << " appears twice";
      ASSERT_TRUE(expected_.contains(r.key)) << r.key;
      EXPECT_EQ(r.value, expected_.at(r.key)) << r.key;
      EXPECT_EQ(r.offset, expected_offset_.at(r.key)) << r.key;
      if (!tombstones_allowed) {
        EXPECT_TRUE(r.value.has_value()) << "tombstone of " << r.key;
      }
    }
    EXPECT_EQ(Latest(read), ExpectedLatest());
  }

  MemFileSystem fs_;
  ManualClock clock_;
  LogConfig config_;
  std::vector<LogCleaner::CleanableLog> logs_;
  std::map<std::string, std::optional<std::string>> expected_;
  std::map<std::string, Offset> expected_offset_;
};

TEST_F(LogCleanerTest, OffsetMapKeepsTheLatestOffsetAndRefusesNewKeysWhenFull) {
  OffsetMap map(10 * OffsetMap::kBytesPerEntry, 0.5);
  EXPECT_EQ(map.capacity(), 5u);
  EXPECT_FALSE(map.Get("a").has_value());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(map.Put("k" + std::to_string(i), Offset(i)));
  EXPECT_FALSE(map.Put("k5", Offset(5)));  // full
  EXPECT_TRUE(map.Put("k0", Offset(9)));   // a known key still updates
  EXPECT_EQ(map.Get("k0"), Offset(9));
  EXPECT_EQ(map.Get("k3"), Offset(3));
  EXPECT_FALSE(map.Get("k5").has_value());
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_FALSE(map.Get("k0").has_value());
}

// Acceptance 2: random streams, a roll, a full cleaning pass; then, once
// delete.retention.ms has passed, another removes the tombstones.
TEST_F(LogCleanerTest, RandomStreamsCompactToTheLatestValueOfEveryKey) {
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_.DeleteDirRecursively(kLogDir).IgnoreError();
    expected_.clear();
    expected_offset_.clear();
    std::mt19937 rng(seed);
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    logs_ = {{kTp, log, kLogDir}};
    auto cleaner = MakeCleaner();
    const int keys = 5 + static_cast<int>(rng() % 60);
    AppendRandom(*log, rng, 200 + static_cast<int>(rng() % 400), keys);
    ASSERT_TRUE(log->Roll().ok());
    const int64_t before = log->size_bytes();
    const Offset end = log->log_end_offset();

    // Keys whose latest record is a tombstone: a cleaning keeps exactly
    // those tombstones until delete.retention.ms has passed.
    int64_t deleted_keys = 0;
    for (const auto& [k, v] : expected_) deleted_keys += v ? 0 : 1;
    auto tombstones_read = [&] {
      int64_t n = 0;
      for (const Read& r : ReadAll(*log)) n += r.value ? 0 : 1;
      return n;
    };

    auto stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->end_offset, end);
    EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), end);
    EXPECT_EQ(stats->tombstones_removed, 0);
    EXPECT_EQ(stats->tombstones_kept, deleted_keys);
    EXPECT_EQ(tombstones_read(), deleted_keys);
    // One batch per source batch: never more bytes out than in.
    EXPECT_LE(stats->bytes_written, stats->bytes_read);
    CheckCompacted(*log, /*tombstones_allowed=*/true);
    EXPECT_LT(log->size_bytes(), before);
    EXPECT_EQ(log->log_end_offset(), end);

    // Within delete.retention.ms the tombstones stay; after it they go.
    clock_.AdvanceMs(config_.delete_retention_ms - 1);
    stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->tombstones_removed, 0);
    EXPECT_EQ(stats->tombstones_kept, deleted_keys);
    EXPECT_EQ(tombstones_read(), deleted_keys);
    clock_.AdvanceMs(2);
    stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->tombstones_removed, deleted_keys);
    EXPECT_EQ(stats->tombstones_kept, 0);
    EXPECT_EQ(tombstones_read(), 0);
    CheckCompacted(*log, /*tombstones_allowed=*/false);

    // The same after a restart, with or without a clean shutdown.
    ASSERT_TRUE(log->Close().ok());
    for (bool clean : {true, false}) {
      auto reopened = OpenLog(&fs_, clean);
      ASSERT_NE(reopened, nullptr);
      CheckCompacted(*reopened, /*tombstones_allowed=*/false);
      EXPECT_EQ(reopened->log_end_offset(), end);
      ASSERT_TRUE(reopened->Close().ok());
    }
  }
}

TEST_F(LogCleanerTest, TombstonesStillGoWhenCleaningsOutnumberThePassesKept) {
  // More cleanings within delete.retention.ms than the checkpoint keeps
  // passes for (64): the oldest pass must survive to age out, or no
  // tombstone (nor emptied transaction marker) would ever go.
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  Append(*log, {{"a", "1"}});
  Append(*log, {{"a", std::nullopt}});
  ASSERT_TRUE(log->Roll().ok());
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tombstones_kept, 1);
  for (int i = 0; i < 100; ++i) {
    clock_.AdvanceMs(config_.delete_retention_ms / 200);
    Append(*log, {{"k" + std::to_string(i), std::nullopt}});
    ASSERT_TRUE(log->Roll().ok());
    stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
  }
  // The first cleaning is now older than delete.retention.ms; the others
  // are not.
  clock_.AdvanceMs(config_.delete_retention_ms / 2 + 1);
  Append(*log, {{"b", "live"}});
  ASSERT_TRUE(log->Roll().ok());
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->tombstones_removed, 1);
  for (const Read& r : ReadAll(*log)) EXPECT_NE(r.key, "a") << "a's tombstone outlived its time";
}

TEST_F(LogCleanerTest, NewRecordsAfterACleaningAreCleanedByTheNext) {
  std::mt19937 rng(7);
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  for (int round = 0; round < 4; ++round) {
    AppendRandom(*log, rng, 150, 20);
    ASSERT_TRUE(log->Roll().ok());
    auto stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    CheckCompacted(*log, /*tombstones_allowed=*/true);
  }
  // Cleaned segments were merged: far fewer than were written.
  EXPECT_LE(log->num_segments(), 6);
}

TEST_F(LogCleanerTest, TheActiveSegmentAndRecordsAboveTheHighWatermarkAreNotCleaned) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  for (int i = 0; i < 50; ++i) Append(*log, {{"k", "v" + std::to_string(i)}});
  ASSERT_GE(log->num_segments(), 2);
  const Offset active_base = log->segment_base_offsets().back();
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->end_offset, active_base);
  // The active segment is not in the map: the rolled part keeps its latest
  // "k", and every record of the active segment stays.
  std::vector<Read> read = ReadAll(*log);
  ASSERT_EQ(read.size(), static_cast<size_t>(1 + (log->log_end_offset() - active_base)));
  EXPECT_EQ(read[0].offset, active_base - 1);

  // Records above the high watermark are neither mapped nor removed, nor
  // is the segment holding it rewritten: the cleaning ends at its base
  // (Kafka's firstUncleanableOffset), as a truncation may still take its
  // records.
  const Offset hw = log->log_end_offset();
  for (int i = 0; i < 50; ++i) {
    std::string batch = KeyedBatch({{"k", "unreplicated"}}, clock_.NowMs());
    ASSERT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
  }
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_EQ(log->high_watermark(), hw);
  Offset hw_segment(0);
  for (Offset base : log->segment_base_offsets()) {
    if (base <= hw) hw_segment = base;
  }
  ASSERT_LT(hw_segment, hw);  // the high watermark lies inside a segment
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->end_offset, hw_segment);
  read = ReadAll(*log);
  int below = 0;
  for (const Read& r : read) {
    if (r.offset < hw) {
      ++below;
      EXPECT_TRUE(r.offset >= hw_segment || r.offset == hw_segment - 1) << r.offset;
    } else {
      EXPECT_EQ(r.value, "unreplicated");
    }
  }
  EXPECT_EQ(read.size(), static_cast<size_t>(below + 50));
  EXPECT_EQ(read[static_cast<size_t>(below - 1)].value, "v49");
}

TEST_F(LogCleanerTest, DirtyRatioPicksTheDirtiestLogAndHonoursTheMinimum) {
  auto a = OpenLog();
  auto b_log = Log::Open(&fs_, &clock_, "/data/state-1", config_, true);
  ASSERT_TRUE(b_log.ok());
  std::shared_ptr<Log> b(std::move(*b_log));
  logs_ = {{kTp, a, kLogDir}, {TopicPartition{"state", PartitionId(1)}, b, kLogDir}};
  auto cleaner = MakeCleaner();
  OffsetMap map(1 << 20);

  // Nothing rolled: nothing is dirty.
  auto none = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  for (int i = 0; i < 60; ++i) Append(*a, {{"a" + std::to_string(i % 5), std::string(30, 'a')}});
  ASSERT_TRUE(a->Roll().ok());
  auto first = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_DOUBLE_EQ((*first)->dirty_ratio, 1.0);  // never cleaned: all dirty
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), a->log_end_offset());

  // A little new data on a: ratio below 0.5, not picked. b is all dirty.
  Append(*a, {{"a1", "x"}});
  ASSERT_TRUE(a->Roll().ok());
  for (int i = 0; i < 60; ++i) Append(*b, {{"b" + std::to_string(i % 5), std::string(30, 'b')}});
  ASSERT_TRUE(b->Roll().ok());
  auto range = cleaner->RangeOf(kTp, kLogDir, *a->ViewForCleaning());
  EXPECT_GT(range.dirty_bytes, 0);
  EXPECT_LT(range.dirty_ratio, 0.5);
  auto second = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(cleaner->FirstDirtyOffset(TopicPartition{"state", PartitionId(1)}, kLogDir),
            b->log_end_offset());
  // Now only a's small dirty part is left, under the ratio.
  auto third = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->has_value());

  // max.compaction.lag.ms forces it once its oldest dirty record is old.
  LogConfig lagged = config_;
  lagged.max_compaction_lag_ms = 60'000;
  a->UpdateConfig(lagged);
  clock_.AdvanceMs(60'001);
  auto forced = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(forced.ok());
  ASSERT_TRUE(forced->has_value());
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), a->log_end_offset());

  // The checkpoint survives the cleaner.
  auto again = MakeCleaner();
  EXPECT_EQ(again->FirstDirtyOffset(kTp, kLogDir), a->log_end_offset());
  EXPECT_TRUE(fs_.Exists(std::string(kLogDir) + "/" + kCleanerCheckpointFile));
}

TEST_F(LogCleanerTest, MinCompactionLagKeepsYoungSegmentsDirty) {
  config_.min_compaction_lag_ms = 30'000;
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  for (int i = 0; i < 40; ++i) Append(*log, {{"k", std::string(40, 'o')}});  // old
  ASSERT_TRUE(log->Roll().ok());
  clock_.AdvanceMs(31'000);
  const Offset young_start = log->log_end_offset();
  for (int i = 0; i < 40; ++i) Append(*log, {{"k", std::string(40, 'y')}});  // young
  ASSERT_TRUE(log->Roll().ok());
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->end_offset, young_start);
  // The young records are all there; of the old, the ones the young
  // supersede are not in the map yet, so the latest old one stays.
  std::vector<Read> read = ReadAll(*log);
  int old = 0;
  for (const Read& r : read) old += r.offset < young_start ? 1 : 0;
  EXPECT_EQ(old, 1);
  EXPECT_EQ(read.size(), 41u);
  clock_.AdvanceMs(31'000);
  ASSERT_TRUE(cleaner->CleanLog(logs_[0]).ok());
  EXPECT_EQ(ReadAll(*log).size(), 1u);
}

TEST_F(LogCleanerTest, AFullOffsetMapCleansUpToWhereItGot) {
  std::mt19937 rng(3);
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  // Room for 20 keys; the stream has 100.
  auto cleaner = MakeCleaner(nullptr, static_cast<int64_t>(OffsetMap::kBytesPerEntry) * 23);
  AppendRandom(*log, rng, 600, 100);
  ASSERT_TRUE(log->Roll().ok());
  const Offset end = log->log_end_offset();
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->map_full);
  EXPECT_LT(stats->end_offset, end);
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), stats->end_offset);
  // Nothing is lost on the way: the latest values are all there.
  EXPECT_EQ(Latest(ReadAll(*log)), ExpectedLatest());
  for (int pass = 0; pass < 100 && cleaner->FirstDirtyOffset(kTp, kLogDir) < end; ++pass) {
    ASSERT_TRUE(cleaner->CleanLog(logs_[0]).ok());
    EXPECT_EQ(Latest(ReadAll(*log)), ExpectedLatest());
  }
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), end);
  // Every key's latest, but a key whose earlier record was cleaned with a
  // map that did not know its later one may appear more than once.
  for (const Read& r : ReadAll(*log)) {
    if (r.offset == expected_offset_.at(r.key)) {
      EXPECT_EQ(r.value, expected_.at(r.key));
    }
  }
}

TEST_F(LogCleanerTest, CompressedBatchesKeepTheirCodecAndOffsets) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  // Offsets 0-5: a, b, c, d, e, f in one gzip batch; then b, d, f again.
  Append(*log, {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"}, {"f", "1"}},
         record::Compression::kGzip);
  Append(*log, {{"b", "2"}, {"d", "2"}, {"f", std::nullopt}}, record::Compression::kZstd);
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_TRUE(cleaner->CleanLog(logs_[0]).ok());
  std::vector<record::BatchHeader> headers;
  std::vector<Read> read = ReadAll(*log, &headers);
  std::vector<int64_t> offsets;
  for (const Read& r : read) offsets.push_back(r.offset.value());
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 2, 4, 6, 7, 8}));
  // a, c, e in one batch in place of the gzip one, still gzip, its offsets
  // 0-5 kept with gaps (Kafka's layout); the zstd batch kept whole.
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].compression(), record::Compression::kGzip);
  EXPECT_EQ(headers[0].base_offset, Offset(0));
  EXPECT_EQ(headers[0].last_offset(), Offset(5));
  EXPECT_EQ(headers[0].records_count, 3);
  EXPECT_EQ(headers[1].compression(), record::Compression::kZstd);
  EXPECT_EQ(headers[1].base_offset, Offset(6));
  EXPECT_EQ(headers[1].records_count, 3);
  CheckCompacted(*log, /*tombstones_allowed=*/true);
}

TEST_F(LogCleanerTest, KeylessRecordsAreRefusedByACompactedTopic) {
  auto log = OpenLog();
  record::RecordBatchBuilder builder;
  record::Record keyed;
  keyed.key = "k";
  keyed.value = "v";
  keyed.timestamp = clock_.NowMs();
  record::Record keyless = keyed;
  keyless.key.reset();
  builder.Append(keyed);
  builder.Append(keyless);
  std::string batch = builder.Build();
  auto info = log->AppendAsLeader(&batch, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(info.status()));
  EXPECT_EQ(info.status().message(),
            "Compacted topic cannot accept message without key in topic partition state-0.");
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  // compact,delete too; delete alone accepts it.
  LogConfig config = config_;
  config.cleanup_policy = CleanupPolicy::kCompactAndDelete;
  log->UpdateConfig(config);
  batch = KeyedBatch({{"k", "v"}}, clock_.NowMs());
  EXPECT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
  builder.Append(keyless);
  batch = builder.Build();
  EXPECT_FALSE(log->AppendAsLeader(&batch, Epoch(1)).ok());
  config.cleanup_policy = CleanupPolicy::kDelete;
  log->UpdateConfig(config);
  builder.Append(keyless);
  batch = builder.Build();
  EXPECT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
}

// A producer's batches, as a follower copies them.
std::string ProducerBatch(int64_t base, int64_t producer_id, int32_t sequence,
                          const std::vector<Rec>& recs, int64_t timestamp,
                          bool transactional = false) {
  record::RecordBatchBuilder builder{Offset(base)};
  builder.set_partition_leader_epoch(Epoch(1));
  builder.set_producer(producer_id, 0, sequence);
  for (const Rec& r : recs) {
    record::Record rec;
    rec.key = r.key;
    rec.value = r.value;
    rec.timestamp = timestamp;
    builder.Append(rec);
  }
  std::string batch = builder.Build();
  if (transactional) {
    batch[record::kAttributesPos + 1] = static_cast<char>(batch[record::kAttributesPos + 1] | 0x10);
    record::SetProducer(&batch, producer_id, 0, sequence);  // the CRC again
  }
  return batch;
}

// An idempotent producer's batches are cleaned like any, keeping their
// producer fields; a batch left empty goes, except a producer's last batch,
// kept empty (Kafka's RETAIN_EMPTY), so producer state rebuilt from the log
// still finds the sequences a retry repeats.
TEST_F(LogCleanerTest, IdempotentBatchesAreCleanedAndEachProducersLastBatchStaysEvenEmpty) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  const int64_t t = clock_.NowMs();
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(0, 7, 0, {{"a", "1"}, {"b", "1"}}, t)).ok());
  // Producer 7's last batch compressed: emptied, it is written plain.
  const std::string last7 = ProducerBatch(2, 7, 2, {{"a", "2"}, {"b", "2"}}, t);
  absl::StatusOr<std::string> gzipped = record::EncodeBatch(
      std::string_view(last7).substr(0, record::kBatchHeaderSize),
      std::string_view(last7).substr(record::kBatchHeaderSize), record::Compression::kGzip);
  ASSERT_TRUE(gzipped.ok()) << gzipped.status();
  ASSERT_TRUE(log->AppendAsFollower(*gzipped).ok());
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(4, 8, 0, {{"a", "3"}, {"c", "1"}}, t)).ok());
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(6, 8, 2, {{"b", "3"}, {"c", "2"}}, t)).ok());
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(8, 9, 0, {{"d", "1"}}, t)).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  ASSERT_TRUE(log->Roll().ok());
  const auto state_before = log->ProducerEntries();
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->producer_batches_emptied, 1);
  // Producer 7's first batch went (a and b were written again); its last
  // lost every record but stays; producer 8's first batch lost c=1.
  std::vector<std::pair<int64_t, std::string>> got;
  for (const Read& r : ReadAll(*log)) got.emplace_back(r.offset.value(), r.key + "=" + *r.value);
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, std::string>>{
                     {4, "a=3"}, {6, "b=3"}, {7, "c=2"}, {8, "d=1"}}));
  absl::StatusOr<LogReadResult> read = log->Read(Offset(0), 1 << 20, log->log_end_offset());
  ASSERT_TRUE(read.ok()) << read.status();
  absl::StatusOr<record::BatchHeader> empty = record::ReadBatchHeader(read->batches);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->base_offset, Offset(2)) << "producer 7's first batch is gone";
  EXPECT_EQ(empty->records_count, 0);
  EXPECT_EQ(empty->producer_id, 7);
  EXPECT_EQ(empty->base_sequence, 2);
  EXPECT_EQ(empty->last_offset_delta, 1) << "its offset and sequence range stay";
  EXPECT_EQ(empty->compression(), record::Compression::kNone);
  EXPECT_EQ(empty->size_in_bytes(), record::kBatchHeaderSize) << "a header, no codec frame";
  EXPECT_TRUE(
      record::ValidateStoredBatch(std::string_view(read->batches).substr(0, empty->size_in_bytes()))
          .ok());
  read = log->Read(Offset(4), 1 << 20, log->log_end_offset());
  ASSERT_TRUE(read.ok()) << read.status();
  absl::StatusOr<record::BatchHeader> rebuilt = record::ReadBatchHeader(read->batches);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->base_offset, Offset(4));
  EXPECT_EQ(rebuilt->records_count, 1);
  EXPECT_EQ(rebuilt->producer_id, 8) << "the rewritten batch keeps its producer";
  EXPECT_EQ(rebuilt->base_sequence, 0);
  EXPECT_EQ(rebuilt->last_offset_delta, 1) << "and its sequence range";
  EXPECT_EQ(log->ProducerEntries(), state_before) << "cleaning changes no producer state";
  EXPECT_EQ(empty->max_timestamp, t) << "an emptied batch keeps its max timestamp";
  // Producer state rebuilt from the cleaned files alone (no snapshot) has
  // every producer with its epoch, last batch (sequences and offsets) and
  // last timestamp: what a retry of the last batch and expiry need. (Runs
  // of batches the cleaner removed are gone from it, as in Kafka.)
  log.reset();
  logs_.clear();
  absl::StatusOr<std::vector<Offset>> snapshots = ListProducerSnapshots(&fs_, kDir);
  ASSERT_TRUE(snapshots.ok()) << snapshots.status();
  for (Offset o : *snapshots) ASSERT_TRUE(DeleteProducerSnapshot(&fs_, kDir, o).ok());
  auto reopened = OpenLog(nullptr, /*clean=*/false);
  ASSERT_NE(reopened, nullptr);
  const auto rebuilt_state = reopened->ProducerEntries();
  ASSERT_EQ(rebuilt_state.size(), state_before.size());
  for (size_t i = 0; i < rebuilt_state.size(); ++i) {
    const auto& [id, entry] = rebuilt_state[i];
    const auto& [id_before, entry_before] = state_before[i];
    SCOPED_TRACE("producer " + std::to_string(id));
    EXPECT_EQ(id, id_before);
    EXPECT_EQ(entry.epoch, entry_before.epoch);
    EXPECT_EQ(entry.last_timestamp, entry_before.last_timestamp);
    ASSERT_NE(entry.newest(), nullptr);
    EXPECT_EQ(entry.newest()->last_seq, entry_before.newest()->last_seq);
    EXPECT_EQ(entry.newest()->last_offset, entry_before.newest()->last_offset);
  }
  EXPECT_EQ(rebuilt_state[0].second.newest()->first_offset, 2)
      << "producer 7's run starts at its emptied batch";
}

TEST_F(LogCleanerTest, AnEmptiedBatchGoesOnceItsProducerWroteALaterOne) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  const int64_t t = clock_.NowMs();
  // Producer 7's only batch loses its record to a later plain write: kept
  // empty, as its producer's last batch.
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(0, 7, 0, {{"a", "1"}}, t)).ok());
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(1, 8, 0, {{"a", "2"}}, t)).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  ASSERT_TRUE(log->Roll().ok());
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->producer_batches_emptied, 1);
  auto batches = [&] {
    std::vector<record::BatchHeader> headers;
    ReadAll(*log, &headers);
    std::vector<std::pair<int64_t, int32_t>> out;  // (producer, records)
    for (const record::BatchHeader& h : headers) out.emplace_back(h.producer_id, h.records_count);
    return out;
  };
  EXPECT_EQ(batches(), (std::vector<std::pair<int64_t, int32_t>>{{7, 0}, {8, 1}}));
  // Producer 7 writes again: its empty batch is no longer needed.
  ASSERT_TRUE(log->AppendAsFollower(ProducerBatch(2, 7, 1, {{"b", "1"}}, t)).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  ASSERT_TRUE(log->Roll().ok());
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->empty_batches_removed, 1);
  EXPECT_EQ(batches(), (std::vector<std::pair<int64_t, int32_t>>{{8, 1}, {7, 1}}));
}

// Transactions, as a partition holds them: producers' batches copied at
// the log end (sequences counted per producer, epoch 0) and the
// coordinator's markers, the high watermark following the log end.
class LogCleanerTxnTest : public LogCleanerTest {
 protected:
  // A batch of producer `producer_id`; transactional unless told.
  Offset Produce(Log& log, int64_t producer_id, const std::vector<Rec>& recs,
                 bool transactional = true) {
    const Offset base = log.log_end_offset();
    int32_t& sequence = sequences_[producer_id];
    auto info = log.AppendAsFollower(
        ProducerBatch(base.value(), producer_id, sequence, recs, clock_.NowMs(), transactional));
    EXPECT_TRUE(info.ok()) << info.status();
    sequence += static_cast<int32_t>(recs.size());
    log.MaybeIncrementHighWatermark(log.log_end_offset());
    return base;
  }
  // A batch without a producer.
  Offset Plain(Log& log, const std::vector<Rec>& recs) {
    std::string batch = KeyedBatch(recs, clock_.NowMs());
    auto info = log.AppendAsLeader(&batch, Epoch(1));
    EXPECT_TRUE(info.ok()) << info.status();
    log.MaybeIncrementHighWatermark(log.log_end_offset());
    return info.ok() ? info->first_offset : Offset(-1);
  }
  Offset EndTxn(Log& log, int64_t producer_id, record::ControlType type) {
    auto info = log.AppendTxnMarker(producer_id, 0, record::EndTxnMarker{type, 0}, Epoch(1));
    EXPECT_TRUE(info.ok()) << info.status();
    log.MaybeIncrementHighWatermark(log.log_end_offset());
    return info.ok() ? info->first_offset : Offset(-1);
  }

  // What a read_committed consumer reading from the log start gets: the
  // records below the last stable offset, less those of aborted
  // transactions (each fetch's aborted transactions, as Fetch hands them
  // out, through the consumer's filter) and the markers.
  static std::vector<Read> ReadCommitted(const Log& log) { return ReadAll(log, nullptr, true); }
  // Every data record up to the log end (read_uncommitted), markers left out.
  static std::vector<Read> ReadData(const Log& log) { return ReadAll(log); }

  // Every batch header from the log start.
  static std::vector<record::BatchHeader> Headers(const Log& log) {
    std::vector<record::BatchHeader> headers;
    ReadAll(log, &headers);
    return headers;
  }
  static bool HasMarkerAt(const Log& log, Offset offset) {
    for (const record::BatchHeader& h : Headers(log)) {
      if (h.is_control() && h.base_offset == offset) return true;
    }
    return false;
  }

  std::map<int64_t, int32_t> sequences_;
};

std::vector<std::string> KeyValues(const std::vector<Read>& records) {
  std::vector<std::string> out;
  for (const Read& r : records) {
    out.push_back(absl::StrCat(r.offset.value(), ":", r.key, "=", r.value.value_or("<null>")));
  }
  return out;
}

// A committed transaction's records are compacted by key like any (a batch
// rewritten keeps its transactional bit, producer and offset range; one
// left empty goes), and its marker stays while a batch of it does.
TEST_F(LogCleanerTxnTest, CommittedTransactionsAreCompactedByKeyAndKeepTheirMarkers) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  Produce(*log, 7, {{"a", "1"}, {"b", "1"}});  // 0-1
  EXPECT_EQ(EndTxn(*log, 7, record::ControlType::kCommit), Offset(2));
  Plain(*log, {{"a", "2"}});                   // 3
  Produce(*log, 7, {{"b", "2"}, {"c", "1"}});  // 4-5
  EXPECT_EQ(EndTxn(*log, 7, record::ControlType::kCommit), Offset(6));
  Plain(*log, {{"c", "2"}});  // 7
  ASSERT_TRUE(log->Roll().ok());
  const std::vector<Read> committed_before = ReadCommitted(*log);
  const Offset lso = log->last_stable_offset();

  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->end_offset, log->log_end_offset());
  EXPECT_EQ(stats->aborted_records_removed, 0);
  EXPECT_EQ(stats->txn_markers_removed, 0);
  EXPECT_EQ(KeyValues(ReadData(*log)), (std::vector<std::string>{"3:a=2", "4:b=2", "7:c=2"}));
  std::vector<record::BatchHeader> headers = Headers(*log);
  ASSERT_EQ(headers.size(), 5u);
  // The first transaction lost both records: its batch went, its marker
  // stays this time (the cleaning read its data).
  EXPECT_TRUE(headers[0].is_control());
  EXPECT_EQ(headers[0].base_offset, Offset(2));
  EXPECT_EQ(headers[1].base_offset, Offset(3));
  // The second lost c=1: rewritten as Kafka writes it.
  EXPECT_EQ(headers[2].base_offset, Offset(4));
  EXPECT_TRUE(headers[2].is_transactional());
  EXPECT_FALSE(headers[2].is_control());
  EXPECT_EQ(headers[2].producer_id, 7);
  EXPECT_EQ(headers[2].base_sequence, 2);
  EXPECT_EQ(headers[2].records_count, 1);
  EXPECT_EQ(headers[2].last_offset_delta, 1);
  EXPECT_TRUE(headers[3].is_control());
  EXPECT_EQ(headers[3].base_offset, Offset(6));
  EXPECT_EQ(Latest(ReadCommitted(*log)), Latest(committed_before));
  EXPECT_EQ(log->last_stable_offset(), lso);

  // The next cleaning finds the first marker empty: it waits for
  // delete.retention.ms; the second has its data still.
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->txn_markers_kept_empty, 1);
  EXPECT_TRUE(HasMarkerAt(*log, Offset(2)));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(6)));

  // Producer state rebuilt from the cleaned log alone: no transaction open.
  const auto state_before = log->ProducerEntries();
  log.reset();
  logs_.clear();
  absl::StatusOr<std::vector<Offset>> snapshots = ListProducerSnapshots(&fs_, kDir);
  ASSERT_TRUE(snapshots.ok()) << snapshots.status();
  for (Offset o : *snapshots) ASSERT_TRUE(DeleteProducerSnapshot(&fs_, kDir, o).ok());
  auto reopened = OpenLog(nullptr, /*clean=*/false);
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(reopened->FirstUnstableOffset().has_value());
  const auto state_after = reopened->ProducerEntries();
  ASSERT_EQ(state_after.size(), 1u);
  EXPECT_EQ(state_after[0].second.epoch, state_before[0].second.epoch);
  EXPECT_EQ(state_after[0].second.newest()->last_offset, 5);
  EXPECT_EQ(state_after[0].second.current_txn_first_offset, -1);
}

// An aborted transaction's records go, and never hide an older committed
// value of their key: the offset map skips them. Its ABORT marker and
// .txnindex entry stay, and a later committed transaction of the same
// producer is still read.
TEST_F(LogCleanerTxnTest, AbortedRecordsGoAndNeverHideAnOlderCommittedValue) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  Plain(*log, {{"k", "committed"}, {"x", "committed"}});   // 0-1
  Produce(*log, 9, {{"k", "aborted"}});                    // 2
  Produce(*log, 9, {{"x", "aborted"}, {"y", "aborted"}});  // 3-4
  EXPECT_EQ(EndTxn(*log, 9, record::ControlType::kAbort), Offset(5));
  Produce(*log, 9, {{"z", "1"}});  // 6
  EXPECT_EQ(EndTxn(*log, 9, record::ControlType::kCommit), Offset(7));
  Plain(*log, {{"w", "1"}});  // 8
  ASSERT_TRUE(log->Roll().ok());
  const std::vector<Read> committed_before = ReadCommitted(*log);
  ASSERT_EQ(KeyValues(committed_before),
            (std::vector<std::string>{"0:k=committed", "1:x=committed", "6:z=1", "8:w=1"}));
  const Offset lso = log->last_stable_offset();

  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->aborted_records_removed, 3);
  // Read uncommitted: the aborted records are gone, the committed values
  // of k and x are the latest.
  EXPECT_EQ(KeyValues(ReadData(*log)),
            (std::vector<std::string>{"0:k=committed", "1:x=committed", "6:z=1", "8:w=1"}));
  EXPECT_EQ(KeyValues(ReadCommitted(*log)), KeyValues(committed_before));
  EXPECT_EQ(log->last_stable_offset(), lso);
  EXPECT_TRUE(HasMarkerAt(*log, Offset(5)));
  auto aborted = log->CollectAbortedTxns(Offset(0), log->log_end_offset());
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  ASSERT_EQ(aborted->size(), 1u);
  EXPECT_EQ((*aborted)[0].producer_id, 9);
  EXPECT_EQ((*aborted)[0].first_offset, Offset(2));
  EXPECT_EQ((*aborted)[0].last_offset, Offset(5));

  // Long after: the ABORT marker still stays (its .txnindex entry does);
  // nothing read_committed sees changes.
  clock_.AdvanceMs(3 * config_.delete_retention_ms);
  for (int i = 0; i < 2; ++i) {
    stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    clock_.AdvanceMs(config_.delete_retention_ms + 1);
  }
  EXPECT_TRUE(HasMarkerAt(*log, Offset(5)));
  EXPECT_EQ(KeyValues(ReadCommitted(*log)), KeyValues(committed_before));
}

// Nothing at or above the first unstable offset (an open transaction) is
// mapped or rewritten; once the transaction ends, the next cleaning gets
// past it.
TEST_F(LogCleanerTxnTest, NothingAtOrAboveTheFirstUnstableOffsetIsCleaned) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  for (int i = 0; i < 30; ++i)
    Plain(*log, {{"k", "old" + std::to_string(i) + std::string(80, 'o')}});
  const Offset open = Produce(*log, 5, {{"k", "open"}});
  for (int i = 0; i < 30; ++i)
    Plain(*log, {{"k", "new" + std::to_string(i) + std::string(80, 'n')}});
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_GE(log->num_segments(), 4);
  ASSERT_EQ(log->FirstUnstableOffset(), open);
  ASSERT_EQ(log->last_stable_offset(), open);
  const std::vector<Read> before = ReadData(*log);

  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_LE(stats->end_offset, open);
  EXPECT_GT(stats->end_offset, Offset(0));
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), stats->end_offset);
  std::vector<Read> after = ReadData(*log);
  auto from = [](const std::vector<Read>& records, Offset offset) {
    std::vector<Read> out;
    for (const Read& r : records) {
      if (r.offset >= offset) out.push_back(r);
    }
    return KeyValues(out);
  };
  EXPECT_EQ(from(after, stats->end_offset), from(before, stats->end_offset));
  EXPECT_EQ(from(after, open).front(), absl::StrCat(open.value(), ":k=open"));
  // Below it, the old values went but for the last one the map saw.
  EXPECT_LT(after.size(), before.size());
  EXPECT_EQ(log->last_stable_offset(), open);

  // Committed: the whole rolled log is cleanable.
  EndTxn(*log, 5, record::ControlType::kCommit);
  ASSERT_TRUE(log->Roll().ok());
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->end_offset, log->log_end_offset());
  after = ReadData(*log);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].value->substr(0, 5), "new29");
}

// A COMMIT marker whose transaction has no batch left goes once
// delete.retention.ms has passed since a cleaning covered it and since the
// cleaning that removed its data; an ABORT marker stays.
TEST_F(LogCleanerTxnTest, ACommitMarkerGoesDeleteRetentionAfterItsDataAndAnAbortMarkerStays) {
  const int64_t retention = config_.delete_retention_ms;
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  Produce(*log, 7, {{"a", "1"}});  // 0
  ASSERT_EQ(EndTxn(*log, 7, record::ControlType::kCommit), Offset(1));
  Produce(*log, 8, {{"b", "1"}});  // 2
  ASSERT_EQ(EndTxn(*log, 8, record::ControlType::kAbort), Offset(3));
  Produce(*log, 7, {{"q", "1"}});  // 4: producer 7's last batch
  ASSERT_EQ(EndTxn(*log, 7, record::ControlType::kCommit), Offset(5));
  Produce(*log, 8, {{"r", "1"}});  // 6: producer 8's last batch
  ASSERT_EQ(EndTxn(*log, 8, record::ControlType::kCommit), Offset(7));
  Plain(*log, {{"a", "2"}});  // 8
  ASSERT_TRUE(log->Roll().ok());
  const std::vector<Read> committed = ReadCommitted(*log);

  // t0: a=1 and the aborted b=1 go; both markers stay.
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->aborted_records_removed, 1);
  EXPECT_EQ(stats->txn_markers_kept_empty, 0);
  EXPECT_TRUE(HasMarkerAt(*log, Offset(1)));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(3)));
  // t0 + 1: the COMMIT marker at 1 is empty; it waits.
  clock_.AdvanceMs(1);
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->txn_markers_kept_empty, 1);
  EXPECT_EQ(stats->txn_markers_removed, 0);
  // t0 + retention: a millisecond short of retention since that cleaning.
  clock_.AdvanceMs(retention - 1);
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->txn_markers_removed, 0);
  EXPECT_TRUE(HasMarkerAt(*log, Offset(1)));
  // t0 + 1 + retention: it goes; the ABORT marker stays.
  clock_.AdvanceMs(1);
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->txn_markers_removed, 1);
  EXPECT_FALSE(HasMarkerAt(*log, Offset(1)));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(3)));
  // Each producer's last transaction keeps its marker: its batch stays.
  EXPECT_TRUE(HasMarkerAt(*log, Offset(5)));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(7)));
  EXPECT_EQ(Latest(ReadCommitted(*log)), Latest(committed));

  // A marker a cleaning covered long ago but whose data went just now
  // waits delete.retention.ms from the removal, not from that cleaning.
  const Offset c_txn = Produce(*log, 9, {{"c", "1"}});
  const Offset c_marker = EndTxn(*log, 9, record::ControlType::kCommit);
  Produce(*log, 9, {{"s", "1"}});
  EndTxn(*log, 9, record::ControlType::kCommit);
  Plain(*log, {{"z", std::nullopt}});  // a tombstone: this cleaning records a pass
  ASSERT_TRUE(log->Roll().ok());
  stats = cleaner->CleanLog(logs_[0]);  // t5
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->tombstones_kept, 1);
  EXPECT_TRUE(HasMarkerAt(*log, c_marker));
  clock_.AdvanceMs(retention - 1);  // t6 = t5 + retention - 1: c=1 goes
  Plain(*log, {{"c", "2"}});
  ASSERT_TRUE(log->Roll().ok());
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  for (const Read& r : ReadData(*log)) EXPECT_NE(r.offset, c_txn);
  EXPECT_TRUE(HasMarkerAt(*log, c_marker));
  clock_.AdvanceMs(1);  // t5's pass is due, the data went 1 ms ago
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tombstones_removed, 1);
  EXPECT_EQ(stats->txn_markers_removed, 0);
  EXPECT_TRUE(HasMarkerAt(*log, c_marker));
  for (int i = 0; i < 3 && HasMarkerAt(*log, c_marker); ++i) {
    clock_.AdvanceMs(retention);
    ASSERT_TRUE(cleaner->CleanLog(logs_[0]).ok());
  }
  EXPECT_FALSE(HasMarkerAt(*log, c_marker));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(3)));
}

// The read_committed view (records below the last stable offset, less
// aborted ones) keeps every key's latest value and offset across
// cleanings of a log mixing plain, idempotent, committed, aborted and open
// transactions over many segments; aborted records below the cleaned
// part's end are gone; the last stable offset does not move; and producer
// state rebuilt from the cleaned log alone gives the same view.
TEST_F(LogCleanerTxnTest, TheReadCommittedViewSurvivesCleaningAMixedLog) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_.DeleteDirRecursively(kLogDir).IgnoreError();
    sequences_.clear();
    std::mt19937 rng(seed);
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    logs_ = {{kTp, log, kLogDir}};
    auto cleaner = MakeCleaner();
    int64_t aborted_removed = 0;
    int64_t markers_removed = 0;
    // Open transactions: producer -> the offsets of its records.
    std::map<int64_t, std::vector<Offset>> open;
    std::set<int64_t> aborted_offsets;
    auto records = [&](int n) {
      std::vector<Rec> recs;
      for (int i = 0; i < n; ++i) {
        Rec r;
        r.key = "key" + std::to_string(rng() % 12);
        if (rng() % 6 != 0)
          r.value = "v" + std::to_string(rng() % 1000) + std::string(rng() % 30, 'x');
        recs.push_back(std::move(r));
      }
      return recs;
    };
    for (int round = 0; round < 6; ++round) {
      for (int op = 0; op < 60; ++op) {
        const uint32_t what = rng() % 10;
        const int n = 1 + static_cast<int>(rng() % 3);
        if (what < 3) {
          Plain(*log, records(n));
        } else if (what < 4) {
          Produce(*log, 100 + rng() % 2, records(n), /*transactional=*/false);
        } else {
          const int64_t producer = 200 + rng() % 4;
          auto it = open.find(producer);
          if (it == open.end() || rng() % 3 != 0) {
            const Offset base = Produce(*log, producer, records(n));
            for (int i = 0; i < n; ++i) open[producer].push_back(base + i);
          } else {
            const bool abort = rng() % 2 == 0;
            EndTxn(*log, producer,
                   abort ? record::ControlType::kAbort : record::ControlType::kCommit);
            if (abort) {
              for (Offset o : it->second) aborted_offsets.insert(o.value());
            }
            open.erase(it);
          }
        }
      }
      ASSERT_TRUE(log->Roll().ok());
      clock_.AdvanceMs(static_cast<int64_t>(rng() % 3) * config_.delete_retention_ms / 2 + 1);
      const std::vector<Read> before = ReadCommitted(*log);
      const Offset lso = log->last_stable_offset();
      auto stats = cleaner->CleanLog(logs_[0]);
      ASSERT_TRUE(stats.ok()) << stats.status();
      EXPECT_LE(stats->end_offset, lso);
      aborted_removed += stats->aborted_records_removed;
      markers_removed += stats->txn_markers_removed;
      const std::vector<Read> after = ReadCommitted(*log);
      EXPECT_EQ(log->last_stable_offset(), lso);
      EXPECT_EQ(Latest(after), Latest(before));
      // Nothing new appears; every key's latest record stays where it was.
      std::map<int64_t, std::string> was;
      for (const std::string& kv : KeyValues(before)) {
        was[std::stoll(kv.substr(0, kv.find(':')))] = kv;
      }
      std::set<int64_t> now_there;
      for (const std::string& kv : KeyValues(after)) {
        const int64_t offset = std::stoll(kv.substr(0, kv.find(':')));
        now_there.insert(offset);
        EXPECT_EQ(was[offset], kv);
      }
      std::map<std::string, const Read*> last;
      for (const Read& r : before) last[r.key] = &r;
      for (const auto& [key, r] : last) {
        if (r->value) {
          EXPECT_TRUE(now_there.contains(r->offset.value())) << key;
        }
      }
      for (const Read& r : ReadData(*log)) {
        if (r.offset < stats->end_offset) {
          EXPECT_FALSE(aborted_offsets.contains(r.offset.value())) << r.offset;
        }
      }
    }
    // Once no cleaning rewrites their segments any more, emptied COMMIT
    // markers go (a rewrite restarts their wait).
    for (int i = 0; i < 3; ++i) {
      clock_.AdvanceMs(config_.delete_retention_ms + 1);
      const std::vector<Read> before = ReadCommitted(*log);
      auto stats = cleaner->CleanLog(logs_[0]);
      ASSERT_TRUE(stats.ok()) << stats.status();
      markers_removed += stats->txn_markers_removed;
      EXPECT_EQ(Latest(ReadCommitted(*log)), Latest(before));
    }
    EXPECT_GT(aborted_removed, 0);
    EXPECT_GT(markers_removed, 0);
    // Producer state rebuilt from the cleaned log alone.
    const std::vector<Read> view = ReadCommitted(*log);
    const Offset lso = log->last_stable_offset();
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    logs_.clear();
    absl::StatusOr<std::vector<Offset>> snapshots = ListProducerSnapshots(&fs_, kDir);
    ASSERT_TRUE(snapshots.ok()) << snapshots.status();
    for (Offset o : *snapshots) ASSERT_TRUE(DeleteProducerSnapshot(&fs_, kDir, o).ok());
    auto reopened = OpenLog(nullptr, /*clean=*/false);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->last_stable_offset(), lso);
    EXPECT_EQ(KeyValues(ReadCommitted(*reopened)), KeyValues(view));
  }
}

// An open transaction holds the cleaner back at its first offset (it used
// to refuse the whole log); once it ends the log is cleaned through.
TEST_F(LogCleanerTxnTest, ALogWithAnOpenTransactionIsCleanedOnlyBelowIt) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  Produce(*log, 7, {{"a", "1"}, {"b", "1"}});
  Produce(*log, 7, {{"a", "2"}, {"b", "2"}});
  ASSERT_TRUE(log->Roll().ok());
  const int64_t size = log->size_bytes();
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->end_offset, Offset(0));
  EXPECT_EQ(stats->segments_written, 0);
  EXPECT_EQ(log->size_bytes(), size);
  EXPECT_EQ(ReadAll(*log).size(), 4u);
  // Nothing is dirty for the worker: it does not pick the log, nor mark
  // it uncleanable.
  OffsetMap map(1 << 20);
  auto none = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  auto names = fs_.ListDir(kDir);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) EXPECT_FALSE(name.ends_with(kCleanedFileSuffix)) << name;

  EndTxn(*log, 7, record::ControlType::kCommit);
  ASSERT_TRUE(log->Roll().ok());
  auto picked = cleaner->CleanDirtiestLog(&map);
  ASSERT_TRUE(picked.ok()) << picked.status();
  ASSERT_TRUE(picked->has_value());
  EXPECT_EQ(KeyValues(ReadData(*log)), (std::vector<std::string>{"2:a=2", "3:b=2"}));
  EXPECT_TRUE(HasMarkerAt(*log, Offset(4)));
}

TEST_F(LogCleanerTest, ASwapOfSegmentsThatChangedMeanwhileIsAborted) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  for (int i = 0; i < 60; ++i) Append(*log, {{"k" + std::to_string(i % 3), std::string(50, 'v')}});
  ASSERT_TRUE(log->Roll().ok());
  auto view = log->ViewForCleaning();
  ASSERT_TRUE(view.ok());
  std::vector<Log::SegmentInfo> stale = {view->segments[0], view->segments[1]};
  stale[1].size += 1;
  auto cleaned = Segment::CreateWithSuffix(&fs_, kDir, stale[0].base_offset, Segment::Options{},
                                           kCleanedFileSuffix);
  ASSERT_TRUE(cleaned.ok());
  cleaned->reset();
  auto replaced = log->ReplaceSegments(stale, stale[0].base_offset, view->generation);
  EXPECT_TRUE(absl::IsAborted(replaced.status())) << replaced.status();
  EXPECT_FALSE(fs_.Exists(std::string(kDir) + "/" + SegmentFileStem(Offset(0)) + ".log" +
                          kCleanedFileSuffix));
  EXPECT_EQ(log->num_segments(), static_cast<int>(view->segments.size()));
  EXPECT_EQ(Latest(ReadAll(*log)), ExpectedLatest());
}

// A kill at every step of a cleaning: each directory change in turn fails,
// and every later one, and unsynced bytes are lost, directory changes not
// synced included; the log must reopen readable with the same latest
// values and the same offsets. Where the crash left a swap to complete,
// a second crash at each step of the recovery completing it changes
// nothing either.
TEST_F(LogCleanerTest, ACrashAtAnyStepOfACleaningLeavesTheSameLatestValues) {
  int crashed_with_swap = 0;
  int crashed_before_swap = 0;
  int crashed_in_recovery = 0;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    bool completed = false;
    for (int budget = 0; budget < 1000 && !completed; ++budget) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", crash at directory change " +
                   std::to_string(budget));
      fs_.DeleteDirRecursively(kLogDir).IgnoreError();
      expected_.clear();
      expected_offset_.clear();
      std::mt19937 rng(seed);
      Offset end;
      {
        auto log = OpenLog();
        AppendRandom(*log, rng, 300, 25);
        ASSERT_TRUE(log->Roll().ok());
        // A first cleaning, so that the crash hits one that merges cleaned
        // segments and removes tombstones too.
        logs_ = {{kTp, log, kLogDir}};
        ASSERT_TRUE(MakeCleaner()->CleanLog(logs_[0]).ok());
        AppendRandom(*log, rng, 200, 25);
        ASSERT_TRUE(log->Roll().ok());
        end = log->log_end_offset();
        ASSERT_TRUE(log->Close().ok());
      }
      clock_.AdvanceMs(config_.delete_retention_ms + 1);
      const std::map<std::string, std::string> latest = ExpectedLatest();
      fs_.SetDirectoryOpsNeedSync(true);
      {
        DyingFileSystem dying(&fs_);
        auto log = OpenLog(&dying);
        ASSERT_NE(log, nullptr);
        logs_ = {{kTp, log, kLogDir}};
        dying.Arm(budget);
        auto stats = MakeCleaner(&dying)->CleanLog(logs_[0]);
        completed = !dying.died();
        if (completed) {
          ASSERT_TRUE(stats.ok()) << stats.status();
        }
        logs_.clear();
      }
      fs_.SimulateCrash();
      bool swap_pending = false;
      if (auto before = fs_.ListDir(kDir); before.ok()) {
        for (const std::string& name : *before) {
          crashed_with_swap += name.ends_with(kSwapFileSuffix) ? 1 : 0;
          swap_pending |= name.ends_with(std::string(".log") + kSwapFileSuffix);
        }
      }
      crashed_before_swap += !completed && !swap_pending ? 1 : 0;
      if (swap_pending) {
        // Crash again at each step of the recovery (Load completing the
        // swap), until one completes.
        for (int recovery_budget = 0; recovery_budget < 100; ++recovery_budget) {
          DyingFileSystem dying(&fs_);
          dying.Arm(recovery_budget);
          auto log = Log::Open(&dying, &clock_, kDir, config_, /*had_clean_shutdown=*/false);
          const bool died = dying.died();
          if (log.ok()) {
            ASSERT_TRUE((*log)->Close().ok() || died);
          }
          fs_.SimulateCrash();
          if (!died) break;
          ++crashed_in_recovery;
        }
      }
      fs_.SetDirectoryOpsNeedSync(false);
      auto reopened = OpenLog(&fs_, /*clean=*/false);
      ASSERT_NE(reopened, nullptr);
      std::vector<Read> read = ReadAll(*reopened);
      EXPECT_EQ(Latest(read), latest);
      EXPECT_EQ(reopened->log_end_offset(), end);
      // The first cleaning made gaps; no crash may make the log forget it.
      EXPECT_TRUE(reopened->may_have_gaps());
      Offset previous(-1);
      for (const Read& r : read) {
        EXPECT_GT(r.offset, previous);
        previous = r.offset;
        if (r.offset == expected_offset_.at(r.key)) {
          EXPECT_EQ(r.value, expected_.at(r.key));
        }
      }
      // No file of the cleaning is left behind.
      auto names = fs_.ListDir(kDir);
      ASSERT_TRUE(names.ok());
      for (const std::string& name : *names) {
        EXPECT_FALSE(name.ends_with(kCleanedFileSuffix)) << name;
        EXPECT_FALSE(name.ends_with(kSwapFileSuffix)) << name;
      }
      // And a cleaning after the restart completes the job.
      logs_ = {{kTp, reopened, kLogDir}};
      ASSERT_TRUE(MakeCleaner()->CleanLog(logs_[0]).ok());
      EXPECT_EQ(Latest(ReadAll(*reopened)), latest);
      if (completed) CheckCompacted(*reopened, /*tombstones_allowed=*/true);
      ASSERT_TRUE(reopened->Close().ok());
    }
    EXPECT_TRUE(completed);
  }
  // The crashes hit both halves: writing the cleaned segment and swapping,
  // and the recovery of a swap.
  EXPECT_GT(crashed_before_swap, 0);
  EXPECT_GT(crashed_with_swap, 0);
  EXPECT_GT(crashed_in_recovery, 0);
}

// The log's first cleaning, killed at every directory change: whenever the
// reopened log skips offsets, it knows it may (partition.checkpoint's
// offset-gaps), so replica repair does not take its gaps for damage.
TEST_F(LogCleanerTest, ALogThatSkipsOffsetsAfterACrashKnowsIt) {
  int crashed_with_gaps = 0;
  bool completed = false;
  for (int budget = 0; budget < 1000 && !completed; ++budget) {
    SCOPED_TRACE("crash at directory change " + std::to_string(budget));
    fs_.DeleteDirRecursively(kLogDir).IgnoreError();
    expected_.clear();
    expected_offset_.clear();
    std::mt19937 rng(5);
    {
      auto log = OpenLog();
      AppendRandom(*log, rng, 300, 25);
      ASSERT_TRUE(log->Roll().ok());
      EXPECT_FALSE(log->may_have_gaps());
      ASSERT_TRUE(log->Close().ok());
    }
    fs_.SetDirectoryOpsNeedSync(true);
    {
      DyingFileSystem dying(&fs_);
      auto log = OpenLog(&dying);
      ASSERT_NE(log, nullptr);
      logs_ = {{kTp, log, kLogDir}};
      dying.Arm(budget);
      auto stats = MakeCleaner(&dying)->CleanLog(logs_[0]);
      completed = !dying.died();
      if (completed) {
        ASSERT_TRUE(stats.ok()) << stats.status();
      }
      logs_.clear();
    }
    fs_.SimulateCrash();
    fs_.SetDirectoryOpsNeedSync(false);
    auto reopened = OpenLog(&fs_, /*clean=*/false);
    ASSERT_NE(reopened, nullptr);
    int64_t next = 0;
    bool gaps = false;
    for (const Read& r : ReadAll(*reopened)) {
      gaps |= r.offset.value() != next;
      next = r.offset.value() + 1;
    }
    if (gaps) {
      EXPECT_TRUE(reopened->may_have_gaps());
      crashed_with_gaps += completed ? 0 : 1;
    }
    ASSERT_TRUE(reopened->Close().ok());
    // The flag survives a clean restart too.
    auto again = OpenLog();
    ASSERT_NE(again, nullptr);
    if (gaps) {
      EXPECT_TRUE(again->may_have_gaps());
    }
    ASSERT_TRUE(again->Close().ok());
  }
  EXPECT_TRUE(completed);
  // Some crashes left a log with gaps behind (a swap completed by Load).
  EXPECT_GT(crashed_with_gaps, 0);
}

// A failure at any directory change of a cleaning, once (a failing disk,
// not a dead process): before the swap begins the log runs on unchanged;
// once it has begun, the log refuses everything as a storage failure, so
// nothing changes it before a restart completes the swap.
TEST_F(LogCleanerTest, AFailurePartWayThroughASwapFailsTheLogUntilARestart) {
  int failed_mid_swap = 0;
  bool completed = false;
  for (int budget = 0; budget < 200 && !completed; ++budget) {
    SCOPED_TRACE("failing directory change " + std::to_string(budget));
    fs_.DeleteDirRecursively(kLogDir).IgnoreError();
    expected_.clear();
    expected_offset_.clear();
    std::mt19937 rng(11);
    {
      auto log = OpenLog();
      AppendRandom(*log, rng, 300, 25);
      ASSERT_TRUE(log->Roll().ok());
      ASSERT_TRUE(log->Close().ok());
    }
    const std::map<std::string, std::string> latest = ExpectedLatest();
    DyingFileSystem failing(&fs_);
    auto log = OpenLog(&failing, /*clean=*/true);
    ASSERT_NE(log, nullptr);
    const Offset end = log->log_end_offset();
    logs_ = {{kTp, log, kLogDir}};
    failing.FailOnce(budget);
    auto stats = MakeCleaner(&failing)->CleanLog(logs_[0]);
    completed = !failing.died();
    // (A failure after a whole swap, writing partition.checkpoint, leaves
    // the cleaning done.)
    if (completed) {
      ASSERT_TRUE(stats.ok()) << stats.status();
    }
    auto read = log->Read(log->log_start_offset(), 1 << 20, log->log_end_offset());
    if (!read.ok()) {
      EXPECT_TRUE(IsStorageFailure(read.status())) << read.status();
      std::string batch = KeyedBatch({{"x", "y"}}, clock_.NowMs());
      EXPECT_FALSE(log->AppendAsLeader(&batch, Epoch(1)).ok());
      EXPECT_FALSE(log->TruncateTo(Offset(0)).ok());
      EXPECT_FALSE(log->Close().ok());
      ++failed_mid_swap;
    } else {
      EXPECT_EQ(Latest(ReadAll(*log)), latest);
      EXPECT_EQ(log->log_end_offset(), end);
      ASSERT_TRUE(log->Close().ok());
    }
    logs_.clear();
    log.reset();
    // A restart completes or drops the swap: same values, same offsets,
    // nothing of the cleaning left.
    auto reopened = OpenLog(&fs_, /*clean=*/false);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(Latest(ReadAll(*reopened)), latest);
    EXPECT_EQ(reopened->log_end_offset(), end);
    auto names = fs_.ListDir(kDir);
    ASSERT_TRUE(names.ok());
    for (const std::string& name : *names) {
      EXPECT_FALSE(name.ends_with(kCleanedFileSuffix)) << name;
      EXPECT_FALSE(name.ends_with(kSwapFileSuffix)) << name;
    }
    ASSERT_TRUE(reopened->Close().ok());
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(failed_mid_swap, 0);
}

// A truncation (an unclean election) or retention between the map's
// build and the swap: the map may name a latest record that is gone, so
// the cleaning stops without swapping, and writes no checkpoint.
TEST_F(LogCleanerTest, ATruncationOrRetentionDuringACleaningAbortsIt) {
  for (bool truncate : {true, false}) {
    SCOPED_TRACE(truncate ? "truncation" : "retention");
    fs_.DeleteDirRecursively(kLogDir).IgnoreError();
    auto log = OpenLog();
    logs_ = {{kTp, log, kLogDir}};
    // "k" is written early, then again in a later segment (offset x).
    Append(*log, {{"k", "old"}});
    for (int i = 0; i < 60; ++i) Append(*log, {{"f" + std::to_string(i), std::string(60, 'f')}});
    const Offset x = log->log_end_offset();
    Append(*log, {{"k", "new"}});
    for (int i = 0; i < 60; ++i) Append(*log, {{"g" + std::to_string(i), std::string(60, 'g')}});
    ASSERT_TRUE(log->Roll().ok());
    ASSERT_GE(log->num_segments(), 4);
    DyingFileSystem hook(&fs_);
    hook.OnCreate(std::string(".log") + kCleanedFileSuffix, [&] {
      if (truncate) {
        ASSERT_TRUE(log->TruncateTo(x).ok());
      } else {
        const Offset second = log->segment_base_offsets()[1];
        ASSERT_TRUE(log->MaybeIncrementLogStartOffset(second, true).ok());
        auto deleted = log->DeleteOldSegments();
        ASSERT_TRUE(deleted.ok());
        ASSERT_EQ(deleted->count, 1);
      }
    });
    auto cleaner = MakeCleaner(&hook);
    auto stats = cleaner->CleanLog(logs_[0]);
    EXPECT_TRUE(absl::IsAborted(stats.status())) << stats.status();
    EXPECT_FALSE(cleaner->FirstDirtyOffset(kTp, kLogDir).has_value());
    std::map<std::string, std::string> latest = Latest(ReadAll(*log));
    if (truncate) {
      EXPECT_EQ(latest["k"], "old");  // the latest left
    }
    auto names = fs_.ListDir(kDir);
    ASSERT_TRUE(names.ok());
    for (const std::string& name : *names) EXPECT_FALSE(name.ends_with(kCleanedFileSuffix)) << name;
    // The next cleaning works from the log as it now is.
    stats = cleaner->CleanLog(logs_[0]);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(Latest(ReadAll(*log)), latest);
  }
}

// A truncation below the cleaned part moves the checkpoint back (Kafka's
// maybeTruncateCheckpoint): a tombstone written after it is dirty, so it
// removes the key's older value and waits delete.retention.ms itself.
// Left at the old checkpoint it would count as cleaned long ago and go at
// once, and the older value it deleted would be back.
TEST_F(LogCleanerTest, ATruncationMovesTheCheckpointBack) {
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  auto cleaner = MakeCleaner();
  log->SetTruncationListener(
      [&](Offset end) { return cleaner->MaybeTruncateCheckpoint(kTp, kLogDir, end); });
  Append(*log, {{"k", "v1"}});
  Append(*log, {{"z", std::nullopt}});  // a tombstone: the cleaning records a pass
  for (int i = 0; i < 40; ++i) Append(*log, {{"f" + std::to_string(i % 3), std::string(40, 'f')}});
  ASSERT_TRUE(log->Roll().ok());
  auto stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_GT(stats->tombstones_kept, 0);
  const Offset cleaned_to = *cleaner->FirstDirtyOffset(kTp, kLogDir);

  ASSERT_TRUE(log->TruncateTo(cleaned_to - 1).ok());
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), log->log_end_offset());
  Append(*log, {{"k", std::nullopt}});
  ASSERT_TRUE(log->Roll().ok());
  clock_.AdvanceMs(config_.delete_retention_ms + 1);
  stats = cleaner->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::vector<Read> read = ReadAll(*log);
  EXPECT_FALSE(Latest(read).contains("k"));
  bool tombstone = false;
  for (const Read& r : read) tombstone |= r.key == "k" && !r.value;
  EXPECT_TRUE(tombstone);
  // Emptying the log moves it too.
  ASSERT_TRUE(log->TruncateFullyAndStartAt(Offset(3)).ok());
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), Offset(3));
}

// Kafka's layout: one batch per source batch, records at their offsets.
// Keeping every other record of a batch writes one batch, not one per
// record, so a cleaned segment is never larger than its source.
TEST_F(LogCleanerTest, ACleanedBatchReplacesItsSourceWithGapsInside) {
  config_.segment_bytes = 1 << 20;
  auto log = OpenLog();
  logs_ = {{kTp, log, kLogDir}};
  std::vector<Rec> all;
  std::vector<Rec> even;
  for (int i = 0; i < 200; ++i) {
    all.push_back({"k" + std::to_string(i), "a"});
    if (i % 2 == 0) even.push_back({"k" + std::to_string(i), "b"});
  }
  Append(*log, all);
  Append(*log, even);
  ASSERT_TRUE(log->Roll().ok());
  auto stats = MakeCleaner()->CleanLog(logs_[0]);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_LE(stats->bytes_written, stats->bytes_read);
  std::vector<record::BatchHeader> headers;
  std::vector<Read> read = ReadAll(*log, &headers);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].base_offset, Offset(0));
  EXPECT_EQ(headers[0].last_offset(), Offset(199));
  EXPECT_EQ(headers[0].records_count, 100);
  EXPECT_EQ(read.size(), 200u);
  CheckCompacted(*log, /*tombstones_allowed=*/true);
}

// A replica created after its leader was cleaned copies it from its start:
// same offsets, same records; and finds records by time on the cleaned
// segments.
TEST_F(LogCleanerTest, ANewReplicaCopiesACleanedLeaderFromItsStart) {
  std::mt19937 rng(5);
  auto leader = OpenLog();
  logs_ = {{kTp, leader, kLogDir}};
  AppendRandom(*leader, rng, 400, 30);
  ASSERT_TRUE(leader->Roll().ok());
  AppendRandom(*leader, rng, 20, 30);
  ASSERT_TRUE(MakeCleaner()->CleanLog(logs_[0]).ok());
  EXPECT_TRUE(leader->may_have_gaps());
  auto copy = Log::Open(&fs_, &clock_, "/data/state-9", config_, true);
  ASSERT_TRUE(copy.ok());
  for (int guard = 0; guard < 10000 && (*copy)->log_end_offset() < leader->log_end_offset();
       ++guard) {
    auto read = leader->Read((*copy)->log_end_offset(), 1024, leader->log_end_offset());
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_FALSE(read->batches.empty());
    auto appended = (*copy)->AppendAsFollower(read->batches);
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  EXPECT_EQ((*copy)->log_end_offset(), leader->log_end_offset());
  EXPECT_TRUE((*copy)->may_have_gaps());
  std::vector<Read> want = ReadAll(*leader);
  std::vector<Read> got = ReadAll(**copy);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].offset, want[i].offset);
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].value, want[i].value);
  }
  // ListOffsets by time: the first record left, not the log start.
  auto first = leader->OffsetForTimestamp(0);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->offset, want.front().offset);
  auto max = leader->MaxTimestampRecord();
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_TRUE(max->has_value());
}

// A follower whose next batch lies more than 2^32 offsets past its active
// segment's base rolls to a segment at that batch: the gap before it is
// flagged at once, and a reopened log finds it between the segments even
// when the checkpoint lost the flag.
TEST_F(LogCleanerTest, AFollowersRollToAFarBatchIsAGapEvenAfterTheCheckpointLosesIt) {
  auto log = OpenLog();
  std::string first = KeyedBatch({{"a", "1"}}, clock_.NowMs());
  ASSERT_TRUE(log->AppendAsFollower(first).ok());
  EXPECT_FALSE(log->may_have_gaps());
  std::string far = KeyedBatch({{"b", "2"}}, clock_.NowMs());
  const int64_t base = (int64_t{1} << 32) + 10;
  for (int i = 0; i < 8; ++i) {
    far[i] = static_cast<char>((static_cast<uint64_t>(base) >> (56 - 8 * i)) & 0xFF);
  }
  ASSERT_TRUE(log->AppendAsFollower(far).ok());
  EXPECT_EQ(log->num_segments(), 2);
  EXPECT_TRUE(log->may_have_gaps());
  ASSERT_TRUE(log->Close().ok());
  // A crash took the flag's write: the checkpoint holds everything else.
  const std::string checkpoint = std::string(kDir) + "/" + kPartitionCheckpointFile;
  auto entries = ReadCheckpoint(&fs_, checkpoint);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->erase("offset-gaps"), 1u);
  ASSERT_TRUE(WriteCheckpoint(&fs_, checkpoint, *entries).ok());
  auto reopened = OpenLog();
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->may_have_gaps());
  EXPECT_EQ(reopened->log_end_offset(), Offset(base + 1));
}

// Deleting a log (topic deletion, reassignment) while it is being cleaned:
// the cleaning is aborted and waited for, and leaves no checkpoint entry;
// a truncation of a log the manager opened moves its checkpoint back.
TEST_F(LogCleanerTest, TheLogManagerAbortsTheCleaningOfALogItDeletes) {
  DyingFileSystem hook(&fs_);
  LogManager::Options options;
  options.log_dirs = {kLogDir};
  options.default_config = config_;
  auto manager = LogManager::Open(&hook, &clock_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  LogCleaner* cleaner = (*manager)->cleaner();
  auto log = (*manager)->GetOrCreate(kTp);
  ASSERT_TRUE(log.ok());
  std::mt19937 rng(9);
  AppendRandom(**log, rng, 300, 20);
  ASSERT_TRUE((*log)->Roll().ok());
  const LogCleaner::CleanableLog cleanable{kTp, *log, kLogDir};
  ASSERT_TRUE(cleaner->CleanLog(cleanable).ok());
  const Offset cleaned_to = *cleaner->FirstDirtyOffset(kTp, kLogDir);
  ASSERT_TRUE((*log)->TruncateTo(cleaned_to - 3).ok());
  EXPECT_EQ(cleaner->FirstDirtyOffset(kTp, kLogDir), (*log)->log_end_offset());

  AppendRandom(**log, rng, 300, 20);
  ASSERT_TRUE((*log)->Roll().ok());
  std::thread deleter;
  hook.OnCreate(std::string(".log") + kCleanedFileSuffix, [&] {
    deleter = std::thread([&] { EXPECT_TRUE((*manager)->Delete(kTp).ok()); });
    // Let the deletion pause the log and wait for this cleaning.
    absl::SleepFor(absl::Milliseconds(200));
  });
  auto stats = cleaner->CleanLog(cleanable);
  deleter.join();
  EXPECT_TRUE(absl::IsAborted(stats.status())) << stats.status();
  EXPECT_FALSE(cleaner->FirstDirtyOffset(kTp, kLogDir).has_value());
  EXPECT_FALSE(fs_.Exists(kDir));
  // A new log of the partition is cleaned as any other.
  auto again = (*manager)->GetOrCreate(kTp);
  ASSERT_TRUE(again.ok());
  for (int i = 0; i < 60; ++i) {
    std::string batch = KeyedBatch({{"k" + std::to_string(i % 3), "v"}}, clock_.NowMs());
    ASSERT_TRUE((*again)->AppendAsLeader(&batch, Epoch(1)).ok());
  }
  (*again)->MaybeIncrementHighWatermark((*again)->log_end_offset());
  ASSERT_TRUE((*again)->Roll().ok());
  EXPECT_TRUE(cleaner->CleanLog({kTp, *again, kLogDir}).ok());
  ASSERT_TRUE((*manager)->Close().ok());
}

// A log of the same partition asked for while the old one is being
// deleted (a topic re-created at once, a replica coming back) waits for
// the deletion: it starts empty, in a directory of its own, and cannot
// lift the pause that aborts the old log's cleaning.
TEST_F(LogCleanerTest, ALogAskedForWhileItsPredecessorIsDeletedWaitsAndStartsEmpty) {
  DyingFileSystem hook(&fs_);
  LogManager::Options options;
  options.log_dirs = {kLogDir};
  options.default_config = config_;
  auto manager = LogManager::Open(&hook, &clock_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  LogCleaner* cleaner = (*manager)->cleaner();
  auto log = (*manager)->GetOrCreate(kTp);
  ASSERT_TRUE(log.ok());
  std::mt19937 rng(13);
  AppendRandom(**log, rng, 300, 20);
  ASSERT_TRUE((*log)->Roll().ok());
  const LogCleaner::CleanableLog cleanable{kTp, *log, kLogDir};
  std::thread deleter;
  std::thread creator;
  absl::StatusOr<std::shared_ptr<Log>> created = absl::UnknownError("not yet");
  hook.OnCreate(std::string(".log") + kCleanedFileSuffix, [&] {
    deleter = std::thread([&] { EXPECT_TRUE((*manager)->Delete(kTp).ok()); });
    absl::SleepFor(absl::Milliseconds(100));
    creator = std::thread([&] { created = (*manager)->GetOrCreate(kTp); });
    absl::SleepFor(absl::Milliseconds(100));
  });
  auto stats = cleaner->CleanLog(cleanable);
  deleter.join();
  creator.join();
  EXPECT_TRUE(absl::IsAborted(stats.status())) << stats.status();
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)->log_start_offset(), Offset(0));
  EXPECT_EQ((*created)->log_end_offset(), Offset(0));
  EXPECT_FALSE((*created)->may_have_gaps());
  auto names = fs_.ListDir(kDir);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    EXPECT_FALSE(name.ends_with(kCleanedFileSuffix)) << name;
    EXPECT_FALSE(name.ends_with(kSwapFileSuffix)) << name;
  }
  ASSERT_TRUE((*manager)->Close().ok());
}

// log.cleaner.io.max.bytes.per.second: a cleaning takes at least as long
// as its reads and writes take at the rate, and an abort cuts the wait
// short.
TEST_F(LogCleanerTest, TheIoThrottleBoundsTheCleanersRateAndYieldsToAnAbort) {
  auto log = OpenLog();
  std::mt19937 rng(23);
  AppendRandom(*log, rng, 400, 20);
  ASSERT_TRUE(log->Roll().ok());
  logs_ = {{kTp, log, kLogDir}};
  const double rate = 50'000;
  const absl::Time start = absl::Now();
  auto stats = MakeCleaner(nullptr, 1 << 20, rate)->CleanLog(logs_[0]);
  const double took = absl::ToDoubleSeconds(absl::Now() - start);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const double bytes = static_cast<double>(stats->bytes_read + stats->bytes_written);
  ASSERT_GT(bytes, 10'000);
  EXPECT_GE(took, 0.9 * bytes / rate) << bytes << " bytes";
  EXPECT_EQ(Latest(ReadAll(*log)), ExpectedLatest());

  // At 1 KB/s the next cleaning would take a minute; an abort ends it.
  AppendRandom(*log, rng, 400, 20);
  ASSERT_TRUE(log->Roll().ok());
  auto slow = MakeCleaner(nullptr, 1 << 20, 1000);
  absl::StatusOr<LogCleaner::Stats> aborted = absl::UnknownError("not run");
  std::thread cleaning([&] { aborted = slow->CleanLog(logs_[0]); });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time abort_start = absl::Now();
  slow->AbortAndPauseCleaning(kTp);
  EXPECT_LT(absl::Now() - abort_start, absl::Seconds(10));
  cleaning.join();
  EXPECT_TRUE(absl::IsAborted(aborted.status())) << aborted.status();
  EXPECT_EQ(Latest(ReadAll(*log)), ExpectedLatest());
  logs_.clear();
}

// A topic that stops being compacted (cleanup.policy compact -> delete)
// while it is being cleaned: the cleaning swaps nothing in.
TEST_F(LogCleanerTest, ACleaningStopsWhenItsTopicStopsBeingCompacted) {
  DyingFileSystem hook(&fs_);
  auto log = OpenLog(&hook);
  std::mt19937 rng(17);
  AppendRandom(*log, rng, 300, 20);
  ASSERT_TRUE(log->Roll().ok());
  const std::vector<Read> before = ReadAll(*log);
  logs_ = {{kTp, log, kLogDir}};
  hook.OnCreate(std::string(".log") + kCleanedFileSuffix, [&] {
    LogConfig deleting = config_;
    deleting.cleanup_policy = CleanupPolicy::kDelete;
    log->UpdateConfig(deleting);
  });
  auto stats = MakeCleaner(&hook)->CleanLog(logs_[0]);
  EXPECT_TRUE(absl::IsAborted(stats.status())) << stats.status();
  EXPECT_EQ(ReadAll(*log).size(), before.size());
  EXPECT_FALSE(log->may_have_gaps());
  logs_.clear();
}

// The cleaner's checkpoint is older than a truncation (its write failed,
// or the crash came first): loading the log brings it back to the log's
// end, so tombstones written after the truncation count as seen by no
// cleaning.
TEST_F(LogCleanerTest, LoadingALogMovesAStaleCleanerCheckpointBack) {
  LogManager::Options options;
  options.log_dirs = {kLogDir};
  options.default_config = config_;
  Offset cleaned_to;
  {
    auto manager = LogManager::Open(&fs_, &clock_, options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    auto log = (*manager)->GetOrCreate(kTp);
    ASSERT_TRUE(log.ok());
    std::mt19937 rng(19);
    AppendRandom(**log, rng, 300, 20);
    ASSERT_TRUE((*log)->Roll().ok());
    ASSERT_TRUE((*manager)->cleaner()->CleanLog({kTp, *log, kLogDir}).ok());
    cleaned_to = *(*manager)->cleaner()->FirstDirtyOffset(kTp, kLogDir);
    ASSERT_GT(cleaned_to, Offset(10));
    ASSERT_TRUE((*manager)->Close().ok());
  }
  {
    // A truncation the cleaner's checkpoint did not hear of.
    auto log = Log::Open(&fs_, &clock_, kDir, config_, /*had_clean_shutdown=*/false);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->TruncateTo(cleaned_to - 10).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  auto manager = LogManager::Open(&fs_, &clock_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto log = (*manager)->GetOrCreate(kTp);
  ASSERT_TRUE(log.ok());
  EXPECT_LE((*log)->log_end_offset(), cleaned_to - 10);
  EXPECT_EQ((*manager)->cleaner()->FirstDirtyOffset(kTp, kLogDir), (*log)->log_end_offset());
  ASSERT_TRUE((*manager)->Close().ok());
}

// The cleaner's own threads, through the LogManager: a compacted topic's
// rolled segments get cleaned without anyone asking.
TEST_F(LogCleanerTest, TheLogManagerRunsTheCleaner) {
  SystemClock clock;
  LogManager::Options options;
  options.log_dirs = {kLogDir};
  options.default_config = config_;
  options.cleaner.backoff_ms = 10;
  auto manager = LogManager::Open(&fs_, &clock, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  ASSERT_NE((*manager)->cleaner(), nullptr);
  auto log = (*manager)->GetOrCreate(kTp);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 200; ++i) {
    std::string batch =
        KeyedBatch({{"k" + std::to_string(i % 4), std::string(40, 'x')}}, clock.NowMs());
    ASSERT_TRUE((*log)->AppendAsLeader(&batch, Epoch(1)).ok());
  }
  (*log)->MaybeIncrementHighWatermark((*log)->log_end_offset());
  ASSERT_TRUE((*log)->Roll().ok());
  ASSERT_TRUE((*manager)->StartScheduler().ok());
  bool cleaned = false;
  for (int i = 0; i < 500 && !cleaned; ++i) {
    cleaned = ReadAll(**log).size() == 4;
    if (!cleaned) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(cleaned);
  ASSERT_TRUE((*manager)->Close().ok());
}

}  // namespace
}  // namespace strata::storage
