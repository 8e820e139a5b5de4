// SaslSessions: SASL for the gRPC client listener (SASL_PLAINTEXT /
// SASL_SSL), behind strata.v1.Sasl/Authenticate (proto/strata/v1/
// security.proto) and the listener's gate (grpc_security.h).
//
// A client proves who it is once per node with SCRAM-SHA-256/512 (two
// round trips, RFC 5802/7677: security::ScramServer) or PLAIN (one, checked
// against the listener's PLAIN JAAS users), and gets a session token: 32
// random bytes, hex, valid at this node for session_lifetime_ms
// (connections.max.reauth.ms; an hour when that is 0). Every later call
// carries it; PrincipalOf() turns it back into "User:<name>". Only a
// SHA-256 of each token is kept, so the table does not hold usable
// secrets.
//
// Bounded: at most max_handshakes exchanges in progress (each expires
// after handshake_timeout_ms) and max_sessions live tokens; expired ones are
// dropped as new ones come. Beyond the bounds a new exchange is refused
// (UNKNOWN_SERVER_ERROR, "too many ...") rather than anything evicted.
//
// Failures answer Kafka's codes and messages: UNSUPPORTED_SASL_MECHANISM
// ("Unsupported SASL mechanism X"), ILLEGAL_SASL_STATE (an unknown or
// expired session_id), SASL_AUTHENTICATION_FAILED ("Authentication failed
// during authentication due to invalid credentials with SASL mechanism
// X", the same for an unknown user and a wrong password).
//
// Thread-safe. Time comes from the injected Clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "client/common/clock.h"
#include "client/common/error_code.h"
#include "client/security/scram.h"

namespace strata::server {

// A user's SCRAM credential for a mechanism (the metadata log's), or
// nullopt when the user has none.
using ScramCredentialLookup = std::function<std::optional<security::ScramCredential>(
    security::ScramMechanism, const std::string& username)>;

struct SaslSessionsOptions {
  // sasl.enabled.mechanisms of the listener: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.
  std::vector<std::string> enabled_mechanisms;
  // PLAIN's users (user_<name>="password" of the listener's PLAIN JAAS config).
  std::map<std::string, std::string> plain_users;
  ScramCredentialLookup scram_credentials;
  int64_t session_lifetime_ms = 3600000;
  int64_t handshake_timeout_ms = 30000;
  size_t max_handshakes = 10000;
  size_t max_sessions = 1000000;
  Clock* clock = Clock::Real();
};

// One Authenticate answer.
struct SaslStep {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::string auth_bytes;
  std::string session_id;   // set while an exchange goes on
  std::string token;        // set once authenticated
  int64_t lifetime_ms = 0;  // with the token
};

class SaslSessions {
 public:
  explicit SaslSessions(SaslSessionsOptions options);
  ~SaslSessions();

  // One call of strata.v1.Sasl/Authenticate.
  SaslStep Authenticate(const std::string& mechanism, const std::string& auth_bytes,
                        const std::string& session_id);

  // "User:<name>" for a live token; nullopt for an unknown or expired one.
  std::optional<std::string> PrincipalOf(std::string_view token) const;

  size_t session_count() const;
  size_t handshake_count() const;

 private:
  struct Handshake {
    std::unique_ptr<security::ScramServer> server;
    std::string mechanism;
    int64_t expires_ms = 0;
  };
  struct Session {
    std::string principal;
    int64_t expires_ms = 0;
  };

  SaslStep Plain(const std::string& auth_bytes);
  SaslStep ScramFirst(const std::string& mechanism, const std::string& auth_bytes);
  SaslStep ScramFinal(const std::string& mechanism, const std::string& auth_bytes,
                      const std::string& session_id);
  // A new token for `username`, or an error step when the table is full.
  SaslStep Issue(const std::string& username, std::string auth_bytes);
  void DropExpired(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SaslSessionsOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Handshake> handshakes_ ABSL_GUARDED_BY(mu_);
  // SHA-256 of a token -> its session.
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  // Expiry -> key, to drop the expired without a scan.
  std::multimap<int64_t, std::string> handshake_expiry_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, std::string> session_expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::server
