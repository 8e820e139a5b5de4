// The controller tests' fixture: a Controller over an image that each
// decision's records are committed to, with brokers started by registering
// and heartbeating, and scripted randomness.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "broker/metadata/controller.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"

namespace strata::metadata {

using ImagePtr = std::shared_ptr<const MetadataImage>;
using Assignment = std::vector<std::vector<int32_t>>;

constexpr int64_t kSession = 9000;

// A controller whose random draws are scripted; after the script, a seeded
// generator's.
class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() : controller_(Options()) {}

  ControllerOptions Options() {
    ControllerOptions o;
    o.default_num_partitions = 1;
    o.default_replication_factor = 1;
    o.broker_session_timeout_ms = kSession;
    o.random = [this]() -> uint32_t {
      if (script_.empty()) return static_cast<uint32_t>(fallback_());
      uint32_t v = script_.front();
      script_.pop_front();
      return v;
    };
    return o;
  }

  // Commits `batch` to the metadata log: the next offset of the image.
  void Commit(const internal::MetadataRecordBatch& batch) {
    auto next = image_->Apply(batch, image_->offset() + 1);
    ASSERT_TRUE(next.ok()) << next.status();
    image_ = *next;
  }

  // Registers broker `id` and heartbeats until it is unfenced.
  void StartBroker(int32_t id, const std::string& incarnation = "inc", int64_t capacity = 0) {
    internal::BrokerRegistrationRequest req;
    req.set_broker_id(id);
    req.set_replica_capacity(capacity);
    req.set_incarnation_id(incarnation + std::to_string(id));
    auto* e = req.add_endpoints();
    e->set_name("PLAINTEXT");
    e->set_host("localhost");
    e->set_port(9091 + id);
    auto reg = controller_.RegisterBroker(*image_, req, image_->offset() + 1, now_);
    ASSERT_EQ(reg.response.error(), v1::NONE) << reg.response.error_message();
    Commit(reg.records);
    epochs_[id] = reg.response.broker_epoch();
    auto hb = Heartbeat(id);
    ASSERT_EQ(hb.response.error(), v1::NONE) << hb.response.error_message();
    ASSERT_FALSE(hb.response.is_fenced());
    Commit(hb.records);
    ASSERT_TRUE(image_->IsBrokerLive(id));
  }

  Decision<internal::BrokerHeartbeatResponse> Heartbeat(int32_t id, bool want_shutdown = false) {
    internal::BrokerHeartbeatRequest req;
    req.set_broker_id(id);
    req.set_broker_epoch(epochs_[id]);
    req.set_current_metadata_offset(image_->offset());
    req.set_want_shutdown(want_shutdown);
    return controller_.BrokerHeartbeat(*image_, req, now_);
  }

  TopicResult Create(const std::string& name, int32_t partitions, int32_t rf,
                     std::map<std::string, std::string> configs = {}, bool validate_only = false) {
    CreateTopicsRequest req;
    req.topics.push_back(NewTopic{.name = name,
                                  .num_partitions = partitions,
                                  .replication_factor = rf,
                                  .configs = std::move(configs),
                                  .assignments = {}});
    req.validate_only = validate_only;
    auto d = controller_.CreateTopics(*image_, req);
    EXPECT_EQ(d.response.results.size(), 1u);
    if (d.response.results[0].error != ErrorCode::kNone || validate_only) {
      EXPECT_EQ(d.records.records_size(), 0) << "a refused or validate-only request writes nothing";
    }
    Commit(d.records);
    return d.response.results[0];
  }

  Assignment ReplicasOf(const std::string& topic) {
    Assignment out;
    for (const auto& [pid, p] : image_->FindTopic(topic)->partitions) out.push_back(p.replicas);
    return out;
  }

  std::deque<uint32_t> script_;
  std::mt19937 fallback_{42};
  Controller controller_;
  ImagePtr image_ = MetadataImage::Empty("cluster-a");
  std::map<int32_t, int64_t> epochs_;
  int64_t now_ = 1'000'000;
};

class ThreeBrokerTest : public ControllerTest {
 protected:
  void SetUp() override {
    for (int32_t id : {1, 2, 3}) StartBroker(id);
  }

  // What replication will do once followers fetch: every replica of
  // `topic` caught up, so the whole replica list is in sync.
  // Leader `broker`'s AlterPartition for `topic`-`partition`, built on the
  // image's current epochs (shifted by the deltas); committed when granted.
  internal::AlterPartitionResponse AlterIsr(const std::string& topic, int32_t partition,
                                            int32_t broker, std::vector<int32_t> isr,
                                            int32_t leader_epoch_delta = 0,
                                            int32_t partition_epoch_delta = 0) {
    const TopicInfo* t = image_->FindTopic(topic);
    const PartitionInfo& p = t->partitions.at(partition);
    internal::AlterPartitionRequest req;
    req.set_broker_id(broker);
    req.set_broker_epoch(image_->broker(broker)->epoch);
    req.set_topic_id(t->topic_id);
    req.set_partition(partition);
    req.set_leader_epoch(p.leader_epoch + leader_epoch_delta);
    req.set_partition_epoch(p.partition_epoch + partition_epoch_delta);
    for (int32_t id : isr) req.add_new_isr(id);
    auto d = controller_.AlterPartition(*image_, req);
    Commit(d.records);
    return d.response;
  }

  ElectLeadersResponse Elect(ElectionType type, const std::string& topic,
                             std::vector<int32_t> partitions) {
    ElectLeadersRequest req;
    req.election_type = type;
    req.topic_partitions.emplace().push_back(
        ElectLeadersTopic{.topic = topic, .partitions = std::move(partitions)});
    auto d = controller_.ElectLeaders(*image_, req);
    Commit(d.records);
    return d.response;
  }

  void MarkAllInSync(const std::string& topic) {
    const TopicInfo* t = image_->FindTopic(topic);
    ASSERT_NE(t, nullptr);
    std::vector<internal::MetadataRecord> changes;
    for (const auto& [pid, p] : t->partitions) {
      changes.push_back(testing::Change(t->topic_id, pid, std::nullopt, p.replicas));
    }
    Commit(testing::Batch(changes));
  }
};

}  // namespace strata::metadata
