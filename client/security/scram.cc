#include "client/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/security/sasl.h"

namespace strata::security {
namespace {

constexpr size_t kSaltBytes = 32;
constexpr size_t kNonceBytes = 24;  // 32 characters in base64, no padding
constexpr absl::string_view kDifferentAuthzid =
    "Authentication failed: Client requested an authorization id that is different from username";

// absl's string_view is its own type in this build of abseil.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// --- Hashes, HMAC, Hi (PBKDF2) ------------------------------------------------

const char* DigestName(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? "SHA256" : "SHA512";
}

const EVP_MD* Digest(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

size_t DigestSize(ScramMechanism m) { return m == ScramMechanism::kSha256 ? 32 : 64; }

// OpenSSL wants a valid pointer even for zero bytes.
const unsigned char* Bytes(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

absl::StatusOr<std::string> Hmac(ScramMechanism m, absl::string_view key, absl::string_view data) {
  std::string out(DigestSize(m), '\0');
  size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, DigestName(m), nullptr, Bytes(key), key.size(),
                Bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                &out_len) == nullptr ||
      out_len != out.size()) {
    return absl::InternalError(absl::StrCat("HMAC-", DigestName(m), " failed in OpenSSL"));
  }
  return out;
}

absl::StatusOr<std::string> Hash(ScramMechanism m, absl::string_view data) {
  std::string out(DigestSize(m), '\0');
  unsigned int out_len = 0;
  if (EVP_Digest(Bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), &out_len,
                 Digest(m), nullptr) != 1 ||
      out_len != out.size()) {
    return absl::InternalError(absl::StrCat(DigestName(m), " failed in OpenSSL"));
  }
  return out;
}

// RFC 5802's Hi(): PBKDF2 with HMAC-H and the digest's length.
absl::StatusOr<std::string> Hi(ScramMechanism m, absl::string_view password, absl::string_view salt,
                               int32_t iterations) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX) {
    return absl::InvalidArgumentError("SCRAM password or salt too long");
  }
  std::string out(DigestSize(m), '\0');
  if (PKCS5_PBKDF2_HMAC(password.empty() ? "" : password.data(), static_cast<int>(password.size()),
                        Bytes(salt), static_cast<int>(salt.size()), iterations, Digest(m),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return absl::InternalError(absl::StrCat("PBKDF2-HMAC-", DigestName(m), " failed in OpenSSL"));
  }
  return out;
}

std::string Xor(absl::string_view a, absl::string_view b) {
  std::string out(a.size(), '\0');
  for (size_t i = 0; i < a.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("RAND_bytes failed in OpenSSL");
  }
  return out;
}

// --- Message syntax -----------------------------------------------------------

// RFC 5802 "printable": %x21-2B / %x2D-7E.
absl::Status CheckNonce(absl::string_view nonce, absl::string_view whose) {
  if (nonce.empty()) return absl::InvalidArgumentError(absl::StrCat(whose, " nonce is empty"));
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') {
      return absl::InvalidArgumentError(
          absl::StrCat(whose, " nonce has a character that is not printable ASCII or is ','"));
    }
  }
  return absl::OkStatus();
}

absl::Status ResolveNonce(std::string& nonce, absl::string_view whose) {
  if (nonce.empty()) {
    absl::StatusOr<std::string> bytes = RandomBytes(kNonceBytes);
    if (!bytes.ok()) return bytes.status();
    nonce = absl::Base64Escape(*bytes);
  }
  return CheckNonce(nonce, whose);
}

std::string EncodeSaslName(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> DecodeSaslName(absl::string_view encoded, absl::string_view what) {
  if (encoded.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '\0') return absl::InvalidArgumentError(absl::StrCat(what, " contains NUL"));
    if (c != '=') {
      out += c;
      continue;
    }
    absl::string_view escape = encoded.substr(i + 1, 2);
    if (escape == "2C") {
      out += ',';
    } else if (escape == "3D") {
      out += '=';
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has '=' not followed by 2C or 3D (saslname escaping)"));
    }
    i += 2;
  }
  return out;
}

