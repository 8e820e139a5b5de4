// The admin APIs between Kafka's structs and the request layer's: the
// mapping functions (null vs empty, -1 defaults, versions, refusals, where
// errors go, message limits), and a few calls through the Dispatcher with a
// fake AdminOps, which show each adapter replies exactly once — also when
// the answer comes later, after the frame is gone.
#include "broker/kafka/admin_adapter.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

constexpr int16_t kInvalidRequest = 42;

metadata::TopicResult TopicResult(std::string name, ErrorCode error = ErrorCode::kNone,
                                  std::string message = "") {
  metadata::TopicResult r;
  r.name = std::move(name);
  r.error = error;
  r.error_message = std::move(message);
  return r;
}

template <typename M>
bool Encodes(int16_t version, const M& message) {
  std::string out;
  absl::Status s = Encode(version, message, &out);
  EXPECT_TRUE(s.ok()) << s;
  return s.ok();
}

// --- Error messages ---

TEST(AdminAdapterTest, ErrorMessageIsNullForNoneOrEmptyAndCutToKafkasStringLimit) {
  EXPECT_EQ(ErrorMessageField(ErrorCode::kNone, "ignored"), std::nullopt);
  EXPECT_EQ(ErrorMessageField(ErrorCode::kInvalidRequest, ""), std::nullopt);
  EXPECT_EQ(ErrorMessageField(ErrorCode::kInvalidRequest, "why"), "why");

  const std::string exact(kMaxKafkaStringBytes, 'x');
  EXPECT_EQ(ErrorMessageField(ErrorCode::kInvalidRequest, exact), exact);
  std::optional<std::string> cut =
      ErrorMessageField(ErrorCode::kInvalidRequest, std::string(100000, 'y'));
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->size(), kMaxKafkaStringBytes);

  // A two-byte character straddling the limit is left out whole.
  std::string utf8(kMaxKafkaStringBytes - 1, 'z');
  utf8 += "\xC3\xA9tail";
  cut = ErrorMessageField(ErrorCode::kInvalidRequest, utf8);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->size(), kMaxKafkaStringBytes - 1);
  EXPECT_EQ(cut->back(), 'z');
}

TEST(AdminAdapterTest, AHugeLayerMessageStillEncodes) {
  metadata::CreateTopicsResponse answer;
  answer.results.push_back(TopicResult("t", ErrorCode::kInvalidConfig, std::string(70000, 'm')));
  for (int16_t v : {3, 4}) {
    CreateTopicsResponse out = FromRequestLayer(CreateTopicsRequest{}, answer, v);
    ASSERT_EQ(out.topics.size(), 1u);
    EXPECT_EQ(out.topics[0].error_message->size(), kMaxKafkaStringBytes);
    EXPECT_TRUE(Encodes(v, out));
  }
}

// --- CreateTopics ---

TEST(AdminAdapterTest, CreateTopicsKeepsMinusOneDefaultsAssignmentsAndValidateOnly) {
  CreateTopicsRequest request;
  request.topics.push_back(
      {.name = "defaults",
       .num_partitions = -1,
       .replication_factor = -1,
       .assignments = {},
       .configs = {{"retention.ms", "1000"}, {"cleanup.policy", std::nullopt}}});
  request.topics.push_back({.name = "manual",
                            .num_partitions = -1,
                            .replication_factor = -1,
                            .assignments = {{0, {1, 2}}, {1, {2, 3}}, {1, {3, 1}}},
                            .configs = {}});
  request.topics.push_back({.name = "sized",
                            .num_partitions = 6,
                            .replication_factor = 3,
                            .assignments = {},
                            .configs = {}});
  request.timeout_ms = 1234;
  request.validate_only = true;

  metadata::CreateTopicsRequest layer = ToRequestLayer(request, 4);
  ASSERT_EQ(layer.topics.size(), 3u);
  EXPECT_EQ(layer.topics[0].num_partitions, metadata::kUseDefault);
  EXPECT_EQ(layer.topics[0].replication_factor, metadata::kUseDefault);
  // A null value is no override.
  EXPECT_EQ(layer.topics[0].configs,
            (std::map<std::string, std::string>{{"retention.ms", "1000"}}));
  EXPECT_EQ(layer.topics[1].assignments.at(0), (std::vector<int32_t>{1, 2}));
  // A partition assigned twice: an empty list, for the controller to refuse.
  EXPECT_TRUE(layer.topics[1].assignments.at(1).empty());
  EXPECT_EQ(layer.topics[2].num_partitions, 6);
  EXPECT_EQ(layer.topics[2].replication_factor, 3);
  EXPECT_EQ(layer.timeout_ms, 1234);
  EXPECT_TRUE(layer.validate_only);
  EXPECT_FALSE(layer.internal);
  EXPECT_FALSE(ToRequestLayer(CreateTopicsRequest{}, 3).validate_only);
}

TEST(AdminAdapterTest, CreateTopicsResultsCarryCodeAndMessageNullOnSuccess) {
  metadata::CreateTopicsResponse answer;
  answer.results.push_back(TopicResult("a"));
  answer.results.push_back(
      TopicResult("b", ErrorCode::kTopicAlreadyExists, "Topic 'b' already exists."));
  for (int16_t v : {3, 4}) {
    CreateTopicsResponse out = FromRequestLayer(CreateTopicsRequest{}, answer, v);
    ASSERT_EQ(out.topics.size(), 2u);
    EXPECT_EQ(out.throttle_time_ms, 0);
    EXPECT_EQ(out.topics[0], (CreateTopicsResponse::Result{"a", 0, std::nullopt}));
    EXPECT_EQ(out.topics[1], (CreateTopicsResponse::Result{"b", 36, "Topic 'b' already exists."}));
    EXPECT_TRUE(Encodes(v, out));
  }
}

