#include "broker/server/grpc_security.h"

#include <fcntl.h>
#include <grpc/grpc_security.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/security/principal_mapping.h"
#include "broker/security/tls_context.h"
#include "glog/logging.h"
#include "raft/node/raft_node.h"

namespace strata::server {

namespace {

using security::ClientAuth;
using security::SecurityProtocol;

constexpr char kAnonymous[] = "User:ANONYMOUS";
// Calls a SASL listener serves without a session token: the handshake
// itself, and health checks (load balancers probe without credentials).
constexpr std::string_view kSaslExemptPrefixes[] = {"/strata.v1.Sasl/", "/grpc.health.v1.Health/"};

bool SaslExempt(std::string_view path) {
  for (std::string_view prefix : kSaslExemptPrefixes) {
    if (path.starts_with(prefix)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Key files.

struct FileStamp {
  bool exists = false;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  FileStamp stamp;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.size = st.st_size;
  stamp.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  stamp.inode = st.st_ino;
  return stamp;
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

int PasswordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const std::string* password = static_cast<const std::string*>(userdata);
  const int n = static_cast<int>(std::min<size_t>(password->size(), static_cast<size_t>(size)));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

// The keystore's certificates, then its private key decrypted with
// ssl.key.password, as PEM text.
absl::StatusOr<std::string> DecryptKeystore(const security::TlsOptions& tls) {
  ERR_clear_error();
  const std::string& path = tls.keystore_location;
  std::string out;
  {
    BioPtr in(BIO_new_file(path.c_str(), "r"));
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("ssl.keystore.location ", path, ": cannot read it: ", OpenSslErrors()));
    }
    BioPtr mem(BIO_new(BIO_s_mem()));
    int certs = 0;
    while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
      PEM_write_bio_X509(mem.get(), cert);
      X509_free(cert);
      ++certs;
    }
    ERR_clear_error();  // the end of the file
    if (certs == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ssl.keystore.location ", path, ": no certificate"));
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(mem.get(), &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BioPtr in(BIO_new_file(path.c_str(), "r"));
  std::string password = tls.key_password;
  EVP_PKEY* key =
      in ? PEM_read_bio_PrivateKey(in.get(), nullptr, PasswordCallback, &password) : nullptr;
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("ssl.key.password: cannot decrypt the private key in ssl.keystore.location ",
                     path, " (wrong password?): ", OpenSslErrors()));
  }
  BioPtr mem(BIO_new(BIO_s_mem()));
  const bool written =
      PEM_write_bio_PrivateKey(mem.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  EVP_PKEY_free(key);
  if (!written) return absl::InternalError("writing the decrypted private key: " + OpenSslErrors());
  char* data = nullptr;
  const long n = BIO_get_mem_data(mem.get(), &data);
  out.append(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  return out;
}

// Writes `text` to `path` atomically (a temporary file renamed over it),
// readable by this user only.
absl::Status WritePrivateFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("creating ", tmp, ": ", strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("writing ", tmp, ": ", strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("writing ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

// The files gRPC reads a listener's identity from. An unencrypted keystore
// is read where it is (key and chain from the same file: gRPC's PEM
// readers skip the blocks they do not want). An encrypted one is decrypted
// into a private copy, refreshed by a thread of its own when the keystore
// changes, and removed at the end.
class KeystoreFiles {
 public:
  static absl::StatusOr<std::unique_ptr<KeystoreFiles>> Open(const std::string& listener,
                                                             const security::TlsOptions& tls,
                                                             const std::string& work_dir) {
    auto files = std::unique_ptr<KeystoreFiles>(new KeystoreFiles(tls));
    if (tls.key_password.empty()) {
      files->path_ = tls.keystore_location;
      return files;
    }
    std::error_code ec;
    std::filesystem::create_directories(work_dir, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create ", work_dir, " for the decrypted key: ", ec.message()));
    }
    ::chmod(work_dir.c_str(), 0700);
    files->path_ = absl::StrCat(work_dir, "/", listener, "-keystore.pem");
    files->stamp_ = StampOf(tls.keystore_location);
    absl::StatusOr<std::string> pem = DecryptKeystore(tls);
    if (!pem.ok()) return pem.status();
    absl::Status written = WritePrivateFile(files->path_, *pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!written.ok()) return written;
    files->copy_ = true;
    files->watcher_ = std::thread([f = files.get()] { f->Watch(); });
    return files;
  }

  ~KeystoreFiles() {
    if (watcher_.joinable()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      watcher_.join();
    }
    if (copy_) ::unlink(path_.c_str());
  }

  // Both the private key's and the certificate chain's file.
  const std::string& path() const { return path_; }

 private:
  explicit KeystoreFiles(security::TlsOptions tls) : tls_(std::move(tls)) {}

  void Watch() {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, std::chrono::seconds(kTlsRefreshSeconds), [this] { return stop_; })) {
      const FileStamp now = StampOf(tls_.keystore_location);
      if (now == stamp_) continue;
      stamp_ = now;
      absl::StatusOr<std::string> pem = DecryptKeystore(tls_);
      absl::Status s = pem.ok() ? WritePrivateFile(path_, *pem) : pem.status();
      if (pem.ok()) OPENSSL_cleanse(pem->data(), pem->size());
      if (s.ok()) {
        LOG(INFO) << "Reloaded the keystore " << tls_.keystore_location;
      } else {
        LOG(ERROR) << "The keystore changed but cannot be used; keeping the previous one: " << s;
      }
    }
  }

  const security::TlsOptions tls_;
  std::string path_;
  bool copy_ = false;
  std::thread watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  FileStamp stamp_;    // watcher thread only, after Open
};

// ---------------------------------------------------------------------------
// Who a call comes from, and whether it may go on.

struct Decision {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string principal = kAnonymous;
};

}  // namespace

// What a listener knows to tell callers apart: shared by its gate and by
// GrpcSession (through the registry below).
class CallerResolver {
 public:
  CallerResolver(GrpcListenerOptions options, security::SslPrincipalMapper mapper)
      : options_(std::move(options)), mapper_(std::move(mapper)) {}

  // The principal of a verified client certificate with this subject, or
  // an error when the mapping rules have none for it.
  absl::StatusOr<std::string> CertificatePrincipal(std::string_view subject) const {
    absl::StatusOr<std::string> name = mapper_.Map(subject);
    if (!name.ok()) return name.status();
    return absl::StrCat("User:", *name);
  }

  std::optional<std::string> TokenPrincipal(std::string_view token) const {
    if (!options_.resolve_token) return std::nullopt;
    return options_.resolve_token(token);
  }

  // `subject`: the verified client certificate's RFC 2253 subject, if any;
  // `token`: the call's session token, if any.
  Decision Decide(std::string_view path, std::optional<std::string_view> token,
                  std::optional<std::string_view> subject) const {
    Decision d;
    bool certified = false;
    if (subject.has_value()) {
      absl::StatusOr<std::string> p = CertificatePrincipal(*subject);
      if (!p.ok()) {
        d.code = grpc::StatusCode::UNAUTHENTICATED;
        d.message = absl::StrCat("listener ", options_.name,
                                 ": the client certificate's subject maps to no principal "
                                 "(ssl.principal.mapping.rules): ",
                                 p.status().message());
        return d;
      }
      d.principal = *std::move(p);
      certified = true;
    }
    if (security::UsesSasl(options_.security.protocol) && !SaslExempt(path)) {
      if (token.has_value()) {
        std::optional<std::string> p = TokenPrincipal(*token);
        if (!p.has_value()) {
          d.code = grpc::StatusCode::UNAUTHENTICATED;
          d.message = absl::StrCat("listener ", options_.name,
                                   ": the SASL session token is unknown or expired; "
                                   "authenticate again (strata.v1.Sasl/Authenticate)");
          return d;
        }
        d.principal = *std::move(p);
      } else if (!(certified && options_.node_principals.contains(d.principal))) {
        d.code = grpc::StatusCode::UNAUTHENTICATED;
        d.message = absl::StrCat("listener ", options_.name, " (",
                                 security::ProtocolName(options_.security.protocol),
                                 ") needs SASL authentication: call strata.v1.Sasl/Authenticate "
                                 "and send its token as the metadata ",
                                 kSaslTokenMetadataKey);
        return d;
      }
    }
    if (options_.allowed_principals.has_value() &&
        !options_.allowed_principals->contains(d.principal)) {
      if (d.principal == kAnonymous) {
        d.code = grpc::StatusCode::UNAUTHENTICATED;
        d.message = absl::StrCat("listener ", options_.name,
                                 " serves the cluster's nodes only: present a node's certificate");
      } else {
        d.code = grpc::StatusCode::PERMISSION_DENIED;
        d.message = absl::StrCat(d.principal, " may not call listener ", options_.name,
                                 " (strata.controller.allowed.principals)");
      }
      return d;
    }
    return d;
  }

  const GrpcListenerOptions& options() const { return options_; }

 private:
  const GrpcListenerOptions options_;
  const security::SslPrincipalMapper mapper_;
};

namespace {

// Listener name -> its resolver, for GrpcSession. One node per process.
absl::Mutex registry_mu(absl::kConstInit);
std::map<std::string, std::shared_ptr<const CallerResolver>>* registry
    ABSL_GUARDED_BY(registry_mu) = nullptr;

std::shared_ptr<const CallerResolver> Registered(const std::string& listener) {
  absl::MutexLock l(&registry_mu);
  if (registry == nullptr) return nullptr;
  auto it = registry->find(listener);
  return it == registry->end() ? nullptr : it->second;
}

std::string_view View(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }

// "User:alice" -> {User, alice}.
security::Principal ParsePrincipal(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return security::Principal::User(std::string(text));
  return security::Principal{std::string(text.substr(0, colon)),
                             std::string(text.substr(colon + 1))};
}

// The gate on TLS listeners, in gRPC's auth filter.
class TlsGate final : public grpc::AuthMetadataProcessor {
 public:
  explicit TlsGate(std::shared_ptr<const CallerResolver> resolver)
      : resolver_(std::move(resolver)) {}

  // Lookups in memory only: run inline rather than on gRPC's thread pool.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) override {
    std::string_view path;
    std::optional<std::string_view> token;
    for (const auto& [key, value] : metadata) {
      if (key == ":path") path = View(value);
      if (key == kSaslTokenMetadataKey) token = View(value);
    }
    std::optional<std::string_view> subject;
    std::vector<grpc::string_ref> subjects =
        context->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (!subjects.empty()) subject = View(subjects.front());
    Decision d = resolver_->Decide(path, token, subject);
    return grpc::Status(d.code, d.message);
  }

 private:
  std::shared_ptr<const CallerResolver> resolver_;
};

// Insecure server credentials with the gate (SASL_PLAINTEXT): gRPC's C++
// InsecureServerCredentials refuse an AuthMetadataProcessor, gRPC's core
// takes one on any server credentials, so this wraps the core's directly.
class GatedInsecureServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit GatedInsecureServerCredentials(std::shared_ptr<const CallerResolver> resolver)
      : resolver_(std::move(resolver)), c_creds_(grpc_insecure_server_credentials_create()) {
    grpc_auth_metadata_processor processor{&GatedInsecureServerCredentials::Process, nullptr,
                                           const_cast<CallerResolver*>(resolver_.get())};
    grpc_server_credentials_set_auth_metadata_processor(c_creds_, processor);
  }
  ~GatedInsecureServerCredentials() override { grpc_server_credentials_release(c_creds_); }

  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    LOG(FATAL) << "the gate is this credentials' processor";
  }

 private:
  static void Process(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb cb, void* user_data) {
    const auto* resolver = static_cast<const CallerResolver*>(state);
    std::string_view path;
    std::optional<std::string_view> token;
    for (size_t i = 0; i < num_md; ++i) {
      std::string_view key(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].key)),
                           GRPC_SLICE_LENGTH(md[i].key));
      std::string_view value(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].value)),
                             GRPC_SLICE_LENGTH(md[i].value));
      if (key == ":path") path = value;
      if (key == kSaslTokenMetadataKey) token = value;
    }
    Decision d = resolver->Decide(path, token, std::nullopt);
    cb(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(d.code),
       d.code == grpc::StatusCode::OK ? nullptr : d.message.c_str());
  }

  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), c_creds_);
  }

  std::shared_ptr<const CallerResolver> resolver_;
  grpc_server_credentials* c_creds_;
};

