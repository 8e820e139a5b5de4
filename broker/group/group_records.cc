#include "broker/group/group_records.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::group {
namespace {

// The versions of the values; v4 is the first flexible one of both.
constexpr int16_t kOffsetValueWithExpire = 1;
constexpr int16_t kOffsetValueCurrent = 3;
constexpr int16_t kOffsetValueMax = 4;
constexpr int16_t kGroupValueCurrent = 3;
constexpr int16_t kGroupValueMax = 4;
constexpr int16_t kFirstFlexibleVersion = 4;

class Writer {
 public:
  void Int16(int16_t v) { PutBigEndian(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { PutBigEndian(static_cast<uint32_t>(v), 4); }
  void Int64(int64_t v) { PutBigEndian(static_cast<uint64_t>(v), 8); }

  void String(std::string_view s) {
    CHECK_LE(s.size(), kMaxRecordStringBytes)
        << "a string too long for a __consumer_offsets record";
    Int16(static_cast<int16_t>(s.size()));
    out_.append(s);
  }
  // Empty is written as null.
  void NullableString(std::string_view s) {
    if (s.empty()) {
      Int16(-1);
    } else {
      String(s);
    }
  }
  void Bytes(std::string_view b) {
    CHECK_LE(b.size(), static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        << "a bytes field too long for a __consumer_offsets record";
    Int32(static_cast<int32_t>(b.size()));
    out_.append(b);
  }

  std::string Take() && { return std::move(out_); }

 private:
  void PutBigEndian(uint64_t v, int width) {
    for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }

  std::string out_;
};

// Reads one record's fields front to back. Every read checks what remains
// first, so a lying length fails instead of reading past the end; errors
// name the record (`what`), the scope (a member) and the field.
class Reader {
 public:
  Reader(std::string_view bytes, std::string what) : rest_(bytes), what_(std::move(what)) {}

  void set_what(std::string what) { what_ = std::move(what); }
  // A prefix for the fields read next, e.g. "members[2]"; empty for none.
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  size_t remaining() const { return rest_.size(); }

  absl::Status Int16(const char* field, int16_t* out) {
    uint64_t v = 0;
    if (absl::Status s = BigEndian(field, 2, &v); !s.ok()) return s;
    *out = static_cast<int16_t>(static_cast<uint16_t>(v));
    return absl::OkStatus();
  }
  absl::Status Int32(const char* field, int32_t* out) {
    uint64_t v = 0;
    if (absl::Status s = BigEndian(field, 4, &v); !s.ok()) return s;
    *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return absl::OkStatus();
  }
  absl::Status Int64(const char* field, int64_t* out) {
    uint64_t v = 0;
    if (absl::Status s = BigEndian(field, 8, &v); !s.ok()) return s;
    *out = static_cast<int64_t>(v);
    return absl::OkStatus();
  }

  // A string that may not be null.
  absl::Status String(const char* field, bool flexible, std::string* out) {
    return StringImpl(field, flexible, /*nullable=*/false, out);
  }
  // A nullable string; null reads as empty.
  absl::Status NullableString(const char* field, bool flexible, std::string* out) {
    return StringImpl(field, flexible, /*nullable=*/true, out);
  }

  // Non-nullable bytes.
  absl::Status Bytes(const char* field, bool flexible, std::string* out) {
    int64_t length = 0;
    if (flexible) {
      uint32_t n = 0;
      if (absl::Status s = UnsignedVarint(field, &n); !s.ok()) return s;
      length = static_cast<int64_t>(n) - 1;
    } else {
      int32_t n = 0;
      if (absl::Status s = Int32(field, &n); !s.ok()) return s;
      length = n;
      if (length < -1) return Error(field, absl::StrCat("negative length ", length));
    }
    if (length < 0) return Error(field, "null, but the field is not nullable");
    return Take(field, length, out);
  }

  // A non-nullable array's element count, checked against what remains:
  // each element takes at least `min_element_bytes`, so the count can size
  // an allocation.
  absl::Status ArrayCount(const char* field, bool flexible, size_t min_element_bytes,
                          size_t* count) {
    int64_t n = 0;
    if (flexible) {
      uint32_t v = 0;
      if (absl::Status s = UnsignedVarint(field, &v); !s.ok()) return s;
      n = static_cast<int64_t>(v) - 1;
    } else {
      int32_t v = 0;
      if (absl::Status s = Int32(field, &v); !s.ok()) return s;
      n = v;
      if (n < -1) return Error(field, absl::StrCat("negative count ", n));
    }
    if (n < 0) return Error(field, "null, but the array is not nullable");
    if (static_cast<uint64_t>(n) > rest_.size() / min_element_bytes) {
      return Error(field, absl::StrCat("count ", n, " needs at least ", n * min_element_bytes,
                                       " bytes, but ", rest_.size(), " remain"));
    }
    *count = static_cast<size_t>(n);
    return absl::OkStatus();
  }

  // A flexible struct's tagged fields. None is defined in these records
  // yet, so all are skipped (Kafka keeps them as unknown tagged fields).
  absl::Status SkipTaggedFields() {
    constexpr const char* kField = "tagged fields";
    uint32_t count = 0;
    if (absl::Status s = UnsignedVarint(kField, &count); !s.ok()) return s;
    // Each iteration consumes bytes or fails, so a lying count ends soon.
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t tag = 0;
      uint32_t size = 0;
      if (absl::Status s = UnsignedVarint(kField, &tag); !s.ok()) return s;
      if (absl::Status s = UnsignedVarint(kField, &size); !s.ok()) return s;
      if (size > rest_.size()) {
        return Error(kField, absl::StrCat("tag ", tag, " has size ", size, ", but ", rest_.size(),
                                          " bytes remain"));
      }
      rest_.remove_prefix(size);
    }
    return absl::OkStatus();
  }

  // After the last field: nothing may remain.
  absl::Status Finish() {
    set_scope("");
    if (!rest_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what_, ": ", rest_.size(), " trailing bytes after the last field"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* field, std::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": ", scope_, scope_.empty() ? "" : ".",
                                                   field, ": ", std::string(problem)));
  }

  absl::Status BigEndian(const char* field, size_t width, uint64_t* out) {
    if (rest_.size() < width) {
      return Error(field,
                   absl::StrCat("truncated: needs ", width, " bytes, ", rest_.size(), " remain"));
    }
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(width);
    *out = v;
    return absl::OkStatus();
  }

  // Kafka's unsigned varint of at most 32 bits: at most 5 bytes, 7 bits
  // each, low group first.
  absl::Status UnsignedVarint(const char* field, uint32_t* out) {
    uint64_t v = 0;
    for (int i = 0; i < 5; ++i) {
      if (rest_.empty()) return Error(field, "truncated varint");
      const auto b = static_cast<unsigned char>(rest_.front());
      rest_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        if (v > std::numeric_limits<uint32_t>::max()) return Error(field, "varint exceeds 32 bits");
        *out = static_cast<uint32_t>(v);
        return absl::OkStatus();
      }
    }
    return Error(field, "varint longer than 5 bytes");
  }

