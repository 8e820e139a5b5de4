// The security admin APIs between Kafka's structs and the request layer's:
// the mapping functions (codes, null vs empty, where whole-call errors go),
// and calls through the Dispatcher onto an AdminOps whose security calls a
// real controller decides against an image it commits to at once.
#include "broker/kafka/security_adapter.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "broker/metadata/controller.h"
#include "broker/request/access_control.h"
#include "broker/request/admin_ops.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

constexpr int16_t kNone = 0;
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kNotController = 41;

template <typename M>
bool Encodes(int16_t version, const M& message) {
  std::string out;
  absl::Status s = Encode(version, message, &out);
  EXPECT_TRUE(s.ok()) << s;
  return s.ok();
}

CreateAclsRequest::Creation Creation(std::string topic, int8_t operation = 4) {
  return {.resource_type = 2,
          .resource_name = std::move(topic),
          .resource_pattern_type = 3,
          .principal = "User:alice",
          .host = "*",
          .operation = operation,
          .permission_type = 3};
}

// --- The mapping ---

TEST(SecurityAdapterTest, CreateAclsMapsCodesAndPutsAWholeErrorOnEveryCreation) {
  CreateAclsRequest request;
  request.creations = {Creation("t1"), Creation("t2", 99)};
  metadata::CreateAclsRequest layer = ToRequestLayer(request, 3);
  ASSERT_EQ(layer.creations.size(), 2u);
  EXPECT_EQ(layer.creations[0].pattern.type, security::ResourceType::kTopic);
  EXPECT_EQ(layer.creations[0].pattern.pattern_type, security::PatternType::kLiteral);
  EXPECT_EQ(layer.creations[0].entry.operation, security::AclOperation::kWrite);
  EXPECT_EQ(layer.creations[0].entry.permission, security::AclPermissionType::kAllow);
  EXPECT_EQ(layer.creations[1].entry.operation, security::AclOperation::kUnknown)
      << "a code Kafka does not define is UNKNOWN";

  metadata::CreateAclsResponse answer;
  answer.results = {{ErrorCode::kNone, ""}, {ErrorCode::kInvalidRequest, "Invalid operation"}};
  CreateAclsResponse out = FromRequestLayer(request, answer, 3);
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0], (CreateAclsResponse::Result{kNone, std::nullopt}));
  EXPECT_EQ(out.results[1], (CreateAclsResponse::Result{kInvalidRequest, "Invalid operation"}));

  metadata::CreateAclsResponse whole;
  whole.error = ErrorCode::kNotController;
  whole.error_message = "no controller";
  out = FromRequestLayer(request, whole, 3);
  ASSERT_EQ(out.results.size(), 2u);
  for (const auto& r : out.results) EXPECT_EQ(r.error_code, kNotController);
  for (int16_t v = 0; v <= 3; ++v) EXPECT_TRUE(Encodes(v, out));
}

TEST(SecurityAdapterTest, DescribeAclsGroupsBindingsByPattern) {
  DescribeAclsRequest request;
  request.resource_type_filter = 1;
  request.pattern_type_filter = 1;
  request.operation = 1;
  request.permission_type = 1;
  request.principal_filter = "User:alice";
  metadata::DescribeAclsRequest layer = ToRequestLayer(request, 1);
  EXPECT_EQ(layer.filter.type, security::ResourceType::kAny);
  EXPECT_FALSE(layer.filter.name.has_value());
  EXPECT_EQ(layer.filter.principal, "User:alice");

  metadata::DescribeAclsResponse answer;
  metadata::CreateAclsRequest acls = ToRequestLayer(
      CreateAclsRequest{.creations = {Creation("a"), Creation("a", 3), Creation("b")}}, 3);
  answer.bindings = acls.creations;
  DescribeAclsResponse out = FromRequestLayer(request, answer, 1);
  EXPECT_EQ(out.error_code, kNone);
  ASSERT_EQ(out.resources.size(), 2u);
  EXPECT_EQ(out.resources[0].resource_name, "a");
  EXPECT_EQ(out.resources[0].acls.size(), 2u);
  EXPECT_EQ(out.resources[1].resource_name, "b");
  EXPECT_EQ(out.resources[1].acls[0].operation, 4);
  for (int16_t v = 0; v <= 3; ++v) EXPECT_TRUE(Encodes(v, out));

  metadata::DescribeAclsResponse refused;
  refused.error = ErrorCode::kInvalidRequest;
  refused.error_message = "Unknown patternFilter.";
  out = FromRequestLayer(request, refused, 1);
  EXPECT_EQ(out.error_code, kInvalidRequest);
  EXPECT_EQ(out.error_message, "Unknown patternFilter.");
}

