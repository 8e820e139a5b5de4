#include "broker/server/server_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/security/acl.h"
#include "broker/security/principal_mapping.h"
#include "broker/storage/log_config.h"
#include "client/common/numbers.h"
#include "client/security/sasl.h"

namespace strata::server {
namespace {

absl::Status Invalid(const std::string& key, const std::string& value, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value '", value, "' for configuration ", key, ": ", why));
}

absl::Status ParseInt(const std::string& key, const std::string& value, int64_t min, int64_t max,
                      int64_t* out) {
  std::optional<int64_t> v = ParseInteger<int64_t>(value);
  if (!v || *v < min || *v > max) {
    return Invalid(key, value, absl::StrCat("expected an integer in [", min, ", ", max, "]"));
  }
  *out = *v;
  return absl::OkStatus();
}

template <typename T>
absl::Status ParseIntInto(const std::string& key, const std::string& value, int64_t min,
                          int64_t max, T* out) {
  int64_t v = 0;
  if (absl::Status s = ParseInt(key, value, min, max, &v); !s.ok()) return s;
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

// A positive number (Kafka's DOUBLE); "1.7976931348623157E308", Kafka's
// Double.MaxValue default, reads as unbounded.
absl::Status ParsePositiveDouble(const std::string& key, const std::string& value, double* out) {
  double v = 0;
  if (!absl::SimpleAtod(value, &v) || std::isnan(v) || v <= 0) {
    return Invalid(key, value, "expected a positive number");
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseBool(const std::string& key, const std::string& value, bool* out) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "true") {
    *out = true;
  } else if (v == "false") {
    *out = false;
  } else {
    return Invalid(key, value, "expected true or false");
  }
  return absl::OkStatus();
}

std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

// The listener names Strata's own gRPC services use.
bool IsGrpcListener(const std::string& name) { return name == "PLAINTEXT" || name == "CONTROLLER"; }

// A listener name as Kafka allows it: letters, digits, '_' and '-'.
bool IsListenerName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return absl::ascii_isalnum(ch) || ch == '_' || ch == '-';
  });
}

// "NAME:PROTOCOL,..." (listener.security.protocol.map). Kafka's protocols
// are PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL; any may be mapped (Kafka's
// own example files map all four), but only PLAINTEXT is served so far, so
// a listener actually configured must map to it (checked with the
// listeners; TLS and SASL come with their own issues).
absl::Status ParseSecurityProtocolMap(const std::string& key, const std::string& value,
                                      std::map<std::string, std::string>* out) {
  std::map<std::string, std::string> map;
  for (const std::string& item : SplitList(value)) {
    const size_t colon = item.find(':');
    const std::string name = item.substr(0, colon);
    const std::string protocol =
        colon == std::string::npos ? "" : absl::AsciiStrToUpper(item.substr(colon + 1));
    if (colon == std::string::npos || !IsListenerName(name) || protocol.empty()) {
      return Invalid(key, value, absl::StrCat("'", item, "' is not LISTENER_NAME:PROTOCOL"));
    }
    if (protocol != "PLAINTEXT" && protocol != "SSL" && protocol != "SASL_PLAINTEXT" &&
        protocol != "SASL_SSL") {
      return Invalid(key, value,
                     absl::StrCat("listener ", name, ": unknown security protocol ", protocol,
                                  " (Kafka's are PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"));
    }
    if (!map.emplace(name, protocol).second) {
      return Invalid(key, value, absl::StrCat("listener ", name, " twice"));
    }
  }
  if (map.empty()) return Invalid(key, value, "no listener");
  *out = std::move(map);
  return absl::OkStatus();
}