  absl::Status StringImpl(const char* field, bool flexible, bool nullable, std::string* out) {
    int64_t length = 0;
    if (flexible) {
      uint32_t n = 0;
      if (absl::Status s = UnsignedVarint(field, &n); !s.ok()) return s;
      length = static_cast<int64_t>(n) - 1;
    } else {
      int16_t n = 0;
      if (absl::Status s = Int16(field, &n); !s.ok()) return s;
      length = n;
      // -1 is null; any other negative length is garbage, not null.
      if (length < -1) return Error(field, absl::StrCat("negative length ", length));
    }
    if (length < 0) {
      if (!nullable) return Error(field, "null, but the field is not nullable");
      out->clear();
      return absl::OkStatus();
    }
    if (length > static_cast<int64_t>(kMaxRecordStringBytes)) {
      return Error(field,
                   absl::StrCat("length ", length, " exceeds the maximum ", kMaxRecordStringBytes));
    }
    return Take(field, length, out);
  }

  absl::Status Take(const char* field, int64_t length, std::string* out) {
    if (static_cast<uint64_t>(length) > rest_.size()) {
      return Error(field, absl::StrCat("length ", length, " exceeds the ", rest_.size(),
                                       " bytes that remain"));
    }
    out->assign(rest_.substr(0, static_cast<size_t>(length)));
    rest_.remove_prefix(static_cast<size_t>(length));
    return absl::OkStatus();
  }

