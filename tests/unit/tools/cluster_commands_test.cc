#include "tools/cluster_commands.h"

#include <sstream>

#include "gtest/gtest.h"
#include "tests/unit/client/fake_cluster.h"

namespace strata::tools {
namespace {

v1::DescribeQuorumResponse Quorum() {
  v1::DescribeQuorumResponse q;
  q.set_cluster_id("MkU3OEVBNTcwNTJENDM2Qk");
  q.set_leader_id(2);
  q.set_leader_epoch(5);
  q.set_high_watermark(123);
  auto add = [](auto* r, int32_t id, int64_t leo, int64_t fetch, int64_t caught_up) {
    r->set_replica_id(id);
    r->set_log_end_offset(leo);
    r->set_last_fetch_timestamp(fetch);
    r->set_last_caught_up_timestamp(caught_up);
  };
  add(q.add_voters(), 1, 120, 1681289151000, 1681289150000);
  add(q.add_voters(), 2, 123, 1681289151431, 1681289151431);
  add(q.add_voters(), 3, 123, 1681289151400, 1681289151400);
  return q;
}

TEST(QuorumFormatTest, StatusPrintsKafkasLines) {
  EXPECT_EQ(FormatQuorumStatus(Quorum()), (std::vector<std::string>{
                                              "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk",
                                              "LeaderId:               2",
                                              "LeaderEpoch:            5",
                                              "HighWatermark:          123",
                                              "MaxFollowerLag:         3",
                                              "MaxFollowerLagTimeMs:   1431",
                                              "CurrentVoters:          [1,2,3]",
                                              "CurrentObservers:       []",
                                          }));
}

TEST(QuorumFormatTest, CaughtUpVotersHaveNoLag) {
  v1::DescribeQuorumResponse q = Quorum();
  q.mutable_voters(0)->set_log_end_offset(123);
  auto* o = q.add_observers();
  o->set_replica_id(4);
  auto lines = FormatQuorumStatus(q);
  EXPECT_EQ(lines[4], "MaxFollowerLag:         0");
  EXPECT_EQ(lines[5], "MaxFollowerLagTimeMs:   0");
  EXPECT_EQ(lines[7], "CurrentObservers:       [4]");
}

TEST(QuorumFormatTest, NoLeaderShowsUnknownLag) {
  v1::DescribeQuorumResponse q = Quorum();
  q.set_leader_id(-1);
  auto lines = FormatQuorumStatus(q);
  EXPECT_EQ(lines[1], "LeaderId:               -1");
  EXPECT_EQ(lines[4], "MaxFollowerLag:         -1");
  EXPECT_EQ(lines[5], "MaxFollowerLagTimeMs:   -1");
}

TEST(QuorumFormatTest, ReplicationPrintsKafkasTable) {
  v1::DescribeQuorumResponse q = Quorum();
  auto* o = q.add_observers();
  o->set_replica_id(4);
  o->set_log_end_offset(100);
  o->set_last_fetch_timestamp(-1);
  o->set_last_caught_up_timestamp(-1);
  EXPECT_EQ(FormatQuorumReplication(q),
            (std::vector<std::string>{
                "NodeId\tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
                "2     \t123         \t0  \t1681289151431     \t1681289151431        \tLeader  \t",
                "1     \t120         \t3  \t1681289151000     \t1681289150000        \tFollower\t",
                "3     \t123         \t0  \t1681289151400     \t1681289151400        \tFollower\t",
                "4     \t100         \t23 \t-1                \t-1                   \tObserver\t",
            }));
}

TEST(BrokerListTest, LiveBrokerIdsAscendingOnePerLine) {
  v1::DescribeClusterResponse c;
  for (int id : {3, 1, 2, 4}) {
    auto* b = c.add_brokers();
    b->set_id(id);
    b->set_fenced(id == 4);
  }
  EXPECT_EQ(FormatBrokerList(c), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(ClusterCommandsTest, RunAgainstAFakeCluster) {
  strata::testing::FakeCluster cluster(3);
  cluster.quorum = Quorum();
  client::AdminConfig config;
  config.bootstrap_servers = cluster.bootstrap();
  auto admin = *client::Admin::Create(config);
  std::ostringstream out, err;
  EXPECT_EQ(RunBrokerList(*admin, out, err), 0);
  EXPECT_EQ(out.str(), "1\n2\n3\n");
  out.str("");
  EXPECT_EQ(RunQuorumStatus(*admin, out, err), 0);
  EXPECT_EQ(out.str().substr(0, 48), "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk\nL");
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace strata::tools
