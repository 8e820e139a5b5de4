// FindCoordinator and the group APIs between Kafka's structs and the request
// layer: the version rules of group_adapter.h, then whole requests through
// the Dispatcher onto a real GroupCoordinator over an in-memory
// __consumer_offsets.
#include "broker/kafka/group_adapter.h"

#include <chrono>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "broker/purgatory/purgatory.h"
#include "client/common/clock.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

constexpr int16_t kNone = 0;
constexpr int16_t kNotCoordinator = static_cast<int16_t>(ErrorCode::kNotCoordinator);
constexpr int16_t kUnknownMemberId = static_cast<int16_t>(ErrorCode::kUnknownMemberId);
constexpr int16_t kFencedInstanceId = static_cast<int16_t>(ErrorCode::kFencedInstanceId);

// Every response must encode at every version of its range: a field set in a
// version that cannot carry it would close the connection instead.
template <typename M>
void ExpectEncodes(const M& message, int16_t version) {
  std::string out;
  absl::Status s = Encode(version, message, &out);
  EXPECT_TRUE(s.ok()) << "v" << version << ": " << s;
}

// ---- FindCoordinator ----

TEST(FindCoordinatorAdapterTest, OneKeyAndItsTypeFromV1) {
  FindCoordinatorRequest r;
  r.key = "orders-app";
  r.key_type = 1;
  request::FindCoordinatorRequest v0 = ToRequestLayer(r, 0);
  EXPECT_EQ(v0.keys, std::vector<std::string>{"orders-app"});
  EXPECT_EQ(v0.key_type, 0) << "v0 has no KeyType: a group";
  for (int16_t v = 1; v <= 2; ++v) {
    request::FindCoordinatorRequest out = ToRequestLayer(r, v);
    EXPECT_EQ(out.keys, std::vector<std::string>{"orders-app"});
    EXPECT_EQ(out.key_type, 1) << "a transaction key goes to the handler unchanged";
  }
}

TEST(FindCoordinatorAdapterTest, ErrorMessageOnlyFromV1AndNullWhenEmpty) {
  request::CoordinatorResult refused;
  refused.key = "x";
  refused.error = ErrorCode::kInvalidRequest;
  refused.message = "Coordinator key type 2 is not supported (0: group, 1: transaction)";
  FindCoordinatorResponse v0 = FromRequestLayer({refused}, 0);
  EXPECT_EQ(v0.error_code, 42);
  EXPECT_FALSE(v0.error_message.has_value());
  EXPECT_EQ(v0.node_id, -1);
  EXPECT_EQ(v0.port, -1);
  ExpectEncodes(v0, 0);
  for (int16_t v = 1; v <= 2; ++v) {
    FindCoordinatorResponse out = FromRequestLayer({refused}, v);
    EXPECT_EQ(out.error_code, 42);
    EXPECT_EQ(out.error_message, refused.message);
    ExpectEncodes(out, v);
  }

  request::CoordinatorResult found;
  found.key = "g";
  found.node_id = 3;
  found.host = "broker-3";
  found.port = 29094;
  for (int16_t v = 0; v <= 2; ++v) {
    FindCoordinatorResponse out = FromRequestLayer({found}, v);
    EXPECT_EQ(out.error_code, kNone);
    EXPECT_FALSE(out.error_message.has_value());
    EXPECT_EQ(out.node_id, 3);
    EXPECT_EQ(out.host, "broker-3");
    EXPECT_EQ(out.port, 29094);
  }
}

TEST(FindCoordinatorAdapterTest, AMessageLongerThanAKafkaStringIsCutAndStillEncodes) {
  request::CoordinatorResult r;
  r.error = ErrorCode::kCoordinatorNotAvailable;
  r.message = std::string(40000, 'x');
  FindCoordinatorResponse out = FromRequestLayer({r}, 1);
  ASSERT_TRUE(out.error_message.has_value());
  EXPECT_EQ(out.error_message->size(), 32767u);
  ExpectEncodes(out, 1);
  ExpectEncodes(out, 2);
}

TEST(GroupAdapterTest, KafkaStringsAreCutAtACharacterBoundary) {
  EXPECT_EQ(CutToKafkaString("short"), "short");
  EXPECT_EQ(CutToKafkaString(std::string(32767, 'a')).size(), 32767u);
  // "é" is 2 bytes; 32766 bytes of 'a' then "é" is 32768: the whole
  // character goes, not half of it.
  std::string s = std::string(32766, 'a') + "\xc3\xa9";
  std::string cut = CutToKafkaString(s);
  EXPECT_EQ(cut.size(), 32766u);
  EXPECT_EQ(cut.back(), 'a');
}

// ---- JoinGroup ----

JoinGroupRequest Join() {
  JoinGroupRequest r;
  r.group_id = "orders-app";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 45000;
  r.member_id = "m-1";
  r.group_instance_id = "instance-1";
  r.protocol_type = "consumer";
  r.protocols = {{"range", "sub-r"}, {"roundrobin", "sub-rr"}};
  return r;
}

