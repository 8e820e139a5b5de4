// TlsContext: a listener's server-side TLS context (an OpenSSL SSL_CTX) built
// from its ssl.* settings (listener_security.h), and reloaded from the same
// files when they change, without a restart.
//
//   absl::StatusOr<std::unique_ptr<TlsContext>> tls = TlsContext::Create(security.tls);
//   if (!tls.ok()) ...stop the node: the message names the key and the file...
//   std::shared_ptr<SSL_CTX> ctx = (*tls)->Current();  // per accepted connection
//   SSL* ssl = SSL_new(ctx.get());                      // holds its own reference
//
// Contract
//   - Keystore (ssl.keystore.location, PEM): the certificate, the chain
//     after it, and the private key, in any order; the key may be encrypted
//     with ssl.key.password. Truststore (ssl.truststore.location, PEM): the
//     CA certificates client certificates must chain to; required when
//     ssl.client.auth is requested or required.
//   - TLS 1.2 and 1.3 only; no renegotiation. ssl.client.auth: none asks no
//     certificate; requested asks one, lets a client without one in, and
//     fails the handshake of one whose certificate does not verify
//     (expired, another CA); required also fails a client without one.
//   - Create's errors (InvalidArgument) name the key and the file, e.g.
//     "ssl.keystore.location /x/y.pem: no private key".
//   - Reload: Current() looks at the files' size, mtime and inode at most
//     once a second. When they changed it loads them again; if they load
//     cleanly, every later Current() returns the new context (connections
//     already open keep theirs), else the old one stays and the error is
//     logged once for that change of the files.
//   - Thread-safe. Time comes in through CurrentAt() for tests; Current()
//     reads the steady clock.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/security/listener_security.h"

namespace strata::security {

class TlsContext {
 public:
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(const TlsOptions& options);

  std::shared_ptr<SSL_CTX> Current();
  std::shared_ptr<SSL_CTX> CurrentAt(std::chrono::steady_clock::time_point now);

  // How many contexts have been loaded (1 after Create; +1 per reload).
  int64_t generation() const;

  // What a file looked like when it was last loaded (for the reload check).
  struct FileStamp {
    bool exists = false;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };

 private:
  TlsContext(TlsOptions options, std::shared_ptr<SSL_CTX> ctx, FileStamp keystore,
             FileStamp truststore);

  const TlsOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<SSL_CTX> current_ ABSL_GUARDED_BY(mu_);
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::chrono::steady_clock::time_point last_check_ ABSL_GUARDED_BY(mu_);
  // The files as last seen: loaded, or refused (so a bad file is logged
  // once, not every second).
  FileStamp keystore_seen_ ABSL_GUARDED_BY(mu_);
  FileStamp truststore_seen_ ABSL_GUARDED_BY(mu_);
};

// The peer certificate's subject in RFC 2253 form, most specific first, as
// Kafka's X500Principal.getName() ("CN=alice,O=Strata"). NotFound when the
// peer sent no certificate.
absl::StatusOr<std::string> PeerDistinguishedName(SSL* ssl);
// The same for a certificate at hand.
absl::StatusOr<std::string> SubjectDistinguishedName(X509* cert);

// The client side, for tests and tools: trusts `ca_location` (PEM; empty:
// no verification of the server) and presents `keystore_location`'s
// certificate and key when given (same format as the server's keystore).
// The server's name is not checked (the caller may, with SSL_set1_host).
struct TlsClientOptions {
  std::string ca_location;
  std::string keystore_location;
  std::string key_password;
};
absl::StatusOr<std::shared_ptr<SSL_CTX>> CreateClientTlsContext(const TlsClientOptions& options);

}  // namespace strata::security
