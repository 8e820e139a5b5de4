// ACLs, SCRAM credentials and client quotas in the metadata log (issue 16):
// the controller's decisions (controller_security.cc), the image's records
// and snapshot, and the reads answered from an image (security_admin.h).
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/metadata/controller.h"
#include "broker/metadata/metadata_image.h"
#include "broker/metadata/security_admin.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::security {
// For gtest's messages.
inline void PrintTo(const AclBinding& b, std::ostream* os) { *os << ToString(b); }
}  // namespace strata::security

namespace strata::metadata {
namespace {

using security::AclBinding;
using security::AclBindingFilter;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourceType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

AclBinding Acl(ResourceType type, std::string name, std::string principal, AclOperation op,
               PatternType pattern = PatternType::kLiteral,
               AclPermissionType permission = AclPermissionType::kAllow, std::string host = "*") {
  return AclBinding{{type, std::move(name), pattern},
                    {std::move(principal), std::move(host), op, permission}};
}

std::string SaltedPassword(security::ScramMechanism m, const std::string& password,
                           const std::string& salt, int iterations) {
  std::string out(m == security::ScramMechanism::kSha256 ? 32 : 64, '\0');
  EXPECT_EQ(PKCS5_PBKDF2_HMAC(
                password.data(), static_cast<int>(password.size()),
                reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                iterations, m == security::ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512(),
                static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())),
            1);
  return out;
}

ScramCredentialUpsertion Upsert(std::string user, int32_t mechanism, int32_t iterations,
                                const std::string& password = "alice-secret",
                                std::string salt = "0123456789abcdef") {
  const std::optional<security::ScramMechanism> m = ScramMechanismOfCode(mechanism);
  return ScramCredentialUpsertion{
      .user = std::move(user),
      .mechanism = mechanism,
      .iterations = iterations,
      .salt = salt,
      .salted_password = m ? SaltedPassword(*m, password, salt, iterations) : "x",
  };
}

QuotaEntityPart User(std::optional<std::string> name) { return {kQuotaEntityUser, name}; }
QuotaEntityPart Client(std::optional<std::string> name) { return {kQuotaEntityClientId, name}; }

class SecurityTest : public ::testing::Test {
 protected:
  SecurityTest() : controller_(ControllerOptions{}) {}

  // Decides `request` against the image and commits what it wrote; the
  // image must then show the answer.
  template <typename Request>
  auto Decide(Request request) {
    AlterSecurityRequest whole{.op = std::move(request)};
    Decision<AlterSecurityResponse> d = controller_.AlterSecurity(*image_, whole);
    records_ = d.records.records_size();
    auto next = image_->Apply(d.records, image_->offset() + 1);
    EXPECT_TRUE(next.ok()) << next.status();
    if (next.ok()) image_ = *next;
    EXPECT_TRUE(ImageShows(*image_, whole, d.response));
    return std::get<SecurityResponseOf<Request>>(d.response.op);
  }

