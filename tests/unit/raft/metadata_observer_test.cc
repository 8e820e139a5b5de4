// MetadataObserver, the broker-only node's follower of the metadata log:
// first against a scripted quorum (the fetch seam), then against real
// RaftNodes over loopback gRPC, which answer its fetches as leaders.
#include "raft/node/metadata_observer.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "raft/node/proto_convert.h"
#include "raft/node/raft_node.h"
#include "strata/internal/raft.grpc.pb.h"
#include "tests/common/free_port.h"

namespace strata::raft {
namespace {

// Polls `done` every 10 ms for up to 20 s.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// A state machine whose state is the list of entry payloads applied, so
// every node that applied the same log holds the same string.
class ListStateMachine final : public StateMachine {
 public:
  void Apply(const Entry& entry) override {
    absl::MutexLock l(&mu_);
    items_.push_back(entry.data);
    ++applies_;
  }
  std::string TakeSnapshot() override {
    absl::MutexLock l(&mu_);
    return absl::StrJoin(items_, ",");
  }
  absl::Status Restore(const std::string& data) override {
    absl::MutexLock l(&mu_);
    items_.clear();
    if (!data.empty()) items_ = absl::StrSplit(data, ',');
    ++restores_;
    return absl::OkStatus();
  }
  std::vector<std::string> items() const {
    absl::MutexLock l(&mu_);
    return items_;
  }
  int applies() const {
    absl::MutexLock l(&mu_);
    return applies_;
  }
  int restores() const {
    absl::MutexLock l(&mu_);
    return restores_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> items_ ABSL_GUARDED_BY(mu_);
  int applies_ ABSL_GUARDED_BY(mu_) = 0;
  int restores_ ABSL_GUARDED_BY(mu_) = 0;
};

std::vector<std::string> Items(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(absl::StrCat("e", i));
  return out;
}

// A scripted quorum: one voter leads with a committed log (entries from
// first_index, a snapshot before it); the others name the leader, or are
// down. Fetches are answered as the leader's RaftNode does.
class FakeQuorum {
 public:
  void SetLeader(uint64_t leader) {
    absl::MutexLock l(&mu_);
    leader_ = leader;
  }
  void SetDown(uint64_t voter, bool down) {
    absl::MutexLock l(&mu_);
    down_[voter] = down;
  }
  // Commits entries "e<first>".."e<last>".
  void Commit(int last) {
    absl::MutexLock l(&mu_);
    for (int i = static_cast<int>(log_.size()) + snapshot_index_ + 1; i <= last; ++i) {
      log_.push_back(absl::StrCat("e", i));
    }
  }
  // Compacts the log through `index` into a snapshot.
  void CompactThrough(int index) {
    absl::MutexLock l(&mu_);
    while (snapshot_index_ < index) {
      snapshot_.push_back(log_.front());
      log_.erase(log_.begin());
      ++snapshot_index_;
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls() const {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  int snapshots_sent() const {
    absl::MutexLock l(&mu_);
    return snapshots_sent_;
  }

  grpc::Status Fetch(NodeId voter, grpc::ClientContext*, const internal::RaftFetchRequest& request,
                     internal::RaftFetchResponse* response) {
    bool nothing_new = false;
    grpc::Status s = Answer(voter, request, response, &nothing_new);
    // The long poll, shortened.
    if (nothing_new) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return s;
  }

 private:
  grpc::Status Answer(NodeId voter, const internal::RaftFetchRequest& request,
                      internal::RaftFetchResponse* response, bool* nothing_new) {
    absl::MutexLock l(&mu_);
    calls_.emplace_back(voter.value(), request.next_index());
    if (down_[voter.value()]) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
    response->set_leader_id(leader_);
    response->set_term(7);
    if (voter.value() != leader_) {
      response->set_error(internal::RAFT_FETCH_NOT_LEADER);
      return grpc::Status::OK;
    }
    const int last = snapshot_index_ + static_cast<int>(log_.size());
    response->set_commit(last);
    const int next = static_cast<int>(request.next_index());
    if (next <= snapshot_index_) {
      ++snapshots_sent_;
      response->mutable_snapshot_metadata()->set_index(snapshot_index_);
      response->mutable_snapshot_metadata()->set_term(7);
      response->set_snapshot_data(absl::StrJoin(snapshot_, ","));
      return grpc::Status::OK;
    }
    if (next > last) {
      *nothing_new = true;
      return grpc::Status::OK;
    }
    for (int i = next; i <= last; ++i) {
      internal::RaftEntry* e = response->add_entries();
      e->set_index(i);
      e->set_term(7);
      e->set_data(log_[i - snapshot_index_ - 1]);
    }
    return grpc::Status::OK;
  }

  mutable absl::Mutex mu_;
  uint64_t leader_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, bool> down_ ABSL_GUARDED_BY(mu_);
  int snapshot_index_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> snapshot_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, uint64_t>> calls_ ABSL_GUARDED_BY(mu_);
  int snapshots_sent_ ABSL_GUARDED_BY(mu_) = 0;
};

class MetadataObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-observer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  MetadataObserverOptions Options() {
    MetadataObserverOptions o;
    o.id = NodeId(4);
    o.address = "observer:4";
    for (uint64_t v : {1, 2, 3}) o.voters[NodeId(v)] = absl::StrCat("voter:", v);
    o.data_dir = dir_ + "/observer";
    o.retry_backoff_ms = 1;
    o.clock = Clock::Real();
    o.fetch = [this](NodeId voter, grpc::ClientContext* ctx,
                     const internal::RaftFetchRequest& request,
                     internal::RaftFetchResponse* response) {
      return quorum_.Fetch(voter, ctx, request, response);
    };
    return o;
  }

  std::unique_ptr<MetadataObserver> Observer(StateMachine* sm, MetadataObserverOptions o) {
    auto observer = MetadataObserver::Create(std::move(o), sm);
    EXPECT_TRUE(observer.ok()) << observer.status();
    return observer.ok() ? std::move(*observer) : nullptr;
  }

  std::string dir_;
  FakeQuorum quorum_;
};

TEST_F(MetadataObserverTest, AVoterCannotBeAnObserver) {
  MetadataObserverOptions o = Options();
  o.id = NodeId(2);
  ListStateMachine sm;
  EXPECT_TRUE(absl::IsInvalidArgument(MetadataObserver::Create(o, &sm).status()));
}

TEST_F(MetadataObserverTest, FindsTheLeaderThroughTheVotersAndAppliesCommittedEntries) {
  // Voter 1 knows no leader, voter 2 names voter 3, which leads.
  quorum_.SetLeader(3);
  quorum_.Commit(5);
  ListStateMachine sm;
  auto observer = Observer(&sm, Options());
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 5); }));
  MetadataObserverStatus st = observer->status();
  EXPECT_EQ(st.leader, NodeId(3));
  EXPECT_EQ(st.term, Term(7));
  EXPECT_EQ(st.applied, Index(5));
  EXPECT_EQ(st.leader_commit, Index(5));
  EXPECT_EQ(st.snapshots_restored, 0);
  // New commits keep arriving, from the leader alone.
  quorum_.Commit(9);
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 9); }));
  observer->Stop();
  std::vector<std::pair<uint64_t, uint64_t>> calls = quorum_.calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[0], std::make_pair(uint64_t{1}, uint64_t{1}));
  size_t first_to_leader = 0;
  while (calls[first_to_leader].first != 3) ++first_to_leader;
  for (size_t i = first_to_leader; i < calls.size(); ++i) EXPECT_EQ(calls[i].first, 3u) << i;
}

