#include "broker/kafka/dispatcher.h"

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
#include "broker/request/handlers.h"
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

void Dispatcher::Dispatch(const RequestContext& context, std::string_view frame,
                          std::function<void(DispatchResult)> done) const {
  absl::StatusOr<RequestHeader> peeked = PeekRequestHeader(frame);
  if (!peeked.ok()) {
    done(Close(context, -1, -1, -1, peeked.status().message()));
    return;
  }
  const ApiKey key = peeked->api_key;
  const int16_t raw_key = static_cast<int16_t>(key);
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
  adapter(call, *std::move(request),
          Reply([done = std::move(done), context, raw_key, version, correlation_id, header_version](
                    absl::StatusOr<std::optional<Response>> response, std::shared_ptr<void> hold) {
            if (!response.ok()) {
              done(Close(context, raw_key, version, correlation_id, response.status().message()));
              return;
            }
            if (!response->has_value()) {
              done(DispatchResult{});  // nothing goes back (acks=0)
              return;
            }
            absl::StatusOr<std::string> out =
                Frame(correlation_id, header_version, version, **response);
            if (!out.ok()) {
              done(Close(context, raw_key, version, correlation_id,
                         absl::StrCat("cannot encode the response: ", out.status().message())));
              return;
            }
            DispatchResult result = Answer(*std::move(out));
            result.hold = std::move(hold);
            done(std::move(result));
          }));
}

}  // namespace strata::kafka
