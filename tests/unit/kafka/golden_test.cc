// Byte vectors built by hand from Kafka's protocol description (header and
// body field by field, commented), for the versions clients send. Each is
// decoded into the struct it describes and encoded back byte for byte.
#include <gtest/gtest.h>

#include <string>

#include "broker/kafka/api_versions.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"

namespace strata::kafka {
namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// A whole request frame (without the size prefix): header then body.
struct Frame {
  RequestHeader header;
  std::string body;
};

Frame ParseFrame(const std::string& frame) {
  Frame f;
  std::string_view body;
  absl::StatusOr<RequestHeader> header = ParseRequestHeader(frame, &body);
  EXPECT_TRUE(header.ok()) << header.status();
  if (header.ok()) f.header = *header;
  f.body = std::string(body);
  return f;
}

template <typename M>
void ExpectRequestFrame(const std::string& frame, const RequestHeader& header, const M& message) {
  Frame f = ParseFrame(frame);
  EXPECT_EQ(f.header, header);
  absl::StatusOr<M> decoded = Decode<M>(header.api_version, f.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == message);
  // And the other way.
  std::string out;
  Writer w(&out);
  ASSERT_TRUE(
      WriteRequestHeader(header, RequestHeaderVersion(M::kApiKey, header.api_version), w).ok());
  ASSERT_TRUE(Encode(header.api_version, message, &out).ok());
  EXPECT_EQ(out, frame);
}

template <typename M>
void ExpectResponseFrame(const std::string& frame, int32_t correlation_id, int16_t version,
                         const M& message) {
  Reader r(frame);
  absl::StatusOr<int32_t> id = ReadResponseHeader(r, ResponseHeaderVersion(M::kApiKey, version));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, correlation_id);
  absl::StatusOr<M> decoded = Decode<M>(version, frame.substr(r.position()));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == message);
  std::string out;
  Writer w(&out);
  WriteResponseHeader(correlation_id, ResponseHeaderVersion(M::kApiKey, version), w);
  ASSERT_TRUE(Encode(version, message, &out).ok());
  EXPECT_EQ(out, frame);
}

TEST(GoldenTest, ApiVersionsV0Request) {
  // kafka-python's check_version probe.
  const std::string frame = B({
      0x00, 0x12,                      // api_key 18
      0x00, 0x00,                      // api_version 0
      0x00, 0x00, 0x00, 0x01,          // correlation_id 1
      0x00, 0x04, 'k', 'c', 'a', 't',  // client_id "kcat" (int16 length)
                                       // body: empty
  });
  ExpectRequestFrame(frame, {ApiKey::kApiVersions, 0, 1, "kcat"}, ApiVersionsRequest{});
}

TEST(GoldenTest, ApiVersionsV3Request) {
  // librdkafka's first request: header v2, flexible body.
  const std::string frame = B({
                                0x00, 0x12,              // api_key 18
                                0x00, 0x03,              // api_version 3
                                0x00, 0x00, 0x00, 0x02,  // correlation_id 2
                                0x00, 0x07,  // client_id: int16 length 7, NOT compact in header v2
                            }) +
                            "rdkafka" +
                            B({
                                0x00,  // header tagged fields: none
                                0x0b,  // ClientSoftwareName: compact, 10+1
                            }) +
                            "librdkafka" + B({0x06}) +  // ClientSoftwareVersion: compact, 5+1
                            "2.0.2" + B({0x00});        // body tagged fields: none
  ApiVersionsRequest body;
  body.client_software_name = "librdkafka";
  body.client_software_version = "2.0.2";
  ExpectRequestFrame(frame, {ApiKey::kApiVersions, 3, 2, "rdkafka"}, body);
}

ApiVersionsResponse TwoApis() {
  ApiVersionsResponse r;
  r.api_keys = {{0, 3, 7}, {18, 0, 3}};
  return r;
}

TEST(GoldenTest, ApiVersionsV0Response) {
  const std::string frame = B({
      0x00, 0x00, 0x00, 0x01,              // response header v0: correlation_id 1
      0x00, 0x00,                          // error_code 0
      0x00, 0x00, 0x00, 0x02,              // api_keys: int32 count 2
      0x00, 0x00, 0x00, 0x03, 0x00, 0x07,  // Produce 3-7
      0x00, 0x12, 0x00, 0x00, 0x00, 0x03,  // ApiVersions 0-3
                                           // v0: no throttle_time_ms
  });
  ExpectResponseFrame(frame, 1, 0, TwoApis());
}

TEST(GoldenTest, ApiVersionsV3ResponseHasHeaderV0) {
  const std::string frame = B({
      0x00, 0x00, 0x00, 0x02,  // response header v0 (no tagged fields, even for v3)
      0x00, 0x00,              // error_code 0
      0x03,                    // api_keys: compact count 2+1
      0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x00,  // Produce 3-7, element tagged fields
      0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,  // ApiVersions 0-3, element tagged fields
      0x00, 0x00, 0x00, 0x00,                    // throttle_time_ms 0
      0x00,                                      // tagged fields: all at their defaults
  });
  ExpectResponseFrame(frame, 2, 3, TwoApis());

  // With FinalizedFeaturesEpoch (tag 1) set.
  ApiVersionsResponse epoch = TwoApis();
  epoch.finalized_features_epoch = 5;
  const std::string with_tag = frame.substr(0, frame.size() - 1) + B({0x01,  // one tagged field
                                                                      0x01, 0x08,  // tag 1, 8 bytes
                                                                      0, 0, 0, 0, 0, 0, 0, 5});
  ExpectResponseFrame(with_tag, 2, 3, epoch);
}

TEST(GoldenTest, MetadataV0Request) {
  const std::string frame = B({
      0x00, 0x03, 0x00, 0x00,  // Metadata v0
      0x00, 0x00, 0x00, 0x02,  // correlation_id 2
      0xff, 0xff,              // client_id null
      0x00, 0x00, 0x00, 0x00,  // topics: [] (v0: all topics)
  });
  MetadataRequest all;  // default: an empty list
  ExpectRequestFrame(frame, {ApiKey::kMetadata, 0, 2, std::nullopt}, all);

  const std::string one = B({
      0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x03, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,  // one topic
      0x00, 0x03, 'f',  'o',  'o',               // name "foo"
  });
  MetadataRequest foo;
  foo.topics = std::vector<MetadataRequest::Topic>{{"foo"}};
  ExpectRequestFrame(one, {ApiKey::kMetadata, 0, 3, std::nullopt}, foo);
}

