// AdminRouter against an in-process fake controller: what it decides here
// and what it forwards, how a forward that fails is answered, and the wait
// for this node's image (answered when the image shows the change, or at
// the bound, without a thread waiting). Time is a ManualClock; the
// purgatory's reaper is off and the tests expire what is due.
#include "broker/server/admin_router.h"

#include <optional>

#include "absl/synchronization/mutex.h"
#include "broker/metadata/controller.h"
#include "broker/server/admin_codec.h"
#include "gtest/gtest.h"
#include "tests/unit/server/fake_controller.h"

namespace strata::server {
namespace {

constexpr int32_t kController = 1;
constexpr int32_t kSelf = 2;

raft::Entry EntryOf(uint64_t index, const internal::MetadataRecordBatch& batch) {
  return raft::Entry{raft::Term(1), raft::Index(index), batch.SerializeAsString()};
}

internal::MetadataRecordBatch TopicBatch(const std::string& name, const std::string& id) {
  internal::MetadataRecordBatch batch;
  internal::TopicRecord* t = batch.add_records()->mutable_topic();
  t->set_name(name);
  t->set_topic_id(id);
  return batch;
}

// Decides CreateTopics here (this node is the controller), recording calls.
class RecordingLocalController final : public AdminRouter::LocalController {
 public:
  void CreateTopics(metadata::CreateTopicsRequest r,
                    std::function<void(metadata::CreateTopicsResponse)> done) override {
    metadata::CreateTopicsResponse out;
    for (const metadata::NewTopic& t : r.topics) {
      metadata::TopicResult& result = out.results.emplace_back();
      result.name = t.name;
      result.num_partitions = 3;
      result.replication_factor = 1;
    }
    {
      absl::MutexLock l(&mu_);
      create_topics_.push_back(std::move(r));
    }
    done(std::move(out));
  }
  void DeleteTopics(metadata::DeleteTopicsRequest,
                    std::function<void(metadata::DeleteTopicsResponse)> done) override {
    done({});
  }
  void CreatePartitions(metadata::CreatePartitionsRequest,
                        std::function<void(metadata::CreatePartitionsResponse)> done) override {
    done({});
  }
  void ElectLeaders(metadata::ElectLeadersRequest,
                    std::function<void(metadata::ElectLeadersResponse)> done) override {
    done({});
  }
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) override {
    done({});
  }
  void UnregisterBroker(metadata::UnregisterBrokerRequest,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override {
    done({});
  }
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    done({});
  }
  // Decided by a real controller against an empty image; the records it
  // wrote are kept for the test to apply.
  void AlterSecurity(metadata::AlterSecurityRequest request,
                     std::function<void(metadata::AlterSecurityResponse)> done) override {
    metadata::Controller controller{metadata::ControllerOptions{}};
    metadata::Decision<metadata::AlterSecurityResponse> d =
        controller.AlterSecurity(*metadata::MetadataImage::Empty("cluster-x"), request);
    {
      absl::MutexLock l(&mu_);
      security_records_.push_back(d.records);
    }
    done(std::move(d.response));
  }
  std::vector<internal::MetadataRecordBatch> security_records() const {
    absl::MutexLock l(&mu_);
    return security_records_;
  }

  std::vector<metadata::CreateTopicsRequest> create_topics() const {
    absl::MutexLock l(&mu_);
    return create_topics_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<metadata::CreateTopicsRequest> create_topics_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::MetadataRecordBatch> security_records_ ABSL_GUARDED_BY(mu_);
};

// One answer, delivered on whichever thread brings it.
template <typename Response>
class Answer {
 public:
  std::function<void(Response)> Callback() {
    return [this](Response r) {
      absl::MutexLock l(&mu_);
      EXPECT_FALSE(value_.has_value()) << "answered twice";
      value_ = std::move(r);
      ++count_;
    };
  }
  bool has_value() const {
    absl::MutexLock l(&mu_);
    return value_.has_value();
  }
  Response value() const {
    absl::MutexLock l(&mu_);
    return *value_;
  }
  // Waits (bounded) for it.
  bool Await() const {
    return Eventually([this] { return has_value(); });
  }

