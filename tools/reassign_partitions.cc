#include "tools/reassign_partitions.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/common/numbers.h"
#include "client/common/replica_assignment.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tools/json_input.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

using nlohmann::json;

constexpr char kAnyLogDir[] = "any";
constexpr char kLeaderThrottledRate[] = "leader.replication.throttled.rate";
constexpr char kFollowerThrottledRate[] = "follower.replication.throttled.rate";
constexpr char kLeaderThrottledReplicas[] = "leader.replication.throttled.replicas";
constexpr char kFollowerThrottledReplicas[] = "follower.replication.throttled.replicas";

constexpr char kCannotExecuteBecauseOfExisting[] =
    "Cannot execute because there is an existing partition assignment.  Use --additional to "
    "override this and create a new partition assignment in addition to the existing one. The "
    "--additional flag can also be used to change the throttle by resubmitting the current "
    "reassignment.";

// How long --verify's progress waits for each broker's DescribeLogDirs
// answer before its line says the broker could not be asked.
constexpr absl::Duration kProgressTimeout = absl::Milliseconds(2500);

constexpr char kMustRunVerifyPeriodically[] =
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure "
    "the throttle is removed.";

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string Join(const std::vector<int32_t>& ids) { return absl::StrJoin(ids, ","); }

// Java's List.toString: "[1, 2]".
template <typename T>
std::string JavaList(const std::vector<T>& values) {
  return "[" + absl::StrJoin(values, ", ") + "]";
}

// ---- JSON

// A value as it appears in the file, shortened for a message (at a
// character boundary: UTF-8 continuation bytes are not cut off).
std::string Shown(const json& value) {
  std::string s = value.dump();
  if (s.size() > 40) {
    size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::optional<int32_t> AsInt32(const json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v <= static_cast<uint64_t>(INT32_MAX)) return static_cast<int32_t>(v);
    return std::nullopt;
  }
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (v >= INT32_MIN && v <= INT32_MAX) return static_cast<int32_t>(v);
  }
  return std::nullopt;
}

// The "version" field: 1 when absent, as Kafka's EARLIEST_VERSION.
absl::Status CheckVersion(const json& root) {
  auto it = root.find("version");
  if (it == root.end()) return absl::OkStatus();
  std::optional<int32_t> version = AsInt32(*it);
  if (!version) {
    return Invalid(fmt::format("The \"version\" field must be an integer, not {}", Shown(*it)));
  }
  if (*version != 1) return Invalid(fmt::format("Not supported version field value {}", *version));
  return absl::OkStatus();
}

// ---- Printing

void PrintLines(std::ostream& out, const std::vector<std::string>& lines) {
  for (const std::string& l : lines) out << l << "\n";
}

std::string PartitionNames(const std::vector<TopicPartition>& parts, const char* separator) {
  std::vector<std::string> names;
  names.reserve(parts.size());
  for (const TopicPartition& tp : parts) names.push_back(tp.ToString());
  return absl::StrJoin(names, separator);
}

int Fail(std::ostream& err, const std::string& message) {
  err << message << "\n";
  return 1;
}

// Kafka's tool prints "Error: " before the message of any exception that
// is not a TerseException.
int FailError(std::ostream& err, const absl::Status& status) {
  return Fail(err, "Error: " + std::string(status.message()));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("Unable to read the file {}: {}", path, std::strerror(errno)));
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<Assignment> ReadTargets(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<PartitionTarget>> targets = ParseReassignmentJson(*text);
  if (!targets.ok()) return targets.status();
  return CheckReassignmentTargets(*targets);
}

std::vector<std::string> TopicsOf(const Assignment& assignment) {
  std::vector<std::string> topics;
  for (const auto& [tp, replicas] : assignment) {
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  return topics;
}

std::map<TopicPartition, v1::OngoingPartitionReassignment> OngoingByPartition(
    const v1::ListPartitionReassignmentsResponse& ongoing) {
  std::map<TopicPartition, v1::OngoingPartitionReassignment> out;
  for (const auto& t : ongoing.topics()) {
    for (const auto& p : t.partitions()) {
      out[TopicPartition{t.name(), PartitionId(p.partition())}] = p;
    }
  }
  return out;
}

// The reassignments the controller lists as under way, by partition.
using Ongoing = std::map<TopicPartition, v1::OngoingPartitionReassignment>;
absl::StatusOr<Ongoing> ListOngoing(client::Admin& admin) {
  absl::StatusOr<v1::ListPartitionReassignmentsResponse> listed =
      admin.ListPartitionReassignments();
  if (!listed.ok()) return listed.status();
  return OngoingByPartition(*listed);
}

// The first per-resource error of an IncrementalAlterConfigs answer.
absl::Status ConfigErrors(const v1::IncrementalAlterConfigsResponse& response) {
  for (const auto& r : response.responses()) {
    if (r.error() == v1::NONE) continue;
    const absl::Status s = client::ErrorToStatus(r.error(), r.error_message());
    return absl::Status(
        s.code(), fmt::format("Failed to alter the configs of {} {}: {}",
                              r.resource_type() == v1::CONFIG_RESOURCE_BROKER ? "broker" : "topic",
                              r.resource_name(), std::string(s.message())));
  }
  return absl::OkStatus();
}

absl::Status AlterConfigs(client::Admin& admin, const v1::IncrementalAlterConfigsRequest& request) {
  if (request.resources().empty()) return absl::OkStatus();
  absl::StatusOr<v1::IncrementalAlterConfigsResponse> response =
      admin.IncrementalAlterConfigs(request);
  if (!response.ok()) return response.status();
  return ConfigErrors(*response);
}

void AddConfig(v1::AlterConfigsResource* resource, const std::string& name, v1::AlterConfigOp op,
               const std::string& value = "") {
  v1::AlterableConfig* c = resource->add_configs();
  c->set_name(name);
  c->set_op(op);
  if (op == v1::CONFIG_SET) c->set_value(value);
}

// Kafka's clearAllThrottles: the broker-level throttle rates of every
// broker (those registered and those the targets name), then the
// throttled-replica lists of the targets' topics.
absl::Status ClearAllThrottles(client::Admin& admin, const Assignment& targets, std::ostream& out) {
  absl::StatusOr<v1::DescribeClusterResponse> cluster = admin.DescribeCluster();
  if (!cluster.ok()) return cluster.status();
  std::set<int32_t> brokers;
  for (const auto& b : cluster->brokers()) brokers.insert(b.id());
  for (const auto& [tp, replicas] : targets) brokers.insert(replicas.begin(), replicas.end());
  out << fmt::format("Clearing broker-level throttles on broker{} {}\n",
                     brokers.size() == 1 ? "" : "s", absl::StrJoin(brokers, ","));
  v1::IncrementalAlterConfigsRequest broker_request;
  for (int32_t id : brokers) {
    v1::AlterConfigsResource* r = broker_request.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_BROKER);
    r->set_resource_name(std::to_string(id));
    AddConfig(r, kLeaderThrottledRate, v1::CONFIG_DELETE);
    AddConfig(r, kFollowerThrottledRate, v1::CONFIG_DELETE);
  }
  if (absl::Status s = AlterConfigs(admin, broker_request); !s.ok()) return s;

  const std::vector<std::string> topics = TopicsOf(targets);
  out << fmt::format("Clearing topic-level throttles on topic{} {}\n",
                     topics.size() == 1 ? "" : "s", absl::StrJoin(topics, ","));
  v1::IncrementalAlterConfigsRequest topic_request;
  for (const std::string& t : topics) {
    v1::AlterConfigsResource* r = topic_request.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_TOPIC);
    r->set_resource_name(t);
    AddConfig(r, kLeaderThrottledReplicas, v1::CONFIG_DELETE);
    AddConfig(r, kFollowerThrottledReplicas, v1::CONFIG_DELETE);
  }
  return AlterConfigs(admin, topic_request);
}

