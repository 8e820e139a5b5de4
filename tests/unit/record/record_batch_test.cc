// Record batch codec. The reference batch below is assembled by hand from the
// documented layout, not by the codec, so the builder is checked against the
// format rather than against itself. Decoding is then attacked with every
// single-byte corruption, every truncation, hand-made malformed records, and
// a few thousand random mutations with the CRC recomputed so that the record
// parser, not the CRC check, has to catch them.

#include "client/record/record_batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "client/record/crc32c.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::record {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Test-side writers and readers, deliberately separate from the codec's.

void PutBE(std::string* out, size_t pos, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    (*out)[pos + static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

uint64_t GetBE(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

std::string Varint(int64_t v) { return storage::testing::ZigZagVarint(v); }

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Recomputes the CRC over [21, end), as a writer would.
void FixCrc(std::string* batch) {
  PutBE(batch, 17, Crc32c(std::string_view(*batch).substr(21)), 4);
}

void FixLength(std::string* batch) { PutBE(batch, 8, batch->size() - 12, 4); }

// A whole batch around `records`, header fields given, CRC correct.
struct HeaderFields {
  int64_t base_offset = 0;
  int32_t epoch = 0;
  int16_t attributes = 0;
  int32_t records_count = 1;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 100;
  int64_t max_timestamp = 100;
};

std::string AssembleBatch(const HeaderFields& f, std::string_view records) {
  std::string b(61, '\0');
  PutBE(&b, 0, static_cast<uint64_t>(f.base_offset), 8);
  PutBE(&b, 12, static_cast<uint32_t>(f.epoch), 4);
  b[16] = 2;
  PutBE(&b, 21, static_cast<uint16_t>(f.attributes), 2);
  PutBE(&b, 23, static_cast<uint32_t>(f.last_offset_delta), 4);
  PutBE(&b, 27, static_cast<uint64_t>(f.base_timestamp), 8);
  PutBE(&b, 35, static_cast<uint64_t>(f.max_timestamp), 8);
  PutBE(&b, 43, static_cast<uint64_t>(int64_t{-1}), 8);
  PutBE(&b, 51, static_cast<uint16_t>(int16_t{-1}), 2);
  PutBE(&b, 53, static_cast<uint32_t>(int32_t{-1}), 4);
  PutBE(&b, 57, static_cast<uint32_t>(f.records_count), 4);
  b.append(records);
  FixLength(&b);
  FixCrc(&b);
  return b;
}

std::string FirstDifference(std::string_view got, std::string_view want) {
  if (got.size() != want.size()) {
    return "size " + std::to_string(got.size()) + ", want " + std::to_string(want.size());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      return "byte " + std::to_string(i) + " is " +
             std::to_string(static_cast<unsigned char>(got[i])) + ", want " +
             std::to_string(static_cast<unsigned char>(want[i]));
    }
  }
  return "identical";
}

// ---------------------------------------------------------------------------
// The reference batch: three records at base offset 1000, leader epoch 7,
// producer 4242/3/11. Record 1 has a null key, record 2 a null value and two
// headers (one with a null value), and record 2's timestamp is below the
// first one's, so its delta is negative.

constexpr int64_t kT0 = 1'700'000'000'000;  // 0x0000018BCFE56800

std::vector<Record> FixtureRecords() {
  Record r0;
  r0.key = "k0";
  r0.value = "hello";
  r0.timestamp = kT0;
  r0.offset = Offset(1000);
  Record r1;
  r1.key = std::nullopt;
  r1.value = "v1";
  r1.timestamp = kT0 + 500;
  r1.offset = Offset(1001);
  Record r2;
  r2.key = "k2";
  r2.value = std::nullopt;
  r2.headers = {{"h1", "x"}, {"h2", std::nullopt}};
  r2.timestamp = kT0 - 10;
  r2.offset = Offset(1002);
  return {r0, r1, r2};
}

std::string FixtureBytes() {
  // clang-format off
  std::string b = Bytes({
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  //  0 baseOffset 1000
      0x00, 0x00, 0x00, 0x5B,                          //  8 batchLength 91
      0x00, 0x00, 0x00, 0x07,                          // 12 partitionLeaderEpoch 7
      0x02,                                            // 16 magic
      0x00, 0x00, 0x00, 0x00,                          // 17 crc, filled in below
      0x00, 0x00,                                      // 21 attributes
      0x00, 0x00, 0x00, 0x02,                          // 23 lastOffsetDelta 2
      0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // 27 baseTimestamp kT0
      0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x69, 0xF4,  // 35 maxTimestamp kT0 + 500
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x92,  // 43 producerId 4242
      0x00, 0x03,                                      // 51 producerEpoch 3
      0x00, 0x00, 0x00, 0x0B,                          // 53 baseSequence 11
      0x00, 0x00, 0x00, 0x03,                          // 57 recordsCount 3
      // 61 record 0: length 13, attributes 0, timestampDelta 0, offsetDelta 0,
      //    key "k0", value "hello", no headers
      0x1A, 0x00, 0x00, 0x00, 0x04, 'k', '0', 0x0A, 'h', 'e', 'l', 'l', 'o', 0x00,
      // 75 record 1: length 9, attributes 0, timestampDelta 500 (E8 07),
      //    offsetDelta 1, key null, value "v1", no headers
      0x12, 0x00, 0xE8, 0x07, 0x02, 0x01, 0x04, 'v', '1', 0x00,
      // 85 record 2: length 17, attributes 0, timestampDelta -10, offsetDelta 2,
      //    key "k2", value null, 2 headers: "h1"="x", "h2"=null
      0x22, 0x00, 0x13, 0x04, 0x04, 'k', '2', 0x01, 0x04,
      0x04, 'h', '1', 0x02, 'x',
      0x04, 'h', '2', 0x01,
  });
  // clang-format on
  FixCrc(&b);
  return b;
}

constexpr size_t kFixtureSize = 103;

TEST(RecordBatchFixtureTest, HandAssembledBytesAreSelfConsistent) {
  // Guards the literal above before anything is compared with it.
  const std::string b = FixtureBytes();
  ASSERT_EQ(b.size(), kFixtureSize);
  EXPECT_EQ(GetBE(b, 8, 4), b.size() - 12);
  EXPECT_EQ(GetBE(b, 27, 8), static_cast<uint64_t>(kT0));
  EXPECT_EQ(GetBE(b, 35, 8), static_cast<uint64_t>(kT0 + 500));
  // The varints of the records, by the test's own encoder.
  EXPECT_EQ(Varint(13), Bytes({0x1A}));
  EXPECT_EQ(Varint(500), Bytes({0xE8, 0x07}));
  EXPECT_EQ(Varint(-10), Bytes({0x13}));
  EXPECT_EQ(Varint(-1), Bytes({0x01}));
  EXPECT_EQ(Varint(17), Bytes({0x22}));
}

TEST(RecordBatchBuilderTest, BuildsTheHandAssembledBytes) {
  RecordBatchBuilder builder(Offset(1000));
  builder.set_partition_leader_epoch(Epoch(7)).set_producer(4242, 3, 11);
  for (const Record& r : FixtureRecords()) builder.Append(r);
  EXPECT_EQ(builder.count(), 3);
  EXPECT_EQ(builder.size_in_bytes(), kFixtureSize);
  const std::string built = builder.Build();
  const std::string want = FixtureBytes();
  EXPECT_EQ(built, want) << FirstDifference(built, want);
}

TEST(RecordBatchBuilderTest, IgnoresRecordOffsets) {
  std::vector<Record> records = FixtureRecords();
  for (Record& r : records) r.offset = Offset(-77);
  RecordBatchBuilder builder(Offset(1000));
  builder.set_partition_leader_epoch(Epoch(7)).set_producer(4242, 3, 11);
  for (const Record& r : records) builder.Append(r);
  EXPECT_EQ(builder.Build(), FixtureBytes());
}

TEST(RecordBatchBuilderTest, IsEmptyAndReusableAfterBuild) {
  RecordBatchBuilder builder(Offset(1000));
  builder.set_partition_leader_epoch(Epoch(7)).set_producer(4242, 3, 11);
  for (const Record& r : FixtureRecords()) builder.Append(r);
  const std::string first = builder.Build();
  EXPECT_EQ(builder.count(), 0);
  EXPECT_EQ(builder.size_in_bytes(), kBatchHeaderSize);
  for (const Record& r : FixtureRecords()) builder.Append(r);
  EXPECT_EQ(builder.Build(), first);
}

TEST(RecordBatchBuilderTest, DefaultsWhenNothingIsSet) {
  RecordBatchBuilder builder;
  Record r;
  r.value = "v";
  r.timestamp = 5;
  builder.Append(r);
  const std::string b = builder.Build();
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->base_offset, Offset(0));
  EXPECT_EQ(h->partition_leader_epoch, Epoch(-1));
  EXPECT_EQ(h->producer_id, -1);
  EXPECT_EQ(h->producer_epoch, -1);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->attributes, 0);
  EXPECT_EQ(h->compression(), Compression::kNone);
  EXPECT_EQ(h->timestamp_type(), TimestampType::kCreateTime);
  EXPECT_FALSE(h->is_transactional());
  EXPECT_FALSE(h->is_control());
}

