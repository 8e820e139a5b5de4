#include "broker/metadata/controller.h"

#include <cctype>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/controller_fixture.h"
#include "tests/unit/metadata/records.h"

namespace strata::metadata {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Kafka's assignment itself: tests/unit/client/replica_assignment_test.cc.

// --- Topic creation ----------------------------------------------------------

TEST_F(ThreeBrokerTest, CreateTopicRf3SpreadsLeadersOverAllBrokers) {
  script_ = {2, 0};  // start index 2, shift 0
  TopicResult r = Create("topic01", 3, 3);
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
  EXPECT_EQ(r.num_partitions, 3);
  EXPECT_EQ(r.replication_factor, 3);
  EXPECT_EQ(r.topic_id.size(), 22u);
  const TopicInfo* t = image_->FindTopic("topic01");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->topic_id, r.topic_id);
  EXPECT_EQ(ReplicasOf("topic01"), (Assignment{{3, 1, 2}, {1, 2, 3}, {2, 3, 1}}));
  std::set<int32_t> leaders;
  for (const auto& [pid, p] : t->partitions) {
    EXPECT_EQ(p.leader, p.replicas.front()) << "the first live replica leads";
    // A new partition is empty: every live replica is in sync with it.
    EXPECT_EQ(p.isr, p.replicas);
    EXPECT_EQ(p.leader_epoch, 0);
    EXPECT_EQ(image_->StateOf(p), PartitionState::kOnline);
    for (int32_t b : p.replicas) EXPECT_EQ(image_->StateOfReplica(p, b), ReplicaState::kOnline);
    leaders.insert(p.leader);
  }
  EXPECT_THAT(leaders, UnorderedElementsAre(1, 2, 3));
}

TEST_F(ThreeBrokerTest, CreateTopicRf3WithAnyRandomnessSpreadsLeaders) {
  for (uint32_t start = 0; start < 3; ++start) {
    for (uint32_t shift = 0; shift < 3; ++shift) {
      script_ = {start + 3 * 1000, shift + 3 * 77};  // taken modulo the broker count
      const std::string name = "t" + std::to_string(start) + std::to_string(shift);
      ASSERT_EQ(Create(name, 3, 3).error, ErrorCode::kNone);
      std::set<int32_t> leaders;
      for (const auto& replicas : ReplicasOf(name)) {
        EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), 3u);
        leaders.insert(replicas.front());
      }
      EXPECT_THAT(leaders, UnorderedElementsAre(1, 2, 3)) << name;
    }
  }
}

TEST_F(ThreeBrokerTest, CreateTopicRf2HasDistinctReplicas) {
  script_ = {1, 1};
  ASSERT_EQ(Create("pairs", 3, 2).error, ErrorCode::kNone);
  // Start index 1, shift 1: first replicas 2,3,1 and followers two brokers on.
  EXPECT_EQ(ReplicasOf("pairs"), (Assignment{{2, 1}, {3, 2}, {1, 3}}));
  for (const auto& replicas : ReplicasOf("pairs")) EXPECT_NE(replicas[0], replicas[1]);
}

TEST_F(ThreeBrokerTest, CreateTopicUsesDefaults) {
  ControllerOptions o = Options();
  o.default_num_partitions = 4;
  o.default_replication_factor = 2;
  controller_ = Controller(o);
  TopicResult r = Create("defaults", -1, -1);
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
  EXPECT_EQ(r.num_partitions, 4);
  EXPECT_EQ(r.replication_factor, 2);
  EXPECT_EQ(image_->FindTopic("defaults")->partitions.size(), 4u);
}

TEST_F(ThreeBrokerTest, CreateTopicWithConfigs) {
  TopicResult r =
      Create("compacted", 1, 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "1048576"}});
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
  EXPECT_EQ(image_->FindTopic("compacted")->configs,
            (std::map<std::string, std::string>{{"cleanup.policy", "compact"},
                                                {"segment.bytes", "1048576"}}));
}

TEST_F(ThreeBrokerTest, ValidateOnlyAnswersButWritesNothing) {
  TopicResult r = Create("dry", 3, 3, {}, /*validate_only=*/true);
  EXPECT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.num_partitions, 3);
  EXPECT_EQ(image_->FindTopic("dry"), nullptr);
  // And a validate-only request still reports errors.
  EXPECT_EQ(Create("dry", 3, 4, {}, true).error, ErrorCode::kInvalidReplicationFactor);
}

TEST_F(ThreeBrokerTest, InvalidTopicNames) {
  const std::string too_long(250, 'a');
  struct Case {
    std::string name;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "can't be empty"},
           {".", "cannot be \".\" or \"..\""},
           {"..", "cannot be \".\" or \"..\""},
           {too_long, "can't be longer than 249 characters"},
           {"my topic", "contains a character other than ASCII alphanumerics"},
           {"topic/1", "contains a character other than ASCII alphanumerics"},
           {"t\xc3\xa9", "contains a character other than ASCII alphanumerics"},
       }) {
    TopicResult r = Create(c.name, 1, 1);
    EXPECT_EQ(r.error, ErrorCode::kInvalidTopicException) << c.name;
    EXPECT_EQ(static_cast<int>(r.error), 17);
    EXPECT_THAT(r.error_message, HasSubstr(c.message)) << c.name;
  }
  EXPECT_TRUE(Controller::ValidateTopicName(std::string(249, 'a')).ok());
  EXPECT_TRUE(Controller::ValidateTopicName("Orders_v2.eu-west").ok());
  EXPECT_TRUE(Controller::ValidateTopicName("...").ok());
  EXPECT_THAT(image_->topics(), IsEmpty());
}

