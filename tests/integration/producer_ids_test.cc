// Producer id blocks (KIP-730) on real processes: brokers' blocks never
// overlap across a controller failover (the Raft leader SIGKILLed) and
// across a restart of the whole cluster that recovers the metadata image
// from Raft snapshots (snapshots every 20 entries here), and a broker's old
// epoch gets nothing. Blocks are asked for through the internal Controller
// RPC, as a broker's ProducerIdManager does. Every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "strata/internal/controller.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

struct Block {
  int32_t broker = -1;
  int64_t first = 0;
  int32_t count = 0;
  int64_t last() const { return first + count - 1; }
};

class ProducerIdsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && cluster_) {
      cluster_->KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_->dir().c_str());
    }
  }

  // One AllocateProducerIds call to whichever node `via` names as the
  // controller, for `broker` in `epoch`.
  bool Call(int via, int32_t broker, int64_t epoch, internal::AllocateProducerIdsResponse* resp,
            std::string* why) {
    const int controller = cluster_->ControllerSeenBy(via);
    if (controller < 0 || !cluster_->running(controller)) {
      *why = "no controller known";
      return false;
    }
    auto channel =
        grpc::CreateChannel(cluster_->peer_address(controller), grpc::InsecureChannelCredentials());
    auto stub = internal::Controller::NewStub(channel);
    internal::AllocateProducerIdsRequest req;
    req.set_broker_id(broker);
    req.set_broker_epoch(epoch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = stub->AllocateProducerIds(&ctx, req, resp);
    if (!s.ok()) {
      *why = s.error_message();
      return false;
    }
    *why = resp->error_message();
    return true;
  }

  // A block for `broker` in its current epoch (as `broker` itself sees it),
  // retrying (bounded) while a controller is being elected.
  Block Allocate(int32_t broker) {
    Block block;
    std::string why;
    const bool granted = Eventually(
        [&] {
          const int64_t epoch = cluster_->BrokerEpochSeenBy(broker, broker);
          if (epoch < 0) {
            why = "broker epoch unknown";
            return false;
          }
          internal::AllocateProducerIdsResponse resp;
          if (!Call(broker, broker, epoch, &resp, &why) || resp.error() != v1::NONE) return false;
          block = Block{broker, resp.first_id(), resp.count()};
          return true;
        },
        60000);
    EXPECT_TRUE(granted) << "broker " << broker << ": " << why;
    return block;
  }

  // Every block so far is disjoint from every other, and each new one
  // starts above every earlier one.
  void ExpectDisjoint() {
    for (size_t i = 0; i < blocks_.size(); ++i) {
      EXPECT_EQ(blocks_[i].count, 1000) << i;
      if (i == 0) continue;
      EXPECT_GT(blocks_[i].first, blocks_[i - 1].last())
          << "block " << i << " of broker " << blocks_[i].broker << " starts at "
          << blocks_[i].first << ", inside or below block " << i - 1 << " ending at "
          << blocks_[i - 1].last();
    }
  }

  std::unique_ptr<StrataCluster> cluster_;
  std::vector<Block> blocks_;
};

TEST_F(ProducerIdsTest, BlocksNeverOverlapAcrossFailoverAndRestart) {
  cluster_ = std::make_unique<StrataCluster>(
      3, std::vector<std::string>{"strata.raft.snapshot.entries=20",
                                  "strata.raft.snapshot.keep.entries=5"});
  cluster_->StartAll();
  ASSERT_TRUE(cluster_->WaitReady(3)) << "not ready; logs in " << cluster_->dir();

  for (int i = 0; i < 12; ++i) blocks_.push_back(Allocate(1 + i % 3));
  ASSERT_FALSE(HasFailure());
  ExpectDisjoint();

  // The controller dies; another is elected from the same log.
  const int old_controller = cluster_->ControllerSeenBy(1);
  ASSERT_GT(old_controller, 0);
  const int64_t old_epoch = cluster_->BrokerEpochSeenBy(old_controller, old_controller);
  cluster_->Kill(old_controller);
  std::vector<int> survivors;
  for (int n : {1, 2, 3}) {
    if (n != old_controller) survivors.push_back(n);
  }
  for (int i = 0; i < 6; ++i) blocks_.push_back(Allocate(survivors[i % 2]));
  ASSERT_FALSE(HasFailure());
  ExpectDisjoint();

  // The killed broker's old registration gets nothing once it has come back
  // in a new epoch; its new one gets a fresh block.
  cluster_->Start(old_controller);
  ASSERT_TRUE(cluster_->WaitReregistered(survivors[0], old_controller, old_epoch))
      << "logs in " << cluster_->dir();
  {
    std::string why;
    internal::AllocateProducerIdsResponse resp;
    ASSERT_TRUE(Eventually(
        [&] {
          return Call(survivors[0], old_controller, old_epoch, &resp, &why) &&
                 resp.error() != v1::NOT_CONTROLLER;
        },
        30000))
        << why;
    EXPECT_EQ(resp.error(), v1::STALE_BROKER_EPOCH) << why;
  }
  blocks_.push_back(Allocate(old_controller));
  ASSERT_FALSE(HasFailure());
  ExpectDisjoint();

  // Every node stops at once and recovers its image from its snapshot and
  // the log after it: the counter is where it was.
  for (int n : {1, 2, 3}) cluster_->Kill(n);
  for (int n : {1, 2, 3}) cluster_->Start(n);
  ASSERT_TRUE(cluster_->WaitReady(3, 60000))
      << "not ready after restart; logs in " << cluster_->dir();
  for (int i = 0; i < 3; ++i) blocks_.push_back(Allocate(1 + i));
  ExpectDisjoint();
  std::printf("producer id blocks: %zu granted, the last [%lld, %lld]\n", blocks_.size(),
              static_cast<long long>(blocks_.back().first),
              static_cast<long long>(blocks_.back().last()));
}

}  // namespace
}  // namespace strata::testing
