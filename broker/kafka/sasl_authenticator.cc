#include "broker/kafka/sasl_authenticator.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "client/common/error_code.h"
#include "client/security/sasl.h"

namespace strata::kafka {

namespace {

constexpr char kPlain[] = "PLAIN";

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A size-prefixed frame of bare bytes (a v0 handshake's tokens).
std::string BareFrame(std::string_view token) {
  std::string out(4, '\0');
  const uint32_t size = static_cast<uint32_t>(token.size());
  out[0] = static_cast<char>(size >> 24);
  out[1] = static_cast<char>(size >> 16);
  out[2] = static_cast<char>(size >> 8);
  out[3] = static_cast<char>(size);
  out.append(token.data(), token.size());
  return out;
}

// Whether `a` equals `b`, in time that depends on their lengths only.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    CRYPTO_memcmp(a.data(), a.data(), a.size());  // the same work as a match
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// The exchange of the mechanism the handshake chose: PLAIN is one step
// against the listener's users; SCRAM is ScramServer's two.
class SaslAuthenticator::Mechanism {
 public:
  virtual ~Mechanism() = default;
  // The server's answer to `token`, or why the exchange failed (the status's
  // message is for the log; `client_message` for the client).
  virtual absl::StatusOr<std::string> Step(std::string_view token, std::string* client_message) = 0;
  virtual bool complete() const = 0;
  virtual const std::string& username() const = 0;
};

namespace {

class PlainExchange : public SaslAuthenticator::Mechanism {
 public:
  explicit PlainExchange(const std::map<std::string, std::string>* users) : users_(users) {}

  absl::StatusOr<std::string> Step(std::string_view token, std::string* client_message) override {
    absl::StatusOr<security::PlainCredentials> parsed = security::ParsePlainMessage(token);
    if (!parsed.ok()) {
      // Kafka sends its SaslAuthenticationExceptions ("Authentication
      // failed: ...") as they are and hides the rest.
      const std::string m(parsed.status().message());
      *client_message = absl::StartsWith(m, "Authentication failed")
                            ? m
                            : security::AuthenticationFailedMessage(kPlain);
      return parsed.status();
    }
    auto it = users_->find(parsed->username);
    // An unknown user costs the same comparison as a known one.
    const bool match = ConstantTimeEquals(
        parsed->password, it != users_->end() ? std::string_view(it->second) : parsed->password);
    if (it == users_->end() || !match) {
      *client_message = "Authentication failed: Invalid username or password";
      return absl::UnauthenticatedError(
          absl::StrCat("PLAIN: ", it == users_->end() ? "unknown user " : "wrong password for ",
                       parsed->username));
    }
    username_ = parsed->username;
    complete_ = true;
    return std::string();
  }
  bool complete() const override { return complete_; }
  const std::string& username() const override { return username_; }

 private:
  const std::map<std::string, std::string>* users_;
  std::string username_;
  bool complete_ = false;
};

class ScramExchange : public SaslAuthenticator::Mechanism {
 public:
  ScramExchange(security::ScramMechanism m, const ScramCredentialLookup& lookup)
      : mechanism_(m),
        server_(m,
                [&lookup, m](const std::string& user) -> std::optional<security::ScramCredential> {
                  if (!lookup) return std::nullopt;
                  return lookup(m, user);
                }) {}

  absl::StatusOr<std::string> Step(std::string_view token, std::string* client_message) override {
    absl::StatusOr<std::string> answer = server_.Step(token);
    if (!answer.ok()) {
      *client_message =
          absl::IsUnauthenticated(answer.status())
              ? std::string(answer.status().message())
              : security::AuthenticationFailedMessage(security::ScramMechanismName(mechanism_));
      return answer.status();
    }
    // Delegation tokens (KIP-48) are not served: a token's id is no user.
    if (auto it = server_.extensions().find("tokenauth");
        it != server_.extensions().end() && it->second == "true") {
      *client_message =
          security::AuthenticationFailedMessage(security::ScramMechanismName(mechanism_));
      return absl::UnauthenticatedError("delegation tokens (tokenauth) are not supported");
    }
    return answer;
  }
  bool complete() const override { return server_.complete(); }
  const std::string& username() const override { return server_.username(); }

 private:
  security::ScramMechanism mechanism_;
  security::ScramServer server_;
};

}  // namespace

SaslAuthenticator::SaslAuthenticator(const Config* config, std::string peer)
    : config_(config), peer_(std::move(peer)) {}

SaslAuthenticator::~SaslAuthenticator() = default;

std::string SaslAuthenticator::Reason(std::string_view what) const {
  return absl::StrCat("kafka: ", peer_, ": ", View(what), "; closing");
}

SaslAuthenticator::Outcome SaslAuthenticator::OnFrame(std::string_view frame, int64_t now_ms) {
  if (state_ == State::kFailed) return {Action::kClose, "", Reason("authentication failed")};
  if (state_ == State::kRawTokens) return RawToken(frame, now_ms);

  absl::StatusOr<RequestHeader> peeked = PeekRequestHeader(frame);
  if (!peeked.ok()) {
    state_ = State::kFailed;
    return {Action::kClose, "",
            Reason(absl::StrCat("bad request header: ", peeked.status().message()))};
  }
  const ApiKey key = peeked->api_key;
  const int16_t version = peeked->api_version;
  const bool sasl_key = key == ApiKey::kSaslHandshake || key == ApiKey::kSaslAuthenticate;
  const auto refuse = [&](std::string_view why) {
    state_ = State::kFailed;
    return Outcome{
        Action::kClose, "",
        Reason(absl::StrCat("api_key=", static_cast<int16_t>(key), " api_version=", version,
                            " correlation_id=", peeked->correlation_id, ": ", View(why)))};
  };

  if (state_ == State::kAuthenticated) {
    if (key == ApiKey::kSaslHandshake) {
      // A v0 handshake would switch to bare tokens mid-session; only
      // KIP-368 clients re-authenticate, and they send v1.
      if (version < 1) return refuse("re-authentication needs SaslHandshake v1");
      state_ = State::kReauthenticate;
    } else if (key != ApiKey::kApiVersions && expires_ms_ > 0 && now_ms >= expires_ms_) {
      return refuse(
          "the SASL session expired (connections.max.reauth.ms) and the client did not "
          "re-authenticate");
    } else {
      return {Action::kDispatch, "", ""};
    }
  } else if (key == ApiKey::kApiVersions && state_ == State::kHandshake) {
    return {Action::kDispatch, "", ""};
  }

  if (!sasl_key || !HasCodec(key, version)) {
    return refuse(absl::StrCat(
        !sasl_key ? "a request other than ApiVersions, SaslHandshake or SaslAuthenticate"
                  : "an unsupported SASL request version",
        state_ == State::kReauthenticate ? " during re-authentication"
                                         : " before SASL authentication completed",
        " (IllegalSaslState)"));
  }
  std::string_view body;
  absl::StatusOr<RequestHeader> header = ParseRequestHeader(frame, &body);
  if (!header.ok()) {
    return refuse(absl::StrCat("bad request header: ", header.status().message()));
  }
  const bool want_handshake =
      state_ == State::kHandshake || (state_ == State::kReauthenticate && mechanism_ == nullptr);
  if (key == ApiKey::kSaslHandshake) {
    if (!want_handshake) return refuse("SaslHandshake in the middle of an authentication");
    return Handshake(version, header->correlation_id, body);
  }
  if (want_handshake) return refuse("SaslAuthenticate before SaslHandshake");
  return Authenticate(version, header->correlation_id, body, now_ms);
}

SaslAuthenticator::Outcome SaslAuthenticator::Handshake(int16_t version, int32_t correlation_id,
                                                        std::string_view body) {
  absl::StatusOr<SaslHandshakeRequest> request = Decode<SaslHandshakeRequest>(version, body);
  if (!request.ok()) {
    state_ = State::kFailed;
    return {Action::kClose, "",
            Reason(absl::StrCat("bad SaslHandshake: ", request.status().message()))};
  }
  const std::vector<std::string>& enabled = config_->sasl.enabled_mechanisms;
  const std::string& name = request->mechanism;
  const bool enabled_here = std::find(enabled.begin(), enabled.end(), name) != enabled.end();
  const std::optional<security::ScramMechanism> scram = security::ParseScramMechanism(name);
  const bool implemented = name == kPlain || scram.has_value();
  const bool reauth = state_ == State::kReauthenticate;
  SaslHandshakeResponse response;
  response.mechanisms = enabled;
  std::string why;
  if (!enabled_here || !implemented) {
    why = absl::StrCat("SASL mechanism '", name,
                       "' is not enabled (sasl.enabled.mechanisms: ", absl::StrJoin(enabled, ","),
                       ")");
  } else if (reauth && name != mechanism_name_) {
    // Kafka's REAUTH_BAD_MECHANISM.
    why = absl::StrCat("SASL mechanism '", name,
                       "' requested by client is not supported for re-authentication of "
                       "mechanism '",
                       mechanism_name_, "'");
  }
  if (!why.empty()) {
    state_ = State::kFailed;
    response.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism);
    absl::StatusOr<std::string> out =
        ResponseFrame(correlation_id, ApiKey::kSaslHandshake, version, Response(response));
    return {out.ok() ? Action::kAnswerAndClose : Action::kClose, out.value_or(""), Reason(why)};
  }
  mechanism_name_ = name;
  if (scram) {
    mechanism_ = std::make_unique<ScramExchange>(*scram, config_->scram_credentials);
  } else {
    mechanism_ = std::make_unique<PlainExchange>(&config_->sasl.plain_users);
  }
  if (!reauth) state_ = version == 0 ? State::kRawTokens : State::kAuthenticate;
  absl::StatusOr<std::string> out =
      ResponseFrame(correlation_id, ApiKey::kSaslHandshake, version, Response(response));
  if (!out.ok()) {
    state_ = State::kFailed;
    return {Action::kClose, "", Reason(std::string(out.status().message()))};
  }
  return {Action::kAnswer, *std::move(out), ""};
}

SaslAuthenticator::Step SaslAuthenticator::RunStep(std::string_view token) {
  Step step;
  if (token.size() > static_cast<size_t>(config_->max_receive_bytes)) {
    step.client_message = security::AuthenticationFailedMessage(mechanism_name_);
    step.log_reason =
        absl::StrCat("a ", token.size(), "-byte SASL token, over ",
                     "sasl.server.max.receive.size (", config_->max_receive_bytes, ")");
    return step;
  }
  absl::StatusOr<std::string> answer = mechanism_->Step(token, &step.client_message);
  if (!answer.ok()) {
    step.log_reason = absl::StrCat("SASL ", mechanism_name_,
                                   " authentication failed: ", answer.status().message());
    return step;
  }
  step.ok = true;
  step.answer = *std::move(answer);
  return step;
}

bool SaslAuthenticator::Complete(int64_t now_ms, std::string* error) {
  const security::Principal principal = security::Principal::User(mechanism_->username());
  if (authenticated_ && principal != principal_) {
    *error = absl::StrCat("Cannot change principals during re-authentication from ",
                          principal_.ToString(), ": ", principal.ToString());
    return false;
  }
  principal_ = principal;
  authenticated_ = true;
  const int64_t lifetime = config_->sasl.connections_max_reauth_ms;
  expires_ms_ = lifetime > 0 ? now_ms + lifetime : 0;
  state_ = State::kAuthenticated;
  mechanism_.reset();
  return true;
}

SaslAuthenticator::Outcome SaslAuthenticator::Authenticate(int16_t version, int32_t correlation_id,
                                                           std::string_view body, int64_t now_ms) {
  absl::StatusOr<SaslAuthenticateRequest> request = Decode<SaslAuthenticateRequest>(version, body);
  if (!request.ok()) {
    state_ = State::kFailed;
    return {Action::kClose, "",
            Reason(absl::StrCat("bad SaslAuthenticate: ", request.status().message()))};
  }
  const bool reauth = state_ == State::kReauthenticate;
  Step step = RunStep(request->auth_bytes);
  SaslAuthenticateResponse response;
  std::string log_reason = step.log_reason;
  if (step.ok && mechanism_->complete()) {
    std::string error;
    if (Complete(now_ms, &error)) {
      response.auth_bytes = std::move(step.answer);
      response.session_lifetime_ms = std::max<int64_t>(0, config_->sasl.connections_max_reauth_ms);
    } else {
      step.ok = false;
      step.client_message = error;
      log_reason = error;
    }
  } else if (step.ok) {
    response.auth_bytes = std::move(step.answer);
  }
  if (!step.ok) {
    state_ = State::kFailed;
    response.error_code = static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed);
    std::string message = step.client_message;
    if (reauth) {
      // Kafka's wording for a re-authentication.
      const std::string from = "during authentication";
      if (size_t at = message.find(from); at != std::string::npos) {
        message.replace(at, from.size(), "during re-authentication");
      }
    }
    response.error_message = std::move(message);
  }
  absl::StatusOr<std::string> out =
      ResponseFrame(correlation_id, ApiKey::kSaslAuthenticate, version, Response(response));
  if (!out.ok()) {
    state_ = State::kFailed;
    return {Action::kClose, "", Reason(std::string(out.status().message()))};
  }
  if (!step.ok) return {Action::kAnswerAndClose, *std::move(out), Reason(log_reason)};
  return {Action::kAnswer, *std::move(out), ""};
}

SaslAuthenticator::Outcome SaslAuthenticator::RawToken(std::string_view token, int64_t now_ms) {
  Step step = RunStep(token);
  std::string error;
  if (step.ok && mechanism_->complete() && !Complete(now_ms, &error)) {
    step.ok = false;
    step.log_reason = error;
  }
  if (!step.ok) {
    state_ = State::kFailed;
    return {Action::kClose, "", Reason(step.log_reason)};
  }
  return {Action::kAnswer, BareFrame(step.answer), ""};
}

}  // namespace strata::kafka
