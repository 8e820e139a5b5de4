// The ACL model: names, printing, validation, filter matching.
#include "broker/security/acl.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::security {
namespace {

AclBinding Binding(ResourceType type, std::string name, PatternType pattern_type,
                   std::string principal = "User:alice", AclOperation op = AclOperation::kRead,
                   AclPermissionType permission = AclPermissionType::kAllow,
                   std::string host = "*") {
  return AclBinding{ResourcePattern{type, std::move(name), pattern_type},
                    AccessControlEntry{std::move(principal), std::move(host), op, permission}};
}

TEST(AclNamesTest, WireCodes) {
  EXPECT_EQ(static_cast<int>(ResourceType::kTopic), 2);
  EXPECT_EQ(static_cast<int>(ResourceType::kUser), 7);
  EXPECT_EQ(static_cast<int>(PatternType::kPrefixed), 4);
  EXPECT_EQ(static_cast<int>(AclOperation::kIdempotentWrite), 12);
  EXPECT_EQ(static_cast<int>(AclOperation::kDescribeTokens), 14);
  EXPECT_EQ(static_cast<int>(AclPermissionType::kAllow), 3);
}

TEST(AclNamesTest, PrintedNames) {
  EXPECT_EQ(ResourceTypeName(ResourceType::kTopic), "Topic");
  EXPECT_EQ(ResourceTypeName(ResourceType::kTransactionalId), "TransactionalId");
  EXPECT_EQ(ResourceTypeName(ResourceType::kDelegationToken), "DelegationToken");
  EXPECT_EQ(PatternTypeName(PatternType::kLiteral), "LITERAL");
  EXPECT_EQ(PatternTypeName(PatternType::kPrefixed), "PREFIXED");
  EXPECT_EQ(AclOperationName(AclOperation::kIdempotentWrite), "IdempotentWrite");
  EXPECT_EQ(AclOperationName(AclOperation::kClusterAction), "ClusterAction");
  EXPECT_EQ(AclOperationName(AclOperation::kAll), "All");
  EXPECT_EQ(AclPermissionTypeName(AclPermissionType::kAllow), "ALLOW");
  EXPECT_EQ(AclPermissionTypeName(AclPermissionType::kDeny), "DENY");
  EXPECT_EQ(ResourceTypeEnumName(ResourceType::kTransactionalId), "TRANSACTIONAL_ID");
  EXPECT_EQ(AclOperationEnumName(AclOperation::kDescribeConfigs), "DESCRIBE_CONFIGS");
}

TEST(AclNamesTest, ParseAcceptsKafkaForms) {
  EXPECT_EQ(ParseResourceType("Topic"), ResourceType::kTopic);
  EXPECT_EQ(ParseResourceType("TOPIC"), ResourceType::kTopic);
  EXPECT_EQ(ParseResourceType("transactionalid"), ResourceType::kTransactionalId);
  EXPECT_EQ(ParseResourceType("TRANSACTIONAL_ID"), ResourceType::kTransactionalId);
  EXPECT_EQ(ParseResourceType("DelegationToken"), ResourceType::kDelegationToken);
  EXPECT_EQ(ParseResourceType("any"), ResourceType::kAny);
  EXPECT_EQ(ParseResourceType("Topics"), std::nullopt);
  EXPECT_EQ(ParseResourceType(""), std::nullopt);
  EXPECT_EQ(ParseResourceType("unknown"), std::nullopt);

  EXPECT_EQ(ParsePatternType("literal"), PatternType::kLiteral);
  EXPECT_EQ(ParsePatternType("PREFIXED"), PatternType::kPrefixed);
  EXPECT_EQ(ParsePatternType("Match"), PatternType::kMatch);
  EXPECT_EQ(ParsePatternType("prefix"), std::nullopt);

  EXPECT_EQ(ParseAclOperation("IDEMPOTENT_WRITE"), AclOperation::kIdempotentWrite);
  EXPECT_EQ(ParseAclOperation("IdempotentWrite"), AclOperation::kIdempotentWrite);
  EXPECT_EQ(ParseAclOperation("ClusterAction"), AclOperation::kClusterAction);
  EXPECT_EQ(ParseAclOperation("CLUSTER_ACTION"), AclOperation::kClusterAction);
  EXPECT_EQ(ParseAclOperation("describeconfigs"), AclOperation::kDescribeConfigs);
  EXPECT_EQ(ParseAclOperation("All"), AclOperation::kAll);
  EXPECT_EQ(ParseAclOperation("read"), AclOperation::kRead);
  EXPECT_EQ(ParseAclOperation("Reed"), std::nullopt);

  EXPECT_EQ(ParseAclPermissionType("allow"), AclPermissionType::kAllow);
  EXPECT_EQ(ParseAclPermissionType("Deny"), AclPermissionType::kDeny);
  EXPECT_EQ(ParseAclPermissionType("permit"), std::nullopt);
}

TEST(AclNamesTest, RoundTripEveryName) {
  for (int code = 1; code <= 7; ++code) {
    const auto type = static_cast<ResourceType>(code);
    EXPECT_EQ(ParseResourceType(ResourceTypeName(type)), type);
    EXPECT_EQ(ParseResourceType(ResourceTypeEnumName(type)), type);
  }
  for (int code = 1; code <= 14; ++code) {
    const auto op = static_cast<AclOperation>(code);
    EXPECT_EQ(ParseAclOperation(AclOperationName(op)), op);
    EXPECT_EQ(ParseAclOperation(AclOperationEnumName(op)), op);
  }
}

TEST(AclToStringTest, KafkaAclsListForm) {
  const AclBinding binding = Binding(ResourceType::kTopic, "t1", PatternType::kLiteral,
                                     "User:alice", AclOperation::kWrite);
  EXPECT_EQ(ToString(binding.pattern),
            "ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL)");
  EXPECT_EQ(ToString(binding.entry),
            "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)");
  EXPECT_EQ(ToString(binding),
            "(pattern=ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL), "
            "entry=(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW))");

  const AclBinding txn =
      Binding(ResourceType::kTransactionalId, "tx-", PatternType::kPrefixed, "User:bob",
              AclOperation::kIdempotentWrite, AclPermissionType::kDeny, "10.0.0.1");
  EXPECT_EQ(ToString(txn.pattern),
            "ResourcePattern(resourceType=TRANSACTIONAL_ID, name=tx-, patternType=PREFIXED)");
  EXPECT_EQ(ToString(txn.entry),
            "(principal=User:bob, host=10.0.0.1, operation=IDEMPOTENT_WRITE, "
            "permissionType=DENY)");
}

TEST(ValidateAclBindingTest, AcceptsStorableBindings) {
  EXPECT_TRUE(ValidateAclBinding(Binding(ResourceType::kTopic, "t1", PatternType::kLiteral)).ok());
  EXPECT_TRUE(ValidateAclBinding(Binding(ResourceType::kTopic, "*", PatternType::kLiteral, "User:*",
                                         AclOperation::kAll))
                  .ok());
  EXPECT_TRUE(
      ValidateAclBinding(Binding(ResourceType::kGroup, "g-", PatternType::kPrefixed, "User:alice",
                                 AclOperation::kDelete, AclPermissionType::kDeny, "10.1.2.3"))
          .ok());
  EXPECT_TRUE(
      ValidateAclBinding(Binding(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral,
                                 "User:alice", AclOperation::kIdempotentWrite))
          .ok());
  EXPECT_TRUE(ValidateAclBinding(Binding(ResourceType::kUser, "bob", PatternType::kLiteral,
                                         "User:alice", AclOperation::kCreateTokens))
                  .ok());
}

void ExpectInvalid(const AclBinding& binding, const std::string& message) {
  absl::Status status = ValidateAclBinding(binding);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << ToString(binding);
  EXPECT_EQ(status.message(), message) << ToString(binding);
}

TEST(ValidateAclBindingTest, RejectsWithKafkasMessages) {
  ExpectInvalid(Binding(ResourceType::kAny, "t", PatternType::kLiteral),
                "Invalid resourceType ANY");
  ExpectInvalid(Binding(ResourceType::kUnknown, "t", PatternType::kLiteral),
                "Invalid resourceType UNKNOWN");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kMatch),
                "Invalid patternType MATCH");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kAny), "Invalid patternType ANY");
  ExpectInvalid(
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice", AclOperation::kAny),
      "Invalid operation ANY");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice",
                        AclOperation::kRead, AclPermissionType::kAny),
                "Invalid permissionType ANY");
  ExpectInvalid(Binding(ResourceType::kTopic, "", PatternType::kLiteral),
                "Resource name should not be empty");
  ExpectInvalid(Binding(ResourceType::kCluster, "my-cluster", PatternType::kLiteral, "User:alice",
                        AclOperation::kAlter),
                "The only valid name for the CLUSTER resource is kafka-cluster");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "alice"),
                "expected a string in format principalType:principalName but got alice");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:"),
                "expected a string in format principalType:principalName but got User:");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, ":alice"),
                "expected a string in format principalType:principalName but got :alice");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice",
                        AclOperation::kRead, AclPermissionType::kAllow, ""),
                "Invalid host: the host should not be empty");
}