// A byte count or a time that may also be -1 (unbounded, or the OS default).
template <typename T>
absl::Status ParsePositiveOrMinusOne(const std::string& key, const std::string& value, int64_t max,
                                     T* out) {
  int64_t v = 0;
  if (absl::Status s = ParseInt(key, value, -1, max, &v); !s.ok()) return s;
  if (v == 0)
    return Invalid(key, value, absl::StrCat("expected -1 or an integer in [1, ", max, "]"));
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

// Kafka keys that tune things Strata does differently; accepted, not used.
const std::set<std::string>& IgnoredKafkaKeys() {
  static const auto* keys = new std::set<std::string>{"num.recovery.threads.per.data.dir",
                                                      "transaction.state.log.replication.factor",
                                                      "transaction.state.log.min.isr",
                                                      "controller.listener.names",
                                                      "inter.broker.listener.name",
                                                      "group.initial.rebalance.delay.ms",
                                                      "num.replica.fetchers",
                                                      "delete.topic.enable"};
  return *keys;
}

// Broker-level log.* keys and the topic config each is the default of.
const std::map<std::string, std::string>& LogKeyToTopicKey() {
  static const auto* keys = new std::map<std::string, std::string>{
      {"log.segment.bytes", "segment.bytes"},
      {"log.roll.ms", "segment.ms"},
      {"log.index.interval.bytes", "index.interval.bytes"},
      {"log.flush.interval.messages", "flush.messages"},
      {"log.flush.interval.ms", "flush.ms"},
      {"message.max.bytes", "max.message.bytes"},
      {"log.retention.ms", "retention.ms"},
      {"log.retention.bytes", "retention.bytes"},
      {"log.cleanup.policy", "cleanup.policy"},
      {"log.message.timestamp.type", "message.timestamp.type"},
      {"log.message.timestamp.before.max.ms", "message.timestamp.before.max.ms"},
      {"log.message.timestamp.after.max.ms", "message.timestamp.after.max.ms"},
      {"log.cleaner.delete.retention.ms", "delete.retention.ms"},
      {"log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"},
      {"log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms"},
      {"log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio"},
      {"compression.type", "compression.type"},
      {"log.segment.delete.delay.ms", "file.delete.delay.ms"},
      {"log.roll.jitter.ms", "segment.jitter.ms"},
  };
  return *keys;
}

// The ssl.* and sasl.* keys a listener takes (also as
// listener.name.<listener>.<key>), and those Kafka has that Strata accepts
// without using them.
const std::set<std::string>& ListenerSecurityKeys() {
  static const auto* keys = new std::set<std::string>{
      "ssl.keystore.type",           "ssl.keystore.location",   "ssl.key.password",
      "ssl.truststore.type",         "ssl.truststore.location", "ssl.client.auth",
      "ssl.principal.mapping.rules", "sasl.enabled.mechanisms", "sasl.jaas.config",
      "connections.max.reauth.ms"};
  return *keys;
}
const std::set<std::string>& IgnoredSecurityKeys() {
  static const auto* keys = new std::set<std::string>{"ssl.keystore.password",
                                                      "ssl.truststore.password",
                                                      "ssl.endpoint.identification.algorithm",
                                                      "ssl.protocol",
                                                      "ssl.enabled.protocols",
                                                      "ssl.cipher.suites",
                                                      "sasl.mechanism.inter.broker.protocol",
                                                      "sasl.mechanism.controller.protocol",
                                                      "security.inter.broker.protocol",
                                                      "sasl.server.max.receive.size"};
  return *keys;
}

bool IsSecurityKey(const std::string& key) {
  return key.starts_with("ssl.") || key.starts_with("sasl.") || key.starts_with("listener.name.") ||
         key == "connections.max.reauth.ms";
}

// "User:a;User:b" (super.users): each entry Type:name.
absl::Status ParsePrincipalList(const std::string& key, const std::string& value,
                                std::vector<std::string>* out) {
  std::vector<std::string> list;
  for (absl::string_view part : absl::StrSplit(value, ';', absl::SkipWhitespace())) {
    std::string p(absl::StripAsciiWhitespace(part));
    const size_t colon = p.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == p.size()) {
      return Invalid(key, value, absl::StrCat("'", p, "' is not a principal (User:name)"));
    }
    list.push_back(std::move(p));
  }
  *out = std::move(list);
  return absl::OkStatus();
}

// "host:limit,..." (max.connections.per.ip.overrides).
absl::Status ParseConnectionOverrides(const std::string& key, const std::string& value,
                                      std::map<std::string, int32_t>* out) {
  std::map<std::string, int32_t> map;
  for (const std::string& item : SplitList(value)) {
    const size_t colon = item.rfind(':');
    std::optional<int32_t> n =
        colon == std::string::npos ? std::nullopt : ParseInteger<int32_t>(item.substr(colon + 1));
    if (!n || *n < 0 || colon == 0) {
      return Invalid(key, value, absl::StrCat("'", item, "' is not host:limit"));
    }
    map[item.substr(0, colon)] = *n;
  }
  *out = std::move(map);
  return absl::OkStatus();
}

