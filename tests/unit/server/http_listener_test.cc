// HttpListener over loopback: routes, methods, 404s, oversized headers and
// slow clients (answered 4xx or closed, while others are still served), and
// TLS with client certificates naming the principal.
#include "broker/server/http_listener.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "broker/security/listener_security.h"
#include "broker/security/principal_mapping.h"
#include "broker/security/tls_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/loopback.h"
#include "tests/common/test_certs.h"

namespace strata::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

int Connect(int port) { return testing::ConnectLoopback(port); }

// Everything the server sends until it closes or `wait` passes.
std::string ReadAll(int fd, std::chrono::milliseconds wait) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    // One answer with a body: stop once Content-Length bytes are in.
    const size_t end = out.find("\r\n\r\n");
    const size_t cl = out.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos && cl < end) {
      const size_t length = std::stoul(out.substr(cl + 16));
      if (out.size() >= end + 4 + length) break;
    }
  }
  return out;
}

// Whether the server closed `fd` within `wait`.
bool Closed(int fd, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
  return false;
}

std::string Send(int port, const std::string& request) {
  const int fd = Connect(port);
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer = ReadAll(fd, 3s);
  ::close(fd);
  return answer;
}

std::string Get(int port, const std::string& path) {
  return Send(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

class HttpListenerTest : public ::testing::Test {
 protected:
  void Start(HttpListener::Options o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    auto listener = HttpListener::Start(
        std::move(o),
        {{"/metrics", [](const HttpRequest&) { return HttpResponse::Text(200, "a_metric 1\n"); }},
         {"/api/v1/", [](const HttpRequest& r) {
            return HttpResponse::Json(200, "{\"path\":\"" + r.path + "\",\"principal\":\"" +
                                               r.principal + "\"}");
          }}});
    ASSERT_TRUE(listener.ok()) << listener.status();
    http_ = *std::move(listener);
    port_ = http_->port();
    ASSERT_GT(port_, 0);
  }

  std::unique_ptr<HttpListener> http_;
  int port_ = 0;
};

TEST_F(HttpListenerTest, RoutesAnswerAndOtherPathsAre404) {
  Start();
  const std::string metrics = Get(port_, "/metrics");
  EXPECT_THAT(metrics, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain"));
  EXPECT_THAT(metrics, HasSubstr("\r\n\r\na_metric 1\n"));
  const std::string api = Get(port_, "/api/v1/topics/orders?x=1");
  EXPECT_THAT(api, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(api, HasSubstr("{\"path\":\"/api/v1/topics/orders\",\"principal\":\"User:ANONYMOUS\"}"));
  EXPECT_THAT(Get(port_, "/nope"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(port_, "/metricsx"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(port_, "/api/v1"), StartsWith("HTTP/1.1 404 "));
}

TEST_F(HttpListenerTest, OnlyGetAndHead) {
  Start();
  const std::string post = Send(port_,
                                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                "Connection: close\r\n\r\nabc");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD"));
  const std::string head =
      Send(port_, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\n"));  // no body
}

TEST_F(HttpListenerTest, GarbageAndHugeHeadersAre4xxOrClosed) {
  HttpListener::Options o;
  o.max_header_bytes = 8192;
  Start(std::move(o));
  const std::string garbage = Send(port_, std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16));
  EXPECT_THAT(garbage, StartsWith("HTTP/1.1 400 ")) << garbage;
  EXPECT_THAT(Get(port_, "metrics"), StartsWith("HTTP/1.1 400 "));  // not origin-form
  EXPECT_THAT(Get(port_, "/met%zzrics"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Get(port_, "/met%00rics"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Send(port_, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
              StartsWith("HTTP/1.1 400 "));
  const std::string huge = Send(
      port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') +
                 "\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(huge, StartsWith("HTTP/1.1 431 ")) << huge.substr(0, 200);
  // Percent-escapes decode: /%6detrics is /metrics.
  EXPECT_THAT(Get(port_, "/%6detrics"), StartsWith("HTTP/1.1 200 "));
  EXPECT_THAT(Get(port_, "/metrics"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpListenerTest, SlowClientsAreClosedAndOthersStillServed) {
  HttpListener::Options o;
  o.num_threads = 2;
  o.request_timeout_ms = 500;
  Start(std::move(o));
  // More slow clients than workers, each sending half a request.
  std::vector<int> slow;
  for (int i = 0; i < 6; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    const std::string part = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    ::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  for (int fd : slow) {
    EXPECT_TRUE(Closed(fd, 5s)) << "a slow client was never closed";
    ::close(fd);
  }
  EXPECT_THAT(Get(port_, "/metrics"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpListenerTest, AuthorizeRefusesWith403) {
  HttpListener::Options o;
  std::mutex mu;
  std::string seen;
  o.authorize = [&](const security::Session& session) {
    std::lock_guard<std::mutex> lock(mu);
    seen = session.principal.ToString() + "@" + session.host + "/" + session.listener;
    return session.host == "10.0.0.1";
  };
  Start(std::move(o));
  EXPECT_THAT(Get(port_, "/metrics"), StartsWith("HTTP/1.1 403 "));
  EXPECT_THAT(Get(port_, "/no/such/path"), StartsWith("HTTP/1.1 403 ")) << "no route names leak";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, "User:ANONYMOUS@127.0.0.1/HTTP");
}

TEST_F(HttpListenerTest, ConnectionsBeyondTheLimitAreClosedAtAccept) {
  HttpListener::Options o;
  o.num_threads = 1;
  o.max_connections = 3;
  o.request_timeout_ms = 3000;
  Start(std::move(o));
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect(port_));  // silent: they hold their slots
  std::this_thread::sleep_for(200ms);
  const int extra = Connect(port_);
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(Closed(extra, 2s)) << "a connection beyond max_connections was kept";
  ::close(extra);
  for (int fd : held) ::close(fd);
  // Once they go, the listener serves again.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = Get(port_, "/metrics").rfind("HTTP/1.1 200", 0) == 0;
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpListenerTest, StopCutsASlowClientShort) {
  HttpListener::Options o;
  o.request_timeout_ms = 60000;
  Start(std::move(o));
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const std::string part = "GET /metrics HTTP/1.1\r\n";
  ::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(200ms);  // a worker holds it
  const auto start = std::chrono::steady_clock::now();
  http_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "Stop waited for the slow client";
  EXPECT_TRUE(Closed(fd, 2s));
  ::close(fd);
}

TEST_F(HttpListenerTest, APortInUseIsAnError) {
  Start();
  HttpListener::Options o;
  o.host = "127.0.0.1";
  o.port = port_;
  auto second = HttpListener::Start(std::move(o), {});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(std::to_string(port_)));
}

class HttpsListenerTest : public HttpListenerTest {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("http-tls-");
    testing::WriteTextFile(dir_ + "/server.pem", server_.keystore_pem());
    testing::WriteTextFile(dir_ + "/ca.pem", ca_.cert_pem());
    testing::WriteTextFile(dir_ + "/alice.pem", alice_.keystore_pem());
  }
  void TearDown() override {
    http_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartTls(security::ClientAuth auth) {
    security::TlsOptions t;
    t.keystore_location = dir_ + "/server.pem";
    t.truststore_location = dir_ + "/ca.pem";
    t.client_auth = auth;
    auto tls = security::TlsContext::Create(t);
    ASSERT_TRUE(tls.ok()) << tls.status();
    auto mapper = security::SslPrincipalMapper::Parse("RULE:^.*CN=([a-z]+).*$/$1/,DEFAULT");
    ASSERT_TRUE(mapper.ok()) << mapper.status();
    HttpListener::Options o;
    o.tls = std::shared_ptr<security::TlsContext>(std::move(*tls));
    o.mapping = std::make_shared<security::SslPrincipalMapper>(*std::move(mapper));
    Start(std::move(o));
  }

  // GET over TLS, presenting `keystore` when given; "" when the handshake fails.
  std::string TlsGet(const std::string& path, const std::string& keystore) {
    auto ctx = security::CreateClientTlsContext(
        {.ca_location = dir_ + "/ca.pem", .keystore_location = keystore, .key_password = ""});
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    if (!ctx.ok()) return "";
    const int fd = Connect(port_);
    SSL* ssl = SSL_new(ctx->get());
    SSL_set_fd(ssl, fd);
    std::string out;
    if (SSL_connect(ssl) == 1) {
      const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    }
    SSL_free(ssl);
    ::close(fd);
    return out;
  }

  testing::TestCa ca_{"Test CA"};
  testing::TestCert server_ = ca_.Issue("CN=localhost");
  testing::TestCert alice_ = ca_.Issue("CN=alice,O=Strata");
  testing::TestCa other_ca_{"Other CA"};
  std::string dir_;
};

TEST_F(HttpsListenerTest, ClientCertificateNamesThePrincipal) {
  StartTls(security::ClientAuth::kRequired);
  const std::string api = TlsGet("/api/v1/x", dir_ + "/alice.pem");
  EXPECT_THAT(api, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(api, HasSubstr("\"principal\":\"User:alice\""));
  // Required: no certificate, no answer.
  EXPECT_EQ(TlsGet("/api/v1/x", ""), "");
  // Plaintext on a TLS port gets nothing useful.
  EXPECT_THAT(Get(port_, "/metrics"), ::testing::Not(HasSubstr("a_metric")));
}

TEST_F(HttpsListenerTest, WithoutClientAuthAnyoneIsAnonymous) {
  StartTls(security::ClientAuth::kNone);
  EXPECT_THAT(TlsGet("/api/v1/x", ""), HasSubstr("\"principal\":\"User:ANONYMOUS\""));
}

}  // namespace
}  // namespace strata::server
