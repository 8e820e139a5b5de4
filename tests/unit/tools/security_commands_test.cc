// `strata acls` and `strata configs --entity-type users|clients` (issue 16):
// Kafka's argument checks and messages, its output lines, the values it
// prints as Java does, and the commands' calls against a scripted Admin
// service that keeps ACLs, quotas and SCRAM credentials in memory.
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/v1/admin.grpc.pb.h"
#include "tools/acls_command.h"
#include "tools/config_command.h"

namespace strata::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- acls: arguments ---

AclCommandOptions Acls() {
  AclCommandOptions o;
  o.bootstrap_server = "localhost:9092";
  return o;
}

std::string Error(const AclCommandOptions& o) {
  absl::Status s = ValidateAclCommandOptions(o);
  return s.ok() ? "OK" : std::string(s.message());
}

TEST(AclOptionsTest, KafkasChecksAndMessages) {
  AclCommandOptions o = Acls();
  EXPECT_EQ(Error(o), "Command must include exactly one action: --list, --add, --remove. ");
  o.list = true;
  EXPECT_EQ(Error(o), "OK");
  o.allow_principals = {"User:a"};
  EXPECT_EQ(Error(o), "Option \"[list]\" can't be used with option \"[allow-principal]\"");
  o = Acls();
  o.add = true;
  o.producer = true;
  o.operations = {"Read"};
  EXPECT_EQ(Error(o), "Option \"[producer]\" can't be used with option \"[operation]\"");
  o.operations.clear();
  EXPECT_EQ(Error(o), "With --producer you must specify a --topic");
  o.topics = {"t"};
  EXPECT_EQ(Error(o), "OK");
  o.producer = false;
  o.idempotent = true;
  EXPECT_EQ(Error(o), "The --idempotent option is only available if --producer is set");
  o.idempotent = false;
  o.consumer = true;
  EXPECT_EQ(Error(o),
            "With --consumer you must specify a --topic and a --group and no --cluster or "
            "--transactional-id option should be specified.");
  o.groups = {"g"};
  EXPECT_EQ(Error(o), "OK");
  o = Acls();
  o.add = true;
  o.list_principals = {"User:a"};
  EXPECT_EQ(Error(o), "The --principal option is only available if --list is set");
  o = Acls();
  o.bootstrap_server.reset();
  o.list = true;
  EXPECT_EQ(Error(o), "One of --bootstrap-server or --bootstrap-controller must be specified");
  o = Acls();
  o.list = true;
  o.resource_pattern_type = "weird";
  EXPECT_EQ(Error(o), "Unknown resource-pattern-type: weird");
  o.resource_pattern_type = "Prefixed";
  EXPECT_EQ(*PatternTypeOf(o), 4);
}

TEST(AclOptionsTest, AclsForEachResourceAreKafkas) {
  AclCommandOptions o = Acls();
  o.add = true;
  o.topics = {"t1", " t2 "};
  o.cluster = true;
  o.allow_principals = {"User:alice", "User:bob"};
  o.deny_principals = {"User:mallory"};
  o.deny_hosts = {"10.0.0.9"};
  o.operations = {"Write", "describe"};
  auto acls = FilterToAcls(o);
  EXPECT_EQ(acls.status().message(),
            "ResourceType CLUSTER only supports operations Create, ClusterAction, "
            "DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe, All");
  o.cluster = false;
  acls = FilterToAcls(o);
  ASSERT_TRUE(acls.ok()) << acls.status();
  ASSERT_EQ(acls->size(), 2u);
  EXPECT_EQ((*acls)[1].first.resource_name(), "t2") << "trimmed";
  const std::vector<AclEntry>& entries = (*acls)[0].second;
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(AclEntryText(entries[0]),
            "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)");
  EXPECT_EQ(AclEntryText(entries[5]),
            "(principal=User:mallory, host=10.0.0.9, operation=DESCRIBE, permissionType=DENY)");

  // --producer: Write, Describe, Create on topics, IdempotentWrite on the
  // cluster; --consumer joins Read, Describe on the same topics.
  o = Acls();
  o.add = true;
  o.producer = true;
  o.consumer = true;
  o.idempotent = true;
  o.topics = {"t"};
  o.groups = {"g"};
  o.transactional_ids = {"tx"};
  o.allow_principals = {"User:app"};
  acls = FilterToAcls(o);
  ASSERT_TRUE(acls.ok()) << acls.status();
  std::vector<std::string> summary;
  for (const auto& [f, e] : *acls) {
    std::vector<std::string> ops;
    for (const AclEntry& a : e) ops.push_back(std::to_string(a.operation));
    summary.push_back(f.resource_name() + ":" + absl::StrJoin(ops, ","));
  }
  EXPECT_THAT(summary, ElementsAre("t:4,8,5,3", "tx:4,8", "kafka-cluster:12", "g:3"));

  o = Acls();
  o.add = true;
  o.topics = {"t"};
  o.allow_principals = {"alice"};
  EXPECT_EQ(FilterToAcls(o).status().message(),
            "expected a string in format principalType:principalName but got alice");
  o = Acls();
  o.add = true;
  EXPECT_THAT(std::string(FilterToAcls(o).status().message()),
              HasSubstr("You must provide at least one resource"));
}

