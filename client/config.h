// Producer and consumer settings, with Kafka's names, meanings and defaults,
// readable from Kafka-style properties (what --producer-property and
// --consumer-property pass).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/partitioner.h"
#include "client/record/compression.h"
#include "client/record/record_batch.h"
#include "client/security_config.h"

namespace strata::client {

using Properties = std::map<std::string, std::string>;

struct ProducerConfig {
  // bootstrap.servers: "host:port[,host:port...]"; any node will do.
  std::string bootstrap_servers;
  // client.id: names the producer to the brokers (every call carries it,
  // channel_security.h), for their client quotas. Unset or empty: Kafka's
  // default, DefaultProducerClientId(), given by FromProperties (as Kafka's
  // ProducerConfig does) or, for a config built in code, by
  // Producer::Create.
  std::string client_id;
  // acks: 0 (no acknowledgement), 1 (the leader appended), -1 / "all"
  // (every in-sync replica has it; Kafka 3.x's default).
  int32_t acks = -1;
  // linger.ms: how long a batch waits for more records before it is sent.
  // 5 ms (Kafka 4.0's default, KIP-1030) rather than 3.x's 0: the wait is
  // short enough not to be felt and gives batches a chance to fill.
  absl::Duration linger = absl::Milliseconds(5);
  // batch.size: bytes per partition batch; a batch is sent when full.
  int32_t batch_size = 16384;
  // buffer.memory: bytes of records waiting to be sent or acknowledged;
  // Send() blocks (up to max.block.ms) while they would exceed it.
  int64_t buffer_memory = 33554432;
  // retries: attempts after the first for retriable errors; bounded in
  // practice by delivery.timeout.ms.
  int32_t retries = std::numeric_limits<int32_t>::max();
  absl::Duration retry_backoff = absl::Milliseconds(100);        // retry.backoff.ms
  absl::Duration delivery_timeout = absl::Milliseconds(120000);  // delivery.timeout.ms
  absl::Duration request_timeout = absl::Milliseconds(30000);    // request.timeout.ms
  // max.block.ms: how long Send() waits for a topic's metadata.
  absl::Duration max_block = absl::Milliseconds(60000);
  // max.request.size: the largest record (and produce request) accepted.
  int32_t max_request_size = 1048576;
  // partitioner.class for keyless records: "round-robin" (default here,
  // org.apache.kafka.clients.producer.RoundRobinPartitioner) or "sticky"
  // (org.apache.kafka.clients.producer.internals.DefaultPartitioner).
  KeylessPartitioning keyless = KeylessPartitioning::kRoundRobin;
  // compression.type: none, gzip, snappy, lz4 or zstd. Each batch is
  // compressed when it is sealed for sending (snappy with the xerial framing
  // Kafka's Java client writes); batch.size then counts the estimated
  // compressed size, as Kafka's producer does.
  record::Compression compression_type = record::Compression::kNone;
  // compression.gzip.level (1-9, or -1: zlib's default), compression.lz4.level
  // (1-17; 9, the default, is lz4's fast mode, the others HC, 1 and 2 as HC
  // level 3: see kLz4MinHcLevel) and compression.zstd.level (-131072-22,
  // default 3), as Kafka 3.8 names them (KIP-390); bad values are refused
  // with Kafka's messages.
  int32_t compression_gzip_level = record::kGzipDefaultLevel;
  int32_t compression_lz4_level = record::kLz4DefaultLevel;
  int32_t compression_zstd_level = record::kZstdDefaultLevel;
  // enable.idempotence: a producer id from the brokers and a sequence
  // number on every batch, so that a batch re-sent after a lost answer is
  // written once (see producer.h). Unset means Kafka 3.x's default: on,
  // unless acks is not all, retries is 0 or
  // max.in.flight.requests.per.connection is above 5 (then off, silently,
  // as Kafka 3.2+ does); set to true with one of those, Create() refuses
  // the config with Kafka's message.
  std::optional<bool> enable_idempotence;
  // max.in.flight.requests.per.connection: how many produce requests of a
  // partition may be in flight at once (producer.h); 1 keeps to one, on
  // unary calls, and keeps order across retries without idempotence.
  int32_t max_in_flight = 5;
  static constexpr int32_t kMaxInFlightForIdempotence = 5;
  // transactional.id: makes the producer transactional (InitTransactions,
  // BeginTransaction, ... in producer.h): its records are written in
  // transactions that commit or abort as a whole, and a newer producer with
  // the same id fences this one. Needs idempotence (Kafka's "Cannot set a
  // transactional.id without also enabling idempotence."); may not be
  // empty. Unset: not transactional.
  std::optional<std::string> transactional_id;
  // transaction.timeout.ms: how long the transaction coordinator lets a
  // transaction stay open before it aborts it (and fences the producer);
  // sent with InitProducerId. The coordinator refuses a value above its
  // transaction.max.timeout.ms (INVALID_TRANSACTION_TIMEOUT).
  absl::Duration transaction_timeout = absl::Milliseconds(60000);
  // security.protocol, ssl.*, sasl.* (security_config.h).
  SecurityConfig security;

