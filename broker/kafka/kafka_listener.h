// KafkaListener: a port speaking Kafka's binary protocol — the only class of
// broker/kafka the node's composition root sees.
//
//   KafkaListener::Options o;  o.name = "KAFKA"; o.host = "localhost"; o.port = 29092; ...
//   absl::StatusOr<std::unique_ptr<KafkaListener>> l = KafkaListener::Start(o, {&handlers});
//   ...
//   (*l)->Stop();
//
// Threads (notes/issue14-design.md §4.2): `num_network_threads` event loops
// (epoll; the acceptor on the first, sockets handed out round-robin) only
// read, cut frames and write; `num_io_threads` run the dispatcher, so no
// loop thread ever runs a handler. A connection's requests start one at a
// time in arrival order (a per-connection strand); their answers go out in
// request order, at most `max_inflight_requests_per_connection` in flight.
// A connection is not read while its window is full or more than
// `max_unsent_bytes` of answers wait to be written; no connection is read
// while the listener holds more than `queued_max_requests` requests or
// `queued_max_request_bytes` of request bytes (partial frames included). A
// connection is closed after `connections_max_idle_ms` without traffic and
// with no request being handled (an answer its client does not read does
// not keep it open). When the process runs out of file descriptors,
// accepting pauses for a tick instead of spinning.
// Refusals (frame size, unsupported API or version, undecodable body) are
// a log line and a close; the listener goes on serving everyone else.
//
// Security (`security`, listener_security.h):
//   SSL, SASL_SSL   each accepted socket first completes a TLS handshake
//                   (tls_transport.h) within `ssl_handshake_timeout_ms`,
//                   else it is closed; a handshake that fails (plaintext on
//                   a TLS port, an untrusted or expired client certificate)
//                   is a log line and a close. Certificates come from a
//                   security::TlsContext, which picks changed key and trust
//                   store files up for new connections without a restart.
//   SASL_*          the connection's frames go through a SaslAuthenticator
//                   (sasl_authenticator.h) before the dispatcher: until the
//                   client authenticated only ApiVersions, SaslHandshake and
//                   SaslAuthenticate are served, and frames are bounded by
//                   `sasl_server_max_receive_size`.
//   The principal that reaches the request layer (RequestContext) is the
//   SASL user, else the client certificate's DN mapped by
//   ssl.principal.mapping.rules, else User:ANONYMOUS.
// Connection limits (max.connections, max.connections.per.ip and its
// overrides; a node's Kafka listeners share them, as Kafka counts
// connections across its listeners): a connection beyond them is closed
// right at accept (Kafka
// makes it wait; closing keeps a flood of attempts from piling up), with a
// rate-limited log line. A closed connection frees its slot.
//
// Start fails (with the listener's name and address in the message) when
// the port cannot be bound, e.g. another process holds it, or (with the
// listener's name) when its TLS files do not load or its
// ssl.principal.mapping.rules do not parse. Stop() closes
// every connection and joins the threads; idempotent; the destructor calls
// it. Thread-safe.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/kafka/connection_limits.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/sasl_authenticator.h"
#include "broker/security/listener_security.h"

namespace strata::kafka {

class KafkaListener {
 public:
  struct Options {
    std::string name = "KAFKA";  // the listener name, also given to the request layer
    std::string host;            // "" or 0.0.0.0: every interface
    int32_t port = 0;            // 0: any free port (tests)
    int32_t socket_request_max_bytes = 104857600;
    int32_t num_network_threads = 3;
    int32_t num_io_threads = 8;
    int64_t connections_max_idle_ms = 600000;  // -1: never
    int32_t socket_send_buffer_bytes = -1;     // -1: the OS's (autotuned)
    int32_t socket_receive_buffer_bytes = -1;  // -1: the OS's (autotuned)
    int32_t max_inflight_requests_per_connection = 1;
    size_t max_unsent_bytes = 64 << 20;
    // Listener-wide bounds on requests read and not yet answered
    // (queued.max.requests, queued.max.request.bytes; -1: none): above
    // either, no connection is read until answers bring it back below.
    int32_t queued_max_requests = 500;
    int64_t queued_max_request_bytes = 536870912;

    // The listener's security protocol and its ssl.* / sasl.* settings.
    security::ListenerSecurity security;
    // SCRAM users' stored credentials (SASL with SCRAM-SHA-*); null: none.
    ScramCredentialLookup scram_credentials;
    // A TLS handshake not done in this time closes its connection.
    int64_t ssl_handshake_timeout_ms = 10000;
    // sasl.server.max.receive.size: the largest frame before a SASL client
    // has authenticated.
    int32_t sasl_server_max_receive_size = 524288;
    // The node's connection limits, shared by its Kafka listeners
    // (connection_limits.h). Null: this listener's own, from the three
    // settings below (max.connections, max.connections.per.ip,
    // max.connections.per.ip.overrides: an IP address or a host name
    // resolved at Start).
    std::shared_ptr<ConnectionLimits> connection_limits;
    int32_t max_connections = INT32_MAX;
    int32_t max_connections_per_ip = INT32_MAX;
    std::map<std::string, int32_t> max_connections_per_ip_overrides;

    // Called on the I/O pool with each request's context and frame just
    // before the dispatcher runs it (tests, audit). Must not block.
    std::function<void(const RequestContext&, std::string_view frame)> request_observer;
  };

  static absl::StatusOr<std::unique_ptr<KafkaListener>> Start(Options options,
                                                              Dispatcher::Deps deps);
  ~KafkaListener();
  void Stop();

  // The port bound (the one asked for, or the kernel's pick for 0).
  int32_t port() const;
  // Connections accepted and not yet closed (what the limits count).
  int32_t open_connections() const;

  class Impl;

 private:
  explicit KafkaListener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::kafka