TEST(GroupAdapterTest, JoinGroupV0HasNoRebalanceTimeout) {
  group::JoinGroupRequest v0 = ToRequestLayer(Join(), 0, "client", "/10.0.0.1");
  EXPECT_EQ(v0.rebalance_timeout_ms, -1) << "the coordinator uses the session timeout";
  EXPECT_EQ(v0.session_timeout_ms, 10000);
  for (int16_t v = 1; v <= 5; ++v) {
    EXPECT_EQ(ToRequestLayer(Join(), v, "client", "/10.0.0.1").rebalance_timeout_ms, 45000);
  }
}

TEST(GroupAdapterTest, JoinGroupRequiresAKnownMemberIdFromV4) {
  for (int16_t v = 0; v <= 5; ++v) {
    SCOPED_TRACE(v);
    EXPECT_EQ(ToRequestLayer(Join(), v, "client", "/10.0.0.1").require_known_member_id, v >= 4);
  }
}

TEST(GroupAdapterTest, JoinGroupCarriesTheClientAndTheInstanceIdFromV5) {
  for (int16_t v = 0; v <= 5; ++v) {
    SCOPED_TRACE(v);
    group::JoinGroupRequest r = ToRequestLayer(Join(), v, "client-7", "/10.0.0.1");
    EXPECT_EQ(r.group_id, "orders-app");
    EXPECT_EQ(r.member_id, "m-1");
    EXPECT_EQ(r.group_instance_id, v >= 5 ? "instance-1" : "");
    EXPECT_EQ(r.protocol_type, "consumer");
    ASSERT_EQ(r.protocols.size(), 2u);
    EXPECT_EQ(r.protocols[0], (std::pair<std::string, std::string>{"range", "sub-r"}));
    EXPECT_EQ(r.protocols[1], (std::pair<std::string, std::string>{"roundrobin", "sub-rr"}));
    EXPECT_EQ(r.client_id, "client-7");
    EXPECT_EQ(r.client_host, "/10.0.0.1");
  }
  JoinGroupRequest dynamic = Join();
  dynamic.group_instance_id.reset();
  EXPECT_EQ(ToRequestLayer(dynamic, 5, "c", "/h").group_instance_id, "");
}

TEST(GroupAdapterTest, JoinGroupAnswerGivesTheLeaderItsMembers) {
  group::JoinGroupResponse r;
  r.generation_id = 4;
  r.protocol_type = "consumer";
  r.protocol_name = "range";
  r.leader = "m-1";
  r.member_id = "m-1";
  r.members = {{"m-1", "instance-1", "sub-1"}, {"m-2", "", "sub-2"}};
  for (int16_t v = 0; v <= 5; ++v) {
    SCOPED_TRACE(v);
    JoinGroupResponse out = FromRequestLayer(r, v);
    EXPECT_EQ(out.error_code, kNone);
    EXPECT_EQ(out.generation_id, 4);
    EXPECT_EQ(out.protocol_name, "range");
    EXPECT_EQ(out.leader, "m-1");
    EXPECT_EQ(out.member_id, "m-1");
    ASSERT_EQ(out.members.size(), 2u);
    EXPECT_EQ(out.members[0].metadata, "sub-1");
    EXPECT_EQ(out.members[0].group_instance_id,
              v >= 5 ? std::optional<std::string>("instance-1") : std::nullopt);
    EXPECT_FALSE(out.members[1].group_instance_id.has_value()) << "dynamic: null";
    ExpectEncodes(out, v);
  }
  group::JoinGroupResponse required;
  required.error = ErrorCode::kMemberIdRequired;
  required.member_id = "client-uuid";
  JoinGroupResponse out = FromRequestLayer(required, 4);
  EXPECT_EQ(out.error_code, 79);
  EXPECT_EQ(out.member_id, "client-uuid");
  EXPECT_EQ(out.generation_id, -1);
}

// ---- SyncGroup, Heartbeat ----

TEST(GroupAdapterTest, SyncGroupAndHeartbeatCarryTheInstanceIdFromV3) {
  SyncGroupRequest sync;
  sync.group_id = "g";
  sync.generation_id = 3;
  sync.member_id = "m";
  sync.group_instance_id = "i";
  sync.assignments = {{"m", "a-m"}, {"n", "a-n"}};
  HeartbeatRequest beat;
  beat.group_id = "g";
  beat.generation_id = 3;
  beat.member_id = "m";
  beat.group_instance_id = "i";
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(v);
    group::SyncGroupRequest s = ToRequestLayer(sync, v);
    EXPECT_EQ(s.group_id, "g");
    EXPECT_EQ(s.generation_id, 3);
    EXPECT_EQ(s.member_id, "m");
    EXPECT_EQ(s.group_instance_id, v >= 3 ? "i" : "");
    EXPECT_EQ(s.protocol_type, "") << "not checked before v5";
    EXPECT_EQ(s.protocol_name, "");
    ASSERT_EQ(s.assignments.size(), 2u);
    EXPECT_EQ(s.assignments[1], (std::pair<std::string, std::string>{"n", "a-n"}));
    group::HeartbeatRequest h = ToRequestLayer(beat, v);
    EXPECT_EQ(h.generation_id, 3);
    EXPECT_EQ(h.member_id, "m");
    EXPECT_EQ(h.group_instance_id, v >= 3 ? "i" : "");

    group::SyncGroupResponse sr;
    sr.error = ErrorCode::kRebalanceInProgress;
    sr.assignment = "bytes";
    SyncGroupResponse so = FromRequestLayer(sr, v);
    EXPECT_EQ(so.error_code, 27);
    EXPECT_EQ(so.assignment, "bytes");
    ExpectEncodes(so, v);
    HeartbeatResponse ho =
        FromRequestLayer(group::GroupResult{ErrorCode::kIllegalGeneration, "x"}, v);
    EXPECT_EQ(ho.error_code, 22);
    ExpectEncodes(ho, v);
  }
}

