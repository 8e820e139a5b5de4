#include "client/record_accumulator.h"

#include <map>
#include <string>

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

// A batch lends its payload to a request (produce_request.h) and takes it
// back to go again: moved back when the request let go of it, copied while
// something else (gRPC) still holds it, which keeps its bytes unchanged.
TEST(RecordAccumulatorTest, ALentPayloadComesBackMovedOrCopied) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5));
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 50; ++i) acc.Append(kTp, Value("value-" + std::to_string(i)), {}, now);
  std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
  ASSERT_NE(batch, nullptr);
  const std::string original = batch->payload;
  const size_t size = batch->size_in_bytes();

  std::shared_ptr<const std::string> lent = batch->Lend();
  EXPECT_TRUE(batch->payload.empty());
  EXPECT_EQ(*lent, original);
  EXPECT_EQ(batch->size_in_bytes(), size) << "a lent batch keeps its size";
  const char* bytes = lent->data();
  lent.reset();  // the request let go
  batch->Reclaim();
  EXPECT_EQ(batch->payload, original);
  EXPECT_EQ(batch->payload.data(), bytes) << "moved back, not copied";
  EXPECT_EQ(batch->lent, nullptr);

  std::shared_ptr<const std::string> held = batch->Lend();  // lent again
  batch->Reclaim();                                         // while still held
  EXPECT_EQ(batch->payload, original);
  EXPECT_NE(batch->payload.data(), held->data()) << "copied: the holder may still read its bytes";
  batch->payload[batch->payload.size() - 1] ^= 1;
  EXPECT_EQ(*held, original) << "changing the batch's copy leaves the held bytes alone";
  batch->Reclaim();  // nothing lent: no change
  EXPECT_NE(batch->payload, original);
}

// Records of many partitions interleaved, with batches taken (each taken
// batch may empty and remove its partition's queue, and moves the others in
// the map) and some put back, between them: every record lands in its own
// partition's batches, in order.
TEST(RecordAccumulatorTest, InterleavedPartitionsEachKeepTheirRecords) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5));
  const absl::Time now = absl::FromUnixSeconds(100);
  auto tp = [](int i) { return TopicPartition{i % 2 == 0 ? "even" : "odd", PartitionId(i)}; };
  std::map<int, std::string> expected;
  std::map<int, std::string> got;
  auto take_out = [&](int i) {
    if (std::unique_ptr<ProducerBatch> b = acc.Drain(tp(i))) {
      auto records = record::DecodeRecords(b->payload);
      ASSERT_TRUE(records.ok()) << records.status();
      for (const record::Record& r : *records) got[i] += *r.value + ",";
    }
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) {
      // Twice in a row to the same partition, then another.
      for (int k = 0; k < 2; ++k) {
        const std::string v =
            std::to_string(round) + "/" + std::to_string(i) + "/" + std::to_string(k);
        acc.Append(tp(i), Value(v), {}, now);
        expected[i] += v + ",";
      }
      if (i % 7 == 3) {
        // The partition just written has its batch sent (its queue goes)
        // and takes one more record; another's batch is taken and put back
        // (its queue goes and comes).
        take_out(i);
        const std::string v = std::to_string(round) + "/" + std::to_string(i) + "/after";
        acc.Append(tp(i), Value(v), {}, now);
        expected[i] += v + ",";
        if (std::unique_ptr<ProducerBatch> taken = acc.Take(tp(i / 2))) {
          acc.Reenqueue(std::move(taken));
        }
      }
    }
  }
  for (int i = 0; i < 200; ++i) {
    while (acc.BatchCount(tp(i)) > 0) take_out(i);
    EXPECT_EQ(got[i], expected[i]) << "partition " << i;
  }
  EXPECT_TRUE(acc.empty());
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

// --- compression.type ------------------------------------------------------