 private:
  mutable absl::Mutex mu_;
  std::optional<Response> value_ ABSL_GUARDED_BY(mu_);
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

metadata::CreateTopicsRequest NewTopicRequest(const std::string& name) {
  metadata::CreateTopicsRequest r;
  metadata::NewTopic& t = r.topics.emplace_back();
  t.name = name;
  t.num_partitions = 3;
  t.replication_factor = 1;
  t.configs = {{"cleanup.policy", "compact"}};
  t.assignments = {};
  r.timeout_ms = 1234;
  return r;
}

class AdminRouterTest : public ::testing::Test {
 protected:
  AdminRouterTest()
      : metadata_("cluster-x"),
        purgatory_(&clock_, "admin-test", purgatory::Purgatory::Options{.start_reaper = false}),
        channel_({{kController, fake_.channel()}}, [this] { return controller_id_.load(); }) {}

  // A router on node `self`; `local` when it can decide.
  std::unique_ptr<AdminRouter> Router(
      int32_t self, std::unique_ptr<AdminRouter::LocalController> local = nullptr,
      std::chrono::milliseconds forward_timeout = std::chrono::seconds(30)) {
    AdminRouter::Options options;
    options.node_id = self;
    options.forward_timeout = forward_timeout;
    return std::make_unique<AdminRouter>(std::move(options), &metadata_, std::move(local),
                                         &channel_, &purgatory_, &clock_);
  }

  // The fake controller creates every topic asked for.
  void ControllerCreatesTopics() {
    fake_.OnCreateTopics(
        [](bool, const v1::CreateTopicsRequest& req, v1::CreateTopicsResponse* resp) {
          for (const v1::NewTopic& t : req.topics()) {
            v1::TopicResult* r = resp->add_results();
            r->set_name(t.name());
            r->set_topic_id("AAAAAAAAAAAAAAAAAAAAAA");
            r->set_num_partitions(t.num_partitions());
            r->set_replication_factor(t.replication_factor());
          }
          return grpc::Status::OK;
        });
  }

