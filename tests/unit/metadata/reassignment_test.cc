// The controller's reassignment (KIP-455), manual assignments, broker
// unregistration and dynamic configs, decided against an image and
// committed to it as the metadata log would.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/controller_fixture.h"

namespace strata::metadata {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ReassignmentTest : public ThreeBrokerTest {
 protected:
  // Creates `name` with a manual assignment.
  TopicResult CreateAssigned(const std::string& name, std::vector<std::vector<int32_t>> replicas) {
    CreateTopicsRequest req;
    NewTopic t;
    t.name = name;
    for (size_t i = 0; i < replicas.size(); ++i) {
      t.assignments[static_cast<int32_t>(i)] = replicas[i];
    }
    req.topics.push_back(std::move(t));
    auto d = controller_.CreateTopics(*image_, req);
    EXPECT_EQ(d.response.results.size(), 1u);
    if (d.response.results[0].error != ErrorCode::kNone) {
      EXPECT_EQ(d.records.records_size(), 0);
    }
    Commit(d.records);
    return d.response.results[0];
  }

  // Reassigns (or, with nullopt, cancels) one partition; commits.
  ReassignPartitionResult Reassign(const std::string& topic, int32_t partition,
                                   std::optional<std::vector<int32_t>> replicas) {
    AlterPartitionReassignmentsRequest req;
    req.partitions.push_back({topic, partition, std::move(replicas)});
    auto d = controller_.AlterPartitionReassignments(*image_, req);
    EXPECT_EQ(d.response.results.size(), 1u);
    if (d.response.results[0].error != ErrorCode::kNone) {
      EXPECT_EQ(d.records.records_size(), 0) << "a refused reassignment writes nothing";
    }
    Commit(d.records);
    return d.response.results[0];
  }

  // The brokers in `ids` miss their session (the others heartbeat): fenced
  // by the tick, which moves their leadership.
  void Expire(const std::vector<int32_t>& ids) {
    now_ += kSession + 1;
    // Each commit replaces the image: take the live ids first.
    for (int32_t id : image_->LiveBrokerIds()) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) Commit(Heartbeat(id).records);
    }
    Commit(controller_.Tick(*image_, now_));
    for (int32_t id : ids) ASSERT_FALSE(image_->IsBrokerLive(id));
  }

  const PartitionInfo& P(const std::string& topic, int32_t partition) {
    return *image_->FindPartition(topic, partition);
  }
};

// --- Manual assignment on create --------------------------------------------

TEST_F(ReassignmentTest, CreateWithAManualAssignment) {
  TopicResult r = CreateAssigned("t", {{2}, {3}});
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
  EXPECT_EQ(r.num_partitions, 2);
  EXPECT_EQ(r.replication_factor, 1);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(2));
  EXPECT_EQ(P("t", 0).leader, 2);
  EXPECT_THAT(P("t", 1).replicas, ElementsAre(3));
  EXPECT_EQ(P("t", 1).leader, 3);

  ASSERT_EQ(CreateAssigned("u", {{1, 2}, {2, 3}, {3, 1}}).error, ErrorCode::kNone);
  EXPECT_THAT(P("u", 2).replicas, ElementsAre(3, 1));
  EXPECT_EQ(P("u", 2).leader, 3);
}