// Kafka's modifyReassignmentThrottle: the moving topics' throttled-replica
// lists, then the rate on every broker a move touches.
absl::Status SetReassignmentThrottle(client::Admin& admin, const MoveMap& moves, int64_t rate,
                                     std::ostream& out) {
  const std::map<std::string, std::string> leaders = CalculateLeaderThrottles(moves);
  const std::map<std::string, std::string> followers = CalculateFollowerThrottles(moves);
  v1::IncrementalAlterConfigsRequest topic_request;
  for (const auto& [topic, leader] : leaders) {
    v1::AlterConfigsResource* r = topic_request.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_TOPIC);
    r->set_resource_name(topic);
    AddConfig(r, kLeaderThrottledReplicas, v1::CONFIG_SET, leader);
    auto f = followers.find(topic);
    AddConfig(r, kFollowerThrottledReplicas, v1::CONFIG_SET,
              f == followers.end() ? std::string() : f->second);
  }
  if (absl::Status s = AlterConfigs(admin, topic_request); !s.ok()) return s;

  v1::IncrementalAlterConfigsRequest broker_request;
  for (int32_t id : CalculateReassigningBrokers(moves)) {
    v1::AlterConfigsResource* r = broker_request.add_resources();
    r->set_resource_type(v1::CONFIG_RESOURCE_BROKER);
    r->set_resource_name(std::to_string(id));
    AddConfig(r, kLeaderThrottledRate, v1::CONFIG_SET, std::to_string(rate));
    AddConfig(r, kFollowerThrottledRate, v1::CONFIG_SET, std::to_string(rate));
  }
  if (absl::Status s = AlterConfigs(admin, broker_request); !s.ok()) return s;
  out << "The inter-broker throttle limit was set to " << rate << " B/s\n";
  return absl::OkStatus();
}

// The error of each partition in an AlterPartitionReassignments answer
// (a partition the answer leaves out is an error too).
std::map<TopicPartition, std::string> PartitionErrors(
    const std::vector<TopicPartition>& asked,
    const v1::AlterPartitionReassignmentsResponse& response) {
  std::map<TopicPartition, std::string> errors;
  std::set<TopicPartition> answered;
  for (const auto& t : response.responses()) {
    for (const auto& p : t.partitions()) {
      TopicPartition tp{t.name(), PartitionId(p.partition())};
      answered.insert(tp);
      if (p.error() != v1::NONE) {
        errors[tp] = std::string(client::ErrorToStatus(p.error(), p.error_message()).message());
      }
    }
  }
  for (const TopicPartition& tp : asked) {
    if (!answered.contains(tp)) errors[tp] = "The server sent no result for this partition";
  }
  return errors;
}

v1::AlterPartitionReassignmentsRequest AlterRequest(const Assignment& targets, bool cancel) {
  v1::AlterPartitionReassignmentsRequest request;
  v1::ReassignableTopic* topic = nullptr;
  for (const auto& [tp, replicas] : targets) {
    if (topic == nullptr || topic->name() != tp.topic) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    v1::ReassignablePartition* p = topic->add_partitions();
    p->set_partition(tp.partition.value());
    if (cancel) {
      p->set_cancel(true);
    } else {
      for (int32_t r : replicas) p->add_replicas(r);
    }
  }
  return request;
}

std::string ErrorLines(const std::map<TopicPartition, std::string>& errors) {
  std::vector<std::string> lines;
  for (const auto& [tp, message] : errors) lines.push_back(tp.ToString() + ": " + message);
  return absl::StrJoin(lines, "\n");
}

// ---- Actions

