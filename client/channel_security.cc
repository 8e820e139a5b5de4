#include "client/channel_security.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/security/sasl.h"
#include "client/security/scram.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/client_interceptor.h"
#include "strata/v1/security.grpc.pb.h"

namespace strata::client {
namespace {

// The call metadata key the listener's gate reads (security.proto).
constexpr char kTokenKey[] = "strata-sasl-token";
// What the gate says of a token it does not know (a restarted node).
constexpr char kStaleTokenText[] = "unknown or expired";
// The call metadata key naming the client (security.proto).
constexpr char kClientIdKey[] = "strata-client-id";

// `client_id` as a text metadata value: printable ASCII but '%' as is, any
// other byte as "%XX" (the node decodes it).
std::string ClientIdMetadataValue(const std::string& client_id) {
  std::string out;
  out.reserve(client_id.size());
  for (const char ch : client_id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(ch);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
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

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::string> ReadFile(const char* key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(key, " ", path, ": cannot read it"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The certificates in `pem`, re-encoded; InvalidArgument when there is none.
absl::StatusOr<std::string> Certificates(const char* key, const std::string& path,
                                         const std::string& pem) {
  ERR_clear_error();
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  BioPtr out(BIO_new(BIO_s_mem()));
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
    PEM_write_bio_X509(out.get(), cert);
    X509_free(cert);
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", path, ": no PEM certificate"));
  }
  return BioText(out.get());
}

int PasswordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const std::string* password = static_cast<const std::string*>(userdata);
  const int n = static_cast<int>(std::min<size_t>(password->size(), static_cast<size_t>(size)));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

// The keystore's private key, decrypted with `password` when it is
// encrypted, as unencrypted PEM.
absl::StatusOr<std::string> PrivateKey(const std::string& path, const std::string& pem,
                                       std::string password) {
  ERR_clear_error();
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in.get(), nullptr, PasswordCallback, &password);
  OPENSSL_cleanse(password.data(), password.size());
  if (key == nullptr) {
    const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
    return absl::InvalidArgumentError(
        encrypted ? absl::StrCat("ssl.key.password: cannot decrypt the private key in "
                                 "ssl.keystore.location ",
                                 path, " (wrong password?): ", OpenSslErrors())
                  : absl::StrCat("ssl.keystore.location ", path,
                                 ": no private key (PEM: the certificate chain, then the key): ",
                                 OpenSslErrors()));
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  const bool written =
      PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  EVP_PKEY_free(key);
  if (!written) return absl::InternalError("writing the private key: " + OpenSslErrors());
  return BioText(out.get());
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentialsFor(
    const SecurityConfig& c) {
  std::string roots;
  if (!c.truststore_location.empty()) {
    absl::StatusOr<std::string> pem = ReadFile("ssl.truststore.location", c.truststore_location);
    if (!pem.ok()) return pem.status();
    absl::StatusOr<std::string> certs =
        Certificates("ssl.truststore.location", c.truststore_location, *pem);
    if (!certs.ok()) return certs.status();
    roots = *std::move(certs);
  }
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (!c.keystore_location.empty()) {
    absl::StatusOr<std::string> pem = ReadFile("ssl.keystore.location", c.keystore_location);
    if (!pem.ok()) return pem.status();
    absl::StatusOr<std::string> chain =
        Certificates("ssl.keystore.location", c.keystore_location, *pem);
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> key = PrivateKey(c.keystore_location, *pem, c.key_password);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!key.ok()) return key.status();
    identity.push_back({*std::move(key), *std::move(chain)});
  }
  grpc::experimental::TlsChannelCredentialsOptions o;
  if (!roots.empty() || !identity.empty()) {
    o.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(roots, identity));
    // Without a truststore, gRPC's default roots (the system's).
    if (!roots.empty()) o.watch_root_certs();
    if (!identity.empty()) o.watch_identity_key_cert_pairs();
  }
  if (!c.verify_hostname) {
    o.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    o.set_check_call_host(false);
  }
  return grpc::experimental::TlsCredentials(o);
}

// One node's SASL session: the token calls carry, renewed before it runs
// out. Thread-safe; one exchange at a time.
class SaslLogin {
 public:
  SaslLogin(std::string target, const SecurityConfig& config,
            std::shared_ptr<grpc::Channel> channel)
      : target_(std::move(target)),
        mechanism_(config.sasl_mechanism),
        username_(config.sasl_username),
        password_(config.sasl_password),
        stub_(v1::Sasl::NewStub(std::move(channel))) {}

  // A live token, authenticating first when there is none (or it is due
  // for renewal and no other thread is renewing it). `deadline`: the
  // calling RPC's.
  absl::StatusOr<std::string> Token(absl::Time deadline) {
    absl::MutexLock l(&mu_);
    while (true) {
      const absl::Time now = absl::Now();
      const bool live = !token_.empty() && now < expires_;
      if (live && (now < renew_at_ || renewing_)) return token_;
      if (!renewing_) break;
      // Someone else authenticates and there is no live token: wait.
      if (mu_.AwaitWithDeadline(absl::Condition(
                                    +[](bool* r) { return !*r; }, &renewing_),
                                deadline)) {
        continue;
      }
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting for SASL authentication with ", target_));
    }
    if (!last_failure_.ok() && absl::Now() < retry_after_) {
      if (!token_.empty() && absl::Now() < expires_) return token_;
      return last_failure_;
    }
    renewing_ = true;
    mu_.Unlock();
    absl::StatusOr<Session> session = Authenticate(deadline);
    mu_.Lock();
    renewing_ = false;
    const absl::Time now = absl::Now();
    if (!session.ok()) {
      last_failure_ = session.status();
      // Not again at once: a wrong password stays wrong.
      retry_after_ = now + absl::Seconds(1);
      if (!token_.empty() && now < expires_) return token_;
      return session.status();
    }
    last_failure_ = absl::OkStatus();
    token_ = std::move(session->token);
    const absl::Duration lifetime = absl::Milliseconds(std::max<int64_t>(session->lifetime_ms, 0));
    expires_ = now + lifetime;
    renew_at_ = now + lifetime * 0.8;
    return token_;
  }

  // The node refused `token` (it restarted, or expired it): forget it.
  void Forget(const std::string& token) {
    absl::MutexLock l(&mu_);
    if (token_ == token) token_.clear();
  }

 private:
  struct Session {
    std::string token;
    int64_t lifetime_ms = 0;
  };

  absl::StatusOr<v1::SaslAuthenticateResponse> Step(const v1::SaslAuthenticateRequest& request,
                                                    absl::Time deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Seconds(15))));
    v1::SaslAuthenticateResponse response;
    grpc::Status s = stub_->Authenticate(&ctx, request, &response);
    if (!s.ok()) {
      // As the client's own calls fail: a node not reached is UNAVAILABLE.
      return absl::Status(
          static_cast<absl::StatusCode>(s.error_code()),
          absl::StrCat("SASL authentication with ", target_, ": ", s.error_message()));
    }
    if (response.error_code() != v1::NONE) {
      return absl::UnauthenticatedError(absl::StrCat("SASL authentication with ", target_,
                                                     " failed: ", response.error_message()));
    }
    return response;
  }

