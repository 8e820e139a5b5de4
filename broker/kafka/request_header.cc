#include "broker/kafka/request_header.h"

#include "absl/strings/str_cat.h"

namespace strata::kafka {

absl::StatusOr<RequestHeader> PeekRequestHeader(std::string_view frame) {
  Reader reader(frame);
  RequestHeader header;
  absl::StatusOr<int16_t> key = reader.ReadInt16();
  if (!key.ok()) return key.status();
  absl::StatusOr<int16_t> version = reader.ReadInt16();
  if (!version.ok()) return version.status();
  absl::StatusOr<int32_t> correlation_id = reader.ReadInt32();
  if (!correlation_id.ok()) return correlation_id.status();
  header.api_key = static_cast<ApiKey>(*key);
  header.api_version = *version;
  header.correlation_id = *correlation_id;
  return header;
}

absl::StatusOr<RequestHeader> ReadRequestHeader(Reader& reader, int16_t header_version) {
  if (header_version != 1 && header_version != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("request header v", header_version, " is not supported"));
  }
  absl::StatusOr<std::string_view> prefix = reader.ReadRaw(8);
  if (!prefix.ok()) return prefix.status();
  absl::StatusOr<RequestHeader> header = PeekRequestHeader(*prefix);
  if (!header.ok()) return header.status();
  absl::StatusOr<std::optional<std::string_view>> client_id =
      reader.ReadNullableString(Compact::kNo);
  if (!client_id.ok()) return client_id.status();
  if (client_id->has_value()) header->client_id.emplace(**client_id);
  if (header_version == 2) {
    if (absl::Status s = reader.SkipTaggedFields(); !s.ok()) return s;
  }
  return header;
}

absl::StatusOr<RequestHeader> ParseRequestHeader(std::string_view frame, std::string_view* body) {
  absl::StatusOr<RequestHeader> prefix = PeekRequestHeader(frame);
  if (!prefix.ok()) return prefix.status();
  Reader reader(frame);
  absl::StatusOr<RequestHeader> header =
      ReadRequestHeader(reader, RequestHeaderVersion(prefix->api_key, prefix->api_version));
  if (!header.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request header: ", header.status().message()));
  }
  *body = frame.substr(reader.position());
  return header;
}

absl::Status WriteRequestHeader(const RequestHeader& header, int16_t header_version,
                                Writer& writer) {
  writer.WriteInt16(static_cast<int16_t>(header.api_key));
  writer.WriteInt16(header.api_version);
  writer.WriteInt32(header.correlation_id);
  std::optional<std::string_view> client_id;
  if (header.client_id.has_value()) client_id = *header.client_id;
  if (absl::Status s = writer.WriteNullableString(client_id, Compact::kNo); !s.ok()) return s;
  if (header_version >= 2) writer.WriteEmptyTaggedFields();
  return absl::OkStatus();
}

void WriteResponseHeader(int32_t correlation_id, int16_t header_version, Writer& writer) {
  writer.WriteInt32(correlation_id);
  if (header_version >= 1) writer.WriteEmptyTaggedFields();
}

absl::StatusOr<int32_t> ReadResponseHeader(Reader& reader, int16_t header_version) {
  absl::StatusOr<int32_t> correlation_id = reader.ReadInt32();
  if (!correlation_id.ok()) return correlation_id.status();
  if (header_version >= 1) {
    if (absl::Status s = reader.SkipTaggedFields(); !s.ok()) return s;
  }
  return *correlation_id;
}

}  // namespace strata::kafka
