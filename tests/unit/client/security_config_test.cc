// Kafka's client security keys: what they parse to, and errors that name
// the key.
#include "client/security_config.h"

#include "client/config.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

constexpr char kScramJaas[] =
    "org.apache.kafka.common.security.scram.ScramLoginModule required "
    "username=\"bob\" password=\"bob-secret\";";

TEST(SecurityConfigTest, DefaultsArePlaintext) {
  absl::StatusOr<SecurityConfig> c = SecurityConfig::FromProperties({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->protocol, SecurityProtocol::kPlaintext);
  EXPECT_FALSE(c->uses_tls());
  EXPECT_FALSE(c->uses_sasl());
  EXPECT_TRUE(c->verify_hostname);
}

TEST(SecurityConfigTest, SslKeys) {
  absl::StatusOr<SecurityConfig> c = SecurityConfig::FromProperties({
      {"security.protocol", "ssl"},
      {"ssl.truststore.location", "/etc/ca.pem"},
      {"ssl.truststore.type", "PEM"},
      {"ssl.keystore.location", "/etc/me.pem"},
      {"ssl.keystore.type", "pem"},
      {"ssl.key.password", "pw"},
      {"ssl.endpoint.identification.algorithm", ""},
  });
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->protocol, SecurityProtocol::kSsl);
  EXPECT_EQ(c->truststore_location, "/etc/ca.pem");
  EXPECT_EQ(c->keystore_location, "/etc/me.pem");
  EXPECT_EQ(c->key_password, "pw");
  EXPECT_FALSE(c->verify_hostname);
}

TEST(SecurityConfigTest, SaslKeys) {
  absl::StatusOr<SecurityConfig> c = SecurityConfig::FromProperties({
      {"security.protocol", "SASL_SSL"},
      {"sasl.mechanism", "SCRAM-SHA-512"},
      {"sasl.jaas.config", kScramJaas},
  });
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->uses_tls());
  EXPECT_TRUE(c->uses_sasl());
  EXPECT_EQ(c->sasl_mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(c->sasl_username, "bob");
  EXPECT_EQ(c->sasl_password, "bob-secret");

  c = SecurityConfig::FromProperties({
      {"security.protocol", "SASL_PLAINTEXT"},
      {"sasl.mechanism", "PLAIN"},
      {"sasl.jaas.config",
       "org.apache.kafka.common.security.plain.PlainLoginModule required username='carol' "
       "password='c';"},
  });
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sasl_username, "carol");
}

// Each bad value is refused with the key's name in the message.
TEST(SecurityConfigTest, BadValuesNameTheKey) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"security.protocol", "TLS"}}, "security.protocol"},
      {{{"ssl.truststore.type", "JKS"}}, "ssl.truststore.type"},
      {{{"ssl.keystore.type", "PKCS12"}}, "ssl.keystore.type"},
      {{{"ssl.endpoint.identification.algorithm", "ldap"}},
       "ssl.endpoint.identification.algorithm"},
      {{{"ssl.key.password", "pw"}}, "ssl.key.password"},
      // Kafka's default mechanism, GSSAPI, is not supported.
      {{{"security.protocol", "SASL_SSL"}, {"sasl.jaas.config", kScramJaas}}, "sasl.mechanism"},
      {{{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "SCRAM-SHA-256"}},
       "sasl.jaas.config"},
      {{{"security.protocol", "SASL_SSL"},
        {"sasl.mechanism", "SCRAM-SHA-256"},
        {"sasl.jaas.config", "ScramLoginModule required username=\"bob\""}},
       "sasl.jaas.config"},
      {{{"security.protocol", "SASL_SSL"},
        {"sasl.mechanism", "PLAIN"},
        {"sasl.jaas.config", kScramJaas}},
       "sasl.jaas.config"},
      {{{"security.protocol", "SASL_SSL"},
        {"sasl.mechanism", "SCRAM-SHA-256"},
        {"sasl.jaas.config",
         "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"bob\";"}},
       "sasl.jaas.config"},
  };
  for (const auto& [props, key] : cases) {
    absl::StatusOr<SecurityConfig> c = SecurityConfig::FromProperties(props);
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status();
    // Passwords never show up in messages.
    EXPECT_EQ(c.status().message().find("bob-secret"), std::string::npos) << c.status();
  }
}

TEST(SecurityConfigTest, ProducerAndConsumerConfigsReadThemAndDoNotCallThemIgnored) {
  const Properties props = {{"bootstrap.servers", "h:1"},
                            {"security.protocol", "SASL_PLAINTEXT"},
                            {"sasl.mechanism", "SCRAM-SHA-256"},
                            {"sasl.jaas.config", kScramJaas},
                            {"ssl.keystore.password", "jks-only"}};
  std::vector<std::string> ignored;
  absl::StatusOr<ProducerConfig> p = ProducerConfig::FromProperties(props, &ignored);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->security.sasl_username, "bob");
  EXPECT_EQ(ignored, std::vector<std::string>{"ssl.keystore.password"});
  ignored.clear();
  absl::StatusOr<ConsumerConfig> c = ConsumerConfig::FromProperties(props, &ignored);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->security.protocol, SecurityProtocol::kSaslPlaintext);
  EXPECT_EQ(ignored, std::vector<std::string>{"ssl.keystore.password"});
  EXPECT_FALSE(ProducerConfig::FromProperties({{"security.protocol", "SASL_SSL"}}, nullptr).ok());
}

}  // namespace
}  // namespace strata::client