  std::string_view rest_;
  std::string what_;
  std::string scope_;
};

// Shorthand: return the status of `expr` unless it is OK.
#define STRATA_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

// The fewest bytes a member of a group value of `version` takes: its
// strings and bytes empty (and, flexible, no tagged fields).
size_t MinMemberBytes(int16_t version) {
  if (version >= kFirstFlexibleVersion) {
    // member_id, instance id, client_id, client_host: 1 each; two int32s;
    // subscription, assignment: 1 each; tagged fields: 1.
    return 4 + 8 + 2 + 1;
  }
  size_t bytes = 2 + 2 + 2 + 4 + 4 + 4;  // ids, host, session, sub, assignment
  if (version >= 1) bytes += 4;          // rebalance timeout
  if (version >= 3) bytes += 2;          // group instance id
  return bytes;
}

absl::Status ReadMember(Reader& r, int16_t version, StoredMember* m) {
  const bool flexible = version >= kFirstFlexibleVersion;
  STRATA_RETURN_IF_ERROR(r.String("member_id", flexible, &m->member_id));
  if (version >= 3) {
    STRATA_RETURN_IF_ERROR(r.NullableString("group_instance_id", flexible, &m->group_instance_id));
  }
  STRATA_RETURN_IF_ERROR(r.String("client_id", flexible, &m->client_id));
  STRATA_RETURN_IF_ERROR(r.String("client_host", flexible, &m->client_host));
  if (version >= 1) {
    STRATA_RETURN_IF_ERROR(r.Int32("rebalance_timeout", &m->rebalance_timeout_ms));
  }
  STRATA_RETURN_IF_ERROR(r.Int32("session_timeout", &m->session_timeout_ms));
  // v0 predates rebalance timeouts: the session timeout served as one.
  if (version == 0) m->rebalance_timeout_ms = m->session_timeout_ms;
  STRATA_RETURN_IF_ERROR(r.Bytes("subscription", flexible, &m->subscription));
  STRATA_RETURN_IF_ERROR(r.Bytes("assignment", flexible, &m->assignment));
  if (flexible) STRATA_RETURN_IF_ERROR(r.SkipTaggedFields());
  return absl::OkStatus();
}

}  // namespace

std::string EncodeKey(const OffsetKey& key) {
  Writer w;
  w.Int16(kOffsetKeyVersion);
  w.String(key.group);
  w.String(key.topic);
  w.Int32(key.partition);
  return std::move(w).Take();
}

std::string EncodeKey(const GroupKey& key) {
  Writer w;
  w.Int16(kGroupKeyVersion);
  w.String(key.group);
  return std::move(w).Take();
}

std::string EncodeKey(const RecordKey& key) {
  return std::visit([](const auto& k) { return EncodeKey(k); }, key);
}

std::string EncodeValue(const OffsetValue& value) {
  Writer w;
  if (value.expire_timestamp_ms != -1) {
    w.Int16(kOffsetValueWithExpire);
    w.Int64(value.offset);
    w.String(value.metadata);
    w.Int64(value.commit_timestamp_ms);
    w.Int64(value.expire_timestamp_ms);
  } else {
    w.Int16(kOffsetValueCurrent);
    w.Int64(value.offset);
    w.Int32(value.leader_epoch);
    w.String(value.metadata);
    w.Int64(value.commit_timestamp_ms);
  }
  return std::move(w).Take();
}

