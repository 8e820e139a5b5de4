// Test and fuzz helper: builds the wire bytes of any message from its field
// table (schema.h), every field present in the version set to a value no
// table default has (distinct integers, non-empty strings, two-element
// arrays, nulls never), so that decoding them yields a struct with every
// field of that version set. Booleans are all `bools`: generate twice, true
// and false, to move every boolean off its default at least once.
//
// It walks the same tables as the codec, but writes with Writer directly,
// so a table mistake shows up as a decode failure or a byte mismatch in the
// round-trip test rather than being mirrored.
#pragma once

#include <cstdint>
#include <string>

#include "broker/kafka/schema.h"
#include "broker/kafka/wire.h"

namespace strata::kafka::testing {

struct GenerateOptions {
  bool bools = true;
  // Appends an unknown tag (999) to every flexible struct's section.
  bool unknown_tag = false;
};

class MessageGenerator {
 public:
  explicit MessageGenerator(GenerateOptions options) : options_(options) {}

  std::string Generate(const StructSpec& spec, int16_t version, bool flexible) {
    std::string out;
    Writer w(&out);
    Struct(spec, version, flexible, w);
    return out;
  }

 private:
  void Struct(const StructSpec& spec, int16_t version, bool flexible, Writer& w) {
    for (const FieldSpec& f : spec.fields) {
      if (!f.versions.Contains(version) || (flexible && f.tag >= 0)) continue;
      Field(f, f.type, version, flexible, w);
    }
    if (!flexible) return;
    std::string section;
    Writer s(&section);
    uint32_t count = 0;
    int32_t last_tag = -1;
    for (;;) {  // known tags in ascending order
      const FieldSpec* next = nullptr;
      for (const FieldSpec& f : spec.fields) {
        if (f.tag > last_tag && f.versions.Contains(version) &&
            (next == nullptr || f.tag < next->tag)) {
          next = &f;
        }
      }
      if (next == nullptr) break;
      last_tag = next->tag;
      // A tagged field at its default is not written (false is the only
      // default this generator produces).
      if (next->type == WireType::kBool && !options_.bools) continue;
      std::string value;
      Writer v(&value);
      Field(*next, next->type, version, flexible, v);
      s.WriteUnsignedVarint(static_cast<uint32_t>(next->tag));
      s.WriteUnsignedVarint(static_cast<uint32_t>(value.size()));
      s.WriteRaw(value);
      ++count;
    }
    if (options_.unknown_tag) {
      s.WriteUnsignedVarint(999);
      s.WriteUnsignedVarint(3);
      s.WriteRaw("xyz");
      ++count;
    }
    w.WriteUnsignedVarint(count);
    w.WriteRaw(section);
  }

  void Field(const FieldSpec& f, WireType type, int16_t version, bool flexible, Writer& w) {
    const Compact compact = flexible ? Compact::kYes : Compact::kNo;
    const int64_t n = ++counter_;
    switch (type) {
      case WireType::kBool:
        w.WriteBool(options_.bools);
        return;
      case WireType::kInt8:
        w.WriteInt8(static_cast<int8_t>(2 + n % 100));
        return;
      case WireType::kInt16:
        w.WriteInt16(static_cast<int16_t>(1000 + n));
        return;
      case WireType::kInt32:
        w.WriteInt32(static_cast<int32_t>(100000 + n));
        return;
      case WireType::kInt64:
        w.WriteInt64(10000000000 + n);
        return;
      case WireType::kUint16:
        w.WriteUint16(static_cast<uint16_t>(2000 + n));
        return;
      case WireType::kUint32:
        w.WriteUint32(static_cast<uint32_t>(200000 + n));
        return;
      case WireType::kFloat64:
        w.WriteFloat64(0.5 + static_cast<double>(n));
        return;
      case WireType::kUuid: {
        Uuid u{};
        u[0] = static_cast<uint8_t>(n);
        u[15] = 1;
        w.WriteUuid(u);
        return;
      }
      case WireType::kString:
        (void)w.WriteString(std::string(f.name) + "-" + std::to_string(n), compact);
        return;
      case WireType::kBytes:
      case WireType::kRecords:
        (void)w.WriteBytes(std::string("b\0\xff", 3) + std::to_string(n), compact);
        return;
      case WireType::kArray:
        (void)w.WriteArrayLength(2, compact);
        for (int i = 0; i < 2; ++i) {
          if (f.element == WireType::kStruct) {
            Struct(f.child(), version, flexible, w);
          } else {
            Field(f, f.element, version, flexible, w);
          }
        }
        return;
      case WireType::kStruct:
        return;
    }
  }

  GenerateOptions options_;
  int64_t counter_ = 0;
};

}  // namespace strata::kafka::testing
