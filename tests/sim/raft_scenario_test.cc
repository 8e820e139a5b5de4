// Scripted Raft scenarios: the classic cases from the Raft paper and the
// extensions (pre-vote, check-quorum, leader transfer, learners, chunked
// snapshots). Each runs on the simulation Cluster, so SafetyChecker watches
// every step here too; each test ends by asserting it saw no violation.
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim_cluster.h"

namespace strata::raft::sim {
namespace {

constexpr NodeId N1(1), N2(2), N3(3), N4(4), N5(5);

// Writes a log with the given entry terms (index 1..n) and a hard state.
void SetLog(Cluster& c, NodeId id, const std::vector<uint64_t>& terms, uint64_t term,
            uint64_t commit = 0, const std::vector<std::string>& data = {}) {
  std::vector<Entry> entries;
  for (size_t i = 0; i < terms.size(); ++i) {
    // Entries with the same index and term carry the same data on every node.
    std::string d = i < data.size() ? data[i]
                                    : "i" + std::to_string(i + 1) + "t" + std::to_string(terms[i]);
    entries.push_back(Entry{Term(terms[i]), Index(i + 1), d});
  }
  ASSERT_TRUE(c.storage(id).Append(entries).ok());
  ASSERT_TRUE(c.storage(id).SetHardState(HardState{Term(term), kNoNode, Index(commit)}).ok());
}

std::vector<uint64_t> LogTerms(Cluster& c, NodeId id) {
  std::vector<uint64_t> out;
  const RaftLog& log = c.raft(id).log();
  for (Index i = log.FirstIndex(); i <= log.LastIndex(); ++i) out.push_back(log.TermAt(i)->value());
  return out;
}

void Elect(Cluster& c, NodeId id) {
  // A first attempt may only teach the candidate the current term (its
  // pre-vote is rejected by nodes that voted in that term already).
  for (int attempt = 0; attempt < 3 && c.raft(id).role() != Role::kLeader; ++attempt) {
    ASSERT_TRUE(c.raft(id).Campaign().ok());
    c.Stabilize();
  }
  ASSERT_EQ(c.raft(id).role(), Role::kLeader) << "node " << id << " failed to win";
}

void ProposeAndCommit(Cluster& c, NodeId leader, const std::string& data) {
  ASSERT_TRUE(c.raft(leader).Propose(data).ok());
  c.Stabilize();
}

size_t Count(const Cluster& c, MessageType type, NodeId to) {
  size_t n = 0;
  for (const Message& m : c.sent) n += (m.type == type && m.to == to);
  return n;
}

#define EXPECT_SAFE(c) EXPECT_TRUE((c).checker().ok()) << (c).checker().violation()

// --- Figure 7: a new leader brings each possible follower log in line -----

struct Figure7Case {
  const char* name;
  std::vector<uint64_t> follower;
};

void PrintTo(const Figure7Case& c, std::ostream* os) { *os << "follower (" << c.name << ")"; }

class Figure7 : public ::testing::TestWithParam<Figure7Case> {};

TEST_P(Figure7, LeaderOverwritesOrFillsFollowerLog) {
  // The leader's log of Figure 7 (it is about to lead term 8 or later).
  const std::vector<uint64_t> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  ClusterOptions o;
  o.voters = 3;
  Cluster c(o);
  SetLog(c, N1, leader, 7);
  SetLog(c, N2, GetParam().follower, 7);
  SetLog(c, N3, {}, 7);  // an empty voter, so N1 can win against (c) and (d)
  c.StartAll();
  Elect(c, N1);
  c.Stabilize();
  std::vector<uint64_t> expected = leader;
  expected.push_back(c.raft(N1).term().value());  // the new leader's no-op
  EXPECT_EQ(LogTerms(c, N1), expected);
  EXPECT_EQ(LogTerms(c, N2), expected) << "follower " << GetParam().name;
  EXPECT_EQ(c.raft(N2).log().committed(), Index(expected.size()));
  // Fast back-off: each follower needs at most two rejected probes, however
  // long its divergent suffix (one per conflicting term at most).
  size_t rejects = 0;
  for (const Message& m : c.sent) {
    rejects += m.type == MessageType::kAppendResponse && m.from == N2 && m.reject;
  }
  EXPECT_LE(rejects, 2u);
  EXPECT_SAFE(c);
}

INSTANTIATE_TEST_SUITE_P(
    Paper, Figure7,
    ::testing::Values(Figure7Case{"a", {1, 1, 1, 4, 4, 5, 5, 6, 6}},
                      Figure7Case{"b", {1, 1, 1, 4}},
                      Figure7Case{"c", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
                      Figure7Case{"d", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
                      Figure7Case{"e", {1, 1, 1, 4, 4, 4, 4}},
                      Figure7Case{"f", {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}}),
    [](const auto& info) { return std::string(info.param.name); });

// --- Figure 8: an old-term entry on a majority is not committed ----------
//
// State (c) of Figure 8: S1 leads term 4 and holds entry (2, term 2); S5
// holds a different entry (2, term 3). S1 replicates (2, 2) to a majority
// but must not count it committed: S5 can still win an election (its last
// term, 3, beats 2) and overwrite it — state (d).

Cluster Figure8Cluster() {
  ClusterOptions o;
  o.voters = 5;
  o.check_quorum = false;  // no leader lease: S5 may campaign right away in (d)
  o.max_size_per_msg = 1;  // one entry per append, so (2,2) can travel alone
  return Cluster(o);
}

void Figure8Setup(Cluster& c, bool hold_back_noop) {
  if (hold_back_noop) {
    // Let (2, term 2) through but hold back the term-4 no-op at index 3:
    // appends arrive without it, as if the leader had sent fewer entries.
    c.drop = [](Message& m) {
      std::erase_if(m.entries, [](const Entry& e) { return e.index >= Index(3); });
      return false;
    };
  }
  SetLog(c, N1, {1, 2}, 3, 1, {"a", "from-term-2"});
  for (NodeId id : {N2, N3, N4}) SetLog(c, id, {1}, 3, 1, {"a"});
  SetLog(c, N5, {1, 3}, 3, 1, {"a", "from-term-3"});
  c.StartAll();
  c.Isolate(N5);
  Elect(c, N1);  // term 4; S2..S4 vote for it
}

TEST(Figure8, PreviousTermEntryOnMajorityIsNotCommitted) {
  Cluster c = Figure8Cluster();
  Figure8Setup(c, /*hold_back_noop=*/true);
  c.TickAll(2);
  c.Stabilize();
  for (NodeId id : {N1, N2, N3, N4}) {
    EXPECT_EQ(c.raft(id).log().TermAt(Index(2)).value(), Term(2)) << "node " << id;
  }
  // On 4 of 5 nodes, yet not committed: its term is not the leader's.
  EXPECT_EQ(c.raft(N1).log().committed(), Index(1));

  // (d): S1 crashes; S5 wins with votes from S2..S4 and overwrites index 2.
  c.Crash(N1);
  c.Heal();
  c.drop = nullptr;
  Elect(c, N5);
  c.Stabilize();
  for (NodeId id : {N2, N3, N4, N5}) {
    EXPECT_EQ(c.raft(id).log().TermAt(Index(2)).value(), Term(3)) << "node " << id;
    EXPECT_GE(c.raft(id).log().committed(), Index(2));
  }
  EXPECT_SAFE(c);
}

TEST(Figure8, CurrentTermEntryCommitsPredecessors) {
  // (e): S1 gets its term-4 entry onto a majority: now (2, 2) is committed
  // with it, and S5 can no longer win.
  Cluster c = Figure8Cluster();
  Figure8Setup(c, /*hold_back_noop=*/false);
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).log().committed(), Index(3));
  c.Crash(N1);
  c.Heal();
  ASSERT_TRUE(c.raft(N5).Campaign().ok());
  c.Stabilize();
  EXPECT_NE(c.raft(N5).role(), Role::kLeader);
  Elect(c, N2);
  c.Stabilize();
  for (NodeId id : {N2, N3, N4, N5}) {
    EXPECT_EQ(c.raft(id).log().TermAt(Index(2)).value(), Term(2)) << "node " << id;
  }
  EXPECT_EQ(c.state(N5)[1], "from-term-2");
  EXPECT_SAFE(c);
}

// --- Partitions -----------------------------------------------------------

TEST(Partition, OldLeaderRejoinsAndLosesUncommittedEntries) {
  ClusterOptions o;
  o.voters = 5;
  o.check_quorum = false;  // the old leader keeps believing it leads
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  ProposeAndCommit(c, N1, "a");
  c.Isolate(N1);
  ASSERT_TRUE(c.raft(N1).Propose("stale").ok());
  c.Stabilize();
  Elect(c, N2);
  ProposeAndCommit(c, N2, "b");
  EXPECT_EQ(c.raft(N1).role(), Role::kLeader);  // still thinks so
  c.Heal();
  c.Tick(N2, o.heartbeat_tick);  // a heartbeat tells N1 about the new term
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).role(), Role::kFollower);
  EXPECT_EQ(c.raft(N1).leader(), N2);
  EXPECT_EQ(LogTerms(c, N1), LogTerms(c, N2));
  for (NodeId id : c.ids()) {
    for (const std::string& s : c.state(id)) EXPECT_NE(s, "stale");
    EXPECT_EQ(c.state(id).back(), "b");
  }
  EXPECT_SAFE(c);
}

