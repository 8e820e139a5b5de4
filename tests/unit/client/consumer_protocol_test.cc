#include "client/consumer_protocol.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::client {
namespace {

using ::testing::HasSubstr;

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

std::string Join(const std::vector<TopicPartition>& tps) {
  std::string out;
  for (const TopicPartition& tp : tps) out += tp.ToString() + " ";
  return out;
}

}  // namespace

// Readable failures.
void PrintTo(const ConsumerSubscription& s, std::ostream* os) {
  *os << "{topics:";
  for (const std::string& t : s.topics) *os << " " << t;
  *os << ", user_data(" << s.has_user_data << "): " << s.user_data.size()
      << " bytes, owned: " << Join(s.owned_partitions) << "generation " << s.generation_id
      << ", rack " << s.rack_id << "}";
}

namespace {

// Bytes from a hex string, spaces ignored: the expected wire images below
// are written out by hand from Kafka's message schemas.
std::string Hex(std::string_view hex) {
  std::string out;
  int nibbles = 0;
  char byte = 0;
  for (char c : hex) {
    if (c == ' ') continue;
    const int v = (c >= '0' && c <= '9') ? c - '0' : c - 'a' + 10;
    byte = static_cast<char>((byte << 4) | v);
    if (++nibbles % 2 == 0) {
      out.push_back(byte);
      byte = 0;
    }
  }
  return out;
}

ConsumerSubscription FullSubscription() {
  ConsumerSubscription s;
  s.topics = {"orders", "payments"};
  s.user_data = std::string("\x00\x01\xff", 3);
  s.has_user_data = true;
  // Grouped by topic already, as the encoding groups them.
  s.owned_partitions = {Tp("orders", 5), Tp("orders", 2), Tp("payments", 0)};
  s.generation_id = 42;
  s.rack_id = "rack-a";
  return s;
}

TEST(ConsumerProtocolTest, SubscriptionV0WireImage) {
  ConsumerSubscription s;
  s.topics = {"t"};
  EXPECT_EQ(EncodeSubscription(s, 0), Hex("0000"              // version 0
                                          "00000001 0001 74"  // topics ["t"]
                                          "ffffffff"));       // user_data null
}

TEST(ConsumerProtocolTest, SubscriptionV3WireImage) {
  ConsumerSubscription s;
  s.topics = {"t"};
  s.user_data = "u";
  s.has_user_data = true;
  // Owned partitions are grouped by topic in the order topics first appear.
  s.owned_partitions = {Tp("t", 1), Tp("a", 0), Tp("t", 0)};
  s.generation_id = 7;
  EXPECT_EQ(EncodeSubscription(s),
            Hex("0003"                                         // version 3
                "00000001 0001 74"                             // topics ["t"]
                "00000001 75"                                  // user_data "u"
                "00000002 0001 74 00000002 00000001 00000000"  // t: [1, 0]
                "0001 61 00000001 00000000"                    // a: [0]
                "00000007"                                     // generation_id 7
                "ffff"));                                      // rack_id null
}

TEST(ConsumerProtocolTest, SubscriptionRoundTripsInEveryVersion) {
  const ConsumerSubscription full = FullSubscription();
  for (int16_t version = 0; version <= kConsumerProtocolMaxVersion; ++version) {
    absl::StatusOr<ConsumerSubscription> decoded =
        DecodeSubscription(EncodeSubscription(full, version));
    ASSERT_TRUE(decoded.ok()) << version << ": " << decoded.status();
    // Fields the version does not carry come back as their defaults.
    ConsumerSubscription expected = full;
    if (version < 1) expected.owned_partitions.clear();
    if (version < 2) expected.generation_id = -1;
    if (version < 3) expected.rack_id.clear();
    EXPECT_EQ(*decoded, expected) << "version " << version;
  }
}

TEST(ConsumerProtocolTest, NullAndEmptyUserDataStayApart) {
  ConsumerSubscription s;
  s.topics = {"t"};
  absl::StatusOr<ConsumerSubscription> null_data = DecodeSubscription(EncodeSubscription(s));
  ASSERT_TRUE(null_data.ok());
  EXPECT_FALSE(null_data->has_user_data);
  s.has_user_data = true;
  absl::StatusOr<ConsumerSubscription> empty_data = DecodeSubscription(EncodeSubscription(s));
  ASSERT_TRUE(empty_data.ok());
  EXPECT_TRUE(empty_data->has_user_data);
  EXPECT_EQ(empty_data->user_data, "");
}

TEST(ConsumerProtocolTest, NewerVersionReadsTheKnownFieldsAndIgnoresTheRest) {
  std::string bytes = EncodeSubscription(FullSubscription());
  bytes[0] = 0;
  bytes[1] = 9;  // a version from the future that appended a field
  bytes += Hex("00000063 0004 6e657721");
  absl::StatusOr<ConsumerSubscription> decoded = DecodeSubscription(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, FullSubscription());

  std::string assignment = EncodeAssignment({{Tp("t", 3)}, "x"});
  assignment[1] = 5;
  assignment += "trailing";
  absl::StatusOr<ConsumerAssignment> a = DecodeAssignment(assignment);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->partitions, std::vector<TopicPartition>{Tp("t", 3)});
  EXPECT_EQ(a->user_data, "x");
}

TEST(ConsumerProtocolTest, EncodingClampsTheVersionAsKafkaDoes) {
  const ConsumerSubscription full = FullSubscription();
  EXPECT_EQ(EncodeSubscription(full, 12), EncodeSubscription(full, 3));
  EXPECT_EQ(EncodeSubscription(full, -4), EncodeSubscription(full, 0));
}

