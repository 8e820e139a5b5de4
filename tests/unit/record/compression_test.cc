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
    EXPECT_TRUE(IsDecompressionLimitExceeded(s)) << c.name;
  }
}

// A broker tells "over the limit" (MESSAGE_TOO_LARGE for a topic storing
// batches uncompressed) from "does not decompress" (CORRUPT_MESSAGE).
TEST(CompressionTest, OnlyTheLimitErrorIsMarkedAsSuch) {
  const std::string raw = Sample(100'000);
  for (const Codec& c : kCodecs) {
    absl::StatusOr<std::string> z = Compress(c.codec, raw, c.framing);
    ASSERT_TRUE(z.ok());
    std::string out;
    EXPECT_FALSE(IsDecompressionLimitExceeded(Decompress(c.codec, *z, raw.size(), &out)));
    EXPECT_TRUE(IsDecompressionLimitExceeded(Decompress(c.codec, *z, 1000, &out))) << c.name;
    absl::Status truncated = Decompress(c.codec, z->substr(0, z->size() / 2), raw.size(), &out);
    EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss) << c.name;
    EXPECT_FALSE(IsDecompressionLimitExceeded(truncated)) << c.name << ": " << truncated;
  }
  EXPECT_FALSE(IsDecompressionLimitExceeded(absl::DataLossError("crc")));
  EXPECT_FALSE(IsDecompressionLimitExceeded(absl::OkStatus()));
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

// --- Levels (KIP-390) and re-encoding a batch with another codec ---------

TEST(CompressionTest, LevelsChangeTheOutputAndStillRoundTrip) {
  const std::string raw = Sample(200'000);
  struct Levels {
    Compression codec;
    int low;
    int high;
  };
  for (const Levels& l : {Levels{Compression::kGzip, 1, 9}, Levels{Compression::kLz4, 1, 12},
                          Levels{Compression::kZstd, 1, 19}}) {
    absl::StatusOr<std::string> fast =
        Compress(l.codec, raw, CompressionOptions{.snappy_framing = {}, .level = l.low});
    absl::StatusOr<std::string> small =
        Compress(l.codec, raw, CompressionOptions{.snappy_framing = {}, .level = l.high});
    ASSERT_TRUE(fast.ok() && small.ok()) << CompressionName(l.codec);
    EXPECT_NE(*fast, *small) << CompressionName(l.codec) << ": the level made no difference";
    for (const std::string* z : {&*fast, &*small}) {
      std::string out;
      ASSERT_TRUE(Decompress(l.codec, *z, raw.size(), &out).ok()) << CompressionName(l.codec);
      EXPECT_EQ(out, raw) << CompressionName(l.codec);
    }
  }
}

// Kafka compresses every lz4 level but 9 with lz4's HC compressor; LZ4F has
// HC from level 3 only, so 1 and 2 are level 3, never LZ4F's fast mode.
TEST(CompressionTest, Lz4LevelsOneAndTwoAreTheLowestHcLevel) {
  const std::string raw = Sample(200'000);
  auto lz4 = [&](int level) {
    absl::StatusOr<std::string> z =
        Compress(Compression::kLz4, raw, CompressionOptions{.snappy_framing = {}, .level = level});
    EXPECT_TRUE(z.ok()) << z.status();
    return z.ok() ? *z : std::string();
  };
  const std::string hc3 = lz4(kLz4MinHcLevel);
  EXPECT_EQ(lz4(1), hc3);
  EXPECT_EQ(lz4(2), hc3);
  EXPECT_NE(lz4(kLz4DefaultLevel), hc3) << "the default is the fast compressor";
}

TEST(CompressionTest, OutOfRangeLevelsAreRefused) {
  for (auto [codec, level] :
       {std::pair{Compression::kGzip, 10}, std::pair{Compression::kGzip, 0},
        std::pair{Compression::kLz4, 18}, std::pair{Compression::kZstd, 23}}) {
    absl::StatusOr<std::string> z =
        Compress(codec, "abc", CompressionOptions{.snappy_framing = {}, .level = level});
    ASSERT_FALSE(z.ok()) << CompressionName(codec) << " level " << level;
    EXPECT_EQ(z.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(z.status().message(), HasSubstr("out of range"));
  }
  // gzip's -1 is zlib's default, not out of range.
  EXPECT_TRUE(Compress(Compression::kGzip, "abc",
                       CompressionOptions{.snappy_framing = {}, .level = kGzipDefaultLevel})
                  .ok());
}

// A batch of `n` compressible records with a producer id, epoch and sequence,
// a non-default leader epoch and base offset (none of them may change).
std::string ProducerBatch(int n) {
  RecordBatchBuilder builder(Offset(1234));
  builder.set_partition_leader_epoch(Epoch(7)).set_producer(-1, 3, 17);
  for (int i = 0; i < n; ++i) {
    Record r;
    r.key = "key-" + std::to_string(i % 10);
    r.value = "{\"id\": " + std::to_string(i) + ", \"status\": \"ok\", \"region\": \"eu-west\"}";
    if (i % 3 == 0) r.headers.push_back({"trace", std::string("t-") + std::to_string(i)});
    r.timestamp = 1'700'000'000'000 + i * 7;
    builder.Append(r);
  }
  return builder.Build();
}

TEST(CompressionTest, EncodeBatchMovesABatchBetweenEveryPairOfCodecs) {
  const std::string plain = ProducerBatch(200);
  absl::StatusOr<std::vector<Record>> expected = DecodeRecords(plain);
  ASSERT_TRUE(expected.ok());
  absl::StatusOr<BatchHeader> plain_header = ValidateBatch(plain);
  ASSERT_TRUE(plain_header.ok());
  const Compression all[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                             Compression::kLz4, Compression::kZstd};
  for (Compression from : all) {
    std::string source = plain;
    if (from != Compression::kNone) {
      absl::StatusOr<std::string> c = CompressBatch(plain, from);
      ASSERT_TRUE(c.ok()) << CompressionName(from);
      source = *c;
    }
    absl::StatusOr<BatchHeader> h = ValidateBatch(source);
    ASSERT_TRUE(h.ok());
    std::string raw_records;
    if (from == Compression::kNone) {
      raw_records = source.substr(kBatchHeaderSize);
    } else {
      ASSERT_TRUE(
          Decompress(from, std::string_view(source).substr(kBatchHeaderSize), 1 << 20, &raw_records)
              .ok());
    }
    for (Compression to : all) {
      SCOPED_TRACE(std::string(CompressionName(from)) + " -> " + CompressionName(to));
      absl::StatusOr<std::string> out =
          EncodeBatch(std::string_view(source).substr(0, kBatchHeaderSize), raw_records, to);
      ASSERT_TRUE(out.ok()) << out.status();
      absl::StatusOr<BatchHeader> oh = ValidateBatch(*out);  // length and CRC right
      ASSERT_TRUE(oh.ok()) << oh.status();
      EXPECT_EQ(oh->compression(), to);
      if (to == Compression::kNone) {
        EXPECT_EQ(*out, plain);  // byte for byte
      } else {
        EXPECT_LT(out->size(), plain.size());
      }
      // Everything but the codec bits, length and CRC is kept.
      EXPECT_EQ(oh->base_offset, Offset(1234));
      EXPECT_EQ(oh->partition_leader_epoch, Epoch(7));
      EXPECT_EQ(oh->attributes & ~0x07, plain_header->attributes & ~0x07);
      EXPECT_EQ(oh->last_offset_delta, 199);
      EXPECT_EQ(oh->base_timestamp, plain_header->base_timestamp);
      EXPECT_EQ(oh->max_timestamp, plain_header->max_timestamp);
      EXPECT_EQ(oh->producer_id, -1);
      EXPECT_EQ(oh->producer_epoch, 3);
      EXPECT_EQ(oh->base_sequence, 17);
      EXPECT_EQ(oh->records_count, 200);
      absl::StatusOr<std::vector<Record>> records = DecodeRecords(*out);
      ASSERT_TRUE(records.ok()) << records.status();
      EXPECT_EQ(*records, *expected);
    }
  }
}

TEST(CompressionTest, EncodeBatchKeepsTheOtherAttributeBits) {
  std::string plain = ProducerBatch(3);
  // Transactional and LogAppendTime bits, as a stored batch may carry.
  plain[kAttributesPos + 1] = static_cast<char>(0x18);
  absl::StatusOr<std::string> out =
      EncodeBatch(std::string_view(plain).substr(0, kBatchHeaderSize),
                  std::string_view(plain).substr(kBatchHeaderSize), Compression::kLz4);
  ASSERT_TRUE(out.ok());
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(*out);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->attributes, 0x18 | 0x03);
  EXPECT_FALSE(EncodeBatch("short", "", Compression::kGzip).ok());
}

TEST(CompressionTest, RawAndXerialSnappyBatchesBothDecode) {
  const std::string plain = ProducerBatch(50);
  absl::StatusOr<std::vector<Record>> expected = DecodeRecords(plain);
  ASSERT_TRUE(expected.ok());
  absl::StatusOr<std::string> xerial =
      CompressBatch(plain, Compression::kSnappy, SnappyFraming::kXerial);
  absl::StatusOr<std::string> raw = CompressBatch(plain, Compression::kSnappy, SnappyFraming::kRaw);
  ASSERT_TRUE(xerial.ok() && raw.ok());
  // The xerial stream starts with its magic after the header; the raw block
  // does not.
  EXPECT_EQ(xerial->substr(kBatchHeaderSize, 8), std::string("\x82SNAPPY\0", 8));
  EXPECT_NE(raw->substr(kBatchHeaderSize, 8), std::string("\x82SNAPPY\0", 8));
  for (const std::string* batch : {&*xerial, &*raw}) {
    absl::StatusOr<std::vector<Record>> records = DecodeRecords(*batch);
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_EQ(*records, *expected);
  }
}

}  // namespace
}  // namespace strata::record
