// Dynamic configs (issue 13): the controller's IncrementalAlterConfigs and
// legacy AlterConfigs (replace_all) for topics, brokers and the cluster-wide
// broker default; Kafka's refusals; and the layering that decides a topic's
// effective config and what DescribeConfigs shows (dynamic_config.h).
#include "broker/metadata/dynamic_config.h"

#include <string>
#include <vector>

#include "broker/metadata/admin_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/controller_fixture.h"

namespace strata::metadata {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Ops = std::vector<AlterConfigOp>;

AlterConfigOp Set(const std::string& name, const std::string& value) {
  return {.name = name, .op = AlterConfigOpType::kSet, .value = value};
}
AlterConfigOp Delete(const std::string& name) {
  return {.name = name, .op = AlterConfigOpType::kDelete, .value = ""};
}
AlterConfigOp Append(const std::string& name, const std::string& value) {
  return {.name = name, .op = AlterConfigOpType::kAppend, .value = value};
}
AlterConfigOp Subtract(const std::string& name, const std::string& value) {
  return {.name = name, .op = AlterConfigOpType::kSubtract, .value = value};
}

class DynamicConfigTest : public ThreeBrokerTest {
 protected:
  void SetUp() override {
    ThreeBrokerTest::SetUp();
    ASSERT_EQ(Create("t", 1, 1).error, ErrorCode::kNone);
  }

  // One resource's change, decided and (when it succeeds) committed.
  AlterConfigsResult Alter(ConfigResourceType type, const std::string& name, Ops ops,
                           bool replace_all = false, bool validate_only = false) {
    IncrementalAlterConfigsRequest req;
    AlterConfigsResource res;
    res.type = type;
    res.name = name;
    res.ops = std::move(ops);
    req.resources.push_back(std::move(res));
    req.replace_all = replace_all;
    req.validate_only = validate_only;
    auto d = controller_.IncrementalAlterConfigs(*image_, req);
    EXPECT_EQ(d.response.results.size(), 1u);
    if (d.response.results[0].error != ErrorCode::kNone || validate_only) {
      EXPECT_EQ(d.records.records_size(), 0) << "a refused or validate-only change writes nothing";
    }
    Commit(d.records);
    if (d.response.results[0].error == ErrorCode::kNone) {
      EXPECT_TRUE(ImageShows(*image_, req, d.response));
    }
    return d.response.results[0];
  }

  const std::map<std::string, std::string>& BrokerConfigs(const std::string& resource) {
    static const std::map<std::string, std::string> kNone;
    auto it = image_->broker_configs().find(resource);
    return it == image_->broker_configs().end() ? kNone : it->second;
  }