TEST(AdminAdapterTest, DeleteTopicsMapsNamesAndCodes) {
  DeleteTopicsRequest request{.topic_names = {"a", "b"}, .timeout_ms = 500};
  metadata::DeleteTopicsRequest layer = ToRequestLayer(request, 3);
  EXPECT_EQ(layer.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(layer.timeout_ms, 500);
  metadata::DeleteTopicsResponse answer;
  answer.results.push_back(TopicResult("a"));
  answer.results.push_back(TopicResult("b", ErrorCode::kUnknownTopicOrPartition));
  DeleteTopicsResponse out = FromRequestLayer(request, answer, 1);
  EXPECT_EQ(out.responses, (std::vector<DeleteTopicsResponse::Result>{{"a", 0}, {"b", 3}}));
}

// --- CreatePartitions ---

TEST(AdminAdapterTest, CreatePartitionsRefusesManualAssignmentsPerTopicAndSendsTheRest) {
  CreatePartitionsRequest request;
  request.topics.push_back({.name = "grow", .count = 4, .assignments = std::nullopt});
  request.topics.push_back(
      {.name = "manual",
       .count = 3,
       .assignments = std::vector<CreatePartitionsRequest::Assignment>{{{1, 2}}}});
  // Non-null, even empty, is a manual assignment.
  request.topics.push_back({.name = "empty",
                            .count = 3,
                            .assignments = std::vector<CreatePartitionsRequest::Assignment>{}});
  request.topics.push_back({.name = "also", .count = 2, .assignments = std::nullopt});
  request.validate_only = true;
  request.timeout_ms = 77;

  metadata::CreatePartitionsRequest layer = ToRequestLayer(request, 1);
  ASSERT_EQ(layer.topics.size(), 2u);
  EXPECT_EQ(layer.topics[0].name, "grow");
  EXPECT_EQ(layer.topics[0].count, 4);
  EXPECT_EQ(layer.topics[1].name, "also");
  EXPECT_TRUE(layer.validate_only);
  EXPECT_EQ(layer.timeout_ms, 77);
  EXPECT_FALSE(EveryTopicRefused(request));

  metadata::CreatePartitionsResponse answer;
  answer.results.push_back(TopicResult("grow"));
  answer.results.push_back(TopicResult("also", ErrorCode::kInvalidPartitions, "fewer"));
  for (int16_t v : {0, 1}) {
    CreatePartitionsResponse out = FromRequestLayer(request, answer, v);
    ASSERT_EQ(out.results.size(), 4u);
    EXPECT_EQ(out.results[0], (CreatePartitionsResponse::Result{"grow", 0, std::nullopt}));
    EXPECT_EQ(out.results[1],
              (CreatePartitionsResponse::Result{"manual", kInvalidRequest,
                                                "manual assignments are not supported yet"}));
    EXPECT_EQ(out.results[2].name, "empty");
    EXPECT_EQ(out.results[2].error_code, kInvalidRequest);
    EXPECT_EQ(out.results[3], (CreatePartitionsResponse::Result{"also", 37, "fewer"}));
    EXPECT_TRUE(Encodes(v, out));
  }
}

TEST(AdminAdapterTest, CreatePartitionsAllRefusedNeedsNoCall) {
  CreatePartitionsRequest request;
  EXPECT_FALSE(EveryTopicRefused(request));
  request.topics.push_back(
      {.name = "m",
       .count = 2,
       .assignments = std::vector<CreatePartitionsRequest::Assignment>{{{1}}}});
  EXPECT_TRUE(EveryTopicRefused(request));
  EXPECT_TRUE(ToRequestLayer(request, 0).topics.empty());
  CreatePartitionsResponse out = FromRequestLayer(request, {}, 0);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(out.results[0].error_code, kInvalidRequest);
}

// --- DescribeConfigs ---

DescribeConfigsRequest::Resource Resource(int8_t type, std::string name,
                                          std::optional<std::vector<std::string>> keys) {
  return {.resource_type = type, .resource_name = std::move(name), .configuration_keys = keys};
}

TEST(AdminAdapterTest, DescribeConfigsNullAndEmptyKeysAreEveryKeyAndNamedKeysAreThose) {
  DescribeConfigsRequest request;
  request.resources.push_back(Resource(2, "t", std::nullopt));
  request.resources.push_back(Resource(2, "t", std::vector<std::string>{}));
  request.resources.push_back(Resource(4, "1", std::vector<std::string>{"log.retention.ms"}));
  request.include_synonyms = true;
  request::DescribeConfigsRequest layer = ToRequestLayer(request, 2);
  ASSERT_EQ(layer.resources.size(), 3u);
  EXPECT_FALSE(layer.resources[0].keys.has_value());
  // Kafka's ConfigHelper reads an empty list as every key, as null.
  EXPECT_FALSE(layer.resources[1].keys.has_value());
  ASSERT_TRUE(layer.resources[2].keys.has_value());
  EXPECT_EQ(*layer.resources[2].keys, std::vector<std::string>{"log.retention.ms"});
  EXPECT_TRUE(layer.include_synonyms);
  EXPECT_FALSE(layer.forwarded);
}

TEST(AdminAdapterTest, DescribeConfigsMapsTopicBrokerAndSendsBrokerLoggerAsUnknown) {
  DescribeConfigsRequest request;
  request.resources.push_back(Resource(2, "t", std::nullopt));
  request.resources.push_back(Resource(4, "", std::nullopt));
  request.resources.push_back(Resource(4, "3", std::nullopt));
  request.resources.push_back(Resource(8, "1", std::nullopt));
  request.resources.push_back(Resource(99, "x", std::nullopt));
  request::DescribeConfigsRequest layer = ToRequestLayer(request, 1);
  ASSERT_EQ(layer.resources.size(), 5u);
  EXPECT_EQ(layer.resources[0].type, metadata::ConfigResourceType::kTopic);
  EXPECT_EQ(layer.resources[1].type, metadata::ConfigResourceType::kBroker);
  EXPECT_EQ(layer.resources[1].name, "");
  EXPECT_EQ(layer.resources[2].name, "3");
  EXPECT_EQ(layer.resources[3].type, metadata::ConfigResourceType::kUnknown);
  EXPECT_EQ(layer.resources[4].type, metadata::ConfigResourceType::kUnknown);

  // The layer refuses kUnknown; the answer names the type the client sent.
  request::DescribeConfigsResponse answer;
  for (const request::DescribeConfigsResource& r : layer.resources) {
    request::DescribeConfigsResult& out = answer.results.emplace_back();
    out.type = r.type;
    out.name = r.name;
    if (r.type == metadata::ConfigResourceType::kUnknown) {
      out.error = ErrorCode::kInvalidRequest;
      out.message = "Unsupported config resource type; use TOPIC (2) or BROKER (4).";
    }
  }
  DescribeConfigsResponse out = FromRequestLayer(request, answer, 1);
  ASSERT_EQ(out.results.size(), 5u);
  EXPECT_EQ(out.results[0].resource_type, 2);
  EXPECT_EQ(out.results[0].error_message, std::nullopt);
  EXPECT_EQ(out.results[1].resource_type, 4);
  EXPECT_EQ(out.results[3].resource_type, 8);
  EXPECT_EQ(out.results[3].error_code, kInvalidRequest);
  EXPECT_EQ(out.results[3].error_message,
            "Unsupported config resource type; use TOPIC (2) or BROKER (4).");
  EXPECT_EQ(out.results[4].resource_type, 99);
  EXPECT_TRUE(Encodes(int16_t{1}, out));
}

request::DescribeConfigsResponse OneTopicConfig() {
  request::DescribeConfigsResponse answer;
  request::DescribeConfigsResult& r = answer.results.emplace_back();
  r.type = metadata::ConfigResourceType::kTopic;
  r.name = "t";
  metadata::DescribedConfig& c = r.configs.emplace_back();
  c.name = "retention.ms";
  c.value = "1000";
  c.source = metadata::ConfigSource::kDynamicTopic;
  c.read_only = false;
  c.synonyms = {{"retention.ms", "1000", metadata::ConfigSource::kDynamicTopic},
                {"log.retention.ms", "5000", metadata::ConfigSource::kStaticBroker}};
  metadata::DescribedConfig& d = r.configs.emplace_back();
  d.name = "segment.bytes";
  d.value = "1073741824";
  d.source = metadata::ConfigSource::kDefault;
  d.read_only = true;
  return answer;
}

TEST(AdminAdapterTest, DescribeConfigsSourcesAreKafkasNumbersAndSynonymsOnlyWhenAsked) {
  for (bool synonyms : {false, true}) {
    SCOPED_TRACE(synonyms);
    DescribeConfigsRequest request;
    request.resources.push_back(Resource(2, "t", std::nullopt));
    request.include_synonyms = synonyms;
    for (int16_t v : {1, 2}) {
      DescribeConfigsResponse out = FromRequestLayer(request, OneTopicConfig(), v);
      ASSERT_EQ(out.results.size(), 1u);
      ASSERT_EQ(out.results[0].configs.size(), 2u);
      const DescribeConfigsResponse::Config& c = out.results[0].configs[0];
      EXPECT_EQ(c.name, "retention.ms");
      EXPECT_EQ(c.value, "1000");
      EXPECT_EQ(c.config_source, 1);  // DYNAMIC_TOPIC_CONFIG
      EXPECT_FALSE(c.is_sensitive);
      EXPECT_FALSE(c.read_only);
      if (synonyms) {
        EXPECT_EQ(c.synonyms, (std::vector<DescribeConfigsResponse::Synonym>{
                                  {"retention.ms", "1000", 1}, {"log.retention.ms", "5000", 4}}));
      } else {
        EXPECT_TRUE(c.synonyms.empty());
      }
      EXPECT_EQ(out.results[0].configs[1].config_source, 5);  // DEFAULT_CONFIG
      EXPECT_TRUE(out.results[0].configs[1].read_only);
      EXPECT_TRUE(Encodes(v, out));
    }
  }
}

// --- AlterConfigs / IncrementalAlterConfigs ---

TEST(AdminAdapterTest, AlterConfigsIsSetsWithReplaceAllAndNullValuesLeftOut) {
  AlterConfigsRequest request;
  request.resources.push_back(
      {.resource_type = 2,
       .resource_name = "t",
       .configs = {{"retention.ms", "1000"}, {"cleanup.policy", std::nullopt}}});
  request.resources.push_back({.resource_type = 4, .resource_name = "", .configs = {}});
  request.validate_only = true;
  metadata::IncrementalAlterConfigsRequest layer = ToRequestLayer(request, 0);
  EXPECT_TRUE(layer.replace_all);
  EXPECT_TRUE(layer.validate_only);
  ASSERT_EQ(layer.resources.size(), 2u);
  EXPECT_EQ(layer.resources[0].type, metadata::ConfigResourceType::kTopic);
  ASSERT_EQ(layer.resources[0].ops.size(), 1u);
  EXPECT_EQ(layer.resources[0].ops[0].name, "retention.ms");
  EXPECT_EQ(layer.resources[0].ops[0].op, metadata::AlterConfigOpType::kSet);
  EXPECT_EQ(layer.resources[0].ops[0].value, "1000");
  EXPECT_EQ(layer.resources[1].type, metadata::ConfigResourceType::kBroker);
  EXPECT_TRUE(layer.resources[1].ops.empty());
}

TEST(AdminAdapterTest, IncrementalAlterConfigsMapsTheFourOperationsAndKeepsOthersUnknown) {
  IncrementalAlterConfigsRequest request;
  request.resources.push_back(
      {.resource_type = 2,
       .resource_name = "t",
       .configs = {
           {"a", 0, "1"}, {"b", 1, std::nullopt}, {"c", 2, "x,y"}, {"d", 3, "x"}, {"e", 7, "?"}}});
  request.resources.push_back({.resource_type = 8, .resource_name = "1", .configs = {}});
  metadata::IncrementalAlterConfigsRequest layer = ToRequestLayer(request, 1);
  EXPECT_FALSE(layer.replace_all);
  EXPECT_FALSE(layer.validate_only);
  ASSERT_EQ(layer.resources[0].ops.size(), 5u);
  EXPECT_EQ(layer.resources[0].ops[0].op, metadata::AlterConfigOpType::kSet);
  EXPECT_EQ(layer.resources[0].ops[1].op, metadata::AlterConfigOpType::kDelete);
  EXPECT_EQ(layer.resources[0].ops[1].value, "");
  EXPECT_EQ(layer.resources[0].ops[2].op, metadata::AlterConfigOpType::kAppend);
  EXPECT_EQ(layer.resources[0].ops[3].op, metadata::AlterConfigOpType::kSubtract);
  EXPECT_EQ(layer.resources[0].ops[4].op, metadata::AlterConfigOpType::kUnknown);
  EXPECT_EQ(layer.resources[1].type, metadata::ConfigResourceType::kUnknown);
}

TEST(AdminAdapterTest, AlterConfigsWholeCallErrorGoesOnEveryResource) {
  IncrementalAlterConfigsRequest request;
  request.resources.push_back({.resource_type = 2, .resource_name = "t", .configs = {}});
  request.resources.push_back({.resource_type = 4, .resource_name = "1", .configs = {}});
  metadata::IncrementalAlterConfigsResponse answer;
  answer.error = ErrorCode::kNotController;
  answer.error_message = "no controller";
  for (int16_t v : {0, 1}) {
    IncrementalAlterConfigsResponse out = FromRequestLayer(request, answer, v);
    ASSERT_EQ(out.responses.size(), 2u);
    for (const auto& r : out.responses) {
      EXPECT_EQ(r.error_code, 41);
      EXPECT_EQ(r.error_message, "no controller");
    }
    EXPECT_EQ(out.responses[0].resource_type, 2);
    EXPECT_EQ(out.responses[1].resource_name, "1");
    EXPECT_TRUE(Encodes(v, out));
  }

  // Per resource otherwise, with the type number as the client sent it.
  AlterConfigsRequest legacy;
  legacy.resources.push_back({.resource_type = 2, .resource_name = "t", .configs = {}});
  legacy.resources.push_back({.resource_type = 8, .resource_name = "1", .configs = {}});
  metadata::IncrementalAlterConfigsResponse per;
  per.results.resize(2);
  per.results[0].type = metadata::ConfigResourceType::kTopic;
  per.results[0].name = "t";
  per.results[1].type = metadata::ConfigResourceType::kUnknown;
  per.results[1].name = "1";
  per.results[1].error = ErrorCode::kInvalidRequest;
  per.results[1].error_message = "Unsupported config resource type";
  AlterConfigsResponse out = FromRequestLayer(legacy, per, 1);
  ASSERT_EQ(out.responses.size(), 2u);
  EXPECT_EQ(out.responses[0], (AlterConfigsResponse::Response{0, std::nullopt, 2, "t"}));
  EXPECT_EQ(out.responses[1], (AlterConfigsResponse::Response{
                                  kInvalidRequest, "Unsupported config resource type", 8, "1"}));
}

// --- DeleteRecords ---

TEST(AdminAdapterTest, DeleteRecordsPassesMinusOneAndNestsResults) {
  DeleteRecordsRequest request;
  request.topics.push_back({.name = "t", .partitions = {{0, -1}, {1, 42}}});
  request.timeout_ms = 900;
  request::DeleteRecordsRequest layer = ToRequestLayer(request, 1);
  EXPECT_EQ(layer.timeout_ms, 900);
  ASSERT_EQ(layer.topics.size(), 1u);
  EXPECT_EQ(layer.topics[0].topic, "t");
  ASSERT_EQ(layer.topics[0].partitions.size(), 2u);
  EXPECT_EQ(layer.topics[0].partitions[0].offset, -1);
  EXPECT_EQ(layer.topics[0].partitions[1].partition, 1);
  EXPECT_EQ(layer.topics[0].partitions[1].offset, 42);

  request::DeleteRecordsResponse answer;
  answer.topics.push_back({.topic = "t",
                           .partitions = {{0, ErrorCode::kNone, "", 10, -1},
                                          {1, ErrorCode::kNotLeaderOrFollower, "m", -1, -1}}});
  DeleteRecordsResponse out = FromRequestLayer(request, answer, 1);
  ASSERT_EQ(out.topics.size(), 1u);
  EXPECT_EQ(out.topics[0].partitions,
            (std::vector<DeleteRecordsResponse::Partition>{{0, 10, 0}, {1, -1, 6}}));
}

// --- ElectLeaders ---

TEST(AdminAdapterTest, ElectLeadersV0IsPreferredAndLaterVersionsSayWhich) {
  ElectLeadersRequest request;
  request.election_type = 1;
  EXPECT_EQ(ToRequestLayer(request, 0).election_type, metadata::ElectionType::kPreferred);
  EXPECT_EQ(ToRequestLayer(request, 1).election_type, metadata::ElectionType::kUnclean);
  EXPECT_EQ(ToRequestLayer(request, 2).election_type, metadata::ElectionType::kUnclean);
  request.election_type = 0;
  EXPECT_EQ(ToRequestLayer(request, 2).election_type, metadata::ElectionType::kPreferred);
  // A number nobody knows goes as it came, for the controller to refuse.
  request.election_type = 5;
  EXPECT_EQ(static_cast<int>(ToRequestLayer(request, 1).election_type), 5);
}

TEST(AdminAdapterTest, ElectLeadersNullPartitionsAreAllAndEmptyAreNone) {
  ElectLeadersRequest request;
  request.topic_partitions.reset();
  request.timeout_ms = 5;
  metadata::ElectLeadersRequest all = ToRequestLayer(request, 1);
  EXPECT_FALSE(all.topic_partitions.has_value());
  EXPECT_EQ(all.timeout_ms, 5);
  request.topic_partitions.emplace();
  metadata::ElectLeadersRequest none = ToRequestLayer(request, 1);
  ASSERT_TRUE(none.topic_partitions.has_value());
  EXPECT_TRUE(none.topic_partitions->empty());
  request.topic_partitions->push_back({"t", {0, 2}});
  metadata::ElectLeadersRequest some = ToRequestLayer(request, 0);
  ASSERT_EQ(some.topic_partitions->size(), 1u);
  EXPECT_EQ((*some.topic_partitions)[0].topic, "t");
  EXPECT_EQ((*some.topic_partitions)[0].partitions, (std::vector<int32_t>{0, 2}));
}

TEST(AdminAdapterTest, ElectLeadersResultsAreNestedByTopicInFirstAppearanceOrder) {
  metadata::ElectLeadersResponse answer;
  answer.results = {{"b", 1, ErrorCode::kNone, "", 2},
                    {"a", 0, ErrorCode::kElectionNotNeeded, "already", -1},
                    {"b", 0, ErrorCode::kNone, "", 1}};
  for (int16_t v : {0, 1, 2}) {
    absl::StatusOr<ElectLeadersResponse> out = FromRequestLayer(ElectLeadersRequest{}, answer, v);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->error_code, 0);
    ASSERT_EQ(out->replica_election_results.size(), 2u);
    EXPECT_EQ(out->replica_election_results[0].topic, "b");
    EXPECT_EQ(out->replica_election_results[0].partition_result,
              (std::vector<ElectLeadersResponse::PartitionResult>{{1, 0, std::nullopt},
                                                                  {0, 0, std::nullopt}}));
    EXPECT_EQ(out->replica_election_results[1].partition_result,
              (std::vector<ElectLeadersResponse::PartitionResult>{{0, 84, "already"}}));
    EXPECT_TRUE(Encodes(v, *out));
  }
}

