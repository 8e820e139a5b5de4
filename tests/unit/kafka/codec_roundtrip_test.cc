// Every API x every supported version, request and response: a message with
// every field of that version set to a non-default value decodes, encodes
// back to the same bytes, and decodes again to an equal struct; fields the
// version lacks decode to their defaults; encoding at another version drops
// exactly what Kafka's rules let it drop.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "broker/kafka/api_versions.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/message_specs.h"
#include "broker/kafka/schema.h"
#include "tests/unit/kafka/message_generator.h"

namespace strata::kafka {
namespace {

using testing::GenerateOptions;
using testing::MessageGenerator;

template <typename Variant>
const void* Object(const Variant& v) {
  return std::visit([](const auto& m) -> const void* { return &m; }, v);
}

template <typename Variant>
void RoundTripEveryVersion(const ApiInfo& api, const StructSpec& spec) {
  const char* kind = std::is_same_v<Variant, Request> ? "request" : "response";
  for (int16_t v = api.min_version; v <= api.max_version; ++v) {
    SCOPED_TRACE(absl::StrCat(api.name, " ", kind, " v", v));
    const bool flexible = IsFlexible(api.key, v);
    // Two generations: every boolean true, then every boolean false, so that
    // each field is off its default in at least one.
    std::vector<bool> off_default(spec.fields.size(), false);
    for (bool bools : {true, false}) {
      const std::string bytes = MessageGenerator({.bools = bools}).Generate(spec, v, flexible);
      absl::StatusOr<Variant> decoded = DecodeAny<Variant>(api.key, v, bytes);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ASSERT_EQ(KeyOf(*decoded), api.key);

      std::string again;
      ASSERT_TRUE(EncodeAny(v, *decoded, &again).ok());
      EXPECT_EQ(again, bytes) << "re-encoding is not byte-identical";
      absl::StatusOr<Variant> redecoded = DecodeAny<Variant>(api.key, v, again);
      ASSERT_TRUE(redecoded.ok()) << redecoded.status();
      EXPECT_TRUE(*redecoded == *decoded);

      for (size_t i = 0; i < spec.fields.size(); ++i) {
        const FieldSpec& f = spec.fields[i];
        const bool is_default = f.is_default(Object(*decoded));
        if (f.versions.Contains(v)) {
          if (!is_default) off_default[i] = true;
        } else {
          EXPECT_TRUE(is_default) << f.name << " is absent in v" << v << " but not default";
        }
      }

      // With an unknown tag in every struct: skipped, same message.
      if (flexible) {
        const std::string tagged =
            MessageGenerator({.bools = bools, .unknown_tag = true}).Generate(spec, v, flexible);
        absl::StatusOr<Variant> skipped = DecodeAny<Variant>(api.key, v, tagged);
        ASSERT_TRUE(skipped.ok()) << skipped.status();
        EXPECT_TRUE(*skipped == *decoded) << "an unknown tag changed the message";
      }

      // Trailing bytes and truncation are errors.
      EXPECT_FALSE(DecodeAny<Variant>(api.key, v, bytes + "x").ok());
      if (!bytes.empty()) {
        EXPECT_FALSE(DecodeAny<Variant>(api.key, v, bytes.substr(0, bytes.size() - 1)).ok());
      }

      // At every other version: encodable unless a field that version lacks
      // holds a value and is not ignorable; what it encodes decodes back.
      for (int16_t u = api.min_version; u <= api.max_version; ++u) {
        if (u == v) continue;
        bool must_fail = false;
        for (const FieldSpec& f : spec.fields) {
          if (!f.versions.Contains(u) && !f.ignorable && !f.is_default(Object(*decoded))) {
            must_fail = true;
          }
        }
        std::string other;
        absl::Status s = EncodeAny(u, *decoded, &other);
        if (must_fail) {
          EXPECT_FALSE(s.ok()) << "v" << u << " carried a field it lacks";
          continue;
        }
        // Nested fields may still refuse (null where v allows it and u
        // does not, nested non-ignorable fields): then the error says why.
        if (!s.ok()) {
          EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
          continue;
        }
        absl::StatusOr<Variant> down = DecodeAny<Variant>(api.key, u, other);
        ASSERT_TRUE(down.ok()) << "v" << u << ": " << down.status();
        for (const FieldSpec& f : spec.fields) {
          if (!f.versions.Contains(u)) {
            EXPECT_TRUE(f.is_default(Object(*down))) << f.name << " absent in v" << u;
          }
        }
      }
    }
    for (size_t i = 0; i < spec.fields.size(); ++i) {
      if (spec.fields[i].versions.Contains(v)) {
        EXPECT_TRUE(off_default[i]) << spec.fields[i].name << " never left its default";
      }
    }
  }
}

TEST(CodecRoundTripTest, EveryApiEveryVersionRequests) {
  for (const ApiInfo& api : SupportedApis()) {
    RoundTripEveryVersion<Request>(api, *RequestSpec(api.key));
  }
}

TEST(CodecRoundTripTest, EveryApiEveryVersionResponses) {
  for (const ApiInfo& api : SupportedApis()) {
    RoundTripEveryVersion<Response>(api, *ResponseSpec(api.key));
  }
}

// Typed checks of what the generic test cannot see: nested fields a version
// lacks come back at their defaults.
TEST(CodecRoundTripTest, AbsentNestedFieldsDecodeToDefaults) {
  FetchRequest fetch;
  fetch.replica_id = -1;
  fetch.max_wait_ms = 500;
  fetch.min_bytes = 1;
  fetch.max_bytes = 1 << 20;
  fetch.isolation_level = 1;
  fetch.session_id = 7;
  fetch.session_epoch = 3;
  fetch.rack_id = "r1";
  FetchRequest::Partition p;
  p.partition = 2;
  p.current_leader_epoch = 5;
  p.fetch_offset = 100;
  p.log_start_offset = 4;
  p.partition_max_bytes = 1000;
  fetch.topics.push_back({"t", {p}});
  fetch.forgotten_topics_data.push_back({"u", {1, 2}});

  std::string v11;
  ASSERT_TRUE(Encode(11, fetch, &v11).ok());
  EXPECT_EQ(*Decode<FetchRequest>(11, v11), fetch);

  // v4 carries none of the session fields, leader epochs, log start offsets
  // or the rack; ForgottenTopicsData is not ignorable, so it must go first.
  std::string v4;
  EXPECT_FALSE(Encode(4, fetch, &v4).ok());
  fetch.forgotten_topics_data.clear();
  v4.clear();
  ASSERT_TRUE(Encode(4, fetch, &v4).ok());
  absl::StatusOr<FetchRequest> old = Decode<FetchRequest>(4, v4);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->session_id, 0);
  EXPECT_EQ(old->session_epoch, -1);
  EXPECT_EQ(old->rack_id, "");
  EXPECT_EQ(old->isolation_level, 1);
  ASSERT_EQ(old->topics.size(), 1u);
  ASSERT_EQ(old->topics[0].partitions.size(), 1u);
  EXPECT_EQ(old->topics[0].partitions[0].current_leader_epoch, -1);
  EXPECT_EQ(old->topics[0].partitions[0].log_start_offset, -1);
  EXPECT_EQ(old->topics[0].partitions[0].fetch_offset, 100);
}

TEST(CodecRoundTripTest, NullabilityFollowsTheVersion) {
  // Metadata: null topics (all) from v1; v0 cannot carry null.
  MetadataRequest all;
  all.topics = std::nullopt;
  std::string out;
  EXPECT_FALSE(Encode(0, all, &out).ok());
  out.clear();
  ASSERT_TRUE(Encode(1, all, &out).ok());
  EXPECT_FALSE(Decode<MetadataRequest>(1, out)->topics.has_value());
  EXPECT_FALSE(Decode<MetadataRequest>(0, out).ok());  // -1 where v0 wants a count

  // AllowAutoTopicCreation is not ignorable: false cannot go below v4.
  MetadataRequest no_create;
  no_create.allow_auto_topic_creation = false;
  out.clear();
  EXPECT_FALSE(Encode(3, no_create, &out).ok());
  // And v0-3 decode it as true, Kafka's default.
  out.clear();
  ASSERT_TRUE(Encode(3, MetadataRequest{}, &out).ok());
  EXPECT_TRUE(Decode<MetadataRequest>(3, out)->allow_auto_topic_creation);
}

TEST(CodecRoundTripTest, LeaveGroupMovesFromOneMemberToAList) {
  LeaveGroupRequest v0;
  v0.group_id = "g";
  v0.member_id = "m";
  std::string out;
  ASSERT_TRUE(Encode(2, v0, &out).ok());
  EXPECT_EQ(Decode<LeaveGroupRequest>(2, out)->member_id, "m");
  out.clear();
  EXPECT_FALSE(Encode(3, v0, &out).ok());  // MemberId is v0-2 and not ignorable

  LeaveGroupRequest v3;
  v3.group_id = "g";
  v3.members = {{"m1", std::nullopt}, {"m2", "instance-2"}};
  out.clear();
  ASSERT_TRUE(Encode(3, v3, &out).ok());
  EXPECT_EQ(*Decode<LeaveGroupRequest>(3, out), v3);
}

TEST(CodecRoundTripTest, ApiVersionsTaggedFieldsOnlyWhenNotDefault) {
  ApiVersionsResponse r;
  r.api_keys = {{18, 0, 3}};
  std::string plain;
  ASSERT_TRUE(Encode(3, r, &plain).ok());
  r.finalized_features_epoch = 7;
  r.finalized_features = {{"metadata.version", 14, 1}};
  std::string tagged;
  ASSERT_TRUE(Encode(3, r, &tagged).ok());
  EXPECT_GT(tagged.size(), plain.size());
  EXPECT_EQ(*Decode<ApiVersionsResponse>(3, tagged), r);
  // v2 has no tagged fields; they are ignorable, so they are dropped.
  std::string v2;
  ASSERT_TRUE(Encode(2, r, &v2).ok());
  absl::StatusOr<ApiVersionsResponse> old = Decode<ApiVersionsResponse>(2, v2);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->finalized_features_epoch, -1);
  EXPECT_TRUE(old->finalized_features.empty());
  EXPECT_EQ(old->api_keys, r.api_keys);
}

