// ServerConfig: a node's settings from a Kafka-style properties file, under
// Kafka's KRaft key names (node.id, process.roles, listeners,
// controller.quorum.voters, log.dirs, ...).
//
// Parsing rules: `key=value` lines, `#`/`!` comments, blank lines, leading
// and trailing spaces trimmed; `--override key=value` wins over the file.
// An invalid value is an error naming the key, the value and what is
// allowed, and the node does not start. A key Strata does not know is
// returned in `unknown_keys` for the node to report; keys Kafka knows that do
// not apply to Strata are accepted silently.
//
// Listeners: PLAINTEXT (client gRPC) and CONTROLLER (node-to-node gRPC) are
// required; the listeners named by strata.kafka.listener.names (KAFKA by
// default) speak Kafka's binary protocol, and their keys (num.network.
// threads, socket.request.max.bytes, ...) are parsed here for that listener.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/security/listener_security.h"

namespace strata::server {

struct Listener {
  std::string name;  // PLAINTEXT, CONTROLLER, KAFKA
  std::string host;  // as configured; "" or 0.0.0.0 binds every interface
  int32_t port = 0;

  std::string address() const;  // "host:port" to bind or dial
};

struct QuorumVoter {
  int32_t id = 0;
  std::string host;
  int32_t port = 0;
};

struct ServerConfig {
  int32_t node_id = -1;
  bool is_broker = true;
  bool is_controller = true;
  std::vector<Listener> listeners;
  std::vector<Listener> advertised_listeners;  // defaults to listeners
  std::vector<QuorumVoter> quorum_voters;
  std::vector<std::string> log_dirs;
  std::string metadata_log_dir;  // defaults to the first log dir
  std::string cluster_id = "strata-local";

  int32_t num_partitions = 1;
  int32_t default_replication_factor = 1;
  int32_t min_insync_replicas = 1;
  int32_t offsets_topic_num_partitions = 50;
  int32_t offsets_topic_replication_factor = 3;
  // The transaction coordinator and __transaction_state (Kafka's keys and
  // defaults). The topic's min.insync.replicas is the smaller of
  // transaction.state.log.min.isr and its replication factor.
  int32_t transaction_state_log_num_partitions = 50;
  int32_t transaction_state_log_replication_factor = 3;
  int32_t transaction_state_log_min_isr = 2;
  int32_t transaction_state_log_segment_bytes = 104857600;
  int32_t transaction_max_timeout_ms = 900000;
  int64_t transactional_id_expiration_ms = 604800000;
  int64_t transaction_abort_timed_out_transaction_cleanup_interval_ms = 10000;
  int64_t transaction_remove_expired_transaction_cleanup_interval_ms = 3600000;
  // The group coordinator (Kafka's keys and defaults).
  int32_t group_min_session_timeout_ms = 6000;
  int32_t group_max_session_timeout_ms = 1800000;
  int32_t group_initial_rebalance_delay_ms = 3000;
  int32_t group_max_size = 2147483647;
  int64_t offsets_retention_minutes = 10080;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offset_metadata_max_bytes = 4096;
  int64_t replica_lag_time_max_ms = 30000;
  int64_t broker_session_timeout_ms = 9000;
  int64_t broker_heartbeat_interval_ms = 2000;
  int32_t message_max_bytes = 1048588;
  bool unclean_leader_election_enable = false;
  bool auto_leader_rebalance_enable = true;
  int64_t leader_imbalance_check_interval_seconds = 300;
  int32_t leader_imbalance_per_broker_percentage = 10;
  int32_t replica_fetch_wait_max_ms = 500;
  int32_t replica_fetch_max_bytes = 1048576;
  int32_t replica_fetch_response_max_bytes = 10485760;
  int32_t replica_fetch_backoff_ms = 1000;
  // Followers' incremental fetch sessions a leader keeps at most (KIP-227,
  // broker/request/fetch_sessions.h); 0: none, every follower fetch full.
  int32_t max_incremental_fetch_session_cache_slots = 1000;
  // A fetch response holds at most this much (beyond one first batch),
  // whatever the request asks.
  int32_t fetch_max_bytes = 57671680;
  // Bytes of fetch responses, consumer and follower, held in memory at once
  // (Strata's own; Kafka has no such bound).
  int64_t fetch_max_inflight_bytes = 268435456;
  // Partition replicas this broker accepts; 0: as many as its open-file
  // limit allows (less a reserve for connections and reads).
  int64_t max_replicas_per_broker = 0;
  // Pause between passes of the scrub that re-checks flushed data's CRCs
  // (log.scrub.interval.ms; -1: no scrub).
  int64_t log_scrub_interval_ms = 86400000;
  // How often retention looks at every log (log.retention.check.interval.ms).
  int64_t log_retention_check_interval_ms = 300000;
  // How often a moved high watermark is written to its partition's
  // checkpoint (replica.high.watermark.checkpoint.interval.ms).
  int64_t replica_high_watermark_checkpoint_interval_ms = 5000;
  // Idempotent producers' state per partition expires this long after the
  // producer's last batch (producer.id.expiration.ms), checked every
  // producer.id.expiration.check.interval.ms.
  int64_t producer_id_expiration_ms = 86400000;
  int64_t producer_id_expiration_check_interval_ms = 600000;
  bool controlled_shutdown_enable = true;
  // The log cleaner (log_cleaner.h): log.cleaner.enable, .threads (0: as
  // log.cleaner.enable=false), .dedupe.buffer.size (for all threads),
  // .backoff.ms.
  bool log_cleaner_enable = true;
  int32_t log_cleaner_threads = 1;
  int64_t log_cleaner_dedupe_buffer_size = 128LL * 1024 * 1024;
  int64_t log_cleaner_backoff_ms = 15000;
  // log.cleaner.io.max.bytes.per.second (default: unbounded, as Kafka's
  // Double.MaxValue).
  double log_cleaner_io_max_bytes_per_second = std::numeric_limits<double>::infinity();

