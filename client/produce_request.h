#pragma once

// A ProduceRequest (broker.proto) in its wire form, built as gRPC slices
// that point into the batches' payloads instead of copying them. Through
// the generated stub a batch was copied twice on its way to the socket:
// into the request's `records` field, then by protobuf into gRPC's buffer.
// Here only the few bytes of field tags and lengths are written; each
// payload goes to the socket from where the batch holds it (gRPC's HTTP/2
// framing splits slices by reference; over TLS, encryption is the one copy).
//
// The bytes are those protobuf writes for the same message (fields in
// number order, zeros left out), so the broker parses it as any other.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace strata::client {

class ProduceRequestBuilder {
 public:
  ProduceRequestBuilder(int32_t acks, int32_t timeout_ms) : acks_(acks), timeout_ms_(timeout_ms) {}

  // Appends a partition's records: its batches' payloads, in order. A
  // partition of a topic already added goes into that topic's entry, after
  // its partitions; a new topic goes after the others.
  void Add(std::string_view topic, int32_t partition,
           std::vector<std::shared_ptr<const std::string>> payloads);

  // The request. The slices hold references to the payloads, released by
  // gRPC when it has sent them (or given up), whenever that is.
  grpc::ByteBuffer Build() const;

  // The request's size on the wire.
  size_t ByteSize() const;

 private:
  struct Partition {
    int32_t partition = 0;
    std::vector<std::shared_ptr<const std::string>> payloads;
    size_t records_bytes = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };

  static size_t PartitionSize(const Partition& p);
  static size_t TopicSize(const Topic& t);

  int32_t acks_;
  int32_t timeout_ms_;
  std::vector<Topic> topics_;
};

// The full name of a Broker method, for a generic call: "/strata.v1.Broker/<method>".
std::string BrokerMethod(std::string_view method);

}  // namespace strata::client
