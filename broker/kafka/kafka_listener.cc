#include "broker/kafka/kafka_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/kafka/connection.h"
#include "broker/kafka/connection_limits.h"
#include "broker/kafka/event_loop.h"
#include "broker/kafka/io_pool.h"
#include "broker/kafka/listen_socket.h"
#include "broker/kafka/sasl_authenticator.h"
#include "broker/kafka/tls_transport.h"
#include "broker/security/principal.h"
#include "broker/security/principal_mapping.h"
#include "broker/security/tls_context.h"
#include "glog/logging.h"

namespace strata::kafka {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The peer's IP address ("127.0.0.1") and port.
std::pair<std::string, int> AddressOf(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return {host, port};
}

}  // namespace

// One accepted socket and its protocol state. Owned by its loop's map;
// requests in flight hold it too, so a late completion finds it (closed).
struct Conn {
  Conn(int fd, size_t loop_index, std::shared_ptr<EventLoop> loop, Connection::Options options,
       std::string peer, std::string host)
      : fd(fd),
        loop_index(loop_index),
        loop(std::move(loop)),
        host(std::move(host)),
        state(options, std::move(peer)) {}

  const int fd;
  const size_t loop_index;
  const std::shared_ptr<EventLoop> loop;
  const std::string host;  // the peer's IP address
  Connection state;
  // TLS listeners: the session (null on plaintext ones: every byte call
  // takes the plain branch). Until established(), the handshake runs
  // instead of reads and writes, waiting for `handshake_events`, closed
  // at `handshake_deadline_ms`.
  std::unique_ptr<TlsTransport> tls;
  uint32_t handshake_events = 0;
  int64_t handshake_deadline_ms = 0;
  // A read is posted for bytes OpenSSL holds with nothing on the socket
  // (epoll would not wake for them).
  bool read_posted = false;
  // SASL listeners: the authentication, run by the strand (one request at
  // a time). `authenticated` tells the loop to lift the frame bound it
  // applies until then (`sasl_bound`, the loop's).
  std::unique_ptr<SaslAuthenticator> sasl;
  std::atomic<bool> authenticated{false};
  bool sasl_bound = false;
  // The principal from the client certificate (SSL listeners): set by the
  // loop when the handshake completes, before any request is read.
  security::Principal principal;
  // The loop thread's:
  bool closed = false;
  uint32_t events = 0;
  int64_t last_active_ms = 0;
  // The bytes of this connection's partial and unstarted frames counted in
  // the listener's queued bytes.
  size_t accounted = 0;
  // Closed, or a request failed: requests still in the strand are dropped.
  std::atomic<bool> dead{false};
  // The client hung up (EPOLLRDHUP) while its answers were pending: closed
  // once they are written (the loop thread's).
  bool peer_gone = false;
  // The strand: requests waiting for the I/O pool, started one at a time.
  absl::Mutex strand_mu;
  std::deque<Connection::Request> strand ABSL_GUARDED_BY(strand_mu);
  bool strand_running ABSL_GUARDED_BY(strand_mu) = false;
};

class KafkaListener::Impl : public std::enable_shared_from_this<KafkaListener::Impl> {
 public:
  Impl(Options options, Dispatcher::Deps deps)
      : options_(std::move(options)), dispatcher_(deps), pool_(options_.num_io_threads) {
    conn_options_.max_frame_bytes = options_.socket_request_max_bytes;
    conn_options_.max_inflight = std::max(1, options_.max_inflight_requests_per_connection);
    // Only produce requests share the window. Their synchronous parts, the
    // append included, run one at a time in arrival order (RunStrand), so
    // batches land in the order they were sent. Any other request waits
    // for the window to empty and keeps it to itself, as with Kafka's one
    // request at a time: a request whose work completes later (a
    // transaction's end, a group join, a long poll) must not have the next
    // one run before it is done.
    conn_options_.may_overlap = IsProduceRequest;
    conn_options_.max_unsent_bytes = options_.max_unsent_bytes;
    sasl_config_.sasl = options_.security.sasl;
    sasl_config_.scram_credentials = options_.scram_credentials;
    sasl_config_.max_receive_bytes = options_.sasl_server_max_receive_size;
  }

