#include "broker/metadata/controller.h"

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/metadata/partition_change.h"
#include "broker/storage/log.h"
#include "broker/storage/log_config.h"
#include "client/common/numbers.h"
#include "client/common/replica_assignment.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

constexpr size_t kMaxTopicNameLength = 249;
// Kafka refuses requests that would create more partitions than this at
// once; it keeps one request from making the controller build (and every
// node apply) an unbounded batch.
constexpr int32_t kMaxPartitionsPerRequest = 10000;

// Kafka warns that topics whose names differ only in '.' versus '_' share
// metric names, and refuses to create the second one.
std::string MetricName(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::vector<int32_t> LiveOf(const std::vector<int32_t>& ids,
                            const std::function<bool(int32_t)>& live) {
  std::vector<int32_t> out;
  for (int32_t id : ids) {
    if (live(id)) out.push_back(id);
  }
  return out;
}

// The image's liveness with `changed` overriding it.
std::function<bool(int32_t)> LivenessWith(const MetadataImage& image,
                                          std::map<int32_t, bool> changed) {
  return [&image, changed = std::move(changed)](int32_t id) {
    auto it = changed.find(id);
    return it != changed.end() ? it->second : image.IsBrokerLive(id);
  };
}

void AppendPartitionRecords(const std::string& topic_id, int32_t first_partition,
                            const std::vector<std::vector<int32_t>>& assignment,
                            const MetadataImage& image, internal::MetadataRecordBatch* batch) {
  for (size_t i = 0; i < assignment.size(); ++i) {
    internal::PartitionRecord* p = batch->add_records()->mutable_partition();
    p->set_topic_id(topic_id);
    p->set_partition(first_partition + static_cast<int32_t>(i));
    int32_t leader = -1;
    for (int32_t r : assignment[i]) {
      p->add_replicas(r);
      if (!image.IsBrokerLive(r)) continue;
      // A new partition is empty, so every live replica is in sync with it.
      p->add_isr(r);
      if (leader < 0) leader = r;
    }
    // With no live replica at all the ISR lists them all, so whichever
    // comes first may lead (there is nothing to lose yet).
    if (leader < 0) *p->mutable_isr() = p->replicas();
    p->set_leader(leader);
    p->set_leader_epoch(0);
    p->set_partition_epoch(0);
  }
}

}  // namespace

// How many partition replicas each broker holds.
std::map<int32_t, int64_t> Controller::ReplicaCounts(const MetadataImage& image) {
  std::map<int32_t, int64_t> counts;
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [id, p] : t.partitions) {
      for (int32_t r : p.replicas) ++counts[r];
    }
  }
  return counts;
}

// Whether `assignment` fits every broker's replica capacity on top of
// `counts` (which it then adds to); if not, why.
absl::Status Controller::AddWithinCapacity(const MetadataImage& image,
                                           const std::vector<std::vector<int32_t>>& assignment,
                                           std::map<int32_t, int64_t>* counts) {
  std::map<int32_t, int64_t> added;
  for (const std::vector<int32_t>& replicas : assignment) {
    for (int32_t r : replicas) ++added[r];
  }
  for (const auto& [id, n] : added) {
    const BrokerRegistration* b = image.broker(id);
    const int64_t capacity = b ? b->replica_capacity : 0;
    const int64_t total = (*counts)[id] + n;
    if (capacity > 0 && total > capacity) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "This would put ", total, " partition replicas on broker ", id,
          ", above its capacity of ", capacity, " (", (*counts)[id],
          " there already; the capacity follows from its open-file limit, or "
          "strata.max.replicas.per.broker). Raise the broker's open-file limit, add brokers, or "
          "create fewer partitions."));
    }
  }
  for (const auto& [id, n] : added) (*counts)[id] += n;
  return absl::OkStatus();
}

namespace {

void Fail(TopicResult* result, ErrorCode code, std::string message) {
  result->error = code;
  result->error_message = std::move(message);
}

// The broker-lifecycle RPCs' responses (strata.internal) carry their error
// as the wire's enum, which numbers Kafka's errors as ErrorCode does.
template <typename Response>
void SetError(Response& response, ErrorCode code, std::string message) {
  response.set_error(static_cast<decltype(response.error())>(code));
  response.set_error_message(std::move(message));
}

// An unclean election: the first live replica, in or out of the ISR, and a
// loud log line, since records only the old ISR had are lost. -1 when no
// replica is live.
int32_t ElectUnclean(const TopicInfo& t, const PartitionInfo& p,
                     const std::function<bool(int32_t)>& live, std::string_view why) {
  std::vector<int32_t> replicas = LiveOf(p.replicas, live);
  if (replicas.empty()) return -1;
  // A replica a reassignment is adding may hold nothing yet: the others
  // first (the target comes first in the list, so order alone would pick it).
  std::stable_partition(replicas.begin(), replicas.end(),
                        [&p](int32_t r) { return !Contains(p.adding_replicas, r); });
  LOG(ERROR) << "UNCLEAN leader election for " << t.name << "-" << p.partition << " (" << why
             << "): broker " << replicas.front() << " was not in the ISR ["
             << absl::StrJoin(p.isr, ",")
             << "] and now leads; records only the old ISR had are lost";
  return replicas.front();
}

void AddChange(const TopicInfo& t, const PartitionInfo& p, int32_t leader,
               const std::vector<int32_t>& isr, internal::MetadataRecordBatch* batch) {
  PartitionShape s = PartitionShape::Of(p);
  s.leader = leader;
  s.isr = isr;
  AppendPartitionChange(t, p, s, batch);
}

}  // namespace

