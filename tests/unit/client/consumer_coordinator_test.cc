// ConsumerCoordinator against a scripted GroupRpc: each test says what the
// coordinator answers and checks what the member sends and what its
// consumer (a fake RebalanceHost) is told, in order.
#include "client/consumer_coordinator.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/consumer_protocol.h"
#include "client/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

std::string Names(const std::vector<TopicPartition>& tps) {
  std::string out;
  for (const auto& tp : tps) out += (out.empty() ? "" : ",") + tp.ToString();
  return out;
}

// What happened, in order, on either side.
class EventLog {
 public:
  void Add(std::string e) {
    absl::MutexLock l(&mu_);
    events_.push_back(std::move(e));
  }
  std::vector<std::string> Take() {
    absl::MutexLock l(&mu_);
    return std::exchange(events_, {});
  }
  int Count(const std::string& prefix) {
    absl::MutexLock l(&mu_);
    int n = 0;
    for (const auto& e : events_) n += e.rfind(prefix, 0) == 0;
    return n;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> events_;
};

template <typename Response>
absl::StatusOr<Response> Ok() {
  return Response();
}

// Answers every call at once, on the calling thread, with what the test's
// handler returns. Thread-safe: the heartbeat thread calls it too.
class ScriptedGroupRpc : public GroupRpc {
 public:
  using JoinFn = std::function<absl::StatusOr<v1::JoinGroupResponse>(const v1::JoinGroupRequest&)>;
  using SyncFn = std::function<absl::StatusOr<v1::SyncGroupResponse>(const v1::SyncGroupRequest&)>;
  using HeartbeatFn =
      std::function<absl::StatusOr<v1::HeartbeatResponse>(const v1::HeartbeatRequest&)>;
  using CommitFn =
      std::function<absl::StatusOr<v1::OffsetCommitResponse>(const v1::OffsetCommitRequest&)>;
  using FindFn = std::function<absl::StatusOr<v1::FindCoordinatorResponse>()>;

  explicit ScriptedGroupRpc(EventLog* log) : log_(log) {
    find_ = [] {
      v1::FindCoordinatorResponse r;
      v1::Coordinator* c = r.add_coordinators();
      c->set_node_id(1);
      c->set_host("coordinator");
      c->set_port(9092);
      return absl::StatusOr<v1::FindCoordinatorResponse>(r);
    };
    heartbeat_ = [](const v1::HeartbeatRequest&) { return Ok<v1::HeartbeatResponse>(); };
    commit_ = [](const v1::OffsetCommitRequest& q) {
      v1::OffsetCommitResponse r;
      for (const auto& t : q.topics()) {
        auto* rt = r.add_topics();
        rt->set_name(t.name());
        for (const auto& p : t.partitions())
          rt->add_partitions()->set_partition_index(p.partition_index());
      }
      return absl::StatusOr<v1::OffsetCommitResponse>(r);
    };
  }

  void SetFind(FindFn f) { Set(&find_, std::move(f)); }
  void SetJoin(JoinFn f) { Set(&join_, std::move(f)); }
  void SetSync(SyncFn f) { Set(&sync_, std::move(f)); }
  void SetHeartbeat(HeartbeatFn f) { Set(&heartbeat_, std::move(f)); }
  void SetCommit(CommitFn f) { Set(&commit_, std::move(f)); }

  std::vector<v1::JoinGroupRequest> joins() {
    absl::MutexLock l(&mu_);
    return joins_;
  }
  std::vector<v1::OffsetCommitRequest> commits() {
    absl::MutexLock l(&mu_);
    return commits_;
  }
  std::vector<v1::LeaveGroupRequest> leaves() {
    absl::MutexLock l(&mu_);
    return leaves_;
  }

