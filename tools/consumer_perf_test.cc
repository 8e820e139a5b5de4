#include "tools/consumer_perf_test.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <random>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

// Kafka's "yyyy-MM-dd HH:mm:ss:SSS".
std::string KafkaTime(int64_t ms) {
  absl::Time t = absl::FromUnixMillis(ms);
  return fmt::format("{}:{:03d}", absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::LocalTimeZone()),
                     ms % 1000);
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

constexpr double kMiB = 1024.0 * 1024.0;

// Per second over `ms`; 0 for an empty span (Kafka divides anyway and
// prints Infinity or NaN).
double PerSecond(double amount, int64_t ms) { return ms <= 0 ? 0.0 : amount * 1000.0 / ms; }

class PerfRebalanceListener : public client::ConsumerRebalanceListener {
 public:
  explicit PerfRebalanceListener(RebalanceTimer* timer) : timer_(timer) {}
  void OnPartitionsRevoked(const std::vector<TopicPartition>& partitions) override {
    timer_->Revoked(partitions, NowMs());
  }
  void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) override {
    timer_->Assigned(partitions, NowMs());
  }

 private:
  RebalanceTimer* timer_;
};

}  // namespace

std::string DefaultPerfGroup(uint32_t random) {
  return "perf-consumer-" + std::to_string(random % 100000);
}

absl::StatusOr<client::Properties> ConsumerPerfProperties(const ConsumerPerfOptions& options,
                                                          const client::Properties& file_props,
                                                          const std::string& group) {
  absl::StatusOr<client::Properties> extra = ParseKeyValueArgs(options.consumer_props);
  if (!extra.ok()) return extra.status();
  client::Properties props = file_props;
  for (const auto& [k, v] : *extra) props[k] = v;
  props["bootstrap.servers"] = options.bootstrap_server;
  props["group.id"] = group;
  props["max.partition.fetch.bytes"] = std::to_string(options.fetch_size);
  props["auto.offset.reset"] = options.from_latest ? "latest" : "earliest";
  props["check.crcs"] = "false";
  props.emplace("client.id", "perf-consumer-client");
  return props;
}

void RebalanceTimer::Revoked(const std::vector<TopicPartition>& partitions, int64_t now_ms) {
  for (const TopicPartition& tp : partitions) assigned_.erase(tp);
  if (assigned_.empty()) join_start_ms_ = now_ms;
}

void RebalanceTimer::Assigned(const std::vector<TopicPartition>& partitions, int64_t now_ms) {
  // Kafka counts the wait only when the consumer had nothing: a cooperative
  // rebalance that keeps some partitions costs no fetch time. Unlike Kafka,
  // an empty assignment moves the start on, so that the wait up to a later
  // non-empty one is not counted twice.
  if (assigned_.empty()) {
    total_ms_ += now_ms - join_start_ms_;
    interval_ms_ += now_ms - join_start_ms_;
    join_start_ms_ = now_ms;
  }
  assigned_.insert(partitions.begin(), partitions.end());
  ever_assigned_ = true;
}

int64_t RebalanceTimer::TakeIntervalMs() {
  const int64_t ms = interval_ms_;
  interval_ms_ = 0;
  return ms;
}

std::string ConsumerPerfHeader(bool detailed) {
  return std::string(detailed ? "time, threadId" : "start.time, end.time") +
         ", data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
         "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
}

std::string FormatConsumerPerfLine(int64_t start_ms, int64_t end_ms, int64_t bytes, int64_t records,
                                   int64_t rebalance_ms) {
  const int64_t elapsed = end_ms - start_ms;
  const int64_t fetch_ms = elapsed - rebalance_ms;
  const double mb = static_cast<double>(bytes) / kMiB;
  const double n = static_cast<double>(records);
  return fmt::format("{}, {}, {:.4f}, {:.4f}, {}, {:.4f}, {}, {}, {:.4f}, {:.4f}",
                     KafkaTime(start_ms), KafkaTime(end_ms), mb, PerSecond(mb, elapsed), records,
                     PerSecond(n, elapsed), rebalance_ms, fetch_ms, PerSecond(mb, fetch_ms),
                     PerSecond(n, fetch_ms));
}