TEST(RecordBatchBuilderTest, EmptyBuildIsAHeaderThatValidationRefuses) {
  RecordBatchBuilder builder(Offset(10));
  const std::string b = builder.Build();
  ASSERT_EQ(b.size(), kBatchHeaderSize);
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->records_count, 0);
  EXPECT_EQ(h->last_offset_delta, -1);
  EXPECT_EQ(h->base_timestamp, -1);
  EXPECT_EQ(h->max_timestamp, -1);
  EXPECT_EQ(h->crc, Crc32c(std::string_view(b).substr(21)));
  absl::StatusOr<BatchHeader> v = ValidateBatch(b);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("recordsCount 0"));
}

// ---------------------------------------------------------------------------
// Reading the fixture.

void ExpectFixtureHeader(const BatchHeader& h) {
  EXPECT_EQ(h.base_offset, Offset(1000));
  EXPECT_EQ(h.batch_length, 91);
  EXPECT_EQ(h.partition_leader_epoch, Epoch(7));
  EXPECT_EQ(h.magic, 2);
  EXPECT_EQ(h.crc, GetBE(FixtureBytes(), 17, 4));
  EXPECT_EQ(h.attributes, 0);
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(h.base_timestamp, kT0);
  EXPECT_EQ(h.max_timestamp, kT0 + 500);
  EXPECT_EQ(h.producer_id, 4242);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 11);
  EXPECT_EQ(h.records_count, 3);
  EXPECT_EQ(h.last_offset(), Offset(1002));
  EXPECT_EQ(h.next_offset(), Offset(1003));
  EXPECT_EQ(h.size_in_bytes(), kFixtureSize);
}

