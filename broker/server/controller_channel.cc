#include "broker/server/controller_channel.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "raft/node/raft_node.h"

namespace strata::server {

ControllerChannel::ControllerChannel(
    const std::map<int32_t, std::shared_ptr<grpc::Channel>>& voters,
    std::function<int32_t()> controller_id)
    : controller_id_(std::move(controller_id)) {
  for (const auto& [id, channel] : voters) stubs_[id] = internal::Controller::NewStub(channel);
}

std::map<int32_t, std::shared_ptr<grpc::Channel>> ControllerChannel::ChannelsToVoters(
    const std::vector<QuorumVoter>& voters) {
  std::map<int32_t, std::shared_ptr<grpc::Channel>> channels;
  // PeerChannel reconnects quickly: a restarted controller is reachable
  // again well within a heartbeat interval.
  for (const QuorumVoter& v : voters) {
    channels[v.id] = raft::PeerChannel(absl::StrCat(v.host, ":", v.port));
  }
  return channels;
}

internal::Controller::Stub* ControllerChannel::controller(int32_t* id) const {
  const int32_t current = controller_id_();
  if (id != nullptr) *id = current;
  return voter(current);
}

internal::Controller::Stub* ControllerChannel::voter(int32_t id) const {
  auto it = stubs_.find(id);
  return it == stubs_.end() ? nullptr : it->second.get();
}

}  // namespace strata::server
