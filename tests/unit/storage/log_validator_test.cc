// Leader-side record validation (log_validator.h) and its wire codes.
//
// Three parts:
// - the probe: batches a producer once got accepted with NONE, each now
//   refused through Log::AppendAsLeader with the right Kafka code and the
//   log end offset unchanged;
// - systematic mutations: a valid multi-record batch (keys, values, headers)
//   is written field by field by a test-side encoder; every length, count,
//   varint, offset delta, attribute bit and codec is bent one at a time, the
//   CRC recomputed so only record validation can catch it, and refusal
//   asserted (by the validator and by the consumer-side DecodeRecords);
// - what must pass: every codec, LogAppendTime, the timestamp bounds.

#include "broker/storage/log_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/replication/replica_manager.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/log.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/compression.h"
#include "client/record/crc32c.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::storage {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000'000;  // ManualClock's default
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

ErrorCode CodeOf(const absl::Status& s) { return replication::ErrorCodeFor(s); }

// ---------------------------------------------------------------------------
// A test-side encoder, separate from the codec: a record is a list of named
// fields, each a zig-zag varint (32 or 64 bit), a single byte, or raw bytes.
// A field can carry raw bytes that replace its encoding (overlong varints).

struct Field {
  enum Kind { kVarint, kVarlong, kInt8, kRaw };
  Field(std::string n, Kind k, int64_t v, std::string r = "")
      : name(std::move(n)), kind(k), value(v), raw(std::move(r)) {}
  std::string name;
  Kind kind;
  int64_t value = 0;
  std::string raw;                      // kRaw: the bytes
  std::optional<std::string> encoding;  // replaces the encoding when set
};

std::string ZigZag(int64_t v) { return testing::ZigZagVarint(v); }

std::string Encode(const Field& f) {
  if (f.encoding) return *f.encoding;
  switch (f.kind) {
    case Field::kVarint:
    case Field::kVarlong:
      return ZigZag(f.value);
    case Field::kInt8:
      return std::string(1, static_cast<char>(f.value));
    case Field::kRaw:
      return f.raw;
  }
  return "";
}

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_delta = 0;
};

// Field 0 is the record's length; when `length_override` is unset it is the
// body's size.
struct EncodedRecord {
  std::vector<Field> fields;
  std::optional<int64_t> length_override;
  std::optional<std::string> length_encoding;
};

void AddNullable(std::vector<Field>* out, const std::string& name,
                 const std::optional<std::string>& bytes) {
  out->push_back(
      {name + " length", Field::kVarint, bytes ? static_cast<int64_t>(bytes->size()) : -1});
  if (bytes) out->push_back({name, Field::kRaw, 0, *bytes});
}

EncodedRecord Tokenize(const TestRecord& r, int32_t offset_delta) {
  EncodedRecord e;
  e.fields.push_back({"attributes", Field::kInt8, 0});
  e.fields.push_back({"timestamp delta", Field::kVarlong, r.timestamp_delta});
  e.fields.push_back({"offset delta", Field::kVarint, offset_delta});
  AddNullable(&e.fields, "key", r.key);
  AddNullable(&e.fields, "value", r.value);
  e.fields.push_back({"headers count", Field::kVarint, static_cast<int64_t>(r.headers.size())});
  for (const auto& [k, v] : r.headers) {
    AddNullable(&e.fields, "header key", k);
    AddNullable(&e.fields, "header value", v);
  }
  return e;
}

std::string EncodeRecord(const EncodedRecord& e) {
  std::string body;
  for (const Field& f : e.fields) body += Encode(f);
  std::string length = e.length_encoding
                           ? *e.length_encoding
                           : ZigZag(e.length_override.value_or(static_cast<int64_t>(body.size())));
  return length + body;
}

