#include "broker/server/sasl_sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/security/sasl.h"
#include "glog/logging.h"

namespace strata::server {

namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kSessionIdBytes = 16;
// Far above any SASL message; a larger one is not worth parsing.
constexpr size_t kMaxAuthBytes = 64 << 10;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  CHECK_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)), 1)
      << "RAND_bytes failed";
  std::string hex = absl::BytesToHexString(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return hex;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

SaslStep Error(ErrorCode code, std::string message) {
  SaslStep step;
  step.error = code;
  step.error_message = std::move(message);
  return step;
}

bool Enabled(const std::vector<std::string>& mechanisms, const std::string& m) {
  return std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end();
}

}  // namespace

SaslSessions::SaslSessions(SaslSessionsOptions options) : options_(std::move(options)) {}
SaslSessions::~SaslSessions() = default;

SaslStep SaslSessions::Authenticate(const std::string& mechanism, const std::string& auth_bytes,
                                    const std::string& session_id) {
  if (!Enabled(options_.enabled_mechanisms, mechanism)) {
    // Kafka's SaslServerAuthenticator message, and what is on offer.
    return Error(ErrorCode::kUnsupportedSaslMechanism,
                 absl::StrCat("Unsupported SASL mechanism ", mechanism, " (enabled: ",
                              absl::StrJoin(options_.enabled_mechanisms, ", "), ")"));
  }
  if (auth_bytes.size() > kMaxAuthBytes) {
    return Error(ErrorCode::kSaslAuthenticationFailed,
                 absl::StrCat("SASL message of ", auth_bytes.size(), " bytes is too long"));
  }
  if (mechanism == "PLAIN") {
    if (!session_id.empty()) {
      return Error(ErrorCode::kIllegalSaslState, "PLAIN takes one message, without a session_id");
    }
    return Plain(auth_bytes);
  }
  if (!security::ParseScramMechanism(mechanism).has_value()) {
    return Error(ErrorCode::kUnsupportedSaslMechanism,
                 absl::StrCat("Unsupported SASL mechanism ", mechanism));
  }
  return session_id.empty() ? ScramFirst(mechanism, auth_bytes)
                            : ScramFinal(mechanism, auth_bytes, session_id);
}

SaslStep SaslSessions::Plain(const std::string& auth_bytes) {
  absl::StatusOr<security::PlainCredentials> plain = security::ParsePlainMessage(auth_bytes);
  if (!plain.ok()) {
    return Error(ErrorCode::kSaslAuthenticationFailed, std::string(plain.status().message()));
  }
  auto it = options_.plain_users.find(plain->username);
  // Compared in constant time, and an unknown user costs the same compare
  // (no short cut that would tell it apart by timing).
  const bool known = it != options_.plain_users.end();
  const std::string& expected = known ? it->second : plain->password;
  const size_t n = std::min(expected.size(), plain->password.size());
  const bool equal = CRYPTO_memcmp(expected.data(), plain->password.data(), n) == 0;
  const bool match = known & (expected.size() == plain->password.size()) & equal;
  OPENSSL_cleanse(plain->password.data(), plain->password.size());
  if (!match) {
    return Error(ErrorCode::kSaslAuthenticationFailed,
                 security::AuthenticationFailedMessage("PLAIN"));
  }
  return Issue(plain->username, "");
}

SaslStep SaslSessions::ScramFirst(const std::string& mechanism, const std::string& auth_bytes) {
  const security::ScramMechanism m = *security::ParseScramMechanism(mechanism);
  ScramCredentialLookup lookup = options_.scram_credentials;
  auto server = std::make_unique<security::ScramServer>(
      m, [lookup, m](const std::string& user) -> std::optional<security::ScramCredential> {
        if (!lookup) return std::nullopt;
        return lookup(m, user);
      });
  absl::StatusOr<std::string> server_first = server->Step(auth_bytes);
  if (!server_first.ok()) {
    return Error(ErrorCode::kSaslAuthenticationFailed,
                 std::string(server_first.status().message()));
  }
  const int64_t now = options_.clock->NowMs();
  SaslStep step;
  step.auth_bytes = *std::move(server_first);
  step.session_id = RandomHex(kSessionIdBytes);
  absl::MutexLock l(&mu_);
  DropExpired(now);
  if (handshakes_.size() >= options_.max_handshakes) {
    return Error(ErrorCode::kUnknownServerError,
                 "too many SASL authentications in progress; try again later");
  }
  const int64_t expires = now + options_.handshake_timeout_ms;
  handshakes_[step.session_id] = Handshake{std::move(server), mechanism, expires};
  handshake_expiry_.emplace(expires, step.session_id);
  return step;
}