// Strict base64 as RFC 5802 has it: the standard alphabet, padded to a
// multiple of 4 (absl's decoder alone also takes unpadded text).
absl::StatusOr<std::string> DecodeBase64(absl::string_view text, absl::string_view what) {
  bool ok = text.size() % 4 == 0;
  size_t padding = 0;
  for (size_t i = 0; ok && i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      ++padding;
      ok = i + 2 >= text.size();
    } else {
      ok = padding == 0 &&
           (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/');
    }
  }
  std::string out;
  if (!ok || !absl::Base64Unescape(text, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not base64"));
  }
  return out;
}

// One "name=value" of a message. SCRAM's own attributes have one-letter
// names; Kafka's extensions longer ones.
struct Attribute {
  absl::string_view name;
  absl::string_view value;
};

absl::StatusOr<std::vector<Attribute>> SplitAttributes(absl::string_view text,
                                                       absl::string_view message) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("SCRAM ", message, " is empty"));
  std::vector<Attribute> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("SCRAM ", message, " has an attribute that is not name=value"));
    }
    absl::string_view name = part.substr(0, eq);
    for (char c : name) {
      if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            absl::StrCat("SCRAM ", message, " has an attribute name that is not letters"));
      }
    }
    out.push_back({name, part.substr(eq + 1)});
  }
  return out;
}

absl::Status Expect(const std::vector<Attribute>& attributes, size_t index, absl::string_view name,
                    absl::string_view message) {
  if (index >= attributes.size() || attributes[index].name != name) {
    return absl::InvalidArgumentError(
        absl::StrCat("SCRAM ", message, " lacks ", name, "= where it belongs"));
  }
  return absl::OkStatus();
}

absl::Status RefuseMandatoryExtension(const std::vector<Attribute>& attributes,
                                      absl::string_view message) {
  if (!attributes.empty() && attributes[0].name == "m") {
    return absl::InvalidArgumentError(
        absl::StrCat("SCRAM ", message, " requires an extension (m=) that is not supported"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> ParseIterations(absl::string_view text) {
  int64_t value = 0;
  bool digits = !text.empty() && text.size() <= 10;
  for (char c : text) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (!digits || !absl::SimpleAtoi(text, &value) || value > INT32_MAX) {
    return absl::InvalidArgumentError(
        "SCRAM server-first has an iteration count (i=) that is not "
        "a number");
  }
  return static_cast<int32_t>(value);
}

absl::Status CheckIterations(int64_t iterations, ScramMechanism m, absl::string_view who) {
  if (iterations < kMinScramIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " iterations ", iterations, " is less than the minimum ",
                     kMinScramIterations, " for ", ScramMechanismName(m)));
  }
  if (iterations > kMaxScramIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " iterations ", iterations, " is more than the maximum ",
                     kMaxScramIterations, " for ", ScramMechanismName(m)));
  }
  return absl::OkStatus();
}

// --- Unknown users ------------------------------------------------------------

// Random to this process, so that the fake salt of an unknown user is stable
// across connections (as a real user's salt is) yet cannot be predicted.
absl::StatusOr<std::string> ProcessSecret() {
  static const absl::StatusOr<std::string>* const secret =
      new absl::StatusOr<std::string>(RandomBytes(32));
  return *secret;
}

// A credential for a user that has none: the exchange goes on as for a real
// user and fails at the proof.
absl::StatusOr<ScramCredential> FakeCredential(ScramMechanism m, absl::string_view username) {
  absl::StatusOr<std::string> secret = ProcessSecret();
  if (!secret.ok()) return secret.status();
  std::string label = absl::StrCat(ScramMechanismName(m), "\n", username);
  ScramCredential credential;
  credential.mechanism = m;
  credential.iterations = kMinScramIterations;  // Kafka's default
  absl::StatusOr<std::string> salt =
      Hmac(ScramMechanism::kSha256, *secret, absl::StrCat("salt\n", label));
  absl::StatusOr<std::string> stored_key = Hmac(m, *secret, absl::StrCat("stored key\n", label));
  absl::StatusOr<std::string> server_key = Hmac(m, *secret, absl::StrCat("server key\n", label));
  if (!salt.ok()) return salt.status();
  if (!stored_key.ok()) return stored_key.status();
  if (!server_key.ok()) return server_key.status();
  credential.salt = std::move(*salt);  // 32 bytes, as MakeScramCredential's
  credential.stored_key = std::move(*stored_key);
  credential.server_key = std::move(*server_key);
  return credential;
}