TEST(CodecRoundTripTest, ALyingNestedCountIsRefused) {
  // Metadata v0 request: one topic whose name claims 100 bytes.
  const std::string body(
      "\x00\x00\x00\x01\x00\x64"
      "ab",
      8);
  absl::StatusOr<MetadataRequest> r = Decode<MetadataRequest>(0, body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MetadataRequest.Topics"), std::string_view::npos)
      << r.status();
  // Produce v7: 2^31-1 topics in 4 bytes.
  const std::string produce("\xff\xff\x00\x01\x00\x00\x00\x00\x7f\xff\xff\xff\x00\x00", 14);
  EXPECT_FALSE(Decode<ProduceRequest>(7, produce).ok());
}

// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn: v0-2 share one layout (v2
// only lets the broker answer PRODUCER_FENCED); v3 is the same fields,
// flexible.
template <typename M>
void ExpectSameLayoutBeforeV3(const M& message) {
  std::string v0;
  ASSERT_TRUE(Encode(0, message, &v0).ok());
  for (int16_t v = 1; v <= 2; ++v) {
    std::string other;
    ASSERT_TRUE(Encode(v, message, &other).ok());
    EXPECT_EQ(other, v0) << "v" << v;
  }
  std::string v3;
  ASSERT_TRUE(Encode(3, message, &v3).ok());
  EXPECT_NE(v3, v0);
  absl::StatusOr<M> decoded = Decode<M>(3, v3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, message);
  EXPECT_FALSE(Decode<M>(3, v0).ok()) << "a classic body is not a flexible one";
}

TEST(CodecRoundTripTest, TransactionRequestsKeepOneLayoutUntilV3) {
  AddPartitionsToTxnRequest add;
  add.v3_and_below_transactional_id = "tx";
  add.v3_and_below_producer_id = 7000;
  add.v3_and_below_producer_epoch = 2;
  add.v3_and_below_topics = {{"t", {0, 1}}, {"u", {}}};
  ExpectSameLayoutBeforeV3(add);

  AddPartitionsToTxnResponse added;
  added.throttle_time_ms = 5;
  added.results_by_topic_v3_and_below = {{"t", {{0, 0}, {1, 90}}}};
  ExpectSameLayoutBeforeV3(added);

  AddOffsetsToTxnRequest offsets;
  offsets.transactional_id = "tx";
  offsets.producer_id = 7000;
  offsets.producer_epoch = 2;
  offsets.group_id = "g";
  ExpectSameLayoutBeforeV3(offsets);
  ExpectSameLayoutBeforeV3(AddOffsetsToTxnResponse{.throttle_time_ms = 1, .error_code = 51});

  EndTxnRequest end;
  end.transactional_id = "tx";
  end.producer_id = 7000;
  end.producer_epoch = 2;
  end.committed = true;
  ExpectSameLayoutBeforeV3(end);
  ExpectSameLayoutBeforeV3(EndTxnResponse{.throttle_time_ms = 1, .error_code = 47});
}

// TxnOffsetCommit: v0 and v1 are one layout; v2 adds CommittedLeaderEpoch
// (ignorable: dropped below it); v3 adds the consumer (not ignorable: a
// client that knows it cannot send it to an older broker) and is flexible.
TEST(CodecRoundTripTest, TxnOffsetCommitGrowsALeaderEpochThenAConsumer) {
  TxnOffsetCommitRequest r;
  r.transactional_id = "tx";
  r.group_id = "g";
  r.producer_id = 7000;
  r.producer_epoch = 2;
  r.topics = {{"t", {{0, 100, 4, "m"}, {1, 5, -1, std::nullopt}}}};

  std::string v0, v1, v2;
  ASSERT_TRUE(Encode(0, r, &v0).ok());
  ASSERT_TRUE(Encode(1, r, &v1).ok());
  EXPECT_EQ(v1, v0);
  absl::StatusOr<TxnOffsetCommitRequest> old = Decode<TxnOffsetCommitRequest>(1, v1);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->topics[0].partitions[0].committed_leader_epoch, -1) << "dropped below v2";
  EXPECT_EQ(old->topics[0].partitions[1].committed_metadata, std::nullopt);
  ASSERT_TRUE(Encode(2, r, &v2).ok());
  EXPECT_EQ(v2.size(), v0.size() + 2 * 4) << "an int32 per partition";
  EXPECT_EQ(*Decode<TxnOffsetCommitRequest>(2, v2), r);

  r.generation_id = 5;
  r.member_id = "m-1";
  r.group_instance_id = "i-1";
  for (int16_t v = 0; v <= 2; ++v) {
    std::string out;
    EXPECT_FALSE(Encode(v, r, &out).ok()) << "v" << v << " has no consumer";
  }
  std::string v3;
  ASSERT_TRUE(Encode(3, r, &v3).ok());
  EXPECT_EQ(*Decode<TxnOffsetCommitRequest>(3, v3), r);
  r.group_instance_id = std::nullopt;  // a dynamic member
  v3.clear();
  ASSERT_TRUE(Encode(3, r, &v3).ok());
  EXPECT_EQ(*Decode<TxnOffsetCommitRequest>(3, v3), r);

  TxnOffsetCommitResponse answer;
  answer.throttle_time_ms = 3;
  answer.topics = {{"t", {{0, 0}, {1, 22}}}};
  std::string a0, a2, a3;
  ASSERT_TRUE(Encode(0, answer, &a0).ok());
  ASSERT_TRUE(Encode(2, answer, &a2).ok());
  EXPECT_EQ(a2, a0) << "the response changes only its encoding, at v3";
  ASSERT_TRUE(Encode(3, answer, &a3).ok());
  EXPECT_NE(a3, a0);
  EXPECT_EQ(*Decode<TxnOffsetCommitResponse>(3, a3), answer);
}

