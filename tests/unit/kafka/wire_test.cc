// The wire primitives at their edges: varint limits, null and empty in both
// encodings, tagged sections, and lengths that lie.
#include "broker/kafka/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::kafka {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(WireTest, FixedWidthIntegersAreBigEndian) {
  std::string out;
  Writer w(&out);
  w.WriteInt8(-2);
  w.WriteInt16(0x0102);
  w.WriteInt32(-1);
  w.WriteInt64(0x0102030405060708);
  w.WriteUint16(0xfffe);
  w.WriteUint32(0x80000000u);
  w.WriteBool(true);
  w.WriteFloat64(1.5);
  EXPECT_EQ(out.substr(0, 7), Bytes({0xfe, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff}));
  Reader r(out);
  EXPECT_EQ(*r.ReadInt8(), -2);
  EXPECT_EQ(*r.ReadInt16(), 0x0102);
  EXPECT_EQ(*r.ReadInt32(), -1);
  EXPECT_EQ(*r.ReadInt64(), 0x0102030405060708);
  EXPECT_EQ(*r.ReadUint16(), 0xfffe);
  EXPECT_EQ(*r.ReadUint32(), 0x80000000u);
  EXPECT_TRUE(*r.ReadBool());
  EXPECT_EQ(*r.ReadFloat64(), 1.5);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadInt8().ok());
}

TEST(WireTest, ShortInputIsAnErrorNotACrash) {
  Reader r(Bytes({0x00, 0x01, 0x02}));
  EXPECT_EQ(r.ReadInt32().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.remaining(), 3u);  // nothing consumed
  EXPECT_FALSE(r.ReadInt64().ok());
  EXPECT_FALSE(r.ReadUuid().ok());
  EXPECT_TRUE(r.ReadInt16().ok());
}

TEST(WireTest, BoolIsAnyNonZeroByte) {
  Reader r(Bytes({0x00, 0x01, 0x7f}));
  EXPECT_FALSE(*r.ReadBool());
  EXPECT_TRUE(*r.ReadBool());
  EXPECT_TRUE(*r.ReadBool());
}

TEST(WireTest, UuidIsSixteenRawBytes) {
  Uuid u;
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(i * 17);
  std::string out;
  Writer(&out).WriteUuid(u);
  ASSERT_EQ(out.size(), 16u);
  Reader r(out);
  EXPECT_EQ(*r.ReadUuid(), u);
}

TEST(WireTest, UnsignedVarintLimits) {
  struct Case {
    uint32_t value;
    std::string bytes;
  };
  for (const Case& c : {Case{0, Bytes({0x00})}, Case{1, Bytes({0x01})}, Case{127, Bytes({0x7f})},
                        Case{128, Bytes({0x80, 0x01})}, Case{300, Bytes({0xac, 0x02})},
                        Case{0xffffffffu, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f})}}) {
    std::string out;
    Writer(&out).WriteUnsignedVarint(c.value);
    EXPECT_EQ(out, c.bytes) << c.value;
    Reader r(c.bytes);
    EXPECT_EQ(*r.ReadUnsignedVarint(), c.value);
    EXPECT_TRUE(r.empty());
  }
  // A fifth byte with more than 4 payload bits overflows 32 bits.
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff, 0xff, 0xff, 0x1f})).ReadUnsignedVarint().ok());
  // Six bytes: too long.
  EXPECT_FALSE(Reader(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00})).ReadUnsignedVarint().ok());
  // Truncated: the continuation bit set on the last byte.
  EXPECT_FALSE(Reader(Bytes({0x80, 0x80})).ReadUnsignedVarint().ok());
}

TEST(WireTest, UnsignedVarlongLimits) {
  std::string out;
  Writer(&out).WriteUnsignedVarlong(~uint64_t{0});
  EXPECT_EQ(out, Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_EQ(*Reader(out).ReadUnsignedVarlong(), ~uint64_t{0});
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}))
                   .ReadUnsignedVarlong()
                   .ok());
  EXPECT_FALSE(Reader(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}))
                   .ReadUnsignedVarlong()
                   .ok());
}