TEST(AdminAdapterTest, ElectLeadersWholeCallErrorIsTopLevelFromV1AndOnEveryPartitionAsked) {
  metadata::ElectLeadersResponse answer;
  answer.error = ErrorCode::kNotController;
  answer.error_message = "no controller";
  ElectLeadersRequest named;
  named.topic_partitions = std::vector<ElectLeadersRequest::TopicPartitions>{{"t", {0, 1}}};
  for (int16_t v : {0, 1, 2}) {
    SCOPED_TRACE(v);
    absl::StatusOr<ElectLeadersResponse> out = FromRequestLayer(named, answer, v);
    ASSERT_TRUE(out.ok()) << out.status();
    // v0 has no top-level ErrorCode: it would not encode if set.
    EXPECT_EQ(out->error_code, v >= 1 ? 41 : 0);
    ASSERT_EQ(out->replica_election_results.size(), 1u);
    EXPECT_EQ(out->replica_election_results[0].partition_result,
              (std::vector<ElectLeadersResponse::PartitionResult>{{0, 41, "no controller"},
                                                                  {1, 41, "no controller"}}));
    EXPECT_TRUE(Encodes(v, *out));
  }

  // Every partition (null): the top-level field from v1; v0 has nowhere to
  // put it, so the connection closes.
  ElectLeadersRequest all;
  all.topic_partitions.reset();
  for (int16_t v : {1, 2}) {
    absl::StatusOr<ElectLeadersResponse> out = FromRequestLayer(all, answer, v);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->error_code, 41);
    EXPECT_TRUE(out->replica_election_results.empty());
  }
  absl::StatusOr<ElectLeadersResponse> v0 = FromRequestLayer(all, answer, 0);
  EXPECT_FALSE(v0.ok());
  EXPECT_NE(v0.status().message().find("NOT_CONTROLLER"), std::string::npos) << v0.status();
}