TEST_F(ThreeBrokerTest, TopicAlreadyExists) {
  ASSERT_EQ(Create("myTopic", 1, 1).error, ErrorCode::kNone);
  TopicResult r = Create("myTopic", 2, 1);
  EXPECT_EQ(static_cast<int>(r.error), 36);
  EXPECT_EQ(r.error_message, "Topic 'myTopic' already exists.");
  EXPECT_EQ(image_->FindTopic("myTopic")->partitions.size(), 1u);
}

TEST_F(ThreeBrokerTest, NamesThatCollideInMetrics) {
  ASSERT_EQ(Create("a.b", 1, 1).error, ErrorCode::kNone);
  TopicResult r = Create("a_b", 1, 1);
  EXPECT_EQ(r.error, ErrorCode::kInvalidTopicException);
  EXPECT_THAT(r.error_message, HasSubstr("collides with existing topic 'a.b'"));
}

TEST_F(ThreeBrokerTest, InvalidPartitions) {
  for (int32_t n : {0, -2}) {
    TopicResult r = Create("p", n, 1);
    EXPECT_EQ(static_cast<int>(r.error), 37) << n;
    EXPECT_THAT(r.error_message,
                HasSubstr("Number of partitions was set to an invalid non-positive value"));
  }
  EXPECT_EQ(Create("p", 10001, 1).error, ErrorCode::kInvalidPartitions);
  EXPECT_EQ(image_->FindTopic("p"), nullptr);
}

TEST_F(ThreeBrokerTest, InternalTopicsCannotBeCreatedByUsers) {
  for (const char* name : {"__consumer_offsets", "__transaction_state", "__cluster_metadata"}) {
    TopicResult r = Create(name, 1, 1);
    EXPECT_EQ(r.error, ErrorCode::kInvalidRequest) << name;
    EXPECT_EQ(r.error_message,
              absl::StrCat("Creation of internal topic ", name, " is prohibited."));
  }
  EXPECT_THAT(image_->topics(), IsEmpty());
  EXPECT_EQ(Create("__my_own", 1, 1).error, ErrorCode::kNone)
      << "only the cluster's own names are kept";
}

TEST_F(ThreeBrokerTest, OneRequestCreatesAtMostTenThousandPartitionsInAll) {
  CreateTopicsRequest req;
  for (int i = 0; i < 10; ++i) {
    req.topics.push_back(NewTopic{.name = "big" + std::to_string(i),
                                  .num_partitions = 10000,
                                  .replication_factor = 1,
                                  .configs = {},
                                  .assignments = {}});
  }
  auto d = controller_.CreateTopics(*image_, req);
  EXPECT_EQ(d.records.records_size(), 0) << "nothing is created";
  ASSERT_EQ(d.response.results.size(), 10u);
  for (const TopicResult& r : d.response.results) {
    EXPECT_EQ(r.error, ErrorCode::kInvalidPartitions);
    EXPECT_THAT(r.error_message, HasSubstr("asks for 100000 partitions in all"));
  }
  // Two topics of 5,000 fit.
  req.topics.resize(2);
  req.topics[0].num_partitions = 5000;
  req.topics[1].num_partitions = 5000;
  d = controller_.CreateTopics(*image_, req);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kNone) << d.response.results[0].error_message;
  EXPECT_EQ(d.response.results[1].error, ErrorCode::kNone);
}

TEST_F(ThreeBrokerTest, PartitionsPastABrokersReplicaCapacityAreRefused) {
  // Broker 2 comes back (after its old session) able to hold 100 replicas.
  now_ += kSession + 1;
  StartBroker(2, "small", 100);
  ASSERT_EQ(image_->broker(2)->replica_capacity, 100);
  ASSERT_EQ(Create("fits", 90, 3).error, ErrorCode::kNone);  // 90 replicas on each broker
  TopicResult r = Create("over", 11, 3);
  EXPECT_EQ(r.error, ErrorCode::kPolicyViolation);
  EXPECT_THAT(r.error_message,
              HasSubstr("This would put 101 partition replicas on broker 2, above its capacity "
                        "of 100 (90 there already"));
  EXPECT_EQ(image_->FindTopic("over"), nullptr);
  // Two topics of one request count together.
  CreateTopicsRequest req;
  for (const char* name : {"a", "b"}) {
    req.topics.push_back(NewTopic{.name = name,
                                  .num_partitions = 6,
                                  .replication_factor = 3,
                                  .configs = {},
                                  .assignments = {}});
  }
  auto d = controller_.CreateTopics(*image_, req);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kNone);
  EXPECT_EQ(d.response.results[1].error, ErrorCode::kPolicyViolation);
  // Adding partitions is held to it as well; RF 1 topics only use what
  // they place there.
  CreatePartitionsRequest more;
  more.topics.push_back(CreatePartitionsTopic{.name = "fits", .count = 101});
  auto grown = controller_.CreatePartitions(*image_, more);
  EXPECT_EQ(grown.response.results[0].error, ErrorCode::kPolicyViolation);
  EXPECT_EQ(grown.records.records_size(), 0);
  more.topics[0].count = 100;
  EXPECT_EQ(controller_.CreatePartitions(*image_, more).response.results[0].error,
            ErrorCode::kNone);
}

