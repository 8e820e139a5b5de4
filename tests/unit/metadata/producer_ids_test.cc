// Producer id blocks (KIP-730): the controller's decision, the image's
// counter, and the counter through snapshots and replays — no id is ever in
// two blocks.
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/metadata/controller_fixture.h"
#include "tests/unit/metadata/records.h"

namespace strata::metadata {
namespace {

using testing::RegisterBroker;

constexpr int32_t kBlock = Controller::kProducerIdBlockSize;

internal::MetadataRecord ProducerIds(int32_t broker, int64_t epoch, int64_t next) {
  internal::MetadataRecord r;
  r.mutable_producer_ids()->set_broker_id(broker);
  r.mutable_producer_ids()->set_broker_epoch(epoch);
  r.mutable_producer_ids()->set_next_producer_id(next);
  return r;
}

internal::MetadataRecordBatch Batch(std::vector<internal::MetadataRecord> records) {
  internal::MetadataRecordBatch batch;
  for (auto& r : records) *batch.add_records() = std::move(r);
  return batch;
}

// --- the controller's decision ---

TEST_F(ThreeBrokerTest, ProducerIdBlocksAreConsecutiveAndNeverOverlap) {
  std::set<int64_t> granted;
  int64_t expected_first = 0;
  for (int i = 0; i < 60; ++i) {
    const int32_t broker = 1 + i % 3;
    auto d = controller_.AllocateProducerIds(*image_, broker, epochs_[broker]);
    ASSERT_EQ(d.response.error(), v1::NONE) << d.response.error_message();
    EXPECT_EQ(d.response.first_id(), expected_first);
    EXPECT_EQ(d.response.count(), kBlock);
    ASSERT_EQ(d.records.records_size(), 1);
    const internal::ProducerIdsRecord& r = d.records.records(0).producer_ids();
    EXPECT_EQ(r.broker_id(), broker);
    EXPECT_EQ(r.broker_epoch(), epochs_[broker]);
    EXPECT_EQ(r.next_producer_id(), d.response.first_id() + kBlock);
    Commit(d.records);
    EXPECT_EQ(image_->next_producer_id(), d.response.first_id() + kBlock);
    // Every id of the block is new.
    auto hint = granted.end();
    for (int64_t id = d.response.first_id(); id < d.response.first_id() + d.response.count();
         ++id) {
      hint = granted.insert(hint, id);
    }
    expected_first += kBlock;
  }
  EXPECT_EQ(granted.size(), 60u * kBlock);
}

TEST_F(ThreeBrokerTest, ProducerIdsAreRefusedToAStaleOrUnknownBrokerEpoch) {
  auto stale = controller_.AllocateProducerIds(*image_, 1, epochs_[1] - 1);
  EXPECT_EQ(stale.response.error(), v1::STALE_BROKER_EPOCH);
  EXPECT_EQ(stale.records.records_size(), 0);
  EXPECT_EQ(stale.response.count(), 0);

  auto newer = controller_.AllocateProducerIds(*image_, 1, epochs_[1] + 1);
  EXPECT_EQ(newer.response.error(), v1::STALE_BROKER_EPOCH);
  EXPECT_EQ(newer.records.records_size(), 0);

  auto unknown = controller_.AllocateProducerIds(*image_, 9, 1);
  EXPECT_EQ(unknown.response.error(), v1::STALE_BROKER_EPOCH);
  EXPECT_EQ(unknown.records.records_size(), 0);
  EXPECT_NE(unknown.response.error_message().find("Broker 9"), std::string::npos)
      << unknown.response.error_message();

  // A broker that registered again: its old epoch gets nothing, its new one
  // a block.
  const int64_t old_epoch = epochs_[2];
  StartBroker(2);
  ASSERT_NE(epochs_[2], old_epoch);
  EXPECT_EQ(controller_.AllocateProducerIds(*image_, 2, old_epoch).response.error(),
            v1::STALE_BROKER_EPOCH);
  auto fresh = controller_.AllocateProducerIds(*image_, 2, epochs_[2]);
  EXPECT_EQ(fresh.response.error(), v1::NONE) << fresh.response.error_message();
  EXPECT_EQ(fresh.response.first_id(), 0);
  EXPECT_EQ(image_->next_producer_id(), 0) << "refusals wrote nothing";
}

TEST_F(ThreeBrokerTest, ProducerIdsAreGrantedToAFencedBrokerOfTheCurrentEpoch) {
  // Fencing is about leading partitions; a registered broker in its current
  // epoch may still start producers (Kafka checks the epoch only).
  auto hb = Heartbeat(3, /*want_shutdown=*/true);
  Commit(hb.records);
  ASSERT_FALSE(image_->IsBrokerLive(3));
  auto d = controller_.AllocateProducerIds(*image_, 3, epochs_[3]);
  EXPECT_EQ(d.response.error(), v1::NONE) << d.response.error_message();
}

TEST_F(ThreeBrokerTest, ANewControllerContinuesFromTheImagesCounter) {
  for (int i = 0; i < 3; ++i)
    Commit(controller_.AllocateProducerIds(*image_, 1, epochs_[1]).records);
  // A failover: a fresh controller (no volatile state) over the same image,
  // and one over the image rebuilt from a snapshot.
  Controller fresh(Options());
  auto d = fresh.AllocateProducerIds(*image_, 2, epochs_[2]);
  EXPECT_EQ(d.response.first_id(), 3 * kBlock);
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  auto again = fresh.AllocateProducerIds(**restored, 2, epochs_[2]);
  EXPECT_EQ(again.response.first_id(), 3 * kBlock);
}

TEST_F(ThreeBrokerTest, ReplayingTheLogGrantsNoIdTwice) {
  // The metadata log as the controller wrote it, replayed from the start by
  // a node (a restart, a new voter): the counter lands where it was, and the
  // next block starts after every block granted.
  std::vector<std::pair<int64_t, internal::MetadataRecordBatch>> log;
  ImagePtr start = image_;
  for (int i = 0; i < 10; ++i) {
    auto d = controller_.AllocateProducerIds(*image_, 1 + i % 3, epochs_[1 + i % 3]);
    log.emplace_back(image_->offset() + 1, d.records);
    Commit(d.records);
  }
  ImagePtr replayed = start;
  for (const auto& [offset, batch] : log) {
    auto next = replayed->Apply(batch, offset);
    ASSERT_TRUE(next.ok()) << next.status();
    replayed = *next;
  }
  EXPECT_EQ(replayed->next_producer_id(), 10 * kBlock);
  EXPECT_EQ(replayed->ToSnapshot().SerializeAsString(), image_->ToSnapshot().SerializeAsString());
  // An entry applied twice (a replay bug) is refused, not a counter moved
  // back or a block granted again.
  EXPECT_FALSE(replayed->Apply(log.back().second, replayed->offset() + 1).ok());
}

// --- the image ---

TEST(ProducerIdsImageTest, TheCounterStartsAtZeroAndOnlyMovesUp) {
  ImagePtr image = MetadataImage::Empty("c");
  EXPECT_EQ(image->next_producer_id(), 0);
  auto one = image->Apply(Batch({RegisterBroker(1, 1), ProducerIds(1, 1, 1000)}), 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)->next_producer_id(), 1000);

