// The security admin APIs between Kafka's structs and the request layer
// (adapter.h; the mapping: security_adapter.h).
#include "broker/kafka/security_adapter.h"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "broker/kafka/admin_adapter.h"
#include "broker/request/admin_ops.h"
#include "broker/request/authorized.h"

namespace strata::kafka {
namespace {

int16_t Code(ErrorCode error) { return static_cast<int16_t>(error); }

security::AclBindingFilter Filter(int8_t resource_type, const std::optional<std::string>& name,
                                  int8_t pattern_type, const std::optional<std::string>& principal,
                                  const std::optional<std::string>& host, int8_t operation,
                                  int8_t permission) {
  security::AclBindingFilter f;
  f.type = metadata::ResourceTypeOfCode(resource_type);
  f.name = name;
  f.pattern_type = metadata::PatternTypeOfCode(pattern_type);
  f.principal = principal;
  f.host = host;
  f.operation = metadata::AclOperationOfCode(operation);
  f.permission = metadata::AclPermissionTypeOfCode(permission);
  return f;
}

metadata::QuotaEntityParts Entity(const auto& parts) {
  metadata::QuotaEntityParts out;
  for (const auto& p : parts) out.push_back({p.entity_type, p.entity_name});
  return out;
}

template <typename KafkaEntity>
std::vector<KafkaEntity> KafkaEntityOf(const metadata::QuotaEntityParts& parts) {
  std::vector<KafkaEntity> out;
  for (const metadata::QuotaEntityPart& p : parts) out.push_back({p.type, p.name});
  return out;
}

// --- The adapters ---

absl::Status Missing() {
  return absl::FailedPreconditionError("no AdminOps for the security APIs");
}

template <typename KafkaResponse>
absl::StatusOr<std::optional<Response>> AsReply(KafkaResponse response) {
  return std::optional<Response>(Response(std::move(response)));
}

// A write: decided by the controller, answered on any thread. The
// session's permission on the cluster is checked by the request layer
// (request::Authorized::Admin), as on the gRPC door.
template <typename KafkaRequest, typename LayerRequest, typename LayerResponse>
void CallWrite(const AdapterCall& call, Request request, Reply reply,
               void (request::AdminOps::*write)(LayerRequest, std::function<void(LayerResponse)>)) {
  if (call.deps.admin == nullptr) {
    reply(Missing());
    return;
  }
  const int16_t version = call.version();
  KafkaRequest kafka = std::get<KafkaRequest>(std::move(request));
  LayerRequest layer = ToRequestLayer(kafka, version);
  request::Authorized::Admin admin(call.deps.admin, call.authz());
  (admin.*write)(std::move(layer), [kafka = std::move(kafka), version,
                                    reply = std::move(reply)](LayerResponse answer) {
    reply(AsReply(FromRequestLayer(kafka, answer, version)));
  });
}

// A read: from this node's image, at once.
template <typename KafkaRequest, typename LayerRequest, typename LayerResponse>
void CallRead(const AdapterCall& call, const Request& request, const Reply& reply,
              LayerResponse (request::AdminOps::*read)(const LayerRequest&)) {
  if (call.deps.admin == nullptr) {
    reply(Missing());
    return;
  }
  const int16_t version = call.version();
  const KafkaRequest& kafka = std::get<KafkaRequest>(request);
  request::Authorized::Admin admin(call.deps.admin, call.authz());
  reply(AsReply(FromRequestLayer(kafka, (admin.*read)(ToRequestLayer(kafka, version)), version)));
}

void CreateAclsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallWrite<CreateAclsRequest>(call, std::move(request), std::move(reply),
                               &request::AdminOps::CreateAcls);
}

void DeleteAclsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallWrite<DeleteAclsRequest>(call, std::move(request), std::move(reply),
                               &request::AdminOps::DeleteAcls);
}

void AlterUserScramCredentialsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallWrite<AlterUserScramCredentialsRequest>(call, std::move(request), std::move(reply),
                                              &request::AdminOps::AlterUserScramCredentials);
}

void AlterClientQuotasAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallWrite<AlterClientQuotasRequest>(call, std::move(request), std::move(reply),
                                      &request::AdminOps::AlterClientQuotas);
}

void DescribeAclsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallRead<DescribeAclsRequest>(call, request, reply, &request::AdminOps::DescribeAcls);
}

void DescribeUserScramCredentialsAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallRead<DescribeUserScramCredentialsRequest>(call, request, reply,
                                                &request::AdminOps::DescribeUserScramCredentials);
}

void DescribeClientQuotasAdapter(const AdapterCall& call, Request request, Reply reply) {
  CallRead<DescribeClientQuotasRequest>(call, request, reply,
                                        &request::AdminOps::DescribeClientQuotas);
}

constexpr AdapterRow kSecurityAdapters[] = {
    {ApiKey::kDescribeAcls, &DescribeAclsAdapter},
    {ApiKey::kCreateAcls, &CreateAclsAdapter},
    {ApiKey::kDeleteAcls, &DeleteAclsAdapter},
    {ApiKey::kDescribeClientQuotas, &DescribeClientQuotasAdapter},
    {ApiKey::kAlterClientQuotas, &AlterClientQuotasAdapter},
    {ApiKey::kDescribeUserScramCredentials, &DescribeUserScramCredentialsAdapter},
    {ApiKey::kAlterUserScramCredentials, &AlterUserScramCredentialsAdapter},
};

}  // namespace

absl::Span<const AdapterRow> SecurityAdapters() { return kSecurityAdapters; }

// --- CreateAcls ---

metadata::CreateAclsRequest ToRequestLayer(const CreateAclsRequest& request, int16_t /*version*/) {
  metadata::CreateAclsRequest out;
  for (const CreateAclsRequest::Creation& c : request.creations) {
    security::AclBinding& b = out.creations.emplace_back();
    b.pattern.type = metadata::ResourceTypeOfCode(c.resource_type);
    b.pattern.name = c.resource_name;
    b.pattern.pattern_type = metadata::PatternTypeOfCode(c.resource_pattern_type);
    b.entry.principal = c.principal;
    b.entry.host = c.host;
    b.entry.operation = metadata::AclOperationOfCode(c.operation);
    b.entry.permission = metadata::AclPermissionTypeOfCode(c.permission_type);
  }
  return out;
}

CreateAclsResponse FromRequestLayer(const CreateAclsRequest& request,
                                    const metadata::CreateAclsResponse& answer,
                                    int16_t /*version*/) {
  CreateAclsResponse out;
  out.throttle_time_ms = 0;
  for (size_t i = 0; i < request.creations.size(); ++i) {
    CreateAclsResponse::Result& r = out.results.emplace_back();
    if (answer.error != ErrorCode::kNone) {
      r.error_code = Code(answer.error);
      r.error_message = ErrorMessageField(answer.error, answer.error_message);
    } else if (i < answer.results.size()) {
      r.error_code = Code(answer.results[i].error);
      r.error_message = ErrorMessageField(answer.results[i].error, answer.results[i].error_message);
    } else {
      r.error_code = Code(ErrorCode::kUnknownServerError);
      r.error_message = "no answer for this creation";
    }
  }
  return out;
}

// --- DescribeAcls ---

metadata::DescribeAclsRequest ToRequestLayer(const DescribeAclsRequest& request,
                                             int16_t /*version*/) {
  return {.filter = Filter(request.resource_type_filter, request.resource_name_filter,
                           request.pattern_type_filter, request.principal_filter,
                           request.host_filter, request.operation, request.permission_type)};
}

DescribeAclsResponse FromRequestLayer(const DescribeAclsRequest& /*request*/,
                                      const metadata::DescribeAclsResponse& answer,
                                      int16_t /*version*/) {
  DescribeAclsResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  out.error_message = ErrorMessageField(answer.error, answer.error_message);
  const security::ResourcePattern* pattern = nullptr;
  for (const security::AclBinding& b : answer.bindings) {
    if (pattern == nullptr || !(*pattern == b.pattern)) {
      pattern = &b.pattern;
      out.resources.push_back({.resource_type = static_cast<int8_t>(b.pattern.type),
                               .resource_name = b.pattern.name,
                               .pattern_type = static_cast<int8_t>(b.pattern.pattern_type),
                               .acls = {}});
    }
    out.resources.back().acls.push_back(
        {.principal = b.entry.principal,
         .host = b.entry.host,
         .operation = static_cast<int8_t>(b.entry.operation),
         .permission_type = static_cast<int8_t>(b.entry.permission)});
  }
  return out;
}