void PutBE(std::string* out, size_t pos, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    (*out)[pos + static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

void FixCrc(std::string* batch) {
  PutBE(batch, record::kCrcPos,
        record::Crc32c(std::string_view(*batch).substr(record::kAttributesPos)), 4);
}

struct TestHeader {
  int16_t attributes = 0;
  int32_t records_count = 0;  // 0: the number of records
  std::optional<int32_t> last_offset_delta;
  int64_t base_timestamp = kNow - 1000;
  std::optional<int64_t> max_timestamp;  // unset: the largest record's
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
};

std::string AssembleBatch(const TestHeader& h, const std::vector<EncodedRecord>& records,
                          int64_t max_delta, const std::string& suffix = "") {
  std::string b(record::kBatchHeaderSize, '\0');
  const int32_t count =
      h.records_count != 0 ? h.records_count : static_cast<int32_t>(records.size());
  b[record::kMagicPos] = 2;
  PutBE(&b, record::kPartitionLeaderEpochPos, static_cast<uint32_t>(-1), 4);
  PutBE(&b, record::kAttributesPos, static_cast<uint16_t>(h.attributes), 2);
  PutBE(&b, record::kLastOffsetDeltaPos,
        static_cast<uint32_t>(h.last_offset_delta.value_or(count - 1)), 4);
  PutBE(&b, record::kBaseTimestampPos, static_cast<uint64_t>(h.base_timestamp), 8);
  PutBE(&b, record::kMaxTimestampPos,
        static_cast<uint64_t>(h.max_timestamp.value_or(h.base_timestamp + max_delta)), 8);
  PutBE(&b, record::kProducerIdPos, static_cast<uint64_t>(h.producer_id), 8);
  PutBE(&b, record::kProducerEpochPos, static_cast<uint16_t>(h.producer_epoch), 2);
  PutBE(&b, record::kBaseSequencePos, static_cast<uint32_t>(h.base_sequence), 4);
  PutBE(&b, record::kRecordsCountPos, static_cast<uint32_t>(count), 4);
  for (const EncodedRecord& r : records) b += EncodeRecord(r);
  b += suffix;
  PutBE(&b, record::kBatchLengthPos, b.size() - record::kLogOverhead, 4);
  FixCrc(&b);
  return b;
}

// Three records: keys, a null key, values, a null value, headers (one with
// a null value), a negative timestamp delta.
std::vector<TestRecord> FixtureRecords() {
  return {
      {"key-0", "value-0", {{"h0", "x"}, {"trace", std::nullopt}}, 0},
      {std::nullopt, std::string(300, 'v'), {}, 500},
      {"key-2", std::nullopt, {{"h2", std::string(130, 'h')}}, -10},
  };
}

std::vector<EncodedRecord> FixtureTokens() {
  std::vector<EncodedRecord> out;
  int32_t i = 0;
  for (const TestRecord& r : FixtureRecords()) out.push_back(Tokenize(r, i++));
  return out;
}

constexpr int64_t kFixtureMaxDelta = 500;

std::string FixtureBatch(const TestHeader& h = {}) {
  return AssembleBatch(h, FixtureTokens(), kFixtureMaxDelta);
}

// The same records, as the codec's Record type, at `base_offset`.
std::vector<record::Record> FixtureAsRecords(int64_t base_offset, int64_t base_timestamp) {
  std::vector<record::Record> out;
  int64_t i = 0;
  for (const TestRecord& r : FixtureRecords()) {
    record::Record rec;
    rec.key = r.key;
    rec.value = r.value;
    for (const auto& [k, v] : r.headers) rec.headers.push_back({k, v});
    rec.timestamp = base_timestamp + r.timestamp_delta;
    rec.offset = Offset(base_offset + i++);
    out.push_back(rec);
  }
  return out;
}

absl::StatusOr<ValidatedBatch> Validate(std::string_view batch, ValidationConfig config = {}) {
  return ValidateProducerBatch(batch, config, kNow);
}

TEST(LogValidatorTest, FixtureIsValidAndDecodes) {
  const std::string b = FixtureBatch();
  absl::StatusOr<ValidatedBatch> v = Validate(b);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->max_timestamp, kNow - 500);
  EXPECT_FALSE(v->stamp_log_append_time);
  absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(b);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(*records, FixtureAsRecords(0, kNow - 1000));
}

// ---------------------------------------------------------------------------
// Systematic mutations.

struct Mutation {
  std::string name;
  std::string batch;
  ErrorCode code;
  bool decoder_refuses = true;  // structural: record::DecodeRecords must refuse too
};

std::string Overlong(int64_t v, int total_bytes) {
  // v's zig-zag encoding padded with continuation bytes to total_bytes.
  std::string e = ZigZag(v);
  e.back() = static_cast<char>(e.back() | 0x80);
  while (static_cast<int>(e.size()) < total_bytes - 1) e.push_back(static_cast<char>(0x80));
  e.push_back(0);
  return e;
}

std::vector<Mutation> StructuralMutations() {
  std::vector<Mutation> out;
  const std::vector<EncodedRecord> base = FixtureTokens();
  auto add = [&](std::string name, std::vector<EncodedRecord> records, TestHeader h = {},
                 std::string suffix = "") {
    out.push_back({std::move(name), AssembleBatch(h, records, kFixtureMaxDelta, suffix),
                   ErrorCode::kInvalidRecord, true});
  };

  for (size_t r = 0; r < base.size(); ++r) {
    const std::string at = "record " + std::to_string(r) + " ";
    // The record's own length.
    for (int64_t delta : {+1, -1}) {
      auto m = base;
      std::string plain;
      for (const Field& f : base[r].fields) plain += Encode(f);
      m[r].length_override = static_cast<int64_t>(plain.size()) + delta;
      add(at + "length " + (delta > 0 ? "+1" : "-1"), m);
    }
    for (int64_t bad : {int64_t{-5}, int64_t{-1}, int64_t{0}, int64_t{kInt32Max}}) {
      auto m = base;
      m[r].length_override = bad;
      add(at + "length " + std::to_string(bad), m);
    }
    {
      auto m = base;
      m[r].length_encoding = Overlong(0, 6);
      add(at + "length varint of 6 bytes", m);
      m[r].length_encoding = std::string("\x8c\x80\x80\x80\x10", 5);  // overflows 32 bits
      add(at + "length varint overflowing 32 bits", m);
    }
    for (size_t f = 0; f < base[r].fields.size(); ++f) {
      const Field& field = base[r].fields[f];
      const std::string fat = at + field.name + " ";
      // Bytes after this field within the record.
      int64_t after = 0;
      for (size_t g = f + 1; g < base[r].fields.size(); ++g) {
        after += static_cast<int64_t>(Encode(base[r].fields[g]).size());
      }
      auto with_value = [&](int64_t v) {
        auto m = base;
        m[r].fields[f].value = v;
        return m;
      };
      auto with_encoding = [&](std::string e) {
        auto m = base;
        m[r].fields[f].encoding = std::move(e);
        return m;
      };
      if (field.kind == Field::kVarint) {
        add(fat + "varint of 6 bytes", with_encoding(Overlong(field.value, 6)));
        add(fat + "varint overflowing 32 bits",
            with_encoding(std::string("\x80\x80\x80\x80\x10", 5)));
      } else if (field.kind == Field::kVarlong) {
        add(fat + "varlong of 11 bytes", with_encoding(Overlong(field.value, 11)));
      }
      const bool is_length = field.name.ends_with(" length");
      const bool nullable = is_length && field.name != "header key length";
      if (is_length) {
        const int64_t present = field.value >= 0 ? field.value : 0;
        add(fat + "past the end", with_value(present + after + 1));
        add(fat + "1,000,000", with_value(1'000'000));
        add(fat + "2^31-1", with_value(kInt32Max));
        add(fat + "-2", with_value(-2));
        add(fat + "-5", with_value(-5));
        if (!nullable) add(fat + "-1 (null)", with_value(-1));
      }
      if (field.name == "headers count") {
        add(fat + "-1", with_value(-1));
        add(fat + "2^31-1", with_value(kInt32Max));
        add(fat + "+1", with_value(field.value + 1));
        if (field.value > 0) add(fat + "-1 of the real count", with_value(field.value - 1));
      }
      if (field.name == "offset delta") {
        add(fat + "+1", with_value(field.value + 1));
        add(fat + "-1", with_value(field.value - 1));
        add(fat + "3 (past lastOffsetDelta)", with_value(3));
        add(fat + "2^31-1", with_value(kInt32Max));
      }
    }
  }
  // Batch-level counts and trailing bytes.
  {
    TestHeader h;
    for (int32_t count : {2, 4, kInt32Max}) {
      h.records_count = count;
      add("recordsCount " + std::to_string(count) + " (lastOffsetDelta to match)", base, h);
    }
    h = {};
    h.last_offset_delta = 3;
    add("lastOffsetDelta 3 for 3 records", base, h);
    // A producer may not send it, but a log may store it (a cleaned batch
    // keeps its lastOffsetDelta past its last record: ValidateStoredBatch),
    // so consumers decode it.
    out.back().decoder_refuses = false;
    h.last_offset_delta = 1;
    add("lastOffsetDelta 1 for 3 records", base, h);
    h = {};
    h.records_count = kInt32Max;
    h.last_offset_delta = 2;
    add("recordsCount 2^31-1 with lastOffsetDelta 2", base, h);
    add("one trailing byte", base, {}, std::string(1, '\0'));
    add("a trailing empty record", base, {}, std::string(1, '\0') + std::string(6, '\0'));
    std::vector<EncodedRecord> two(base.begin(), base.begin() + 2);
    h = {};
    h.records_count = 3;
    add("two records where three are claimed", two, h);
  }
  return out;
}

TEST(LogValidatorTest, EveryStructuralMutationIsRefused) {
  const std::vector<Mutation> mutations = StructuralMutations();
  ASSERT_GT(mutations.size(), 100u);
  for (const Mutation& m : mutations) {
    ASSERT_TRUE(record::ValidateBatch(m.batch).ok() ||
                m.name.find("lastOffsetDelta") != std::string::npos)
        << m.name << ": the header must pass so only record validation can refuse it: "
        << record::ValidateBatch(m.batch).status();
    absl::StatusOr<ValidatedBatch> v = Validate(m.batch);
    ASSERT_FALSE(v.ok()) << m.name << " was accepted";
    EXPECT_EQ(CodeOf(v.status()), m.code) << m.name << ": " << v.status();
    if (m.decoder_refuses) {
      EXPECT_FALSE(record::DecodeRecords(m.batch).ok()) << m.name << " decoded";
    }
    // The same inside each compressed envelope.
    for (record::Compression codec : {record::Compression::kGzip, record::Compression::kLz4,
                                      record::Compression::kZstd, record::Compression::kSnappy}) {
      std::string plain = m.batch;
      absl::StatusOr<std::string> compressed = record::CompressBatch(plain, codec);
      if (!compressed.ok()) continue;  // header refused: covered above
      absl::StatusOr<ValidatedBatch> cv = Validate(*compressed);
      ASSERT_FALSE(cv.ok()) << m.name << " inside " << record::CompressionName(codec)
                            << " was accepted";
      EXPECT_EQ(CodeOf(cv.status()), m.code) << m.name << " in " << record::CompressionName(codec);
    }
  }
}

TEST(LogValidatorTest, RefusalsNameTheRecordAndField) {
  auto m = FixtureTokens();
  // Record 1's value length (field 5: attributes, ts, offset, key len -1, value len).
  ASSERT_EQ(m[1].fields[4].name, "value length");
  m[1].fields[4].value = 1'000'000;
  absl::StatusOr<ValidatedBatch> v = Validate(AssembleBatch({}, m, kFixtureMaxDelta));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("record 1: value length 1000000 runs past"));
}