TEST(ValidateAclBindingTest, OperationMustSuitTheResourceType) {
  ExpectInvalid(
      Binding(ResourceType::kGroup, "g", PatternType::kLiteral, "User:alice", AclOperation::kWrite),
      "ResourceType GROUP only supports operations Read, Describe, Delete, All");
  ExpectInvalid(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice",
                        AclOperation::kIdempotentWrite),
                "ResourceType TOPIC only supports operations Read, Write, Create, Describe, "
                "Delete, Alter, DescribeConfigs, AlterConfigs, All");
  ExpectInvalid(Binding(ResourceType::kTransactionalId, "tx", PatternType::kLiteral, "User:alice",
                        AclOperation::kRead),
                "ResourceType TRANSACTIONAL_ID only supports operations Describe, Write, All");
  ExpectInvalid(Binding(ResourceType::kDelegationToken, "tok", PatternType::kLiteral, "User:alice",
                        AclOperation::kAlter),
                "ResourceType DELEGATION_TOKEN only supports operations Describe, All");
  ExpectInvalid(Binding(ResourceType::kUser, "bob", PatternType::kLiteral, "User:alice",
                        AclOperation::kDescribe),
                "ResourceType USER only supports operations CreateTokens, DescribeTokens, All");
  ExpectInvalid(Binding(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral,
                        "User:alice", AclOperation::kRead),
                "ResourceType CLUSTER only supports operations Create, ClusterAction, "
                "DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe, All");
  // Every supported operation (and All) passes, for every type.
  for (int code = 2; code <= 7; ++code) {
    const auto type = static_cast<ResourceType>(code);
    const std::string name = type == ResourceType::kCluster ? "kafka-cluster" : "r";
    for (AclOperation op : SupportedOperations(type)) {
      EXPECT_TRUE(ValidateAclBinding(Binding(type, name, PatternType::kLiteral, "User:a", op)).ok())
          << ResourceTypeName(type) << " " << AclOperationName(op);
    }
    EXPECT_TRUE(
        ValidateAclBinding(Binding(type, name, PatternType::kLiteral, "User:a", AclOperation::kAll))
            .ok());
  }
}

