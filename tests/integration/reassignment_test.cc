// Partition reassignment on real processes (issue 12): every partition of
// an RF 3 topic moved to another replica set while an acks=all producer of
// unique ids runs, without a failed send or a lost or reordered id; and a
// move that survives the controller's death midway.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/id_stream.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;
using Assignment = std::map<int, std::vector<int32_t>>;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

class ReassignmentTest : public ::testing::Test {
 protected:
  // Four brokers: 1-3 vote in the metadata quorum, 4 only observes it.
  ReassignmentTest() : cluster_(3, {"leader.imbalance.check.interval.seconds=1"}) {}

  void SetUp() override {
    ASSERT_EQ(cluster_.AddBrokerOnlyNode(), 4);
    cluster_.StartAll();
    cluster_.Start(4);
    ASSERT_TRUE(cluster_.WaitReady(4)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  void CreateTopic(const std::string& name, const Assignment& assignment,
                   std::map<std::string, std::string> configs = {}) {
    v1::CreateTopicsRequest req;
    v1::NewTopic* t = req.add_topics();
    t->set_name(name);
    t->set_num_partitions(-1);
    t->set_replication_factor(-1);
    for (const auto& [k, v] : configs) (*t->mutable_configs())[k] = v;
    for (const auto& [p, replicas] : assignment) {
      v1::ReplicaAssignment* a = t->add_assignments();
      a->set_partition(p);
      for (int32_t r : replicas) a->add_broker_ids(r);
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::CreateTopicsResponse resp;
    ASSERT_TRUE(cluster_.admin(1)->CreateTopics(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.results(0).error(), v1::NONE) << resp.results(0).error_message();
  }

  // Starts moving `topic`'s partitions to `target` through `node`; every
  // partition's answer must be NONE. While no controller is elected (one
  // was just killed) the call answers NOT_CONTROLLER: asked again, as a
  // Kafka client does, for up to 30 s.
  void Reassign(int node, const std::string& topic, const Assignment& target) {
    v1::AlterPartitionReassignmentsRequest req;
    v1::ReassignableTopic* t = req.add_topics();
    t->set_name(topic);
    for (const auto& [p, replicas] : target) {
      v1::ReassignablePartition* rp = t->add_partitions();
      rp->set_partition(p);
      for (int32_t r : replicas) rp->add_replicas(r);
    }
    v1::AlterPartitionReassignmentsResponse resp;
    grpc::Status s;
    Eventually(
        [&] {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          resp.Clear();
          s = cluster_.admin(node)->AlterPartitionReassignments(&ctx, req, &resp);
          return !s.ok() || resp.error() != v1::NOT_CONTROLLER;
        },
        30000);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.error(), v1::NONE) << resp.error_message();
    for (const auto& tr : resp.responses()) {
      for (const auto& pr : tr.partitions()) {
        ASSERT_EQ(pr.error(), v1::NONE)
            << topic << "-" << pr.partition() << ": " << pr.error_message();
      }
    }
  }

  // How many partitions `node` lists as being reassigned (-1: no answer).
  int Ongoing(int node) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::ListPartitionReassignmentsResponse resp;
    if (!cluster_.admin(node)
             ->ListPartitionReassignments(&ctx, v1::ListPartitionReassignmentsRequest(), &resp)
             .ok()) {
      return -1;
    }
    int n = 0;
    for (const auto& t : resp.topics()) n += t.partitions_size();
    return n;
  }

  // Whether `node` describes every partition of `topic` on exactly its
  // target replicas, with the whole target in sync.
  bool Settled(int node, const std::string& topic, const Assignment& target) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::DescribeTopicsRequest req;
    req.add_names(topic);
    v1::DescribeTopicsResponse resp;
    if (!cluster_.admin(node)->DescribeTopics(&ctx, req, &resp).ok()) return false;
    if (resp.topics_size() != 1) return false;
    for (const auto& p : resp.topics(0).partitions()) {
      auto it = target.find(p.partition());
      if (it == target.end()) continue;
      const std::vector<int32_t> replicas(p.replicas().begin(), p.replicas().end());
      std::vector<int32_t> isr(p.isr().begin(), p.isr().end());
      std::vector<int32_t> want = it->second;
      std::sort(isr.begin(), isr.end());
      std::sort(want.begin(), want.end());
      if (replicas != it->second || isr != want || p.adding_replicas_size() > 0 ||
          p.removing_replicas_size() > 0 || p.leader() < 0) {
        return false;
      }
    }
    return true;
  }

  StrataCluster cluster_;
};

TEST_F(ReassignmentTest, EveryPartitionMovesUnderLoadWithoutLosingAnAcknowledgedRecord) {
  constexpr int kPartitions = 6;
  const std::string topic = "moving";
  // All on brokers 1-3 to begin with, leaders spread.
  Assignment before;
  const std::vector<std::vector<int32_t>> rf3 = {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}};
  for (int p = 0; p < kPartitions; ++p) before[p] = rf3[p % 3];
  CreateTopic(topic, before, {{"min.insync.replicas", "2"}});
  ASSERT_TRUE(Eventually([&] { return Settled(1, topic, before); }, 30000));