absl::Status Apply(ServerConfig& c, const std::string& key, const std::string& value) {
  using Setter = std::function<absl::Status()>;
  const std::map<std::string, Setter> setters = {
      {"node.id", [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.node_id); }},
      {"broker.id", [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.node_id); }},
      {"process.roles",
       [&] {
         c.is_broker = c.is_controller = false;
         for (const std::string& role : SplitList(value)) {
           if (role == "broker") {
             c.is_broker = true;
           } else if (role == "controller") {
             c.is_controller = true;
           } else {
             return Invalid(key, value, "roles are broker and controller");
           }
         }
         if (!c.is_broker && !c.is_controller) return Invalid(key, value, "no role given");
         return absl::OkStatus();
       }},
      {"listeners",
       [&] {
         absl::StatusOr<std::vector<Listener>> l = ParseListeners(key, value);
         if (!l.ok()) return l.status();
         c.listeners = *l;
         return absl::OkStatus();
       }},
      {"advertised.listeners",
       [&] {
         absl::StatusOr<std::vector<Listener>> l = ParseListeners(key, value);
         if (!l.ok()) return l.status();
         c.advertised_listeners = *l;
         return absl::OkStatus();
       }},
      {"controller.quorum.voters",
       [&] {
         c.quorum_voters.clear();
         for (const std::string& voter : SplitList(value)) {
           // id@host:port
           const size_t at = voter.find('@');
           const size_t colon = voter.rfind(':');
           if (at == std::string::npos || colon == std::string::npos || colon < at + 2) {
             return Invalid(key, value, absl::StrCat("'", voter, "' is not id@host:port"));
           }
           const int32_t id = ParseInteger<int32_t>(voter.substr(0, at)).value_or(-1);
           const int32_t port = ParseInteger<int32_t>(voter.substr(colon + 1)).value_or(-1);
           if (id < 0 || port <= 0 || port > 65535) {
             return Invalid(key, value, absl::StrCat("'", voter, "' is not id@host:port"));
           }
           c.quorum_voters.push_back({id, voter.substr(at + 1, colon - at - 1), port});
         }
         if (c.quorum_voters.empty()) return Invalid(key, value, "no voters");
         return absl::OkStatus();
       }},
      {"log.dirs",
       [&] {
         c.log_dirs = SplitList(value);
         return c.log_dirs.empty() ? Invalid(key, value, "no directory") : absl::OkStatus();
       }},
      {"log.dir",
       [&] {
         c.log_dirs = {value};
         return value.empty() ? Invalid(key, value, "no directory") : absl::OkStatus();
       }},
      {"metadata.log.dir",
       [&] {
         c.metadata_log_dir = value;
         return absl::OkStatus();
       }},
      {"cluster.id",
       [&] {
         c.cluster_id = value;
         return value.empty() ? Invalid(key, value, "empty") : absl::OkStatus();
       }},
      {"num.partitions", [&] { return ParseIntInto(key, value, 1, 100000, &c.num_partitions); }},
      {"default.replication.factor",
       [&] { return ParseIntInto(key, value, 1, 32767, &c.default_replication_factor); }},
      {"min.insync.replicas",
       [&] {
         c.log_overrides["min.insync.replicas"] = value;
         return ParseIntInto(key, value, 1, 32767, &c.min_insync_replicas);
       }},
      {"offsets.topic.num.partitions",
       [&] { return ParseIntInto(key, value, 1, 100000, &c.offsets_topic_num_partitions); }},
      {"offsets.topic.replication.factor",
       [&] { return ParseIntInto(key, value, 1, 32767, &c.offsets_topic_replication_factor); }},
      {"transaction.state.log.num.partitions",
       [&] {
         return ParseIntInto(key, value, 1, 100000, &c.transaction_state_log_num_partitions);
       }},
      {"transaction.state.log.replication.factor",
       [&] {
         return ParseIntInto(key, value, 1, 32767, &c.transaction_state_log_replication_factor);
       }},
      {"transaction.state.log.min.isr",
       [&] { return ParseIntInto(key, value, 1, 32767, &c.transaction_state_log_min_isr); }},
      {"transaction.state.log.segment.bytes",
       [&] {
         return ParseIntInto(key, value, 14, INT32_MAX, &c.transaction_state_log_segment_bytes);
       }},
      {"transaction.max.timeout.ms",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.transaction_max_timeout_ms); }},
      {"transactional.id.expiration.ms",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.transactional_id_expiration_ms); }},
      {"transaction.abort.timed.out.transaction.cleanup.interval.ms",
       [&] {
         return ParseIntInto(key, value, 1, INT32_MAX,
                             &c.transaction_abort_timed_out_transaction_cleanup_interval_ms);
       }},
      {"transaction.remove.expired.transaction.cleanup.interval.ms",
       [&] {
         return ParseIntInto(key, value, 1, INT32_MAX,
                             &c.transaction_remove_expired_transaction_cleanup_interval_ms);
       }},
      {"group.min.session.timeout.ms",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.group_min_session_timeout_ms); }},
      {"group.max.session.timeout.ms",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.group_max_session_timeout_ms); }},
      {"group.initial.rebalance.delay.ms",
       [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.group_initial_rebalance_delay_ms); }},
      {"group.max.size", [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.group_max_size); }},
      {"offsets.retention.minutes",
       [&] {
         return ParseIntInto(key, value, 1, INT64_MAX / 60000, &c.offsets_retention_minutes);
       }},
      {"offsets.retention.check.interval.ms",
       [&] {
         return ParseIntInto(key, value, 1, INT64_MAX, &c.offsets_retention_check_interval_ms);
       }},
      {"offset.metadata.max.bytes",
       [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.offset_metadata_max_bytes); }},
      {"replica.lag.time.max.ms",
       [&] { return ParseIntInto(key, value, 1, INT64_MAX, &c.replica_lag_time_max_ms); }},
      {"broker.session.timeout.ms",
       [&] { return ParseIntInto(key, value, 100, INT64_MAX, &c.broker_session_timeout_ms); }},
      {"broker.heartbeat.interval.ms",
       [&] { return ParseIntInto(key, value, 10, INT64_MAX, &c.broker_heartbeat_interval_ms); }},
      {"unclean.leader.election.enable",
       [&] {
         c.log_overrides["unclean.leader.election.enable"] = value;
         return ParseBool(key, value, &c.unclean_leader_election_enable);
       }},
      {"auto.leader.rebalance.enable",
       [&] { return ParseBool(key, value, &c.auto_leader_rebalance_enable); }},
      {"leader.imbalance.check.interval.seconds",
       [&] {
         return ParseIntInto(key, value, 1, INT64_MAX / 1000,
                             &c.leader_imbalance_check_interval_seconds);
       }},
      {"leader.imbalance.per.broker.percentage",
       [&] { return ParseIntInto(key, value, 0, 100, &c.leader_imbalance_per_broker_percentage); }},
      {"replica.fetch.wait.max.ms",
       [&] { return ParseIntInto(key, value, 0, 60000, &c.replica_fetch_wait_max_ms); }},
      {"max.incremental.fetch.session.cache.slots",
       [&] {
         return ParseIntInto(key, value, 0, INT32_MAX,
                             &c.max_incremental_fetch_session_cache_slots);
       }},
      {"replica.fetch.max.bytes",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.replica_fetch_max_bytes); }},
      {"replica.fetch.response.max.bytes",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.replica_fetch_response_max_bytes); }},
      {"fetch.max.bytes",
       [&] { return ParseIntInto(key, value, 1024, INT32_MAX, &c.fetch_max_bytes); }},
      {"log.retention.check.interval.ms",
       [&] { return ParseIntInto(key, value, 1, INT64_MAX, &c.log_retention_check_interval_ms); }},
      {"replica.high.watermark.checkpoint.interval.ms",
       [&] {
         return ParseIntInto(key, value, 1, INT64_MAX,
                             &c.replica_high_watermark_checkpoint_interval_ms);
       }},
      {"producer.id.expiration.ms",
       [&] { return ParseIntInto(key, value, 1, INT64_MAX, &c.producer_id_expiration_ms); }},
      {"producer.id.expiration.check.interval.ms",
       [&] {
         return ParseIntInto(key, value, 1, INT64_MAX, &c.producer_id_expiration_check_interval_ms);
       }},
      {"log.cleaner.enable", [&] { return ParseBool(key, value, &c.log_cleaner_enable); }},
      {"log.cleaner.threads",
       [&] { return ParseIntInto(key, value, 0, 64, &c.log_cleaner_threads); }},
      {"log.cleaner.dedupe.buffer.size",
       [&] {
         return ParseIntInto(key, value, 1024 * 1024, INT64_MAX, &c.log_cleaner_dedupe_buffer_size);
       }},
      {"log.cleaner.backoff.ms",
       [&] { return ParseIntInto(key, value, 0, INT64_MAX, &c.log_cleaner_backoff_ms); }},
      {"log.cleaner.io.max.bytes.per.second",
       [&] { return ParsePositiveDouble(key, value, &c.log_cleaner_io_max_bytes_per_second); }},
      {"log.scrub.interval.ms",
       [&] { return ParseIntInto(key, value, -1, INT64_MAX, &c.log_scrub_interval_ms); }},
      {"strata.max.replicas.per.broker",
       [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.max_replicas_per_broker); }},
      {"strata.fetch.max.inflight.bytes",
       [&] { return ParseIntInto(key, value, 1048576, INT64_MAX, &c.fetch_max_inflight_bytes); }},
      {"replica.fetch.backoff.ms",
       [&] { return ParseIntInto(key, value, 0, 60000, &c.replica_fetch_backoff_ms); }},
      {"controlled.shutdown.enable",
       [&] { return ParseBool(key, value, &c.controlled_shutdown_enable); }},
      {"auto.create.topics.enable",
       [&] { return ParseBool(key, value, &c.auto_create_topics_enable); }},
      {"strata.metrics.enabled", [&] { return ParseBool(key, value, &c.metrics_enabled); }},
      {"listener.security.protocol.map",
       [&] { return ParseSecurityProtocolMap(key, value, &c.listener_security_protocols); }},
      {"strata.kafka.listener.names",
       [&] {
         std::vector<std::string> names = SplitList(value);
         for (const std::string& name : names) {
           if (!IsListenerName(name)) {
             return Invalid(key, value, absl::StrCat("'", name, "' is not a listener name"));
           }
           if (IsGrpcListener(name)) {
             return Invalid(key, value,
                            absl::StrCat(name, " serves Strata's gRPC API, not Kafka's protocol"));
           }
         }
         c.kafka_listener_names = std::move(names);
         return absl::OkStatus();
       }},
      // Kafka's listener: Kafka's keys, with Kafka's lower bounds.
      {"socket.request.max.bytes",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.socket_request_max_bytes); }},
      {"num.network.threads",
       [&] { return ParseIntInto(key, value, 1, 256, &c.num_network_threads); }},
      {"num.io.threads", [&] { return ParseIntInto(key, value, 1, 256, &c.num_io_threads); }},
      {"queued.max.requests",
       [&] { return ParseIntInto(key, value, 1, INT32_MAX, &c.queued_max_requests); }},
      {"queued.max.request.bytes",
       [&] { return ParsePositiveOrMinusOne(key, value, INT64_MAX, &c.queued_max_request_bytes); }},
      {"connections.max.idle.ms",
       [&] { return ParsePositiveOrMinusOne(key, value, INT64_MAX, &c.connections_max_idle_ms); }},
      {"socket.send.buffer.bytes",
       [&] { return ParsePositiveOrMinusOne(key, value, INT32_MAX, &c.socket_send_buffer_bytes); }},
      {"socket.receive.buffer.bytes",
       [&] {
         return ParsePositiveOrMinusOne(key, value, INT32_MAX, &c.socket_receive_buffer_bytes);
       }},
      {"strata.kafka.max.inflight.requests.per.connection",
       [&] {
         return ParseIntInto(key, value, 1, 1024, &c.kafka_max_inflight_requests_per_connection);
       }},
      {"authorizer.class.name",
       [&] {
         static const std::set<std::string> kAuthorizers = {
             "", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
             "kafka.security.authorizer.AclAuthorizer", "strata.AclAuthorizer"};
         if (!kAuthorizers.contains(value)) {
           return Invalid(key, value,
                          "expected org.apache.kafka.metadata.authorizer.StandardAuthorizer "
                          "(or kafka.security.authorizer.AclAuthorizer, strata.AclAuthorizer; "
                          "all are Strata's ACL authorizer), or empty for none");
         }
         c.authorizer_enabled = !value.empty();
         return absl::OkStatus();
       }},
      {"super.users", [&] { return ParsePrincipalList(key, value, &c.super_users); }},
      {"allow.everyone.if.no.acl.found",
       [&] { return ParseBool(key, value, &c.allow_everyone_if_no_acl_found); }},
      {"strata.controller.allowed.principals",
       [&] { return ParsePrincipalList(key, value, &c.controller_allowed_principals); }},
      {"max.connections",
       [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.max_connections); }},
      {"max.connections.per.ip",
       [&] { return ParseIntInto(key, value, 0, INT32_MAX, &c.max_connections_per_ip); }},
      {"max.connections.per.ip.overrides",
       [&] { return ParseConnectionOverrides(key, value, &c.max_connections_per_ip_overrides); }},
      {"quota.window.num", [&] { return ParseIntInto(key, value, 2, 1000, &c.quota_window_num); }},
      {"quota.window.size.seconds",
       [&] { return ParseIntInto(key, value, 1, 3600, &c.quota_window_size_seconds); }},
      {"strata.raft.tick.ms", [&] { return ParseIntInto(key, value, 1, 10000, &c.raft_tick_ms); }},
      {"strata.raft.election.ticks",
       [&] { return ParseIntInto(key, value, 2, 1000, &c.raft_election_ticks); }},
      {"strata.raft.snapshot.entries",
       [&] { return ParseIntInto(key, value, 1, INT64_MAX, &c.raft_snapshot_entries); }},
      {"strata.raft.snapshot.keep.entries",
       [&] { return ParseIntInto(key, value, 0, INT64_MAX, &c.raft_snapshot_keep_entries); }},
  };

  if (auto it = setters.find(key); it != setters.end()) return it->second();
  // Checked per listener once every key is in (ResolveListenerSecurity).
  if (IsSecurityKey(key)) {
    c.security_keys[key] = value;
    return absl::OkStatus();
  }

  // log.* defaults: validated as the topic config they default.
  std::string topic_key;
  std::string topic_value = value;
  if (auto it = LogKeyToTopicKey().find(key); it != LogKeyToTopicKey().end()) {
    topic_key = it->second;
  } else if (key == "log.roll.hours" || key == "log.retention.hours" ||
             key == "log.retention.minutes") {
    int64_t v = 0;
    if (absl::Status s = ParseInt(key, value, -1, INT64_MAX / 3'600'000, &v); !s.ok()) return s;
    const int64_t unit = key.ends_with("minutes") ? 60'000 : 3'600'000;
    topic_key = key == "log.roll.hours" ? "segment.ms" : "retention.ms";
    topic_value = std::to_string(v < 0 ? -1 : v * unit);
  }
  if (!topic_key.empty()) {
    if (absl::Status s = storage::ValidateTopicConfig(topic_key, topic_value); !s.ok()) {
      return Invalid(key, value, std::string(s.message()));
    }
    c.log_overrides[topic_key] = topic_value;
    if (key == "message.max.bytes")
      c.message_max_bytes = ParseInteger<int32_t>(topic_value).value_or(c.message_max_bytes);
    return absl::OkStatus();
  }
  if (!IgnoredKafkaKeys().contains(key)) c.unknown_keys.push_back(key);
  return absl::OkStatus();
}

