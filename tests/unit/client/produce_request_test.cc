#include "client/produce_request.h"

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

std::shared_ptr<const std::string> Payload(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

// The builder's bytes are protobuf's own for the same message: the broker
// parses them as any other request.
void ExpectSameAsProtobuf(const ProduceRequestBuilder& builder, const v1::ProduceRequest& want) {
  const grpc::ByteBuffer buffer = builder.Build();
  const std::string wire = Flatten(buffer);
  EXPECT_EQ(wire, want.SerializeAsString());
  EXPECT_EQ(builder.ByteSize(), want.ByteSizeLong());
  v1::ProduceRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, want))
      << parsed.DebugString() << "\nwant\n" << want.DebugString();
}

TEST(ProduceRequestBuilderTest, MatchesProtobufAcrossTopicsPartitionsAndBatches) {
  // acks=-1 is a ten-byte varint; partition 0 and empty fields are left
  // out; a 200-byte payload needs a two-byte length; partitions of a topic
  // seen before join its entry.
  ProduceRequestBuilder builder(-1, 30000);
  const std::string big(200, 'x');
  builder.Add("orders", 0, {Payload("first batch"), Payload(big)});
  builder.Add("audit", 7, {Payload("a")});
  builder.Add("orders", 3, {Payload(std::string(1 << 17, 'y'))});

  v1::ProduceRequest want;
  want.set_acks(-1);
  want.set_timeout_ms(30000);
  v1::TopicProduceData* orders = want.add_topics();
  orders->set_topic("orders");
  v1::PartitionProduceData* p0 = orders->add_partitions();
  p0->set_partition(0);
  p0->set_records("first batch" + big);
  v1::TopicProduceData* audit = want.add_topics();
  audit->set_topic("audit");
  v1::PartitionProduceData* p7 = audit->add_partitions();
  p7->set_partition(7);
  p7->set_records("a");
  v1::PartitionProduceData* p3 = orders->add_partitions();
  p3->set_partition(3);
  p3->set_records(std::string(1 << 17, 'y'));
  ExpectSameAsProtobuf(builder, want);
}

TEST(ProduceRequestBuilderTest, ZeroFieldsAndNoTopics) {
  ProduceRequestBuilder empty(0, 0);
  ExpectSameAsProtobuf(empty, v1::ProduceRequest());

  ProduceRequestBuilder acks1(1, 0);
  acks1.Add("t", 2147483647, {Payload("z")});
  v1::ProduceRequest want;
  want.set_acks(1);
  auto* p = want.add_topics();
  p->set_topic("t");
  auto* part = p->add_partitions();
  part->set_partition(2147483647);
  part->set_records("z");
  ExpectSameAsProtobuf(acks1, want);
}

TEST(ProduceRequestBuilderTest, PayloadsAreReferencedNotCopiedAndHeldUntilReleased) {
  auto payload = std::make_shared<const std::string>(std::string(4096, 'p'));
  std::weak_ptr<const std::string> watch = payload;
  grpc::ByteBuffer buffer;
  {
    ProduceRequestBuilder builder(1, 100);
    builder.Add("t", 1, {payload});
    buffer = builder.Build();
  }
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer.Dump(&slices).ok());
  bool found = false;
  for (const grpc::Slice& s : slices) {
    if (reinterpret_cast<const char*>(s.begin()) == payload->data()) {
      found = true;
      EXPECT_EQ(s.size(), payload->size());
    }
  }
  EXPECT_TRUE(found) << "no slice points into the payload";
  payload.reset();
  EXPECT_FALSE(watch.expired()) << "the request's slices must keep the payload alive";
  slices.clear();
  buffer.Clear();
  EXPECT_TRUE(watch.expired()) << "released once gRPC lets go of the slices";
}

TEST(ProduceRequestBuilderTest, MethodNamesExistOnTheBrokerService) {
  const auto* service = v1::ProduceRequest::descriptor()->file()->FindServiceByName("Broker");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(BrokerMethod("Produce"), "/" + service->full_name() + "/Produce");
  EXPECT_NE(service->FindMethodByName("Produce"), nullptr);
  EXPECT_NE(service->FindMethodByName("ProduceStream"), nullptr);
}

}  // namespace
}  // namespace strata::client
