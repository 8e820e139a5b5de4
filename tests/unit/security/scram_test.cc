// SCRAM-SHA-256/512 (client/security/scram.h): RFC 7677's example byte for
// byte, round trips, and every way an exchange must fail.
#include "client/security/scram.h"

#include <openssl/evp.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace strata::security {
namespace {

using ::testing::TestWithParam;
using ::testing::Values;

std::string Unbase64(absl::string_view text) {
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(text, &out)) << text;
  return out;
}

std::string FailedMessage(ScramMechanism m) {
  return absl::StrCat(
      "Authentication failed during authentication due to invalid credentials with SASL "
      "mechanism ",
      ScramMechanismName(m));
}

// A user store of one or more users for one mechanism.
class Users {
 public:
  explicit Users(ScramMechanism m) : mechanism_(m) {}

  void Add(const std::string& name, const std::string& password, int32_t iterations = 4096) {
    absl::StatusOr<ScramCredential> credential =
        MakeScramCredential(mechanism_, password, iterations);
    ASSERT_TRUE(credential.ok()) << credential.status();
    credentials_[name] = *credential;
  }
  void Put(const std::string& name, ScramCredential credential) {
    credentials_[name] = std::move(credential);
  }

  ScramServer::CredentialLookup Lookup() {
    return [this](const std::string& name) -> std::optional<ScramCredential> {
      looked_up_.push_back(name);
      auto it = credentials_.find(name);
      if (it == credentials_.end()) return std::nullopt;
      return it->second;
    };
  }
  const std::vector<std::string>& looked_up() const { return looked_up_; }

 private:
  ScramMechanism mechanism_;
  std::map<std::string, ScramCredential> credentials_;
  std::vector<std::string> looked_up_;
};

// Replaces attribute `name` ("r", "p", "c") of a SCRAM message.
std::string WithAttribute(absl::string_view message, absl::string_view name,
                          absl::string_view value) {
  std::vector<std::string> parts = absl::StrSplit(message, ',');
  for (std::string& part : parts) {
    if (absl::StartsWith(part, absl::StrCat(name, "="))) part = absl::StrCat(name, "=", value);
  }
  return absl::StrJoin(parts, ",");
}

std::string Attribute(absl::string_view message, absl::string_view name) {
  for (absl::string_view part : absl::StrSplit(message, ',')) {
    if (absl::StartsWith(part, absl::StrCat(name, "="))) return std::string(part.substr(2));
  }
  ADD_FAILURE() << "no " << name << "= in " << message;
  return "";
}

// A client that holds the password and signs whatever messages it is given,
// computed here with OpenSSL directly (RFC 5802, section 3): what a client
// with the password could send that ScramClient never would, so that the
// server's checks beyond the proof can be tried one at a time.
class ForgingClient {
 public:
  ForgingClient(ScramMechanism m, std::string password) : m_(m), password_(std::move(password)) {}

  // "<without_proof>,p=<proof>" for this exchange's messages; salt and
  // iterations are read from `server_first`.
  std::string Final(absl::string_view client_first_bare, absl::string_view server_first,
                    absl::string_view without_proof) {
    const std::string salt = Unbase64(Attribute(server_first, "s"));
    int iterations = 0;
    EXPECT_TRUE(absl::SimpleAtoi(Attribute(server_first, "i"), &iterations));
    std::string salted(Size(), '\0');
    EXPECT_EQ(PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                                reinterpret_cast<const unsigned char*>(salt.data()),
                                static_cast<int>(salt.size()), iterations, Md(),
                                static_cast<int>(salted.size()),
                                reinterpret_cast<unsigned char*>(salted.data())),
              1);
    const std::string client_key = Hmac(salted, "Client Key");
    std::string stored_key(Size(), '\0');
    EXPECT_EQ(
        EVP_Digest(client_key.data(), client_key.size(),
                   reinterpret_cast<unsigned char*>(stored_key.data()), nullptr, Md(), nullptr),
        1);
    const std::string auth_message =
        absl::StrCat(client_first_bare, ",", server_first, ",", without_proof);
    const std::string signature = Hmac(stored_key, auth_message);
    std::string proof = client_key;
    for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature[i];
    return absl::StrCat(without_proof, ",p=", absl::Base64Escape(proof));
  }

 private:
  size_t Size() const { return m_ == ScramMechanism::kSha256 ? 32 : 64; }
  const EVP_MD* Md() const { return m_ == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512(); }
  std::string Hmac(absl::string_view key, absl::string_view data) const {
    std::string out(Size(), '\0');
    size_t out_len = 0;
    EXPECT_NE(
        EVP_Q_mac(nullptr, "HMAC", nullptr, m_ == ScramMechanism::kSha256 ? "SHA256" : "SHA512",
                  nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                  reinterpret_cast<unsigned char*>(out.data()), out.size(), &out_len),
        nullptr);
    return out;
  }

  ScramMechanism m_;
  std::string password_;
};