TEST(ReadBatchHeaderTest, ReadsEveryField) {
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(FixtureBytes());
  ASSERT_TRUE(h.ok()) << h.status();
  ExpectFixtureHeader(*h);
}

TEST(ReadBatchHeaderTest, NeedsOnlyTheHeader) {
  const std::string b = FixtureBytes();
  EXPECT_TRUE(ReadBatchHeader(std::string_view(b).substr(0, kBatchHeaderSize)).ok());
  EXPECT_TRUE(ReadBatchHeader(b + "more bytes").ok());
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(std::string_view(b).substr(0, 60));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("60 bytes"));
}

TEST(ReadBatchHeaderTest, DoesNotCheckTheCrc) {
  std::string b = FixtureBytes();
  b[100] ^= 1;
  EXPECT_TRUE(ReadBatchHeader(b).ok());
}

TEST(ReadBatchHeaderTest, RejectsOtherMagic) {
  std::string b = FixtureBytes();
  b[16] = 1;
  absl::StatusOr<BatchHeader> h = ReadBatchHeader(b);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("magic is 1"));
}

TEST(ReadBatchHeaderTest, RejectsBatchLengthShorterThanTheHeader) {
  std::string b = FixtureBytes();
  for (int32_t length : {-1, 0, 48, std::numeric_limits<int32_t>::min()}) {
    PutBE(&b, 8, static_cast<uint32_t>(length), 4);
    absl::StatusOr<BatchHeader> h = ReadBatchHeader(b);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument) << length;
    EXPECT_THAT(h.status().message(), HasSubstr("batch length " + std::to_string(length)));
  }
  PutBE(&b, 8, 49, 4);
  EXPECT_TRUE(ReadBatchHeader(b).ok());
}

TEST(ValidateBatchTest, AcceptsTheFixture) {
  absl::StatusOr<BatchHeader> h = ValidateBatch(FixtureBytes());
  ASSERT_TRUE(h.ok()) << h.status();
  ExpectFixtureHeader(*h);
}

TEST(DecodeRecordsTest, DecodesTheFixture) {
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(FixtureBytes());
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(*records, FixtureRecords());
}

// ---------------------------------------------------------------------------
// Validation errors, each naming its field.

TEST(ValidateBatchTest, LengthMismatchNamesBothSizes) {
  std::string b = FixtureBytes();
  PutBE(&b, 8, 12, 4);
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(),
              HasSubstr("batch length 12 does not match buffer of 103 bytes"));

  absl::StatusOr<BatchHeader> longer = ValidateBatch(FixtureBytes() + "x");
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(longer.status().message(),
              HasSubstr("batch length 91 does not match buffer of 104 bytes"));
}

TEST(ValidateBatchTest, CrcMismatchIsDataLossWithBothValues) {
  std::string b = FixtureBytes();
  const uint32_t good = static_cast<uint32_t>(GetBE(b, 17, 4));
  PutBE(&b, 17, 0x01020304, 4);
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  char want[64];
  std::snprintf(want, sizeof(want), "CRC mismatch: stored 0x01020304, computed 0x%08x", good);
  EXPECT_THAT(h.status().message(), HasSubstr(want));
}

TEST(ValidateBatchTest, RejectsShortBuffer) {
  absl::StatusOr<BatchHeader> h = ValidateBatch(std::string(20, '\0'));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("20 bytes"));
}

TEST(ValidateBatchTest, RejectsOtherMagic) {
  std::string b = FixtureBytes();
  b[16] = 0;
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("magic is 0, expected 2"));
}

TEST(ValidateBatchTest, RejectsZeroRecords) {
  HeaderFields f;
  f.records_count = 0;
  f.last_offset_delta = -1;
  absl::StatusOr<BatchHeader> h = ValidateBatch(AssembleBatch(f, ""));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("recordsCount 0"));
}

TEST(ValidateBatchTest, RejectsLastOffsetDeltaOtherThanCountMinusOne) {
  HeaderFields f;
  f.records_count = 1;
  f.last_offset_delta = 5;
  const std::string record = Bytes({0x0E, 0, 0, 0, 0x01, 0x02, 'v', 0});
  absl::StatusOr<BatchHeader> h = ValidateBatch(AssembleBatch(f, record));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("lastOffsetDelta 5 does not match recordsCount 1"));
}

TEST(ValidateBatchTest, RejectsMaxTimestampBelowBase) {
  HeaderFields f;
  f.base_timestamp = 100;
  f.max_timestamp = 99;
  const std::string record = Bytes({0x0E, 0, 0, 0, 0x01, 0x02, 'v', 0});
  absl::StatusOr<BatchHeader> h = ValidateBatch(AssembleBatch(f, record));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("maxTimestamp 99 is less than baseTimestamp 100"));
}

// ---------------------------------------------------------------------------
// Every single-byte corruption and every truncation of the fixture.

