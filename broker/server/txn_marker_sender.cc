#include "broker/server/txn_marker_sender.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/wire_errors.h"
#include "glog/logging.h"
#include "strata/internal/txn_marker.grpc.pb.h"

namespace strata::server {

// One Send: the answers gathered from every leader.
struct TxnMarkerSender::Round {
  txn::MarkerRequest request;
  std::function<void(txn::MarkerResults)> done;
  absl::Mutex mu;
  txn::MarkerResults results ABSL_GUARDED_BY(mu);
  int outstanding ABSL_GUARDED_BY(mu) = 0;

  void Add(const txn::TxnTopicPartition& tp, ErrorCode error) {
    absl::MutexLock l(&mu);
    results.emplace_back(tp, error);
  }
  // One leader's part is answered; the last one runs `done`.
  void Finish() {
    txn::MarkerResults out;
    {
      absl::MutexLock l(&mu);
      if (--outstanding > 0) return;
      out.swap(results);
    }
    done(std::move(out));
  }
};

// One WriteTxnMarkers call to a remote leader.
struct TxnMarkerSender::Call {
  std::unique_ptr<internal::TxnMarker::Stub> stub;
  grpc::ClientContext context;
  internal::WriteTxnMarkersRequest request;
  internal::WriteTxnMarkersResponse response;
};

TxnMarkerSender::TxnMarkerSender(TxnMarkerSenderOptions options) : options_(std::move(options)) {}

TxnMarkerSender::~TxnMarkerSender() { Stop(); }

void TxnMarkerSender::Stop() {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock l(&mu_);
    stopped_ = true;
    calls.assign(in_flight_.begin(), in_flight_.end());
  }
  // Cancelled outside the lock, which the calls' callbacks take. These
  // references go on this thread, and the node still holds the channels.
  for (const std::shared_ptr<Call>& call : calls) call->context.TryCancel();
  calls.clear();
  absl::MutexLock l(&mu_);
  const auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_.empty(); };
  mu_.Await(absl::Condition(&drained));
}

void TxnMarkerSender::Send(txn::MarkerRequest request,
                           std::function<void(txn::MarkerResults)> done) {
  auto round = std::make_shared<Round>();
  round->done = std::move(done);
  std::shared_ptr<const metadata::MetadataImage> image = options_.image();
  // Partitions by leader; -1 for those answered here.
  std::map<int32_t, std::vector<txn::TxnTopicPartition>> by_leader;
  for (const txn::TxnTopicPartition& tp : request.partitions) {
    const metadata::TopicInfo* topic = image ? image->FindTopic(tp.topic) : nullptr;
    auto part = topic ? topic->partitions.find(tp.partition) : decltype(topic->partitions.end())();
    if (topic == nullptr || part == topic->partitions.end()) {
      round->Add(tp, ErrorCode::kUnknownTopicOrPartition);
    } else if (part->second.leader < 0) {
      round->Add(tp, ErrorCode::kLeaderNotAvailable);
    } else {
      by_leader[part->second.leader].push_back(tp);
    }
  }
  round->request = std::move(request);
  {
    absl::MutexLock l(&round->mu);
    // One for each leader, and one for this loop, so `done` cannot run
    // before every leader was asked.
    round->outstanding = static_cast<int>(by_leader.size()) + 1;
  }
  bool stopped = false;
  {
    absl::MutexLock l(&mu_);
    stopped = stopped_;
  }
  for (auto& [leader, partitions] : by_leader) {
    if (stopped) {
      for (const txn::TxnTopicPartition& tp : partitions) {
        round->Add(tp, ErrorCode::kNetworkException);
      }
      round->Finish();
      continue;
    }
    if (leader != options_.broker_id) {
      SendRemote(round, leader, std::move(partitions));
      continue;
    }
    request::WriteTxnMarkersRequest local;
    request::TxnMarkerEntry& m = local.markers.emplace_back();
    m.producer_id = round->request.producer_id;
    m.producer_epoch = round->request.producer_epoch;
    m.committed = round->request.result == txn::TransactionResult::kCommit;
    m.coordinator_epoch = round->request.coordinator_epoch;
    for (txn::TxnTopicPartition& tp : partitions) {
      m.partitions.push_back({std::move(tp.topic), tp.partition});
    }
    local.timeout_ms = options_.request_timeout_ms;
    options_.local->WriteTxnMarkers(std::move(local), [round](request::WriteTxnMarkersResponse r) {
      for (const request::TxnMarkerResult& p : r.markers.at(0)) {
        round->Add({p.topic, p.partition}, p.error);
      }
      round->Finish();
    });
  }
  round->Finish();
}

void TxnMarkerSender::SendRemote(std::shared_ptr<Round> round, int32_t leader,
                                 std::vector<txn::TxnTopicPartition> partitions) {
  auto fail = [&](ErrorCode error) {
    for (const txn::TxnTopicPartition& tp : partitions) round->Add(tp, error);
    round->Finish();
  };
  std::shared_ptr<grpc::Channel> channel = options_.channel(leader);
  if (channel == nullptr) return fail(ErrorCode::kBrokerNotAvailable);
  auto call = std::make_shared<Call>();
  call->stub = internal::TxnMarker::NewStub(channel);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(options_.request_timeout_ms + 5000));
  internal::WritableTxnMarker* m = call->request.add_markers();
  m->set_producer_id(round->request.producer_id);
  m->set_producer_epoch(round->request.producer_epoch);
  m->set_committed(round->request.result == txn::TransactionResult::kCommit);
  m->set_coordinator_epoch(round->request.coordinator_epoch);
  for (const txn::TxnTopicPartition& tp : partitions) {
    internal::TxnMarkerPartition* p = m->add_partitions();
    p->set_topic(tp.topic);
    p->set_partition(tp.partition);
  }
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return fail(ErrorCode::kNetworkException);
    in_flight_.insert(call);
  }
  call->stub->async()->WriteTxnMarkers(
      &call->context, &call->request, &call->response,
      [this, call, round, leader, partitions = std::move(partitions)](grpc::Status status) mutable {
        std::set<txn::TxnTopicPartition> answered;
        if (status.ok()) {
          for (const internal::WritableTxnMarkerResult& r : call->response.markers()) {
            for (const internal::TxnMarkerPartitionResult& p : r.partitions()) {
              txn::TxnTopicPartition tp{p.topic(), p.partition()};
              if (answered.insert(tp).second) round->Add(tp, FromProto(p.error()));
            }
          }
        } else {
          VLOG(1) << "WriteTxnMarkers to broker " << leader << " failed: " << status.error_code()
                  << " " << status.error_message();
        }
        for (const txn::TxnTopicPartition& tp : partitions) {
          if (!answered.contains(tp)) round->Add(tp, ErrorCode::kNetworkException);
        }
        round->Finish();
        // Last, and under the lock: Stop() may return, and the node drop its
        // channels, once the call is out; by then nothing here may hold the
        // channel (the stub and the context do), or its last reference would
        // go on gRPC's own thread.
        absl::MutexLock l(&mu_);
        in_flight_.erase(call);
        call.reset();
      });
}

}  // namespace strata::server
