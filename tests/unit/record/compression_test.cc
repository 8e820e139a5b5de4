// Batch compression codecs (compression.h): round trips in each format the
// Kafka clients write, and hostile input — garbage, truncation, trailing
// bytes, output past the limit — refused as DataLoss, never a crash or an
// allocation the limit does not allow.

#include "client/record/compression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata::record {
namespace {

using ::testing::HasSubstr;

struct Codec {
  Compression codec;
  SnappyFraming framing;
  const char* name;
};

constexpr Codec kCodecs[] = {{Compression::kGzip, SnappyFraming::kXerial, "gzip"},
                             {Compression::kSnappy, SnappyFraming::kXerial, "snappy"},
                             {Compression::kSnappy, SnappyFraming::kRaw, "snappy"},
                             {Compression::kLz4, SnappyFraming::kXerial, "lz4"},
                             {Compression::kZstd, SnappyFraming::kXerial, "zstd"}};

// Half random, half repetitive: compresses somewhat, spans several blocks.
std::string Sample(size_t n) {
  std::mt19937_64 rng(7);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = (i / 1000) % 2 ? static_cast<char>(rng()) : 'x';
  return s;
}

TEST(CompressionTest, RoundTripsEveryCodec) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{300'000}}) {
    const std::string raw = Sample(n);
    for (const Codec& c : kCodecs) {
      absl::StatusOr<std::string> z = Compress(c.codec, raw, c.framing);
      ASSERT_TRUE(z.ok()) << c.name << ": " << z.status();
      std::string out;
      absl::Status s = Decompress(c.codec, *z, raw.size(), &out);
      ASSERT_TRUE(s.ok()) << c.name << " n=" << n << ": " << s;
      EXPECT_EQ(out, raw) << c.name << " n=" << n;
    }
  }
}

TEST(CompressionTest, OutputPastTheLimitIsRefused) {
  const std::string raw(1'000'000, 'z');
  for (const Codec& c : kCodecs) {
    absl::StatusOr<std::string> z = Compress(c.codec, raw, c.framing);
    ASSERT_TRUE(z.ok());
    std::string out;
    EXPECT_TRUE(Decompress(c.codec, *z, raw.size(), &out).ok()) << c.name << " at the limit";
    absl::Status s = Decompress(c.codec, *z, raw.size() - 1, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name;
    EXPECT_THAT(s.message(), HasSubstr("more than 999999 bytes")) << c.name;
  }
}

TEST(CompressionTest, TruncatedGarbageAndTrailingBytesAreDataLoss) {
  const std::string raw = Sample(100'000);
  for (const Codec& c : kCodecs) {
    absl::StatusOr<std::string> z = Compress(c.codec, raw, c.framing);
    ASSERT_TRUE(z.ok());
    std::string out;
    for (size_t cut : {size_t{1}, size_t{5}, z->size() / 2}) {
      absl::Status s = Decompress(c.codec, z->substr(0, z->size() - cut), 1 << 20, &out);
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name << " cut " << cut;
      EXPECT_THAT(s.message(), HasSubstr(c.name));
    }
    absl::Status s = Decompress(c.codec, *z + "garbage!", 1 << 20, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name << " trailing bytes";
    s = Decompress(c.codec, "definitely not compressed, whatever the codec", 1 << 20, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name << " garbage";
    s = Decompress(c.codec, "", 1 << 20, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name << " empty";
  }
}

TEST(CompressionTest, ConcatenatedGzipMembersAndZstdFramesDecode) {
  for (Compression codec : {Compression::kGzip, Compression::kZstd, Compression::kLz4}) {
    absl::StatusOr<std::string> a = Compress(codec, "first;");
    absl::StatusOr<std::string> b = Compress(codec, "second");
    ASSERT_TRUE(a.ok() && b.ok());
    std::string out;
    ASSERT_TRUE(Decompress(codec, *a + *b, 100, &out).ok()) << CompressionName(codec);
    EXPECT_EQ(out, "first;second");
  }
}

TEST(CompressionTest, XerialBlockLengthPastTheEndIsRefused) {
  absl::StatusOr<std::string> z = Compress(Compression::kSnappy, Sample(1000));
  ASSERT_TRUE(z.ok());
  std::string bad = *z;
  bad[16] = '\x7f';  // first block's length: ~2 GiB
  std::string out;
  absl::Status s = Decompress(Compression::kSnappy, bad, 1 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("runs past the end"));
}

}  // namespace
}  // namespace strata::record