  FakeController fake_;
  ManualClock clock_;
  MetadataStateMachine metadata_;
  purgatory::Purgatory purgatory_;
  std::atomic<int32_t> controller_id_{kController};
  ControllerChannel channel_;
};

TEST_F(AdminRouterTest, ForwardsToTheControllerAndAnswersWhenTheImageShowsTheChange) {
  ControllerCreatesTopics();
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  metadata::CreateTopicsRequest request = NewTopicRequest("orders");
  request.internal = true;  // a client's: ignored
  Answer<metadata::CreateTopicsResponse> answer;
  router->CreateTopics(request, answer.Callback());

  // Forwarded as a client would send it, field for field.
  ASSERT_TRUE(Eventually([&] { return fake_.create_topics().size() == 1; }));
  EXPECT_EQ(fake_.admin_calls(), std::vector<std::string>{"CreateTopics"});
  const v1::CreateTopicsRequest sent = fake_.create_topics()[0];
  ASSERT_EQ(sent.topics_size(), 1);
  EXPECT_EQ(sent.topics(0).name(), "orders");
  EXPECT_EQ(sent.topics(0).num_partitions(), 3);
  EXPECT_EQ(sent.topics(0).configs().at("cleanup.policy"), "compact");
  EXPECT_EQ(sent.timeout_ms(), 1234);

  // The controller said yes, but this node's image has no "orders" yet:
  // parked, no thread waiting.
  ASSERT_TRUE(Eventually([&] { return purgatory_.Pending() == 1; }));
  EXPECT_FALSE(answer.has_value());

  // An unrelated image does not answer it; the one with the topic does
  // (on the thread that published it, or on the forward's thread if its
  // second look at the image came after: either way, at once).
  metadata_.Apply(EntryOf(1, TopicBatch("other", "BBBBBBBBBBBBBBBBBBBBBB")));
  EXPECT_FALSE(answer.has_value());
  metadata_.Apply(EntryOf(2, TopicBatch("orders", "AAAAAAAAAAAAAAAAAAAAAA")));
  ASSERT_TRUE(answer.Await());
  ASSERT_EQ(answer.value().results.size(), 1u);
  EXPECT_EQ(answer.value().results[0].error, ErrorCode::kNone);
  EXPECT_EQ(answer.value().results[0].topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(purgatory_.Pending(), 0);
}

TEST_F(AdminRouterTest, AnswersAtTheBoundWhenTheImageNeverShowsTheChange) {
  ControllerCreatesTopics();
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  Answer<metadata::CreateTopicsResponse> answer;
  router->CreateTopics(NewTopicRequest("orders"), answer.Callback());
  ASSERT_TRUE(Eventually([&] { return purgatory_.Pending() == 1; }));

  clock_.AdvanceMs(2999);
  EXPECT_EQ(purgatory_.ExpireDue(), 0);
  EXPECT_FALSE(answer.has_value());
  clock_.AdvanceMs(1);
  EXPECT_EQ(purgatory_.ExpireDue(), 1);
  // The controller's answer, as it came.
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer.value().results.size(), 1u);
  EXPECT_EQ(answer.value().results[0].error, ErrorCode::kNone);
}

TEST_F(AdminRouterTest, ImageThatAlreadyShowsTheChangeAnswersAtOnce) {
  ControllerCreatesTopics();
  metadata_.Apply(EntryOf(1, TopicBatch("orders", "AAAAAAAAAAAAAAAAAAAAAA")));
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  Answer<metadata::CreateTopicsResponse> answer;
  router->CreateTopics(NewTopicRequest("orders"), answer.Callback());
  ASSERT_TRUE(answer.Await());
  EXPECT_EQ(purgatory_.Pending(), 0);
}

TEST_F(AdminRouterTest, DecidesHereWhenThisNodeIsTheController) {
  auto local = std::make_unique<RecordingLocalController>();
  RecordingLocalController* decided = local.get();
  std::unique_ptr<AdminRouter> router = Router(kController, std::move(local));
  Answer<metadata::CreateTopicsResponse> answer;
  router->CreateTopics(NewTopicRequest("orders"), answer.Callback());
  ASSERT_EQ(decided->create_topics().size(), 1u);
  EXPECT_FALSE(decided->create_topics()[0].internal);
  EXPECT_TRUE(fake_.admin_calls().empty());
  // Waits for the image as a forwarded call does.
  EXPECT_FALSE(answer.has_value());
  metadata_.Apply(EntryOf(1, TopicBatch("orders", "AAAAAAAAAAAAAAAAAAAAAA")));
  ASSERT_TRUE(answer.has_value());

  // validate_only changes nothing: answered at once.
  Answer<metadata::CreateTopicsResponse> validated;
  metadata::CreateTopicsRequest validate = NewTopicRequest("payments");
  validate.validate_only = true;
  router->CreateTopics(validate, validated.Callback());
  EXPECT_TRUE(validated.has_value());
  EXPECT_TRUE(decided->create_topics()[1].validate_only);
}

TEST_F(AdminRouterTest, TopicsTheBrokerCreatesItselfAreAnsweredWhenDecided) {
  ControllerCreatesTopics();
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  Answer<metadata::CreateTopicsResponse> internal;
  router->CreateInternalTopics(NewTopicRequest("__consumer_offsets"), internal.Callback());
  ASSERT_TRUE(internal.Await());
  Answer<metadata::CreateTopicsResponse> automatic;
  router->AutoCreateTopics(NewTopicRequest("clicks"), automatic.Callback());
  ASSERT_TRUE(automatic.Await());
  EXPECT_EQ(fake_.admin_calls(),
            (std::vector<std::string>{"CreateInternalTopics", "CreateTopics"}));
  EXPECT_EQ(purgatory_.Pending(), 0);
}

TEST_F(AdminRouterTest, NoControllerOrAFailedForwardFailsTheCallWhole) {
  // A forward timeout long enough for a first connection on a loaded
  // machine; the timeout case below has a router of its own.
  std::unique_ptr<AdminRouter> router = Router(kSelf, nullptr, std::chrono::seconds(30));
  controller_id_ = -1;
  Answer<metadata::CreateTopicsResponse> none;
  router->CreateTopics(NewTopicRequest("orders"), none.Callback());
  ASSERT_TRUE(none.has_value());
  ASSERT_EQ(none.value().results.size(), 1u);
  EXPECT_EQ(none.value().results[0].error, ErrorCode::kNotController);
  EXPECT_EQ(none.value().results[0].error_message, "no controller is elected yet; retry shortly");

  controller_id_ = kController;
  fake_.OnCreateTopics([](bool, const v1::CreateTopicsRequest&, v1::CreateTopicsResponse*) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  });
  Answer<metadata::CreateTopicsResponse> down;
  router->CreateTopics(NewTopicRequest("orders"), down.Callback());
  ASSERT_TRUE(down.Await());
  EXPECT_EQ(down.value().results[0].error, ErrorCode::kNotController);
  EXPECT_EQ(down.value().results[0].error_message, "the controller (node 1) did not answer: down");