TEST_F(ThreeBrokerTest, OfflineReplicasLoseLeadershipAndLeaveTheIsrUnlessTheyAreTheLast) {
  script_ = {0, 0};
  ASSERT_EQ(Create("disk", 3, 3).error, ErrorCode::kNone);
  ASSERT_EQ(Create("single", 1, 1).error, ErrorCode::kNone);
  MarkAllInSync("disk");
  const TopicInfo* disk = image_->FindTopic("disk");
  const std::string disk_id = disk->topic_id;
  const std::string single_id = image_->FindTopic("single")->topic_id;
  const int32_t single_leader = image_->FindPartition("single", 0)->leader;
  // Broker 1's disk fills: it reports every replica it holds.
  internal::BrokerHeartbeatRequest req;
  req.set_broker_id(1);
  req.set_broker_epoch(epochs_[1]);
  req.set_current_metadata_offset(image_->offset());
  for (int p = 0; p < 3; ++p) {
    internal::OfflineReplica* o = req.add_offline_replicas();
    o->set_topic_id(disk_id);
    o->set_partition(p);
  }
  if (single_leader == 1) {
    internal::OfflineReplica* o = req.add_offline_replicas();
    o->set_topic_id(single_id);
    o->set_partition(0);
  }
  auto d = controller_.BrokerHeartbeat(*image_, req, now_);
  ASSERT_EQ(d.response.error(), v1::NONE);
  EXPECT_FALSE(d.response.is_fenced()) << "the broker itself stays";
  Commit(d.records);
  for (int p = 0; p < 3; ++p) {
    const PartitionInfo* info = image_->FindPartition("disk", p);
    EXPECT_NE(info->leader, 1) << p;
    EXPECT_GE(info->leader, 2) << p;
    EXPECT_THAT(info->isr, Not(Contains(1))) << p;
    EXPECT_EQ(info->isr.size(), 2u) << p;
  }
  // The only replica of an RF 1 topic stays where it is.
  EXPECT_EQ(image_->FindPartition("single", 0)->leader, single_leader);
  EXPECT_THAT(image_->FindPartition("single", 0)->isr, ElementsAre(single_leader));
  // The next heartbeat lists the same replicas and changes nothing more.
  EXPECT_EQ(controller_.BrokerHeartbeat(*image_, req, now_).records.records_size(), 0);
}

TEST_F(ThreeBrokerTest, AnUnknownElectionTypeIsRefused) {
  ASSERT_EQ(Create("e", 1, 3).error, ErrorCode::kNone);
  ElectLeadersRequest req;
  req.election_type = static_cast<ElectionType>(99);
  auto d = controller_.ElectLeaders(*image_, req);
  EXPECT_EQ(d.response.error, ErrorCode::kInvalidRequest);
  EXPECT_THAT(d.response.error_message, HasSubstr("Unknown election type 99"));
  EXPECT_EQ(d.records.records_size(), 0);
  EXPECT_EQ(d.response.results.size(), 0u);
}

TEST_F(ThreeBrokerTest, ElectLeadersOfNoPartitionsIsNoneAndOfNullIsAll) {
  ASSERT_EQ(Create("e", 2, 3).error, ErrorCode::kNone);
  ElectLeadersRequest none;
  none.topic_partitions.emplace();  // Kafka's empty TopicPartitions
  auto d = controller_.ElectLeaders(*image_, none);
  EXPECT_EQ(d.response.error, ErrorCode::kNone);
  EXPECT_EQ(d.response.results.size(), 0u);
  EXPECT_EQ(d.records.records_size(), 0);
  ElectLeadersRequest all;  // Kafka's null: every partition
  d = controller_.ElectLeaders(*image_, all);
  EXPECT_EQ(d.response.error, ErrorCode::kNone);
  EXPECT_EQ(d.response.results.size(), 2u);
}

TEST_F(ThreeBrokerTest, InvalidReplicationFactor) {
  TopicResult r = Create("r", 1, 4);
  EXPECT_EQ(static_cast<int>(r.error), 38);
  EXPECT_EQ(r.error_message, "Replication factor: 4 larger than available brokers: 3.");
  r = Create("r", 1, 0);
  EXPECT_EQ(r.error, ErrorCode::kInvalidReplicationFactor);
  EXPECT_THAT(r.error_message, HasSubstr("Replication factor must be larger than 0"));
  EXPECT_EQ(image_->FindTopic("r"), nullptr);
}

