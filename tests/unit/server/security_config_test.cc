// The security keys of server.properties (issue 16): listener protocols,
// ssl.* / sasl.* resolved per listener (listener.name.<l>.<key> winning),
// the authorizer's keys and the connection limits, and the errors that
// name a bad key.
#include <string>
#include <vector>

#include "broker/server/server_config.h"
#include "gtest/gtest.h"

namespace strata::server {
namespace {

using security::ClientAuth;
using security::SecurityProtocol;

const char kBase[] = R"(node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092,KAFKA://localhost:29092
controller.quorum.voters=1@localhost:19092
log.dirs=/tmp/a
)";

absl::StatusOr<ServerConfig> Parse(const std::string& extra) {
  return ParseServerConfig(std::string(kBase) + extra, {});
}

TEST(SecurityConfigTest, PlaintextByDefault) {
  absl::StatusOr<ServerConfig> c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status();
  for (const char* l : {"PLAINTEXT", "CONTROLLER", "KAFKA"}) {
    ASSERT_TRUE(c->listener_security.contains(l)) << l;
    EXPECT_EQ(c->listener_security.at(l).protocol, SecurityProtocol::kPlaintext) << l;
  }
  EXPECT_FALSE(c->authorizer_enabled);
  EXPECT_EQ(c->max_connections, INT32_MAX);
}

TEST(SecurityConfigTest, TheSecureDeploymentsKeys) {
  absl::StatusOr<ServerConfig> c = Parse(R"(
listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:SSL,KAFKA:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location=/certs/node1.pem
ssl.truststore.type=pem
ssl.truststore.location=/certs/ca.pem
ssl.principal.mapping.rules=RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT
listener.name.plaintext.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
listener.name.kafka.ssl.client.auth=none
listener.name.kafka.ssl.keystore.location=/certs/kafka.pem
listener.name.kafka.sasl.enabled.mechanisms=SCRAM-SHA-256,scram-sha-512
listener.name.kafka.connections.max.reauth.ms=60000
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:node1
strata.controller.allowed.principals=User:node1; User:node2
max.connections=1000
max.connections.per.ip=100
max.connections.per.ip.overrides=127.0.0.1:5000,10.0.0.1:7
)");
  ASSERT_TRUE(c.ok()) << c.status();
  const security::ListenerSecurity& grpc = c->listener_security.at("PLAINTEXT");
  EXPECT_EQ(grpc.protocol, SecurityProtocol::kSsl);
  EXPECT_EQ(grpc.tls.keystore_location, "/certs/node1.pem");
  EXPECT_EQ(grpc.tls.truststore_location, "/certs/ca.pem");
  EXPECT_EQ(grpc.tls.client_auth, ClientAuth::kRequired);
  EXPECT_EQ(grpc.tls.principal_mapping_rules, "RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT");
  const security::ListenerSecurity& kafka = c->listener_security.at("KAFKA");
  EXPECT_EQ(kafka.protocol, SecurityProtocol::kSaslSsl);
  EXPECT_EQ(kafka.tls.keystore_location, "/certs/kafka.pem");  // the listener's own wins
  EXPECT_EQ(kafka.tls.client_auth, ClientAuth::kNone);
  EXPECT_EQ(kafka.sasl.enabled_mechanisms,
            (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"}));
  EXPECT_EQ(kafka.sasl.connections_max_reauth_ms, 60000);
  EXPECT_TRUE(c->authorizer_enabled);
  EXPECT_EQ(c->super_users, (std::vector<std::string>{"User:admin", "User:node1"}));
  EXPECT_FALSE(c->allow_everyone_if_no_acl_found);
  EXPECT_EQ(c->controller_allowed_principals,
            (std::vector<std::string>{"User:node1", "User:node2"}));
  EXPECT_EQ(c->max_connections, 1000);
  EXPECT_EQ(c->max_connections_per_ip, 100);
  EXPECT_EQ(c->max_connections_per_ip_overrides.at("127.0.0.1"), 5000);
  EXPECT_EQ(c->max_connections_per_ip_overrides.at("10.0.0.1"), 7);
  EXPECT_TRUE(c->unknown_keys.empty()) << c->unknown_keys.front();
}

TEST(SecurityConfigTest, PlainUsersComeFromTheListenersJaasConfig) {
  absl::StatusOr<ServerConfig> c = Parse(R"(
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.kafka.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice secret";
)");
  ASSERT_TRUE(c.ok()) << c.status();
  const security::ListenerSecurity& kafka = c->listener_security.at("KAFKA");
  EXPECT_EQ(kafka.protocol, SecurityProtocol::kSaslPlaintext);
  EXPECT_EQ(kafka.sasl.plain_users.size(), 2u);
  EXPECT_EQ(kafka.sasl.plain_users.at("alice"), "alice secret");
  EXPECT_TRUE(c->unknown_keys.empty());
}

// Each bad setting stops the node with a message naming the key (or what
// is missing) and the listener.
TEST(SecurityConfigTest, BadSettingsNameTheKey) {
  struct Case {
    std::string extra;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"listener.security.protocol.map=PLAINTEXT:TLS,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n",
       "unknown security protocol TLS"},
      {"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n",
       "ssl.keystore.location"},
      {"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n"
       "ssl.keystore.location=/k.pem\nssl.keystore.type=JKS\n",
       "ssl.keystore.type"},
      {"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n"
       "ssl.keystore.location=/k.pem\nssl.client.auth=always\n",
       "ssl.client.auth"},
      {"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n"
       "ssl.keystore.location=/k.pem\nssl.client.auth=required\n",
       "ssl.truststore.location"},
      {"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,KAFKA:PLAINTEXT\n"
       "ssl.keystore.location=/k.pem\nssl.principal.mapping.rules=RULE:nonsense\n",
       "ssl.principal.mapping.rules"},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SASL_"
       "PLAINTEXT\n",
       "sasl.enabled.mechanisms"},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SASL_"
       "PLAINTEXT\n"
       "sasl.enabled.mechanisms=GSSAPI\n",
       "GSSAPI is not supported"},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SASL_"
       "PLAINTEXT\n"
       "sasl.enabled.mechanisms=PLAIN\n",
       "plain.sasl.jaas.config"},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,KAFKA:SASL_"
       "PLAINTEXT\n"
       "sasl.enabled.mechanisms=PLAIN\nlistener.name.kafka.plain.sasl.jaas.config=nonsense\n",
       "listener.name.kafka.plain.sasl.jaas.config"},
      {"authorizer.class.name=com.example.MyAuthorizer\n", "authorizer.class.name"},
      {"super.users=admin\n", "super.users"},
      {"max.connections=-1\n", "max.connections"},
      {"max.connections.per.ip.overrides=127.0.0.1\n", "max.connections.per.ip.overrides"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ServerConfig> parsed = Parse(c.extra);
    ASSERT_FALSE(parsed.ok()) << c.extra;
    EXPECT_NE(parsed.status().message().find(c.expected), std::string::npos)
        << c.extra << " -> " << parsed.status().message();
  }
}

TEST(SecurityConfigTest, MisspelledSecurityKeysAreReported) {
  absl::StatusOr<ServerConfig> c = Parse(
      "ssl.keystore.locaton=/x\nlistener.name.kafka.sasl.enabled.mechanism=PLAIN\n"
      "ssl.endpoint.identification.algorithm=https\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->unknown_keys, (std::vector<std::string>{"listener.name.kafka.sasl.enabled.mechanism",
                                                       "ssl.keystore.locaton"}));
}

}  // namespace
}  // namespace strata::server
