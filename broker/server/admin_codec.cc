#include "broker/server/admin_codec.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "broker/server/wire_errors.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

// The topic-changing responses: one TopicResult per topic.
template <typename WireResponse>
std::vector<metadata::TopicResult> DecodeResults(const WireResponse& in) {
  std::vector<metadata::TopicResult> out;
  for (const v1::TopicResult& r : in.results()) {
    out.push_back(metadata::TopicResult{
        .name = r.name(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
        .topic_id = r.topic_id(),
        .num_partitions = r.num_partitions(),
        .replication_factor = r.replication_factor(),
    });
  }
  return out;
}

template <typename WireResponse>
void EncodeResults(const std::vector<metadata::TopicResult>& in, WireResponse* out) {
  for (const metadata::TopicResult& r : in) {
    v1::TopicResult* t = out->add_results();
    t->set_name(r.name);
    t->set_error(ToProto(r.error));
    t->set_error_message(r.error_message);
    t->set_topic_id(r.topic_id);
    t->set_num_partitions(r.num_partitions);
    t->set_replication_factor(r.replication_factor);
  }
}

v1::AlterConfigOp EncodeOp(metadata::AlterConfigOpType op) {
  switch (op) {
    case metadata::AlterConfigOpType::kSet:
      return v1::CONFIG_SET;
    case metadata::AlterConfigOpType::kDelete:
      return v1::CONFIG_DELETE;
    case metadata::AlterConfigOpType::kAppend:
      return v1::CONFIG_APPEND;
    case metadata::AlterConfigOpType::kSubtract:
      return v1::CONFIG_SUBTRACT;
    case metadata::AlterConfigOpType::kUnknown:
      break;
  }
  // A number no side knows: the receiver refuses it as it would ours.
  return static_cast<v1::AlterConfigOp>(-1);
}

}  // namespace

// --- Requests ---

request::ListOffsetsRequest Decode(const v1::ListOffsetsRequest& in) {
  request::ListOffsetsRequest out;
  out.read_committed = in.isolation_level() == v1::READ_COMMITTED;
  for (const v1::ListOffsetsTopic& topic : in.topics()) {
    request::ListOffsetsTopic& t = out.topics.emplace_back();
    t.topic = topic.topic();
    for (const v1::ListOffsetsPartition& part : topic.partitions()) {
      t.partitions.push_back(request::ListOffsetsPartition{part.partition(), part.timestamp()});
    }
  }
  return out;
}

void Encode(const request::ListOffsetsResponse& in, v1::ListOffsetsResponse* out) {
  for (const request::ListOffsetsTopicResult& t : in.topics) {
    v1::ListOffsetsTopicResponse* tr = out->add_topics();
    tr->set_topic(t.topic);
    for (const request::ListOffsetsPartitionResult& p : t.partitions) {
      v1::ListOffsetsPartitionResponse* pr = tr->add_partitions();
      pr->set_partition(p.partition);
      pr->set_error(ToProto(p.error));
      pr->set_error_message(p.message);
      pr->set_offset(p.offset);
      pr->set_timestamp(p.timestamp);
      pr->set_leader_epoch(p.leader_epoch);
      pr->set_leader_hint(p.leader_hint);
    }
  }
}

metadata::CreateTopicsRequest Decode(const v1::CreateTopicsRequest& in) {
  metadata::CreateTopicsRequest out;
  for (const v1::NewTopic& t : in.topics()) {
    metadata::NewTopic& nt = out.topics.emplace_back(metadata::NewTopic{
        .name = t.name(),
        .num_partitions = t.num_partitions(),
        .replication_factor = t.replication_factor(),
        .configs = {t.configs().begin(), t.configs().end()},
        .assignments = {},
    });
    for (const v1::ReplicaAssignment& a : t.assignments()) {
      // A partition listed twice: an empty list the controller refuses.
      auto [it, fresh] =
          nt.assignments.try_emplace(a.partition(), a.broker_ids().begin(), a.broker_ids().end());
      if (!fresh) it->second.clear();
    }
  }
  out.timeout_ms = in.timeout_ms();
  out.validate_only = in.validate_only();
  return out;
}

metadata::DeleteTopicsRequest Decode(const v1::DeleteTopicsRequest& in) {
  return metadata::DeleteTopicsRequest{
      .names = {in.names().begin(), in.names().end()},
      .timeout_ms = in.timeout_ms(),
  };
}

metadata::CreatePartitionsRequest Decode(const v1::CreatePartitionsRequest& in) {
  metadata::CreatePartitionsRequest out;
  for (const v1::PartitionCount& t : in.topics()) {
    out.topics.push_back(metadata::CreatePartitionsTopic{.name = t.name(), .count = t.count()});
  }
  out.timeout_ms = in.timeout_ms();
  out.validate_only = in.validate_only();
  return out;
}

metadata::ElectLeadersRequest Decode(const v1::ElectLeadersRequest& in) {
  metadata::ElectLeadersRequest out;
  // Any number, as it came: the controller refuses one it does not know.
  out.election_type = static_cast<metadata::ElectionType>(in.election_type());
  out.timeout_ms = in.timeout_ms();
  if (in.topic_partitions().empty()) return out;
  std::vector<metadata::ElectLeadersTopic>& topics = out.topic_partitions.emplace();
  for (const v1::ElectLeadersPartitions& tp : in.topic_partitions()) {
    topics.push_back(metadata::ElectLeadersTopic{
        .topic = tp.topic(),
        .partitions = {tp.partitions().begin(), tp.partitions().end()},
    });
  }
  return out;
}

