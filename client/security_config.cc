#include "client/security_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/security/sasl.h"

namespace strata::client {
namespace {

// Kafka's ConfigException text, as config.cc words it.
absl::Status Invalid(const std::string& key, const std::string& value, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("Invalid value ", value, " for configuration ", key, ": ", why));
}

const std::string* Find(const std::map<std::string, std::string>& props, const std::string& key) {
  auto it = props.find(key);
  return it == props.end() ? nullptr : &it->second;
}

constexpr char kScramModule[] = "org.apache.kafka.common.security.scram.ScramLoginModule";
constexpr char kPlainModule[] = "org.apache.kafka.common.security.plain.PlainLoginModule";

}  // namespace

const std::set<std::string>& SecurityConfigKeys() {
  static const std::set<std::string>* keys =
      new std::set<std::string>{"security.protocol",
                                "ssl.truststore.location",
                                "ssl.truststore.type",
                                "ssl.keystore.location",
                                "ssl.keystore.type",
                                "ssl.key.password",
                                "ssl.endpoint.identification.algorithm",
                                "sasl.mechanism",
                                "sasl.jaas.config"};
  return *keys;
}

absl::StatusOr<SecurityConfig> SecurityConfig::FromProperties(
    const std::map<std::string, std::string>& props) {
  SecurityConfig c;
  if (const std::string* v = Find(props, "security.protocol")) {
    // Kafka takes the name in any case (SecurityProtocol.forName upper-cases).
    const std::string p = absl::AsciiStrToUpper(*v);
    if (p == "PLAINTEXT") {
      c.protocol = SecurityProtocol::kPlaintext;
    } else if (p == "SSL") {
      c.protocol = SecurityProtocol::kSsl;
    } else if (p == "SASL_PLAINTEXT") {
      c.protocol = SecurityProtocol::kSaslPlaintext;
    } else if (p == "SASL_SSL") {
      c.protocol = SecurityProtocol::kSaslSsl;
    } else {
      return Invalid("security.protocol", *v,
                     "String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    }
  }
  for (const char* key : {"ssl.truststore.type", "ssl.keystore.type"}) {
    const std::string* v = Find(props, key);
    if (v != nullptr && absl::AsciiStrToUpper(*v) != "PEM") {
      return Invalid(key, *v, "only PEM stores are supported (JKS and PKCS12 are not)");
    }
  }
  if (const std::string* v = Find(props, "ssl.truststore.location")) c.truststore_location = *v;
  if (const std::string* v = Find(props, "ssl.keystore.location")) c.keystore_location = *v;
  if (const std::string* v = Find(props, "ssl.key.password")) c.key_password = *v;
  if (const std::string* v = Find(props, "ssl.endpoint.identification.algorithm")) {
    const std::string a = absl::AsciiStrToLower(*v);
    if (a == "https") {
      c.verify_hostname = true;
    } else if (a.empty()) {
      c.verify_hostname = false;
    } else {
      return Invalid("ssl.endpoint.identification.algorithm", *v,
                     "expected https (check the server's host name) or empty (do not)");
    }
  }
  if (!c.key_password.empty() && c.keystore_location.empty()) {
    return Invalid("ssl.key.password", "[hidden]", "ssl.keystore.location is not set");
  }
  if (!c.uses_sasl()) return c;

  const std::string* mechanism = Find(props, "sasl.mechanism");
  c.sasl_mechanism = mechanism != nullptr ? *mechanism : "GSSAPI";
  const bool scram = c.sasl_mechanism == "SCRAM-SHA-256" || c.sasl_mechanism == "SCRAM-SHA-512";
  if (!scram && c.sasl_mechanism != "PLAIN") {
    return Invalid("sasl.mechanism", c.sasl_mechanism,
                   "supported: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (GSSAPI, Kafka's default, and "
                   "OAUTHBEARER are not)");
  }
  const std::string* jaas = Find(props, "sasl.jaas.config");
  if (jaas == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sasl.jaas.config must be set with security.protocol=", ProtocolName(c.protocol), ": ",
        scram ? kScramModule : kPlainModule, " required username=\"...\" password=\"...\";"));
  }
  absl::StatusOr<security::JaasConfig> parsed = security::ParseJaasConfig(*jaas);
  if (!parsed.ok())
    return Invalid("sasl.jaas.config", "[hidden]", std::string(parsed.status().message()));
  const char* module = scram ? kScramModule : kPlainModule;
  if (parsed->login_module != module) {
    return Invalid("sasl.jaas.config", "[hidden]",
                   absl::StrCat("sasl.mechanism=", c.sasl_mechanism, " needs the login module ",
                                module, ", not ", parsed->login_module));
  }
  auto user = parsed->options.find("username");
  auto password = parsed->options.find("password");
  if (user == parsed->options.end() || user->second.empty() || password == parsed->options.end()) {
    return Invalid("sasl.jaas.config", "[hidden]",
                   "the username and password options are required");
  }
  c.sasl_username = user->second;
  c.sasl_password = password->second;
  return c;
}

const char* ProtocolName(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::kPlaintext:
      return "PLAINTEXT";
    case SecurityProtocol::kSsl:
      return "SSL";
    case SecurityProtocol::kSaslPlaintext:
      return "SASL_PLAINTEXT";
    case SecurityProtocol::kSaslSsl:
      return "SASL_SSL";
  }
  return "?";
}

}  // namespace strata::client
