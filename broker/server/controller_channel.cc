#include "broker/server/controller_channel.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "raft/node/raft_node.h"

namespace strata::server {
namespace {

// The longest one controller call may take, and the pause before asking
// again when no controller answered.
constexpr absl::Duration kCallTimeout = absl::Seconds(5);
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

}  // namespace

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

absl::StatusOr<txn::ProducerIdBlock> ControllerChannel::AllocateProducerIds(
    int32_t broker_id, int64_t broker_epoch, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  internal::AllocateProducerIdsRequest request;
  request.set_broker_id(broker_id);
  request.set_broker_epoch(broker_epoch);
  std::string why = "no controller is known";
  // A controller named by the last NOT_CONTROLLER answer, asked next without
  // a pause (once: two nodes naming each other must not spin).
  int32_t hint = -1;
  while (true) {
    int32_t id = hint;
    internal::Controller::Stub* stub = hint >= 0 ? voter(hint) : controller(&id);
    const bool followed_hint = hint >= 0;
    hint = -1;
    if (stub != nullptr) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(std::min(deadline, absl::Now() + kCallTimeout)));
      internal::AllocateProducerIdsResponse response;
      grpc::Status s = stub->AllocateProducerIds(&ctx, request, &response);
      if (s.ok() && response.error() == v1::NONE) {
        if (response.count() <= 0 || response.first_id() < 0) {
          return absl::InternalError(absl::StrCat("controller ", id, " granted ", response.count(),
                                                  " producer ids from ", response.first_id()));
        }
        return txn::ProducerIdBlock{.first_id = response.first_id(), .count = response.count()};
      }
      if (s.ok() && response.error() == v1::STALE_BROKER_EPOCH) {
        return absl::FailedPreconditionError(response.error_message());
      }
      if (s.ok() && response.error() != v1::NOT_CONTROLLER) {
        return absl::InternalError(absl::StrCat("controller ", id,
                                                " refused: ", v1::ErrorCode_Name(response.error()),
                                                " ", response.error_message()));
      }
      if (!s.ok() && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        // The block may have been granted all the same; it is then skipped.
        return absl::DeadlineExceededError(
            absl::StrCat("controller ", id, " did not answer in time: ", s.error_message()));
      }
      // NOT_CONTROLLER; or the node is down, or a broker-only node's
      // service that predates this RPC (UNIMPLEMENTED): ask again.
      why = s.ok() ? absl::StrCat("node ", id, ": ", response.error_message())
                   : absl::StrCat("controller ", id, " did not answer: ", s.error_message());
      if (s.ok() && !followed_hint && response.controller_hint() >= 0 &&
          response.controller_hint() != id && voter(response.controller_hint()) != nullptr) {
        hint = response.controller_hint();
        continue;
      }
    }
    if (absl::Now() + kRetryPause >= deadline) {
      return absl::UnavailableError(absl::StrCat("no controller granted producer ids in ",
                                                 absl::FormatDuration(timeout), ": ", why));
    }
    absl::SleepFor(kRetryPause);
  }
}

}  // namespace strata::server