TEST(AclFormatTest, LinesAreKafkas) {
  EXPECT_EQ(ResourcePatternText(2, "t1", 3),
            "ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL)");
  EXPECT_EQ(ResourcePatternText(5, "tx-", 4),
            "ResourcePattern(resourceType=TRANSACTIONAL_ID, name=tx-, patternType=PREFIXED)");
  v1::AclBindingFilter f;
  f.set_resource_type(3);
  f.set_resource_name("g");
  f.set_pattern_type(1);
  EXPECT_EQ(ResourceFilterText(f),
            "ResourcePatternFilter(resourceType=GROUP, name=g, patternType=ANY)");
  EXPECT_EQ(AclsBlock("Current ACLs for resource", "R",
                      {{"User:a", "*", 4, 3}, {"User:b", "1.2.3.4", 2, 2}}),
            "Current ACLs for resource `R`: \n"
            " \t(principal=User:a, host=*, operation=WRITE, permissionType=ALLOW)\n"
            "\t(principal=User:b, host=1.2.3.4, operation=ALL, permissionType=DENY) \n\n");
}

// --- configs: Java's numbers and orders ---

TEST(JavaFormatTest, DoublesPrintAsJavaPrintsThem) {
  EXPECT_EQ(JavaDoubleString(5242880), "5242880.0");
  EXPECT_EQ(JavaDoubleString(10485760), "1.048576E7");
  EXPECT_EQ(JavaDoubleString(1e7), "1.0E7");
  EXPECT_EQ(JavaDoubleString(9999999), "9999999.0");
  EXPECT_EQ(JavaDoubleString(0.5), "0.5");
  EXPECT_EQ(JavaDoubleString(0.001), "0.001");
  EXPECT_EQ(JavaDoubleString(0.0001), "1.0E-4");
  EXPECT_EQ(JavaDoubleString(123.25), "123.25");
  EXPECT_EQ(JavaDoubleString(0), "0.0");
  EXPECT_EQ(JavaDoubleString(-2.5), "-2.5");
  EXPECT_EQ(JavaDoubleString(1.5e300), "1.5E300");
}

TEST(JavaFormatTest, HashMapOrderIsJavas) {
  EXPECT_EQ(JavaStringHash("user"), 3599307);
  EXPECT_EQ(JavaStringHash(""), 0);
  // Two entries: a table of 4, by (h ^ h >>> 16) & 3.
  EXPECT_THAT(JavaHashMapOrder({5, 2}), ElementsAre(0, 1));
  EXPECT_THAT(JavaHashMapOrder({6, 1}), ElementsAre(1, 0));
  EXPECT_THAT(JavaHashMapOrder({1, 5}), ElementsAre(0, 1)) << "same bucket: insertion order";
  // Four entries: a table of 8.
  EXPECT_THAT(JavaHashMapOrder({7, 4, 3, 12}), ElementsAre(2, 1, 3, 0));
  EXPECT_THAT(JavaHashMapOrder({0x10000}), ElementsAre(0));
}

