// The authorizer over an ACL snapshot: Kafka's StandardAuthorizer rules and
// authorizeByResourceType.
#include "broker/security/authorizer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::security {
namespace {

using Op = AclOperation;
using Perm = AclPermissionType;
constexpr AuthorizationResult kAllowed = AuthorizationResult::kAllowed;
constexpr AuthorizationResult kDenied = AuthorizationResult::kDenied;

AclBinding Acl(ResourceType type, std::string name, PatternType pattern_type, std::string principal,
               Op op, Perm permission = Perm::kAllow, std::string host = "*") {
  return AclBinding{ResourcePattern{type, std::move(name), pattern_type},
                    AccessControlEntry{std::move(principal), std::move(host), op, permission}};
}

AclBinding TopicAcl(std::string name, std::string principal, Op op, Perm permission = Perm::kAllow,
                    std::string host = "*") {
  return Acl(ResourceType::kTopic, std::move(name), PatternType::kLiteral, std::move(principal), op,
             permission, std::move(host));
}

AclBinding PrefixAcl(std::string prefix, std::string principal, Op op,
                     Perm permission = Perm::kAllow) {
  return Acl(ResourceType::kTopic, std::move(prefix), PatternType::kPrefixed, std::move(principal),
             op, permission);
}

Session SessionOf(std::string user, std::string host = "10.0.0.1") {
  return Session{Principal::User(std::move(user)), std::move(host), "PLAINTEXT", "client"};
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizationResult Topic(const std::vector<AclBinding>& acls, const std::string& user, Op op,
                            const std::string& topic, const std::string& host = "10.0.0.1",
                            AuthorizerOptions options = {}) {
    AclSnapshot snapshot(acls);
    Authorizer authorizer(std::move(options));
    return authorizer.Authorize(&snapshot, SessionOf(user, host), op, ResourceType::kTopic, topic);
  }
};

TEST_F(AuthorizerTest, LiteralAllowForTheOperation) {
  const std::vector<AclBinding> acls = {TopicAcl("t1", "User:alice", Op::kWrite)};
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "t1"), kAllowed);
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "t1"), kDenied);
  EXPECT_EQ(Topic(acls, "bob", Op::kWrite, "t1"), kDenied);
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "t2"), kDenied);
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "t1x"), kDenied);  // literal, not a prefix
}

TEST_F(AuthorizerTest, DenyWins) {
  const std::vector<AclBinding> acls = {
      TopicAcl("t1", "User:alice", Op::kAll),
      TopicAcl("t1", "User:alice", Op::kWrite, Perm::kDeny),
  };
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "t1"), kDenied);
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "t1"), kAllowed);
}

TEST_F(AuthorizerTest, DenyFromAnyApplyingPatternWins) {
  // ALLOW on the literal name, DENY via a prefix, a wildcard principal, and
  // the literal "*".
  EXPECT_EQ(Topic({TopicAcl("orders", "User:alice", Op::kRead),
                   PrefixAcl("ord", "User:alice", Op::kRead, Perm::kDeny)},
                  "alice", Op::kRead, "orders"),
            kDenied);
  EXPECT_EQ(Topic({TopicAcl("orders", "User:alice", Op::kRead),
                   TopicAcl("orders", "User:*", Op::kRead, Perm::kDeny)},
                  "alice", Op::kRead, "orders"),
            kDenied);
  EXPECT_EQ(Topic({TopicAcl("orders", "User:alice", Op::kRead),
                   TopicAcl("*", "User:alice", Op::kAll, Perm::kDeny)},
                  "alice", Op::kRead, "orders"),
            kDenied);
}

TEST_F(AuthorizerTest, DenyAllDeniesEveryOperation) {
  const std::vector<AclBinding> acls = {
      TopicAcl("t1", "User:alice", Op::kAll),
      TopicAcl("t1", "User:alice", Op::kAll, Perm::kDeny),
  };
  for (Op op : {Op::kRead, Op::kWrite, Op::kDescribe, Op::kDelete, Op::kAlterConfigs}) {
    EXPECT_EQ(Topic(acls, "alice", op, "t1"), kDenied) << AclOperationName(op);
  }
}

TEST_F(AuthorizerTest, DenyImpliesNothing) {
  // DENY Read does not deny Describe, which ALLOW All grants.
  const std::vector<AclBinding> acls = {
      TopicAcl("t1", "User:alice", Op::kAll),
      TopicAcl("t1", "User:alice", Op::kRead, Perm::kDeny),
  };
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "t1"), kDenied);
  EXPECT_EQ(Topic(acls, "alice", Op::kDescribe, "t1"), kAllowed);
  // DENY Describe does deny it.
  EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", Op::kAll),
                   TopicAcl("t1", "User:alice", Op::kDescribe, Perm::kDeny)},
                  "alice", Op::kDescribe, "t1"),
            kDenied);
}

