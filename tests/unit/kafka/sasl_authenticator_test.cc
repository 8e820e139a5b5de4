// SaslAuthenticator without a socket: frames in, what to do out. PLAIN and
// SCRAM-SHA-256/512 (with the client side of scram.h), the v0 handshake's
// bare tokens, every refusal (wrong order, unknown mechanism, bad
// credentials, oversize tokens, garbage) and KIP-368 re-authentication and
// session expiry on a clock the test moves.
#include "broker/kafka/sasl_authenticator.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "client/common/error_code.h"
#include "client/security/sasl.h"
#include "client/security/scram.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

using Action = SaslAuthenticator::Action;
using Outcome = SaslAuthenticator::Outcome;
using security::ScramMechanism;
using testing::RequestFrame;

constexpr char kBadPlain[] = "Authentication failed: Invalid username or password";

std::string Prefixless(const std::string& frame) { return frame.substr(4); }

// The body of a size-prefixed response to (key, version), after checking
// its size and correlation id.
template <typename M>
M Decoded(const Outcome& o, int16_t version, int32_t correlation_id) {
  EXPECT_GE(o.response.size(), 8u);
  std::string_view frame(o.response);
  frame.remove_prefix(4);
  Reader r(frame);
  absl::StatusOr<int32_t> correlation =
      ReadResponseHeader(r, ResponseHeaderVersion(M::kApiKey, version));
  EXPECT_TRUE(correlation.ok());
  EXPECT_EQ(correlation.value_or(-1), correlation_id);
  absl::StatusOr<M> m = Decode<M>(version, frame.substr(frame.size() - r.remaining()));
  EXPECT_TRUE(m.ok()) << m.status();
  return m.value_or(M{});
}

class SaslAuthenticatorTest : public ::testing::Test {
 protected:
  SaslAuthenticatorTest() {
    config_.sasl.enabled_mechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    config_.sasl.plain_users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
    for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
      for (const auto& [user, password] : config_.sasl.plain_users) {
        absl::StatusOr<security::ScramCredential> c =
            security::MakeScramCredential(m, password, 4096);
        EXPECT_TRUE(c.ok());
        scram_[{m, user}] = *c;
      }
    }
    config_.scram_credentials =
        [this](ScramMechanism m,
               const std::string& user) -> std::optional<security::ScramCredential> {
      auto it = scram_.find({m, user});
      if (it == scram_.end()) return std::nullopt;
      return it->second;
    };
  }

  Outcome Handshake(SaslAuthenticator& a, const std::string& mechanism, int16_t version = 1,
                    int64_t now = 0) {
    SaslHandshakeRequest r;
    r.mechanism = mechanism;
    return a.OnFrame(RequestFrame(version, ++correlation_, r), now);
  }
  Outcome Authenticate(SaslAuthenticator& a, const std::string& bytes, int16_t version = 2,
                       int64_t now = 0) {
    SaslAuthenticateRequest r;
    r.auth_bytes = bytes;
    return a.OnFrame(RequestFrame(version, ++correlation_, r), now);
  }
  Outcome Other(SaslAuthenticator& a, int64_t now = 0) {
    MetadataRequest r;
    return a.OnFrame(RequestFrame(4, ++correlation_, r), now);
  }
  Outcome Versions(SaslAuthenticator& a, int64_t now = 0) {
    return a.OnFrame(RequestFrame(2, ++correlation_, ApiVersionsRequest{}), now);
  }
  SaslHandshakeResponse HandshakeAnswer(const Outcome& o, int16_t version = 1) {
    return Decoded<SaslHandshakeResponse>(o, version, correlation_);
  }
  SaslAuthenticateResponse AuthenticateAnswer(const Outcome& o, int16_t version = 2) {
    return Decoded<SaslAuthenticateResponse>(o, version, correlation_);
  }

  // A whole PLAIN login; true when it succeeded.
  bool PlainLogin(SaslAuthenticator& a, const std::string& user, const std::string& password,
                  int64_t now = 0) {
    EXPECT_EQ(Handshake(a, "PLAIN", 1, now).action, Action::kAnswer);
    Outcome o = Authenticate(a, security::MakePlainMessage(user, password), 2, now);
    return o.action == Action::kAnswer && AuthenticateAnswer(o).error_code == 0;
  }

  // A whole SCRAM login; the final answer.
  SaslAuthenticateResponse ScramLogin(SaslAuthenticator& a, ScramMechanism m,
                                      const std::string& user, const std::string& password,
                                      Action* last = nullptr) {
    EXPECT_EQ(Handshake(a, security::ScramMechanismName(m)).action, Action::kAnswer);
    security::ScramClient client(m, user, password);
    Outcome first = Authenticate(a, client.FirstMessage());
    EXPECT_EQ(first.action, Action::kAnswer);
    SaslAuthenticateResponse server_first = AuthenticateAnswer(first);
    EXPECT_EQ(server_first.error_code, 0);
    absl::StatusOr<std::string> final_message = client.FinalMessage(server_first.auth_bytes);
    EXPECT_TRUE(final_message.ok()) << final_message.status();
    Outcome second = Authenticate(a, final_message.value_or(""));
    if (last) *last = second.action;
    SaslAuthenticateResponse answer = AuthenticateAnswer(second);
    if (answer.error_code == 0) {
      EXPECT_TRUE(client.VerifyServerFinal(answer.auth_bytes).ok());
    }
    return answer;
  }

  SaslAuthenticator::Config config_;
  std::map<std::pair<ScramMechanism, std::string>, security::ScramCredential> scram_;
  int32_t correlation_ = 100;
};