int Generate(client::Admin& admin, const ReassignOptions& o, std::ostream& out, std::ostream& err,
             const std::function<int32_t(int32_t)>& random_below) {
  absl::StatusOr<std::vector<int32_t>> brokers = ParseBrokerList(*o.broker_list);
  if (!brokers.ok()) return FailError(err, brokers.status());
  absl::StatusOr<std::string> text = ReadFile(*o.topics_to_move_json_file);
  if (!text.ok()) return FailError(err, text.status());
  absl::StatusOr<std::vector<std::string>> topics = ParseTopicsToMoveJson(*text);
  if (!topics.ok()) return FailError(err, topics.status());

  Assignment current;
  if (!topics->empty()) {  // (no names would describe every topic)
    absl::StatusOr<v1::DescribeTopicsResponse> described = admin.DescribeTopics(*topics, true);
    if (!described.ok()) return FailError(err, described.status());
    for (const std::string& t : *topics) {
      auto it = std::find_if(described->topics().begin(), described->topics().end(),
                             [&](const v1::TopicDescription& d) { return d.name() == t; });
      if (it == described->topics().end() || it->error() == v1::UNKNOWN_TOPIC_OR_PARTITION) {
        return FailError(err, Invalid(fmt::format("Topic {} not found.", t)));
      }
      if (it->error() != v1::NONE) {
        return FailError(err, client::ErrorToStatus(it->error(), it->error_message()));
      }
    }
    current = AssignmentOf(*described);
  }

  absl::StatusOr<v1::DescribeClusterResponse> cluster = admin.DescribeCluster();
  if (!cluster.ok()) return FailError(err, cluster.status());
  // Kafka's getBrokerMetadata: the brokers of the list the cluster knows,
  // running (Kafka's cluster description leaves fenced brokers out; a move
  // onto a stopped broker would not finish).
  const std::set<int32_t> wanted(brokers->begin(), brokers->end());
  std::vector<int32_t> selected;
  for (const auto& b : cluster->brokers()) {
    if (wanted.contains(b.id()) && !b.fenced()) selected.push_back(b.id());
  }
  std::sort(selected.begin(), selected.end());

  absl::StatusOr<Assignment> proposed = ProposeAssignment(current, selected, random_below);
  if (!proposed.ok()) return FailError(err, proposed.status());
  out << "Current partition replica assignment\n" << FormatReassignmentJson(current) << "\n\n";
  out << "Proposed partition reassignment configuration\n"
      << FormatReassignmentJson(*proposed) << "\n";
  return 0;
}

int Execute(client::Admin& admin, const ReassignOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Assignment> targets = ReadTargets(*o.reassignment_json_file);
  if (!targets.ok()) return FailError(err, targets.status());

  absl::StatusOr<v1::ListPartitionReassignmentsResponse> ongoing =
      admin.ListPartitionReassignments();
  if (!ongoing.ok()) return FailError(err, ongoing.status());
  if (!o.additional && !OngoingByPartition(*ongoing).empty()) {
    return Fail(err, kCannotExecuteBecauseOfExisting);
  }

  absl::StatusOr<v1::DescribeClusterResponse> cluster = admin.DescribeCluster();
  if (!cluster.ok()) return FailError(err, cluster.status());
  absl::StatusOr<v1::DescribeTopicsResponse> described =
      admin.DescribeTopics(TopicsOf(*targets), true);
  if (!described.ok()) return FailError(err, described.status());
  absl::StatusOr<Assignment> current = CheckAgainstCluster(*targets, *described, *cluster);
  if (!current.ok()) return FailError(err, current.status());

  out << "Current partition replica assignment\n\n"
      << FormatReassignmentJson(*current)
      << "\n\nSave this to use as the --reassignment-json-file option during rollback\n";

  const int64_t throttle = o.throttle.value_or(-1);
  const int64_t log_dir_throttle = o.replica_alter_log_dirs_throttle.value_or(-1);
  if (throttle >= 0 || log_dir_throttle >= 0) {
    out << kMustRunVerifyPeriodically << "\n";
    if (throttle >= 0) {
      const MoveMap moves = CalculateProposedMoves(*ongoing, *targets, *current);
      if (absl::Status s = SetReassignmentThrottle(admin, moves, throttle, out); !s.ok()) {
        return FailError(err, s);
      }
    }
    if (log_dir_throttle >= 0) {
      // No replica changes log directory here (log_dirs are all "any"), so
      // no broker gets replica.alter.log.dirs.io.max.bytes.per.second, as
      // in Kafka when no log dir moves.
      out << "The replica-alter-dir throttle limit was set to " << log_dir_throttle << " B/s\n";
    }
  }

  absl::StatusOr<v1::AlterPartitionReassignmentsResponse> response =
      admin.AlterPartitionReassignments(AlterRequest(*targets, /*cancel=*/false));
  if (!response.ok()) return FailError(err, response.status());
  std::vector<TopicPartition> parts;
  for (const auto& [tp, replicas] : *targets) parts.push_back(tp);
  const std::map<TopicPartition, std::string> errors = PartitionErrors(parts, *response);
  if (!errors.empty()) return Fail(err, "Error reassigning partition(s):\n" + ErrorLines(errors));
  out << fmt::format("Successfully started partition reassignment{} for {}\n",
                     parts.size() == 1 ? "" : "s", PartitionNames(parts, ","));
  return 0;
}

// `tp`'s size in `answer` (its log dirs that answered, summed: a partition
// lives in one); nullopt when the broker does not list it.
std::optional<int64_t> SizeOf(const v1::DescribeLogDirsResponse& answer, const TopicPartition& tp) {
  std::optional<int64_t> size;
  for (const v1::LogDirDescription& dir : answer.log_dirs()) {
    if (dir.error() != v1::NONE) continue;
    for (const v1::LogDirTopic& t : dir.topics()) {
      if (t.name() != tp.topic) continue;
      for (const v1::LogDirPartition& p : t.partitions()) {
        if (p.partition() == tp.partition.value() && !p.is_future()) {
          size = size.value_or(0) + p.size();
        }
      }
    }
  }
  return size;
}

