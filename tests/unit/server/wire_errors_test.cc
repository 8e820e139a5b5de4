// The broker's ErrorCode and the gRPC protos' strata.v1.ErrorCode are one
// list: the edge maps them by value (wire_errors.h), so every code must
// mean the same on both sides.
#include "broker/server/wire_errors.h"

#include "gtest/gtest.h"

namespace strata::server {
namespace {

TEST(ErrorCodeTest, EveryCodeHasTheSameNumberAndNameOnBothSides) {
  const google::protobuf::EnumDescriptor* wire = v1::ErrorCode_descriptor();
  int ours = 0;
#define STRATA_COUNT_ERROR_CODE(enumerator, name, number) ++ours;
  STRATA_ERROR_CODES(STRATA_COUNT_ERROR_CODE)
#undef STRATA_COUNT_ERROR_CODE
  EXPECT_EQ(ours, wire->value_count());
  for (int i = 0; i < wire->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* v = wire->value(i);
    ASSERT_TRUE(IsKnownErrorCode(v->number())) << v->name();
    EXPECT_EQ(ErrorName(static_cast<ErrorCode>(v->number())), v->name());
    const auto code = static_cast<v1::ErrorCode>(v->number());
    EXPECT_EQ(ToProto(FromProto(code)), code) << v->name();
  }
}

TEST(ErrorCodeTest, KafkasIdempotenceAndTransactionCodesAreKnown) {
  // For exactly-once (issue 15): the numbers and names Kafka's clients
  // act on, on both doors.
  const std::pair<ErrorCode, int> codes[] = {{ErrorCode::kOutOfOrderSequenceNumber, 45},
                                             {ErrorCode::kDuplicateSequenceNumber, 46},
                                             {ErrorCode::kInvalidProducerEpoch, 47},
                                             {ErrorCode::kInvalidTxnState, 48},
                                             {ErrorCode::kInvalidProducerIdMapping, 49},
                                             {ErrorCode::kInvalidTransactionTimeout, 50},
                                             {ErrorCode::kConcurrentTransactions, 51},
                                             {ErrorCode::kTransactionCoordinatorFenced, 52},
                                             {ErrorCode::kTransactionalIdAuthorizationFailed, 53},
                                             {ErrorCode::kUnknownProducerId, 59},
                                             {ErrorCode::kUnstableOffsetCommit, 88},
                                             {ErrorCode::kProducerFenced, 90},
                                             {ErrorCode::kTransactionalIdNotFound, 105}};
  for (const auto& [code, number] : codes) {
    EXPECT_EQ(static_cast<int>(code), number) << ErrorName(code);
    EXPECT_EQ(static_cast<int>(ToProto(code)), number) << ErrorName(code);
  }
  EXPECT_EQ(ErrorName(ErrorCode::kProducerFenced), "PRODUCER_FENCED");
  EXPECT_EQ(ErrorName(ErrorCode::kOutOfOrderSequenceNumber), "OUT_OF_ORDER_SEQUENCE_NUMBER");
  EXPECT_EQ(ToProto(ErrorCode::kUnstableOffsetCommit), v1::UNSTABLE_OFFSET_COMMIT);
}

TEST(ErrorCodeTest, KafkasFetchSessionListenerAndEndpointCodesAreKnown) {
  // For the Kafka listener: fetch sessions (KIP-227), Metadata v6+'s
  // LISTENER_NOT_FOUND, DescribeCluster v1's endpoint type.
  EXPECT_EQ(static_cast<int>(ErrorCode::kFetchSessionIdNotFound), 70);
  EXPECT_EQ(static_cast<int>(ErrorCode::kInvalidFetchSessionEpoch), 71);
  EXPECT_EQ(static_cast<int>(ErrorCode::kListenerNotFound), 72);
  EXPECT_EQ(static_cast<int>(ErrorCode::kUnsupportedEndpointType), 115);
  EXPECT_EQ(ErrorName(ErrorCode::kFetchSessionIdNotFound), "FETCH_SESSION_ID_NOT_FOUND");
  EXPECT_EQ(ErrorName(ErrorCode::kInvalidFetchSessionEpoch), "INVALID_FETCH_SESSION_EPOCH");
  EXPECT_EQ(ErrorName(ErrorCode::kListenerNotFound), "LISTENER_NOT_FOUND");
  EXPECT_EQ(ErrorName(ErrorCode::kUnsupportedEndpointType), "UNSUPPORTED_ENDPOINT_TYPE");
  EXPECT_EQ(ToProto(ErrorCode::kListenerNotFound), v1::LISTENER_NOT_FOUND);
  EXPECT_EQ(ToProto(ErrorCode::kUnsupportedEndpointType), v1::UNSUPPORTED_ENDPOINT_TYPE);
}

TEST(ErrorCodeTest, NumbersNobodyKnowsBecomeUnknownServerError) {
  EXPECT_FALSE(IsKnownErrorCode(9999));
  EXPECT_FALSE(IsKnownErrorCode(70000));
  EXPECT_EQ(ErrorName(static_cast<ErrorCode>(9999)), "UNKNOWN");
  EXPECT_EQ(FromProto(static_cast<v1::ErrorCode>(9999)), ErrorCode::kUnknownServerError);
}

}  // namespace
}  // namespace strata::server
