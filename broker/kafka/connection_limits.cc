#include "broker/kafka/connection_limits.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace strata::kafka {

absl::StatusOr<std::shared_ptr<ConnectionLimits>> ConnectionLimits::Create(const Options& options) {
  std::unordered_map<std::string, int32_t> overrides;
  for (const auto& [host, limit] : options.max_connections_per_ip_overrides) {
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
        ::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
      overrides[host] = limit;
      continue;
    }
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || !found) {
      return absl::InvalidArgumentError(
          absl::StrCat("max.connections.per.ip.overrides names host ", host,
                       ", which does not resolve: ", gai_strerror(rc)));
    }
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char ip[INET_ADDRSTRLEN] = "";
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, ip, sizeof(ip));
      overrides[ip] = limit;
    }
    ::freeaddrinfo(found);
  }
  return std::shared_ptr<ConnectionLimits>(new ConnectionLimits(options, std::move(overrides)));
}

std::optional<std::string> ConnectionLimits::Admit(const std::string& ip) {
  std::optional<std::string> full = TryAdmit(ip);
  if (!full) return full;
  std::vector<std::function<void()>> reclaimers;
  {
    absl::MutexLock l(&mu_);
    reclaimers = reclaimers_;
  }
  if (reclaimers.empty()) return full;
  for (const auto& reclaim : reclaimers) reclaim();
  return TryAdmit(ip);
}

void ConnectionLimits::AddReclaimer(std::function<void()> reclaim) {
  absl::MutexLock l(&mu_);
  reclaimers_.push_back(std::move(reclaim));
}

std::optional<std::string> ConnectionLimits::TryAdmit(const std::string& ip) {
  absl::MutexLock l(&mu_);
  if (open_ >= max_connections_) return absl::StrCat("max.connections (", max_connections_, ")");
  auto o = overrides_.find(ip);
  const bool overridden = o != overrides_.end();
  const int32_t limit = overridden ? o->second : max_per_ip_;
  auto it = open_per_ip_.find(ip);
  const int32_t count = it == open_per_ip_.end() ? 0 : it->second;
  if (count >= limit) {
    return absl::StrCat(
        overridden ? "max.connections.per.ip.overrides (" : "max.connections.per.ip (", limit, ")");
  }
  ++open_per_ip_[ip];
  ++open_;
  return std::nullopt;
}

void ConnectionLimits::Release(const std::string& ip) {
  absl::MutexLock l(&mu_);
  --open_;
  auto it = open_per_ip_.find(ip);
  if (it != open_per_ip_.end() && --it->second <= 0) open_per_ip_.erase(it);
}

int32_t ConnectionLimits::open() const {
  absl::MutexLock l(&mu_);
  return open_;
}

}  // namespace strata::kafka
