// `strata dump-log` over segments written by broker/storage's Segment on the
// real file system: the exact lines kafka-dump-log.sh prints for batches,
// records, indexes, and the damaged files it reports on.
#include "tools/dump_log.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "broker/storage/file_system.h"
#include "broker/storage/segment.h"
#include "client/record/compression.h"
#include "client/record/crc32c.h"
#include "client/record/record_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::string_literals;

constexpr int64_t kTs = 1700000000000;
constexpr int16_t kTransactional = 0x10;
constexpr int16_t kControl = 0x20;
constexpr int16_t kLogAppendTime = 0x08;

void PutBigEndian(char* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xFF);
}

// Recomputes the CRC after a test changed a CRC-covered header field.
void FixCrc(std::string* batch) {
  PutBigEndian(batch->data() + record::kCrcPos,
               record::Crc32c(std::string_view(*batch).substr(record::kAttributesPos)), 4);
}

void SetAttributes(std::string* batch, int16_t attributes) {
  PutBigEndian(batch->data() + record::kAttributesPos, static_cast<uint16_t>(attributes), 2);
  FixCrc(batch);
}

record::Record Rec(std::optional<std::string> key, std::optional<std::string> value,
                   int64_t timestamp, std::vector<record::RecordHeader> headers = {}) {
  return record::Record{.key = std::move(key),
                        .value = std::move(value),
                        .headers = std::move(headers),
                        .timestamp = timestamp,
                        .offset = Offset(0)};
}

std::string Build(int64_t base, const std::vector<record::Record>& records, int32_t epoch = 0) {
  record::RecordBatchBuilder builder{Offset(base)};
  builder.set_partition_leader_epoch(Epoch(epoch));
  for (const record::Record& r : records) builder.Append(r);
  return builder.Build();
}

// A COMMIT marker as a transaction coordinator writes it: key (version 0,
// type 1), value (version 0, coordinatorEpoch).
std::string CommitMarker(int64_t base, int64_t producer_id, int32_t coordinator_epoch) {
  std::string key(4, '\0');
  PutBigEndian(key.data() + 2, 1, 2);
  std::string value(6, '\0');
  PutBigEndian(value.data() + 2, static_cast<uint32_t>(coordinator_epoch), 4);
  record::RecordBatchBuilder builder{Offset(base)};
  builder.set_partition_leader_epoch(Epoch(0));
  builder.set_producer(producer_id, 0, -1);
  builder.Append(Rec(key, value, kTs + 50));
  std::string batch = builder.Build();
  SetAttributes(&batch, kTransactional | kControl);
  return batch;
}

struct Dump {
  int code = 0;
  std::string out;
  std::string err;
};

class DumpLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/dump_log_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `batches` through a Segment (indexing every batch after the
  // first), rolls it so both indexes are on disk, and returns its .log path.
  std::string WriteSegment(int64_t base, const std::vector<std::string>& batches) {
    auto seg = storage::Segment::Create(storage::FileSystem::Default(), dir_, Offset(base),
                                        {.index_interval_bytes = 1, .created_ms = 0});
    EXPECT_TRUE(seg.ok()) << seg.status();
    for (const std::string& batch : batches) {
      absl::StatusOr<record::BatchHeader> header = record::ValidateBatch(batch);
      EXPECT_TRUE(header.ok()) << header.status();
      EXPECT_TRUE((*seg)->Append(*header, batch).ok());
    }
    EXPECT_TRUE((*seg)->OnRoll().ok());
    return Path(base, ".log");
  }

  std::string Path(int64_t base, const std::string& suffix) const {
    return dir_ + "/" + storage::SegmentFileStem(Offset(base)) + suffix;
  }

  static void Append(const std::string& path, std::string_view bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  static Dump Run(DumpLogOptions options) {
    std::ostringstream out, err;
    Dump d;
    d.code = RunDumpLog(options, out, err);
    d.out = out.str();
    d.err = err.str();
    return d;
  }

  static DumpLogOptions Files(std::vector<std::string> files) {
    DumpLogOptions o;
    o.files = std::move(files);
    return o;
  }

  std::string dir_;
};

std::string Crc(const std::string& batch) {
  return std::to_string(record::ReadBatchHeader(batch)->crc);
}

TEST_F(DumpLogTest, PrintsKafkasBatchAndRecordLines) {
  record::RecordBatchBuilder plain{Offset(0)};
  plain.set_partition_leader_epoch(Epoch(4));
  plain.set_producer(7, 1, 10);
  plain.Append(Rec("k", "v", kTs));
  plain.Append(Rec(std::nullopt, "hello", kTs + 2, {{"h1", "x"}, {"h2", std::nullopt}}));
  plain.Append(Rec("tomb", std::nullopt, kTs + 1));
  const std::string a = plain.Build();
  const std::string b = *record::CompressBatch(
      Build(3, {Rec("g1", "gzip-1", kTs + 10), Rec("g2", "gzip-2", kTs + 11)}),
      record::Compression::kGzip);
  const std::string c = CommitMarker(5, 7, 3);
  const std::string log = WriteSegment(0, {a, b, c});

  DumpLogOptions options = Files({log});
  options.print_data_log = true;
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_THAT(d.err, IsEmpty());
  const std::string sa = std::to_string(a.size()), sb = std::to_string(b.size());
  const std::string pb = sa, pc = std::to_string(a.size() + b.size());
  EXPECT_EQ(
      d.out,
      "Dumping " + log +
          "\n"
          "Log starting offset: 0\n"
          "baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 10 lastSequence: 12 producerId: 7 "
          "producerEpoch: 1 partitionLeaderEpoch: 4 isTransactional: false isControl: false "
          "deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000002 size: " +
          sa + " magic: 2 compresscodec: none crc: " + Crc(a) +
          " isvalid: true\n"
          "| offset: 0 CreateTime: 1700000000000 keySize: 1 valueSize: 1 sequence: 10 "
          "headerKeys: [] key: k payload: v\n"
          "| offset: 1 CreateTime: 1700000000002 keySize: -1 valueSize: 5 sequence: 11 "
          "headerKeys: [h1,h2] payload: hello\n"
          "| offset: 2 CreateTime: 1700000000001 keySize: 4 valueSize: -1 sequence: 12 "
          "headerKeys: [] key: tomb\n"
          "baseOffset: 3 lastOffset: 4 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 "
          "producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false "
          "deleteHorizonMs: OptionalLong.empty position: " +
          pb + " CreateTime: 1700000000011 size: " + sb +
          " magic: 2 compresscodec: gzip crc: " + Crc(b) +
          " isvalid: true\n"
          "| offset: 3 CreateTime: 1700000000010 keySize: 2 valueSize: 6 sequence: -1 "
          "headerKeys: [] key: g1 payload: gzip-1\n"
          "| offset: 4 CreateTime: 1700000000011 keySize: 2 valueSize: 6 sequence: -1 "
          "headerKeys: [] key: g2 payload: gzip-2\n"
          "baseOffset: 5 lastOffset: 5 count: 1 baseSequence: -1 lastSequence: -1 producerId: 7 "
          "producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: true isControl: true "
          "deleteHorizonMs: OptionalLong.empty position: " +
          pc + " CreateTime: 1700000000050 size: " + std::to_string(c.size()) +
          " magic: 2 compresscodec: none crc: " + Crc(c) +
          " isvalid: true\n"
          "| offset: 5 CreateTime: 1700000000050 keySize: 4 valueSize: 6 sequence: -1 "
          "headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 3\n");
}

TEST_F(DumpLogTest, ShallowIterationNamesEveryCodec) {
  std::vector<std::string> batches;
  int64_t base = 0;
  for (record::Compression codec :
       {record::Compression::kNone, record::Compression::kGzip, record::Compression::kSnappy,
        record::Compression::kLz4, record::Compression::kZstd}) {
    std::string batch = Build(base, {Rec("k", std::string(50, 'a'), kTs)});
    if (codec != record::Compression::kNone) batch = *record::CompressBatch(batch, codec);
    batches.push_back(batch);
    ++base;
  }
  const Dump d = Run(Files({WriteSegment(0, batches)}));
  EXPECT_EQ(d.code, 0);
  for (const char* name : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    EXPECT_THAT(d.out, HasSubstr(std::string(" compresscodec: ") + name + " crc: "));
  }
  EXPECT_THAT(d.out, ::testing::Not(HasSubstr("| offset:")));

  // --deep-iteration decompresses each, without keys and payloads.
  DumpLogOptions deep = Files({Path(0, ".log")});
  deep.deep_iteration = true;
  const Dump dd = Run(deep);
  EXPECT_EQ(dd.code, 0) << dd.err;
  for (int offset = 0; offset < 5; ++offset) {
    EXPECT_THAT(dd.out, HasSubstr("| offset: " + std::to_string(offset) +
                                  " CreateTime: 1700000000000 keySize: 1 valueSize: 50 "
                                  "sequence: -1 headerKeys: []\n"));
  }
  EXPECT_THAT(dd.out, ::testing::Not(HasSubstr("payload")));
}

TEST_F(DumpLogTest, ReportsATruncatedTailAsKafkaDoes) {
  const std::string a = Build(0, {Rec("k", "v", kTs)});
  const std::string b = Build(1, {Rec("k2", "v2", kTs)});
  const std::string log = WriteSegment(0, {a});
  Append(log, std::string_view(b).substr(0, 30));  // a torn write
  const Dump d = Run(Files({log}));
  EXPECT_EQ(d.code, 0);
  EXPECT_THAT(d.out, HasSubstr("baseOffset: 0 lastOffset: 0 count: 1"));
  EXPECT_THAT(d.out, ::testing::EndsWith(
                         "Found 30 invalid bytes at the end of 00000000000000000000.log\n"));
  EXPECT_THAT(d.err, IsEmpty());

  // With --max-bytes Kafka reads only that much and says nothing of the rest.
  DumpLogOptions limited = Files({log});
  limited.max_bytes = static_cast<int32_t>(a.size()) + 20;
  const Dump l = Run(limited);
  EXPECT_EQ(l.code, 0);
  EXPECT_THAT(l.out, ::testing::Not(HasSubstr("invalid bytes")));
}

TEST_F(DumpLogTest, StopsAtACorruptLengthAndSaysSo) {
  const std::string a = Build(0, {Rec("k", "v", kTs)});
  const std::string log = WriteSegment(0, {a});
  std::string garbage(20, '\0');
  PutBigEndian(garbage.data() + 8, 3, 4);  // batchLength 3
  Append(log, garbage);
  const Dump d = Run(Files({log}));
  EXPECT_EQ(d.code, 1);
  EXPECT_THAT(d.out, HasSubstr("baseOffset: 0 lastOffset: 0"));
  EXPECT_THAT(d.out, HasSubstr("Found 20 invalid bytes at the end of 00000000000000000000.log"));
  EXPECT_EQ(d.err,
            "Found record size 3 smaller than minimum record overhead (14) in file " + log + ".\n");
}

TEST_F(DumpLogTest, ABadCrcIsInvalidButItsRecordsStillPrint) {
  const std::string log = WriteSegment(0, {Build(0, {Rec("k", "value", kTs)})});
  {
    std::ifstream in(log, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = bytes.find("value");
    ASSERT_NE(at, std::string::npos);
    std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at + 4));
    f.put('V');  // "value" -> "valuV": the CRC no longer matches
  }
  DumpLogOptions options = Files({log});
  options.print_data_log = true;
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr(" isvalid: false\n"));
  EXPECT_THAT(d.out, HasSubstr("key: k payload: valuV\n"));
}

