// The request layer's authorization (authorized.h) over real handlers: what
// a session may do to topics, with literal and prefixed ACLs, deny winning,
// super users, and listings that hide what the session may not describe;
// and the throttler that holds answers back for quotas.
#include "broker/request/authorized.h"

#include <optional>

#include "broker/request/throttler.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::request {
namespace {

namespace records = metadata::testing;
using security::AclBinding;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourceType;

AclBinding Acl(ResourceType type, std::string name, PatternType pattern, std::string principal,
               AclOperation op, AclPermissionType permission = AclPermissionType::kAllow) {
  return AclBinding{{type, std::move(name), pattern}, {std::move(principal), "*", op, permission}};
}

security::Session As(const std::string& user) {
  security::Session s;
  s.principal = security::Principal::User(user);
  s.host = "127.0.0.1";
  s.listener = "PLAINTEXT";
  return s;
}

class AuthorizedTest : public ::testing::Test {
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
    ro.on_partition_change = [this](const TopicPartition& tp) {
      purgatory_->CheckAndComplete(purgatory::WatchKey::Partition(tp));
    };
    replicas_ = std::make_unique<replication::ReplicaManager>(logs_.get(), ro);
    std::vector<internal::MetadataRecord> rs = {records::RegisterBroker(1, 1, false)};
    const char* topics[] = {"orders", "orders-eu", "orders-us", "payroll"};
    for (int i = 0; i < 4; ++i) {
      const std::string id(22, static_cast<char>('A' + i));
      rs.push_back(records::Topic(topics[i], id));
      rs.push_back(records::Partition(id, 0, {1}, {1}, 1));
    }
    auto image = metadata::MetadataImage::Empty("cluster")->Apply(records::Batch(rs), 1);
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *image;
    replicas_->OnMetadata(image_);

    HandlerOptions ho;
    ho.replicas = replicas_.get();
    ho.purgatory = purgatory_.get();
    ho.clock = &clock_;
    ho.image = [this] { return image_; };
    ho.controller_id = [] { return 1; };
    ho.consumer_fetch_memory = &consumer_memory_;
    ho.follower_fetch_memory = &follower_memory_;
    ho.auto_create_topics_enable = true;
    ho.create_topics = [this](metadata::CreateTopicsRequest r) { created_.push_back(r); };
    handlers_ = std::make_unique<RequestHandlers>(ho);

    // alice: writes "orders"; reads everything "orders-" but "orders-us"
    // (deny wins); bob: nothing; admin: a super user.
    SetAcls({
        Acl(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:alice",
            AclOperation::kWrite),
        Acl(ResourceType::kTopic, "orders-", PatternType::kPrefixed, "User:alice",
            AclOperation::kRead),
        Acl(ResourceType::kTopic, "orders-us", PatternType::kLiteral, "User:alice",
            AclOperation::kAll, AclPermissionType::kDeny),
    });
  }

  void TearDown() override {
    purgatory_->Shutdown();
    handlers_.reset();
    replicas_.reset();
    if (logs_) {
      EXPECT_TRUE(logs_->Close().ok());
    }
  }

  void SetAcls(std::vector<AclBinding> bindings) {
    acls_ = std::make_shared<const security::AclSnapshot>(std::move(bindings));
    AccessControl::Options o;
    o.enabled = true;
    o.authorizer.super_users = {"User:admin"};
    o.acls = [this] { return acls_; };
    access_ = std::make_unique<AccessControl>(o);
  }

  ProduceResponse Produce(const std::string& user, std::vector<std::string> topics) {
    ProduceRequest req;
    req.acks = 1;
    for (const std::string& t : topics) {
      req.topics.push_back(
          ProduceTopic{t, {ProducePartition{0, storage::testing::MakeBatch(0, 1), {}}}});
    }
    std::optional<ProduceResponse> out;
    Authorized(access_.get(), As(user)).Produce(*handlers_, std::move(req), [&](ProduceResponse r) {
      out = std::move(r);
    });
    EXPECT_TRUE(out.has_value());
    return out.value_or(ProduceResponse{});
  }