// ---- LeaveGroup ----

TEST(GroupAdapterTest, LeaveGroupV0To2NameOneMemberAndV3Many) {
  LeaveGroupRequest r;
  r.group_id = "g";
  r.member_id = "old-style";
  r.members = {{"m-1", std::nullopt}, {"", "instance-2"}};
  for (int16_t v = 0; v <= 2; ++v) {
    group::LeaveGroupRequest out = ToRequestLayer(r, v);
    EXPECT_EQ(out.group_id, "g");
    ASSERT_EQ(out.members.size(), 1u);
    EXPECT_EQ(out.members[0].member_id, "old-style");
    EXPECT_EQ(out.members[0].group_instance_id, "");
  }
  group::LeaveGroupRequest v3 = ToRequestLayer(r, 3);
  ASSERT_EQ(v3.members.size(), 2u);
  EXPECT_EQ(v3.members[0].member_id, "m-1");
  EXPECT_EQ(v3.members[0].group_instance_id, "");
  EXPECT_EQ(v3.members[1].member_id, "");
  EXPECT_EQ(v3.members[1].group_instance_id, "instance-2");
}

group::LeaveGroupResponse LeaveAnswer(ErrorCode group_error, std::vector<ErrorCode> member_errors) {
  group::LeaveGroupResponse r;
  r.result.error = group_error;
  int i = 0;
  for (ErrorCode e : member_errors) {
    group::LeavingMember m;
    m.member_id = "m-" + std::to_string(i++);
    if (i == 2) m.group_instance_id = "instance-2";
    r.members.emplace_back(m, group::GroupResult{e, ""});
  }
  return r;
}

TEST(GroupAdapterTest, LeaveGroupV0To2AnswerTheMembersErrorWhenTheGroupHasNone) {
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE(v);
    LeaveGroupResponse unknown =
        FromRequestLayer(LeaveAnswer(ErrorCode::kNone, {ErrorCode::kUnknownMemberId}), v);
    EXPECT_EQ(unknown.error_code, kUnknownMemberId);
    EXPECT_TRUE(unknown.members.empty()) << "no per-member results before v3";
    ExpectEncodes(unknown, v);

    EXPECT_EQ(FromRequestLayer(LeaveAnswer(ErrorCode::kNone, {ErrorCode::kNone}), v).error_code,
              kNone);
    // The group's error wins over the member's.
    EXPECT_EQ(
        FromRequestLayer(LeaveAnswer(ErrorCode::kNotCoordinator, {ErrorCode::kUnknownMemberId}), v)
            .error_code,
        kNotCoordinator);
    EXPECT_EQ(FromRequestLayer(LeaveAnswer(ErrorCode::kNotCoordinator, {}), v).error_code,
              kNotCoordinator);
    // Several (not from a v0-2 request, but Kafka's rule): the first error.
    EXPECT_EQ(FromRequestLayer(
                  LeaveAnswer(ErrorCode::kNone, {ErrorCode::kNone, ErrorCode::kFencedInstanceId,
                                                 ErrorCode::kUnknownMemberId}),
                  v)
                  .error_code,
              kFencedInstanceId);
  }
}

TEST(GroupAdapterTest, LeaveGroupV3AnswersPerMemberAndKeepsTheGroupErrorApart) {
  LeaveGroupResponse out = FromRequestLayer(
      LeaveAnswer(ErrorCode::kNone, {ErrorCode::kNone, ErrorCode::kUnknownMemberId}), 3);
  EXPECT_EQ(out.error_code, kNone);
  ASSERT_EQ(out.members.size(), 2u);
  EXPECT_EQ(out.members[0].member_id, "m-0");
  EXPECT_FALSE(out.members[0].group_instance_id.has_value());
  EXPECT_EQ(out.members[0].error_code, kNone);
  EXPECT_EQ(out.members[1].member_id, "m-1");
  EXPECT_EQ(out.members[1].group_instance_id, "instance-2");
  EXPECT_EQ(out.members[1].error_code, kUnknownMemberId);
  ExpectEncodes(out, 3);
}

// ---- OffsetCommit ----

OffsetCommitRequest Commit() {
  OffsetCommitRequest r;
  r.group_id = "g";
  r.generation_id_or_member_epoch = 5;
  r.member_id = "m";
  r.group_instance_id = "i";
  r.retention_time_ms = 1000;
  r.topics = {{"b", {{1, 10, 2, "meta"}, {0, 20, 2, std::nullopt}}}, {"a", {{3, 30, 2, ""}}}};
  return r;
}

