#pragma once

// A ReplicaFetchResponse (replica.proto) in its wire form, built as gRPC
// slices: each partition's records are a slice that owns the string the
// leader read them into, so they go to the socket without protobuf copying
// them into gRPC's buffer (a follower fetch carries every replicated byte,
// once per follower). The other fields are protobuf's own serialization;
// the bytes are those protobuf writes for the whole message, so the
// follower parses the answer as any other.

#include <string>
#include <vector>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "strata/internal/replica.pb.h"

namespace strata::server {

class ReplicaFetchResponseWriter {
 public:
  // Adds a partition: `fields` with its records left empty, and the records,
  // taken.
  void Add(const internal::ReplicaFetchPartitionResponse& fields, std::string records);

  // The response, with `rest`'s fields beside the partitions (the
  // session's; `rest` has no partitions); the writer is left empty.
  grpc::ByteBuffer Finish(const internal::ReplicaFetchResponse& rest = {});

 private:
  void FlushHead();

  std::vector<grpc::Slice> slices_;
  std::string head_;  // serialized bytes not yet in a slice
};

}  // namespace strata::server
