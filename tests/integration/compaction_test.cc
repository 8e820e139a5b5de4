// Issue 13's compaction on real processes (acceptance 2): random keyed
// records and tombstones into a compacted topic with small segments; the
// cleaners compact every replica, a consumer from the beginning sees the
// latest value of every live key at ascending offsets, and tombstones go
// after delete.retention.ms. Then rounds of SIGKILL at random moments while
// the cleaners run: the killed node reopens its log (no cleaning files left,
// back in the ISR), and its own log files (read directly, as the dump-log
// tool reads them) hold the same latest values at ascending offsets, as
// does what a consumer reads.
//
//   compaction_test [--rounds N] [--seed S]   (default 3 rounds; 20 in the
//   fault variant, compaction_test_kill)
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

namespace fs = std::filesystem;

int g_rounds = 3;
uint32_t g_seed = 0;

constexpr char kTopic[] = "compacted";
constexpr int kDeleteRetentionMs = 3000;

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    CliResult r = cluster_.Cli({"topics",
                                "--bootstrap-server",
                                cluster_.bootstrap(1),
                                "--create",
                                "--topic",
                                kTopic,
                                "--partitions",
                                "1",
                                "--replication-factor",
                                "3",
                                "--config",
                                "cleanup.policy=compact",
                                "--config",
                                "segment.bytes=8192",
                                "--config",
                                "min.cleanable.dirty.ratio=0.1",
                                "--config",
                                "delete.retention.ms=" + std::to_string(kDeleteRetentionMs),
                                "--config",
                                "file.delete.delay.ms=1000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s (seed %u)\n", cluster_.dir().c_str(), seed_);
    }
  }

  // Sends `n` random records over `keys` keys (a fifth tombstones), acks=all.
  void ProduceRandom(std::mt19937& rng, int n, int keys) {
    std::vector<std::pair<std::string, std::optional<std::string>>> sent;
    for (int i = 0; i < n; ++i) {
      std::string key = "key" + std::to_string(rng() % keys);
      std::optional<std::string> value;
      if (rng() % 5 != 0) value = "v" + std::to_string(next_++) + std::string(rng() % 100, 'x');
      sent.emplace_back(std::move(key), std::move(value));
    }
    Produce(sent);
  }

  void Produce(const std::vector<std::pair<std::string, std::optional<std::string>>>& records) {
    client::ProducerConfig pc;
    pc.bootstrap_servers = cluster_.bootstrap_all();
    pc.acks = -1;
    auto producer = client::Producer::Create(pc);
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::atomic<int> failed{0};
    for (const auto& [key, value] : records) {
      client::ProducerRecord r;
      r.topic = kTopic;
      r.partition = 0;
      r.key = key;
      r.value = value;
      (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
        if (!md.ok()) ++failed;
      });
      // One batch per record keeps the order across retries simple.
      (*producer)->Flush();
    }
    (*producer)->Close();
    ASSERT_EQ(failed.load(), 0);
    for (const auto& [key, value] : records) expected_[key] = value;
  }

  std::map<std::string, std::string> ExpectedLatest() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : expected_) {
      if (v) out[k] = *v;
    }
    return out;
  }

  struct Seen {
    int64_t offset;
    std::string key;
    std::optional<std::string> value;
  };
  // Everything from the beginning up to the log end, as a consumer reads it.
  absl::StatusOr<std::vector<Seen>> ConsumeAll() {
    auto config = client::ConsumerConfig::FromProperties(
        {{"bootstrap.servers", cluster_.bootstrap_all()}, {"auto.offset.reset", "earliest"}},
        nullptr);
    if (!config.ok()) return config.status();
    auto consumer = client::Consumer::Create(*config);
    if (!consumer.ok()) return consumer.status();
    const TopicPartition tp{kTopic, PartitionId(0)};
    (*consumer)->Assign({tp});
    if (absl::Status s = (*consumer)->SeekToBeginning({tp}); !s.ok()) return s;
    std::vector<Seen> out;
    int idle = 0;
    for (int i = 0; i < 600 && idle < 10; ++i) {
      auto records = (*consumer)->Poll(absl::Milliseconds(200));
      if (!records.ok()) return records.status();
      idle = records->empty() ? idle + 1 : 0;
      for (auto& r : *records) out.push_back(Seen{r.offset, r.key.value_or(""), r.value});
    }
    return out;
  }

  // The latest values a consumer from the beginning ends up with, after
  // checking that offsets ascend.
  std::map<std::string, std::string> LatestSeen(const std::vector<Seen>& seen) {
    std::map<std::string, std::string> out;
    int64_t previous = -1;
    for (const Seen& s : seen) {
      EXPECT_GT(s.offset, previous);
      previous = s.offset;
      if (s.value) {
        out[s.key] = *s.value;
      } else {
        out.erase(s.key);
      }
    }
    return out;
  }

  // A cleaning's files in `node`'s partition directory; with `before`,
  // only those last written before it (a cleaning since then writes files
  // of the same names).
  std::vector<std::string> CleaningLeftovers(
      int node, std::optional<std::chrono::system_clock::time_point> before = std::nullopt) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cluster_.partition_dir(node, kTopic, 0), ec)) {
      const std::string name = e.path().filename().string();
      if (!name.ends_with(".cleaned") && !name.ends_with(".swap")) continue;
      if (before) {
        struct stat st {};
        if (::stat(e.path().c_str(), &st) != 0) continue;  // gone meanwhile
        const auto written = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) +
                std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
        if (written >= *before) continue;
      }
      out.push_back(name);
    }
    return out;
  }

  int64_t Records(const std::vector<Seen>& seen) { return static_cast<int64_t>(seen.size()); }

  // Every record in `node`'s own segment files of the partition, in offset
  // order (the log's files, read directly: the node's copy, not the
  // leader's), up to `below`.
  absl::StatusOr<std::vector<Seen>> ReadNodeLog(int node, int64_t below) {
    std::vector<std::string> logs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cluster_.partition_dir(node, kTopic, 0), ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() == 24 && name.ends_with(".log")) logs.push_back(e.path().string());
    }
    if (ec) return absl::InternalError(ec.message());
    std::sort(logs.begin(), logs.end());  // 20-digit base offsets
    std::vector<Seen> out;
    for (const std::string& path : logs) {
      std::ifstream in(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      record::BatchIterator it(bytes);
      record::BatchHeader h;
      std::string_view batch;
      while (it.Next(&h, &batch)) {
        if (h.base_offset.value() >= below) break;
        auto records = record::DecodeRecords(batch);
        if (!records.ok()) return records.status();
        for (record::Record& r : *records) {
          if (r.offset.value() < below) {
            out.push_back(Seen{r.offset.value(), r.key.value_or(""), std::move(r.value)});
          }
        }
      }
    }
    return out;
  }

  // The cleaners' I/O is throttled (log.cleaner.io.max.bytes.per.second)
  // so that a cleaning of these small logs lasts about a second: a kill
  // at a random moment then lands inside one most of the time.
  StrataCluster cluster_{
      3,
      {"log.cleaner.backoff.ms=100", "log.cleaner.dedupe.buffer.size=4194304",
       "log.cleaner.io.max.bytes.per.second=20000", "log.retention.check.interval.ms=1000"}};
  uint32_t seed_ = g_seed != 0 ? g_seed : static_cast<uint32_t>(std::random_device{}());
  std::map<std::string, std::optional<std::string>> expected_;
  int next_ = 0;
};