TEST(SecurityAdapterTest, DeleteAclsAnswersEachFilterWithItsMatches) {
  DeleteAclsRequest request;
  request.filters.push_back({.resource_type_filter = 2,
                             .resource_name_filter = "t1",
                             .pattern_type_filter = 3,
                             .principal_filter = std::nullopt,
                             .host_filter = std::nullopt,
                             .operation = 1,
                             .permission_type = 1});
  request.filters.push_back({});
  metadata::DeleteAclsRequest layer = ToRequestLayer(request, 2);
  ASSERT_EQ(layer.filters.size(), 2u);
  EXPECT_EQ(layer.filters[0].name, "t1");
  EXPECT_EQ(layer.filters[1].type, security::ResourceType::kUnknown);

  metadata::DeleteAclsResponse answer;
  answer.results.resize(2);
  answer.results[0].matching =
      ToRequestLayer(CreateAclsRequest{.creations = {Creation("t1")}}, 3).creations;
  answer.results[1].error = ErrorCode::kInvalidRequest;
  answer.results[1].error_message = "Unknown patternFilter.";
  DeleteAclsResponse out = FromRequestLayer(request, answer, 2);
  ASSERT_EQ(out.filter_results.size(), 2u);
  ASSERT_EQ(out.filter_results[0].matching_acls.size(), 1u);
  EXPECT_EQ(out.filter_results[0].matching_acls[0].resource_name, "t1");
  EXPECT_EQ(out.filter_results[0].matching_acls[0].principal, "User:alice");
  EXPECT_EQ(out.filter_results[1].error_code, kInvalidRequest);
  for (int16_t v = 0; v <= 3; ++v) EXPECT_TRUE(Encodes(v, out));
}

TEST(SecurityAdapterTest, ClientQuotasKeepNullDefaultsAndRemovals) {
  AlterClientQuotasRequest request;
  request.entries.push_back(
      {.entity = {{"user", std::nullopt}, {"client-id", "app"}},
       .ops = {{"producer_byte_rate", 1024, false}, {"consumer_byte_rate", 0, true}}});
  request.validate_only = true;
  metadata::AlterClientQuotasRequest layer = ToRequestLayer(request, 1);
  EXPECT_TRUE(layer.validate_only);
  ASSERT_EQ(layer.entries.size(), 1u);
  EXPECT_EQ(layer.entries[0].entity[0].name, std::nullopt);
  EXPECT_EQ(layer.entries[0].entity[1].name, "app");
  EXPECT_EQ(layer.entries[0].ops[0].value, 1024);
  EXPECT_EQ(layer.entries[0].ops[1].value, std::nullopt);

  metadata::AlterClientQuotasResponse whole;
  whole.error = ErrorCode::kNotController;
  AlterClientQuotasResponse out = FromRequestLayer(request, whole, 1);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].error_code, kNotController);
  EXPECT_EQ(out.entries[0].entity[0].entity_name, std::nullopt) << "echoed as sent";
  for (int16_t v : {0, 1}) EXPECT_TRUE(Encodes(v, out));

  metadata::DescribeClientQuotasResponse described;
  described.entries.push_back({.entity = {{"user", "alice"}}, .values = {{"a", 1}, {"b", 2}}});
  DescribeClientQuotasResponse d = FromRequestLayer(DescribeClientQuotasRequest{}, described, 1);
  ASSERT_TRUE(d.entries.has_value());
  ASSERT_EQ(d.entries->size(), 1u);
  EXPECT_EQ((*d.entries)[0].values.size(), 2u);
  described.error = ErrorCode::kInvalidRequest;
  d = FromRequestLayer(DescribeClientQuotasRequest{}, described, 1);
  EXPECT_FALSE(d.entries.has_value()) << "null on error";
  for (int16_t v : {0, 1}) EXPECT_TRUE(Encodes(v, d));
}