metadata::AlterPartitionReassignmentsRequest Decode(
    const v1::AlterPartitionReassignmentsRequest& in) {
  metadata::AlterPartitionReassignmentsRequest out;
  out.timeout_ms = in.timeout_ms();
  for (const v1::ReassignableTopic& t : in.topics()) {
    for (const v1::ReassignablePartition& p : t.partitions()) {
      metadata::ReassignPartition& r = out.partitions.emplace_back();
      r.topic = t.name();
      r.partition = p.partition();
      if (!p.cancel()) r.replicas.emplace(p.replicas().begin(), p.replicas().end());
    }
  }
  return out;
}

metadata::UnregisterBrokerRequest Decode(const v1::UnregisterBrokerRequest& in) {
  return {.broker_id = in.broker_id()};
}

metadata::IncrementalAlterConfigsRequest Decode(const v1::IncrementalAlterConfigsRequest& in) {
  metadata::IncrementalAlterConfigsRequest out;
  out.validate_only = in.validate_only();
  out.replace_all = in.replace_all();
  for (const v1::AlterConfigsResource& r : in.resources()) {
    metadata::AlterConfigsResource& res = out.resources.emplace_back();
    res.type = Decode(r.resource_type());
    res.name = r.resource_name();
    for (const v1::AlterableConfig& c : r.configs()) {
      res.ops.push_back({.name = c.name(), .op = DecodeOp(c.op()), .value = c.value()});
    }
  }
  return out;
}

metadata::IncrementalAlterConfigsRequest Decode(const v1::AlterConfigsRequest& in) {
  metadata::IncrementalAlterConfigsRequest out;
  out.validate_only = in.validate_only();
  out.replace_all = true;
  for (const v1::AlterConfigsRequestResource& r : in.resources()) {
    metadata::AlterConfigsResource& res = out.resources.emplace_back();
    res.type = Decode(r.resource_type());
    res.name = r.resource_name();
    for (const v1::AlterConfigsValue& c : r.configs()) {
      res.ops.push_back(
          {.name = c.name(), .op = metadata::AlterConfigOpType::kSet, .value = c.value()});
    }
  }
  return out;
}

request::DescribeConfigsRequest Decode(const v1::DescribeConfigsRequest& in, bool forwarded) {
  request::DescribeConfigsRequest out;
  out.include_synonyms = in.include_synonyms();
  out.forwarded = forwarded;
  for (const v1::DescribeConfigsResource& r : in.resources()) {
    request::DescribeConfigsResource& res = out.resources.emplace_back();
    res.type = Decode(r.resource_type());
    res.name = r.resource_name();
    if (!r.configuration_keys().empty()) {
      res.keys.emplace(r.configuration_keys().begin(), r.configuration_keys().end());
    }
  }
  return out;
}

request::ListPartitionReassignmentsRequest Decode(const v1::ListPartitionReassignmentsRequest& in) {
  request::ListPartitionReassignmentsRequest out;
  if (in.topics().empty()) return out;
  std::vector<request::ListReassignmentsTopic>& topics = out.topics.emplace();
  for (const v1::ListPartitionReassignmentsTopics& t : in.topics()) {
    topics.push_back(
        {.name = t.name(), .partitions = {t.partitions().begin(), t.partitions().end()}});
  }
  return out;
}

request::DescribeLogDirsRequest Decode(const v1::DescribeLogDirsRequest& in) {
  request::DescribeLogDirsRequest out;
  if (!in.has_partitions()) return out;
  std::vector<request::DescribeLogDirsTopic>& topics = out.topics.emplace();
  for (const v1::DescribeLogDirsTopic& t : in.partitions().topics()) {
    topics.push_back(
        {.topic = t.topic(), .partitions = {t.partitions().begin(), t.partitions().end()}});
  }
  return out;
}

v1::CreateTopicsRequest Encode(const metadata::CreateTopicsRequest& in) {
  v1::CreateTopicsRequest out;
  for (const metadata::NewTopic& t : in.topics) {
    v1::NewTopic* nt = out.add_topics();
    nt->set_name(t.name);
    nt->set_num_partitions(t.num_partitions);
    nt->set_replication_factor(t.replication_factor);
    for (const auto& [k, v] : t.configs) (*nt->mutable_configs())[k] = v;
    for (const auto& [partition, brokers] : t.assignments) {
      v1::ReplicaAssignment* a = nt->add_assignments();
      a->set_partition(partition);
      for (int32_t b : brokers) a->add_broker_ids(b);
    }
  }
  out.set_timeout_ms(in.timeout_ms);
  out.set_validate_only(in.validate_only);
  return out;
}

v1::DeleteTopicsRequest Encode(const metadata::DeleteTopicsRequest& in) {
  v1::DeleteTopicsRequest out;
  for (const std::string& name : in.names) out.add_names(name);
  out.set_timeout_ms(in.timeout_ms);
  return out;
}

