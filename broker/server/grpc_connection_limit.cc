#include "broker/server/grpc_connection_limit.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::server {

struct GrpcConnectionLimit::State {
  explicit State(std::shared_ptr<kafka::ConnectionLimits> l) : limits(std::move(l)) {}

  // A socket's slot: gRPC holds it as `fd`, which named (dev, inode).
  struct Held {
    dev_t dev;
    ino_t inode;
    std::string ip;
  };

  // Whether the accepted socket `fd` may go on to gRPC; takes its slot if
  // so (the caller closes it if not).
  bool Admit(int fd) {
    std::string ip = PeerIp(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    {
      absl::MutexLock lock(&mu);
      // A descriptor accepted again was closed since: its slot is free.
      if (auto it = held.find(fd); it != held.end()) {
        limits->Release(it->second.ip);
        held.erase(it);
      }
      if (++since_reclaim >= kReclaimEvery) ReclaimLocked();
    }
    // Without mu: a full limit calls the reclaimers, Reclaim among them.
    if (std::optional<std::string> full = limits->Admit(ip)) {
      const int64_t n = refused.fetch_add(1, std::memory_order_relaxed) + 1;
      LOG_EVERY_T(WARNING, 10) << "gRPC client listener refuses connections over " << *full
                               << " (from " << ip << "; " << n << " refused so far)";
      return false;
    }
    absl::MutexLock lock(&mu);
    held.emplace(fd, Held{st.st_dev, st.st_ino, std::move(ip)});
    return true;
  }

  // Frees the slots of sockets gRPC has closed, when a listener finds a
  // limit full (at most every kReclaimInterval).
  void Reclaim() {
    absl::MutexLock lock(&mu);
    if (absl::Now() - last_reclaim >= kReclaimInterval) ReclaimLocked();
  }

  void ReclaimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    last_reclaim = absl::Now();
    since_reclaim = 0;
    for (auto it = held.begin(); it != held.end();) {
      struct stat st {};
      if (::fstat(it->first, &st) != 0 || st.st_ino != it->second.inode ||
          st.st_dev != it->second.dev) {
        limits->Release(it->second.ip);
        it = held.erase(it);
      } else {
        ++it;
      }
    }
  }

  static std::string PeerIp(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
    char buf[INET6_ADDRSTRLEN] = "";
    if (addr.ss_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, buf, sizeof(buf));
    } else if (addr.ss_family == AF_INET6) {
      const in6_addr& a6 = reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        ::inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf));
      } else {
        ::inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
      }
    }
    return buf;
  }

  static constexpr uint32_t kReclaimEvery = 256;
  static constexpr absl::Duration kReclaimInterval = absl::Milliseconds(10);

  const std::shared_ptr<kafka::ConnectionLimits> limits;
  std::atomic<int64_t> refused{0};
  absl::Mutex mu;
  std::unordered_map<int, Held> held ABSL_GUARDED_BY(mu);  // by descriptor
  absl::Time last_reclaim ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  uint32_t since_reclaim ABSL_GUARDED_BY(mu) = 0;
};

namespace {

// The addresses to listen on for host:port: all of host's (IPv4 and IPv6);
// the wildcard ones for an empty host or 0.0.0.0, as gRPC binds them.
absl::StatusOr<std::vector<sockaddr_storage>> Resolve(const std::string& name,
                                                      std::string host, int32_t port) {
  std::vector<sockaddr_storage> out;
  const std::string where = absl::StrCat(name, " ", host, ":", port);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    sockaddr_storage v6{};
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&v6);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_any;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    out.push_back(v6);  // dual-stack: IPv4 connections arrive here too
    sockaddr_storage v4{};
    auto* a4 = reinterpret_cast<sockaddr_in*>(&v4);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons(static_cast<uint16_t>(port));
    out.push_back(v4);  // for hosts without IPv6
    return out;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", gai_strerror(rc)));
  }
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    sockaddr_storage s{};
    std::memcpy(&s, a->ai_addr, a->ai_addrlen);
    bool seen = false;
    for (const sockaddr_storage& o : out) seen = seen || std::memcmp(&o, &s, sizeof(s)) == 0;
    if (!seen) out.push_back(s);
  }
  ::freeaddrinfo(found);
  return out;
}

int PortOf(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
}

void SetPort(sockaddr_storage& a, int port) {
  if (a.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(static_cast<uint16_t>(port));
  }
}

}  // namespace

