// Dispatcher: one Kafka request frame in, one response frame (or a reason to
// close the connection) out. It reads the header, refuses what we do not
// speak, decodes the body, runs the API's adapter — which turns the Kafka
// struct into a call on the protocol-neutral request layer and its answer
// back into the Kafka struct — and encodes the response with its header.
//
// Adding an API is one adapter function and one row of the table in
// dispatcher.cc; the rules below hold for all of them.
//
// Rules (notes/issue14-design.md §2.1)
//   - ApiVersions (key 18) is answered at any version: outside our range,
//     without parsing the body, with response header v0 and a v0 body
//     carrying UNSUPPORTED_VERSION (35) and our whole table, so the client
//     retries with a version we speak (KIP-511). Every ApiVersions answer
//     uses response header v0. A v3 request whose client software name or
//     version is not [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? answers
//     INVALID_REQUEST (42), as Kafka.
//   - SaslHandshake and SaslAuthenticate reach the dispatcher only where
//     no SASL exchange is running (a PLAINTEXT or SSL listener, or a SASL
//     connection already authenticated: its authenticator,
//     sasl_authenticator.h, takes the exchange itself): answered with
//     ILLEGAL_SASL_STATE (34), as Kafka's KafkaApis does.
//   - Any other key or version we do not advertise, a key without an
//     adapter yet (adapter.h), a header or body that does not decode, or bytes left
//     after the body: DispatchResult::close with a reason naming the peer,
//     key, version and correlation id (Kafka closes too: no response schema
//     can carry an error for a version it does not know).
//
// Request quotas (request_percentage, KIP-124; Deps::throttler)
//   While the throttler has any quota, every request but ApiVersions,
//   SaslHandshake and SaslAuthenticate (exempt, as in Kafka) is timed with
//   the throttler's monotonic clock: decoding and the adapter's synchronous
//   run decide the request throttle, recorded for the session's user and
//   client id when the answer is there; the encoding is recorded after it.
//   The answer's throttle_time_ms becomes the larger of its byte-rate
//   throttle (produce, fetch: request::Throttled has held it that long
//   already) and the request throttle, and `done` is held back by the
//   difference on the throttler's thread; a response without the field, or
//   no response (acks=0), is held all the same. Without quotas this costs
//   one atomic load.
//
// Thread-safety: Dispatch runs on any thread, concurrently; `done` is called
// exactly once, on the calling thread, on whichever thread completes the
// request in the request layer, or on the throttler's. It must not block.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "broker/kafka/adapter.h"
#include "broker/kafka/api_versions.h"
#include "broker/kafka/messages.h"

namespace strata::metrics {
class RequestMetrics;
}

namespace strata::kafka {

struct DispatchResult {
  // The size-prefixed response frame; empty when none is sent (acks=0).
  std::string response;
  // Kept until the response's last byte is written (adapter.h's Reply).
  std::shared_ptr<void> hold;
  // Close the connection (after the responses before this one, and after
  // `response` when there is one).
  bool close = false;
  std::string reason;  // for the log line, when `close`
};

class Dispatcher {
 public:
  // The request layer; parts may be null in tests that ask only some APIs.
  using Deps = AdapterDeps;

  explicit Dispatcher(Deps deps) : deps_(deps) {}

  void Dispatch(const RequestContext& context, std::string_view frame,
                std::function<void(DispatchResult)> done) const;

  // Whether the dispatcher has an adapter for `key` (the rest are closed).
  static bool Handles(ApiKey key);

 private:
  // The request metrics of an API, looked up once.
  metrics::RequestMetrics* RequestMetricsFor(ApiKey key, const char* name) const;

  Deps deps_;
  // By API key (shared: Dispatcher is copied).
  std::shared_ptr<std::array<std::atomic<metrics::RequestMetrics*>, 128>> request_metrics_ =
      std::make_shared<std::array<std::atomic<metrics::RequestMetrics*>, 128>>();
};

// A response frame: the size, the response header at the version (key,
// version) calls for, then `response` encoded at `version`.
absl::StatusOr<std::string> ResponseFrame(int32_t correlation_id, ApiKey key, int16_t version,
                                          const Response& response);

// What ApiVersions answers at `version` (0..3) to `request`: our table, or
// INVALID_REQUEST for a v3 request naming its software badly.
ApiVersionsResponse AnswerApiVersions(const ApiVersionsRequest& request, int16_t version);
// Whether `s` is a valid ClientSoftwareName/Version (KIP-511).
bool IsValidClientSoftwareToken(std::string_view s);

}  // namespace strata::kafka
