#include "broker/server/quorum_controller.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/wire_errors.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

// How long a committed proposal may take before the request fails.
constexpr absl::Duration kCommitTimeout = absl::Seconds(10);

}  // namespace

QuorumController::QuorumController(metadata::ControllerOptions options, raft::RaftNode* raft,
                                   MetadataStateMachine* metadata, Clock* clock, int64_t tick_ms)
    : options_(std::move(options)),
      raft_(raft),
      metadata_(metadata),
      clock_(clock),
      tick_ms_(tick_ms) {}

QuorumController::~QuorumController() { Stop(); }

void QuorumController::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void QuorumController::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int32_t QuorumController::leader_id() const {
  raft::NodeId leader = raft_->status().leader;
  return leader == raft::kNoNode ? -1 : static_cast<int32_t>(leader.value());
}

std::string QuorumController::NotControllerMessage() const {
  const int32_t leader = leader_id();
  return leader < 0 ? std::string("no controller is elected yet; retry shortly")
                    : absl::StrCat("this node is not the controller; node ", leader, " is");
}

void QuorumController::Enqueue(Op op) {
  {
    absl::MutexLock l(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      return;
    }
  }
  // Stopping: nothing would run it later, so it answers now (with
  // NOT_CONTROLLER, before touching any controller state).
  op();
}

bool QuorumController::stopping() const {
  absl::MutexLock l(&mu_);
  return stopping_;
}

void QuorumController::Loop() {
  int64_t next_tick_ms = clock_->NowMs();
  while (true) {
    Op op;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(std::max<int64_t>(
                                                        0, next_tick_ms - clock_->NowMs())));
      if (stopping_) break;
      if (!queue_.empty()) {
        op = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (op) op();
    if (clock_->NowMs() >= next_tick_ms) {
      next_tick_ms = clock_->NowMs() + tick_ms_;
      if (BecomeActive()) {
        internal::MetadataRecordBatch batch =
            controller_->Tick(*metadata_->current(), clock_->NowMs());
        if (batch.records_size() > 0) {
          if (absl::Status s = Commit(batch); !s.ok()) {
            LOG(WARNING) << "Controller tick: " << s;
            controller_.reset();
          }
        }
      }
    }
  }
  // Answer what is still queued: each op sees it is no longer the controller.
  std::deque<Op> rest;
  {
    absl::MutexLock l(&mu_);
    rest.swap(queue_);
  }
  controller_.reset();
  for (Op& op : rest) op();
}

bool QuorumController::BecomeActive() {
  raft::RaftNodeStatus st = raft_->status();
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return false;
  }
  if (st.role != raft::Role::kLeader) {
    if (controller_) LOG(INFO) << "No longer the controller (term " << st.term << ")";
    controller_.reset();
    return false;
  }
  if (controller_ && controller_term_ == st.term.value()) return true;
  // A fresh controller: first make sure the image has every earlier entry.
  if (absl::Status s = Commit(internal::MetadataRecordBatch()); !s.ok()) {
    LOG(WARNING) << "Controller barrier failed: " << s;
    return false;
  }
  controller_ = std::make_unique<metadata::Controller>(options_);
  for (const auto& [id, ms] : st.last_heard_ms) {
    controller_->NoteLastContact(static_cast<int32_t>(id.value()), ms);
  }
  controller_term_ = st.term.value();
  LOG(INFO) << "This node is the controller (term " << st.term << ")";
  return true;
}

absl::Status QuorumController::Commit(const internal::MetadataRecordBatch& batch) {
  // Shared with the callback, which may outlive this call after a timeout.
  struct Waiter {
    absl::Mutex mu;
    std::optional<absl::StatusOr<raft::Index>> result ABSL_GUARDED_BY(mu);
  };
  auto waiter = std::make_shared<Waiter>();
  raft_->Propose(batch.SerializeAsString(),
                 [waiter, histogram = commit_seconds_, start = std::chrono::steady_clock::now()](
                     absl::StatusOr<raft::Index> index) {
                   if (histogram != nullptr && index.ok()) {
                     const std::chrono::duration<double> took =
                         std::chrono::steady_clock::now() - start;
                     histogram->Observe(took.count());
                   }
                   absl::MutexLock l(&waiter->mu);
                   waiter->result = std::move(index);
                 });
  std::optional<absl::StatusOr<raft::Index>> result;
  {
    absl::MutexLock l(&waiter->mu);
    auto finished = [&waiter]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiter->mu) {
      return waiter->result.has_value();
    };
    if (!waiter->mu.AwaitWithTimeout(absl::Condition(&finished), kCommitTimeout)) {
      return absl::DeadlineExceededError("the metadata quorum did not commit in time");
    }
    result = waiter->result;
  }
  if (!result->ok()) return result->status();
  if (batch.records_size() > 0 &&
      !metadata_->WaitForOffset(static_cast<int64_t>((*result)->value()), kCommitTimeout)) {
    return absl::DeadlineExceededError("the metadata image did not catch up in time");
  }
  return absl::OkStatus();
}

