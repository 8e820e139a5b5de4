// The group coordinator on real processes, spoken to through the raw
// strata.v1.Group API as a client library would: __consumer_offsets made
// on first need, the join/sync/heartbeat/commit cycle, Kafka's answers to
// bad input, and a coordinator killed with SIGKILL while its member
// commits — the next coordinator has every acknowledged commit.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "strata/v1/group.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A ConsumerProtocol subscription to `topic` (version 0, no user data).
std::string Subscription(const std::string& topic) {
  std::string out;
  auto put16 = [&](int v) {
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
  };
  put16(0);
  out.append({0, 0, 0, 1});
  put16(static_cast<int>(topic.size()));
  out += topic;
  out.append({'\xff', '\xff', '\xff', '\xff'});
  return out;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest()
      : cluster_(3, {"offsets.topic.num.partitions=3", "offsets.topic.replication.factor=3",
                     "group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"}) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    v1::CreateTopicsRequest req;
    v1::NewTopic* t = req.add_topics();
    t->set_name("t");
    t->set_num_partitions(2);
    t->set_replication_factor(3);
    grpc::ClientContext ctx;
    v1::CreateTopicsResponse resp;
    ASSERT_TRUE(cluster_.admin(1)->CreateTopics(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.results(0).error(), v1::NONE) << resp.results(0).error_message();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  std::unique_ptr<v1::Group::Stub> GroupStub(const std::string& address) {
    return v1::Group::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  // Asks any running node until the group's coordinator is known (bounded);
  // its node id and a stub to it, or -1.
  int FindCoordinator(const std::string& group, std::unique_ptr<v1::Group::Stub>* stub,
                      int timeout_ms = 30000) {
    int node_id = -1;
    Eventually(
        [&] {
          for (int n = 1; n <= 3; ++n) {
            if (!cluster_.running(n)) continue;
            auto any = GroupStub(cluster_.bootstrap(n));
            v1::FindCoordinatorRequest req;
            req.add_keys(group);
            v1::FindCoordinatorResponse resp;
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
            if (!any->FindCoordinator(&ctx, req, &resp).ok()) continue;
            const v1::Coordinator& c = resp.coordinators(0);
            if (c.error() != v1::NONE || !cluster_.running(c.node_id())) return false;
            node_id = c.node_id();
            *stub = GroupStub(c.host() + ":" + std::to_string(c.port()));
            return true;
          }
          return false;
        },
        timeout_ms);
    return node_id;
  }

  v1::JoinGroupResponse Join(v1::Group::Stub* stub, const std::string& group,
                             const std::string& member_id, int session_ms = 6000) {
    v1::JoinGroupRequest req;
    req.set_group_id(group);
    req.set_member_id(member_id);
    req.set_session_timeout_ms(session_ms);
    req.set_rebalance_timeout_ms(10000);
    req.set_protocol_type("consumer");
    req.set_client_id("it-client");
    v1::JoinGroupProtocol* p = req.add_protocols();
    p->set_name("range");
    p->set_metadata(Subscription("t"));
    v1::JoinGroupResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status s = stub->JoinGroup(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Joins as the only member and syncs an assignment of both partitions.
  bool FormGroup(v1::Group::Stub* stub, const std::string& group, std::string* member,
                 int* generation) {
    // The coordinator FindCoordinator named may not have taken up its
    // partition of __consumer_offsets yet (another node's metadata can be
    // ahead of its own): a Kafka client asks again, and so does this one.
    v1::JoinGroupResponse first;
    for (int attempt = 0; attempt < 100; ++attempt) {
      first = Join(stub, group, "");
      if (first.error() != v1::NOT_COORDINATOR &&
          first.error() != v1::COORDINATOR_LOAD_IN_PROGRESS) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (first.error() != v1::MEMBER_ID_REQUIRED) {
      ADD_FAILURE() << "first join: " << first.error() << " " << first.error_message();
      return false;
    }
    v1::JoinGroupResponse joined = Join(stub, group, first.member_id());
    if (joined.error() != v1::NONE) {
      ADD_FAILURE() << "join: " << joined.error() << " " << joined.error_message();
      return false;
    }
    EXPECT_EQ(joined.leader(), first.member_id());
    EXPECT_EQ(joined.protocol_name(), "range");
    v1::SyncGroupRequest sync;
    sync.set_group_id(group);
    sync.set_generation_id(joined.generation_id());
    sync.set_member_id(joined.member_id());
    v1::SyncGroupAssignment* a = sync.add_assignments();
    a->set_member_id(joined.member_id());
    a->set_assignment("assignment-bytes");
    v1::SyncGroupResponse synced;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub->SyncGroup(&ctx, sync, &synced).ok());
    EXPECT_EQ(synced.error(), v1::NONE) << synced.error_message();
    EXPECT_EQ(synced.assignment(), "assignment-bytes");
    *member = joined.member_id();
    *generation = joined.generation_id();
    return synced.error() == v1::NONE;
  }

  v1::ErrorCode Commit(v1::Group::Stub* stub, const std::string& group, const std::string& member,
                       int generation, int64_t offset, int timeout_ms = 5000) {
    v1::OffsetCommitRequest req;
    req.set_group_id(group);
    req.set_member_id(member);
    req.set_generation_id(generation);
    v1::OffsetCommitTopic* t = req.add_topics();
    t->set_name("t");
    for (int p = 0; p < 2; ++p) {
      v1::OffsetCommitPartition* part = t->add_partitions();
      part->set_partition_index(p);
      part->set_committed_offset(offset);
    }
    v1::OffsetCommitResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
    if (!stub->OffsetCommit(&ctx, req, &resp).ok()) return v1::NETWORK_EXCEPTION;
    return resp.topics(0).partitions(0).error();
  }

  // The committed offset of t-0, or -1 (or -2 on an error).
  int64_t Committed(v1::Group::Stub* stub, const std::string& group) {
    v1::OffsetFetchRequest req;
    req.set_group_id(group);
    v1::OffsetFetchTopic* t = req.add_topics();
    t->set_name("t");
    t->add_partition_indexes(0);
    v1::OffsetFetchResponse resp;
    grpc::ClientContext ctx;
    if (!stub->OffsetFetch(&ctx, req, &resp).ok() || resp.error() != v1::NONE) return -2;
    return resp.topics(0).partitions(0).committed_offset();
  }

  StrataCluster cluster_;
};

TEST_F(GroupCoordinatorTest, AGroupFormsCommitsAndRefusesBadInputAsKafkaDoes) {
  std::unique_ptr<v1::Group::Stub> stub;
  ASSERT_GT(FindCoordinator("g1", &stub), 0) << "no coordinator for g1";
  std::string member;
  int generation = -1;
  ASSERT_TRUE(FormGroup(stub.get(), "g1", &member, &generation));
  EXPECT_EQ(generation, 1);

  EXPECT_EQ(Commit(stub.get(), "g1", member, generation, 42), v1::NONE);
  EXPECT_EQ(Committed(stub.get(), "g1"), 42);

  {  // Heartbeat of the current generation, then a stale one.
    v1::HeartbeatRequest hb;
    hb.set_group_id("g1");
    hb.set_member_id(member);
    hb.set_generation_id(generation);
    v1::HeartbeatResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Heartbeat(&ctx, hb, &resp).ok());
    EXPECT_EQ(resp.error(), v1::NONE) << resp.error_message();
  }
  // A stale generation, an unknown member, and a commit from outside the
  // generations on a group with members change nothing.
  EXPECT_EQ(Commit(stub.get(), "g1", member, generation - 1, 7), v1::ILLEGAL_GENERATION);
  EXPECT_EQ(Commit(stub.get(), "g1", "nobody", generation, 7), v1::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(Commit(stub.get(), "g1", "", -1, 7), v1::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(Committed(stub.get(), "g1"), 42);

  {  // An empty group id.
    v1::JoinGroupResponse r = Join(stub.get(), "", "");
    EXPECT_EQ(r.error(), v1::INVALID_GROUP_ID);
  }
  {  // Describe: the group Stable with its member; an unknown group Dead.
    v1::DescribeGroupsRequest req;
    req.add_groups("g1");
    v1::DescribeGroupsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->DescribeGroups(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.groups_size(), 1);
    EXPECT_EQ(resp.groups(0).group_state(), "Stable");
    ASSERT_EQ(resp.groups(0).members_size(), 1);
    EXPECT_EQ(resp.groups(0).members(0).member_id(), member);
    EXPECT_EQ(resp.groups(0).members(0).client_id(), "it-client");
    EXPECT_EQ(resp.groups(0).members(0).client_host(), "/127.0.0.1");
  }
  {  // Clients cannot write to, or create, the internal topic.
    record::RecordBatchBuilder builder;
    record::Record rec;
    rec.value = "x";
    builder.Append(rec);
    v1::ProduceRequest req;
    req.set_acks(1);
    v1::TopicProduceData* t = req.add_topics();
    t->set_topic("__consumer_offsets");
    v1::PartitionProduceData* p = t->add_partitions();
    p->set_partition(0);
    p->set_records(builder.Build());
    v1::ProduceResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(cluster_.broker(1)->Produce(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.topics(0).partitions(0).error(), v1::INVALID_TOPIC_EXCEPTION);

    v1::CreateTopicsRequest create;
    create.add_topics()->set_name("__consumer_offsets");
    v1::CreateTopicsResponse created;
    grpc::ClientContext ctx2;
    ASSERT_TRUE(cluster_.admin(1)->CreateTopics(&ctx2, create, &created).ok());
    EXPECT_EQ(created.results(0).error(), v1::INVALID_REQUEST);
  }
  {  // The member leaves; the group is Empty and can be deleted.
    v1::LeaveGroupRequest req;
    req.set_group_id("g1");
    req.add_members()->set_member_id(member);
    v1::LeaveGroupResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->LeaveGroup(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.members(0).error(), v1::NONE);
    v1::DeleteGroupsRequest del;
    del.add_group_ids("g1");
    del.add_group_ids("never-was");
    v1::DeleteGroupsResponse deleted;
    grpc::ClientContext ctx2;
    ASSERT_TRUE(stub->DeleteGroups(&ctx2, del, &deleted).ok());
    EXPECT_EQ(deleted.results(0).error(), v1::NONE) << deleted.results(0).error_message();
    EXPECT_EQ(deleted.results(1).error(), v1::GROUP_ID_NOT_FOUND);
    EXPECT_EQ(Committed(stub.get(), "g1"), -1);
  }
}

TEST_F(GroupCoordinatorTest, AKilledCoordinatorsSuccessorHasEveryAcknowledgedCommit) {
  const std::string group = "failover-group";
  std::unique_ptr<v1::Group::Stub> stub;
  const int coordinator = FindCoordinator(group, &stub);
  ASSERT_GT(coordinator, 0);
  std::string member;
  int generation = -1;
  ASSERT_TRUE(FormGroup(stub.get(), group, &member, &generation));

  int64_t acknowledged = 0;
  for (int64_t offset = 1; offset <= 50; ++offset) {
    ASSERT_EQ(Commit(stub.get(), group, member, generation, offset), v1::NONE);
    acknowledged = offset;
  }
  const auto killed_at = SteadyClock::now();
  cluster_.Kill(coordinator);

  // The member finds the next coordinator and goes on committing with its
  // generation and member id, which the coordinator stored.
  std::unique_ptr<v1::Group::Stub> next;
  const int successor = FindCoordinator(group, &next, 60000);
  ASSERT_GT(successor, 0);
  ASSERT_NE(successor, coordinator);
  bool accepted = false;
  v1::ErrorCode last = v1::NONE;
  const bool done = Eventually(
      [&] {
        last = Commit(next.get(), group, member, generation, acknowledged + 1);
        accepted = last == v1::NONE;
        return accepted || (last != v1::COORDINATOR_LOAD_IN_PROGRESS &&
                            last != v1::NOT_COORDINATOR && last != v1::NETWORK_EXCEPTION &&
                            last != v1::COORDINATOR_NOT_AVAILABLE && last != v1::REQUEST_TIMED_OUT);
      },
      60000);
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - killed_at).count();
  ASSERT_TRUE(done && accepted) << "last answer " << last;
  std::printf(
      "coordinator failover: from SIGKILL of node %d to the first commit accepted by "
      "node %d: %.2f s\n",
      coordinator, successor, seconds);
  // Nothing went backwards.
  EXPECT_EQ(Committed(next.get(), group), acknowledged + 1);
}

}  // namespace
}  // namespace strata::testing