  // The described config `name` of topic t as broker `broker` (with static
  // settings `statics`) applies it.
  DescribedConfig TopicConfig(const std::string& name, int32_t broker = 1,
                              const std::map<std::string, std::string>& statics = {}) {
    for (DescribedConfig& c :
         DescribeTopicConfigs(*image_->FindTopic("t"), *image_, broker, statics)) {
      if (c.name == name) return c;
    }
    ADD_FAILURE() << "no topic config " << name;
    return {};
  }
};

ConfigSynonym Syn(const std::string& name, const std::string& value, ConfigSource source) {
  return {.name = name, .value = value, .source = source};
}

// --- Validation --------------------------------------------------------------

TEST(DynamicBrokerConfigTest, RefusesWithKafkasWords) {
  EXPECT_TRUE(ValidateDynamicBrokerConfig("log.retention.ms", "3600000").ok());
  EXPECT_TRUE(ValidateDynamicBrokerConfig("compression.type", "zstd").ok());
  EXPECT_TRUE(ValidateDynamicBrokerConfig("leader.replication.throttled.rate", "100").ok());
  EXPECT_EQ(ValidateDynamicBrokerConfig("log.retention.ms", "abc").message(),
            "Invalid value abc for configuration log.retention.ms: Not a number of type LONG");
  EXPECT_EQ(ValidateDynamicBrokerConfig("log.segment.bytes", "1").message(),
            "Invalid value 1 for configuration log.segment.bytes: Value must be at least 14");
  EXPECT_EQ(ValidateDynamicBrokerConfig("message.max.bytes", "x").message(),
            "Invalid value x for configuration message.max.bytes: Not a number of type INT");
  EXPECT_THAT(ValidateDynamicBrokerConfig("log.cleanup.policy", "shred").message(),
              HasSubstr("Invalid value shred for configuration log.cleanup.policy:"));
  // As in Kafka, the hours and minutes synonyms are read-only.
  EXPECT_EQ(ValidateDynamicBrokerConfig("log.retention.hours", "5").message(),
            "Cannot update these configs dynamically: Set(log.retention.hours)");
  EXPECT_EQ(ValidateDynamicBrokerConfig("log.dirs", "/tmp").message(),
            "Cannot update these configs dynamically: Set(log.dirs)");
  EXPECT_TRUE(ValidateDynamicBrokerConfigName("log.retention.ms").ok());
  EXPECT_FALSE(ValidateDynamicBrokerConfigName("log.roll.hours").ok());
}

// --- The controller -------------------------------------------------------------

TEST_F(DynamicConfigTest, TopicAndBrokerConfigsAreSetAndDeleted) {
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "1000")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("retention.ms"), "1000");
  EXPECT_EQ(Alter(ConfigResourceType::kBroker, "", {Set("log.retention.ms", "5000")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(Alter(ConfigResourceType::kBroker, "2", {Set("min.insync.replicas", "2")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(BrokerConfigs("").at("log.retention.ms"), "5000");
  EXPECT_EQ(BrokerConfigs("2").at("min.insync.replicas"), "2");
  // Deleting puts the value back to the next level's.
  EXPECT_EQ(Alter(ConfigResourceType::kBroker, "", {Delete("log.retention.ms")}).error,
            ErrorCode::kNone);
  EXPECT_THAT(BrokerConfigs(""), IsEmpty());
  // The cluster default and per-broker configs survive a snapshot.
  EXPECT_EQ(Alter(ConfigResourceType::kBroker, "", {Set("log.segment.bytes", "1048576")}).error,
            ErrorCode::kNone);
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->broker_configs(), image_->broker_configs());
}

TEST_F(DynamicConfigTest, BadKeysAndValuesChangeNothing) {
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "1000")}).error,
            ErrorCode::kNone);
  struct Case {
    ConfigResourceType type;
    std::string name;
    Ops ops;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {ConfigResourceType::kTopic,
            "t",
            {Set("segment.bytes", "1048576"), Set("retention.ms", "abc")},
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"},
           {ConfigResourceType::kTopic,
            "t",
            {Set("segment.bytes", "1048576"), Set("no.such.key", "1")},
            "Unknown topic config name: no.such.key"},
           {ConfigResourceType::kTopic,
            "t",
            {Delete("no.such.key")},
            "Unknown topic config name: no.such.key"},
           {ConfigResourceType::kBroker,
            "",
            {Set("log.retention.ms", "abc")},
            "Invalid value abc for configuration log.retention.ms: Not a number of type LONG"},
           {ConfigResourceType::kBroker,
            "1",
            {Set("log.retention.hours", "1")},
            "Cannot update these configs dynamically: Set(log.retention.hours)"},
           {ConfigResourceType::kBroker,
            "1",
            {Delete("log.dirs")},
            "Cannot update these configs dynamically: Set(log.dirs)"},
       }) {
    AlterConfigsResult r = Alter(c.type, c.name, c.ops);
    EXPECT_EQ(r.error, ErrorCode::kInvalidConfig) << c.error;
    EXPECT_EQ(r.error_message, c.error);
  }
  EXPECT_EQ(image_->FindTopic("t")->configs,
            (std::map<std::string, std::string>{{"retention.ms", "1000"}}));
  EXPECT_THAT(image_->broker_configs(), IsEmpty());
}