template <typename Response>
void QuorumController::Submit(std::function<metadata::Decision<Response>()> decide,
                              FailFn<Response> fail, std::function<void(Response)> done) {
  Enqueue([this, decide = std::move(decide), fail = std::move(fail), done = std::move(done)] {
    Response response;
    if (stopping()) {
      fail(&response, ErrorCode::kNotController, "this node is shutting down; retry on another");
      return done(std::move(response));
    }
    if (!BecomeActive()) {
      fail(&response, ErrorCode::kNotController, NotControllerMessage());
      return done(std::move(response));
    }
    metadata::Decision<Response> decision = decide();
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        // The records may still commit later: the next decision must not be
        // made on an image without them, so the next operation starts a new
        // controller, whose barrier waits for everything proposed before.
        controller_.reset();
        fail(&response, ErrorCode::kRequestTimedOut, std::string(s.message()));
        return done(std::move(response));
      }
    }
    done(std::move(decision.response));
  });
}

namespace {

// How a topic operation fails: every topic named gets the error.
template <typename Response, typename Request>
QuorumController::FailFn<Response> FailTopicsOf(const Request& request) {
  return
      [names = TopicNamesOf(request)](Response* response, ErrorCode code, const std::string& why) {
        metadata::FailEveryTopic(names, code, why, &response->results);
      };
}

}  // namespace

template <typename Response>
QuorumController::FailFn<Response> QuorumController::FailBroker() {
  return [this](Response* response, ErrorCode code, const std::string& why) {
    response->set_error(ToProto(code));
    response->set_error_message(why);
    response->set_controller_hint(leader_id());
  };
}

void QuorumController::CreateTopics(metadata::CreateTopicsRequest request,
                                    std::function<void(metadata::CreateTopicsResponse)> done) {
  auto fail = FailTopicsOf<metadata::CreateTopicsResponse>(request);
  Submit<metadata::CreateTopicsResponse>(
      [this, request = std::move(request)] {
        return controller_->CreateTopics(*metadata_->current(), request);
      },
      std::move(fail), std::move(done));
}

void QuorumController::DeleteTopics(metadata::DeleteTopicsRequest request,
                                    std::function<void(metadata::DeleteTopicsResponse)> done) {
  auto fail = FailTopicsOf<metadata::DeleteTopicsResponse>(request);
  Submit<metadata::DeleteTopicsResponse>(
      [this, request = std::move(request)] {
        return controller_->DeleteTopics(*metadata_->current(), request);
      },
      std::move(fail), std::move(done));
}

void QuorumController::CreatePartitions(
    metadata::CreatePartitionsRequest request,
    std::function<void(metadata::CreatePartitionsResponse)> done) {
  auto fail = FailTopicsOf<metadata::CreatePartitionsResponse>(request);
  Submit<metadata::CreatePartitionsResponse>(
      [this, request = std::move(request)] {
        return controller_->CreatePartitions(*metadata_->current(), request);
      },
      std::move(fail), std::move(done));
}

void QuorumController::RegisterBroker(
    internal::BrokerRegistrationRequest request,
    std::function<void(internal::BrokerRegistrationResponse)> done) {
  Submit<internal::BrokerRegistrationResponse>(
      [this, request = std::move(request)] {
        // Larger than every earlier epoch: the next index of the metadata log.
        const int64_t epoch = static_cast<int64_t>(raft_->status().last_index.value()) + 1;
        return controller_->RegisterBroker(*metadata_->current(), request, epoch, clock_->NowMs());
      },
      FailBroker<internal::BrokerRegistrationResponse>(), std::move(done));
}

void QuorumController::BrokerHeartbeat(
    internal::BrokerHeartbeatRequest request,
    std::function<void(internal::BrokerHeartbeatResponse)> done) {
  Submit<internal::BrokerHeartbeatResponse>(
      [this, request = std::move(request)] {
        return controller_->BrokerHeartbeat(*metadata_->current(), request, clock_->NowMs());
      },
      FailBroker<internal::BrokerHeartbeatResponse>(), std::move(done));
}

