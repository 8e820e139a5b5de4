#include "broker/group/group_records.h"

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::group {
namespace {

using ::testing::HasSubstr;

// Builds record bytes straight from the format in the header, independently
// of the encoder under test.
class Bytes {
 public:
  Bytes& I16(int v) { return BigEndian(static_cast<uint16_t>(v), 2); }
  Bytes& I32(int64_t v) { return BigEndian(static_cast<uint32_t>(v), 4); }
  Bytes& I64(int64_t v) { return BigEndian(static_cast<uint64_t>(v), 8); }
  // A classic string: int16 length, then the bytes.
  Bytes& Str(const std::string& s) {
    I16(static_cast<int>(s.size()));
    out_ += s;
    return *this;
  }
  Bytes& NullStr() { return I16(-1); }
  // Classic bytes: int32 length, then the bytes.
  Bytes& Blob(const std::string& b) {
    I32(static_cast<int64_t>(b.size()));
    out_ += b;
    return *this;
  }
  Bytes& UVarint(uint32_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  // Compact string or bytes: unsigned varint length + 1, then the bytes.
  Bytes& Compact(const std::string& s) {
    UVarint(static_cast<uint32_t>(s.size()) + 1);
    out_ += s;
    return *this;
  }
  Bytes& CompactNull() { return UVarint(0); }
  Bytes& NoTags() { return UVarint(0); }
  Bytes& Raw(std::initializer_list<int> bytes) {
    for (int b : bytes) out_.push_back(static_cast<char>(b));
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  Bytes& BigEndian(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string out_;
};

std::string Hex(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

StoredMember Member(const std::string& id, const std::string& instance = "") {
  StoredMember m;
  m.member_id = id;
  m.group_instance_id = instance;
  m.client_id = "client-" + id;
  m.client_host = "/10.0.0.1";
  m.rebalance_timeout_ms = 300000;
  m.session_timeout_ms = 45000;
  // ConsumerProtocol v0: subscribed to topic "t", no user data; assigned
  // nothing.
  m.subscription =
      Hex({0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0xff, 0xff, 0xff, 0xff});
  m.assignment = Hex({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff});
  return m;
}

GroupValue StableGroup() {
  GroupValue g;
  g.protocol_type = "consumer";
  g.generation = 12;
  g.protocol_name = "range";
  g.leader = "m1";
  g.current_state_timestamp_ms = 1700000000000;
  g.members = {Member("m1"), Member("m2", "instance-2")};
  return g;
}

// ---------------------------------------------------------------- keys --

TEST(GroupRecordsKeyTest, OffsetKeyRoundTripsAsVersion1) {
  const OffsetKey key{"my-group", "orders", 17};
  const std::string bytes = EncodeKey(key);
  EXPECT_EQ(bytes.substr(0, 2), Hex({0x00, 0x01}));
  absl::StatusOr<RecordKey> decoded = DecodeKey(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(std::holds_alternative<OffsetKey>(*decoded));
  EXPECT_EQ(std::get<OffsetKey>(*decoded), key);
  EXPECT_EQ(EncodeKey(RecordKey(key)), bytes);
}

TEST(GroupRecordsKeyTest, GroupKeyRoundTrips) {
  const GroupKey key{"my-group"};
  absl::StatusOr<RecordKey> decoded = DecodeKey(EncodeKey(key));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(std::holds_alternative<GroupKey>(*decoded));
  EXPECT_EQ(std::get<GroupKey>(*decoded), key);
}

TEST(GroupRecordsKeyTest, GoldenBytes) {
  // Offset key v1: group "g1", topic "t", partition 3.
  EXPECT_EQ(EncodeKey(OffsetKey{"g1", "t", 3}), Hex({0x00, 0x01,                 // version 1
                                                     0x00, 0x02, 'g', '1',       // group
                                                     0x00, 0x01, 't',            // topic
                                                     0x00, 0x00, 0x00, 0x03}));  // partition
  // Group key v2: group "g1".
  EXPECT_EQ(EncodeKey(GroupKey{"g1"}), Hex({0x00, 0x02, 0x00, 0x02, 'g', '1'}));
}

TEST(GroupRecordsKeyTest, DecodesOffsetKeyVersion0) {
  const std::string bytes = Bytes().I16(0).Str("grp").Str("topic").I32(-1).str();
  absl::StatusOr<RecordKey> decoded = DecodeKey(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<OffsetKey>(*decoded), (OffsetKey{"grp", "topic", -1}));
}

TEST(GroupRecordsKeyTest, UnknownVersionsAreSkippableNotCorrupt) {
  // 3..8: KIP-848 consumer group records; 9..15: share groups; beyond:
  // streams groups and whatever comes next; negative: Kafka skips it too.
  for (int version : {3, 4, 8, 9, 15, 16, 100, 0x7fff, -1, -32768}) {
    absl::StatusOr<RecordKey> decoded = DecodeKey(Bytes().I16(version).Str("g").str());
    ASSERT_FALSE(decoded.ok()) << version;
    EXPECT_TRUE(IsUnknownKeyVersion(decoded.status())) << decoded.status();
    EXPECT_EQ(decoded.status().message(), "unknown key version " + std::to_string(version));
  }
  // No version at all is corruption, not an unknown record type.
  for (const std::string& bytes : {std::string(), Hex({0x00})}) {
    absl::StatusOr<RecordKey> decoded = DecodeKey(bytes);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << decoded.status();
    EXPECT_FALSE(IsUnknownKeyVersion(decoded.status()));
  }
  EXPECT_FALSE(IsUnknownKeyVersion(absl::OkStatus()));
}

TEST(GroupRecordsKeyTest, RefusesLyingKeys) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Bytes().I16(1).I16(-1).Str("t").I32(0).str(), "group: null, but the field is not nullable"},
      {Bytes().I16(1).I16(-2).str(), "group: negative length -2"},
      {Bytes().I16(1).Str("g").I16(100).Raw({'t'}).str(),
       "topic: length 100 exceeds the 1 bytes that remain"},
      {Bytes().I16(1).Str("g").Str("t").Raw({0, 0}).str(), "partition: truncated"},
      {Bytes().I16(2).Str("g").Raw({0}).str(), "group key v2: 1 trailing bytes"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<RecordKey> decoded = DecodeKey(c.bytes);
    ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.message));
  }
}

// ------------------------------------------------------- offset values --

TEST(GroupRecordsOffsetValueTest, RoundTripsAsVersion3) {
  const OffsetValue value{.offset = 1234,
                          .leader_epoch = 7,
                          .metadata = "checkpoint",
                          .commit_timestamp_ms = 1700000000000,
                          .expire_timestamp_ms = -1};
  const std::string bytes = EncodeValue(value);
  EXPECT_EQ(bytes.substr(0, 2), Hex({0x00, 0x03}));
  absl::StatusOr<OffsetValue> decoded = DecodeOffsetValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, value);
}

TEST(GroupRecordsOffsetValueTest, AnExpireTimestampIsWrittenAsVersion1) {
  const OffsetValue value{.offset = 5,
                          .leader_epoch = 7,
                          .metadata = "",
                          .commit_timestamp_ms = 1000,
                          .expire_timestamp_ms = 2000};
  const std::string bytes = EncodeValue(value);
  EXPECT_EQ(bytes.substr(0, 2), Hex({0x00, 0x01}));
  absl::StatusOr<OffsetValue> decoded = DecodeOffsetValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  // v1 has no leader epoch, as in Kafka.
  OffsetValue expected = value;
  expected.leader_epoch = -1;
  EXPECT_EQ(*decoded, expected);
}

TEST(GroupRecordsOffsetValueTest, GoldenBytes) {
  EXPECT_EQ(EncodeValue(OffsetValue{.offset = 42,
                                    .leader_epoch = 5,
                                    .metadata = "md",
                                    .commit_timestamp_ms = 1700000000000,
                                    .expire_timestamp_ms = -1}),
            Hex({0x00, 0x03,                                         // version 3
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,     // offset 42
                 0x00, 0x00, 0x00, 0x05,                             // leader epoch 5
                 0x00, 0x02, 'm',  'd',                              // metadata
                 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00}));  // commit timestamp
  EXPECT_EQ(EncodeValue(OffsetValue{.offset = -1,
                                    .leader_epoch = -1,
                                    .metadata = "",
                                    .commit_timestamp_ms = 1,
                                    .expire_timestamp_ms = 2}),
            Hex({0x00, 0x01,                                         // version 1
                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     // offset -1
                 0x00, 0x00,                                         // metadata ""
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,     // commit timestamp
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}));  // expire timestamp
}

TEST(GroupRecordsOffsetValueTest, DecodesEveryVersion) {
  struct Case {
    std::string bytes;
    OffsetValue expected;
  };
  const std::vector<Case> cases = {
      {Bytes().I16(0).I64(10).Str("m0").I64(100).str(),
       {.offset = 10, .leader_epoch = -1, .metadata = "m0", .commit_timestamp_ms = 100}},
      {Bytes().I16(1).I64(11).Str("m1").I64(101).I64(201).str(),
       {.offset = 11,
        .leader_epoch = -1,
        .metadata = "m1",
        .commit_timestamp_ms = 101,
        .expire_timestamp_ms = 201}},
      {Bytes().I16(2).I64(12).Str("").I64(102).str(),
       {.offset = 12, .leader_epoch = -1, .metadata = "", .commit_timestamp_ms = 102}},
      {Bytes().I16(3).I64(13).I32(4).Str("m3").I64(103).str(),
       {.offset = 13, .leader_epoch = 4, .metadata = "m3", .commit_timestamp_ms = 103}},
      // v4: flexible, compact metadata, no tagged fields...
      {Bytes().I16(4).I64(14).I32(5).Compact("m4").I64(104).NoTags().str(),
       {.offset = 14, .leader_epoch = 5, .metadata = "m4", .commit_timestamp_ms = 104}},
      // ...and with two unknown tagged fields, skipped.
      {Bytes()
           .I16(4)
           .I64(15)
           .I32(6)
           .Compact("")
           .I64(105)
           .UVarint(2)
           .UVarint(0)
           .UVarint(3)
           .Raw({1, 2, 3})
           .UVarint(200)
           .UVarint(0)
           .str(),
       {.offset = 15, .leader_epoch = 6, .metadata = "", .commit_timestamp_ms = 105}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<OffsetValue> decoded = DecodeOffsetValue(c.bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, c.expected);
  }
}

TEST(GroupRecordsOffsetValueTest, RefusesUnknownVersionsAndLies) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Bytes().I16(5).I64(1).Str("").I64(1).str(), "offset value: unknown version 5"},
      {Bytes().I16(-1).str(), "offset value: unknown version -1"},
      {Bytes().I16(3).I64(1).I32(0).NullStr().I64(1).str(),
       "offset value v3: metadata: null, but the field is not nullable"},
      {Bytes().I16(3).I64(1).I32(0).I16(-7).str(), "metadata: negative length -7"},
      {Bytes().I16(0).I64(1).I16(0x7fff).str(),
       "metadata: length 32767 exceeds the 0 bytes that remain"},
      {Bytes().I16(2).I64(1).Str("").I64(1).Raw({0}).str(), "offset value v2: 1 trailing bytes"},
      // An offset value is not a group value, and the other way round.
      {EncodeValue(StableGroup()), "offset value v3"},
      // Flexible: a null compact string, an over-long varint, a 33-bit
      // varint, a compact length past the end, a lying tagged field.
      {Bytes().I16(4).I64(1).I32(0).CompactNull().str(), "metadata: null"},
      {Bytes().I16(4).I64(1).I32(0).Raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x01}).str(),
       "metadata: varint longer than 5 bytes"},
      {Bytes().I16(4).I64(1).I32(0).Raw({0xff, 0xff, 0xff, 0xff, 0x1f}).str(),
       "metadata: varint exceeds 32 bits"},
      {Bytes().I16(4).I64(1).I32(0).UVarint(10).Raw({'a'}).str(),
       "metadata: length 9 exceeds the 1 bytes that remain"},
      {Bytes().I16(4).I64(1).I32(0).UVarint(40000).str(),
       "metadata: length 39999 exceeds the maximum"},
      {Bytes()
           .I16(4)
           .I64(1)
           .I32(0)
           .Compact("")
           .I64(1)
           .UVarint(1)
           .UVarint(0)
           .UVarint(9)
           .Raw({1})
           .str(),
       "tagged fields: tag 0 has size 9, but 1 bytes remain"},
      {Bytes().I16(4).I64(1).I32(0).Compact("").I64(1).UVarint(0xffffffff).str(),
       "tagged fields: truncated varint"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<OffsetValue> decoded = DecodeOffsetValue(c.bytes);
    ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message << " " << decoded.status();
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.message));
  }
}