// The security of listener `l` from the ssl.* / sasl.* keys, per-listener
// keys (listener.name.<lower-case name>.<key>) winning.
absl::StatusOr<security::ListenerSecurity> ResolveListenerSecurity(const ServerConfig& c,
                                                                   const std::string& name,
                                                                   const std::string& protocol) {
  const std::string prefix = absl::StrCat("listener.name.", absl::AsciiStrToLower(name), ".");
  // The key that applies, its value, or nullptr.
  auto find = [&](const std::string& key) -> const std::pair<const std::string, std::string>* {
    if (auto it = c.security_keys.find(prefix + key); it != c.security_keys.end()) return &*it;
    if (auto it = c.security_keys.find(key); it != c.security_keys.end()) return &*it;
    return nullptr;
  };
  auto bad = [&](const std::pair<const std::string, std::string>& kv, const std::string& why) {
    return Invalid(kv.first, kv.second, absl::StrCat(why, " (listener ", name, ")"));
  };
  security::ListenerSecurity out;
  if (protocol == "SSL") out.protocol = security::SecurityProtocol::kSsl;
  if (protocol == "SASL_PLAINTEXT") out.protocol = security::SecurityProtocol::kSaslPlaintext;
  if (protocol == "SASL_SSL") out.protocol = security::SecurityProtocol::kSaslSsl;

  if (security::UsesTls(out.protocol)) {
    for (const char* type_key : {"ssl.keystore.type", "ssl.truststore.type"}) {
      if (const auto* kv = find(type_key); kv && absl::AsciiStrToUpper(kv->second) != "PEM") {
        return bad(*kv, "only PEM files are supported");
      }
    }
    const auto* keystore = find("ssl.keystore.location");
    if (keystore == nullptr || keystore->second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener ", name, " uses ", protocol, " but ", prefix,
                       "ssl.keystore.location (or ssl.keystore.location) is not set: it names "
                       "the PEM file with the listener's certificate chain and private key"));
    }
    out.tls.keystore_location = keystore->second;
    if (const auto* kv = find("ssl.key.password")) out.tls.key_password = kv->second;
    if (const auto* kv = find("ssl.truststore.location")) out.tls.truststore_location = kv->second;
    if (const auto* kv = find("ssl.client.auth")) {
      const std::string v = absl::AsciiStrToLower(kv->second);
      if (v == "required") {
        out.tls.client_auth = security::ClientAuth::kRequired;
      } else if (v == "requested") {
        out.tls.client_auth = security::ClientAuth::kRequested;
      } else if (v == "none") {
        out.tls.client_auth = security::ClientAuth::kNone;
      } else {
        return bad(*kv, "expected required, requested or none");
      }
    }
    if (out.tls.client_auth != security::ClientAuth::kNone && out.tls.truststore_location.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener ", name,
                       " asks for client certificates (ssl.client.auth) but has no "
                       "ssl.truststore.location to check them against"));
    }
    if (const auto* kv = find("ssl.principal.mapping.rules")) {
      if (absl::StatusOr<security::SslPrincipalMapper> m =
              security::SslPrincipalMapper::Parse(kv->second);
          !m.ok()) {
        return bad(*kv, std::string(m.status().message()));
      }
      out.tls.principal_mapping_rules = kv->second;
    }
  }
  if (security::UsesSasl(out.protocol)) {
    const auto* mechanisms = find("sasl.enabled.mechanisms");
    if (mechanisms == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listener ", name, " uses ", protocol,
          " but sasl.enabled.mechanisms is not set (Kafka's default, GSSAPI, is not supported; "
          "use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"));
    }
    for (const std::string& m : SplitList(mechanisms->second)) {
      const std::string upper = absl::AsciiStrToUpper(m);
      if (upper != "PLAIN" && upper != "SCRAM-SHA-256" && upper != "SCRAM-SHA-512") {
        return bad(*mechanisms, absl::StrCat("mechanism ", m,
                                             " is not supported (PLAIN, SCRAM-SHA-256, "
                                             "SCRAM-SHA-512 are)"));
      }
      out.sasl.enabled_mechanisms.push_back(upper);
    }
    if (out.sasl.enabled_mechanisms.empty()) return bad(*mechanisms, "no mechanism");
    for (const std::string& m : out.sasl.enabled_mechanisms) {
      if (m != "PLAIN") continue;
      const auto* jaas = find("plain.sasl.jaas.config");
      if (jaas == nullptr) jaas = find("sasl.jaas.config");
      if (jaas == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "listener ", name, " enables PLAIN but ", prefix,
            "plain.sasl.jaas.config is not set (PlainLoginModule with user_<name>=\"password\" "
            "entries)"));
      }
      absl::StatusOr<security::JaasConfig> parsed = security::ParseJaasConfig(jaas->second);
      if (!parsed.ok()) return bad(*jaas, std::string(parsed.status().message()));
      for (const auto& [option, password] : parsed->options) {
        if (option.starts_with("user_") && option.size() > 5) {
          out.sasl.plain_users[option.substr(5)] = password;
        }
      }
    }
    if (const auto* kv = find("connections.max.reauth.ms")) {
      std::optional<int64_t> v = ParseInteger<int64_t>(kv->second);
      if (!v || *v < 0) return bad(*kv, "expected 0 (never) or a positive number of ms");
      out.sasl.connections_max_reauth_ms = *v;
    }
  }
  return out;
}