TEST(SecurityAdapterTest, ScramUsersNullOrEmptyAreEveryUserAndAWholeErrorGoesToEachUser) {
  DescribeUserScramCredentialsRequest all;
  all.users = std::nullopt;
  EXPECT_FALSE(ToRequestLayer(all, 0).users.has_value());
  all.users.emplace();
  EXPECT_FALSE(ToRequestLayer(all, 0).users.has_value());
  all.users->push_back({"alice"});
  EXPECT_EQ(ToRequestLayer(all, 0).users, std::vector<std::string>{"alice"});

  AlterUserScramCredentialsRequest request;
  request.deletions.push_back({"bob", 2});
  request.upsertions.push_back({"alice", 1, 8192, "salt", "salted"});
  request.upsertions.push_back({"bob", 1, 8192, "salt", "salted"});
  metadata::AlterUserScramCredentialsRequest layer = ToRequestLayer(request, 0);
  EXPECT_EQ(layer.upsertions[0].salted_password, "salted");
  EXPECT_EQ(layer.deletions[0].mechanism, 2);
  metadata::AlterUserScramCredentialsResponse whole;
  whole.error = ErrorCode::kNotController;
  AlterUserScramCredentialsResponse out = FromRequestLayer(request, whole, 0);
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0].user, "bob");
  EXPECT_EQ(out.results[1].user, "alice");
  EXPECT_TRUE(Encodes(0, out));
}

// --- Through the Dispatcher ---

// The security calls decided by a real controller against an image that
// each decision is committed to at once; the other calls are not used.
class ImageAdminOps final : public request::AdminOps {
 public:
  template <typename Response>
  void Write(metadata::AlterSecurityRequest request, std::function<void(Response)> done) {
    metadata::Controller controller{metadata::ControllerOptions{}};
    metadata::Decision<metadata::AlterSecurityResponse> d =
        controller.AlterSecurity(*image_, request);
    auto next = image_->Apply(d.records, image_->offset() + 1);
    ASSERT_TRUE(next.ok()) << next.status();
    image_ = *next;
    done(std::get<Response>(std::move(d.response.op)));
  }
  void CreateAcls(metadata::CreateAclsRequest r,
                  std::function<void(metadata::CreateAclsResponse)> done) override {
    Write({.op = std::move(r)}, std::move(done));
  }
  void DeleteAcls(metadata::DeleteAclsRequest r,
                  std::function<void(metadata::DeleteAclsResponse)> done) override {
    Write({.op = std::move(r)}, std::move(done));
  }
  void AlterUserScramCredentials(
      metadata::AlterUserScramCredentialsRequest r,
      std::function<void(metadata::AlterUserScramCredentialsResponse)> done) override {
    Write({.op = std::move(r)}, std::move(done));
  }
  void AlterClientQuotas(metadata::AlterClientQuotasRequest r,
                         std::function<void(metadata::AlterClientQuotasResponse)> done) override {
    Write({.op = std::move(r)}, std::move(done));
  }
  metadata::DescribeAclsResponse DescribeAcls(const metadata::DescribeAclsRequest& r) override {
    return metadata::DescribeAcls(*image_, r);
  }
  metadata::DescribeUserScramCredentialsResponse DescribeUserScramCredentials(
      const metadata::DescribeUserScramCredentialsRequest& r) override {
    return metadata::DescribeUserScramCredentials(*image_, r);
  }
  metadata::DescribeClientQuotasResponse DescribeClientQuotas(
      const metadata::DescribeClientQuotasRequest& r) override {
    return metadata::DescribeClientQuotas(*image_, r);
  }