TEST_F(ReassignmentTest, BadManualAssignmentsAreRefused) {
  struct Case {
    std::vector<std::vector<int32_t>> replicas;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{{}}, "is empty"},
           {{{1, 1}}, "repeats broker 1"},
           {{{9}}, "broker 9, which is not registered"},
           {{{1, 2}, {3}}, "every partition needs the same number"},
       }) {
    TopicResult r = CreateAssigned("bad", c.replicas);
    EXPECT_EQ(r.error, ErrorCode::kInvalidReplicaAssignment);
    EXPECT_THAT(r.error_message, HasSubstr(c.error));
    EXPECT_EQ(image_->FindTopic("bad"), nullptr);
  }
  // Partitions must be numbered from 0 without gaps.
  CreateTopicsRequest gap;
  gap.topics.push_back(NewTopic{.name = "gap", .configs = {}, .assignments = {{0, {1}}, {2, {2}}}});
  auto d = controller_.CreateTopics(*image_, gap);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kInvalidReplicaAssignment);
  EXPECT_THAT(d.response.results[0].error_message, HasSubstr("partition 1 is missing"));
  // And a count given with the assignment is an invalid request, as in Kafka.
  CreateTopicsRequest both;
  both.topics.push_back(
      NewTopic{.name = "both", .num_partitions = 1, .configs = {}, .assignments = {{0, {1}}}});
  d = controller_.CreateTopics(*image_, both);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(d.records.records_size(), 0);
}

// --- Reassignment -------------------------------------------------------------

TEST_F(ReassignmentTest, MoveAddsTheTargetFirstAndFinishesWhenItIsInSync) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  const int32_t leader_epoch = P("t", 0).leader_epoch;
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1}).error, ErrorCode::kNone);
  // Under way: target first, then the replica being removed.
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(1, 2));
  EXPECT_THAT(P("t", 0).adding_replicas, ElementsAre(1));
  EXPECT_THAT(P("t", 0).removing_replicas, ElementsAre(2));
  EXPECT_THAT(P("t", 0).isr, ElementsAre(2));
  EXPECT_EQ(P("t", 0).leader, 2);
  EXPECT_EQ(P("t", 0).leader_epoch, leader_epoch) << "adding a replica fences nobody";

  // Broker 1 caught up: the leader asks for it in the ISR, and that
  // finishes the move — broker 1 leads, broker 2 is gone.
  internal::AlterPartitionResponse r = AlterIsr("t", 0, 2, {2, 1});
  ASSERT_EQ(r.error(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.leader(), 1);
  EXPECT_THAT(r.isr(), ElementsAre(1));
  const PartitionInfo& p = P("t", 0);
  EXPECT_THAT(p.replicas, ElementsAre(1));
  EXPECT_THAT(p.isr, ElementsAre(1));
  EXPECT_EQ(p.leader, 1);
  EXPECT_FALSE(p.reassigning());
  EXPECT_EQ(p.leader_epoch, leader_epoch + 1);
  EXPECT_EQ(r.leader_epoch(), p.leader_epoch);
  EXPECT_EQ(r.partition_epoch(), p.partition_epoch);
}

TEST_F(ReassignmentTest, RaisingTheReplicationFactorKeepsTheLeaderAndItsEpoch) {
  ASSERT_EQ(CreateAssigned("t", {{1}, {2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1, 2}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 1, std::vector<int32_t>{2, 3}).error, ErrorCode::kNone);
  EXPECT_THAT(P("t", 0).adding_replicas, ElementsAre(2));
  EXPECT_THAT(P("t", 0).removing_replicas, IsEmpty());
  const int32_t epoch0 = P("t", 0).leader_epoch;
  internal::AlterPartitionResponse r = AlterIsr("t", 0, 1, {1, 2});
  ASSERT_EQ(r.error(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.leader(), 1);
  EXPECT_EQ(r.leader_epoch(), epoch0);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(1, 2));
  EXPECT_THAT(P("t", 0).isr, ElementsAre(1, 2));
  EXPECT_FALSE(P("t", 0).reassigning());
  EXPECT_EQ(P("t", 0).leader_epoch, epoch0);
  ASSERT_EQ(AlterIsr("t", 1, 2, {2, 3}).error(), v1::NONE);
  EXPECT_THAT(P("t", 1).replicas, ElementsAre(2, 3));
  EXPECT_THAT(P("t", 1).isr, ElementsAre(2, 3));
}

TEST_F(ReassignmentTest, ATargetAlreadyInSyncFinishesAtOnceAndMovesTheLeader) {
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  MarkAllInSync("t");
  const int32_t leader = P("t", 0).leader;
  std::vector<int32_t> target;
  for (int32_t b : {1, 2, 3}) {
    if (b != leader) target.push_back(b);
  }
  ASSERT_EQ(Reassign("t", 0, target).error, ErrorCode::kNone);
  EXPECT_EQ(P("t", 0).replicas, target);
  EXPECT_EQ(P("t", 0).isr, target);
  EXPECT_EQ(P("t", 0).leader, target.front());
  EXPECT_FALSE(P("t", 0).reassigning());
}

TEST_F(ReassignmentTest, CancelRestoresTheOriginalReplicas) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1, 3}).error, ErrorCode::kNone);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(1, 3, 2));
  // Broker 1 joined the ISR on the way (3 has not).
  ASSERT_EQ(AlterIsr("t", 0, 2, {2, 1}).error(), v1::NONE);
  EXPECT_TRUE(P("t", 0).reassigning());
  ASSERT_EQ(Reassign("t", 0, std::nullopt).error, ErrorCode::kNone);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(2));
  EXPECT_THAT(P("t", 0).isr, ElementsAre(2));
  EXPECT_EQ(P("t", 0).leader, 2);
  EXPECT_FALSE(P("t", 0).reassigning());

  ReassignPartitionResult again = Reassign("t", 0, std::nullopt);
  EXPECT_EQ(again.error, ErrorCode::kNoReassignmentInProgress);
  EXPECT_THAT(again.error_message, HasSubstr("t-0"));
}