absl::Mutex client_listener_mu(absl::kConstInit);
std::shared_ptr<grpc::ChannelCredentials>* client_listener_credentials
    ABSL_GUARDED_BY(client_listener_mu) = nullptr;

}  // namespace

class GrpcListenerSecurity::Impl {
 public:
  std::shared_ptr<const CallerResolver> resolver;
  std::unique_ptr<KeystoreFiles> keystore;  // TLS only
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> server_provider;
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> client_provider;

  ~Impl() {
    absl::MutexLock l(&registry_mu);
    if (registry == nullptr) return;
    auto it = registry->find(resolver->options().name);
    if (it != registry->end() && it->second == resolver) registry->erase(it);
  }
};

absl::StatusOr<std::unique_ptr<GrpcListenerSecurity>> GrpcListenerSecurity::Create(
    GrpcListenerOptions options) {
  const security::ListenerSecurity& sec = options.security;
  const bool tls = security::UsesTls(sec.protocol);
  const std::string prefix =
      absl::StrCat("listener.name.", absl::AsciiStrToLower(options.name), ".");
  absl::StatusOr<security::SslPrincipalMapper> mapper =
      security::SslPrincipalMapper::Parse(tls ? sec.tls.principal_mapping_rules : "DEFAULT");
  if (!mapper.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "ssl.principal.mapping.rules: ", mapper.status().message()));
  }
  if (security::UsesSasl(sec.protocol) && !options.resolve_token) {
    return absl::InvalidArgumentError(
        absl::StrCat("listener ", options.name, ": SASL needs a session token resolver"));
  }
  if (options.allowed_principals.has_value()) {
    if (options.allowed_principals->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "strata.controller.allowed.principals (or super.users) must name the nodes' principals "
          "when listener ",
          options.name, " uses ", security::ProtocolName(sec.protocol)));
    }
    if (tls && sec.tls.client_auth == ClientAuth::kNone && !security::UsesSasl(sec.protocol) &&
        !options.allowed_principals->contains(kAnonymous)) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "ssl.client.auth=none: listener ", options.name,
          " would see every caller as User:ANONYMOUS, which "
          "strata.controller.allowed.principals does not allow; use ssl.client.auth=required"));
    }
  }
  auto impl = std::make_unique<Impl>();
  if (tls) {
    // OpenSSL reads the files first, for errors that name the key and the
    // file; gRPC would only log its own at every handshake.
    absl::StatusOr<std::unique_ptr<security::TlsContext>> check =
        security::TlsContext::Create(sec.tls);
    if (!check.ok()) {
      return absl::Status(check.status().code(),
                          absl::StrCat("listener ", options.name, ": ", check.status().message()));
    }
    absl::StatusOr<std::unique_ptr<KeystoreFiles>> files =
        KeystoreFiles::Open(options.name, sec.tls, options.work_dir);
    if (!files.ok()) {
      return absl::Status(files.status().code(),
                          absl::StrCat("listener ", options.name, ": ", files.status().message()));
    }
    impl->keystore = *std::move(files);
    const std::string& keystore = impl->keystore->path();
    impl->server_provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        keystore, keystore, sec.tls.truststore_location, kTlsRefreshSeconds);
    impl->client_provider = impl->server_provider;
  }
  LOG(INFO) << "gRPC listener " << options.name << ": " << security::ProtocolName(sec.protocol)
            << (tls ? absl::StrCat(", client certificates ",
                                   sec.tls.client_auth == ClientAuth::kRequired    ? "required"
                                   : sec.tls.client_auth == ClientAuth::kRequested ? "requested"
                                                                                   : "not asked")
                    : "")
            << (options.allowed_principals
                    ? absl::StrCat(", callers limited to ", options.allowed_principals->size(),
                                   " principals")
                    : "");
  impl->resolver = std::make_shared<const CallerResolver>(std::move(options), *std::move(mapper));
  {
    absl::MutexLock l(&registry_mu);
    if (registry == nullptr)
      registry = new std::map<std::string, std::shared_ptr<const CallerResolver>>();
    (*registry)[impl->resolver->options().name] = impl->resolver;
  }
  return std::unique_ptr<GrpcListenerSecurity>(new GrpcListenerSecurity(std::move(impl)));
}

