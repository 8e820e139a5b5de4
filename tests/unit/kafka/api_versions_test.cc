// The advertised table is exactly the design's (notes/issue14-design.md
// §1.2), and the header-version rules follow it.
#include "broker/kafka/api_versions.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"

namespace strata::kafka {
namespace {

TEST(ApiVersionsTest, AdvertisedEqualsTheDesignTable) {
  // key, min, max, first flexible version (3.7.1).
  const std::vector<std::tuple<int, int, int, int>> expected = {
      {0, 3, 7, 9},    // Produce
      {1, 4, 11, 12},  // Fetch
      {2, 1, 3, 6},    // ListOffsets
      {3, 0, 6, 9},    // Metadata
      {8, 2, 7, 8},    // OffsetCommit
      {9, 1, 7, 6},    // OffsetFetch
      {10, 0, 2, 3},   // FindCoordinator
      {11, 0, 5, 6},   // JoinGroup
      {12, 0, 3, 4},   // Heartbeat
      {13, 0, 3, 4},   // LeaveGroup
      {14, 0, 3, 4},   // SyncGroup
      {15, 0, 4, 5},   // DescribeGroups
      {16, 0, 4, 3},   // ListGroups
      {17, 0, 1, -1},  // SaslHandshake (issue 16): never flexible
      {18, 0, 3, 3},   // ApiVersions
      {19, 3, 4, 5},   // CreateTopics
      {20, 1, 3, 4},   // DeleteTopics
      {21, 1, 1, 2},   // DeleteRecords
      {22, 0, 4, 2},   // InitProducerId (issue 15)
      {23, 2, 4, 4},   // OffsetForLeaderEpoch
      {24, 0, 3, 3},   // AddPartitionsToTxn (v4+ is brokers')
      {25, 0, 3, 3},   // AddOffsetsToTxn
      {26, 0, 3, 3},   // EndTxn
      {28, 0, 3, 3},   // TxnOffsetCommit
      {29, 0, 3, 2},   // DescribeAcls (issue 16)
      {30, 0, 3, 2},   // CreateAcls
      {31, 0, 3, 2},   // DeleteAcls
      {32, 1, 2, 4},   // DescribeConfigs
      {33, 0, 1, 2},   // AlterConfigs
      {35, 0, 4, 2},   // DescribeLogDirs
      {36, 0, 2, 2},   // SaslAuthenticate (issue 16)
      {37, 0, 1, 2},   // CreatePartitions
      {42, 1, 1, 2},   // DeleteGroups
      {43, 0, 2, 2},   // ElectLeaders
      {44, 0, 1, 1},   // IncrementalAlterConfigs
      {45, 0, 0, 0},   // AlterPartitionReassignments
      {46, 0, 0, 0},   // ListPartitionReassignments
      {47, 0, 0, -1},  // OffsetDelete: never flexible
      {48, 0, 1, 1},   // DescribeClientQuotas (issue 16)
      {49, 0, 1, 1},   // AlterClientQuotas
      {50, 0, 0, 0},   // DescribeUserScramCredentials
      {51, 0, 0, 0},   // AlterUserScramCredentials
      {60, 0, 1, 0},   // DescribeCluster
      {61, 0, 0, 0},   // DescribeProducers
      {65, 0, 0, 0},   // DescribeTransactions
      {66, 0, 0, 0},   // ListTransactions
  };
  std::vector<std::tuple<int, int, int, int>> actual;
  for (const ApiInfo& api : AdvertisedApis()) {
    actual.emplace_back(static_cast<int>(api.key), api.min_version, api.max_version,
                        api.flexible_from);
  }
  EXPECT_EQ(actual, expected);
}

TEST(ApiVersionsTest, ProduceIsListedFromV0ButServedFromV3) {
  const ApiInfo* api = FindApi(ApiKey::kProduce);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(ListedMinVersion(*api), 0) << "librdkafka compresses gzip/snappy/lz4 only then";
  EXPECT_EQ(api->min_version, 3);
  EXPECT_FALSE(IsAdvertised(ApiKey::kProduce, 2));
  EXPECT_TRUE(IsAdvertised(ApiKey::kProduce, 3));
  for (const ApiInfo& other : AdvertisedApis()) {
    if (other.key != ApiKey::kProduce) {
      EXPECT_EQ(ListedMinVersion(other), other.min_version);
    }
  }
}

// librdkafka needs 0 in the range for its idempotent producer and picks 4;
// kafkajs picks 1 (notes/issue15-design.md §1.2).
TEST(ApiVersionsTest, InitProducerIdIsAdvertisedFromV0ToV4) {
  const ApiInfo* api = FindApi(ApiKey::kInitProducerId);
  ASSERT_NE(api, nullptr);
  EXPECT_TRUE(api->advertised);
  EXPECT_EQ(api->min_version, 0);
  EXPECT_EQ(api->max_version, 4);
  EXPECT_EQ(api->flexible_from, 2);
  EXPECT_TRUE(IsAdvertised(ApiKey::kInitProducerId, 0));
  EXPECT_TRUE(IsAdvertised(ApiKey::kInitProducerId, 4));
  EXPECT_FALSE(IsAdvertised(ApiKey::kInitProducerId, 5));
}

// Every API with a codec is served and advertised (issue 16 served the last
// codec-only ones, SaslHandshake and SaslAuthenticate); the mechanism for a
// codec-only API (kNotServedYet in api_versions.cc) stays for the next one.
TEST(ApiVersionsTest, EveryApiWithACodecIsAdvertised) {
  for (ApiKey key : {ApiKey::kSaslHandshake, ApiKey::kSaslAuthenticate}) {
    const ApiInfo* api = FindApi(key);
    ASSERT_NE(api, nullptr);
    EXPECT_TRUE(api->advertised);
    EXPECT_TRUE(IsAdvertised(key, 0));
  }
  EXPECT_FALSE(HasCodec(ApiKey::kSaslHandshake, 2));
  EXPECT_FALSE(HasCodec(ApiKey::kSaslAuthenticate, 3));
  EXPECT_EQ(SupportedApis().size(), AdvertisedApis().size());

  // Header versions follow Kafka's flexible versions, advertised or not.
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kSaslHandshake, 1), 1) << "never flexible";
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kSaslHandshake, 1), 0);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kSaslAuthenticate, 1), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kSaslAuthenticate, 2), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kSaslAuthenticate, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kCreateAcls, 1), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kCreateAcls, 2), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDeleteAcls, 1), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDeleteAcls, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeClientQuotas, 0), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kAlterClientQuotas, 1), 2);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeUserScramCredentials, 0), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kAlterUserScramCredentials, 0), 1);
}