  // A forward that timed out may have committed.
  fake_.OnCreateTopics([](bool, const v1::CreateTopicsRequest&, v1::CreateTopicsResponse*) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return grpc::Status::OK;
  });
  std::unique_ptr<AdminRouter> impatient = Router(kSelf, nullptr, std::chrono::milliseconds(200));
  Answer<metadata::CreateTopicsResponse> slow;
  impatient->CreateTopics(NewTopicRequest("orders"), slow.Callback());
  ASSERT_TRUE(slow.Await());
  EXPECT_EQ(slow.value().results[0].error, ErrorCode::kRequestTimedOut);
}

TEST_F(AdminRouterTest, ConfigsTravelAsIncrementalAlterConfigs) {
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  // A client may not set replace_all.
  metadata::IncrementalAlterConfigsRequest replace;
  replace.replace_all = true;
  replace.resources.push_back(
      {.type = metadata::ConfigResourceType::kTopic, .name = "orders", .ops = {}});
  Answer<metadata::IncrementalAlterConfigsResponse> refused;
  router->IncrementalAlterConfigs(replace, refused.Callback());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused.value().error, ErrorCode::kInvalidRequest);
  EXPECT_TRUE(fake_.admin_calls().empty());

  // Legacy AlterConfigs: SETs with replace_all, whatever the ops said.
  metadata::IncrementalAlterConfigsRequest legacy;
  legacy.resources.push_back(
      {.type = metadata::ConfigResourceType::kTopic,
       .name = "orders",
       .ops = {
           {.name = "retention.ms", .op = metadata::AlterConfigOpType::kDelete, .value = "1000"}}});
  fake_.OnIncrementalAlterConfigs(
      [](const v1::IncrementalAlterConfigsRequest& req, v1::IncrementalAlterConfigsResponse* resp) {
        for (const v1::AlterConfigsResource& r : req.resources()) {
          v1::AlterConfigsResourceResponse* o = resp->add_responses();
          o->set_resource_type(r.resource_type());
          o->set_resource_name(r.resource_name());
          o->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        }
        return grpc::Status::OK;
      });
  Answer<metadata::IncrementalAlterConfigsResponse> altered;
  router->AlterConfigs(legacy, altered.Callback());
  ASSERT_TRUE(altered.Await());
  ASSERT_EQ(fake_.alter_configs().size(), 1u);
  const v1::IncrementalAlterConfigsRequest sent = fake_.alter_configs()[0];
  EXPECT_TRUE(sent.replace_all());
  ASSERT_EQ(sent.resources_size(), 1);
  EXPECT_EQ(sent.resources(0).resource_type(), v1::CONFIG_RESOURCE_TOPIC);
  ASSERT_EQ(sent.resources(0).configs_size(), 1);
  EXPECT_EQ(sent.resources(0).configs(0).op(), v1::CONFIG_SET);
  EXPECT_EQ(sent.resources(0).configs(0).value(), "1000");
  // A failed change waits for nothing.
  ASSERT_EQ(altered.value().results.size(), 1u);
  EXPECT_EQ(altered.value().results[0].error, ErrorCode::kUnknownTopicOrPartition);
}