TEST_F(DynamicConfigTest, ValidateOnlyChangesNothing) {
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "1000")},
                  /*replace_all=*/false, /*validate_only=*/true)
                .error,
            ErrorCode::kNone);
  EXPECT_THAT(image_->FindTopic("t")->configs, IsEmpty());
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "x")},
                  /*replace_all=*/false, /*validate_only=*/true)
                .error,
            ErrorCode::kInvalidConfig);
}

TEST_F(DynamicConfigTest, LegacyAlterConfigsReplacesTheWholeSet) {
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t",
                  {Set("retention.ms", "1000"), Set("max.message.bytes", "2048")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("segment.bytes", "1048576")},
                  /*replace_all=*/true)
                .error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs,
            (std::map<std::string, std::string>{{"segment.bytes", "1048576"}}));
  // Brokers too; an empty set clears them.
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "1",
                  {Set("log.retention.ms", "1"), Set("leader.replication.throttled.rate", "9")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "1", {}, /*replace_all=*/true).error,
            ErrorCode::kNone);
  EXPECT_THAT(BrokerConfigs("1"), IsEmpty());
  // A bad value keeps the old set whole.
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "nope")},
                  /*replace_all=*/true)
                .error,
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(image_->FindTopic("t")->configs,
            (std::map<std::string, std::string>{{"segment.bytes", "1048576"}}));
}

TEST_F(DynamicConfigTest, ImageShowsAReplacementOnlyOnceTheOthersAreGone) {
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "1000")}).error,
            ErrorCode::kNone);
  IncrementalAlterConfigsRequest req;
  AlterConfigsResource res;
  res.type = ConfigResourceType::kTopic;
  res.name = "t";
  res.ops = {Set("segment.bytes", "1048576")};
  req.resources.push_back(res);
  req.replace_all = true;
  IncrementalAlterConfigsResponse ok;
  ok.results.push_back(
      {.type = res.type, .name = "t", .error = ErrorCode::kNone, .error_message = ""});
  EXPECT_FALSE(ImageShows(*image_, req, ok)) << "retention.ms is still there";
  Commit(controller_.IncrementalAlterConfigs(*image_, req).records);
  EXPECT_TRUE(ImageShows(*image_, req, ok));
}

// --- Layering and DescribeConfigs ----------------------------------------------

TEST_F(DynamicConfigTest, BrokerLogDefaultsLayerPerBrokerOverClusterOverStatic) {
  const std::map<std::string, std::string> statics = {{"retention.ms", "100"},
                                                      {"segment.bytes", "2000"}};
  EXPECT_EQ(BrokerLogDefaults(statics, *image_, 1), statics);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "",
                  {Set("log.retention.ms", "200"), Set("message.max.bytes", "3000"),
                   Set("follower.replication.throttled.rate", "5")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "1", {Set("log.retention.ms", "300")}).error,
            ErrorCode::kNone);
  // Topic config names, the throttle (not a topic config's) left out.
  EXPECT_EQ(
      BrokerLogDefaults(statics, *image_, 1),
      (std::map<std::string, std::string>{
          {"max.message.bytes", "3000"}, {"retention.ms", "300"}, {"segment.bytes", "2000"}}));
  EXPECT_EQ(
      BrokerLogDefaults(statics, *image_, 2),
      (std::map<std::string, std::string>{
          {"max.message.bytes", "3000"}, {"retention.ms", "200"}, {"segment.bytes", "2000"}}));
  // What the logs get: the topic's own over all of it.
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "400")}).error,
            ErrorCode::kNone);
  storage::LogConfig on2 = storage::LogConfigFor(BrokerLogDefaults(statics, *image_, 2),
                                                 image_->FindTopic("t")->configs);
  EXPECT_EQ(on2.retention_ms, 400);
  EXPECT_EQ(on2.max_message_bytes, 3000);
  EXPECT_EQ(on2.segment_bytes, 2000);
}