TEST(GoldenTest, MetadataV4Request) {
  // librdkafka's broker-only refresh: no topics, no auto-creation.
  const std::string none = B({
      0x00, 0x03, 0x00, 0x04,  // Metadata v4
      0x00, 0x00, 0x00, 0x07,  // correlation_id 7
      0x00, 0x02, 'c', '1',    // client_id "c1"
      0x00, 0x00, 0x00, 0x00,  // topics: [] (v1+: none)
      0x00,                    // allow_auto_topic_creation false
  });
  MetadataRequest empty;
  empty.allow_auto_topic_creation = false;
  ExpectRequestFrame(none, {ApiKey::kMetadata, 4, 7, "c1"}, empty);

  const std::string all = B({
      0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 'c', '1', 0xff, 0xff, 0xff,
      0xff,  // topics: null (all)
      0x01,  // allow_auto_topic_creation true
  });
  MetadataRequest every;
  every.topics = std::nullopt;
  ExpectRequestFrame(all, {ApiKey::kMetadata, 4, 8, "c1"}, every);
}

TEST(GoldenTest, ProduceV7Request) {
  const std::string records = "RECORDBATCH";  // opaque to the codec
  const std::string frame = B({
                                0x00, 0x00, 0x00, 0x07,  // Produce v7
                                0x00, 0x00, 0x00, 0x2a,  // correlation_id 42
                                0x00, 0x08,              // client_id "producer"
                            }) +
                            "producer" +
                            B({
                                0xff, 0xff,              // transactional_id null
                                0xff, 0xff,              // acks -1
                                0x00, 0x00, 0x75, 0x30,  // timeout_ms 30000
                                0x00, 0x00, 0x00, 0x01,  // topic_data: 1
                                0x00, 0x01, 't',         // name "t"
                                0x00, 0x00, 0x00, 0x01,  // partition_data: 1
                                0x00, 0x00, 0x00, 0x02,  // index 2
                                0x00, 0x00, 0x00, 0x0b,  // records: int32 length 11
                            }) +
                            records;
  ProduceRequest p;
  p.acks = -1;
  p.timeout_ms = 30000;
  p.topic_data = {{"t", {{2, records}}}};
  ExpectRequestFrame(frame, {ApiKey::kProduce, 7, 42, "producer"}, p);
}

TEST(GoldenTest, OffsetFetchV7FlexibleRequest) {
  const std::string frame = B({
      0x00, 0x09, 0x00, 0x07,  // OffsetFetch v7 (flexible: header v2)
      0x00, 0x00, 0x00, 0x05,  // correlation_id 5
      0x00, 0x01, 'c',         // client_id "c": classic string in header v2
      0x00,                    // header tagged fields
      0x02, 'g',               // group_id: compact "g"
      0x02,                    // topics: compact count 1+1
      0x02, 't',               // name: compact "t"
      0x03,                    // partition_indexes: compact count 2+1
      0x00, 0x00, 0x00, 0x00,  // 0
      0x00, 0x00, 0x00, 0x01,  // 1
      0x00,                    // topic tagged fields
      0x01,                    // require_stable true
      0x00,                    // tagged fields
  });
  OffsetFetchRequest r;
  r.group_id = "g";
  r.topics = std::vector<OffsetFetchRequest::Topic>{{"t", {0, 1}}};
  r.require_stable = true;
  ExpectRequestFrame(frame, {ApiKey::kOffsetFetch, 7, 5, "c"}, r);

  // Null topics (all): compact 0.
  const std::string all = B({0x00, 0x09, 0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0xff, 0xff, 0x00, 0x02,
                             'g', 0x00, 0x00, 0x00});
  OffsetFetchRequest every;
  every.group_id = "g";
  every.topics = std::nullopt;
  ExpectRequestFrame(all, {ApiKey::kOffsetFetch, 7, 6, std::nullopt}, every);
}

TEST(GoldenTest, ListGroupsV4Response) {
  const std::string frame = B({
                                0x00, 0x00, 0x00, 0x09,  // response header v1: correlation_id 9
                                0x00,                    // header tagged fields
                                0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
                                0x00, 0x00,              // error_code 0
                                0x02,                    // groups: compact count 1+1
                                0x02, 'g',               // group_id "g"
                                0x09,                    // protocol_type: compact 8+1
                            }) +
                            "consumer" + B({0x07}) + "Stable" +
                            B({
                                0x00,  // group tagged fields
                                0x00,  // tagged fields
                            });
  ListGroupsResponse r;
  r.groups = {{"g", "consumer", "Stable"}};
  ExpectResponseFrame(frame, 9, 4, r);
}

TEST(GoldenTest, AlterPartitionReassignmentsV0Request) {
  // kafkajs's flexible v0: compact everything, null replicas = cancel.
  const std::string frame = B({
      0x00, 0x2d, 0x00, 0x00,  // AlterPartitionReassignments v0 (flexible: header v2)
      0x00, 0x00, 0x00, 0x0a,  // correlation_id 10
      0xff, 0xff,              // client_id null
      0x00,                    // header tagged fields
      0x00, 0x00, 0x13, 0x88,  // timeout_ms 5000
      0x02,                    // topics: 1
      0x02, 't',               // name "t"
      0x03,                    // partitions: 2
      0x00, 0x00, 0x00, 0x00,  // partition 0
      0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // replicas [1, 2]
      0x00,                                                  // partition tagged fields
      0x00, 0x00, 0x00, 0x01,                                // partition 1
      0x00,                                                  // replicas null: cancel
      0x00,                                                  // partition tagged fields
      0x00,                                                  // topic tagged fields
      0x00,                                                  // tagged fields
  });
  AlterPartitionReassignmentsRequest r;
  r.timeout_ms = 5000;
  r.topics = {{"t", {{0, std::vector<int32_t>{1, 2}}, {1, std::nullopt}}}};
  ExpectRequestFrame(frame, {ApiKey::kAlterPartitionReassignments, 0, 10, std::nullopt}, r);
}

// ---- The transaction APIs ----

TEST(GoldenTest, AddPartitionsToTxnV0Request) {
  const std::string frame = B({
      0x00, 0x18, 0x00, 0x00,                          // AddPartitionsToTxn v0
      0x00, 0x00, 0x00, 0x0b,                          // correlation_id 11
      0xff, 0xff,                                      // client_id null
      0x00, 0x02, 't',  'x',                           // V3AndBelowTransactionalId "tx"
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // V3AndBelowProducerId 7000
      0x00, 0x02,                                      // V3AndBelowProducerEpoch 2
      0x00, 0x00, 0x00, 0x01,                          // V3AndBelowTopics: 1
      0x00, 0x01, 't',                                 // Name "t"
      0x00, 0x00, 0x00, 0x02,                          // Partitions: 2
      0x00, 0x00, 0x00, 0x00,                          // 0
      0x00, 0x00, 0x00, 0x01,                          // 1
  });
  AddPartitionsToTxnRequest r;
  r.v3_and_below_transactional_id = "tx";
  r.v3_and_below_producer_id = 7000;
  r.v3_and_below_producer_epoch = 2;
  r.v3_and_below_topics = {{"t", {0, 1}}};
  ExpectRequestFrame(frame, {ApiKey::kAddPartitionsToTxn, 0, 11, std::nullopt}, r);
}