  // Equal or lower: a block that overlaps one granted. Refused loudly, and
  // the image is as it was.
  for (int64_t next : {int64_t{1000}, int64_t{999}, int64_t{0}, int64_t{-5}}) {
    auto refused = (*one)->Apply(Batch({ProducerIds(1, 1, next)}), 2);
    ASSERT_FALSE(refused.ok()) << next;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("ProducerIdsRecord"), std::string::npos)
        << refused.status();
    EXPECT_NE(refused.status().message().find("not above the current 1000"), std::string::npos)
        << refused.status();
  }
  EXPECT_EQ((*one)->next_producer_id(), 1000);
  // A refused record fails its whole batch: nothing of it is applied.
  auto mixed = (*one)->Apply(Batch({ProducerIds(1, 1, 2000), ProducerIds(1, 1, 1500)}), 2);
  EXPECT_FALSE(mixed.ok());

  auto up = (*one)->Apply(Batch({ProducerIds(1, 1, 2000)}), 2);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ((*up)->next_producer_id(), 2000);
  EXPECT_EQ((*one)->next_producer_id(), 1000) << "images are immutable";
}

TEST(ProducerIdsImageTest, TheRecordNeedsNoRegisteredBroker) {
  // Records describe outcomes: a block granted to a broker since
  // unregistered still counts on replay.
  ImagePtr image = MetadataImage::Empty("c");
  auto next = image->Apply(Batch({ProducerIds(7, 3, 1000)}), 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->next_producer_id(), 1000);
}

TEST(ProducerIdsImageTest, ASnapshotKeepsTheCounter) {
  ImagePtr image = MetadataImage::Empty("c");
  auto next = image->Apply(Batch({RegisterBroker(1, 1), ProducerIds(1, 1, 1000)}), 1);
  ASSERT_TRUE(next.ok());
  next = (*next)->Apply(Batch({ProducerIds(1, 1, 2000)}), 2);
  ASSERT_TRUE(next.ok());
  image = *next;

  const internal::MetadataSnapshot snapshot = image->ToSnapshot();
  int records = 0;
  for (const internal::MetadataRecord& r : snapshot.records()) {
    if (r.has_producer_ids()) {
      ++records;
      EXPECT_EQ(r.producer_ids().next_producer_id(), 2000);
    }
  }
  EXPECT_EQ(records, 1) << "one record carries the counter";

  auto restored = MetadataImage::FromSnapshot(snapshot, image->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->next_producer_id(), 2000);
  EXPECT_EQ((*restored)->ToSnapshot().SerializeAsString(), snapshot.SerializeAsString());

  // The log after the snapshot continues from it...
  auto after = (*restored)->Apply(Batch({ProducerIds(1, 1, 3000)}), image->offset() + 1);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)->next_producer_id(), 3000);
  // ...and a record the snapshot already covers is refused.
  EXPECT_FALSE((*restored)->Apply(Batch({ProducerIds(1, 1, 2000)}), image->offset() + 1).ok());
}

TEST(ProducerIdsImageTest, AnImageWithNoBlockWritesNoRecord) {
  ImagePtr image = MetadataImage::Empty("c");
  auto next = image->Apply(Batch({RegisterBroker(1, 1)}), 1);
  ASSERT_TRUE(next.ok());
  const internal::MetadataSnapshot snapshot = (*next)->ToSnapshot();
  for (const internal::MetadataRecord& r : snapshot.records()) {
    EXPECT_FALSE(r.has_producer_ids());
  }
  auto restored = MetadataImage::FromSnapshot(snapshot, 1);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->next_producer_id(), 0);
}

}  // namespace
}  // namespace strata::metadata
