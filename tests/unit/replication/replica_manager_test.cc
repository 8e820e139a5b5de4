#include "broker/replication/replica_manager.h"

#include <algorithm>
#include <map>

#include "broker/storage/mem_file_system.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::replication {
namespace {

namespace records = metadata::testing;

constexpr char kOldId[] = "AAAAAAAAAAAAAAAAAAAAAA";
constexpr char kNewId[] = "BBBBBBBBBBBBBBBBBBBBBB";

std::string Batch(int n) { return storage::testing::MakeBatch(0, n); }

class ReplicaManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<storage::LogManager> OpenLogs() {
    storage::LogManager::Options options;
    options.log_dirs = {"/logs"};
    auto m = storage::LogManager::Open(&fs_, &clock_, options);
    EXPECT_TRUE(m.ok()) << m.status();
    return std::move(*m);
  }

  // The images of a metadata log in which topic T was created (old id),
  // deleted, and created again (new id), all led by broker 1.
  std::vector<std::shared_ptr<const metadata::MetadataImage>> History() {
    std::vector<std::shared_ptr<const metadata::MetadataImage>> images;
    auto image = metadata::MetadataImage::Empty("c");
    auto apply = [&](std::vector<internal::MetadataRecord> rs) {
      int64_t offset = image->offset() + 1;
      auto next = image->Apply(records::Batch(rs), offset < 1 ? 1 : offset);
      EXPECT_TRUE(next.ok()) << next.status();
      image = *next;
      images.push_back(image);
    };
    apply({records::RegisterBroker(1, 1, /*fenced=*/false)});
    apply({records::Topic("T", kOldId), records::Partition(kOldId, 0, {1}, {1}, 1)});
    internal::MetadataRecord remove;
    remove.mutable_remove_topic()->set_topic_id(kOldId);
    apply({remove});
    apply({records::Topic("T", kNewId), records::Partition(kNewId, 0, {1}, {1}, 1)});
    return images;
  }

  ReplicaManagerOptions Options(int32_t broker_id) {
    ReplicaManagerOptions o;
    o.broker_id = broker_id;
    o.min_insync_replicas = [](const metadata::TopicInfo&) { return 1; };
    o.clock = &clock_;
    return o;
  }

  storage::MemFileSystem fs_;
  ManualClock clock_;
};

TEST_F(ReplicaManagerTest, ReplayingDeleteAndRecreateKeepsTheNewTopicsData) {
  auto history = History();
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    for (auto& image : history) rm.OnMetadata(image);  // as it happened
    ProduceResult r = rm.Append("T", 0, Batch(5), 1);
    ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
    ASSERT_TRUE(logs->Close().ok());
  }
  // Restart: the metadata log replays from the start, through the old
  // topic and its deletion, before it reaches the new topic.
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.SetCaughtUpOffset(history.back()->offset());
  for (auto& image : history) rm.OnMetadata(image);
  FetchResult f = rm.Read("T", 0, 0, 1 << 20);
  ASSERT_EQ(f.error, ErrorCode::kNone) << f.message;
  EXPECT_EQ(f.high_watermark, 5) << "the new topic's records survived the replay";
}

TEST_F(ReplicaManagerTest, ACaughtUpImageReplacesALogLeftByAnEarlierTopic) {
  auto history = History();
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    rm.OnMetadata(history[1]);  // the old topic only
    ASSERT_EQ(rm.Append("T", 0, Batch(3), 1).error, ErrorCode::kNone);
    ASSERT_TRUE(logs->Close().ok());
  }
  // This node missed the deletion (say it caught up by snapshot): the image
  // it now holds, caught up, names only the new topic.
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.SetCaughtUpOffset(history.back()->offset());
  rm.OnMetadata(history.back());
  FetchResult f = rm.Read("T", 0, 0, 1 << 20);
  ASSERT_EQ(f.error, ErrorCode::kNone) << f.message;
  EXPECT_EQ(f.high_watermark, 0) << "the old topic's records must not show in the new one";
  EXPECT_EQ(logs->TopicIdOf(TopicPartition{"T", PartitionId(0)}), kNewId);
}