TEST(Partition, FollowerWithDivergentUncommittedSuffix) {
  ClusterOptions o;
  o.voters = 3;
  Cluster c(o);
  // N2 led term 2 and appended three entries nobody else got.
  SetLog(c, N1, {1, 1, 3}, 3, 2);
  SetLog(c, N2, {1, 1, 2, 2, 2}, 3, 2);
  SetLog(c, N3, {1, 1, 3}, 3, 2);
  c.StartAll();
  Elect(c, N1);  // N1's last term (3) beats N2's longer log of term 2
  c.Stabilize();
  EXPECT_EQ(LogTerms(c, N2), (std::vector<uint64_t>{1, 1, 3, 4}));
  EXPECT_EQ(c.storage(N2).LastIndex(), Index(4));
  EXPECT_EQ(c.storage(N2).TermAt(Index(3)).value(), Term(3));
  EXPECT_EQ(c.raft(N2).log().committed(), Index(4));
  EXPECT_SAFE(c);
}

TEST(Partition, CheckQuorumStepsDownIsolatedLeader) {
  ClusterOptions o;
  o.voters = 3;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  c.Isolate(N1);
  c.Tick(N1, 2 * o.election_tick);
  EXPECT_EQ(c.raft(N1).role(), Role::kFollower);
  EXPECT_FALSE(c.raft(N1).Propose("x").ok());
  EXPECT_SAFE(c);
}

