// `strata log-dirs` (Kafka's kafka-log-dirs.sh): the required arguments,
// --broker-list and --topic-list as Kafka parses them, the JSON line in
// Kafka's key and element orders, and the command against the fake cluster.
#include "tools/log_dirs.h"

#include <sstream>

#include "client/admin.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"
#include "tools/config_command.h"

namespace strata::tools {
namespace {

using strata::testing::FakeCluster;

LogDirsOptions Describe() {
  LogDirsOptions o;
  o.bootstrap_server = "localhost:9092";
  o.describe = true;
  return o;
}

TEST(LogDirsOptionsTest, BootstrapServerThenDescribeAreRequired) {
  EXPECT_TRUE(ValidateLogDirsOptions(Describe()).ok());
  LogDirsOptions none;
  EXPECT_EQ(ValidateLogDirsOptions(none).message(),
            "Missing required argument \"[bootstrap-server]\"");
  LogDirsOptions no_describe = Describe();
  no_describe.describe = false;
  EXPECT_EQ(ValidateLogDirsOptions(no_describe).message(),
            "Missing required argument \"[describe]\"");
}

TEST(LogDirsOptionsTest, ListsSplitAtCommasWithoutTheEmptyOnes) {
  EXPECT_EQ(ParseTopicList(""), (std::set<std::string>{}));
  EXPECT_EQ(ParseTopicList("a,,b,a,"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(*ParseLogDirsBrokerList(""), (std::vector<int32_t>{}));
  EXPECT_EQ(*ParseLogDirsBrokerList("3,,1,3,+2,-1"), (std::vector<int32_t>{3, 1, 2, -1}));
  // Java's Integer.valueOf refusals.
  EXPECT_EQ(ParseLogDirsBrokerList("1,x").status().message(), "For input string: \"x\"");
  EXPECT_EQ(ParseLogDirsBrokerList(" 1").status().message(), "For input string: \" 1\"");
  EXPECT_EQ(ParseLogDirsBrokerList("-").status().message(), "For input string: \"-\"");
  EXPECT_EQ(ParseLogDirsBrokerList("2147483648").status().message(),
            "For input string: \"2147483648\"");
  EXPECT_EQ(*ParseLogDirsBrokerList("2147483647"), (std::vector<int32_t>{2147483647}));
}

TEST(LogDirsFormatTest, BrokersComeInJavaHashSetOrder) {
  EXPECT_EQ(InJavaSetOrder({3, 1, 2}), (std::vector<int32_t>{1, 2, 3}));
  // 17 and 1 share a bucket of the 16 a small HashSet has: insertion order.
  EXPECT_EQ(InJavaSetOrder({17, 1, 16}), (std::vector<int32_t>{16, 17, 1}));
}

v1::LogDirPartition Partition(int32_t partition, int64_t size, int64_t lag = 0) {
  v1::LogDirPartition p;
  p.set_partition(partition);
  p.set_size(size);
  p.set_offset_lag(lag);
  return p;
}

void AddTopic(v1::LogDirDescription* dir, const std::string& name,
              std::vector<v1::LogDirPartition> partitions) {
  v1::LogDirTopic* t = dir->add_topics();
  t->set_name(name);
  for (v1::LogDirPartition& p : partitions) *t->add_partitions() = std::move(p);
}

// A line Kafka's tool printed (its partitions in the order its HashMap
// iterates them, each object's keys in the order of the HashMap it was
// built as), rebuilt from the same answer.
TEST(LogDirsFormatTest, KafkasLineForTheSameAnswer) {
  v1::DescribeLogDirsResponse answer;
  v1::LogDirDescription* dir = answer.add_log_dirs();
  dir->set_log_dir("/tmp/kafka-logs");
  AddTopic(dir, "t1", {Partition(0, 0)});
  AddTopic(dir, "t3", {Partition(0, 0), Partition(1, 0), Partition(2, 0), Partition(3, 0)});
  AddTopic(dir, "t2", {Partition(0, 0)});
  auto p = [](const std::string& name) {
    return "{\"partition\":\"" + name + "\",\"size\":0,\"offsetLag\":0,\"isFuture\":false}";
  };
  EXPECT_EQ(FormatLogDirsJson({{0, answer}}, {}),
            "{\"brokers\":[{\"broker\":0,\"logDirs\":[{\"partitions\":[" + p("t3-0") + "," +
                p("t3-3") + "," + p("t1-0") + "," + p("t3-2") + "," + p("t3-1") + "," + p("t2-0") +
                "],\"error\":null,\"logDir\":\"/tmp/kafka-logs\"}]}],\"version\":1}");
}

// The key orders above are those of java.util.HashMap: the buckets of the
// keys' String.hashCode (spread, h ^ h >>> 16) in a table of 16.
TEST(LogDirsFormatTest, KeysComeInTheirJavaHashMapBuckets) {
  auto bucket = [](const std::string& key) {
    const uint32_t h = static_cast<uint32_t>(JavaStringHash(key));
    return (h ^ (h >> 16)) & 15u;
  };
  EXPECT_EQ(bucket("brokers"), 3u);
  EXPECT_EQ(bucket("version"), 13u);
  EXPECT_EQ(bucket("partitions"), 0u);
  EXPECT_EQ(bucket("error"), 12u);
  EXPECT_EQ(bucket("logDir"), 14u);
  EXPECT_EQ(bucket("broker"), 12u);
  EXPECT_EQ(bucket("logDirs"), 12u) << "broker's bucket: the order they were put in";
  EXPECT_EQ(bucket("partition"), 3u);
  EXPECT_EQ(bucket("size"), 4u);
  EXPECT_EQ(bucket("offsetLag"), 13u);
  EXPECT_EQ(bucket("isFuture"), 15u);
  v1::DescribeLogDirsResponse empty;
  EXPECT_EQ(FormatLogDirsJson({{1, empty}}, {}),
            "{\"brokers\":[{\"broker\":1,\"logDirs\":[]}],\"version\":1}");
  EXPECT_EQ(FormatLogDirsJson({}, {}), "{\"brokers\":[],\"version\":1}");
}

TEST(LogDirsFormatTest, TopicListKeepsEveryDirAndAFailedDirNamesItsException) {
  v1::DescribeLogDirsResponse one;
  v1::LogDirDescription* data = one.add_log_dirs();
  data->set_log_dir("/disk1");
  AddTopic(data, "orders", {Partition(0, 123, 4)});
  AddTopic(data, "other", {Partition(0, 9)});
  v1::LogDirDescription* bad = one.add_log_dirs();
  bad->set_log_dir("/disk2");
  bad->set_error(v1::KAFKA_STORAGE_ERROR);
  v1::DescribeLogDirsResponse two;
  two.add_log_dirs()->set_log_dir("/empty");
  // "/disk1" and "/disk2" in the order of a HashMap sized for two paths.
  EXPECT_EQ(FormatLogDirsJson({{1, one}, {2, two}}, {"orders"}),
            "{\"brokers\":[{\"broker\":1,\"logDirs\":[{\"partitions\":[],\"error\":"
            "\"org.apache.kafka.common.errors.KafkaStorageException\",\"logDir\":\"/disk2\"},"
            "{\"partitions\":[{\"partition\":\"orders-0\",\"size\":123,\"offsetLag\":4,"
            "\"isFuture\":false}],\"error\":null,\"logDir\":\"/disk1\"}]},{\"broker\":2,"
            "\"logDirs\":[{\"partitions\":[],\"error\":null,\"logDir\":\"/empty\"}]}],"
            "\"version\":1}");
}

// ---- Against the fake cluster

v1::DescribeLogDirsResponse OneDir(const std::string& path, const std::string& topic,
                                   int64_t size) {
  v1::DescribeLogDirsResponse r;
  v1::LogDirDescription* d = r.add_log_dirs();
  d->set_log_dir(path);
  AddTopic(d, topic, {Partition(0, size)});
  return r;
}

std::unique_ptr<client::Admin> MakeAdmin(const FakeCluster& cluster) {
  client::AdminConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.request_timeout = absl::Seconds(2);
  return *client::Admin::Create(c);
}

TEST(LogDirsCommandTest, AsksEveryBrokerAndPrintsKafkasThreeLines) {
  FakeCluster cluster(3);
  for (int32_t id : {1, 2, 3}) cluster.log_dirs[id] = OneDir("/d" + std::to_string(id), "t", id);
  auto admin = MakeAdmin(cluster);
  std::ostringstream out, err;
  ASSERT_EQ(RunLogDirs(*admin, Describe(), out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  auto dir = [](int id) {
    return "{\"broker\":" + std::to_string(id) +
           ",\"logDirs\":[{\"partitions\":[{\"partition\":\"t-0\",\"size\":" + std::to_string(id) +
           ",\"offsetLag\":0,\"isFuture\":false}],\"error\":null,"
           "\"logDir\":\"/d" +
           std::to_string(id) + "\"}]}";
  };
  EXPECT_EQ(out.str(),
            "Querying brokers for log directories information\n"
            "Received log directory information from brokers 1,2,3\n"
            "{\"brokers\":[" +
                dir(1) + "," + dir(2) + "," + dir(3) + "],\"version\":1}\n");

  std::ostringstream some, some_err;
  LogDirsOptions two = Describe();
  two.broker_list = "3,1";
  two.topic_list = "nope";
  ASSERT_EQ(RunLogDirs(*admin, two, some, some_err), 0) << some_err.str();
  EXPECT_EQ(some.str(),
            "Querying brokers for log directories information\n"
            "Received log directory information from brokers 1,3\n"
            "{\"brokers\":[{\"broker\":1,\"logDirs\":[{\"partitions\":[],\"error\":null,"
            "\"logDir\":\"/d1\"}]},{\"broker\":3,\"logDirs\":[{\"partitions\":[],\"error\":null,"
            "\"logDir\":\"/d3\"}]}],\"version\":1}\n");
  EXPECT_FALSE(cluster.log_dirs_requests[1].has_partitions()) << "Kafka's tool asks for all";
}

TEST(LogDirsCommandTest, UnknownBrokersAndFailedBrokersAreErrors) {
  FakeCluster cluster(2);
  auto admin = MakeAdmin(cluster);
  std::ostringstream out, err;
  LogDirsOptions missing = Describe();
  missing.broker_list = "1,7,9";
  EXPECT_EQ(RunLogDirs(*admin, missing, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "ERROR: The given brokers do not exist from --broker-list: 7,9. Current existent "
            "brokers: 1,2\n");

  LogDirsOptions bad = Describe();
  bad.broker_list = "1,a";
  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(RunLogDirs(*admin, bad, bad_out, bad_err), 1);
  EXPECT_EQ(bad_err.str(), "For input string: \"a\"\n");

  cluster.log_dirs[2].set_error(v1::CLUSTER_AUTHORIZATION_FAILED);
  cluster.log_dirs[2].set_error_message("Cluster authorization failed.");  // the broker's
  std::ostringstream denied_out, denied_err;
  EXPECT_EQ(RunLogDirs(*admin, Describe(), denied_out, denied_err), 1);
  EXPECT_EQ(denied_out.str(), "Querying brokers for log directories information\n");
  EXPECT_EQ(denied_err.str(),
            "org.apache.kafka.common.errors.ClusterAuthorizationException: Cluster authorization "
            "failed.\n");
}

}  // namespace
}  // namespace strata::tools