TEST_F(SaslAuthenticatorTest, OnlyApiVersionsAndTheSaslRequestsComeBeforeAuthentication) {
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  EXPECT_EQ(Versions(a).action, Action::kDispatch);
  EXPECT_EQ(Versions(a).action, Action::kDispatch) << "a client may retry ApiVersions (KIP-511)";
  EXPECT_FALSE(a.authenticated());
  EXPECT_EQ(a.principal(), security::Principal::Anonymous());
  Outcome o = Other(a);
  EXPECT_EQ(o.action, Action::kClose);
  EXPECT_NE(o.reason.find("before SASL authentication completed"), std::string::npos) << o.reason;
  EXPECT_EQ(Versions(a).action, Action::kClose) << "a refused connection stays refused";
}

TEST_F(SaslAuthenticatorTest, PlainAuthenticatesTheUserAndThenEverythingIsDispatched) {
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  Outcome h = Handshake(a, "PLAIN");
  ASSERT_EQ(h.action, Action::kAnswer);
  SaslHandshakeResponse hr = HandshakeAnswer(h);
  EXPECT_EQ(hr.error_code, 0);
  EXPECT_EQ(hr.mechanisms, config_.sasl.enabled_mechanisms);
  for (int16_t version : {0, 1, 2}) {
    SCOPED_TRACE(version);
    SaslAuthenticator b(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(b, "PLAIN").action, Action::kAnswer);
    Outcome o = Authenticate(b, security::MakePlainMessage("alice", "alice-secret"), version);
    ASSERT_EQ(o.action, Action::kAnswer);
    SaslAuthenticateResponse r = AuthenticateAnswer(o, version);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_EQ(r.session_lifetime_ms, 0);
    EXPECT_TRUE(b.authenticated());
    EXPECT_EQ(b.principal().ToString(), "User:alice");
    EXPECT_EQ(Other(b).action, Action::kDispatch);
    EXPECT_EQ(Versions(b).action, Action::kDispatch);
    // Outside an exchange the dispatcher answers ILLEGAL_SASL_STATE.
    EXPECT_EQ(Authenticate(b, "x").action, Action::kDispatch);
  }
}

TEST_F(SaslAuthenticatorTest, PlainRefusesAWrongPasswordOrUserWithKafkasMessageAndCloses) {
  for (auto [user, password] : {std::pair<std::string, std::string>{"alice", "wrong"},
                                {"mallory", "alice-secret"},
                                {"alice", "alice-secret2"},
                                {"alice", "alice-secre"}}) {
    SCOPED_TRACE(user + "/" + password);
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
    Outcome o = Authenticate(a, security::MakePlainMessage(user, password));
    ASSERT_EQ(o.action, Action::kAnswerAndClose);
    SaslAuthenticateResponse r = AuthenticateAnswer(o);
    EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
    EXPECT_EQ(r.error_message.value_or(""), kBadPlain);
    EXPECT_FALSE(a.authenticated());
    EXPECT_EQ(Other(a).action, Action::kClose);
  }
}

