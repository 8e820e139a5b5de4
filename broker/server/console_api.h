// The web console: its page (broker/server/console/, built into the binary)
// at /, and the read-only JSON it reads under /api/v1/:
//
//   /api/v1/cluster     brokers (live or not, leaders, replicas, their HTTP
//                       origins), the controller, the metadata quorum
//   /api/v1/topics      topics with partitions, leaders, replicas, ISR,
//                       under-replicated and offline flags, sizes here
//   /api/v1/groups      the groups this node coordinates: members, their
//                       assignments, committed offsets, end offsets, lag
//   /api/v1/throughput  this node's per-topic byte and record counters
//
// Groups and throughput are per node (the page asks every broker, whose
// origins /api/v1/cluster lists); the JSON answers allow any origin for
// that. Everything is read at request time; nothing is cached.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/metrics/metrics.h"
#include "broker/server/http_listener.h"
#include "broker/server/node_metrics.h"

namespace strata::server {

// Adds the console's routes to `routes`. `sources` and `metrics` must
// outlive the listener.
// `http_scheme` ("http" or "https") is how the page reaches the other
// nodes' HTTP listeners (the nodes share their listeners' protocols).
void AddConsoleRoutes(std::shared_ptr<const NodeMetricsSources> sources,
                      const metrics::Metrics* metrics, std::string http_scheme,
                      std::map<std::string, HttpHandler>& routes);

// The page's files, as built into the binary (console_assets.cc, generated
// from broker/server/console/ at build time).
struct ConsoleAsset {
  const char* path;  // "/", "/console.js", ...
  const char* content_type;
  const char* body;
};
extern const ConsoleAsset kConsoleAssets[];
extern const int kConsoleAssetCount;

}  // namespace strata::server
