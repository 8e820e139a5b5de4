// KafkaListener's security on loopback: TLS (handshakes, refusals, stalled
// and garbage clients, pipelined requests through small socket buffers, a
// request spanning many TLS records), client certificates as principals,
// SASL PLAIN and SCRAM over plaintext and TLS with Kafka's refusals and
// re-authentication, and the connection limits under a flood of connects.
// Certificates are made at test time (tests/common/test_certs.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/kafka/connection_limits.h"
#include "broker/kafka/kafka_listener.h"
#include "broker/security/tls_context.h"
#include "client/common/error_code.h"
#include "gtest/gtest.h"
#include "tests/common/free_port.h"
#include "tests/common/kafka_test_client.h"
#include "tests/common/test_certs.h"
#include "tests/unit/kafka/tls_test_client.h"

namespace strata::kafka {
namespace {

using security::ClientAuth;
using security::SecurityProtocol;
using ::strata::testing::MakeTempDir;
using ::strata::testing::TestCa;
using ::strata::testing::TestCertOptions;
using ::strata::testing::WriteTextFile;
using testing::AnswersApiVersions;
using testing::Client;
using testing::PlainLogin;
using testing::RequestBytes;
using testing::TlsClient;

const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

// What the request layer was handed: each dispatched request's key and
// context.
class Seen {
 public:
  void Add(const RequestContext& context, std::string_view frame) {
    absl::StatusOr<RequestHeader> h = PeekRequestHeader(frame);
    absl::MutexLock l(&mu_);
    requests_.push_back({h.ok() ? h->api_key : ApiKey::kProduce, context});
    largest_ = std::max(largest_, frame.size());
  }
  size_t largest_frame() {
    absl::MutexLock l(&mu_);
    return largest_;
  }
  std::vector<std::pair<ApiKey, RequestContext>> All() {
    absl::MutexLock l(&mu_);
    return requests_;
  }
  std::optional<RequestContext> Last(ApiKey key) {
    absl::MutexLock l(&mu_);
    for (auto it = requests_.rbegin(); it != requests_.rend(); ++it) {
      if (it->first == key) return it->second;
    }
    return std::nullopt;
  }
  int Count(ApiKey key) {
    absl::MutexLock l(&mu_);
    int n = 0;
    for (const auto& r : requests_) n += r.first == key;
    return n;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<ApiKey, RequestContext>> requests_;
  size_t largest_ = 0;
};

TestCertOptions Serial(int64_t serial) {
  TestCertOptions o;
  o.serial = serial;
  return o;
}

class ListenerSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("listener_security_test");
    WriteTextFile(Path("server.pem"), ca_.Issue("O=Strata,CN=localhost", Serial(2)).keystore_pem());
    WriteTextFile(Path("ca.pem"), ca_.cert_pem());
    WriteTextFile(Path("alice.pem"), ca_.Issue("O=Strata,CN=Alice", Serial(10)).keystore_pem());
    TestCertOptions expired = Serial(11);
    expired.not_before_s = -2 * 86400;
    expired.not_after_s = -86400;
    WriteTextFile(Path("expired.pem"), ca_.Issue("O=Strata,CN=old", expired).keystore_pem());
    WriteTextFile(Path("stranger.pem"), other_ca_.Issue("CN=mallory").keystore_pem());
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  KafkaListener::Options Base(SecurityProtocol protocol) {
    KafkaListener::Options o;
    o.name = "SECURE";
    o.host = "127.0.0.1";
    o.port = ::strata::testing::PickFreePort();
    o.num_network_threads = 2;
    o.num_io_threads = 2;
    o.security.protocol = protocol;
    o.security.tls.keystore_location = Path("server.pem");
    o.security.tls.truststore_location = Path("ca.pem");
    o.security.sasl.enabled_mechanisms = {"PLAIN", "SCRAM-SHA-512"};
    o.security.sasl.plain_users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
    o.request_observer = [this](const RequestContext& c, std::string_view f) { seen_.Add(c, f); };
    return o;
  }

  void Start(KafkaListener::Options o) {
    absl::StatusOr<std::unique_ptr<KafkaListener>> l = KafkaListener::Start(std::move(o), {});
    ASSERT_TRUE(l.ok()) << l.status();
    listener_ = *std::move(l);
    port_ = listener_->port();
  }

