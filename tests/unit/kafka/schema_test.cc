// Self-checks of every field table (messages.cc) against the API table
// (api_versions.cc): the mistakes a transcription can make.
#include "broker/kafka/schema.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/kafka/api_versions.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/message_specs.h"

namespace strata::kafka {
namespace {

Versions Intersect(Versions a, Versions b) {
  return Versions{std::max(a.lo, b.lo), std::min(a.hi, b.hi)};
}

bool Within(Versions inner, Versions outer) {
  return inner.empty() || (inner.lo >= outer.lo && inner.hi <= outer.hi);
}

// Checks one struct's table within `parent` (the versions it exists in),
// recursively; appends a line per problem.
void CheckStruct(const StructSpec& spec, const ApiInfo& api, Versions parent,
                 std::vector<std::string>* problems) {
  const Versions supported{api.min_version, api.max_version};
  const Versions flexible = api.flexible_from == kNeverFlexible
                                ? Versions::None()
                                : Versions{api.flexible_from, kMaxVersion};
  std::set<std::string> names;
  std::set<int32_t> tags;
  auto problem = [&](const FieldSpec& f, const char* what) {
    problems->push_back(absl::StrCat(api.name, " ", spec.name, ".", f.name, ": ", what));
  };
  for (const FieldSpec& f : spec.fields) {
    const Versions live = Intersect(Intersect(f.versions, supported), parent);
    if (!names.insert(f.name).second) problem(f, "duplicate name");
    if (f.versions.empty()) problem(f, "empty version range");
    if (live.empty()) problem(f, "exists in no supported version");
    if (!Within(Intersect(f.versions, supported), parent)) {
      problem(f, "versions outside its parent's");
    }
    if (f.tag >= 0) {
      if (!Within(live, flexible)) problem(f, "tagged in a non-flexible version");
      if (!tags.insert(f.tag).second) problem(f, "duplicate tag");
    }
    const bool nullable_somewhere = !Intersect(f.nullable_versions, live).empty();
    if (nullable_somewhere != f.optional_member) {
      problem(f, "nullable in the table iff std::optional in the struct");
    }
    if (nullable_somewhere && !(f.type == WireType::kString || f.type == WireType::kBytes ||
                                f.type == WireType::kRecords || f.type == WireType::kArray)) {
      problem(f, "only strings, bytes, records and arrays can be null");
    }
    if (f.type == WireType::kArray) {
      if ((f.element == WireType::kStruct) != (f.child != nullptr)) {
        problem(f, "a struct array needs its element's table");
      }
      if (f.child != nullptr) CheckStruct(f.child(), api, live, problems);
    }
  }
}

TEST(SchemaTest, EveryTableIsConsistentWithItsApi) {
  std::vector<std::string> problems;
  for (const ApiInfo& api : SupportedApis()) {
    const Versions supported{api.min_version, api.max_version};
    for (const StructSpec* spec : {RequestSpec(api.key), ResponseSpec(api.key)}) {
      ASSERT_NE(spec, nullptr) << api.name;
      CheckStruct(*spec, api, supported, &problems);
    }
  }
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
}

TEST(SchemaTest, EverySupportedApiHasARequestAndAResponse) {
  EXPECT_EQ(std::variant_size_v<Request>, SupportedApis().size());
  EXPECT_EQ(std::variant_size_v<Response>, SupportedApis().size());
  std::set<const StructSpec*> seen;
  for (const ApiInfo& api : SupportedApis()) {
    EXPECT_TRUE(seen.insert(RequestSpec(api.key)).second) << api.name;
    EXPECT_TRUE(seen.insert(ResponseSpec(api.key)).second) << api.name;
  }
  EXPECT_EQ(RequestSpec(static_cast<ApiKey>(4)), nullptr);  // LeaderAndIsr: not ours
}

template <typename Variant, size_t I = 0>
Variant DefaultFor(ApiKey key) {
  if constexpr (I + 1 == std::variant_size_v<Variant>) {
    return Variant(std::in_place_index<I>);
  } else {
    if (std::variant_alternative_t<I, Variant>::kApiKey == key) {
      return Variant(std::in_place_index<I>);
    }
    return DefaultFor<Variant, I + 1>(key);
  }
}

// Every version in range encodes a default-constructed message (so the
// structs' defaults are encodable everywhere) and decodes it back equal.
TEST(SchemaTest, EverySupportedVersionRoundTripsADefaultMessage) {
  for (const ApiInfo& api : SupportedApis()) {
    const Request request = DefaultFor<Request>(api.key);
    const Response response = DefaultFor<Response>(api.key);
    ASSERT_EQ(KeyOf(request), api.key);
    ASSERT_EQ(KeyOf(response), api.key);
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      std::string bytes;
      ASSERT_TRUE(EncodeRequest(v, request, &bytes).ok()) << api.name << " v" << v;
      absl::StatusOr<Request> decoded = DecodeRequest(api.key, v, bytes);
      ASSERT_TRUE(decoded.ok()) << api.name << " v" << v << ": " << decoded.status();
      EXPECT_TRUE(*decoded == request) << api.name << " v" << v;
      bytes.clear();
      ASSERT_TRUE(EncodeResponse(v, response, &bytes).ok()) << api.name << " v" << v;
      absl::StatusOr<Response> decoded_response = DecodeResponse(api.key, v, bytes);
      ASSERT_TRUE(decoded_response.ok())
          << api.name << " v" << v << ": " << decoded_response.status();
      EXPECT_TRUE(*decoded_response == response) << api.name << " v" << v;
    }
    // Just outside the range: Unimplemented, for decoding and encoding.
    for (int16_t v :
         {static_cast<int16_t>(api.min_version - 1), static_cast<int16_t>(api.max_version + 1)}) {
      EXPECT_EQ(DecodeRequest(api.key, v, "").status().code(), absl::StatusCode::kUnimplemented)
          << api.name << " v" << v;
      std::string bytes;
      EXPECT_EQ(EncodeResponse(v, response, &bytes).code(), absl::StatusCode::kUnimplemented);
    }
  }
  EXPECT_EQ(DecodeRequest(static_cast<ApiKey>(9999), 0, "").status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace strata::kafka
