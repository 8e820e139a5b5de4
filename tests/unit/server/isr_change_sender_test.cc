#include "broker/server/isr_change_sender.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "broker/server/controller_channel.h"
#include "gtest/gtest.h"
#include "tests/unit/server/fake_controller.h"

namespace strata::server {
namespace {

constexpr int32_t kBroker = 2;
constexpr int32_t kController = 1;

replication::IsrChange ChangeFor(int32_t partition) {
  replication::IsrChange change;
  change.tp.topic = "orders";
  change.tp.partition = PartitionId(partition);
  change.topic_id = "topic-id-orders";
  change.leader_epoch = 5;
  change.partition_epoch = 9;
  change.new_isr = {kBroker, 3};
  return change;
}

class IsrChangeSenderTest : public ::testing::Test {
 protected:
  IsrChangeSenderTest()
      : channel_({{kController, fake_.channel()}}, [this] { return controller_id_.load(); }) {}

  IsrChangeSenderOptions Options() {
    IsrChangeSenderOptions options;
    options.broker_id = kBroker;
    options.broker_epoch = [] { return int64_t{77}; };
    options.on_result = [this](const replication::IsrChange& change,
                               const replication::IsrChangeResult& result) {
      absl::MutexLock l(&mu_);
      results_.emplace_back(change, result);
    };
    return options;
  }

  std::vector<std::pair<replication::IsrChange, replication::IsrChangeResult>> results() {
    absl::MutexLock l(&mu_);
    return results_;
  }