TEST_F(ReplicaManagerTest, AStrayLogGoesOnlyOnceThisRegistrationIsUnfencedInACaughtUpImage) {
  const TopicPartition tp{"T", PartitionId(0)};
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    auto image = History()[1];
    image = *image->Apply(
        records::Batch({records::Topic("K", kNewId), records::Partition(kNewId, 0, {1}, {1}, 1)}),
        image->offset() + 1);
    rm.OnMetadata(image);
    ASSERT_EQ(rm.Append("T", 0, Batch(3), 1).error, ErrorCode::kNone);
    ASSERT_EQ(rm.Append("K", 0, Batch(4), 1).error, ErrorCode::kNone);
    ASSERT_TRUE(logs->Close().ok());
  }
  // The replica of T moved to broker 2 while broker 1 was down and never saw
  // it leave (its own metadata already said so when it started); K stays.
  auto image_with = [](bool fenced, const std::string& incarnation, int64_t offset) {
    auto image = metadata::MetadataImage::Empty("c");
    auto next = image->Apply(
        records::Batch({records::RegisterBroker(1, 1, fenced, incarnation),
                        records::RegisterBroker(2, 1, /*fenced=*/false),
                        records::Topic("T", kOldId), records::Partition(kOldId, 0, {2}, {2}, 2),
                        records::Topic("K", kNewId), records::Partition(kNewId, 0, {1}, {1}, 1)}),
        offset);
    EXPECT_TRUE(next.ok()) << next.status();
    return *next;
  };
  auto logs = OpenLogs();
  ReplicaManagerOptions options = Options(1);
  options.incarnation_id = "now1";
  ReplicaManager rm(logs.get(), options);
  rm.SetCaughtUpOffset(10);
  rm.OnMetadata(image_with(/*fenced=*/false, "now", 5));
  EXPECT_NE(logs->Get(tp), nullptr) << "an image short of the start's commit proves nothing";
  rm.OnMetadata(image_with(/*fenced=*/true, "now", 10));
  EXPECT_NE(logs->Get(tp), nullptr) << "not unfenced yet: not known to be caught up";
  rm.OnMetadata(image_with(/*fenced=*/false, "then", 11));
  EXPECT_NE(logs->Get(tp), nullptr) << "an earlier process's registration proves nothing";
  rm.OnMetadata(image_with(/*fenced=*/false, "now", 12));
  EXPECT_EQ(logs->Get(tp), nullptr) << "the stray log is deleted";
  std::shared_ptr<storage::Log> kept = logs->Get(TopicPartition{"K", PartitionId(0)});
  ASSERT_NE(kept, nullptr) << "a log still placed here stays";
  EXPECT_EQ(kept->log_end_offset().value(), 4);
}

TEST_F(ReplicaManagerTest, ABadBatchInARequestAppendsNothing) {
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.OnMetadata(History()[1]);
  std::string bad = Batch(2);
  bad.back() ^= 0x01;  // CRC mismatch
  ProduceResult r = rm.Append("T", 0, Batch(3) + bad, 1);
  EXPECT_NE(r.error, ErrorCode::kNone);
  EXPECT_EQ(rm.Read("T", 0, 0, 1 << 20).high_watermark, 0);
}

// `batch` with its base offset set to `base` (outside the CRC, as a
// leader's copy to a follower carries it).
std::string AtOffset(std::string batch, int64_t base) {
  for (int i = 0; i < 8; ++i)
    batch[i] = static_cast<char>((static_cast<uint64_t>(base) >> (56 - 8 * i)) & 0xFF);
  return batch;
}

// The checked read's offset rule. A log that never skipped offsets must
// run on batch to batch: a base offset moved forward (a flipped bit outside
// the CRC) is damage. A log that skips offsets (a compacted leader's copy)
// may move forward, never back.
TEST_F(ReplicaManagerTest, AForwardGapIsDamageOnlyInALogThatNeverSkipsOffsets) {
  const std::string path = "/logs/T-0/00000000000000000000.log";
  const std::string a = Batch(3);
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    rm.OnMetadata(History()[1]);
    for (int i = 0; i < 3; ++i) {
      ProduceResult r = rm.Append("T", 0, Batch(3), 1);
      ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
    }
    EXPECT_EQ(storage::testing::Values(rm.Read("T", 0, 0, 1 << 20).records).size(), 9u);
    // The second batch's base offset 3 becomes 4.
    fs_.CorruptByte(path, a.size() + 7, 3 ^ 4);
    FetchResult read = rm.Read("T", 0, 0, 1 << 20);
    EXPECT_EQ(storage::testing::Values(read.records).size(), 3u) << "served past the damage";
    EXPECT_EQ(rm.Read("T", 0, 3, 1 << 20).error, ErrorCode::kKafkaStorageError);
  }
  fs_.DeleteDirRecursively("/logs").IgnoreError();
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    rm.OnMetadata(History()[1]);
    auto log = logs->Get({"T", PartitionId(0)});
    ASSERT_NE(log, nullptr);
    // As a follower of a compacted leader copies it: offsets 3..9 went.
    ASSERT_TRUE(log->AppendAsFollower(a + AtOffset(Batch(3), 10)).ok());
    EXPECT_TRUE(log->may_have_gaps());
    log->MaybeIncrementHighWatermark(log->log_end_offset());
    FetchResult read = rm.Read("T", 0, 0, 1 << 20);
    ASSERT_EQ(read.error, ErrorCode::kNone) << read.message;
    EXPECT_EQ(storage::testing::Values(read.records).size(), 6u) << "a gap taken for damage";
    // The second batch's base offset 10 becomes 2: below where the first
    // ended, which no log may do.
    fs_.CorruptByte(path, a.size() + 7, 10 ^ 2);
    read = rm.Read("T", 0, 0, 1 << 20);
    EXPECT_EQ(storage::testing::Values(read.records).size(), 3u) << "served past the damage";
    EXPECT_EQ(rm.Read("T", 0, 10, 1 << 20).error, ErrorCode::kKafkaStorageError);
  }
}

// --- Replication: the leader's view of its followers, and a follower's log ---