TEST(Partition, WithoutCheckQuorumIsolatedLeaderStays) {
  ClusterOptions o;
  o.voters = 3;
  o.check_quorum = false;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  c.Isolate(N1);
  c.Tick(N1, 5 * o.election_tick);
  EXPECT_EQ(c.raft(N1).role(), Role::kLeader);
}

TEST(PreVote, PartitionedNodeDoesNotDisruptOnRejoin) {
  ClusterOptions o;
  o.voters = 3;
  o.check_quorum = false;  // pre-vote alone: the rejoining node's log is behind
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  const Term term = c.raft(N1).term();
  c.Isolate(N3);
  ProposeAndCommit(c, N1, "while-away");
  c.Tick(N3, 10 * o.election_tick);  // many failed pre-elections
  c.Stabilize();
  EXPECT_EQ(c.raft(N3).term(), term);  // a pre-candidate never raises its term
  c.Heal();
  c.Tick(N3, 3 * o.election_tick);  // campaigns again, now connected: rejected
  c.Stabilize();
  c.Tick(N1, o.heartbeat_tick);
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(N1).term(), term);
  EXPECT_EQ(c.raft(N3).leader(), N1);
  EXPECT_EQ(c.state(N3).back(), "while-away");
  EXPECT_SAFE(c);
}

TEST(PreVote, LeaseStopsUpToDateRejoiningNode) {
  // With an up-to-date log the pre-vote would be granted on log grounds;
  // check-quorum's lease makes followers that hear the leader refuse it.
  ClusterOptions o;
  o.voters = 3;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  const Term term = c.raft(N1).term();
  c.Isolate(N3);
  c.Tick(N3, 10 * o.election_tick);
  c.Heal();
  c.Tick(N3, 3 * o.election_tick);
  c.Stabilize();
  c.Tick(N1, o.heartbeat_tick);
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(N1).term(), term);
  EXPECT_EQ(c.raft(N3).term(), term);
  EXPECT_EQ(c.raft(N3).leader(), N1);
  EXPECT_SAFE(c);
}