// DescribeProducers v0: ProducerEpoch is an int32 on the wire, and a null
// ErrorMessage stays null.
TEST(CodecRoundTripTest, DescribeProducersCarriesAnInt32EpochAndANullableMessage) {
  DescribeProducersResponse answer;
  DescribeProducersResponse::Partition ok;
  ok.partition_index = 0;
  ok.active_producers = {{.producer_id = 7000,
                          .producer_epoch = 40000,  // beyond an int16: the wire's int32
                          .last_sequence = 9,
                          .last_timestamp = 1000,
                          .coordinator_epoch = 4,
                          .current_txn_start_offset = 50}};
  DescribeProducersResponse::Partition failed;
  failed.partition_index = 1;
  failed.error_code = 6;
  failed.error_message = "not the leader";
  answer.topics = {{"t", {ok, failed}}};
  std::string out;
  ASSERT_TRUE(Encode(0, answer, &out).ok());
  absl::StatusOr<DescribeProducersResponse> back = Decode<DescribeProducersResponse>(0, out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, answer);
  EXPECT_EQ(back->topics[0].partitions[0].error_message, std::nullopt);
}

// DescribeLogDirs: the top-level ErrorCode (v3) and the volume's bytes (v4)
// are ignorable, so an answer for an older client drops them (a refused
// call is then only an empty answer, as Kafka's); Topics null and empty
// stay apart at every version.
TEST(CodecRoundTripTest, DescribeLogDirsDropsItsNewerFieldsForOlderClients) {
  DescribeLogDirsResponse answer;
  answer.error_code = 31;  // CLUSTER_AUTHORIZATION_FAILED
  DescribeLogDirsResponse::Result& dir = answer.results.emplace_back();
  dir.log_dir = "/d";
  dir.total_bytes = 1 << 20;
  dir.usable_bytes = 1 << 19;
  for (int16_t v = 0; v <= 4; ++v) {
    std::string out;
    ASSERT_TRUE(Encode(v, answer, &out).ok()) << "v" << v;
    absl::StatusOr<DescribeLogDirsResponse> back = Decode<DescribeLogDirsResponse>(v, out);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->error_code, v >= 3 ? 31 : 0) << "v" << v;
    EXPECT_EQ(back->results[0].total_bytes, v >= 4 ? 1 << 20 : -1) << "v" << v;
    EXPECT_EQ(back->results[0].usable_bytes, v >= 4 ? 1 << 19 : -1) << "v" << v;

    for (const std::optional<std::vector<DescribeLogDirsRequest::Topic>>& topics :
         {std::optional<std::vector<DescribeLogDirsRequest::Topic>>(),
          std::optional(std::vector<DescribeLogDirsRequest::Topic>{})}) {
      DescribeLogDirsRequest request;
      request.topics = topics;
      std::string bytes;
      ASSERT_TRUE(Encode(v, request, &bytes).ok());
      absl::StatusOr<DescribeLogDirsRequest> decoded = Decode<DescribeLogDirsRequest>(v, bytes);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(decoded->topics, topics) << "v" << v;
    }
  }
}