// --- Partition reassignments ---

TEST(AdminAdapterTest, AlterPartitionReassignmentsNullReplicasCancelAndResultsNest) {
  AlterPartitionReassignmentsRequest request;
  request.timeout_ms = 9;
  request.topics.push_back(
      {.name = "t", .partitions = {{0, std::vector<int32_t>{1, 2, 3}}, {1, std::nullopt}}});
  request.topics.push_back({.name = "u", .partitions = {{0, std::vector<int32_t>{}}}});
  metadata::AlterPartitionReassignmentsRequest layer = ToRequestLayer(request, 0);
  EXPECT_EQ(layer.timeout_ms, 9);
  ASSERT_EQ(layer.partitions.size(), 3u);
  EXPECT_EQ(layer.partitions[0].topic, "t");
  EXPECT_EQ(layer.partitions[0].replicas, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(layer.partitions[1].replicas.has_value());
  EXPECT_EQ(layer.partitions[2].topic, "u");
  ASSERT_TRUE(layer.partitions[2].replicas.has_value());
  EXPECT_TRUE(layer.partitions[2].replicas->empty());

  metadata::AlterPartitionReassignmentsResponse answer;
  answer.results = {{"t", 0, ErrorCode::kNone, ""},
                    {"t", 1, ErrorCode::kNoReassignmentInProgress, "none"},
                    {"u", 0, ErrorCode::kInvalidReplicaAssignment, ""}};
  AlterPartitionReassignmentsResponse out = FromRequestLayer(request, answer, 0);
  EXPECT_EQ(out.error_code, 0);
  EXPECT_EQ(out.error_message, std::nullopt);
  ASSERT_EQ(out.responses.size(), 2u);
  EXPECT_EQ(out.responses[0].partitions,
            (std::vector<AlterPartitionReassignmentsResponse::Partition>{{0, 0, std::nullopt},
                                                                         {1, 85, "none"}}));
  EXPECT_EQ(out.responses[1].partitions,
            (std::vector<AlterPartitionReassignmentsResponse::Partition>{{0, 39, std::nullopt}}));
  EXPECT_TRUE(Encodes(int16_t{0}, out));

  metadata::AlterPartitionReassignmentsResponse failed;
  failed.error = ErrorCode::kNotController;
  failed.error_message = "no controller";
  out = FromRequestLayer(request, failed, 0);
  EXPECT_EQ(out.error_code, 41);
  EXPECT_EQ(out.error_message, "no controller");
  ASSERT_EQ(out.responses.size(), 2u);
  ASSERT_EQ(out.responses[0].partitions.size(), 2u);
  EXPECT_EQ(out.responses[0].partitions[1],
            (AlterPartitionReassignmentsResponse::Partition{1, 41, "no controller"}));
}

TEST(AdminAdapterTest, ListPartitionReassignmentsNullTopicsAreAllAndErrorsAreTopLevel) {
  ListPartitionReassignmentsRequest request;
  request.topics.reset();
  EXPECT_FALSE(ToRequestLayer(request, 0).topics.has_value());
  request.topics.emplace();
  ASSERT_TRUE(ToRequestLayer(request, 0).topics.has_value());
  EXPECT_TRUE(ToRequestLayer(request, 0).topics->empty());
  request.topics->push_back({"t", {0, 1}});
  request::ListPartitionReassignmentsRequest layer = ToRequestLayer(request, 0);
  ASSERT_EQ(layer.topics->size(), 1u);
  EXPECT_EQ((*layer.topics)[0].partitions, (std::vector<int32_t>{0, 1}));

  request::ListPartitionReassignmentsResponse answer;
  answer.topics.push_back({.name = "t",
                           .partitions = {{.partition = 0,
                                           .replicas = {1, 2, 3},
                                           .adding_replicas = {3},
                                           .removing_replicas = {1}}}});
  ListPartitionReassignmentsResponse out = FromRequestLayer(request, answer, 0);
  EXPECT_EQ(out.error_code, 0);
  EXPECT_EQ(out.error_message, std::nullopt);
  ASSERT_EQ(out.topics.size(), 1u);
  EXPECT_EQ(out.topics[0].partitions[0],
            (ListPartitionReassignmentsResponse::Partition{0, {1, 2, 3}, {3}, {1}}));

  request::ListPartitionReassignmentsResponse failed{
      .error = ErrorCode::kNotController, .message = "ask again", .topics = {}};
  out = FromRequestLayer(request, failed, 0);
  EXPECT_EQ(out.error_code, 41);
  EXPECT_EQ(out.error_message, "ask again");
  EXPECT_TRUE(out.topics.empty());
}

// --- DescribeCluster ---

TEST(AdminAdapterTest, DescribeClusterRefusesControllersAndUnknownEndpointTypes) {
  DescribeClusterRequest request;
  EXPECT_FALSE(RefuseEndpointType(request, 0).has_value());
  EXPECT_FALSE(RefuseEndpointType(request, 1).has_value());
  for (int8_t type : {2, 0, 3}) {
    request.endpoint_type = type;
    std::optional<DescribeClusterResponse> refused = RefuseEndpointType(request, 1);
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->error_code, 115);
    ASSERT_TRUE(refused->error_message.has_value());
    EXPECT_FALSE(refused->error_message->empty());
    EXPECT_TRUE(Encodes(int16_t{1}, *refused));
  }
}