// JSON-ish values that compress several times over, as real ones do.
std::string JsonValue(int i) {
  return "{\"id\": " + std::to_string(i) + ", \"user\": \"user-" + std::to_string(i % 50) +
         "\", \"event\": \"page_view\", \"path\": \"/products/" + std::to_string(i % 200) +
         "\", \"agent\": \"Mozilla/5.0 (X11; Linux x86_64)\"}";
}

constexpr record::Compression kCodecs[] = {record::Compression::kGzip, record::Compression::kSnappy,
                                           record::Compression::kLz4, record::Compression::kZstd};

TEST(RecordAccumulatorTest, EveryCodecCompressesTheSealedBatchAndRoundTrips) {
  for (record::Compression codec : kCodecs) {
    SCOPED_TRACE(record::CompressionName(codec));
    RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5), codec);
    const absl::Time now = absl::FromUnixSeconds(100);
    for (int i = 0; i < 20; ++i) {
      record::Record r = Value(JsonValue(i));
      r.key = "k" + std::to_string(i);
      r.headers.push_back({"h", std::string("x")});
      r.timestamp = 1000 + i;
      acc.Append(kTp, r, {}, now);
    }
    std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
    ASSERT_NE(batch, nullptr);
    absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch->payload);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->compression(), codec);
    EXPECT_EQ(h->records_count, 20);
    EXPECT_LT(batch->payload.size() - record::kBatchHeaderSize, batch->uncompressed_records_bytes);
    auto records = record::DecodeRecords(batch->payload);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), 20u);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(*(*records)[i].value, JsonValue(i));
      EXPECT_EQ(*(*records)[i].key, "k" + std::to_string(i));
      EXPECT_EQ((*records)[i].timestamp, 1000 + i);
      EXPECT_EQ((*records)[i].headers.size(), 1u);
    }
    if (codec == record::Compression::kSnappy) {
      // The xerial framing Kafka's Java client writes.
      EXPECT_EQ(batch->payload.substr(record::kBatchHeaderSize, 8), std::string("\x82SNAPPY\0", 8));
    }
  }
}

TEST(RecordAccumulatorTest, WithoutCompressionBatchesStayPlain) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5));
  acc.Append(kTp, Value(JsonValue(1)), {}, absl::FromUnixSeconds(100));
  std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
  absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch->payload);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->compression(), record::Compression::kNone);
  EXPECT_EQ(acc.EstimatedRatio("t"), 1.0);
}

// Kafka's batch.size accounting: an open batch counts its records at the
// topic's estimated ratio, which sealed batches teach, so compressed batches
// come to hold many more records while staying near batch.size.
TEST(RecordAccumulatorTest, BatchSizeCountsTheEstimatedCompressedSize) {
  for (record::Compression codec : kCodecs) {
    SCOPED_TRACE(record::CompressionName(codec));
    const int32_t batch_size = 4096;
    RecordAccumulator acc(batch_size, absl::Milliseconds(5), codec);
    const absl::Time now = absl::FromUnixSeconds(100);
    EXPECT_EQ(acc.EstimatedRatio("t"), 1.0);
    int next = 0;
    std::vector<int> counts;
    std::vector<size_t> sizes;
    for (int round = 0; round < 400; ++round) {
      // Fill until a second batch opens, then seal the first.
      while (acc.BatchCount(kTp) < 2) acc.Append(kTp, Value(JsonValue(next++)), {}, now);
      std::unique_ptr<ProducerBatch> b = acc.Drain(kTp);
      counts.push_back(b->record_count());
      sizes.push_back(b->payload.size());
    }
    // The first batch was counted uncompressed; later ones at the learnt ratio.
    const double ratio = acc.EstimatedRatio("t");
    EXPECT_LT(ratio, 0.6);
    EXPECT_GT(ratio, 0.0);
    EXPECT_GT(counts.back(), 2 * counts.front());
    // Compressed, batches stay near batch.size: an estimate may undershoot a
    // batch that compresses worse than those before it (as in Kafka), but
    // rarely and not by much.
    int over = 0;
    for (size_t s : sizes) {
      EXPECT_LE(s, static_cast<size_t>(batch_size) * 11 / 10);
      if (s > static_cast<size_t>(batch_size)) ++over;
    }
    EXPECT_LE(over, static_cast<int>(sizes.size()) / 20);
    // Batches worse than the estimate raise it at once.
    const double before = acc.EstimatedRatio("t");
    std::string noise(3000, '\0');
    uint32_t x = 12345;
    for (char& c : noise) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
    while (acc.BatchCount(kTp) > 0) acc.Drain(kTp);
    acc.Append(kTp, Value(noise), {}, now);
    acc.Drain(kTp);
    EXPECT_GE(acc.EstimatedRatio("t"), std::min(1.0, before + 0.05));
    // Other topics keep their own estimate.
    EXPECT_EQ(acc.EstimatedRatio("other"), 1.0);
  }
}