  Controller controller_;
  std::shared_ptr<const MetadataImage> image_ = MetadataImage::Empty("cluster-a");
  int records_ = 0;  // written by the last Decide
};

TEST_F(SecurityTest, CreateAclsStoresValidBindingsOnce) {
  const AclBinding write = Acl(ResourceType::kTopic, "t1", "User:alice", AclOperation::kWrite);
  const AclBinding read = Acl(ResourceType::kGroup, "g", "User:bob", AclOperation::kRead,
                              PatternType::kPrefixed, AclPermissionType::kDeny, "10.0.0.1");
  CreateAclsResponse r = Decide(CreateAclsRequest{.creations = {write, read, write}});
  ASSERT_EQ(r.results.size(), 3u);
  for (const AclCreationResult& c : r.results) EXPECT_EQ(c.error, ErrorCode::kNone);
  EXPECT_EQ(records_, 2) << "the same binding twice in a request is written once";
  EXPECT_THAT(image_->acls()->bindings(), ElementsAre(write, read));

  // Creating what exists succeeds and writes nothing (Kafka's CreateAcls).
  r = Decide(CreateAclsRequest{.creations = {read}});
  EXPECT_EQ(r.results.at(0).error, ErrorCode::kNone);
  EXPECT_EQ(records_, 0);
}

TEST_F(SecurityTest, CreateAclsRefusesInvalidBindingsOneByOne) {
  const AclBinding ok =
      Acl(ResourceType::kCluster, "kafka-cluster", "User:a", AclOperation::kAlter);
  const AclBinding match =
      Acl(ResourceType::kTopic, "t", "User:a", AclOperation::kRead, PatternType::kMatch);
  const AclBinding empty_name = Acl(ResourceType::kTopic, "", "User:a", AclOperation::kRead);
  const AclBinding any_op = Acl(ResourceType::kTopic, "t", "User:a", AclOperation::kAny);
  CreateAclsResponse r = Decide(CreateAclsRequest{.creations = {match, ok, empty_name, any_op}});
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_EQ(r.results[0].error, ErrorCode::kInvalidRequest);
  EXPECT_THAT(r.results[0].error_message, HasSubstr("MATCH"));
  EXPECT_EQ(r.results[1].error, ErrorCode::kNone);
  EXPECT_EQ(r.results[2].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.results[3].error, ErrorCode::kInvalidRequest);
  EXPECT_THAT(image_->acls()->bindings(), ElementsAre(ok));
}

TEST_F(SecurityTest, DeleteAclsAnswersAndRemovesEachFiltersMatches) {
  const AclBinding a = Acl(ResourceType::kTopic, "t1", "User:alice", AclOperation::kWrite);
  const AclBinding b = Acl(ResourceType::kTopic, "t1", "User:bob", AclOperation::kRead);
  const AclBinding c = Acl(ResourceType::kGroup, "g1", "User:alice", AclOperation::kRead);
  Decide(CreateAclsRequest{.creations = {a, b, c}});

  AclBindingFilter alice;
  alice.principal = "User:alice";
  AclBindingFilter topic_t1;
  topic_t1.type = ResourceType::kTopic;
  topic_t1.name = "t1";
  topic_t1.pattern_type = PatternType::kLiteral;
  AclBindingFilter unknown;
  unknown.operation = AclOperation::kUnknown;
  DeleteAclsResponse r = Decide(DeleteAclsRequest{.filters = {alice, topic_t1, unknown}});
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].error, ErrorCode::kNone);
  EXPECT_THAT(r.results[0].matching, ElementsAre(a, c));
  EXPECT_THAT(r.results[1].matching, ElementsAre(a, b)) << "a is answered for both filters";
  EXPECT_EQ(r.results[2].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(records_, 3) << "and removed once";
  EXPECT_THAT(image_->acls()->bindings(), IsEmpty());

  // Nothing left to match: an empty answer, nothing written.
  r = Decide(DeleteAclsRequest{.filters = {AclBindingFilter::Any()}});
  EXPECT_THAT(r.results.at(0).matching, IsEmpty());
  EXPECT_EQ(records_, 0);
}

TEST_F(SecurityTest, DescribeAclsFiltersTheImage) {
  const AclBinding a = Acl(ResourceType::kTopic, "orders", "User:alice", AclOperation::kWrite);
  const AclBinding p =
      Acl(ResourceType::kTopic, "ord", "User:bob", AclOperation::kRead, PatternType::kPrefixed);
  const AclBinding g = Acl(ResourceType::kGroup, "g1", "User:alice", AclOperation::kRead);
  Decide(CreateAclsRequest{.creations = {a, p, g}});

  DescribeAclsResponse all = DescribeAcls(*image_, {AclBindingFilter::Any()});
  EXPECT_EQ(all.error, ErrorCode::kNone);
  EXPECT_EQ(all.bindings.size(), 3u);

  AclBindingFilter match;
  match.type = ResourceType::kTopic;
  match.name = "orders";
  match.pattern_type = PatternType::kMatch;
  EXPECT_THAT(DescribeAcls(*image_, {match}).bindings, ElementsAre(p, a)) << "sorted by pattern";

  AclBindingFilter bad;
  bad.type = ResourceType::kUnknown;
  EXPECT_EQ(DescribeAcls(*image_, {bad}).error, ErrorCode::kInvalidRequest);
}

TEST_F(SecurityTest, AclSnapshotIsSharedUntilAclsChange) {
  Decide(CreateAclsRequest{
      .creations = {Acl(ResourceType::kTopic, "t", "User:a", AclOperation::kRead)}});
  const std::shared_ptr<const security::AclSnapshot> before = image_->acls();
  const std::shared_ptr<const ScramCredentials> scram = image_->scram_credentials();
  const std::shared_ptr<const ClientQuotas> quotas = image_->client_quotas();
  // A batch with no security record copies the pointers, not the contents.
  image_ = *image_->Apply(internal::MetadataRecordBatch(), image_->offset() + 1);
  EXPECT_EQ(image_->acls(), before);
  EXPECT_EQ(image_->scram_credentials(), scram);
  EXPECT_EQ(image_->client_quotas(), quotas);
  Decide(CreateAclsRequest{
      .creations = {Acl(ResourceType::kTopic, "u", "User:a", AclOperation::kRead)}});
  EXPECT_NE(image_->acls(), before);
  EXPECT_EQ(before->bindings().size(), 1u) << "an old snapshot stays as it was";
}

