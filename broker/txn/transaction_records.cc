#include "broker/txn/transaction_records.h"

#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::txn {
namespace {

constexpr int16_t kValueV0 = 0;
constexpr int16_t kValueV1 = 1;  // flexible
constexpr int8_t kHighestStateId = 7;

// KIP-890's tagged fields of value v1.
constexpr uint32_t kTagPreviousProducerId = 0;
constexpr uint32_t kTagNextProducerId = 1;
constexpr uint32_t kTagClientTransactionVersion = 2;

class Writer {
 public:
  explicit Writer(bool flexible) : flexible_(flexible) {}

  void Int8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { BigEndian(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { BigEndian(static_cast<uint32_t>(v), 4); }
  void Int64(int64_t v) { BigEndian(static_cast<uint64_t>(v), 8); }
  void UnsignedVarint(uint32_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void String(std::string_view s) {
    CHECK_LE(s.size(), kMaxRecordStringBytes)
        << "a string too long for a __transaction_state record";
    if (flexible_) {
      UnsignedVarint(static_cast<uint32_t>(s.size()) + 1);
    } else {
      Int16(static_cast<int16_t>(s.size()));
    }
    out_.append(s);
  }
  // An array's count; `null` writes the null marker.
  void ArrayCount(size_t n, bool null = false) {
    CHECK_LT(n, static_cast<size_t>(std::numeric_limits<int32_t>::max()));
    if (flexible_) {
      UnsignedVarint(null ? 0 : static_cast<uint32_t>(n) + 1);
    } else {
      Int32(null ? -1 : static_cast<int32_t>(n));
    }
  }
  void Append(std::string_view bytes) { out_.append(bytes); }
  size_t size() const { return out_.size(); }
  std::string Take() && { return std::move(out_); }

 private:
  void BigEndian(uint64_t v, int width) {
    for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }

  const bool flexible_;
  std::string out_;
};

// Reads one record front to back. Every read checks what remains first,
// so a lying length fails instead of reading past the end; errors name the
// record (`what`), the scope (an array element) and the field.
class Reader {
 public:
  Reader(std::string_view bytes, std::string what) : rest_(bytes), what_(std::move(what)) {}

  void set_what(std::string what) { what_ = std::move(what); }
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  size_t remaining() const { return rest_.size(); }

  absl::Status Int8(const char* field, int8_t* out) {
    uint64_t v = 0;
    if (absl::Status s = BigEndian(field, 1, &v); !s.ok()) return s;
    *out = static_cast<int8_t>(static_cast<uint8_t>(v));
    return absl::OkStatus();
  }
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

  // Kafka's unsigned varint of at most 32 bits: at most 5 bytes.
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

  // A string that may not be null.
  absl::Status String(const char* field, bool flexible, std::string* out) {
    int64_t length = 0;
    if (flexible) {
      uint32_t n = 0;
      if (absl::Status s = UnsignedVarint(field, &n); !s.ok()) return s;
      length = static_cast<int64_t>(n) - 1;
    } else {
      int16_t n = 0;
      if (absl::Status s = Int16(field, &n); !s.ok()) return s;
      length = n;
      if (length < -1) return Error(field, absl::StrCat("negative length ", length));
    }
    if (length < 0) return Error(field, "null, but the field is not nullable");
    if (length > static_cast<int64_t>(kMaxRecordStringBytes)) {
      return Error(field,
                   absl::StrCat("length ", length, " exceeds the maximum ", kMaxRecordStringBytes));
    }
    if (static_cast<uint64_t>(length) > rest_.size()) {
      return Error(field, absl::StrCat("length ", length, " exceeds the ", rest_.size(),
                                       " bytes that remain"));
    }
    out->assign(rest_.substr(0, static_cast<size_t>(length)));
    rest_.remove_prefix(static_cast<size_t>(length));
    return absl::OkStatus();
  }

  // An array's element count, -1 for null (when `nullable`), checked
  // against what remains: each element takes at least `min_element_bytes`,
  // so the count can size an allocation.
  absl::Status ArrayCount(const char* field, bool flexible, bool nullable, size_t min_element_bytes,
                          int64_t* count) {
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
    if (n < 0) {
      if (!nullable) return Error(field, "null, but the array is not nullable");
      *count = -1;
      return absl::OkStatus();
    }
    if (static_cast<uint64_t>(n) > rest_.size() / min_element_bytes) {
      return Error(field, absl::StrCat("count ", n, " needs at least ", n * min_element_bytes,
                                       " bytes, but ", rest_.size(), " remain"));
    }
    *count = n;
    return absl::OkStatus();
  }

  // A flexible struct's tagged fields: (tag, bytes) in order; each is
  // checked against what remains.
  absl::Status TaggedFields(std::vector<std::pair<uint32_t, std::string_view>>* fields) {
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
      if (fields != nullptr) fields->emplace_back(tag, rest_.substr(0, size));
      rest_.remove_prefix(size);
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    set_scope("");
    if (!rest_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what_, ": ", rest_.size(), " trailing bytes after the last field"));
    }
    return absl::OkStatus();
  }

  absl::Status Error(const char* field, std::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": ", scope_, scope_.empty() ? "" : ".",
                                                   field, ": ", std::string(problem)));
  }

