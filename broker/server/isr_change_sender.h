// IsrChangeSender: sends the ISR changes partition leaders want to the
// controller (Kafka's AlterPartitionManager). Changes queue up while a
// request is in flight and go out together, up to kMaxChangesPerRequest in
// one AlterPartitionBatchRequest, so a restart that changes thousands of
// ISRs takes a few round trips rather than thousands.
//
// Every change gets exactly one result through `on_result`, in queue order:
// the controller's answer, or NOT_CONTROLLER when no controller is known,
// NETWORK_EXCEPTION when the call failed, UNKNOWN_SERVER_ERROR when the
// answer does not match the request. Retrying is the caller's decision
// (ReplicaManager::OnIsrChangeResult). Changes still queued at Stop() are
// dropped: the node is going away.
//
// Thread-safe. Enqueue() only queues (it takes nothing but its own lock), so
// a Partition may call it with its state lock held; `on_result` runs on the
// sender's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/replication/replica_manager.h"

namespace strata::server {

class ControllerChannel;

struct IsrChangeSenderOptions {
  int32_t broker_id = -1;
  // The broker epoch of this broker's registration (-1 before it has one):
  // the controller refuses changes from an earlier incarnation.
  std::function<int64_t()> broker_epoch;
  std::function<void(const replication::IsrChange&, const replication::IsrChangeResult&)> on_result;
};

class IsrChangeSender {
 public:
  // Enough for a full restart of thousands of partitions in a few round
  // trips, small enough for one request.
  static constexpr size_t kMaxChangesPerRequest = 2000;

  // `controller` must outlive this sender.
  IsrChangeSender(IsrChangeSenderOptions options, ControllerChannel* controller);
  ~IsrChangeSender();

  void Enqueue(replication::IsrChange change);
  void Start();
  // Waits for the request in flight (bounded by its deadline), then stops.
  void Stop();

 private:
  void Loop();
  // One AlterPartition round trip; a result per change, in order.
  std::vector<replication::IsrChangeResult> Send(const std::vector<replication::IsrChange>& changes,
                                                 int64_t broker_epoch);

  const IsrChangeSenderOptions options_;
  ControllerChannel* const controller_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<replication::IsrChange> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::server
