// A restarted broker must not destroy acknowledged records (issue 9,
// scenario 1): a partition leader that is not the controller is SIGKILLed,
// loses the unflushed part of its log as a power cut would, and comes back
// within broker.session.timeout.ms. Before the fix it led again at once in
// its old epoch, and both followers truncated their complete logs to its
// shorter one. Now it waits for its new registration, which moves its
// leaderships away, and catches up as a follower.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

constexpr int kRecords = 1000;

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    CliResult created = cluster_.Cli(
        {"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic", "safe",
         "--partitions", "3", "--replication-factor", "3", "--config", "min.insync.replicas=2"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    // Leaders are spread over the three brokers: take the partition led by
    // one that is not the controller (its death does not move the quorum).
    int controller = -1;
    ASSERT_TRUE(Eventually([&] { return (controller = cluster_.ControllerSeenBy(1)) > 0; }, 10000));
    ASSERT_TRUE(Eventually(
        [&] {
          for (const auto& [p, line] : cluster_.Describe("safe", 1)) {
            if (line.leader > 0 && line.leader != controller && line.isr.size() == 3) {
              partition_ = p;
              leader_ = line.leader;
              return true;
            }
          }
          return false;
        },
        15000));
    observer_ = controller;
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  // Sends kRecords values "v0".."v999" to the partition with acks=all;
  // returns how many were acknowledged.
  int ProduceAll() {
    client::ProducerConfig pc;
    pc.bootstrap_servers = cluster_.bootstrap_all();
    pc.acks = -1;
    pc.linger = absl::Milliseconds(5);
    auto producer = client::Producer::Create(pc);
    if (!producer.ok()) return 0;
    std::atomic<int> acked{0};
    for (int i = 0; i < kRecords; ++i) {
      client::ProducerRecord r;
      r.topic = "safe";
      r.partition = partition_;
      r.value = "v" + std::to_string(i);
      (*producer)->Send(std::move(r), [&acked](const absl::StatusOr<client::RecordMetadata>& md) {
        if (md.ok()) ++acked;
      });
    }
    (*producer)->Flush();
    (*producer)->Close();
    return acked.load();
  }

  bool IsrFull() {
    auto d = cluster_.Describe("safe", observer_);
    auto it = d.find(partition_);
    return it != d.end() && it->second.isr.size() == 3 && it->second.leader > 0;
  }

  // Every value of the partition, from offset 0 (bounded to 30 s).
  std::vector<std::string> ReadAll() {
    client::ConsumerConfig cc;
    cc.bootstrap_servers = cluster_.bootstrap_all();
    cc.auto_offset_reset = client::OffsetReset::kEarliest;
    auto consumer = client::Consumer::Create(cc);
    std::vector<std::string> values;
    if (!consumer.ok()) return values;
    (*consumer)->Assign({{"safe", PartitionId(partition_)}});
    if (!(*consumer)->SeekToBeginning().ok()) return values;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (values.size() < kRecords && std::chrono::steady_clock::now() < deadline) {
      auto records = (*consumer)->Poll(absl::Milliseconds(500));
      if (!records.ok()) continue;
      for (const client::ConsumerRecord& r : *records) values.push_back(r.value.value_or(""));
    }
    return values;
  }

  void ExpectEveryRecordInOrder() {
    const std::vector<std::string> values = ReadAll();
    ASSERT_EQ(values.size(), static_cast<size_t>(kRecords))
        << "acknowledged records are missing: " << cluster_.Cli({"topics", "--bootstrap-server",
                                                                 cluster_.bootstrap(observer_),
                                                                 "--describe"}).out;
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_EQ(values[i], "v" + std::to_string(i)) << "at offset " << i;
    }
  }

  StrataCluster cluster_{3};
  int partition_ = -1;
  int leader_ = -1;
  int observer_ = -1;
};

TEST_F(PowerLossTest, ALeaderRestartedWithATornTailLosesNoAcknowledgedRecord) {
  ASSERT_EQ(ProduceAll(), kRecords);
  const int64_t epoch = cluster_.BrokerEpochSeenBy(observer_, leader_);
  ASSERT_GT(epoch, 0);
  cluster_.Kill(leader_);
  // Nothing was fsynced (the recovery point is 0): a power cut may take any
  // part of the page cache. Half the active segment goes, mid-batch.
  const int64_t kept = cluster_.CutActiveSegment(leader_, "safe", partition_, 0.5);
  ASSERT_GT(kept, 0);
  // Back well within broker.session.timeout.ms (3 s here).
  cluster_.Start(leader_);
  ASSERT_TRUE(cluster_.WaitReregistered(observer_, leader_, epoch));
  ASSERT_TRUE(Eventually([&] { return IsrFull(); }, 30000))
      << "broker " << leader_ << " did not rejoin the ISR of safe-" << partition_;
  ExpectEveryRecordInOrder();
}

TEST_F(PowerLossTest, ALeaderWhosePartitionDirectoryWasMovedAsideLosesNoAcknowledgedRecord) {
  ASSERT_EQ(ProduceAll(), kRecords);
  const int64_t epoch = cluster_.BrokerEpochSeenBy(observer_, leader_);
  ASSERT_GT(epoch, 0);
  cluster_.Kill(leader_);
  // What an operator does with a corrupt partition directory.
  const std::string dir = cluster_.partition_dir(leader_, "safe", partition_);
  std::filesystem::rename(dir, cluster_.dir() + "/moved-aside");
  cluster_.Start(leader_);
  ASSERT_TRUE(cluster_.WaitReregistered(observer_, leader_, epoch));
  ASSERT_TRUE(Eventually([&] { return IsrFull(); }, 30000))
      << "broker " << leader_ << " did not rejoin the ISR of safe-" << partition_;
  ExpectEveryRecordInOrder();
}

}  // namespace
}  // namespace strata::testing