// --- DeleteAcls ---

metadata::DeleteAclsRequest ToRequestLayer(const DeleteAclsRequest& request, int16_t /*version*/) {
  metadata::DeleteAclsRequest out;
  for (const DeleteAclsRequest::Filter& f : request.filters) {
    out.filters.push_back(Filter(f.resource_type_filter, f.resource_name_filter,
                                 f.pattern_type_filter, f.principal_filter, f.host_filter,
                                 f.operation, f.permission_type));
  }
  return out;
}

DeleteAclsResponse FromRequestLayer(const DeleteAclsRequest& request,
                                    const metadata::DeleteAclsResponse& answer,
                                    int16_t /*version*/) {
  DeleteAclsResponse out;
  out.throttle_time_ms = 0;
  for (size_t i = 0; i < request.filters.size(); ++i) {
    DeleteAclsResponse::FilterResult& r = out.filter_results.emplace_back();
    if (answer.error != ErrorCode::kNone) {
      r.error_code = Code(answer.error);
      r.error_message = ErrorMessageField(answer.error, answer.error_message);
      continue;
    }
    if (i >= answer.results.size()) {
      r.error_code = Code(ErrorCode::kUnknownServerError);
      r.error_message = "no answer for this filter";
      continue;
    }
    const metadata::DeleteAclsFilterResult& a = answer.results[i];
    r.error_code = Code(a.error);
    r.error_message = ErrorMessageField(a.error, a.error_message);
    for (const security::AclBinding& b : a.matching) {
      r.matching_acls.push_back({.error_code = 0,
                                 .error_message = std::nullopt,
                                 .resource_type = static_cast<int8_t>(b.pattern.type),
                                 .resource_name = b.pattern.name,
                                 .pattern_type = static_cast<int8_t>(b.pattern.pattern_type),
                                 .principal = b.entry.principal,
                                 .host = b.entry.host,
                                 .operation = static_cast<int8_t>(b.entry.operation),
                                 .permission_type = static_cast<int8_t>(b.entry.permission)});
    }
  }
  return out;
}

// --- DescribeClientQuotas ---

metadata::DescribeClientQuotasRequest ToRequestLayer(const DescribeClientQuotasRequest& request,
                                                     int16_t /*version*/) {
  metadata::DescribeClientQuotasRequest out;
  out.strict = request.strict;
  for (const DescribeClientQuotasRequest::Component& c : request.components) {
    out.components.push_back(
        {.entity_type = c.entity_type, .match_type = c.match_type, .match = c.match});
  }
  return out;
}

DescribeClientQuotasResponse FromRequestLayer(const DescribeClientQuotasRequest& /*request*/,
                                              const metadata::DescribeClientQuotasResponse& answer,
                                              int16_t /*version*/) {
  DescribeClientQuotasResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  out.error_message = ErrorMessageField(answer.error, answer.error_message);
  if (answer.error != ErrorCode::kNone) {
    out.entries = std::nullopt;
    return out;
  }
  out.entries.emplace();
  for (const metadata::ClientQuotaEntry& e : answer.entries) {
    DescribeClientQuotasResponse::Entry& entry = out.entries->emplace_back();
    entry.entity = KafkaEntityOf<DescribeClientQuotasResponse::Entity>(e.entity);
    for (const auto& [key, value] : e.values) entry.values.push_back({key, value});
  }
  return out;
}

// --- AlterClientQuotas ---

metadata::AlterClientQuotasRequest ToRequestLayer(const AlterClientQuotasRequest& request,
                                                  int16_t /*version*/) {
  metadata::AlterClientQuotasRequest out;
  out.validate_only = request.validate_only;
  for (const AlterClientQuotasRequest::Entry& e : request.entries) {
    metadata::ClientQuotaAlteration& a = out.entries.emplace_back();
    a.entity = Entity(e.entity);
    for (const AlterClientQuotasRequest::Op& op : e.ops) {
      a.ops.push_back({.key = op.key, .value = op.remove ? std::nullopt : std::optional(op.value)});
    }
  }
  return out;
}

