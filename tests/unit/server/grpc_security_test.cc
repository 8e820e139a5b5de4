// The gRPC listeners' security in one process: TLS with and without client
// certificates, principals from certificates, the allowed-principals gate
// (refusing before any handler runs), an encrypted key, reloading a
// replaced keystore, and SASL session tokens through strata.v1.Sasl. A
// generic service stands for every protected service and records what
// GrpcSession() tells it.
#include "broker/server/grpc_security.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/server/sasl_service.h"
#include "broker/server/sasl_sessions.h"
#include "client/channel_security.h"
#include "client/connection_pool.h"
#include "client/security/scram.h"
#include "gtest/gtest.h"
#include "strata/v1/security.grpc.pb.h"
#include "tests/common/test_certs.h"

namespace strata::server {
namespace {

using strata::testing::TestCa;
using strata::testing::TestCert;
using strata::testing::TestCertOptions;
using strata::testing::WriteTextFile;

constexpr char kMethod[] = "/test.Protected/Call";

// Stands for every service behind the gate: counts its calls and keeps the
// last session it saw.
class ProtectedService final : public grpc::CallbackGenericService {
 public:
  explicit ProtectedService(std::string listener) : listener_(std::move(listener)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    {
      absl::MutexLock l(&mu_);
      ++calls_;
      last_ = GrpcSession(ctx, listener_);
    }
    class Done final : public grpc::ServerGenericBidiReactor {
     public:
      Done() { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }
    };
    return new Done();
  }

  int calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  security::Session last() {
    absl::MutexLock l(&mu_);
    return last_;
  }

 private:
  const std::string listener_;
  absl::Mutex mu_;
  int calls_ = 0;
  security::Session last_;
};

std::shared_ptr<grpc::ChannelCredentials> ClientTls(const std::string& ca_pem,
                                                    const TestCert* identity) {
  std::vector<grpc::experimental::IdentityKeyCertPair> pairs;
  if (identity != nullptr) pairs.push_back({identity->key_pem, identity->cert_pem});
  auto provider =
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(ca_pem, pairs);
  grpc::experimental::TlsChannelCredentialsOptions o;
  o.set_certificate_provider(provider);
  o.watch_root_certs();
  if (identity != nullptr) o.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(o);
}

grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& token = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!token.empty()) ctx.AddMetadata(kSaslTokenMetadataKey, token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, kMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = strata::testing::MakeTempDir("grpc-security-test-");
    WriteTextFile(dir_ + "/ca.pem", ca_.cert_pem());
    WriteTextFile(dir_ + "/server.pem", server_.keystore_pem());
  }
  void TearDown() override {
    if (server_grpc_) server_grpc_->Shutdown(std::chrono::system_clock::now());
    server_grpc_.reset();
    security_.reset();
    std::filesystem::remove_all(dir_);
  }

  security::ListenerSecurity Ssl(security::ClientAuth auth) const {
    security::ListenerSecurity s;
    s.protocol = security::SecurityProtocol::kSsl;
    s.tls.keystore_location = dir_ + "/server.pem";
    s.tls.truststore_location = dir_ + "/ca.pem";
    s.tls.client_auth = auth;
    return s;
  }

  // Starts a server on a free port with `options`, the protected service
  // and, when given, strata.v1.Sasl.
  void Start(GrpcListenerOptions options, SaslService* sasl = nullptr, int port = 0) {
    if (options.work_dir.empty()) options.work_dir = dir_ + "/work";
    auto security = GrpcListenerSecurity::Create(std::move(options));
    ASSERT_TRUE(security.ok()) << security.status();
    security_ = *std::move(security);
    service_ = std::make_unique<ProtectedService>(security_->options().name);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), security_->server_credentials(),
                             &port_);
    builder.RegisterCallbackGenericService(service_.get());
    if (sasl != nullptr) builder.RegisterService(sasl);
    server_grpc_ = builder.BuildAndStart();
    ASSERT_NE(server_grpc_, nullptr);
  }

  std::shared_ptr<grpc::Channel> Channel(std::shared_ptr<grpc::ChannelCredentials> creds) const {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), creds);
  }

  TestCa ca_{"Test CA"};
  TestCert server_ = ca_.Issue("CN=server");
  TestCert alice_ = ca_.Issue("O=Strata,CN=alice");
  TestCert node1_ = ca_.Issue("CN=node1");
  std::string dir_;
  std::unique_ptr<GrpcListenerSecurity> security_;
  std::unique_ptr<ProtectedService> service_;
  std::unique_ptr<grpc::Server> server_grpc_;
  int port_ = 0;
};