// -------------------------------------------------------- group values --

TEST(GroupRecordsGroupValueTest, RoundTripsAsVersion3) {
  const GroupValue value = StableGroup();
  const std::string bytes = EncodeValue(value);
  EXPECT_EQ(bytes.substr(0, 2), Hex({0x00, 0x03}));
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, value);
}

TEST(GroupRecordsGroupValueTest, AnEmptyGroupRoundTripsWithNullProtocolAndLeader) {
  GroupValue value;
  value.protocol_type = "consumer";
  value.generation = 3;
  const std::string bytes = EncodeValue(value);
  // protocol and leader are written as null (-1).
  EXPECT_EQ(bytes, Bytes().I16(3).Str("consumer").I32(3).NullStr().NullStr().I64(-1).I32(0).str());
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, value);
}

TEST(GroupRecordsGroupValueTest, GoldenBytes) {
  GroupValue value;
  value.protocol_type = "consumer";
  value.generation = 7;
  value.protocol_name = "range";
  value.leader = "m1";
  value.current_state_timestamp_ms = 1000;
  StoredMember m;
  m.member_id = "m1";
  m.client_id = "c";
  m.client_host = "/h";
  m.rebalance_timeout_ms = 300000;
  m.session_timeout_ms = 45000;
  m.subscription = "\x01\x02";
  m.assignment = "";
  value.members = {m};
  EXPECT_EQ(EncodeValue(value),
            Hex({0x00, 0x03,                                                // version 3
                 0x00, 0x08, 'c',  'o',  'n',  's',  'u',  'm',  'e', 'r',  // protocol type
                 0x00, 0x00, 0x00, 0x07,                                    // generation
                 0x00, 0x05, 'r',  'a',  'n',  'g',  'e',                   // protocol
                 0x00, 0x02, 'm',  '1',                                     // leader
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // current state timestamp
                 0x00, 0x00, 0x00, 0x01,                          // one member:
                 0x00, 0x02, 'm',  '1',                           //   member id
                 0xff, 0xff,                                      //   group instance id null
                 0x00, 0x01, 'c',                                 //   client id
                 0x00, 0x02, '/',  'h',                           //   client host
                 0x00, 0x04, 0x93, 0xe0,                          //   rebalance timeout
                 0x00, 0x00, 0xaf, 0xc8,                          //   session timeout
                 0x00, 0x00, 0x00, 0x02, 0x01, 0x02,              //   subscription
                 0x00, 0x00, 0x00, 0x00}));                       //   assignment
}