  std::shared_ptr<SSL_CTX> ClientTls(const std::string& keystore = "") {
    security::TlsClientOptions o;
    o.ca_location = Path("ca.pem");
    if (!keystore.empty()) o.keystore_location = Path(keystore);
    absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = security::CreateClientTlsContext(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return *ctx;
  }

  std::string dir_;
  TestCa ca_{"Listener CA"};
  TestCa other_ca_{"Other CA"};
  Seen seen_;
  std::unique_ptr<KafkaListener> listener_;
  int port_ = 0;
};

// ---- TLS ----

TEST_F(ListenerSecurityTest, SslAnswersOverTlsAndClosesPlaintextClients) {
  Start(Base(SecurityProtocol::kSsl));
  std::shared_ptr<SSL_CTX> tls = ClientTls();
  TlsClient a(port_, tls.get());
  ASSERT_TRUE(a.connected()) << a.error();
  EXPECT_TRUE(AnswersApiVersions(a, 1));
  EXPECT_TRUE(AnswersApiVersions(a, 2));

  // Kafka's bytes without TLS: the handshake fails and the connection closes.
  Client plain(port_, /*timeout_s=*/5);
  ASSERT_TRUE(plain.Send(RequestBytes(2, 7, ApiVersionsRequest{})));
  EXPECT_TRUE(plain.ClosedByServer());

  TlsClient b(port_, tls.get());
  ASSERT_TRUE(b.connected()) << b.error();
  EXPECT_TRUE(AnswersApiVersions(b, 3)) << "the listener serves on after a refusal";
  EXPECT_TRUE(AnswersApiVersions(a, 4));
  std::optional<RequestContext> c = seen_.Last(ApiKey::kApiVersions);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->principal.ToString(), "User:ANONYMOUS");
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->listener, "SECURE");
}

int64_t ServerSerial(const TlsClient& c) {
  X509* cert = SSL_get0_peer_certificate(c.ssl());
  int64_t serial = -1;
  if (cert != nullptr) ASN1_INTEGER_get_int64(&serial, X509_get0_serialNumber(cert));
  return serial;
}

TEST_F(ListenerSecurityTest, ANewCertificateIsServedToNewConnectionsWithoutARestart) {
  Start(Base(SecurityProtocol::kSsl));
  std::shared_ptr<SSL_CTX> tls = ClientTls();
  TlsClient before(port_, tls.get());
  ASSERT_TRUE(before.connected()) << before.error();
  EXPECT_EQ(ServerSerial(before), 2);

  WriteTextFile(Path("server.pem.tmp"),
                ca_.Issue("O=Strata,CN=localhost", Serial(3)).keystore_pem());
  ASSERT_EQ(::rename(Path("server.pem.tmp").c_str(), Path("server.pem").c_str()), 0);
  // Looked at once a second at most.
  int64_t serial = 2;
  for (int i = 0; i < 40 && serial == 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    TlsClient c(port_, tls.get());
    ASSERT_TRUE(c.connected()) << c.error();
    serial = ServerSerial(c);
  }
  EXPECT_EQ(serial, 3);
  EXPECT_TRUE(AnswersApiVersions(before, 1)) << "a connection made before keeps working";
}

TEST_F(ListenerSecurityTest, GarbageAndStalledHandshakesAreClosedWithoutWedgingTheListener) {
  KafkaListener::Options o = Base(SecurityProtocol::kSsl);
  o.ssl_handshake_timeout_ms = 300;
  Start(o);
  std::shared_ptr<SSL_CTX> tls = ClientTls();

  std::mt19937 random(7);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  Client noise(port_, 5);
  ASSERT_TRUE(noise.Send(garbage));
  // A TLS record header announcing a ClientHello, then silence.
  Client half(port_, 5);
  ASSERT_TRUE(half.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  Client silent(port_, 5);
  ASSERT_TRUE(silent.connected());

  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(noise.ClosedByServer());
  TlsClient good(port_, tls.get());
  ASSERT_TRUE(good.connected()) << good.error();
  EXPECT_TRUE(AnswersApiVersions(good, 1)) << "served while the stalled handshakes wait";
  EXPECT_TRUE(half.ClosedByServer());
  EXPECT_TRUE(silent.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "handshakes are bounded by ssl_handshake_timeout_ms (checked each tick)";
  EXPECT_TRUE(AnswersApiVersions(good, 2));
  EXPECT_EQ(seen_.Count(ApiKey::kApiVersions), 2);
}

TEST_F(ListenerSecurityTest, ClientCertificatesNameThePrincipalThroughTheMappingRules) {
  KafkaListener::Options o = Base(SecurityProtocol::kSsl);
  o.security.tls.client_auth = ClientAuth::kRequired;
  o.security.tls.principal_mapping_rules = "RULE:^CN=([^,]*),.*$/$1/L,DEFAULT";
  Start(o);

  std::shared_ptr<SSL_CTX> alice_tls = ClientTls("alice.pem");
  TlsClient alice(port_, alice_tls.get());
  ASSERT_TRUE(alice.connected()) << alice.error();
  ASSERT_TRUE(AnswersApiVersions(alice, 1));
  std::optional<RequestContext> c = seen_.Last(ApiKey::kApiVersions);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->principal.ToString(), "User:alice");

  // Refused: no certificate, an expired one, one from another CA (TLS 1.3
  // refuses after the client's side is done, so look at the first answer).
  for (const std::string keystore : {"", "expired.pem", "stranger.pem"}) {
    SCOPED_TRACE(keystore);
    std::shared_ptr<SSL_CTX> ctx = ClientTls(keystore);
    TlsClient refused(port_, ctx.get());
    EXPECT_FALSE(refused.connected() && AnswersApiVersions(refused, 2));
  }
  EXPECT_EQ(seen_.Count(ApiKey::kApiVersions), 1);
  EXPECT_TRUE(AnswersApiVersions(alice, 3));
}

TEST_F(ListenerSecurityTest, RequestedClientAuthLetsAClientWithoutACertificateInAsAnonymous) {
  KafkaListener::Options o = Base(SecurityProtocol::kSsl);
  o.security.tls.client_auth = ClientAuth::kRequested;
  Start(o);
  std::shared_ptr<SSL_CTX> none = ClientTls();
  TlsClient anonymous(port_, none.get());
  ASSERT_TRUE(AnswersApiVersions(anonymous, 1));
  EXPECT_EQ(seen_.Last(ApiKey::kApiVersions)->principal.ToString(), "User:ANONYMOUS");
  std::shared_ptr<SSL_CTX> alice_tls = ClientTls("alice.pem");
  TlsClient alice(port_, alice_tls.get());
  ASSERT_TRUE(AnswersApiVersions(alice, 2));
  EXPECT_EQ(seen_.Last(ApiKey::kApiVersions)->principal.ToString(), "User:CN=Alice,O=Strata")
      << "DEFAULT rules: the DN as it is";
}

TEST_F(ListenerSecurityTest, StartFailsOnBadTlsFilesOrRules) {
  KafkaListener::Options o = Base(SecurityProtocol::kSsl);
  o.security.tls.keystore_location = Path("missing.pem");
  absl::StatusOr<std::unique_ptr<KafkaListener>> l = KafkaListener::Start(o, {});
  ASSERT_FALSE(l.ok());
  EXPECT_NE(
      l.status().message().find("listener SECURE: ssl.keystore.location " + Path("missing.pem")),
      absl::string_view::npos)
      << l.status();
  o = Base(SecurityProtocol::kSsl);
  o.security.tls.principal_mapping_rules = "RULE:oops";
  l = KafkaListener::Start(o, {});
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("ssl.principal.mapping.rules"), absl::string_view::npos)
      << l.status();
}

TEST_F(ListenerSecurityTest, PipelinedRequestsThroughSmallBuffersComeBackInOrder) {
  KafkaListener::Options o = Base(SecurityProtocol::kSsl);
  o.socket_send_buffer_bytes = 4096;  // answers back up: SSL_write wants to write
  o.max_inflight_requests_per_connection = 4;
  Start(o);
  std::shared_ptr<SSL_CTX> tls = ClientTls();
  TlsClient c(port_, tls.get(), /*timeout_s=*/10, /*rcvbuf=*/4096);
  ASSERT_TRUE(c.connected()) << c.error();
  int32_t next = 0;
  for (int batch = 0; batch < 5; ++batch) {
    std::string bytes;
    for (int i = 0; i < 200; ++i) bytes += RequestBytes(2, next + i, ApiVersionsRequest{});
    ASSERT_TRUE(c.Send(bytes));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // answers pile up meanwhile
    for (int i = 0; i < 200; ++i, ++next) {
      std::optional<ApiVersionsResponse> r =
          testing::ParseResponse<ApiVersionsResponse>(c.ReadFrame(), 2, next);
      ASSERT_TRUE(r.has_value()) << "answer " << next;
    }
  }
  EXPECT_EQ(seen_.Count(ApiKey::kApiVersions), 1000);
}

// A Metadata request naming `n` topics of 20 bytes: a frame of about 22n
// bytes (the request layer is absent here, so it is closed once
// dispatched; the observer sees it whole).
std::string BigMetadata(int32_t correlation_id, int n) {
  MetadataRequest m;
  m.topics.emplace();
  for (int i = 0; i < n; ++i)
    m.topics->push_back({std::string(20, static_cast<char>('a' + i % 26))});
  return RequestBytes(4, correlation_id, m);
}

TEST_F(ListenerSecurityTest, RequestsSpanningManyTlsRecordsAreReadWhole) {
  Start(Base(SecurityProtocol::kSsl));
  std::shared_ptr<SSL_CTX> tls = ClientTls();
  TlsClient c(port_, tls.get());
  ASSERT_TRUE(c.connected()) << c.error();
  // Ten requests of 30 KB in one write: frames across record boundaries.
  std::string bytes;
  for (int i = 0; i < 10; ++i) {
    ApiVersionsRequest r;
    r.client_software_name = std::string(30000, 'a' + i);
    r.client_software_version = "1";
    bytes += RequestBytes(3, i, r);
  }
  ASSERT_TRUE(c.Send(bytes));
  for (int i = 0; i < 10; ++i) {
    std::optional<ApiVersionsResponse> r =
        testing::ParseResponse<ApiVersionsResponse>(c.ReadFrame(), 3, i);
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->error_code, 0);
  }
  // One frame of 440 KB.
  const std::string big = BigMetadata(11, 20000);
  ASSERT_TRUE(c.Send(big));
  EXPECT_TRUE(c.ClosedByServer());
  EXPECT_EQ(seen_.Count(ApiKey::kMetadata), 1);
  EXPECT_EQ(seen_.largest_frame(), big.size() - 4);
}