TEST_F(DynamicConfigTest, TopicDescribeShowsSourcesAndSynonymsInKafkasOrder) {
  // At Kafka's defaults: retention.ms has no synonym (Kafka's is
  // log.retention.hours, cut before log.retention.ms), segment.bytes its own.
  DescribedConfig retention = TopicConfig("retention.ms");
  EXPECT_EQ(retention.value, "604800000");
  EXPECT_EQ(retention.source, ConfigSource::kDefault);
  EXPECT_THAT(retention.synonyms, IsEmpty());
  DescribedConfig segment = TopicConfig("segment.bytes");
  EXPECT_EQ(segment.source, ConfigSource::kDefault);
  EXPECT_THAT(segment.synonyms,
              ElementsAre(Syn("log.segment.bytes", "1073741824", ConfigSource::kDefault)));
  EXPECT_THAT(TopicConfig("leader.replication.throttled.replicas").synonyms, IsEmpty());

  // Every level set: the topic's first, then per broker, cluster, static, default.
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "", {Set("log.retention.ms", "200")}).error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "1", {Set("log.retention.ms", "300")}).error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "400")}).error,
            ErrorCode::kNone);
  retention = TopicConfig("retention.ms", 1, {{"retention.ms", "100"}});
  EXPECT_EQ(retention.value, "400");
  EXPECT_EQ(retention.source, ConfigSource::kDynamicTopic);
  EXPECT_THAT(retention.synonyms,
              ElementsAre(Syn("retention.ms", "400", ConfigSource::kDynamicTopic),
                          Syn("log.retention.ms", "300", ConfigSource::kDynamicBroker),
                          Syn("log.retention.ms", "200", ConfigSource::kDynamicDefaultBroker),
                          Syn("log.retention.ms", "100", ConfigSource::kStaticBroker),
                          Syn("log.retention.hours", "168", ConfigSource::kDefault)));
  // Another broker has no per-broker value; without the topic's, the
  // cluster default is in effect.
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Delete("retention.ms")}).error,
            ErrorCode::kNone);
  retention = TopicConfig("retention.ms", 2);
  EXPECT_EQ(retention.value, "200");
  EXPECT_EQ(retention.source, ConfigSource::kDynamicDefaultBroker);
  EXPECT_THAT(retention.synonyms,
              ElementsAre(Syn("log.retention.ms", "200", ConfigSource::kDynamicDefaultBroker),
                          Syn("log.retention.hours", "168", ConfigSource::kDefault)));
}

