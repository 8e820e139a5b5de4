// A blocking loopback Kafka-protocol client for tests: request frames built
// with the codec, responses read whole, and whether the server closed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "gtest/gtest.h"

namespace strata::kafka::testing {

inline std::string Prefixed(const std::string& body) {
  const uint32_t size = body.size();
  std::string out(4, '\0');
  out[0] = static_cast<char>(size >> 24);
  out[1] = static_cast<char>(size >> 16);
  out[2] = static_cast<char>(size >> 8);
  out[3] = static_cast<char>(size);
  return out + body;
}

// A request frame without its size prefix (what the dispatcher takes): the
// header at `header_version` (-1: the one `M` calls for at `version`), then
// `body` encoded at `version`.
template <typename M>
std::string RequestFrame(int16_t version, int32_t correlation_id, const M& body,
                         int16_t header_version = -1, const std::string& client_id = "test") {
  std::string out;
  Writer w(&out);
  RequestHeader h;
  h.api_key = M::kApiKey;
  h.api_version = version;
  h.correlation_id = correlation_id;
  h.client_id = client_id;
  EXPECT_TRUE(
      WriteRequestHeader(
          h, header_version >= 0 ? header_version : RequestHeaderVersion(M::kApiKey, version), w)
          .ok());
  EXPECT_TRUE(Encode(version, body, &out).ok());
  return out;
}

// A request frame, size prefix included, with its header at
// `header_version` (what a hostile test may set apart from the message's).
template <typename M>
std::string Request(int16_t key, int16_t version, int32_t correlation_id, const M& body,
                    int16_t header_version = 1) {
  std::string frame =
      RequestFrame(version, correlation_id, body, header_version, "kafka-listener-test");
  // The key as given (a test may name a key the message does not have).
  frame[0] = static_cast<char>(static_cast<uint16_t>(key) >> 8);
  frame[1] = static_cast<char>(key);
  return Prefixed(frame);
}

// A blocking loopback client with a receive timeout.
class Client {
 public:
  explicit Client(int port, int timeout_s = 10) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = timeout_s, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  bool connected() const { return connected_; }
  // Stops sending (a half-close); answers can still be read.
  void ShutdownWrite() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }
  // Resets the connection (RST, not FIN: a FIN would wait behind bytes the
  // server has not read); a send blocked in another thread returns.
  void Abort() {
    if (fd_ < 0) return;
    linger l{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::shutdown(fd_, SHUT_RDWR);
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += n;
    }
    return true;
  }
  // One response frame (without its size prefix); nullopt when the
  // connection closed or timed out.
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
  // Whether the server closed the connection (EOF or reset) within the
  // receive timeout, reading nothing.
  bool ClosedByServer() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool ReadExactly(size_t n, std::string* out) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out->data() + got, n - got, 0);
      if (r <= 0) return false;
      got += r;
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace strata::kafka::testing
