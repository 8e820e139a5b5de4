#include "tools/end_to_end_latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <random>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "client/producer.h"
#include "tools/command_config.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

using Clock = std::chrono::steady_clock;

// What Kafka's tool creates a missing topic with.
constexpr int32_t kDefaultNumPartitions = 1;
constexpr int32_t kDefaultReplicationFactor = 1;
// How long a topic just created may take to get a leader for each partition.
constexpr auto kLeaderWait = std::chrono::seconds(30);
// Longer values are shortened in error messages.
constexpr size_t kShownValueChars = 64;

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

std::string Shown(const std::optional<std::string>& value) {
  if (!value) return "null";
  if (value->size() <= kShownValueChars) return *value;
  return fmt::format("{}... ({} bytes)", value->substr(0, kShownValueChars), value->size());
}

// Kafka prints its RuntimeException's message; these are the places the
// run can fail.
int Fail(std::ostream& err, absl::string_view what) {
  err << what << "\n";
  return 1;
}

// The topic's partition count once every partition has a leader:
// described, created (with Kafka's line on `out`) when missing, then
// waited for.
absl::StatusOr<int> PrepareTopic(client::Admin& admin, const std::string& topic,
                                 std::ostream& out) {
  absl::StatusOr<v1::DescribeTopicsResponse> described = admin.DescribeTopics({topic});
  if (!described.ok()) return described.status();
  const bool missing = described->topics_size() != 1 ||
                       described->topics(0).error() == v1::UNKNOWN_TOPIC_OR_PARTITION;
  if (missing) {
    out << fmt::format(
               "Topic \"{}\" does not exist. Will create topic with {} partition(s) and "
               "replication factor = {}",
               topic, kDefaultNumPartitions, kDefaultReplicationFactor)
        << "\n"
        << std::flush;
    absl::StatusOr<v1::TopicResult> created =
        admin.CreateTopic(topic, kDefaultNumPartitions, kDefaultReplicationFactor, {});
    if (!created.ok() && client::ErrorCodeOf(created.status()) != v1::TOPIC_ALREADY_EXISTS) {
      return absl::Status(created.status().code(),
                          fmt::format("Creation of topic {} failed: {}", topic,
                                      std::string(created.status().message())));
    }
  } else if (described->topics(0).error() != v1::NONE) {
    const v1::TopicDescription& t = described->topics(0);
    return client::ErrorToStatus(t.error(), t.error_message());
  }
  // A topic just created has no leaders for a moment: the consumer is
  // positioned on every partition, so each needs one.
  const Clock::time_point deadline = Clock::now() + kLeaderWait;
  while (true) {
    if (described.ok() && described->topics_size() == 1 &&
        described->topics(0).error() == v1::NONE) {
      const v1::TopicDescription& t = described->topics(0);
      const bool led =
          std::all_of(t.partitions().begin(), t.partitions().end(),
                      [](const v1::PartitionDescription& p) { return p.leader() >= 0; });
      if (t.partitions_size() > 0 && led) return t.partitions_size();
    }
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          fmt::format("Topic {} has a partition without a leader after {} s", topic,
                      std::chrono::duration_cast<std::chrono::seconds>(kLeaderWait).count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    described = admin.DescribeTopics({topic});
  }
}

}  // namespace

absl::Status ValidateEndToEndLatencyOptions(const EndToEndLatencyOptions& options) {
  if (options.bootstrap_server.empty()) {
    return absl::InvalidArgumentError("Missing required argument \"[bootstrap-server]\"");
  }
  if (options.topic.empty()) {
    return absl::InvalidArgumentError("Missing required argument \"[topic]\"");
  }
  if (options.num_records <= 0) {
    return absl::InvalidArgumentError("Value for --num-records must be a positive integer.");
  }
  if (options.record_size <= 0) {
    return absl::InvalidArgumentError("Value for --record-size must be a positive integer.");
  }
  const std::string& acks = options.producer_acks;
  if (acks != "0" && acks != "1" && acks != "-1" && acks != "all") {
    return absl::InvalidArgumentError(
        fmt::format("Invalid value {} for --producer-acks. Please use 0, 1, -1 or all.",
                    acks.empty() ? "\"\"" : acks));
  }
  if (options.poll_timeout_ms <= 0) {
    return absl::InvalidArgumentError("The poll timeout must be positive.");
  }
  return absl::OkStatus();
}

