// The controller's security writes, as KRaft decides them:
//
//   CreateAcls    AclControlManager.createAcls: each binding checked
//                 (security::ValidateAclBinding, INVALID_REQUEST with its
//                 message); a binding the image holds, or an earlier
//                 creation of the same request, writes nothing and succeeds.
//   DeleteAcls    AclControlManager.deleteAcls: each filter checked
//                 (ValidateAclBindingFilter), its matches answered and
//                 removed; a binding matched by two filters is in both
//                 answers and removed once.
//   AlterUserScramCredentials  ScramControlManager.alterCredentials: a user
//                 altered twice is DUPLICATE_RESOURCE (every later mention
//                 of the user is then ignored), an empty name or iterations
//                 outside [4096, 16384] UNACCEPTABLE_CREDENTIAL, an unknown
//                 mechanism UNSUPPORTED_SASL_MECHANISM, deleting a credential
//                 that does not exist RESOURCE_NOT_FOUND. The stored and
//                 server keys are derived here from the salted password
//                 (RFC 5802), which is not kept.
//   AlterClientQuotas  ClientQuotaControlManager.alterClientQuotas: the
//                 entity checked (user and/or client-id, each once, names
//                 not empty), each key once, known and with a valid value;
//                 an entity named twice in one request is refused both
//                 times. A refused entity writes nothing; an unchanged value
//                 writes nothing; validate_only writes nothing at all.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metadata/controller.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

using security::AclBinding;

Decision<CreateAclsResponse> DecideCreateAcls(const MetadataImage& image,
                                              const CreateAclsRequest& request) {
  Decision<CreateAclsResponse> d;
  const std::vector<AclBinding>& held = image.acls()->bindings();
  std::set<AclBinding> added;
  for (const AclBinding& b : request.creations) {
    AclCreationResult& r = d.response.results.emplace_back();
    if (absl::Status s = security::ValidateAclBinding(b); !s.ok()) {
      r.error = ErrorCode::kInvalidRequest;
      r.error_message = std::string(s.message());
      continue;
    }
    if (std::binary_search(held.begin(), held.end(), b) || !added.insert(b).second) continue;
    SetRecordBinding(b, d.records.add_records()->mutable_access_control_entry());
  }
  return d;
}

Decision<DeleteAclsResponse> DecideDeleteAcls(const MetadataImage& image,
                                              const DeleteAclsRequest& request) {
  Decision<DeleteAclsResponse> d;
  std::set<AclBinding> removed;
  for (const security::AclBindingFilter& filter : request.filters) {
    DeleteAclsFilterResult& r = d.response.results.emplace_back();
    if (absl::Status s = security::ValidateAclBindingFilter(filter); !s.ok()) {
      r.error = ErrorCode::kInvalidRequest;
      r.error_message = std::string(s.message());
      continue;
    }
    r.matching = image.acls()->Find(filter);
    for (const AclBinding& b : r.matching) {
      if (removed.insert(b).second) {
        SetRecordBinding(b, d.records.add_records()->mutable_remove_access_control_entry());
      }
    }
  }
  return d;
}

// --- SCRAM ---