TEST_F(MetadataObserverTest, AnUnreachableLeaderSendsItBackToTheVoters) {
  quorum_.SetLeader(1);
  quorum_.Commit(3);
  ListStateMachine sm;
  auto observer = Observer(&sm, Options());
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 3); }));
  // Voter 1 goes down and voter 2 takes over with more entries.
  quorum_.SetDown(1, true);
  quorum_.SetLeader(2);
  quorum_.Commit(6);
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 6); }));
  EXPECT_EQ(observer->status().leader, NodeId(2));
}

TEST_F(MetadataObserverTest, ARestartResumesFromWhatItStored) {
  quorum_.SetLeader(2);
  quorum_.Commit(8);
  {
    ListStateMachine sm;
    auto observer = Observer(&sm, Options());
    observer->Start();
    ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 8); }));
  }
  const size_t calls_before = quorum_.calls().size();
  quorum_.Commit(10);
  ListStateMachine sm;
  auto observer = Observer(&sm, Options());
  EXPECT_EQ(observer->initial_commit(), Index(8));
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 10); }));
  // Replayed from its own log, then fetched from 9: no snapshot, nothing
  // fetched twice.
  std::vector<std::pair<uint64_t, uint64_t>> calls = quorum_.calls();
  EXPECT_EQ(calls[calls_before].second, 9u);
  EXPECT_EQ(quorum_.snapshots_sent(), 0);
  EXPECT_EQ(sm.restores(), 0);
  EXPECT_EQ(observer->status().snapshots_restored, 0);
}