bool Controller::UncleanAllowed(const MetadataImage& image, const TopicInfo& topic) const {
  // Kafka's KRaft resolution: the topic's, this controller node's dynamic
  // config, the cluster-wide default, then server.properties. Brokers allow
  // the truncation that follows by the same rule (UncleanTruncationAllowed).
  return UncleanLeaderElectionEnabled(image, topic, options_.node_id,
                                      options_.unclean_leader_election_enable);
}

void Controller::AppendElections(const MetadataImage& image,
                                 const std::function<bool(int32_t)>& live,
                                 internal::MetadataRecordBatch* batch) const {
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [pid, p] : t.partitions) {
      int32_t leader = p.leader;
      std::vector<int32_t> isr = LiveOf(p.isr, live);
      if (p.leader < 0 || !live(p.leader)) {
        // Only an in-sync replica may lead: any other could lack
        // acknowledged records, and its log end would send offsets back.
        // With no live ISR member the partition goes offline and keeps its
        // last ISR, so that member leads again when it returns.
        leader = isr.empty() ? -1 : isr.front();
        if (isr.empty()) isr = p.isr;
        if (leader < 0 && UncleanAllowed(image, t)) {
          leader = ElectUnclean(t, p, live, "unclean.leader.election.enable=true");
          if (leader >= 0) isr = {leader};
        }
      }
      if (leader == p.leader && isr == p.isr) continue;
      AddChange(t, p, leader, isr, batch);
    }
  }
}

Controller::Controller(ControllerOptions options)
    : options_(std::move(options)), rng_(std::random_device()()) {}

uint32_t Controller::NextRandom() {
  return options_.random ? options_.random() : static_cast<uint32_t>(rng_());
}