  absl::StatusOr<Session> Authenticate(absl::Time deadline) {
    v1::SaslAuthenticateRequest request;
    request.set_mechanism(mechanism_);
    if (mechanism_ == "PLAIN") {
      request.set_auth_bytes(security::MakePlainMessage(username_, password_));
      absl::StatusOr<v1::SaslAuthenticateResponse> done = Step(request, deadline);
      if (!done.ok()) return done.status();
      return Session{done->token(), done->session_lifetime_ms()};
    }
    security::ScramClient client(*security::ParseScramMechanism(mechanism_), username_, password_);
    request.set_auth_bytes(client.FirstMessage());
    absl::StatusOr<v1::SaslAuthenticateResponse> first = Step(request, deadline);
    if (!first.ok()) return first.status();
    absl::StatusOr<std::string> final_message = client.FinalMessage(first->auth_bytes());
    if (!final_message.ok()) {
      return absl::UnauthenticatedError(absl::StrCat("SASL authentication with ", target_, ": ",
                                                     final_message.status().message()));
    }
    request.set_auth_bytes(*std::move(final_message));
    request.set_session_id(first->session_id());
    absl::StatusOr<v1::SaslAuthenticateResponse> second = Step(request, deadline);
    if (!second.ok()) return second.status();
    // The node must prove it holds the credential before the token is used.
    if (absl::Status v = client.VerifyServerFinal(second->auth_bytes()); !v.ok()) {
      return absl::UnauthenticatedError(
          absl::StrCat("SASL authentication with ", target_, ": ", v.message()));
    }
    return Session{second->token(), second->session_lifetime_ms()};
  }

