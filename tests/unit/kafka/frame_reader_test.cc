// FrameReader: frames cut from a stream whatever its pieces; sizes refused
// from the 4-byte prefix alone.
#include "broker/kafka/frame_reader.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::kafka {
namespace {

std::string Prefix(uint32_t size) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(size >> 24);
  out[1] = static_cast<char>(size >> 16);
  out[2] = static_cast<char>(size >> 8);
  out[3] = static_cast<char>(size);
  return out;
}

std::string Frame(const std::string& body) { return Prefix(body.size()) + body; }

TEST(FrameReaderTest, ByteByByteDeliveryCompletesEveryFrame) {
  const std::string stream = Frame("hello") + Frame("") + Frame(std::string(1000, 'x'));
  FrameReader reader(1 << 20);
  for (char c : stream) {
    ASSERT_TRUE(reader.Append(std::string_view(&c, 1)).ok());
  }
  EXPECT_FALSE(reader.mid_frame());
  ASSERT_EQ(reader.ready(), 3u);
  EXPECT_EQ(*reader.Pop(), "hello");
  EXPECT_EQ(*reader.Pop(), "");
  EXPECT_EQ(*reader.Pop(), std::string(1000, 'x'));
  EXPECT_FALSE(reader.Pop().has_value());
}

TEST(FrameReaderTest, ManyFramesInOneAppendAndAPartialOne) {
  FrameReader reader(1 << 20);
  const std::string third = Frame("third");
  ASSERT_TRUE(reader.Append(Frame("a") + Frame("bb") + third.substr(0, 6)).ok());
  EXPECT_EQ(reader.ready(), 2u);
  EXPECT_TRUE(reader.mid_frame());
  ASSERT_TRUE(reader.Append(third.substr(6)).ok());
  ASSERT_EQ(reader.ready(), 3u);
  EXPECT_EQ(*reader.Pop(), "a");
  EXPECT_EQ(*reader.Pop(), "bb");
  EXPECT_EQ(*reader.Pop(), "third");
}

TEST(FrameReaderTest, SizeAtTheLimitIsAcceptedAndOneMoreIsRefused) {
  FrameReader ok(8);
  EXPECT_TRUE(ok.Append(Frame("12345678")).ok());
  EXPECT_EQ(ok.ready(), 1u);

  FrameReader over(8);
  absl::Status s = over.Append(Prefix(9));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("declared a 9-byte request"), std::string::npos) << s;
}

TEST(FrameReaderTest, TwoGibDeclarationIsRefusedFromThePrefixWithoutAllocating) {
  FrameReader reader(104857600);
  // 3 bytes: nothing decided yet.
  ASSERT_TRUE(reader.Append(Prefix(0x7fffffff).substr(0, 3)).ok());
  absl::Status s = reader.Append(Prefix(0x7fffffff).substr(3));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("2147483647-byte"), std::string::npos) << s;
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_LE(reader.partial_capacity(), size_t{64} << 10);
  // Poisoned: no frame boundary to resynchronise on.
  EXPECT_FALSE(reader.Append(Frame("x")).ok());
  EXPECT_EQ(reader.ready(), 0u);
}

TEST(FrameReaderTest, NegativeSizesAreRefused) {
  for (uint32_t raw : {0xffffffffu, 0x80000000u, 0xfffffffeu}) {
    FrameReader reader(1 << 20);
    absl::Status s = reader.Append(Prefix(raw));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << raw;
    EXPECT_EQ(reader.buffered_bytes(), 0u);
  }
}

TEST(FrameReaderTest, BodyBufferGrowsWithArrivingBytesNotTheDeclaredSize) {
  FrameReader reader(100 << 20);
  ASSERT_TRUE(reader.Append(Prefix(100 << 20) + "abc").ok());
  EXPECT_TRUE(reader.mid_frame());
  EXPECT_EQ(reader.buffered_bytes(), 3u);
  // Reserved, not only used: a 100 MiB declaration reserves at most the
  // first chunk.
  EXPECT_LE(reader.partial_capacity(), size_t{64} << 10);
}

}  // namespace
}  // namespace strata::kafka
