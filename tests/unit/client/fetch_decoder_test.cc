#include "client/fetch_decoder.h"

#include "gtest/gtest.h"

namespace strata::client {
namespace {

std::string Batch(int64_t base, std::vector<std::string> values) {
  record::RecordBatchBuilder b{Offset(base)};
  for (auto& v : values) {
    record::Record r;
    r.key = "k" + v;
    r.value = v;
    r.timestamp = 5000;
    b.Append(r);
  }
  return b.Build();
}

// Every run's records, in order.
std::vector<ConsumerRecord> All(const DecodedFetch& out) {
  std::vector<ConsumerRecord> all;
  for (const auto& run : out.runs) all.insert(all.end(), run.begin(), run.end());
  return all;
}

TEST(FetchDecoderTest, SkipsRecordsBelowTheFetchOffset) {
  const std::string bytes = Batch(0, {"a", "b", "c"}) + Batch(3, {"d", "e", "f"});
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords(bytes, "t", 2, /*fetch_offset=*/4, true, &out).ok());
  const std::vector<ConsumerRecord> records = All(out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 4);
  EXPECT_EQ(*records[0].value, "e");
  EXPECT_EQ(*records[0].key, "ke");
  EXPECT_EQ(records[0].topic, "t");
  EXPECT_EQ(records[0].partition, 2);
  EXPECT_EQ(records[0].timestamp_ms, 5000);
  EXPECT_EQ(records[1].offset, 5);
  EXPECT_EQ(out.next_offset, 6);
  EXPECT_FALSE(out.truncated);
}

// A compacted partition, as Kafka's consumer reads one: the cleaner kept
// offsets 10 and 13 of the batch at 10-14 (lastOffsetDelta 4) and dropped
// 15-19 whole; records keep their offsets and the next fetch starts past
// the batch's last offset.
TEST(FetchDecoderTest, AcceptsGapsLeftByCompaction) {
  record::RecordBatchBuilder b{Offset(10)};
  for (int64_t offset : {10, 13}) {
    record::Record r;
    r.key = "k" + std::to_string(offset);
    r.value = "v";
    r.timestamp = 5000;
    r.offset = Offset(offset);
    b.AppendWithOffset(r);
  }
  b.set_last_offset_delta(4);
  const std::string cleaned = b.Build();
  const std::string bytes = cleaned + Batch(20, {"u"});
  for (int64_t fetch_offset : {10, 11}) {
    DecodedFetch out;
    absl::Status s = DecodeFetchedRecords(bytes, "t", 0, fetch_offset, true, &out);
    ASSERT_TRUE(s.ok()) << s;
    std::vector<int64_t> offsets;
    for (const ConsumerRecord& r : All(out)) offsets.push_back(r.offset);
    EXPECT_EQ(offsets, fetch_offset == 10 ? std::vector<int64_t>({10, 13, 20})
                                          : std::vector<int64_t>({13, 20}));
    EXPECT_EQ(out.next_offset, 21);
  }
  // Fetching inside the batch's trailing gap: no record, but the consumer
  // moves past the batch's last offset.
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords(cleaned, "t", 0, 14, true, &out).ok());
  EXPECT_TRUE(out.runs.empty());
  EXPECT_EQ(out.next_offset, 15);
  EXPECT_FALSE(out.truncated);
}

TEST(FetchDecoderTest, IgnoresAPartialTrailingBatch) {
  const std::string second = Batch(2, {"c", "d"});
  const std::string bytes = Batch(0, {"a", "b"}) + second.substr(0, second.size() - 3);
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords(bytes, "t", 0, 0, true, &out).ok());
  ASSERT_EQ(All(out).size(), 2u);
  EXPECT_EQ(out.next_offset, 2);
}

TEST(FetchDecoderTest, OnlyAPartialBatchIsTruncated) {
  const std::string batch = Batch(0, {"a"});
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords(batch.substr(0, 20), "t", 0, 0, true, &out).ok());
  EXPECT_TRUE(out.runs.empty());
  EXPECT_TRUE(out.truncated);
  EXPECT_EQ(out.next_offset, 0);
}