TEST_F(DumpLogTest, RecordsThatDoNotDecodeAreReportedAndTheRestDumped) {
  std::string bad = *record::CompressBatch(Build(0, {Rec("k", std::string(100, 'x'), kTs)}),
                                           record::Compression::kZstd);
  bad[record::kBatchHeaderSize] ^= 0x5a;  // the zstd frame's magic number
  FixCrc(&bad);
  const std::string log = WriteSegment(0, {bad, Build(1, {Rec("k", "v", kTs)})});
  DumpLogOptions options = Files({log});
  options.deep_iteration = true;
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 1);
  EXPECT_THAT(d.err, HasSubstr("Cannot read the records of the batch at position 0 in file "));
  EXPECT_THAT(d.err, ::testing::Not(HasSubstr("Non-consecutive")));
  EXPECT_THAT(d.out, HasSubstr("| offset: 1 CreateTime: "));
}

TEST_F(DumpLogTest, MissingAndUnknownFiles) {
  const Dump d = Run(Files({dir_ + "/00000000000000000000.log", dir_ + "/notes.txt"}));
  EXPECT_EQ(d.code, 1);
  EXPECT_EQ(d.out,
            "Dumping " + dir_ + "/00000000000000000000.log\nDumping " + dir_ + "/notes.txt\n");
  EXPECT_EQ(d.err, "Error: cannot read " + dir_ +
                       "/00000000000000000000.log: No such file or directory\n"
                       "Ignoring unknown file " +
                       dir_ + "/notes.txt\n");
}

