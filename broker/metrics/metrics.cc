#include "broker/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"

namespace strata::metrics {
namespace {

// Seconds: from a fast in-memory answer (0.1 ms) to a long-polling fetch
// or a rebalance's join (tens of seconds).
const prometheus::Histogram::BucketBoundaries kRequestBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,   30};

// Raft commits: a fsync'd quorum round trip, sub-millisecond to seconds.
const prometheus::Histogram::BucketBoundaries kCommitBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

}  // namespace

prometheus::MetricFamily& Collection::Family(const std::string& name, const std::string& help,
                                             prometheus::MetricType type) {
  for (prometheus::MetricFamily& f : families_) {
    if (f.name == name) return f;
  }
  prometheus::MetricFamily& f = families_.emplace_back();
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void Collection::Gauge(const std::string& name, const std::string& help, Labels labels,
                       double value) {
  prometheus::ClientMetric& m =
      Family(name, help, prometheus::MetricType::Gauge).metric.emplace_back();
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  m.gauge.value = value;
}

void Collection::Counter(const std::string& name, const std::string& help, Labels labels,
                         double value) {
  prometheus::ClientMetric& m =
      Family(name, help, prometheus::MetricType::Counter).metric.emplace_back();
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  m.counter.value = value;
}

void Collection::DeclareGauge(const std::string& name, const std::string& help) {
  Family(name, help, prometheus::MetricType::Gauge);
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  bytes_in_ = &prometheus::BuildCounter()
                   .Name("strata_topic_bytes_in_total")
                   .Help("Bytes produced to the topic's partitions led here (Kafka's BytesInPerSec)")
                   .Register(*registry_);
  records_in_ = &prometheus::BuildCounter()
                     .Name("strata_topic_records_in_total")
                     .Help("Records produced to the topic's partitions led here (MessagesInPerSec)")
                     .Register(*registry_);
  bytes_out_ = &prometheus::BuildCounter()
                    .Name("strata_topic_bytes_out_total")
                    .Help("Bytes fetched by consumers from the topic (BytesOutPerSec)")
                    .Register(*registry_);
  records_out_ = &prometheus::BuildCounter()
                      .Name("strata_topic_records_out_total")
                      .Help("Records in the batches fetched by consumers from the topic")
                      .Register(*registry_);
  request_errors_ = &prometheus::BuildCounter()
                         .Name("strata_request_errors_total")
                         .Help("Requests answered with an error, by API and listener")
                         .Register(*registry_);
  request_seconds_ =
      &prometheus::BuildHistogram()
           .Name("strata_request_duration_seconds")
           .Help("Time from a request's arrival to its answer, time parked in the purgatory "
                 "and quota holds included, by API and listener")
           .Register(*registry_);
  isr_shrinks_ = &prometheus::BuildCounter()
                      .Name("strata_isr_shrinks_total")
                      .Help("ISR shrinks committed for partitions this broker leads")
                      .Register(*registry_)
                      .Add({});
  isr_expands_ = &prometheus::BuildCounter()
                      .Name("strata_isr_expands_total")
                      .Help("ISR expansions committed for partitions this broker leads")
                      .Register(*registry_)
                      .Add({});
  raft_commit_seconds_ = &prometheus::BuildHistogram()
                              .Name("strata_raft_commit_latency_seconds")
                              .Help("Metadata log: from a proposal to its commit, on the leader")
                              .Register(*registry_)
                              .Add({}, kCommitBuckets);
}

Metrics::~Metrics() = default;

TopicMetrics& Metrics::Topic(absl::string_view topic) {
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = topics_.find(topic); it != topics_.end() && !deleted_topics_.contains(topic)) {
      return *it->second;
    }
  }
  absl::MutexLock lock(&mu_);
  deleted_topics_.erase(topic);
  std::unique_ptr<TopicMetrics>& t = topics_[std::string(topic)];
  if (t == nullptr) {
    const prometheus::Labels labels = {{"topic", std::string(topic)}};
    t = std::make_unique<TopicMetrics>(TopicMetrics{
        .bytes_in = &bytes_in_->Add(labels),
        .records_in = &records_in_->Add(labels),
        .bytes_out = &bytes_out_->Add(labels),
        .records_out = &records_out_->Add(labels),
    });
  }
  return *t;
}