v1::CreatePartitionsRequest Encode(const metadata::CreatePartitionsRequest& in) {
  v1::CreatePartitionsRequest out;
  for (const metadata::CreatePartitionsTopic& t : in.topics) {
    v1::PartitionCount* c = out.add_topics();
    c->set_name(t.name);
    c->set_count(t.count);
  }
  out.set_timeout_ms(in.timeout_ms);
  out.set_validate_only(in.validate_only);
  return out;
}

v1::ElectLeadersRequest Encode(const metadata::ElectLeadersRequest& in) {
  v1::ElectLeadersRequest out;
  out.set_election_type(static_cast<v1::ElectionType>(in.election_type));
  out.set_timeout_ms(in.timeout_ms);
  if (!in.topic_partitions.has_value()) return out;
  for (const metadata::ElectLeadersTopic& t : *in.topic_partitions) {
    v1::ElectLeadersPartitions* tp = out.add_topic_partitions();
    tp->set_topic(t.topic);
    for (int32_t p : t.partitions) tp->add_partitions(p);
  }
  return out;
}

v1::AlterPartitionReassignmentsRequest Encode(
    const metadata::AlterPartitionReassignmentsRequest& in) {
  v1::AlterPartitionReassignmentsRequest out;
  out.set_timeout_ms(in.timeout_ms);
  v1::ReassignableTopic* topic = nullptr;
  for (const metadata::ReassignPartition& r : in.partitions) {
    if (topic == nullptr || topic->name() != r.topic) {
      topic = out.add_topics();
      topic->set_name(r.topic);
    }
    v1::ReassignablePartition* p = topic->add_partitions();
    p->set_partition(r.partition);
    if (r.replicas.has_value()) {
      for (int32_t b : *r.replicas) p->add_replicas(b);
    } else {
      p->set_cancel(true);
    }
  }
  return out;
}

v1::UnregisterBrokerRequest Encode(const metadata::UnregisterBrokerRequest& in) {
  v1::UnregisterBrokerRequest out;
  out.set_broker_id(in.broker_id);
  return out;
}

v1::IncrementalAlterConfigsRequest Encode(const metadata::IncrementalAlterConfigsRequest& in) {
  v1::IncrementalAlterConfigsRequest out;
  out.set_validate_only(in.validate_only);
  out.set_replace_all(in.replace_all);
  for (const metadata::AlterConfigsResource& r : in.resources) {
    v1::AlterConfigsResource* res = out.add_resources();
    res->set_resource_type(Encode(r.type));
    res->set_resource_name(r.name);
    for (const metadata::AlterConfigOp& op : r.ops) {
      v1::AlterableConfig* c = res->add_configs();
      c->set_name(op.name);
      c->set_op(EncodeOp(op.op));
      c->set_value(op.value);
    }
  }
  return out;
}

v1::DescribeConfigsRequest Encode(const request::DescribeConfigsRequest& in) {
  v1::DescribeConfigsRequest out;
  out.set_include_synonyms(in.include_synonyms);
  for (const request::DescribeConfigsResource& r : in.resources) {
    v1::DescribeConfigsResource* res = out.add_resources();
    res->set_resource_type(Encode(r.type));
    res->set_resource_name(r.name);
    if (r.keys.has_value()) {
      for (const std::string& k : *r.keys) res->add_configuration_keys(k);
    }
  }
  return out;
}

v1::ListPartitionReassignmentsRequest Encode(const request::ListPartitionReassignmentsRequest& in) {
  v1::ListPartitionReassignmentsRequest out;
  if (!in.topics.has_value()) return out;
  for (const request::ListReassignmentsTopic& t : *in.topics) {
    v1::ListPartitionReassignmentsTopics* o = out.add_topics();
    o->set_name(t.name);
    for (int32_t p : t.partitions) o->add_partitions(p);
  }
  return out;
}

// --- Responses ---

metadata::CreateTopicsResponse Decode(const v1::CreateTopicsResponse& in) {
  return {.results = DecodeResults(in)};
}
metadata::DeleteTopicsResponse Decode(const v1::DeleteTopicsResponse& in) {
  return {.results = DecodeResults(in)};
}
metadata::CreatePartitionsResponse Decode(const v1::CreatePartitionsResponse& in) {
  return {.results = DecodeResults(in)};
}

metadata::ElectLeadersResponse Decode(const v1::ElectLeadersResponse& in) {
  metadata::ElectLeadersResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::PartitionElectionResult& r : in.results()) {
    out.results.push_back(metadata::PartitionElectionResult{
        .topic = r.topic(),
        .partition = r.partition(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
        .leader = r.leader(),
    });
  }
  return out;
}

metadata::AlterPartitionReassignmentsResponse Decode(
    const v1::AlterPartitionReassignmentsResponse& in) {
  metadata::AlterPartitionReassignmentsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::ReassignableTopicResponse& t : in.responses()) {
    for (const v1::ReassignablePartitionResponse& p : t.partitions()) {
      out.results.push_back(metadata::ReassignPartitionResult{
          .topic = t.name(),
          .partition = p.partition(),
          .error = FromProto(p.error()),
          .error_message = p.error_message(),
      });
    }
  }
  return out;
}

