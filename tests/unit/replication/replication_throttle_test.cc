// Replication throttles (KIP-73) where they act: the leader's
// ReplicaManager::ReadForFollower holding a throttled partition back from a
// follower outside the ISR, and the follower's ReplicaFetcherManager leaving
// one out of its fetches — each while its quota is exceeded, never for an
// in-sync replica. Time is a ManualClock: with the clock stopped an
// exceeded quota stays exceeded, so "held back" is checked without
// measuring any rate; moving the clock lets the partition go again.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/replication/replica_fetcher.h"
#include "broker/replication/replica_manager.h"
#include "broker/replication/replication_quota.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/replication/leader_reads.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::replication {
namespace {

namespace records = metadata::testing;

constexpr char kTopicId[] = "BBBBBBBBBBBBBBBBBBBBBB";
// Each test batch: one record padded to about this many bytes.
constexpr size_t kPadding = 500;

using testing::Eventually;

// A leader reached in process, answering as the request layer does for a
// follower (broker/request/handlers.cc): read every partition; with nothing
// read, wait until one has data or max_wait_ms passes, then read once more
// and answer whatever that gave.
class InProcessLeader final : public LeaderEndpoint {
 public:
  struct Counts {
    std::atomic<int> fetches{0};
    // Fetches that asked for partition 0.
    std::atomic<int> asked_p0{0};
  };

  InProcessLeader(ReplicaManager* leader, Counts* counts) : leader_(leader), counts_(counts) {}

  absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request) override {
    ++counts_->fetches;
    for (const FetchPartition& p : request.partitions) {
      if (p.tp.partition.value() == 0) ++counts_->asked_p0;
    }
    FetchResponse response = testing::ReadForFollower(leader_, request);
    const absl::Time deadline = absl::Now() + absl::Milliseconds(request.max_wait_ms);
    uint64_t seen = leader_->progress();
    while (testing::IsEmpty(response) && !closed_) {
      if (testing::FollowerHasData(leader_, request))
        return testing::ReadForFollower(leader_, request);
      if (absl::Now() >= deadline) break;
      seen = leader_->WaitForProgress(seen, absl::Milliseconds(5));
    }
    if (closed_) return absl::CancelledError("closed");
    return response;
  }

  absl::StatusOr<OffsetForLeaderEpochResponse> OffsetForLeaderEpoch(
      const OffsetForLeaderEpochRequest& request) override {
    return testing::EpochEnds(leader_, request);
  }

  void Close() override { closed_ = true; }

 private:
  ReplicaManager* const leader_;
  Counts* const counts_;
  std::atomic<bool> closed_{false};
};

