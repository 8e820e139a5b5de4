#include "tools/cluster_commands.h"

#include <algorithm>
#include <ostream>

#include "fmt/format.h"

namespace strata::tools {
namespace {

const v1::QuorumReplica* FindLeader(const v1::DescribeQuorumResponse& q) {
  for (const auto& v : q.voters()) {
    if (v.replica_id() == q.leader_id()) return &v;
  }
  return nullptr;
}

std::string IdList(const google::protobuf::RepeatedPtrField<v1::QuorumReplica>& replicas) {
  std::string out = "[";
  for (int i = 0; i < replicas.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(replicas[i].replica_id());
  }
  return out + "]";
}

}  // namespace

std::vector<std::string> FormatQuorumStatus(const v1::DescribeQuorumResponse& q) {
  int64_t max_lag = -1;
  int64_t max_lag_time = -1;
  if (const v1::QuorumReplica* leader = FindLeader(q)) {
    // The voter furthest behind; the first of equals, as Java's min() picks.
    const v1::QuorumReplica* laggard = &q.voters(0);
    for (const auto& v : q.voters()) {
      if (v.log_end_offset() < laggard->log_end_offset()) laggard = &v;
    }
    max_lag = leader->log_end_offset() - laggard->log_end_offset();
    if (laggard->replica_id() == leader->replica_id() ||
        laggard->log_end_offset() == leader->log_end_offset()) {
      max_lag_time = 0;
    } else if (leader->last_caught_up_timestamp() >= 0 &&
               laggard->last_caught_up_timestamp() >= 0) {
      max_lag_time = leader->last_caught_up_timestamp() - laggard->last_caught_up_timestamp();
    }
  }
  return {
      fmt::format("ClusterId:              {}", q.cluster_id()),
      fmt::format("LeaderId:               {}", q.leader_id()),
      fmt::format("LeaderEpoch:            {}", q.leader_epoch()),
      fmt::format("HighWatermark:          {}", q.high_watermark()),
      fmt::format("MaxFollowerLag:         {}", max_lag),
      fmt::format("MaxFollowerLagTimeMs:   {}", max_lag_time),
      fmt::format("CurrentVoters:          {}", IdList(q.voters())),
      fmt::format("CurrentObservers:       {}", IdList(q.observers())),
  };
}

std::vector<std::string> FormatQuorumReplication(const v1::DescribeQuorumResponse& q) {
  const v1::QuorumReplica* leader = FindLeader(q);
  const int64_t leader_leo = leader ? leader->log_end_offset() : 0;
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const v1::QuorumReplica& r, const char* status) {
    rows.push_back(
        {std::to_string(r.replica_id()), std::to_string(r.log_end_offset()),
         leader ? std::to_string(leader_leo - r.log_end_offset()) : "-1",
         std::to_string(r.last_fetch_timestamp() < 0 ? -1 : r.last_fetch_timestamp()),
         std::to_string(r.last_caught_up_timestamp() < 0 ? -1 : r.last_caught_up_timestamp()),
         status});
  };
  if (leader) add(*leader, "Leader");
  for (const auto& v : q.voters()) {
    if (&v != leader) add(v, "Follower");
  }
  for (const auto& o : q.observers()) add(o, "Observer");

  const std::vector<std::string> headers = {
      "NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"};
  std::vector<size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto render = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      line.append(widths[i] - row[i].size(), ' ');
      line += '\t';
    }
    return line;
  };
  std::vector<std::string> lines = {render(headers)};
  for (const auto& row : rows) lines.push_back(render(row));
  return lines;
}

std::vector<std::string> FormatBrokerList(const v1::DescribeClusterResponse& cluster) {
  std::vector<int32_t> ids;
  for (const auto& b : cluster.brokers()) {
    if (!b.fenced()) ids.push_back(b.id());
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> lines;
  for (int32_t id : ids) lines.push_back(std::to_string(id));
  return lines;
}

namespace {

int Print(const std::vector<std::string>& lines, std::ostream& out) {
  for (const auto& l : lines) out << l << "\n";
  return 0;
}

}  // namespace

int RunQuorumStatus(client::Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::DescribeQuorumResponse> q = admin.DescribeQuorum();
  if (!q.ok()) {
    err << q.status().message() << "\n";
    return 1;
  }
  return Print(FormatQuorumStatus(*q), out);
}

int RunQuorumReplication(client::Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::DescribeQuorumResponse> q = admin.DescribeQuorum();
  if (!q.ok()) {
    err << q.status().message() << "\n";
    return 1;
  }
  return Print(FormatQuorumReplication(*q), out);
}

int RunBrokerList(client::Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::DescribeClusterResponse> c = admin.DescribeCluster();
  if (!c.ok()) {
    err << "Error while listing brokers : " << c.status().message() << "\n";
    return 1;
  }
  return Print(FormatBrokerList(*c), out);
}

int RunUnregisterBroker(client::Admin& admin, int32_t broker_id, std::ostream& out,
                        std::ostream& err) {
  absl::Status s = admin.UnregisterBroker(broker_id);
  if (!s.ok()) {
    err << "Error: " << s.message() << "\n";
    return 1;
  }
  out << "Broker " << broker_id << " is no longer registered.\n";
  return 0;
}

}  // namespace strata::tools
