#include "tests/unit/client/fake_cluster.h"

#include <deque>
#include <functional>
#include <thread>

#include "fmt/format.h"
#include "glog/logging.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/broker.grpc.pb.h"
#include "strata/v1/group.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"

namespace strata::testing {

class FakeCluster::Node final : public v1::Broker::Service,
                                public v1::Admin::Service,
                                public v1::Group::Service {
 public:
  Node(FakeCluster* c, int32_t id) : c_(c), id_(id) {}

  grpc::Status Metadata(grpc::ServerContext*, const v1::MetadataRequest* req,
                        v1::MetadataResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    resp->set_cluster_id("fake-cluster");
    resp->set_controller_id(1);
    for (int i = 0; i < c_->num_nodes(); ++i) {
      v1::BrokerInfo* b = resp->add_brokers();
      b->set_id(i + 1);
      b->set_host("127.0.0.1");
      b->set_port(c_->ports_[static_cast<size_t>(i)]);
    }
    std::vector<std::string> names(req->topics().begin(), req->topics().end());
    if (names.empty()) {
      for (const auto& [n, t] : c_->topics_) names.push_back(n);
    }
    for (const auto& name : names) {
      v1::TopicMetadata* tm = resp->add_topics();
      tm->set_name(name);
      auto it = c_->topics_.find(name);
      if (it == c_->topics_.end()) {
        tm->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      tm->set_topic_id(it->second.id);
      for (size_t p = 0; p < it->second.partitions.size(); ++p) {
        v1::PartitionMetadata* pm = tm->add_partitions();
        pm->set_partition(static_cast<int32_t>(p));
        pm->set_leader(it->second.partitions[p].leader);
        pm->add_replicas(it->second.partitions[p].leader);
        pm->add_isr(it->second.partitions[p].leader);
      }
    }
    return grpc::Status::OK;
  }

  // Reads and appends each request as it comes (one reader thread), and
  // writes the answers in order from this thread, holding them while
  // HoldProduceAnswers says so.
  grpc::Status ProduceStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>* stream) override {
    if (!c_->produce_stream_served_.load()) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "ProduceStream");
    }
    absl::Mutex qmu;
    std::deque<v1::ProduceResponse> answers;
    bool reads_done = false;
    bool refused = false;
    std::thread reader([&] {
      v1::ProduceRequest req;
      while (stream->Read(&req)) {
        if (c_->Oversized(req)) {
          absl::MutexLock lock(&qmu);
          refused = true;
          break;
        }
        v1::ProduceResponse resp;
        ++c_->stream_produce_requests_;
        (void)Produce(ctx, &req, &resp);
        absl::MutexLock lock(&qmu);
        answers.push_back(std::move(resp));
      }
      absl::MutexLock lock(&qmu);
      reads_done = true;
    });
    while (!ctx->IsCancelled()) {
      v1::ProduceResponse resp;
      {
        absl::MutexLock lock(&qmu);
        if (refused) break;
        if (answers.empty() && reads_done) break;
        if (answers.empty() || c_->hold_produce_answers_.load()) {
          qmu.AwaitWithTimeout(absl::Condition(+[](bool* b) { return *b; }, &reads_done),
                               absl::Milliseconds(2));
          continue;
        }
        resp = std::move(answers.front());
        answers.pop_front();
      }
      if (!stream->Write(resp)) break;
    }
    reader.join();
    if (refused) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message too large");
    return grpc::Status::OK;
  }

  grpc::Status Produce(grpc::ServerContext*, const v1::ProduceRequest* req,
                       v1::ProduceResponse* resp) override {
    if (c_->Oversized(*req)) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message too large");
    }
    absl::MutexLock lock(&c_->mu_);
    ++c_->produce_requests_;
    c_->last_acks_ = req->acks();
    for (const auto& t : req->topics()) {
      v1::TopicProduceResponse* tr = resp->add_topics();
      tr->set_topic(t.topic());
      for (const auto& p : t.partitions()) {
        v1::PartitionProduceResponse* pr = tr->add_partitions();
        pr->set_partition(p.partition());
        pr->set_log_append_time_ms(-1);
        Partition* part = Find(t.topic(), p.partition());
        if (part == nullptr) {
          pr->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
          pr->set_error_message(
              fmt::format("This server does not host {}-{}.", t.topic(), p.partition()));
          continue;
        }
        if (part->fail_times > 0) {
          --part->fail_times;
          pr->set_error(part->fail_code);
          pr->set_leader_hint(part->fail_hint);
          continue;
        }
        if (part->leader != id_) {
          pr->set_error(v1::NOT_LEADER_OR_FOLLOWER);
          pr->set_leader_hint(part->leader);
          continue;
        }
        record::BatchIterator it(p.records());
        record::BatchHeader header;
        std::string_view batch;
        int64_t base = part->next_offset;
        // Idempotence: every batch checked before any is appended.
        std::vector<std::pair<record::BatchHeader, std::string_view>> batches;
        while (it.Next(&header, &batch)) {
          CHECK(record::ValidateBatch(batch).ok());
          batches.emplace_back(header, batch);
        }
        std::optional<int64_t> duplicate_of;
        v1::ErrorCode refused = v1::NONE;
        // Transactions: the batch's producer must have the partition in its
        // open transaction, at its current epoch.
        for (const auto& [h, b] : batches) {
          if (!h.is_transactional()) continue;
          const Txn* txn = c_->TxnOf(h.producer_id);
          if (txn != nullptr && h.producer_epoch < txn->epoch) {
            refused = v1::INVALID_PRODUCER_EPOCH;
          } else if (txn == nullptr || !txn->ongoing ||
                     !txn->partitions.contains({t.topic(), p.partition()})) {
            refused = v1::INVALID_TXN_STATE;
          }
        }
        if (refused != v1::NONE) {
          pr->set_error(refused);
          continue;
        }
        std::map<int64_t, int32_t> last_seq;  // in this request
        bool any_new = false;
        for (const auto& [h, b] : batches) {
          if (h.producer_id < 0) continue;
          auto pit = part->producers.find(h.producer_id);
          const int32_t last = h.base_sequence + h.last_offset_delta;
          if (pit != part->producers.end() && pit->second.epoch == h.producer_epoch) {
            bool dup = false;
            for (const auto& [first_seq, last_sq, offset] : pit->second.batches) {
              if (first_seq != h.base_sequence || last_sq != last) continue;
              dup = true;
              if (!duplicate_of) duplicate_of = offset;
            }
            if (dup) continue;
            any_new = true;
            auto in_request = last_seq.find(h.producer_id);
            const int32_t expected =
                in_request != last_seq.end()
                    ? in_request->second + 1
                    : (pit->second.batches.empty() ? 0
                                                   : std::get<1>(pit->second.batches.back()) + 1);
            if (h.base_sequence != expected) refused = v1::OUT_OF_ORDER_SEQUENCE_NUMBER;
          } else {
            any_new = true;
            if (h.base_sequence != 0 && !last_seq.contains(h.producer_id)) {
              refused = v1::OUT_OF_ORDER_SEQUENCE_NUMBER;
            }
          }
          last_seq[h.producer_id] = last;
        }
        if (duplicate_of && any_new) refused = v1::OUT_OF_ORDER_SEQUENCE_NUMBER;
        if (duplicate_of && !any_new) {
          pr->set_base_offset(*duplicate_of);
          if (part->fail_after_append_times > 0) {
            --part->fail_after_append_times;
            pr->set_error(part->fail_after_append_code);
          }
          continue;
        }
        if (refused != v1::NONE) {
          pr->set_error(refused);
          continue;
        }
        size_t take = batches.size();
        const bool prefix_only = part->prefix_batches >= 0;
        if (prefix_only) {
          take = std::min(take, static_cast<size_t>(part->prefix_batches));
          part->prefix_batches = -1;
        }
        for (size_t i = 0; i < take; ++i) {
          const auto& [h, b] = batches[i];
          std::string copy(b);
          record::SetBaseOffset(copy.data(), Offset(part->next_offset));
          if (h.producer_id >= 0) {
            auto& written = part->producers[h.producer_id];
            if (written.epoch != h.producer_epoch) written = {h.producer_epoch, {}};
            written.batches.emplace_back(h.base_sequence, h.base_sequence + h.last_offset_delta,
                                         part->next_offset);
          }
          if (h.is_transactional()) {
            c_->txns_[c_->TxnIdOf(h.producer_id)].batches.emplace_back(t.topic(), p.partition(),
                                                                       part->next_offset);
          }
          part->batches.emplace_back(part->next_offset, std::move(copy));
          part->next_offset += h.last_offset_delta + 1;
        }
        pr->set_base_offset(base);
        if (prefix_only) {
          pr->set_error(part->fail_after_append_code);
          continue;
        }
        if (part->fail_after_append_times > 0) {
          --part->fail_after_append_times;
          pr->set_error(part->fail_after_append_code);
        }
      }
    }
    c_->appended_.SignalAll();
    return grpc::Status::OK;
  }

  grpc::Status InitProducerId(grpc::ServerContext*, const v1::InitProducerIdRequest* req,
                              v1::InitProducerIdResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    ++c_->init_producer_id_requests_;
    if (!req->transactional_id().empty()) {
      if (grpc::Status f = c_->TakeTransportFailure("InitProducerId", false); !f.ok()) return f;
      c_->InitTransactionalId(id_, *req, resp);
      return c_->TakeTransportFailure("InitProducerId", true);
    }
    if (c_->init_producer_id_fail_times_ > 0) {
      --c_->init_producer_id_fail_times_;
      resp->set_error(c_->init_producer_id_fail_code_);
      return grpc::Status::OK;
    }
    resp->set_producer_id(c_->next_producer_id_++);
    resp->set_producer_epoch(0);
    return grpc::Status::OK;
  }

  grpc::Status Fetch(grpc::ServerContext*, const v1::FetchRequest* req,
                     v1::FetchResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    const absl::Time deadline = absl::Now() + absl::Milliseconds(req->max_wait_ms());
    while (true) {
      resp->Clear();
      size_t bytes = 0;
      for (const auto& t : req->topics()) {
        v1::FetchTopicResponse* tr = resp->add_topics();
        tr->set_topic(t.topic());
        for (const auto& p : t.partitions()) {
          v1::FetchPartitionResponse* pr = tr->add_partitions();
          pr->set_partition(p.partition());
          Partition* part = Find(t.topic(), p.partition());
          if (part == nullptr) {
            pr->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
            continue;
          }
          if (part->leader != id_) {
            pr->set_error(v1::NOT_LEADER_OR_FOLLOWER);
            pr->set_leader_hint(part->leader);
            continue;
          }
          pr->set_high_watermark(part->next_offset);
          pr->set_log_start_offset(part->log_start);
          if (p.fetch_offset() < part->log_start || p.fetch_offset() > part->next_offset) {
            pr->set_error(v1::OFFSET_OUT_OF_RANGE);
            continue;
          }
          std::string records;
          for (const auto& [base, b] : part->batches) {
            auto h = record::ReadBatchHeader(b);
            if (h->next_offset().value() <= p.fetch_offset()) continue;
            if (!records.empty() &&
                records.size() + b.size() > static_cast<size_t>(p.partition_max_bytes())) {
              // A cut-off trailing batch, as a real broker may send.
              records += b.substr(0, b.size() / 2);
              break;
            }
            records += b;
          }
          bytes += records.size();
          pr->set_records(records);
        }
      }
      if (bytes >= static_cast<size_t>(std::max(1, req->min_bytes())) || c_->stopping_ ||
          absl::Now() >= deadline) {
        return grpc::Status::OK;
      }
      c_->appended_.WaitWithDeadline(&c_->mu_, deadline);
    }
  }

  grpc::Status ListOffsets(grpc::ServerContext*, const v1::ListOffsetsRequest* req,
                           v1::ListOffsetsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const auto& t : req->topics()) {
      v1::ListOffsetsTopicResponse* tr = resp->add_topics();
      tr->set_topic(t.topic());
      for (const auto& p : t.partitions()) {
        v1::ListOffsetsPartitionResponse* pr = tr->add_partitions();
        pr->set_partition(p.partition());
        Partition* part = Find(t.topic(), p.partition());
        if (part == nullptr) {
          pr->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        } else if (part->leader != id_) {
          pr->set_error(v1::NOT_LEADER_OR_FOLLOWER);
          pr->set_leader_hint(part->leader);
        } else {
          pr->set_offset(p.timestamp() == -2 ? part->log_start : part->next_offset);
        }
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status CreateTopics(grpc::ServerContext*, const v1::CreateTopicsRequest* req,
                            v1::CreateTopicsResponse* resp) override {
    for (const auto& t : req->topics()) {
      v1::TopicResult* r = resp->add_results();
      r->set_name(t.name());
      {
        absl::MutexLock lock(&c_->mu_);
        if (c_->topics_.contains(t.name())) {
          r->set_error(v1::TOPIC_ALREADY_EXISTS);
          r->set_error_message(fmt::format("Topic '{}' already exists.", t.name()));
          continue;
        }
        if (t.replication_factor() > c_->num_nodes()) {
          r->set_error(v1::INVALID_REPLICATION_FACTOR);
          r->set_error_message(
              fmt::format("Replication factor: {} larger than available "
                          "brokers: {}.",
                          t.replication_factor(), c_->num_nodes()));
          continue;
        }
      }
      c_->AddTopic(t.name(), t.num_partitions() < 0 ? 1 : t.num_partitions());
      absl::MutexLock lock(&c_->mu_);
      for (const auto& [k, v] : t.configs()) c_->topics_[t.name()].configs[k] = v;
      r->set_topic_id(c_->topics_[t.name()].id);
    }
    return grpc::Status::OK;
  }

  grpc::Status DeleteTopics(grpc::ServerContext*, const v1::DeleteTopicsRequest* req,
                            v1::DeleteTopicsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const auto& n : req->names()) {
      v1::TopicResult* r = resp->add_results();
      r->set_name(n);
      if (c_->topics_.erase(n) == 0) {
        r->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        r->set_error_message("This server does not host this topic-partition.");
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status CreatePartitions(grpc::ServerContext*, const v1::CreatePartitionsRequest* req,
                                v1::CreatePartitionsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const auto& p : req->topics()) {
      v1::TopicResult* r = resp->add_results();
      r->set_name(p.name());
      auto it = c_->topics_.find(p.name());
      if (it == c_->topics_.end()) {
        r->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      auto& parts = it->second.partitions;
      if (p.count() <= static_cast<int32_t>(parts.size())) {
        r->set_error(v1::INVALID_PARTITIONS);
        r->set_error_message(
            fmt::format("Topic currently has {} partitions, which is higher than the requested {}.",
                        parts.size(), p.count()));
        continue;
      }
      while (static_cast<int32_t>(parts.size()) < p.count()) {
        Partition np;
        np.leader = static_cast<int32_t>(parts.size() % c_->ports_.size()) + 1;
        parts.push_back(np);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest*,
                          v1::ListTopicsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const auto& [n, t] : c_->topics_) resp->add_names(n);
    return grpc::Status::OK;
  }

  grpc::Status DescribeTopics(grpc::ServerContext*, const v1::DescribeTopicsRequest* req,
                              v1::DescribeTopicsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    std::vector<std::string> names(req->names().begin(), req->names().end());
    if (names.empty()) {
      for (const auto& [n, t] : c_->topics_) names.push_back(n);
    }
    for (const auto& n : names) {
      v1::TopicDescription* d = resp->add_topics();
      d->set_name(n);
      auto it = c_->topics_.find(n);
      if (it == c_->topics_.end()) {
        d->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      d->set_topic_id(it->second.id);
      for (size_t p = 0; p < it->second.partitions.size(); ++p) {
        v1::PartitionDescription* pd = d->add_partitions();
        pd->set_partition(static_cast<int32_t>(p));
        pd->set_leader(it->second.partitions[p].leader);
        pd->add_replicas(it->second.partitions[p].leader);
        pd->add_isr(it->second.partitions[p].leader);
      }
      v1::ConfigEntry* seg = d->add_configs();
      seg->set_name("cleanup.policy");
      seg->set_value("delete");
      seg->set_is_default(true);
      for (const auto& [k, v] : it->second.configs) {
        v1::ConfigEntry* e = d->add_configs();
        e->set_name(k);
        e->set_value(v);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status DescribeCluster(grpc::ServerContext*, const v1::DescribeClusterRequest*,
                               v1::DescribeClusterResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    *resp = c_->cluster;
    return grpc::Status::OK;
  }

  grpc::Status DescribeLogDirs(grpc::ServerContext*, const v1::DescribeLogDirsRequest* req,
                               v1::DescribeLogDirsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    c_->log_dirs_requests[id_] = *req;
    if (auto it = c_->log_dirs.find(id_); it != c_->log_dirs.end()) *resp = it->second;
    resp->set_broker_id(id_);
    return grpc::Status::OK;
  }

  grpc::Status DescribeQuorum(grpc::ServerContext*, const v1::DescribeQuorumRequest*,
                              v1::DescribeQuorumResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    *resp = c_->quorum;
    return grpc::Status::OK;
  }

  // ---- Group

  grpc::Status FindCoordinator(grpc::ServerContext*, const v1::FindCoordinatorRequest* req,
                               v1::FindCoordinatorResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    ++c_->find_coordinator_requests_;
    for (const std::string& key : req->keys()) {
      v1::Coordinator* co = resp->add_coordinators();
      co->set_key(key);
      if (req->key_type() == 1) {
        if (v1::ErrorCode e = c_->TakeTxnFailure("FindCoordinator"); e != v1::NONE) {
          co->set_node_id(-1);
          co->set_error(e);
          continue;
        }
        co->set_node_id(c_->txn_coordinator_);
        co->set_host("127.0.0.1");
        co->set_port(c_->ports_[static_cast<size_t>(c_->txn_coordinator_ - 1)]);
        continue;
      }
      if (v1::ErrorCode e = TakeFailure(key); e != v1::NONE) {
        co->set_node_id(-1);
        co->set_error(e);
        continue;
      }
      auto it = c_->groups_.find(key);
      const int32_t node = it == c_->groups_.end() ? 1 : it->second.coordinator;
      co->set_node_id(node);
      co->set_host("127.0.0.1");
      co->set_port(c_->ports_[static_cast<size_t>(node - 1)]);
    }
    return grpc::Status::OK;
  }

  grpc::Status DescribeGroups(grpc::ServerContext*, const v1::DescribeGroupsRequest* req,
                              v1::DescribeGroupsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const std::string& id : req->groups()) {
      v1::DescribedGroup* d = resp->add_groups();
      d->set_group_id(id);
      d->set_coordinator_id(id_);
      if (v1::ErrorCode e = GroupError(id); e != v1::NONE) {
        d->set_error(e);
        continue;
      }
      auto it = c_->groups_.find(id);
      if (it == c_->groups_.end()) {
        d->set_group_state("Dead");
        continue;
      }
      d->set_group_state(it->second.state);
      d->set_protocol_type(it->second.protocol_type);
      d->set_protocol_data(it->second.protocol);
      for (const auto& m : it->second.members) *d->add_members() = m;
    }
    return grpc::Status::OK;
  }

  grpc::Status ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest* req,
                          v1::ListGroupsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const auto& [id, g] : c_->groups_) {
      if (g.coordinator != id_) continue;
      if (!req->states_filter().empty() &&
          std::find(req->states_filter().begin(), req->states_filter().end(), g.state) ==
              req->states_filter().end()) {
        continue;
      }
      v1::ListedGroup* l = resp->add_groups();
      l->set_group_id(id);
      l->set_protocol_type(g.protocol_type);
      l->set_group_state(g.state);
    }
    return grpc::Status::OK;
  }

  grpc::Status OffsetFetch(grpc::ServerContext*, const v1::OffsetFetchRequest* req,
                           v1::OffsetFetchResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    if (v1::ErrorCode e = GroupError(req->group_id()); e != v1::NONE) {
      resp->set_error(e);
      return grpc::Status::OK;
    }
    auto it = c_->groups_.find(req->group_id());
    std::map<std::string, std::vector<std::pair<int32_t, int64_t>>> out;
    if (req->topics().empty()) {
      if (it != c_->groups_.end()) {
        for (const auto& [tp, o] : it->second.offsets) out[tp.first].emplace_back(tp.second, o);
      }
    } else {
      for (const auto& t : req->topics()) {
        for (int32_t p : t.partition_indexes()) {
          int64_t o = -1;
          if (it != c_->groups_.end()) {
            auto found = it->second.offsets.find({t.name(), p});
            if (found != it->second.offsets.end()) o = found->second;
          }
          out[t.name()].emplace_back(p, o);
        }
      }
    }
    for (const auto& [topic, ps] : out) {
      v1::OffsetFetchTopicResponse* t = resp->add_topics();
      t->set_name(topic);
      for (const auto& [p, o] : ps) {
        v1::OffsetFetchPartitionResponse* pr = t->add_partitions();
        pr->set_partition_index(p);
        pr->set_committed_offset(o);
        pr->set_committed_leader_epoch(-1);
      }
    }
    return grpc::Status::OK;
  }

  // The rebalance protocol for a member alone (or members joining one at a
  // time): JoinGroup answers at once, the first member leads.
  grpc::Status JoinGroup(grpc::ServerContext*, const v1::JoinGroupRequest* req,
                         v1::JoinGroupResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    if (v1::ErrorCode e = GroupError(req->group_id()); e != v1::NONE) {
      resp->set_error(e);
      return grpc::Status::OK;
    }
    if (req->member_id().empty()) {
      resp->set_error(v1::MEMBER_ID_REQUIRED);
      resp->set_member_id(req->client_id() + "-member-" + std::to_string(++c_->member_ids_));
      return grpc::Status::OK;
    }
    FakeGroup& g = c_->groups_[req->group_id()];
    g.coordinator = id_;
    auto m = std::find_if(g.members.begin(), g.members.end(),
                          [&](const auto& x) { return x.member_id() == req->member_id(); });
    if (m == g.members.end()) {
      v1::DescribedGroupMember& added = g.members.emplace_back();
      added.set_member_id(req->member_id());
      added.set_client_id(req->client_id());
      added.set_client_host("/127.0.0.1");
      ++g.generation;
      m = g.members.end() - 1;
    }
    m->set_member_metadata(req->protocols(0).metadata());
    g.protocol = req->protocols(0).name();
    g.protocol_type = req->protocol_type();
    g.state = "CompletingRebalance";
    resp->set_generation_id(g.generation);
    resp->set_protocol_type(g.protocol_type);
    resp->set_protocol_name(g.protocol);
    resp->set_leader(g.members.front().member_id());
    resp->set_member_id(req->member_id());
    if (req->member_id() == g.members.front().member_id()) {
      for (const auto& x : g.members) {
        v1::JoinGroupResponseMember* rm = resp->add_members();
        rm->set_member_id(x.member_id());
        rm->set_metadata(x.member_metadata());
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status SyncGroup(grpc::ServerContext*, const v1::SyncGroupRequest* req,
                         v1::SyncGroupResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    auto it = c_->groups_.find(req->group_id());
    if (it == c_->groups_.end() || it->second.members.empty()) {
      resp->set_error(v1::UNKNOWN_MEMBER_ID);
      return grpc::Status::OK;
    }
    FakeGroup& g = it->second;
    if (req->generation_id() != g.generation) {
      resp->set_error(v1::ILLEGAL_GENERATION);
      return grpc::Status::OK;
    }
    if (req->member_id() == g.members.front().member_id()) {
      for (const auto& a : req->assignments()) {
        for (auto& x : g.members) {
          if (x.member_id() == a.member_id()) x.set_member_assignment(a.assignment());
        }
      }
      g.state = "Stable";
    }
    resp->set_protocol_type(g.protocol_type);
    resp->set_protocol_name(g.protocol);
    for (const auto& x : g.members) {
      if (x.member_id() == req->member_id()) resp->set_assignment(x.member_assignment());
    }
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                         v1::HeartbeatResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    auto it = c_->groups_.find(req->group_id());
    if (it == c_->groups_.end()) {
      resp->set_error(v1::UNKNOWN_MEMBER_ID);
    } else if (req->generation_id() != it->second.generation) {
      resp->set_error(v1::ILLEGAL_GENERATION);
    }
    return grpc::Status::OK;
  }

  grpc::Status LeaveGroup(grpc::ServerContext*, const v1::LeaveGroupRequest* req,
                          v1::LeaveGroupResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    auto it = c_->groups_.find(req->group_id());
    for (const auto& m : req->members()) {
      v1::LeaveGroupMemberResponse* r = resp->add_members();
      r->set_member_id(m.member_id());
      if (it == c_->groups_.end()) {
        r->set_error(v1::UNKNOWN_MEMBER_ID);
        continue;
      }
      auto& members = it->second.members;
      members.erase(std::remove_if(members.begin(), members.end(),
                                   [&](const auto& x) { return x.member_id() == m.member_id(); }),
                    members.end());
      if (members.empty()) it->second.state = "Empty";
    }
    return grpc::Status::OK;
  }

  grpc::Status OffsetCommit(grpc::ServerContext*, const v1::OffsetCommitRequest* req,
                            v1::OffsetCommitResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    v1::ErrorCode error = GroupError(req->group_id());
    auto it = c_->groups_.find(req->group_id());
    if (error == v1::NONE && req->generation_id() == -1 && req->member_id().empty() &&
        it != c_->groups_.end() && !it->second.members.empty()) {
      error = v1::UNKNOWN_MEMBER_ID;  // an outsider's commit while the group has members
    }
    for (const auto& t : req->topics()) {
      v1::OffsetCommitTopicResponse* tr = resp->add_topics();
      tr->set_name(t.name());
      for (const auto& p : t.partitions()) {
        v1::OffsetCommitPartitionResponse* pr = tr->add_partitions();
        pr->set_partition_index(p.partition_index());
        pr->set_error(error);
        if (error == v1::NONE) {
          FakeGroup& g = c_->groups_[req->group_id()];
          g.coordinator = id_;
          g.offsets[{t.name(), p.partition_index()}] = p.committed_offset();
        }
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status DeleteGroups(grpc::ServerContext*, const v1::DeleteGroupsRequest* req,
                            v1::DeleteGroupsResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    for (const std::string& id : req->group_ids()) {
      v1::DeletableGroupResult* r = resp->add_results();
      r->set_group_id(id);
      if (v1::ErrorCode e = GroupError(id); e != v1::NONE) {
        r->set_error(e);
        continue;
      }
      auto it = c_->groups_.find(id);
      if (it == c_->groups_.end()) {
        r->set_error(v1::GROUP_ID_NOT_FOUND);
        r->set_error_message("The group id does not exist.");
      } else if (!it->second.members.empty()) {
        r->set_error(v1::NON_EMPTY_GROUP);
        r->set_error_message("The group is not empty.");
      } else {
        c_->groups_.erase(it);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status OffsetDelete(grpc::ServerContext*, const v1::OffsetDeleteRequest* req,
                            v1::OffsetDeleteResponse* resp) override {
    absl::MutexLock lock(&c_->mu_);
    if (v1::ErrorCode e = GroupError(req->group_id()); e != v1::NONE) {
      resp->set_error(e);
      return grpc::Status::OK;
    }
    auto it = c_->groups_.find(req->group_id());
    if (it == c_->groups_.end()) {
      resp->set_error(v1::GROUP_ID_NOT_FOUND);
      return grpc::Status::OK;
    }
    for (const auto& t : req->topics()) {
      v1::OffsetDeleteTopicResponse* tr = resp->add_topics();
      tr->set_name(t.name());
      for (int32_t p : t.partition_indexes()) {
        v1::OffsetDeletePartitionResponse* pr = tr->add_partitions();
        pr->set_partition_index(p);
        if (!it->second.members.empty()) {
          pr->set_error(v1::GROUP_SUBSCRIBED_TO_TOPIC);
          resp->set_error(v1::GROUP_SUBSCRIBED_TO_TOPIC);
        } else {
          it->second.offsets.erase({t.name(), p});
        }
      }
    }
    return grpc::Status::OK;
  }

 private:
  // An injected failure for the group, if one is left.
  v1::ErrorCode TakeFailure(const std::string& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c_->mu_) {
    auto it = c_->group_failures_.find(group);
    if (it == c_->group_failures_.end() || it->second.second <= 0) return v1::NONE;
    --it->second.second;
    return it->second.first;
  }

  // NOT_COORDINATOR at a node that does not coordinate the group, else an
  // injected failure.
  v1::ErrorCode GroupError(const std::string& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c_->mu_) {
    auto it = c_->groups_.find(group);
    const int32_t coordinator = it == c_->groups_.end() ? 1 : it->second.coordinator;
    if (coordinator != id_) return v1::NOT_COORDINATOR;
    return TakeFailure(group);
  }

  Partition* Find(const std::string& topic, int32_t partition)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(c_->mu_) {
    auto it = c_->topics_.find(topic);
    if (it == c_->topics_.end() || partition < 0 ||
        static_cast<size_t>(partition) >= it->second.partitions.size()) {
      return nullptr;
    }
    return &it->second.partitions[static_cast<size_t>(partition)];
  }

  FakeCluster* const c_;
  const int32_t id_;
};

// strata.v1.Transaction at one node (see the file comment).
class FakeCluster::TxnNode final : public v1::Transaction::Service {
 public:
  TxnNode(FakeCluster* c, int32_t id) : c_(c), id_(id) {}

  grpc::Status AddPartitionsToTxn(grpc::ServerContext*, const v1::AddPartitionsToTxnRequest* req,
                                  v1::AddPartitionsToTxnResponse* resp) override {
    return WithTransport("AddPartitionsToTxn", [&] { HandleAddPartitionsToTxn(*req, resp); });
  }

  void HandleAddPartitionsToTxn(const v1::AddPartitionsToTxnRequest& request,
                                v1::AddPartitionsToTxnResponse* resp) {
    const v1::AddPartitionsToTxnRequest* req = &request;
    absl::MutexLock lock(&c_->mu_);
    ++c_->add_partitions_requests_;
    c_->appended_.SignalAll();
    c_->mu_.Await(absl::Condition(
        +[](FakeCluster* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
          return !c->hold_add_partitions_ || c->stopping_;
        },
        c_));
    std::string names;
    for (const v1::TxnTopic& t : req->topics()) {
      for (int32_t p : t.partitions()) {
        names += fmt::format("{}{}-{}", names.empty() ? "" : ",", t.name(), p);
      }
    }
    v1::ErrorCode e = Check("AddPartitionsToTxn", req->transactional_id(), req->producer_id(),
                            req->producer_epoch());
    // Unknown topics: UNKNOWN_TOPIC_OR_PARTITION, the rest not attempted.
    bool unknown = false;
    for (const v1::TxnTopic& t : req->topics()) {
      for (int32_t p : t.partitions()) {
        if (c_->Find(t.name(), p) == nullptr) unknown = true;
      }
    }
    for (const v1::TxnTopic& t : req->topics()) {
      for (int32_t p : t.partitions()) {
        v1::TxnPartitionResult* r = resp->add_results();
        r->set_topic(t.name());
        r->set_partition(p);
        if (e != v1::NONE) {
          r->set_error(e);
        } else if (unknown) {
          r->set_error(c_->Find(t.name(), p) == nullptr ? v1::UNKNOWN_TOPIC_OR_PARTITION
                                                        : v1::OPERATION_NOT_ATTEMPTED);
        }
      }
    }
    if (e == v1::NONE && unknown) e = v1::UNKNOWN_TOPIC_OR_PARTITION;
    if (e == v1::NONE) {
      Txn& txn = c_->txns_[req->transactional_id()];
      txn.ongoing = true;
      txn.ended = Txn::Ended::kNone;
      for (const v1::TxnTopic& t : req->topics()) {
        for (int32_t p : t.partitions()) txn.partitions.insert({t.name(), p});
      }
    }
    c_->Log(fmt::format("AddPartitionsToTxn {} {}", req->transactional_id(), names), e);
  }

  grpc::Status AddOffsetsToTxn(grpc::ServerContext*, const v1::AddOffsetsToTxnRequest* req,
                               v1::AddOffsetsToTxnResponse* resp) override {
    return WithTransport("AddOffsetsToTxn", [&] { HandleAddOffsetsToTxn(*req, resp); });
  }

  void HandleAddOffsetsToTxn(const v1::AddOffsetsToTxnRequest& request,
                             v1::AddOffsetsToTxnResponse* resp) {
    const v1::AddOffsetsToTxnRequest* req = &request;
    absl::MutexLock lock(&c_->mu_);
    const v1::ErrorCode e = Check("AddOffsetsToTxn", req->transactional_id(), req->producer_id(),
                                  req->producer_epoch());
    resp->set_error(e);
    if (e == v1::NONE) {
      c_->txns_[req->transactional_id()].ongoing = true;
      c_->txns_[req->transactional_id()].ended = Txn::Ended::kNone;
    }
    c_->Log(fmt::format("AddOffsetsToTxn {} {}", req->transactional_id(), req->group_id()), e);
  }

  grpc::Status EndTxn(grpc::ServerContext*, const v1::EndTxnRequest* req,
                      v1::EndTxnResponse* resp) override {
    return WithTransport("EndTxn", [&] { HandleEndTxn(*req, resp); });
  }

  void HandleEndTxn(const v1::EndTxnRequest& request, v1::EndTxnResponse* resp) {
    const v1::EndTxnRequest* req = &request;
    absl::MutexLock lock(&c_->mu_);
    v1::ErrorCode e =
        Check("EndTxn", req->transactional_id(), req->producer_id(), req->producer_epoch());
    bool retried = false;
    if (e == v1::NONE && !c_->txns_[req->transactional_id()].ongoing) {
      const Txn::Ended ended = c_->txns_[req->transactional_id()].ended;
      retried = ended == (req->committed() ? Txn::Ended::kCommit : Txn::Ended::kAbort);
      if (!retried) e = v1::INVALID_TXN_STATE;
    }
    resp->set_error(e);
    if (e == v1::NONE && !retried) c_->EndTransaction(req->transactional_id(), req->committed());
    c_->Log(
        fmt::format("EndTxn {} {}", req->transactional_id(), req->committed() ? "COMMIT" : "ABORT"),
        e);
  }

  grpc::Status TxnOffsetCommit(grpc::ServerContext*, const v1::TxnOffsetCommitRequest* req,
                               v1::TxnOffsetCommitResponse* resp) override {
    return WithTransport("TxnOffsetCommit", [&] { HandleTxnOffsetCommit(*req, resp); });
  }

  void HandleTxnOffsetCommit(const v1::TxnOffsetCommitRequest& request,
                             v1::TxnOffsetCommitResponse* resp) {
    const v1::TxnOffsetCommitRequest* req = &request;
    absl::MutexLock lock(&c_->mu_);
    auto git = c_->groups_.find(req->group_id());
    const int32_t coordinator = git == c_->groups_.end() ? 1 : git->second.coordinator;
    v1::ErrorCode e =
        coordinator != id_ ? v1::NOT_COORDINATOR : c_->TakeTxnFailure("TxnOffsetCommit");
    if (e == v1::NONE) {
      auto it = c_->txns_.find(req->transactional_id());
      if (it == c_->txns_.end() || it->second.producer_id != req->producer_id()) {
        e = v1::INVALID_PRODUCER_ID_MAPPING;
      } else if (req->producer_epoch() < it->second.epoch) {
        e = v1::PRODUCER_FENCED;
      } else if (req->generation_id() >= 0 && git != c_->groups_.end() &&
                 req->generation_id() != git->second.generation) {
        e = v1::ILLEGAL_GENERATION;
      }
    }
    std::string offsets;
    for (const v1::TxnOffsetCommitTopic& t : req->topics()) {
      v1::TxnOffsetCommitTopicResponse* tr = resp->add_topics();
      tr->set_name(t.name());
      for (const v1::TxnOffsetCommitPartition& p : t.partitions()) {
        v1::TxnOffsetCommitPartitionResponse* pr = tr->add_partitions();
        pr->set_partition_index(p.partition_index());
        pr->set_error(e);
        offsets += fmt::format("{}{}-{}={}", offsets.empty() ? "" : ",", t.name(),
                               p.partition_index(), p.committed_offset());
        if (e == v1::NONE) {
          c_->txns_[req->transactional_id()]
              .offsets[req->group_id()][{t.name(), p.partition_index()}] = p.committed_offset();
        }
      }
    }
    c_->Log(fmt::format("TxnOffsetCommit {} {} {} generation {} member {}", req->transactional_id(),
                        req->group_id(), offsets, req->generation_id(), req->member_id()),
            e);
  }

 private:
  grpc::Status WithTransport(const std::string& request, const std::function<void()>& handle) {
    {
      absl::MutexLock lock(&c_->mu_);
      if (grpc::Status f = c_->TakeTransportFailure(request, false); !f.ok()) return f;
    }
    handle();
    absl::MutexLock lock(&c_->mu_);
    return c_->TakeTransportFailure(request, true);
  }

  // NOT_COORDINATOR here, an injected failure, or the id and epoch's
  // check.
  v1::ErrorCode Check(const std::string& request, const std::string& id, int64_t producer_id,
                      int32_t epoch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c_->mu_) {
    if (c_->txn_coordinator_ != id_) return v1::NOT_COORDINATOR;
    if (v1::ErrorCode e = c_->TakeTxnFailure(request); e != v1::NONE) return e;
    auto it = c_->txns_.find(id);
    if (it == c_->txns_.end() || it->second.producer_id != producer_id) {
      return v1::INVALID_PRODUCER_ID_MAPPING;
    }
    if (epoch < it->second.epoch) return v1::PRODUCER_FENCED;
    return v1::NONE;
  }

  FakeCluster* const c_;
  const int32_t id_;
};

FakeCluster::Partition* FakeCluster::Find(const std::string& topic, int32_t partition) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.partitions.size()) {
    return nullptr;
  }
  return &it->second.partitions[static_cast<size_t>(partition)];
}

const FakeCluster::Txn* FakeCluster::TxnOf(int64_t producer_id) const {
  for (const auto& [id, txn] : txns_) {
    if (txn.producer_id == producer_id) return &txn;
  }
  return nullptr;
}

std::string FakeCluster::TxnIdOf(int64_t producer_id) const {
  for (const auto& [id, txn] : txns_) {
    if (txn.producer_id == producer_id) return id;
  }
  return "";
}

v1::ErrorCode FakeCluster::TakeTxnFailure(const std::string& request) {
  auto it = txn_failures_.find(request);
  if (it == txn_failures_.end() || it->second.second <= 0) return v1::NONE;
  --it->second.second;
  return it->second.first;
}

void FakeCluster::Log(std::string entry, v1::ErrorCode error) {
  if (error != v1::NONE) entry += " " + v1::ErrorCode_Name(error);
  txn_log_.push_back(std::move(entry));
}

void FakeCluster::EndTransaction(const std::string& id, bool commit) {
  Txn& txn = txns_[id];
  if (commit) {
    for (const auto& [group, offsets] : txn.offsets) {
      for (const auto& [tp, offset] : offsets) groups_[group].offsets[tp] = offset;
    }
  } else {
    for (const auto& b : txn.batches) aborted_batches_.insert(b);
  }
  txn.ongoing = false;
  txn.ended = commit ? Txn::Ended::kCommit : Txn::Ended::kAbort;
  txn.partitions.clear();
  txn.offsets.clear();
  txn.batches.clear();
}

void FakeCluster::InitTransactionalId(int32_t node, const v1::InitProducerIdRequest& req,
                                      v1::InitProducerIdResponse* resp) {
  const std::string& id = req.transactional_id();
  v1::ErrorCode e =
      txn_coordinator_ != node ? v1::NOT_COORDINATOR : TakeTxnFailure("InitProducerId");
  auto it = txns_.find(id);
  // KIP-360, as the real coordinator: the current id and epoch ask for the
  // next epoch; a retry naming the epoch just bumped from gets the current
  // one again; an open transaction is fenced and aborted (the epoch moves
  // on, so the caller's retry then names a stale epoch and is fenced).
  bool bump = true;
  if (e == v1::NONE && req.producer_id() >= 0 && it != txns_.end()) {
    Txn& txn = it->second;
    if (txn.producer_id != req.producer_id()) {
      e = v1::PRODUCER_FENCED;
    } else if (txn.ongoing) {
      EndTransaction(id, /*commit=*/false);
      ++txn.epoch;
      txn.last_epoch = -1;
      e = v1::CONCURRENT_TRANSACTIONS;
    } else if (req.producer_epoch() == txn.last_epoch && txn.last_epoch >= 0) {
      bump = false;
    } else if (req.producer_epoch() != txn.epoch) {
      e = v1::PRODUCER_FENCED;
    }
  }
  if (e == v1::NONE) {
    Txn& txn = txns_[id];
    if (txn.producer_id < 0) txn.producer_id = next_producer_id_++;
    if (txn.ongoing) EndTransaction(id, /*commit=*/false);
    txn.ended = Txn::Ended::kNone;
    if (bump) {
      txn.last_epoch = req.producer_id() >= 0 ? txn.epoch : -1;
      ++txn.epoch;
    }
    resp->set_producer_id(txn.producer_id);
    resp->set_producer_epoch(txn.epoch);
  }
  resp->set_error(e);
  Log(e == v1::NONE
          ? fmt::format("InitProducerId {} {}/{}", id, resp->producer_id(), resp->producer_epoch())
          : fmt::format("InitProducerId {}", id),
      e);
}

FakeCluster::FakeCluster(int num_nodes) {
  for (int i = 0; i < num_nodes; ++i) {
    auto node = std::make_unique<Node>(this, i + 1);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(static_cast<v1::Broker::Service*>(node.get()));
    builder.RegisterService(static_cast<v1::Admin::Service*>(node.get()));
    builder.RegisterService(static_cast<v1::Group::Service*>(node.get()));
    auto txn_node = std::make_unique<TxnNode>(this, i + 1);
    builder.RegisterService(txn_node.get());
    txn_nodes_.push_back(std::move(txn_node));
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    CHECK(server != nullptr && port > 0) << "cannot start a fake node on 127.0.0.1";
    nodes_.push_back(std::move(node));
    servers_.push_back(std::move(server));
    ports_.push_back(port);
    v1::BrokerDescription* b = cluster.add_brokers();
    b->set_id(i + 1);
    v1::Endpoint* e = b->add_endpoints();
    e->set_host("127.0.0.1");
    e->set_port(port);
  }
  cluster.set_cluster_id("fake-cluster");
  cluster.set_controller_id(1);
}

FakeCluster::~FakeCluster() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    appended_.SignalAll();
  }
  for (auto& s : servers_) s->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  for (auto& s : servers_) s->Wait();
}

std::string FakeCluster::bootstrap() const {
  std::string out;
  for (int p : ports_) out += (out.empty() ? "" : ",") + fmt::format("127.0.0.1:{}", p);
  return out;
}

std::string FakeCluster::address(int node_id) const {
  return fmt::format("127.0.0.1:{}", ports_[static_cast<size_t>(node_id - 1)]);
}

void FakeCluster::AddTopic(const std::string& name, int partitions, std::vector<int32_t> leaders) {
  absl::MutexLock lock(&mu_);
  Topic& t = topics_[name];
  t.id = fmt::format("topic-id-{}", next_topic_id_++);
  t.partitions.resize(static_cast<size_t>(partitions));
  for (int p = 0; p < partitions; ++p) {
    t.partitions[static_cast<size_t>(p)].leader = static_cast<size_t>(p) < leaders.size()
                                                      ? leaders[static_cast<size_t>(p)]
                                                      : (p % num_nodes()) + 1;
  }
}

void FakeCluster::SetLeader(const std::string& topic, int32_t partition, int32_t leader) {
  absl::MutexLock lock(&mu_);
  topics_.at(topic).partitions.at(static_cast<size_t>(partition)).leader = leader;
}

void FakeCluster::FailProduce(const std::string& topic, int32_t partition, v1::ErrorCode code,
                              int times, int32_t hint) {
  absl::MutexLock lock(&mu_);
  Partition& p = topics_.at(topic).partitions.at(static_cast<size_t>(partition));
  p.fail_code = code;
  p.fail_times = times;
  p.fail_hint = hint;
}

void FakeCluster::FailProduceAfterAppend(const std::string& topic, int32_t partition,
                                         v1::ErrorCode code, int times) {
  absl::MutexLock lock(&mu_);
  Partition& p = topics_.at(topic).partitions.at(static_cast<size_t>(partition));
  p.fail_after_append_code = code;
  p.fail_after_append_times = times;
}

void FakeCluster::AppendPrefixThenFail(const std::string& topic, int32_t partition, int batches,
                                       v1::ErrorCode code) {
  absl::MutexLock lock(&mu_);
  Partition& p = topics_.at(topic).partitions.at(static_cast<size_t>(partition));
  p.prefix_batches = batches;
  p.fail_after_append_code = code;
}

void FakeCluster::FailInitProducerId(v1::ErrorCode code, int times) {
  absl::MutexLock lock(&mu_);
  init_producer_id_fail_code_ = code;
  init_producer_id_fail_times_ = times;
}

int FakeCluster::init_producer_id_requests() const {
  absl::MutexLock lock(&mu_);
  return init_producer_id_requests_;
}

std::vector<std::string> FakeCluster::Batches(const std::string& topic, int32_t partition) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [base, bytes] :
       topics_.at(topic).partitions.at(static_cast<size_t>(partition)).batches) {
    out.push_back(bytes);
  }
  return out;
}

void FakeCluster::SetLogStart(const std::string& topic, int32_t partition, int64_t start) {
  absl::MutexLock lock(&mu_);
  Partition& p = topics_.at(topic).partitions.at(static_cast<size_t>(partition));
  p.log_start = start;
  p.next_offset = std::max(p.next_offset, start);
}

void FakeCluster::SetLogEnd(const std::string& topic, int32_t partition, int64_t end) {
  absl::MutexLock lock(&mu_);
  topics_.at(topic).partitions.at(static_cast<size_t>(partition)).next_offset = end;
}

void FakeCluster::CorruptBatch(const std::string& topic, int32_t partition, size_t index) {
  absl::MutexLock lock(&mu_);
  std::string& batch =
      topics_.at(topic).partitions.at(static_cast<size_t>(partition)).batches.at(index).second;
  batch.back() = static_cast<char>(batch.back() ^ 0x5a);
}

void FakeCluster::SetGroup(const std::string& id, FakeGroup group) {
  absl::MutexLock lock(&mu_);
  groups_[id] = std::move(group);
}

FakeGroup FakeCluster::Group(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    FakeGroup dead;
    dead.state = "Dead";
    return dead;
  }
  return it->second;
}

bool FakeCluster::HasGroup(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  return groups_.contains(id);
}

std::vector<std::string> FakeCluster::GroupIds() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, g] : groups_) ids.push_back(id);
  return ids;
}

void FakeCluster::FailGroup(const std::string& id, v1::ErrorCode code, int times) {
  absl::MutexLock lock(&mu_);
  group_failures_[id] = {code, times};
}

int FakeCluster::find_coordinator_requests() const {
  absl::MutexLock lock(&mu_);
  return find_coordinator_requests_;
}

std::vector<record::Record> FakeCluster::Records(const std::string& topic,
                                                 int32_t partition) const {
  absl::MutexLock lock(&mu_);
  std::vector<record::Record> out;
  const Partition& p = topics_.at(topic).partitions.at(static_cast<size_t>(partition));
  for (const auto& [base, b] : p.batches) {
    auto records = record::DecodeRecords(b);
    CHECK(records.ok()) << records.status();
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

int FakeCluster::BatchCount(const std::string& topic, int32_t partition) const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(
      topics_.at(topic).partitions.at(static_cast<size_t>(partition)).batches.size());
}

void FakeCluster::ServeProduceStream(bool serve) { produce_stream_served_.store(serve); }

void FakeCluster::HoldProduceAnswers(bool hold) { hold_produce_answers_.store(hold); }

void FakeCluster::RefuseMessagesWith(const std::string& marker) {
  absl::MutexLock lock(&mu_);
  oversized_marker_ = marker;
}

bool FakeCluster::Oversized(const v1::ProduceRequest& req) const {
  absl::MutexLock lock(&mu_);
  if (oversized_marker_.empty()) return false;
  for (const auto& t : req.topics()) {
    for (const auto& p : t.partitions()) {
      if (p.records().find(oversized_marker_) != std::string::npos) return true;
    }
  }
  return false;
}

int FakeCluster::produce_requests() const {
  absl::MutexLock lock(&mu_);
  return produce_requests_;
}

int FakeCluster::stream_produce_requests() const { return stream_produce_requests_.load(); }

int32_t FakeCluster::last_acks() const {
  absl::MutexLock lock(&mu_);
  return last_acks_;
}

void FakeCluster::SetTxnCoordinator(int32_t node) {
  absl::MutexLock lock(&mu_);
  txn_coordinator_ = node;
}

void FakeCluster::FailTxn(const std::string& request, v1::ErrorCode code, int times) {
  absl::MutexLock lock(&mu_);
  txn_failures_[request] = {code, times};
}

void FakeCluster::FailTxnTransport(const std::string& request, grpc::StatusCode code, int times,
                                   bool after_handling) {
  absl::MutexLock lock(&mu_);
  txn_transport_failures_[request] = TransportFailure{code, times, after_handling};
}

grpc::Status FakeCluster::TakeTransportFailure(const std::string& request, bool after_handling) {
  auto it = txn_transport_failures_.find(request);
  if (it == txn_transport_failures_.end() || it->second.times <= 0 ||
      it->second.after_handling != after_handling) {
    return grpc::Status::OK;
  }
  --it->second.times;
  Log(fmt::format("{} lost {}", request, after_handling ? "answer" : "request"), v1::NONE);
  return grpc::Status(it->second.code, fmt::format("injected {} failure", request));
}

void FakeCluster::ExpireTransactionalId(const std::string& transactional_id) {
  absl::MutexLock lock(&mu_);
  txns_.erase(transactional_id);
}

void FakeCluster::HoldAddPartitions(bool hold) {
  absl::MutexLock lock(&mu_);
  hold_add_partitions_ = hold;
}

int FakeCluster::add_partitions_requests() const {
  absl::MutexLock lock(&mu_);
  return add_partitions_requests_;
}

std::vector<std::string> FakeCluster::TxnLog() const {
  absl::MutexLock lock(&mu_);
  return txn_log_;
}

void FakeCluster::FenceTransactionalId(const std::string& transactional_id) {
  absl::MutexLock lock(&mu_);
  Txn& txn = txns_[transactional_id];
  if (txn.ongoing) EndTransaction(transactional_id, /*commit=*/false);
  ++txn.epoch;
  Log(fmt::format("(fenced) {} {}/{}", transactional_id, txn.producer_id, txn.epoch), v1::NONE);
}

std::vector<int64_t> FakeCluster::AbortedBatchOffsets(const std::string& topic,
                                                      int32_t partition) const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> out;
  for (const auto& [t, p, offset] : aborted_batches_) {
    if (t == topic && p == partition) out.push_back(offset);
  }
  return out;
}

}  // namespace strata::testing