  static std::map<std::string, ErrorCode> Errors(const ProduceResponse& r) {
    std::map<std::string, ErrorCode> out;
    for (const ProduceTopicResult& t : r.topics) out[t.topic] = t.partitions.at(0).error;
    return out;
  }

  ManualClock clock_;
  storage::MemFileSystem fs_;
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  FetchMemory consumer_memory_{1 << 30};
  FetchMemory follower_memory_{1 << 30};
  std::vector<metadata::CreateTopicsRequest> created_;
  std::unique_ptr<RequestHandlers> handlers_;
  std::shared_ptr<const security::AclSnapshot> acls_;
  std::unique_ptr<AccessControl> access_;
};

TEST_F(AuthorizedTest, ProduceWritesOnlyWhereAnAclAllowsIt) {
  std::map<std::string, ErrorCode> e = Errors(Produce("alice", {"orders", "payroll"}));
  EXPECT_EQ(e["orders"], ErrorCode::kNone);
  EXPECT_EQ(e["payroll"], ErrorCode::kTopicAuthorizationFailed);
  // Read (prefixed) does not give Write; bob has nothing; admin everything.
  EXPECT_EQ(Errors(Produce("alice", {"orders-eu"}))["orders-eu"],
            ErrorCode::kTopicAuthorizationFailed);
  EXPECT_EQ(Errors(Produce("bob", {"orders"}))["orders"], ErrorCode::kTopicAuthorizationFailed);
  EXPECT_EQ(Errors(Produce("admin", {"payroll"}))["payroll"], ErrorCode::kNone);
  // Nothing was appended for the refused ones: payroll has admin's record only.
  ListOffsetsRequest lo;
  lo.topics.push_back({"payroll", {{0, -1}}});
  EXPECT_EQ(handlers_->ListOffsets(lo).topics.at(0).partitions.at(0).offset, 1);
}

TEST_F(AuthorizedTest, WithoutAnAuthorizerEverythingPasses) {
  Authorized open(nullptr, As("bob"));
  EXPECT_FALSE(open.enabled());
  EXPECT_TRUE(open.Allowed(AclOperation::kWrite, ResourceType::kTopic, "payroll"));
  AccessControl disabled(AccessControl::Options{});
  Authorized off(&disabled, As("bob"));
  EXPECT_FALSE(off.enabled());
  ProduceRequest req;
  req.acks = 1;
  req.topics.push_back(
      ProduceTopic{"payroll", {ProducePartition{0, storage::testing::MakeBatch(0, 1), {}}}});
  std::optional<ProduceResponse> out;
  off.Produce(*handlers_, std::move(req), [&](ProduceResponse r) { out = std::move(r); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->topics.at(0).partitions.at(0).error, ErrorCode::kNone);
}

TEST_F(AuthorizedTest, FetchReadsByPrefixAndDenyWins) {
  FetchRequest req;
  for (const char* t : {"orders-eu", "orders-us", "orders"}) {
    req.topics.push_back(FetchTopic{t, {FetchPartition{0, 0, 1024, -1, -1}}});
  }
  std::optional<FetchResponse> out;
  Authorized(access_.get(), As("alice")).Fetch(*handlers_, std::move(req), [&](FetchResponse r) {
    out = std::move(r);
  });
  ASSERT_TRUE(out.has_value());
  std::map<std::string, ErrorCode> e;
  for (const FetchTopicResult& t : out->topics) e[t.topic] = t.partitions.at(0).error;
  EXPECT_EQ(e["orders-eu"], ErrorCode::kNone);                      // prefixed Read
  EXPECT_EQ(e["orders-us"], ErrorCode::kTopicAuthorizationFailed);  // deny wins
  EXPECT_EQ(e["orders"], ErrorCode::kTopicAuthorizationFailed);     // "orders" is not "orders-"
}

TEST_F(AuthorizedTest, AFollowersFetchNeedsClusterAction) {
  FetchRequest req;
  req.from_follower = true;
  req.replica_id = 2;
  req.topics.push_back(FetchTopic{"orders", {FetchPartition{0, 0, 1024, -1, -1}}});
  std::optional<FetchResponse> out;
  Authorized(access_.get(), As("alice")).Fetch(*handlers_, req, [&](FetchResponse r) {
    out = std::move(r);
  });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->topics.at(0).partitions.at(0).error, ErrorCode::kClusterAuthorizationFailed);
}