TEST(GroupAdapterTest, OffsetCommitFlattensInRequestOrder) {
  for (int16_t v = 2; v <= 7; ++v) {
    SCOPED_TRACE(v);
    group::OffsetCommitRequest out = ToRequestLayer(Commit(), v);
    EXPECT_EQ(out.group_id, "g");
    EXPECT_EQ(out.generation_id, 5);
    EXPECT_EQ(out.member_id, "m");
    EXPECT_EQ(out.group_instance_id, v >= 7 ? "i" : "");
    ASSERT_EQ(out.offsets.size(), 3u);
    EXPECT_EQ(out.offsets[0].tp, (group::GroupTopicPartition{"b", 1}));
    EXPECT_EQ(out.offsets[0].offset, 10);
    EXPECT_EQ(out.offsets[0].metadata, "meta");
    EXPECT_EQ(out.offsets[0].leader_epoch, v >= 6 ? 2 : -1);
    EXPECT_EQ(out.offsets[1].tp, (group::GroupTopicPartition{"b", 0}));
    EXPECT_EQ(out.offsets[1].metadata, "") << "null metadata";
    EXPECT_EQ(out.offsets[2].tp, (group::GroupTopicPartition{"a", 3}));
  }
}

TEST(GroupAdapterTest, OffsetCommitSimpleCommitPassesThrough) {
  OffsetCommitRequest r = Commit();
  r.generation_id_or_member_epoch = -1;
  r.member_id = "";
  r.group_instance_id.reset();
  group::OffsetCommitRequest out = ToRequestLayer(r, 7);
  EXPECT_EQ(out.generation_id, -1);
  EXPECT_EQ(out.member_id, "");
  EXPECT_EQ(out.group_instance_id, "");
}

TEST(GroupAdapterTest, OffsetCommitAnswersNestByTopicInTheOrderTopicsFirstAppear) {
  group::OffsetCommitResponse r;
  r.partitions = {{{"b", 1}, {ErrorCode::kNone, ""}},
                  {{"a", 3}, {ErrorCode::kOffsetMetadataTooLarge, "too big"}},
                  {{"b", 0}, {ErrorCode::kNone, ""}}};
  for (int16_t v = 2; v <= 7; ++v) {
    OffsetCommitResponse out = FromRequestLayer(r, v);
    ASSERT_EQ(out.topics.size(), 2u);
    EXPECT_EQ(out.topics[0].name, "b");
    ASSERT_EQ(out.topics[0].partitions.size(), 2u);
    EXPECT_EQ(out.topics[0].partitions[0].partition_index, 1);
    EXPECT_EQ(out.topics[0].partitions[1].partition_index, 0);
    EXPECT_EQ(out.topics[1].name, "a");
    ASSERT_EQ(out.topics[1].partitions.size(), 1u);
    EXPECT_EQ(out.topics[1].partitions[0].partition_index, 3);
    EXPECT_EQ(out.topics[1].partitions[0].error_code, 12);
    ExpectEncodes(out, v);
  }
}

// ---- OffsetFetch ----

OffsetFetchRequest Fetch(std::optional<std::vector<OffsetFetchRequest::Topic>> topics) {
  OffsetFetchRequest r;
  r.group_id = "g";
  r.topics = std::move(topics);
  return r;
}

TEST(GroupAdapterTest, OffsetFetchNullTopicsMeanAllAndEmptyNone) {
  for (int16_t v = 2; v <= 7; ++v) {
    SCOPED_TRACE(v);
    EXPECT_FALSE(ToRequestLayer(Fetch(std::nullopt), v).partitions.has_value());
    group::OffsetFetchRequest none =
        ToRequestLayer(Fetch(std::vector<OffsetFetchRequest::Topic>{}), v);
    ASSERT_TRUE(none.partitions.has_value());
    EXPECT_TRUE(none.partitions->empty());
  }
  group::OffsetFetchRequest v1 = ToRequestLayer(Fetch(std::vector<OffsetFetchRequest::Topic>{}), 1);
  ASSERT_TRUE(v1.partitions.has_value());
  EXPECT_TRUE(v1.partitions->empty());

  group::OffsetFetchRequest some =
      ToRequestLayer(Fetch(std::vector<OffsetFetchRequest::Topic>{{"b", {2, 0}}, {"a", {1}}}), 3);
  EXPECT_EQ(some.group_id, "g");
  ASSERT_TRUE(some.partitions.has_value());
  EXPECT_EQ(*some.partitions,
            (std::vector<group::GroupTopicPartition>{{"b", 2}, {"b", 0}, {"a", 1}}));
}

TEST(GroupAdapterTest, OffsetFetchV1CopiesTheGroupErrorIntoEveryPartitionAskedFor) {
  OffsetFetchRequest request =
      Fetch(std::vector<OffsetFetchRequest::Topic>{{"b", {2, 0}}, {"a", {1}}});
  group::OffsetFetchResponse r;
  r.result = {ErrorCode::kNotCoordinator, "not here"};  // the coordinator lists no offsets then
  OffsetFetchResponse v1 = FromRequestLayer(request, r, 1);
  ASSERT_EQ(v1.topics.size(), 2u);
  EXPECT_EQ(v1.topics[0].name, "b");
  ASSERT_EQ(v1.topics[0].partitions.size(), 2u);
  EXPECT_EQ(v1.topics[1].name, "a");
  for (const OffsetFetchResponse::Topic& t : v1.topics) {
    for (const OffsetFetchResponse::Partition& p : t.partitions) {
      EXPECT_EQ(p.error_code, kNotCoordinator);
      EXPECT_EQ(p.committed_offset, -1);
      EXPECT_EQ(p.metadata, "");
    }
  }
  EXPECT_EQ(v1.topics[0].partitions[0].partition_index, 2);
  EXPECT_EQ(v1.topics[0].partitions[1].partition_index, 0);
  ExpectEncodes(v1, 1);

  for (int16_t v = 2; v <= 7; ++v) {
    SCOPED_TRACE(v);
    OffsetFetchResponse out = FromRequestLayer(request, r, v);
    EXPECT_EQ(out.error_code, kNotCoordinator) << "top-level from v2";
    EXPECT_TRUE(out.topics.empty());
    ExpectEncodes(out, v);
  }
}