TEST_F(SecurityTest, ScramUpsertionStoresTheKeysOfTheSaltedPassword) {
  AlterUserScramCredentialsResponse r = Decide(AlterUserScramCredentialsRequest{
      .deletions = {}, .upsertions = {Upsert("alice", 1, 8192), Upsert("bob", 2, 4096, "b")}});
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].user, "alice");
  EXPECT_EQ(r.results[0].error, ErrorCode::kNone);
  EXPECT_EQ(r.results[1].user, "bob");

  // The same keys the password gives with the same salt: a SCRAM server
  // with this credential accepts the password.
  std::optional<security::ScramCredential> stored =
      image_->ScramCredential("alice", security::ScramMechanism::kSha256);
  ASSERT_TRUE(stored.has_value());
  absl::StatusOr<security::ScramCredential> expected = security::MakeScramCredential(
      security::ScramMechanism::kSha256, "alice-secret", 8192, "0123456789abcdef");
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(stored->salt, expected->salt);
  EXPECT_EQ(stored->stored_key, expected->stored_key);
  EXPECT_EQ(stored->server_key, expected->server_key);
  EXPECT_EQ(stored->iterations, 8192);
  EXPECT_FALSE(image_->ScramCredential("alice", security::ScramMechanism::kSha512));
  EXPECT_TRUE(image_->ScramCredential("bob", security::ScramMechanism::kSha512));

  // Replaced by a later upsertion; removed by a deletion.
  Decide(AlterUserScramCredentialsRequest{.deletions = {},
                                          .upsertions = {Upsert("alice", 1, 4096, "new")}});
  EXPECT_EQ(image_->ScramCredential("alice", security::ScramMechanism::kSha256)->iterations, 4096);
  r = Decide(AlterUserScramCredentialsRequest{.deletions = {{"alice", 1}}, .upsertions = {}});
  EXPECT_EQ(r.results.at(0).error, ErrorCode::kNone);
  EXPECT_FALSE(image_->ScramCredential("alice", security::ScramMechanism::kSha256));
}

TEST_F(SecurityTest, ScramAlterationsAreRefusedWithKafkasErrors) {
  Decide(
      AlterUserScramCredentialsRequest{.deletions = {}, .upsertions = {Upsert("carol", 1, 4096)}});
  AlterUserScramCredentialsResponse r = Decide(AlterUserScramCredentialsRequest{
      .deletions = {{"nobody", 1}, {"carol", 1}, {"dave", 7}},
      .upsertions = {Upsert("few", 1, 1024), Upsert("many", 2, 20000), Upsert("", 1, 4096),
                     Upsert("carol", 2, 4096), Upsert("ok", 2, 4096)}});
  std::map<std::string, AlterUserScramCredentialResult> by_user;
  std::vector<std::string> order;
  for (const AlterUserScramCredentialResult& res : r.results) {
    by_user[res.user] = res;
    order.push_back(res.user);
  }
  // Successes first, errors after (Kafka's order), each in request order.
  EXPECT_THAT(order, ElementsAre("ok", "nobody", "carol", "dave", "few", "many", ""));
  EXPECT_EQ(by_user["ok"].error, ErrorCode::kNone);
  EXPECT_EQ(by_user["nobody"].error, ErrorCode::kResourceNotFound);
  EXPECT_EQ(by_user["carol"].error, ErrorCode::kDuplicateResource);
  EXPECT_EQ(by_user["dave"].error, ErrorCode::kUnsupportedSaslMechanism);
  EXPECT_EQ(by_user["few"].error, ErrorCode::kUnacceptableCredential);
  EXPECT_EQ(by_user["few"].error_message, "Too few iterations");
  EXPECT_EQ(by_user["many"].error, ErrorCode::kUnacceptableCredential);
  EXPECT_EQ(by_user["many"].error_message, "Too many iterations");
  EXPECT_EQ(by_user[""].error, ErrorCode::kUnacceptableCredential);
  EXPECT_EQ(records_, 1) << "only ok's credential";
  EXPECT_TRUE(image_->ScramCredential("carol", security::ScramMechanism::kSha256))
      << "a refused user keeps what it had";
}