// --- RFC 7677 ------------------------------------------------------------------

TEST(ScramRfc7677, ExampleExchangeByteForByte) {
  const std::string salt = Unbase64("W22ZaJ0SNY7soEsUEjb6gQ==");
  absl::StatusOr<ScramCredential> credential =
      MakeScramCredential(ScramMechanism::kSha256, "pencil", 4096, salt);
  ASSERT_TRUE(credential.ok()) << credential.status();
  EXPECT_EQ(credential->salt, salt);
  EXPECT_EQ(credential->iterations, 4096);
  std::vector<std::string> looked_up;
  ScramServer server(
      ScramMechanism::kSha256,
      [&](const std::string& name) -> std::optional<ScramCredential> {
        looked_up.push_back(name);
        if (name == "user") return *credential;
        return std::nullopt;
      },
      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  ScramClient client(ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");

  const std::string client_first = client.FirstMessage();
  EXPECT_EQ(client_first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");

  absl::StatusOr<std::string> server_first = server.Step(client_first);
  ASSERT_TRUE(server_first.ok()) << server_first.status();
  EXPECT_EQ(*server_first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  EXPECT_EQ(looked_up, std::vector<std::string>{"user"});
  EXPECT_FALSE(server.complete());

  absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
  ASSERT_TRUE(client_final.ok()) << client_final.status();
  EXPECT_EQ(*client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");

  absl::StatusOr<std::string> server_final = server.Step(*client_final);
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(*server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_TRUE(server.complete());
  EXPECT_EQ(server.username(), "user");

  EXPECT_TRUE(client.VerifyServerFinal(*server_final).ok());
}

// The server half alone, against RFC 7677's client messages as text.
TEST(ScramRfc7677, ServerAnswersTheRfcClientMessages) {
  absl::StatusOr<ScramCredential> credential = MakeScramCredential(
      ScramMechanism::kSha256, "pencil", 4096, Unbase64("W22ZaJ0SNY7soEsUEjb6gQ=="));
  ASSERT_TRUE(credential.ok());
  ScramServer server(
      ScramMechanism::kSha256, [&](const std::string&) { return std::optional(*credential); },
      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  ASSERT_TRUE(server.Step("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").ok());
  absl::StatusOr<std::string> server_final = server.Step(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(*server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

// --- Mechanisms and credentials --------------------------------------------------

TEST(ScramMechanismTest, NamesRoundTrip) {
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-256"), ScramMechanism::kSha256);
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-512"), ScramMechanism::kSha512);
  EXPECT_EQ(ParseScramMechanism("scram-sha-256"), std::nullopt);
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-1"), std::nullopt);
  EXPECT_EQ(ParseScramMechanism("PLAIN"), std::nullopt);
  EXPECT_EQ(ParseScramMechanism(""), std::nullopt);
  EXPECT_STREQ(ScramMechanismName(ScramMechanism::kSha256), "SCRAM-SHA-256");
  EXPECT_STREQ(ScramMechanismName(ScramMechanism::kSha512), "SCRAM-SHA-512");
}

TEST(ScramCredentialTest, IterationBoundsAreKafkas) {
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    absl::StatusOr<ScramCredential> low = MakeScramCredential(m, "pw", 4095);
    EXPECT_EQ(low.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(low.status().message(), "4096")) << low.status();
    absl::StatusOr<ScramCredential> high = MakeScramCredential(m, "pw", 16385);
    EXPECT_EQ(high.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(high.status().message(), "16384")) << high.status();
    EXPECT_TRUE(MakeScramCredential(m, "pw", kMinScramIterations).ok());
    EXPECT_TRUE(MakeScramCredential(m, "pw", kMaxScramIterations).ok());
  }
}

TEST(ScramCredentialTest, RandomSaltAndKeySizes) {
  absl::StatusOr<ScramCredential> a = MakeScramCredential(ScramMechanism::kSha512, "pw", 4096);
  absl::StatusOr<ScramCredential> b = MakeScramCredential(ScramMechanism::kSha512, "pw", 4096);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->mechanism, ScramMechanism::kSha512);
  EXPECT_EQ(a->salt.size(), 32u);
  EXPECT_NE(a->salt, b->salt);
  EXPECT_NE(a->stored_key, b->stored_key);  // another salt, another key
  EXPECT_EQ(a->stored_key.size(), 64u);
  EXPECT_EQ(a->server_key.size(), 64u);
  EXPECT_NE(a->stored_key, a->server_key);

  absl::StatusOr<ScramCredential> c = MakeScramCredential(ScramMechanism::kSha256, "pw", 8192);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->stored_key.size(), 32u);
  EXPECT_EQ(c->server_key.size(), 32u);
  EXPECT_EQ(c->iterations, 8192);

  // Deterministic for a given salt.
  absl::StatusOr<ScramCredential> d =
      MakeScramCredential(ScramMechanism::kSha512, "pw", 4096, a->salt);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->stored_key, a->stored_key);
  EXPECT_EQ(d->server_key, a->server_key);
}

// --- Round trips ----------------------------------------------------------------

class ScramExchangeTest : public TestWithParam<ScramMechanism> {
 protected:
  ScramMechanism m() const { return GetParam(); }
};

TEST_P(ScramExchangeTest, RoundTripWithRandomNonces) {
  Users users(m());
  users.Add("alice", "alice-secret", 8192);
  ScramServer server(m(), users.Lookup());
  ScramClient client(m(), "alice", "alice-secret");

  const std::string client_first = client.FirstMessage();
  ASSERT_TRUE(absl::StartsWith(client_first, "n,,n=alice,r=")) << client_first;
  const std::string client_nonce = Attribute(client_first, "r");
  EXPECT_EQ(client_nonce.size(), 32u);
  for (char c : client_nonce) EXPECT_TRUE(c > 0x20 && c < 0x7f && c != ',') << client_nonce;

  absl::StatusOr<std::string> server_first = server.Step(client_first);
  ASSERT_TRUE(server_first.ok()) << server_first.status();
  const std::string nonce = Attribute(*server_first, "r");
  EXPECT_TRUE(absl::StartsWith(nonce, client_nonce));
  EXPECT_GT(nonce.size(), client_nonce.size());
  EXPECT_EQ(Attribute(*server_first, "i"), "8192");

  absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
  ASSERT_TRUE(client_final.ok()) << client_final.status();
  EXPECT_TRUE(absl::StartsWith(*client_final, absl::StrCat("c=biws,r=", nonce, ",p=")));
  EXPECT_EQ(Unbase64(Attribute(*client_final, "p")).size(),
            m() == ScramMechanism::kSha256 ? 32u : 64u);

  absl::StatusOr<std::string> server_final = server.Step(*client_final);
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_TRUE(server.complete());
  EXPECT_EQ(server.username(), "alice");
  EXPECT_TRUE(client.VerifyServerFinal(*server_final).ok());

  // Two exchanges never share a nonce.
  ScramClient other(m(), "alice", "alice-secret");
  EXPECT_NE(Attribute(other.FirstMessage(), "r"), client_nonce);
}

TEST_P(ScramExchangeTest, WrongPasswordFailsWithKafkasMessage) {
  Users users(m());
  users.Add("alice", "alice-secret");
  ScramServer server(m(), users.Lookup());
  ScramClient client(m(), "alice", "not-the-secret");
  absl::StatusOr<std::string> server_first = server.Step(client.FirstMessage());
  ASSERT_TRUE(server_first.ok());
  absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
  ASSERT_TRUE(client_final.ok());
  absl::StatusOr<std::string> server_final = server.Step(*client_final);
  EXPECT_EQ(server_final.status(), absl::UnauthenticatedError(FailedMessage(m())));
  EXPECT_FALSE(server.complete());
  // The exchange is over.
  EXPECT_EQ(server.Step(*client_final).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(ScramExchangeTest, UnknownUserFailsAtTheProofWithTheSameMessage) {
  Users users(m());
  users.Add("alice", "alice-secret");
  ScramServer server(m(), users.Lookup());
  ScramClient client(m(), "mallory", "guess");
  absl::StatusOr<std::string> server_first = server.Step(client.FirstMessage());
  ASSERT_TRUE(server_first.ok()) << server_first.status();
  EXPECT_EQ(users.looked_up(), std::vector<std::string>{"mallory"});
  // A plausible answer: as long a salt as a real one, Kafka's default count.
  EXPECT_EQ(Unbase64(Attribute(*server_first, "s")).size(), 32u);
  EXPECT_EQ(Attribute(*server_first, "i"), "4096");

  absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
  ASSERT_TRUE(client_final.ok());
  EXPECT_EQ(server.Step(*client_final).status(), absl::UnauthenticatedError(FailedMessage(m())));
  EXPECT_FALSE(server.complete());
}

TEST_P(ScramExchangeTest, UnknownUserGetsTheSameSaltEveryTime) {
  Users users(m());
  auto salt_for = [&](const std::string& user) {
    ScramServer server(m(), users.Lookup());
    ScramClient client(m(), user, "guess");
    absl::StatusOr<std::string> server_first = server.Step(client.FirstMessage());
    EXPECT_TRUE(server_first.ok());
    return Attribute(server_first.value_or(""), "s");
  };
  EXPECT_EQ(salt_for("mallory"), salt_for("mallory"));
  EXPECT_NE(salt_for("mallory"), salt_for("trudy"));
}

TEST_P(ScramExchangeTest, SaslNameEscapesCommaAndEquals) {
  Users users(m());
  users.Add("a,b=c", "secret");
  ScramServer server(m(), users.Lookup());
  ScramClient client(m(), "a,b=c", "secret");
  const std::string client_first = client.FirstMessage();
  EXPECT_TRUE(absl::StartsWith(client_first, "n,,n=a=2Cb=3Dc,r=")) << client_first;
  absl::StatusOr<std::string> server_first = server.Step(client_first);
  ASSERT_TRUE(server_first.ok());
  EXPECT_EQ(users.looked_up(), std::vector<std::string>{"a,b=c"});
  absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
  ASSERT_TRUE(client_final.ok());
  absl::StatusOr<std::string> server_final = server.Step(*client_final);
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(server.username(), "a,b=c");
  EXPECT_TRUE(client.VerifyServerFinal(*server_final).ok());
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, ScramExchangeTest,
                         Values(ScramMechanism::kSha256, ScramMechanism::kSha512),
                         [](const auto& info) {
                           return info.param == ScramMechanism::kSha256 ? "Sha256" : "Sha512";
                         });

// --- The server refuses -----------------------------------------------------------

// A server and a client for alice, run up to the client-final.
class ScramServerTest : public ::testing::Test {
 protected:
  ScramServerTest() : users_(ScramMechanism::kSha512) { users_.Add("alice", "alice-secret"); }

  // The client-final the client would send; the server awaits it.
  std::string ClientFinal() {
    absl::StatusOr<std::string> server_first = server_.Step(client_.FirstMessage());
    EXPECT_TRUE(server_first.ok()) << server_first.status();
    absl::StatusOr<std::string> client_final = client_.FinalMessage(server_first.value_or(""));
    EXPECT_TRUE(client_final.ok()) << client_final.status();
    return client_final.value_or("");
  }

  Users users_;
  ScramServer server_{ScramMechanism::kSha512, users_.Lookup(), "server-nonce"};
  ScramClient client_{ScramMechanism::kSha512, "alice", "alice-secret", "client-nonce"};
};

TEST_F(ScramServerTest, UntamperedClientFinalSucceeds) {
  EXPECT_TRUE(server_.Step(ClientFinal()).ok());
  EXPECT_TRUE(server_.complete());
  EXPECT_EQ(server_.Step("c=biws").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ScramServerTest, ChangedNonceFails) {
  std::string final_message = ClientFinal();
  std::string tampered = WithAttribute(final_message, "r", "client-nonceserver-noncf");
  ASSERT_NE(tampered, final_message);
  EXPECT_EQ(server_.Step(tampered).status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha512)));
  EXPECT_FALSE(server_.complete());
}

TEST_F(ScramServerTest, ChangedProofFails) {
  std::string final_message = ClientFinal();
  std::string proof = Unbase64(Attribute(final_message, "p"));
  proof[7] ^= 1;
  std::string tampered = WithAttribute(final_message, "p", absl::Base64Escape(proof));
  EXPECT_EQ(server_.Step(tampered).status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha512)));
}

TEST_F(ScramServerTest, ChangedChannelBindingFails) {
  std::string final_message = ClientFinal();
  // base64("y,,"): a valid gs2 header, not the one the client-first had.
  std::string tampered = WithAttribute(final_message, "c", "eSws");
  ASSERT_NE(tampered, final_message);
  EXPECT_EQ(server_.Step(tampered).status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha512)));
}

TEST_F(ScramServerTest, ChannelBindingThatIsNotBase64IsInvalid) {
  std::string tampered = WithAttribute(ClientFinal(), "c", "bi*s");
  EXPECT_EQ(server_.Step(tampered).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ScramServerTest, ProofOfTheWrongSizeIsInvalid) {
  std::string tampered =
      WithAttribute(ClientFinal(), "p", absl::Base64Escape(std::string(32, 'x')));
  absl::Status status = server_.Step(tampered).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "proof")) << status;
}

TEST_F(ScramServerTest, ClientFinalWithoutProofIsInvalid) {
  std::string final_message = ClientFinal();
  std::string without_proof = final_message.substr(0, final_message.find(",p="));
  absl::Status status = server_.Step(without_proof).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "p=")) << status;
}

