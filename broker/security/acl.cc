#include "broker/security/acl.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace strata::security {
namespace {

// Debian's abseil has its own string_view type.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// One row per enum value: the value, the tools' name, Java's constant name.
template <typename E>
struct NameRow {
  E value;
  std::string_view name;
  std::string_view enum_name;
};

constexpr std::array<NameRow<ResourceType>, 8> kResourceTypes = {{
    {ResourceType::kUnknown, "Unknown", "UNKNOWN"},
    {ResourceType::kAny, "Any", "ANY"},
    {ResourceType::kTopic, "Topic", "TOPIC"},
    {ResourceType::kGroup, "Group", "GROUP"},
    {ResourceType::kCluster, "Cluster", "CLUSTER"},
    {ResourceType::kTransactionalId, "TransactionalId", "TRANSACTIONAL_ID"},
    {ResourceType::kDelegationToken, "DelegationToken", "DELEGATION_TOKEN"},
    {ResourceType::kUser, "User", "USER"},
}};

constexpr std::array<NameRow<PatternType>, 5> kPatternTypes = {{
    {PatternType::kUnknown, "UNKNOWN", "UNKNOWN"},
    {PatternType::kAny, "ANY", "ANY"},
    {PatternType::kMatch, "MATCH", "MATCH"},
    {PatternType::kLiteral, "LITERAL", "LITERAL"},
    {PatternType::kPrefixed, "PREFIXED", "PREFIXED"},
}};

constexpr std::array<NameRow<AclOperation>, 15> kOperations = {{
    {AclOperation::kUnknown, "Unknown", "UNKNOWN"},
    {AclOperation::kAny, "Any", "ANY"},
    {AclOperation::kAll, "All", "ALL"},
    {AclOperation::kRead, "Read", "READ"},
    {AclOperation::kWrite, "Write", "WRITE"},
    {AclOperation::kCreate, "Create", "CREATE"},
    {AclOperation::kDelete, "Delete", "DELETE"},
    {AclOperation::kAlter, "Alter", "ALTER"},
    {AclOperation::kDescribe, "Describe", "DESCRIBE"},
    {AclOperation::kClusterAction, "ClusterAction", "CLUSTER_ACTION"},
    {AclOperation::kDescribeConfigs, "DescribeConfigs", "DESCRIBE_CONFIGS"},
    {AclOperation::kAlterConfigs, "AlterConfigs", "ALTER_CONFIGS"},
    {AclOperation::kIdempotentWrite, "IdempotentWrite", "IDEMPOTENT_WRITE"},
    {AclOperation::kCreateTokens, "CreateTokens", "CREATE_TOKENS"},
    {AclOperation::kDescribeTokens, "DescribeTokens", "DESCRIBE_TOKENS"},
}};

constexpr std::array<NameRow<AclPermissionType>, 4> kPermissions = {{
    {AclPermissionType::kUnknown, "UNKNOWN", "UNKNOWN"},
    {AclPermissionType::kAny, "ANY", "ANY"},
    {AclPermissionType::kDeny, "DENY", "DENY"},
    {AclPermissionType::kAllow, "ALLOW", "ALLOW"},
}};

template <typename E, size_t N>
const NameRow<E>* FindRow(const std::array<NameRow<E>, N>& rows, E value) {
  for (const auto& row : rows) {
    if (row.value == value) return &row;
  }
  return nullptr;
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<NameRow<E>, N>& rows, E value) {
  const NameRow<E>* row = FindRow(rows, value);
  return row == nullptr ? std::string_view("Unknown") : row->name;
}

template <typename E, size_t N>
std::string_view EnumNameOf(const std::array<NameRow<E>, N>& rows, E value) {
  const NameRow<E>* row = FindRow(rows, value);
  return row == nullptr ? std::string_view("UNKNOWN") : row->enum_name;
}

// "IDEMPOTENT_WRITE", "IdempotentWrite" and "idempotent_write" all become
// "idempotentwrite".
std::string Normalize(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    if (c == '_') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

template <typename E, size_t N>
std::optional<E> ParseName(const std::array<NameRow<E>, N>& rows, std::string_view name) {
  const std::string wanted = Normalize(name);
  if (wanted.empty() || wanted == "unknown") return std::nullopt;
  for (const auto& row : rows) {
    if (Normalize(row.name) == wanted || Normalize(row.enum_name) == wanted) return row.value;
  }
  return std::nullopt;
}

}  // namespace

bool AclBindingFilter::MatchesPattern(const ResourcePattern& pattern) const {
  if (type != ResourceType::kAny && type != pattern.type) return false;
  if (pattern_type != PatternType::kAny && pattern_type != PatternType::kMatch &&
      pattern_type != pattern.pattern_type) {
    return false;
  }
  if (!name.has_value()) return true;
  if (pattern_type == PatternType::kAny || pattern_type == pattern.pattern_type) {
    return *name == pattern.name;
  }
  // MATCH: the patterns that apply to the resource `name`.
  switch (pattern.pattern_type) {
    case PatternType::kLiteral:
      return *name == pattern.name || pattern.name == kWildcard;
    case PatternType::kPrefixed:
      return absl::StartsWith(*name, pattern.name);
    default:
      // Kafka throws for a stored pattern that is neither; nothing matches.
      return false;
  }
}

bool AclBindingFilter::MatchesEntry(const AccessControlEntry& entry) const {
  if (principal.has_value() && *principal != entry.principal) return false;
  if (host.has_value() && *host != entry.host) return false;
  if (operation != AclOperation::kAny && operation != entry.operation) return false;
  return permission == AclPermissionType::kAny || permission == entry.permission;
}

std::string_view ResourceTypeName(ResourceType type) { return NameOf(kResourceTypes, type); }
std::string_view PatternTypeName(PatternType type) { return NameOf(kPatternTypes, type); }
std::string_view AclOperationName(AclOperation op) { return NameOf(kOperations, op); }
std::string_view AclPermissionTypeName(AclPermissionType permission) {
  return NameOf(kPermissions, permission);
}
std::string_view ResourceTypeEnumName(ResourceType type) {
  return EnumNameOf(kResourceTypes, type);
}
std::string_view AclOperationEnumName(AclOperation op) { return EnumNameOf(kOperations, op); }

std::optional<ResourceType> ParseResourceType(std::string_view name) {
  return ParseName(kResourceTypes, name);
}
std::optional<PatternType> ParsePatternType(std::string_view name) {
  return ParseName(kPatternTypes, name);
}
std::optional<AclOperation> ParseAclOperation(std::string_view name) {
  return ParseName(kOperations, name);
}
std::optional<AclPermissionType> ParseAclPermissionType(std::string_view name) {
  return ParseName(kPermissions, name);
}

std::vector<AclOperation> SupportedOperations(ResourceType type) {
  using Op = AclOperation;
  switch (type) {
    case ResourceType::kTopic:
      return {Op::kRead,   Op::kWrite, Op::kCreate,          Op::kDescribe,
              Op::kDelete, Op::kAlter, Op::kDescribeConfigs, Op::kAlterConfigs};
    case ResourceType::kGroup:
      return {Op::kRead, Op::kDescribe, Op::kDelete};
    case ResourceType::kCluster:
      return {Op::kCreate,          Op::kClusterAction, Op::kDescribeConfigs, Op::kAlterConfigs,
              Op::kIdempotentWrite, Op::kAlter,         Op::kDescribe};
    case ResourceType::kTransactionalId:
      return {Op::kDescribe, Op::kWrite};
    case ResourceType::kDelegationToken:
      return {Op::kDescribe};
    case ResourceType::kUser:
      return {Op::kCreateTokens, Op::kDescribeTokens};
    case ResourceType::kAny:
    case ResourceType::kUnknown:
      break;
  }
  return {};
}

absl::Status ValidateAclBinding(const AclBinding& binding) {
  const ResourcePattern& pattern = binding.pattern;
  const AccessControlEntry& entry = binding.entry;
  // The order of Kafka's AclControlManager.validateNewAcl, then the checks
  // of the ZooKeeper-era authorizer and kafka-acls.
  if (pattern.type == ResourceType::kAny || pattern.type == ResourceType::kUnknown ||
      FindRow(kResourceTypes, pattern.type) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid resourceType ", AbslView(ResourceTypeEnumName(pattern.type))));
  }
  if (pattern.pattern_type != PatternType::kLiteral &&
      pattern.pattern_type != PatternType::kPrefixed) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid patternType ", AbslView(PatternTypeName(pattern.pattern_type))));
  }
  if (entry.operation == AclOperation::kAny || entry.operation == AclOperation::kUnknown ||
      FindRow(kOperations, entry.operation) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid operation ", AbslView(AclOperationEnumName(entry.operation))));
  }
  if (entry.permission != AclPermissionType::kAllow &&
      entry.permission != AclPermissionType::kDeny) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid permissionType ", AbslView(AclPermissionTypeName(entry.permission))));
  }
  if (pattern.name.empty()) {
    return absl::InvalidArgumentError("Resource name should not be empty");
  }
  if (pattern.type == ResourceType::kCluster && pattern.name != kClusterResourceName) {
    return absl::InvalidArgumentError(
        absl::StrCat("The only valid name for the CLUSTER resource is ", kClusterResourceName));
  }
  const size_t colon = entry.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == entry.principal.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a string in format principalType:principalName but got ",
                     entry.principal.empty() ? "an empty string" : entry.principal));
  }
  if (entry.host.empty()) {
    return absl::InvalidArgumentError("Invalid host: the host should not be empty");
  }
  std::vector<AclOperation> valid = SupportedOperations(pattern.type);
  valid.push_back(AclOperation::kAll);
  if (std::find(valid.begin(), valid.end(), entry.operation) == valid.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ResourceType ", AbslView(ResourceTypeEnumName(pattern.type)), " only supports operations ",
        absl::StrJoin(valid, ", ", [](std::string* out, AclOperation op) {
          absl::StrAppend(out, AbslView(AclOperationName(op)));
        })));
  }
  return absl::OkStatus();
}

