#include "broker/security/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::security {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::shared_ptr<SSL_CTX> Share(SSL_CTX* ctx) { return std::shared_ptr<SSL_CTX>(ctx, SSL_CTX_free); }

// The reasons OpenSSL queued on this thread, oldest first; clears them.
std::string DrainErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

TlsContext::FileStamp StampOf(const std::string& path) {
  TlsContext::FileStamp stamp;
  if (path.empty()) return stamp;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.size = st.st_size;
  stamp.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  stamp.inode = st.st_ino;
  return stamp;
}

absl::StatusOr<std::string> ReadPem(const char* key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " ", path, ": cannot read (", strerror(errno), ")"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every certificate in `pem`, in file order.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  ERR_clear_error();  // the end of the file reads as "no start line"
  return certs;
}

int PasswordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  if (password == nullptr || password->empty()) return 0;
  if (password->size() > static_cast<size_t>(size)) return 0;
  memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

absl::StatusOr<PkeyPtr> ReadPrivateKey(const char* key, const std::string& path,
                                       const std::string& pem, const std::string& password) {
  if (!absl::StrContains(pem, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", path, ": no private key"));
  }
  const bool encrypted = absl::StrContains(pem, "ENCRYPTED PRIVATE KEY-----") ||
                         absl::StrContains(pem, "Proc-Type: 4,ENCRYPTED");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ERR_clear_error();
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, PasswordCallback,
                                           const_cast<std::string*>(&password));
  if (pkey != nullptr) return PkeyPtr(pkey);
  const std::string why = DrainErrors();
  if (encrypted && password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, " ", path, ": the private key is encrypted and ssl.key.password is not set"));
  }
  if (encrypted) {
    return absl::InvalidArgumentError(
        absl::StrCat("ssl.key.password: cannot decrypt the private key in ", path, " (", why, ")"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(key, " ", path, ": cannot read the private key (", why, ")"));
}

// Loads a keystore (certificate, chain, key) into `ctx`.
absl::Status UseKeystore(SSL_CTX* ctx, const TlsOptions& options) {
  const char* key = "ssl.keystore.location";
  const std::string& path = options.keystore_location;
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(key, " is not set"));
  absl::StatusOr<std::string> pem = ReadPem(key, path);
  if (!pem.ok()) return pem.status();
  std::vector<X509Ptr> certs = ReadCertificates(*pem);
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", path, ": no certificate"));
  }
  absl::StatusOr<PkeyPtr> pkey = ReadPrivateKey(key, path, *pem, options.key_password);
  if (!pkey.ok()) return pkey.status();
  if (SSL_CTX_use_certificate(ctx, certs[0].get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " ", path, ": unusable certificate (", DrainErrors(), ")"));
  }
  for (size_t i = 1; i < certs.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, certs[i].get()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " ", path, ": unusable chain certificate (", DrainErrors(), ")"));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, pkey->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    DrainErrors();
    return absl::InvalidArgumentError(
        absl::StrCat(key, " ", path, ": the private key does not match the certificate"));
  }
  return absl::OkStatus();
}

// Loads a truststore into `ctx`'s verification store (and, when
// `name_cas`, into the list of CAs a server names in its certificate
// request).
absl::Status UseTruststore(SSL_CTX* ctx, const std::string& path, bool name_cas) {
  const char* key = "ssl.truststore.location";
  absl::StatusOr<std::string> pem = ReadPem(key, path);
  if (!pem.ok()) return pem.status();
  std::vector<X509Ptr> certs = ReadCertificates(*pem);
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", path, ": no certificate"));
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const X509Ptr& cert : certs) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " ", path, ": unusable certificate (", DrainErrors(), ")"));
    }
    if (name_cas) SSL_CTX_add_client_CA(ctx, cert.get());
  }
  return absl::OkStatus();
}