TEST_F(ScramServerTest, ProofThatIsNotBase64IsInvalid) {
  std::string tampered = WithAttribute(ClientFinal(), "p", "not base64!");
  EXPECT_EQ(server_.Step(tampered).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ScramServerTest, ExtensionsInTheClientFinalAreIgnoredButSigned) {
  // An extension between r= and p= is part of the signed message: adding it
  // after the fact breaks the proof.
  std::string final_message = ClientFinal();
  std::string tampered = absl::StrReplaceAll(final_message, {{",p=", ",x=extension,p="}});
  EXPECT_EQ(server_.Step(tampered).status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha512)));
}

TEST(ScramServerMalformed, ClientFirstMessages) {
  Users users(ScramMechanism::kSha256);
  users.Add("user", "pencil");
  const std::pair<std::string, std::string> cases[] = {
      {"", "gs2"},
      {"n,,", "empty"},
      {"n,,r=abc", "n="},
      {"n,,n=user", "r="},
      {"n,,r=abc,n=user", "n="},
      {"x,,n=user,r=abc", "channel binding flag"},
      {"p=tls-server-end-point,,n=user,r=abc", "channel binding"},
      {"n,b=user,n=user,r=abc", "a="},
      {"n,a=,n=user,r=abc", "authzid"},
      {"n,,n=,r=abc", "user name"},
      {"n,,n=us=er,r=abc", "2C or 3D"},
      {"n,,n=us=2,r=abc", "2C or 3D"},
      {"n,,n=user,r=", "nonce"},
      {"n,,n=user,r=a\x7f", "nonce"},
      {"n,,n=user,r=abc,junk", "name=value"},
      {"n,,n=user,r=abc,9=1", "letters"},
      {"n,,m=mandatory,n=user,r=abc", "m="},
  };
  for (const auto& [message, expected] : cases) {
    ScramServer server(ScramMechanism::kSha256, users.Lookup());
    absl::Status status = server.Step(message).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << message << ": " << status;
    EXPECT_TRUE(absl::StrContains(status.message(), expected)) << message << ": " << status;
    EXPECT_EQ(server.Step("n,,n=user,r=abc").status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(users.looked_up().empty());
}

TEST(ScramServerMalformed, NulInsideTheUserName) {
  Users users(ScramMechanism::kSha256);
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  EXPECT_EQ(server.Step(std::string("n,,n=us\0er,r=abc", 16)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ScramServerFirst, AcceptsKafkaExtensionsAndReportsThem) {
  Users users(ScramMechanism::kSha256);
  users.Add("user", "pencil");
  ScramServer server(ScramMechanism::kSha256, users.Lookup(), "S");
  absl::StatusOr<std::string> server_first =
      server.Step("n,,n=user,r=abc,tokenauth=true,other=x=y");
  ASSERT_TRUE(server_first.ok()) << server_first.status();
  EXPECT_TRUE(absl::StartsWith(*server_first, "r=abcS,s=")) << *server_first;
  EXPECT_EQ(server.extensions(),
            (std::map<std::string, std::string>{{"tokenauth", "true"}, {"other", "x=y"}}));
}

TEST(ScramServerFirst, AuthzidMustBeTheUserName) {
  Users users(ScramMechanism::kSha256);
  users.Add("user", "pencil");
  {
    ScramServer server(ScramMechanism::kSha256, users.Lookup());
    EXPECT_EQ(server.Step("n,a=admin,n=user,r=abc").status(),
              absl::UnauthenticatedError("Authentication failed: Client requested an "
                                         "authorization id that is different from username"));
  }
  {
    ScramServer server(ScramMechanism::kSha256, users.Lookup());
    EXPECT_TRUE(server.Step("n,a=user,n=user,r=abc").ok());
  }
  {
    ScramServer server(ScramMechanism::kSha256, users.Lookup());
    EXPECT_TRUE(server.Step("y,,n=user,r=abc").ok());  // "y": no binding on either side
  }
}

// The authzid's gs2 header is what c= must carry: a client that sends
// "n,a=user," must bind "n,a=user,", not "n,,".
TEST(ScramServerFirst, ChannelBindingMustMatchTheGs2HeaderSent) {
  absl::StatusOr<ScramCredential> credential = MakeScramCredential(
      ScramMechanism::kSha256, "pencil", 4096, Unbase64("W22ZaJ0SNY7soEsUEjb6gQ=="));
  ASSERT_TRUE(credential.ok());
  ScramServer server(
      ScramMechanism::kSha256, [&](const std::string&) { return std::optional(*credential); },
      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  ASSERT_TRUE(server.Step("n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO").ok());
  // RFC 7677's final message carries c=biws ("n,,"), so it no longer fits.
  EXPECT_EQ(server
                .Step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
                .status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha256)));
}

TEST(ScramServerCredential, UnusableStoredCredentialFailsLikeAnUnknownUser) {
  absl::StatusOr<ScramCredential> sha512 =
      MakeScramCredential(ScramMechanism::kSha512, "secret", 4096);
  ASSERT_TRUE(sha512.ok());
  ScramCredential weak = *sha512;
  weak.iterations = 1000;
  ScramCredential wrong_mechanism = *sha512;
  wrong_mechanism.mechanism = ScramMechanism::kSha256;
  for (const ScramCredential& credential : {weak, wrong_mechanism}) {
    ScramServer server(ScramMechanism::kSha512,
                       [&](const std::string&) { return std::optional(credential); });
    ScramClient client(ScramMechanism::kSha512, "alice", "secret");
    absl::StatusOr<std::string> server_first = server.Step(client.FirstMessage());
    ASSERT_TRUE(server_first.ok()) << server_first.status();
    EXPECT_EQ(Attribute(*server_first, "i"), "4096");
    absl::StatusOr<std::string> client_final = client.FinalMessage(*server_first);
    ASSERT_TRUE(client_final.ok());
    EXPECT_EQ(server.Step(*client_final).status(),
              absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha512)));
  }
}

TEST(ScramServerNonce, InvalidGivenNonceFailsTheFirstStep) {
  ScramServer server(
      ScramMechanism::kSha256, [](const std::string&) { return std::nullopt; }, "a,b");
  EXPECT_EQ(server.Step("n,,n=user,r=abc").status().code(), absl::StatusCode::kInvalidArgument);
}

// --- Messages only a client with the password could sign ---------------------------

class ScramSignedByHandTest : public ::testing::Test {
 protected:
  ScramSignedByHandTest() : users_(ScramMechanism::kSha256) { users_.Add("user", "pencil"); }

  // Runs the client-first through the server; returns the server-first.
  std::string First(const std::string& client_first) {
    absl::StatusOr<std::string> server_first = server_.Step(client_first);
    EXPECT_TRUE(server_first.ok()) << server_first.status();
    return server_first.value_or("");
  }

  Users users_;
  ScramServer server_{ScramMechanism::kSha256, users_.Lookup(), "SERVER"};
  ForgingClient forger_{ScramMechanism::kSha256, "pencil"};
};

TEST_F(ScramSignedByHandTest, TheForgerSignsWhatScramClientWould) {
  // The forger itself is right: it reproduces RFC 7677's proof.
  EXPECT_EQ(forger_.Final("n=user,r=rOprNGfwEbeRWgbNEkqO",
                          "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const std::string server_first = First("n,,n=user,r=abc");
  EXPECT_TRUE(server_.Step(forger_.Final("n=user,r=abc", server_first, "c=biws,r=abcSERVER")).ok());
  EXPECT_TRUE(server_.complete());
}

TEST_F(ScramSignedByHandTest, SignedNonceOtherThanTheExchangesFails) {
  const std::string server_first = First("n,,n=user,r=abc");
  EXPECT_EQ(server_.Step(forger_.Final("n=user,r=abc", server_first, "c=biws,r=abcOTHER")).status(),
            absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha256)));
  EXPECT_FALSE(server_.complete());
}

// librdkafka before 2.6.1 (Debian 12's 2.0.2, kcat) repeats its client nonce
// in the client-final: "r=<client nonce><client nonce><server nonce>", signed
// as sent (confluentinc/librdkafka#4895). Kafka accepts it; so must we. The
// client nonce is one kcat sent: 32 characters from '-' to '~', '=' among them.
TEST_F(ScramSignedByHandTest, LibrdkafkaRepeatedClientNonceIsAccepted) {
  const std::string cnonce = "O0O-joy=gWE>_iA:zI|/Ge7BP1QfufYh";
  const std::string bare = absl::StrCat("n=user,r=", cnonce);
  const std::string server_first = First(absl::StrCat("n,,", bare));
  ASSERT_EQ(Attribute(server_first, "r"), absl::StrCat(cnonce, "SERVER"));
  absl::StatusOr<std::string> server_final = server_.Step(forger_.Final(
      bare, server_first, absl::StrCat("c=biws,r=", cnonce, cnonce, "SERVER")));
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_TRUE(server_.complete());
  EXPECT_EQ(server_.username(), "user");
}

TEST_F(ScramSignedByHandTest, OnlyTheClientNonceMayBeRepeated) {
  for (absl::string_view prefix : {"abd", "ab", "abcabc", "x"}) {
    ScramServer server(ScramMechanism::kSha256, users_.Lookup(), "SERVER");
    absl::StatusOr<std::string> server_first = server.Step("n,,n=user,r=abc");
    ASSERT_TRUE(server_first.ok()) << server_first.status();
    EXPECT_EQ(server
                  .Step(forger_.Final("n=user,r=abc", *server_first,
                                      absl::StrCat("c=biws,r=", prefix, "abcSERVER")))
                  .status(),
              absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha256)))
        << prefix;
  }
}