TEST_F(ReassignmentTest, ANewTargetReplacesTheOneUnderWay) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1}).error, ErrorCode::kNone);
  ASSERT_EQ(AlterIsr("t", 0, 2, {2, 1}).error(), v1::NONE);  // finishes: on 1 now
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{2}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{3}).error, ErrorCode::kNone);
  // Still measured from the replicas before any move under way: [1].
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(3, 1));
  EXPECT_THAT(P("t", 0).adding_replicas, ElementsAre(3));
  EXPECT_THAT(P("t", 0).removing_replicas, ElementsAre(1));
  EXPECT_THAT(P("t", 0).isr, ElementsAre(1));
}

TEST_F(ReassignmentTest, ANewControllerCarriesOnFromTheRecords) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1}).error, ErrorCode::kNone);
  // Failover: a fresh controller, and the image rebuilt from a snapshot.
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  image_ = *restored;
  EXPECT_THAT(P("t", 0).adding_replicas, ElementsAre(1));
  Controller fresh(Options());
  internal::AlterPartitionRequest req;
  req.set_broker_id(2);
  req.set_broker_epoch(image_->broker(2)->epoch);
  req.set_topic_id(image_->FindTopic("t")->topic_id);
  req.set_partition(0);
  req.set_leader_epoch(P("t", 0).leader_epoch);
  req.set_partition_epoch(P("t", 0).partition_epoch);
  req.add_new_isr(2);
  req.add_new_isr(1);
  auto d = fresh.AlterPartition(*image_, req);
  ASSERT_EQ(d.response.error(), v1::NONE) << d.response.error_message();
  Commit(d.records);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(1));
  EXPECT_EQ(P("t", 0).leader, 1);
}

TEST_F(ReassignmentTest, BadReassignmentsChangeNothing) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  struct Case {
    std::string topic;
    int32_t partition;
    std::vector<int32_t> replicas;
    ErrorCode code;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"missing",
            0,
            {1},
            ErrorCode::kUnknownTopicOrPartition,
            "Topic 'missing' does not exist"},
           {"t", 5, {1}, ErrorCode::kUnknownTopicOrPartition, "t-5 does not exist"},
           {"t", 0, {}, ErrorCode::kInvalidReplicaAssignment, "is empty"},
           {"t", 0, {1, 1}, ErrorCode::kInvalidReplicaAssignment, "repeats broker 1"},
           {"t",
            0,
            {1, 7},
            ErrorCode::kInvalidReplicaAssignment,
            "broker 7, which is not registered"},
       }) {
    ReassignPartitionResult r = Reassign(c.topic, c.partition, c.replicas);
    EXPECT_EQ(r.error, c.code) << c.error;
    EXPECT_THAT(r.error_message, HasSubstr(c.error));
  }
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(2));

  // A partition named twice in one request.
  AlterPartitionReassignmentsRequest twice;
  twice.partitions.push_back({"t", 0, std::vector<int32_t>{1}});
  twice.partitions.push_back({"t", 0, std::vector<int32_t>{3}});
  auto d = controller_.AlterPartitionReassignments(*image_, twice);
  EXPECT_EQ(d.records.records_size(), 0);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kInvalidRequest);
}

