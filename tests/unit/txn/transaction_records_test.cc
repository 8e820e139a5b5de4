// The __transaction_state record format (transaction_records.h) against
// Kafka's TransactionLogKey/TransactionLogValue schemas: exact bytes of
// what is written, round trips of every state, the flexible v1 with
// KIP-890's tagged fields, and malformed input that must fail cleanly.
#include "broker/txn/transaction_records.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::txn {
namespace {

using ::testing::HasSubstr;

// Big-endian bytes, for expected encodings.
class Bytes {
 public:
  Bytes& I8(int8_t v) { return Put(static_cast<uint8_t>(v), 1); }
  Bytes& I16(int16_t v) { return Put(static_cast<uint16_t>(v), 2); }
  Bytes& I32(int32_t v) { return Put(static_cast<uint32_t>(v), 4); }
  Bytes& I64(int64_t v) { return Put(static_cast<uint64_t>(v), 8); }
  Bytes& Raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Bytes& Byte(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  Bytes& Str(std::string_view s) { return I16(static_cast<int16_t>(s.size())).Raw(s); }
  const std::string& str() const { return out_; }

 private:
  Bytes& Put(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string out_;
};

TransactionLogValue Ongoing() {
  TransactionLogValue v;
  v.producer_id = 4001;
  v.producer_epoch = 7;
  v.transaction_timeout_ms = 60000;
  v.state = TransactionState::kOngoing;
  v.partitions = {{"orders", 0}, {"orders", 3}, {"payments", 1}};
  v.last_update_timestamp_ms = 1'700'000'000'500;
  v.start_timestamp_ms = 1'700'000'000'000;
  return v;
}

TEST(TransactionRecordsTest, KeyIsVersionZeroAndTheIdAsAnInt16String) {
  const std::string key = EncodeKey("payments-app");
  EXPECT_EQ(key, Bytes().I16(0).Str("payments-app").str());
  absl::StatusOr<std::string> id = DecodeKey(key);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "payments-app");
}

TEST(TransactionRecordsTest, OtherKeyVersionsAreNotOursAndAreSkippable) {
  absl::StatusOr<std::string> id = DecodeKey(Bytes().I16(1).Str("group").str());
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(IsUnknownKeyVersion(id.status()));
  // Corruption is not "unknown version".
  id = DecodeKey(Bytes().I16(0).I16(9).Raw("abc").str());
  ASSERT_FALSE(id.ok());
  EXPECT_FALSE(IsUnknownKeyVersion(id.status()));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeKey(Bytes().I16(0).Str("a").Byte(0).str()).ok());  // trailing
  EXPECT_FALSE(DecodeKey(std::string(1, '\0')).ok());
}

TEST(TransactionRecordsTest, OngoingValueIsKafkasV0ByteForByte) {
  const std::string expected = Bytes()
                                   .I16(0)  // version
                                   .I64(4001)
                                   .I16(7)
                                   .I32(60000)
                                   .I8(1)   // Ongoing
                                   .I32(2)  // topics
                                   .Str("orders")
                                   .I32(2)
                                   .I32(0)
                                   .I32(3)
                                   .Str("payments")
                                   .I32(1)
                                   .I32(1)
                                   .I64(1'700'000'000'500)
                                   .I64(1'700'000'000'000)
                                   .str();
  EXPECT_EQ(EncodeValue(Ongoing()), expected);
  absl::StatusOr<TransactionLogValue> v = DecodeValue(expected);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Ongoing());
}

TEST(TransactionRecordsTest, EmptyWritesNullPartitionsAndCompleteAnEmptyArray) {
  TransactionLogValue empty;
  empty.producer_id = 5;
  empty.producer_epoch = 0;
  empty.transaction_timeout_ms = 1000;
  empty.state = TransactionState::kEmpty;
  empty.last_update_timestamp_ms = 10;
  empty.start_timestamp_ms = -1;
  const std::string bytes = EncodeValue(empty);
  EXPECT_EQ(bytes, Bytes().I16(0).I64(5).I16(0).I32(1000).I8(0).I32(-1).I64(10).I64(-1).str());

  TransactionLogValue complete = Ongoing();
  complete.state = TransactionState::kCompleteCommit;
  complete.partitions.clear();
  EXPECT_EQ(EncodeValue(complete), Bytes()
                                       .I16(0)
                                       .I64(4001)
                                       .I16(7)
                                       .I32(60000)
                                       .I8(4)
                                       .I32(0)
                                       .I64(1'700'000'000'500)
                                       .I64(1'700'000'000'000)
                                       .str());
  // An Empty value's partitions are ignored on read, as Kafka does.
  const std::string with_partitions = Bytes()
                                          .I16(0)
                                          .I64(5)
                                          .I16(0)
                                          .I32(1000)
                                          .I8(0)
                                          .I32(1)
                                          .Str("t")
                                          .I32(1)
                                          .I32(4)
                                          .I64(10)
                                          .I64(-1)
                                          .str();
  absl::StatusOr<TransactionLogValue> v = DecodeValue(with_partitions);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->partitions.empty());
  // Null partitions of a non-Empty state read as none.
  v = DecodeValue(Bytes().I16(0).I64(5).I16(0).I32(1000).I8(5).I32(-1).I64(10).I64(3).str());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->state, TransactionState::kCompleteAbort);
  EXPECT_TRUE(v->partitions.empty());
}

