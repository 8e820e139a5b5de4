// Kafka's request and response headers (KIP-482 header versions).
//
//   request header v1: api_key i16, api_version i16, correlation_id i32,
//                      client_id nullable string (int16 length)
//   request header v2: v1 + a tagged-field section; client_id stays a
//                      classic nullable string, not a compact one
//   response header v0: correlation_id i32;  v1: v0 + a tagged-field section
//
// Which version a message uses is api_versions.h's RequestHeaderVersion /
// ResponseHeaderVersion. Key, version and correlation id are always the
// first 8 bytes of a request, so PeekRequestHeader can read them before the
// API is known to be supported (an unknown ApiVersions version is still
// answered, with the correlation id).
//
// Errors are InvalidArgument statuses naming what was malformed; nothing
// here throws or CHECKs on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/kafka/api_versions.h"
#include "broker/kafka/wire.h"

namespace strata::kafka {

struct RequestHeader {
  ApiKey api_key = ApiKey::kApiVersions;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  bool operator==(const RequestHeader&) const = default;
};

// The first 8 bytes of a request frame (client_id left empty).
absl::StatusOr<RequestHeader> PeekRequestHeader(std::string_view frame);

// Parses the header of a request frame (the bytes after the size prefix) at
// the version (key, version) calls for — v1 for keys without a codec — and
// sets *body to the bytes after it.
absl::StatusOr<RequestHeader> ParseRequestHeader(std::string_view frame, std::string_view* body);

// At an explicit header version (1 or 2).
absl::StatusOr<RequestHeader> ReadRequestHeader(Reader& reader, int16_t header_version);
absl::Status WriteRequestHeader(const RequestHeader& header, int16_t header_version,
                                Writer& writer);

// Response headers, version 0 or 1.
void WriteResponseHeader(int32_t correlation_id, int16_t header_version, Writer& writer);
absl::StatusOr<int32_t> ReadResponseHeader(Reader& reader, int16_t header_version);

}  // namespace strata::kafka
