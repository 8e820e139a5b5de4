// The security admin calls — Kafka's CreateAcls, DescribeAcls, DeleteAcls,
// DescribeUserScramCredentials, AlterUserScramCredentials,
// DescribeClientQuotas and AlterClientQuotas — as the broker's own,
// protocol-neutral requests and responses, like admin_types.h's.
//
// Writes: metadata::Controller::AlterSecurity decides one of the four
// (AlterSecurityRequest holds which) as one metadata batch; each transport
// decodes its wire message into these and encodes the answer back.
// Reads: Describe* below answer from a node's own image (no controller).
//
// Codes stay Kafka's everywhere (ACL enums are security::'s, whose values
// are Kafka's wire codes; a SCRAM mechanism is Kafka's int8 code, 1
// SCRAM-SHA-256 and 2 SCRAM-SHA-512, kept as a number so that one nobody
// knows can be refused with UNSUPPORTED_SASL_MECHANISM). Errors are
// strata::ErrorCode, per creation / filter / user / entity, or for the call
// as a whole (NOT_CONTROLLER, REQUEST_TIMED_OUT).
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/metadata/admin_types.h"
#include "broker/metadata/metadata_image.h"
#include "broker/security/acl.h"
#include "broker/security/quota.h"
#include "client/common/error_code.h"
#include "client/security/scram.h"

namespace strata::metadata {

// --- Kafka's codes ---

// A code read off a wire as the enum, or kUnknown for a number Kafka does
// not define (as Kafka's fromCode), so validation refuses it.
security::ResourceType ResourceTypeOfCode(int32_t code);
security::PatternType PatternTypeOfCode(int32_t code);
security::AclOperation AclOperationOfCode(int32_t code);
security::AclPermissionType AclPermissionTypeOfCode(int32_t code);

// Kafka's ScramMechanism codes: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512; any other
// is nullopt (UNKNOWN).
std::optional<security::ScramMechanism> ScramMechanismOfCode(int32_t code);
int8_t ScramMechanismCode(security::ScramMechanism mechanism);

// --- CreateAcls ---

struct CreateAclsRequest {
  std::vector<security::AclBinding> creations;
};

struct AclCreationResult {
  ErrorCode error = ErrorCode::kNone;  // INVALID_REQUEST: the binding cannot be stored
  std::string error_message;
};

struct CreateAclsResponse {
  ErrorCode error = ErrorCode::kNone;  // for the call as a whole
  std::string error_message;
  std::vector<AclCreationResult> results;  // one per creation, in order
};

// --- DeleteAcls ---

struct DeleteAclsRequest {
  std::vector<security::AclBindingFilter> filters;
};

struct DeleteAclsFilterResult {
  ErrorCode error = ErrorCode::kNone;  // INVALID_REQUEST: a filter with an UNKNOWN field
  std::string error_message;
  // The bindings the filter matched, all removed (one matched by two
  // filters is in both results), in the image's order.
  std::vector<security::AclBinding> matching;
};

struct DeleteAclsResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::vector<DeleteAclsFilterResult> results;  // one per filter, in order
};

// --- DescribeAcls (read) ---

struct DescribeAclsRequest {
  security::AclBindingFilter filter;
};

struct DescribeAclsResponse {
  ErrorCode error = ErrorCode::kNone;  // INVALID_REQUEST: a filter with an UNKNOWN field
  std::string error_message;
  // Sorted by pattern, then entry (security::AclSnapshot's order), so a
  // transport groups them by resource pattern in one pass.
  std::vector<security::AclBinding> bindings;
};

// --- AlterUserScramCredentials (KIP-554) ---

struct ScramCredentialDeletion {
  std::string user;
  int32_t mechanism = 0;  // Kafka's code
};

// As Kafka's admin client sends it: the salt and the salted password
// (PBKDF2-HMAC of the password); the controller derives the stored key and
// the server key from the salted password and stores those.
struct ScramCredentialUpsertion {
  std::string user;
  int32_t mechanism = 0;
  int32_t iterations = 0;
  std::string salt;             // raw bytes
  std::string salted_password;  // raw bytes
};

struct AlterUserScramCredentialsRequest {
  std::vector<ScramCredentialDeletion> deletions;
  std::vector<ScramCredentialUpsertion> upsertions;
};

struct AlterUserScramCredentialResult {
  std::string user;
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
};

struct AlterUserScramCredentialsResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  // One per user named, as Kafka's ScramControlManager answers: the
  // deletions made, the upsertions made, then the users refused, each in
  // the order the request first names them.
  std::vector<AlterUserScramCredentialResult> results;
};

// --- DescribeUserScramCredentials (read) ---

struct DescribeUserScramCredentialsRequest {
  // nullopt or empty: every user with a credential (Kafka's null / empty).
  std::optional<std::vector<std::string>> users;
};

struct ScramCredentialInfo {
  int32_t mechanism = 0;  // Kafka's code
  int32_t iterations = 0;
};

struct DescribeUserScramCredentialsResult {
  std::string user;
  // RESOURCE_NOT_FOUND: no credential; DUPLICATE_RESOURCE: asked for twice.
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::vector<ScramCredentialInfo> credentials;  // by mechanism code
};

struct DescribeUserScramCredentialsResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  // One per user asked for, in request order (duplicates answered once);
  // every user with a credential, sorted, when none was named.
  std::vector<DescribeUserScramCredentialsResult> results;
};

// --- Client quotas (KIP-546) ---

inline constexpr char kQuotaEntityUser[] = "user";
inline constexpr char kQuotaEntityClientId[] = "client-id";

// The quota keys Kafka's user and client-id entities take.
inline constexpr char kProducerByteRate[] = "producer_byte_rate";
inline constexpr char kConsumerByteRate[] = "consumer_byte_rate";
inline constexpr char kRequestPercentage[] = "request_percentage";
inline constexpr char kControllerMutationRate[] = "controller_mutation_rate";

// One part of an entity as a wire carries it: type "user" / "client-id"
// (anything else is refused by the controller), name nullopt for the
// <default> entity of the type.
struct QuotaEntityPart {
  std::string type;
  std::optional<std::string> name;

  bool operator==(const QuotaEntityPart&) const = default;
};
using QuotaEntityParts = std::vector<QuotaEntityPart>;

// The parts of `entity` as a wire carries them: user first, then client-id.
QuotaEntityParts PartsOf(const security::QuotaEntity& entity);
// Whether `a` and `b` are the same entity (same parts, any order).
bool SameQuotaEntity(const security::QuotaEntity& a, const security::QuotaEntity& b);

struct QuotaOp {
  std::string key;
  std::optional<double> value;  // nullopt: remove
};

struct ClientQuotaAlteration {
  QuotaEntityParts entity;
  std::vector<QuotaOp> ops;
};

struct AlterClientQuotasRequest {
  std::vector<ClientQuotaAlteration> entries;
  bool validate_only = false;
};

struct ClientQuotaAlterationResult {
  QuotaEntityParts entity;  // as the request gave it
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
};

struct AlterClientQuotasResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::vector<ClientQuotaAlterationResult> results;  // one per entry, in order
};

// --- DescribeClientQuotas (read) ---

// Kafka's ClientQuotaFilterComponent match types.
enum class QuotaMatchType : int32_t {
  kExact = 0,      // the entity named `match`
  kDefault = 1,    // the <default> entity
  kSpecified = 2,  // any entity with a part of the type
};

struct QuotaFilterComponent {
  std::string entity_type;
  int32_t match_type = 0;  // QuotaMatchType; kept as the number read
  std::optional<std::string> match;
};

struct DescribeClientQuotasRequest {
  std::vector<QuotaFilterComponent> components;
  bool strict = false;
};

struct ClientQuotaEntry {
  QuotaEntityParts entity;
  std::map<std::string, double> values;
};

struct DescribeClientQuotasResponse {
  ErrorCode error = ErrorCode::kNone;  // INVALID_REQUEST for a filter Kafka refuses
  std::string error_message;
  std::vector<ClientQuotaEntry> entries;  // in the image's order
};

// --- The one write the controller decides ---

struct AlterSecurityRequest {
  std::variant<CreateAclsRequest, DeleteAclsRequest, AlterUserScramCredentialsRequest,
               AlterClientQuotasRequest>
      op;
};

// Holds the response type of the request's case.
struct AlterSecurityResponse {
  std::variant<CreateAclsResponse, DeleteAclsResponse, AlterUserScramCredentialsResponse,
               AlterClientQuotasResponse>
      op;
};

