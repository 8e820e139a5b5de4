// Partition on its own: the leader's high watermark, ISR proposals and
// acks=all, driven by follower fetches and a ManualClock.
#include "broker/replication/partition.h"

#include <memory>
#include <vector>

#include "broker/storage/log_manager.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::replication {
namespace {

constexpr char kTopicId[] = "BBBBBBBBBBBBBBBBBBBBBB";
const TopicPartition kTp{"R", PartitionId(0)};

std::string Batch(int n) { return storage::testing::MakeBatch(0, n); }

metadata::PartitionInfo Info(int32_t leader, int32_t leader_epoch, std::vector<int32_t> isr,
                             int32_t partition_epoch = 0) {
  metadata::PartitionInfo p;
  p.partition = 0;
  p.replicas = {1, 2, 3};
  p.isr = std::move(isr);
  p.leader = leader;
  p.leader_epoch = leader_epoch;
  p.partition_epoch = partition_epoch;
  p.had_leader = leader >= 0;
  return p;
}

// Broker 1's replica of R-0, with replicas 1, 2 and 3.
class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::LogManager::Options options;
    options.log_dirs = {"/logs"};
    auto logs = storage::LogManager::Open(&fs_, &clock_, options);
    ASSERT_TRUE(logs.ok()) << logs.status();
    logs_ = std::move(*logs);
    auto log = logs_->GetOrCreate(kTp, kTopicId);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *log;
    PartitionOptions o;
    o.local_broker = BrokerId(1);
    o.replica_lag_time_max_ms = 10000;
    o.alter_partition = [this](IsrChange c) { proposals_.push_back(std::move(c)); };
    o.clock = &clock_;
    partition_ = std::make_unique<Partition>(kTp, o);
  }

  Partition::RoleChange Lead(std::vector<int32_t> isr, int32_t min_isr = 1,
                             int32_t partition_epoch = 0) {
    return partition_->MakeLeaderOrFollower(log_, kTopicId,
                                            Info(1, 0, std::move(isr), partition_epoch), min_isr,
                                            /*unclean_allowed=*/false);
  }

  int64_t Append(int records, int32_t acks = 1) {
    bool appended = false;
    ProduceResult r = partition_->AppendRecordsToLeader(Batch(records), acks, &appended);
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.message;
    EXPECT_TRUE(appended);
    return r.required_offset;
  }

  // Follower `id` fetches at `offset` in epoch 0; whether the HW moved.
  bool Fetch(int32_t id, int64_t offset) {
    Partition::FollowerFetch f = partition_->UpdateFollowerFetchState(BrokerId(id), Offset(offset),
                                                                      Epoch(0), nullptr, Offset(0));
    EXPECT_EQ(f.result.error, ErrorCode::kNone) << f.result.message;
    return f.high_watermark_moved;
  }

  int64_t Hw() const { return log_->high_watermark().value(); }

  storage::MemFileSystem fs_;
  ManualClock clock_;
  std::unique_ptr<storage::LogManager> logs_;
  std::shared_ptr<storage::Log> log_;
  std::unique_ptr<Partition> partition_;
  std::vector<IsrChange> proposals_;
};

TEST_F(PartitionTest, TheHighWatermarkIsTheSmallestLogEndInTheIsrAndNeverFalls) {
  Partition::RoleChange role = Lead({1, 2, 3});
  EXPECT_TRUE(role.new_term);
  EXPECT_TRUE(role.is_leader);
  EXPECT_EQ(role.leader_epoch, Epoch(0));
  Append(10);
  EXPECT_FALSE(Fetch(2, 10));
  EXPECT_EQ(Hw(), 0) << "broker 3, in the ISR, was not heard from";
  EXPECT_TRUE(Fetch(3, 4));
  EXPECT_EQ(Hw(), 4) << "the smallest log end in the ISR: broker 3's";
  EXPECT_TRUE(Fetch(3, 10));
  EXPECT_EQ(Hw(), 10);
  // A fetch from further back (a follower that truncated) moves its log end
  // down, never the high watermark: those records were acknowledged.
  EXPECT_FALSE(Fetch(3, 6));
  EXPECT_EQ(Hw(), 10);
  Append(2);
  EXPECT_FALSE(Fetch(2, 12));
  EXPECT_EQ(Hw(), 10);
  EXPECT_TRUE(Fetch(3, 12));
  EXPECT_EQ(Hw(), 12);
}

