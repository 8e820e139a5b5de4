#include "broker/kafka/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <optional>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/metadata_adapter.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/security_adapter.h"
#include "broker/kafka/wire.h"
#include "broker/metrics/metrics.h"
#include "broker/request/handlers.h"
#include "broker/request/throttler.h"
#include "client/common/error_code.h"
#include "glog/logging.h"

namespace strata::kafka {

namespace {

void ApiVersionsAdapter(const AdapterCall& call, Request request, Reply reply) {
  reply(Response(AnswerApiVersions(std::get<ApiVersionsRequest>(request), call.version())));
}

void MetadataAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) {
    reply(absl::FailedPreconditionError("no request layer"));
    return;
  }
  const int16_t version = call.header.api_version;
  request::MetadataResponse answer = call.authz().Metadata(
      *call.deps.handlers, ToRequestLayer(std::get<MetadataRequest>(request), version),
      call.context.listener);
  reply(Response(FromRequestLayer(answer, version)));
}

// Outside a SASL exchange (sasl_authenticator.h runs those), as Kafka's
// KafkaApis answers.
void SaslHandshakeAdapter(const AdapterCall&, Request, Reply reply) {
  SaslHandshakeResponse answer;
  answer.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
  reply(Response(std::move(answer)));
}

void SaslAuthenticateAdapter(const AdapterCall&, Request, Reply reply) {
  SaslAuthenticateResponse answer;
  answer.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
  answer.error_message = "SaslAuthenticate request received after successful authentication";
  reply(Response(std::move(answer)));
}

// The dispatcher's own rows; the families' are in their files. Keys with
// no row are closed (with a log line).
constexpr AdapterRow kOwnAdapters[] = {
    {ApiKey::kMetadata, &MetadataAdapter},
    {ApiKey::kSaslHandshake, &SaslHandshakeAdapter},
    {ApiKey::kApiVersions, &ApiVersionsAdapter},
    {ApiKey::kSaslAuthenticate, &SaslAuthenticateAdapter},
};

Adapter FindAdapter(ApiKey key) {
  for (absl::Span<const AdapterRow> rows :
       {absl::Span<const AdapterRow>(kOwnAdapters), ProduceFetchAdapters(), GroupAdapters(),
        AdminAdapters(), TxnAdapters(), SecurityAdapters()}) {
    for (const AdapterRow& row : rows) {
      if (row.key == key) return row.adapter;
    }
  }
  return nullptr;
}

// A response frame: size, header at the version (key, version) calls for,
// then the body.
absl::StatusOr<std::string> Frame(int32_t correlation_id, int16_t header_version,
                                  int16_t body_version, const Response& response) {
  std::string out(4, '\0');
  Writer writer(&out);
  WriteResponseHeader(correlation_id, header_version, writer);
  if (absl::Status s = EncodeResponse(body_version, response, &out); !s.ok()) return s;
  if (out.size() - 4 > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a ", out.size() - 4, "-byte response does not fit a Kafka frame"));
  }
  const uint32_t size = static_cast<uint32_t>(out.size() - 4);
  out[0] = static_cast<char>(size >> 24);
  out[1] = static_cast<char>(size >> 16);
  out[2] = static_cast<char>(size >> 8);
  out[3] = static_cast<char>(size);
  return out;
}

}  // namespace

absl::StatusOr<std::string> ResponseFrame(int32_t correlation_id, ApiKey key, int16_t version,
                                          const Response& response) {
  return Frame(correlation_id, ResponseHeaderVersion(key, version), version, response);
}

namespace {

DispatchResult Answer(std::string response) {
  DispatchResult r;
  r.response = std::move(response);
  return r;
}

// ---- request quotas (request_percentage, KIP-124) ----

// What Kafka's request quotas never hold: a client must always be able to
// learn our versions and authenticate. (Kafka's node-to-node APIs, exempt
// too, are not served here: Strata's brokers talk to each other over gRPC.)
bool ExemptFromRequestQuota(ApiKey key) {
  return key == ApiKey::kApiVersions || key == ApiKey::kSaslHandshake ||
         key == ApiKey::kSaslAuthenticate;
}

// The response's throttle_time_ms; null for a response without one.
int32_t* ThrottleTimeMs(Response& response) {
  return std::visit(
      [](auto& message) -> int32_t* {
        if constexpr (requires { message.throttle_time_ms; }) {
          return &message.throttle_time_ms;
        } else {
          return nullptr;
        }
      },
      response);
}

// The time one request keeps the listener's threads busy, recorded as its
// session's request-quota usage: decoding and the adapter's synchronous run
// (until it returns, or until it answers if that comes first), then the
// encoding of its answer. The adapter's caller and the reply share it; the
// reply may run on another thread, before or after the adapter returns.
// As Kafka's ClientRequestQuotaManager, the handler's time decides the
// throttle and the encoding, done after, is recorded without one (Kafka
// records network-thread time once the response is sent).
class RequestTime {
 public:
  RequestTime(request::Throttler* throttler, int64_t start_ns, security::Session session)
      : throttler_(throttler), session_(std::move(session)), start_ns_(start_ns) {}