TEST_F(SecurityTest, DescribeUserScramCredentials) {
  Decide(AlterUserScramCredentialsRequest{
      .deletions = {}, .upsertions = {Upsert("bob", 1, 4096), Upsert("alice", 2, 8192)}});
  Decide(
      AlterUserScramCredentialsRequest{.deletions = {}, .upsertions = {Upsert("alice", 1, 4096)}});
  DescribeUserScramCredentialsResponse all = DescribeUserScramCredentials(*image_, {});
  ASSERT_EQ(all.results.size(), 2u);
  EXPECT_EQ(all.results[0].user, "alice");
  ASSERT_EQ(all.results[0].credentials.size(), 2u);
  EXPECT_EQ(all.results[0].credentials[0].mechanism, 1);
  EXPECT_EQ(all.results[0].credentials[0].iterations, 4096);
  EXPECT_EQ(all.results[0].credentials[1].mechanism, 2);
  EXPECT_EQ(all.results[0].credentials[1].iterations, 8192);
  EXPECT_EQ(all.results[1].user, "bob");

  DescribeUserScramCredentialsResponse some = DescribeUserScramCredentials(
      *image_, {.users = std::vector<std::string>{"bob", "zed", "alice", "alice"}});
  ASSERT_EQ(some.results.size(), 3u);
  EXPECT_EQ(some.results[0].user, "bob");
  EXPECT_EQ(some.results[0].error, ErrorCode::kNone);
  EXPECT_EQ(some.results[1].error, ErrorCode::kResourceNotFound);
  EXPECT_EQ(some.results[1].error_message,
            "Attempt to describe a user credential that does not exist: zed");
  EXPECT_EQ(some.results[2].error, ErrorCode::kDuplicateResource);
}

TEST_F(SecurityTest, ClientQuotasAreSetChangedAndRemoved) {
  AlterClientQuotasResponse r = Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("alice")},
                   .ops = {{kProducerByteRate, 5242880}, {kConsumerByteRate, 1048576}}},
                  {.entity = {Client(std::nullopt)}, .ops = {{kRequestPercentage, 50}}},
                  {.entity = {Client("app"), User(std::nullopt)},
                   .ops = {{kControllerMutationRate, 2.5}}}},
      .validate_only = false});
  ASSERT_EQ(r.results.size(), 3u);
  for (const auto& e : r.results) EXPECT_EQ(e.error, ErrorCode::kNone) << e.error_message;
  EXPECT_EQ(records_, 4);
  const ClientQuotas& q = *image_->client_quotas();
  ASSERT_EQ(q.size(), 3u);
  // Users first (the default before names), then clients.
  EXPECT_TRUE(q[0].first.user_default);
  EXPECT_EQ(q[0].first.client_id, "app");
  EXPECT_EQ(q[1].first.user, "alice");
  EXPECT_FALSE(q[1].first.has_client_id());
  EXPECT_EQ(q[1].second.at(kProducerByteRate), 5242880);
  EXPECT_TRUE(q[2].first.client_default);
  EXPECT_FALSE(q[2].first.has_user());

  // An unchanged value writes nothing; a removal of what is not set
  // neither; removing the last key removes the entity.
  r = Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("alice")},
                   .ops = {{kProducerByteRate, 5242880}, {kRequestPercentage, std::nullopt}}}},
      .validate_only = false});
  EXPECT_EQ(r.results.at(0).error, ErrorCode::kNone);
  EXPECT_EQ(records_, 0);
  Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("alice")},
                   .ops = {{kProducerByteRate, std::nullopt}, {kConsumerByteRate, std::nullopt}}}},
      .validate_only = false});
  EXPECT_EQ(records_, 2);
  EXPECT_EQ(image_->client_quotas()->size(), 2u);

  // validate_only answers and writes nothing.
  r = Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("bob")}, .ops = {{kProducerByteRate, 1}}}},
      .validate_only = true});
  EXPECT_EQ(r.results.at(0).error, ErrorCode::kNone);
  EXPECT_EQ(records_, 0);
}