// Broker 1 leads R-0 and R-1, broker 2 follows both, outside the ISR (a
// replica a reassignment is adding).
class ReplicationThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<internal::MetadataRecord> rs;
    for (int32_t id : {1, 2}) {
      storage::LogManager::Options options;
      options.log_dirs = {"/logs" + std::to_string(id)};
      auto logs = storage::LogManager::Open(&fs_, &clock_, options);
      ASSERT_TRUE(logs.ok()) << logs.status();
      logs_[id] = std::move(*logs);
      ReplicaManagerOptions o;
      o.broker_id = id;
      o.min_insync_replicas = [](const metadata::TopicInfo&) { return 1; };
      o.unclean_leader_election = [](const metadata::TopicInfo&) { return false; };
      o.clock = &clock_;
      rm_[id] = std::make_unique<ReplicaManager>(logs_[id].get(), o);
      rs.push_back(records::RegisterBroker(id, id, /*fenced=*/false));
    }
    rs.push_back(records::Topic("R", kTopicId));
    rs.push_back(records::Partition(kTopicId, 0, {1, 2}, {1}, 1));
    rs.push_back(records::Partition(kTopicId, 1, {1, 2}, {1}, 1));
    Apply(rs);
  }

  void Apply(const std::vector<internal::MetadataRecord>& rs) {
    auto next = image_->Apply(records::Batch(rs), image_->offset() + 2);
    ASSERT_TRUE(next.ok()) << next.status();
    image_ = *next;
    for (auto& [id, rm] : rm_) rm->OnMetadata(image_);
  }

  // `n` batches of about kPadding bytes each to R-`partition` on broker 1.
  void Produce(int32_t partition, int n) {
    for (int i = 0; i < n; ++i) {
      ProduceResult r = rm_[1]->Append(
          "R", partition, storage::testing::MakeBatch(next_id_++, 1, 1000, kPadding), 1);
      ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
    }
  }

  void StartFollower() {
    ReplicaFetcherOptions o;
    o.broker_id = 2;
    o.max_wait_ms = 50;
    o.partition_max_bytes = 2000;  // about 3 batches a fetch
    o.backoff_ms = 100;
    o.clock = &clock_;
    o.endpoint_for = [this](int32_t leader) -> std::unique_ptr<LeaderEndpoint> {
      if (leader != 1) return nullptr;
      return std::make_unique<InProcessLeader>(rm_[1].get(), &counts_);
    };
    fetcher_ = std::make_unique<ReplicaFetcherManager>(rm_[2].get(), o);
    fetcher_->Start();
  }

  FetchResult Read(int32_t partition, int64_t offset, int32_t max_bytes = 2000) {
    return rm_[1]->ReadForFollower(2, "R", partition, offset, 0, max_bytes);
  }
  int64_t LogEnd(int32_t id, int32_t partition) {
    return logs_[id]->Get(TopicPartition{"R", PartitionId(partition)})->log_end_offset().value();
  }

  storage::MemFileSystem fs_;
  ManualClock clock_{1'700'000'000'000};
  int next_id_ = 0;
  std::shared_ptr<const metadata::MetadataImage> image_ = metadata::MetadataImage::Empty("c");
  std::map<int32_t, std::unique_ptr<storage::LogManager>> logs_;
  std::map<int32_t, std::unique_ptr<ReplicaManager>> rm_;
  InProcessLeader::Counts counts_;
  // Declared last: stopped before the managers it calls.
  std::unique_ptr<ReplicaFetcherManager> fetcher_;
};

