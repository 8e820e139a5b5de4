// The records of the internal topic __consumer_offsets, byte for byte as
// Kafka writes them, so a group coordinator can persist committed offsets
// and group metadata as record keys/values that Kafka's tools (and a later
// migration) read as their own. Pure functions: no I/O, no state,
// thread-safe.
//
// Kafka's schemas: OffsetCommitKey/Value.json, GroupMetadataKey/Value.json
// (group-coordinator/src/main/resources/common/message); its reader and
// writer: GroupMetadataManager's readMessageKey, readOffsetMessageValue,
// readGroupMessageValue, offsetCommitValue, groupMetadataValue.
//
// Format. Big-endian integers. In versions that are not flexible a string
// is an int16 length and that many bytes (a nullable one has length -1 for
// null), bytes are an int32 length and the bytes, an array an int32 count.
// Flexible versions (v4 of both values) use Kafka's compact forms: an
// unsigned varint of length+1 (0 = null) for strings, bytes and arrays, and
// end every struct with tagged fields (an unsigned varint count, then each
// as varint tag, varint size, bytes).
//
// Key: int16 version, then
//   0, 1  OffsetCommitKey   group string, topic string, partition int32
//   2     GroupMetadataKey  group string
//   other records of the new (KIP-848) consumer-group, share-group and
//         streams-group coordinators (3 and up), which a classic
//         coordinator skips, as Kafka's readMessageKey does (UnknownKey,
//         "Ignoring it"); Kafka skips any other version the same way.
// OffsetCommitValue: int16 version, then
//   v0  offset int64, metadata string, commit_timestamp int64
//   v1  offset, metadata, commit_timestamp, expire_timestamp int64
//   v2  offset, metadata, commit_timestamp
//   v3  offset, leader_epoch int32, metadata, commit_timestamp
//   v4  as v3, flexible
// GroupMetadataValue: int16 version, then protocol_type string, generation
// int32, protocol nullable string, leader nullable string,
// [v2+ current_state_timestamp int64], members array of: member_id string,
// [v3+ group_instance_id nullable string], client_id string, client_host
// string, [v1+ rebalance_timeout int32], session_timeout int32,
// subscription bytes, assignment bytes. v4 is v3, flexible.
//
// What is written: keys as Kafka writes them (offset keys in version 1,
// group keys in version 2); offset values in v3, or v1 when an expire
// timestamp is set (v1 is the only version that carries one — and it has
// no leader epoch, so that is not written then), as Kafka does; group values
// in v3. Kafka writes the highest non-flexible version until a tagged
// field is defined, so it writes v4 of neither; we decode v4 and skip its
// (so far undefined) tagged fields.
//
// A tombstone (a record with a null value) deletes its key; that is the
// coordinator's business, and the value decoders only see non-null values.
//
// Errors. A decoder never trusts a length or count: anything that is
// truncated, has a length or count beyond the bytes that remain, a negative
// length where null is not allowed, an over-long varint, or an unknown
// value version is InvalidArgument, with a message naming the field and
// the problem. Bytes left over after the last field of a known version are
// InvalidArgument too: Kafka's generated readers would ignore them, but no
// writer of either system leaves any, so they can only mean corruption, or
// a value decoded with the wrong decoder (an offset value as a group one).
// A key of an unknown version is not corruption but a record type this
// coordinator does not own: DecodeKey returns Unimplemented("unknown key
// version N") for it (see IsUnknownKeyVersion), and the loader skips it.
//
// Strings are bytes as written (UTF-8 is not validated). Kafka's null and
// our empty string are one: an empty protocol, leader or group instance id
// is written as null, and a null one decodes as empty.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::group {

// The longest string the format holds (its int16 length).
inline constexpr size_t kMaxRecordStringBytes = 0x7fff;

// The key versions, which in __consumer_offsets double as record types.
inline constexpr int16_t kOffsetKeyVersion = 1;  // 0 is read as well
inline constexpr int16_t kGroupKeyVersion = 2;

// The committed offset of one partition for one group.
struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const OffsetKey&, const OffsetKey&) = default;
};

// The metadata of one group.
struct GroupKey {
  std::string group;

  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};

using RecordKey = std::variant<OffsetKey, GroupKey>;

struct OffsetValue {
  int64_t offset = -1;
  // Leader epoch of the last consumed record; -1 unknown (and in versions
  // before 3).
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
  // -1: none. Only v1 carries it (OffsetCommit requests before v5 could
  // set a retention); setting it makes EncodeValue write v1.
  int64_t expire_timestamp_ms = -1;

  friend bool operator==(const OffsetValue&, const OffsetValue&) = default;
};

struct StoredMember {
  std::string member_id;
  std::string group_instance_id;  // empty: a dynamic member (null)
  std::string client_id;
  std::string client_host;
  // v0 has no rebalance timeout; decoding it yields the session timeout,
  // as Kafka's loader does.
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  // The member's subscription for the group's protocol, and its assignment
  // in this generation: opaque bytes.
  std::string subscription;
  std::string assignment;

  friend bool operator==(const StoredMember&, const StoredMember&) = default;
};

struct GroupValue {
  std::string protocol_type;  // "" when the group has none (Kafka writes "")
  int32_t generation = 0;
  std::string protocol_name;  // empty: null
  std::string leader;         // empty: null
  // -1: unknown (and in versions before 2).
  int64_t current_state_timestamp_ms = -1;
  std::vector<StoredMember> members;

  friend bool operator==(const GroupValue&, const GroupValue&) = default;
};

// Encoders. Preconditions, CHECKed (a violation is the caller's bug: the
// coordinator refuses longer ids and metadata before it gets here): every
// string is at most kMaxRecordStringBytes long, every bytes field shorter
// than 2 GiB.
std::string EncodeKey(const OffsetKey& key);
std::string EncodeKey(const GroupKey& key);
std::string EncodeKey(const RecordKey& key);
std::string EncodeValue(const OffsetValue& value);
std::string EncodeValue(const GroupValue& value);

// Decoders; errors as described at the top.
absl::StatusOr<RecordKey> DecodeKey(std::string_view bytes);
absl::StatusOr<OffsetValue> DecodeOffsetValue(std::string_view bytes);
absl::StatusOr<GroupValue> DecodeGroupValue(std::string_view bytes);

// Whether `status` is DecodeKey's answer for a record type this
// coordinator does not own (a key version other than 0, 1, 2), which the
// caller skips rather than treat as corruption.
bool IsUnknownKeyVersion(const absl::Status& status);

}  // namespace strata::group