TEST_F(MetadataObserverTest, ASnapshotOnlyWhenTheLeaderCompactedPastIt) {
  quorum_.SetLeader(1);
  quorum_.Commit(4);
  {
    ListStateMachine sm;
    auto observer = Observer(&sm, Options());
    observer->Start();
    ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 4); }));
  }
  // While it is away the leader commits more and compacts past index 5.
  quorum_.Commit(20);
  quorum_.CompactThrough(15);
  ListStateMachine sm;
  auto observer = Observer(&sm, Options());
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 20); }));
  EXPECT_EQ(quorum_.snapshots_sent(), 1);
  MetadataObserverStatus st = observer->status();
  EXPECT_EQ(st.snapshots_restored, 1);
  EXPECT_EQ(st.snapshot_index, Index(15));
  EXPECT_EQ(st.first_index, Index(16));
  EXPECT_EQ(st.last_index, Index(20));
  observer->Stop();
  observer.reset();

  // The snapshot was stored: the next restart starts from it.
  ListStateMachine again;
  observer = Observer(&again, Options());
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return again.items() == Items(1, 20); }));
  EXPECT_EQ(again.restores(), 1);  // its own snapshot
  EXPECT_EQ(again.applies(), 5);   // then entries 16..20
  EXPECT_EQ(quorum_.snapshots_sent(), 1);
}

TEST_F(MetadataObserverTest, ItCompactsItsOwnLog) {
  quorum_.SetLeader(1);
  quorum_.Commit(30);
  MetadataObserverOptions o = Options();
  o.snapshot_entries = 10;
  o.keep_entries = 2;
  ListStateMachine sm;
  auto observer = Observer(&sm, o);
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return sm.items() == Items(1, 30); }));
  MetadataObserverStatus st = observer->status();
  EXPECT_EQ(st.snapshot_index, Index(30));
  EXPECT_EQ(st.first_index, Index(29));
  observer->Stop();
  observer.reset();
  ListStateMachine again;
  observer = Observer(&again, o);
  observer->Start();
  ASSERT_TRUE(Eventually([&] { return again.items() == Items(1, 30); }));
  EXPECT_EQ(quorum_.snapshots_sent(), 0);
}

// --- Against real RaftNodes over loopback gRPC ---

// One voter of an in-process quorum: a RaftNode with its gRPC server.
struct Voter {
  ListStateMachine sm;
  std::unique_ptr<RaftNode> node;
  std::unique_ptr<grpc::Server> server;
};

class ObservedQuorumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-observed-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    observer_.reset();
    for (auto& [id, v] : voters_) {
      v.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      v.node->Stop();
    }
    voters_.clear();
    std::filesystem::remove_all(dir_);
  }

  // Starts `n` voters on loopback ports picked beforehand, since every
  // node needs every address.
  void StartQuorum(int n, uint64_t snapshot_entries = 10000, uint64_t keep_entries = 1000) {
    std::map<NodeId, std::string> peers;
    for (int i = 1; i <= n; ++i) {
      const NodeId id(static_cast<uint64_t>(i));
      peers[id] = absl::StrCat("127.0.0.1:", strata::testing::PickFreePort());
    }
    for (int i = 1; i <= n; ++i) {
      const NodeId id(static_cast<uint64_t>(i));
      RaftNodeOptions o;
      o.id = id;
      o.peers = peers;
      for (const auto& [p, _] : peers) o.voters.push_back(p);
      o.data_dir = absl::StrCat(dir_, "/voter", i);
      o.tick_ms = 10;
      o.election_tick = 10;
      o.snapshot_entries = snapshot_entries;
      o.keep_entries = keep_entries;
      o.seed = static_cast<uint64_t>(i);
      o.clock = Clock::Real();
      Voter& v = voters_[id];
      auto node = RaftNode::Create(o, &v.sm);
      ASSERT_TRUE(node.ok()) << node.status();
      v.node = std::move(*node);
      grpc::ServerBuilder builder;
      builder.AddListeningPort(peers[id], grpc::InsecureServerCredentials());
      builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
      builder.RegisterService(v.node->service());
      v.server = builder.BuildAndStart();
      ASSERT_NE(v.server, nullptr);
    }
    peers_ = peers;
    for (auto& [id, v] : voters_) v.node->Start();
    ASSERT_TRUE(Eventually([&] { return Leader() != kNoNode; }));
  }

  NodeId Leader() {
    for (auto& [id, v] : voters_) {
      if (v.node->status().role == Role::kLeader) return id;
    }
    return kNoNode;
  }

  // Proposes `count` entries "e<first>".. on the leader and waits for them.
  void Propose(int first, int count) {
    for (int i = first; i < first + count; ++i) {
      auto promise = std::make_shared<std::promise<absl::StatusOr<Index>>>();
      std::future<absl::StatusOr<Index>> result = promise->get_future();
      voters_.at(Leader()).node->Propose(
          absl::StrCat("e", i), [promise](absl::StatusOr<Index> r) { promise->set_value(r); });
      ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      absl::StatusOr<Index> index = result.get();
      ASSERT_TRUE(index.ok()) << index.status();
    }
  }

  MetadataObserverOptions ObserverOptions() {
    MetadataObserverOptions o;
    o.id = NodeId(4);
    o.address = "127.0.0.1:4";
    o.voters = peers_;
    o.data_dir = dir_ + "/observer";
    o.retry_backoff_ms = 10;
    o.clock = Clock::Real();
    return o;
  }

  void StartObserver() {
    auto observer = MetadataObserver::Create(ObserverOptions(), &observer_sm_);
    ASSERT_TRUE(observer.ok()) << observer.status();
    observer_ = std::move(*observer);
    observer_->Start();
  }

  std::string dir_;
  std::map<NodeId, std::string> peers_;
  std::map<NodeId, Voter> voters_;
  ListStateMachine observer_sm_;
  std::unique_ptr<MetadataObserver> observer_;
};