TEST(ValidateAclBindingFilterTest, UnknownFieldsAreRefused) {
  EXPECT_TRUE(ValidateAclBindingFilter(AclBindingFilter::Any()).ok());
  AclBindingFilter filter;
  filter.type = ResourceType::kUnknown;
  EXPECT_EQ(ValidateAclBindingFilter(filter).message(), "Unknown patternFilter.");
  filter = AclBindingFilter{};
  filter.operation = AclOperation::kUnknown;
  EXPECT_EQ(ValidateAclBindingFilter(filter).message(), "Unknown entryFilter.");
}

TEST(AclBindingFilterTest, AnyMatchesEverything) {
  const AclBindingFilter any = AclBindingFilter::Any();
  EXPECT_TRUE(any.Matches(Binding(ResourceType::kTopic, "t", PatternType::kLiteral)));
  EXPECT_TRUE(any.Matches(Binding(ResourceType::kGroup, "g", PatternType::kPrefixed, "User:bob",
                                  AclOperation::kDelete, AclPermissionType::kDeny, "1.2.3.4")));
}

TEST(AclBindingFilterTest, EntryFieldsCompareExactly) {
  const AclBinding wildcard_principal =
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:*", AclOperation::kRead);
  AclBindingFilter filter;
  filter.principal = "User:alice";
  EXPECT_FALSE(filter.Matches(wildcard_principal));
  filter.principal = "User:*";
  EXPECT_TRUE(filter.Matches(wildcard_principal));
  filter.host = "1.2.3.4";
  EXPECT_FALSE(filter.Matches(wildcard_principal));  // the ACL's host is "*"
  filter.host = "*";
  EXPECT_TRUE(filter.Matches(wildcard_principal));
  filter.operation = AclOperation::kWrite;
  EXPECT_FALSE(filter.Matches(wildcard_principal));
  filter.operation = AclOperation::kRead;
  filter.permission = AclPermissionType::kDeny;
  EXPECT_FALSE(filter.Matches(wildcard_principal));
  filter.permission = AclPermissionType::kAllow;
  EXPECT_TRUE(filter.Matches(wildcard_principal));
}

