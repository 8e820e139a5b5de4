// Decoding and encoding whole Kafka request and response bodies (the bytes
// after the header), for every API in api_versions.h at every version in
// its range.
//
//   absl::StatusOr<Request> r = DecodeRequest(header.api_key, header.api_version, body);
//   if (!r.ok()) ...close the connection, log r.status()...
//   std::visit(overloaded{[](const ProduceRequest& p) {...}, ...}, *r);
//
//   std::string out;
//   absl::Status s = Encode(version, MetadataResponse{...}, &out);  // appends
//
// Contract
//   Decode* consume the whole body: bytes left after the message are an
//   error (a schema bug or a lying client). Errors: Unimplemented for a key
//   without a codec or a version outside its range (the caller answers
//   UNSUPPORTED_VERSION or closes), InvalidArgument for malformed bytes,
//   naming the field. Never throws, never CHECKs on input.
//   Encode* append to *out; on error *out may hold a partial message (the
//   caller discards it). Errors: Unimplemented as above, InvalidArgument for
//   a value the version cannot carry (schema.h).
//   Thread-safe: the tables are immutable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/kafka/api_versions.h"
#include "broker/kafka/messages.h"

namespace strata::kafka {

// One alternative per API in SupportedApis(), in key order.
using Request = std::variant<
    ProduceRequest, FetchRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, FindCoordinatorRequest, JoinGroupRequest, HeartbeatRequest,
    LeaveGroupRequest, SyncGroupRequest, DescribeGroupsRequest, ListGroupsRequest,
    SaslHandshakeRequest, ApiVersionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DeleteRecordsRequest, InitProducerIdRequest, OffsetForLeaderEpochRequest,
    AddPartitionsToTxnRequest, AddOffsetsToTxnRequest, EndTxnRequest, TxnOffsetCommitRequest,
    DescribeAclsRequest, CreateAclsRequest, DeleteAclsRequest, DescribeConfigsRequest,
    AlterConfigsRequest, DescribeLogDirsRequest, SaslAuthenticateRequest, CreatePartitionsRequest,
    DeleteGroupsRequest, ElectLeadersRequest, IncrementalAlterConfigsRequest,
    AlterPartitionReassignmentsRequest, ListPartitionReassignmentsRequest, OffsetDeleteRequest,
    DescribeClientQuotasRequest, AlterClientQuotasRequest, DescribeUserScramCredentialsRequest,
    AlterUserScramCredentialsRequest, DescribeClusterRequest, DescribeProducersRequest,
    DescribeTransactionsRequest, ListTransactionsRequest>;
using Response = std::variant<
    ProduceResponse, FetchResponse, ListOffsetsResponse, MetadataResponse, OffsetCommitResponse,
    OffsetFetchResponse, FindCoordinatorResponse, JoinGroupResponse, HeartbeatResponse,
    LeaveGroupResponse, SyncGroupResponse, DescribeGroupsResponse, ListGroupsResponse,
    SaslHandshakeResponse, ApiVersionsResponse, CreateTopicsResponse, DeleteTopicsResponse,
    DeleteRecordsResponse, InitProducerIdResponse, OffsetForLeaderEpochResponse,
    AddPartitionsToTxnResponse, AddOffsetsToTxnResponse, EndTxnResponse, TxnOffsetCommitResponse,
    DescribeAclsResponse, CreateAclsResponse, DeleteAclsResponse, DescribeConfigsResponse,
    AlterConfigsResponse, DescribeLogDirsResponse, SaslAuthenticateResponse,
    CreatePartitionsResponse, DeleteGroupsResponse, ElectLeadersResponse,
    IncrementalAlterConfigsResponse, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsResponse, OffsetDeleteResponse, DescribeClientQuotasResponse,
    AlterClientQuotasResponse, DescribeUserScramCredentialsResponse,
    AlterUserScramCredentialsResponse, DescribeClusterResponse, DescribeProducersResponse,
    DescribeTransactionsResponse, ListTransactionsResponse>;

ApiKey KeyOf(const Request& request);
ApiKey KeyOf(const Response& response);

absl::StatusOr<Request> DecodeRequest(ApiKey key, int16_t version, std::string_view body);
absl::StatusOr<Response> DecodeResponse(ApiKey key, int16_t version, std::string_view body);
absl::Status EncodeRequest(int16_t version, const Request& request, std::string* out);
absl::Status EncodeResponse(int16_t version, const Response& response, std::string* out);

// The same chosen by type, for code generic over requests and responses
// (Variant is Request or Response).
template <typename Variant>
absl::StatusOr<Variant> DecodeAny(ApiKey key, int16_t version, std::string_view body) {
  static_assert(std::is_same_v<Variant, Request> || std::is_same_v<Variant, Response>);
  if constexpr (std::is_same_v<Variant, Request>) {
    return DecodeRequest(key, version, body);
  } else {
    return DecodeResponse(key, version, body);
  }
}
inline absl::Status EncodeAny(int16_t version, const Request& m, std::string* out) {
  return EncodeRequest(version, m, out);
}
inline absl::Status EncodeAny(int16_t version, const Response& m, std::string* out) {
  return EncodeResponse(version, m, out);
}

namespace codec_internal {
// `message` is the struct of (key, is_request): the typed wrappers below
// guarantee it.
absl::Status DecodeBody(ApiKey key, bool is_request, int16_t version, std::string_view body,
                        void* message);
absl::Status EncodeBody(ApiKey key, bool is_request, int16_t version, const void* message,
                        std::string* out);
}  // namespace codec_internal

// Typed forms, for a caller that knows the message: M is any struct of
// messages.h (e.g. Decode<FetchResponse>(11, bytes)).
template <typename M>
absl::StatusOr<M> Decode(int16_t version, std::string_view body) {
  M message;
  if (absl::Status s =
          codec_internal::DecodeBody(M::kApiKey, M::kIsRequest, version, body, &message);
      !s.ok()) {
    return s;
  }
  return message;
}

template <typename M>
absl::Status Encode(int16_t version, const M& message, std::string* out) {
  return codec_internal::EncodeBody(M::kApiKey, M::kIsRequest, version, &message, out);
}

}  // namespace strata::kafka
