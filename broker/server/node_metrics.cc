#include "broker/server/node_metrics.h"

#include <algorithm>
#include <future>
#include <set>
#include <tuple>
#include <utility>

#include "broker/group/group_coordinator.h"
#include "broker/metadata/metadata_image.h"
#include "broker/replication/replica_manager.h"
#include "broker/txn/transaction_coordinator.h"
#include "client/consumer_protocol.h"
#include "raft/node/raft_node.h"

namespace strata::server {
namespace {

using Labels = metrics::Collection::Labels;

void CollectPartitions(const NodeMetricsSources& s, metrics::Collection& c) {
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  int64_t hosted = 0, led = 0, under_replicated = 0, under_min_isr = 0, offline = 0;
  const bool active_controller = s.controller_id && s.controller_id() == s.node_id;
  if (image != nullptr) {
    for (const auto& [name, topic] : image->topics()) {
      const int32_t min_isr = s.min_insync_replicas ? s.min_insync_replicas(topic) : 1;
      for (const auto& [id, p] : topic.partitions) {
        if (std::find(p.replicas.begin(), p.replicas.end(), s.node_id) != p.replicas.end()) {
          ++hosted;
        }
        if (p.leader == s.node_id) {
          ++led;
          // During a reassignment, against the replicas before it (Kafka's
          // replication factor of an ongoing reassignment).
          if (p.isr.size() < p.original_replicas().size()) ++under_replicated;
          if (static_cast<int32_t>(p.isr.size()) < min_isr) ++under_min_isr;
        }
        if (active_controller && image->StateOf(p) == metadata::PartitionState::kOffline) {
          ++offline;
        }
      }
    }
  }
  c.Gauge("strata_partitions", "Partition replicas hosted by this broker (PartitionCount)", {},
          static_cast<double>(hosted));
  c.Gauge("strata_leader_partitions", "Partitions this broker leads (LeaderCount)", {},
          static_cast<double>(led));
  c.Gauge("strata_under_replicated_partitions",
          "Partitions led here whose ISR is smaller than their replica set", {},
          static_cast<double>(under_replicated));
  c.Gauge("strata_under_min_isr_partitions",
          "Partitions led here whose ISR is below min.insync.replicas (acks=all is refused)", {},
          static_cast<double>(under_min_isr));
  c.Gauge("strata_offline_partitions",
          "Partitions without a live leader; counted by the active controller only, so the "
          "cluster's sum is the count",
          {}, static_cast<double>(offline));
  c.Gauge("strata_active_controller", "1 on the node that is the active controller, else 0", {},
          active_controller ? 1 : 0);
  if (image != nullptr) {
    int64_t live = 0;
    for (const auto& [id, broker] : image->brokers()) {
      if (image->IsBrokerLive(id)) ++live;
    }
    c.Gauge("strata_brokers", "Brokers registered in the metadata", {},
            static_cast<double>(image->brokers().size()));
    c.Gauge("strata_brokers_live", "Registered brokers whose session is alive", {},
            static_cast<double>(live));
  }
}

void CollectLogs(const NodeMetricsSources& s, metrics::Collection& c) {
  c.DeclareGauge("strata_log_size_bytes", "Bytes of a partition's log on this broker");
  if (s.replicas == nullptr) return;
  for (const replication::LocalReplicaStats& r : s.replicas->LocalReplicas()) {
    Labels l = {{"topic", r.topic}, {"partition", std::to_string(r.partition)}};
    c.Gauge("strata_log_size_bytes", "Bytes of a partition's log on this broker", l,
            static_cast<double>(r.size_bytes));
    c.Gauge("strata_log_end_offset", "The next offset a partition's log on this broker takes", l,
            static_cast<double>(r.log_end_offset));
    c.Gauge("strata_log_start_offset", "The first offset a partition's log on this broker holds",
            l, static_cast<double>(r.log_start_offset));
    if (r.is_leader) {
      c.Gauge("strata_high_watermark", "A partition's high watermark, on its leader", std::move(l),
              static_cast<double>(r.high_watermark));
    }
  }
}

void CollectRaft(const NodeMetricsSources& s, metrics::Collection& c) {
  if (s.raft == nullptr) return;
  const raft::RaftNodeStatus st = s.raft->status();
  c.Gauge("strata_raft_term", "The metadata quorum's current term, as this node knows it", {},
          static_cast<double>(st.term.value()));
  c.Gauge("strata_raft_leader_id", "The metadata quorum's leader (-1: none known)", {},
          st.leader == raft::kNoNode ? -1.0 : static_cast<double>(st.leader.value()));
  c.Gauge("strata_raft_commit_index", "The metadata log's commit index on this node", {},
          static_cast<double>(st.commit.value()));
  c.Gauge("strata_raft_applied_index", "The metadata log's last index applied on this node", {},
          static_cast<double>(st.applied.value()));
  c.Gauge("strata_raft_last_index", "The metadata log's last index on this node", {},
          static_cast<double>(st.last_index.value()));
  c.Gauge("strata_raft_is_leader", "1 on the metadata quorum's leader, else 0", {},
          st.role == raft::Role::kLeader ? 1 : 0);
  c.DeclareGauge("strata_raft_follower_lag_entries",
                 "On the leader: entries of the metadata log a voter has yet to take");
  if (st.role == raft::Role::kLeader) {
    for (const auto& [peer, match] : st.match) {
      if (peer == st.id) continue;
      const double lag = static_cast<double>(st.last_index.value()) -
                         static_cast<double>(match.value());
      c.Gauge("strata_raft_follower_lag_entries",
              "On the leader: entries of the metadata log a voter has yet to take",
              {{"follower", std::to_string(peer.value())}}, std::max(0.0, lag));
    }
  }
}

// Groups coordinated here: state, members, committed offsets and lag.
void CollectGroups(const NodeMetricsSources& s, metrics::Collection& c) {
  const std::string lag_help =
      "High watermark (last stable offset where the group commits in transactions) minus the "
      "group's committed offset, by partition (exported by the group's coordinator)";
  c.DeclareGauge("strata_consumer_group_lag", lag_help);
  c.DeclareGauge("strata_consumer_group_members", "Members of a consumer group");
  for (const GroupSnapshot& g : SnapshotGroups(s)) {
    c.Gauge("strata_consumer_group_members", "Members of a consumer group", {{"group", g.group}},
            static_cast<double>(g.members.size()));
    c.Gauge("strata_consumer_group_state",
            "1 for a consumer group's current state (Empty, Stable, PreparingRebalance, "
            "CompletingRebalance)",
            {{"group", g.group}, {"state", g.state}}, 1);
    for (const GroupPartitionOffsets& o : g.offsets) {
      Labels l = {{"group", g.group}, {"topic", o.topic}, {"partition", std::to_string(o.partition)}};
      c.Gauge("strata_consumer_group_committed_offset", "A consumer group's committed offset", l,
              static_cast<double>(o.committed));
      if (o.end_offset < 0) continue;
      c.Gauge("strata_consumer_group_lag", lag_help, std::move(l),
              static_cast<double>(std::max<int64_t>(0, o.end_offset - o.committed)));
    }
  }
}

void CollectTransactions(const NodeMetricsSources& s, metrics::Collection& c) {
  if (s.transactions == nullptr) return;
  const txn::ListTransactionsResponse r = s.transactions->ListTransactions({});
  std::map<std::string, int64_t> by_state;
  std::set<int64_t> producer_ids;
  for (const txn::ListedTransaction& t : r.transactions) {
    ++by_state[t.state];
    producer_ids.insert(t.producer_id);
  }
  c.Gauge("strata_transactions_open",
          "Transactions this node coordinates that are under way (Ongoing, PrepareCommit, "
          "PrepareAbort)",
          {},
          static_cast<double>(by_state["Ongoing"] + by_state["PrepareCommit"] +
                              by_state["PrepareAbort"]));
  c.Gauge("strata_transactional_ids", "Transactional ids this node coordinates", {},
          static_cast<double>(r.transactions.size()));
  c.Gauge("strata_transactional_producer_ids",
          "Distinct producer ids of the transactional ids this node coordinates", {},
          static_cast<double>(producer_ids.size()));
}

// Deleted topics' counters stop showing (Kafka removes their metrics).
void ForgetDeletedTopics(const NodeMetricsSources& s, metrics::Metrics& m) {
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  if (image == nullptr) return;
  for (const std::string& topic : m.Topics()) {
    if (image->FindTopic(topic) == nullptr) m.ForgetTopic(topic);
  }
}

}  // namespace

void RegisterNodeCollectors(metrics::Metrics& metrics, NodeMetricsSources sources) {
  auto s = std::make_shared<NodeMetricsSources>(std::move(sources));
  metrics.AddCollector([s, m = &metrics](metrics::Collection& c) {
    ForgetDeletedTopics(*s, *m);
    CollectPartitions(*s, c);
    CollectLogs(*s, c);
    CollectRaft(*s, c);
    CollectGroups(*s, c);
    CollectTransactions(*s, c);
    if (s->replicas != nullptr) {
      c.Gauge("strata_active_producer_ids",
              "Producer ids with state in the partitions this broker leads", {},
              static_cast<double>(s->replicas->ActiveProducerIds()));
    }
    metrics::CollectProcess(c);
  });
}

std::vector<GroupSnapshot> SnapshotGroups(const NodeMetricsSources& s) {
  std::vector<GroupSnapshot> out;
  if (s.groups == nullptr) return out;
  const group::ListGroupsResponse listed = s.groups->ListGroups({});
  if (listed.groups.empty()) return out;
  std::vector<std::string> ids;
  for (const group::ListedGroup& g : listed.groups) ids.push_back(g.group_id);
  for (const group::GroupDescription& d : s.groups->DescribeGroups(ids)) {
    if (d.result.error != ErrorCode::kNone) continue;
    GroupSnapshot& g = out.emplace_back();
    g.group = d.group_id;
    g.state = d.state;
    g.protocol = d.protocol_name;
    for (const group::DescribedMember& m : d.members) {
      GroupMember& member = g.members.emplace_back();
      member.member_id = m.member_id;
      member.client_id = m.client_id;
      member.host = m.client_host;
      if (d.protocol_type == "consumer" && !m.assignment.empty()) {
        if (absl::StatusOr<client::ConsumerAssignment> a = client::DecodeAssignment(m.assignment);
            a.ok()) {
          for (const strata::TopicPartition& tp : a->partitions) {
            member.assignment.emplace_back(tp.topic, tp.partition.value());
          }
        }
      }
    }
  }
  // Committed offsets, then the end offsets of their partitions: those led
  // here read locally, the others asked of their leaders.
  using Key = std::tuple<std::string, int32_t, bool>;  // topic, partition, read_committed
  std::set<Key> partitions;
  for (GroupSnapshot& g : out) {
    group::OffsetFetchRequest request;
    request.group_id = g.group;
    const group::OffsetFetchResponse r = s.groups->OffsetFetch(request);
    if (r.result.error != ErrorCode::kNone) continue;
    for (const group::FetchedOffset& o : r.offsets) {
      if (o.error != ErrorCode::kNone || o.offset < 0) continue;
      g.offsets.push_back({.topic = o.tp.topic,
                           .partition = o.tp.partition,
                           .committed = o.offset,
                           .end_offset = -1,
                           .read_committed = o.transactional});
      partitions.insert({o.tp.topic, o.tp.partition, o.transactional});
    }
  }
  if (partitions.empty()) return out;
  std::map<Key, int64_t> end;
  std::map<std::pair<int32_t, bool>, NodeMetricsSources::Partitions> remote;  // by leader
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  for (const auto& [topic, partition, read_committed] : partitions) {
    if (s.replicas != nullptr) {
      const replication::OffsetResult r =
          s.replicas->ListOffset(topic, partition, /*latest*/ -1, read_committed);
      if (r.error == ErrorCode::kNone) {
        end[{topic, partition, read_committed}] = r.offset;
        continue;
      }
    }
    const metadata::PartitionInfo* p =
        image != nullptr ? image->FindPartition(topic, partition) : nullptr;
    if (p != nullptr && p->leader >= 0 && p->leader != s.node_id) {
      remote[{p->leader, read_committed}].emplace_back(topic, partition);
    }
  }
  if (s.end_offsets) {
    // The leaders at once (each answer bounded by end_offsets' deadline);
    // leaders the image shows dead are not waited for.
    std::vector<std::future<std::map<Key, int64_t>>> asked;
    for (auto& [by, tps] : remote) {
      const auto [leader, read_committed] = by;
      if (image != nullptr && !image->IsBrokerLive(leader)) continue;
      asked.push_back(std::async(
          std::launch::async,
          [&s, leader = leader, read_committed = read_committed, tps = std::move(tps)] {
            std::map<Key, int64_t> got;
            for (const auto& [tp, offset] : s.end_offsets(leader, tps, read_committed)) {
              got[{tp.first, tp.second, read_committed}] = offset;
            }
            return got;
          }));
    }
    for (auto& answer : asked) end.merge(answer.get());
  }
  for (GroupSnapshot& g : out) {
    for (GroupPartitionOffsets& o : g.offsets) {
      if (auto it = end.find({o.topic, o.partition, o.read_committed}); it != end.end()) {
        o.end_offset = it->second;
      }
    }
  }
  return out;
}

}  // namespace strata::server
