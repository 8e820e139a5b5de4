#include "broker/metadata/security_admin.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace strata::metadata {
namespace {

// The entity's sort key: user entities first (the <default> before names,
// a user alone before the user with a client), then client-id entities.
auto EntityKey(const security::QuotaEntity& e) {
  return std::make_tuple(!e.has_user(), !e.user_default, e.user_default ? "" : e.user.value_or(""),
                         e.has_client_id(), !e.client_default,
                         e.client_default ? "" : e.client_id.value_or(""));
}

}  // namespace

security::ResourceType ResourceTypeOfCode(int32_t code) {
  return code >= 0 && code <= 7 ? static_cast<security::ResourceType>(code)
                                : security::ResourceType::kUnknown;
}

security::PatternType PatternTypeOfCode(int32_t code) {
  return code >= 0 && code <= 4 ? static_cast<security::PatternType>(code)
                                : security::PatternType::kUnknown;
}

security::AclOperation AclOperationOfCode(int32_t code) {
  return code >= 0 && code <= 14 ? static_cast<security::AclOperation>(code)
                                 : security::AclOperation::kUnknown;
}

security::AclPermissionType AclPermissionTypeOfCode(int32_t code) {
  return code >= 0 && code <= 3 ? static_cast<security::AclPermissionType>(code)
                                : security::AclPermissionType::kUnknown;
}

std::optional<security::ScramMechanism> ScramMechanismOfCode(int32_t code) {
  switch (code) {
    case 1:
      return security::ScramMechanism::kSha256;
    case 2:
      return security::ScramMechanism::kSha512;
    default:
      return std::nullopt;
  }
}

int8_t ScramMechanismCode(security::ScramMechanism mechanism) {
  return mechanism == security::ScramMechanism::kSha256 ? 1 : 2;
}

QuotaEntityParts PartsOf(const security::QuotaEntity& entity) {
  QuotaEntityParts parts;
  if (entity.has_user()) {
    parts.push_back({kQuotaEntityUser, entity.user_default ? std::nullopt : entity.user});
  }
  if (entity.has_client_id()) {
    parts.push_back(
        {kQuotaEntityClientId, entity.client_default ? std::nullopt : entity.client_id});
  }
  return parts;
}

bool SameQuotaEntity(const security::QuotaEntity& a, const security::QuotaEntity& b) {
  return EntityKey(a) == EntityKey(b);
}

bool QuotaEntityLess(const security::QuotaEntity& a, const security::QuotaEntity& b) {
  return EntityKey(a) < EntityKey(b);
}

absl::StatusOr<security::QuotaEntity> QuotaEntityOf(const QuotaEntityParts& parts) {
  // Kafka's ClientQuotaControlManager.validateEntity, in its words.
  if (parts.empty()) return absl::InvalidArgumentError("Invalid empty client quota entity");
  security::QuotaEntity entity;
  for (const QuotaEntityPart& part : parts) {
    const bool user = part.type == kQuotaEntityUser;
    if (!user && part.type != kQuotaEntityClientId) {
      if (part.type == "ip") {
        return absl::InvalidArgumentError(
            "Client quota entity type ip is not supported: use user and client-id");
      }
      return absl::InvalidArgumentError(
          absl::StrCat("Unhandled client quota entity type: ", part.type));
    }
    if (user ? entity.has_user() : entity.has_client_id()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid empty client quota entity, duplicate entity entry ", part.type));
    }
    if (part.name.has_value() && part.name->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Empty ", part.type, " not supported"));
    }
    if (user) {
      entity.user_default = !part.name.has_value();
      entity.user = part.name;
    } else {
      entity.client_default = !part.name.has_value();
      entity.client_id = part.name;
    }
  }
  return entity;
}

QuotaEntityParts PartsOfRecord(const internal::ClientQuotaRecord& record) {
  QuotaEntityParts parts;
  for (const internal::ClientQuotaEntityData& e : record.entity()) {
    parts.push_back({e.entity_type(), e.has_entity_name()
                                          ? std::optional<std::string>(e.entity_name())
                                          : std::nullopt});
  }
  return parts;
}

void SetRecordEntity(const security::QuotaEntity& entity, internal::ClientQuotaRecord* record) {
  record->clear_entity();
  for (const QuotaEntityPart& part : PartsOf(entity)) {
    internal::ClientQuotaEntityData* e = record->add_entity();
    e->set_entity_type(part.type);
    if (part.name) e->set_entity_name(*part.name);
  }
}

// --- Routing helpers ---

