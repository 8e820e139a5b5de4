// TlsContext over a socket pair: certificates made at test time (a CA, a
// second CA, valid, expired and password-protected ones), handshakes
// accepted and refused for each ssl.client.auth, the peer's DN, Create's
// messages, and reloading the files without a restart.
#include "broker/security/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_certs.h"

namespace strata::security {
namespace {

using ::strata::testing::MakeTempDir;
using ::strata::testing::TestCa;
using ::strata::testing::TestCert;
using ::strata::testing::TestCertOptions;
using ::strata::testing::WriteTextFile;
using ::testing::HasSubstr;

const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

TestCertOptions Serial(int64_t serial) {
  TestCertOptions o;
  o.serial = serial;
  return o;
}

TestCertOptions Expired(int64_t serial) {
  TestCertOptions o = Serial(serial);
  o.not_before_s = -2 * 86400;
  o.not_after_s = -86400;
  return o;
}

TestCertOptions Locked(int64_t serial, std::string password) {
  TestCertOptions o = Serial(serial);
  o.key_password = std::move(password);
  return o;
}

struct Handshake {
  bool server_ok = false;
  bool client_ok = false;
  std::string server_error;
  absl::StatusOr<std::string> dn = absl::UnknownError("no handshake");
  int64_t server_serial = -1;  // the serial of the certificate the client saw
};

std::string Errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += buf;
    out += " ";
  }
  return out;
}

