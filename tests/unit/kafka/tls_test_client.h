// A blocking loopback TLS client for listener tests, with the plain test
// client's interface (Send, ReadFrame, ClosedByServer), and the SASL
// exchanges both clients can run.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "client/security/sasl.h"
#include "client/security/scram.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka::testing {

class TlsClient {
 public:
  // `rcvbuf` > 0 sets SO_RCVBUF before connecting (a client slow to drain).
  TlsClient(int port, SSL_CTX* ctx, int timeout_s = 5, int rcvbuf = -1) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = timeout_s, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    ERR_clear_error();
    connected_ = SSL_connect(ssl_) == 1;
    if (!connected_) {
      char buf[256];
      while (unsigned long e = ERR_get_error()) error_ += ERR_error_string(e, buf);
    }
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsClient(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  SSL* ssl() const { return ssl_; }

  bool Send(const std::string& bytes) {
    if (!connected_) return false;
    size_t sent = 0;
    while (sent < bytes.size()) {
      size_t n = 0;
      if (SSL_write_ex(ssl_, bytes.data() + sent, bytes.size() - sent, &n) != 1) return false;
      sent += n;
    }
    return true;
  }
  std::optional<std::string> ReadFrame() {
    std::string prefix;
    if (!ReadExactly(4, &prefix)) return std::nullopt;
    const uint32_t size = (uint32_t{static_cast<uint8_t>(prefix[0])} << 24) |
                          (uint32_t{static_cast<uint8_t>(prefix[1])} << 16) |
                          (uint32_t{static_cast<uint8_t>(prefix[2])} << 8) |
                          uint32_t{static_cast<uint8_t>(prefix[3])};
    std::string body;
    if (!ReadExactly(size, &body)) return std::nullopt;
    return body;
  }
  // Whether the server closed (close_notify, EOF, reset or a TLS alert)
  // within the timeout, reading nothing.
  bool ClosedByServer() {
    if (!connected_) return true;
    char c;
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, &c, 1, &n) == 1) return false;
    const int err = SSL_get_error(ssl_, 0);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SSL) return true;
    return err == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK;
  }

 private:
  bool ReadExactly(size_t n, std::string* out) {
    if (!connected_) return false;
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      size_t r = 0;
      if (SSL_read_ex(ssl_, out->data() + got, n - got, &r) != 1) {
        ERR_clear_error();
        return false;
      }
      got += r;
    }
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string error_;
};

// The response body of `M` at `version` in `frame` (without the size
// prefix), or nullopt when it does not decode or is not for
// `correlation_id`.
template <typename M>
std::optional<M> ParseResponse(const std::optional<std::string>& frame, int16_t version,
                               int32_t correlation_id) {
  if (!frame) return std::nullopt;
  Reader r(*frame);
  absl::StatusOr<int32_t> correlation =
      ReadResponseHeader(r, ResponseHeaderVersion(M::kApiKey, version));
  if (!correlation.ok() || *correlation != correlation_id) return std::nullopt;
  absl::StatusOr<M> m = Decode<M>(version, std::string_view(*frame).substr(r.position()));
  if (!m.ok()) return std::nullopt;
  return *m;
}

template <typename M>
std::string RequestBytes(int16_t version, int32_t correlation_id, const M& body) {
  return Prefixed(RequestFrame(version, correlation_id, body));
}

// SaslHandshake v1 for `mechanism`; the answer's error code (-1: none came).
template <typename C>
int16_t SaslHandshake(C& c, const std::string& mechanism, int32_t correlation_id = 1) {
  SaslHandshakeRequest r;
  r.mechanism = mechanism;
  if (!c.Send(RequestBytes(1, correlation_id, r))) return -1;
  std::optional<SaslHandshakeResponse> answer =
      ParseResponse<SaslHandshakeResponse>(c.ReadFrame(), 1, correlation_id);
  return answer ? answer->error_code : -1;
}

template <typename C>
std::optional<SaslAuthenticateResponse> SaslAuthenticate(C& c, const std::string& bytes,
                                                         int32_t correlation_id = 2) {
  SaslAuthenticateRequest r;
  r.auth_bytes = bytes;
  if (!c.Send(RequestBytes(2, correlation_id, r))) return std::nullopt;
  return ParseResponse<SaslAuthenticateResponse>(c.ReadFrame(), 2, correlation_id);
}

// A PLAIN login (SaslHandshake v1, SaslAuthenticate v2); the answer.
template <typename C>
std::optional<SaslAuthenticateResponse> PlainLogin(C& c, const std::string& user,
                                                   const std::string& password) {
  if (SaslHandshake(c, "PLAIN") != 0) return std::nullopt;
  return SaslAuthenticate(c, security::MakePlainMessage(user, password));
}

// A SCRAM login; whether it succeeded (the server proved itself too).
template <typename C>
bool ScramLogin(C& c, security::ScramMechanism m, const std::string& user,
                const std::string& password) {
  if (SaslHandshake(c, security::ScramMechanismName(m)) != 0) return false;
  security::ScramClient client(m, user, password);
  std::optional<SaslAuthenticateResponse> first = SaslAuthenticate(c, client.FirstMessage(), 2);
  if (!first || first->error_code != 0) return false;
  absl::StatusOr<std::string> final_message = client.FinalMessage(first->auth_bytes);
  if (!final_message.ok()) return false;
  std::optional<SaslAuthenticateResponse> last = SaslAuthenticate(c, *final_message, 3);
  return last && last->error_code == 0 && client.VerifyServerFinal(last->auth_bytes).ok();
}

// Whether ApiVersions v2 is answered.
template <typename C>
bool AnswersApiVersions(C& c, int32_t correlation_id) {
  if (!c.Send(RequestBytes(2, correlation_id, ApiVersionsRequest{}))) return false;
  std::optional<ApiVersionsResponse> r =
      ParseResponse<ApiVersionsResponse>(c.ReadFrame(), 2, correlation_id);
  return r.has_value() && r->error_code == 0;
}

}  // namespace strata::kafka::testing