// The ACL APIs: v0 has no pattern type. Kafka's default, LITERAL (3), is
// what a v0 message means, so it encodes at v0 (dropped) and decodes back;
// any other pattern type is not ignorable and refuses v0.
TEST(CodecRoundTripTest, AclPatternTypeIsLiteralBelowV1AndNotIgnorable) {
  DescribeAclsRequest describe;
  describe.resource_type_filter = 2;
  describe.resource_name_filter = "t";
  describe.operation = 1;
  describe.permission_type = 1;
  std::string v0, v1;
  ASSERT_TRUE(Encode(0, describe, &v0).ok());
  ASSERT_TRUE(Encode(1, describe, &v1).ok());
  EXPECT_EQ(v1.size(), v0.size() + 1) << "one int8 more";
  EXPECT_EQ(*Decode<DescribeAclsRequest>(0, v0), describe);
  EXPECT_EQ(Decode<DescribeAclsRequest>(0, v0)->pattern_type_filter, 3);
  describe.pattern_type_filter = 4;  // PREFIXED
  std::string out;
  EXPECT_FALSE(Encode(0, describe, &out).ok());
  for (int16_t v = 1; v <= 3; ++v) {
    out.clear();
    ASSERT_TRUE(Encode(v, describe, &out).ok()) << "v" << v;
    EXPECT_EQ(*Decode<DescribeAclsRequest>(v, out), describe) << "v" << v;
  }

  CreateAclsRequest create;
  create.creations = {{.resource_type = 2,
                       .resource_name = "t",
                       .resource_pattern_type = 4,
                       .principal = "User:alice",
                       .host = "*",
                       .operation = 4,
                       .permission_type = 3}};
  out.clear();
  EXPECT_FALSE(Encode(0, create, &out).ok());
  create.creations[0].resource_pattern_type = 3;
  out.clear();
  ASSERT_TRUE(Encode(0, create, &out).ok());
  EXPECT_EQ(*Decode<CreateAclsRequest>(0, out), create);

  DeleteAclsRequest remove;
  remove.filters.emplace_back().pattern_type_filter = 1;  // ANY
  out.clear();
  EXPECT_FALSE(Encode(0, remove, &out).ok());

  DeleteAclsResponse deleted;
  deleted.filter_results.emplace_back().matching_acls.emplace_back().pattern_type = 4;
  out.clear();
  EXPECT_FALSE(Encode(0, deleted, &out).ok());
  DescribeAclsResponse described;
  described.resources.emplace_back().pattern_type = 4;
  out.clear();
  EXPECT_FALSE(Encode(0, described, &out).ok());
  out.clear();
  ASSERT_TRUE(Encode(2, described, &out).ok());
  EXPECT_EQ(*Decode<DescribeAclsResponse>(2, out), described);
}

