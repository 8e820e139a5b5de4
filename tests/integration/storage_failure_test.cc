// Failing disks and damaged logs (issue 9): a full log directory takes only
// its replicas offline and their leadership moves at once; a node starts
// with a full disk; a byte flipped in one replica's flushed data is found
// (on read or by the scrub) and that replica is rebuilt from the others,
// while a damaged sole replica is left alone; a log that cannot even be
// opened after a crash takes only itself offline.
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

namespace fs = std::filesystem;

// Values "<prefix><i>" for i in [0, n), acks=all; returns how many were
// acknowledged and the first error seen (empty if none).
struct Sent {
  int acked = 0;
  int failed = 0;
  std::string first_error;
};

Sent ProduceValues(const StrataCluster& cluster, const std::string& topic, int partition,
                   const std::string& prefix, int n, size_t pad = 0) {
  client::ProducerConfig pc;
  pc.bootstrap_servers = cluster.bootstrap_all();
  pc.acks = -1;
  pc.delivery_timeout = absl::Seconds(90);
  pc.request_timeout = absl::Seconds(10);
  auto producer = client::Producer::Create(pc);
  Sent sent;
  if (!producer.ok()) {
    sent.first_error = std::string(producer.status().message());
    return sent;
  }
  std::mutex mu;
  for (int i = 0; i < n; ++i) {
    client::ProducerRecord r;
    r.topic = topic;
    r.partition = partition;
    r.value = prefix + std::to_string(i) + std::string(pad, '.');
    (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
      std::lock_guard<std::mutex> l(mu);
      if (md.ok()) {
        ++sent.acked;
      } else if (sent.failed++ == 0) {
        sent.first_error = std::string(md.status().message());
      }
    });
  }
  (*producer)->Flush();
  (*producer)->Close();
  return sent;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Every value of `topic`-`partition` from offset 0: at least `expected`,
// then until a poll finds nothing more (bounded to 60 s).
std::vector<std::string> ReadAll(const StrataCluster& cluster, const std::string& topic,
                                 int partition, size_t expected) {
  client::ConsumerConfig cc;
  cc.bootstrap_servers = cluster.bootstrap_all();
  cc.auto_offset_reset = client::OffsetReset::kEarliest;
  std::vector<std::string> values;
  auto consumer = client::Consumer::Create(cc);
  if (!consumer.ok()) return values;
  (*consumer)->Assign({{topic, PartitionId(partition)}});
  (*consumer)->SeekToBeginning().IgnoreError();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto records = (*consumer)->Poll(absl::Milliseconds(500));
    if (!records.ok()) continue;
    if (records->empty() && values.size() >= expected) break;
    for (const client::ConsumerRecord& r : *records) values.push_back(r.value.value_or(""));
  }
  return values;
}

// Whether values "<prefix><i><anything>" hold every i in [0, n) in order.
// A second copy is not counted here (the fault tests count duplicates).
::testing::AssertionResult EveryIdInOrder(const std::vector<std::string>& values,
                                          const std::string& prefix, int n) {
  int next = 0;
  for (const std::string& v : values) {
    if (!StartsWith(v, prefix)) return ::testing::AssertionFailure() << "stray value " << v;
    const int id = std::atoi(v.c_str() + prefix.size());
    if (id == next) {
      ++next;
    } else if (id > next) {
      return ::testing::AssertionFailure() << "id " << next << " is missing (found " << id << ")";
    }
  }
  if (next != n) return ::testing::AssertionFailure() << "only ids below " << next << " are there";
  return ::testing::AssertionSuccess();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The first .log file of a partition directory.
std::string FirstSegment(const std::string& dir) {
  std::string first;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && (first.empty() || e.path().string() < first)) {
      first = e.path().string();
    }
  }
  return first;
}

// Flips one byte of `path` at `offset`.
void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
}

class StorageFailureTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      cluster_->KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_->dir().c_str());
    }
    cluster_.reset();  // the processes go before their disk
    if (!mount_point_.empty()) {
      umount2(mount_point_.c_str(), MNT_DETACH);
      fs::remove(mount_point_);
    }
  }

  void Create(const std::string& topic, int partitions, int rf) {
    CliResult r = cluster_->Cli({"topics", "--bootstrap-server", cluster_->bootstrap(1), "--create",
                                 "--topic", topic, "--partitions", std::to_string(partitions),
                                 "--replication-factor", std::to_string(rf), "--config",
                                 "min.insync.replicas=" + std::to_string(rf > 1 ? 2 : 1)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  bool IsrFull(const std::string& topic, int observer, size_t rf) {
    auto d = cluster_->Describe(topic, observer);
    if (d.empty()) return false;
    for (const auto& [p, line] : d) {
      if (line.isr.size() != rf || line.leader < 0) return false;
    }
    return true;
  }

  std::unique_ptr<StrataCluster> cluster_;
  std::string mount_point_;
};

TEST_F(StorageFailureTest, AFullLogDirMovesLeadershipAwayAndTheNodeStillStarts) {
  cluster_ = std::make_unique<StrataCluster>(
      3, std::vector<std::string>{"leader.imbalance.check.interval.seconds=1"});
  // Node 3 keeps its partition logs on a 64 MiB tmpfs; its metadata log
  // stays on the ordinary disk.
  char disk[] = "/tmp/strata-small-disk-XXXXXX";
  ASSERT_NE(mkdtemp(disk), nullptr);
  if (mount("tmpfs", disk, "tmpfs", 0, "size=64m") != 0) {
    const int err = errno;
    fs::remove(disk);
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(err);
  }
  mount_point_ = disk;
  cluster_->AppendProperty(3, "log.dirs=" + mount_point_ + "/logs");
  cluster_->StartAll();
  ASSERT_TRUE(cluster_->WaitReady(3)) << "cluster not ready; logs in " << cluster_->dir();
  Create("full", 3, 3);
  ASSERT_TRUE(Eventually([&] { return IsrFull("full", 1, 3); }, 20000));
  // Leave about 2 MiB free.
  {
    std::ofstream ballast(mount_point_ + "/ballast", std::ios::binary);
    const std::string chunk(1 << 20, 'b');
    for (int i = 0; i < 62; ++i) ballast << chunk;
  }
  // 12 MiB of acks=all records per partition: node 3's disk fills early on
  // (and holds all 36 MiB once the ballast goes).
  for (int p = 0; p < 3; ++p) {
    Sent sent = ProduceValues(*cluster_, "full", p, "p" + std::to_string(p) + "-", 3000, 4000);
    EXPECT_EQ(sent.failed, 0) << "producers see only retriable errors: " << sent.first_error;
    EXPECT_EQ(sent.acked, 3000);
  }
  // Node 3 leads nothing and is in no ISR of the topic; it is still up.
  auto d = cluster_->Describe("full", 1);
  ASSERT_EQ(d.size(), 3u);
  for (const auto& [p, line] : d) {
    EXPECT_NE(line.leader, 3) << "partition " << p;
    EXPECT_EQ(std::count(line.isr.begin(), line.isr.end(), 3), 0) << "partition " << p;
  }
  EXPECT_TRUE(cluster_->running(3));
  for (int p = 0; p < 3; ++p) {
    std::vector<std::string> values = ReadAll(*cluster_, "full", p, 3000);
    EXPECT_TRUE(EveryIdInOrder(values, "p" + std::to_string(p) + "-", 3000)) << "partition " << p;
  }

  // A restart with the disk still full: the node starts and stays out.
  cluster_->Terminate(3);
  cluster_->Start(3);
  ASSERT_TRUE(cluster_->WaitReady(3, 30000)) << "node 3 did not start with a full disk";
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_FALSE(IsrFull("full", 1, 3));

  // Space freed and one more restart: it catches up and rejoins every ISR.
  fs::remove(mount_point_ + "/ballast");
  cluster_->Terminate(3);
  cluster_->Start(3);
  EXPECT_TRUE(Eventually([&] { return IsrFull("full", 1, 3); }, 60000))
      << cluster_->Cli({"topics", "--bootstrap-server", cluster_->bootstrap(1), "--describe"}).out;
}

TEST_F(StorageFailureTest, AFlippedByteIsFoundAndTheDamagedReplicasAreRebuilt) {
  cluster_ = std::make_unique<StrataCluster>(
      3, std::vector<std::string>{"leader.imbalance.check.interval.seconds=1",
                                  "log.scrub.interval.ms=200"});
  cluster_->StartAll();
  ASSERT_TRUE(cluster_->WaitReady(3));
  Create("scrubbed", 1, 3);
  Create("solo", 1, 1);
  Create("other", 1, 3);
  ASSERT_TRUE(Eventually([&] { return IsrFull("scrubbed", 1, 3); }, 20000));
  ASSERT_EQ(ProduceValues(*cluster_, "scrubbed", 0, "s", 2000).acked, 2000);
  ASSERT_EQ(ProduceValues(*cluster_, "solo", 0, "o", 200).acked, 200);
  const int solo_node = cluster_->Describe("solo", 1)[0].leader;
  ASSERT_GT(solo_node, 0);

  // Two brokers' copies of "scrubbed" each get a byte flipped, at different
  // places, while stopped cleanly (the data is flushed: only a read or the
  // scrub can find it). The third copy is whole.
  for (int node : {1, 2}) {
    cluster_->Terminate(node);
    const std::string seg = FirstSegment(cluster_->partition_dir(node, "scrubbed", 0));
    ASSERT_FALSE(seg.empty());
    const uint64_t size = fs::file_size(seg);
    FlipByte(seg, node == 1 ? size / 4 : (size * 3) / 4);
    cluster_->Start(node);
    ASSERT_TRUE(cluster_->WaitReady(3, 30000)) << "node " << node << " did not start";
    const std::string node_log = cluster_->dir() + "/node" + std::to_string(node) + ".log";
    ASSERT_TRUE(Eventually(
        [&] { return ReadFile(node_log).find("Replica scrubbed-0 repaired") != std::string::npos; },
        60000))
        << "node " << node << "'s copy was not rebuilt";
    ASSERT_TRUE(Eventually([&] { return IsrFull("scrubbed", 3, 3); }, 60000))
        << "node " << node << " did not rejoin the ISR";
  }
  // The sole copy of "solo" is damaged too: it must stay as it is.
  cluster_->Terminate(solo_node);
  const std::string solo_seg = FirstSegment(cluster_->partition_dir(solo_node, "solo", 0));
  const uint64_t solo_size = fs::file_size(solo_seg);
  FlipByte(solo_seg, solo_size / 2);
  const std::string solo_bytes = ReadFile(solo_seg);
  cluster_->Start(solo_node);
  ASSERT_TRUE(cluster_->WaitReady(3, 30000));

  // Other partitions on the same nodes serve throughout.
  EXPECT_EQ(ProduceValues(*cluster_, "other", 0, "x", 100).acked, 100);
  EXPECT_EQ(ReadAll(*cluster_, "other", 0, 100).size(), 100u);
  // A consumer reads every record of the repaired partition.
  EXPECT_TRUE(EveryIdInOrder(ReadAll(*cluster_, "scrubbed", 0, 2000), "s", 2000));
  // Let the scrub pass over the sole copy a few times: it is reported, never cut.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(ReadFile(solo_seg), solo_bytes) << "a damaged sole replica is never truncated";
  const std::string node_log =
      ReadFile(cluster_->dir() + "/node" + std::to_string(solo_node) + ".log");
  EXPECT_NE(node_log.find("Replica solo-0 is damaged"), std::string::npos);
}

TEST_F(StorageFailureTest, ALogThatCannotOpenAfterACrashTakesOnlyItselfOffline) {
  cluster_ = std::make_unique<StrataCluster>(3);
  cluster_->StartAll();
  ASSERT_TRUE(cluster_->WaitReady(3));
  Create("torn", 1, 3);
  Create("fine", 1, 3);
  ASSERT_TRUE(Eventually([&] { return IsrFull("torn", 1, 3) && IsrFull("fine", 1, 3); }, 20000));
  ASSERT_EQ(ProduceValues(*cluster_, "torn", 0, "t", 1000).acked, 1000);
  ASSERT_EQ(ProduceValues(*cluster_, "fine", 0, "f", 100).acked, 100);
  const int victim = cluster_->Describe("torn", 1)[0].leader % 3 + 1;  // a follower
  // A clean stop flushes everything (recovery point = log end), a restart
  // and more records, then a crash: the first records are below the
  // recovery point, and a flipped byte there stops the log from opening.
  cluster_->Terminate(victim);
  cluster_->Start(victim);
  ASSERT_TRUE(cluster_->WaitReady(3, 30000));
  ASSERT_TRUE(Eventually([&] { return IsrFull("torn", 1, 3); }, 30000));
  ASSERT_EQ(ProduceValues(*cluster_, "torn", 0, "u", 100).acked, 100);
  cluster_->Kill(victim);
  const std::string seg = FirstSegment(cluster_->partition_dir(victim, "torn", 0));
  FlipByte(seg, 200);
  cluster_->Start(victim);
  ASSERT_TRUE(cluster_->WaitReady(3, 30000)) << "the node must start with one damaged log";
  EXPECT_TRUE(Eventually([&] { return IsrFull("fine", 1, 3); }, 30000));
  EXPECT_TRUE(Eventually([&] { return IsrFull("torn", 1, 3); }, 60000))
      << "the damaged replica was not rebuilt";
  std::vector<std::string> values = ReadAll(*cluster_, "torn", 0, 1100);
  ASSERT_GE(values.size(), 1100u);
  EXPECT_TRUE(EveryIdInOrder({values.begin(), values.begin() + 1000}, "t", 1000));
  EXPECT_TRUE(EveryIdInOrder({values.begin() + 1000, values.end()}, "u", 100));
}

}  // namespace
}  // namespace strata::testing