TEST(PreVote, WithoutPreVoteRejoiningNodeDisrupts) {
  // The contrast that shows what pre-vote buys.
  ClusterOptions o;
  o.voters = 3;
  o.pre_vote = false;
  o.check_quorum = false;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  const Term term = c.raft(N1).term();
  c.Isolate(N3);
  c.Tick(N3, 10 * o.election_tick);
  c.Stabilize();
  EXPECT_GT(c.raft(N3).term(), term);
  c.Heal();
  c.Tick(N3, 3 * o.election_tick);
  c.Stabilize();
  EXPECT_GT(c.raft(N1).term(), term);  // the leader was deposed
  EXPECT_SAFE(c);
}

// --- Snapshots ------------------------------------------------------------

ClusterOptions SnapshotOptions() {
  ClusterOptions o;
  o.voters = 3;
  o.snapshot_every = 5;
  o.snapshot_keep = 0;
  o.snapshot_chunk_bytes = 16;  // many chunks per snapshot
  return o;
}

TEST(Snapshot, InstalledOnLaggingFollowerInChunks) {
  Cluster c(SnapshotOptions());
  c.StartAll();
  Elect(c, N1);
  c.Isolate(N3);
  for (int i = 0; i < 30; ++i) ProposeAndCommit(c, N1, "value-" + std::to_string(i));
  ASSERT_GT(c.storage(N1).FirstIndex(), Index(5)) << "leader did not compact";
  c.Heal();
  for (int i = 0; i < 3; ++i) {
    c.Tick(N1, 2);
    c.Stabilize();
  }
  EXPECT_EQ(c.state(N3), c.state(N1));
  EXPECT_GT(c.storage(N3).GetSnapshot()->metadata.index, Index(0));
  EXPECT_GT(Count(c, MessageType::kSnapshot, N3), 5u);
  ProposeAndCommit(c, N1, "after");
  EXPECT_EQ(c.state(N3).back(), "after");
  EXPECT_SAFE(c);
}

TEST(Snapshot, InstalledOnRestartedNodeAfterLosingPartialTransfer) {
  Cluster c(SnapshotOptions());
  c.StartAll();
  Elect(c, N1);
  ProposeAndCommit(c, N1, "early");
  c.Crash(N3);
  for (int i = 0; i < 30; ++i) ProposeAndCommit(c, N1, "value-" + std::to_string(i));
  c.Restart(N3);
  // Let two chunks through, then stall the transfer and crash N3 with a
  // partial snapshot in memory.
  size_t chunks = 0;
  c.drop = [&](Message& m) {
    return m.type == MessageType::kSnapshot && m.to == N3 && ++chunks > 2;
  };
  c.Tick(N1, 2);
  c.Stabilize();
  ASSERT_GE(chunks, 3u);
  c.Crash(N3);
  c.Restart(N3);
  c.drop = nullptr;
  for (int i = 0; i < 4; ++i) {
    c.Tick(N1, 2);
    c.Stabilize();
  }
  EXPECT_EQ(c.state(N3), c.state(N1));
  bool restarted = false;
  for (const Message& m : c.sent) {
    restarted |= m.type == MessageType::kSnapshotResponse && m.from == N3 && m.reject;
  }
  EXPECT_TRUE(restarted) << "expected N3 to ask for the transfer to restart";
  // And a restart after installing keeps the snapshot (durable).
  c.Crash(N3);
  c.Restart(N3);
  EXPECT_EQ(c.state(N3).size(), c.storage(N3).GetSnapshot()->metadata.index.value());
  c.Tick(N1, 2);
  c.Stabilize();
  EXPECT_EQ(c.state(N3), c.state(N1));
  EXPECT_SAFE(c);
}

// --- Leader transfer ------------------------------------------------------

