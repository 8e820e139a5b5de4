// SASL pieces other than SCRAM (scram.h), shared by the client's login and
// the broker's authenticator: the PLAIN message (RFC 4616), the option string
// of Kafka's sasl.jaas.config, and Kafka's authentication-failure message.
//
// Errors are InvalidArgument with Kafka's message where Kafka has one
// (PlainSaslServer, JaasConfig), so that a client sees what a Kafka broker
// would have told it.
//
// Thread-safe: all functions are pure.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::security {

// Kafka's message for a failed SASL authentication (a wrong password, an
// unknown user), as SaslServerAuthenticator sends it: "Authentication failed
// during authentication due to invalid credentials with SASL mechanism
// <mechanism_name>". The same for every reason, so that it does not tell a
// client which user names exist.
std::string AuthenticationFailedMessage(std::string_view mechanism_name);

// A PLAIN message's parts. `authzid` is empty or equal to `username`.
struct PlainCredentials {
  std::string authzid, username, password;
};

// Parses RFC 4616's "authzid\0username\0password" as Kafka's PlainSaslServer
// does, with its messages: not exactly 3 parts ("Invalid SASL/PLAIN
// response: expected 3 tokens, got N"), an empty user name or password
// ("Authentication failed: username not specified" / "... password not
// specified"), an authzid other than the user name ("Authentication failed:
// Client requested an authorization id that is different from username").
// All InvalidArgument. Checks nothing against any credential.
absl::StatusOr<PlainCredentials> ParsePlainMessage(std::string_view message);

// "\0username\0password": no authzid, as Kafka's client sends it.
std::string MakePlainMessage(std::string_view username, std::string_view password);

// One login module entry of a JAAS configuration, as Kafka's
// sasl.jaas.config (and listener.name.<l>.<mechanism>.sasl.jaas.config)
// takes it:
//
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//       username="admin" password="admin-secret" user_alice="alice-secret";
struct JaasConfig {
  std::string login_module;  // "org.apache.kafka.common.security.plain.PlainLoginModule"
  std::string control_flag;  // lower case: required, requisite, sufficient or optional
  std::map<std::string, std::string> options;  // values unquoted and unescaped
};

// Parses a JAAS config value with the grammar of Kafka's JaasConfig (a Java
// StreamTokenizer):
//  - words are letters, digits and . _ - $ (and bytes >= 0x80): class names,
//    option names, flags and unquoted values such as useKeyTab=true;
//  - values may be quoted with "..." or '...', which may hold spaces, ';'
//    and '=', and backslash escapes (\" \' \\ \n \t \r \b \f and octal);
//  - // and /* */ comments and any whitespace, newlines included, separate
//    tokens;
//  - the control flag is case-insensitive;
//  - an option given twice keeps its last value, as in Kafka.
// Exactly one entry, ended by ';' (Kafka requires both for
// sasl.jaas.config). InvalidArgument otherwise, with Kafka's messages:
// "Login module not specified in JAAS config", "Login module control flag
// not specified in JAAS config", "Invalid login module control flag 'x' in
// JAAS config", "Value not specified for key 'x' in JAAS config", "JAAS
// config entry not terminated by semi-colon", "JAAS config property
// contains 2 login modules, should be 1 module"; and ours for what Java's
// tokenizer would have let through (an unclosed quote or comment, a stray
// character).
//
// Kafka refuses a number as an unquoted value (iterations=4096); this
// accepts it as the word it looks like.
absl::StatusOr<JaasConfig> ParseJaasConfig(std::string_view text);

}  // namespace strata::security