TEST(RecordAccumulatorTest, ARetriedBatchIsNotCompressedTwice) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5), record::Compression::kZstd);
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 10; ++i) acc.Append(kTp, Value(JsonValue(i)), {}, now);
  std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
  const std::string sent = batch->payload;
  const double ratio = acc.EstimatedRatio("t");
  acc.Reenqueue(std::move(batch));
  batch = acc.Drain(kTp);
  EXPECT_EQ(batch->payload, sent);
  EXPECT_EQ(acc.EstimatedRatio("t"), ratio);
  EXPECT_TRUE(record::DecodeRecords(batch->payload).ok());
}

// However well a topic's data compresses, its estimate stops at 1/32, so a
// batch never holds more than about 32 x batch.size of records: a broker
// refuses a batch decompressing to more than 64 x max.message.bytes as a
// bomb (CORRUPT_MESSAGE, not retried).
TEST(RecordAccumulatorTest, TheRatioEstimateStopsAtOneThirtySecond) {
  const int32_t batch_size = 4096;
  RecordAccumulator acc(batch_size, absl::Milliseconds(5), record::Compression::kZstd);
  const absl::Time now = absl::FromUnixSeconds(100);
  size_t largest = 0;
  for (int round = 0; round < 400; ++round) {
    while (acc.BatchCount(kTp) < 2) acc.Append(kTp, Value(std::string(200, 'a')), {}, now);
    std::unique_ptr<ProducerBatch> b = acc.Drain(kTp);
    EXPECT_LT(b->payload.size() - record::kBatchHeaderSize, b->uncompressed_records_bytes / 40)
        << "the data compresses better than the floor";
    largest = std::max(largest, b->uncompressed_records_bytes);
  }
  EXPECT_EQ(acc.EstimatedRatio("t"), kMinRatioEstimate);
  EXPECT_LE(largest, static_cast<size_t>(batch_size) * 32);
  EXPECT_GT(largest, static_cast<size_t>(batch_size) * 25);
}

// The sender seals batches without the producer's lock: Take leaves a batch
// as it is, UpdateRatio learns from it once sealed.
TEST(RecordAccumulatorTest, TakeLeavesTheBatchOpenForTheCallerToSeal) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5), record::Compression::kGzip);
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 50; ++i) acc.Append(kTp, Value(JsonValue(i)), {}, now);
  std::unique_ptr<ProducerBatch> batch = acc.Take(kTp);
  ASSERT_NE(batch, nullptr);
  EXPECT_FALSE(batch->closed);
  EXPECT_TRUE(acc.empty());
  acc.UpdateRatio(*batch);  // not sealed: nothing to learn
  EXPECT_EQ(acc.EstimatedRatio("t"), 1.0);
  batch->Close();
  acc.UpdateRatio(*batch);
  EXPECT_LT(acc.EstimatedRatio("t"), 1.0);
  auto records = record::DecodeRecords(batch->payload);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 50u);
}

