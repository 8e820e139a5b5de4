#include "broker/kafka/api_versions.h"

#include <algorithm>
#include <array>
#include <vector>

namespace strata::kafka {
namespace {

// Why each range is what it is (the clients that pick or probe it) is in
// notes/issue14-design.md §1.2. Adding a version: raise max_version here,
// then add the fields to the message's table (messages.cc).
//
// The last column: `true` = advertised and served; kNotServedYet = the codec
// exists (DecodeRequest / Encode work, the round-trip and golden tests cover
// it) but no adapter does, so ApiVersions does not list it and the
// dispatcher closes a connection that sends it. Whoever adds the adapter
// replaces kNotServedYet by `true` (and adds the key to
// api_versions_test's AdvertisedEqualsTheDesignTable).
constexpr bool kNotServedYet = false;

constexpr ApiInfo kApis[] = {
    // key, name, min and max version, first flexible version (3.7.1), advertised
    // Listed as 0-7, served 3-7 (see ApiInfo::listed_min_version).
    {ApiKey::kProduce, "Produce", 3, 7, 9, true, 0},
    {ApiKey::kFetch, "Fetch", 4, 11, 12, true},
    {ApiKey::kListOffsets, "ListOffsets", 1, 3, 6, true},
    {ApiKey::kMetadata, "Metadata", 0, 6, 9, true},
    {ApiKey::kOffsetCommit, "OffsetCommit", 2, 7, 8, true},
    {ApiKey::kOffsetFetch, "OffsetFetch", 1, 7, 6, true},
    {ApiKey::kFindCoordinator, "FindCoordinator", 0, 2, 3, true},
    {ApiKey::kJoinGroup, "JoinGroup", 0, 5, 6, true},
    {ApiKey::kHeartbeat, "Heartbeat", 0, 3, 4, true},
    {ApiKey::kLeaveGroup, "LeaveGroup", 0, 3, 4, true},
    {ApiKey::kSyncGroup, "SyncGroup", 0, 3, 4, true},
    {ApiKey::kDescribeGroups, "DescribeGroups", 0, 4, 5, true},
    {ApiKey::kListGroups, "ListGroups", 0, 4, 3, true},
    // Never flexible (KAFKA-9577). Served by the listener's SASL
    // authenticator (sasl_authenticator.h), not by an adapter.
    {ApiKey::kSaslHandshake, "SaslHandshake", 0, 1, kNeverFlexible, true},
    {ApiKey::kApiVersions, "ApiVersions", 0, 3, 3, true},
    {ApiKey::kCreateTopics, "CreateTopics", 3, 4, 5, true},
    {ApiKey::kDeleteTopics, "DeleteTopics", 1, 3, 4, true},
    {ApiKey::kDeleteRecords, "DeleteRecords", 1, 1, 2, true},
    // Idempotent producers, and transactional ones through the transaction
    // coordinator (notes/issue15-design.md §1.2).
    {ApiKey::kInitProducerId, "InitProducerId", 0, 4, 2, true},
    {ApiKey::kOffsetForLeaderEpoch, "OffsetForLeaderEpoch", 2, 4, 4, true},
    // The client's versions of the transaction APIs: Kafka 3.7.1 has
    // AddPartitionsToTxn v4, which only brokers send (a batch of
    // transactions, KIP-890).
    {ApiKey::kAddPartitionsToTxn, "AddPartitionsToTxn", 0, 3, 3, true},
    {ApiKey::kAddOffsetsToTxn, "AddOffsetsToTxn", 0, 3, 3, true},
    {ApiKey::kEndTxn, "EndTxn", 0, 3, 3, true},
    // Sent to the group coordinator: a transactional producer's offsets
    // (sendOffsetsToTransaction); v3 adds the consumer's generation and
    // member (KIP-447).
    {ApiKey::kTxnOffsetCommit, "TxnOffsetCommit", 0, 3, 3, true},
    // The ACL APIs (kafka-acls.sh, Admin.describe/create/deleteAcls): v0 has
    // no pattern type (LITERAL implied), v3 adds the USER resource type.
    {ApiKey::kDescribeAcls, "DescribeAcls", 0, 3, 2, true},
    {ApiKey::kCreateAcls, "CreateAcls", 0, 3, 2, true},
    {ApiKey::kDeleteAcls, "DeleteAcls", 0, 3, 2, true},
    {ApiKey::kDescribeConfigs, "DescribeConfigs", 1, 2, 4, true},
    {ApiKey::kAlterConfigs, "AlterConfigs", 0, 1, 2, true},
    // kafka-log-dirs.sh and Admin.describeLogDirs (KIP-113), at Kafka
    // 3.7.1's range: v0 is v1's layout (Sarama's old default sends it), v3
    // adds the top-level ErrorCode, v4 the volume's TotalBytes/UsableBytes.
    {ApiKey::kDescribeLogDirs, "DescribeLogDirs", 0, 4, 2, true},
    {ApiKey::kSaslAuthenticate, "SaslAuthenticate", 0, 2, 2, true},
    {ApiKey::kCreatePartitions, "CreatePartitions", 0, 1, 2, true},
    {ApiKey::kDeleteGroups, "DeleteGroups", 1, 1, 2, true},
    {ApiKey::kElectLeaders, "ElectLeaders", 0, 2, 2, true},
    {ApiKey::kIncrementalAlterConfigs, "IncrementalAlterConfigs", 0, 1, 1, true},
    {ApiKey::kAlterPartitionReassignments, "AlterPartitionReassignments", 0, 0, 0, true},
    {ApiKey::kListPartitionReassignments, "ListPartitionReassignments", 0, 0, 0, true},
    {ApiKey::kOffsetDelete, "OffsetDelete", 0, 0, kNeverFlexible, true},
    // kafka-configs.sh --entity-type users/clients (KIP-546) and
    // kafka-configs.sh --add-config SCRAM-SHA-256=... (KIP-554).
    {ApiKey::kDescribeClientQuotas, "DescribeClientQuotas", 0, 1, 1, true},
    {ApiKey::kAlterClientQuotas, "AlterClientQuotas", 0, 1, 1, true},
    {ApiKey::kDescribeUserScramCredentials, "DescribeUserScramCredentials", 0, 0, 0, true},
    {ApiKey::kAlterUserScramCredentials, "AlterUserScramCredentials", 0, 0, 0, true},
    {ApiKey::kDescribeCluster, "DescribeCluster", 0, 1, 0, true},
    // A partition leader's active producers (kafka-transactions.sh
    // describe-producers, Admin.describeProducers).
    {ApiKey::kDescribeProducers, "DescribeProducers", 0, 0, 0, true},
    {ApiKey::kDescribeTransactions, "DescribeTransactions", 0, 0, 0, true},
    {ApiKey::kListTransactions, "ListTransactions", 0, 0, 0, true},
};

constexpr bool SortedByKey() {
  for (size_t i = 1; i < std::size(kApis); ++i) {
    if (kApis[i - 1].key >= kApis[i].key) return false;
  }
  return true;
}
static_assert(SortedByKey(), "kApis must be sorted by key, as ApiVersions lists them");

const std::vector<ApiInfo>& Advertised() {
  static const auto* advertised = [] {
    auto* v = new std::vector<ApiInfo>;
    for (const ApiInfo& api : kApis) {
      if (api.advertised) v->push_back(api);
    }
    return v;
  }();
  return *advertised;
}

}  // namespace

absl::Span<const ApiInfo> SupportedApis() { return kApis; }

absl::Span<const ApiInfo> AdvertisedApis() { return Advertised(); }

const ApiInfo* FindApi(ApiKey key) {
  const auto* it = std::lower_bound(std::begin(kApis), std::end(kApis), key,
                                    [](const ApiInfo& a, ApiKey k) { return a.key < k; });
  return it != std::end(kApis) && it->key == key ? it : nullptr;
}

bool HasCodec(ApiKey key, int16_t version) {
  const ApiInfo* api = FindApi(key);
  return api != nullptr && version >= api->min_version && version <= api->max_version;
}

bool IsAdvertised(ApiKey key, int16_t version) {
  const ApiInfo* api = FindApi(key);
  return api != nullptr && api->advertised && version >= api->min_version &&
         version <= api->max_version;
}

bool IsFlexible(ApiKey key, int16_t version) {
  const ApiInfo* api = FindApi(key);
  return api != nullptr && api->flexible_from != kNeverFlexible && version >= api->flexible_from;
}

int16_t RequestHeaderVersion(ApiKey key, int16_t version) {
  return IsFlexible(key, version) ? 2 : 1;
}

int16_t ResponseHeaderVersion(ApiKey key, int16_t version) {
  if (key == ApiKey::kApiVersions) return 0;
  return IsFlexible(key, version) ? 1 : 0;
}

}  // namespace strata::kafka
