#include "broker/server/http_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "broker/kafka/listen_socket.h"
#include "broker/kafka/tls_transport.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

using Clock = std::chrono::steady_clock;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

int MsLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const int ms = MsLeft(deadline);
    if (ms == 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// One connection's bytes, plain or through TLS, with a deadline.
class Stream {
 public:
  Stream(int fd, kafka::TlsTransport* tls) : fd_(fd), tls_(tls) {}

  // Bytes read (> 0), 0 at the end of the stream, -1 on an error or the
  // deadline.
  ssize_t Read(char* buf, size_t n, Clock::time_point deadline) {
    while (true) {
      const ssize_t got = tls_ != nullptr ? tls_->Read(buf, n) : ::recv(fd_, buf, n, 0);
      if (got >= 0) return got;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      const short want = tls_ != nullptr && tls_->read_wants_write() ? POLLOUT : POLLIN;
      if (!WaitFor(fd_, want, deadline)) return -1;
    }
  }

  bool WriteAll(const char* data, size_t n, Clock::time_point deadline) {
    while (n > 0) {
      const ssize_t sent =
          tls_ != nullptr ? tls_->Write(data, n) : ::send(fd_, data, n, MSG_NOSIGNAL);
      if (sent > 0) {
        data += sent;
        n -= static_cast<size_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
      const short want = tls_ != nullptr && tls_->write_wants_read() ? POLLIN : POLLOUT;
      if (!WaitFor(fd_, want, deadline)) return false;
    }
    return true;
  }

 private:
  const int fd_;
  kafka::TlsTransport* const tls_;
};

// %XX decoding of a path; nullopt for a bad escape or a NUL.
std::optional<std::string> DecodePath(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int v = 0;
      if (i + 2 >= in.size()) return std::nullopt;
      for (int k = 1; k <= 2; ++k) {
        const char h = in[i + static_cast<size_t>(k)];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= h - '0';
        else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
        else return std::nullopt;
      }
      c = static_cast<char>(v);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

}  // namespace

HttpResponse HttpResponse::Text(int status, std::string body) {
  return HttpResponse{.status = status,
                      .content_type = "text/plain; charset=utf-8",
                      .body = std::move(body),
                      .extra_headers = ""};
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  return HttpResponse{.status = status,
                      .content_type = "application/json",
                      .body = std::move(body),
                      .extra_headers = ""};
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    Options options, std::map<std::string, HttpHandler> routes) {
  std::unique_ptr<HttpListener> self(new HttpListener(std::move(options), std::move(routes)));
  absl::StatusOr<int> fd =
      kafka::BindListening(self->options_.name, self->options_.host, self->options_.port);
  if (!fd.ok()) return fd.status();
  self->listen_fd_ = *fd;
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(self->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  self->port_ = ntohs(bound.sin_port);
  self->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (self->wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  for (int i = 0; i < std::max(1, self->options_.num_threads); ++i) {
    self->workers_.emplace_back([s = self.get()] { s->WorkerLoop(); });
  }
  self->acceptor_ = std::thread([s = self.get()] { s->AcceptLoop(); });
  LOG(INFO) << "HTTP listener " << self->options_.name << " on " << self->options_.host << ":"
            << self->port_ << (self->options_.tls != nullptr ? " (TLS)" : "");
  return self;
}

HttpListener::~HttpListener() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    // Workers waiting on a slow client wake at once.
    for (int fd : in_service_) ::shutdown(fd, SHUT_RDWR);
  }
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
  ready_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& w : workers_) w.join();
  workers_.clear();
  for (const Accepted& a : queue_) ::close(a.fd);
  queue_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpListener::AcceptLoop() {
  pollfd polled[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(polled, 2, -1) < 0 && errno != EINTR) return;
    if (polled[1].revents != 0) return;
    if (polled[0].revents == 0) continue;
    while (true) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // Out of descriptors: the connection waits in the backlog.
          LOG_EVERY_T(WARNING, 10) << "HTTP listener cannot accept: " << strerror(errno);
          pollfd wake{wake_fd_, POLLIN, 0};
          if (::poll(&wake, 1, 100) > 0) return;
        }
        break;
      }
      char host[INET_ADDRSTRLEN] = "";
      ::inet_ntop(AF_INET, &peer.sin_addr, host, sizeof(host));
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      std::unique_lock<std::mutex> lock(mu_);
      if (static_cast<int>(queue_.size() + in_service_.size()) >= options_.max_connections) {
        lock.unlock();
        ::close(fd);  // full: the console is not worth the broker's memory
        LOG_EVERY_T(WARNING, 10) << "HTTP listener " << options_.name << " refuses connections "
                                 << "over " << options_.max_connections;
        continue;
      }
      queue_.push_back(Accepted{fd, host, Clock::now()});
      lock.unlock();
      ready_.notify_one();
    }
  }
}

void HttpListener::WorkerLoop() {
  while (true) {
    Accepted next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
      in_service_.insert(next.fd);
    }
    Serve(next.fd, next.peer_host, next.at);
    std::lock_guard<std::mutex> lock(mu_);
    in_service_.erase(next.fd);
    ::close(next.fd);  // under mu_: Stop never shuts down a reused descriptor
  }
}