TEST(GroupAdapterTest, OffsetFetchNestsOffsetsByTopic) {
  OffsetFetchRequest request =
      Fetch(std::vector<OffsetFetchRequest::Topic>{{"b", {2}}, {"a", {1}}});
  group::OffsetFetchResponse r;
  r.offsets = {{{"b", 2}, 42, 3, "m", ErrorCode::kNone},
               {{"a", 1}, -1, -1, "", ErrorCode::kNone},
               {{"b", 7}, 9, -1, "", ErrorCode::kNone}};
  for (int16_t v = 1; v <= 7; ++v) {
    SCOPED_TRACE(v);
    OffsetFetchResponse out = FromRequestLayer(request, r, v);
    EXPECT_EQ(out.error_code, kNone);
    ASSERT_EQ(out.topics.size(), 2u);
    EXPECT_EQ(out.topics[0].name, "b");
    ASSERT_EQ(out.topics[0].partitions.size(), 2u);
    EXPECT_EQ(out.topics[0].partitions[0].committed_offset, 42);
    EXPECT_EQ(out.topics[0].partitions[0].committed_leader_epoch, 3);
    EXPECT_EQ(out.topics[0].partitions[0].metadata, "m");
    EXPECT_EQ(out.topics[0].partitions[1].partition_index, 7);
    EXPECT_EQ(out.topics[1].name, "a");
    EXPECT_EQ(out.topics[1].partitions[0].committed_offset, -1);
    ExpectEncodes(out, v);
  }
}

// ---- DescribeGroups, ListGroups, DeleteGroups, OffsetDelete ----

std::vector<group::GroupDescription> Described() {
  group::GroupDescription d;
  d.group_id = "g";
  d.state = "Stable";
  d.protocol_type = "consumer";
  d.protocol_name = "range";
  d.members = {{"m-1", "instance-1", "client", "/10.0.0.1", "meta", "assign"},
               {"m-2", "", "client", "/10.0.0.2", "", ""}};
  group::GroupDescription missing;
  missing.group_id = "elsewhere";
  missing.result.error = ErrorCode::kNotCoordinator;
  return {d, missing};
}

TEST(GroupAdapterTest, DescribeGroupsAuthorizedOperationsOnlyWhenAsked) {
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE(v);
    DescribeGroupsResponse not_asked = FromRequestLayer(Described(), false, v);
    DescribeGroupsResponse asked = FromRequestLayer(Described(), true, v);
    ASSERT_EQ(asked.groups.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(not_asked.groups[i].authorized_operations, INT32_MIN);
      EXPECT_EQ(asked.groups[i].authorized_operations,
                v >= 3 ? (1 << 3) | (1 << 6) | (1 << 8) : INT32_MIN);
    }
    ExpectEncodes(not_asked, v);
    ExpectEncodes(asked, v);
  }
}

TEST(GroupAdapterTest, DescribeGroupsMapsMembersAndErrors) {
  DescribeGroupsRequest request;
  request.groups = {"g", "elsewhere"};
  EXPECT_EQ(ToRequestLayer(request, 0), request.groups);
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE(v);
    DescribeGroupsResponse out = FromRequestLayer(Described(), false, v);
    ASSERT_EQ(out.groups.size(), 2u);
    const DescribeGroupsResponse::Group& g = out.groups[0];
    EXPECT_EQ(g.error_code, kNone);
    EXPECT_EQ(g.group_id, "g");
    EXPECT_EQ(g.group_state, "Stable");
    EXPECT_EQ(g.protocol_type, "consumer");
    EXPECT_EQ(g.protocol_data, "range");
    ASSERT_EQ(g.members.size(), 2u);
    EXPECT_EQ(g.members[0].member_id, "m-1");
    EXPECT_EQ(g.members[0].group_instance_id,
              v >= 4 ? std::optional<std::string>("instance-1") : std::nullopt);
    EXPECT_EQ(g.members[0].client_id, "client");
    EXPECT_EQ(g.members[0].client_host, "/10.0.0.1");
    EXPECT_EQ(g.members[0].member_metadata, "meta");
    EXPECT_EQ(g.members[0].member_assignment, "assign");
    EXPECT_FALSE(g.members[1].group_instance_id.has_value());
    EXPECT_EQ(out.groups[1].group_id, "elsewhere");
    EXPECT_EQ(out.groups[1].error_code, kNotCoordinator);
  }
}

