// Client quotas: Kafka's precedence, its Rate measurement and throttle time,
// and convergence of a throttled client to its quota.
#include "broker/security/quota.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::security {
namespace {

using Quotas = std::vector<std::pair<QuotaEntity, std::map<std::string, double>>>;

QuotaEntity UserDefaultClient(std::string user) {
  QuotaEntity e = QuotaEntity::User(std::move(user));
  e.client_default = true;
  return e;
}
QuotaEntity DefaultUserClient(std::string client) {
  QuotaEntity e = QuotaEntity::ClientId(std::move(client));
  e.user_default = true;
  return e;
}
QuotaEntity DefaultUserDefaultClient() {
  QuotaEntity e = QuotaEntity::DefaultUser();
  e.client_default = true;
  return e;
}

std::map<std::string, double> Produce(double v) { return {{"producer_byte_rate", v}}; }

TEST(ClientQuotaManagerTest, Keys) {
  EXPECT_STREQ(QuotaKey(QuotaType::kProduce), "producer_byte_rate");
  EXPECT_STREQ(QuotaKey(QuotaType::kFetch), "consumer_byte_rate");
  EXPECT_STREQ(QuotaKey(QuotaType::kRequest), "request_percentage");
}

TEST(ClientQuotaManagerTest, PrecedenceFollowsKafka) {
  // All eight levels configured, each with its level number as the quota;
  // remove them from the most specific down.
  std::vector<std::pair<QuotaEntity, double>> levels = {
      {QuotaEntity::UserClientId("alice", "app"), 1},
      {UserDefaultClient("alice"), 2},
      {QuotaEntity::User("alice"), 3},
      {DefaultUserClient("app"), 4},
      {DefaultUserDefaultClient(), 5},
      {QuotaEntity::DefaultUser(), 6},
      {QuotaEntity::ClientId("app"), 7},
      {QuotaEntity::DefaultClientId(), 8},
  };
  ClientQuotaManager manager({});
  for (size_t first = 0; first < levels.size(); ++first) {
    Quotas quotas;
    for (size_t i = first; i < levels.size(); ++i) {
      quotas.push_back({levels[i].first, Produce(levels[i].second)});
    }
    manager.SetQuotas(quotas);
    EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "alice", "app"), levels[first].second)
        << "levels from " << first + 1;
  }
  manager.SetQuotas({});
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "alice", "app"), std::nullopt);
}

TEST(ClientQuotaManagerTest, EntitiesApplyOnlyToTheirUsersAndClients) {
  ClientQuotaManager manager({});
  manager.SetQuotas({
      {QuotaEntity::UserClientId("alice", "app"), Produce(1)},
      {QuotaEntity::User("bob"), Produce(3)},
      {QuotaEntity::ClientId("tool"), Produce(7)},
  });
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "alice", "app"), 1);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "alice", "other"), std::nullopt);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "bob", "app"), 3);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "bob", "tool"), 3);  // user beats client-id
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "carol", "tool"), 7);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "carol", "app"), std::nullopt);
}

TEST(ClientQuotaManagerTest, TypesResolveIndependently) {
  ClientQuotaManager manager({});
  manager.SetQuotas({
      {QuotaEntity::User("alice"), {{"producer_byte_rate", 1000}, {"unknown_key", 5}}},
      {QuotaEntity::ClientId("app"), {{"consumer_byte_rate", 2000}, {"request_percentage", 50}}},
  });
  EXPECT_EQ(manager.QuotaFor(QuotaType::kProduce, "alice", "app"), 1000);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kFetch, "alice", "app"), 2000);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kRequest, "alice", "app"), 50);
  EXPECT_EQ(manager.QuotaFor(QuotaType::kFetch, "alice", "other"), std::nullopt);
}

TEST(ClientQuotaManagerTest, NoQuotaRecordsNothing) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("bob"), Produce(1)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1e9, 1000), 0);
  EXPECT_EQ(manager.SensorCount(), 0u);
}

