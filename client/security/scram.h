// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks them:
// the client's login and the broker's authenticator both use this file.
//
// One exchange is four messages:
//
//   client-first   n,,n=<saslname>,r=<client nonce>[,<ext>=<value>...]
//   server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
//   client-final   c=biws,r=<nonce>,p=<base64 proof>
//   server-final   v=<base64 server signature>      (or e=<error>)
//
// As Kafka's ScramSaslClient and ScramSaslServer, with these choices (the
// ones marked * differ from Kafka):
//  - No channel binding. A client-first whose gs2 flag is "n" (or *"y": the
//    client could bind but believes the server cannot, which is true) is
//    accepted; "p=..." is refused. The client always sends "n,,", so c= is
//    base64("n,,") = "biws". The server checks that c= decodes to the gs2
//    header of the client-first.
//  - An authzid ("n,a=<name>,") is accepted only when it equals the user
//    name, with Kafka's message otherwise.
//  - Extensions after the nonce in the client-first ("tokenauth=true", which
//    Kafka's client sends for delegation tokens, or any other name=value)
//    are ignored and reported by ScramServer::extensions(); the broker
//    decides what to make of them. *A mandatory extension ("m=...") fails
//    the exchange, as RFC 5802 requires (Kafka ignores it).
//  - Passwords are used as the UTF-8 bytes given: Kafka applies no SASLprep.
//  - Iteration counts are in [kMinScramIterations, kMaxScramIterations]
//    everywhere: credentials are made within them, a server will not use a
//    stored credential outside them, and a client refuses a server asking
//    for a count outside them (below: too weak; *above: a hostile server
//    making the client spin; Kafka's client checks only the minimum).
//  - *An unknown user fails at the proof, not at the client-first (see
//    ScramServer).
//  - Nonces are printable ASCII without ','. Left empty, 24 random bytes
//    (RAND_bytes) in base64 (32 characters) are used.
//
// Errors: InvalidArgument for a malformed message or argument, naming what
// is wrong; Unauthenticated when a party proves to be wrong (bad proof,
// unknown user, server signature that does not match, an e= from the
// server); FailedPrecondition for a call out of order; Internal when OpenSSL
// fails. After an error an exchange object is finished: every further call
// fails with FailedPrecondition.
//
// Thread-safety: the free functions are thread-safe. ScramClient and
// ScramServer are one exchange each and not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::security {

enum class ScramMechanism { kSha256, kSha512 };

// "SCRAM-SHA-256" / "SCRAM-SHA-512" -> mechanism; anything else nullopt.
// Case-sensitive, as SASL mechanism names are on Kafka's wire.
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);
// "SCRAM-SHA-256" / "SCRAM-SHA-512".
const char* ScramMechanismName(ScramMechanism m);

// Kafka's bounds (ScramMechanism.minIterations / maxIterations).
inline constexpr int32_t kMinScramIterations = 4096, kMaxScramIterations = 16384;

// What the broker stores for a user and mechanism: never the password.
struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::kSha256;
  std::string salt;        // raw bytes
  std::string stored_key;  // H(ClientKey), raw bytes
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), raw bytes
  int32_t iterations = 4096;
};

// The credential for `password`: SaltedPassword = PBKDF2-HMAC-H(password,
// salt, iterations), ClientKey = HMAC(SaltedPassword, "Client Key"),
// StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
// An empty `salt` is replaced by 32 random bytes. InvalidArgument naming the
// bound when `iterations` is outside [kMinScramIterations,
// kMaxScramIterations]; Internal if OpenSSL fails.
absl::StatusOr<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                                    int32_t iterations, std::string salt = "");

// The client side of one exchange:
//
//   ScramClient client(ScramMechanism::kSha256, "alice", "alice-secret");
//   send(client.FirstMessage());
//   ASSIGN_OR_RETURN(std::string final_message, client.FinalMessage(receive()));
//   send(final_message);
//   RETURN_IF_ERROR(client.VerifyServerFinal(receive()));
//
// Only after VerifyServerFinal returns OK is the server known to hold the
// user's credential.
class ScramClient {
 public:
  // `username` is sent saslname-encoded (',' -> "=2C", '=' -> "=3D").
  // `nonce`: the client nonce; empty picks a random one. A given nonce must
  // be printable ASCII without ',' (tests use RFC 7677's); one that is not
  // makes FinalMessage fail with InvalidArgument.
  ScramClient(ScramMechanism m, std::string username, std::string password, std::string nonce = "");

  // The client-first message ("n,,n=<user>,r=<nonce>"). Calling it again
  // returns the same message.
  std::string FirstMessage();

