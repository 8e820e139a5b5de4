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
// Start fails (with the listener's name and address in the message) when
// the port cannot be bound, e.g. another process holds it. Stop() closes
// every connection and joins the threads; idempotent; the destructor calls
// it. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/kafka/dispatcher.h"

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
    int64_t connections_max_idle_ms = 600000;      // -1: never
    int32_t socket_send_buffer_bytes = -1;     // -1: the OS's (autotuned)
    int32_t socket_receive_buffer_bytes = -1;  // -1: the OS's (autotuned)
    int32_t max_inflight_requests_per_connection = 1;
    size_t max_unsent_bytes = 64 << 20;
    // Listener-wide bounds on requests read and not yet answered
    // (queued.max.requests, queued.max.request.bytes; -1: none): above
    // either, no connection is read until answers bring it back below.
    int32_t queued_max_requests = 500;
    int64_t queued_max_request_bytes = 536870912;
  };

  static absl::StatusOr<std::unique_ptr<KafkaListener>> Start(Options options,
                                                              Dispatcher::Deps deps);
  ~KafkaListener();
  void Stop();

  // The port bound (the one asked for, or the kernel's pick for 0).
  int32_t port() const;

  class Impl;

 private:
  explicit KafkaListener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::kafka
