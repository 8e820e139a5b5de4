// Metrics: a node's Prometheus registry (prometheus-cpp), the instruments
// the hot paths record into, and the collectors that read the node's state
// when /metrics is scraped.
//
//   Metrics metrics;
//   TopicMetrics& t = metrics.Topic("orders");       // once per topic; a stable reference
//   t.bytes_in->Increment(batch_bytes);                // per batch, not per record
//   metrics.Request("Produce", "kafka").Observe(seconds, /*error=*/false);
//   metrics.AddCollector([&](Collection& c) {          // read at each scrape
//     c.Gauge("strata_partitions", "Partitions on this broker", {}, count);
//   });
//   std::string text = metrics.Scrape();               // Prometheus text format 0.0.4
//
// Recording costs an atomic add (counters) or a short lock (histograms):
// per request or per batch, never per record. Everything derived from state
// (partition counts, lag, log sizes, Raft) is computed at scrape time by
// collectors, so it costs the hot path nothing. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace strata::metrics {

// Kafka's BrokerTopicMetrics, per topic.
struct TopicMetrics {
  prometheus::Counter* bytes_in;     // produced, as appended
  prometheus::Counter* records_in;
  prometheus::Counter* bytes_out;    // fetched by consumers (not followers)
  prometheus::Counter* records_out;  // batches' record counts, as served
};

// One API on one listener: calls, failed calls, and the time from a
// request's arrival to its answer (time parked in the purgatory included).
class RequestMetrics {
 public:
  RequestMetrics(prometheus::Counter* errors, prometheus::Histogram* seconds)
      : errors_(errors), seconds_(seconds) {}
  void Observe(double seconds, bool error) {
    seconds_->Observe(seconds);  // its count is the call count
    if (error) errors_->Increment();
  }

 private:
  prometheus::Counter* errors_;
  prometheus::Histogram* seconds_;
};

// What a collector adds at scrape time.
class Collection {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void Gauge(const std::string& name, const std::string& help, Labels labels, double value);
  void Counter(const std::string& name, const std::string& help, Labels labels, double value);
  // A family with no samples yet still shows its HELP and TYPE lines.
  void DeclareGauge(const std::string& name, const std::string& help);

  std::vector<prometheus::MetricFamily> Take() { return std::move(families_); }

 private:
  prometheus::MetricFamily& Family(const std::string& name, const std::string& help,
                                   prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The counters of `topic`, created on first use. The reference stays
  // valid for the Metrics' life (ForgetTopic too keeps the counters).
  TopicMetrics& Topic(absl::string_view topic);
  // Hides a deleted topic's series (until it is created again).
  void ForgetTopic(absl::string_view topic);
  // The topics with counters (not forgotten).
  std::vector<std::string> Topics() const;
  // Their counters' values now.
  struct TopicTotals {
    std::string topic;
    double bytes_in = 0, records_in = 0, bytes_out = 0, records_out = 0;
  };
  std::vector<TopicTotals> Totals() const;

  // The instruments of `api` (Kafka's API name: "Produce", "Fetch", ...) on
  // `listener` ("grpc", "kafka").
  RequestMetrics& Request(absl::string_view api, absl::string_view listener);

  // Counters owned here for modules that only count events.
  prometheus::Counter& isr_shrinks() { return *isr_shrinks_; }
  prometheus::Counter& isr_expands() { return *isr_expands_; }
  // Raft: from a proposal to its commit, on the leader.
  prometheus::Histogram& raft_commit_seconds() { return *raft_commit_seconds_; }

  // `collect` runs at every scrape (on the scraping thread), adding the
  // families it reads off the node's state. Register before serving.
  void AddCollector(std::function<void(Collection&)> collect);

  // Every family, in Prometheus' text exposition format.
  std::string Scrape() const;
  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* bytes_in_;
  prometheus::Family<prometheus::Counter>* records_in_;
  prometheus::Family<prometheus::Counter>* bytes_out_;
  prometheus::Family<prometheus::Counter>* records_out_;
  prometheus::Family<prometheus::Counter>* request_errors_;
  prometheus::Family<prometheus::Histogram>* request_seconds_;
  prometheus::Counter* isr_shrinks_;
  prometheus::Counter* isr_expands_;
  prometheus::Histogram* raft_commit_seconds_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<TopicMetrics>> topics_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<RequestMetrics>> requests_
      ABSL_GUARDED_BY(mu_);  // by "listener/api"
  absl::flat_hash_set<std::string> deleted_topics_ ABSL_GUARDED_BY(mu_);  // series hidden
  std::vector<std::function<void(Collection&)>> collectors_ ABSL_GUARDED_BY(mu_);
};

// The process' CPU time, RSS, virtual memory, open and maximum descriptors
// and start time, under the names Prometheus' client libraries use
// (process_cpu_seconds_total, process_resident_memory_bytes, ...), read
// from /proc/self.
void CollectProcess(Collection& c);

}  // namespace strata::metrics