TEST_F(DynamicConfigTest, BrokerDescribeShowsTheDefaultsAndEachBrokersConfigs) {
  ASSERT_EQ(
      Alter(ConfigResourceType::kBroker, "",
            {Set("message.max.bytes", "2048"), Set("follower.replication.throttled.rate", "7")})
          .error,
      ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "1", {Set("message.max.bytes", "4096")}).error,
            ErrorCode::kNone);

  // The cluster default: what is set there, nothing else.
  std::vector<DescribedConfig> defaults = DescribeBrokerConfigs("", *image_, {});
  ASSERT_EQ(defaults.size(), 2u);
  EXPECT_EQ(defaults[0].name, "message.max.bytes");
  EXPECT_EQ(defaults[0].source, ConfigSource::kDynamicDefaultBroker);
  // Only the synonyms set at the default level (Kafka's createBrokerConfigEntry
  // filter for the default resource), even with static settings.
  EXPECT_THAT(defaults[0].synonyms,
              ElementsAre(Syn("message.max.bytes", "2048", ConfigSource::kDynamicDefaultBroker)));
  std::vector<DescribedConfig> with_static =
      DescribeBrokerConfigs("", *image_, {{"max.message.bytes", "5000"}});
  ASSERT_EQ(with_static.size(), 2u);
  EXPECT_EQ(with_static[0].value, "2048");
  EXPECT_THAT(with_static[0].synonyms,
              ElementsAre(Syn("message.max.bytes", "2048", ConfigSource::kDynamicDefaultBroker)));
  EXPECT_EQ(defaults[1].name, "follower.replication.throttled.rate");
  EXPECT_EQ(defaults[1].value, "7");

  // A broker: every broker name with a value, read-only ones marked.
  std::map<std::string, DescribedConfig> one;
  for (DescribedConfig& c : DescribeBrokerConfigs("1", *image_, {{"retention.ms", "100"}})) {
    one[c.name] = std::move(c);
  }
  EXPECT_EQ(one.at("message.max.bytes").value, "4096");
  EXPECT_EQ(one.at("message.max.bytes").source, ConfigSource::kDynamicBroker);
  EXPECT_THAT(one.at("message.max.bytes").synonyms,
              ElementsAre(Syn("message.max.bytes", "4096", ConfigSource::kDynamicBroker),
                          Syn("message.max.bytes", "2048", ConfigSource::kDynamicDefaultBroker),
                          Syn("message.max.bytes", "1048588", ConfigSource::kDefault)));
  EXPECT_EQ(one.at("log.retention.ms").value, "100");
  EXPECT_EQ(one.at("log.retention.ms").source, ConfigSource::kStaticBroker);
  EXPECT_FALSE(one.at("log.retention.ms").read_only);
  EXPECT_EQ(one.at("log.retention.hours").value, "168");
  EXPECT_TRUE(one.at("log.retention.hours").read_only);
  EXPECT_FALSE(one.contains("log.retention.minutes")) << "no value anywhere";
  EXPECT_EQ(one.at("follower.replication.throttled.rate").source,
            ConfigSource::kDynamicDefaultBroker);
  EXPECT_FALSE(one.contains("leader.replication.throttled.rate")) << "listed only when set";
}

TEST_F(DynamicConfigTest, TheClusterDefaultAllowsUncleanElectionUnlessTheTopicRefuses) {
  script_ = {0, 0};
  ASSERT_EQ(Create("follows", 1, 3).error, ErrorCode::kNone);
  script_ = {0, 0};
  ASSERT_EQ(Create("refuses", 1, 3, {{"unclean.leader.election.enable", "false"}}).error,
            ErrorCode::kNone);
  ASSERT_EQ(
      Alter(ConfigResourceType::kBroker, "", {Set("unclean.leader.election.enable", "true")}).error,
      ErrorCode::kNone);
  for (const char* t : {"follows", "refuses"}) {
    ASSERT_EQ(image_->FindPartition(t, 0)->leader, 1);
    ASSERT_EQ(AlterIsr(t, 0, 1, {1}).error(), v1::NONE);
  }
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // broker 1 fenced
  EXPECT_EQ(image_->FindPartition("follows", 0)->leader, 2);
  EXPECT_EQ(image_->FindPartition("refuses", 0)->leader, -1);
}

// --- APPEND and SUBTRACT (list configs) -----------------------------------------

TEST_F(DynamicConfigTest, AppendAndSubtractActOnListConfigs) {
  // Unset: APPEND starts from the default ("delete").
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Append("cleanup.policy", "compact")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("cleanup.policy"), "delete,compact");
  // An item already there is not added twice.
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Append("cleanup.policy", "compact")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("cleanup.policy"), "delete,compact");
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Subtract("cleanup.policy", "delete")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("cleanup.policy"), "compact");
  // The throttled-replica lists start from "" and take several items.
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t",
                  {Append("leader.replication.throttled.replicas", "0:1,0:2")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t",
                  {Append("leader.replication.throttled.replicas", "0:2,0:3"),
                   Subtract("follower.replication.throttled.replicas", "0:1")})
                .error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs.at("leader.replication.throttled.replicas"),
            "0:1,0:2,0:3");
  EXPECT_EQ(image_->FindTopic("t")->configs.at("follower.replication.throttled.replicas"), "");
  // A broker's log.cleanup.policy too.
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "", {Append("log.cleanup.policy", "compact")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(BrokerConfigs("").at("log.cleanup.policy"), "delete,compact");
}

