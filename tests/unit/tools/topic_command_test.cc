#include "tools/topic_command.h"

#include <sstream>

#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::tools {
namespace {

v1::PartitionDescription Partition(int32_t id, int32_t leader, std::vector<int32_t> replicas,
                                   std::vector<int32_t> isr) {
  v1::PartitionDescription p;
  p.set_partition(id);
  p.set_leader(leader);
  for (int32_t r : replicas) p.add_replicas(r);
  for (int32_t r : isr) p.add_isr(r);
  return p;
}

TEST(TopicFormatTest, DescribePrintsKafkasLines) {
  v1::DescribeTopicsResponse resp;
  v1::TopicDescription* t = resp.add_topics();
  t->set_name("topic01");
  t->set_topic_id("Xq3fR2bNS0qO4xT1uvwYzA");
  *t->add_partitions() = Partition(1, 1, {1, 2, 3}, {1, 2, 3});
  *t->add_partitions() = Partition(0, 3, {3, 1, 2}, {3, 1, 2});
  *t->add_partitions() = Partition(2, -1, {2, 3, 1}, {});
  auto* c1 = t->add_configs();
  c1->set_name("cleanup.policy");
  c1->set_value("delete");
  c1->set_is_default(true);
  auto* c2 = t->add_configs();
  c2->set_name("segment.bytes");
  c2->set_value("1073741824");
  auto* c3 = t->add_configs();
  c3->set_name("retention.ms");
  c3->set_value("1000");
  EXPECT_EQ(FormatDescribeTopics(resp),
            (std::vector<std::string>{
                "Topic: topic01\tTopicId: Xq3fR2bNS0qO4xT1uvwYzA\tPartitionCount: 3\t"
                "ReplicationFactor: 3\tConfigs: segment.bytes=1073741824,retention.ms=1000",
                "\tTopic: topic01\tPartition: 0\tLeader: 3\tReplicas: 3,1,2\tIsr: 3,1,2",
                "\tTopic: topic01\tPartition: 1\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3",
                "\tTopic: topic01\tPartition: 2\tLeader: none\tReplicas: 2,3,1\tIsr: ",
            }));
}

TEST(TopicFormatTest, TopicsAreSortedAndEmptyConfigsAndIdsShowAsKafkaDoes) {
  v1::DescribeTopicsResponse resp;
  auto* b = resp.add_topics();
  b->set_name("b");
  *b->add_partitions() = Partition(0, 1, {1}, {1});
  auto* a = resp.add_topics();
  a->set_name("a");
  *a->add_partitions() = Partition(0, 1, {1}, {1});
  auto* missing = resp.add_topics();
  missing->set_name("gone");
  missing->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
  auto lines = FormatDescribeTopics(resp);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "Topic: a\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: ");
  EXPECT_EQ(lines[2], "Topic: b\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: ");
}

