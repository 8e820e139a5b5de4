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

TEST(ErrorCodeTest, NumbersNobodyKnowsBecomeUnknownServerError) {
  EXPECT_FALSE(IsKnownErrorCode(9999));
  EXPECT_FALSE(IsKnownErrorCode(70000));
  EXPECT_EQ(ErrorName(static_cast<ErrorCode>(9999)), "UNKNOWN");
  EXPECT_EQ(FromProto(static_cast<v1::ErrorCode>(9999)), ErrorCode::kUnknownServerError);
}

}  // namespace
}  // namespace strata::server
