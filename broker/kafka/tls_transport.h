// TlsTransport: one accepted socket's TLS session (OpenSSL, non-blocking),
// shaped like read(2) and send(2) so that the listener's byte loop is the
// same for TLS and plaintext connections (one branch per call, no virtual
// call, no extra copy on the plaintext side).
//
//   handshake:  Handshake() until kDone (kWantRead / kWantWrite: wait for the
//               socket to be readable / writable; kFailed: close, error()).
//   open:       Read() / Write() like ::read / ::send: > 0 bytes, 0 the peer
//               closed (close_notify or EOF), -1 with errno EAGAIN when
//               nothing can move now, or another errno (EPROTO for a TLS
//               failure, error() says which) meaning close.
//
// Level-triggered epoll and OpenSSL's buffering: OpenSSL reads one record
// at a time, so decrypted bytes may wait inside it with nothing left on the
// socket (pending()): the caller must read again without waiting for the
// socket. A read may need the socket writable (read_wants_write(), e.g. a
// TLS 1.3 key update to answer) and a write readable (write_wants_read()).
//
// Bytes go through our own socket BIO, which sends with MSG_NOSIGNAL: a
// peer that reset the connection is an error, never a SIGPIPE.
//
// Not thread-safe: the connection's event loop owns it. It does not close
// the socket.
#pragma once

#include <openssl/types.h>
#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace strata::kafka {

class TlsTransport {
 public:
  // A server-side session on `fd` from `ctx` (the listener's current one).
  static absl::StatusOr<std::unique_ptr<TlsTransport>> Accept(SSL_CTX* ctx, int fd);
  ~TlsTransport();
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  enum class Progress { kDone, kWantRead, kWantWrite, kFailed };
  Progress Handshake();
  bool established() const { return established_; }

  ssize_t Read(char* buf, size_t n);
  ssize_t Write(const char* buf, size_t n);

  // Decrypted bytes held inside OpenSSL (readable with nothing on the socket).
  bool pending() const;
  bool read_wants_write() const { return read_wants_write_; }
  bool write_wants_read() const { return write_wants_read_; }

  // Sends close_notify if it can without waiting (a courtesy before close).
  void Shutdown();

  // Why the last call failed (OpenSSL's reasons), or "".
  const std::string& error() const { return error_; }
  // Whether any byte came from the peer before the handshake failed (a
  // client that connects and hangs up sends none: not worth a warning).
  bool received_bytes() const;

  SSL* ssl() const { return ssl_; }

 private:
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  // Maps SSL_get_error for a call that returned `ret` to read/send's
  // convention; `is_write` says which wants-flag to set.
  ssize_t Failed(int ret, bool is_write);

  SSL* ssl_;
  bool established_ = false;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  bool fatal_ = false;
  std::string error_;
};

}  // namespace strata::kafka
