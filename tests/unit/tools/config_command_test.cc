// `strata configs` (issue 13): Kafka's argument checks and messages, the
// --add-config syntax, the describe lines, and the command's calls and
// output against a scripted Admin service.
#include "tools/config_command.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/v1/admin.grpc.pb.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

ConfigCommandOptions Topic(const std::string& name) {
  ConfigCommandOptions o;
  o.bootstrap_server = "localhost:9092";
  o.entity_types = {"topics"};
  o.entity_names = {name};
  return o;
}

std::string Error(const ConfigCommandOptions& o) {
  absl::Status s = ValidateConfigCommandOptions(o);
  return s.ok() ? "OK" : std::string(s.message());
}

TEST(ConfigOptionsTest, KafkasChecksAndMessages) {
  ConfigCommandOptions o = Topic("t");
  EXPECT_EQ(Error(o), "Command must include exactly one action: --describe, --alter");
  o.describe = true;
  EXPECT_EQ(Error(o), "OK");
  o.alter = true;
  EXPECT_EQ(Error(o), "Command must include exactly one action: --describe, --alter");
  o.alter = false;
  o.add_config = "a=b";
  EXPECT_EQ(Error(o), "Option \"[describe]\" can't be used with option \"[add-config]\"");
  o.add_config.reset();
  o.bootstrap_server.reset();
  EXPECT_EQ(Error(o), "Either --bootstrap-server or --bootstrap-controller must be specified.");
  o.bootstrap_controller = "localhost:9092";
  EXPECT_EQ(Error(o), "OK");

  o = Topic("t");
  o.describe = true;
  o.entity_types = {"ips"};
  EXPECT_EQ(Error(o),
            "Invalid entity type ips, the entity type must be one of topics, clients, users, "
            "brokers with a --bootstrap-server or --bootstrap-controller argument");
  o.entity_types = {"topics", "topics"};
  EXPECT_EQ(Error(o), "Duplicate entity type(s) specified: topics");
  o.entity_types = {};
  EXPECT_EQ(Error(o), "At least one entity type must be specified");
  o.entity_types = {"topics"};
  o.entity_default = true;
  EXPECT_EQ(Error(o), "--entity-default must not be specified with --describe of topics");

  // --topic and friends instead of --entity-*, not with them.
  o = ConfigCommandOptions{};
  o.bootstrap_server = "h:1";
  o.describe = true;
  o.topic = "t";
  EXPECT_EQ(Error(o), "OK");
  EXPECT_EQ(EntityTypes(o), (std::vector<std::string>{"topics"}));
  EXPECT_EQ(EntityNames(o), (std::vector<std::string>{"t"}));
  o.entity_names = {"u"};
  EXPECT_EQ(Error(o),
            "--entity-{type,name,default} should not be used in conjunction with specific entity "
            "flags");
  o = ConfigCommandOptions{};
  o.bootstrap_server = "h:1";
  o.describe = true;
  o.other_entity_types = {"groups"};
  EXPECT_THAT(Error(o), ::testing::StartsWith("Invalid entity type groups,"));

  // Brokers: ids only; --alter needs a name or the default.
  o = ConfigCommandOptions{};
  o.bootstrap_server = "h:1";
  o.alter = true;
  o.entity_types = {"brokers"};
  o.add_config = "log.retention.ms=1";
  EXPECT_EQ(Error(o),
            "An entity-name or default entity must be specified with --alter of users, clients, "
            "brokers or ips");
  o.entity_names = {"one"};
  EXPECT_EQ(Error(o),
            "The entity name for brokers must be a valid integer broker id, but it is: one");
  o.entity_names = {};
  o.entity_default = true;
  EXPECT_EQ(Error(o), "OK");
  EXPECT_EQ(EntityNames(o), (std::vector<std::string>{""}));
  o.entity_names = {"1"};
  EXPECT_EQ(Error(o), "An entity name must be specified for every entity type");
  o.entity_default = false;
  o.entity_names = {};
  o.entity_types = {};
  o.broker_defaults = true;
  EXPECT_EQ(Error(o), "OK");

  o = Topic("t");
  o.alter = true;
  EXPECT_EQ(Error(o),
            "At least one of --add-config, --add-config-file, or --delete-config must be specified "
            "with --alter");
  o.add_config = "a=b";
  o.add_config_file = "f";
  EXPECT_EQ(Error(o), "Only one of --add-config or --add-config-file must be specified");
  o.add_config_file.reset();
  o.entity_names = {};
  EXPECT_EQ(Error(o), "An entity name must be specified with --alter of topics");
}