TEST_F(CompactionTest, AConsumerFromTheBeginningSeesTheLatestValueOfEveryKey) {
  std::mt19937 rng(seed_);
  ProduceRandom(rng, 600, 40);
  // A filler of one key pushes the stream out of the active segment.
  std::vector<std::pair<std::string, std::optional<std::string>>> filler;
  for (int i = 0; i < 200; ++i) filler.emplace_back("filler", std::string(100, 'f'));
  Produce(filler);

  // Compacted: far fewer records than were sent, every latest value there.
  std::vector<Seen> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        auto all = ConsumeAll();
        if (!all.ok()) return false;
        seen = std::move(*all);
        return !seen.empty() && Records(seen) < 400;
      },
      30000))
      << "still " << seen.size() << " records of 800";
  EXPECT_EQ(LatestSeen(seen), ExpectedLatest());

  // After delete.retention.ms no tombstone of the stream is left.
  ASSERT_TRUE(Eventually(
      [&] {
        auto all = ConsumeAll();
        if (!all.ok()) return false;
        seen = std::move(*all);
        for (const Seen& s : seen) {
          if (!s.value) return false;
        }
        return true;
      },
      kDeleteRetentionMs + 30000))
      << "tombstones remain";
  EXPECT_EQ(LatestSeen(seen), ExpectedLatest());
  for (int n : cluster_.nodes()) {
    EXPECT_TRUE(Eventually([&] { return CleaningLeftovers(n).empty(); }, 60000)) << "node " << n;
  }
}