TEST(TopicFormatTest, PartitionFiltersAndStates) {
  v1::DescribeTopicsResponse resp;
  auto* t = resp.add_topics();
  t->set_name("t");
  v1::PartitionDescription online = Partition(0, 1, {1, 2}, {1, 2});
  online.set_state(v1::PARTITION_ONLINE);
  for (int32_t r : {1, 2}) {
    auto* rs = online.add_replica_states();
    rs->set_broker_id(r);
    rs->set_state(v1::REPLICA_ONLINE);
  }
  v1::PartitionDescription under = Partition(1, 2, {2, 3}, {2});
  under.set_state(v1::PARTITION_ONLINE);
  v1::PartitionDescription offline = Partition(2, -1, {3}, {});
  offline.set_state(v1::PARTITION_OFFLINE);
  *t->add_partitions() = offline;
  *t->add_partitions() = under;
  *t->add_partitions() = online;

  TopicOptions o;
  o.unavailable_partitions = true;
  EXPECT_EQ(FormatDescribeTopics(resp, o),
            std::vector<std::string>{"\tTopic: t\tPartition: 2\tLeader: none\tReplicas: 3\tIsr: "});
  o = TopicOptions();
  o.under_replicated_partitions = true;
  EXPECT_EQ(FormatDescribeTopics(resp, o),
            (std::vector<std::string>{"\tTopic: t\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2",
                                      "\tTopic: t\tPartition: 2\tLeader: none\tReplicas: 3\tIsr: "}));
  // min.insync.replicas=2 (the topic's effective config).
  v1::ConfigEntry* min_isr = resp.mutable_topics(0)->add_configs();
  min_isr->set_name("min.insync.replicas");
  min_isr->set_value("2");
  o = TopicOptions();
  o.under_min_isr_partitions = true;
  EXPECT_EQ(FormatDescribeTopics(resp, o),
            (std::vector<std::string>{"\tTopic: t\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2",
                                      "\tTopic: t\tPartition: 2\tLeader: none\tReplicas: 3\tIsr: "}));
  o = TopicOptions();
  o.at_min_isr_partitions = true;
  EXPECT_EQ(FormatDescribeTopics(resp, o),
            std::vector<std::string>{"\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2"});
  resp.mutable_topics(0)->clear_configs();
  o = TopicOptions();
  o.show_states = true;
  auto lines = FormatDescribeTopics(resp, o);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1],
            "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tState: Online\t"
            "ReplicaStates: 1:Online,2:Online");
  EXPECT_NE(lines[3].find("\tState: Offline"), std::string::npos) << lines[3];
}

TEST(TopicOptionsTest, KafkasArgumentChecks) {
  TopicOptions o;
  o.bootstrap_server = "h:1";
  EXPECT_EQ(ValidateTopicOptions(o).message(),
            "Command must include exactly one action: --list, --describe, --create, --alter or "
            "--delete");
  o.create = true;
  EXPECT_EQ(ValidateTopicOptions(o).message(), "Missing required argument \"[topic]\"");
  o.topic = "t";
  EXPECT_TRUE(ValidateTopicOptions(o).ok());
  o.partitions = 0;
  EXPECT_EQ(ValidateTopicOptions(o).message(), "The partitions must be greater than 0");
  o.partitions = 1;
  o.list = true;
  EXPECT_FALSE(ValidateTopicOptions(o).ok());
  TopicOptions alter;
  alter.bootstrap_server = "h:1";
  alter.alter = true;
  alter.topic = "t";
  EXPECT_EQ(ValidateTopicOptions(alter).message(), "Missing required argument \"[partitions]\"");
  TopicOptions list;
  list.list = true;
  EXPECT_EQ(ValidateTopicOptions(list).message(),
            "Missing required argument \"[bootstrap-server]\"");
}