TEST(GroupRecordsGroupValueTest, DecodesVersion0WithSessionTimeoutAsRebalanceTimeout) {
  const std::string bytes = Bytes()
                                .I16(0)
                                .Str("consumer")
                                .I32(2)
                                .Str("range")
                                .Str("m1")
                                .I32(1)
                                .Str("m1")
                                .Str("c1")
                                .Str("/h1")
                                .I32(10000)  // session timeout
                                .Blob("sub")
                                .Blob("asg")
                                .str();
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->protocol_type, "consumer");
  EXPECT_EQ(decoded->generation, 2);
  EXPECT_EQ(decoded->protocol_name, "range");
  EXPECT_EQ(decoded->leader, "m1");
  EXPECT_EQ(decoded->current_state_timestamp_ms, -1);
  ASSERT_EQ(decoded->members.size(), 1u);
  const StoredMember& m = decoded->members[0];
  EXPECT_EQ(m.member_id, "m1");
  EXPECT_EQ(m.group_instance_id, "");
  EXPECT_EQ(m.client_id, "c1");
  EXPECT_EQ(m.client_host, "/h1");
  EXPECT_EQ(m.session_timeout_ms, 10000);
  EXPECT_EQ(m.rebalance_timeout_ms, 10000);
  EXPECT_EQ(m.subscription, "sub");
  EXPECT_EQ(m.assignment, "asg");
}