TEST_F(DynamicConfigTest, AppendAndSubtractRefuseWhatIsNotAList) {
  const auto before = image_->FindTopic("t")->configs;
  AlterConfigsResult r = Alter(ConfigResourceType::kTopic, "t", {Append("retention.ms", "1")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error_message, "Can't APPEND to key retention.ms because its type is not LIST.");
  r = Alter(ConfigResourceType::kBroker, "1", {Subtract("log.retention.ms", "1")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error_message,
            "Can't SUBTRACT to key log.retention.ms because its type is not LIST.");
  // The result ("delete,shred") is checked as a value; Kafka's ValidList
  // names the item it does not know.
  r = Alter(ConfigResourceType::kTopic, "t", {Append("cleanup.policy", "shred")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error_message,
            "Invalid value shred for configuration cleanup.policy: String must be one of: "
            "compact, delete");
  EXPECT_EQ(image_->FindTopic("t")->configs, before);
  // Legacy AlterConfigs has SETs only.
  r = Alter(ConfigResourceType::kTopic, "t", {Append("cleanup.policy", "compact")},
            /*replace_all=*/true);
  EXPECT_EQ(r.error, ErrorCode::kInvalidRequest);
}

// --- The resulting set is validated -----------------------------------------------

TEST_F(DynamicConfigTest, TheResultingSetIsCheckedAcrossKeys) {
  ASSERT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("max.compaction.lag.ms", "1000")}).error,
            ErrorCode::kNone);
  // Valid alone, in conflict with what is already set.
  AlterConfigsResult r =
      Alter(ConfigResourceType::kTopic, "t", {Set("min.compaction.lag.ms", "60000")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error_message,
            "conflict topic config setting min.compaction.lag.ms (60000) > max.compaction.lag.ms "
            "(1000)");
  // Within one request, too; and deleting the other key resolves it.
  r = Alter(ConfigResourceType::kTopic, "t",
            {Set("min.compaction.lag.ms", "60000"), Set("max.compaction.lag.ms", "5")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(image_->FindTopic("t")->configs,
            (std::map<std::string, std::string>{{"max.compaction.lag.ms", "1000"}}));
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t",
                  {Set("min.compaction.lag.ms", "60000"), Delete("max.compaction.lag.ms")})
                .error,
            ErrorCode::kNone);
  EXPECT_EQ(image_->FindTopic("t")->configs,
            (std::map<std::string, std::string>{{"min.compaction.lag.ms", "60000"}}));
}

TEST_F(DynamicConfigTest, ATopicIsCreatedOnlyWithAConsistentSet) {
  TopicResult r =
      Create("lagged", 1, 1, {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}});
  EXPECT_EQ(r.error, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error_message,
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
  EXPECT_EQ(image_->FindTopic("lagged"), nullptr);
}

TEST_F(DynamicConfigTest, ADuplicatedResourceOrKeyIsAnInvalidRequest) {
  IncrementalAlterConfigsRequest req;
  for (const char* value : {"1000", "2000"}) {
    req.resources.push_back(AlterConfigsResource{
        .type = ConfigResourceType::kTopic, .name = "t", .ops = {Set("retention.ms", value)}});
  }
  req.resources.push_back(AlterConfigsResource{
      .type = ConfigResourceType::kBroker, .name = "", .ops = {Set("log.retention.ms", "5")}});
  auto d = controller_.IncrementalAlterConfigs(*image_, req);
  ASSERT_EQ(d.response.results.size(), 3u);
  for (int i : {0, 1}) {
    EXPECT_EQ(d.response.results[i].error, ErrorCode::kInvalidRequest);
    EXPECT_EQ(d.response.results[i].error_message, "Each resource must appear at most once.");
  }
  EXPECT_EQ(d.response.results[2].error, ErrorCode::kNone);
  Commit(d.records);
  EXPECT_THAT(image_->FindTopic("t")->configs, IsEmpty());
  // So the answer does not wait for an image that cannot come.
  EXPECT_TRUE(ImageShows(*image_, req, d.response));

  AlterConfigsResult r =
      Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "1"), Delete("retention.ms")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.error_message, "Error due to duplicate config keys");
}