std::string EncodeValue(const GroupValue& value) {
  Writer w;
  w.Int16(kGroupValueCurrent);
  w.String(value.protocol_type);
  w.Int32(value.generation);
  w.NullableString(value.protocol_name);
  w.NullableString(value.leader);
  w.Int64(value.current_state_timestamp_ms);
  CHECK_LE(value.members.size(), static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  w.Int32(static_cast<int32_t>(value.members.size()));
  for (const StoredMember& m : value.members) {
    w.String(m.member_id);
    w.NullableString(m.group_instance_id);
    w.String(m.client_id);
    w.String(m.client_host);
    w.Int32(m.rebalance_timeout_ms);
    w.Int32(m.session_timeout_ms);
    w.Bytes(m.subscription);
    w.Bytes(m.assignment);
  }
  return std::move(w).Take();
}

absl::StatusOr<RecordKey> DecodeKey(std::string_view bytes) {
  Reader r(bytes, "key");
  int16_t version = 0;
  STRATA_RETURN_IF_ERROR(r.Int16("version", &version));
  if (version == 0 || version == 1) {
    r.set_what(absl::StrCat("offset key v", version));
    OffsetKey key;
    STRATA_RETURN_IF_ERROR(r.String("group", /*flexible=*/false, &key.group));
    STRATA_RETURN_IF_ERROR(r.String("topic", /*flexible=*/false, &key.topic));
    STRATA_RETURN_IF_ERROR(r.Int32("partition", &key.partition));
    STRATA_RETURN_IF_ERROR(r.Finish());
    return key;
  }
  if (version == kGroupKeyVersion) {
    r.set_what("group key v2");
    GroupKey key;
    STRATA_RETURN_IF_ERROR(r.String("group", /*flexible=*/false, &key.group));
    STRATA_RETURN_IF_ERROR(r.Finish());
    return key;
  }
  return absl::UnimplementedError(absl::StrCat("unknown key version ", version));
}

bool IsUnknownKeyVersion(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnimplemented;
}

absl::StatusOr<OffsetValue> DecodeOffsetValue(std::string_view bytes) {
  Reader r(bytes, "offset value");
  int16_t version = 0;
  STRATA_RETURN_IF_ERROR(r.Int16("version", &version));
  if (version < 0 || version > kOffsetValueMax) {
    return absl::InvalidArgumentError(absl::StrCat("offset value: unknown version ", version));
  }
  r.set_what(absl::StrCat("offset value v", version));
  const bool flexible = version >= kFirstFlexibleVersion;
  OffsetValue value;
  STRATA_RETURN_IF_ERROR(r.Int64("offset", &value.offset));
  if (version >= 3) STRATA_RETURN_IF_ERROR(r.Int32("leader_epoch", &value.leader_epoch));
  STRATA_RETURN_IF_ERROR(r.String("metadata", flexible, &value.metadata));
  STRATA_RETURN_IF_ERROR(r.Int64("commit_timestamp", &value.commit_timestamp_ms));
  if (version == 1) STRATA_RETURN_IF_ERROR(r.Int64("expire_timestamp", &value.expire_timestamp_ms));
  if (flexible) STRATA_RETURN_IF_ERROR(r.SkipTaggedFields());
  STRATA_RETURN_IF_ERROR(r.Finish());
  return value;
}

absl::StatusOr<GroupValue> DecodeGroupValue(std::string_view bytes) {
  Reader r(bytes, "group value");
  int16_t version = 0;
  STRATA_RETURN_IF_ERROR(r.Int16("version", &version));
  if (version < 0 || version > kGroupValueMax) {
    return absl::InvalidArgumentError(absl::StrCat("group value: unknown version ", version));
  }
  r.set_what(absl::StrCat("group value v", version));
  const bool flexible = version >= kFirstFlexibleVersion;
  GroupValue value;
  STRATA_RETURN_IF_ERROR(r.String("protocol_type", flexible, &value.protocol_type));
  STRATA_RETURN_IF_ERROR(r.Int32("generation", &value.generation));
  STRATA_RETURN_IF_ERROR(r.NullableString("protocol", flexible, &value.protocol_name));
  STRATA_RETURN_IF_ERROR(r.NullableString("leader", flexible, &value.leader));
  if (version >= 2) {
    STRATA_RETURN_IF_ERROR(r.Int64("current_state_timestamp", &value.current_state_timestamp_ms));
  }
  size_t count = 0;
  STRATA_RETURN_IF_ERROR(r.ArrayCount("members", flexible, MinMemberBytes(version), &count));
  value.members.resize(count);
  for (size_t i = 0; i < count; ++i) {
    r.set_scope(absl::StrCat("members[", i, "]"));
    STRATA_RETURN_IF_ERROR(ReadMember(r, version, &value.members[i]));
  }
  r.set_scope("");
  if (flexible) STRATA_RETURN_IF_ERROR(r.SkipTaggedFields());
  STRATA_RETURN_IF_ERROR(r.Finish());
  return value;
}

#undef STRATA_RETURN_IF_ERROR

}  // namespace strata::group