TEST(LogValidatorTest, AttributeBitsAndCodecs) {
  struct Case {
    int16_t attributes;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {5, ErrorCode::kInvalidRecord, "unknown compression codec 5"},
      {6, ErrorCode::kInvalidRecord, "unknown compression codec 6"},
      {7, ErrorCode::kInvalidRecord, "unknown compression codec 7"},
      {0x08, ErrorCode::kInvalidRecord, "LogAppendTime bit"},
      {0x10, ErrorCode::kInvalidRecord, "transactional"},
      {0x20, ErrorCode::kInvalidRecord, "control"},
      {0x30, ErrorCode::kInvalidRecord, "transactional"},
      {1, ErrorCode::kCorruptMessage, "gzip"},  // plain records under a codec's bits
      {2, ErrorCode::kCorruptMessage, "snappy"},
      {3, ErrorCode::kCorruptMessage, "lz4"},
      {4, ErrorCode::kCorruptMessage, "zstd"},
  };
  for (const Case& c : cases) {
    TestHeader h;
    h.attributes = c.attributes;
    absl::StatusOr<ValidatedBatch> v = Validate(FixtureBatch(h));
    ASSERT_FALSE(v.ok()) << c.attributes;
    EXPECT_EQ(CodeOf(v.status()), c.code) << c.attributes << ": " << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr(c.message));
  }
  for (int bit = 6; bit < 16; ++bit) {
    TestHeader h;
    h.attributes = static_cast<int16_t>(1u << bit);
    absl::StatusOr<ValidatedBatch> v = Validate(FixtureBatch(h));
    ASSERT_FALSE(v.ok()) << "bit " << bit;
    EXPECT_EQ(CodeOf(v.status()), ErrorCode::kInvalidRecord) << "bit " << bit;
  }
}

TEST(LogValidatorTest, FutureTransactionalProducerCanBeAllowed) {
  TestHeader h;
  h.attributes = 0x10;
  h.producer_id = 7;
  h.producer_epoch = 0;
  h.base_sequence = 0;
  ValidationConfig config;
  EXPECT_FALSE(Validate(FixtureBatch(h), config).ok());
  config.allow_transactional = true;
  EXPECT_FALSE(Validate(FixtureBatch(h), config).ok()) << "still needs idempotence";
  config.allow_idempotent = true;
  EXPECT_TRUE(Validate(FixtureBatch(h), config).ok());
  h.producer_id = -1;
  EXPECT_FALSE(Validate(FixtureBatch(h), config).ok()) << "transactional without a producer id";
}

TEST(LogValidatorTest, ProducerFields) {
  {
    TestHeader h;  // -1/-1/-1: the plain producer
    EXPECT_TRUE(Validate(FixtureBatch(h)).ok());
    h.base_sequence = 0;  // Sarama's non-idempotent batches
    EXPECT_TRUE(Validate(FixtureBatch(h)).ok());
  }
  {
    TestHeader h;
    h.producer_id = 42;
    h.producer_epoch = 0;
    h.base_sequence = 0;
    absl::StatusOr<ValidatedBatch> v = Validate(FixtureBatch(h));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(CodeOf(v.status()), ErrorCode::kInvalidRecord);
    EXPECT_THAT(v.status().message(), HasSubstr("idempotent producers are not supported"));
    ValidationConfig allow;
    allow.allow_idempotent = true;
    EXPECT_TRUE(Validate(FixtureBatch(h), allow).ok());
    h.producer_epoch = -1;
    EXPECT_FALSE(Validate(FixtureBatch(h), allow).ok());
    h.producer_epoch = 0;
    h.base_sequence = -1;
    EXPECT_FALSE(Validate(FixtureBatch(h), allow).ok());
  }
  {
    TestHeader h;
    h.producer_id = -2;
    EXPECT_EQ(CodeOf(Validate(FixtureBatch(h)).status()), ErrorCode::kInvalidRecord);
  }
}

// ---------------------------------------------------------------------------
// Timestamps.

TEST(LogValidatorTest, MaxTimestampMustBeTheRecordsLargest) {
  for (int64_t off : {-1, +1}) {
    TestHeader h;
    h.max_timestamp = h.base_timestamp + kFixtureMaxDelta + off;
    absl::StatusOr<ValidatedBatch> v = Validate(FixtureBatch(h));
    ASSERT_FALSE(v.ok()) << off;
    EXPECT_EQ(CodeOf(v.status()), ErrorCode::kInvalidRecord);
    EXPECT_THAT(v.status().message(), HasSubstr("is not the largest record timestamp"));
  }
  // A record timestamp moved past the header's max.
  auto m = FixtureTokens();
  m[2].fields[1].value = kFixtureMaxDelta + 1;
  TestHeader h;
  h.max_timestamp = h.base_timestamp + kFixtureMaxDelta;
  EXPECT_EQ(CodeOf(Validate(AssembleBatch(h, m, kFixtureMaxDelta)).status()),
            ErrorCode::kInvalidRecord);
}

