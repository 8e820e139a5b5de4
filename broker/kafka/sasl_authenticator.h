// SaslAuthenticator: one SASL_PLAINTEXT / SASL_SSL connection's
// authentication, as Kafka's SaslServerAuthenticator does it — a state
// machine over the connection's request frames, without a socket. It sees
// every frame before the dispatcher and says what to do with it.
//
//   kHandshake      (start) ApiVersions -> dispatch (any number, so a
//                   client may retry a version, KIP-511). SaslHandshake
//                   v0-1 -> answer. Anything else -> close (Kafka's
//                   IllegalSaslStateException).
//   handshake       an enabled mechanism we implement (PLAIN,
//                   SCRAM-SHA-256/512) -> kAuthenticate (v1) or kRawTokens
//                   (v0); otherwise UNSUPPORTED_SASL_MECHANISM (33) with the
//                   enabled list, then close.
//   kAuthenticate   SaslAuthenticate v0-2 only (anything else -> close):
//                   its auth_bytes go to the mechanism. A step needing more
//                   -> answer and stay; done -> answer, kAuthenticated with
//                   principal User:<username>; failed ->
//                   SASL_AUTHENTICATION_FAILED (58) with Kafka's message,
//                   then close once the answer is out.
//   kRawTokens      after a v0 handshake (Kafka's pre-KIP-152 framing): each
//                   frame is a bare SASL token, answered by a bare
//                   size-prefixed token; a failure closes without an answer
//                   (the framing has no room for one).
//   kAuthenticated  everything -> dispatch, except: SaslHandshake begins a
//                   re-authentication (KIP-368) with the same mechanism
//                   (another: UNSUPPORTED_SASL_MECHANISM, close) and the same
//                   principal (another: SASL_AUTHENTICATION_FAILED "Cannot
//                   change principals during re-authentication from
//                   User:a: User:b", close); and once the session expired
//                   (connections.max.reauth.ms after authenticating), any
//                   request but ApiVersions and SaslHandshake closes.
//   kReauthenticate like kAuthenticate; success returns to kAuthenticated
//                   with a new session lifetime.
//
// SaslAuthenticate v1+ answers carry session_lifetime_ms (0: the session
// never expires). Until authenticated, a frame is at most
// `max_receive_bytes` (Kafka's sasl.server.max.receive.size): the listener
// applies that bound to its frame reader (max_unauthenticated_frame_bytes).
//
// Failure messages are Kafka's: PLAIN's wrong user or password
// "Authentication failed: Invalid username or password"; SCRAM's
// ScramServer's (sasl.h's AuthenticationFailedMessage); a malformed token
// "Authentication failed during authentication due to invalid credentials
// with SASL mechanism <m>" (Kafka hides the parser's reason from clients;
// it goes to the log line).
//
// Not thread-safe: the connection's strand (one request at a time) owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/security/listener_security.h"
#include "broker/security/principal.h"
#include "client/security/scram.h"

namespace strata::kafka {

// A SCRAM user's stored credential for a mechanism; nullopt: no such user.
using ScramCredentialLookup = std::function<std::optional<security::ScramCredential>(
    security::ScramMechanism, const std::string& user)>;

class SaslAuthenticator {
 public:
  struct Config {
    security::SaslOptions sasl;
    ScramCredentialLookup scram_credentials;  // null: no SCRAM users
    // sasl.server.max.receive.size.
    int32_t max_receive_bytes = 524288;
  };

  enum class Action {
    kDispatch,        // an ordinary request: hand it to the dispatcher
    kAnswer,          // send `response`
    kAnswerAndClose,  // send `response`, then close (log `reason`)
    kClose,           // close now (log `reason`)
  };
  struct Outcome {
    Action action = Action::kClose;
    std::string response;  // size-prefixed, for kAnswer*
    std::string reason;    // for the log line, for kAnswerAndClose / kClose
  };

  // The chosen mechanism's exchange (sasl_authenticator.cc).
  class Mechanism;

  // `config` outlives the authenticator (the listener's). `peer` names the
  // connection in reasons.
  SaslAuthenticator(const Config* config, std::string peer);
  ~SaslAuthenticator();

  // One frame from the client (without its size prefix), at `now_ms` on a
  // monotonic clock.
  Outcome OnFrame(std::string_view frame, int64_t now_ms);

  bool authenticated() const { return authenticated_; }
  // User:ANONYMOUS until the first authentication completes.
  const security::Principal& principal() const { return principal_; }
  // When the session expires (monotonic ms); 0: never.
  int64_t session_expires_ms() const { return expires_ms_; }

 private:
  enum class State {
    kHandshake,
    kAuthenticate,
    kRawTokens,
    kAuthenticated,
    kReauthenticate,
    kFailed,
  };

  Outcome Handshake(int16_t version, int32_t correlation_id, std::string_view body);
  Outcome Authenticate(int16_t version, int32_t correlation_id, std::string_view body,
                       int64_t now_ms);
  Outcome RawToken(std::string_view token, int64_t now_ms);
  // The mechanism's step on `token`: its answer, or a failure message for
  // the client (and, in *log, the reason for ours).
  struct Step {
    bool ok = false;
    std::string answer;          // the server's token
    std::string client_message;  // when !ok
    std::string log_reason;      // when !ok
  };
  Step RunStep(std::string_view token);
  // Completes an authentication; a principal other than the first one's
  // fails re-authentication (the message in *error).
  bool Complete(int64_t now_ms, std::string* error);
  std::string Reason(std::string_view what) const;

  const Config* const config_;
  const std::string peer_;
  State state_ = State::kHandshake;
  std::string mechanism_name_;  // the handshake's
  std::unique_ptr<Mechanism> mechanism_;
  bool authenticated_ = false;
  security::Principal principal_;
  int64_t expires_ms_ = 0;
};

}  // namespace strata::kafka