const EVP_MD* Digest(security::ScramMechanism m) {
  return m == security::ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

std::string Hmac(security::ScramMechanism m, const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK(HMAC(Digest(m), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
             &len) != nullptr)
      << "HMAC failed";
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Hash(security::ScramMechanism m, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK_EQ(EVP_Digest(data.data(), data.size(), out, &len, Digest(m), nullptr), 1)
      << "digest failed";
  return std::string(reinterpret_cast<const char*>(out), len);
}

// ScramControlManager.validateScramUsernameAndMechanism.
std::optional<AlterUserScramCredentialResult> RefuseUserAndMechanism(const std::string& user,
                                                                     int32_t mechanism) {
  if (user.empty()) {
    return AlterUserScramCredentialResult{user, ErrorCode::kUnacceptableCredential,
                                          "Username must not be empty"};
  }
  if (!ScramMechanismOfCode(mechanism)) {
    return AlterUserScramCredentialResult{user, ErrorCode::kUnsupportedSaslMechanism,
                                          absl::StrCat("Unknown SCRAM mechanism ", mechanism)};
  }
  return std::nullopt;
}

Decision<AlterUserScramCredentialsResponse> DecideAlterScram(
    const MetadataImage& image, const AlterUserScramCredentialsRequest& request) {
  // What each user named gets, in order of first mention: one deletion, one
  // upsertion, or an error (which sticks: later mentions are ignored).
  struct Plan {
    const ScramCredentialDeletion* deletion = nullptr;
    const ScramCredentialUpsertion* upsertion = nullptr;
    std::optional<AlterUserScramCredentialResult> error;
  };
  std::vector<std::string> order;
  std::map<std::string, Plan> plans;
  auto plan_of = [&](const std::string& user) -> Plan& {
    auto [it, inserted] = plans.try_emplace(user);
    if (inserted) order.push_back(user);
    return it->second;
  };
  auto duplicate = [](const std::string& user) {
    return AlterUserScramCredentialResult{
        user, ErrorCode::kDuplicateResource,
        "A user credential cannot be altered twice in the same request"};
  };
  for (const ScramCredentialDeletion& del : request.deletions) {
    Plan& p = plan_of(del.user);
    if (p.error) continue;
    if (p.deletion != nullptr) {
      p.deletion = nullptr;
      p.error = duplicate(del.user);
      continue;
    }
    if ((p.error = RefuseUserAndMechanism(del.user, del.mechanism))) continue;
    if (!image.ScramCredential(del.user, *ScramMechanismOfCode(del.mechanism))) {
      p.error =
          AlterUserScramCredentialResult{del.user, ErrorCode::kResourceNotFound,
                                         "Attempt to delete a user credential that does not exist"};
      continue;
    }
    p.deletion = &del;
  }
  for (const ScramCredentialUpsertion& up : request.upsertions) {
    Plan& p = plan_of(up.user);
    if (p.error) continue;
    if (p.deletion != nullptr || p.upsertion != nullptr) {
      p.deletion = nullptr;
      p.upsertion = nullptr;
      p.error = duplicate(up.user);
      continue;
    }
    if ((p.error = RefuseUserAndMechanism(up.user, up.mechanism))) continue;
    if (up.iterations < security::kMinScramIterations) {
      p.error = AlterUserScramCredentialResult{up.user, ErrorCode::kUnacceptableCredential,
                                               "Too few iterations"};
    } else if (up.iterations > security::kMaxScramIterations) {
      p.error = AlterUserScramCredentialResult{up.user, ErrorCode::kUnacceptableCredential,
                                               "Too many iterations"};
    } else if (up.salt.empty() || up.salted_password.empty()) {
      p.error = AlterUserScramCredentialResult{up.user, ErrorCode::kUnacceptableCredential,
                                               "The salt and the salted password must not be "
                                               "empty"};
    } else {
      p.upsertion = &up;
    }
  }

  Decision<AlterUserScramCredentialsResponse> d;
  for (const std::string& user : order) {
    const ScramCredentialDeletion* del = plans[user].deletion;
    if (del == nullptr) continue;
    internal::RemoveUserScramCredentialRecord* r =
        d.records.add_records()->mutable_remove_user_scram_credential();
    r->set_name(del->user);
    r->set_mechanism(del->mechanism);
    d.response.results.push_back({user, ErrorCode::kNone, ""});
  }
  for (const std::string& user : order) {
    const ScramCredentialUpsertion* up = plans[user].upsertion;
    if (up == nullptr) continue;
    const security::ScramMechanism m = *ScramMechanismOfCode(up->mechanism);
    internal::UserScramCredentialRecord* r =
        d.records.add_records()->mutable_user_scram_credential();
    r->set_name(up->user);
    r->set_mechanism(up->mechanism);
    r->set_salt(up->salt);
    r->set_stored_key(Hash(m, Hmac(m, up->salted_password, "Client Key")));
    r->set_server_key(Hmac(m, up->salted_password, "Server Key"));
    r->set_iterations(up->iterations);
    d.response.results.push_back({user, ErrorCode::kNone, ""});
  }
  for (const std::string& user : order) {
    if (plans[user].error) d.response.results.push_back(*plans[user].error);
  }
  return d;
}

// --- Client quotas ---

// Kafka's QuotaConfigs for users and client ids: the byte rates are LONGs,
// the others DOUBLEs.
enum class QuotaValueType { kLong, kDouble };
std::optional<QuotaValueType> QuotaKeyType(const std::string& key) {
  if (key == kProducerByteRate || key == kConsumerByteRate) return QuotaValueType::kLong;
  if (key == kRequestPercentage || key == kControllerMutationRate) return QuotaValueType::kDouble;
  return std::nullopt;
}

// Why `value` cannot be `key`'s quota, if it cannot.
std::optional<std::string> RefuseQuotaValue(const std::string& key, double value) {
  const std::optional<QuotaValueType> type = QuotaKeyType(key);
  if (!type) return absl::StrCat("Invalid configuration key ", key);
  if (!std::isfinite(value)) return absl::StrCat("Configuration ", key, " must be a finite number");
  if (key == kRequestPercentage ? value <= 0 : value < 0) {
    return absl::StrCat("Configuration ", key, " must be ",
                        key == kRequestPercentage ? "greater than 0" : "at least 0", ", not ",
                        value);
  }
  // Kafka's check: within 1e-6 of a long.
  if (*type == QuotaValueType::kLong && std::abs(std::round(value) - value) > 1e-6) {
    return absl::StrCat("Configuration ", key, " must be a Long value");
  }
  return std::nullopt;
}

std::string EntityText(const QuotaEntityParts& parts) {
  std::vector<std::string> items;
  for (const QuotaEntityPart& p : parts) {
    items.push_back(absl::StrCat(p.type, "=", p.name.value_or("<default>")));
  }
  return absl::StrCat("ClientQuotaEntity(entries={", absl::StrJoin(items, ", "), "})");
}

Decision<AlterClientQuotasResponse> DecideAlterQuotas(const MetadataImage& image,
                                                      const AlterClientQuotasRequest& request) {
  Decision<AlterClientQuotasResponse> d;
  std::vector<std::optional<security::QuotaEntity>> entities;
  for (const ClientQuotaAlteration& entry : request.entries) {
    absl::StatusOr<security::QuotaEntity> e = QuotaEntityOf(entry.entity);
    entities.push_back(e.ok() ? std::optional(*e) : std::nullopt);
  }
  for (size_t i = 0; i < request.entries.size(); ++i) {
    const ClientQuotaAlteration& entry = request.entries[i];
    ClientQuotaAlterationResult& r = d.response.results.emplace_back();
    r.entity = entry.entity;
    auto refuse = [&r](std::string message) {
      r.error = ErrorCode::kInvalidRequest;
      r.error_message = std::move(message);
    };
    absl::StatusOr<security::QuotaEntity> entity = QuotaEntityOf(entry.entity);
    if (!entity.ok()) {
      refuse(std::string(entity.status().message()));
      continue;
    }
    bool duplicate = false;
    for (size_t j = 0; j < entities.size(); ++j) {
      duplicate |= j != i && entities[j] && SameQuotaEntity(*entities[j], *entity);
    }
    if (duplicate) {
      refuse(absl::StrCat("Ignoring duplicate entity ", EntityText(entry.entity)));
      continue;
    }
    std::map<std::string, std::optional<double>> ops;
    for (const QuotaOp& op : entry.ops) {
      if (!ops.emplace(op.key, op.value).second) {
        refuse(absl::StrCat("Duplicate quota key ", op.key, " not updating quota for this entity ",
                            EntityText(entry.entity)));
        break;
      }
      if (!op.value) continue;  // a removal: nothing to check
      if (std::optional<std::string> why = RefuseQuotaValue(op.key, *op.value)) {
        refuse(*why);
        break;
      }
    }
    if (r.error != ErrorCode::kNone || request.validate_only) continue;
    static const std::map<std::string, double> kNone;
    const std::map<std::string, double>* current = &kNone;
    for (const auto& [e, values] : *image.client_quotas()) {
      if (SameQuotaEntity(e, *entity)) current = &values;
    }
    for (const auto& [key, value] : ops) {
      auto it = current->find(key);
      const bool unchanged =
          value ? (it != current->end() && it->second == *value) : it == current->end();
      if (unchanged) continue;
      internal::ClientQuotaRecord* rec = d.records.add_records()->mutable_client_quota();
      SetRecordEntity(*entity, rec);
      rec->set_key(key);
      if (value) rec->set_value(*value);
    }
  }
  return d;
}

// A decision of one case as the decision of the combined call.
template <typename Response>
Decision<AlterSecurityResponse> Combined(Decision<Response> d) {
  Decision<AlterSecurityResponse> out;
  out.records = std::move(d.records);
  out.response.op = std::move(d.response);
  return out;
}

}  // namespace

Decision<AlterSecurityResponse> Controller::AlterSecurity(const MetadataImage& image,
                                                          const AlterSecurityRequest& request) {
  return std::visit(
      [&image](const auto& q) -> Decision<AlterSecurityResponse> {
        using Request = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<Request, CreateAclsRequest>) {
          return Combined(DecideCreateAcls(image, q));
        } else if constexpr (std::is_same_v<Request, DeleteAclsRequest>) {
          return Combined(DecideDeleteAcls(image, q));
        } else if constexpr (std::is_same_v<Request, AlterUserScramCredentialsRequest>) {
          return Combined(DecideAlterScram(image, q));
        } else {
          return Combined(DecideAlterQuotas(image, q));
        }
      },
      request.op);
}

}  // namespace strata::metadata
