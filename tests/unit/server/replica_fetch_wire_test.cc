#include "broker/server/replica_fetch_wire.h"

#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace strata::server {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

internal::ReplicaFetchPartitionResponse Fields(const std::string& topic, int32_t partition,
                                               v1::ErrorCode error, int64_t hw) {
  internal::ReplicaFetchPartitionResponse p;
  p.set_topic(topic);
  p.set_partition(partition);
  p.set_error(error);
  if (error != v1::NONE) p.set_error_message("not the leader");
  p.set_high_watermark(hw);
  p.set_log_start_offset(hw == -1 ? -1 : 0);
  p.set_log_end_offset(hw);
  return p;
}

// The writer's bytes are protobuf's for the same response: records of
// several sizes (a two- and a three-byte length), none, an error with a
// message, negative offsets, partition 0.
TEST(ReplicaFetchResponseWriterTest, WritesWhatProtobufWrites) {
  const std::vector<std::pair<internal::ReplicaFetchPartitionResponse, std::string>> parts = {
      {Fields("orders", 0, v1::NONE, 42), std::string(300, 'a')},
      {Fields("orders", 1, v1::NONE, 7), ""},
      {Fields("audit", 2, v1::NOT_LEADER_OR_FOLLOWER, -1), ""},
      {Fields("audit", 3, v1::NONE, 1 << 20), std::string(70000, 'b')},
      {Fields("", 0, v1::NONE, 0), "x"},
  };
  ReplicaFetchResponseWriter writer;
  internal::ReplicaFetchResponse want;
  for (const auto& [fields, records] : parts) {
    writer.Add(fields, records);
    internal::ReplicaFetchPartitionResponse* p = want.add_partitions();
    *p = fields;
    p->set_records(records);
  }
  const grpc::ByteBuffer buffer = writer.Finish();
  const std::string wire = Flatten(buffer);
  EXPECT_EQ(wire, want.SerializeAsString());
  internal::ReplicaFetchResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, want));

  ReplicaFetchResponseWriter empty;
  EXPECT_EQ(Flatten(empty.Finish()), "");
}

// A session's fields go after the partitions, where protobuf writes them
// (fields 2-4 after 1): with partitions, and alone (an idle session fetch,
// or a refused one).
TEST(ReplicaFetchResponseWriterTest, TheSessionsFieldsFollowThePartitions) {
  internal::ReplicaFetchResponse rest;
  rest.set_session_id(123456789);
  internal::ReplicaFetchResponse want = rest;
  ReplicaFetchResponseWriter writer;
  writer.Add(Fields("orders", 4, v1::NONE, 9), "records");
  *want.add_partitions() = Fields("orders", 4, v1::NONE, 9);
  want.mutable_partitions(0)->set_records("records");
  EXPECT_EQ(Flatten(writer.Finish(rest)), want.SerializeAsString());

  internal::ReplicaFetchResponse refused;
  refused.set_error(v1::INVALID_FETCH_SESSION_EPOCH);
  refused.set_error_message("Fetch session 7 expects epoch 3, not 5: open a new one");
  ReplicaFetchResponseWriter alone;
  const std::string wire = Flatten(alone.Finish(refused));
  EXPECT_EQ(wire, refused.SerializeAsString());
  internal::ReplicaFetchResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.error(), v1::INVALID_FETCH_SESSION_EPOCH);
  EXPECT_EQ(Flatten(ReplicaFetchResponseWriter().Finish(rest)), rest.SerializeAsString());
}

// The records go into the answer as the slice they were read into: not
// copied.
TEST(ReplicaFetchResponseWriterTest, RecordsAreNotCopied) {
  std::string records(100000, 'r');
  const char* data = records.data();
  ReplicaFetchResponseWriter writer;
  writer.Add(Fields("t", 0, v1::NONE, 1), std::move(records));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(writer.Finish().Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[1].begin()), data);
  EXPECT_EQ(slices[1].size(), 100000u);
}

}  // namespace
}  // namespace strata::server