metadata::UnregisterBrokerResponse Decode(const v1::UnregisterBrokerResponse& in) {
  return {.error = FromProto(in.error()), .error_message = in.error_message()};
}

metadata::IncrementalAlterConfigsResponse Decode(const v1::IncrementalAlterConfigsResponse& in) {
  metadata::IncrementalAlterConfigsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::AlterConfigsResourceResponse& r : in.responses()) {
    out.results.push_back(metadata::AlterConfigsResult{
        .type = Decode(r.resource_type()),
        .name = r.resource_name(),
        .error = FromProto(r.error()),
        .error_message = r.error_message(),
    });
  }
  return out;
}

request::DescribeConfigsResult Decode(const v1::DescribeConfigsResult& in) {
  request::DescribeConfigsResult out;
  out.error = FromProto(in.error());
  out.message = in.error_message();
  out.type = Decode(in.resource_type());
  out.name = in.resource_name();
  for (const v1::ConfigEntry& e : in.configs()) {
    metadata::DescribedConfig& c = out.configs.emplace_back();
    c.name = e.name();
    c.value = e.value();
    c.source = Decode(e.source());
    c.read_only = e.read_only();
    for (const v1::ConfigSynonym& s : e.synonyms()) {
      c.synonyms.push_back({.name = s.name(), .value = s.value(), .source = Decode(s.source())});
    }
  }
  return out;
}

request::ListPartitionReassignmentsResponse Decode(
    const v1::ListPartitionReassignmentsResponse& in) {
  request::ListPartitionReassignmentsResponse out;
  out.error = FromProto(in.error());
  out.message = in.error_message();
  for (const v1::OngoingTopicReassignment& t : in.topics()) {
    request::OngoingTopicReassignment& topic = out.topics.emplace_back();
    topic.name = t.name();
    for (const v1::OngoingPartitionReassignment& p : t.partitions()) {
      topic.partitions.push_back({
          .partition = p.partition(),
          .replicas = {p.replicas().begin(), p.replicas().end()},
          .adding_replicas = {p.adding_replicas().begin(), p.adding_replicas().end()},
          .removing_replicas = {p.removing_replicas().begin(), p.removing_replicas().end()},
      });
    }
  }
  return out;
}

void Encode(const metadata::CreateTopicsResponse& in, v1::CreateTopicsResponse* out) {
  EncodeResults(in.results, out);
}
void Encode(const metadata::DeleteTopicsResponse& in, v1::DeleteTopicsResponse* out) {
  EncodeResults(in.results, out);
}
void Encode(const metadata::CreatePartitionsResponse& in, v1::CreatePartitionsResponse* out) {
  EncodeResults(in.results, out);
}

void Encode(const metadata::ElectLeadersResponse& in, v1::ElectLeadersResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::PartitionElectionResult& r : in.results) {
    v1::PartitionElectionResult* e = out->add_results();
    e->set_topic(r.topic);
    e->set_partition(r.partition);
    e->set_error(ToProto(r.error));
    e->set_error_message(r.error_message);
    e->set_leader(r.leader);
  }
}

void Encode(const metadata::AlterPartitionReassignmentsResponse& in,
            v1::AlterPartitionReassignmentsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  std::map<std::string, v1::ReassignableTopicResponse*> topics;
  for (const metadata::ReassignPartitionResult& r : in.results) {
    v1::ReassignableTopicResponse*& t = topics[r.topic];
    if (t == nullptr) {
      t = out->add_responses();
      t->set_name(r.topic);
    }
    v1::ReassignablePartitionResponse* p = t->add_partitions();
    p->set_partition(r.partition);
    p->set_error(ToProto(r.error));
    p->set_error_message(r.error_message);
  }
}

void Encode(const metadata::UnregisterBrokerResponse& in, v1::UnregisterBrokerResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
}

void Encode(const metadata::IncrementalAlterConfigsResponse& in,
            v1::IncrementalAlterConfigsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::AlterConfigsResult& r : in.results) {
    v1::AlterConfigsResourceResponse* o = out->add_responses();
    o->set_resource_type(Encode(r.type));
    o->set_resource_name(r.name);
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
  }
}

void Encode(const metadata::IncrementalAlterConfigsResponse& in, v1::AlterConfigsResponse* out) {
  v1::IncrementalAlterConfigsResponse incremental;
  Encode(in, &incremental);
  out->set_error(incremental.error());
  out->set_error_message(incremental.error_message());
  out->mutable_responses()->Swap(incremental.mutable_responses());
}

void Encode(const request::DescribeConfigsResult& in, v1::DescribeConfigsResult* out) {
  out->set_resource_type(Encode(in.type));
  out->set_resource_name(in.name);
  out->set_error(ToProto(in.error));
  out->set_error_message(in.message);
  for (const metadata::DescribedConfig& c : in.configs) {
    v1::ConfigEntry* e = out->add_configs();
    e->set_name(c.name);
    e->set_value(c.value);
    e->set_is_default(c.source == metadata::ConfigSource::kDefault);
    e->set_source(Encode(c.source));
    e->set_is_sensitive(false);
    e->set_read_only(c.read_only);
    for (const metadata::ConfigSynonym& syn : c.synonyms) {
      v1::ConfigSynonym* o = e->add_synonyms();
      o->set_name(syn.name);
      o->set_value(syn.value);
      o->set_source(Encode(syn.source));
    }
  }
}