TEST(TopicOptionsTest, ParsesConfigs) {
  auto c = ParseTopicConfigs({"retention.ms=1000", "cleanup.policy=compact", "a=b=c"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("retention.ms"), "1000");
  EXPECT_EQ(c->at("cleanup.policy"), "compact");
  EXPECT_EQ(c->at("a"), "b=c");
  EXPECT_FALSE(ParseTopicConfigs({"novalue"}).ok());
  EXPECT_FALSE(ParseTopicConfigs({"=x"}).ok());
}

class TopicCommandTest : public ::testing::Test {
 protected:
  TopicCommandTest() : cluster_(3) {
    client::AdminConfig c;
    c.bootstrap_servers = cluster_.bootstrap();
    admin_ = *client::Admin::Create(c);
  }

  int Run(TopicOptions o) {
    o.bootstrap_server = cluster_.bootstrap();
    out_.str("");
    err_.str("");
    EXPECT_TRUE(ValidateTopicOptions(o).ok()) << ValidateTopicOptions(o);
    return RunTopicCommand(*admin_, o, out_, err_);
  }

  strata::testing::FakeCluster cluster_;
  std::unique_ptr<client::Admin> admin_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(TopicCommandTest, TheSeedSession) {
  TopicOptions create;
  create.create = true;
  create.topic = "myTopic";
  create.partitions = 1;
  create.replication_factor = 1;
  EXPECT_EQ(Run(create), 0);
  EXPECT_EQ(out_.str(), "Created topic myTopic.\n");

  TopicOptions list;
  list.list = true;
  EXPECT_EQ(Run(list), 0);
  EXPECT_EQ(out_.str(), "myTopic\n");

  TopicOptions describe;
  describe.describe = true;
  describe.topic = "myTopic";
  EXPECT_EQ(Run(describe), 0);
  EXPECT_EQ(out_.str(),
            "Topic: myTopic\tTopicId: topic-id-1\tPartitionCount: 1\tReplicationFactor: 1\t"
            "Configs: \n"
            "\tTopic: myTopic\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n");

  TopicOptions alter;
  alter.alter = true;
  alter.topic = "myTopic";
  alter.partitions = 2;
  EXPECT_EQ(Run(alter), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(Run(describe), 0);
  EXPECT_NE(out_.str().find("PartitionCount: 2"), std::string::npos);
  EXPECT_NE(out_.str().find("Partition: 1\t"), std::string::npos);

  TopicOptions remove;
  remove.remove = true;
  remove.topic = "myTopic";
  EXPECT_EQ(Run(remove), 0);
  EXPECT_EQ(Run(list), 0);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(TopicCommandTest, ErrorsReadAsKafkasAndExitNonZero) {
  TopicOptions create;
  create.create = true;
  create.topic = "t";
  ASSERT_EQ(Run(create), 0);
  EXPECT_EQ(Run(create), 1);
  EXPECT_EQ(err_.str(), "Error while executing topic command : Topic 't' already exists.\n");
  EXPECT_EQ(out_.str(), "");

  create.if_not_exists = true;
  EXPECT_EQ(Run(create), 0);

  TopicOptions rf;
  rf.create = true;
  rf.topic = "r";
  rf.replication_factor = 4;
  EXPECT_EQ(Run(rf), 1);
  EXPECT_EQ(err_.str(),
            "Error while executing topic command : Replication factor: 4 larger than available "
            "brokers: 3.\n");

  TopicOptions describe;
  describe.describe = true;
  describe.topic = "nope";
  EXPECT_EQ(Run(describe), 1);
  EXPECT_EQ(err_.str(),
            "Error while executing topic command : Topic 'nope' does not exist as expected\n");

  TopicOptions alter;
  alter.alter = true;
  alter.topic = "t";
  alter.partitions = 1;
  EXPECT_EQ(Run(alter), 1);
  EXPECT_EQ(err_.str(),
            "Error while executing topic command : Topic currently has 1 partitions, which is "
            "higher than the requested 1.\n");

  TopicOptions remove;
  remove.remove = true;
  remove.topic = "nope";
  EXPECT_EQ(Run(remove), 1);
  EXPECT_EQ(err_.str(),
            "Error while executing topic command : Topic 'nope' does not exist as expected\n");
}

TEST_F(TopicCommandTest, CreateWarnsAboutPeriodsAndUnderscores) {
  TopicOptions create;
  create.create = true;
  create.topic = "my.topic";
  EXPECT_EQ(Run(create), 0);
  EXPECT_EQ(out_.str(),
            "WARNING: Due to limitations in metric names, topics with a period ('.') or "
            "underscore ('_') could collide. To avoid issues it is best to use either, but not "
            "both.\nCreated topic my.topic.\n");
}

TEST_F(TopicCommandTest, ConfigsAreSentAndShown) {
  TopicOptions create;
  create.create = true;
  create.topic = "c";
  create.configs = {"retention.ms=1000"};
  ASSERT_EQ(Run(create), 0);
  TopicOptions describe;
  describe.describe = true;
  EXPECT_EQ(Run(describe), 0);
  EXPECT_NE(out_.str().find("\tConfigs: retention.ms=1000\n"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace strata::tools
