// The table-driven codec: a declarative description of a message's fields
// (names, types, the versions each exists in, nullability, tags) bound to a
// plain C++ struct through member pointers, and one interpreter that decodes
// and encodes any described struct at any version.
//
// A table row reads like a line of Kafka's message JSON:
//
//   Int32<&FetchRequest::session_id>("SessionId").Since(7).Ignorable(),
//   Array<&FetchRequest::topics>("Topics"),
//   Str<&JoinGroupRequest::group_instance_id>("GroupInstanceId").Since(5).Nullable(),
//
// The builders check at compile time that the member's C++ type fits the
// wire type (int32_t for Int32, std::string or std::optional<std::string>
// for Str, std::vector<...> for Array, ...). An array of structs finds the
// element's table through SpecOf<Element>(), which messages.cc specializes
// for every struct. Defaults are the structs' member initializers: a field
// absent from a version decodes to it, and a tagged field equal to it is not
// written.
//
// Contract of the interpreter (DecodeStruct / EncodeStruct)
//   - Fields are read and written in table order, skipping those whose
//     versions do not include `version`. In flexible versions strings, bytes
//     and arrays are compact, tagged fields go to the struct's tagged-field
//     section (ascending tags, only those not equal to their default), and
//     unknown tags are skipped after their size is checked.
//   - Decoding never reads past the Reader, checks every length and count
//     before allocating (wire.h), refuses null where the version does not
//     allow it, and names the struct and field in its InvalidArgument.
//   - Encoding fails (InvalidArgument) for what the version cannot carry:
//     null in a non-nullable version, a string over 32767 bytes, or a field
//     the version lacks holding a non-default value unless the field is
//     ignorable (Kafka's rule: ignorable fields are dropped silently).
//   Tables are immutable once built; both functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/kafka/wire.h"

namespace strata::kafka {

inline constexpr int16_t kMaxVersion = 0x7fff;

// An inclusive range of versions; lo > hi is empty.
struct Versions {
  int16_t lo = 0;
  int16_t hi = kMaxVersion;

  static constexpr Versions None() { return {1, 0}; }
  constexpr bool Contains(int16_t v) const { return lo <= v && v <= hi; }
  constexpr bool empty() const { return lo > hi; }
  constexpr bool operator==(const Versions&) const = default;
};

enum class WireType : uint8_t {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint16,
  kUint32,
  kFloat64,
  kUuid,
  kString,
  kBytes,
  kRecords,  // record batches: bytes to this codec
  kArray,
  kStruct,  // only as an array's element type
};

struct StructSpec;
struct FieldSpec;

// What a field's codec needs to know at one version.
struct FieldContext {
  int16_t version;
  bool flexible;
  bool nullable;  // null allowed at this version
  WireType type;  // the field's type; for an array's elements, theirs
  const FieldSpec* field;
};

struct FieldSpec {
  const char* name = "";
  WireType type = WireType::kInt32;
  WireType element = WireType::kInt32;  // kArray only
  Versions versions;
  Versions nullable_versions = Versions::None();
  int32_t tag = -1;  // >= 0: a tagged field (flexible versions only)
  bool ignorable = false;
  bool optional_member = false;            // the C++ member is a std::optional
  const StructSpec& (*child)() = nullptr;  // element table, kStruct only

  // Type-erased access to the bound member of `object`.
  absl::Status (*decode)(Reader&, const FieldContext&, void* object) = nullptr;
  absl::Status (*encode)(Writer&, const FieldContext&, const void* object) = nullptr;
  bool (*is_default)(const void* object) = nullptr;
  void (*reset)(void* object) = nullptr;