TEST_F(AdminRouterTest, ElectingNoPartitionsIsAnsweredAtOnce) {
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  metadata::ElectLeadersRequest request;
  request.topic_partitions.emplace();
  Answer<metadata::ElectLeadersResponse> answer;
  router->ElectLeaders(request, answer.Callback());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer.value().error, ErrorCode::kNone);
  EXPECT_TRUE(answer.value().results.empty());
  EXPECT_TRUE(fake_.admin_calls().empty());
}

TEST_F(AdminRouterTest, DescribeConfigsRefusesWhatItCannotDescribe) {
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  request::DescribeConfigsRequest request;
  request.resources.push_back(
      {.type = metadata::ConfigResourceType::kBroker, .name = "x", .keys = {}});
  request.resources.push_back(
      {.type = metadata::ConfigResourceType::kUnknown, .name = "y", .keys = {}});
  request.resources.push_back(
      {.type = metadata::ConfigResourceType::kTopic, .name = "nope", .keys = {}});
  Answer<request::DescribeConfigsResponse> answer;
  router->DescribeConfigs(request, answer.Callback());
  ASSERT_TRUE(answer.has_value());
  const request::DescribeConfigsResponse r = answer.value();
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.results[1].error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.results[2].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(r.results[2].message, "Topic 'nope' does not exist.");
}

// --- Security (issue 16) ---

security::AclBinding TopicAcl(const std::string& topic) {
  return security::AclBinding{
      {security::ResourceType::kTopic, topic, security::PatternType::kLiteral},
      {"User:alice", "*", security::AclOperation::kWrite, security::AclPermissionType::kAllow}};
}

TEST_F(AdminRouterTest, SecurityWritesAreDecidedHereAndAnsweredWhenTheImageShowsThem) {
  auto local = std::make_unique<RecordingLocalController>();
  RecordingLocalController* decided = local.get();
  std::unique_ptr<AdminRouter> router = Router(kController, std::move(local));
  Answer<metadata::CreateAclsResponse> answer;
  router->CreateAcls({.creations = {TopicAcl("orders")}}, answer.Callback());
  ASSERT_EQ(decided->security_records().size(), 1u);
  EXPECT_FALSE(answer.has_value()) << "waits for this node's image";
  metadata_.Apply(EntryOf(1, decided->security_records()[0]));
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer.value().results.size(), 1u);
  EXPECT_EQ(answer.value().results[0].error, ErrorCode::kNone);

  // The read answers from the image at once.
  metadata::DescribeAclsResponse described =
      router->DescribeAcls({.filter = security::AclBindingFilter::Any()});
  EXPECT_EQ(described.bindings, std::vector<security::AclBinding>{TopicAcl("orders")});
  EXPECT_EQ(router->DescribeUserScramCredentials({}).results.size(), 0u);
  EXPECT_EQ(router->DescribeClientQuotas({}).entries.size(), 0u);
}

TEST_F(AdminRouterTest, SecurityWritesAreForwardedAsAlterSecurity) {
  std::unique_ptr<AdminRouter> router = Router(kSelf);
  fake_.OnAlterSecurity(
      [](const internal::AlterSecurityRequest& req, internal::AlterSecurityResponse* resp) {
        EXPECT_TRUE(req.has_alter_client_quotas());
        v1::ClientQuotaAlterationResult* r = resp->mutable_alter_client_quotas()->add_entries();
        r->set_error(v1::INVALID_REQUEST);
        r->set_error_message("Invalid configuration key bogus");
        return grpc::Status::OK;
      });
  metadata::AlterClientQuotasRequest request;
  request.entries.push_back(
      {.entity = {{metadata::kQuotaEntityUser, "alice"}}, .ops = {{"bogus", 1.0}}});
  Answer<metadata::AlterClientQuotasResponse> answer;
  router->AlterClientQuotas(request, answer.Callback());
  ASSERT_TRUE(answer.Await());
  ASSERT_EQ(answer.value().results.size(), 1u);
  EXPECT_EQ(answer.value().results[0].error, ErrorCode::kInvalidRequest);
  ASSERT_EQ(fake_.alter_security().size(), 1u);
  const v1::AlterClientQuotasRequest sent = fake_.alter_security()[0].alter_client_quotas();
  ASSERT_EQ(sent.entries_size(), 1);
  EXPECT_EQ(sent.entries(0).entity(0).entity_name(), "alice");
  EXPECT_EQ(sent.entries(0).ops(0).key(), "bogus");

  // A controller that answers another call than the one asked: an error,
  // not a crash.
  fake_.OnAlterSecurity(
      [](const internal::AlterSecurityRequest&, internal::AlterSecurityResponse* resp) {
        resp->mutable_create_acls();
        return grpc::Status::OK;
      });
  Answer<metadata::DeleteAclsResponse> wrong;
  router->DeleteAcls({.filters = {security::AclBindingFilter::Any()}}, wrong.Callback());
  ASSERT_TRUE(wrong.Await());
  EXPECT_EQ(wrong.value().error, ErrorCode::kUnknownServerError);

  // No controller: NOT_CONTROLLER for the call as a whole, in its own case.
  controller_id_ = -1;
  Answer<metadata::AlterUserScramCredentialsResponse> none;
  router->AlterUserScramCredentials({}, none.Callback());
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none.value().error, ErrorCode::kNotController);
}