TEST(ConfigOptionsTest, AddConfigSyntaxIsKafkas) {
  auto parsed = ParseConfigsToAdd("k1=v1,k2=[a,b,c], k3 = v3 ,k4=,cleanup.policy=[compact,delete]");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre(Pair("cleanup.policy", "compact,delete"), Pair("k1", "v1"),
                                   Pair("k2", "a,b,c"), Pair("k3", "v3"), Pair("k4", "")));
  // A trailing comma is dropped, as Java's split drops trailing empties;
  // '=' inside brackets belongs to the value.
  parsed = ParseConfigsToAdd("a=[x=y],");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre(Pair("a", "x=y")));
  // Kafka 3.x's require(), "requirement failed: " and its double space included.
  const std::string format =
      "requirement failed: Invalid entity config: all configs to be added must be in the format "
      "\"key=val\" or  \"key=[val1,val2]\" to group values which contain commas.";
  for (const char* bad : {"", "a", "a=b=c", "a=1,,b=2", "a=1,b"}) {
    EXPECT_EQ(ParseConfigsToAdd(bad).status().message(), format) << bad;
  }
  EXPECT_EQ(ParseConfigsToAdd("re tention.ms=1").status().message(),
            "Invalid character found for config key: re tention.ms");
  EXPECT_EQ(ParseConfigsToDelete({"a, b", "c"}), (std::vector<std::string>{"a", "b", "c"}));
}

v1::ConfigEntry Entry(const std::string& name, const std::string& value, v1::ConfigSource source,
                      std::vector<std::tuple<v1::ConfigSource, std::string, std::string>> syns) {
  v1::ConfigEntry e;
  e.set_name(name);
  e.set_value(value);
  e.set_source(source);
  e.set_is_default(source == v1::DEFAULT_CONFIG);
  for (const auto& [src, n, v] : syns) {
    v1::ConfigSynonym* s = e.add_synonyms();
    s->set_source(src);
    s->set_name(n);
    s->set_value(v);
  }
  return e;
}