TEST_F(ThreeBrokerTest, ReplicationFactorCountsOnlyUnfencedBrokers) {
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // fences 3
  ASSERT_FALSE(image_->IsBrokerLive(3));
  TopicResult r = Create("r", 1, 3);
  EXPECT_EQ(r.error, ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(r.error_message, "Replication factor: 3 larger than available brokers: 2.");
}

TEST_F(ThreeBrokerTest, InvalidConfigs) {
  struct Case {
    std::string key, value, message;
  };
  for (const Case& c : std::vector<Case>{
           {"retention.mss", "1", "Unknown topic config name: retention.mss"},
           {"retention.ms", "soon", "Invalid value soon for configuration retention.ms"},
           {"retention.ms", "-2", "at least -1"},
           {"retention.bytes", "1e9", "retention.bytes"},
           {"cleanup.policy", "forever", "Invalid value forever for configuration cleanup.policy"},
           {"min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas"},
           {"unclean.leader.election.enable", "yes", "unclean.leader.election.enable"},
           {"message.timestamp.type", "Now", "CreateTime, LogAppendTime"},
           {"compression.type", "brotli", "compression.type"},
           {"segment.bytes", "10", "segment.bytes"},
           {"max.message.bytes", "big", "max.message.bytes"},
       }) {
    // A valid config next to the bad one: the bad one must still be found.
    TopicResult r = Create("c", 1, 1, {{"flush.ms", "1000"}, {c.key, c.value}});
    EXPECT_EQ(static_cast<int>(r.error), 40) << c.key << "=" << c.value;
    EXPECT_THAT(r.error_message, HasSubstr(c.message)) << c.key << "=" << c.value;
  }
  EXPECT_EQ(image_->FindTopic("c"), nullptr);
}

TEST_F(ThreeBrokerTest, DuplicateNamesInOneRequest) {
  CreateTopicsRequest req;
  for (const char* name : {"x", "y", "x"}) {
    req.topics.push_back(NewTopic{.name = name,
                                  .num_partitions = 1,
                                  .replication_factor = 1,
                                  .configs = {},
                                  .assignments = {}});
  }
  auto d = controller_.CreateTopics(*image_, req);
  ASSERT_EQ(d.response.results.size(), 3u);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(d.response.results[1].error, ErrorCode::kNone);
  EXPECT_EQ(d.response.results[2].error, ErrorCode::kInvalidRequest);
  Commit(d.records);
  EXPECT_EQ(image_->FindTopic("x"), nullptr);
  EXPECT_NE(image_->FindTopic("y"), nullptr);
}

TEST_F(ThreeBrokerTest, SeveralTopicsInOneRequestGetDistinctIds) {
  CreateTopicsRequest req;
  for (const char* name : {"a", "b", "c"}) {
    req.topics.push_back(NewTopic{.name = name,
                                  .num_partitions = 2,
                                  .replication_factor = 2,
                                  .configs = {},
                                  .assignments = {}});
  }
  script_ = {0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
             12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
  auto d = controller_.CreateTopics(*image_, req);
  Commit(d.records);
  std::set<std::string> ids;
  for (const auto& r : d.response.results) {
    ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
    ids.insert(r.topic_id);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(image_->topics().size(), 3u);
}

TEST_F(ControllerTest, NoBrokersNoTopics) {
  TopicResult r = Create("lonely", 1, 1);
  EXPECT_EQ(r.error, ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(r.error_message, "Replication factor: 1 larger than available brokers: 0.");
}

// --- Partitions only increase ------------------------------------------------

CreatePartitionsRequest GrowTo(const std::string& name, int32_t count, bool validate_only = false) {
  CreatePartitionsRequest req;
  req.topics.push_back(CreatePartitionsTopic{.name = name, .count = count});
  req.validate_only = validate_only;
  return req;
}

TEST_F(ThreeBrokerTest, CreatePartitionsContinuesThePattern) {
  script_ = {2, 0};
  ASSERT_EQ(Create("topic01", 3, 3).error, ErrorCode::kNone);
  auto d = controller_.CreatePartitions(*image_, GrowTo("topic01", 5));
  ASSERT_EQ(d.response.results[0].error, ErrorCode::kNone) << d.response.results[0].error_message;
  EXPECT_EQ(d.response.results[0].num_partitions, 5);
  EXPECT_EQ(d.response.results[0].replication_factor, 3);
  Commit(d.records);
  // Kafka: start index = index of partition 0's first replica (broker 3,
  // index 2), which is also the shift, continuing from partition 3.
  EXPECT_EQ(ReplicasOf("topic01"),
            (Assignment{{3, 1, 2}, {1, 2, 3}, {2, 3, 1}, {3, 2, 1}, {1, 3, 2}}));
  const PartitionInfo* p4 = image_->FindPartition("topic01", 4);
  EXPECT_EQ(p4->leader, 1);
  EXPECT_EQ(image_->StateOf(*p4), PartitionState::kOnline);
}

TEST_F(ThreeBrokerTest, PartitionsCanOnlyIncrease) {
  ASSERT_EQ(Create("myTopic", 3, 1).error, ErrorCode::kNone);
  auto d = controller_.CreatePartitions(*image_, GrowTo("myTopic", 2));
  EXPECT_EQ(static_cast<int>(d.response.results[0].error), 37);
  EXPECT_THAT(d.response.results[0].error_message,
              HasSubstr("Topic currently has 3 partitions, which is higher than the requested 2."));
  EXPECT_EQ(d.records.records_size(), 0);

  d = controller_.CreatePartitions(*image_, GrowTo("myTopic", 3));
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kInvalidPartitions);
  EXPECT_THAT(d.response.results[0].error_message, HasSubstr("Topic already has 3 partitions"));
  EXPECT_EQ(d.records.records_size(), 0);

  d = controller_.CreatePartitions(*image_, GrowTo("nope", 4));
  EXPECT_EQ(static_cast<int>(d.response.results[0].error), 3);
  EXPECT_THAT(d.response.results[0].error_message, HasSubstr("'nope' does not exist"));

  d = controller_.CreatePartitions(*image_, GrowTo("myTopic", 4, /*validate_only=*/true));
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kNone);
  EXPECT_EQ(d.records.records_size(), 0);
  EXPECT_EQ(image_->FindTopic("myTopic")->partitions.size(), 3u);

  d = controller_.CreatePartitions(*image_, GrowTo("myTopic", 4));
  Commit(d.records);
  EXPECT_EQ(image_->FindTopic("myTopic")->partitions.size(), 4u);
}

// --- Delete --------------------------------------------------------------------

TEST_F(ThreeBrokerTest, DeleteTopics) {
  TopicResult created = Create("doomed", 2, 2, {{"retention.ms", "1"}});
  ASSERT_EQ(created.error, ErrorCode::kNone);
  DeleteTopicsRequest req;
  req.names = {"doomed", "ghost"};
  auto d = controller_.DeleteTopics(*image_, req);
  ASSERT_EQ(d.response.results.size(), 2u);
  EXPECT_EQ(d.response.results[0].error, ErrorCode::kNone);
  EXPECT_EQ(d.response.results[0].topic_id, created.topic_id);
  EXPECT_EQ(static_cast<int>(d.response.results[1].error), 3);
  EXPECT_THAT(d.response.results[1].error_message, HasSubstr("Topic 'ghost' does not exist"));
  Commit(d.records);
  EXPECT_EQ(image_->FindTopic("doomed"), nullptr);
  EXPECT_EQ(image_->FindTopicById(created.topic_id), nullptr);
  // The name is free again.
  EXPECT_EQ(Create("doomed", 1, 1).error, ErrorCode::kNone);
  EXPECT_THAT(image_->FindTopic("doomed")->configs, IsEmpty());
}

// --- Brokers ---------------------------------------------------------------------

TEST_F(ControllerTest, RegisterHeartbeatUnfence) {
  internal::BrokerRegistrationRequest req;
  req.set_broker_id(1);
  req.set_incarnation_id("abc");
  req.set_rack("r1");
  auto* e = req.add_endpoints();
  e->set_name("PLAINTEXT");
  e->set_host("h1");
  e->set_port(9092);
  // Some unrelated history first, so the catch-up offset is not trivial.
  Commit(testing::Batch({}));
  Commit(testing::Batch({}));
  const int64_t registered_at = image_->offset() + 1;
  auto reg = controller_.RegisterBroker(*image_, req, registered_at, now_);
  ASSERT_EQ(reg.response.error(), v1::NONE);
  EXPECT_EQ(reg.response.broker_epoch(), registered_at);
  ASSERT_EQ(reg.records.records_size(), 1);
  const internal::RegisterBrokerRecord& rec = reg.records.records(0).register_broker();
  EXPECT_EQ(rec.broker_id(), 1);
  EXPECT_TRUE(rec.fenced());
  EXPECT_EQ(rec.broker_epoch(), registered_at);
  EXPECT_EQ(rec.incarnation_id(), "abc");
  Commit(reg.records);
  const BrokerRegistration* b = image_->broker(1);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->fenced);
  EXPECT_EQ(b->rack, "r1");
  EXPECT_EQ(b->endpoint("PLAINTEXT")->host, "h1");

  // Not caught up with its own registration: stays fenced.
  internal::BrokerHeartbeatRequest hb;
  hb.set_broker_id(1);
  hb.set_broker_epoch(registered_at);
  hb.set_current_metadata_offset(registered_at - 1);
  auto d = controller_.BrokerHeartbeat(*image_, hb, now_ + 100);
  EXPECT_EQ(d.response.error(), v1::NONE);
  EXPECT_TRUE(d.response.is_fenced());
  EXPECT_FALSE(d.response.is_caught_up());
  EXPECT_EQ(d.records.records_size(), 0);

  // Caught up: unfenced.
  hb.set_current_metadata_offset(registered_at);
  d = controller_.BrokerHeartbeat(*image_, hb, now_ + 200);
  EXPECT_EQ(d.response.error(), v1::NONE);
  EXPECT_FALSE(d.response.is_fenced());
  EXPECT_TRUE(d.response.is_caught_up());
  ASSERT_EQ(d.records.records_size(), 1);
  EXPECT_EQ(d.records.records(0).unfence_broker().broker_id(), 1);
  EXPECT_EQ(d.records.records(0).unfence_broker().broker_epoch(), registered_at);
  Commit(d.records);
  EXPECT_TRUE(image_->IsBrokerLive(1));

  // Further heartbeats change nothing.
  d = controller_.BrokerHeartbeat(*image_, hb, now_ + 300);
  EXPECT_FALSE(d.response.is_fenced());
  EXPECT_EQ(d.records.records_size(), 0);
}

TEST_F(ControllerTest, HeartbeatWithStaleOrUnknownEpoch) {
  StartBroker(1);
  internal::BrokerHeartbeatRequest hb;
  hb.set_broker_id(1);
  hb.set_broker_epoch(epochs_[1] - 1);
  auto d = controller_.BrokerHeartbeat(*image_, hb, now_);
  EXPECT_EQ(static_cast<int>(d.response.error()), 77);
  EXPECT_THAT(d.response.error_message(), HasSubstr("register again"));
  EXPECT_EQ(d.records.records_size(), 0);

  hb.set_broker_id(9);
  d = controller_.BrokerHeartbeat(*image_, hb, now_);
  EXPECT_EQ(d.response.error(), v1::STALE_BROKER_EPOCH);
  EXPECT_THAT(d.response.error_message(), HasSubstr("Broker 9 is not registered"));
}

TEST_F(ControllerTest, DuplicateRegistrationOfALiveBroker) {
  StartBroker(1, "first");
  internal::BrokerRegistrationRequest req;
  req.set_broker_id(1);
  req.set_incarnation_id("second1");
  now_ += 1000;
  auto d = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
  EXPECT_EQ(static_cast<int>(d.response.error()), 101);
  EXPECT_EQ(d.response.error(), v1::DUPLICATE_BROKER_REGISTRATION);
  EXPECT_THAT(d.response.error_message(), HasSubstr("unique node.id"));
  EXPECT_EQ(d.records.records_size(), 0);

  // The same incarnation retrying is fine and gets a new epoch.
  req.set_incarnation_id("first1");
  d = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
  EXPECT_EQ(d.response.error(), v1::NONE);

  // Once the old process's session is over, a new one may take the id.
  now_ += kSession + 1;
  req.set_incarnation_id("second1");
  d = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
  ASSERT_EQ(d.response.error(), v1::NONE) << d.response.error_message();
  Commit(d.records);
  EXPECT_EQ(image_->broker(1)->incarnation_id, "second1");
  EXPECT_TRUE(image_->broker(1)->fenced);
}

TEST_F(ThreeBrokerTest, SessionExpiryFencesAndMovesLeadership) {
  script_ = {2, 0};
  ASSERT_EQ(Create("topic01", 3, 3).error, ErrorCode::kNone);  // 3,1,2 / 1,2,3 / 2,3,1
  MarkAllInSync("topic01");
  // Within the session nothing happens.
  now_ += kSession;
  EXPECT_EQ(controller_.Tick(*image_, now_).records_size(), 0);
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  now_ += 1;  // broker 3: one ms past its session
  internal::MetadataRecordBatch batch = controller_.Tick(*image_, now_);
  ASSERT_GE(batch.records_size(), 1);
  EXPECT_EQ(batch.records(0).fence_broker().broker_id(), 3);
  EXPECT_EQ(batch.records(0).fence_broker().broker_epoch(), epochs_[3]);
  Commit(batch);
  EXPECT_FALSE(image_->IsBrokerLive(3));

  const PartitionInfo* p0 = image_->FindPartition("topic01", 0);  // was led by 3
  EXPECT_EQ(p0->leader, 1);
  EXPECT_EQ(p0->leader_epoch, 1);
  EXPECT_THAT(p0->isr, ElementsAre(1, 2));
  EXPECT_THAT(p0->replicas, ElementsAre(3, 1, 2));
  EXPECT_EQ(image_->StateOf(*p0), PartitionState::kOnline);
  EXPECT_EQ(image_->StateOfReplica(*p0, 3), ReplicaState::kOffline);
  EXPECT_EQ(image_->StateOfReplica(*p0, 1), ReplicaState::kOnline);
  for (int32_t pid : {1, 2}) {
    const PartitionInfo* p = image_->FindPartition("topic01", pid);
    EXPECT_EQ(p->leader, p->replicas.front()) << "a partition 3 did not lead keeps its leader";
    EXPECT_EQ(p->leader_epoch, 0);
    EXPECT_EQ(p->partition_epoch, 2) << "but loses 3 from its ISR";
    EXPECT_THAT(p->isr, ::testing::Not(::testing::Contains(3)));
  }
  // Nothing more to do on the next tick.
  EXPECT_EQ(controller_.Tick(*image_, now_ + 1).records_size(), 0);
}

TEST_F(ThreeBrokerTest, AllReplicasDownThenOneReturns) {
  script_ = {0, 0};
  ASSERT_EQ(Create("solo", 1, 1).error, ErrorCode::kNone);
  const int32_t owner = image_->FindPartition("solo", 0)->leader;
  ASSERT_EQ(owner, 1);
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));
  const PartitionInfo* p = image_->FindPartition("solo", 0);
  EXPECT_EQ(p->leader, -1);
  EXPECT_EQ(p->leader_epoch, 1);
  // The last in-sync replica stays in the ISR, so it alone may lead again.
  EXPECT_THAT(p->isr, ElementsAre(1));
  EXPECT_EQ(image_->StateOf(*p), PartitionState::kOffline);
  EXPECT_EQ(image_->StateOfReplica(*p, 1), ReplicaState::kOffline);

  // Broker 1 restarts: registers, catches up, and leads again.
  StartBroker(1, "restarted");
  Commit(controller_.Tick(*image_, now_));
  p = image_->FindPartition("solo", 0);
  EXPECT_EQ(p->leader, 1);
  EXPECT_EQ(p->leader_epoch, 2);
  EXPECT_THAT(p->isr, ElementsAre(1));
  EXPECT_EQ(image_->StateOf(*p), PartitionState::kOnline);
}