TEST(FetchDecoderTest, ACorruptBatchIsAnErrorNamingThePartition) {
  std::string bytes = Batch(7, {"a", "b"});
  bytes[bytes.size() - 1] ^= 0x55;
  DecodedFetch out;
  absl::Status s = DecodeFetchedRecords(bytes, "t", 1, 7, true, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("t-1"), absl::string_view::npos) << s;
}

TEST(FetchDecoderTest, EmptyBytesGiveNothing) {
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords("", "t", 0, 10, true, &out).ok());
  EXPECT_TRUE(out.runs.empty());
  EXPECT_FALSE(out.truncated);
  EXPECT_EQ(out.next_offset, 10);
}

// isolation.level=read_committed: an aborted transaction's records go, its
// marker and every other control batch too; committed and plain records
// stay; the next fetch starts past everything read.
TEST(FetchDecoderTest, ReadCommittedDropsAbortedTransactionsAndMarkers) {
  auto txn = [](int64_t pid, int64_t base, const std::string& v) {
    record::RecordBatchBuilder b{Offset(base)};
    b.set_producer(pid, 0, 0).set_transactional(true);
    record::Record r;
    r.value = v;
    b.Append(r);
    return b.Build();
  };
  const std::string bytes =
      Batch(0, {"plain"}) + txn(5, 1, "aborted") + txn(6, 2, "committed") +
      record::BuildEndTxnMarkerBatch(5, 0, {record::ControlType::kAbort, 0}, 1, Offset(3)) +
      record::BuildEndTxnMarkerBatch(6, 0, {record::ControlType::kCommit, 0}, 1, Offset(4)) +
      txn(5, 5, "later");
  const std::vector<record::AbortedTransaction> aborted = {{5, 1}};
  DecodedFetch committed;
  ASSERT_TRUE(DecodeFetchedRecords(bytes, "t", 0, 0, true, &committed, &aborted).ok());
  std::vector<std::string> values;
  for (const ConsumerRecord& r : All(committed)) values.push_back(*r.value);
  EXPECT_EQ(values, (std::vector<std::string>{"plain", "committed", "later"}));
  EXPECT_EQ(committed.next_offset, 6);

  DecodedFetch uncommitted;
  ASSERT_TRUE(DecodeFetchedRecords(bytes, "t", 0, 0, true, &uncommitted).ok());
  EXPECT_EQ(All(uncommitted).size(), 4u) << "every data record, no marker";
}

// Runs of at most max.poll.records, whatever the batches' sizes, so that a
// consumer hands each to one poll() whole; the records below the fetch
// offset are skipped before counting, and appending to a decoded fetch
// fills its last run first.
TEST(FetchDecoderTest, RecordsComeInRunsOfAtMostTheGivenSize) {
  const std::string bytes = Batch(0, {"a", "b", "c", "d"}) + Batch(4, {"e", "f", "g"}) +
                            Batch(7, {"h", "i", "j", "k", "l"});
  DecodedFetch out;
  ASSERT_TRUE(DecodeFetchedRecords(bytes, "t", 0, /*fetch_offset=*/1, true, &out, nullptr,
                                   /*run_records=*/5)
                  .ok());
  std::vector<std::vector<int64_t>> runs;
  for (const auto& run : out.runs) {
    runs.emplace_back();
    for (const ConsumerRecord& r : run) runs.back().push_back(r.offset);
  }
  EXPECT_EQ(runs, (std::vector<std::vector<int64_t>>{
                      {1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, {11}}));
  EXPECT_EQ(out.next_offset, 12);

  ASSERT_TRUE(DecodeFetchedRecords(Batch(12, {"m", "n", "o", "p", "q"}), "t", 0, 12, true, &out,
                                   nullptr, 5)
                  .ok());
  ASSERT_EQ(out.runs.size(), 4u);
  EXPECT_EQ(out.runs[2].size(), 5u);
  EXPECT_EQ(out.runs[2].back().offset, 15);
  EXPECT_EQ(out.runs[3].size(), 1u);
  EXPECT_EQ(out.runs[3].front().offset, 16);
}

}  // namespace
}  // namespace strata::client