TEST(AdminAdapterTest, DescribeClusterListsReachableBrokersAndAuthorizedOperationsWhenAsked) {
  request::DescribeClusterResponse answer;
  answer.cluster_id = "c";
  answer.controller_id = 2;
  // id, rack, fenced, epoch, incarnation, endpoints on the listener asked for
  answer.brokers = {
      {1, "", false, 1, "i1", {{"h1", 9092}}},
      {2, "r2", false, 1, "i2", {{"h2", 9093}}},
      {3, "", true, 1, "i3", {{"h3", 9094}}},
      {4, "", false, 1, "i4", {}},
  };
  for (int16_t v : {0, 1}) {
    DescribeClusterRequest request;
    DescribeClusterResponse out = FromRequestLayer(request, answer, v);
    EXPECT_EQ(out.error_code, 0);
    EXPECT_EQ(out.error_message, std::nullopt);
    EXPECT_EQ(out.cluster_id, "c");
    EXPECT_EQ(out.controller_id, 2);
    EXPECT_EQ(out.endpoint_type, 1);
    EXPECT_EQ(out.brokers, (std::vector<DescribeClusterResponse::Broker>{
                               {1, "h1", 9092, std::nullopt}, {2, "h2", 9093, "r2"}}));
    EXPECT_EQ(out.cluster_authorized_operations, INT32_MIN);
    EXPECT_TRUE(Encodes(v, out));
    request.include_cluster_authorized_operations = true;
    out = FromRequestLayer(request, answer, v);
    // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
    // ALTER_CONFIGS, IDEMPOTENT_WRITE.
    EXPECT_EQ(out.cluster_authorized_operations, 8096);
  }
}