  void FindCoordinator(const v1::FindCoordinatorRequest&, absl::Duration,
                       RpcDone<v1::FindCoordinatorResponse> done) override {
    log_->Add("find");
    done(Get(&find_)());
  }
  void JoinGroup(const std::string&, const v1::JoinGroupRequest& request, absl::Duration,
                 RpcDone<v1::JoinGroupResponse> done) override {
    log_->Add("join:" + request.member_id());
    {
      absl::MutexLock l(&mu_);
      joins_.push_back(request);
    }
    done(Get(&join_)(request));
  }
  void SyncGroup(const std::string&, const v1::SyncGroupRequest& request, absl::Duration,
                 RpcDone<v1::SyncGroupResponse> done) override {
    log_->Add("sync:" + std::to_string(request.generation_id()));
    done(Get(&sync_)(request));
  }
  void Heartbeat(const std::string&, const v1::HeartbeatRequest& request, absl::Duration,
                 RpcDone<v1::HeartbeatResponse> done) override {
    log_->Add("heartbeat");
    done(Get(&heartbeat_)(request));
  }
  void LeaveGroup(const std::string&, const v1::LeaveGroupRequest& request, absl::Duration,
                  RpcDone<v1::LeaveGroupResponse> done) override {
    log_->Add("leave");
    {
      absl::MutexLock l(&mu_);
      leaves_.push_back(request);
    }
    done(v1::LeaveGroupResponse());
  }
  void OffsetCommit(const std::string&, const v1::OffsetCommitRequest& request, absl::Duration,
                    RpcDone<v1::OffsetCommitResponse> done) override {
    std::string what = "commit:" + std::to_string(request.generation_id());
    for (const auto& t : request.topics()) {
      for (const auto& p : t.partitions()) {
        what += " " + t.name() + "-" + std::to_string(p.partition_index()) + "@" +
                std::to_string(p.committed_offset());
      }
    }
    log_->Add(what);
    {
      absl::MutexLock l(&mu_);
      commits_.push_back(request);
    }
    done(Get(&commit_)(request));
  }
  void OffsetFetch(const std::string&, const v1::OffsetFetchRequest& request, absl::Duration,
                   RpcDone<v1::OffsetFetchResponse> done) override {
    log_->Add("fetch");
    v1::OffsetFetchResponse r;
    for (const auto& t : request.topics()) {
      auto* rt = r.add_topics();
      rt->set_name(t.name());
      for (int32_t p : t.partition_indexes()) {
        auto* rp = rt->add_partitions();
        rp->set_partition_index(p);
        rp->set_committed_offset(p == 0 ? 42 : -1);
      }
    }
    done(r);
  }
  void CancelAll() override {}

 private:
  template <typename F>
  void Set(F* slot, F f) {
    absl::MutexLock l(&mu_);
    *slot = std::move(f);
  }
  template <typename F>
  F Get(F* slot) {
    absl::MutexLock l(&mu_);
    return *slot;
  }

  EventLog* const log_;
  absl::Mutex mu_;
  FindFn find_;
  JoinFn join_;
  SyncFn sync_;
  HeartbeatFn heartbeat_;
  CommitFn commit_;
  std::vector<v1::JoinGroupRequest> joins_;
  std::vector<v1::OffsetCommitRequest> commits_;
  std::vector<v1::LeaveGroupRequest> leaves_;
};

class FakeHost : public RebalanceHost {
 public:
  explicit FakeHost(EventLog* log) : log_(log) {}

  std::map<std::string, int32_t> PartitionCounts(const std::set<std::string>& topics) override {
    std::map<std::string, int32_t> out;
    for (const auto& t : topics) {
      if (counts.contains(t)) out[t] = counts[t];
    }
    return out;
  }
  std::map<TopicPartition, int64_t> ConsumedPositions() override {
    std::map<TopicPartition, int64_t> out;
    for (const auto& tp : assigned) out[tp] = 100 + tp.partition.value();
    return out;
  }
  void PartitionsRevoked(const std::vector<TopicPartition>& tps) override {
    log_->Add("revoked:" + Names(tps));
    for (const auto& tp : tps) assigned.erase(tp);
  }
  void PartitionsAssigned(const std::vector<TopicPartition>& tps) override {
    log_->Add("assigned:" + Names(tps));
    assigned.insert(tps.begin(), tps.end());
  }
  void PartitionsLost(const std::vector<TopicPartition>& tps) override {
    log_->Add("lost:" + Names(tps));
    for (const auto& tp : tps) assigned.erase(tp);
  }
  void Nudge() override { ++nudges; }

  std::map<std::string, int32_t> counts;
  std::set<TopicPartition> assigned;
  std::atomic<int> nudges{0};

