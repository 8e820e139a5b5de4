// Builders for metadata records in tests: one line per record, so a test
// reads as the log it applies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "strata/internal/metadata.pb.h"

namespace strata::metadata::testing {

inline internal::MetadataRecord RegisterBroker(int32_t id, int64_t epoch, bool fenced = true,
                                               std::string incarnation = "inc") {
  internal::MetadataRecord r;
  auto* b = r.mutable_register_broker();
  b->set_broker_id(id);
  b->set_broker_epoch(epoch);
  b->set_incarnation_id(incarnation + std::to_string(id));
  b->set_fenced(fenced);
  b->set_rack("rack" + std::to_string(id % 2));
  auto* e = b->add_endpoints();
  e->set_name("PLAINTEXT");
  e->set_host("localhost");
  e->set_port(9091 + id);
  auto* c = b->add_endpoints();
  c->set_name("CONTROLLER");
  c->set_host("localhost");
  c->set_port(19091 + id);
  return r;
}

inline internal::BrokerEndpoint ListenerEndpoint(const std::string& listener,
                                                 const std::string& host, int32_t port) {
  internal::BrokerEndpoint e;
  e.set_name(listener);
  e.set_host(host);
  e.set_port(port);
  return e;
}

inline internal::MetadataRecord Fence(int32_t id, int64_t epoch) {
  internal::MetadataRecord r;
  r.mutable_fence_broker()->set_broker_id(id);
  r.mutable_fence_broker()->set_broker_epoch(epoch);
  return r;
}

inline internal::MetadataRecord Unfence(int32_t id, int64_t epoch) {
  internal::MetadataRecord r;
  r.mutable_unfence_broker()->set_broker_id(id);
  r.mutable_unfence_broker()->set_broker_epoch(epoch);
  return r;
}

inline internal::MetadataRecord Topic(const std::string& name, const std::string& id) {
  internal::MetadataRecord r;
  r.mutable_topic()->set_name(name);
  r.mutable_topic()->set_topic_id(id);
  return r;
}

inline internal::MetadataRecord Partition(const std::string& topic_id, int32_t partition,
                                          std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                          int32_t leader, int32_t leader_epoch = 0,
                                          int32_t partition_epoch = 0) {
  internal::MetadataRecord r;
  auto* p = r.mutable_partition();
  p->set_topic_id(topic_id);
  p->set_partition(partition);
  for (int32_t x : replicas) p->add_replicas(x);
  for (int32_t x : isr) p->add_isr(x);
  p->set_leader(leader);
  p->set_leader_epoch(leader_epoch);
  p->set_partition_epoch(partition_epoch);
  return r;
}

inline internal::MetadataRecord Change(const std::string& topic_id, int32_t partition,
                                       std::optional<int32_t> leader,
                                       std::optional<std::vector<int32_t>> isr = std::nullopt,
                                       std::optional<std::vector<int32_t>> replicas = std::nullopt,
                                       std::vector<int32_t> adding = {},
                                       std::vector<int32_t> removing = {}) {
  internal::MetadataRecord r;
  auto* c = r.mutable_partition_change();
  c->set_topic_id(topic_id);
  c->set_partition(partition);
  if (leader) c->set_leader(*leader);
  if (isr) {
    c->set_set_isr(true);
    for (int32_t x : *isr) c->add_isr(x);
  }
  if (replicas) {
    c->set_set_replicas(true);
    for (int32_t x : *replicas) c->add_replicas(x);
    for (int32_t x : adding) c->add_adding_replicas(x);
    for (int32_t x : removing) c->add_removing_replicas(x);
  }
  return r;
}

// A config record; absent `value`: back to the default.
inline internal::MetadataRecord ConfigOf(internal::ConfigResourceType type,
                                         const std::string& resource, const std::string& name,
                                         std::optional<std::string> value) {
  internal::MetadataRecord r;
  auto* c = r.mutable_config();
  c->set_resource_type(type);
  c->set_resource_name(resource);
  c->set_name(name);
  if (value) c->set_value(*value);
  return r;
}

inline internal::MetadataRecord Config(const std::string& topic, const std::string& name,
                                       std::optional<std::string> value) {
  return ConfigOf(internal::CONFIG_RESOURCE_TOPIC, topic, name, std::move(value));
}

// A dynamic broker config: `broker` an id, or "" for the cluster default.
inline internal::MetadataRecord BrokerConfig(const std::string& broker, const std::string& name,
                                             std::optional<std::string> value) {
  return ConfigOf(internal::CONFIG_RESOURCE_BROKER, broker, name, std::move(value));
}

inline internal::MetadataRecord RemoveTopic(const std::string& topic_id) {
  internal::MetadataRecord r;
  r.mutable_remove_topic()->set_topic_id(topic_id);
  return r;
}

inline internal::MetadataRecordBatch Batch(std::vector<internal::MetadataRecord> records) {
  internal::MetadataRecordBatch b;
  for (auto& r : records) *b.add_records() = std::move(r);
  return b;
}

}  // namespace strata::metadata::testing