TEST_F(ReassignmentTest, MovesStayWithinABrokersReplicaCapacity) {
  StartBroker(4, "inc", /*capacity=*/1);
  ASSERT_EQ(CreateAssigned("t", {{1}, {2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{4}).error, ErrorCode::kNone);
  ReassignPartitionResult r = Reassign("t", 1, std::vector<int32_t>{4});
  EXPECT_EQ(r.error, ErrorCode::kPolicyViolation);
  EXPECT_THAT(r.error_message, HasSubstr("broker 4"));
  EXPECT_THAT(P("t", 1).replicas, ElementsAre(2));
}

TEST_F(ReassignmentTest, CancelHandsLeadershipBackFromAnAddingReplica) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{1, 3}).error, ErrorCode::kNone);
  ASSERT_EQ(AlterIsr("t", 0, 2, {2, 1}).error(), v1::NONE);  // 1 caught up, 3 not yet
  // The preferred replica (1, being added) takes the lead mid-move.
  ElectLeadersResponse e = Elect(ElectionType::kPreferred, "t", {0});
  ASSERT_EQ(P("t", 0).leader, 1) << e.results[0].error_message;
  const int32_t epoch = P("t", 0).leader_epoch;
  ASSERT_EQ(Reassign("t", 0, std::nullopt).error, ErrorCode::kNone);
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(2));
  EXPECT_THAT(P("t", 0).isr, ElementsAre(2));
  EXPECT_EQ(P("t", 0).leader, 2) << "an original in-sync replica takes over";
  EXPECT_GT(P("t", 0).leader_epoch, epoch);
}

TEST_F(ReassignmentTest, AnOfflinePartitionCanStillBeMovedAndCancelled) {
  ASSERT_EQ(CreateAssigned("t", {{2, 1}}).error, ErrorCode::kNone);
  MarkAllInSync("t");
  // Brokers 1 and 2 stop heartbeating: the partition goes offline.
  Expire({1, 2});
  ASSERT_EQ(P("t", 0).leader, -1);
  // Moving it to [2] (dropping 1) is accepted; it cannot finish until 2
  // is back to lead.
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{2}).error, ErrorCode::kNone);
  EXPECT_THAT(P("t", 0).removing_replicas, ElementsAre(1));
  EXPECT_EQ(P("t", 0).leader, -1);
  // And cancelling it too.
  ASSERT_EQ(Reassign("t", 0, std::nullopt).error, ErrorCode::kNone);
  EXPECT_FALSE(P("t", 0).reassigning());
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{2}).error, ErrorCode::kNone);
  // Broker 2 returns and is elected; the next quiet tick finishes the move.
  StartBroker(2, "back");
  ASSERT_EQ(P("t", 0).leader, 2);
  EXPECT_TRUE(P("t", 0).reassigning());
  Commit(controller_.Tick(*image_, now_));
  EXPECT_FALSE(P("t", 0).reassigning());
  EXPECT_THAT(P("t", 0).replicas, ElementsAre(2));
}