TEST_F(SecurityTest, ClientQuotaAlterationsAreValidated) {
  auto refused = [this](ClientQuotaAlteration entry, const std::string& message) {
    AlterClientQuotasResponse r =
        Decide(AlterClientQuotasRequest{.entries = {std::move(entry)}, .validate_only = false});
    ASSERT_EQ(r.results.size(), 1u);
    EXPECT_EQ(r.results[0].error, ErrorCode::kInvalidRequest);
    EXPECT_THAT(r.results[0].error_message, HasSubstr(message));
    EXPECT_EQ(records_, 0);
  };
  refused({.entity = {}, .ops = {{kProducerByteRate, 1}}}, "Invalid empty client quota entity");
  refused({.entity = {User("a"), User("b")}, .ops = {}}, "duplicate entity entry user");
  refused({.entity = {{"ip", "1.2.3.4"}}, .ops = {}}, "ip is not supported");
  refused({.entity = {{"group", "g"}}, .ops = {}}, "Unhandled client quota entity type: group");
  refused({.entity = {User("")}, .ops = {}}, "Empty user not supported");
  refused({.entity = {User("a")}, .ops = {{"bogus", 1}}}, "Invalid configuration key bogus");
  refused({.entity = {User("a")}, .ops = {{kProducerByteRate, 1.5}}}, "must be a Long value");
  refused({.entity = {User("a")}, .ops = {{kRequestPercentage, 0}}}, "greater than 0");
  refused({.entity = {User("a")}, .ops = {{kConsumerByteRate, -1}}}, "at least 0");
  refused({.entity = {User("a")}, .ops = {{kConsumerByteRate, 1}, {kConsumerByteRate, 2}}},
          "Duplicate quota key consumer_byte_rate");

  // The same entity twice (parts in any order) is refused both times.
  AlterClientQuotasResponse r = Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("u"), Client("c")}, .ops = {{kProducerByteRate, 1}}},
                  {.entity = {Client("c"), User("u")}, .ops = {{kConsumerByteRate, 1}}},
                  {.entity = {User("v")}, .ops = {{kConsumerByteRate, 1}}}},
      .validate_only = false});
  EXPECT_EQ(r.results[0].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.results[1].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.results[2].error, ErrorCode::kNone);
  EXPECT_EQ(r.results[1].entity[0].type, kQuotaEntityClientId) << "the entity as given";
  EXPECT_EQ(records_, 1);
}

