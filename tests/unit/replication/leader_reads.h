// What a leader answers a follower, read straight from its ReplicaManager
// as the request layer reads it (broker/request/handlers.cc): the pieces the
// in-process LeaderEndpoints of the replication tests are built from.
#pragma once

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/replication/leader_endpoint.h"
#include "broker/replication/replica_manager.h"

namespace strata::replication::testing {

// Polls `done` until it holds or `patience` passes.
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration patience = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + patience;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// Every partition of `request`, read for its follower.
inline FetchResponse ReadForFollower(ReplicaManager* leader, const FetchRequest& request) {
  FetchResponse response;
  for (const FetchPartition& p : request.partitions) {
    response.partitions.push_back(FetchPartitionData{
        p.tp, leader->ReadForFollower(request.replica_id, p.tp.topic, p.tp.partition.value(),
                                      p.fetch_offset, p.current_leader_epoch, p.partition_max_bytes,
                                      p.log_start_offset)});
  }
  return response;
}

// Whether a parked fetch of `request` would now be answered.
inline bool FollowerHasData(ReplicaManager* leader, const FetchRequest& request) {
  for (const FetchPartition& p : request.partitions) {
    if (leader->FollowerHasDataAt(request.replica_id, p.tp.topic, p.tp.partition.value(),
                                  p.fetch_offset)) {
      return true;
    }
  }
  return false;
}

// No records and no errors: a fetch that would wait.
inline bool IsEmpty(const FetchResponse& response) {
  for (const FetchPartitionData& d : response.partitions) {
    if (d.result.error != ErrorCode::kNone || !d.result.records.empty()) return false;
  }
  return true;
}

inline OffsetForLeaderEpochResponse EpochEnds(ReplicaManager* leader,
                                              const OffsetForLeaderEpochRequest& request) {
  OffsetForLeaderEpochResponse response;
  for (const OffsetForLeaderPartition& p : request.partitions) {
    response.partitions.push_back(
        EpochEndOffset{p.tp, leader->EndOffsetForEpoch(p.tp.topic, p.tp.partition.value(),
                                                       p.current_leader_epoch, p.leader_epoch)});
  }
  return response;
}

}  // namespace strata::replication::testing