// The copy progress of each move in `states` still in progress (Strata's
// line after Kafka's): the leaders from DescribeTopics, the log sizes from
// DescribeLogDirs of the leaders and of the brokers being added. What
// cannot be learnt is said on the partition's line; nothing here fails the
// command.
void AddProgress(client::Admin& admin, const Ongoing& ongoing,
                 std::map<TopicPartition, PartitionReassignmentState>* states) {
  std::vector<TopicPartition> moving;
  std::vector<std::string> topics;
  for (auto& [tp, state] : *states) {
    auto it = ongoing.find(tp);
    if (state.done || it == ongoing.end()) continue;
    ReassignmentProgress& p = state.progress.emplace();
    p.adding.assign(it->second.adding_replicas().begin(), it->second.adding_replicas().end());
    if (p.adding.empty()) continue;
    moving.push_back(tp);
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  if (moving.empty()) return;
  auto unknown = [&](const std::string& why) {
    for (const TopicPartition& tp : moving) states->at(tp).progress->unknown = why;
  };
  absl::StatusOr<v1::DescribeTopicsResponse> described = admin.DescribeTopics(topics, true);
  if (!described.ok()) {
    unknown(fmt::format("the leaders could not be looked up: {}",
                        std::string(described.status().message())));
    return;
  }
  std::map<TopicPartition, int32_t> leaders;
  for (const v1::TopicDescription& t : described->topics()) {
    for (const v1::PartitionDescription& p : t.partitions()) {
      leaders[TopicPartition{t.name(), PartitionId(p.partition())}] = p.leader();
    }
  }
  std::set<int32_t> brokers;
  for (const TopicPartition& tp : moving) {
    ReassignmentProgress& p = *states->at(tp).progress;
    auto it = leaders.find(tp);
    p.leader = it == leaders.end() ? -1 : it->second;
    if (p.leader >= 0) brokers.insert(p.leader);
    brokers.insert(p.adding.begin(), p.adding.end());
  }
  // Each broker bounded on its own (kProgressTimeout): a broker killed but
  // not yet fenced would otherwise hold --verify for request.timeout.ms.
  absl::StatusOr<std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>> answers =
      admin.DescribeLogDirs({brokers.begin(), brokers.end()}, moving, kProgressTimeout);
  if (!answers.ok()) {
    unknown(
        fmt::format("the brokers could not be asked: {}", std::string(answers.status().message())));
    return;
  }
  for (const TopicPartition& tp : moving) AddLogDirSizes(tp, *answers, &*states->at(tp).progress);
}

int Verify(client::Admin& admin, const ReassignOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Assignment> targets = ReadTargets(*o.reassignment_json_file);
  if (!targets.ok()) return FailError(err, targets.status());
  absl::StatusOr<Ongoing> listed = ListOngoing(admin);
  if (!listed.ok()) return FailError(err, listed.status());
  const Ongoing& ongoing = *listed;

  std::map<TopicPartition, PartitionReassignmentState> states;
  std::vector<std::string> to_look_up;
  for (const auto& [tp, target] : *targets) {
    auto it = ongoing.find(tp);
    if (it != ongoing.end()) {
      states[tp] = {{it->second.replicas().begin(), it->second.replicas().end()},
                    target,
                    false,
                    std::nullopt};
    } else if (to_look_up.empty() || to_look_up.back() != tp.topic) {
      to_look_up.push_back(tp.topic);
    }
  }
  if (!to_look_up.empty()) {
    absl::StatusOr<v1::DescribeTopicsResponse> described = admin.DescribeTopics(to_look_up, true);
    if (!described.ok()) return FailError(err, described.status());
    const Assignment now = AssignmentOf(*described);
    for (const auto& [tp, target] : *targets) {
      if (states.contains(tp)) continue;
      // Kafka: a topic or partition that is not there has no replicas.
      auto it = now.find(tp);
      states[tp] = {it == now.end() ? std::vector<int32_t>() : it->second, target, true,
                    std::nullopt};
    }
  }
  AddProgress(admin, ongoing, &states);
  PrintLines(out, FormatReassignmentStates(states));
  out << "\n";  // Kafka's (empty) report of replica log-dir moves
  if (ongoing.empty() && !o.preserve_throttles) {
    if (absl::Status s = ClearAllThrottles(admin, *targets, out); !s.ok()) {
      return FailError(err, s);
    }
  }
  return 0;
}

int Cancel(client::Admin& admin, const ReassignOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Assignment> targets = ReadTargets(*o.reassignment_json_file);
  if (!targets.ok()) return FailError(err, targets.status());
  absl::StatusOr<Ongoing> listed = ListOngoing(admin);
  if (!listed.ok()) return FailError(err, listed.status());
  const Ongoing& ongoing = *listed;
  // Every target under way. (Kafka's tool skips those that only add
  // replicas, which leaves a replication-factor increase uncancellable;
  // the cancellation KIP-455 describes applies to any.)
  Assignment moving;
  for (const auto& [tp, replicas] : *targets) {
    if (ongoing.contains(tp)) moving[tp] = replicas;
  }
  if (!moving.empty()) {
    absl::StatusOr<v1::AlterPartitionReassignmentsResponse> response =
        admin.AlterPartitionReassignments(AlterRequest(moving, /*cancel=*/true));
    if (!response.ok()) return FailError(err, response.status());
    std::vector<TopicPartition> parts;
    for (const auto& [tp, replicas] : moving) parts.push_back(tp);
    const std::map<TopicPartition, std::string> errors = PartitionErrors(parts, *response);
    if (!errors.empty()) {
      return Fail(err, fmt::format("Error cancelling partition reassignment{} for:\n{}",
                                   errors.size() == 1 ? "" : "s", ErrorLines(errors)));
    }
    out << fmt::format("Successfully cancelled partition reassignment{} for: {}\n",
                       parts.size() == 1 ? "" : "s", PartitionNames(parts, ","));
  } else {
    out << "None of the specified partition reassignments are active.\n";
  }
  out << "None of the specified partition moves are active.\n";
  if (!o.preserve_throttles) {
    if (absl::Status s = ClearAllThrottles(admin, *targets, out); !s.ok()) {
      return FailError(err, s);
    }
  }
  return 0;
}

int List(client::Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::ListPartitionReassignmentsResponse> listed =
      admin.ListPartitionReassignments();
  if (!listed.ok()) return FailError(err, listed.status());
  PrintLines(out, FormatCurrentReassignments(*listed));
  return 0;
}

}  // namespace