  // Not used here.
  void CreateTopics(metadata::CreateTopicsRequest,
                    std::function<void(metadata::CreateTopicsResponse)> done) override {
    done({});
  }
  void AutoCreateTopics(metadata::CreateTopicsRequest,
                        std::function<void(metadata::CreateTopicsResponse)> done) override {
    done({});
  }
  void CreateInternalTopics(metadata::CreateTopicsRequest,
                            std::function<void(metadata::CreateTopicsResponse)> done) override {
    done({});
  }
  void DeleteTopics(metadata::DeleteTopicsRequest,
                    std::function<void(metadata::DeleteTopicsResponse)> done) override {
    done({});
  }
  void CreatePartitions(metadata::CreatePartitionsRequest,
                        std::function<void(metadata::CreatePartitionsResponse)> done) override {
    done({});
  }
  void ElectLeaders(metadata::ElectLeadersRequest,
                    std::function<void(metadata::ElectLeadersResponse)> done) override {
    done({});
  }
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) override {
    done({});
  }
  void ListPartitionReassignments(
      request::ListPartitionReassignmentsRequest,
      std::function<void(request::ListPartitionReassignmentsResponse)> done) override {
    done({});
  }
  void UnregisterBroker(metadata::UnregisterBrokerRequest,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override {
    done({});
  }
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    done({});
  }
  void AlterConfigs(metadata::IncrementalAlterConfigsRequest,
                    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    done({});
  }
  void DescribeConfigs(request::DescribeConfigsRequest,
                       std::function<void(request::DescribeConfigsResponse)> done) override {
    done({});
  }

 private:
  std::shared_ptr<const metadata::MetadataImage> image_ = metadata::MetadataImage::Empty("c");
};

constexpr int32_t kCorrelationId = 9;

// Dispatches `message` and decodes the one answer.
template <typename Resp, typename M>
Resp Call(const Dispatcher& d, int16_t version, const M& message) {
  std::string frame = testing::RequestFrame(version, kCorrelationId, message);
  int count = 0;
  DispatchResult last;
  d.Dispatch({.peer = "127.0.0.1:1", .listener = "KAFKA"}, frame, [&](DispatchResult r) {
    ++count;
    last = std::move(r);
  });
  EXPECT_EQ(count, 1);
  EXPECT_FALSE(last.close) << last.reason;
  if (last.close) return Resp{};
  Reader r(std::string_view(last.response).substr(4));
  absl::StatusOr<int32_t> correlation =
      ReadResponseHeader(r, ResponseHeaderVersion(Resp::kApiKey, version));
  EXPECT_TRUE(correlation.ok());
  absl::StatusOr<Resp> body =
      Decode<Resp>(version, std::string_view(last.response).substr(4 + r.position()));
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : Resp{};
}

TEST(SecurityAdapterDispatchTest, AclsRoundTripThroughTheDispatcher) {
  ImageAdminOps admin;
  Dispatcher d({.admin = &admin});
  CreateAclsResponse created = Call<CreateAclsResponse>(
      d, 3, CreateAclsRequest{.creations = {Creation("t1"), Creation("t1", 0)}});
  ASSERT_EQ(created.results.size(), 2u);
  EXPECT_EQ(created.results[0].error_code, kNone);
  EXPECT_EQ(created.results[1].error_code, kInvalidRequest);

  DescribeAclsRequest any{.resource_type_filter = 1,
                          .resource_name_filter = std::nullopt,
                          .pattern_type_filter = 1,
                          .principal_filter = std::nullopt,
                          .host_filter = std::nullopt,
                          .operation = 1,
                          .permission_type = 1};
  DescribeAclsResponse described = Call<DescribeAclsResponse>(d, 2, any);
  ASSERT_EQ(described.resources.size(), 1u);
  EXPECT_EQ(described.resources[0].resource_name, "t1");

  DeleteAclsResponse deleted =
      Call<DeleteAclsResponse>(d, 3,
                               DeleteAclsRequest{.filters = {{.resource_type_filter = 2,
                                                              .resource_name_filter = std::nullopt,
                                                              .pattern_type_filter = 1,
                                                              .principal_filter = "User:alice",
                                                              .host_filter = std::nullopt,
                                                              .operation = 1,
                                                              .permission_type = 1}}});
  ASSERT_EQ(deleted.filter_results.size(), 1u);
  EXPECT_EQ(deleted.filter_results[0].matching_acls.size(), 1u);
  EXPECT_TRUE(Call<DescribeAclsResponse>(d, 2, any).resources.empty());
}

