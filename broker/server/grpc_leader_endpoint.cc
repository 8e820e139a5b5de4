#include "broker/server/grpc_leader_endpoint.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "broker/server/wire_errors.h"
#include "strata/internal/replica.grpc.pb.h"

namespace strata::server {

namespace {

constexpr std::chrono::seconds kEpochTimeout(5);
// Beyond the long poll itself: the leader's read and the round trip.
constexpr std::chrono::seconds kFetchSlack(5);

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

}  // namespace

GrpcLeaderEndpoint::GrpcLeaderEndpoint(std::function<std::shared_ptr<grpc::Channel>()> channel)
    : channel_(std::move(channel)) {}

void GrpcLeaderEndpoint::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
  if (in_flight_ != nullptr) in_flight_->TryCancel();
}

template <typename Call>
absl::Status GrpcLeaderEndpoint::Track(grpc::ClientContext* ctx, Call call) {
  {
    absl::MutexLock l(&mu_);
    if (closed_) return absl::CancelledError("the replica fetcher is stopping");
    in_flight_ = ctx;
  }
  grpc::Status s = call();
  {
    absl::MutexLock l(&mu_);
    in_flight_ = nullptr;
  }
  if (s.ok()) return absl::OkStatus();
  // gRPC's and abseil's status codes share their numbers.
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<replication::FetchResponse> GrpcLeaderEndpoint::Fetch(
    const replication::FetchRequest& request) {
  std::shared_ptr<grpc::Channel> channel = channel_();
  if (channel == nullptr) return absl::UnavailableError("the leader's address is not known");
  internal::ReplicaFetchRequest wire;
  wire.set_replica_id(request.replica_id);
  wire.set_max_wait_ms(request.max_wait_ms);
  wire.set_min_bytes(request.min_bytes);
  wire.set_max_bytes(request.max_bytes);
  wire.set_open_session(request.session.open);
  wire.set_session_id(request.session.id);
  wire.set_session_epoch(request.session.epoch);
  for (const TopicPartition& tp : request.session.forgotten) {
    internal::ForgottenPartition* f = wire.add_forgotten();
    f->set_topic(tp.topic);
    f->set_partition(tp.partition.value());
  }
  for (const replication::FetchPartition& p : request.partitions) {
    internal::ReplicaFetchPartition* f = wire.add_partitions();
    f->set_topic(p.tp.topic);
    f->set_partition(p.tp.partition.value());
    f->set_fetch_offset(p.fetch_offset);
    f->set_log_start_offset(p.log_start_offset);
    f->set_current_leader_epoch(p.current_leader_epoch);
    f->set_partition_max_bytes(p.partition_max_bytes);
  }
  auto stub = internal::Replica::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(request.max_wait_ms) + kFetchSlack);
  internal::ReplicaFetchResponse resp;
  if (absl::Status s = Track(&ctx, [&] { return stub->Fetch(&ctx, wire, &resp); }); !s.ok()) {
    return s;
  }
  replication::FetchResponse out;
  out.session_id = resp.session_id();
  out.error = FromProto(resp.error());
  out.message = std::move(*resp.mutable_error_message());
  out.partitions.reserve(resp.partitions_size());
  for (internal::ReplicaFetchPartitionResponse& r : *resp.mutable_partitions()) {
    replication::FetchPartitionData d;
    d.tp = Tp(r.topic(), r.partition());
    d.result.error = FromProto(r.error());
    d.result.message = std::move(*r.mutable_error_message());
    d.result.high_watermark = r.high_watermark();
    d.result.log_start_offset = r.log_start_offset();
    d.result.log_end_offset = r.log_end_offset();
    d.result.records = std::move(*r.mutable_records());
    out.partitions.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<replication::OffsetForLeaderEpochResponse> GrpcLeaderEndpoint::OffsetForLeaderEpoch(
    const replication::OffsetForLeaderEpochRequest& request) {
  std::shared_ptr<grpc::Channel> channel = channel_();
  if (channel == nullptr) return absl::UnavailableError("the leader's address is not known");
  internal::OffsetForLeaderEpochRequest wire;
  wire.set_replica_id(request.replica_id);
  for (const replication::OffsetForLeaderPartition& p : request.partitions) {
    internal::EpochRequestPartition* e = wire.add_partitions();
    e->set_topic(p.tp.topic);
    e->set_partition(p.tp.partition.value());
    e->set_current_leader_epoch(p.current_leader_epoch);
    e->set_leader_epoch(p.leader_epoch);
  }
  auto stub = internal::Replica::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kEpochTimeout);
  internal::OffsetForLeaderEpochResponse resp;
  if (absl::Status s = Track(&ctx, [&] { return stub->OffsetForLeaderEpoch(&ctx, wire, &resp); });
      !s.ok()) {
    return s;
  }
  replication::OffsetForLeaderEpochResponse out;
  out.partitions.reserve(resp.partitions_size());
  for (internal::EpochEndOffset& e : *resp.mutable_partitions()) {
    replication::EpochEndOffset d;
    d.tp = Tp(e.topic(), e.partition());
    d.result.error = FromProto(e.error());
    d.result.message = std::move(*e.mutable_error_message());
    d.result.leader_epoch = e.leader_epoch();
    d.result.end_offset = e.end_offset();
    d.result.log_end_offset = e.log_end_offset();
    out.partitions.push_back(std::move(d));
  }
  return out;
}

}  // namespace strata::server