std::string BatchAt(int64_t base_timestamp) {
  TestHeader h;
  h.base_timestamp = base_timestamp;
  return FixtureBatch(h);  // records at base, base + 500, base - 10
}

TEST(LogValidatorTest, TimestampBeforeAndAfterMaxMs) {
  ValidationConfig c;
  c.timestamp_before_max_ms = 1000;
  c.timestamp_after_max_ms = 2000;
  // Oldest record (base - 10) exactly at now - 1000: accepted; 1 ms older: refused.
  EXPECT_TRUE(Validate(BatchAt(kNow - 990), c).ok());
  absl::StatusOr<ValidatedBatch> old = Validate(BatchAt(kNow - 991), c);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(CodeOf(old.status()), ErrorCode::kInvalidTimestamp);
  EXPECT_EQ(KafkaErrorOf(old.status()), kKafkaInvalidTimestamp);
  EXPECT_THAT(old.status().message(), HasSubstr("record 2: timestamp"));
  EXPECT_THAT(old.status().message(), HasSubstr("message.timestamp.before.max.ms 1000"));
  // Newest record (base + 500) exactly at now + 2000: accepted; 1 ms later: refused.
  EXPECT_TRUE(Validate(BatchAt(kNow + 1500), c).ok());
  absl::StatusOr<ValidatedBatch> future = Validate(BatchAt(kNow + 1501), c);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(CodeOf(future.status()), ErrorCode::kInvalidTimestamp);
  EXPECT_THAT(future.status().message(), HasSubstr("record 1: timestamp"));
}

TEST(LogValidatorTest, KafkaDefaultsAllowAnyPastAndAnHourAhead) {
  EXPECT_TRUE(Validate(BatchAt(0)).ok());
  EXPECT_TRUE(Validate(BatchAt(std::numeric_limits<int64_t>::min() + 20)).ok());
  EXPECT_TRUE(Validate(BatchAt(kNow + 3'600'000 - 500)).ok());
  EXPECT_EQ(CodeOf(Validate(BatchAt(kNow + 3'600'000 - 499)).status()),
            ErrorCode::kInvalidTimestamp);
  // Nanoseconds sent as milliseconds.
  EXPECT_EQ(CodeOf(Validate(BatchAt(kNow * 1'000'000)).status()), ErrorCode::kInvalidTimestamp);
}

TEST(LogValidatorTest, NoTimestampIsExemptFromTheBounds) {
  // One record with timestamp -1 (base -1, delta 0).
  std::vector<EncodedRecord> one = {Tokenize({"k", "v", {}, 0}, 0)};
  TestHeader h;
  h.base_timestamp = -1;
  ValidationConfig c;
  c.timestamp_before_max_ms = 1000;
  EXPECT_TRUE(Validate(AssembleBatch(h, one, 0), c).ok());
}

// ---------------------------------------------------------------------------
// Through the log: the probe, atomicity, codecs, LogAppendTime.

class LogValidatorLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> OpenLog(const std::string& dir = "/data/t-0") {
    auto log = Log::Open(&fs_, &clock_, dir, config_, false);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Seven plain records, as the probe's log held before it.
  void Seed(Log& log) {
    record::RecordBatchBuilder builder;
    for (int i = 0; i < 7; ++i) builder.Append({"k", "v" + std::to_string(i), {}, kNow, Offset(0)});
    std::string b = builder.Build();
    ASSERT_TRUE(log.AppendAsLeader(&b, Epoch(1)).ok());
    ASSERT_EQ(log.log_end_offset(), Offset(7));
  }
  std::vector<record::Record> ReadAll(const Log& log, Offset from) {
    auto read = log.Read(from, 1 << 20, log.log_end_offset());
    EXPECT_TRUE(read.ok()) << read.status();
    std::vector<record::Record> out;
    record::BatchIterator it(read->batches);
    record::BatchHeader h;
    std::string_view b;
    while (it.Next(&h, &b)) {
      auto records = record::DecodeRecords(b);
      EXPECT_TRUE(records.ok()) << records.status();
      if (records.ok()) out.insert(out.end(), records->begin(), records->end());
    }
    return out;
  }

  MemFileSystem fs_;
  ManualClock clock_{kNow};
  LogConfig config_;
};

std::string ProbeRecordLength(int64_t length) {
  auto m = FixtureTokens();
  m[0].length_override = length;
  return AssembleBatch({}, m, kFixtureMaxDelta);
}

TEST_F(LogValidatorLogTest, TheProbeBatchesAreRefusedWithTheirCodes) {
  auto log = OpenLog();
  Seed(*log);
  struct Probe {
    const char* name;
    std::string batch;
    ErrorCode code;
    const char* message;
  };
  std::vector<Probe> probes;
  probes.push_back({"record length -5", ProbeRecordLength(-5), ErrorCode::kInvalidRecord,
                    "record 0: length -5 is negative"});
  probes.push_back({"record length 2^31-1", ProbeRecordLength(kInt32Max), ErrorCode::kInvalidRecord,
                    "record 0: length 2147483647 runs past the end of the batch"});
  {
    // Value length 1,000,000 with 3 bytes present.
    std::vector<EncodedRecord> one = {Tokenize({"k", "abc", {}, 0}, 0)};
    one[0].fields[5].value = 1'000'000;
    probes.push_back({"value length 1,000,000", AssembleBatch({}, one, 0),
                      ErrorCode::kInvalidRecord,
                      "record 0: value length 1000000 runs past the end of the record"});
  }
  {
    std::vector<EncodedRecord> one = {Tokenize({"k", "abc", {}, 0}, 0)};
    one[0].fields[7].value = kInt32Max;
    probes.push_back({"header count 2^31-1", AssembleBatch({}, one, 0), ErrorCode::kInvalidRecord,
                      "headers count 2147483647 cannot fit"});
  }
  {
    TestHeader h;
    h.attributes = 0x20;
    probes.push_back({"control flag", FixtureBatch(h), ErrorCode::kInvalidRecord, "control"});
    h.attributes = 0x10;
    probes.push_back(
        {"transactional flag", FixtureBatch(h), ErrorCode::kInvalidRecord, "transactional"});
    h.attributes = 7;
    probes.push_back(
        {"codec 7", FixtureBatch(h), ErrorCode::kInvalidRecord, "unknown compression codec 7"});
  }
  {
    std::string b = FixtureBatch();
    b.replace(record::kBatchHeaderSize, std::string::npos, "this is not a gzip stream at all");
    PutBE(&b, record::kBatchLengthPos, b.size() - record::kLogOverhead, 4);
    PutBE(&b, record::kAttributesPos, 1, 2);
    FixCrc(&b);
    probes.push_back({"gzip over garbage", b, ErrorCode::kCorruptMessage, "gzip:"});
  }
  {
    TestHeader h;
    h.records_count = kInt32Max;  // lastOffsetDelta 2^31-2 to match
    probes.push_back({"2^31-1 records claimed", FixtureBatch(h), ErrorCode::kInvalidRecord,
                      "recordsCount 2147483647 cannot fit"});
  }
  for (Probe& p : probes) {
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&p.batch, Epoch(1));
    ASSERT_FALSE(info.ok()) << p.name << " was appended";
    EXPECT_EQ(CodeOf(info.status()), p.code) << p.name << ": " << info.status();
    EXPECT_THAT(info.status().message(), HasSubstr(p.message)) << p.name;
    EXPECT_EQ(log->log_end_offset(), Offset(7)) << p.name;
  }
  EXPECT_EQ(ReadAll(*log, Offset(0)).size(), 7u);
}