TEST(ClientQuotaManagerTest, UnderTheQuotaNoThrottle) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(1000)}});
  // 90 bytes every 100 ms: 900 B/s. (Exactly at the quota is not enough:
  // a record at the window's edge counts, as in Kafka.)
  for (int64_t t = 0; t < 20'000; t += 100) {
    EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 90, t), 0)
        << "at " << t;
  }
  EXPECT_EQ(manager.SensorCount(), 1u);
}

TEST(ClientQuotaManagerTest, FirstWindowAssumesNumWindowsMinusOneFullWindows) {
  // 11 windows of 1 s: a first record is measured over 10 s, not over 0 ms.
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 1000 bytes at t=0: 100 B/s over 10 s - exactly the bound, not over it.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1000, 0), 0);
  EXPECT_DOUBLE_EQ(*manager.MeasuredRate(QuotaType::kProduce, "alice", "app", 0), 100.0);
  // 500 ms later the span is 10.5 s.
  EXPECT_DOUBLE_EQ(*manager.MeasuredRate(QuotaType::kProduce, "alice", "app", 500), 1000.0 / 10.5);
}

TEST(ClientQuotaManagerTest, ThrottleTimeIsKafkasFormula) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 2000 bytes at t=0: 200 B/s over a 10 s span; (200 - 100) / 100 * 10 s.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 2000, 0), 10'000);
  // The debt then drains at 100 B/s: at t=3500 it is 1650, 1750 with
  // another 100 bytes, 750 over the allowance of 10 s at the bound: 7.5 s.
  // (Kafka's Rate would say 2100 B over 10.5 s, 10.5 s.)
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 100, 3500), 7'500);
}

TEST(ClientQuotaManagerTest, ByteQuotaThrottleIsNotCapped) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 100x the quota: (10000 - 100) / 100 * 10 s.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 100'000, 0),
            990'000);
}

TEST(ClientQuotaManagerTest, RequestQuotaIsPercentOfAThreadCappedAtOneWindow) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), {{"request_percentage", 10}}}});
  // 1000 ms of thread time at t=0 is 100 percent-seconds over 10 s: 10%.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kRequest, "alice", "app", 1000, 0), 0);
  EXPECT_DOUBLE_EQ(*manager.MeasuredRate(QuotaType::kRequest, "alice", "app", 0), 10.0);
  // 4000 ms more: 50%, throttle (50 - 10) / 10 * 10 s = 40 s, capped at 1 s.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kRequest, "alice", "app", 4000, 0), 1000);
}

TEST(ClientQuotaManagerTest, ZeroQuotaThrottlesAnyUse) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(0)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1, 0), 11'000);
}

TEST(ClientQuotaManagerTest, UserQuotaIsSharedByTheUsersClients) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 600 bytes each from two client ids: 60 B/s each, 120 B/s for alice.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "a", 600, 0), 0);
  EXPECT_GT(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "b", 600, 0), 0);
  EXPECT_EQ(manager.SensorCount(), 1u);
  // <default> user: each user measured on their own.
  manager.SetQuotas({{QuotaEntity::DefaultUser(), Produce(100)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "bob", "a", 600, 0), 0);
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "carol", "a", 600, 0), 0);
}

TEST(ClientQuotaManagerTest, ClientIdQuotaIsPerClientId) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::DefaultClientId(), Produce(100)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "a", 600, 0), 0);
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "b", 600, 0), 0);
  // The same client id from two users shares one client-id quota.
  EXPECT_GT(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "bob", "a", 600, 0), 0);
  EXPECT_EQ(manager.SensorCount(), 2u);
}

TEST(ClientQuotaManagerTest, QuotaChangeKeepsTheMeasurement) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(1000)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1500, 0), 0);
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 1500 + 500 bytes over 10 s = 200 B/s against the new 100.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 500, 0), 10'000);
}

