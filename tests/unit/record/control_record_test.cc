// Transaction markers: Kafka's control record key and EndTransactionMarker
// value byte for byte, the control batch around them, and refusals of
// malformed ones.
#include "client/record/control_record.h"

#include <gtest/gtest.h>

#include <string>

#include "client/record/record_batch.h"

namespace strata::record {
namespace {

TEST(ControlRecordTest, KeyAndValueAreKafkasBytes) {
  EXPECT_EQ(EncodeControlKey(ControlType::kAbort), std::string("\x00\x00\x00\x00", 4));
  EXPECT_EQ(EncodeControlKey(ControlType::kCommit), std::string("\x00\x00\x00\x01", 4));
  EXPECT_EQ(EncodeEndTxnMarkerValue(0x01020304), std::string("\x00\x00\x01\x02\x03\x04", 6));
  EXPECT_EQ(*DecodeControlKey(EncodeControlKey(ControlType::kCommit)), ControlType::kCommit);
  EXPECT_EQ(*DecodeEndTxnMarkerValue(EncodeEndTxnMarkerValue(-7)), -7);
  EXPECT_EQ(ControlTypeName(ControlType::kCommit), "COMMIT");
  EXPECT_EQ(ControlTypeName(ControlType::kAbort), "ABORT");
}

TEST(ControlRecordTest, NewerVersionsAreReadByTheirKnownFields) {
  // A version 1 key or value with bytes after the known fields.
  EXPECT_EQ(*DecodeControlKey(std::string("\x00\x01\x00\x01\xff", 5)), ControlType::kCommit);
  EXPECT_EQ(*DecodeEndTxnMarkerValue(std::string("\x00\x01\x00\x00\x00\x05\x00", 7)), 5);
}

TEST(ControlRecordTest, MalformedKeysAndValuesAreRefusedByName) {
  absl::StatusOr<ControlType> short_key = DecodeControlKey(std::string("\x00\x00\x00", 3));
  EXPECT_TRUE(absl::IsInvalidArgument(short_key.status()));
  EXPECT_NE(short_key.status().message().find("not 3"), std::string::npos);
  absl::StatusOr<ControlType> other = DecodeControlKey(std::string("\x00\x00\x00\x02", 4));
  EXPECT_NE(other.status().message().find("type 2"), std::string::npos) << other.status();
  EXPECT_FALSE(DecodeControlKey(std::string("\xff\xff\x00\x00", 4)).ok()) << "negative version";
  EXPECT_FALSE(DecodeEndTxnMarkerValue(std::string("\x00\x00\x00\x00\x01", 5)).ok());
  EXPECT_FALSE(DecodeEndTxnMarkerValue("").ok());
}

TEST(ControlRecordTest, AMarkerBatchIsATransactionalControlBatchOfOneRecord) {
  const std::string batch =
      BuildEndTxnMarkerBatch(4000, 3, EndTxnMarker{ControlType::kCommit, 17}, 1234567, Offset(42));
  absl::StatusOr<BatchHeader> h = ValidateStoredBatch(batch);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->is_control());
  EXPECT_TRUE(h->is_transactional());
  EXPECT_EQ(h->producer_id, 4000);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->base_offset, Offset(42));
  EXPECT_EQ(h->records_count, 1);
  EXPECT_EQ(h->max_timestamp, 1234567);
  EXPECT_EQ(h->compression(), Compression::kNone);
  absl::StatusOr<EndTxnMarker> marker = ReadEndTxnMarker(batch);
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(*marker, (EndTxnMarker{ControlType::kCommit, 17}));
  EXPECT_EQ(
      *ReadEndTxnMarker(BuildEndTxnMarkerBatch(1, 0, EndTxnMarker{ControlType::kAbort, 0}, 0)),
      (EndTxnMarker{ControlType::kAbort, 0}));
}

