#include "broker/kafka/schema.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::kafka {
namespace {

FieldContext ContextFor(const FieldSpec& f, int16_t version, bool flexible) {
  return FieldContext{version, flexible, f.nullable_versions.Contains(version), f.type, &f};
}

// Prefixes a decoder's or encoder's error with where it happened, so that a
// log line reads "FetchRequest.Topics: FetchTopic.Partitions: ...".
absl::Status Annotate(const absl::Status& s, const StructSpec& spec, const FieldSpec& f) {
  return absl::Status(s.code(), absl::StrCat(spec.name, ".", f.name, ": ", s.message()));
}

}  // namespace

FieldSpec FieldSpec::Since(int16_t v) const {
  FieldSpec f = *this;
  f.versions = Versions{v, kMaxVersion};
  return f;
}

FieldSpec FieldSpec::Between(int16_t lo, int16_t hi) const {
  FieldSpec f = *this;
  f.versions = Versions{lo, hi};
  return f;
}

FieldSpec FieldSpec::Nullable() const { return NullableSince(0); }

FieldSpec FieldSpec::NullableSince(int16_t v) const {
  FieldSpec f = *this;
  f.nullable_versions = Versions{v, kMaxVersion};
  return f;
}

FieldSpec FieldSpec::Tag(int32_t t) const {
  FieldSpec f = *this;
  f.tag = t;
  return f;
}

FieldSpec FieldSpec::Ignorable() const {
  FieldSpec f = *this;
  f.ignorable = true;
  return f;
}

namespace schema_internal {
absl::Status NullNotAllowed(const FieldContext& c) {
  return absl::InvalidArgumentError(
      absl::StrCat("null, which version ", c.version, " does not allow for ", c.field->name));
}
}  // namespace schema_internal

size_t MinEncodedSize(WireType type, bool flexible) {
  switch (type) {
    case WireType::kBool:
    case WireType::kInt8:
      return 1;
    case WireType::kInt16:
    case WireType::kUint16:
      return 2;
    case WireType::kInt32:
    case WireType::kUint32:
      return 4;
    case WireType::kInt64:
    case WireType::kFloat64:
      return 8;
    case WireType::kUuid:
      return 16;
    case WireType::kString:
      return flexible ? 1 : 2;
    case WireType::kBytes:
    case WireType::kRecords:
    case WireType::kArray:
      return flexible ? 1 : 4;
    case WireType::kStruct:
      return 1;  // never asked: structs use MinStructSize
  }
  return 1;
}

size_t MinStructSize(const StructSpec& spec, int16_t version, bool flexible) {
  size_t size = flexible ? 1 : 0;  // the tagged-field section's count
  for (const FieldSpec& f : spec.fields) {
    if (!f.versions.Contains(version) || (flexible && f.tag >= 0)) continue;
    size += MinEncodedSize(f.type, flexible);
  }
  return size;
}

absl::Status DecodeStruct(const StructSpec& spec, int16_t version, bool flexible, Reader& reader,
                          void* object) {
  for (const FieldSpec& f : spec.fields) {
    if (!f.versions.Contains(version) || (flexible && f.tag >= 0)) continue;
    if (absl::Status s = f.decode(reader, ContextFor(f, version, flexible), object); !s.ok()) {
      return Annotate(s, spec, f);
    }
  }
  if (!flexible) return absl::OkStatus();

  // The tagged-field section. Kafka reads tags in any order; so do we.
  absl::StatusOr<uint32_t> count = reader.ReadUnsignedVarint();
  if (!count.ok()) return count.status();
  if (static_cast<uint64_t>(*count) * 2 > reader.remaining()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.name, ": tagged-field section of ", *count,
                                                   " fields with ", reader.remaining(),
                                                   " bytes left"));
  }
  for (uint32_t i = 0; i < *count; ++i) {
    absl::StatusOr<uint32_t> tag = reader.ReadUnsignedVarint();
    if (!tag.ok()) return tag.status();
    absl::StatusOr<uint32_t> size = reader.ReadUnsignedVarint();
    if (!size.ok()) return size.status();
    absl::StatusOr<std::string_view> bytes = reader.ReadRaw(*size);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.name, ": tagged field ", *tag, ": ", bytes.status().message()));
    }
    const auto known =
        std::find_if(spec.fields.begin(), spec.fields.end(), [&](const FieldSpec& f) {
          return f.tag >= 0 && static_cast<uint32_t>(f.tag) == *tag && f.versions.Contains(version);
        });
    if (known == spec.fields.end()) continue;  // unknown tags are skipped
    Reader field_reader(*bytes);
    if (absl::Status s = known->decode(field_reader, ContextFor(*known, version, flexible), object);
        !s.ok()) {
      return Annotate(s, spec, *known);
    }
    if (!field_reader.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ".", known->name, ": ",
                                                     field_reader.remaining(),
                                                     " bytes left over in tagged field ", *tag));
    }
  }
  return absl::OkStatus();
}

absl::Status EncodeStruct(const StructSpec& spec, int16_t version, bool flexible, Writer& writer,
                          const void* object) {
  std::vector<const FieldSpec*> tagged;
  for (const FieldSpec& f : spec.fields) {
    if (!f.versions.Contains(version)) {
      if (!f.ignorable && !f.is_default(object)) {
        return absl::InvalidArgumentError(absl::StrCat(spec.name, ".", f.name,
                                                       ": a non-default value, which version ",
                                                       version, " cannot carry"));
      }
      continue;
    }
    if (flexible && f.tag >= 0) {
      if (!f.is_default(object)) tagged.push_back(&f);
      continue;
    }
    if (absl::Status s = f.encode(writer, ContextFor(f, version, flexible), object); !s.ok()) {
      return Annotate(s, spec, f);
    }
  }
  if (!flexible) return absl::OkStatus();

  std::sort(tagged.begin(), tagged.end(),
            [](const FieldSpec* a, const FieldSpec* b) { return a->tag < b->tag; });
  writer.WriteUnsignedVarint(static_cast<uint32_t>(tagged.size()));
  for (const FieldSpec* f : tagged) {
    std::string value;
    Writer value_writer(&value);
    if (absl::Status s = f->encode(value_writer, ContextFor(*f, version, flexible), object);
        !s.ok()) {
      return Annotate(s, spec, *f);
    }
    writer.WriteUnsignedVarint(static_cast<uint32_t>(f->tag));
    writer.WriteUnsignedVarint(static_cast<uint32_t>(value.size()));
    writer.WriteRaw(value);
  }
  return absl::OkStatus();
}

}  // namespace strata::kafka