// ---- Options

absl::Status ValidateReassignOptions(const ReassignOptions& o) {
  if (o.zookeeper) {
    return Invalid(
        "--zookeeper is not supported: Strata keeps its metadata in its own quorum, not in "
        "ZooKeeper. Use --bootstrap-server H:P (any broker) instead.");
  }
  const int actions =
      int{o.generate} + int{o.execute} + int{o.verify} + int{o.cancel} + int{o.list};
  if (actions != 1) {
    return Invalid(
        "Command must include exactly one action: --generate, --execute, --verify, --cancel, "
        "--list");
  }
  const char* action = o.generate  ? "generate"
                       : o.execute ? "execute"
                       : o.verify  ? "verify"
                       : o.cancel  ? "cancel"
                                   : "list";
  if (!o.bootstrap_server || o.bootstrap_server->empty()) {
    return Invalid("Missing required argument \"[bootstrap-server]\"");
  }
  if (o.generate) {
    if (!o.topics_to_move_json_file) {
      return Invalid("Missing required argument \"[topics-to-move-json-file]\"");
    }
    if (!o.broker_list) return Invalid("Missing required argument \"[broker-list]\"");
  } else if (!o.list && !o.reassignment_json_file) {
    return Invalid("Missing required argument \"[reassignment-json-file]\"");
  }
  // Kafka's permittedArgs, in its option order.
  struct Given {
    const char* name;
    bool given;
    bool permitted;
  };
  const std::vector<Given> args = {
      {"reassignment-json-file", o.reassignment_json_file.has_value(),
       o.execute || o.verify || o.cancel},
      {"topics-to-move-json-file", o.topics_to_move_json_file.has_value(), o.generate},
      {"broker-list", o.broker_list.has_value(), o.generate},
      {"disable-rack-aware", o.disable_rack_aware, o.generate},
      {"throttle", o.throttle.has_value(), o.execute},
      {"replica-alter-log-dirs-throttle", o.replica_alter_log_dirs_throttle.has_value(), o.execute},
      {"timeout", o.timeout_ms.has_value(), o.execute || o.cancel},
      {"additional", o.additional, o.execute},
      {"preserve-throttles", o.preserve_throttles, o.verify || o.cancel},
  };
  for (const Given& a : args) {
    if (a.given && !a.permitted) {
      return Invalid(
          fmt::format("Option \"[{}]\" can't be used with action \"[{}]\"", a.name, action));
    }
  }
  return absl::OkStatus();
}

// ---- JSON files

absl::StatusOr<std::vector<PartitionTarget>> ParseReassignmentJson(std::string_view text) {
  absl::StatusOr<json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) {
    return Invalid(fmt::format(
        "The reassignment JSON must be an object like {{\"version\":1,\"partitions\":[...]}}, "
        "not {}",
        Shown(root)));
  }
  if (absl::Status s = CheckVersion(root); !s.ok()) return s;
  std::vector<PartitionTarget> out;
  auto partitions = root.find("partitions");
  if (partitions == root.end()) return out;  // Kafka: no partitions (refused later)
  if (!partitions->is_array()) {
    return Invalid(fmt::format("\"partitions\" must be a list, not {}", Shown(*partitions)));
  }
  for (size_t i = 0; i < partitions->size(); ++i) {
    const json& entry = (*partitions)[i];
    const std::string where = fmt::format("Entry {} of \"partitions\"", i);
    if (!entry.is_object()) {
      return Invalid(
          fmt::format("{} must be an object with \"topic\", \"partition\" and \"replicas\", not {}",
                      where, Shown(entry)));
    }
    auto field = [&](const char* name) -> absl::StatusOr<const json*> {
      auto it = entry.find(name);
      if (it == entry.end()) return Invalid(fmt::format("{} has no \"{}\" field", where, name));
      return &*it;
    };
    absl::StatusOr<const json*> topic = field("topic");
    if (!topic.ok()) return topic.status();
    if (!(*topic)->is_string()) {
      return Invalid(fmt::format("{}: \"topic\" must be a string, not {}", where, Shown(**topic)));
    }
    absl::StatusOr<const json*> partition = field("partition");
    if (!partition.ok()) return partition.status();
    std::optional<int32_t> partition_id = AsInt32(**partition);
    if (!partition_id) {
      return Invalid(
          fmt::format("{}: \"partition\" must be an integer, not {}", where, Shown(**partition)));
    }
    PartitionTarget target;
    target.partition = TopicPartition{(*topic)->get<std::string>(), PartitionId(*partition_id)};
    const std::string name = target.partition.ToString();
    absl::StatusOr<const json*> replicas = field("replicas");
    if (!replicas.ok()) return replicas.status();
    auto not_ids = [&] {
      return Invalid(fmt::format("Partition {}: \"replicas\" must be a list of broker ids, not {}",
                                 name, Shown(**replicas)));
    };
    if (!(*replicas)->is_array()) return not_ids();
    for (const json& r : **replicas) {
      std::optional<int32_t> id = AsInt32(r);
      if (!id) return not_ids();
      target.replicas.push_back(*id);
    }
    auto log_dirs = entry.find("log_dirs");
    if (log_dirs == entry.end()) {
      target.log_dirs.assign(target.replicas.size(), kAnyLogDir);
    } else {
      auto not_dirs = [&] {
        return Invalid(fmt::format("Partition {}: \"log_dirs\" must be a list of strings, not {}",
                                   name, Shown(*log_dirs)));
      };
      if (!log_dirs->is_array()) return not_dirs();
      for (const json& d : *log_dirs) {
        if (!d.is_string()) return not_dirs();
        target.log_dirs.push_back(d.get<std::string>());
      }
      if (target.log_dirs.size() != target.replicas.size()) {
        return Invalid(fmt::format(
            "Size of replicas list {} is different from size of log dirs list {} for partition {}",
            JavaList(target.replicas), JavaList(target.log_dirs), name));
      }
    }
    out.push_back(std::move(target));
  }
  return out;
}

