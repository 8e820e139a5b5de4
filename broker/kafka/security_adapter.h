// The security admin APIs between Kafka's structs and the request layer's
// (adapter.h): DescribeAcls 0-3, CreateAcls 0-3, DeleteAcls 0-3,
// DescribeClientQuotas 0-1, AlterClientQuotas 0-1,
// DescribeUserScramCredentials 0 and AlterUserScramCredentials 0
// (kafka-acls.sh, kafka-configs.sh --entity-type users|clients, and the
// Admin clients' createAcls / describeAcls / deleteAcls /
// alterUserScramCredentials / ... ).
//
// Pure functions, one pair per API, as admin_adapter.h's: ToRequestLayer
// gives what security_adapter.cc hands request::AdminOps (the writes go to
// the controller; the reads are answered from this node's image), and
// FromRequestLayer the Kafka response for the layer's answer. The mapping
// decisions:
//
//   codes            Kafka's int8 codes travel as they are; a number Kafka
//                    does not define is UNKNOWN, which the layer refuses
//                    (INVALID_REQUEST). v0 of the ACL APIs has no pattern
//                    type: LITERAL (the codec's default).
//   DescribeAcls     the bindings found, grouped by resource pattern in the
//                    layer's (sorted) order.
//   DeleteAcls       each filter's matches, each with error NONE.
//   SCRAM            mechanisms are Kafka's codes (1 SCRAM-SHA-256,
//                    2 SCRAM-SHA-512); Users null or empty = every user.
//   quotas           EntityName null = the <default> entity; Remove = the
//                    value absent. DescribeClientQuotas' Entries are null
//                    on error.
//   whole-call error (NOT_CONTROLLER, ..., or a refused authorization):
//                    where Kafka's response has no top-level error field,
//                    every creation / filter / user / entry asked for gets
//                    it, as Kafka's getErrorResponse does; DescribeAcls,
//                    DescribeClientQuotas and DescribeUserScramCredentials
//                    carry it at the top.
//
// Authorization (with an authorizer configured), as Kafka checks these
// APIs: CreateAcls, DeleteAcls, AlterUserScramCredentials: Alter on the
// cluster; DescribeAcls, DescribeUserScramCredentials: Describe on the
// cluster; AlterClientQuotas: AlterConfigs on the cluster;
// DescribeClientQuotas: DescribeConfigs on the cluster.
// CLUSTER_AUTHORIZATION_FAILED otherwise, as a whole-call error.
//
// Error messages as admin_adapter.h's ErrorMessageField. Thread-safe.
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "broker/kafka/adapter.h"
#include "broker/kafka/messages.h"
#include "broker/metadata/security_admin.h"

namespace strata::kafka {

// The dispatcher's rows for the seven APIs.
absl::Span<const AdapterRow> SecurityAdapters();

// --- CreateAcls (30) ---
metadata::CreateAclsRequest ToRequestLayer(const CreateAclsRequest& request, int16_t version);
CreateAclsResponse FromRequestLayer(const CreateAclsRequest& request,
                                    const metadata::CreateAclsResponse& answer, int16_t version);

// --- DescribeAcls (29) ---
metadata::DescribeAclsRequest ToRequestLayer(const DescribeAclsRequest& request, int16_t version);
DescribeAclsResponse FromRequestLayer(const DescribeAclsRequest& request,
                                      const metadata::DescribeAclsResponse& answer,
                                      int16_t version);

// --- DeleteAcls (31) ---
metadata::DeleteAclsRequest ToRequestLayer(const DeleteAclsRequest& request, int16_t version);
DeleteAclsResponse FromRequestLayer(const DeleteAclsRequest& request,
                                    const metadata::DeleteAclsResponse& answer, int16_t version);

// --- DescribeClientQuotas (48) ---
metadata::DescribeClientQuotasRequest ToRequestLayer(const DescribeClientQuotasRequest& request,
                                                     int16_t version);
DescribeClientQuotasResponse FromRequestLayer(const DescribeClientQuotasRequest& request,
                                              const metadata::DescribeClientQuotasResponse& answer,
                                              int16_t version);

// --- AlterClientQuotas (49) ---
metadata::AlterClientQuotasRequest ToRequestLayer(const AlterClientQuotasRequest& request,
                                                  int16_t version);
AlterClientQuotasResponse FromRequestLayer(const AlterClientQuotasRequest& request,
                                           const metadata::AlterClientQuotasResponse& answer,
                                           int16_t version);

// --- DescribeUserScramCredentials (50) ---
metadata::DescribeUserScramCredentialsRequest ToRequestLayer(
    const DescribeUserScramCredentialsRequest& request, int16_t version);
DescribeUserScramCredentialsResponse FromRequestLayer(
    const DescribeUserScramCredentialsRequest& request,
    const metadata::DescribeUserScramCredentialsResponse& answer, int16_t version);

// --- AlterUserScramCredentials (51) ---
metadata::AlterUserScramCredentialsRequest ToRequestLayer(
    const AlterUserScramCredentialsRequest& request, int16_t version);
AlterUserScramCredentialsResponse FromRequestLayer(
    const AlterUserScramCredentialsRequest& request,
    const metadata::AlterUserScramCredentialsResponse& answer, int16_t version);

}  // namespace strata::kafka