  // 1 KiB records at 2,000 a second: the moves copy what 5 s wrote and
  // keep up with what is written meanwhile.
  constexpr int kRate = 2000;
  IdStream stream(cluster_.bootstrap_all(), topic, kPartitions, kRate, 1024);
  ASSERT_TRUE(stream.Start().ok());
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const int64_t before_move = stream.acknowledged();

  // Every partition to another set — with four brokers, each new set takes
  // in broker 4 — and partition 0 away from its leader.
  const Assignment after = {{0, {4, 2, 3}}, {1, {3, 4, 2}}, {2, {1, 4, 3}},
                            {3, {2, 1, 4}}, {4, {1, 2, 4}}, {5, {4, 3, 1}}};
  const auto started = Clock::now();
  Reassign(2, topic, after);
  const bool settled = Eventually(
      [&] { return Ongoing(1) == 0 && Settled(1, topic, after) && Settled(4, topic, after); },
      120000);
  const int64_t move_ms = MsSince(started);
  std::printf(
      "moved %d partitions (RF 3; %lld acknowledged 1 KiB records in them when the moves began) "
      "under a %d records/s acks=all load in %lld ms\n",
      kPartitions, static_cast<long long>(before_move), kRate, static_cast<long long>(move_ms));
  ASSERT_TRUE(settled) << "the moves did not finish within 120 s";

  // Broker 1 no longer holds partition 0's replica; broker 4 holds it.
  EXPECT_TRUE(Eventually(
      [&] { return !std::filesystem::exists(cluster_.partition_dir(1, topic, 0)); }, 30000))
      << "the removed replica's log is still on disk";
  EXPECT_TRUE(std::filesystem::exists(cluster_.partition_dir(4, topic, 0)));

  std::this_thread::sleep_for(std::chrono::seconds(2));
  stream.Stop();
  absl::StatusOr<IdStreamReport> report = stream.Check();
  ASSERT_TRUE(report.ok()) << report.status();
  std::printf("move under load: %s\n", report->Summary().c_str());
  EXPECT_EQ(report->failed, 0) << report->first_error;
  EXPECT_EQ(report->missing, 0);
  EXPECT_EQ(report->out_of_order, 0);
  EXPECT_GT(report->acknowledged, 5000);
}

TEST_F(ReassignmentTest, AMoveSurvivesTheControllersDeathMidway) {
  int controller = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        controller = cluster_.ControllerSeenBy(1);
        return controller > 0;
      },
      10000));
  // The partition lives on a voter that is not the controller, and moves to
  // broker 4 — paused, so the move cannot finish before the controller dies.
  const int source = controller == 1 ? 2 : 1;
  const std::string topic = "failover";
  CreateTopic(topic, {{0, {source}}});
  ASSERT_TRUE(Eventually([&] { return Settled(source, topic, {{0, {source}}}); }, 30000));
  IdStream stream(cluster_.bootstrap(source), topic, 1, 500);
  ASSERT_TRUE(stream.Start().ok());
  std::this_thread::sleep_for(std::chrono::seconds(1));

  cluster_.Pause(4);
  Reassign(source, topic, {{0, {4}}});
  ASSERT_EQ(Ongoing(source), 1);
  cluster_.Kill(controller);
  const int observer = source;
  ASSERT_TRUE(Eventually(
      [&] {
        const int now = cluster_.ControllerSeenBy(observer);
        return now > 0 && now != controller;
      },
      30000));
  EXPECT_EQ(Ongoing(observer), 1) << "the new controller knows of the move";
  cluster_.Resume(4);
  EXPECT_TRUE(Eventually([&] { return Settled(observer, topic, {{0, {4}}}); }, 60000));
  cluster_.Start(controller);
  EXPECT_TRUE(Eventually(
      [&] { return !std::filesystem::exists(cluster_.partition_dir(source, topic, 0)); }, 60000))
      << "broker " << source << " keeps the replica it no longer holds";

  stream.Stop();
  absl::StatusOr<IdStreamReport> report = stream.Check();
  ASSERT_TRUE(report.ok()) << report.status();
  std::printf("move across a controller failover: %s\n", report->Summary().c_str());
  EXPECT_TRUE(report->Safe()) << report->Summary();
}

TEST_F(ReassignmentTest, AReplicaMovedAwayWhileItsBrokerWasDownIsDeletedWhenItReturns) {
  const std::string topic = "away";
  CreateTopic(topic, {{0, {1, 2}}});
  ASSERT_TRUE(Eventually([&] { return Settled(1, topic, {{0, {1, 2}}}); }, 30000));
  IdStream stream(cluster_.bootstrap(1), topic, 1, 500);
  ASSERT_TRUE(stream.Start().ok());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  cluster_.Kill(2);
  Reassign(1, topic, {{0, {1, 3}}});
  ASSERT_TRUE(Eventually([&] { return Settled(1, topic, {{0, {1, 3}}}); }, 60000));
  ASSERT_TRUE(std::filesystem::exists(cluster_.partition_dir(2, topic, 0)));
  cluster_.Start(2);
  EXPECT_TRUE(Eventually(
      [&] { return !std::filesystem::exists(cluster_.partition_dir(2, topic, 0)); }, 60000))
      << "broker 2 kept the stray replica";
  stream.Stop();
  absl::StatusOr<IdStreamReport> report = stream.Check();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->Safe()) << report->Summary();
  EXPECT_EQ(report->failed, 0) << report->first_error;
}

}  // namespace
}  // namespace strata::testing
