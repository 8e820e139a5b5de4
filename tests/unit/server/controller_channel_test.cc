// ControllerChannel::AllocateProducerIds against fake controllers: the
// block, the retries of NOT_CONTROLLER (at the controller named, or once the
// node learns of a new one), and the errors the ProducerIdManager sees.
#include "broker/server/controller_channel.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/server/fake_controller.h"

namespace strata::server {
namespace {

constexpr int32_t kBroker = 4;
constexpr int64_t kEpoch = 31;

grpc::Status Grant(const internal::AllocateProducerIdsRequest&,
                   internal::AllocateProducerIdsResponse* resp) {
  resp->set_first_id(3000);
  resp->set_count(1000);
  return grpc::Status::OK;
}

// NOT_CONTROLLER, naming `hint` (-1: none known).
FakeController::AllocateProducerIdsFn NotController(int32_t hint) {
  return [hint](const internal::AllocateProducerIdsRequest&,
                internal::AllocateProducerIdsResponse* resp) {
    resp->set_error(v1::NOT_CONTROLLER);
    resp->set_error_message("not the controller");
    resp->set_controller_hint(hint);
    return grpc::Status::OK;
  };
}

class ControllerChannelTest : public ::testing::Test {
 protected:
  ControllerChannelTest()
      : channel_({{1, one_.channel()}, {2, two_.channel()}},
                 [this] { return controller_id_.load(); }) {}

  FakeController one_;
  FakeController two_;
  std::atomic<int32_t> controller_id_{1};
  ControllerChannel channel_;
};

TEST_F(ControllerChannelTest, AllocateProducerIdsReturnsTheControllersBlock) {
  one_.OnAllocateProducerIds(Grant);
  absl::StatusOr<txn::ProducerIdBlock> block = channel_.AllocateProducerIds(kBroker, kEpoch);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->first_id, 3000);
  EXPECT_EQ(block->count, 1000);
  ASSERT_EQ(one_.producer_id_allocations().size(), 1u);
  EXPECT_EQ(one_.producer_id_allocations()[0].broker_id(), kBroker);
  EXPECT_EQ(one_.producer_id_allocations()[0].broker_epoch(), kEpoch);
  EXPECT_TRUE(two_.producer_id_allocations().empty());
}

TEST_F(ControllerChannelTest, NotControllerIsRetriedAtTheControllerItNames) {
  one_.OnAllocateProducerIds(NotController(2));
  two_.OnAllocateProducerIds(Grant);
  absl::StatusOr<txn::ProducerIdBlock> block = channel_.AllocateProducerIds(kBroker, kEpoch);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->first_id, 3000);
  EXPECT_EQ(one_.producer_id_allocations().size(), 1u);
  EXPECT_EQ(two_.producer_id_allocations().size(), 1u);
}

TEST_F(ControllerChannelTest, NotControllerIsRetriedOnceANewControllerIsKnown) {
  one_.OnAllocateProducerIds(NotController(-1));
  two_.OnAllocateProducerIds(Grant);
  std::thread election([this] {
    absl::SleepFor(absl::Milliseconds(250));
    controller_id_ = 2;
  });
  absl::StatusOr<txn::ProducerIdBlock> block = channel_.AllocateProducerIds(kBroker, kEpoch);
  election.join();
  ASSERT_TRUE(block.ok()) << block.status();
  // Paused between tries, not a tight loop.
  EXPECT_GE(one_.producer_id_allocations().size(), 2u);
  EXPECT_LE(one_.producer_id_allocations().size(), 5u);
  EXPECT_EQ(two_.producer_id_allocations().size(), 1u);
}

TEST_F(ControllerChannelTest, TwoNodesNamingEachOtherDoNotSpin) {
  one_.OnAllocateProducerIds(NotController(2));
  two_.OnAllocateProducerIds(NotController(1));
  absl::StatusOr<txn::ProducerIdBlock> block =
      channel_.AllocateProducerIds(kBroker, kEpoch, absl::Milliseconds(350));
  EXPECT_EQ(block.status().code(), absl::StatusCode::kUnavailable) << block.status();
  EXPECT_LE(one_.producer_id_allocations().size(), 5u);
}

TEST_F(ControllerChannelTest, NoControllerIsUnavailableAfterTheTimeout) {
  controller_id_ = -1;
  const absl::Time start = absl::Now();
  absl::StatusOr<txn::ProducerIdBlock> block =
      channel_.AllocateProducerIds(kBroker, kEpoch, absl::Milliseconds(300));
  EXPECT_EQ(block.status().code(), absl::StatusCode::kUnavailable) << block.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(one_.producer_id_allocations().empty());
}

TEST_F(ControllerChannelTest, AStaleBrokerEpochIsAFailedPrecondition) {
  one_.OnAllocateProducerIds(
      [](const internal::AllocateProducerIdsRequest&, internal::AllocateProducerIdsResponse* resp) {
        resp->set_error(v1::STALE_BROKER_EPOCH);
        resp->set_error_message("Broker 4 epoch 31 is not its current registration");
        return grpc::Status::OK;
      });
  absl::StatusOr<txn::ProducerIdBlock> block = channel_.AllocateProducerIds(kBroker, kEpoch);
  EXPECT_EQ(block.status().code(), absl::StatusCode::kFailedPrecondition) << block.status();
  EXPECT_EQ(one_.producer_id_allocations().size(), 1u) << "not retried";
}

TEST_F(ControllerChannelTest, AnEmptyBlockIsAnError) {
  one_.OnAllocateProducerIds(
      [](const internal::AllocateProducerIdsRequest&, internal::AllocateProducerIdsResponse*) {
        return grpc::Status::OK;
      });
  absl::StatusOr<txn::ProducerIdBlock> block = channel_.AllocateProducerIds(kBroker, kEpoch);
  EXPECT_EQ(block.status().code(), absl::StatusCode::kInternal) << block.status();
}

}  // namespace
}  // namespace strata::server