void HttpListener::Serve(int fd, const std::string& peer_host, Clock::time_point accepted) {
  // From the accept: time spent waiting for a worker counts, so idle
  // connections cannot hold the workers for a timeout each in turn.
  const Clock::time_point deadline =
      accepted + std::chrono::milliseconds(options_.request_timeout_ms);
  std::unique_ptr<kafka::TlsTransport> tls;
  security::Principal principal = security::Principal::Anonymous();
  bool known_principal = true;
  if (options_.tls != nullptr) {
    std::shared_ptr<SSL_CTX> ctx = options_.tls->Current();
    absl::StatusOr<std::unique_ptr<kafka::TlsTransport>> t =
        kafka::TlsTransport::Accept(ctx.get(), fd);
    if (!t.ok()) return;
    tls = *std::move(t);
    while (true) {
      const kafka::TlsTransport::Progress p = tls->Handshake();
      if (p == kafka::TlsTransport::Progress::kDone) break;
      if (p == kafka::TlsTransport::Progress::kFailed) {
        VLOG(1) << "http: " << peer_host << ": TLS handshake failed: " << tls->error();
        return;
      }
      if (!WaitFor(fd, p == kafka::TlsTransport::Progress::kWantRead ? POLLIN : POLLOUT,
                   deadline)) {
        return;
      }
    }
    // A client certificate names the principal, mapped as on the other
    // listeners; one whose subject cannot be read or maps to nothing is
    // refused rather than let in as ANONYMOUS.
    absl::StatusOr<std::string> dn = security::PeerDistinguishedName(tls->ssl());
    if (dn.ok()) {
      if (options_.mapping == nullptr) {
        principal = security::Principal::User(*std::move(dn));
      } else if (absl::StatusOr<std::string> name = options_.mapping->Map(*dn); name.ok()) {
        principal = security::Principal::User(*std::move(name));
      } else {
        known_principal = false;
      }
    } else if (!absl::IsNotFound(dn.status())) {
      known_principal = false;
    }
  }
  Stream stream(fd, tls.get());

  // The request: the line and headers, up to max_header_bytes.
  std::string head;
  size_t end = std::string::npos;
  HttpResponse response;
  bool have_response = false;
  char buf[4096];
  while (end == std::string::npos) {
    if (head.size() > static_cast<size_t>(options_.max_header_bytes)) {
      response = HttpResponse::Text(431, "request headers too large\n");
      have_response = true;
      break;
    }
    const ssize_t n = stream.Read(buf, sizeof(buf), deadline);
    if (n <= 0) return;  // gone, broken or too slow: nothing to answer
    const size_t from = head.size() >= 3 ? head.size() - 3 : 0;
    head.append(buf, static_cast<size_t>(n));
    end = head.find("\r\n\r\n", from);
  }
  HttpRequest request;
  request.peer_host = peer_host;
  request.principal = principal.ToString();
  if (!have_response) {
    head.resize(end);
    std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
    std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
    bool body = false, bad = parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.") ||
                            parts[1].empty() || parts[1][0] != '/';
    for (size_t i = 1; i < lines.size() && !bad; ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos || colon == 0) {
        bad = true;
        break;
      }
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
      if (name == "transfer-encoding") body = true;
      if (name == "origin") request.origin = std::string(value);
      if (name == "content-length") {
        int64_t length = 0;
        if (!absl::SimpleAtoi(value, &length) || length < 0) bad = true;
        if (length > 0) body = true;
      }
    }
    std::optional<std::string> path;
    if (!bad) {
      request.method = std::string(parts[0]);
      const absl::string_view target = parts[1];
      const size_t q = target.find('?');
      path = DecodePath(target.substr(0, q));
      if (q != absl::string_view::npos) request.query = std::string(target.substr(q + 1));
    }
    if (bad || !path.has_value()) {
      response = HttpResponse::Text(400, "not an HTTP/1.x request\n");
    } else if (request.method != "GET" && request.method != "HEAD") {
      response = HttpResponse::Text(405, "only GET and HEAD\n");
    } else if (body) {
      response = HttpResponse::Text(400, "no request here takes a body\n");
    } else if (!known_principal) {
      response = HttpResponse::Text(403, "the client certificate maps to no principal\n");
    } else {
      request.path = *std::move(path);
      response = Answer(request, principal);
    }
  }
  const bool head_only = request.method == "HEAD";
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", Reason(response.status), "\r\n",
      "Content-Type: ", response.content_type, "\r\n",
      "Content-Length: ", response.body.size(), "\r\n",
      "Cache-Control: no-store\r\n",
      "X-Content-Type-Options: nosniff\r\n",
      response.status == 405 ? "Allow: GET, HEAD\r\n" : "", response.extra_headers,
      "Connection: close\r\n\r\n");
  if (!head_only) out += response.body;
  const Clock::time_point write_deadline =
      Clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
  if (stream.WriteAll(out.data(), out.size(), write_deadline) && tls != nullptr) tls->Shutdown();
}

HttpResponse HttpListener::Answer(const HttpRequest& request,
                                  const security::Principal& principal) const {
  if (options_.authorize &&
      !options_.authorize(security::Session{.principal = principal,
                                            .host = request.peer_host,
                                            .listener = options_.name,
                                            .client_id = ""})) {
    return HttpResponse::Text(
        403, absl::StrCat(request.principal, " is not allowed to describe the cluster\n"));
  }
  if (const HttpHandler* handler = Route(request.path)) {
    try {
      return (*handler)(request);
    } catch (const std::exception& e) {
      LOG(ERROR) << "http: " << request.path << ": " << e.what();
      return HttpResponse::Text(500, "internal error\n");
    }
  }
  return HttpResponse::Text(404, absl::StrCat("no such path: ", request.path, "\n"));
}

const HttpHandler* HttpListener::Route(const std::string& path) const {
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  // The longest route ending in '/' that the path is under ("/" is exact).
  const HttpHandler* best = nullptr;
  size_t best_length = 0;
  for (const auto& [route, handler] : routes_) {
    if (route.size() > 1 && route.back() == '/' && path.compare(0, route.size(), route) == 0 &&
        route.size() > best_length) {
      best = &handler;
      best_length = route.size();
    }
  }
  return best;
}

}  // namespace strata::server
