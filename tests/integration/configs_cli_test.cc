// Dynamic configs through `strata configs` on real processes (issue 13,
// acceptance 4): retention.ms and max.message.bytes altered on a live topic
// take effect without a restart (retention deletes the old segments, the
// running logs refuse what the new limit refuses) and --describe shows them
// from every node; a cluster-wide broker default, and one broker's own,
// apply to topics without an override; bad keys and values are refused with
// Kafka's messages and change nothing; the legacy AlterConfigs replaces a
// topic's whole set.
//
// Each node answers from its own image: a step that reads what another node
// applies (its describe, its running logs) polls for a bounded time.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

// Bigger than the limits set below, far below Kafka's default 1048588.
const std::string kBigValue(4000, 'x');
// How often retention looks at the logs here, so that a retention change
// shows within seconds.
constexpr int kRetentionCheckMs = 500;

class ConfigsCliTest : public ::testing::Test {
 protected:
  ConfigsCliTest()
      : cluster_(3, {"log.retention.check.interval.ms=" + std::to_string(kRetentionCheckMs)}) {}

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

  CliResult Configs(std::vector<std::string> args, int node = 1) {
    args.insert(args.begin(), {"configs", "--bootstrap-server", cluster_.bootstrap(node)});
    return cluster_.Cli(args);
  }
  void CreateTopic(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic", name};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = cluster_.Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Sends one record (acks=all); whether the broker took it.
  bool Produce(const std::string& topic, const std::string& value) {
    CliResult r = cluster_.Cli({"console-producer", "--bootstrap-server", cluster_.bootstrap(1),
                                "--topic", topic, "--sync"},
                               value + "\n");
    last_produce_err_ = r.err;
    return r.exit_code == 0;
  }
  // `configs --describe` of a topic as `node` answers it.
  std::string DescribeTopic(const std::string& topic, int node = 1, bool all = false) {
    std::vector<std::string> args = {"--describe", "--entity-type", "topics", "--entity-name",
                                     topic};
    if (all) args.push_back("--all");
    CliResult r = Configs(args, node);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // Sends `n` records of 500 bytes, one request each (so each is its own
  // batch, and small segments fill and roll); whether all were taken.
  bool ProduceMany(const std::string& topic, int n) {
    std::string input;
    for (int i = 0; i < n; ++i) input += std::to_string(i) + std::string(500, 'r') + "\n";
    return Produce(topic, input.substr(0, input.size() - 1));
  }
  // `strata get-offsets --time -2` (earliest) of partition 0; -1 when it fails.
  int64_t EarliestOffset(const std::string& topic) {
    CliResult r = cluster_.Cli({"get-offsets", "--bootstrap-server", cluster_.bootstrap(1),
                                "--topic", topic, "--partitions", "0", "--time", "-2"});
    const std::string prefix = topic + ":0:";
    for (const std::string& line : Lines(r.out)) {
      if (line.rfind(prefix, 0) == 0) return std::atoll(line.c_str() + prefix.size());
    }
    return -1;
  }
  // The line of `--describe --all` for `key`.
  std::string AllLine(const std::string& topic, const std::string& key, int node = 1) {
    for (const std::string& line : Lines(DescribeTopic(topic, node, /*all=*/true))) {
      if (line.rfind("  " + key + "=", 0) == 0) return line;
    }
    return "<no " + key + ">";
  }

  StrataCluster cluster_;
  std::string last_produce_err_;
};

TEST_F(ConfigsCliTest, AlteredTopicConfigsTakeEffectOnTheLiveTopic) {
  CreateTopic("live", {"--partitions", "1", "--replication-factor", "3"});
  ASSERT_TRUE(Produce("live", kBigValue)) << last_produce_err_;
  EXPECT_EQ(DescribeTopic("live"), "Dynamic configs for topic live are:\n");

  CliResult altered = Configs({"--alter", "--entity-type", "topics", "--entity-name", "live",
                               "--add-config", "retention.ms=3600000,max.message.bytes=2048"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_EQ(altered.out, "Completed updating config for topic live.\n");
  const std::string expected =
      "Dynamic configs for topic live are:\n"
      "  max.message.bytes=2048 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:max.message.bytes="
      "2048, DEFAULT_CONFIG:message.max.bytes=1048588}\n"
      "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}"
      "\n";
  // Every node's image has it (each answers from its own).
  for (int node : {1, 2, 3}) {
    std::string seen;
    EXPECT_TRUE(Eventually(
        [&] {
          seen = DescribeTopic("live", node);
          return seen == expected;
        },
        10000))
        << "node " << node << ":\n"
        << seen;
  }
  EXPECT_EQ(AllLine("live", "retention.ms"),
            "  retention.ms=3600000 sensitive=false "
            "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}");
  EXPECT_EQ(AllLine("live", "segment.bytes"),
            "  segment.bytes=1073741824 sensitive=false "
            "synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}");

  // The running leader's log has the new limit: no restart happened. The
  // leader may be another node, which applies the change when its image
  // has it.
  EXPECT_TRUE(Eventually([&] { return !Produce("live", kBigValue); }, 10000))
      << "a record over max.message.bytes was still taken";
  EXPECT_NE(last_produce_err_.find("Error when sending message"), std::string::npos)
      << last_produce_err_;
  EXPECT_TRUE(Produce("live", "small")) << last_produce_err_;

  // --delete-config puts the default back.
  CliResult deleted =
      Configs({"--alter", "--topic", "live", "--delete-config", "max.message.bytes"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "Completed updating config for topic live.\n");
  EXPECT_TRUE(Eventually([&] { return Produce("live", kBigValue); }, 10000)) << last_produce_err_;
  EXPECT_EQ(DescribeTopic("live"),
            "Dynamic configs for topic live are:\n"
            "  retention.ms=3600000 sensitive=false "
            "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}\n");
}

TEST_F(ConfigsCliTest, BrokerDefaultsApplyToTopicsWithoutAnOverride) {
  CreateTopic("plain", {"--partitions", "1", "--replication-factor", "3"});
  CreateTopic("own", {"--partitions", "1", "--replication-factor", "3", "--config",
                      "max.message.bytes=100000"});
  CreateTopic("on1", {"--replica-assignment", "1"});
  CreateTopic("on2", {"--replica-assignment", "2"});

  CliResult set = Configs({"--alter", "--entity-type", "brokers", "--entity-default",
                           "--add-config", "message.max.bytes=2048"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "Completed updating default config for brokers in the cluster.\n");
  // Asked of node 2, which has it once its image does. The cluster default
  // lists only the synonyms set at that level (Kafka's
  // createBrokerConfigEntry).
  const std::string expected_defaults =
      "Default configs for brokers in the cluster are:\n"
      "  message.max.bytes=2048 sensitive=false "
      "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2048}\n";
  CliResult defaults;
  EXPECT_TRUE(Eventually(
      [&] {
        defaults = Configs({"--describe", "--entity-type", "brokers", "--entity-default"}, 2);
        return defaults.exit_code == 0 && defaults.out == expected_defaults;
      },
      10000))
      << defaults.err << defaults.out;
  // Not the topic's own config: only --all shows where it comes from.
  EXPECT_EQ(DescribeTopic("plain"), "Dynamic configs for topic plain are:\n");
  // `topics --describe` shows the dynamic broker layers too.
  CliResult topic = cluster_.Cli(
      {"topics", "--bootstrap-server", cluster_.bootstrap(1), "--describe", "--topic", "plain"});
  ASSERT_EQ(topic.exit_code, 0) << topic.err;
  EXPECT_NE(topic.out.find("max.message.bytes=2048"), std::string::npos) << topic.out;
  EXPECT_EQ(AllLine("plain", "max.message.bytes"),
            "  max.message.bytes=2048 sensitive=false "
            "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2048, "
            "DEFAULT_CONFIG:message.max.bytes=1048588}");
  EXPECT_EQ(AllLine("own", "max.message.bytes"),
            "  max.message.bytes=100000 sensitive=false "
            "synonyms={DYNAMIC_TOPIC_CONFIG:max.message.bytes=100000, "
            "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2048, "
            "DEFAULT_CONFIG:message.max.bytes=1048588}");
  // The running logs: the default binds the topic without an override only.
  EXPECT_TRUE(Eventually([&] { return !Produce("plain", kBigValue); }, 10000))
      << "the cluster default did not reach plain's leader";
  EXPECT_TRUE(Produce("own", kBigValue)) << last_produce_err_;

  // One broker's own value beats the cluster default, on that broker only.
  CliResult one = Configs({"--alter", "--entity-type", "brokers", "--entity-name", "1",
                           "--add-config", "message.max.bytes=100000"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "Completed updating config for broker 1.\n");
  const std::string broker1 =
      "Dynamic configs for broker 1 are:\n"
      "  message.max.bytes=100000 sensitive=false "
      "synonyms={DYNAMIC_BROKER_CONFIG:message.max.bytes=100000, "
      "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2048, "
      "DEFAULT_CONFIG:message.max.bytes=1048588}\n";
  for (int node : {1, 3}) {  // node 3 asks broker 1
    CliResult d = Configs({"--describe", "--entity-type", "brokers", "--entity-name", "1"}, node);
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(d.out, broker1) << "asked of node " << node;
  }
  CliResult all1 = Configs({"--describe", "--broker", "1", "--all"}, 2);
  ASSERT_EQ(all1.exit_code, 0) << all1.err;
  EXPECT_NE(all1.out.find("All configs for broker 1 are:\n"), std::string::npos) << all1.out;
  EXPECT_NE(all1.out.find("\n  log.retention.hours=168 sensitive=false "
                          "synonyms={DEFAULT_CONFIG:log.retention.hours=168}\n"),
            std::string::npos)
      << all1.out;
  EXPECT_TRUE(Eventually([&] { return Produce("on1", kBigValue); }, 10000)) << last_produce_err_;
  EXPECT_TRUE(Eventually([&] { return !Produce("on2", kBigValue); }, 10000))
      << "broker 2 has only the cluster default";
  EXPECT_EQ(AllLine("on2", "max.message.bytes", 1),
            "  max.message.bytes=100000 sensitive=false "
            "synonyms={DYNAMIC_BROKER_CONFIG:message.max.bytes=100000, "
            "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2048, "
            "DEFAULT_CONFIG:message.max.bytes=1048588}")
      << "node 1 describes a topic as broker 1 applies it";

  // Every live broker, then the default.
  CliResult every = Configs({"--describe", "--entity-type", "brokers"});
  ASSERT_EQ(every.exit_code, 0) << every.err;
  EXPECT_EQ(every.out, broker1 +
                           "Dynamic configs for broker 2 are:\n"
                           "Dynamic configs for broker 3 are:\n" +
                           defaults.out);

  // Deleting the default frees the topic again.
  CliResult removed = Configs({"--alter", "--entity-type", "brokers", "--entity-default",
                               "--delete-config", "message.max.bytes"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, "Completed updating default config for brokers in the cluster.\n");
  EXPECT_TRUE(Eventually([&] { return Produce("plain", kBigValue); }, 10000)) << last_produce_err_;
}

TEST_F(ConfigsCliTest, BadKeysAndValuesAreRefusedWithKafkasMessagesAndChangeNothing) {
  CreateTopic("t", {"--partitions", "1", "--replication-factor", "3"});
  ASSERT_EQ(Configs({"--alter", "--topic", "t", "--add-config", "retention.ms=3600000"}).exit_code,
            0);
  const std::string before = DescribeTopic("t");
  const std::string b = cluster_.bootstrap(1);
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string prefix =
      "java.util.concurrent.ExecutionException: "
      "org.apache.kafka.common.errors.InvalidConfigurationException: ";
  for (const Case& c : std::vector<Case>{
           {{"--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config",
             "retention.ms=abc"},
            prefix + "Invalid value abc for configuration retention.ms: Not a number of type LONG"},
           {{"--alter", "--topic", "t", "--add-config", "segment.bytes=1048576,no.such.config=1"},
            prefix + "Unknown topic config name: no.such.config"},
           {{"--alter", "--entity-type", "brokers", "--entity-default", "--add-config",
             "log.retention.ms=abc"},
            prefix +
                "Invalid value abc for configuration log.retention.ms: Not a number of type LONG"},
           {{"--alter", "--entity-type", "brokers", "--entity-name", "1", "--add-config",
             "log.retention.hours=1"},
            prefix + "Cannot update these configs dynamically: Set(log.retention.hours)"},
       }) {
    CliResult r = Configs(c.args);
    std::string args = "--bootstrap-server " + b;
    for (const std::string& a : c.args) args += " " + a;
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.out, "") << args;
    EXPECT_EQ(r.err,
              "Error while executing config command with args '" + args + "'\n" + c.error + "\n");
  }
  // Refused by the tool before anything is sent.
  CliResult unset = Configs({"--alter", "--topic", "t", "--delete-config", "segment.bytes"});
  EXPECT_EQ(unset.exit_code, 1);
  EXPECT_EQ(unset.err, "Invalid config(s): segment.bytes\n");
  CliResult no_action = Configs({"--entity-type", "topics", "--entity-name", "t"});
  EXPECT_EQ(no_action.exit_code, 1);
  EXPECT_EQ(no_action.err, "Command must include exactly one action: --describe, --alter\n");
  CliResult missing = Configs({"--describe", "--topic", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("UnknownTopicOrPartitionException"), std::string::npos) << missing.err;

  // Nothing changed, on any node (each shows the first change once its
  // image has it, and nothing after).
  for (int node : {1, 2, 3}) {
    std::string seen;
    EXPECT_TRUE(Eventually(
        [&] {
          seen = DescribeTopic("t", node);
          return seen == before;
        },
        10000))
        << "node " << node << ":\n"
        << seen;
  }
  EXPECT_EQ(Configs({"--describe", "--entity-type", "brokers", "--entity-default"}).out,
            "Default configs for brokers in the cluster are:\n");
  EXPECT_EQ(Configs({"--describe", "--broker", "1"}).out, "Dynamic configs for broker 1 are:\n");
}

// Acceptance 4: retention.ms altered on a live topic deletes its old
// segments without a restart: the earliest offset moves forward.
TEST_F(ConfigsCliTest, AlteredRetentionMsDeletesOldSegmentsOfTheLiveTopic) {
  CreateTopic("aging",
              {"--partitions", "1", "--replication-factor", "3", "--config", "segment.bytes=2000"});
  ASSERT_TRUE(ProduceMany("aging", 20)) << last_produce_err_;
  ASSERT_EQ(EarliestOffset("aging"), 0);

  CliResult altered = Configs({"--alter", "--topic", "aging", "--add-config", "retention.ms=1000"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_EQ(altered.out, "Completed updating config for topic aging.\n");
  int64_t earliest = -1;
  EXPECT_TRUE(Eventually(
      [&] {
        earliest = EarliestOffset("aging");
        return earliest > 0;
      },
      15000))
      << "the log start stayed at " << earliest;
  EXPECT_EQ(
      DescribeTopic("aging"),
      "Dynamic configs for topic aging are:\n"
      "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}"
      "\n"
      "  segment.bytes=2000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=2000, "
      "DEFAULT_CONFIG:log.segment.bytes=1073741824}\n");
}

// A cluster-wide log.retention.ms applies to the running logs of topics
// without their own retention.ms, and only to those.
TEST_F(ConfigsCliTest, AClusterDefaultRetentionAppliesToTopicsWithoutAnOverride) {
  CreateTopic("plain",
              {"--partitions", "1", "--replication-factor", "3", "--config", "segment.bytes=2000"});
  CreateTopic("kept", {"--partitions", "1", "--replication-factor", "3", "--config",
                       "segment.bytes=2000", "--config", "retention.ms=3600000"});
  ASSERT_TRUE(ProduceMany("plain", 20)) << last_produce_err_;
  ASSERT_TRUE(ProduceMany("kept", 20)) << last_produce_err_;
  ASSERT_EQ(EarliestOffset("plain"), 0);

  CliResult set = Configs({"--alter", "--entity-type", "brokers", "--entity-default",
                           "--add-config", "log.retention.ms=1000"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  int64_t earliest = -1;
  EXPECT_TRUE(Eventually(
      [&] {
        earliest = EarliestOffset("plain");
        return earliest > 0;
      },
      15000))
      << "the log start of plain stayed at " << earliest;
  // Several check intervals later, the topic with its own retention kept all.
  std::this_thread::sleep_for(std::chrono::milliseconds(4 * kRetentionCheckMs));
  EXPECT_EQ(EarliestOffset("kept"), 0);
}

TEST_F(ConfigsCliTest, LegacyAlterConfigsReplacesTheWholeSet) {
  CreateTopic(
      "t", {"--partitions", "1", "--replication-factor", "3", "--config", "retention.ms=3600000"});
  auto alter = [&](const std::string& key, const std::string& value, bool validate_only) {
    v1::AlterConfigsRequest req;
    req.set_validate_only(validate_only);
    v1::AlterConfigsRequestResource* r = req.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_TOPIC);
    r->set_resource_name("t");
    v1::AlterConfigsValue* c = r->add_configs();
    c->set_name(key);
    c->set_value(value);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::AlterConfigsResponse resp;
    grpc::Status s = cluster_.admin(2)->AlterConfigs(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.error(), v1::NONE) << resp.error_message();
    return resp.responses_size() == 1 ? resp.responses(0) : v1::AlterConfigsResourceResponse();
  };
  const std::string before = DescribeTopic("t", 2);
  EXPECT_EQ(alter("segment.bytes", "1048576", /*validate_only=*/true).error(), v1::NONE);
  EXPECT_EQ(DescribeTopic("t", 2), before);
  v1::AlterConfigsResourceResponse bad = alter("segment.bytes", "x", false);
  EXPECT_EQ(bad.error(), v1::INVALID_CONFIG);
  EXPECT_EQ(bad.error_message(),
            "Invalid value x for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(DescribeTopic("t", 2), before);

  EXPECT_EQ(alter("segment.bytes", "1048576", false).error(), v1::NONE);
  const std::string replaced =
      "Dynamic configs for topic t are:\n"
      "  segment.bytes=1048576 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes="
      "1048576, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n";
  EXPECT_EQ(DescribeTopic("t", 2), replaced);

  // Its forwarded form is not for clients: IncrementalAlterConfigs with
  // replace_all is refused, and would otherwise have wiped segment.bytes.
  auto incremental = [&](v1::AlterConfigOp op, const std::string& key, const std::string& value,
                         bool replace_all) {
    v1::IncrementalAlterConfigsRequest req;
    req.set_replace_all(replace_all);
    v1::AlterConfigsResource* r = req.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_TOPIC);
    r->set_resource_name("t");
    v1::AlterableConfig* c = r->add_configs();
    c->set_name(key);
    c->set_op(op);
    c->set_value(value);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::IncrementalAlterConfigsResponse resp;
    grpc::Status s = cluster_.admin(2)->IncrementalAlterConfigs(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  v1::IncrementalAlterConfigsResponse wipe =
      incremental(v1::CONFIG_SET, "retention.ms", "1000", /*replace_all=*/true);
  EXPECT_EQ(wipe.error(), v1::INVALID_REQUEST) << wipe.error_message();
  EXPECT_EQ(DescribeTopic("t", 2), replaced);
  // APPEND over the wire: onto cleanup.policy's default.
  v1::IncrementalAlterConfigsResponse appended =
      incremental(v1::CONFIG_APPEND, "cleanup.policy", "compact", /*replace_all=*/false);
  ASSERT_EQ(appended.error(), v1::NONE) << appended.error_message();
  ASSERT_EQ(appended.responses_size(), 1);
  EXPECT_EQ(appended.responses(0).error(), v1::NONE) << appended.responses(0).error_message();
  EXPECT_EQ(AllLine("t", "cleanup.policy", 2),
            "  cleanup.policy=delete,compact sensitive=false "
            "synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=delete,compact, "
            "DEFAULT_CONFIG:log.cleanup.policy=delete}");
}

}  // namespace
}  // namespace strata::testing
