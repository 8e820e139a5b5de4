// strata: the command-line tool. One binary, subcommands named after Kafka's
// tools with their flags and output (see ../shared/DESIGN.md, "CLI
// contract"):
//
//   strata topics | brokers | configs | acls | leader-election | metadata-quorum |
//          consumer-groups | reassign-partitions | log-dirs | cluster unregister |
//          console-producer | console-consumer | delete-records | get-offsets | dump-log |
//          transactions | producer-perf-test | consumer-perf-test | end-to-end-latency
//
// Results go to stdout, errors to stderr with a non-zero exit code.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>

#include "CLI/CLI.hpp"
#include "client/admin.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "tools/acls_command.h"
#include "tools/cluster_commands.h"
#include "tools/command_config.h"
#include "tools/config_command.h"
#include "tools/console_consumer.h"
#include "tools/console_producer.h"
#include "tools/consumer_groups.h"
#include "tools/consumer_perf_test.h"
#include "tools/dump_log.h"
#include "tools/end_to_end_latency.h"
#include "tools/leader_election.h"
#include "tools/log_dirs.h"
#include "tools/offsets_commands.h"
#include "tools/producer_perf_test.h"
#include "tools/reassign_partitions.h"
#include "tools/topic_command.h"
#include "tools/transactions_command.h"

