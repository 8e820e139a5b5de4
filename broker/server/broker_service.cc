#include "broker/server/broker_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/clock.h"
#include "broker/server/fetch_budget.h"
#include "broker/storage/record_batch.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

// Decodes whole batches for clients that do not parse them, while `budget`
// (decoded bytes) lasts: a compressed batch may inflate 64 times, and the
// response must stay within what the fetch reserved. Stops at the first
// batch that does not fit; the client fetches the rest from there. Returns
// the decoded bytes.
size_t DecodeInto(const std::string& batches, int64_t from_offset, size_t budget,
                  google::protobuf::RepeatedPtrField<v1::Record>* out) {
  storage::BatchIterator it(batches);
  storage::BatchHeader header;
  std::string_view batch;
  size_t used = 0;
  while (it.Next(&header, &batch) && used < budget) {
    absl::StatusOr<std::vector<storage::Record>> records =
        storage::DecodeRecords(batch, budget - used);
    if (!records.ok()) break;
    size_t bytes = 0;
    for (const storage::Record& r : *records) {
      bytes += r.key.value_or("").size() + r.value.value_or("").size() + 32;
      for (const storage::RecordHeader& h : r.headers) {
        bytes += h.key.size() + h.value.value_or("").size();
      }
    }
    if (used + bytes > budget && used > 0) break;
    used += bytes;
    for (const storage::Record& r : *records) {
      if (r.offset.value() < from_offset) continue;
      v1::Record* p = out->Add();
      if (r.key) p->set_key(*r.key);
      if (r.value) p->set_value(*r.value);
      for (const storage::RecordHeader& h : r.headers) {
        v1::RecordHeader* ph = p->add_headers();
        ph->set_key(h.key);
        if (h.value) ph->set_value(*h.value);
      }
      p->set_timestamp_ms(r.timestamp);
      p->set_offset(r.offset.value());
    }
  }
  return used;
}

}  // namespace

std::string BatchFromPlainRecords(const google::protobuf::RepeatedPtrField<v1::Record>& records,
                                  int64_t now_ms) {
  storage::RecordBatchBuilder builder;
  for (const v1::Record& p : records) {
    storage::Record r;
    if (p.has_key()) r.key = p.key();
    if (p.has_value()) r.value = p.value();
    for (const v1::RecordHeader& h : p.headers()) r.headers.push_back({h.key(), h.value()});
    r.timestamp = p.timestamp_ms() > 0 ? p.timestamp_ms() : now_ms;
    builder.Append(r);
  }
  return builder.Build();
}

BrokerService::BrokerService(replication::ReplicaManager* replicas, MetadataStateMachine* metadata,
                             Purgatory* purgatory, std::function<int32_t()> controller_id,
                             FetchLimits fetch, Clock* clock)
    : replicas_(replicas),
      metadata_(metadata),
      purgatory_(purgatory),
      controller_id_(std::move(controller_id)),
      fetch_(fetch),
      clock_(clock) {}