TEST(AdminCodecTest, SecurityMessagesTravelFieldForField) {
  metadata::AlterUserScramCredentialsRequest scram;
  scram.deletions.push_back({.user = "bob", .mechanism = 2});
  scram.upsertions.push_back({.user = "alice",
                              .mechanism = 1,
                              .iterations = 8192,
                              .salt = std::string("s\0alt", 5),
                              .salted_password = "pw"});
  metadata::AlterSecurityRequest back = Decode(Encode(metadata::AlterSecurityRequest{.op = scram}));
  const auto& got = std::get<metadata::AlterUserScramCredentialsRequest>(back.op);
  ASSERT_EQ(got.upsertions.size(), 1u);
  EXPECT_EQ(got.upsertions[0].salt, std::string("s\0alt", 5));
  EXPECT_EQ(got.upsertions[0].iterations, 8192);
  EXPECT_EQ(got.deletions[0].mechanism, 2);

  security::AclBindingFilter filter;
  filter.type = security::ResourceType::kTopic;
  filter.name = "orders";
  filter.pattern_type = security::PatternType::kMatch;
  filter.host = "10.0.0.1";
  v1::AclBindingFilter wire;
  Encode(filter, &wire);
  security::AclBindingFilter decoded = Decode(wire);
  EXPECT_EQ(decoded.name, filter.name);
  EXPECT_EQ(decoded.pattern_type, filter.pattern_type);
  EXPECT_FALSE(decoded.principal.has_value()) << "absent stays absent (any)";
  EXPECT_EQ(decoded.host, filter.host);
  // A code nobody knows is UNKNOWN, which validation refuses.
  wire.set_operation(99);
  EXPECT_EQ(Decode(wire).operation, security::AclOperation::kUnknown);

  metadata::AlterClientQuotasRequest quotas;
  quotas.validate_only = true;
  quotas.entries.push_back({.entity = {{"user", std::nullopt}, {"client-id", "app"}},
                            .ops = {{"producer_byte_rate", 1024.0}, {"request_percentage", {}}}});
  const auto q = Decode(Encode(quotas));
  EXPECT_TRUE(q.validate_only);
  EXPECT_EQ(q.entries[0].entity, quotas.entries[0].entity);
  EXPECT_EQ(q.entries[0].ops[0].value, 1024.0);
  EXPECT_FALSE(q.entries[0].ops[1].value.has_value());

  // DescribeAcls answers are grouped by resource pattern.
  metadata::DescribeAclsResponse acls;
  security::AclBinding other = TopicAcl("orders");
  other.entry.principal = "User:bob";
  acls.bindings = {TopicAcl("orders"), other, TopicAcl("payments")};
  v1::DescribeAclsResponse out;
  Encode(acls, &out);
  ASSERT_EQ(out.resources_size(), 2);
  EXPECT_EQ(out.resources(0).acls_size(), 2);
  EXPECT_EQ(out.resources(1).resource_name(), "payments");
}

}  // namespace
}  // namespace strata::server
