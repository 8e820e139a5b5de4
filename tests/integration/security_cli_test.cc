// ACLs, SCRAM credentials and client quotas through the CLI on real
// processes (issue 16): `strata acls --add/--list/--remove` with
// kafka-acls' lines, `strata configs --entity-type users|clients` round
// trips, every node answering from its own image, and all of it still there
// — and still changeable — after the controller is killed. And a quota on a
// client id holding back the gRPC producer that names itself so.
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/config.h"
#include "client/connection_pool.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "strata/v1/broker.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

constexpr char kT1[] = "ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL)";
constexpr char kAliceWrite[] =
    "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)";

class SecurityCliTest : public ::testing::Test {
 protected:
  SecurityCliTest() : cluster_(3) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  CliResult Acls(std::vector<std::string> args, int node, const std::string& input = "") {
    args.insert(args.begin(), {"acls", "--bootstrap-server", cluster_.bootstrap(node)});
    return cluster_.Cli(args, input);
  }
  CliResult Configs(std::vector<std::string> args, int node) {
    args.insert(args.begin(), {"configs", "--bootstrap-server", cluster_.bootstrap(node)});
    return cluster_.Cli(args);
  }
  // Polls `node`'s answer to `run` until it is `expected` (each node
  // answers from its own image); the last answer otherwise.
  std::string Until(const std::function<CliResult()>& run, const std::string& expected) {
    std::string seen;
    Eventually(
        [&] {
          CliResult r = run();
          seen = r.exit_code == 0 ? r.out : "exit " + std::to_string(r.exit_code) + ": " + r.err;
          return seen == expected;
        },
        15000);
    return seen;
  }
  // Kills the controller and waits for another node to be it; returns the
  // node killed (-1 on failure).
  int KillController() {
    const int controller = cluster_.ControllerSeenBy(1);
    if (controller < 1) return -1;
    cluster_.Kill(controller);
    const int survivor = controller == 1 ? 2 : 1;
    const bool elected = Eventually(
        [&] {
          const int next = cluster_.ControllerSeenBy(survivor);
          return next >= 1 && next != controller;
        },
        20000);
    return elected ? controller : -1;
  }

  StrataCluster cluster_;
};