  // Log defaults (log.* keys), as topic config values by topic key name:
  // "segment.bytes" -> "1073741824", ... Only the keys set in the file.
  std::map<std::string, std::string> log_overrides;

  // Raft timing.
  int32_t raft_tick_ms = 100;
  int32_t raft_election_ticks = 10;
  // The metadata log: a snapshot every this many applied entries, after
  // which the log keeps this many entries before it (strata.raft.snapshot.
  // entries / .keep.entries). A voter or observer further behind than that
  // is sent the snapshot.
  int64_t raft_snapshot_entries = 10000;
  int64_t raft_snapshot_keep_entries = 1000;

  // A Metadata request that allows it creates an unknown topic it names
  // (auto.create.topics.enable, Kafka's default).
  bool auto_create_topics_enable = true;

  // strata.metrics.enabled: whether the hot paths record metrics (topic
  // bytes and records, request latencies). Off, /metrics still shows what
  // is read off the node's state; tests/bench/metrics_bench.sh measures
  // what recording costs with it.
  bool metrics_enabled = true;

  // Listeners: the security protocol of each listener name
  // (listener.security.protocol.map).
  std::map<std::string, std::string> listener_security_protocols = {
      {"PLAINTEXT", "PLAINTEXT"}, {"CONTROLLER", "PLAINTEXT"}, {"KAFKA", "PLAINTEXT"},
      {"HTTP", "PLAINTEXT"}};
  // Each configured listener's security: its protocol and the ssl.* /
  // sasl.* settings that apply to it, listener.name.<lower-case name>.<key>
  // winning over <key> (listener_security.h). Filled for every listener
  // in `listeners`.
  std::map<std::string, security::ListenerSecurity> listener_security;
  // The ssl.*, sasl.* and listener.name.* keys as given, resolved per
  // listener into listener_security once the file is read.
  std::map<std::string, std::string> security_keys;

  // Authorization (authorizer.class.name: Kafka's StandardAuthorizer or
  // AclAuthorizer class names turn on Strata's ACL authorizer; empty: no
  // authorization, every request is allowed). super.users: principals
  // allowed everything ("User:admin;User:CN=node1"). With an authorizer, a
  // resource no ACL matches is denied unless
  // allow.everyone.if.no.acl.found=true.
  bool authorizer_enabled = false;
  std::vector<std::string> super_users;
  bool allow_everyone_if_no_acl_found = false;
  // The principals the CONTROLLER listener accepts
  // (strata.controller.allowed.principals, ';'-separated; Strata's own:
  // Kafka has no such key). Empty: super.users.
  std::vector<std::string> controller_allowed_principals;

  // Connection limits on the client listeners, the Kafka-protocol ones and
  // the gRPC one counted together (max.connections,
  // max.connections.per.ip, max.connections.per.ip.overrides
  // "host:limit,..."): connections beyond them are closed at accept. The
  // CONTROLLER listener is not limited.
  int32_t max_connections = INT32_MAX;
  int32_t max_connections_per_ip = INT32_MAX;
  std::map<std::string, int32_t> max_connections_per_ip_overrides;

  // Client quotas are measured over quota.window.num windows of
  // quota.window.size.seconds (Kafka's defaults).
  int32_t quota_window_num = 11;
  int32_t quota_window_size_seconds = 1;
  // The listeners that speak Kafka's binary protocol
  // (strata.kafka.listener.names); the others speak gRPC.
  std::vector<std::string> kafka_listener_names = {"KAFKA"};
  // The Kafka-protocol listeners' limits and threads, under Kafka's keys
  // and defaults (but queued.max.request.bytes: Kafka's -1, unbounded,
  // becomes 512 MiB here; -1 still means unbounded).
  int32_t socket_request_max_bytes = 104857600;
  int32_t num_network_threads = 3;
  int32_t num_io_threads = 8;
  int32_t queued_max_requests = 500;
  int64_t queued_max_request_bytes = 536870912;
  int64_t connections_max_idle_ms = 600000;  // -1: never closed for idleness
  // -1 (the OS default, which Linux tunes to the connection) unlike
  // Kafka's 102400: a fixed buffer turns off the kernel's autotuning, and
  // a 100 KiB one made a librdkafka consumer's 1 MiB fetches take ~20 ms
  // each here (kafka_bench: 1.35 M against 2.25 M records/s of 100 B).
  int32_t socket_send_buffer_bytes = -1;
  int32_t socket_receive_buffer_bytes = -1;
  // Requests of one connection between decoded and answered
  // (strata.kafka.max.inflight.requests.per.connection; 1 as Kafka, which
  // reads a connection's next request only once it answered the last).
  // Above 1 only produce requests share the window (connection.h).
  int32_t kafka_max_inflight_requests_per_connection = 1;

  std::vector<std::string> unknown_keys;

  const Listener* listener(const std::string& name) const;
  const Listener* advertised(const std::string& name) const;
  // Whether listener `name` speaks Kafka's binary protocol.
  bool IsKafkaListener(const std::string& name) const;
};

// Parses `text` (a properties file's contents) with `overrides` applied.
absl::StatusOr<ServerConfig> ParseServerConfig(const std::string& text,
                                               const std::vector<std::string>& overrides);

// Reads and parses a file.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path,
                                              const std::vector<std::string>& overrides);

// Parses "PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092".
absl::StatusOr<std::vector<Listener>> ParseListeners(const std::string& key,
                                                     const std::string& value);

}  // namespace strata::server