void FailWhole(const AlterSecurityRequest& request, ErrorCode code, const std::string& message,
               AlterSecurityResponse* response) {
  std::visit(
      [&](const auto& q) {
        SecurityResponseOf<std::decay_t<decltype(q)>> out;
        out.error = code;
        out.error_message = message;
        response->op = std::move(out);
      },
      request.op);
}

namespace {

bool Shows(const MetadataImage& image, const CreateAclsRequest& request,
           const CreateAclsResponse& response) {
  const std::vector<security::AclBinding>& held = image.acls()->bindings();
  for (size_t i = 0; i < request.creations.size() && i < response.results.size(); ++i) {
    if (response.results[i].error != ErrorCode::kNone) continue;
    if (!std::binary_search(held.begin(), held.end(), request.creations[i])) return false;
  }
  return true;
}

bool Shows(const MetadataImage& image, const DeleteAclsRequest& /*request*/,
           const DeleteAclsResponse& response) {
  const std::vector<security::AclBinding>& held = image.acls()->bindings();
  for (const DeleteAclsFilterResult& r : response.results) {
    if (r.error != ErrorCode::kNone) continue;
    for (const security::AclBinding& b : r.matching) {
      if (std::binary_search(held.begin(), held.end(), b)) return false;
    }
  }
  return true;
}

bool Shows(const MetadataImage& image, const AlterUserScramCredentialsRequest& request,
           const AlterUserScramCredentialsResponse& response) {
  std::set<std::string> done;
  for (const AlterUserScramCredentialResult& r : response.results) {
    if (r.error == ErrorCode::kNone) done.insert(r.user);
  }
  for (const ScramCredentialDeletion& d : request.deletions) {
    const std::optional<security::ScramMechanism> m = ScramMechanismOfCode(d.mechanism);
    if (done.contains(d.user) && m && image.ScramCredential(d.user, *m)) return false;
  }
  for (const ScramCredentialUpsertion& u : request.upsertions) {
    const std::optional<security::ScramMechanism> m = ScramMechanismOfCode(u.mechanism);
    if (!done.contains(u.user) || !m) continue;
    const std::optional<security::ScramCredential> c = image.ScramCredential(u.user, *m);
    if (!c || c->salt != u.salt || c->iterations != u.iterations) return false;
  }
  return true;
}

bool Shows(const MetadataImage& image, const AlterClientQuotasRequest& request,
           const AlterClientQuotasResponse& response) {
  if (request.validate_only) return true;
  for (size_t i = 0; i < request.entries.size() && i < response.results.size(); ++i) {
    if (response.results[i].error != ErrorCode::kNone) continue;
    absl::StatusOr<security::QuotaEntity> entity = QuotaEntityOf(request.entries[i].entity);
    if (!entity.ok()) continue;
    static const std::map<std::string, double> kNone;
    const std::map<std::string, double>* values = &kNone;
    for (const auto& [e, v] : *image.client_quotas()) {
      if (SameQuotaEntity(e, *entity)) values = &v;
    }
    for (const QuotaOp& op : request.entries[i].ops) {
      auto it = values->find(op.key);
      if (op.value.has_value() ? (it == values->end() || it->second != *op.value)
                               : it != values->end()) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool ImageShows(const MetadataImage& image, const AlterSecurityRequest& request,
                const AlterSecurityResponse& response) {
  return std::visit(
      [&](const auto& q) {
        using Response = SecurityResponseOf<std::decay_t<decltype(q)>>;
        const Response* r = std::get_if<Response>(&response.op);
        // Failed whole, or an answer to another call: nothing to wait for.
        if (r == nullptr || r->error != ErrorCode::kNone) return true;
        return Shows(image, q, *r);
      },
      request.op);
}

// --- The reads ---

DescribeAclsResponse DescribeAcls(const MetadataImage& image, const DescribeAclsRequest& request) {
  DescribeAclsResponse out;
  if (absl::Status s = security::ValidateAclBindingFilter(request.filter); !s.ok()) {
    out.error = ErrorCode::kInvalidRequest;
    out.error_message = std::string(s.message());
    return out;
  }
  out.bindings = image.acls()->Find(request.filter);
  return out;
}

DescribeUserScramCredentialsResponse DescribeUserScramCredentials(
    const MetadataImage& image, const DescribeUserScramCredentialsRequest& request) {
  DescribeUserScramCredentialsResponse out;
  const ScramCredentials& all = *image.scram_credentials();
  auto describe = [&](const std::string& user) {
    DescribeUserScramCredentialsResult r;
    r.user = user;
    for (auto it = all.lower_bound({user, security::ScramMechanism::kSha256});
         it != all.end() && it->first.first == user; ++it) {
      r.credentials.push_back(
          {.mechanism = ScramMechanismCode(it->first.second), .iterations = it->second.iterations});
    }
    if (r.credentials.empty()) {
      r.error = ErrorCode::kResourceNotFound;
      r.error_message = "Attempt to describe a user credential that does not exist: " + user;
    }
    return r;
  };
  if (!request.users.has_value() || request.users->empty()) {
    std::string last;
    for (const auto& [key, c] : all) {
      if (!out.results.empty() && key.first == last) continue;
      last = key.first;
      out.results.push_back(describe(key.first));
    }
    return out;
  }
  // Each user once, in request order; one named twice is Kafka's
  // DUPLICATE_RESOURCE.
  std::map<std::string, int> count;
  for (const std::string& user : *request.users) ++count[user];
  std::set<std::string> answered;
  for (const std::string& user : *request.users) {
    if (!answered.insert(user).second) continue;
    if (count[user] > 1) {
      DescribeUserScramCredentialsResult& r = out.results.emplace_back();
      r.user = user;
      r.error = ErrorCode::kDuplicateResource;
      r.error_message =
          "Cannot describe SCRAM credentials for the same user twice in a single request: " + user;
      continue;
    }
    out.results.push_back(describe(user));
  }
  return out;
}

DescribeClientQuotasResponse DescribeClientQuotas(const MetadataImage& image,
                                                  const DescribeClientQuotasRequest& request) {
  DescribeClientQuotasResponse out;
  auto refuse = [&out](ErrorCode code, std::string message) {
    out.error = code;
    out.error_message = std::move(message);
    return out;
  };
  // Kafka's ClientQuotasImage.describe, its checks and messages.
  std::map<std::string, std::optional<std::string>> exact;  // type -> name (nullopt: default)
  std::set<std::string> specified;
  for (const QuotaFilterComponent& c : request.components) {
    if (c.entity_type.empty())
      return refuse(ErrorCode::kInvalidRequest, "Invalid empty entity type.");
    if (exact.contains(c.entity_type) || specified.contains(c.entity_type)) {
      return refuse(ErrorCode::kInvalidRequest,
                    absl::StrCat("Entity type ", c.entity_type,
                                 " cannot appear more than once in the filter."));
    }
    if (c.entity_type != kQuotaEntityUser && c.entity_type != kQuotaEntityClientId &&
        c.entity_type != "ip") {
      return refuse(ErrorCode::kUnsupportedVersion,
                    absl::StrCat("Unsupported entity type ", c.entity_type));
    }
    switch (static_cast<QuotaMatchType>(c.match_type)) {
      case QuotaMatchType::kExact:
        if (!c.match) {
          return refuse(ErrorCode::kInvalidRequest,
                        "Request specified MATCH_TYPE_EXACT, but set match string to null.");
        }
        exact[c.entity_type] = c.match;
        break;
      case QuotaMatchType::kDefault:
        if (c.match) {
          return refuse(ErrorCode::kInvalidRequest,
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
        }
        exact[c.entity_type] = std::nullopt;
        break;
      case QuotaMatchType::kSpecified:
        if (c.match) {
          return refuse(
              ErrorCode::kInvalidRequest,
              "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.");
        }
        specified.insert(c.entity_type);
        break;
      default:
        return refuse(ErrorCode::kInvalidRequest,
                      absl::StrCat("Unknown match type ", c.match_type));
    }
  }
  const bool ip = exact.contains("ip") || specified.contains("ip");
  if (ip && exact.size() + specified.size() > 1) {
    return refuse(ErrorCode::kInvalidRequest,
                  "Invalid entity filter component combination. IP filter component should not "
                  "be used with user or clientId filter component.");
  }
  if (exact.empty() && specified.empty() && request.strict) return out;
  for (const auto& [entity, values] : *image.client_quotas()) {
    const QuotaEntityParts parts = PartsOf(entity);
    auto part = [&parts](const std::string& type) -> const QuotaEntityPart* {
      for (const QuotaEntityPart& p : parts) {
        if (p.type == type) return &p;
      }
      return nullptr;
    };
    bool match = true;
    for (const auto& [type, name] : exact) {
      const QuotaEntityPart* p = part(type);
      if (p == nullptr || p->name != name) match = false;
    }
    for (const std::string& type : specified) {
      if (part(type) == nullptr) match = false;
    }
    if (request.strict && parts.size() != exact.size() + specified.size()) match = false;
    if (match) out.entries.push_back({.entity = parts, .values = values});
  }
  return out;
}

}  // namespace strata::metadata
