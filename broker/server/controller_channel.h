// ControllerChannel: how this broker reaches the controller — one
// strata.internal.Controller stub per metadata quorum voter (any voter may
// become the controller), and the one for the controller this node knows
// now. The broker lifecycle manager (registration, heartbeats), the ISR
// change sender and admin forwarding all call through it, as Kafka's
// NodeToControllerChannelManager serves every broker-to-controller request.
//
// The channels are injected, so tests point it at an in-process fake
// controller. Thread-safe: stubs are immutable after construction and gRPC
// stubs are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/server/server_config.h"
#include "broker/txn/producer_id_manager.h"
#include "strata/internal/controller.grpc.pb.h"

namespace grpc {
class Channel;
}

namespace strata::server {

class ControllerChannel {
 public:
  // `voters`: a channel per metadata quorum voter, by node id.
  // `controller_id`: the controller as this node knows it now (-1: none),
  // asked on every call since the controller moves with the quorum's leader.
  ControllerChannel(const std::map<int32_t, std::shared_ptr<grpc::Channel>>& voters,
                    std::function<int32_t()> controller_id);

  // Channels to the configured voters' CONTROLLER listeners.
  static std::map<int32_t, std::shared_ptr<grpc::Channel>> ChannelsToVoters(
      const std::vector<QuorumVoter>& voters);

  // The stub for the current controller; nullptr when none is known (or the
  // one named is not a voter). `*id` gets the controller's id either way.
  internal::Controller::Stub* controller(int32_t* id = nullptr) const;
  // The controller as this node knows it now (-1: none).
  int32_t controller_id() const { return controller_id_(); }
  // The stub for one voter; nullptr if `id` is not a voter.
  internal::Controller::Stub* voter(int32_t id) const;

  // This broker's next block of producer ids (KIP-730), for the
  // ProducerIdManager. Asks the controller this node knows; a NOT_CONTROLLER
  // answer is retried at once at the controller it names, else — as an
  // unreachable or unknown controller — after a short pause, until
  // `timeout` passes: then Unavailable. A refusal comes back as an error:
  // FailedPrecondition for STALE_BROKER_EPOCH (this broker must register
  // again), Internal for the rest. Blocks the calling thread.
  absl::StatusOr<txn::ProducerIdBlock> AllocateProducerIds(
      int32_t broker_id, int64_t broker_epoch, absl::Duration timeout = absl::Seconds(5)) const;

 private:
  std::map<int32_t, std::unique_ptr<internal::Controller::Stub>> stubs_;
  const std::function<int32_t()> controller_id_;
};

}  // namespace strata::server
