// The controller's partition reassignment (KIP-455) and broker
// unregistration: the decisions that change where replicas live and
// how they replicate, as opposed to creating and deleting topics
// (controller.cc).
//
// A reassignment, as KRaft's ReplicationControlManager runs it:
//   start   replicas := target ++ (original - target); adding := target -
//           original; removing := original - target. The adding replicas
//           open their logs as followers (the replica manager follows the
//           image) and the leader adds them to the ISR once caught up.
//   finish  as soon as the ISR holds the whole target (checked when the
//           reassignment starts, whenever the leader changes the ISR, and
//           on ticks without other changes, for a target replica that was
//           in sync but not live to lead):
//           replicas := target, ISR := ISR ∩ target, and when the leader is
//           not in the target the first live in-sync target replica takes
//           over. Removing replicas bumps the leader epoch (image), which
//           fences the removed ones; seeing the image no longer place them,
//           they delete their logs.
//   cancel  replicas := original; ISR := ISR - adding; a leader among the
//           adding replicas hands over to an original one. The partial
//           copies are deleted the same way.
// Everything lives in the partition records, so a new controller carries on
// where the old one stopped.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metadata/controller.h"
#include "broker/metadata/partition_change.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

using Shape = PartitionShape;

// Finishes the reassignment under way in `s` when its ISR holds the whole
// target and a live target replica can lead; false when it cannot yet.
bool MaybeComplete(Shape* s, const std::function<bool(int32_t)>& live) {
  if (s->adding.empty() && s->removing.empty()) return false;
  const std::vector<int32_t> target = s->target();
  for (int32_t r : target) {
    if (!Contains(s->isr, r)) return false;
  }
  int32_t leader = s->leader;
  if (!Contains(target, leader) || !live(leader)) {
    leader = -1;
    for (int32_t r : target) {
      if (live(r)) {
        leader = r;
        break;
      }
    }
    // No target replica is live to lead (a replica joins the ISR only while
    // live, so this is an offline partition's last ISR member): wait for
    // it to come back.
    if (leader < 0) return false;
  }
  s->isr.erase(
      std::remove_if(s->isr.begin(), s->isr.end(), [&](int32_t r) { return !Contains(target, r); }),
      s->isr.end());
  s->replicas = target;
  s->adding.clear();
  s->removing.clear();
  s->leader = leader;
  return true;
}

// When `s`'s leader left its ISR (it was a replica being added, now
// dropped): the first live member of the ISR takes over — or, for an
// offline partition (no live leader before either), nobody until one comes
// back, as before. False when that would take a live leader away with no
// live member to take over.
bool ReelectWithin(const PartitionInfo& p, const std::function<bool(int32_t)>& live, Shape* s) {
  if (Contains(s->isr, s->leader)) return true;
  s->leader = -1;
  for (int32_t c : s->isr) {
    if (live(c)) {
      s->leader = c;
      return true;
    }
  }
  return !(p.leader >= 0 && live(p.leader));
}

}  // namespace

absl::Status Controller::ValidateReplicaList(const MetadataImage& image,
                                             const std::vector<int32_t>& replicas,
                                             std::string_view what) {
  if (replicas.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("The replica list of ", std::string(what),
                                                   " is empty; give at least one broker."));
  }
  std::set<int32_t> seen;
  for (int32_t r : replicas) {
    if (!seen.insert(r).second) {
      return absl::InvalidArgumentError(absl::StrCat("The replica list ", Ids(replicas), " of ",
                                                     std::string(what), " repeats broker ", r,
                                                     "; list each broker once."));
    }
    if (image.broker(r) == nullptr) {
      std::vector<int32_t> registered;
      for (const auto& [id, b] : image.brokers()) registered.push_back(id);
      return absl::InvalidArgumentError(absl::StrCat(
          "The replica list ", Ids(replicas), " of ", std::string(what), " names broker ", r,
          ", which is not registered (registered brokers: ", absl::StrJoin(registered, ","), ")."));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<int32_t>>> Controller::ManualAssignment(
    const MetadataImage& image, const NewTopic& topic) {
  if (topic.num_partitions != kUseDefault) {
    return absl::FailedPreconditionError(
        "A number of partitions must not be given together with a manual replica assignment.");
  }
  if (topic.replication_factor != kUseDefault) {
    return absl::FailedPreconditionError(
        "A replication factor must not be given together with a manual replica assignment.");
  }
  std::vector<std::vector<int32_t>> out;
  int32_t expected = 0;
  for (const auto& [partition, replicas] : topic.assignments) {
    if (partition != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "The manual replica assignment must number its partitions 0 to ",
          topic.assignments.size() - 1, " without gaps; partition ", expected, " is missing."));
    }
    ++expected;
    if (absl::Status s =
            ValidateReplicaList(image, replicas, absl::StrCat("partition ", partition));
        !s.ok()) {
      return s;
    }
    if (!out.empty() && replicas.size() != out.front().size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("The manual replica assignment gives partition ", partition, " ",
                       replicas.size(), " replica(s), but partition 0 has ", out.front().size(),
                       "; every partition needs the same number."));
    }
    if (std::none_of(replicas.begin(), replicas.end(),
                     [&image](int32_t r) { return image.IsBrokerLive(r); })) {
      return absl::InvalidArgumentError(
          absl::StrCat("Every broker in the manual replica assignment of partition ", partition,
                       ", ", Ids(replicas), ", is fenced; assign at least one running broker."));
    }
    out.push_back(replicas);
  }
  return out;
}