TEST_F(SecurityCliTest, AclsAddListRemoveAndSurviveAControllerFailover) {
  CliResult added = Acls(
      {"--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "t1"}, 2);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string current =
      std::string("Current ACLs for resource `") + kT1 + "`: \n \t" + kAliceWrite + " \n\n";
  EXPECT_EQ(added.out, std::string("Adding ACLs for resource `") + kT1 + "`: \n \t" + kAliceWrite +
                           " \n\n" + current);
  // Every node lists it from its own image.
  for (int node : {1, 2, 3}) {
    EXPECT_EQ(Until(
                  [&] {
                    return Acls({"--list", "--topic", "t1"}, node);
                  },
                  current),
              current)
        << "node " << node;
  }

  // kafka-acls' conveniences: a producer with a transactional id and
  // idempotence, a consumer, on prefixed names.
  CliResult producer =
      Acls({"--add", "--producer", "--allow-principal", "User:bob", "--topic", "orders-",
            "--transactional-id", "tx-", "--resource-pattern-type", "prefixed"},
           1);
  ASSERT_EQ(producer.exit_code, 0) << producer.err;
  CliResult consumer = Acls({"--add", "--consumer", "--allow-principal", "User:carol", "--topic",
                             "orders", "--group", "billing"},
                            3);
  ASSERT_EQ(consumer.exit_code, 0) << consumer.err;
  // --principal lists one principal's, over every resource.
  CliResult bobs = Acls({"--list", "--principal", "User:bob"}, 3);
  ASSERT_EQ(bobs.exit_code, 0) << bobs.err;
  EXPECT_EQ(bobs.out.rfind("ACLs for principal `User:bob`\n", 0), 0u) << bobs.out;
  EXPECT_NE(bobs.out.find("ResourcePattern(resourceType=TRANSACTIONAL_ID, name=tx-, "
                          "patternType=PREFIXED)"),
            std::string::npos)
      << bobs.out;
  EXPECT_EQ(bobs.out.find("User:carol"), std::string::npos) << bobs.out;
  // A MATCH filter lists what applies to topic "orders-eu": the prefix.
  CliResult match = Acls({"--list", "--topic", "orders-eu", "--resource-pattern-type", "match"}, 1);
  ASSERT_EQ(match.exit_code, 0) << match.err;
  EXPECT_NE(match.out.find("name=orders-, patternType=PREFIXED"), std::string::npos) << match.out;
  EXPECT_EQ(match.out.find("name=orders, patternType=LITERAL"), std::string::npos) << match.out;

  CliResult all_before = Acls({"--list"}, 1);
  ASSERT_EQ(all_before.exit_code, 0) << all_before.err;

  // The controller dies; the ACLs are in the metadata log, not in it.
  const int killed = KillController();
  ASSERT_GE(killed, 1) << "no new controller";
  const int survivor = killed == 1 ? 2 : 1;
  EXPECT_EQ(Until([&] { return Acls({"--list"}, survivor); }, all_before.out), all_before.out);

  // Removing without --force and no answer on stdin fails as kafka-acls
  // does (it reads a null line), and removes nothing.
  CliResult unanswered = Acls({"--remove", "--topic", "t1"}, survivor);
  EXPECT_EQ(unanswered.exit_code, 1);
  EXPECT_NE(unanswered.out.find("Are you sure you want to delete all ACLs for resource filter "
                                "`ResourcePatternFilter(resourceType=TOPIC, name=t1, "
                                "patternType=LITERAL)`? (y/n)"),
            std::string::npos)
      << unanswered.out;
  EXPECT_NE(unanswered.err.find("Error while executing ACL command"), std::string::npos);
  // "y" on stdin, through the new controller.
  CliResult removed =
      Acls({"--remove", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "t1"},
           survivor, "y\n");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find(std::string("Are you sure you want to remove ACLs: \n \t") +
                             kAliceWrite + " \n from resource filter `"),
            std::string::npos)
      << removed.out;
  EXPECT_EQ(Until([&] { return Acls({"--list", "--topic", "t1"}, survivor); }, ""), "");
  CliResult forced =
      Acls({"--remove", "--force", "--topic", "orders", "--group", "billing"}, survivor);
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.out, "") << "nothing is left to list for them";

  // The killed node comes back and catches up with what changed without it.
  cluster_.Start(killed);
  CliResult after = Acls({"--list"}, survivor);
  ASSERT_EQ(after.exit_code, 0);
  EXPECT_EQ(Until([&] { return Acls({"--list"}, killed); }, after.out), after.out);
  EXPECT_EQ(after.out.find("User:alice"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("User:bob"), std::string::npos) << after.out;
}

TEST_F(SecurityCliTest, UserAndClientConfigsRoundTripAndSurviveAControllerFailover) {
  CliResult scram =
      Configs({"--alter", "--entity-type", "users", "--entity-name", "alice", "--add-config",
               "SCRAM-SHA-256=[iterations=8192,password=alice-secret]"},
              1);
  ASSERT_EQ(scram.exit_code, 0) << scram.err;
  EXPECT_EQ(scram.out, "Completed updating config for user alice.\n");
  CliResult quota = Configs({"--alter", "--entity-type", "users", "--entity-name", "alice",
                             "--add-config", "producer_byte_rate=5242880"},
                            2);
  ASSERT_EQ(quota.exit_code, 0) << quota.err;
  CliResult clients = Configs({"--alter", "--entity-type", "clients", "--entity-default",
                               "--add-config", "consumer_byte_rate=10485760"},
                              3);
  ASSERT_EQ(clients.exit_code, 0) << clients.err;
  EXPECT_EQ(clients.out, "Completed updating default config for clients in the cluster.\n");
  CliResult both =
      Configs({"--alter", "--entity-type", "users", "--entity-name", "alice", "--entity-type",
               "clients", "--entity-name", "app", "--add-config", "request_percentage=50"},
              1);
  ASSERT_EQ(both.exit_code, 0) << both.err;

  const std::string alice =
      "Quota configs for user-principal 'alice' are producer_byte_rate=5242880.0\n"
      "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n";
  const std::string default_clients =
      "Quota configs for the default client-id are consumer_byte_rate=1.048576E7\n";
  const std::string alice_app =
      "Quota configs for user-principal 'alice', client-id 'app' are request_percentage=50.0\n";
  for (int node : {1, 2, 3}) {
    EXPECT_EQ(Until(
                  [&] {
                    return Configs(
                        {"--describe", "--entity-type", "users", "--entity-name", "alice"}, node);
                  },
                  alice),
              alice)
        << "node " << node;
    EXPECT_EQ(
        Until(
            [&] {
              return Configs({"--describe", "--entity-type", "clients", "--entity-default"}, node);
            },
            default_clients),
        default_clients)
        << "node " << node;
  }
  EXPECT_EQ(Until(
                [&] {
                  return Configs({"--describe", "--entity-type", "users", "--entity-name", "alice",
                                  "--entity-type", "clients", "--entity-name", "app"},
                                 3);
                },
                alice_app),
            alice_app);

  // Kafka's refusals: the client's (too few iterations) and the server's
  // (too many), and nothing changes.
  CliResult few = Configs({"--alter", "--entity-type", "users", "--entity-name", "bob",
                           "--add-config", "SCRAM-SHA-512=[iterations=1000,password=x]"},
                          1);
  EXPECT_EQ(few.exit_code, 1);
  EXPECT_EQ(few.err, "Iterations 1000 is less than the minimum 4096 required for SCRAM-SHA-512\n");
  CliResult many = Configs({"--alter", "--entity-type", "users", "--entity-name", "bob",
                            "--add-config", "SCRAM-SHA-512=[iterations=20000,password=x]"},
                           1);
  EXPECT_EQ(many.exit_code, 1);
  EXPECT_NE(many.err.find("org.apache.kafka.common.errors.UnacceptableCredentialException: Too "
                          "many iterations"),
            std::string::npos)
      << many.err;
  CliResult bad_key = Configs({"--alter", "--entity-type", "clients", "--entity-name", "app",
                               "--add-config", "producer_byte_rate=1.5"},
                              1);
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("InvalidRequestException: Configuration producer_byte_rate must be a "
                             "Long value"),
            std::string::npos)
      << bad_key.err;

  // The controller dies: everything is still described, and changes go to
  // the new controller.
  const int killed = KillController();
  ASSERT_GE(killed, 1) << "no new controller";
  const int survivor = killed == 1 ? 2 : 1;
  EXPECT_EQ(Until(
                [&] {
                  return Configs({"--describe", "--entity-type", "users", "--entity-name", "alice"},
                                 survivor);
                },
                alice),
            alice);
  CliResult deleted = Configs({"--alter", "--entity-type", "users", "--entity-name", "alice",
                               "--delete-config", "SCRAM-SHA-256"},
                              survivor);
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  CliResult more =
      Configs({"--alter", "--entity-type", "users", "--entity-name", "alice", "--add-config",
               "consumer_byte_rate=2048", "--delete-config", "producer_byte_rate"},
              survivor);
  ASSERT_EQ(more.exit_code, 0) << more.err;
  const std::string after =
      "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0\n";
  EXPECT_EQ(Until(
                [&] {
                  return Configs({"--describe", "--entity-type", "users", "--entity-name", "alice"},
                                 survivor);
                },
                after),
            after);
  // Every user's SCRAM credentials: alice has none left.
  CliResult users = Configs({"--describe", "--entity-type", "users"}, survivor);
  ASSERT_EQ(users.exit_code, 0) << users.err;
  EXPECT_EQ(users.out.find("SCRAM credential configs"), std::string::npos) << users.out;
}