// --- DescribeLogDirs ---

TEST(AdminAdapterTest, DescribeLogDirsNullTopicsAreAllAndEmptyAreNone) {
  DescribeLogDirsRequest request;
  EXPECT_FALSE(ToRequestLayer(request, 4).topics.has_value());
  request.topics.emplace();
  ASSERT_TRUE(ToRequestLayer(request, 4).topics.has_value());
  EXPECT_TRUE(ToRequestLayer(request, 4).topics->empty());
  request.topics->push_back({"t", {0, 2}});
  request::DescribeLogDirsRequest layer = ToRequestLayer(request, 1);
  ASSERT_EQ(layer.topics->size(), 1u);
  EXPECT_EQ((*layer.topics)[0].topic, "t");
  EXPECT_EQ((*layer.topics)[0].partitions, (std::vector<int32_t>{0, 2}));
}

TEST(AdminAdapterTest, DescribeLogDirsMapsEveryDirAndTheCallsErrorFromV3) {
  request::DescribeLogDirsResponse answer;
  request::LogDirDescription& online = answer.results.emplace_back();
  online.log_dir = "/a";
  online.topics = {{"t", {{.partition = 0, .size_bytes = 100, .offset_lag = 2}}}};
  request::LogDirDescription& offline = answer.results.emplace_back();
  offline.log_dir = "/b";
  offline.error = ErrorCode::kKafkaStorageError;
  offline.message = "disk full";
  for (int16_t v = 0; v <= 4; ++v) {
    DescribeLogDirsResponse out = FromRequestLayer(DescribeLogDirsRequest{}, answer, v);
    EXPECT_EQ(out.error_code, 0);
    ASSERT_EQ(out.results.size(), 2u);
    EXPECT_EQ(out.results[0],
              (DescribeLogDirsResponse::Result{0, "/a", {{"t", {{0, 100, 2, false}}}}, -1, -1}));
    EXPECT_EQ(out.results[1], (DescribeLogDirsResponse::Result{56, "/b", {}, -1, -1}));
    EXPECT_TRUE(Encodes(v, out));
  }
  // Refused whole (no Describe on the cluster): the error, no dirs; before
  // v3 only the empty answer encodes, as Kafka's.
  request::DescribeLogDirsResponse refused;
  refused.error = ErrorCode::kClusterAuthorizationFailed;
  DescribeLogDirsResponse out = FromRequestLayer(DescribeLogDirsRequest{}, refused, 3);
  EXPECT_EQ(out.error_code, 31);
  EXPECT_TRUE(out.results.empty());
  EXPECT_TRUE(Encodes(int16_t{1}, out));
}