TEST_F(ReassignmentTest, NewPartitionsTakeTheTargetsReplicationFactor) {
  ASSERT_EQ(CreateAssigned("t", {{1, 2}}).error, ErrorCode::kNone);
  ASSERT_EQ(Reassign("t", 0, std::vector<int32_t>{3, 1}).error, ErrorCode::kNone);
  ASSERT_EQ(P("t", 0).replicas.size(), 3u) << "target then the one leaving";
  CreatePartitionsRequest grow;
  grow.topics.push_back({"t", 2});
  auto d = controller_.CreatePartitions(*image_, grow);
  ASSERT_EQ(d.response.results[0].error, ErrorCode::kNone) << d.response.results[0].error_message;
  Commit(d.records);
  EXPECT_EQ(P("t", 1).replicas.size(), 2u);
}

TEST_F(ReassignmentTest, AnUncleanElectionPrefersAReplicaThatIsNotBeingAdded) {
  CreateTopicsRequest req;
  NewTopic t;
  t.name = "u";
  t.configs = {{"unclean.leader.election.enable", "true"}};
  t.assignments[0] = {1, 2};
  req.topics.push_back(t);
  Commit(controller_.CreateTopics(*image_, req).records);
  MarkAllInSync("u");
  // Broker 2 falls behind (out of the ISR, still running); the partition
  // moves to [3,2], so 3 is being added — and first in the list.
  ASSERT_EQ(AlterIsr("u", 0, 1, {1}).error(), v1::NONE);
  ASSERT_EQ(Reassign("u", 0, std::vector<int32_t>{3, 2}).error, ErrorCode::kNone);
  ASSERT_THAT(P("u", 0).replicas, ElementsAre(3, 2, 1));
  // The leader dies with the ISR: an unclean election between 2 (behind)
  // and 3 (being added, maybe empty) must take 2.
  Expire({1});
  EXPECT_EQ(P("u", 0).leader, 2);
}

// --- Unregistering brokers ------------------------------------------------------

TEST_F(ReassignmentTest, OnlyAStoppedBrokerWithoutReplicasIsUnregistered) {
  ASSERT_EQ(CreateAssigned("t", {{3}, {3}}).error, ErrorCode::kNone);
  auto d = controller_.UnregisterBroker(*image_, {.broker_id = 9});
  EXPECT_EQ(d.response.error, ErrorCode::kBrokerIdNotRegistered);

  d = controller_.UnregisterBroker(*image_, {.broker_id = 3});
  EXPECT_EQ(d.response.error, ErrorCode::kInvalidRequest);
  EXPECT_THAT(d.response.error_message, HasSubstr("t-0, t-1"));
  EXPECT_EQ(d.records.records_size(), 0);

  d = controller_.UnregisterBroker(*image_, {.broker_id = 2});
  EXPECT_EQ(d.response.error, ErrorCode::kInvalidRequest);
  EXPECT_THAT(d.response.error_message, HasSubstr("running"));

  auto hb = Heartbeat(2, /*want_shutdown=*/true);
  Commit(hb.records);
  ASSERT_FALSE(image_->IsBrokerLive(2));
  d = controller_.UnregisterBroker(*image_, {.broker_id = 2});
  ASSERT_EQ(d.response.error, ErrorCode::kNone) << d.response.error_message;
  Commit(d.records);
  EXPECT_EQ(image_->broker(2), nullptr);
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->broker(2), nullptr);
}

// --- Configs -----------------------------------------------------------------

