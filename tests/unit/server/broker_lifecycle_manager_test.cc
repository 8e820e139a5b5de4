#include "broker/server/broker_lifecycle_manager.h"

#include <atomic>

#include "broker/server/controller_channel.h"
#include "gtest/gtest.h"
#include "tests/unit/server/fake_controller.h"

namespace strata::server {
namespace {

constexpr int32_t kBroker = 3;
constexpr int32_t kController = 1;

class BrokerLifecycleManagerTest : public ::testing::Test {
 protected:
  BrokerLifecycleManagerTest()
      : channel_({{kController, fake_.channel()}}, [this] { return controller_id_.load(); }) {}

  BrokerLifecycleOptions Options() {
    BrokerLifecycleOptions options;
    options.broker_id = kBroker;
    options.incarnation_id = "incarnation-a";
    internal::BrokerEndpoint ep;
    ep.set_name("PLAINTEXT");
    ep.set_host("localhost");
    ep.set_port(9092);
    options.endpoints.push_back(ep);
    options.replica_capacity = 4000;
    options.heartbeat_interval_ms = 10;
    options.metadata_offset = [] { return int64_t{42}; };
    options.offline_replicas = [] {
      return std::vector<std::pair<std::string, int32_t>>{{"topic-id-x", 2}};
    };
    return options;
  }

  // Registrations answer epochs 100, 101, ...
  void AnswerRegistrations() {
    fake_.OnRegister([this](const internal::BrokerRegistrationRequest&,
                            internal::BrokerRegistrationResponse* resp) {
      resp->set_broker_epoch(100 + next_epoch_++);
      return grpc::Status::OK;
    });
  }