// ---- SASL ----

TEST_F(ListenerSecurityTest, SaslPlainAuthenticatesAndThePrincipalReachesTheRequestLayer) {
  Start(Base(SecurityProtocol::kSaslPlaintext));
  Client c(port_, 5);
  ASSERT_TRUE(AnswersApiVersions(c, 1)) << "ApiVersions before authentication";
  EXPECT_EQ(seen_.Last(ApiKey::kApiVersions)->principal.ToString(), "User:ANONYMOUS");
  std::optional<SaslAuthenticateResponse> r = PlainLogin(c, "alice", "alice-secret");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_code, 0);
  EXPECT_EQ(r->session_lifetime_ms, 0);
  ASSERT_TRUE(AnswersApiVersions(c, 9));
  std::optional<RequestContext> context = seen_.Last(ApiKey::kApiVersions);
  EXPECT_EQ(context->principal.ToString(), "User:alice");
  EXPECT_EQ(context->host, "127.0.0.1");
  EXPECT_EQ(seen_.Count(ApiKey::kSaslHandshake) + seen_.Count(ApiKey::kSaslAuthenticate), 0)
      << "the exchange never reaches the dispatcher";
  // Once authenticated, a bigger frame than sasl.server.max.receive.size
  // is read (and dispatched: no request layer here, so it then closes).
  const std::string big = BigMetadata(10, 30000);
  ASSERT_GT(big.size(), 524288u);
  ASSERT_TRUE(c.Send(big));
  EXPECT_TRUE(c.ClosedByServer());
  ASSERT_EQ(seen_.Count(ApiKey::kMetadata), 1);
  EXPECT_EQ(seen_.Last(ApiKey::kMetadata)->principal.ToString(), "User:alice");
  EXPECT_EQ(seen_.largest_frame(), big.size() - 4);
}

