// PLAIN messages and JAAS option strings (client/security/sasl.h), with
// Kafka's strings and Kafka's error messages.
#include "client/security/sasl.h"

#include <cctype>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace strata::security {
namespace {

using Options = std::map<std::string, std::string>;

std::string Bytes(const char* text, size_t size) { return std::string(text, size); }

// --- PLAIN ----------------------------------------------------------------------

TEST(PlainTest, MakeThenParse) {
  const std::string message = MakePlainMessage("alice", "alice-secret");
  EXPECT_EQ(message, Bytes("\0alice\0alice-secret", 19));
  absl::StatusOr<PlainCredentials> parsed = ParsePlainMessage(message);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->authzid, "");
  EXPECT_EQ(parsed->username, "alice");
  EXPECT_EQ(parsed->password, "alice-secret");
}

TEST(PlainTest, AuthzidEqualToTheUserName) {
  absl::StatusOr<PlainCredentials> parsed = ParsePlainMessage(Bytes("alice\0alice\0pw", 14));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->authzid, "alice");
  EXPECT_EQ(parsed->username, "alice");
  EXPECT_EQ(parsed->password, "pw");
}

TEST(PlainTest, PasswordMayHoldAnythingButNul) {
  absl::StatusOr<PlainCredentials> parsed =
      ParsePlainMessage(Bytes("\0bob\0 p=w,d;\"\xc3\xa9", 15));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->password, " p=w,d;\"\xc3\xa9");
}

TEST(PlainTest, AuthzidOtherThanTheUserName) {
  EXPECT_EQ(ParsePlainMessage(Bytes("admin\0alice\0pw", 14)).status(),
            absl::InvalidArgumentError("Authentication failed: Client requested an authorization "
                                       "id that is different from username"));
}

TEST(PlainTest, EmptyUserOrPassword) {
  EXPECT_EQ(ParsePlainMessage(Bytes("\0\0pw", 4)).status(),
            absl::InvalidArgumentError("Authentication failed: username not specified"));
  EXPECT_EQ(ParsePlainMessage(Bytes("\0alice\0", 7)).status(),
            absl::InvalidArgumentError("Authentication failed: password not specified"));
}

TEST(PlainTest, NotThreeParts) {
  EXPECT_EQ(ParsePlainMessage("").status(),
            absl::InvalidArgumentError("Invalid SASL/PLAIN response: expected 3 tokens, got 1"));
  EXPECT_EQ(ParsePlainMessage("alice").status(),
            absl::InvalidArgumentError("Invalid SASL/PLAIN response: expected 3 tokens, got 1"));
  EXPECT_EQ(ParsePlainMessage(Bytes("alice\0pw", 8)).status(),
            absl::InvalidArgumentError("Invalid SASL/PLAIN response: expected 3 tokens, got 2"));
  EXPECT_EQ(ParsePlainMessage(Bytes("\0alice\0pw\0", 10)).status(),
            absl::InvalidArgumentError("Invalid SASL/PLAIN response: expected 3 tokens, got 4"));
}

TEST(AuthenticationFailedMessageTest, IsKafkas) {
  EXPECT_EQ(AuthenticationFailedMessage("PLAIN"),
            "Authentication failed during authentication due to invalid credentials with SASL "
            "mechanism PLAIN");
}

// --- JAAS: what Kafka's documentation and users write ------------------------------

TEST(JaasTest, PlainBrokerConfig) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig(
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
      "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
  EXPECT_EQ(config->control_flag, "required");
  EXPECT_EQ(config->options, (Options{{"username", "admin"},
                                      {"password", "admin-secret"},
                                      {"user_admin", "admin-secret"},
                                      {"user_alice", "alice-secret"}}));
}

TEST(JaasTest, ScramClientConfigWithTokenAuth) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig(
      "org.apache.kafka.common.security.scram.ScramLoginModule required\n"
      "    username=\"tokenID123\"\n"
      "    password=\"lAYYSFmLs4bTjf+lTZ1LCHR/ZZFNA==\"\n"
      "    tokenauth=\"true\";\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->login_module, "org.apache.kafka.common.security.scram.ScramLoginModule");
  EXPECT_EQ(config->options, (Options{{"username", "tokenID123"},
                                      {"password", "lAYYSFmLs4bTjf+lTZ1LCHR/ZZFNA=="},
                                      {"tokenauth", "true"}}));
}

TEST(JaasTest, KerberosConfigWithUnquotedValues) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig(
      "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true "
      "keyTab=\"/etc/security/keytabs/kafka_client.keytab\" "
      "principal=\"kafka-client-1@EXAMPLE.COM\";");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->login_module, "com.sun.security.auth.module.Krb5LoginModule");
  EXPECT_EQ(config->options, (Options{{"useKeyTab", "true"},
                                      {"storeKey", "true"},
                                      {"keyTab", "/etc/security/keytabs/kafka_client.keytab"},
                                      {"principal", "kafka-client-1@EXAMPLE.COM"}}));
}

TEST(JaasTest, OAuthBearerUnsecuredConfig) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig(
      "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
      "unsecuredLoginStringClaim_sub=\"alice\";");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"unsecuredLoginStringClaim_sub", "alice"}}));
}

TEST(JaasTest, NoOptions) {
  absl::StatusOr<JaasConfig> config =
      ParseJaasConfig("org.apache.kafka.common.security.plain.PlainLoginModule optional ;");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->control_flag, "optional");
  EXPECT_TRUE(config->options.empty());
}

