// Consumer lag as the group coordinator exports it (node_metrics.h): a real
// GroupCoordinator over an in-memory __consumer_offsets, a metadata image
// in which another broker leads the partitions, and a fake `end_offsets`
// that records what it is asked. A group that commits in transactions
// counts its lag from the last stable offset (READ_COMMITTED), a plain
// group from the high watermark, even for the same partition.
#include "broker/server/node_metrics.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/group/group_coordinator.h"
#include "broker/metadata/metadata_image.h"
#include "broker/purgatory/purgatory.h"
#include "client/common/clock.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"

namespace strata::server {
namespace {

namespace records = metadata::testing;

constexpr char kOrdersId[] = "OOOOOOOOOOOOOOOOOOOOOO";
constexpr char kStrandedId[] = "SSSSSSSSSSSSSSSSSSSSSS";
constexpr int64_t kProducerId = 4242;

// __consumer_offsets in memory: every append acknowledged at once at the
// next offsets; reads find the log empty (nothing to load at start).
class OffsetsLog {
 public:
  void Append(std::string batch, group::CoordinatorOptions::AppendDone done) {
    int64_t base;
    {
      absl::MutexLock l(&mu_);
      base = next_;
      record::SetBaseOffset(batch.data(), Offset(next_));
      absl::StatusOr<record::BatchHeader> header = record::ReadBatchHeader(batch);
      ASSERT_TRUE(header.ok()) << header.status();
      next_ = header->next_offset().value();
    }
    done(ErrorCode::kNone, "", base);
  }
  replication::FetchResult Read() {
    replication::FetchResult r;
    r.log_start_offset = 0;
    r.log_end_offset = 0;
    r.high_watermark = 0;
    return r;
  }