TEST(GroupRecordsGroupValueTest, DecodesVersion1) {
  const std::string bytes = Bytes()
                                .I16(1)
                                .Str("consumer")
                                .I32(5)
                                .NullStr()
                                .NullStr()
                                .I32(2)
                                .Str("a")
                                .Str("ca")
                                .Str("/ha")
                                .I32(60000)  // rebalance timeout
                                .I32(10000)  // session timeout
                                .Blob("")
                                .Blob("x")
                                .Str("b")
                                .Str("cb")
                                .Str("/hb")
                                .I32(70000)
                                .I32(20000)
                                .Blob("y")
                                .Blob("")
                                .str();
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->protocol_name, "");
  EXPECT_EQ(decoded->leader, "");
  EXPECT_EQ(decoded->current_state_timestamp_ms, -1);
  ASSERT_EQ(decoded->members.size(), 2u);
  EXPECT_EQ(decoded->members[0].rebalance_timeout_ms, 60000);
  EXPECT_EQ(decoded->members[0].session_timeout_ms, 10000);
  EXPECT_EQ(decoded->members[0].assignment, "x");
  EXPECT_EQ(decoded->members[1].member_id, "b");
  EXPECT_EQ(decoded->members[1].client_id, "cb");
  EXPECT_EQ(decoded->members[1].client_host, "/hb");
  EXPECT_EQ(decoded->members[1].rebalance_timeout_ms, 70000);
  EXPECT_EQ(decoded->members[1].session_timeout_ms, 20000);
  EXPECT_EQ(decoded->members[1].subscription, "y");
}

