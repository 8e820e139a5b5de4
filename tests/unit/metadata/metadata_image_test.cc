#include "broker/metadata/metadata_image.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"

namespace strata::metadata {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace strata::metadata::testing;  // NOLINT: record builders

using ImagePtr = std::shared_ptr<const MetadataImage>;

constexpr char kOrders[] = "AAAAAAAAAAAAAAAAAAAAAw";
constexpr char kAudit[] = "BBBBBBBBBBBBBBBBBBBBBw";

// Applies `batch` as the next log entry; the test fails if it is refused.
ImagePtr Next(const ImagePtr& image, const internal::MetadataRecordBatch& batch) {
  auto next = image->Apply(batch, image->offset() + 1);
  EXPECT_TRUE(next.ok()) << next.status();
  return next.ok() ? *next : image;
}

// Brokers 1..3 live, "orders" with 2 partitions over them.
ImagePtr ThreeBrokersAndOrders() {
  ImagePtr image = MetadataImage::Empty("cluster-a");
  image = Next(image, Batch({RegisterBroker(1, 10), RegisterBroker(2, 11), RegisterBroker(3, 12)}));
  image = Next(image, Batch({Unfence(1, 10), Unfence(2, 11), Unfence(3, 12)}));
  image =
      Next(image, Batch({Topic("orders", kOrders), Partition(kOrders, 0, {3, 1, 2}, {3, 1, 2}, 3),
                         Partition(kOrders, 1, {1, 2, 3}, {1, 2, 3}, 1)}));
  return image;
}

// Field-by-field equality of everything an image holds.
void ExpectSameImage(const MetadataImage& a, const MetadataImage& b) {
  EXPECT_EQ(a.cluster_id(), b.cluster_id());
  EXPECT_EQ(a.offset(), b.offset());
  ASSERT_EQ(a.brokers().size(), b.brokers().size());
  for (const auto& [id, x] : a.brokers()) {
    const BrokerRegistration* y = b.broker(id);
    ASSERT_NE(y, nullptr) << id;
    EXPECT_EQ(x.incarnation_id, y->incarnation_id);
    EXPECT_EQ(x.epoch, y->epoch);
    EXPECT_EQ(x.endpoints, y->endpoints);
    EXPECT_EQ(x.rack, y->rack);
    EXPECT_EQ(x.fenced, y->fenced);
  }
  EXPECT_EQ(a.broker_configs(), b.broker_configs());
  ASSERT_EQ(a.topics().size(), b.topics().size());
  for (const auto& [name, t] : a.topics()) {
    const TopicInfo* u = b.FindTopic(name);
    ASSERT_NE(u, nullptr) << name;
    EXPECT_EQ(b.FindTopicById(t.topic_id), u);
    EXPECT_EQ(t.topic_id, u->topic_id);
    EXPECT_EQ(t.configs, u->configs);
    ASSERT_EQ(t.partitions.size(), u->partitions.size());
    for (const auto& [pid, p] : t.partitions) {
      const PartitionInfo& q = u->partitions.at(pid);
      SCOPED_TRACE(name + "-" + std::to_string(pid));
      EXPECT_EQ(p.partition, q.partition);
      EXPECT_EQ(p.replicas, q.replicas);
      EXPECT_EQ(p.isr, q.isr);
      EXPECT_EQ(p.leader, q.leader);
      EXPECT_EQ(p.leader_epoch, q.leader_epoch);
      EXPECT_EQ(p.partition_epoch, q.partition_epoch);
      EXPECT_EQ(p.had_leader, q.had_leader);
      EXPECT_EQ(p.adding_replicas, q.adding_replicas);
      EXPECT_EQ(p.removing_replicas, q.removing_replicas);
    }
  }
}

TEST(MetadataImageTest, EmptyImage) {
  ImagePtr image = MetadataImage::Empty("cluster-a");
  EXPECT_EQ(image->offset(), -1);
  EXPECT_EQ(image->cluster_id(), "cluster-a");
  EXPECT_THAT(image->brokers(), IsEmpty());
  EXPECT_THAT(image->topics(), IsEmpty());
  EXPECT_THAT(image->LiveBrokerIds(), IsEmpty());
  EXPECT_EQ(image->FindTopic("orders"), nullptr);
}

TEST(MetadataImageTest, EmptyBatchOnlyMovesTheOffset) {
  ImagePtr image = Next(MetadataImage::Empty("c"), Batch({}));
  EXPECT_EQ(image->offset(), 0);
  image = *image->Apply(Batch({}), 7);
  EXPECT_EQ(image->offset(), 7);
}

TEST(MetadataImageTest, BrokerRegistrationFencingAndEndpoints) {
  ImagePtr image = Next(MetadataImage::Empty("c"), Batch({RegisterBroker(1, 5)}));
  const BrokerRegistration* b = image->broker(1);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->fenced);
  EXPECT_EQ(b->epoch, 5);
  EXPECT_EQ(b->incarnation_id, "inc1");
  EXPECT_EQ(b->rack, "rack1");
  ASSERT_NE(b->endpoint("PLAINTEXT"), nullptr);
  EXPECT_EQ(b->endpoint("PLAINTEXT")->port, 9092);
  EXPECT_EQ(b->endpoint("CONTROLLER")->port, 19092);
  EXPECT_EQ(b->endpoint("SSL"), nullptr);
  EXPECT_FALSE(image->IsBrokerLive(1));