  // Modifiers, chained in the tables. Versions are Kafka's: Since(3) is
  // "3+", Between(0, 2) is "0-2".
  FieldSpec Since(int16_t v) const;
  FieldSpec Between(int16_t lo, int16_t hi) const;
  // Nullable in every version of the field, or from v on.
  FieldSpec Nullable() const;
  FieldSpec NullableSince(int16_t v) const;
  FieldSpec Tag(int32_t t) const;
  FieldSpec Ignorable() const;
};

struct StructSpec {
  const char* name;
  std::vector<FieldSpec> fields;
};

// The table of struct S; specialized for every message struct in
// messages.cc (declared for the top-level ones in messages.h).
template <typename S>
const StructSpec& SpecOf();

// The interpreter. `object` is an S whose table is `spec`.
absl::Status DecodeStruct(const StructSpec& spec, int16_t version, bool flexible, Reader& reader,
                          void* object);
absl::Status EncodeStruct(const StructSpec& spec, int16_t version, bool flexible, Writer& writer,
                          const void* object);

// The fewest bytes one S can take at `version`: the bound for an array's
// element count.
size_t MinStructSize(const StructSpec& spec, int16_t version, bool flexible);
size_t MinEncodedSize(WireType type, bool flexible);

// ---- How the tables bind to members (used by messages.cc) ----
namespace schema_internal {

template <auto M>
struct Member;
template <typename S, typename T, T S::*M>
struct Member<M> {
  using Class = S;
  using Type = T;
};

template <typename T>
struct Optional : std::false_type {
  using Inner = T;
};
template <typename T>
struct Optional<std::optional<T>> : std::true_type {
  using Inner = T;
};

template <typename T>
struct Vector : std::false_type {};
template <typename E>
struct Vector<std::vector<E>> : std::true_type {
  using Element = E;
};

template <typename T>
constexpr bool kIsStruct = std::is_class_v<T> && !std::is_same_v<T, std::string> &&
                           !std::is_same_v<T, Uuid> && !Vector<T>::value && !Optional<T>::value;

template <typename T>
constexpr WireType ScalarWireType() {
  if constexpr (std::is_same_v<T, bool>) return WireType::kBool;
  if constexpr (std::is_same_v<T, int8_t>) return WireType::kInt8;
  if constexpr (std::is_same_v<T, int16_t>) return WireType::kInt16;
  if constexpr (std::is_same_v<T, int32_t>) return WireType::kInt32;
  if constexpr (std::is_same_v<T, int64_t>) return WireType::kInt64;
  if constexpr (std::is_same_v<T, uint16_t>) return WireType::kUint16;
  if constexpr (std::is_same_v<T, uint32_t>) return WireType::kUint32;
  if constexpr (std::is_same_v<T, double>) return WireType::kFloat64;
  if constexpr (std::is_same_v<T, Uuid>) return WireType::kUuid;
  if constexpr (std::is_same_v<T, std::string>) return WireType::kString;
  return WireType::kStruct;
}

// Codec<T>: how a member of C++ type T is read and written.
absl::Status NullNotAllowed(const FieldContext& c);

template <typename T>
struct Codec {
  static absl::Status Decode(Reader& r, const FieldContext& c, T* v) {
    (void)c;
    absl::StatusOr<T> read;
    if constexpr (std::is_same_v<T, bool>) read = r.ReadBool();
    if constexpr (std::is_same_v<T, int8_t>) read = r.ReadInt8();
    if constexpr (std::is_same_v<T, int16_t>) read = r.ReadInt16();
    if constexpr (std::is_same_v<T, int32_t>) read = r.ReadInt32();
    if constexpr (std::is_same_v<T, int64_t>) read = r.ReadInt64();
    if constexpr (std::is_same_v<T, uint16_t>) read = r.ReadUint16();
    if constexpr (std::is_same_v<T, uint32_t>) read = r.ReadUint32();
    if constexpr (std::is_same_v<T, double>) read = r.ReadFloat64();
    if constexpr (std::is_same_v<T, Uuid>) read = r.ReadUuid();
    if (!read.ok()) return read.status();
    *v = *read;
    return absl::OkStatus();
  }
  static absl::Status Encode(Writer& w, const FieldContext& c, const T& v) {
    (void)c;
    if constexpr (std::is_same_v<T, bool>) w.WriteBool(v);
    if constexpr (std::is_same_v<T, int8_t>) w.WriteInt8(v);
    if constexpr (std::is_same_v<T, int16_t>) w.WriteInt16(v);
    if constexpr (std::is_same_v<T, int32_t>) w.WriteInt32(v);
    if constexpr (std::is_same_v<T, int64_t>) w.WriteInt64(v);
    if constexpr (std::is_same_v<T, uint16_t>) w.WriteUint16(v);
    if constexpr (std::is_same_v<T, uint32_t>) w.WriteUint32(v);
    if constexpr (std::is_same_v<T, double>) w.WriteFloat64(v);
    if constexpr (std::is_same_v<T, Uuid>) w.WriteUuid(v);
    return absl::OkStatus();
  }
};

// Strings, bytes and records: the wire type picks the length prefix.
template <>
struct Codec<std::optional<std::string>> {
  static absl::Status Decode(Reader& r, const FieldContext& c, std::optional<std::string>* v) {
    const Compact compact = c.flexible ? Compact::kYes : Compact::kNo;
    absl::StatusOr<std::optional<std::string_view>> read =
        c.type == WireType::kString ? r.ReadNullableString(compact) : r.ReadNullableBytes(compact);
    if (!read.ok()) return read.status();
    if (!read->has_value()) {
      if (!c.nullable) return NullNotAllowed(c);
      v->reset();
    } else {
      v->emplace(**read);
    }
    return absl::OkStatus();
  }
  static absl::Status Encode(Writer& w, const FieldContext& c,
                             const std::optional<std::string>& v) {
    if (!v.has_value() && !c.nullable) return NullNotAllowed(c);
    const Compact compact = c.flexible ? Compact::kYes : Compact::kNo;
    std::optional<std::string_view> view;
    if (v.has_value()) view = *v;
    return c.type == WireType::kString ? w.WriteNullableString(view, compact)
                                       : w.WriteNullableBytes(view, compact);
  }
};

template <>
struct Codec<std::string> {
  static absl::Status Decode(Reader& r, const FieldContext& c, std::string* v) {
    std::optional<std::string> read;
    FieldContext strict = c;
    strict.nullable = false;
    if (absl::Status s = Codec<std::optional<std::string>>::Decode(r, strict, &read); !s.ok()) {
      return s;
    }
    *v = std::move(*read);
    return absl::OkStatus();
  }
  static absl::Status Encode(Writer& w, const FieldContext& c, const std::string& v) {
    const Compact compact = c.flexible ? Compact::kYes : Compact::kNo;
    return c.type == WireType::kString ? w.WriteString(v, compact) : w.WriteBytes(v, compact);
  }
};

template <typename E>
absl::Status DecodeElements(Reader& r, const FieldContext& c, int32_t count, std::vector<E>* v) {
  // The elements' memory, before it is allocated (wire.h: the budget).
  if (absl::Status s = r.Charge(static_cast<uint64_t>(count) * sizeof(E)); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.field->name, ": ", count, " elements: ", s.message()));
  }
  v->resize(static_cast<size_t>(count));
  FieldContext element = c;
  element.nullable = false;
  element.type = c.field->element;
  for (E& e : *v) {
    absl::Status s;
    if constexpr (kIsStruct<E>) {
      s = DecodeStruct(c.field->child(), c.version, c.flexible, r, &e);
    } else {
      s = Codec<E>::Decode(r, element, &e);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename E>
absl::Status EncodeElements(Writer& w, const FieldContext& c, const std::vector<E>& v) {
  if (absl::Status s = w.WriteArrayLength(static_cast<int64_t>(v.size()),
                                          c.flexible ? Compact::kYes : Compact::kNo);
      !s.ok()) {
    return s;
  }
  FieldContext element = c;
  element.nullable = false;
  element.type = c.field->element;
  for (const E& e : v) {
    absl::Status s;
    if constexpr (kIsStruct<E>) {
      s = EncodeStruct(c.field->child(), c.version, c.flexible, w, &e);
    } else {
      s = Codec<E>::Encode(w, element, e);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename E>
size_t MinElementSize(const FieldContext& c) {
  if constexpr (kIsStruct<E>) {
    return MinStructSize(c.field->child(), c.version, c.flexible);
  } else {
    return MinEncodedSize(c.field->element, c.flexible);
  }
}

template <typename E>
struct Codec<std::vector<E>> {
  static absl::Status Decode(Reader& r, const FieldContext& c, std::vector<E>* v) {
    absl::StatusOr<int32_t> count = r.ReadArrayLength(c.flexible ? Compact::kYes : Compact::kNo,
                                                      /*nullable=*/false, MinElementSize<E>(c));
    if (!count.ok()) return count.status();
    return DecodeElements(r, c, *count, v);
  }
  static absl::Status Encode(Writer& w, const FieldContext& c, const std::vector<E>& v) {
    return EncodeElements(w, c, v);
  }
};

template <typename E>
struct Codec<std::optional<std::vector<E>>> {
  static absl::Status Decode(Reader& r, const FieldContext& c, std::optional<std::vector<E>>* v) {
    absl::StatusOr<int32_t> count = r.ReadArrayLength(c.flexible ? Compact::kYes : Compact::kNo,
                                                      c.nullable, MinElementSize<E>(c));
    if (!count.ok()) return count.status();
    if (*count < 0) {
      v->reset();
      return absl::OkStatus();
    }
    return DecodeElements(r, c, *count, &v->emplace());
  }
  static absl::Status Encode(Writer& w, const FieldContext& c,
                             const std::optional<std::vector<E>>& v) {
    if (!v.has_value()) {
      if (!c.nullable) return NullNotAllowed(c);
      return w.WriteArrayLength(-1, c.flexible ? Compact::kYes : Compact::kNo);
    }
    return EncodeElements(w, c, *v);
  }
};

template <auto M>
absl::Status DecodeMember(Reader& r, const FieldContext& c, void* object) {
  using S = typename Member<M>::Class;
  return Codec<typename Member<M>::Type>::Decode(r, c, &(static_cast<S*>(object)->*M));
}

template <auto M>
absl::Status EncodeMember(Writer& w, const FieldContext& c, const void* object) {
  using S = typename Member<M>::Class;
  return Codec<typename Member<M>::Type>::Encode(w, c, static_cast<const S*>(object)->*M);
}

template <auto M>
bool IsDefaultMember(const void* object) {
  using S = typename Member<M>::Class;
  static const S kDefault{};
  return static_cast<const S*>(object)->*M == kDefault.*M;
}

template <auto M>
void ResetMember(void* object) {
  using S = typename Member<M>::Class;
  static_cast<S*>(object)->*M = S{}.*M;
}

template <auto M>
FieldSpec Bind(const char* name, WireType type) {
  using T = typename Member<M>::Type;
  FieldSpec f;
  f.name = name;
  f.type = type;
  f.optional_member = Optional<T>::value;
  f.decode = &DecodeMember<M>;
  f.encode = &EncodeMember<M>;
  f.is_default = &IsDefaultMember<M>;
  f.reset = &ResetMember<M>;
  return f;
}

template <auto M, typename Want>
FieldSpec BindScalar(const char* name) {
  static_assert(std::is_same_v<typename Member<M>::Type, Want>,
                "the member's C++ type does not match the field's wire type");
  return Bind<M>(name, ScalarWireType<Want>());
}

template <auto M>
FieldSpec BindString(const char* name, WireType type) {
  using T = typename Member<M>::Type;
  static_assert(std::is_same_v<typename Optional<T>::Inner, std::string>,
                "strings, bytes and records bind to std::string or std::optional<std::string>");
  return Bind<M>(name, type);
}

}  // namespace schema_internal

// ---- The builders a table row starts with ----
template <auto M>
FieldSpec Bool(const char* name) {
  return schema_internal::BindScalar<M, bool>(name);
}
template <auto M>
FieldSpec Int8(const char* name) {
  return schema_internal::BindScalar<M, int8_t>(name);
}
template <auto M>
FieldSpec Int16(const char* name) {
  return schema_internal::BindScalar<M, int16_t>(name);
}
template <auto M>
FieldSpec Int32(const char* name) {
  return schema_internal::BindScalar<M, int32_t>(name);
}
template <auto M>
FieldSpec Int64(const char* name) {
  return schema_internal::BindScalar<M, int64_t>(name);
}
template <auto M>
FieldSpec Uint16(const char* name) {
  return schema_internal::BindScalar<M, uint16_t>(name);
}
template <auto M>
FieldSpec Uint32(const char* name) {
  return schema_internal::BindScalar<M, uint32_t>(name);
}
template <auto M>
FieldSpec Float64(const char* name) {
  return schema_internal::BindScalar<M, double>(name);
}
template <auto M>
FieldSpec UuidField(const char* name) {
  return schema_internal::BindScalar<M, Uuid>(name);
}
template <auto M>
FieldSpec Str(const char* name) {
  return schema_internal::BindString<M>(name, WireType::kString);
}
template <auto M>
FieldSpec Bytes(const char* name) {
  return schema_internal::BindString<M>(name, WireType::kBytes);
}
template <auto M>
FieldSpec Records(const char* name) {
  return schema_internal::BindString<M>(name, WireType::kRecords);
}
// An array of scalars ([i32], [str], ...) or of structs ([Topic]).
template <auto M>
FieldSpec Array(const char* name) {
  using namespace schema_internal;
  using T = typename Optional<typename Member<M>::Type>::Inner;
  static_assert(Vector<T>::value, "arrays bind to std::vector or std::optional<std::vector>");
  using E = typename Vector<T>::Element;
  FieldSpec f = Bind<M>(name, WireType::kArray);
  f.element = ScalarWireType<E>();
  if constexpr (kIsStruct<E>) f.child = &SpecOf<E>;
  return f;
}

}  // namespace strata::kafka