 private:
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

  std::string_view rest_;
  std::string what_;
  std::string scope_;
};

#define STRATA_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

// A KIP-890 tagged field's bytes as a big-endian integer of `width` bytes.
absl::Status ReadTaggedInt(Reader& r, const char* field, std::string_view bytes, size_t width,
                           int64_t* out) {
  if (bytes.size() != width) {
    return r.Error(field,
                   absl::StrCat("tagged field of ", bytes.size(), " bytes, expected ", width));
  }
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  *out = width == 8 ? static_cast<int64_t>(v) : static_cast<int16_t>(static_cast<uint16_t>(v));
  return absl::OkStatus();
}

}  // namespace

const char* TransactionStateName(TransactionState state) {
  switch (state) {
    case TransactionState::kEmpty:
      return "Empty";
    case TransactionState::kOngoing:
      return "Ongoing";
    case TransactionState::kPrepareCommit:
      return "PrepareCommit";
    case TransactionState::kPrepareAbort:
      return "PrepareAbort";
    case TransactionState::kCompleteCommit:
      return "CompleteCommit";
    case TransactionState::kCompleteAbort:
      return "CompleteAbort";
    case TransactionState::kDead:
      return "Dead";
    case TransactionState::kPrepareEpochFence:
      return "PrepareEpochFence";
  }
  return "Unknown";
}

std::optional<TransactionState> TransactionStateFromId(int8_t id) {
  if (id < 0 || id > kHighestStateId) return std::nullopt;
  return static_cast<TransactionState>(id);
}

std::string EncodeKey(std::string_view transactional_id) {
  Writer w(/*flexible=*/false);
  w.Int16(kTxnKeyVersion);
  w.String(transactional_id);
  return std::move(w).Take();
}

std::string EncodeValue(const TransactionLogValue& value) {
  const bool flexible = value.previous_producer_id != -1 || value.next_producer_id != -1 ||
                        value.client_transaction_version != 0;
  Writer w(flexible);
  w.Int16(flexible ? kValueV1 : kValueV0);
  w.Int64(value.producer_id);
  w.Int16(value.producer_epoch);
  w.Int32(value.transaction_timeout_ms);
  w.Int8(static_cast<int8_t>(value.state));
  if (value.state == TransactionState::kEmpty) {
    // Kafka writes an Empty transaction's partitions as null.
    w.ArrayCount(0, /*null=*/true);
  } else {
    std::map<std::string_view, std::vector<int32_t>> by_topic;
    for (const TxnTopicPartition& tp : value.partitions) by_topic[tp.topic].push_back(tp.partition);
    w.ArrayCount(by_topic.size());
    for (const auto& [topic, ids] : by_topic) {
      w.String(topic);
      w.ArrayCount(ids.size());
      for (int32_t id : ids) w.Int32(id);
      if (flexible) w.UnsignedVarint(0);  // no tagged fields
    }
  }
  w.Int64(value.last_update_timestamp_ms);
  w.Int64(value.start_timestamp_ms);
  if (flexible) {
    std::vector<std::pair<uint32_t, std::string>> tagged;
    auto tag = [&](uint32_t t, uint64_t v, int width) {
      Writer f(/*flexible=*/true);
      if (width == 8) {
        f.Int64(static_cast<int64_t>(v));
      } else {
        f.Int16(static_cast<int16_t>(v));
      }
      tagged.emplace_back(t, std::move(f).Take());
    };
    if (value.previous_producer_id != -1) {
      tag(kTagPreviousProducerId, static_cast<uint64_t>(value.previous_producer_id), 8);
    }
    if (value.next_producer_id != -1) {
      tag(kTagNextProducerId, static_cast<uint64_t>(value.next_producer_id), 8);
    }
    if (value.client_transaction_version != 0) {
      tag(kTagClientTransactionVersion, static_cast<uint16_t>(value.client_transaction_version), 2);
    }
    w.UnsignedVarint(static_cast<uint32_t>(tagged.size()));
    for (const auto& [t, bytes] : tagged) {
      w.UnsignedVarint(t);
      w.UnsignedVarint(static_cast<uint32_t>(bytes.size()));
      w.Append(bytes);
    }
  }
  return std::move(w).Take();
}

