// Dispatcher: ApiVersions at every version (and the KIP-511 downgrade), and
// the requests it closes the connection on.
#include "broker/kafka/dispatcher.h"

#include <optional>
#include <string>

#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "gtest/gtest.h"

namespace strata::kafka {
namespace {

constexpr int32_t kCorrelationId = 0x01020304;

// A request frame (no size prefix): header at its version, then `body`.
std::string RequestFrame(int16_t key, int16_t version, const std::string& body,
                         int16_t header_version = 1) {
  std::string out;
  Writer w(&out);
  RequestHeader h;
  h.api_key = static_cast<ApiKey>(key);
  h.api_version = version;
  h.correlation_id = kCorrelationId;
  h.client_id = "test";
  EXPECT_TRUE(WriteRequestHeader(h, header_version, w).ok());
  return out + body;
}

template <typename M>
std::string Body(int16_t version, const M& message) {
  std::string out;
  EXPECT_TRUE(Encode(version, message, &out).ok());
  return out;
}

DispatchResult Dispatch(const std::string& frame) {
  Dispatcher d({});
  std::optional<DispatchResult> result;
  d.Dispatch({.peer = "127.0.0.1:1", .listener = "KAFKA"}, frame,
             [&](DispatchResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return *result;
}

// The response frame's body after a header of `header_version`, checking the
// size prefix and the correlation id.
std::string_view ResponseBody(const std::string& response, int16_t header_version) {
  EXPECT_GE(response.size(), 8u);
  const uint32_t size = (uint32_t{static_cast<uint8_t>(response[0])} << 24) |
                        (uint32_t{static_cast<uint8_t>(response[1])} << 16) |
                        (uint32_t{static_cast<uint8_t>(response[2])} << 8) |
                        uint32_t{static_cast<uint8_t>(response[3])};
  EXPECT_EQ(size, response.size() - 4);
  Reader r(std::string_view(response).substr(4));
  absl::StatusOr<int32_t> correlation = ReadResponseHeader(r, header_version);
  EXPECT_TRUE(correlation.ok());
  EXPECT_EQ(*correlation, kCorrelationId);
  return std::string_view(response).substr(4 + r.position());
}

void ExpectFullTable(const ApiVersionsResponse& response) {
  ASSERT_EQ(response.api_keys.size(), AdvertisedApis().size());
  for (size_t i = 0; i < response.api_keys.size(); ++i) {
    EXPECT_EQ(response.api_keys[i].api_key, static_cast<int16_t>(AdvertisedApis()[i].key));
    EXPECT_EQ(response.api_keys[i].min_version, ListedMinVersion(AdvertisedApis()[i]));
    EXPECT_EQ(response.api_keys[i].max_version, AdvertisedApis()[i].max_version);
  }
}

TEST(DispatcherTest, ApiVersionsV0ToV3AnswerTheTableWithResponseHeaderV0) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    ApiVersionsRequest request;
    request.client_software_name = "librdkafka";
    request.client_software_version = "2.0.2";
    DispatchResult r = Dispatch(RequestFrame(18, v, Body(v, request), v >= 3 ? 2 : 1));
    ASSERT_FALSE(r.close) << r.reason;
    absl::StatusOr<ApiVersionsResponse> answer =
        Decode<ApiVersionsResponse>(v, ResponseBody(r.response, 0));
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->error_code, 0);
    EXPECT_EQ(answer->throttle_time_ms, 0);
    ExpectFullTable(*answer);
  }
}

TEST(DispatcherTest, ApiVersionsOutsideOurRangeAnswersV0BodyWithUnsupportedVersionAndTheTable) {
  // Above our maximum (a newer client) or below our minimum: Kafka answers
  // any unsupported ApiVersions version, never closes.
  for (int16_t v : {4, 9, 32767, -1, -32768}) {
    SCOPED_TRACE(v);
    // A body we cannot parse: it must not be looked at.
    DispatchResult r = Dispatch(RequestFrame(18, v, "\x07garbage-of-a-future-version", 2));
    ASSERT_FALSE(r.close) << r.reason;
    absl::StatusOr<ApiVersionsResponse> answer =
        Decode<ApiVersionsResponse>(0, ResponseBody(r.response, 0));
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->error_code, 35);
    ExpectFullTable(*answer);
  }
}

