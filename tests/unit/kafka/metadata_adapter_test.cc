// Metadata v0-6 between Kafka's structs and the request layer's.
#include "broker/kafka/metadata_adapter.h"

#include "gtest/gtest.h"

namespace strata::kafka {
namespace {

MetadataRequest Topics(std::optional<std::vector<std::string>> names, bool allow = true) {
  MetadataRequest r;
  if (names) {
    r.topics.emplace();
    for (const std::string& n : *names) r.topics->push_back({n});
  } else {
    r.topics.reset();
  }
  r.allow_auto_topic_creation = allow;
  return r;
}

TEST(MetadataAdapterTest, V0EmptyListMeansEveryTopic) {
  request::MetadataRequest r = ToRequestLayer(Topics(std::vector<std::string>{}), 0);
  EXPECT_FALSE(r.topics.has_value());
  r = ToRequestLayer(Topics(std::vector<std::string>{"a"}), 0);
  ASSERT_TRUE(r.topics.has_value());
  EXPECT_EQ(*r.topics, std::vector<std::string>{"a"});
}

TEST(MetadataAdapterTest, V1AndLaterNullMeansEveryTopicAndEmptyMeansNone) {
  for (int16_t v = 1; v <= 6; ++v) {
    SCOPED_TRACE(v);
    EXPECT_FALSE(ToRequestLayer(Topics(std::nullopt), v).topics.has_value());
    request::MetadataRequest none = ToRequestLayer(Topics(std::vector<std::string>{}), v);
    ASSERT_TRUE(none.topics.has_value());
    EXPECT_TRUE(none.topics->empty());
    request::MetadataRequest two = ToRequestLayer(Topics(std::vector<std::string>{"a", "b"}), v);
    EXPECT_EQ(*two.topics, (std::vector<std::string>{"a", "b"}));
  }
}

TEST(MetadataAdapterTest, AutoCreationImpliedBeforeV4AndAskedFromV4) {
  for (int16_t v = 0; v <= 3; ++v) {
    EXPECT_TRUE(
        ToRequestLayer(Topics(std::vector<std::string>{"a"}, false), v).allow_auto_topic_creation);
  }
  for (int16_t v = 4; v <= 6; ++v) {
    EXPECT_FALSE(
        ToRequestLayer(Topics(std::vector<std::string>{"a"}, false), v).allow_auto_topic_creation);
    EXPECT_TRUE(
        ToRequestLayer(Topics(std::vector<std::string>{"a"}, true), v).allow_auto_topic_creation);
  }
}

request::MetadataResponse LayerAnswer() {
  request::MetadataResponse r;
  r.cluster_id = "strata-test";
  r.controller_id = 2;
  r.brokers = {{.id = 1, .host = "h1", .port = 29092, .rack = "", .fenced = false},
               {.id = 2, .host = "h2", .port = 29093, .rack = "r2", .fenced = false},
               {.id = 3, .host = "h3", .port = 29094, .rack = "", .fenced = true}};
  request::TopicMetadata t;
  t.name = "__consumer_offsets";
  t.internal = true;
  request::PartitionMetadata ok;
  ok.partition = 0;
  ok.leader = 1;
  ok.replicas = {1, 2, 3};
  ok.isr = {1, 2};
  ok.offline_replicas = {3};
  request::PartitionMetadata missing;
  missing.partition = 1;
  missing.error = ErrorCode::kLeaderNotAvailable;
  missing.leader_listener_missing = true;
  missing.leader = -1;
  t.partitions = {ok, missing};
  request::TopicMetadata unknown;
  unknown.name = "nope";
  unknown.error = ErrorCode::kUnknownTopicOrPartition;
  r.topics = {t, unknown};
  return r;
}

TEST(MetadataAdapterTest, AnswerCarriesClusterControllerBrokersAndPartitions) {
  MetadataResponse m = FromRequestLayer(LayerAnswer(), 5);
  EXPECT_EQ(m.cluster_id, "strata-test");
  EXPECT_EQ(m.controller_id, 2);
  ASSERT_EQ(m.brokers.size(), 2u);  // the fenced broker is left out
  EXPECT_EQ(m.brokers[0].node_id, 1);
  EXPECT_EQ(m.brokers[0].host, "h1");
  EXPECT_EQ(m.brokers[0].port, 29092);
  EXPECT_FALSE(m.brokers[0].rack.has_value());
  EXPECT_EQ(m.brokers[1].rack, "r2");
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_TRUE(m.topics[0].is_internal);
  EXPECT_EQ(m.topics[0].error_code, 0);
  const MetadataResponse::Partition& p0 = m.topics[0].partitions[0];
  EXPECT_EQ(p0.leader_id, 1);
  EXPECT_EQ(p0.replica_nodes, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(p0.isr_nodes, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(p0.offline_replicas, (std::vector<int32_t>{3}));
  EXPECT_EQ(m.topics[1].error_code, 3);
  EXPECT_TRUE(m.topics[1].partitions.empty());
}

TEST(MetadataAdapterTest, LeaderWithoutListenerIsListenerNotFoundInV6AndLeaderNotAvailableBelow) {
  for (int16_t v = 0; v <= 5; ++v) {
    MetadataResponse m = FromRequestLayer(LayerAnswer(), v);
    EXPECT_EQ(m.topics[0].partitions[1].error_code, 5) << v;
    EXPECT_EQ(m.topics[0].partitions[1].leader_id, -1);
  }
  MetadataResponse m = FromRequestLayer(LayerAnswer(), 6);
  EXPECT_EQ(m.topics[0].partitions[1].error_code, 72);
  EXPECT_EQ(m.topics[0].partitions[0].error_code, 0);
}

}  // namespace
}  // namespace strata::kafka
