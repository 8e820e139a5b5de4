#include "client/group_rpc.h"

#include <atomic>
#include <chrono>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "grpcpp/client_context.h"
#include "strata/v1/group.grpc.pb.h"

namespace strata::client {
namespace {

using AsyncStub = v1::Group::StubInterface::async_interface;

class GrpcGroupRpc final : public GroupRpc {
 public:
  GrpcGroupRpc(ConnectionPool* pool, std::vector<std::string> bootstrap)
      : pool_(pool), bootstrap_(std::move(bootstrap)) {}

  ~GrpcGroupRpc() override { CancelAll(); }

  void FindCoordinator(const v1::FindCoordinatorRequest& request, absl::Duration timeout,
                       RpcDone<v1::FindCoordinatorResponse> done) override {
    // Any node answers; ask them in turn, on this thread (the answer is
    // immediate, nothing parks).
    v1::FindCoordinatorResponse response;
    absl::Status s = CallAnyNode(bootstrap_, &preferred_, [&](const std::string& target) {
      auto stub = v1::Group::NewStub(pool_->Get(target));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
      response.Clear();
      return FromGrpcStatus(stub->FindCoordinator(&ctx, request, &response), target);
    });
    if (!s.ok()) return done(s);
    done(std::move(response));
  }

  void JoinGroup(const std::string& target, const v1::JoinGroupRequest& request,
                 absl::Duration timeout, RpcDone<v1::JoinGroupResponse> done) override {
    Call<v1::JoinGroupRequest, v1::JoinGroupResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::JoinGroupRequest* q,
           v1::JoinGroupResponse* r,
           std::function<void(grpc::Status)> f) { a->JoinGroup(c, q, r, std::move(f)); });
  }
  void SyncGroup(const std::string& target, const v1::SyncGroupRequest& request,
                 absl::Duration timeout, RpcDone<v1::SyncGroupResponse> done) override {
    Call<v1::SyncGroupRequest, v1::SyncGroupResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::SyncGroupRequest* q,
           v1::SyncGroupResponse* r,
           std::function<void(grpc::Status)> f) { a->SyncGroup(c, q, r, std::move(f)); });
  }
  void Heartbeat(const std::string& target, const v1::HeartbeatRequest& request,
                 absl::Duration timeout, RpcDone<v1::HeartbeatResponse> done) override {
    Call<v1::HeartbeatRequest, v1::HeartbeatResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::HeartbeatRequest* q,
           v1::HeartbeatResponse* r,
           std::function<void(grpc::Status)> f) { a->Heartbeat(c, q, r, std::move(f)); });
  }
  void LeaveGroup(const std::string& target, const v1::LeaveGroupRequest& request,
                  absl::Duration timeout, RpcDone<v1::LeaveGroupResponse> done) override {
    Call<v1::LeaveGroupRequest, v1::LeaveGroupResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::LeaveGroupRequest* q,
           v1::LeaveGroupResponse* r,
           std::function<void(grpc::Status)> f) { a->LeaveGroup(c, q, r, std::move(f)); });
  }
  void OffsetCommit(const std::string& target, const v1::OffsetCommitRequest& request,
                    absl::Duration timeout, RpcDone<v1::OffsetCommitResponse> done) override {
    Call<v1::OffsetCommitRequest, v1::OffsetCommitResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::OffsetCommitRequest* q,
           v1::OffsetCommitResponse* r,
           std::function<void(grpc::Status)> f) { a->OffsetCommit(c, q, r, std::move(f)); });
  }
  void OffsetFetch(const std::string& target, const v1::OffsetFetchRequest& request,
                   absl::Duration timeout, RpcDone<v1::OffsetFetchResponse> done) override {
    Call<v1::OffsetFetchRequest, v1::OffsetFetchResponse>(
        target, request, timeout, std::move(done),
        [](AsyncStub* a, grpc::ClientContext* c, const v1::OffsetFetchRequest* q,
           v1::OffsetFetchResponse* r,
           std::function<void(grpc::Status)> f) { a->OffsetFetch(c, q, r, std::move(f)); });
  }

  void CancelAll() override {
    absl::MutexLock lock(&mu_);
    for (auto& [id, ctx] : in_flight_) ctx->TryCancel();
    mu_.Await(absl::Condition(
        +[](std::map<int64_t, grpc::ClientContext*>* m) { return m->empty(); }, &in_flight_));
  }

 private:
  template <typename Request, typename Response, typename Start>
  void Call(const std::string& target, const Request& request, absl::Duration timeout,
            RpcDone<Response> done, Start start) {
    struct State {
      std::unique_ptr<v1::Group::Stub> stub;
      grpc::ClientContext ctx;
      Request request;
      Response response;
    };
    auto state = std::make_shared<State>();
    state->stub = v1::Group::NewStub(pool_->Get(target));
    state->request = request;
    state->ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
    int64_t id = 0;
    {
      absl::MutexLock lock(&mu_);
      id = next_id_++;
      in_flight_.emplace(id, &state->ctx);
    }
    start(state->stub->async(), &state->ctx, &state->request, &state->response,
          [this, state, id, target, done = std::move(done)](grpc::Status status) mutable {
            if (status.ok()) {
              done(std::move(state->response));
            } else {
              done(FromGrpcStatus(status, target));
            }
            // gRPC destroys this callback on its own thread after it
            // returns, when the pool may be gone: neither the stub nor the
            // context (which keeps the channel too) may hold the channel's
            // last reference then. A channel destroyed on that thread can
            // release gRPC 1.51's shared callback completion queue from
            // under the thread polling it, which aborts the process
            // ("assertion failed: prior > 0"). Until the call leaves
            // in_flight_, CancelAll has not returned and the pool still
            // holds the channel. (Under mu_: CancelAll may be cancelling
            // this context.)
            absl::MutexLock lock(&mu_);
            state.reset();
            in_flight_.erase(id);
          });
  }

  ConnectionPool* const pool_;
  const std::vector<std::string> bootstrap_;
  std::atomic<size_t> preferred_{0};

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int64_t, grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<GroupRpc> MakeGrpcGroupRpc(ConnectionPool* pool,
                                           std::vector<std::string> bootstrap) {
  return std::make_unique<GrpcGroupRpc>(pool, std::move(bootstrap));
}

}  // namespace strata::client