TEST_F(ThreeBrokerTest, ReRegistrationMovesLeadershipAway) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 2).error, ErrorCode::kNone);
  ASSERT_EQ(image_->FindPartition("t", 0)->leader, 1);
  MarkAllInSync("t");
  internal::BrokerRegistrationRequest req;
  req.set_broker_id(1);
  req.set_incarnation_id("inc1");  // a restart with the same incarnation is allowed
  auto d = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
  ASSERT_EQ(d.response.error(), v1::NONE);
  Commit(d.records);
  EXPECT_FALSE(image_->IsBrokerLive(1));
  EXPECT_EQ(image_->FindPartition("t", 0)->leader, 2);
}

TEST_F(ThreeBrokerTest, WantShutdownFencesAndMovesLeadership) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  ASSERT_EQ(image_->FindPartition("t", 0)->leader, 1);
  MarkAllInSync("t");
  auto d = Heartbeat(1, /*want_shutdown=*/true);
  EXPECT_TRUE(d.response.should_shutdown());
  EXPECT_TRUE(d.response.is_fenced());
  Commit(d.records);
  EXPECT_FALSE(image_->IsBrokerLive(1));
  EXPECT_EQ(image_->FindPartition("t", 0)->leader, 2);
  EXPECT_THAT(image_->FindPartition("t", 0)->isr, ElementsAre(2, 3));
}