// What a transactional producer (librdkafka, the Java client) and the
// transactions tool need, at Kafka 3.7.1's client ranges: AddPartitionsToTxn
// v4 (a batch of transactions) is sent only by brokers.
TEST(ApiVersionsTest, TheTransactionApisAreAdvertisedWithKafkasRanges) {
  struct Expected {
    ApiKey key;
    const char* name;
    int16_t max_version;
    int16_t flexible_from;
  };
  for (const Expected& e : {Expected{ApiKey::kAddPartitionsToTxn, "AddPartitionsToTxn", 3, 3},
                            Expected{ApiKey::kAddOffsetsToTxn, "AddOffsetsToTxn", 3, 3},
                            Expected{ApiKey::kEndTxn, "EndTxn", 3, 3},
                            Expected{ApiKey::kDescribeTransactions, "DescribeTransactions", 0, 0},
                            Expected{ApiKey::kListTransactions, "ListTransactions", 0, 0}}) {
    SCOPED_TRACE(e.name);
    const ApiInfo* api = FindApi(e.key);
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(std::string_view(api->name), e.name);
    EXPECT_TRUE(api->advertised);
    EXPECT_EQ(api->min_version, 0);
    EXPECT_EQ(ListedMinVersion(*api), 0);
    EXPECT_EQ(api->max_version, e.max_version);
    EXPECT_EQ(api->flexible_from, e.flexible_from);
    EXPECT_TRUE(IsAdvertised(e.key, 0));
    EXPECT_TRUE(IsAdvertised(e.key, e.max_version));
    EXPECT_FALSE(IsAdvertised(e.key, e.max_version + 1));
  }
  // Flexible exactly from v3: request header v2, response header v1.
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kAddPartitionsToTxn, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kAddPartitionsToTxn, 3), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kEndTxn, 2), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kEndTxn, 3), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kListTransactions, 0), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDescribeTransactions, 0), 1);
}

// TxnOffsetCommit (a transactional producer's sendOffsetsToTransaction) and
// DescribeProducers (kafka-transactions.sh describe-producers), at Kafka
// 3.7.1's ranges.
TEST(ApiVersionsTest, TxnOffsetCommitAndDescribeProducersAreAdvertisedWithKafkasRanges) {
  const ApiInfo* commit = FindApi(ApiKey::kTxnOffsetCommit);
  ASSERT_NE(commit, nullptr);
  EXPECT_EQ(static_cast<int16_t>(commit->key), 28);
  EXPECT_EQ(std::string_view(commit->name), "TxnOffsetCommit");
  EXPECT_TRUE(commit->advertised);
  EXPECT_EQ(ListedMinVersion(*commit), 0);
  EXPECT_EQ(commit->max_version, 3);
  EXPECT_EQ(commit->flexible_from, 3);
  EXPECT_TRUE(IsAdvertised(ApiKey::kTxnOffsetCommit, 0));
  EXPECT_TRUE(IsAdvertised(ApiKey::kTxnOffsetCommit, 3));
  EXPECT_FALSE(IsAdvertised(ApiKey::kTxnOffsetCommit, 4));
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kTxnOffsetCommit, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kTxnOffsetCommit, 3), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kTxnOffsetCommit, 2), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kTxnOffsetCommit, 3), 1);

  const ApiInfo* producers = FindApi(ApiKey::kDescribeProducers);
  ASSERT_NE(producers, nullptr);
  EXPECT_EQ(static_cast<int16_t>(producers->key), 61);
  EXPECT_EQ(std::string_view(producers->name), "DescribeProducers");
  EXPECT_TRUE(producers->advertised);
  EXPECT_EQ(ListedMinVersion(*producers), 0);
  EXPECT_EQ(producers->max_version, 0);
  EXPECT_TRUE(IsAdvertised(ApiKey::kDescribeProducers, 0));
  EXPECT_FALSE(IsAdvertised(ApiKey::kDescribeProducers, 1));
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeProducers, 0), 2) << "always flexible";
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDescribeProducers, 0), 1);
}