// A producer_byte_rate quota on --entity-type clients applies to the gRPC
// producer whose client.id it names (the client id travels as call
// metadata, on this PLAINTEXT listener too), and to no other.
TEST_F(SecurityCliTest, AClientIdQuotaThrottlesTheGrpcProducerWithThatClientId) {
  CliResult created =
      cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                    "quota-t", "--partitions", "1", "--replication-factor", "3"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  // 10 kB/s with Kafka's 11 one-second windows: 100 kB pass at once (10 s
  // of the quota), so one request of 130 kB is held (130 - 100) / 10 = about
  // 3 s.
  CliResult quota = Configs({"--alter", "--entity-type", "clients", "--entity-name",
                             "quota-client", "--add-config", "producer_byte_rate=10000"},
                            1);
  ASSERT_EQ(quota.exit_code, 0) << quota.err;
  for (int node : {1, 2, 3}) {
    std::string seen;
    EXPECT_TRUE(Eventually(
        [&] {
          seen = Configs({"--describe", "--entity-type", "clients", "--entity-name",
                          "quota-client"},
                         node)
                     .out;
          return seen.find("producer_byte_rate=10000") != std::string::npos;
        },
        15000))
        << "node " << node << ": " << seen;
  }
  int leader = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        auto described = cluster_.Describe("quota-t", 1);
        leader = described.contains(0) ? described[0].leader : -1;
        return leader >= 1;
      },
      15000));

  // How long one request of 130 records of 1000 bytes takes to be
  // acknowledged by a producer named `client_id`.
  auto produce = [&](const std::string& client_id) -> absl::StatusOr<absl::Duration> {
    std::vector<std::string> ignored;
    absl::StatusOr<client::ProducerConfig> config = client::ProducerConfig::FromProperties(
        {{"bootstrap.servers", cluster_.bootstrap_all()},
         {"client.id", client_id},
         {"acks", "all"},
         {"batch.size", "1048576"},
         {"linger.ms", "60000"}},  // only Flush sends: one request
        &ignored);
    if (!config.ok()) return config.status();
    auto producer = client::Producer::Create(*config);
    if (!producer.ok()) return producer.status();
    // Metadata first, so the timing is the produce request's.
    if (auto n = (*producer)->PartitionCount("quota-t"); !n.ok()) return n.status();
    std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> acks;
    for (int i = 0; i < 130; ++i) {
      client::ProducerRecord r;
      r.topic = "quota-t";
      r.partition = 0;
      r.value = std::string(1000, static_cast<char>('a' + i % 26));
      acks.push_back((*producer)->Send(std::move(r)));
    }
    const absl::Time start = absl::Now();
    (*producer)->Flush();
    for (auto& f : acks) {
      absl::StatusOr<client::RecordMetadata> md = f.get();
      if (!md.ok()) return md.status();
    }
    const absl::Duration took = absl::Now() - start;
    (*producer)->Close();
    return took;
  };
  absl::StatusOr<absl::Duration> other = produce("other-client");
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<absl::Duration> limited = produce("quota-client");
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_GE(*limited, absl::Milliseconds(1500)) << "held back by the quota";
  EXPECT_LT(*other, absl::Milliseconds(1500)) << "no quota for other-client";

  // The leader's answers say so: quota-client has used its allowance (the
  // hold drained it back to the edge; closing the producer takes a while
  // more), so 5 kB more (plain records count by their bytes) are held;
  // the others have no quota.
  auto throttle_ms = [&](const std::string& client_id) -> int {
    client::ConnectionPool pool(client::SecurityConfig(), client_id);
    auto stub = v1::Broker::NewStub(pool.Get(cluster_.bootstrap(leader)));
    v1::ProduceRequest request;
    request.set_acks(1);
    request.set_timeout_ms(10000);
    v1::TopicProduceData* t = request.add_topics();
    t->set_topic("quota-t");
    v1::PartitionProduceData* p = t->add_partitions();
    p->set_partition(0);
    p->add_plain_records()->set_value(std::string(5000, 'x'));
    v1::ProduceResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status s = stub->Produce(&ctx, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.throttle_time_ms();
  };
  EXPECT_GT(throttle_ms("quota-client"), 0) << "limited took " << absl::FormatDuration(*limited);
  EXPECT_EQ(throttle_ms("other-client"), 0);
  EXPECT_EQ(throttle_ms(""), 0) << "no client id: no client quota";
}

}  // namespace
}  // namespace strata::testing