TEST(SecurityAdapterDispatchTest, ScramAndQuotasRoundTripThroughTheDispatcher) {
  ImageAdminOps admin;
  Dispatcher d({.admin = &admin});
  AlterUserScramCredentialsResponse altered = Call<AlterUserScramCredentialsResponse>(
      d, 0,
      AlterUserScramCredentialsRequest{
          .deletions = {}, .upsertions = {{"alice", 1, 8192, "salt", std::string(32, 'k')}}});
  ASSERT_EQ(altered.results.size(), 1u);
  EXPECT_EQ(altered.results[0].error_code, kNone);
  DescribeUserScramCredentialsResponse scram =
      Call<DescribeUserScramCredentialsResponse>(d, 0, DescribeUserScramCredentialsRequest{});
  ASSERT_EQ(scram.results.size(), 1u);
  EXPECT_EQ(scram.results[0].user, "alice");
  EXPECT_EQ(scram.results[0].credential_infos,
            (std::vector<DescribeUserScramCredentialsResponse::CredentialInfo>{{1, 8192}}));

  AlterClientQuotasResponse quotas = Call<AlterClientQuotasResponse>(
      d, 1,
      AlterClientQuotasRequest{
          .entries = {{.entity = {{"user", "alice"}}, .ops = {{"producer_byte_rate", 5e6, false}}}},
          .validate_only = false});
  ASSERT_EQ(quotas.entries.size(), 1u);
  EXPECT_EQ(quotas.entries[0].error_code, kNone);
  DescribeClientQuotasResponse described = Call<DescribeClientQuotasResponse>(
      d, 1, DescribeClientQuotasRequest{.components = {{"user", 0, "alice"}}, .strict = false});
  ASSERT_TRUE(described.entries.has_value());
  ASSERT_EQ(described.entries->size(), 1u);
  EXPECT_EQ((*described.entries)[0].values,
            (std::vector<DescribeClientQuotasResponse::Value>{{"producer_byte_rate", 5e6}}));
}

// With an authorizer that allows this (anonymous) session nothing, every
// security admin API is refused CLUSTER_AUTHORIZATION_FAILED (31) by the
// request layer, and nothing reaches the admin operations.
TEST(SecurityAdapterDispatchTest, WithoutClusterPermissionsEveryCallIsRefused) {
  ImageAdminOps admin;
  request::AccessControl deny({.enabled = true, .authorizer = {}, .acls = nullptr});
  Dispatcher d({.admin = &admin, .access = &deny});
  constexpr int16_t kClusterDenied = 31;
  CreateAclsResponse created =
      Call<CreateAclsResponse>(d, 3, CreateAclsRequest{.creations = {Creation("t1")}});
  ASSERT_EQ(created.results.size(), 1u);
  EXPECT_EQ(created.results[0].error_code, kClusterDenied);
  DescribeAclsResponse described =
      Call<DescribeAclsResponse>(d, 2,
                                 DescribeAclsRequest{.resource_type_filter = 1,
                                                     .resource_name_filter = std::nullopt,
                                                     .pattern_type_filter = 1,
                                                     .principal_filter = std::nullopt,
                                                     .host_filter = std::nullopt,
                                                     .operation = 1,
                                                     .permission_type = 1});
  EXPECT_EQ(described.error_code, kClusterDenied);
  AlterUserScramCredentialsResponse altered = Call<AlterUserScramCredentialsResponse>(
      d, 0,
      AlterUserScramCredentialsRequest{
          .deletions = {}, .upsertions = {{"alice", 1, 8192, "salt", std::string(32, 'k')}}});
  ASSERT_EQ(altered.results.size(), 1u);
  EXPECT_EQ(altered.results[0].error_code, kClusterDenied);
  EXPECT_EQ(Call<DescribeUserScramCredentialsResponse>(d, 0, DescribeUserScramCredentialsRequest{})
                .error_code,
            kClusterDenied);
  AlterClientQuotasResponse quotas = Call<AlterClientQuotasResponse>(
      d, 1,
      AlterClientQuotasRequest{
          .entries = {{.entity = {{"user", "alice"}}, .ops = {{"producer_byte_rate", 5e6, false}}}},
          .validate_only = false});
  ASSERT_EQ(quotas.entries.size(), 1u);
  EXPECT_EQ(quotas.entries[0].error_code, kClusterDenied);
  EXPECT_EQ(Call<DescribeClientQuotasResponse>(
                d, 1, DescribeClientQuotasRequest{.components = {}, .strict = false})
                .error_code,
            kClusterDenied);
  // Nothing was written.
  EXPECT_TRUE(Call<DescribeUserScramCredentialsResponse>(Dispatcher({.admin = &admin}), 0,
                                                         DescribeUserScramCredentialsRequest{})
                  .results.empty());
}

}  // namespace
}  // namespace strata::kafka