void Metrics::ForgetTopic(absl::string_view topic) {
  // The counters stay, and so does the struct (a request in flight may
  // still hold them; prometheus-cpp frees what a family removes): only
  // their series stop showing. Created again, the topic gets them back,
  // still counting up. Their memory is a few hundred bytes per topic name
  // ever seen.
  absl::MutexLock lock(&mu_);
  if (topics_.contains(topic)) deleted_topics_.insert(std::string(topic));
}

std::vector<std::string> Metrics::Topics() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(topics_.size());
  for (const auto& [name, t] : topics_) {
    if (!deleted_topics_.contains(name)) out.push_back(name);
  }
  return out;
}

std::vector<Metrics::TopicTotals> Metrics::Totals() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<TopicTotals> out;
  out.reserve(topics_.size());
  for (const auto& [name, t] : topics_) {
    if (deleted_topics_.contains(name)) continue;
    out.push_back({.topic = name,
                   .bytes_in = t->bytes_in->Value(),
                   .records_in = t->records_in->Value(),
                   .bytes_out = t->bytes_out->Value(),
                   .records_out = t->records_out->Value()});
  }
  return out;
}

RequestMetrics& Metrics::Request(absl::string_view api, absl::string_view listener) {
  const std::string key = absl::StrCat(listener, "/", api);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = requests_.find(key); it != requests_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<RequestMetrics>& r = requests_[key];
  if (r == nullptr) {
    const prometheus::Labels labels = {{"api", std::string(api)},
                                       {"listener", std::string(listener)}};
    r = std::make_unique<RequestMetrics>(&request_errors_->Add(labels),
                                         &request_seconds_->Add(labels, kRequestBuckets));
  }
  return *r;
}

void Metrics::AddCollector(std::function<void(Collection&)> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  // Collectors first: one may forget deleted topics, hidden below.
  std::vector<std::function<void(Collection&)>> collectors;
  {
    absl::ReaderMutexLock lock(&mu_);
    collectors = collectors_;
  }
  Collection c;
  for (const auto& collect : collectors) collect(c);
  std::vector<prometheus::MetricFamily> out = registry_->Collect();
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!deleted_topics_.empty()) {
      for (prometheus::MetricFamily& f : out) {
        std::erase_if(f.metric, [&](const prometheus::ClientMetric& m) {
          for (const auto& l : m.label) {
            if (l.name == "topic" && deleted_topics_.contains(l.value)) return true;
          }
          return false;
        });
      }
    }
  }
  for (prometheus::MetricFamily& f : c.Take()) out.push_back(std::move(f));
  return out;
}

std::string Metrics::Scrape() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

void CollectProcess(Collection& c) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // The command name (field 2) may hold spaces; fields count from after it.
    const size_t close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size()) {
      std::vector<std::string> f = absl::StrSplit(line.substr(close + 2), ' ');
      // f[0] is field 3 (state): field n is f[n - 3].
      auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
      c.Counter("process_cpu_seconds_total", "User and system CPU time spent in seconds.", {},
                (field(14) + field(15)) / ticks);
      c.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, field(23));
      c.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
              field(24) * page);
      std::ifstream boot("/proc/stat");
      std::string key;
      double btime = 0;
      while (boot >> key) {
        if (key == "btime") {
          boot >> btime;
          break;
        }
      }
      c.Gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", {},
              btime + field(22) / ticks);
    }
  }
  int open = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++open;
    }
    ::closedir(d);
    --open;  // the directory's own descriptor
  }
  c.Gauge("process_open_fds", "Number of open file descriptors.", {}, open);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    c.Gauge("process_max_fds", "Maximum number of open file descriptors.", {},
            static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace strata::metrics
