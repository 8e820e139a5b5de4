// Request quotas (request_percentage, KIP-124) on the Kafka listener's
// dispatcher: a real request layer (a ReplicaManager over in-memory logs,
// as produce_fetch_adapter_test.cc), a throttler on a manual clock, and a
// monotonic clock that moves 105 ms at every read, so each request's
// measured thread time, and with it every throttle, is exact.
//
// With Kafka's windows (11 of 1 s, at least 10 s assumed) a request read as
// 105 ms of handler time is 10.5 percent-seconds: 1.05 % over 10 s, which
// is 5 % over a 1 % quota, i.e. a 500 ms throttle.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "broker/request/handlers.h"
#include "broker/request/throttler.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::kafka {
namespace {

namespace records = metadata::testing;

constexpr char kTopicId[] = "TTTTTTTTTTTTTTTTTTTTTT";
constexpr int32_t kCorrelationId = 78;
constexpr int64_t kStepNs = 105'000'000;  // each monotonic read: 105 ms later
constexpr char kClientId[] = "test";      // testing::RequestFrame's

using security::QuotaEntity;
using security::QuotaType;

// A dispatch's answer, set on whichever thread answers.
struct Slot {
  std::mutex mu;
  std::optional<DispatchResult> result;
  bool answered() {
    std::lock_guard<std::mutex> l(mu);
    return result.has_value();
  }
};

class RequestQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    purgatory::Purgatory::Options po;
    po.start_reaper = false;
    purgatory_ = std::make_unique<purgatory::Purgatory>(&clock_, "test", po);
    storage::LogManager::Options lo;
    lo.log_dirs = {"/logs"};
    auto logs = storage::LogManager::Open(&fs_, &clock_, lo);
    ASSERT_TRUE(logs.ok()) << logs.status();
    logs_ = std::move(*logs);
    replication::ReplicaManagerOptions ro;
    ro.broker_id = 1;
    ro.min_insync_replicas = [](const metadata::TopicInfo&) { return 1; };
    ro.clock = &clock_;
    replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), ro);
    std::vector<internal::MetadataRecord> rs = {records::RegisterBroker(1, 1, false),
                                                records::Topic("t", kTopicId),
                                                records::Partition(kTopicId, 0, {1}, {1}, 1)};
    auto image = metadata::MetadataImage::Empty("cluster")->Apply(records::Batch(rs), 1);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;
    replicas_->OnMetadata(image_);
    request::HandlerOptions ho;
    ho.replicas = replicas_.get();
    ho.purgatory = purgatory_.get();
    ho.clock = &clock_;
    ho.image = [this] { return image_; };
    ho.controller_id = [] { return 1; };
    ho.consumer_fetch_memory = &consumer_memory_;
    ho.follower_fetch_memory = &follower_memory_;
    handlers_ = std::make_unique<request::RequestHandlers>(ho);
    throttler_ = std::make_unique<request::Throttler>(kWindows, &clock_, [this] {
      nano_reads_.fetch_add(1);
      return nanos_.fetch_add(kStepNs) + kStepNs;
    });
    dispatcher_ = std::make_unique<Dispatcher>(
        Dispatcher::Deps{.handlers = handlers_.get(), .throttler = throttler_.get()});
  }

  void TearDown() override {
    throttler_->Stop();
    purgatory_->Shutdown();
    handlers_.reset();
    replicas_.reset();
    if (logs_) {
      EXPECT_TRUE(logs_->Close().ok());
    }
  }

  void SetQuotas(std::vector<std::pair<QuotaEntity, std::map<std::string, double>>> quotas) {
    throttler_->SetQuotas(quotas);
    expected_.SetQuotas(std::move(quotas));
  }

  // Dispatches `message` at `version` from `user`.
  template <typename M>
  std::shared_ptr<Slot> Send(const std::string& user, int16_t version, const M& message) {
    const std::string frame = testing::RequestFrame(version, kCorrelationId, message);
    auto slot = std::make_shared<Slot>();
    dispatcher_->Dispatch({.peer = "127.0.0.1:5",
                           .listener = "KAFKA",
                           .principal = security::Principal::User(user),
                           .host = "127.0.0.1"},
                          frame, [slot](DispatchResult r) {
                            std::lock_guard<std::mutex> l(slot->mu);
                            ASSERT_FALSE(slot->result.has_value()) << "answered twice";
                            slot->result = std::move(r);
                          });
    return slot;
  }

  // Whether `slot` is answered within a second of real time (the throttler
  // follows the manual clock every 100 ms).
  static bool AnsweredSoon(Slot& slot) {
    for (int i = 0; i < 100 && !slot.answered(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return slot.answered();
  }

  // Moves the clock to `ms` after `start_ms`, and checks `slot` is answered
  // then and not before.
  void ExpectReleasedAt(Slot& slot, int64_t start_ms, int64_t ms) {
    clock_.SetMs(start_ms + ms - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_FALSE(slot.answered()) << "released before its " << ms << " ms";
    clock_.SetMs(start_ms + ms);
    EXPECT_TRUE(AnsweredSoon(slot)) << "not released at " << ms << " ms";
  }

  // The response decoded from a slot's frame.
  template <typename R>
  R Decoded(Slot& slot, int16_t version) {
    std::lock_guard<std::mutex> l(slot.mu);
    EXPECT_TRUE(slot.result.has_value());
    if (!slot.result.has_value()) return R{};
    EXPECT_FALSE(slot.result->close) << slot.result->reason;
    std::string_view frame(slot.result->response);
    EXPECT_GE(frame.size(), 4u);
    Reader r(frame.substr(4));
    absl::StatusOr<int32_t> correlation =
        ReadResponseHeader(r, ResponseHeaderVersion(R::kApiKey, version));
    EXPECT_TRUE(correlation.ok());
    absl::StatusOr<R> response = Decode<R>(version, frame.substr(4 + r.position()));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : R{};
  }

  static ProduceRequest ProduceOf(std::string batch) {
    ProduceRequest p;
    p.acks = 1;
    p.timeout_ms = 1000;
    p.topic_data.push_back({.name = "t", .partition_data = {{0, std::move(batch)}}});
    return p;
  }

  static MetadataRequest AllTopics() {
    MetadataRequest m;
    m.topics.reset();
    return m;
  }

  static constexpr security::ClientQuotaManager::Options kWindows{.num_windows = 11,
                                                                  .window_ms = 1000};

  storage::MemFileSystem fs_;
  ManualClock clock_;
  std::atomic<int64_t> nanos_{0};
  std::atomic<int> nano_reads_{0};
  request::FetchMemory consumer_memory_{64 << 20};
  request::FetchMemory follower_memory_{64 << 20};
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  std::unique_ptr<request::RequestHandlers> handlers_;
  std::unique_ptr<request::Throttler> throttler_;
  std::unique_ptr<Dispatcher> dispatcher_;
  // The byte-rate throttles the throttler must arrive at, computed apart.
  security::ClientQuotaManager expected_{kWindows};
};

TEST_F(RequestQuotaTest, WithoutQuotasNoRequestIsTimed) {
  std::shared_ptr<Slot> m = Send("alice", 4, AllTopics());
  ASSERT_TRUE(m->answered());
  EXPECT_EQ(Decoded<MetadataResponse>(*m, 4).throttle_time_ms, 0);
  EXPECT_EQ(nano_reads_.load(), 0) << "no quota: the clock is not even read";
}

TEST_F(RequestQuotaTest, ByteRateQuotasAloneTimeNoRequest) {
  SetQuotas({{QuotaEntity::User("alice"), {{"producer_byte_rate", 1e6}}}});
  std::shared_ptr<Slot> m = Send("alice", 4, AllTopics());
  ASSERT_TRUE(m->answered());
  EXPECT_EQ(nano_reads_.load(), 0) << "no request_percentage anywhere: nothing to time";
}

TEST_F(RequestQuotaTest, AClientOverItsRequestPercentageIsToldAndHeld) {
  SetQuotas({{QuotaEntity::User("alice"), {{"request_percentage", 1}}}});
  const int64_t start_ms = clock_.NowMs();
  std::shared_ptr<Slot> m = Send("alice", 4, AllTopics());
  EXPECT_FALSE(m->answered()) << "105 ms of a 1 % quota: held";
  // Handler: 105 ms, then the encoding: 105 ms more, recorded after.
  EXPECT_EQ(nano_reads_.load(), 3);
  ExpectReleasedAt(*m, start_ms, 500);
  EXPECT_EQ(Decoded<MetadataResponse>(*m, 4).throttle_time_ms, 500);
  // 210 ms = 21 percent-seconds over 10.5 s (the 10 assumed and 0.5 passed).
  std::optional<double> rate =
      throttler_->quotas().MeasuredRate(QuotaType::kRequest, "alice", kClientId, clock_.NowMs());
  ASSERT_TRUE(rate.has_value());
  EXPECT_DOUBLE_EQ(*rate, 21.0 / 10.5);
}

TEST_F(RequestQuotaTest, AClientWithoutARequestQuotaIsNotHeld) {
  SetQuotas({{QuotaEntity::User("alice"), {{"request_percentage", 1}}}});
  std::shared_ptr<Slot> m = Send("bob", 4, AllTopics());
  ASSERT_TRUE(m->answered()) << "bob has no quota: at once";
  EXPECT_EQ(Decoded<MetadataResponse>(*m, 4).throttle_time_ms, 0);
  EXPECT_FALSE(throttler_->quotas()
                   .MeasuredRate(QuotaType::kRequest, "bob", kClientId, clock_.NowMs())
                   .has_value());
}

TEST_F(RequestQuotaTest, ApiVersionsIsNeverThrottled) {
  // A 0 % quota: any request time holds the client for a whole window
  // (Kafka's cap for request quotas), as a Metadata shows.
  SetQuotas({{QuotaEntity::User("alice"), {{"request_percentage", 0}}}});
  const int64_t start_ms = clock_.NowMs();
  std::shared_ptr<Slot> m = Send("alice", 4, AllTopics());
  EXPECT_FALSE(m->answered());
  ExpectReleasedAt(*m, start_ms, 1000);
  EXPECT_EQ(Decoded<MetadataResponse>(*m, 4).throttle_time_ms, 1000);

  const int reads = nano_reads_.load();
  std::shared_ptr<Slot> v = Send("alice", 2, ApiVersionsRequest{});
  ASSERT_TRUE(v->answered()) << "ApiVersions is exempt: at once";
  EXPECT_EQ(Decoded<ApiVersionsResponse>(*v, 2).throttle_time_ms, 0);
  EXPECT_EQ(nano_reads_.load(), reads) << "and not timed";
}

TEST_F(RequestQuotaTest, ProduceIsHeldByTheLargerThrottleNotTheSum) {
  const std::string batch = storage::testing::MakeBatch(0, 20);
  const double bytes = static_cast<double>(batch.size());
  // The byte-rate quota alone: the batch over 10 s is 5 % over it (about
  // 500 ms), the request quota (0 %) asks a whole window, 1000 ms.
  SetQuotas({{QuotaEntity::User("alice"),
              {{"producer_byte_rate", bytes / 10.5}, {"request_percentage", 0}}}});
  int64_t start_ms = clock_.NowMs();
  const int64_t byte_throttle =
      expected_.RecordAndGetThrottleMs(QuotaType::kProduce, "alice", kClientId, bytes, start_ms);
  ASSERT_GT(byte_throttle, 0);
  ASSERT_LT(byte_throttle, 1000);
  std::shared_ptr<Slot> p = Send("alice", 7, ProduceOf(batch));
  EXPECT_FALSE(p->answered());
  EXPECT_EQ(nano_reads_.load(), 2) << "the start, and the adapter's return";
  // The byte throttle releases it to the dispatcher (which times its
  // encoding: 2 reads more), and the request throttle holds it on.
  clock_.SetMs(start_ms + byte_throttle);
  for (int i = 0; i < 100 && nano_reads_.load() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(nano_reads_.load(), 4);
  ExpectReleasedAt(*p, start_ms, 1000);  // not 1000 + the byte throttle
  ProduceResponse r = Decoded<ProduceResponse>(*p, 7);
  EXPECT_EQ(r.responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(r.throttle_time_ms, 1000);

  // A byte-rate quota asking more than the request quota's whole window:
  // held by the byte throttle alone, not a millisecond more.
  SetQuotas({{QuotaEntity::User("alice"),
              {{"producer_byte_rate", bytes / 1000}, {"request_percentage", 0}}}});
  start_ms = clock_.NowMs();
  const std::string batch2 = storage::testing::MakeBatch(20, 20);
  const int64_t big_throttle = expected_.RecordAndGetThrottleMs(
      QuotaType::kProduce, "alice", kClientId, static_cast<double>(batch2.size()), start_ms);
  ASSERT_GT(big_throttle, 1000);
  p = Send("alice", 7, ProduceOf(batch2));
  EXPECT_FALSE(p->answered());
  ExpectReleasedAt(*p, start_ms, big_throttle);
  EXPECT_EQ(Decoded<ProduceResponse>(*p, 7).throttle_time_ms, big_throttle);
}

// Followers replicate over gRPC: a Kafka fetch claiming a replica id is a
// consumer's, and its bytes count against consumer_byte_rate like any.
TEST_F(RequestQuotaTest, AFetchClaimingAReplicaIdIsUnderTheConsumerQuota) {
  const std::string batch = storage::testing::MakeBatch(0, 20);
  ASSERT_TRUE(Send("alice", 7, ProduceOf(batch))->answered());
  SetQuotas({{QuotaEntity::User("alice"), {{"consumer_byte_rate", 1}}}});
  FetchRequest f;
  f.replica_id = 1;  // this node's own id, as a follower would send
  f.max_wait_ms = 0;
  f.topics.push_back({.topic = "t",
                      .partitions = {{.partition = 0,
                                      .current_leader_epoch = -1,
                                      .fetch_offset = 0,
                                      .log_start_offset = -1,
                                      .partition_max_bytes = 1 << 20}}});
  const int64_t start_ms = clock_.NowMs();
  std::shared_ptr<Slot> slot = Send("alice", 11, f);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(slot->answered()) << "a claimed replica id escaped the fetch quota";
  // The byte throttle of 1 B/s is far past a window: release it and look.
  clock_.SetMs(start_ms + 3'600'000);
  ASSERT_TRUE(AnsweredSoon(*slot));
  FetchResponse r = Decoded<FetchResponse>(*slot, 11);
  EXPECT_GT(r.throttle_time_ms, 0);
  ASSERT_EQ(r.responses.size(), 1u);
  // The batch as stored (the leader stamps its epoch into it): its size.
  EXPECT_EQ(r.responses[0].partitions.at(0).records.value_or("").size(), batch.size());
}

}  // namespace
}  // namespace strata::kafka