TEST_F(ListenerSecurityTest, SaslRefusalsCloseTheConnectionAndTheListenerServesOn) {
  KafkaListener::Options o = Base(SecurityProtocol::kSaslPlaintext);
  Start(o);
  {  // A wrong password: Kafka's answer, then the close.
    Client c(port_, 5);
    std::optional<SaslAuthenticateResponse> r = PlainLogin(c, "alice", "nope");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->error_code, static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed));
    EXPECT_EQ(r->error_message.value_or(""), "Authentication failed: Invalid username or password");
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // Another request before authenticating.
    Client c(port_, 5);
    ASSERT_TRUE(c.Send(RequestBytes(4, 1, MetadataRequest{})));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // SaslAuthenticate before SaslHandshake.
    Client c(port_, 5);
    SaslAuthenticateRequest r;
    r.auth_bytes = security::MakePlainMessage("alice", "alice-secret");
    ASSERT_TRUE(c.Send(RequestBytes(2, 1, r)));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // A second SaslHandshake in the middle of SCRAM.
    Client c(port_, 5);
    ASSERT_EQ(testing::SaslHandshake(c, "SCRAM-SHA-512"), 0);
    security::ScramClient scram(security::ScramMechanism::kSha512, "bob", "bob-secret");
    ASSERT_TRUE(testing::SaslAuthenticate(c, scram.FirstMessage()).has_value());
    SaslHandshakeRequest again;
    again.mechanism = "PLAIN";
    ASSERT_TRUE(c.Send(RequestBytes(1, 5, again)));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // A mechanism not enabled: UNSUPPORTED_SASL_MECHANISM, then the close.
    Client c(port_, 5);
    EXPECT_EQ(testing::SaslHandshake(c, "SCRAM-SHA-256"),
              static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // A frame over sasl.server.max.receive.size before authenticating:
     // refused as soon as its size is in, nothing allocated for it.
    Client c(port_, 5);
    ASSERT_EQ(testing::SaslHandshake(c, "PLAIN"), 0);
    ASSERT_TRUE(c.Send(std::string("\x00\x10\x00\x00", 4) + std::string(1000, 'x')));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {  // Garbage instead of a request.
    Client c(port_, 5);
    ASSERT_TRUE(c.Send(std::string("\x00\x00\x00\x03\xff\xff\xff", 7)));
    EXPECT_TRUE(c.ClosedByServer());
  }
  Client fresh(port_, 5);
  std::optional<SaslAuthenticateResponse> r = PlainLogin(fresh, "bob", "bob-secret");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_code, 0);
  EXPECT_TRUE(AnswersApiVersions(fresh, 20));
  EXPECT_EQ(seen_.Count(ApiKey::kMetadata), 0);
}