 private:
  EventLog* const log_;
};

v1::JoinGroupResponse Joined(const std::string& member, int32_t generation,
                             const std::string& leader, const std::string& protocol) {
  v1::JoinGroupResponse r;
  r.set_member_id(member);
  r.set_generation_id(generation);
  r.set_leader(leader);
  r.set_protocol_type("consumer");
  r.set_protocol_name(protocol);
  return r;
}

v1::SyncGroupResponse Assigned(const std::vector<TopicPartition>& tps) {
  v1::SyncGroupResponse r;
  ConsumerAssignment a;
  a.partitions = tps;
  r.set_assignment(EncodeAssignment(a));
  return r;
}

class ConsumerCoordinatorTest : public ::testing::Test {
 protected:
  void Start(const std::string& strategy, bool auto_commit = true,
             absl::Duration heartbeat = absl::Seconds(10),
             absl::Duration max_poll_interval = absl::Minutes(5)) {
    GroupOptions o;
    o.group_id = "g";
    o.client_id = "c";
    o.session_timeout = std::max(absl::Seconds(1), heartbeat * 3);
    o.heartbeat_interval = heartbeat;
    o.rebalance_timeout = max_poll_interval;
    o.retry_backoff = absl::Milliseconds(5);
    o.request_timeout = absl::Seconds(2);
    o.auto_commit = auto_commit;
    o.auto_commit_interval = absl::Hours(1);
    auto assignors = MakeAssignors(strategy);
    ASSERT_TRUE(assignors.ok()) << assignors.status();
    host_.counts = {{"t", 3}};
    coordinator_ = std::make_unique<ConsumerCoordinator>(o, *std::move(assignors), &rpc_, &host_);
  }

  // Polls until the member is stable with no rejoin pending.
  void PollUntilStable() {
    for (int i = 0; i < 50 && (coordinator_->RejoinNeeded()); ++i) {
      ASSERT_TRUE(coordinator_->Poll(absl::Now() + absl::Milliseconds(100), true).ok());
    }
    ASSERT_FALSE(coordinator_->RejoinNeeded());
  }

  // A group of one: this member leads generation `generation` and its
  // assignor's result comes back in SyncGroup.
  void ScriptLeaderOfOne(int32_t generation) {
    rpc_.SetJoin([generation](const v1::JoinGroupRequest& q) {
      if (q.member_id().empty()) {
        v1::JoinGroupResponse r;
        r.set_error(v1::MEMBER_ID_REQUIRED);
        r.set_member_id("c-1");
        return absl::StatusOr<v1::JoinGroupResponse>(r);
      }
      v1::JoinGroupResponse r =
          Joined(q.member_id(), generation, q.member_id(), q.protocols(0).name());
      auto* m = r.add_members();
      m->set_member_id(q.member_id());
      m->set_metadata(q.protocols(0).metadata());
      return absl::StatusOr<v1::JoinGroupResponse>(r);
    });
    rpc_.SetSync([](const v1::SyncGroupRequest& q) {
      v1::SyncGroupResponse r;
      for (const auto& a : q.assignments()) {
        if (a.member_id() == q.member_id()) r.set_assignment(a.assignment());
      }
      return absl::StatusOr<v1::SyncGroupResponse>(r);
    });
  }