void QuorumController::AlterPartition(
    internal::AlterPartitionBatchRequest request,
    std::function<void(internal::AlterPartitionBatchResponse)> done) {
  const int changes = request.partitions_size();
  Submit<internal::AlterPartitionBatchResponse>(
      [this, request = std::move(request)] {
        // Each change is decided on the same image: they name distinct
        // partitions, so no decision depends on another's records.
        metadata::Decision<internal::AlterPartitionBatchResponse> d;
        const metadata::MetadataImage& image = *metadata_->current();
        std::set<std::pair<std::string, int32_t>> seen;
        for (const internal::AlterPartitionRequest& change : request.partitions()) {
          if (!seen.emplace(change.topic_id(), change.partition()).second) {
            internal::AlterPartitionResponse* r = d.response.add_partitions();
            r->set_error(v1::INVALID_REQUEST);
            r->set_error_message(absl::StrCat("Partition ", change.partition(), " of topic id ",
                                              change.topic_id(),
                                              " appears more than once in this request"));
            continue;
          }
          metadata::Decision<internal::AlterPartitionResponse> one =
              controller_->AlterPartition(image, change);
          for (internal::MetadataRecord& record : *one.records.mutable_records()) {
            *d.records.add_records() = std::move(record);
          }
          *d.response.add_partitions() = std::move(one.response);
        }
        return d;
      },
      [this, changes](internal::AlterPartitionBatchResponse* response, ErrorCode code,
                      const std::string& why) {
        response->clear_partitions();
        for (int i = 0; i < changes; ++i) {
          internal::AlterPartitionResponse* r = response->add_partitions();
          r->set_error(ToProto(code));
          r->set_error_message(why);
          r->set_controller_hint(leader_id());
        }
      },
      std::move(done));
}

void QuorumController::AllocateProducerIds(
    internal::AllocateProducerIdsRequest request,
    std::function<void(internal::AllocateProducerIdsResponse)> done) {
  Submit<internal::AllocateProducerIdsResponse>(
      [this, request = std::move(request)] {
        return controller_->AllocateProducerIds(*metadata_->current(), request.broker_id(),
                                                request.broker_epoch());
      },
      FailBroker<internal::AllocateProducerIdsResponse>(),
      [this, done = std::move(done)](internal::AllocateProducerIdsResponse response) {
        // The block is the broker's only if the image took the record: one
        // it refused (and skipped) leaves the counter where it was, and the
        // next block would hand out these ids again.
        if (response.error() == v1::NONE && response.count() > 0 &&
            metadata_->current()->next_producer_id() < response.first_id() + response.count()) {
          LOG(ERROR) << "Producer id block [" << response.first_id() << ", "
                     << response.first_id() + response.count() - 1
                     << "] committed but not applied (the image's next producer id is "
                     << metadata_->current()->next_producer_id() << "); not handed out";
          response.set_error(v1::UNKNOWN_SERVER_ERROR);
          response.set_error_message("the producer id block did not apply; retry");
          response.clear_first_id();
          response.clear_count();
        }
        done(std::move(response));
      });
}

void QuorumController::ElectLeaders(metadata::ElectLeadersRequest request,
                                    std::function<void(metadata::ElectLeadersResponse)> done) {
  Submit<metadata::ElectLeadersResponse>(
      [this, request = std::move(request)] {
        return controller_->ElectLeaders(*metadata_->current(), request);
      },
      metadata::FailResponse<metadata::ElectLeadersResponse>, std::move(done));
}

void QuorumController::AlterPartitionReassignments(
    metadata::AlterPartitionReassignmentsRequest request,
    std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) {
  Submit<metadata::AlterPartitionReassignmentsResponse>(
      [this, request = std::move(request)] {
        return controller_->AlterPartitionReassignments(*metadata_->current(), request);
      },
      metadata::FailResponse<metadata::AlterPartitionReassignmentsResponse>, std::move(done));
}

void QuorumController::UnregisterBroker(
    metadata::UnregisterBrokerRequest request,
    std::function<void(metadata::UnregisterBrokerResponse)> done) {
  Submit<metadata::UnregisterBrokerResponse>(
      [this, request = std::move(request)] {
        return controller_->UnregisterBroker(*metadata_->current(), request);
      },
      metadata::FailResponse<metadata::UnregisterBrokerResponse>, std::move(done));
}

void QuorumController::IncrementalAlterConfigs(
    metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) {
  Submit<metadata::IncrementalAlterConfigsResponse>(
      [this, request = std::move(request)] {
        return controller_->IncrementalAlterConfigs(*metadata_->current(), request);
      },
      metadata::FailResponse<metadata::IncrementalAlterConfigsResponse>, std::move(done));
}

void QuorumController::AlterSecurity(metadata::AlterSecurityRequest request,
                                     std::function<void(metadata::AlterSecurityResponse)> done) {
  // A failure answers in the request's case.
  FailFn<metadata::AlterSecurityResponse> fail =
      [request](metadata::AlterSecurityResponse* response, ErrorCode code, const std::string& why) {
        metadata::FailWhole(request, code, why, response);
      };
  Submit<metadata::AlterSecurityResponse>(
      [this, request = std::move(request)] {
        return controller_->AlterSecurity(*metadata_->current(), request);
      },
      std::move(fail), std::move(done));
}

}  // namespace strata::server