std::string FormatConsumerProgressLine(int thread_id, int64_t bytes, int64_t last_bytes,
                                       int64_t records, int64_t last_records, int64_t start_ms,
                                       int64_t end_ms, int64_t rebalance_ms) {
  const int64_t elapsed = end_ms - start_ms;
  const int64_t fetch_ms = elapsed - rebalance_ms;
  const double interval_mb = static_cast<double>(bytes - last_bytes) / kMiB;
  const double interval_n = static_cast<double>(records - last_records);
  return fmt::format("{}, {}, {:.4f}, {:.4f}, {}, {:.4f}, {}, {}, {:.4f}, {:.4f}",
                     KafkaTime(end_ms), thread_id, static_cast<double>(bytes) / kMiB,
                     PerSecond(interval_mb, elapsed), records, PerSecond(interval_n, elapsed),
                     rebalance_ms, fetch_ms, PerSecond(interval_mb, fetch_ms),
                     PerSecond(interval_n, fetch_ms));
}

int RunConsumerPerfTest(const ConsumerPerfOptions& options, std::ostream& out, std::ostream& err) {
  if (options.messages <= 0) {
    err << "--messages must be positive\n";
    return 1;
  }
  if (options.reporting_interval_ms <= 0) {
    err << "Reporting interval must be greater than 0.\n";
    return 1;
  }
  client::Properties file_props;
  if (!options.consumer_config.empty()) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(options.consumer_config);
    if (!file.ok()) {
      err << file.status().message() << "\n";
      return 1;
    }
    file_props = *std::move(file);
  }
  const std::string group = options.group.empty()
                                ? DefaultPerfGroup(static_cast<uint32_t>(std::random_device{}()))
                                : options.group;
  absl::StatusOr<client::Properties> props = ConsumerPerfProperties(options, file_props, group);
  if (!props.ok()) {
    err << props.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> ignored;
  absl::StatusOr<client::ConsumerConfig> config =
      client::ConsumerConfig::FromProperties(*props, &ignored);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  // The admin client connects as the consumer does (its security settings).
  client::AdminConfig admin_config;
  admin_config.bootstrap_servers = options.bootstrap_server;
  admin_config.security = config->security;
  auto admin = client::Admin::Create(admin_config);
  if (!admin.ok()) {
    err << admin.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<v1::DescribeTopicsResponse> described = (*admin)->DescribeTopics({options.topic});
  if (!described.ok() || described->topics_size() != 1 ||
      described->topics(0).error() != v1::NONE) {
    err << "Topic '" << options.topic << "' does not exist\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = client::Consumer::Create(*config);
  if (!consumer.ok()) {
    err << consumer.status().message() << "\n";
    return 1;
  }
  if (!options.hide_header) out << ConsumerPerfHeader(options.show_detailed_stats) << "\n";

  const int64_t start = NowMs();
  RebalanceTimer timer(start);
  PerfRebalanceListener listener(&timer);
  if (absl::Status s = (*consumer)->Subscribe({options.topic}, &listener); !s.ok()) {
    err << s.message() << "\n";
    return 1;
  }

  int64_t records = 0, bytes = 0, last_records = 0, last_bytes = 0;
  int64_t now = NowMs();
  int64_t last_report = now;
  int64_t last_record = now;
  while (records < options.messages && now - last_record <= options.timeout_ms) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> polled =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (!polled.ok()) {
      err << polled.status().message() << "\n";
      return 1;
    }
    now = NowMs();
    if (!polled->empty()) last_record = now;
    for (const client::ConsumerRecord& r : *polled) {
      ++records;
      bytes += static_cast<int64_t>(r.value.value_or("").size() + r.key.value_or("").size());
      if (now - last_report >= options.reporting_interval_ms) {
        if (options.show_detailed_stats) {
          out << FormatConsumerProgressLine(0, bytes, last_bytes, records, last_records,
                                            last_report, now, timer.TakeIntervalMs())
              << "\n";
        }
        last_report = now;
        last_records = records;
        last_bytes = bytes;
      }
    }
  }
  if (records < options.messages) {
    out << "WARNING: Exiting before consuming the expected number of messages: timeout ("
        << options.timeout_ms
        << " ms) exceeded. You can use the --timeout option to increase the timeout.\n";
  }
  const int64_t end = NowMs();
  // Kafka takes the end time before closing the consumer: leaving the group
  // is not part of the figures.
  (*consumer)->Close();
  if (!options.show_detailed_stats) {
    out << FormatConsumerPerfLine(start, end, bytes, records, timer.total_ms()) << "\n";
  }
  return 0;
}

}  // namespace strata::tools