TEST(DispatcherTest, ApiVersionsV3WithBadSoftwareNameAnswersInvalidRequest) {
  for (auto [name, version] : {std::pair{"", "1.0"},
                               {"-lead", "1.0"},
                               {"ok", "1.0-"},
                               {"has space", "1"},
                               {"x", "ver/1"}}) {
    SCOPED_TRACE(std::string(name) + " " + version);
    ApiVersionsRequest request;
    request.client_software_name = name;
    request.client_software_version = version;
    DispatchResult r = Dispatch(RequestFrame(18, 3, Body(int16_t{3}, request), 2));
    ASSERT_FALSE(r.close) << r.reason;
    absl::StatusOr<ApiVersionsResponse> answer =
        Decode<ApiVersionsResponse>(3, ResponseBody(r.response, 0));
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->error_code, 42);
  }
  EXPECT_TRUE(IsValidClientSoftwareToken("apache-kafka-java"));
  EXPECT_TRUE(IsValidClientSoftwareToken("3.7.1"));
  EXPECT_TRUE(IsValidClientSoftwareToken("a"));
}

TEST(DispatcherTest, UnknownKeyUnsupportedVersionBadBodyAndTrailingBytesClose) {
  MetadataRequest metadata;
  struct Case {
    std::string frame;
    std::string why;
  } cases[] = {
      {RequestFrame(9999, 0, ""), "unknown api key"},
      {RequestFrame(3, 7, Body(int16_t{6}, metadata)), "unsupported version"},
      {RequestFrame(3, -1, ""), "unsupported version"},
      {RequestFrame(22, 5, ""), "unsupported version"},  // InitProducerId: v0-4
      {RequestFrame(24, 4, ""), "unsupported version"},  // AddPartitionsToTxn v4: brokers'
      {RequestFrame(28, 4, ""), "unsupported version"},  // TxnOffsetCommit: v0-3
      {RequestFrame(61, 1, ""), "unsupported version"},  // DescribeProducers: v0
      {RequestFrame(35, 5, ""), "unsupported version"},  // DescribeLogDirs: v0-4
      {RequestFrame(0, 3, ""), "bad request body"},
      // Produce is listed from v0 (for librdkafka's codecs) but served from
      // v3: v0-2 carry message formats the log does not take.
      {RequestFrame(0, 2, ""), "unsupported version"},
      {RequestFrame(0, 0, ""), "unsupported version"},
      {RequestFrame(18, 1, Body(int16_t{1}, ApiVersionsRequest{}) + "x"), "bad request body"},
      {std::string("\x00\x12\x00", 3), "api_key=-1"},
  };
  for (const Case& c : cases) {
    DispatchResult r = Dispatch(c.frame);
    EXPECT_TRUE(r.close) << c.why;
    EXPECT_TRUE(r.response.empty());
    EXPECT_NE(r.reason.find(c.why), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("127.0.0.1:1"), std::string::npos) << r.reason;
  }
  // The reason names key, version and correlation id.
  DispatchResult r = Dispatch(RequestFrame(9999, 2, ""));
  EXPECT_NE(r.reason.find("api_key=9999 api_version=2 correlation_id=16909060"), std::string::npos)
      << r.reason;
}

// Where no SASL exchange runs (PLAINTEXT and SSL listeners; a SASL
// connection already authenticated), the SASL requests are answered
// ILLEGAL_SASL_STATE, as Kafka's KafkaApis does.
TEST(DispatcherTest, SaslRequestsOutsideAnExchangeAnswerIllegalSaslState) {
  if (!IsAdvertised(ApiKey::kSaslHandshake, 1) || !IsAdvertised(ApiKey::kSaslAuthenticate, 2)) {
    GTEST_SKIP() << "SaslHandshake / SaslAuthenticate not advertised yet (api_versions.cc)";
  }
  SaslHandshakeRequest handshake;
  handshake.mechanism = "PLAIN";
  DispatchResult h = Dispatch(RequestFrame(17, 1, Body(int16_t{1}, handshake)));
  ASSERT_FALSE(h.close) << h.reason;
  absl::StatusOr<SaslHandshakeResponse> hr =
      Decode<SaslHandshakeResponse>(1, ResponseBody(h.response, 0));
  ASSERT_TRUE(hr.ok()) << hr.status();
  EXPECT_EQ(hr->error_code, 34);

  SaslAuthenticateRequest authenticate;
  authenticate.auth_bytes = "x";
  DispatchResult a = Dispatch(RequestFrame(36, 2, Body(int16_t{2}, authenticate), 2));
  ASSERT_FALSE(a.close) << a.reason;
  absl::StatusOr<SaslAuthenticateResponse> ar =
      Decode<SaslAuthenticateResponse>(2, ResponseBody(a.response, 1));
  ASSERT_TRUE(ar.ok()) << ar.status();
  EXPECT_EQ(ar->error_code, 34);
  EXPECT_EQ(ar->error_message.value_or(""),
            "SaslAuthenticate request received after successful authentication");
}

}  // namespace
}  // namespace strata::kafka