TEST_F(DumpLogTest, DumpsAndChecksBothIndexes) {
  std::vector<std::string> batches;
  for (int i = 0; i < 4; ++i) {
    batches.push_back(
        Build(10 + 2 * i, {Rec("k", "a", kTs + 10 * i), Rec("k", "b", kTs + 10 * i)}));
  }
  WriteSegment(10, batches);
  const size_t size = batches[0].size();  // all four are the same size
  DumpLogOptions options = Files({Path(10, ".index"), Path(10, ".timeindex")});
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_THAT(d.err, IsEmpty());
  // index.interval.bytes 1: an entry for every batch after the first.
  EXPECT_EQ(d.out, "Dumping " + Path(10, ".index") +
                       "\n"
                       "offset: 13 position: " +
                       std::to_string(size) + "\noffset: 15 position: " + std::to_string(2 * size) +
                       "\noffset: 17 position: " + std::to_string(3 * size) + "\nDumping " +
                       Path(10, ".timeindex") +
                       "\n"
                       "timestamp: 1700000000010 offset: 13\n"
                       "timestamp: 1700000000020 offset: 15\n"
                       "timestamp: 1700000000030 offset: 17\n");

  options.verify_index_only = true;
  const Dump v = Run(options);
  EXPECT_EQ(v.out, "Dumping " + Path(10, ".index") + "\nDumping " + Path(10, ".timeindex") + "\n");
  EXPECT_THAT(v.err, IsEmpty());

  options.verify_index_only = false;
  options.index_sanity_check = true;
  const Dump s = Run(options);
  EXPECT_EQ(s.code, 0);
  EXPECT_EQ(s.out, "Dumping " + Path(10, ".index") + "\n" + Path(10, ".index") +
                       " passed sanity check.\nDumping " + Path(10, ".timeindex") + "\n" +
                       Path(10, ".timeindex") + " passed sanity check.\n");
}

TEST_F(DumpLogTest, IndexProblemsUseKafkasWording) {
  std::vector<std::string> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(Build(i, {Rec("k", "v", kTs + i)}));
  WriteSegment(0, batches);
  const std::string index = Path(0, ".index");
  const std::string time_index = Path(0, ".timeindex");

  // An entry naming the wrong offset, and a torn entry at the end.
  std::string wrong(8, '\0');
  PutBigEndian(wrong.data(), 9, 4);
  PutBigEndian(wrong.data() + 4, 2 * batches[0].size(), 4);
  std::filesystem::resize_file(index, 8);
  Append(index, wrong);
  Append(index, "abc");
  const Dump d = Run(Files({index}));
  EXPECT_EQ(d.code, 0);
  EXPECT_THAT(d.out, HasSubstr("offset: 1 position: " + std::to_string(batches[0].size()) +
                               "\noffset: 9 position: "));
  EXPECT_EQ(d.err, "Mismatches in :" + index + "\n  Index offset: 9, log offset: 2\n");

  DumpLogOptions sanity = Files({index});
  sanity.index_sanity_check = true;
  const Dump s = Run(sanity);
  EXPECT_EQ(s.code, 1);
  EXPECT_EQ(s.err, "Index file " + index +
                       " is corrupt, found 19 bytes which is neither positive nor a multiple of "
                       "8\n");

  // The time index: a timestamp the batch does not have, then one going back.
  std::string entries(24, '\0');
  PutBigEndian(entries.data(), kTs + 5, 8);
  PutBigEndian(entries.data() + 8, 1, 4);
  PutBigEndian(entries.data() + 12, kTs + 1, 8);
  PutBigEndian(entries.data() + 20, 2, 4);
  std::filesystem::resize_file(time_index, 0);
  Append(time_index, entries);
  std::filesystem::resize_file(index, 0);
  const Dump t = Run(Files({time_index}));
  EXPECT_EQ(t.code, 0);
  EXPECT_EQ(t.err, "Found timestamp mismatch in :" + time_index +
                       "\n"
                       "  Index timestamp: 1700000000005, log timestamp: 1700000000001\n"
                       "  Index timestamp: 1700000000001, log timestamp: 1700000000002\n"
                       "Found out of order timestamp in :" +
                       time_index +
                       "\n"
                       "  Index timestamp: 1700000000001, Previously indexed timestamp: "
                       "1700000000005\n");
  DumpLogOptions time_sanity = Files({time_index});
  time_sanity.index_sanity_check = true;
  const Dump ts = Run(time_sanity);
  EXPECT_EQ(ts.code, 1);
  EXPECT_EQ(ts.err, "Corrupt time index found, time index file (" + time_index +
                        ") has non-zero size but the last timestamp is 1700000000001 which is "
                        "less than the first timestamp 1700000000005\n");

  const Dump empty = Run(Files({index}));
  EXPECT_EQ(empty.out, "Dumping " + index + "\n" + index + " is empty.\n");
}

