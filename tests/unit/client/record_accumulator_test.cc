#include "client/record_accumulator.h"

#include "gtest/gtest.h"

namespace strata::client {
namespace {

const TopicPartition kTp{"t", PartitionId(0)};

record::Record Value(std::string v) {
  record::Record r;
  r.value = std::move(v);
  r.timestamp = 1000;
  return r;
}

TEST(RecordAccumulatorTest, RecordsAccumulateIntoOneBatchUpToBatchSize) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5));
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 100; ++i) acc.Append(kTp, Value("value-" + std::to_string(i)), {}, now);
  EXPECT_EQ(acc.BatchCount(kTp), 1u);
  std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->record_count(), 100);
  auto records = record::DecodeRecords(batch->payload);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 100u);
  EXPECT_EQ(*(*records)[42].value, "value-42");
  EXPECT_LE(batch->payload.size(), 16384u);
}

TEST(RecordAccumulatorTest, AFullBatchStartsANewOne) {
  RecordAccumulator acc(/*batch_size=*/1024, absl::Milliseconds(5));
  const absl::Time now = absl::FromUnixSeconds(100);
  const std::string value(300, 'x');
  for (int i = 0; i < 10; ++i) acc.Append(kTp, Value(value), {}, now);
  EXPECT_GE(acc.BatchCount(kTp), 4u);
  int total = 0;
  while (auto b = acc.Drain(kTp)) {
    EXPECT_LE(b->payload.size(), 1024u);
    total += b->record_count();
  }
  EXPECT_EQ(total, 10);
}

TEST(RecordAccumulatorTest, ARecordLargerThanBatchSizeGetsItsOwnBatch) {
  RecordAccumulator acc(/*batch_size=*/100, absl::Milliseconds(5));
  const absl::Time now = absl::FromUnixSeconds(100);
  acc.Append(kTp, Value(std::string(500, 'x')), {}, now);
  acc.Append(kTp, Value("small"), {}, now);
  EXPECT_EQ(acc.BatchCount(kTp), 2u);
}

TEST(RecordAccumulatorTest, ReadyWhenFullLingeredOrFlushing) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(50));
  const absl::Time t0 = absl::FromUnixSeconds(100);
  acc.Append(kTp, Value("a"), {}, t0);
  absl::Time next = absl::InfiniteFuture();
  EXPECT_TRUE(acc.Ready(t0 + absl::Milliseconds(10), false, &next).empty());
  EXPECT_EQ(next, t0 + absl::Milliseconds(50));
  EXPECT_EQ(acc.Ready(t0 + absl::Milliseconds(10), /*flush=*/true, &next).size(), 1u);
  EXPECT_EQ(acc.Ready(t0 + absl::Milliseconds(50), false, &next).size(), 1u);
  acc.Mute(kTp);
  EXPECT_TRUE(acc.Ready(t0 + absl::Seconds(1), true, &next).empty());
}

TEST(RecordAccumulatorTest, ARetriedBatchGoesBackToTheHeadAfterItsBackoff) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::ZeroDuration());
  const absl::Time t0 = absl::FromUnixSeconds(100);
  acc.Append(kTp, Value("first"), {}, t0);
  std::unique_ptr<ProducerBatch> first = acc.Drain(kTp);
  acc.Append(kTp, Value("second"), {}, t0);
  first->retry_at = t0 + absl::Milliseconds(100);
  acc.Reenqueue(std::move(first));
  absl::Time next = absl::InfiniteFuture();
  EXPECT_TRUE(acc.Ready(t0, false, &next).empty());
  EXPECT_EQ(next, t0 + absl::Milliseconds(100));
  ASSERT_EQ(acc.Ready(t0 + absl::Milliseconds(100), false, &next).size(), 1u);
  auto again = acc.Drain(kTp);
  EXPECT_EQ(*record::DecodeRecords(again->payload)->at(0).value, "first");
}

TEST(RecordAccumulatorTest, ExpireRemovesBatchesPastTheDeliveryTimeout) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5));
  const absl::Time t0 = absl::FromUnixSeconds(100);
  acc.Append(kTp, Value("a"), {}, t0);
  EXPECT_TRUE(acc.Expire(t0 + absl::Seconds(1), absl::Seconds(2)).empty());
  EXPECT_EQ(acc.Expire(t0 + absl::Seconds(2), absl::Seconds(2)).size(), 1u);
  EXPECT_TRUE(acc.empty());
}

}  // namespace
}  // namespace strata::client