absl::Status Controller::ValidateTopicName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("Topic name is illegal, it can't be empty.");
  if (name == "." || name == "..")
    return absl::InvalidArgumentError("Topic name cannot be \".\" or \"..\".");
  if (name.size() > kMaxTopicNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("Topic name is illegal, it can't be longer than ", kMaxTopicNameLength,
                     " characters (it has ", name.size(), "), topic name: ", std::string(name)));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("Topic name \"", std::string(name),
                                                     "\" is illegal, it contains a character other "
                                                     "than ASCII alphanumerics, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

bool Controller::IsInternalTopic(std::string_view name) {
  return name == "__consumer_offsets" || name == "__transaction_state" ||
         name == "__cluster_metadata";
}

std::vector<std::vector<int32_t>> Controller::AssignReplicas(
    const std::vector<int32_t>& brokers, int32_t partitions, int32_t replication_factor,
    int32_t first_partition, int32_t start_index, int32_t replica_shift) {
  CHECK_GE(replication_factor, 1);
  CHECK_LE(replication_factor, static_cast<int64_t>(brokers.size()))
      << "callers check the replication factor against the brokers";
  return AssignReplicasRackUnaware(brokers, partitions, replication_factor, first_partition,
                                   start_index, replica_shift);
}

Decision<CreateTopicsResponse> Controller::CreateTopics(const MetadataImage& image,
                                                        const CreateTopicsRequest& request) {
  Decision<CreateTopicsResponse> d;
  std::map<std::string, int> occurrences;
  for (const NewTopic& t : request.topics) ++occurrences[t.name];
  // Metric names of the topics that exist or that this request creates.
  std::map<std::string, std::string> metric_names;
  for (const auto& [name, t] : image.topics()) metric_names[MetricName(name)] = name;
  std::set<std::string> new_ids;
  const std::vector<int32_t> live = image.LiveBrokerIds();
  // One request creates at most kMaxPartitionsPerRequest partitions in all
  // (a client asking for 10 topics of 10,000 each is refused whole, before
  // anything is created).
  int64_t requested = 0;
  for (const NewTopic& t : request.topics) {
    requested += !t.assignments.empty()   ? static_cast<int64_t>(t.assignments.size())
                 : t.num_partitions == -1 ? options_.default_num_partitions
                                          : std::max(t.num_partitions, 0);
  }
  const bool too_many = requested > kMaxPartitionsPerRequest;
  std::map<int32_t, int64_t> replica_counts = ReplicaCounts(image);

  for (const NewTopic& t : request.topics) {
    TopicResult* result = &d.response.results.emplace_back();
    result->name = t.name;
    if (absl::Status s = ValidateTopicName(t.name); !s.ok()) {
      Fail(result, ErrorCode::kInvalidTopicException, std::string(s.message()));
      continue;
    }
    if (IsInternalTopic(t.name) && !request.internal) {
      Fail(result, ErrorCode::kInvalidRequest,
           absl::StrCat("Creation of internal topic ", t.name, " is prohibited."));
      continue;
    }
    if (too_many) {
      Fail(result, ErrorCode::kInvalidPartitions,
           absl::StrCat("This request asks for ", requested,
                        " partitions in all; one request may create at most ",
                        kMaxPartitionsPerRequest, ". Create the topics in several requests."));
      continue;
    }
    if (occurrences[t.name] > 1) {
      Fail(result, ErrorCode::kInvalidRequest,
           absl::StrCat("Topic '", t.name,
                        "' appears more than once in the request; list each topic once."));
      continue;
    }
    if (image.FindTopic(t.name) != nullptr) {
      Fail(result, ErrorCode::kTopicAlreadyExists,
           absl::StrCat("Topic '", t.name, "' already exists."));
      continue;
    }
    if (auto it = metric_names.find(MetricName(t.name)); it != metric_names.end()) {
      Fail(result, ErrorCode::kInvalidTopicException,
           absl::StrCat("Topic '", t.name, "' collides with existing topic '", it->second,
                        "': topic names that differ only in '.' and '_' share metric names. Choose "
                        "another name."));
      continue;
    }
    // Sorted (std::map): the records must be deterministic.
    const std::map<std::string, std::string>& configs = t.configs;
    bool configs_ok = true;
    for (const auto& [key, value] : configs) {
      if (absl::Status s = storage::ValidateTopicConfig(key, value); !s.ok()) {
        Fail(result, ErrorCode::kInvalidConfig, std::string(s.message()));
        configs_ok = false;
        break;
      }
    }
    // And as a whole (min.compaction.lag.ms <= max.compaction.lag.ms).
    if (absl::Status s = ValidateTopicConfigSet(t.configs); configs_ok && !s.ok()) {
      Fail(result, ErrorCode::kInvalidConfig, std::string(s.message()));
      configs_ok = false;
    }
    if (!configs_ok) continue;

    std::vector<std::vector<int32_t>> assignment;
    int32_t partitions = 0;
    int32_t rf = 0;
    if (!t.assignments.empty()) {
      absl::StatusOr<std::vector<std::vector<int32_t>>> manual = ManualAssignment(image, t);
      if (!manual.ok()) {
        Fail(result,
             absl::IsFailedPrecondition(manual.status()) ? ErrorCode::kInvalidRequest
                                                         : ErrorCode::kInvalidReplicaAssignment,
             std::string(manual.status().message()));
        continue;
      }
      assignment = std::move(*manual);
      partitions = static_cast<int32_t>(assignment.size());
      rf = static_cast<int32_t>(assignment.front().size());
    } else {
      partitions = t.num_partitions == -1 ? options_.default_num_partitions : t.num_partitions;
      if (partitions < 1) {
        Fail(result, ErrorCode::kInvalidPartitions,
             t.num_partitions == -1
                 ? absl::StrCat("The default number of partitions (num.partitions=", partitions,
                                ") is not positive; give the number of partitions explicitly.")
                 : absl::StrCat("Number of partitions was set to an invalid non-positive value (",
                                partitions, "); use a number >= 1, or -1 for the default."));
        continue;
      }
      if (partitions > kMaxPartitionsPerRequest) {
        Fail(result, ErrorCode::kInvalidPartitions,
             absl::StrCat("Cannot create ", partitions, " partitions in one request; the limit is ",
                          kMaxPartitionsPerRequest, "."));
        continue;
      }
      rf = t.replication_factor == -1 ? options_.default_replication_factor : t.replication_factor;
      if (rf < 1) {
        Fail(
            result, ErrorCode::kInvalidReplicationFactor,
            t.replication_factor == -1
                ? absl::StrCat("The default replication factor (default.replication.factor=", rf,
                               ") is not positive; give the replication factor explicitly.")
                : absl::StrCat("Replication factor must be larger than 0, or -1 to use the default "
                               "value (got ",
                               rf, ")."));
        continue;
      }
      if (rf > static_cast<int64_t>(live.size())) {
        Fail(result, ErrorCode::kInvalidReplicationFactor,
             absl::StrCat("Replication factor: ", rf,
                          " larger than available brokers: ", live.size(), "."));
        continue;
      }
      const int32_t n = static_cast<int32_t>(live.size());
      const int32_t start_index = static_cast<int32_t>(NextRandom() % static_cast<uint32_t>(n));
      const int32_t shift = static_cast<int32_t>(NextRandom() % static_cast<uint32_t>(n));
      assignment = AssignReplicas(live, partitions, rf, 0, start_index, shift);
    }
    if (absl::Status s = AddWithinCapacity(image, assignment, &replica_counts); !s.ok()) {
      Fail(result, ErrorCode::kPolicyViolation, std::string(s.message()));
      continue;
    }

    result->num_partitions = partitions;
    result->replication_factor = rf;
    metric_names[MetricName(t.name)] = t.name;
    if (request.validate_only) continue;

    // A collision of random 122-bit ids means a broken random source (a
    // test's constant one): give up instead of looping.
    std::string topic_id;
    for (int attempt = 0; attempt < 16 && topic_id.empty(); ++attempt) {
      std::string id = NewTopicId([this] { return NextRandom(); });
      if (image.FindTopicById(id) == nullptr && !new_ids.contains(id)) topic_id = std::move(id);
    }
    if (topic_id.empty()) {
      Fail(result, ErrorCode::kUnknownServerError, "Could not draw an unused topic id; retry.");
      result->num_partitions = 0;
      result->replication_factor = 0;
      continue;
    }
    new_ids.insert(topic_id);
    result->topic_id = topic_id;

    internal::TopicRecord* tr = d.records.add_records()->mutable_topic();
    tr->set_name(t.name);
    tr->set_topic_id(topic_id);
    AppendPartitionRecords(topic_id, 0, assignment, image, &d.records);
    for (const auto& [key, value] : configs) {
      internal::ConfigRecord* c = d.records.add_records()->mutable_config();
      c->set_resource_type(internal::CONFIG_RESOURCE_TOPIC);
      c->set_resource_name(t.name);
      c->set_name(key);
      c->set_value(value);
    }
  }
  return d;
}

Decision<DeleteTopicsResponse> Controller::DeleteTopics(const MetadataImage& image,
                                                        const DeleteTopicsRequest& request) {
  Decision<DeleteTopicsResponse> d;
  std::map<std::string, int> occurrences;
  for (const std::string& name : request.names) ++occurrences[name];
  for (const std::string& name : request.names) {
    TopicResult* result = &d.response.results.emplace_back();
    result->name = name;
    if (occurrences[name] > 1) {
      Fail(result, ErrorCode::kInvalidRequest,
           absl::StrCat("Topic '", name,
                        "' appears more than once in the request; list each topic once."));
      continue;
    }
    const TopicInfo* t = image.FindTopic(name);
    if (t == nullptr) {
      Fail(result, ErrorCode::kUnknownTopicOrPartition,
           absl::StrCat("Topic '", name,
                        "' does not exist; `topics --list` shows the topics there are."));
      continue;
    }
    result->topic_id = t->topic_id;
    result->num_partitions = static_cast<int32_t>(t->partitions.size());
    if (!t->partitions.empty()) {
      result->replication_factor =
          static_cast<int32_t>(t->partitions.begin()->second.target_replicas().size());
    }
    d.records.add_records()->mutable_remove_topic()->set_topic_id(t->topic_id);
  }
  return d;
}

Decision<CreatePartitionsResponse> Controller::CreatePartitions(
    const MetadataImage& image, const CreatePartitionsRequest& request) {
  Decision<CreatePartitionsResponse> d;
  std::map<std::string, int> occurrences;
  for (const CreatePartitionsTopic& pc : request.topics) ++occurrences[pc.name];
  const std::vector<int32_t> live = image.LiveBrokerIds();
  std::map<int32_t, int64_t> replica_counts = ReplicaCounts(image);
  int32_t added_in_request = 0;
  for (const CreatePartitionsTopic& pc : request.topics) {
    TopicResult* result = &d.response.results.emplace_back();
    result->name = pc.name;
    if (occurrences[pc.name] > 1) {
      Fail(result, ErrorCode::kInvalidRequest,
           absl::StrCat("Topic '", pc.name,
                        "' appears more than once in the request; list each topic once."));
      continue;
    }
    const TopicInfo* t = image.FindTopic(pc.name);
    if (t == nullptr) {
      Fail(result, ErrorCode::kUnknownTopicOrPartition,
           absl::StrCat("Topic '", pc.name,
                        "' does not exist; `topics --list` shows the topics there are."));
      continue;
    }
    result->topic_id = t->topic_id;
    const int32_t current = static_cast<int32_t>(t->partitions.size());
    if (pc.count < current) {
      Fail(result, ErrorCode::kInvalidPartitions,
           absl::StrCat("Topic currently has ", current,
                        " partitions, which is higher than the requested ", pc.count,
                        ". Partitions can only be increased."));
      continue;
    }
    if (pc.count == current) {
      Fail(result, ErrorCode::kInvalidPartitions,
           absl::StrCat("Topic already has ", current,
                        " partitions; request a higher count to add partitions."));
      continue;
    }
    const int32_t added = pc.count - current;
    if (added > kMaxPartitionsPerRequest - added_in_request) {
      Fail(result, ErrorCode::kInvalidPartitions,
           absl::StrCat("Cannot create ", added, " more partitions in this request (",
                        added_in_request, " already); one request may create at most ",
                        kMaxPartitionsPerRequest, "."));
      continue;
    }
    added_in_request += added;
    // New partitions keep the topic's replication factor and continue its
    // pattern: Kafka starts from the broker that holds partition 0's first
    // replica (or the next one up, if that broker is gone).
    if (t->partitions.empty()) {
      // The controller never writes a topic without partitions; there is no
      // pattern (or replication factor) to continue.
      Fail(result, ErrorCode::kUnknownServerError,
           absl::StrCat("Topic '", t->name, "' has no partitions to continue from."));
      continue;
    }
    const PartitionInfo& p0 = t->partitions.begin()->second;
    // A move under way lists the replicas leaving too; the target counts.
    const int32_t rf = static_cast<int32_t>(p0.target_replicas().size());
    if (rf > static_cast<int64_t>(live.size())) {
      Fail(result, ErrorCode::kInvalidReplicationFactor,
           absl::StrCat("Replication factor: ", rf, " larger than available brokers: ", live.size(),
                        ". Topic '", t->name, "' needs ", rf,
                        " unfenced brokers to add partitions."));
      continue;
    }
    auto at = std::lower_bound(live.begin(), live.end(), p0.replicas.front());
    const int32_t start_index = at == live.end() ? 0 : static_cast<int32_t>(at - live.begin());
    // With a fixed start index Kafka also uses it as the replica shift.
    const std::vector<std::vector<int32_t>> assignment =
        AssignReplicas(live, added, rf, current, start_index, start_index);
    if (absl::Status s = AddWithinCapacity(image, assignment, &replica_counts); !s.ok()) {
      Fail(result, ErrorCode::kPolicyViolation, std::string(s.message()));
      continue;
    }
    result->num_partitions = pc.count;
    result->replication_factor = rf;
    if (request.validate_only) continue;
    AppendPartitionRecords(t->topic_id, current, assignment, image, &d.records);
  }
  return d;
}

Decision<internal::BrokerRegistrationResponse> Controller::RegisterBroker(
    const MetadataImage& image, const internal::BrokerRegistrationRequest& request, int64_t epoch,
    int64_t now_ms) {
  Decision<internal::BrokerRegistrationResponse> d;
  internal::BrokerRegistrationResponse& r = d.response;
  r.set_broker_epoch(-1);
  const int32_t id = request.broker_id();
  if (id < 0) {
    SetError(r, ErrorCode::kInvalidRequest,
             absl::StrCat("Broker id ", id, " is negative; set node.id to a number >= 0."));
    return d;
  }
  if (request.incarnation_id().empty()) {
    SetError(r, ErrorCode::kInvalidRequest,
             absl::StrCat("Broker ", id, " registered without an incarnation id."));
    return d;
  }
  if (const BrokerRegistration* old = image.broker(id); old != nullptr) {
    if (old->incarnation_id != request.incarnation_id()) {
      auto hb = last_heartbeat_ms_.find(id);
      if (hb != last_heartbeat_ms_.end() &&
          now_ms - hb->second <= options_.broker_session_timeout_ms) {
        SetError(r, ErrorCode::kDuplicateBrokerRegistration,
                 absl::StrCat("Another process is registered as broker ", id, " (incarnation ",
                              old->incarnation_id, ") and sent a heartbeat ", now_ms - hb->second,
                              " ms ago. Give each node a unique node.id, or, if that "
                              "process has stopped, retry after broker.session.timeout.ms (",
                              options_.broker_session_timeout_ms, " ms)."));
        return d;
      }
    }
    if (epoch <= old->epoch) {
      // The server passes a value above every earlier epoch; the image
      // would refuse this record.
      SetError(r, ErrorCode::kUnknownServerError,
               absl::StrCat("Internal error: new epoch ", epoch, " for broker ", id,
                            " is not above its current epoch ", old->epoch, "; retry."));
      return d;
    }
  }
  internal::RegisterBrokerRecord* rec = d.records.add_records()->mutable_register_broker();
  rec->set_broker_id(id);
  rec->set_incarnation_id(request.incarnation_id());
  rec->set_broker_epoch(epoch);
  *rec->mutable_endpoints() = request.endpoints();
  rec->set_rack(request.rack());
  rec->set_fenced(true);
  rec->set_replica_capacity(std::max<int64_t>(request.replica_capacity(), 0));
  // A re-registering broker starts over (its replicas are empty or behind),
  // so the partitions it led move now rather than at its next unfence.
  if (image.IsBrokerLive(id))
    AppendElections(image, LivenessWith(image, {{id, false}}), &d.records);
  // The broker must have applied at least its own registration before it
  // serves anything; that record lands at image.offset() + 1 or later.
  unfence_at_offset_[id] = image.offset() + 1;
  last_heartbeat_ms_[id] = now_ms;
  r.set_broker_epoch(epoch);
  return d;
}

Decision<internal::BrokerHeartbeatResponse> Controller::BrokerHeartbeat(
    const MetadataImage& image, const internal::BrokerHeartbeatRequest& request, int64_t now_ms) {
  Decision<internal::BrokerHeartbeatResponse> d;
  internal::BrokerHeartbeatResponse& r = d.response;
  const int32_t id = request.broker_id();
  const BrokerRegistration* b = image.broker(id);
  if (b == nullptr) {
    SetError(
        r, ErrorCode::kStaleBrokerEpoch,
        absl::StrCat("Broker ", id, " is not registered; register it before sending heartbeats."));
    r.set_is_fenced(true);
    return d;
  }
  if (b->epoch != request.broker_epoch()) {
    SetError(
        r, ErrorCode::kStaleBrokerEpoch,
        absl::StrCat("Broker ", id, " sent a heartbeat with epoch ", request.broker_epoch(),
                     ", but its current registration has epoch ", b->epoch, "; register again."));
    r.set_is_fenced(true);
    return d;
  }
  last_heartbeat_ms_[id] = now_ms;
  // A controller that did not see the registration (a failover since) asks
  // the broker to have caught up with everything it knows instead.
  auto at = unfence_at_offset_.find(id);
  const int64_t needed = at != unfence_at_offset_.end() ? at->second : image.offset();
  const bool caught_up = request.current_metadata_offset() >= needed;
  r.set_is_caught_up(caught_up);

  auto fence = [&] {
    internal::FenceBrokerRecord* f = d.records.add_records()->mutable_fence_broker();
    f->set_broker_id(id);
    f->set_broker_epoch(b->epoch);
    AppendElections(image, LivenessWith(image, {{id, false}}), &d.records);
  };
  if (request.want_shutdown()) {
    // Kafka first moves leadership away and only then lets the broker go;
    // here fencing and electing happen in one batch, so it may go at once.
    if (!b->fenced) fence();
    r.set_is_fenced(true);
    r.set_should_shutdown(true);
    return d;
  }
  if (request.want_fence()) {
    if (!b->fenced) fence();
    r.set_is_fenced(true);
    return d;
  }
  if (b->fenced && caught_up) {
    internal::UnfenceBrokerRecord* u = d.records.add_records()->mutable_unfence_broker();
    u->set_broker_id(id);
    u->set_broker_epoch(b->epoch);
    // Partitions without a leader that this broker can lead get it now.
    AppendElections(image, LivenessWith(image, {{id, true}}), &d.records);
    r.set_is_fenced(false);
  } else {
    r.set_is_fenced(b->fenced);
  }
  AppendOfflineReplicaChanges(image, id, request.offline_replicas(), &d.records);
  return d;
}

void Controller::AppendOfflineReplicaChanges(
    const MetadataImage& image, int32_t broker,
    const google::protobuf::RepeatedPtrField<internal::OfflineReplica>& offline,
    internal::MetadataRecordBatch* batch) const {
  auto live = [&image](int32_t id) { return image.IsBrokerLive(id); };
  for (const internal::OfflineReplica& o : offline) {
    const TopicInfo* t = image.FindTopicById(o.topic_id());
    if (t == nullptr) continue;
    auto it = t->partitions.find(o.partition());
    if (it == t->partitions.end()) continue;
    const PartitionInfo& p = it->second;
    // The other live in-sync replicas; without one, the broker keeps what it
    // has (the partition would otherwise be offline, or lose records).
    std::vector<int32_t> others;
    for (int32_t r : p.isr) {
      if (r != broker && live(r)) others.push_back(r);
    }
    if (others.empty()) continue;
    int32_t leader = p.leader;
    if (leader == broker) {
      leader = others.front();
      LOG(WARNING) << "Broker " << broker << " cannot serve " << t->name << "-" << p.partition
                   << " (its log is offline); broker " << leader << " leads it now";
    }
    std::vector<int32_t> isr;
    for (int32_t r : p.isr) {
      if (r != broker) isr.push_back(r);
    }
    if (leader == p.leader && isr == p.isr) continue;
    AddChange(*t, p, leader, isr, batch);
  }
}

void Controller::NoteLastContact(int32_t broker_id, int64_t ms) {
  first_seen_ms_.try_emplace(broker_id, ms);
}

internal::MetadataRecordBatch Controller::Tick(const MetadataImage& image, int64_t now_ms) {
  internal::MetadataRecordBatch batch;
  std::map<int32_t, bool> fenced_now;
  for (const auto& [id, b] : image.brokers()) {
    // A broker this controller has never heard from gets a full session
    // from the moment it is first seen.
    const int64_t first_seen = first_seen_ms_.try_emplace(id, now_ms).first->second;
    if (b.fenced) continue;
    auto hb = last_heartbeat_ms_.find(id);
    const int64_t last = hb != last_heartbeat_ms_.end() ? hb->second : first_seen;
    if (now_ms - last <= options_.broker_session_timeout_ms) continue;
    internal::FenceBrokerRecord* f = batch.add_records()->mutable_fence_broker();
    f->set_broker_id(id);
    f->set_broker_epoch(b.epoch);
    fenced_now[id] = false;
  }
  AppendElections(image, LivenessWith(image, std::move(fenced_now)), &batch);
  // A reassignment whose target is all in sync but had no live replica to
  // lead when it got there (an offline partition whose target replica came
  // back and was elected): finish it now. Only on an otherwise empty batch,
  // since each change is computed against the image, not earlier records.
  if (batch.records_size() == 0) AppendCompletedReassignments(image, &batch);
  if (last_rebalance_check_ms_ < 0) last_rebalance_check_ms_ = now_ms;
  if (batch.records_size() == 0 && options_.auto_leader_rebalance_enable &&
      now_ms - last_rebalance_check_ms_ >= options_.leader_imbalance_check_interval_ms) {
    last_rebalance_check_ms_ = now_ms;
    AppendPreferredElections(image, &batch);
  }
  return batch;
}

Decision<internal::AlterPartitionResponse> Controller::AlterPartition(
    const MetadataImage& image, const internal::AlterPartitionRequest& request) {
  Decision<internal::AlterPartitionResponse> d;
  internal::AlterPartitionResponse& r = d.response;
  auto fail = [&r](ErrorCode code, std::string message) { SetError(r, code, std::move(message)); };
  const BrokerRegistration* b = image.broker(request.broker_id());
  if (b == nullptr || b->epoch != request.broker_epoch()) {
    fail(ErrorCode::kStaleBrokerEpoch,
         absl::StrCat("Broker ", request.broker_id(), " epoch ", request.broker_epoch(),
                      " is not its current registration"));
    return d;
  }
  const TopicInfo* t = image.FindTopicById(request.topic_id());
  auto pit = t ? t->partitions.find(request.partition()) : decltype(t->partitions.end()){};
  if (t == nullptr || pit == t->partitions.end()) {
    fail(ErrorCode::kUnknownTopicOrPartition,
         absl::StrCat("Partition ", request.partition(), " of topic id ", request.topic_id(),
                      " does not exist"));
    return d;
  }
  const PartitionInfo& p = pit->second;
  const std::string name = absl::StrCat(t->name, "-", p.partition);
  r.set_leader(p.leader);
  r.set_leader_epoch(p.leader_epoch);
  r.set_partition_epoch(p.partition_epoch);
  for (int32_t id : p.isr) r.add_isr(id);
  if (p.leader != request.broker_id()) {
    fail(ErrorCode::kNotLeaderOrFollower,
         absl::StrCat("Broker ", request.broker_id(), " is not the leader of ", name,
                      "; the leader is ", p.leader));
    return d;
  }
  if (request.leader_epoch() != p.leader_epoch) {
    fail(ErrorCode::kFencedLeaderEpoch,
         absl::StrCat("Leader epoch ", request.leader_epoch(), " of ", name, " is not the current ",
                      p.leader_epoch));
    return d;
  }
  if (request.partition_epoch() != p.partition_epoch) {
    fail(ErrorCode::kInvalidUpdateVersion,
         absl::StrCat("Partition epoch ", request.partition_epoch(), " of ", name,
                      " is not the current ", p.partition_epoch, "; the ISR changed since"));
    return d;
  }
  std::vector<int32_t> isr(request.new_isr().begin(), request.new_isr().end());
  std::set<int32_t> distinct(isr.begin(), isr.end());
  if (distinct.size() != isr.size() || !Contains(isr, p.leader) ||
      !std::all_of(isr.begin(), isr.end(), [&p](int32_t id) { return Contains(p.replicas, id); })) {
    fail(ErrorCode::kInvalidRequest,
         absl::StrCat("ISR [", absl::StrJoin(isr, ","), "] for ", name,
                      " must list distinct replicas of [", absl::StrJoin(p.replicas, ","),
                      "] including the leader ", p.leader));
    return d;
  }
  for (int32_t id : isr) {
    if (!Contains(p.isr, id) && !image.IsBrokerLive(id)) {
      fail(ErrorCode::kIneligibleReplica,
           absl::StrCat("Broker ", id, " cannot join the ISR of ", name, ": it is fenced"));
      return d;
    }
  }
  if (isr == p.isr) return d;
  // Finishing a reassignment whose target this ISR completes, or a plain
  // ISR change; one record either way.
  if (!p.reassigning() || !CompleteReassignmentWithIsr(image, *t, p, isr, &d.records)) {
    AddChange(*t, p, p.leader, isr, &d.records);
  }
  // The answer is the partition as the image will hold it (the same rule
  // moves the epochs); a leader that lost its place learns it from there.
  absl::StatusOr<PartitionInfo> next =
      p.WithChange(d.records.records(d.records.records_size() - 1).partition_change());
  CHECK(next.ok()) << name
                   << ": the controller wrote a change the image refuses: " << next.status();
  r.set_leader(next->leader);
  r.set_leader_epoch(next->leader_epoch);
  r.set_partition_epoch(next->partition_epoch);
  r.clear_isr();
  for (int32_t id : next->isr) r.add_isr(id);
  return d;
}

Decision<internal::AllocateProducerIdsResponse> Controller::AllocateProducerIds(
    const MetadataImage& image, int32_t broker_id, int64_t broker_epoch) {
  Decision<internal::AllocateProducerIdsResponse> d;
  internal::AllocateProducerIdsResponse& r = d.response;
  const BrokerRegistration* b = image.broker(broker_id);
  if (b == nullptr || b->epoch != broker_epoch) {
    SetError(r, ErrorCode::kStaleBrokerEpoch,
             absl::StrCat(
                 "Broker ", broker_id, " epoch ", broker_epoch, " is not its current registration",
                 b == nullptr ? "" : absl::StrCat(" (epoch ", b->epoch, ")"), "; register again"));
    return d;
  }
  const int64_t first = image.next_producer_id();
  if (first > std::numeric_limits<int64_t>::max() - kProducerIdBlockSize) {
    SetError(r, ErrorCode::kUnknownServerError,
             absl::StrCat("Producer ids are exhausted (the next is ", first, ")"));
    return d;
  }
  internal::ProducerIdsRecord* rec = d.records.add_records()->mutable_producer_ids();
  rec->set_broker_id(broker_id);
  rec->set_broker_epoch(broker_epoch);
  rec->set_next_producer_id(first + kProducerIdBlockSize);
  r.set_first_id(first);
  r.set_count(kProducerIdBlockSize);
  return d;
}

Decision<ElectLeadersResponse> Controller::ElectLeaders(const MetadataImage& image,
                                                        const ElectLeadersRequest& request) {
  Decision<ElectLeadersResponse> d;
  if (request.election_type != ElectionType::kPreferred &&
      request.election_type != ElectionType::kUnclean) {
    d.response.error = ErrorCode::kInvalidRequest;
    d.response.error_message =
        absl::StrCat("Unknown election type ", static_cast<int>(request.election_type),
                     ": use 0 (PREFERRED) or 1 (UNCLEAN).");
    return d;
  }
  const bool preferred = request.election_type == ElectionType::kPreferred;
  auto live = [&image](int32_t id) { return image.IsBrokerLive(id); };
  auto elect = [&](const TopicInfo& t, const PartitionInfo& p) {
    PartitionElectionResult* r = &d.response.results.emplace_back();
    r->topic = t.name;
    r->partition = p.partition;
    r->leader = p.leader;
    const std::string name = absl::StrCat(t.name, "-", p.partition);
    auto fail = [r](ErrorCode code, std::string message) {
      r->error = code;
      r->error_message = std::move(message);
    };
    if (preferred) {
      const int32_t want = p.replicas.front();
      if (p.leader == want) {
        return fail(ErrorCode::kElectionNotNeeded,
                    "Leader election not needed for topic partition");
      }
      if (!live(want) || !Contains(p.isr, want)) {
        return fail(ErrorCode::kPreferredLeaderNotAvailable,
                    absl::StrCat("Failed to elect leader for partition ", name,
                                 " under strategy PreferredReplicaPartitionLeaderElectionStrategy: "
                                 "the preferred replica ",
                                 want, live(want) ? " is not in the ISR" : " is not live"));
      }
      AddChange(t, p, want, p.isr, &d.records);
      r->leader = want;
      return;
    }
    if (p.leader >= 0 && live(p.leader)) {
      return fail(ErrorCode::kElectionNotNeeded, "Leader election not needed for topic partition");
    }
    std::vector<int32_t> isr = LiveOf(p.isr, live);
    int32_t leader = isr.empty() ? -1 : isr.front();
    if (leader < 0) {
      leader = ElectUnclean(t, p, live, "requested");
      if (leader < 0) {
        return fail(ErrorCode::kEligibleLeadersNotAvailable,
                    absl::StrCat("Failed to elect leader for partition ", name,
                                 " under strategy UncleanPartitionLeaderElectionStrategy: no "
                                 "replica of [",
                                 absl::StrJoin(p.replicas, ","), "] is live"));
      }
      isr = {leader};
    }
    AddChange(t, p, leader, isr, &d.records);
    r->leader = leader;
  };
  if (!request.topic_partitions.has_value()) {
    for (const auto& [name, t] : image.topics()) {
      for (const auto& [pid, p] : t.partitions) elect(t, p);
    }
    return d;
  }
  std::set<std::pair<std::string, int32_t>> seen;
  for (const ElectLeadersTopic& tp : *request.topic_partitions) {
    const TopicInfo* t = image.FindTopic(tp.topic);
    for (int32_t pid : tp.partitions) {
      if (!seen.emplace(tp.topic, pid).second) continue;
      auto it = t ? t->partitions.find(pid) : decltype(t->partitions.end()){};
      if (t == nullptr || it == t->partitions.end()) {
        d.response.results.push_back(PartitionElectionResult{
            .topic = tp.topic,
            .partition = pid,
            .error = ErrorCode::kUnknownTopicOrPartition,
            .error_message = "This server does not host this topic-partition.",
            .leader = -1});
        continue;
      }
      elect(*t, it->second);
    }
  }
  return d;
}

void Controller::AppendPreferredElections(const MetadataImage& image,
                                          internal::MetadataRecordBatch* batch) const {
  // Kafka's auto.leader.rebalance: per preferred broker, the share of its
  // partitions led elsewhere; above leader.imbalance.per.broker.percentage,
  // those whose preferred replica is live and in sync move back.
  std::map<int32_t, std::pair<int, int>> imbalance;  // broker -> (not led, total)
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [pid, p] : t.partitions) {
      auto& [off, total] = imbalance[p.replicas.front()];
      ++total;
      if (p.leader != p.replicas.front()) ++off;
    }
  }
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [pid, p] : t.partitions) {
      const int32_t want = p.replicas.front();
      if (p.leader == want || !image.IsBrokerLive(want) || !Contains(p.isr, want)) continue;
      const auto& [off, total] = imbalance[want];
      if (off * 100 <= options_.leader_imbalance_per_broker_percentage * total) continue;
      LOG(INFO) << "Preferred leader election for " << name << "-" << pid << ": broker " << want
                << " leads again (was " << p.leader << ")";
      AddChange(t, p, want, p.isr, batch);
    }
  }
}

std::string NewTopicId(const std::function<uint32_t()>& random) {
  std::function<uint32_t()> next = random;
  if (!next) {
    static thread_local std::mt19937 rng{std::random_device()()};
    next = [] { return static_cast<uint32_t>(rng()); };
  }
  char bytes[16];
  for (int i = 0; i < 4; ++i) {
    const uint32_t v = next();
    for (int j = 0; j < 4; ++j) bytes[i * 4 + j] = static_cast<char>((v >> (24 - 8 * j)) & 0xff);
  }
  // A version-4 UUID, as Java's UUID.randomUUID() (and so Kafka) makes; it
  // can never be the all-zero id Kafka reserves.
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  // Kafka never hands out an id starting with '-', which command-line tools
  // would read as a flag; clearing the top bit turns '-' into 'f'.
  if (((static_cast<uint8_t>(bytes[0]) >> 2) & 0x3f) == 62)
    bytes[0] = static_cast<char>(bytes[0] & 0x7f);
  return absl::WebSafeBase64Escape(absl::string_view(bytes, sizeof(bytes)));
}

}  // namespace strata::metadata