TEST_F(ListenerSecurityTest, SaslScramOverTls) {
  std::map<std::string, security::ScramCredential> users;
  users["carol"] =
      *security::MakeScramCredential(security::ScramMechanism::kSha512, "carol-secret", 4096);
  KafkaListener::Options o = Base(SecurityProtocol::kSaslSsl);
  o.scram_credentials = [users](
                            security::ScramMechanism m,
                            const std::string& user) -> std::optional<security::ScramCredential> {
    auto it = users.find(user);
    if (m != security::ScramMechanism::kSha512 || it == users.end()) return std::nullopt;
    return it->second;
  };
  Start(o);
  std::shared_ptr<SSL_CTX> tls = ClientTls();
  TlsClient c(port_, tls.get());
  ASSERT_TRUE(c.connected()) << c.error();
  ASSERT_TRUE(testing::ScramLogin(c, security::ScramMechanism::kSha512, "carol", "carol-secret"));
  ASSERT_TRUE(AnswersApiVersions(c, 10));
  EXPECT_EQ(seen_.Last(ApiKey::kApiVersions)->principal.ToString(), "User:carol");

  TlsClient wrong(port_, tls.get());
  ASSERT_TRUE(wrong.connected());
  EXPECT_FALSE(testing::ScramLogin(wrong, security::ScramMechanism::kSha512, "carol", "x"));
  EXPECT_TRUE(wrong.ClosedByServer());

  // Plain Kafka bytes on the SASL_SSL port: the TLS handshake refuses them.
  Client plain(port_, 5);
  ASSERT_TRUE(plain.Send(RequestBytes(2, 1, ApiVersionsRequest{})));
  EXPECT_TRUE(plain.ClosedByServer());
}