TEST_F(ThreeBrokerTest, OnlyAnInSyncReplicaMayLead) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);  // replicas 1,2,3
  ASSERT_EQ(image_->FindPartition("t", 0)->leader, 1);
  // The followers fell behind and the leader shrank the ISR to itself.
  ASSERT_EQ(AlterIsr("t", 0, 1, {1}).error(), v1::NONE);
  // Broker 1 dies. 2 and 3 are live but hold none of its records: electing
  // either would send offsets back. The partition goes offline instead.
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));
  const PartitionInfo* p = image_->FindPartition("t", 0);
  EXPECT_EQ(p->leader, -1);
  EXPECT_THAT(p->isr, ElementsAre(1));
  EXPECT_EQ(image_->StateOf(*p), PartitionState::kOffline);
  // It comes back and leads again.
  StartBroker(1, "again");
  Commit(controller_.Tick(*image_, now_));
  EXPECT_EQ(image_->FindPartition("t", 0)->leader, 1);
}

TEST_F(ThreeBrokerTest, NewControllerGivesEveryBrokerAFullSession) {
  // Failover: a fresh controller that has heard from no one.
  controller_ = Controller(Options());
  now_ += 10 * kSession;
  EXPECT_EQ(controller_.Tick(*image_, now_).records_size(), 0);
  now_ += kSession;
  EXPECT_EQ(controller_.Tick(*image_, now_).records_size(), 0);
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  now_ += 1;
  internal::MetadataRecordBatch batch = controller_.Tick(*image_, now_);
  Commit(batch);
  EXPECT_TRUE(image_->IsBrokerLive(1));
  EXPECT_FALSE(image_->IsBrokerLive(2));
  EXPECT_FALSE(image_->IsBrokerLive(3));
}

