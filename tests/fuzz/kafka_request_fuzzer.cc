// libFuzzer target: Kafka's request decoder (broker/kafka) on any bytes, as
// a Kafka listener meets them in a request frame (the bytes after the size
// prefix). Parses the header and decodes the body for the (key, version) it
// names; on success the message must re-encode, decode back equal, and
// re-encode to the same bytes (the codec is its own differential). So that
// every table is reached whatever the key bytes say, the body is also
// decoded as the request, and as the response, of a (key, version) forced
// from the header's numbers.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/kafka/api_versions.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"

namespace {

using namespace strata::kafka;

void Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "kafka_request_fuzzer: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

// Decodes; on success checks decode(encode(m)) == m and that encoding is
// canonical (the second encoding equals the first).
template <typename Variant>
void DecodeAndCheck(ApiKey key, int16_t version, std::string_view body) {
  absl::StatusOr<Variant> first = DecodeAny<Variant>(key, version, body);
  if (!first.ok()) {
    if (first.status().code() != absl::StatusCode::kInvalidArgument &&
        first.status().code() != absl::StatusCode::kUnimplemented) {
      Fail("unexpected error code", first.status());
    }
    return;
  }
  if (KeyOf(*first) != key) std::abort();
  std::string encoded;
  if (absl::Status s = EncodeAny(version, *first, &encoded); !s.ok()) {
    Fail("a decoded message does not encode", s);
  }
  absl::StatusOr<Variant> second = DecodeAny<Variant>(key, version, encoded);
  if (!second.ok()) Fail("an encoded message does not decode", second.status());
  if (!(*second == *first)) Fail("decode(encode(m)) != m", absl::OkStatus());
  std::string again;
  if (absl::Status s = EncodeAny(version, *second, &again); !s.ok() || again != encoded) {
    Fail("encoding is not canonical", s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  std::string_view body;
  absl::StatusOr<RequestHeader> header = ParseRequestHeader(frame, &body);
  if (!header.ok()) return 0;

  // The header itself round-trips.
  const int16_t header_version = RequestHeaderVersion(header->api_key, header->api_version);
  std::string written;
  Writer writer(&written);
  if (absl::Status s = WriteRequestHeader(*header, header_version, writer); !s.ok()) {
    Fail("a parsed header does not encode", s);
  }
  std::string_view rest;
  absl::StatusOr<RequestHeader> reparsed = ParseRequestHeader(written, &rest);
  if (!reparsed.ok() || !(*reparsed == *header) || !rest.empty()) {
    Fail("header round trip", reparsed.status());
  }

  // What a listener would do.
  DecodeAndCheck<Request>(header->api_key, header->api_version, body);

  // A forced (key, version) with a codec, from the header's numbers.
  const absl::Span<const ApiInfo> apis = SupportedApis();
  const ApiInfo& api = apis[static_cast<uint16_t>(header->api_key) % apis.size()];
  const int16_t version =
      static_cast<int16_t>(api.min_version + static_cast<uint16_t>(header->api_version) %
                                                 (api.max_version - api.min_version + 1));
  DecodeAndCheck<Request>(api.key, version, body);
  DecodeAndCheck<Response>(api.key, version, body);
  return 0;
}