TEST_F(ObservedQuorumTest, TheLeaderServesCommittedEntriesAndTracksTheObserver) {
  StartQuorum(1);
  Propose(1, 5);
  StartObserver();
  ASSERT_TRUE(Eventually([&] { return observer_sm_.items() == Items(1, 5); }));
  const NodeId leader = Leader();
  // Long-polling: the next commit reaches it without another round of
  // polling (the fetch was parked at the leader).
  Propose(6, 1);
  ASSERT_TRUE(Eventually([&] { return observer_sm_.items() == Items(1, 6); }));
  ASSERT_TRUE(Eventually([&] {
    RaftNodeStatus st = voters_.at(leader).node->status();
    auto it = st.observers.find(NodeId(4));
    return it != st.observers.end() && it->second.fetched == st.commit &&
           it->second.last_caught_up_ms > 0 && it->second.address == "127.0.0.1:4";
  }));
  EXPECT_EQ(observer_->status().leader, leader);
  EXPECT_EQ(observer_->status().snapshots_restored, 0);
}

TEST_F(ObservedQuorumTest, AFollowerNamesTheLeader) {
  StartQuorum(3);
  Propose(1, 3);
  const NodeId leader = Leader();
  for (const auto& [id, address] : peers_) {
    if (id == leader) continue;
    auto stub = internal::Raft::NewStub(PeerChannel(address));
    internal::RaftFetchRequest request;
    request.set_observer_id(4);
    request.set_next_index(1);
    internal::RaftFetchResponse response;
    // A follower may not have heard of the leader yet.
    ASSERT_TRUE(Eventually([&] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      response.Clear();
      return stub->Fetch(&ctx, request, &response).ok() &&
             response.error() == internal::RAFT_FETCH_NOT_LEADER &&
             response.leader_id() == leader.value();
    }));
    EXPECT_EQ(response.entries_size(), 0);
    // Followers do not track observers.
    EXPECT_TRUE(voters_.at(id).node->status().observers.empty());
  }
  // The observer finds it through whichever voter it asks first.
  StartObserver();
  ASSERT_TRUE(Eventually([&] { return observer_sm_.items() == Items(1, 3); }));
  EXPECT_EQ(observer_->status().leader, leader);
}

TEST_F(ObservedQuorumTest, TheLeaderSendsItsSnapshotWhenCompactedPastTheObserver) {
  StartQuorum(1, /*snapshot_entries=*/5, /*keep_entries=*/1);
  Propose(1, 23);
  const NodeId leader = Leader();
  ASSERT_TRUE(Eventually([&] { return voters_.at(leader).node->status().first_index > Index(1); }));
  StartObserver();
  ASSERT_TRUE(Eventually([&] { return observer_sm_.items() == Items(1, 23); }));
  MetadataObserverStatus st = observer_->status();
  EXPECT_EQ(st.snapshots_restored, 1);
  EXPECT_GE(st.snapshot_index, Index(5));
  EXPECT_EQ(observer_sm_.restores(), 1);
  // After it, entries again.
  Propose(24, 2);
  ASSERT_TRUE(Eventually([&] { return observer_sm_.items() == Items(1, 25); }));
  EXPECT_EQ(observer_->status().snapshots_restored, 1);
}

}  // namespace
}  // namespace strata::raft