// Three brokers, topic R (id kNewId) partition 0 with replicas 1,2,3, led by
// broker 1 with ISR `isr`; every broker has a ReplicaManager and its own
// directory, and tests move data between them as the fetcher would.
class ReplicaManagerReplicationTest : public ReplicaManagerTest {
 protected:
  void SetUp() override {
    for (int32_t id : {1, 2, 3}) {
      storage::LogManager::Options options;
      options.log_dirs = {"/logs" + std::to_string(id)};
      auto m = storage::LogManager::Open(&fs_, &clock_, options);
      ASSERT_TRUE(m.ok()) << m.status();
      logs_[id] = std::move(*m);
      ReplicaManagerOptions o = Options(id);
      o.replica_lag_time_max_ms = 10000;
      o.min_insync_replicas = [this](const metadata::TopicInfo&) { return min_isr_; };
      o.unclean_leader_election = [this](const metadata::TopicInfo&) { return unclean_; };
      o.alter_partition = [this, id](IsrChange c) { proposals_[id].push_back(std::move(c)); };
      o.on_partition_change = [this, id](const TopicPartition& tp) {
        // Called with no lock held: calling back in must not deadlock.
        rm_[id]->HasDataAt(tp.topic, tp.partition.value(), 0);
        rm_[id]->progress();
        changes_[id].push_back(tp);
      };
      rm_[id] = std::make_unique<ReplicaManager>(logs_[id].get(), o);
    }
    image_ = metadata::MetadataImage::Empty("c");
    Apply({records::RegisterBroker(1, 1, false), records::RegisterBroker(2, 2, false),
           records::RegisterBroker(3, 3, false), records::Topic("R", kNewId),
           records::Partition(kNewId, 0, {1, 2, 3}, {1, 2, 3}, 1)});
  }

  void Apply(std::vector<internal::MetadataRecord> rs) {
    auto next = image_->Apply(records::Batch(rs), image_->offset() + 2);
    ASSERT_TRUE(next.ok()) << next.status();
    image_ = *next;
    for (auto& [id, rm] : rm_) rm->OnMetadata(image_);
  }

  // One round of follower `id`'s fetcher with leader `leader`: truncation
  // first when the epoch is new, then a fetch from its log end.
  int64_t Fetch(int32_t id, int32_t leader = 1) {
    const TopicPartition tp{"R", PartitionId(0)};
    const metadata::PartitionInfo* p = image_->FindPartition("R", 0);
    for (const FollowedPartition& f : rm_[id]->FollowedFrom(leader)) {
      if (!f.needs_truncation) continue;
      EpochEndResult answer;
      answer.log_end_offset = f.log_end_offset;
      if (f.latest_epoch >= 0) {
        answer = rm_[leader]->EndOffsetForEpoch("R", 0, f.leader_epoch, f.latest_epoch);
      }
      EXPECT_TRUE(rm_[id]->ApplyEpochEnd(tp, f.leader_epoch, f.latest_epoch, answer).ok());
    }
    const int64_t offset = logs_[id]->Get(tp)->log_end_offset().value();
    FetchResult r = rm_[leader]->ReadForFollower(id, "R", 0, offset, p->leader_epoch, 1 << 20);
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.message;
    EXPECT_TRUE(
        rm_[id]->AppendFetched(tp, p->leader_epoch, offset, r.records, r.high_watermark).ok());
    return logs_[id]->Get(tp)->log_end_offset().value();
  }

  int64_t Hw(int32_t id) {
    return logs_[id]->Get(TopicPartition{"R", PartitionId(0)})->high_watermark().value();
  }

  int32_t min_isr_ = 1;
  bool unclean_ = false;
  std::map<int32_t, std::unique_ptr<storage::LogManager>> logs_;
  std::map<int32_t, std::unique_ptr<ReplicaManager>> rm_;
  std::map<int32_t, std::vector<IsrChange>> proposals_;
  std::map<int32_t, std::vector<TopicPartition>> changes_;
  std::shared_ptr<const metadata::MetadataImage> image_;
};

TEST_F(ReplicaManagerReplicationTest, TheHighWatermarkIsTheSmallestLogEndInTheIsr) {
  ProduceResult p = rm_[1]->Append("R", 0, Batch(10), -1);
  ASSERT_EQ(p.error, ErrorCode::kNone) << p.message;
  EXPECT_EQ(p.required_offset, 10);
  EXPECT_EQ(Hw(1), 0) << "no follower has been heard from";
  EXPECT_FALSE(rm_[1]->CheckAcked("R", 0, 10, p.leader_epoch).has_value());
  EXPECT_EQ(rm_[1]->Read("R", 0, 0, 1 << 20).records, "") << "consumers see nothing above it";
  EXPECT_EQ(Fetch(2), 10);
  EXPECT_EQ(Fetch(3), 10);
  EXPECT_EQ(Hw(1), 0) << "the followers' fetches at 0 said nothing about 10";
  Fetch(2);
  EXPECT_EQ(Hw(1), 0) << "broker 3 is in the ISR and may not have offset 9";
  EXPECT_FALSE(rm_[1]->CheckAcked("R", 0, 10, p.leader_epoch).has_value());
  Fetch(3);
  EXPECT_EQ(Hw(1), 10);
  std::optional<ProduceResult> acked = rm_[1]->CheckAcked("R", 0, 10, p.leader_epoch);
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->error, ErrorCode::kNone);
  EXPECT_NE(rm_[1]->Read("R", 0, 0, 1 << 20).records, "");
  // Followers learn it on their next fetch, capped at their own log end.
  EXPECT_EQ(Hw(2), 0);
  Fetch(2);
  EXPECT_EQ(Hw(2), 10);
}