TEST(GroupRecordsGroupValueTest, DecodesVersion2) {
  const std::string bytes =
      Bytes().I16(2).Str("").I32(0).NullStr().NullStr().I64(1234567).I32(0).str();
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  GroupValue expected;
  expected.current_state_timestamp_ms = 1234567;
  EXPECT_EQ(*decoded, expected);
}

TEST(GroupRecordsGroupValueTest, DecodesVersion3WithAStaticMember) {
  const std::string bytes = Bytes()
                                .I16(3)
                                .Str("consumer")
                                .I32(9)
                                .Str("sticky")
                                .Str("m")
                                .I64(77)
                                .I32(1)
                                .Str("m")
                                .Str("inst")
                                .Str("c")
                                .Str("/h")
                                .I32(1)
                                .I32(2)
                                .Blob("s")
                                .Blob("a")
                                .str();
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->members.size(), 1u);
  EXPECT_EQ(decoded->members[0].group_instance_id, "inst");
  EXPECT_EQ(decoded->protocol_name, "sticky");
  EXPECT_EQ(decoded->current_state_timestamp_ms, 77);
}

TEST(GroupRecordsGroupValueTest, DecodesFlexibleVersion4) {
  const std::string bytes = Bytes()
                                .I16(4)
                                .Compact("consumer")
                                .I32(9)
                                .Compact("range")
                                .CompactNull()  // leader
                                .I64(77)
                                .UVarint(3)  // two members
                                .Compact("m1")
                                .CompactNull()  // group instance id
                                .Compact("c1")
                                .Compact("/h1")
                                .I32(100)
                                .I32(200)
                                .Compact("s1")
                                .Compact("a1")
                                .UVarint(1)  // one tagged field in the member
                                .UVarint(5)
                                .UVarint(2)
                                .Raw({9, 9})
                                .Compact("m2")
                                .Compact("i2")
                                .Compact("c2")
                                .Compact("/h2")
                                .I32(300)
                                .I32(400)
                                .Compact("")
                                .Compact("")
                                .NoTags()
                                .UVarint(1)  // one tagged field at the top
                                .UVarint(0)
                                .UVarint(1)
                                .Raw({7})
                                .str();
  absl::StatusOr<GroupValue> decoded = DecodeGroupValue(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->protocol_type, "consumer");
  EXPECT_EQ(decoded->protocol_name, "range");
  EXPECT_EQ(decoded->leader, "");
  EXPECT_EQ(decoded->current_state_timestamp_ms, 77);
  ASSERT_EQ(decoded->members.size(), 2u);
  EXPECT_EQ(decoded->members[0].member_id, "m1");
  EXPECT_EQ(decoded->members[0].group_instance_id, "");
  EXPECT_EQ(decoded->members[0].client_host, "/h1");
  EXPECT_EQ(decoded->members[0].rebalance_timeout_ms, 100);
  EXPECT_EQ(decoded->members[0].session_timeout_ms, 200);
  EXPECT_EQ(decoded->members[0].subscription, "s1");
  EXPECT_EQ(decoded->members[0].assignment, "a1");
  EXPECT_EQ(decoded->members[1].group_instance_id, "i2");
  EXPECT_EQ(decoded->members[1].subscription, "");
}