// --- Through the Dispatcher, with a fake AdminOps ---

// Keeps each call's request and answer callback; the test answers.
class FakeAdminOps : public request::AdminOps {
 public:
  int calls = 0;
  metadata::CreateTopicsRequest create_topics;
  std::function<void(metadata::CreateTopicsResponse)> create_topics_done;
  request::DescribeConfigsRequest describe_configs;
  metadata::CreatePartitionsRequest create_partitions;
  // What ElectLeaders answers, at once.
  metadata::ElectLeadersResponse elect_answer;

  void CreateTopics(metadata::CreateTopicsRequest request,
                    std::function<void(metadata::CreateTopicsResponse)> done) override {
    ++calls;
    create_topics = std::move(request);
    create_topics_done = std::move(done);
  }
  void AutoCreateTopics(metadata::CreateTopicsRequest,
                        std::function<void(metadata::CreateTopicsResponse)> done) override {
    ++calls;
    done({});
  }
  void CreateInternalTopics(metadata::CreateTopicsRequest,
                            std::function<void(metadata::CreateTopicsResponse)> done) override {
    ++calls;
    done({});
  }
  void DeleteTopics(metadata::DeleteTopicsRequest,
                    std::function<void(metadata::DeleteTopicsResponse)> done) override {
    ++calls;
    done({});
  }
  void CreatePartitions(metadata::CreatePartitionsRequest request,
                        std::function<void(metadata::CreatePartitionsResponse)> done) override {
    ++calls;
    create_partitions = request;
    metadata::CreatePartitionsResponse answer;
    for (const metadata::CreatePartitionsTopic& t : request.topics) {
      answer.results.push_back(TopicResult(t.name));
    }
    done(std::move(answer));
  }
  void ElectLeaders(metadata::ElectLeadersRequest,
                    std::function<void(metadata::ElectLeadersResponse)> done) override {
    ++calls;
    done(elect_answer);
  }
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) override {
    ++calls;
    done({});
  }
  void ListPartitionReassignments(
      request::ListPartitionReassignmentsRequest,
      std::function<void(request::ListPartitionReassignmentsResponse)> done) override {
    ++calls;
    done({});
  }
  void UnregisterBroker(metadata::UnregisterBrokerRequest,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override {
    ++calls;
    done({});
  }
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    ++calls;
    done({});
  }
  void AlterConfigs(metadata::IncrementalAlterConfigsRequest,
                    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    ++calls;
    done({});
  }
  void DescribeConfigs(request::DescribeConfigsRequest request,
                       std::function<void(request::DescribeConfigsResponse)> done) override {
    ++calls;
    describe_configs = request;
    request::DescribeConfigsResponse answer;
    for (const request::DescribeConfigsResource& r : request.resources) {
      answer.results.push_back({.error = ErrorCode::kNone,
                                .message = "",
                                .type = r.type,
                                .name = r.name,
                                .configs = {}});
    }
    done(std::move(answer));
  }
};

constexpr int32_t kCorrelationId = 77;

template <typename M>
std::string Frame(int16_t version, const M& message) {
  return testing::RequestFrame(version, kCorrelationId, message);
}

// Every answer a Dispatch gives; there must be exactly one.
struct Answers {
  int count = 0;
  DispatchResult last;
};

template <typename M>
void Send(const Dispatcher& d, int16_t version, const M& message, Answers* answers) {
  std::string frame = Frame(version, message);
  d.Dispatch({.peer = "127.0.0.1:1", .listener = "KAFKA"}, frame, [answers](DispatchResult r) {
    ++answers->count;
    answers->last = std::move(r);
  });
}