  FakeController fake_;
  std::atomic<int32_t> controller_id_{kController};
  ControllerChannel channel_;
  absl::Mutex mu_;
  std::vector<std::pair<replication::IsrChange, replication::IsrChangeResult>> results_
      ABSL_GUARDED_BY(mu_);
};

TEST_F(IsrChangeSenderTest, SendsQueuedChangesInBatchesAndReportsEachAnswer) {
  // Each change is answered on its own: odd partitions are refused.
  fake_.OnAlterPartition([](const internal::AlterPartitionBatchRequest& req,
                            internal::AlterPartitionBatchResponse* resp) {
    for (const internal::AlterPartitionRequest& one : req.partitions()) {
      internal::AlterPartitionResponse* r = resp->add_partitions();
      if (one.partition() % 2 == 1) {
        r->set_error(v1::FENCED_LEADER_EPOCH);
        r->set_error_message("stale");
        continue;
      }
      r->set_leader_epoch(one.leader_epoch());
      r->set_partition_epoch(one.partition_epoch() + 1);
      for (int32_t id : one.new_isr()) r->add_isr(id);
    }
    return grpc::Status::OK;
  });
  IsrChangeSender sender(Options(), &channel_);
  // Queued before the sender starts, so the batching is deterministic.
  constexpr int kChanges = 2500;
  for (int p = 0; p < kChanges; ++p) sender.Enqueue(ChangeFor(p));
  sender.Start();
  ASSERT_TRUE(Eventually([&] { return results().size() == kChanges; }));
  sender.Stop();

  const auto alters = fake_.alters();
  ASSERT_EQ(alters.size(), 2u);
  EXPECT_EQ(alters[0].partitions_size(), 2000);
  EXPECT_EQ(alters[1].partitions_size(), 500);
  const internal::AlterPartitionRequest& first = alters[0].partitions(0);
  EXPECT_EQ(first.broker_id(), kBroker);
  EXPECT_EQ(first.broker_epoch(), 77);
  EXPECT_EQ(first.topic_id(), "topic-id-orders");
  EXPECT_EQ(first.partition(), 0);
  EXPECT_EQ(first.leader_epoch(), 5);
  EXPECT_EQ(first.partition_epoch(), 9);
  EXPECT_EQ(std::vector<int32_t>(first.new_isr().begin(), first.new_isr().end()),
            (std::vector<int32_t>{kBroker, 3}));
  EXPECT_EQ(alters[1].partitions(0).partition(), 2000);

  const auto got = results();
  for (int p = 0; p < kChanges; ++p) {
    const auto& [change, result] = got[p];
    ASSERT_EQ(change.tp.partition.value(), p) << "results come in queue order";
    if (p % 2 == 1) {
      EXPECT_EQ(result.error, ErrorCode::kFencedLeaderEpoch);
      EXPECT_EQ(result.message, "stale");
    } else {
      EXPECT_EQ(result.error, ErrorCode::kNone);
      EXPECT_EQ(result.partition_epoch, 10);
      EXPECT_EQ(result.isr, (std::vector<int32_t>{kBroker, 3}));
    }
  }
}

TEST_F(IsrChangeSenderTest, EveryChangeFailsWithNotControllerWhenNoneIsKnown) {
  controller_id_ = -1;
  IsrChangeSender sender(Options(), &channel_);
  sender.Enqueue(ChangeFor(0));
  sender.Enqueue(ChangeFor(1));
  sender.Start();
  ASSERT_TRUE(Eventually([&] { return results().size() == 2; }));
  sender.Stop();
  EXPECT_TRUE(fake_.alters().empty());
  for (const auto& [change, result] : results()) {
    EXPECT_EQ(result.error, ErrorCode::kNotController);
  }
}

TEST_F(IsrChangeSenderTest, EveryChangeFailsWithNetworkExceptionWhenTheCallFails) {
  fake_.OnAlterPartition(
      [](const internal::AlterPartitionBatchRequest&, internal::AlterPartitionBatchResponse*) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
      });
  IsrChangeSender sender(Options(), &channel_);
  sender.Enqueue(ChangeFor(0));
  sender.Enqueue(ChangeFor(1));
  sender.Start();
  ASSERT_TRUE(Eventually([&] { return results().size() == 2; }));
  sender.Stop();
  for (const auto& [change, result] : results()) {
    EXPECT_EQ(result.error, ErrorCode::kNetworkException);
    EXPECT_EQ(result.message, "connection refused");
  }
}

TEST_F(IsrChangeSenderTest, AnAnswerOfTheWrongLengthFailsEveryChange) {
  fake_.OnAlterPartition(
      [](const internal::AlterPartitionBatchRequest&, internal::AlterPartitionBatchResponse* resp) {
        resp->add_partitions();
        return grpc::Status::OK;
      });
  IsrChangeSender sender(Options(), &channel_);
  sender.Enqueue(ChangeFor(0));
  sender.Enqueue(ChangeFor(1));
  sender.Start();
  ASSERT_TRUE(Eventually([&] { return results().size() == 2; }));
  sender.Stop();
  for (const auto& [change, result] : results()) {
    EXPECT_EQ(result.error, ErrorCode::kUnknownServerError);
  }
}

TEST_F(IsrChangeSenderTest, ChangesQueuedWhileSendingGoOutInTheNextRequest) {
  absl::Notification in_flight;
  absl::Notification release;
  fake_.OnAlterPartition([&](const internal::AlterPartitionBatchRequest& req,
                             internal::AlterPartitionBatchResponse* resp) {
    if (!in_flight.HasBeenNotified()) {
      in_flight.Notify();
      release.WaitForNotificationWithTimeout(absl::Seconds(10));
    }
    for (int i = 0; i < req.partitions_size(); ++i) resp->add_partitions();
    return grpc::Status::OK;
  });
  IsrChangeSender sender(Options(), &channel_);
  sender.Start();
  sender.Enqueue(ChangeFor(0));
  ASSERT_TRUE(in_flight.WaitForNotificationWithTimeout(absl::Seconds(10)));
  for (int p = 1; p <= 3; ++p) sender.Enqueue(ChangeFor(p));
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return results().size() == 4; }));
  sender.Stop();
  const auto alters = fake_.alters();
  ASSERT_EQ(alters.size(), 2u);
  EXPECT_EQ(alters[0].partitions_size(), 1);
  EXPECT_EQ(alters[1].partitions_size(), 3);
}

}  // namespace
}  // namespace strata::server