TEST(ClientQuotaManagerTest, ABurstIsPaidBackAtTheQuotaRate) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 4000 bytes over the 1000 allowed at once: 40 s, as Kafka's formula.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 5000, 0), 40'000);
  // A client ignoring it is still in debt 11 s later, when Kafka's Rate
  // has forgotten the burst (its sample aged out): 5000 - 1100 + 100.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 100, 11'000),
            30'000);
  // The measurement is Kafka's: the burst's sample is obsolete.
  EXPECT_DOUBLE_EQ(*manager.MeasuredRate(QuotaType::kProduce, "alice", "app", 11'000), 10.0);
  // Waiting the throttle out: back at the allowance, and the next 100
  // bytes are held by their own size over the quota.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 100, 41'000),
            1'000);
  // Idle long enough, the whole allowance is back.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1000, 100'000), 0);
}

TEST(ClientQuotaManagerTest, UseUnderAZeroQuotaIsNotOwedOnceItIsRaised) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(0)}});
  for (int64_t t = 0; t < 60'000; t += 1000) {
    EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1e6, t), 11'000);
  }
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 100, 60'000), 0);
}

TEST(ClientQuotaManagerTest, AClockSteppingBackDoesNotStopTheDrain) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  const int64_t t0 = 1'700'000'000'000;
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 2000, t0), 10'000);
  // The wall clock steps back an hour: the debt (1000 over) drains from
  // there, and 10 s later it is back at the allowance.
  const int64_t back = t0 - 3'600'000;
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 0, back), 10'000);
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 0, back + 10'000),
            0);
}

TEST(ClientQuotaManagerTest, RequestDebtIsCutToOneWindow) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::User("alice"), {{"request_percentage", 1}}}});
  // 100 s of thread time: throttled one window, not 99 minutes...
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kRequest, "alice", "app", 100'000, 0), 1000);
  // ...and one window later the client is back at its allowance: a
  // request of 1 ms (0.1 percent-second) is held 100 ms, its own cost.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kRequest, "alice", "app", 1, 1000), 100);
}

TEST(ClientQuotaManagerTest, IdleSensorsExpireAfterAnHour) {
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::DefaultClientId(), Produce(1e6)}});
  const int64_t t0 = 1'700'000'000'000;
  manager.RecordAndGetThrottleMs(QuotaType::kProduce, "u", "idle", 10, t0);
  manager.RecordAndGetThrottleMs(QuotaType::kFetch, "u", "idle", 10, t0);  // no fetch quota
  EXPECT_EQ(manager.SensorCount(), 1u);
  // Another client keeps recording; 59 minutes in, "idle" is still there.
  for (int64_t t = t0; t <= t0 + 59 * 60'000; t += 60'000) {
    manager.RecordAndGetThrottleMs(QuotaType::kProduce, "u", "busy", 10, t);
  }
  EXPECT_EQ(manager.SensorCount(), 2u);
  for (int64_t t = t0 + 60 * 60'000; t <= t0 + 62 * 60'000; t += 30'000) {
    manager.RecordAndGetThrottleMs(QuotaType::kProduce, "u", "busy", 10, t);
  }
  EXPECT_EQ(manager.SensorCount(), 1u);
}

// A client offering `offered` bytes/s in `batch`-byte requests, waiting out
// every throttle before its next request (KIP-219: the broker answers with
// the throttle time and mutes the channel; the client backs off as long).
// Returns the rate it achieved between measure_from_ms and duration_ms.
double SimulateClient(ClientQuotaManager& manager, QuotaType type, double offered, double batch,
                      int64_t duration_ms, int64_t measure_from_ms = 0) {
  const int64_t interval_ms = static_cast<int64_t>(std::llround(batch / offered * 1000.0));
  double accepted = 0;
  int64_t t = 0;
  while (t < duration_ms) {
    const int64_t throttle = manager.RecordAndGetThrottleMs(type, "alice", "app", batch, t);
    if (t >= measure_from_ms) accepted += batch;
    t += std::max(interval_ms, throttle);
  }
  return accepted / (static_cast<double>(duration_ms - measure_from_ms) / 1000.0);
}