TEST(ConfigUsersTest, DescribeLinesAndScramValuesAreKafkas) {
  v1::ClientQuotaEntry e;
  v1::ClientQuotaEntityPart* client = e.add_entity();
  client->set_entity_type("client-id");
  client->set_entity_name("app");
  e.add_entity()->set_entity_type("user");  // the default user
  v1::ClientQuotaValue* v = e.add_values();
  v->set_key("producer_byte_rate");
  v->set_value(5242880);
  EXPECT_EQ(QuotaConfigsLine(e),
            "Quota configs for the default user-principal, client-id 'app' are "
            "producer_byte_rate=5242880.0");

  v1::DescribeUserScramCredentialsResult r;
  r.set_user("alice");
  v1::ScramCredentialInfo* i = r.add_credential_infos();
  i->set_mechanism(v1::SCRAM_SHA_256);
  i->set_iterations(8192);
  i = r.add_credential_infos();
  i->set_mechanism(v1::SCRAM_SHA_512);
  i->set_iterations(4096);
  EXPECT_EQ(ScramConfigsLine(r),
            "SCRAM credential configs for user-principal 'alice' are "
            "SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096");

  auto parsed = ParseScramCredentialConfig("SCRAM-SHA-256", "iterations=8192,password=a,b=c");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->first, 8192);
  EXPECT_EQ(parsed->second, "a,b=c");
  EXPECT_EQ(ParseScramCredentialConfig("SCRAM-SHA-256", "password=pw")->first, 4096);
  EXPECT_EQ(ParseScramCredentialConfig("SCRAM-SHA-256", "iterations=-1,password=pw")->first, 4096);
  EXPECT_EQ(
      ParseScramCredentialConfig("SCRAM-SHA-512", "iterations=100,password=pw").status().message(),
      "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-512");
  EXPECT_EQ(ParseScramCredentialConfig("SCRAM-SHA-256", "pw").status().message(),
            "Invalid credential property SCRAM-SHA-256=pw");
  // RFC 7677's SCRAM-SHA-256 example: "pencil", 4096 iterations.
  EXPECT_EQ(SaltedPassword(v1::SCRAM_SHA_256, "pencil", "", 1).size(), 32u);
  EXPECT_EQ(SaltedPassword(v1::SCRAM_SHA_512, "pencil", "salt", 4096).size(), 64u);
}

TEST(ConfigUsersTest, ArgumentChecksForUsersAndClients) {
  ConfigCommandOptions o;
  o.bootstrap_server = "h:1";
  o.alter = true;
  o.entity_types = {"users", "clients"};
  o.entity_names = {"alice"};
  o.entity_default = true;
  o.add_config = "producer_byte_rate=1";
  EXPECT_TRUE(ValidateConfigCommandOptions(o).ok());
  EXPECT_EQ(EntityNames(o), (std::vector<std::string>{"alice", ""}));
  o.entity_default_position = 0;
  EXPECT_EQ(EntityNames(o), (std::vector<std::string>{"", "alice"}));
  o.entity_types = {"users", "topics"};
  EXPECT_EQ(ValidateConfigCommandOptions(o).message(),
            "Only 'users' and 'clients' entity types may be specified together");

  o = ConfigCommandOptions{};
  o.bootstrap_server = "h:1";
  o.describe = true;
  o.user = "alice";
  o.client_defaults = true;
  EXPECT_TRUE(ValidateConfigCommandOptions(o).ok());
  EXPECT_EQ(EntityTypes(o), (std::vector<std::string>{"users", "clients"}));
  EXPECT_EQ(EntityNames(o), (std::vector<std::string>{"alice", ""}));
}

// --- Against a scripted Admin service ---

using Binding =
    std::tuple<int32_t, std::string, int32_t, std::string, std::string, int32_t, int32_t>;

Binding Key(const v1::AclBinding& b) {
  return {b.resource_type(), b.resource_name(), b.pattern_type(),   b.principal(),
          b.host(),          b.operation(),     b.permission_type()};
}

bool Matches(const v1::AclBindingFilter& f, const Binding& b) {
  const auto& [type, name, pattern, principal, host, op, permission] = b;
  return (f.resource_type() == 1 || f.resource_type() == type) &&
         (!f.has_resource_name() || f.resource_name() == name) &&
         (f.pattern_type() == 1 || f.pattern_type() == pattern) &&
         (!f.has_principal() || f.principal() == principal) &&
         (!f.has_host() || f.host() == host) && (f.operation() == 1 || f.operation() == op) &&
         (f.permission_type() == 1 || f.permission_type() == permission);
}

