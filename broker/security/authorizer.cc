#include "broker/security/authorizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace strata::security {
namespace {

bool ConcreteType(ResourceType type) {
  const auto code = static_cast<int8_t>(type);
  return code >= static_cast<int8_t>(ResourceType::kTopic) &&
         code <= static_cast<int8_t>(ResourceType::kUser);
}

bool ConcreteOperation(AclOperation op) {
  const auto code = static_cast<int8_t>(op);
  return code >= static_cast<int8_t>(AclOperation::kAll) &&
         code <= static_cast<int8_t>(AclOperation::kDescribeTokens);
}

// The length of the common prefix of a and b.
size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

bool PrincipalMatches(const AccessControlEntry& entry, const std::string& principal) {
  return entry.principal == principal || entry.principal == kWildcardPrincipal;
}

bool HostMatches(const AccessControlEntry& entry, const std::string& host) {
  return entry.host == kWildcard || entry.host == host;
}

// An ALLOW for `granted` also allows `requested` (StandardAuthorizerData's
// IMPLIES_DESCRIBE / IMPLIES_DESCRIBE_CONFIGS).
bool AllowCovers(AclOperation granted, AclOperation requested) {
  if (granted == AclOperation::kAll || granted == requested) return true;
  switch (requested) {
    case AclOperation::kDescribe:
      return granted == AclOperation::kRead || granted == AclOperation::kWrite ||
             granted == AclOperation::kDelete || granted == AclOperation::kAlter;
    case AclOperation::kDescribeConfigs:
      return granted == AclOperation::kAlterConfigs;
    default:
      return false;
  }
}

}  // namespace

// --- AclSnapshot -----------------------------------------------------------

AclSnapshot::AclSnapshot(std::vector<AclBinding> bindings) : bindings_(std::move(bindings)) {
  std::sort(bindings_.begin(), bindings_.end());
  bindings_.erase(std::unique(bindings_.begin(), bindings_.end()), bindings_.end());
  // bindings_ does not change from here on, so pointers into it stay valid.
  for (const AclBinding& binding : bindings_) {
    const auto code = static_cast<int8_t>(binding.pattern.type);
    if (code < 0 || static_cast<size_t>(code) >= kNumTypes) continue;
    TypeIndex& index = index_[code];
    index.all.push_back(&binding);
    switch (binding.pattern.pattern_type) {
      case PatternType::kLiteral:
        index.literal[binding.pattern.name].push_back(&binding);
        break;
      case PatternType::kPrefixed:
        index.prefixed[binding.pattern.name].push_back(&binding);
        break;
      default:
        break;  // never applies to a resource
    }
  }
}

std::vector<AclBinding> AclSnapshot::Find(const AclBindingFilter& filter) const {
  std::vector<AclBinding> out;
  for (const AclBinding& binding : bindings_) {
    if (filter.Matches(binding)) out.push_back(binding);
  }
  return out;
}

const AclSnapshot::TypeIndex* AclSnapshot::IndexOf(ResourceType type) const {
  const auto code = static_cast<int8_t>(type);
  if (code < 0 || static_cast<size_t>(code) >= kNumTypes) return nullptr;
  return &index_[code];
}

const std::vector<const AclBinding*>& AclSnapshot::OfType(ResourceType type) const {
  static const std::vector<const AclBinding*>* const kNone = new std::vector<const AclBinding*>();
  const TypeIndex* index = IndexOf(type);
  return index == nullptr ? *kNone : index->all;
}

std::vector<const std::vector<const AclBinding*>*> AclSnapshot::PrefixesOf(
    const TypeIndex& index, std::string_view name) const {
  // Walk down from the greatest key <= `bound`. A key that is a prefix of
  // `name` applies; every shorter applying prefix is then <= the key less its
  // last character. A key that is not a prefix diverges from `name` at
  // `common`: no key between it and `bound` is a prefix (it would be the
  // greater key found), and no applying prefix is longer than `common`, so
  // continue from name[0, common). `bound` shrinks at every step, so this
  // takes at most |name| + 1 map lookups, usually a few.
  std::vector<const std::vector<const AclBinding*>*> out;
  const auto& map = index.prefixed;
  if (map.empty()) return out;
  std::string_view bound = name;
  while (true) {
    auto it = map.upper_bound(bound);
    if (it == map.begin()) break;
    --it;
    const std::string& key = it->first;
    const size_t common = CommonPrefix(name, key);
    if (common == key.size()) {
      out.push_back(&it->second);
      if (key.empty()) break;
      bound = name.substr(0, key.size() - 1);
    } else {
      bound = name.substr(0, common);
    }
  }
  return out;
}