  const std::string target_;
  const std::string mechanism_;
  const std::string username_;
  const std::string password_;
  const std::unique_ptr<v1::Sasl::Stub> stub_;

  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool renewing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Puts the session token on a call, and turns the node's refusal of a
// stale token into a retriable failure.
class SaslTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  SaslTokenInterceptor(std::shared_ptr<SaslLogin> login, grpc::experimental::ClientRpcInfo* info)
      : login_(std::move(login)), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      absl::Time deadline = absl::Now() + absl::Seconds(30);
      if (info_->client_context() != nullptr) {
        const auto d = info_->client_context()->deadline();
        if (d != std::chrono::system_clock::time_point::max()) deadline = absl::FromChrono(d);
      }
      absl::StatusOr<std::string> token = login_->Token(deadline);
      if (token.ok()) {
        token_ = *token;
        methods->GetSendInitialMetadata()->emplace(kTokenKey, *std::move(token));
      } else {
        failure_ = token.status();
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      grpc::Status* status = methods->GetRecvStatus();
      if (status->error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        if (!failure_.ok()) {
          // Why there was no token: the node's answer or the network's.
          *status = grpc::Status(failure_.code() == absl::StatusCode::kUnauthenticated
                                     ? grpc::StatusCode::UNAUTHENTICATED
                                     : grpc::StatusCode::UNAVAILABLE,
                                 std::string(failure_.message()));
        } else if (status->error_message().find(kStaleTokenText) != std::string::npos) {
          login_->Forget(token_);
          *status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "the SASL session ended at the node (restarted?); the next "
                                 "call authenticates again: " +
                                     status->error_message());
        }
      }
    }
    methods->Proceed();
  }

 private:
  const std::shared_ptr<SaslLogin> login_;
  grpc::experimental::ClientRpcInfo* const info_;
  std::string token_;
  absl::Status failure_;
};

class SaslTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit SaslTokenInterceptorFactory(std::shared_ptr<SaslLogin> login)
      : login_(std::move(login)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new SaslTokenInterceptor(login_, info);
  }

 private:
  const std::shared_ptr<SaslLogin> login_;
};

// Puts the client id on a call. The value lives in the factory, which the
// channel owns and so outlives every call on it.
class ClientIdInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ClientIdInterceptor(const std::string& value) : value_(value) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kClientIdKey, value_);
    }
    methods->Proceed();
  }

 private:
  const std::string& value_;
};

class ClientIdInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientIdInterceptorFactory(std::string value) : value_(std::move(value)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new ClientIdInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const ChannelSecurity>> ChannelSecurity::Create(
    SecurityConfig config, const std::string& client_id) {
  std::shared_ptr<grpc::ChannelCredentials> transport = grpc::InsecureChannelCredentials();
  if (config.uses_tls()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> tls = TlsCredentialsFor(config);
    if (!tls.ok()) return tls.status();
    transport = *std::move(tls);
  }
  if (config.uses_sasl() && !security::ParseScramMechanism(config.sasl_mechanism) &&
      config.sasl_mechanism != "PLAIN") {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid value ", config.sasl_mechanism, " for configuration sasl.mechanism"));
  }
  return std::shared_ptr<const ChannelSecurity>(new ChannelSecurity(
      std::move(config), std::move(transport), ClientIdMetadataValue(client_id)));
}

std::shared_ptr<grpc::Channel> ChannelSecurity::MakeChannel(
    const std::string& target, const grpc::ChannelArguments& args) const {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!client_id_value_.empty()) {
    factories.push_back(std::make_unique<ClientIdInterceptorFactory>(client_id_value_));
  }
  if (config_.uses_sasl()) {
    // The login's own channel: the same transport, no token.
    auto login = std::make_shared<SaslLogin>(target, config_,
                                             grpc::CreateCustomChannel(target, transport_, args));
    factories.push_back(std::make_unique<SaslTokenInterceptorFactory>(std::move(login)));
  }
  if (factories.empty()) return grpc::CreateCustomChannel(target, transport_, args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, transport_, args,
                                                                 std::move(factories));
}

}  // namespace strata::client