TEST(GroupRecordsGroupValueTest, RefusesUnknownVersionsAndLies) {
  const auto header = [](int version) {
    Bytes b;
    b.I16(version).Str("consumer").I32(1).Str("range").Str("m1");
    if (version >= 2) b.I64(5);
    return b;
  };
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Bytes().I16(5).str(), "group value: unknown version 5"},
      {Bytes().I16(-3).str(), "group value: unknown version -3"},
      {Bytes().I16(3).NullStr().str(), "group value v3: protocol_type: null"},
      {Bytes().I16(3).Str("c").I32(1).I16(-9).str(), "protocol: negative length -9"},
      // A count that would allocate gigabytes from a few bytes.
      {header(3).I32(0x7fffffff).str(), "group value v3: members: count 2147483647 needs at least"},
      {header(3).I32(-1).str(), "members: null, but the array is not nullable"},
      {header(4).str().substr(0, 2) +
           Bytes().Compact("c").I32(1).CompactNull().CompactNull().I64(5).UVarint(0xfffffff).str(),
       "members: count 268435454 needs at least"},
      // The second member lies about its client host.
      {header(3)
           .I32(2)
           .Str("a")
           .NullStr()
           .Str("c")
           .Str("h")
           .I32(1)
           .I32(1)
           .Blob("")
           .Blob("")
           .Str("b")
           .NullStr()
           .Str("c")
           .I16(500)
           .Raw({'h'})
           .I32(0)
           .I32(0)
           .I32(0)
           .I32(0)
           .str(),
       "group value v3: members[1].client_host: length 500 exceeds the 17 bytes that remain"},
      {header(0).I32(1).Str("a").Str("c").Str("h").I32(1).I32(-1).I32(0).str(),
       "members[0].subscription: null, but the field is not nullable"},
      {header(0).I32(1).Str("a").Str("c").Str("h").I32(1).I32(-5).I32(0).str(),
       "members[0].subscription: negative length -5"},
      {header(3).I32(-2).str(), "members: negative count -2"},
      {header(1).I32(1).Str("a").Str("c").Str("h").I32(1).I32(1).I32(0).I32(0x10000).Raw({1}).str(),
       "members[0].assignment: length 65536 exceeds the 1 bytes that remain"},
      {header(2).I32(0).Raw({0, 0}).str(), "group value v2: 2 trailing bytes"},
      {EncodeValue(OffsetValue{.offset = 1, .metadata = ""}), "group value v3"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<GroupValue> decoded = DecodeGroupValue(c.bytes);
    ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message << " " << decoded.status();
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.message));
  }
}