  image = Next(image, Batch({Unfence(1, 5)}));
  EXPECT_TRUE(image->IsBrokerLive(1));
  EXPECT_THAT(image->LiveBrokerIds(), ElementsAre(1));
  image = Next(image, Batch({Fence(1, 5)}));
  EXPECT_FALSE(image->IsBrokerLive(1));
  EXPECT_FALSE(image->IsBrokerLive(2));  // unknown
}

TEST(MetadataImageTest, StaleFenceAndUnfenceAreIgnored) {
  ImagePtr image = Next(MetadataImage::Empty("c"), Batch({RegisterBroker(1, 5, /*fenced=*/false)}));
  // Written for an epoch that is not the current registration's.
  image = Next(image, Batch({Fence(1, 4), Fence(7, 1)}));
  EXPECT_TRUE(image->IsBrokerLive(1));
  image = Next(image, Batch({RegisterBroker(1, 9)}));
  image = Next(image, Batch({Unfence(1, 5)}));
  EXPECT_FALSE(image->IsBrokerLive(1));
  image = Next(image, Batch({Unfence(1, 9)}));
  EXPECT_TRUE(image->IsBrokerLive(1));
}

TEST(MetadataImageTest, ReRegistrationReplacesTheEarlierOne) {
  ImagePtr image = Next(MetadataImage::Empty("c"), Batch({RegisterBroker(1, 5, false, "old")}));
  image = Next(image, Batch({RegisterBroker(1, 8, true, "new")}));
  EXPECT_EQ(image->broker(1)->incarnation_id, "new1");
  EXPECT_EQ(image->broker(1)->epoch, 8);
  EXPECT_TRUE(image->broker(1)->fenced);
  EXPECT_EQ(image->brokers().size(), 1u);
}

