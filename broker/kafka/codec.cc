#include "broker/kafka/codec.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/kafka/message_specs.h"
#include "broker/kafka/schema.h"
#include "broker/kafka/wire.h"

namespace strata::kafka {
namespace {

absl::StatusOr<const StructSpec*> SpecFor(ApiKey key, bool is_request, int16_t version) {
  const ApiInfo* api = FindApi(key);
  if (api == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("no codec for api key ", static_cast<int16_t>(key)));
  }
  if (!HasCodec(key, version)) {
    return absl::UnimplementedError(absl::StrCat(api->name, " v", version, " is not supported (",
                                                 api->min_version, "-", api->max_version, ")"));
  }
  return is_request ? RequestSpec(key) : ResponseSpec(key);
}

// Decodes alternative I of Variant if it is the one for `key`.
template <typename Variant, size_t I = 0>
absl::StatusOr<Variant> DecodeAs(ApiKey key, int16_t version, std::string_view body) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return absl::UnimplementedError(
        absl::StrCat("no codec for api key ", static_cast<int16_t>(key)));
  } else {
    using M = std::variant_alternative_t<I, Variant>;
    if (M::kApiKey != key) return DecodeAs<Variant, I + 1>(key, version, body);
    absl::StatusOr<M> message = Decode<M>(version, body);
    if (!message.ok()) return message.status();
    return Variant(std::in_place_index<I>, *std::move(message));
  }
}

}  // namespace

namespace codec_internal {

absl::Status DecodeBody(ApiKey key, bool is_request, int16_t version, std::string_view body,
                        void* message) {
  absl::StatusOr<const StructSpec*> spec = SpecFor(key, is_request, version);
  if (!spec.ok()) return spec.status();
  Reader reader(body);
  if (absl::Status s = DecodeStruct(**spec, version, IsFlexible(key, version), reader, message);
      !s.ok()) {
    return s;
  }
  if (!reader.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        (*spec)->name, " v", version, ": ", reader.remaining(), " bytes left after the message"));
  }
  return absl::OkStatus();
}

absl::Status EncodeBody(ApiKey key, bool is_request, int16_t version, const void* message,
                        std::string* out) {
  absl::StatusOr<const StructSpec*> spec = SpecFor(key, is_request, version);
  if (!spec.ok()) return spec.status();
  Writer writer(out);
  return EncodeStruct(**spec, version, IsFlexible(key, version), writer, message);
}

}  // namespace codec_internal

ApiKey KeyOf(const Request& request) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kApiKey; }, request);
}

ApiKey KeyOf(const Response& response) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kApiKey; }, response);
}

absl::StatusOr<Request> DecodeRequest(ApiKey key, int16_t version, std::string_view body) {
  return DecodeAs<Request>(key, version, body);
}

absl::StatusOr<Response> DecodeResponse(ApiKey key, int16_t version, std::string_view body) {
  return DecodeAs<Response>(key, version, body);
}

absl::Status EncodeRequest(int16_t version, const Request& request, std::string* out) {
  return std::visit([&](const auto& m) { return Encode(version, m, out); }, request);
}

absl::Status EncodeResponse(int16_t version, const Response& response, std::string* out) {
  return std::visit([&](const auto& m) { return Encode(version, m, out); }, response);
}

}  // namespace strata::kafka