TEST(GoldenTest, AddPartitionsToTxnV3FlexibleRequestAndResponse) {
  // What librdkafka and the Java producer send: header v2, compact body.
  const std::string frame = B({
                                0x00, 0x18, 0x00, 0x03,  // AddPartitionsToTxn v3
                                0x00, 0x00, 0x00, 0x0c,  // correlation_id 12
                                0x00, 0x07,              // client_id: classic, 7 bytes
                            }) +
                            "rdkafka" +
                            B({
                                0x00,                                            // header tags
                                0x03, 't',  'x',                                 // compact "tx"
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // producer id
                                0x00, 0x02,                                      // epoch 2
                                0x02,                                            // topics: 1+1
                                0x02, 't',                                       // name "t"
                                0x03,                    // partitions: compact 2+1
                                0x00, 0x00, 0x00, 0x00,  // 0
                                0x00, 0x00, 0x00, 0x01,  // 1
                                0x00,                    // topic tagged fields
                                0x00,                    // tagged fields
                            });
  AddPartitionsToTxnRequest r;
  r.v3_and_below_transactional_id = "tx";
  r.v3_and_below_producer_id = 7000;
  r.v3_and_below_producer_epoch = 2;
  r.v3_and_below_topics = {{"t", {0, 1}}};
  ExpectRequestFrame(frame, {ApiKey::kAddPartitionsToTxn, 3, 12, "rdkafka"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x0c,                    // response header v1: correlation_id 12
      0x00,                                      // header tagged fields
      0x00, 0x00, 0x00, 0x00,                    // ThrottleTimeMs 0
      0x02,                                      // ResultsByTopicV3AndBelow: 1+1
      0x02, 't',                                 // Name "t"
      0x03,                                      // ResultsByPartition: 2+1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // partition 0: NONE, tagged fields
      0x00, 0x00, 0x00, 0x01, 0x00, 0x5a, 0x00,  // partition 1: PRODUCER_FENCED (90)
      0x00,                                      // topic tagged fields
      0x00,                                      // tagged fields
  });
  AddPartitionsToTxnResponse answer;
  answer.results_by_topic_v3_and_below = {{"t", {{0, 0}, {1, 90}}}};
  ExpectResponseFrame(response, 12, 3, answer);
}

TEST(GoldenTest, AddOffsetsToTxnV2Request) {
  const std::string frame = B({
      0x00, 0x19, 0x00, 0x02,                          // AddOffsetsToTxn v2
      0x00, 0x00, 0x00, 0x0d,                          // correlation_id 13
      0x00, 0x01, 'p',                                 // client_id "p"
      0x00, 0x02, 't',  'x',                           // TransactionalId "tx"
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // ProducerId 7000
      0x00, 0x02,                                      // ProducerEpoch 2
      0x00, 0x01, 'g',                                 // GroupId "g"
  });
  AddOffsetsToTxnRequest r;
  r.transactional_id = "tx";
  r.producer_id = 7000;
  r.producer_epoch = 2;
  r.group_id = "g";
  ExpectRequestFrame(frame, {ApiKey::kAddOffsetsToTxn, 2, 13, "p"}, r);
}

TEST(GoldenTest, EndTxnV3RequestAndV1Response) {
  const std::string frame = B({
      0x00, 0x1a, 0x00, 0x03,                          // EndTxn v3 (flexible: header v2)
      0x00, 0x00, 0x00, 0x0e,                          // correlation_id 14
      0xff, 0xff,                                      // client_id null
      0x00,                                            // header tagged fields
      0x03, 't',  'x',                                 // TransactionalId: compact "tx"
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // ProducerId 7000
      0x00, 0x02,                                      // ProducerEpoch 2
      0x01,                                            // Committed true
      0x00,                                            // tagged fields
  });
  EndTxnRequest r;
  r.transactional_id = "tx";
  r.producer_id = 7000;
  r.producer_epoch = 2;
  r.committed = true;
  ExpectRequestFrame(frame, {ApiKey::kEndTxn, 3, 14, std::nullopt}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x0e,  // response header v0: correlation_id 14
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
      0x00, 0x2f,              // ErrorCode INVALID_PRODUCER_EPOCH (47)
  });
  EndTxnResponse answer;
  answer.error_code = 47;
  ExpectResponseFrame(response, 14, 1, answer);
}

TEST(GoldenTest, DescribeTransactionsV0RequestAndResponse) {
  // kafka-transactions.sh describe: always flexible.
  const std::string frame = B({
      0x00, 0x41, 0x00, 0x00,  // DescribeTransactions v0 (header v2)
      0x00, 0x00, 0x00, 0x0f,  // correlation_id 15
      0x00, 0x01, 'a',         // client_id "a"
      0x00,                    // header tagged fields
      0x03,                    // TransactionalIds: compact 2+1
      0x03, 't',  'x',         // "tx"
      0x03, 'u',  'y',         // "uy"
      0x00,                    // tagged fields
  });
  DescribeTransactionsRequest r;
  r.transactional_ids = {"tx", "uy"};
  ExpectRequestFrame(frame, {ApiKey::kDescribeTransactions, 0, 15, "a"}, r);

  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x0f,  // correlation_id 15
                                   0x00,                    // header tagged fields
                                   0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                                   0x03,                    // TransactionStates: 2+1
                                   0x00, 0x00,              // ErrorCode 0
                                   0x03, 't', 'x',          // TransactionalId "tx"
                                   0x08,                    // TransactionState: 7+1
                               }) +
                               "Ongoing" +
                               B({
                                   0x00, 0x00, 0xea, 0x60,  // TransactionTimeoutMs 60000
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // start 1000
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // pid 7000
                                   0x00, 0x02,              // ProducerEpoch 2
                                   0x02,                    // Topics: 1+1
                                   0x02, 't',               // Topic "t"
                                   0x02,                    // Partitions: 1+1
                                   0x00, 0x00, 0x00, 0x03,  // 3
                                   0x00,                    // topic tagged fields
                                   0x00,                    // state tagged fields
                                   0x00, 0x69,              // ErrorCode 105
                                   0x03, 'u',  'y',         // TransactionalId "uy"
                                   0x01,                    // TransactionState ""
                                   0x00, 0x00, 0x00, 0x00,  // TransactionTimeoutMs 0
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // start 0
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // pid 0
                                   0x00, 0x00,                                      // epoch 0
                                   0x01,                                            // Topics: 0+1
                                   0x00,  // state tagged fields
                                   0x00,  // tagged fields
                               });
  DescribeTransactionsResponse answer;
  DescribeTransactionsResponse::TransactionState& tx = answer.transaction_states.emplace_back();
  tx.transactional_id = "tx";
  tx.transaction_state = "Ongoing";
  tx.transaction_timeout_ms = 60000;
  tx.transaction_start_time_ms = 1000;
  tx.producer_id = 7000;
  tx.producer_epoch = 2;
  tx.topics = {{"t", {3}}};
  DescribeTransactionsResponse::TransactionState& uy = answer.transaction_states.emplace_back();
  uy.error_code = 105;  // TRANSACTIONAL_ID_NOT_FOUND
  uy.transactional_id = "uy";
  ExpectResponseFrame(response, 15, 0, answer);
}