TEST_F(LogValidatorLogTest, ABadBatchAnywhereInARequestAppendsNothing) {
  auto log = OpenLog();
  Seed(*log);
  std::vector<std::string> batches = {FixtureBatch(), FixtureBatch(), ProbeRecordLength(-5)};
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batches, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(), HasSubstr("batch 2: record 0: length -5"));
  EXPECT_EQ(log->log_end_offset(), Offset(7));
  // A timestamp refusal keeps its Kafka code through the batch naming.
  clock_.SetMs(kNow - 10'000'000);
  std::vector<std::string> late = {FixtureBatch(), FixtureBatch()};
  info = log->AppendAsLeader(&late, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kInvalidTimestamp) << info.status();
  EXPECT_THAT(info.status().message(), HasSubstr("batch 0: record 1: timestamp"));
  EXPECT_EQ(log->log_end_offset(), Offset(7));
}

TEST_F(LogValidatorLogTest, EveryCodecIsAcceptedStoredAsSentAndDecodes) {
  auto log = OpenLog();
  Seed(*log);
  struct Envelope {
    record::Compression codec;
    record::SnappyFraming framing;
  };
  const Envelope envelopes[] = {{record::Compression::kGzip, record::SnappyFraming::kXerial},
                                {record::Compression::kSnappy, record::SnappyFraming::kXerial},
                                {record::Compression::kSnappy, record::SnappyFraming::kRaw},
                                {record::Compression::kLz4, record::SnappyFraming::kXerial},
                                {record::Compression::kZstd, record::SnappyFraming::kXerial}};
  for (const Envelope& e : envelopes) {
    absl::StatusOr<std::string> batch = record::CompressBatch(FixtureBatch(), e.codec, e.framing);
    ASSERT_TRUE(batch.ok()) << batch.status();
    const std::string sent = *batch;
    const Offset base = log->log_end_offset();
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&*batch, Epoch(1));
    ASSERT_TRUE(info.ok()) << record::CompressionName(e.codec) << ": " << info.status();
    EXPECT_EQ(info->first_offset, base);
    EXPECT_EQ(info->last_offset, base + 2);
    // Stored as produced: only the base offset and leader epoch differ.
    auto read = log->Read(base, 1 << 20, log->log_end_offset());
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->batches.substr(record::kMagicPos), sent.substr(record::kMagicPos))
        << record::CompressionName(e.codec);
    EXPECT_EQ(ReadAll(*log, base), FixtureAsRecords(base.value(), kNow - 1000))
        << record::CompressionName(e.codec);
  }
}

