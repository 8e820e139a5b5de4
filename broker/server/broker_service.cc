#include "broker/server/broker_service.h"

#include <cstdint>
#include <deque>

#include "broker/server/admin_codec.h"
#include "broker/server/wire_errors.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace strata::server {
namespace {

record::Record FromProto(const v1::Record& p) {
  record::Record r;
  if (p.has_key()) r.key = p.key();
  if (p.has_value()) r.value = p.value();
  for (const v1::RecordHeader& h : p.headers()) r.headers.push_back({h.key(), h.value()});
  r.timestamp = p.timestamp_ms();
  return r;
}

void ToProto(const record::Record& r, v1::Record* p) {
  if (r.key) p->set_key(*r.key);
  if (r.value) p->set_value(*r.value);
  for (const record::RecordHeader& h : r.headers) {
    v1::RecordHeader* ph = p->add_headers();
    ph->set_key(h.key);
    if (h.value) ph->set_value(*h.value);
  }
  p->set_timestamp_ms(r.timestamp);
  p->set_offset(r.offset.value());
}

// Takes the records out of `request`: a unary call's (const) request is
// copied in, a stream's read buffer moved in (one copy of every produced
// byte fewer).
request::ProduceRequest ProduceFromProto(v1::ProduceRequest request) {
  request::ProduceRequest req;
  req.acks = request.acks();
  req.timeout_ms = request.timeout_ms();
  req.topics.reserve(static_cast<size_t>(request.topics_size()));
  for (v1::TopicProduceData& topic : *request.mutable_topics()) {
    request::ProduceTopic& t = req.topics.emplace_back();
    t.topic = topic.topic();
    t.partitions.reserve(static_cast<size_t>(topic.partitions_size()));
    for (v1::PartitionProduceData& part : *topic.mutable_partitions()) {
      request::ProducePartition& p = t.partitions.emplace_back();
      p.partition = part.partition();
      p.records = std::move(*part.mutable_records());
      for (const v1::Record& r : part.plain_records()) p.plain_records.push_back(FromProto(r));
    }
  }
  return req;
}

void ProduceToProto(const request::ProduceResponse& r, v1::ProduceResponse* response) {
  response->set_throttle_time_ms(r.throttle_time_ms);
  for (const request::ProduceTopicResult& t : r.topics) {
    v1::TopicProduceResponse* tr = response->add_topics();
    tr->set_topic(t.topic);
    for (const request::ProducePartitionResult& p : t.partitions) {
      v1::PartitionProduceResponse* pr = tr->add_partitions();
      pr->set_partition(p.partition);
      pr->set_error(server::ToProto(p.error));
      pr->set_error_message(p.message);
      pr->set_base_offset(p.base_offset);
      pr->set_log_append_time_ms(p.log_append_time_ms);
      pr->set_log_start_offset(p.log_start_offset);
      pr->set_leader_hint(p.leader_hint);
    }
  }
}

}  // namespace

BrokerService::BrokerService(request::RequestHandlers* handlers, ServiceSecurity security,
                             metrics::RequestMetrics* produce_metrics)
    : handlers_(handlers), security_(std::move(security)), produce_metrics_(produce_metrics) {}