Decision<AlterPartitionReassignmentsResponse> Controller::AlterPartitionReassignments(
    const MetadataImage& image, const AlterPartitionReassignmentsRequest& request) {
  Decision<AlterPartitionReassignmentsResponse> d;
  auto live = [&image](int32_t id) { return image.IsBrokerLive(id); };
  std::map<std::pair<std::string, int32_t>, int> occurrences;
  for (const ReassignPartition& r : request.partitions) ++occurrences[{r.topic, r.partition}];
  // Replicas being added count against their brokers' capacity from the start.
  std::map<int32_t, int64_t> replica_counts = ReplicaCounts(image);
  for (const ReassignPartition& r : request.partitions) {
    ReassignPartitionResult* result = &d.response.results.emplace_back();
    result->topic = r.topic;
    result->partition = r.partition;
    const std::string name = absl::StrCat(r.topic, "-", r.partition);
    auto fail = [result](ErrorCode code, std::string message) {
      result->error = code;
      result->error_message = std::move(message);
    };
    if (occurrences[{r.topic, r.partition}] > 1) {
      fail(ErrorCode::kInvalidRequest,
           absl::StrCat("Partition ", name, " appears more than once in the request."));
      continue;
    }
    const TopicInfo* t = image.FindTopic(r.topic);
    const PartitionInfo* p = image.FindPartition(r.topic, r.partition);
    if (t == nullptr || p == nullptr) {
      fail(ErrorCode::kUnknownTopicOrPartition,
           t == nullptr ? absl::StrCat("Topic '", r.topic, "' does not exist.")
                        : absl::StrCat("Partition ", name, " does not exist; topic '", r.topic,
                                       "' has ", t->partitions.size(), " partitions."));
      continue;
    }
    Shape s = Shape::Of(*p);
    if (!r.replicas.has_value()) {
      if (!p->reassigning()) {
        fail(ErrorCode::kNoReassignmentInProgress,
             absl::StrCat("No reassignment of partition ", name, " is in progress."));
        continue;
      }
      // Back to the original replicas; the adding ones leave the ISR.
      s.replicas = p->original_replicas();
      s.adding.clear();
      s.removing.clear();
      s.isr = Minus(p->isr, p->adding_replicas);
      if (s.isr.empty()) {
        fail(ErrorCode::kInvalidReplicaAssignment,
             absl::StrCat("Cannot cancel the reassignment of ", name,
                          ": none of its original replicas ", Ids(s.replicas), " is in sync (ISR ",
                          Ids(p->isr), "); let it finish, or reassign it again."));
        continue;
      }
      if (!ReelectWithin(*p, live, &s)) {
        fail(ErrorCode::kEligibleLeadersNotAvailable,
             absl::StrCat("Cannot cancel the reassignment of ", name,
                          ": no original in-sync replica ", Ids(s.isr),
                          " is live to take over from leader ", p->leader, "."));
        continue;
      }
      LOG(INFO) << "Cancelling the reassignment of " << name << ": back to replicas "
                << Ids(s.replicas);
      AppendPartitionChange(*t, *p, s, &d.records);
      continue;
    }
    const std::vector<int32_t>& target = *r.replicas;
    if (absl::Status st = ValidateReplicaList(image, target, absl::StrCat("partition ", name));
        !st.ok()) {
      fail(ErrorCode::kInvalidReplicaAssignment, std::string(st.message()));
      continue;
    }
    // A new target replaces the one under way; both start from the
    // replicas the partition had before any of them.
    const std::vector<int32_t> original = p->original_replicas();
    s.adding = Minus(target, original);
    s.removing = Minus(original, target);
    s.replicas = target;
    s.replicas.insert(s.replicas.end(), s.removing.begin(), s.removing.end());
    // A replica no longer wanted that was being added leaves the ISR now.
    s.isr.erase(std::remove_if(s.isr.begin(), s.isr.end(),
                               [&](int32_t x) { return !Contains(s.replicas, x); }),
                s.isr.end());
    if (!ReelectWithin(*p, live, &s)) {
      fail(ErrorCode::kEligibleLeadersNotAvailable,
           absl::StrCat("Reassigning ", name, " to ", Ids(target), " would take leader ", p->leader,
                        " away with no live in-sync replica to take over."));
      continue;
    }
    if (absl::Status st =
            AddWithinCapacity(image, {Minus(s.adding, p->adding_replicas)}, &replica_counts);
        !st.ok()) {
      fail(ErrorCode::kPolicyViolation, std::string(st.message()));
      continue;
    }
    MaybeComplete(&s, live);
    LOG(INFO) << "Reassigning " << name << " from " << Ids(original) << " to " << Ids(target)
              << " (adding " << Ids(s.adding) << ", removing " << Ids(s.removing) << ")";
    AppendPartitionChange(*t, *p, s, &d.records);
  }
  return d;
}