TEST(GroupAdapterTest, ListGroupsFiltersByStateFromV4) {
  ListGroupsRequest request;
  request.states_filter = {"Stable", "Empty"};
  for (int16_t v = 0; v <= 3; ++v) EXPECT_TRUE(ToRequestLayer(request, v).empty());
  EXPECT_EQ(ToRequestLayer(request, 4), request.states_filter);

  group::ListGroupsResponse r;
  r.groups = {{"a", "consumer", "Stable"}, {"b", "", "Empty"}};
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE(v);
    ListGroupsResponse out = FromRequestLayer(r, v);
    EXPECT_EQ(out.error_code, kNone);
    ASSERT_EQ(out.groups.size(), 2u);
    EXPECT_EQ(out.groups[0].group_id, "a");
    EXPECT_EQ(out.groups[0].protocol_type, "consumer");
    EXPECT_EQ(out.groups[0].group_state, "Stable");
    EXPECT_EQ(out.groups[1].group_id, "b");
    ExpectEncodes(out, v);
  }
}

TEST(GroupAdapterTest, DeleteGroupsAndOffsetDelete) {
  DeleteGroupsRequest del;
  del.groups_names = {"a", "b"};
  EXPECT_EQ(ToRequestLayer(del, 1), del.groups_names);
  DeleteGroupsResponse deleted = FromRequestLayer(
      std::vector<group::DeletedGroup>{{"a", {ErrorCode::kNone, ""}},
                                       {"b", {ErrorCode::kNonEmptyGroup, "has members"}}},
      1);
  ASSERT_EQ(deleted.results.size(), 2u);
  EXPECT_EQ(deleted.results[0].group_id, "a");
  EXPECT_EQ(deleted.results[0].error_code, kNone);
  EXPECT_EQ(deleted.results[1].error_code, 68);
  ExpectEncodes(deleted, 1);

  OffsetDeleteRequest od;
  od.group_id = "g";
  od.topics = {{"b", {{1}, {0}}}, {"a", {{2}}}};
  group::OffsetDeleteRequest flat = ToRequestLayer(od, 0);
  EXPECT_EQ(flat.group_id, "g");
  EXPECT_EQ(flat.partitions,
            (std::vector<group::GroupTopicPartition>{{"b", 1}, {"b", 0}, {"a", 2}}));
  group::OffsetDeleteResponse r;
  r.partitions = {{{"b", 1}, {ErrorCode::kGroupSubscribedToTopic, ""}},
                  {{"a", 2}, {ErrorCode::kNone, ""}},
                  {{"b", 0}, {ErrorCode::kGroupSubscribedToTopic, ""}}};
  OffsetDeleteResponse out = FromRequestLayer(r, 0);
  EXPECT_EQ(out.error_code, kNone);
  ASSERT_EQ(out.topics.size(), 2u);
  EXPECT_EQ(out.topics[0].name, "b");
  ASSERT_EQ(out.topics[0].partitions.size(), 2u);
  EXPECT_EQ(out.topics[0].partitions[1].partition_index, 0);
  EXPECT_EQ(out.topics[0].partitions[1].error_code, 86);
  EXPECT_EQ(out.topics[1].name, "a");
  ExpectEncodes(out, 0);

  group::OffsetDeleteResponse refused;
  refused.result = {ErrorCode::kGroupIdNotFound, "no such group"};
  EXPECT_EQ(FromRequestLayer(refused, 0).error_code, 69);
}

// ---- Through the dispatcher onto a real coordinator ----

constexpr int32_t kCorrelationId = 4242;
constexpr char kPeer[] = "127.0.0.1:53122";