// --- Authorizer --------------------------------------------------------------

Authorizer::Authorizer(AuthorizerOptions options)
    : options_(std::move(options)),
      super_users_(options_.super_users.begin(), options_.super_users.end()) {}

bool Authorizer::IsSuperUser(const Principal& principal) const {
  return super_users_.contains(principal.ToString());
}

AuthorizationResult Authorizer::Authorize(const AclSnapshot* acls, const Session& session,
                                          AclOperation op, ResourceType type,
                                          std::string_view name) const {
  if (IsSuperUser(session.principal)) return AuthorizationResult::kAllowed;
  if (!ConcreteType(type) || !ConcreteOperation(op)) return AuthorizationResult::kDenied;

  const std::string principal = session.principal.ToString();
  bool any_applies = false;
  bool allowed = false;
  bool denied = false;
  if (acls != nullptr) {
    acls->ForEachApplying(type, name, [&](const AclBinding& binding) {
      const AccessControlEntry& entry = binding.entry;
      any_applies = true;
      if (!PrincipalMatches(entry, principal) || !HostMatches(entry, session.host)) return true;
      switch (entry.permission) {
        case AclPermissionType::kDeny:
          // A DENY implies nothing: only its own operation, or All.
          if (entry.operation == AclOperation::kAll || entry.operation == op) {
            denied = true;
            return false;  // deny wins; nothing else can change the answer
          }
          break;
        case AclPermissionType::kAllow:
          if (AllowCovers(entry.operation, op)) allowed = true;
          break;
        default:
          break;
      }
      return true;
    });
  }
  if (denied) return AuthorizationResult::kDenied;
  if (allowed) return AuthorizationResult::kAllowed;
  if (!any_applies && options_.allow_everyone_if_no_acl_found) {
    return AuthorizationResult::kAllowed;
  }
  return AuthorizationResult::kDenied;
}

bool Authorizer::AuthorizeAny(const AclSnapshot* acls, const Session& session, AclOperation op,
                              ResourceType type) const {
  if (!ConcreteType(type) || !ConcreteOperation(op)) return false;
  // Kafka checks a made-up literal resource first, so that super users (and
  // the no-ACL default) are let through regardless of DENY ACLs.
  if (Authorize(acls, session, op, type, "hardcode") == AuthorizationResult::kAllowed) {
    return true;
  }
  if (acls == nullptr) return false;

  const std::string principal = session.principal.ToString();
  std::set<std::string_view> deny_literal;
  std::set<std::string_view> deny_prefixed;
  std::vector<const ResourcePattern*> allow;
  bool wildcard_allow = false;
  for (const AclBinding* binding : acls->OfType(type)) {
    const AccessControlEntry& entry = binding->entry;
    if (!HostMatches(entry, session.host) || !PrincipalMatches(entry, principal)) continue;
    if (entry.operation != op && entry.operation != AclOperation::kAll) continue;
    const ResourcePattern& pattern = binding->pattern;
    const bool literal = pattern.pattern_type == PatternType::kLiteral;
    const bool prefixed = pattern.pattern_type == PatternType::kPrefixed;
    if (!literal && !prefixed) continue;
    if (entry.permission == AclPermissionType::kDeny) {
      if (literal && pattern.name == kWildcard) return false;
      (literal ? deny_literal : deny_prefixed).insert(pattern.name);
    } else if (entry.permission == AclPermissionType::kAllow) {
      if (literal && pattern.name == kWildcard) {
        wildcard_allow = true;  // unless a DENY on "*" comes later
      } else {
        allow.push_back(&pattern);
      }
    }
  }
  if (wildcard_allow) return true;
  for (const ResourcePattern* pattern : allow) {
    const std::string_view name = pattern->name;
    if (pattern->pattern_type == PatternType::kLiteral && deny_literal.contains(name)) continue;
    bool dominated = false;
    for (size_t len = 1; len <= name.size() && !dominated; ++len) {
      dominated = deny_prefixed.contains(name.substr(0, len));
    }
    if (!dominated) return true;
  }
  return false;
}

}  // namespace strata::security