TEST(ConsumerProtocolTest, EveryTruncationOfASubscriptionIsAnError) {
  const std::string bytes = EncodeSubscription(FullSubscription());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<ConsumerSubscription> decoded = DecodeSubscription(bytes.substr(0, n));
    ASSERT_FALSE(decoded.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ConsumerProtocolTest, EveryTruncationOfAnAssignmentIsAnError) {
  const std::string bytes = EncodeAssignment({{Tp("a", 1), Tp("b", 2), Tp("a", 0)}, "data"});
  ASSERT_TRUE(DecodeAssignment(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<ConsumerAssignment> decoded = DecodeAssignment(bytes.substr(0, n));
    ASSERT_FALSE(decoded.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ConsumerProtocolTest, LyingLengthsAndCountsNameTheField) {
  struct Case {
    std::string bytes;
    std::string field;
  };
  const std::vector<Case> cases = {
      {Hex("ffff 00000000 ffffffff"), "version"},                    // negative version
      {Hex("0000 7fffffff"), "topics"},                              // 2^31-1 topics in 0 bytes
      {Hex("0000 ffffffff ffffffff"), "topics"},                     // null topics array
      {Hex("0000 00000001 8000"), "topics"},                         // negative string length
      {Hex("0000 00000001 0005 6162"), "topics"},                    // string runs past the end
      {Hex("0000 00000000 fffffffe"), "user_data"},                  // -2 is not null
      {Hex("0000 00000000 00010000 00"), "user_data"},               // 64 KiB promised, 1 there
      {Hex("0001 00000000 ffffffff 10000000"), "owned_partitions"},  // too many topics
      {Hex("0001 00000000 ffffffff 00000001 0001 74 40000000"), "owned_partitions"},
      {Hex("0003 00000000 ffffffff 00000000 00000001 fffe"), "rack_id"},  // -2 is not null
  };
  for (const Case& c : cases) {
    absl::StatusOr<ConsumerSubscription> decoded = DecodeSubscription(c.bytes);
    ASSERT_FALSE(decoded.ok()) << c.field;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.field));
  }
  absl::StatusOr<ConsumerAssignment> a = DecodeAssignment(Hex("0000 00000001 0001 74 ffffffff"));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("partitions"));
}

// Random and mutated inputs: decoding returns a value or an error and never
// crashes (run under ASan/UBSan in the sanitizer build).
TEST(ConsumerProtocolTest, GarbageNeverCrashesTheDecoders) {
  const uint32_t seed = 20240611;
  std::mt19937 rng(seed);
  const std::vector<std::string> valid = {
      EncodeSubscription(FullSubscription()), EncodeSubscription(FullSubscription(), 1),
      EncodeAssignment({{Tp("t", 1), Tp("u", 2)}, "ud"}), EncodeStickyUserData({{Tp("t", 1)}, 3})};
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = valid[rng() % valid.size()];
      for (int flips = 1 + rng() % 3; flips > 0; --flips) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
    }
    ok += DecodeSubscription(bytes).ok();
    ok += DecodeAssignment(bytes).ok();
    ok += DecodeStickyUserData(bytes).ok();
    ok += DecodeCooperativeUserData(bytes).ok();
  }
  EXPECT_GT(ok, 0) << "seed " << seed;  // some mutations stay well-formed
}

TEST(ConsumerProtocolTest, AssignmentWireImageAndRoundTrip) {
  const ConsumerAssignment a{{Tp("t", 0), Tp("t", 2)}, ""};
  const std::string bytes = EncodeAssignment(a, 0);
  EXPECT_EQ(bytes, Hex("0000"                                         // version 0
                       "00000001 0001 74 00000002 00000000 00000002"  // t: [0, 2]
                       "ffffffff"));                                  // user_data null
  for (int16_t version = 0; version <= kConsumerProtocolMaxVersion; ++version) {
    const ConsumerAssignment with_data{{Tp("b", 1), Tp("a", 4)}, "payload"};
    absl::StatusOr<ConsumerAssignment> decoded =
        DecodeAssignment(EncodeAssignment(with_data, version));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, with_data);
  }
}

TEST(ConsumerProtocolTest, StickyUserDataAsAJavaStickyAssignorWritesIt) {
  // StickyAssignorUserData v1: previous_assignment [t0: [0, 1]], generation 5.
  const std::string java = Hex("00000001 0002 7430 00000002 00000000 00000001 00000005");
  const StickyUserData data{{Tp("t0", 0), Tp("t0", 1)}, 5};
  EXPECT_EQ(EncodeStickyUserData(data), java);
  absl::StatusOr<StickyUserData> decoded = DecodeStickyUserData(java);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, data);

  // v0 (Kafka before 2.3) has no generation.
  const std::string v0 = java.substr(0, java.size() - 4);
  decoded = DecodeStickyUserData(v0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->partitions, data.partitions);
  EXPECT_FALSE(decoded->generation.has_value());
  EXPECT_EQ(EncodeStickyUserData({data.partitions, std::nullopt}), v0);

  EXPECT_FALSE(DecodeStickyUserData(java.substr(0, 9)).ok());
}

TEST(ConsumerProtocolTest, CooperativeUserDataIsTheGenerationAsInt32) {
  EXPECT_EQ(EncodeCooperativeUserData(258), Hex("00000102"));
  EXPECT_EQ(EncodeCooperativeUserData(-1), Hex("ffffffff"));
  absl::StatusOr<int32_t> generation = DecodeCooperativeUserData(Hex("00000102"));
  ASSERT_TRUE(generation.ok());
  EXPECT_EQ(*generation, 258);
  EXPECT_FALSE(DecodeCooperativeUserData(Hex("000001")).ok());
}

}  // namespace
}  // namespace strata::client