TEST_F(ThreeBrokerTest, ABrokerSilentSinceBeforeTheFailoverGetsNoNewSession) {
  // Broker 2 was the old controller's node and died with it: the new
  // controller last heard from it (over Raft) a session ago less a little.
  controller_ = Controller(Options());
  controller_.NoteLastContact(2, now_ - kSession + 500);
  controller_.NoteLastContact(3, now_);
  EXPECT_EQ(controller_.Tick(*image_, now_).records_size(), 0);
  now_ += 501;
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));
  EXPECT_FALSE(image_->IsBrokerLive(2)) << "fenced half a second after the failover";
  EXPECT_TRUE(image_->IsBrokerLive(1));
  EXPECT_TRUE(image_->IsBrokerLive(3)) << "heard from just now: a whole session left";
}

TEST_F(ControllerTest, UnfenceAfterFailoverNeedsTheControllersOffset) {
  internal::BrokerRegistrationRequest req;
  req.set_broker_id(1);
  req.set_incarnation_id("abc");
  auto reg = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
  Commit(reg.records);
  Commit(testing::Batch({}));
  Commit(testing::Batch({}));
  // The controller that saw the registration is gone.
  controller_ = Controller(Options());
  internal::BrokerHeartbeatRequest hb;
  hb.set_broker_id(1);
  hb.set_broker_epoch(reg.response.broker_epoch());
  hb.set_current_metadata_offset(image_->offset() - 1);
  auto d = controller_.BrokerHeartbeat(*image_, hb, now_);
  EXPECT_TRUE(d.response.is_fenced());
  EXPECT_EQ(d.records.records_size(), 0);
  hb.set_current_metadata_offset(image_->offset());
  d = controller_.BrokerHeartbeat(*image_, hb, now_);
  EXPECT_FALSE(d.response.is_fenced());
  Commit(d.records);
  EXPECT_TRUE(image_->IsBrokerLive(1));
}

TEST_F(ThreeBrokerTest, ControllerRecordsRoundTripThroughASnapshot) {
  script_ = {2, 0};
  ASSERT_EQ(Create("topic01", 3, 3, {{"retention.ms", "1000"}}).error, ErrorCode::kNone);
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->ToSnapshot().SerializeAsString(),
            image_->ToSnapshot().SerializeAsString());
}

TEST(NewTopicIdTest, LooksLikeKafkas) {
  std::mt19937 rng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewTopicId([&] { return static_cast<uint32_t>(rng()); });
    ASSERT_EQ(id.size(), 22u);
    ASSERT_NE(id.front(), '-');
    for (char c : id) {
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
    }
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // A source that would start the id with '-' (0b111110...) does not.
  EXPECT_NE(NewTopicId([] { return 0xF8000000u; }).front(), '-');
  EXPECT_EQ(NewTopicId(nullptr).size(), 22u);
}

// --- ISR changes (AlterPartition) ----------------------------------------------

TEST_F(ThreeBrokerTest, AlterPartitionShrinksAndExpandsTheIsrInThePartitionEpoch) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  const PartitionInfo before = *image_->FindPartition("t", 0);
  ASSERT_EQ(before.leader, 1);
  internal::AlterPartitionResponse r = AlterIsr("t", 0, 1, {1, 3});
  ASSERT_EQ(r.error(), v1::NONE) << r.error_message();
  const PartitionInfo* p = image_->FindPartition("t", 0);
  EXPECT_THAT(p->isr, ElementsAre(1, 3));
  EXPECT_EQ(p->partition_epoch, before.partition_epoch + 1);
  EXPECT_EQ(r.partition_epoch(), p->partition_epoch);
  EXPECT_THAT(r.isr(), ElementsAre(1, 3));
  // An ISR change is not a new leader: followers keep fetching in the epoch.
  EXPECT_EQ(p->leader_epoch, before.leader_epoch);
  ASSERT_EQ(AlterIsr("t", 0, 1, {1, 3, 2}).error(), v1::NONE);
  EXPECT_THAT(image_->FindPartition("t", 0)->isr, ElementsAre(1, 3, 2));
}