TEST(GoldenTest, ListTransactionsV0RequestAndResponse) {
  const std::string frame = B({
                                0x00, 0x42, 0x00, 0x00,  // ListTransactions v0 (header v2)
                                0x00, 0x00, 0x00, 0x10,  // correlation_id 16
                                0xff, 0xff,              // client_id null
                                0x00,                    // header tagged fields
                                0x02,                    // StateFilters: 1+1
                                0x08,                    // compact 7+1
                            }) +
                            "Ongoing" +
                            B({
                                0x02,  // ProducerIdFilters: 1+1
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // 7000
                                0x00,                                            // tagged fields
                            });
  ListTransactionsRequest r;
  r.state_filters = {"Ongoing"};
  r.producer_id_filters = {7000};
  ExpectRequestFrame(frame, {ApiKey::kListTransactions, 0, 16, std::nullopt}, r);

  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x10,  // correlation_id 16
                                   0x00,                    // header tagged fields
                                   0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                                   0x00, 0x00,              // ErrorCode 0
                                   0x02, 0x02, 'X',         // UnknownStateFilters ["X"]
                                   0x02,                    // TransactionStates: 1+1
                                   0x03, 't',  'x',         // TransactionalId "tx"
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // 7000
                                   0x08,                                            // 7+1
                               }) +
                               "Ongoing" +
                               B({
                                   0x00,  // state tagged fields
                                   0x00,  // tagged fields
                               });
  ListTransactionsResponse answer;
  answer.unknown_state_filters = {"X"};
  answer.transaction_states = {{"tx", 7000, "Ongoing"}};
  ExpectResponseFrame(response, 16, 0, answer);
}

TEST(GoldenTest, TxnOffsetCommitV0Request) {
  // A producer before KIP-447: no consumer, no leader epochs.
  const std::string frame = B({
      0x00, 0x1c, 0x00, 0x00,                          // TxnOffsetCommit v0
      0x00, 0x00, 0x00, 0x11,                          // correlation_id 17
      0x00, 0x01, 'p',                                 // client_id "p"
      0x00, 0x02, 't',  'x',                           // TransactionalId "tx"
      0x00, 0x01, 'g',                                 // GroupId "g"
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // ProducerId 7000
      0x00, 0x02,                                      // ProducerEpoch 2
      0x00, 0x00, 0x00, 0x01,                          // Topics: 1
      0x00, 0x01, 't',                                 // Name "t"
      0x00, 0x00, 0x00, 0x02,                          // Partitions: 2
      0x00, 0x00, 0x00, 0x00,                          // PartitionIndex 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // CommittedOffset 100
      0x00, 0x01, 'm',                                 // CommittedMetadata "m"
      0x00, 0x00, 0x00, 0x01,                          // PartitionIndex 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // CommittedOffset 5
      0xff, 0xff,                                      // CommittedMetadata null
  });
  TxnOffsetCommitRequest r;
  r.transactional_id = "tx";
  r.group_id = "g";
  r.producer_id = 7000;
  r.producer_epoch = 2;
  r.topics = {{"t", {{0, 100, -1, "m"}, {1, 5, -1, std::nullopt}}}};
  ExpectRequestFrame(frame, {ApiKey::kTxnOffsetCommit, 0, 17, "p"}, r);
}

TEST(GoldenTest, TxnOffsetCommitV3FlexibleRequestAndResponse) {
  // KIP-447's producer: the consumer's generation and member ride along.
  const std::string frame = B({
                                0x00, 0x1c, 0x00, 0x03,  // TxnOffsetCommit v3 (header v2)
                                0x00, 0x00, 0x00, 0x12,  // correlation_id 18
                                0x00, 0x07,              // client_id: classic, 7 bytes
                            }) +
                            "rdkafka" +
                            B({
                                0x00,                                            // header tags
                                0x03, 't',  'x',                                 // compact "tx"
                                0x02, 'g',                                       // compact "g"
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // ProducerId
                                0x00, 0x02,                                      // epoch 2
                                0x00, 0x00, 0x00, 0x05,                          // GenerationId 5
                                0x04, 'm',  '-',  '1',   // MemberId: compact "m-1"
                                0x00,                    // GroupInstanceId null
                                0x02,                    // Topics: 1+1
                                0x02, 't',               // Name "t"
                                0x02,                    // Partitions: 1+1
                                0x00, 0x00, 0x00, 0x03,  // PartitionIndex 3
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,  // offset 42
                                0x00, 0x00, 0x00, 0x07,  // CommittedLeaderEpoch 7
                                0x01,                    // CommittedMetadata: compact ""
                                0x00,                    // partition tagged fields
                                0x00,                    // topic tagged fields
                                0x00,                    // tagged fields
                            });
  TxnOffsetCommitRequest r;
  r.transactional_id = "tx";
  r.group_id = "g";
  r.producer_id = 7000;
  r.producer_epoch = 2;
  r.generation_id = 5;
  r.member_id = "m-1";
  r.topics = {{"t", {{3, 42, 7, ""}}}};
  ExpectRequestFrame(frame, {ApiKey::kTxnOffsetCommit, 3, 18, "rdkafka"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x12,  // response header v1: correlation_id 18
      0x00,                    // header tagged fields
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
      0x02,                    // Topics: 1+1
      0x02, 't',               // Name "t"
      0x02,                    // Partitions: 1+1
      0x00, 0x00, 0x00, 0x03,  // PartitionIndex 3
      0x00, 0x16,              // ErrorCode ILLEGAL_GENERATION (22)
      0x00,                    // partition tagged fields
      0x00,                    // topic tagged fields
      0x00,                    // tagged fields
  });
  TxnOffsetCommitResponse answer;
  answer.topics = {{"t", {{3, 22}}}};
  ExpectResponseFrame(response, 18, 3, answer);
}