TEST_F(AuthorizerTest, ImpliedDescribe) {
  for (Op granted : {Op::kRead, Op::kWrite, Op::kDelete, Op::kAlter, Op::kDescribe, Op::kAll}) {
    EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", granted)}, "alice", Op::kDescribe, "t1"),
              kAllowed)
        << AclOperationName(granted);
  }
  for (Op granted : {Op::kCreate, Op::kDescribeConfigs, Op::kAlterConfigs}) {
    EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", granted)}, "alice", Op::kDescribe, "t1"), kDenied)
        << AclOperationName(granted);
  }
  // Implication goes one way only.
  EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", Op::kDescribe)}, "alice", Op::kRead, "t1"),
            kDenied);
}

TEST_F(AuthorizerTest, ImpliedDescribeConfigs) {
  EXPECT_EQ(
      Topic({TopicAcl("t1", "User:alice", Op::kAlterConfigs)}, "alice", Op::kDescribeConfigs, "t1"),
      kAllowed);
  EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", Op::kAlter)}, "alice", Op::kDescribeConfigs, "t1"),
            kDenied);
  EXPECT_EQ(
      Topic({TopicAcl("t1", "User:alice", Op::kDescribeConfigs)}, "alice", Op::kAlterConfigs, "t1"),
      kDenied);
}

TEST_F(AuthorizerTest, PrefixedPatterns) {
  const std::vector<AclBinding> acls = {PrefixAcl("orders-", "User:alice", Op::kRead)};
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "orders-eu"), kAllowed);
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "orders-"), kAllowed);  // a prefix of itself
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "orders"), kDenied);
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "xorders-eu"), kDenied);
}

TEST_F(AuthorizerTest, PrefixLookupFindsEveryApplyingPrefixAmongMany) {
  // StandardAuthorizerData's example, and many non-prefix neighbours in the
  // sorted map to jump over.
  std::vector<AclBinding> acls = {
      PrefixAcl("gar", "User:alice", Op::kAll, Perm::kDeny),
      PrefixAcl("foobar", "User:alice", Op::kWrite),
      TopicAcl("foob", "User:alice", Op::kAll, Perm::kDeny),  // literal: does not apply
      PrefixAcl("fb", "User:alice", Op::kAll, Perm::kDeny),
      PrefixAcl("fa", "User:alice", Op::kAll, Perm::kDeny),
      PrefixAcl("f", "User:alice", Op::kRead),
      TopicAcl("eeee", "User:alice", Op::kAll, Perm::kDeny),
  };
  for (int i = 0; i < 200; ++i) {
    acls.push_back(PrefixAcl("foo" + std::to_string(i), "User:alice", Op::kAll, Perm::kDeny));
    acls.push_back(PrefixAcl("fo" + std::to_string(i), "User:alice", Op::kAll, Perm::kDeny));
  }
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "foobar"), kAllowed);  // via "foobar"
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "foobar"), kAllowed);   // via "f"
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "foobaz"), kDenied);   // "foobar" does not apply
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "foob"), kDenied);      // the literal DENY
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "foo17x"), kDenied);    // prefix "foo17" DENY
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "foo1"), kDenied);      // prefix "foo1" DENY
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "fzz"), kAllowed);      // only "f"

  AclSnapshot snapshot(acls);
  std::vector<std::string> applying;
  snapshot.ForEachApplying(ResourceType::kTopic, "foobarbaz", [&](const AclBinding& binding) {
    applying.push_back(binding.pattern.name);
    return true;
  });
  std::sort(applying.begin(), applying.end());
  EXPECT_EQ(applying, (std::vector<std::string>{"f", "foobar"}));
}

TEST_F(AuthorizerTest, WildcardResource) {
  const std::vector<AclBinding> acls = {TopicAcl("*", "User:alice", Op::kRead)};
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "anything"), kAllowed);
  EXPECT_EQ(Topic(acls, "alice", Op::kRead, "*"), kAllowed);
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "anything"), kDenied);
  // A prefixed "*" is not a wildcard.
  EXPECT_EQ(Topic({PrefixAcl("*", "User:alice", Op::kRead)}, "alice", Op::kRead, "anything"),
            kDenied);
}