TEST_F(ThreeBrokerTest, AlterPartitionRefusesStaleAndInvalidRequests) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  const PartitionInfo before = *image_->FindPartition("t", 0);
  // Built before another change landed.
  EXPECT_EQ(AlterIsr("t", 0, 1, {1}, 0, -1).error(), v1::INVALID_UPDATE_VERSION);
  // From a leader epoch that is over.
  EXPECT_EQ(AlterIsr("t", 0, 1, {1}, -1, 0).error(), v1::FENCED_LEADER_EPOCH);
  // From a follower.
  EXPECT_EQ(AlterIsr("t", 0, 2, {2}).error(), v1::NOT_LEADER_OR_FOLLOWER);
  // Without the leader, or with a broker that is no replica.
  EXPECT_EQ(AlterIsr("t", 0, 1, {2, 3}).error(), v1::INVALID_REQUEST);
  EXPECT_EQ(AlterIsr("t", 0, 1, {1, 7}).error(), v1::INVALID_REQUEST);
  EXPECT_EQ(AlterIsr("t", 0, 1, {1, 1}).error(), v1::INVALID_REQUEST);
  const PartitionInfo* p = image_->FindPartition("t", 0);
  EXPECT_EQ(p->isr, before.isr);
  EXPECT_EQ(p->partition_epoch, before.partition_epoch);
}

TEST_F(ThreeBrokerTest, AFencedBrokerCannotJoinTheIsr) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // broker 3 fenced, leaves the ISR
  ASSERT_THAT(image_->FindPartition("t", 0)->isr, ElementsAre(1, 2));
  internal::AlterPartitionResponse r = AlterIsr("t", 0, 1, {1, 2, 3});
  EXPECT_EQ(r.error(), v1::INELIGIBLE_REPLICA);
  EXPECT_THAT(r.error_message(), HasSubstr("Broker 3"));
  EXPECT_THAT(image_->FindPartition("t", 0)->isr, ElementsAre(1, 2));
}

// --- Unclean and preferred elections ---------------------------------------------

TEST_F(ThreeBrokerTest, UncleanElectionOnlyWhenTheTopicAllowsIt) {
  script_ = {0, 0};
  ASSERT_EQ(Create("clean", 1, 3).error, ErrorCode::kNone);
  script_ = {0, 0};
  CreateTopicsRequest req;
  req.topics.push_back(NewTopic{.name = "unclean",
                                .num_partitions = 1,
                                .replication_factor = 3,
                                .configs = {{"unclean.leader.election.enable", "true"}},
                                .assignments = {}});
  auto created = controller_.CreateTopics(*image_, req);
  ASSERT_EQ(created.response.results[0].error, ErrorCode::kNone);
  Commit(created.records);
  for (const char* t : {"clean", "unclean"}) ASSERT_EQ(AlterIsr(t, 0, 1, {1}).error(), v1::NONE);
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // broker 1 fenced
  EXPECT_EQ(image_->FindPartition("clean", 0)->leader, -1);
  const PartitionInfo* p = image_->FindPartition("unclean", 0);
  EXPECT_EQ(p->leader, 2);
  EXPECT_THAT(p->isr, ElementsAre(2));
  // An operator may still force it on the clean topic.
  ElectLeadersResponse r = Elect(ElectionType::kUnclean, "clean", {0});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error, ErrorCode::kNone) << r.results[0].error_message;
  EXPECT_EQ(image_->FindPartition("clean", 0)->leader, 2);
  // Nothing to do for a partition with a live leader.
  EXPECT_EQ(Elect(ElectionType::kUnclean, "clean", {0}).results[0].error,
            ErrorCode::kElectionNotNeeded);
}

TEST_F(ThreeBrokerTest, PreferredElectionMovesLeadershipBackWhenThePreferredReplicaIsInSync) {
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 1, 3).error, ErrorCode::kNone);
  Commit(Heartbeat(1, /*want_shutdown=*/true).records);
  ASSERT_EQ(image_->FindPartition("t", 0)->leader, 2);
  now_ += kSession + 1;
  StartBroker(1, "again");  // back, but not in the ISR yet
  ElectLeadersResponse r = Elect(ElectionType::kPreferred, "t", {0, 5});
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].error, ErrorCode::kPreferredLeaderNotAvailable);
  EXPECT_THAT(r.results[0].error_message, HasSubstr("not in the ISR"));
  EXPECT_EQ(r.results[1].error, ErrorCode::kUnknownTopicOrPartition);
  ASSERT_EQ(AlterIsr("t", 0, 2, {2, 3, 1}).error(), v1::NONE);  // caught up
  r = Elect(ElectionType::kPreferred, "t", {0});
  EXPECT_EQ(r.results[0].error, ErrorCode::kNone) << r.results[0].error_message;
  EXPECT_EQ(image_->FindPartition("t", 0)->leader, 1);
  EXPECT_EQ(Elect(ElectionType::kPreferred, "t", {0}).results[0].error,
            ErrorCode::kElectionNotNeeded);
}

TEST_F(ThreeBrokerTest, AutoRebalanceReturnsLeadershipAfterTheCheckInterval) {
  ControllerOptions o = Options();
  o.leader_imbalance_check_interval_ms = 10'000;
  controller_ = Controller(o);
  script_ = {0, 0};
  ASSERT_EQ(Create("t", 3, 3).error, ErrorCode::kNone);  // preferred leaders 1, 2, 3
  Commit(Heartbeat(1, /*want_shutdown=*/true).records);
  now_ += kSession + 1;
  StartBroker(1, "again");
  ASSERT_NE(image_->FindPartition("t", 0)->leader, 1);
  const PartitionInfo* p0 = image_->FindPartition("t", 0);
  ASSERT_EQ(AlterIsr("t", 0, p0->leader, {2, 3, 1}).error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // starts the interval
  EXPECT_NE(image_->FindPartition("t", 0)->leader, 1);
  now_ += 10'000;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(1).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));
  EXPECT_EQ(image_->FindPartition("t", 0)->leader, 1);
  // Partition 2 (preferred 3) never moved; nothing else changed.
  EXPECT_EQ(image_->FindPartition("t", 2)->leader, 3);
}

}  // namespace
}  // namespace strata::metadata