TEST(GoldenTest, DescribeProducersV0RequestAndResponse) {
  // kafka-transactions.sh describe-producers: always flexible.
  const std::string frame = B({
      0x00, 0x3d, 0x00, 0x00,  // DescribeProducers v0 (header v2)
      0x00, 0x00, 0x00, 0x13,  // correlation_id 19
      0xff, 0xff,              // client_id null
      0x00,                    // header tagged fields
      0x02,                    // Topics: 1+1
      0x02, 't',               // Name "t"
      0x03,                    // PartitionIndexes: 2+1
      0x00, 0x00, 0x00, 0x00,  // 0
      0x00, 0x00, 0x00, 0x01,  // 1
      0x00,                    // topic tagged fields
      0x00,                    // tagged fields
  });
  DescribeProducersRequest r;
  r.topics = {{"t", {0, 1}}};
  ExpectRequestFrame(frame, {ApiKey::kDescribeProducers, 0, 19, std::nullopt}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x13,                          // correlation_id 19
      0x00,                                            // header tagged fields
      0x00, 0x00, 0x00, 0x00,                          // ThrottleTimeMs 0
      0x02,                                            // Topics: 1+1
      0x02, 't',                                       // Name "t"
      0x03,                                            // Partitions: 2+1
      0x00, 0x00, 0x00, 0x00,                          // PartitionIndex 0
      0x00, 0x00,                                      // ErrorCode 0
      0x00,                                            // ErrorMessage null
      0x02,                                            // ActiveProducers: 1+1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x58,  // ProducerId 7000
      0x00, 0x00, 0x00, 0x02,                          // ProducerEpoch 2 (int32)
      0x00, 0x00, 0x00, 0x09,                          // LastSequence 9
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // LastTimestamp 1000
      0x00, 0x00, 0x00, 0x04,                          // CoordinatorEpoch 4
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32,  // CurrentTxnStartOffset 50
      0x00,                                            // producer tagged fields
      0x00,                                            // partition tagged fields
      0x00, 0x00, 0x00, 0x01,                          // PartitionIndex 1
      0x00, 0x06,                                      // NOT_LEADER_OR_FOLLOWER (6)
      0x03, 'n',  'o',                                 // ErrorMessage: compact "no"
      0x01,                                            // ActiveProducers: 0+1
      0x00,                                            // partition tagged fields
      0x00,                                            // topic tagged fields
      0x00,                                            // tagged fields
  });
  DescribeProducersResponse::Partition led;
  led.partition_index = 0;
  led.active_producers = {{.producer_id = 7000,
                           .producer_epoch = 2,
                           .last_sequence = 9,
                           .last_timestamp = 1000,
                           .coordinator_epoch = 4,
                           .current_txn_start_offset = 50}};
  DescribeProducersResponse::Partition elsewhere;
  elsewhere.partition_index = 1;
  elsewhere.error_code = 6;
  elsewhere.error_message = "no";
  DescribeProducersResponse answer;
  answer.topics = {{"t", {led, elsewhere}}};
  ExpectResponseFrame(response, 19, 0, answer);
}

TEST(GoldenTest, DescribeLogDirsV4RequestAndResponse) {
  // kafka-log-dirs.sh (Java's admin client): every partition (Topics null),
  // flexible, the answer with the volume's bytes (v4).
  const std::string frame = B({
      0x00, 0x23, 0x00, 0x04,  // DescribeLogDirs v4 (header v2)
      0x00, 0x00, 0x00, 0x21,  // correlation_id 33
      0x00, 0x01, 'c',         // client_id "c"
      0x00,                    // header tagged fields
      0x00,                    // Topics: null
      0x00,                    // tagged fields
  });
  ExpectRequestFrame(frame, {ApiKey::kDescribeLogDirs, 4, 33, "c"}, DescribeLogDirsRequest{});

  const std::string response = B({
      0x00, 0x00, 0x00, 0x21,                          // correlation_id 33
      0x00,                                            // header tagged fields
      0x00, 0x00, 0x00, 0x00,                          // ThrottleTimeMs 0
      0x00, 0x00,                                      // ErrorCode 0 (v3+)
      0x02,                                            // Results: 1+1
      0x00, 0x00,                                      // ErrorCode 0
      0x03, '/',  'd',                                 // LogDir: compact "/d"
      0x02,                                            // Topics: 1+1
      0x02, 't',                                       // Name "t"
      0x02,                                            // Partitions: 1+1
      0x00, 0x00, 0x00, 0x03,                          // PartitionIndex 3
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xd2,  // PartitionSize 1234
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // OffsetLag 5
      0x00,                                            // IsFutureKey false
      0x00,                                            // partition tagged fields
      0x00,                                            // topic tagged fields
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,  // TotalBytes 4096 (v4)
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // UsableBytes -1: unknown
      0x00,                                            // result tagged fields
      0x00,                                            // tagged fields
  });
  DescribeLogDirsResponse answer;
  DescribeLogDirsResponse::Result& dir = answer.results.emplace_back();
  dir.log_dir = "/d";
  dir.topics = {{"t", {{.partition_index = 3, .partition_size = 1234, .offset_lag = 5}}}};
  dir.total_bytes = 4096;
  ExpectResponseFrame(response, 33, 4, answer);
}

TEST(GoldenTest, DescribeLogDirsV1RequestAndResponse) {
  // Classic: two partitions of one topic; an offline log dir answers
  // KAFKA_STORAGE_ERROR with no topics, and v1 has no top-level ErrorCode.
  const std::string frame = B({
      0x00, 0x23, 0x00, 0x01,  // DescribeLogDirs v1 (header v1)
      0x00, 0x00, 0x00, 0x22,  // correlation_id 34
      0xff, 0xff,              // client_id null
      0x00, 0x00, 0x00, 0x01,  // Topics: int32 count 1
      0x00, 0x01, 't',         // Topic "t"
      0x00, 0x00, 0x00, 0x02,  // Partitions: int32 count 2
      0x00, 0x00, 0x00, 0x00,  // 0
      0x00, 0x00, 0x00, 0x01,  // 1
  });
  DescribeLogDirsRequest r;
  r.topics = std::vector<DescribeLogDirsRequest::Topic>{{"t", {0, 1}}};
  ExpectRequestFrame(frame, {ApiKey::kDescribeLogDirs, 1, 34, std::nullopt}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x22,  // correlation_id 34 (header v0)
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
      0x00, 0x00, 0x00, 0x01,  // Results: int32 count 1
      0x00, 0x38,              // ErrorCode KAFKA_STORAGE_ERROR (56)
      0x00, 0x02, '/',  'e',   // LogDir "/e"
      0x00, 0x00, 0x00, 0x00,  // Topics: int32 count 0
  });
  DescribeLogDirsResponse answer;
  DescribeLogDirsResponse::Result& dir = answer.results.emplace_back();
  dir.error_code = 56;
  dir.log_dir = "/e";
  ExpectResponseFrame(response, 34, 1, answer);
}

// ---- SASL, ACLs, quotas and SCRAM credentials (codec only: not yet
// advertised) ----