TEST_F(ScramSignedByHandTest, SignedChannelBindingOtherThanTheGs2HeaderFails) {
  const std::string server_first = First("n,,n=user,r=abc");
  // base64("y,,"), correctly signed, but the client-first said "n,,".
  EXPECT_EQ(
      server_.Step(forger_.Final("n=user,r=abc", server_first, "c=eSws,r=abcSERVER")).status(),
      absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha256)));
}

TEST_F(ScramSignedByHandTest, AuthzidEqualToTheUserBindsItsGs2Header) {
  const std::string server_first = First("n,a=user,n=user,r=abc");
  const std::string c = absl::Base64Escape("n,a=user,");
  absl::StatusOr<std::string> server_final = server_.Step(
      forger_.Final("n=user,r=abc", server_first, absl::StrCat("c=", c, ",r=abcSERVER")));
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(server_.username(), "user");
}

TEST_F(ScramSignedByHandTest, KafkaExtensionsInTheClientFirstAreSignedAndIgnored) {
  // Kafka's client puts extensions in the client-first-bare, which the proof covers.
  const std::string server_first = First("n,,n=user,r=abc,tokenauth=true");
  absl::StatusOr<std::string> server_final = server_.Step(
      forger_.Final("n=user,r=abc,tokenauth=true", server_first, "c=biws,r=abcSERVER"));
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(server_.extensions(), (std::map<std::string, std::string>{{"tokenauth", "true"}}));
}

