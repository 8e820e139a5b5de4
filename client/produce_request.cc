#include "client/produce_request.h"

#include <algorithm>
#include <utility>

#include "client/common/varint.h"
#include "glog/logging.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {

namespace {

// Protobuf's wire format: a field's key is (number << 3) | wire type.
constexpr uint8_t kVarint = 0;
constexpr uint8_t kLengthDelimited = 2;

constexpr uint8_t Key(int field, uint8_t wire_type) {
  return static_cast<uint8_t>((field << 3) | wire_type);
}

// broker.proto's field numbers.
constexpr uint8_t kRequestAcks = Key(1, kVarint);
constexpr uint8_t kRequestTimeout = Key(2, kVarint);
constexpr uint8_t kRequestTopics = Key(3, kLengthDelimited);
constexpr uint8_t kTopicName = Key(1, kLengthDelimited);
constexpr uint8_t kTopicPartitions = Key(2, kLengthDelimited);
constexpr uint8_t kPartitionIndex = Key(1, kVarint);
constexpr uint8_t kPartitionRecords = Key(2, kLengthDelimited);

// An int32 field's value: a negative one is sign-extended to ten bytes,
// as protobuf writes it.
uint64_t Int32Value(int32_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

// A scalar field, left out when zero (proto3).
size_t Int32FieldSize(int32_t v) { return v == 0 ? 0 : 1 + UnsignedVarintSize(Int32Value(v)); }

void PutInt32Field(std::string* out, uint8_t key, int32_t v) {
  if (v == 0) return;
  out->push_back(static_cast<char>(key));
  PutUnsignedVarint(out, Int32Value(v));
}

size_t LengthDelimitedSize(size_t length) { return 1 + UnsignedVarintSize(length) + length; }

void PutLengthPrefix(std::string* out, uint8_t key, size_t length) {
  out->push_back(static_cast<char>(key));
  PutUnsignedVarint(out, length);
}

void ReleasePayload(void* user_data) {
  delete static_cast<std::shared_ptr<const std::string>*>(user_data);
}

// A slice of the payload that holds a reference to it.
grpc::Slice PayloadSlice(const std::shared_ptr<const std::string>& payload) {
  auto* ref = new std::shared_ptr<const std::string>(payload);
  return grpc::Slice(const_cast<char*>(payload->data()), payload->size(), &ReleasePayload, ref);
}

}  // namespace

void ProduceRequestBuilder::Add(std::string_view topic, int32_t partition,
                                std::vector<std::shared_ptr<const std::string>> payloads) {
  auto it = std::find_if(topics_.begin(), topics_.end(),
                         [&](const Topic& t) { return t.name == topic; });
  if (it == topics_.end()) {
    topics_.push_back(Topic{.name = std::string(topic), .partitions = {}});
    it = std::prev(topics_.end());
  }
  Partition& p = it->partitions.emplace_back();
  p.partition = partition;
  for (const auto& payload : payloads) p.records_bytes += payload->size();
  p.payloads = std::move(payloads);
}

size_t ProduceRequestBuilder::PartitionSize(const Partition& p) {
  return Int32FieldSize(p.partition) +
         (p.records_bytes == 0 ? 0 : LengthDelimitedSize(p.records_bytes));
}

size_t ProduceRequestBuilder::TopicSize(const Topic& t) {
  size_t size = t.name.empty() ? 0 : LengthDelimitedSize(t.name.size());
  for (const Partition& p : t.partitions) size += LengthDelimitedSize(PartitionSize(p));
  return size;
}

size_t ProduceRequestBuilder::ByteSize() const {
  size_t size = Int32FieldSize(acks_) + Int32FieldSize(timeout_ms_);
  for (const Topic& t : topics_) size += LengthDelimitedSize(TopicSize(t));
  return size;
}

grpc::ByteBuffer ProduceRequestBuilder::Build() const {
  std::vector<grpc::Slice> slices;
  std::string head;  // the tags and lengths since the last payload
  auto flush_head = [&] {
    if (head.empty()) return;
    slices.emplace_back(head.data(), head.size());  // copied
    head.clear();
  };
  PutInt32Field(&head, kRequestAcks, acks_);
  PutInt32Field(&head, kRequestTimeout, timeout_ms_);
  for (const Topic& t : topics_) {
    PutLengthPrefix(&head, kRequestTopics, TopicSize(t));
    if (!t.name.empty()) {
      PutLengthPrefix(&head, kTopicName, t.name.size());
      head.append(t.name);
    }
    for (const Partition& p : t.partitions) {
      PutLengthPrefix(&head, kTopicPartitions, PartitionSize(p));
      PutInt32Field(&head, kPartitionIndex, p.partition);
      if (p.records_bytes == 0) continue;
      PutLengthPrefix(&head, kPartitionRecords, p.records_bytes);
      for (const auto& payload : p.payloads) {
        if (payload->empty()) continue;
        flush_head();
        slices.push_back(PayloadSlice(payload));
      }
    }
  }
  flush_head();
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  DCHECK_EQ(buffer.Length(), ByteSize());
  return buffer;
}

std::string BrokerMethod(std::string_view method) {
  std::string name = "/";
  name.append(v1::Broker::service_full_name()).append("/").append(method);
  return name;
}

}  // namespace strata::client