SaslStep SaslSessions::ScramFinal(const std::string& mechanism, const std::string& auth_bytes,
                                  const std::string& session_id) {
  Handshake handshake;
  {
    absl::MutexLock l(&mu_);
    DropExpired(options_.clock->NowMs());
    auto it = handshakes_.find(session_id);
    if (it == handshakes_.end()) {
      return Error(ErrorCode::kIllegalSaslState,
                   "unknown or expired SASL session_id: start the authentication again");
    }
    // An exchange gets one try at its final message.
    handshake = std::move(it->second);
    handshakes_.erase(it);
  }
  if (handshake.mechanism != mechanism) {
    return Error(
        ErrorCode::kIllegalSaslState,
        absl::StrCat("the session started with ", handshake.mechanism, ", not ", mechanism));
  }
  absl::StatusOr<std::string> server_final = handshake.server->Step(auth_bytes);
  if (!server_final.ok()) {
    return Error(ErrorCode::kSaslAuthenticationFailed,
                 std::string(server_final.status().message()));
  }
  if (!handshake.server->complete()) {
    return Error(ErrorCode::kIllegalSaslState, "the SCRAM exchange did not complete");
  }
  return Issue(handshake.server->username(), *std::move(server_final));
}

SaslStep SaslSessions::Issue(const std::string& username, std::string auth_bytes) {
  const int64_t now = options_.clock->NowMs();
  SaslStep step;
  step.auth_bytes = std::move(auth_bytes);
  step.token = RandomHex(kTokenBytes);
  step.lifetime_ms = options_.session_lifetime_ms;
  const std::string key = Sha256(step.token);
  absl::MutexLock l(&mu_);
  DropExpired(now);
  if (sessions_.size() >= options_.max_sessions) {
    return Error(ErrorCode::kUnknownServerError, "too many SASL sessions; try again later");
  }
  const int64_t expires = now + options_.session_lifetime_ms;
  sessions_[key] = Session{absl::StrCat("User:", username), expires};
  session_expiry_.emplace(expires, key);
  return step;
}

std::optional<std::string> SaslSessions::PrincipalOf(std::string_view token) const {
  if (token.size() != 2 * kTokenBytes) return std::nullopt;
  const std::string key = Sha256(token);
  const int64_t now = options_.clock->NowMs();
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.expires_ms <= now) return std::nullopt;
  return it->second.principal;
}

void SaslSessions::DropExpired(int64_t now_ms) {
  while (!handshake_expiry_.empty() && handshake_expiry_.begin()->first <= now_ms) {
    auto it = handshakes_.find(handshake_expiry_.begin()->second);
    // A handshake finished (or refused) early left its expiry entry behind.
    if (it != handshakes_.end() && it->second.expires_ms <= now_ms) handshakes_.erase(it);
    handshake_expiry_.erase(handshake_expiry_.begin());
  }
  while (!session_expiry_.empty() && session_expiry_.begin()->first <= now_ms) {
    auto it = sessions_.find(session_expiry_.begin()->second);
    if (it != sessions_.end() && it->second.expires_ms <= now_ms) sessions_.erase(it);
    session_expiry_.erase(session_expiry_.begin());
  }
}

size_t SaslSessions::session_count() const {
  absl::MutexLock l(&mu_);
  return sessions_.size();
}

size_t SaslSessions::handshake_count() const {
  absl::MutexLock l(&mu_);
  return handshakes_.size();
}

}  // namespace strata::server