TEST_F(AuthorizerTest, WildcardPrincipalAndHost) {
  EXPECT_EQ(Topic({TopicAcl("t1", "User:*", Op::kRead)}, "anyone", Op::kRead, "t1"), kAllowed);
  const std::vector<AclBinding> by_host = {
      TopicAcl("t1", "User:alice", Op::kRead, Perm::kAllow, "10.0.0.1")};
  EXPECT_EQ(Topic(by_host, "alice", Op::kRead, "t1", "10.0.0.1"), kAllowed);
  EXPECT_EQ(Topic(by_host, "alice", Op::kRead, "t1", "10.0.0.2"), kDenied);
  // DENY from one host only.
  const std::vector<AclBinding> deny_host = {
      TopicAcl("t1", "User:*", Op::kRead),
      TopicAcl("t1", "User:*", Op::kRead, Perm::kDeny, "10.6.6.6"),
  };
  EXPECT_EQ(Topic(deny_host, "alice", Op::kRead, "t1", "10.0.0.1"), kAllowed);
  EXPECT_EQ(Topic(deny_host, "alice", Op::kRead, "t1", "10.6.6.6"), kDenied);
}

TEST_F(AuthorizerTest, PrincipalTypeMatters) {
  AclSnapshot snapshot({TopicAcl("t1", "Group:alice", Op::kRead)});
  Authorizer authorizer({});
  EXPECT_EQ(
      authorizer.Authorize(&snapshot, SessionOf("alice"), Op::kRead, ResourceType::kTopic, "t1"),
      kDenied);
}

TEST_F(AuthorizerTest, ResourceTypeSeparatesAcls) {
  AclSnapshot snapshot(
      {Acl(ResourceType::kGroup, "t1", PatternType::kLiteral, "User:alice", Op::kRead)});
  Authorizer authorizer({});
  EXPECT_EQ(
      authorizer.Authorize(&snapshot, SessionOf("alice"), Op::kRead, ResourceType::kGroup, "t1"),
      kAllowed);
  EXPECT_EQ(
      authorizer.Authorize(&snapshot, SessionOf("alice"), Op::kRead, ResourceType::kTopic, "t1"),
      kDenied);
}

TEST_F(AuthorizerTest, SuperUsersAreAllowedEverything) {
  AuthorizerOptions options;
  options.super_users = {"User:admin", "User:ops"};
  const std::vector<AclBinding> acls = {TopicAcl("t1", "User:*", Op::kAll, Perm::kDeny)};
  EXPECT_EQ(Topic(acls, "admin", Op::kWrite, "t1", "10.0.0.1", options), kAllowed);
  EXPECT_EQ(Topic(acls, "ops", Op::kDelete, "t1", "10.0.0.1", options), kAllowed);
  EXPECT_EQ(Topic(acls, "alice", Op::kWrite, "t1", "10.0.0.1", options), kDenied);
  Authorizer authorizer(options);
  EXPECT_TRUE(authorizer.IsSuperUser(Principal::User("admin")));
  EXPECT_FALSE(authorizer.IsSuperUser(Principal::User("alice")));
  EXPECT_FALSE(authorizer.IsSuperUser(Principal{"Group", "admin"}));
  // Without any ACLs too.
  EXPECT_EQ(authorizer.Authorize(nullptr, SessionOf("admin"), Op::kClusterAction,
                                 ResourceType::kCluster, kClusterResourceName),
            kAllowed);
}

TEST_F(AuthorizerTest, AllowEveryoneIfNoAclFound) {
  AuthorizerOptions allow_everyone;
  allow_everyone.allow_everyone_if_no_acl_found = true;
  // No ACL on the resource: the option decides.
  EXPECT_EQ(Topic({}, "alice", Op::kWrite, "t1", "10.0.0.1", allow_everyone), kAllowed);
  EXPECT_EQ(Topic({}, "alice", Op::kWrite, "t1"), kDenied);
  EXPECT_EQ(Topic({TopicAcl("other", "User:bob", Op::kRead)}, "alice", Op::kWrite, "t1", "10.0.0.1",
                  allow_everyone),
            kAllowed);
  // Some ACL applies to the resource, even for someone else or another
  // operation: no default, denied.
  EXPECT_EQ(Topic({TopicAcl("t1", "User:bob", Op::kRead)}, "alice", Op::kWrite, "t1", "10.0.0.1",
                  allow_everyone),
            kDenied);
  EXPECT_EQ(Topic({TopicAcl("t1", "User:alice", Op::kRead)}, "alice", Op::kWrite, "t1", "10.0.0.1",
                  allow_everyone),
            kDenied);
  EXPECT_EQ(Topic({PrefixAcl("t", "User:bob", Op::kRead)}, "alice", Op::kWrite, "t1", "10.0.0.1",
                  allow_everyone),
            kDenied);
  EXPECT_EQ(Topic({TopicAcl("*", "User:bob", Op::kRead)}, "alice", Op::kWrite, "t1", "10.0.0.1",
                  allow_everyone),
            kDenied);

  Authorizer authorizer(allow_everyone);
  EXPECT_EQ(
      authorizer.Authorize(nullptr, SessionOf("alice"), Op::kWrite, ResourceType::kTopic, "t1"),
      kAllowed);
}