  FakeController fake_;
  std::atomic<int32_t> controller_id_{kController};
  ControllerChannel channel_;
  ManualClock clock_;
  std::atomic<int> next_epoch_{0};
};

TEST_F(BrokerLifecycleManagerTest, RegistersThenHeartbeatsWithItsEpoch) {
  AnswerRegistrations();
  fake_.OnHeartbeat(
      [](const internal::BrokerHeartbeatRequest&, internal::BrokerHeartbeatResponse* resp) {
        resp->set_is_fenced(false);
        return grpc::Status::OK;
      });
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  EXPECT_EQ(lifecycle.broker_epoch(), -1);
  lifecycle.Start();
  ASSERT_TRUE(Eventually([&] { return fake_.heartbeats().size() >= 2; }));
  EXPECT_EQ(lifecycle.broker_epoch(), 100);
  ASSERT_TRUE(Eventually([&] { return !lifecycle.fenced(); }));
  lifecycle.Stop();

  const auto registrations = fake_.registrations();
  ASSERT_EQ(registrations.size(), 1u);
  EXPECT_EQ(registrations[0].broker_id(), kBroker);
  EXPECT_EQ(registrations[0].incarnation_id(), "incarnation-a");
  EXPECT_EQ(registrations[0].replica_capacity(), 4000);
  ASSERT_EQ(registrations[0].endpoints_size(), 1);
  EXPECT_EQ(registrations[0].endpoints(0).name(), "PLAINTEXT");
  EXPECT_EQ(registrations[0].endpoints(0).port(), 9092);

  const internal::BrokerHeartbeatRequest hb = fake_.heartbeats().front();
  EXPECT_EQ(hb.broker_id(), kBroker);
  EXPECT_EQ(hb.broker_epoch(), 100);
  EXPECT_EQ(hb.current_metadata_offset(), 42);
  EXPECT_FALSE(hb.want_shutdown());
  ASSERT_EQ(hb.offline_replicas_size(), 1);
  EXPECT_EQ(hb.offline_replicas(0).topic_id(), "topic-id-x");
  EXPECT_EQ(hb.offline_replicas(0).partition(), 2);
}

TEST_F(BrokerLifecycleManagerTest, RetriesRegistrationUntilAControllerIsKnownAndAccepts) {
  controller_id_ = -1;
  std::atomic<bool> accept{false};
  fake_.OnRegister(
      [&](const internal::BrokerRegistrationRequest&, internal::BrokerRegistrationResponse* resp) {
        if (!accept) {
          resp->set_error(v1::NOT_CONTROLLER);
          return grpc::Status::OK;
        }
        resp->set_broker_epoch(7);
        return grpc::Status::OK;
      });
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  lifecycle.Start();
  // No controller known: nothing is sent.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(fake_.registrations().empty());
  controller_id_ = kController;
  ASSERT_TRUE(Eventually([&] { return !fake_.registrations().empty(); }));
  EXPECT_EQ(lifecycle.broker_epoch(), -1);
  accept = true;
  ASSERT_TRUE(Eventually([&] { return lifecycle.broker_epoch() == 7; }));
}

TEST_F(BrokerLifecycleManagerTest, RegistersAgainOnStaleBrokerEpoch) {
  AnswerRegistrations();
  fake_.OnHeartbeat(
      [](const internal::BrokerHeartbeatRequest& req, internal::BrokerHeartbeatResponse* resp) {
        // The controller forgot the first registration.
        if (req.broker_epoch() == 100) resp->set_error(v1::STALE_BROKER_EPOCH);
        return grpc::Status::OK;
      });
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  lifecycle.Start();
  ASSERT_TRUE(Eventually([&] {
    for (const auto& hb : fake_.heartbeats()) {
      if (hb.broker_epoch() == 101) return true;
    }
    return false;
  }));
  EXPECT_EQ(lifecycle.broker_epoch(), 101);
  lifecycle.Stop();
  const auto registrations = fake_.registrations();
  ASSERT_EQ(registrations.size(), 2u);
  // The same incarnation registers again: it is the same process.
  EXPECT_EQ(registrations[1].incarnation_id(), "incarnation-a");
  // Exactly one heartbeat carried the stale epoch.
  int stale = 0;
  for (const auto& hb : fake_.heartbeats()) stale += hb.broker_epoch() == 100;
  EXPECT_EQ(stale, 1);
}

TEST_F(BrokerLifecycleManagerTest, HeartbeatsAtOnceWhenAskedTo) {
  AnswerRegistrations();
  fake_.OnHeartbeat(
      [](const internal::BrokerHeartbeatRequest&, internal::BrokerHeartbeatResponse* resp) {
        resp->set_is_fenced(false);
        return grpc::Status::OK;
      });
  BrokerLifecycleOptions options = Options();
  options.heartbeat_interval_ms = 60'000;
  BrokerLifecycleManager lifecycle(std::move(options), &channel_, &clock_);
  lifecycle.Start();
  // Fenced at first (beats every 200 ms at most) until the answer unfences.
  ASSERT_TRUE(Eventually([&] { return !lifecycle.fenced(); }));
  const size_t before = fake_.heartbeats().size();
  lifecycle.HeartbeatNow();
  ASSERT_TRUE(
      Eventually([&] { return fake_.heartbeats().size() > before; }, std::chrono::seconds(5)));
}

TEST_F(BrokerLifecycleManagerTest, ControlledShutdownCompletesWhenTheControllerGrantsIt) {
  AnswerRegistrations();
  fake_.OnHeartbeat(
      [](const internal::BrokerHeartbeatRequest& req, internal::BrokerHeartbeatResponse* resp) {
        resp->set_is_fenced(false);
        resp->set_should_shutdown(req.want_shutdown());
        return grpc::Status::OK;
      });
  std::atomic<int> leaderships{2};
  BrokerLifecycleOptions options = Options();
  options.heartbeat_interval_ms = 60'000;
  // The broker applies the controller's move one partition per wait.
  options.await_no_leaderships = [&](absl::Duration) {
    if (leaderships > 0) --leaderships;
    return leaderships == 0;
  };
  BrokerLifecycleManager lifecycle(std::move(options), &channel_, &clock_);
  lifecycle.Start();
  ASSERT_TRUE(Eventually([&] { return lifecycle.broker_epoch() == 100; }));

  EXPECT_TRUE(lifecycle.ControlledShutdown());
  EXPECT_EQ(leaderships, 0);
  const auto heartbeats = fake_.heartbeats();
  ASSERT_FALSE(heartbeats.empty());
  EXPECT_TRUE(heartbeats.back().want_shutdown());
  // Granted: the loop has ended and sends nothing more.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(fake_.heartbeats().size(), heartbeats.size());
  lifecycle.Stop();
}

TEST_F(BrokerLifecycleManagerTest, ControlledShutdownGivesUpOnTheClock) {
  AnswerRegistrations();
  // The controller never grants it.
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  lifecycle.Start();
  ASSERT_TRUE(Eventually([&] { return lifecycle.broker_epoch() == 100; }));

  std::atomic<bool> done{false};
  std::atomic<bool> granted{true};
  std::thread shutdown([&] {
    granted = lifecycle.ControlledShutdown();
    done = true;
  });
  // Real time alone does not end it: the deadline is on the Clock.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& hb : fake_.heartbeats()) {
      if (hb.want_shutdown()) return true;
    }
    return false;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done);
  clock_.AdvanceMs(BrokerLifecycleManager::kShutdownGrantTimeoutMs);
  ASSERT_TRUE(Eventually([&] { return done.load(); }));
  shutdown.join();
  EXPECT_FALSE(granted);
  lifecycle.Stop();
}

TEST_F(BrokerLifecycleManagerTest, ControlledShutdownGivesUpSoonWithoutAController) {
  AnswerRegistrations();
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  lifecycle.Start();
  ASSERT_TRUE(Eventually([&] { return lifecycle.broker_epoch() == 100; }));
  controller_id_ = -1;

  std::atomic<bool> done{false};
  std::thread shutdown([&] {
    EXPECT_FALSE(lifecycle.ControlledShutdown());
    done = true;
  });
  // Leaderless for a second on the Clock (well before the 10 s limit).
  ASSERT_TRUE(Eventually([&] {
    clock_.AdvanceMs(10);
    return done.load();
  }));
  shutdown.join();
  EXPECT_LT(clock_.NowMs() - 1'700'000'000'000, BrokerLifecycleManager::kShutdownGrantTimeoutMs);
  lifecycle.Stop();
}

TEST_F(BrokerLifecycleManagerTest, NoControlledShutdownBeforeRegistration) {
  controller_id_ = -1;
  BrokerLifecycleManager lifecycle(Options(), &channel_, &clock_);
  lifecycle.Start();
  EXPECT_FALSE(lifecycle.ControlledShutdown());
  lifecycle.Stop();
}

}  // namespace
}  // namespace strata::server