TEST(PeerHostTest, ParsesGrpcPeers) {
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(PeerHost("ipv6:%5B::1%5D:5000"), "::1");
  EXPECT_EQ(PeerHost("unix:/tmp/socket"), "");
}

TEST_F(GrpcSecurityTest, ClientCertificateIsThePrincipal) {
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  o.security = Ssl(security::ClientAuth::kRequired);
  Start(std::move(o));
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), &alice_))).ok());
  security::Session s = service_->last();
  // RFC 2253: most specific first, as Kafka's X500Principal.getName().
  EXPECT_EQ(s.principal.ToString(), "User:CN=alice,O=Strata");
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.listener, "PLAINTEXT");

  // No certificate: the handshake fails.
  grpc::Status without = Call(Channel(ClientTls(ca_.cert_pem(), nullptr)));
  EXPECT_EQ(without.error_code(), grpc::StatusCode::UNAVAILABLE) << without.error_message();
  // A plaintext client gets nowhere either.
  EXPECT_FALSE(Call(Channel(grpc::InsecureChannelCredentials())).ok());
  EXPECT_EQ(service_->calls(), 1);
}

TEST_F(GrpcSecurityTest, MappingRulesAndRequestedClientAuth) {
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  o.security = Ssl(security::ClientAuth::kRequested);
  o.security.tls.principal_mapping_rules = "RULE:^CN=([^,]+)(,.*)?$/$1/U,DEFAULT";
  Start(std::move(o));
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), &alice_))).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:ALICE");
  // Requested: a client without a certificate is ANONYMOUS.
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), nullptr))).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:ANONYMOUS");
}

TEST_F(GrpcSecurityTest, AllowedPrincipalsOnlyAndNoHandlerRunsOtherwise) {
  GrpcListenerOptions o;
  o.name = "CONTROLLER";
  o.security = Ssl(security::ClientAuth::kRequired);
  o.allowed_principals = std::set<std::string>{"User:CN=node1"};
  Start(std::move(o));
  grpc::Status alice = Call(Channel(ClientTls(ca_.cert_pem(), &alice_)));
  EXPECT_EQ(alice.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(alice.error_message().find("User:CN=alice,O=Strata may not call listener CONTROLLER"),
            std::string::npos)
      << alice.error_message();
  EXPECT_EQ(service_->calls(), 0);
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), &node1_))).ok());
  EXPECT_EQ(service_->calls(), 1);
  EXPECT_EQ(service_->last().principal.ToString(), "User:CN=node1");
}

TEST_F(GrpcSecurityTest, RefusesSettingsThatLockTheNodesOut) {
  GrpcListenerOptions o;
  o.name = "CONTROLLER";
  o.security = Ssl(security::ClientAuth::kNone);
  o.allowed_principals = std::set<std::string>{"User:CN=node1"};
  auto none = GrpcListenerSecurity::Create(o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("ssl.client.auth=none"), std::string::npos);
  o.security = Ssl(security::ClientAuth::kRequired);
  o.allowed_principals = std::set<std::string>{};
  EXPECT_FALSE(GrpcListenerSecurity::Create(o).ok());
  o.allowed_principals.reset();
  o.security.tls.keystore_location = dir_ + "/missing.pem";
  auto missing = GrpcListenerSecurity::Create(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.pem"), std::string::npos) << missing.status();
}

TEST_F(GrpcSecurityTest, EncryptedKeyIsDecryptedIntoAPrivateCopy) {
  TestCertOptions enc;
  enc.key_password = "s3cret";
  TestCert server = ca_.Issue("CN=server", enc);
  ASSERT_NE(server.key_pem.find("ENCRYPTED"), std::string::npos);
  WriteTextFile(dir_ + "/server-enc.pem", server.keystore_pem());
  GrpcListenerOptions o;
  o.name = "CONTROLLER";
  o.security = Ssl(security::ClientAuth::kRequired);
  o.security.tls.keystore_location = dir_ + "/server-enc.pem";
  o.security.tls.key_password = "wrong";
  o.work_dir = dir_ + "/work";
  auto wrong = GrpcListenerSecurity::Create(o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("ssl.key.password"), std::string::npos) << wrong.status();

  o.security.tls.key_password = "s3cret";
  Start(o);
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), &alice_))).ok());
  const std::string copy = dir_ + "/work/CONTROLLER-keystore.pem";
  struct stat st {};
  ASSERT_EQ(::stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_grpc_->Shutdown(std::chrono::system_clock::now());
  server_grpc_.reset();
  security_.reset();
  EXPECT_FALSE(std::filesystem::exists(copy));
}