absl::StatusOr<Assignment> CheckReassignmentTargets(const std::vector<PartitionTarget>& targets) {
  if (targets.empty()) return Invalid("Partition reassignment list cannot be empty");
  for (const PartitionTarget& t : targets) {
    if (t.replicas.empty()) {
      return Invalid("Partition replica list cannot be empty: " + t.partition.ToString());
    }
  }
  std::map<TopicPartition, int> seen;
  for (const PartitionTarget& t : targets) ++seen[t.partition];
  std::vector<TopicPartition> twice;
  for (const auto& [tp, n] : seen) {
    if (n > 1) twice.push_back(tp);
  }
  if (!twice.empty()) {
    return Invalid("Partition reassignment contains duplicate topic partitions: " +
                   PartitionNames(twice, ","));
  }
  std::vector<std::string> duplicates;
  for (const PartitionTarget& t : targets) {
    std::map<int32_t, int> count;
    for (int32_t r : t.replicas) ++count[r];
    std::vector<int32_t> repeated;
    for (const auto& [r, n] : count) {
      if (n > 1) repeated.push_back(r);
    }
    if (!repeated.empty()) {
      duplicates.push_back(fmt::format("{} contains multiple entries for {}",
                                       t.partition.ToString(), Join(repeated)));
    }
  }
  if (!duplicates.empty()) {
    return Invalid("Partition replica lists may not contain duplicate entries: " +
                   absl::StrJoin(duplicates, ". "));
  }
  for (const PartitionTarget& t : targets) {
    for (size_t i = 0; i < t.log_dirs.size(); ++i) {
      if (t.log_dirs[i] != kAnyLogDir) {
        return Invalid(fmt::format(
            "Partition {} names log dir \"{}\" for broker {}: Strata does not move replicas "
            "between log directories, so every log dir must be \"any\"",
            t.partition.ToString(), t.log_dirs[i], t.replicas[i]));
      }
    }
  }
  Assignment out;
  for (const PartitionTarget& t : targets) out[t.partition] = t.replicas;
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseTopicsToMoveJson(std::string_view text) {
  absl::StatusOr<json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) {
    return Invalid(fmt::format(
        "The topics-to-move JSON must be an object like {{\"topics\":[{{\"topic\":\"t\"}}],"
        "\"version\":1}}, not {}",
        Shown(root)));
  }
  if (absl::Status s = CheckVersion(root); !s.ok()) return s;
  std::vector<std::string> topics;
  auto list = root.find("topics");
  if (list == root.end()) return topics;
  if (!list->is_array()) {
    return Invalid(fmt::format("\"topics\" must be a list, not {}", Shown(*list)));
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    auto topic = entry.is_object() ? entry.find("topic") : entry.end();
    if (!entry.is_object() || topic == entry.end() || !topic->is_string()) {
      return Invalid(
          fmt::format("Entry {} of \"topics\" must be an object with a \"topic\" string, not {}", i,
                      Shown(entry)));
    }
    topics.push_back(topic->get<std::string>());
  }
  std::map<std::string, int> count;
  for (const std::string& t : topics) ++count[t];
  std::vector<std::string> repeated;
  for (const auto& [t, n] : count) {
    if (n > 1) repeated.push_back(t);
  }
  if (!repeated.empty()) {
    return Invalid("List of topics to reassign contains duplicate entries: " + JavaList(repeated));
  }
  return topics;
}

absl::StatusOr<std::vector<int32_t>> ParseBrokerList(const std::string& list) {
  std::vector<int32_t> ids;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    std::optional<int32_t> id =
        ParseInteger<int32_t>(std::string(absl::StripAsciiWhitespace(part)));
    if (!id) {
      return Invalid(fmt::format("Invalid --broker-list \"{}\": \"{}\" is not a broker id", list,
                                 std::string(part)));
    }
    ids.push_back(*id);
  }
  std::map<int32_t, int> count;
  for (int32_t id : ids) ++count[id];
  std::vector<int32_t> repeated;
  for (const auto& [id, n] : count) {
    if (n > 1) repeated.push_back(id);
  }
  if (!repeated.empty()) {
    return Invalid("Broker list contains duplicate entries: " + JavaList(repeated));
  }
  return ids;
}

std::string FormatReassignmentJson(const Assignment& assignment) {
  std::vector<std::string> partitions;
  for (const auto& [tp, replicas] : assignment) {
    std::vector<std::string> dirs(replicas.size(), json(kAnyLogDir).dump());
    partitions.push_back(fmt::format(
        "{{\"topic\":{},\"partition\":{},\"replicas\":[{}],\"log_dirs\":[{}]}}",
        json(tp.topic).dump(), tp.partition.value(), Join(replicas), absl::StrJoin(dirs, ",")));
  }
  return fmt::format("{{\"version\":1,\"partitions\":[{}]}}", absl::StrJoin(partitions, ","));
}

// ---- The cluster

Assignment AssignmentOf(const v1::DescribeTopicsResponse& topics) {
  Assignment out;
  for (const auto& t : topics.topics()) {
    if (t.error() != v1::NONE) continue;
    for (const auto& p : t.partitions()) {
      out[TopicPartition{t.name(), PartitionId(p.partition())}] =
          std::vector<int32_t>(p.replicas().begin(), p.replicas().end());
    }
  }
  return out;
}

