// Produce, Fetch, ListOffsets, OffsetForLeaderEpoch and InitProducerId
// between Kafka's structs and the request layer (produce_fetch_adapter.h,
// adapter.h).
#include "broker/kafka/produce_fetch_adapter.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/kafka/adapter.h"
#include "broker/request/handlers.h"
#include "broker/request/throttler.h"

namespace strata::kafka {

namespace {

int16_t Code(ErrorCode error) { return static_cast<int16_t>(error); }

constexpr int8_t kReadCommitted = 1;

}  // namespace

// ---- Produce ----

request::ProduceRequest ToRequestLayer(ProduceRequest request) {
  request::ProduceRequest out;
  out.acks = request.acks;
  out.timeout_ms = request.timeout_ms;
  out.topics.reserve(request.topic_data.size());
  for (ProduceRequest::TopicData& topic : request.topic_data) {
    request::ProduceTopic& t = out.topics.emplace_back();
    t.topic = std::move(topic.name);
    t.partitions.reserve(topic.partition_data.size());
    for (ProduceRequest::PartitionData& part : topic.partition_data) {
      request::ProducePartition& p = t.partitions.emplace_back();
      p.partition = part.index;
      if (part.records.has_value()) p.records = std::move(*part.records);
    }
  }
  return out;
}

ProduceResponse FromRequestLayer(const request::ProduceResponse& response) {
  ProduceResponse out;
  out.responses.reserve(response.topics.size());
  for (const request::ProduceTopicResult& t : response.topics) {
    ProduceResponse::TopicResponse& topic = out.responses.emplace_back();
    topic.name = t.topic;
    topic.partition_responses.reserve(t.partitions.size());
    for (const request::ProducePartitionResult& p : t.partitions) {
      ProduceResponse::PartitionResponse& part = topic.partition_responses.emplace_back();
      part.index = p.partition;
      part.error_code = Code(p.error);
      part.base_offset = p.base_offset;
      part.log_append_time_ms = p.log_append_time_ms;
      part.log_start_offset = p.log_start_offset;
    }
  }
  return out;
}

std::optional<ErrorCode> FirstError(const ProduceResponse& response) {
  for (const ProduceResponse::TopicResponse& t : response.responses) {
    for (const ProduceResponse::PartitionResponse& p : t.partition_responses) {
      if (p.error_code != 0) return static_cast<ErrorCode>(p.error_code);
    }
  }
  return std::nullopt;
}

// ---- Fetch ----

std::optional<ErrorCode> FetchSessionError(const FetchRequest& request) {
  // As Kafka's FetchManager with no session in its cache: epoch -1 (final)
  // or 0 (initial) is a full fetch whatever the id (a session named there
  // is closed, and none is created); a later epoch names a session this
  // broker never gave.
  if (request.session_epoch > 0) return ErrorCode::kFetchSessionIdNotFound;
  return std::nullopt;
}

request::FetchRequest ToRequestLayer(const FetchRequest& request) {
  request::FetchRequest out;
  // A consumer's fetch whatever ReplicaId claims: followers replicate over
  // the CONTROLLER listener, never this one.
  out.from_follower = false;
  out.max_wait_ms = request.max_wait_ms;
  out.min_bytes = request.min_bytes;
  out.max_bytes = request.max_bytes;
  out.read_committed = request.isolation_level == kReadCommitted;
  out.topics.reserve(request.topics.size());
  for (const FetchRequest::Topic& topic : request.topics) {
    request::FetchTopic& t = out.topics.emplace_back();
    t.topic = topic.topic;
    t.partitions.reserve(topic.partitions.size());
    for (const FetchRequest::Partition& part : topic.partitions) {
      t.partitions.push_back(request::FetchPartition{
          .partition = part.partition,
          .fetch_offset = part.fetch_offset,
          .partition_max_bytes = part.partition_max_bytes,
          .current_leader_epoch = part.current_leader_epoch,
          .log_start_offset = -1,
      });
    }
  }
  return out;
}

FetchResponse FetchError(ErrorCode error) {
  FetchResponse out;
  out.error_code = Code(error);
  return out;
}

FetchResponse FromRequestLayer(request::FetchResponse response, const FetchRequest& request) {
  FetchResponse out;
  out.session_id = 0;  // no session was created
  out.responses.reserve(response.topics.size());
  for (request::FetchTopicResult& t : response.topics) {
    FetchResponse::Topic& topic = out.responses.emplace_back();
    topic.topic = std::move(t.topic);
    topic.partitions.reserve(t.partitions.size());
    for (request::FetchPartitionResult& p : t.partitions) {
      FetchResponse::Partition& part = topic.partitions.emplace_back();
      part.partition_index = p.partition;
      part.error_code = Code(p.error);
      part.high_watermark = p.high_watermark;
      part.last_stable_offset = p.last_stable_offset >= 0 ? p.last_stable_offset : p.high_watermark;
      part.log_start_offset = p.log_start_offset;
      if (request.isolation_level == kReadCommitted) {
        std::vector<FetchResponse::AbortedTransaction>& aborted =
            part.aborted_transactions.emplace();
        aborted.reserve(p.aborted_transactions.size());
        for (const record::AbortedTransaction& txn : p.aborted_transactions) {
          aborted.push_back({txn.producer_id, txn.first_offset});
        }
      }
      part.records = std::move(p.records);
    }
  }
  return out;
}

// ---- ListOffsets ----

request::ListOffsetsRequest ToRequestLayer(const ListOffsetsRequest& request) {
  request::ListOffsetsRequest out;
  out.read_committed = request.isolation_level == kReadCommitted;
  out.topics.reserve(request.topics.size());
  for (const ListOffsetsRequest::Topic& topic : request.topics) {
    request::ListOffsetsTopic& t = out.topics.emplace_back();
    t.topic = topic.name;
    t.partitions.reserve(topic.partitions.size());
    for (const ListOffsetsRequest::Partition& part : topic.partitions) {
      t.partitions.push_back({.partition = part.partition_index, .timestamp = part.timestamp});
    }
  }
  return out;
}

ListOffsetsResponse FromRequestLayer(const request::ListOffsetsResponse& response) {
  ListOffsetsResponse out;
  out.topics.reserve(response.topics.size());
  for (const request::ListOffsetsTopicResult& t : response.topics) {
    ListOffsetsResponse::Topic& topic = out.topics.emplace_back();
    topic.name = t.topic;
    topic.partitions.reserve(t.partitions.size());
    for (const request::ListOffsetsPartitionResult& p : t.partitions) {
      topic.partitions.push_back({.partition_index = p.partition,
                                  .error_code = Code(p.error),
                                  .timestamp = p.timestamp,
                                  .offset = p.offset});
    }
  }
  return out;
}

// ---- OffsetForLeaderEpoch ----

std::vector<request::EpochRequestPartition> ToRequestLayer(
    const OffsetForLeaderEpochRequest& request) {
  std::vector<request::EpochRequestPartition> out;
  for (const OffsetForLeaderEpochRequest::Topic& topic : request.topics) {
    for (const OffsetForLeaderEpochRequest::Partition& part : topic.partitions) {
      out.push_back({.topic = topic.topic,
                     .partition = part.partition,
                     .current_leader_epoch = part.current_leader_epoch,
                     .leader_epoch = part.leader_epoch});
    }
  }
  return out;
}

OffsetForLeaderEpochResponse FromRequestLayer(const std::vector<request::EpochEndResult>& results) {
  OffsetForLeaderEpochResponse out;
  std::map<std::string, size_t> index;  // topic -> its place in the answer
  for (const request::EpochEndResult& r : results) {
    auto [it, added] = index.emplace(r.topic, out.topics.size());
    if (added) out.topics.emplace_back().topic = r.topic;
    out.topics[it->second].partitions.push_back({.error_code = Code(r.error),
                                                 .partition = r.partition,
                                                 .leader_epoch = r.leader_epoch,
                                                 .end_offset = r.end_offset});
  }
  return out;
}

// --- InitProducerId ---

request::InitProducerIdRequest ToRequestLayer(const InitProducerIdRequest& request,
                                              int16_t version) {
  request::InitProducerIdRequest out;
  out.transactional_id = request.transactional_id;
  out.transaction_timeout_ms = request.transaction_timeout_ms;
  out.producer_id = request.producer_id;
  out.producer_epoch = request.producer_epoch;
  out.producer_fenced_supported = version >= 4;  // PRODUCER_FENCED is new in v4 (KIP-588)
  return out;
}

InitProducerIdResponse FromRequestLayer(const request::InitProducerIdResponse& response) {
  InitProducerIdResponse out;
  out.error_code = Code(response.error);
  out.producer_id = response.producer_id;
  out.producer_epoch = response.producer_epoch;
  return out;
}

namespace {

// The record bytes of a fetch answer (what consumer_byte_rate counts).
double RecordBytes(const request::FetchResponse& r) {
  double bytes = 0;
  for (const request::FetchTopicResult& t : r.topics) {
    for (const request::FetchPartitionResult& p : t.partitions) bytes += p.records.size();
  }
  return bytes;
}

absl::Status NoRequestLayer() { return absl::FailedPreconditionError("no request layer"); }

void ProduceAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) return reply(NoRequestLayer());
  ProduceRequest produce = std::get<ProduceRequest>(std::move(request));
  const bool acks_zero = produce.acks == 0;
  request::ProduceRequest layer = ToRequestLayer(std::move(produce));
  const double bytes = request::ProduceQuotaBytes(layer);
  call.authz().Produce(*call.deps.handlers, std::move(layer),
                       request::Throttled<request::ProduceResponse>(
                           call.deps.throttler, security::QuotaType::kProduce, call.quota_session(),
                           [bytes](const request::ProduceResponse&) { return bytes; },
                           [reply = std::move(reply), acks_zero](request::ProduceResponse answer) {
                             ProduceResponse response = FromRequestLayer(answer);
                             response.throttle_time_ms = answer.throttle_time_ms;
                             if (!acks_zero) return reply(Response(std::move(response)));
                             // acks=0: no answer; on a failure the connection is closed so the
                             // client refreshes its metadata (Kafka's KafkaApis does the same).
                             if (std::optional<ErrorCode> error = FirstError(response)) {
                               return reply(absl::AbortedError(absl::StrCat(
                                   "acks=0 produce failed with ", std::string(ErrorName(*error)))));
                             }
                             reply.Nothing(response.throttle_time_ms);
                           }));
}

void FetchAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) return reply(NoRequestLayer());
  auto fetch = std::make_shared<FetchRequest>(std::get<FetchRequest>(std::move(request)));
  if (std::optional<ErrorCode> error = FetchSessionError(*fetch)) {
    return reply(Response(FetchError(*error)));
  }
  call.authz().Fetch(
      *call.deps.handlers, ToRequestLayer(*fetch),
      request::Throttled<request::FetchResponse>(
          // The fetch quota counts the record bytes answered. Every fetch on
          // this door is a consumer's, whatever ReplicaId claims (followers
          // replicate over gRPC): a claimed replica id does not escape it.
          call.deps.throttler, security::QuotaType::kFetch,
          call.quota_session(), [](const request::FetchResponse& r) { return RecordBytes(r); },
          [reply = std::move(reply), fetch](request::FetchResponse answer) {
            // The answer's share of the fetch memory stays taken until its
            // bytes are written, as on the gRPC door.
            std::shared_ptr<request::FetchShare> memory = answer.memory;
            const int32_t throttle_ms = answer.throttle_time_ms;
            FetchResponse response = FromRequestLayer(std::move(answer), *fetch);
            response.throttle_time_ms = throttle_ms;
            reply(Response(std::move(response)), std::move(memory));
          }));
}

void ListOffsetsAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) return reply(NoRequestLayer());
  const request::ListOffsetsResponse answer = call.authz().ListOffsets(
      *call.deps.handlers, ToRequestLayer(std::get<ListOffsetsRequest>(request)));
  reply(Response(FromRequestLayer(answer)));
}

void OffsetForLeaderEpochAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) return reply(NoRequestLayer());
  const std::vector<request::EpochEndResult> answer = call.authz().OffsetForLeaderEpoch(
      *call.deps.handlers, ToRequestLayer(std::get<OffsetForLeaderEpochRequest>(request)));
  reply(Response(FromRequestLayer(answer)));
}

void InitProducerIdAdapter(const AdapterCall& call, Request request, Reply reply) {
  if (call.deps.handlers == nullptr) return reply(NoRequestLayer());
  call.authz().InitProducerId(
      *call.deps.handlers, ToRequestLayer(std::get<InitProducerIdRequest>(request), call.version()),
      [reply = std::move(reply)](request::InitProducerIdResponse answer) {
        reply(Response(FromRequestLayer(answer)));
      });
}

constexpr AdapterRow kRows[] = {
    {ApiKey::kProduce, &ProduceAdapter},
    {ApiKey::kInitProducerId, &InitProducerIdAdapter},
    {ApiKey::kFetch, &FetchAdapter},
    {ApiKey::kListOffsets, &ListOffsetsAdapter},
    {ApiKey::kOffsetForLeaderEpoch, &OffsetForLeaderEpochAdapter},
};

}  // namespace

absl::Span<const AdapterRow> ProduceFetchAdapters() { return kRows; }

}  // namespace strata::kafka
