// The strata.v1 edge of the admin calls: strata.v1's admin messages <->
// the broker's own types (metadata:: admin types, request::AdminOps'
// types), field for field, nothing dropped either way.
//
// Decode(v1 request) and Encode(response, v1*) serve the services that
// answer (AdminService, ControllerService); Encode(request) and
// Decode(v1 response) serve AdminRouter when it forwards a call to another
// node (the controller, or the broker a DescribeConfigs names), so that
// what a node forwards is exactly what a client sending the same call to
// that node would send.
//
// Pure functions; thread-safe.
#pragma once

#include <vector>

#include "broker/metadata/admin_types.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/metadata/security_admin.h"
#include "broker/request/admin_ops.h"
#include "broker/request/api.h"
#include "strata/internal/controller.pb.h"
#include "strata/v1/admin.pb.h"
#include "strata/v1/broker.pb.h"

namespace strata::server {

// gRPC metadata on a DescribeConfigs one node forwards to another: the
// receiver answers itself, never forwards again (an image that is behind
// could otherwise send it round).
inline constexpr char kForwardedHeader[] = "strata-forwarded";

// --- Requests ---

// ListOffsets, for the Broker service and for the Replica service's copy
// that nodes ask each other through.
request::ListOffsetsRequest Decode(const v1::ListOffsetsRequest& in);
void Encode(const request::ListOffsetsResponse& in, v1::ListOffsetsResponse* out);

metadata::CreateTopicsRequest Decode(const v1::CreateTopicsRequest& in);
metadata::DeleteTopicsRequest Decode(const v1::DeleteTopicsRequest& in);
metadata::CreatePartitionsRequest Decode(const v1::CreatePartitionsRequest& in);
// An empty topic_partitions is every partition (proto3 cannot tell Kafka's
// null from empty): nullopt.
metadata::ElectLeadersRequest Decode(const v1::ElectLeadersRequest& in);
metadata::AlterPartitionReassignmentsRequest Decode(
    const v1::AlterPartitionReassignmentsRequest& in);
metadata::UnregisterBrokerRequest Decode(const v1::UnregisterBrokerRequest& in);
// An operation number outside Kafka's four decodes as kUnknown.
metadata::IncrementalAlterConfigsRequest Decode(const v1::IncrementalAlterConfigsRequest& in);
// Legacy AlterConfigs as the IncrementalAlterConfigs that does the same:
// SETs with replace_all.
metadata::IncrementalAlterConfigsRequest Decode(const v1::AlterConfigsRequest& in);
// `forwarded`: the call came from another node (see
// request::DescribeConfigsRequest). Empty configuration_keys: all (nullopt).
request::DescribeConfigsRequest Decode(const v1::DescribeConfigsRequest& in, bool forwarded);
// Empty topics: every reassignment (nullopt).
request::ListPartitionReassignmentsRequest Decode(const v1::ListPartitionReassignmentsRequest& in);
// No `partitions` message: every partition (nullopt); an empty one: none.
request::DescribeLogDirsRequest Decode(const v1::DescribeLogDirsRequest& in);

v1::CreateTopicsRequest Encode(const metadata::CreateTopicsRequest& in);
v1::DeleteTopicsRequest Encode(const metadata::DeleteTopicsRequest& in);
v1::CreatePartitionsRequest Encode(const metadata::CreatePartitionsRequest& in);
// nullopt and empty both travel as an empty list (every partition): callers
// answer an empty list themselves.
v1::ElectLeadersRequest Encode(const metadata::ElectLeadersRequest& in);
// Consecutive partitions of one topic travel as one topic entry, so the
// receiver decodes them in the same order.
v1::AlterPartitionReassignmentsRequest Encode(
    const metadata::AlterPartitionReassignmentsRequest& in);
v1::UnregisterBrokerRequest Encode(const metadata::UnregisterBrokerRequest& in);
v1::IncrementalAlterConfigsRequest Encode(const metadata::IncrementalAlterConfigsRequest& in);
v1::DescribeConfigsRequest Encode(const request::DescribeConfigsRequest& in);
v1::ListPartitionReassignmentsRequest Encode(const request::ListPartitionReassignmentsRequest& in);

// --- Responses ---

metadata::CreateTopicsResponse Decode(const v1::CreateTopicsResponse& in);
metadata::DeleteTopicsResponse Decode(const v1::DeleteTopicsResponse& in);
metadata::CreatePartitionsResponse Decode(const v1::CreatePartitionsResponse& in);
metadata::ElectLeadersResponse Decode(const v1::ElectLeadersResponse& in);
metadata::AlterPartitionReassignmentsResponse Decode(
    const v1::AlterPartitionReassignmentsResponse& in);
metadata::UnregisterBrokerResponse Decode(const v1::UnregisterBrokerResponse& in);
metadata::IncrementalAlterConfigsResponse Decode(const v1::IncrementalAlterConfigsResponse& in);
request::DescribeConfigsResult Decode(const v1::DescribeConfigsResult& in);
request::ListPartitionReassignmentsResponse Decode(
    const v1::ListPartitionReassignmentsResponse& in);

void Encode(const metadata::CreateTopicsResponse& in, v1::CreateTopicsResponse* out);
void Encode(const metadata::DeleteTopicsResponse& in, v1::DeleteTopicsResponse* out);
void Encode(const metadata::CreatePartitionsResponse& in, v1::CreatePartitionsResponse* out);
void Encode(const metadata::ElectLeadersResponse& in, v1::ElectLeadersResponse* out);
// Kafka's shape: results grouped by topic, in the order topics first appear.
void Encode(const metadata::AlterPartitionReassignmentsResponse& in,
            v1::AlterPartitionReassignmentsResponse* out);
void Encode(const metadata::UnregisterBrokerResponse& in, v1::UnregisterBrokerResponse* out);
void Encode(const metadata::IncrementalAlterConfigsResponse& in,
            v1::IncrementalAlterConfigsResponse* out);
void Encode(const metadata::IncrementalAlterConfigsResponse& in, v1::AlterConfigsResponse* out);
void Encode(const request::DescribeConfigsResult& in, v1::DescribeConfigsResult* out);
void Encode(const request::DescribeConfigsResponse& in, v1::DescribeConfigsResponse* out);
// (AdminService fails the call instead when `in.error` is set.)
void Encode(const request::ListPartitionReassignmentsResponse& in,
            v1::ListPartitionReassignmentsResponse* out);
// (broker_id is the service's to set.)
void Encode(const request::DescribeLogDirsResponse& in, v1::DescribeLogDirsResponse* out);

// --- Security (issue 16) ---
//
// Codes travel as Kafka's numbers; one this node does not know decodes as
// UNKNOWN (metadata::*OfCode), which the controller or the read refuses. An
// empty `users` list is every user (nullopt). The internal AlterSecurity
// messages carry the public message of the request's case.

metadata::CreateAclsRequest Decode(const v1::CreateAclsRequest& in);
metadata::DeleteAclsRequest Decode(const v1::DeleteAclsRequest& in);
metadata::DescribeAclsRequest Decode(const v1::DescribeAclsRequest& in);
metadata::AlterUserScramCredentialsRequest Decode(const v1::AlterUserScramCredentialsRequest& in);
metadata::DescribeUserScramCredentialsRequest Decode(
    const v1::DescribeUserScramCredentialsRequest& in);
metadata::AlterClientQuotasRequest Decode(const v1::AlterClientQuotasRequest& in);
metadata::DescribeClientQuotasRequest Decode(const v1::DescribeClientQuotasRequest& in);
// A request with no case set decodes as an empty CreateAcls.
metadata::AlterSecurityRequest Decode(const internal::AlterSecurityRequest& in);

v1::CreateAclsRequest Encode(const metadata::CreateAclsRequest& in);
v1::DeleteAclsRequest Encode(const metadata::DeleteAclsRequest& in);
v1::AlterUserScramCredentialsRequest Encode(const metadata::AlterUserScramCredentialsRequest& in);
v1::AlterClientQuotasRequest Encode(const metadata::AlterClientQuotasRequest& in);
internal::AlterSecurityRequest Encode(const metadata::AlterSecurityRequest& in);

metadata::CreateAclsResponse Decode(const v1::CreateAclsResponse& in);
metadata::DeleteAclsResponse Decode(const v1::DeleteAclsResponse& in);
metadata::AlterUserScramCredentialsResponse Decode(const v1::AlterUserScramCredentialsResponse& in);
metadata::AlterClientQuotasResponse Decode(const v1::AlterClientQuotasResponse& in);
// A response with no case set decodes as an empty CreateAcls answer, which
// the router turns into an error for any other call (ResponseOf).
metadata::AlterSecurityResponse Decode(const internal::AlterSecurityResponse& in);

void Encode(const metadata::CreateAclsResponse& in, v1::CreateAclsResponse* out);
void Encode(const metadata::DeleteAclsResponse& in, v1::DeleteAclsResponse* out);
// Kafka's shape: the bindings grouped by resource pattern, in order.
void Encode(const metadata::DescribeAclsResponse& in, v1::DescribeAclsResponse* out);
void Encode(const metadata::AlterUserScramCredentialsResponse& in,
            v1::AlterUserScramCredentialsResponse* out);
void Encode(const metadata::DescribeUserScramCredentialsResponse& in,
            v1::DescribeUserScramCredentialsResponse* out);
void Encode(const metadata::AlterClientQuotasResponse& in, v1::AlterClientQuotasResponse* out);
void Encode(const metadata::DescribeClientQuotasResponse& in,
            v1::DescribeClientQuotasResponse* out);
void Encode(const metadata::AlterSecurityResponse& in, internal::AlterSecurityResponse* out);

// One binding or filter, field for field.
security::AclBinding Decode(const v1::AclBinding& in);
void Encode(const security::AclBinding& in, v1::AclBinding* out);
security::AclBindingFilter Decode(const v1::AclBindingFilter& in);
void Encode(const security::AclBindingFilter& in, v1::AclBindingFilter* out);

// --- Enums ---

metadata::ConfigResourceType Decode(v1::ConfigResourceType type);
v1::ConfigResourceType Encode(metadata::ConfigResourceType type);
metadata::AlterConfigOpType DecodeOp(int op);
metadata::ConfigSource Decode(v1::ConfigSource source);
v1::ConfigSource Encode(metadata::ConfigSource source);

}  // namespace strata::server
