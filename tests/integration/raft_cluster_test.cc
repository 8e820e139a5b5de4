// Three raft_kv_node processes over gRPC on loopback: leader failover after
// kill -9, and a restarted node catching up by snapshot once the log was
// compacted past it.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "gtest/gtest.h"
#include "raft_kv.grpc.pb.h"
#include "tests/integration/child_process.h"

namespace strata::test {
namespace {

using Clock = std::chrono::steady_clock;
using strata::testing::ChildProcess;

constexpr int kNodes = 3;

class RaftClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-raft-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string peers;
    for (int id = 1; id <= kNodes; ++id) {
      ports_[id] = strata::testing::PickFreePort();
      peers += (id > 1 ? "," : "") + std::to_string(id) + "@127.0.0.1:" + std::to_string(ports_[id]);
    }
    peers_ = peers;
    for (int id = 1; id <= kNodes; ++id) {
      stubs_[id] = KvTest::NewStub(strata::testing::TestChannel("127.0.0.1:" + std::to_string(ports_[id])));
      StartNode(id);
    }
  }

  void TearDown() override {
    for (auto& [id, p] : procs_) p->Kill(SIGKILL);
    if (HasFailure() || std::getenv("STRATA_KEEP_TEST_DATA") != nullptr) {
      for (int id = 1; id <= kNodes; ++id) {
        std::fprintf(stderr, "--- log of node %d: %s/node%d.log\n", id, dir_.c_str(), id);
      }
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  void StartNode(int id) {
    procs_[id] = std::make_unique<ChildProcess>();
    ASSERT_TRUE(procs_[id]->Start(
        {RAFT_KV_NODE, "--id", std::to_string(id), "--peers", peers_, "--data-dir",
         dir_ + "/node" + std::to_string(id), "--snapshot-entries", "50", "--keep-entries", "10"},
        dir_ + "/node" + std::to_string(id) + ".log"));
  }

  std::optional<StatusResponse> Status(int id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    StatusRequest req;
    StatusResponse resp;
    if (!stubs_[id]->Status(&ctx, req, &resp).ok()) return std::nullopt;
    return resp;
  }

  // The leader every live node agrees on, waiting up to `limit`.
  int WaitForLeader(std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      std::map<uint64_t, int> votes;
      int live = 0;
      for (int id = 1; id <= kNodes; ++id) {
        if (!procs_[id]->running()) continue;
        ++live;
        if (auto st = Status(id); st && st->leader() != 0) ++votes[st->leader()];
      }
      for (auto [leader, n] : votes) {
        if (n == live && procs_[leader]->running()) return static_cast<int>(leader);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }

  bool Put(int id, const std::string& key, const std::string& value, uint64_t* index = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    PutRequest req;
    req.set_key(key);
    req.set_value(value);
    PutResponse resp;
    bool ok = stubs_[id]->Put(&ctx, req, &resp).ok();
    if (ok && index) *index = resp.index();
    return ok;
  }

  std::optional<std::string> Get(int id, const std::string& key) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    GetRequest req;
    req.set_key(key);
    GetResponse resp;
    if (!stubs_[id]->Get(&ctx, req, &resp).ok() || !resp.found()) return std::nullopt;
    return resp.value();
  }

  std::string dir_;
  std::string peers_;
  std::map<int, int> ports_;
  std::map<int, std::unique_ptr<KvTest::Stub>> stubs_;
  std::map<int, std::unique_ptr<ChildProcess>> procs_;
};

TEST_F(RaftClusterTest, LeaderFailoverAndSnapshotCatchUp) {
  const auto started = Clock::now();
  const int leader = WaitForLeader(std::chrono::seconds(20));
  std::printf("raft start: leader %d elected %lld ms after start\n", leader,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         Clock::now() - started).count()));
  ASSERT_NE(leader, 0) << "no leader within 20 s";
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Put(leader, "k" + std::to_string(i), "v" + std::to_string(i)));
  const uint64_t term_before = Status(leader)->term();

  // kill -9 the leader; measure until a survivor commits a new entry.
  procs_[leader]->Kill(SIGKILL);
  const auto killed_at = Clock::now();
  int new_leader = 0;
  uint64_t index = 0;
  while (new_leader == 0 && Clock::now() - killed_at < std::chrono::seconds(20)) {
    for (int id = 1; id <= kNodes && new_leader == 0; ++id) {
      if (id != leader && Put(id, "after-kill", "yes", &index)) new_leader = id;
    }
    if (new_leader == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto failover_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at).count();
  ASSERT_NE(new_leader, 0) << "no surviving node committed within 20 s of the kill";
  std::printf("raft failover: node %d killed; node %d committed entry %llu after %lld ms\n", leader,
              new_leader, static_cast<unsigned long long>(index), static_cast<long long>(failover_ms));
  RecordProperty("failover_ms", static_cast<int>(failover_ms));

  // Enough entries that the log is compacted past everything the killed node has.
  const auto puts_start = Clock::now();
  for (int i = 30; i < 230; ++i) {
    ASSERT_TRUE(Put(new_leader, "k" + std::to_string(i), "v" + std::to_string(i))) << i;
  }
  std::printf("raft commit latency: %.2f ms per sequential put (200 puts, 2 of 3 nodes up)\n",
              std::chrono::duration<double, std::milli>(Clock::now() - puts_start).count() / 200);
  auto st = Status(new_leader);
  ASSERT_TRUE(st);
  ASSERT_GT(st->first_index(), 40u) << "the log should have been compacted";

  // The killed node restarts from its RocksDB state and catches up by snapshot.
  StartNode(leader);
  const auto restarted_at = Clock::now();
  std::optional<StatusResponse> caught_up;
  while (Clock::now() - restarted_at < std::chrono::seconds(20)) {
    auto s = Status(leader);
    if (s && s->applied() >= st->commit()) {
      caught_up = s;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(caught_up) << "restarted node did not catch up within 20 s";
  std::printf("raft catch-up: restarted node %d applied %llu entries after %lld ms (%d snapshot(s))\n",
              leader, static_cast<unsigned long long>(caught_up->applied()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         Clock::now() - restarted_at).count()),
              caught_up->snapshots_restored());
  EXPECT_GE(caught_up->term(), term_before);
  EXPECT_GE(caught_up->snapshots_restored(), 1);
  EXPECT_EQ(caught_up->keys(), 231u);
  EXPECT_EQ(Get(leader, "k229"), "v229");
  EXPECT_EQ(Get(leader, "k3"), "v3");
  EXPECT_EQ(Get(leader, "after-kill"), "yes");
}

}  // namespace
}  // namespace strata::test