  void AdapterReturned() {
    if (answered_.load(std::memory_order_acquire)) return;
    handler_ns_.store(throttler_->NowNanos() - start_ns_, std::memory_order_release);
  }

  // The answer is there, before its encoding: records the handler's time;
  // returns the request throttle in ms (0: none).
  int64_t Answered() {
    answered_.store(true, std::memory_order_release);
    const int64_t handler_ns = handler_ns_.load(std::memory_order_acquire);
    encode_start_ns_ = throttler_->NowNanos();
    return Record(handler_ns >= 0 ? handler_ns : encode_start_ns_ - start_ns_);
  }

  // Encoded (after Answered, on its thread).
  void Encoded() { Record(throttler_->NowNanos() - encode_start_ns_); }

 private:
  int64_t Record(int64_t ns) {
    return throttler_->Record(security::QuotaType::kRequest, session_,
                              static_cast<double>(ns) / 1e6);
  }

  request::Throttler* const throttler_;
  const security::Session session_;
  const int64_t start_ns_;
  std::atomic<bool> answered_{false};
  std::atomic<int64_t> handler_ns_{-1};  // set when the adapter returned unanswered
  int64_t encode_start_ns_ = 0;
};

DispatchResult Close(const RequestContext& context, int16_t key, int16_t version,
                     int32_t correlation_id, absl::string_view why) {
  DispatchResult r;
  r.close = true;
  r.reason = absl::StrCat("kafka: ", context.peer, " api_key=", key, " api_version=", version,
                          " correlation_id=", correlation_id, ": ", why, "; closing");
  return r;
}

}  // namespace

