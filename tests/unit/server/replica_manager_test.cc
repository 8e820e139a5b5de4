#include "broker/replication/replica_manager.h"

#include "broker/storage/mem_file_system.h"
#include "broker/storage/record_batch.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"

namespace strata::replication {
namespace {

namespace records = metadata::testing;

constexpr char kOldId[] = "AAAAAAAAAAAAAAAAAAAAAA";
constexpr char kNewId[] = "BBBBBBBBBBBBBBBBBBBBBB";

std::string Batch(int n) {
  storage::RecordBatchBuilder b;
  for (int i = 0; i < n; ++i) {
    storage::Record r;
    r.value = "v" + std::to_string(i);
    r.timestamp = 1;
    b.Append(r);
  }
  return b.Build();
}

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
    ASSERT_EQ(r.error, v1::NONE) << r.message;
    ASSERT_TRUE(logs->Close().ok());
  }
  // Restart: the metadata log replays from the start, through the old
  // topic and its deletion, before it reaches the new topic.
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.SetCaughtUpOffset(history.back()->offset());
  for (auto& image : history) rm.OnMetadata(image);
  FetchResult f = rm.Read("T", 0, 0, 1 << 20);
  ASSERT_EQ(f.error, v1::NONE) << f.message;
  EXPECT_EQ(f.high_watermark, 5) << "the new topic's records survived the replay";
}

TEST_F(ReplicaManagerTest, ACaughtUpImageReplacesALogLeftByAnEarlierTopic) {
  auto history = History();
  {
    auto logs = OpenLogs();
    ReplicaManager rm(logs.get(), Options(1));
    rm.OnMetadata(history[1]);  // the old topic only
    ASSERT_EQ(rm.Append("T", 0, Batch(3), 1).error, v1::NONE);
    ASSERT_TRUE(logs->Close().ok());
  }
  // This node missed the deletion (say it caught up by snapshot): the image
  // it now holds, caught up, names only the new topic.
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.SetCaughtUpOffset(history.back()->offset());
  rm.OnMetadata(history.back());
  FetchResult f = rm.Read("T", 0, 0, 1 << 20);
  ASSERT_EQ(f.error, v1::NONE) << f.message;
  EXPECT_EQ(f.high_watermark, 0) << "the old topic's records must not show in the new one";
  EXPECT_EQ(logs->TopicIdOf(TopicPartition{"T", PartitionId(0)}), kNewId);
}

TEST_F(ReplicaManagerTest, ABadBatchInARequestAppendsNothing) {
  auto logs = OpenLogs();
  ReplicaManager rm(logs.get(), Options(1));
  rm.OnMetadata(History()[1]);
  std::string bad = Batch(2);
  bad.back() ^= 0x01;  // CRC mismatch
  ProduceResult r = rm.Append("T", 0, Batch(3) + bad, 1);
  EXPECT_NE(r.error, v1::NONE);
  EXPECT_EQ(rm.Read("T", 0, 0, 1 << 20).high_watermark, 0);
}

}  // namespace
}  // namespace strata::replication