// __consumer_offsets that acknowledges every append at once and reads empty:
// the coordinator's state lives in memory for the test's length.
class GroupAdapterEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    purgatory::Purgatory::Options po;
    po.start_reaper = false;
    purgatory_ = std::make_unique<purgatory::Purgatory>(&clock_, "group", po);
    group::CoordinatorOptions o;
    o.broker_id = 1;
    o.offsets_topic_partitions = 1;
    o.min_session_timeout_ms = 1000;
    o.max_session_timeout_ms = 60000;
    o.initial_rebalance_delay_ms = 0;
    o.clock = &clock_;
    o.purgatory = purgatory_.get();
    o.append = [this](int32_t, std::string, group::CoordinatorOptions::AppendDone done) {
      int64_t base;
      {
        absl::MutexLock l(&mu_);
        base = next_offset_++;
      }
      done(ErrorCode::kNone, "", base);
    };
    o.read = [](int32_t, int64_t) {
      replication::FetchResult r;
      r.log_start_offset = 0;
      r.log_end_offset = 0;
      r.high_watermark = 0;
      return r;
    };
    coordinator_ = std::make_unique<group::GroupCoordinator>(o);
    coordinator_->OnBecameLeader(0, 1);
    for (int i = 0; i < 2000 && coordinator_->Loading(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_FALSE(coordinator_->Loading());
    dispatcher_ = std::make_unique<Dispatcher>(Dispatcher::Deps{.groups = coordinator_.get()});
  }

  void TearDown() override {
    coordinator_->Shutdown();
    purgatory_->Shutdown();
  }

  // Sends `request` at `version` and returns the decoded response; ticks the
  // purgatory (a rebalance's timer) until it comes.
  template <typename Resp, typename Req>
  Resp Call(int16_t version, const Req& request) {
    const std::string frame =
        testing::RequestFrame(version, kCorrelationId, request, -1, "kafka-client");

    auto state = std::make_shared<State>();
    dispatcher_->Dispatch({.peer = kPeer, .listener = "KAFKA"}, frame, [state](DispatchResult r) {
      absl::MutexLock l(&state->mu);
      state->result = std::move(r);
    });
    for (int i = 0; i < 100; ++i) {
      {
        absl::MutexLock l(&state->mu);
        if (state->result.has_value()) break;
      }
      clock_.AdvanceMs(100);
      purgatory_->ExpireDue();
    }
    absl::MutexLock l(&state->mu);
    if (!state->result.has_value()) {
      ADD_FAILURE() << "no answer";
      return Resp{};
    }
    EXPECT_FALSE(state->result->close) << state->result->reason;
    const std::string& response = state->result->response;
    if (response.size() < 8) {
      ADD_FAILURE() << "short response";
      return Resp{};
    }
    Reader r(std::string_view(response).substr(4));
    absl::StatusOr<int32_t> correlation =
        ReadResponseHeader(r, ResponseHeaderVersion(Req::kApiKey, version));
    EXPECT_TRUE(correlation.ok() && *correlation == kCorrelationId);
    absl::StatusOr<Resp> decoded =
        Decode<Resp>(version, std::string_view(response).substr(4 + r.position()));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    return decoded.ok() ? *decoded : Resp{};
  }

  struct State {
    absl::Mutex mu;
    std::optional<DispatchResult> result;
  };

  ManualClock clock_;
  absl::Mutex mu_;
  int64_t next_offset_ = 0;
  std::unique_ptr<purgatory::Purgatory> purgatory_;
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(GroupAdapterEndToEndTest, AV0ConsumerJoinsCommitsFetchesAndLeaves) {
  JoinGroupRequest join;
  join.group_id = "orders-app";
  join.session_timeout_ms = 10000;
  join.protocol_type = "consumer";
  join.protocols = {{"range", "subscription"}};
  // v0: no MEMBER_ID_REQUIRED round trip; the id is handed out with the
  // generation.
  JoinGroupResponse joined = Call<JoinGroupResponse>(0, join);
  ASSERT_EQ(joined.error_code, kNone);
  EXPECT_EQ(joined.generation_id, 1);
  EXPECT_EQ(joined.protocol_name, "range");
  EXPECT_EQ(joined.leader, joined.member_id);
  EXPECT_EQ(joined.member_id.rfind("kafka-client-", 0), 0u) << joined.member_id;
  ASSERT_EQ(joined.members.size(), 1u);
  EXPECT_EQ(joined.members[0].metadata, "subscription");
  const std::string member = joined.member_id;

  SyncGroupRequest sync;
  sync.group_id = "orders-app";
  sync.generation_id = joined.generation_id;
  sync.member_id = member;
  sync.assignments = {{member, "assignment"}};
  SyncGroupResponse synced = Call<SyncGroupResponse>(0, sync);
  EXPECT_EQ(synced.error_code, kNone);
  EXPECT_EQ(synced.assignment, "assignment");

  HeartbeatRequest beat;
  beat.group_id = "orders-app";
  beat.generation_id = joined.generation_id;
  beat.member_id = member;
  EXPECT_EQ(Call<HeartbeatResponse>(0, beat).error_code, kNone);
  beat.generation_id = 99;
  EXPECT_EQ(Call<HeartbeatResponse>(0, beat).error_code, 22) << "ILLEGAL_GENERATION";

  OffsetCommitRequest commit;
  commit.group_id = "orders-app";
  commit.generation_id_or_member_epoch = joined.generation_id;
  commit.member_id = member;
  commit.topics = {{"orders", {{1, 100, -1, "m1"}, {0, 50, -1, std::nullopt}}},
                   {"audit", {{0, 7, -1, ""}}}};
  OffsetCommitResponse committed = Call<OffsetCommitResponse>(2, commit);
  ASSERT_EQ(committed.topics.size(), 2u);
  EXPECT_EQ(committed.topics[0].name, "orders");
  ASSERT_EQ(committed.topics[0].partitions.size(), 2u);
  EXPECT_EQ(committed.topics[0].partitions[0].partition_index, 1);
  EXPECT_EQ(committed.topics[0].partitions[0].error_code, kNone);
  EXPECT_EQ(committed.topics[1].name, "audit");

  OffsetFetchRequest fetch;
  fetch.group_id = "orders-app";
  fetch.topics = std::vector<OffsetFetchRequest::Topic>{{"orders", {0, 1, 2}}};
  OffsetFetchResponse fetched = Call<OffsetFetchResponse>(1, fetch);
  ASSERT_EQ(fetched.topics.size(), 1u);
  ASSERT_EQ(fetched.topics[0].partitions.size(), 3u);
  EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, 50);
  EXPECT_EQ(fetched.topics[0].partitions[1].committed_offset, 100);
  EXPECT_EQ(fetched.topics[0].partitions[1].metadata, "m1");
  EXPECT_EQ(fetched.topics[0].partitions[2].committed_offset, -1);
  // v7: null topics = every committed partition.
  fetch.topics.reset();
  OffsetFetchResponse all = Call<OffsetFetchResponse>(7, fetch);
  EXPECT_EQ(all.error_code, kNone);
  size_t partitions = 0;
  for (const OffsetFetchResponse::Topic& t : all.topics) partitions += t.partitions.size();
  EXPECT_EQ(partitions, 3u);

  DescribeGroupsRequest describe;
  describe.groups = {"orders-app"};
  describe.include_authorized_operations = true;
  DescribeGroupsResponse described = Call<DescribeGroupsResponse>(4, describe);
  ASSERT_EQ(described.groups.size(), 1u);
  EXPECT_EQ(described.groups[0].group_state, "Stable");
  EXPECT_EQ(described.groups[0].protocol_data, "range");
  EXPECT_EQ(described.groups[0].authorized_operations, kGroupAuthorizedOperations);
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].client_id, "kafka-client");
  EXPECT_EQ(described.groups[0].members[0].client_host, "/127.0.0.1");
  EXPECT_EQ(described.groups[0].members[0].member_assignment, "assignment");

  ListGroupsRequest list;
  ListGroupsResponse listed = Call<ListGroupsResponse>(3, list);
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_id, "orders-app");
  list.states_filter = {"Empty"};
  EXPECT_TRUE(Call<ListGroupsResponse>(4, list).groups.empty());

  LeaveGroupRequest leave;
  leave.group_id = "orders-app";
  leave.member_id = "someone-else";
  EXPECT_EQ(Call<LeaveGroupResponse>(1, leave).error_code, kUnknownMemberId)
      << "v0-2: the member's error at the top";
  leave.member_id = member;
  EXPECT_EQ(Call<LeaveGroupResponse>(0, leave).error_code, kNone);

  OffsetDeleteRequest od;
  od.group_id = "orders-app";
  od.topics = {{"audit", {{0}}}};
  OffsetDeleteResponse od_answer = Call<OffsetDeleteResponse>(0, od);
  EXPECT_EQ(od_answer.error_code, kNone);
  ASSERT_EQ(od_answer.topics.size(), 1u);
  EXPECT_EQ(od_answer.topics[0].partitions[0].error_code, kNone);

  DeleteGroupsRequest del;
  del.groups_names = {"orders-app"};
  DeleteGroupsResponse deleted = Call<DeleteGroupsResponse>(1, del);
  ASSERT_EQ(deleted.results.size(), 1u);
  EXPECT_EQ(deleted.results[0].error_code, kNone);
  EXPECT_TRUE(Call<ListGroupsResponse>(0, ListGroupsRequest{}).groups.empty());
}

