#include "broker/server/isr_change_sender.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/server/controller_channel.h"
#include "broker/server/wire_errors.h"

namespace strata::server {

IsrChangeSender::IsrChangeSender(IsrChangeSenderOptions options, ControllerChannel* controller)
    : options_(std::move(options)), controller_(controller) {}

IsrChangeSender::~IsrChangeSender() { Stop(); }

void IsrChangeSender::Enqueue(replication::IsrChange change) {
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(change));
}

void IsrChangeSender::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void IsrChangeSender::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void IsrChangeSender::Loop() {
  while (true) {
    std::vector<replication::IsrChange> changes;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      while (!queue_.empty() && changes.size() < kMaxChangesPerRequest) {
        changes.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const std::vector<replication::IsrChangeResult> results =
        Send(changes, options_.broker_epoch());
    for (size_t i = 0; i < changes.size(); ++i) options_.on_result(changes[i], results[i]);
  }
}

std::vector<replication::IsrChangeResult> IsrChangeSender::Send(
    const std::vector<replication::IsrChange>& changes, int64_t broker_epoch) {
  std::vector<replication::IsrChangeResult> results(changes.size());
  auto fail_all = [&results](ErrorCode code, const std::string& why) {
    for (replication::IsrChangeResult& result : results) {
      result.error = code;
      result.message = why;
    }
    return results;
  };
  internal::Controller::Stub* stub = controller_->controller();
  if (stub == nullptr) return fail_all(ErrorCode::kNotController, "no controller is known");

  internal::AlterPartitionBatchRequest request;
  for (const replication::IsrChange& change : changes) {
    internal::AlterPartitionRequest* r = request.add_partitions();
    r->set_broker_id(options_.broker_id);
    r->set_broker_epoch(broker_epoch);
    r->set_topic_id(change.topic_id);
    r->set_partition(change.tp.partition.value());
    r->set_leader_epoch(change.leader_epoch);
    r->set_partition_epoch(change.partition_epoch);
    for (int32_t id : change.new_isr) r->add_new_isr(id);
  }
  grpc::ClientContext ctx;
  // gRPC deadlines are on its own (system) clock.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  internal::AlterPartitionBatchResponse resp;
  grpc::Status s = stub->AlterPartition(&ctx, request, &resp);
  if (!s.ok()) return fail_all(ErrorCode::kNetworkException, s.error_message());
  if (resp.partitions_size() != static_cast<int>(changes.size())) {
    return fail_all(ErrorCode::kUnknownServerError,
                    absl::StrCat("the controller answered ", resp.partitions_size(), " of ",
                                 changes.size(), " ISR changes"));
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const internal::AlterPartitionResponse& one = resp.partitions(static_cast<int>(i));
    replication::IsrChangeResult& result = results[i];
    result.error = FromProto(one.error());
    result.message = one.error_message();
    result.leader_epoch = one.leader_epoch();
    result.partition_epoch = one.partition_epoch();
    result.isr.assign(one.isr().begin(), one.isr().end());
  }
  return results;
}

}  // namespace strata::server