TEST(TransactionRecordsTest, EveryStateRoundTripsWithKafkasIdsAndNames) {
  const std::vector<std::pair<TransactionState, std::string>> states = {
      {TransactionState::kEmpty, "Empty"},
      {TransactionState::kOngoing, "Ongoing"},
      {TransactionState::kPrepareCommit, "PrepareCommit"},
      {TransactionState::kPrepareAbort, "PrepareAbort"},
      {TransactionState::kCompleteCommit, "CompleteCommit"},
      {TransactionState::kCompleteAbort, "CompleteAbort"},
      {TransactionState::kDead, "Dead"},
      {TransactionState::kPrepareEpochFence, "PrepareEpochFence"}};
  for (int i = 0; i < static_cast<int>(states.size()); ++i) {
    const auto& [state, name] = states[i];
    EXPECT_EQ(static_cast<int>(state), i);
    EXPECT_EQ(TransactionStateName(state), name);
    EXPECT_EQ(TransactionStateFromId(static_cast<int8_t>(i)), state);
    TransactionLogValue v = Ongoing();
    v.state = state;
    if (state == TransactionState::kEmpty) v.partitions.clear();
    absl::StatusOr<TransactionLogValue> back = DecodeValue(EncodeValue(v));
    ASSERT_TRUE(back.ok()) << name << ": " << back.status();
    EXPECT_EQ(*back, v) << name;
  }
  EXPECT_EQ(TransactionStateFromId(8), std::nullopt);
  EXPECT_EQ(TransactionStateFromId(-1), std::nullopt);
}

TEST(TransactionRecordsTest, FlexibleV1CarriesKip890TaggedFields) {
  TransactionLogValue v = Ongoing();
  v.previous_producer_id = 4000;
  v.next_producer_id = 4002;
  v.client_transaction_version = 2;
  const std::string bytes = EncodeValue(v);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes.substr(0, 2), Bytes().I16(1).str());
  absl::StatusOr<TransactionLogValue> back = DecodeValue(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);

  // A hand-made v1: compact strings and arrays, a partition entry's own
  // (empty) tagged fields, and a tag from the future that is skipped.
  const std::string v1 = Bytes()
                             .I16(1)
                             .I64(9)
                             .I16(3)
                             .I32(500)
                             .I8(2)    // PrepareCommit
                             .Byte(2)  // 1 topic
                             .Byte(2)
                             .Raw("t")  // "t"
                             .Byte(3)   // 2 partitions
                             .I32(0)
                             .I32(1)
                             .Byte(0)  // topic's tagged fields
                             .I64(100)
                             .I64(50)
                             .Byte(2)  // 2 tagged fields
                             .Byte(0)
                             .Byte(8)
                             .I64(8)  // previous producer id
                             .Byte(9)
                             .Byte(3)
                             .Raw("xyz")  // unknown tag 9
                             .str();
  back = DecodeValue(v1);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->producer_id, 9);
  EXPECT_EQ(back->state, TransactionState::kPrepareCommit);
  EXPECT_EQ(back->partitions, (std::set<TxnTopicPartition>{{"t", 0}, {"t", 1}}));
  EXPECT_EQ(back->previous_producer_id, 8);
  EXPECT_EQ(back->next_producer_id, -1);
  EXPECT_EQ(back->start_timestamp_ms, 50);
}

TEST(TransactionRecordsTest, EveryTruncationFailsCleanly) {
  for (const std::string& whole : {EncodeValue(Ongoing()), [] {
                                     TransactionLogValue v = Ongoing();
                                     v.previous_producer_id = 1;
                                     return EncodeValue(v);
                                   }()}) {
    for (size_t n = 0; n < whole.size(); ++n) {
      absl::StatusOr<TransactionLogValue> v = DecodeValue(whole.substr(0, n));
      ASSERT_FALSE(v.ok()) << "a prefix of " << n << " bytes decoded";
      EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(TransactionRecordsTest, LyingLengthsAndBadFieldsAreNamed) {
  auto head = [](int8_t status) {
    Bytes b;
    b.I16(0).I64(1).I16(0).I32(1000).I8(status);
    return b;
  };
  struct Case {
    std::string bytes;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {Bytes().I16(2).str(), "unknown version 2"},
      {Bytes().I16(-1).str(), "unknown version -1"},
      {head(8).I32(-1).I64(0).I64(0).str(), "unknown status id 8"},
      {head(1).I32(0x7fffffff).str(), "transaction_partitions: count 2147483647"},
      {head(1).I32(-2).str(), "negative count -2"},
      {head(1).I32(1).I16(500).Raw("topic-name").str(), "[0].topic: length 500 exceeds"},
      {head(1).I32(1).I16(-1).I32(0).I64(0).str(), "[0].topic: null"},
      {head(1).I32(1).Str("t").I32(1000).I32(1).str(), "partition_ids: count 1000"},
      {head(1).I32(1).Str("t").I32(-1).str(), "partition_ids: null"},
      {head(1).I32(0).I64(0).I64(0).Byte(0).str(), "1 trailing bytes"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TransactionLogValue> v = DecodeValue(c.bytes);
    ASSERT_FALSE(v.ok()) << c.mentions;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(v.status().message()), HasSubstr(c.mentions));
  }
  // v1: a KIP-890 tag of the wrong size, a varint that never ends, a
  // tagged field longer than what remains.
  auto v1_tail = [] {
    Bytes b;
    b.I16(1).I64(1).I16(0).I32(1000).I8(4).Byte(1).I64(0).I64(0);
    return b;
  };
  absl::StatusOr<TransactionLogValue> v =
      DecodeValue(v1_tail().Byte(1).Byte(0).Byte(4).I32(7).str());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("previous_producer_id"));
  v = DecodeValue(v1_tail().Raw("\xff\xff\xff\xff\xff\xff").str());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("varint"));
  v = DecodeValue(v1_tail().Byte(1).Byte(5).Byte(100).Raw("ab").str());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("has size 100"));
}

}  // namespace
}  // namespace strata::txn