absl::Status ValidateAclBindingFilter(const AclBindingFilter& filter) {
  if (filter.type == ResourceType::kUnknown || filter.pattern_type == PatternType::kUnknown) {
    return absl::InvalidArgumentError("Unknown patternFilter.");
  }
  if (filter.operation == AclOperation::kUnknown ||
      filter.permission == AclPermissionType::kUnknown) {
    return absl::InvalidArgumentError("Unknown entryFilter.");
  }
  return absl::OkStatus();
}

std::string ToString(const ResourcePattern& pattern) {
  return absl::StrCat("ResourcePattern(resourceType=", AbslView(ResourceTypeEnumName(pattern.type)),
                      ", name=", pattern.name,
                      ", patternType=", AbslView(PatternTypeName(pattern.pattern_type)), ")");
}

std::string ToString(const AccessControlEntry& entry) {
  return absl::StrCat("(principal=", entry.principal, ", host=", entry.host,
                      ", operation=", AbslView(AclOperationEnumName(entry.operation)),
                      ", permissionType=", AbslView(AclPermissionTypeName(entry.permission)), ")");
}

std::string ToString(const AclBinding& binding) {
  return absl::StrCat("(pattern=", ToString(binding.pattern), ", entry=", ToString(binding.entry),
                      ")");
}

}  // namespace strata::security