  // How batches are compressed: compression.type's codec at its level.
  record::CompressionOptions compression_options() const;
  // Whether the producer is idempotent (enable.idempotence as above).
  bool idempotence() const;
  // InvalidArgument, with Kafka's message, when enable.idempotence=true
  // conflicts with acks, retries or max.in.flight.requests.per.connection,
  // or when a transactional.id is set (or empty) on a producer that is not
  // idempotent.
  absl::Status ValidateIdempotence() const;

  // Reads every known key; keys this client does not know, or knows but
  // ignores (serializers, ...), are appended to
  // `ignored` so that a caller can warn as Kafka does. A bad value is an
  // InvalidArgument error naming the key.
  static absl::StatusOr<ProducerConfig> FromProperties(const Properties& props,
                                                       std::vector<std::string>* ignored);
};

// Kafka's default client.id for a producer: "producer-<transactional.id>"
// for a transactional one, else "producer-<n>", n counting (from 1) the
// defaults given in this process.
std::string DefaultProducerClientId(const std::optional<std::string>& transactional_id);

enum class OffsetReset { kEarliest, kLatest, kNone };

struct ConsumerConfig {
  std::string bootstrap_servers;
  // group.id: the consumer group; empty means none (Assign() only, no
  // commits). Subscribe() and the commit calls need one.
  std::string group_id;
  // group.instance.id: makes the consumer a static member (KIP-345), which
  // keeps its assignment across restarts within session.timeout.ms and
  // does not leave the group on Close().
  std::string group_instance_id;
  // client.id; empty: Kafka's "consumer-<group.id>-<n>" (or "consumer-<n>"
  // without a group), n counting the consumers this process created.
  std::string client_id;
  absl::Duration session_timeout = absl::Milliseconds(45000);    // session.timeout.ms
  absl::Duration heartbeat_interval = absl::Milliseconds(3000);  // heartbeat.interval.ms
  // max.poll.interval.ms: the longest time between Poll() calls before the
  // consumer leaves its group; also its rebalance timeout.
  absl::Duration max_poll_interval = absl::Milliseconds(300000);
  bool enable_auto_commit = true;                                  // enable.auto.commit
  absl::Duration auto_commit_interval = absl::Milliseconds(5000);  // auto.commit.interval.ms
  // partition.assignment.strategy: assignor names or Kafka class names,
  // comma-separated, the preferred first (partition_assignor.h).
  std::string partition_assignment_strategy = "range,cooperative-sticky";
  // metadata.max.age.ms: how often a subscribed consumer refreshes its
  // topics' metadata (new topics matching a pattern, partition counts).
  absl::Duration metadata_max_age = absl::Milliseconds(300000);
  int32_t max_poll_records = 500;                              // max.poll.records
  int32_t fetch_max_wait_ms = 500;                             // fetch.max.wait.ms
  int32_t fetch_min_bytes = 1;                                 // fetch.min.bytes
  int32_t fetch_max_bytes = 52428800;                          // fetch.max.bytes
  int32_t max_partition_fetch_bytes = 1048576;                 // max.partition.fetch.bytes
  OffsetReset auto_offset_reset = OffsetReset::kLatest;        // auto.offset.reset
  absl::Duration request_timeout = absl::Milliseconds(30000);  // request.timeout.ms
  absl::Duration retry_backoff = absl::Milliseconds(100);      // retry.backoff.ms
  bool check_crcs = true;                                      // check.crcs
  // isolation.level: read_uncommitted (Kafka's default) reads up to the
  // high watermark; read_committed up to the last stable offset, without
  // the records of aborted transactions.
  bool read_committed = false;
  // security.protocol, ssl.*, sasl.* (security_config.h).
  SecurityConfig security;

  static absl::StatusOr<ConsumerConfig> FromProperties(const Properties& props,
                                                       std::vector<std::string>* ignored);
};

}  // namespace strata::client