absl::StatusOr<Assignment> CheckAgainstCluster(const Assignment& targets,
                                               const v1::DescribeTopicsResponse& topics,
                                               const v1::DescribeClusterResponse& cluster) {
  std::set<int32_t> registered;
  for (const auto& b : cluster.brokers()) registered.insert(b.id());
  std::set<int32_t> named;
  for (const auto& [tp, replicas] : targets) named.insert(replicas.begin(), replicas.end());
  for (int32_t id : named) {
    if (!registered.contains(id)) return Invalid(fmt::format("Unknown broker id {}", id));
  }
  for (const std::string& name : TopicsOf(targets)) {
    auto it = std::find_if(topics.topics().begin(), topics.topics().end(),
                           [&](const v1::TopicDescription& d) { return d.name() == name; });
    if (it == topics.topics().end() || it->error() == v1::UNKNOWN_TOPIC_OR_PARTITION) {
      return absl::NotFoundError(fmt::format("Topic {} not found.", name));
    }
    if (it->error() != v1::NONE) return client::ErrorToStatus(it->error(), it->error_message());
  }
  const Assignment all = AssignmentOf(topics);
  Assignment current;
  std::vector<TopicPartition> missing;
  for (const auto& [tp, replicas] : targets) {
    auto it = all.find(tp);
    if (it == all.end()) {
      missing.push_back(tp);
    } else {
      current[tp] = it->second;
    }
  }
  if (!missing.empty()) {
    return absl::NotFoundError("Unable to find partition: " + PartitionNames(missing, ", "));
  }
  return current;
}

absl::StatusOr<Assignment> ProposeAssignment(const Assignment& current,
                                             const std::vector<int32_t>& brokers,
                                             const std::function<int32_t(int32_t)>& random_below) {
  std::map<std::string, std::vector<std::pair<int32_t, size_t>>> by_topic;
  for (const auto& [tp, replicas] : current) {
    by_topic[tp.topic].emplace_back(tp.partition.value(), replicas.size());
  }
  Assignment proposed;
  const int32_t n = static_cast<int32_t>(brokers.size());
  for (const auto& [topic, partitions] : by_topic) {
    const int32_t count = static_cast<int32_t>(partitions.size());
    const int32_t rf = static_cast<int32_t>(partitions.front().second);
    if (std::string e = ReplicaAssignmentError(brokers.size(), count, rf); !e.empty()) {
      return Invalid(e);
    }
    const int32_t start_index = random_below(n);
    const int32_t shift = random_below(n);
    const std::vector<std::vector<int32_t>> assigned =
        AssignReplicasRackUnaware(brokers, count, rf, 0, start_index, shift);
    for (int32_t p = 0; p < count; ++p) {
      proposed[TopicPartition{topic, PartitionId(p)}] = assigned[static_cast<size_t>(p)];
    }
  }
  return proposed;
}

// ---- Throttles

MoveMap CalculateProposedMoves(const v1::ListPartitionReassignmentsResponse& ongoing,
                               const Assignment& proposed, const Assignment& current) {
  MoveMap moves;
  for (const auto& t : ongoing.topics()) {
    for (const auto& p : t.partitions()) {
      PartitionMove& m = moves[t.name()][p.partition()];
      // `replicas` holds the adding replicas too.
      m.sources = std::set<int32_t>(p.replicas().begin(), p.replicas().end());
      for (int32_t a : p.adding_replicas()) m.sources.erase(a);
      m.destinations = std::set<int32_t>(p.adding_replicas().begin(), p.adding_replicas().end());
    }
  }
  for (const auto& [tp, replicas] : proposed) {
    std::map<int32_t, PartitionMove>& topic_moves = moves[tp.topic];
    std::set<int32_t> sources;
    auto moving = topic_moves.find(tp.partition.value());
    if (moving != topic_moves.end()) {
      sources = moving->second.sources;
    } else if (auto it = current.find(tp); it != current.end()) {
      sources = std::set<int32_t>(it->second.begin(), it->second.end());
    }
    std::set<int32_t> destinations(replicas.begin(), replicas.end());
    for (int32_t s : sources) destinations.erase(s);
    topic_moves[tp.partition.value()] = PartitionMove{std::move(sources), std::move(destinations)};
  }
  return moves;
}

std::map<std::string, std::string> CalculateLeaderThrottles(const MoveMap& moves) {
  std::map<std::string, std::string> out;
  for (const auto& [topic, partitions] : moves) {
    std::set<std::string> entries;  // sorted as text, as Kafka's TreeSet<String>
    for (const auto& [partition, move] : partitions) {
      for (int32_t s : move.sources) entries.insert(fmt::format("{}:{}", partition, s));
    }
    out[topic] = absl::StrJoin(entries, ",");
  }
  return out;
}

std::map<std::string, std::string> CalculateFollowerThrottles(const MoveMap& moves) {
  std::map<std::string, std::string> out;
  for (const auto& [topic, partitions] : moves) {
    std::set<std::string> entries;
    for (const auto& [partition, move] : partitions) {
      for (int32_t d : move.destinations) {
        if (!move.sources.contains(d)) entries.insert(fmt::format("{}:{}", partition, d));
      }
    }
    out[topic] = absl::StrJoin(entries, ",");
  }
  return out;
}

std::set<int32_t> CalculateReassigningBrokers(const MoveMap& moves) {
  std::set<int32_t> brokers;
  for (const auto& [topic, partitions] : moves) {
    for (const auto& [partition, move] : partitions) {
      brokers.insert(move.sources.begin(), move.sources.end());
      brokers.insert(move.destinations.begin(), move.destinations.end());
    }
  }
  return brokers;
}

// ---- Reports