TEST(MetadataImageTest, TopicsAndPartitions) {
  ImagePtr image = ThreeBrokersAndOrders();
  const TopicInfo* t = image->FindTopic("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->topic_id, kOrders);
  EXPECT_EQ(image->FindTopicById(kOrders), t);
  EXPECT_EQ(image->FindTopicById(kAudit), nullptr);
  const PartitionInfo* p = image->FindPartition("orders", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(p->replicas, ElementsAre(3, 1, 2));
  EXPECT_EQ(p->leader, 3);
  EXPECT_TRUE(p->had_leader);
  EXPECT_EQ(image->FindPartition("orders", 2), nullptr);
  EXPECT_EQ(image->FindPartition("nope", 0), nullptr);
}

TEST(MetadataImageTest, PartitionChangeEpochs) {
  ImagePtr image = ThreeBrokersAndOrders();
  // ISR shrink only: the partition epoch moves, the leader epoch does not.
  image = Next(image, Batch({Change(kOrders, 0, std::nullopt, std::vector<int32_t>{3, 1})}));
  const PartitionInfo* p = image->FindPartition("orders", 0);
  EXPECT_THAT(p->isr, ElementsAre(3, 1));
  EXPECT_EQ(p->leader_epoch, 0);
  EXPECT_EQ(p->partition_epoch, 1);
  // A new leader: both move.
  image = Next(image, Batch({Change(kOrders, 0, 1, std::vector<int32_t>{1})}));
  p = image->FindPartition("orders", 0);
  EXPECT_EQ(p->leader, 1);
  EXPECT_EQ(p->leader_epoch, 1);
  EXPECT_EQ(p->partition_epoch, 2);
  // Naming the same leader again is not a leader change.
  image = Next(image, Batch({Change(kOrders, 0, 1)}));
  p = image->FindPartition("orders", 0);
  EXPECT_EQ(p->leader_epoch, 1);
  EXPECT_EQ(p->partition_epoch, 3);
  // No leader: OFFLINE, not NEW, since it had one.
  image = Next(image, Batch({Change(kOrders, 0, -1, std::vector<int32_t>{})}));
  p = image->FindPartition("orders", 0);
  EXPECT_EQ(p->leader, -1);
  EXPECT_EQ(p->leader_epoch, 2);
  EXPECT_TRUE(p->had_leader);
  EXPECT_EQ(image->StateOf(*p), PartitionState::kOffline);
  // Reassignment of replicas.
  image = Next(image,
               Batch({Change(kOrders, 0, 2, std::vector<int32_t>{2}, std::vector<int32_t>{2, 3})}));
  p = image->FindPartition("orders", 0);
  EXPECT_THAT(p->replicas, ElementsAre(2, 3));
  EXPECT_EQ(p->leader, 2);
  EXPECT_EQ(p->leader_epoch, 3);
  EXPECT_EQ(p->partition_epoch, 5);
}

TEST(MetadataImageTest, PartitionAndReplicaStates) {
  ImagePtr image = ThreeBrokersAndOrders();
  // Partition 2 has never had a leader.
  image = Next(image, Batch({Partition(kOrders, 2, {1, 2}, {}, -1)}));
  const PartitionInfo* fresh = image->FindPartition("orders", 2);
  EXPECT_FALSE(fresh->had_leader);
  EXPECT_EQ(image->StateOf(*fresh), PartitionState::kNew);
  EXPECT_EQ(image->StateOfReplica(*fresh, 1), ReplicaState::kNew);
  EXPECT_EQ(image->StateOfReplica(*fresh, 3), ReplicaState::kNonExistent);

  const PartitionInfo* p0 = image->FindPartition("orders", 0);
  EXPECT_EQ(image->StateOf(*p0), PartitionState::kOnline);
  for (int32_t b : {1, 2, 3}) EXPECT_EQ(image->StateOfReplica(*p0, b), ReplicaState::kOnline) << b;
  EXPECT_EQ(image->StateOfReplica(*p0, 4), ReplicaState::kNonExistent);

  // Its leader fenced: OFFLINE until a new leader is elected.
  image = Next(image, Batch({Fence(3, 12)}));
  p0 = image->FindPartition("orders", 0);
  EXPECT_EQ(image->StateOf(*p0), PartitionState::kOffline);
  EXPECT_EQ(image->StateOfReplica(*p0, 3), ReplicaState::kOffline);
  EXPECT_EQ(image->StateOfReplica(*p0, 1), ReplicaState::kOnline);
  EXPECT_EQ(image->StateOf(*image->FindPartition("orders", 1)), PartitionState::kOnline);
}

TEST(MetadataImageTest, ConfigsSetAndUnset) {
  ImagePtr image = ThreeBrokersAndOrders();
  image = Next(image, Batch({Config("orders", "retention.ms", "1000"),
                             Config("orders", "segment.bytes", "1048576")}));
  EXPECT_EQ(
      image->FindTopic("orders")->configs,
      (std::map<std::string, std::string>{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}}));
  image = Next(image, Batch({Config("orders", "retention.ms", std::nullopt),
                             Config("orders", "segment.bytes", "2000000")}));
  EXPECT_EQ(image->FindTopic("orders")->configs,
            (std::map<std::string, std::string>{{"segment.bytes", "2000000"}}));
}

TEST(MetadataImageTest, RemoveTopicAndRecreateTheName) {
  ImagePtr image = ThreeBrokersAndOrders();
  image = Next(image, Batch({Config("orders", "retention.ms", "1000"), RemoveTopic(kOrders)}));
  EXPECT_EQ(image->FindTopic("orders"), nullptr);
  EXPECT_EQ(image->FindTopicById(kOrders), nullptr);
  image = Next(image, Batch({Topic("orders", kAudit), Partition(kAudit, 0, {1}, {1}, 1)}));
  ASSERT_NE(image->FindTopic("orders"), nullptr);
  EXPECT_EQ(image->FindTopic("orders")->topic_id, kAudit);
  EXPECT_THAT(image->FindTopic("orders")->configs, IsEmpty());  // the old topic's went with it
}

TEST(MetadataImageTest, ApplyLeavesTheOriginalUntouched) {
  ImagePtr before = ThreeBrokersAndOrders();
  const std::string snapshot = before->ToSnapshot().SerializeAsString();
  ImagePtr after =
      Next(before, Batch({Fence(1, 10), Change(kOrders, 1, 2, std::vector<int32_t>{2, 3}),
                          Config("orders", "retention.ms", "5"), RemoveTopic(kOrders)}));
  EXPECT_EQ(after->FindTopic("orders"), nullptr);
  EXPECT_EQ(before->ToSnapshot().SerializeAsString(), snapshot);
  EXPECT_TRUE(before->IsBrokerLive(1));
  EXPECT_NE(before->FindTopic("orders"), nullptr);
}

struct BadRecordCase {
  std::string name;
  internal::MetadataRecord record;
  std::string type;     // the record type the error must name
  std::string message;  // and what is wrong
};

class BadRecordTest : public ::testing::TestWithParam<BadRecordCase> {};

TEST_P(BadRecordTest, IsRefusedAndTheImageIsUnchanged) {
  const BadRecordCase& c = GetParam();
  ImagePtr image = ThreeBrokersAndOrders();
  const std::string before = image->ToSnapshot().SerializeAsString();
  // A good record first: the whole batch must be refused, not a prefix.
  auto next =
      image->Apply(Batch({Config("orders", "retention.ms", "1"), c.record}), image->offset() + 1);
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(std::string(next.status().message()), HasSubstr(c.type));
  EXPECT_THAT(std::string(next.status().message()), HasSubstr(c.message));
  EXPECT_EQ(image->ToSnapshot().SerializeAsString(), before);
  EXPECT_THAT(image->FindTopic("orders")->configs, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    MetadataImage, BadRecordTest,
    ::testing::Values(
        BadRecordCase{"NegativeBrokerId", RegisterBroker(-1, 20), "RegisterBrokerRecord",
                      "negative"},
        BadRecordCase{"EpochNotAbove", RegisterBroker(2, 11), "RegisterBrokerRecord",
                      "not above its current epoch 11"},
        BadRecordCase{"DuplicateTopicName", Topic("orders", kAudit), "TopicRecord",
                      "'orders' already exists"},
        BadRecordCase{"DuplicateTopicId", Topic("audit", kOrders), "TopicRecord",
                      "already used by topic 'orders'"},
        BadRecordCase{"EmptyTopicName", Topic("", kAudit), "TopicRecord", "empty"},
        BadRecordCase{"PartitionOfUnknownTopic", Partition(kAudit, 0, {1}, {1}, 1),
                      "PartitionRecord", "unknown topic id"},
        BadRecordCase{"PartitionExists", Partition(kOrders, 1, {1}, {1}, 1), "PartitionRecord",
                      "already exists"},
        BadRecordCase{"NoReplicas", Partition(kOrders, 2, {}, {}, -1), "PartitionRecord",
                      "replica list is empty"},
        BadRecordCase{"RepeatedReplica", Partition(kOrders, 2, {1, 1}, {1}, 1), "PartitionRecord",
                      "repeat broker 1"},
        BadRecordCase{"IsrNotReplica", Partition(kOrders, 2, {1, 2}, {1, 3}, 1), "PartitionRecord",
                      "not a replica"},
        BadRecordCase{"LeaderNotInIsr", Partition(kOrders, 2, {1, 2}, {1}, 2), "PartitionRecord",
                      "leader 2 is not in the ISR"},
        BadRecordCase{"NegativeEpoch", Partition(kOrders, 2, {1}, {1}, 1, -1), "PartitionRecord",
                      "negative epoch"},
        BadRecordCase{"ChangeOfUnknownPartition", Change(kOrders, 9, 1), "PartitionChangeRecord",
                      "partition 9 of topic 'orders' does not exist"},
        BadRecordCase{"ChangeOfUnknownTopic", Change(kAudit, 0, 1), "PartitionChangeRecord",
                      "unknown topic id"},
        BadRecordCase{"ChangeToNonReplicaLeader", Change(kOrders, 0, 7), "PartitionChangeRecord",
                      "leader 7 is not in the ISR"},
        BadRecordCase{"ChangeIsrOutsideReplicas",
                      Change(kOrders, 0, std::nullopt, std::vector<int32_t>{3, 4}),
                      "PartitionChangeRecord", "not a replica"},
        BadRecordCase{
            "AddingNotAReplica",
            Change(kOrders, 0, std::nullopt, std::nullopt, std::vector<int32_t>{3, 1, 2}, {9}),
            "PartitionChangeRecord", "reassigning broker 9 is not a replica"},
        BadRecordCase{"RemovingEveryReplica",
                      Change(kOrders, 0, std::nullopt, std::nullopt, std::vector<int32_t>{3, 1, 2},
                             {}, {3, 1, 2}),
                      "PartitionChangeRecord", "leaves no target"},
        BadRecordCase{"ConfigOfUnknownTopic", Config("audit", "retention.ms", "1"), "ConfigRecord",
                      "unknown topic 'audit'"},
        BadRecordCase{"RemoveUnknownTopic", RemoveTopic(kAudit), "RemoveTopicRecord",
                      "unknown topic id"},
        BadRecordCase{"EmptyRecord", internal::MetadataRecord(), "empty record", "no content"}),
    [](const ::testing::TestParamInfo<BadRecordCase>& info) { return info.param.name; });

TEST(MetadataImageTest, ErrorNamesTheEntryAndRecordIndex) {
  ImagePtr image = ThreeBrokersAndOrders();
  auto next = image->Apply(Batch({Fence(1, 10), RemoveTopic(kAudit)}), 42);
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(std::string(next.status().message()),
              HasSubstr("RemoveTopicRecord (record 1 of metadata log entry 42)"));
}

TEST(MetadataImageTest, OffsetMustMoveForward) {
  ImagePtr image = ThreeBrokersAndOrders();
  auto again = image->Apply(Batch({Fence(1, 10)}), image->offset());
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("is not after the image's offset"));
  EXPECT_TRUE(image->IsBrokerLive(1));
}

// An image with every kind of state a snapshot must carry.
ImagePtr RichImage() {
  ImagePtr image = ThreeBrokersAndOrders();
  image = Next(image, Batch({RegisterBroker(4, 30), RegisterBroker(2, 31, false, "again")}));
  image = Next(image, Batch({Fence(3, 12), Change(kOrders, 0, 1, std::vector<int32_t>{1, 2}),
                             Change(kOrders, 1, std::nullopt, std::vector<int32_t>{1, 2})}));
  image = Next(image, Batch({Topic("audit", kAudit), Partition(kAudit, 0, {3}, {3}, 3, 4, 6),
                             Partition(kAudit, 1, {4, 3}, {}, -1),
                             Config("audit", "cleanup.policy", "compact"),
                             Config("audit", "retention.ms", "-1")}));
  // audit-0 loses its leader (OFFLINE); audit-1 never had one (NEW).
  image = Next(image, Batch({Change(kAudit, 0, -1, std::vector<int32_t>{})}));
  // orders-1 moves from [1,2,3] to [4,1] (adding 4, removing 2 and 3); a
  // throttle on broker 1 and a cluster-wide one.
  internal::MetadataRecord move =
      Change(kOrders, 1, std::nullopt, std::nullopt, std::vector<int32_t>{4, 1, 2, 3}, {4}, {2, 3});
  image = Next(image, Batch({move, BrokerConfig("1", "leader.replication.throttled.rate", "1000"),
                             BrokerConfig("", "leader.replication.throttled.rate", "1000")}));
  return image;
}

TEST(MetadataImageTest, AReassignmentUnderWayAndItsEnd) {
  ImagePtr image = ThreeBrokersAndOrders();
  internal::MetadataRecord move =
      Change(kOrders, 1, std::nullopt, std::nullopt, std::vector<int32_t>{2, 3, 1}, {}, {1});
  image = Next(image, Batch({move}));
  const PartitionInfo* p = image->FindPartition("orders", 1);
  EXPECT_TRUE(p->reassigning());
  EXPECT_THAT(p->original_replicas(), ElementsAre(2, 3, 1));
  EXPECT_THAT(p->target_replicas(), ElementsAre(2, 3));
  EXPECT_EQ(p->leader_epoch, 0) << "no replica left yet";
  // The end: broker 1 (the leader) leaves; broker 2 leads.
  image =
      Next(image,
           Batch({Change(kOrders, 1, 2, std::vector<int32_t>{2, 3}, std::vector<int32_t>{2, 3})}));
  p = image->FindPartition("orders", 1);
  EXPECT_FALSE(p->reassigning());
  EXPECT_EQ(p->leader_epoch, 1) << "one bump for the new leader and the removal together";
  // A removal with the same leader bumps the leader epoch too, so the
  // removed replica's fetches are fenced.
  image = Next(
      image,
      Batch({Change(kOrders, 1, std::nullopt, std::vector<int32_t>{2}, std::vector<int32_t>{2})}));
  EXPECT_EQ(image->FindPartition("orders", 1)->leader_epoch, 2);
}

TEST(MetadataImageTest, SnapshotRoundTripsExactly) {
  ImagePtr image = RichImage();
  const PartitionInfo* offline = image->FindPartition("audit", 0);
  ASSERT_TRUE(offline->had_leader);
  ASSERT_EQ(offline->leader, -1);
  ASSERT_EQ(image->StateOf(*offline), PartitionState::kOffline);
  ASSERT_EQ(image->StateOf(*image->FindPartition("audit", 1)), PartitionState::kNew);

  internal::MetadataSnapshot snapshot = image->ToSnapshot();
  EXPECT_EQ(snapshot.cluster_id(), "cluster-a");
  EXPECT_EQ(snapshot.offset(), image->offset());
  auto restored = MetadataImage::FromSnapshot(snapshot, image->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  ExpectSameImage(*image, **restored);
  EXPECT_EQ((*restored)->StateOf(*(*restored)->FindPartition("audit", 0)),
            PartitionState::kOffline);
  EXPECT_EQ((*restored)->StateOf(*(*restored)->FindPartition("audit", 1)), PartitionState::kNew);
  // And again: a snapshot of the restored image is the same snapshot.
  EXPECT_EQ((*restored)->ToSnapshot().SerializeAsString(), snapshot.SerializeAsString());

  // The restored image goes on exactly as the original would.
  auto batch = Batch({Unfence(3, 12), Change(kAudit, 0, 3, std::vector<int32_t>{3})});
  ExpectSameImage(*Next(image, batch), *Next(*restored, batch));
}

TEST(MetadataImageTest, EveryListenerABrokerRegistersIsKeptWithItsProtocol) {
  internal::MetadataRecord reg = RegisterBroker(1, 1, false);
  internal::BrokerEndpoint kafka = ListenerEndpoint("KAFKA", "localhost", 29092);
  kafka.set_security_protocol("PLAINTEXT");
  *reg.mutable_register_broker()->add_endpoints() = kafka;
  ImagePtr image = Next(MetadataImage::Empty("c"), Batch({reg}));
  const BrokerRegistration* b = image->broker(1);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(b->endpoint("KAFKA"), nullptr);
  EXPECT_EQ(b->endpoint("KAFKA")->port, 29092);
  EXPECT_EQ(b->endpoint("KAFKA")->security_protocol, "PLAINTEXT");
  EXPECT_EQ(b->endpoint("PLAINTEXT")->security_protocol, "") << "as recorded before it existed";
  auto restored = MetadataImage::FromSnapshot(image->ToSnapshot(), image->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->broker(1)->endpoints, b->endpoints);
}

TEST(MetadataImageTest, SnapshotOfEmptyImage) {
  ImagePtr empty = MetadataImage::Empty("c");
  auto restored = MetadataImage::FromSnapshot(empty->ToSnapshot(), -1);
  ASSERT_TRUE(restored.ok());
  ExpectSameImage(*empty, **restored);
}

TEST(MetadataImageTest, BadSnapshotIsRefused) {
  internal::MetadataSnapshot snapshot;
  *snapshot.add_records() = Partition(kOrders, 0, {1}, {1}, 1);
  auto restored = MetadataImage::FromSnapshot(snapshot, 5);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr("PartitionRecord (record 0 of the snapshot"));
}

TEST(MetadataImageTest, ApplyIsDeterministic) {
  // Two nodes applying the same log hold the same image.
  std::vector<internal::MetadataRecordBatch> log = {
      Batch({RegisterBroker(1, 0), RegisterBroker(2, 0), RegisterBroker(3, 0)}),
      Batch({Unfence(3, 0), Unfence(1, 0), Unfence(2, 0)}),
      Batch({Topic("b", kAudit), Topic("a", kOrders), Partition(kOrders, 0, {2, 3}, {2, 3}, 2),
             Partition(kAudit, 0, {1, 2}, {1, 2}, 1), Config("a", "retention.ms", "9")}),
      Batch({Fence(2, 0), Change(kOrders, 0, 3, std::vector<int32_t>{3}),
             Change(kAudit, 0, std::nullopt, std::vector<int32_t>{1})}),
  };
  ImagePtr x = MetadataImage::Empty("c");
  ImagePtr y = MetadataImage::Empty("c");
  for (const auto& batch : log) {
    x = Next(x, batch);
    y = Next(y, batch);
  }
  ExpectSameImage(*x, *y);
  EXPECT_EQ(x->ToSnapshot().SerializeAsString(), y->ToSnapshot().SerializeAsString());
}

}  // namespace
}  // namespace strata::metadata