TEST(GoldenTest, SaslHandshakeV1RequestAndResponse) {
  // Never flexible: request header v1, response header v0.
  const std::string frame = B({
                                0x00, 0x11, 0x00, 0x01,  // SaslHandshake v1
                                0x00, 0x00, 0x00, 0x20,  // correlation_id 32
                                0x00, 0x01, 'c',         // client_id "c"
                                0x00, 0x0d,              // Mechanism: int16 length 13
                            }) +
                            "SCRAM-SHA-256";
  SaslHandshakeRequest r;
  r.mechanism = "SCRAM-SHA-256";
  ExpectRequestFrame(frame, {ApiKey::kSaslHandshake, 1, 32, "c"}, r);

  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x20,  // correlation_id 32 (header v0)
                                   0x00, 0x21,              // UNSUPPORTED_SASL_MECHANISM (33)
                                   0x00, 0x00, 0x00, 0x02,  // Mechanisms: int32 count 2
                                   0x00, 0x05, 'P',  'L',  'A', 'I', 'N',  // "PLAIN"
                                   0x00, 0x0d,                             // int16 length 13
                               }) +
                               "SCRAM-SHA-512";
  SaslHandshakeResponse answer;
  answer.error_code = 33;
  answer.mechanisms = {"PLAIN", "SCRAM-SHA-512"};
  ExpectResponseFrame(response, 32, 1, answer);
}

TEST(GoldenTest, SaslAuthenticateV2FlexibleRequestAndResponse) {
  // SASL/PLAIN's one message: authzid \0 user \0 password.
  const std::string frame = B({
                                0x00, 0x24, 0x00, 0x02,  // SaslAuthenticate v2 (header v2)
                                0x00, 0x00, 0x00, 0x21,  // correlation_id 33
                                0x00, 0x01, 'c',         // client_id "c" (classic)
                                0x00,                    // header tagged fields
                                0x0e,                    // AuthBytes: compact 13+1
                                0x00,                    // authzid ""
                            }) +
                            "alice" + B({0x00}) + "secret" +
                            B({
                                0x00,  // tagged fields
                            });
  SaslAuthenticateRequest r;
  r.auth_bytes = std::string("\0alice\0secret", 13);
  ExpectRequestFrame(frame, {ApiKey::kSaslAuthenticate, 2, 33, "c"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x21,                          // correlation_id 33
      0x00,                                            // header tagged fields
      0x00, 0x00,                                      // ErrorCode 0
      0x00,                                            // ErrorMessage null
      0x01,                                            // AuthBytes: compact 0+1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0xee, 0x80,  // SessionLifetimeMs 3600000
      0x00,                                            // tagged fields
  });
  SaslAuthenticateResponse answer;
  answer.session_lifetime_ms = 3600000;
  ExpectResponseFrame(response, 33, 2, answer);
}

TEST(GoldenTest, SaslAuthenticateV0Response) {
  // v0: classic strings and bytes, no SessionLifetimeMs.
  const std::string response = B({
      0x00, 0x00, 0x00, 0x22,     // correlation_id 34
      0x00, 0x3a,                 // SASL_AUTHENTICATION_FAILED (58)
      0x00, 0x03, 'b', 'a', 'd',  // ErrorMessage "bad"
      0x00, 0x00, 0x00, 0x00,     // AuthBytes: int32 length 0
  });
  SaslAuthenticateResponse answer;
  answer.error_code = 58;
  answer.error_message = "bad";
  ExpectResponseFrame(response, 34, 0, answer);
}

TEST(GoldenTest, DescribeAclsV0AndV1Requests) {
  // v1 (classic): every ACL on topics prefixed "t", any principal and host.
  const std::string v1 = B({
      0x00, 0x1d, 0x00, 0x01,  // DescribeAcls v1
      0x00, 0x00, 0x00, 0x23,  // correlation_id 35
      0x00, 0x01, 'c',         // client_id "c"
      0x02,                    // ResourceTypeFilter TOPIC (2)
      0x00, 0x01, 't',         // ResourceNameFilter "t"
      0x04,                    // PatternTypeFilter PREFIXED (4)
      0xff, 0xff,              // PrincipalFilter null
      0xff, 0xff,              // HostFilter null
      0x01,                    // Operation ANY (1)
      0x01,                    // PermissionType ANY (1)
  });
  DescribeAclsRequest r;
  r.resource_type_filter = 2;
  r.resource_name_filter = "t";
  r.pattern_type_filter = 4;
  r.operation = 1;
  r.permission_type = 1;
  ExpectRequestFrame(v1, {ApiKey::kDescribeAcls, 1, 35, "c"}, r);

  // v0 has no PatternTypeFilter: it decodes to LITERAL (3), Kafka's default.
  const std::string v0 = B({
      0x00, 0x1d, 0x00, 0x00,  // DescribeAcls v0
      0x00, 0x00, 0x00, 0x24,  // correlation_id 36
      0x00, 0x01, 'c',         // client_id "c"
      0x02,                    // ResourceTypeFilter TOPIC (2)
      0x00, 0x01, 't',         // ResourceNameFilter "t"
      0xff, 0xff,              // PrincipalFilter null
      0xff, 0xff,              // HostFilter null
      0x01,                    // Operation ANY (1)
      0x01,                    // PermissionType ANY (1)
  });
  r.pattern_type_filter = 3;
  ExpectRequestFrame(v0, {ApiKey::kDescribeAcls, 0, 36, "c"}, r);
}

TEST(GoldenTest, DescribeAclsV2FlexibleResponse) {
  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x25,  // correlation_id 37
                                   0x00,                    // header tagged fields
                                   0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                                   0x00, 0x00,              // ErrorCode 0
                                   0x00,                    // ErrorMessage null
                                   0x02,                    // Resources: 1+1
                                   0x02,                    // ResourceType TOPIC (2)
                                   0x02, 't',               // ResourceName "t"
                                   0x03,                    // PatternType LITERAL (3)
                                   0x02,                    // Acls: 1+1
                                   0x0b,                    // Principal: compact 10+1
                               }) +
                               "User:alice" +
                               B({
                                   0x02, '*',  // Host "*"
                                   0x03,       // Operation READ (3)
                                   0x03,       // PermissionType ALLOW (3)
                                   0x00,       // acl tagged fields
                                   0x00,       // resource tagged fields
                                   0x00,       // tagged fields
                               });
  DescribeAclsResponse answer;
  answer.resources = {
      {.resource_type = 2,
       .resource_name = "t",
       .pattern_type = 3,
       .acls = {{.principal = "User:alice", .host = "*", .operation = 3, .permission_type = 3}}}};
  ExpectResponseFrame(response, 37, 2, answer);
}