// The response type of each request type.
template <typename Request>
struct SecurityResponseFor;
template <>
struct SecurityResponseFor<CreateAclsRequest> {
  using type = CreateAclsResponse;
};
template <>
struct SecurityResponseFor<DeleteAclsRequest> {
  using type = DeleteAclsResponse;
};
template <>
struct SecurityResponseFor<AlterUserScramCredentialsRequest> {
  using type = AlterUserScramCredentialsResponse;
};
template <>
struct SecurityResponseFor<AlterClientQuotasRequest> {
  using type = AlterClientQuotasResponse;
};
template <typename Request>
using SecurityResponseOf = typename SecurityResponseFor<Request>::type;

// The response of `request`'s case, with `code` and `message` for the call
// as a whole: the answer when it cannot be decided or committed at all.
void FailWhole(const AlterSecurityRequest& request, ErrorCode code, const std::string& message,
               AlterSecurityResponse* response);

// Whether `image` shows every change `response` reports as made for
// `request` (see admin_types.h's ImageShows). A response of another case
// than the request's shows nothing to wait for.
bool ImageShows(const MetadataImage& image, const AlterSecurityRequest& request,
                const AlterSecurityResponse& response);

// The answer of `response` for the case `Response`, or a whole-call
// UNKNOWN_SERVER_ERROR naming `call` when it holds another case (a peer
// that answered the wrong call).
template <typename Response>
Response ResponseOf(AlterSecurityResponse response, std::string_view call) {
  if (Response* r = std::get_if<Response>(&response.op)) return std::move(*r);
  Response out;
  out.error = ErrorCode::kUnknownServerError;
  out.error_message = std::string("the controller answered another call than ") + std::string(call);
  return out;
}

// --- The reads, from one node's image ---

DescribeAclsResponse DescribeAcls(const MetadataImage& image, const DescribeAclsRequest& request);
DescribeUserScramCredentialsResponse DescribeUserScramCredentials(
    const MetadataImage& image, const DescribeUserScramCredentialsRequest& request);
// Kafka's ClientQuotasImage.describe: EXACT and DEFAULT components must
// match the entity's part of that type, a SPECIFIED one any part of that
// type (the <default> too, as KRaft's image answers); no component: every
// entity unless `strict`; `strict` leaves out entities with parts no
// component names. A
// component with an empty or unknown type, a type twice, or a match that
// does not fit its match type is INVALID_REQUEST, an unknown type Kafka's
// UNSUPPORTED_VERSION ("ip" is known, but no entity of it is ever stored).
DescribeClientQuotasResponse DescribeClientQuotas(const MetadataImage& image,
                                                  const DescribeClientQuotasRequest& request);

// --- Records (metadata.proto) <-> values ---

// A binding from an AccessControlEntryRecord or a
// RemoveAccessControlEntryRecord (the same fields), and back.
template <typename AclRecord>
security::AclBinding BindingOfRecord(const AclRecord& r) {
  security::AclBinding b;
  b.pattern.type = ResourceTypeOfCode(r.resource_type());
  b.pattern.name = r.resource_name();
  b.pattern.pattern_type = PatternTypeOfCode(r.pattern_type());
  b.entry.principal = r.principal();
  b.entry.host = r.host();
  b.entry.operation = AclOperationOfCode(r.operation());
  b.entry.permission = AclPermissionTypeOfCode(r.permission_type());
  return b;
}
template <typename AclRecord>
void SetRecordBinding(const security::AclBinding& b, AclRecord* r) {
  r->set_resource_type(static_cast<int32_t>(b.pattern.type));
  r->set_resource_name(b.pattern.name);
  r->set_pattern_type(static_cast<int32_t>(b.pattern.pattern_type));
  r->set_principal(b.entry.principal);
  r->set_host(b.entry.host);
  r->set_operation(static_cast<int32_t>(b.entry.operation));
  r->set_permission_type(static_cast<int32_t>(b.entry.permission));
}

// The entity `parts` name: INVALID_ARGUMENT with Kafka's message for none,
// a type twice, a type other than "user" and "client-id", or an empty name.
absl::StatusOr<security::QuotaEntity> QuotaEntityOf(const QuotaEntityParts& parts);
// A ClientQuotaRecord's entity, as parts.
QuotaEntityParts PartsOfRecord(const internal::ClientQuotaRecord& record);
void SetRecordEntity(const security::QuotaEntity& entity, internal::ClientQuotaRecord* record);
// The order ClientQuotas are kept in (see metadata_image.h).
bool QuotaEntityLess(const security::QuotaEntity& a, const security::QuotaEntity& b);

}  // namespace strata::metadata