TEST_F(GrpcSecurityTest, ReplacedKeystoreIsServedWithoutARestart) {
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  o.security = Ssl(security::ClientAuth::kNone);
  Start(std::move(o));
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), nullptr))).ok());
  // A certificate from another CA, swapped in atomically.
  TestCa other("Other CA");
  WriteTextFile(dir_ + "/next.pem", other.Issue("CN=server").keystore_pem());
  std::filesystem::rename(dir_ + "/next.pem", dir_ + "/server.pem");
  bool switched = false;
  for (int i = 0; i < 100 && !switched; ++i) {
    // New channels: a connection keeps the certificate it was made with.
    switched = Call(Channel(ClientTls(other.cert_pem(), nullptr))).ok();
    if (!switched) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(switched);
  EXPECT_FALSE(Call(Channel(ClientTls(ca_.cert_pem(), nullptr))).ok());
}

class SaslGateTest : public GrpcSecurityTest {
 protected:
  void StartSasl(security::SecurityProtocol protocol, int port = 0) {
    auto bob = security::MakeScramCredential(security::ScramMechanism::kSha256, "bob-secret", 4096);
    ASSERT_TRUE(bob.ok());
    SaslSessionsOptions so;
    so.enabled_mechanisms = {"SCRAM-SHA-256", "PLAIN"};
    so.plain_users = {{"carol", "carol-secret"}};
    so.scram_credentials =
        [bob = *bob](security::ScramMechanism m,
                     const std::string& user) -> std::optional<security::ScramCredential> {
      if (user == "bob" && m == security::ScramMechanism::kSha256) return bob;
      return std::nullopt;
    };
    sessions_ = std::make_unique<SaslSessions>(so);
    sasl_ = std::make_unique<SaslService>(sessions_.get());
    GrpcListenerOptions o;
    o.name = "PLAINTEXT";
    if (protocol == security::SecurityProtocol::kSaslSsl) {
      o.security = Ssl(security::ClientAuth::kRequested);
    }
    o.security.protocol = protocol;
    o.resolve_token = [s = sessions_.get()](std::string_view t) { return s->PrincipalOf(t); };
    o.node_principals = {"User:CN=node1"};
    Start(std::move(o), sasl_.get(), port);
  }

  // A SCRAM-SHA-256 exchange over strata.v1.Sasl: the token, or the error.
  absl::StatusOr<std::string> Scram(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& user, const std::string& password) {
    auto stub = v1::Sasl::NewStub(channel);
    security::ScramClient client(security::ScramMechanism::kSha256, user, password);
    v1::SaslAuthenticateRequest first;
    first.set_mechanism("SCRAM-SHA-256");
    first.set_auth_bytes(client.FirstMessage());
    v1::SaslAuthenticateResponse first_answer;
    grpc::ClientContext c1;
    grpc::Status s = stub->Authenticate(&c1, first, &first_answer);
    if (!s.ok()) return absl::UnavailableError(s.error_message());
    if (first_answer.error_code() != v1::NONE) {
      return absl::UnauthenticatedError(first_answer.error_message());
    }
    absl::StatusOr<std::string> final_message = client.FinalMessage(first_answer.auth_bytes());
    if (!final_message.ok()) return final_message.status();
    v1::SaslAuthenticateRequest second;
    second.set_mechanism("SCRAM-SHA-256");
    second.set_auth_bytes(*final_message);
    second.set_session_id(first_answer.session_id());
    v1::SaslAuthenticateResponse second_answer;
    grpc::ClientContext c2;
    s = stub->Authenticate(&c2, second, &second_answer);
    if (!s.ok()) return absl::UnavailableError(s.error_message());
    if (second_answer.error_code() != v1::NONE) {
      return absl::UnauthenticatedError(second_answer.error_message());
    }
    if (absl::Status v = client.VerifyServerFinal(second_answer.auth_bytes()); !v.ok()) return v;
    EXPECT_EQ(second_answer.session_lifetime_ms(), 3600000);
    return second_answer.token();
  }