bool OutsideCrc(size_t pos) { return pos < 8 || (pos >= 12 && pos < 16); }

TEST(ValidateBatchTest, DetectsEverySingleByteCorruptionInsideTheCrc) {
  const std::string good = FixtureBytes();
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int flip : {0x01, 0x10, 0x80, 0xFF, 0x5A}) {
      std::string b = good;
      b[pos] = static_cast<char>(b[pos] ^ flip);
      SCOPED_TRACE("byte " + std::to_string(pos) + " xor " + std::to_string(flip));
      absl::StatusOr<BatchHeader> h = ValidateBatch(b);
      absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
      if (OutsideCrc(pos)) {
        // baseOffset and partitionLeaderEpoch are rewritten by brokers, so
        // they are outside the CRC by design: still valid, and the header
        // and offsets say what the bytes now say.
        ASSERT_TRUE(h.ok()) << h.status();
        EXPECT_EQ(h->base_offset.value(), static_cast<int64_t>(GetBE(b, 0, 8)));
        EXPECT_EQ(h->partition_leader_epoch.value(), static_cast<int32_t>(GetBE(b, 12, 4)));
        ASSERT_TRUE(records.ok()) << records.status();
        for (size_t i = 0; i < records->size(); ++i) {
          EXPECT_EQ((*records)[i].offset, h->base_offset + static_cast<int64_t>(i));
        }
      } else {
        EXPECT_FALSE(h.ok());
        EXPECT_FALSE(records.ok());
        // Bytes under the CRC, or the CRC itself, are data loss; the length
        // and magic are checked before there is a CRC to speak of.
        const bool shape = (pos >= 8 && pos < 12) || pos == 16;
        EXPECT_EQ(h.status().code(),
                  shape ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kDataLoss)
            << h.status();
      }
    }
  }
}

TEST(ValidateBatchTest, RejectsEveryTruncation) {
  const std::string good = FixtureBytes();
  for (size_t n = 0; n < good.size(); ++n) {
    const std::string_view prefix(good.data(), n);
    EXPECT_FALSE(ValidateBatch(prefix).ok()) << "prefix of " << n;
    EXPECT_FALSE(DecodeRecords(prefix).ok()) << "prefix of " << n;
    BatchIterator it(prefix);
    BatchHeader h;
    std::string_view batch;
    EXPECT_FALSE(it.Next(&h, &batch)) << "prefix of " << n;
    EXPECT_EQ(it.position(), 0u);
  }
}

// ---------------------------------------------------------------------------
// Fields outside the CRC.