bool IsValidClientSoftwareToken(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

ApiVersionsResponse AnswerApiVersions(const ApiVersionsRequest& request, int16_t version) {
  ApiVersionsResponse response;
  if (version >= 3 && (!IsValidClientSoftwareToken(request.client_software_name) ||
                       !IsValidClientSoftwareToken(request.client_software_version))) {
    response.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
    return response;
  }
  for (const ApiInfo& api : AdvertisedApis()) {
    response.api_keys.push_back({.api_key = static_cast<int16_t>(api.key),
                                 .min_version = ListedMinVersion(api),
                                 .max_version = api.max_version});
  }
  return response;
}

bool Dispatcher::Handles(ApiKey key) { return FindAdapter(key) != nullptr; }

metrics::RequestMetrics* Dispatcher::RequestMetricsFor(ApiKey key, const char* name) const {
  const auto i = static_cast<size_t>(static_cast<uint16_t>(key));
  if (i >= request_metrics_->size()) return &deps_.metrics->Request(name, "kafka");
  std::atomic<metrics::RequestMetrics*>& slot = (*request_metrics_)[i];
  metrics::RequestMetrics* m = slot.load(std::memory_order_acquire);
  if (m == nullptr) {
    // Two first requests may both look it up: the same instruments either way.
    m = &deps_.metrics->Request(name, "kafka");
    slot.store(m, std::memory_order_release);
  }
  return m;
}

void Dispatcher::Dispatch(const RequestContext& context, std::string_view frame,
                          std::function<void(DispatchResult)> done) const {
  absl::StatusOr<RequestHeader> peeked = PeekRequestHeader(frame);
  if (!peeked.ok()) {
    done(Close(context, -1, -1, -1, peeked.status().message()));
    return;
  }
  const ApiKey key = peeked->api_key;
  const int16_t raw_key = static_cast<int16_t>(key);
  if (deps_.metrics != nullptr) {
    if (const ApiInfo* api = FindApi(key); api != nullptr) {
      // From here to the answer, time parked and held included; a request
      // that closes the connection counts as an error.
      done = [done = std::move(done), request = RequestMetricsFor(key, api->name),
              start = std::chrono::steady_clock::now()](DispatchResult result) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        request->Observe(took.count(), result.close);
        done(std::move(result));
      };
    }
  }
  const int16_t version = peeked->api_version;
  const int32_t correlation_id = peeked->correlation_id;

  if (key == ApiKey::kApiVersions && !IsAdvertised(key, version)) {
    // KIP-511: the body of a version we do not know cannot be parsed; answer
    // v0 with our table so the client can pick a version we speak (any
    // unsupported version, below our minimum too, as Kafka).
    ApiVersionsResponse answer = AnswerApiVersions(ApiVersionsRequest{}, 0);
    answer.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedVersion);
    absl::StatusOr<std::string> out = Frame(correlation_id, 0, 0, Response(std::move(answer)));
    CHECK(out.ok()) << out.status();
    done(Answer(*std::move(out)));
    return;
  }
  const Adapter adapter = FindAdapter(key);
  if (!IsAdvertised(key, version) || adapter == nullptr) {
    done(Close(context, raw_key, version, correlation_id,
               FindApi(key) == nullptr       ? "unknown api key"
               : !IsAdvertised(key, version) ? "unsupported version"
                                             : "api not served on this listener yet"));
    return;
  }
  // Request quotas: timed only while some request_percentage is configured
  // (one atomic load otherwise).
  request::Throttler* const throttler = deps_.throttler;
  const bool timed =
      throttler != nullptr && throttler->request_quota_active() && !ExemptFromRequestQuota(key);
  const int64_t start_ns = timed ? throttler->NowNanos() : 0;
  std::string_view body;
  absl::StatusOr<RequestHeader> header = ParseRequestHeader(frame, &body);
  if (!header.ok()) {
    done(Close(context, raw_key, version, correlation_id,
               absl::StrCat("bad request header: ", header.status().message())));
    return;
  }
  absl::StatusOr<Request> request = DecodeRequest(key, version, body);
  if (!request.ok()) {
    done(Close(context, raw_key, version, correlation_id,
               absl::StrCat("bad request body: ", request.status().message())));
    return;
  }
  const int16_t header_version = ResponseHeaderVersion(key, version);
  AdapterCall call{deps_, context, *header};
  std::shared_ptr<RequestTime> timing =
      timed ? std::make_shared<RequestTime>(throttler, start_ns, call.session()) : nullptr;
  adapter(call, *std::move(request),
          Reply([done = std::move(done), context, raw_key, version, correlation_id, header_version,
                 throttler, timing](absl::StatusOr<std::optional<Response>> response,
                                    std::shared_ptr<void> hold, int32_t throttled_ms) mutable {
            if (!response.ok()) {
              done(Close(context, raw_key, version, correlation_id, response.status().message()));
              return;
            }
            const int64_t request_throttle_ms = timing != nullptr ? timing->Answered() : 0;
            DispatchResult result;  // nothing goes back (acks=0) unless a response is there
            if (response->has_value()) {
              // The client is told the larger throttle, the one it is held by.
              if (int32_t* field = ThrottleTimeMs(**response); field != nullptr) {
                throttled_ms = std::max(throttled_ms, *field);
                *field = static_cast<int32_t>(std::clamp<int64_t>(
                    request_throttle_ms, *field, std::numeric_limits<int32_t>::max()));
              }
              absl::StatusOr<std::string> out =
                  Frame(correlation_id, header_version, version, **response);
              if (!out.ok()) {
                done(Close(context, raw_key, version, correlation_id,
                           absl::StrCat("cannot encode the response: ", out.status().message())));
                return;
              }
              if (timing != nullptr) timing->Encoded();
              result = Answer(*std::move(out));
              result.hold = std::move(hold);
            }
            // A byte-rate throttle has held the answer already: the request
            // throttle holds it only for what it asks beyond that. The
            // connection answers in order, so holding this holds its client.
            const int64_t more_ms = request_throttle_ms - throttled_ms;
            if (more_ms > 0) {
              throttler->After(more_ms,
                               [done = std::move(done), result = std::move(result)]() mutable {
                                 done(std::move(result));
                               });
              return;
            }
            done(std::move(result));
          }));
  if (timing != nullptr) timing->AdapterReturned();
}

}  // namespace strata::kafka
