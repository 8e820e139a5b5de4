// The client's view of the cluster: brokers and, for the topics it uses,
// each partition's leader. Filled from Broker.Metadata, which any node
// answers; the producer and the consumer route requests to partition leaders
// with it and refresh it when a broker answers NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION, or cannot be reached.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/connection_pool.h"
#include "strata/v1/common.pb.h"

namespace strata::client {

inline constexpr int32_t kNoLeader = -1;

struct PartitionInfo {
  int32_t partition = 0;
  int32_t leader = kNoLeader;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  v1::ErrorCode error = v1::NONE;
};

struct TopicInfo {
  std::string name;
  std::string topic_id;
  v1::ErrorCode error = v1::NONE;
  std::string error_message;
  // Indexed by partition id.
  std::vector<PartitionInfo> partitions;
};

class MetadataCache {
 public:
  MetadataCache(std::vector<std::string> bootstrap, ConnectionPool* pool,
                absl::Duration request_timeout);

  // Asks any node (the bootstrap list, then brokers learned so far) for
  // `topics` and replaces what is cached for them. A topic the cluster does
  // not know is cached with its error (UNKNOWN_TOPIC_OR_PARTITION). Returns
  // an error only when no node answered.
  absl::Status Refresh(const std::vector<std::string>& topics);

  // The cached topic, if a refresh has seen it (possibly with an error).
  std::optional<TopicInfo> Topic(const std::string& name) const;
  // The cached topic's error and partition count, without copying it (the
  // producer asks this for every record); nullopt when not cached.
  std::optional<std::pair<v1::ErrorCode, int32_t>> PartitionCount(const std::string& name) const;
  // The partition's leader, or kNoLeader when unknown.
  int32_t Leader(const std::string& topic, int32_t partition) const;
  // "host:port" of a broker, if known.
  std::optional<std::string> BrokerAddress(int32_t broker_id) const;

  // Records a leader named by a broker's leader_hint, so a retry can go
  // there before the next refresh. Ignored for unknown brokers.
  void SetLeaderHint(const std::string& topic, int32_t partition, int32_t leader);
  // Forgets the partition's leader: the next lookup says kNoLeader until a
  // refresh.
  void InvalidateLeader(const std::string& topic, int32_t partition);

  std::string cluster_id() const;

  // Calls `call` on the nodes Refresh asks (CallAnyNode: the next node on a
  // network error; a node that answered is asked first next time), for
  // requests any node answers.
  absl::Status CallAnyNode(const std::function<absl::Status(const std::string& target)>& call);

 private:
  std::vector<std::string> Candidates() const;

  const std::vector<std::string> bootstrap_;
  ConnectionPool* const pool_;
  const absl::Duration request_timeout_;
  std::atomic<size_t> preferred_{0};

  mutable absl::Mutex mu_;
  std::string cluster_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, std::string> brokers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, TopicInfo> topics_ ABSL_GUARDED_BY(mu_);
  // Changes (under mu_) whenever topics_ does; no two caches of the process
  // ever have the same value, so a thread's remembered PartitionCount answer
  // (see there) can name the cache and its state in one number.
  std::atomic<uint64_t> generation_;
};

}  // namespace strata::client