// --- Stored values that do not validate ---------------------------------------------

// A ConfigRecord no controller of this build would write (an older build's,
// or one written by hand) is replayed without failing and never applied:
// the level below it decides.
TEST_F(DynamicConfigTest, AnInvalidStoredValueGivesWayToTheLevelBelow) {
  auto record = [](internal::ConfigResourceType type, const std::string& resource,
                   const std::string& name, const std::string& value) {
    internal::MetadataRecordBatch b;
    internal::ConfigRecord* c = b.add_records()->mutable_config();
    c->set_resource_type(type);
    c->set_resource_name(resource);
    c->set_name(name);
    c->set_value(value);
    return b;
  };
  const std::map<std::string, std::string> statics = {{"retention.ms", "100"},
                                                      {"max.message.bytes", "5000"}};
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "", {Set("message.max.bytes", "3000")}).error,
            ErrorCode::kNone);
  Commit(record(internal::CONFIG_RESOURCE_BROKER, "", "log.retention.ms", "abc"));
  Commit(record(internal::CONFIG_RESOURCE_BROKER, "1", "message.max.bytes", "-7"));
  Commit(record(internal::CONFIG_RESOURCE_TOPIC, "t", "max.message.bytes", "lots"));
  Commit(record(internal::CONFIG_RESOURCE_TOPIC, "t", "no.such.config", "1"));
  Commit(record(internal::CONFIG_RESOURCE_BROKER, "", "unclean.leader.election.enable", "yes"));
  ASSERT_EQ(BrokerConfigs("").at("log.retention.ms"), "abc");

  // Broker 1's bad message.max.bytes and the default's bad retention are
  // skipped: the cluster default and the static value stand.
  const std::map<std::string, std::string> defaults = BrokerLogDefaults(statics, *image_, 1);
  EXPECT_EQ(defaults, (std::map<std::string, std::string>{{"max.message.bytes", "3000"},
                                                          {"retention.ms", "100"}}));
  // The topic's bad max.message.bytes: the broker's, not Kafka's default.
  storage::LogConfig config = TopicLogConfig(defaults, *image_->FindTopic("t"));
  EXPECT_EQ(config.max_message_bytes, 3000);
  EXPECT_EQ(config.retention_ms, 100);
  // And again, as every image asks (logged once only).
  EXPECT_EQ(TopicLogConfig(defaults, *image_->FindTopic("t")), config);
  // A non-boolean unclean setting is skipped alike, by the controller and brokers.
  EXPECT_TRUE(UncleanLeaderElectionEnabled(*image_, *image_->FindTopic("t"), 1, true));
  EXPECT_FALSE(UncleanLeaderElectionEnabled(*image_, *image_->FindTopic("t"), 1, false));

  // Other changes still go through, and the bad value can be deleted.
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t", {Set("retention.ms", "7")}).error,
            ErrorCode::kNone);
  EXPECT_EQ(Alter(ConfigResourceType::kTopic, "t", {Delete("max.message.bytes")}).error,
            ErrorCode::kNone);
  EXPECT_FALSE(image_->FindTopic("t")->configs.contains("max.message.bytes"));
  // The image survives a snapshot with them.
  EXPECT_TRUE(MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset()).ok());
}

// --- The broker-log table ------------------------------------------------------------

TEST(BrokerLogConfigsTest, EveryBrokerNameDefaultsAKnownTopicConfig) {
  for (const BrokerLogConfig& c : BrokerLogConfigs()) {
    EXPECT_TRUE(storage::TopicConfigDefaults().contains(std::string(c.topic_config)))
        << c.name << " -> " << c.topic_config;
    // Its Kafka default is a valid value of the topic config.
    if (!c.kafka_default.empty() && c.dynamic) {
      EXPECT_TRUE(storage::ValidateTopicConfig(c.topic_config, c.kafka_default).ok())
          << c.name << "=" << c.kafka_default;
    }
  }
}