client::Properties EndToEndProducerProperties(const EndToEndLatencyOptions& options,
                                              const client::Properties& base) {
  client::Properties props = base;
  props["bootstrap.servers"] = options.bootstrap_server;
  props["acks"] = options.producer_acks;
  // Kafka's "ensure writes are synchronous": each record goes at once.
  props["linger.ms"] = "0";
  return props;
}

client::Properties EndToEndConsumerProperties(const EndToEndLatencyOptions& options,
                                              const client::Properties& base) {
  client::Properties props = base;
  props["bootstrap.servers"] = options.bootstrap_server;
  props["enable.auto.commit"] = "false";
  props["auto.offset.reset"] = "latest";
  // Assigned by hand and positioned at the end: no group's committed
  // offset may move it.
  props.erase("group.id");
  props.erase("group.instance.id");
  return props;
}

absl::Status CheckReceived(const std::string& sent, const std::vector<client::ConsumerRecord>& got,
                           int64_t poll_timeout_ms) {
  if (got.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("poll() timed out before finding a result (timeout:[{}])", poll_timeout_ms));
  }
  const client::ConsumerRecord& first = got.front();
  if (first.value != sent) {
    return absl::FailedPreconditionError(fmt::format(
        "The message read [{}] did not match the message sent [{}] (read at offset {} of {}-{})",
        Shown(first.value), Shown(sent), first.offset, first.topic, first.partition));
  }
  if (got.size() != 1) {
    return absl::FailedPreconditionError(
        fmt::format("Only one result was expected during this test. We found [{}]", got.size()));
  }
  return absl::OkStatus();
}

std::string FormatProgressLine(int64_t index, int64_t latency_us) {
  return fmt::format("{}\t{:.3f}", index, Ms(latency_us));
}

int64_t LatencyPercentile(const std::vector<int64_t>& sorted, double p) {
  const auto index = static_cast<size_t>(static_cast<double>(sorted.size()) * p);
  return sorted[std::min(index, sorted.size() - 1)];
}

std::string FormatLatencySummary(std::vector<int64_t> latencies_us) {
  std::sort(latencies_us.begin(), latencies_us.end());
  double total_us = 0;
  for (int64_t us : latencies_us) total_us += static_cast<double>(us);
  const double avg_ms = total_us / static_cast<double>(latencies_us.size()) / 1000.0;
  return fmt::format(
      "Avg latency: {:.4f} ms\nPercentiles: 50th = {:.3f}, 99th = {:.3f}, 99.9th = {:.3f}\n",
      avg_ms, Ms(LatencyPercentile(latencies_us, 0.5)), Ms(LatencyPercentile(latencies_us, 0.99)),
      Ms(LatencyPercentile(latencies_us, 0.999)));
}