  // The client-final message answering `server_first`. Checks that the
  // server's nonce extends the client's (Unauthenticated otherwise) and that
  // the iteration count is within the bounds (InvalidArgument naming the
  // bound). An "e=..." server-first is Unauthenticated with the server's
  // error. The password is wiped from memory once used.
  absl::StatusOr<std::string> FinalMessage(std::string_view server_first);

  // Checks the server-final: "v=<signature>" must be the server signature
  // that only a holder of the credential can compute (Unauthenticated
  // otherwise); "e=<error>" is Unauthenticated with the server's error.
  absl::Status VerifyServerFinal(std::string_view server_final);

 private:
  enum class State { kInitial, kFirstSent, kFinalSent, kDone, kFailed };
  absl::Status Fail(absl::Status status);

  ScramMechanism mechanism_;
  std::string username_;
  std::string password_;
  std::string nonce_;
  absl::Status nonce_status_;  // why `nonce_` cannot be used, if it cannot
  State state_ = State::kInitial;
  std::string client_first_bare_;
  std::string expected_server_signature_;
};

// The server side of one exchange:
//
//   ScramServer server(ScramMechanism::kSha512, lookup);
//   ASSIGN_OR_RETURN(std::string server_first, server.Step(client_first));
//   ASSIGN_OR_RETURN(std::string server_final, server.Step(client_final));
//   // server.complete(): server.username() is authenticated.
//
// An unknown user is not revealed by the answers: the server-first carries
// a salt derived from the user name and a secret random to this process (the
// same unknown name gets the same salt on every connection, as a real user
// does) and the default iteration count, and the exchange fails at the
// proof with the same message as a wrong password.
class ScramServer {
 public:
  // Looks a user's credential up for this mechanism; nullopt: unknown user.
  // Called once per exchange, with the decoded user name.
  using CredentialLookup =
      std::function<std::optional<ScramCredential>(const std::string& username)>;

  // `nonce`: the server's part of the nonce, appended to the client's
  // ("r=<client nonce><nonce>"); empty picks a random one. With RFC 7677's
  // example, nonce "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" after the client's
  // "rOprNGfwEbeRWgbNEkqO". A given nonce must be printable ASCII without
  // ','; one that is not makes Step fail with InvalidArgument.
  ScramServer(ScramMechanism m, CredentialLookup lookup, std::string nonce = "");

  // The first call takes the client-first and returns the server-first; the
  // second takes the client-final and returns the server-final, after which
  // complete() is true. Errors:
  //  - Unauthenticated with AuthenticationFailedMessage() (sasl.h) for this
  //    mechanism: unknown user, wrong proof, a nonce or channel binding in
  //    the client-final that is not the one of this exchange (librdkafka
  //    before 2.6.1's repeated client nonce, <client><client><server>, is
  //    accepted, as Kafka since 3.8.1 accepts it), or a stored
  //    credential that cannot be used (other mechanism, iteration count
  //    outside the bounds, keys of the wrong size: treated as an unknown
  //    user, so it too fails at the proof);
  //  - Unauthenticated "Authentication failed: Client requested an
  //    authorization id that is different from username" (Kafka's);
  //  - InvalidArgument for a malformed message, naming what is wrong;
  //  - FailedPrecondition when called after completion or an error.
  absl::StatusOr<std::string> Step(std::string_view client_message);

  bool complete() const { return state_ == State::kComplete; }

  // The authenticated user once complete(), saslname-decoded ("=2C" -> ',',
  // "=3D" -> '='). Before that, the name the client claims (or empty).
  const std::string& username() const { return username_; }

  // The extensions of the client-first ("tokenauth" -> "true"), in case the
  // broker wants them; ignored by the exchange itself.
  const std::map<std::string, std::string>& extensions() const { return extensions_; }

 private:
  enum class State { kAwaitClientFirst, kAwaitClientFinal, kComplete, kFailed };
  absl::StatusOr<std::string> HandleClientFirst(absl::string_view message);
  absl::StatusOr<std::string> HandleClientFinal(absl::string_view message);

  ScramMechanism mechanism_;
  CredentialLookup lookup_;
  std::string server_nonce_;
  absl::Status nonce_status_;
  State state_ = State::kAwaitClientFirst;
  std::string username_;
  std::map<std::string, std::string> extensions_;
  std::string gs2_header_;  // "n,," or "n,a=<authzid>," as the client sent it
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  ScramCredential credential_;
  bool usable_credential_ = false;  // false: unknown user or unusable stored credential
};

}  // namespace strata::security