void Encode(const request::DescribeConfigsResponse& in, v1::DescribeConfigsResponse* out) {
  for (const request::DescribeConfigsResult& r : in.results) Encode(r, out->add_results());
}

void Encode(const request::ListPartitionReassignmentsResponse& in,
            v1::ListPartitionReassignmentsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.message);
  for (const request::OngoingTopicReassignment& t : in.topics) {
    v1::OngoingTopicReassignment* topic = out->add_topics();
    topic->set_name(t.name);
    for (const request::OngoingPartitionReassignment& p : t.partitions) {
      v1::OngoingPartitionReassignment* o = topic->add_partitions();
      o->set_partition(p.partition);
      for (int32_t r : p.replicas) o->add_replicas(r);
      for (int32_t r : p.adding_replicas) o->add_adding_replicas(r);
      for (int32_t r : p.removing_replicas) o->add_removing_replicas(r);
    }
  }
}

void Encode(const request::DescribeLogDirsResponse& in, v1::DescribeLogDirsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.message);
  for (const request::LogDirDescription& d : in.results) {
    v1::LogDirDescription* dir = out->add_log_dirs();
    dir->set_error(ToProto(d.error));
    dir->set_error_message(d.message);
    dir->set_log_dir(d.log_dir);
    dir->set_total_bytes(d.total_bytes);
    dir->set_usable_bytes(d.usable_bytes);
    for (const request::LogDirTopic& t : d.topics) {
      v1::LogDirTopic* topic = dir->add_topics();
      topic->set_name(t.topic);
      for (const request::LogDirPartition& p : t.partitions) {
        v1::LogDirPartition* o = topic->add_partitions();
        o->set_partition(p.partition);
        o->set_size(p.size_bytes);
        o->set_offset_lag(p.offset_lag);
        o->set_is_future(p.is_future);
      }
    }
  }
}

// --- Enums ---

metadata::ConfigResourceType Decode(v1::ConfigResourceType type) {
  switch (type) {
    case v1::CONFIG_RESOURCE_TOPIC:
      return metadata::ConfigResourceType::kTopic;
    case v1::CONFIG_RESOURCE_BROKER:
      return metadata::ConfigResourceType::kBroker;
    default:
      return metadata::ConfigResourceType::kUnknown;
  }
}

v1::ConfigResourceType Encode(metadata::ConfigResourceType type) {
  switch (type) {
    case metadata::ConfigResourceType::kTopic:
      return v1::CONFIG_RESOURCE_TOPIC;
    case metadata::ConfigResourceType::kBroker:
      return v1::CONFIG_RESOURCE_BROKER;
    default:
      return v1::CONFIG_RESOURCE_UNKNOWN;
  }
}

metadata::AlterConfigOpType DecodeOp(int op) {
  switch (op) {
    case v1::CONFIG_SET:
      return metadata::AlterConfigOpType::kSet;
    case v1::CONFIG_DELETE:
      return metadata::AlterConfigOpType::kDelete;
    case v1::CONFIG_APPEND:
      return metadata::AlterConfigOpType::kAppend;
    case v1::CONFIG_SUBTRACT:
      return metadata::AlterConfigOpType::kSubtract;
    default:
      // The controller refuses it.
      return metadata::AlterConfigOpType::kUnknown;
  }
}

metadata::ConfigSource Decode(v1::ConfigSource source) {
  switch (source) {
    case v1::DYNAMIC_TOPIC_CONFIG:
      return metadata::ConfigSource::kDynamicTopic;
    case v1::DYNAMIC_BROKER_CONFIG:
      return metadata::ConfigSource::kDynamicBroker;
    case v1::DYNAMIC_DEFAULT_BROKER_CONFIG:
      return metadata::ConfigSource::kDynamicDefaultBroker;
    case v1::STATIC_BROKER_CONFIG:
      return metadata::ConfigSource::kStaticBroker;
    case v1::DEFAULT_CONFIG:
      return metadata::ConfigSource::kDefault;
    default:
      return metadata::ConfigSource::kUnknown;
  }
}

v1::ConfigSource Encode(metadata::ConfigSource source) {
  switch (source) {
    case metadata::ConfigSource::kDynamicTopic:
      return v1::DYNAMIC_TOPIC_CONFIG;
    case metadata::ConfigSource::kDynamicBroker:
      return v1::DYNAMIC_BROKER_CONFIG;
    case metadata::ConfigSource::kDynamicDefaultBroker:
      return v1::DYNAMIC_DEFAULT_BROKER_CONFIG;
    case metadata::ConfigSource::kStaticBroker:
      return v1::STATIC_BROKER_CONFIG;
    case metadata::ConfigSource::kDefault:
      return v1::DEFAULT_CONFIG;
    case metadata::ConfigSource::kUnknown:
      break;
  }
  return v1::CONFIG_SOURCE_UNKNOWN;
}

// ---------------------------------------------------------------------------
// Security (issue 16)

