// The client's security settings, read from Kafka's client keys wherever a
// client reads properties (producer, consumer, admin; the CLI's
// --command-config, --producer.config, --consumer.config,
// --producer-property, --consumer-property):
//
//   security.protocol          PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
//   ssl.truststore.location    PEM: the CA certificates the server's must chain to
//                              (unset: the system's)
//   ssl.truststore.type        PEM (the only type; unset means PEM)
//   ssl.keystore.location      PEM: this client's certificate chain, then its key
//                              (for ssl.client.auth=required|requested listeners)
//   ssl.keystore.type          PEM
//   ssl.key.password           the key's password, when it is encrypted
//   ssl.endpoint.identification.algorithm
//                              https (default): the server's certificate must
//                              name the host dialled; empty: it need not
//   sasl.mechanism             SCRAM-SHA-256 | SCRAM-SHA-512 | PLAIN (Kafka's
//                              default, GSSAPI, is refused)
//   sasl.jaas.config           org.apache.kafka.common.security.scram.ScramLoginModule
//                              required username="bob" password="...";
//                              (PlainLoginModule for PLAIN)
//
// A bad value is an InvalidArgument error naming the key. Keys Kafka has
// for JKS stores and JSSE (ssl.keystore.password, ssl.truststore.password,
// ssl.protocol, ...) are not read here and end up among a config's ignored
// keys. The files are read when a client is created (ConnectionPool), not
// here.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace strata::client {

enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

struct SecurityConfig {
  SecurityProtocol protocol = SecurityProtocol::kPlaintext;
  std::string truststore_location;
  std::string keystore_location;
  std::string key_password;
  bool verify_hostname = true;
  // For SASL_PLAINTEXT / SASL_SSL.
  std::string sasl_mechanism;
  std::string sasl_username;
  std::string sasl_password;

  bool uses_tls() const {
    return protocol == SecurityProtocol::kSsl || protocol == SecurityProtocol::kSaslSsl;
  }
  bool uses_sasl() const {
    return protocol == SecurityProtocol::kSaslPlaintext || protocol == SecurityProtocol::kSaslSsl;
  }

  // Reads the keys above from `props` (others are ignored).
  static absl::StatusOr<SecurityConfig> FromProperties(
      const std::map<std::string, std::string>& props);
};

// The keys FromProperties reads, for the configs' lists of known keys.
const std::set<std::string>& SecurityConfigKeys();

// "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
const char* ProtocolName(SecurityProtocol p);

}  // namespace strata::client