  std::unique_ptr<SaslSessions> sessions_;
  std::unique_ptr<SaslService> sasl_;
};

TEST_F(SaslGateTest, ScramTokenAuthenticatesEveryCall) {
  StartSasl(security::SecurityProtocol::kSaslPlaintext);
  auto channel = Channel(grpc::InsecureChannelCredentials());
  grpc::Status anonymous = Call(channel);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(anonymous.error_message().find("strata.v1.Sasl/Authenticate"), std::string::npos);
  EXPECT_EQ(Call(channel, std::string(64, 'a')).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(service_->calls(), 0);

  absl::StatusOr<std::string> wrong = Scram(channel, "bob", "not-bobs");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("invalid credentials"), std::string::npos)
      << wrong.status();
  absl::StatusOr<std::string> unknown = Scram(channel, "mallory", "x");
  EXPECT_FALSE(unknown.ok());

  absl::StatusOr<std::string> token = Scram(channel, "bob", "bob-secret");
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_TRUE(Call(channel, *token).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:bob");
  EXPECT_EQ(sessions_->session_count(), 1u);
  EXPECT_EQ(sessions_->handshake_count(), 0u);
}

TEST_F(SaslGateTest, PlainAndUnsupportedMechanisms) {
  StartSasl(security::SecurityProtocol::kSaslPlaintext);
  auto stub = v1::Sasl::NewStub(Channel(grpc::InsecureChannelCredentials()));
  v1::SaslAuthenticateRequest req;
  req.set_mechanism("SCRAM-SHA-512");
  v1::SaslAuthenticateResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Authenticate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.error_code(), v1::UNSUPPORTED_SASL_MECHANISM);
  req.set_mechanism("PLAIN");
  req.set_auth_bytes(std::string("\0carol\0carol-secret", 19));
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Authenticate(&ctx, req, &resp).ok());
  }
  ASSERT_EQ(resp.error_code(), v1::NONE) << resp.error_message();
  ASSERT_TRUE(Call(Channel(grpc::InsecureChannelCredentials()), resp.token()).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:carol");
  req.set_auth_bytes(std::string("\0carol\0wrong", 12));
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Authenticate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.error_code(), v1::SASL_AUTHENTICATION_FAILED);
  req.set_mechanism("SCRAM-SHA-256");
  req.set_session_id("no-such-session");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Authenticate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.error_code(), v1::ILLEGAL_SASL_STATE);
}