TEST_F(AuthorizedTest, MetadataShowsOnlyWhatTheSessionMayDescribe) {
  Authorized alice(access_.get(), As("alice"));
  // All topics: Write and Read imply Describe; the denied and unrelated ones
  // are left out.
  MetadataResponse all = alice.Metadata(*handlers_, MetadataRequest{}, "PLAINTEXT");
  std::vector<std::string> names;
  for (const TopicMetadata& t : all.topics) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"orders", "orders-eu"}));
  // Named: refused whether it exists or not, so names cannot be probed;
  // auto-creation needs Create.
  MetadataRequest named;
  named.topics = std::vector<std::string>{"payroll", "no-such-topic", "orders"};
  named.allow_auto_topic_creation = true;
  std::map<std::string, ErrorCode> e;
  for (const TopicMetadata& t : alice.Metadata(*handlers_, named, "PLAINTEXT").topics) {
    e[t.name] = t.error;
  }
  EXPECT_EQ(e["payroll"], ErrorCode::kTopicAuthorizationFailed);
  EXPECT_EQ(e["no-such-topic"], ErrorCode::kTopicAuthorizationFailed);
  EXPECT_EQ(e["orders"], ErrorCode::kNone);
  EXPECT_TRUE(created_.empty());
  // With Create on the cluster it may create it.
  SetAcls({Acl(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral, "User:alice",
               AclOperation::kCreate),
           Acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:alice",
               AclOperation::kDescribe)});
  named.topics = std::vector<std::string>{"no-such-topic"};
  Authorized(access_.get(), As("alice")).Metadata(*handlers_, named, "PLAINTEXT");
  ASSERT_EQ(created_.size(), 1u);
  EXPECT_EQ(created_[0].topics.at(0).name, "no-such-topic");
}

TEST_F(AuthorizedTest, IdempotentProducersNeedIdempotentWriteOrWriteOnSomeTopic) {
  InitProducerIdRequest req;
  std::optional<InitProducerIdResponse> out;
  Authorized(access_.get(), As("bob"))
      .InitProducerId(*handlers_, req, [&](InitProducerIdResponse r) { out = std::move(r); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->error, ErrorCode::kClusterAuthorizationFailed);
  out.reset();
  // alice writes "orders": enough (Kafka 3.x); no id block here, so the
  // handler's own answer (not an authorization error) comes back.
  Authorized(access_.get(), As("alice"))
      .InitProducerId(*handlers_, req, [&](InitProducerIdResponse r) { out = std::move(r); });
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->error, ErrorCode::kClusterAuthorizationFailed);
  // A transactional id needs Write on it.
  req.transactional_id = "tx-1";
  out.reset();
  Authorized(access_.get(), As("alice"))
      .InitProducerId(*handlers_, req, [&](InitProducerIdResponse r) { out = std::move(r); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->error, ErrorCode::kTransactionalIdAuthorizationFailed);
}

TEST_F(AuthorizedTest, FindCoordinatorAnswersEachKeyInOrder) {
  SetAcls({Acl(ResourceType::kGroup, "app-", PatternType::kPrefixed, "User:alice",
               AclOperation::kRead)});
  FindCoordinatorRequest req;
  req.key_type = 0;
  req.keys = {"other", "app-1"};
  std::vector<CoordinatorResult> r =
      Authorized(access_.get(), As("alice")).FindCoordinator(*handlers_, req, "PLAINTEXT");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].key, "other");
  EXPECT_EQ(r[0].error, ErrorCode::kGroupAuthorizationFailed);
  EXPECT_EQ(r[1].key, "app-1");
  EXPECT_NE(r[1].error, ErrorCode::kGroupAuthorizationFailed);
}

TEST_F(AuthorizedTest, ListOffsetsAndListTopicsNeedDescribe) {
  Authorized bob(access_.get(), As("bob"));
  EXPECT_TRUE(bob.ListTopics(*handlers_, false).empty());
  ListOffsetsRequest lo;
  lo.topics.push_back({"orders", {{0, -1}}});
  ListOffsetsResponse r = bob.ListOffsets(*handlers_, lo);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].partitions.at(0).error, ErrorCode::kTopicAuthorizationFailed);
  EXPECT_EQ(Authorized(access_.get(), As("alice")).ListTopics(*handlers_, false),
            (std::vector<std::string>{"orders", "orders-eu"}));
}