TEST(RecordBatchTest, SetBaseOffsetAndEpochKeepTheBatchValid) {
  const std::string original = FixtureBytes();
  std::string b = original;
  SetBaseOffset(b.data(), Offset(5'000'000'000));
  SetPartitionLeaderEpoch(b.data(), Epoch(42));
  // Only bytes 0-7 and 12-15 change.
  EXPECT_EQ(b.substr(16), original.substr(16));
  EXPECT_EQ(b.substr(8, 4), original.substr(8, 4));

  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->base_offset, Offset(5'000'000'000));
  EXPECT_EQ(h->partition_leader_epoch, Epoch(42));
  EXPECT_EQ(h->last_offset(), Offset(5'000'000'002));

  absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
  ASSERT_TRUE(records.ok()) << records.status();
  std::vector<Record> want = FixtureRecords();
  for (size_t i = 0; i < want.size(); ++i) want[i].offset = Offset(5'000'000'000 + int64_t(i));
  EXPECT_EQ(*records, want);

  SetBaseOffset(b.data(), Offset(-3));  // any value is representable
  SetPartitionLeaderEpoch(b.data(), Epoch(-1));
  h = ValidateBatch(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->base_offset, Offset(-3));
  EXPECT_EQ(h->partition_leader_epoch, Epoch(-1));
}

TEST(DecodeRecordsTest, RejectsBaseOffsetWhoseLastOffsetOverflows) {
  std::string b = FixtureBytes();
  SetBaseOffset(b.data(), Offset(std::numeric_limits<int64_t>::max() - 1));
  EXPECT_TRUE(ValidateBatch(b).ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
  EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(records.status().message(), HasSubstr("overflows"));
}

// ---------------------------------------------------------------------------
// Attributes.

TEST(DecodeRecordsTest, LogAppendTimeGivesEveryRecordTheBatchTime) {
  std::string b = FixtureBytes();
  PutBE(&b, 21, 0x08, 2);
  FixCrc(&b);
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->timestamp_type(), TimestampType::kLogAppendTime);
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  for (const Record& r : *records) EXPECT_EQ(r.timestamp, kT0 + 500);
}

TEST(DecodeRecordsTest, PlainRecordsUnderACodecAreCorruptNamingTheCodec) {
  // Compressed batches decode (compression_test.cc); plain records with a
  // codec's bits set are not that codec's stream.
  const std::pair<int, const char*> codecs[] = {
      {1, "gzip"}, {2, "snappy"}, {3, "lz4"}, {4, "zstd"}};
  for (const auto& [bits, name] : codecs) {
    std::string b = FixtureBytes();
    PutBE(&b, 21, static_cast<uint64_t>(bits), 2);
    FixCrc(&b);
    absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
    EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_THAT(records.status().message(), HasSubstr(name));
  }
  for (int bits : {5, 6, 7}) {
    std::string b = FixtureBytes();
    PutBE(&b, 21, static_cast<uint64_t>(bits), 2);
    FixCrc(&b);
    absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
    EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument) << bits;
    EXPECT_THAT(records.status().message(), HasSubstr("unknown compression codec"));
  }
}

TEST(DecodeRecordsTest, DecodesTransactionalAndControlBatches) {
  std::string b = FixtureBytes();
  PutBE(&b, 21, 0x30, 2);
  FixCrc(&b);
  absl::StatusOr<BatchHeader> h = ValidateBatch(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->is_transactional());
  EXPECT_TRUE(h->is_control());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(b);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(*records, FixtureRecords());
}

// ---------------------------------------------------------------------------
// Malformed records under a correct CRC: the parser must catch them.

struct MalformedCase {
  const char* name;
  std::string records;
  int32_t count;
  const char* message;
};

TEST(DecodeRecordsTest, RejectsMalformedRecords) {
  // A good record: length 7, attributes 0, timestampDelta 0, offsetDelta 0,
  // key null, value "v", no headers. Pieces of it are varied below.
  const std::string good = Bytes({0x0E, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00});
  const std::string good_second = Bytes({0x0E, 0x00, 0x00, 0x02, 0x01, 0x02, 'w', 0x00});
  // 14 bytes: length 13, value "abcdefg".
  const std::string long_record =
      Bytes({0x1A, 0x00, 0x00, 0x00, 0x01, 0x0E, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 0x00});
  {
    HeaderFields f;
    f.records_count = 2;
    f.last_offset_delta = 1;
    ASSERT_TRUE(DecodeRecords(AssembleBatch(f, good + good_second)).ok());
  }
  const std::vector<MalformedCase> cases = {
      {"record runs past the batch", Bytes({0x7E, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}), 1,
       "record 0: length 63 runs past the end of the batch"},
      {"negative record length", Bytes({0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}), 1,
       "record 0: length -2 is negative"},
      {"key length -2", Bytes({0x0E, 0x00, 0x00, 0x00, 0x03, 0x02, 'v', 0x00}), 1,
       "key length -2 is negative"},
      {"value length -5", Bytes({0x0A, 0x00, 0x00, 0x00, 0x01, 0x09, 0x00, 0x00}), 1,
       "value length -5 is negative"},
      {"key runs past the record", Bytes({0x0E, 0x00, 0x00, 0x00, 0x64, 0x02, 'v', 0x00}), 1,
       "key length 50 runs past the end of the record"},
      {"value runs past the record", Bytes({0x0E, 0x00, 0x00, 0x00, 0x01, 0x06, 'v', 0x00}), 1,
       "value length 3 runs past the end of the record"},
      {"negative headers count", Bytes({0x0E, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x01}), 1,
       "headers count -1 is negative"},
      {"headers count cannot fit", Bytes({0x0E, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x02}), 1,
       "headers count 1 cannot fit"},
      {"huge headers count",
       Bytes({0x16, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0xFE, 0xFF, 0xFF, 0xFF, 0x0F}), 1,
       "headers count 2147483647 cannot fit"},
      {"null header key", Bytes({0x12, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x02, 0x01, 0x00}), 1,
       "header keys cannot be null"},
      {"header value length -3", Bytes({0x12, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x02, 0x00, 0x05}),
       1, "header value length -3 is negative"},
      {"record length longer than its fields",
       Bytes({0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00, 0x00}), 1,
       "1 bytes left over after the record's fields"},
      {"record length shorter than its fields",
       Bytes({0x08, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}), 1, "record 0: value"},
      {"trailing garbage", good + Bytes({0x00, 0x00}), 1,
       "2 trailing bytes after the last of 1 records"},
      {"zero-length second record", good + Bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00}), 2,
       "record 1: attributes"},
      {"recordsCount cannot fit", good + good, 3, "recordsCount 3 cannot fit"},
      {"batch ends before recordsCount", long_record, 2, "batch ends after 1 of its 2 records"},
      {"varint too long",
       Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}), 1,
       "record 0: length: varint longer than 5 bytes"},
      {"varint overflows 32 bits",
       Bytes({0x8C, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}), 1,
       "record 0: length: varint overflows 32 bits"},
      {"varlong too long",
       Bytes({0x1A, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00,
              0x01, 0x02, 'v', 0x00}),
       1, "timestamp delta: varint longer than 10 bytes"},
      {"varlong overflows 64 bits",
       Bytes({0x18, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00, 0x01,
              0x02, 'v', 0x00}),
       1, "timestamp delta: varint overflows 64 bits"},
      {"varint runs past the record", Bytes({0x04, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00}), 1,
       "timestamp delta: varint runs past the end"},
      {"offset deltas repeat", good + good, 2, "record 1: offset delta 0 is not above"},
      {"offset delta beyond lastOffsetDelta",
       Bytes({0x0E, 0x00, 0x00, 0x06, 0x01, 0x02, 'v', 0x00}), 1,
       "offset delta 3 exceeds lastOffsetDelta 0"},
      {"negative offset delta", Bytes({0x0E, 0x00, 0x00, 0x01, 0x01, 0x02, 'v', 0x00}), 1,
       "offset delta -1 is not above"},
  };
  for (const MalformedCase& c : cases) {
    HeaderFields f;
    f.records_count = c.count;
    f.last_offset_delta = c.count - 1;
    const std::string batch = AssembleBatch(f, c.records);
    ASSERT_TRUE(ValidateBatch(batch).ok()) << c.name << ": " << ValidateBatch(batch).status();
    absl::StatusOr<std::vector<Record>> records = DecodeRecords(batch);
    EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(records.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(DecodeRecordsTest, HugeRecordsCountDoesNotAllocate) {
  HeaderFields f;
  f.records_count = std::numeric_limits<int32_t>::max();
  f.last_offset_delta = f.records_count - 1;
  const std::string batch =
      AssembleBatch(f, Bytes({0x0E, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00}));
  ASSERT_TRUE(ValidateBatch(batch).ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(batch);
  EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(records.status().message(), HasSubstr("recordsCount 2147483647 cannot fit"));
}

TEST(DecodeRecordsTest, AcceptsOverlongButInRangeVarints) {
  // Kafka's reader accepts zero-padded varints; so do we. Length 8 as 90 00,
  // timestampDelta 0 as 80 00.
  const std::string record = Bytes({0x90, 0x00, 0x00, 0x80, 0x00, 0x00, 0x01, 0x02, 'v', 0x00});
  absl::StatusOr<std::vector<Record>> records =
      DecodeRecords(AssembleBatch(HeaderFields{}, record));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].key, std::nullopt);
  EXPECT_EQ((*records)[0].value, "v");
  EXPECT_EQ((*records)[0].timestamp, 100);
}

// ---------------------------------------------------------------------------
// Random round trips.

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::optional<std::string> RandomNullable(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return std::nullopt;
    case 1:
      return std::string();  // empty, which is not null
    case 2:
      return RandomBytes(rng, 64 + rng() % 300);  // multi-byte length varint
    case 3:
      if (rng() % 8 == 0) return RandomBytes(rng, 20000);
      [[fallthrough]];
    default:
      return RandomBytes(rng, rng() % 40);
  }
}

int64_t RandomTimestamp(std::mt19937_64& rng, int64_t around) {
  switch (rng() % 16) {
    case 0:
      return std::numeric_limits<int64_t>::min();
    case 1:
      return std::numeric_limits<int64_t>::max();
    case 2:
      return static_cast<int64_t>(rng());
    default:
      return around + static_cast<int64_t>(rng() % 20001) - 10000;  // may go down
  }
}

std::vector<Record> RandomRecords(std::mt19937_64& rng, size_t n) {
  std::vector<Record> records(n);
  const int64_t around = kT0 + static_cast<int64_t>(rng() % 1'000'000);
  for (Record& r : records) {
    r.key = RandomNullable(rng);
    r.value = RandomNullable(rng);
    r.headers.resize(rng() % 4 == 0 ? rng() % 5 : 0);
    for (RecordHeader& h : r.headers) {
      h.key = RandomBytes(rng, rng() % 12);
      h.value = RandomNullable(rng);
    }
    r.timestamp = RandomTimestamp(rng, around);
  }
  return records;
}

// VisitRecords' views turned back into Records; its status in visit_status_.
absl::Status visit_status_;
std::vector<Record> VisitAll(std::string_view batch) {
  std::vector<Record> out;
  visit_status_ = VisitRecords(batch, /*check_crc=*/true, kMaxDecompressedBatchBytes,
                               [&](const RecordView& v) {
                                 Record& r = out.emplace_back();
                                 r.offset = v.offset;
                                 r.timestamp = v.timestamp;
                                 if (v.key) r.key.emplace(*v.key);
                                 if (v.value) r.value.emplace(*v.value);
                                 DecodeHeaders(v, &r.headers);
                               });
  return out;
}

TEST(VisitRecordsTest, AgreesWithDecodeRecordsOnCompactedLogAppendTimeAndCorruptBatches) {
  // A batch the cleaner left gaps in: offsets 100, 103, 109 of 100..111.
  RecordBatchBuilder builder{Offset(100)};
  builder.AppendWithOffset(Record{"a", std::nullopt, {{"h", "v"}, {"n", std::nullopt}}, 5, Offset(100)});
  builder.AppendWithOffset(Record{std::nullopt, "b", {}, 7, Offset(103)});
  builder.AppendWithOffset(Record{"", "", {}, 6, Offset(109)});
  builder.set_last_offset_delta(11);
  std::string batch = builder.Build();
  absl::StatusOr<std::vector<Record>> decoded = DecodeRecords(batch);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  std::vector<Record> visited = VisitAll(batch);
  ASSERT_TRUE(visit_status_.ok()) << visit_status_;
  ASSERT_EQ(visited.size(), 3u);
  EXPECT_EQ(visited, *decoded);
  EXPECT_EQ(visited[2].offset, Offset(109));
  EXPECT_EQ(visited[0].headers[1].value, std::nullopt);

  // LogAppendTime: every record carries the batch's time.
  PutBE(&batch, kAttributesPos, 0x08, 2);
  PutBE(&batch, kMaxTimestampPos, 999, 8);
  FixCrc(&batch);
  visited = VisitAll(batch);
  ASSERT_TRUE(visit_status_.ok()) << visit_status_;
  for (const Record& r : visited) EXPECT_EQ(r.timestamp, 999);

  // A corrupt byte: DataLoss with check_crc, and without it the structure
  // checks still hold (a length now past the end), as DecodeRecords says.
  std::string corrupt = batch;
  corrupt[kBatchHeaderSize] = static_cast<char>(0x7e);  // first record's length: 63
  EXPECT_EQ(VisitRecords(corrupt, true, kMaxDecompressedBatchBytes, [](const RecordView&) {})
                .code(),
            absl::StatusCode::kDataLoss);
  absl::Status unchecked =
      VisitRecords(corrupt, false, kMaxDecompressedBatchBytes, [](const RecordView&) {});
  EXPECT_EQ(unchecked.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unchecked.message()), HasSubstr("record 0"));
}

TEST(RecordBatchRoundTripTest, RandomRecords) {
  const uint64_t seed = 0x5EED0001;
  std::mt19937_64 rng(seed);
  for (int iteration = 0; iteration < 300; ++iteration) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " iteration " + std::to_string(iteration));
    const int64_t base = static_cast<int64_t>(rng() % 1'000'000'000'000);
    const int32_t epoch = static_cast<int32_t>(rng() % 1000);
    std::vector<Record> records = RandomRecords(rng, 1 + rng() % 40);

    RecordBatchBuilder builder{Offset(base)};
    builder.set_partition_leader_epoch(Epoch(epoch)).set_producer(77, 2, 1000);
    for (const Record& r : records) builder.Append(r);
    const size_t predicted = builder.size_in_bytes();
    const std::string batch = builder.Build();
    ASSERT_EQ(batch.size(), predicted);

    absl::StatusOr<BatchHeader> h = ValidateBatch(batch);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->base_offset, Offset(base));
    EXPECT_EQ(h->partition_leader_epoch, Epoch(epoch));
    EXPECT_EQ(h->records_count, static_cast<int32_t>(records.size()));
    EXPECT_EQ(h->last_offset_delta, static_cast<int32_t>(records.size()) - 1);
    EXPECT_EQ(h->base_timestamp, records.front().timestamp);
    int64_t max_ts = records.front().timestamp;
    for (const Record& r : records) max_ts = std::max(max_ts, r.timestamp);
    EXPECT_EQ(h->max_timestamp, max_ts);
    EXPECT_EQ(h->producer_id, 77);
    EXPECT_EQ(h->producer_epoch, 2);
    EXPECT_EQ(h->base_sequence, 1000);

    absl::StatusOr<std::vector<Record>> decoded = DecodeRecords(batch);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    for (size_t i = 0; i < records.size(); ++i) records[i].offset = Offset(base + int64_t(i));
    ASSERT_EQ(*decoded, records);
  }
}

