#include "broker/kafka/tls_transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace strata::kafka {

namespace {

// Our socket BIO's state: the descriptor and how many bytes came in.
struct SocketState {
  int fd = -1;
  size_t bytes_in = 0;
};

bool Transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int SocketWrite(BIO* bio, const char* data, int size) {
  auto* s = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(s->fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && Transient(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SocketRead(BIO* bio, char* data, int size) {
  auto* s = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(s->fd, data, static_cast<size_t>(size), 0);
  if (n < 0 && Transient(errno)) BIO_set_retry_read(bio);
  if (n > 0) s->bytes_in += static_cast<size_t>(n);
  return static_cast<int>(n);
}

long SocketCtrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int SocketCreate(BIO* bio) {
  BIO_set_data(bio, new SocketState);
  BIO_set_init(bio, 1);
  return 1;
}

int SocketDestroy(BIO* bio) {
  delete static_cast<SocketState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

const BIO_METHOD* SocketMethod() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "strata-socket");
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_ctrl(m, SocketCtrl);
    BIO_meth_set_create(m, SocketCreate);
    BIO_meth_set_destroy(m, SocketDestroy);
    return m;
  }();
  return method;
}

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

}  // namespace

absl::StatusOr<std::unique_ptr<TlsTransport>> TlsTransport::Accept(SSL_CTX* ctx, int fd) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return absl::InternalError(absl::StrCat("SSL_new: ", DrainErrors()));
  BIO* bio = BIO_new(SocketMethod());
  if (bio == nullptr) {
    SSL_free(ssl);
    return absl::InternalError(absl::StrCat("BIO_new: ", DrainErrors()));
  }
  static_cast<SocketState*>(BIO_get_data(bio))->fd = fd;
  SSL_set_bio(ssl, bio, bio);
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsTransport>(new TlsTransport(ssl));
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

bool TlsTransport::received_bytes() const {
  return static_cast<SocketState*>(BIO_get_data(SSL_get_rbio(ssl_)))->bytes_in > 0;
}

TlsTransport::Progress TlsTransport::Handshake() {
  if (established_) return Progress::kDone;
  if (fatal_) return Progress::kFailed;
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    return Progress::kDone;
  }
  const int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ) return Progress::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Progress::kWantWrite;
  fatal_ = true;
  const int saved = errno;
  error_ = DrainErrors();
  if (error_.empty()) {
    error_ = err == SSL_ERROR_SYSCALL && saved != 0 ? strerror(saved)
             : err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL
                 ? "the client closed the connection"
                 : absl::StrCat("SSL error ", err);
  }
  return Progress::kFailed;
}

ssize_t TlsTransport::Failed(int ret, bool is_write) {
  const int saved = errno;
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      if (is_write) write_wants_read_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      if (!is_write) read_wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      return 0;
    case SSL_ERROR_SYSCALL:
      fatal_ = true;
      error_ = DrainErrors();
      if (saved == 0) return 0;  // EOF without close_notify
      errno = saved;
      return -1;
    default:
      fatal_ = true;
      error_ = DrainErrors();
      errno = EPROTO;
      return -1;
  }
}

ssize_t TlsTransport::Read(char* buf, size_t n) {
  if (fatal_) {
    errno = EPROTO;
    return -1;
  }
  read_wants_write_ = false;
  ERR_clear_error();
  size_t got = 0;
  const int ret = SSL_read_ex(ssl_, buf, n, &got);
  if (ret == 1) return static_cast<ssize_t>(got);
  return Failed(ret, /*is_write=*/false);
}

ssize_t TlsTransport::Write(const char* buf, size_t n) {
  if (fatal_) {
    errno = EPROTO;
    return -1;
  }
  write_wants_read_ = false;
  ERR_clear_error();
  size_t written = 0;
  const int ret = SSL_write_ex(ssl_, buf, n, &written);
  if (ret == 1) return static_cast<ssize_t>(written);
  return Failed(ret, /*is_write=*/true);
}

bool TlsTransport::pending() const { return established_ && SSL_pending(ssl_) > 0; }

void TlsTransport::Shutdown() {
  if (!established_ || fatal_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace strata::kafka