TEST_F(SecurityTest, DescribeClientQuotasMatchesAsKafkasImage) {
  Decide(AlterClientQuotasRequest{
      .entries = {{.entity = {User("alice")}, .ops = {{kProducerByteRate, 1}}},
                  {.entity = {User(std::nullopt)}, .ops = {{kProducerByteRate, 2}}},
                  {.entity = {User("alice"), Client("app")}, .ops = {{kProducerByteRate, 3}}},
                  {.entity = {Client("app")}, .ops = {{kProducerByteRate, 4}}}},
      .validate_only = false});
  auto values = [this](std::vector<QuotaFilterComponent> components, bool strict) {
    DescribeClientQuotasResponse r = DescribeClientQuotas(*image_, {components, strict});
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_message;
    std::vector<double> out;
    for (const ClientQuotaEntry& e : r.entries) out.push_back(e.values.at(kProducerByteRate));
    return out;
  };
  using M = QuotaMatchType;
  auto component = [](std::string type, M match, std::optional<std::string> name = {}) {
    return QuotaFilterComponent{std::move(type), static_cast<int32_t>(match), std::move(name)};
  };
  EXPECT_THAT(values({}, false), ElementsAre(2, 1, 3, 4));
  EXPECT_THAT(values({}, true), IsEmpty());
  EXPECT_THAT(values({component("user", M::kExact, "alice")}, false), ElementsAre(1, 3));
  EXPECT_THAT(values({component("user", M::kExact, "alice")}, true), ElementsAre(1));
  EXPECT_THAT(values({component("user", M::kDefault)}, true), ElementsAre(2));
  EXPECT_THAT(values({component("user", M::kSpecified)}, true), ElementsAre(2, 1));
  EXPECT_THAT(values({component("client-id", M::kSpecified)}, false), ElementsAre(3, 4));
  EXPECT_THAT(
      values({component("user", M::kExact, "alice"), component("client-id", M::kSpecified)}, true),
      ElementsAre(3));

  auto error = [this](std::vector<QuotaFilterComponent> components) {
    return DescribeClientQuotas(*image_, {std::move(components), false}).error;
  };
  EXPECT_EQ(error({component("user", M::kExact)}), ErrorCode::kInvalidRequest);
  EXPECT_EQ(error({component("user", M::kDefault, "x")}), ErrorCode::kInvalidRequest);
  EXPECT_EQ(error({component("user", M::kSpecified), component("user", M::kDefault)}),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(error({component("", M::kSpecified)}), ErrorCode::kInvalidRequest);
  EXPECT_EQ(error({component("group", M::kSpecified)}), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(error({component("ip", M::kSpecified), component("user", M::kSpecified)}),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(error({QuotaFilterComponent{"user", 7, std::nullopt}}), ErrorCode::kInvalidRequest);
}

TEST_F(SecurityTest, SnapshotCarriesAclsCredentialsAndQuotas) {
  Decide(CreateAclsRequest{
      .creations = {Acl(ResourceType::kTopic, "t", "User:a", AclOperation::kRead),
                    Acl(ResourceType::kTransactionalId, "tx", "User:b", AclOperation::kWrite,
                        PatternType::kPrefixed, AclPermissionType::kDeny)}});
  Decide(
      AlterUserScramCredentialsRequest{.deletions = {}, .upsertions = {Upsert("alice", 2, 10000)}});
  Decide(AlterClientQuotasRequest{.entries = {{.entity = {User(std::nullopt), Client(std::nullopt)},
                                               .ops = {{kConsumerByteRate, 7}}}},
                                  .validate_only = false});
  auto restored = MetadataImage::FromSnapshot(image_->ToSnapshot(), image_->offset());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->acls()->bindings(), image_->acls()->bindings());
  ASSERT_EQ((*restored)->scram_credentials()->size(), 1u);
  const security::ScramCredential& c = (*restored)->scram_credentials()->begin()->second;
  const security::ScramCredential& was = image_->scram_credentials()->begin()->second;
  EXPECT_EQ((*restored)->scram_credentials()->begin()->first,
            image_->scram_credentials()->begin()->first);
  EXPECT_EQ(c.salt, was.salt);
  EXPECT_EQ(c.stored_key, was.stored_key);
  EXPECT_EQ(c.server_key, was.server_key);
  EXPECT_EQ(c.iterations, 10000);
  ASSERT_EQ((*restored)->client_quotas()->size(), 1u);
  EXPECT_TRUE(SameQuotaEntity((*restored)->client_quotas()->at(0).first,
                              image_->client_quotas()->at(0).first));
  EXPECT_EQ((*restored)->client_quotas()->at(0).second, image_->client_quotas()->at(0).second);
}

TEST_F(SecurityTest, RecordsThatDoNotFitTheImageAreRefused) {
  auto refused = [this](internal::MetadataRecord record) {
    internal::MetadataRecordBatch batch;
    *batch.add_records() = std::move(record);
    return !image_->Apply(batch, image_->offset() + 1).ok();
  };
  internal::MetadataRecord remove_acl;
  SetRecordBinding(Acl(ResourceType::kTopic, "t", "User:a", AclOperation::kRead),
                   remove_acl.mutable_remove_access_control_entry());
  EXPECT_TRUE(refused(remove_acl)) << "no such binding";
  internal::MetadataRecord bad_acl;
  SetRecordBinding(Acl(ResourceType::kAny, "t", "User:a", AclOperation::kRead),
                   bad_acl.mutable_access_control_entry());
  EXPECT_TRUE(refused(bad_acl));
  internal::MetadataRecord remove_scram;
  remove_scram.mutable_remove_user_scram_credential()->set_name("nobody");
  remove_scram.mutable_remove_user_scram_credential()->set_mechanism(1);
  EXPECT_TRUE(refused(remove_scram));
  internal::MetadataRecord quota;
  quota.mutable_client_quota()->set_key(kProducerByteRate);
  EXPECT_TRUE(refused(quota)) << "no entity";
}

TEST_F(SecurityTest, AFailedWholeCallAnswersInTheRequestsCase) {
  AlterSecurityRequest request{.op = DeleteAclsRequest{}};
  AlterSecurityResponse response;
  FailWhole(request, ErrorCode::kNotController, "no controller", &response);
  ASSERT_TRUE(std::holds_alternative<DeleteAclsResponse>(response.op));
  EXPECT_EQ(std::get<DeleteAclsResponse>(response.op).error, ErrorCode::kNotController);
  EXPECT_TRUE(ImageShows(*image_, request, response));
  CreateAclsResponse wrong = ResponseOf<CreateAclsResponse>(response, "CreateAcls");
  EXPECT_EQ(wrong.error, ErrorCode::kUnknownServerError);
}

}  // namespace
}  // namespace strata::metadata