TEST_F(LogValidatorLogTest, ACompressionBombIsRefusedAsCorrupt) {
  config_.max_message_bytes = 10'000;  // decompression limit 640,000 bytes
  auto log = OpenLog();
  record::RecordBatchBuilder builder;
  builder.Append({"k", std::string(700'000, 'a'), {}, kNow, Offset(0)});
  absl::StatusOr<std::string> bomb =
      record::CompressBatch(builder.Build(), record::Compression::kZstd);
  ASSERT_TRUE(bomb.ok());
  ASSERT_LT(bomb->size(), 10'000u);
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&*bomb, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kCorruptMessage);
  EXPECT_THAT(info.status().message(), HasSubstr("more than 640000 bytes"));
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  // Within the limit, the same shape is fine.
  builder.Append({"k", std::string(600'000, 'a'), {}, kNow, Offset(0)});
  absl::StatusOr<std::string> fine =
      record::CompressBatch(builder.Build(), record::Compression::kZstd);
  ASSERT_TRUE(fine.ok());
  EXPECT_TRUE(log->AppendAsLeader(&*fine, Epoch(1)).ok());
}

TEST_F(LogValidatorLogTest, LogAppendTimeStampsTheBatchAndFollowersAcceptIt) {
  ASSERT_TRUE(config_.Set("message.timestamp.type", "LogAppendTime").ok());
  auto log = OpenLog();
  // Producer timestamps far in the future are ignored under LogAppendTime.
  std::string batch = BatchAt(kNow + 100 * 3'600'000LL);
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batch, Epoch(1));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->max_timestamp, kNow);
  auto read = log->Read(Offset(0), 1 << 20, log->log_end_offset());
  ASSERT_TRUE(read.ok());
  absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(read->batches);
  ASSERT_TRUE(h.ok()) << h.status() << " (CRC recomputed?)";
  EXPECT_EQ(h->timestamp_type(), record::TimestampType::kLogAppendTime);
  EXPECT_EQ(h->max_timestamp, kNow);
  for (const record::Record& r : ReadAll(*log, Offset(0))) EXPECT_EQ(r.timestamp, kNow);
  // A follower copies the stamped batch as is.
  config_ = LogConfig{};
  auto follower = OpenLog("/data/t-0-follower");
  EXPECT_TRUE(follower->AppendAsFollower(read->batches).ok());
  EXPECT_EQ(follower->log_end_offset(), Offset(3));
}

TEST_F(LogValidatorLogTest, TopicConfigsParse) {
  LogConfig c;
  EXPECT_EQ(c.message_timestamp_type, record::TimestampType::kCreateTime);
  EXPECT_EQ(c.message_timestamp_before_max_ms, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(c.message_timestamp_after_max_ms, 3'600'000);
  EXPECT_TRUE(c.Set("message.timestamp.before.max.ms", "1000").ok());
  EXPECT_TRUE(c.Set("message.timestamp.after.max.ms", "0").ok());
  EXPECT_EQ(c.message_timestamp_before_max_ms, 1000);
  EXPECT_EQ(c.message_timestamp_after_max_ms, 0);
  EXPECT_FALSE(c.Set("message.timestamp.after.max.ms", "-1").ok());
  EXPECT_FALSE(c.Set("message.timestamp.type", "Whenever").ok());
}

TEST_F(LogValidatorLogTest, BeforeAndAfterMaxMsApplyThroughTheLog) {
  config_.message_timestamp_before_max_ms = 60'000;
  auto log = OpenLog();
  std::string old = BatchAt(kNow - 120'000);
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&old, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kInvalidTimestamp);
  std::string future = BatchAt(kNow + 7'200'000);
  info = log->AppendAsLeader(&future, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kInvalidTimestamp);
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  std::string now = BatchAt(kNow);
  EXPECT_TRUE(log->AppendAsLeader(&now, Epoch(1)).ok());
}

TEST_F(LogValidatorLogTest, FollowersKeepHeaderAndCrcChecksOnly) {
  // A control batch (as a coordinator would write) replicates to a follower.
  TestHeader h;
  h.attributes = 0x20;
  const std::string control = FixtureBatch(h);
  auto follower = OpenLog();
  EXPECT_TRUE(follower->AppendAsFollower(control).ok());
}

// ---------------------------------------------------------------------------
// compression.type: the broker re-encodes a batch whose codec differs from
// the topic's, keeping everything but the codec bits, length and CRC.

struct Source {
  record::Compression codec;
  record::SnappyFraming framing;
  const char* name;
};
constexpr Source kSources[] = {
    {record::Compression::kNone, record::SnappyFraming::kXerial, "none"},
    {record::Compression::kGzip, record::SnappyFraming::kXerial, "gzip"},
    {record::Compression::kSnappy, record::SnappyFraming::kXerial, "snappy (xerial)"},
    {record::Compression::kSnappy, record::SnappyFraming::kRaw, "snappy (raw)"},
    {record::Compression::kLz4, record::SnappyFraming::kXerial, "lz4"},
    {record::Compression::kZstd, record::SnappyFraming::kXerial, "zstd"}};
constexpr record::Compression kTargets[] = {record::Compression::kNone, record::Compression::kGzip,
                                            record::Compression::kSnappy, record::Compression::kLz4,
                                            record::Compression::kZstd};

// The fixture batch with producer fields set, as `source` sends it.
std::string SourceBatch(const Source& source) {
  TestHeader h;
  h.producer_epoch = 4;  // not idempotent (id -1), but carried all the same
  h.base_sequence = 9;
  std::string plain = FixtureBatch(h);
  if (source.codec == record::Compression::kNone) return plain;
  absl::StatusOr<std::string> c = record::CompressBatch(plain, source.codec, source.framing);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : plain;
}

BrokerCompressionType TopicTypeFor(record::Compression codec) {
  switch (codec) {
    case record::Compression::kNone:
      return BrokerCompressionType::kUncompressed;
    case record::Compression::kGzip:
      return BrokerCompressionType::kGzip;
    case record::Compression::kSnappy:
      return BrokerCompressionType::kSnappy;
    case record::Compression::kLz4:
      return BrokerCompressionType::kLz4;
    case record::Compression::kZstd:
      return BrokerCompressionType::kZstd;
  }
  return BrokerCompressionType::kProducer;
}

TEST(LogValidatorTest, StoredCompressionFollowsTheTopicsCompressionType) {
  EXPECT_EQ(StoredCompression(BrokerCompressionType::kProducer), std::nullopt);
  for (record::Compression codec : kTargets) {
    EXPECT_EQ(StoredCompression(TopicTypeFor(codec)), codec) << record::CompressionName(codec);
  }
  LogConfig c;
  EXPECT_EQ(c.compression_type, BrokerCompressionType::kProducer);
  ASSERT_TRUE(c.Set("compression.type", "uncompressed").ok());
  EXPECT_EQ(StoredCompression(c.compression_type), record::Compression::kNone);
}

TEST(LogValidatorTest, EveryPairOfCodecsIsReencodedOnlyWhenTheyDiffer) {
  for (const Source& source : kSources) {
    const std::string sent = SourceBatch(source);
    absl::StatusOr<record::BatchHeader> sent_header = record::ValidateBatch(sent);
    ASSERT_TRUE(sent_header.ok());
    // compression.type=producer: stored as sent.
    absl::StatusOr<ValidatedBatch> kept = Validate(sent);
    ASSERT_TRUE(kept.ok()) << source.name << ": " << kept.status();
    EXPECT_FALSE(kept->reencoded.has_value()) << source.name;
    for (record::Compression target : kTargets) {
      SCOPED_TRACE(std::string(source.name) + " -> " + record::CompressionName(target));
      ValidationConfig config;
      config.stored_compression = target;
      absl::StatusOr<ValidatedBatch> v = Validate(sent, config);
      ASSERT_TRUE(v.ok()) << v.status();
      if (target == source.codec) {
        EXPECT_FALSE(v->reencoded.has_value()) << "the same codec must not be recompressed";
        continue;
      }
      ASSERT_TRUE(v->reencoded.has_value());
      const std::string& stored = *v->reencoded;
      absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(stored);
      ASSERT_TRUE(h.ok()) << h.status() << " (length and CRC recomputed?)";
      EXPECT_EQ(h->compression(), target);
      // The returned header describes the stored batch.
      EXPECT_EQ(v->header.compression(), target);
      EXPECT_EQ(v->header.batch_length, h->batch_length);
      EXPECT_EQ(v->header.crc, h->crc);
      // Everything else is the producer's.
      EXPECT_EQ(h->attributes & ~0x07, sent_header->attributes & ~0x07);
      EXPECT_EQ(h->last_offset_delta, sent_header->last_offset_delta);
      EXPECT_EQ(h->base_timestamp, sent_header->base_timestamp);
      EXPECT_EQ(h->max_timestamp, sent_header->max_timestamp);
      EXPECT_EQ(h->producer_id, -1);
      EXPECT_EQ(h->producer_epoch, 4);
      EXPECT_EQ(h->base_sequence, 9);
      EXPECT_EQ(h->records_count, 3);
      EXPECT_EQ(v->max_timestamp, sent_header->max_timestamp);
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(stored);
      ASSERT_TRUE(records.ok()) << records.status();
      EXPECT_EQ(*records, FixtureAsRecords(0, kNow - 1000));
      if (target == record::Compression::kNone) {
        EXPECT_EQ(stored, FixtureBatch([] {
                    TestHeader t;
                    t.producer_epoch = 4;
                    t.base_sequence = 9;
                    return t;
                  }()))
            << "decompressing must give back the producer's uncompressed batch exactly";
      }
      if (target == record::Compression::kSnappy) {
        // The broker writes the xerial framing, as Kafka's does.
        EXPECT_EQ(stored.substr(record::kBatchHeaderSize, 8), std::string("\x82SNAPPY\0", 8));
      }
    }
  }
}

TEST(LogValidatorTest, ABadBatchIsRefusedWhateverTheTopicsCodec) {
  const std::vector<Mutation> mutations = StructuralMutations();
  int compressed_cases = 0;
  for (const Mutation& m : mutations) {
    for (record::Compression target : {record::Compression::kNone, record::Compression::kZstd}) {
      for (record::Compression sent_codec :
           {record::Compression::kNone, record::Compression::kGzip}) {
        std::string sent = m.batch;
        if (sent_codec != record::Compression::kNone) {
          absl::StatusOr<std::string> c = record::CompressBatch(m.batch, sent_codec);
          if (!c.ok()) continue;  // header refused: covered elsewhere
          sent = *c;
          ++compressed_cases;
        }
        ValidationConfig config;
        config.stored_compression = target;
        absl::StatusOr<ValidatedBatch> v = Validate(sent, config);
        ASSERT_FALSE(v.ok()) << m.name << " sent as " << record::CompressionName(sent_codec)
                             << " was accepted for a " << record::CompressionName(target)
                             << " topic";
        EXPECT_EQ(CodeOf(v.status()), m.code) << m.name;
      }
    }
  }
  // Most mutations leave the header valid, so most ran compressed too.
  EXPECT_GT(compressed_cases, static_cast<int>(mutations.size()));
}

// Kafka never compresses control records: a control batch that came
// uncompressed is stored so whatever the topic's codec.
TEST(LogValidatorTest, AnUncompressedControlBatchIsNeverRecompressed) {
  TestHeader h;
  h.attributes = 0x20;
  const std::string control = FixtureBatch(h);
  for (record::Compression target : kTargets) {
    SCOPED_TRACE(record::CompressionName(target));
    ValidationConfig config;
    config.allow_control = true;
    config.stored_compression = target;
    absl::StatusOr<ValidatedBatch> v = Validate(control, config);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_FALSE(v->reencoded.has_value());
    EXPECT_EQ(v->header.compression(), record::Compression::kNone);
  }
  // Ordinary batches still are.
  ValidationConfig config;
  config.stored_compression = record::Compression::kZstd;
  absl::StatusOr<ValidatedBatch> v = Validate(FixtureBatch(), config);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->reencoded.has_value());
}

// A topic storing batches uncompressed holds at most max.message.bytes - 61
// bytes of records: decompression stops there, and the batch is too large
// (MESSAGE_TOO_LARGE, which a producer splits), not corrupt, even when it
// would inflate past 64 x max.message.bytes.
TEST(LogValidatorTest, AnUncompressedTopicBoundsDecompressionByMaxMessageBytes) {
  const std::string plain = FixtureBatch();
  const int64_t fits = static_cast<int64_t>(plain.size());  // max.message.bytes that just fits
  absl::StatusOr<std::string> gzip = record::CompressBatch(plain, record::Compression::kGzip);
  ASSERT_TRUE(gzip.ok());
  ValidationConfig config;
  config.stored_compression = record::Compression::kNone;
  config.max_message_bytes = fits;
  absl::StatusOr<ValidatedBatch> v = Validate(*gzip, config);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->reencoded.has_value());
  EXPECT_EQ(*v->reencoded, plain);
  config.max_message_bytes = fits - 1;
  v = Validate(*gzip, config);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(CodeOf(v.status()), ErrorCode::kMessageTooLarge) << v.status();
  EXPECT_THAT(v.status().message(),
              HasSubstr(absl::StrCat("larger than max.message.bytes (", fits - 1,
                                     "): its gzip records decompress to more than ", fits - 1 - 61,
                                     " bytes")));
  // Far past the bomb limit too: too large for this topic all the same.
  record::RecordBatchBuilder builder;
  builder.Append({"k", std::string(2'000'000, 'a'), {}, kNow, Offset(0)});
  absl::StatusOr<std::string> bomb =
      record::CompressBatch(builder.Build(), record::Compression::kZstd);
  ASSERT_TRUE(bomb.ok());
  config.max_message_bytes = 10'000;
  config.max_decompressed_bytes = MaxDecompressedBytes(10'000);
  v = Validate(*bomb, config);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(CodeOf(v.status()), ErrorCode::kMessageTooLarge) << v.status();
  EXPECT_THAT(v.status().message(), HasSubstr("more than 9939 bytes"));
  // Another codec keeps the bomb limit: there the batch is corrupt.
  config.stored_compression = record::Compression::kGzip;
  v = Validate(*bomb, config);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(CodeOf(v.status()), ErrorCode::kCorruptMessage) << v.status();
  // Without max_message_bytes, max_decompressed_bytes alone applies.
  config.stored_compression = record::Compression::kNone;
  config.max_message_bytes.reset();
  v = Validate(*bomb, config);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(CodeOf(v.status()), ErrorCode::kCorruptMessage) << v.status();
}

TEST_F(LogValidatorLogTest, ATopicsCompressionTypeReencodesEveryCodecItDoesNotStore) {
  for (record::Compression target : kTargets) {
    config_.compression_type = TopicTypeFor(target);
    auto log = OpenLog(std::string("/data/c-") + record::CompressionName(target));
    Seed(*log);
    for (const Source& source : kSources) {
      SCOPED_TRACE(std::string(source.name) + " into a " + record::CompressionName(target) +
                   " topic");
      std::string batch = SourceBatch(source);
      const Offset base = log->log_end_offset();
      absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batch, Epoch(3));
      ASSERT_TRUE(info.ok()) << info.status();
      EXPECT_EQ(info->first_offset, base);
      EXPECT_EQ(info->last_offset, base + 2);
      EXPECT_EQ(info->bytes, batch.size());
      auto read = log->Read(base, 1 << 20, log->log_end_offset());
      ASSERT_TRUE(read.ok());
      // The stored batch is what the caller's string now holds.
      EXPECT_EQ(read->batches, batch);
      absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(read->batches);
      ASSERT_TRUE(h.ok()) << h.status();
      EXPECT_EQ(h->compression(), target);
      EXPECT_EQ(h->base_offset, base);
      EXPECT_EQ(h->partition_leader_epoch, Epoch(3));
      EXPECT_EQ(h->producer_epoch, 4);
      EXPECT_EQ(h->base_sequence, 9);
      EXPECT_EQ(ReadAll(*log, base), FixtureAsRecords(base.value(), kNow - 1000));
    }
    // A follower copies the re-encoded batches as they are.
    auto read = log->Read(Offset(0), 1 << 20, log->log_end_offset());
    ASSERT_TRUE(read.ok());
    auto follower = OpenLog(std::string("/data/f-") + record::CompressionName(target));
    ASSERT_TRUE(follower->AppendAsFollower(read->batches).ok());
    EXPECT_EQ(follower->log_end_offset(), log->log_end_offset());
  }
}

TEST_F(LogValidatorLogTest, ReencodingUnderLogAppendTimeStampsTheStoredBatch) {
  ASSERT_TRUE(config_.Set("message.timestamp.type", "LogAppendTime").ok());
  ASSERT_TRUE(config_.Set("compression.type", "lz4").ok());
  auto log = OpenLog();
  std::string batch = SourceBatch(kSources[1]);  // gzip
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batch, Epoch(1));
  ASSERT_TRUE(info.ok()) << info.status();
  auto read = log->Read(Offset(0), 1 << 20, log->log_end_offset());
  ASSERT_TRUE(read.ok());
  absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(read->batches);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->compression(), record::Compression::kLz4);
  EXPECT_EQ(h->timestamp_type(), record::TimestampType::kLogAppendTime);
  EXPECT_EQ(h->max_timestamp, kNow);
  for (const record::Record& r : ReadAll(*log, Offset(0))) EXPECT_EQ(r.timestamp, kNow);
}

TEST_F(LogValidatorLogTest, AFailedValidationLeavesTheLogAndTheRequestUnchanged) {
  ASSERT_TRUE(config_.Set("compression.type", "zstd").ok());
  auto log = OpenLog();
  Seed(*log);
  const std::string good = SourceBatch(kSources[1]);  // gzip: would be re-encoded
  std::vector<std::string> batches = {good, good, ProbeRecordLength(-5)};
  absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batches, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kInvalidRecord);
  EXPECT_THAT(info.status().message(), HasSubstr("batch 2: record 0: length -5"));
  EXPECT_EQ(log->log_end_offset(), Offset(7));
  EXPECT_EQ(ReadAll(*log, Offset(0)).size(), 7u);
  // The batches that passed were not swapped for their re-encoding.
  EXPECT_EQ(batches[0], good);
  EXPECT_EQ(batches[1], good);
  // A corrupt compressed section is refused before any re-encoding.
  std::string corrupt = good;
  corrupt[record::kBatchHeaderSize + 12] ^= 0x55;
  FixCrc(&corrupt);
  info = log->AppendAsLeader(&corrupt, Epoch(1));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(CodeOf(info.status()), ErrorCode::kCorruptMessage) << info.status();
  EXPECT_EQ(log->log_end_offset(), Offset(7));
}