namespace {

metadata::QuotaEntityParts DecodeEntity(
    const google::protobuf::RepeatedPtrField<v1::ClientQuotaEntityPart>& in) {
  metadata::QuotaEntityParts out;
  for (const v1::ClientQuotaEntityPart& p : in) {
    out.push_back({p.entity_type(), p.has_entity_name()
                                        ? std::optional<std::string>(p.entity_name())
                                        : std::nullopt});
  }
  return out;
}

void EncodeEntity(const metadata::QuotaEntityParts& in,
                  google::protobuf::RepeatedPtrField<v1::ClientQuotaEntityPart>* out) {
  for (const metadata::QuotaEntityPart& p : in) {
    v1::ClientQuotaEntityPart* e = out->Add();
    e->set_entity_type(p.type);
    if (p.name) e->set_entity_name(*p.name);
  }
}

}  // namespace

security::AclBinding Decode(const v1::AclBinding& in) {
  security::AclBinding b;
  b.pattern.type = metadata::ResourceTypeOfCode(in.resource_type());
  b.pattern.name = in.resource_name();
  b.pattern.pattern_type = metadata::PatternTypeOfCode(in.pattern_type());
  b.entry.principal = in.principal();
  b.entry.host = in.host();
  b.entry.operation = metadata::AclOperationOfCode(in.operation());
  b.entry.permission = metadata::AclPermissionTypeOfCode(in.permission_type());
  return b;
}

void Encode(const security::AclBinding& in, v1::AclBinding* out) {
  out->set_resource_type(static_cast<int32_t>(in.pattern.type));
  out->set_resource_name(in.pattern.name);
  out->set_pattern_type(static_cast<int32_t>(in.pattern.pattern_type));
  out->set_principal(in.entry.principal);
  out->set_host(in.entry.host);
  out->set_operation(static_cast<int32_t>(in.entry.operation));
  out->set_permission_type(static_cast<int32_t>(in.entry.permission));
}

security::AclBindingFilter Decode(const v1::AclBindingFilter& in) {
  security::AclBindingFilter f;
  f.type = metadata::ResourceTypeOfCode(in.resource_type());
  if (in.has_resource_name()) f.name = in.resource_name();
  f.pattern_type = metadata::PatternTypeOfCode(in.pattern_type());
  if (in.has_principal()) f.principal = in.principal();
  if (in.has_host()) f.host = in.host();
  f.operation = metadata::AclOperationOfCode(in.operation());
  f.permission = metadata::AclPermissionTypeOfCode(in.permission_type());
  return f;
}

void Encode(const security::AclBindingFilter& in, v1::AclBindingFilter* out) {
  out->set_resource_type(static_cast<int32_t>(in.type));
  if (in.name) out->set_resource_name(*in.name);
  out->set_pattern_type(static_cast<int32_t>(in.pattern_type));
  if (in.principal) out->set_principal(*in.principal);
  if (in.host) out->set_host(*in.host);
  out->set_operation(static_cast<int32_t>(in.operation));
  out->set_permission_type(static_cast<int32_t>(in.permission));
}

// --- Requests ---

metadata::CreateAclsRequest Decode(const v1::CreateAclsRequest& in) {
  metadata::CreateAclsRequest out;
  for (const v1::AclBinding& b : in.creations()) out.creations.push_back(Decode(b));
  return out;
}

metadata::DeleteAclsRequest Decode(const v1::DeleteAclsRequest& in) {
  metadata::DeleteAclsRequest out;
  for (const v1::AclBindingFilter& f : in.filters()) out.filters.push_back(Decode(f));
  return out;
}

metadata::DescribeAclsRequest Decode(const v1::DescribeAclsRequest& in) {
  return metadata::DescribeAclsRequest{.filter = Decode(in.filter())};
}

metadata::AlterUserScramCredentialsRequest Decode(const v1::AlterUserScramCredentialsRequest& in) {
  metadata::AlterUserScramCredentialsRequest out;
  for (const v1::ScramCredentialDeletion& d : in.deletions()) {
    out.deletions.push_back({.user = d.name(), .mechanism = d.mechanism()});
  }
  for (const v1::ScramCredentialUpsertion& u : in.upsertions()) {
    out.upsertions.push_back({.user = u.name(),
                              .mechanism = u.mechanism(),
                              .iterations = u.iterations(),
                              .salt = u.salt(),
                              .salted_password = u.salted_password()});
  }
  return out;
}

metadata::DescribeUserScramCredentialsRequest Decode(
    const v1::DescribeUserScramCredentialsRequest& in) {
  metadata::DescribeUserScramCredentialsRequest out;
  if (in.users_size() > 0) out.users.emplace(in.users().begin(), in.users().end());
  return out;
}

metadata::AlterClientQuotasRequest Decode(const v1::AlterClientQuotasRequest& in) {
  metadata::AlterClientQuotasRequest out;
  out.validate_only = in.validate_only();
  for (const v1::ClientQuotaAlteration& e : in.entries()) {
    metadata::ClientQuotaAlteration& a = out.entries.emplace_back();
    a.entity = DecodeEntity(e.entity());
    for (const v1::ClientQuotaOp& op : e.ops()) {
      a.ops.push_back(
          {.key = op.key(), .value = op.remove() ? std::nullopt : std::optional(op.value())});
    }
  }
  return out;
}