int RunEndToEndLatency(const EndToEndLatencyOptions& options, std::ostream& out,
                       std::ostream& err) {
  if (absl::Status valid = ValidateEndToEndLatencyOptions(options); !valid.ok()) {
    return Fail(err, valid.message());
  }
  client::Properties base;
  if (options.command_config) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(*options.command_config);
    if (!file.ok()) return Fail(err, file.status().message());
    base = *std::move(file);
  }

  // The topic: created when missing, every partition led.
  absl::StatusOr<client::AdminConfig> admin_config =
      AdminConfigFromProperties(options.bootstrap_server, base);
  if (!admin_config.ok()) return Fail(err, admin_config.status().message());
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = client::Admin::Create(*admin_config);
  if (!admin.ok()) return Fail(err, admin.status().message());
  absl::StatusOr<int> partitions = PrepareTopic(**admin, options.topic, out);
  if (!partitions.ok()) return Fail(err, partitions.status().message());
  admin->reset();

  std::vector<std::string> ignored;
  absl::StatusOr<client::ConsumerConfig> consumer_config =
      client::ConsumerConfig::FromProperties(EndToEndConsumerProperties(options, base), &ignored);
  if (!consumer_config.ok()) return Fail(err, consumer_config.status().message());
  absl::StatusOr<client::ProducerConfig> producer_config =
      client::ProducerConfig::FromProperties(EndToEndProducerProperties(options, base), &ignored);
  if (!producer_config.ok()) return Fail(err, producer_config.status().message());
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create(*consumer_config);
  if (!consumer.ok()) return Fail(err, consumer.status().message());
  absl::StatusOr<std::unique_ptr<client::Producer>> producer =
      client::Producer::Create(*producer_config);
  if (!producer.ok()) return Fail(err, producer.status().message());

  // Kafka's setupConsumer: every partition, each at its end, each position
  // known, so that a record is read wherever the partitioner puts it. The
  // partitions are the ones just seen led (ids 0..n-1), where Kafka asks the
  // consumer's metadata, which a broker other than the admin's may not have
  // caught up on yet.
  std::vector<TopicPartition> tps;
  tps.reserve(static_cast<size_t>(*partitions));
  for (int32_t p = 0; p < *partitions; ++p) tps.push_back({options.topic, PartitionId(p)});
  (*consumer)->Assign(tps);
  if (absl::Status s = (*consumer)->SeekToEnd(tps); !s.ok()) return Fail(err, s.message());
  for (const TopicPartition& tp : tps) {
    if (absl::StatusOr<int64_t> p = (*consumer)->Position(tp); !p.ok()) {
      return Fail(err, p.status().message());
    }
  }
  // The producer's metadata now, so the first record's time does not
  // include looking the topic up.
  if (absl::StatusOr<int32_t> n = (*producer)->PartitionCount(options.topic); !n.ok()) {
    return Fail(err, n.status().message());
  }

  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> letter('A', 'Z');
  std::string value(static_cast<size_t>(options.record_size), 'A');
  std::vector<int64_t> latencies_us;
  latencies_us.reserve(static_cast<size_t>(options.num_records));
  const auto poll_timeout = std::chrono::milliseconds(options.poll_timeout_ms);

  for (int32_t i = 0; i < options.num_records; ++i) {
    for (char& c : value) c = static_cast<char>(letter(rng));
    // No partition and no key: the default partitioner picks one, as for
    // Kafka's tool.
    client::ProducerRecord record;
    record.topic = options.topic;
    record.value = value;

    const Clock::time_point begin = Clock::now();
    absl::StatusOr<client::RecordMetadata> acked = (*producer)->Send(std::move(record)).get();
    if (!acked.ok()) {
      return Fail(err, fmt::format("Sending record {} failed: {}", i,
                                   std::string(acked.status().message())));
    }
    std::vector<client::ConsumerRecord> got;
    const Clock::time_point deadline = begin + poll_timeout;
    for (Clock::time_point now = Clock::now(); got.empty() && now < deadline; now = Clock::now()) {
      absl::StatusOr<std::vector<client::ConsumerRecord>> polled =
          (*consumer)->Poll(absl::FromChrono(deadline - now));
      if (!polled.ok()) {
        return Fail(err, fmt::format("Polling for record {} failed: {}", i,
                                     std::string(polled.status().message())));
      }
      got = *std::move(polled);
    }
    const Clock::time_point end = Clock::now();

    if (absl::Status s = CheckReceived(value, got, options.poll_timeout_ms); !s.ok()) {
      return Fail(err, fmt::format("{} (record {})", std::string(s.message()), i));
    }
    const int64_t latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(end - begin).count();
    if (i % 1000 == 0) out << FormatProgressLine(i, latency_us) << "\n" << std::flush;
    latencies_us.push_back(latency_us);
  }

  out << FormatLatencySummary(std::move(latencies_us)) << std::flush;
  (*producer)->Close();
  (*consumer)->Close();
  return 0;
}

}  // namespace strata::tools
