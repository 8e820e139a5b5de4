// Kafka's ACL model: resource patterns, access control entries, bindings and
// the filters DescribeAcls / DeleteAcls take, with Kafka's wire codes (the
// enum values are the int8 codes of the protocol), the names Kafka's tools
// print and parse, and the checks CreateAcls applies before a binding is
// stored.
//
//   ResourcePattern     (type, name, LITERAL | PREFIXED)
//   AccessControlEntry  (principal "User:alice", host "*" or an IP,
//                        operation, ALLOW | DENY)
//   AclBinding          pattern + entry: one stored ACL
//   AclBindingFilter    any field ANY / unset = matches everything; pattern
//                       type MATCH = every pattern that would apply to the
//                       named resource (Kafka's ResourcePatternFilter)
//
// Errors: ValidateAclBinding / ValidateAclBindingFilter return
// InvalidArgument with the message Kafka puts in its INVALID_REQUEST answer.
// Parse* return nullopt for a name they do not know.
//
// Plain values; no state, thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace strata::security {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};

enum class PatternType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kMatch = 2,
  kLiteral = 3,
  kPrefixed = 4,
};

enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
  kCreateTokens = 13,
  kDescribeTokens = 14,
};

enum class AclPermissionType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kDeny = 2,
  kAllow = 3,
};

// The one name a CLUSTER resource has.
inline constexpr char kClusterResourceName[] = "kafka-cluster";
// The literal resource name "*" (every resource of its type), and the host
// "*" (every host). The wildcard principal is kWildcardPrincipal.
inline constexpr char kWildcard[] = "*";
inline constexpr char kWildcardPrincipal[] = "User:*";

struct ResourcePattern {
  ResourceType type = ResourceType::kUnknown;
  std::string name;
  PatternType pattern_type = PatternType::kUnknown;

  auto operator<=>(const ResourcePattern&) const = default;
  bool operator==(const ResourcePattern&) const = default;
};

struct AccessControlEntry {
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // "*" or the client's IP address
  AclOperation operation = AclOperation::kUnknown;
  AclPermissionType permission = AclPermissionType::kUnknown;

  auto operator<=>(const AccessControlEntry&) const = default;
  bool operator==(const AccessControlEntry&) const = default;
};

struct AclBinding {
  ResourcePattern pattern;
  AccessControlEntry entry;

  auto operator<=>(const AclBinding&) const = default;
  bool operator==(const AclBinding&) const = default;
};

// A DescribeAcls / DeleteAcls filter (Kafka's AclBindingFilter). Unset
// optionals and ANY match every value. Principal and host compare exactly
// (a filter for "User:alice" does not match an ACL for "User:*").
//
// The pattern part follows Kafka's ResourcePatternFilter:
//   pattern_type ANY      any pattern type; a name must equal the pattern's
//   pattern_type LITERAL  literal patterns; a name must equal it ("*" too)
//   pattern_type PREFIXED prefixed patterns; a name must equal the prefix
//   pattern_type MATCH    the patterns that apply to the resource `name`:
//                         the literal `name`, the literal "*", and every
//                         prefixed pattern that is a prefix of `name`
//                         (without a name: every pattern)
struct AclBindingFilter {
  ResourceType type = ResourceType::kAny;
  std::optional<std::string> name = std::nullopt;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal = std::nullopt;
  std::optional<std::string> host = std::nullopt;
  AclOperation operation = AclOperation::kAny;
  AclPermissionType permission = AclPermissionType::kAny;

  // The filter that matches every binding.
  static AclBindingFilter Any() { return AclBindingFilter{}; }

  bool MatchesPattern(const ResourcePattern& pattern) const;
  bool MatchesEntry(const AccessControlEntry& entry) const;
  bool Matches(const AclBinding& binding) const {
    return MatchesPattern(binding.pattern) && MatchesEntry(binding.entry);
  }
};

// Names as Kafka's tools print them (SecurityUtils): "Topic", "Group",
// "Cluster", "TransactionalId", "DelegationToken", "User" ("Any",
// "Unknown"); "LITERAL", "PREFIXED", "MATCH", "ANY"; "Read", "Write", ...,
// "IdempotentWrite", "All"; "ALLOW", "DENY".
std::string_view ResourceTypeName(ResourceType type);
std::string_view PatternTypeName(PatternType type);
std::string_view AclOperationName(AclOperation op);
std::string_view AclPermissionTypeName(AclPermissionType permission);

// The names of Java's enum constants, as Kafka's toString prints them:
// "TOPIC", "TRANSACTIONAL_ID"; "READ", "IDEMPOTENT_WRITE", "CLUSTER_ACTION".
// (PatternTypeName and AclPermissionTypeName already are.)
std::string_view ResourceTypeEnumName(ResourceType type);
std::string_view AclOperationEnumName(AclOperation op);

// Case-insensitive, with or without underscores, so both of Kafka's forms
// parse: "IdempotentWrite", "IDEMPOTENT_WRITE", "idempotent_write";
// "TransactionalId", "TRANSACTIONAL_ID". "Any" parses (filters use it);
// "Unknown" and anything else are nullopt.
std::optional<ResourceType> ParseResourceType(std::string_view name);
std::optional<PatternType> ParsePatternType(std::string_view name);
std::optional<AclOperation> ParseAclOperation(std::string_view name);
std::optional<AclPermissionType> ParseAclPermissionType(std::string_view name);

// The operations an ACL on a resource of `type` may name besides All
// (Kafka's AclEntry.supportedOperations):
//   Topic            Read Write Create Describe Delete Alter DescribeConfigs
//                    AlterConfigs
//   Group            Read Describe Delete
//   Cluster          Create ClusterAction DescribeConfigs AlterConfigs
//                    IdempotentWrite Alter Describe
//   TransactionalId  Describe Write
//   DelegationToken  Describe
//   User             CreateTokens DescribeTokens
// Empty for ANY / UNKNOWN.
std::vector<AclOperation> SupportedOperations(ResourceType type);

// OK when `binding` may be stored (CreateAcls): a concrete resource type,
// pattern LITERAL or PREFIXED, a non-empty name ("kafka-cluster" for
// Cluster), a principal "Type:name" with both parts non-empty, a non-empty
// host, an operation other than ANY / UNKNOWN that the resource type
// supports (or All), permission ALLOW or DENY. Otherwise InvalidArgument
// naming the first problem, e.g. "Invalid patternType MATCH", "Resource name
// should not be empty", "ResourceType TOPIC only supports operations Read,
// Write, ...".
absl::Status ValidateAclBinding(const AclBinding& binding);

// OK unless the filter has an UNKNOWN field (DeleteAcls refuses those, as
// Kafka's AclControlManager.validateFilter does): InvalidArgument
// "Unknown patternFilter." / "Unknown entryFilter.".
absl::Status ValidateAclBindingFilter(const AclBindingFilter& filter);

// Kafka's toString forms, as kafka-acls prints them:
//   ResourcePattern     "ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL)"
//   AccessControlEntry  "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)"
//   AclBinding          "(pattern=<ResourcePattern>, entry=<AccessControlEntry>)"
//                       (Java's AclBinding.toString)
std::string ToString(const ResourcePattern& pattern);
std::string ToString(const AccessControlEntry& entry);
std::string ToString(const AclBinding& binding);

}  // namespace strata::security
