// Kafka's rack-unaware replica assignment (client/common/replica_assignment.h),
// the one copy the controller and `reassign-partitions --generate` share.
#include "client/common/replica_assignment.h"

#include <set>

#include "gtest/gtest.h"

namespace strata {
namespace {

using Assignment = std::vector<std::vector<int32_t>>;

TEST(ReplicaAssignmentTest, ThreeBrokersTheShapeUsersKnow) {
  EXPECT_EQ(AssignReplicasRackUnaware({1, 2, 3}, 3, 3, 0, 2, 0),
            (Assignment{{3, 1, 2}, {1, 2, 3}, {2, 3, 1}}));
}

TEST(ReplicaAssignmentTest, MatchesKafkaAdminUtilsTest) {
  // Kafka's AdminUtilsTest.testReplicaAssignment: brokers 0..4, 10
  // partitions, RF 3, start index 0 (which Kafka also takes as the shift).
  Assignment expected = {{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
                         {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}};
  EXPECT_EQ(AssignReplicasRackUnaware({0, 1, 2, 3, 4}, 10, 3, 0, 0, 0), expected);
}

TEST(ReplicaAssignmentTest, ContinuesFromAFirstPartition) {
  // The shift grows by one at every full round of brokers (partitions 4 and
  // 8 here), so the tail of a longer assignment is an assignment starting
  // there with the shift it had reached: 2 + 5 / 4.
  Assignment all = AssignReplicasRackUnaware({1, 2, 3, 4}, 9, 3, 0, 1, 2);
  Assignment tail = AssignReplicasRackUnaware({1, 2, 3, 4}, 4, 3, 5, 1, 3);
  EXPECT_EQ(tail, Assignment(all.begin() + 5, all.end()));
}

TEST(ReplicaAssignmentTest, TwoBrokersOneReplicaEach) {
  // --generate for brokers "1,2" of a two-partition RF-1 topic.
  EXPECT_EQ(AssignReplicasRackUnaware({1, 2}, 2, 1, 0, 0, 0), (Assignment{{1}, {2}}));
  EXPECT_EQ(AssignReplicasRackUnaware({1, 2}, 2, 1, 0, 1, 1), (Assignment{{2}, {1}}));
  EXPECT_EQ(AssignReplicasRackUnaware({7}, 3, 1, 0, 0, 0), (Assignment{{7}, {7}, {7}}));
}

TEST(ReplicaAssignmentTest, EveryPartitionHasDistinctReplicas) {
  for (int n = 1; n <= 6; ++n) {
    std::vector<int32_t> brokers;
    for (int i = 0; i < n; ++i) brokers.push_back(10 + i);
    for (int rf = 1; rf <= n; ++rf) {
      for (int start = 0; start < n; ++start) {
        for (int shift = 0; shift < n; ++shift) {
          Assignment a = AssignReplicasRackUnaware(brokers, 12, rf, 0, start, shift);
          ASSERT_EQ(a.size(), 12u);
          for (const auto& replicas : a) {
            ASSERT_EQ(replicas.size(), static_cast<size_t>(rf));
            ASSERT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), replicas.size())
                << "n=" << n << " rf=" << rf << " start=" << start << " shift=" << shift;
          }
        }
      }
    }
  }
}

TEST(ReplicaAssignmentTest, ImpossibleRequestsAreNamedInKafkasWords) {
  EXPECT_EQ(ReplicaAssignmentError(3, 2, 3), "");
  EXPECT_EQ(ReplicaAssignmentError(2, 2, 3),
            "Replication factor: 3 larger than available brokers: 2.");
  EXPECT_EQ(ReplicaAssignmentError(3, 0, 1), "Number of partitions must be larger than 0.");
  EXPECT_EQ(ReplicaAssignmentError(3, 1, 0), "Replication factor must be larger than 0.");
  EXPECT_TRUE(AssignReplicasRackUnaware({1, 2}, 2, 3, 0, 0, 0).empty());
  EXPECT_TRUE(AssignReplicasRackUnaware({}, 2, 1, 0, 0, 0).empty());
}

}  // namespace
}  // namespace strata