// ------------------------------------------ truncation and mutation --

// Valid records of every kind and version: the seeds of the tests below.
struct Sample {
  enum Kind { kKey, kOffsetValue, kGroupValue } kind;
  std::string bytes;
};

std::vector<Sample> ValidSamples() {
  std::vector<Sample> s;
  s.push_back({Sample::kKey, EncodeKey(OffsetKey{"group", "topic", 4})});
  s.push_back({Sample::kKey, Bytes().I16(0).Str("g").Str("t").I32(1).str()});
  s.push_back({Sample::kKey, EncodeKey(GroupKey{"group"})});
  s.push_back({Sample::kOffsetValue, EncodeValue(OffsetValue{.offset = 9, .metadata = "meta"})});
  s.push_back({Sample::kOffsetValue,
               EncodeValue(OffsetValue{.offset = 9, .metadata = "m", .expire_timestamp_ms = 5})});
  s.push_back({Sample::kOffsetValue, Bytes().I16(0).I64(1).Str("x").I64(2).str()});
  s.push_back({Sample::kOffsetValue, Bytes().I16(2).I64(1).Str("").I64(2).str()});
  s.push_back({Sample::kOffsetValue, Bytes()
                                         .I16(4)
                                         .I64(1)
                                         .I32(2)
                                         .Compact("md")
                                         .I64(3)
                                         .UVarint(1)
                                         .UVarint(1)
                                         .UVarint(3)
                                         .Raw({'t', 'a', 'g'})
                                         .str()});
  s.push_back({Sample::kGroupValue, EncodeValue(StableGroup())});
  s.push_back(
      {Sample::kGroupValue,
       EncodeValue(GroupValue{
           .protocol_type = "consumer", .protocol_name = "", .leader = "", .members = {}})});
  s.push_back({Sample::kGroupValue, Bytes()
                                        .I16(0)
                                        .Str("consumer")
                                        .I32(1)
                                        .Str("range")
                                        .Str("a")
                                        .I32(1)
                                        .Str("a")
                                        .Str("c")
                                        .Str("h")
                                        .I32(3)
                                        .Blob("s")
                                        .Blob("t")
                                        .str()});
  s.push_back({Sample::kGroupValue, Bytes()
                                        .I16(4)
                                        .Compact("consumer")
                                        .I32(1)
                                        .CompactNull()
                                        .Compact("a")
                                        .I64(0)
                                        .UVarint(2)
                                        .Compact("a")
                                        .Compact("i")
                                        .Compact("c")
                                        .Compact("h")
                                        .I32(1)
                                        .I32(2)
                                        .Compact("s")
                                        .Compact("t")
                                        .NoTags()
                                        .NoTags()
                                        .str()});
  return s;
}

