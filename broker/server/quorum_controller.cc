#include "broker/server/quorum_controller.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::server {
namespace {

// How long a committed proposal may take before the request fails.
constexpr absl::Duration kCommitTimeout = absl::Seconds(10);

template <typename Response>
void FailTopics(Response* response, const google::protobuf::RepeatedPtrField<std::string>& names,
                v1::ErrorCode code, const std::string& message) {
  response->clear_results();
  for (const std::string& name : names) {
    auto* r = response->add_results();
    r->set_name(name);
    r->set_error(code);
    r->set_error_message(message);
  }
}

}  // namespace

QuorumController::QuorumController(metadata::ControllerOptions options, raft::RaftNode* raft,
                                   MetadataStateMachine* metadata, Clock* clock, int64_t tick_ms)
    : options_(std::move(options)), raft_(raft), metadata_(metadata), clock_(clock), tick_ms_(tick_ms) {}

QuorumController::~QuorumController() { Stop(); }

void QuorumController::Start() { thread_ = std::thread([this] { Loop(); }); }

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
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(op));
}

void QuorumController::Loop() {
  absl::Time next_tick = absl::Now();
  while (true) {
    Op op;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_tick);
      if (stopping_) break;
      if (!queue_.empty()) {
        op = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (op) op();
    if (absl::Now() >= next_tick) {
      next_tick = absl::Now() + absl::Milliseconds(tick_ms_);
      if (BecomeActive()) {
        internal::MetadataRecordBatch batch = controller_->Tick(*metadata_->current(), clock_->NowMs());
        if (batch.records_size() > 0) {
          if (absl::Status s = Commit(batch); !s.ok()) LOG(WARNING) << "Controller tick: " << s;
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
  raft_->Propose(batch.SerializeAsString(), [waiter](absl::StatusOr<raft::Index> index) {
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

void QuorumController::CreateTopics(v1::CreateTopicsRequest request,
                                    std::function<void(v1::CreateTopicsResponse)> done) {
  Enqueue([this, request = std::move(request), done = std::move(done)] {
    v1::CreateTopicsResponse response;
    google::protobuf::RepeatedPtrField<std::string> names;
    for (const auto& t : request.topics()) *names.Add() = t.name();
    if (!BecomeActive()) {
      FailTopics(&response, names, v1::NOT_CONTROLLER, NotControllerMessage());
      return done(response);
    }
    auto decision = controller_->CreateTopics(*metadata_->current(), request);
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        FailTopics(&response, names, v1::REQUEST_TIMED_OUT, std::string(s.message()));
        return done(response);
      }
    }
    done(decision.response);
  });
}

void QuorumController::DeleteTopics(v1::DeleteTopicsRequest request,
                                    std::function<void(v1::DeleteTopicsResponse)> done) {
  Enqueue([this, request = std::move(request), done = std::move(done)] {
    v1::DeleteTopicsResponse response;
    if (!BecomeActive()) {
      FailTopics(&response, request.names(), v1::NOT_CONTROLLER, NotControllerMessage());
      return done(response);
    }
    auto decision = controller_->DeleteTopics(*metadata_->current(), request);
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        FailTopics(&response, request.names(), v1::REQUEST_TIMED_OUT, std::string(s.message()));
        return done(response);
      }
    }
    done(decision.response);
  });
}

void QuorumController::CreatePartitions(v1::CreatePartitionsRequest request,
                                        std::function<void(v1::CreatePartitionsResponse)> done) {
  Enqueue([this, request = std::move(request), done = std::move(done)] {
    v1::CreatePartitionsResponse response;
    google::protobuf::RepeatedPtrField<std::string> names;
    for (const auto& t : request.topics()) *names.Add() = t.name();
    if (!BecomeActive()) {
      FailTopics(&response, names, v1::NOT_CONTROLLER, NotControllerMessage());
      return done(response);
    }
    auto decision = controller_->CreatePartitions(*metadata_->current(), request);
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        FailTopics(&response, names, v1::REQUEST_TIMED_OUT, std::string(s.message()));
        return done(response);
      }
    }
    done(decision.response);
  });
}

void QuorumController::RegisterBroker(internal::BrokerRegistrationRequest request,
                                      std::function<void(internal::BrokerRegistrationResponse)> done) {
  Enqueue([this, request = std::move(request), done = std::move(done)] {
    internal::BrokerRegistrationResponse response;
    if (!BecomeActive()) {
      response.set_error(v1::NOT_CONTROLLER);
      response.set_error_message(NotControllerMessage());
      response.set_controller_hint(leader_id());
      return done(response);
    }
    // Larger than every earlier epoch: the next index of the metadata log.
    const int64_t epoch = static_cast<int64_t>(raft_->status().last_index.value()) + 1;
    auto decision = controller_->RegisterBroker(*metadata_->current(), request, epoch, clock_->NowMs());
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        response.set_error(v1::REQUEST_TIMED_OUT);
        response.set_error_message(std::string(s.message()));
        return done(response);
      }
    }
    done(decision.response);
  });
}

void QuorumController::BrokerHeartbeat(internal::BrokerHeartbeatRequest request,
                                       std::function<void(internal::BrokerHeartbeatResponse)> done) {
  Enqueue([this, request = std::move(request), done = std::move(done)] {
    internal::BrokerHeartbeatResponse response;
    if (!BecomeActive()) {
      response.set_error(v1::NOT_CONTROLLER);
      response.set_error_message(NotControllerMessage());
      response.set_controller_hint(leader_id());
      return done(response);
    }
    auto decision = controller_->BrokerHeartbeat(*metadata_->current(), request, clock_->NowMs());
    if (decision.records.records_size() > 0) {
      if (absl::Status s = Commit(decision.records); !s.ok()) {
        response.set_error(v1::REQUEST_TIMED_OUT);
        response.set_error_message(std::string(s.message()));
        return done(response);
      }
    }
    done(decision.response);
  });
}

}  // namespace strata::server
