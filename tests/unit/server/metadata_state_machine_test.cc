#include "broker/server/metadata_state_machine.h"

#include "gtest/gtest.h"

namespace strata::server {
namespace {

raft::Entry EntryOf(uint64_t index, const internal::MetadataRecordBatch& batch) {
  return raft::Entry{raft::Term(1), raft::Index(index), batch.SerializeAsString()};
}

internal::MetadataRecordBatch TopicBatch(const std::string& name, const std::string& id) {
  internal::MetadataRecordBatch batch;
  internal::TopicRecord* t = batch.add_records()->mutable_topic();
  t->set_name(name);
  t->set_topic_id(id);
  return batch;
}

TEST(MetadataStateMachineTest, AppliesPublishesAndSkipsRefusedEntriesPastTheirOffset) {
  MetadataStateMachine sm("cluster-x");
  int published = 0;
  sm.Subscribe([&](const std::shared_ptr<const metadata::MetadataImage>&) { ++published; });

  sm.Apply(EntryOf(3, TopicBatch("orders", "AAAAAAAAAAAAAAAAAAAAAA")));
  EXPECT_EQ(sm.current()->offset(), 3);
  EXPECT_NE(sm.current()->FindTopic("orders"), nullptr);

  // Garbage, and a record the image refuses (a change to an unknown topic):
  // the image is otherwise unchanged but its offset moves on.
  sm.Apply(raft::Entry{raft::Term(1), raft::Index(4), "\xff\xff not a batch"});
  EXPECT_EQ(sm.current()->offset(), 4);
  internal::MetadataRecordBatch bad;
  bad.add_records()->mutable_remove_topic()->set_topic_id("BBBBBBBBBBBBBBBBBBBBBB");
  sm.Apply(EntryOf(5, bad));
  EXPECT_EQ(sm.current()->offset(), 5);
  EXPECT_NE(sm.current()->FindTopic("orders"), nullptr);
  EXPECT_TRUE(sm.WaitForOffset(5, absl::ZeroDuration()));
  EXPECT_FALSE(sm.WaitForOffset(6, absl::Milliseconds(1)));
  EXPECT_EQ(published, 3);
}

TEST(MetadataStateMachineTest, SnapshotRestoresTheImageAndItsOffset) {
  MetadataStateMachine a("cluster-x");
  a.Apply(EntryOf(7, TopicBatch("orders", "AAAAAAAAAAAAAAAAAAAAAA")));
  const std::string snapshot = a.TakeSnapshot();

  MetadataStateMachine b("cluster-x");
  ASSERT_TRUE(b.Restore(snapshot).ok());
  EXPECT_EQ(b.current()->offset(), 7);
  EXPECT_NE(b.current()->FindTopic("orders"), nullptr);
  EXPECT_FALSE(b.Restore("not a snapshot").ok());
  EXPECT_NE(b.current()->FindTopic("orders"), nullptr);
}

}  // namespace
}  // namespace strata::server
