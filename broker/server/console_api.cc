#include "broker/server/console_api.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker/metadata/metadata_image.h"
#include "broker/replication/replica_manager.h"
#include "nlohmann/json.hpp"
#include "raft/node/raft_node.h"

namespace strata::server {
namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse JsonAnswer(const json& body) {
  // Names in the metadata are the users' own: invalid UTF-8 is replaced,
  // not thrown on.
  return HttpResponse::Json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

json Cluster(const NodeMetricsSources& s, const std::string& scheme) {
  json out;
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  out["node_id"] = s.node_id;
  out["controller_id"] = s.controller_id ? s.controller_id() : -1;
  out["cluster_id"] = image != nullptr ? image->cluster_id() : "";
  json brokers = json::array();
  if (image != nullptr) {
    std::map<int32_t, int64_t> leaders, replicas;
    for (const auto& [name, topic] : image->topics()) {
      for (const auto& [id, p] : topic.partitions) {
        if (p.leader >= 0) ++leaders[p.leader];
        for (int32_t r : p.replicas) ++replicas[r];
      }
    }
    for (const auto& [id, b] : image->brokers()) {
      const metadata::Endpoint* client = b.endpoint("PLAINTEXT");
      const metadata::Endpoint* http = b.endpoint("HTTP");
      brokers.push_back({
          {"id", id},
          {"host", client != nullptr ? client->host : ""},
          {"port", client != nullptr ? client->port : 0},
          {"http", http != nullptr
                       ? scheme + "://" + http->host + ":" + std::to_string(http->port)
                       : ""},
          {"rack", b.rack},
          {"live", image->IsBrokerLive(id)},
          {"fenced", b.fenced},
          {"leaders", leaders[id]},
          {"replicas", replicas[id]},
      });
    }
  }
  out["brokers"] = std::move(brokers);
  json quorum = json::object();
  if (s.raft != nullptr) {
    const raft::RaftNodeStatus st = s.raft->status();
    quorum["leader_id"] = st.leader == raft::kNoNode ? -1 : static_cast<int64_t>(st.leader.value());
    quorum["term"] = st.term.value();
    quorum["commit_index"] = st.commit.value();
    json voters = json::array();
    const int64_t now = NowMs();
    for (const auto& [peer, match] : st.match) {
      json v = {{"id", peer.value()},
                {"match_index", match.value()},
                {"lag", std::max<int64_t>(0, static_cast<int64_t>(st.last_index.value()) -
                                                 static_cast<int64_t>(match.value()))}};
      if (auto it = st.last_heard_ms.find(peer); it != st.last_heard_ms.end()) {
        v["last_heard_ms_ago"] = peer == st.id ? 0 : std::max<int64_t>(0, now - it->second);
      }
      voters.push_back(std::move(v));
    }
    quorum["voters"] = std::move(voters);
    json observers = json::array();
    for (const auto& [id, o] : st.observers) {
      observers.push_back(
          {{"id", id.value()},
           {"lag", std::max<int64_t>(0, static_cast<int64_t>(st.commit.value()) -
                                            static_cast<int64_t>(o.fetched.value()))}});
    }
    quorum["observers"] = std::move(observers);
  }
  out["quorum"] = std::move(quorum);
  return out;
}

json Topics(const NodeMetricsSources& s) {
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  // Sizes and high watermarks of the replicas held here (the leader's
  // when it is here).
  std::map<std::pair<std::string, int32_t>, replication::LocalReplicaStats> local;
  if (s.replicas != nullptr) {
    for (replication::LocalReplicaStats& r : s.replicas->LocalReplicas()) {
      local[{r.topic, r.partition}] = std::move(r);
    }
  }
  json topics = json::array();
  if (image != nullptr) {
    for (const auto& [name, topic] : image->topics()) {
      json partitions = json::array();
      for (const auto& [id, p] : topic.partitions) {
        json part = {{"partition", id},
                     {"leader", p.leader},
                     {"replicas", p.replicas},
                     {"isr", p.isr},
                     {"under_replicated", p.isr.size() < p.original_replicas().size()},
                     {"offline", image->StateOf(p) == metadata::PartitionState::kOffline}};
        if (auto it = local.find({name, id}); it != local.end()) {
          part["size_bytes"] = it->second.size_bytes;
          if (it->second.is_leader) part["high_watermark"] = it->second.high_watermark;
        }
        partitions.push_back(std::move(part));
      }
      topics.push_back({{"name", name},
                        {"internal", name.rfind("__", 0) == 0},
                        {"partitions", std::move(partitions)}});
    }
  }
  return {{"topics", std::move(topics)}};
}

json Groups(const NodeMetricsSources& s) {
  json groups = json::array();
  for (const GroupSnapshot& g : SnapshotGroups(s)) {
    json members = json::array();
    for (const GroupMember& m : g.members) {
      json assignment = json::array();
      for (const auto& [topic, partition] : m.assignment) {
        assignment.push_back({{"topic", topic}, {"partition", partition}});
      }
      members.push_back({{"member_id", m.member_id},
                         {"client_id", m.client_id},
                         {"host", m.host},
                         {"assignment", std::move(assignment)}});
    }
    json offsets = json::array();
    int64_t total = 0;
    for (const GroupPartitionOffsets& o : g.offsets) {
      json row = {{"topic", o.topic},
                  {"partition", o.partition},
                  {"committed", o.committed},
                  {"isolation", o.read_committed ? "read_committed" : "read_uncommitted"}};
      if (o.end_offset >= 0) {
        const int64_t lag = std::max<int64_t>(0, o.end_offset - o.committed);
        row["end_offset"] = o.end_offset;
        row["lag"] = lag;
        total += lag;
      } else {
        row["end_offset"] = nullptr;
        row["lag"] = nullptr;
      }
      offsets.push_back(std::move(row));
    }
    groups.push_back({{"group", g.group},
                      {"state", g.state},
                      {"protocol", g.protocol},
                      {"members", std::move(members)},
                      {"offsets", std::move(offsets)},
                      {"total_lag", total}});
  }
  return {{"node_id", s.node_id}, {"groups", std::move(groups)}};
}

json Throughput(const NodeMetricsSources& s, const metrics::Metrics* m) {
  json topics = json::array();
  if (m != nullptr) {
    for (const metrics::Metrics::TopicTotals& t : m->Totals()) {
      topics.push_back({{"topic", t.topic},
                        {"bytes_in", t.bytes_in},
                        {"records_in", t.records_in},
                        {"bytes_out", t.bytes_out},
                        {"records_out", t.records_out}});
    }
  }
  return {{"node_id", s.node_id}, {"time_ms", NowMs()}, {"topics", std::move(topics)}};
}

bool IsLoopback(absl::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

// Whether a page from `origin` is the console of one of the cluster's
// nodes (scheme, host and port of a broker's HTTP listener; a loopback
// listener under any loopback name).
bool IsClusterOrigin(const NodeMetricsSources& s, const std::string& scheme,
                     const std::string& origin) {
  std::shared_ptr<const metadata::MetadataImage> image = s.image ? s.image() : nullptr;
  if (image == nullptr || origin.empty()) return false;
  absl::string_view rest = origin;
  if (!absl::ConsumePrefix(&rest, scheme + "://")) return false;
  const size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view host = rest.substr(0, colon);
  int32_t port = 0;
  if (!absl::SimpleAtoi(rest.substr(colon + 1), &port)) return false;
  for (const auto& [id, b] : image->brokers()) {
    const metadata::Endpoint* http = b.endpoint("HTTP");
    if (http == nullptr || http->port != port) continue;
    if (http->host == host || (IsLoopback(http->host) && IsLoopback(host))) return true;
  }
  return false;
}

// The page asks every node: a node lets the other nodes' consoles read its
// answers (credentials included: client certificates), and no other page.
HttpResponse CrossOrigin(HttpResponse r, const NodeMetricsSources& s, const std::string& scheme,
                         const HttpRequest& request) {
  r.extra_headers = "Vary: Origin\r\n";
  if (IsClusterOrigin(s, scheme, request.origin)) {
    absl::StrAppend(&r.extra_headers, "Access-Control-Allow-Origin: ", request.origin,
                    "\r\nAccess-Control-Allow-Credentials: true\r\n");
  }
  return r;
}

}  // namespace

void AddConsoleRoutes(std::shared_ptr<const NodeMetricsSources> sources,
                      const metrics::Metrics* metrics, std::string http_scheme,
                      std::map<std::string, HttpHandler>& routes) {
  routes["/api/v1/cluster"] = [sources, http_scheme](const HttpRequest& r) {
    return CrossOrigin(JsonAnswer(Cluster(*sources, http_scheme)), *sources, http_scheme, r);
  };
  routes["/api/v1/topics"] = [sources, http_scheme](const HttpRequest& r) {
    return CrossOrigin(JsonAnswer(Topics(*sources)), *sources, http_scheme, r);
  };
  routes["/api/v1/groups"] = [sources, http_scheme](const HttpRequest& r) {
    return CrossOrigin(JsonAnswer(Groups(*sources)), *sources, http_scheme, r);
  };
  routes["/api/v1/throughput"] = [sources, metrics, http_scheme](const HttpRequest& r) {
    return CrossOrigin(JsonAnswer(Throughput(*sources, metrics)), *sources, http_scheme, r);
  };
  for (int i = 0; i < kConsoleAssetCount; ++i) {
    const ConsoleAsset& a = kConsoleAssets[i];
    routes[a.path] = [a](const HttpRequest&) {
      // The page's own scripts only; it reads the other nodes' JSON.
      return HttpResponse{.status = 200,
                          .content_type = a.content_type,
                          .body = a.body,
                          .extra_headers =
                              "Content-Security-Policy: default-src 'self'; connect-src *; "
                              "img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                              "frame-ancestors 'none'\r\n"};
    };
  }
}

}  // namespace strata::server