TEST_F(ListenerSecurityTest, SessionsExpireAndMayBeRenewedOnTheSameConnection) {
  KafkaListener::Options o = Base(SecurityProtocol::kSaslPlaintext);
  o.security.sasl.connections_max_reauth_ms = 1000;
  Start(o);
  Client c(port_, 5);
  std::optional<SaslAuthenticateResponse> r = PlainLogin(c, "alice", "alice-secret");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->session_lifetime_ms, 1000);
  // Re-authenticated at once: same principal.
  r = PlainLogin(c, "alice", "alice-secret");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_code, 0);
  EXPECT_TRUE(AnswersApiVersions(c, 30));
  // Another principal is refused, and the connection closed.
  r = PlainLogin(c, "bob", "bob-secret");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_message.value_or(""),
            "Cannot change principals during re-authentication from User:alice: User:bob");
  EXPECT_TRUE(c.ClosedByServer());

  // Expiry: after the lifetime, a request (other than ApiVersions or a
  // re-authentication) closes the connection before it is dispatched.
  Client d(port_, 5);
  ASSERT_TRUE(PlainLogin(d, "alice", "alice-secret").has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_TRUE(AnswersApiVersions(d, 40));
  ASSERT_TRUE(d.Send(RequestBytes(4, 41, MetadataRequest{})));
  EXPECT_TRUE(d.ClosedByServer());
  EXPECT_EQ(seen_.Count(ApiKey::kMetadata), 0);
}

// ---- connection limits ----

