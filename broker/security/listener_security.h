// A listener's security settings, from Kafka's keys (server_config.cc
// parses them; the gRPC and Kafka listeners apply them):
//
//   listener.security.protocol.map   NAME:PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL
//   ssl.keystore.type=PEM            only PEM
//   ssl.keystore.location            PEM: certificate chain, then the private key
//   ssl.key.password                 the private key's password, if encrypted
//   ssl.truststore.type=PEM          only PEM
//   ssl.truststore.location          PEM: the CA certificates peers must chain to
//   ssl.client.auth                  required | requested | none
//   ssl.principal.mapping.rules      DEFAULT or RULE:...,... (principal_mapping.h)
//   sasl.enabled.mechanisms          PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
//   listener.name.<l>.<mech>.sasl.jaas.config   (PLAIN: user_<name>="password")
//   connections.max.reauth.ms        0: sessions never expire
//
// Each ssl.* / sasl.* key may be given per listener as
// listener.name.<lower-case listener>.<key>, which wins over the plain key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace strata::security {

enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

inline bool UsesTls(SecurityProtocol p) {
  return p == SecurityProtocol::kSsl || p == SecurityProtocol::kSaslSsl;
}
inline bool UsesSasl(SecurityProtocol p) {
  return p == SecurityProtocol::kSaslPlaintext || p == SecurityProtocol::kSaslSsl;
}
inline const char* ProtocolName(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::kPlaintext: return "PLAINTEXT";
    case SecurityProtocol::kSsl: return "SSL";
    case SecurityProtocol::kSaslPlaintext: return "SASL_PLAINTEXT";
    case SecurityProtocol::kSaslSsl: return "SASL_SSL";
  }
  return "?";
}

enum class ClientAuth { kNone, kRequested, kRequired };

struct TlsOptions {
  std::string keystore_location;    // certificate chain + private key (PEM)
  std::string key_password;         // empty: the key is not encrypted
  std::string truststore_location;  // CA certificates (PEM); empty: none
  ClientAuth client_auth = ClientAuth::kNone;
  std::string principal_mapping_rules = "DEFAULT";
};

struct SaslOptions {
  // In the order sasl.enabled.mechanisms lists them.
  std::vector<std::string> enabled_mechanisms;
  // PLAIN's users from the listener's PLAIN JAAS config (user_<name>="pw").
  std::map<std::string, std::string> plain_users;
  int64_t connections_max_reauth_ms = 0;
};

struct ListenerSecurity {
  SecurityProtocol protocol = SecurityProtocol::kPlaintext;
  TlsOptions tls;    // when UsesTls(protocol)
  SaslOptions sasl;  // when UsesSasl(protocol)
};

}  // namespace strata::security