TEST(GoldenTest, CreateAclsV2FlexibleRequestAndResponse) {
  // kafka-acls.sh --add --allow-principal User:alice --operation Write --topic t
  const std::string frame = B({
                                0x00, 0x1e, 0x00, 0x02,  // CreateAcls v2 (header v2)
                                0x00, 0x00, 0x00, 0x26,  // correlation_id 38
                                0x00, 0x01, 'c',         // client_id "c" (classic)
                                0x00,                    // header tagged fields
                                0x02,                    // Creations: 1+1
                                0x02,                    // ResourceType TOPIC (2)
                                0x02, 't',               // ResourceName "t"
                                0x03,                    // ResourcePatternType LITERAL (3)
                                0x0b,                    // Principal: compact 10+1
                            }) +
                            "User:alice" +
                            B({
                                0x02, '*',  // Host "*"
                                0x04,       // Operation WRITE (4)
                                0x03,       // PermissionType ALLOW (3)
                                0x00,       // creation tagged fields
                                0x00,       // tagged fields
                            });
  CreateAclsRequest r;
  r.creations = {{.resource_type = 2,
                  .resource_name = "t",
                  .resource_pattern_type = 3,
                  .principal = "User:alice",
                  .host = "*",
                  .operation = 4,
                  .permission_type = 3}};
  ExpectRequestFrame(frame, {ApiKey::kCreateAcls, 2, 38, "c"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x26,  // correlation_id 38
      0x00,                    // header tagged fields
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
      0x02,                    // Results: 1+1
      0x00, 0x1f,              // CLUSTER_AUTHORIZATION_FAILED (31)
      0x04, 'n', 'o', 'p',     // ErrorMessage: compact "nop"
      0x00,                    // result tagged fields
      0x00,                    // tagged fields
  });
  CreateAclsResponse answer;
  answer.results = {{31, "nop"}};
  ExpectResponseFrame(response, 38, 2, answer);
}

TEST(GoldenTest, DeleteAclsV1RequestAndResponse) {
  const std::string frame = B({
                                0x00, 0x1f, 0x00, 0x01,  // DeleteAcls v1
                                0x00, 0x00, 0x00, 0x27,  // correlation_id 39
                                0x00, 0x01, 'c',         // client_id "c"
                                0x00, 0x00, 0x00, 0x01,  // Filters: int32 count 1
                                0x02,                    // ResourceTypeFilter TOPIC (2)
                                0xff, 0xff,              // ResourceNameFilter null
                                0x01,                    // PatternTypeFilter ANY (1)
                                0x00, 0x0a,              // PrincipalFilter: int16 length 10
                            }) +
                            "User:alice" +
                            B({
                                0xff, 0xff,  // HostFilter null
                                0x01,        // Operation ANY (1)
                                0x01,        // PermissionType ANY (1)
                            });
  DeleteAclsRequest r;
  r.filters = {{.resource_type_filter = 2,
                .resource_name_filter = std::nullopt,
                .pattern_type_filter = 1,
                .principal_filter = "User:alice",
                .host_filter = std::nullopt,
                .operation = 1,
                .permission_type = 1}};
  ExpectRequestFrame(frame, {ApiKey::kDeleteAcls, 1, 39, "c"}, r);

  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x27,  // correlation_id 39 (header v0)
                                   0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                                   0x00, 0x00, 0x00, 0x01,  // FilterResults: 1
                                   0x00, 0x00,              // ErrorCode 0
                                   0xff, 0xff,              // ErrorMessage null
                                   0x00, 0x00, 0x00, 0x01,  // MatchingAcls: 1
                                   0x00, 0x00,              // ErrorCode 0
                                   0xff, 0xff,              // ErrorMessage null
                                   0x02,                    // ResourceType TOPIC (2)
                                   0x00, 0x01, 't',         // ResourceName "t"
                                   0x03,                    // PatternType LITERAL (3)
                                   0x00, 0x0a,              // Principal: int16 length 10
                               }) +
                               "User:alice" +
                               B({
                                   0x00, 0x01, '*',  // Host "*"
                                   0x04,             // Operation WRITE (4)
                                   0x03,             // PermissionType ALLOW (3)
                               });
  DeleteAclsResponse answer;
  DeleteAclsResponse::FilterResult& result = answer.filter_results.emplace_back();
  result.matching_acls = {{.error_code = 0,
                           .error_message = std::nullopt,
                           .resource_type = 2,
                           .resource_name = "t",
                           .pattern_type = 3,
                           .principal = "User:alice",
                           .host = "*",
                           .operation = 4,
                           .permission_type = 3}};
  ExpectResponseFrame(response, 39, 1, answer);
}

TEST(GoldenTest, DescribeClientQuotasV1RequestAndV0Response) {
  // kafka-configs.sh --describe --entity-type users --entity-name alice
  const std::string frame = B({
      0x00, 0x30, 0x00, 0x01,            // DescribeClientQuotas v1 (header v2)
      0x00, 0x00, 0x00, 0x28,            // correlation_id 40
      0x00, 0x01, 'c',                   // client_id "c" (classic)
      0x00,                              // header tagged fields
      0x02,                              // Components: 1+1
      0x05, 'u',  's',  'e',  'r',       // EntityType "user"
      0x00,                              // MatchType exact (0)
      0x06, 'a',  'l',  'i',  'c', 'e',  // Match "alice"
      0x00,                              // component tagged fields
      0x01,                              // Strict true
      0x00,                              // tagged fields
  });
  DescribeClientQuotasRequest r;
  r.components = {{"user", 0, "alice"}};
  r.strict = true;
  ExpectRequestFrame(frame, {ApiKey::kDescribeClientQuotas, 1, 40, "c"}, r);

  const std::string response = B({
                                   0x00, 0x00, 0x00, 0x28,  // correlation_id 40 (header v0)
                                   0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                                   0x00, 0x00,              // ErrorCode 0
                                   0xff, 0xff,              // ErrorMessage null
                                   0x00, 0x00, 0x00, 0x01,  // Entries: 1
                                   0x00, 0x00, 0x00, 0x01,  // Entity: 1
                                   0x00, 0x04, 'u',  's',  'e', 'r',       // EntityType "user"
                                   0x00, 0x05, 'a',  'l',  'i', 'c', 'e',  // EntityName "alice"
                                   0x00, 0x00, 0x00, 0x01,                 // Values: 1
                                   0x00, 0x12,                             // Key: int16 length 18
                               }) +
                               "producer_byte_rate" +
                               B({
                                   0x41, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1048576.0
                               });
  DescribeClientQuotasResponse answer;
  answer.entries = {{{{"user", "alice"}}, {{"producer_byte_rate", 1048576.0}}}};
  ExpectResponseFrame(response, 40, 0, answer);
}