TEST(RecordAccumulatorTest, ResetRatioGoesBackToAtLeastOne) {
  RecordAccumulator acc(/*batch_size=*/1024, absl::Milliseconds(5), record::Compression::kZstd);
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 200; ++i) {
    for (int j = 0; j < 10; ++j) acc.Append(kTp, Value(JsonValue(j)), {}, now);
    acc.Drain(kTp);
  }
  ASSERT_LT(acc.EstimatedRatio("t"), 0.9);
  acc.ResetRatio("t", 0.2);
  EXPECT_EQ(acc.EstimatedRatio("t"), 1.0);
  acc.ResetRatio("t", 1.3);
  EXPECT_EQ(acc.EstimatedRatio("t"), 1.3);
}

// A refused batch is cut into pieces of consecutive records, each holding
// its records' callbacks, timestamps and reserved bytes.
TEST(RecordAccumulatorTest, SplitBatchCutsASealedBatchInOrder) {
  RecordAccumulator acc(/*batch_size=*/1 << 20, absl::Milliseconds(5), record::Compression::kZstd);
  const absl::Time created = absl::FromUnixSeconds(100);
  std::vector<int> called;
  for (int i = 0; i < 100; ++i) {
    record::Record r = Value(JsonValue(i));
    r.key = "k" + std::to_string(i);
    r.timestamp = 1000 + i;
    acc.Append(
        kTp, r, [&called, i](const absl::StatusOr<RecordMetadata>&) { called.push_back(i); },
        created);
  }
  std::unique_ptr<ProducerBatch> big = acc.Drain(kTp);
  big->attempts = 1;
  big->last_error = absl::InvalidArgumentError("too large");
  const size_t max_records_bytes = big->uncompressed_records_bytes / 4;
  absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> pieces =
      SplitBatch(*big, max_records_bytes, 1.0);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  ASSERT_GE(pieces->size(), 4u);
  ASSERT_LE(pieces->size(), 6u);
  int next = 0;
  int64_t reserved = 0;
  for (auto& piece : *pieces) {
    EXPECT_EQ(piece->tp, kTp);
    EXPECT_TRUE(piece->full);
    EXPECT_FALSE(piece->closed);
    EXPECT_EQ(piece->created, created);
    EXPECT_EQ(piece->attempts, 0) << "the refusal is no attempt";
    EXPECT_EQ(piece->last_error, big->last_error);
    EXPECT_EQ(piece->compression, record::Compression::kZstd);
    reserved += piece->reserved_bytes;
    piece->Close();
    EXPECT_LE(piece->uncompressed_records_bytes, max_records_bytes);
    absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(piece->payload);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), piece->callbacks.size());
    ASSERT_EQ(piece->timestamps.size(), piece->callbacks.size());
    for (size_t j = 0; j < records->size(); ++j, ++next) {
      EXPECT_EQ(*(*records)[j].value, JsonValue(next));
      EXPECT_EQ(*(*records)[j].key, "k" + std::to_string(next));
      EXPECT_EQ((*records)[j].timestamp, 1000 + next);
      EXPECT_EQ(piece->timestamps[j], 1000 + next);
      piece->callbacks[j](absl::InternalError("x"));
    }
  }
  EXPECT_EQ(next, 100);
  EXPECT_EQ(reserved, big->reserved_bytes);
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[static_cast<size_t>(i)] = i;
  EXPECT_EQ(called, expected);
}

