// The authorizer: may this session do this operation on this resource?
// Kafka's StandardAuthorizer semantics over an immutable ACL snapshot.
//
// Authorize(acls, session, op, type, name):
//   1. A super user (super.users, "User:admin") is allowed everything.
//   2. The ACLs that apply to the resource are those of its type whose
//      pattern is the literal name, the literal "*", or a prefixed pattern
//      that is a prefix of the name.
//   3. Of those, an ACL matches the session when its principal is the
//      session's principal or "User:*" and its host is the session's host or
//      "*".
//   4. A matching DENY for the operation or for All denies: deny wins over
//      any allow. A DENY never implies anything: DENY Read does not deny
//      Describe (only DENY Describe or DENY All does).
//   5. Otherwise a matching ALLOW for the operation or for All allows, and so
//      does an implied one: ALLOW Read, Write, Delete or Alter implies
//      Describe; ALLOW AlterConfigs implies DescribeConfigs.
//   6. Otherwise, if no ACL at all applies to the resource (step 2 found
//      none, whatever their principal, host or operation), the result is
//      allow.everyone.if.no.acl.found; if some applied, denied.
//   An ANY / UNKNOWN resource type or operation is denied (Kafka throws).
//
// AuthorizeAny(acls, session, op, type): Kafka's authorizeByResourceType
// (the default method of its Authorizer interface, which StandardAuthorizer
// uses): could the session be allowed `op` on at least one resource of
// `type`? It is how IdempotentWrite and the producer-id requests are checked
// when the caller has no single resource to name.
//   1. If Authorize(op) on a resource named "hardcode" is allowed, yes: this
//      is how Kafka lets super users (and allow.everyone.if.no.acl.found with
//      no ACL applying to that name, or a wildcard / prefix ALLOW that covers
//      it) through. The name is Kafka's, kept for the same answers.
//   2. Otherwise look at every ACL of the type that matches the session's
//      principal (or "User:*") and host (or "*") and names `op` or All -
//      no implied operations here, as in Kafka:
//        a DENY on the literal "*" -> no;
//        an ALLOW on the literal "*" -> yes;
//        an ALLOW on a literal name -> yes unless a DENY on that same literal
//          name, or a prefixed DENY that is a prefix of the name, exists;
//        an ALLOW on a prefix -> yes unless a prefixed DENY that is a prefix
//          of it (or equal to it) exists.
//   3. Otherwise no.
//
// Thread-safety: an AclSnapshot is immutable after construction and may be
// shared by any number of readers (shared_ptr<const AclSnapshot>, replaced as
// a whole when the metadata image changes). An Authorizer is immutable too;
// all its methods are const and thread-safe.
#pragma once

#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/security/acl.h"
#include "broker/security/principal.h"

namespace strata::security {

// An immutable index of ACL bindings, built once per metadata change.
class AclSnapshot {
 public:
  // `bindings` are kept sorted and without duplicates (CreateAcls of an
  // existing binding adds nothing, as in Kafka). Bindings are not validated:
  // the caller stores only ValidateAclBinding-clean ones; others are kept
  // for Find but a pattern type other than LITERAL / PREFIXED never applies.
  explicit AclSnapshot(std::vector<AclBinding> bindings);

  AclSnapshot(const AclSnapshot&) = delete;
  AclSnapshot& operator=(const AclSnapshot&) = delete;

  // Sorted by ResourcePattern, then AccessControlEntry: kafka-acls --list
  // groups per resource from this order.
  const std::vector<AclBinding>& bindings() const { return bindings_; }
  bool empty() const { return bindings_.empty(); }

  // The bindings `filter` matches (DescribeAcls, and the ones DeleteAcls
  // removes), in bindings() order.
  std::vector<AclBinding> Find(const AclBindingFilter& filter) const;

  // The bindings that apply to the resource (type, name): its literal name,
  // the literal "*", and every prefixed pattern that is a prefix of `name`.
  // Calls `fn(const AclBinding&)` for each and stops when it returns false.
  // Prefixed patterns are found by walking the sorted prefix map from `name`
  // downwards, jumping over non-prefixes by their common prefix with `name`
  // (as StandardAuthorizerData does), not by scanning every prefixed ACL.
  template <typename Fn>
  void ForEachApplying(ResourceType type, std::string_view name, Fn&& fn) const;

  // Every binding of a resource type (AuthorizeAny).
  const std::vector<const AclBinding*>& OfType(ResourceType type) const;

 private:
  struct TypeIndex {
    // Literal name -> bindings; the literal "*" is one of the names.
    absl::flat_hash_map<std::string, std::vector<const AclBinding*>> literal;
    // Prefix -> bindings, sorted by prefix.
    std::map<std::string, std::vector<const AclBinding*>, std::less<>> prefixed;
    std::vector<const AclBinding*> all;
  };
  static constexpr size_t kNumTypes = 8;  // ResourceType codes 0..7

  const TypeIndex* IndexOf(ResourceType type) const;
  // The prefixed patterns that are prefixes of `name`, longest first.
  std::vector<const std::vector<const AclBinding*>*> PrefixesOf(const TypeIndex& index,
                                                                std::string_view name) const;

  std::vector<AclBinding> bindings_;
  std::array<TypeIndex, kNumTypes> index_;
};

struct AuthorizerOptions {
  // Principals allowed everything ("User:admin"), from super.users (which is
  // ';'-separated; the caller splits it).
  std::vector<std::string> super_users;
  // allow.everyone.if.no.acl.found.
  bool allow_everyone_if_no_acl_found = false;
};

enum class AuthorizationResult { kAllowed, kDenied };

class Authorizer {
 public:
  explicit Authorizer(AuthorizerOptions options);

  // See the top of this file. `acls` may be null: no ACLs.
  AuthorizationResult Authorize(const AclSnapshot* acls, const Session& session, AclOperation op,
                                ResourceType type, std::string_view name) const;

  // Kafka's authorizeByResourceType; see the top of this file. False for an
  // ANY / UNKNOWN operation or resource type (Kafka rejects those).
  bool AuthorizeAny(const AclSnapshot* acls, const Session& session, AclOperation op,
                    ResourceType type) const;

  bool IsSuperUser(const Principal& principal) const;

  const AuthorizerOptions& options() const { return options_; }

 private:
  const AuthorizerOptions options_;
  const std::set<std::string, std::less<>> super_users_;
};

// ---------------------------------------------------------------------------

template <typename Fn>
void AclSnapshot::ForEachApplying(ResourceType type, std::string_view name, Fn&& fn) const {
  const TypeIndex* index = IndexOf(type);
  if (index == nullptr) return;
  auto visit = [&](const std::vector<const AclBinding*>& list) {
    for (const AclBinding* binding : list) {
      if (!fn(*binding)) return false;
    }
    return true;
  };
  if (auto it = index->literal.find(absl::string_view(name.data(), name.size()));
      it != index->literal.end()) {
    if (!visit(it->second)) return;
  }
  if (name != kWildcard) {
    if (auto it = index->literal.find(absl::string_view(kWildcard)); it != index->literal.end()) {
      if (!visit(it->second)) return;
    }
  }
  for (const auto* list : PrefixesOf(*index, name)) {
    if (!visit(*list)) return;
  }
}

}  // namespace strata::security