TEST(ConfigFormatTest, LinesAreKafkas) {
  EXPECT_EQ(FormatConfigEntry(Entry("retention.ms", "1000", v1::DYNAMIC_TOPIC_CONFIG,
                                    {{v1::DYNAMIC_TOPIC_CONFIG, "retention.ms", "1000"},
                                     {v1::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.retention.ms", "5"},
                                     {v1::DEFAULT_CONFIG, "log.retention.hours", "168"}})),
            "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, "
            "DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=5, "
            "DEFAULT_CONFIG:log.retention.hours=168}");
  EXPECT_EQ(FormatConfigEntry(Entry("flush.ms", "9223372036854775807", v1::DEFAULT_CONFIG, {})),
            "  flush.ms=9223372036854775807 sensitive=false synonyms={}");
  EXPECT_EQ(DescribeHeader("topics", "t", false), "Dynamic configs for topic t are:");
  EXPECT_EQ(DescribeHeader("brokers", "1", true), "All configs for broker 1 are:");
  EXPECT_EQ(DescribeHeader("brokers", "", false),
            "Default configs for brokers in the cluster are:");
  EXPECT_EQ(DynamicSourceOf("brokers", ""), v1::DYNAMIC_DEFAULT_BROKER_CONFIG);
  EXPECT_EQ(DynamicSourceOf("brokers", "2"), v1::DYNAMIC_BROKER_CONFIG);
  EXPECT_EQ(DynamicSourceOf("topics", "t"), v1::DYNAMIC_TOPIC_CONFIG);
  EXPECT_EQ(KafkaExceptionText(v1::INVALID_CONFIG, "Invalid value abc"),
            "org.apache.kafka.common.errors.InvalidConfigurationException: Invalid value abc");
  EXPECT_EQ(KafkaExceptionText(v1::PRODUCER_FENCED, ""),
            "org.apache.kafka.common.errors.ProducerFencedException: There is a newer producer "
            "with the same transactionalId which fences the current one.");
  EXPECT_EQ(KafkaExceptionText(v1::TRANSACTIONAL_ID_NOT_FOUND, "no tx"),
            "org.apache.kafka.common.errors.TransactionalIdNotFoundException: no tx");

  v1::DescribeConfigsResult result;
  *result.add_configs() = Entry("segment.bytes", "1", v1::DYNAMIC_TOPIC_CONFIG, {});
  *result.add_configs() = Entry("cleanup.policy", "delete", v1::DEFAULT_CONFIG, {});
  *result.add_configs() = Entry("max.message.bytes", "9", v1::DYNAMIC_TOPIC_CONFIG, {});
  std::vector<std::string> names;
  for (const v1::ConfigEntry& e : SelectConfigs(result, v1::DYNAMIC_TOPIC_CONFIG)) {
    names.push_back(e.name());
  }
  EXPECT_THAT(names, ElementsAre("max.message.bytes", "segment.bytes"));
  EXPECT_EQ(SelectConfigs(result, std::nullopt).front().name(), "cleanup.policy");
}

// An Admin service that answers configs calls from a map and records the
// changes asked of it.
class ScriptedAdmin final : public v1::Admin::Service {
 public:
  grpc::Status DescribeConfigs(grpc::ServerContext*, const v1::DescribeConfigsRequest* request,
                               v1::DescribeConfigsResponse* response) override {
    absl::MutexLock l(&mu_);
    for (const v1::DescribeConfigsResource& r : request->resources()) {
      v1::DescribeConfigsResult* out = response->add_results();
      out->set_resource_type(r.resource_type());
      out->set_resource_name(r.resource_name());
      auto it = configs_.find(r.resource_name());
      if (it == configs_.end()) {
        out->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        out->set_error_message("Topic '" + r.resource_name() + "' does not exist.");
        continue;
      }
      for (const v1::ConfigEntry& e : it->second) *out->add_configs() = e;
    }
    return grpc::Status::OK;
  }
  grpc::Status IncrementalAlterConfigs(grpc::ServerContext*,
                                       const v1::IncrementalAlterConfigsRequest* request,
                                       v1::IncrementalAlterConfigsResponse* response) override {
    absl::MutexLock l(&mu_);
    altered_.push_back(*request);
    for (const v1::AlterConfigsResource& r : request->resources()) {
      v1::AlterConfigsResourceResponse* out = response->add_responses();
      out->set_resource_name(r.resource_name());
      for (const v1::AlterableConfig& c : r.configs()) {
        if (c.value() == "abc") {
          out->set_error(v1::INVALID_CONFIG);
          out->set_error_message("Invalid value abc for configuration " + c.name() +
                                 ": Not a number of type LONG");
        }
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest*,
                          v1::ListTopicsResponse* response) override {
    response->add_names("a");
    response->add_names("b");
    return grpc::Status::OK;
  }
  grpc::Status DescribeCluster(grpc::ServerContext*, const v1::DescribeClusterRequest*,
                               v1::DescribeClusterResponse* response) override {
    for (int id : {2, 1, 3}) {
      v1::BrokerDescription* b = response->add_brokers();
      b->set_id(id);
      b->set_fenced(id == 3);
    }
    return grpc::Status::OK;
  }

  void Set(const std::string& resource, std::vector<v1::ConfigEntry> entries) {
    absl::MutexLock l(&mu_);
    configs_[resource] = std::move(entries);
  }
  std::vector<v1::IncrementalAlterConfigsRequest> altered() {
    absl::MutexLock l(&mu_);
    return altered_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<v1::ConfigEntry>> configs_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::IncrementalAlterConfigsRequest> altered_ ABSL_GUARDED_BY(mu_);
};

class ConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    client::AdminConfig config;
    config.bootstrap_servers = "127.0.0.1:" + std::to_string(port);
    config.request_timeout = absl::Seconds(5);
    auto admin = client::Admin::Create(config);
    ASSERT_TRUE(admin.ok());
    admin_ = *std::move(admin);
    service_.Set("t", {Entry("retention.ms", "1000", v1::DYNAMIC_TOPIC_CONFIG,
                             {{v1::DYNAMIC_TOPIC_CONFIG, "retention.ms", "1000"}}),
                       Entry("cleanup.policy", "delete", v1::DEFAULT_CONFIG,
                             {{v1::DEFAULT_CONFIG, "log.cleanup.policy", "delete"}})});
    service_.Set("", {Entry("log.retention.ms", "5", v1::DYNAMIC_DEFAULT_BROKER_CONFIG,
                            {{v1::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.retention.ms", "5"}})});
    for (const char* id : {"1", "2"}) {
      service_.Set(id, {Entry("log.retention.ms", "5", v1::DYNAMIC_DEFAULT_BROKER_CONFIG, {})});
    }
  }
  void TearDown() override { server_->Shutdown(); }

  int Run(ConfigCommandOptions o) {
    out_.str("");
    err_.str("");
    EXPECT_TRUE(ValidateConfigCommandOptions(o).ok()) << ValidateConfigCommandOptions(o);
    return RunConfigCommand(*admin_, o, out_, err_);
  }

  ScriptedAdmin service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::Admin> admin_;
  std::ostringstream out_, err_;
};

TEST_F(ConfigCommandTest, DescribeShowsWhatIsSetOrEverythingWithAll) {
  ConfigCommandOptions o = Topic("t");
  o.describe = true;
  ASSERT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(
      out_.str(),
      "Dynamic configs for topic t are:\n"
      "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n");
  o.all = true;
  ASSERT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(
      out_.str(),
      "All configs for topic t are:\n"
      "  cleanup.policy=delete sensitive=false synonyms={DEFAULT_CONFIG:log.cleanup.policy="
      "delete}\n"
      "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n");

  // Every live broker, then the cluster default.
  o = ConfigCommandOptions{};
  o.bootstrap_server = "x";
  o.describe = true;
  o.entity_types = {"brokers"};
  ASSERT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Dynamic configs for broker 1 are:\n"
            "Dynamic configs for broker 2 are:\n"
            "Default configs for brokers in the cluster are:\n"
            "  log.retention.ms=5 sensitive=false "
            "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=5}\n");
}

TEST_F(ConfigCommandTest, DescribeOfAMissingTopicFailsAsKafkaDoes) {
  ConfigCommandOptions o = Topic("nope");
  o.describe = true;
  o.args = "--describe --topic nope";
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(out_.str(), "Dynamic configs for topic nope are:\n");
  EXPECT_EQ(err_.str(),
            "Error while executing config command with args '--describe --topic nope'\n"
            "java.util.concurrent.ExecutionException: "
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic 'nope' does "
            "not exist.\n");
}

TEST_F(ConfigCommandTest, AlterSendsDeletesThenSetsAndSaysSo) {
  ConfigCommandOptions o = Topic("t");
  o.alter = true;
  o.add_config = "segment.bytes=1048576,cleanup.policy=[compact,delete]";
  o.delete_config = {"retention.ms"};
  ASSERT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Completed updating config for topic t.\n");
  const std::vector<v1::IncrementalAlterConfigsRequest> altered = service_.altered();
  ASSERT_EQ(altered.size(), 1u);
  const v1::AlterConfigsResource& r = altered[0].resources(0);
  EXPECT_EQ(r.resource_type(), v1::CONFIG_RESOURCE_TOPIC);
  EXPECT_EQ(r.resource_name(), "t");
  ASSERT_EQ(r.configs_size(), 3);
  EXPECT_EQ(r.configs(0).name(), "retention.ms");
  EXPECT_EQ(r.configs(0).op(), v1::CONFIG_DELETE);
  EXPECT_EQ(r.configs(1).name(), "cleanup.policy");
  EXPECT_EQ(r.configs(1).value(), "compact,delete");
  EXPECT_EQ(r.configs(2).name(), "segment.bytes");
  EXPECT_EQ(r.configs(2).op(), v1::CONFIG_SET);

  o = ConfigCommandOptions{};
  o.bootstrap_server = "x";
  o.alter = true;
  o.entity_types = {"brokers"};
  o.entity_default = true;
  o.add_config = "log.retention.ms=100";
  ASSERT_EQ(Run(o), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Completed updating default config for brokers in the cluster.\n");
  EXPECT_EQ(service_.altered().back().resources(0).resource_type(), v1::CONFIG_RESOURCE_BROKER);
  EXPECT_EQ(service_.altered().back().resources(0).resource_name(), "");
}

TEST_F(ConfigCommandTest, RefusalsChangeNothingAndExitOne) {
  // Deleting what is not set is refused before anything is sent.
  ConfigCommandOptions o = Topic("t");
  o.alter = true;
  o.delete_config = {"retention.bytes,cleanup.policy,retention.ms"};
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(err_.str(), "Invalid config(s): retention.bytes,cleanup.policy\n");
  EXPECT_TRUE(service_.altered().empty());
  o.delete_config.clear();
  o.add_config = "a=b=c";
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(err_.str(),
            "requirement failed: Invalid entity config: all configs to be added must be in the "
            "format \"key=val\" or  \"key=[val1,val2]\" to group values which contain commas.\n");
  EXPECT_TRUE(service_.altered().empty());

  // The server's refusal, in Kafka's shape.
  o.add_config = "retention.ms=abc";
  o.args = "--bootstrap-server x --alter --topic t --add-config retention.ms=abc";
  EXPECT_EQ(Run(o), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "Error while executing config command with args '--bootstrap-server x --alter --topic "
            "t --add-config retention.ms=abc'\n"
            "java.util.concurrent.ExecutionException: "
            "org.apache.kafka.common.errors.InvalidConfigurationException: Invalid value abc for "
            "configuration retention.ms: Not a number of type LONG\n");
}

}  // namespace
}  // namespace strata::tools