// Every ssl.* / sasl.* / listener.name.* key given is one a listener takes
// (or Kafka's, accepted and unused); anything else is reported as unknown.
void ReportUnknownSecurityKeys(ServerConfig& c) {
  for (const auto& [key, value] : c.security_keys) {
    std::string rest = key;
    if (key.starts_with("listener.name.")) {
      const size_t dot = key.find('.', 14);
      rest = dot == std::string::npos ? "" : key.substr(dot + 1);
      // <mechanism>.sasl.jaas.config
      for (const char* m : {"plain.", "scram-sha-256.", "scram-sha-512."}) {
        if (rest.starts_with(m)) rest = rest.substr(std::string(m).size());
      }
    }
    if (!ListenerSecurityKeys().contains(rest) && !IgnoredSecurityKeys().contains(rest)) {
      c.unknown_keys.push_back(key);
    }
  }
}

absl::Status Validate(ServerConfig& c) {
  if (c.node_id < 0) return absl::InvalidArgumentError("missing required configuration node.id");
  if (c.log_dirs.empty())
    return absl::InvalidArgumentError("missing required configuration log.dirs");
  if (c.quorum_voters.empty()) {
    return absl::InvalidArgumentError("missing required configuration controller.quorum.voters");
  }
  if (c.is_broker && !c.listener("PLAINTEXT")) {
    return absl::InvalidArgumentError("listeners must include PLAINTEXT://host:port for a broker");
  }
  if (!c.listener("CONTROLLER")) {
    return absl::InvalidArgumentError("listeners must include CONTROLLER://host:port");
  }
  bool voter = false;
  for (const QuorumVoter& v : c.quorum_voters) voter |= v.id == c.node_id;
  if (c.is_controller && !voter) {
    return absl::InvalidArgumentError(absl::StrCat("node.id ", c.node_id,
                                                   " has the controller role but is not in "
                                                   "controller.quorum.voters"));
  }
  // A broker-only node observes the metadata quorum: it fetches the log from
  // the leader and never votes. Listed as a voter, it would count towards a
  // majority it never takes part in.
  if (!c.is_controller && voter) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node.id ", c.node_id,
        " has process.roles=broker but is in controller.quorum.voters; a broker-only node "
        "observes the metadata quorum and must not be a voter (remove it from "
        "controller.quorum.voters, or use process.roles=broker,controller)"));
  }
  // Kafka's check: an idle follower's long poll must end before its leader
  // would count it out of sync (a leader learns that a follower is caught
  // up only from its fetches).
  if (c.replica_fetch_wait_max_ms > c.replica_lag_time_max_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("replica.fetch.wait.max.ms (", c.replica_fetch_wait_max_ms,
                     ") must not be above replica.lag.time.max.ms (", c.replica_lag_time_max_ms,
                     "): idle followers would keep falling out of the ISR"));
  }
  if (c.advertised_listeners.empty()) c.advertised_listeners = c.listeners;
  // Every listener has a security protocol and something that serves it:
  // gRPC on PLAINTEXT and CONTROLLER, Kafka's protocol on the Kafka
  // listener names.
  for (const auto* list : {&c.listeners, &c.advertised_listeners}) {
    const char* key = list == &c.listeners ? "listeners" : "advertised.listeners";
    for (const Listener& l : *list) {
      auto protocol = c.listener_security_protocols.find(l.name);
      if (protocol == c.listener_security_protocols.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("listener ", l.name, " (", key,
                         ") has no security protocol in listener.security.protocol.map"));
      }
      if (l.name == "CONTROLLER" && protocol->second != "PLAINTEXT" && protocol->second != "SSL") {
        return absl::InvalidArgumentError(absl::StrCat(
            "listener CONTROLLER (", key, "): security protocol ", protocol->second,
            " in listener.security.protocol.map; the nodes authenticate each other with "
            "certificates, so CONTROLLER is PLAINTEXT or SSL"));
      }
      if (list == &c.listeners) {
        absl::StatusOr<security::ListenerSecurity> security =
            ResolveListenerSecurity(c, l.name, protocol->second);
        if (!security.ok()) return security.status();
        c.listener_security[l.name] = *std::move(security);
      }
      if (l.name == "HTTP" && protocol->second != "PLAINTEXT" && protocol->second != "SSL") {
        return absl::InvalidArgumentError(absl::StrCat(
            "listener HTTP (", key, "): security protocol ", protocol->second,
            " in listener.security.protocol.map; the HTTP listener (metrics, console) is "
            "PLAINTEXT or SSL"));
      }
      if (!IsGrpcListener(l.name) && !c.IsKafkaListener(l.name) && l.name != "HTTP") {
        return absl::InvalidArgumentError(absl::StrCat(
            "listener ", l.name, " (", key,
            ") is neither PLAINTEXT, CONTROLLER, HTTP nor named in strata.kafka.listener.names"));
      }
      if (list == &c.advertised_listeners && c.listener(l.name) == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("advertised.listeners has ", l.name, ", which listeners does not have"));
      }
    }
  }
  // Two listeners on one port would fail to bind, one of them late.
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    for (size_t j = i + 1; j < c.listeners.size(); ++j) {
      const Listener& a = c.listeners[i];
      const Listener& b = c.listeners[j];
      if (a.port != 0 && a.port == b.port && a.host == b.host) {
        return absl::InvalidArgumentError(absl::StrCat("listeners ", a.name, " and ", b.name,
                                                       " have the same address ", a.address()));
      }
    }
  }
  ReportUnknownSecurityKeys(c);
  if (c.metadata_log_dir.empty()) c.metadata_log_dir = c.log_dirs.front();
  if (c.broker_heartbeat_interval_ms >= c.broker_session_timeout_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "broker.heartbeat.interval.ms (", c.broker_heartbeat_interval_ms,
        ") must be below broker.session.timeout.ms (", c.broker_session_timeout_ms, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Listener::address() const {
  return absl::StrCat(host.empty() ? "0.0.0.0" : host, ":", port);
}

const Listener* ServerConfig::listener(const std::string& name) const {
  for (const Listener& l : listeners) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool ServerConfig::IsKafkaListener(const std::string& name) const {
  return std::find(kafka_listener_names.begin(), kafka_listener_names.end(), name) !=
         kafka_listener_names.end();
}

const Listener* ServerConfig::advertised(const std::string& name) const {
  for (const Listener& l : advertised_listeners) {
    if (l.name == name) return &l;
  }
  return listener(name);
}

absl::StatusOr<std::vector<Listener>> ParseListeners(const std::string& key,
                                                     const std::string& value) {
  std::vector<Listener> out;
  for (const std::string& item : SplitList(value)) {
    size_t scheme = item.find("://");
    size_t colon = item.rfind(':');
    std::optional<int32_t> port = scheme == std::string::npos || colon <= scheme + 2
                                      ? std::nullopt
                                      : ParseInteger<int32_t>(item.substr(colon + 1));
    if (!port || *port < 0 || *port > 65535) {
      return Invalid(key, value, absl::StrCat("'", item, "' is not NAME://host:port"));
    }
    Listener l{item.substr(0, scheme), item.substr(scheme + 3, colon - scheme - 3), *port};
    for (const Listener& other : out) {
      if (other.name == l.name)
        return Invalid(key, value, absl::StrCat("listener ", l.name, " twice"));
    }
    out.push_back(std::move(l));
  }
  return out;
}

absl::StatusOr<ServerConfig> ParseServerConfig(const std::string& text,
                                               const std::vector<std::string>& overrides) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string trimmed(absl::StripAsciiWhitespace(line));
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == '!') continue;
    size_t eq = trimmed.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected key=value, got '", trimmed, "'"));
    }
    entries.emplace_back(std::string(absl::StripAsciiWhitespace(trimmed.substr(0, eq))),
                         std::string(absl::StripAsciiWhitespace(trimmed.substr(eq + 1))));
  }
  for (const std::string& o : overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--override expects key=value, got '", o, "'"));
    }
    entries.emplace_back(o.substr(0, eq), o.substr(eq + 1));
  }
  ServerConfig config;
  for (const auto& [key, value] : entries) {
    if (absl::Status s = Apply(config, key, value); !s.ok()) return s;
  }
  if (absl::Status s = Validate(config); !s.ok()) return s;
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path,
                                              const std::vector<std::string>& overrides) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream buffer;
  buffer << file.rdbuf();
  return ParseServerConfig(buffer.str(), overrides);
}

}  // namespace strata::server
