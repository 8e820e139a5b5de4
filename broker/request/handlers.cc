#include "broker/request/handlers.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/group/group_coordinator.h"
#include "broker/metrics/metrics.h"
#include "broker/metadata/controller.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/storage/log_config.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::request {
namespace {

// Decodes whole batches for clients that do not parse them, while `budget`
// (decoded bytes) lasts: a compressed batch may inflate 64 times, and the
// response must stay within what the fetch reserved. Stops at the first
// batch that does not fit; the client fetches the rest from there. Returns
// the decoded bytes.
size_t DecodeInto(const std::string& batches, int64_t from_offset, size_t budget,
                  record::AbortedTransactionFilter* filter, std::vector<record::Record>* out) {
  record::BatchIterator it(batches);
  record::BatchHeader header;
  std::string_view batch;
  size_t used = 0;
  while (it.Next(&header, &batch) && used < budget) {
    // Control batches are never an application's records; a read_committed
    // fetch drops aborted transactions' records too.
    if (filter != nullptr ? filter->Drop(header, batch) : header.is_control()) continue;
    absl::StatusOr<std::vector<record::Record>> records =
        record::DecodeRecords(batch, budget - used);
    if (!records.ok()) break;
    size_t bytes = 0;
    for (const record::Record& r : *records) {
      bytes += r.key.value_or("").size() + r.value.value_or("").size() + 32;
      for (const record::RecordHeader& h : r.headers) {
        bytes += h.key.size() + h.value.value_or("").size();
      }
    }
    if (used + bytes > budget && used > 0) break;
    used += bytes;
    for (record::Record& r : *records) {
      if (r.offset.value() >= from_offset) out->push_back(std::move(r));
    }
  }
  return used;
}

replication::ReplicaManager::ReadLimit ConsumerReadLimit(const FetchRequest& request) {
  return request.read_committed ? replication::ReplicaManager::ReadLimit::kLastStableOffset
                                : replication::ReplicaManager::ReadLimit::kHighWatermark;
}

// Kafka's internal topics (__consumer_offsets, __transaction_state).
// Kafka's internal topics (__consumer_offsets, __transaction_state), not
// every name with two underscores: a user's "__debezium-heartbeat" is an
// ordinary topic, which pattern subscriptions excluding internal topics
// must see.
bool IsInternal(const std::string& topic) { return metadata::Controller::IsInternalTopic(topic); }

}  // namespace

std::string BatchFromPlainRecords(std::vector<record::Record> records, int64_t now_ms) {
  record::RecordBatchBuilder builder;
  for (record::Record& r : records) {
    if (r.timestamp <= 0) r.timestamp = now_ms;
    builder.Append(r);
  }
  return builder.Build();
}

// The longest an idle fetch session goes without a full read
// (fetch_sessions.h), whatever replica.lag.time.max.ms allows.
constexpr int64_t kMaxIdleSessionRefreshMs = 5000;

RequestHandlers::RequestHandlers(HandlerOptions options)
    : options_(std::move(options)),
      fetch_sessions_(options_.clock, options_.max_fetch_sessions, options_.purgatory,
                      std::min(options_.replica_lag_time_max_ms / 4, kMaxIdleSessionRefreshMs)) {
  CHECK(options_.replicas != nullptr && options_.purgatory != nullptr && options_.clock != nullptr);
}

// --- DeleteRecords ---