TEST_F(ReplicaManagerReplicationTest, ALaggingFollowerLeavesTheIsrOnlyOnceTheChangeCommits) {
  rm_[1]->Append("R", 0, Batch(4), 1);
  Fetch(2);
  Fetch(3);
  Fetch(2);
  Fetch(3);
  ASSERT_EQ(Hw(1), 4);
  // Broker 3 stops fetching; 2 keeps up.
  rm_[1]->Append("R", 0, Batch(4), 1);
  clock_.AdvanceMs(6000);
  Fetch(2);
  Fetch(2);
  rm_[1]->MaybeShrinkIsr();
  EXPECT_TRUE(proposals_[1].empty()) << "within replica.lag.time.max.ms";
  clock_.AdvanceMs(5000);
  Fetch(2);
  rm_[1]->MaybeShrinkIsr();
  ASSERT_EQ(proposals_[1].size(), 1u);
  EXPECT_EQ(proposals_[1][0].new_isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(proposals_[1][0].partition_epoch, image_->FindPartition("R", 0)->partition_epoch);
  EXPECT_EQ(Hw(1), 4) << "until the controller agrees, broker 3 still holds it back";
  rm_[1]->MaybeShrinkIsr();
  EXPECT_EQ(proposals_[1].size(), 1u) << "one request at a time";
  IsrChangeResult ok;
  ok.leader_epoch = proposals_[1][0].leader_epoch;
  ok.partition_epoch = proposals_[1][0].partition_epoch + 1;
  ok.isr = {1, 2};
  rm_[1]->OnIsrChangeResult(proposals_[1][0], ok);
  EXPECT_EQ(Hw(1), 8);
}

TEST_F(ReplicaManagerReplicationTest, AReplicaAddedWithinATermIsFollowedAndJoinsTheIsr) {
  Apply({records::Change(kNewId, 0, std::nullopt, std::vector<int32_t>{1, 2},
                         std::vector<int32_t>{1, 2})});
  rm_[1]->Append("R", 0, Batch(5), 1);
  Fetch(2);
  Fetch(2);
  ASSERT_EQ(Hw(1), 5);
  // A reassignment adds broker 3 back: the same leader, the same epoch.
  const int32_t epoch = image_->FindPartition("R", 0)->leader_epoch;
  Apply(
      {records::Change(kNewId, 0, std::nullopt, std::nullopt, std::vector<int32_t>{1, 2, 3}, {3})});
  ASSERT_EQ(image_->FindPartition("R", 0)->leader_epoch, epoch);
  proposals_[1].clear();
  EXPECT_EQ(Fetch(3), 5) << "the leader serves its new follower";
  Fetch(3);
  ASSERT_EQ(proposals_[1].size(), 1u);
  EXPECT_EQ(proposals_[1][0].new_isr, (std::vector<int32_t>{1, 2, 3}));
}

TEST_F(ReplicaManagerReplicationTest, AFollowerThatCaughtUpIsProposedForTheIsr) {
  Apply({records::Change(kNewId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  rm_[1]->Append("R", 0, Batch(5), 1);
  Fetch(2);
  Fetch(2);
  ASSERT_EQ(Hw(1), 5);
  proposals_[1].clear();
  // Broker 3 starts from nothing: its first fetch is below the high watermark.
  Fetch(3);
  EXPECT_TRUE(proposals_[1].empty());
  Fetch(3);  // at 5 = the high watermark
  ASSERT_EQ(proposals_[1].size(), 1u);
  EXPECT_EQ(proposals_[1][0].new_isr, (std::vector<int32_t>{1, 2, 3}));
  // An answer that leaves the outcome open keeps the request pending (the
  // high watermark still counts broker 3) and it is sent again later.
  IsrChangeResult unknown;
  unknown.error = ErrorCode::kRequestTimedOut;
  rm_[1]->OnIsrChangeResult(proposals_[1][0], unknown);
  Fetch(3);
  EXPECT_EQ(proposals_[1].size(), 1u);
  clock_.AdvanceMs(1000);
  rm_[1]->MaybeShrinkIsr();
  ASSERT_EQ(proposals_[1].size(), 2u);
  EXPECT_EQ(proposals_[1][1].new_isr, proposals_[1][0].new_isr);
  EXPECT_EQ(proposals_[1][1].partition_epoch, proposals_[1][0].partition_epoch);
  // The first send may have committed: a refusal made before the partition
  // epoch was looked at (no controller) proves nothing, and it stays.
  IsrChangeResult no_controller;
  no_controller.error = ErrorCode::kNotController;
  rm_[1]->OnIsrChangeResult(proposals_[1][1], no_controller);
  Fetch(3);
  EXPECT_EQ(proposals_[1].size(), 2u) << "still pending";
  clock_.AdvanceMs(1000);
  rm_[1]->MaybeShrinkIsr();
  ASSERT_EQ(proposals_[1].size(), 3u);
  // A refusal after the epoch check proves no send committed: free to try
  // anew.
  IsrChangeResult refused;
  refused.error = ErrorCode::kIneligibleReplica;
  rm_[1]->OnIsrChangeResult(proposals_[1][2], refused);
  Fetch(3);
  EXPECT_EQ(proposals_[1].size(), 4u);
}

TEST_F(ReplicaManagerReplicationTest, AcksAllChecksTheIsrAndFailsWhenLeadershipMoves) {
  min_isr_ = 3;
  Apply({records::Change(kNewId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  ProduceResult r = rm_[1]->Append("R", 0, Batch(1), -1);
  EXPECT_EQ(r.error, ErrorCode::kNotEnoughReplicas);
  EXPECT_NE(r.message.find("R-0"), std::string::npos) << r.message;
  EXPECT_EQ(rm_[1]->Append("R", 0, Batch(1), 1).error, ErrorCode::kNone) << "acks=1 still works";
  min_isr_ = 2;
  Apply({records::Change(kNewId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  r = rm_[1]->Append("R", 0, Batch(1), -1);
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
  // Broker 2 takes over before the record reached it.
  Apply({records::Change(kNewId, 0, 2)});
  std::optional<ProduceResult> acked =
      rm_[1]->CheckAcked("R", 0, r.required_offset, r.leader_epoch);
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->error, ErrorCode::kNotLeaderOrFollower);
  EXPECT_EQ(acked->leader_hint, 2);
}

TEST_F(ReplicaManagerReplicationTest, ANewFollowerCutsTheSuffixTheNewLeaderNeverHad) {
  const TopicPartition tp{"R", PartitionId(0)};
  rm_[1]->Append("R", 0, Batch(5), 1);
  Fetch(2);
  Fetch(2);
  Fetch(3);
  Fetch(3);
  // Two more batches only broker 1 gets; then broker 2 leads (epoch 1).
  rm_[1]->Append("R", 0, Batch(2), 1);
  rm_[1]->Append("R", 0, Batch(1), 1);
  ASSERT_EQ(logs_[1]->Get(tp)->log_end_offset().value(), 8);
  Apply({records::Change(kNewId, 0, 2, std::vector<int32_t>{2, 3})});
  ASSERT_EQ(rm_[2]->Append("R", 0, Batch(4), 1).error, ErrorCode::kNone);  // offsets 5..8, epoch 1
  std::vector<FollowedPartition> followed = rm_[1]->FollowedFrom(2);
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_TRUE(followed[0].needs_truncation);
  EXPECT_EQ(followed[0].latest_epoch, 0);
  // OffsetForLeaderEpoch(0) on the new leader: epoch 0 ended at 5.
  EpochEndResult answer = rm_[2]->EndOffsetForEpoch("R", 0, followed[0].leader_epoch, 0);
  ASSERT_EQ(answer.error, ErrorCode::kNone) << answer.message;
  EXPECT_EQ(answer.leader_epoch, 0);
  EXPECT_EQ(answer.end_offset, 5);
  ASSERT_TRUE(rm_[1]->ApplyEpochEnd(tp, followed[0].leader_epoch, 0, answer).ok());
  EXPECT_EQ(logs_[1]->Get(tp)->log_end_offset().value(), 5) << "not to its HW, to 5";
  EXPECT_FALSE(rm_[1]->FollowedFrom(2)[0].needs_truncation);
  EXPECT_EQ(Fetch(1, 2), 9);
  auto read = [&](int32_t id) {
    return logs_[id]->Get(tp)->Read(Offset(0), 1 << 20, Offset(9)).value().batches;
  };
  EXPECT_EQ(read(1), read(2)) << "byte for byte the new leader's log";
}

TEST_F(ReplicaManagerReplicationTest, AFollowerAsksAgainWhenTheLeaderNeverHadItsLastEpoch) {
  const TopicPartition tp{"R", PartitionId(0)};
  // Broker 3's log: epoch 0 up to 3, then epoch 2 (a leader the others
  // never followed) up to 6.
  rm_[1]->Append("R", 0, Batch(3), 1);
  Fetch(3);
  Fetch(3);
  Apply({records::Change(kNewId, 0, 3)});  // epoch 1: broker 3
  Apply({records::Change(kNewId, 0, 1)});  // epoch 2: broker 1 again
  Apply({records::Change(kNewId, 0, 3)});  // epoch 3: broker 3
  ASSERT_EQ(rm_[3]->Append("R", 0, Batch(3), 1).error, ErrorCode::kNone);  // offsets 3..5, epoch 3
  Apply({records::Change(kNewId, 0, 1)});                                  // epoch 4: broker 1
  const int32_t epoch = image_->FindPartition("R", 0)->leader_epoch;
  // Broker 1 has records of epoch 0 only and leads epoch 4 from offset 3
  // (its epoch 2 held nothing). Epoch 3 is unknown to it: the largest
  // below it is 0, which ended where 4 starts.
  EpochEndResult answer = rm_[1]->EndOffsetForEpoch("R", 0, epoch, 3);
  EXPECT_EQ(answer.leader_epoch, 0);
  EXPECT_EQ(answer.end_offset, 3);
  ASSERT_TRUE(rm_[3]->ApplyEpochEnd(tp, epoch, 3, answer).ok());
  EXPECT_EQ(logs_[3]->Get(tp)->log_end_offset().value(), 3);
  EXPECT_TRUE(rm_[3]->FollowedFrom(1)[0].needs_truncation) << "ask again about epoch 0";
  answer = rm_[1]->EndOffsetForEpoch("R", 0, epoch, 0);
  EXPECT_EQ(answer.leader_epoch, 0);
  ASSERT_TRUE(rm_[3]->ApplyEpochEnd(tp, epoch, 0, answer).ok());
  EXPECT_FALSE(rm_[3]->FollowedFrom(1)[0].needs_truncation);
  EXPECT_EQ(logs_[3]->Get(tp)->log_end_offset().value(), 3);
}

// A leader whose log is shorter than a follower's high watermark lacks
// acknowledged records (it restarted with a torn log, or an operator moved
// its data away). Truncating to it would destroy them on every replica.
TEST_F(ReplicaManagerReplicationTest, AFollowerNeverTruncatesBelowItsHighWatermarkToAShortLeader) {
  const TopicPartition tp{"R", PartitionId(0)};
  for (int i = 0; i < 5; ++i) rm_[1]->Append("R", 0, Batch(1), -1);
  for (int i = 0; i < 3; ++i) {
    Fetch(2);
    Fetch(3);
  }
  ASSERT_EQ(Hw(2), 5);
  // Broker 3 leads in epoch 1; it says epoch 0 ended at 2 in its log.
  Apply({records::Change(kNewId, 0, 3)});
  const int32_t epoch = image_->FindPartition("R", 0)->leader_epoch;
  EpochEndResult short_leader;
  short_leader.leader_epoch = 0;
  short_leader.end_offset = 2;
  short_leader.log_end_offset = 2;
  absl::Status refused = rm_[2]->ApplyEpochEnd(tp, epoch, 0, short_leader);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_NE(refused.message().find("R-0"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("high watermark 5"), std::string::npos) << refused;
  EXPECT_EQ(logs_[2]->Get(tp)->log_end_offset().value(), 5) << "nothing was cut";
  EXPECT_TRUE(rm_[2]->FollowedFrom(3).empty()) << "the replica stopped following";
  rm_[2]->TruncateToLeaderEnd(tp, epoch, 2);
  EXPECT_EQ(logs_[2]->Get(tp)->log_end_offset().value(), 5);

  // A new leader epoch lets it try again; with unclean.leader.election the
  // operator accepted the loss, and it follows the (here as short) leader
  // down.
  unclean_ = true;
  Apply({records::Change(kNewId, 0, 1)});
  const int32_t next = image_->FindPartition("R", 0)->leader_epoch;
  ASSERT_GT(next, epoch);
  ASSERT_EQ(rm_[2]->FollowedFrom(1).size(), 1u);
  ASSERT_TRUE(rm_[2]->ApplyEpochEnd(tp, next, 0, short_leader).ok());
  EXPECT_EQ(logs_[2]->Get(tp)->log_end_offset().value(), 2);
}

// What a group or transaction coordinator hears: every election and
// resignation of this broker, with the leader epoch, in order.
TEST_F(ReplicaManagerReplicationTest, LeadershipListenersHearOfElectionAndResignation) {
  const TopicPartition tp{"R", PartitionId(0)};
  std::map<int32_t, std::vector<LeadershipChange>> heard;
  for (int32_t id : {1, 2, 3}) {
    rm_[id]->AddLeadershipListener(
        [&heard, id](const LeadershipChange& c) { heard[id].push_back(c); });
  }
  using Kind = LeadershipChange::Kind;
  auto is = [&](const LeadershipChange& c, Kind kind, int32_t epoch) {
    return c.kind == kind && c.tp == tp && c.leader_epoch == Epoch(epoch);
  };
  Apply({records::Change(kNewId, 0, 2)});  // epoch 1: broker 2
  ASSERT_EQ(heard[1].size(), 1u);
  EXPECT_TRUE(is(heard[1][0], Kind::kResigned, 1));
  ASSERT_EQ(heard[2].size(), 1u);
  EXPECT_TRUE(is(heard[2][0], Kind::kBecameLeader, 1));
  EXPECT_EQ(rm_[1]->LeaderCount(), 0);
  EXPECT_EQ(rm_[2]->LeaderCount(), 1);
  // An ISR change in the same term is no news.
  Apply({records::Change(kNewId, 0, std::nullopt, std::vector<int32_t>{1, 2})});
  EXPECT_EQ(heard[1].size(), 1u);
  EXPECT_EQ(heard[2].size(), 1u);
  Apply({records::Change(kNewId, 0, 1)});  // epoch 2: broker 1 again
  ASSERT_EQ(heard[1].size(), 2u);
  EXPECT_TRUE(is(heard[1][1], Kind::kBecameLeader, 2));
  ASSERT_EQ(heard[2].size(), 2u);
  EXPECT_TRUE(is(heard[2][1], Kind::kResigned, 2));
  // The topic goes: its leader resigns, in the last epoch it led.
  internal::MetadataRecord remove;
  remove.mutable_remove_topic()->set_topic_id(kNewId);
  Apply({remove});
  ASSERT_EQ(heard[1].size(), 3u);
  EXPECT_TRUE(is(heard[1][2], Kind::kResigned, 2));
  EXPECT_EQ(heard[2].size(), 2u) << "a follower had nothing to resign";
  EXPECT_TRUE(heard[3].empty()) << "broker 3 never led";
}

// The purgatory tries only what waits on the partition that moved.
TEST_F(ReplicaManagerReplicationTest, PartitionChangesNameOnlyThePartitionThatMoved) {
  const TopicPartition r0{"R", PartitionId(0)};
  constexpr char kOtherId[] = "CCCCCCCCCCCCCCCCCCCCCC";
  for (auto& [id, c] : changes_) c.clear();
  Apply({records::Topic("S", kOtherId), records::Partition(kOtherId, 0, {1, 2, 3}, {1, 2, 3}, 1)});
  const TopicPartition s0{"S", PartitionId(0)};
  ASSERT_NE(std::find(changes_[1].begin(), changes_[1].end(), s0), changes_[1].end())
      << "a new partition is a role change";
  EXPECT_EQ(std::find(changes_[1].begin(), changes_[1].end(), r0), changes_[1].end())
      << "R-0's term went on";
  for (auto& [id, c] : changes_) c.clear();
  // Told at least once, and of R-0 only.
  auto only_r0 = [&](const std::vector<TopicPartition>& told) {
    return !told.empty() && std::all_of(told.begin(), told.end(),
                                        [&](const TopicPartition& tp) { return tp == r0; });
  };

  const uint64_t progress = rm_[1]->progress();
  ASSERT_EQ(rm_[1]->Append("R", 0, Batch(3), -1).error, ErrorCode::kNone);
  EXPECT_EQ(changes_[1], std::vector<TopicPartition>{r0}) << "an append as leader";
  EXPECT_GT(rm_[1]->progress(), progress) << "the global counter still moves";
  changes_[1].clear();
  Fetch(2);  // at 0: broker 2 appends; the leader learns nothing new
  EXPECT_TRUE(only_r0(changes_[2])) << "a truncation to its log end and an append as follower";
  EXPECT_TRUE(changes_[1].empty());
  Fetch(3);
  Fetch(2);
  changes_[1].clear();
  Fetch(3);  // at 3: the high watermark reaches 3
  ASSERT_EQ(Hw(1), 3);
  EXPECT_EQ(changes_[1], std::vector<TopicPartition>{r0}) << "a high watermark move";
  for (auto& [id, c] : changes_) {
    EXPECT_EQ(std::find(c.begin(), c.end(), s0), c.end()) << "broker " << id;
  }

  // A new leader epoch, and the follower's truncation in it.
  for (auto& [id, c] : changes_) c.clear();
  Apply({records::Change(kNewId, 0, 2)});
  for (int32_t id : {1, 2, 3}) EXPECT_TRUE(only_r0(changes_[id])) << "broker " << id;
  changes_[1].clear();
  Fetch(1, 2);
  EXPECT_TRUE(only_r0(changes_[1])) << "a truncation";
}

// FollowedFrom keeps each leader's partitions between role changes: a
// leadership move, a partition added in a later image, and one this broker
// comes to lead all show at once.
TEST_F(ReplicaManagerReplicationTest, WhatIsFollowedFromEachLeaderMovesWithTheImage) {
  auto followed = [&](int32_t id, int32_t leader) {
    std::vector<int32_t> out;
    for (const FollowedPartition& f : rm_[id]->FollowedFrom(leader)) {
      EXPECT_EQ(f.tp.topic, "R");
      out.push_back(f.tp.partition.value());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(followed(2, 1), std::vector<int32_t>{0});
  EXPECT_TRUE(followed(2, 3).empty());
  Apply({records::Change(kNewId, 0, 3, std::vector<int32_t>{1, 2, 3})});
  EXPECT_TRUE(followed(2, 1).empty());
  EXPECT_EQ(followed(2, 3), std::vector<int32_t>{0});
  EXPECT_EQ(followed(1, 3), std::vector<int32_t>{0});
  Apply({records::Partition(kNewId, 1, {1, 2, 3}, {1, 2, 3}, 3)});
  EXPECT_EQ(followed(2, 3), (std::vector<int32_t>{0, 1}));
  Apply({records::Change(kNewId, 1, 2, std::vector<int32_t>{1, 2, 3})});
  EXPECT_EQ(followed(2, 3), std::vector<int32_t>{0}) << "broker 2 leads partition 1 now";
  EXPECT_EQ(followed(1, 2), std::vector<int32_t>{1});
  EXPECT_TRUE(followed(2, 2).empty()) << "no one follows itself";
}

// The fetcher threads and a shutdown wait for role changes only: appends,
// follower fetches and high watermark moves do not wake them (each of their
// looks goes over every partition); leadership moves do.
TEST_F(ReplicaManagerReplicationTest, OnlyRoleChangesCountAsRoleProgress) {
  std::map<int32_t, uint64_t> roles;
  for (int32_t id : {1, 2, 3}) roles[id] = rm_[id]->role_progress();
  const uint64_t progress = rm_[1]->progress();
  ASSERT_EQ(rm_[1]->Append("R", 0, Batch(3), -1).error, ErrorCode::kNone);
  Fetch(2);
  Fetch(3);
  Fetch(2);
  Fetch(3);
  ASSERT_EQ(Hw(1), 3);
  EXPECT_GT(rm_[1]->progress(), progress);
  for (int32_t id : {1, 2, 3}) {
    EXPECT_EQ(rm_[id]->role_progress(), roles[id]) << "broker " << id;
  }
  EXPECT_EQ(rm_[2]->WaitForRoleChange(roles[2], absl::Milliseconds(1)), roles[2]);

  Apply({records::Change(kNewId, 0, 2)});  // broker 2 leads now
  for (int32_t id : {1, 2, 3}) {
    EXPECT_GT(rm_[id]->role_progress(), roles[id]) << "broker " << id;
  }
  EXPECT_GT(rm_[3]->WaitForRoleChange(roles[3], absl::Seconds(10)), roles[3]);
}

// isolation_level=read_committed: reads stop at the last stable offset
// (the first open transaction) and carry the aborted transactions.
TEST_F(ReplicaManagerTest, ReadCommittedStopsAtTheLastStableOffsetWithTheAbortedTransactions) {
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.OnMetadata(History()[1]);
  ASSERT_EQ(rm.Append("T", 0, Batch(3), 1).error, ErrorCode::kNone);  // 0-2
  std::shared_ptr<storage::Log> log = logs->Get(TopicPartition{"T", PartitionId(0)});
  ASSERT_NE(log, nullptr);
  auto txn = [&](int64_t pid, int64_t offset, int count) {
    record::RecordBatchBuilder b{Offset(offset)};
    b.set_partition_leader_epoch(Epoch(0)).set_producer(pid, 0, 0).set_transactional(true);
    for (int i = 0; i < count; ++i) b.Append(record::Record{});
    ASSERT_TRUE(log->AppendAsFollower(b.Build()).ok());
  };
  txn(5, 3, 2);                                                                              // 3-4
  ASSERT_TRUE(log->AppendTxnMarker(5, 0, {record::ControlType::kAbort, 0}, Epoch(0)).ok());  // 5
  txn(6, 6, 1);  // 6, open
  log->MaybeIncrementHighWatermark(log->log_end_offset());

  using Limit = ReplicaManager::ReadLimit;
  FetchResult all = rm.Read("T", 0, 0, 1 << 20, Limit::kHighWatermark);
  ASSERT_EQ(all.error, ErrorCode::kNone) << all.message;
  EXPECT_EQ(all.high_watermark, 7);
  EXPECT_EQ(all.last_stable_offset, 6);
  EXPECT_TRUE(all.aborted_transactions.empty()) << "read_uncommitted gets none";

  // A consumer's reads from 0 on (a read stays in one segment, and the
  // marker's timestamp rolled one): each lists the abort it overlaps.
  int64_t next = 0;
  for (int reads = 0; reads < 5 && next < 6; ++reads) {
    FetchResult committed = rm.Read("T", 0, next, 1 << 20, Limit::kLastStableOffset);
    ASSERT_EQ(committed.error, ErrorCode::kNone) << committed.message;
    EXPECT_EQ(committed.last_stable_offset, 6);
    if (committed.records.empty()) break;
    EXPECT_EQ(committed.aborted_transactions, (std::vector<record::AbortedTransaction>{{5, 3}}))
        << "read from " << next;
    record::BatchIterator it(committed.records);
    record::BatchHeader h;
    std::string_view b;
    while (it.Next(&h, &b)) next = h.next_offset().value();
  }
  EXPECT_EQ(next, 6) << "up to the open transaction, not into it";
  // A read that ends before the aborted transaction begins lists nothing.
  FetchResult before = rm.Read("T", 0, 0, 1, Limit::kLastStableOffset);
  ASSERT_FALSE(before.records.empty());
  EXPECT_TRUE(before.aborted_transactions.empty()) << "the read ended at offset 3";
  FetchResult at_lso = rm.Read("T", 0, 6, 1 << 20, Limit::kLastStableOffset);
  EXPECT_TRUE(at_lso.records.empty());

  EXPECT_FALSE(rm.HasDataAt("T", 0, 6, Limit::kLastStableOffset));
  EXPECT_TRUE(rm.HasDataAt("T", 0, 5, Limit::kLastStableOffset));
  EXPECT_TRUE(rm.HasDataAt("T", 0, 6, Limit::kHighWatermark));
  EXPECT_EQ(rm.ListOffset("T", 0, -1, /*committed=*/true).offset, 6);
  EXPECT_EQ(rm.ListOffset("T", 0, -1).offset, 7);

  // The commit releases it: the last stable offset is the high watermark.
  ASSERT_TRUE(log->AppendTxnMarker(6, 0, {record::ControlType::kCommit, 0}, Epoch(0)).ok());
  log->MaybeIncrementHighWatermark(log->log_end_offset());
  EXPECT_EQ(rm.Read("T", 0, 0, 0, Limit::kLastStableOffset).last_stable_offset, 8);
  EXPECT_TRUE(rm.HasDataAt("T", 0, 6, Limit::kLastStableOffset));
  ASSERT_TRUE(logs->Close().ok());
}

}  // namespace
}  // namespace strata::replication