TEST(WireTest, ClassicStringNullEmptyAndNegative) {
  // -1 is null; only a nullable read accepts it.
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff})).ReadNullableString(Compact::kNo)->has_value());
  EXPECT_EQ(Reader(Bytes({0xff, 0xff})).ReadString(Compact::kNo).status().code(),
            absl::StatusCode::kInvalidArgument);
  // 0 is the empty string, not null.
  absl::StatusOr<std::optional<std::string_view>> empty =
      Reader(Bytes({0x00, 0x00})).ReadNullableString(Compact::kNo);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ(**empty, "");
  // Below -1: an error, even for a nullable field.
  EXPECT_FALSE(Reader(Bytes({0xff, 0xfe})).ReadNullableString(Compact::kNo).ok());
  EXPECT_EQ(*Reader(Bytes({0x00, 0x02, 'h', 'i'})).ReadString(Compact::kNo), "hi");
  // A length past the end.
  EXPECT_FALSE(Reader(Bytes({0x00, 0x03, 'h', 'i'})).ReadString(Compact::kNo).ok());
}

TEST(WireTest, CompactStringNullVersusEmpty) {
  // 0 = null, 1 = empty, n+1 = n bytes.
  EXPECT_FALSE(Reader(Bytes({0x00})).ReadNullableString(Compact::kYes)->has_value());
  EXPECT_FALSE(Reader(Bytes({0x00})).ReadString(Compact::kYes).ok());
  EXPECT_EQ(*Reader(Bytes({0x01})).ReadString(Compact::kYes), "");
  EXPECT_EQ(*Reader(Bytes({0x03, 'h', 'i'})).ReadString(Compact::kYes), "hi");
  std::string out;
  Writer w(&out);
  ASSERT_TRUE(w.WriteNullableString(std::nullopt, Compact::kYes).ok());
  ASSERT_TRUE(w.WriteString("", Compact::kYes).ok());
  ASSERT_TRUE(w.WriteNullableString(std::nullopt, Compact::kNo).ok());
  ASSERT_TRUE(w.WriteNullableBytes(std::nullopt, Compact::kNo).ok());
  ASSERT_TRUE(w.WriteBytes("", Compact::kYes).ok());
  EXPECT_EQ(out, Bytes({0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(WireTest, StringsOverAnInt16AreRefusedBothWays) {
  const std::string big(0x8000, 'x');
  std::string out;
  EXPECT_FALSE(Writer(&out).WriteString(big, Compact::kNo).ok());
  EXPECT_FALSE(Writer(&out).WriteString(big, Compact::kYes).ok());
  EXPECT_TRUE(Writer(&out).WriteString(big.substr(1), Compact::kNo).ok());
  // Kafka refuses compact strings over 0x7fff too.
  std::string in;
  Writer(&in).WriteUnsignedVarint(0x8000 + 1);
  in += big;
  EXPECT_FALSE(Reader(in).ReadString(Compact::kYes).ok());
  // Bytes have an int32 length: no such limit.
  std::string bytes;
  ASSERT_TRUE(Writer(&bytes).WriteBytes(big, Compact::kNo).ok());
  EXPECT_EQ(Reader(bytes).ReadBytes(Compact::kNo)->size(), big.size());
}

TEST(WireTest, BytesNullAndLies) {
  EXPECT_FALSE(
      Reader(Bytes({0xff, 0xff, 0xff, 0xff})).ReadNullableBytes(Compact::kNo)->has_value());
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff, 0xff, 0xff})).ReadBytes(Compact::kNo).ok());
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff, 0xff, 0xfe})).ReadNullableBytes(Compact::kNo).ok());
  EXPECT_FALSE(Reader(Bytes({0x7f, 0xff, 0xff, 0xff, 'a'})).ReadBytes(Compact::kNo).ok());
  EXPECT_EQ(*Reader(Bytes({0x00, 0x00, 0x00, 0x01, 'a'})).ReadBytes(Compact::kNo), "a");
}