TEST_F(GroupAdapterEndToEndTest, AV4JoinAsksForAMemberIdFirst) {
  JoinGroupRequest join;
  join.group_id = "g4";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 20000;
  join.protocol_type = "consumer";
  join.protocols = {{"range", "s"}};
  JoinGroupResponse first = Call<JoinGroupResponse>(4, join);
  EXPECT_EQ(first.error_code, static_cast<int16_t>(ErrorCode::kMemberIdRequired));
  EXPECT_FALSE(first.member_id.empty());
  join.member_id = first.member_id;
  JoinGroupResponse second = Call<JoinGroupResponse>(4, join);
  EXPECT_EQ(second.error_code, kNone);
  EXPECT_EQ(second.member_id, first.member_id);
}

TEST_F(GroupAdapterEndToEndTest, AGroupThisBrokerDoesNotCoordinateIsNotCoordinatorInEveryVersion) {
  // One offsets partition led here; the coordinator forgets it.
  coordinator_->OnResigned(0, 2);
  OffsetFetchRequest fetch;
  fetch.group_id = "g";
  fetch.topics = std::vector<OffsetFetchRequest::Topic>{{"t", {0, 1}}};
  OffsetFetchResponse v1 = Call<OffsetFetchResponse>(1, fetch);
  ASSERT_EQ(v1.topics.size(), 1u);
  ASSERT_EQ(v1.topics[0].partitions.size(), 2u);
  EXPECT_EQ(v1.topics[0].partitions[0].error_code, kNotCoordinator);
  EXPECT_EQ(v1.topics[0].partitions[1].error_code, kNotCoordinator);
  OffsetFetchResponse v5 = Call<OffsetFetchResponse>(5, fetch);
  EXPECT_EQ(v5.error_code, kNotCoordinator);

  HeartbeatRequest beat;
  beat.group_id = "g";
  beat.member_id = "m";
  EXPECT_EQ(Call<HeartbeatResponse>(3, beat).error_code, kNotCoordinator);
  LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.member_id = "m";
  EXPECT_EQ(Call<LeaveGroupResponse>(2, leave).error_code, kNotCoordinator);
}

TEST(GroupAdapterDispatchTest, WithoutACoordinatorTheConnectionCloses) {
  Dispatcher d({});
  std::string frame;
  Writer w(&frame);
  RequestHeader h;
  h.api_key = ApiKey::kHeartbeat;
  h.api_version = 0;
  h.correlation_id = 1;
  h.client_id = "c";
  ASSERT_TRUE(WriteRequestHeader(h, 1, w).ok());
  ASSERT_TRUE(Encode(0, HeartbeatRequest{}, &frame).ok());
  std::optional<DispatchResult> result;
  d.Dispatch({.peer = kPeer, .listener = "KAFKA"}, frame,
             [&](DispatchResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->close);
  EXPECT_NE(result->reason.find("no group coordinator"), std::string::npos) << result->reason;
}

}  // namespace
}  // namespace strata::kafka