TEST_F(DumpLogTest, NonConsecutiveOffsetsGoToStderrLastFirst) {
  const std::string log =
      WriteSegment(0, {Build(0, {Rec("k", "v", kTs)}), Build(5, {Rec("k", "v", kTs)}),
                       Build(9, {Rec("k", "v", kTs)})});
  DumpLogOptions options = Files({log});
  options.deep_iteration = true;
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 0);
  EXPECT_EQ(d.err,
            "Non-consecutive offsets in " + log + "\n  5 is followed by 9\n  0 is followed by 5\n");
}

TEST_F(DumpLogTest, LogAppendTimeBatchesAndDecoders) {
  std::string batch =
      Build(0, {Rec(std::string("\0\0\0\x2a", 4), std::string("\0\0\0\0\0\0\x01\x00", 8), kTs),
                Rec(std::string("\0\0\0\x07", 4),
                    "\xff"
                    "ab",
                    kTs + 1)});
  PutBigEndian(batch.data() + record::kMaxTimestampPos, kTs + 999, 8);
  SetAttributes(&batch, kLogAppendTime);
  const std::string log = WriteSegment(0, {batch});

  DumpLogOptions options = Files({log});
  options.key_decoder_class = "kafka.serializer.IntegerDecoder";
  const Dump d = Run(options);  // a decoder implies --print-data-log
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr("Dumping " + log +
                               "\nkafka.serializer.IntegerDecoder is deprecated. Please use "
                               "org.apache.kafka.tools.api.IntegerDecoder instead\n"
                               "Log starting offset: 0\n"));
  EXPECT_THAT(d.out, HasSubstr(" position: 0 LogAppendTime: 1700000000999 size: "));
  EXPECT_THAT(d.out, HasSubstr("| offset: 0 LogAppendTime: 1700000000999 keySize: 4 valueSize: "
                               "8 sequence: -1 headerKeys: [] key: 42 payload: "));
  // Bytes that are not UTF-8 show as U+FFFD, as Java's String does.
  EXPECT_THAT(d.out, HasSubstr("key: 7 payload: \xEF\xBF\xBD"
                               "ab\n"));

  options.key_decoder_class.reset();
  options.value_decoder_class = "org.apache.kafka.tools.api.LongDecoder";
  options.skip_record_metadata = true;
  const Dump l = Run(options);
  EXPECT_EQ(l.code, 1);  // the second value is too short for a long
  EXPECT_THAT(l.out, HasSubstr("\n| key: \0\0\0* payload: 256\n"s));
  EXPECT_THAT(l.err, HasSubstr("Cannot decode the value of the record at offset 1: 3 bytes are "
                               "too few for LongDecoder"));
}

TEST_F(DumpLogTest, RefusesWhatItCannotDo) {
  DumpLogOptions options;
  EXPECT_EQ(ValidateDumpLogOptions(options).message(), "Missing required argument \"[files]\"");
  options.files = SplitFilesOption("a.log,,b.index");
  EXPECT_EQ(options.files, (std::vector<std::string>{"a.log", "b.index"}));
  EXPECT_TRUE(ValidateDumpLogOptions(options).ok());

  options.offsets_decoder = true;
  EXPECT_THAT(std::string(ValidateDumpLogOptions(options).message()),
              HasSubstr("--offsets-decoder is not supported"));
  options.offsets_decoder = false;
  options.value_decoder_class = "com.example.AvroDecoder";
  const Dump d = Run(options);
  EXPECT_EQ(d.code, 1);
  EXPECT_THAT(d.out, IsEmpty());
  EXPECT_THAT(d.err, HasSubstr("Unsupported decoder class com.example.AvroDecoder"));
  options.value_decoder_class = "";  // given without a value: the StringDecoder
  EXPECT_TRUE(ValidateDumpLogOptions(options).ok());
}

}  // namespace
}  // namespace strata::tools