// DescribeLogDirs (kafka-log-dirs.sh, Admin.describeLogDirs), at Kafka
// 3.7.1's range: flexible from v2.
TEST(ApiVersionsTest, DescribeLogDirsIsAdvertisedWithKafkasRange) {
  const ApiInfo* api = FindApi(ApiKey::kDescribeLogDirs);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(static_cast<int16_t>(api->key), 35);
  EXPECT_EQ(std::string_view(api->name), "DescribeLogDirs");
  EXPECT_TRUE(api->advertised);
  EXPECT_TRUE(IsAdvertised(ApiKey::kDescribeLogDirs, 0));
  EXPECT_TRUE(IsAdvertised(ApiKey::kDescribeLogDirs, 4));
  EXPECT_FALSE(IsAdvertised(ApiKey::kDescribeLogDirs, 5));
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeLogDirs, 1), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeLogDirs, 2), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDescribeLogDirs, 1), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kDescribeLogDirs, 4), 1);
}

TEST(ApiVersionsTest, RangesAreChecked) {
  EXPECT_TRUE(IsAdvertised(ApiKey::kProduce, 3));
  EXPECT_TRUE(IsAdvertised(ApiKey::kProduce, 7));
  EXPECT_FALSE(IsAdvertised(ApiKey::kProduce, 2));
  EXPECT_FALSE(IsAdvertised(ApiKey::kProduce, 8));
  EXPECT_FALSE(IsAdvertised(static_cast<ApiKey>(4), 0));
  EXPECT_EQ(FindApi(static_cast<ApiKey>(9999)), nullptr);
  EXPECT_EQ(std::string_view(FindApi(ApiKey::kMetadata)->name), "Metadata");
}

TEST(ApiVersionsTest, HeaderVersions) {
  // Request header v2 exactly for flexible versions.
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kApiVersions, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kApiVersions, 3), 2);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kApiVersions, 4), 2);  // beyond our range: Kafka's rule
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kOffsetFetch, 5), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kOffsetFetch, 6), 2);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kOffsetDelete, 0), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeCluster, 0), 2);
  EXPECT_EQ(RequestHeaderVersion(static_cast<ApiKey>(9999), 0), 1);
  // Response header v1 for flexible versions, but ApiVersions always v0.
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kApiVersions, 3), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kApiVersions, 9), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kListGroups, 2), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kListGroups, 3), 1);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kMetadata, 6), 0);
}

TEST(RequestHeaderTest, PeekReadsTheFirstEightBytesOfAnyRequest) {
  // ApiVersions v9 from a newer client: its body cannot be parsed, but the
  // correlation id is there to answer UNSUPPORTED_VERSION with.
  const std::string frame("\x00\x12\x00\x09\x00\x00\x01\x00garbage", 15);
  absl::StatusOr<RequestHeader> h = PeekRequestHeader(frame);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->api_key, ApiKey::kApiVersions);
  EXPECT_EQ(h->api_version, 9);
  EXPECT_EQ(h->correlation_id, 256);
  EXPECT_FALSE(PeekRequestHeader(frame.substr(0, 7)).ok());
}

TEST(RequestHeaderTest, MalformedHeadersAreErrors) {
  std::string_view body;
  // client_id length past the end.
  EXPECT_FALSE(ParseRequestHeader(std::string("\x00\x03\x00\x00\x00\x00\x00\x01\x00\x05"
                                              "ab",
                                              12),
                                  &body)
                   .ok());
  // client_id length -2.
  EXPECT_FALSE(
      ParseRequestHeader(std::string("\x00\x03\x00\x00\x00\x00\x00\x01\xff\xfe", 10), &body).ok());
  // Header v2 without its tagged-field section.
  EXPECT_FALSE(
      ParseRequestHeader(std::string("\x00\x12\x00\x03\x00\x00\x00\x01\xff\xff", 10), &body).ok());
  // Header v2 with an unknown tag: skipped.
  const std::string tagged("\x00\x12\x00\x03\x00\x00\x00\x01\xff\xff\x01\x05\x02zzB", 16);
  absl::StatusOr<RequestHeader> h = ParseRequestHeader(tagged, &body);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(body, "B");
}

TEST(RequestHeaderTest, ResponseHeaders) {
  std::string v0, v1;
  Writer w0(&v0), w1(&v1);
  WriteResponseHeader(7, 0, w0);
  WriteResponseHeader(7, 1, w1);
  EXPECT_EQ(v0, std::string("\x00\x00\x00\x07", 4));
  EXPECT_EQ(v1, std::string("\x00\x00\x00\x07\x00", 5));
  Reader r(v1);
  EXPECT_EQ(*ReadResponseHeader(r, 1), 7);
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace strata::kafka