TEST_F(LogValidatorLogTest, MaxMessageBytesAppliesToTheBatchAsStored) {
  // 200 records of 100 repeated bytes: about 22 KB plain, far less as gzip.
  record::RecordBatchBuilder builder;
  for (int i = 0; i < 200; ++i) {
    builder.Append({"k", std::string(100, static_cast<char>('a' + i % 3)), {}, kNow, Offset(0)});
  }
  const std::string plain = builder.Build();
  absl::StatusOr<std::string> gzip = record::CompressBatch(plain, record::Compression::kGzip);
  ASSERT_TRUE(gzip.ok());
  config_.max_message_bytes = 10'000;
  ASSERT_LT(gzip->size(), 10'000u);
  ASSERT_GT(plain.size(), 10'000u);
  {
    // Uncompressed, the batch the topic would store is too large.
    ASSERT_TRUE(config_.Set("compression.type", "uncompressed").ok());
    auto log = OpenLog("/data/plain-0");
    std::string batch = *gzip;
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batch, Epoch(1));
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(CodeOf(info.status()), ErrorCode::kMessageTooLarge) << info.status();
    EXPECT_THAT(info.status().message(), HasSubstr("as stored (none"));
    EXPECT_EQ(log->log_end_offset(), Offset(0));
    EXPECT_EQ(batch, *gzip);
  }
  {
    // As the producer sent it, it fits.
    ASSERT_TRUE(config_.Set("compression.type", "producer").ok());
    auto log = OpenLog("/data/producer-0");
    std::string batch = *gzip;
    EXPECT_TRUE(log->AppendAsLeader(&batch, Epoch(1)).ok());
    EXPECT_EQ(log->log_end_offset(), Offset(200));
  }
  {
    // And a plain batch too large as sent fits once the topic compresses it?
    // No: max.message.bytes is checked on what arrives as well, as in Kafka.
    ASSERT_TRUE(config_.Set("compression.type", "zstd").ok());
    auto log = OpenLog("/data/zstd-0");
    std::string batch = plain;
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batch, Epoch(1));
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(CodeOf(info.status()), ErrorCode::kMessageTooLarge);
  }
}

