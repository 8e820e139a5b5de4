#include "client/config.h"

#include <atomic>
#include <set>

#include "absl/strings/ascii.h"
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

// A Kafka INT (ConfigDef.Type.INT): ConfigDef.parseType's message when the
// text is not a 32-bit integer.
absl::Status ParseKafkaInt(const std::string& key, const std::string& value, int32_t* out) {
  if (!absl::SimpleAtoi(value, out)) return Invalid(key, value, "Not a number of type INT");
  return absl::OkStatus();
}

// A Kafka INT with ConfigDef.Range.between(min, max), in its words.
absl::Status ReadKafkaIntInRange(const Properties& props, const std::string& key, int32_t min,
                                 int32_t max, int32_t* out) {
  auto it = props.find(key);
  if (it == props.end()) return absl::OkStatus();
  int32_t v = 0;
  if (absl::Status s = ParseKafkaInt(key, it->second, &v); !s.ok()) return s;
  if (v < min) return Invalid(key, it->second, fmt::format("Value must be at least {}", min));
  if (v > max) return Invalid(key, it->second, fmt::format("Value must be no more than {}", max));
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

absl::Status ReadBool(const Properties& props, const std::string& key, bool* out) {
  auto it = props.find(key);
  if (it == props.end()) return absl::OkStatus();
  if (it->second == "true") {
    *out = true;
  } else if (it->second == "false") {
    *out = false;
  } else {
    return Invalid(key, it->second, "Expected value to be either true or false");
  }
  return absl::OkStatus();
}

void CollectIgnored(const Properties& props, const std::set<std::string>& used,
                    std::vector<std::string>* ignored) {
  if (ignored == nullptr) return;
  for (const auto& [k, v] : props) {
    if (!used.contains(k) && !SecurityConfigKeys().contains(k)) ignored->push_back(k);
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
  absl::StatusOr<SecurityConfig> security = SecurityConfig::FromProperties(props);
  if (!security.ok()) return security.status();
  c.security = *std::move(security);
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
  if (auto it = props.find("compression.type"); it != props.end()) {
    const std::string& v = it->second;
    bool known = false;
    for (record::Compression codec :
         {record::Compression::kNone, record::Compression::kGzip, record::Compression::kSnappy,
          record::Compression::kLz4, record::Compression::kZstd}) {
      if (v == record::CompressionName(codec)) {
        c.compression_type = codec;
        known = true;
      }
    }
    if (!known)
      return Invalid("compression.type", v, "String must be one of: none, gzip, snappy, lz4, zstd");
  }
  // Kafka's ranges and messages (GzipCompression.LevelValidator, and
  // ConfigDef.Range for lz4 and zstd); gzip also takes -1, zlib's default.
  if (auto it = props.find("compression.gzip.level"); it != props.end()) {
    int32_t v = 0;
    STRATA_RETURN_IF_ERROR(ParseKafkaInt(it->first, it->second, &v));
    if (v != record::kGzipDefaultLevel &&
        (v < record::kGzipMinLevel || v > record::kGzipMaxLevel)) {
      return Invalid(
          it->first, it->second,
          fmt::format("Value must be between {} and {} or equal to {}", record::kGzipMinLevel,
                      record::kGzipMaxLevel, record::kGzipDefaultLevel));
    }
    c.compression_gzip_level = v;
  }
  STRATA_RETURN_IF_ERROR(ReadKafkaIntInRange(props, "compression.lz4.level", record::kLz4MinLevel,
                                             record::kLz4MaxLevel, &c.compression_lz4_level));
  STRATA_RETURN_IF_ERROR(ReadKafkaIntInRange(props, "compression.zstd.level", record::kZstdMinLevel,
                                             record::kZstdMaxLevel, &c.compression_zstd_level));
  if (auto it = props.find("max.in.flight.requests.per.connection"); it != props.end()) {
    // This client keeps one request in flight per partition whatever the
    // value (producer.h); it counts for the idempotence checks, as Kafka's.
    STRATA_RETURN_IF_ERROR(ReadInt32(props, it->first, 1, &c.max_in_flight));
  }
  if (auto it = props.find("enable.idempotence"); it != props.end()) {
    const std::string v = absl::AsciiStrToLower(it->second);
    if (v != "true" && v != "false") {
      return Invalid(it->first, it->second, "Expected value to be either true or false");
    }
    c.enable_idempotence = v == "true";
  }
  if (auto it = props.find("transactional.id"); it != props.end()) {
    // Kafka's ConfigDef.NonEmptyString.
    if (it->second.empty()) return Invalid(it->first, it->second, "String may not be empty");
    c.transactional_id = it->second;
  }
  if (auto it = props.find("transaction.timeout.ms"); it != props.end()) {
    int32_t v = 0;
    STRATA_RETURN_IF_ERROR(ParseKafkaInt(it->first, it->second, &v));
    c.transaction_timeout = absl::Milliseconds(v);
  }
  if (auto it = props.find("client.id"); it != props.end()) c.client_id = it->second;
  if (c.client_id.empty()) c.client_id = DefaultProducerClientId(c.transactional_id);
  CollectIgnored(props,
                 {"bootstrap.servers",
                  "acks",
                  "linger.ms",
                  "batch.size",
                  "buffer.memory",
                  "retries",
                  "retry.backoff.ms",
                  "delivery.timeout.ms",
                  "request.timeout.ms",
                  "max.block.ms",
                  "max.request.size",
                  "partitioner.class",
                  "max.in.flight.requests.per.connection",
                  "enable.idempotence",
                  "compression.type",
                  "compression.gzip.level",
                  "compression.lz4.level",
                  "compression.zstd.level",
                  "transactional.id",
                  "transaction.timeout.ms",
                  "client.id"},
                 ignored);
  return c;
}

std::string DefaultProducerClientId(const std::optional<std::string>& transactional_id) {
  if (transactional_id.has_value()) return "producer-" + *transactional_id;
  static std::atomic<int> sequence{1};
  return fmt::format("producer-{}", sequence.fetch_add(1));
}

bool ProducerConfig::idempotence() const {
  if (enable_idempotence.has_value()) return *enable_idempotence;
  return acks == -1 && retries > 0 && max_in_flight <= kMaxInFlightForIdempotence;
}

absl::Status ProducerConfig::ValidateIdempotence() const {
  if (transactional_id.has_value() && transactional_id->empty()) {
    return Invalid("transactional.id", "", "String may not be empty");
  }
  // Checked after the idempotence rules have turned idempotence off (or
  // not), as Kafka does: transactional.id with acks=1 and
  // enable.idempotence unset is refused here.
  if (transactional_id.has_value() && !idempotence()) {
    return absl::InvalidArgumentError(
        "Cannot set a transactional.id without also enabling idempotence.");
  }
  if (!enable_idempotence.value_or(false)) return absl::OkStatus();
  // Kafka's messages (ProducerConfig.postProcessAndValidateIdempotenceConfigs).
  if (max_in_flight > kMaxInFlightForIdempotence) {
    return absl::InvalidArgumentError(
        "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent "
        "producer.");
  }
  if (retries == 0) {
    return absl::InvalidArgumentError(
        "Must set retries to non-zero when using the idempotent producer.");
  }
  if (acks != -1) {
    return absl::InvalidArgumentError(
        "Must set acks to all in order to use the idempotent producer. Otherwise we cannot "
        "guarantee idempotence.");
  }
  return absl::OkStatus();
}

record::CompressionOptions ProducerConfig::compression_options() const {
  record::CompressionOptions options;
  options.snappy_framing = record::SnappyFraming::kXerial;
  switch (compression_type) {
    case record::Compression::kGzip:
      options.level = compression_gzip_level;
      break;
    case record::Compression::kLz4:
      options.level = compression_lz4_level;
      break;
    case record::Compression::kZstd:
      options.level = compression_zstd_level;
      break;
    case record::Compression::kNone:
    case record::Compression::kSnappy:
      break;
  }
  return options;
}

absl::StatusOr<ConsumerConfig> ConsumerConfig::FromProperties(const Properties& props,
                                                              std::vector<std::string>* ignored) {
  ConsumerConfig c;
  if (auto it = props.find("bootstrap.servers"); it != props.end())
    c.bootstrap_servers = it->second;
  absl::StatusOr<SecurityConfig> security = SecurityConfig::FromProperties(props);
  if (!security.ok()) return security.status();
  c.security = *std::move(security);
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
  STRATA_RETURN_IF_ERROR(ReadBool(props, "check.crcs", &c.check_crcs));
  if (auto it = props.find("isolation.level"); it != props.end()) {
    if (it->second == "read_committed") {
      c.read_committed = true;
    } else if (it->second == "read_uncommitted") {
      c.read_committed = false;
    } else {
      return Invalid("isolation.level", it->second,
                     "String must be one of: read_committed, read_uncommitted");
    }
  }
  if (auto it = props.find("group.id"); it != props.end()) c.group_id = it->second;
  if (auto it = props.find("group.instance.id"); it != props.end()) {
    c.group_instance_id = it->second;
  }
  if (auto it = props.find("client.id"); it != props.end()) c.client_id = it->second;
  STRATA_RETURN_IF_ERROR(ReadMs(props, "session.timeout.ms", 1, &c.session_timeout));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "heartbeat.interval.ms", 1, &c.heartbeat_interval));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "max.poll.interval.ms", 1, &c.max_poll_interval));
  if (absl::ToInt64Milliseconds(c.max_poll_interval) > std::numeric_limits<int32_t>::max()) {
    return Invalid("max.poll.interval.ms", props.at("max.poll.interval.ms"),
                   fmt::format("Value must be at most {}", std::numeric_limits<int32_t>::max()));
  }
  if (absl::ToInt64Milliseconds(c.session_timeout) > std::numeric_limits<int32_t>::max()) {
    return Invalid("session.timeout.ms", props.at("session.timeout.ms"),
                   fmt::format("Value must be at most {}", std::numeric_limits<int32_t>::max()));
  }
  if (c.heartbeat_interval >= c.session_timeout) {
    // Kafka's check (GroupRebalanceConfig): a heartbeat must fit in a
    // session.
    return Invalid("heartbeat.interval.ms",
                   std::to_string(absl::ToInt64Milliseconds(c.heartbeat_interval)),
                   "heartbeat.interval.ms must be lower than session.timeout.ms");
  }
  STRATA_RETURN_IF_ERROR(ReadBool(props, "enable.auto.commit", &c.enable_auto_commit));
  STRATA_RETURN_IF_ERROR(ReadMs(props, "auto.commit.interval.ms", 0, &c.auto_commit_interval));
  if (auto it = props.find("partition.assignment.strategy"); it != props.end()) {
    c.partition_assignment_strategy = it->second;
  }
  STRATA_RETURN_IF_ERROR(ReadMs(props, "metadata.max.age.ms", 0, &c.metadata_max_age));
  // Accepted and ignored: this consumer never creates topics (Kafka's
  // default since 2.3 only creates them on a broker that allows it).
  bool allow_auto_create = true;
  STRATA_RETURN_IF_ERROR(ReadBool(props, "allow.auto.create.topics", &allow_auto_create));
  CollectIgnored(props,
                 {"bootstrap.servers",
                  "max.poll.records",
                  "fetch.max.wait.ms",
                  "fetch.min.bytes",
                  "fetch.max.bytes",
                  "max.partition.fetch.bytes",
                  "request.timeout.ms",
                  "retry.backoff.ms",
                  "auto.offset.reset",
                  "check.crcs",
                  "group.id",
                  "group.instance.id",
                  "client.id",
                  "session.timeout.ms",
                  "heartbeat.interval.ms",
                  "max.poll.interval.ms",
                  "enable.auto.commit",
                  "auto.commit.interval.ms",
                  "partition.assignment.strategy",
                  "metadata.max.age.ms",
                  "allow.auto.create.topics"},
                 ignored);
  return c;
}

}  // namespace strata::client
