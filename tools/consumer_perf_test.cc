#include "tools/consumer_perf_test.h"

#include <fmt/format.h>

#include <chrono>
#include <ostream>

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

}  // namespace

std::string FormatConsumerPerfLine(int64_t start_ms, int64_t end_ms, int64_t bytes,
                                   int64_t records) {
  const double secs = std::max<int64_t>(1, end_ms - start_ms) / 1000.0;
  const double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  // No group rebalance happens, so the fetch time is the whole run.
  return fmt::format("{}, {}, {:.4f}, {:.4f}, {}, {:.4f}, 0, {}, {:.4f}, {:.4f}",
                     KafkaTime(start_ms), KafkaTime(end_ms), mb, mb / secs, records, records / secs,
                     end_ms - start_ms, mb / secs, records / secs);
}

int RunConsumerPerfTest(const ConsumerPerfOptions& options, std::ostream& out, std::ostream& err) {
  if (options.messages <= 0) {
    err << "--messages must be positive\n";
    return 1;
  }
  auto admin = client::Admin::Create(client::AdminConfig{options.bootstrap_server});
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
  absl::StatusOr<client::Properties> props = ParseKeyValueArgs(options.consumer_props);
  if (!props.ok()) {
    err << props.status().message() << "\n";
    return 1;
  }
  (*props)["bootstrap.servers"] = options.bootstrap_server;
  (*props)["max.partition.fetch.bytes"] = std::to_string(options.fetch_size);
  std::vector<std::string> ignored;
  absl::StatusOr<client::ConsumerConfig> config =
      client::ConsumerConfig::FromProperties(*props, &ignored);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = client::Consumer::Create(*config);
  if (!consumer.ok()) {
    err << consumer.status().message() << "\n";
    return 1;
  }
  std::vector<TopicPartition> partitions;
  for (const auto& p : described->topics(0).partitions()) {
    partitions.push_back({options.topic, PartitionId(p.partition())});
  }
  (*consumer)->Assign(partitions);
  if (absl::Status s = (*consumer)->SeekToBeginning(partitions); !s.ok()) {
    err << s.message() << "\n";
    return 1;
  }

  int64_t records = 0, bytes = 0;
  const int64_t start = NowMs();
  int64_t last_record = start;
  while (records < options.messages && NowMs() - last_record < options.timeout_ms) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> polled =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (!polled.ok()) {
      err << polled.status().message() << "\n";
      return 1;
    }
    if (!polled->empty()) last_record = NowMs();
    for (const client::ConsumerRecord& r : *polled) {
      ++records;
      bytes += static_cast<int64_t>(r.value.value_or("").size() + r.key.value_or("").size());
    }
  }
  const int64_t end = NowMs();
  if (records < options.messages) {
    err << "WARNING: Exiting before consuming the expected number of messages: timeout ("
        << options.timeout_ms << " ms) exceeded.\n";
  }
  out << "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
         "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
      << FormatConsumerPerfLine(start, end, bytes, records) << "\n";
  return 0;
}

}  // namespace strata::tools