TEST_F(PartitionTest, APendingIsrChangeCountsTheMaximalIsr) {
  Lead({1, 2});
  Append(5);
  Fetch(2, 5);
  ASSERT_EQ(Hw(), 5);
  Append(5);
  // Broker 3 reaches the high watermark: asked to join.
  Fetch(3, 5);
  ASSERT_EQ(proposals_.size(), 1u);
  EXPECT_EQ(proposals_[0].new_isr, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(proposals_[0].leader_epoch, 0);
  // Until the controller answers, broker 3 may already be in the ISR: the
  // high watermark must not pass it.
  EXPECT_FALSE(Fetch(2, 10));
  EXPECT_EQ(Hw(), 5);
  EXPECT_TRUE(Fetch(3, 10));
  EXPECT_EQ(Hw(), 10);
  EXPECT_EQ(proposals_.size(), 1u) << "one request at a time";
  IsrChangeResult ok;
  ok.leader_epoch = 0;
  ok.partition_epoch = 1;
  ok.isr = {1, 2, 3};
  int size_change = 7;
  EXPECT_TRUE(partition_->OnIsrChangeResult(proposals_[0], ok, &size_change));
  EXPECT_EQ(size_change, 1) << "an expansion, counted once";
  EXPECT_FALSE(partition_->OnIsrChangeResult(proposals_[0], ok, &size_change))
      << "already settled";
  EXPECT_EQ(size_change, 0) << "a resent answer changes nothing";
}

TEST_F(PartitionTest, AcksAllIsAckedOnceTheHighWatermarkPassesTheBatch) {
  Lead({1, 2}, /*min_isr=*/2);
  const int64_t required = Append(3, /*acks=*/-1);
  EXPECT_EQ(required, 3);
  EXPECT_FALSE(partition_->CheckAcked(Offset(required), Epoch(0)).has_value());
  Fetch(2, 2);
  EXPECT_FALSE(partition_->CheckAcked(Offset(required), Epoch(0)).has_value())
      << "the high watermark (2) is below the batch's end";
  Fetch(2, 3);
  std::optional<ProduceResult> acked = partition_->CheckAcked(Offset(required), Epoch(0));
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->error, ErrorCode::kNone) << acked->message;
  // Asked about another leader epoch: that term's writes are not this one's.
  acked = partition_->CheckAcked(Offset(required), Epoch(1));
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->error, ErrorCode::kNotLeaderOrFollower);
  // Below min.insync.replicas, acks=all is refused before the append.
  Lead({1, 2}, /*min_isr=*/3);
  bool appended = true;
  ProduceResult refused = partition_->AppendRecordsToLeader(Batch(1), -1, &appended);
  EXPECT_EQ(refused.error, ErrorCode::kNotEnoughReplicas);
  EXPECT_FALSE(appended);
}