  EventLog log_;
  ScriptedGroupRpc rpc_{&log_};
  FakeHost host_{&log_};
  std::unique_ptr<ConsumerCoordinator> coordinator_;
};

TEST_F(ConsumerCoordinatorTest, JoinsWithTheGivenMemberIdLeadsAndAssigns) {
  Start("range,cooperative-sticky");
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t", "missing"});
  PollUntilStable();
  EXPECT_THAT(log_.Take(),
              ElementsAre("find", "join:", "join:c-1", "sync:1", "assigned:t-0,t-1,t-2"));
  EXPECT_EQ(coordinator_->member_id(), "c-1");
  EXPECT_EQ(coordinator_->generation(), 1);
  EXPECT_EQ(coordinator_->state(), MemberState::kStable);

  // Each JoinGroup offers both assignors, preferred first, with the
  // sorted subscription in Kafka's ConsumerProtocol bytes.
  std::vector<v1::JoinGroupRequest> joins = rpc_.joins();
  ASSERT_EQ(joins.size(), 2u);
  const v1::JoinGroupRequest& j = joins[1];
  EXPECT_EQ(j.protocol_type(), "consumer");
  EXPECT_EQ(j.group_id(), "g");
  ASSERT_EQ(j.protocols_size(), 2);
  EXPECT_EQ(j.protocols(0).name(), "range");
  EXPECT_EQ(j.protocols(1).name(), "cooperative-sticky");
  auto sub = DecodeSubscription(j.protocols(0).metadata());
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_THAT(sub->topics, ElementsAre("missing", "t"));
  auto coop = DecodeSubscription(j.protocols(1).metadata());
  ASSERT_TRUE(coop.ok());
  EXPECT_TRUE(coop->has_user_data);  // its generation, -1 before the first
}

TEST_F(ConsumerCoordinatorTest, EagerCommitsAndRevokesEverythingBeforeRejoining) {
  Start("range");
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  log_.Take();
  ScriptLeaderOfOne(2);
  rpc_.SetHeartbeat([](const v1::HeartbeatRequest&) {
    v1::HeartbeatResponse r;
    r.set_error(v1::REBALANCE_IN_PROGRESS);
    return absl::StatusOr<v1::HeartbeatResponse>(r);
  });
  // A subscription change asks for a rejoin just as a heartbeat's
  // REBALANCE_IN_PROGRESS does.
  coordinator_->SetSubscription({"t", "u"});
  PollUntilStable();
  EXPECT_THAT(log_.Take(), ElementsAre("commit:1 t-0@100 t-1@101 t-2@102", "revoked:t-0,t-1,t-2",
                                       "join:c-1", "sync:2", "assigned:t-0,t-1,t-2"));
}

TEST_F(ConsumerCoordinatorTest, CooperativeRevokesOnlyWhatMovedThenRejoins) {
  Start("cooperative-sticky");
  // A follower: the leader is someone else and decides. Each join starts
  // the next generation.
  std::atomic<int> generation{0};
  rpc_.SetJoin([&](const v1::JoinGroupRequest& q) {
    const std::string id = q.member_id().empty() ? "c-1" : q.member_id();
    return absl::StatusOr<v1::JoinGroupResponse>(
        Joined(id, ++generation, "leader", "cooperative-sticky"));
  });
  rpc_.SetSync([&](const v1::SyncGroupRequest& q) {
    if (q.generation_id() == 1) {
      return absl::StatusOr<v1::SyncGroupResponse>(Assigned({Tp("t", 0), Tp("t", 1), Tp("t", 2)}));
    }
    return absl::StatusOr<v1::SyncGroupResponse>(Assigned({Tp("t", 0)}));
  });
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  EXPECT_THAT(log_.Take(), ElementsAre("find", "join:", "sync:1", "assigned:t-0,t-1,t-2"));

  // A rebalance in which this member keeps consuming t-0..t-2 until told
  // otherwise (nothing is revoked before the join); it gives up t-1 and
  // t-2 only, committing them first, and joins again at once for the
  // follow-up rebalance, which adds nothing.
  coordinator_->SetSubscription({"t", "u"});
  PollUntilStable();
  EXPECT_THAT(log_.Take(),
              ElementsAre("join:c-1", "sync:2", "commit:2 t-1@101 t-2@102", "revoked:t-1,t-2",
                          "assigned:", "join:c-1", "sync:3", "assigned:"));
  // The follow-up join told the leader what the member still owns.
  std::vector<v1::JoinGroupRequest> joins = rpc_.joins();
  auto sub = DecodeSubscription(joins.back().protocols(0).metadata());
  ASSERT_TRUE(sub.ok());
  EXPECT_THAT(sub->owned_partitions, ElementsAre(Tp("t", 0)));
  EXPECT_EQ(sub->generation_id, 2);
  EXPECT_THAT(sub->topics, ElementsAre("t", "u"));
  EXPECT_THAT(host_.assigned, ElementsAre(Tp("t", 0)));
}

TEST_F(ConsumerCoordinatorTest, UnknownMemberInAHeartbeatLosesThePartitions) {
  Start("range", /*auto_commit=*/true, /*heartbeat=*/absl::Milliseconds(20));
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  log_.Take();
  rpc_.SetHeartbeat([](const v1::HeartbeatRequest&) {
    v1::HeartbeatResponse r;
    r.set_error(v1::UNKNOWN_MEMBER_ID);
    return absl::StatusOr<v1::HeartbeatResponse>(r);
  });
  for (int i = 0; i < 200 && coordinator_->state() == MemberState::kStable; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(coordinator_->state(), MemberState::kUnjoined);
  EXPECT_EQ(coordinator_->member_id(), "");
  rpc_.SetHeartbeat([](const v1::HeartbeatRequest&) { return Ok<v1::HeartbeatResponse>(); });
  ScriptLeaderOfOne(5);
  PollUntilStable();
  std::vector<std::string> events = log_.Take();
  std::vector<std::string> interesting;
  for (const auto& e : events) {
    if (e != "heartbeat") interesting.push_back(e);
  }
  // Lost, not revoked, and no commit: another member may own them now.
  EXPECT_THAT(interesting, ElementsAre("lost:t-0,t-1,t-2", "join:", "join:c-1", "sync:5",
                                       "assigned:t-0,t-1,t-2"));
}

TEST_F(ConsumerCoordinatorTest, NotPollingWithinMaxPollIntervalLeavesTheGroup) {
  Start("range", /*auto_commit=*/false, /*heartbeat=*/absl::Milliseconds(20),
        /*max_poll_interval=*/absl::Milliseconds(200));
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  for (int i = 0; i < 200 && rpc_.leaves().empty(); ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(rpc_.leaves().size(), 1u);
  EXPECT_EQ(rpc_.leaves()[0].members(0).member_id(), "c-1");
  EXPECT_THAT(rpc_.leaves()[0].members(0).reason(), HasSubstr("poll timeout"));
  EXPECT_EQ(coordinator_->state(), MemberState::kUnjoined);
  log_.Take();
  ScriptLeaderOfOne(2);
  PollUntilStable();
  std::vector<std::string> events = log_.Take();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0], "lost:t-0,t-1,t-2");
}

TEST_F(ConsumerCoordinatorTest, RejectedCommitIsCommitFailedException) {
  Start("range");
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  rpc_.SetCommit([](const v1::OffsetCommitRequest& q) {
    v1::OffsetCommitResponse r;
    auto* t = r.add_topics();
    t->set_name(q.topics(0).name());
    auto* p = t->add_partitions();
    p->set_partition_index(q.topics(0).partitions(0).partition_index());
    p->set_error(v1::ILLEGAL_GENERATION);
    return absl::StatusOr<v1::OffsetCommitResponse>(r);
  });
  absl::Status s = coordinator_->CommitSync({{Tp("t", 0), 7}}, absl::Now() + absl::Seconds(1));
  EXPECT_EQ(ErrorCodeOf(s), v1::ILLEGAL_GENERATION);
  EXPECT_THAT(s.message(), HasSubstr("CommitFailedException"));
  // The generation is gone: the next Poll reports the partitions lost and
  // joins again with the same member id.
  EXPECT_EQ(coordinator_->generation(), -1);
  EXPECT_EQ(coordinator_->member_id(), "c-1");
  const std::vector<v1::OffsetCommitRequest> commits = rpc_.commits();
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0].generation_id(), 1);
  EXPECT_EQ(commits[0].member_id(), "c-1");
}