TEST(ClientQuotaManagerTest, ProducerAtTwiceTheQuotaConvergesToIt) {
  constexpr double kQuota = 5 * 1024 * 1024;
  constexpr double kOffered = 10 * 1024 * 1024;
  for (double batch : {16.0 * 1024, 256.0 * 1024, 1024.0 * 1024}) {
    ClientQuotaManager manager({});
    manager.SetQuotas({{QuotaEntity::User("alice"), Produce(kQuota)}});
    // 30 s after the first burst (Kafka's allowance: it takes 10 s at twice
    // the quota to use up).
    const double achieved =
        SimulateClient(manager, QuotaType::kProduce, kOffered, batch, 42'000, 12'000);
    EXPECT_NEAR(achieved, kQuota, 0.2 * kQuota) << "batch " << batch;
    // And the broker's own measurement (Kafka's Rate) at the end agrees.
    const double measured = *manager.MeasuredRate(QuotaType::kProduce, "alice", "app", 42'000);
    EXPECT_NEAR(measured, kQuota, 0.2 * kQuota) << "batch " << batch;
  }
}

TEST(ClientQuotaManagerTest, ProducerSettlesAtTheQuota) {
  // Over the first 30 s the client is over: the first burst (Kafka's
  // allowance, num_windows - 1 windows at the quota) passes unthrottled.
  // Once settled the rate is the quota.
  constexpr double kQuota = 5 * 1024 * 1024;
  for (double offered : {6.0 * 1024 * 1024, 10.0 * 1024 * 1024, 50.0 * 1024 * 1024}) {
    for (double batch : {16.0 * 1024, 1024.0 * 1024}) {
      ClientQuotaManager manager({});
      manager.SetQuotas({{QuotaEntity::User("alice"), Produce(kQuota)}});
      const double settled =
          SimulateClient(manager, QuotaType::kProduce, offered, batch, 300'000, 60'000);
      EXPECT_NEAR(settled, kQuota, 0.05 * kQuota) << "offered " << offered << " batch " << batch;
    }
  }
}

TEST(ClientQuotaManagerTest, ASteadyOverloadIsHeldToTheQuotaOverAnySpan) {
  // Kafka's Rate-based throttle saw-tooths with the window's period (the
  // first burst ages out, and the next is let through): over 30 s spans a
  // client measures well off its quota, depending on where they fall. The
  // leaky bucket holds every span after the first burst to the quota.
  constexpr double kQuota = 5 * 1024 * 1024;
  for (double batch : {16.0 * 1024, 1024.0 * 1024}) {
    for (int64_t from : {12'000, 17'000, 23'000, 41'000}) {
      ClientQuotaManager manager({});
      manager.SetQuotas({{QuotaEntity::User("alice"), Produce(kQuota)}});
      const double rate = SimulateClient(manager, QuotaType::kProduce, 50 * 1024 * 1024, batch,
                                         from + 30'000, from);
      EXPECT_NEAR(rate, kQuota, 0.04 * kQuota) << "batch " << batch << " from " << from;
    }
  }
}

TEST(ClientQuotaManagerTest, ConsumerConvergesToItsQuota) {
  constexpr double kQuota = 2 * 1024 * 1024;
  ClientQuotaManager manager({});
  manager.SetQuotas({{QuotaEntity::ClientId("app"), {{"consumer_byte_rate", kQuota}}}});
  const double achieved =
      SimulateClient(manager, QuotaType::kFetch, 8 * 1024 * 1024, 512 * 1024, 42'000, 12'000);
  EXPECT_NEAR(achieved, kQuota, 0.2 * kQuota);
}

TEST(ClientQuotaManagerTest, OtherWindowSettings) {
  // quota.window.num=5, quota.window.size.seconds=2
  ClientQuotaManager manager({.num_windows = 5, .window_ms = 2000});
  manager.SetQuotas({{QuotaEntity::User("alice"), Produce(100)}});
  // 1000 bytes at t=0 over an assumed 4 windows of 2 s: 125 B/s;
  // (125 - 100) / 100 * 8 s = 2 s.
  EXPECT_EQ(manager.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", "app", 1000, 0), 2000);
  const double achieved = SimulateClient(manager, QuotaType::kProduce, 1000, 100, 60'000);
  EXPECT_NEAR(achieved, 100, 20);
}

}  // namespace
}  // namespace strata::security
