#include "client/connection_pool.h"

#include <string_view>

#include "absl/strings/numbers.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace strata::client {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseBootstrapServers(const std::string& list) {
  std::vector<std::string> out;
  std::string_view rest = list;
  while (true) {
    size_t comma = rest.find(',');
    std::string entry = Trim(rest.substr(0, comma));
    if (!entry.empty()) {
      size_t colon = entry.rfind(':');
      int port = 0;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port <= 0 || port > 65535) {
        return absl::InvalidArgumentError(
            fmt::format("Invalid url in bootstrap.servers: {} (expected host:port)", entry));
      }
      out.push_back(entry);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        "No resolvable bootstrap urls given in bootstrap.servers (expected host:port[,host:port])");
  }
  return out;
}

absl::Status CallAnyNode(const std::vector<std::string>& targets, std::atomic<size_t>* preferred,
                         const std::function<absl::Status(const std::string& target)>& call) {
  if (targets.empty()) return absl::InvalidArgumentError("no nodes to send the request to");
  size_t start = preferred->load() % targets.size();
  absl::Status last;
  for (size_t i = 0; i < targets.size(); ++i) {
    size_t index = (start + i) % targets.size();
    last = call(targets[index]);
    if (!IsNetworkError(last)) {
      preferred->store(index);
      return last;
    }
  }
  if (targets.size() == 1) return last;
  std::string all;
  for (const auto& t : targets) all += (all.empty() ? "" : ",") + t;
  return absl::Status(last.code(), fmt::format("No node of {} answered; last error: {}", all,
                                               std::string(last.message())));
}

ConnectionPool::ConnectionPool(const SecurityConfig& security, const std::string& client_id)
    : security_(ChannelSecurity::Create(security, client_id)) {}

std::shared_ptr<grpc::Channel> ConnectionPool::Get(const std::string& target) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(target);
  if (it != channels_.end()) return it->second;
  grpc::ChannelArguments args;
  // Record batches can be large; the broker enforces its own limits.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Reconnect as Kafka clients do (reconnect.backoff.ms=50,
  // reconnect.backoff.max.ms=1000) rather than with gRPC's backoff, which
  // grows to two minutes; and re-resolve a failed target within 100 ms
  // instead of gRPC's 30 s, so a restarted node is found at once. (Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the minimum connect
  // timeout, and a small one cuts off handshakes with a busy server.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
  std::shared_ptr<grpc::Channel> channel;
  if (security_.ok()) {
    channel = (*security_)->MakeChannel(target, args);
  } else {
    // Never a channel with less security than asked for: one that reaches
    // nothing, until the client's Create reports status().
    channel = grpc::CreateCustomChannel("unix:/nonexistent/strata-unusable-security-config",
                                        grpc::InsecureChannelCredentials(), args);
  }
  channels_.emplace(target, channel);
  return channel;
}

}  // namespace strata::client