TEST(ControlRecordTest, ReadingAMarkerRefusesWhatIsNotOne) {
  RecordBatchBuilder plain;
  Record r;
  r.key = EncodeControlKey(ControlType::kCommit);
  r.value = EncodeEndTxnMarkerValue(1);
  plain.Append(r);
  const std::string data = plain.Build();
  EXPECT_NE(ReadEndTxnMarker(data).status().message().find("not a control batch"),
            std::string::npos);

  RecordBatchBuilder two;
  two.set_control(true);
  two.Append(r);
  two.Append(r);
  EXPECT_NE(ReadEndTxnMarker(two.Build()).status().message().find("2 records"), std::string::npos);

  RecordBatchBuilder keyless;
  keyless.set_control(true);
  Record no_key;
  no_key.value = EncodeEndTxnMarkerValue(1);
  keyless.Append(no_key);
  EXPECT_NE(ReadEndTxnMarker(keyless.Build()).status().message().find("has no key"),
            std::string::npos);

  std::string corrupt = BuildEndTxnMarkerBatch(5, 0, EndTxnMarker{ControlType::kCommit, 1}, 0);
  corrupt.back() ^= 0x01;
  EXPECT_FALSE(ReadEndTxnMarker(corrupt).ok()) << "a CRC mismatch";
  EXPECT_FALSE(ReadEndTxnMarker(corrupt.substr(0, 20)).ok()) << "a cut batch";
}

TEST(RecordBatchBuilderTest, AnEmptyBatchCarriesTheTimestampItIsGiven) {
  RecordBatchBuilder builder(Offset(10));
  builder.set_producer(9, 1, 4);
  builder.set_last_offset_delta(2);
  builder.set_empty_batch_timestamp(5555);
  const std::string batch = builder.Build();
  absl::StatusOr<BatchHeader> h = ValidateStoredBatch(batch);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->records_count, 0);
  EXPECT_EQ(h->base_timestamp, 5555);
  EXPECT_EQ(h->max_timestamp, 5555);
  EXPECT_EQ(h->last_offset_delta, 2);
  EXPECT_FALSE(h->is_control());
  EXPECT_FALSE(h->is_transactional());
  // Reset by Build: the next empty batch has none.
  builder.set_last_offset_delta(0);
  EXPECT_EQ(ReadBatchHeader(builder.Build())->max_timestamp, -1);
}

// A read_committed consumer's filter over one partition's batches.
std::string Data(int64_t pid, int64_t offset, int count, bool transactional) {
  RecordBatchBuilder b{Offset(offset)};
  b.set_producer(pid, 0, 0).set_transactional(transactional);
  for (int i = 0; i < count; ++i) {
    Record r;
    r.value = "v";
    b.Append(r);
  }
  return b.Build();
}

TEST(AbortedTransactionFilterTest, DropsAbortedBatchesUntilTheMarkerAndEveryControlBatch) {
  // Producer 5 aborts [0..1] (marker at 4), producer 6 commits [2] (marker
  // at 3), producer 5 writes again transactionally at 5 and commits (6);
  // producer 7 is not transactional; producer 8's abort begins after.
  std::vector<std::string> batches = {
      Data(5, 0, 2, true),
      Data(6, 2, 1, true),
      BuildEndTxnMarkerBatch(6, 0, {ControlType::kCommit, 0}, 1, Offset(3)),
      BuildEndTxnMarkerBatch(5, 0, {ControlType::kAbort, 0}, 1, Offset(4)),
      Data(5, 5, 1, true),
      BuildEndTxnMarkerBatch(5, 0, {ControlType::kCommit, 0}, 1, Offset(6)),
      Data(7, 7, 1, false),
      Data(8, 8, 1, true),
  };
  AbortedTransactionFilter filter({{8, 9}, {5, 0}});  // any order
  std::vector<bool> dropped;
  for (const std::string& b : batches) {
    dropped.push_back(filter.Drop(*ReadBatchHeader(b), b));
  }
  EXPECT_EQ(dropped, (std::vector<bool>{true, false, true, true, false, true, false, false}));

  // Without aborted transactions only control batches go.
  AbortedTransactionFilter none({});
  EXPECT_TRUE(none.Drop(*ReadBatchHeader(batches[3]), batches[3]));
  EXPECT_FALSE(none.Drop(*ReadBatchHeader(batches[0]), batches[0]));
}

}  // namespace
}  // namespace strata::record