TEST_F(ReassignmentTest, ThrottleConfigsAreSetAndDeleted) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  IncrementalAlterConfigsRequest req;
  req.resources.push_back(
      {ConfigResourceType::kBroker,
       "1",
       {{"leader.replication.throttled.rate", AlterConfigOpType::kSet, "10000000"},
        {"follower.replication.throttled.rate", AlterConfigOpType::kSet, "10000000"}}});
  req.resources.push_back(
      {ConfigResourceType::kTopic,
       "t",
       {{"leader.replication.throttled.replicas", AlterConfigOpType::kSet, "0:2"}}});
  auto d = controller_.IncrementalAlterConfigs(*image_, req);
  ASSERT_EQ(d.response.results.size(), 2u);
  for (const AlterConfigsResult& r : d.response.results) {
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_message;
  }
  Commit(d.records);
  EXPECT_EQ(image_->BrokerConfig(1, "leader.replication.throttled.rate"), "10000000");
  EXPECT_EQ(image_->BrokerConfig(2, "leader.replication.throttled.rate"), std::nullopt);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("leader.replication.throttled.replicas"), "0:2");
  EXPECT_TRUE(ImageShows(*image_, req, d.response));

  // The cluster default applies to brokers without their own value.
  IncrementalAlterConfigsRequest def;
  def.resources.push_back(
      {ConfigResourceType::kBroker,
       "",
       {{"follower.replication.throttled.rate", AlterConfigOpType::kSet, "5"}}});
  Commit(controller_.IncrementalAlterConfigs(*image_, def).records);
  EXPECT_EQ(image_->BrokerConfig(3, "follower.replication.throttled.rate"), "5");
  EXPECT_EQ(image_->BrokerConfig(1, "follower.replication.throttled.rate"), "10000000");

  IncrementalAlterConfigsRequest del;
  del.resources.push_back(
      {ConfigResourceType::kBroker,
       "1",
       {{"leader.replication.throttled.rate", AlterConfigOpType::kDelete, ""}}});
  Commit(controller_.IncrementalAlterConfigs(*image_, del).records);
  EXPECT_EQ(image_->BrokerConfig(1, "leader.replication.throttled.rate"), std::nullopt);
  // Broker configs survive a snapshot.
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->BrokerConfig(1, "follower.replication.throttled.rate"), "10000000");
}

TEST_F(ReassignmentTest, BadConfigsChangeNothing) {
  ASSERT_EQ(CreateAssigned("t", {{2}}).error, ErrorCode::kNone);
  struct Case {
    AlterConfigsResource resource;
    ErrorCode code;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{ConfigResourceType::kBroker,
             "1",
             {{"leader.replication.throttled.rate", AlterConfigOpType::kSet, "-5"}}},
            ErrorCode::kInvalidConfig,
            "Invalid value -5"},
           {{ConfigResourceType::kBroker,
             "1",
             {{"log.retention.hours", AlterConfigOpType::kSet, "5"}}},
            ErrorCode::kInvalidConfig,
            "Cannot update these configs dynamically: Set(log.retention.hours)"},
           {{ConfigResourceType::kBroker,
             "x",
             {{"leader.replication.throttled.rate", AlterConfigOpType::kSet, "5"}}},
            ErrorCode::kInvalidRequest,
            "not a broker id"},
           {{ConfigResourceType::kTopic,
             "t",
             {{"leader.replication.throttled.replicas", AlterConfigOpType::kSet, "0-1"}}},
            ErrorCode::kInvalidConfig,
            "is not partitionId:brokerId"},
           {{ConfigResourceType::kTopic, "nope", {{"retention.ms", AlterConfigOpType::kSet, "5"}}},
            ErrorCode::kUnknownTopicOrPartition,
            "Topic 'nope' does not exist"},
           // One bad op spoils the resource's good ones.
           {{ConfigResourceType::kTopic,
             "t",
             {{"retention.ms", AlterConfigOpType::kSet, "5"},
              {"no.such.config", AlterConfigOpType::kDelete, ""}}},
            ErrorCode::kInvalidConfig,
            "Unknown topic config name: no.such.config"},
       }) {
    IncrementalAlterConfigsRequest req;
    req.resources.push_back(c.resource);
    auto d = controller_.IncrementalAlterConfigs(*image_, req);
    EXPECT_EQ(d.response.results[0].error, c.code) << c.error;
    EXPECT_THAT(d.response.results[0].error_message, HasSubstr(c.error));
    EXPECT_EQ(d.records.records_size(), 0) << c.error;
  }
}

}  // namespace
}  // namespace strata::metadata