TEST_F(ScramSignedByHandTest, ExtensionsInTheClientFinalAreIgnored) {
  const std::string server_first = First("n,,n=user,r=abc");
  EXPECT_TRUE(
      server_.Step(forger_.Final("n=user,r=abc", server_first, "c=biws,r=abcSERVER,x=ext")).ok());
}

TEST_F(ScramSignedByHandTest, UnknownUserFailsEvenWithAProofOverTheFakeSalt) {
  ScramServer server(ScramMechanism::kSha256, users_.Lookup(), "SERVER");
  absl::StatusOr<std::string> server_first = server.Step("n,,n=nobody,r=abc");
  ASSERT_TRUE(server_first.ok());
  EXPECT_EQ(
      server.Step(forger_.Final("n=nobody,r=abc", *server_first, "c=biws,r=abcSERVER")).status(),
      absl::UnauthenticatedError(FailedMessage(ScramMechanism::kSha256)));
}

// --- The client refuses -----------------------------------------------------------

class ScramClientTest : public ::testing::Test {
 protected:
  ScramClientTest() { client_.FirstMessage(); }
  ScramClient client_{ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO"};
};

TEST_F(ScramClientTest, IterationsBelowTheMinimum) {
  absl::Status status =
      client_.FinalMessage("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "minimum 4096")) << status;
  // And the exchange is over.
  EXPECT_EQ(client_.FinalMessage("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ScramClientTest, IterationsAboveTheMaximum) {
  absl::Status status =
      client_.FinalMessage("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000000000")
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "maximum 16384")) << status;
}

TEST_F(ScramClientTest, ServerNonceMustExtendOurs) {
  for (absl::string_view nonce : {"rOprNGfwEbeRWgbNEkqO", "xOprNGfwEbeRWgbNEkqOxyz", "rOpr"}) {
    ScramClient client(ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    client.FirstMessage();
    absl::Status status =
        client.FinalMessage(absl::StrCat("r=", nonce, ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
            .status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << nonce << ": " << status;
  }
}

TEST(ScramClientMalformed, ServerFirstMessages) {
  const std::string cases[] = {
      "",
      "r=rOprNGfwEbeRWgbNEkqOxyz",
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",  // unpadded
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096",
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
      "m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  };
  for (const std::string& message : cases) {
    ScramClient client(ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    client.FirstMessage();
    EXPECT_EQ(client.FinalMessage(message).status().code(), absl::StatusCode::kInvalidArgument)
        << message;
  }
}

TEST_F(ScramClientTest, ServerFirstExtensionsAreIgnored) {
  EXPECT_TRUE(
      client_.FinalMessage("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=y").ok());
}

TEST_F(ScramClientTest, ServerErrorInTheFirstMessage) {
  EXPECT_EQ(client_.FinalMessage("e=unknown-user").status(),
            absl::UnauthenticatedError("SCRAM server error: unknown-user"));
}

TEST_F(ScramClientTest, OutOfOrderCalls) {
  ScramClient fresh(ScramMechanism::kSha256, "user", "pencil");
  EXPECT_EQ(fresh.FinalMessage("r=x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fresh.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ScramClientNonce, InvalidGivenNonceFailsFinalMessage) {
  ScramClient client(ScramMechanism::kSha256, "user", "pencil", "a,b");
  client.FirstMessage();
  EXPECT_EQ(client.FinalMessage("r=a,bc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A client that has sent RFC 7677's client-final, awaiting the server-final.
class ScramServerFinalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.FirstMessage();
    ASSERT_TRUE(client_
                    .FinalMessage("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                    .ok());
  }
  ScramClient client_{ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO"};
};

TEST_F(ScramServerFinalTest, RightSignature) {
  EXPECT_TRUE(client_.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_EQ(client_.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ScramServerFinalTest, ServerError) {
  absl::Status status = client_.VerifyServerFinal("e=invalid-proof");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(status.message(), "invalid-proof")) << status;
}

TEST_F(ScramServerFinalTest, BadSignature) {
  // One bit off.
  absl::Status status = client_.VerifyServerFinal("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
}

TEST_F(ScramServerFinalTest, ShortSignature) {
  EXPECT_EQ(client_.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mA==").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(ScramServerFinalTest, MalformedServerFinal) {
  EXPECT_EQ(client_.VerifyServerFinal("x=1").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ScramServerFinalTest, SignatureThatIsNotBase64) {
  EXPECT_EQ(client_.VerifyServerFinal("v=6rri*").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strata::security