TEST_F(PartitionTest, AFollowerThatLagsForTheLagTimeIsProposedForRemoval) {
  Lead({1, 2, 3});
  Append(4);
  Fetch(2, 4);
  Fetch(3, 4);
  ASSERT_EQ(Hw(), 4);
  Append(4);
  // Broker 2 keeps up; broker 3 stops fetching.
  clock_.AdvanceMs(6000);
  Fetch(2, 8);
  partition_->MaybeShrinkIsr();
  EXPECT_TRUE(proposals_.empty()) << "within replica.lag.time.max.ms";
  clock_.AdvanceMs(5000);
  Fetch(2, 8);
  partition_->MaybeShrinkIsr();
  ASSERT_EQ(proposals_.size(), 1u);
  EXPECT_EQ(proposals_[0].new_isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(proposals_[0].partition_epoch, 0);
  EXPECT_EQ(Hw(), 4) << "until the controller agrees, broker 3 still holds it back";
  partition_->MaybeShrinkIsr();
  EXPECT_EQ(proposals_.size(), 1u) << "one request at a time";
  IsrChangeResult ok;
  ok.leader_epoch = 0;
  ok.partition_epoch = 1;
  ok.isr = {1, 2};
  int size_change = 0;
  EXPECT_TRUE(partition_->OnIsrChangeResult(proposals_[0], ok, &size_change));
  EXPECT_EQ(size_change, -1) << "a shrink";
  EXPECT_EQ(Hw(), 8);
}

TEST_F(PartitionTest, ADetachedPartitionNeitherLeadsNorFollows) {
  Lead({1});
  Append(1);
  EXPECT_EQ(partition_->Detach(), std::optional<Epoch>(Epoch(0)));
  EXPECT_FALSE(partition_->IsLeader());
  bool appended = true;
  EXPECT_EQ(partition_->AppendRecordsToLeader(Batch(1), 1, &appended).error,
            ErrorCode::kNotLeaderOrFollower);
  EXPECT_FALSE(appended);
  EXPECT_FALSE(partition_->FollowedFrom(BrokerId(2)).has_value());
  EXPECT_EQ(partition_->Detach(), std::nullopt) << "it led nothing since";
}

// An idempotent producer's retry of a batch the leader wrote (its answer
// lost): the original's offsets, nothing appended, and acks=all still waits
// for the original to reach every in-sync replica.
TEST_F(PartitionTest, ARetriedIdempotentBatchGetsTheOriginalOffsetsAndWaitsForThem) {
  Lead({1, 2, 3});
  auto idempotent = [](int first_seq, int n) {
    record::RecordBatchBuilder b;
    b.set_producer(4000, 0, first_seq);
    for (int i = 0; i < n; ++i) {
      record::Record r;
      r.value = "v" + std::to_string(first_seq + i);
      r.timestamp = 1000;
      b.Append(r);
    }
    return b.Build();
  };
  Append(2);  // another producer's records first: offsets 0-1
  bool appended = false;
  ProduceResult first = partition_->AppendRecordsToLeader(idempotent(0, 3), -1, &appended);
  ASSERT_EQ(first.error, ErrorCode::kNone) << first.message;
  EXPECT_TRUE(appended);
  EXPECT_EQ(first.base_offset, 2);
  EXPECT_EQ(first.required_offset, 5);

  appended = false;
  ProduceResult retry = partition_->AppendRecordsToLeader(idempotent(0, 3), -1, &appended);
  ASSERT_EQ(retry.error, ErrorCode::kNone) << retry.message;
  EXPECT_FALSE(appended) << "a duplicate moves no log end";
  EXPECT_EQ(retry.base_offset, 2);
  EXPECT_EQ(retry.required_offset, 5);
  EXPECT_EQ(log_->log_end_offset().value(), 5);
  EXPECT_FALSE(partition_->CheckAcked(Offset(retry.required_offset), Epoch(0)).has_value())
      << "the original is not replicated yet: the retry waits as it did";
  Fetch(2, 5);
  Fetch(3, 5);
  std::optional<ProduceResult> acked =
      partition_->CheckAcked(Offset(retry.required_offset), Epoch(0));
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->error, ErrorCode::kNone);

  // A gap in the sequence is refused with Kafka's code, nothing written.
  ProduceResult gap = partition_->AppendRecordsToLeader(idempotent(7, 1), 1, &appended);
  EXPECT_EQ(gap.error, ErrorCode::kOutOfOrderSequenceNumber) << gap.message;
  EXPECT_EQ(log_->log_end_offset().value(), 5);
}

// On a LogAppendTime topic the retry's answer carries the original
// batch's append time, not a new one and not -1.
TEST_F(PartitionTest, ARetriedBatchOfALogAppendTimeTopicIsAnsweredWithTheOriginalAppendTime) {
  storage::LogConfig config = log_->config();
  config.message_timestamp_type = record::TimestampType::kLogAppendTime;
  log_->UpdateConfig(config);
  Lead({1});
  auto batch = [] {
    record::RecordBatchBuilder b;
    b.set_producer(4001, 0, 0);
    record::Record r;
    r.value = "v";
    r.timestamp = 1000;
    b.Append(r);
    return b.Build();
  };
  const int64_t appended_at = clock_.NowMs();
  bool appended = false;
  ProduceResult first = partition_->AppendRecordsToLeader(batch(), -1, &appended);
  ASSERT_EQ(first.error, ErrorCode::kNone) << first.message;
  EXPECT_EQ(first.log_append_time_ms, appended_at);
  clock_.AdvanceMs(5000);
  ProduceResult retry = partition_->AppendRecordsToLeader(batch(), -1, &appended);
  ASSERT_EQ(retry.error, ErrorCode::kNone) << retry.message;
  EXPECT_EQ(retry.base_offset, first.base_offset);
  EXPECT_EQ(retry.log_append_time_ms, appended_at);
}

}  // namespace
}  // namespace strata::replication