TEST_F(SaslGateTest, SaslSslTakesTokensOrANodeCertificate) {
  StartSasl(security::SecurityProtocol::kSaslSsl);
  // alice's certificate is not a node's: she needs a token.
  auto alice = Channel(ClientTls(ca_.cert_pem(), &alice_));
  EXPECT_EQ(Call(alice).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  absl::StatusOr<std::string> token = Scram(alice, "bob", "bob-secret");
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_TRUE(Call(alice, *token).ok());
  // The SASL user, not the certificate, is the principal (Kafka's SASL_SSL).
  EXPECT_EQ(service_->last().principal.ToString(), "User:bob");
  ASSERT_TRUE(Call(Channel(ClientTls(ca_.cert_pem(), &node1_))).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:CN=node1");
}

// The client library's side (client/channel_security.h) against these
// listeners.
class ClientSecurityTest : public SaslGateTest {
 protected:
  static client::SecurityConfig Scram(const std::string& password) {
    client::SecurityConfig c;
    c.protocol = client::SecurityProtocol::kSaslPlaintext;
    c.sasl_mechanism = "SCRAM-SHA-256";
    c.sasl_username = "bob";
    c.sasl_password = password;
    return c;
  }
  std::shared_ptr<grpc::Channel> ClientChannel(const client::SecurityConfig& c,
                                               const std::string& host = "127.0.0.1",
                                               const std::string& client_id = "") {
    absl::StatusOr<std::shared_ptr<const client::ChannelSecurity>> security =
        client::ChannelSecurity::Create(c, client_id);
    EXPECT_TRUE(security.ok()) << security.status();
    if (!security.ok()) return nullptr;
    return (*security)->MakeChannel(host + ":" + std::to_string(port_), grpc::ChannelArguments());
  }
};

TEST_F(ClientSecurityTest, ScramLoginPutsTheTokenOnEveryCall) {
  StartSasl(security::SecurityProtocol::kSaslPlaintext);
  auto channel = ClientChannel(Scram("bob-secret"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(channel).ok());
  EXPECT_EQ(service_->calls(), 3);
  EXPECT_EQ(service_->last().principal.ToString(), "User:bob");
  // One exchange served all three calls.
  EXPECT_EQ(sessions_->session_count(), 1u);

  grpc::Status wrong = Call(ClientChannel(Scram("not-bobs")));
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(wrong.error_message().find("invalid credentials with SASL mechanism SCRAM-SHA-256"),
            std::string::npos)
      << wrong.error_message();
}

// client.id reaches the node's session on a plaintext listener (no gate,
// no resolver) and beside a SASL token; bytes a text header cannot carry
// arrive intact.
TEST_F(ClientSecurityTest, EveryCallCarriesTheClientId) {
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  Start(std::move(o));
  ASSERT_TRUE(Call(ClientChannel(client::SecurityConfig(), "127.0.0.1", "quota-client")).ok());
  EXPECT_EQ(service_->last().client_id, "quota-client");
  EXPECT_EQ(service_->last().principal.ToString(), "User:ANONYMOUS");
  ASSERT_TRUE(Call(ClientChannel(client::SecurityConfig())).ok());
  EXPECT_EQ(service_->last().client_id, "") << "no client id, no metadata";
  const std::string odd = "caf\xc3\xa9 100%\n%41";
  ASSERT_TRUE(Call(ClientChannel(client::SecurityConfig(), "127.0.0.1", odd)).ok());
  EXPECT_EQ(service_->last().client_id, odd);
  // A pool passes its client id on.
  client::ConnectionPool pool(client::SecurityConfig(), "pooled");
  ASSERT_TRUE(Call(pool.Get("127.0.0.1:" + std::to_string(port_))).ok());
  EXPECT_EQ(service_->last().client_id, "pooled");
  EXPECT_EQ(service_->calls(), 4);
}

TEST_F(ClientSecurityTest, TheClientIdTravelsWithTheSaslToken) {
  StartSasl(security::SecurityProtocol::kSaslPlaintext);
  auto channel = ClientChannel(Scram("bob-secret"), "127.0.0.1", "app");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Call(channel).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:bob");
  EXPECT_EQ(service_->last().client_id, "app");
  EXPECT_EQ(sessions_->session_count(), 1u);
}

TEST_F(ClientSecurityTest, ARestartedNodeIsAuthenticatedAgain) {
  StartSasl(security::SecurityProtocol::kSaslPlaintext);
  auto channel = ClientChannel(Scram("bob-secret"));
  ASSERT_TRUE(Call(channel).ok());
  // The node restarts on the same port and forgets its sessions.
  const int port = port_;
  server_grpc_->Shutdown(std::chrono::system_clock::now());
  server_grpc_.reset();
  security_.reset();
  StartSasl(security::SecurityProtocol::kSaslPlaintext, port);
  ASSERT_EQ(port_, port);
  // The stale token costs one retriable failure; the next call logs in.
  grpc::Status stale;
  for (int i = 0; i < 50; ++i) {
    stale = Call(channel);
    if (stale.error_code() != grpc::StatusCode::UNAVAILABLE ||
        stale.error_message().find("SASL session ended") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // reconnecting
  }
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::UNAVAILABLE) << stale.error_message();
  EXPECT_NE(stale.error_message().find("SASL session ended"), std::string::npos)
      << stale.error_message();
  EXPECT_TRUE(Call(channel).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:bob");
}

TEST_F(ClientSecurityTest, TlsWithClientCertificateAndHostNames) {
  TestCertOptions enc;
  enc.key_password = "alice-key";
  TestCert alice = ca_.Issue("CN=alice", enc);
  WriteTextFile(dir_ + "/alice.pem", alice.keystore_pem());
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  o.security = Ssl(security::ClientAuth::kRequired);
  Start(std::move(o));
  client::SecurityConfig c;
  c.protocol = client::SecurityProtocol::kSsl;
  c.truststore_location = dir_ + "/ca.pem";
  c.keystore_location = dir_ + "/alice.pem";
  c.key_password = "wrong";
  absl::StatusOr<std::shared_ptr<const client::ChannelSecurity>> bad =
      client::ChannelSecurity::Create(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ssl.key.password"), std::string::npos) << bad.status();
  c.key_password = "alice-key";
  ASSERT_TRUE(Call(ClientChannel(c)).ok());
  EXPECT_EQ(service_->last().principal.ToString(), "User:CN=alice");
  ASSERT_TRUE(Call(ClientChannel(c, "localhost")).ok());
  c.keystore_location.clear();
  c.key_password.clear();
  EXPECT_EQ(Call(ClientChannel(c)).error_code(), grpc::StatusCode::UNAVAILABLE);
  c.truststore_location = dir_ + "/missing.pem";
  bad = client::ChannelSecurity::Create(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ssl.truststore.location"), std::string::npos);
}

TEST_F(ClientSecurityTest, HostNameVerificationCanBeTurnedOff) {
  GrpcListenerOptions o;
  o.name = "PLAINTEXT";
  o.security = Ssl(security::ClientAuth::kNone);
  // The server's certificate names localhost and 127.0.0.1 only; 127.0.0.2
  // is loopback too, under a name the certificate does not hold.
  auto security = GrpcListenerSecurity::Create(std::move(o));
  ASSERT_TRUE(security.ok()) << security.status();
  security_ = *std::move(security);
  service_ = std::make_unique<ProtectedService>("PLAINTEXT");
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.2:0", security_->server_credentials(), &port_);
  builder.RegisterCallbackGenericService(service_.get());
  server_grpc_ = builder.BuildAndStart();
  if (server_grpc_ == nullptr || port_ == 0) GTEST_SKIP() << "127.0.0.2 is not available";
  client::SecurityConfig c;
  c.protocol = client::SecurityProtocol::kSsl;
  c.truststore_location = dir_ + "/ca.pem";
  grpc::Status checked = Call(ClientChannel(c, "127.0.0.2"));
  EXPECT_EQ(checked.error_code(), grpc::StatusCode::UNAVAILABLE) << checked.error_message();
  c.verify_hostname = false;
  EXPECT_TRUE(Call(ClientChannel(c, "127.0.0.2")).ok());
}

TEST(SaslSessionsTest, TokensExpireAndTablesAreBounded) {
  class FakeClock final : public Clock {
   public:
    int64_t NowMs() const override { return now; }
    int64_t now = 1000;
  } clock;
  SaslSessionsOptions o;
  o.enabled_mechanisms = {"PLAIN"};
  o.plain_users = {{"carol", "pw"}};
  o.session_lifetime_ms = 5000;
  o.max_sessions = 2;
  o.clock = &clock;
  SaslSessions sessions(o);
  const std::string plain("\0carol\0pw", 9);
  SaslStep a = sessions.Authenticate("PLAIN", plain, "");
  ASSERT_EQ(a.error, ErrorCode::kNone) << a.error_message;
  EXPECT_EQ(a.token.size(), 64u);
  EXPECT_EQ(sessions.PrincipalOf(a.token), "User:carol");
  ASSERT_EQ(sessions.Authenticate("PLAIN", plain, "").error, ErrorCode::kNone);
  EXPECT_EQ(sessions.Authenticate("PLAIN", plain, "").error, ErrorCode::kUnknownServerError);
  clock.now += 5000;
  EXPECT_EQ(sessions.PrincipalOf(a.token), std::nullopt);
  SaslStep c = sessions.Authenticate("PLAIN", plain, "");
  ASSERT_EQ(c.error, ErrorCode::kNone) << c.error_message;
  EXPECT_EQ(sessions.session_count(), 1u);
}

}  // namespace
}  // namespace strata::server