TEST(AclBindingFilterTest, PatternTypeLiteralAndPrefixedMatchExactly) {
  const AclBinding literal = Binding(ResourceType::kTopic, "foo", PatternType::kLiteral);
  const AclBinding prefixed = Binding(ResourceType::kTopic, "fo", PatternType::kPrefixed);
  const AclBinding wildcard = Binding(ResourceType::kTopic, "*", PatternType::kLiteral);

  AclBindingFilter filter{
      .type = ResourceType::kTopic, .name = "foo", .pattern_type = PatternType::kLiteral};
  EXPECT_TRUE(filter.Matches(literal));
  EXPECT_FALSE(filter.Matches(prefixed));
  EXPECT_FALSE(filter.Matches(wildcard));

  filter.pattern_type = PatternType::kPrefixed;
  EXPECT_FALSE(filter.Matches(literal));
  EXPECT_FALSE(filter.Matches(prefixed));  // the prefix is "fo", not "foo"
  filter.name = "fo";
  EXPECT_TRUE(filter.Matches(prefixed));

  filter = AclBindingFilter{.type = ResourceType::kTopic, .name = "fo"};  // ANY pattern type
  EXPECT_TRUE(filter.Matches(prefixed));
  EXPECT_FALSE(filter.Matches(literal));

  filter = AclBindingFilter{.type = ResourceType::kGroup};
  EXPECT_FALSE(filter.Matches(literal));
}

TEST(AclBindingFilterTest, MatchFindsEveryPatternThatApplies) {
  AclBindingFilter filter{
      .type = ResourceType::kTopic, .name = "foobar", .pattern_type = PatternType::kMatch};
  EXPECT_TRUE(filter.Matches(Binding(ResourceType::kTopic, "foobar", PatternType::kLiteral)));
  EXPECT_TRUE(filter.Matches(Binding(ResourceType::kTopic, "*", PatternType::kLiteral)));
  EXPECT_TRUE(filter.Matches(Binding(ResourceType::kTopic, "foo", PatternType::kPrefixed)));
  EXPECT_TRUE(filter.Matches(Binding(ResourceType::kTopic, "foobar", PatternType::kPrefixed)));
  EXPECT_FALSE(filter.Matches(Binding(ResourceType::kTopic, "foo", PatternType::kLiteral)));
  EXPECT_FALSE(filter.Matches(Binding(ResourceType::kTopic, "foobarbaz", PatternType::kPrefixed)));
  EXPECT_FALSE(filter.Matches(Binding(ResourceType::kTopic, "bar", PatternType::kPrefixed)));
  EXPECT_FALSE(filter.Matches(Binding(ResourceType::kGroup, "foobar", PatternType::kLiteral)));
  // A prefixed "*" is an ordinary prefix, not a wildcard.
  EXPECT_FALSE(filter.Matches(Binding(ResourceType::kTopic, "*", PatternType::kPrefixed)));

  // MATCH without a name matches every pattern.
  AclBindingFilter no_name{.type = ResourceType::kTopic, .pattern_type = PatternType::kMatch};
  EXPECT_TRUE(no_name.Matches(Binding(ResourceType::kTopic, "x", PatternType::kPrefixed)));
  EXPECT_TRUE(no_name.Matches(Binding(ResourceType::kTopic, "y", PatternType::kLiteral)));
}

}  // namespace
}  // namespace strata::security