void Controller::AppendCompletedReassignments(const MetadataImage& image,
                                              internal::MetadataRecordBatch* batch) const {
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [pid, p] : t.partitions) {
      if (p.reassigning()) CompleteReassignmentWithIsr(image, t, p, p.isr, batch);
    }
  }
}

bool Controller::CompleteReassignmentWithIsr(const MetadataImage& image, const TopicInfo& t,
                                             const PartitionInfo& p,
                                             const std::vector<int32_t>& isr,
                                             internal::MetadataRecordBatch* batch) const {
  Shape s = Shape::Of(p);
  s.isr = isr;
  if (!MaybeComplete(&s, [&image](int32_t id) { return image.IsBrokerLive(id); })) return false;
  LOG(INFO) << "Reassignment of " << t.name << "-" << p.partition << " complete: replicas "
            << Ids(s.replicas) << ", leader " << s.leader;
  AppendPartitionChange(t, p, s, batch);
  return true;
}

Decision<UnregisterBrokerResponse> Controller::UnregisterBroker(
    const MetadataImage& image, const UnregisterBrokerRequest& request) {
  Decision<UnregisterBrokerResponse> d;
  const int32_t id = request.broker_id;
  const BrokerRegistration* b = image.broker(id);
  if (b == nullptr) {
    d.response.error = ErrorCode::kBrokerIdNotRegistered;
    d.response.error_message = absl::StrCat("Broker ", id, " is not registered.");
    return d;
  }
  std::vector<std::string> held;
  size_t total = 0;
  for (const auto& [name, t] : image.topics()) {
    for (const auto& [pid, p] : t.partitions) {
      if (!Contains(p.replicas, id)) continue;
      if (++total <= 10) held.push_back(absl::StrCat(name, "-", pid));
    }
  }
  if (total > 0) {
    d.response.error = ErrorCode::kInvalidRequest;
    d.response.error_message =
        absl::StrCat("Broker ", id, " still holds ", total, " partition replica",
                     total == 1 ? "" : "s", " (", absl::StrJoin(held, ", "),
                     total > held.size() ? absl::StrCat(" and ", total - held.size(), " more") : "",
                     "). Move them to other brokers with reassign-partitions first.");
    return d;
  }
  if (!b->fenced) {
    d.response.error = ErrorCode::kInvalidRequest;
    d.response.error_message =
        absl::StrCat("Broker ", id, " is running (registered and unfenced); stop it first.");
    return d;
  }
  internal::UnregisterBrokerRecord* r = d.records.add_records()->mutable_unregister_broker();
  r->set_broker_id(id);
  r->set_broker_epoch(b->epoch);
  last_heartbeat_ms_.erase(id);
  unfence_at_offset_.erase(id);
  first_seen_ms_.erase(id);
  return d;
}

}  // namespace strata::metadata