// A piece put back at the head takes no more records (they could regrow it
// to the size that was refused) and is sent without lingering.
TEST(RecordAccumulatorTest, APieceOfASplitBatchTakesNoMoreRecords) {
  RecordAccumulator acc(/*batch_size=*/16384, absl::Milliseconds(5), record::Compression::kLz4);
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 10; ++i) acc.Append(kTp, Value(JsonValue(i)), {}, now);
  std::unique_ptr<ProducerBatch> big = acc.Drain(kTp);
  absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> pieces =
      SplitBatch(*big, 2 * big->uncompressed_records_bytes, 1.0);
  ASSERT_TRUE(pieces.ok());
  ASSERT_EQ(pieces->size(), 1u);
  acc.Reenqueue(std::move(pieces->front()));
  absl::Time next_check = absl::InfiniteFuture();
  EXPECT_EQ(acc.Ready(now, /*flush=*/false, &next_check).size(), 1u) << "a piece goes at once";
  acc.Append(kTp, Value("later"), {}, now);
  EXPECT_EQ(acc.BatchCount(kTp), 2u);
  EXPECT_EQ(acc.Drain(kTp)->record_count(), 10);
  EXPECT_EQ(acc.Drain(kTp)->record_count(), 1);
}

TEST(RecordAccumulatorTest, ATransactionalProducersBatchesAndTheirPiecesCarryTheBit) {
  RecordAccumulator acc(/*batch_size=*/1 << 20, absl::Milliseconds(5), record::Compression::kLz4,
                        {}, /*transactional=*/true);
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 50; ++i) acc.Append(kTp, Value("value-" + std::to_string(i)), {}, now);
  std::unique_ptr<ProducerBatch> batch = acc.Drain(kTp);
  ASSERT_NE(batch, nullptr);
  EXPECT_TRUE(batch->transactional);
  absl::StatusOr<record::BatchHeader> h = record::ValidateBatch(batch->payload);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->is_transactional());
  EXPECT_FALSE(h->is_control());
  absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> pieces =
      SplitBatch(*batch, batch->uncompressed_records_bytes / 3, 1.0);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  ASSERT_GE(pieces->size(), 2u);
  for (auto& piece : *pieces) {
    piece->Close();
    absl::StatusOr<record::BatchHeader> ph = record::ValidateBatch(piece->payload);
    ASSERT_TRUE(ph.ok()) << ph.status();
    EXPECT_TRUE(ph->is_transactional());
  }
  // Without the flag, no bit.
  RecordAccumulator plain(/*batch_size=*/1 << 20, absl::Milliseconds(5));
  plain.Append(kTp, Value("x"), {}, now);
  EXPECT_FALSE(record::ValidateBatch(plain.Drain(kTp)->payload)->is_transactional());
}

TEST(RecordAccumulatorTest, RemoveIfTakesOnlyTheChosenBatchesInOrder) {
  RecordAccumulator acc(/*batch_size=*/100, absl::Milliseconds(5));
  const TopicPartition other{"t", PartitionId(1)};
  const absl::Time now = absl::FromUnixSeconds(100);
  for (int i = 0; i < 4; ++i) {
    acc.Append(kTp, Value(std::string(80, 'a' + i)), {}, now);
    acc.Append(other, Value(std::string(80, 'e' + i)), {}, now);
  }
  ASSERT_EQ(acc.BatchCount(kTp), 4u);
  // A sent (stamped) batch at the head of kTp stays; the others go.
  std::unique_ptr<ProducerBatch> head = acc.Take(kTp);
  head->base_sequence = 0;
  acc.Reenqueue(std::move(head));
  std::vector<std::unique_ptr<ProducerBatch>> removed =
      acc.RemoveIf([](const ProducerBatch& b) { return b.base_sequence < 0; });
  ASSERT_EQ(removed.size(), 7u);
  EXPECT_EQ(acc.BatchCount(kTp), 1u);
  EXPECT_EQ(acc.BatchCount(other), 0u);
  EXPECT_EQ(acc.Front(kTp)->base_sequence, 0);
  std::string order;
  for (auto& b : removed) {
    b->Close();
    order += record::DecodeRecords(b->payload)->front().value->front();
  }
  EXPECT_EQ(order, "bcdefgh") << "partition order, each partition's order";
}

}  // namespace
}  // namespace strata::client