absl::StatusOr<std::string> DecodeKey(std::string_view bytes) {
  Reader r(bytes, "transaction key");
  int16_t version = 0;
  STRATA_RETURN_IF_ERROR(r.Int16("version", &version));
  if (version != kTxnKeyVersion) {
    return absl::UnimplementedError(absl::StrCat("unknown key version ", version));
  }
  r.set_what("transaction key v0");
  std::string id;
  STRATA_RETURN_IF_ERROR(r.String("transactional_id", /*flexible=*/false, &id));
  STRATA_RETURN_IF_ERROR(r.Finish());
  return id;
}

bool IsUnknownKeyVersion(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnimplemented;
}

absl::StatusOr<TransactionLogValue> DecodeValue(std::string_view bytes) {
  Reader r(bytes, "transaction value");
  int16_t version = 0;
  STRATA_RETURN_IF_ERROR(r.Int16("version", &version));
  if (version != kValueV0 && version != kValueV1) {
    return absl::InvalidArgumentError(absl::StrCat("transaction value: unknown version ", version));
  }
  r.set_what(absl::StrCat("transaction value v", version));
  const bool flexible = version == kValueV1;
  TransactionLogValue value;
  STRATA_RETURN_IF_ERROR(r.Int64("producer_id", &value.producer_id));
  STRATA_RETURN_IF_ERROR(r.Int16("producer_epoch", &value.producer_epoch));
  STRATA_RETURN_IF_ERROR(r.Int32("transaction_timeout_ms", &value.transaction_timeout_ms));
  int8_t status = 0;
  STRATA_RETURN_IF_ERROR(r.Int8("transaction_status", &status));
  std::optional<TransactionState> state = TransactionStateFromId(status);
  if (!state) {
    return r.Error("transaction_status", absl::StrCat("unknown status id ", status));
  }
  value.state = *state;
  // A topic entry takes at least: topic (2 bytes, or 1 flexible) and the
  // partition count (4, or 1), and flexible, its tagged fields (1).
  int64_t topics = 0;
  STRATA_RETURN_IF_ERROR(r.ArrayCount("transaction_partitions", flexible, /*nullable=*/true,
                                      flexible ? 3 : 6, &topics));
  for (int64_t i = 0; i < topics; ++i) {
    r.set_scope(absl::StrCat("transaction_partitions[", i, "]"));
    std::string topic;
    STRATA_RETURN_IF_ERROR(r.String("topic", flexible, &topic));
    int64_t count = 0;
    STRATA_RETURN_IF_ERROR(r.ArrayCount("partition_ids", flexible, /*nullable=*/false, 4, &count));
    for (int64_t j = 0; j < count; ++j) {
      int32_t id = 0;
      STRATA_RETURN_IF_ERROR(r.Int32("partition_ids", &id));
      // Kafka ignores an Empty transaction's partitions when it loads.
      if (value.state != TransactionState::kEmpty) value.partitions.insert({topic, id});
    }
    if (flexible) STRATA_RETURN_IF_ERROR(r.TaggedFields(nullptr));
  }
  r.set_scope("");
  STRATA_RETURN_IF_ERROR(
      r.Int64("transaction_last_update_timestamp_ms", &value.last_update_timestamp_ms));
  STRATA_RETURN_IF_ERROR(r.Int64("transaction_start_timestamp_ms", &value.start_timestamp_ms));
  if (flexible) {
    std::vector<std::pair<uint32_t, std::string_view>> tagged;
    STRATA_RETURN_IF_ERROR(r.TaggedFields(&tagged));
    for (const auto& [tag, field] : tagged) {
      int64_t v = 0;
      if (tag == kTagPreviousProducerId) {
        STRATA_RETURN_IF_ERROR(ReadTaggedInt(r, "previous_producer_id", field, 8, &v));
        value.previous_producer_id = v;
      } else if (tag == kTagNextProducerId) {
        STRATA_RETURN_IF_ERROR(ReadTaggedInt(r, "next_producer_id", field, 8, &v));
        value.next_producer_id = v;
      } else if (tag == kTagClientTransactionVersion) {
        STRATA_RETURN_IF_ERROR(ReadTaggedInt(r, "client_transaction_version", field, 2, &v));
        value.client_transaction_version = static_cast<int16_t>(v);
      }
      // Tags defined later are skipped, as Kafka keeps them unknown.
    }
  }
  STRATA_RETURN_IF_ERROR(r.Finish());
  return value;
}

#undef STRATA_RETURN_IF_ERROR

}  // namespace strata::txn