namespace {

using strata::client::Admin;
using strata::client::AdminConfig;

std::atomic<bool> g_stop{false};

extern "C" void OnSignal(int) { g_stop.store(true); }

// An admin client for `bootstrap`, with --command-config's settings (TLS,
// SASL, timeouts) when one was given; errors to stderr.
std::unique_ptr<Admin> MakeAdmin(const std::string& bootstrap,
                                 const std::optional<std::string>& command_config = std::nullopt) {
  absl::StatusOr<AdminConfig> config = strata::tools::AdminConfigFor(bootstrap, command_config);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Admin>> admin = Admin::Create(*config);
  if (!admin.ok()) {
    std::cerr << admin.status().message() << "\n";
    return nullptr;
  }
  return *std::move(admin);
}

// Each occurrence of a repeatable key=value flag takes exactly one value.
// Kafka's --command-config, on every subcommand that talks to the cluster.
CLI::Option* CommandConfig(CLI::App* app, std::optional<std::string>* path) {
  return app->add_option("--command-config", *path,
                         "Property file containing configs to be passed to the Admin Client: "
                         "security.protocol, ssl.*, sasl.*, request.timeout.ms, "
                         "retry.backoff.ms.");
}

template <typename T>
CLI::Option* Repeated(CLI::App* app, const std::string& name, T& target, const std::string& help) {
  return app->add_option(name, target, help)
      ->allow_extra_args(false)
      ->type_size(1)
      ->expected(1, 1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil keeps absl::Mutex's deadlock detection on, which
  // records every lock's acquisition order in a global graph: a cost on
  // every lock for a check the tests (which keep it) are there for.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Like Kafka's tools (log4j at WARN): the client library's warnings reach
  // stderr, its progress notes do not.
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = google::GLOG_WARNING;
  google::InitGoogleLogging(argv[0]);
  CLI::App app{"strata: Kafka-compatible administration and console tools for Strata"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  int exit_code = 0;

  // ---- topics
  strata::tools::TopicOptions topic;
  CLI::App* topics = app.add_subcommand("topics", "Create, delete, describe, or change a topic");
  topics->add_option("--bootstrap-server", topic.bootstrap_server,
                     "REQUIRED: The Strata server(s) to connect to (host:port[,host:port])");
  std::optional<std::string> topic_command_config;
  CommandConfig(topics, &topic_command_config);
  topics->add_flag("--create", topic.create, "Create a new topic.");
  topics->add_flag("--list", topic.list, "List all available topics.");
  topics->add_flag("--describe", topic.describe, "List details for the given topics.");
  topics->add_flag("--alter", topic.alter, "Alter the number of partitions of a topic.");
  topics->add_flag("--delete", topic.remove, "Delete a topic");
  topics->add_option("--topic", topic.topic, "The topic to create, alter, describe or delete.");
  topics->add_option("--partitions", topic.partitions,
                     "The number of partitions for the topic being created or altered.");
  topics->add_option("--replication-factor", topic.replication_factor,
                     "The replication factor for each partition in the topic being created.");
  topics->add_option(
      "--replica-assignment", topic.replica_assignment,
      "A list of manual partition-to-broker assignments for the topic being created: "
      "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
      "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...");
  Repeated(topics, "--config", topic.configs, "A topic configuration override: key=value");
  topics->add_flag("--if-exists", topic.if_exists,
                   "When altering, deleting or describing: only if the topic exists.");
  topics->add_flag("--if-not-exists", topic.if_not_exists,
                   "When creating: only if the topic does not exist already.");
  topics->add_flag("--exclude-internal", topic.exclude_internal,
                   "Exclude internal topics when running list or describe.");
  topics->add_flag("--unavailable-partitions", topic.unavailable_partitions,
                   "With --describe: only partitions whose leader is not available.");
  topics->add_flag("--under-replicated-partitions", topic.under_replicated_partitions,
                   "With --describe: only partitions whose ISR is smaller than the replicas.");
  topics->add_flag("--under-min-isr-partitions", topic.under_min_isr_partitions,
                   "With --describe: only partitions whose ISR is smaller than "
                   "min.insync.replicas.");
  topics->add_flag("--at-min-isr-partitions", topic.at_min_isr_partitions,
                   "With --describe: only partitions whose ISR is exactly min.insync.replicas.");
  topics->add_flag("--show-states", topic.show_states,
                   "With --describe: add each partition's state and its replicas' states.");
  topics->callback([&] {
    absl::Status valid = strata::tools::ValidateTopicOptions(topic);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(topic.bootstrap_server, topic_command_config);
    exit_code = admin ? strata::tools::RunTopicCommand(*admin, topic, std::cout, std::cerr) : 1;
  });

  // ---- brokers
  std::string brokers_bootstrap;
  bool brokers_list = false;
  CLI::App* brokers = app.add_subcommand("brokers", "List the cluster's live brokers");
  brokers->add_option("--bootstrap-server", brokers_bootstrap, "The server(s) to connect to")
      ->required();
  brokers->add_flag("--list", brokers_list, "List the ids of the live brokers, one per line");
  std::optional<std::string> brokers_command_config;
  CommandConfig(brokers, &brokers_command_config);
  brokers->callback([&] {
    if (!brokers_list) {
      std::cerr << "Command must include exactly one action: --list\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(brokers_bootstrap, brokers_command_config);
    exit_code = admin ? strata::tools::RunBrokerList(*admin, std::cout, std::cerr) : 1;
  });

  // ---- leader-election
  std::string election_bootstrap;
  strata::tools::LeaderElectionOptions election;
  std::string election_topic;
  int32_t election_partition = -1;
  CLI::App* elect = app.add_subcommand(
      "leader-election", "Elect preferred or unclean leaders (Kafka's kafka-leader-election.sh)");
  elect->add_option("--bootstrap-server", election_bootstrap, "The server(s) to connect to")
      ->required();
  elect
      ->add_option("--election-type", election.election_type,
                   "Type of election to attempt: PREFERRED or UNCLEAN")
      ->required();
  CLI::Option* topic_opt =
      elect->add_option("--topic", election_topic, "Name of the topic whose leader to elect");
  CLI::Option* partition_opt =
      elect->add_option("--partition", election_partition, "Partition id for the leader election");
  elect->add_flag("--all-topic-partitions", election.all_topic_partitions,
                  "Perform the election on every topic partition");
  std::optional<std::string> election_command_config;
  CommandConfig(elect, &election_command_config);
  elect->add_option("--admin.config", election_command_config,
                    "Kafka's older name of --command-config.");
  elect->callback([&] {
    if (*topic_opt) election.topic = election_topic;
    if (*partition_opt) election.partition = election_partition;
    auto admin = MakeAdmin(election_bootstrap, election_command_config);
    exit_code =
        admin ? strata::tools::RunLeaderElection(*admin, election, std::cout, std::cerr) : 1;
  });

  // ---- metadata-quorum
  std::string quorum_bootstrap;
  bool status = false;
  bool replication = false;
  CLI::App* quorum =
      app.add_subcommand("metadata-quorum", "Describe the metadata quorum (Kafka's KRaft tool)");
  quorum->add_option("--bootstrap-server", quorum_bootstrap, "The server(s) to connect to")
      ->required();
  std::optional<std::string> quorum_command_config;
  CommandConfig(quorum, &quorum_command_config);
  quorum->require_subcommand(1);
  CLI::App* describe = quorum->add_subcommand("describe", "Describe the metadata quorum info");
  describe->add_flag("--status", status, "A short summary of the quorum status");
  describe->add_flag("--replication", replication,
                     "Detailed information about the status of replication");
  describe->callback([&] {
    if (status == replication) {
      std::cerr << (status ? "Only one of --status or --replication should be specified with "
                             "describe sub-command"
                           : "One of --status or --replication must be specified with describe "
                             "sub-command")
                << "\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(quorum_bootstrap, quorum_command_config);
    if (!admin) {
      exit_code = 1;
    } else if (status) {
      exit_code = strata::tools::RunQuorumStatus(*admin, std::cout, std::cerr);
    } else {
      exit_code = strata::tools::RunQuorumReplication(*admin, std::cout, std::cerr);
    }
  });

  // ---- reassign-partitions
  strata::tools::ReassignOptions reassign;
  std::string ra_bootstrap, ra_json, ra_topics_json, ra_broker_list, ra_command_config, ra_zk;
  int64_t ra_throttle = -1, ra_log_dir_throttle = -1, ra_timeout = 10000;
  CLI::App* ra = app.add_subcommand(
      "reassign-partitions",
      "Move topic partitions between replicas (Kafka's kafka-reassign-partitions.sh)");
  CLI::Option* ra_bootstrap_opt = ra->add_option(
      "--bootstrap-server", ra_bootstrap, "REQUIRED: the server(s) to use for bootstrapping.");
  ra->add_flag("--generate", reassign.generate,
               "Generate a candidate partition reassignment configuration. Note that this only "
               "generates a candidate assignment, it does not execute it.");
  ra->add_flag("--execute", reassign.execute,
               "Kick off the reassignment as specified by the --reassignment-json-file option.");
  ra->add_flag("--verify", reassign.verify,
               "Verify if the reassignment completed as specified by the "
               "--reassignment-json-file option. If there is a throttle engaged for the replicas "
               "specified, and the rebalance has completed, the throttle will be removed");
  ra->add_flag("--cancel", reassign.cancel, "Cancel an active reassignment.");
  ra->add_flag("--list", reassign.list, "List all active partition reassignments.");
  CLI::Option* ra_json_opt = ra->add_option(
      "--reassignment-json-file", ra_json,
      "The JSON file with the partition reassignment configuration: "
      "{\"partitions\":[{\"topic\": \"foo\", \"partition\": 1, \"replicas\": [1,2,3], "
      "\"log_dirs\": [\"any\",\"any\",\"any\"]}], \"version\":1} (log_dirs is optional)");
  CLI::Option* ra_topics_opt = ra->add_option(
      "--topics-to-move-json-file", ra_topics_json,
      "Generate a reassignment configuration to move the partitions of the specified topics to "
      "the list of brokers specified by the --broker-list option: "
      "{\"topics\": [{\"topic\": \"foo\"},{\"topic\": \"foo1\"}], \"version\":1}");
  CLI::Option* ra_brokers_opt = ra->add_option(
      "--broker-list", ra_broker_list,
      "The list of brokers to which the partitions need to be reassigned in the form \"0,1,2\". "
      "This is required if --topics-to-move-json-file is used to generate reassignment "
      "configuration");
  ra->add_flag("--disable-rack-aware", reassign.disable_rack_aware,
               "Disable rack aware replica assignment (Strata's assignment is rack-unaware)");
  CLI::Option* ra_throttle_opt = ra->add_option(
      "--throttle", ra_throttle,
      "The movement of partitions between brokers will be throttled to this value (bytes/sec). "
      "This option can be included with --execute when a reassignment is started, and it can be "
      "altered by resubmitting the current reassignment along with the --additional flag. The "
      "throttle rate should be at least 1 KB/s.");
  CLI::Option* ra_log_dir_opt = ra->add_option(
      "--replica-alter-log-dirs-throttle", ra_log_dir_throttle,
      "The movement of replicas between log directories on the same broker will be throttled to "
      "this value (bytes/sec).");
  CLI::Option* ra_timeout_opt = ra->add_option(
      "--timeout", ra_timeout,
      "The maximum time in ms to wait for log directory replica assignment to begin.");
  ra->add_flag("--additional", reassign.additional,
               "Execute this reassignment in addition to any other ongoing ones. This option can "
               "also be used to change the throttle of an ongoing reassignment.");
  ra->add_flag("--preserve-throttles", reassign.preserve_throttles,
               "Do not modify broker or topic throttles.");
  CLI::Option* ra_command_config_opt =
      ra->add_option("--command-config", ra_command_config,
                     "Property file containing configs to be passed to Admin Client: "
                     "security.protocol, ssl.*, sasl.*, request.timeout.ms, retry.backoff.ms.");
  CLI::Option* ra_zk_opt =
      ra->add_option("--zookeeper", ra_zk, "Not supported: pass --bootstrap-server instead.");
  ra->callback([&] {
    if (*ra_bootstrap_opt) reassign.bootstrap_server = ra_bootstrap;
    if (*ra_json_opt) reassign.reassignment_json_file = ra_json;
    if (*ra_topics_opt) reassign.topics_to_move_json_file = ra_topics_json;
    if (*ra_brokers_opt) reassign.broker_list = ra_broker_list;
    if (*ra_throttle_opt) reassign.throttle = ra_throttle;
    if (*ra_log_dir_opt) reassign.replica_alter_log_dirs_throttle = ra_log_dir_throttle;
    if (*ra_timeout_opt) reassign.timeout_ms = ra_timeout;
    if (*ra_command_config_opt) reassign.command_config = ra_command_config;
    if (*ra_zk_opt) reassign.zookeeper = ra_zk;
    absl::Status valid = strata::tools::ValidateReassignOptions(reassign);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(*reassign.bootstrap_server, reassign.command_config);
    exit_code =
        admin ? strata::tools::RunReassignPartitions(*admin, reassign, std::cout, std::cerr) : 1;
  });

  // ---- log-dirs (Kafka's kafka-log-dirs.sh)
  strata::tools::LogDirsOptions log_dirs;
  std::string log_dirs_bootstrap;
  CLI::App* ld = app.add_subcommand(
      "log-dirs",
      "This tool helps to query log directory usage on the specified brokers (Kafka's "
      "kafka-log-dirs.sh)");
  CLI::Option* ld_bootstrap_opt = ld->add_option(
      "--bootstrap-server", log_dirs_bootstrap, "REQUIRED: the server(s) to use for bootstrapping");
  CommandConfig(ld, &log_dirs.command_config);
  ld->add_flag("--describe", log_dirs.describe,
               "Describe the specified log directories on the specified brokers.");
  ld->add_option("--topic-list", log_dirs.topic_list,
                 "The list of topics to be queried in the form \"topic1,topic2,topic3\". All "
                 "topics will be queried if no topic list is specified");
  ld->add_option("--broker-list", log_dirs.broker_list,
                 "The list of brokers to be queried in the form \"0,1,2\". All brokers in the "
                 "cluster will be queried if no broker list is specified");
  ld->callback([&] {
    if (*ld_bootstrap_opt) log_dirs.bootstrap_server = log_dirs_bootstrap;
    absl::Status valid = strata::tools::ValidateLogDirsOptions(log_dirs);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(*log_dirs.bootstrap_server, log_dirs.command_config);
    exit_code = admin ? strata::tools::RunLogDirs(*admin, log_dirs, std::cout, std::cerr) : 1;
  });

  // ---- cluster (Kafka's kafka-cluster.sh)
  std::string unregister_bootstrap;
  int32_t unregister_id = -1;
  CLI::App* cluster_cmd =
      app.add_subcommand("cluster", "Cluster-wide operations (Kafka's kafka-cluster.sh)");
  cluster_cmd->require_subcommand(1);
  CLI::App* unregister =
      cluster_cmd->add_subcommand("unregister", "Unregister a broker (it must be stopped)");
  unregister
      ->add_option("--bootstrap-server,-b", unregister_bootstrap,
                   "A list of host/port pairs to use for establishing the connection to the "
                   "cluster.")
      ->required();
  unregister->add_option("--id,-i", unregister_id, "The ID of the broker to unregister.")
      ->required();
  std::optional<std::string> unregister_command_config;
  unregister->add_option("--config,-c", unregister_command_config,
                         "A property file containing configs to passed to AdminClient "
                         "(Kafka's kafka-cluster.sh name of --command-config).");
  unregister->add_option("--command-config", unregister_command_config, "As --config.");
  unregister->callback([&] {
    auto admin = MakeAdmin(unregister_bootstrap, unregister_command_config);
    exit_code =
        admin ? strata::tools::RunUnregisterBroker(*admin, unregister_id, std::cout, std::cerr) : 1;
  });

  // ---- acls (Kafka's kafka-acls.sh)
  strata::tools::AclCommandOptions acls;
  std::string acls_bootstrap, acls_controller, acls_command_config, acls_pattern_type;
  CLI::App* ac = app.add_subcommand("acls", "Add, remove or list ACLs (Kafka's kafka-acls.sh)");
  CLI::Option* acls_bootstrap_opt = ac->add_option(
      "--bootstrap-server", acls_bootstrap,
      "A list of host/port pairs to use for establishing the connection to the cluster.");
  CLI::Option* acls_controller_opt = ac->add_option(
      "--bootstrap-controller", acls_controller,
      "The controllers to connect to (their client listeners; as --bootstrap-server).");
  CLI::Option* acls_command_config_opt =
      ac->add_option("--command-config", acls_command_config,
                     "A property file containing configs to be passed to Admin Client.");
  ac->add_flag("--add", acls.add, "Indicates you are trying to add ACLs.");
  ac->add_flag("--remove", acls.remove, "Indicates you are trying to remove ACLs.");
  ac->add_flag("--list", acls.list,
               "List ACLs for the specified resource, use --topic <topic> or --group <group> or "
               "--cluster to specify a resource.");
  Repeated(ac, "--topic", acls.topics,
           "topic to which ACLs should be added or removed. A value of '*' indicates ACL should "
           "apply to all topics.");
  ac->add_flag("--cluster", acls.cluster, "Add/Remove cluster ACLs.");
  Repeated(ac, "--group", acls.groups,
           "Consumer Group to which the ACLs should be added or removed. A value of '*' "
           "indicates the ACLs should apply to all groups.");
  Repeated(ac, "--transactional-id", acls.transactional_ids,
           "The transactionalId to which ACLs should be added or removed. A value of '*' "
           "indicates the ACLs should apply to all transactionalIds.");
  Repeated(ac, "--delegation-token", acls.delegation_tokens,
           "Delegation token to which ACLs should be added or removed.");
  Repeated(ac, "--user-principal", acls.user_principals,
           "Specifies a user principal as a resource in relation with the operation.");
  CLI::Option* acls_pattern_opt = ac->add_option(
      "--resource-pattern-type", acls_pattern_type,
      "The type of the resource pattern or pattern filter: literal (default) or prefixed when "
      "adding; any or match too when listing or removing.");
  Repeated(ac, "--allow-principal", acls.allow_principals,
           "principal is in principalType:name format. User:'*' is the wild card indicating all "
           "users.");
  Repeated(ac, "--deny-principal", acls.deny_principals,
           "principal is in principalType:name format. DENY RULES TAKE PRECEDENCE OVER ALLOW "
           "RULES.");
  Repeated(ac, "--allow-host", acls.allow_hosts,
           "Host from which principals listed in --allow-principal will have access (default *).");
  Repeated(ac, "--deny-host", acls.deny_hosts,
           "Host from which principals listed in --deny-principal will be denied access "
           "(default *).");
  Repeated(ac, "--operation", acls.operations,
           "Operation that is being allowed or denied (default All): Read, Write, Create, Delete, "
           "Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, "
           "CreateTokens, DescribeTokens, All.");
  Repeated(ac, "--principal", acls.list_principals,
           "List ACLs for the specified principal (principalType:name); repeatable.");
  ac->add_flag("--producer", acls.producer,
               "Convenience option to add/remove ACLs for producer role. This will generate ACLs "
               "that allows WRITE,DESCRIBE and CREATE on topic.");
  ac->add_flag("--consumer", acls.consumer,
               "Convenience option to add/remove ACLs for consumer role. This will generate ACLs "
               "that allows READ,DESCRIBE on topic and READ on group.");
  ac->add_flag("--idempotent", acls.idempotent,
               "Enable idempotence for the producer. This should be used in combination with the "
               "--producer option.");
  ac->add_flag("--force", acls.force, "Assume Yes to all queries and do not prompt.");
  ac->callback([&] {
    if (*acls_bootstrap_opt) acls.bootstrap_server = acls_bootstrap;
    if (*acls_controller_opt) acls.bootstrap_controller = acls_controller;
    if (*acls_command_config_opt) acls.command_config = acls_command_config;
    if (*acls_pattern_opt) acls.resource_pattern_type = acls_pattern_type;
    absl::Status valid = strata::tools::ValidateAclCommandOptions(acls);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    auto admin =
        MakeAdmin(acls.bootstrap_server ? *acls.bootstrap_server : *acls.bootstrap_controller,
                  acls.command_config);
    exit_code =
        admin ? strata::tools::RunAclCommand(*admin, acls, std::cin, std::cout, std::cerr) : 1;
  });

  // ---- configs (Kafka's kafka-configs.sh: topics, brokers, users, clients)
  strata::tools::ConfigCommandOptions configs;
  std::string cf_bootstrap, cf_controller, cf_command_config, cf_topic, cf_broker, cf_add,
      cf_add_file;
  std::vector<std::string> cf_other_values;
  CLI::App* cf = app.add_subcommand(
      "configs",
      "Describe or change the dynamic configs of topics and brokers, client quotas and SCRAM "
      "credentials (Kafka's kafka-configs.sh)");
  CLI::Option* cf_bootstrap_opt =
      cf->add_option("--bootstrap-server", cf_bootstrap, "The Strata servers to connect to.");
  CLI::Option* cf_controller_opt = cf->add_option(
      "--bootstrap-controller", cf_controller,
      "The Strata controllers to connect to (their client listeners; as --bootstrap-server).");
  CLI::Option* cf_command_config_opt =
      cf->add_option("--command-config", cf_command_config,
                     "Property file containing configs to be passed to Admin Client: "
                     "security.protocol, ssl.*, sasl.*, request.timeout.ms, retry.backoff.ms.");
  cf->add_flag("--alter", configs.alter, "Alter the configuration for the entity.");
  cf->add_flag("--describe", configs.describe, "List configs for the given entity.");
  cf->add_flag("--all", configs.all,
               "List all configs for the given entity, including static configs if available.");
  Repeated(cf, "--entity-type", configs.entity_types,
           "Type of entity (topics/clients/users/brokers)");
  Repeated(cf, "--entity-name", configs.entity_names,
           "Name of entity (topic name/client id/user principal name/broker id)");
  cf->add_flag("--entity-default", configs.entity_default,
               "Default entity name for clients/users/brokers (applies to corresponding entity "
               "type)");
  CLI::Option* cf_add_opt = cf->add_option(
      "--add-config", cf_add,
      "Key Value pairs of configs to add. Square brackets can be used to group values which "
      "contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.");
  CLI::Option* cf_add_file_opt =
      cf->add_option("--add-config-file", cf_add_file,
                     "Path to a properties file with configs to add. See add-config for a list of "
                     "valid configurations.");
  Repeated(cf, "--delete-config", configs.delete_config, "config keys to remove 'k1,k2'");
  cf->add_flag("--force", configs.force, "Suppress console prompts");
  CLI::Option* cf_topic_opt = cf->add_option("--topic", cf_topic, "The topic's name.");
  CLI::Option* cf_broker_opt = cf->add_option("--broker", cf_broker, "The broker's ID.");
  cf->add_flag("--broker-defaults", configs.broker_defaults,
               "The config defaults for all brokers.");
  std::string cf_client, cf_user;
  CLI::Option* cf_client_opt = cf->add_option("--client", cf_client, "The client's ID.");
  CLI::Option* cf_user_opt = cf->add_option("--user", cf_user, "The user's principal name.");
  cf->add_flag("--client-defaults", configs.client_defaults,
               "The config defaults for all clients.");
  cf->add_flag("--user-defaults", configs.user_defaults, "The config defaults for all users.");
  // Kafka's entity flags for what Strata does not have: refused by name.
  const std::vector<std::pair<std::string, std::string>> cf_other_flags = {
      {"--broker-logger", "broker-loggers"},
      {"--ip", "ips"},
      {"--client-metrics", "client-metrics"},
      {"--group", "groups"}};
  const std::vector<std::pair<std::string, std::string>> cf_other_defaults = {
      {"--ip-defaults", "ips"}};
  std::vector<CLI::Option*> cf_other_opts;
  cf_other_values.resize(cf_other_flags.size());
  for (size_t i = 0; i < cf_other_flags.size(); ++i) {
    cf_other_opts.push_back(
        cf->add_option(cf_other_flags[i].first, cf_other_values[i], "Not supported by Strata."));
  }
  bool cf_other_default_set[1] = {false};
  for (size_t i = 0; i < cf_other_defaults.size(); ++i) {
    cf_other_opts.push_back(cf->add_flag(cf_other_defaults[i].first, cf_other_default_set[i],
                                         "Not supported by Strata."));
  }
  cf->callback([&] {
    if (*cf_bootstrap_opt) configs.bootstrap_server = cf_bootstrap;
    if (*cf_controller_opt) configs.bootstrap_controller = cf_controller;
    if (*cf_command_config_opt) configs.command_config = cf_command_config;
    if (*cf_add_opt) configs.add_config = cf_add;
    if (*cf_add_file_opt) configs.add_config_file = cf_add_file;
    if (*cf_topic_opt) configs.topic = cf_topic;
    if (*cf_broker_opt) configs.broker = cf_broker;
    if (*cf_client_opt) configs.client = cf_client;
    if (*cf_user_opt) configs.user = cf_user;
    for (size_t i = 0; i < cf_other_opts.size(); ++i) {
      if (!*cf_other_opts[i]) continue;
      configs.other_entity_types.push_back(
          i < cf_other_flags.size() ? cf_other_flags[i].second
                                    : cf_other_defaults[i - cf_other_flags.size()].second);
    }
    // The arguments after the subcommand, as Kafka's tool echoes them; and
    // where --entity-default came among the --entity-name values.
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) != "configs") continue;
      size_t names_before = 0;
      for (int j = i + 1; j < argc; ++j) {
        const std::string arg = argv[j];
        configs.args += (j > i + 1 ? " " : "") + arg;
        if (arg == "--entity-default" && !configs.entity_default_position) {
          configs.entity_default_position = names_before;
        }
        if (arg == "--entity-name" || arg.starts_with("--entity-name=")) ++names_before;
      }
      break;
    }
    absl::Status valid = strata::tools::ValidateConfigCommandOptions(configs);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    auto admin = MakeAdmin(
        configs.bootstrap_server ? *configs.bootstrap_server : *configs.bootstrap_controller,
        configs.command_config);
    exit_code = admin ? strata::tools::RunConfigCommand(*admin, configs, std::cout, std::cerr) : 1;
  });

  // ---- consumer-groups
  strata::tools::ConsumerGroupOptions groups;
  std::string groups_state;
  int64_t groups_to_offset = 0;
  int64_t groups_shift_by = 0;
  std::string groups_to_datetime, groups_by_duration, groups_from_file, groups_command_config;
  CLI::App* cg = app.add_subcommand(
      "consumer-groups",
      "List, describe, delete consumer groups or reset their offsets (kafka-consumer-groups.sh)");
  cg->add_option("--bootstrap-server", groups.bootstrap_server,
                 "REQUIRED: The server(s) to connect to.");
  cg->add_flag("--list", groups.list, "List all consumer groups.");
  cg->add_flag("--describe", groups.describe,
               "Describe consumer group and list offset lag (number of messages not yet "
               "processed) related to given group.");
  cg->add_flag("--delete", groups.remove,
               "Pass in groups to delete topic partition offsets and "
               "ownership information over the entire consumer group.");
  cg->add_flag("--reset-offsets", groups.reset_offsets,
               "Reset offsets of consumer group; --dry-run (the default) plans, --execute "
               "commits, --export prints CSV.");
  cg->add_flag("--delete-offsets", groups.delete_offsets,
               "Delete offsets of consumer group. Supports one consumer group at the time, and "
               "multiple topics.");
  Repeated(cg, "--group", groups.groups, "The consumer group we wish to act on.");
  cg->add_flag("--all-groups", groups.all_groups, "Apply to all consumer groups.");
  Repeated(cg, "--topic", groups.topics,
           "A topic (or topic:0,1,2 for some partitions) to reset or delete offsets of.");
  cg->add_flag("--all-topics", groups.all_topics,
               "Consider all topics assigned to a group in the `reset-offsets` process.");
  cg->add_flag("--members", groups.members, "Describe members of the group.");
  cg->add_flag("--offsets", groups.offsets,
               "Describe the group's partitions with their offset lag (the default).");
  cg->add_flag("--verbose", groups.verbose, "With --members: each member's assignment.");
  CLI::Option* cg_state = cg->add_option("--state", groups_state,
                                         "With --describe: the group's state. With --list: each "
                                         "group's state, optionally only these (stable,empty)")
                              ->expected(0, 1);
  cg->add_flag("--dry-run", groups.dry_run, "Only show the offsets a reset would commit.");
  cg->add_flag("--execute", groups.execute, "Commit the reset offsets.");
  cg->add_flag("--export", groups.export_csv, "Print the reset plan as CSV.");
  CLI::Option* cg_to_offset =
      cg->add_option("--to-offset", groups_to_offset, "Reset offsets to a specific offset.");
  CLI::Option* cg_shift_by = cg->add_option(
      "--shift-by", groups_shift_by, "Reset offsets shifting current offset by 'n' (+ or -).");
  CLI::Option* cg_to_datetime =
      cg->add_option("--to-datetime", groups_to_datetime,
                     "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'");
  CLI::Option* cg_by_duration = cg->add_option(
      "--by-duration", groups_by_duration,
      "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'");
  CLI::Option* cg_from_file = cg->add_option("--from-file", groups_from_file,
                                             "Reset offsets to values defined in CSV file.");
  cg->add_flag("--to-earliest", groups.to_earliest, "Reset offsets to earliest offset.");
  cg->add_flag("--to-latest", groups.to_latest, "Reset offsets to latest offset.");
  cg->add_flag("--to-current", groups.to_current, "Reset offsets to current offset.");
  cg->add_option("--timeout", groups.timeout_ms, "Timeout of each request in ms (default 5000).");
  CLI::Option* cg_command_config = cg->add_option("--command-config", groups_command_config,
                                                  "Property file for the admin client: "
                                                  "security.protocol, ssl.*, sasl.*, ...");
  cg->callback([&] {
    if (*cg_state) groups.state = groups_state;
    if (*cg_to_offset) groups.to_offset = groups_to_offset;
    if (*cg_shift_by) groups.shift_by = groups_shift_by;
    if (*cg_to_datetime) groups.to_datetime = groups_to_datetime;
    if (*cg_by_duration) groups.by_duration = groups_by_duration;
    if (*cg_from_file) groups.from_file = groups_from_file;
    if (*cg_command_config) groups.command_config = groups_command_config;
    std::vector<std::string> warnings;
    absl::Status valid = strata::tools::ValidateConsumerGroupOptions(groups, &warnings);
    for (const auto& w : warnings) std::cerr << w << "\n";
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    absl::StatusOr<AdminConfig> config =
        strata::tools::AdminConfigFor(groups.bootstrap_server, groups.command_config);
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      exit_code = 1;
      return;
    }
    config->request_timeout = absl::Milliseconds(groups.timeout_ms);
    absl::StatusOr<std::unique_ptr<Admin>> admin = Admin::Create(*config);
    if (!admin.ok()) {
      std::cerr << admin.status().message() << "\n";
      exit_code = 1;
      return;
    }
    exit_code = strata::tools::RunConsumerGroups(**admin, groups, std::cout, std::cerr);
  });

  // ---- producer-perf-test
  strata::tools::ProducerPerfOptions perf;
  CLI::App* perf_test =
      app.add_subcommand("producer-perf-test", "Measure produce throughput and latency");
  perf_test->add_option("--topic", perf.topic, "REQUIRED: The topic to produce to")->required();
  perf_test->add_option("--num-records", perf.num_records, "REQUIRED: How many records to send")
      ->required();
  perf_test->add_option("--record-size", perf.record_size, "The size of each record in bytes");
  perf_test
      ->add_option("--throughput", perf.throughput,
                   "REQUIRED: Records per second to aim for; -1 for no limit")
      ->required();
  perf_test
      ->add_option("--producer-props", perf.producer_props,
                   "Producer properties key=value (bootstrap.servers=H:P, acks=1, ...)")
      ->expected(1, 1000);
  perf_test->add_option("--bootstrap-server", perf.bootstrap_server, "The server(s) to connect to");
  perf_test->add_option("--producer.config", perf.producer_config,
                        "Producer config properties file (security.protocol, ssl.*, sasl.*, ...); "
                        "--producer-props win over it.");
  perf_test->add_option("--payload-file", perf.payload_file,
                        "A file of payloads, split at --payload-delimiter; each record's value is "
                        "one of them, picked at random");
  perf_test->add_option("--payload-delimiter", perf.payload_delimiter,
                        "The delimiter of --payload-file's payloads (default: a newline)");
  perf_test->add_option(
      "--transactional-id", perf.transactional_id,
      "The transactional id to use. This config takes precedence over the transactional.id "
      "specified via --producer-props. Note that if the transactional id is not specified while "
      "--transaction-duration-ms is provided, the default value for the transactional id will be "
      "performance-producer- followed by a random uuid.");
  perf_test->add_option(
      "--transaction-duration-ms", perf.transaction_duration_ms,
      "The max age of each transaction. The commitTransaction will be called after this time has "
      "elapsed. The value should be greater than 0. If the transactional id is specified via "
      "--producer-props or --transactional-id but --transaction-duration-ms is not specified, the "
      "default value will be 3000.");
  perf_test->add_option("--transaction-records", perf.transaction_records,
                        "Strata's: commit every N records (instead of every 3000 ms; with "
                        "--transaction-duration-ms, whichever comes first)");
  perf_test->callback(
      [&] { exit_code = strata::tools::RunProducerPerfTest(perf, std::cout, std::cerr); });

  // ---- consumer-perf-test
  strata::tools::ConsumerPerfOptions cperf;
  CLI::App* cperf_test = app.add_subcommand(
      "consumer-perf-test",
      "Measure consume throughput as a member of a consumer group (kafka-consumer-perf-test.sh)");
  cperf_test
      ->add_option("--bootstrap-server", cperf.bootstrap_server,
                   "REQUIRED: The server(s) to connect to.")
      ->required();
  cperf_test->add_option("--topic", cperf.topic, "REQUIRED: The topic to consume from.")
      ->required();
  cperf_test
      ->add_option("--messages", cperf.messages, "REQUIRED: The number of messages to consume.")
      ->required();
  cperf_test->add_option("--group", cperf.group,
                         "The group id to consume on (default: perf-consumer-<random>).");
  cperf_test->add_option("--timeout", cperf.timeout_ms,
                         "The maximum allowed time in milliseconds between returned records "
                         "(default 10000).");
  cperf_test->add_option("--fetch-size", cperf.fetch_size,
                         "The amount of data to fetch in a single request (default 1048576).");
  cperf_test->add_flag("--from-latest", cperf.from_latest,
                       "If the consumer does not already have an established offset to consume "
                       "from, start with the latest message present in the log rather than the "
                       "earliest message.");
  cperf_test->add_flag("--show-detailed-stats", cperf.show_detailed_stats,
                       "If set, stats are reported for each reporting interval as configured by "
                       "reporting-interval");
  cperf_test->add_option(
      "--reporting-interval", cperf.reporting_interval_ms,
      "Interval in milliseconds at which to print progress info (default 5000).");
  cperf_test->add_flag("--hide-header", cperf.hide_header,
                       "If set, skips printing the header for the stats");
  cperf_test->add_option("--consumer.config", cperf.consumer_config,
                         "Consumer config properties file.");
  cperf_test
      ->add_option("--consumer-props", cperf.consumer_props,
                   "Consumer properties key=value (Strata's; --consumer.config is Kafka's)")
      ->expected(1, 1000);
  cperf_test->callback(
      [&] { exit_code = strata::tools::RunConsumerPerfTest(cperf, std::cout, std::cerr); });

  // ---- end-to-end-latency (Kafka's EndToEndLatency, kafka-e2e-latency.sh)
  strata::tools::EndToEndLatencyOptions e2e;
  CLI::App* e2e_latency =
      app.add_subcommand("end-to-end-latency",
                         "Measure the latency of one record at a time from producer to consumer "
                         "(Kafka's EndToEndLatency)");
  e2e_latency
      ->add_option("--bootstrap-server", e2e.bootstrap_server,
                   "REQUIRED: The Strata server(s) to connect to.")
      ->required();
  e2e_latency
      ->add_option("--topic", e2e.topic,
                   "REQUIRED: The topic to use for the test (created with 1 partition if missing).")
      ->required();
  e2e_latency
      ->add_option("--num-records", e2e.num_records, "REQUIRED: The number of records to send.")
      ->required();
  e2e_latency
      ->add_option("--producer-acks", e2e.producer_acks,
                   "REQUIRED: Producer acknowledgements: 0, 1, -1 or all.")
      ->required();
  e2e_latency
      ->add_option("--record-size", e2e.record_size, "REQUIRED: The size of each record in bytes.")
      ->required();
  CommandConfig(e2e_latency, &e2e.command_config)
      ->description(
          "Property file containing configs to be passed to the admin client, the producer and "
          "the consumer: security.protocol, ssl.*, sasl.*, ...");
  e2e_latency->callback(
      [&] { exit_code = strata::tools::RunEndToEndLatency(e2e, std::cout, std::cerr); });

  // ---- console-producer
  strata::tools::ConsoleProducerOptions prod;
  CLI::App* producer =
      app.add_subcommand("console-producer", "Send records read from stdin, one per line");
  producer
      ->add_option("--bootstrap-server,--broker-list", prod.bootstrap_server,
                   "The server(s) to connect to")
      ->required();
  producer->add_option("--topic", prod.topic, "The topic to produce records to")->required();
  Repeated(producer, "--property", prod.properties,
           "Line reader property: parse.key, key.separator, ignore.error, null.marker");
  Repeated(producer, "--producer-property", prod.producer_properties,
           "A producer property: key=value");
  producer->add_option("--producer.config", prod.producer_config, "Producer properties file");
  producer->add_option("--request-required-acks", prod.acks, "acks (default -1)");
  producer->add_option("--timeout", prod.linger_ms, "linger.ms (default 1000)");
  producer->add_option("--batch-size", prod.batch_size, "batch.size (default 16384)");
  producer->add_option("--max-block-ms", prod.max_block_ms, "max.block.ms (default 60000)");
  producer->add_flag("--sync", prod.sync, "Send each record synchronously");
  producer
      ->add_option("--compression-codec", prod.compression_codec,
                   "The compression codec: none, gzip, snappy, lz4 or zstd; given without a "
                   "value, gzip")
      ->expected(0, 1);
  producer->callback([&] {
    const bool prompt = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    exit_code = strata::tools::RunConsoleProducer(prod, std::cin, std::cout, std::cerr, prompt);
  });

  // ---- console-consumer
  strata::tools::ConsoleConsumerOptions cons;
  CLI::App* consumer = app.add_subcommand("console-consumer", "Print records of a topic to stdout");
  consumer->add_option("--bootstrap-server", cons.bootstrap_server, "The server(s) to connect to");
  consumer->add_option("--topic", cons.topic, "The topic to consume");
  consumer->add_option("--partition", cons.partition,
                       "The partition to consume (default: every partition)");
  consumer->add_option("--offset", cons.offset,
                       "earliest, latest (default), or an offset; needs --partition");
  consumer->add_flag("--from-beginning", cons.from_beginning,
                     "Start with the earliest record rather than the latest");
  consumer->add_option("--max-messages", cons.max_messages,
                       "Exit after this many records (default: no limit)");
  consumer->add_option("--timeout-ms", cons.timeout_ms,
                       "Exit when no record arrived for this many ms");
  consumer->add_option("--group", cons.group, "The consumer group id of the consumer.");
  Repeated(consumer, "--property", cons.properties,
           "Formatter property: print.key, key.separator, print.timestamp, ...");
  Repeated(consumer, "--consumer-property", cons.consumer_properties,
           "A consumer property: key=value");
  consumer->add_option("--consumer.config", cons.consumer_config, "Consumer properties file");
  consumer->add_option("--isolation-level", cons.isolation_level,
                       "Set to read_committed in order to filter out transactional messages which "
                       "are not committed. Set to read_uncommitted to read all messages. "
                       "(default: read_uncommitted)");
  consumer->callback([&] {
    absl::Status valid = strata::tools::ValidateConsoleConsumerOptions(cons);
    if (!valid.ok()) {
      std::cerr << valid.message() << "\n";
      exit_code = 1;
      return;
    }
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    exit_code = strata::tools::RunConsoleConsumer(cons, std::cout, std::cerr, g_stop);
  });

  // ---- delete-records (Kafka's kafka-delete-records.sh)
  std::string dr_bootstrap, dr_json, dr_command_config;
  CLI::App* dr = app.add_subcommand("delete-records",
                                    "Delete the records of partitions below given offsets "
                                    "(Kafka's kafka-delete-records.sh)");
  dr->add_option("--bootstrap-server", dr_bootstrap, "REQUIRED: The server to connect to.")
      ->required();
  dr->add_option("--offset-json-file", dr_json,
                 "REQUIRED: The JSON file with offset per partition. The format to use is:\n"
                 "{\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n"
                 " \"version\":1\n}")
      ->required();
  CLI::Option* dr_command_config_opt =
      dr->add_option("--command-config", dr_command_config,
                     "A property file containing configs to be passed to Admin Client: "
                     "security.protocol, ssl.*, sasl.*, request.timeout.ms, retry.backoff.ms.");
  dr->callback([&] {
    auto admin = MakeAdmin(dr_bootstrap, *dr_command_config_opt
                                             ? std::optional<std::string>(dr_command_config)
                                             : std::nullopt);
    exit_code = admin ? strata::tools::RunDeleteRecords(*admin, dr_json, std::cout, std::cerr) : 1;
  });

  // ---- get-offsets (Kafka 3.x's kafka-get-offsets.sh, GetOffsetShell)
  strata::tools::GetOffsetsOptions go;
  std::string go_topic, go_partitions, go_topic_partitions, go_command_config;
  CLI::App* get_offsets =
      app.add_subcommand("get-offsets",
                         "An interactive shell for getting topic-partition offsets "
                         "(Kafka's kafka-get-offsets.sh)");
  get_offsets
      ->add_option("--bootstrap-server,--broker-list", go.bootstrap_server,
                   "REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2.")
      ->required();
  CLI::Option* go_topic_opt = get_offsets->add_option(
      "--topic", go_topic,
      "The topic to get the offsets for. It also accepts a regular expression. If not present, "
      "all authorized topics are queried. Cannot be used if --topic-partitions is present.");
  CLI::Option* go_partitions_opt = get_offsets->add_option(
      "--partitions", go_partitions,
      "Comma separated list of partition ids to get the offsets for. If not present, all "
      "partitions of the authorized topics are queried. Cannot be used if --topic-partitions is "
      "present.");
  CLI::Option* go_topic_partitions_opt = get_offsets->add_option(
      "--topic-partitions", go_topic_partitions,
      "Comma separated list of topic-partition patterns to get the offsets for, e.g. "
      "topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3");
  get_offsets->add_option("--time", go.time,
                          "timestamp of the offsets before that: <timestamp> / -1 or latest / -2 "
                          "or earliest / -3 or max-timestamp (default: latest)");
  CLI::Option* go_command_config_opt = get_offsets->add_option(
      "--command-config", go_command_config,
      "Property file containing configs to be passed to Admin Client: security.protocol, ssl.*, "
      "sasl.*, request.timeout.ms, retry.backoff.ms.");
  get_offsets->add_flag("--exclude-internal-topics", go.exclude_internal_topics,
                        "By default, internal topics are included. If specified, internal topics "
                        "are excluded.");
  get_offsets->callback([&] {
    if (*go_topic_opt) go.topic = go_topic;
    if (*go_partitions_opt) go.partitions = go_partitions;
    if (*go_topic_partitions_opt) go.topic_partitions = go_topic_partitions;
    auto admin = MakeAdmin(go.bootstrap_server, *go_command_config_opt
                                                    ? std::optional<std::string>(go_command_config)
                                                    : std::nullopt);
    exit_code = admin ? strata::tools::RunGetOffsets(*admin, go, std::cout, std::cerr) : 1;
  });

  // ---- dump-log (Kafka's kafka-dump-log.sh; reads local files, no cluster)
  strata::tools::DumpLogOptions dump;
  std::string dump_files, dump_key_decoder, dump_value_decoder;
  CLI::App* dump_log = app.add_subcommand(
      "dump-log",
      "Parse a log file and dump its contents to the console, useful for debugging "
      "a seemingly corrupt log segment (kafka-dump-log.sh)");
  dump_log
      ->add_option("--files", dump_files,
                   "REQUIRED: The comma separated list of data and index log files to be dumped.")
      ->required();
  dump_log->add_flag("--print-data-log", dump.print_data_log,
                     "If set, printing the messages content when dumping data logs. "
                     "Automatically set if any decoder option is specified.");
  dump_log->add_flag("--deep-iteration", dump.deep_iteration,
                     "If set, uses deep instead of shallow iteration. Automatically set if "
                     "print-data-log is enabled.");
  dump_log->add_flag("--index-sanity-check", dump.index_sanity_check,
                     "If set, just checks the index sanity without printing its content. This is "
                     "the same check that is executed on broker startup to determine if an index "
                     "needs rebuilding or not.");
  dump_log->add_flag("--verify-index-only", dump.verify_index_only,
                     "If set, just verify the index log without printing its content.");
  dump_log->add_flag("--skip-record-metadata", dump.skip_record_metadata,
                     "Whether to skip printing metadata for each record.");
  dump_log->add_option("--max-message-size", dump.max_message_size,
                       "Size of largest message (accepted; Strata needs no limit).");
  dump_log->add_option("--max-bytes", dump.max_bytes,
                       "Limit the amount of total batches read in bytes avoiding reading the "
                       "whole .log file(s).");
  CLI::Option* dump_key_opt =
      dump_log
          ->add_option("--key-decoder-class", dump_key_decoder,
                       "Decoder for the keys: org.apache.kafka.tools.api.StringDecoder "
                       "(default), IntegerDecoder or LongDecoder.")
          ->expected(0, 1);
  CLI::Option* dump_value_opt =
      dump_log
          ->add_option("--value-decoder-class", dump_value_decoder,
                       "Decoder for the values: org.apache.kafka.tools.api.StringDecoder "
                       "(default), IntegerDecoder or LongDecoder.")
          ->expected(0, 1);
  dump_log->add_flag("--offsets-decoder", dump.offsets_decoder, "Not supported.");
  dump_log->add_flag("--transaction-log-decoder", dump.transaction_log_decoder, "Not supported.");
  dump_log->add_flag("--cluster-metadata-decoder", dump.cluster_metadata_decoder, "Not supported.");
  dump_log->add_flag("--remote-log-metadata-decoder", dump.remote_log_metadata_decoder,
                     "Not supported.");
  dump_log->callback([&] {
    dump.files = strata::tools::SplitFilesOption(dump_files);
    if (*dump_key_opt) dump.key_decoder_class = dump_key_decoder;
    if (*dump_value_opt) dump.value_decoder_class = dump_value_decoder;
    exit_code = strata::tools::RunDumpLog(dump, std::cout, std::cerr);
  });

  // ---- transactions (Kafka's kafka-transactions.sh). Its arguments are
  // parsed as Kafka's argparse4j parses them, errors and -h included, so
  // CLI11 hands everything after "transactions" over.
  CLI::App* txn = app.add_subcommand(
      "transactions",
      "List, describe and abort transactions, find hanging ones (Kafka's kafka-transactions.sh)");
  txn->prefix_command();
  txn->set_help_flag();
  txn->callback([&] {
    exit_code = strata::tools::RunTransactionsCommand(txn->remaining(), STRATA_VERSION, std::cout,
                                                      std::cerr);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
