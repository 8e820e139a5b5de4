#include "broker/server/replica_service.h"

#include "broker/server/admin_codec.h"
#include "broker/server/broker_service.h"
#include "broker/server/replica_fetch_wire.h"
#include "broker/server/wire_errors.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace strata::server {

ReplicaService::ReplicaService(request::RequestHandlers* handlers) : handlers_(handlers) {}

grpc::ServerUnaryReactor* ReplicaService::Fetch(grpc::CallbackServerContext* ctx,
                                                const grpc::ByteBuffer* request_bytes,
                                                grpc::ByteBuffer* response) {
  internal::ReplicaFetchRequest parsed;
  grpc::ByteBuffer bytes = *request_bytes;  // a reference; parsing clears it
  if (grpc::Status s =
          grpc::GenericDeserialize<grpc::ProtoBufferReader, internal::ReplicaFetchRequest>(&bytes,
                                                                                           &parsed);
      !s.ok()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "The replica fetch request does not parse"));
    return reactor;
  }
  const internal::ReplicaFetchRequest* request = &parsed;
  request::FetchRequest req;
  req.from_follower = true;
  req.replica_id = request->replica_id();
  req.max_wait_ms = request->max_wait_ms();
  req.min_bytes = request->min_bytes();
  req.max_bytes = request->max_bytes();
  req.session.open = request->open_session();
  req.session.id = request->session_id();
  req.session.epoch = request->session_epoch();
  for (const internal::ForgottenPartition& f : request->forgotten()) {
    req.session.forgotten.push_back(request::ForgottenPartition{f.topic(), f.partition()});
  }
  // The wire lists partitions flat; the handler takes them by topic, in the
  // order given (a topic named again after another starts a new group, so
  // the answer keeps the request's order).
  for (const internal::ReplicaFetchPartition& p : request->partitions()) {
    if (req.topics.empty() || req.topics.back().topic != p.topic()) {
      req.topics.emplace_back().topic = p.topic();
    }
    req.topics.back().partitions.push_back(
        request::FetchPartition{p.partition(), p.fetch_offset(), p.partition_max_bytes(),
                                p.current_leader_epoch(), p.log_start_offset()});
  }
  auto* reactor = new FetchCallReactor();
  handlers_->Fetch(std::move(req), [reactor, response](request::FetchResponse r) {
    ReplicaFetchResponseWriter writer;
    internal::ReplicaFetchPartitionResponse pr;
    for (request::FetchTopicResult& t : r.topics) {
      for (request::FetchPartitionResult& p : t.partitions) {
        pr.Clear();
        pr.set_topic(t.topic);
        pr.set_partition(p.partition);
        pr.set_error(ToProto(p.error));
        pr.set_error_message(p.message);
        pr.set_high_watermark(p.high_watermark);
        pr.set_log_start_offset(p.log_start_offset);
        pr.set_log_end_offset(p.log_end_offset);
        writer.Add(pr, std::move(p.records));
      }
    }
    internal::ReplicaFetchResponse rest;
    rest.set_session_id(r.session_id);
    rest.set_error(ToProto(r.error));
    rest.set_error_message(r.message);
    *response = writer.Finish(rest);
    reactor->Finish(std::move(r.memory));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ReplicaService::OffsetForLeaderEpoch(
    grpc::CallbackServerContext* ctx, const internal::OffsetForLeaderEpochRequest* request,
    internal::OffsetForLeaderEpochResponse* response) {
  std::vector<request::EpochRequestPartition> partitions;
  for (const internal::EpochRequestPartition& p : request->partitions()) {
    partitions.push_back(request::EpochRequestPartition{
        p.topic(), p.partition(), p.current_leader_epoch(), p.leader_epoch()});
  }
  for (const request::EpochEndResult& r : handlers_->OffsetForLeaderEpoch(partitions)) {
    internal::EpochEndOffset* e = response->add_partitions();
    e->set_topic(r.topic);
    e->set_partition(r.partition);
    e->set_error(ToProto(r.error));
    e->set_error_message(r.message);
    e->set_leader_epoch(r.leader_epoch);
    e->set_end_offset(r.end_offset);
    e->set_log_end_offset(r.log_end_offset);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ReplicaService::ListOffsets(grpc::CallbackServerContext* ctx,
                                                      const v1::ListOffsetsRequest* request,
                                                      v1::ListOffsetsResponse* response) {
  // Only nodes reach this listener (grpc_security's node gate).
  Encode(handlers_->ListOffsets(Decode(*request)), response);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace strata::server
