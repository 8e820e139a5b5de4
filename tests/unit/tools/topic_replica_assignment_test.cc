// `topics --create --replica-assignment` (Kafka's syntax and messages) and
// the reassignment fields of `topics --describe`.
#include <sstream>

#include "gtest/gtest.h"
#include "tools/topic_command.h"

namespace strata::tools {
namespace {

using Assignment = std::vector<std::vector<int32_t>>;

TEST(ReplicaAssignmentArgTest, CommasSeparatePartitionsAndColonsReplicas) {
  EXPECT_EQ(*ParseReplicaAssignment("2,3"), (Assignment{{2}, {3}}));
  EXPECT_EQ(*ParseReplicaAssignment("1:2,2:3"), (Assignment{{1, 2}, {2, 3}}));
  EXPECT_EQ(*ParseReplicaAssignment(" 3 : 1 ,2: 3"), (Assignment{{3, 1}, {2, 3}}));
  // Java's split drops trailing empty strings.
  EXPECT_EQ(*ParseReplicaAssignment("1,2,"), (Assignment{{1}, {2}}));
  EXPECT_EQ(*ParseReplicaAssignment("1:2:,2:3"), (Assignment{{1, 2}, {2, 3}}));
}

TEST(ReplicaAssignmentArgTest, RefusesWhatKafkaRefuses) {
  absl::StatusOr<Assignment> dup = ParseReplicaAssignment("1:2,3:3");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "Partition replica lists may not contain duplicate entries: 3");

  absl::StatusOr<Assignment> uneven = ParseReplicaAssignment("1:2,1:2:3");
  ASSERT_FALSE(uneven.ok());
  EXPECT_EQ(uneven.status().message(), "Partition 1 has different replication factor: [1, 2, 3]");

  for (const char* bad : {"1:x", "1,,2", "a", "1;2", ":1"}) {
    absl::StatusOr<Assignment> r = ParseReplicaAssignment(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(std::string(r.status().message()).starts_with("For input string: "))
        << r.status().message();
  }
}

TEST(ReplicaAssignmentArgTest, NotWithPartitionsOrReplicationFactor) {
  TopicOptions o;
  o.bootstrap_server = "localhost:9092";
  o.create = true;
  o.topic = "t";
  o.replica_assignment = "2,3";
  EXPECT_TRUE(ValidateTopicOptions(o).ok());
  o.partitions = 2;
  EXPECT_EQ(ValidateTopicOptions(o).message(),
            "Option \"[replica-assignment]\" can't be used with option \"[partitions]\"");
  o.partitions.reset();
  o.replication_factor = 1;
  EXPECT_EQ(ValidateTopicOptions(o).message(),
            "Option \"[replica-assignment]\" can't be used with option \"[replication-factor]\"");
  o.replication_factor.reset();
  o.create = false;
  o.describe = true;
  EXPECT_EQ(ValidateTopicOptions(o).message(),
            "Option \"[replica-assignment]\" can't be used with option \"[describe]\"");
}

v1::PartitionDescription Reassigning(std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                     std::vector<int32_t> adding, std::vector<int32_t> removing) {
  v1::PartitionDescription p;
  p.set_partition(0);
  p.set_leader(replicas.front());
  for (int32_t r : replicas) p.add_replicas(r);
  for (int32_t r : isr) p.add_isr(r);
  for (int32_t r : adding) p.add_adding_replicas(r);
  for (int32_t r : removing) p.add_removing_replicas(r);
  return p;
}

TEST(DescribeReassignmentTest, AddingAndRemovingReplicasFollowIsrWhileMoving) {
  EXPECT_EQ(FormatPartitionLine("t", Reassigning({1, 2, 3}, {2, 3}, {1}, {3})),
            "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 2,3\t"
            "Adding Replicas: 1\tRemoving Replicas: 3");
  // Kafka prints both once a reassignment is under way, an empty one empty.
  EXPECT_EQ(FormatPartitionLine("t", Reassigning({2, 3, 1}, {2, 3}, {1}, {})),
            "\tTopic: t\tPartition: 0\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3\t"
            "Adding Replicas: 1\tRemoving Replicas: ");
  EXPECT_EQ(FormatPartitionLine("t", Reassigning({1, 2}, {1, 2}, {}, {})),
            "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2");
}

TEST(DescribeReassignmentTest, ReplicationFactorLeavesOutReplicasBeingAdded) {
  v1::DescribeTopicsResponse resp;
  v1::TopicDescription* t = resp.add_topics();
  t->set_name("t");
  *t->add_partitions() = Reassigning({1, 2, 3}, {2, 3}, {1}, {3});
  EXPECT_EQ(ReplicationFactorOf(t->partitions(0)), 2);
  EXPECT_EQ(FormatDescribeTopics(resp)[0],
            "Topic: t\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: ");
  // Not under-replicated: the ISR holds the two replicas it is meant to.
  TopicOptions under;
  under.under_replicated_partitions = true;
  EXPECT_TRUE(FormatDescribeTopics(resp, under).empty());
}

}  // namespace
}  // namespace strata::tools