TEST(JaasTest, ControlFlagsAreCaseInsensitive) {
  for (const char* flag : {"REQUIRED", "Requisite", "sufficient", "OPTIONAL"}) {
    absl::StatusOr<JaasConfig> config =
        ParseJaasConfig(std::string("m.Module ") + flag + " a=\"b\";");
    ASSERT_TRUE(config.ok()) << flag << ": " << config.status();
    std::string lower = flag;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(config->control_flag, lower);
  }
}

TEST(JaasTest, QuotedValuesWithSpacesEscapesAndSeparators) {
  absl::StatusOr<JaasConfig> config =
      ParseJaasConfig(R"(m.Module required password="with spaces; and = signs" quote="say \"hi\"" )"
                      R"(back="a\\b" tab="a\tb" octal="\101" empty="";)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"password", "with spaces; and = signs"},
                                      {"quote", "say \"hi\""},
                                      {"back", "a\\b"},
                                      {"tab", "a\tb"},
                                      {"octal", "A"},
                                      {"empty", ""}}));
}

TEST(JaasTest, SingleQuotes) {
  absl::StatusOr<JaasConfig> config =
      ParseJaasConfig(R"(m.Module required a='x "y" z' b='it\'s';)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"a", "x \"y\" z"}, {"b", "it's"}}));
}

TEST(JaasTest, CommentsAndWhitespace) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig(
      "  // the broker's own login\n"
      "\torg.apache.kafka.common.security.plain.PlainLoginModule /* flag: */ required\r\n"
      "  username = \"admin\"  // who\n"
      "  password=\"admin-secret\"\n"
      "  ;  \n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"username", "admin"}, {"password", "admin-secret"}}));
}

TEST(JaasTest, RepeatedKeyKeepsTheLastValue) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig("m.Module required a=\"1\" a=\"2\";");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"a", "2"}}));
}

TEST(JaasTest, UnquotedNumberIsAWord) {
  absl::StatusOr<JaasConfig> config = ParseJaasConfig("m.Module required iterations=4096;");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->options, (Options{{"iterations", "4096"}}));
}

// --- JAAS: what Kafka refuses ------------------------------------------------------

absl::Status JaasError(std::string_view text) { return ParseJaasConfig(text).status(); }

TEST(JaasErrorTest, MissingSemicolon) {
  EXPECT_EQ(JaasError("org.apache.kafka.common.security.plain.PlainLoginModule required "
                      "username=\"admin\" password=\"admin-secret\""),
            absl::InvalidArgumentError("JAAS config entry not terminated by semi-colon"));
  EXPECT_EQ(JaasError("m.Module required"),
            absl::InvalidArgumentError("JAAS config entry not terminated by semi-colon"));
}

TEST(JaasErrorTest, TwoModules) {
  EXPECT_EQ(JaasError("m.One required a=\"1\"; m.Two optional b=\"2\";"),
            absl::InvalidArgumentError(
                "JAAS config property contains 2 login modules, should be 1 module"));
}

TEST(JaasErrorTest, NoModule) {
  for (std::string_view text : {"", "   ", "// nothing\n", "/* nothing */"}) {
    EXPECT_EQ(JaasError(text),
              absl::InvalidArgumentError("Login module not specified in JAAS config"))
        << text;
  }
}

TEST(JaasErrorTest, MissingControlFlag) {
  EXPECT_EQ(JaasError("org.apache.kafka.common.security.plain.PlainLoginModule"),
            absl::InvalidArgumentError("Login module control flag not specified in JAAS config"));
  // The first option name is taken for the flag, as Kafka does.
  EXPECT_EQ(
      JaasError("org.apache.kafka.common.security.plain.PlainLoginModule "
                "username=\"admin\";"),
      absl::InvalidArgumentError("Invalid login module control flag 'username' in JAAS config"));
  absl::Status status = JaasError("m.Module ;");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               "Login module control flag is not available in the JAAS config"))
      << status;
}

TEST(JaasErrorTest, InvalidControlFlag) {
  EXPECT_EQ(
      JaasError("m.Module mandatory a=\"b\";"),
      absl::InvalidArgumentError("Invalid login module control flag 'mandatory' in JAAS config"));
}

TEST(JaasErrorTest, ValueNotSpecified) {
  for (std::string_view text :
       {"m.Module required username=;", "m.Module required username;", "m.Module required username",
        "m.Module required username=", "m.Module required username \"admin\";"}) {
    EXPECT_EQ(JaasError(text),
              absl::InvalidArgumentError("Value not specified for key 'username' in JAAS config"))
        << text;
  }
}

TEST(JaasErrorTest, OptionNameMissing) {
  absl::Status status = JaasError("m.Module required =\"admin\";");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "Option name expected")) << status;
  // A quoted value in a name's place is not echoed: it may be a password.
  status = JaasError("m.Module required a=\"b\" \"secret\";");
  EXPECT_TRUE(absl::StrContains(status.message(), "Option name expected")) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), "secret")) << status;
}

TEST(JaasErrorTest, ModuleNameMissing) {
  absl::Status status = JaasError("; m.Module required;");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "Login module class name expected")) << status;
}

TEST(JaasErrorTest, UnclosedQuote) {
  absl::Status status = JaasError("m.Module required password=\"admin-secret;");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "not closed")) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), "admin-secret")) << status;
  // A quote ends at the end of its line, as in Java's tokenizer.
  EXPECT_EQ(JaasError("m.Module required password=\"admin\nsecret\";").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JaasErrorTest, UnclosedComment) {
  absl::Status status = JaasError("m.Module required; /* trailing");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "Comment not closed")) << status;
}

TEST(JaasErrorTest, StrayCharacter) {
  absl::Status status = JaasError("m.Module required path=/etc/x;");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "Unexpected character '/'")) << status;
}

}  // namespace
}  // namespace strata::security