// Decodes `bytes` as `kind`; on success checks that everything decoded fits
// in the input, and that writing it back and reading it again is lossless.
absl::Status DecodeAndCheck(Sample::Kind kind, const std::string& bytes) {
  switch (kind) {
    case Sample::kKey: {
      absl::StatusOr<RecordKey> key = DecodeKey(bytes);
      if (!key.ok()) return key.status();
      size_t used = 0;
      if (const auto* o = std::get_if<OffsetKey>(&*key)) used = o->group.size() + o->topic.size();
      if (const auto* g = std::get_if<GroupKey>(&*key)) used = g->group.size();
      EXPECT_LE(used, bytes.size());
      absl::StatusOr<RecordKey> again = DecodeKey(EncodeKey(*key));
      EXPECT_TRUE(again.ok() && *again == *key) << again.status();
      return absl::OkStatus();
    }
    case Sample::kOffsetValue: {
      absl::StatusOr<OffsetValue> value = DecodeOffsetValue(bytes);
      if (!value.ok()) return value.status();
      EXPECT_LE(value->metadata.size(), bytes.size());
      absl::StatusOr<OffsetValue> again = DecodeOffsetValue(EncodeValue(*value));
      EXPECT_TRUE(again.ok() && *again == *value) << again.status();
      return absl::OkStatus();
    }
    case Sample::kGroupValue: {
      absl::StatusOr<GroupValue> value = DecodeGroupValue(bytes);
      if (!value.ok()) return value.status();
      size_t used = value->protocol_type.size() + value->protocol_name.size() +
                    value->leader.size() + value->members.size();
      for (const StoredMember& m : value->members) {
        used += m.member_id.size() + m.group_instance_id.size() + m.client_id.size() +
                m.client_host.size() + m.subscription.size() + m.assignment.size();
      }
      EXPECT_LE(used, bytes.size());
      absl::StatusOr<GroupValue> again = DecodeGroupValue(EncodeValue(*value));
      EXPECT_TRUE(again.ok() && *again == *value) << again.status();
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unreachable");
}

TEST(GroupRecordsRobustnessTest, EveryTruncationIsRefused) {
  for (const Sample& sample : ValidSamples()) {
    ASSERT_TRUE(DecodeAndCheck(sample.kind, sample.bytes).ok());
    for (size_t n = 0; n < sample.bytes.size(); ++n) {
      const absl::Status s = DecodeAndCheck(sample.kind, sample.bytes.substr(0, n));
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
          << "prefix of " << n << " of " << sample.bytes.size() << " bytes: " << s;
    }
  }
}

TEST(GroupRecordsRobustnessTest, RandomMutationsNeverCrashOrOverread) {
  constexpr uint32_t kSeed = 20240611;
  constexpr int kIterations = 20000;
  std::mt19937 rng(kSeed);
  const std::vector<Sample> samples = ValidSamples();
  const auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  // Values that stress length and count fields when written over them.
  const std::vector<std::string> interesting = {
      Hex({0xff, 0xff}),
      Hex({0x80, 0x00}),
      Hex({0x7f, 0xff}),
      Hex({0xff, 0xfe}),
      Hex({0x00, 0x00}),
      Hex({0x7f, 0xff, 0xff, 0xff}),
      Hex({0xff, 0xff, 0xff, 0xff}),
      Hex({0x80, 0x80, 0x80, 0x80, 0x0f}),
      Hex({0x00, 0x04}),
  };
  int accepted = 0;
  for (int i = 0; i < kIterations; ++i) {
    const Sample& sample = samples[pick(samples.size())];
    std::string bytes = sample.bytes;
    const int mutations = 1 + static_cast<int>(pick(3));
    for (int m = 0; m < mutations; ++m) {
      switch (pick(5)) {
        case 0:  // flip a bit
          if (!bytes.empty()) bytes[pick(bytes.size())] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:  // overwrite a byte
          if (!bytes.empty()) bytes[pick(bytes.size())] = static_cast<char>(pick(256));
          break;
        case 2:  // insert a byte
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(pick(bytes.size() + 1)),
                       static_cast<char>(pick(256)));
          break;
        case 3:  // delete a byte
          if (!bytes.empty()) bytes.erase(pick(bytes.size()), 1);
          break;
        case 4: {  // write an interesting value over a field
          const std::string& v = interesting[pick(interesting.size())];
          if (bytes.size() >= v.size())
            bytes.replace(pick(bytes.size() - v.size() + 1), v.size(), v);
          break;
        }
      }
    }
    // Every decoder sees every input: feeding one kind to another's
    // decoder is a good lie too.
    for (Sample::Kind kind : {Sample::kKey, Sample::kOffsetValue, Sample::kGroupValue}) {
      const absl::Status s = DecodeAndCheck(kind, bytes);
      if (s.ok()) {
        ++accepted;
      } else {
        EXPECT_TRUE(s.code() == absl::StatusCode::kInvalidArgument || IsUnknownKeyVersion(s))
            << "seed " << kSeed << " iteration " << i << ": " << s;
        EXPECT_FALSE(s.message().empty());
      }
    }
    if (HasFailure()) {
      ADD_FAILURE() << "replay with seed " << kSeed << ", iteration " << i;
      break;
    }
  }
  // Some mutations (a bit of an int64) leave a valid record: the loop
  // exercised the accepting paths as well.
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace strata::group
