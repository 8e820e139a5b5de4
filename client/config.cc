#include "client/config.h"

#include <set>

#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace strata::client {
namespace {

// Kafka's ConfigException text, so the message reads as users know it.
absl::Status Invalid(const std::string& key, const std::string& value, const std::string& why) {
  return absl::InvalidArgumentError(
      fmt::format("Invalid value {} for configuration {}: {}", value, key, why));
}

absl::Status ReadInt(const Properties& props, const std::string& key, int64_t min, int64_t max,
                     int64_t* out) {
  auto it = props.find(key);
  if (it == props.end()) return absl::OkStatus();
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) return Invalid(key, it->second, "Not a number");
  if (v < min || v > max) {
    return Invalid(key, it->second, fmt::format("Value must be in [{}, {}]", min, max));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ReadInt32(const Properties& props, const std::string& key, int32_t min, int32_t* out) {
  int64_t v = *out;
  absl::Status s = ReadInt(props, key, min, std::numeric_limits<int32_t>::max(), &v);
  *out = static_cast<int32_t>(v);
  return s;
}

absl::Status ReadMs(const Properties& props, const std::string& key, int64_t min,
                    absl::Duration* out) {
  int64_t v = absl::ToInt64Milliseconds(*out);
  absl::Status s = ReadInt(props, key, min, std::numeric_limits<int64_t>::max() / 1000000, &v);
  *out = absl::Milliseconds(v);
  return s;
}

void CollectIgnored(const Properties& props, const std::set<std::string>& used,
                    std::vector<std::string>* ignored) {
  if (ignored == nullptr) return;
  for (const auto& [k, v] : props) {
    if (!used.contains(k)) ignored->push_back(k);
  }
}

#define STRATA_RETURN_IF_ERROR(expr) \
  do {                               \
    absl::Status _s = (expr);        \
    if (!_s.ok()) return _s;         \
  } while (0)

}  // namespace

absl::StatusOr<ProducerConfig> ProducerConfig::FromProperties(const Properties& props,
                                                              std::vector<std::string>* ignored) {
  ProducerConfig c;
  if (auto it = props.find("bootstrap.servers"); it != props.end())
    c.bootstrap_servers = it->second;
  if (auto it = props.find("acks"); it != props.end()) {
    const std::string& v = it->second;
    if (v == "all" || v == "-1") {
      c.acks = -1;
    } else if (v == "0") {
      c.acks = 0;
    } else if (v == "1") {
      c.acks = 1;
    } else {
      return Invalid("acks", v, "String must be one of: all, -1, 0, 1");
    }
  }
  STRATA_RETURN_IF_ERROR(ReadMs(props, "linger.ms", 0, &c.linger));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "batch.size", 0, &c.batch_size));
  STRATA_RETURN_IF_ERROR(
      ReadInt(props, "buffer.memory", 1, std::numeric_limits<int64_t>::max(), &c.buffer_memory));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "retries", 0, &c.retries));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "retry.backoff.ms", 0, &c.retry_backoff));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "delivery.timeout.ms", 0, &c.delivery_timeout));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "request.timeout.ms", 0, &c.request_timeout));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "max.block.ms", 0, &c.max_block));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "max.request.size", 1, &c.max_request_size));
  if (auto it = props.find("partitioner.class"); it != props.end()) {
    const std::string& v = it->second;
    if (v == "round-robin" || v == "org.apache.kafka.clients.producer.RoundRobinPartitioner") {
      c.keyless = KeylessPartitioning::kRoundRobin;
    } else if (v == "sticky" ||
               v == "org.apache.kafka.clients.producer.internals.DefaultPartitioner" ||
               v == "org.apache.kafka.clients.producer.UniformStickyPartitioner") {
      c.keyless = KeylessPartitioning::kSticky;
    } else {
      return Invalid("partitioner.class", v, "expected round-robin or sticky");
    }
  }
  if (auto it = props.find("max.in.flight.requests.per.connection"); it != props.end()) {
    // Accepted for compatibility; this client keeps one request in flight
    // per partition, which is what keeps records in order across retries.
    int64_t v = 0;
    if (!absl::SimpleAtoi(it->second, &v) || v < 1) {
      return Invalid(it->first, it->second, "Value must be at least 1");
    }
  }
  CollectIgnored(
      props,
      {"bootstrap.servers", "acks", "linger.ms", "batch.size", "buffer.memory", "retries",
       "retry.backoff.ms", "delivery.timeout.ms", "request.timeout.ms", "max.block.ms",
       "max.request.size", "partitioner.class", "max.in.flight.requests.per.connection"},
      ignored);
  return c;
}

absl::StatusOr<ConsumerConfig> ConsumerConfig::FromProperties(const Properties& props,
                                                              std::vector<std::string>* ignored) {
  ConsumerConfig c;
  if (auto it = props.find("bootstrap.servers"); it != props.end())
    c.bootstrap_servers = it->second;
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "max.poll.records", 1, &c.max_poll_records));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "fetch.max.wait.ms", 0, &c.fetch_max_wait_ms));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "fetch.min.bytes", 0, &c.fetch_min_bytes));
  STRATA_RETURN_IF_ERROR(ReadInt32(props, "fetch.max.bytes", 0, &c.fetch_max_bytes));
  STRATA_RETURN_IF_ERROR(
      ReadInt32(props, "max.partition.fetch.bytes", 0, &c.max_partition_fetch_bytes));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "request.timeout.ms", 0, &c.request_timeout));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "retry.backoff.ms", 0, &c.retry_backoff));
  if (auto it = props.find("auto.offset.reset"); it != props.end()) {
    const std::string& v = it->second;
    if (v == "earliest") {
      c.auto_offset_reset = OffsetReset::kEarliest;
    } else if (v == "latest") {
      c.auto_offset_reset = OffsetReset::kLatest;
    } else if (v == "none") {
      c.auto_offset_reset = OffsetReset::kNone;
    } else {
      return Invalid("auto.offset.reset", v, "String must be one of: latest, earliest, none");
    }
  }
  if (auto it = props.find("check.crcs"); it != props.end()) {
    if (it->second == "true") {
      c.check_crcs = true;
    } else if (it->second == "false") {
      c.check_crcs = false;
    } else {
      return Invalid("check.crcs", it->second, "Expected value to be either true or false");
    }
  }
  CollectIgnored(props,
                 {"bootstrap.servers", "max.poll.records", "fetch.max.wait.ms", "fetch.min.bytes",
                  "fetch.max.bytes", "max.partition.fetch.bytes", "request.timeout.ms",
                  "retry.backoff.ms", "auto.offset.reset", "check.crcs"},
                 ignored);
  return c;
}

}  // namespace strata::client
