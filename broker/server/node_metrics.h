// NodeMetrics: the families a node reads off its state at each scrape of
// /metrics (see metrics::Metrics for the hot paths' counters): partitions
// and leaders, under-replicated, under-min-ISR and offline partitions, the
// controller, Raft, log sizes, consumer groups and their lag, producer ids
// and transactions, and the process. The names are listed in README.md
// ("Metrics").
//
//   RegisterNodeCollectors(metrics, {.node_id = 1, .image = ..., ...});
//
// Consumer lag is exported by each group's coordinator (the node that
// holds its committed offsets): per partition, the partition's high
// watermark minus the committed offset, as `consumer-groups --describe`
// computes it. The coordinator reads high watermarks of partitions it
// leads itself and asks the leaders of the others (`end_offsets`); a
// partition whose leader cannot be asked is left out rather than guessed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/metrics/metrics.h"

namespace strata::metadata {
class MetadataImage;
struct TopicInfo;
}  // namespace strata::metadata
namespace strata::raft {
class RaftNode;
}
namespace strata::group {
class GroupCoordinator;
}
namespace strata::txn {
class TransactionCoordinator;
}
namespace strata::replication {
class ReplicaManager;
}

namespace strata::server {

struct NodeMetricsSources {
  int32_t node_id = -1;
  std::function<std::shared_ptr<const metadata::MetadataImage>()> image;
  // The active controller's id (-1: none known).
  std::function<int32_t()> controller_id;
  // The effective min.insync.replicas of a topic.
  std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas;
  replication::ReplicaManager* replicas = nullptr;    // may be null
  raft::RaftNode* raft = nullptr;                     // null on a broker-only node
  group::GroupCoordinator* groups = nullptr;          // may be null
  txn::TransactionCoordinator* transactions = nullptr;  // may be null
  // Latest offsets of `partitions`, asked of their leader `leader`: the
  // high watermarks, or with `read_committed` the last stable offsets.
  // Partitions it did not answer for are left out.
  using Partitions = std::vector<std::pair<std::string, int32_t>>;
  std::function<std::map<std::pair<std::string, int32_t>, int64_t>(
      int32_t leader, const Partitions& partitions, bool read_committed)>
      end_offsets;
};

void RegisterNodeCollectors(metrics::Metrics& metrics, NodeMetricsSources sources);

// The groups this node coordinates, with their committed offsets and the
// end offsets of those partitions: what the lag metrics and the console's
// /api/v1/groups show. A partition whose offset a transaction committed
// (TxnOffsetCommit) is read read_committed: its end offset is the last
// stable offset, since records of open transactions are not yet readable.
// Otherwise it is the high watermark, as consumer-groups --describe counts.
struct GroupPartitionOffsets {
  std::string topic;
  int32_t partition = 0;
  int64_t committed = -1;
  int64_t end_offset = -1;  // -1: its leader could not be asked
  bool read_committed = false;
};
struct GroupMember {
  std::string member_id;
  std::string client_id;
  std::string host;
  std::vector<std::pair<std::string, int32_t>> assignment;  // while Stable
};
struct GroupSnapshot {
  std::string group;
  std::string state;
  std::string protocol;
  std::vector<GroupMember> members;
  std::vector<GroupPartitionOffsets> offsets;  // by topic, partition
};
std::vector<GroupSnapshot> SnapshotGroups(const NodeMetricsSources& sources);

}  // namespace strata::server