grpc::ServerUnaryReactor* BrokerService::Metadata(grpc::CallbackServerContext* ctx,
                                                  const v1::MetadataRequest* request,
                                                  v1::MetadataResponse* response) {
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  response->set_cluster_id(image->cluster_id());
  response->set_controller_id(controller_id_());
  for (const auto& [id, b] : image->brokers()) {
    const metadata::Endpoint* ep = b.endpoint("PLAINTEXT");
    if (ep == nullptr) continue;
    v1::BrokerInfo* info = response->add_brokers();
    info->set_id(id);
    info->set_host(ep->host);
    info->set_port(ep->port);
    info->set_rack(b.rack);
    info->set_fenced(b.fenced);
  }
  auto add_topic = [&](const metadata::TopicInfo& t) {
    v1::TopicMetadata* tm = response->add_topics();
    tm->set_name(t.name);
    tm->set_topic_id(t.topic_id);
    tm->set_internal(t.name.starts_with("__"));
    for (const auto& [pid, p] : t.partitions) {
      v1::PartitionMetadata* pm = tm->add_partitions();
      pm->set_partition(pid);
      pm->set_leader(p.leader);
      pm->set_leader_epoch(p.leader_epoch);
      for (int32_t r : p.replicas) {
        pm->add_replicas(r);
        if (!image->IsBrokerLive(r)) pm->add_offline_replicas(r);
      }
      for (int32_t r : p.isr) pm->add_isr(r);
      if (p.leader < 0) pm->set_error(v1::LEADER_NOT_AVAILABLE);
    }
  };
  if (request->topics().empty()) {
    for (const auto& [name, t] : image->topics()) add_topic(t);
  } else {
    for (const std::string& name : request->topics()) {
      if (const metadata::TopicInfo* t = image->FindTopic(name)) {
        add_topic(*t);
      } else {
        v1::TopicMetadata* tm = response->add_topics();
        tm->set_name(name);
        tm->set_error(v1::UNKNOWN_TOPIC_OR_PARTITION);
        tm->set_error_message(absl::StrCat("Topic ", name, " does not exist"));
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::Produce(grpc::CallbackServerContext* ctx,
                                                 const v1::ProduceRequest* request,
                                                 v1::ProduceResponse* response) {
  const int64_t now = clock_->NowMs();
  // acks=all partitions whose records the ISR does not have yet.
  struct Waiting {
    const std::string* topic;
    v1::PartitionProduceResponse* response;
    int64_t required_offset;
    int32_t leader_epoch;
  };
  auto waiting = std::make_shared<std::vector<Waiting>>();
  for (const v1::TopicProduceData& topic : request->topics()) {
    v1::TopicProduceResponse* tr = response->add_topics();
    tr->set_topic(topic.topic());
    for (const v1::PartitionProduceData& part : topic.partitions()) {
      std::string batches = !part.records().empty() ? part.records()
                            : part.plain_records().empty()
                                ? std::string()
                                : BatchFromPlainRecords(part.plain_records(), now);
      replication::ProduceResult r;
      if (batches.empty()) {
        r.error = v1::INVALID_RECORD;
        r.message = absl::StrCat("no records for ", topic.topic(), "-", part.partition());
      } else {
        r = replicas_->Append(topic.topic(), part.partition(), std::move(batches), request->acks());
      }
      v1::PartitionProduceResponse* pr = tr->add_partitions();
      pr->set_partition(part.partition());
      pr->set_error(r.error);
      pr->set_error_message(r.message);
      pr->set_base_offset(r.base_offset);
      pr->set_log_append_time_ms(-1);
      pr->set_log_start_offset(r.log_start_offset);
      pr->set_leader_hint(r.leader_hint);
      if (r.error == v1::NONE && request->acks() == -1) {
        waiting->push_back(Waiting{&topic.topic(), pr, r.required_offset, r.leader_epoch});
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Answers once every waiting partition is settled (or time is up).
  auto try_complete = [this, waiting, reactor](bool expired) {
    for (auto it = waiting->begin(); it != waiting->end();) {
      std::optional<replication::ProduceResult> r = replicas_->CheckAcked(
          *it->topic, it->response->partition(), it->required_offset, it->leader_epoch);
      if (!r && !expired) {
        ++it;
        continue;
      }
      if (!r) {
        it->response->set_error(v1::REQUEST_TIMED_OUT);
        it->response->set_error_message(
            absl::StrCat("The in-sync replicas of ", *it->topic, "-", it->response->partition(),
                         " did not all get the records in time"));
      } else if (r->error != v1::NONE) {
        it->response->set_error(r->error);
        it->response->set_error_message(r->message);
        it->response->set_leader_hint(r->leader_hint);
      }
      it = waiting->erase(it);
    }
    if (!waiting->empty()) return false;
    reactor->Finish(grpc::Status::OK);
    return true;
  };
  if (try_complete(false)) return reactor;
  const int timeout_ms = request->timeout_ms() > 0 ? request->timeout_ms() : 30000;
  if (!purgatory_->Park(absl::Now() + absl::Milliseconds(timeout_ms), try_complete)) {
    try_complete(true);
  }
  return reactor;
}

size_t BrokerService::ReadAll(const v1::FetchRequest& request, v1::FetchResponse* response,
                              FetchReactor* reactor, bool* any_error) {
  response->Clear();
  *any_error = false;
  size_t total = 0;
  const size_t reserved =
      reactor->Reserve(RequestFetchBudget(request.max_bytes(), 52428800, fetch_.max_bytes));
  // Decoded records travel beside the batches: half the budget each.
  const size_t max_bytes = request.decode_records() ? reserved / 2 : reserved;
  size_t decoded = 0;
  FetchedPartitions fetched;
  for (const v1::FetchTopic& topic : request.topics()) {
    v1::FetchTopicResponse* tr = response->add_topics();
    tr->set_topic(topic.topic());
    for (const v1::FetchPartition& part : topic.partitions()) {
      v1::FetchPartitionResponse* pr = tr->add_partitions();
      pr->set_partition(part.partition());
      if (std::string dup = fetched.Duplicate(topic.topic(), part.partition()); !dup.empty()) {
        pr->set_error(v1::INVALID_REQUEST);
        pr->set_error_message(std::move(dup));
        *any_error = true;
        continue;
      }
      const int32_t budget = PartitionFetchBudget(total, max_bytes, part.partition_max_bytes());
      replication::FetchResult r =
          replicas_->Read(topic.topic(), part.partition(), part.fetch_offset(), budget);
      pr->set_error(r.error);
      pr->set_error_message(r.message);
      pr->set_high_watermark(r.high_watermark);
      pr->set_last_stable_offset(r.high_watermark);
      pr->set_log_start_offset(r.log_start_offset);
      pr->set_leader_hint(r.leader_hint);
      if (r.error != v1::NONE) *any_error = true;
      total += r.records.size();
      if (request.decode_records()) {
        const size_t left = reserved - std::min(reserved, max_bytes + decoded);
        decoded += DecodeInto(r.records, part.fetch_offset(), std::max<size_t>(left, 1),
                              pr->mutable_decoded_records());
      }
      pr->set_records(std::move(r.records));
    }
  }
  reactor->Keep(total + decoded);
  return total;
}

grpc::ServerUnaryReactor* BrokerService::Fetch(grpc::CallbackServerContext* /*ctx*/,
                                               const v1::FetchRequest* request,
                                               v1::FetchResponse* response) {
  auto* reactor = new FetchReactor(fetch_.memory);
  bool any_error = false;
  const size_t bytes = ReadAll(*request, response, reactor, &any_error);
  purgatory_->CompleteFetch(
      reactor, bytes, any_error, request->min_bytes(), request->max_wait_ms(),
      [this, request] {
        for (const auto& t : request->topics()) {
          for (const auto& p : t.partitions()) {
            if (replicas_->HasDataAt(t.topic(), p.partition(), p.fetch_offset())) return true;
          }
        }
        return false;
      },
      [this, request, response, reactor] {
        bool any_error = false;
        ReadAll(*request, response, reactor, &any_error);
      });
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::ListOffsets(grpc::CallbackServerContext* ctx,
                                                     const v1::ListOffsetsRequest* request,
                                                     v1::ListOffsetsResponse* response) {
  for (const v1::ListOffsetsTopic& topic : request->topics()) {
    v1::ListOffsetsTopicResponse* tr = response->add_topics();
    tr->set_topic(topic.topic());
    for (const v1::ListOffsetsPartition& part : topic.partitions()) {
      replication::OffsetResult r =
          replicas_->ListOffset(topic.topic(), part.partition(), part.timestamp());
      v1::ListOffsetsPartitionResponse* pr = tr->add_partitions();
      pr->set_partition(part.partition());
      pr->set_error(r.error);
      pr->set_error_message(r.message);
      pr->set_offset(r.offset);
      pr->set_timestamp(r.timestamp);
      pr->set_leader_epoch(r.leader_epoch);
      pr->set_leader_hint(r.leader_hint);
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace strata::server
