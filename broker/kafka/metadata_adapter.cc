#include "broker/kafka/metadata_adapter.h"

#include <utility>

namespace strata::kafka {

request::MetadataRequest ToRequestLayer(const MetadataRequest& request, int16_t version) {
  request::MetadataRequest out;
  if (request.topics.has_value() && !(version == 0 && request.topics->empty())) {
    std::vector<std::string> names;
    names.reserve(request.topics->size());
    for (const MetadataRequest::Topic& t : *request.topics) names.push_back(t.name);
    out.topics = std::move(names);
  }
  out.allow_auto_topic_creation = version < 4 || request.allow_auto_topic_creation;
  return out;
}

MetadataResponse FromRequestLayer(const request::MetadataResponse& response, int16_t version) {
  MetadataResponse out;
  out.throttle_time_ms = 0;
  out.cluster_id = response.cluster_id;
  out.controller_id = response.controller_id;
  for (const request::BrokerMetadata& b : response.brokers) {
    if (b.fenced) continue;
    MetadataResponse::Broker broker;
    broker.node_id = b.id;
    broker.host = b.host;
    broker.port = b.port;
    if (!b.rack.empty()) broker.rack = b.rack;
    out.brokers.push_back(std::move(broker));
  }
  for (const request::TopicMetadata& t : response.topics) {
    MetadataResponse::Topic topic;
    topic.error_code = static_cast<int16_t>(t.error);
    topic.name = t.name;
    topic.is_internal = t.internal;
    for (const request::PartitionMetadata& p : t.partitions) {
      MetadataResponse::Partition partition;
      partition.error_code = static_cast<int16_t>(p.error);
      if (p.leader_listener_missing) {
        partition.error_code = static_cast<int16_t>(version >= 6 ? ErrorCode::kListenerNotFound
                                                                 : ErrorCode::kLeaderNotAvailable);
      }
      partition.partition_index = p.partition;
      partition.leader_id = p.leader;
      partition.replica_nodes = p.replicas;
      partition.isr_nodes = p.isr;
      partition.offline_replicas = p.offline_replicas;
      topic.partitions.push_back(std::move(partition));
    }
    out.topics.push_back(std::move(topic));
  }
  return out;
}

}  // namespace strata::kafka