TEST_F(AuthorizerTest, AnyOrUnknownOperationOrTypeIsDenied) {
  AuthorizerOptions allow_everyone;
  allow_everyone.allow_everyone_if_no_acl_found = true;
  Authorizer authorizer(allow_everyone);
  EXPECT_EQ(authorizer.Authorize(nullptr, SessionOf("alice"), Op::kAny, ResourceType::kTopic, "t"),
            kDenied);
  EXPECT_EQ(authorizer.Authorize(nullptr, SessionOf("alice"), Op::kRead, ResourceType::kAny, "t"),
            kDenied);
}

TEST(AclSnapshotTest, SortsDedupsAndFinds) {
  AclSnapshot snapshot({
      TopicAcl("b", "User:alice", Op::kRead),
      TopicAcl("a", "User:alice", Op::kRead),
      TopicAcl("b", "User:alice", Op::kRead),
      PrefixAcl("a", "User:bob", Op::kWrite),
      Acl(ResourceType::kGroup, "g", PatternType::kLiteral, "User:alice", Op::kRead),
  });
  ASSERT_EQ(snapshot.bindings().size(), 4u);
  EXPECT_EQ(snapshot.bindings()[0].pattern.name, "a");
  EXPECT_EQ(snapshot.bindings()[0].pattern.pattern_type, PatternType::kLiteral);

  EXPECT_EQ(snapshot.Find(AclBindingFilter::Any()).size(), 4u);
  EXPECT_EQ(snapshot.Find(AclBindingFilter{.type = ResourceType::kTopic}).size(), 3u);
  EXPECT_EQ(snapshot.Find(AclBindingFilter{.principal = "User:bob"}).size(), 1u);
  const std::vector<AclBinding> match = snapshot.Find(AclBindingFilter{
      .type = ResourceType::kTopic, .name = "abc", .pattern_type = PatternType::kMatch});
  ASSERT_EQ(match.size(), 1u);
  EXPECT_EQ(match[0], PrefixAcl("a", "User:bob", Op::kWrite));
}

// --- AuthorizeAny (Kafka's authorizeByResourceType) -------------------------

class AuthorizeAnyTest : public ::testing::Test {
 protected:
  bool Any(const std::vector<AclBinding>& acls, const std::string& user, Op op,
           ResourceType type = ResourceType::kTopic, AuthorizerOptions options = {}) {
    AclSnapshot snapshot(acls);
    return Authorizer(std::move(options)).AuthorizeAny(&snapshot, SessionOf(user), op, type);
  }
};

TEST_F(AuthorizeAnyTest, AllowOnSomeResource) {
  EXPECT_TRUE(Any({TopicAcl("t1", "User:alice", Op::kWrite)}, "alice", Op::kWrite));
  EXPECT_TRUE(Any({PrefixAcl("t", "User:alice", Op::kWrite)}, "alice", Op::kWrite));
  EXPECT_TRUE(Any({TopicAcl("t1", "User:*", Op::kAll)}, "alice", Op::kWrite));
  EXPECT_FALSE(Any({TopicAcl("t1", "User:bob", Op::kWrite)}, "alice", Op::kWrite));
  EXPECT_FALSE(Any({TopicAcl("t1", "User:alice", Op::kRead)}, "alice", Op::kWrite));
  EXPECT_FALSE(Any({Acl(ResourceType::kGroup, "g", PatternType::kLiteral, "User:alice", Op::kRead)},
                   "alice", Op::kRead, ResourceType::kTopic));
  EXPECT_FALSE(Any({}, "alice", Op::kWrite));
}

TEST_F(AuthorizeAnyTest, NoImpliedOperations) {
  // As Kafka's authorizeByResourceType: the operation or All only.
  EXPECT_FALSE(Any({TopicAcl("t1", "User:alice", Op::kRead)}, "alice", Op::kDescribe));
}

