// LeaderEndpoint: how a follower's replica fetcher reaches one leader broker
// (Kafka's LeaderEndPoint). The fetcher speaks only these protocol-neutral
// requests and answers; the transport (gRPC's internal Replica service
// today, broker/server/grpc_leader_endpoint.h) converts them at its edge,
// and tests put an in-process leader behind the same interface.
//
// Two kinds of failure, kept apart on purpose: a call that did not reach
// the leader or got no answer (no address for it yet, connection refused, a
// deadline, Close) is a non-OK absl::Status — the fetcher backs off and
// asks again, its partitions untouched. A leader that answered refuses
// partitions one by one, with Kafka's codes in each partition's `error`
// (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, OFFSET_OUT_OF_RANGE, ...),
// and the fetcher acts on each.
//
// Thread-safety: Fetch and OffsetForLeaderEpoch are called by one thread at
// a time (the fetcher's); Close may be called from any thread, at any time,
// including while a call is in flight.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/common/error_code.h"
#include "broker/replication/results.h"
#include "client/common/ids.h"

namespace strata::replication {

// --- Fetch: a follower pulls records from its log end on (one request for
// every partition it follows with this leader). ---

struct FetchPartition {
  TopicPartition tp;
  // The follower's log end offset: it has every record below it, which is
  // what moves the leader's high watermark.
  int64_t fetch_offset = 0;
  // The leader epoch the follower follows; a leader in another epoch
  // refuses (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
  int32_t current_leader_epoch = -1;
  int32_t partition_max_bytes = 0;  // replica.fetch.max.bytes
  // The follower's log start offset.
  int64_t log_start_offset = 0;
};

// An incremental fetch session (KIP-227; broker/request/fetch_sessions.h):
// opened by a full fetch; then each fetch names only the partitions added
// or changed since the one before, and those dropped, and the leader
// answers only partitions with something new. None set: a full fetch.
struct FetchSessionFields {
  bool open = false;
  int32_t id = 0;
  int32_t epoch = 0;  // this fetch's number in the session, from 1
  std::vector<TopicPartition> forgotten;
};

struct FetchRequest {
  int32_t replica_id = -1;
  // Long poll: the leader answers once min_bytes are there or max_wait_ms
  // passed (replica.fetch.wait.max.ms).
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 1;
  int32_t max_bytes = 0;  // replica.fetch.response.max.bytes
  std::vector<FetchPartition> partitions;
  FetchSessionFields session;
};

// What the leader's ReplicaManager::ReadForFollower answered for `tp`:
// whole v2 batches from the fetch offset on, as the leader stores them; the
// log end offset comes with OFFSET_OUT_OF_RANGE too (a follower past it
// truncates to it).
struct FetchPartitionData {
  TopicPartition tp;
  FetchResult result;
};

struct FetchResponse {
  // At most one entry per partition asked for; one left out is asked again
  // (in a session: has nothing new).
  std::vector<FetchPartitionData> partitions;
  // The session the fetch opened or used (0: none), or why the leader
  // refused it (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH:
  // nothing was read).
  int32_t session_id = 0;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

// --- OffsetForLeaderEpoch (KIP-101): where a follower's last epoch ends in
// the leader's log, so the follower cuts only what diverged. ---

struct OffsetForLeaderPartition {
  TopicPartition tp;
  int32_t current_leader_epoch = -1;
  // The latest epoch in the follower's log.
  int32_t leader_epoch = -1;
};

struct OffsetForLeaderEpochRequest {
  int32_t replica_id = -1;
  std::vector<OffsetForLeaderPartition> partitions;
};

// What the leader's ReplicaManager::EndOffsetForEpoch answered for `tp`: the
// largest epoch at or below the one asked for and where it ends in the
// leader's log; -1 / -1 when the leader cannot say.
struct EpochEndOffset {
  TopicPartition tp;
  EpochEndResult result;
};

struct OffsetForLeaderEpochResponse {
  std::vector<EpochEndOffset> partitions;
};

class LeaderEndpoint {
 public:
  virtual ~LeaderEndpoint() = default;

  // A non-OK status: the leader was not reached or did not answer in time
  // (UNAVAILABLE, DEADLINE_EXCEEDED, ...; CANCELLED after Close).
  virtual absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request) = 0;
  virtual absl::StatusOr<OffsetForLeaderEpochResponse> OffsetForLeaderEpoch(
      const OffsetForLeaderEpochRequest& request) = 0;

  // Ends the call in flight, if any, at once (a long poll too) and makes
  // every later call fail: the fetcher is stopping. Does not block.
  virtual void Close() = 0;
};

}  // namespace strata::replication