TEST_F(CompactionTest, KillingACleaningNodeLeavesAReadableLogWithTheSameLatestValues) {
  std::mt19937 rng(seed_);
  int killed_mid_cleaning = 0;
  int killed_mid_swap = 0;
  for (int round = 0; round < g_rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    ProduceRandom(rng, 200 + static_cast<int>(rng() % 200), 30);
    // The cleaners run every 100 ms: kill one node somewhere in them.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1500));
    const int victim = 1 + static_cast<int>(rng() % 3);
    cluster_.Kill(victim);
    const auto killed_at = std::chrono::system_clock::now();
    // A cleaning's files on disk: the kill came part way through it.
    const std::vector<std::string> left = CleaningLeftovers(victim);
    if (!left.empty()) {
      ++killed_mid_cleaning;
      killed_mid_swap += std::any_of(left.begin(), left.end(),
                                     [](const std::string& f) { return f.ends_with(".swap"); });
    }
    cluster_.Start(victim);
    ASSERT_TRUE(cluster_.WaitReady(3, 60000)) << "node " << victim << " did not come back";
    // Back in the ISR: its log opened, and it follows again.
    ASSERT_TRUE(Eventually(
        [&] {
          auto lines = cluster_.Describe(kTopic, victim);
          return lines.count(0) && lines[0].isr.size() == 3;
        },
        60000))
        << "node " << victim << " did not rejoin the ISR";
    auto seen = ConsumeAll();
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(LatestSeen(*seen), ExpectedLatest());
    // The killed node's own copy: caught up with the others (in the ISR,
    // so up to what the consumer read), then its files hold the same
    // latest values at ascending offsets.
    const int64_t end = seen->empty() ? 0 : seen->back().offset + 1;
    std::vector<Seen> own;
    ASSERT_TRUE(Eventually(
        [&] {
          // Files read while a cleaning swaps may be caught half way:
          // read again until a consistent copy shows.
          auto read = ReadNodeLog(victim, end);
          if (!read.ok()) return false;
          own = std::move(*read);
          std::map<std::string, std::string> latest;
          for (size_t i = 0; i < own.size(); ++i) {
            if (i > 0 && own[i].offset <= own[i - 1].offset) return false;
            if (own[i].value) {
              latest[own[i].key] = *own[i].value;
            } else {
              latest.erase(own[i].key);
            }
          }
          return latest == ExpectedLatest();
        },
        30000))
        << "node " << victim << "'s log has " << own.size() << " records";
    // Load removed or completed what the killed cleaning left (the node
    // may be cleaning again by now, in files of its own).
    for (const std::string& f : CleaningLeftovers(victim, killed_at)) {
      ADD_FAILURE() << "node " << victim << " still has " << f << " from before the kill";
    }
  }
  // Once the cleaners are done, no cleaning file is left anywhere.
  for (int n : cluster_.nodes()) {
    EXPECT_TRUE(Eventually([&] { return CleaningLeftovers(n).empty(); }, 60000))
        << "node " << n << " keeps cleaning files";
  }
  std::printf(
      "compaction kill test: %d rounds, %d kills part way through a cleaning (%d of them "
      "during a swap), seed %u\n",
      g_rounds, killed_mid_cleaning, killed_mid_swap, seed_);
  if (g_rounds >= 10) {
    // With the throttle most kills land inside a cleaning; none in ten
    // means the test no longer tests what it claims.
    EXPECT_GT(killed_mid_cleaning, 0);
  }
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds") strata::testing::g_rounds = std::atoi(argv[i + 1]);
    if (arg == "--seed") strata::testing::g_seed = static_cast<uint32_t>(std::atoll(argv[i + 1]));
  }
  return RUN_ALL_TESTS();
}