// --- unclean.leader.election.enable: the controller's node, and the brokers -------

// Kafka's KRaft order: the topic's, the controller node's dynamic config,
// the cluster default, server.properties. A replica allows the truncation
// whenever an election the controller could have run was allowed.
TEST_F(DynamicConfigTest, UncleanElectionFollowsTheControllerNodesOwnSetting) {
  ControllerOptions o = Options();
  o.node_id = 2;
  controller_ = Controller(o);
  // The new controller hears from every broker, as a new one would.
  for (int32_t id : {1, 2, 3}) Commit(Heartbeat(id).records);
  script_ = {0, 0};
  ASSERT_EQ(Create("follows", 1, 3).error, ErrorCode::kNone);
  script_ = {0, 0};
  ASSERT_EQ(Create("refuses", 1, 3, {{"unclean.leader.election.enable", "false"}}).error,
            ErrorCode::kNone);
  // The cluster default says no; the controller node's own says yes; another
  // broker's own does not count for the controller.
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "", {Set("unclean.leader.election.enable", "false")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(
      Alter(ConfigResourceType::kBroker, "3", {Set("unclean.leader.election.enable", "false")})
          .error,
      ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "2", {Set("unclean.leader.election.enable", "TRUE")})
                .error,
            ErrorCode::kNone);
  const ImagePtr image = image_;  // keeps the topics below alive
  const TopicInfo& follows = *image->FindTopic("follows");
  const TopicInfo& refuses = *image->FindTopic("refuses");
  EXPECT_TRUE(UncleanLeaderElectionEnabled(*image, follows, 2, false));
  EXPECT_FALSE(UncleanLeaderElectionEnabled(*image, follows, 3, true));
  EXPECT_FALSE(UncleanLeaderElectionEnabled(*image, follows, 1, true)) << "cluster default";
  EXPECT_FALSE(UncleanLeaderElectionEnabled(*image, refuses, 2, true)) << "the topic's own";
  // The broker side: any voter that would allow it allows the truncation.
  EXPECT_TRUE(UncleanTruncationAllowed(*image, follows, {1, 2, 3}, false));
  EXPECT_FALSE(UncleanTruncationAllowed(*image, follows, {1, 3}, false));
  EXPECT_FALSE(UncleanTruncationAllowed(*image, refuses, {1, 2, 3}, true));

  for (const char* t : {"follows", "refuses"}) {
    ASSERT_EQ(image_->FindPartition(t, 0)->leader, 1);
    ASSERT_EQ(AlterIsr(t, 0, 1, {1}).error(), v1::NONE);
  }
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // broker 1 fenced
  EXPECT_EQ(image_->FindPartition("follows", 0)->leader, 2);
  EXPECT_EQ(image_->FindPartition("refuses", 0)->leader, -1);
}

TEST_F(DynamicConfigTest, AnotherNodesOwnUncleanSettingDoesNotElect) {
  ControllerOptions o = Options();
  o.node_id = 3;
  controller_ = Controller(o);
  // The new controller hears from every broker, as a new one would.
  for (int32_t id : {1, 2, 3}) Commit(Heartbeat(id).records);
  script_ = {0, 0};
  ASSERT_EQ(Create("follows", 1, 3).error, ErrorCode::kNone);
  ASSERT_EQ(Alter(ConfigResourceType::kBroker, "2", {Set("unclean.leader.election.enable", "true")})
                .error,
            ErrorCode::kNone);
  ASSERT_EQ(AlterIsr("follows", 0, 1, {1}).error(), v1::NONE);
  now_ += kSession + 1;
  ASSERT_EQ(Heartbeat(2).response.error(), v1::NONE);
  ASSERT_EQ(Heartbeat(3).response.error(), v1::NONE);
  Commit(controller_.Tick(*image_, now_));  // broker 1 fenced
  EXPECT_EQ(image_->FindPartition("follows", 0)->leader, -1);
}

}  // namespace
}  // namespace strata::metadata