// The settings both ends share: TLS 1.2+, no renegotiation, writes that may
// be partial and retried from a moved buffer (the listener's output grows
// between retries), buffers released while idle.
void CommonSettings(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> Load(const TlsOptions& options) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx = Share(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", DrainErrors()));
  }
  CommonSettings(ctx.get());
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  static constexpr unsigned char kSessionContext[] = "strata-kafka";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof(kSessionContext) - 1);
  if (absl::Status s = UseKeystore(ctx.get(), options); !s.ok()) return s;
  const bool ask_cert = options.client_auth != ClientAuth::kNone;
  if (!options.truststore_location.empty()) {
    if (absl::Status s = UseTruststore(ctx.get(), options.truststore_location, ask_cert); !s.ok()) {
      return s;
    }
  } else if (ask_cert) {
    return absl::InvalidArgumentError(
        "ssl.truststore.location is not set, and ssl.client.auth asks client certificates");
  }
  if (ask_cert) {
    SSL_CTX_set_verify(
        ctx.get(),
        SSL_VERIFY_PEER |
            (options.client_auth == ClientAuth::kRequired ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsOptions& options) {
  const FileStamp keystore = StampOf(options.keystore_location);
  const FileStamp truststore = StampOf(options.truststore_location);
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = Load(options);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<TlsContext>(
      new TlsContext(options, *std::move(ctx), keystore, truststore));
}

TlsContext::TlsContext(TlsOptions options, std::shared_ptr<SSL_CTX> ctx, FileStamp keystore,
                       FileStamp truststore)
    : options_(std::move(options)),
      current_(std::move(ctx)),
      last_check_(std::chrono::steady_clock::now()),
      keystore_seen_(keystore),
      truststore_seen_(truststore) {}

std::shared_ptr<SSL_CTX> TlsContext::Current() {
  return CurrentAt(std::chrono::steady_clock::now());
}

std::shared_ptr<SSL_CTX> TlsContext::CurrentAt(std::chrono::steady_clock::time_point now) {
  absl::MutexLock l(&mu_);
  if (now - last_check_ < std::chrono::seconds(1)) return current_;
  last_check_ = now;
  const FileStamp keystore = StampOf(options_.keystore_location);
  const FileStamp truststore = StampOf(options_.truststore_location);
  if (keystore == keystore_seen_ && truststore == truststore_seen_) return current_;
  keystore_seen_ = keystore;
  truststore_seen_ = truststore;
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = Load(options_);
  if (!ctx.ok()) {
    LOG(ERROR) << "TLS: the changed key or trust store does not load; new connections keep "
                  "the previous certificates: "
               << ctx.status().message();
    return current_;
  }
  current_ = *std::move(ctx);
  ++generation_;
  LOG(INFO) << "TLS: reloaded " << options_.keystore_location
            << (options_.truststore_location.empty()
                    ? std::string()
                    : absl::StrCat(" and ", options_.truststore_location))
            << "; new connections use them";
  return current_;
}

int64_t TlsContext::generation() const {
  absl::MutexLock l(&mu_);
  return generation_;
}

absl::StatusOr<std::string> PeerDistinguishedName(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return absl::NotFoundError("the peer sent no certificate");
  return SubjectDistinguishedName(cert);
}

absl::StatusOr<std::string> SubjectDistinguishedName(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253 (most specific first, as Java's X500Principal), with UTF-8
  // left as is rather than escaped.
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                         XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return absl::InternalError(
        absl::StrCat("cannot print the certificate's subject: ", DrainErrors()));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> CreateClientTlsContext(const TlsClientOptions& options) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx = Share(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", DrainErrors()));
  CommonSettings(ctx.get());
  if (!options.ca_location.empty()) {
    if (absl::Status s = UseTruststore(ctx.get(), options.ca_location, /*name_cas=*/false);
        !s.ok()) {
      return s;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!options.keystore_location.empty()) {
    TlsOptions keystore;
    keystore.keystore_location = options.keystore_location;
    keystore.key_password = options.key_password;
    if (absl::Status s = UseKeystore(ctx.get(), keystore); !s.ok()) return s;
  }
  return ctx;
}

}  // namespace strata::security