// ---------------------------------------------------------------------------
// BatchIterator.

TEST(BatchIteratorTest, WalksConcatenatedBatchesAndStopsAtAPartialOne) {
  std::mt19937_64 rng(11);
  std::vector<std::string> batches;
  int64_t next = 0;
  for (size_t n : {3u, 1u, 7u, 2u}) {
    RecordBatchBuilder builder{Offset(next)};
    for (const Record& r : RandomRecords(rng, n)) builder.Append(r);
    batches.push_back(builder.Build());
    next += static_cast<int64_t>(n);
  }
  std::string whole;
  for (size_t i = 0; i < 3; ++i) whole += batches[i];
  const std::string& fourth = batches[3];

  for (size_t cut : {size_t{0}, size_t{1}, size_t{11}, size_t{12}, size_t{16}, size_t{17},
                     size_t{60}, size_t{61}, size_t{62}, fourth.size() - 1}) {
    SCOPED_TRACE("partial batch of " + std::to_string(cut) + " bytes");
    const std::string buffer = whole + fourth.substr(0, cut);
    BatchIterator it(buffer);
    BatchHeader h;
    std::string_view batch;
    size_t position = 0;
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(it.Next(&h, &batch)) << "batch " << i;
      EXPECT_EQ(batch, batches[i]);
      EXPECT_EQ(h.size_in_bytes(), batches[i].size());
      EXPECT_EQ(h.base_offset, ValidateBatch(batches[i])->base_offset);
      position += batches[i].size();
      EXPECT_EQ(it.position(), position);
    }
    EXPECT_FALSE(it.Next(&h, &batch));
    EXPECT_FALSE(it.Next(&h, &batch));  // and stays at the end
    EXPECT_EQ(it.position(), whole.size());
  }

  // The whole fourth batch makes four.
  const std::string all = whole + fourth;
  BatchIterator it(all);
  BatchHeader h;
  std::string_view batch;
  int count = 0;
  Offset expected_base(0);
  while (it.Next(&h, &batch)) {
    EXPECT_EQ(h.base_offset, expected_base);
    expected_base = h.next_offset();
    ++count;
  }
  EXPECT_EQ(count, 4);
  EXPECT_EQ(it.position(), all.size());
}