// A request whose last batch is too large only once re-encoded: nothing is
// appended, and the caller's batches (the earlier ones would have been
// re-encoded) are as they were sent.
TEST_F(LogValidatorLogTest, ALaterBatchTooLargeOnlyOnceReencodedAppendsNothing) {
  config_.max_message_bytes = 6'000;
  // Random letters of a 16-symbol alphabet: zstd entropy-codes them to
  // about half, snappy finds few matches.
  std::mt19937 rng(13);
  std::string letters(8'000, 'a');
  for (char& c : letters) c = "abcdefghijklmnop"[rng() % 16];
  absl::StatusOr<std::string> as_snappy = record::Compress(record::Compression::kSnappy, letters);
  ASSERT_TRUE(as_snappy.ok());
  ASSERT_GT(as_snappy->size(), 6'000u) << "too large as snappy";
  record::RecordBatchBuilder big_builder;
  big_builder.Append({"k", letters, {}, kNow, Offset(0)});
  absl::StatusOr<std::string> big =
      record::CompressBatch(big_builder.Build(), record::Compression::kZstd);
  ASSERT_TRUE(big.ok());
  ASSERT_LT(big->size(), 6'000u) << "fits as sent";
  absl::StatusOr<std::string> small =
      record::CompressBatch(FixtureBatch(), record::Compression::kZstd);
  ASSERT_TRUE(small.ok());
  for (const char* type : {"uncompressed", "snappy"}) {
    SCOPED_TRACE(type);
    ASSERT_TRUE(config_.Set("compression.type", type).ok());
    auto log = OpenLog(std::string("/data/") + type + "-0");
    Seed(*log);
    std::vector<std::string> batches = {*small, *small, *big};
    const std::vector<std::string> sent = batches;
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&batches, Epoch(1));
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(CodeOf(info.status()), ErrorCode::kMessageTooLarge) << info.status();
    EXPECT_THAT(info.status().message(), HasSubstr("batch 2: record batch"));
    EXPECT_EQ(log->log_end_offset(), Offset(7));
    EXPECT_EQ(ReadAll(*log, Offset(0)).size(), 7u);
    EXPECT_EQ(batches, sent);
    // Without the last one, both are stored re-encoded.
    batches.pop_back();
    info = log->AppendAsLeader(&batches, Epoch(1));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(log->log_end_offset(), Offset(13));
    EXPECT_NE(batches[0], sent[0]);
  }
}

}  // namespace
}  // namespace strata::storage