template <typename Resp>
Resp Body(const Answers& answers, int16_t version) {
  EXPECT_EQ(answers.count, 1);
  EXPECT_FALSE(answers.last.close) << answers.last.reason;
  const std::string& frame = answers.last.response;
  Reader r(std::string_view(frame).substr(4));
  absl::StatusOr<int32_t> correlation =
      ReadResponseHeader(r, ResponseHeaderVersion(Resp::kApiKey, version));
  EXPECT_TRUE(correlation.ok());
  EXPECT_EQ(*correlation, kCorrelationId);
  absl::StatusOr<Resp> body =
      Decode<Resp>(version, std::string_view(frame).substr(4 + r.position()));
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : Resp{};
}

TEST(AdminAdapterDispatchTest, CreateTopicsRepliesOnceWhenTheLayerAnswersLater) {
  FakeAdminOps admin;
  Dispatcher d({.admin = &admin});
  CreateTopicsRequest request;
  request.topics.push_back({.name = "t",
                            .num_partitions = -1,
                            .replication_factor = -1,
                            .assignments = {},
                            .configs = {}});
  request.validate_only = true;
  Answers answers;
  Send(d, 4, request, &answers);  // the frame is gone when Send returns
  EXPECT_EQ(answers.count, 0);
  ASSERT_EQ(admin.calls, 1);
  EXPECT_TRUE(admin.create_topics.validate_only);
  EXPECT_EQ(admin.create_topics.topics[0].num_partitions, metadata::kUseDefault);

  metadata::CreateTopicsResponse answer;
  answer.results.push_back(
      TopicResult("t", ErrorCode::kInvalidReplicationFactor, "not enough brokers"));
  admin.create_topics_done(answer);
  CreateTopicsResponse out = Body<CreateTopicsResponse>(answers, 4);
  ASSERT_EQ(out.topics.size(), 1u);
  EXPECT_EQ(out.topics[0], (CreateTopicsResponse::Result{"t", 38, "not enough brokers"}));
}

TEST(AdminAdapterDispatchTest, DescribeConfigsAsksForEveryKeyWhenNullAndEchoesTheType) {
  FakeAdminOps admin;
  Dispatcher d({.admin = &admin});
  DescribeConfigsRequest request;
  request.resources.push_back(Resource(2, "t", std::nullopt));
  request.resources.push_back(Resource(8, "1", std::vector<std::string>{"a"}));
  Answers answers;
  Send(d, 2, request, &answers);
  ASSERT_EQ(admin.describe_configs.resources.size(), 2u);
  EXPECT_FALSE(admin.describe_configs.resources[0].keys.has_value());
  EXPECT_EQ(admin.describe_configs.resources[1].type, metadata::ConfigResourceType::kUnknown);
  DescribeConfigsResponse out = Body<DescribeConfigsResponse>(answers, 2);
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0].resource_type, 2);
  EXPECT_EQ(out.results[1].resource_type, 8);
}

TEST(AdminAdapterDispatchTest, CreatePartitionsWithOnlyManualAssignmentsNeverReachesTheLayer) {
  FakeAdminOps admin;
  Dispatcher d({.admin = &admin});
  CreatePartitionsRequest request;
  request.topics.push_back(
      {.name = "m",
       .count = 3,
       .assignments = std::vector<CreatePartitionsRequest::Assignment>{{{1}}}});
  Answers answers;
  Send(d, 1, request, &answers);
  EXPECT_EQ(admin.calls, 0);
  CreatePartitionsResponse out = Body<CreatePartitionsResponse>(answers, 1);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(out.results[0].error_code, kInvalidRequest);

  request.topics.push_back({.name = "g", .count = 5, .assignments = std::nullopt});
  Answers mixed;
  Send(d, 0, request, &mixed);
  EXPECT_EQ(admin.calls, 1);
  ASSERT_EQ(admin.create_partitions.topics.size(), 1u);
  EXPECT_EQ(admin.create_partitions.topics[0].name, "g");
  out = Body<CreatePartitionsResponse>(mixed, 0);
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0].error_code, kInvalidRequest);
  EXPECT_EQ(out.results[1], (CreatePartitionsResponse::Result{"g", 0, std::nullopt}));
}

TEST(AdminAdapterDispatchTest, ElectLeadersV0WholeErrorForEveryPartitionClosesAndV2Answers) {
  FakeAdminOps admin;
  admin.elect_answer.error = ErrorCode::kNotController;
  admin.elect_answer.error_message = "no controller";
  Dispatcher d({.admin = &admin});
  ElectLeadersRequest request;
  request.topic_partitions.reset();
  Answers v0;
  Send(d, 0, request, &v0);
  EXPECT_EQ(v0.count, 1);
  EXPECT_TRUE(v0.last.close);
  EXPECT_NE(v0.last.reason.find("NOT_CONTROLLER"), std::string::npos) << v0.last.reason;

  Answers v2;
  Send(d, 2, request, &v2);
  ElectLeadersResponse out = Body<ElectLeadersResponse>(v2, 2);
  EXPECT_EQ(out.error_code, 41);
}

TEST(AdminAdapterDispatchTest, MissingDependenciesCloseTheConnection) {
  Dispatcher d({});
  Answers create;
  Send(d, 3, CreateTopicsRequest{}, &create);
  EXPECT_EQ(create.count, 1);
  EXPECT_TRUE(create.last.close);
  Answers cluster;
  Send(d, 1, DescribeClusterRequest{}, &cluster);
  EXPECT_EQ(cluster.count, 1);
  EXPECT_TRUE(cluster.last.close);
  Answers records;
  Send(d, 1, DeleteRecordsRequest{}, &records);
  EXPECT_EQ(records.count, 1);
  EXPECT_TRUE(records.last.close);
  Answers log_dirs;
  Send(d, 4, DescribeLogDirsRequest{}, &log_dirs);
  EXPECT_EQ(log_dirs.count, 1);
  EXPECT_TRUE(log_dirs.last.close);
}

}  // namespace
}  // namespace strata::kafka