// SaslAuthenticate: SessionLifetimeMs is v1+ and ignorable (dropped at v0);
// v2 changes only the encoding.
TEST(CodecRoundTripTest, SaslAuthenticateDropsTheSessionLifetimeAtV0) {
  SaslAuthenticateResponse answer;
  answer.auth_bytes = std::string("v=\0\xff", 4);
  answer.session_lifetime_ms = 3600000;
  std::string v0, v1, v2;
  ASSERT_TRUE(Encode(0, answer, &v0).ok());
  ASSERT_TRUE(Encode(1, answer, &v1).ok());
  ASSERT_TRUE(Encode(2, answer, &v2).ok());
  EXPECT_EQ(v1.size(), v0.size() + 8);
  absl::StatusOr<SaslAuthenticateResponse> old = Decode<SaslAuthenticateResponse>(0, v0);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->session_lifetime_ms, 0);
  EXPECT_EQ(old->auth_bytes, answer.auth_bytes);
  EXPECT_EQ(*Decode<SaslAuthenticateResponse>(1, v1), answer);
  EXPECT_EQ(*Decode<SaslAuthenticateResponse>(2, v2), answer);
  EXPECT_NE(v2, v1);
}

// Nullable arrays: DescribeClientQuotas' Entries (null on error) and
// DescribeUserScramCredentials' Users (null = every user) keep null apart
// from empty; quota values are float64s, bit for bit.
TEST(CodecRoundTripTest, QuotaAndScramNullableArraysAndFloatValues) {
  DescribeClientQuotasResponse quotas;
  quotas.error_code = 42;
  quotas.error_message = "bad filter";
  quotas.entries = std::nullopt;
  for (int16_t v = 0; v <= 1; ++v) {
    std::string out;
    ASSERT_TRUE(Encode(v, quotas, &out).ok());
    absl::StatusOr<DescribeClientQuotasResponse> back =
        Decode<DescribeClientQuotasResponse>(v, out);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->entries, std::nullopt) << "v" << v;
  }
  quotas = DescribeClientQuotasResponse{};
  quotas.entries = {{{{"client-id", std::nullopt}},
                     {{"producer_byte_rate", 0.1}, {"request_percentage", -1.5e300}}}};
  for (int16_t v = 0; v <= 1; ++v) {
    std::string out;
    ASSERT_TRUE(Encode(v, quotas, &out).ok());
    EXPECT_EQ(*Decode<DescribeClientQuotasResponse>(v, out), quotas) << "v" << v;
  }

  DescribeUserScramCredentialsRequest all;
  all.users = std::nullopt;
  DescribeUserScramCredentialsRequest none;  // empty: also every user, per Kafka
  std::string null_bytes, empty_bytes;
  ASSERT_TRUE(Encode(0, all, &null_bytes).ok());
  ASSERT_TRUE(Encode(0, none, &empty_bytes).ok());
  EXPECT_NE(null_bytes, empty_bytes);
  EXPECT_EQ(Decode<DescribeUserScramCredentialsRequest>(0, null_bytes)->users, std::nullopt);
  EXPECT_EQ(Decode<DescribeUserScramCredentialsRequest>(0, empty_bytes)->users,
            std::vector<DescribeUserScramCredentialsRequest::User>{});
}