TEST(LeaderTransfer, ToUpToDateFollower) {
  ClusterOptions o;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  ProposeAndCommit(c, N1, "a");
  const Term term = c.raft(N1).term();
  ASSERT_TRUE(c.raft(N1).TransferLeadership(N2).ok());
  EXPECT_EQ(c.raft(N1).Propose("during").status().code(), absl::StatusCode::kUnavailable);
  c.Stabilize();
  EXPECT_EQ(c.raft(N2).role(), Role::kLeader);
  EXPECT_EQ(c.raft(N2).term(), term + 1);
  EXPECT_EQ(c.raft(N1).leader(), N2);
  ProposeAndCommit(c, N2, "b");
  EXPECT_EQ(c.state(N1).back(), "b");
  EXPECT_SAFE(c);
}

TEST(LeaderTransfer, ToLaggingFollowerCatchesItUpFirst) {
  ClusterOptions o;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  c.Isolate(N3);
  for (int i = 0; i < 5; ++i) ProposeAndCommit(c, N1, "v" + std::to_string(i));
  c.Heal();
  ASSERT_TRUE(c.raft(N1).TransferLeadership(N3).ok());
  c.Stabilize();
  EXPECT_EQ(c.raft(N3).role(), Role::kLeader);
  c.Stabilize();
  EXPECT_EQ(c.state(N3), c.state(N1));
  EXPECT_EQ(c.state(N3).rbegin()[1], "v4");  // then the new leader's no-op
  EXPECT_SAFE(c);
}

TEST(LeaderTransfer, RefusedForLearnerAndAbortedOnTimeout) {
  ClusterOptions o;
  o.learners = 1;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  EXPECT_EQ(c.raft(N1).TransferLeadership(N4).code(), absl::StatusCode::kInvalidArgument);
  c.Isolate(N2);
  ASSERT_TRUE(c.raft(N1).TransferLeadership(N2).ok());
  EXPECT_FALSE(c.raft(N1).Propose("x").ok());
  c.Tick(N1, o.election_tick);  // N3 and N4 keep answering heartbeats
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(N1).lead_transferee(), kNoNode);
  EXPECT_TRUE(c.raft(N1).Propose("y").ok());
  EXPECT_SAFE(c);
}

// --- Learners -------------------------------------------------------------

TEST(Learner, ReplicatesButNeverVotesOrCounts) {
  ClusterOptions o;
  o.voters = 3;
  o.learners = 1;
  Cluster c(o);
  c.StartAll();
  EXPECT_FALSE(c.raft(N4).Campaign().ok());
  Elect(c, N1);
  EXPECT_EQ(Count(c, MessageType::kVote, N4) + Count(c, MessageType::kPreVote, N4), 0u);
  ProposeAndCommit(c, N1, "a");
  EXPECT_EQ(c.state(N4).back(), "a");
  // A learner alone never campaigns, however long it hears nothing.
  c.Isolate(N4);
  c.Tick(N4, 10 * o.election_tick);
  EXPECT_EQ(c.raft(N4).role(), Role::kFollower);
  // Leader + learner are not a quorum of the three voters.
  c.Heal();
  c.Isolate(N2);
  c.Isolate(N3);
  const Index before = c.raft(N1).log().committed();
  ASSERT_TRUE(c.raft(N1).Propose("b").ok());
  c.Stabilize();
  EXPECT_EQ(c.raft(N1).log().committed(), before);
  EXPECT_EQ(c.raft(N1).progress(N4)->match, c.raft(N1).log().LastIndex());
  c.Heal();
  c.Tick(N1, 2);
  c.Stabilize();
  EXPECT_EQ(c.state(N4).back(), "b");
  EXPECT_SAFE(c);
}

TEST(SingleNode, CommitsAlone) {
  ClusterOptions o;
  o.voters = 1;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  ProposeAndCommit(c, N1, "solo");
  EXPECT_EQ(c.state(N1).back(), "solo");
}

TEST(Restart, KeepsTermVoteAndLog) {
  ClusterOptions o;
  Cluster c(o);
  c.StartAll();
  Elect(c, N1);
  ProposeAndCommit(c, N1, "a");
  const HardState hs = c.raft(N2).hard_state();
  c.Crash(N2);
  c.Restart(N2);
  EXPECT_EQ(c.raft(N2).hard_state(), hs);
  EXPECT_EQ(c.raft(N2).vote(), N1);
  c.Stabilize();
  EXPECT_EQ(c.state(N2).back(), "a");
  EXPECT_SAFE(c);
}

}  // namespace
}  // namespace strata::raft::sim