TEST_F(SaslAuthenticatorTest, MalformedPlainMessagesGetKafkasMessages) {
  const std::string generic =
      "Authentication failed during authentication due to invalid credentials with SASL "
      "mechanism PLAIN";
  for (auto [message, expected] :
       {std::pair<std::string, std::string>{"alice", generic},
        {std::string("\0alice\0", 7), "Authentication failed: password not specified"},
        {std::string("\0\0pw", 4), "Authentication failed: username not specified"}}) {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
    Outcome o = Authenticate(a, message);
    ASSERT_EQ(o.action, Action::kAnswerAndClose);
    EXPECT_EQ(AuthenticateAnswer(o).error_message.value_or(""), expected);
  }
}

TEST_F(SaslAuthenticatorTest, AMechanismNotEnabledIsRefusedWithTheEnabledList) {
  config_.sasl.enabled_mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  for (const std::string m : {"GSSAPI", "SCRAM-SHA-512", "plain", ""}) {
    SCOPED_TRACE(m);
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    Outcome o = Handshake(a, m);
    ASSERT_EQ(o.action, Action::kAnswerAndClose);
    SaslHandshakeResponse r = HandshakeAnswer(o);
    EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism));
    EXPECT_EQ(r.mechanisms, config_.sasl.enabled_mechanisms);
  }
  // Enabled but not implemented (OAUTHBEARER): refused the same way.
  config_.sasl.enabled_mechanisms = {"OAUTHBEARER"};
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  EXPECT_EQ(Handshake(a, "OAUTHBEARER").action, Action::kAnswerAndClose);
}

TEST_F(SaslAuthenticatorTest, SaslRequestsOutOfOrderClose) {
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    EXPECT_EQ(Authenticate(a, security::MakePlainMessage("alice", "alice-secret")).action,
              Action::kClose)
        << "SaslAuthenticate before SaslHandshake";
  }
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "SCRAM-SHA-256").action, Action::kAnswer);
    security::ScramClient client(ScramMechanism::kSha256, "alice", "alice-secret");
    ASSERT_EQ(Authenticate(a, client.FirstMessage()).action, Action::kAnswer);
    Outcome o = Handshake(a, "PLAIN");
    EXPECT_EQ(o.action, Action::kClose) << "a second SaslHandshake mid-exchange";
    EXPECT_NE(o.reason.find("SaslHandshake in the middle"), std::string::npos) << o.reason;
  }
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
    EXPECT_EQ(Versions(a).action, Action::kClose) << "ApiVersions after the handshake";
  }
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
    EXPECT_EQ(Other(a).action, Action::kClose) << "Metadata mid-exchange";
  }
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
    SaslAuthenticateRequest r;
    r.auth_bytes = security::MakePlainMessage("alice", "alice-secret");
    EXPECT_EQ(a.OnFrame(RequestFrame(2, 1, r, -1).replace(2, 2, std::string("\0\3", 2)), 0).action,
              Action::kClose)
        << "SaslAuthenticate v3 (unsupported)";
  }
}

TEST_F(SaslAuthenticatorTest, GarbageFramesClose) {
  for (const std::string& frame :
       {std::string(), std::string("abc"), std::string(64, '\xff'), std::string(8, '\0')}) {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    EXPECT_EQ(a.OnFrame(frame, 0).action, Action::kClose);
  }
  // A SaslHandshake whose body does not decode.
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  SaslHandshakeRequest r;
  r.mechanism = "PLAIN";
  std::string frame = RequestFrame(1, 1, r);
  frame.resize(frame.size() - 2);
  EXPECT_EQ(a.OnFrame(frame, 0).action, Action::kClose);
}

TEST_F(SaslAuthenticatorTest, ScramSha256And512Authenticate) {
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    SCOPED_TRACE(security::ScramMechanismName(m));
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    Action last = Action::kClose;
    SaslAuthenticateResponse r = ScramLogin(a, m, "bob", "bob-secret", &last);
    EXPECT_EQ(last, Action::kAnswer);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_TRUE(a.authenticated());
    EXPECT_EQ(a.principal().ToString(), "User:bob");
  }
}