GrpcListenerSecurity::GrpcListenerSecurity(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcListenerSecurity::~GrpcListenerSecurity() = default;

const GrpcListenerOptions& GrpcListenerSecurity::options() const {
  return impl_->resolver->options();
}

std::shared_ptr<grpc::ServerCredentials> GrpcListenerSecurity::server_credentials() const {
  const security::ListenerSecurity& sec = options().security;
  if (!security::UsesTls(sec.protocol)) {
    if (!security::UsesSasl(sec.protocol) && !options().allowed_principals.has_value()) {
      return grpc::InsecureServerCredentials();
    }
    return std::make_shared<GatedInsecureServerCredentials>(impl_->resolver);
  }
  grpc::experimental::TlsServerCredentialsOptions o(impl_->server_provider);
  o.watch_identity_key_cert_pairs();
  if (!sec.tls.truststore_location.empty()) o.watch_root_certs();
  switch (sec.tls.client_auth) {
    case ClientAuth::kRequired:
      o.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientAuth::kRequested:
      o.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientAuth::kNone:
      o.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      break;
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::experimental::TlsServerCredentials(o);
  creds->SetAuthMetadataProcessor(std::make_shared<TlsGate>(impl_->resolver));
  return creds;
}

std::shared_ptr<grpc::ChannelCredentials> GrpcListenerSecurity::peer_channel_credentials() const {
  const security::ListenerSecurity& sec = options().security;
  if (!security::UsesTls(sec.protocol)) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions o;
  o.set_certificate_provider(impl_->client_provider);
  o.watch_identity_key_cert_pairs();
  // Without a truststore, the system's roots.
  if (!sec.tls.truststore_location.empty()) o.watch_root_certs();
  return grpc::experimental::TlsCredentials(o);
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A kClientIdMetadataKey value decoded: "%XX" is the byte XX; a '%' not
// followed by two hex digits stands for itself.
std::string DecodeClientId(std::string_view value) {
  if (value.find('%') == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size()) {
      const int hi = HexValue(value[i + 1]);
      const int lo = HexValue(value[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(value[i]);
  }
  return out;
}

}  // namespace

security::Session GrpcSession(const grpc::ServerContextBase* ctx, const std::string& listener) {
  security::Session session;
  session.listener = listener;
  session.host = PeerHost(ctx->peer());
  // On every listener, before any return: plaintext ones too have quotas.
  // Not bounded here: gRPC's metadata size limit (8 KiB by default) is.
  {
    const auto& md = ctx->client_metadata();
    if (auto it = md.find(kClientIdMetadataKey); it != md.end()) {
      session.client_id = DecodeClientId(View(it->second));
    }
  }
  std::shared_ptr<const CallerResolver> resolver = Registered(listener);
  if (resolver == nullptr) return session;
  // The gate let the call in, so what it found is still there to find; an
  // inconsistency (a token that expired since) falls back to ANONYMOUS.
  const security::ListenerSecurity& sec = resolver->options().security;
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  std::optional<std::string> cert_principal;
  if (auth != nullptr) {
    std::vector<grpc::string_ref> subjects =
        auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (!subjects.empty()) {
      absl::StatusOr<std::string> p = resolver->CertificatePrincipal(View(subjects.front()));
      if (p.ok()) cert_principal = *std::move(p);
    }
  }
  if (security::UsesSasl(sec.protocol)) {
    const auto& md = ctx->client_metadata();
    auto it = md.find(kSaslTokenMetadataKey);
    if (it != md.end()) {
      if (std::optional<std::string> p = resolver->TokenPrincipal(View(it->second))) {
        session.principal = ParsePrincipal(*p);
      }
      return session;
    }
    // A node's certificate stands in for a token on SASL_SSL.
    if (cert_principal && resolver->options().node_principals.contains(*cert_principal)) {
      session.principal = ParsePrincipal(*cert_principal);
    }
    return session;
  }
  if (cert_principal) session.principal = ParsePrincipal(*cert_principal);
  return session;
}

std::string PeerHost(std::string_view peer) {
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.starts_with("ipv6:")) {
    peer.remove_prefix(5);
    // "[::1]:5000", URL-encoded brackets "%5B::1%5D:5000" in some versions.
    if (peer.starts_with("[")) return std::string(peer.substr(1, peer.find(']') - 1));
    if (peer.starts_with("%5B")) return std::string(peer.substr(3, peer.find("%5D") - 3));
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  return "";
}

void SetClientListenerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  absl::MutexLock l(&client_listener_mu);
  if (client_listener_credentials == nullptr) {
    client_listener_credentials = new std::shared_ptr<grpc::ChannelCredentials>();
  }
  *client_listener_credentials = std::move(credentials);
}

std::shared_ptr<grpc::Channel> ClientListenerChannel(const std::string& address) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  {
    absl::MutexLock l(&client_listener_mu);
    if (client_listener_credentials != nullptr) creds = *client_listener_credentials;
  }
  if (creds == nullptr) creds = grpc::InsecureChannelCredentials();
  return raft::PeerChannel(address, std::move(creds));
}

}  // namespace strata::server
