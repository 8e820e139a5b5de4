// Kafka's consumer protocol: the bytes a consumer puts in its JoinGroup
// protocol metadata (a subscription) and the group leader puts in SyncGroup
// (one assignment per member), plus the user data the sticky assignors
// carry inside a subscription. Strata's consumer writes and reads exactly
// what a Java or librdkafka consumer does, so the three can share a group.
//
// Wire format (big-endian, Kafka's non-flexible encodings; apache/kafka's
// ConsumerProtocolSubscription.json and ConsumerProtocolAssignment.json):
//
//   Subscription  := version:int16 topics:[string] user_data:bytes?
//                    owned_partitions:[topic:string partitions:[int32]]  (v1+)
//                    generation_id:int32                                 (v2+)
//                    rack_id:string?                                     (v3+)
//   Assignment    := version:int16 partitions:[topic:string partitions:[int32]]
//                    user_data:bytes?                                    (same in v0..v3)
//
//   [x]     int32 count, then the elements (never null here)
//   string  int16 length, then the bytes;  string? : length -1 is null
//   bytes?  int32 length, then the bytes;  length -1 is null
//
// A decoder reads a version newer than 3 as version 3 and ignores whatever
// follows the fields it knows, as Kafka does: newer versions only append.
// Trailing bytes after a known version are ignored too (Kafka does not
// check). Input that is cut short, or whose lengths or counts are negative
// (other than -1 where null is allowed) or promise more than the remaining
// bytes, is an InvalidArgument error naming the field; a decoder never
// allocates more than the input's size suggests.
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/common/ids.h"

namespace strata::client {

inline constexpr int16_t kConsumerProtocolMaxVersion = 3;

struct ConsumerSubscription {
  std::vector<std::string> topics;
  // The assignor's opaque data. Written as null unless `has_user_data` or
  // `user_data` is non-empty; decoding sets `has_user_data` iff not null.
  std::string user_data;
  bool has_user_data = false;
  // v1+: the partitions the member owns now (cooperative rebalancing keeps
  // consuming them through the rebalance). Written grouped by topic in the
  // order topics first appear.
  std::vector<TopicPartition> owned_partitions;
  // v2+: the generation `owned_partitions` belong to; -1 when unknown.
  int32_t generation_id = -1;
  // v3+: the member's client.rack; empty is written as null (Kafka treats
  // an empty rack as none).
  std::string rack_id;

  friend bool operator==(const ConsumerSubscription&, const ConsumerSubscription&) = default;
};

struct ConsumerAssignment {
  std::vector<TopicPartition> partitions;
  // Empty is written as null, Kafka's default; null decodes as empty.
  std::string user_data;

  friend bool operator==(const ConsumerAssignment&, const ConsumerAssignment&) = default;
};

// `version` above 3 is written as 3 and below 0 as 0 (Kafka clamps the
// same way): the fields a version lacks are left out.
std::string EncodeSubscription(const ConsumerSubscription& subscription,
                               int16_t version = kConsumerProtocolMaxVersion);
absl::StatusOr<ConsumerSubscription> DecodeSubscription(std::string_view bytes);

std::string EncodeAssignment(const ConsumerAssignment& assignment,
                             int16_t version = kConsumerProtocolMaxVersion);
absl::StatusOr<ConsumerAssignment> DecodeAssignment(std::string_view bytes);

// The eager StickyAssignor's subscription user data: the member's previous
// assignment and the generation it was given in, so the leader can keep
// partitions where they were (Kafka's StickyAssignorUserData):
//
//   v1 := previous_assignment:[topic:string partitions:[int32]] generation:int32
//   v0 := previous_assignment:[topic:string partitions:[int32]]
//
// There is no version field: a decoder tries v1 and falls back to v0 when
// the generation is missing. Encoding writes v0 when `generation` is unset.
struct StickyUserData {
  std::vector<TopicPartition> partitions;
  std::optional<int32_t> generation;

  friend bool operator==(const StickyUserData&, const StickyUserData&) = default;
};
std::string EncodeStickyUserData(const StickyUserData& data);
absl::StatusOr<StickyUserData> DecodeStickyUserData(std::string_view bytes);

// The CooperativeStickyAssignor's subscription user data: the member's
// generation, int32 (Kafka's CooperativeStickyAssignor user data v0). Kafka
// 3.x still sends it beside subscription v2's generation_id so that a 2.x
// leader finds it; a leader prefers generation_id when it is set.
std::string EncodeCooperativeUserData(int32_t generation);
absl::StatusOr<int32_t> DecodeCooperativeUserData(std::string_view bytes);

}  // namespace strata::client