// Keeps ACLs, quotas (one entity key: "user=alice|client-id=<default>")
// and SCRAM iterations in memory; records the salted upsertions.
class SecurityAdmin final : public v1::Admin::Service {
 public:
  grpc::Status CreateAcls(grpc::ServerContext*, const v1::CreateAclsRequest* request,
                          v1::CreateAclsResponse* response) override {
    absl::MutexLock l(&mu_);
    for (const v1::AclBinding& b : request->creations()) {
      v1::AclCreationResult* r = response->add_results();
      if (b.operation() == 0) {
        r->set_error(v1::INVALID_REQUEST);
        r->set_error_message("Invalid operation UNKNOWN");
        continue;
      }
      acls_.insert(Key(b));
    }
    return grpc::Status::OK;
  }
  grpc::Status DescribeAcls(grpc::ServerContext*, const v1::DescribeAclsRequest* request,
                            v1::DescribeAclsResponse* response) override {
    absl::MutexLock l(&mu_);
    v1::DescribeAclsResource* resource = nullptr;
    for (const Binding& b : acls_) {
      if (!Matches(request->filter(), b)) continue;
      const auto& [type, name, pattern, principal, host, op, permission] = b;
      if (resource == nullptr || resource->resource_type() != type ||
          resource->resource_name() != name || resource->pattern_type() != pattern) {
        resource = response->add_resources();
        resource->set_resource_type(type);
        resource->set_resource_name(name);
        resource->set_pattern_type(pattern);
      }
      v1::AclDescription* d = resource->add_acls();
      d->set_principal(principal);
      d->set_host(host);
      d->set_operation(op);
      d->set_permission_type(permission);
    }
    return grpc::Status::OK;
  }
  grpc::Status DeleteAcls(grpc::ServerContext*, const v1::DeleteAclsRequest* request,
                          v1::DeleteAclsResponse* response) override {
    absl::MutexLock l(&mu_);
    ++delete_calls_;
    for (const v1::AclBindingFilter& f : request->filters()) {
      v1::DeleteAclsFilterResult* r = response->add_filter_results();
      for (auto it = acls_.begin(); it != acls_.end();) {
        if (!Matches(f, *it)) {
          ++it;
          continue;
        }
        r->add_matching_acls();
        it = acls_.erase(it);
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status DescribeClientQuotas(grpc::ServerContext*,
                                    const v1::DescribeClientQuotasRequest* request,
                                    v1::DescribeClientQuotasResponse* response) override {
    absl::MutexLock l(&mu_);
    for (const auto& [entity, values] : quotas_) {
      if (request->components_size() == 1 && request->components(0).match_type() == 0 &&
          entity != "user=" + request->components(0).match()) {
        continue;
      }
      v1::ClientQuotaEntry* e = response->add_entries();
      v1::ClientQuotaEntityPart* p = e->add_entity();
      p->set_entity_type("user");
      p->set_entity_name(entity.substr(5));
      for (const auto& [k, v] : values) {
        v1::ClientQuotaValue* value = e->add_values();
        value->set_key(k);
        value->set_value(v);
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status AlterClientQuotas(grpc::ServerContext*, const v1::AlterClientQuotasRequest* request,
                                 v1::AlterClientQuotasResponse* response) override {
    absl::MutexLock l(&mu_);
    for (const v1::ClientQuotaAlteration& a : request->entries()) {
      v1::ClientQuotaAlterationResult* r = response->add_entries();
      const std::string entity = "user=" + a.entity(0).entity_name();
      for (const v1::ClientQuotaOp& op : a.ops()) {
        if (op.remove()) {
          quotas_[entity].erase(op.key());
        } else {
          quotas_[entity][op.key()] = op.value();
        }
      }
      if (quotas_[entity].empty()) quotas_.erase(entity);
      (void)r;
    }
    return grpc::Status::OK;
  }
  grpc::Status DescribeUserScramCredentials(
      grpc::ServerContext*, const v1::DescribeUserScramCredentialsRequest* request,
      v1::DescribeUserScramCredentialsResponse* response) override {
    absl::MutexLock l(&mu_);
    std::vector<std::string> users(request->users().begin(), request->users().end());
    if (users.empty()) {
      for (const auto& [user, m] : scram_) users.push_back(user);
    }
    for (const std::string& user : users) {
      v1::DescribeUserScramCredentialsResult* r = response->add_results();
      r->set_user(user);
      auto it = scram_.find(user);
      if (it == scram_.end()) {
        r->set_error(v1::RESOURCE_NOT_FOUND);
        continue;
      }
      for (const auto& [mechanism, iterations] : it->second) {
        v1::ScramCredentialInfo* info = r->add_credential_infos();
        info->set_mechanism(static_cast<v1::ScramMechanism>(mechanism));
        info->set_iterations(iterations);
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status AlterUserScramCredentials(grpc::ServerContext*,
                                         const v1::AlterUserScramCredentialsRequest* request,
                                         v1::AlterUserScramCredentialsResponse* response) override {
    absl::MutexLock l(&mu_);
    for (const v1::ScramCredentialDeletion& d : request->deletions()) {
      v1::AlterUserScramCredentialsResult* r = response->add_results();
      r->set_user(d.name());
      if (scram_[d.name()].erase(d.mechanism()) == 0) {
        r->set_error(v1::RESOURCE_NOT_FOUND);
        r->set_error_message("Attempt to delete a user credential that does not exist");
      }
      if (scram_[d.name()].empty()) scram_.erase(d.name());
    }
    for (const v1::ScramCredentialUpsertion& u : request->upsertions()) {
      upsertions_.push_back(u);
      response->add_results()->set_user(u.name());
      scram_[u.name()][u.mechanism()] = u.iterations();
    }
    return grpc::Status::OK;
  }

  size_t acl_count() {
    absl::MutexLock l(&mu_);
    return acls_.size();
  }
  int delete_calls() {
    absl::MutexLock l(&mu_);
    return delete_calls_;
  }
  std::vector<v1::ScramCredentialUpsertion> upsertions() {
    absl::MutexLock l(&mu_);
    return upsertions_;
  }

 private:
  absl::Mutex mu_;
  std::set<Binding> acls_ ABSL_GUARDED_BY(mu_);
  int delete_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::map<std::string, double>> quotas_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<int, int32_t>> scram_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ScramCredentialUpsertion> upsertions_ ABSL_GUARDED_BY(mu_);
};

class SecurityCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    client::AdminConfig config;
    config.bootstrap_servers = "127.0.0.1:" + std::to_string(port);
    config.request_timeout = absl::Seconds(5);
    auto admin = client::Admin::Create(config);
    ASSERT_TRUE(admin.ok());
    admin_ = *std::move(admin);
  }
  void TearDown() override { server_->Shutdown(); }

  int RunAcls(const AclCommandOptions& o, const std::string& input = "") {
    out_.str("");
    err_.str("");
    EXPECT_TRUE(ValidateAclCommandOptions(o).ok()) << ValidateAclCommandOptions(o);
    std::istringstream in(input);
    return RunAclCommand(*admin_, o, in, out_, err_);
  }
  int RunConfigs(const ConfigCommandOptions& o) {
    out_.str("");
    err_.str("");
    EXPECT_TRUE(ValidateConfigCommandOptions(o).ok()) << ValidateConfigCommandOptions(o);
    return RunConfigCommand(*admin_, o, out_, err_);
  }

  SecurityAdmin service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::Admin> admin_;
  std::ostringstream out_, err_;
};

TEST_F(SecurityCommandsTest, AclsAddListAndRemoveAsKafkaAclsPrintsThem) {
  AclCommandOptions add = Acls();
  add.add = true;
  add.topics = {"t1"};
  add.allow_principals = {"User:alice"};
  add.operations = {"Write"};
  ASSERT_EQ(RunAcls(add), 0) << err_.str();
  const std::string current =
      "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t1, "
      "patternType=LITERAL)`: \n"
      " \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW) \n\n";
  EXPECT_EQ(out_.str(),
            "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t1, "
            "patternType=LITERAL)`: \n"
            " \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW) \n\n" +
                current);

  AclCommandOptions list = Acls();
  list.list = true;
  ASSERT_EQ(RunAcls(list), 0) << err_.str();
  EXPECT_EQ(out_.str(), current);
  list.list_principals = {"User:bob"};
  ASSERT_EQ(RunAcls(list), 0);
  EXPECT_EQ(out_.str(), "ACLs for principal `User:bob`\n");

  // Without --force and without an answer on stdin: Kafka's failure, and
  // nothing removed.
  AclCommandOptions remove = Acls();
  remove.remove = true;
  remove.topics = {"t1"};
  EXPECT_EQ(RunAcls(remove), 1);
  EXPECT_EQ(out_.str(),
            "Are you sure you want to delete all ACLs for resource filter "
            "`ResourcePatternFilter(resourceType=TOPIC, name=t1, patternType=LITERAL)`? (y/n)\n");
  EXPECT_THAT(err_.str(), HasSubstr("Error while executing ACL command: "));
  EXPECT_EQ(service_.acl_count(), 1u);
  // "n" keeps them; "y" removes.
  ASSERT_EQ(RunAcls(remove, "n\n"), 0);
  EXPECT_EQ(service_.acl_count(), 1u);
  ASSERT_EQ(RunAcls(remove, "Y\n"), 0) << err_.str();
  EXPECT_EQ(service_.acl_count(), 0u);
  // --force asks nothing; the list after it is empty.
  remove.force = true;
  ASSERT_EQ(RunAcls(remove), 0);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(SecurityCommandsTest, AclAddRefusedByTheServerFailsAsKafkaDoes) {
  AclCommandOptions add = Acls();
  add.add = true;
  add.topics = {"t1"};
  add.allow_principals = {"User:alice"};
  add.operations = {"Bogus"};
  EXPECT_EQ(RunAcls(add), 1);
  EXPECT_THAT(err_.str(), HasSubstr("ResourceType TOPIC only supports operations"));
  EXPECT_EQ(service_.acl_count(), 0u);
}

TEST_F(SecurityCommandsTest, ConfigsAlterAndDescribeQuotasAndScramCredentials) {
  ConfigCommandOptions quota;
  quota.bootstrap_server = "x";
  quota.alter = true;
  quota.entity_types = {"users"};
  quota.entity_names = {"alice"};
  quota.add_config = "producer_byte_rate=5242880,consumer_byte_rate=10485760";
  ASSERT_EQ(RunConfigs(quota), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Completed updating config for user alice.\n");

  ConfigCommandOptions scram = quota;
  scram.add_config = "SCRAM-SHA-256=[iterations=8192,password=alice-secret]";
  ASSERT_EQ(RunConfigs(scram), 0) << err_.str();
  ASSERT_EQ(service_.upsertions().size(), 1u);
  const v1::ScramCredentialUpsertion u = service_.upsertions()[0];
  EXPECT_EQ(u.iterations(), 8192);
  EXPECT_EQ(u.salt().size(), 32u);
  EXPECT_EQ(u.salted_password(), SaltedPassword(v1::SCRAM_SHA_256, "alice-secret", u.salt(), 8192));

  ConfigCommandOptions describe;
  describe.bootstrap_server = "x";
  describe.describe = true;
  describe.entity_types = {"users"};
  describe.entity_names = {"alice"};
  ASSERT_EQ(RunConfigs(describe), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("Quota configs for user-principal 'alice' are "));
  EXPECT_THAT(out_.str(), HasSubstr("consumer_byte_rate=1.048576E7"));
  EXPECT_THAT(out_.str(), HasSubstr("producer_byte_rate=5242880.0"));
  EXPECT_THAT(out_.str(), HasSubstr("SCRAM credential configs for user-principal 'alice' are "
                                    "SCRAM-SHA-256=iterations=8192\n"));

  // Both at once, an unknown key, or a default user's credential: Kafka's
  // refusals, before anything is sent.
  ConfigCommandOptions both = quota;
  both.add_config = "producer_byte_rate=1,SCRAM-SHA-512=[password=x]";
  EXPECT_EQ(RunConfigs(both), 1);
  EXPECT_EQ(err_.str(),
            "Cannot alter both quota and SCRAM credential configs simultaneously for 'users' "
            "using --bootstrap-server.\n");
  ConfigCommandOptions unknown = quota;
  unknown.add_config = "retention.ms=1";
  EXPECT_EQ(RunConfigs(unknown), 1);
  EXPECT_EQ(err_.str(),
            "Only quota and SCRAM credential configs can be added for 'users' using "
            "--bootstrap-server. Unexpected config names: Set(retention.ms)\n");
  ConfigCommandOptions clients;
  clients.bootstrap_server = "x";
  clients.alter = true;
  clients.entity_types = {"clients"};
  clients.entity_default = true;
  clients.add_config = "SCRAM-SHA-256=[password=x]";
  EXPECT_EQ(RunConfigs(clients), 1);
  EXPECT_EQ(err_.str(),
            "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected "
            "config names: Set(SCRAM-SHA-256)\n");

  // Deleting the credential and a quota.
  ConfigCommandOptions remove = quota;
  remove.add_config.reset();
  remove.delete_config = {"SCRAM-SHA-256"};
  ASSERT_EQ(RunConfigs(remove), 0) << err_.str();
  remove.delete_config = {"producer_byte_rate,request_percentage"};
  EXPECT_EQ(RunConfigs(remove), 1);
  EXPECT_EQ(err_.str(), "Invalid config(s): request_percentage\n");
  remove.delete_config = {"producer_byte_rate"};
  ASSERT_EQ(RunConfigs(remove), 0) << err_.str();
  ASSERT_EQ(RunConfigs(describe), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Quota configs for user-principal 'alice' are consumer_byte_rate=1.048576E7\n");
}

}  // namespace
}  // namespace strata::tools