GrpcConnectionLimit::GrpcConnectionLimit(std::shared_ptr<kafka::ConnectionLimits> limits)
    : state_(std::make_shared<State>(std::move(limits))) {
  std::weak_ptr<State> weak = state_;
  state_->limits->AddReclaimer([weak] {
    if (std::shared_ptr<State> s = weak.lock()) s->Reclaim();
  });
}

GrpcConnectionLimit::~GrpcConnectionLimit() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

absl::Status GrpcConnectionLimit::Listen(grpc::ServerBuilder& builder, const std::string& name,
                                         const std::string& host, int32_t port,
                                         std::shared_ptr<grpc::ServerCredentials> credentials) {
  CHECK(listen_fds_.empty()) << "Listen is called once";
  name_ = name;
  absl::StatusOr<std::vector<sockaddr_storage>> addresses = Resolve(name, host, port);
  if (!addresses.ok()) return addresses.status();
  const std::string where = absl::StrCat(name, " ", host, ":", port);
  const bool wildcard = host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::";
  int bound_port = port;
  int first_error = 0;
  for (sockaddr_storage& a : *addresses) {
    if (bound_port != 0) SetPort(a, bound_port);  // port 0: every address gets the first's
    const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (first_error == 0) first_error = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (wildcard && a.ss_family == AF_INET6) {
      // Dual-stack whatever net.ipv6.bindv6only says: the IPv4 wildcard
      // socket after it is skipped only because this one takes IPv4 too.
      const int zero = 0;
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    // Accepted sockets inherit it (gRPC sets it on its own listeners).
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const socklen_t len =
        a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      const int err = errno;
      ::close(fd);
      // The wildcard IPv4 socket after a dual-stack IPv6 one finds the port
      // taken by it, and an address family the host lacks cannot bind:
      // neither matters once another address is bound.
      if (err == EADDRINUSE && wildcard && !listen_fds_.empty()) continue;
      if (err == EADDRINUSE) {
        for (int l : listen_fds_) ::close(l);
        listen_fds_.clear();
        return absl::UnavailableError(
            absl::StrCat("cannot listen on ", where, ": ", strerror(err)));
      }
      if (first_error == 0) first_error = err;
      continue;
    }
    if (bound_port == 0) {
      sockaddr_storage got{};
      socklen_t got_len = sizeof(got);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
      bound_port = PortOf(got);
    }
    listen_fds_.push_back(fd);
  }
  if (listen_fds_.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", strerror(first_error)));
  }
  port_ = bound_port;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      std::move(credentials));
  return absl::OkStatus();
}

void GrpcConnectionLimit::Start() {
  CHECK(acceptor_ != nullptr) << "Start after Listen";
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void GrpcConnectionLimit::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
}

void GrpcConnectionLimit::Run() {
  std::vector<pollfd> polled;
  for (int fd : listen_fds_) polled.push_back({fd, POLLIN, 0});
  polled.push_back({wake_fd_, POLLIN, 0});
  while (true) {
    const int n = ::poll(polled.data(), polled.size(), -1);
    if (n < 0) {
      if (errno != EINTR) {
        // Never stop accepting quietly: say so, and go on after a pause.
        LOG_EVERY_T(ERROR, 10) << "gRPC " << name_ << " listener: poll: " << strerror(errno);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (polled.back().revents != 0) return;  // Stop()
    for (size_t i = 0; i + 1 < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      // Everything waiting, then back to poll.
      for (int accepted = 0; accepted < 1024; ++accepted) {
        const int fd = ::accept4(polled[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          // Out of descriptors (EMFILE, ENFILE) or memory: the connection
          // stays in the backlog and the socket stays readable, so wait a
          // little instead of spinning.
          LOG_EVERY_T(WARNING, 10) << "gRPC " << name_ << " listener cannot accept ("
                                   << strerror(errno) << "); pausing accepts";
          pollfd wake = polled.back();
          if (::poll(&wake, 1, 100) > 0) return;
          break;
        }
        if (!state_->Admit(fd)) {
          ::close(fd);
          continue;
        }
        grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
        p.listener_fd = polled[i].fd;
        p.fd = fd;  // gRPC's from here on
        acceptor_->HandleNewConnection(&p);
      }
    }
  }
}

int64_t GrpcConnectionLimit::refused() const {
  return state_->refused.load(std::memory_order_relaxed);
}

}  // namespace strata::server
