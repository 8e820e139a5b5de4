// The APIs and versions Strata speaks on Kafka's binary protocol: the single
// table that ApiVersions answers from, that a dispatcher checks requests
// against, and that decides header versions and flexible encodings.
//
// Contract
//   SupportedApis() lists every API the codec (codec.h) implements, with the
//   version range it decodes and encodes. AdvertisedApis() is the subset an
//   ApiVersions response lists, sorted by key, exactly as the design's table
//   (notes/issue14-design.md §1.2, notes/issue15-design.md §1.2). An API
//   may have a codec before it is advertised: its row says advertised =
//   false ("known, not served yet"). Such a key decodes and encodes (tests,
//   clients, the adapter being written), but ApiVersions does not list it
//   and the dispatcher closes a connection that sends it, as for a key it
//   does not know. Flip the flag in the same change that adds its adapter.
//   flexible_from is the first flexible version in Kafka 3.7.1 (KIP-482),
//   kNeverFlexible when none, even when it lies above our range, so that
//   header versions come out as Kafka's for any version number.
//   Everything here is immutable; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"

namespace strata::kafka {

enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kSaslHandshake = 17,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kDeleteRecords = 21,
  kInitProducerId = 22,
  kOffsetForLeaderEpoch = 23,
  kAddPartitionsToTxn = 24,
  kAddOffsetsToTxn = 25,
  kEndTxn = 26,
  kTxnOffsetCommit = 28,
  kDescribeAcls = 29,
  kCreateAcls = 30,
  kDeleteAcls = 31,
  kDescribeConfigs = 32,
  kAlterConfigs = 33,
  kDescribeLogDirs = 35,
  kSaslAuthenticate = 36,
  kCreatePartitions = 37,
  kDeleteGroups = 42,
  kElectLeaders = 43,
  kIncrementalAlterConfigs = 44,
  kAlterPartitionReassignments = 45,
  kListPartitionReassignments = 46,
  kOffsetDelete = 47,
  kDescribeClientQuotas = 48,
  kAlterClientQuotas = 49,
  kDescribeUserScramCredentials = 50,
  kAlterUserScramCredentials = 51,
  kDescribeCluster = 60,
  kDescribeProducers = 61,
  kDescribeTransactions = 65,
  kListTransactions = 66,
};

inline constexpr int16_t kNeverFlexible = -1;

struct ApiInfo {
  ApiKey key;
  const char* name;  // Kafka's name, e.g. "Metadata"
  int16_t min_version;
  int16_t max_version;
  int16_t flexible_from;  // kNeverFlexible: no flexible version
  // Listed by ApiVersions and served by the dispatcher. false: the codec
  // exists but no adapter does yet (see the contract above).
  bool advertised;
  // The minimum ApiVersions lists, when lower than the one served (-1: the
  // same). Produce lists 0 and serves 3+: librdkafka compresses with gzip,
  // snappy and lz4 only when the broker lists Produce v0 (librdkafka#4956),
  // and Kafka 4.0 does the same for that reason (KAFKA-18659). A request
  // below min_version is still refused.
  int16_t listed_min_version = -1;
};

// What ApiVersions lists as `api`'s minimum.
inline int16_t ListedMinVersion(const ApiInfo& api) {
  return api.listed_min_version >= 0 ? api.listed_min_version : api.min_version;
}

// Every API with a codec, sorted by key.
absl::Span<const ApiInfo> SupportedApis();
// The APIs an ApiVersions response lists, sorted by key.
absl::Span<const ApiInfo> AdvertisedApis();

// nullptr for a key without a codec.
const ApiInfo* FindApi(ApiKey key);
// A key in SupportedApis() and a version inside its range.
bool HasCodec(ApiKey key, int16_t version);
// A key in AdvertisedApis() and a version inside its range.
bool IsAdvertised(ApiKey key, int16_t version);

// Whether (key, version) uses the flexible encoding; false for unknown keys.
bool IsFlexible(ApiKey key, int16_t version);
// Request header v2 for flexible versions, else v1 (client_id stays a
// classic nullable string in v2).
int16_t RequestHeaderVersion(ApiKey key, int16_t version);
// Response header v1 (a tagged-field section) for flexible versions, else v0;
// ApiVersions always v0, so that a client can read the answer before it
// knows which versions the broker speaks (KIP-511).
int16_t ResponseHeaderVersion(ApiKey key, int16_t version);

}  // namespace strata::kafka