TEST(GoldenTest, AlterClientQuotasV0RequestAndV1Response) {
  const std::string frame = B({
                                0x00, 0x31, 0x00, 0x00,                 // AlterClientQuotas v0
                                0x00, 0x00, 0x00, 0x29,                 // correlation_id 41
                                0x00, 0x01, 'c',                        // client_id "c"
                                0x00, 0x00, 0x00, 0x01,                 // Entries: 1
                                0x00, 0x00, 0x00, 0x02,                 // Entity: 2
                                0x00, 0x04, 'u',  's',  'e', 'r',       // EntityType "user"
                                0x00, 0x05, 'a',  'l',  'i', 'c', 'e',  // EntityName "alice"
                                0x00, 0x09,                             // EntityType: length 9
                            }) +
                            "client-id" +
                            B({
                                0xff, 0xff,              // EntityName null (the default)
                                0x00, 0x00, 0x00, 0x02,  // Ops: 2
                                0x00, 0x12,              // Key: int16 length 18
                            }) +
                            "consumer_byte_rate" +
                            B({
                                0x40, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 2048.0
                                0x00,                                            // Remove false
                                0x00, 0x12,  // Key: int16 length 18
                            }) +
                            "request_percentage" +
                            B({
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 0.0
                                0x01,                                            // Remove true
                                0x00,  // ValidateOnly false
                            });
  AlterClientQuotasRequest r;
  r.entries = {{{{"user", "alice"}, {"client-id", std::nullopt}},
                {{"consumer_byte_rate", 2048.0, false}, {"request_percentage", 0.0, true}}}};
  ExpectRequestFrame(frame, {ApiKey::kAlterClientQuotas, 0, 41, "c"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x29,            // correlation_id 41
      0x00,                              // header tagged fields
      0x00, 0x00, 0x00, 0x00,            // ThrottleTimeMs 0
      0x02,                              // Entries: 1+1
      0x00, 0x00,                        // ErrorCode 0
      0x00,                              // ErrorMessage null
      0x02,                              // Entity: 1+1
      0x05, 'u',  's',  'e',  'r',       // EntityType "user"
      0x06, 'a',  'l',  'i',  'c', 'e',  // EntityName "alice"
      0x00,                              // entity tagged fields
      0x00,                              // entry tagged fields
      0x00,                              // tagged fields
  });
  AlterClientQuotasResponse answer;
  answer.entries = {{0, std::nullopt, {{"user", "alice"}}}};
  ExpectResponseFrame(response, 41, 1, answer);
}

TEST(GoldenTest, DescribeUserScramCredentialsV0RequestAndResponse) {
  // Always flexible; Users null describes every user.
  const std::string frame = B({
      0x00, 0x32, 0x00, 0x00,  // DescribeUserScramCredentials v0 (header v2)
      0x00, 0x00, 0x00, 0x2a,  // correlation_id 42
      0x00, 0x01, 'c',         // client_id "c" (classic)
      0x00,                    // header tagged fields
      0x00,                    // Users: null
      0x00,                    // tagged fields
  });
  DescribeUserScramCredentialsRequest r;
  r.users = std::nullopt;
  ExpectRequestFrame(frame, {ApiKey::kDescribeUserScramCredentials, 0, 42, "c"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x2a,            // correlation_id 42
      0x00,                              // header tagged fields
      0x00, 0x00, 0x00, 0x00,            // ThrottleTimeMs 0
      0x00, 0x00,                        // ErrorCode 0
      0x00,                              // ErrorMessage null
      0x02,                              // Results: 1+1
      0x06, 'a',  'l',  'i',  'c', 'e',  // User "alice"
      0x00, 0x00,                        // ErrorCode 0
      0x00,                              // ErrorMessage null
      0x02,                              // CredentialInfos: 1+1
      0x01,                              // Mechanism SCRAM-SHA-256 (1)
      0x00, 0x00, 0x10, 0x00,            // Iterations 4096
      0x00,                              // credential tagged fields
      0x00,                              // result tagged fields
      0x00,                              // tagged fields
  });
  DescribeUserScramCredentialsResponse answer;
  answer.results = {{.user = "alice",
                     .error_code = 0,
                     .error_message = std::nullopt,
                     .credential_infos = {{1, 4096}}}};
  ExpectResponseFrame(response, 42, 0, answer);
}

TEST(GoldenTest, AlterUserScramCredentialsV0RequestAndResponse) {
  const std::string frame = B({
      0x00, 0x33, 0x00, 0x00,             // AlterUserScramCredentials v0 (header v2)
      0x00, 0x00, 0x00, 0x2b,             // correlation_id 43
      0x00, 0x01, 'c',                    // client_id "c" (classic)
      0x00,                               // header tagged fields
      0x02,                               // Deletions: 1+1
      0x04, 'b',  'o',  'b',              // Name "bob"
      0x02,                               // Mechanism SCRAM-SHA-512 (2)
      0x00,                               // deletion tagged fields
      0x02,                               // Upsertions: 1+1
      0x06, 'a',  'l',  'i',  'c',  'e',  // Name "alice"
      0x01,                               // Mechanism SCRAM-SHA-256 (1)
      0x00, 0x00, 0x20, 0x00,             // Iterations 8192
      0x05, 0x00, 0x01, 0xfe, 0xff,       // Salt: compact bytes 4+1
      0x03, 0xaa, 0xbb,                   // SaltedPassword: compact bytes 2+1
      0x00,                               // upsertion tagged fields
      0x00,                               // tagged fields
  });
  AlterUserScramCredentialsRequest r;
  r.deletions = {{"bob", 2}};
  r.upsertions = {{.name = "alice",
                   .mechanism = 1,
                   .iterations = 8192,
                   .salt = B({0x00, 0x01, 0xfe, 0xff}),
                   .salted_password = B({0xaa, 0xbb})}};
  ExpectRequestFrame(frame, {ApiKey::kAlterUserScramCredentials, 0, 43, "c"}, r);

  const std::string response = B({
      0x00, 0x00, 0x00, 0x2b,            // correlation_id 43
      0x00,                              // header tagged fields
      0x00, 0x00, 0x00, 0x00,            // ThrottleTimeMs 0
      0x03,                              // Results: 2+1
      0x04, 'b',  'o',  'b',             // User "bob"
      0x00, 0x5b,                        // RESOURCE_NOT_FOUND (91)
      0x00,                              // ErrorMessage null
      0x00,                              // result tagged fields
      0x06, 'a',  'l',  'i',  'c', 'e',  // User "alice"
      0x00, 0x00,                        // ErrorCode 0
      0x00,                              // ErrorMessage null
      0x00,                              // result tagged fields
      0x00,                              // tagged fields
  });
  AlterUserScramCredentialsResponse answer;
  answer.results = {{"bob", 91, std::nullopt}, {"alice", 0, std::nullopt}};
  ExpectResponseFrame(response, 43, 0, answer);
}

}  // namespace
}  // namespace strata::kafka
