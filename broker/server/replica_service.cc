#include "broker/server/replica_service.h"

#include "broker/server/fetch_budget.h"

namespace strata::server {

ReplicaService::ReplicaService(replication::ReplicaManager* replicas, Purgatory* purgatory,
                               FetchLimits fetch)
    : replicas_(replicas), purgatory_(purgatory), fetch_(fetch) {}

size_t ReplicaService::ReadAll(const internal::ReplicaFetchRequest& request,
                               internal::ReplicaFetchResponse* response, FetchReactor* reactor,
                               bool* any_error) {
  response->Clear();
  *any_error = false;
  size_t total = 0;
  const size_t max_bytes =
      reactor->Reserve(RequestFetchBudget(request.max_bytes(), 10485760, fetch_.max_bytes));
  FetchedPartitions fetched;
  for (const internal::ReplicaFetchPartition& p : request.partitions()) {
    internal::ReplicaFetchPartitionResponse* pr = response->add_partitions();
    pr->set_topic(p.topic());
    pr->set_partition(p.partition());
    if (std::string dup = fetched.Duplicate(p.topic(), p.partition()); !dup.empty()) {
      pr->set_error(v1::INVALID_REQUEST);
      pr->set_error_message(std::move(dup));
      *any_error = true;
      continue;
    }
    const int32_t budget = PartitionFetchBudget(total, max_bytes, p.partition_max_bytes());
    replication::FetchResult r =
        replicas_->ReadForFollower(request.replica_id(), p.topic(), p.partition(),
                                   p.fetch_offset(), p.current_leader_epoch(), budget);
    pr->set_error(r.error);
    pr->set_error_message(r.message);
    pr->set_high_watermark(r.high_watermark);
    pr->set_log_start_offset(r.log_start_offset);
    pr->set_log_end_offset(r.log_end_offset);
    if (r.error != v1::NONE) *any_error = true;
    total += r.records.size();
    pr->set_records(std::move(r.records));
  }
  reactor->Keep(total);
  return total;
}

grpc::ServerUnaryReactor* ReplicaService::Fetch(grpc::CallbackServerContext* /*ctx*/,
                                                const internal::ReplicaFetchRequest* request,
                                                internal::ReplicaFetchResponse* response) {
  auto* reactor = new FetchReactor(fetch_.memory);
  bool any_error = false;
  const size_t bytes = ReadAll(*request, response, reactor, &any_error);
  // A follower waiting at the log end is caught up; reading again when data
  // arrives (or the wait ends) records that once more.
  purgatory_->CompleteFetch(
      reactor, bytes, any_error, request->min_bytes(), request->max_wait_ms(),
      [this, request] {
        for (const auto& p : request->partitions()) {
          if (replicas_->FollowerHasDataAt(p.topic(), p.partition(), p.fetch_offset())) {
            return true;
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

grpc::ServerUnaryReactor* ReplicaService::OffsetForLeaderEpoch(
    grpc::CallbackServerContext* ctx, const internal::OffsetForLeaderEpochRequest* request,
    internal::OffsetForLeaderEpochResponse* response) {
  for (const internal::EpochRequestPartition& p : request->partitions()) {
    replication::EpochEndResult r = replicas_->EndOffsetForEpoch(
        p.topic(), p.partition(), p.current_leader_epoch(), p.leader_epoch());
    internal::EpochEndOffset* e = response->add_partitions();
    e->set_topic(p.topic());
    e->set_partition(p.partition());
    e->set_error(r.error);
    e->set_error_message(r.message);
    e->set_leader_epoch(r.leader_epoch);
    e->set_end_offset(r.end_offset);
    e->set_log_end_offset(r.log_end_offset);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace strata::server