void AddLogDirSizes(const TopicPartition& tp,
                    const std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>& answers,
                    ReassignmentProgress* progress) {
  ReassignmentProgress& p = *progress;
  if (p.leader < 0) {
    p.unknown = "the partition has no leader";
    return;
  }
  std::vector<int32_t> involved = {p.leader};
  involved.insert(involved.end(), p.adding.begin(), p.adding.end());
  for (int32_t b : involved) {
    auto it = answers.find(b);
    if (it == answers.end() || !it->second.ok()) {
      // The broker named first, whatever the error says after it (an
      // authorization error, say, does not name it).
      if (p.unknown.empty()) {
        p.unknown = it == answers.end()
                        ? fmt::format("broker {} was not asked", b)
                        : fmt::format("broker {}: {}", b, KafkaExceptionText(it->second.status()));
      }
      continue;
    }
    std::optional<int64_t> size = SizeOf(*it->second, tp);
    if (!size.has_value() && b == p.leader && p.unknown.empty()) {
      p.unknown = fmt::format("its leader, broker {}, does not list it", b);
    }
    // A broker being added that has not created its replica yet: 0.
    p.sizes[b] = size.value_or(0);
  }
}

absl::StatusOr<CopiedBytes> CalculateCopiedBytes(const ReassignmentProgress& progress) {
  if (!progress.unknown.empty()) return absl::UnavailableError(progress.unknown);
  if (progress.leader < 0) return absl::UnavailableError("the partition has no leader");
  auto leader = progress.sizes.find(progress.leader);
  if (leader == progress.sizes.end()) {
    return absl::UnavailableError(fmt::format("broker {} did not answer", progress.leader));
  }
  const int64_t full = std::max<int64_t>(leader->second, 0);
  CopiedBytes bytes;
  for (int32_t b : progress.adding) {
    auto it = progress.sizes.find(b);
    if (it == progress.sizes.end()) {
      return absl::UnavailableError(fmt::format("broker {} did not answer", b));
    }
    // copied <= total: only total can pass 2^63 - 1 (sizes no disk holds).
    bytes.copied += std::clamp<int64_t>(it->second, 0, full);
    if (__builtin_add_overflow(bytes.total, full, &bytes.total)) {
      return absl::OutOfRangeError(
          fmt::format("broker {}'s size, {} bytes, times {} does not fit 64 bits", progress.leader,
                      full, progress.adding.size()));
    }
  }
  return bytes;
}

std::string FormatReassignmentProgress(const TopicPartition& tp,
                                       const ReassignmentProgress& progress) {
  if (progress.adding.empty()) return "";
  absl::StatusOr<CopiedBytes> bytes = CalculateCopiedBytes(progress);
  if (!bytes.ok()) {
    return fmt::format("  {}: bytes copied unknown ({})", tp.ToString(),
                       std::string(bytes.status().message()));
  }
  if (bytes->total == 0) {
    return fmt::format("  {}: nothing to copy to broker(s) {}", tp.ToString(),
                       Join(progress.adding));
  }
  // Tenths of a percent, rounded down; the product in 128 bits, since
  // copied * 1000 passes 2^63 from about 9.2 PB.
  const int64_t tenths =
      static_cast<int64_t>(static_cast<__int128>(bytes->copied) * 1000 / bytes->total);
  return fmt::format("  {}: {} of {} bytes copied ({}.{}%) to broker(s) {}", tp.ToString(),
                     bytes->copied, bytes->total, tenths / 10, tenths % 10, Join(progress.adding));
}

std::vector<std::string> FormatReassignmentStates(
    const std::map<TopicPartition, PartitionReassignmentState>& states) {
  std::vector<std::string> lines = {"Status of partition reassignment:"};
  for (const auto& [tp, state] : states) {
    if (!state.done) {
      lines.push_back(
          fmt::format("Reassignment of partition {} is still in progress.", tp.ToString()));
      if (state.progress.has_value()) {
        std::string line = FormatReassignmentProgress(tp, *state.progress);
        if (!line.empty()) lines.push_back(std::move(line));
      }
    } else if (state.current == state.target) {
      lines.push_back(fmt::format("Reassignment of partition {} is complete.", tp.ToString()));
    } else {
      lines.push_back(fmt::format(
          "There is no active reassignment of partition {}, but replica set is {} rather than {}.",
          tp.ToString(), Join(state.current), Join(state.target)));
    }
  }
  return lines;
}

std::vector<std::string> FormatCurrentReassignments(
    const v1::ListPartitionReassignmentsResponse& ongoing) {
  const std::map<TopicPartition, v1::OngoingPartitionReassignment> by_partition =
      OngoingByPartition(ongoing);
  if (by_partition.empty()) return {"No partition reassignments found."};
  std::vector<std::string> lines = {"Current partition reassignments:"};
  for (const auto& [tp, r] : by_partition) {
    std::string line =
        fmt::format("{}: replicas: {}.", tp.ToString(), absl::StrJoin(r.replicas(), ","));
    if (!r.adding_replicas().empty()) {
      line += fmt::format(" adding: {}.", absl::StrJoin(r.adding_replicas(), ","));
    }
    if (!r.removing_replicas().empty()) {
      line += fmt::format(" removing: {}.", absl::StrJoin(r.removing_replicas(), ","));
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// ---- Running

int RunReassignPartitions(client::Admin& admin, const ReassignOptions& options, std::ostream& out,
                          std::ostream& err, const std::function<int32_t(int32_t)>& random_below) {
  if (options.generate) {
    if (random_below) return Generate(admin, options, out, err, random_below);
    std::mt19937 rng{std::random_device{}()};
    auto draw = [&rng](int32_t n) {
      return std::uniform_int_distribution<int32_t>(0, std::max(n, 1) - 1)(rng);
    };
    return Generate(admin, options, out, err, draw);
  }
  if (options.execute) return Execute(admin, options, out, err);
  if (options.verify) return Verify(admin, options, out, err);
  if (options.cancel) return Cancel(admin, options, out, err);
  return List(admin, out, err);
}

}  // namespace strata::tools