 private:
  absl::Mutex mu_;
  int64_t next_ = 0;
};

// What end_offsets was asked: leader, partitions, read_committed (sorted
// as tuples: asked() does not depend on which thread asked first).
using Asked = std::tuple<int32_t, NodeMetricsSources::Partitions, bool>;

class NodeMetricsLagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group::CoordinatorOptions o;
    o.broker_id = 1;
    o.offsets_topic_partitions = 1;
    o.initial_rebalance_delay_ms = 0;
    o.clock = &clock_;
    o.purgatory = &purgatory_;
    o.append = [this](int32_t, std::string batch, group::CoordinatorOptions::AppendDone done) {
      log_.Append(std::move(batch), std::move(done));
    };
    o.read = [this](int32_t, int64_t) { return log_.Read(); };
    coordinator_ = std::make_unique<group::GroupCoordinator>(o);
    coordinator_->OnBecameLeader(0, 1);
    for (int i = 0; i < 2000 && coordinator_->Loading(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_FALSE(coordinator_->Loading()) << "loading did not finish";

    // This node is 1; broker 2 leads "orders" (live), broker 3 "stranded"
    // (fenced: not asked).
    std::vector<internal::MetadataRecord> rs = {
        records::RegisterBroker(1, 1, false),
        records::RegisterBroker(2, 1, false),
        records::RegisterBroker(3, 1, true),
        records::Topic("orders", kOrdersId),
        records::Partition(kOrdersId, 0, {2}, {2}, 2),
        records::Partition(kOrdersId, 1, {2}, {2}, 2),
        records::Topic("stranded", kStrandedId),
        records::Partition(kStrandedId, 0, {3}, {3}, 3),
    };
    auto image = metadata::MetadataImage::Empty("cluster")->Apply(records::Batch(rs), 1);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;

    sources_.node_id = 1;
    sources_.image = [this] { return image_; };
    sources_.groups = coordinator_.get();
    // Broker 2's answers: high watermark 100 (orders-0) and 50 (orders-1);
    // last stable offset 80 and 40 (open transactions before them).
    sources_.end_offsets = [this](int32_t leader, const NodeMetricsSources::Partitions& partitions,
                                  bool read_committed) {
      {
        absl::MutexLock l(&mu_);
        asked_.emplace_back(leader, partitions, read_committed);
      }
      std::map<std::pair<std::string, int32_t>, int64_t> out;
      for (const auto& tp : partitions) {
        if (leader != 2 || tp.first != "orders") continue;
        const int64_t hw = tp.second == 0 ? 100 : 50;
        out[tp] = read_committed ? hw - 20 : hw;
      }
      return out;
    };
  }

  void Commit(const std::string& group, const std::string& topic, int32_t partition,
              int64_t offset) {
    group::OffsetCommitRequest r;
    r.group_id = group;
    r.offsets = {group::CommittedOffset{{topic, partition}, offset, 0, ""}};
    bool answered = false;
    coordinator_->OffsetCommit(std::move(r), [&](group::OffsetCommitResponse resp) {
      answered = true;
      ASSERT_EQ(resp.partitions.size(), 1u);
      EXPECT_EQ(resp.partitions[0].result.error, ErrorCode::kNone);
    });
    ASSERT_TRUE(answered) << "OffsetCommit parked";
  }

  // TxnOffsetCommit, then (unless not `completed`) the transaction's
  // commit marker written.
  void TxnCommit(const std::string& group, const std::string& topic, int32_t partition,
                 int64_t offset, bool completed = true) {
    group::TxnOffsetCommitRequest r;
    r.transactional_id = "copier";
    r.group_id = group;
    r.producer_id = kProducerId;
    r.producer_epoch = 3;
    r.offsets = {group::CommittedOffset{{topic, partition}, offset, 0, ""}};
    bool answered = false;
    coordinator_->TxnOffsetCommit(std::move(r), [&](group::OffsetCommitResponse resp) {
      answered = true;
      ASSERT_EQ(resp.partitions.size(), 1u);
      EXPECT_EQ(resp.partitions[0].result.error, ErrorCode::kNone);
    });
    ASSERT_TRUE(answered) << "TxnOffsetCommit parked";
    if (completed) coordinator_->OnTxnCompleted(0, kProducerId, /*committed=*/true);
  }

  std::vector<Asked> asked() {
    absl::MutexLock l(&mu_);
    std::vector<Asked> out = asked_;
    std::sort(out.begin(), out.end());
    return out;
  }

  ManualClock clock_;
  OffsetsLog log_;
  purgatory::Purgatory purgatory_{&clock_, "node-metrics-test", [] {
                                    purgatory::Purgatory::Options o;
                                    o.start_reaper = false;
                                    return o;
                                  }()};
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  NodeMetricsSources sources_;
  absl::Mutex mu_;
  std::vector<Asked> asked_;
};

const GroupPartitionOffsets* Find(const std::vector<GroupSnapshot>& groups,
                                  const std::string& group, const std::string& topic,
                                  int32_t partition) {
  for (const GroupSnapshot& g : groups) {
    if (g.group != group) continue;
    for (const GroupPartitionOffsets& o : g.offsets) {
      if (o.topic == topic && o.partition == partition) return &o;
    }
  }
  return nullptr;
}

TEST_F(NodeMetricsLagTest, ATransactionalGroupsLagCountsFromTheLastStableOffset) {
  // orders-0: a plain group at 10 and a transactional one at 30; orders-1:
  // the plain group only; stranded-0 (its leader fenced): the plain group.
  Commit("plain", "orders", 0, 10);
  Commit("plain", "orders", 1, 5);
  Commit("plain", "stranded", 0, 1);
  TxnCommit("txn", "orders", 0, 30);

  const std::vector<GroupSnapshot> groups = SnapshotGroups(sources_);
  ASSERT_EQ(groups.size(), 2u);
  const GroupPartitionOffsets* plain = Find(groups, "plain", "orders", 0);
  const GroupPartitionOffsets* txn = Find(groups, "txn", "orders", 0);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(txn, nullptr);
  EXPECT_FALSE(plain->read_committed);
  EXPECT_EQ(plain->committed, 10);
  EXPECT_EQ(plain->end_offset, 100) << "the high watermark";
  EXPECT_TRUE(txn->read_committed);
  EXPECT_EQ(txn->committed, 30);
  EXPECT_EQ(txn->end_offset, 80) << "the last stable offset";
  const GroupPartitionOffsets* plain1 = Find(groups, "plain", "orders", 1);
  ASSERT_NE(plain1, nullptr);
  EXPECT_EQ(plain1->end_offset, 50);
  const GroupPartitionOffsets* stranded = Find(groups, "plain", "stranded", 0);
  ASSERT_NE(stranded, nullptr);
  EXPECT_EQ(stranded->end_offset, -1) << "a fenced leader is not asked, nor guessed";

  // Broker 2 asked once per isolation level: READ_COMMITTED only for the
  // partition the transactional group committed.
  using P = NodeMetricsSources::Partitions;
  EXPECT_EQ(asked(), (std::vector<Asked>{
                         Asked{2, P{{"orders", 0}}, true},
                         Asked{2, P{{"orders", 0}, {"orders", 1}}, false},
                     }));

  // The gauges: 100 - 10 for the plain group, 80 - 30 for the
  // transactional one; none for the partition whose leader was not asked.
  metrics::Metrics m;
  RegisterNodeCollectors(m, sources_);
  const std::string scraped = m.Scrape();
  auto lag = [&](const std::string& group, const std::string& topic, int partition) -> std::string {
    const std::regex line("strata_consumer_group_lag\\{([^}]*)\\} ([0-9.e+-]+)\n");
    for (std::sregex_iterator it(scraped.begin(), scraped.end(), line), end; it != end; ++it) {
      const std::string labels = (*it)[1];
      if (labels.find("group=\"" + group + "\"") != std::string::npos &&
          labels.find("topic=\"" + topic + "\"") != std::string::npos &&
          labels.find("partition=\"" + std::to_string(partition) + "\"") != std::string::npos) {
        return (*it)[2];
      }
    }
    return "none";
  };
  EXPECT_EQ(lag("plain", "orders", 0), "90") << scraped;
  EXPECT_EQ(lag("txn", "orders", 0), "50") << scraped;
  EXPECT_EQ(lag("plain", "orders", 1), "45") << scraped;
  EXPECT_EQ(lag("plain", "stranded", 0), "none") << scraped;
}

// Before its marker, a transaction's offset is pending: the group's
// committed offset is its last plain one, read as a plain group's.
TEST_F(NodeMetricsLagTest, APendingTransactionsOffsetLeavesThePlainOneReadAtTheHighWatermark) {
  Commit("txn", "orders", 0, 10);
  TxnCommit("txn", "orders", 0, 30, /*completed=*/false);
  const std::vector<GroupSnapshot> groups = SnapshotGroups(sources_);
  const GroupPartitionOffsets* o = Find(groups, "txn", "orders", 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->committed, 10);
  EXPECT_FALSE(o->read_committed);
  EXPECT_EQ(o->end_offset, 100);
  using P = NodeMetricsSources::Partitions;
  EXPECT_EQ(asked(), (std::vector<Asked>{Asked{2, P{{"orders", 0}}, false}}));
}

}  // namespace
}  // namespace strata::server