TEST_F(SaslAuthenticatorTest, ScramRefusesAWrongPasswordAnUnknownUserAndNoCredentialStore) {
  const std::string expected =
      "Authentication failed during authentication due to invalid credentials with SASL "
      "mechanism SCRAM-SHA-256";
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    Action last = Action::kAnswer;
    SaslAuthenticateResponse r = ScramLogin(a, ScramMechanism::kSha256, "bob", "nope", &last);
    EXPECT_EQ(last, Action::kAnswerAndClose);
    EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
    EXPECT_EQ(r.error_message.value_or(""), expected);
  }
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    SaslAuthenticateResponse r = ScramLogin(a, ScramMechanism::kSha256, "nobody", "x");
    EXPECT_EQ(r.error_message.value_or(""), expected);
  }
  config_.scram_credentials = nullptr;
  {
    SaslAuthenticator a(&config_, "127.0.0.1:1");
    SaslAuthenticateResponse r = ScramLogin(a, ScramMechanism::kSha256, "bob", "bob-secret");
    EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
  }
}

TEST_F(SaslAuthenticatorTest, ScramRefusesDelegationTokens) {
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  ASSERT_EQ(Handshake(a, "SCRAM-SHA-256").action, Action::kAnswer);
  Outcome o = Authenticate(a, "n,,n=bob,r=abcdefgh,tokenauth=true");
  EXPECT_EQ(o.action, Action::kAnswerAndClose);
  EXPECT_EQ(AuthenticateAnswer(o).error_code,
            static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
}

TEST_F(SaslAuthenticatorTest, AV0HandshakeTakesBareTokens) {
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  Outcome h = Handshake(a, "PLAIN", /*version=*/0);
  ASSERT_EQ(h.action, Action::kAnswer);
  EXPECT_EQ(HandshakeAnswer(h, 0).error_code, 0);
  Outcome o = a.OnFrame(security::MakePlainMessage("alice", "alice-secret"), 0);
  ASSERT_EQ(o.action, Action::kAnswer);
  EXPECT_EQ(o.response, std::string(4, '\0')) << "an empty token, size-prefixed";
  EXPECT_EQ(a.principal().ToString(), "User:alice");
  EXPECT_EQ(Other(a).action, Action::kDispatch);

  // SCRAM's two rounds, bare.
  SaslAuthenticator s(&config_, "127.0.0.1:1");
  ASSERT_EQ(Handshake(s, "SCRAM-SHA-512", 0).action, Action::kAnswer);
  security::ScramClient client(ScramMechanism::kSha512, "alice", "alice-secret");
  Outcome first = s.OnFrame(client.FirstMessage(), 0);
  ASSERT_EQ(first.action, Action::kAnswer);
  absl::StatusOr<std::string> final_message = client.FinalMessage(Prefixless(first.response));
  ASSERT_TRUE(final_message.ok()) << final_message.status();
  Outcome second = s.OnFrame(*final_message, 0);
  ASSERT_EQ(second.action, Action::kAnswer);
  EXPECT_TRUE(client.VerifyServerFinal(Prefixless(second.response)).ok());
  EXPECT_EQ(s.principal().ToString(), "User:alice");

  // A failure has no answer in this framing: a close.
  SaslAuthenticator bad(&config_, "127.0.0.1:1");
  ASSERT_EQ(Handshake(bad, "PLAIN", 0).action, Action::kAnswer);
  EXPECT_EQ(bad.OnFrame(security::MakePlainMessage("alice", "no"), 0).action, Action::kClose);
}

TEST_F(SaslAuthenticatorTest, TokensOverTheReceiveSizeAreRefused) {
  config_.max_receive_bytes = 1024;
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
  Outcome o = Authenticate(a, security::MakePlainMessage("alice", std::string(2000, 'x')));
  EXPECT_EQ(o.action, Action::kAnswerAndClose);
  EXPECT_NE(o.reason.find("sasl.server.max.receive.size"), std::string::npos) << o.reason;
}

TEST_F(SaslAuthenticatorTest, SessionsExpireAfterTheMaxReauthTimeUnlessRenewed) {
  config_.sasl.connections_max_reauth_ms = 1000;
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  ASSERT_EQ(Handshake(a, "PLAIN", 1, 0).action, Action::kAnswer);
  Outcome o = Authenticate(a, security::MakePlainMessage("alice", "alice-secret"), 1, 0);
  EXPECT_EQ(AuthenticateAnswer(o, 1).session_lifetime_ms, 1000);
  EXPECT_EQ(a.session_expires_ms(), 1000);
  EXPECT_EQ(Other(a, 999).action, Action::kDispatch);
  // Not renewed: at its end the session is over.
  Outcome late = Other(a, 1000);
  EXPECT_EQ(late.action, Action::kClose);
  EXPECT_NE(late.reason.find("connections.max.reauth.ms"), std::string::npos) << late.reason;

  // While a re-authentication is under way, nothing else is served.
  SaslAuthenticator b(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(b, "alice", "alice-secret", 0));
  ASSERT_EQ(Handshake(b, "PLAIN", 1, 900).action, Action::kAnswer);
  EXPECT_EQ(Other(b, 910).action, Action::kClose) << "no other request during re-authentication";
}

TEST_F(SaslAuthenticatorTest, ReauthenticationRenewsTheSessionForTheSamePrincipal) {
  config_.sasl.connections_max_reauth_ms = 1000;
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(a, "alice", "alice-secret", 0));
  ASSERT_TRUE(PlainLogin(a, "alice", "alice-secret", 950));
  EXPECT_EQ(a.session_expires_ms(), 1950);
  EXPECT_EQ(Other(a, 1500).action, Action::kDispatch);
  EXPECT_EQ(Versions(a, 2000).action, Action::kDispatch) << "ApiVersions after expiry";
  Outcome late = Other(a, 2000);
  EXPECT_EQ(late.action, Action::kClose);
  EXPECT_NE(late.reason.find("connections.max.reauth.ms"), std::string::npos) << late.reason;

  // After expiry, a re-authentication is still allowed.
  SaslAuthenticator b(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(b, "alice", "alice-secret", 0));
  ASSERT_TRUE(PlainLogin(b, "alice", "alice-secret", 5000));
  EXPECT_EQ(Other(b, 5500).action, Action::kDispatch);
}