TEST_F(ConsumerCoordinatorTest, ManualAssignmentCommitsOutsideGenerations) {
  Start("range");
  ASSERT_TRUE(coordinator_->CommitSync({{Tp("t", 1), 9}}, absl::Now() + absl::Seconds(1)).ok());
  const std::vector<v1::OffsetCommitRequest> commits = rpc_.commits();
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0].generation_id(), -1);
  EXPECT_EQ(commits[0].member_id(), "");
  auto committed =
      coordinator_->FetchCommitted({Tp("t", 0), Tp("t", 1)}, absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(*committed, (std::map<TopicPartition, int64_t>{{Tp("t", 0), 42}}));
}

TEST_F(ConsumerCoordinatorTest, CoordinatorErrorsAreRetriedAfterFindingItAgain) {
  Start("range");
  std::atomic<int> finds{0};
  rpc_.SetFind([&] {
    v1::FindCoordinatorResponse r;
    v1::Coordinator* c = r.add_coordinators();
    if (finds++ == 0) {
      c->set_error(v1::COORDINATOR_NOT_AVAILABLE);
    } else {
      c->set_host("h");
      c->set_port(1);
    }
    return absl::StatusOr<v1::FindCoordinatorResponse>(r);
  });
  std::atomic<int> joins{0};
  rpc_.SetJoin([&](const v1::JoinGroupRequest& q) {
    v1::JoinGroupResponse r;
    if (joins++ == 0) {
      r.set_error(v1::NOT_COORDINATOR);
      return absl::StatusOr<v1::JoinGroupResponse>(r);
    }
    r = Joined("c-9", 3, "someone-else", "range");
    (void)q;
    return absl::StatusOr<v1::JoinGroupResponse>(r);
  });
  rpc_.SetSync([](const v1::SyncGroupRequest&) {
    return absl::StatusOr<v1::SyncGroupResponse>(Assigned({Tp("t", 2)}));
  });
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  EXPECT_EQ(finds.load(), 3);  // not available, found, found again after NOT_COORDINATOR
  EXPECT_EQ(coordinator_->generation(), 3);
  EXPECT_THAT(host_.assigned, ElementsAre(Tp("t", 2)));
}

TEST_F(ConsumerCoordinatorTest, CloseCommitsRevokesAndLeaves) {
  Start("range");
  ScriptLeaderOfOne(1);
  coordinator_->SetSubscription({"t"});
  PollUntilStable();
  log_.Take();
  coordinator_->Close(absl::Now() + absl::Seconds(1));
  EXPECT_THAT(log_.Take(),
              ElementsAre("commit:1 t-0@100 t-1@101 t-2@102", "revoked:t-0,t-1,t-2", "leave"));
}

}  // namespace
}  // namespace strata::client