// DescribeLogDirs, as Kafka: Describe on the cluster, else the call's
// error and no log dirs (topic ACLs do not matter).
TEST_F(AuthorizedTest, DescribeLogDirsNeedsDescribeOnTheCluster) {
  DescribeLogDirsResponse refused =
      Authorized(access_.get(), As("alice")).DescribeLogDirs(*handlers_, {});
  EXPECT_EQ(refused.error, ErrorCode::kClusterAuthorizationFailed);
  EXPECT_TRUE(refused.results.empty());
  DescribeLogDirsResponse admin =
      Authorized(access_.get(), As("admin")).DescribeLogDirs(*handlers_, {});
  EXPECT_EQ(admin.error, ErrorCode::kNone);
  ASSERT_EQ(admin.results.size(), 1u);
  EXPECT_EQ(admin.results[0].topics.size(), 4u);

  SetAcls({Acl(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral, "User:bob",
               AclOperation::kDescribe)});
  EXPECT_EQ(Authorized(access_.get(), As("bob")).DescribeLogDirs(*handlers_, {}).error,
            ErrorCode::kNone);
}

// ---- the throttler ----

TEST(ThrottlerTest, HoldsAnswersOfAClientOverItsQuota) {
  ManualClock clock;
  const security::ClientQuotaManager::Options options{.num_windows = 11, .window_ms = 1000};
  Throttler throttler(options, &clock);
  // The same records in a manager of its own say how long each answer
  // must be held.
  security::ClientQuotaManager expected(options);
  const std::vector<std::pair<security::QuotaEntity, std::map<std::string, double>>> quotas = {
      {security::QuotaEntity::User("alice"), {{"producer_byte_rate", 1000}}}};
  security::Session alice = As("alice");
  // No quota: nothing held.
  EXPECT_EQ(throttler.Record(security::QuotaType::kProduce, alice, 1e9), 0);
  throttler.SetQuotas(quotas);
  expected.SetQuotas(quotas);
  int64_t held = 0;
  for (int i = 0; i < 10 && held == 0; ++i) {
    held = throttler.Record(security::QuotaType::kProduce, alice, 2000);
    EXPECT_EQ(held, expected.RecordAndGetThrottleMs(security::QuotaType::kProduce, "alice", "",
                                                    2000, clock.NowMs()));
  }
  EXPECT_GT(held, 0);
  // bob has no quota.
  EXPECT_EQ(throttler.Record(security::QuotaType::kProduce, As("bob"), 1e9), 0);

  // A held answer carries throttle_time_ms and goes out when, and only
  // when, that time has passed.
  const int64_t hold = expected.RecordAndGetThrottleMs(security::QuotaType::kProduce, "alice", "",
                                                       2000, clock.NowMs());
  ASSERT_GT(hold, 1);
  std::atomic<int> answered{0};
  std::atomic<int32_t> throttle{-1};
  auto done = Throttled<ProduceResponse>(
      &throttler, security::QuotaType::kProduce, alice,
      [](const ProduceResponse&) { return 2000.0; },
      [&](ProduceResponse r) {
        throttle = r.throttle_time_ms;
        ++answered;
      });
  done(ProduceResponse{});
  clock.AdvanceMs(hold - 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(answered.load(), 0) << "released before its " << hold << " ms";
  clock.AdvanceMs(1);
  for (int i = 0; i < 100 && answered.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answered.load(), 1);
  EXPECT_EQ(throttle.load(), hold);
}

TEST(ThrottlerTest, StopAnswersWhatIsHeld) {
  ManualClock clock;
  Throttler throttler({}, &clock);
  int answered = 0;
  throttler.After(60000, [&] { ++answered; });
  EXPECT_EQ(answered, 0);
  throttler.Stop();
  EXPECT_EQ(answered, 1);
  throttler.After(60000, [&] { ++answered; });  // after Stop: at once
  EXPECT_EQ(answered, 2);
}

}  // namespace
}  // namespace strata::request
