// AccessControl: may this session do that to this resource? The node's one
// answer to it, for every request on both client listeners (gRPC and Kafka's
// protocol), from the ACLs in the metadata image and the authorizer's
// options (super.users, allow.everyone.if.no.acl.found).
//
// Without an authorizer (authorizer.class.name unset) everything is
// allowed and nothing is looked up: `enabled()` is false and the request
// layer's authorized views (authorized.h) pass calls straight through.
//
// Thread-safe; the ACL snapshot is read once per check from `acls`, which
// must be cheap (the image's shared pointer).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "broker/security/acl.h"
#include "broker/security/authorizer.h"
#include "broker/security/principal.h"

namespace strata::request {

class AccessControl {
 public:
  struct Options {
    bool enabled = false;
    security::AuthorizerOptions authorizer;
    // The current ACLs (the metadata image's); may return null: none.
    std::function<std::shared_ptr<const security::AclSnapshot>()> acls;
  };

  explicit AccessControl(Options options)
      : enabled_(options.enabled),
        authorizer_(std::move(options.authorizer)),
        acls_(std::move(options.acls)) {}

  bool enabled() const { return enabled_; }

  bool Allowed(const security::Session& session, security::AclOperation op,
               security::ResourceType type, std::string_view name) const {
    if (!enabled_) return true;
    std::shared_ptr<const security::AclSnapshot> acls = acls_ ? acls_() : nullptr;
    return authorizer_.Authorize(acls.get(), session, op, type, name) ==
           security::AuthorizationResult::kAllowed;
  }
  bool AllowedCluster(const security::Session& session, security::AclOperation op) const {
    return Allowed(session, op, security::ResourceType::kCluster, security::kClusterResourceName);
  }
  // Whether `op` is allowed on at least one resource of `type` (Kafka's
  // authorizeByResourceType, e.g. IdempotentWrite through Write on a topic).
  bool AllowedAny(const security::Session& session, security::AclOperation op,
                  security::ResourceType type) const {
    if (!enabled_) return true;
    std::shared_ptr<const security::AclSnapshot> acls = acls_ ? acls_() : nullptr;
    return authorizer_.AuthorizeAny(acls.get(), session, op, type);
  }

 private:
  const bool enabled_;
  const security::Authorizer authorizer_;
  const std::function<std::shared_ptr<const security::AclSnapshot>()> acls_;
};

}  // namespace strata::request