TEST(BatchIteratorTest, EmptyBuffer) {
  BatchIterator it("");
  BatchHeader h;
  std::string_view batch;
  EXPECT_FALSE(it.Next(&h, &batch));
  EXPECT_EQ(it.position(), 0u);
}

TEST(BatchIteratorTest, DoesNotCheckCrcButStopsAtAnUnreadableHeader) {
  std::string first = FixtureBytes();
  first[100] ^= 1;  // bad CRC: the iterator does not look
  std::string second = FixtureBytes();
  second[16] = 7;  // bad magic: cannot be stepped over
  const std::string buffer = first + second + FixtureBytes();
  BatchIterator it(buffer);
  BatchHeader h;
  std::string_view batch;
  ASSERT_TRUE(it.Next(&h, &batch));
  EXPECT_EQ(batch, first);
  EXPECT_FALSE(it.Next(&h, &batch));
  EXPECT_EQ(it.position(), first.size());
}

// ---------------------------------------------------------------------------
// Fuzz-style robustness: random mutations of a valid batch, usually with the
// length and CRC fixed up so that they reach the record parser. Nothing here
// asserts an outcome beyond "an answer, no crash, and a success that makes
// sense"; the sanitizer build is what gives it teeth.

TEST(RecordBatchFuzzTest, RandomMutationsNeverCrash) {
  const uint64_t seed = 0xF022;
  std::mt19937_64 rng(seed);
  std::vector<Record> records = RandomRecords(rng, 12);
  for (Record& r : records) {  // keep the batch small so mutations hit structure
    if (r.key && r.key->size() > 8) r.key->resize(8);
    if (r.value && r.value->size() > 8) r.value->resize(8);
    for (RecordHeader& h : r.headers) {
      if (h.value && h.value->size() > 4) h.value->resize(4);
    }
    if (r.headers.empty() && rng() % 2) r.headers.push_back({"hk", "hv"});
  }
  RecordBatchBuilder builder{Offset(1 << 20)};
  for (const Record& r : records) builder.Append(r);
  const std::string original = builder.Build();
  ASSERT_TRUE(DecodeRecords(original).ok());

  const unsigned char interesting[] = {0x00, 0x01, 0x02, 0x03, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF};
  int decoded_ok = 0;
  int parser_errors = 0;  // failures past the CRC: the record parser said no
  for (int iteration = 0; iteration < 5000; ++iteration) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " iteration " + std::to_string(iteration));
    std::string b = original;
    auto record_pos = [&] { return kBatchHeaderSize + rng() % (b.size() - kBatchHeaderSize); };
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations && b.size() > kBatchHeaderSize; ++m) {
      switch (rng() % 7) {
        case 0:  // flip bits in the records
          b[record_pos()] ^= static_cast<char>(1 + rng() % 255);
          break;
        case 1:  // an interesting value in the records
          b[record_pos()] = static_cast<char>(interesting[rng() % sizeof(interesting)]);
          break;
        case 2:  // anywhere at all, header included
          b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
          break;
        case 3:  // insert bytes into the records
          b.insert(record_pos(), RandomBytes(rng, 1 + rng() % 4));
          break;
        case 4: {  // delete a range of the records
          const size_t pos = record_pos();
          b.erase(pos, std::min<size_t>(1 + rng() % 6, b.size() - pos));
          break;
        }
        case 5: {  // a different, self-consistent record count
          const int32_t count = static_cast<int32_t>(rng() % 20);
          PutBE(&b, 57, static_cast<uint32_t>(count), 4);
          PutBE(&b, 23, static_cast<uint32_t>(count - 1), 4);
          break;
        }
        case 6:  // a wild varint
          b.replace(record_pos(), 1, Varint(static_cast<int64_t>(rng())));
          break;
      }
    }
    if (rng() % 16 != 0) FixLength(&b);
    if (rng() % 16 != 0) FixCrc(&b);

    // DecodeRecords reads what a log may store (ValidateStoredBatch: a
    // compacted batch may have fewer records than offsets).
    absl::StatusOr<BatchHeader> h = ValidateStoredBatch(b);
    absl::StatusOr<std::vector<Record>> decoded = DecodeRecords(b);
    // The consumer's record-by-record path agrees on every input: the same
    // verdict, the same error, the same records.
    std::vector<Record> visited = VisitAll(b);
    const absl::Status visit_status = visit_status_;
    ASSERT_EQ(visit_status.ok(), decoded.ok()) << visit_status << " vs " << decoded.status();
    if (decoded.ok()) {
      ASSERT_EQ(visited, *decoded);
    } else {
      EXPECT_EQ(visit_status, decoded.status());
    }
    (void)ReadBatchHeader(b);
    BatchIterator it(b);
    BatchHeader ih;
    std::string_view ib;
    while (it.Next(&ih, &ib)) {
      ASSERT_LE(it.position(), b.size());
    }
    if (!h.ok()) {
      EXPECT_FALSE(decoded.ok());
      continue;
    }
    if (decoded.ok()) {
      ++decoded_ok;
      ASSERT_EQ(decoded->size(), static_cast<size_t>(h->records_count));
      for (const Record& r : *decoded) {
        EXPECT_GE(r.offset, h->base_offset);
        EXPECT_LE(r.offset, h->last_offset());
      }
    } else {
      ++parser_errors;
    }
  }
  // The mutations must actually exercise both outcomes of the parser.
  EXPECT_GT(parser_errors, 2000);
  EXPECT_GT(decoded_ok, 200);
}

}  // namespace
}  // namespace strata::record