// A count that the bytes can hold may still describe objects far larger
// than the bytes: ListGroups v4's filter of empty compact strings is one
// byte each on the wire and a std::string each in memory. Decoding stays
// within its budget (1 MiB + 8 bytes per input byte) and refuses the rest.
TEST(CodecTest, DecodingRefusesObjectsFarLargerThanTheirBytes) {
  ListGroupsRequest small;
  small.states_filter.assign(1000, "");
  std::string bytes;
  ASSERT_TRUE(Encode(4, small, &bytes).ok());
  absl::StatusOr<ListGroupsRequest> decoded = Decode<ListGroupsRequest>(4, bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->states_filter.size(), 1000u);

  ListGroupsRequest huge;
  huge.states_filter.assign(4'000'000, "");  // ~4 MB on the wire, ~128 MB as strings
  bytes.clear();
  ASSERT_TRUE(Encode(4, huge, &bytes).ok());
  ASSERT_LT(bytes.size(), 5'000'000u);
  decoded = Decode<ListGroupsRequest>(4, bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(decoded.status())) << decoded.status();
  EXPECT_NE(decoded.status().message().find("memory"), std::string::npos) << decoded.status();
}


// A quota value is a float64 on the wire, and any 8 bytes arrive: a NaN
// decodes, encodes back to the same bytes and compares equal to itself
// (kafka_request_fuzzer found decode(encode(m)) != m with one). The broker
// refuses it as a quota (controller_security.cc), not the codec.
TEST(CodecRoundTripTest, AQuotaValueRoundTripsBitForBitEvenANaN) {
  AlterClientQuotasRequest alter;
  alter.entries = {{{{"user", "alice"}},
                    {{"consumer_byte_rate", std::numeric_limits<double>::quiet_NaN(), false},
                     {"producer_byte_rate", -0.0, false}}}};
  for (int16_t v = 0; v <= 1; ++v) {
    std::string bytes;
    ASSERT_TRUE(Encode(v, alter, &bytes).ok()) << "v" << v;
    absl::StatusOr<AlterClientQuotasRequest> back = Decode<AlterClientQuotasRequest>(v, bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, alter) << "v" << v;
    EXPECT_TRUE(std::isnan(back->entries[0].ops[0].value));
    EXPECT_TRUE(std::signbit(back->entries[0].ops[1].value));
  }
  // Bit for bit: -0.0 and 0.0 are different bytes, so different messages.
  AlterClientQuotasRequest zero = alter;
  zero.entries[0].ops[1].value = 0.0;
  EXPECT_NE(zero, alter);

  DescribeClientQuotasResponse described;
  described.entries = std::vector<DescribeClientQuotasResponse::Entry>{
      {{{"client-id", std::nullopt}}, {{"request_percentage", std::numeric_limits<double>::quiet_NaN()}}}};
  for (int16_t v = 0; v <= 1; ++v) {
    std::string bytes;
    ASSERT_TRUE(Encode(v, described, &bytes).ok()) << "v" << v;
    absl::StatusOr<DescribeClientQuotasResponse> back =
        Decode<DescribeClientQuotasResponse>(v, bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, described) << "v" << v;
  }
}

}  // namespace
}  // namespace strata::kafka