// A connected loopback socket from `source` (e.g. 127.0.0.2), or -1.
int ConnectFrom(const char* source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closed `fd` within `timeout_ms` (EOF or reset).
bool ClosedWithin(int fd, int timeout_ms) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

TEST_F(ListenerSecurityTest, MaxConnectionsClosesTheFloodAtAcceptAndFreesSlotsOnClose) {
  KafkaListener::Options o = Base(SecurityProtocol::kPlaintext);
  o.max_connections = 50;
  Start(o);
  constexpr int kAttempts = 500;
  std::vector<int> fds;
  for (int i = 0; i < kAttempts; ++i) {
    const int fd = ConnectFrom("127.0.0.1", port_);
    ASSERT_GE(fd, 0) << i;
    fds.push_back(fd);
  }
  // The refused ones are closed promptly; the admitted ones stay.
  std::vector<int> open;
  int closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<bool> done(kAttempts, false);
  while (closed < kAttempts - 50 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < kAttempts; ++i) {
      if (!done[i] && ClosedWithin(fds[i], 0)) {
        done[i] = true;
        ++closed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < kAttempts; ++i) {
    if (!done[i] && !ClosedWithin(fds[i], 0)) open.push_back(fds[i]);
  }
  EXPECT_EQ(closed, kAttempts - 50);
  ASSERT_EQ(open.size(), 50u);
  EXPECT_EQ(listener_->open_connections(), 50);
  for (int fd : open) EXPECT_FALSE(ClosedWithin(fd, 0));

  // An admitted connection is served.
  const std::string request = RequestBytes(2, 77, ApiVersionsRequest{});
  ASSERT_EQ(::send(open[0], request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  pollfd p{.fd = open[0], .events = POLLIN, .revents = 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char buf[8];
  EXPECT_EQ(::recv(open[0], buf, sizeof(buf), 0), 8);
  EXPECT_EQ(buf[7], 77) << "the answer's correlation id";

  // Ten leave: their slots are free again.
  for (int i = 0; i < 10; ++i) ::close(open[i]);
  for (int i = 0; i < 200 && listener_->open_connections() > 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(listener_->open_connections(), 40);
  {
    Client again(port_, 5);
    EXPECT_TRUE(AnswersApiVersions(again, 78));
  }
  for (int i = 0; i < kAttempts; ++i) {
    if (std::find(open.begin(), open.begin() + 10, fds[i]) == open.begin() + 10) ::close(fds[i]);
  }
}

TEST_F(ListenerSecurityTest, PerIpLimitsAndTheirOverrides) {
  KafkaListener::Options o = Base(SecurityProtocol::kPlaintext);
  o.max_connections_per_ip = 3;
  o.max_connections_per_ip_overrides = {{"127.0.0.2", 5}};
  Start(o);
  auto admitted = [&](const char* source, int attempts) {
    std::vector<int> fds;
    for (int i = 0; i < attempts; ++i) fds.push_back(ConnectFrom(source, port_));
    int open = 0;
    for (int fd : fds) {
      EXPECT_GE(fd, 0);
      open += !ClosedWithin(fd, 300);
    }
    return std::make_pair(open, fds);
  };
  auto [from_1, fds_1] = admitted("127.0.0.1", 5);
  EXPECT_EQ(from_1, 3);
  auto [from_2, fds_2] = admitted("127.0.0.2", 7);
  EXPECT_EQ(from_2, 5) << "max.connections.per.ip.overrides";
  EXPECT_EQ(listener_->open_connections(), 8);
  for (int fd : fds_1) ::close(fd);
  for (int fd : fds_2) ::close(fd);
  for (int i = 0; i < 200 && listener_->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(listener_->open_connections(), 0);

  // A host name in the overrides is resolved.
  KafkaListener::Options named = Base(SecurityProtocol::kPlaintext);
  named.max_connections_per_ip = 100;
  named.max_connections_per_ip_overrides = {{"localhost", 1}};
  listener_->Stop();
  Start(named);
  auto [local, fds_3] = admitted("127.0.0.1", 3);
  EXPECT_EQ(local, 1);
  for (int fd : fds_3) ::close(fd);
}

TEST_F(ListenerSecurityTest, ListenersSharingTheNodesLimitsCountTogether) {
  absl::StatusOr<std::shared_ptr<ConnectionLimits>> limits =
      ConnectionLimits::Create({.max_connections = 3,
                                .max_connections_per_ip = INT32_MAX,
                                .max_connections_per_ip_overrides = {}});
  ASSERT_TRUE(limits.ok()) << limits.status();
  KafkaListener::Options a = Base(SecurityProtocol::kPlaintext);
  a.connection_limits = *limits;
  KafkaListener::Options b = Base(SecurityProtocol::kPlaintext);
  b.connection_limits = *limits;
  absl::StatusOr<std::unique_ptr<KafkaListener>> la = KafkaListener::Start(a, {});
  absl::StatusOr<std::unique_ptr<KafkaListener>> lb = KafkaListener::Start(b, {});
  ASSERT_TRUE(la.ok() && lb.ok());
  std::vector<int> fds;
  int open = 0;
  for (int port : {(*la)->port(), (*la)->port(), (*lb)->port(), (*lb)->port()}) {
    fds.push_back(ConnectFrom("127.0.0.1", port));
    open += !ClosedWithin(fds.back(), 300);
  }
  EXPECT_EQ(open, 3);
  EXPECT_EQ((*limits)->open(), 3);
  EXPECT_EQ((*la)->open_connections() + (*lb)->open_connections(), 3);
  for (int fd : fds) ::close(fd);
  (*la)->Stop();
  (*lb)->Stop();
  EXPECT_EQ((*limits)->open(), 0);
}

TEST(ConnectionLimitsTest, AnUnresolvableOverrideIsRefused) {
  absl::StatusOr<std::shared_ptr<ConnectionLimits>> limits =
      ConnectionLimits::Create({.max_connections = 3,
                                .max_connections_per_ip = 2,
                                .max_connections_per_ip_overrides = {{"no-such-host.invalid", 1}}});
  ASSERT_FALSE(limits.ok());
  EXPECT_NE(limits.status().message().find("no-such-host.invalid"), absl::string_view::npos);
}

}  // namespace
}  // namespace strata::kafka