bool Usable(const ScramCredential& credential, ScramMechanism m) {
  return credential.mechanism == m && !credential.salt.empty() &&
         credential.stored_key.size() == DigestSize(m) &&
         credential.server_key.size() == DigestSize(m) &&
         CheckIterations(credential.iterations, m, "").ok();
}

}  // namespace

// --- Mechanisms and credentials -----------------------------------------------

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

const char* ScramMechanismName(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

absl::StatusOr<ScramCredential> MakeScramCredential(ScramMechanism m,
                                                    std::string_view password_view,
                                                    int32_t iterations, std::string salt) {
  absl::string_view password = AbslView(password_view);
  if (absl::Status s = CheckIterations(iterations, m, "SCRAM"); !s.ok()) return s;
  if (salt.empty()) {
    absl::StatusOr<std::string> random = RandomBytes(kSaltBytes);
    if (!random.ok()) return random.status();
    salt = std::move(*random);
  }
  absl::StatusOr<std::string> salted = Hi(m, password, salt, iterations);
  if (!salted.ok()) return salted.status();
  absl::StatusOr<std::string> client_key = Hmac(m, *salted, "Client Key");
  absl::StatusOr<std::string> server_key = Hmac(m, *salted, "Server Key");
  Wipe(*salted);
  if (!client_key.ok()) return client_key.status();
  if (!server_key.ok()) return server_key.status();
  absl::StatusOr<std::string> stored_key = Hash(m, *client_key);
  Wipe(*client_key);
  if (!stored_key.ok()) return stored_key.status();

  ScramCredential credential;
  credential.mechanism = m;
  credential.salt = std::move(salt);
  credential.stored_key = std::move(*stored_key);
  credential.server_key = std::move(*server_key);
  credential.iterations = iterations;
  return credential;
}

// --- Client -------------------------------------------------------------------

ScramClient::ScramClient(ScramMechanism m, std::string username, std::string password,
                         std::string nonce)
    : mechanism_(m),
      username_(std::move(username)),
      password_(std::move(password)),
      nonce_(std::move(nonce)) {
  nonce_status_ = ResolveNonce(nonce_, "SCRAM client");
}

absl::Status ScramClient::Fail(absl::Status status) {
  state_ = State::kFailed;
  Wipe(password_);
  return status;
}

std::string ScramClient::FirstMessage() {
  client_first_bare_ = absl::StrCat("n=", EncodeSaslName(username_), ",r=", nonce_);
  if (state_ == State::kInitial) state_ = State::kFirstSent;
  return absl::StrCat("n,,", client_first_bare_);
}

absl::StatusOr<std::string> ScramClient::FinalMessage(std::string_view server_first_view) {
  absl::string_view server_first = AbslView(server_first_view);
  if (state_ != State::kFirstSent) {
    return absl::FailedPreconditionError(
        "SCRAM client: FinalMessage must follow FirstMessage, once");
  }
  if (!nonce_status_.ok()) return Fail(nonce_status_);

  absl::StatusOr<std::vector<Attribute>> attributes = SplitAttributes(server_first, "server-first");
  if (!attributes.ok()) return Fail(attributes.status());
  if (!attributes->empty() && (*attributes)[0].name == "e") {
    return Fail(
        absl::UnauthenticatedError(absl::StrCat("SCRAM server error: ", (*attributes)[0].value)));
  }
  if (absl::Status s = RefuseMandatoryExtension(*attributes, "server-first"); !s.ok()) {
    return Fail(s);
  }
  for (auto [index, name] : {std::pair<size_t, absl::string_view>{0, "r"}, {1, "s"}, {2, "i"}}) {
    if (absl::Status s = Expect(*attributes, index, name, "server-first"); !s.ok()) return Fail(s);
  }
  // Extensions after i= are ignored.
  absl::string_view nonce = (*attributes)[0].value;
  if (absl::Status s = CheckNonce(nonce, "SCRAM server-first"); !s.ok()) return Fail(s);
  if (nonce.size() <= nonce_.size() || nonce.substr(0, nonce_.size()) != nonce_) {
    return Fail(absl::UnauthenticatedError(
        "Invalid server nonce: does not start with client nonce and extend it"));
  }
  absl::StatusOr<std::string> salt = DecodeBase64((*attributes)[1].value, "SCRAM salt (s=)");
  if (!salt.ok()) return Fail(salt.status());
  if (salt->empty()) return Fail(absl::InvalidArgumentError("SCRAM salt (s=) is empty"));
  absl::StatusOr<int32_t> iterations = ParseIterations((*attributes)[2].value);
  if (!iterations.ok()) return Fail(iterations.status());
  if (absl::Status s = CheckIterations(*iterations, mechanism_, "SCRAM server requested");
      !s.ok()) {
    return Fail(s);
  }

  absl::StatusOr<std::string> salted = Hi(mechanism_, password_, *salt, *iterations);
  Wipe(password_);
  if (!salted.ok()) return Fail(salted.status());
  absl::StatusOr<std::string> client_key = Hmac(mechanism_, *salted, "Client Key");
  absl::StatusOr<std::string> server_key = Hmac(mechanism_, *salted, "Server Key");
  Wipe(*salted);
  if (!client_key.ok()) return Fail(client_key.status());
  if (!server_key.ok()) return Fail(server_key.status());
  absl::StatusOr<std::string> stored_key = Hash(mechanism_, *client_key);
  if (!stored_key.ok()) return Fail(stored_key.status());

  std::string without_proof = absl::StrCat("c=", absl::Base64Escape("n,,"), ",r=", nonce);
  std::string auth_message =
      absl::StrCat(client_first_bare_, ",", server_first, ",", without_proof);
  absl::StatusOr<std::string> client_signature = Hmac(mechanism_, *stored_key, auth_message);
  absl::StatusOr<std::string> server_signature = Hmac(mechanism_, *server_key, auth_message);
  if (!client_signature.ok()) return Fail(client_signature.status());
  if (!server_signature.ok()) return Fail(server_signature.status());
  std::string proof = Xor(*client_key, *client_signature);
  Wipe(*client_key);

  expected_server_signature_ = std::move(*server_signature);
  state_ = State::kFinalSent;
  return absl::StrCat(without_proof, ",p=", absl::Base64Escape(proof));
}

absl::Status ScramClient::VerifyServerFinal(std::string_view server_final_view) {
  absl::string_view server_final = AbslView(server_final_view);
  if (state_ != State::kFinalSent) {
    return absl::FailedPreconditionError(
        "SCRAM client: VerifyServerFinal must follow FinalMessage, once");
  }
  absl::StatusOr<std::vector<Attribute>> attributes = SplitAttributes(server_final, "server-final");
  if (!attributes.ok()) return Fail(attributes.status());
  if (!attributes->empty() && (*attributes)[0].name == "e") {
    return Fail(
        absl::UnauthenticatedError(absl::StrCat("SCRAM server error: ", (*attributes)[0].value)));
  }
  if (absl::Status s = Expect(*attributes, 0, "v", "server-final"); !s.ok()) return Fail(s);
  absl::StatusOr<std::string> signature =
      DecodeBase64((*attributes)[0].value, "SCRAM server signature (v=)");
  if (!signature.ok()) return Fail(signature.status());
  if (!ConstantTimeEquals(*signature, expected_server_signature_)) {
    return Fail(absl::UnauthenticatedError(
        "SCRAM server signature does not match: the server does not hold this user's credential"));
  }
  state_ = State::kDone;
  return absl::OkStatus();
}

// --- Server -------------------------------------------------------------------

ScramServer::ScramServer(ScramMechanism m, CredentialLookup lookup, std::string nonce)
    : mechanism_(m), lookup_(std::move(lookup)), server_nonce_(std::move(nonce)) {
  nonce_status_ = ResolveNonce(server_nonce_, "SCRAM server");
}

absl::StatusOr<std::string> ScramServer::Step(std::string_view client_message_view) {
  absl::string_view client_message = AbslView(client_message_view);
  absl::StatusOr<std::string> answer;
  switch (state_) {
    case State::kAwaitClientFirst:
      answer = HandleClientFirst(client_message);
      if (answer.ok()) state_ = State::kAwaitClientFinal;
      break;
    case State::kAwaitClientFinal:
      answer = HandleClientFinal(client_message);
      if (answer.ok()) state_ = State::kComplete;
      break;
    case State::kComplete:
      return absl::FailedPreconditionError("SCRAM exchange already complete");
    case State::kFailed:
      return absl::FailedPreconditionError("SCRAM exchange already failed");
  }
  if (!answer.ok()) {
    state_ = State::kFailed;
    credential_ = ScramCredential();
  }
  return answer;
}

absl::StatusOr<std::string> ScramServer::HandleClientFirst(absl::string_view message) {
  if (!nonce_status_.ok()) return nonce_status_;

  // gs2-header: cbind-flag "," [authzid] ","
  std::vector<absl::string_view> gs2 = absl::StrSplit(message, absl::MaxSplits(',', 2));
  if (gs2.size() != 3) {
    return absl::InvalidArgumentError("SCRAM client-first does not start with a gs2 header");
  }
  if (gs2[0] != "n" && gs2[0] != "y") {
    return absl::InvalidArgumentError(
        gs2[0].substr(0, 2) == "p="
            ? "SCRAM client-first asks for channel binding, which is not supported"
            : "SCRAM client-first has a channel binding flag other than n, y or p=");
  }
  std::string authzid;
  if (!gs2[1].empty()) {
    if (gs2[1].substr(0, 2) != "a=") {
      return absl::InvalidArgumentError(
          "SCRAM client-first has something other than a= (authzid) in its gs2 header");
    }
    absl::StatusOr<std::string> decoded = DecodeSaslName(gs2[1].substr(2), "SCRAM authzid");
    if (!decoded.ok()) return decoded.status();
    authzid = std::move(*decoded);
  }
  absl::string_view bare = gs2[2];

  absl::StatusOr<std::vector<Attribute>> attributes = SplitAttributes(bare, "client-first");
  if (!attributes.ok()) return attributes.status();
  if (absl::Status s = RefuseMandatoryExtension(*attributes, "client-first"); !s.ok()) return s;
  if (absl::Status s = Expect(*attributes, 0, "n", "client-first"); !s.ok()) return s;
  if (absl::Status s = Expect(*attributes, 1, "r", "client-first"); !s.ok()) return s;
  absl::StatusOr<std::string> username =
      DecodeSaslName((*attributes)[0].value, "SCRAM user name (n=)");
  if (!username.ok()) return username.status();
  absl::string_view client_nonce = (*attributes)[1].value;
  if (absl::Status s = CheckNonce(client_nonce, "SCRAM client-first"); !s.ok()) return s;
  std::map<std::string, std::string> extensions;
  for (size_t i = 2; i < attributes->size(); ++i) {
    extensions[std::string((*attributes)[i].name)] = std::string((*attributes)[i].value);
  }
  if (!authzid.empty() && authzid != *username) {
    return absl::UnauthenticatedError(kDifferentAuthzid);
  }

  username_ = std::move(*username);
  extensions_ = std::move(extensions);
  gs2_header_ = std::string(message.substr(0, message.size() - bare.size()));
  client_first_bare_ = std::string(bare);

  std::optional<ScramCredential> stored = lookup_ ? lookup_(username_) : std::nullopt;
  usable_credential_ = stored.has_value() && Usable(*stored, mechanism_);
  if (usable_credential_) {
    credential_ = std::move(*stored);
  } else {
    absl::StatusOr<ScramCredential> fake = FakeCredential(mechanism_, username_);
    if (!fake.ok()) return fake.status();
    credential_ = std::move(*fake);
  }

  nonce_ = absl::StrCat(client_nonce, server_nonce_);
  server_first_ = absl::StrCat("r=", nonce_, ",s=", absl::Base64Escape(credential_.salt),
                               ",i=", credential_.iterations);
  return server_first_;
}

absl::StatusOr<std::string> ScramServer::HandleClientFinal(absl::string_view message) {
  absl::StatusOr<std::vector<Attribute>> attributes = SplitAttributes(message, "client-final");
  if (!attributes.ok()) return attributes.status();
  if (absl::Status s = Expect(*attributes, 0, "c", "client-final"); !s.ok()) return s;
  if (absl::Status s = Expect(*attributes, 1, "r", "client-final"); !s.ok()) return s;
  // c=, r=, any extensions, then p= last.
  if (attributes->size() < 3 || attributes->back().name != "p") {
    return absl::InvalidArgumentError("SCRAM client-final does not end with a proof (p=)");
  }
  absl::StatusOr<std::string> channel_binding =
      DecodeBase64((*attributes)[0].value, "SCRAM channel binding (c=)");
  if (!channel_binding.ok()) return channel_binding.status();
  absl::string_view proof_text = attributes->back().value;
  absl::StatusOr<std::string> proof = DecodeBase64(proof_text, "SCRAM proof (p=)");
  if (!proof.ok()) return proof.status();
  if (proof->size() != DigestSize(mechanism_)) {
    return absl::InvalidArgumentError(absl::StrCat("SCRAM proof (p=) has ", proof->size(),
                                                   " bytes; ", ScramMechanismName(mechanism_),
                                                   " has ", DigestSize(mechanism_)));
  }
  // Everything but ",p=<proof>".
  absl::string_view without_proof = message.substr(0, message.size() - proof_text.size() - 3);

  // The proof is checked whatever else is wrong, so that the time taken
  // says nothing of which check failed.
  std::string auth_message =
      absl::StrCat(client_first_bare_, ",", server_first_, ",", without_proof);
  absl::StatusOr<std::string> client_signature =
      Hmac(mechanism_, credential_.stored_key, auth_message);
  if (!client_signature.ok()) return client_signature.status();
  absl::StatusOr<std::string> stored_key = Hash(mechanism_, Xor(*proof, *client_signature));
  if (!stored_key.ok()) return stored_key.status();
  bool proof_ok = ConstantTimeEquals(*stored_key, credential_.stored_key);
  // RFC 5802: r= is the server-first's nonce. librdkafka before 2.6.1
  // (confluentinc/librdkafka#4895) puts its client nonce once more in front
  // of it, "r=<client nonce><client nonce><server nonce>", and signs that;
  // Kafka takes it (its check is that r= ends with the server-first's
  // nonce), so this takes that one form too, and nothing else.
  absl::string_view final_nonce = (*attributes)[1].value;
  absl::string_view client_nonce =
      absl::string_view(nonce_).substr(0, nonce_.size() - server_nonce_.size());
  bool nonce_ok = final_nonce == nonce_ ||
                  (final_nonce.size() == client_nonce.size() + nonce_.size() &&
                   final_nonce.substr(0, client_nonce.size()) == client_nonce &&
                   final_nonce.substr(client_nonce.size()) == nonce_);
  bool binding_ok = *channel_binding == gs2_header_;
  if (!(proof_ok && nonce_ok && binding_ok && usable_credential_)) {
    return absl::UnauthenticatedError(AuthenticationFailedMessage(ScramMechanismName(mechanism_)));
  }

  absl::StatusOr<std::string> server_signature =
      Hmac(mechanism_, credential_.server_key, auth_message);
  if (!server_signature.ok()) return server_signature.status();
  credential_ = ScramCredential();
  return absl::StrCat("v=", absl::Base64Escape(*server_signature));
}

}  // namespace strata::security