void RequestHandlers::DeleteRecords(DeleteRecordsRequest request,
                                    std::function<void(DeleteRecordsResponse)> done) {
  struct State {
    DeleteRecordsResponse response;
    std::function<void(DeleteRecordsResponse)> done;
    // Partitions waiting for their replicas to move their log start.
    struct Waiting {
      size_t topic;
      size_t partition;
      int64_t offset;  // the offset asked for (-1 resolved)
    };
    std::vector<Waiting> waiting;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  std::vector<purgatory::WatchKey> keys;
  std::set<std::pair<std::string, int32_t>> seen;
  for (const DeleteRecordsTopic& topic : request.topics) {
    DeleteRecordsTopicResult& tr = state->response.topics.emplace_back();
    tr.topic = topic.topic;
    for (const DeleteRecordsPartition& part : topic.partitions) {
      DeleteRecordsPartitionResult& pr = tr.partitions.emplace_back();
      pr.partition = part.partition;
      if (!seen.emplace(topic.topic, part.partition).second) {
        pr.error = ErrorCode::kInvalidRequest;
        pr.message = absl::StrCat("Partition ", topic.topic, "-", part.partition,
                                  " appears more than once in this request");
        continue;
      }
      if (IsInternal(topic.topic)) {
        pr.error = ErrorCode::kInvalidTopicException;
        pr.message = absl::StrCat("Cannot delete records of internal topic ", topic.topic);
        continue;
      }
      replication::DeleteRecordsResult r =
          options_.replicas->DeleteRecords(topic.topic, part.partition, part.offset);
      pr.error = r.error;
      pr.message = std::move(r.message);
      pr.low_watermark = r.low_watermark;
      pr.leader_hint = r.leader_hint;
      if (r.error == ErrorCode::kNone && r.low_watermark < r.offset) {
        state->waiting.push_back(
            State::Waiting{state->response.topics.size() - 1, tr.partitions.size() - 1, r.offset});
        keys.push_back(purgatory::WatchKey::Partition(topic.topic, part.partition));
      }
    }
  }
  if (state->waiting.empty()) {
    state->done(std::move(state->response));
    return;
  }
  auto try_complete = [this, state](bool expired) {
    auto& waiting = state->waiting;
    for (auto it = waiting.begin(); it != waiting.end();) {
      const std::string& topic = state->response.topics[it->topic].topic;
      DeleteRecordsPartitionResult& pr =
          state->response.topics[it->topic].partitions[it->partition];
      const int64_t wanted = it->offset;
      replication::DeleteRecordsResult r = options_.replicas->LowWatermark(topic, pr.partition);
      const bool settled = r.error != ErrorCode::kNone || r.low_watermark >= wanted;
      if (!settled && !expired) {
        ++it;
        continue;
      }
      pr.error = r.error;
      pr.message = std::move(r.message);
      pr.low_watermark = r.low_watermark;
      if (!settled) {
        pr.error = ErrorCode::kRequestTimedOut;
        pr.message = absl::StrCat("The in-sync replicas of ", topic, "-", pr.partition,
                                  " did not all move their log start to ", wanted, " in time");
      }
      it = waiting.erase(it);
    }
    if (!waiting.empty()) return false;
    state->done(std::move(state->response));
    return true;
  };
  const int32_t timeout_ms = request.timeout_ms > 0 ? request.timeout_ms : kDefaultProduceTimeoutMs;
  options_.purgatory->TryCompleteElseWatch(
      std::make_shared<purgatory::DelayedOperation>(options_.clock->NowMs() + timeout_ms,
                                                    std::move(try_complete)),
      keys);
}

// --- Produce ---

void RequestHandlers::Produce(ProduceRequest request, std::function<void(ProduceResponse)> done) {
  const int64_t now = options_.clock->NowMs();
  struct State {
    ProduceResponse response;
    std::function<void(ProduceResponse)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  // acks=all partitions whose records the ISR does not have yet; they point
  // into the answer, whose vectors are sized first.
  std::vector<AckWait> waiting;
  metrics::TopicMetrics* topic_metrics = nullptr;  // of *metrics_topic
  const std::string* metrics_topic = nullptr;
  state->response.topics.reserve(request.topics.size());
  for (ProduceTopic& topic : request.topics) {
    ProduceTopicResult& tr = state->response.topics.emplace_back();
    tr.topic = topic.topic;
    tr.partitions.reserve(topic.partitions.size());
    for (ProducePartition& part : topic.partitions) {
      std::string batches = !part.records.empty() ? std::move(part.records)
                            : part.plain_records.empty()
                                ? std::string()
                                : BatchFromPlainRecords(std::move(part.plain_records), now);
      replication::ProduceResult r;
      if (batches.empty()) {
        r.error = ErrorCode::kInvalidRecord;
        r.message = absl::StrCat("no records for ", topic.topic, "-", part.partition);
      } else if (IsInternal(topic.topic) && !request.internal_topics_allowed) {
        r.error = ErrorCode::kInvalidTopicException;
        r.message = absl::StrCat("Cannot append to internal topic ", topic.topic);
      } else {
        const size_t bytes = batches.size();
        r = options_.replicas->Append(topic.topic, part.partition, std::move(batches), request.acks,
                                      request.internal_topics_allowed
                                          ? storage::AppendOrigin::kCoordinator
                                          : storage::AppendOrigin::kClient);
        if (options_.metrics != nullptr && r.error == ErrorCode::kNone &&
            !request.internal_topics_allowed) {
          if (topic_metrics == nullptr || metrics_topic != &topic.topic) {
            topic_metrics = &options_.metrics->Topic(topic.topic);
            metrics_topic = &topic.topic;
          }
          topic_metrics->bytes_in->Increment(static_cast<double>(bytes));
          // required_offset is one past the last offset taken (a retry's too).
          topic_metrics->records_in->Increment(
              static_cast<double>(r.required_offset - r.base_offset));
        }
      }
      ProducePartitionResult& pr = tr.partitions.emplace_back();
      pr.partition = part.partition;
      pr.error = r.error;
      pr.message = std::move(r.message);
      pr.base_offset = r.base_offset;
      pr.log_append_time_ms = r.log_append_time_ms;
      pr.log_start_offset = r.log_start_offset;
      pr.leader_hint = r.leader_hint;
      if (r.error == ErrorCode::kNone && request.acks == -1) {
        waiting.push_back(AckWait{topic.topic, part.partition, r.required_offset, r.leader_epoch,
                                  &pr.error, &pr.message, &pr.leader_hint});
      }
    }
  }
  const int32_t timeout_ms = request.timeout_ms > 0 ? request.timeout_ms : kDefaultProduceTimeoutMs;
  AwaitAcks(std::move(waiting), now + timeout_ms,
            [state] { state->done(std::move(state->response)); });
}

void RequestHandlers::AwaitAcks(std::vector<AckWait> waits, int64_t deadline_ms,
                                std::function<void()> done) {
  if (waits.empty()) return done();
  std::vector<purgatory::WatchKey> keys;
  keys.reserve(waits.size());
  for (const AckWait& w : waits)
    keys.push_back(purgatory::WatchKey::Partition(w.topic, w.partition));
  // Completes once every waiting partition is settled (or time is up).
  auto try_complete = [this, waits = std::move(waits),
                       done = std::move(done)](bool expired) mutable {
    for (auto it = waits.begin(); it != waits.end();) {
      std::optional<replication::ProduceResult> r = options_.replicas->CheckAcked(
          it->topic, it->partition, it->required_offset, it->leader_epoch);
      if (!r && !expired) {
        ++it;
        continue;
      }
      if (!r) {
        *it->error = ErrorCode::kRequestTimedOut;
        *it->message = absl::StrCat("The in-sync replicas of ", it->topic, "-", it->partition,
                                    " did not all get the records in time");
      } else if (r->error != ErrorCode::kNone) {
        *it->error = r->error;
        *it->message = std::move(r->message);
        if (it->leader_hint != nullptr) *it->leader_hint = r->leader_hint;
      }
      it = waits.erase(it);
    }
    if (!waits.empty()) return false;
    done();
    return true;
  };
  options_.purgatory->TryCompleteElseWatch(
      std::make_shared<purgatory::DelayedOperation>(deadline_ms, std::move(try_complete)), keys);
}

// --- DescribeProducers ---

std::vector<replication::ProducersResult> RequestHandlers::DescribeProducers(
    const std::vector<std::pair<std::string, int32_t>>& partitions) {
  std::vector<replication::ProducersResult> out;
  out.reserve(partitions.size());
  std::set<std::pair<std::string, int32_t>> seen;
  for (const auto& [topic, partition] : partitions) {
    if (!seen.insert({topic, partition}).second) {
      replication::ProducersResult& r = out.emplace_back();
      r.error = ErrorCode::kInvalidRequest;
      r.message = absl::StrCat("Partition ", topic, "-", partition, " is asked for more than once");
      continue;
    }
    out.push_back(options_.replicas->DescribeProducers(topic, partition));
  }
  return out;
}

// --- WriteTxnMarkers ---

namespace {

// Why an administrator's `marker` may not be written to a partition whose
// producers are `producers` (see WriteTxnMarkers), or nullopt.
std::optional<std::pair<ErrorCode, std::string>> AdminMarkerRefusal(
    const TxnMarkerEntry& marker, const std::string& tp,
    const replication::ProducersResult& producers) {
  if (marker.committed) {
    return std::make_pair(
        ErrorCode::kInvalidRequest,
        absl::StrCat("A transaction can only be aborted this way, not committed (", tp,
                     ", producer ", marker.producer_id, ")"));
  }
  if (producers.error != ErrorCode::kNone) {
    return std::make_pair(producers.error, producers.message);
  }
  for (const storage::ProducerStateView& v : producers.producers) {
    if (v.producer_id != marker.producer_id) continue;
    if (v.current_txn_start_offset < 0) break;
    if (marker.producer_epoch != v.epoch) {
      return std::make_pair(ErrorCode::kInvalidProducerEpoch,
                            absl::StrCat("Producer ", v.producer_id, " is at epoch ", v.epoch,
                                         " in ", tp, ", not ", marker.producer_epoch));
    }
    // Kafka's tool sends max(coordinator epoch, 0).
    if (marker.coordinator_epoch > std::max(v.coordinator_epoch, 0)) {
      return std::make_pair(
          ErrorCode::kInvalidRequest,
          absl::StrCat("Coordinator epoch ", marker.coordinator_epoch, " is above the last one (",
                       v.coordinator_epoch, ") of producer ", v.producer_id, " in ", tp));
    }
    return std::nullopt;
  }
  return std::make_pair(
      ErrorCode::kInvalidTxnState,
      absl::StrCat("Producer ", marker.producer_id, " has no transaction open in ", tp));
}

}  // namespace

void RequestHandlers::WriteTxnMarkers(WriteTxnMarkersRequest request,
                                      std::function<void(WriteTxnMarkersResponse)> done) {
  struct State {
    WriteTxnMarkersRequest request;
    WriteTxnMarkersResponse response;
    std::function<void(WriteTxnMarkersResponse)> done;
  };
  // The timeout counts from the request's arrival, the appends included.
  const int64_t deadline_ms =
      options_.clock->NowMs() +
      (request.timeout_ms > 0 ? request.timeout_ms : kDefaultProduceTimeoutMs);
  auto state = std::make_shared<State>();
  state->request = std::move(request);
  state->done = std::move(done);
  std::vector<AckWait> waits;
  // Sized first: the waits point into the answer.
  state->response.markers.resize(state->request.markers.size());
  for (size_t i = 0; i < state->request.markers.size(); ++i) {
    state->response.markers[i].resize(state->request.markers[i].partitions.size());
  }
  for (size_t i = 0; i < state->request.markers.size(); ++i) {
    const TxnMarkerEntry& m = state->request.markers[i];
    record::EndTxnMarker marker;
    marker.type = m.committed ? record::ControlType::kCommit : record::ControlType::kAbort;
    marker.coordinator_epoch = m.coordinator_epoch;
    for (size_t j = 0; j < m.partitions.size(); ++j) {
      const TxnMarkerPartition& tp = m.partitions[j];
      TxnMarkerResult& out = state->response.markers[i][j];
      out.topic = tp.topic;
      out.partition = tp.partition;
      if (state->request.from_admin) {
        // Checked just before the append: a marker of the transaction's
        // own coordinator landing in between makes the abort a harmless
        // second ABORT.
        if (auto refusal =
                AdminMarkerRefusal(m, absl::StrCat(tp.topic, "-", tp.partition),
                                   options_.replicas->DescribeProducers(tp.topic, tp.partition))) {
          out.error = refusal->first;
          out.message = std::move(refusal->second);
          continue;
        }
      }
      replication::ProduceResult r = options_.replicas->AppendTxnMarker(
          tp.topic, tp.partition, m.producer_id, m.producer_epoch, marker);
      out.error = r.error;
      out.message = std::move(r.message);
      if (r.error != ErrorCode::kNone) continue;
      waits.push_back(AckWait{tp.topic, tp.partition, r.required_offset, r.leader_epoch, &out.error,
                              &out.message, nullptr});
    }
  }
  AwaitAcks(std::move(waits), deadline_ms, [this, state] {
    if (options_.on_txn_marker_written) {
      for (size_t i = 0; i < state->request.markers.size(); ++i) {
        for (size_t j = 0; j < state->request.markers[i].partitions.size(); ++j) {
          if (state->response.markers[i][j].error != ErrorCode::kNone) continue;
          options_.on_txn_marker_written(state->request.markers[i],
                                         state->request.markers[i].partitions[j]);
        }
      }
    }
    state->done(std::move(state->response));
  });
}

// --- InitProducerId ---

void RequestHandlers::InitProducerId(const InitProducerIdRequest& request,
                                     std::function<void(InitProducerIdResponse)> done) {
  InitProducerIdResponse response;
  if (request.transactional_id.has_value() && request.transactional_id->empty()) {
    // Kafka's: null is an idempotent producer, empty a mistake.
    response.error = ErrorCode::kInvalidRequest;
    response.message = "The transactional id is empty";
    return done(std::move(response));
  }
  if (request.transactional_id.has_value()) {
    if (options_.transactions == nullptr) {
      response.error = ErrorCode::kInvalidRequest;
      response.message = absl::StrCat("Transactional id ", *request.transactional_id, ": broker ",
                                      options_.node_id, " serves no transactions");
      return done(std::move(response));
    }
    txn::InitProducerIdRequest r;
    r.transactional_id = request.transactional_id;
    r.transaction_timeout_ms = request.transaction_timeout_ms;
    r.producer_id = request.producer_id;
    r.producer_epoch = request.producer_epoch;
    r.producer_fenced_supported = request.producer_fenced_supported;
    options_.transactions->InitProducerId(
        std::move(r), [done = std::move(done)](txn::InitProducerIdResponse answer) {
          InitProducerIdResponse out;
          out.error = answer.result.error;
          out.message = std::move(answer.result.message);
          out.producer_id = answer.producer_id;
          out.producer_epoch = answer.producer_epoch;
          done(std::move(out));
        });
    return;
  }
  if (options_.producer_id_manager == nullptr) {
    response.error = ErrorCode::kCoordinatorNotAvailable;
    response.message = absl::StrCat("Broker ", options_.node_id, " hands out no producer ids");
    return done(std::move(response));
  }
  absl::StatusOr<int64_t> id = options_.producer_id_manager->GenerateProducerId();
  if (!id.ok()) {
    response.error = ErrorCode::kCoordinatorLoadInProgress;
    response.message = absl::StrCat("Broker ", options_.node_id,
                                    " has no producer ids yet: ", id.status().message());
    return done(std::move(response));
  }
  response.producer_id = *id;
  response.producer_epoch = 0;
  done(std::move(response));
}

// --- Fetch ---

struct RequestHandlers::FetchState {
  FetchRequest request;
  FetchResponse response;
  std::function<void(FetchResponse)> done;
  // Parked in the purgatory (its own first tries are over), and one of its
  // partitions changed since (a high watermark or log start moved) with no
  // data to send.
  std::atomic<bool> parked{false};
  std::atomic<bool> changed{false};
  // Tries by the purgatory so far.
  std::atomic<int> tries{0};
  // A follower's incremental fetch session: the request is its whole
  // partition set, the answer is trimmed to what is new.
  FetchSessionUse session;
  bool follower() const { return request.from_follower; }
};

namespace {

// What a consumer's fetch answer carries out, per topic: bytes, and the
// records of its batches (by their headers' counts).
void CountFetched(metrics::Metrics* m, const FetchResponse& response) {
  for (const FetchTopicResult& t : response.topics) {
    size_t bytes = 0;
    int64_t records = 0;
    for (const FetchPartitionResult& p : t.partitions) {
      bytes += p.records.size();
      std::string_view rest = p.records;
      while (rest.size() >= record::kBatchHeaderSize) {
        absl::StatusOr<record::BatchHeader> h = record::ReadBatchHeader(rest);
        if (!h.ok() || h->size_in_bytes() > rest.size()) break;  // a partial last batch
        if (!h->is_control()) records += h->records_count;
        rest.remove_prefix(h->size_in_bytes());
      }
    }
    if (bytes == 0) continue;
    metrics::TopicMetrics& tm = m->Topic(t.topic);
    tm.bytes_out->Increment(static_cast<double>(bytes));
    tm.records_out->Increment(static_cast<double>(records));
  }
}

}  // namespace

void RequestHandlers::FinishFetch(FetchState& state) {
  if (options_.metrics != nullptr && !state.follower()) CountFetched(options_.metrics, state.response);
  FetchSessions::Trim(state.session, state.response);
  state.done(std::move(state.response));
}

size_t RequestHandlers::ReadAll(FetchState& state, bool* any_error) {
  const FetchRequest& request = state.request;
  FetchResponse& response = state.response;
  response.topics.clear();
  *any_error = false;
  FetchSessions::NoteRead(state.session, options_.clock->NowMs());
  size_t total = 0;
  const size_t reserved = response.memory->Reserve(RequestFetchBudget(
      request.max_bytes,
      state.follower() ? kDefaultFollowerFetchMaxBytes : kDefaultConsumerFetchMaxBytes,
      options_.fetch_max_bytes));
  // Decoded records travel beside the batches: half the budget each.
  const size_t max_bytes = request.decode_records ? reserved / 2 : reserved;
  size_t decoded = 0;
  FetchedPartitions fetched;
  for (const FetchTopic& topic : request.topics) {
    FetchTopicResult& tr = response.topics.emplace_back();
    tr.topic = topic.topic;
    for (const FetchPartition& part : topic.partitions) {
      FetchPartitionResult& pr = tr.partitions.emplace_back();
      pr.partition = part.partition;
      if (std::string dup = fetched.Duplicate(topic.topic, part.partition); !dup.empty()) {
        pr.error = ErrorCode::kInvalidRequest;
        pr.message = std::move(dup);
        *any_error = true;
        continue;
      }
      const int32_t budget = PartitionFetchBudget(total, max_bytes, part.partition_max_bytes);
      replication::FetchResult r =
          state.follower()
              ? options_.replicas->ReadForFollower(request.replica_id, topic.topic, part.partition,
                                                   part.fetch_offset, part.current_leader_epoch,
                                                   budget, part.log_start_offset)
              : options_.replicas->Read(topic.topic, part.partition, part.fetch_offset, budget,
                                        ConsumerReadLimit(request), part.current_leader_epoch);
      pr.error = r.error;
      pr.message = std::move(r.message);
      pr.high_watermark = r.high_watermark;
      pr.last_stable_offset = r.last_stable_offset;
      pr.aborted_transactions = std::move(r.aborted_transactions);
      pr.log_start_offset = r.log_start_offset;
      pr.log_end_offset = r.log_end_offset;
      pr.leader_hint = r.leader_hint;
      if (r.error != ErrorCode::kNone) *any_error = true;
      total += r.records.size();
      if (request.decode_records) {
        const size_t left = reserved - std::min(reserved, max_bytes + decoded);
        std::optional<record::AbortedTransactionFilter> filter;
        if (request.read_committed) filter.emplace(pr.aborted_transactions);
        decoded += DecodeInto(r.records, part.fetch_offset, std::max<size_t>(left, 1),
                              filter ? &*filter : nullptr, &pr.decoded_records);
      }
      pr.records = std::move(r.records);
    }
  }
  response.memory->Keep(total + decoded);
  return total;
}

bool RequestHandlers::HasData(const FetchState& state) {
  for (const FetchTopic& t : state.request.topics) {
    for (const FetchPartition& p : t.partitions) {
      const bool has = state.follower()
                           ? options_.replicas->FollowerHasDataAt(state.request.replica_id, t.topic,
                                                                  p.partition, p.fetch_offset)
                           : options_.replicas->HasDataAt(t.topic, p.partition, p.fetch_offset,
                                                          ConsumerReadLimit(state.request));
      if (has) return true;
    }
  }
  return false;
}

void RequestHandlers::Fetch(FetchRequest request, std::function<void(FetchResponse)> done) {
  auto state = std::make_shared<FetchState>();
  state->request = std::move(request);
  state->done = std::move(done);
  FetchMemory* pool =
      state->follower() ? options_.follower_fetch_memory : options_.consumer_fetch_memory;
  CHECK(pool != nullptr) << "no fetch memory pool for "
                         << (state->follower() ? "follower" : "consumer") << " fetches";
  state->response.memory = std::make_shared<FetchShare>(pool);
  if (state->follower() && state->request.session.any()) {
    state->response.error =
        fetch_sessions_.Begin(state->request, &state->session, &state->response.message);
    if (state->response.error != ErrorCode::kNone) return FinishFetch(*state);
  }
  const FetchRequest& r = state->request;
  std::vector<purgatory::WatchKey> keys;
  if (state->session.idle) {
    // An idle session fetch (fetch_sessions.h): nothing read, parked under
    // the session's one key, which any change to its partitions wakes.
    keys.push_back(purgatory::WatchKey::FetchSession(state->session.id));
  } else {
    bool any_error = false;
    const size_t bytes = ReadAll(*state, &any_error);
    if (bytes >= static_cast<size_t>(std::max(r.min_bytes, 1)) || any_error || r.max_wait_ms <= 0) {
      FinishFetch(*state);
      return;
    }
    // Not enough yet: wait for data on any of the partitions (a follower
    // at the log end is caught up; reading again when data arrives records
    // that once more).
    for (const FetchTopic& t : r.topics) {
      for (const FetchPartition& p : t.partitions) {
        keys.push_back(purgatory::WatchKey::Partition(t.topic, p.partition));
      }
    }
  }
  auto try_complete = [this, state](bool expired) {
    if (expired && !state->changed) {
      // None of its partitions changed: the answer is the first read's (no
      // records, the offsets as they still are; for an idle fetch, nothing
      // new), as if it had been held up on the way. Reading every
      // partition again, as Kafka does, was half of what an idle
      // follower's fetch of many partitions cost its leader.
      FinishFetch(*state);
      return true;
    }
    if (!expired && state->tries.fetch_add(1) == 0) {
      // The purgatory's try before it lists the fetch under its partitions,
      // just after the first read found nothing: nothing could have woken
      // it yet, and its try after the listing covers the gap. (A scan of
      // every partition saved, per parked fetch.)
      return false;
    }
    if (!expired && state->session.idle && FetchSessions::Unchanged(state->session)) {
      // Idle, and still nothing changed (the try after the listing, or a
      // wake-up that raced it).
      return false;
    }
    // An idle fetch was woken, or its wait ended after a change: read as a
    // full one.
    if (state->session.idle) FetchSessions::Expand(state->session, state->request);
    if (!expired && !HasData(*state)) {
      // A partition changed with nothing to send (its high watermark or log
      // start moved, which a follower takes from the answer): read again at
      // the deadline. (Any wake-up without data counts. A change between
      // the first read and TryCompleteElseWatch returning, which the
      // purgatory's own tries see, goes to the next fetch's answer.)
      if (state->parked) state->changed = true;
      return false;
    }
    bool any_error = false;
    ReadAll(*state, &any_error);
    FinishFetch(*state);
    return true;
  };
  const int64_t deadline = options_.clock->NowMs() + std::min(r.max_wait_ms, kMaxFetchWaitMs);
  if (!options_.purgatory->TryCompleteElseWatch(
          std::make_shared<purgatory::DelayedOperation>(deadline, std::move(try_complete)), keys)) {
    state->parked = true;
  }
}

// --- ListOffsets, OffsetForLeaderEpoch ---

ListOffsetsResponse RequestHandlers::ListOffsets(const ListOffsetsRequest& request) {
  ListOffsetsResponse response;
  for (const ListOffsetsTopic& topic : request.topics) {
    ListOffsetsTopicResult& tr = response.topics.emplace_back();
    tr.topic = topic.topic;
    for (const ListOffsetsPartition& part : topic.partitions) {
      replication::OffsetResult r = options_.replicas->ListOffset(
          topic.topic, part.partition, part.timestamp, request.read_committed);
      ListOffsetsPartitionResult& pr = tr.partitions.emplace_back();
      pr.partition = part.partition;
      pr.error = r.error;
      pr.message = std::move(r.message);
      pr.offset = r.offset;
      pr.timestamp = r.timestamp;
      pr.leader_epoch = r.leader_epoch;
      pr.leader_hint = r.leader_hint;
    }
  }
  return response;
}

std::vector<EpochEndResult> RequestHandlers::OffsetForLeaderEpoch(
    const std::vector<EpochRequestPartition>& partitions) {
  std::vector<EpochEndResult> results;
  results.reserve(partitions.size());
  for (const EpochRequestPartition& p : partitions) {
    replication::EpochEndResult r = options_.replicas->EndOffsetForEpoch(
        p.topic, p.partition, p.current_leader_epoch, p.leader_epoch);
    EpochEndResult& e = results.emplace_back();
    e.topic = p.topic;
    e.partition = p.partition;
    e.error = r.error;
    e.message = std::move(r.message);
    e.leader_epoch = r.leader_epoch;
    e.end_offset = r.end_offset;
    e.log_end_offset = r.log_end_offset;
  }
  return results;
}

// --- FindCoordinator ---

void RequestHandlers::CreateInternalTopic(const char* topic, int32_t replication_factor,
                                          const std::function<void()>& create,
                                          std::atomic<int64_t>& last_ms,
                                          const metadata::MetadataImage& image,
                                          CoordinatorResult& r) {
  const int live =
      static_cast<int>(std::count_if(image.brokers().begin(), image.brokers().end(),
                                     [&](const auto& b) { return image.IsBrokerLive(b.first); }));
  if (live < replication_factor) {
    const char* key = std::string_view(topic) == group::kOffsetsTopic
                          ? "offsets.topic.replication.factor"
                          : "transaction.state.log.replication.factor";
    r.message = absl::StrCat(topic, " needs ", replication_factor, " live brokers (", key, "); ",
                             live, " are registered");
    return;
  }
  r.message = absl::StrCat(topic, " is being created");
  const int64_t now = options_.clock->NowMs();
  int64_t last = last_ms.load();
  if (create && now - last >= 1000 && last_ms.compare_exchange_strong(last, now)) create();
}

std::vector<CoordinatorResult> RequestHandlers::FindCoordinator(
    const FindCoordinatorRequest& request, const std::string& listener) {
  std::shared_ptr<const metadata::MetadataImage> image = options_.image();
  const bool transaction = request.key_type == 1;
  const char* topic_name = transaction ? txn::kTransactionStateTopic : group::kOffsetsTopic;
  const metadata::TopicInfo* topic = image->FindTopic(topic_name);
  std::vector<CoordinatorResult> results;
  for (const std::string& key : request.keys) {
    CoordinatorResult& r = results.emplace_back();
    r.key = key;
    if (request.key_type != 0 && request.key_type != 1) {
      r.error = ErrorCode::kInvalidRequest;
      r.message = absl::StrCat("Coordinator key type ", request.key_type,
                               " is not supported (0: group, 1: transaction)");
      continue;
    }
    r.error = ErrorCode::kCoordinatorNotAvailable;
    if (topic == nullptr) {
      if (transaction) {
        CreateInternalTopic(topic_name, options_.transaction_state_replication_factor,
                            options_.create_transaction_state_topic,
                            last_transaction_state_request_ms_, *image, r);
      } else {
        CreateInternalTopic(topic_name, options_.offsets_topic_replication_factor,
                            options_.create_offsets_topic, last_offsets_topic_request_ms_, *image,
                            r);
      }
      continue;
    }
    // The topic's own partition count, as the coordinators place keys by
    // it (whatever the num.partitions settings say now). Kafka hashes
    // groups and transactional ids alike.
    const int32_t p =
        group::OffsetsPartitionFor(key, static_cast<int32_t>(topic->partitions.size()));
    auto part = topic->partitions.find(p);
    if (part == topic->partitions.end() || part->second.leader < 0) {
      r.message = absl::StrCat("Partition ", p, " of ", topic_name, " has no leader");
      continue;
    }
    auto broker = image->brokers().find(part->second.leader);
    const metadata::Endpoint* ep =
        broker == image->brokers().end() ? nullptr : broker->second.endpoint(listener);
    if (ep == nullptr) {
      r.message = absl::StrCat("The coordinator, broker ", part->second.leader, ", has no ",
                               listener, " listener");
      continue;
    }
    r.error = ErrorCode::kNone;
    r.node_id = part->second.leader;
    r.host = ep->host;
    r.port = ep->port;
  }
  return results;
}

// --- Metadata ---

// The controller a client on `listener` is told of: the Raft leader when it
// is an unfenced broker reachable there, otherwise the lowest such broker
// (clients send "controller" requests to it, and any broker forwards them,
// as Kafka's KRaft brokers answer), -1 when there is none. Never a node the
// answer's broker list leaves out.
namespace {
int32_t ReachableController(const metadata::MetadataImage& image, int32_t leader,
                            const std::string& listener) {
  auto reachable = [&](const metadata::BrokerRegistration& b) {
    return !b.fenced && b.endpoint(listener) != nullptr;
  };
  if (auto it = image.brokers().find(leader);
      it != image.brokers().end() && reachable(it->second)) {
    return leader;
  }
  for (const auto& [id, b] : image.brokers()) {
    if (reachable(b)) return id;
  }
  return -1;
}
}  // namespace

MetadataResponse RequestHandlers::Metadata(const MetadataRequest& request,
                                           const std::string& listener) {
  std::shared_ptr<const metadata::MetadataImage> image = options_.image();
  MetadataResponse response;
  response.cluster_id = image->cluster_id();
  response.controller_id = ReachableController(*image, options_.controller_id(), listener);
  for (const auto& [id, b] : image->brokers()) {
    const metadata::Endpoint* ep = b.endpoint(listener);
    if (ep == nullptr) continue;
    response.brokers.push_back(BrokerMetadata{id, ep->host, ep->port, b.rack, b.fenced});
  }
  auto add_topic = [&](const metadata::TopicInfo& t) {
    TopicMetadata& tm = response.topics.emplace_back();
    tm.name = t.name;
    tm.topic_id = t.topic_id;
    tm.internal = IsInternal(t.name);
    for (const auto& [pid, p] : t.partitions) {
      PartitionMetadata& pm = tm.partitions.emplace_back();
      pm.partition = pid;
      pm.leader = p.leader;
      pm.leader_epoch = p.leader_epoch;
      for (int32_t r : p.replicas) {
        pm.replicas.push_back(r);
        if (!image->IsBrokerLive(r)) pm.offline_replicas.push_back(r);
      }
      pm.isr.assign(p.isr.begin(), p.isr.end());
      if (p.leader < 0) {
        pm.error = ErrorCode::kLeaderNotAvailable;
      } else if (const metadata::BrokerRegistration* leader = image->broker(p.leader);
                 leader != nullptr && leader->endpoint(listener) == nullptr) {
        // A client on this listener could not reach the leader (Kafka's
        // KRaftMetadataCache: no leader id, LEADER_NOT_AVAILABLE or, from
        // Metadata v6, LISTENER_NOT_FOUND).
        pm.error = ErrorCode::kLeaderNotAvailable;
        pm.leader_listener_missing = true;
        pm.leader = -1;
      }
    }
  };
  if (!request.topics.has_value()) {
    for (const auto& [name, t] : image->topics()) add_topic(t);
    return response;
  }
  std::vector<std::string> to_create;
  // Each name answered once, in the order first named (Kafka answers a set):
  // a request repeating a big topic's name must not multiply the answer.
  std::set<std::string_view> answered;
  for (const std::string& name : *request.topics) {
    if (!answered.insert(name).second) continue;
    if (const metadata::TopicInfo* t = image->FindTopic(name)) {
      add_topic(*t);
      continue;
    }
    TopicMetadata& tm = response.topics.emplace_back();
    tm.name = name;
    tm.internal = IsInternal(name);
    tm.error = ErrorCode::kUnknownTopicOrPartition;
    tm.message = absl::StrCat("Topic ", name, " does not exist");
    if (!request.allow_auto_topic_creation) continue;
    if (absl::Status valid = metadata::Controller::ValidateTopicName(name); !valid.ok()) {
      tm.error = ErrorCode::kInvalidTopicException;
      tm.message = std::string(valid.message());
      continue;
    }
    if (tm.internal || !options_.auto_create_topics_enable || !options_.create_topics) continue;
    tm.error = ErrorCode::kLeaderNotAvailable;
    tm.message = absl::StrCat("Topic ", name, " is being created");
    to_create.push_back(name);
  }
  if (!to_create.empty()) AutoCreateTopics(to_create);
  return response;
}

void RequestHandlers::AutoCreateTopics(const std::vector<std::string>& names) {
  constexpr int64_t kRetryMs = 1000;
  const int64_t now = options_.clock->NowMs();
  metadata::CreateTopicsRequest create;
  {
    absl::MutexLock l(&auto_create_mu_);
    // Forget the asks old enough to be made again (the map stays small).
    for (auto it = auto_create_requested_ms_.begin(); it != auto_create_requested_ms_.end();) {
      it = now - it->second >= kRetryMs ? auto_create_requested_ms_.erase(it) : std::next(it);
    }
    for (const std::string& name : names) {
      if (!auto_create_requested_ms_.emplace(name, now).second) continue;
      create.topics.push_back(metadata::NewTopic{
          .name = name,
          .num_partitions = options_.num_partitions,
          .replication_factor = options_.default_replication_factor,
          .configs = {},
          .assignments = {},
      });
    }
  }
  if (create.topics.empty()) return;
  LOG(INFO) << "Metadata request: creating " << create.topics.size()
            << " unknown topic(s), the first " << create.topics.front().name
            << " (auto.create.topics.enable)";
  options_.create_topics(std::move(create));
}

// --- Admin reads ---

std::vector<std::string> RequestHandlers::ListTopics(bool include_internal) {
  std::vector<std::string> names;
  for (const auto& [name, t] : options_.image()->topics()) {
    if (include_internal || !IsInternal(name)) names.push_back(name);
  }
  return names;
}

std::vector<TopicDescription> RequestHandlers::DescribeTopics(
    const DescribeTopicsRequest& request) {
  std::shared_ptr<const metadata::MetadataImage> image = options_.image();
  std::vector<TopicDescription> out;
  auto describe = [&](const metadata::TopicInfo& t) {
    TopicDescription& d = out.emplace_back();
    d.name = t.name;
    d.topic_id = t.topic_id;
    d.internal = IsInternal(t.name);
    for (const auto& [pid, p] : t.partitions) {
      PartitionDescription& pd = d.partitions.emplace_back();
      pd.partition = pid;
      pd.leader = p.leader;
      pd.leader_epoch = p.leader_epoch;
      pd.replicas.assign(p.replicas.begin(), p.replicas.end());
      for (int32_t r : p.replicas) pd.replica_states.push_back({r, image->StateOfReplica(p, r)});
      pd.isr.assign(p.isr.begin(), p.isr.end());
      pd.state = image->StateOf(p);
      pd.adding_replicas = p.adding_replicas;
      pd.removing_replicas = p.removing_replicas;
    }
    // This broker's defaults: its dynamic configs, the cluster-wide ones,
    // then its static log.* settings.
    for (const auto& [key, e] : storage::EffectiveTopicConfigs(
             metadata::BrokerLogDefaults(options_.broker_log_overrides, *image, options_.node_id),
             t.configs)) {
      d.configs.push_back(ConfigEntry{key, e.value, e.is_default});
    }
  };
  if (request.names.empty()) {
    for (const auto& [name, t] : image->topics()) {
      if (request.include_internal || !IsInternal(name)) describe(t);
    }
  } else {
    for (const std::string& name : request.names) {
      if (const metadata::TopicInfo* t = image->FindTopic(name)) {
        describe(*t);
      } else {
        TopicDescription& d = out.emplace_back();
        d.name = name;
        d.error = ErrorCode::kUnknownTopicOrPartition;
        d.message = absl::StrCat("Topic '", name, "' does not exist");
      }
    }
  }
  return out;
}

DescribeClusterResponse RequestHandlers::DescribeCluster(
    const std::vector<std::string>& listeners) {
  std::shared_ptr<const metadata::MetadataImage> image = options_.image();
  DescribeClusterResponse response;
  response.cluster_id = image->cluster_id();
  response.controller_id =
      listeners.empty() ? options_.controller_id()
                        : ReachableController(*image, options_.controller_id(), listeners[0]);
  for (const auto& [id, b] : image->brokers()) {
    BrokerDescription& d = response.brokers.emplace_back();
    d.id = id;
    d.rack = b.rack;
    d.fenced = b.fenced;
    d.broker_epoch = b.epoch;
    d.incarnation_id = b.incarnation_id;
    for (const std::string& listener : listeners) {
      if (const metadata::Endpoint* ep = b.endpoint(listener)) {
        d.endpoints.emplace_back(ep->host, ep->port);
      }
    }
  }
  return response;
}

DescribeLogDirsResponse RequestHandlers::DescribeLogDirs(const DescribeLogDirsRequest& request) {
  std::optional<std::set<TopicPartition>> wanted;
  if (request.topics.has_value()) {
    wanted.emplace();
    for (const DescribeLogDirsTopic& t : *request.topics) {
      for (int32_t p : t.partitions) wanted->insert(TopicPartition{t.topic, PartitionId(p)});
    }
  }
  // The replicas this broker serves: a log the manager holds that no
  // replica is made of (damaged, or a stray not yet swept) is not shown.
  std::map<TopicPartition, replication::LocalReplicaStats> served;
  for (replication::LocalReplicaStats& r : options_.replicas->LocalReplicas()) {
    TopicPartition tp{r.topic, PartitionId(r.partition)};
    served.emplace(std::move(tp), std::move(r));
  }
  DescribeLogDirsResponse response;
  for (const storage::LogManager::LogDirInfo& dir : options_.replicas->LogDirs()) {
    LogDirDescription& d = response.results.emplace_back();
    d.log_dir = dir.path;
    if (dir.offline_why.has_value()) {
      d.error = ErrorCode::kKafkaStorageError;
      d.message = absl::StrCat("Log directory ", dir.path, " is offline: ", *dir.offline_why);
      continue;
    }
    // dir.partitions is sorted: each topic's partitions come together.
    for (const TopicPartition& tp : dir.partitions) {
      if (wanted.has_value() && !wanted->contains(tp)) continue;
      auto it = served.find(tp);
      if (it == served.end()) continue;
      const replication::LocalReplicaStats& r = it->second;
      if (d.topics.empty() || d.topics.back().topic != tp.topic) {
        d.topics.emplace_back().topic = tp.topic;
      }
      // Our departure from Kafka, on purpose: a follower's lag is the
      // leader's high watermark as the follower knows it (from its last
      // fetch answer) minus its log end, never below 0. Kafka's
      // getLogEndOffsetLag takes the replica's own high watermark, which
      // on a follower never passes its log end, so it reports 0 for every
      // replica but an AlterReplicaLogDirs copy; this shows how far behind
      // a copy is. A leader's is 0 in both.
      const int64_t known_hw = r.is_leader ? r.high_watermark : r.leader_high_watermark;
      d.topics.back().partitions.push_back(LogDirPartition{
          .partition = r.partition,
          .size_bytes = r.size_bytes,
          .offset_lag = known_hw < 0 ? 0 : std::max<int64_t>(known_hw - r.log_end_offset, 0),
          .is_future = false,
      });
    }
  }
  return response;
}

}  // namespace strata::request
