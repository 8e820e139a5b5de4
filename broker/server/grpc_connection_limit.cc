#include "broker/server/grpc_connection_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "grpc/support/sync.h"
#include "grpcpp/support/channel_arguments.h"

// gRPC 1.51's socket mutator (src/core/lib/iomgr/socket_mutator.h, not
// installed by Debian's libgrpc-dev), declared as it defines them; the
// functions are exported by libgrpc.
typedef enum {
  GRPC_FD_CLIENT_CONNECTION_USAGE,
  GRPC_FD_SERVER_LISTENER_USAGE,
  GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;

typedef struct {
  int fd;
  grpc_fd_usage usage;
} grpc_mutate_socket_info;

struct grpc_socket_mutator_vtable {
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const grpc_mutate_socket_info* info, grpc_socket_mutator* mutator);
};

struct grpc_socket_mutator {
  const grpc_socket_mutator_vtable* vtable;
  gpr_refcount refcount;
};

void grpc_socket_mutator_init(grpc_socket_mutator* mutator,
                              const grpc_socket_mutator_vtable* vtable);

namespace strata::server {

struct GrpcConnectionLimit::State {
  explicit State(std::shared_ptr<kafka::ConnectionLimits> l) : limits(std::move(l)) {}

  // A socket's slot: gRPC accepted it as `fd`, which named inode `inode`.
  struct Held {
    ino_t inode;
    std::string ip;
  };

  // The mutator's verdict on an accepted socket: it always lets gRPC go on
  // (see the header); a socket over a limit is shut down first.
  bool OnAccept(int fd) {
    std::string ip = PeerIp(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return true;  // not a socket we can follow
    {
      absl::MutexLock lock(&mu);
      // A descriptor gRPC accepts again was closed since: its slot is free.
      if (auto it = held.find(fd); it != held.end()) {
        limits->Release(it->second.ip);
        held.erase(it);
      }
      if (++since_reclaim >= kReclaimEvery) ReclaimLocked();
    }
    // Without mu: a full limit calls the reclaimers, Reclaim among them.
    if (std::optional<std::string> full = limits->Admit(ip)) {
      ::shutdown(fd, SHUT_RDWR);
      const int64_t n = refused.fetch_add(1, std::memory_order_relaxed) + 1;
      LOG_EVERY_T(WARNING, 10) << "gRPC client listener refuses connections over " << *full
                               << " (from " << ip << "; " << n << " refused so far)";
      return true;
    }
    absl::MutexLock lock(&mu);
    held.emplace(fd, Held{st.st_ino, std::move(ip)});
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
      if (::fstat(it->first, &st) != 0 || st.st_ino != it->second.inode) {
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

// The mutator gRPC holds (reference-counted by gRPC: destroyed with the
// last channel args that name it, which may outlive GrpcConnectionLimit).
struct Mutator : grpc_socket_mutator {
  std::shared_ptr<GrpcConnectionLimit::State> state;
};

bool MutateFd(int, grpc_socket_mutator*) { return true; }

bool MutateFd2(const grpc_mutate_socket_info* info, grpc_socket_mutator* m) {
  if (info->usage != GRPC_FD_SERVER_CONNECTION_USAGE) return true;
  return static_cast<Mutator*>(m)->state->OnAccept(info->fd);
}

int Compare(grpc_socket_mutator* a, grpc_socket_mutator* b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

void Destroy(grpc_socket_mutator* m) { delete static_cast<Mutator*>(m); }

constexpr grpc_socket_mutator_vtable kVtable = {MutateFd, Compare, Destroy, MutateFd2};

// ChannelArguments::SetSocketMutator through the builder.
class MutatorOption : public grpc::ServerBuilderOption {
 public:
  explicit MutatorOption(Mutator* m) : m_(m) {}
  ~MutatorOption() override {
    if (m_ != nullptr) Destroy(m_);  // never handed over
  }
  void UpdateArguments(grpc::ChannelArguments* args) override {
    args->SetSocketMutator(m_);  // the arguments own the reference now
    m_ = nullptr;
  }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  Mutator* m_;
};

}  // namespace

GrpcConnectionLimit::GrpcConnectionLimit(std::shared_ptr<kafka::ConnectionLimits> limits)
    : state_(std::make_shared<State>(std::move(limits))) {
  std::weak_ptr<State> weak = state_;
  state_->limits->AddReclaimer([weak] {
    if (std::shared_ptr<State> s = weak.lock()) s->Reclaim();
  });
}

GrpcConnectionLimit::~GrpcConnectionLimit() = default;

void GrpcConnectionLimit::Apply(grpc::ServerBuilder& builder) {
  auto* m = new Mutator;
  grpc_socket_mutator_init(m, &kVtable);
  m->state = state_;
  builder.SetOption(std::make_unique<MutatorOption>(m));
}

int64_t GrpcConnectionLimit::refused() const {
  return state_->refused.load(std::memory_order_relaxed);
}

}  // namespace strata::server