  // Whether the listener holds more request bytes or requests than it may:
  // then no connection starts reading a new request (one whose size is in
  // reads on to its end, as Kafka's memory pool admits a request whole).
  bool Overloaded() const {
    return (options_.queued_max_request_bytes > 0 &&
            queued_bytes_.load(std::memory_order_relaxed) > options_.queued_max_request_bytes) ||
           (options_.queued_max_requests > 0 &&
            queued_requests_.load(std::memory_order_relaxed) > options_.queued_max_requests);
  }

  absl::Status Init() {
    const security::SecurityProtocol protocol = options_.security.protocol;
    if (security::UsesTls(protocol)) {
      absl::StatusOr<std::unique_ptr<security::TlsContext>> tls =
          security::TlsContext::Create(options_.security.tls);
      if (!tls.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("listener ", options_.name, ": ", tls.status().message()));
      }
      tls_ = *std::move(tls);
      absl::StatusOr<security::SslPrincipalMapper> mapper =
          security::SslPrincipalMapper::Parse(options_.security.tls.principal_mapping_rules);
      if (!mapper.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("listener ", options_.name,
                         ": ssl.principal.mapping.rules: ", mapper.status().message()));
      }
      mapper_.emplace(*std::move(mapper));
    }
    limits_ = options_.connection_limits;
    if (limits_ == nullptr) {
      absl::StatusOr<std::shared_ptr<ConnectionLimits>> limits = ConnectionLimits::Create(
          {.max_connections = options_.max_connections,
           .max_connections_per_ip = options_.max_connections_per_ip,
           .max_connections_per_ip_overrides = options_.max_connections_per_ip_overrides});
      if (!limits.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("listener ", options_.name, ": ", limits.status().message()));
      }
      limits_ = *std::move(limits);
    }
    absl::StatusOr<int> fd = BindListening(options_.name, options_.host, options_.port);
    if (!fd.ok()) return fd.status();
    listen_fd_ = *fd;
    sockaddr_in bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.sin_port);
    const int n = std::max(1, options_.num_network_threads);
    const int64_t tick_ms = options_.connections_max_idle_ms > 0
                                ? std::min<int64_t>(1000, options_.connections_max_idle_ms)
                                : 1000;
    for (int i = 0; i < n; ++i) {
      loops_.push_back(std::make_shared<EventLoop>(absl::StrCat("kafka-network-", i), tick_ms,
                                                   [this, i] { Tick(i); }));
      conns_.emplace_back();
      if (absl::Status s = loops_.back()->Init(); !s.ok()) return s;
    }
    if (absl::Status s = loops_[0]->Add(listen_fd_, EPOLLIN, [this](uint32_t) { Accept(); });
        !s.ok()) {
      return s;
    }
    for (auto& loop : loops_) loop->Start();
    LOG(INFO) << "Kafka protocol on " << options_.name << " " << options_.host << ":" << port_
              << " (" << security::ProtocolName(protocol) << ", " << loops_.size()
              << " network threads, " << options_.num_io_threads << " I/O threads)";
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    // The loops first: no new reads or requests. Then the pool: requests
    // running finish (their answers are dropped), queued ones are dropped.
    for (size_t i = 0; i < loops_.size(); ++i) {
      loops_[i]->Post([this, i] {
        std::unordered_map<int, std::shared_ptr<Conn>> conns;
        conns.swap(conns_[i]);
        for (auto& [fd, conn] : conns) CloseNow(conn, "", /*log=*/false);
        if (i == 0 && listen_fd_ >= 0) {
          loops_[0]->Remove(listen_fd_);
          ::close(listen_fd_);
          listen_fd_ = -1;
        }
      });
      loops_[i]->Stop();
    }
    pool_.Stop();
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
  }

  int32_t port() const { return port_; }

  int32_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  // A connection's slot in the limits (and this listener's count).
  std::optional<std::string> Admit(const std::string& host) {
    std::optional<std::string> full = limits_->Admit(host);
    if (!full) open_.fetch_add(1, std::memory_order_relaxed);
    return full;
  }
  void Unadmit(const std::string& host) {
    limits_->Release(host);
    open_.fetch_sub(1, std::memory_order_relaxed);
  }

  // ---- loop 0 ----
  void Accept() {
    while (true) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // Out of descriptors (EMFILE, ENFILE) or memory: the connection
        // stays in the backlog and the socket stays readable, so stop
        // listening until the next tick instead of spinning.
        LOG_EVERY_T(WARNING, 10) << "kafka: " << options_.name << " cannot accept ("
                                 << strerror(errno) << "); pausing accepts for a second";
        loops_[0]->Modify(listen_fd_, 0);
        accept_paused_ = true;
        return;
      }
      auto [host, port] = AddressOf(addr);
      if (std::optional<std::string> full = Admit(host)) {
        ::close(fd);
        refused_.fetch_add(1, std::memory_order_relaxed);
        LOG_EVERY_T(WARNING, 10) << "kafka: " << options_.name << " refuses connections over "
                                 << *full << " (from " << host << "; "
                                 << refused_.load(std::memory_order_relaxed) << " refused so far)";
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (options_.socket_send_buffer_bytes > 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options_.socket_send_buffer_bytes, sizeof(int));
      }
      if (options_.socket_receive_buffer_bytes > 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options_.socket_receive_buffer_bytes, sizeof(int));
      }
      const size_t i = next_loop_++ % loops_.size();
      auto conn = std::make_shared<Conn>(fd, i, loops_[i], conn_options_,
                                         absl::StrCat(host, ":", port), host);
      VLOG(1) << "kafka: " << conn->state.peer() << " connected to " << options_.name;
      loops_[i]->Post([this, i, conn] { Register(i, conn); });
    }
  }

  // ---- a connection's loop ----
  void Register(size_t i, const std::shared_ptr<Conn>& conn) {
    if (stopped_) {  // accepted while Stop's close ran on this loop
      ::close(conn->fd);
      conn->closed = true;
      Unadmit(conn->host);
      return;
    }
    conn->last_active_ms = SteadyMs();
    if (tls_ != nullptr) {
      absl::StatusOr<std::unique_ptr<TlsTransport>> tls =
          TlsTransport::Accept(tls_->Current().get(), conn->fd);
      if (!tls.ok()) {
        LOG(WARNING) << "kafka: " << conn->state.peer() << ": " << tls.status();
        ::close(conn->fd);
        conn->closed = true;
        Unadmit(conn->host);
        return;
      }
      conn->tls = *std::move(tls);
      conn->handshake_events = EPOLLIN;  // the ClientHello
      conn->handshake_deadline_ms = conn->last_active_ms + options_.ssl_handshake_timeout_ms;
    }
    if (security::UsesSasl(options_.security.protocol)) {
      conn->sasl = std::make_unique<SaslAuthenticator>(&sasl_config_, conn->state.peer());
      conn->state.SetMaxFrameBytes(
          std::min(options_.sasl_server_max_receive_size, options_.socket_request_max_bytes),
          "sasl.server.max.receive.size before SASL authentication");
      conn->sasl_bound = true;
    }
    conn->events = EPOLLIN | EPOLLRDHUP;
    absl::Status s = conn->loop->Add(conn->fd, conn->events,
                                     [this, weak = std::weak_ptr<Conn>(conn)](uint32_t events) {
                                       if (std::shared_ptr<Conn> c = weak.lock())
                                         OnEvents(c, events);
                                     });
    if (!s.ok()) {
      LOG(WARNING) << "kafka: " << conn->state.peer() << ": " << s;
      ::close(conn->fd);
      conn->closed = true;
      Unadmit(conn->host);
      return;
    }
    conns_[i][conn->fd] = conn;
  }

  void OnEvents(const std::shared_ptr<Conn>& conn, uint32_t events) {
    if (conn->closed) return;
    if (conn->tls != nullptr && !conn->tls->established()) {
      Handshake(conn, events);
      return;
    }
    if (events & EPOLLIN) Read(conn);
    if (!conn->closed && (events & EPOLLOUT)) Flush(conn);
    if (conn->tls != nullptr && !conn->closed) {
      // OpenSSL's cross-wants: a read that must write first (a TLS 1.3 key
      // update to answer), a write that must read first.
      if ((events & EPOLLOUT) && conn->tls->read_wants_write()) Read(conn);
      if (!conn->closed && (events & EPOLLIN) && conn->tls->write_wants_read()) Flush(conn);
    }
    if (!conn->closed && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
      CloseNow(conn, "the connection failed", /*log=*/false);
    }
    // The client hung up while it is not being read (its window is full,
    // or the listener is over its bounds): reading would find the end, so
    // close now and free what it holds.
    if (!conn->closed && (events & EPOLLRDHUP) && !(conn->events & EPOLLIN)) {
      if (conn->state.inflight() == 0 && conn->state.unsent().empty()) {
        CloseNow(conn, "", /*log=*/false);
      } else {
        // Half-closed with answers pending (a client that shut down its
        // sending side): close once they are out, as Kafka does.
        conn->peer_gone = true;
        UpdateInterest(conn);
      }
    }
  }

  // ---- TLS handshake (a connection's loop) ----
  void Handshake(const std::shared_ptr<Conn>& conn, uint32_t events) {
    switch (conn->tls->Handshake()) {
      case TlsTransport::Progress::kDone:
        HandshakeDone(conn);
        return;
      case TlsTransport::Progress::kWantRead:
        conn->handshake_events = EPOLLIN;
        break;
      case TlsTransport::Progress::kWantWrite:
        conn->handshake_events = EPOLLOUT;
        break;
      case TlsTransport::Progress::kFailed:
        if (conn->tls->received_bytes()) {
          CloseNow(conn,
                   absl::StrCat("kafka: ", conn->state.peer(), " on ", options_.name,
                                ": TLS handshake failed (", conn->tls->error(), "); closing"),
                   /*log=*/true);
        } else {  // connected and hung up without a byte (a port probe)
          VLOG(1) << "kafka: " << conn->state.peer() << " closed before the TLS handshake";
          CloseNow(conn, "", /*log=*/false);
        }
        return;
    }
    // Hung up half-way: the rest of the handshake can never come.
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      LOG(INFO) << "kafka: " << conn->state.peer() << " on " << options_.name
                << " hung up during the TLS handshake";
      CloseNow(conn, "", /*log=*/false);
      return;
    }
    UpdateInterest(conn);
  }

  void HandshakeDone(const std::shared_ptr<Conn>& conn) {
    conn->last_active_ms = SteadyMs();
    SSL* ssl = conn->tls->ssl();
    if (!security::UsesSasl(options_.security.protocol)) {
      // SSL: the client certificate's DN, mapped, names the principal;
      // without one (ssl.client.auth none or requested) it is ANONYMOUS.
      absl::StatusOr<std::string> dn = security::PeerDistinguishedName(ssl);
      // A certificate whose subject cannot be read is not "no certificate":
      // it must not pass as ANONYMOUS.
      if (!dn.ok() && !absl::IsNotFound(dn.status())) {
        CloseNow(conn,
                 absl::StrCat("kafka: ", conn->state.peer(), " on ", options_.name,
                              ": the client certificate's subject: ", dn.status().message(),
                              "; closing"),
                 /*log=*/true);
        return;
      }
      if (dn.ok()) {
        absl::StatusOr<std::string> name = mapper_->Map(*dn);
        if (!name.ok()) {
          CloseNow(conn,
                   absl::StrCat("kafka: ", conn->state.peer(), " on ", options_.name,
                                ": the client certificate's DN maps to no principal (",
                                name.status().message(), "); closing"),
                   /*log=*/true);
          return;
        }
        conn->principal = security::Principal::User(*std::move(name));
      }
    }
    VLOG(1) << "kafka: " << conn->state.peer() << " on " << options_.name << ": "
            << SSL_get_version(ssl) << " " << SSL_get_cipher_name(ssl) << " as "
            << conn->principal.ToString();
    // The client may have sent its first request with its last handshake
    // message: read now rather than wait for the socket.
    Read(conn);
  }

  // ---- reading and writing (a connection's loop) ----
  void Read(const std::shared_ptr<Conn>& conn) {
    conn->read_posted = false;
    char buf[64 << 10];
    for (int round = 0; round < 16 && MayRead(conn); ++round) {
      const ssize_t n = conn->tls != nullptr ? conn->tls->Read(buf, sizeof(buf))
                                             : ::read(conn->fd, buf, sizeof(buf));
      if (n > 0) {
        conn->last_active_ms = SteadyMs();
        absl::Status s = conn->state.OnBytes(std::string_view(buf, static_cast<size_t>(n)));
        Account(conn);
        if (!s.ok()) {
          CloseNow(conn,
                   absl::StrCat("kafka: ", conn->state.peer(), " on ", options_.name, " ",
                                s.message(), "; closing"),
                   /*log=*/true);
          return;
        }
        continue;
      }
      if (n == 0) {
        if (conn->state.mid_frame()) {
          LOG(INFO) << "kafka: " << conn->state.peer()
                    << " disconnected in the middle of a request";
        }
        CloseNow(conn, "", /*log=*/false);
        return;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        const bool tls_failed = conn->tls != nullptr && errno == EPROTO;
        CloseNow(conn,
                 tls_failed ? absl::StrCat("kafka: ", conn->state.peer(), " on ", options_.name,
                                           ": TLS failure (", conn->tls->error(), "); closing")
                            : std::string(),
                 /*log=*/tls_failed);
        return;
      }
      break;
    }
    Pump(conn);
    UpdateInterest(conn);
  }

  bool MayRead(const std::shared_ptr<Conn>& conn) const {
    return conn->state.WantsRead() && (conn->state.mid_frame() || !Overloaded());
  }

  // Brings the listener's count of queued bytes up to date with what the
  // connection's reader has committed to (a frame in progress at its
  // declared size).
  void Account(const std::shared_ptr<Conn>& conn) {
    const size_t now = conn->closed ? 0 : conn->state.committed_bytes();
    queued_bytes_.fetch_add(static_cast<int64_t>(now) - static_cast<int64_t>(conn->accounted),
                            std::memory_order_relaxed);
    conn->accounted = now;
  }

  // Hands the requests the window admits to the strand.
  void Pump(const std::shared_ptr<Conn>& conn) {
    while (std::optional<Connection::Request> r = conn->state.NextRequest()) {
      // Its bytes count until its answer is ready, and it counts as queued
      // until it starts (Release).
      queued_bytes_.fetch_add(static_cast<int64_t>(r->frame.size()), std::memory_order_relaxed);
      queued_requests_.fetch_add(1, std::memory_order_relaxed);
      Account(conn);
      bool start = false;
      {
        absl::MutexLock l(&conn->strand_mu);
        conn->strand.push_back(*std::move(r));
        if (!conn->strand_running) start = conn->strand_running = true;
      }
      if (start) {
        pool_.Submit([self = shared_from_this(), conn] { self->RunStrand(conn); });
      }
    }
  }

  void Flush(const std::shared_ptr<Conn>& conn) {
    if (conn->sasl_bound && conn->authenticated.load(std::memory_order_acquire)) {
      conn->state.SetMaxFrameBytes(options_.socket_request_max_bytes, "socket.request.max.bytes");
      conn->sasl_bound = false;
    }
    conn->state.CollectReady();
    while (!conn->state.unsent().empty()) {
      std::string_view out = conn->state.unsent();
      const ssize_t n = conn->tls != nullptr
                            ? conn->tls->Write(out.data(), out.size())
                            : ::send(conn->fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        conn->state.Consumed(static_cast<size_t>(n));
        conn->last_active_ms = SteadyMs();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      CloseNow(conn, "", /*log=*/false);
      return;
    }
    if (conn->state.unsent().empty() && conn->state.close_reason()) {
      CloseNow(conn, *conn->state.close_reason(), /*log=*/true);
      return;
    }
    if (conn->peer_gone && conn->state.unsent().empty() && conn->state.inflight() == 0) {
      CloseNow(conn, "", /*log=*/false);
      return;
    }
    Pump(conn);
    UpdateInterest(conn);
  }

  void UpdateInterest(const std::shared_ptr<Conn>& conn) {
    if (conn->closed) return;
    if (conn->tls != nullptr && !conn->tls->established()) {
      const uint32_t want = conn->handshake_events | EPOLLRDHUP;
      if (want != conn->events) {
        conn->events = want;
        conn->loop->Modify(conn->fd, want);
      }
      return;
    }
    // A client gone half-way is not read (there is only the end to read)
    // and not watched for the hang-up it already made.
    const bool read = !conn->peer_gone && MayRead(conn);
    const bool write = !conn->state.unsent().empty();
    uint32_t want = (read ? uint32_t{EPOLLIN} : 0u) | (write ? uint32_t{EPOLLOUT} : 0u) |
                    (conn->peer_gone ? 0u : uint32_t{EPOLLRDHUP});
    if (conn->tls != nullptr) {
      if (read && conn->tls->read_wants_write()) want |= EPOLLOUT;
      if (write && conn->tls->write_wants_read()) want |= EPOLLIN;
      // Decrypted bytes inside OpenSSL wake no epoll: read them from the
      // loop's queue (once per batch: Read clears the flag).
      if (read && !conn->read_posted && conn->tls->pending()) {
        conn->read_posted = true;
        conn->loop->Post([weak_self = weak_from_this(), weak = std::weak_ptr<Conn>(conn)] {
          std::shared_ptr<Impl> s = weak_self.lock();
          std::shared_ptr<Conn> c = weak.lock();
          if (s && c && !c->closed) s->Read(c);
        });
      }
    }
    if (want != conn->events) {
      conn->events = want;
      conn->loop->Modify(conn->fd, want);
    }
  }

  void CloseNow(const std::shared_ptr<Conn>& conn, const std::string& reason, bool log) {
    if (conn->closed) return;
    if (log) LOG(WARNING) << reason;
    conn->closed = true;
    conn->dead = true;
    Account(conn);
    conn->loop->Remove(conn->fd);
    if (conn->tls != nullptr) conn->tls->Shutdown();  // close_notify, if it fits now
    ::close(conn->fd);
    Unadmit(conn->host);
    auto& conns = conns_[conn->loop_index];
    if (auto it = conns.find(conn->fd); it != conns.end() && it->second == conn) conns.erase(it);
  }

  // Once per tick on loop `i`: accepts resume after running out of
  // descriptors, reads resume once the listener is below its bounds again,
  // and idle connections and overdue TLS handshakes are closed.
  void Tick(size_t i) {
    if (i == 0 && accept_paused_ && listen_fd_ >= 0) {
      accept_paused_ = false;
      loops_[0]->Modify(listen_fd_, EPOLLIN);
    }
    ResumeReads(i);
    CloseIdle(i);
    if (tls_ != nullptr) CloseSlowHandshakes(i);
  }

  void CloseSlowHandshakes(size_t i) {
    const int64_t now = SteadyMs();
    std::vector<std::shared_ptr<Conn>> slow;
    for (auto& [fd, conn] : conns_[i]) {
      if (!conn->tls->established() && now >= conn->handshake_deadline_ms) slow.push_back(conn);
    }
    for (auto& conn : slow) {
      LOG(INFO) << "kafka: " << conn->state.peer() << " on " << options_.name
                << " did not complete its TLS handshake within "
                << options_.ssl_handshake_timeout_ms << " ms; closing";
      CloseNow(conn, "", /*log=*/false);
    }
  }

  void ResumeReads(size_t i) {
    if (Overloaded()) return;
    std::vector<std::shared_ptr<Conn>> conns;
    for (auto& [fd, conn] : conns_[i]) conns.push_back(conn);
    for (auto& conn : conns) {
      Pump(conn);
      UpdateInterest(conn);
    }
  }

  // A connection without traffic for connections.max.idle.ms is closed
  // unless a request of it is being handled (a parked long-poll is quiet
  // on purpose). Answers its client does not read do not keep it open.
  void CloseIdle(size_t i) {
    if (options_.connections_max_idle_ms < 0) return;
    const int64_t now = SteadyMs();
    std::vector<std::shared_ptr<Conn>> idle;
    for (auto& [fd, conn] : conns_[i]) {
      if (now - conn->last_active_ms > options_.connections_max_idle_ms &&
          conn->state.inflight() == 0) {
        idle.push_back(conn);
      }
    }
    for (auto& conn : idle) {
      LOG(INFO) << "kafka: " << conn->state.peer() << " idle for over "
                << options_.connections_max_idle_ms << " ms (connections.max.idle.ms); closing";
      CloseNow(conn, "", /*log=*/false);
    }
  }

  // ---- the I/O pool ----
  // Runs a connection's requests' synchronous parts one at a time, in
  // arrival order; their completions may come later, from any thread.
  void RunStrand(const std::shared_ptr<Conn>& conn) {
    while (true) {
      Connection::Request r;
      {
        absl::MutexLock l(&conn->strand_mu);
        if (conn->strand.empty()) {
          conn->strand_running = false;
          return;
        }
        r = std::move(conn->strand.front());
        conn->strand.pop_front();
      }
      const int64_t bytes = static_cast<int64_t>(r.frame.size());
      if (conn->dead) {  // closed, or an earlier request failed: Kafka stops too
        Release(bytes, 1);
        continue;
      }
      // Started: no longer queued (a parked long poll or join must not stop
      // the listener from reading); its bytes count until it is answered.
      Release(0, 1);
      if (conn->sasl != nullptr) {
        // SASL gates every frame (sasl_authenticator.h): its own answers
        // and refusals complete here; the rest go to the dispatcher.
        SaslAuthenticator::Outcome o = conn->sasl->OnFrame(r.frame, SteadyMs());
        if (conn->sasl->authenticated()) {
          conn->authenticated.store(true, std::memory_order_release);
        }
        if (o.action != SaslAuthenticator::Action::kDispatch) {
          DispatchResult result;
          result.response = std::move(o.response);
          result.close = o.action != SaslAuthenticator::Action::kAnswer;
          result.reason = std::move(o.reason);
          Finish(weak_from_this(), conn, r.seq, bytes, std::move(result));
          continue;
        }
      }
      RequestContext context;
      context.peer = conn->state.peer();
      context.listener = options_.name;
      context.principal = conn->sasl != nullptr ? conn->sasl->principal() : conn->principal;
      context.host = conn->host;
      if (options_.request_observer) options_.request_observer(context, r.frame);
      // The completion may come from any thread, even after Stop() and the
      // listener's destruction: then only the connection is touched, and
      // the post to its loop runs nothing.
      dispatcher_.Dispatch(
          context, r.frame,
          [weak_self = weak_from_this(), conn, seq = r.seq, bytes](DispatchResult result) {
            Finish(weak_self, conn, seq, bytes, std::move(result));
          });
    }
  }

  // A request's answer (or refusal) is ready: into its slot, and the loop
  // writes it.
  static void Finish(const std::weak_ptr<Impl>& weak_self, const std::shared_ptr<Conn>& conn,
                     uint64_t seq, int64_t bytes, DispatchResult result) {
    if (result.close) {
      conn->dead = true;
      conn->state.Fail(seq, std::move(result.reason), std::move(result.response));
    } else {
      conn->state.Complete(seq, std::move(result.response), std::move(result.hold));
    }
    std::shared_ptr<Impl> self = weak_self.lock();
    if (self == nullptr) return;
    self->Release(bytes, 0);
    std::weak_ptr<Conn> weak = conn;
    conn->loop->Post([weak_self, weak] {
      std::shared_ptr<Impl> s = weak_self.lock();
      std::shared_ptr<Conn> c = weak.lock();
      if (s && c && !c->closed) s->Flush(c);
    });
  }

  // `bytes` of requests are answered (or dropped) and `requests` started
  // (or dropped): they no longer count against the listener's bounds.
  // Leaving overload wakes every loop.
  void Release(int64_t bytes, int32_t requests) {
    const bool was = Overloaded();
    queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    queued_requests_.fetch_sub(requests, std::memory_order_relaxed);
    if (was && !Overloaded() && !stopped_) {
      for (size_t i = 0; i < loops_.size(); ++i) {
        loops_[i]->Post([weak_self = weak_from_this(), i] {
          if (std::shared_ptr<Impl> s = weak_self.lock()) s->ResumeReads(i);
        });
      }
    }
  }

  const Options options_;
  Connection::Options conn_options_;
  SaslAuthenticator::Config sasl_config_;
  // TLS listeners: the certificates (reloaded when their files change) and
  // the DN-to-principal rules.
  std::unique_ptr<security::TlsContext> tls_;
  std::optional<security::SslPrincipalMapper> mapper_;
  // The connection limits (the node's, shared by its Kafka listeners, or
  // this listener's own) and this listener's connections in them.
  std::shared_ptr<ConnectionLimits> limits_;
  std::atomic<int32_t> open_{0};
  std::atomic<int64_t> refused_{0};
  Dispatcher dispatcher_;
  IoPool pool_;
  int listen_fd_ = -1;
  int32_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> next_loop_{0};
  bool accept_paused_ = false;  // loop 0's
  // Requests read and not yet answered, in bytes (partial frames included)
  // and in number: the queued.max.request.bytes and queued.max.requests
  // bounds.
  std::atomic<int64_t> queued_bytes_{0};
  std::atomic<int32_t> queued_requests_{0};
  std::vector<std::shared_ptr<EventLoop>> loops_;
  // Per loop, its connections by fd: only that loop's thread touches them.
  std::vector<std::unordered_map<int, std::shared_ptr<Conn>>> conns_;
};

KafkaListener::KafkaListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaListener::~KafkaListener() { Stop(); }

void KafkaListener::Stop() { impl_->Stop(); }

int32_t KafkaListener::port() const { return impl_->port(); }

int32_t KafkaListener::open_connections() const { return impl_->open_connections(); }

absl::StatusOr<std::unique_ptr<KafkaListener>> KafkaListener::Start(Options options,
                                                                    Dispatcher::Deps deps) {
  auto impl = std::make_shared<Impl>(std::move(options), deps);
  if (absl::Status s = impl->Init(); !s.ok()) {
    impl->Stop();
    return s;
  }
  return std::unique_ptr<KafkaListener>(new KafkaListener(std::move(impl)));
}

}  // namespace strata::kafka
