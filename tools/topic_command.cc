#include "tools/topic_command.h"

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/common/numbers.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

constexpr char kErrorPrefix[] = "Error while executing topic command : ";

std::string JoinInts(const google::protobuf::RepeatedField<int32_t>& values) {
  std::string out;
  for (int32_t v : values) {
    if (!out.empty()) out += ',';
    out += std::to_string(v);
  }
  return out;
}

absl::Status Missing(const char* arg) {
  return absl::InvalidArgumentError(fmt::format("Missing required argument \"[{}]\"", arg));
}

absl::Status NotAllowed(const char* option, const char* action) {
  return absl::InvalidArgumentError(
      fmt::format("Option \"[{}]\" can't be used with option \"[{}]\"", option, action));
}

}  // namespace

absl::Status ValidateTopicOptions(const TopicOptions& o) {
  const int actions = int{o.create} + int{o.list} + int{o.describe} + int{o.alter} + int{o.remove};
  if (actions != 1) {
    return absl::InvalidArgumentError(
        "Command must include exactly one action: --list, --describe, --create, --alter or "
        "--delete");
  }
  if (o.bootstrap_server.empty()) return Missing("bootstrap-server");
  if ((o.create || o.alter || o.remove) && !o.topic) return Missing("topic");
  if (o.alter && !o.partitions) return Missing("partitions");
  if (o.partitions && !(o.create || o.alter)) {
    return NotAllowed("partitions", o.list ? "list" : o.describe ? "describe" : "delete");
  }
  if (!o.replica_assignment.empty() && !o.create) {
    // (Kafka also takes it with --alter for the new partitions; the
    // CreatePartitions API here places new partitions itself.)
    return NotAllowed("replica-assignment", o.list       ? "list"
                                            : o.describe ? "describe"
                                            : o.alter    ? "alter"
                                                         : "delete");
  }
  if (o.create && !o.replica_assignment.empty()) {
    if (o.partitions) return NotAllowed("replica-assignment", "partitions");
    if (o.replication_factor) return NotAllowed("replica-assignment", "replication-factor");
  }
  if (o.replication_factor && !o.create) {
    return NotAllowed("replication-factor", o.list       ? "list"
                                            : o.describe ? "describe"
                                            : o.alter    ? "alter"
                                                         : "delete");
  }
  if (!o.configs.empty() && !o.create) {
    // Changing configs of a topic is kafka-configs.sh's job in Kafka too.
    return NotAllowed("config", o.list       ? "list"
                                : o.describe ? "describe"
                                : o.alter    ? "alter"
                                             : "delete");
  }
  if (o.if_not_exists && !o.create) return NotAllowed("if-not-exists", "create");
  if (o.if_exists && !(o.alter || o.remove || o.describe)) {
    return NotAllowed("if-exists", o.create ? "create" : "list");
  }
  if (o.partitions && *o.partitions < 1) {
    return absl::InvalidArgumentError("The partitions must be greater than 0");
  }
  if (o.replication_factor && (*o.replication_factor < 1 || *o.replication_factor > 32767)) {
    return absl::InvalidArgumentError(
        "The replication factor must be between 1 and 32767 inclusive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ParseTopicConfigs(
    const std::vector<std::string>& configs) {
  std::map<std::string, std::string> out;
  for (const std::string& c : configs) {
    size_t eq = c.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == c.size()) {
      return absl::InvalidArgumentError(fmt::format(
          "Invalid topic config: all configs to be added must be in the format \"key=val\" "
          "(got '{}').",
          c));
    }
    out[c.substr(0, eq)] = c.substr(eq + 1);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<int32_t>>> ParseReplicaAssignment(const std::string& text) {
  std::vector<std::string> groups = absl::StrSplit(text, ',');
  // Java's String.split drops trailing empty strings.
  while (!groups.empty() && groups.back().empty()) groups.pop_back();
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < groups.size(); ++i) {
    std::vector<std::string> ids = absl::StrSplit(groups[i], ':');
    while (ids.size() > 1 && ids.back().empty()) ids.pop_back();
    std::vector<int32_t> brokers;
    for (const std::string& id : ids) {
      const absl::string_view trimmed = absl::StripAsciiWhitespace(id);
      std::optional<int32_t> broker = ParseInteger<int32_t>(std::string(trimmed));
      if (!broker) {
        return absl::InvalidArgumentError(fmt::format(
            "For input string: \"{}\" (--replica-assignment takes broker ids, commas between "
            "partitions and colons between replicas, e.g. 1:2,2:3)",
            std::string(trimmed)));
      }
      brokers.push_back(*broker);
    }
    std::map<int32_t, int> count;
    for (int32_t b : brokers) ++count[b];
    std::vector<int32_t> repeated;
    for (const auto& [b, n] : count) {
      if (n > 1) repeated.push_back(b);
    }
    if (!repeated.empty()) {
      return absl::InvalidArgumentError(
          "Partition replica lists may not contain duplicate entries: " +
          absl::StrJoin(repeated, ","));
    }
    if (!out.empty() && brokers.size() != out.front().size()) {
      return absl::InvalidArgumentError(fmt::format(
          "Partition {} has different replication factor: [{}]", i, absl::StrJoin(brokers, ", ")));
    }
    out.push_back(std::move(brokers));
  }
  return out;
}

int32_t ReplicationFactorOf(const v1::PartitionDescription& p) {
  if (p.adding_replicas().empty() && p.removing_replicas().empty()) return p.replicas_size();
  return p.replicas_size() - p.adding_replicas_size();
}

std::string FormatTopicHeader(const v1::TopicDescription& topic) {
  std::string configs;
  for (const auto& c : topic.configs()) {
    if (c.is_default()) continue;
    if (!configs.empty()) configs += ',';
    configs += c.name() + "=" + c.value();
  }
  int32_t replication_factor = 0;
  if (topic.partitions_size() > 0) {
    // Kafka shows the first partition's replica count.
    auto first = std::min_element(
        topic.partitions().begin(), topic.partitions().end(),
        [](const auto& a, const auto& b) { return a.partition() < b.partition(); });
    replication_factor = ReplicationFactorOf(*first);
  }
  std::string line = "Topic: " + topic.name();
  if (!topic.topic_id().empty()) line += "\tTopicId: " + topic.topic_id();
  line += fmt::format("\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
                      topic.partitions_size(), replication_factor, configs);
  return line;
}

std::string FormatPartitionLine(const std::string& topic, const v1::PartitionDescription& p) {
  std::string line =
      fmt::format("\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}", topic,
                  p.partition(), p.leader() < 0 ? std::string("none") : std::to_string(p.leader()),
                  JoinInts(p.replicas()), JoinInts(p.isr()));
  // Kafka prints both while the partition has a reassignment under way.
  if (!p.adding_replicas().empty() || !p.removing_replicas().empty()) {
    line += fmt::format("\tAdding Replicas: {}\tRemoving Replicas: {}",
                        JoinInts(p.adding_replicas()), JoinInts(p.removing_replicas()));
  }
  return line;
}

std::string PartitionStateName(v1::PartitionState state) {
  switch (state) {
    case v1::PARTITION_NEW:
      return "New";
    case v1::PARTITION_ONLINE:
      return "Online";
    case v1::PARTITION_OFFLINE:
      return "Offline";
    default:
      return "NonExistent";
  }
}

std::string ReplicaStateName(v1::ReplicaState state) {
  switch (state) {
    case v1::REPLICA_NEW:
      return "New";
    case v1::REPLICA_ONLINE:
      return "Online";
    case v1::REPLICA_OFFLINE:
      return "Offline";
    default:
      return "NonExistent";
  }
}

std::vector<std::string> FormatDescribeTopics(const v1::DescribeTopicsResponse& response,
                                              const TopicOptions& options) {
  const bool filtered = options.unavailable_partitions || options.under_replicated_partitions ||
                        options.under_min_isr_partitions || options.at_min_isr_partitions;
  auto min_isr_of = [](const v1::TopicDescription& t) {
    for (const v1::ConfigEntry& c : t.configs()) {
      if (c.name() == "min.insync.replicas") return std::atoi(c.value().c_str());
    }
    return 1;
  };
  auto wanted = [&](const v1::PartitionDescription& p, int min_isr) {
    if (options.unavailable_partitions && p.state() != v1::PARTITION_ONLINE) return true;
    if (options.under_replicated_partitions && p.isr_size() < ReplicationFactorOf(p)) return true;
    if (options.under_min_isr_partitions && p.isr_size() < min_isr) return true;
    if (options.at_min_isr_partitions && p.isr_size() == min_isr) return true;
    return !filtered;
  };
  auto line = [&](const std::string& topic, const v1::PartitionDescription& p) {
    std::string out = FormatPartitionLine(topic, p);
    if (!options.show_states) return out;
    std::vector<std::string> replicas;
    for (const auto& r : p.replica_states()) {
      replicas.push_back(fmt::format("{}:{}", r.broker_id(), ReplicaStateName(r.state())));
    }
    return fmt::format("{}\tState: {}\tReplicaStates: {}", out, PartitionStateName(p.state()),
                       fmt::join(replicas, ","));
  };
  std::vector<const v1::TopicDescription*> topics;
  for (const auto& t : response.topics()) {
    if (t.error() == v1::NONE) topics.push_back(&t);
  }
  std::sort(topics.begin(), topics.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  std::vector<std::string> lines;
  for (const v1::TopicDescription* t : topics) {
    if (!filtered) lines.push_back(FormatTopicHeader(*t));
    std::vector<const v1::PartitionDescription*> parts;
    const int min_isr = min_isr_of(*t);
    for (const auto& p : t->partitions()) {
      if (wanted(p, min_isr)) parts.push_back(&p);
    }
    std::sort(parts.begin(), parts.end(),
              [](const auto* a, const auto* b) { return a->partition() < b->partition(); });
    for (const auto* p : parts) lines.push_back(line(t->name(), *p));
  }
  return lines;
}

std::string TopicErrorMessage(v1::ErrorCode code, const std::string& server_message,
                              const std::string& topic) {
  switch (code) {
    case v1::TOPIC_ALREADY_EXISTS:
      return fmt::format("Topic '{}' already exists.", topic);
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
      return fmt::format("Topic '{}' does not exist as expected", topic);
    case v1::TOPIC_AUTHORIZATION_FAILED:
    case v1::CLUSTER_AUTHORIZATION_FAILED:
      // As Kafka's tool shows the admin client's exception.
      return KafkaExceptionText(code, server_message);
    default:
      return server_message.empty() ? client::DefaultErrorMessage(code) : server_message;
  }
}

namespace {

int Fail(std::ostream& err, const std::string& message) {
  err << kErrorPrefix << message << "\n";
  return 1;
}

int FailStatus(std::ostream& err, const absl::Status& status, const std::string& topic) {
  v1::ErrorCode code = client::ErrorCodeOf(status);
  if (code == v1::UNKNOWN_SERVER_ERROR && client::IsNetworkError(status)) {
    return Fail(err, std::string(status.message()));
  }
  return Fail(err, TopicErrorMessage(code, std::string(status.message()), topic));
}

bool HasCollidingChars(const std::string& topic) {
  return topic.find('.') != std::string::npos || topic.find('_') != std::string::npos;
}

int Create(client::Admin& admin, const TopicOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::map<std::string, std::string>> configs = ParseTopicConfigs(o.configs);
  if (!configs.ok()) return Fail(err, std::string(configs.status().message()));
  std::vector<std::vector<int32_t>> assignment;
  if (!o.replica_assignment.empty()) {
    absl::StatusOr<std::vector<std::vector<int32_t>>> parsed =
        ParseReplicaAssignment(o.replica_assignment);
    if (!parsed.ok()) return Fail(err, std::string(parsed.status().message()));
    if (parsed->empty()) {
      return Fail(err, "--replica-assignment \"" + o.replica_assignment +
                           "\" names no replicas (e.g. 1:2,2:3: commas between partitions, "
                           "colons between replicas)");
    }
    assignment = *std::move(parsed);
  }
  if (HasCollidingChars(*o.topic)) {
    out << "WARNING: Due to limitations in metric names, topics with a period ('.') or "
           "underscore ('_') could collide. To avoid issues it is best to use either, but not "
           "both.\n";
  }
  absl::StatusOr<v1::TopicResult> result =
      assignment.empty() ? admin.CreateTopic(*o.topic, o.partitions.value_or(-1),
                                             o.replication_factor.value_or(-1), *configs)
                         : admin.CreateTopicWithAssignment(*o.topic, assignment, *configs);
  if (!result.ok()) {
    if (o.if_not_exists && client::ErrorCodeOf(result.status()) == v1::TOPIC_ALREADY_EXISTS) {
      return 0;
    }
    return FailStatus(err, result.status(), *o.topic);
  }
  out << "Created topic " << *o.topic << ".\n";
  return 0;
}

int Describe(client::Admin& admin, const TopicOptions& o, std::ostream& out, std::ostream& err) {
  std::vector<std::string> names;
  if (o.topic) names.push_back(*o.topic);
  absl::StatusOr<v1::DescribeTopicsResponse> response =
      admin.DescribeTopics(names, !o.exclude_internal);
  if (!response.ok()) return FailStatus(err, response.status(), o.topic.value_or(""));
  for (const auto& t : response->topics()) {
    if (t.error() == v1::NONE) continue;
    if (t.error() == v1::UNKNOWN_TOPIC_OR_PARTITION && o.if_exists) continue;
    return Fail(err, TopicErrorMessage(t.error(), t.error_message(), t.name()));
  }
  if (o.topic && response->topics_size() == 0 && !o.if_exists) {
    return Fail(err, TopicErrorMessage(v1::UNKNOWN_TOPIC_OR_PARTITION, "", *o.topic));
  }
  for (const std::string& line : FormatDescribeTopics(*response, o)) out << line << "\n";
  return 0;
}

}  // namespace

int RunTopicCommand(client::Admin& admin, const TopicOptions& o, std::ostream& out,
                    std::ostream& err) {
  if (o.create) return Create(admin, o, out, err);
  if (o.describe) return Describe(admin, o, out, err);
  if (o.list) {
    absl::StatusOr<std::vector<std::string>> names = admin.ListTopics(!o.exclude_internal);
    if (!names.ok()) return FailStatus(err, names.status(), "");
    for (const std::string& n : *names) out << n << "\n";
    return 0;
  }
  absl::Status status =
      o.alter ? admin.CreatePartitions(*o.topic, *o.partitions) : admin.DeleteTopic(*o.topic);
  if (!status.ok()) {
    if (o.if_exists && client::ErrorCodeOf(status) == v1::UNKNOWN_TOPIC_OR_PARTITION) return 0;
    return FailStatus(err, status, *o.topic);
  }
  return 0;
}

}  // namespace strata::tools