TEST_F(ReplicationThrottleTest, TheLeaderHoldsBackAThrottledFollowerOutsideTheIsr) {
  Apply({records::BrokerConfig("1", kLeaderThrottledRate, "1000"),
         records::Config("R", kLeaderThrottledReplicas, "0:1")});
  Produce(0, 10);
  Produce(1, 10);

  FetchResult first = Read(0, 0);
  ASSERT_EQ(first.error, ErrorCode::kNone) << first.message;
  ASSERT_GT(first.records.size(), 1000u) << "under the quota: a full partition's worth";
  // One record a batch: where the follower fetches next.
  const auto next = static_cast<int64_t>(storage::testing::Values(first.records).size());
  ASSERT_LT(next, 10);

  FetchResult held = Read(0, next);
  EXPECT_EQ(held.error, ErrorCode::kNone) << "held back, not failed: " << held.message;
  EXPECT_TRUE(held.records.empty()) << "over the quota: no records";
  EXPECT_EQ(held.log_end_offset, 10) << "the watermarks still come";

  FetchResult other = Read(1, 0);
  EXPECT_FALSE(other.records.empty()) << "R-1 is not in the leader's list";

  // Broker 2 joins R-0's ISR: in-sync replicas are never held back.
  Apply({records::Change(kTopicId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  EXPECT_FALSE(Read(0, next).records.empty());
  Apply({records::Change(kTopicId, 0, std::nullopt, std::vector<int32_t>{1})});
  EXPECT_TRUE(Read(0, next).records.empty()) << "out of the ISR again, and over the quota";

  // Time passes: the rate falls back under 1000 bytes/s and it goes again.
  clock_.AdvanceMs(60'000);
  EXPECT_FALSE(Read(0, next).records.empty());
}

TEST_F(ReplicationThrottleTest, HeldBackDataDoesNotEndAParkedFetchEarly) {
  Apply({records::BrokerConfig("1", kLeaderThrottledRate, "1000"),
         records::Config("R", kLeaderThrottledReplicas, "0:1")});
  Produce(0, 10);
  Produce(1, 10);
  const auto next =
      static_cast<int64_t>(storage::testing::Values(Read(0, 0).records).size());  // over quota now
  ASSERT_TRUE(Read(0, next).records.empty());
  // R-0's data is held back, so it is no reason to answer a parked fetch
  // (the in-sync partitions beside it would lose their long poll)...
  EXPECT_FALSE(rm_[1]->FollowerHasDataAt(2, "R", 0, next));
  // ...while R-1's, which no list names, is.
  EXPECT_TRUE(rm_[1]->FollowerHasDataAt(2, "R", 1, 0));
  clock_.AdvanceMs(60'000);
  EXPECT_TRUE(rm_[1]->FollowerHasDataAt(2, "R", 0, next)) << "under the quota again";
}

TEST_F(ReplicationThrottleTest, TheFollowerLeavesAThrottledPartitionOutWhileOverItsQuota) {
  Apply({records::BrokerConfig("2", kFollowerThrottledRate, "1000"),
         records::Config("R", kFollowerThrottledReplicas, "0:2")});
  Produce(0, 10);
  Produce(1, 10);
  StartFollower();

  ASSERT_TRUE(Eventually([&] { return LogEnd(2, 1) == 10; })) << "R-1 is not throttled";
  ASSERT_TRUE(Eventually([&] { return LogEnd(2, 0) > 0; })) << "the first fetch goes";
  const int64_t end = LogEnd(2, 0);
  EXPECT_LT(end, 10);
  // The clock stands still: the quota stays exceeded, so R-0 is not asked
  // for, whatever the number of rounds.
  const int asked = counts_.asked_p0.load();
  const int fetches = counts_.fetches.load();
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(LogEnd(2, 0), end);
  EXPECT_EQ(counts_.asked_p0.load(), asked) << "R-0 left out of the fetches";
  EXPECT_GT(counts_.fetches.load(), fetches) << "the fetcher went on fetching R-1";

  clock_.AdvanceMs(60'000);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2, 0) > end; })) << "under the quota again";

  // In sync: never held back, even over the quota (the clock stands still).
  Apply({records::Change(kTopicId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  EXPECT_TRUE(Eventually([&] { return LogEnd(2, 0) == 10; })) << "log end " << LogEnd(2, 0);
}

TEST_F(ReplicationThrottleTest, AFollowerHeldBackByItsLeaderPausesInsteadOfSpinning) {
  Apply({records::BrokerConfig("1", kLeaderThrottledRate, "1000"),
         records::Config("R", kLeaderThrottledReplicas, "*")});
  Produce(0, 10);
  StartFollower();
  ASSERT_TRUE(Eventually([&] { return LogEnd(2, 0) > 0; }));
  const int64_t end = LogEnd(2, 0);
  const int fetches = counts_.fetches.load();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(LogEnd(2, 0), end) << "the leader holds R-0 back";
  // The leader answers at once with nothing; the follower waits a little
  // between such rounds (50 ms) rather than asking thousands of times.
  EXPECT_LE(counts_.fetches.load() - fetches, 25);

  clock_.AdvanceMs(60'000);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2, 0) > end; }));
}

TEST_F(ReplicationThrottleTest, NoThrottleConfiguredNothingHeldBack) {
  Apply({records::Config("R", kLeaderThrottledReplicas, "*"),
         records::Config("R", kFollowerThrottledReplicas, "*")});
  Produce(0, 10);
  StartFollower();
  EXPECT_TRUE(Eventually([&] { return LogEnd(2, 0) == 10; }))
      << "lists without rates bound nothing; log end " << LogEnd(2, 0);
}

}  // namespace
}  // namespace strata::replication