TEST(WireTest, ArrayLengths) {
  EXPECT_EQ(*Reader(Bytes({0xff, 0xff, 0xff, 0xff})).ReadArrayLength(Compact::kNo, true, 4), -1);
  EXPECT_FALSE(
      Reader(Bytes({0xff, 0xff, 0xff, 0xff})).ReadArrayLength(Compact::kNo, false, 4).ok());
  EXPECT_FALSE(Reader(Bytes({0xff, 0xff, 0xff, 0xfe})).ReadArrayLength(Compact::kNo, true, 4).ok());
  EXPECT_EQ(*Reader(Bytes({0x00})).ReadArrayLength(Compact::kYes, true, 4), -1);
  EXPECT_FALSE(Reader(Bytes({0x00})).ReadArrayLength(Compact::kYes, false, 4).ok());
  EXPECT_EQ(*Reader(Bytes({0x01})).ReadArrayLength(Compact::kYes, false, 4), 0);
  // Two int32 elements need 8 bytes: 8 left is enough, 7 is not.
  EXPECT_EQ(*Reader(Bytes({0x03, 0, 0, 0, 1, 0, 0, 0, 2})).ReadArrayLength(Compact::kYes, false, 4),
            2);
  EXPECT_FALSE(
      Reader(Bytes({0x03, 0, 0, 0, 1, 0, 0, 0})).ReadArrayLength(Compact::kYes, false, 4).ok());
}

TEST(WireTest, HugeDeclaredCountIsRefusedBeforeAllocating) {
  // 2^31-1 elements with three bytes left: refused on the count alone, so
  // a caller that resizes only after ReadArrayLength never allocates.
  Reader r(Bytes({0x7f, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03}));
  absl::StatusOr<int32_t> n = r.ReadArrayLength(Compact::kNo, false, 1);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("2147483647"), std::string_view::npos) << n.status();
  // Compact: the largest uvarint count.
  Reader c(Bytes({0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}));
  EXPECT_FALSE(c.ReadArrayLength(Compact::kYes, false, 0).ok());
  // A zero minimum element size still bounds the count by the bytes left.
  EXPECT_FALSE(
      Reader(Bytes({0x00, 0x00, 0x00, 0x05, 0x00})).ReadArrayLength(Compact::kNo, false, 0).ok());
}

TEST(WireTest, TaggedFieldsAreSkippedWithTheirSizesChecked) {
  // Two fields: tag 0 (2 bytes), tag 300 (1 byte), then a trailing byte.
  std::string in = Bytes({0x02, 0x00, 0x02, 'a', 'b', 0xac, 0x02, 0x01, 'c', 0x7e});
  Reader r(in);
  ASSERT_TRUE(r.SkipTaggedFields().ok());
  EXPECT_EQ(r.remaining(), 1u);
  // A field whose size runs past the end.
  EXPECT_FALSE(Reader(Bytes({0x01, 0x00, 0x05, 'a'})).SkipTaggedFields().ok());
  // A count the bytes cannot hold.
  EXPECT_FALSE(Reader(Bytes({0x7f, 0x00, 0x00})).SkipTaggedFields().ok());
  EXPECT_TRUE(Reader(Bytes({0x00})).SkipTaggedFields().ok());
  EXPECT_FALSE(Reader("").SkipTaggedFields().ok());
}

TEST(WireTest, WriterRefusesLengthsItCannotEncode) {
  std::string out;
  Writer w(&out);
  EXPECT_FALSE(w.WriteArrayLength(-2, Compact::kNo).ok());
  EXPECT_FALSE(w.WriteArrayLength(int64_t{1} << 31, Compact::kNo).ok());
  EXPECT_TRUE(w.WriteArrayLength(-1, Compact::kYes).ok());
  EXPECT_EQ(out, Bytes({0x00}));
}

}  // namespace
}  // namespace strata::kafka
