// GroupService: strata.v1.Group on the PLAINTEXT listener — a thin gRPC
// adapter over the group coordinator (broker/group/group_coordinator.h) and
// the request layer's FindCoordinator. Parked JoinGroup and SyncGroup calls
// hold no thread: the coordinator completes them.
#pragma once

#include "broker/group/group_coordinator.h"
#include "broker/request/handlers.h"
#include "broker/server/service_security.h"
#include "strata/v1/group.grpc.pb.h"

namespace strata::server {

class GroupService final : public v1::Group::CallbackService {
 public:
  GroupService(group::GroupCoordinator* coordinator, request::RequestHandlers* handlers,
               ServiceSecurity security = {});

  grpc::ServerUnaryReactor* FindCoordinator(grpc::CallbackServerContext* ctx,
                                            const v1::FindCoordinatorRequest* request,
                                            v1::FindCoordinatorResponse* response) override;
  grpc::ServerUnaryReactor* JoinGroup(grpc::CallbackServerContext* ctx,
                                      const v1::JoinGroupRequest* request,
                                      v1::JoinGroupResponse* response) override;
  grpc::ServerUnaryReactor* SyncGroup(grpc::CallbackServerContext* ctx,
                                      const v1::SyncGroupRequest* request,
                                      v1::SyncGroupResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* LeaveGroup(grpc::CallbackServerContext* ctx,
                                       const v1::LeaveGroupRequest* request,
                                       v1::LeaveGroupResponse* response) override;
  grpc::ServerUnaryReactor* OffsetCommit(grpc::CallbackServerContext* ctx,
                                         const v1::OffsetCommitRequest* request,
                                         v1::OffsetCommitResponse* response) override;
  grpc::ServerUnaryReactor* OffsetFetch(grpc::CallbackServerContext* ctx,
                                        const v1::OffsetFetchRequest* request,
                                        v1::OffsetFetchResponse* response) override;
  grpc::ServerUnaryReactor* DescribeGroups(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeGroupsRequest* request,
                                           v1::DescribeGroupsResponse* response) override;
  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* ctx,
                                       const v1::ListGroupsRequest* request,
                                       v1::ListGroupsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteGroups(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteGroupsRequest* request,
                                         v1::DeleteGroupsResponse* response) override;
  grpc::ServerUnaryReactor* OffsetDelete(grpc::CallbackServerContext* ctx,
                                         const v1::OffsetDeleteRequest* request,
                                         v1::OffsetDeleteResponse* response) override;

 private:
  group::GroupCoordinator* const coordinator_;
  request::RequestHandlers* const handlers_;
  const ServiceSecurity security_;
};

}  // namespace strata::server
