#include "client/partition_assignor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/assignors.h"

namespace strata::client {
namespace {

std::map<std::string, ConsumerAssignment> ToConsumerAssignments(Assignment assignment) {
  std::map<std::string, ConsumerAssignment> out;
  for (auto& [member, partitions] : assignment) out[member].partitions = std::move(partitions);
  return out;
}

std::set<std::string> TopicSet(const ConsumerSubscription& subscription) {
  return std::set<std::string>(subscription.topics.begin(), subscription.topics.end());
}

Subscriptions TopicsOnly(const std::map<std::string, ConsumerSubscription>& subscriptions) {
  Subscriptions out;
  for (const auto& [member, s] : subscriptions) out[member] = TopicSet(s);
  return out;
}

class RangeAssignor : public PartitionAssignor {
 public:
  std::string name() const override { return "range"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kEager; }
  std::map<std::string, ConsumerAssignment> Assign(
      const std::map<std::string, int32_t>& partitions_per_topic,
      const std::map<std::string, ConsumerSubscription>& subscriptions) override {
    return ToConsumerAssignments(RangeAssign(partitions_per_topic, TopicsOnly(subscriptions)));
  }
};

class RoundRobinAssignor : public PartitionAssignor {
 public:
  std::string name() const override { return "roundrobin"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kEager; }
  std::map<std::string, ConsumerAssignment> Assign(
      const std::map<std::string, int32_t>& partitions_per_topic,
      const std::map<std::string, ConsumerSubscription>& subscriptions) override {
    return ToConsumerAssignments(RoundRobinAssign(partitions_per_topic, TopicsOnly(subscriptions)));
  }
};

// Eager: members revoke everything before joining, so what they owned comes
// from the user data (their previous assignment), as in Kafka's
// StickyAssignor. Unreadable user data counts as owning nothing.
class StickyAssignor : public PartitionAssignor {
 public:
  std::string name() const override { return "sticky"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kEager; }

  std::string SubscriptionUserData(const std::set<std::string>& /*topics*/) const override {
    if (!assigned_) return {};
    return EncodeStickyUserData(StickyUserData{previous_, generation_});
  }

  std::map<std::string, ConsumerAssignment> Assign(
      const std::map<std::string, int32_t>& partitions_per_topic,
      const std::map<std::string, ConsumerSubscription>& subscriptions) override {
    StickyMembers members;
    for (const auto& [member, s] : subscriptions) {
      StickyMember& m = members[member];
      m.topics = TopicSet(s);
      if (s.user_data.empty()) continue;
      absl::StatusOr<StickyUserData> data = DecodeStickyUserData(s.user_data);
      if (!data.ok()) continue;
      m.owned = std::move(data->partitions);
      m.generation = data->generation.value_or(-1);
    }
    return ToConsumerAssignments(StickyAssign(partitions_per_topic, members));
  }

  void OnAssignment(const ConsumerAssignment& assignment, int32_t generation_id) override {
    assigned_ = true;
    previous_ = assignment.partitions;
    generation_ = generation_id;
  }

 private:
  bool assigned_ = false;
  std::vector<TopicPartition> previous_;
  int32_t generation_ = -1;
};

// Cooperative: members keep their partitions through the rebalance and list
// them in owned_partitions. The generation is subscription v2's
// generation_id when set, else the user data a 2.x client sends.
class CooperativeStickyAssignor : public PartitionAssignor {
 public:
  std::string name() const override { return "cooperative-sticky"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kCooperative; }

  std::string SubscriptionUserData(const std::set<std::string>& /*topics*/) const override {
    return EncodeCooperativeUserData(generation_);
  }

  std::map<std::string, ConsumerAssignment> Assign(
      const std::map<std::string, int32_t>& partitions_per_topic,
      const std::map<std::string, ConsumerSubscription>& subscriptions) override {
    StickyMembers members;
    for (const auto& [member, s] : subscriptions) {
      StickyMember& m = members[member];
      m.topics = TopicSet(s);
      m.owned = s.owned_partitions;
      if (s.generation_id >= 0) {
        m.generation = s.generation_id;
      } else if (s.has_user_data) {
        // Kafka reads unreadable user data as the default generation, too.
        m.generation = DecodeCooperativeUserData(s.user_data).value_or(-1);
      }
    }
    return ToConsumerAssignments(CooperativeStickyAssign(partitions_per_topic, members));
  }

  void OnAssignment(const ConsumerAssignment& /*assignment*/, int32_t generation_id) override {
    generation_ = generation_id;
  }

 private:
  int32_t generation_ = -1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PartitionAssignor>> MakeAssignor(const std::string& name) {
  constexpr char kPackage[] = "org.apache.kafka.clients.consumer.";
  if (name == "range" || name == absl::StrCat(kPackage, "RangeAssignor")) {
    return std::make_unique<RangeAssignor>();
  }
  if (name == "roundrobin" || name == absl::StrCat(kPackage, "RoundRobinAssignor")) {
    return std::make_unique<RoundRobinAssignor>();
  }
  if (name == "sticky" || name == absl::StrCat(kPackage, "StickyAssignor")) {
    return std::make_unique<StickyAssignor>();
  }
  if (name == "cooperative-sticky" || name == absl::StrCat(kPackage, "CooperativeStickyAssignor")) {
    return std::make_unique<CooperativeStickyAssignor>();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown partition assignor \"", name,
      "\": expected range, roundrobin, sticky, cooperative-sticky or a Kafka class name"));
}

absl::StatusOr<std::vector<std::unique_ptr<PartitionAssignor>>> MakeAssignors(
    const std::string& list) {
  std::vector<std::unique_ptr<PartitionAssignor>> out;
  std::set<std::string> names;
  for (absl::string_view piece : absl::StrSplit(list, ',')) {
    const std::string name(absl::StripAsciiWhitespace(piece));
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition.assignment.strategy \"", list, "\" has an empty entry"));
    }
    absl::StatusOr<std::unique_ptr<PartitionAssignor>> assignor = MakeAssignor(name);
    if (!assignor.ok()) return assignor.status();
    if (!names.insert((*assignor)->name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("partition.assignment.strategy \"", list,
                                                     "\" names ", (*assignor)->name(), " twice"));
    }
    out.push_back(*std::move(assignor));
  }
  return out;
}

}  // namespace strata::client