// One handshake over a socket pair: the server in a thread, the client
// here. The client then reads until the server closes, so a refusal the
// server makes after the client's side is done (TLS 1.3 verifies the client
// certificate last) still ends both.
Handshake Shake(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  for (int fd : sv) ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  Handshake r;
  std::thread server([&] {
    SSL* s = SSL_new(server_ctx);
    SSL_set_fd(s, sv[0]);
    r.server_ok = SSL_accept(s) == 1;
    if (r.server_ok) {
      r.dn = PeerDistinguishedName(s);
      SSL_write(s, "x", 1);
      SSL_shutdown(s);
    } else {
      r.server_error = Errors();
    }
    SSL_free(s);
    ::close(sv[0]);
  });
  SSL* c = SSL_new(client_ctx);
  SSL_set_fd(c, sv[1]);
  r.client_ok = SSL_connect(c) == 1;
  if (r.client_ok) {
    if (X509* cert = SSL_get0_peer_certificate(c)) {
      int64_t serial = 0;
      ASN1_INTEGER_get_int64(&serial, X509_get0_serialNumber(cert));
      r.server_serial = serial;
    }
    char buf[16];
    while (SSL_read(c, buf, sizeof(buf)) > 0) {
    }
  }
  ERR_clear_error();
  SSL_free(c);
  ::close(sv[1]);
  server.join();
  return r;
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("tls_context_test");
    server_ = ca_.Issue("O=Strata,CN=localhost", Serial(2));
    WriteTextFile(Path("server.pem"), server_.keystore_pem());
    WriteTextFile(Path("ca.pem"), ca_.cert_pem());
    WriteTextFile(Path("alice.pem"), ca_.Issue("O=Strata,CN=alice", Serial(10)).keystore_pem());
    WriteTextFile(Path("expired.pem"), ca_.Issue("O=Strata,CN=old", Expired(11)).keystore_pem());
    WriteTextFile(Path("stranger.pem"), other_ca_.Issue("O=Elsewhere,CN=mallory").keystore_pem());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  TlsOptions Server(ClientAuth auth) const {
    TlsOptions o;
    o.keystore_location = Path("server.pem");
    o.truststore_location = Path("ca.pem");
    o.client_auth = auth;
    return o;
  }

  std::shared_ptr<SSL_CTX> Client(const std::string& keystore = "") const {
    TlsClientOptions o;
    o.ca_location = Path("ca.pem");
    if (!keystore.empty()) o.keystore_location = Path(keystore);
    absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = CreateClientTlsContext(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return ctx.ok() ? *ctx : nullptr;
  }

  // Replaces a file as a deployment rotating certificates does: a new file
  // renamed over the old one.
  void Replace(const std::string& name, const std::string& text) {
    WriteTextFile(Path(name + ".tmp"), text);
    ASSERT_EQ(::rename(Path(name + ".tmp").c_str(), Path(name).c_str()), 0);
  }

  std::string dir_;
  TestCa ca_{"Test CA"};
  TestCa other_ca_{"Other CA"};
  TestCert server_;
};

TEST_F(TlsContextTest, NoClientAuthAcceptsAClientWithoutACertificate) {
  absl::StatusOr<std::unique_ptr<TlsContext>> tls = TlsContext::Create(Server(ClientAuth::kNone));
  ASSERT_TRUE(tls.ok()) << tls.status();
  Handshake h = Shake((*tls)->Current().get(), Client().get());
  EXPECT_TRUE(h.server_ok) << h.server_error;
  EXPECT_TRUE(h.client_ok);
  EXPECT_EQ(h.server_serial, 2);
  EXPECT_TRUE(absl::IsNotFound(h.dn.status())) << h.dn.status();
}

TEST_F(TlsContextTest, RequiredClientAuthTakesOnlyATrustedUnexpiredCertificate) {
  absl::StatusOr<std::unique_ptr<TlsContext>> tls =
      TlsContext::Create(Server(ClientAuth::kRequired));
  ASSERT_TRUE(tls.ok()) << tls.status();
  SSL_CTX* server = (*tls)->Current().get();

  Handshake alice = Shake(server, Client("alice.pem").get());
  EXPECT_TRUE(alice.server_ok) << alice.server_error;
  ASSERT_TRUE(alice.dn.ok()) << alice.dn.status();
  EXPECT_EQ(*alice.dn, "CN=alice,O=Strata");

  Handshake none = Shake(server, Client().get());
  EXPECT_FALSE(none.server_ok);
  EXPECT_THAT(none.server_error, HasSubstr("peer did not return a certificate"));

  Handshake expired = Shake(server, Client("expired.pem").get());
  EXPECT_FALSE(expired.server_ok);
  EXPECT_THAT(expired.server_error, HasSubstr("certificate verify failed"));

  Handshake stranger = Shake(server, Client("stranger.pem").get());
  EXPECT_FALSE(stranger.server_ok);
  EXPECT_THAT(stranger.server_error, HasSubstr("certificate verify failed"));
}

TEST_F(TlsContextTest, RequestedClientAuthLetsAClientWithoutACertificateInButNotABadOne) {
  absl::StatusOr<std::unique_ptr<TlsContext>> tls =
      TlsContext::Create(Server(ClientAuth::kRequested));
  ASSERT_TRUE(tls.ok()) << tls.status();
  SSL_CTX* server = (*tls)->Current().get();

  Handshake none = Shake(server, Client().get());
  EXPECT_TRUE(none.server_ok) << none.server_error;
  EXPECT_TRUE(absl::IsNotFound(none.dn.status()));

  Handshake alice = Shake(server, Client("alice.pem").get());
  EXPECT_TRUE(alice.server_ok) << alice.server_error;
  EXPECT_EQ(alice.dn.value_or(""), "CN=alice,O=Strata");

  EXPECT_FALSE(Shake(server, Client("expired.pem").get()).server_ok);
  EXPECT_FALSE(Shake(server, Client("stranger.pem").get()).server_ok);
}

TEST_F(TlsContextTest, TheDistinguishedNameIsRfc2253MostSpecificFirst) {
  WriteTextFile(Path("bob.pem"),
                ca_.Issue("C=US,O=Strata,OU=Eng,CN=bob", Serial(12)).keystore_pem());
  absl::StatusOr<std::unique_ptr<TlsContext>> tls =
      TlsContext::Create(Server(ClientAuth::kRequired));
  ASSERT_TRUE(tls.ok()) << tls.status();
  Handshake bob = Shake((*tls)->Current().get(), Client("bob.pem").get());
  EXPECT_EQ(bob.dn.value_or(""), "CN=bob,OU=Eng,O=Strata,C=US");
}

TEST_F(TlsContextTest, OldProtocolVersionsAreRefused) {
  absl::StatusOr<std::unique_ptr<TlsContext>> tls = TlsContext::Create(Server(ClientAuth::kNone));
  ASSERT_TRUE(tls.ok()) << tls.status();
  std::shared_ptr<SSL_CTX> client = Client();
  SSL_CTX_set_min_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(client.get(), 0);
  EXPECT_FALSE(Shake((*tls)->Current().get(), client.get()).server_ok);

  std::shared_ptr<SSL_CTX> tls12 = Client();
  SSL_CTX_set_max_proto_version(tls12.get(), TLS1_2_VERSION);
  Handshake h = Shake((*tls)->Current().get(), tls12.get());
  EXPECT_TRUE(h.server_ok) << h.server_error;
}

TEST_F(TlsContextTest, AnEncryptedKeyLoadsWithItsPassword) {
  WriteTextFile(Path("locked.pem"), ca_.Issue("CN=localhost", Locked(5, "s3cret")).keystore_pem());
  TlsOptions o = Server(ClientAuth::kNone);
  o.keystore_location = Path("locked.pem");
  o.key_password = "s3cret";
  absl::StatusOr<std::unique_ptr<TlsContext>> tls = TlsContext::Create(o);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(Shake((*tls)->Current().get(), Client().get()).server_serial, 5);

  o.key_password = "wrong";
  absl::Status wrong = TlsContext::Create(o).status();
  EXPECT_THAT(wrong.message(), HasSubstr("ssl.key.password: cannot decrypt the private key in " +
                                         Path("locked.pem")));
  o.key_password = "";
  absl::Status missing = TlsContext::Create(o).status();
  EXPECT_THAT(missing.message(),
              HasSubstr("ssl.keystore.location " + Path("locked.pem") +
                        ": the private key is encrypted and ssl.key.password is not set"));
}

TEST_F(TlsContextTest, CreateNamesTheKeyAndTheFile) {
  TlsOptions o = Server(ClientAuth::kNone);
  o.keystore_location = Path("absent.pem");
  EXPECT_THAT(TlsContext::Create(o).status().message(),
              HasSubstr("ssl.keystore.location " + Path("absent.pem") + ": cannot read"));

  WriteTextFile(Path("cert-only.pem"), server_.cert_pem);
  o.keystore_location = Path("cert-only.pem");
  EXPECT_EQ(TlsContext::Create(o).status().message(),
            "ssl.keystore.location " + Path("cert-only.pem") + ": no private key");

  WriteTextFile(Path("key-only.pem"), server_.key_pem);
  o.keystore_location = Path("key-only.pem");
  EXPECT_EQ(TlsContext::Create(o).status().message(),
            "ssl.keystore.location " + Path("key-only.pem") + ": no certificate");

  TestCert other = ca_.Issue("CN=other");
  WriteTextFile(Path("mismatch.pem"), server_.cert_pem + other.key_pem);
  o.keystore_location = Path("mismatch.pem");
  EXPECT_EQ(TlsContext::Create(o).status().message(),
            "ssl.keystore.location " + Path("mismatch.pem") +
                ": the private key does not match the certificate");

  o = Server(ClientAuth::kRequired);
  WriteTextFile(Path("empty.pem"), "");
  o.truststore_location = Path("empty.pem");
  EXPECT_EQ(TlsContext::Create(o).status().message(),
            "ssl.truststore.location " + Path("empty.pem") + ": no certificate");
  o.truststore_location = "";
  EXPECT_THAT(TlsContext::Create(o).status().message(), HasSubstr("ssl.truststore.location"));
}

TEST_F(TlsContextTest, ChangedFilesAreReloadedAndABadChangeKeepsTheOldContext) {
  absl::StatusOr<std::unique_ptr<TlsContext>> tls = TlsContext::Create(Server(ClientAuth::kNone));
  ASSERT_TRUE(tls.ok()) << tls.status();
  TlsContext& c = **tls;
  using std::chrono::seconds;
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<SSL_CTX> first = c.CurrentAt(t0 + seconds(2));
  EXPECT_EQ(Shake(first.get(), Client().get()).server_serial, 2);

  // A new certificate: not looked for within a second of the last look,
  // seen after it; connections already made keep the old context.
  Replace("server.pem", ca_.Issue("O=Strata,CN=localhost", Serial(3)).keystore_pem());
  EXPECT_EQ(c.CurrentAt(t0 + seconds(2) + std::chrono::milliseconds(500)), first);
  std::shared_ptr<SSL_CTX> second = c.CurrentAt(t0 + seconds(4));
  EXPECT_NE(second, first);
  EXPECT_EQ(c.generation(), 2);
  EXPECT_EQ(Shake(second.get(), Client().get()).server_serial, 3);
  EXPECT_EQ(Shake(first.get(), Client().get()).server_serial, 2);

  // A broken file: the previous context stays.
  Replace("server.pem", "-----BEGIN CERTIFICATE-----\ngarbage\n");
  EXPECT_EQ(c.CurrentAt(t0 + seconds(6)), second);
  EXPECT_EQ(c.CurrentAt(t0 + seconds(8)), second);
  EXPECT_EQ(c.generation(), 2);
  EXPECT_EQ(Shake(c.CurrentAt(t0 + seconds(10)).get(), Client().get()).server_serial, 3);

  // Fixed again: loaded.
  Replace("server.pem", ca_.Issue("O=Strata,CN=localhost", Serial(4)).keystore_pem());
  EXPECT_EQ(Shake(c.CurrentAt(t0 + seconds(12)).get(), Client().get()).server_serial, 4);
  EXPECT_EQ(c.generation(), 3);

  // A new truststore counts as a change too: a client of the other CA is
  // now trusted.
  TlsOptions o = Server(ClientAuth::kRequired);
  absl::StatusOr<std::unique_ptr<TlsContext>> mtls = TlsContext::Create(o);
  ASSERT_TRUE(mtls.ok()) << mtls.status();
  EXPECT_FALSE(
      Shake((*mtls)->CurrentAt(t0 + seconds(2)).get(), Client("stranger.pem").get()).server_ok);
  Replace("ca.pem", ca_.cert_pem() + other_ca_.cert_pem());
  Handshake h = Shake((*mtls)->CurrentAt(t0 + seconds(4)).get(), Client("stranger.pem").get());
  EXPECT_TRUE(h.server_ok) << h.server_error;
  EXPECT_EQ(h.dn.value_or(""), "CN=mallory,O=Elsewhere");
}

}  // namespace
}  // namespace strata::security