metadata::DescribeClientQuotasRequest Decode(const v1::DescribeClientQuotasRequest& in) {
  metadata::DescribeClientQuotasRequest out;
  out.strict = in.strict();
  for (const v1::ClientQuotaFilterComponent& c : in.components()) {
    out.components.push_back(
        {.entity_type = c.entity_type(),
         .match_type = c.match_type(),
         .match = c.has_match() ? std::optional<std::string>(c.match()) : std::nullopt});
  }
  return out;
}

metadata::AlterSecurityRequest Decode(const internal::AlterSecurityRequest& in) {
  switch (in.op_case()) {
    case internal::AlterSecurityRequest::kDeleteAcls:
      return {.op = Decode(in.delete_acls())};
    case internal::AlterSecurityRequest::kAlterUserScramCredentials:
      return {.op = Decode(in.alter_user_scram_credentials())};
    case internal::AlterSecurityRequest::kAlterClientQuotas:
      return {.op = Decode(in.alter_client_quotas())};
    case internal::AlterSecurityRequest::kCreateAcls:
    case internal::AlterSecurityRequest::OP_NOT_SET:
      break;
  }
  return {.op = Decode(in.create_acls())};
}

v1::CreateAclsRequest Encode(const metadata::CreateAclsRequest& in) {
  v1::CreateAclsRequest out;
  for (const security::AclBinding& b : in.creations) Encode(b, out.add_creations());
  return out;
}

v1::DeleteAclsRequest Encode(const metadata::DeleteAclsRequest& in) {
  v1::DeleteAclsRequest out;
  for (const security::AclBindingFilter& f : in.filters) Encode(f, out.add_filters());
  return out;
}

v1::AlterUserScramCredentialsRequest Encode(const metadata::AlterUserScramCredentialsRequest& in) {
  v1::AlterUserScramCredentialsRequest out;
  for (const metadata::ScramCredentialDeletion& d : in.deletions) {
    v1::ScramCredentialDeletion* o = out.add_deletions();
    o->set_name(d.user);
    o->set_mechanism(static_cast<v1::ScramMechanism>(d.mechanism));
  }
  for (const metadata::ScramCredentialUpsertion& u : in.upsertions) {
    v1::ScramCredentialUpsertion* o = out.add_upsertions();
    o->set_name(u.user);
    o->set_mechanism(static_cast<v1::ScramMechanism>(u.mechanism));
    o->set_iterations(u.iterations);
    o->set_salt(u.salt);
    o->set_salted_password(u.salted_password);
  }
  return out;
}

v1::AlterClientQuotasRequest Encode(const metadata::AlterClientQuotasRequest& in) {
  v1::AlterClientQuotasRequest out;
  out.set_validate_only(in.validate_only);
  for (const metadata::ClientQuotaAlteration& a : in.entries) {
    v1::ClientQuotaAlteration* e = out.add_entries();
    EncodeEntity(a.entity, e->mutable_entity());
    for (const metadata::QuotaOp& op : a.ops) {
      v1::ClientQuotaOp* o = e->add_ops();
      o->set_key(op.key);
      if (op.value) {
        o->set_value(*op.value);
      } else {
        o->set_remove(true);
      }
    }
  }
  return out;
}

internal::AlterSecurityRequest Encode(const metadata::AlterSecurityRequest& in) {
  internal::AlterSecurityRequest out;
  std::visit(
      [&out](const auto& q) {
        using Request = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<Request, metadata::CreateAclsRequest>) {
          *out.mutable_create_acls() = Encode(q);
        } else if constexpr (std::is_same_v<Request, metadata::DeleteAclsRequest>) {
          *out.mutable_delete_acls() = Encode(q);
        } else if constexpr (std::is_same_v<Request, metadata::AlterUserScramCredentialsRequest>) {
          *out.mutable_alter_user_scram_credentials() = Encode(q);
        } else {
          *out.mutable_alter_client_quotas() = Encode(q);
        }
      },
      in.op);
  return out;
}

// --- Responses ---

metadata::CreateAclsResponse Decode(const v1::CreateAclsResponse& in) {
  metadata::CreateAclsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::AclCreationResult& r : in.results()) {
    out.results.push_back({.error = FromProto(r.error()), .error_message = r.error_message()});
  }
  return out;
}

metadata::DeleteAclsResponse Decode(const v1::DeleteAclsResponse& in) {
  metadata::DeleteAclsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::DeleteAclsFilterResult& r : in.filter_results()) {
    metadata::DeleteAclsFilterResult& f = out.results.emplace_back();
    f.error = FromProto(r.error());
    f.error_message = r.error_message();
    for (const v1::DeleteAclsMatchingAcl& m : r.matching_acls())
      f.matching.push_back(Decode(m.acl()));
  }
  return out;
}

metadata::AlterUserScramCredentialsResponse Decode(
    const v1::AlterUserScramCredentialsResponse& in) {
  metadata::AlterUserScramCredentialsResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::AlterUserScramCredentialsResult& r : in.results()) {
    out.results.push_back(
        {.user = r.user(), .error = FromProto(r.error()), .error_message = r.error_message()});
  }
  return out;
}