grpc::ServerUnaryReactor* BrokerService::Metadata(grpc::CallbackServerContext* ctx,
                                                  const v1::MetadataRequest* request,
                                                  v1::MetadataResponse* response) {
  request::MetadataRequest req;
  // An empty list is every topic on this API (see broker.proto).
  if (!request->topics().empty()) {
    req.topics.emplace(request->topics().begin(), request->topics().end());
  }
  req.allow_auto_topic_creation = request->allow_auto_topic_creation();
  request::MetadataResponse r = security_.Authz(ctx).Metadata(*handlers_, req, security_.listener);
  response->set_cluster_id(r.cluster_id);
  response->set_controller_id(r.controller_id);
  for (const request::BrokerMetadata& b : r.brokers) {
    v1::BrokerInfo* info = response->add_brokers();
    info->set_id(b.id);
    info->set_host(b.host);
    info->set_port(b.port);
    info->set_rack(b.rack);
    info->set_fenced(b.fenced);
  }
  for (const request::TopicMetadata& t : r.topics) {
    v1::TopicMetadata* tm = response->add_topics();
    tm->set_name(t.name);
    if (t.error != ErrorCode::kNone) {
      tm->set_error(ToProto(t.error));
      tm->set_error_message(t.message);
      continue;
    }
    tm->set_topic_id(t.topic_id);
    tm->set_internal(t.internal);
    for (const request::PartitionMetadata& p : t.partitions) {
      v1::PartitionMetadata* pm = tm->add_partitions();
      pm->set_partition(p.partition);
      pm->set_leader(p.leader);
      pm->set_leader_epoch(p.leader_epoch);
      for (int32_t id : p.replicas) pm->add_replicas(id);
      for (int32_t id : p.offline_replicas) pm->add_offline_replicas(id);
      for (int32_t id : p.isr) pm->add_isr(id);
      if (p.error != ErrorCode::kNone) pm->set_error(ToProto(p.error));
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::Produce(grpc::CallbackServerContext* ctx,
                                                 const v1::ProduceRequest* request,
                                                 v1::ProduceResponse* response) {
  request::ProduceRequest req = ProduceFromProto(*request);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const double bytes = request::ProduceQuotaBytes(req);
  security_.Authz(ctx).Produce(
      *handlers_, std::move(req),
      request::Throttled<request::ProduceResponse>(
          security_.throttler, security::QuotaType::kProduce, security_.QuotaSession(ctx),
          [bytes](const request::ProduceResponse&) { return bytes; },
          [reactor, response](request::ProduceResponse r) {
            ProduceToProto(r, response);
            reactor->Finish(grpc::Status::OK);
          }));
  return reactor;
}

// One ProduceStream call. Each request read is handed to the request layer
// at once, on the thread that read it, and the next read starts only after
// that returns, so the stream's requests are appended in the order they
// came. Their answers complete in any order (acks=all waits for the ISR, a
// quota holds one back) and are written in request order, one write at a
// time. At most kMaxUnanswered requests wait for their answers; reading
// pauses beyond that. The call finishes once the client stopped writing (or
// cancelled) and every request it sent has come back from the request layer:
// no handler callback ever outlives the reactor.
class BrokerService::ProduceStreamReactor final
    : public grpc::ServerBidiReactor<v1::ProduceRequest, v1::ProduceResponse> {
 public:
  ProduceStreamReactor(BrokerService* service, grpc::CallbackServerContext* ctx)
      : service_(service), ctx_(ctx) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    Answer* answer = nullptr;
    {
      mu_.Lock();
      if (!ok || broken_) {
        // Nothing more comes (or is wanted): answer what was read.
        reads_done_ = true;
        const Step step = NextLocked();
        mu_.Unlock();
        Act(step);
        return;
      }
      answer = &answers_.emplace_back();
      answer->started = absl::Now();
      ++outstanding_;
      mu_.Unlock();
    }
    request::ProduceRequest req = ProduceFromProto(std::move(request_));
    request_.Clear();
    const double bytes = request::ProduceQuotaBytes(req);
    const ServiceSecurity& security = service_->security_;
    security.Authz(ctx_).Produce(
        *service_->handlers_, std::move(req),
        request::Throttled<request::ProduceResponse>(
            security.throttler, security::QuotaType::kProduce, security.QuotaSession(ctx_),
            [bytes](const request::ProduceResponse&) { return bytes; },
            [this, answer](request::ProduceResponse r) { Complete(answer, r); }));
    // The next read starts only now: the stream's requests are appended in
    // order. Until it completes, `outstanding_` or this read keeps the
    // call from finishing.
    bool read = false;
    {
      absl::MutexLock lock(&mu_);
      if (broken_ || finished_) {
        // No more reads: the call is ending (the answer may have finished
        // it already).
      } else if (answers_.size() >= kMaxUnanswered) {
        read_paused_ = true;
      } else {
        read = true;
      }
    }
    if (read) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    mu_.Lock();
    writing_ = false;
    answers_.pop_front();
    if (!ok) broken_ = true;  // the client went away: nothing more is sent
    bool read = false;
    if (read_paused_ && !broken_ && answers_.size() < kMaxUnanswered) {
      read_paused_ = false;
      read = true;
    }
    const Step step = NextLocked();
    mu_.Unlock();
    if (read) StartRead(&request_);
    Act(step);
  }

  void OnCancel() override {
    mu_.Lock();
    broken_ = true;
    const Step step = NextLocked();
    mu_.Unlock();
    Act(step);
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kMaxUnanswered = 64;
  struct Answer {
    v1::ProduceResponse response;
    bool ready = false;
    bool failed = false;
    absl::Time started;
  };
  // What to start once mu_ is released (gRPC operations are not started
  // under it: Finish may run OnDone, which deletes the reactor).
  struct Step {
    const v1::ProduceResponse* write = nullptr;
    bool finish = false;
  };

  void Complete(Answer* answer, const request::ProduceResponse& r) {
    bool error = false;
    for (const request::ProduceTopicResult& t : r.topics) {
      for (const request::ProducePartitionResult& p : t.partitions) {
        error = error || p.error != ErrorCode::kNone;
      }
    }
    mu_.Lock();
    ProduceToProto(r, &answer->response);
    answer->ready = true;
    answer->failed = error;
    --outstanding_;
    const Step step = NextLocked();
    mu_.Unlock();
    Act(step);
  }

  // The oldest answer to write, if it is complete and no write is under
  // way; or whether the call is over: the client stopped writing (or went
  // away) and every request came back from the request layer.
  Step NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Step step;
    if (finished_ || writing_) return step;
    if (!broken_ && !answers_.empty() && answers_.front().ready) {
      Answer& front = answers_.front();
      if (service_->produce_metrics_ != nullptr) {
        service_->produce_metrics_->Observe(absl::ToDoubleSeconds(absl::Now() - front.started),
                                            front.failed);
      }
      writing_ = true;
      step.write = &front.response;
      return step;
    }
    if (outstanding_ > 0) return step;
    if (!broken_ && !(reads_done_ && answers_.empty())) return step;
    finished_ = true;
    step.finish = true;
    finish_status_ = broken_ ? grpc::Status::CANCELLED : grpc::Status::OK;
    return step;
  }

  void Act(const Step& step) {
    if (step.write != nullptr) StartWrite(step.write);
    if (step.finish) Finish(finish_status_);  // last: OnDone may follow at once
  }

  BrokerService* const service_;
  grpc::CallbackServerContext* const ctx_;
  v1::ProduceRequest request_;  // the read in progress
  grpc::Status finish_status_;
  absl::Mutex mu_;
  // The requests handed to the request layer and not yet written back, in
  // order (a deque: the handlers keep pointers to their entries).
  std::deque<Answer> answers_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;  // handler callbacks to come
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerBidiReactor<v1::ProduceRequest, v1::ProduceResponse>* BrokerService::ProduceStream(
    grpc::CallbackServerContext* ctx) {
  return new ProduceStreamReactor(this, ctx);
}

grpc::ServerUnaryReactor* BrokerService::Fetch(grpc::CallbackServerContext* ctx,
                                               const v1::FetchRequest* request,
                                               v1::FetchResponse* response) {
  request::FetchRequest req;
  // Clients read as consumers, whatever replica id they claim: followers
  // fetch through the Replica service on the peer listener.
  req.from_follower = false;
  req.max_wait_ms = request->max_wait_ms();
  req.min_bytes = request->min_bytes();
  req.max_bytes = request->max_bytes();
  req.decode_records = request->decode_records();
  req.read_committed = request->isolation_level() == v1::READ_COMMITTED;
  for (const v1::FetchTopic& topic : request->topics()) {
    request::FetchTopic& t = req.topics.emplace_back();
    t.topic = topic.topic();
    for (const v1::FetchPartition& part : topic.partitions()) {
      t.partitions.push_back(request::FetchPartition{part.partition(), part.fetch_offset(),
                                                     part.partition_max_bytes(),
                                                     part.current_leader_epoch(), -1});
    }
  }
  auto* reactor = new FetchCallReactor();
  security_.Authz(ctx).Fetch(
      *handlers_, std::move(req),
      request::Throttled<request::FetchResponse>(
          security_.throttler, security::QuotaType::kFetch, security_.QuotaSession(ctx),
          [](const request::FetchResponse& r) {
            double bytes = 0;
            for (const request::FetchTopicResult& t : r.topics) {
              for (const request::FetchPartitionResult& p : t.partitions) bytes += p.records.size();
            }
            return bytes;
          },
          [reactor, response](request::FetchResponse r) {
            response->set_throttle_time_ms(r.throttle_time_ms);
            for (request::FetchTopicResult& t : r.topics) {
              v1::FetchTopicResponse* tr = response->add_topics();
              tr->set_topic(t.topic);
              for (request::FetchPartitionResult& p : t.partitions) {
                v1::FetchPartitionResponse* pr = tr->add_partitions();
                pr->set_partition(p.partition);
                pr->set_error(ToProto(p.error));
                pr->set_error_message(p.message);
                pr->set_high_watermark(p.high_watermark);
                pr->set_last_stable_offset(p.last_stable_offset);
                pr->set_log_start_offset(p.log_start_offset);
                pr->set_leader_hint(p.leader_hint);
                for (const record::AbortedTransaction& txn : p.aborted_transactions) {
                  v1::AbortedTransaction* a = pr->add_aborted_transactions();
                  a->set_producer_id(txn.producer_id);
                  a->set_first_offset(txn.first_offset);
                }
                for (const record::Record& d : p.decoded_records)
                  ToProto(d, pr->add_decoded_records());
                pr->set_records(std::move(p.records));
              }
            }
            reactor->Finish(std::move(r.memory));
          }));
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::ListOffsets(grpc::CallbackServerContext* ctx,
                                                     const v1::ListOffsetsRequest* request,
                                                     v1::ListOffsetsResponse* response) {
  Encode(security_.Authz(ctx).ListOffsets(*handlers_, Decode(*request)), response);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::DeleteRecords(grpc::CallbackServerContext* ctx,
                                                       const v1::DeleteRecordsRequest* request,
                                                       v1::DeleteRecordsResponse* response) {
  request::DeleteRecordsRequest req;
  req.timeout_ms = request->timeout_ms();
  for (const v1::DeleteRecordsTopic& topic : request->topics()) {
    request::DeleteRecordsTopic& t = req.topics.emplace_back();
    t.topic = topic.topic();
    for (const v1::DeleteRecordsPartition& part : topic.partitions()) {
      t.partitions.push_back(request::DeleteRecordsPartition{part.partition(), part.offset()});
    }
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security_.Authz(ctx).DeleteRecords(
      *handlers_, std::move(req), [reactor, response](request::DeleteRecordsResponse r) {
        for (const request::DeleteRecordsTopicResult& t : r.topics) {
          v1::DeleteRecordsTopicResponse* tr = response->add_topics();
          tr->set_topic(t.topic);
          for (const request::DeleteRecordsPartitionResult& p : t.partitions) {
            v1::DeleteRecordsPartitionResponse* pr = tr->add_partitions();
            pr->set_partition(p.partition);
            pr->set_error(ToProto(p.error));
            pr->set_error_message(p.message);
            pr->set_low_watermark(p.low_watermark);
            pr->set_leader_hint(p.leader_hint);
          }
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::InitProducerId(grpc::CallbackServerContext* ctx,
                                                        const v1::InitProducerIdRequest* request,
                                                        v1::InitProducerIdResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (request->producer_epoch() < -1 || request->producer_epoch() > INT16_MAX) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "producer_epoch must be -1 or a 16-bit epoch"));
    return reactor;
  }
  request::InitProducerIdRequest req;
  if (!request->transactional_id().empty()) req.transactional_id = request->transactional_id();
  req.transaction_timeout_ms = request->transaction_timeout_ms();
  req.producer_id = request->producer_id();
  req.producer_epoch = static_cast<int16_t>(request->producer_epoch());
  security_.Authz(ctx).InitProducerId(*handlers_, req,
                                      [reactor, response](request::InitProducerIdResponse r) {
                                        response->set_error(ToProto(r.error));
                                        response->set_error_message(r.message);
                                        response->set_producer_id(r.producer_id);
                                        response->set_producer_epoch(r.producer_epoch);
                                        reactor->Finish(grpc::Status::OK);
                                      });
  return reactor;
}

}  // namespace strata::server