TEST_F(AuthorizeAnyTest, DeniesThatCoverTheAllow) {
  // DENY on the same literal name.
  EXPECT_FALSE(Any({TopicAcl("t1", "User:alice", Op::kWrite),
                    TopicAcl("t1", "User:alice", Op::kWrite, Perm::kDeny)},
                   "alice", Op::kWrite));
  // A prefixed DENY dominating the literal ALLOW, and the prefixed ALLOW.
  EXPECT_FALSE(Any({TopicAcl("t1", "User:alice", Op::kWrite),
                    PrefixAcl("t", "User:alice", Op::kWrite, Perm::kDeny)},
                   "alice", Op::kWrite));
  EXPECT_FALSE(Any({PrefixAcl("team-a", "User:alice", Op::kWrite),
                    PrefixAcl("team-", "User:alice", Op::kAll, Perm::kDeny)},
                   "alice", Op::kWrite));
  EXPECT_FALSE(Any({PrefixAcl("team-a", "User:alice", Op::kWrite),
                    PrefixAcl("team-a", "User:alice", Op::kWrite, Perm::kDeny)},
                   "alice", Op::kWrite));
  // A DENY on the literal "*" denies outright, even against a "*" ALLOW.
  EXPECT_FALSE(Any(
      {TopicAcl("*", "User:alice", Op::kWrite), TopicAcl("*", "User:*", Op::kWrite, Perm::kDeny)},
      "alice", Op::kWrite));
  EXPECT_FALSE(Any(
      {TopicAcl("*", "User:*", Op::kWrite, Perm::kDeny), TopicAcl("*", "User:alice", Op::kWrite)},
      "alice", Op::kWrite));
}

TEST_F(AuthorizeAnyTest, DeniesThatDoNotCoverTheAllow) {
  // A literal DENY does not dominate a prefixed ALLOW, nor another literal.
  EXPECT_TRUE(Any({PrefixAcl("t", "User:alice", Op::kWrite),
                   TopicAcl("t", "User:alice", Op::kWrite, Perm::kDeny)},
                  "alice", Op::kWrite));
  EXPECT_TRUE(Any({TopicAcl("t1", "User:alice", Op::kWrite),
                   TopicAcl("t2", "User:alice", Op::kWrite, Perm::kDeny)},
                  "alice", Op::kWrite));
  // A longer prefixed DENY does not dominate a shorter prefixed ALLOW.
  EXPECT_TRUE(Any({PrefixAcl("team-", "User:alice", Op::kWrite),
                   PrefixAcl("team-a", "User:alice", Op::kWrite, Perm::kDeny)},
                  "alice", Op::kWrite));
  // A DENY for another principal, host or operation does not count.
  EXPECT_TRUE(Any({TopicAcl("t1", "User:alice", Op::kWrite),
                   TopicAcl("t1", "User:bob", Op::kWrite, Perm::kDeny)},
                  "alice", Op::kWrite));
  EXPECT_TRUE(Any({TopicAcl("t1", "User:alice", Op::kWrite),
                   TopicAcl("t1", "User:alice", Op::kRead, Perm::kDeny)},
                  "alice", Op::kWrite));
}

TEST_F(AuthorizeAnyTest, SuperUserAndDefault) {
  AuthorizerOptions super;
  super.super_users = {"User:admin"};
  EXPECT_TRUE(Any({TopicAcl("*", "User:*", Op::kAll, Perm::kDeny)}, "admin", Op::kWrite,
                  ResourceType::kTopic, super));
  AuthorizerOptions allow_everyone;
  allow_everyone.allow_everyone_if_no_acl_found = true;
  EXPECT_TRUE(Any({}, "alice", Op::kWrite, ResourceType::kTopic, allow_everyone));
  // An ACL applying to every topic ends the default.
  EXPECT_FALSE(Any({TopicAcl("*", "User:bob", Op::kWrite)}, "alice", Op::kWrite,
                   ResourceType::kTopic, allow_everyone));
  // Kafka's made-up resource name: an ACL that does not apply to it leaves
  // the default in place.
  EXPECT_TRUE(Any({TopicAcl("t1", "User:bob", Op::kWrite)}, "alice", Op::kWrite,
                  ResourceType::kTopic, allow_everyone));
  Authorizer authorizer({});
  EXPECT_FALSE(
      authorizer.AuthorizeAny(nullptr, SessionOf("alice"), Op::kAny, ResourceType::kTopic));
}

TEST_F(AuthorizeAnyTest, IdempotentWriteOnTheCluster) {
  EXPECT_TRUE(Any({Acl(ResourceType::kCluster, kClusterResourceName, PatternType::kLiteral,
                       "User:alice", Op::kIdempotentWrite)},
                  "alice", Op::kIdempotentWrite, ResourceType::kCluster));
}

}  // namespace
}  // namespace strata::security