metadata::AlterClientQuotasResponse Decode(const v1::AlterClientQuotasResponse& in) {
  metadata::AlterClientQuotasResponse out;
  out.error = FromProto(in.error());
  out.error_message = in.error_message();
  for (const v1::ClientQuotaAlterationResult& r : in.entries()) {
    out.results.push_back({.entity = DecodeEntity(r.entity()),
                           .error = FromProto(r.error()),
                           .error_message = r.error_message()});
  }
  return out;
}

metadata::AlterSecurityResponse Decode(const internal::AlterSecurityResponse& in) {
  switch (in.op_case()) {
    case internal::AlterSecurityResponse::kDeleteAcls:
      return {.op = Decode(in.delete_acls())};
    case internal::AlterSecurityResponse::kAlterUserScramCredentials:
      return {.op = Decode(in.alter_user_scram_credentials())};
    case internal::AlterSecurityResponse::kAlterClientQuotas:
      return {.op = Decode(in.alter_client_quotas())};
    case internal::AlterSecurityResponse::kCreateAcls:
    case internal::AlterSecurityResponse::OP_NOT_SET:
      break;
  }
  return {.op = Decode(in.create_acls())};
}

void Encode(const metadata::CreateAclsResponse& in, v1::CreateAclsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::AclCreationResult& r : in.results) {
    v1::AclCreationResult* o = out->add_results();
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
  }
}

void Encode(const metadata::DeleteAclsResponse& in, v1::DeleteAclsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::DeleteAclsFilterResult& r : in.results) {
    v1::DeleteAclsFilterResult* f = out->add_filter_results();
    f->set_error(ToProto(r.error));
    f->set_error_message(r.error_message);
    for (const security::AclBinding& b : r.matching) {
      Encode(b, f->add_matching_acls()->mutable_acl());
    }
  }
}

void Encode(const metadata::DescribeAclsResponse& in, v1::DescribeAclsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  v1::DescribeAclsResource* resource = nullptr;
  const security::ResourcePattern* pattern = nullptr;
  for (const security::AclBinding& b : in.bindings) {
    if (pattern == nullptr || !(*pattern == b.pattern)) {
      pattern = &b.pattern;
      resource = out->add_resources();
      resource->set_resource_type(static_cast<int32_t>(b.pattern.type));
      resource->set_resource_name(b.pattern.name);
      resource->set_pattern_type(static_cast<int32_t>(b.pattern.pattern_type));
    }
    v1::AclDescription* d = resource->add_acls();
    d->set_principal(b.entry.principal);
    d->set_host(b.entry.host);
    d->set_operation(static_cast<int32_t>(b.entry.operation));
    d->set_permission_type(static_cast<int32_t>(b.entry.permission));
  }
}

void Encode(const metadata::AlterUserScramCredentialsResponse& in,
            v1::AlterUserScramCredentialsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::AlterUserScramCredentialResult& r : in.results) {
    v1::AlterUserScramCredentialsResult* o = out->add_results();
    o->set_user(r.user);
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
  }
}

void Encode(const metadata::DescribeUserScramCredentialsResponse& in,
            v1::DescribeUserScramCredentialsResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::DescribeUserScramCredentialsResult& r : in.results) {
    v1::DescribeUserScramCredentialsResult* o = out->add_results();
    o->set_user(r.user);
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
    for (const metadata::ScramCredentialInfo& c : r.credentials) {
      v1::ScramCredentialInfo* info = o->add_credential_infos();
      info->set_mechanism(static_cast<v1::ScramMechanism>(c.mechanism));
      info->set_iterations(c.iterations);
    }
  }
}

void Encode(const metadata::AlterClientQuotasResponse& in, v1::AlterClientQuotasResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::ClientQuotaAlterationResult& r : in.results) {
    v1::ClientQuotaAlterationResult* o = out->add_entries();
    o->set_error(ToProto(r.error));
    o->set_error_message(r.error_message);
    EncodeEntity(r.entity, o->mutable_entity());
  }
}

void Encode(const metadata::DescribeClientQuotasResponse& in,
            v1::DescribeClientQuotasResponse* out) {
  out->set_error(ToProto(in.error));
  out->set_error_message(in.error_message);
  for (const metadata::ClientQuotaEntry& e : in.entries) {
    v1::ClientQuotaEntry* o = out->add_entries();
    EncodeEntity(e.entity, o->mutable_entity());
    for (const auto& [key, value] : e.values) {
      v1::ClientQuotaValue* v = o->add_values();
      v->set_key(key);
      v->set_value(value);
    }
  }
}

void Encode(const metadata::AlterSecurityResponse& in, internal::AlterSecurityResponse* out) {
  std::visit(
      [out](const auto& r) {
        using Response = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<Response, metadata::CreateAclsResponse>) {
          Encode(r, out->mutable_create_acls());
        } else if constexpr (std::is_same_v<Response, metadata::DeleteAclsResponse>) {
          Encode(r, out->mutable_delete_acls());
        } else if constexpr (std::is_same_v<Response,
                                            metadata::AlterUserScramCredentialsResponse>) {
          Encode(r, out->mutable_alter_user_scram_credentials());
        } else {
          Encode(r, out->mutable_alter_client_quotas());
        }
      },
      in.op);
}

}  // namespace strata::server