TEST_F(SaslAuthenticatorTest, ReauthenticationCannotChangeThePrincipalOrTheMechanism) {
  config_.sasl.connections_max_reauth_ms = 1000;
  SaslAuthenticator a(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(a, "alice", "alice-secret"));
  ASSERT_EQ(Handshake(a, "PLAIN").action, Action::kAnswer);
  Outcome o = Authenticate(a, security::MakePlainMessage("bob", "bob-secret"));
  ASSERT_EQ(o.action, Action::kAnswerAndClose);
  SaslAuthenticateResponse r = AuthenticateAnswer(o);
  EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
  EXPECT_EQ(r.error_message.value_or(""),
            "Cannot change principals during re-authentication from User:alice: User:bob");

  SaslAuthenticator b(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(b, "alice", "alice-secret"));
  Outcome m = Handshake(b, "SCRAM-SHA-256");
  ASSERT_EQ(m.action, Action::kAnswerAndClose);
  EXPECT_EQ(HandshakeAnswer(m).error_code,
            static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism));

  SaslAuthenticator c(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(c, "alice", "alice-secret"));
  EXPECT_EQ(Handshake(c, "PLAIN", /*version=*/0).action, Action::kClose)
      << "re-authentication needs v1";

  // A failed re-authentication says so.
  SaslAuthenticator d(&config_, "127.0.0.1:1");
  ASSERT_TRUE(PlainLogin(d, "alice", "alice-secret"));
  ASSERT_EQ(Handshake(d, "PLAIN").action, Action::kAnswer);
  Outcome bad = Authenticate(d, "garbage");
  EXPECT_EQ(AuthenticateAnswer(bad).error_message.value_or(""),
            "Authentication failed during re-authentication due to invalid credentials with SASL "
            "mechanism PLAIN");
}

}  // namespace
}  // namespace strata::kafka