AlterClientQuotasResponse FromRequestLayer(const AlterClientQuotasRequest& request,
                                           const metadata::AlterClientQuotasResponse& answer,
                                           int16_t /*version*/) {
  AlterClientQuotasResponse out;
  out.throttle_time_ms = 0;
  for (size_t i = 0; i < request.entries.size(); ++i) {
    AlterClientQuotasResponse::Entry& r = out.entries.emplace_back();
    // The entity as the client sent it, which its admin client matches on.
    for (const AlterClientQuotasRequest::Entity& e : request.entries[i].entity) {
      r.entity.push_back({e.entity_type, e.entity_name});
    }
    if (answer.error != ErrorCode::kNone) {
      r.error_code = Code(answer.error);
      r.error_message = ErrorMessageField(answer.error, answer.error_message);
    } else if (i < answer.results.size()) {
      r.error_code = Code(answer.results[i].error);
      r.error_message = ErrorMessageField(answer.results[i].error, answer.results[i].error_message);
    } else {
      r.error_code = Code(ErrorCode::kUnknownServerError);
      r.error_message = "no answer for this entity";
    }
  }
  return out;
}

// --- DescribeUserScramCredentials ---

metadata::DescribeUserScramCredentialsRequest ToRequestLayer(
    const DescribeUserScramCredentialsRequest& request, int16_t /*version*/) {
  metadata::DescribeUserScramCredentialsRequest out;
  if (request.users.has_value() && !request.users->empty()) {
    out.users.emplace();
    for (const DescribeUserScramCredentialsRequest::User& u : *request.users) {
      out.users->push_back(u.name);
    }
  }
  return out;
}

DescribeUserScramCredentialsResponse FromRequestLayer(
    const DescribeUserScramCredentialsRequest& /*request*/,
    const metadata::DescribeUserScramCredentialsResponse& answer, int16_t /*version*/) {
  DescribeUserScramCredentialsResponse out;
  out.throttle_time_ms = 0;
  out.error_code = Code(answer.error);
  out.error_message = ErrorMessageField(answer.error, answer.error_message);
  for (const metadata::DescribeUserScramCredentialsResult& r : answer.results) {
    DescribeUserScramCredentialsResponse::Result& o = out.results.emplace_back();
    o.user = r.user;
    o.error_code = Code(r.error);
    o.error_message = ErrorMessageField(r.error, r.error_message);
    for (const metadata::ScramCredentialInfo& c : r.credentials) {
      o.credential_infos.push_back(
          {.mechanism = static_cast<int8_t>(c.mechanism), .iterations = c.iterations});
    }
  }
  return out;
}

// --- AlterUserScramCredentials ---

metadata::AlterUserScramCredentialsRequest ToRequestLayer(
    const AlterUserScramCredentialsRequest& request, int16_t /*version*/) {
  metadata::AlterUserScramCredentialsRequest out;
  for (const AlterUserScramCredentialsRequest::Deletion& d : request.deletions) {
    out.deletions.push_back({.user = d.name, .mechanism = d.mechanism});
  }
  for (const AlterUserScramCredentialsRequest::Upsertion& u : request.upsertions) {
    out.upsertions.push_back({.user = u.name,
                              .mechanism = u.mechanism,
                              .iterations = u.iterations,
                              .salt = u.salt,
                              .salted_password = u.salted_password});
  }
  return out;
}

AlterUserScramCredentialsResponse FromRequestLayer(
    const AlterUserScramCredentialsRequest& request,
    const metadata::AlterUserScramCredentialsResponse& answer, int16_t /*version*/) {
  AlterUserScramCredentialsResponse out;
  out.throttle_time_ms = 0;
  if (answer.error == ErrorCode::kNone) {
    for (const metadata::AlterUserScramCredentialResult& r : answer.results) {
      out.results.push_back({.user = r.user,
                             .error_code = Code(r.error),
                             .error_message = ErrorMessageField(r.error, r.error_message)});
    }
    return out;
  }
  // Every user named, once, in order of first mention.
  std::set<std::string> named;
  auto fail = [&](const std::string& user) {
    if (!named.insert(user).second) return;
    out.results.push_back({.user = user,
                           .error_code = Code(answer.error),
                           .error_message = ErrorMessageField(answer.error, answer.error_message)});
  };
  for (const AlterUserScramCredentialsRequest::Deletion& d : request.deletions) fail(d.name);
  for (const AlterUserScramCredentialsRequest::Upsertion& u : request.upsertions) fail(u.name);
  return out;
}

}  // namespace strata::kafka
